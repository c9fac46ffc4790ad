r"""Means and spreads over seeds, the paper's claims as numbers, the JSON document and the table.

Claims of Barrett & Dherin (ICLR 2021) checked on the learning-rate sweep, per width, over the runs
that did not diverge (capped runs included, flagged by their status):

1. :math:`R_{IG}` at the end decreases as :math:`\lambda = hm/4` grows (also reported: :math:`R_{IG}/E`,
   the regulariser at equal loss, since runs stop at slightly different losses);
2. test accuracy increases with λ;
3. solutions are flatter and more robust: the end slope :math:`\|\nabla E\|` decreases with λ, and
   so does the test-accuracy drop under Gaussian parameter noise (one claim per noise scale σ);
4. explicit regularisation (EGR, weight μ at a small h) reproduces these trends as μ grows.

Each is reported as Spearman's rank correlation ρ over the individual runs (seeds pooled) plus the
means at the two ends of the sweep; ``rho_within_seed`` (the mean over seeds of ρ computed within one
seed, i.e. one initialisation) is given alongside, since seed-to-seed spread can hide a trend. The
verdict rule, on the pooled ρ, was fixed before the runs: *supported* when ρ has the claimed sign and
:math:`|\rho| \ge 0.5`, *contradicted* when it has the opposite sign with :math:`|\rho| \ge 0.5`,
*inconclusive* otherwise. A sweep too small to decide a claim, fewer than :data:`MIN_LEVELS`
distinct values of λ (or μ) among the runs that did not diverge or fewer than :data:`MIN_SEEDS`
seeds, gets *inconclusive (too few runs)* whatever its ρ (``bea reproduce digits --quick`` is such
a sweep: it checks the pipeline, not the paper).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from numeric.reproduce._common import mean_std, spearman, write_json

__all__ = ["DigitsResult", "aggregate", "claims", "finish"]

_METRICS = ("test_acc_final", "test_acc_best", "r_ig", "r_ig_over_loss", "slope_end", "slope_mean", "train_loss",
            "steps", "time", "robust_test_acc_drop", "robust_train_loss_increase")


def _robust(record: dict[str, Any], which: str, index: int) -> float | None:
    rob = record.get("robustness")
    if not rob:
        return None
    if which == "robust_test_acc_drop":
        return float(record["test_acc_final"] - rob["test"][index]["accuracy_mean"])
    return float(rob["train"][index]["loss_mean"] - record["train_loss"])


def _value(record: dict[str, Any], metric: str, sigma_index: int) -> float | None:
    if metric.startswith("robust_"):
        return _robust(record, metric, sigma_index)
    v = record.get(metric)
    return None if v is None else float(v)


def aggregate(records: list[dict[str, Any]], scales: tuple[float, ...]) -> list[dict[str, Any]]:
    """One row per (kind, width, lr, mu): status counts and mean/std/n of every metric over seeds."""
    groups: dict[tuple[str, int, float, float], list[dict[str, Any]]] = {}
    for r in records:
        groups.setdefault((r["kind"], r["width"], r["lr"], r["mu"]), []).append(r)
    rows = []
    for (kind, width, lr, mu), runs in sorted(groups.items(), key=lambda item: (item[0][0] != "lr", item[0][1:])):
        ok = [r for r in runs if r["status"] != "diverged"]
        stats: dict[str, Any] = {}
        for metric in _METRICS:
            if metric.startswith("robust_"):
                for i, s in enumerate(scales):
                    mean, std, n = mean_std([_value(r, metric, i) for r in ok])
                    stats[f"{metric}@{s:g}"] = {"mean": mean, "std": std, "n": n}
            else:
                mean, std, n = mean_std([_value(r, metric, 0) for r in ok])
                stats[metric] = {"mean": mean, "std": std, "n": n}
        rows.append({"kind": kind, "width": width, "lr": lr, "mu": mu, "m": runs[0]["m"],
                     "lambda": runs[0]["lambda"], "lambda_eff": runs[0]["lambda_eff"], "runs": len(runs),
                     "converged": sum(r["status"] == "converged" for r in runs),
                     "capped": sum(r["status"] == "capped" for r in runs),
                     "diverged": sum(r["status"] == "diverged" for r in runs),
                     "diverged_at": [r["diverged_at"] for r in runs if r["status"] == "diverged"], **stats})
    return rows


#: A claim needs runs at this many distinct values of the swept quantity (λ or μ) ...
MIN_LEVELS = 4
#: ... and this many seeds, or its verdict is "inconclusive (too few runs)".
MIN_SEEDS = 2
TOO_FEW = "inconclusive (too few runs)"


def _verdict(rho: float | None, sign: int) -> str:
    if rho is None:
        return "inconclusive"
    if rho * sign >= 0.5:
        return "supported"
    if rho * sign <= -0.5:
        return "contradicted"
    return "inconclusive"


def _claim(runs: list[dict[str, Any]], x: Callable[[dict[str, Any]], float], metric: str, sign: int,
           mid: int) -> dict[str, Any]:
    ys = [_value(r, metric, mid) for r in runs]
    xs = [x(r) for r in runs]
    rho = spearman(xs, ys)
    per_seed = [spearman([x(r) for r in runs if r["seed"] == s], [_value(r, metric, mid) for r in runs
                                                                 if r["seed"] == s])
                for s in sorted({r["seed"] for r in runs})]
    within = mean_std([v for v in per_seed if v is not None])[0]
    lo, hi = (min(xs), max(xs)) if xs else (None, None)
    at_lo = mean_std([y for xv, y in zip(xs, ys, strict=True) if xv == lo])[0]
    at_hi = mean_std([y for xv, y in zip(xs, ys, strict=True) if xv == hi])[0]
    levels = len({xv for xv, y in zip(xs, ys, strict=True) if y is not None})
    seeds = len({r["seed"] for r, y in zip(runs, ys, strict=True) if y is not None})
    enough = levels >= MIN_LEVELS and seeds >= MIN_SEEDS
    return {"metric": metric, "expected_sign": "+" if sign > 0 else "-", "spearman_rho": rho,
            "rho_within_seed": within, "n_runs": len(runs), "n_levels": levels, "n_seeds": seeds,
            "x_low": lo, "x_high": hi, "mean_at_x_low": at_lo, "mean_at_x_high": at_hi,
            "verdict": _verdict(rho, sign) if enough else TOO_FEW}


def claims(records: list[dict[str, Any]], egr_lr: float, scales: tuple[float, ...]) -> dict[str, Any]:
    """The paper's claims per width, with ρ, the means at both ends of the sweep and a verdict."""
    mid = len(scales) // 2
    out: dict[str, Any] = {"robustness_sigma": scales[mid] if scales else None, "rule": (
        "Spearman rho over individual non-diverged runs; supported if the claimed sign with |rho| >= 0.5, "
        "contradicted if the opposite sign with |rho| >= 0.5, else inconclusive; "
        f"'{TOO_FEW}' with fewer than {MIN_LEVELS} swept values or {MIN_SEEDS} seeds")}
    for width in sorted({r["width"] for r in records}):
        sweep = [r for r in records if r["width"] == width and r["kind"] == "lr" and r["status"] != "diverged"]
        egr = [r for r in records if r["width"] == width and r["status"] != "diverged"
               and (r["kind"] == "egr" or r["lr"] == egr_lr)]
        lam = (lambda r: r["lambda"])  # noqa: E731
        mu = (lambda r: r["mu"])  # noqa: E731
        found = {
            "R_IG decreases as lambda grows": _claim(sweep, lam, "r_ig", -1, mid),
            "R_IG/E decreases as lambda grows": _claim(sweep, lam, "r_ig_over_loss", -1, mid),
            "test accuracy increases with lambda": _claim(sweep, lam, "test_acc_final", +1, mid),
            "best test accuracy increases with lambda": _claim(sweep, lam, "test_acc_best", +1, mid),
            "end slope |grad E| decreases with lambda (flatter)": _claim(sweep, lam, "slope_end", -1, mid),
        }
        for i, s in enumerate(scales):
            found[f"test-accuracy drop under noise sigma={s:g} decreases with lambda (robust)"] = _claim(
                sweep, lam, "robust_test_acc_drop", -1, i)
        found["EGR: R_IG decreases as mu grows"] = _claim(egr, mu, "r_ig", -1, mid)
        found["EGR: R_IG/E decreases as mu grows"] = _claim(egr, mu, "r_ig_over_loss", -1, mid)
        found["EGR: test accuracy increases with mu"] = _claim(egr, mu, "test_acc_final", +1, mid)
        for i, s in enumerate(scales):
            found[f"EGR: test-accuracy drop under noise sigma={s:g} decreases with mu"] = _claim(
                egr, mu, "robust_test_acc_drop", -1, i)
        out[f"width {width}"] = found
    return out


@dataclass(frozen=True)
class DigitsResult:
    """What :func:`numeric.reproduce.run_digits` returns: the JSON document and the files written."""

    data: dict[str, Any]
    files: list[Path]

    @property
    def complete(self) -> bool:
        return bool(self.data["complete"])

    def table(self) -> str:
        """Means (± std over seeds) per width and learning rate / mu, then the claims."""
        d = self.data
        sig = d["claims"]["robustness_sigma"]
        lines = [f"digits: {d['runs_finished']}/{d['runs_planned']} runs ({d['new_runs']} new, "
                 f"{d['skipped']} resumed), {d['runtime_s']:.0f} s"]
        head = (f"  {'kind':<4} {'width':>5} {'h':>6} {'mu':>6} {'lambda':>9} {'conv/cap/div':>12} {'test acc':>13} "
                f"{'best':>6} {'R_IG':>9} {'R_IG/E':>9} {'slope':>8} {'drop@' + format(sig, 'g'):>9}")
        lines.append(head)
        lines.append("  (conv/cap/div: runs over the seeds that reached 100% training accuracy / stopped at the "
                     "step cap / diverged; test acc: mean±std over seeds; drop@sigma: test-accuracy drop under "
                     "Gaussian parameter noise of scale sigma)")
        for row in d["summary"]:
            def fmt(key: str, spec: str, row: dict[str, Any] = row) -> str:
                s = row.get(key) or {}
                return "-" if s.get("mean") is None else format(s["mean"], spec)

            acc = row["test_acc_final"]
            acc_txt = "-" if acc["mean"] is None else f"{acc['mean']:.4f}±{acc['std']:.3f}"
            counts = f"{row['converged']}/{row['capped']}/{row['diverged']}"
            lam = row["lambda"] if row["kind"] == "lr" else row["lambda_eff"]
            lines.append(f"  {row['kind']:<4} {row['width']:>5} {row['lr']:>6g} {row['mu']:>6g} {lam:>9.4g} "
                         f"{counts:>12} {acc_txt:>13} {fmt('test_acc_best', '.4f'):>6} {fmt('r_ig', '.3e'):>9} "
                         f"{fmt('r_ig_over_loss', '.3e'):>9} "
                         f"{fmt('slope_end', '.3e'):>8} {fmt(f'robust_test_acc_drop@{sig:g}', '.4f'):>9}")
        for width, cl in d["claims"].items():
            if not width.startswith("width"):
                continue
            lines.append(f"claims, {width}:")
            for name, c in cl.items():
                rho = "n/a" if c["spearman_rho"] is None else f"{c['spearman_rho']:+.2f}"
                within = "n/a" if c["rho_within_seed"] is None else f"{c['rho_within_seed']:+.2f}"
                lines.append(f"  {c['verdict']:<27} rho={rho:>5} (within seed {within:>5})  {name}")
        return "\n".join(lines)


def finish(cfg: Any, planned: list[dict[str, Any]], schema: str, records: list[dict[str, Any]], folder: Path,
           info: dict[str, Any], *, new_runs: int, skipped: int, elapsed: float, figures: bool) -> DigitsResult:
    """Write ``digits.json`` (and the figures) from the records; return the result.

    ``planned``: every run of the sweep (``numeric.reproduce.digits.planned_runs``), in order;
    ``schema``: the document's schema name. Records of runs not planned are left out.
    """
    order = {p["key"]: i for i, p in enumerate(planned)}
    records = sorted((r for r in records if r["key"] in order), key=lambda r: order[r["key"]])
    scales = tuple(cfg.robustness_scales)
    data = {
        "schema": schema,
        "config": cfg.to_dict(),
        "data": info,
        "training": "full-batch GD in float32; end-of-training measures in float64",
        "runs_planned": len(planned),
        "runs_finished": len(records),
        "complete": len(records) == len(planned),
        "new_runs": new_runs,
        "skipped": skipped,
        "runtime_s": elapsed,
        "summary": aggregate(records, scales),
        "claims": claims(records, cfg.egr_lr, scales),
        "runs": records,
    }
    path = folder / "digits.json"
    write_json(path, data)
    files = [path]
    if figures and records:
        from numeric.reproduce._digits_plots import plot_digits

        files += plot_digits(data, folder)
    return DigitsResult(data=data, files=files)
