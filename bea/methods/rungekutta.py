r"""Runge--Kutta methods as validated, exact Butcher tableaux.

A Runge--Kutta method with tableau :math:`(A, b, c)` applied to :math:`y' = f(y)`:

.. math::
    Y_i = y_0 + h \sum_j a_{ij} f(Y_j), \qquad y_1 = y_0 + h \sum_i b_i f(Y_i).

Its B-series has coefficients the *elementary weights*
:math:`\Phi(\tau) = \sum_i b_i\, g_i(\tau)` with :math:`g_i(\bullet) = 1` and
:math:`g_i([\tau_1,\dots,\tau_k]) = \prod_m \sum_j a_{ij}\, g_j(\tau_m)`; the method has
order p when :math:`\Phi(\tau) = 1/\gamma(\tau)` for every tree with at most p nodes
(Hairer--Nørsett--Wanner I, section II.2; Hairer--Lubich--Wanner, section III.1).

>>> from bea.methods import rk4
>>> rk4.order_of_accuracy()
4
>>> from bea import Tree
>>> rk4.elementary_weight(Tree.from_levels([1, 2, 3, 4]))
1/24
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from typing import Any, final

import sympy

from bea import _table
from bea._arith import Ring
from bea._checks import check_finite
from bea.errors import BeaTypeError, InvalidTableauError
from bea.methods.base import Problem, bseries_modified_terms
from bea.series import BSeries
from bea.trees import Tree
from bea.validation import check_tree_order

__all__ = ["RungeKutta"]


def _exact(value: object, where: str, rationalize_floats: bool) -> sympy.Expr:
    if isinstance(value, (bool, str, bytes)) or value is None:
        raise BeaTypeError(f"tableau entry {where} must be a number, got {value!r}")
    if isinstance(value, float):
        if not rationalize_floats:
            raise BeaTypeError(
                f"tableau entry {where} is the float {value!r}; give an exact value "
                "(int, Fraction, sympy.Rational, sympy.sqrt(3)...) or pass rationalize_floats=True"
            )
        if not math.isfinite(value):
            raise InvalidTableauError(f"tableau entry {where} is {value!r}, which is not a finite number")
        return sympy.nsimplify(value, rational=True)
    if isinstance(value, Fraction):
        return sympy.Rational(value.numerator, value.denominator)
    if isinstance(value, (int, sympy.Basic)):
        expr = sympy.sympify(value)
        if not isinstance(expr, sympy.Expr):
            raise BeaTypeError(f"tableau entry {where} must be a number, got {value!r}")
        floats = expr.atoms(sympy.Float)
        if floats:
            if not rationalize_floats:
                raise BeaTypeError(
                    f"tableau entry {where} = {expr} holds a float; give an exact value "
                    "or pass rationalize_floats=True"
                )
            expr = expr.xreplace({x: sympy.nsimplify(x, rational=True) for x in floats})
        check_finite(expr, f"tableau entry {where}", InvalidTableauError)
        return expr
    raise BeaTypeError(f"tableau entry {where} must be a number, got {value!r} ({type(value).__name__})")


def _as_rows(A: object) -> list[list[object]]:
    if isinstance(A, sympy.MatrixBase):
        return [list(A.row(i)) for i in range(A.rows)]
    if not isinstance(A, Sequence) or isinstance(A, (str, bytes)):
        raise BeaTypeError(f"A must be a square matrix (a sequence of rows), got {A!r}")
    rows = []
    for i, row in enumerate(A):
        if not isinstance(row, Sequence) or isinstance(row, (str, bytes)):
            raise InvalidTableauError(f"row {i} of A is {row!r}, not a sequence of entries")
        rows.append(list(row))
    return rows


def _as_vector(v: object, name: str) -> list[object]:
    if isinstance(v, sympy.MatrixBase):
        return list(v)
    if not isinstance(v, Sequence) or isinstance(v, (str, bytes)):
        raise BeaTypeError(f"{name} must be a sequence of entries, got {v!r}")
    return list(v)


@final
class RungeKutta:
    """An s-stage Runge--Kutta method with exact coefficients.

    The tableau is checked: A square, b and c of matching length, and the method
    consistent (:math:`\\sum_i b_i = 1`).

    >>> heun = RungeKutta([[0, 0], [1, 0]], [sympy.Rational(1, 2), sympy.Rational(1, 2)], name="heun")
    >>> heun.c, heun.order_of_accuracy()
    ((0, 1), 2)

    Parameters
    ----------
    A, b, c
        The Butcher tableau. Entries are made exact SymPy numbers; ``c`` defaults to
        the row sums of ``A`` and, when given, must equal them.
    name
        A label used in printing.
    rationalize_floats
        Floats are rejected unless this is True, in which case each is replaced by
        the simplest rational that equals it (``sympy.nsimplify``).
    """

    __slots__ = ("A", "_fastA", "_fastb", "_ring", "_weights", "b", "c", "name")

    A: tuple[tuple[sympy.Expr, ...], ...]
    b: tuple[sympy.Expr, ...]
    c: tuple[sympy.Expr, ...]
    name: str
    _ring: Ring
    _fastA: tuple[tuple[Any, ...], ...]
    _fastb: tuple[Any, ...]
    _weights: dict[int, tuple[Any, ...]]

    def __init__(
        self,
        A: object,
        b: object,
        c: object | None = None,
        *,
        name: str = "RungeKutta",
        rationalize_floats: bool = False,
    ) -> None:
        rows = _as_rows(A)
        s = len(rows)
        if s == 0:
            raise InvalidTableauError("A must have at least one stage")
        for i, row in enumerate(rows):
            if len(row) != s:
                raise InvalidTableauError(f"A must be square: row {i} has {len(row)} entries, A has {s} rows")
        exact_A = tuple(
            tuple(_exact(x, f"A[{i}][{j}]", rationalize_floats) for j, x in enumerate(row))
            for i, row in enumerate(rows)
        )
        bs = _as_vector(b, "b")
        if len(bs) != s:
            raise InvalidTableauError(f"b has {len(bs)} entries but A has {s} stages")
        exact_b = tuple(_exact(x, f"b[{i}]", rationalize_floats) for i, x in enumerate(bs))
        row_sums = tuple(sum(row, sympy.Integer(0)) for row in exact_A)  # exact entries: an exact sum
        if c is None:
            exact_c = row_sums
        else:
            cs = _as_vector(c, "c")
            if len(cs) != s:
                raise InvalidTableauError(f"c has {len(cs)} entries but A has {s} stages")
            exact_c = tuple(_exact(x, f"c[{i}]", rationalize_floats) for i, x in enumerate(cs))
            for i in range(s):
                if sympy.simplify(exact_c[i] - row_sums[i]) != 0:
                    raise InvalidTableauError(
                        f"c[{i}] = {exact_c[i]} differs from the row sum of A, {row_sums[i]}"
                    )
        total = sympy.simplify(sum(exact_b, sympy.Integer(0)))
        if total != 1:
            raise InvalidTableauError(f"inconsistent method: the weights b sum to {total}, not 1")
        if not isinstance(name, str):
            raise BeaTypeError(f"name must be a string, got {name!r}")
        set_ = object.__setattr__
        set_(self, "A", exact_A)
        set_(self, "b", exact_b)
        set_(self, "c", exact_c)
        set_(self, "name", name)
        ring = Ring.for_values([*(x for r in exact_A for x in r), *exact_b])
        set_(self, "_ring", ring)
        set_(self, "_fastA", tuple(tuple(ring.convert(x) for x in row) for row in exact_A))
        set_(self, "_fastb", tuple(ring.convert(x) for x in exact_b))
        set_(self, "_weights", {})

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("RungeKutta is immutable")

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # Rebuilt through the constructor (validated again); the elementary-weight cache is not pickled.
        return (_rebuild, (self.A, self.b, self.c, self.name))

    def __copy__(self) -> RungeKutta:
        return self  # immutable

    def __deepcopy__(self, memo: dict[int, Any]) -> RungeKutta:
        return self  # immutable

    def __delattr__(self, name: str) -> None:
        raise AttributeError("RungeKutta is immutable")

    @property
    def stages(self) -> int:
        """The number of stages s."""
        return len(self.b)

    @property
    def is_explicit(self) -> bool:
        """True when A is strictly lower triangular."""
        return all(self.A[i][j] == 0 for i in range(self.stages) for j in range(i, self.stages))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RungeKutta):
            return NotImplemented
        return (self.A, self.b, self.c) == (other.A, other.b, other.c)

    def __hash__(self) -> int:
        return hash((self.A, self.b, self.c))

    def __repr__(self) -> str:
        return f"RungeKutta(A={[list(r) for r in self.A]}, b={list(self.b)}, name={self.name!r})"


    def bseries(self, order: int) -> BSeries:
        """The map B-series of the method: :math:`a(\\tau) = \\Phi(\\tau)`, for trees with at most ``order`` nodes.

        For a tableau (A, b, c) the elementary weight is
        :math:`\\Phi(\\tau) = \\sum_i b_i \\Phi_i(\\tau)` with :math:`\\Phi_i(\\bullet) = 1` and
        :math:`\\Phi_i([\\tau_1..\\tau_k]) = \\prod_j \\sum_l a_{il}\\Phi_l(\\tau_j)`, so one step is
        :math:`y + \\sum_\\tau h^{|\\tau|} \\frac{\\Phi(\\tau)}{\\sigma(\\tau)} F(\\tau)(y)`
        (Hairer--Lubich--Wanner, Theorem III.1.4).

        >>> from bea import methods
        >>> print(methods.heun.bseries(2))
        1 + h f + 1/2 h² f'f
        """
        check_tree_order(order)
        ring: Ring = self._ring
        coeffs = {
            t: ring.back(self._elementary_weight(t))
            for n in range(1, order + 1)
            for t in _table.trees_of_order(n)
        }
        return BSeries.from_ids(coeffs, order, sympy.Integer(1))

    def modified_terms(
        self, problem: Problem, truncation: int, h: sympy.Symbol
    ) -> tuple[sympy.ImmutableMatrix, ...]:
        """The modified field on ``problem.field`` through :math:`h^{\\text{truncation}}`, by the tree route
        (:func:`bea.methods.base.bseries_modified_terms`); ``h`` is not needed (the terms are the
        coefficients of its powers)."""
        return bseries_modified_terms(self, problem, truncation)

    def _stage_weights(self, t: int) -> tuple[Any, ...]:
        """The vector :math:`g(\\tau)` of stage weights, in the method's ring."""
        cache: dict[int, tuple[Any, ...]] = self._weights
        found = cache.get(t)
        if found is not None:
            return found
        ring: Ring = self._ring
        s = self.stages
        A = self._fastA
        g = [ring.integer(1)] * s
        for child in _table.children(t):
            gc = self._stage_weights(child)
            g = [ring.normal(g[i] * sum((A[i][j] * gc[j] for j in range(s)), ring.integer(0))) for i in range(s)]
        result = tuple(g)
        cache[t] = result
        return result

    def _elementary_weight(self, t: int) -> Any:
        ring: Ring = self._ring
        g = self._stage_weights(t)
        return ring.normal(sum((self._fastb[i] * g[i] for i in range(self.stages)), ring.integer(0)))

    def elementary_weight(self, tree: Tree) -> sympy.Expr:
        """:math:`\\Phi(\\tau) = b^T g(\\tau)`, the method's B-series coefficient of ``tree``.

        >>> from bea import Tree, methods
        >>> methods.explicit_midpoint.elementary_weight(Tree.from_levels([1, 2, 2]))  # exact flow: 1/3
        1/4
        """
        if not isinstance(tree, Tree):
            raise BeaTypeError(f"elementary_weight needs a Tree, got {tree!r}")
        return self._ring.back(self._elementary_weight(tree._id))

    def order_of_accuracy(self) -> int:
        """The largest p with :math:`\\Phi(\\tau) = 1/\\gamma(\\tau)` for all :math:`|\\tau| \\le p`.

        An s-stage method has order at most 2s, which bounds the search.

        >>> from bea import methods
        >>> [m.order_of_accuracy() for m in (methods.explicit_euler, methods.heun, methods.rk4,
        ...                                  methods.gauss_legendre_2)]
        [1, 2, 4, 4]
        """
        ring: Ring = self._ring
        for p in range(1, 2 * self.stages + 2):
            for t in _table.trees_of_order(p):
                diff = self._ring.back(self._elementary_weight(t) - ring.fraction(1, _table.density(t)))
                if diff != 0 and sympy.simplify(diff) != 0:
                    return p - 1
        raise AssertionError("unreachable: no Runge-Kutta method exceeds order 2s")  # pragma: no cover


def _rebuild(A: Any, b: Any, c: Any, name: str) -> RungeKutta:
    return RungeKutta(A, b, c, name=name)
