"""Flat parameter vectors for ``nn.Module`` objects (private helper of :mod:`numeric.autodiff`).

A module's trainable parameters (those with ``requires_grad``) are laid out one
after another, each flattened in row-major order, in ``named_parameters()`` order.
:class:`FunctionalModule` evaluates the module at such a vector with
:func:`torch.func.functional_call`, so the loss stays a differentiable function of
the flat vector. Frozen parameters and buffers are constants, cast to the dtype and
device of the vector on first use.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn
from torch.func import functional_call

__all__ = ["FlatLayout", "FunctionalModule", "cast_like", "module_objective"]


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
