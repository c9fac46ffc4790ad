r"""Accurate flows :math:`\varphi_T(\theta_0)` of a vector field, in float64.

The drift check compares a discrete trajectory with the exact flow of a truncated
modified field; the flow must be computed with an error far below the drift being
measured (down to ~1e-10 for high truncation orders). Two routes:

* ``backend="torch"``: ``torchdiffeq.odeint`` with the 8th-order Dormand--Prince pair
  ``dopri8`` (or ``dopri5``), ``rtol = atol = 1e-13`` by default, on any device;
* ``backend="numpy"``: ``scipy.integrate.solve_ivp`` with ``DOP853`` (Hairer--Nørsett--Wanner I,
  §II.10), ``rtol = atol = 1e-13`` (SciPy's floor is 100·eps ≈ 2.2e-14);
* ``backend="auto"`` (the default): chosen by problem size (:func:`choose_backend`). A small float64
  system on the CPU (at most :data:`SMALL_SYSTEM` state entries, batch included) goes to SciPy's DOP853,
  whose per-step cost on a few numbers is a fraction of a torch solver's (every stage of ``dopri8`` is a
  dozen tensor operations of ~5 µs each); anything larger, on a GPU or in float32 goes to torchdiffeq.
  A field that can compile itself for NumPy (a :class:`numeric.codegen.CompiledField`: its
  ``as_numpy()``) is evaluated in NumPy; any other torch field gets tensors (no copies: the
  arrays are shared). The result is a tensor either way, in θ0's dtype and on its device, as on the
  torch route.

**Error control.** Both are adaptive embedded pairs keeping the *local* error per step
below ``atol + rtol·|y|``; the global error over a time T is then of order
``T·L·tol`` for a Lipschitz constant L (moderate here: T·L ≲ 30). :func:`flow_error_estimate`
integrates twice, with ``tol`` and ``tol/10``, and returns the difference: an
estimate of the error of the looser run (the tighter one is ~10x more accurate, as the
error is proportional to the tolerance). :func:`numeric.drift.drift_check` records that
estimate and warns when it is not 100x below the smallest drift it measures.

>>> import torch
>>> y = integrate_flow(lambda t: -t, torch.tensor([1.0], dtype=torch.float64), 1.0)
>>> abs(float(y[0]) - 0.36787944117144233) < 1e-12
True
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from numeric.arrays import is_tensor
from numeric.errors import ConvergenceError, NumericTypeError, ShapeError, UnknownBackendError

if TYPE_CHECKING:
    import torch
    from torch import Tensor

__all__ = [
    "BACKENDS",
    "DEFAULT_TOL",
    "FLOAT64_FLOOR",
    "SMALL_SYSTEM",
    "TORCH_METHODS",
    "choose_backend",
    "flow_error_estimate",
    "integrate_flow",
    "tolerance_floor",
]

#: Default relative and absolute tolerance of both routes.
DEFAULT_TOL = 1e-13
#: The torchdiffeq solvers accepted by ``method`` on the torch route.
TORCH_METHODS = ("dopri8", "dopri5")
#: The values of ``backend``.
BACKENDS = ("auto", "torch", "numpy")
#: ``backend="auto"`` integrates a float64 CPU system of at most this many state entries (batch × m) with SciPy.
SMALL_SYSTEM = 4096


def tolerance_floor(dtype: torch.dtype) -> float:
    """The smallest relative/absolute tolerance an embedded pair can meet in ``dtype``: 100·eps.

    float64: 2.2e-14 (SciPy's own floor for DOP853); float32: 1.2e-5. A tolerance below it is raised to it:
    the pair cannot meet it and would shrink its step until the step cap.

    >>> import torch
    >>> tolerance_floor(torch.float64), tolerance_floor(torch.float32)
    (2.220446049250313e-14, 1.1920928955078125e-05)
    """
    import torch

    return 100 * torch.finfo(dtype).eps


#: :func:`tolerance_floor` of float64 (100·eps), known without torch: the floor of the SciPy route.
FLOAT64_FLOOR = 100 * float(np.finfo(np.float64).eps)


def _check_time(time: float) -> float:
    if isinstance(time, bool) or not isinstance(time, (int, float)) or not math.isfinite(time) or time < 0:
        raise NumericTypeError(f"time must be a finite number >= 0, got {time!r}")
    return float(time)


def choose_backend(theta0: Any, *, device: str | torch.device | None = None,
                   dtype: torch.dtype | str | None = None) -> str:
    """The route ``backend="auto"`` takes for a start ``theta0`` of shape ``(..., m)``: ``"numpy"`` or ``"torch"``.

    SciPy's DOP853 for float64 on the CPU with at most :data:`SMALL_SYSTEM` entries (batch included), where a torch
    solver's per-step overhead dominates; torchdiffeq for larger systems, GPUs and float32 (SciPy integrates in
    float64 only). ``device`` defaults to θ0's (CPU for non-tensors), ``dtype`` to float64. The answer costs no
    import of torch when θ0 is no tensor and ``device``/``dtype`` are ``None`` or spelled ``"cpu"``/``"float64"``
    (other values are validated by :mod:`numeric.devices`). :func:`numeric.drift.drift_check` picks its route by
    the same rule.

    >>> import torch
    >>> choose_backend(torch.zeros(4, 2, dtype=torch.float64)), choose_backend(torch.zeros(10_000))
    ('numpy', 'torch')
    >>> choose_backend([1.0, 2.0], dtype=torch.float32), choose_backend([1.0, 2.0], device="cpu", dtype="float64")
    ('torch', 'numpy')
    """
    size = theta0.numel() if is_tensor(theta0) else np.size(theta0)
    return "numpy" if size <= SMALL_SYSTEM and _cpu_float64(theta0, device, dtype) else "torch"


def _cpu_float64(theta0: Any, device: Any, dtype: Any) -> bool:
    """Whether the computation runs in float64 on the CPU; torch is imported only to validate other spellings."""
    plain_device = (device is None and not is_tensor(theta0)) or (isinstance(device, str) and device.strip() == "cpu")
    plain_dtype = dtype is None or (isinstance(dtype, str) and dtype.strip().lower() in ("float64", "double"))
    if plain_device and plain_dtype:
        return True
    import torch

    from numeric.devices import resolve_device, resolve_dtype

    dev = resolve_device(device, default=theta0.device if is_tensor(theta0) else "cpu")
    return dev.type == "cpu" and resolve_dtype(dtype) == torch.float64


def integrate_flow(
    field: Callable[[Any], Any],
    theta0: Any,
    time: float,
    *,
    rtol: float = DEFAULT_TOL,
    atol: float = DEFAULT_TOL,
    method: str = "dopri8",
    backend: str = "auto",
    device: str | torch.device | None = None,
    dtype: torch.dtype | str | None = None,
    max_steps: int = 200_000,
) -> Any:
    r""":math:`\varphi_T(\theta_0)` for :math:`\dot\theta = f(\theta)`, an autonomous field ``field(theta)``.

    ``backend``: ``"auto"`` (default; :func:`choose_backend` picks by size), ``"torch"`` or ``"numpy"``; ``method``
    names the torchdiffeq pair of the torch route (:data:`TORCH_METHODS`). Torch and auto routes: return a tensor on
    ``device`` (default θ0's, else CPU) in ``dtype`` (default float64), and ``field`` gets tensors. NumPy route:
    returns a float64 ``numpy`` array (``field`` gets and may return NumPy arrays; torch outputs are converted). A
    non-finite state or field value stops the integration; the result then contains NaN. ``rtol``/``atol`` below
    :func:`tolerance_floor` of the dtype are raised to it; a run that still needs more than ``max_steps`` steps
    raises :class:`~numeric.errors.ConvergenceError` (never a silent NaN), and so does, on the NumPy route, an
    integration whose last 1000 steps advanced t by less than 1e-6 T (it stalled at a non-smooth or singular point).
    Unknown ``backend`` or ``method``:
    :class:`~numeric.errors.UnknownBackendError`.

    A batch of starts ``(..., m)`` is integrated at once. A quarter turn of :math:`\dot u = -v,\ \dot v = u`
    maps (1, 0) to (0, 1) and (0, 2) to (−2, 0), on both routes; the NumPy route gives :math:`e^{-1}` for
    :math:`\dot y = -y`:

    >>> import math, numpy as np, torch
    >>> rotation = lambda t: torch.stack([-t[..., 1], t[..., 0]], dim=-1)
    >>> starts = torch.tensor([[1.0, 0.0], [0.0, 2.0]], dtype=torch.float64)
    >>> quarter = torch.tensor([[0.0, 1.0], [-2.0, 0.0]], dtype=torch.float64)
    >>> all(torch.allclose(integrate_flow(rotation, starts, math.pi / 2, backend=b), quarter, atol=1e-10)
    ...     for b in ("auto", "torch"))
    True
    >>> round(float(integrate_flow(lambda y: -y, np.array([1.0]), 1.0, backend="numpy")[0]), 10)
    0.3678794412

    Reference: Hairer--Nørsett--Wanner, *Solving Ordinary Differential Equations I*, 2nd ed., section II.10.
    """
    T = _check_time(time)
    for name, tol in (("rtol", rtol), ("atol", atol)):
        if not isinstance(tol, (int, float)) or not tol > 0:
            raise NumericTypeError(f"{name} must be a positive number, got {tol!r}")
    if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1:
        raise NumericTypeError(f"max_steps must be a positive integer, got {max_steps!r}")
    if backend not in BACKENDS:
        raise UnknownBackendError(f"unknown integration backend {backend!r}; choose one of {BACKENDS}")
    if backend == "numpy":
        return _integrate_scipy(field, theta0, T, max(rtol, FLOAT64_FLOOR), max(atol, FLOAT64_FLOOR), max_steps)
    if method not in TORCH_METHODS:
        raise UnknownBackendError(f"unknown torch integrator {method!r}; choose one of {TORCH_METHODS}")
    import torch

    from numeric.devices import as_tensor, resolve_device, resolve_dtype

    default_dev = theta0.device if is_tensor(theta0) else "cpu"
    dev = resolve_device(device, default=default_dev)
    dt = resolve_dtype(dtype)
    y0 = as_tensor(theta0, dtype=dt, device=dev, name="theta0")
    if y0.ndim == 0:
        raise ShapeError("theta0 must be a vector (m,) or a batch of vectors (..., m), got a scalar")
    floor = tolerance_floor(dt)
    rtol, atol = max(rtol, floor), max(atol, floor)
    if T == 0:
        return y0.clone()
    if backend == "auto" and choose_backend(y0, dtype=dt) == "numpy":
        return torch.from_numpy(_integrate_scipy(_numpy_field(field), y0, T, rtol, atol, max_steps))
    from torchdiffeq import odeint  # type: ignore[import-untyped]

    def rhs(t: Tensor, y: Tensor) -> Tensor:
        out = field(y)
        return out if isinstance(out, torch.Tensor) else torch.as_tensor(out, dtype=y.dtype, device=y.device)

    times = torch.tensor([0.0, T], dtype=dt, device=dev)
    with torch.no_grad():
        try:
            options = {"max_num_steps": max_steps, "step_t": times}  # land on T: no interpolation error
            sol = odeint(rhs, y0, times, rtol=rtol, atol=atol, method=method, options=options)
        except AssertionError as exc:  # torchdiffeq signals underflow / non-finite steps / the step cap this way
            if "max_num_steps" in str(exc):
                raise _step_cap(max_steps, T, rtol, atol, dt) from None
            if "underflow" in str(exc) or "finite" in str(exc).lower():
                return torch.full_like(y0, math.nan)  # the flow blows up before T: a diverged flow, reported
            raise
    return sol[-1]


def _step_cap(max_steps: int, T: float, rtol: float, atol: float, dtype: object) -> ConvergenceError:
    return ConvergenceError(
        f"the flow integration needed more than max_steps = {max_steps} steps to reach T = {T:g} at "
        f"rtol = {rtol:g}, atol = {atol:g} in {dtype}; raise max_steps or the tolerances")


def _numpy_field(field: Callable[[Any], Any]) -> Callable[[np.ndarray], Any]:
    """``field`` for NumPy states: its NumPy compilation when it offers one (``as_numpy``), else tensors in."""
    as_numpy = getattr(field, "as_numpy", None)
    if callable(as_numpy):
        compiled: Callable[[np.ndarray], Any] = as_numpy()
        return compiled

    import torch

    def on_tensors(y: np.ndarray) -> Any:
        with torch.no_grad():
            return field(torch.from_numpy(y))

    return on_tensors


class _StepCap(Exception):
    """Raised inside the SciPy right-hand side when the step budget is spent (SciPy has no step cap)."""


class _NonFinite(Exception):
    """Raised inside the SciPy right-hand side when the field is not finite (as torchdiffeq's finiteness check)."""


#: Right-hand-side evaluations of one DOP853 step (12 stages, the last one reused as the next step's first).
_DOP853_EVALUATIONS = 12

#: A SciPy integration whose last _STALL_WINDOW evaluations (1000 steps) advanced t by less than _STALL_FRACTION of
#: T has stalled: its steps collapse near a point where the field is not smooth or is singular (an adaptive
#: integrator then runs until the step cap, minutes for an expensive field). Legitimate flows of the drift
#: checks need a few hundred to a few thousand steps over all of T.
_STALL_WINDOW = 1000 * _DOP853_EVALUATIONS
_STALL_FRACTION = 1e-6


def _integrate_scipy(field: Callable[[Any], Any], theta0: Any, T: float, rtol: float, atol: float,
                     max_steps: int) -> np.ndarray:
    from scipy.integrate import solve_ivp

    if is_tensor(theta0):
        theta0 = theta0.detach().cpu().numpy()
    y0 = np.asarray(theta0, dtype=np.float64)
    if y0.ndim == 0:
        raise ShapeError("theta0 must be a vector (m,) or a batch of vectors (..., m), got a scalar")
    if T == 0:
        return y0.copy()
    shape, budget = y0.shape, _DOP853_EVALUATIONS * max_steps + 2
    calls, reached, checkpoint = 0, 0.0, 0.0

    def rhs(t: float, y: np.ndarray) -> np.ndarray:
        nonlocal calls, reached, checkpoint
        calls += 1
        if calls > budget:
            raise _StepCap
        reached = max(reached, t)
        if calls % _STALL_WINDOW == 0:  # steps collapsing at a point where the field is not smooth or is singular
            if reached - checkpoint < _STALL_FRACTION * T:
                raise ConvergenceError(
                    f"the flow integration stalled at t = {reached:.6g} of T = {T:g}, theta = "
                    f"{_rows_text(y.reshape(shape))}: {_STALL_WINDOW // _DOP853_EVALUATIONS} "
                    f"steps advanced t by less than {_STALL_FRACTION:g} T (the field is not smooth or is singular "
                    "there)")
            checkpoint = reached
        out = field(y.reshape(shape))
        if is_tensor(out):
            out = out.detach().cpu().numpy()
        values = np.asarray(out, dtype=np.float64).reshape(-1)
        if not np.isfinite(values).all():  # SciPy's step control loops on a NaN step size until the budget is spent
            raise _NonFinite
        return values

    try:
        sol = solve_ivp(rhs, (0.0, T), y0.reshape(-1), method="DOP853", rtol=rtol, atol=atol)
    except _StepCap:
        raise _step_cap(max_steps, T, rtol, atol, "float64") from None
    except _NonFinite:  # the field is not finite at a state: a diverged (or undefined) flow, reported as NaN
        return np.full_like(y0, np.nan)
    if not sol.success or not np.isfinite(sol.y[:, -1]).all():
        return np.full_like(y0, np.nan)
    result: np.ndarray = sol.y[:, -1].reshape(shape)
    return result


def flow_error_estimate(field: Callable[[Any], Any], theta0: Any, time: float, **kwargs: Any) -> tuple[Any, float]:
    """(φ_T(θ0) at the tolerances ``rtol``/``atol`` of ``kwargs``, estimated error of that result).

    The estimate is ‖y(tol) − y(tol/10)‖₂: the second run is ~10x more accurate, and the
    tighter result is the one returned.

    >>> import torch
    >>> y, error = flow_error_estimate(lambda t: -t, torch.tensor([1.0], dtype=torch.float64), 1.0)
    >>> abs(float(y[0]) - math.exp(-1)) < 1e-12, error < 1e-12
    (True, True)
    """
    on_torch = kwargs.get("backend", "auto") != "numpy"
    if on_torch:
        from numeric.devices import resolve_dtype

        floor = 10 * tolerance_floor(resolve_dtype(kwargs.get("dtype")))
    else:
        floor = 10 * FLOAT64_FLOOR
    rtol = max(kwargs.pop("rtol", DEFAULT_TOL), floor)  # the tighter run (tol/10) stays at or above the floor
    atol = max(kwargs.pop("atol", DEFAULT_TOL), floor)
    loose = integrate_flow(field, theta0, time, rtol=rtol, atol=atol, **kwargs)
    tight = integrate_flow(field, theta0, time, rtol=rtol / 10, atol=atol / 10, **kwargs)
    if is_tensor(tight):
        import torch

        return tight, float(torch.linalg.vector_norm(loose - tight))
    return tight, float(np.linalg.norm(loose - tight))


def _rows_text(theta: np.ndarray) -> str:
    """θ for a one-line message: the vector, or its rows (one per batched start) separated by semicolons."""
    rows = theta.reshape(1, -1) if theta.ndim < 2 else theta.reshape(theta.shape[0], -1)
    text = "; ".join("[" + ", ".join(f"{v:.6g}" for v in row) + "]" for row in rows)
    return text if rows.shape[0] == 1 else f"(one row per start) {text}"
