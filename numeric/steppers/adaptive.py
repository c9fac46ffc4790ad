r"""RMSProp and Adam, step for step as ``torch.optim.RMSprop`` and ``torch.optim.Adam``.

With gradient :math:`g_n = \nabla E(\theta_n)`, learning rate h and elementwise operations
(PyTorch documentation of ``torch.optim.RMSprop`` and ``torch.optim.Adam``; Tieleman & Hinton 2012;
Kingma & Ba, ICLR 2015, Algorithm 1):

.. math::
    \text{RMSProp:}\quad v_{n+1} = \beta_2 v_n + (1-\beta_2) g_n^2,\qquad
    \theta_{n+1} = \theta_n - h\,\frac{g_n}{\sqrt{v_{n+1}} + \varepsilon}

(torch calls β₂ ``alpha``; no momentum, not centred), and

.. math::
    \text{Adam:}\quad m_{n+1} = \beta_1 m_n + (1-\beta_1) g_n,\quad v_{n+1} = \beta_2 v_n + (1-\beta_2) g_n^2,\quad
    \theta_{n+1} = \theta_n - h\,\frac{\hat m_{n+1}}{\sqrt{\hat v_{n+1}} + \varepsilon},\quad
    \hat m_{n+1} = \frac{m_{n+1}}{1-\beta_1^{\,n+1}},\ \hat v_{n+1} = \frac{v_{n+1}}{1-\beta_2^{\,n+1}}.

**Start.** torch starts from :math:`m_0 = v_0 = 0` with bias correction (counting steps from 1); that is
:meth:`Adam.initial_state`'s default and the only setting compared with torch. The analysis in
:mod:`bea.methods.adaptive` is of the *stationary* recursion (no bias correction, moments on the slow
manifold): ``Adam(..., bias_correction=False)`` with ``initial_state(theta, exp_avg=..., exp_avg_sq=...)``.
The smooth variant ``eps_inside=True`` divides by :math:`\sqrt{v + \varepsilon}` instead of
:math:`\sqrt v + \varepsilon` (Cattaneo, Klusowski & Shigida, ICML 2024); it is not a torch option.

Tensors: θ and the moments are 1-D of the same dtype and device; ``grad`` maps θ to ∇E(θ).

>>> import torch
>>> adam = Adam(beta1=0.9, beta2=0.999, eps=1e-8)
>>> s = adam.step(adam.initial_state(torch.tensor([2.0], dtype=torch.float64)), lambda t: t, 0.1)
>>> s.theta  # the first bias-corrected step is h * g/(|g| + eps): a step of almost exactly h
tensor([1.9000], dtype=torch.float64)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import final

import torch
from torch import Tensor

from bea.methods.hyper import float_decay, float_positive
from bea.validation import check_step_size
from numeric.errors import ShapeError

__all__ = ["Adam", "AdamState", "RMSProp", "RMSPropState"]

Gradient = Callable[[Tensor], Tensor]


def _moment(theta: Tensor, value: Tensor | None, name: str) -> Tensor:
    if value is None:
        return torch.zeros_like(theta)
    if tuple(value.shape) != tuple(theta.shape):
        raise ShapeError(f"{name} has shape {tuple(value.shape)}, theta {tuple(theta.shape)}")
    return value.detach().to(theta)


def _flat(theta: Tensor) -> Tensor:
    if theta.ndim != 1:
        raise ShapeError(f"theta must be a 1-D vector, got shape {tuple(theta.shape)}")
    return theta.detach()


@final
@dataclass(frozen=True)
class RMSPropState:
    """θ_n, torch's ``square_avg`` v_n (zeros at the start) and the number of steps taken."""

    theta: Tensor
    square_avg: Tensor
    step: int


@final
@dataclass(frozen=True)
class RMSProp:
    """``torch.optim.RMSprop(lr=h, alpha=beta2, eps=eps)`` (no momentum, not centred) on a flat θ.

    ``beta2`` in [0, 1), ``eps`` > 0 (:class:`bea.errors.HyperparameterValueError` otherwise);
    ``eps_inside=True``: divide by :math:`\\sqrt{v + \\varepsilon}` (not torch).
    """

    beta2: float = 0.99
    eps: float = 1e-8
    eps_inside: bool = False
    name = "rmsprop"

    def __post_init__(self) -> None:
        object.__setattr__(self, "beta2", float_decay("beta2", self.beta2))
        object.__setattr__(self, "eps", float_positive("eps", self.eps))

    def initial_state(self, theta: Tensor, square_avg: Tensor | None = None) -> RMSPropState:
        """θ_0 and v_0 (default zero: torch's start)."""
        theta = _flat(theta)
        return RMSPropState(theta, _moment(theta, square_avg, "square_avg"), 0)

    def step(self, state: RMSPropState, grad: Gradient, h: float) -> RMSPropState:
        """One step of learning rate ``h`` (torch's operations, in torch's order)."""
        lr = check_step_size(h)
        g = grad(state.theta).detach()
        v = state.square_avg * self.beta2 + (1 - self.beta2) * (g * g)  # mul_(alpha).addcmul_(g, g, 1 - alpha)
        denom = (v + self.eps).sqrt() if self.eps_inside else v.sqrt() + self.eps
        return RMSPropState(state.theta - lr * (g / denom), v, state.step + 1)


@final
@dataclass(frozen=True)
class AdamState:
    """θ_n, torch's ``exp_avg`` m_n and ``exp_avg_sq`` v_n (zeros at the start), and the steps taken."""

    theta: Tensor
    exp_avg: Tensor
    exp_avg_sq: Tensor
    step: int


@final
@dataclass(frozen=True)
class Adam:
    """``torch.optim.Adam(lr=h, betas=(beta1, beta2), eps=eps)`` (no weight decay, no AMSGrad) on a flat θ.

    ``bias_correction=False`` drops the factors :math:`1/(1-\\beta^{n+1})` (the stationary recursion that
    :mod:`bea.methods.adaptive` analyses); ``eps_inside=True`` divides by :math:`\\sqrt{\\hat v + \\varepsilon}`.
    Decays in [0, 1), ``eps`` > 0 (:class:`bea.errors.HyperparameterValueError` otherwise).
    """

    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    eps_inside: bool = False
    bias_correction: bool = True
    name = "adam"

    def __post_init__(self) -> None:
        object.__setattr__(self, "beta1", float_decay("beta1", self.beta1))
        object.__setattr__(self, "beta2", float_decay("beta2", self.beta2))
        object.__setattr__(self, "eps", float_positive("eps", self.eps))

    def initial_state(
        self, theta: Tensor, exp_avg: Tensor | None = None, exp_avg_sq: Tensor | None = None
    ) -> AdamState:
        """θ_0 and the moments m_0, v_0 (default zero: torch's start)."""
        theta = _flat(theta)
        return AdamState(theta, _moment(theta, exp_avg, "exp_avg"), _moment(theta, exp_avg_sq, "exp_avg_sq"), 0)

    def step(self, state: AdamState, grad: Gradient, h: float) -> AdamState:
        """One step of learning rate ``h`` (torch's single-tensor operations, in torch's order)."""
        lr = check_step_size(h)
        g = grad(state.theta).detach()
        m = state.exp_avg.lerp(g, 1 - self.beta1)  # torch: exp_avg.lerp_(grad, 1 - beta1)
        v = state.exp_avg_sq * self.beta2 + (1 - self.beta2) * (g * g)  # mul_(beta2).addcmul_(g, g, 1 - beta2)
        n = state.step + 1
        if self.bias_correction:
            step_size = lr / (1 - self.beta1**n)
            root = (1 - self.beta2**n) ** 0.5
        else:
            step_size, root = lr, 1.0
        denom = (v / root**2 + self.eps).sqrt() if self.eps_inside else v.sqrt() / root + self.eps
        return AdamState(state.theta - step_size * (m / denom), m, v, n)
