r"""Explicit gradient regularisation (EGR) for ordinary torch training loops.

EGR trains on the regularised loss

.. math::
    L_\mu(\theta) = E(\theta) + \mu\,\|\nabla E(\theta)\|^2, \qquad
    \nabla L_\mu = g + 2\mu\,H g, \quad g = \nabla E,\ H = \nabla^2 E,

(Barrett & Dherin, *Implicit Gradient Regularization*, ICLR 2021, §4 and §6; the exact
route is the double backpropagation of Drucker & LeCun, IEEE TNN 1992, there applied to
gradients with respect to the inputs). With
:math:`\mu = h/4` this is :math:`-1\times` the order-1 modified field of gradient descent
with learning rate h, i.e. the IGR flow :math:`\tilde E = E + \lambda R_{IG}`,
:math:`\lambda = hm/4` (see :mod:`numeric.igr`). Two ways to form :math:`Hg`:

:class:`DoubleBackprop` (exact):
:math:`g` is computed with ``create_graph=True`` and one more reverse pass through
that graph gives :math:`H g = \nabla_\theta\langle g(\theta), v\rangle|_{v = g}`. Cost:
about one forward and two to three backward passes; memory: the graph of the backward pass.

:class:`FiniteDifference` (two gradient evaluations):
with :math:`\hat g = g/\|g\|` and a step of length :math:`\varepsilon` in parameter space,

.. math::
    2Hg \approx \frac{2\|g\|}{\varepsilon}\big(\nabla E(\theta + \varepsilon\hat g) - \nabla E(\theta)\big),

whose error is :math:`\varepsilon\|g\|\,\nabla^3E[\hat g,\hat g] + O(\varepsilon^2)`, i.e.
O(ε). ``central=True`` uses :math:`\nabla E(\theta \pm \varepsilon\hat g)` instead (error
:math:`\tfrac{\varepsilon^2}{3}\|g\|\,\nabla^4E[\hat g,\hat g,\hat g]`, one more gradient).
Normalising the step by :math:`\|g\|` follows the finite-difference gradient penalty of
Geiping, Goldblum, Pope, Moeller & Goldstein (*Stochastic training is not necessary for
generalization*, ICLR 2022, arXiv:2109.14119), whose perturbation
:math:`\theta + \epsilon' g` has :math:`\epsilon' \propto 1/\|g\|` (with
:math:`\epsilon' = 0.01/\|g\|` it is our default ``eps = 0.01``), and the ascent step
:math:`\rho\,\hat g` of SAM (Foret et al., ICLR 2021, ρ = 0.05). A step of fixed *length* keeps the difference
quotient well scaled whether the gradient is large (early) or tiny (near a minimum).
Pick ε small against the scale on which H varies, but not so small that rounding in
:math:`\nabla E(\theta + \varepsilon\hat g) - \nabla E(\theta)` dominates
(relative rounding error ≈ machine-ε·‖g‖/(ε‖Hĝ‖)): 1e-2 suits float32, 1e-3–1e-5 float64.
The closure must be deterministic (same batch, no dropout) between the two evaluations.

:func:`egr_step` fills ``.grad`` of a module's parameters with :math:`\nabla L_\mu`, so any
``torch.optim`` optimiser then takes its step on the regularised loss::

    for x, y in loader:
        loss, gn2 = egr_step(model, lambda: criterion(model(x), y), mu=0.01)
        optimizer.step()

:func:`egr_gradient` is the same on a loss of a flat parameter vector.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from numeric.checks import (
    Closure,
    LossFn,
    check_closure,
    check_loss,
    check_real,
    check_theta,
    grads,
    trainable,
)
from numeric.errors import HyperparameterError, NumericTypeError

__all__ = ["DoubleBackprop", "EGRMode", "FiniteDifference", "egr_gradient", "egr_step"]


@dataclass(frozen=True)
class DoubleBackprop:
    """Exact :math:`\\nabla\\|\\nabla E\\|^2 = 2Hg` by differentiating through the gradient."""

    name = "double_backprop"


@dataclass(frozen=True)
class FiniteDifference:
    """:math:`2Hg` from gradients at θ and θ + ε g/‖g‖ (and θ − ε g/‖g‖ if ``central``).

    ``eps`` is the length of the step in parameter space (see the module docstring).
    """

    eps: float = 0.01
    central: bool = False
    name = "finite_difference"

    def __post_init__(self) -> None:
        object.__setattr__(self, "eps", check_real("eps", self.eps, positive=True))
        if not isinstance(self.central, bool):
            raise NumericTypeError(f"central must be a bool, got {self.central!r}")


EGRMode = DoubleBackprop | FiniteDifference
_NAMES: dict[str, EGRMode] = {"double_backprop": DoubleBackprop(), "finite_difference": FiniteDifference()}


def _mode(mode: object) -> EGRMode:
    if isinstance(mode, DoubleBackprop | FiniteDifference):
        return mode
    if isinstance(mode, str):
        if mode in _NAMES:
            return _NAMES[mode]
        raise HyperparameterError(f"unknown EGR mode {mode!r}: use DoubleBackprop(), FiniteDifference(eps=...) "
                                  f"or one of {sorted(_NAMES)}")
    raise NumericTypeError(f"mode must be DoubleBackprop() or FiniteDifference(...), got {mode!r}")


def _norm_sq(tensors: list[Tensor]) -> Tensor:
    """Σ‖t‖² of detached tensors with one fused kernel per device/dtype (torch._foreach_norm, as torch.optim)."""
    norms = torch._foreach_norm(tensors)
    if any(n.dtype != norms[0].dtype for n in norms):
        norms = tuple(n.double() for n in norms)
    return torch.stack(norms).square().sum()


def _owned(tensors: list[Tensor]) -> list[Tensor]:
    """Gradients safe to hand out as ``.grad``: contiguous, each with its own memory.

    Autograd may return an expanded (stride-0) view, or one tensor for two parameters
    (``(a + b).sum()``); an optimiser or ``accumulate=True`` would then write through it.
    """
    seen: set[int] = set()
    out = []
    for t in tensors:
        if not t.is_contiguous() or t.untyped_storage().data_ptr() in seen:
            t = t.clone(memory_format=torch.contiguous_format)
        seen.add(t.untyped_storage().data_ptr())
        out.append(t)
    return out


def _double_backprop(loss: Tensor, params: Sequence[Tensor], mu: float) -> tuple[list[Tensor], Tensor]:
    first = grads(loss, params, create_graph=mu > 0)
    g = [gi.detach() for gi in first]
    gn2 = _norm_sq(g)
    # Hg as ONE vector-Jacobian product of the graph of g with v = g (no need to build ‖g‖²)
    live = [i for i, gi in enumerate(first) if gi.requires_grad]  # a gradient constant in θ has Hg = 0
    if mu == 0 or not live:
        return g, gn2
    hv = torch.autograd.grad([first[i] for i in live], params, [g[i] for i in live], allow_unused=True)
    pairs = [i for i, extra in enumerate(hv) if extra is not None]
    total = list(g)  # out of place: hv may alias g (autograd passes a vector through Add unchanged)
    for i, t in zip(pairs, torch._foreach_add([g[i] for i in pairs], [hv[i] for i in pairs], alpha=2 * mu),
                    strict=True):
        total[i] = t
    return total, gn2


def _finite_difference(
    loss_closure: Closure, loss: Tensor, params: Sequence[Tensor], mu: float, mode: FiniteDifference
) -> tuple[list[Tensor], Tensor]:
    g = grads(loss, params)
    gn2 = _norm_sq(g)
    gn = math.sqrt(float(gn2))
    if mu == 0 or gn == 0.0:  # at a critical point Hg = 0
        return g, gn2
    targets = list(params)
    saved = [p.detach().clone() for p in params]

    def gradient_at(shift: float) -> list[Tensor]:  # ∇E(θ + shift·ĝ), θ restored bit for bit
        try:
            with torch.no_grad():
                torch._foreach_add_(targets, g, alpha=shift / gn)
            return grads(check_loss(loss_closure()), params)
        finally:
            with torch.no_grad():
                torch._foreach_copy_(targets, saved)

    plus = gradient_at(mode.eps)  # every combination below is out of place (gradients may alias)
    if mode.central:  # g + (μ‖g‖/ε)(g₊ − g₋)
        diff = torch._foreach_sub(plus, gradient_at(-mode.eps))
        return list(torch._foreach_add(g, diff, alpha=mu * gn / mode.eps)), gn2
    return list(torch._foreach_lerp(g, plus, 2 * mu * gn / mode.eps)), gn2  # g + (2μ‖g‖/ε)(g₊ − g)


def _egr(loss_closure: Closure, params: Sequence[Tensor], mu: Any, mode: Any) -> tuple[Tensor, list[Tensor], Tensor]:
    weight = check_real("mu", mu, positive=False)
    how = _mode(mode)
    loss = check_loss(loss_closure())
    if isinstance(how, DoubleBackprop):
        total, gn2 = _double_backprop(loss, params, weight)
    else:
        total, gn2 = _finite_difference(loss_closure, loss, params, weight, how)
    return loss.detach(), total, gn2


def egr_step(
    model_or_params: nn.Module | Iterable[Tensor],
    loss_closure: Closure,
    mu: float,
    mode: EGRMode | str = DoubleBackprop(),
    *,
    accumulate: bool = False,
) -> tuple[Tensor, Tensor]:
    r"""Set ``.grad`` of every trainable parameter to :math:`\nabla(E + \mu\|\nabla E\|^2)`.

    ``loss_closure()`` evaluates :math:`E` at the current parameters (called once for
    :class:`DoubleBackprop`, twice or three times for :class:`FiniteDifference`, which
    perturbs the parameters in place and restores them exactly). ``.grad`` is overwritten
    (no ``zero_grad`` needed) unless ``accumulate=True``, which adds to it as ``backward``
    does. Then call ``optimizer.step()``. Returns ``(E, ‖∇E‖²)`` at the current parameters
    as detached 0-d tensors; the regularised loss is ``E + mu * ‖∇E‖²``.

    >>> import torch
    >>> w = torch.ones(2, dtype=torch.float64, requires_grad=True)
    >>> loss, gn2 = egr_step([w], lambda: (w[0]**2 + 2 * w[1]**2) / 2, mu=0.25)
    >>> w.grad, float(loss), round(float(gn2), 12)  # g + 2 mu Hg with g = (1, 2), Hg = (1, 4)
    (tensor([1.5000, 4.0000], dtype=torch.float64), 1.5, 5.0)
    """
    params = trainable(model_or_params)
    loss, total, gn2 = _egr(check_closure(loss_closure), params, mu, mode)
    for p, t in zip(params, _owned(total), strict=True):
        if accumulate and p.grad is not None:
            p.grad.add_(t)
        else:
            p.grad = t
    return loss, gn2


def egr_gradient(loss_fn: LossFn, theta: Tensor, mu: float, mode: EGRMode | str = DoubleBackprop()) -> Tensor:
    r""":math:`\nabla(E + \mu\|\nabla E\|^2)(\theta)` for a loss of a flat 1-D tensor (detached).

    With ``mu = h / 4`` this is minus the order-1 modified field of gradient descent
    (``-numeric.autodiff.ModifiedField(loss_fn, truncation=1, h=h)(theta)``). For
    :math:`E = \tfrac12\theta^T A\theta`, A = diag(1, 2), at θ = (1, 1): g = (1, 2), Hg = (1, 4):

    >>> import torch
    >>> loss = lambda t: (t[0]**2 + 2 * t[1]**2) / 2
    >>> egr_gradient(loss, torch.ones(2, dtype=torch.float64), mu=0.25)  # g + 2 mu Hg
    tensor([1.5000, 4.0000], dtype=torch.float64)
    >>> egr_gradient(loss, torch.ones(2, dtype=torch.float64), mu=0.25, mode=FiniteDifference(eps=1e-3))
    tensor([1.5000, 4.0000], dtype=torch.float64)
    """
    if not callable(loss_fn):
        raise NumericTypeError(f"loss_fn must be callable, got {loss_fn!r}")
    t = check_theta(theta).detach().clone().requires_grad_(True)
    return _owned(_egr(lambda: loss_fn(t), [t], mu, mode)[1])[0]
