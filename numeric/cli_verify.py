"""The ``bea verify`` command: a drift check of a method on a loss given as text.

``bea verify --loss "(y - a*b*x)^2/2" --params a b --subs x=1 y=0.6 --init a=2.8 b=3.5
--h 0.01 0.005 0.0025 0.00125 --time 1 --truncations 0 1 2 3 [--method gd] [--device cpu|cuda]
[--plot drift.png] [--format text|json]``, also ``--method sgd --loss E1 --loss E2 ... --shuffle random|fixed``,
``--map EXPR ...`` (a one-step map, as ``bea derive --map``) and ``--method heavy_ball ... --hyper NAME=VALUE``,

derives the modified flow through ``h^max(truncations)`` (exact, :func:`bea.modified_flow`), runs
the method and integrates the truncated flows (:func:`numeric.drift.drift_check`), and prints
the table (or the JSON report, schema ``bea.drift/2`` in :mod:`numeric.drift_report`). Progress
goes to stderr. Bad input raises :mod:`bea.errors` errors, which the CLI prints on one line
(exit status 2). The argument parser lives in :mod:`bea.cli.verify` so that ``bea`` itself
never imports torch.

The command needs the ``torch`` extra (importing this module checks that its packages are installed, without
importing them), but a small float64 check on the CPU of an explicit Runge--Kutta method (the default ``gd``
included) runs without importing torch: :func:`numeric.drift.drift_check` chooses its route by problem (NumPy and
SciPy for small systems, torch for GPUs, float32, large systems, implicit methods, maps, SGD epochs, games and
optimisers with memory).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import math
import sys
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import sympy

from bea import methods
from bea.cli.args import EXTRA_MODULES
from bea.cli.derive import MEMORY_METHODS, map_flow, memory_method, parse_inputs, sgd_flow
from bea.errors import BeaValueError
from bea.flows import ModifiedFlow, modified_flow
from bea.parsing import parse_substitutions
from numeric.drift_report import DriftReport, check_schedule
from numeric.outputs import atomic_write, output_file

__all__ = ["DEMO_HS", "MAX_STEPS", "PLOT_SUFFIXES", "check_request", "demo_drift", "real_values", "verify"]

for _package in EXTRA_MODULES:  # the torch extra, looked up (not imported): bea.cli names a missing one in one line
    if importlib.util.find_spec(_package) is None:
        raise ModuleNotFoundError(f"No module named {_package!r}", name=_package)

#: The plot formats ``--plot`` accepts (matplotlib picks the format by the suffix).
PLOT_SUFFIXES = (".png", ".pdf", ".svg")


#: Default bound on the method steps of one ``bea verify`` (all step sizes together); ``--max-steps`` lifts it.
MAX_STEPS = 1_000_000


def check_request(hs: Sequence[float], time: float, max_steps: int = MAX_STEPS) -> int:
    """The number of method steps a drift check over ``hs`` up to ``time`` takes; refused before any work.

    A slope needs at least two distinct step sizes; the steps Σ T/h (the flows' adaptive integration costs
    about as much again) must stay within ``max_steps``. Raises :class:`~bea.errors.BeaValueError`.

    >>> check_request([0.01, 0.005], 1.0)
    300
    """
    distinct = sorted(set(float(h) for h in hs))
    if len(distinct) < 2:
        raise BeaValueError(f"--h needs at least two different step sizes to fit a slope, got {list(hs)}")
    if not (math.isfinite(time) and time > 0):
        raise BeaValueError(f"--time must be a positive finite number, got {time!r}")
    from numeric.drift import step_count

    steps = sum(step_count(time, h) for h in distinct)
    if steps > max_steps:
        raise BeaValueError(f"--time {time:g} with --h {' '.join(f'{h:g}' for h in hs)} takes {steps:.3g} method "
                            f"steps, more than --max-steps {max_steps}; raise --max-steps to run it anyway")
    return steps


def real_values(init: Mapping[Any, Any], what: str = "--init") -> dict[str, float]:
    """``{name: float}`` from parsed substitutions, refusing complex, infinite or non-numeric values by name."""
    out: dict[str, float] = {}
    for symbol, value in init.items():
        name = getattr(symbol, "name", str(symbol))
        number = sympy.sympify(value)
        if number.free_symbols or not number.is_number:
            raise BeaValueError(f"{what} {name}={value} is not a number")
        evaluated = sympy.N(number, 20)
        if not evaluated.is_real or evaluated.has(sympy.I):
            raise BeaValueError(f"{what} {name}={value} is not a real number (it is {evaluated})")
        as_float = float(evaluated)
        if not math.isfinite(as_float):
            raise BeaValueError(f"{what} {name}={value} does not fit a double (it is {evaluated})")
        out[name] = as_float
    return out


def verify(args: argparse.Namespace) -> DriftReport:
    """Run the check described by the parsed ``args`` (see :mod:`bea.cli.verify`); return its report.

    ``--loss`` (once) with ``--method`` a catalogue method or an optimiser with memory (``--hyper``); ``--method sgd``
    with ``--loss`` once per minibatch and ``--shuffle random|fixed`` (random: the mean over all m! orders of the
    epoch map, whose flow bea derives; the time must be a multiple of the epoch, m·h); or ``--map EXPR ...`` (one
    image per parameter, in the parameters, data and h, as ``bea derive --map``).
    """
    check_request(args.h, args.time, getattr(args, "max_steps", MAX_STEPS))
    check_schedule(args.h, args.truncations)  # refused before any derivation (drift_check checks it again)
    plot = None if args.plot is None else output_file(
        args.plot, suffixes=PLOT_SUFFIXES, overwrite=bool(getattr(args, "overwrite", False)), what="--plot file")
    method_name = getattr(args, "method", None)
    hyper, eps_inside = list(getattr(args, "hyper", []) or []), bool(getattr(args, "eps_inside", False))
    if method_name not in MEMORY_METHODS and (hyper or eps_inside):
        raise BeaValueError(f"--hyper and --eps-inside apply to {', '.join(MEMORY_METHODS)}; "
                            f"{method_name or 'gd'} has no hyperparameters")
    if getattr(args, "map", None) is not None or method_name == "sgd":
        return _update_check(args, plot)
    if getattr(args, "shuffle", None) is not None:
        raise BeaValueError("--shuffle applies to --method sgd")
    if not args.loss:
        raise BeaValueError("verify needs --loss (or --map EXPR ... for a one-step map)")
    if len(args.loss) > 1:
        raise BeaValueError(f"--loss is given {len(args.loss)} times; several minibatch losses need --method sgd")
    loss, params = parse_inputs(args.loss[0], args.params, args.subs)
    theta0 = _start(args.init, params)
    free = sorted(s.name for s in loss.free_symbols - set(params))
    if free:
        raise BeaValueError(f"the loss still has data symbols {free}: give their values with --subs")
    if method_name in MEMORY_METHODS:
        return _memory_check(args, loss, params, [theta0[p.name] for p in params], plot)
    method = methods.resolve("gd" if method_name is None else method_name)
    flow = modified_flow(loss, list(params), truncation=max(args.truncations), method=method)
    return _check_and_plot(flow, theta0, args.h, plot, time=args.time,
                           truncations=tuple(args.truncations), method=method, device=args.device,
                           tolerance=args.tolerance,
                           progress=not args.no_progress)


def _start(init_text: Sequence[str], params: Sequence[sympy.Symbol]) -> dict[str, float]:
    """``--init`` as {name: float}, every parameter once."""
    try:
        init = parse_substitutions(list(init_text))
    except BeaValueError as error:  # name the flag: the same parser reads --subs
        raise BeaValueError(f"--init {' '.join(init_text)}: {error}") from None
    names = {p.name for p in params}
    unknown = sorted(s.name for s in init if s.name not in names)
    missing = sorted(n for n in names if n not in {s.name for s in init})
    if unknown or missing:
        raise BeaValueError(f"--init must give each parameter {sorted(names)}; missing {missing}, unknown {unknown}")
    return real_values(init)


def _update_check(args: argparse.Namespace, plot: Path | None) -> DriftReport:
    """``verify --map EXPR ...`` or ``verify --method sgd --loss E1 --loss E2 ... [--shuffle random|fixed]``: the
    flow as ``bea derive`` derives it (data substituted), checked against the stepper of the map or the epoch."""
    from numeric.drift import stepper_step_count

    if args.map is None and args.loss and len(args.loss) > 1:  # refuse a time that is no multiple of the epoch now
        for h in args.h:
            stepper_step_count(args.time, h, len(args.loss), f"sgd_{args.shuffle or 'random'}")
    derive_args = argparse.Namespace(**{**vars(args), "truncation": max(args.truncations)})
    if args.map is not None:
        flow = map_flow(derive_args)
    else:
        derive_args.method = None
        flow = sgd_flow(derive_args)
    theta0 = _start(args.init, flow.params)
    if flow.data_symbols:
        raise BeaValueError(f"{'the map' if args.map is not None else 'the minibatch losses'} still hold data symbols "
                            f"{[s.name for s in flow.data_symbols]}: give their values with --subs")
    return _check_and_plot(flow, theta0, args.h, plot, time=args.time, truncations=tuple(args.truncations),
                           method=flow.method, device=args.device, tolerance=args.tolerance,
                           progress=not args.no_progress)


def _memory_check(args: argparse.Namespace, loss: sympy.Expr, params: Sequence[sympy.Symbol],
                  theta0: list[float], plot: Path | None) -> DriftReport:
    """``verify --method heavy_ball|nesterov|rmsprop|adam --hyper ...``: a memory drift check.

    ``--start manifold|zero`` picks the start of the buffers (see :mod:`numeric.memory_drift`).
    """
    from numeric.memory_drift import memory_drift_check

    method = memory_method(args.method, list(args.hyper), bool(args.eps_inside))
    with _warnings_in_report():
        report = memory_drift_check(method, loss, list(params), theta0, list(args.h), time=args.time,
                                    truncations=tuple(args.truncations), start=args.start, tolerance=args.tolerance,
                                    device=args.device)
    if args.start == "manifold":  # the default start, said once on stderr (a note, not a warning)
        print("note: the optimiser's buffers started on the slow manifold (--start zero: torch's zero buffers)",
              file=sys.stderr)
    _save_plot(report, plot)
    return report


@contextlib.contextmanager
def _warnings_in_report() -> Iterator[None]:
    """Warnings of a check are kept out of stderr: the report lists them (said once, not twice)."""
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        yield


def _save_plot(report: DriftReport, plot: Path | None) -> None:
    if plot is not None:
        try:
            atomic_write(plot, lambda tmp: report.plot(str(tmp)))
        except ValueError as exc:
            raise BeaValueError(f"could not save the plot to {str(plot)!r}: {exc}") from None


def _check_and_plot(flow: ModifiedFlow, theta0: dict[str, float], hs: tuple[float, ...] | list[float],
                    plot: Path | None, **options: Any) -> DriftReport:
    """``drift_check`` with its warnings kept in the report (not printed twice), and the plot saved atomically."""
    from numeric.drift import drift_check

    with _warnings_in_report():
        report = drift_check(flow, theta0, hs, **options)
    _save_plot(report, plot)
    return report


def demo_drift(flow: ModifiedFlow, plot: Path, *, device: str = "cpu", progress: bool = True) -> DriftReport:
    """The drift check of ``bea demo``: gradient descent on the two-parameter model.

    Start (2.8, 3.5), T = 1, h = 0.01, 0.005, 0.0025, 0.00125, truncations r = 0..3 (Barrett &
    Dherin 2021, Fig. 1 setting); the log-log plot is saved to ``plot``.
    """
    plot = output_file(plot, suffixes=PLOT_SUFFIXES, overwrite=True, what="demo plot")
    return _check_and_plot(flow, {"a": 2.8, "b": 3.5}, DEMO_HS, plot, time=1.0, truncations=(0, 1, 2, 3),
                           method=methods.explicit_euler, device=device, progress=progress)


DEMO_HS = (0.01, 0.005, 0.0025, 0.00125)
