r"""The stepper protocol: every method as a discrete trajectory on torch tensors.

A *stepper* runs one method on one concrete problem (a loss, a field, minibatch losses, the losses of a
game) and offers two members:

``init(theta0) -> StepperState``
    the state before the first step: the iterate and, for methods with memory, their buffers
    (velocities, moment estimates). dtype and device follow ``theta0``.
``step(state, h) -> StepperState``
    one step of size h (one epoch for an SGD epoch, one round of updates for a game); a new state,
    on the dtype and device of the old one.

and a ``name``. A stepper whose one ``step`` stands for several steps of size h (an epoch of m minibatch
steps) says so with an optional ``total_steps`` (default 1, read by :func:`total_steps`), as the ``bea``
methods do: its modified flow is per unit time, so ``step`` advances the time by ``total_steps * h``.
:func:`stepper_for` builds the stepper of a ``bea`` method (or method name) on a numeric
problem; each method family registers its own builder in its file (``runge_kutta.py``, ``maps.py``...),
so numeric never asks which class a method is outside that family's file.
:func:`numeric.trajectories.run_method` and :func:`numeric.drift.drift_check` take any stepper, or any
method with a registered builder.

>>> import torch
>>> from bea import methods
>>> stepper = stepper_for(methods.explicit_euler, lambda t: (t**2).sum() / 2)  # GD on E = |θ|²/2
>>> state = stepper.step(stepper.init(torch.tensor([1.0], dtype=torch.float64)), 0.5)
>>> state.theta, state.count
(tensor([0.5000], dtype=torch.float64), 1)
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from torch import Tensor

from numeric.errors import NumericTypeError

__all__ = ["Stepper", "StepperState", "reject_buffers", "reject_options", "stepper_for", "total_steps"]


@dataclass(frozen=True)
class StepperState:
    """The state of a method between steps.

    ``theta``: the current iterate (1-D); ``buffers``: the method's memory (empty for one-step methods;
    velocities or moment estimates for optimisers with memory, each on θ's dtype and device; the state of the
    random-number generator, a CPU ``uint8`` tensor, for randomly reshuffled SGD);
    ``count``: the number of steps taken; ``cache``: solver data that only speeds the next step up
    (the LU factors of an implicit Runge--Kutta method), never part of the mathematical state.
    """

    theta: Tensor
    buffers: tuple[Tensor, ...] = ()
    count: int = 0
    cache: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)


@runtime_checkable
class Stepper(Protocol):
    """One method on one problem, stepping torch tensors (see the module documentation)."""

    @property
    def name(self) -> str:
        """The method's name, as in ``Trajectory.method`` and ``DriftReport.method``."""
        ...

    def init(self, theta0: Tensor) -> StepperState:
        """The state before the first step."""
        ...

    def step(self, state: StepperState, h: float) -> StepperState:
        """The state after one step of size ``h``."""
        ...


@functools.singledispatch
def stepper_for(method: object, problem: Any, **options: Any) -> Stepper:
    """The stepper of the ``bea`` method ``method`` on the numeric ``problem``.

    ``problem`` is what the method needs, in torch or as a :class:`bea.methods.Problem` (SymPy, compiled by
    :mod:`numeric.codegen` with the data in the option ``subs`` bound):

    * Runge--Kutta methods and the optimisers with memory (heavy-ball, Nesterov, RMSProp, Adam): a loss
      callable θ ↦ E(θ) (0-dim) or the field θ ↦ f(θ) (θ's shape; for the optimisers f = −∇E), on a flat θ;
    * an SGD epoch: the sequence of minibatch loss callables;
    * a game: the sequence of ``(indices, loss)`` pairs, player i owning ``theta[indices]``;
    * a one-step map, a composition or a mean of maps: ``None`` (they carry their own formulas).

    ``options`` go to the family's builder (``subs``; ``tol``, ``max_iter`` for implicit Runge--Kutta
    methods; ``seed`` for randomly reshuffled SGD); an option a family does not know raises
    :class:`~numeric.errors.NumericTypeError`. Families register builders with ``@stepper_for.register``.
    """
    name = getattr(method, "name", type(method).__name__)
    raise NumericTypeError(f"no numeric stepper is known for the method {name!r} ({type(method).__name__})")


@stepper_for.register
def _by_name(method: str, problem: Any, **options: Any) -> Stepper:
    # bea's one names rule: a catalogue name stands for its method; optimiser names ("adam", "sgd") are refused
    # by bea.methods.resolve with what to construct instead
    from bea.methods import resolve

    return stepper_for(resolve(method), problem, **options)


def reject_options(name: str, options: dict[str, Any], known: tuple[str, ...] = ()) -> None:
    """Raise :class:`~numeric.errors.NumericTypeError` for any option outside ``known``."""
    unknown = sorted(k for k, v in options.items() if k not in known and v is not None)
    if unknown:
        raise NumericTypeError(f"the stepper of {name} takes no option {', '.join(unknown)}")


def reject_buffers(name: str, given: dict[str, Any], accepted: tuple[str, ...] = ()) -> None:
    """Raise :class:`~numeric.errors.NumericTypeError` for a buffer given to ``init`` that the stepper ``name`` does
    not have, naming the buffers it has (torch's state names) or saying it has none."""
    unknown = sorted(given)
    if unknown:
        has = f"its buffers: {', '.join(accepted)} (torch's state names)" if accepted else "it has no buffers"
        raise NumericTypeError(f"the stepper {name} has no buffer {', '.join(unknown)}; {has}")


def total_steps(stepper: object) -> int:
    """How many steps of size h one ``step`` of ``stepper`` stands for: its ``total_steps`` if it declares one
    (a positive integer, else :class:`~numeric.errors.NumericTypeError`), otherwise 1."""
    value = getattr(stepper, "total_steps", 1)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise NumericTypeError(f"total_steps of the stepper {getattr(stepper, 'name', stepper)!r} must be a "
                               f"positive integer, got {value!r}")
    return value
