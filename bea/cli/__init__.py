"""The ``bea`` command line.

Commands: ``demo``, ``trees N``, ``modified-equation --method NAME --order N``, ``derive``
(:mod:`bea.cli.derive`), ``verify`` (:mod:`bea.cli.verify`, needs the torch extra), ``reproduce
two-param|digits`` (:mod:`bea.cli.reproduce`, needs the torch extra). Each takes
``--format``; bad input exits with status 2 and one line on stderr, a failed check with 1.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from bea._text import one_line
from bea.cli import demo, derive, hamiltonian, reproduce, series, structure, verify
from bea.cli.args import protect_expressions
from bea.cli.streams import stdout_to_stderr
from bea.errors import BeaError

__all__ = ["COMMAND_MODULES", "Handler", "build_parser", "main"]

#: Every command has one handler signature: it takes the parsed arguments and returns the text to
#: print on stdout and the exit status (0 success, 1 a check that ran and failed). Bad input raises
#: a :class:`~bea.errors.BeaError` (exit status 2).
Handler = Callable[[argparse.Namespace], tuple[str, int]]

#: The modules that define commands; each has ``register(sub)``, which adds its sub-parsers and
#: sets ``handler`` on each with ``set_defaults``.
COMMAND_MODULES = (series, derive, verify, demo, reproduce, structure, hamiltonian)


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # one line, exit 2, no usage dump
        raise _UsageError(message)


def _one_line_warning(
    message: Warning | str, category: type[Warning], filename: str, lineno: int, file: Any = None, line: Any = None
) -> None:
    """Warnings of a command: one line on stderr, without Python's source-line dump."""
    print(f"bea: warning: {one_line(str(message))}", file=sys.stderr)


def build_parser() -> argparse.ArgumentParser:
    """The ``bea`` argument parser, with every sub-command registered (torch is not imported).

    ``modified-equation --order N`` keeps the trees with at most N nodes, i.e. the modified
    field :math:`f_h = \\sum_{|\\tau| \\le N} h^{|\\tau|-1} \\frac{b(\\tau)}{\\sigma(\\tau)} F(\\tau)`
    through :math:`h^{N-1}`; ``derive --truncation p`` keeps the powers of h through h^p (``docs/conventions.md``).
    Bad input raises a usage error that :func:`main` reports with exit status 2.

    >>> args = build_parser().parse_args(["modified-equation", "--method", "rk4", "--order", "5"])
    >>> args.command, args.method, args.order, args.format
    ('modified-equation', 'rk4', 5, 'text')

    Reference: Hairer--Lubich--Wanner, *Geometric Numerical Integration*, 2nd ed., section IX.9.
    """
    from bea import __version__

    parser = _Parser(prog="bea", description="Backward error analysis of optimisers and integrators: exact "
                     "modified equations (trees, B-series), modified flows and losses of concrete losses, numerical "
                     "drift checks. `bea COMMAND --help` describes each command.")
    parser.add_argument("--version", action="version", version=f"bea {__version__}", help="print the version")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (2 for bad input, with one line on stderr).

    ``bea trees N`` lists the rooted trees τ with N nodes, their symmetry σ(τ), density γ(τ)
    (the exact flow has B-series coefficients 1/γ) and elementary differential F(τ):

    >>> main(["trees", "3"])
    levels     sigma   gamma  tree / F(tree)
    [1, 2, 3]      1       6  [[•]]  f'f'f
    [1, 2, 2]      2       3  [•²]  f''(f, f)
    2 trees with 3 nodes
    0

    Reference: Hairer--Lubich--Wanner, *Geometric Numerical Integration*, 2nd ed., section III.1.
    """
    try:
        parser = build_parser()
        args = parser.parse_args(protect_expressions(sys.argv[1:] if argv is None else argv))
        handler: Handler = args.handler
        with warnings.catch_warnings(), stdout_to_stderr():  # stdout carries only the command's output
            warnings.simplefilter("default")
            warnings.showwarning = _one_line_warning
            output, status = handler(args)
    except (_UsageError, BeaError) as error:
        print(f"bea: error: {one_line(str(error))}", file=sys.stderr)  # the promise: one line, whatever the message
        return 2
    except KeyboardInterrupt:
        print("bea: interrupted", file=sys.stderr)
        return 130
    try:
        print(output)
        sys.stdout.flush()
    except BrokenPipeError:  # `bea ... | head`: the reader left; no traceback (the Python documentation's recipe)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
