r"""Modified flows of optimisers with memory, on their slow manifold, to any power of h.

An optimiser with memory (heavy-ball, Nesterov, RMSProp, Adam) updates θ with moving averages of
functions of past iterates. Its iterates approach an invariant manifold on which
:math:`\theta_n = \varphi_{nh}(\theta_0)` for a *modified flow* :math:`\dot\theta = f_h(\theta)
= \sum_j h^j f_j(\theta)` (Hairer--Lubich--Wanner, *Geometric Numerical Integration*, 2nd ed., ch. XV.2
for multistep methods; Kovachki & Stuart, JMLR 22, 2021; Ghosh et al., ICLR 2023; Cattaneo,
Klusowski & Shigida, ICML 2024). The ansatz: every past iterate lies on that flow,

.. math::
    G(\theta_{n-k}) = \big(e^{-k h L} G\big)(\theta_n)
    = \sum_{i \ge 0} \frac{(-kh)^i}{i!}\,(L^i G)(\theta_n),\qquad L G = G'\,f_h

(L: the Lie derivative along :math:`f_h`), so a moving average of G becomes a series in h whose
coefficients are closed-form power sums:

.. math::
    \sum_{k \ge 0} \beta^k G(\theta_{n-k-s}) = \sum_{i\ge0} \frac{(-h)^i}{i!}\, W^{(s)}_i(\beta)\, L^i G,\qquad
    W^{(s)}_i(\beta) = \sum_{k\ge0} (k+s)^i \beta^k
    = \frac{1}{\beta^{s}}\Big(\beta\frac{d}{d\beta}\Big)^i \frac{\beta^{s}}{1-\beta}

(e.g. :math:`W^{(0)}_1 = \beta/(1-\beta)^2`, :math:`W^{(1)}_1 = 1/(1-\beta)^2`). With the update
:math:`\theta_{n+1} - \theta_n = h\,U_h(\theta_n)` and :math:`\theta_{n+1} = e^{hL}\theta_n`,

.. math::
    \sum_{m\ge0} \frac{h^m}{(m+1)!} L^m f_h = U_h ,

and matching :math:`h^j` gives :math:`f_j = [h^j]U_h - \sum_{m=1}^{j} [h^{j-m}](L^m f_h)/(m+1)!`,
where the right side involves only :math:`f_0, \dots, f_{j-1}` (every moving-average term with
i ≥ 1 carries :math:`h^i`). Elementwise nonlinearities (Adam's :math:`1/\sqrt{v}`) are expanded by
Taylor's formula around the h⁰ value. :class:`Expansion` evaluates all of this lazily, coefficient by
coefficient, with exact rational arithmetic.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeAlias, final, runtime_checkable

import sympy

from bea.errors import InvalidOrderError
from bea.validation import check_truncation

if TYPE_CHECKING:
    from bea.flows import ModifiedFlow

__all__ = ["Expansion", "MemoryMethod", "MemoryMethodMembers", "Series", "memory_flow", "power_sum"]

Column: TypeAlias = sympy.ImmutableMatrix
_FIELD = -1  # the key of the Lie table of f_h itself (L^0 f_h = f_h, all powers)


@functools.lru_cache(maxsize=256)
def power_sum(i: int, shift: int, beta: sympy.Rational) -> sympy.Rational:
    r""":math:`W^{(s)}_i(\beta) = \sum_{k\ge0}(k+s)^i\beta^k` in closed form (``shift`` s ∈ {0, 1}).

    >>> b = sympy.Rational(1, 2)
    >>> power_sum(0, 0, b), power_sum(1, 0, b), power_sum(2, 0, b), power_sum(1, 1, b)
    (2, 2, 6, 4)

    Reference: the Eulerian-number identity :math:`\sum_k k^i x^k = x A_i(x)/(1-x)^{i+1}`
    (Graham, Knuth & Patashnik, *Concrete Mathematics*, 2nd ed., eq. 7.56).
    """
    if shift not in (0, 1):
        raise InvalidOrderError(f"shift must be 0 or 1, got {shift!r}")
    x = sympy.Dummy("x")
    expr: sympy.Expr = x**shift / (1 - x)
    for _ in range(i):
        expr = sympy.cancel(x * sympy.diff(expr, x))
    expr = sympy.cancel(expr / x**shift)
    value = expr.subs(x, beta)
    if not isinstance(value, sympy.Rational):  # pragma: no cover - beta is a rational in [0, 1)
        raise InvalidOrderError(f"power sum at beta = {beta} is not rational: {value}")
    return value


Vector = tuple[Any, ...]  # a column as a tuple of algebra elements (ring polynomials or SymPy expressions)


@final
class Series:
    """A formal power series in h with column coefficients, computed lazily and memoised.

    ``rule(k)`` returns the coefficient of :math:`h^k` (a tuple of algebra elements); ``series[k]`` calls it
    once. :meth:`Expansion.column` turns a coefficient into a SymPy column.
    """

    def __init__(self, rule: Callable[[int], Vector]) -> None:
        self._rule = rule
        self._memo: dict[int, Vector] = {}

    def __getitem__(self, k: int) -> Vector:
        if k not in self._memo:
            self._memo[k] = self._rule(k)
        return self._memo[k]


def _compositions(total: int, parts: int) -> list[tuple[int, ...]]:
    """Ordered tuples of ``parts`` positive integers summing to ``total``."""
    if parts == 1:
        return [(total,)] if total >= 1 else []
    return [(first, *rest) for first in range(1, total - parts + 2) for rest in _compositions(total - first, parts - 1)]


class _Algebra:
    """Exact arithmetic on the coefficients: sparse polynomials over QQ when everything is polynomial in
    the parameters, data and auxiliary symbols (fast, canonical), SymPy expressions otherwise."""

    def __init__(self, exprs: Sequence[sympy.Expr], symbols: Sequence[sympy.Symbol]) -> None:
        self.ring: Any = None
        gens = list(symbols) + sorted(set().union(*(e.free_symbols for e in exprs)) - set(symbols), key=str)
        try:
            ring, *_ = sympy.polys.rings.ring(gens, sympy.QQ)
            for e in exprs:
                ring.from_expr(e)
        except (sympy.polys.polyerrors.PolynomialError, ValueError, TypeError):
            return
        self.ring = ring
        self.gens = {g: ring.gens[i] for i, g in enumerate(gens)}

    def element(self, expr: sympy.Expr) -> Any:
        return self.ring.from_expr(expr) if self.ring is not None else expr

    def expr(self, element: Any) -> sympy.Expr:
        out: sympy.Expr = element.as_expr() if self.ring is not None else element
        return out

    def scalar(self, value: sympy.Rational) -> Any:
        return self.ring(value) if self.ring is not None else value

    def diff(self, element: Any, symbol: sympy.Symbol) -> Any:
        if self.ring is not None:
            return element.diff(self.gens[symbol])
        return sympy.diff(element, symbol)

    def zero(self) -> Any:
        return self.ring.zero if self.ring is not None else sympy.Integer(0)

    def is_zero(self, element: Any) -> bool:
        return bool(element == 0)


@final
class Expansion:
    """The slow-manifold expansion of one optimiser on a concrete loss (see the module docstring).

    ``params``: parameter symbols; ``gradient``: :math:`\\nabla E` as a column; ``aux``: auxiliary symbols
    standing for functions of θ (e.g. :math:`\\rho_j = (g_j^2+\\varepsilon)^{-1/2}`), each mapped to (its value,
    its gradient as a column in θ and the auxiliary symbols), so that every coefficient stays a polynomial in
    (θ, data, aux) for a polynomial loss (:meth:`column` substitutes the values back); ``increment``: a
    function that, given this expansion, returns the series :math:`U_h` with
    :math:`\\theta_{n+1} - \\theta_n = h U_h(\\theta_n)` (built from :meth:`average`, :meth:`constant`,
    :meth:`elementwise`, :meth:`product`, :meth:`combine`).
    """

    def __init__(
        self,
        params: Sequence[sympy.Symbol],
        gradient: Column,
        increment: Callable[[Expansion], Series],
        aux: Mapping[sympy.Symbol, tuple[sympy.Expr, Column]] | None = None,
    ) -> None:
        self.params = tuple(params)
        self.gradient = gradient
        self.aux = dict(aux or {})
        aux_grads = [e for _v, grad in self.aux.values() for e in grad]
        self._algebra = _Algebra([*gradient, *aux_grads], [*self.params, *self.aux])
        alg = self._algebra
        self._aux_grads = {s: tuple(alg.element(e) for e in grad) for s, (_v, grad) in self.aux.items()}
        self._lie: dict[tuple[int, int, int], Vector] = {}  # (base key, i, k) -> [h^k] L^i G
        self._bases: list[Vector] = []
        self.field = Series(self._field_coefficient)
        self._increment = increment(self)

    # ----------------------------------------------------------------- conversions
    def vector(self, column: sympy.MatrixBase) -> Vector:
        """A SymPy column as a tuple of algebra elements."""
        return tuple(self._algebra.element(e) for e in column)

    def column(self, vector: Vector) -> Column:
        """A coefficient as a SymPy column in θ and data (auxiliary symbols replaced by their values)."""
        values = {s: v for s, (v, _g) in self.aux.items()}
        return sympy.ImmutableMatrix([self._algebra.expr(e).xreplace(values) for e in vector])

    def _zeros(self) -> Vector:
        return tuple(self._algebra.zero() for _ in self.params)

    # ----------------------------------------------------------------- building blocks
    def _register(self, base: Vector) -> int:
        if base in self._bases:
            return self._bases.index(base)
        self._bases.append(base)
        return len(self._bases) - 1

    def _apply_jacobian(self, vector: Vector, direction: Vector) -> Vector:
        """:math:`G'\\,d`, by the chain rule through the auxiliary symbols."""
        alg = self._algebra
        out = []
        for e in vector:
            total = alg.zero()
            for i, p in enumerate(self.params):
                if not alg.is_zero(direction[i]):
                    total += alg.diff(e, p) * direction[i]
            for symbol, grad in self._aux_grads.items():
                partial = alg.diff(e, symbol)
                if not alg.is_zero(partial):
                    total += partial * sum((grad[i] * direction[i] for i in range(len(self.params))), alg.zero())
            out.append(total)
        return tuple(out)

    def lie(self, base_key: int, i: int, k: int) -> Vector:
        """:math:`[h^k]\\,L^i G` for the registered base G (uses :math:`f_0..f_k` only)."""
        key = (base_key, i, k)
        if key not in self._lie:
            if i == 0 and base_key == _FIELD:
                value = self.field[k]
            elif i == 0:
                value = self._bases[base_key] if k == 0 else self._zeros()
            else:
                total = self._zeros()
                for a in range(k + 1):
                    inner = self.lie(base_key, i - 1, a)
                    if all(self._algebra.is_zero(e) for e in inner):
                        continue
                    total = _add(total, self._apply_jacobian(inner, self.field[k - a]))
                value = total
            self._lie[key] = value
        return self._lie[key]

    def constant(self, value: Column) -> Series:
        """A series with only an h⁰ term (a function of θ_n itself)."""
        vec = self.vector(value)
        return Series(lambda k: vec if k == 0 else self._zeros())

    def average(self, base: Column, beta: sympy.Rational, shift: int = 0, weight: sympy.Rational | int = 1) -> Series:
        """:math:`w\\sum_{k\\ge0}\\beta^k G(\\theta_{n-k-s})` as a series in h (G = ``base``, s = ``shift``)."""
        key = self._register(self.vector(base))

        def rule(j: int) -> Vector:
            total = self._zeros()
            for i in range(j + 1):
                coefficient = weight * sympy.Integer(-1) ** i / math.factorial(i) * power_sum(i, shift, beta)
                if coefficient != 0:
                    total = _add(total, _scale(self._algebra.scalar(coefficient), self.lie(key, i, j - i)))
            return total

        return Series(rule)

    def combine(self, *terms: tuple[sympy.Rational | int, Series]) -> Series:
        """The linear combination :math:`\\sum c_i S_i` of series."""
        def rule(k: int) -> Vector:
            total = self._zeros()
            for c, series in terms:
                total = _add(total, _scale(self._algebra.scalar(sympy.Rational(c)), series[k]))
            return total

        return Series(rule)

    def product(self, left: Series, right: Series) -> Series:
        """The elementwise (Hadamard) product of two column series."""
        def rule(k: int) -> Vector:
            total = self._zeros()
            for a in range(k + 1):
                total = _add(total, tuple(u * v for u, v in zip(left[a], right[k - a], strict=True)))
            return total

        return Series(rule)

    def elementwise(self, derivative: Callable[[int], Column], series: Series) -> Series:
        """:math:`\\varphi(S)` componentwise, by Taylor's formula around :math:`S_0`:
        :math:`[h^k]\\varphi(S) = \\sum_{q\\ge1} \\varphi^{(q)}(S_0)/q!\\, [h^k](S - S_0)^q`.

        ``derivative(q)`` is the column :math:`\\varphi^{(q)}(S_0)` (in θ and the auxiliary symbols)."""
        cache: dict[int, Vector] = {}

        def phi(q: int) -> Vector:
            if q not in cache:
                cache[q] = self.vector(derivative(q))
            return cache[q]

        def rule(k: int) -> Vector:
            if k == 0:
                return phi(0)
            total = self._zeros()
            for q in range(1, k + 1):
                power = self._zeros()
                for parts in _compositions(k, q):
                    factor = series[parts[0]]
                    for part in parts[1:]:
                        factor = tuple(u * v for u, v in zip(factor, series[part], strict=True))
                    power = _add(power, factor)
                scale = self._algebra.scalar(sympy.Rational(1, math.factorial(q)))
                total = _add(total, tuple(scale * d * p for d, p in zip(phi(q), power, strict=True)))
            return total

        return Series(rule)

    # ----------------------------------------------------------------- the recursion
    def _field_coefficient(self, j: int) -> Vector:
        total = self._increment[j]
        for m in range(1, j + 1):
            scale = self._algebra.scalar(sympy.Rational(-1, math.factorial(m + 1)))
            total = _add(total, _scale(scale, self.lie(_FIELD, m, j - m)))
        return total

    def terms(self, truncation: int) -> tuple[Column, ...]:
        """:math:`f_0, \\dots, f_p` (p = ``truncation``), the coefficients of the modified flow, as SymPy columns."""
        return tuple(self.column(self.field[j]) for j in range(truncation + 1))


def _add(u: Vector, v: Vector) -> Vector:
    return tuple(a + b for a, b in zip(u, v, strict=True))


def _scale(c: Any, v: Vector) -> Vector:
    return tuple(c * a for a in v)


@runtime_checkable
class MemoryMethod(Protocol):
    """What :func:`memory_flow` needs of an optimiser with memory (heavy-ball, Nesterov, RMSProp, Adam)."""

    @property
    def name(self) -> str: ...

    def expansion(self, params: Sequence[sympy.Symbol], gradient: Column) -> Expansion: ...


def memory_modified_terms(method: MemoryMethod, problem: Any, truncation: int) -> tuple[sympy.ImmutableMatrix, ...]:
    """The :class:`bea.methods.Method` member ``modified_terms`` of a method with memory.

    ``problem`` is a :class:`bea.methods.Problem` with a loss (one loss, or minibatch losses whose mean E
    is the full-batch loss the optimiser sees); the terms are the coefficients of :math:`h^0..h^p` of the
    flow on the slow manifold, columns in the order of ``problem.params``. A problem without a loss (a
    game, a bare vector field, bare parameters) raises :class:`~bea.errors.BeaValueError` naming the method.
    """
    from bea.errors import BeaValueError
    from bea.flows import gradient

    loss = problem.loss
    if loss is None:
        raise BeaValueError(f"{method.name} is an optimiser of one loss; this problem has none ({problem!r})")
    p = check_truncation(truncation)
    expansion = method.expansion(problem.params, gradient(loss, problem.params))
    return tuple(sympy.ImmutableMatrix(t) for t in expansion.terms(p))


def no_bseries(name: str) -> Any:
    """Raise :class:`~bea.errors.NotABSeriesMethodError`: a method with memory has no one-step B-series."""
    from bea.errors import NotABSeriesMethodError

    raise NotABSeriesMethodError(
        f"{name} is a method with memory (its step depends on past iterates), so it has no one-step B-series; "
        "tree coefficients and the loss-derivative form do not apply (use modified_flow on a concrete loss)"
    )


def memory_flow(
    method: MemoryMethod, loss: sympy.Expr, params: Sequence[sympy.Symbol], truncation: int, h: sympy.Symbol | None
) -> ModifiedFlow:
    """The modified flow of ``method`` on ``loss`` through :math:`h^{\\text{truncation}}` (a :class:`ModifiedFlow`).

    The same as :func:`bea.modified_flow` with ``method=method`` (it validates the loss and parameters);
    ``truncation`` >= 0.
    """
    from bea.flows import modified_flow

    return modified_flow(loss, params, truncation=truncation, method=method, h=h)  # type: ignore[arg-type]


class MemoryMethodMembers:
    """What every method with memory offers through :class:`bea.methods.Method` (a mixin without fields).

    A subclass defines ``name`` and ``expansion(params, gradient)``; this gives it ``modified_flow``,
    ``modified_terms`` (the slow-manifold flow) and ``bseries`` (always
    :class:`~bea.errors.NotABSeriesMethodError`).
    """

    name: ClassVar[str]

    def expansion(self, params: Sequence[sympy.Symbol], gradient: Column) -> Expansion:
        raise NotImplementedError  # pragma: no cover - each concrete family defines it

    def check_smooth_at(self, vanishing: Sequence[str], truncation: int, point: str = "theta0") -> None:
        """Refuse a point where the modified flow through :math:`h^{\\text{truncation}}` is not defined.

        ``vanishing``: the names of the gradient components that are exactly 0 at ``point``. Momentum methods
        average the gradient linearly, so their flow is as smooth as the loss: nothing to refuse. RMSProp and
        Adam with ε outside the root override this (:class:`~bea.errors.NonSmoothPointError`).
        """

    def modified_flow(
        self, loss: sympy.Expr, params: Sequence[sympy.Symbol], truncation: int = 1, h: sympy.Symbol | None = None
    ) -> ModifiedFlow:
        """The modified flow on the slow manifold through :math:`h^{\\text{truncation}}` (any truncation >= 0)."""
        return memory_flow(self, loss, params, truncation, h)

    def modified_terms(self, problem: Any, truncation: int, h: sympy.Symbol) -> tuple[sympy.ImmutableMatrix, ...]:
        """:class:`bea.methods.Method`: the slow-manifold flow's terms through :math:`h^{\\text{truncation}}`."""
        return memory_modified_terms(self, problem, truncation)

    def bseries(self, order: int) -> Any:
        """:class:`bea.methods.Method`: always :class:`~bea.errors.NotABSeriesMethodError` (a method with memory)."""
        return no_bseries(self.name)

