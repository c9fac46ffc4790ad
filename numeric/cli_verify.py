"""The ``bea verify`` command: a drift check of a method on a loss given as text.

``bea verify --loss "(y - a*b*x)^2/2" --params a b --subs x=1 y=0.6 --init a=2.8 b=3.5
--h 0.01 0.005 0.0025 0.00125 --time 1 --truncations 0 1 2 3 [--method gd] [--device cpu|cuda]
[--plot drift.png] [--format text|json]``

derives the modified flow through ``h^max(truncations)`` (exact, :func:`bea.modified_flow`), runs
the method and integrates the truncated flows (:func:`numeric.drift.drift_check`), and prints
the table (or the JSON report, schema ``bea.drift/2`` in :mod:`numeric.drift_report`). Progress
goes to stderr. Bad input raises :mod:`bea.errors` errors, which the CLI prints on one line
(exit status 2). The argument parser lives in :mod:`bea.cli.verify` so that ``bea`` itself
never imports torch.
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path
from typing import Any

from bea import methods
from bea.errors import BeaValueError
from bea.flows import ModifiedFlow
from numeric.drift_report import DriftReport

__all__ = ["DEMO_HS", "demo_drift", "verify"]


def verify(args: argparse.Namespace) -> DriftReport:
    """Run the check described by the parsed ``args`` (see :mod:`bea.cli.verify`); return its report."""
    from bea.cli.derive import parse_inputs
    from bea.flows import modified_flow
    from bea.parsing import parse_substitutions
    loss, params = parse_inputs(args.loss, args.params, args.subs)
    init = parse_substitutions(args.init)
    names = {p.name for p in params}
    unknown = sorted(s.name for s in init if s.name not in names)
    missing = sorted(n for n in names if n not in {s.name for s in init})
    if unknown or missing:
        raise BeaValueError(f"--init must give each parameter {sorted(names)}; missing {missing}, unknown {unknown}")
    free = sorted(s.name for s in loss.free_symbols - set(params))
    if free:
        raise BeaValueError(f"the loss still has data symbols {free}: give their values with --subs")
    method = methods.by_name(args.method)
    flow = modified_flow(loss, list(params), truncation=max(args.truncations), method=method)
    theta0 = {s.name: float(v) for s, v in init.items()}
    return _check_and_plot(flow, theta0, args.h, Path(args.plot) if args.plot else None, time=args.time,
                           truncations=tuple(args.truncations), method=method, device=args.device,
                           tolerance=args.tolerance,
                           progress=not args.no_progress)


def _check_and_plot(flow: ModifiedFlow, theta0: dict[str, float], hs: tuple[float, ...] | list[float],
                    plot: Path | None, **options: Any) -> DriftReport:
    """``drift_check`` with its warnings kept in the report (not printed twice), and the plot saved."""
    from numeric.drift import drift_check

    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")  # the report lists the warnings
        report = drift_check(flow, theta0, hs, **options)
    if plot is not None:
        try:
            plot.parent.mkdir(parents=True, exist_ok=True)
            report.plot(str(plot))
        except (OSError, ValueError) as exc:
            raise BeaValueError(f"could not save the plot to {str(plot)!r}: {exc}") from None
    return report


def demo_drift(flow: ModifiedFlow, plot: Path, *, device: str = "cpu", progress: bool = True) -> DriftReport:
    """The drift check of ``bea demo``: gradient descent on the two-parameter model.

    Start (2.8, 3.5), T = 1, h = 0.01, 0.005, 0.0025, 0.00125, truncations r = 0..3 (Barrett &
    Dherin 2021, Fig. 1 setting); the log-log plot is saved to ``plot``.
    """
    return _check_and_plot(flow, {"a": 2.8, "b": 3.5}, DEMO_HS, plot, time=1.0, truncations=(0, 1, 2, 3),
                           method=methods.explicit_euler, device=device, progress=progress)


DEMO_HS = (0.01, 0.005, 0.0025, 0.00125)
