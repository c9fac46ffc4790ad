"""Faults of the numeric side (issue 11), each fixed by its kind, against independent high-precision values.

Compiled fields are compared with the same SymPy field evaluated by mpmath at 50 significant digits
(``sympy.N``), an independent evaluation with an exponent range no double overflows in. The accuracy
asked of a double evaluation is that of a backward-stable one: ``|got - exact| <= 1e-12 * S`` with S the
sum of the magnitudes of the field's terms (evaluated exactly too), so an overflow (inf/inf = NaN) or a
cancellation of huge terms fails, while rounding in a sum of moderate terms passes. Where the exact value
itself lies beyond the double range (|value| > 1e300) the result must not be a finite number.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy

torch = pytest.importorskip("torch")

import bea  # noqa: E402
from bea.errors import BeaTypeError  # noqa: E402
from bea.parsing import WHITELIST, parse_loss  # noqa: E402
from numeric.codegen import compile_field, stable_form  # noqa: E402
from numeric.errors import NumericTypeError  # noqa: E402

z = sympy.Symbol("z", real=True)
H = sympy.Rational(1, 1000)
WIDE = (-700, -300, -40, -1.5, 0.25, 2, 40, 300, 700)
POSITIVE = (sympy.Rational(1, 1000), 0.5, 2, 1000, 10**150)
TRIG = (-700, -2, 0.25, 1, 3, 700)
DOMAINS = {"exp": WIDE, "sinh": WIDE, "cosh": WIDE, "tanh": WIDE, "softplus": WIDE, "sigmoid": WIDE,
           "log": POSITIVE, "sqrt": POSITIVE, "sin": TRIG, "cos": TRIG, "tan": TRIG, "abs": (-3, -0.5, 0.5, 700),
           "max": (-700, 0.05, 0.5, 700), "min": (-700, 0.05, 0.5, 700)}


def _exact(expr: sympy.Expr, values: dict[sympy.Symbol, object]) -> tuple[float, float]:
    """(value, sum of |terms|) of ``expr`` at ``values``, by mpmath at 50 digits; ±inf past 1e300."""
    exact_values = {s: sympy.nsimplify(v) if isinstance(v, float) else sympy.sympify(v) for s, v in values.items()}
    terms = sympy.Add.make_args(sympy.expand(expr, log=False, power_base=False, power_exp=False))
    value = sympy.N(expr.xreplace(exact_values), 50)
    scale = sum(abs(sympy.N(t.xreplace(exact_values), 50)) for t in terms)
    big = sympy.Float("1e300")
    as_float = float(value) if abs(value) < big else math.copysign(math.inf, float(sympy.sign(value)))
    return as_float, float(min(scale, big))


def _assert_accurate(got: float, expr: sympy.Expr, values: dict[sympy.Symbol, object], what: str) -> None:
    exact, scale = _exact(expr, values)
    if math.isinf(exact):
        assert not math.isfinite(got), f"{what}: exact value overflows a double, got the finite {got}"
        return
    assert math.isfinite(got) and abs(got - exact) <= 1e-12 * max(scale, abs(exact)) + 1e-300, (
        f"{what}: got {got!r}, exact {exact!r} (term scale {scale:.3g})")


@pytest.mark.parametrize("backend", ["torch", "numpy"])
@pytest.mark.parametrize("name", sorted(DOMAINS))
def test_every_whitelisted_function_field_matches_50_digit_values(name: str, backend: str) -> None:
    """GD modified field through h^3 of E = f(z) (max/min: f(z, 1/10)), |z| up to 700, vs mpmath."""
    entry = WHITELIST[name]
    loss = entry(z, sympy.Rational(1, 10)) if entry.min_args == 2 else entry(z)
    flow = bea.modified_flow(loss, [z], truncation=3)
    points = DOMAINS[name]
    theta = np.array([float(p) for p in points])[:, None]
    fn = compile_field(flow, truncation=3, h=float(H), backend=backend)
    got = np.asarray(fn(torch.tensor(theta) if backend == "torch" else theta))[:, 0]
    for point, value in zip(points, got, strict=True):
        _assert_accurate(float(value), flow.field(3)[0], {z: point, flow.h: H}, f"{name}({point}) [{backend}]")


@pytest.mark.parametrize("backend", ["torch", "numpy"])
def test_softplus_two_parameter_field_is_finite_where_the_value_is(backend: str) -> None:
    """Issue 11 §1.3: softplus(ab) + (a-b)^2/20 gave [inf, inf] at (10, 10) and NaN at (25, 10)."""
    a, b = sympy.symbols("a b")
    flow = bea.modified_flow(parse_loss("softplus(a*b) + (a-b)^2/20"), [a, b], truncation=2)
    points = [(10.0, 10.0), (25.0, 10.0), (-30.0, 20.0), (700.0, 1.0), (-700.0, 1.0), (1.0, 2.0)]
    for order in (1, 2):
        fn = compile_field(flow, truncation=order, h=0.001, backend=backend)
        theta = np.array(points)
        out = np.asarray(fn(torch.tensor(theta) if backend == "torch" else theta))
        for (pa, pb), row in zip(points, out, strict=True):
            for i in range(2):
                _assert_accurate(float(row[i]), flow.field(order)[i], {a: pa, b: pb, flow.h: H},
                                 f"order {order} component {i} at ({pa}, {pb})")
    # the value of issue 11 at (10, 10): -10.005 in each component (here through h^2)
    assert np.allclose(np.asarray(compile_field(flow, truncation=2, h=0.001, backend=backend)(
        torch.tensor([10.0, 10.0], dtype=torch.float64) if backend == "torch" else np.array([10.0, 10.0]))),
        -10.005003333333, rtol=1e-12)


def test_stable_form_keeps_the_value() -> None:
    """The rewriting is an identity: equal to the original at random points (exact evaluation)."""
    v, w = sympy.symbols("v w")
    exprs = [sympy.exp(v) / (1 + sympy.exp(v)) ** 2, sympy.log(1 + sympy.exp(-v)), 1 / (1 + sympy.exp(-v)),
             sympy.exp(3 * v) * w / (2 * sympy.exp(3 * v) + 6 * sympy.exp(2 * v) + 6 * sympy.exp(v) + 2),
             sympy.exp(2 * v) + sympy.exp(-v) * w, sympy.sqrt(1 + sympy.exp(v))]
    for expr in exprs:
        rewritten = stable_form(expr).replace(
            lambda e: type(e).__name__ == "BeaSigmoid", lambda e: 1 / (1 + sympy.exp(-e.args[0]))
        ).replace(lambda e: type(e).__name__ == "BeaLogSigmoid", lambda e: -sympy.log(1 + sympy.exp(-e.args[0])))
        for pv, pw in [(sympy.Rational(3, 7), 2), (-5, sympy.Rational(1, 3)), (40, -1)]:
            diff = sympy.N((rewritten - expr).subs({v: pv, w: pw}), 40)
            assert abs(diff) < sympy.Float("1e-35") * (1 + abs(sympy.N(expr.subs({v: pv, w: pw}), 40))), expr


@pytest.mark.parametrize("backend", ["torch", "numpy"])
def test_exact_constants_and_special_functions_compile(backend: str) -> None:
    """torch.sqrt(2), torch.log(2) (TypeError), torch's missing gamma, numpy's missing math.erf: all fixed."""
    a = sympy.Symbol("a")
    column = [sympy.sqrt(2) * a + sympy.log(2) + sympy.exp(sympy.Rational(1, 3)) + sympy.pi * sympy.E,
              sympy.gamma(a) + sympy.erf(a) + sympy.gamma(sympy.Rational(1, 3)) + sympy.loggamma(a)
              + sympy.polygamma(0, a) + sympy.erfc(a)]
    fn = compile_field(column, params=[a, sympy.Symbol("b")], backend=backend)
    for point in (0.3, 2.5, 7.0):
        theta = np.array([point, 0.0])
        out = np.asarray(fn(torch.tensor(theta) if backend == "torch" else theta))
        for i in range(2):
            exact = float(sympy.N(column[i].subs(a, sympy.nsimplify(point)), 50))
            assert out[i] == pytest.approx(exact, rel=1e-13), (i, point)
    gamma_fn = compile_field([sympy.gamma(a)], params=[a], backend=backend)
    for point in (-0.5, -1.5, -2.5):  # negative on (-1, 0), positive on (-2, -1), ...
        theta = np.array([point])
        got = float(np.asarray(gamma_fn(torch.tensor(theta) if backend == "torch" else theta))[0])
        assert got == pytest.approx(float(sympy.gamma(sympy.nsimplify(point))), rel=1e-13)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_max_min_constants_follow_theta_dtype(dtype: torch.dtype) -> None:
    """Max(a, 1/10) and Min(a, c) built float32 constants: an error of 1.5e-9 in float64."""
    a, c = sympy.symbols("a c")
    fn = compile_field([sympy.Max(a, sympy.Rational(1, 10)), sympy.Min(a, c)], params=[a, c])
    out = fn(torch.tensor([0.0, 1.0 / 3.0], dtype=dtype))
    assert out.dtype == dtype
    assert out[0].item() == torch.tensor(0.1, dtype=dtype).item()
    bound = compile_field([sympy.Min(a, c) + sympy.Max(c, sympy.Rational(1, 3))], params=[a], c=0.1)
    assert bound(torch.tensor([1.0], dtype=torch.float64)).item() == 0.1 + 1 / 3


def test_unsupported_function_is_refused_at_compile_time() -> None:
    a = sympy.Symbol("a")
    with pytest.raises(NumericTypeError, match="besselj"):
        compile_field([sympy.besselj(1, a)], params=[a])
    with pytest.raises(NumericTypeError, match="real"):
        compile_field([a + sympy.sqrt(-2)], params=[a])
    with pytest.raises(NumericTypeError, match="not a finite real"):
        compile_field([a * sympy.asin(2)], params=[a])


@pytest.mark.parametrize("backend", ["torch", "numpy"])
def test_complex_theta_is_refused_not_truncated(backend: str) -> None:
    """A compiled field silently dropped the imaginary part of a complex θ."""
    a, b = sympy.symbols("a b")
    fn = compile_field([a * b, a], params=[a, b], backend=backend)
    for theta in (torch.tensor([1 + 1j, 2.0]), np.array([1 + 1j, 2.0]), [1 + 1j, 2.0]):
        with pytest.raises(BeaTypeError, match="real"):
            fn(theta)
    with pytest.raises(BeaTypeError):
        fn(np.array(["1", "2"]))


@pytest.mark.parametrize("backend", ["torch", "numpy"])
def test_every_supported_function_compiles_and_evaluates(backend: str) -> None:
    """Each function of SUPPORTED_FUNCTIONS prints to code that runs and matches mpmath (no missing name)."""
    from numeric.codegen import SUPPORTED_FUNCTIONS

    a, c = sympy.symbols("a c")
    point = {a: sympy.Rational(3, 10), c: sympy.Rational(7, 5)}
    for function in sorted(SUPPORTED_FUNCTIONS, key=lambda f: f.__name__):
        if function.__name__.startswith("Bea"):
            continue
        nargs = sorted(function.nargs) if isinstance(function.nargs, sympy.FiniteSet) else [1]
        args = (a, c) if nargs and min(nargs) >= 2 else (a,)
        if function is sympy.polygamma:
            args = (1, c)
        if function in (sympy.acosh,):
            args = (c,)
        expr = function(*args)
        fn = compile_field([expr, a], params=[a, c], backend=backend)
        theta = np.array([0.3, 1.4])
        got = float(np.asarray(fn(torch.tensor(theta) if backend == "torch" else theta))[0])
        exact = float(sympy.N(expr.subs(point), 30).subs(sympy.DiracDelta(sympy.Rational(3, 10)), 0))
        # torch's own polygamma (series) is accurate to ~5e-10 in float64; every other function to rounding
        rel = 1e-8 if function is sympy.polygamma and backend == "torch" else 1e-13
        assert got == pytest.approx(exact, rel=rel, abs=1e-300), function.__name__


# --- §2.3, §2.4, §2.8: what the commands write --------------------------------------------------------------

VERIFY = ["verify", "--loss", "(y - a*b*x)^2/2", "--params", "a", "b", "--subs", "x=1", "y=0.6", "--no-progress"]


def _run(capfd: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    from bea.cli import main

    status = main(list(argv))
    out, err = capfd.readouterr()
    return status, out, err


def test_verify_json_with_overflowing_start_is_strict_json_on_a_clean_stdout(capfd: pytest.CaptureFixture[str]) -> None:
    """--init a=1e200 raised 'Out of range float values are not JSON compliant' and oneMKL wrote on stdout."""
    import json

    status, out, err = _run(capfd, *VERIFY, "--init", "a=1e200", "b=1", "--h", "0.01", "0.005", "--truncations", "0",
                            "--format", "json")
    assert status == 1, err
    data = json.loads(out)  # stdout is exactly one JSON document (parse fails on any extra line)
    assert data["truncations"][0]["errors"] == [None, None] or data["diverged"]
    assert "NaN" not in out and "Infinity" not in out


def test_shared_json_helper_writes_non_finite_as_null() -> None:
    import json

    from bea.jsonio import dumps
    from numeric.drift_report import DriftReport, TruncationResult

    report = DriftReport(method="m", hs=(0.1, 0.05), time=1.0, theta0=(math.inf, 1.0), device="cpu",
                         dtype="float64", tolerance=0.1,
                         truncations=(TruncationResult(0, 1, math.nan, (math.inf, 1.0), False),),
                         lambda_max=math.inf)
    data = json.loads(report.to_json())
    assert data["theta0"] == [None, 1.0] and data["truncations"][0]["slope"] is None and data["lambda_max"] is None
    assert json.loads(dumps({"x": np.float32("nan"), "y": np.array([1.0, np.inf]), "z": sympy.Rational(1, 2)})) == {
        "x": None, "y": [1.0, None], "z": 0.5}


def test_verify_one_step_size_is_bad_input(capfd: pytest.CaptureFixture[str]) -> None:
    """--h 0.01 exited 1 (a failed check) instead of 2 (bad input: a slope needs two step sizes)."""
    status, out, err = _run(capfd, *VERIFY, "--init", "a=2.8", "b=3.5", "--h", "0.01")
    assert status == 2 and "two different step sizes" in err and out == ""
    status, _, err = _run(capfd, *VERIFY, "--init", "a=2.8", "b=3.5", "--h", "0.01", "0.01")
    assert status == 2 and "two different step sizes" in err


@pytest.mark.parametrize("value", ["sqrt(-1)", "log(-1)", "(-8)^(1/3)"])
def test_verify_init_must_be_a_real_finite_number(capfd: pytest.CaptureFixture[str], value: str) -> None:
    """--init a=sqrt(-1) raised 'TypeError: Cannot convert complex to float'."""
    status, out, err = _run(capfd, *VERIFY, "--init", f"a={value}", "b=1")
    assert status == 2 and "--init a=" in err and out == "", err


def test_real_values_refuses_what_a_double_cannot_hold() -> None:
    from bea.errors import BeaValueError
    from numeric.cli_verify import real_values

    a = sympy.Symbol("a")
    assert real_values({a: sympy.Rational(1, 3)}) == {"a": 1 / 3}
    for value in (sympy.Integer(10) ** 400, sympy.I, sympy.Symbol("q")):
        with pytest.raises(BeaValueError, match="--init a="):
            real_values({a: value})


def test_verify_time_bound_is_checked_before_the_work(capfd: pytest.CaptureFixture[str]) -> None:
    """verify --time 1e9 ran for hours: the number of steps is estimated and refused at once."""
    status, _, err = _run(capfd, *VERIFY, "--init", "a=2.8", "b=3.5", "--time", "1e9")
    assert status == 2 and "--max-steps" in err


def test_verify_plot_paths_mean_what_they_say(tmp_path: object, capfd: pytest.CaptureFixture[str]) -> None:
    """--plot DIR wrote DIR.png beside the folder and exited 0; an existing plot was replaced silently."""
    from pathlib import Path

    folder = Path(str(tmp_path)) / "existing"
    folder.mkdir()
    base = [*VERIFY, "--init", "a=2.8", "b=3.5", "--h", "0.01", "0.005", "--truncations", "0"]
    status, _, err = _run(capfd, *base, "--plot", str(folder))
    assert status == 2 and "existing folder" in err and not Path(str(folder) + ".png").exists()
    status, _, err = _run(capfd, *base, "--plot", str(folder / "drift.txt"))
    assert status == 2 and ".png" in err
    status, _, err = _run(capfd, *base, "--plot", "")
    assert status == 2 and "non-empty" in err
    target = folder / "drift.png"
    target.write_bytes(b"an earlier result")
    status, _, err = _run(capfd, *base, "--plot", str(target))
    assert status == 2 and "--overwrite" in err and target.read_bytes() == b"an earlier result"
    status, _, err = _run(capfd, *base, "--plot", str(target), "--overwrite")
    assert status == 0 and target.read_bytes()[:4] == b"\x89PNG", err
    assert sorted(p.name for p in folder.iterdir()) == ["drift.png"]  # no temporary file left behind


def test_reproduce_never_destroys_earlier_results(tmp_path: object, capfd: pytest.CaptureFixture[str]) -> None:
    """A rerun without --resume emptied digits_runs.jsonl; two-param overwrote its result; --out "" wrote here."""
    from pathlib import Path

    pytest.importorskip("sklearn")
    root = Path(str(tmp_path))
    digits = root / "digits"
    digits.mkdir()
    runs = digits / "digits_runs.jsonl"
    runs.write_text('{"schema": "earlier"}\n{"key": "a finished run"}\n')
    status, _, err = _run(capfd, "reproduce", "digits", "--quick", "--out", str(digits), "--no-progress")
    assert status == 2 and "--overwrite" in err and "a finished run" in runs.read_text()
    status, _, err = _run(capfd, "reproduce", "digits", "--quick", "--out", str(digits), "--resume", "--overwrite")
    assert status == 2 and "exclude" in err
    two = root / "two"
    two.mkdir()
    (two / "two_param.json").write_text("{}")
    status, _, err = _run(capfd, "reproduce", "two-param", "--quick", "--out", str(two), "--no-progress")
    assert status == 2 and "--overwrite" in err and (two / "two_param.json").read_text() == "{}"
    for experiment in ("two-param", "digits"):
        status, _, err = _run(capfd, "reproduce", experiment, "--quick", "--out", "", "--no-progress")
        assert status == 2 and "non-empty" in err
    (root / "a_file").write_text("x")
    status, _, err = _run(capfd, "reproduce", "two-param", "--quick", "--out", str(root / "a_file"))
    assert status == 2 and "is an existing file" in err


def test_reproduce_digits_bounds_are_checked_before_the_work(tmp_path: object) -> None:
    """--threads 10000 started 20 000 threads; --widths 100000000 ran out of memory."""
    import os

    pytest.importorskip("sklearn")
    from numeric.errors import HyperparameterError
    from numeric.reproduce import DigitsConfig, run_digits

    with pytest.raises(HyperparameterError, match="CPU cores"):
        run_digits(DigitsConfig.quick(), str(tmp_path), threads=(os.cpu_count() or 1) + 1, progress=False)
    with pytest.raises(HyperparameterError, match="GiB"):
        DigitsConfig.quick().with_overrides(widths=(100_000_000,))
    assert DigitsConfig.quick().memory_estimate() < 2**30  # the quick sweep is well inside the bound


def test_reproduce_digits_resume_refuses_records_from_another_device(tmp_path: object) -> None:
    """Resume mixed CPU and CUDA records."""
    import json
    from pathlib import Path

    pytest.importorskip("sklearn")
    from numeric.errors import HyperparameterError
    from numeric.reproduce import DigitsConfig, run_digits
    from numeric.reproduce.digits import RUNS_FILE, SCHEMA

    cfg = DigitsConfig.quick()
    folder = Path(str(tmp_path))
    header = {"schema": SCHEMA, "config": cfg.to_dict()}
    (folder / RUNS_FILE).write_text(json.dumps(header) + "\n" + json.dumps({"key": "k", "device": "cuda:0"}) + "\n")
    with pytest.raises(HyperparameterError, match="cuda:0"):
        run_digits(cfg, folder, resume=True, progress=False, figures=False)


# --- §2.2, §2.7: tolerances follow the dtype, clean errors from the numeric API ------------------------------


def test_float32_drift_check_returns_and_step_cap_is_an_error() -> None:
    """drift_check(dtype=float32) never returned (a 1e-13 tolerance in float32); the step cap gave a silent NaN."""
    from numeric.drift import drift_check
    from numeric.errors import ConvergenceError
    from numeric.integrate import integrate_flow, tolerance_floor

    a, b = sympy.symbols("a b")
    flow = bea.modified_flow((sympy.Rational(3, 5) - a * b) ** 2 / 2, [a, b], truncation=1)
    report = drift_check(flow, {"a": 2.8, "b": 3.5}, (0.01, 0.005), truncations=(0, 1), dtype="float32")
    assert report.dtype == "float32" and report.truncations[0].slope is not None
    assert abs(report.truncations[0].slope - 1) < 0.2  # order 0: errors ~1e-2, far above float32 rounding
    rotation = lambda t: torch.stack([-t[..., 1], t[..., 0]], dim=-1)  # noqa: E731
    y = integrate_flow(rotation, torch.tensor([1.0, 0.0]), math.pi / 2, dtype=torch.float32)
    assert y.dtype == torch.float32 and torch.allclose(y, torch.tensor([0.0, 1.0]), atol=1e-4)
    assert tolerance_floor(torch.float32) == 100 * torch.finfo(torch.float32).eps
    with pytest.raises(ConvergenceError, match="max_steps"):
        integrate_flow(rotation, torch.tensor([1.0, 0.0], dtype=torch.float64), 100.0, max_steps=5)


@pytest.mark.parametrize("time", [math.nan, math.inf, -1.0, 0.0, "1"])
def test_drift_check_time_must_be_positive_finite(time: object) -> None:
    from numeric.drift import drift_check

    a = sympy.Symbol("a")
    flow = bea.modified_flow(a**2 / 2, [a], truncation=1)
    with pytest.raises(BeaTypeError, match="time"):
        drift_check(flow, {"a": 1.0}, (0.1, 0.05), time=time)  # type: ignore[arg-type]
    with pytest.raises(BeaTypeError, match="finite"):
        drift_check(flow, {"a": math.nan}, (0.1, 0.05))
