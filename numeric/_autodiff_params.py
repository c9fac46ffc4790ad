"""Flat parameter vectors for ``nn.Module`` objects (private helper of :mod:`numeric.autodiff`).

A module's trainable parameters (those with ``requires_grad``) are laid out one
after another, each flattened in row-major order, in ``named_parameters()`` order.
:class:`FunctionalModule` evaluates the module at such a vector with
:func:`torch.func.functional_call`, so the loss stays a differentiable function of
the flat vector. Frozen parameters and buffers are constants, cast to the dtype and
device of the vector on first use.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor, nn
from torch.func import functional_call

from bea.errors import BeaTypeError, BeaValueError

__all__ = [
    "FlatLayout",
    "FunctionalModule",
    "batch_loss",
    "cast_like",
    "flat_objective",
    "flat_theta",
    "module_objective",
]


def cast_like(value: Any, dtype: torch.dtype, device: torch.device) -> Any:
    """Move tensors in ``value`` (nested tuples/lists/dicts) to ``device``; floating ones also to ``dtype``."""
    if isinstance(value, Tensor):
        if value.is_floating_point() or value.is_complex():
            return value.to(device=device, dtype=dtype)
        return value.to(device=device)
    if isinstance(value, tuple | list):
        return type(value)(cast_like(v, dtype, device) for v in value)
    if isinstance(value, dict):
        return {k: cast_like(v, dtype, device) for k, v in value.items()}
    return value


class FlatLayout:
    """The map between a flat vector θ of length ``size`` and named tensors of given shapes."""

    def __init__(self, names: list[str], shapes: list[torch.Size]) -> None:
        self.names = list(names)
        self.shapes = [torch.Size(s) for s in shapes]
        self.numels = [int(torch.Size(s).numel()) for s in self.shapes]
        self.size = sum(self.numels)

    @classmethod
    def of_module(cls, model: nn.Module) -> FlatLayout:
        pairs = [(n, p.shape) for n, p in model.named_parameters() if p.requires_grad]
        return cls([n for n, _ in pairs], [s for _, s in pairs])

    def unflatten(self, theta: Tensor) -> dict[str, Tensor]:
        """Views of ``theta`` with the stored names and shapes (differentiable)."""
        pieces = torch.split(theta, self.numels)
        return {n: p.view(s) for n, p, s in zip(self.names, pieces, self.shapes, strict=True)}

    def flatten(self, tensors: dict[str, Tensor]) -> Tensor:
        """The flat vector of ``tensors[name]`` for the stored names."""
        return torch.cat([tensors[n].reshape(-1) for n in self.names])


class FunctionalModule:
    """``model`` evaluated at a flat parameter vector: ``net(*args, **kwargs)``.

    Attributes ``dtype`` and ``device`` are those of the vector, so a loss closure can
    cast its data to match (see :func:`cast_like`).
    """

    def __init__(self, model: nn.Module, layout: FlatLayout, theta: Tensor, constants: dict[str, Tensor]) -> None:
        self.model = model
        self.params = layout.unflatten(theta)
        self.constants = constants
        self.dtype = theta.dtype
        self.device = theta.device

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return functional_call(self.model, {**self.constants, **self.params}, args, kwargs)


def module_objective(
    model: nn.Module, layout: FlatLayout, loss_fn: Callable[[FunctionalModule], Tensor]
) -> Callable[[Tensor], Tensor]:
    """θ ↦ ``loss_fn(FunctionalModule(model, θ))``, with constants cast per (dtype, device)."""
    trainable = set(layout.names)
    raw = {n: p.detach() for n, p in model.named_parameters() if n not in trainable}
    raw.update(dict(model.named_buffers()))
    cache: dict[tuple[torch.dtype, torch.device], dict[str, Tensor]] = {}

    def objective(theta: Tensor) -> Tensor:
        key = (theta.dtype, theta.device)
        if key not in cache:
            cache[key] = cast_like(raw, theta.dtype, theta.device)
        return loss_fn(FunctionalModule(model, layout, theta, cache[key]))

    return objective


def flat_objective(
    loss_fn: Callable[..., Tensor], params_or_model: Any
) -> tuple[Callable[[Tensor], Tensor], FlatLayout | None, Tensor | None]:
    """(θ ↦ E(θ) on a flat vector, its layout or None, the given parameters as a flat vector or None).

    ``params_or_model``: None or a 1-D tensor (``loss_fn(theta)``), a sequence of tensors
    (``loss_fn(list_of_tensors)``) or an ``nn.Module`` (``loss_fn(net)``, see :func:`module_objective`).
    A tensor that is not 1-D raises :class:`~bea.errors.BeaValueError`, anything else
    :class:`~bea.errors.BeaTypeError`.
    """
    if not callable(loss_fn):
        raise BeaTypeError(f"loss_fn must be callable, got {loss_fn!r}")
    if isinstance(params_or_model, nn.Module):
        layout = FlatLayout.of_module(params_or_model)
        initial = layout.flatten(dict(params_or_model.named_parameters())).detach()
        return module_objective(params_or_model, layout, loss_fn), layout, initial
    if params_or_model is None:
        return loss_fn, None, None
    if isinstance(params_or_model, Tensor):
        if params_or_model.ndim != 1:
            raise BeaValueError(f"a flat parameter vector must be 1-D, got shape {tuple(params_or_model.shape)}")
        return loss_fn, None, params_or_model.detach()
    if isinstance(params_or_model, Sequence) and all(isinstance(p, Tensor) for p in params_or_model):
        seq_layout = FlatLayout([str(i) for i in range(len(params_or_model))], [p.shape for p in params_or_model])
        initial = torch.cat([p.detach().reshape(-1) for p in params_or_model])
        return (lambda theta: loss_fn(list(seq_layout.unflatten(theta).values()))), seq_layout, initial
    raise BeaTypeError(
        f"params_or_model must be None, a 1-D tensor, a sequence of tensors or an nn.Module, "
        f"got {type(params_or_model).__name__}"
    )


def flat_theta(value: Any, *, dtype: torch.dtype, device: torch.device | None, size: int | None) -> Tensor:
    """``value`` as a real 1-D floating tensor of ``size`` entries (any size if None).

    Non-tensors are converted with ``dtype`` on ``device``; integer tensors are cast to ``dtype``; floating
    tensors keep their dtype and keep their device unless ``device`` is given. Raises
    :class:`~bea.errors.BeaTypeError` (not numbers, complex) or :class:`~bea.errors.BeaValueError` (shape).
    """
    theta = value
    if not isinstance(theta, Tensor):
        try:
            theta = torch.as_tensor(theta, dtype=dtype, device=device)
        except (TypeError, ValueError, RuntimeError) as exc:
            raise BeaTypeError(f"theta must be a tensor or array-like of numbers, got {theta!r}") from exc
    if theta.is_complex():
        raise BeaTypeError(f"theta must be real, got dtype {theta.dtype}")
    if not theta.is_floating_point():
        theta = theta.to(dtype)
    if device is not None:
        theta = theta.to(device)
    if theta.ndim != 1 or (size is not None and theta.numel() != size):
        expected = "(m,)" if size is None else f"({size},)"
        raise BeaValueError(f"theta must have shape {expected}, got {tuple(theta.shape)}")
    return theta


def batch_loss(
    criterion: Callable[[Any, Any], Tensor], inputs: Any, targets: Any
) -> Callable[[FunctionalModule], Tensor]:
    """net ↦ ``criterion(net(*inputs), targets)`` on a fixed batch.

    ``inputs`` is a tensor or a tuple of tensors; data are cast to the network's dtype (floating tensors) and
    device on first use and cached per (dtype, device).
    """
    batch = inputs if isinstance(inputs, tuple) else (inputs,)
    cache: dict[tuple[torch.dtype, torch.device], tuple[Any, Any]] = {}

    def loss_fn(net: FunctionalModule) -> Tensor:
        key = (net.dtype, net.device)
        if key not in cache:
            cache[key] = (cast_like(batch, *key), cast_like(targets, *key))
        x, y = cache[key]
        return criterion(net(*x), y)

    return loss_fn
