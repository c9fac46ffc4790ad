"""The ``bea`` command line.

Commands: ``demo``, ``trees N``, ``modified-equation --method NAME --order N``, ``derive``
(:mod:`bea.cli_flows`), ``verify`` (:mod:`bea.cli_numeric`, needs the torch extra), ``reproduce
two-param|digits`` (:mod:`bea.cli_reproduce`, needs the torch extra). Each takes
``--format``; bad input exits with status 2 and one line on stderr, a failed check with 1.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import sympy

from bea import cli_demo, cli_flows, cli_numeric, cli_reproduce, methods
from bea._cli_args import positive_int
from bea.errors import BeaError
from bea.modified import modified_equation
from bea.trees import trees

__all__ = ["build_parser", "main"]


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # one line, exit 2, no usage dump
        raise _UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    """The ``bea`` argument parser, with every sub-command registered (torch is not imported).

    ``modified-equation --order N`` keeps the trees with at most N nodes, i.e. the modified
    field :math:`f_h = \\sum_{|\\tau| \\le N} h^{|\\tau|-1} \\frac{b(\\tau)}{\\sigma(\\tau)} F(\\tau)`
    through :math:`h^{N-1}`; ``derive --order p`` counts powers of h (``docs/conventions.md``).
    Bad input raises a usage error that :func:`main` reports with exit status 2.

    >>> args = build_parser().parse_args(["modified-equation", "--method", "rk4", "--order", "5"])
    >>> args.command, args.method, args.order, args.format
    ('modified-equation', 'rk4', 5, 'text')

    Reference: Hairer--Lubich--Wanner, *Geometric Numerical Integration*, 2nd ed., section IX.9.
    """
    parser = _Parser(prog="bea", description="Backward error analysis of optimisers and integrators.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    tr = sub.add_parser("trees", help="list the rooted trees with N nodes")
    tr.add_argument("n", type=positive_int, metavar="N")
    tr.add_argument("--format", choices=("text", "latex", "json"), default="text")

    me = sub.add_parser("modified-equation", help="modified-equation coefficients of a Runge-Kutta method")
    me.add_argument("--method", default="explicit_euler", help=f"one of: {', '.join(sorted(methods.NAMES))}")
    me.add_argument("--order", type=positive_int, default=4, help="largest tree order (terms through h^(order-1))")
    me.add_argument("--format", choices=("text", "latex", "json"), default="text")
    _extend(sub)
    return parser


def _extend(sub: Any) -> None:
    """Register the commands defined in other modules: demo, derive, verify, reproduce."""
    cli_demo.add_command(sub)
    cli_flows.add_commands(sub)
    cli_numeric.add_commands(sub)
    cli_reproduce.add_commands(sub)


def _handler(command: str) -> Callable[[argparse.Namespace], tuple[str, int]]:
    """The function that runs ``command``, returning the text to print and the exit status."""
    plain: dict[str, Callable[[argparse.Namespace], str]] = {
        "trees": _cmd_trees,
        "modified-equation": _cmd_modified_equation,
        **cli_flows.HANDLERS,
    }
    if command in plain:
        run = plain[command]
        return lambda args: (run(args), 0)
    if command == "demo":
        return cli_demo.demo
    if command in cli_reproduce.HANDLERS:
        return cli_reproduce.HANDLERS[command]
    return cli_numeric.HANDLERS[command]


def _tree_rows(n: int) -> list[dict[str, Any]]:
    return [
        {
            "levels": list(t.levels),
            "tree": str(t),
            "symmetry": t.symmetry,
            "density": t.density,
            "elementary_differential": t.elementary_differential,
        }
        for t in trees(n)
    ]


def _cmd_trees(args: argparse.Namespace) -> str:
    rows = _tree_rows(args.n)
    if args.format == "json":
        return json.dumps({"n": args.n, "count": len(rows), "trees": rows}, indent=2)
    if args.format == "latex":
        lines = [r"\begin{tabular}{llrrl}", r"levels & tree & $\sigma$ & $\gamma$ & $F(\tau)$ \\ \hline"]
        for t in trees(args.n):
            lines.append(
                f"{list(t.levels)} & ${t._latex()}$ & {t.symmetry} & {t.density} & "
                f"\\texttt{{{t.elementary_differential}}} \\\\"
            )
        lines.append(r"\end{tabular}")
        return "\n".join(lines)
    width = max(len(str(r["levels"])) for r in rows)
    out = [f"{'levels':<{width}}  {'sigma':>5}  {'gamma':>6}  tree / F(tree)"]
    for r in rows:
        out.append(
            f"{r['levels']!s:<{width}}  {r['symmetry']:>5}  {r['density']:>6}  "
            f"{r['tree']}  {r['elementary_differential']}"
        )
    out.append(f"{len(rows)} trees with {args.n} nodes")
    return "\n".join(out)


def _cmd_modified_equation(args: argparse.Namespace) -> str:
    method = methods.by_name(args.method)
    series = modified_equation(method, args.order)
    if args.format == "json":
        data = {"method": method.name, **series.to_dict()}
        return json.dumps(data, indent=2)
    if args.format == "latex":
        return str(sympy.latex(series))
    lines = [f"modified equation of {method.name}, trees with at most {args.order} nodes", ""]
    width = max(len(str(list(t.levels))) for t in series)
    for t in series:
        lines.append(f"  b({list(t.levels)!s:<{width}}) = {series[t]!s:<12} {t.elementary_differential}")
    lines += ["", "f_h = " + str(series)]
    return "\n".join(lines)


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
        args = parser.parse_args(argv)
        handler = _handler(args.command)
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            output, status = handler(args)
    except (_UsageError, BeaError) as error:
        print(f"bea: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("bea: interrupted", file=sys.stderr)
        return 130
    print(output)
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
