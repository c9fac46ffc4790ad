r"""One-step maps given by formulas, their compositions and their averages, by Lie-series matching.

A near-identity map :math:`\theta_{n+1} = \Phi_h(\theta_n)` with :math:`\Phi_0 = \mathrm{id}`, smooth in h at
0, has a modified field :math:`\tilde f_h = f_1 + h f_2 + h^2 f_3 + \dots` whose exact time-h flow matches it
to all orders: writing :math:`\Phi_h(\theta) = \theta + \sum_{j \ge 1} h^j d_j(\theta)` and
:math:`L_F g = g'\,F` (the Lie derivative), :math:`\exp(h L_{\tilde f_h})\,\mathrm{id} = \Phi_h` order by order
in h gives

.. math::
    f_j = d_j - \sum_{n=2}^{j} \frac{1}{n!}\,[h^{j-n}]\, L_{\tilde f_h}^{\,n}\,\mathrm{id},

where the right-hand side involves only :math:`f_1, \dots, f_{j-1}` (Hairer--Lubich--Wanner, *Geometric
Numerical Integration*, 2nd ed., section IX.1, eq. (1.4) and its proof). This works for any map: no
B-series is needed, so it covers steps that are not Runge--Kutta methods (an SGD epoch that visits
different losses, alternating game updates, hand-made optimisers). For Runge--Kutta methods it agrees
exactly with the tree route (tests/test_maps.py).

A map that stands for s steps of size h (an epoch of s minibatch steps) has its field given **per unit
time**: its exact flow over time s h reproduces the map, so the field compares directly with single-step
flows (for an SGD epoch, :math:`f_1 = -\nabla E` with E the mean loss).

* :class:`OneStepMap`: the images :math:`\Phi_h(\theta)_i` as SymPy expressions in the parameters, data and h;
* :class:`Composition`: a product of maps, applied first to last (one epoch, one round of a game);
* :class:`MeanMap`: the average of maps (the mean iterate over random orderings);
* :class:`SGD`: minibatch SGD on :meth:`~bea.methods.Problem.minibatches`, one epoch in the given order
  (``shuffle="fixed"``) or the mean epoch under uniformly random reshuffling (``shuffle="random"``).

For random reshuffling the h¹ term has a closed form for any m: the mean of the single-step fields,
:math:`-\nabla E - \frac{h}{4m}\nabla \sum_k \|\nabla E_k\|^2` (the commutator terms of the
Baker--Campbell--Hausdorff formula cancel in pairs over the orderings), which is the implicit
regulariser of SGD of Smith, Dherin, Barrett & De (*On the Origin of Implicit Regularization in Stochastic
Gradient Descent*, ICLR 2021, eq. (1)): the mean iterate follows the gradient flow of
:math:`E + \frac{h}{4m}\sum_k \|\nabla E_k\|^2`. Higher orders come from exact enumeration of the
m! orderings. The mean *map* describes the mean iterate over many epochs through h²: the spread of
the orderings' maps enters at :math:`h^3` of the field.

>>> import sympy
>>> x, h = sympy.symbols("x h")
>>> gd = OneStepMap([x - h * x**3], [x], h=h)  # gradient descent on E = x⁴/4
>>> [t[0] for t in gd.modified_terms(Problem.parameters([x]), 2, h)]
[-x**3, -3*x**5/2, -7*x**7/2]
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, final

import sympy

from bea._text import count
from bea.errors import BeaTypeError, BeaValueError, InvalidLossError, InvalidMapError, NotABSeriesMethodError
from bea.methods.base import Problem, check_truncation
from bea.methods.map_algebra import (
    Algebra,
    RingAlgebra,
    SymPyAlgebra,
    compose,
    lie_matching_in,
    mean,
    taylor_coefficients,
)
from bea.methods.map_algebra import Expansion as AlgebraExpansion
from bea.series import BSeries
from bea.validation import exact_expression

__all__ = [
    "MAX_ORDERINGS",
    "SGD",
    "Composition",
    "H",
    "MeanMap",
    "OneStepMap",
    "algebra_for",
    "lie_matching",
    "map_expansion",
    "map_field",
    "taylor_coefficients",
]

#: The default step-size symbol of a :class:`OneStepMap`.
H = sympy.Symbol("h")

#: The largest number of orderings (m!) that :class:`SGD` enumerates for random reshuffling beyond h¹.
MAX_ORDERINGS = 720

Column = tuple[sympy.Expr, ...]
Expansion = tuple[Column, ...]  # coefficients of h^0 .. h^N, each a column in the parameters


def _bad_terms(expr: sympy.Expr) -> bool:
    return bool(expr.has(sympy.zoo, sympy.oo, -sympy.oo, sympy.nan))


def lie_matching(expansion: Expansion, params: Sequence[sympy.Symbol], steps: int = 1) -> tuple[Column, ...]:
    """The modified field per unit time of a map from its Taylor coefficients, by Lie-series matching.

    ``expansion[j]`` is :math:`d_j`, the coefficient of :math:`h^j` of the map (``expansion[0]`` must be the
    parameters themselves), as SymPy expressions; the map stands for ``steps`` steps of size h. Returns
    :math:`f_1..f_N` (N = ``len(expansion) - 1``), the coefficients of :math:`h^0..h^{N-1}` of the field,
    expanded. See the module documentation for the recursion (Hairer--Lubich--Wanner, section IX.1).
    """
    algebra = SymPyAlgebra(params)
    coefficients = (algebra.identity(), *(tuple(sympy.expand(e) for e in col) for col in expansion[1:]))
    return algebra.columns(lie_matching_in(algebra, coefficients, steps))


def _columns(terms: Sequence[Column]) -> tuple[sympy.ImmutableMatrix, ...]:
    return tuple(sympy.ImmutableMatrix(list(t)) for t in terms)


def _no_bseries(name: str) -> NotABSeriesMethodError:
    return NotABSeriesMethodError(
        f"{name} is given by its update formulas and has no B-series; tree features (bseries, modified_equation, "
        "loss_derivative_form) need a Runge-Kutta or B-series method; use modified_flow for its modified flow"
    )


def _check_steps(steps: object) -> int:
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise BeaValueError(f"steps (how many steps of size h one application stands for) must be >= 1, got {steps!r}")
    return steps


def _check_params(own: tuple[sympy.Symbol, ...], problem: Problem, name: str) -> None:
    if own != problem.params:
        raise BeaValueError(f"{name} acts on the parameters {list(own)}, the problem has {list(problem.params)}")


@final
@dataclass(frozen=True)
class OneStepMap:
    """One step :math:`\\theta \\mapsto \\Phi_h(\\theta)`, one SymPy expression per parameter.

    Parameters
    ----------
    images
        :math:`\\Phi_h(\\theta)_i`, in the parameters, data symbols and ``h``; exact (no floats).
    params
        The parameters, in the order of ``images``.
    h
        The step-size symbol of the images (any symbol of that name in them is taken as h).
    name
        A label for printing.
    steps
        How many steps of size h one application stands for (the field is per unit time).

    Raises
    ------
    InvalidMapError
        When the number of images differs from the number of parameters, or when :math:`\\Phi_0` is not
        the identity (naming the component); smoothness in h at 0 is checked when the map is expanded.
    BeaTypeError
        For input that is not SymPy (a float, a string) or an ``h`` that is not a Symbol.
    """

    images: tuple[sympy.Expr, ...]
    params: tuple[sympy.Symbol, ...]
    h: sympy.Symbol = H
    name: str = "map"
    steps: int = 1

    def __post_init__(self) -> None:
        params = Problem.parameters(self.params).params
        if not isinstance(self.h, sympy.Symbol):
            raise BeaTypeError(f"h must be a SymPy Symbol, got {self.h!r}")
        if self.h in params or any(p.name == self.h.name for p in params):
            raise BeaValueError(f"the step-size symbol {self.h} is also a parameter")
        if isinstance(self.images, (str, bytes)) or not isinstance(self.images, (Sequence, sympy.MatrixBase)):
            raise BeaTypeError(f"images must be a sequence of SymPy expressions, got {self.images!r}")
        raw = list(self.images)
        if len(raw) != len(params):
            raise InvalidMapError(
                f"the map has {count(len(raw), 'expression')} for {count(len(params), 'parameter')} {list(params)}; "
                "give one image per parameter"
            )
        images = []
        for i, value in enumerate(raw):
            expr = exact_expression(value, f"image {i} ({params[i]})")
            same_name = {s: self.h for s in expr.free_symbols if s.name == self.h.name and s != self.h}
            images.append(expr.xreplace(same_name))
        for i, (p, expr) in enumerate(zip(params, images, strict=True)):
            at_zero = expr.subs(self.h, 0)
            if _bad_terms(at_zero) or sympy.simplify(at_zero - p) != 0:
                raise InvalidMapError(
                    f"the map is not near the identity: component {i} ({p}) at {self.h} = 0 is {at_zero}, not {p}"
                )
        if not isinstance(self.name, str) or not self.name:
            raise BeaTypeError(f"name must be a non-empty string, got {self.name!r}")
        object.__setattr__(self, "images", tuple(images))
        object.__setattr__(self, "params", params)
        object.__setattr__(self, "steps", _check_steps(self.steps))

    @property
    def total_steps(self) -> int:
        """The number of steps of size h one application stands for."""
        return self.steps

    def expansion(self, n: int) -> Expansion:
        """The Taylor coefficients :math:`d_0 = \\theta, d_1, \\dots, d_n` of the map in h, per component."""
        return map_expansion(self, n)

    def modified_terms(
        self, problem: Problem, truncation: int, h: sympy.Symbol
    ) -> tuple[sympy.ImmutableMatrix, ...]:
        """The modified field per unit time through :math:`h^{\\text{truncation}}`, by Lie-series matching.

        ``problem`` must have the map's parameters (its field and losses are not used).
        """
        p = check_truncation(truncation)
        _check_params(self.params, problem, self.name)
        return map_field(self, p)

    def bseries(self, order: int) -> BSeries:
        """No B-series: :class:`~bea.errors.NotABSeriesMethodError`."""
        raise _no_bseries(self.name)

    def then(self, other: OneStepMap) -> Composition:
        """This step followed by ``other``, counting their steps."""
        return Composition((self, other))


def _common_params(maps: Sequence[Any], what: str) -> tuple[sympy.Symbol, ...]:
    if isinstance(maps, (str, bytes)) or not isinstance(maps, Sequence) or not maps:
        raise BeaTypeError(f"{what} needs a non-empty sequence of maps, got {maps!r}")
    for k, m in enumerate(maps):
        if not isinstance(m, (OneStepMap, Composition, MeanMap)):
            raise BeaTypeError(f"{what}: item {k} must be a OneStepMap, Composition or MeanMap, got {m!r}")
    params = maps[0].params
    for k, m in enumerate(maps):
        if m.params != params:
            raise BeaValueError(f"{what}: map {k} acts on {list(m.params)}, map 0 on {list(params)}")
    return tuple(params)


_H = sympy.Dummy("h")  # the step symbol of the gradient steps SGD builds


@final
@dataclass(frozen=True)
class Composition:
    """The product of maps, applied in order: ``maps[0]`` first (one epoch, one round of a game).

    ``steps`` is how many steps of size h the product stands for (default: the sum of the maps'
    steps, so m minibatch steps make an epoch of m steps); the field is per unit time. Its modified
    field comes from the truncated composition of the maps' Taylor expansions and Lie-series matching
    (Hairer--Lubich--Wanner, section IX.1; for two steps it agrees with the Baker--Campbell--Hausdorff
    formula, tests/test_maps.py).

    Raises :class:`~bea.errors.BeaTypeError` for an empty sequence or an item that is not a map, and
    :class:`~bea.errors.BeaValueError` for maps on different parameters or ``steps`` < 1.
    """

    maps: tuple[OneStepMap | Composition | MeanMap, ...]
    name: str = "composition"
    steps: int | None = None

    def __post_init__(self) -> None:
        maps = tuple(self.maps) if isinstance(self.maps, (list, tuple)) else self.maps
        _common_params(maps, "Composition")
        object.__setattr__(self, "maps", maps)
        total = sum(m.total_steps for m in maps) if self.steps is None else _check_steps(self.steps)
        object.__setattr__(self, "steps", total)

    @property
    def params(self) -> tuple[sympy.Symbol, ...]:
        """The parameters every map acts on."""
        return self.maps[0].params

    @property
    def total_steps(self) -> int:
        """The number of steps of size h the product stands for."""
        assert self.steps is not None
        return self.steps

    def expansion(self, n: int) -> Expansion:
        """Taylor coefficients through h^n of the product (truncated composition, exact)."""
        return map_expansion(self, n)

    def modified_terms(
        self, problem: Problem, truncation: int, h: sympy.Symbol
    ) -> tuple[sympy.ImmutableMatrix, ...]:
        """The modified field per unit time of the product through :math:`h^{\\text{truncation}}`."""
        p = check_truncation(truncation)
        _check_params(self.params, problem, self.name)
        return map_field(self, p)

    def bseries(self, order: int) -> BSeries:
        """No B-series: :class:`~bea.errors.NotABSeriesMethodError`."""
        raise _no_bseries(self.name)


@final
@dataclass(frozen=True)
class MeanMap:
    """The average :math:`\\frac1K \\sum_k \\Phi^{(k)}` of maps that stand for the same number of steps.

    The mean epoch of random reshuffling is the average of the m! epochs (:class:`SGD`). Raises
    :class:`~bea.errors.BeaTypeError` for an empty sequence or an item that is not a map, and
    :class:`~bea.errors.BeaValueError` for maps on different parameters or of different durations.
    """

    maps: tuple[OneStepMap | Composition | MeanMap, ...]
    name: str = "mean_map"

    def __post_init__(self) -> None:
        maps = tuple(self.maps) if isinstance(self.maps, (list, tuple)) else self.maps
        _common_params(maps, "MeanMap")
        counts = {m.total_steps for m in maps}
        if len(counts) != 1:
            raise BeaValueError(f"MeanMap averages maps of one duration; got steps {sorted(counts)}")
        object.__setattr__(self, "maps", maps)

    @property
    def params(self) -> tuple[sympy.Symbol, ...]:
        """The parameters every map acts on."""
        return self.maps[0].params

    @property
    def total_steps(self) -> int:
        """The number of steps of size h each map stands for."""
        return self.maps[0].total_steps

    def expansion(self, n: int) -> Expansion:
        """Taylor coefficients through h^n of the mean map: the mean of the maps' coefficients."""
        return map_expansion(self, n)

    def modified_terms(
        self, problem: Problem, truncation: int, h: sympy.Symbol
    ) -> tuple[sympy.ImmutableMatrix, ...]:
        """The modified field per unit time of the mean map through :math:`h^{\\text{truncation}}`."""
        p = check_truncation(truncation)
        _check_params(self.params, problem, self.name)
        return map_field(self, p)

    def bseries(self, order: int) -> BSeries:
        """No B-series: :class:`~bea.errors.NotABSeriesMethodError`."""
        raise _no_bseries(self.name)


AnyMap = OneStepMap | Composition | MeanMap


def _leaves(m: AnyMap, found: dict[OneStepMap, None]) -> dict[OneStepMap, None]:
    if isinstance(m, OneStepMap):
        found.setdefault(m)
    else:
        for inner in m.maps:
            _leaves(inner, found)
    return found


def algebra_for(maps: Sequence[AnyMap], n: int) -> Algebra:
    """The algebra in which to expand ``maps`` through :math:`h^n`: the sparse polynomial ring of
    :class:`~bea.methods.map_algebra.RingAlgebra` when every function of the parameters in them fits its rules,
    else :class:`~bea.methods.map_algebra.SymPyAlgebra`. Raises :class:`~bea.errors.InvalidMapError` for a
    map that is not smooth in h at 0."""
    leaves: dict[OneStepMap, None] = {}
    for m in maps:
        _leaves(m, leaves)
    params = maps[0].params
    ring = RingAlgebra.for_maps([(leaf.images, leaf.h, leaf.name) for leaf in leaves], params, n)
    return ring if ring is not None else SymPyAlgebra(params)


def _expand(algebra: Algebra, m: AnyMap, n: int, memo: dict[Any, AlgebraExpansion]) -> AlgebraExpansion:
    """The expansion of ``m`` through h^n in ``algebra``; ``memo`` keeps leaves and shared prefixes of products."""
    if m in memo:
        return memo[m]
    if isinstance(m, OneStepMap):
        out = algebra.leaf(m.images, m.h, n, m.name)
    elif isinstance(m, Composition):
        out = _expand(algebra, m.maps[0], n, memo)
        for k in range(1, len(m.maps)):
            key = ("prefix", m.maps[: k + 1])
            if key not in memo:
                memo[key] = compose(algebra, _expand(algebra, m.maps[k], n, memo), out, n)
            out = memo[key]
    else:
        out = mean(algebra, [_expand(algebra, inner, n, memo) for inner in m.maps])
    memo[m] = out
    return out


def map_expansion(m: AnyMap, n: int, algebra: Algebra | None = None) -> Expansion:
    """The Taylor coefficients :math:`d_0 = \\theta, d_1, \\dots, d_n` in h of a map, product or mean of maps,
    as SymPy columns (computed in ``algebra``, by default :func:`algebra_for`)."""
    alg = algebra_for([m], n) if algebra is None else algebra
    return alg.columns(_expand(alg, m, n, {}))


def map_field(m: AnyMap, truncation: int, algebra: Algebra | None = None) -> tuple[sympy.ImmutableMatrix, ...]:
    """The modified field per unit time of a map, product or mean of maps through :math:`h^{\\text{truncation}}`
    (:math:`f_1, \\dots, f_{p+1}` as columns, the coefficients of :math:`h^0..h^p`), by Lie-series matching.

    ``algebra``: where the arithmetic runs, by default :func:`algebra_for` (the sparse polynomial ring when the
    map's functions allow it); every algebra gives the same exact functions.
    """
    p = check_truncation(truncation)
    alg = algebra_for([m], p + 1) if algebra is None else algebra
    return _columns(alg.columns(lie_matching_in(alg, _expand(alg, m, p + 1, {}), m.total_steps)))


def _gd_steps(problem: Problem, h: sympy.Symbol) -> list[OneStepMap]:
    return [
        OneStepMap(
            tuple(p - h * sympy.diff(loss, p) for p in problem.params), problem.params, h=h, name=f"gd_on_E{k + 1}"
        )
        for k, loss in enumerate(problem.losses)
    ]


@final
@dataclass(frozen=True)
class SGD:
    """Minibatch SGD on :meth:`bea.methods.Problem.minibatches`: one epoch visits the m
    losses once, each with one gradient step :math:`\\theta \\leftarrow \\theta - h\\nabla E_k(\\theta)`.

    ``shuffle="fixed"``: one epoch in the given order (a :class:`Composition` of m steps).
    ``shuffle="random"``: the mean epoch under uniformly random reshuffling; through h¹ in closed form
    for any m (module documentation; Smith, Dherin, Barrett & De, ICLR 2021), beyond by exact enumeration
    of the m! orderings (at most :data:`MAX_ORDERINGS`). The field is per unit time (an epoch lasts m h).
    Fewer than two losses, a game, or an unknown ``shuffle`` raise :class:`~bea.errors.BeaValueError`.

    >>> import sympy
    >>> a, h = sympy.symbols("a h")
    >>> problem = Problem.minibatches([(a - 1)**2 / 2, (a + 1)**2 / 2], [a])
    >>> [t[0] for t in SGD("random").modified_terms(problem, 1, h)]  # E = (a² + 1)/2, Σ|∇E_k|² = 2a² + 2
    [-a, -a/2]
    """

    shuffle: str = "random"

    def __post_init__(self) -> None:
        if self.shuffle not in ("random", "fixed"):
            raise BeaValueError(f"shuffle must be 'random' or 'fixed', got {self.shuffle!r}")

    @property
    def name(self) -> str:
        """``sgd_random`` or ``sgd_fixed``."""
        return f"sgd_{self.shuffle}"

    def modified_terms(
        self, problem: Problem, truncation: int, h: sympy.Symbol
    ) -> tuple[sympy.ImmutableMatrix, ...]:
        """The modified field per unit time of one epoch (fixed) or of the mean epoch (random)."""
        p = check_truncation(truncation)
        m = len(problem.losses)
        if problem.blocks or m < 2:
            raise InvalidLossError(
                f"sgd needs at least two minibatch losses (Problem.minibatches), got {m}"
                + (" losses of a game" if problem.blocks else "")
            )
        steps = _gd_steps(problem, _H)
        if self.shuffle == "fixed":
            return Composition(tuple(steps), name=self.name).modified_terms(problem, p, h)
        if p <= 1:
            return _mean_of_single_steps(steps, problem, p)
        if math.factorial(m) > MAX_ORDERINGS:
            raise BeaValueError(
                f"random reshuffling of {m} minibatches beyond h^1 enumerates {math.factorial(m)} orderings, "
                f"more than {MAX_ORDERINGS}; use truncation <= 1 (closed form) or fewer minibatches"
            )
        epochs = tuple(Composition(tuple(order)) for order in itertools.permutations(steps))
        return MeanMap(epochs, name=self.name).modified_terms(problem, p, h)

    def bseries(self, order: int) -> BSeries:
        """No B-series: :class:`~bea.errors.NotABSeriesMethodError`."""
        raise _no_bseries(self.name)


def _mean_of_single_steps(
    steps: list[OneStepMap], problem: Problem, truncation: int
) -> tuple[sympy.ImmutableMatrix, ...]:
    """Closed form through h¹ of the mean epoch: the mean of the single steps' fields (commutators cancel)."""
    n = truncation + 1
    algebra = algebra_for(steps, n)
    fields = [lie_matching_in(algebra, algebra.leaf(s.images, s.h, n, s.name), 1) for s in steps]
    scale = algebra.scalar(sympy.Rational(1, len(fields)))
    first = fields[0]
    terms = tuple(
        tuple(algebra.tidy(sum((f[j][i] for f in fields[1:]), first[j][i]) * scale) for i in range(len(problem.params)))
        for j in range(n)
    )
    return _columns(algebra.columns(terms))
