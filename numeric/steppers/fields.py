"""Fields from callables: a field θ ↦ f(θ), or a loss θ ↦ E(θ) whose field is −∇E (by torch.autograd)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from numeric.errors import NumericTypeError, ShapeError
from numeric.losses import scalar_loss

__all__ = ["Field", "as_field", "field_jacobian", "negative_gradient"]

Field = Callable[[Tensor], Tensor]


def as_field(fn: Callable[[Tensor], Any], theta: Tensor) -> Field:
    """A field θ ↦ f(θ) from ``fn``: ``fn`` itself if it returns θ's shape, or −∇fn if it returns a scalar.

    :class:`~numeric.errors.ShapeError` when ``fn(theta)`` is neither.

    >>> f = as_field(lambda t: (t**2).sum() / 2, torch.ones(2, dtype=torch.float64))
    >>> f(torch.tensor([1.0, -2.0], dtype=torch.float64))
    tensor([-1.,  2.], dtype=torch.float64)
    """
    probe = fn(theta)
    if not isinstance(probe, Tensor):
        try:
            probe = torch.as_tensor(probe, dtype=theta.dtype, device=theta.device)
        except (TypeError, ValueError, RuntimeError) as exc:
            raise NumericTypeError(f"the field or loss must return a tensor, got {probe!r}") from exc
        if probe.ndim == 0:  # a Python number: not differentiable, so not a loss torch can descend
            scalar_loss(probe)
    if probe.ndim == 0:
        return negative_gradient(fn)
    if tuple(probe.shape) != tuple(theta.shape):
        raise ShapeError(
            f"the field returned shape {tuple(probe.shape)} for theta of shape {tuple(theta.shape)}; a field must "
            "return theta's shape and a loss a 0-dim tensor"
        )

    def field(t: Tensor) -> Tensor:
        out = fn(t)
        return out if isinstance(out, Tensor) else torch.as_tensor(out, dtype=t.dtype, device=t.device)

    if hasattr(fn, "jacobian"):
        field.jacobian = fn.jacobian  # type: ignore[attr-defined]
    return field


def negative_gradient(loss: Callable[[Tensor], Any]) -> Field:
    """θ ↦ −∇E(θ) by ``torch.autograd``, with a ``jacobian`` attribute θ ↦ −∇²E(θ)."""

    def field(theta: Tensor) -> Tensor:
        with torch.enable_grad():
            t = theta.detach().requires_grad_(True)
            (grad,) = torch.autograd.grad(scalar_loss(loss(t)), t)
        return -grad

    def jacobian(theta: Tensor) -> Tensor:
        with torch.enable_grad():
            hess: Tensor = torch.autograd.functional.hessian(loss, theta.detach())  # type: ignore[no-untyped-call]
            return -hess

    field.jacobian = jacobian  # type: ignore[attr-defined]
    return field


def field_jacobian(field: Field, theta: Tensor) -> Tensor | None:
    """f'(θ): the field's own ``jacobian`` attribute, else ``torch.func.jacfwd``; ``None`` when torch cannot
    differentiate the field (detached, numpy inside...) or the result is not finite."""
    explicit_jacobian = getattr(field, "jacobian", None)
    try:
        jac = explicit_jacobian(theta) if explicit_jacobian is not None else torch.func.jacfwd(field)(theta)
    except Exception:  # not traceable by torch.func (detached, numpy inside, ...): callers fall back
        return None
    return jac if torch.isfinite(jac).all() else None
