"""CLI command ``modified-hamiltonian``: the modified Hamiltonian of a symplectic method.

``bea modified-hamiltonian --method stormer_verlet --hamiltonian "p^2/2 - cos(q)" --q q --p p --truncation 4``
prints H̃ = H + h H₂ + h² H₃ + … through h^4, term by term, and whether the Hamiltonian field of each term
equals the method's modified equation (checked exactly). Repeat ``--q``/``--p`` for several degrees of
freedom; ``--subs m=1`` gives values to other names. ``--order`` is a deprecated alias of ``--truncation``.
JSON: ``{"method", "truncation", "q", "p", "h", "terms": [{"power", "expr", "latex"}], "hamiltonian",
"verified"}``. A method that is not symplectic on this H is a bea error (exit status 2) naming the first
power of h whose term is not Hamiltonian.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import sympy

from bea import jsonio, methods
from bea.cli.args import Once, add_format, integer
from bea.hamiltonian import modified_hamiltonian

__all__ = ["register"]


def register(sub: Any) -> None:
    """Register ``modified-hamiltonian`` on the ``bea`` sub-parsers ``sub``."""
    mh = sub.add_parser("modified-hamiltonian", help="modified Hamiltonian of a symplectic method on a given H(q, p)")
    mh.add_argument("--method", required=True, help=f"a symplectic method, e.g. {', '.join(_examples())}")
    mh.add_argument("--hamiltonian", required=True, help='H(q, p), e.g. "p^2/2 - cos(q)" (safe parser)')
    mh.add_argument("--q", action="append", required=True, help="a position name (repeat for several)")
    mh.add_argument("--p", action="append", required=True, help="a momentum name (repeat, same count as --q)")
    mh.add_argument("--subs", nargs="*", action=Once, default=[],
                    help="values of the other names, e.g. m=1 g=1/2 (exact)")
    mh.add_argument("--truncation", type=integer, default=None, help="keep the terms through h^truncation (default 2)")
    mh.add_argument("--order", type=integer, default=None, help=argparse.SUPPRESS)  # deprecated alias
    add_format(mh, "text", "latex", "json")
    mh.set_defaults(handler=lambda args: (_cmd_modified_hamiltonian(args), 0))


def _examples() -> list[str]:
    return [name for name in ("implicit_midpoint", "gauss_legendre_2", "stormer_verlet") if name in methods.NAMES
            or name == "stormer_verlet"]


def _truncation(args: argparse.Namespace) -> int:
    if args.order is not None:
        print("bea: warning: --order is deprecated here, use --truncation (powers of h)", file=sys.stderr)
        if args.truncation is not None and args.truncation != args.order:
            from bea.errors import BeaValueError

            raise BeaValueError(f"--order {args.order} and --truncation {args.truncation} disagree")
        return int(args.order)
    return 2 if args.truncation is None else int(args.truncation)


def _cmd_modified_hamiltonian(args: argparse.Namespace) -> str:
    truncation = _truncation(args)
    result = modified_hamiltonian(
        args.method, args.hamiltonian, args.q, args.p, truncation=truncation, substitutions=args.subs or None
    )
    verified = result.verify()
    if args.format == "json":
        return jsonio.dumps({**result.to_dict(), "verified": verified}, indent=2)
    if args.format == "latex":
        return str(sympy.latex(result))
    lines = [
        f"modified Hamiltonian of {result.method} on H = {result.hamiltonian}",
        f"q = {', '.join(map(str, result.q))}; p = {', '.join(map(str, result.p))}; "
        f"terms through {result.h}^{result.truncation}",
        "",
    ]
    for k, term in enumerate(result.compact_terms()):
        lines.append(f"  h^{k}: {term}")
    status = "yes" if verified else "NO"
    lines += ["", f"H~ = {result} + O({result.h}^{result.truncation + 1})",
              f"its Hamiltonian field equals the modified equation term by term: {status}"]
    return "\n".join(lines)
