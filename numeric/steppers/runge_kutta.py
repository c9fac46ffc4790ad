r"""The Runge--Kutta stepper: one step of a tableau on a field or a loss, in torch.

For :math:`\dot\theta = f(\theta)` and a tableau :math:`(A, b, c)` with s stages, one step is

.. math::
    Y_i = \theta_n + h \sum_j a_{ij} f(Y_j), \qquad \theta_{n+1} = \theta_n + h \sum_i b_i f(Y_i)

(Hairer--Nørsett--Wanner I, §II.1). Explicit tableaux are evaluated stage by stage by
:func:`numeric.arrays.explicit_rk_step`, the step the NumPy route of :func:`numeric.drift.drift_check` takes too.
Implicit ones solve for :math:`Z_i = Y_i - \theta_n` by simplified Newton iteration,
:math:`(I - hA\otimes J)\,\Delta Z = -(Z - hA\,F(\theta_n + Z))`, with J the Jacobian of f
at :math:`\theta_n` (by ``torch.func.jacfwd``; fixed-point iteration when f is not
differentiable by torch), until :math:`\|\Delta Z\|_\infty \le \text{tol}\cdot\max(1, \|\theta_n\|_\infty)`
(tol = 1e-14 in float64, 64 eps otherwise); otherwise :class:`~numeric.errors.ConvergenceError`
(Hairer--Wanner II, §IV.8).

>>> import torch
>>> from bea import methods
>>> stepper = RungeKuttaStepper(methods.explicit_midpoint, lambda t: -t)
>>> stepper.step(stepper.init(torch.tensor([1.0], dtype=torch.float64)), 0.5).theta  # 1 - h + h²/2
tensor([0.6250], dtype=torch.float64)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, final

import torch
from torch import Tensor

from bea.methods import RungeKutta
from numeric.arrays import explicit_rk_step, explicit_tableau
from numeric.errors import ConvergenceError, NumericTypeError, ShapeError
from numeric.steppers.base import StepperState, reject_buffers, reject_options, stepper_for
from numeric.steppers.fields import Field, as_field, field_jacobian, problem_field

__all__ = ["RungeKuttaStepper", "rk_step"]


@final
@dataclass(frozen=True)
class RungeKuttaStepper:
    """A Runge--Kutta ``method`` on ``field``: θ ↦ f(θ) (θ's shape) or a loss θ ↦ E(θ) (0-dim; f = −∇E).

    ``tol``: Newton tolerance of implicit methods (default 1e-14 in float64, 64·eps otherwise);
    ``max_iter``: Newton iterations before :class:`~numeric.errors.ConvergenceError`.
    """

    method: RungeKutta
    field: Callable[[Tensor], Any]
    tol: float | None = None
    max_iter: int = 100

    def __post_init__(self) -> None:
        if not isinstance(self.method, RungeKutta):
            raise NumericTypeError(f"method must be a bea RungeKutta method, got {self.method!r}")
        if not callable(self.field):
            raise NumericTypeError(f"field must be callable, got {self.field!r}")
        if isinstance(self.max_iter, bool) or not isinstance(self.max_iter, int) or self.max_iter < 1:
            raise NumericTypeError(f"max_iter must be a positive integer, got {self.max_iter!r}")

    @property
    def name(self) -> str:
        """The tableau's name."""
        return self.method.name

    def init(self, theta0: Tensor, **unknown: Any) -> StepperState:
        """θ0 itself (checked 1-D), with the field resolved once (field or −∇loss); no buffers (any given:
        :class:`~numeric.errors.NumericTypeError`)."""
        reject_buffers(self.name, unknown)
        if theta0.ndim != 1:
            raise ShapeError(f"theta0 must be a 1-D vector, got shape {tuple(theta0.shape)}")
        state = StepperState(theta=theta0)
        state.cache["field"] = as_field(self.field, theta0)
        return state

    def step(self, state: StepperState, h: float) -> StepperState:
        """One step of size h; the tableau is cast to θ's dtype and device (cached per dtype and device)."""
        theta = state.theta
        cache = state.cache
        f: Field = cache.get("field") or as_field(self.field, theta)
        key = ("tableau", theta.dtype, theta.device)
        if key not in cache:  # Python floats for explicit methods (no host sync per stage), tensors for Newton
            if self.method.is_explicit:
                cache[key] = explicit_tableau(self.method)
            else:
                dt, dev = theta.dtype, theta.device
                cache[key] = (torch.tensor([[float(v) for v in row] for row in self.method.A], dtype=dt, device=dev),
                              torch.tensor([float(v) for v in self.method.b], dtype=dt, device=dev))
        A, b = cache[key]
        eps = torch.finfo(theta.dtype).eps
        tol = (1e-14 if theta.dtype == torch.float64 else 64 * eps) if self.tol is None else self.tol
        solver = cache.setdefault(f"newton {float(h)!r}", {})
        new = rk_step(f, theta, float(h), A, b, self.method.is_explicit, tol=tol, max_iter=self.max_iter, cache=solver)
        return StepperState(theta=new.detach(), count=state.count + 1, cache=cache)


@stepper_for.register
def _(method: RungeKutta, problem: Any, **options: Any) -> RungeKuttaStepper:
    reject_options(method.name, options, ("tol", "max_iter", "subs"))
    max_iter = options.get("max_iter")
    field = problem_field(problem, options.get("subs"), method.name)
    return RungeKuttaStepper(method, field, options.get("tol"), 100 if max_iter is None else max_iter)


def rk_step(
    field: Field,
    theta: Tensor,
    h: float,
    A: Tensor | Sequence[Sequence[float]],
    b: Tensor | Sequence[float],
    explicit: bool,
    *,
    tol: float,
    max_iter: int,
    cache: dict[str, Any] | None = None,
) -> Tensor:
    r"""One Runge--Kutta step θ_n → θ_{n+1} with tableau ``A``, ``b`` (float tensors, or nested lists of floats:
    explicit steps then read no device tensor at all, implicit ones convert them to θ's dtype and device).

    ``cache`` (implicit methods) keeps the LU factors of :math:`I - hA\otimes J` between
    steps; they are refreshed when an iteration needs more than a few corrections.
    """
    if explicit:  # tableau entries as Python floats: no device tensor compared (a host sync) per stage
        a_rows = A.tolist() if isinstance(A, Tensor) else A
        b_list = b.tolist() if isinstance(b, Tensor) else b
        return explicit_rk_step(field, theta, h, a_rows, b_list)
    cache = {} if cache is None else cache
    A = torch.as_tensor(A, dtype=theta.dtype, device=theta.device)
    b = torch.as_tensor(b, dtype=theta.dtype, device=theta.device)
    for fresh in (False, True):
        if fresh or "lu" not in cache:
            cache["lu"] = _newton_matrix(field, theta, h, A)
        result, iterations, delta = _solve_stages(field, theta, h, A, b, cache["lu"], tol, max_iter)
        if result is not None and (iterations <= 6 or fresh):
            return result
        if result is not None:
            cache.pop("lu")  # slow: refresh the Jacobian at the next step
            return result
    raise ConvergenceError(
        f"the implicit stage equations did not converge (last correction {delta:.3g} > {tol:.1g} relative "
        f"after {max_iter} iterations at h = {h}); reduce h"
    )


def _newton_matrix(field: Field, theta: Tensor, h: float, A: Tensor) -> Any:
    jac = field_jacobian(field, theta)
    if jac is None:
        return None
    s, m = A.shape[0], theta.shape[0]
    eye = torch.eye(s * m, dtype=theta.dtype, device=theta.device)
    return torch.linalg.lu_factor(eye - h * torch.kron(A, jac.contiguous()))


def _solve_stages(
    field: Field, theta: Tensor, h: float, A: Tensor, b: Tensor, lu: Any, tol: float, max_iter: int
) -> tuple[Tensor | None, int, float]:
    s, m = A.shape[0], theta.shape[0]
    z = torch.zeros(s, m, dtype=theta.dtype, device=theta.device)
    scale = max(1.0, float(theta.abs().max()))
    delta = math.inf
    for iteration in range(1, max_iter + 1):
        fz = torch.stack([field(theta + z[i]) for i in range(s)])
        residual = z - h * (A @ fz)
        step = -residual if lu is None else -torch.linalg.lu_solve(*lu, residual.reshape(-1, 1)).reshape(s, m)
        z = z + step
        delta = float(step.abs().max())
        if not math.isfinite(delta):
            break
        if delta <= tol * scale:
            fz = torch.stack([field(theta + z[i]) for i in range(s)])
            return theta + h * (b @ fz), iteration, delta
    return None, max_iter, delta
