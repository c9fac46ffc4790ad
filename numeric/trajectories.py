r"""Run a Runge--Kutta method itself, in torch: the discrete trajectory that backward error analysis describes.

For :math:`\dot\theta = f(\theta)` and a tableau :math:`(A, b, c)` with s stages, one step is

.. math::
    Y_i = \theta_n + h \sum_j a_{ij} f(Y_j), \qquad \theta_{n+1} = \theta_n + h \sum_i b_i f(Y_i)

(Hairer--Nørsett--Wanner I, §II.1). Explicit tableaux are evaluated stage by stage.
Implicit ones solve for :math:`Z_i = Y_i - \theta_n` by simplified Newton iteration,
:math:`(I - hA\otimes J)\,\Delta Z = -(Z - hA\,F(\theta_n + Z))`, with J the Jacobian of f
at :math:`\theta_n` (by ``torch.func.jacfwd``; fixed-point iteration when f is not
differentiable by torch), until :math:`\|\Delta Z\|_\infty \le \text{tol}\cdot\max(1, \|\theta_n\|_\infty)`
(tol = 1e-14 in float64); otherwise :class:`~numeric.errors.ConvergenceError`
(Hairer--Wanner II, §IV.8).

The field is a callable θ ↦ f(θ) of θ's shape, or a **loss** θ ↦ E(θ) (a 0-dim tensor),
in which case :math:`f = -\nabla E` by ``torch.autograd``. Gradient descent with learning
rate h is explicit Euler on :math:`-\nabla E`.

Divergence (a non-finite iterate, or :math:`\|\theta\|_2 >` ``max_norm``) stops the run and is
reported in the :class:`Trajectory`, never raised.

>>> import torch
>>> traj = gradient_descent(lambda t: (t**2).sum() / 2, torch.tensor([1.0], dtype=torch.float64), 0.1, 3)
>>> traj.final  # (1 - h)^3
tensor([0.7290], dtype=torch.float64)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

import torch
from torch import Tensor

from bea.methods import RungeKutta, explicit_euler
from numeric.devices import as_tensor, resolve_device, resolve_dtype
from numeric.errors import ConvergenceError, NumericTypeError, ShapeError
from numeric.losses import scalar_loss

__all__ = ["CHECK_EVERY", "Trajectory", "as_field", "field_jacobian", "gradient_descent", "rk_step", "run_method"]

Field = Callable[[Tensor], Tensor]


@dataclass(frozen=True)
class Trajectory:
    """The result of :func:`run_method`.

    ``thetas``: the iterates θ_0..θ_k stacked as ``(k+1, m)`` (``None`` unless ``record``);
    ``final``: the last finite iterate; ``steps``: steps completed (``n_steps`` unless diverged);
    ``diverged``/``diverged_at``/``reason``: the first step whose result was non-finite or
    past ``max_norm``.
    """

    final: Tensor
    thetas: Tensor | None = dc_field(repr=False)
    h: float
    n_steps: int
    steps: int
    method: str
    diverged: bool = False
    diverged_at: int | None = None
    reason: str | None = None


def as_field(fn: Callable[[Tensor], Any], theta: Tensor) -> Field:
    """A field θ ↦ f(θ) from ``fn``: ``fn`` itself if it returns θ's shape, or −∇fn if it returns a scalar."""
    probe = fn(theta)
    if not isinstance(probe, Tensor):
        try:
            probe = torch.as_tensor(probe, dtype=theta.dtype, device=theta.device)
        except (TypeError, ValueError, RuntimeError) as exc:
            raise NumericTypeError(f"the field or loss must return a tensor, got {probe!r}") from exc
        if probe.ndim == 0:  # a Python number: not differentiable, so not a loss torch can descend
            scalar_loss(probe)
    if probe.ndim == 0:
        return _negative_gradient(fn)
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


def _negative_gradient(loss: Callable[[Tensor], Any]) -> Field:
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
    """f'(θ), the ``(m, m)`` Jacobian of ``field`` at ``theta``: the field's own ``jacobian`` if it has one,
    else ``torch.func.jacfwd``; ``None`` where it cannot be formed or is not finite."""
    explicit_jacobian = getattr(field, "jacobian", None)
    try:
        jac = explicit_jacobian(theta) if explicit_jacobian is not None else torch.func.jacfwd(field)(theta)
    except (RuntimeError, TypeError, NotImplementedError) as exc:
        # not traceable by torch.func (detached, NumPy inside, ...): fixed-point iteration instead. Device
        # failures (out of memory, CUDA errors, device mismatches) are not that: they propagate.
        if isinstance(exc, torch.cuda.OutOfMemoryError) or any(w in str(exc) for w in ("CUDA", "cuda", "device")):
            raise
        return None
    return jac if bool(torch.isfinite(jac).all()) else None


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
    s = len(b)
    if explicit:  # tableau entries as Python floats: no device tensor compared (a host sync) per stage
        a_rows = A.tolist() if isinstance(A, Tensor) else A
        b_list = b.tolist() if isinstance(b, Tensor) else b
        ks: list[Tensor] = []
        for i in range(s):
            y = theta
            for j in range(i):
                if a_rows[i][j] != 0:
                    y = y + (h * a_rows[i][j]) * ks[j]
            ks.append(field(y))
        out = theta
        for i in range(s):
            if b_list[i] != 0:
                out = out + (h * b_list[i]) * ks[i]
        return out
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


def run_method(
    field: Callable[[Tensor], Any],
    theta0: Any,
    h: float,
    n_steps: int,
    method: RungeKutta = explicit_euler,
    record: bool = True,
    *,
    device: str | torch.device | None = None,
    dtype: torch.dtype | str | None = None,
    max_norm: float = 1e12,
    tol: float | None = None,
    max_iter: int = 100,
) -> Trajectory:
    """Apply ``method`` with step ``h`` for ``n_steps`` steps from ``theta0``.

    ``field``: θ ↦ f(θ) (same shape as θ) or a loss θ ↦ E(θ) (0-dim; f = −∇E).
    ``device``/``dtype``: where and in what precision to run (default: θ0's device, float64).
    ``tol``: Newton tolerance of implicit methods (default 1e-14 in float64, 64·eps otherwise).

    On :math:`\\theta' = -\\theta` one explicit midpoint step multiplies θ by :math:`1 - h + h^2/2`, one
    implicit Euler step (the proximal-point method on :math:`E = \\theta^2/2`) by :math:`1/(1 + h)`:

    >>> import torch
    >>> from bea import methods
    >>> traj = run_method(lambda t: -t, torch.tensor([1.0], dtype=torch.float64), 0.5, 2, methods.explicit_midpoint)
    >>> traj.thetas.flatten().tolist(), traj.steps, traj.method
    ([1.0, 0.625, 0.390625], 2, 'explicit_midpoint')
    >>> traj = run_method(lambda t: (t**2).sum() / 2, [1.0], 1.0, 3, methods.implicit_euler)  # f = -grad E
    >>> [round(v, 12) for v in traj.thetas.flatten().tolist()]
    [1.0, 0.5, 0.25, 0.125]

    Reference: Hairer--Nørsett--Wanner, *Solving Ordinary Differential Equations I*, 2nd ed., section II.1.
    """
    if not isinstance(method, RungeKutta):
        raise NumericTypeError(f"method must be a bea RungeKutta method, got {method!r}")
    if not callable(field):
        raise NumericTypeError(f"field must be callable, got {field!r}")
    if isinstance(h, bool) or not isinstance(h, (int, float)) or not math.isfinite(h) or h <= 0:
        raise NumericTypeError(f"h must be a positive finite number, got {h!r}")
    if isinstance(n_steps, bool) or not isinstance(n_steps, int) or n_steps < 0:
        raise NumericTypeError(f"n_steps must be a non-negative integer, got {n_steps!r}")
    default_dev = theta0.device if isinstance(theta0, Tensor) else "cpu"
    dev = resolve_device(device, default=default_dev)
    dt = resolve_dtype(dtype)
    theta = as_tensor(theta0, dtype=dt, device=dev, name="theta0")
    if theta.ndim != 1:
        raise ShapeError(f"theta0 must be a 1-D vector, got shape {tuple(theta.shape)}")
    if not bool(torch.isfinite(theta).all()):  # one check before the loop, not one per step
        raise NumericTypeError(f"theta0 must be finite, got {theta.tolist()}")
    f = as_field(field, theta)
    A_rows = [[float(v) for v in row] for row in method.A]  # Python floats: read on the host, never synced
    b_list = [float(v) for v in method.b]
    A: Any = A_rows
    b: Any = b_list
    if not method.is_explicit:  # the Newton matrix needs them on the device: copied once, not per step
        A = torch.tensor(A_rows, dtype=dt, device=dev)
        b = torch.tensor(b_list, dtype=dt, device=dev)
    eps = torch.finfo(dt).eps
    tolerance = (1e-14 if dt == torch.float64 else 64 * eps) if tol is None else tol
    thetas = [theta] if record else None
    cache: dict[str, Any] = {}

    def step(t: Tensor) -> Tensor:
        return rk_step(f, t, float(h), A, b, method.is_explicit, tol=tolerance, max_iter=max_iter,
                       cache=cache).detach()

    # Divergence is tested on the device every CHECK_EVERY steps (one host sync per block, not two per step);
    # a block that went wrong is replayed from its start with a test after every step, so the reported step
    # and the last good iterate are exact.
    n = 0
    while n < n_steps:
        block = min(CHECK_EVERY, n_steps - n)
        start, kept = theta, len(thetas) if thetas is not None else 0
        bad = torch.zeros((), dtype=torch.bool, device=dev)
        try:
            for _ in range(block):
                theta = step(theta)
                bad = bad | ~torch.isfinite(theta).all() | (torch.linalg.vector_norm(theta) > max_norm)
                if thetas is not None:
                    thetas.append(theta)
        except ConvergenceError:  # perhaps after a diverged iterate: the replay tells which came first
            bad = torch.ones((), dtype=torch.bool, device=dev)
        if bool(bad):
            theta = start
            if thetas is not None:
                del thetas[kept:]
            for k in range(block):
                new = step(theta)
                reason = _diverged(new, max_norm)
                if reason is not None:
                    stacked = torch.stack(thetas) if thetas is not None else None
                    return Trajectory(theta, stacked, float(h), n_steps, n + k, method.name, True, n + k + 1, reason)
                theta = new
                if thetas is not None:
                    thetas.append(theta)
        n += block
    stacked = torch.stack(thetas) if thetas is not None else None
    return Trajectory(theta, stacked, float(h), n_steps, n_steps, method.name)


#: Steps between two divergence tests of :func:`run_method` (each test is one host-device synchronisation).
CHECK_EVERY = 16


def _diverged(theta: Tensor, max_norm: float) -> str | None:
    if not bool(torch.isfinite(theta).all()):
        return "non-finite iterate"
    norm = float(torch.linalg.vector_norm(theta))
    if norm > max_norm:
        return f"norm {norm:.3g} exceeds max_norm {max_norm:.3g}"
    return None


def gradient_descent(
    loss_fn: Callable[[Tensor], Tensor], theta0: Any, h: float, n_steps: int, record: bool = True, **kwargs: Any
) -> Trajectory:
    """Gradient descent θ_{n+1} = θ_n − h∇E(θ_n) (explicit Euler on −∇E); keywords as :func:`run_method`.

    On :math:`E = \\theta^2/2` one step multiplies θ by 1 − h, so h = 3 > 2 diverges: the run stops at
    the first iterate past ``max_norm`` (:math:`(-2)^7 = -128`) and keeps the last one below it.

    >>> import torch
    >>> traj = gradient_descent(lambda t: (t**2).sum() / 2, torch.tensor([1.0], dtype=torch.float64), 3.0, 20,
    ...                         max_norm=100.0)
    >>> traj.diverged, traj.diverged_at, traj.reason, traj.final.tolist()
    (True, 7, 'norm 128 exceeds max_norm 100', [64.0])

    Reference: Barrett & Dherin, *Implicit Gradient Regularization*, ICLR 2021, section 2.
    """
    return run_method(_negative_gradient(loss_fn), theta0, h, n_steps, explicit_euler, record, **kwargs)
