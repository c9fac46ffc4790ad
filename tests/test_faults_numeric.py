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
        compile_field([a * sympy.asin(2)], params=[a])(torch.ones(1, dtype=torch.float64))


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


# --- §3: every catalogue method's discrete step against an independent route ---------------------------------

# Published Butcher tableaux, typed here (not read from bea): Hairer, Nørsett & Wanner, *Solving ODEs I*, 2nd ed.,
# §II.1 Tables 1.1-1.2 (Euler, Runge's midpoint, Heun, Kutta's third order, classical RK4), Ralston (1962,
# Math. Comp. 16, eq. (3.5): a21 = 2/3, b = (1/4, 3/4)), Shu & Osher (1988, J. Comput. Phys. 77, eq. (2.18):
# SSPRK(3,3)), Hairer & Wanner, *Solving ODEs II*, §IV.5 (implicit Euler, implicit midpoint, trapezoidal rule =
# Lobatto IIIA with 2 stages, Gauss-Legendre with 2 stages, Table 5.1), with their classical orders.
_S3 = "sqrt(3)/6"
PUBLISHED = {
    "explicit_euler": ([["0"]], ["1"], 1),
    "explicit_midpoint": ([["0", "0"], ["1/2", "0"]], ["0", "1"], 2),
    "heun": ([["0", "0"], ["1", "0"]], ["1/2", "1/2"], 2),
    "ralston": ([["0", "0"], ["2/3", "0"]], ["1/4", "3/4"], 2),
    "kutta3": ([["0", "0", "0"], ["1/2", "0", "0"], ["-1", "2", "0"]], ["1/6", "2/3", "1/6"], 3),
    "ssprk33": ([["0", "0", "0"], ["1", "0", "0"], ["1/4", "1/4", "0"]], ["1/6", "1/6", "2/3"], 3),
    "rk4": ([["0", "0", "0", "0"], ["1/2", "0", "0", "0"], ["0", "1/2", "0", "0"], ["0", "0", "1", "0"]],
            ["1/6", "1/3", "1/3", "1/6"], 4),
    "implicit_euler": ([["1"]], ["1"], 1),
    "implicit_midpoint": ([["1/2"]], ["1"], 2),
    "trapezoid": ([["0", "0"], ["1/2", "1/2"]], ["1/2", "1/2"], 2),
    "gauss_legendre_2": ([["1/4", f"1/4 - {_S3}"], [f"1/4 + {_S3}", "1/4"]], ["1/2", "1/2"], 4),
}


def _field_mp(y: list[object]) -> list[object]:
    """A polynomial field with nonzero derivatives of every order used: f(u, v) = (-v + uv, u - u²/2 + v³/3)."""
    u, v = y
    return [-v + u * v, u - u * u / 2 + v**3 / 3]


def _reference_step(name: str, y0: list[float], h: float, steps: int) -> list[float]:
    """The published tableau executed in 50-digit mpmath arithmetic (implicit stages by fixed-point iteration)."""
    import mpmath

    A_text, b_text, _ = PUBLISHED[name]
    with mpmath.workdps(50):
        A = [[mpmath.mpf(sympy.N(sympy.sympify(e), 60)) for e in row] for row in A_text]
        b = [mpmath.mpf(sympy.N(sympy.sympify(e), 60)) for e in b_text]
        hh = mpmath.mpf(h)
        y = [mpmath.mpf(v) for v in y0]
        s = len(b)
        for _ in range(steps):
            k = [_field_mp(y) for _ in range(s)]
            for _ in range(200):  # k_i = f(y + h Σ_j a_ij k_j): explicit tableaux are exact after s sweeps
                k = [_field_mp([y[d] + hh * sum(A[i][j] * k[j][d] for j in range(s)) for d in range(2)])
                     for i in range(s)]
            y = [y[d] + hh * sum(b[i] * k[i][d] for i in range(s)) for d in range(2)]
        return [float(v) for v in y]


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_catalogue_step_matches_the_published_tableau_in_50_digits(name: str) -> None:
    """run_method's float64 trajectory vs the published tableau in mpmath; bea's tableau equals the published one.

    The stepper error planted in issue 11 §3 (a wrong stage for tableaux whose stages do not depend only on the
    previous one, kutta3 and ssprk33) changes the step by O(h²) and fails here."""
    from bea import methods
    from numeric.trajectories import run_method

    A_text, b_text, _ = PUBLISHED[name]
    method = methods.by_name(name)
    assert [[sympy.simplify(sympy.sympify(e) - x) for e, x in zip(r1, r2, strict=True)]
            for r1, r2 in zip(A_text, method.A, strict=True)] == [[0] * len(r) for r in A_text]
    assert [sympy.sympify(e) - x for e, x in zip(b_text, method.b, strict=True)] == [0] * len(b_text)

    def field(t: torch.Tensor) -> torch.Tensor:
        u, v = t[0], t[1]
        return torch.stack([-v + u * v, u - u * u / 2 + v**3 / 3])

    y0, h = [0.3, -0.4], 0.1
    traj = run_method(field, torch.tensor(y0, dtype=torch.float64), h, 3, method)
    for n in (1, 3):
        expected = _reference_step(name, y0, h, n)
        assert traj.thetas is not None
        np.testing.assert_allclose(traj.thetas[n].numpy(), expected, rtol=1e-13, atol=1e-15, err_msg=f"{name} {n}")


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_catalogue_global_order_matches_the_published_order(name: str) -> None:
    """Fitted global order on the polynomial field above, against SciPy's DOP853 at rtol 2.3e-14 (a second
    integrator), equals the published classical order."""
    from scipy.integrate import solve_ivp

    from bea import methods
    from numeric.drift_report import fit_slope
    from numeric.trajectories import run_method

    order = PUBLISHED[name][2]
    T, y0 = 1.0, [0.3, -0.4]
    exact = solve_ivp(lambda t, y: _field_mp(list(y)), (0, T), y0, method="DOP853", rtol=2.3e-14, atol=1e-16).y[:, -1]
    hs = (0.05, 0.025, 0.0125) if order < 4 else (0.2, 0.1, 0.05)

    def field(t: torch.Tensor) -> torch.Tensor:
        u, v = t[0], t[1]
        return torch.stack([-v + u * v, u - u * u / 2 + v**3 / 3])

    errors = []
    for h in hs:
        traj = run_method(field, torch.tensor(y0, dtype=torch.float64), h, round(T / h), methods.by_name(name),
                          record=False)
        errors.append(float(np.linalg.norm(traj.final.numpy() - exact)))
    slope = fit_slope(hs, errors)
    assert slope is not None and abs(slope - order) < 0.2, (name, slope, errors)


# --- §3: compiled and autodiff fields against an independent assembly ----------------------------------------
# E(a, b) = exp(a) + a b² + sin(b) with its derivatives written by hand; the coefficients are the published ones
# of math.md: explicit Euler (Hairer-Lubich-Wanner, GNI 2nd ed., §IX.1) θ' = -g - (h/2) Hg - h²((1/3) H²g +
# (1/12) T[g,g]); explicit midpoint (BSeries.jl test suite: b([1,2,2]) = -1/12, b([1,2,3]) = -1/6, so with
# f = -g) θ' = -g + h²((1/6) H²g + (1/24) T[g,g]).


def _hand_parts(p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(g, H, T[g, g]) of E = exp(a) + a b² + sin(b) at p = (a, b), from hand-written derivatives."""
    a_, b_ = p
    g = np.array([np.exp(a_) + b_**2, 2 * a_ * b_ + np.cos(b_)])
    H = np.array([[np.exp(a_), 2 * b_], [2 * b_, 2 * a_ - np.sin(b_)]])
    T = np.zeros((2, 2, 2))
    T[0, 0, 0] = np.exp(a_)
    T[0, 1, 1] = T[1, 0, 1] = T[1, 1, 0] = 2.0
    T[1, 1, 1] = -np.cos(b_)
    return g, H, np.einsum("ijk,j,k->i", T, g, g)


def _hand_field(method: str, p: np.ndarray, h: float) -> np.ndarray:
    g, H, Tgg = _hand_parts(p)
    if method == "explicit_euler":
        return -g - h / 2 * H @ g - h**2 * (H @ H @ g / 3 + Tgg / 12)
    return -g + h**2 * (H @ H @ g / 6 + Tgg / 24)


POINTS = np.array([[0.3, -0.7], [-1.2, 0.4], [0.9, 1.6]])


@pytest.mark.parametrize("method", ["explicit_euler", "explicit_midpoint"])
def test_compiled_field_matches_an_independent_assembly(method: str) -> None:
    """test_codegen compared the compiled function with the same SymPy field it compiled."""
    from bea import methods

    a, b = sympy.symbols("a b")
    loss = sympy.exp(a) + a * b**2 + sympy.sin(b)
    flow = bea.modified_flow(loss, [a, b], truncation=2, method=methods.by_name(method))
    for backend in ("torch", "numpy"):
        fn = compile_field(flow, truncation=2, h=0.05, backend=backend)
        got = np.asarray(fn(torch.tensor(POINTS) if backend == "torch" else POINTS))
        for p, row in zip(POINTS, got, strict=True):
            np.testing.assert_allclose(row, _hand_field(method, p, 0.05), rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("method", ["explicit_euler", "explicit_midpoint"])
def test_autodiff_field_matches_published_coefficients(method: str) -> None:
    """The autodiff tests took their coefficients from bea.modified_equation, as the code under test does."""
    from bea import methods
    from numeric.autodiff import ModifiedField

    def loss(t: torch.Tensor) -> torch.Tensor:
        return torch.exp(t[0]) + t[0] * t[1] ** 2 + torch.sin(t[1])

    field = ModifiedField(loss, truncation=2, h=0.05, method=methods.by_name(method))
    for p in POINTS:
        got = field(torch.tensor(p, dtype=torch.float64)).numpy()
        np.testing.assert_allclose(got, _hand_field(method, p, 0.05), rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("loss, match", [
    (lambda t: torch.tensor(3.0, dtype=torch.float64), "does not depend on theta"),
    (lambda t: t**2, "scalar"),
    (lambda t: 3.0, "does not depend on theta|0-dim torch tensor"),
    (lambda t: (t.detach() ** 2).sum(), "does not depend on theta"),
    (lambda t: (t**2).sum().to(torch.complex128), "real floating"),
])
def test_losses_that_cannot_define_a_gradient_raise_clean_errors(loss: object, match: str) -> None:
    """gradient_descent raised raw torch errors; ModifiedField returned zeros for a detached loss."""
    from bea.errors import InvalidLossError
    from numeric.autodiff import ModifiedField
    from numeric.trajectories import gradient_descent

    theta = torch.tensor([1.0, 2.0], dtype=torch.float64)
    with pytest.raises(InvalidLossError, match=match):
        gradient_descent(loss, theta, 0.1, 2)  # type: ignore[arg-type]
    with pytest.raises(InvalidLossError, match=match):
        ModifiedField(loss, truncation=1, h=0.1)(theta)  # type: ignore[arg-type]


def test_run_method_refuses_non_finite_start_and_wrong_field_shape() -> None:
    from numeric.errors import ShapeError
    from numeric.trajectories import run_method

    with pytest.raises(BeaTypeError, match="finite"):
        run_method(lambda t: -t, [math.nan, 1.0], 0.1, 2)
    with pytest.raises(ShapeError, match=r"shape \(3,\)"):
        run_method(lambda t: torch.ones(3, dtype=torch.float64), [1.0, 2.0], 0.1, 2)
