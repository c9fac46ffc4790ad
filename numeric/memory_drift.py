r"""Drift checks of optimisers with memory (heavy-ball, Nesterov, RMSProp, Adam) against their modified flows.

For a method of :mod:`bea.methods.momentum` / :mod:`bea.methods.adaptive`, its modified flow truncated after
:math:`h^r` and a start :math:`\theta_0`, the check runs the optimiser for :math:`n = T/h` steps with the
torch.optim-exact steppers of :mod:`numeric.steppers` (built by :func:`numeric.steppers.stepper_for`;
stationary form: no bias correction) and compares
:math:`\theta_n` with :math:`\varphi^{[r]}_T(\theta_0)`. Backward error analysis on the slow manifold predicts
:math:`\|\theta_n - \varphi^{[r]}_T(\theta_0)\| = O(h^{r+1})`.

**Start** (``start=``):

* ``"manifold"`` (default): the optimiser's buffers start *on the slow manifold* at θ₀: torch's
  ``momentum_buffer``, ``exp_avg``, ``exp_avg_sq`` or ``square_avg`` are set to their slow-manifold series
  (:meth:`start_state` of the bea method, e.g. :math:`b_0 = \sum_k \beta^k \nabla E(\theta_{-1-k})` with the past
  iterates on the modified flow) through :math:`h^{r_{\max}+1}`, which is accurate enough for every r tested.
* ``"zero"``: torch's own start (zero buffers, i.e. zero velocity). The fast, off-manifold component decays
  like :math:`\beta^n`, but it leaves the trajectory on the modified flow from a point shifted by O(h) (the
  asymptotic phase), so the error stays O(h) for every r: the fitted slopes are capped near 1.

The report names a zero start among its warnings (it caps the slopes); the default start is no warning.

**Refused starts.** A flow that is not finite at θ₀, or torch's RMSProp/Adam (ε outside the root) through h¹
where a gradient component vanishes (:func:`check_start`), is a :class:`~bea.errors.NonSmoothPointError` before
any work: the adaptive integrator would otherwise stall there.

**Step sizes.** The slow-manifold series (of the flow and of the start buffers) is asymptotic in
:math:`h\lambda/(1-\sqrt\beta)^2` (λ: a Hessian eigenvalue): for heavy-ball on a quadratic the slow and fast
roots of :math:`z^2 - (1+\beta-h\lambda)z + \beta` collide at :math:`h\lambda = (1-\sqrt\beta)^2` (≈ 0.0026 at
β = 9/10, ≈ 0.086 at β = 1/2), beyond which there is no real slow manifold. Choose h well below that: on
(y − abx)²/2 from (1, 0.8) (λ ≈ 1.8), β = 9/10 needs h ≈ 4e-4..1e-4 (slopes 1.03, 2.01, 3.03, 4.03 over
T = 0.2), while h = 0.02..0.005 gives O(1) errors (the buffer series diverges). :func:`manifold_diagnostic` warns
when the largest h is beyond the range, and :func:`numeric.drift_report.verdict` (the pass rule of every drift
check) does not pass O(1) errors.
"""

from __future__ import annotations

import math
import time as _time
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import sympy
import torch
from torch import Tensor

from bea.errors import BeaValueError, NonSmoothPointError
from bea.flows import ModifiedFlow, gradient
from bea.methods import Problem
from bea.methods.adaptive import Adam, RMSProp
from bea.methods.hyper import hyperparameter_record
from bea.methods.momentum import HeavyBall, Nesterov
from numeric.codegen import compile_field
from numeric.devices import as_tensor, resolve_device, resolve_dtype
from numeric.drift import flow_fields, spectral_radius
from numeric.drift_report import DriftReport, TruncationResult, check_schedule, fit_slope, verdict
from numeric.errors import ModifiedSeriesWarning
from numeric.integrate import DEFAULT_TOL, integrate_flow
from numeric.steppers import stepper_for

__all__ = ["START_CONVENTIONS", "MemoryMethod", "check_start", "manifold_diagnostic", "memory_drift_check",
           "start_state_fields"]

MemoryMethod = HeavyBall | Nesterov | RMSProp | Adam
START_CONVENTIONS = ("manifold", "zero")


def start_state_fields(method: MemoryMethod, flow: ModifiedFlow, truncation: int,
                       subs: Mapping[Any, Any] | None = None) -> dict[str, Any]:
    """Compiled θ ↦ slow-manifold value of each optimiser buffer (torch's state names), through h^truncation.

    Each is called as ``fn(theta, h=h)``.
    """
    expansion = method.expansion(flow.params, gradient(flow.loss, flow.params))
    out = {}
    for name, series in method.start_state(expansion).items():
        column = sum((expansion.column(series[k]) * flow.h**k for k in range(truncation + 1)),
                     sympy.zeros(len(flow.params), 1))
        out[name] = compile_field(sympy.ImmutableMatrix(column), params=flow.params, subs=subs)
    return out


def check_start(method: MemoryMethod, flow: ModifiedFlow, theta: Tensor, truncation: int,
                subs: Mapping[Any, Any] | None = None) -> None:
    """Refuse a start where the method's modified flow through h^truncation is not defined.

    Evaluates ∇E at θ₀ and hands the names of its zero components to the method's ``check_smooth_at``
    (torch's Adam/RMSProp, ε outside the root: :class:`~bea.errors.NonSmoothPointError`, as
    :class:`numeric.OptimiserField` does at such a θ).
    """
    g = compile_field(gradient(flow.loss, flow.params), params=flow.params, subs=subs)(theta)
    method.check_smooth_at([p.name for p, gj in zip(flow.params, g.tolist(), strict=True) if gj == 0], truncation,
                           point=f"theta0 = {theta.tolist()}")


def manifold_diagnostic(method: MemoryMethod, flow: ModifiedFlow, theta: Tensor, h: float,
                        subs: Mapping[Any, Any] | None = None) -> tuple[float, float | None, str | None]:
    r"""(κ, λ_f, message or None): how far step size ``h`` is from the slow-manifold expansion's range at θ.

    Two conditions of the expansion (:mod:`bea.methods.slow_manifold`) are measured, and κ is the larger ratio:

    * the buffers' parasitic roots stay apart from the slow one: :math:`h\lambda_f <` ``method.manifold_radius``
      (λ_f: spectral radius of the Jacobian of the leading field :math:`f_0` at θ; for heavy-ball the roots of
      :math:`z^2-(1+\beta-h\lambda)z+\beta` meet at the radius);
    * RMSProp/Adam: the preconditioner :math:`\varphi(v)` is expanded by Taylor's formula around :math:`v = g^2`,
      whose radius is :math:`g_j^2` (ε outside: φ is singular at v = 0) or :math:`g_j^2 + \varepsilon` (inside);
      the first-order shift of the averaged v used at the step is
      :math:`v_j - g_j^2 = -h\frac{2\beta_2}{1-\beta_2}g_j(Hf_0)_j` (:mod:`bea.methods.adaptive`), so
      :math:`h\frac{2\beta_2}{1-\beta_2}|g_j(Hf_0)_j|` must stay below that radius.

    κ ≥ 1 means the modified series is not expected to describe the optimiser at that h: the message says so.
    """
    f0 = compile_field(sympy.ImmutableMatrix(flow.terms[0]), params=flow.params, subs=subs)
    lam: float | None = spectral_radius(f0, theta)
    if lam is None or not math.isfinite(lam):
        lam = None
    radius = float(method.manifold_radius)
    ratios = [] if lam is None else [(h * lam / radius, f"h * lambda_f = {h * lam:.3g} against the slow manifold's "
                                      f"radius {radius:.3g} (lambda_f = {lam:.4g}, the Jacobian of the h^0 field)")]
    if isinstance(method, (Adam, RMSProp)):
        g = gradient(flow.loss, flow.params)
        hessian = sympy.hessian(flow.loss, list(flow.params))
        shift = compile_field(sympy.ImmutableMatrix(g.multiply_elementwise(hessian * flow.terms[0])),
                              params=flow.params, subs=subs)(theta)
        gv = compile_field(g, params=flow.params, subs=subs)(theta)
        size = gv * gv + (float(method.eps) if method.eps_inside else 0.0)
        weight = 2 * float(method.beta2) / (1 - float(method.beta2))
        per = (h * weight * shift.abs() / size).tolist()
        j = max(range(len(per)), key=lambda i: per[i])
        ratios.append((per[j], f"the averaged v shifts by {per[j]:.3g} times the Taylor radius of the preconditioner "
                               f"at component {flow.params[j].name} (h (2 beta2/(1 - beta2)) |g H f_0| / g^2"
                               f"{' + eps' if method.eps_inside else ''})"))
    if not ratios:
        return math.nan, lam, "could not estimate the slow manifold's range (the Jacobian is not finite at theta0)"
    kappa, what = max(ratios, key=lambda pair: pair[0] if math.isfinite(pair[0]) else math.inf)
    if not kappa < 1:
        return kappa, lam, (f"h = {h:g} is outside the range of the slow-manifold expansion at theta0: {what}; "
                            "the modified series is not expected to describe the optimiser (take h smaller)")
    return kappa, lam, None


def memory_drift_check(
    method: MemoryMethod,
    loss: sympy.Expr,
    params: Sequence[sympy.Symbol],
    theta0: Sequence[float],
    hs: Sequence[float],
    *,
    time: float = 1.0,
    truncations: Sequence[int] = (0, 1, 2, 3),
    subs: Mapping[Any, Any] | None = None,
    start: str = "manifold",
    tolerance: float = 0.15,
    rtol: float = DEFAULT_TOL,
    atol: float = DEFAULT_TOL,
    device: str | torch.device | None = None,
    dtype: torch.dtype | str | None = None,
    flow: ModifiedFlow | None = None,
) -> DriftReport:
    r"""Errors :math:`\|\theta_n - \varphi^{[r]}_T(\theta_0)\|` of an optimiser with memory, per truncation r and h.

    ``loss``/``params``: SymPy (data bound by ``subs``); ``theta0``: start values in the order of ``params``;
    ``hs``: step sizes (T a multiple of each); ``start``: ``"manifold"`` or ``"zero"`` (module docstring).
    ``flow``: a modified flow of ``method`` through ``max(truncations)`` (derived when omitted). Expected slope
    r + 1 for each r. Returns a :class:`~numeric.drift_report.DriftReport` (``method`` = the method's name).
    """
    began = _time.perf_counter()
    if start not in START_CONVENTIONS:
        raise BeaValueError(f"start must be one of {START_CONVENTIONS}, got {start!r}")
    hs, truncations = check_schedule(tuple(hs), tuple(truncations))
    top = max(truncations)
    if flow is None or flow.truncation < top:
        flow = method.modified_flow(loss, list(params), truncation=top)
    dev, dt = resolve_device(device), resolve_dtype(dtype)
    theta = as_tensor(list(theta0), dtype=dt, device=dev, name="theta0")
    if theta.shape != (len(flow.params),):
        raise BeaValueError(f"theta0 needs one value per parameter {list(flow.params)}, got {list(theta0)}")
    check_start(method, flow, theta, top, subs)
    factory = flow_fields(flow, subs)
    hvec = torch.tensor([float(h) for h in hs], dtype=dt, device=dev)
    for r in truncations:  # a field undefined at theta0 would stall the adaptive integrator: refuse it now
        if not bool(torch.isfinite(factory(hvec, r)(theta.expand(len(hs), -1))).all()):
            raise NonSmoothPointError(f"the modified flow of {method.name} truncated after h^{r} is not finite at "
                                      f"theta0 = {theta.tolist()}: the loss or the flow is not defined there")
    _, lam, diagnosis = manifold_diagnostic(method, flow, theta, max(hs), subs)
    notes: list[str] = [] if start == "manifold" else [
        "start: zero (torch's zero buffers, off the slow manifold): the trajectory follows the flow from a point "
        "shifted by O(h), so every fitted slope is capped near 1"]
    if diagnosis is not None:
        warnings.warn(diagnosis, ModifiedSeriesWarning, stacklevel=2)
        notes.append(diagnosis)
    # the stationary stepper (no bias correction) of numeric.steppers, on the compiled field -grad E
    stepper: Any = stepper_for(method, Problem.gradient(flow.loss, list(flow.params)), subs=subs)
    buffers_at = start_state_fields(method, flow, top + 1, subs) if start == "manifold" else {}
    finals: dict[float, Tensor] = {}
    for h in hs:
        n = round(time / h)
        if n < 1 or abs(n * h - time) > 1e-9 * time:
            raise BeaValueError(f"time {time} is not a positive integer multiple of h = {h}")
        state = stepper.init(theta, **{k: fn(theta, h=h) for k, fn in buffers_at.items()})
        for _ in range(n):
            state = stepper.step(state, h)
        finals[h] = state.theta
    results = []
    blown = [h for h, final in finals.items() if not bool(torch.isfinite(final).all())]
    if blown and diagnosis is not None and start == "manifold":  # blame the start, not the optimiser
        notes.append(f"h = {', '.join(f'{h:g}' for h in blown)}: the optimiser's trajectory is not finite, and it "
                     "started from slow-manifold buffers evaluated outside the manifold's range (above); the "
                     "optimiser itself may be stable there: --start zero runs it from torch's zero buffers")
    travelled = min(float(torch.linalg.vector_norm(final - theta)) for final in finals.values())
    for r in truncations:  # one batched integration per truncation: row i of θ uses step size hs[i]
        ends = integrate_flow(factory(hvec, r), theta.expand(len(hs), -1), time, rtol=rtol, atol=atol,
                              device=dev, dtype=dt)
        errors: list[float | None] = []
        for i, h in enumerate(hs):
            err = float(torch.linalg.vector_norm(ends[i] - finals[h]))
            errors.append(err if math.isfinite(err) else None)
        slope = fit_slope(hs, errors)
        passed, why = verdict(hs, errors, slope, r + 1, tolerance, travelled)
        if why is not None:
            notes.append(f"truncation {r}: {why}")
        results.append(TruncationResult(r, r + 1, slope, tuple(errors), passed))
    record: dict[str, Any] = hyperparameter_record(method)
    return DriftReport(
        method=method.name, hs=tuple(float(h) for h in hs), time=float(time),
        theta0=tuple(float(v) for v in theta.cpu()), device=str(dev), dtype=str(dt).removeprefix("torch."),
        tolerance=tolerance, truncations=tuple(results), warnings=tuple(notes), lambda_max=lam, rtol=rtol, atol=atol,
        elapsed_s=_time.perf_counter() - began, hyperparameters=tuple(record["hyperparameters"].items()),
        eps_inside=record.get("eps_inside"),
    )
