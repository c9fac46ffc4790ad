"""Finite exact values: the check shared by bea's boundaries (tableaux, series, fields, losses).

One place, so every boundary refuses nan, oo and zoo with the same words. (Integers and
truncations are checked by :mod:`bea.validation`.)
"""

from __future__ import annotations

import sympy

from bea.errors import BeaTypeError, BeaValueError

__all__ = ["NON_FINITE", "check_finite"]

#: SymPy's non-finite values: a coefficient, tableau entry or data value holding one is refused.
NON_FINITE = (sympy.S.NaN, sympy.S.ComplexInfinity, sympy.S.Infinity, sympy.S.NegativeInfinity)


def check_finite(expr: sympy.Basic, where: str, error: type[BeaValueError] = BeaValueError) -> None:
    """Raise ``error`` (a :class:`BeaValueError`) when ``expr`` holds nan, oo, -oo or zoo, naming ``where``.

    >>> check_finite(sympy.nan * sympy.Symbol("a"), "b([1, 2])")
    Traceback (most recent call last):
        ...
    bea.errors.BeaValueError: b([1, 2]) is nan, which is not a finite number
    """
    if not isinstance(expr, sympy.Basic):
        raise BeaTypeError(f"{where} must be a SymPy value, got {expr!r}")
    if expr.has(*NON_FINITE):
        raise error(f"{where} is {expr}, which is not a finite number")
