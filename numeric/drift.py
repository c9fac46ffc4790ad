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
"""

from __future__ import annotations

import functools
import math
import sys
import time as _time
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sympy
import torch
from torch import Tensor

from bea import methods as _methods
from bea.errors import InvalidStepSizeError, NotABSeriesMethodError
from bea.methods import Method, resolve
from bea.methods.slow_manifold import MemoryMethodMembers
from bea.modified import modified_equation
from bea.validation import check_step_size, check_truncation, renamed_keyword
from numeric.codegen import CompiledField, FlowLike, compile_field
from numeric.devices import as_tensor, resolve_device, resolve_dtype
from numeric.drift_report import DriftReport, TruncationResult, fit_slope, verdict
from numeric.errors import ConvergenceError, ModifiedSeriesWarning, NumericTypeError, ShapeError
from numeric.integrate import DEFAULT_TOL, integrate_flow
from numeric.steppers import Stepper, as_field, field_jacobian, total_steps
from numeric.trajectories import make_stepper, run_method

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
FieldFactory = Callable[[float, int], Callable[[Tensor], Tensor]]


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


@functools.lru_cache(maxsize=64)
def _expected_slope(method: Method, truncation: int, search: int) -> int:
    try:
        series = modified_equation(method, truncation + 1 + search)
    except NotABSeriesMethodError:
        return truncation + 1
    for k in range(truncation + 1, truncation + 1 + search):
        if any(series[t] != 0 for t in series if t.order == k + 1):
            return k
    return truncation + 1


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

    >>> round(spectral_radius(lambda t: (t[0]**2 + 4 * t[1]**2) / 2, torch.ones(2, dtype=torch.float64)), 12)
    4.0
    """
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
    if isinstance(method, Stepper):
        if flow_method is not None and flow_method.name != method.name:
            raise NumericTypeError(f"the stepper {method.name} differs from the flow's method {flow_method.name}")
        return method
    if not isinstance(method, (str, Method)):
        raise NumericTypeError(f"method must be a bea method, a method name or a stepper, got {method!r}")
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
    """
    start = _time.perf_counter()
    dev = resolve_device(device, default=theta0.device if isinstance(theta0, Tensor) else "cpu")
    dt = resolve_dtype(dtype)
    if isinstance(time, bool) or not isinstance(time, (int, float)) or not (math.isfinite(time) and time > 0):
        raise NumericTypeError(f"time must be a positive finite number, got {time!r}")
    meth = _resolve_method(method, fields)
    hs = tuple(float(h) for h in hs)
    if not hs or any(not (math.isfinite(h) and h > 0) for h in hs):
        raise NumericTypeError(f"hs must be positive step sizes, got {hs!r}")
    truncations = renamed_keyword(truncations, orders, new_name="truncations", old_name="orders",
                                  where="drift_check", default=(0, 1, 2, 3))
    truncations = tuple(truncations)
    if not truncations:
        raise NumericTypeError("truncations must not be empty")
    truncations = tuple(check_truncation(r, name="each truncation") for r in truncations)
    params = None
    flow: Any = None
    if isinstance(fields, FlowLike):
        flow = fields
        params = flow.params
        if flow.truncation < max(truncations):
            from bea.flows import modified_flow

            problem = getattr(flow, "problem", None)
            source = problem if problem is not None else flow.loss
            again: Any = getattr(flow, "method", None) if isinstance(meth, Stepper) else meth
            flow = modified_flow(source, list(flow.params), truncation=max(truncations), method=again, h=flow.h)
        factory: Any = flow_fields(flow, subs)
    elif callable(fields):
        if subs:
            raise NumericTypeError("subs applies to a ModifiedFlow; bind data inside your factory")
        factory = fields
    else:
        raise NumericTypeError(f"fields must be a ModifiedFlow or a factory (h, r) -> field, got {fields!r}")
    theta = as_tensor(_theta0_vector(theta0, params), dtype=dt, device=dev, name="theta0")
    if theta.ndim != 1 or (params is not None and theta.shape[0] != len(params)):
        expected = "a 1-D vector" if params is None else f"{len(params)} values for {[p.name for p in params]}"
        raise ShapeError(f"theta0 must be {expected}, got shape {tuple(theta.shape)}")
    if not bool(torch.isfinite(theta).all()):
        raise NumericTypeError(f"theta0 must be finite, got {theta.tolist()}")
    if isinstance(meth, MemoryMethodMembers):  # a method with memory starts on its slow manifold
        return _memory_check(meth, flow if isinstance(fields, FlowLike) else None, theta, hs, time=time,
                             truncations=truncations, subs=subs, step_field=step_field, tolerance=tolerance,
                             rtol=rtol, atol=atol, device=dev, dtype=dt)
    stepper = _stepper(meth, step_field, getattr(flow, "problem", None) if params is not None else None, subs,
                       factory, hs[0])
    per = total_steps(stepper)
    steps = {h: stepper_step_count(time, h, per, stepper.name) for h in hs}
    notes: list[str] = []

    base = step_field if callable(step_field) else factory(hs[0], 0)
    try:
        lam: float | None = spectral_radius(base, theta)
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

    from tqdm import tqdm  # type: ignore[import-untyped]

    bar = tqdm(total=len(hs) * (1 + len(truncations)), file=sys.stderr, disable=not progress, desc="drift check")
    finals: dict[float, Tensor] = {}
    diverged: list[tuple[float, int, str]] = []
    for h in hs:
        try:
            traj = run_method(None, theta, h, steps[h], stepper, record=False, device=dev, dtype=dt)
        except ConvergenceError as exc:
            diverged.append((h, 0, f"implicit solver failed: {exc}"))
        else:
            if traj.diverged:
                diverged.append((h, int(traj.diverged_at or 0), str(traj.reason)))
            else:
                finals[h] = traj.final
        bar.update(1)

    integ: dict[str, Any] = {"time": float(time), "rtol": rtol, "atol": atol, "device": dev, "dtype": dt}
    results: list[TruncationResult] = []
    worst_integration = 0.0
    moved = [float(torch.linalg.vector_norm(final - theta)) for final in finals.values()]
    travelled = min(moved) if moved else None
    for r in truncations:
        flows, est = _flows(factory, theta, hs, r, integ, check_integration, bar)
        worst_integration = max(worst_integration, est)
        errors = tuple(
            None if h not in finals or not bool(torch.isfinite(flows[h]).all())
            else float(torch.linalg.vector_norm(finals[h] - flows[h]))
            for h in hs
        )
        slope = fit_slope(hs, errors)
        q = r + 1 if isinstance(meth, Stepper) else expected_slope(meth, r)
        if slope is None:
            notes.append(f"truncation {r}: fewer than 2 usable step sizes, slope invalid")
        usable = [e for e in errors if e is not None and e > 0]
        if check_integration and usable and min(usable) < 100 * est:
            notes.append(f"truncation {r}: smallest error {min(usable):.2e} is within 100x of the integration "
                         f"error estimate {est:.1e}; lower rtol/atol")
        passed, why = verdict(hs, errors, slope, q, tolerance, travelled)
        if why is not None:
            notes.append(f"truncation {r}: {why}")
        results.append(TruncationResult(r, q, slope, errors, passed))
    bar.close()
    return DriftReport(
        method=meth.name, hs=hs, time=float(time), theta0=tuple(float(v) for v in theta.cpu()),
        device=str(dev), dtype=str(dt).removeprefix("torch."), tolerance=tolerance, truncations=tuple(results),
        warnings=tuple(notes), diverged=tuple(diverged), lambda_max=lam, rtol=rtol, atol=atol,
        integration_error=worst_integration if check_integration else None,
        elapsed_s=_time.perf_counter() - start,
    )


def _stepper(meth: Method | Stepper, step_field: Any, problem: Any, subs: Mapping[Any, Any] | None, factory: Any,
             h: float) -> Stepper:
    """The stepper the drift check runs: the stepper given, or the method's on ``step_field``, else on the flow's
    :class:`bea.methods.Problem` (data ``subs``: minibatch losses, a game, a map's parameters...), else on the
    factory's h^0 field."""
    if isinstance(meth, Stepper):
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
    factory: Any, theta: Tensor, hs: tuple[float, ...], r: int, integ: dict[str, Any], check: bool, bar: Any
) -> tuple[dict[float, Tensor], float]:
    """φ_T of the field truncated through h^r for every h (batched over h when the factory allows), and an
    error estimate."""
    tol_pairs = [(integ["rtol"], integ["atol"])] + ([(integ["rtol"] / 10, integ["atol"] / 10)] if check else [])
    kw = {"device": integ["device"], "dtype": integ["dtype"]}
    time_ = integ["time"]
    runs: list[dict[float, Tensor]] = []
    for rt, at in tol_pairs:
        out: dict[float, Tensor] = {}
        if getattr(factory, "batched_h", False) and len(hs) > 1:
            hvec = torch.tensor(hs, dtype=theta.dtype, device=theta.device)
            batch = integrate_flow(factory(hvec, r), theta.expand(len(hs), -1), time_, rtol=rt, atol=at, **kw)
            if bool(torch.isfinite(batch).all()):
                out = dict(zip(hs, batch.unbind(0), strict=True))
        for h in hs:
            if h not in out:
                out[h] = integrate_flow(factory(h, r), theta, time_, rtol=rt, atol=at, **kw)
        runs.append(out)
    bar.update(len(hs))
    if not check:
        return runs[0], 0.0
    est = max(
        (float(torch.linalg.vector_norm(runs[0][h] - runs[1][h])) for h in hs
         if bool(torch.isfinite(runs[0][h]).all() and torch.isfinite(runs[1][h]).all())),
        default=0.0,
    )
    return runs[1], est
