"""Checks shared by bea's boundaries: integers given as any integral type, and finite exact values.

One place for each check, so the trees, series, tableaux, flows and parser refuse the same
things with the same words.
"""

from __future__ import annotations

import operator

import sympy

from bea.errors import BeaTypeError, BeaValueError, InvalidOrderError

__all__ = ["NON_FINITE", "as_integer", "check_finite"]

#: SymPy's non-finite values: a coefficient, tableau entry or data value holding one is refused.
NON_FINITE = (sympy.S.NaN, sympy.S.ComplexInfinity, sympy.S.Infinity, sympy.S.NegativeInfinity)


def as_integer(value: object, name: str, minimum: int) -> int:
    """``value`` as a Python int, for any integral type (int, ``sympy.Integer``, ``numpy.int64``,
    anything with ``__index__``); ``bool`` is refused. Raises :class:`InvalidOrderError` when it is
    not an integer or is below ``minimum``.

    >>> as_integer(sympy.Integer(3), "order", 1)
    3
    >>> as_integer(True, "order", 1)
    Traceback (most recent call last):
        ...
    bea.errors.InvalidOrderError: order must be an integer, got True
    """
    if isinstance(value, bool) or getattr(value, "is_Boolean", False):
        raise InvalidOrderError(f"{name} must be an integer, got {value!r}")
    try:
        number = operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise InvalidOrderError(f"{name} must be an integer, got {value!r}") from None
    if number < minimum:
        raise InvalidOrderError(f"{name} must be at least {minimum}, got {number}")
    return number


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
