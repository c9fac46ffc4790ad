r"""Elementary differentials of a concrete SymPy vector field, and field series on it.

For :math:`y' = f(y)` with :math:`y \in \mathbb R^m`:

.. math::
    F(\bullet) = f, \qquad
    F([\tau_1, \dots, \tau_k])^i = \sum_{j_1..j_k}
      \frac{\partial^k f^i}{\partial y_{j_1} \cdots \partial y_{j_k}}
      F(\tau_1)^{j_1} \cdots F(\tau_k)^{j_k}

(Hairer--Lubich--Wanner, Definition III.1.2). A vector-field series b then gives
:math:`f_h = \sum_\tau h^{|\tau|-1} \frac{b(\tau)}{\sigma(\tau)} F(\tau)`.

>>> import sympy
>>> from bea import methods, Tree
>>> y = sympy.symbols("y")
>>> f = sympy.Matrix([y**2])
>>> elementary_differential(Tree.from_levels([1, 2]), f, [y])
Matrix([[2*y**3]])
>>> h = sympy.Symbol("h")
>>> from bea import modified_equation
>>> evaluate_field_series(modified_equation(methods.explicit_euler, 3), f, [y], h)
Matrix([[3*h**2*y**4/2 - h*y**3 + y**2]])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, final

import sympy

from bea import _table
from bea._checks import check_finite
from bea._closure import DifferentialRing
from bea._text import count
from bea.errors import BeaTypeError, BeaValueError, SeriesError
from bea.series import BSeries
from bea.trees import Tree

__all__ = [
    "ElementaryDifferentials",
    "elementary_differential",
    "evaluate_field_series",
    "field_series_terms",
    "polynomial_ring",
]


def _column(f: object, name: str = "f") -> sympy.Matrix:
    if isinstance(f, sympy.MatrixBase):
        if f.cols != 1:
            raise BeaValueError(f"{name} must be a column vector, got shape {f.shape}")
        return sympy.Matrix(f)
    if isinstance(f, (list, tuple)):
        return sympy.Matrix([sympy.sympify(x) for x in f])
    raise BeaTypeError(f"{name} must be a SymPy column Matrix or a list of expressions, got {f!r}")


def _symbols(y: object) -> tuple[sympy.Symbol, ...]:
    if isinstance(y, sympy.Symbol):
        return (y,)
    if isinstance(y, sympy.MatrixBase):
        y = list(y)
    if not isinstance(y, Sequence) or isinstance(y, (str, bytes)):
        raise BeaTypeError(f"y must be a sequence of SymPy symbols, got {y!r}")
    out = tuple(y)
    for s in out:
        if not isinstance(s, sympy.Symbol):
            raise BeaTypeError(f"state variables must be SymPy symbols, got {s!r}")
    if len(set(out)) != len(out):
        raise BeaValueError(f"state variables must be distinct, got {list(out)}")
    return out


def polynomial_ring(exprs: Sequence[sympy.Expr], y: Sequence[sympy.Symbol]) -> Any:
    """A sparse polynomial ring over QQ holding ``exprs``, with generators ``y`` first, or None.

    The other generators are what SymPy's polynomial conversion finds besides ``y``: data
    symbols, irrational constants (pi, E, sqrt(2), exp(1/3)) and functions of the data. None
    when some expression is not a polynomial in ``y`` over such generators with rational
    coefficients (a float gives the domain RR; a generator that involves ``y``, such as
    ``exp(y)`` or ``sqrt(y)``, is not polynomial in ``y``).

    >>> import sympy
    >>> u, v = sympy.symbols("u v")
    >>> [str(g) for g in polynomial_ring([sympy.sqrt(2) * v, sympy.pi * u], [u, v]).symbols]
    ['u', 'v', 'sqrt(2)', 'pi']
    """
    exprs = [sympy.sympify(e) for e in exprs]
    if not all(e.is_polynomial(*y) for e in exprs):
        return None
    try:
        _, options = sympy.parallel_poly_from_expr(exprs)
    except sympy.PolynomialError:  # e.g. no generators at all: constants only
        options = None
    found = tuple(options.gens) if options is not None else ()
    if options is not None and options.domain not in (sympy.ZZ, sympy.QQ):
        return None
    others = [g for g in found if g not in y]
    if any(g.free_symbols & set(y) for g in others):
        return None
    ring_, *_ = sympy.polys.rings.ring([*y, *sorted(others, key=sympy.default_sort_key)], sympy.QQ)
    try:
        for e in exprs:
            ring_.from_expr(e)
    except (ValueError, sympy.polys.polyerrors.CoercionFailed):
        return None
    return ring_


@final
class ElementaryDifferentials:
    """The elementary differentials F(τ) of one field, memoised over trees.

    Derivative tensors of f are cached by sorted multi-index, so each partial
    derivative is taken once however many trees use it. When every component of
    f is a polynomial in the state variables (coefficients may hold other
    symbols, irrational constants such as :math:`\\pi, e, \\sqrt2, e^{1/3}`, and any
    subexpression free of the state variables), the work is done in a sparse polynomial
    ring over QQ whose extra generators are those symbols and constants, which is several
    times faster than expanding expressions; results are the same exact values (the
    generators are put back before expanding, so :math:`\\sqrt2^2` becomes 2). A field built
    from exp, log, sin, cos, sinh, cosh, tanh and rational powers of the state (so sigmoid and
    softplus) works in the same kind of ring, each function one more generator with its
    derivative rule (:class:`bea._closure.DifferentialRing`). Anything else (floats, Abs, Max,
    erf) takes the generic SymPy route.

    For the harmonic oscillator :math:`f(u, v) = (v, -u)`: :math:`f'f = -(u, v)`, and
    :math:`f'' = 0` kills every tree with a branching node:

    >>> import sympy
    >>> from bea import Tree
    >>> u, v = sympy.symbols("u v")
    >>> F = ElementaryDifferentials([v, -u], [u, v])
    >>> F(Tree.from_levels([1, 2])).T, F(Tree.from_levels([1, 2, 2])).T
    (Matrix([[-u, -v]]), Matrix([[0, 0]]))

    Reference: Hairer--Lubich--Wanner, *Geometric Numerical Integration*, 2nd ed., Definition III.1.2.
    """

    __slots__ = ("_cache", "_closure", "_derivs", "_poly", "_zero", "f", "y")

    def __init__(self, f: object, y: object) -> None:
        self.f = _column(f)
        self.y = _symbols(y)
        if self.f.rows != len(self.y):
            raise BeaValueError(f"f has {count(self.f.rows, 'component')} but there are "
                                f"{count(len(self.y), 'state variable')}")
        for i, e in enumerate(self.f):
            check_finite(e, f"component {i} of f")
        base: list[Any] = list(self.f)
        self._poly: Any = polynomial_ring(base, self.y)
        self._closure: DifferentialRing | None = None
        if self._poly is not None:
            base = [self._poly.from_expr(e) for e in base]
        else:
            self._closure = DifferentialRing.for_exprs(base, self.y)
            if self._closure is not None:
                self._poly = self._closure.ring
                base = [self._closure.convert(e) for e in base]
        self._derivs: dict[tuple[int, ...], list[Any]] = {(): base}
        self._cache: dict[int, list[Any]] = {}
        self._zero: dict[tuple[int, ...], bool] = {}

    def _derivative(self, index: tuple[int, ...]) -> list[Any]:
        found = self._derivs.get(index)
        if found is None:
            closure = self._closure
            var: Any = self.y[index[-1]]
            if closure is not None:
                found = [closure.diff(p, index[-1]) for p in self._derivative(index[:-1])]
                self._derivs[index] = found
                return found
            if self._poly is not None:
                var = self._poly.gens[index[-1]]
            found = [p.diff(var) for p in self._derivative(index[:-1])]
            self._derivs[index] = found
        return found

    def __call__(self, tree: Tree) -> sympy.Matrix:
        if not isinstance(tree, Tree):
            raise BeaTypeError(f"expected a Tree, got {tree!r}")
        return self._matrix(tree._id)

    def _matrix(self, t: int) -> sympy.Matrix:
        return sympy.Matrix([self._expr(p) for p in self._of(t)])

    def _expr(self, value: Any) -> sympy.Expr:
        if self._poly is not None:
            return value.as_expr()
        return value

    def _is_zero(self, index: tuple[int, ...]) -> bool:
        found = self._zero.get(index)
        if found is None:
            found = all(not d for d in self._derivative(index))
            self._zero[index] = found
        return found

    def _of(self, t: int) -> list[Any]:
        found = self._cache.get(t)
        if found is not None:
            return found
        kids = [self._of(c) for c in _table.children(t)]
        m = len(self.y)
        result: list[Any] = [0] * m

        # Depth-first over the indices j_1, j_2, ... of the children, pruned where the partial
        # derivative of f is identically zero (then so are all its further derivatives) or the
        # child's component vanishes: a polynomial field of degree d never goes past depth d.
        def visit(depth: int, index: tuple[int, ...], weight: Any) -> None:
            if self._is_zero(index):
                return
            if depth == len(kids):
                deriv = self._derivative(index)
                for i in range(m):
                    result[i] = result[i] + deriv[i] * weight
                return
            child = kids[depth]
            for j in range(m):
                if child[j]:
                    visit(depth + 1, tuple(sorted((*index, j))), child[j] * weight)

        visit(0, (), 1)
        result = [self._poly(r) for r in result] if self._poly is not None else [sympy.expand(r) for r in result]
        self._cache[t] = result
        return result


def elementary_differential(tree: Tree, f: object, y: object) -> sympy.Matrix:
    """:math:`F(\\tau)(y)` for the field ``f`` (a SymPy column) in the state symbols ``y``.

    For :math:`f = y^2`: :math:`F([\\bullet^2]) = f''(f, f) = 2 \\cdot y^2 \\cdot y^2`.

    >>> import sympy
    >>> from bea import Tree
    >>> y = sympy.Symbol("y")
    >>> elementary_differential(Tree.from_levels([1, 2, 2]), [y**2], [y])
    Matrix([[2*y**4]])

    Reference: Hairer--Lubich--Wanner, Definition III.1.2.
    """
    return ElementaryDifferentials(f, y)(tree)


def field_series_terms(series: BSeries, f: object, y: object) -> list[sympy.Matrix]:
    """The coefficients of :math:`h^0, h^1, \\dots, h^{N-1}` of a field series on ``f``.

    Term k is :math:`\\sum_{|\\tau| = k+1} \\frac{b(\\tau)}{\\sigma(\\tau)} F(\\tau)`. Explicit Euler
    on :math:`y' = \\lambda y` gives the Taylor coefficients of :math:`\\log(1 + h\\lambda)\\,y/h`:

    >>> import sympy
    >>> from bea import methods, modified_equation
    >>> y, lam = sympy.symbols("y lambda")
    >>> field_series_terms(modified_equation(methods.explicit_euler, 4), [lam * y], [y])
    [Matrix([[lambda*y]]), Matrix([[-lambda**2*y/2]]), Matrix([[lambda**3*y/3]]), Matrix([[-lambda**4*y/4]])]

    Reference: Hairer--Lubich--Wanner, section IX.9.
    """
    if not isinstance(series, BSeries):
        raise BeaTypeError(f"expected a BSeries, got {series!r}")
    if not series.is_vector_field:
        raise SeriesError(f"expected a vector-field series (0 on the empty tree), got {series.empty}")
    diffs = f if isinstance(f, ElementaryDifferentials) else ElementaryDifferentials(f, y)
    terms = []
    for n in range(1, series.order + 1):
        total: list[Any] = [0] * len(diffs.y)
        symbolic: list[Any] = [sympy.Integer(0)] * len(diffs.y)  # non-rational coefficients
        for t in _table.trees_of_order(n):
            coef = series._coeffs[t]
            if coef == 0:
                continue
            scale = coef / _table.symmetry(t)
            for i, value in enumerate(diffs._of(t)):
                if diffs._poly is None:
                    total[i] = total[i] + value * scale
                elif isinstance(scale, sympy.Rational):
                    total[i] = total[i] + value * diffs._poly.domain.from_sympy(scale)
                else:
                    symbolic[i] = symbolic[i] + diffs._expr(value) * scale
        if diffs._poly is not None:
            total = [diffs._expr(diffs._poly(v)) for v in total]
        if diffs._closure is not None and not any(symbolic):
            # already a sum of monomials in the state and the generators; SymPy's expand of it would
            # rewrite every power of 1/(1 + exp(...)) at great cost (96% of the time) for no gain
            terms.append(sympy.Matrix(total))
            continue
        terms.append(sympy.Matrix([sympy.expand(v + w) for v, w in zip(total, symbolic, strict=True)]))
    return terms


def evaluate_field_series(series: BSeries, f: object, y: object, h: sympy.Symbol) -> sympy.Matrix:
    """:math:`\\sum_\\tau h^{|\\tau|-1} \\frac{b(\\tau)}{\\sigma(\\tau)} F(\\tau)` as a Matrix, collected in h.

    >>> import sympy
    >>> from bea import methods, modified_equation
    >>> y, lam, h = sympy.symbols("y lambda h")
    >>> evaluate_field_series(modified_equation(methods.explicit_euler, 3), [lam * y], [y], h)
    Matrix([[h**2*lambda**3*y/3 - h*lambda**2*y/2 + lambda*y]])

    Reference: Hairer--Lubich--Wanner, section IX.9.
    """
    if not isinstance(h, sympy.Symbol):
        raise BeaTypeError(f"h must be a SymPy symbol, got {h!r}")
    terms = field_series_terms(series, f, y)
    total = sympy.zeros(terms[0].rows, 1)
    for k, term in enumerate(terms):
        total += term * h**k
    return total.applyfunc(lambda e: sympy.collect(sympy.expand(e), h))
