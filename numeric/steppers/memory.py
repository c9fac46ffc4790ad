"""What the optimiser steppers with memory share: their start state (θ_0 and named buffers) and the gradient.

The package's internal interface for :mod:`numeric.steppers.momentum` and :mod:`numeric.steppers.adaptive`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor

from numeric.errors import ShapeError
from numeric.steppers.base import StepperState, reject_buffers
from numeric.steppers.fields import Field, as_field

__all__ = ["gradient_at", "start_buffers"]


def start_buffers(name: str, field: Callable[[Tensor], Any], theta0: Tensor, buffers: Mapping[str, Tensor | None],
                  unknown: dict[str, Any]) -> StepperState:
    """The state before the first step of the stepper ``name``: θ_0 (checked 1-D, detached), each buffer given
    (checked shape, cast to θ_0's dtype and device) or zero (torch's start), in the order of ``buffers``; the field
    resolved once. ``unknown``: the other keywords given to ``init``, refused by name
    (:func:`numeric.steppers.base.reject_buffers`)."""
    reject_buffers(name, unknown, tuple(buffers))
    if not isinstance(theta0, Tensor) or theta0.ndim != 1:
        raise ShapeError(f"theta0 must be a 1-D tensor, got {getattr(theta0, 'shape', theta0)!r}")
    theta = theta0.detach()
    values = []
    for name, value in buffers.items():
        if value is None:
            values.append(torch.zeros_like(theta))
        elif not isinstance(value, Tensor) or tuple(value.shape) != tuple(theta.shape):
            raise ShapeError(f"{name} has shape {tuple(getattr(value, 'shape', ()))}, theta {tuple(theta.shape)}")
        else:
            values.append(value.detach().to(theta))
    state = StepperState(theta=theta, buffers=tuple(values))
    state.cache["field"] = as_field(field, theta)
    return state


def gradient_at(field: Callable[[Tensor], Any], state: StepperState) -> Tensor:
    """∇E(θ) at the state's iterate: minus the resolved field (a loss's −∇E by autograd, negated back exactly)."""
    f: Field = state.cache.get("field") or as_field(field, state.theta)
    return -f(state.theta).detach()
