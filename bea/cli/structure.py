"""CLI command ``structure --method NAME --order N``: the structure checks of a catalogue method.

JSON keys (stable): ``method``, ``order``, ``symplectic``, ``order_of_symplecticity`` (null when
symplectic through N), ``energy_preserving``, ``energy_preserving_order`` (null likewise),
``symmetric``, ``conjugate_symplectic_through`` (see :mod:`bea.structure`).
"""

from __future__ import annotations

import argparse
from typing import Any

from bea import jsonio, methods
from bea._text import count
from bea.cli.args import add_format, positive_int
from bea.structure import structure_report

__all__ = ["register"]


def register(sub: Any) -> None:
    """Register ``structure`` on the ``bea`` sub-parsers ``sub``."""
    st = sub.add_parser(
        "structure", help="symplectic / energy-preserving / symmetric / conjugate-symplectic checks of a method"
    )
    st.add_argument("--method", required=True, help=f"one of: {', '.join(sorted(methods.NAMES))}")
    st.add_argument("--order", type=positive_int, default=6, help="largest tree order examined (default 6)")
    add_format(st, "text", "json")
    st.set_defaults(handler=_cmd_structure)


def _through(value: int | None, order: int) -> str:
    return f"yes, through order {order}" if value is None else f"no: through order {value} only"


def _cmd_structure(args: argparse.Namespace) -> tuple[str, int]:
    method = methods.by_name(args.method)
    report = structure_report(method, args.order)
    if args.format == "json":
        return jsonio.dumps(report.to_dict(), indent=2), 0
    n = args.order
    lines = [
        f"structure of {report.method}, trees with at most {count(n, 'node')}",
        f"  symplectic:            {_through(report.order_of_symplecticity, n)}",
        f"  energy-preserving:     {_through(report.energy_preserving_order, n)}",
        f"  symmetric:             {'yes' if report.symmetric else 'no'}",
        f"  conjugate-symplectic:  through order {report.conjugate_symplectic_through}",
    ]
    return "\n".join(lines), 0
