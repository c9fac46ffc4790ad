r"""Run a method itself, in torch: the discrete trajectory that backward error analysis describes.

:func:`run_method` steps any method: a :class:`~numeric.steppers.Stepper`, or a ``bea`` method (or its
catalogue name) whose family registered a stepper (:func:`numeric.steppers.stepper_for`): Runge--Kutta
tableaux (explicit stage by stage, implicit by simplified Newton iteration; see
:mod:`numeric.steppers.runge_kutta`), one-step maps, SGD epochs, game updates.

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
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

import torch
from torch import Tensor

from bea.methods import Method, explicit_euler, resolve
from numeric.devices import as_tensor, resolve_device, resolve_dtype
from numeric.errors import ConvergenceError, NumericTypeError, ShapeError
from numeric.steppers import Stepper, as_field, field_jacobian, negative_gradient, rk_step, stepper_for

__all__ = [
    "CHECK_EVERY", "Trajectory", "as_field", "field_jacobian", "gradient_descent", "make_stepper", "rk_step",
    "run_method",
]


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


def run_method(
    field: Any,
    theta0: Any,
    h: float,
    n_steps: int,
    method: Method | Stepper | str = explicit_euler,
    record: bool = True,
    *,
    device: str | torch.device | None = None,
    dtype: torch.dtype | str | None = None,
    max_norm: float = 1e12,
    tol: float | None = None,
    max_iter: int | None = None,
) -> Trajectory:
    """Apply ``method`` with step ``h`` for ``n_steps`` steps from ``theta0``.

    ``method``: a :class:`~numeric.steppers.Stepper` (then ``field`` must be ``None``), or a ``bea``
    method or catalogue name, built into its stepper on ``field`` by :func:`make_stepper`.
    ``field``: what the method runs on: θ ↦ f(θ) (same shape as θ) or a loss θ ↦ E(θ) (0-dim; f = −∇E)
    for a Runge--Kutta method; the minibatch losses of an SGD epoch; ``None`` for a one-step map.
    ``device``/``dtype``: where and in what precision to run (default: θ0's device, float64).
    ``tol``, ``max_iter``: Newton tolerance and iterations of implicit Runge--Kutta methods (default 1e-14
    in float64, 64·eps otherwise; 100).

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
    stepper = make_stepper(method, field, tol=tol, max_iter=max_iter)
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
    state = stepper.init(theta)
    thetas = [theta] if record else None
    # Divergence is tested on the device every CHECK_EVERY steps (one host sync per block, not two per step);
    # a block that went wrong is replayed from its start with a test after every step, so the reported step
    # and the last good iterate are exact.
    n = 0
    while n < n_steps:
        block = min(CHECK_EVERY, n_steps - n)
        start, kept = state, len(thetas) if thetas is not None else 0
        bad = torch.zeros((), dtype=torch.bool, device=dev)
        try:
            for _ in range(block):
                state = stepper.step(state, float(h))
                bad = bad | ~torch.isfinite(state.theta).all() | (torch.linalg.vector_norm(state.theta) > max_norm)
                if thetas is not None:
                    thetas.append(state.theta.detach())
        except ConvergenceError:  # perhaps after a diverged iterate: the replay tells which came first
            bad = torch.ones((), dtype=torch.bool, device=dev)
        if bool(bad):
            state = start
            if thetas is not None:
                del thetas[kept:]
            for k in range(block):
                new = stepper.step(state, float(h))
                reason = _diverged(new.theta, max_norm)
                if reason is not None:
                    stacked = torch.stack(thetas) if thetas is not None else None
                    return Trajectory(state.theta.detach(), stacked, float(h), n_steps, n + k, stepper.name, True,
                                      n + k + 1, reason)
                state = new
                if thetas is not None:
                    thetas.append(state.theta.detach())
        n += block
    stacked = torch.stack(thetas) if thetas is not None else None
    return Trajectory(state.theta.detach(), stacked, float(h), n_steps, n_steps, stepper.name)


def make_stepper(method: Method | Stepper | str, problem: Any, **options: Any) -> Stepper:
    """The stepper that runs ``method`` on ``problem``: a stepper itself (``problem`` and every option must
    be ``None``), or :func:`numeric.steppers.stepper_for` of the resolved ``bea`` method.

    >>> from bea import methods
    >>> make_stepper("rk4", lambda t: -t).name
    'rk4'
    """
    if isinstance(method, Stepper):
        if problem is not None:
            raise NumericTypeError(f"the stepper {method.name} carries its problem; pass field=None")
        unused = sorted(k for k, v in options.items() if v is not None)
        if unused:
            raise NumericTypeError(f"{', '.join(unused)} apply to a bea method, not to the stepper {method.name}")
        return method
    if isinstance(method, (str, Method)):
        stepper: Stepper = stepper_for(resolve(method), problem, **options)
        return stepper
    raise NumericTypeError(f"method must be a bea method, a method name or a stepper, got {method!r}")


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
    return run_method(negative_gradient(loss_fn), theta0, h, n_steps, explicit_euler, record, **kwargs)
