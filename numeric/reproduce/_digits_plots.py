"""Figures of the digits reproduction, in the style of Barrett & Dherin (2021), Figures 3–5.

Mean over seeds with error bars of one standard deviation; one colour per width; the EGR runs
are drawn at their effective :math:`\\lambda_{eff} = m(h_0/4 + \\mu)` with hollow markers.

* ``digits_rig_lambda.png``: :math:`R_{IG}` at the end against λ (log-log);
* ``digits_test_accuracy.png``: final and best test accuracy against λ;
* ``digits_robustness.png``: test-accuracy drop under parameter noise (per σ) and end slope against λ;
* ``digits_egr.png``: the EGR sweep, :math:`R_{IG}`, test accuracy and robustness against μ.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from numeric.reproduce._plots import new_figure, save

__all__ = ["plot_digits"]

_COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple")


def _series(rows: list[dict[str, Any]], key: str, x: str) -> tuple[list[float], list[float], list[float]]:
    pts = [(r[x], r[key]["mean"], r[key]["std"]) for r in rows if r.get(key) and r[key]["mean"] is not None]
    return [p[0] for p in pts], [p[1] for p in pts], [p[2] for p in pts]


def _draw(ax: Any, data: dict[str, Any], key: str, *, egr: bool = True, ls: str = "-", label: str = "") -> None:
    for i, width in enumerate(data["config"]["widths"]):
        colour = _COLOURS[i % len(_COLOURS)]
        sweep = [r for r in data["summary"] if r["width"] == width and r["kind"] == "lr"]
        xs, ys, es = _series(sweep, key, "lambda")
        if xs:
            ax.errorbar(xs, ys, yerr=es, fmt="o" + ls, color=colour, ms=4, capsize=3,
                        label=f"GD, width {width}{label}")
        for r in sweep:
            if r["diverged"] == r["runs"]:
                ax.axvline(r["lambda"], color=colour, alpha=0.25, lw=3)
        if egr:
            rows = [r for r in data["summary"] if r["width"] == width and r["kind"] == "egr"]
            xs, ys, es = _series(rows, key, "lambda_eff")
            if xs:
                ax.errorbar(xs, ys, yerr=es, fmt="s", mfc="none", color=colour, ms=6, capsize=3,
                            label=f"EGR at h0 = {data['config']['egr_lr']:g}, width {width}{label}")


def plot_digits(data: dict[str, Any], folder: Path) -> list[Path]:
    """Draw the four digits figures into ``folder``; returns their paths."""
    note = "shaded: every seed diverged"
    written = []

    fig = new_figure(6.5, 4.6)
    ax = fig.subplots()
    _draw(ax, data, "r_ig")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("λ = h m / 4  (EGR: m (h0/4 + μ))")
    ax.set_ylabel("R_IG = ‖∇E‖² / m at the end")
    ax.set_title(f"Digits MLPs: R_IG against λ ({note})", fontsize=10)
    ax.legend(fontsize=7)
    written.append(save(fig, folder / "digits_rig_lambda.png"))

    fig = new_figure(6.5, 4.6)
    ax = fig.subplots()
    _draw(ax, data, "test_acc_final", label=" (final)")
    _draw(ax, data, "test_acc_best", egr=False, ls="--", label=" (best)")
    ax.set_xscale("log")
    ax.set_xlabel("λ = h m / 4  (EGR: m (h0/4 + μ))")
    ax.set_ylabel("test accuracy")
    ax.set_title(f"Digits MLPs: test accuracy against λ ({note})", fontsize=10)
    ax.legend(fontsize=7)
    written.append(save(fig, folder / "digits_test_accuracy.png"))

    scales = data["config"]["robustness_scales"]
    fig = new_figure(4.2 * (len(scales) + 1), 4.2)
    axes = fig.subplots(1, len(scales) + 1, squeeze=False)[0]
    for ax, s in zip(axes, scales, strict=False):
        _draw(ax, data, f"robust_test_acc_drop@{s:g}")
        ax.set_xscale("log")
        ax.set_xlabel("λ")
        ax.set_ylabel("test accuracy lost under noise")
        ax.set_title(f"parameters + N(0, σ²), σ = {s:g}", fontsize=10)
    ax = axes[-1]
    _draw(ax, data, "slope_end")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("λ")
    ax.set_ylabel("end slope ‖∇E‖")
    ax.set_title("loss-surface slope at the end", fontsize=10)
    axes[0].legend(fontsize=7)
    written.append(save(fig, folder / "digits_robustness.png"))

    mid = scales[len(scales) // 2] if scales else None
    keys = [("r_ig", "R_IG at the end", "log"), ("test_acc_final", "test accuracy", "linear")]
    if mid is not None:
        keys.append((f"robust_test_acc_drop@{mid:g}", f"test accuracy lost, σ = {mid:g}", "linear"))
    fig = new_figure(4.4 * len(keys), 4.2)
    axes = fig.subplots(1, len(keys), squeeze=False)[0]
    for ax, (key, label, scale) in zip(axes, keys, strict=True):
        for i, width in enumerate(data["config"]["widths"]):
            rows = [r for r in data["summary"] if r["width"] == width and (
                r["kind"] == "egr" or (r["kind"] == "lr" and r["lr"] == data["config"]["egr_lr"]))]
            rows = sorted(rows, key=lambda r: r["mu"])
            xs, ys, es = _series(rows, key, "mu")
            if xs:
                ax.errorbar(xs, ys, yerr=es, fmt="s-", color=_COLOURS[i % len(_COLOURS)], ms=5, capsize=3,
                            label=f"width {width}")
        ax.set_xscale("symlog", linthresh=min([m for m in data["config"]["mus"] if m > 0] or [1e-2]))
        ax.set_yscale(scale)
        ax.set_xlabel(f"μ  (GD at h0 = {data['config']['egr_lr']:g} on E + μ‖∇E‖²)")
        ax.set_ylabel(label)
    axes[0].legend(fontsize=7)
    fig.suptitle("Explicit gradient regularisation sweep (μ = 0: plain GD)")
    written.append(save(fig, folder / "digits_egr.png"))
    return written
