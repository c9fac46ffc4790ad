"""Figures of the reproductions (matplotlib's object API with the Agg canvas: no pyplot, no display).

Two-parameter model: ``two_param.png`` (per start: the paths at a small and a moderate h over the
loss contours, and the GD/EGR end points of the sweeps) and ``two_param_sweep.png`` (distance to
the flattest minimum and :math:`R_{IG}/E` at the end against h). The digits figures are drawn by
:mod:`numeric.reproduce._digits_plots`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from numeric.outputs import atomic_write

__all__ = ["new_figure", "plot_two_param", "save"]

_FLOW_STYLE = {0: ("gradient flow", "k", "--"), 1: ("IGR flow (truncation 1)", "tab:red", "-")}
_START_COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:purple")


def new_figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save(fig: Figure, path: Path) -> Path:
    return atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=110))


def _box(points: list[np.ndarray], flattest: float) -> tuple[float, float, float, float]:
    pts = np.concatenate([p[np.all(np.isfinite(p), axis=1)] for p in points] + [np.array([[flattest, flattest]])])
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    pad = 0.12 * (hi - lo).max() + 0.2
    return lo[0] - pad, hi[0] + pad, lo[1] - pad, hi[1] + pad


def _landscape(ax: Any, data: dict[str, Any], box: tuple[float, float, float, float]) -> None:
    x, y = data["model"]["x"], data["model"]["y"]
    a0, a1, b0, b1 = box
    A, B = np.meshgrid(np.linspace(a0, a1, 300), np.linspace(b0, b1, 300))
    E = 0.5 * (y - A * B * x) ** 2
    ax.contour(A, B, np.log10(E + 1e-12), levels=np.arange(-3, 3.1, 0.5), colors="0.75", linewidths=0.6,
               linestyles="solid")
    for sign in (1, -1):
        a = np.linspace(0.02, max(abs(a0), abs(a1)), 400) * sign
        b = (y / x) / a
        keep = (b > b0) & (b < b1)
        ax.plot(a[keep], b[keep], color="0.35", lw=1.2, label="minima ab = y/x" if sign == 1 else None)
    s = data["model"]["flattest_minimum"][0]
    ax.plot([s, -s], [s, -s], "*", color="gold", ms=14, mec="k", label="flattest minimum", zorder=5)
    ax.set_xlim(a0, a1)
    ax.set_ylim(b0, b1)
    ax.set_xlabel("a")
    ax.set_ylabel("b")


def _truncation_style(r: int) -> tuple[str, str, str]:
    return _FLOW_STYLE.get(r, (f"modified flow through h^{r}", "tab:blue", ":"))


def plot_two_param(result: Any, folder: Path) -> list[Path]:
    """Draw ``two_param.png`` and ``two_param_sweep.png`` into ``folder``."""
    data = result.data
    starts = data["model"]["starts"]
    s = data["model"]["flattest_minimum"][0]
    fig = new_figure(15, 4.6 * len(starts))
    axes = fig.subplots(len(starts), 3, squeeze=False)
    for row, start in enumerate(starts):
        name = start["name"]
        paths = [p for p in result.paths if p["start"] == name]
        ends = [np.array([r["end"]]) for r in data["sweep"] + data["egr"] if r["start"] == name and r["end"]]
        box = _box([p["gd"] for p in paths] + ends, s)
        for col, p in enumerate(paths[:2]):
            ax = axes[row, col]
            _landscape(ax, data, box)
            gd = p["gd"]
            stride = max(1, len(gd) // 150)
            ax.plot(gd[::stride, 0], gd[::stride, 1], "o-", color="tab:green", ms=2.5, lw=0.5,
                    label=f"GD iterates (every {stride})" if stride > 1 else "GD iterates")
            for r, fp in p["flows"].items():
                label, colour, ls = _truncation_style(r)
                ax.plot(fp[:, 0], fp[:, 1], ls, color=colour, lw=1.6, label=label)
            ax.plot([start["a"]], [start["b"]], "ks", ms=6)
            ax.set_title(f"start {name} ({start['a']}, {start['b']}): {p['role']} h = {p['h']:g}, "
                         f"t ≤ {data['config']['horizon']:g}", fontsize=10)
            if row == 0 and col == 0:
                ax.legend(fontsize=7, loc="best")
        ax = axes[row, 2]
        _landscape(ax, data, box)
        rows = [r for r in data["sweep"] if r["start"] == name and r["end"]]
        sc = ax.scatter([r["end"][0] for r in rows], [r["end"][1] for r in rows], c=[r["h"] for r in rows],
                        cmap="viridis", s=28, zorder=4, label="GD end points")
        erows = [r for r in data["egr"] if r["start"] == name and r["end"]]
        if erows:
            ax.scatter([r["end"][0] for r in erows], [r["end"][1] for r in erows], c=[r["h_equivalent"] for r in erows],
                       cmap="viridis", marker="x", s=30, zorder=4,
                       label=f"EGR end points (h0 = {data['config']['egr_h']:g})")
        fig.colorbar(sc, ax=ax, label="h  (EGR: h0 + 4μ)")
        ax.plot([start["a"]], [start["b"]], "ks", ms=6)
        ax.set_title(f"start {name}: end points of the sweeps")
        ax.legend(fontsize=7, loc="best")
    written = [save(fig, folder / "two_param.png")]

    fig = new_figure(12, 4.2)
    ax1, ax2 = fig.subplots(1, 2)
    notes: list[str] = []
    for i, start in enumerate(starts):
        colour = _START_COLOURS[i % len(_START_COLOURS)]
        rows = [r for r in data["sweep"] if r["start"] == start["name"] and not r["diverged"]]
        erows = [r for r in data["egr"] if r["start"] == start["name"] and not r["diverged"]]
        for ax, key in ((ax1, "distance_to_flattest"), (ax2, "rig_over_loss_end")):
            ax.plot([r["h"] for r in rows], [r[key] for r in rows], "o-", color=colour, ms=4,
                    label=f"GD, start {start['name']}")
            if erows:
                ax.plot([r["h_equivalent"] for r in erows], [r[key] for r in erows], "x--", color=colour, ms=5,
                        label=f"EGR (h0 = {data['config']['egr_h']:g}), start {start['name']}")
            for t in data["trajectories"]:
                igr_end = t["flows"].get("1", {}).get("end_point")
                if t["start"] == start["name"] and igr_end and key != "rig_over_loss_end":
                    a, b = igr_end
                    d = min(np.hypot(a - s, b - s), np.hypot(a + s, b + s))
                    ax.plot([t["h"]], [d], "D", color=colour, mfc="none", ms=7,
                            label=f"IGR flow end, start {start['name']}" if t["role"] == "moderate" else None)
        diverged = [f"{r['h']:g}" for r in data["sweep"] if r["start"] == start["name"] and r["diverged"]]
        if diverged:
            notes.append(f"GD diverged from start {start['name']} at h = {', '.join(diverged)}")
    ax1.set_xlabel("learning rate h  (EGR: equivalent h0 + 4μ)")
    ax1.set_ylabel("distance of the end point to the flattest minimum")
    ax2.set_xlabel("learning rate h  (EGR: equivalent h0 + 4μ)")
    ax2.set_ylabel("R_IG / E at the end  (= sharpness x²(a²+b²))")
    ax1.legend(fontsize=7, loc="lower left")
    ax2.legend(fontsize=7)
    if notes:
        ax1.text(0.98, 0.98, "\n".join(notes), transform=ax1.transAxes, fontsize=7, va="top", ha="right")
    fig.suptitle("Two-parameter model: where gradient descent lands, by learning rate")
    written.append(save(fig, folder / "two_param_sweep.png"))
    return written
