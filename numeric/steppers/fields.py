"""Fields from callables: a field θ ↦ f(θ), or a loss θ ↦ E(θ) whose field is −∇E (by torch.autograd);
and SymPy columns or :class:`bea.methods.Problem` fields compiled by :mod:`numeric.codegen`, data bound."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sympy
import torch
from torch import Tensor

from bea.methods import Problem
from numeric.codegen import CompiledField, compile_field
from numeric.errors import NumericTypeError, ShapeError
from numeric.losses import scalar_loss

__all__ = ["Field", "as_field", "compile_column", "field_jacobian", "negative_gradient", "problem_field"]

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


def compile_column(column: Any, params: Sequence[sympy.Symbol], subs: Mapping[Any, Any] | None = None,
                   keep: Sequence[sympy.Symbol] = ()) -> CompiledField:
    """:func:`numeric.codegen.compile_field` of a SymPy column in ``params``, binding the entries of ``subs`` (symbol
    or name → value) that occur in it; symbols in ``keep`` (the step size) stay arguments, every other symbol
    must be bound (:class:`~numeric.errors.UnboundSymbolError` at the first call otherwise)."""
    col = sympy.ImmutableMatrix(column)
    present = {s.name for s in col.free_symbols} - {p.name for p in params} - {k.name for k in keep}
    given = {(k.name if isinstance(k, sympy.Symbol) else str(k)): v for k, v in (subs or {}).items()}
    return compile_field(col, params=list(params), subs={k: v for k, v in given.items() if k in present})


def problem_field(problem: Any, subs: Mapping[Any, Any] | None, method: str) -> Callable[[Tensor], Any]:
    """What a field-driven stepper runs on: a callable (a field θ ↦ f(θ) or a loss θ ↦ E(θ), see :func:`as_field`)
    as it is, or the field of a :class:`bea.methods.Problem` (−∇E of its mean loss, a game's stacked
    −∇_{θ_i} L_i, a given field) compiled with the data ``subs`` bound.

    :class:`~numeric.errors.NumericTypeError` for anything else, or for ``subs`` with a callable (bind data
    inside the callable).
    """
    if isinstance(problem, Problem):
        return compile_column(problem.require_field(method), problem.params, subs)
    if subs:
        raise NumericTypeError(f"subs applies to a bea Problem; the callable given to {method} must bind its data")
    if not callable(problem):
        raise NumericTypeError(
            f"{method} runs on a loss or field callable, or a bea.methods.Problem, got {problem!r}")
    fn: Callable[[Tensor], Any] = problem
    return fn
