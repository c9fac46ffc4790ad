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

**Step sizes.** The slow-manifold series (of the flow and of the start buffers) is asymptotic in
:math:`h\lambda/(1-\sqrt\beta)^2` (λ: a Hessian eigenvalue): for heavy-ball on a quadratic the slow and fast
roots of :math:`z^2 - (1+\beta-h\lambda)z + \beta` collide at :math:`h\lambda = (1-\sqrt\beta)^2` (≈ 0.0026 at
β = 9/10, ≈ 0.086 at β = 1/2), beyond which there is no real slow manifold. Choose h well below that: on
(y − abx)²/2 from (1, 0.8) (λ ≈ 1.8), β = 9/10 needs h ≈ 4e-4..1e-4 (slopes 1.03, 2.01, 3.03, 4.03 over
T = 0.2), while h = 0.02..0.005 gives O(1) errors and slopes ≈ 0.95 for every r (the buffer series diverges).
"""

from __future__ import annotations

import math
import time as _time
from collections.abc import Mapping, Sequence
from typing import Any

import sympy
import torch
from torch import Tensor

from bea.errors import BeaValueError
from bea.flows import ModifiedFlow, gradient
from bea.methods import Problem
from bea.methods.adaptive import Adam, RMSProp
from bea.methods.momentum import HeavyBall, Nesterov
from numeric.codegen import compile_field
from numeric.devices import as_tensor, resolve_device, resolve_dtype
from numeric.drift import flow_fields
from numeric.drift_report import DriftReport, TruncationResult, fit_slope
from numeric.integrate import DEFAULT_TOL, integrate_flow
from numeric.steppers import stepper_for

__all__ = ["START_CONVENTIONS", "MemoryMethod", "memory_drift_check", "start_state_fields"]

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
    truncations = tuple(truncations)
    if not truncations or any(isinstance(r, bool) or not isinstance(r, int) or r < 0 for r in truncations):
        raise BeaValueError(f"truncations must be non-negative integers, got {truncations!r}")
    top = max(truncations)
    if flow is None or flow.truncation < top:
        flow = method.modified_flow(loss, list(params), truncation=top)
    dev, dt = resolve_device(device), resolve_dtype(dtype)
    theta = as_tensor(list(theta0), dtype=dt, device=dev, name="theta0")
    if theta.shape != (len(flow.params),):
        raise BeaValueError(f"theta0 needs {len(flow.params)} values for {list(flow.params)}, got {list(theta0)}")
    # the stationary stepper (no bias correction) of numeric.steppers, on the compiled field -grad E
    stepper: Any = stepper_for(method, Problem.gradient(flow.loss, list(flow.params)), subs=subs)
    buffers_at = start_state_fields(method, flow, top + 1, subs) if start == "manifold" else {}
    factory = flow_fields(flow, subs)
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
    hvec = torch.tensor([float(h) for h in hs], dtype=dt, device=dev)
    for r in truncations:  # one batched integration per truncation: row i of θ uses step size hs[i]
        ends = integrate_flow(factory(hvec, r), theta.expand(len(hs), -1), time, rtol=rtol, atol=atol,
                              device=dev, dtype=dt)
        errors: list[float | None] = []
        for i, h in enumerate(hs):
            err = float(torch.linalg.vector_norm(ends[i] - finals[h]))
            errors.append(err if math.isfinite(err) else None)
        slope = fit_slope(hs, errors)
        passed = slope is not None and abs(slope - (r + 1)) <= tolerance
        results.append(TruncationResult(r, r + 1, slope, tuple(errors), passed))
    notes = (f"start: {start}",)
    return DriftReport(
        method=method.name, hs=tuple(float(h) for h in hs), time=float(time),
        theta0=tuple(float(v) for v in theta.cpu()), device=str(dev), dtype=str(dt).removeprefix("torch."),
        tolerance=tolerance, truncations=tuple(results), warnings=notes, rtol=rtol, atol=atol,
        elapsed_s=_time.perf_counter() - began,
    )
