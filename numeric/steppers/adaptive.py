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
:func:`~numeric.steppers.stepper_for` builds the stationary stepper (``bias_correction=False``) of
:class:`bea.methods.RMSProp` / :class:`bea.methods.Adam`, the recursion their modified flows describe.

Both are :class:`~numeric.steppers.Stepper` s bound to their problem: a loss θ ↦ E(θ) (0-dim; g by
``torch.autograd``) or the field θ ↦ −∇E(θ) (θ's shape; g = −f), on a flat θ (for an ``nn.Module``, a loss
closure over the flat parameter vector).

Tensors: θ and the moments (``state.buffers``, in the order of ``buffer_names``) are 1-D of the same dtype and
device; ``state.count`` is the number of steps taken (Adam's bias correction counts from it).

>>> import torch
>>> adam = Adam(lambda t: (t**2).sum() / 2, beta1=0.9, beta2=0.999, eps=1e-8)  # g = θ
>>> s = adam.step(adam.init(torch.tensor([2.0], dtype=torch.float64)), 0.1)
>>> s.theta  # the first bias-corrected step is h * g/(|g| + eps): a step of almost exactly h
tensor([1.9000], dtype=torch.float64)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, final

from torch import Tensor

from bea.methods import adaptive as symbolic
from bea.methods.hyper import float_decay, float_positive
from bea.validation import check_step_size
from numeric.errors import NumericTypeError
from numeric.steppers.base import StepperState, reject_options, stepper_for
from numeric.steppers.fields import problem_field
from numeric.steppers.memory import gradient_at, start_buffers

__all__ = ["Adam", "RMSProp"]


def _check(field: object, *flags: tuple[str, object]) -> None:
    if not callable(field):
        raise NumericTypeError(f"field must be a loss or field callable, got {field!r}")
    for name, value in flags:
        if not isinstance(value, bool):
            raise NumericTypeError(f"{name} must be a bool, got {value!r}")


@final
@dataclass(frozen=True)
class RMSProp:
    """``torch.optim.RMSprop(lr=h, alpha=beta2, eps=eps)`` (no momentum, not centred) on a flat θ.

    ``field``: a loss θ ↦ E(θ) (0-dim) or the field θ ↦ −∇E(θ). ``beta2`` in [0, 1), ``eps`` > 0
    (:class:`bea.errors.HyperparameterValueError` otherwise); ``eps_inside=True``: divide by
    :math:`\\sqrt{v + \\varepsilon}` (not torch). State: ``buffers = (square_avg,)``.
    """

    field: Callable[[Tensor], Any]
    beta2: float = 0.99
    eps: float = 1e-8
    eps_inside: bool = False
    name: ClassVar[str] = "rmsprop"
    buffer_names: ClassVar[tuple[str, ...]] = ("square_avg",)

    def __post_init__(self) -> None:
        object.__setattr__(self, "beta2", float_decay("beta2", self.beta2))
        object.__setattr__(self, "eps", float_positive("eps", self.eps))
        _check(self.field, ("eps_inside", self.eps_inside))

    def init(self, theta0: Tensor, square_avg: Tensor | None = None, **unknown: Any) -> StepperState:
        """θ_0 and v_0 (default zero: torch's start); another buffer name: :class:`~numeric.errors.NumericTypeError`."""
        return start_buffers(self.name, self.field, theta0, {"square_avg": square_avg}, unknown)

    def step(self, state: StepperState, h: float) -> StepperState:
        """One step of learning rate ``h`` (torch's operations, in torch's order)."""
        lr = check_step_size(h)
        g = gradient_at(self.field, state)
        v = state.buffers[0] * self.beta2 + (1 - self.beta2) * (g * g)  # mul_(alpha).addcmul_(g, g, 1 - alpha)
        denom = (v + self.eps).sqrt() if self.eps_inside else v.sqrt() + self.eps
        return StepperState(state.theta - lr * (g / denom), (v,), state.count + 1, state.cache)


@final
@dataclass(frozen=True)
class Adam:
    """``torch.optim.Adam(lr=h, betas=(beta1, beta2), eps=eps)`` (no weight decay, no AMSGrad) on a flat θ.

    ``field``: a loss θ ↦ E(θ) (0-dim) or the field θ ↦ −∇E(θ). ``bias_correction=False`` drops the factors
    :math:`1/(1-\\beta^{n+1})` (the stationary recursion that :mod:`bea.methods.adaptive` analyses);
    ``eps_inside=True`` divides by :math:`\\sqrt{\\hat v + \\varepsilon}`. Decays in [0, 1), ``eps`` > 0
    (:class:`bea.errors.HyperparameterValueError` otherwise). State: ``buffers = (exp_avg, exp_avg_sq)``.
    """

    field: Callable[[Tensor], Any]
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    eps_inside: bool = False
    bias_correction: bool = True
    name: ClassVar[str] = "adam"
    buffer_names: ClassVar[tuple[str, ...]] = ("exp_avg", "exp_avg_sq")

    def __post_init__(self) -> None:
        object.__setattr__(self, "beta1", float_decay("beta1", self.beta1))
        object.__setattr__(self, "beta2", float_decay("beta2", self.beta2))
        object.__setattr__(self, "eps", float_positive("eps", self.eps))
        _check(self.field, ("eps_inside", self.eps_inside), ("bias_correction", self.bias_correction))

    def init(self, theta0: Tensor, exp_avg: Tensor | None = None, exp_avg_sq: Tensor | None = None,
             **unknown: Any) -> StepperState:
        """θ_0 and the moments m_0, v_0 (default zero: torch's start); another buffer name:
        :class:`~numeric.errors.NumericTypeError`."""
        return start_buffers(self.name, self.field, theta0, {"exp_avg": exp_avg, "exp_avg_sq": exp_avg_sq}, unknown)

    def step(self, state: StepperState, h: float) -> StepperState:
        """One step of learning rate ``h`` (torch's single-tensor operations, in torch's order)."""
        lr = check_step_size(h)
        g = gradient_at(self.field, state)
        exp_avg, exp_avg_sq = state.buffers
        m = exp_avg.lerp(g, 1 - self.beta1)  # torch: exp_avg.lerp_(grad, 1 - beta1)
        v = exp_avg_sq * self.beta2 + (1 - self.beta2) * (g * g)  # mul_(beta2).addcmul_(g, g, 1 - beta2)
        n = state.count + 1
        if self.bias_correction:
            step_size = lr / (1 - self.beta1**n)
            root = (1 - self.beta2**n) ** 0.5
        else:
            step_size, root = lr, 1.0
        denom = (v / root**2 + self.eps).sqrt() if self.eps_inside else v.sqrt() / root + self.eps
        return StepperState(state.theta - step_size * (m / denom), (m, v), n, state.cache)


@stepper_for.register
def _(method: symbolic.RMSProp, problem: Any, **options: Any) -> RMSProp:
    reject_options(method.name, options, ("subs",))
    return RMSProp(problem_field(problem, options.get("subs"), method.name), float(method.beta2), float(method.eps),
                   eps_inside=method.eps_inside)


@stepper_for.register
def _(method: symbolic.Adam, problem: Any, **options: Any) -> Adam:
    """The stationary recursion the modified flow describes (no bias correction; ``bias_correction=True``
    for torch's)."""
    reject_options(method.name, options, ("subs", "bias_correction"))
    correction = options.get("bias_correction")
    return Adam(problem_field(problem, options.get("subs"), method.name), float(method.beta1), float(method.beta2),
                float(method.eps), eps_inside=method.eps_inside, bias_correction=bool(correction))
