r"""Flatness and robustness measures of a loss surface, as used in the IGR experiments.

Barrett & Dherin (*Implicit Gradient Regularization*, ICLR 2021, §5–6) compare training
runs by

* the **loss-surface slope** :math:`\|\nabla E(\theta)\|` along the trajectory and at the
  end of training (:func:`gradient_norm`, :class:`SlopeRecorder`); a small slope over a
  neighbourhood means a flat region;
* **robustness to parameter perturbations**: test accuracy and loss when Gaussian noise
  :math:`\theta \mapsto \theta + \sigma\,\xi`, :math:`\xi \sim N(0, I)`, is added to every
  parameter, for increasing :math:`\sigma` (:func:`perturbation_robustness`). Flatter
  minima lose less accuracy.

The module also holds the small input checks shared by :mod:`numeric.igr` and
:mod:`numeric.egr`. Two calling conventions are accepted everywhere:

* a loss of a flat vector, ``loss_fn(theta) -> scalar`` with ``theta`` a 1-D floating tensor;
* an ``nn.Module`` (or a sequence of tensors) plus a closure ``loss_closure() -> scalar`` that
  evaluates the loss at the current parameter values (the ``torch.optim`` closure convention);
  the trainable parameters (``requires_grad``) are taken in ``parameters()`` order.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import Tensor, nn

from numeric.errors import HyperparameterError, NumericTypeError, ShapeError

__all__ = ["Robustness", "SlopeRecorder", "gradient_norm", "perturbation_robustness"]

LossFn = Callable[[Tensor], Tensor]
Closure = Callable[[], Tensor]


# --------------------------------------------------------------------------- input checks
def _check_real(name: str, value: object, *, positive: bool) -> float:
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


def _check_count(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise NumericTypeError(f"{name} must be a positive integer, got {value!r}")
    if int(value) < 1:
        raise HyperparameterError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _check_theta(theta: object) -> Tensor:
    """A 1-D real floating tensor (returned as is)."""
    if not isinstance(theta, Tensor):
        raise NumericTypeError(f"theta must be a 1-D floating torch.Tensor, got {type(theta).__name__}")
    if not theta.is_floating_point():
        raise NumericTypeError(f"theta must have a floating dtype, got {theta.dtype}")
    if theta.ndim != 1 or theta.numel() == 0:
        raise ShapeError(f"theta must be a non-empty 1-D tensor (flat parameters), got shape {tuple(theta.shape)}")
    return theta


def _check_loss(loss: object) -> Tensor:
    if not isinstance(loss, Tensor):
        raise NumericTypeError(f"the loss must be a torch.Tensor, got {type(loss).__name__}")
    if loss.numel() != 1:
        raise ShapeError(f"the loss must be a scalar, got shape {tuple(loss.shape)}")
    if not loss.requires_grad:
        raise NumericTypeError("the loss does not depend on the parameters through autograd "
                               "(computed under torch.no_grad(), or from detached tensors?)")
    return loss if loss.ndim == 0 else loss.reshape(())


def _trainable(model_or_params: nn.Module | Iterable[Tensor]) -> list[Tensor]:
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


def _check_closure(closure: object) -> Closure:
    if not callable(closure):
        raise NumericTypeError(f"loss_closure must be callable, got {closure!r}")
    return closure


def _grads(loss: Tensor, params: Sequence[Tensor], create_graph: bool = False) -> list[Tensor]:
    """∂loss/∂p for each p (zeros for parameters the loss does not use)."""
    out = torch.autograd.grad(loss, params, create_graph=create_graph, allow_unused=True)
    return [torch.zeros_like(p) if g is None else g for g, p in zip(out, params, strict=True)]


def _sq_norm(tensors: Sequence[Tensor]) -> Tensor:
    """Σ‖t‖² over the tensors, as a 0-d tensor (differentiable if they are)."""
    return torch.stack([(t * t).sum() for t in tensors]).sum()


def _gradient(fn_or_model: Any, theta_or_closure: Any, create_graph: bool) -> tuple[Tensor, list[Tensor]]:
    """(loss, gradient pieces) for either calling convention (see the module docstring)."""
    if isinstance(fn_or_model, nn.Module) or (
        isinstance(fn_or_model, Iterable) and not isinstance(fn_or_model, Tensor)
    ):
        params = _trainable(fn_or_model)
        loss = _check_loss(_check_closure(theta_or_closure)())
        return loss, _grads(loss, params, create_graph)
    if not callable(fn_or_model):
        raise NumericTypeError(f"expected a loss function of θ or an nn.Module, got {fn_or_model!r}")
    theta = _check_theta(theta_or_closure)
    t = theta if (create_graph and theta.requires_grad) else theta.detach().requires_grad_(True)
    loss = _check_loss(fn_or_model(t))
    return loss, _grads(loss, [t], create_graph)


# --------------------------------------------------------------------------- slope
def gradient_norm(fn_or_model: LossFn | nn.Module | Iterable[Tensor], theta_or_closure: Tensor | Closure) -> Tensor:
    r"""The loss-surface slope :math:`\|\nabla E(\theta)\|_2` (a detached 0-d tensor).

    ``gradient_norm(loss_fn, theta)`` for a loss of a flat 1-D tensor, or
    ``gradient_norm(model, loss_closure)`` over the trainable parameters of a module
    (``.grad`` fields are left untouched).

    >>> import torch
    >>> float(gradient_norm(lambda t: (t**2).sum() / 2, torch.tensor([3.0, 4.0], dtype=torch.float64)))
    5.0
    """
    _, g = _gradient(fn_or_model, theta_or_closure, create_graph=False)
    return _sq_norm(g).sqrt().detach()


class SlopeRecorder:
    r"""Records the slope :math:`\|\nabla E\|` of ``model`` along a training run.

    >>> rec = SlopeRecorder(model, lambda: criterion(model(x_test), y_test), every=10)  # doctest: +SKIP
    >>> for step in range(n): ...; rec(step)                                              # doctest: +SKIP

    ``rec(step)`` evaluates the slope when ``step % every == 0``; ``rec(step, grad_norm_sq=v)``
    stores :math:`\sqrt v` instead (e.g. the value returned by :func:`numeric.egr.egr_step`,
    which costs nothing extra). ``steps`` and ``values`` hold the record (floats).
    """

    def __init__(self, model: nn.Module | Iterable[Tensor], loss_closure: Closure, every: int = 1) -> None:
        self.params = _trainable(model)
        self.loss_closure = _check_closure(loss_closure)
        self.every = _check_count("every", every)
        self.steps: list[int] = []
        self.values: list[float] = []

    def __call__(self, step: int, grad_norm_sq: Tensor | float | None = None) -> float | None:
        """Record the slope at ``step`` if it is due; returns it (None when skipped)."""
        if step % self.every:
            return None
        if grad_norm_sq is None:
            value = float(gradient_norm(self.params, self.loss_closure))
        else:
            value = math.sqrt(_check_real("grad_norm_sq", grad_norm_sq, positive=False))
        self.steps.append(int(step))
        self.values.append(value)
        return value

    def as_dict(self) -> dict[str, list[Any]]:
        """``{"step": [...], "slope": [...]}`` (JSON-ready)."""
        return {"step": list(self.steps), "slope": list(self.values)}


# --------------------------------------------------------------------------- robustness
@dataclass(frozen=True)
class Robustness:
    """Statistics over ``draws`` noisy copies of the parameters at noise scale ``sigma``.

    Standard deviations are sample ones (divisor draws − 1); 0.0 when draws = 1.
    """

    sigma: float
    draws: int
    accuracy_mean: float
    accuracy_std: float
    loss_mean: float
    loss_std: float

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def _mean_std(values: list[float]) -> tuple[float, float]:
    t = torch.tensor(values, dtype=torch.float64)
    return float(t.mean()), (float(t.std(correction=1)) if len(values) > 1 else 0.0)


def perturbation_robustness(
    model: nn.Module,
    loss_and_accuracy_fn: Callable[[nn.Module], tuple[Any, Any]],
    scales: Iterable[float],
    draws: int,
    generator: torch.Generator | int,
) -> list[Robustness]:
    r"""Accuracy and loss of ``model`` under Gaussian parameter noise, per noise scale.

    For each :math:`\sigma` in ``scales`` and each of ``draws`` draws, every parameter of
    ``model`` (``model.parameters()``, trainable or not; buffers are left alone) is replaced by
    :math:`\theta + \sigma\xi`, :math:`\xi \sim N(0, I)`, and ``loss_and_accuracy_fn(model)``
    (returning ``(loss, accuracy)`` as numbers or 0-d tensors) is evaluated under
    :func:`torch.no_grad`. The parameters are restored **bit for bit** afterwards (also
    on error). Noise is drawn from ``generator`` (a ``torch.Generator``, or an int seed for
    a fresh CPU one) on the generator's device and then moved to each parameter's device,
    in the order scales → draws → parameters, so a CPU run is deterministic. σ = 0 is
    allowed (the unperturbed model, repeated ``draws`` times).

    Returns one :class:`Robustness` per scale, in the given order.
    """
    if not isinstance(model, nn.Module):
        raise NumericTypeError(f"model must be an nn.Module, got {type(model).__name__}")
    if not callable(loss_and_accuracy_fn):
        raise NumericTypeError(f"loss_and_accuracy_fn must be callable, got {loss_and_accuracy_fn!r}")
    sigmas = [_check_real("sigma", s, positive=False) for s in scales]
    n = _check_count("draws", draws)
    if isinstance(generator, numbers.Integral) and not isinstance(generator, bool):
        generator = torch.Generator().manual_seed(int(generator))
    if not isinstance(generator, torch.Generator):
        raise NumericTypeError(f"generator must be a torch.Generator or an int seed, got {generator!r}")
    params = list(model.parameters())
    if not params:
        raise HyperparameterError("model has no parameters to perturb")
    saved = [p.detach().clone() for p in params]
    results = []
    try:
        with torch.no_grad():
            for sigma in sigmas:
                losses, accs = [], []
                for _ in range(n):
                    for p, s in zip(params, saved, strict=True):
                        noise = torch.randn(p.shape, generator=generator, device=generator.device, dtype=p.dtype)
                        p.copy_(s + sigma * noise.to(p.device))
                    loss, acc = loss_and_accuracy_fn(model)
                    losses.append(float(loss))
                    accs.append(float(acc))
                (am, asd), (lm, lsd) = _mean_std(accs), _mean_std(losses)
                results.append(Robustness(sigma, n, am, asd, lm, lsd))
    finally:
        with torch.no_grad():
            for p, s in zip(params, saved, strict=True):
                p.copy_(s)
    return results
