r"""Exact arithmetic on truncated expansions of one-step maps: Taylor coefficients in h, composition,
averaging and Lie-series matching, in one of two algebras.

An expansion through :math:`h^n` is a tuple of n + 1 columns :math:`d_0 = \theta, d_1, \dots, d_n`, one entry
per parameter (:math:`\Phi_h(\theta) = \sum_j h^j d_j(\theta)`). The entries live in an algebra:

* :class:`RingAlgebra` (fast): SymPy's sparse polynomial ring over QQ in the parameters and in generators
  that stand for the functions of the parameters the map contains (:math:`e^{-ab}`, :math:`\cos a`,
  :math:`(1 + e^{-ab})^{-1}`, data symbols, ...), closed under :math:`\partial/\partial\theta_j`
  (:class:`bea._closure.DifferentialRing`); no ``sympy.expand`` is called on the way;
* :class:`SymPyAlgebra` (any expression SymPy can differentiate): SymPy expressions, expanded after each
  operation. It is used when some function of the map is outside the ring's rules (``Abs``, ``erf``, ...).

Both give the same exact functions. Composition uses Taylor's formula around θ with multi-index
derivatives, :math:`q(\theta + \delta) = \sum_\alpha \partial^\alpha q(\theta)\,\delta^\alpha/\alpha!`
(:math:`\delta = \Phi_h(\theta) - \theta = O(h)`, so :math:`|\alpha| \le n` terms suffice), and Lie-series
matching the recursion of Hairer--Lubich--Wanner, *Geometric Numerical Integration*, 2nd ed., section IX.1
(see :mod:`bea.methods.maps`).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from typing import Any, final

import sympy

from bea._closure import DifferentialRing
from bea.errors import InvalidMapError

__all__ = [
    "Algebra",
    "Expansion",
    "RingAlgebra",
    "SymPyAlgebra",
    "compose",
    "lie_matching_in",
    "mean",
    "taylor_coefficients",
]

Column = tuple[Any, ...]
Expansion = tuple[Column, ...]  # coefficients of h^0 .. h^n, each a column (one entry per parameter)


def _bad_terms(expr: sympy.Expr) -> bool:
    return bool(expr.has(sympy.zoo, sympy.oo, -sympy.oo, sympy.nan))


def taylor_coefficients(expr: sympy.Expr, h: sympy.Symbol, n: int, where: str = "the expression") -> list[sympy.Expr]:
    """The Taylor coefficients :math:`c_0..c_n` of ``expr`` in ``h`` at 0 (exact).

    Polynomials in h are read off directly; other expressions are differentiated (a coefficient that is
    infinite or undefined there is resolved by ``sympy.series``). An expression that is not smooth in h
    at 0 (a fractional power, a pole, a logarithm) raises :class:`~bea.errors.InvalidMapError` naming
    ``where``.

    >>> h, x = sympy.symbols("h x")
    >>> taylor_coefficients(x / (1 + h * x), h, 3)
    [x, -x**2, x**3, -x**4]
    >>> taylor_coefficients(sympy.sqrt(h) + x, h, 1, "component 0")
    Traceback (most recent call last):
    ...
    bea.errors.InvalidMapError: component 0 is not smooth in h at h = 0: sqrt(h) + x
    """
    if expr.is_polynomial(h):
        poly = sympy.Poly(sympy.expand(expr), h)
        return [sympy.expand(poly.coeff_monomial(h**j)) for j in range(n + 1)]
    out: list[sympy.Expr] = []
    current = expr
    for j in range(n + 1):
        value = current.subs(h, 0)
        if _bad_terms(value):
            return _series_coefficients(expr, h, n, where)
        out.append(sympy.expand(value / math.factorial(j)))
        current = sympy.diff(current, h)
    return out


def _series_coefficients(expr: sympy.Expr, h: sympy.Symbol, n: int, where: str) -> list[sympy.Expr]:
    t = sympy.Dummy("t", positive=True)
    series = sympy.series(expr.subs(h, t), t, 0, n + 1).removeO()
    series = sympy.expand(series)
    coeffs = [sympy.Integer(0)] * (n + 1)
    for term in sympy.Add.make_args(series):
        coef, power = term.as_independent(t, as_Add=False)
        exponent = sympy.degree(power, t) if power.is_polynomial(t) else None
        if exponent is None or _bad_terms(coef) or coef.has(t):
            raise InvalidMapError(f"{where} is not smooth in {h} at {h} = 0: {expr}")
        coeffs[int(exponent)] += coef
    return [sympy.expand(c) for c in coeffs]


class Algebra(ABC):
    """The arithmetic of expansion entries: functions of the parameters ``params``.

    Entries support ``+``, ``-`` and ``*`` among themselves; the methods below give the rest.
    """

    params: tuple[sympy.Symbol, ...]

    @abstractmethod
    def zero(self) -> Any:
        """The entry 0."""

    @abstractmethod
    def param(self, i: int) -> Any:
        """The entry :math:`\\theta_i`."""

    @abstractmethod
    def scalar(self, value: sympy.Rational) -> Any:
        """A rational as a factor for entries."""

    @abstractmethod
    def diff(self, entry: Any, j: int) -> Any:
        """:math:`\\partial\\,\\mathrm{entry} / \\partial\\theta_j`."""

    @abstractmethod
    def tidy(self, entry: Any) -> Any:
        """The canonical form of a finished entry (``sympy.expand`` for SymPy expressions)."""

    @abstractmethod
    def to_expr(self, entry: Any) -> sympy.Expr:
        """The entry as a SymPy expression."""

    @abstractmethod
    def leaf(self, images: Sequence[sympy.Expr], h: sympy.Symbol, n: int, where: str) -> Expansion:
        """The expansion through :math:`h^n` of the map with these images (one per parameter, in ``h``)."""

    def identity(self) -> Column:
        """:math:`d_0 = \\theta`."""
        return tuple(self.param(i) for i in range(len(self.params)))

    def columns(self, expansion: Sequence[Column]) -> tuple[tuple[sympy.Expr, ...], ...]:
        """An expansion (or field terms) as SymPy columns."""
        return tuple(tuple(self.to_expr(e) for e in col) for col in expansion)


@final
class SymPyAlgebra(Algebra):
    """Entries are SymPy expressions in expanded form (works for any expression SymPy can differentiate)."""

    def __init__(self, params: Sequence[sympy.Symbol]) -> None:
        self.params = tuple(params)

    def zero(self) -> Any:
        return sympy.Integer(0)

    def param(self, i: int) -> Any:
        return self.params[i]

    def scalar(self, value: sympy.Rational) -> Any:
        return value

    def diff(self, entry: Any, j: int) -> Any:
        return sympy.diff(entry, self.params[j])

    def tidy(self, entry: Any) -> Any:
        return sympy.expand(entry)

    def to_expr(self, entry: Any) -> sympy.Expr:
        out: sympy.Expr = entry
        return out

    def leaf(self, images: Sequence[sympy.Expr], h: sympy.Symbol, n: int, where: str) -> Expansion:
        per_component = [
            taylor_coefficients(e, h, n, f"component {i} ({p}) of {where}")
            for i, (p, e) in enumerate(zip(self.params, images, strict=True))
        ]
        return (self.identity(), *(tuple(c[j] for c in per_component) for j in range(1, n + 1)))


@final
class RingAlgebra(Algebra):
    """Entries are elements of a :class:`~bea._closure.DifferentialRing` over the parameters.

    Build it with :meth:`for_maps` from every one-step map an expansion will combine; it is None when some
    function of the parameters is outside the ring's rules (then use :class:`SymPyAlgebra`).
    """

    def __init__(
        self, closure: DifferentialRing, h: sympy.Symbol,
        sources: dict[tuple[tuple[sympy.Expr, ...], sympy.Symbol], tuple[str, list[Any]]], n: int,
    ) -> None:
        self.params = closure.y
        self._closure = closure
        self._ring: Any = closure.ring
        self._h = h
        self._sources = sources  # (images, h) -> ("images", polynomials in h) or ("taylor", d_1..d_n per component)
        self._n = n

    @classmethod
    def for_maps(
        cls, maps: Sequence[tuple[Sequence[sympy.Expr], sympy.Symbol, str]], params: Sequence[sympy.Symbol], n: int
    ) -> RingAlgebra | None:
        """The algebra for maps given as (images, their step-size symbol, name), through :math:`h^n`, or None.

        A map whose images are polynomials in h over the ring is expanded by reading off powers of h; any
        other map by :func:`taylor_coefficients` (which raises :class:`~bea.errors.InvalidMapError` when it
        is not smooth in h at 0).
        """
        h = sympy.Dummy("h")
        exprs: list[sympy.Expr] = []
        kinds: dict[tuple[tuple[sympy.Expr, ...], sympy.Symbol], tuple[str, list[sympy.Expr]]] = {}
        for images, own_h, name in maps:
            key = (tuple(images), own_h)
            if key in kinds:
                continue
            in_h = [e.xreplace({own_h: h}) for e in images]
            own = DifferentialRing.for_exprs(in_h, params)
            if own is not None and not any(h in g.free_symbols for g in own.gens if g != h):
                kinds[key] = ("images", in_h)  # polynomial in h over the ring: converted whole
            else:
                coefficients = [
                    taylor_coefficients(e, own_h, n, f"component {i} ({p}) of {name}")
                    for i, (p, e) in enumerate(zip(params, images, strict=True))
                ]
                kinds[key] = ("taylor", [c for column in coefficients for c in column[1:]])
            exprs.extend(kinds[key][1])
        closure = DifferentialRing.for_exprs(exprs, params)
        if closure is None or any(h in g.free_symbols for g in closure.gens if g != h):
            return None
        sources = {key: (kind, [closure.convert(e) for e in values]) for key, (kind, values) in kinds.items()}
        return cls(closure, h, sources, n)

    def zero(self) -> Any:
        return self._ring.zero

    def param(self, i: int) -> Any:
        return self._ring.gens[i]

    def scalar(self, value: sympy.Rational) -> Any:
        return self._ring.domain.from_sympy(value)

    def diff(self, entry: Any, j: int) -> Any:
        return self._closure.diff(entry, j)

    def tidy(self, entry: Any) -> Any:
        return entry

    def to_expr(self, entry: Any) -> sympy.Expr:
        return self._closure.to_expr(entry)

    def leaf(self, images: Sequence[sympy.Expr], h: sympy.Symbol, n: int, where: str) -> Expansion:
        kind, source = self._sources[(tuple(images), h)]
        m = len(self.params)
        if n != self._n:
            raise ValueError(f"this algebra expands maps through h^{self._n}, not h^{n}")  # pragma: no cover
        if kind == "taylor":  # d_1..d_n of each component in turn
            return (self.identity(), *(tuple(source[i * n + j - 1] for i in range(m)) for j in range(1, n + 1)))
        columns: list[list[dict[tuple[int, ...], Any]]] = [[{} for _ in range(m)] for _ in range(n + 1)]
        if self._h in self._closure.gens:  # else the map is the identity
            index = self._closure.gens.index(self._h) + m
            for i, element in enumerate(source):  # polynomials in h: read off d_j = [h^j], dropping h^0 (= theta)
                for monom, coeff in element.items():
                    if 1 <= monom[index] <= n:
                        columns[monom[index]][i][(*monom[:index], 0, *monom[index + 1:])] = coeff
        return (
            self.identity(),
            *(tuple(self._ring.from_dict(columns[j][i]) for i in range(m)) for j in range(1, n + 1)),
        )


def _times(algebra: Algebra, u: list[Any], v: list[Any], n: int) -> list[Any]:
    """The product of two series in h, truncated after :math:`h^n`."""
    out = [algebra.zero() for _ in range(n + 1)]
    for i, a in enumerate(u):
        if a == 0:
            continue
        for j in range(n + 1 - i):
            if v[j] != 0:
                out[i + j] += a * v[j]
    return out


def _partials(algebra: Algebra, entry: Any, depth: int) -> Iterator[tuple[tuple[int, ...], Any]]:
    r"""Every nonzero :math:`\partial^\alpha q/\alpha!` with :math:`|\alpha| \le` ``depth``, with its α."""
    m = len(algebra.params)
    stack: list[tuple[tuple[int, ...], Any, int]] = [((0,) * m, entry, 0)]
    while stack:
        alpha, value, last = stack.pop()
        yield alpha, value
        if sum(alpha) == depth:
            continue
        for p in range(last, m):
            d = algebra.diff(value, p)
            if d != 0:
                child = (*alpha[:p], alpha[p] + 1, *alpha[p + 1:])
                stack.append((child, algebra.tidy(d * algebra.scalar(sympy.Rational(1, child[p]))), p))


def compose(algebra: Algebra, outer: Expansion, inner: Expansion, n: int) -> Expansion:
    """The expansion through :math:`h^n` of ``outer`` ∘ ``inner`` (``inner`` applied first), both through h^n.

    Taylor's formula around θ: :math:`d^{\\circ}_k = \\sum_j \\sum_\\alpha [h^{k-j}]\\,
    \\partial^\\alpha d^{\\mathrm{outer}}_j\\,\\delta^\\alpha/\\alpha!` with
    :math:`\\delta = \\sum_{j \\ge 1} h^j d^{\\mathrm{inner}}_j`.
    """
    m = len(algebra.params)
    zero = algebra.zero()
    deltas = [[zero, *(inner[j][p] for j in range(1, n + 1))] for p in range(m)]
    one = [zero + algebra.scalar(sympy.Integer(1)), *([zero] * n)]
    powers: dict[tuple[int, ...], list[Any]] = {(0,) * m: one}

    def power(alpha: tuple[int, ...]) -> list[Any]:
        if alpha not in powers:
            p = next(i for i, a in enumerate(alpha) if a)
            smaller = (*alpha[:p], alpha[p] - 1, *alpha[p + 1:])
            powers[alpha] = _times(algebra, power(smaller), deltas[p], n)
        return powers[alpha]

    out = [[zero] * m for _ in range(n + 1)]
    for j in range(n + 1):
        for i in range(m):
            for alpha, partial in _partials(algebra, outer[j][i], n - j):
                series = power(alpha)
                for k in range(sum(alpha), n + 1 - j):
                    if series[k] != 0:
                        out[j + k][i] += partial * series[k]
    return (algebra.identity(), *(tuple(algebra.tidy(e) for e in out[k]) for k in range(1, n + 1)))


def mean(algebra: Algebra, parts: Sequence[Expansion]) -> Expansion:
    """The entrywise mean of expansions of equal length."""
    scale = algebra.scalar(sympy.Rational(1, len(parts)))
    first = parts[0]
    return (algebra.identity(), *(
        tuple(algebra.tidy(sum((part[j][i] for part in parts[1:]), first[j][i]) * scale) for i in range(len(first[j])))
        for j in range(1, len(first))
    ))


def lie_matching_in(algebra: Algebra, expansion: Expansion, steps: int = 1) -> tuple[Column, ...]:
    """The modified field per unit time of a map from its expansion, by Lie-series matching.

    ``expansion[j]`` is :math:`d_j` (``expansion[0]`` the parameters); the map stands for ``steps`` steps
    of size h. Returns :math:`f_1..f_N` (N = ``len(expansion) - 1``), the coefficients of
    :math:`h^0..h^{N-1}` of the field (Hairer--Lubich--Wanner, section IX.1; see :mod:`bea.methods.maps`).
    """
    m = len(algebra.params)
    n_max = len(expansion) - 1
    zero = algebra.zero()

    def scaled(entry: Any, power: int) -> Any:
        return entry * algebra.scalar(sympy.Integer(steps) ** power) if steps != 1 else entry

    d = [tuple(algebra.tidy(scaled(e, -j)) for e in expansion[j]) for j in range(n_max + 1)]  # in H = s*h
    f: dict[int, Column] = {}
    lie: dict[tuple[int, int], Column] = {}  # (n, k): coefficient of H^k in L^n id

    def apply(column: Column, along: Column) -> Column:
        out = []
        for c in column:
            total = zero
            for p, v in enumerate(along):
                if v != 0:
                    total += algebra.diff(c, p) * v
            out.append(algebra.tidy(total))
        return tuple(out)

    for j in range(1, n_max + 1):
        correction = [zero] * m
        for n in range(2, j + 1):
            factor = algebra.scalar(sympy.Rational(1, math.factorial(n)))
            term = lie[(n, j - n)]
            for i in range(m):
                correction[i] += term[i] * factor
        f[j] = tuple(algebra.tidy(d[j][i] - correction[i]) for i in range(m))
        lie[(1, j - 1)] = f[j]
        for n in range(2, j + 2):
            k = j + 1 - n
            total = [zero] * m
            for a in range(k + 1):
                piece = apply(lie[(n - 1, k - a)], f[a + 1])
                total = [x + y for x, y in zip(total, piece, strict=True)]
            lie[(n, k)] = tuple(algebra.tidy(x) for x in total)
    return tuple(tuple(algebra.tidy(scaled(e, j - 1)) for e in f[j]) for j in range(1, n_max + 1))
