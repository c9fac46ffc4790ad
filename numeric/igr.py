r"""Implicit gradient regularisation in practice (Barrett & Dherin, ICLR 2021).

Gradient descent :math:`\theta_{n+1} = \theta_n - h\nabla E(\theta_n)` on a loss
:math:`E:\mathbb R^m \to \mathbb R` follows, to order :math:`h^2` per step, the gradient
flow of the **modified loss**

.. math::
    \tilde E(\theta) = E(\theta) + \lambda\,R_{IG}(\theta), \qquad
    R_{IG}(\theta) = \frac1m\sum_{i=1}^m \Big(\frac{\partial E}{\partial\theta_i}\Big)^2
    = \frac{\|\nabla E(\theta)\|^2}{m}, \qquad \lambda = \frac{hm}{4},

(Barrett & Dherin, *Implicit Gradient Regularization*, ICLR 2021, Theorem 3.1), i.e.
:math:`-\nabla\tilde E = -g - \tfrac h2 Hg`: the order-1 truncation of the modified
field of explicit Euler on :math:`-\nabla E` (``bea.modified_flow(loss, params, truncation=1)``,
``numeric.autodiff.ModifiedField(loss_fn, truncation=1, h=h)``). Note :math:`\lambda R_{IG} =
\tfrac h4\|\nabla E\|^2`, so the IGR flow is the gradient flow of explicit gradient
regularisation with :math:`\mu = h/4` (:mod:`numeric.egr`).

This module gathers the pieces the paper's experiments use:

* :func:`r_ig`, :func:`r_ig_module`, :func:`igr_rate`, :func:`igr_loss` (this module);
* :func:`egr_step`, :func:`egr_gradient`, :class:`DoubleBackprop`, :class:`FiniteDifference`
  (explicit regularisation, from :mod:`numeric.egr`);
* :func:`gradient_norm`, :class:`SlopeRecorder`, :func:`perturbation_robustness`,
  :class:`Robustness` (flatness measures, from :mod:`numeric.flatness`).
"""

from __future__ import annotations

from collections.abc import Iterable

from torch import Tensor, nn

from numeric.checks import (
    Closure,
    LossFn,
    check_count,
    check_real,
    check_theta,
    gradient,
    sq_norm,
    trainable,
)
from numeric.egr import DoubleBackprop, EGRMode, FiniteDifference, egr_gradient, egr_step
from numeric.flatness import (
    Robustness,
    SlopeRecorder,
    gradient_norm,
    perturbation_robustness,
)

__all__ = [
    "DoubleBackprop",
    "EGRMode",
    "FiniteDifference",
    "Robustness",
    "SlopeRecorder",
    "egr_gradient",
    "egr_step",
    "gradient_norm",
    "igr_loss",
    "igr_rate",
    "perturbation_robustness",
    "r_ig",
    "r_ig_module",
]


def igr_rate(h: float, m: int) -> float:
    r"""The implicit regularisation rate :math:`\lambda = hm/4` for learning rate h and m parameters.

    >>> igr_rate(0.5, 8)
    1.0
    """
    return check_real("h", h, positive=True) * check_count("m", m) / 4


def r_ig(loss_fn: LossFn, theta: Tensor, *, create_graph: bool = False) -> Tensor:
    r""":math:`R_{IG}(\theta) = \|\nabla E(\theta)\|^2/m`, m = ``theta.numel()``, as a 0-d tensor.

    ``loss_fn(theta)`` returns the scalar loss of a 1-D floating tensor. With
    ``create_graph=True`` (and ``theta.requires_grad``) the result is differentiable in θ,
    so it can itself be used as a penalty; otherwise it is detached. For :math:`E = \|\theta\|^2/2`,
    :math:`g = \theta`:

    >>> import torch
    >>> float(r_ig(lambda t: (t**2).sum() / 2, torch.tensor([3.0, 4.0], dtype=torch.float64)))  # 25 / 2
    12.5
    """
    _, g = gradient(loss_fn, theta, create_graph=create_graph)
    value = sq_norm(g) / theta.numel()
    return value if create_graph else value.detach()


def r_ig_module(model: nn.Module | Iterable[Tensor], loss_closure: Closure) -> Tensor:
    r""":math:`R_{IG}` over the trainable parameters of ``model``: :math:`\|\nabla E\|^2/m`.

    ``loss_closure()`` evaluates the loss at the current parameters; m is the number of
    trainable scalars. ``.grad`` fields are left untouched. Detached 0-d tensor.

    >>> import torch
    >>> w = torch.ones(2, dtype=torch.float64, requires_grad=True)
    >>> float(r_ig_module([w], lambda: (w[0]**2 + 2 * w[1]**2) / 2))  # g = (1, 2): (1 + 4) / 2
    2.5
    """
    params = trainable(model)
    _, g = gradient(params, loss_closure, create_graph=False)
    return (sq_norm(g) / sum(p.numel() for p in params)).detach()


def igr_loss(loss_fn: LossFn, theta: Tensor, h: float) -> Tensor:
    r"""The IGR modified loss :math:`\tilde E = E + \lambda R_{IG} = E + \tfrac h4\|\nabla E\|^2`.

    Differentiable in ``theta`` when ``theta.requires_grad`` (its gradient is then
    ``egr_gradient(loss_fn, theta, h / 4)``); detached otherwise.

    >>> import torch
    >>> float(igr_loss(lambda t: (t**2).sum() / 2, torch.tensor([3.0, 4.0], dtype=torch.float64), 0.4))  # 12.5 + 2.5
    15.0
    """
    step = check_real("h", h, positive=True)
    theta = check_theta(theta)
    loss, g = gradient(loss_fn, theta, create_graph=theta.requires_grad)
    value = loss + step / 4 * sq_norm(g)
    return value if theta.requires_grad else value.detach()
