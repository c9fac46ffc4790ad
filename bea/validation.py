"""One checker per concern: truncations, orders, step sizes, tolerances, renamed keywords.

Every entry point of bea and numeric validates its arguments with these functions, so a
bad value raises the same error with the same message wherever it enters: a value of the
wrong type raises a :class:`~bea.errors.BeaTypeError` (a ``TypeError``), a value of the
right type outside its range a :class:`~bea.errors.BeaValueError` subclass (a ``ValueError``).

Words (``docs/conventions.md``): the *order* of a tree or a series is its number of nodes
(as BSeries.jl), and a method's *order of accuracy* is the literature's; the *truncation*
p of a modified flow keeps its terms :math:`h^0, \\dots, h^p` (p = 1 is the IGR level).

>>> check_truncation(2)
2
>>> check_truncation(-1)
Traceback (most recent call last):
...
bea.errors.InvalidTruncationError: truncation must be at least 0 (0 = the unmodified flow), got -1
>>> check_step_size(0.0)
Traceback (most recent call last):
...
bea.errors.InvalidStepSizeError: h must be a positive finite number, got 0.0
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import TypeVar

import sympy

from bea.errors import (
    BeaTypeError,
    InvalidOrderError,
    InvalidStepSizeError,
    InvalidToleranceError,
    InvalidTruncationError,
)

__all__ = [
    "MAX_BICOLOURED_ORDER",
    "MAX_TREES_ORDER",
    "check_order",
    "check_step_size",
    "check_tolerance",
    "check_tree_order",
    "check_truncation",
    "exact_expression",
    "renamed_keyword",
]

T = TypeVar("T")


def _integer(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise BeaTypeError(f"{name} must be an integer, got {value!r}")
    return int(value)


def check_truncation(value: object, *, name: str = "truncation", maximum: int | None = None) -> int:
    """``value`` as a truncation p ≥ 0 (keep the terms through :math:`h^p`), at most ``maximum`` if given.

    Raises :class:`~bea.errors.BeaTypeError` for a non-integer (``bool`` included) and
    :class:`~bea.errors.InvalidTruncationError` for one out of range.
    """
    p = _integer(value, name)
    if p < 0:
        raise InvalidTruncationError(f"{name} must be at least 0 (0 = the unmodified flow), got {p}")
    if maximum is not None and p > maximum:
        raise InvalidTruncationError(f"{name} {p} is beyond h^{maximum}, the highest power held here")
    return p


def check_order(value: object, *, name: str = "order", minimum: int = 1) -> int:
    """``value`` as an order (a number of nodes) of at least ``minimum``.

    Raises :class:`~bea.errors.BeaTypeError` for a non-integer and
    :class:`~bea.errors.InvalidOrderError` below ``minimum``.
    """
    n = _integer(value, name)
    if n < minimum:
        raise InvalidOrderError(f"{name} must be at least {minimum}, got {n}")
    return n


def exact_expression(value: object, what: str) -> sympy.Expr:
    """``value`` as an exact SymPy expression; ``what`` names it in the errors.

    bea's one rule for exact values given as objects (series coefficients, map images, coefficient rules):
    ints, :class:`fractions.Fraction`, SymPy numbers, symbols and expressions are taken (hyperparameters
    given as text go through :func:`bea.methods.hyper.exact_rational`). Raises
    :class:`~bea.errors.BeaTypeError` for bool, float, str, bytes, ``None``, anything that is not an
    expression, and expressions that hold a ``sympy.Float`` (0.1 is not 1/10 in binary).

    >>> exact_expression(sympy.Rational(1, 3), "the weight")
    1/3
    >>> exact_expression(0.5, "the weight")
    Traceback (most recent call last):
    ...
    bea.errors.BeaTypeError: the weight must be an exact SymPy expression, got 0.5
    """
    if isinstance(value, (bool, float, str, bytes)) or value is None:
        raise BeaTypeError(f"{what} must be an exact SymPy expression, got {value!r}")
    expr = sympy.sympify(value)
    if not isinstance(expr, sympy.Expr):
        raise BeaTypeError(f"{what} must be a SymPy expression, got {value!r}")
    if expr.atoms(sympy.Float):
        raise BeaTypeError(f"{what} = {expr} holds floats; bea is exact: use sympy.Rational")
    return expr


#: The most nodes for which bea builds every rooted tree: A000081(18) = 35 221 832 trees, about a gigabyte.
MAX_TREES_ORDER = 18
#: The most nodes for which bea builds every bicoloured tree: A038055(12) = 10 503 612 trees.
MAX_BICOLOURED_ORDER = 12


def check_tree_order(value: object, name: str = "order", *, maximum: int | None = MAX_TREES_ORDER) -> int:
    """``value`` as the order of a tree or a series over trees: an int >= 1 (any integral type: int,
    ``sympy.Integer``, ``numpy.int64``; never bool), at most ``maximum`` (``None``: no bound, for counting).

    Every call that builds all trees up to an order is bounded (:data:`MAX_TREES_ORDER` for rooted trees,
    :data:`MAX_BICOLOURED_ORDER` for bicoloured ones), so that a large order is refused at once instead of
    filling the memory. A non-integer raises :class:`~bea.errors.InvalidOrderError` (a ``ValueError``, as the
    tree API has always done, where :func:`check_order` raises BeaTypeError), and so does an order out of range.

    >>> check_tree_order(19)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    bea.errors.InvalidOrderError: order 19 is above 18, the most nodes for which bea builds every tree (...)
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidOrderError(f"{name} must be an integer, got {value!r}")
    n = check_order(value, name=name)
    if maximum is not None and n > maximum:
        limit = "MAX_BICOLOURED_ORDER" if maximum == MAX_BICOLOURED_ORDER else "MAX_TREES_ORDER"
        growth = "fivefold" if maximum == MAX_BICOLOURED_ORDER else "threefold"
        raise InvalidOrderError(f"{name} {n} is above {maximum}, the most nodes for which bea builds every tree "
                                f"({limit}; their number grows about {growth} per node)")
    return n


def _positive_real(value: object, name: str, error: type[Exception]) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise BeaTypeError(f"{name} must be a real number, got {value!r}")
    x = float(value)
    if not (math.isfinite(x) and x > 0):
        raise error(f"{name} must be a positive finite number, got {value!r}")
    return x


def check_step_size(value: object, *, name: str = "h") -> float:
    """``value`` as a step size: a finite real number > 0, returned as a float.

    Raises :class:`~bea.errors.BeaTypeError` for a non-number and
    :class:`~bea.errors.InvalidStepSizeError` for h ≤ 0, NaN or ∞.
    """
    return _positive_real(value, name, InvalidStepSizeError)


def check_tolerance(value: object, *, name: str = "tolerance") -> float:
    """``value`` as a tolerance: a finite real number > 0, returned as a float.

    Raises :class:`~bea.errors.BeaTypeError` for a non-number and
    :class:`~bea.errors.InvalidToleranceError` for a tolerance ≤ 0, NaN or ∞.
    """
    return _positive_real(value, name, InvalidToleranceError)


def renamed_keyword(new: T, old: T | None, *, new_name: str, old_name: str, where: str, default: T) -> T:
    """The value of a keyword renamed from ``old_name`` to ``new_name``, warning when the old one is used.

    ``new`` is the value of the new keyword (``default`` when not given), ``old`` the value of the
    deprecated one (``None`` when not given). Using the old keyword issues one
    :class:`DeprecationWarning` attributed to the caller of ``where``; giving both (the new one
    different from its default) raises :class:`~bea.errors.BeaTypeError`.
    """
    if old is None:
        return new
    if new != default and new != old:
        raise BeaTypeError(f"{where}: give {new_name}= only ({old_name}= is its deprecated name), not both")
    warnings.warn(
        f"{where}: the keyword {old_name}= is deprecated, use {new_name}= ('order' is reserved for the number "
        "of nodes of a tree or series and for the order of accuracy)",
        DeprecationWarning,
        stacklevel=3,
    )
    return old
