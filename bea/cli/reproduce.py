"""The ``bea reproduce`` command: the experiments of Barrett & Dherin (ICLR 2021), reproduced.

``bea reproduce two-param [--quick] [--out DIR] [--lrs H ...] [--mus MU ...]``
    the two-parameter model (paths of GD and of its modified flows, end points over a sweep of h,
    the same with explicit regularisation); about 10 s.

``bea reproduce digits [--quick] [--device cpu|cuda] [--out DIR] [--resume] [--lrs ...] [--mus ...]
[--widths ...] [--seeds ...] [--threads N] [--limit N]``
    MLPs on scikit-learn's bundled digits over a sweep of learning rates and of μ; about 10 minutes
    on two CPU cores (``--quick``: well under a minute). Results are written as each run finishes;
    ``--resume`` continues an interrupted sweep.

Each writes its JSON and PNG figures into ``DIR`` (default ``out/two-param`` or ``out/digits``: ``out/``
is ignored by git) and prints a short
table (``--format json``: a JSON summary). The argument parser lives here, so ``import bea`` never
imports torch; the work is done by :mod:`numeric.reproduce.cli`, imported only when the command
runs. Bad input (a negative learning rate, an invalid μ, an option that does not apply to the
experiment) exits with status 2 and one line; an unknown experiment name likewise.
"""

from __future__ import annotations

import argparse
from types import ModuleType
from typing import Any

from bea.cli.args import Once, add_format, import_backend, integer, number

__all__ = ["EXPERIMENTS", "load_backend", "register"]


#: The experiments ``bea reproduce`` knows.
EXPERIMENTS = ("two-param", "digits")

def load_backend() -> ModuleType:
    """Import :mod:`numeric.reproduce.cli`, or raise :class:`MissingExtraError` naming the missing package."""
    return import_backend("numeric.reproduce.cli")


def register(sub: Any) -> None:
    """Register ``reproduce`` on the ``bea`` sub-parsers object ``sub``."""
    p = sub.add_parser(
        "reproduce", help="reproduce the IGR paper's experiments (two-param, digits)",
        description="The experiments of Barrett & Dherin, Implicit Gradient Regularization (ICLR 2021). "
                    "two-param: paths of gradient descent and of its modified flows on E = (y - a*b*x)^2/2, end "
                    "points over a sweep of h, and the same with explicit regularisation (about 10 s). digits: MLPs "
                    "on scikit-learn's bundled digits over sweeps of the learning rate and of mu; each claim of the "
                    "paper is reported as supported, contradicted or inconclusive (too few runs); about 10 minutes "
                    "on two cores, --quick well under one. Needs the torch extra. Writes JSON and PNG files into "
                    "--out (default out/EXPERIMENT, which git ignores).")
    p.add_argument("experiment", choices=EXPERIMENTS, help="which experiment: two-param or digits")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="folder for the JSON and PNG files (default: out/two-param or out/digits)")
    p.add_argument("--quick", action="store_true", help="a small variant (seconds): fewer rates, seeds and steps")
    p.add_argument("--lrs", nargs="+", action=Once, type=number, default=None, metavar="H",
                   help="learning rates of the sweep")
    p.add_argument("--mus", nargs="+", action=Once, type=number, default=None, metavar="MU",
                   help="explicit-regularisation weights mu >= 0")
    p.add_argument("--widths", nargs="+", action=Once, type=integer, default=None, metavar="W",
                   help="digits: hidden widths")
    p.add_argument("--seeds", nargs="+", action=Once, type=integer, default=None, metavar="S", help="digits: seeds")
    p.add_argument("--device", default=None, help="digits: cpu (default), cuda or cuda:N")
    p.add_argument("--threads", type=integer, default=None, help="digits: torch threads (default 1)")
    p.add_argument("--resume", action="store_true", help="digits: continue the sweep found in --out")
    p.add_argument("--overwrite", action="store_true", help="replace the results already in --out (else refused)")
    p.add_argument("--limit", type=integer, default=None, metavar="N", help="digits: stop after N new runs")
    p.add_argument("--no-figures", action="store_true", help="write the JSON only")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    add_format(p, "text", "json")
    p.set_defaults(handler=_cmd_reproduce)


def _cmd_reproduce(args: argparse.Namespace) -> tuple[str, int]:
    if args.out is None:
        args.out = f"out/{args.experiment}"
    backend = load_backend()
    text, status = backend.reproduce(args)
    return str(text), int(status)
