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
