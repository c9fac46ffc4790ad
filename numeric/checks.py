"""Input checks and gradient helpers shared by the torch regularisers (:mod:`numeric.flatness`,
:mod:`numeric.igr`, :mod:`numeric.egr`): one checker per concern.

A value of the wrong type raises :class:`~numeric.errors.NumericTypeError` (a ``TypeError``), a value
out of range :class:`~numeric.errors.HyperparameterError` or :class:`~numeric.errors.ShapeError`
(``ValueError`` subclasses); each message names the value.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from numeric.errors import HyperparameterError, NumericTypeError, ShapeError

__all__ = [
    "Closure",
    "LossFn",
    "check_closure",
    "check_count",
    "check_loss",
    "check_real",
    "check_theta",
    "gradient",
    "grads",
    "sq_norm",
    "trainable",
]

LossFn = Callable[[Tensor], Tensor]
Closure = Callable[[], Tensor]


def check_real(name: str, value: object, *, positive: bool) -> float:
    """``value`` as a float; finite and > 0 (``positive``) or ≥ 0; bools refused."""
    if isinstance(value, Tensor) and value.numel() == 1 and not value.is_complex():
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise NumericTypeError(f"{name} must be a real number, got {value!r}")
    out = float(value)
    if not math.isfinite(out) or out < 0 or (positive and out == 0):
        raise HyperparameterError(f"{name} must be a {'positive' if positive else 'non-negative'} finite number, "
                                  f"got {value!r}")
    return out


def check_count(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise NumericTypeError(f"{name} must be a positive integer, got {value!r}")
    if int(value) < 1:
        raise HyperparameterError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def check_theta(theta: object) -> Tensor:
    """A 1-D real floating tensor (returned as is)."""
    if not isinstance(theta, Tensor):
        raise NumericTypeError(f"theta must be a 1-D floating torch.Tensor, got {type(theta).__name__}")
    if not theta.is_floating_point():
        raise NumericTypeError(f"theta must have a floating dtype, got {theta.dtype}")
    if theta.ndim != 1 or theta.numel() == 0:
        raise ShapeError(f"theta must be a non-empty 1-D tensor (flat parameters), got shape {tuple(theta.shape)}")
    return theta


def check_loss(loss: object) -> Tensor:
    if not isinstance(loss, Tensor):
        raise NumericTypeError(f"the loss must be a torch.Tensor, got {type(loss).__name__}")
    if loss.numel() != 1:
        raise ShapeError(f"the loss must be a scalar, got shape {tuple(loss.shape)}")
    if not loss.requires_grad:
        raise NumericTypeError("the loss does not depend on the parameters through autograd "
                               "(computed under torch.no_grad(), or from detached tensors?)")
    return loss if loss.ndim == 0 else loss.reshape(())


def trainable(model_or_params: nn.Module | Iterable[Tensor]) -> list[Tensor]:
    """The tensors with ``requires_grad`` of a module (``parameters()`` order) or of a sequence."""
    if isinstance(model_or_params, nn.Module):
        params: list[Tensor] = [p for p in model_or_params.parameters() if p.requires_grad]
    elif isinstance(model_or_params, Iterable) and not isinstance(model_or_params, Tensor | str):
        params = list(model_or_params)
        if not all(isinstance(p, Tensor) for p in params):
            raise NumericTypeError("parameters must be torch tensors")
        params = [p for p in params if p.requires_grad]
    else:
        kind = type(model_or_params).__name__
        raise NumericTypeError(f"expected an nn.Module or an iterable of parameters, got {kind}")
    if not params:
        raise HyperparameterError("there are no trainable parameters (none has requires_grad=True)")
    if len({id(p) for p in params}) != len(params):
        raise HyperparameterError("a parameter appears more than once")
    if not all(p.is_floating_point() for p in params):
        raise NumericTypeError("trainable parameters must be floating tensors")
    return params


def check_closure(closure: object) -> Closure:
    if not callable(closure):
        raise NumericTypeError(f"loss_closure must be callable, got {closure!r}")
    return closure


def grads(loss: Tensor, params: Sequence[Tensor], create_graph: bool = False) -> list[Tensor]:
    """∂loss/∂p for each p (zeros for parameters the loss does not use)."""
    out = torch.autograd.grad(loss, params, create_graph=create_graph, allow_unused=True)
    return [torch.zeros_like(p) if g is None else g for g, p in zip(out, params, strict=True)]


def sq_norm(tensors: Sequence[Tensor]) -> Tensor:
    """Σ‖t‖² over the tensors, as a 0-d tensor (differentiable if they are)."""
    return torch.stack([(t * t).sum() for t in tensors]).sum()


def gradient(fn_or_model: Any, theta_or_closure: Any, create_graph: bool) -> tuple[Tensor, list[Tensor]]:
    """(loss, gradient pieces) for either calling convention (see the module docstring)."""
    if isinstance(fn_or_model, nn.Module) or (
        isinstance(fn_or_model, Iterable) and not isinstance(fn_or_model, Tensor)
    ):
        params = trainable(fn_or_model)
        loss = check_loss(check_closure(theta_or_closure)())
        return loss, grads(loss, params, create_graph)
    if not callable(fn_or_model):
        raise NumericTypeError(f"expected a loss function of θ or an nn.Module, got {fn_or_model!r}")
    theta = check_theta(theta_or_closure)
    t = theta if (create_graph and theta.requires_grad) else theta.detach().requires_grad_(True)
    loss = check_loss(fn_or_model(t))
    return loss, grads(loss, [t], create_graph)


# --------------------------------------------------------------------------- slope
