"""The paper reproductions (numeric.reproduce) and ``bea reproduce``: structure, sanity, faults, resume.

These assert what the mathematics guarantees or what the code must do (diverged runs recorded,
resume, determinism, clear errors), not the paper's conclusions about deep networks.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")
pytest.importorskip("sklearn")

import itertools

from bea.cli import main
from numeric.errors import HyperparameterError
from numeric.reproduce import DigitsConfig, TwoParamConfig, run_digits, run_two_param
from numeric.reproduce import digits as digits_module
from numeric.reproduce.digits import RUNS_FILE, planned_runs

TINY = DigitsConfig(widths=(8, 16), lrs=(1.0, 1000.0), seeds=(0,), egr_lr=1.0, mus=(0.1,), max_steps=25,
                    eval_every=5, robustness_scales=(0.0, 0.05), robustness_draws=2)


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def strip_timing(value: Any) -> Any:
    """The document without wall-clock fields (which legitimately differ between runs)."""
    if isinstance(value, dict):
        return {k: strip_timing(v) for k, v in value.items() if k not in ("wall_s", "runtime_s")}
    if isinstance(value, list):
        return [strip_timing(v) for v in value]
    return value


# --- two-parameter model ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_param(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    out = tmp_path_factory.mktemp("two_param")
    status = main(["reproduce", "two-param", "--quick", "--out", str(out), "--no-progress", "--format", "json"])
    assert status == 0
    return json.loads((out / "two_param.json").read_text()), out


def rows(data: dict[str, Any], start: str, key: str = "sweep") -> list[dict[str, Any]]:
    return [r for r in data[key] if r["start"] == start and not r["diverged"]]


def stable_h(data: dict[str, Any], start: str) -> float:
    return next(s["stable_h"] for s in data["model"]["starts"] if s["name"] == start)


def test_two_param_files_and_schema(two_param: tuple[dict[str, Any], Path]) -> None:
    data, out = two_param
    assert data["schema"] == "bea.reproduce.two_param/1"
    for name in ("two_param.json", "two_param.png", "two_param_sweep.png"):
        assert (out / name).stat().st_size > 1000
    assert data["model"]["flattest_minimum"] == pytest.approx([math.sqrt(0.6)] * 2)
    assert {s["name"] for s in data["model"]["starts"]} == {"paper", "far"}
    assert data["model"]["r_ig_over_loss"] in ("x**2*(a**2 + b**2)", "x**2*(b**2 + a**2)")


@pytest.mark.parametrize("start", ["paper", "far"])
def test_two_param_r_ig_and_distance_decrease_with_h(two_param: tuple[dict[str, Any], Path], start: str) -> None:
    data, _ = two_param
    sweep = [r for r in rows(data, start) if r["h"] < stable_h(data, start)]
    assert len(sweep) >= 4 and all(r["converged"] for r in sweep)
    for key in ("rig_over_loss_end", "distance_to_flattest", "abs_a_minus_b"):
        values = [r[key] for r in sweep]
        assert all(b < a for a, b in itertools.pairwise(values)), (key, values)
    for r in sweep:  # R_IG/E = x^2 (a^2 + b^2) at the end point, and the end point is a minimum
        a, b = r["end"]
        assert r["rig_over_loss_end"] == pytest.approx(a * a + b * b)
        assert a * b == pytest.approx(0.6, abs=1e-9)


def test_two_param_matches_the_known_values(two_param: tuple[dict[str, Any], Path]) -> None:
    data, _ = two_param
    by_h = {r["h"]: r for r in rows(data, "paper")}
    assert by_h[0.001]["abs_a_minus_b"] == pytest.approx(1.83, abs=0.01)  # docs/math.md
    assert by_h[0.065]["abs_a_minus_b"] == pytest.approx(1.37, abs=0.01)


def test_two_param_igr_flow_tracks_gd_better(two_param: tuple[dict[str, Any], Path]) -> None:
    data, _ = two_param
    assert len(data["trajectories"]) == 4
    for tr in data["trajectories"]:
        errs = {int(k): v["tracking_error_max"] for k, v in tr["flows"].items()}
        assert errs[1] < errs[0], tr
        if tr["role"] == "small":  # in the asymptotic regime each order gains about a factor h
            assert errs[3] < errs[1] < errs[0] / 5
    assert all(data["checks"][k] for k in data["checks"] if "IGR flow tracks" in k)


def test_two_param_explicit_regularisation(two_param: tuple[dict[str, Any], Path]) -> None:
    data, _ = two_param
    for start in ("paper", "far"):
        egr = rows(data, start, "egr")
        assert [r["h_equivalent"] for r in egr] == pytest.approx([r["mu"] * 4 + 0.001 for r in egr])
        dist = [r["distance_to_flattest"] for r in egr]
        assert all(b < a for a, b in itertools.pairwise(dist))
    # EGR at h0 with mu lands where the IGR flow of h0 + 4 mu lands (same modified loss through order h)
    tr = next(t for t in data["trajectories"] if t["start"] == "paper" and t["role"] == "moderate")
    egr = next(r for r in rows(data, "paper", "egr") if r["h_equivalent"] == pytest.approx(tr["h"]))
    assert egr["abs_a_minus_b"] == pytest.approx(tr["flows"]["1"]["abs_a_minus_b"], abs=0.02)


def test_two_param_records_divergence() -> None:
    cfg = replace(TwoParamConfig.quick(), hs=(0.01, 0.5), mus=(0.0,), truncations=(0, 1), checkpoints=5, long_time=5.0)
    data = run_two_param(cfg, progress=False).data
    for start in ("paper", "far"):
        small, huge = (r for r in data["sweep"] if r["start"] == start)
        assert not small["diverged"] and small["converged"]
        assert huge["diverged"] and isinstance(huge["diverged_at"], int) and huge["diverged_at"] >= 1
        assert huge["end"] is None


# --- digits -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def digits_quick(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path, str]:
    out = tmp_path_factory.mktemp("digits")
    status = main(["reproduce", "digits", "--quick", "--out", str(out), "--no-progress"])
    assert status == 0
    return json.loads((out / "digits.json").read_text()), out, ""


def test_digits_quick_structure(digits_quick: tuple[dict[str, Any], Path, str]) -> None:
    data, out, _ = digits_quick
    cfg = DigitsConfig.quick()
    assert data["schema"] == "bea.reproduce.digits/1" and data["complete"]
    assert data["data"]["n_train"] == 1347 and data["data"]["n_test"] == 450
    assert len(data["runs"]) == len(planned_runs(cfg)) == data["runs_planned"]
    for name in ("digits_rig_lambda.png", "digits_test_accuracy.png", "digits_robustness.png", "digits_egr.png"):
        assert (out / name).stat().st_size > 1000
    lines = (out / RUNS_FILE).read_text().splitlines()
    assert json.loads(lines[0])["config"] == data["config"] and len(lines) == 1 + len(data["runs"])
    for r in data["runs"]:
        assert r["lambda"] == pytest.approx(r["lr"] * r["m"] / 4)
        if r["status"] == "diverged":
            assert r["lr"] == 64.0 and isinstance(r["diverged_at"], int) and r["r_ig"] is None
            continue
        assert r["status"] in ("converged", "capped") and 0 < r["steps"] <= r["cap"]
        assert 0.8 < r["test_acc_final"] <= r["test_acc_best"] <= 1.0
        assert r["r_ig"] > 0 and r["slope_end"] == pytest.approx(math.sqrt(r["r_ig"] * r["m"]))
        assert r["slope_end"] < r["slope_initial"]
        assert len(r["robustness"]["test"]) == len(cfg.robustness_scales)
    assert {r["status"] for r in data["runs"] if r["lr"] == 64.0} == {"diverged"}
    assert set(data["claims"]) >= {"width 32", "width 64"}


def test_digits_quick_table(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    cfg = ["--widths", "8", "--seeds", "0", "--lrs", "1", "--mus", "0.1"]
    status, out, err = run_cli(capsys, "reproduce", "digits", "--quick", *cfg, "--out", str(tmp_path),
                               "--no-progress", "--no-figures")
    assert status == 0, err
    assert "conv/cap/div" in out and "claims, width 8" in out and "digits.json" in out


def test_digits_is_deterministic(tmp_path: Path) -> None:
    one = run_digits(TINY, tmp_path / "a", progress=False, figures=False).data
    two = run_digits(TINY, tmp_path / "b", progress=False, figures=False).data
    assert strip_timing(one) == strip_timing(two)


def test_digits_records_divergence_and_goes_on(tmp_path: Path) -> None:
    data = run_digits(TINY, tmp_path, progress=False, figures=False).data
    runs = {(r["kind"], r["width"], r["lr"]): r for r in data["runs"]}
    for width in (8, 16):  # the first width's huge rate diverges, the sweep goes on with the second
        huge = runs[("lr", width, 1000.0)]
        assert huge["status"] == "diverged" and 1 <= huge["diverged_at"] <= 5
        assert huge["test_acc_final"] is None
        assert runs[("lr", width, 1.0)]["status"] != "diverged"
        assert runs[("egr", width, 1.0)]["r_ig"] > 0
    assert [row["diverged"] for row in data["summary"] if row["lr"] == 1000.0] == [1, 1]


def test_digits_resume_after_interruption(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    full = run_digits(TINY, tmp_path / "full", progress=False, figures=False).data
    real = digits_module.train_run
    calls = {"n": 0}

    def flaky(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    out = tmp_path / "partial"
    monkeypatch.setattr(digits_module, "train_run", flaky)
    with pytest.raises(KeyboardInterrupt):
        run_digits(TINY, out, progress=False, figures=False)
    monkeypatch.setattr(digits_module, "train_run", real)
    lines = (out / RUNS_FILE).read_text().splitlines()
    assert len(lines) == 1 + 2  # the settings line and the two finished runs
    with (out / RUNS_FILE).open("a") as fh:
        fh.write('{"key": "half-writ')  # an interruption in the middle of a line
    resumed = run_digits(TINY, out, resume=True, progress=False, figures=False).data
    assert resumed["skipped"] == 2 and resumed["new_runs"] == len(planned_runs(TINY)) - 2
    assert strip_timing(resumed["runs"]) == strip_timing(full["runs"])
    assert resumed["complete"]


def test_digits_limit_and_resume_via_cli(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    settings = ["reproduce", "digits", "--quick", "--widths", "8", "--lrs", "1", "2", "--mus", "0.1"]
    args = [*settings, "--seeds", "0", "--out", str(tmp_path), "--no-progress", "--no-figures"]
    status, out, _ = run_cli(capsys, *args, "--limit", "1")
    assert status == 0 and "--resume" in out
    status, out, _ = run_cli(capsys, *args, "--resume")
    assert status == 0 and "(2 new, 1 resumed)" in out
    status, _, err = run_cli(capsys, *settings, "--seeds", "1", "--out", str(tmp_path), "--resume", "--no-progress")
    assert status == 2 and "different settings" in err and err.count("\n") == 1


# --- bad input --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["reproduce", "digits", "--lrs", "0.1", "-0.5"], "-0.5"),
        (["reproduce", "digits", "--lrs", "0"], "learning rates"),
        (["reproduce", "digits", "--mus", "-1"], "mu"),
        (["reproduce", "digits", "--mus", "nan"], "mu"),
        (["reproduce", "two-param", "--lrs", "-0.01"], "-0.01"),
        (["reproduce", "two-param", "--mus", "inf"], "mu"),
        (["reproduce", "two-param", "--resume"], "digits"),
        (["reproduce", "mnist"], "invalid choice"),
        (["reproduce", "digits", "--lrs", "fast"], "expected a number"),
        (["reproduce", "digits", "--widths", "0"], "widths"),
        (["reproduce", "digits", "--device", "tpu"], "tpu"),
    ],
)
def test_bad_input_one_line_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str],
                                   needle: str) -> None:
    status, out, err = run_cli(capsys, *argv, "--out", str(tmp_path), "--no-progress")
    assert status == 2 and out == ""
    assert err.startswith("bea: error:") and err.count("\n") == 1 and needle in err


def test_unwritable_output_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    status, _, err = run_cli(capsys, "reproduce", "two-param", "--quick", "--out", str(blocker / "x"),
                             "--no-progress", "--no-figures", "--lrs", "0.01")
    assert status == 2 and "output folder" in err and err.count("\n") == 1


def test_config_validation() -> None:
    with pytest.raises(HyperparameterError, match="-1"):
        DigitsConfig(lrs=(0.1, -1.0))
    with pytest.raises(HyperparameterError, match="mu"):
        DigitsConfig(mus=(float("nan"),))
    with pytest.raises(HyperparameterError, match="mu"):
        TwoParamConfig(mus=(-0.1,))
    with pytest.raises(HyperparameterError, match="limit"):
        run_digits(TINY, "unused", limit=-1)


def test_importing_bea_does_not_import_torch() -> None:
    code = "import sys, bea, bea.cli, bea.cli.reproduce; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
