"""What the CLI writes, whatever the command: one line per error or warning on stderr, no traceback when the
reader of stdout goes away, and advice that can be followed as written."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import bea.cli.series as series_cli
from bea.cli import main
from bea.errors import BeaTypeError, BeaValueError
from bea.methods import HeavyBall

ROOT = Path(__file__).resolve().parents[1]


def test_an_error_with_line_breaks_is_printed_on_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # the integrator's "stalled" error printed theta as a 2-D NumPy array, over several lines
    def fail(args: object) -> str:
        raise BeaValueError("stalled at theta = [[1. 0.]\n [1. 0.]]: the field\nis singular")

    monkeypatch.setattr(series_cli, "_cmd_trees", fail)
    assert main(["trees", "3"]) == 2
    err = capsys.readouterr().err
    assert err == "bea: error: stalled at theta = [[1. 0.] [1. 0.]]: the field is singular\n"


def test_a_warning_with_line_breaks_is_printed_on_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def warn(args: object) -> str:
        warnings.warn("first line\nsecond line", UserWarning, stacklevel=1)
        return "output"

    monkeypatch.setattr(series_cli, "_cmd_trees", warn)
    assert main(["trees", "3"]) == 0
    out, err = capsys.readouterr()
    assert out == "output\n" and err == "bea: warning: first line second line\n"


def test_stalled_integration_names_theta_on_one_line() -> None:
    from numeric.integrate import ConvergenceError, integrate_flow

    # a' = 1/|b - 1/2|, b' = 1, two starts: singular at t = 1/2 (as tests/test_faults_optimisers.py), batched
    def field(y: np.ndarray) -> np.ndarray:
        return np.stack([1 / np.abs(y[..., 1] - 0.5), np.ones_like(y[..., 1])], -1)

    with pytest.raises(ConvergenceError) as info:
        integrate_flow(field, np.array([[1.0, 0.0], [2.0, 0.0]]), 1.0, backend="numpy")
    message = str(info.value)
    assert "\n" not in message and "stalled" in message and "one row per start" in message


def test_a_closed_pipe_ends_quietly() -> None:
    # `bea trees 9 | head -1`: the reader leaves after one line; Python's default was a BrokenPipeError traceback
    command = [sys.executable, "-c", "import sys; from bea.cli import main; sys.exit(main())", "trees", "9"]
    with subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.readline()
        proc.stdout.close()
        err = proc.stderr.read().decode()
        proc.wait(timeout=60)
    assert "Traceback" not in err and "BrokenPipeError" not in err
    assert proc.returncode in (0, 1)


def test_the_advice_for_a_numpy_float_can_be_pasted() -> None:
    with pytest.raises(BeaTypeError) as info:
        HeavyBall(beta=np.float64(0.5))  # type: ignore[arg-type]
    assert "'0.5'" in str(info.value) and "np.float64" not in str(info.value).split("such as")[1]
    assert HeavyBall(beta="0.5").beta == HeavyBall(beta="1/2").beta


def test_written_files_follow_the_umask(tmp_path: Path) -> None:
    # --plot files were created 0600 (tempfile.mkstemp's mode survived the atomic rename)
    import os

    from numeric.outputs import atomic_write

    old = os.umask(0o022)
    try:
        path = atomic_write(tmp_path / "plot.txt", lambda tmp: tmp.write_text("x"))
        assert (path.stat().st_mode & 0o777) == 0o644
        os.umask(0o077)
        path = atomic_write(tmp_path / "private.txt", lambda tmp: tmp.write_text("x"))
        assert (path.stat().st_mode & 0o777) == 0o600
    finally:
        os.umask(old)
    assert path.read_text() == "x" and sorted(p.name for p in tmp_path.iterdir()) == ["plot.txt", "private.txt"]


@pytest.mark.parametrize("extra", [["--h", "0.01", "0.01", "0.005"], ["--truncations", "0", "0"],
                                   ["--method", "heavy_ball", "--hyper", "beta=1/2", "--truncations", "1", "1"]])
def test_a_repeated_step_size_or_truncation_is_refused_in_one_line(
    extra: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    # a repeated h read as "errors do not fall as h falls" (FAIL); a repeated truncation printed its row twice
    argv = ["verify", "--loss", "(y - a*b*x)^2/2", "--params", "a", "b", "--subs", "x=1", "y=0.6", "--init", "a=2.8",
            "b=3.5", "--no-progress", *extra]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is given more than once" in err


def test_the_python_checks_share_the_schedule_rule() -> None:
    import sympy

    from bea import modified_flow
    from numeric.drift import drift_check

    a = sympy.Symbol("a")
    flow = modified_flow(a**2 / 2 + a**4 / 4, [a], truncation=1)
    with pytest.raises(BeaValueError, match=r"step size 0\.01 is given more than once"):
        drift_check(flow, {"a": 0.5}, [0.01, 0.005, 0.01], truncations=(0, 1))
    with pytest.raises(BeaValueError, match="truncation 1 is given more than once"):
        drift_check(flow, {"a": 0.5}, [0.01, 0.005], truncations=(1, 0, 1))
    pytest.importorskip("torch")
    from numeric.memory_drift import memory_drift_check

    with pytest.raises(BeaValueError, match=r"step size 0\.01 is given more than once"):
        memory_drift_check(HeavyBall(beta="1/2"), a**2 / 2, [a], [0.5], [0.01, 0.01], time=0.1)
