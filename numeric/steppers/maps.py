r"""Steppers for the methods given by their updates: one-step maps, compositions, means of maps, minibatch SGD
epochs and gradient descent on games (:mod:`bea.methods.maps`, :mod:`bea.methods.games`), in torch.

* :class:`MapStepper`: a :class:`~bea.methods.maps.OneStepMap` (its SymPy images compiled by
  :mod:`numeric.codegen`, data bound by ``subs``), a :class:`~bea.methods.maps.Composition` (the maps applied
  first to last, each with step h) or a :class:`~bea.methods.maps.MeanMap` (the mean of the maps' images).
* :class:`SGDStepper`: one epoch of minibatch gradient descent, :math:`\theta \leftarrow \theta - h\nabla E_k(\theta)`
  for each of the m minibatches once: in the given order (``"fixed"``), in an order drawn uniformly at random
  per epoch by a seeded ``torch.Generator`` (``"random"``: random reshuffling), or the mean over all m!
  orders of the epoch map (``"mean"``: the map whose modified flow :class:`bea.methods.SGD` ``("random")``
  derives; Smith, Dherin, Barrett & De, ICLR 2021).
* :class:`GameStepper`: one round of simultaneous or alternating gradient descent on a game, player i stepping
  :math:`\theta_i \leftarrow \theta_i - r_i h \nabla_{\theta_i} L_i` (Rosca et al., ICML 2021).

**Time.** As in bea, one ``step`` stands for ``total_steps`` steps of size h (an epoch of m minibatch steps:
m; a round of a game: 1; a map: its ``total_steps``), and the modified flow is per unit time: n steps of the
stepper compare with the flow at time ``n * total_steps * h``. :func:`numeric.drift.drift_check` reads it with
:func:`numeric.steppers.base.total_steps`.

:func:`~numeric.steppers.stepper_for` builds them from the bea methods: ``stepper_for(OneStepMap(...), None,
subs={...})``, ``stepper_for(SGD("fixed"), losses)``, ``stepper_for(SGD("random"), losses)`` (the mean map) or
``stepper_for(SGD("random"), losses, seed=0)`` (sampled orders), ``stepper_for(GameGD(...), players)``; the
problem may also be the :class:`bea.methods.Problem` the modified flow was derived on (compiled, ``subs``).

>>> import sympy, torch
>>> from bea.methods.maps import OneStepMap
>>> x, h = sympy.symbols("x h")
>>> step = MapStepper(OneStepMap([x - h * x**3], [x]))  # gradient descent on E = x⁴/4
>>> step.step(step.init(torch.tensor([1.0], dtype=torch.float64)), 0.5).theta
tensor([0.5000], dtype=torch.float64)
>>> sgd = SGDStepper([lambda t: ((t - 1)**2).sum() / 2, lambda t: ((t + 1)**2).sum() / 2], "fixed")
>>> sgd.step(sgd.init(torch.tensor([0.0], dtype=torch.float64)), 0.5).theta  # 0 → 0.5 → 0.5 - 0.75
tensor([-0.2500], dtype=torch.float64)
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, final

import sympy
import torch
from torch import Tensor

from bea.errors import BeaValueError
from bea.methods import Problem
from bea.methods.games import GameGD
from bea.methods.maps import MAX_ORDERINGS, SGD, Composition, MeanMap, OneStepMap
from bea.validation import check_step_size
from numeric.errors import NumericTypeError, ShapeError
from numeric.steppers.base import StepperState, reject_buffers, reject_options, stepper_for
from numeric.steppers.fields import Field, as_field, compile_column

__all__ = ["SHUFFLES", "GameStepper", "MapStepper", "SGDStepper"]

#: The orders of :class:`SGDStepper`: the given order, random reshuffling, the mean over all orders.
SHUFFLES = ("fixed", "random", "mean")

AnyMap = OneStepMap | Composition | MeanMap
Update = Callable[[Tensor, float], Tensor]


def _flat(theta0: Tensor, m: int | None = None) -> Tensor:
    if not isinstance(theta0, Tensor) or theta0.ndim != 1:
        raise ShapeError(f"theta0 must be a 1-D tensor, got {getattr(theta0, 'shape', theta0)!r}")
    if m is not None and theta0.shape[0] != m:
        raise ShapeError(f"theta0 must hold one entry per parameter of the method ({m}), got shape "
                         f"{tuple(theta0.shape)}")
    return theta0.detach()


def _compile_map(method: AnyMap, subs: Mapping[Any, Any] | None) -> Update:
    """θ, h ↦ the map's image, compiled once."""
    if isinstance(method, OneStepMap):
        fn = compile_column(sympy.ImmutableMatrix(method.images), method.params, subs, keep=(method.h,))
        name = method.h.name
        if name not in fn.names:  # the identity map: no h in the images
            return lambda theta, h: fn(theta)
        return lambda theta, h: fn(theta, **{name: h})
    parts = [_compile_map(m, subs) for m in method.maps]
    if isinstance(method, Composition):
        def composed(theta: Tensor, h: float) -> Tensor:
            for part in parts:
                theta = part(theta, h)
            return theta
        return composed
    k = len(parts)
    return lambda theta, h: sum((part(theta, h) for part in parts), torch.zeros_like(theta)) / k


@final
@dataclass(frozen=True)
class MapStepper:
    """A :class:`~bea.methods.maps.OneStepMap`, :class:`~bea.methods.maps.Composition` or
    :class:`~bea.methods.maps.MeanMap` on a flat θ in the order of ``method.params``.

    ``subs``: values of the data symbols of the images (symbol or name → number); every symbol other than the
    parameters and h must be bound (:class:`~numeric.errors.UnboundSymbolError` at the first step otherwise).
    ``total_steps``: the map's (one ``step`` stands for that many steps of size h).
    """

    method: AnyMap
    subs: Mapping[Any, Any] | None = None
    _update: Update = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.method, (OneStepMap, Composition, MeanMap)):
            raise NumericTypeError(f"method must be a OneStepMap, Composition or MeanMap, got {self.method!r}")
        object.__setattr__(self, "subs", dict(self.subs or {}))
        object.__setattr__(self, "_update", _compile_map(self.method, self.subs))

    def __reduce__(self) -> tuple[Any, ...]:  # the compiled update is rebuilt, not pickled
        return (MapStepper, (self.method, self.subs))

    @property
    def name(self) -> str:
        """The map's name."""
        return self.method.name

    @property
    def total_steps(self) -> int:
        """How many steps of size h one application of the map stands for."""
        return self.method.total_steps

    def init(self, theta0: Tensor, **unknown: Any) -> StepperState:
        """θ0 (1-D, one entry per parameter of the map)."""
        reject_buffers(self.name, unknown)
        return StepperState(theta=_flat(theta0, len(self.method.params)))

    def step(self, state: StepperState, h: float) -> StepperState:
        """θ ↦ Φ_h(θ), on θ's dtype and device."""
        new = self._update(state.theta, check_step_size(h))
        return StepperState(theta=new.detach(), count=state.count + 1, cache=state.cache)


def _minibatch_fields(problem: Any, subs: Mapping[Any, Any] | None, name: str) -> tuple[Callable[[Tensor], Any], ...]:
    """The m minibatch losses or fields of ``problem``: callables, or a bea Problem compiled (−∇E_k)."""
    if isinstance(problem, Problem):
        if problem.blocks or len(problem.losses) < 2:
            raise BeaValueError(f"{name} needs a problem with at least two minibatch losses (Problem.minibatches)")
        return tuple(
            compile_column([-sympy.diff(loss, p) for p in problem.params], problem.params, subs)
            for loss in problem.losses
        )
    if subs:
        raise NumericTypeError(f"subs applies to a bea Problem; the minibatch losses given to {name} must bind "
                               "their data")
    if isinstance(problem, (str, bytes)) or not isinstance(problem, Sequence):
        raise NumericTypeError(f"{name} runs on a sequence of minibatch loss callables, got {problem!r}")
    for k, fn in enumerate(problem):
        if not callable(fn):
            raise NumericTypeError(f"minibatch {k} of {name} must be a loss or field callable, got {fn!r}")
    return tuple(problem)


@final
@dataclass(frozen=True)
class SGDStepper:
    """One epoch of minibatch SGD over ``losses`` (m ≥ 2 callables on a flat θ: losses θ ↦ E_k(θ), 0-dim, or
    fields θ ↦ −∇E_k(θ)).

    ``shuffle``: ``"fixed"`` (the given order every epoch), ``"random"`` (a uniformly random order per epoch,
    drawn by ``torch.randperm`` from a CPU ``torch.Generator`` seeded with ``seed``; its state is the state's
    only buffer, so a replay from a saved state repeats the same orders) or ``"mean"`` (the mean of the m!
    epoch maps, at most :data:`bea.methods.maps.MAX_ORDERINGS` orders: the map bea's ``SGD("random")``
    describes). ``seed`` (an int) is required for ``"random"`` and refused otherwise. ``name``:
    ``sgd_fixed`` or ``sgd_random`` (the random and the mean epoch), as :class:`bea.methods.SGD`.
    ``total_steps`` = m. Errors: :class:`~bea.errors.BeaValueError` (fewer than two losses, unknown shuffle,
    too many orders), :class:`~numeric.errors.NumericTypeError` (not callables, a bad seed).
    """

    losses: tuple[Callable[[Tensor], Any], ...]
    shuffle: str = "fixed"
    seed: int | None = None

    def __post_init__(self) -> None:
        losses = _minibatch_fields(self.losses, None, "SGD")
        if len(losses) < 2:
            raise BeaValueError(f"SGD needs at least two minibatch losses, got {len(losses)}")
        object.__setattr__(self, "losses", losses)
        if self.shuffle not in SHUFFLES:
            raise BeaValueError(f"shuffle must be one of {', '.join(SHUFFLES)}, got {self.shuffle!r}")
        if self.shuffle == "random":
            if isinstance(self.seed, bool) or not isinstance(self.seed, int):
                raise NumericTypeError(f"random reshuffling needs an integer seed for its torch.Generator, got "
                                       f"{self.seed!r}")
        elif self.seed is not None:
            raise NumericTypeError(f"seed applies to shuffle='random', not {self.shuffle!r}")
        if self.shuffle == "mean" and math.factorial(len(losses)) > MAX_ORDERINGS:
            raise BeaValueError(f"the mean epoch of {len(losses)} minibatches averages {math.factorial(len(losses))} "
                                f"orders, more than {MAX_ORDERINGS}; use shuffle='random' with a seed")

    @property
    def name(self) -> str:
        """``sgd_fixed`` or ``sgd_random``."""
        return "sgd_fixed" if self.shuffle == "fixed" else "sgd_random"

    @property
    def total_steps(self) -> int:
        """m: an epoch is m steps of size h."""
        return len(self.losses)

    def init(self, theta0: Tensor, **unknown: Any) -> StepperState:
        """θ0, the minibatch fields resolved once, and for ``"random"`` the seeded generator's state."""
        reject_buffers(self.name, unknown)
        theta = _flat(theta0)
        buffers: tuple[Tensor, ...] = ()
        if self.shuffle == "random":
            assert self.seed is not None
            buffers = (torch.Generator().manual_seed(self.seed).get_state(),)
        state = StepperState(theta=theta, buffers=buffers)
        state.cache["fields"] = tuple(as_field(fn, theta) for fn in self.losses)
        return state

    def _epoch(self, fields: tuple[Field, ...], theta: Tensor, h: float, order: Sequence[int]) -> Tensor:
        for k in order:
            theta = theta + h * fields[k](theta)
        return theta

    def step(self, state: StepperState, h: float) -> StepperState:
        """One epoch: each minibatch once, with step h."""
        h = check_step_size(h)
        fields = state.cache.get("fields") or tuple(as_field(fn, state.theta) for fn in self.losses)
        m = len(fields)
        buffers = state.buffers
        if self.shuffle == "fixed":
            new = self._epoch(fields, state.theta, h, range(m))
        elif self.shuffle == "random":
            gen = torch.Generator()
            gen.set_state(state.buffers[0])
            order = torch.randperm(m, generator=gen).tolist()
            new = self._epoch(fields, state.theta, h, order)
            buffers = (gen.get_state(),)
        else:
            orders = list(itertools.permutations(range(m)))
            total = sum((self._epoch(fields, state.theta, h, order) for order in orders), torch.zeros_like(state.theta))
            new = total / len(orders)
        return StepperState(theta=new.detach(), buffers=buffers, count=state.count + 1, cache=state.cache)


Player = tuple[tuple[int, ...], Callable[[Tensor], Any]]


def _players(problem: Any, subs: Mapping[Any, Any] | None, name: str) -> tuple[Player, ...]:
    """(indices, θ ↦ ∇_{θ_i} L_i(θ) or L_i(θ)) per player: from a bea game Problem (compiled block gradients
    ``_Gradient``) or as given."""
    if isinstance(problem, Problem):
        if not problem.blocks:
            raise BeaValueError(f"{name} needs a game (Problem.game), got a problem without players")
        out = []
        for block, loss in zip(problem.blocks, problem.losses, strict=True):
            column = [sympy.diff(loss, p) if i in block else sympy.Integer(0) for i, p in enumerate(problem.params)]
            out.append((block, _BlockGradient(compile_column(column, problem.params, subs), block)))
        return tuple(out)
    if subs:
        raise NumericTypeError(f"subs applies to a bea Problem; the players' losses given to {name} must bind "
                               "their data")
    if isinstance(problem, (str, bytes)) or not isinstance(problem, Sequence) or len(problem) < 2:
        raise NumericTypeError(f"{name} runs on a sequence of (indices, loss) pairs, one per player, got {problem!r}")
    players = []
    for i, player in enumerate(problem):
        if not isinstance(player, (tuple, list)) or len(player) != 2 or not callable(player[1]):
            raise NumericTypeError(f"player {i} must be a pair (indices, loss callable), got {player!r}")
        indices = tuple(int(j) for j in player[0])
        players.append((indices, player[1]))
    return tuple(players)


@final
@dataclass(frozen=True)
class _BlockGradient:
    """A compiled θ ↦ ∇_{θ_i} L_i(θ) (marks a player given by its gradient, not by its loss); ``fn`` returns the
    full column (zero outside the player's ``block``)."""

    fn: Callable[[Tensor], Tensor]
    block: tuple[int, ...]

    def __call__(self, theta: Tensor) -> Tensor:
        return self.fn(theta)[list(self.block)]


def _block_gradient(player: Player, theta: Tensor) -> Tensor:
    indices, fn = player
    if isinstance(fn, _BlockGradient):
        return fn(theta)
    with torch.enable_grad():
        t = theta.detach().requires_grad_(True)
        value = fn(t)
        if not isinstance(value, Tensor) or value.ndim != 0:
            raise ShapeError(f"a player's loss must return a 0-dim tensor, got {value!r}")
        (grad,) = torch.autograd.grad(value, t)
    return grad[list(indices)]


@final
@dataclass(frozen=True)
class GameStepper:
    """One round of gradient descent on a game: player i owns ``theta[indices_i]`` and descends its loss L_i
    (a callable on the whole flat θ, 0-dim) with learning rate ``rates[i] * h``; all players from the same point
    (``alternating=False``: simultaneous) or one after the other in the given order (``alternating=True``).

    ``players``: ``((indices_0, L_0), (indices_1, L_1), ...)``, the index blocks splitting θ. ``rates``: positive
    floats, one per player. ``name``: ``simultaneous_gd`` or ``alternating_gd``, as :class:`bea.methods.GameGD`.
    One round is one step of size h (Rosca, Wu, Dherin & Barrett, ICML 2021).
    """

    players: tuple[Player, ...]
    rates: tuple[float, ...]
    alternating: bool = False

    def __post_init__(self) -> None:
        players = _players(self.players, None, "a game")
        object.__setattr__(self, "players", players)
        rates = tuple(self.rates) if isinstance(self.rates, (list, tuple)) else self.rates
        if not isinstance(rates, tuple) or len(rates) != len(players):
            raise BeaValueError(f"a game needs one rate per player ({len(players)}), got {self.rates!r}")
        object.__setattr__(self, "rates", tuple(check_step_size(r, name=f"the rate of player {i}")
                                                for i, r in enumerate(rates)))
        flat = sorted(j for indices, _ in players for j in indices)
        if flat != list(range(len(flat))) or any(not indices for indices, _ in players):
            raise BeaValueError(f"the players' indices {[list(i) for i, _ in players]} must split θ's entries "
                                "0..m-1, each player owning at least one")
        if not isinstance(self.alternating, bool):
            raise NumericTypeError(f"alternating must be True or False, got {self.alternating!r}")

    @property
    def name(self) -> str:
        """``alternating_gd`` or ``simultaneous_gd``."""
        return "alternating_gd" if self.alternating else "simultaneous_gd"

    def init(self, theta0: Tensor, **unknown: Any) -> StepperState:
        """θ0, with one entry per parameter of the players."""
        reject_buffers(self.name, unknown)
        return StepperState(theta=_flat(theta0, sum(len(i) for i, _ in self.players)))

    def step(self, state: StepperState, h: float) -> StepperState:
        """One round: every player once."""
        h = check_step_size(h)
        theta = state.theta
        if self.alternating:
            for player, rate in zip(self.players, self.rates, strict=True):
                theta = theta.index_add(0, _index(player, theta), -(rate * h) * _block_gradient(player, theta))
        else:
            steps = [-(rate * h) * _block_gradient(player, theta) for player, rate in zip(self.players, self.rates,
                                                                                           strict=True)]
            for player, delta in zip(self.players, steps, strict=True):
                theta = theta.index_add(0, _index(player, theta), delta)
        return StepperState(theta=theta.detach(), count=state.count + 1, cache=state.cache)


def _index(player: Player, theta: Tensor) -> Tensor:
    return torch.tensor(player[0], dtype=torch.long, device=theta.device)


def _rates(method: GameGD, subs: Mapping[Any, Any] | None) -> tuple[float, ...]:
    given = {(k.name if isinstance(k, sympy.Symbol) else str(k)): v for k, v in (subs or {}).items()}
    out = []
    for i, rate in enumerate(method.rates):
        value = rate.xreplace({s: sympy.sympify(given[s.name]) for s in rate.free_symbols if s.name in given})
        if value.free_symbols:
            raise NumericTypeError(f"the rate of player {i} is {rate}: give {sorted(map(str, value.free_symbols))} "
                                   "a value with subs")
        out.append(float(value))
    return tuple(out)


def _check_map_problem(method: AnyMap, problem: Any) -> None:
    if problem is None:
        return
    if not isinstance(problem, Problem):
        raise NumericTypeError(f"{method.name} carries its own update; pass problem=None (or the bea Problem of "
                               f"its parameters), got {problem!r}")
    if problem.params != method.params:
        raise BeaValueError(f"{method.name} acts on {list(method.params)}, the problem on {list(problem.params)}")


@stepper_for.register(OneStepMap)
@stepper_for.register(Composition)
@stepper_for.register(MeanMap)
def _(method: AnyMap, problem: Any, **options: Any) -> MapStepper:
    reject_options(method.name, options, ("subs",))
    _check_map_problem(method, problem)
    return MapStepper(method, options.get("subs"))


@stepper_for.register
def _(method: SGD, problem: Any, **options: Any) -> SGDStepper:
    """``shuffle="random"``: the mean epoch (the map the flow describes), or sampled orders given a ``seed``."""
    reject_options(method.name, options, ("subs", "seed"))
    seed = options.get("seed")
    if method.shuffle == "fixed" and seed is not None:
        raise NumericTypeError("seed applies to SGD('random'); SGD('fixed') visits the minibatches in order")
    shuffle = "fixed" if method.shuffle == "fixed" else "mean" if seed is None else "random"
    return SGDStepper(_minibatch_fields(problem, options.get("subs"), method.name), shuffle, seed)


@stepper_for.register
def _(method: GameGD, problem: Any, **options: Any) -> GameStepper:
    reject_options(method.name, options, ("subs",))
    subs = options.get("subs")
    return GameStepper(_players(problem, subs, method.name), _rates(method, subs), method.alternating)
