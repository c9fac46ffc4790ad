"""numeric.drift: the discrete method vs flows of its truncated modified fields."""

from __future__ import annotations

import importlib.util
import json
import warnings

import pytest
import sympy

torch = pytest.importorskip("torch")

import bea  # noqa: E402
from bea import methods  # noqa: E402
from bea.cli import build_parser, main  # noqa: E402
from bea.errors import BeaError, BeaTypeError, BeaValueError  # noqa: E402
from numeric.drift import DriftReport, autodiff_fields, drift_check, expected_slope, flow_fields  # noqa: E402
from numeric.errors import DeviceError, ModifiedSeriesWarning, ShapeError  # noqa: E402

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA"))]
a, b, x, y = sympy.symbols("a b x y")
X, Y = sympy.symbols("X Y")
TWO_PARAM = (y - a * b * x) ** 2 / 2
QUARTIC = X**4 / 4 + X**2 * Y**2 / 2 + Y**3 / 3 + X * Y
SUBS = {x: 1, y: sympy.Rational(3, 5)}
HS_TWO = (0.01, 0.005, 0.0025, 0.00125)
HS_QUARTIC = (0.04, 0.02, 0.01, 0.005)


@pytest.fixture(scope="module")
def two_param_flow() -> bea.ModifiedFlow:
    return bea.modified_flow(TWO_PARAM, [a, b], truncation=3)


@pytest.mark.parametrize("device", DEVICES)
def test_two_parameter_model_gd(two_param_flow: bea.ModifiedFlow, device: str) -> None:
    report = drift_check(two_param_flow, {"a": 2.8, "b": 3.5}, HS_TWO, subs=SUBS, device=device)
    assert report.passed, report.table()
    for r, order in enumerate(report.truncations):
        assert order.truncation == r and order.expected_slope == r + 1
        assert order.slope is not None and abs(order.slope - (r + 1)) <= 0.15
    assert report.integration_error is not None and report.integration_error < 1e-11
    assert report.device.startswith(device) and report.dtype == "float64" and not report.warnings
    assert report.elapsed_s > 0  # the time itself is measured by bea demo / benchmarks, not asserted here


def test_quartic_gd() -> None:
    flow = bea.modified_flow(QUARTIC, [X, Y], truncation=3)
    report = drift_check(flow, [0.5, -0.3], HS_QUARTIC)
    assert report.passed, report.table()
    assert [o.expected_slope for o in report.truncations] == [1, 2, 3, 4]


def test_quartic_explicit_midpoint() -> None:
    """Order-2 method: the h^1 term vanishes, so r = 0 and r = 1 both give slope 2, then r + 1."""
    flow = bea.modified_flow(QUARTIC, [X, Y], truncation=4, method=methods.explicit_midpoint)
    report = drift_check(flow, [0.5, -0.3], HS_QUARTIC, truncations=(0, 1, 2, 3, 4), check_integration=False)
    assert [o.expected_slope for o in report.truncations] == [2, 2, 3, 4, 5]
    assert report.passed, report.table()
    assert report.method == "explicit_midpoint"


def test_expected_slopes_from_coefficients() -> None:
    assert [expected_slope(methods.explicit_euler, r) for r in range(4)] == [1, 2, 3, 4]
    assert [expected_slope(methods.rk4, r) for r in range(6)] == [4, 4, 4, 4, 5, 6]
    assert [expected_slope(methods.implicit_midpoint, r) for r in range(5)] == [2, 2, 4, 4, 6]  # symmetric


def test_large_h_warns(two_param_flow: bea.ModifiedFlow) -> None:
    with pytest.warns(ModifiedSeriesWarning, match="not expected to describe the method"):
        report = drift_check(two_param_flow, [2.8, 3.5], (0.08, 0.04), time=0.32, truncations=(0, 1), subs=SUBS,
                             check_integration=False)
    assert report.lambda_max == pytest.approx(29.17, abs=0.01)
    assert any("h * lambda_max" in w for w in report.warnings)
    assert report.to_dict()["h_lambda_max"] == pytest.approx(0.08 * report.lambda_max)


def test_diverged_step_size_is_reported() -> None:
    t = sympy.Symbol("t")
    flow = bea.modified_flow(50 * t**2, [t], truncation=1)  # GD multiplies by 1 - 100 h: diverges for h > 0.02
    with pytest.warns(ModifiedSeriesWarning):
        report = drift_check(flow, [1.0], (0.1, 0.005, 0.0025, 0.00125), time=2.0, truncations=(0, 1),
                             check_integration=False)
    assert [d[0] for d in report.diverged] == [0.1]
    for order in report.truncations:
        assert order.errors[0] is None and all(e is not None for e in order.errors[1:])
        assert order.slope is not None  # fitted on the three remaining step sizes
    data = json.loads(report.to_json())
    assert data["truncations"][0]["errors"][0] is None and data["diverged"][0]["h"] == 0.1


def test_report_outputs(two_param_flow: bea.ModifiedFlow, tmp_path: object) -> None:
    report = drift_check(two_param_flow, [2.8, 3.5], (0.02, 0.01), time=0.2, truncations=(0, 1), subs=SUBS)
    assert isinstance(report, DriftReport)
    data = json.loads(report.to_json())
    assert {"method", "hs", "time", "theta0", "device", "dtype", "truncations", "warnings", "diverged"} <= set(data)
    assert data["schema"] == "bea.drift/2" and data["theta0"] == [2.8, 3.5] and data["hs"] == [0.02, 0.01]
    assert set(data["truncations"][0]) == {"truncation", "expected_slope", "slope", "errors", "passed"}
    text = report.table()
    assert "truncation r" in text and "err h=0.02" in text and ("PASSED" in text or "FAILED" in text)
    assert "<table>" in report._repr_html_()
    path = tmp_path / "drift.png"  # type: ignore[operator]
    report.plot(str(path))
    assert path.stat().st_size > 1000
    with pytest.raises(AttributeError):
        report.method = "x"  # type: ignore[misc]


def test_factory_route_and_argument_errors(two_param_flow: bea.ModifiedFlow) -> None:
    factory = flow_fields(two_param_flow, SUBS)
    via_factory = drift_check(factory, [2.8, 3.5], (0.02, 0.01), time=0.2, truncations=(0, 1), check_integration=False)
    via_flow = drift_check(two_param_flow, [2.8, 3.5], (0.02, 0.01), time=0.2, truncations=(0, 1), subs=SUBS,
                           check_integration=False)
    assert via_factory.truncations[1].errors == pytest.approx(via_flow.truncations[1].errors, rel=1e-9)
    with pytest.raises(ShapeError, match="theta0"):
        drift_check(two_param_flow, [1.0, 2.0, 3.0], (0.02,), subs=SUBS)
    with pytest.raises(ShapeError, match="missing"):
        drift_check(two_param_flow, {"a": 1.0}, (0.02,), subs=SUBS)
    with pytest.raises(BeaValueError, match="multiple"):  # a bad value, not a wrong type
        drift_check(two_param_flow, [1.0, 2.0], (0.3,), subs=SUBS)
    with pytest.raises(BeaTypeError, match="differs"):
        drift_check(two_param_flow, [1.0, 2.0], (0.02,), subs=SUBS, method="rk4")
    with pytest.raises(DeviceError):
        drift_check(two_param_flow, [1.0, 2.0], (0.02,), subs=SUBS, device="gpu0")
    if not torch.cuda.is_available():
        with pytest.raises(DeviceError, match="CUDA"):
            drift_check(two_param_flow, [1.0, 2.0], (0.02,), subs=SUBS, device="cuda")


@pytest.mark.skipif(importlib.util.find_spec("numeric.autodiff") is None, reason="numeric.autodiff not present")
def test_autodiff_route_matches_sympy_route() -> None:
    def loss(t: torch.Tensor) -> torch.Tensor:
        return t[0] ** 4 / 4 + t[0] ** 2 * t[1] ** 2 / 2 + t[1] ** 3 / 3 + t[0] * t[1]

    report = drift_check(autodiff_fields(loss), [0.5, -0.3], HS_QUARTIC, truncations=(0, 1, 2), step_field=loss,
                         check_integration=False)
    assert report.passed, report.table()
    flow = bea.modified_flow(QUARTIC, [X, Y], truncation=2)
    sym = drift_check(flow, [0.5, -0.3], HS_QUARTIC, truncations=(0, 1, 2), check_integration=False)
    for o1, o2 in zip(report.truncations, sym.truncations, strict=True):
        assert o1.errors == pytest.approx(o2.errors, rel=1e-6)


def _verify(argv: list[str]) -> str:
    parser = build_parser()
    args = parser.parse_args(["verify", *argv, "--no-progress"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        text, status = args.handler(args)
    assert status == 0
    return text


def _argv(**options: list[str]) -> list[str]:
    base = {"loss": ["(y - a*b*x)^2/2"], "params": ["a", "b"], "subs": ["x=1", "y=0.6"], "init": ["a=2.8", "b=3.5"],
            "h": ["0.02", "0.01"], "time": ["0.2"], "truncations": ["0", "1"]}
    base.update(options)
    return [item for key, values in base.items() for item in (f"--{key}", *values)]


def test_cli_verify(tmp_path: object) -> None:
    text = _verify(_argv())
    assert "drift check: explicit_euler" in text and "err h=0.01" in text
    plot = tmp_path / "d.png"  # type: ignore[operator]
    data = json.loads(_verify(_argv(format=["json"], plot=[str(plot)], method=["heun"])))
    assert data["method"] == "heun" and [o["expected_slope"] for o in data["truncations"]] == [2, 2]
    assert plot.exists()
    bad = [
        ({"init": ["a=2.8"]}, "missing"),
        ({"subs": ["x=1"]}, "data symbols"),
        ({"subs": ["x=1", "y=0.6", "a=1"]}, "parameter"),
        ({"loss": ["(y - a*b*x"]}, "end of input|expected"),
        ({"method": ["nope"]}, "unknown method"),
        ({"device": ["quantum"]}, "device"),
    ]
    for change, message in bad:
        with pytest.raises(BeaError, match=message):
            _verify(_argv(**change))
    assert issubclass(BeaValueError, ValueError)


def test_cli_main_verify_exit_status(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["verify", *_argv(), "--no-progress"]
    assert main(argv) == 0
    assert "PASSED" in capsys.readouterr().out
    # an impossible tolerance makes the same check fail: exit status 1, the table still printed
    assert main([*argv, "--tolerance", "1e-9"]) == 1
    assert "FAILED" in capsys.readouterr().out
    assert main([*argv, "--h", "-1"]) == 2
    assert "positive" in capsys.readouterr().err


def test_cli_demo_runs_the_whole_pipeline(tmp_path: object, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "demo"  # type: ignore[operator]
    assert main(["demo", "--out", str(out), "--no-progress", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (out / "drift.png").stat().st_size > 1000
    assert data["drift"]["passed"] and data["drift"]["plot"] == str(out / "drift.png")
    slopes = [o["slope"] for o in data["drift"]["truncations"]]
    assert [round(s) for s in slopes] == [1, 2, 3, 4]
    assert data["two_parameter"]["modified_loss"]["truncation"] == 1


def test_cli_without_torch_fails_with_one_line(tmp_path: object) -> None:
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['torch'] = None\n"
        "from bea.cli import main\n"
        "assert 'torch' not in [m for m in sys.modules if sys.modules[m] is not None]\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    run = subprocess.run([sys.executable, "-c", code, "demo", "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2, run.stderr
    assert "needs the torch extra" in run.stderr and len(run.stderr.strip().splitlines()) == 1
    run = subprocess.run([sys.executable, "-c", code, "demo", "--symbolic-only"], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0 and "E~ =" in run.stdout and "skipped" in run.stdout
