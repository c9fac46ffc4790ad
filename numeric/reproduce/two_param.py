r"""The two-parameter model of Barrett & Dherin (ICLR 2021, §3 and Figure 1), reproduced exactly.

The loss is :math:`E(a, b) = \tfrac12 (y - abx)^2` with x = 1, y = 0.6. Its minima form the
hyperbola :math:`ab = y/x`; the Hessian's nonzero eigenvalue there is :math:`x^2(a^2 + b^2)`,
smallest at the **flattest minimum** :math:`a = b = \sqrt{y/x}` (and its mirror image).
Since :math:`\|\nabla E\|^2 = 2x^2(a^2 + b^2)E`, the implicit regulariser
:math:`R_{IG} = \|\nabla E\|^2/m` (m = 2) satisfies :math:`R_{IG}/E = x^2(a^2+b^2)`: at equal loss,
a smaller :math:`R_{IG}` *is* a flatter point, and the limit of :math:`R_{IG}/E` at the end of
training is the sharpness of the minimum reached (``rig_over_loss_end`` below).

What is computed (all in float64, NumPy):

* the exact modified flows of gradient descent (GD) through :math:`h^p`, derived by
  :func:`bea.modified_flow` and compiled by :func:`numeric.compile_field`: truncation 0 is the
  gradient flow, truncation 1 the IGR flow :math:`-\nabla(E + \lambda R_{IG})`, :math:`\lambda = hm/4`
  (Barrett & Dherin, Theorem 3.1), truncation 3 a higher-order one; each integrated with
  :func:`numeric.integrate_flow` (DOP853) and compared with the GD iterates at equal times
  :math:`t = nh` (backward error analysis: Hairer, Lubich & Wanner, *Geometric Numerical
  Integration*, ch. IX);
* the end points of GD run to convergence (:math:`E \le 10^{-20}`) for a sweep of h, their
  distance to the flattest minimum, :math:`|a - b|` and :math:`R_{IG}/E`; GD with h beyond
  stability is recorded as diverged (step of divergence), not raised;
* the same with **explicit** regularisation: GD with a small step :math:`h_0` on
  :math:`E + \mu\|\nabla E\|^2` (gradient derived exactly by SymPy). Its IGR flow is that of
  :math:`E + (h_0/4 + \mu)\|\nabla E\|^2`, the same as GD with :math:`h = h_0 + 4\mu`, so each μ
  is reported with that "equivalent learning rate".

Exact handle (docs/reproduction.md, section 1): the gradient flow conserves :math:`a^2 - b^2`; one GD step
multiplies it by :math:`1 - h^2 r^2 x^2` (r = abx − y). Every change of balance is discretisation
drift, so end points move toward :math:`a = b` as h grows.

:func:`run_two_param` returns a :class:`TwoParamResult` (``.data`` is the JSON document, schema
``bea.reproduce.two_param/1``); :func:`write_two_param` also writes ``two_param.json`` and the
figures ``two_param.png`` (paths over the loss contours) and ``two_param_sweep.png``.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import sympy

from bea.flows import gradient, modified_flow
from bea.validation import check_truncation
from numeric.codegen import CompiledField, compile_field
from numeric.errors import HyperparameterError
from numeric.integrate import integrate_flow
from numeric.reproduce._common import (
    check_nonnegative,
    check_positive,
    out_dir,
    progress_bar,
    refuse_existing,
    write_json,
)

__all__ = ["RESULT_FILES", "SCHEMA", "Start", "TwoParamConfig", "TwoParamResult", "run_two_param", "write_two_param"]

SCHEMA = "bea.reproduce.two_param/1"
_a, _b, _x, _y, _mu = sympy.symbols("a b x y mu")
LOSS = (_y - _a * _b * _x) ** 2 / 2


@dataclass(frozen=True)
class Start:
    """A starting point with the small and moderate learning rates whose paths are drawn."""

    name: str
    a: float
    b: float
    h_small: float
    h_moderate: float


def _default_hs() -> tuple[float, ...]:
    return (0.001, 0.0025, *(round(0.005 * k, 4) for k in range(1, 21)), 0.3)


@dataclass(frozen=True)
class TwoParamConfig:
    """Settings of the two-parameter reproduction (defaults: the paper's setting plus a far start).

    ``hs``: the GD sweep; ``egr_h``: the small step of the explicit-regularisation runs and ``mus``
    their weights (default ``(h - egr_h)/4`` for each swept h > egr_h, so that the equivalent
    learning rate ``egr_h + 4 mu`` runs over the sweep up to ``egr_max_h``); ``truncations``: the
    truncations r of the modified flows drawn;
    ``horizon``: the time over which paths are drawn and compared; ``checkpoints``: how many
    comparison times along it; ``max_steps``: cap of every GD run.
    """

    x: float = 1.0
    y: float = 0.6
    starts: tuple[Start, ...] = (Start("paper", 2.8, 3.5, 0.005, 0.065), Start("far", 4.0, -3.0, 0.005, 0.045))
    hs: tuple[float, ...] = field(default_factory=_default_hs)
    egr_h: float = 0.001
    egr_max_h: float = 0.1
    mus: tuple[float, ...] | None = None
    truncations: tuple[int, ...] = (0, 1, 3)
    horizon: float = 3.0
    long_time: float = 60.0
    checkpoints: int = 200
    loss_tol: float = 1e-20
    max_steps: int = 200_000
    rtol: float = 1e-11

    def __post_init__(self) -> None:
        object.__setattr__(self, "hs", tuple(sorted(check_positive("learning rates", self.hs))))
        check_positive("x and y", (self.x, self.y))
        check_positive("egr_h", (self.egr_h,))
        if self.mus is not None:
            object.__setattr__(self, "mus", tuple(sorted(check_nonnegative("mu", self.mus))))
        for s in self.starts:
            check_positive(f"learning rates of start {s.name!r}", (s.h_small, s.h_moderate))
            if not all(math.isfinite(v) for v in (s.a, s.b)):
                raise HyperparameterError(f"start {s.name!r} must be finite, got ({s.a}, {s.b})")
        if not self.truncations:
            raise HyperparameterError("truncations must not be empty")
        for r in self.truncations:
            check_truncation(r, name="each truncation")
        if self.checkpoints < 2 or self.max_steps < 1:
            raise HyperparameterError("checkpoints must be >= 2 and max_steps >= 1")

    @classmethod
    def quick(cls) -> TwoParamConfig:
        """A coarser variant (fewer swept h, fewer comparison times) for tests: a few seconds."""
        return cls(hs=(0.001, 0.005, 0.02, 0.035, 0.05, 0.065, 0.08), checkpoints=60, long_time=40.0)

    @property
    def egr_mus(self) -> tuple[float, ...]:
        """The μ values of the explicit-regularisation runs."""
        if self.mus is not None:
            return self.mus
        return tuple(round((h - self.egr_h) / 4, 12) for h in self.hs if self.egr_h < h <= self.egr_max_h)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["mus"] = list(self.egr_mus)
        return d


@dataclass(frozen=True)
class TwoParamResult:
    """The JSON document (``data``) and the paths drawn in the figure (``paths``, not in the JSON)."""

    data: dict[str, Any]
    paths: list[dict[str, Any]]

    def table(self) -> str:
        """A short plain-text table of the sweep and the tracking errors."""
        lines = []
        for start in self.data["model"]["starts"]:
            name = start["name"]
            lines.append(f"start {name} ({start['a']}, {start['b']}): GD end points vs h "
                         f"(flattest minimum a = b = {self.data['model']['flattest_minimum'][0]:.4f})")
            lines.append(f"  {'h':>7} {'|a-b|':>8} {'dist':>8} {'R_IG/E':>8} {'steps':>7}")
            for row in (r for r in self.data["sweep"] if r["start"] == name):
                if row["diverged"]:
                    lines.append(f"  {row['h']:>7g} diverged at step {row['diverged_at']}")
                    continue
                lines.append(f"  {row['h']:>7g} {row['abs_a_minus_b']:>8.4f} {row['distance_to_flattest']:>8.4f} "
                             f"{row['rig_over_loss_end']:>8.4f} {row['steps']:>7d}")
            for tr in (t for t in self.data["trajectories"] if t["start"] == name):
                errs = ", ".join(f"truncation {o}: {v['tracking_error_max']:.2e}" for o, v in tr["flows"].items())
                lines.append(f"  h = {tr['h']:g}: max |flow - GD| over t <= {tr['horizon']:g}: {errs}")
        lines.append("checks:")
        lines += [f"  {'yes' if v else 'NO ':<3}  {k}" for k, v in self.data["checks"].items()]
        return "\n".join(lines)


# ----------------------------------------------------------------------------- exact model pieces
class _Model:
    """Compiled pieces of the two-parameter model for the given x, y."""

    def __init__(self, cfg: TwoParamConfig) -> None:
        values: dict[str, Any] = {"x": cfg.x, "y": cfg.y}
        self.flow = modified_flow(LOSS, [_a, _b], truncation=max(cfg.truncations))
        self.fields = {r: compile_field(self.flow, r, backend="numpy", subs=values) for r in cfg.truncations}
        self.gd_field = compile_field(self.flow, 0, backend="numpy", subs={**values, "h": 0.0})  # -grad E
        g = gradient(LOSS, [_a, _b])
        penalised = LOSS + _mu * (g.T * g)[0, 0]
        self.egr_field = compile_field(-gradient(penalised, [_a, _b]), params=[_a, _b], backend="numpy", subs=values)
        igr = self.flow.igr()
        subs = {_x: cfg.x, _y: cfg.y}
        self.r_ig_expr = igr["R_IG"]
        ratio = sympy.factor(sympy.cancel(igr["R_IG"] / LOSS))
        self.ratio_expr = ratio
        self.loss = sympy.lambdify((_a, _b), LOSS.subs(subs), "numpy")
        self.ratio = sympy.lambdify((_a, _b), ratio.subs(subs), "numpy")
        self.flattest = math.sqrt(cfg.y / cfg.x)
        self.hessian = sympy.lambdify((_a, _b), sympy.hessian(LOSS, [_a, _b]).subs(subs), "numpy")

    def stable_h(self, start: Start) -> float:
        """2/λ_max of the Hessian at the start: GD is linearly stable there below this step."""
        lam = float(np.linalg.eigvalsh(np.asarray(self.hessian(start.a, start.b), dtype=np.float64)).max())
        return 2.0 / lam if lam > 0 else math.inf

    def loss_of(self, theta: np.ndarray) -> np.ndarray:
        return np.asarray(self.loss(theta[..., 0], theta[..., 1]), dtype=np.float64)


def _descend(
    step_field: Callable[..., np.ndarray],
    theta0: np.ndarray,
    hs: np.ndarray,
    loss: Callable[[np.ndarray], np.ndarray],
    cfg: TwoParamConfig,
    mus: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """GD θ ← θ + h f(θ) on a batch of rows (own h, own μ), each until E ≤ loss_tol, divergence or the cap."""
    theta = theta0.astype(np.float64).copy()
    n = theta.shape[0]
    steps = np.zeros(n, dtype=np.int64)
    diverged_at = np.full(n, -1, dtype=np.int64)
    active = loss(theta) > cfg.loss_tol
    for _ in range(cfg.max_steps):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        extra = {"mu": mus[idx]} if mus is not None else {}
        with np.errstate(over="ignore", invalid="ignore"):
            new = theta[idx] + hs[idx, None] * step_field(theta[idx], **extra)
        bad = ~np.isfinite(new).all(axis=1) | (np.linalg.norm(new, axis=1) > 1e6)
        good = idx[~bad]
        theta[good] = new[~bad]
        steps[idx] += 1
        diverged_at[idx[bad]] = steps[idx[bad]]
        active[idx[bad]] = False
        active[good] = loss(theta[good]) > cfg.loss_tol
    return {"end": theta, "steps": steps, "diverged_at": diverged_at, "converged": loss(theta) <= cfg.loss_tol}


def _end_row(model: _Model, start: Start, h: float, out: dict[str, np.ndarray], i: int) -> dict[str, Any]:
    a, b = (float(v) for v in out["end"][i])
    diverged = bool(out["diverged_at"][i] >= 0)
    s = model.flattest
    dist = min(math.hypot(a - s, b - s), math.hypot(a + s, b + s))  # nearest of the two flattest minima
    return {
        "start": start.name,
        "h": h,
        "diverged": diverged,
        "diverged_at": int(out["diverged_at"][i]) if diverged else None,
        "converged": bool(out["converged"][i]),
        "steps": int(out["steps"][i]),
        "end": None if diverged else [a, b],
        "abs_a_minus_b": None if diverged else abs(abs(a) - abs(b)),
        "distance_to_flattest": None if diverged else dist,
        "rig_over_loss_end": None if diverged else float(model.ratio(a, b)),
        "final_loss": None if diverged else float(model.loss(a, b)),
    }


def _gd_path(model: _Model, start: Start, h: float, n: int) -> np.ndarray:
    theta = np.array([start.a, start.b], dtype=np.float64)
    path = [theta]
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(n):
            theta = theta + h * model.gd_field(theta)
            path.append(theta)
    return np.asarray(path)


def _flow_path(fn: CompiledField, theta0: np.ndarray, times: np.ndarray, rtol: float) -> np.ndarray:
    """φ_t(θ0) at the increasing ``times`` (t0 = 0), by integrating from checkpoint to checkpoint."""
    out = [theta0]
    z = theta0
    prev = 0.0
    for t in times[1:]:
        z = integrate_flow(fn, z, float(t - prev), backend="numpy", rtol=rtol, atol=rtol)
        prev = float(t)
        out.append(z)
        if not np.all(np.isfinite(z)):
            out.extend([np.full(2, np.nan)] * (len(times) - len(out)))
            break
    return np.asarray(out)


def _monotone(values: Sequence[float | None], decreasing: bool = True) -> bool:
    vals = [v for v in values if v is not None]
    return all((v2 < v1) if decreasing else (v2 > v1) for v1, v2 in itertools.pairwise(vals))


def run_two_param(config: TwoParamConfig | None = None, *, progress: bool = True) -> TwoParamResult:
    """Run the whole two-parameter reproduction (about 10 s with the defaults); see the module docstring."""
    cfg = config or TwoParamConfig()
    t0 = time.perf_counter()
    model = _Model(cfg)
    mus = cfg.egr_mus
    n_tasks = len(cfg.starts) * (2 * (len(cfg.truncations) + 1)) + 2
    bar = progress_bar(n_tasks, "two-param", progress)
    try:
        # GD sweep and EGR sweep: one vectorised batch each (rows = start × h, start × mu)
        starts0 = np.array([[s.a, s.b] for s in cfg.starts], dtype=np.float64)
        hs = np.array(cfg.hs, dtype=np.float64)
        rows = np.repeat(starts0, len(hs), axis=0)
        gd = _descend(model.gd_field, rows, np.tile(hs, len(cfg.starts)), model.loss_of, cfg)
        sweep = [_end_row(model, s, float(h), gd, i * len(hs) + j)
                 for i, s in enumerate(cfg.starts) for j, h in enumerate(cfg.hs)]
        bar.update(1)
        egr_rows: list[dict[str, Any]] = []
        if mus:
            m_arr = np.array(mus, dtype=np.float64)
            rows = np.repeat(starts0, len(m_arr), axis=0)
            eg = _descend(model.egr_field, rows, np.full(len(rows), cfg.egr_h), model.loss_of, cfg,
                          mus=np.tile(m_arr, len(cfg.starts)))
            for i, s in enumerate(cfg.starts):
                for j, mu in enumerate(mus):
                    row = _end_row(model, s, cfg.egr_h, eg, i * len(mus) + j)
                    row.update(mu=mu, h_equivalent=cfg.egr_h + 4 * mu)
                    egr_rows.append(row)
        bar.update(1)

        trajectories: list[dict[str, Any]] = []
        paths: list[dict[str, Any]] = []
        for s in cfg.starts:
            theta0 = np.array([s.a, s.b], dtype=np.float64)
            for role, h in (("small", s.h_small), ("moderate", s.h_moderate)):
                n = max(1, math.ceil(cfg.horizon / h))
                gd_path = _gd_path(model, s, h, n)
                every = max(1, n // cfg.checkpoints)
                idx = np.arange(0, n + 1, every)
                times = idx * h
                end = _descend(model.gd_field, theta0[None], np.array([h]), model.loss_of, cfg)
                bar.update(1)
                flows, flow_paths = {}, {}
                for r in cfg.truncations:
                    fn = model.fields[r].bind(h=h)
                    fp = _flow_path(fn, theta0, times, cfg.rtol)
                    err = np.linalg.norm(fp - gd_path[idx], axis=1)
                    far = integrate_flow(fn, theta0, cfg.long_time, backend="numpy", rtol=cfg.rtol, atol=cfg.rtol)
                    ok = bool(np.all(np.isfinite(far)))
                    flows[str(r)] = {
                        "tracking_error_max": float(np.max(err)) if np.all(np.isfinite(err)) else None,
                        "tracking_error_end": float(err[-1]) if np.isfinite(err[-1]) else None,
                        "end_point": [float(v) for v in far] if ok else None,
                        "abs_a_minus_b": float(abs(abs(far[0]) - abs(far[1]))) if ok else None,
                    }
                    flow_paths[r] = fp
                    bar.update(1)
                gd_row = _end_row(model, s, h, end, 0)
                trajectories.append({"start": s.name, "role": role, "h": h, "lambda": h * 2 / 4, "horizon": cfg.horizon,
                                     "checkpoints": len(idx), "gd_end": gd_row, "flows": flows})
                paths.append({"start": s.name, "role": role, "h": h, "gd": gd_path, "times": times,
                              "flows": flow_paths})
    finally:
        bar.close()

    checks: dict[str, bool] = {}
    for s in cfg.starts:
        ok_rows = [r for r in sweep if r["start"] == s.name and not r["diverged"]]
        stable = [r for r in ok_rows if r["h"] < model.stable_h(s)]
        for label, subset in (("for h < 2/lambda_max(start)", stable), ("over the whole sweep", ok_rows)):
            checks[f"{s.name}: R_IG/E at the end decreases with h {label}"] = _monotone(
                [r["rig_over_loss_end"] for r in subset])
            checks[f"{s.name}: distance to the flattest minimum decreases with h {label}"] = _monotone(
                [r["distance_to_flattest"] for r in subset])
        for tr in (t for t in trajectories if t["start"] == s.name):
            e0, e1 = tr["flows"].get("0", {}), tr["flows"].get("1", {})
            if e0 and e1 and e0["tracking_error_max"] is not None and e1["tracking_error_max"] is not None:
                checks[f"{s.name}, h={tr['h']:g}: IGR flow tracks GD better than the gradient flow"] = (
                    e1["tracking_error_max"] < e0["tracking_error_max"])
    data = {
        "schema": SCHEMA,
        "config": cfg.to_dict(),
        "model": {
            "loss": str(LOSS),
            "x": cfg.x,
            "y": cfg.y,
            "m": 2,
            "r_ig": str(model.r_ig_expr),
            "r_ig_over_loss": str(model.ratio_expr),
            "lambda": "h*m/4 = h/2",
            "flattest_minimum": [model.flattest, model.flattest],
            "starts": [{**asdict(s), "stable_h": model.stable_h(s)} for s in cfg.starts],
        },
        "sweep": sweep,
        "egr": egr_rows,
        "trajectories": trajectories,
        "checks": checks,
        "runtime_s": time.perf_counter() - t0,
    }
    return TwoParamResult(data=data, paths=paths)


#: The files :func:`write_two_param` writes (refused when present, unless ``overwrite``).
RESULT_FILES = ("two_param.json", "two_param.png", "two_param_sweep.png")


def write_two_param(result: TwoParamResult, out: str | Path, *, figures: bool = True,
                    overwrite: bool = False) -> list[Path]:
    """Write ``two_param.json`` (and the two PNG figures) into ``out``; returns the paths written.

    An earlier result in ``out`` is kept (:class:`~numeric.outputs.OutputError`) unless ``overwrite``.
    """
    folder = out_dir(out)
    refuse_existing(folder, RESULT_FILES, overwrite)
    path = folder / "two_param.json"
    write_json(path, result.data)
    written = [path]
    if figures:
        from numeric.reproduce._plots import plot_two_param

        written += plot_two_param(result, folder)
    return written
