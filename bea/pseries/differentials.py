r"""Elementary differentials of bicoloured trees on concrete SymPy fields, and modified fields.

**Partitioned** :math:`q' = f(q, p),\ p' = g(q, p)` (q of dimension m, p of dimension n): for
:math:`\tau = [\tau_1, \dots, \tau_k]_c`,

.. math::
    F(\tau)^i = \sum_{j_1..j_k} \frac{\partial^k \varphi^i}{\partial x^{c_1}_{j_1} \cdots \partial x^{c_k}_{j_k}}
    F(\tau_1)^{j_1} \cdots F(\tau_k)^{j_k},

with :math:`\varphi = f` if c = 0 and g if c = 1, and :math:`x^{c_m}` = q when the child
:math:`\tau_m` has root colour 0, p when 1 (Hairer--Lubich--Wanner, Definition III.2.1). F of a
colour-0 tree has m components, of a colour-1 tree n.

**Additive** :math:`y' = f_1(y) + f_2(y)`: the same with :math:`\varphi = f_1, f_2` and every
derivative taken with respect to y (Araújo--Murua--Sanz-Serna 1997).

>>> import sympy
>>> from bea import methods
>>> q, p, h = sympy.symbols("q p h")
>>> f, g = sympy.Matrix([p]), sympy.Matrix([-sympy.sin(q)])   # the pendulum, H = p²/2 - cos q
>>> ft, gt = modified_vector_field(methods.symplectic_euler, f, g, [q], [p], h, 1)
>>> ft, gt
(Matrix([[-h*sin(q)/2 + p]]), Matrix([[h*p*cos(q)/2 - sin(q)]]))
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, final

import sympy

from bea import bicoloured
from bea.bicoloured import BLACK, WHITE, BicolouredTree
from bea.errors import BeaTypeError, BeaValueError, InvalidOrderError
from bea.pseries.modified import modified_equation
from bea.pseries.series import PSeries, PSeriesMethod

__all__ = [
    "BicolouredDifferentials",
    "additive_modified_vector_field",
    "elementary_differential",
    "modified_vector_field",
]


def _column(f: object, name: str) -> sympy.Matrix:
    if isinstance(f, sympy.MatrixBase):
        if f.cols != 1:
            raise BeaValueError(f"{name} must be a column vector, got shape {f.shape}")
        return sympy.Matrix(f)
    if isinstance(f, (list, tuple)):
        return sympy.Matrix([sympy.sympify(x) for x in f])
    raise BeaTypeError(f"{name} must be a SymPy column Matrix or a list of expressions, got {f!r}")


def _symbols(y: object, name: str) -> tuple[sympy.Symbol, ...]:
    if isinstance(y, sympy.Symbol):
        return (y,)
    if isinstance(y, (list, tuple)) and y and all(isinstance(v, sympy.Symbol) for v in y):
        return tuple(y)
    raise BeaTypeError(f"{name} must be a SymPy Symbol or a non-empty list of Symbols, got {y!r}")


@final
class BicolouredDifferentials:
    """The elementary differentials :math:`F(\tau)` of two concrete fields, memoised by tree.

    ``fields`` = (f, g) for a partitioned system with ``variables`` = (q, p), or (f1, f2) with
    ``variables`` = (y, y) for an additive one. Field k must have as many components as
    ``variables[k]`` has symbols. As :class:`bea.differentials.ElementaryDifferentials` does for one
    colour, derivative tensors are cached by multi-index and polynomial fields are handled as
    :mod:`sympy.polys` ring elements (exact, several times faster than expanding expressions).
    """

    __slots__ = ("_cache", "_derivs", "_gens", "_index", "_ring", "fields", "variables")

    def __init__(
        self,
        fields: tuple[sympy.Matrix, sympy.Matrix],
        variables: tuple[Sequence[sympy.Symbol], Sequence[sympy.Symbol]],
        parameters: Sequence[sympy.Symbol] = (),
    ) -> None:
        for k in (0, 1):
            if fields[k].rows != len(variables[k]):
                raise BeaValueError(
                    f"field {k} has {fields[k].rows} components but its variables {list(variables[k])} "
                    f"are {len(variables[k])}"
                )
        self.fields = fields
        self.variables = (tuple(variables[0]), tuple(variables[1]))
        gens: list[sympy.Symbol] = []
        for v in (*self.variables[0], *self.variables[1]):
            if v not in gens:
                gens.append(v)
        self._index = tuple(tuple(gens.index(v) for v in self.variables[k]) for k in (0, 1))
        base: list[list[Any]] = [list(fields[0]), list(fields[1])]
        exprs = [e for b in base for e in b]
        self._ring: Any = None
        if all(sympy.sympify(e).is_polynomial(*gens) for e in exprs):
            free = set().union(*(sympy.sympify(e).free_symbols for e in exprs), parameters)
            others = sorted(free - set(gens), key=str)
            ring_, *_ = sympy.polys.rings.ring([*gens, *others], sympy.QQ)
            base = [[ring_.from_expr(sympy.sympify(e)) for e in b] for b in base]
            self._ring = ring_
            self._gens: Any = ring_.gens[: len(gens)]
        else:
            self._gens = tuple(gens)
        self._derivs: dict[tuple[int, tuple[int, ...]], list[Any]] = {(0, ()): base[0], (1, ()): base[1]}
        self._cache: dict[int, list[Any]] = {}

    def _derivative(self, colour: int, index: tuple[int, ...]) -> list[Any]:
        found = self._derivs.get((colour, index))
        if found is None:
            var = self._gens[index[-1]]
            found = [e.diff(var) for e in self._derivative(colour, index[:-1])]
            self._derivs[(colour, index)] = found
        return found

    def _of(self, t: int) -> list[Any]:
        found = self._cache.get(t)
        if found is not None:
            return found
        colour, kids, _, _, _ = bicoloured.tree_data(t)
        children = [(self._index[bicoloured.tree_data(k)[0]], self._of(k)) for k in kids]
        rows = len(self.variables[colour])
        result: list[Any] = [0] * rows

        def visit(depth: int, index: tuple[int, ...], weight: Any) -> None:
            deriv = self._derivative(colour, index)
            if all(not d for d in deriv):
                return  # every further derivative vanishes too
            if depth == len(children):
                for i in range(rows):
                    result[i] = result[i] + deriv[i] * weight
                return
            positions, child = children[depth]
            for j, value in enumerate(child):
                if value:
                    visit(depth + 1, tuple(sorted((*index, positions[j]))), value * weight)

        visit(0, (), 1)
        result = [self._ring(r) for r in result] if self._ring is not None else [sympy.expand(r) for r in result]
        self._cache[t] = result
        return result

    def combination(self, terms: Sequence[tuple[sympy.Expr, sympy.Expr, int]], rows: int) -> sympy.Matrix:
        """:math:`\\sum c\\, m\\, F(\\tau)` over (number c, monomial m, tree id) triples, expanded (internal).

        The monomials may hold the ``parameters`` given at construction (such as h); rational numbers
        stay in the polynomial ring, other numbers (:math:`\\sqrt 2`) are multiplied in as expressions.
        """
        total: list[Any] = [0] * rows
        extra: list[sympy.Expr] = [sympy.Integer(0)] * rows
        for number, monomial, t in terms:
            values = self._of(t)
            if self._ring is not None and isinstance(number, sympy.Rational):
                c = self._ring.from_expr(number * monomial)
                total = [a + c * v for a, v in zip(total, values, strict=True)]
            else:
                as_expr = [v.as_expr() if self._ring is not None else v for v in values]
                extra = [a + sympy.expand(number * monomial * v) for a, v in zip(extra, as_expr, strict=True)]
        if self._ring is not None:
            return sympy.Matrix([sympy.expand(self._ring(a).as_expr() + e) for a, e in zip(total, extra, strict=True)])
        return sympy.Matrix([sympy.expand(a + e) for a, e in zip(total, extra, strict=True)])

    def of_id(self, t: int) -> sympy.Matrix:
        """F of the tree with id ``t`` (internal interface)."""
        values = self._of(t)
        return sympy.Matrix([v.as_expr() if self._ring is not None else v for v in values])

    def __call__(self, tree: BicolouredTree) -> sympy.Matrix:
        if not isinstance(tree, BicolouredTree):
            raise BeaTypeError(f"expected a BicolouredTree, got {tree!r}")
        return self.of_id(tree.id)


def elementary_differential(
    tree: BicolouredTree, f: object, g: object, q: object, p: object
) -> sympy.Matrix:
    """:math:`F(\\tau)(q, p)` for the partitioned system q' = f(q, p), p' = g(q, p).

    >>> import sympy
    >>> q, p = sympy.symbols("q p")
    >>> t = BicolouredTree.from_levels([1, 2], [0, 1])        # f_p g
    >>> elementary_differential(t, [p**2], [q], q, p)
    Matrix([[2*p*q]])
    """
    qs, ps = _symbols(q, "q"), _symbols(p, "p")
    return BicolouredDifferentials((_column(f, "f"), _column(g, "g")), (qs, ps))(tree)


def _field_series(method_or_series: PSeriesMethod | PSeries, truncation: int) -> PSeries:
    if isinstance(truncation, bool) or not isinstance(truncation, int):
        raise InvalidOrderError(f"truncation must be an integer, got {truncation!r}")
    if truncation < 0:
        raise InvalidOrderError(f"truncation must be at least 0, got {truncation}")
    if isinstance(method_or_series, PSeries):
        if not method_or_series.is_vector_field:
            return modified_equation(method_or_series, truncation + 1)
        if method_or_series.order < truncation + 1:
            raise BeaValueError(
                f"the field series has order {method_or_series.order}; truncation {truncation} needs {truncation + 1}"
            )
        return method_or_series
    return modified_equation(method_or_series, truncation + 1)


def _sum_terms(
    series: PSeries, differentials: BicolouredDifferentials, colours: tuple[int, ...], h: sympy.Symbol, rows: int
) -> sympy.Matrix:
    terms = [(c, h**power, tree.id) for colour in colours for c, power, tree in series.terms(colour)]
    return differentials.combination(terms, rows)


def modified_vector_field(
    method_or_series: PSeriesMethod | PSeries,
    f: object,
    g: object,
    q: object,
    p: object,
    h: sympy.Symbol,
    truncation: int,
) -> tuple[sympy.Matrix, sympy.Matrix]:
    """The modified system :math:`(\\tilde f, \\tilde g)` of a partitioned method, through h^truncation.

    ``method_or_series``: a :class:`~bea.methods.PartitionedRungeKutta` (or its map P-series), whose
    modified equation is taken, or a vector-field P-series used as it is. Returns two column
    matrices, :math:`\\tilde f = \\sum_{T_q} h^{|\\tau|-1} b(\\tau)/\\sigma(\\tau) F(\\tau)` and
    :math:`\\tilde g` likewise over :math:`T_p`, keeping the powers :math:`h^0..h^{\\text{truncation}}`.

    Raises :class:`~bea.errors.InvalidOrderError` for a negative truncation,
    :class:`~bea.errors.BeaValueError` for fields whose sizes do not match q and p.
    """
    series = _field_series(method_or_series, truncation)
    qs, ps = _symbols(q, "q"), _symbols(p, "p")
    differentials = BicolouredDifferentials((_column(f, "f"), _column(g, "g")), (qs, ps), (h,))
    truncated = series.truncate(truncation + 1)
    return (
        _sum_terms(truncated, differentials, (BLACK,), h, len(qs)),
        _sum_terms(truncated, differentials, (WHITE,), h, len(ps)),
    )


def additive_modified_vector_field(
    method_or_series: PSeriesMethod | PSeries, f1: object, f2: object, y: object, h: sympy.Symbol, truncation: int
) -> sympy.Matrix:
    """The modified field :math:`\\tilde f` of an additive method for y' = f1(y) + f2(y), through h^truncation.

    :math:`\\tilde f = \\sum_\\tau h^{|\\tau|-1} b(\\tau)/\\sigma(\\tau) F(\\tau)`, over the trees of both
    root colours (colour 0 nodes are f1, colour 1 nodes f2, all derivatives with respect to y).

    >>> import sympy
    >>> from bea.methods import imex_euler
    >>> y, h = sympy.symbols("y h")
    >>> additive_modified_vector_field(imex_euler, [-y], [y**2], y, h, 1)   # doctest: +NORMALIZE_WHITESPACE
    Matrix([[h*y**3 - h*y**2/2 - h*y/2 + y**2 - y]])
    """
    series = _field_series(method_or_series, truncation)
    ys = _symbols(y, "y")
    differentials = BicolouredDifferentials((_column(f1, "f1"), _column(f2, "f2")), (ys, ys), (h,))
    return _sum_terms(series.truncate(truncation + 1), differentials, (BLACK, WHITE), h, len(ys))
