r"""B-series: mappings from rooted trees to exact coefficients, and their algebra.

Normalisation (as BSeries.jl and Hairer--Lubich--Wanner, chapter III.1 and IX.9):

* a *map* series ``a`` (``a[∅] = 1``) stands for
  :math:`B(a, y) = y + \sum_\tau h^{|\tau|} \frac{a(\tau)}{\sigma(\tau)} F(\tau)(y)`;
* a *vector-field* series ``b`` (``b[∅] = 0``) stands for
  :math:`f_h(y) = \sum_\tau h^{|\tau|-1} \frac{b(\tau)}{\sigma(\tau)} F(\tau)(y)`.

A series *of order N* holds a coefficient for every tree with at most N nodes
(missing trees default to 0).

>>> from bea import methods
>>> a = bseries(methods.explicit_euler, 3)
>>> a.is_map, a.order, a[Tree.leaf()]
(True, 3, 1)
>>> print(exact_solution(3))
1 + h f + 1/2 h² f'f + 1/6 h³ f'f'f + 1/6 h³ f''(f, f)
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, final

import sympy

from bea import _partitions, _table, drawing
from bea._arith import Ring
from bea._checks import check_finite
from bea._text import signed_text, superscript
from bea.errors import BeaTypeError, SeriesError
from bea.methods.rungekutta import RungeKutta
from bea.trees import Tree, _check_order

__all__ = ["BSeries", "bseries", "compose", "exact_solution", "substitute"]


def _coefficient(value: object, where: str) -> sympy.Expr:
    if isinstance(value, (float, str, bytes)) or value is None:
        raise BeaTypeError(f"coefficient of {where} must be an exact SymPy value, got {value!r}")
    expr = sympy.sympify(value)
    if not isinstance(expr, sympy.Expr):
        raise BeaTypeError(f"coefficient of {where} must be a SymPy expression, got {value!r}")
    if expr.atoms(sympy.Float):
        raise BeaTypeError(f"coefficient of {where} is {expr}, which holds a float; bea is exact")
    check_finite(expr, f"the coefficient of {where}", SeriesError)
    return expr


@final
class BSeries(Mapping[Tree, sympy.Expr]):
    """An immutable B-series of a given order: a coefficient for every tree up to it.

    >>> from bea import Tree
    >>> print(BSeries({Tree.leaf(): 1, Tree.from_levels([1, 2]): sympy.Rational(-1, 2)}, 2))
    f - 1/2 h f'f

    Parameters
    ----------
    coefficients
        Mapping from :class:`Tree` to exact values; trees that are absent get 0.
    order
        The series holds every tree with at most ``order`` nodes.
    empty
        The coefficient of the empty tree: 1 for a map series, 0 for a field series.
    """

    __slots__ = ("_coeffs", "_empty", "_order")

    _coeffs: dict[int, Any]
    _order: int
    _empty: sympy.Expr

    def __init__(self, coefficients: Mapping[Tree, object], order: int, empty: object = 0) -> None:
        order = _check_order(order)
        if not isinstance(coefficients, Mapping):
            raise BeaTypeError(f"coefficients must be a mapping from Tree to values, got {coefficients!r}")
        coeffs: dict[int, sympy.Expr] = {}
        for tree, value in coefficients.items():
            if not isinstance(tree, Tree):
                raise BeaTypeError(f"B-series keys must be Trees, got {tree!r}")
            if tree.order > order:
                raise SeriesError(f"tree {tree} has {tree.order} nodes, more than the series order {order}")
            coeffs[tree._id] = _coefficient(value, str(tree))
        zero = sympy.Integer(0)
        full = {t: coeffs.get(t, zero) for n in range(1, order + 1) for t in _table.trees_of_order(n)}
        self._init(full, order, _coefficient(empty, "the empty tree"))

    def _init(self, coeffs: dict[int, sympy.Expr], order: int, empty: sympy.Expr) -> None:
        object.__setattr__(self, "_coeffs", coeffs)
        object.__setattr__(self, "_order", int(order))
        object.__setattr__(self, "_empty", empty)

    @classmethod
    def _from_ids(cls, coeffs: dict[int, sympy.Expr], order: int, empty: sympy.Expr) -> BSeries:
        series = object.__new__(cls)
        series._init(coeffs, order, empty)
        return series

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("BSeries is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("BSeries is immutable")

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # Tree ids are private to a process: pickle level sequences, rebuild through the constructor.
        items = [(_table.levels(t), v) for t, v in self._coeffs.items()]
        return (_rebuild, (items, self._order, self._empty))

    def __copy__(self) -> BSeries:
        return self  # immutable

    def __deepcopy__(self, memo: dict[int, Any]) -> BSeries:
        return self  # immutable

    # --- Mapping protocol -------------------------------------------------
    def __getitem__(self, tree: Tree) -> sympy.Expr:
        if not isinstance(tree, Tree):
            raise KeyError(tree)
        if tree.order > self._order:
            raise KeyError(f"{tree} has {tree.order} nodes; this series has order {self._order}")
        return self._coeffs[tree._id]

    def __iter__(self) -> Iterator[Tree]:
        for t in self._coeffs:
            yield Tree._from_id(t)

    def __len__(self) -> int:
        return len(self._coeffs)

    # --- properties -------------------------------------------------------
    @property
    def order(self) -> int:
        """The largest number of nodes of the trees this series holds."""
        return self._order

    @property
    def empty(self) -> sympy.Expr:
        """The coefficient of the empty tree."""
        return self._empty

    @property
    def is_map(self) -> bool:
        """True for a map (integrator) series, whose empty-tree coefficient is 1."""
        return bool(self._empty == 1)

    @property
    def is_vector_field(self) -> bool:
        """True for a vector-field series, whose empty-tree coefficient is 0."""
        return bool(self._empty == 0)

    # --- algebra ------------------------------------------------------------
    def truncate(self, order: int) -> BSeries:
        """The same series keeping only the trees with at most ``order`` nodes."""
        order = _check_order(order)
        if order > self._order:
            raise SeriesError(f"cannot truncate a series of order {self._order} to the higher order {order}")
        kept = {t: v for t, v in self._coeffs.items() if _table.order(t) <= order}
        return BSeries._from_ids(kept, order, self._empty)

    def __add__(self, other: object) -> BSeries:
        if not isinstance(other, BSeries):
            return NotImplemented
        order = min(self._order, other._order)
        coeffs = {
            t: self._coeffs[t] + other._coeffs[t] for t in self._coeffs if _table.order(t) <= order
        }
        return BSeries._from_ids(coeffs, order, self._empty + other._empty)

    def __neg__(self) -> BSeries:
        return self * -1

    def __sub__(self, other: object) -> BSeries:
        if not isinstance(other, BSeries):
            return NotImplemented
        return self + (-other)

    def __mul__(self, scalar: object) -> BSeries:
        if isinstance(scalar, BSeries):
            raise SeriesError("the product of two B-series is ambiguous; use compose or substitute")
        try:
            factor = _coefficient(scalar, "a scalar factor")
        except BeaTypeError:
            return NotImplemented
        return BSeries._from_ids(
            {t: v * factor for t, v in self._coeffs.items()}, self._order, self._empty * factor
        )

    __rmul__ = __mul__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BSeries):
            return NotImplemented
        if self._order != other._order or sympy.simplify(self._empty - other._empty) != 0:
            return False
        return all(
            v == other._coeffs[t] or sympy.simplify(v - other._coeffs[t]) == 0
            for t, v in self._coeffs.items()
        )

    __hash__ = None  # type: ignore[assignment]

    # --- output ---------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description (documented in ``docs/conventions.md``)."""
        return {
            "kind": "map" if self.is_map else "vector_field" if self.is_vector_field else "other",
            "order": self._order,
            "empty": str(self._empty),
            "coefficients": [
                {
                    "levels": list(_table.levels(t)),
                    "tree": str(Tree._from_id(t)),
                    "order": _table.order(t),
                    "symmetry": _table.symmetry(t),
                    "density": _table.density(t),
                    "elementary_differential": Tree._from_id(t).elementary_differential,
                    "coefficient": str(v),
                }
                for t, v in self._coeffs.items()
            ],
        }

    def _terms(self) -> list[tuple[sympy.Expr, int, Tree]]:
        shift = 1 if self.is_vector_field else 0
        return [
            (v / _table.symmetry(t), _table.order(t) - shift, Tree._from_id(t))
            for t, v in self._coeffs.items()
            if v != 0
        ]

    def __str__(self) -> str:
        """Text ``c h^k F(τ) ± ...`` (c = b(τ)/σ(τ)): a sum is parenthesised whole, the sign taken
        out only where SymPy can take it out of the whole coefficient, so the text parses back."""
        parts: list[str] = [] if self._empty == 0 else [signed_text(self._empty, "", first=True)]
        for coef, power, tree in self._terms():
            h = "" if power == 0 else "h" if power == 1 else f"h{superscript(power)}"
            body = " ".join(x for x in (h, tree.elementary_differential) if x)
            parts.append(signed_text(coef, body, first=not parts))
        return " ".join(parts) if parts else "0"

    def __repr__(self) -> str:
        kind = "map" if self.is_map else "vector field" if self.is_vector_field else f"empty={self._empty}"
        return f"<BSeries ({kind}) of order {self._order}: {self}>"

    def _sympystr(self, printer: Any) -> str:
        return str(self)

    def _latex(self, printer: Any = None) -> str:
        r"""The series as :math:`\sum_\tau c\, h^k F(\tau)` with :math:`c = b(\tau)/\sigma(\tau)`,
        in increasing powers of h (the hook behind ``sympy.latex(series)``).

        >>> import sympy
        >>> from bea import methods
        >>> sympy.latex(bseries(methods.explicit_euler, 2))
        '1 + h F\\left(\\bullet\\right)'
        """
        parts: list[str] = [] if self._empty == 0 else [signed_text(self._empty, "", first=True, latex=True)]
        for coef, power, tree in self._terms():
            h = "" if power == 0 else "h" if power == 1 else f"h^{{{power}}}"
            body = " ".join(x for x in (h, rf"F\left({tree._latex()}\right)") if x)
            parts.append(signed_text(coef, body, first=not parts, latex=True))
        return " ".join(parts) if parts else "0"

    def _repr_latex_(self) -> str:
        return f"${self._latex()}$"

    def table(self) -> drawing.TreeTable:
        """The coefficients tree by tree, with pictures of the trees (HTML in Jupyter, text in ``print``).

        >>> from bea import methods
        >>> print(bseries(methods.explicit_midpoint, 3).table())
        levels     sigma  gamma  tree   F(tree)    coefficient
        [1]            1      1  •      f          1
        [1, 2]         1      2  [•]    f'f        1/2
        [1, 2, 3]      1      6  [[•]]  f'f'f      0
        [1, 2, 2]      2      3  [•²]   f''(f, f)  1/4
        """
        items = list(self)
        return drawing.tree_table(items, coefficient=[self[t] for t in items])



def bseries(method: RungeKutta, order: int) -> BSeries:
    """The map B-series of a Runge--Kutta method: :math:`a(\\tau) = \\Phi(\\tau)`.

    For a tableau (A, b, c) the elementary weight is
    :math:`\\Phi(\\tau) = \\sum_i b_i \\Phi_i(\\tau)` with :math:`\\Phi_i(\\bullet) = 1` and
    :math:`\\Phi_i([\\tau_1..\\tau_k]) = \\prod_j \\sum_l a_{il}\\Phi_l(\\tau_j)`, so one step is
    :math:`y + \\sum_\\tau h^{|\\tau|} \\frac{\\Phi(\\tau)}{\\sigma(\\tau)} F(\\tau)(y)`
    (Hairer--Lubich--Wanner, Theorem III.1.4). The method has order p iff
    :math:`\\Phi(\\tau) = 1/\\gamma(\\tau)` for every tree with at most p nodes.

    >>> from bea import methods
    >>> print(bseries(methods.explicit_euler, 3))
    1 + h f
    >>> print(bseries(methods.rk4, 3) - exact_solution(3))
    0
    """
    if not isinstance(method, RungeKutta):
        raise BeaTypeError(f"bseries needs a RungeKutta method, got {method!r}")
    order = _check_order(order)
    ring: Ring = method._ring
    coeffs = {
        t: ring.back(method._elementary_weight(t))
        for n in range(1, order + 1)
        for t in _table.trees_of_order(n)
    }
    return BSeries._from_ids(coeffs, order, sympy.Integer(1))


def exact_solution(order: int) -> BSeries:
    """The B-series of the exact flow, :math:`e(\\tau) = 1/\\gamma(\\tau)`.

    The Taylor series of the exact solution of :math:`y' = f(y)`:
    :math:`y(h) = y + \\sum_\\tau \\frac{h^{|\\tau|}}{\\gamma(\\tau)\\sigma(\\tau)} F(\\tau)(y)`.

    >>> print(exact_solution(3))
    1 + h f + 1/2 h² f'f + 1/6 h³ f'f'f + 1/6 h³ f''(f, f)
    """
    order = _check_order(order)
    coeffs = {
        t: sympy.Rational(1, _table.density(t)) for n in range(1, order + 1) for t in _table.trees_of_order(n)
    }
    return BSeries._from_ids(coeffs, order, sympy.Integer(1))


def _common_order(*series: BSeries) -> int:
    for s in series:
        if not isinstance(s, BSeries):
            raise BeaTypeError(f"expected a BSeries, got {s!r}")
    return min(s.order for s in series)


def compose(a: BSeries, b: BSeries) -> BSeries:
    """The series of the map "first a, then b": :math:`B(b, B(a, y)) = B(a \\cdot b, y)`.

    :math:`(a\\cdot b)(\\tau) = b(\\emptyset)a(\\tau) + \\sum_{s} b(s) \\prod_{u \\in \\tau\\setminus s} a(u)`,
    the sum over the non-empty subtrees s containing the root (HLW Theorem III.1.10).
    ``a`` must be a map series; the result has the smaller of the two orders.

    Two steps of size h of the exact flow are one step of size 2h, coefficient
    :math:`2^{|\\tau|}/\\gamma(\\tau)`:

    >>> e = exact_solution(3)
    >>> [str(v) for v in compose(e, e).values()]
    ['2', '2', '4/3', '8/3']
    """
    order = _common_order(a, b)
    if not a.is_map:
        raise SeriesError(f"compose(a, b) needs a map series a (a[∅] = 1), got a[∅] = {a.empty}")
    coeffs: dict[int, sympy.Expr] = {}
    for n in range(1, order + 1):
        for t in _table.trees_of_order(n):
            total = b._empty * a._coeffs[t]
            for s, forest, m in _partitions.root_subtrees(t):
                term = m * b._coeffs[s]
                for u in forest:
                    term *= a._coeffs[u]
                total += term
            coeffs[t] = sympy.expand(total)
    return BSeries._from_ids(coeffs, order, b._empty)


def substitute(b: BSeries, a: BSeries) -> BSeries:
    """Substitute the field series b for the vector field in the series a.

    :math:`B(a, y)` with f replaced by :math:`f_h = B(b)`; coefficient-wise
    :math:`(b \\star a)(\\tau) = \\sum_{p} a(\\mathrm{skeleton}(p)) \\prod_{u \\in p} b(u)`,
    the sum over all partitions of :math:`\\tau` obtained by cutting edges
    (Chartier--Hairer--Vilmart 2010, section 3.2). So
    ``substitute(modified_equation(a), exact_solution(N)) == a``.

    >>> from bea import bseries, exact_solution, methods, modified_equation, substitute
    >>> a = bseries(methods.explicit_midpoint, 4)
    >>> substitute(modified_equation(a, 4), exact_solution(4)) == a
    True
    """
    order = _common_order(a, b)
    if not b.is_vector_field:
        raise SeriesError(f"substitute(b, a) needs a vector-field series b (b[∅] = 0), got b[∅] = {b.empty}")
    coeffs: dict[int, sympy.Expr] = {}
    for n in range(1, order + 1):
        for t in _table.trees_of_order(n):
            total = sympy.Integer(0)
            for skeleton, pieces, m in _partitions.partitions(t):
                term = m * a._coeffs[skeleton]
                for u in pieces:
                    term *= b._coeffs[u]
                total += term
            coeffs[t] = sympy.expand(total)
    return BSeries._from_ids(coeffs, order, a._empty)


def _rebuild(items: list[tuple[tuple[int, ...], sympy.Expr]], order: int, empty: sympy.Expr) -> BSeries:
    return BSeries({Tree.from_levels(levels): v for levels, v in items}, order, empty)
