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
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import Tensor, nn

from numeric.checks import (
    Closure,
    LossFn,
    check_closure,
    check_count,
    check_real,
    gradient,
    sq_norm,
    trainable,
)
from numeric.errors import HyperparameterError, NumericTypeError

__all__ = ["Robustness", "SlopeRecorder", "gradient_norm", "perturbation_robustness"]



def gradient_norm(fn_or_model: LossFn | nn.Module | Iterable[Tensor], theta_or_closure: Tensor | Closure) -> Tensor:
    r"""The loss-surface slope :math:`\|\nabla E(\theta)\|_2` (a detached 0-d tensor).

    ``gradient_norm(loss_fn, theta)`` for a loss of a flat 1-D tensor, or
    ``gradient_norm(model, loss_closure)`` over the trainable parameters of a module
    (``.grad`` fields are left untouched).

    >>> import torch
    >>> float(gradient_norm(lambda t: (t**2).sum() / 2, torch.tensor([3.0, 4.0], dtype=torch.float64)))
    5.0
    """
    _, g = gradient(fn_or_model, theta_or_closure, create_graph=False)
    return sq_norm(g).sqrt().detach()


class SlopeRecorder:
    r"""Records the slope :math:`\|\nabla E\|` of ``model`` along a training run.

    >>> rec = SlopeRecorder(model, lambda: criterion(model(x_test), y_test), every=10)  # doctest: +SKIP
    >>> for step in range(n): ...; rec(step)                                              # doctest: +SKIP

    ``rec(step)`` evaluates the slope when ``step % every == 0``; ``rec(step, grad_norm_sq=v)``
    stores :math:`\sqrt v` instead (e.g. the value returned by :func:`numeric.egr.egr_step`,
    which costs nothing extra). ``steps`` and ``values`` hold the record (floats).
    """

    def __init__(self, model: nn.Module | Iterable[Tensor], loss_closure: Closure, every: int = 1) -> None:
        self.params = trainable(model)
        self.loss_closure = check_closure(loss_closure)
        self.every = check_count("every", every)
        self.steps: list[int] = []
        self.values: list[float] = []

    def __call__(self, step: int, grad_norm_sq: Tensor | float | None = None) -> float | None:
        """Record the slope at ``step`` if it is due; returns it (None when skipped)."""
        if step % self.every:
            return None
        if grad_norm_sq is None:
            value = float(gradient_norm(self.params, self.loss_closure))
        else:
            value = math.sqrt(check_real("grad_norm_sq", grad_norm_sq, positive=False))
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
    sigmas = [check_real("sigma", s, positive=False) for s in scales]
    n = check_count("draws", draws)
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
