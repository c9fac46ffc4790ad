"""CLI commands on trees and B-series: ``trees N`` and ``modified-equation --method NAME --order N``."""

from __future__ import annotations

import argparse
import warnings
from typing import Any

import sympy

from bea import jsonio, methods
from bea._text import count
from bea.cli.args import add_allow_expensive, add_format, check_tree_budget, positive_int
from bea.errors import ExpensiveComputationWarning
from bea.modified import modified_equation
from bea.trees import trees

__all__ = ["register"]


def register(sub: Any) -> None:
    """Register ``trees`` and ``modified-equation`` on the ``bea`` sub-parsers ``sub``."""
    tr = sub.add_parser("trees", help="list the rooted trees with N nodes",
                        description="The rooted trees with N nodes (canonical level sequences, as RootedTrees.jl), "
                                    "with their symmetry sigma, density gamma and elementary differential F(tree).")
    tr.add_argument("n", type=positive_int, metavar="N", help="the number of nodes (order) of the trees, N >= 1")
    add_format(tr, "text", "latex", "json")
    add_allow_expensive(tr)
    tr.set_defaults(handler=lambda args: (_cmd_trees(args), 0))

    me = sub.add_parser("modified-equation", help="modified-equation coefficients of a Runge-Kutta method",
                        description="The coefficients b(tree) of the modified equation of a method, "
                                    "f_h = sum over trees of h^(|tree|-1) b(tree)/sigma(tree) F(tree), for every "
                                    "tree with at most N nodes (a series of order N: terms through h^(N-1)).")
    me.add_argument("--method", default="explicit_euler", help=f"one of: {', '.join(sorted(methods.NAMES))}")
    me.add_argument("--order", type=positive_int, default=4, metavar="N",
                    help="order of the series: trees with at most N nodes, terms through h^(N-1) (default 4)")
    add_format(me, "text", "latex", "json")
    add_allow_expensive(me)
    me.set_defaults(handler=lambda args: (_cmd_modified_equation(args), 0))


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
    check_tree_budget(args.n, f"trees {args.n}", args.allow_expensive, smallest=args.n)
    rows = _tree_rows(args.n)
    if args.format == "json":
        return jsonio.dumps({"n": args.n, "count": len(rows), "trees": rows}, indent=2)
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
    out.append(f"{count(len(rows), 'tree')} with {count(args.n, 'node')}")
    return "\n".join(out)


def _cmd_modified_equation(args: argparse.Namespace) -> str:
    method = methods.by_name(args.method)
    check_tree_budget(args.order, f"modified-equation --order {args.order}", args.allow_expensive)
    with warnings.catch_warnings():  # the budget above has told the user already, in one line
        warnings.simplefilter("ignore", ExpensiveComputationWarning)
        series = modified_equation(method, args.order)
    if args.format == "json":
        data = {"method": method.name, **series.to_dict()}
        return jsonio.dumps(data, indent=2)
    if args.format == "latex":
        return str(sympy.latex(series))
    lines = [f"modified equation of {method.name}, trees with at most {args.order} nodes", ""]
    width = max(len(str(list(t.levels))) for t in series)
    for t in series:
        lines.append(f"  b({list(t.levels)!s:<{width}}) = {series[t]!s:<12} {t.elementary_differential}")
    lines += ["", "f_h = " + str(series)]
    return "\n".join(lines)
