"""The value a loss callable must return, checked in one place for every numeric entry point.

A loss θ ↦ E(θ) must return a real floating tensor with one element that depends on θ through torch
operations. Anything else used to surface as a raw torch error (``grad can be implicitly created only for scalar
outputs``, ``element 0 of tensors does not require grad``, ``'float' object is not iterable``) or, worse, as a
silent zero gradient (a loss computed from detached tensors). :func:`scalar_loss` raises
:class:`~bea.errors.InvalidLossError` naming the value instead.

>>> import torch
>>> theta = torch.ones(2, dtype=torch.float64, requires_grad=True)
>>> float(scalar_loss((theta**2).sum()))
2.0
>>> scalar_loss(theta.detach().sum())  # doctest: +IGNORE_EXCEPTION_DETAIL
Traceback (most recent call last):
bea.errors.InvalidLossError: the loss does not depend on theta through torch operations ...
"""

from __future__ import annotations

from typing import Any

from torch import Tensor

from bea.errors import InvalidLossError

__all__ = ["scalar_loss"]


def scalar_loss(value: Any, *, needs_grad: bool = True) -> Tensor:
    """``value`` as a 0-dim tensor, or :class:`~bea.errors.InvalidLossError` naming it.

    ``needs_grad``: also require that it depends on θ (``requires_grad``); pass False where the loss is
    evaluated without autograd.
    """
    if not isinstance(value, Tensor):
        raise InvalidLossError(f"the loss must return a 0-dim torch tensor computed from theta, got "
                               f"{type(value).__name__} {value!r}")
    if value.numel() != 1:
        raise InvalidLossError(f"the loss must return a scalar (one element), got shape {tuple(value.shape)}: "
                               "reduce it, e.g. with .sum() or .mean()")
    if not value.is_floating_point() or value.is_complex():
        raise InvalidLossError(f"the loss must be a real floating tensor, got dtype {value.dtype}")
    if needs_grad and not value.requires_grad:
        raise InvalidLossError(f"the loss does not depend on theta through torch operations (a constant, or "
                               f"computed from detached tensors or NumPy), got {value!r}: its gradient would be "
                               "silently zero")
    return value.reshape(())
