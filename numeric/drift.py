r"""Drift checks: does the truncated modified flow track the method at the predicted rate?

For a method :math:`\Phi_h` applied to :math:`f = -\nabla E` (gradient descent = explicit Euler)
and the modified field truncated after :math:`h^r`, :math:`\tilde f_h^{[r]} = \sum_{k \le r} h^k f_{k+1}`,
backward error analysis predicts for a fixed time :math:`T = nh` (Hairer--Lubich--Wanner,
*Geometric Numerical Integration*, 2nd ed., Thm IX.1.2 and §IX.7)

.. math::
    \|\theta_n - \varphi^{[r]}_T(\theta_0)\| = O(h^{q}),\qquad
    q = \min\{k > r : f_{k+1} \ne 0\},

so q = r + 1 for gradient descent, and for a method of order p (whose terms
:math:`f_2..f_p` vanish) q = max(r, p - 1) + 1 generically. :func:`expected_slope` reads q off the exact
coefficients ``bea.modified_equation(method)``. :func:`drift_check` measures the error for
several h, fits the slope of log(error) against log(h) by least squares and compares it with q.

The series is asymptotic: it describes the method only while :math:`h\,\lambda_{\max}` is small
(λ_max: largest |eigenvalue| of the Hessian :math:`\nabla^2E = -f'`). The check warns
(:class:`~numeric.errors.ModifiedSeriesWarning`) when :math:`\max h \cdot \lambda_{\max}(\theta_0) \ge 1`.

**Two routes, chosen by problem** (as :func:`numeric.integrate.choose_backend` chooses an integrator): a small
float64 problem on the CPU (at most :data:`numeric.integrate.SMALL_SYSTEM` state entries over all step sizes, at
most 256 parameters), checked for an explicit Runge--Kutta method (gradient descent included) on a ``ModifiedFlow``
without ``step_field``, runs in NumPy and Python floats without importing torch: the method is stepped by
:func:`numeric.arrays.explicit_rk_step` (the step the torch stepper takes) on the flow's h^0 field, the flows are
integrated by SciPy's DOP853, the fields evaluated by :meth:`numeric.codegen.CompiledField.as_numpy`, λ_max read
off the exact Jacobian. Every other check (GPUs, float32, implicit methods, maps, SGD epochs, games, methods with
memory, steppers and field factories of your own, large systems) runs in torch. Both compute the same quantities
and build the same :class:`~numeric.drift_report.DriftReport`; they agree to rounding (tested).
"""

from __future__ import annotations

import math
import sys
import time as _time
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, final

import numpy as np
import sympy

from bea import methods as _methods
from bea.errors import InvalidStepSizeError, NotABSeriesMethodError
from bea.methods import Method, RungeKutta, resolve
from bea.methods.slow_manifold import MemoryMethodMembers
from bea.modified import modified_equation
from bea.validation import check_step_size, check_truncation, renamed_keyword
from numeric import integrate
from numeric.arrays import explicit_rk_step, explicit_tableau, is_tensor
from numeric.codegen import CompiledField, FlowLike, compile_field
from numeric.drift_report import DriftReport, TruncationResult, check_schedule, fit_slope, verdict
from numeric.errors import ConvergenceError, ModifiedSeriesWarning, NumericTypeError, ShapeError
from numeric.integrate import DEFAULT_TOL, integrate_flow

if TYPE_CHECKING:
    import torch
    from torch import Tensor

    from numeric.steppers import Stepper

__all__ = [
    "DriftReport",
    "FieldFactory",
    "TruncationResult",
    "autodiff_fields",
    "drift_check",
    "expected_slope",
    "flow_fields",
    "spectral_radius",
    "step_count",
    "stepper_step_count",
]

#: (h, r) ↦ θ ↦ field truncated through h^r at step h. r = 0 must give f itself.
FieldFactory = Callable[[float, int], Callable[["Tensor"], "Tensor"]]


def expected_slope(method: Method | str, truncation: int | None = None, search: int = 6, *,
                   order: int | None = None) -> int:
    """q = the smallest k > ``truncation`` with a nonzero h^k term in the modified equation of ``method``.

    ``truncation`` r: the modified field kept through h^r (required; ``order=`` is its deprecated name).
    Looks ``search`` powers of h beyond r and returns r + 1 if all of them vanish.

    For a method without a B-series (a one-step map, an SGD epoch, a game update) the vanishing terms
    depend on the problem, and q is the generic r + 1.

    >>> expected_slope(_methods.explicit_euler, 2), expected_slope("explicit_midpoint", 0)
    (3, 2)
    """
    r = renamed_keyword(truncation, order, new_name="truncation", old_name="order", where="expected_slope",
                        default=None)
    if r is None:
        raise NumericTypeError("expected_slope() needs the truncation r (the field kept through h^r)")
    resolved: Any = resolve(method)  # bea methods are frozen, hence hashable
    return _expected_slope(resolved, check_truncation(r), search)


def _expected_slope(method: Method, truncation: int, search: int) -> int:
    nonzero = _nonzero_orders(method, truncation + 1 + search)
    if nonzero is None:
        return truncation + 1
    return next((k for k in range(truncation + 1, truncation + 1 + search) if k + 1 in nonzero), truncation + 1)


#: method ↦ (n, the orders ≤ n of the trees with a nonzero coefficient in its modified equation through order n)
_NONZERO_ORDERS: dict[Method, tuple[int, frozenset[int]]] = {}


def _nonzero_orders(method: Method, n: int) -> frozenset[int] | None:
    """The orders (≤ ``n``, at least) of the trees with a nonzero modified-equation coefficient; ``None`` for a method
    without a B-series. One series serves every smaller ``n`` (a drift check asks for r + 1 + search, r = 0..3)."""
    known = _NONZERO_ORDERS.get(method)
    if known is None or known[0] < n:
        try:
            series = modified_equation(method, n)
        except NotABSeriesMethodError:
            return None
        known = (n, frozenset(t.order for t in series if series[t] != 0))
        _NONZERO_ORDERS[method] = known
    return known[1]


class flow_fields:
    """The factory (h, r) ↦ compiled field of a ModifiedFlow, with data ``subs`` bound.

    Each truncation r is compiled once (codegen caches), each h only binds a value. The factory
    accepts a 1-D tensor of step sizes for batched integration (rows of θ ↔ entries of h).
    """

    batched_h = True

    def __init__(self, flow: FlowLike, subs: Mapping[Any, Any] | None = None) -> None:
        self.flow = flow
        self.subs = dict(subs or {})
        self._compiled: dict[int, CompiledField] = {}

    def __call__(self, h: Any, r: int) -> CompiledField:
        if r not in self._compiled:
            check_truncation(r, maximum=self.flow.truncation)
            self._compiled[r] = compile_field(self.flow, truncation=r, subs=self.subs)
        return self._compiled[r].bind(**{self.flow.h.name: h})


def autodiff_fields(
    loss_fn: Callable[..., Tensor], params_or_model: Any = None, method: Method | str = _methods.explicit_euler,
    **kwargs: Any,
) -> FieldFactory:
    """The factory (h, r) ↦ ``ModifiedField(loss_fn, params_or_model, truncation=r, h=h, method=...)``.

    ``ModifiedField`` is :class:`numeric.autodiff.ModifiedField`; one is built per truncation r.
    """
    from numeric.autodiff import ModifiedField  # optional: written separately

    cache: dict[int, Any] = {}

    def factory(h: float, r: int) -> Any:
        if r not in cache:
            cache[r] = ModifiedField(loss_fn, params_or_model, truncation=r, h=h, method=method, **kwargs)
        return cache[r].with_h(float(h))

    return factory


def spectral_radius(field: Callable[[Tensor], Any], theta: Tensor, iterations: int = 50) -> float:
    """max |λ| of the Jacobian f'(θ) (= the Hessian's largest |eigenvalue| for f = −∇E).

    Exact eigenvalues for m ≤ 256 (Jacobian by autograd, else central differences); power
    iteration on finite-difference Jacobian--vector products for larger m. For
    :math:`E = (u^2 + 4v^2)/2` the Hessian is diag(1, 4), so gradient descent is stable for h < 2/4:

    >>> import torch
    >>> round(spectral_radius(lambda t: (t[0]**2 + 4 * t[1]**2) / 2, torch.ones(2, dtype=torch.float64)), 12)
    4.0
    """
    import torch

    from numeric.steppers import as_field, field_jacobian

    f = as_field(field, theta)
    m = theta.shape[0]
    jac = field_jacobian(f, theta) if m <= 256 else None

    # the finite-difference step, computed once (not one host sync inside every product)
    eps = 1e-6 * (1.0 + float(theta.abs().max())) if theta.dtype == torch.float64 else 1e-3

    def jvp(v: Tensor) -> Tensor:
        return (f(theta + eps * v) - f(theta - eps * v)) / (2 * eps)

    if jac is None and m <= 256:
        eye = torch.eye(m, dtype=theta.dtype, device=theta.device)
        jac = torch.stack([jvp(eye[i]) for i in range(m)], dim=1)
    if jac is not None:
        jac = jac.detach().cpu().to(torch.float64)
        if not bool(torch.isfinite(jac).all()):  # LAPACK would print an error on stdout and return NaN
            return math.nan
        return float(torch.linalg.eigvals(jac).abs().max())
    v = torch.randn(m, dtype=theta.dtype, device=theta.device, generator=None)
    v = v / torch.linalg.vector_norm(v)
    norm = 0.0
    for _ in range(iterations):
        w = jvp(v)
        norm = float(torch.linalg.vector_norm(w))
        if not norm > 0 or not math.isfinite(norm):
            break
        v = w / norm
    return norm


def _theta0_vector(theta0: Any, params: Sequence[sympy.Symbol] | None) -> Any:
    if not isinstance(theta0, Mapping):
        return theta0
    if params is None:
        raise NumericTypeError("theta0 given by name needs a ModifiedFlow (to know the parameter order)")
    values = {(k.name if isinstance(k, sympy.Symbol) else str(k)): v for k, v in theta0.items()}
    names = [p.name for p in params]
    missing = [n for n in names if n not in values]
    extra = [n for n in values if n not in names]
    if missing or extra:
        raise ShapeError(f"theta0 must give every parameter {names} once; missing {missing}, unknown {extra}")
    return [float(values[n]) for n in names]


def step_count(time: float, h: float) -> int:
    """n with n·h = ``time``: the number of steps of size ``h`` up to ``time``.

    Raises :class:`~bea.errors.InvalidStepSizeError` (a ``ValueError``) when ``time`` is not a
    positive integer multiple of ``h`` (to 1e-9 relative).

    >>> step_count(1.0, 0.0025)
    400
    """
    h = check_step_size(h)
    n = round(time / h)
    if n < 1 or abs(n * h - time) > 1e-9 * max(time, h):
        raise InvalidStepSizeError(f"time {time:g} is not a positive integer multiple of h = {h:g}")
    return n


def _resolve_method(method: Method | Stepper | str | None, fields: Any) -> Method | Stepper:
    flow_method = getattr(fields, "method", None) if isinstance(fields, FlowLike) else None
    if method is None:
        method = flow_method if flow_method is not None else _methods.explicit_euler
    if not isinstance(method, (str, Method)):  # a stepper of the caller's, or a mistake: the torch steppers know
        from numeric.steppers import Stepper

        if not isinstance(method, Stepper):
            raise NumericTypeError(f"method must be a bea method, a method name or a stepper, got {method!r}")
        if flow_method is not None and flow_method.name != method.name:
            raise NumericTypeError(f"the stepper {method.name} differs from the flow's method {flow_method.name}")
        return method
    resolved = resolve(method)
    if flow_method is not None and flow_method != resolved:
        raise NumericTypeError(f"method {resolved.name} differs from the flow's method {flow_method.name}")
    return resolved


def drift_check(
    fields: FlowLike | FieldFactory,
    theta0: Any,
    hs: Sequence[float],
    *,
    time: float = 1.0,
    truncations: Sequence[int] = (0, 1, 2, 3),
    method: Method | Stepper | str | None = None,
    subs: Mapping[Any, Any] | None = None,
    step_field: Any = None,
    tolerance: float = 0.15,
    device: str | torch.device | None = None,
    dtype: torch.dtype | str | None = None,
    rtol: float = DEFAULT_TOL,
    atol: float = DEFAULT_TOL,
    check_integration: bool = True,
    progress: bool = False,
    orders: Sequence[int] | None = None,
) -> DriftReport:
    r"""Errors :math:`\|\theta_n - \varphi^{[r]}_T(\theta_0)\|` for each truncation r and step h, and fitted slopes.

    ``truncations``: the truncations r to check (the modified field kept through h^r; ``orders=``
    is their deprecated name). ``fields``: a ``bea.ModifiedFlow`` (data bound by ``subs``;
    re-derived if its truncation is below ``max(truncations)``) or a factory ``(h, r) -> field`` (:func:`flow_fields`,
    :func:`autodiff_fields`, or your own). ``theta0``: a vector, or ``{name: value}`` for a flow.
    ``method``: a ``bea`` method or catalogue name (run by its registered stepper,
    :func:`numeric.steppers.stepper_for`), or a :class:`~numeric.steppers.Stepper` that carries its own problem
    (default: the flow's method). ``step_field``: what the method is run on: a field or loss, or the minibatch
    losses of an SGD epoch, the players of a game (see :func:`numeric.steppers.stepper_for`); default: the
    flow's :class:`bea.methods.Problem` compiled with ``subs`` (so one-step maps, compositions, SGD epochs and
    games run from their flow alone), else the factory's r = 0 field. A stepper whose step stands for
    ``total_steps`` steps of size h (an epoch of m minibatch steps) is run ``time / (total_steps * h)`` times,
    since its flow is per unit time. A method with memory (heavy-ball, Nesterov, RMSProp, Adam) is checked by
    :func:`numeric.memory_drift.memory_drift_check`, started on its slow manifold (it needs its flow).
    ``device``: default θ0's device (a CUDA θ0 runs on CUDA), else the CPU. ``rtol``/``atol`` below the dtype's
    floor (:func:`numeric.integrate.tolerance_floor`: 100·eps) are raised to it, so float32 runs end.
    ``check_integration``: integrate each flow twice (tolerances 10x apart) and record the
    difference; warns if it is not 100x below the smallest measured error.

    The route is chosen by problem (module docstring): a small float64 CPU check of an explicit Runge--Kutta method
    on a flow runs in NumPy and SciPy without importing torch, every other one in torch; both give the same report.
    """
    start = _time.perf_counter()
    if isinstance(time, bool) or not isinstance(time, (int, float)) or not (math.isfinite(time) and time > 0):
        raise NumericTypeError(f"time must be a positive finite number, got {time!r}")
    meth = _resolve_method(method, fields)
    truncations = renamed_keyword(truncations, orders, new_name="truncations", old_name="orders",
                                  where="drift_check", default=(0, 1, 2, 3))
    hs, truncations = check_schedule(tuple(hs), tuple(truncations))
    params = None
    flow: Any = None
    if isinstance(fields, FlowLike):
        flow = fields
        params = flow.params
        if flow.truncation < max(truncations):
            from bea.flows import modified_flow

            problem = getattr(flow, "problem", None)
            source = problem if problem is not None else flow.loss
            again: Any = meth if isinstance(meth, Method) else getattr(flow, "method", None)
            flow = modified_flow(source, list(flow.params), truncation=max(truncations), method=again, h=flow.h)
        factory: Any = flow_fields(flow, subs)
    elif callable(fields):
        if subs:
            raise NumericTypeError("subs applies to a ModifiedFlow; bind data inside your factory")
        factory = fields
    else:
        raise NumericTypeError(f"fields must be a ModifiedFlow or a factory (h, r) -> field, got {fields!r}")
    start_values = _theta0_vector(theta0, params)
    small = _small_problem(meth, flow, step_field, start_values, len(hs), device, dtype)
    if small is not None:
        rk, small_start = small
        _check_start(small_start, params, lambda: bool(np.isfinite(small_start).all()))
        route: Any = _NumpyRoute(rk, flow, subs, factory, small_start, hs[0])
    else:
        memory = {"time": time, "truncations": truncations, "tolerance": tolerance, "rtol": rtol, "atol": atol}
        route = _TorchRoute.build(meth, flow if isinstance(fields, FlowLike) else None, factory, start_values,
                                  theta0, params, hs, step_field=step_field, subs=subs, device=device, dtype=dtype,
                                  memory=memory)
        if isinstance(route, DriftReport):  # a method with memory: checked from its slow manifold
            return route
    per = route.total_steps
    steps = {h: stepper_step_count(time, h, per, route.name) for h in hs}
    notes: list[str] = []
    try:
        lam: float | None = route.lambda_max()
    except (RuntimeError, TypeError, ValueError) as exc:  # a field torch cannot differentiate: no estimate
        lam = None
        notes.append(f"could not estimate lambda_max: {exc}")
    if lam is not None and not math.isfinite(lam):
        notes.append("lambda_max is not finite at theta0 (the Jacobian overflows)")
        lam = None
    if lam is not None and max(hs) * lam >= 1:
        msg = (f"h * lambda_max = {max(hs) * lam:.3g} >= 1 at theta0 (h = {max(hs):g}, lambda_max = {lam:.4g}): "
               "the modified series is not expected to describe the method")
        warnings.warn(msg, ModifiedSeriesWarning, stacklevel=2)
        notes.append(msg)

    bar = _progress_bar(len(hs) * (1 + len(truncations))) if progress else _NO_BAR
    finals: dict[float, Any] = {}
    diverged: list[tuple[float, int, str]] = []
    for h in hs:
        final, divergence = route.trajectory(h, steps[h])
        if divergence is not None:
            diverged.append((h, *divergence))
        else:
            finals[h] = final
        bar.update(1)

    integ: dict[str, Any] = {"time": float(time), "rtol": rtol, "atol": atol}
    results: list[TruncationResult] = []
    worst_integration = 0.0
    if isinstance(meth, Method):  # the largest truncation first: its series serves the smaller ones
        expected = {r: expected_slope(meth, r) for r in sorted(truncations, reverse=True)}
    moved = [route.distance(final, route.theta) for final in finals.values()]
    travelled = min(moved) if moved else None
    for r in truncations:
        flows, est = _flows(route, factory, hs, r, integ, check_integration, bar)
        worst_integration = max(worst_integration, est)
        errors = tuple(
            None if h not in finals or not route.finite(flows[h]) else route.distance(finals[h], flows[h])
            for h in hs
        )
        slope = fit_slope(hs, errors)
        q = expected[r] if isinstance(meth, Method) else r + 1
        if slope is None:
            notes.append(f"truncation {r}: fewer than 2 usable step sizes, slope invalid")
        usable = [e for e in errors if e is not None and e > 0]
        if check_integration and usable and min(usable) < 100 * est:
            notes.append(f"truncation {r}: smallest error {min(usable):.2e} is within 100x of the integration "
                         f"error estimate {est:.1e}: errors this small are near float64 rounding; take larger step "
                         "sizes or a longer time (or lower rtol/atol: drift_check's rtol=, atol=)")
        passed, why = verdict(hs, errors, slope, q, tolerance, travelled)
        if why is not None:
            notes.append(f"truncation {r}: {why}")
        results.append(TruncationResult(r, q, slope, errors, passed))
    bar.close()
    return DriftReport(
        method=route.name, hs=hs, time=float(time), theta0=route.start_values(), device=route.device,
        dtype=route.dtype, tolerance=tolerance, truncations=tuple(results), warnings=tuple(notes),
        diverged=tuple(diverged), lambda_max=lam, rtol=rtol, atol=atol,
        integration_error=worst_integration if check_integration else None,
        elapsed_s=_time.perf_counter() - start,
    )


def _progress_bar(total: int) -> Any:
    from tqdm import tqdm  # type: ignore[import-untyped]  # imported only when shown

    return tqdm(total=total, file=sys.stderr, desc="drift check")


@final
class _NoProgress:
    """The progress bar of a quiet check (``progress=False``)."""

    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


_NO_BAR = _NoProgress()


#: The largest number of parameters the NumPy route takes (λ_max from the exact Jacobian's eigenvalues, as torch's).
SMALL_ROUTE_PARAMS = 256


def _small_problem(meth: Any, flow: Any, step_field: Any, theta0: Any, n_hs: int, device: Any,
                   dtype: Any) -> tuple[RungeKutta, np.ndarray] | None:
    """The method and θ0 as a float64 vector when the check runs on the NumPy route (module docstring), else
    ``None``.

    Device and dtype must be the CPU and float64; the method must be a consistent explicit Runge--Kutta method
    (Σ b_i = 1, so that the flow's h^0 field is the field it steps), checked against a flow without
    ``step_field``, on a real vector of at most :data:`SMALL_ROUTE_PARAMS` entries whose batch over the step sizes
    is small (:func:`numeric.integrate.choose_backend`); a CPU tensor qualifies.
    """
    if flow is None or step_field is not None or not isinstance(meth, RungeKutta) or not meth.is_explicit:
        return None
    if sum(meth.b) != 1:
        return None
    if is_tensor(theta0):
        if theta0.device.type != "cpu" or theta0.is_complex():
            return None
        theta0 = theta0.detach().numpy()
    try:
        arr = np.asarray(theta0)
    except (TypeError, ValueError):  # malformed: the torch route names the problem
        return None
    if np.iscomplexobj(arr) or arr.ndim != 1 or not arr.size <= SMALL_ROUTE_PARAMS:
        return None
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        return None
    if integrate.choose_backend(np.broadcast_to(0.0, (n_hs, arr.size)), device=device, dtype=dtype) != "numpy":
        return None
    return meth, arr.astype(np.float64)


def _check_start(theta: Any, params: Sequence[sympy.Symbol] | None, finite: Callable[[], bool]) -> None:
    """θ0 (a tensor or an array) must be a finite vector with one entry per parameter."""
    if theta.ndim != 1 or (params is not None and theta.shape[0] != len(params)):
        expected = "a 1-D vector" if params is None else f"{len(params)} values for {[p.name for p in params]}"
        raise ShapeError(f"theta0 must be {expected}, got shape {tuple(theta.shape)}")
    if not finite():
        raise NumericTypeError(f"theta0 must be finite, got {theta.tolist()}")


#: A run is diverged at the first iterate that is not finite or whose norm exceeds this (as in ``run_method``).
MAX_NORM = 1e12


@final
class _NumpyRoute:
    """The NumPy route of :func:`drift_check` (module docstring): no torch is imported."""

    total_steps = 1
    device = "cpu"
    dtype = "float64"

    def __init__(self, method: RungeKutta, flow: Any, subs: Mapping[Any, Any] | None, factory: flow_fields,
                 theta: np.ndarray, h: float) -> None:
        self.name = method.name
        self.theta = theta
        self.tableau = explicit_tableau(method)
        # the field the method steps: the flow's h^0 term, f itself (Σ b_i = 1); compiled for NumPy (its Jacobian)
        self.field = compile_field(flow, truncation=0, subs=subs, backend="numpy").bind(**{flow.h.name: h})
        self.step_field = self.field.as_numpy()
        self.factory = factory

    def start_values(self) -> tuple[float, ...]:
        return tuple(self.theta.tolist())

    def lambda_max(self) -> float:
        jac = self.field.jacobian(self.theta)
        if not np.isfinite(jac).all():
            return math.nan
        return float(np.abs(np.linalg.eigvals(jac)).max())

    def trajectory(self, h: float, n: int) -> tuple[np.ndarray | None, tuple[int, str] | None]:
        """θ_n, or the step (1-based) and reason of the first diverged iterate."""
        theta, (A, b), field = self.theta, self.tableau, self.step_field
        for k in range(n):
            new = explicit_rk_step(field, theta, h, A, b)
            if not np.isfinite(new).all():
                return None, (k + 1, "non-finite iterate")
            norm = float(np.linalg.norm(new))
            if norm > MAX_NORM:
                return None, (k + 1, f"norm {norm:.3g} exceeds max_norm {MAX_NORM:.3g}")
            theta = new
        return theta, None

    def batch(self, hs: tuple[float, ...]) -> tuple[Any, Any]:
        return np.asarray(hs, dtype=np.float64), np.broadcast_to(self.theta, (len(hs), self.theta.size))

    def integrate(self, field: CompiledField, theta: Any, time: float, rtol: float, atol: float) -> Any:
        return integrate_flow(field.as_numpy(), theta, time, rtol=rtol, atol=atol, backend="numpy")

    @staticmethod
    def finite(x: Any) -> bool:
        return bool(np.isfinite(x).all())

    @staticmethod
    def distance(a: Any, b: Any) -> float:
        return float(np.linalg.norm(a - b))


@final
class _TorchRoute:
    """The torch route of :func:`drift_check`: the method's stepper and torchdiffeq (or SciPy for small flows)."""

    def __init__(self, stepper: Stepper, base: Any, theta: Tensor, device: torch.device, dtype: torch.dtype) -> None:
        from numeric.steppers import total_steps

        self.stepper, self.base, self.theta = stepper, base, theta
        self.name, self.total_steps = stepper.name, total_steps(stepper)
        self.dev, self.dt = device, dtype
        self.device, self.dtype = str(device), str(dtype).removeprefix("torch.")

    @classmethod
    def build(cls, meth: Method | Stepper, flow: Any, factory: Any, start_values: Any, theta0: Any,
              params: Sequence[sympy.Symbol] | None, hs: tuple[float, ...], *, step_field: Any,
              subs: Mapping[Any, Any] | None, device: Any, dtype: Any,
              memory: dict[str, Any]) -> _TorchRoute | DriftReport:
        """The route, or the report of a method with memory (:func:`numeric.memory_drift.memory_drift_check`)."""
        import torch

        from numeric.devices import as_tensor, resolve_device, resolve_dtype

        dev = resolve_device(device, default=theta0.device if is_tensor(theta0) else "cpu")
        dt = resolve_dtype(dtype)
        theta = as_tensor(start_values, dtype=dt, device=dev, name="theta0")
        _check_start(theta, params, lambda: bool(torch.isfinite(theta).all()))
        if isinstance(meth, MemoryMethodMembers):  # a method with memory starts on its slow manifold
            return _memory_check(meth, flow, theta, hs, subs=subs, step_field=step_field, device=dev, dtype=dt,
                                 **memory)
        stepper = _stepper(meth, step_field, getattr(flow, "problem", None) if params is not None else None, subs,
                           factory, hs[0])
        return cls(stepper, step_field if callable(step_field) else factory(hs[0], 0), theta, dev, dt)

    def start_values(self) -> tuple[float, ...]:
        return tuple(float(v) for v in self.theta.cpu())

    def lambda_max(self) -> float:
        return spectral_radius(self.base, self.theta)

    def trajectory(self, h: float, n: int) -> tuple[Tensor | None, tuple[int, str] | None]:
        from numeric.trajectories import run_method

        try:
            traj = run_method(None, self.theta, h, n, self.stepper, record=False, device=self.dev, dtype=self.dt)
        except ConvergenceError as exc:
            return None, (0, f"implicit solver failed: {exc}")
        if traj.diverged:
            return None, (int(traj.diverged_at or 0), str(traj.reason))
        return traj.final, None

    def batch(self, hs: tuple[float, ...]) -> tuple[Any, Any]:
        import torch

        return torch.tensor(hs, dtype=self.theta.dtype, device=self.theta.device), self.theta.expand(len(hs), -1)

    def integrate(self, field: Any, theta: Any, time: float, rtol: float, atol: float) -> Any:
        return integrate_flow(field, theta, time, rtol=rtol, atol=atol, device=self.dev, dtype=self.dt)

    @staticmethod
    def finite(x: Any) -> bool:
        import torch

        return bool(torch.isfinite(x).all())

    @staticmethod
    def distance(a: Any, b: Any) -> float:
        import torch

        return float(torch.linalg.vector_norm(a - b))


def _stepper(meth: Method | Stepper, step_field: Any, problem: Any, subs: Mapping[Any, Any] | None, factory: Any,
             h: float) -> Stepper:
    """The stepper the drift check runs: the stepper given, or the method's on ``step_field``, else on the flow's
    :class:`bea.methods.Problem` (data ``subs``: minibatch losses, a game, a map's parameters...), else on the
    factory's h^0 field."""
    from numeric.trajectories import make_stepper

    if not isinstance(meth, Method):
        return meth
    if step_field is not None:
        return make_stepper(meth, step_field)
    if problem is not None:
        return make_stepper(meth, problem, subs=dict(subs) if subs else None)
    return make_stepper(meth, factory(h, 0))


def stepper_step_count(time: float, h: float, per: int, name: str) -> int:
    """The number of steps of the stepper ``name`` up to ``time`` when one of them lasts ``per * h`` (an epoch of
    ``per`` minibatch steps); :class:`~bea.errors.InvalidStepSizeError` naming the epoch when ``time`` is not a
    multiple of it.

    >>> stepper_step_count(0.4, 0.02, 2, "sgd_fixed")
    10
    """
    if per == 1:
        return step_count(time, h)
    try:
        return step_count(time, per * h)
    except InvalidStepSizeError:
        raise InvalidStepSizeError(f"one step of {name} lasts {per}*h = {per * h:g} (h = {h:g}); time {time:g} is "
                                   "not a positive integer multiple of it") from None


def _memory_check(method: Any, flow: Any, theta: Tensor, hs: tuple[float, ...], *, step_field: Any,
                  **options: Any) -> DriftReport:
    """A method with memory: :func:`numeric.memory_drift.memory_drift_check` (start on the slow manifold)."""
    if flow is None or step_field is not None or getattr(flow, "loss", None) is None:
        raise NumericTypeError(f"the drift check of {method.name} (a method with memory) needs its ModifiedFlow on a "
                               "loss, to start the optimiser on its slow manifold; no factory or step_field")
    from numeric.memory_drift import memory_drift_check  # it imports this module

    return memory_drift_check(method, flow.loss, list(flow.params), theta.tolist(), hs, flow=flow, **options)


def _flows(
    route: Any, factory: Any, hs: tuple[float, ...], r: int, integ: dict[str, Any], check: bool, bar: Any
) -> tuple[dict[float, Any], float]:
    """φ_T of the field truncated through h^r for every h (batched over h when the factory allows), and an
    error estimate; arrays of the ``route`` (NumPy or torch)."""
    tol_pairs = [(integ["rtol"], integ["atol"])] + ([(integ["rtol"] / 10, integ["atol"] / 10)] if check else [])
    time_ = integ["time"]
    runs: list[dict[float, Any]] = []
    for rt, at in tol_pairs:
        out: dict[float, Any] = {}
        if getattr(factory, "batched_h", False) and len(hs) > 1:
            hvec, starts = route.batch(hs)
            batch = route.integrate(factory(hvec, r), starts, time_, rt, at)
            if route.finite(batch):
                out = dict(zip(hs, list(batch), strict=True))
        for h in hs:
            if h not in out:
                out[h] = route.integrate(factory(h, r), route.theta, time_, rt, at)
        runs.append(out)
    bar.update(len(hs))
    if not check:
        return runs[0], 0.0
    est = max(
        (route.distance(runs[0][h], runs[1][h]) for h in hs
         if route.finite(runs[0][h]) and route.finite(runs[1][h])),
        default=0.0,
    )
    return runs[1], est
