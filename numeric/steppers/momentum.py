r"""Heavy-ball and Nesterov momentum, step for step as ``torch.optim.SGD(momentum=β, dampening=0[, nesterov=True])``.

With gradient :math:`g = \nabla E`, learning rate h and momentum buffer :math:`b` (torch's ``momentum_buffer``),
one step is (PyTorch documentation of ``torch.optim.SGD``; Sutskever et al., ICML 2013, for Nesterov)

.. math::
    b_{n+1} = \beta b_n + g(\theta_n), \qquad
    \theta_{n+1} = \theta_n - h\,d_n, \qquad
    d_n = b_{n+1} \ \text{(heavy-ball)}, \quad d_n = g(\theta_n) + \beta b_{n+1} \ \text{(Nesterov)}.

Eliminating the buffer, heavy-ball is :math:`\theta_{n+1} = \theta_n - h g(\theta_n) + \beta(\theta_n - \theta_{n-1})`
(Polyak 1964).

**Start.** torch sets :math:`b_1 = g(\theta_0)` at the first step, which is the formula above with
:math:`b_0 = 0`; :meth:`MomentumStepper.initial_state` uses that zero buffer by default (a zero-velocity
start, :math:`\theta_{-1} = \theta_0`). Such a start is *off* the slow manifold of the method: the fast
component decays like :math:`\beta^n`, but the trajectory then follows the modified flow from a point shifted
by O(h). Pass ``buffer=`` (e.g. :func:`bea.methods.momentum` start values) to start on the manifold.

Tensors: θ and the buffer are 1-D of the same dtype and device; ``grad`` maps such a θ to ∇E(θ).

>>> import torch
>>> hb = MomentumStepper(beta=0.5)
>>> s = hb.initial_state(torch.tensor([1.0], dtype=torch.float64))
>>> for _ in range(2):
...     s = hb.step(s, lambda t: t, 0.1)       # E = θ²/2
>>> s.theta, s.buffer, s.step                # b1 = 1, θ1 = 0.9, b2 = 0.5 + 0.9, θ2 = 0.9 - 0.14
(tensor([0.7600], dtype=torch.float64), tensor([1.4000], dtype=torch.float64), 2)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import final

import torch
from torch import Tensor

from bea.methods.hyper import float_decay
from bea.validation import check_step_size
from numeric.errors import ShapeError

__all__ = ["MomentumState", "MomentumStepper"]

Gradient = Callable[[Tensor], Tensor]


@final
@dataclass(frozen=True)
class MomentumState:
    """θ_n, torch's momentum buffer b_n (zeros before the first step) and the number of steps taken."""

    theta: Tensor
    buffer: Tensor
    step: int


@final
@dataclass(frozen=True)
class MomentumStepper:
    """``torch.optim.SGD(lr=h, momentum=beta, dampening=0, nesterov=nesterov, weight_decay=0)`` on a flat θ.

    ``beta`` in [0, 1) (:class:`bea.errors.HyperparameterValueError` otherwise). ``name`` is
    ``"heavy_ball"`` or ``"nesterov"``.
    """

    beta: float
    nesterov: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "beta", float_decay("beta", self.beta))
        if not isinstance(self.nesterov, bool):
            raise TypeError(f"nesterov must be a bool, got {self.nesterov!r}")

    @property
    def name(self) -> str:
        """``"nesterov"`` or ``"heavy_ball"``."""
        return "nesterov" if self.nesterov else "heavy_ball"

    def initial_state(self, theta: Tensor, buffer: Tensor | None = None) -> MomentumState:
        """The state before the first step: θ_0 and the buffer b_0 (default zero: torch's start)."""
        theta = theta.detach()
        if theta.ndim != 1:
            raise ShapeError(f"theta must be a 1-D vector, got shape {tuple(theta.shape)}")
        if buffer is None:
            buffer = torch.zeros_like(theta)
        elif tuple(buffer.shape) != tuple(theta.shape):
            raise ShapeError(f"buffer has shape {tuple(buffer.shape)}, theta {tuple(theta.shape)}")
        return MomentumState(theta, buffer.detach().to(theta), 0)

    def step(self, state: MomentumState, grad: Gradient, h: float) -> MomentumState:
        """One optimiser step of learning rate ``h`` > 0 (the same floating-point operations as torch)."""
        lr = check_step_size(h)
        g = grad(state.theta).detach()
        buf = state.buffer * self.beta + g  # torch: buf.mul_(momentum).add_(grad, alpha=1 - dampening)
        direction = g + self.beta * buf if self.nesterov else buf  # torch: grad.add(buf, alpha=momentum)
        return MomentumState(state.theta - lr * direction, buf, state.step + 1)
