"""Exact arithmetic for coefficient recursions: a fast path and a symbolic path.

Recursions over tens of thousands of trees (elementary weights, modified
equations) run on :class:`gmpy2.mpq` when every input is a rational number
(about ten times faster than :class:`sympy.Rational`) and on SymPy expressions,
expanded after each step, when some input is symbolic or irrational (for
example the :math:`\\sqrt3` of the Gauss--Legendre method). Both are exact; the
results are handed back as SymPy values.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, final

import gmpy2
import sympy

__all__: list[str] = []


@final
class Ring:
    """The arithmetic used by one recursion: ``rational`` (mpq) or symbolic."""

    __slots__ = ("rational",)

    def __init__(self, rational: bool) -> None:
        self.rational = rational

    @staticmethod
    def for_values(values: Iterable[sympy.Expr]) -> Ring:
        return Ring(all(isinstance(v, sympy.Rational) for v in values))

    def convert(self, value: sympy.Expr) -> Any:
        if self.rational:
            r = sympy.Rational(value)
            return gmpy2.mpq(int(r.p), int(r.q))
        return sympy.sympify(value)

    def integer(self, n: int) -> Any:
        return gmpy2.mpq(n) if self.rational else sympy.Integer(n)

    def fraction(self, p: int, q: int) -> Any:
        return gmpy2.mpq(p, q) if self.rational else sympy.Rational(p, q)

    def normal(self, value: Any) -> Any:
        return value if self.rational else sympy.expand(value)

    def back(self, value: Any) -> sympy.Expr:
        if self.rational:
            return sympy.Rational(int(value.numerator), int(value.denominator))
        return sympy.expand(value)
