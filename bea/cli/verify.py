"""CLI commands that need the torch backend: ``verify``, and the drift part of ``demo``.

The argument parsers live here (plain argparse, so ``import bea.cli`` never imports torch);
the work is done by :mod:`numeric.cli_verify`, imported only when a command runs. Without
the ``torch`` extra these commands fail with one clear line (:class:`~bea.errors.MissingExtraError`).

``bea verify`` exits with status 0 when every truncation passes (its fitted slope within the tolerance of
its expected value, its errors falling with h and small against the distance travelled:
:func:`numeric.drift_report.verdict`), 1 when the check ran but failed, and 2 for bad input.
"""

from __future__ import annotations

import argparse
from types import ModuleType
from typing import Any

from bea import methods
from bea.cli.args import DeprecatedAlias, Once, add_format, import_backend, nonneg_int, positive_float, positive_int

__all__ = ["load_backend", "register"]


def load_backend() -> ModuleType:
    """Import :mod:`numeric.cli_verify`, or raise :class:`MissingExtraError` naming the missing package.

    The backend measures the drift :math:`\\|\\theta_n - \\varphi^{(r)}_{nh}(\\theta_0)\\| = O(h^q)`
    between a method and its modified flows truncated after :math:`h^r`. Which branch runs
    depends on whether the ``torch`` extra is installed, so the example accepts both:

    >>> from bea.errors import MissingExtraError
    >>> try:
    ...     backend = load_backend()
    ... except MissingExtraError:  # without the torch extra
    ...     backend = None
    >>> backend is None or backend.__name__ == "numeric.cli_verify"
    True

    Reference: Hairer--Lubich--Wanner, *Geometric Numerical Integration*, 2nd ed., chapter IX.
    """
    return import_backend("numeric.cli_verify")


def register(sub: Any) -> None:
    """Register ``verify`` on the ``bea`` sub-parsers object ``sub``."""
    p = sub.add_parser(
        "verify", help="drift check: the method vs its truncated modified flows, slopes per truncation",
        description="Runs the method on the loss for several step sizes h and integrates its modified flows "
                    "truncated after h^r accurately; the error at time T must fall like h^(r+1) for gradient "
                    "descent (in general: the first power above r with a nonzero term). Exit status 0 when every "
                    "fitted slope is within the tolerance and the errors fall with h, below 0.1 of the distance "
                    "travelled; 1 when not. Needs the torch extra; a small float64 check on "
                    "the CPU of an explicit Runge-Kutta method (gd included) runs in NumPy and SciPy without "
                    "importing torch, everything else (--device cuda, larger systems, implicit methods, --map, "
                    "sgd, optimisers with memory) runs in torch: the route is chosen by the problem, the "
                    "report is the same.")
    p.add_argument("--loss", action="append",
                   help='the loss, e.g. "(y - a*b*x)^2/2" (safe parser); repeat it once per minibatch loss with '
                        "--method sgd")
    p.add_argument("--map", nargs="+", action=Once, metavar="EXPR",
                   help='instead of --loss and --method: one step as the image of each parameter, in the '
                        'parameters, data and h, e.g. --map "a - h*a*b^2" "b - h*a^2*b" (as bea derive --map)')
    p.add_argument("--shuffle", choices=("random", "fixed"),
                   help="with --method sgd: the mean epoch over all orders of the minibatches (random, default) or "
                        "one epoch in the given order (fixed); --time must be a multiple of the epoch, m*h")
    p.add_argument("--params", nargs="+", action=Once, required=True, help="parameter names; other names are data")
    p.add_argument("--subs", nargs="*", action=Once, default=[], help="data values, e.g. x=1 y=0.6")
    p.add_argument("--init", nargs="+", action=Once, required=True, help="start, e.g. a=2.8 b=3.5 (every parameter)")
    p.add_argument("--h", nargs="+", action=Once, type=positive_float, default=[0.01, 0.005, 0.0025, 0.00125],
                   help="step sizes (time must be a multiple of each)")
    p.add_argument("--time", type=positive_float, default=1.0, help="total time T = n h")
    p.add_argument("--truncations", nargs="+", action=Once, metavar="R", type=nonneg_int, default=[0, 1, 2, 3],
                   help="truncations r of the modified flow (keep the terms through h^r); default 0 1 2 3")
    p.add_argument("--orders", dest="truncations", nargs="+", type=nonneg_int, action=DeprecatedAlias,
                   new="--truncations")
    p.add_argument("--method", help=f"sgd (with repeated --loss), heavy_ball, nesterov, rmsprop, adam (with "
                                    f"--hyper), or one of: {', '.join(sorted(methods.NAMES))} (default gd)")
    p.add_argument("--hyper", nargs="+", action=Once, metavar="NAME=VALUE", default=[],
                   help="hyperparameters of heavy_ball/nesterov (beta), rmsprop (beta2, eps), adam (beta1, beta2, "
                        "eps), exact: e.g. --hyper beta=9/10")
    p.add_argument("--eps-inside", action="store_true", help="rmsprop/adam: g/sqrt(v + eps) instead of torch's form")
    p.add_argument("--start", choices=("manifold", "zero"), default="manifold",
                   help="optimisers with memory: buffers on the slow manifold (default) or torch's zero start")
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    p.add_argument("--tolerance", type=positive_float, default=0.15, help="allowed |slope - expected|")
    p.add_argument("--plot", default=None, help="save a log-log plot to this path (PNG, PDF, SVG)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --plot file (else refused)")
    p.add_argument("--max-steps", type=positive_int, default=1_000_000,
                   help="refuse checks needing more method steps than this (sum of T/h; default 1e6)")
    add_format(p, "text", "json")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.set_defaults(handler=_cmd_verify)


def _cmd_verify(args: argparse.Namespace) -> tuple[str, int]:
    report = load_backend().verify(args)
    text = report.to_json() if args.format == "json" else report.table()
    return text, 0 if report.passed else 1
