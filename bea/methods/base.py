r"""What every method offers bea: the :class:`Method` protocol, and the :class:`Problem` it is applied to.

A *method* is anything whose one step of size h bea can expand: a Runge--Kutta tableau, a one-step map
given by formulas, a composition of steps (an SGD epoch, alternating game updates), a method with memory
(heavy-ball, Adam). Every method offers three things:

``name``
    a label (``"explicit_euler"``, ``"sgd_epoch"``...), used in printing and JSON;
``modified_terms(problem, truncation, h)``
    its modified flow on a concrete :class:`Problem`: the terms :math:`f_1, \dots, f_{p+1}` of
    :math:`\tilde f_h = f_1 + h f_2 + \dots + h^p f_{p+1}` (p = ``truncation``), exact SymPy columns in
    the order of ``problem.params``, whose exact flow over the time of one step, h, reproduces one
    step of the method through :math:`h^{p+1}` (Hairer--Lubich--Wanner, *Geometric Numerical
    Integration*, 2nd ed., section IX.1). A step that is made of several sub-steps (an epoch of m
    minibatch steps) says how many steps of size h it counts as, and its field is given *per unit
    time*, so that it compares directly with single-step flows;
``bseries(order)``
    its map B-series through trees of ``order`` nodes, where it has one. Methods without one (maps,
    compositions of different fields, methods with memory) raise
    :class:`~bea.errors.NotABSeriesMethodError`, and so do the features that only make sense for
    B-series (tree coefficients, ``modified_equation``, ``loss_derivative_form``).

Every entry point (:func:`bea.modified_flow`, ``bea derive --method``, and in ``numeric``
``run_method`` and ``drift_check``) takes any object with these three members, or a catalogue name
(:func:`bea.methods.resolve`); none of them asks which class a method belongs to.

A :class:`Problem` is what the method is applied to: the parameters θ (one column order for every
term), and the loss or losses that define the update, so that methods with several losses fit the
same protocol:

* one loss E: the gradient flow :math:`\dot\theta = -\nabla E` (gradient descent, any Runge--Kutta
  method), :meth:`Problem.gradient`;
* m minibatch losses :math:`E_1..E_m`: the flow of their mean :math:`E = \frac1m\sum_k E_k` (an SGD
  epoch visits each once), :meth:`Problem.minibatches`;
* a game: players with their own parameter blocks and losses, player i descending :math:`L_i` in its
  own parameters, :meth:`Problem.game`;
* any vector field :math:`\dot y = f(y)`, :meth:`Problem.vector_field`;
* bare parameters, for methods that carry their own update formulas (one-step maps),
  :meth:`Problem.parameters`.

>>> import sympy
>>> a, b = sympy.symbols("a b")
>>> problem = Problem.gradient((a*b - 1)**2 / 2, [a, b])
>>> problem.loss, problem.field.T
((a*b - 1)**2/2, Matrix([[-b*(a*b - 1), -a*(a*b - 1)]]))
>>> from bea import methods
>>> isinstance(methods.explicit_euler, Method)
True
>>> term = methods.explicit_euler.modified_terms(problem, 1, sympy.Symbol("h"))[1]  # -(1/2) H g
>>> term.applyfunc(sympy.factor).T
Matrix([[-(a*b - 1)*(2*a**2*b - a + b**3)/2, -(a*b - 1)*(a**3 + 2*a*b**2 - b)/2]])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, final, runtime_checkable

import sympy

from bea._text import count
from bea.backward import modified_field_series
from bea.differentials import field_series_terms
from bea.errors import BeaTypeError, BeaValueError, InvalidLossError
from bea.validation import check_truncation, exact_expression

if TYPE_CHECKING:  # pragma: no cover
    from bea.series import BSeries

__all__ = ["Method", "Problem", "bseries_modified_terms", "check_truncation"]


@runtime_checkable
class Method(Protocol):
    """A method bea can analyse (see the module documentation for the contract of each member)."""

    @property
    def name(self) -> str:
        """A short label, e.g. ``"explicit_euler"``."""
        ...

    def modified_terms(
        self, problem: Problem, truncation: int, h: sympy.Symbol
    ) -> tuple[sympy.ImmutableMatrix, ...]:
        """The coefficients of :math:`h^0, \\dots, h^{\\text{truncation}}` of the modified field per unit
        time on ``problem``, each a column in the order of ``problem.params``."""
        ...

    def bseries(self, order: int) -> BSeries:
        """The map B-series through trees with ``order`` nodes; :class:`~bea.errors.NotABSeriesMethodError`
        for methods without one."""
        ...


def bseries_modified_terms(
    method: Method, problem: Problem, truncation: int
) -> tuple[sympy.ImmutableMatrix, ...]:
    """The modified field of a B-series method on ``problem.field`` through :math:`h^{\\text{truncation}}`.

    The tree route, shared by every method with a B-series: term k is
    :math:`\\sum_{|\\tau| = k+1} \\frac{b(\\tau)}{\\sigma(\\tau)} F(\\tau)` with b the modified-equation
    series of ``method.bseries(truncation + 1)`` (Hairer--Lubich--Wanner, section IX.9). A problem
    without a field (bare parameters) raises :class:`~bea.errors.BeaValueError`.
    """
    p = check_truncation(truncation)
    field = problem.require_field(method.name)
    series = modified_field_series(method.bseries(p + 1), p + 1)
    return tuple(sympy.ImmutableMatrix(t) for t in field_series_terms(series, field, problem.params))


def _expr(value: object, what: str) -> sympy.Expr:
    if isinstance(value, sympy.MatrixBase) and value.shape == (1, 1):
        value = value[0, 0]
    return exact_expression(value, what)


def _params(params: object) -> tuple[sympy.Symbol, ...]:
    if isinstance(params, sympy.Symbol):
        params = [params]
    if not isinstance(params, (list, tuple)) or not params:
        raise BeaTypeError(f"params must be a non-empty list of SymPy symbols, got {params!r}")
    seen: set[sympy.Symbol] = set()
    for p in params:
        if not isinstance(p, sympy.Symbol):
            raise BeaTypeError(f"every parameter must be a SymPy Symbol, got {p!r}")
        if p in seen:
            raise InvalidLossError(f"parameter {p} is listed twice")
        seen.add(p)
    return tuple(params)


def _gradient(expr: sympy.Expr, params: Sequence[sympy.Symbol]) -> list[sympy.Expr]:
    return [sympy.diff(expr, p) for p in params]


@final
@dataclass(frozen=True)
class Problem:
    """A concrete problem a method is applied to (immutable; build it with the class methods).

    Attributes
    ----------
    params
        The parameters θ, in the order of every column bea returns.
    losses
        The losses that drive the update: one loss (gradient flow), the m minibatch losses, or one
        loss per player of a game; empty for a vector field or bare parameters.
    blocks
        For a game, ``blocks[i]`` holds the indices (into ``params``) of the parameters of player i,
        who descends ``losses[i]``; empty otherwise.
    field
        The vector field :math:`f(\\theta)` of the unmodified flow: :math:`-\\nabla E` with
        :math:`E = \\frac1m \\sum_k E_k`, the stacked :math:`-\\nabla_{\\theta_i} L_i` of a game, a
        given field, or ``None`` for bare parameters.
    """

    params: tuple[sympy.Symbol, ...]
    losses: tuple[sympy.Expr, ...] = ()
    blocks: tuple[tuple[int, ...], ...] = ()
    field: sympy.ImmutableMatrix | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", _params(self.params))
        losses = tuple(_expr(e, f"loss {k}") for k, e in enumerate(self.losses))
        object.__setattr__(self, "losses", losses)
        blocks = tuple(tuple(b) for b in self.blocks)
        object.__setattr__(self, "blocks", blocks)
        m = len(self.params)
        if blocks:
            if len(blocks) != len(losses):
                raise BeaValueError(f"a game needs one loss per player: {count(len(blocks), 'block')},"
                                    f" {count(len(losses), 'loss', 'losses')}")
            flat = sorted(i for b in blocks for i in b)
            if flat != list(range(m)) or any(not b for b in blocks):
                raise BeaValueError(
                    f"the players' blocks {blocks} must split the {count(m, 'parameter')}, each player owning one"
                )
        if self.field is not None:
            f = self.field
            if isinstance(f, (list, tuple)):
                f = sympy.Matrix([_expr(e, f"field component {i}") for i, e in enumerate(f)])
            if not isinstance(f, sympy.MatrixBase) or f.shape != (m, 1):
                raise BeaValueError(f"the field must be a column of {count(m, 'expression')} "
                                    f"(one per parameter), got {f!r}")
            for i, e in enumerate(f):
                _expr(e, f"field component {i}")
            object.__setattr__(self, "field", sympy.ImmutableMatrix(f))

    @classmethod
    def gradient(cls, loss: object, params: object) -> Problem:
        """The gradient flow :math:`\\dot\\theta = -\\nabla E(\\theta)` of one loss.

        Every parameter must occur in the loss (:class:`~bea.errors.InvalidLossError` otherwise);
        its other free symbols are data.
        """
        return cls.minibatches([loss], params)

    @classmethod
    def minibatches(cls, losses: Sequence[object], params: object) -> Problem:
        """m losses :math:`E_1..E_m` (minibatches); the flow is that of :math:`E = \\frac1m \\sum_k E_k`.

        Raises :class:`~bea.errors.BeaTypeError` for an empty or non-sequence ``losses``, a loss that is not an
        exact SymPy expression or a constant loss, and :class:`~bea.errors.InvalidLossError` for a parameter that
        occurs in none of the losses or is listed twice.
        """
        if isinstance(losses, (str, bytes)) or not isinstance(losses, Sequence) or not losses:
            raise BeaTypeError(f"losses must be a non-empty sequence of SymPy expressions, got {losses!r}")
        exprs = tuple(_expr(e, f"loss {k}") for k, e in enumerate(losses))
        ps = _params(params)
        if any(isinstance(e, sympy.Number) for e in exprs):
            raise BeaTypeError(f"a loss must depend on the parameters, got the constant(s) {list(exprs)}")
        mean = sympy.Add(*exprs) / len(exprs)
        for p in ps:
            if not any(p in e.free_symbols for e in exprs):
                shown = mean if len(exprs) > 1 else exprs[0]
                raise InvalidLossError(f"parameter {p} does not occur in the loss {shown}")
        field = sympy.ImmutableMatrix([-g for g in _gradient(mean, ps)])
        return cls(params=ps, losses=exprs, field=field)

    @classmethod
    def game(cls, players: Sequence[tuple[object, object]]) -> Problem:
        """A game: ``players[i] = (params_i, L_i)``; player i follows :math:`-\\nabla_{\\theta_i} L_i`.

        Raises :class:`~bea.errors.BeaValueError` for fewer than two players and
        :class:`~bea.errors.BeaTypeError` for a player that is not a pair (params, loss).

        >>> import sympy
        >>> x, y = sympy.symbols("x y")
        >>> Problem.game([([x], x*y), ([y], -x*y)]).field.T  # the bilinear game
        Matrix([[-y, x]])
        """
        if not isinstance(players, Sequence) or len(players) < 2:
            raise BeaValueError(f"a game needs at least two players (params, loss), got {players!r}")
        params: list[sympy.Symbol] = []
        blocks: list[tuple[int, ...]] = []
        losses: list[sympy.Expr] = []
        field: list[sympy.Expr] = []
        for i, player in enumerate(players):
            if not isinstance(player, (tuple, list)) or len(player) != 2:
                raise BeaTypeError(f"player {i} must be a pair (params, loss), got {player!r}")
            own = _params(player[0])
            loss = _expr(player[1], f"the loss of player {i}")
            blocks.append(tuple(range(len(params), len(params) + len(own))))
            params.extend(own)
            losses.append(loss)
            field.extend(-g for g in _gradient(loss, own))
        return cls(params=tuple(params), losses=tuple(losses), blocks=tuple(blocks),
                   field=sympy.ImmutableMatrix(field))

    @classmethod
    def vector_field(cls, field: object, params: object) -> Problem:
        """Any vector field :math:`\\dot y = f(y)` (a column or list, one component per parameter)."""
        return cls(params=_params(params), field=field)

    @classmethod
    def parameters(cls, params: object) -> Problem:
        """Bare parameters, for methods that carry their own update formulas (one-step maps)."""
        return cls(params=_params(params))

    @property
    def loss(self) -> sympy.Expr | None:
        """:math:`E = \\frac1m \\sum_k E_k` of a gradient problem (one or more minibatch losses), else None."""
        if not self.losses or self.blocks:
            return None
        return self.losses[0] if len(self.losses) == 1 else sympy.Add(*self.losses) / len(self.losses)

    def symbols(self) -> frozenset[sympy.Symbol]:
        """Every free symbol of the problem: parameters and data."""
        out: set[sympy.Symbol] = set(self.params)
        for e in self.losses:
            out |= e.free_symbols
        if self.field is not None:
            out |= self.field.free_symbols
        return frozenset(out)

    def require_field(self, method: str) -> sympy.ImmutableMatrix:
        """The problem's field, or :class:`~bea.errors.BeaValueError` naming ``method`` when it has none."""
        if self.field is None:
            raise BeaValueError(
                f"{method} is applied to a vector field, but this problem has only parameters "
                f"{list(self.params)}; give a loss (Problem.gradient) or a field (Problem.vector_field)"
            )
        return self.field
