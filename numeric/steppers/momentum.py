r"""Heavy-ball and Nesterov momentum, step for step as ``torch.optim.SGD(momentum=β, dampening=0[, nesterov=True])``.

With gradient :math:`g = \nabla E`, learning rate h and momentum buffer :math:`b` (torch's ``momentum_buffer``),
one step is (PyTorch documentation of ``torch.optim.SGD``; Sutskever et al., ICML 2013, for Nesterov)

.. math::
    b_{n+1} = \beta b_n + g(\theta_n), \qquad
    \theta_{n+1} = \theta_n - h\,d_n, \qquad
    d_n = b_{n+1} \ \text{(heavy-ball)}, \quad d_n = g(\theta_n) + \beta b_{n+1} \ \text{(Nesterov)}.

Eliminating the buffer, heavy-ball is :math:`\theta_{n+1} = \theta_n - h g(\theta_n) + \beta(\theta_n - \theta_{n-1})`
(Polyak 1964).

:class:`MomentumStepper` is a :class:`~numeric.steppers.Stepper` bound to its problem, like every stepper: a
loss θ ↦ E(θ) (0-dim tensor; g by ``torch.autograd``) or the field θ ↦ −∇E(θ) (θ's shape; g = −f), on a flat θ.
For an ``nn.Module`` pass a loss closure over the flat parameter vector (``torch.func.functional_call``).
:func:`~numeric.steppers.stepper_for` builds it from :class:`bea.methods.HeavyBall` / :class:`bea.methods.Nesterov`.

**Start.** torch sets :math:`b_1 = g(\theta_0)` at the first step, which is the formula above with
:math:`b_0 = 0`; :meth:`MomentumStepper.init` uses that zero buffer by default (a zero-velocity
start, :math:`\theta_{-1} = \theta_0`). Such a start is *off* the slow manifold of the method: the fast
component decays like :math:`\beta^n`, but the trajectory then follows the modified flow from a point shifted
by O(h). Pass ``momentum_buffer=`` (e.g. the slow-manifold series of :mod:`numeric.memory_drift`) to start on
the manifold.

Tensors: θ and the buffer (``state.buffers[0]``) are 1-D of the same dtype and device.

>>> import torch
>>> hb = MomentumStepper(lambda t: (t**2).sum() / 2, beta=0.5)   # E = θ²/2, g = θ
>>> s = hb.init(torch.tensor([1.0], dtype=torch.float64))
>>> for _ in range(2):
...     s = hb.step(s, 0.1)
>>> s.theta, s.buffers[0], s.count           # b1 = 1, θ1 = 0.9, b2 = 0.5 + 0.9, θ2 = 0.9 - 0.14
(tensor([0.7600], dtype=torch.float64), tensor([1.4000], dtype=torch.float64), 2)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, final

from torch import Tensor

from bea.methods.hyper import float_decay
from bea.methods.momentum import HeavyBall, Nesterov
from bea.validation import check_step_size
from numeric.errors import NumericTypeError
from numeric.steppers.base import StepperState, reject_options, stepper_for
from numeric.steppers.fields import problem_field
from numeric.steppers.memory import gradient_at, start_buffers

__all__ = ["MomentumStepper"]


@final
@dataclass(frozen=True)
class MomentumStepper:
    """``torch.optim.SGD(lr=h, momentum=beta, dampening=0, nesterov=nesterov, weight_decay=0)`` on a flat θ.

    ``field``: a loss θ ↦ E(θ) (0-dim) or the field θ ↦ −∇E(θ); ``beta`` in [0, 1)
    (:class:`bea.errors.HyperparameterValueError` otherwise). ``name`` is ``"heavy_ball"`` or ``"nesterov"``.
    State: ``buffers = (momentum_buffer,)``.
    """

    field: Callable[[Tensor], Any]
    beta: float
    nesterov: bool = False
    buffer_names: ClassVar[tuple[str, ...]] = ("momentum_buffer",)

    def __post_init__(self) -> None:
        object.__setattr__(self, "beta", float_decay("beta", self.beta))
        if not callable(self.field):
            raise NumericTypeError(f"field must be a loss or field callable, got {self.field!r}")
        if not isinstance(self.nesterov, bool):
            raise NumericTypeError(f"nesterov must be a bool, got {self.nesterov!r}")

    @property
    def name(self) -> str:
        """``"nesterov"`` or ``"heavy_ball"``."""
        return "nesterov" if self.nesterov else "heavy_ball"

    def init(self, theta0: Tensor, momentum_buffer: Tensor | None = None, **unknown: Any) -> StepperState:
        """θ_0 and the buffer b_0 (default zero: torch's start), both 1-D on θ_0's dtype and device; another buffer
        name: :class:`~numeric.errors.NumericTypeError` naming ``momentum_buffer``."""
        return start_buffers(self.name, self.field, theta0, {"momentum_buffer": momentum_buffer}, unknown)

    def step(self, state: StepperState, h: float) -> StepperState:
        """One optimiser step of learning rate ``h`` > 0 (the same floating-point operations as torch)."""
        lr = check_step_size(h)
        g = gradient_at(self.field, state)
        buf = state.buffers[0] * self.beta + g  # torch: buf.mul_(momentum).add_(grad, alpha=1 - dampening)
        direction = g + self.beta * buf if self.nesterov else buf  # torch: grad.add(buf, alpha=momentum)
        return StepperState(state.theta - lr * direction, (buf,), state.count + 1, state.cache)


def _momentum(method: HeavyBall | Nesterov, problem: Any, options: dict[str, Any], nesterov: bool) -> MomentumStepper:
    reject_options(method.name, options, ("subs",))
    return MomentumStepper(problem_field(problem, options.get("subs"), method.name), float(method.beta), nesterov)


@stepper_for.register
def _(method: HeavyBall, problem: Any, **options: Any) -> MomentumStepper:
    return _momentum(method, problem, options, nesterov=False)


@stepper_for.register
def _(method: Nesterov, problem: Any, **options: Any) -> MomentumStepper:
    return _momentum(method, problem, options, nesterov=True)
