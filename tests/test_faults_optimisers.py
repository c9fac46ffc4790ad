"""Faults found by a user trial of the optimisers (issue 9), each fixed by its kind.

1. A hang: torch's Adam/RMSProp (ε outside the root) at a zero gradient component, and any field that is
   not finite or stalls the adaptive integrator. Expected: a one-line bea error, never an endless run.
2. A wrong PASS: a memory method far outside its slow manifold's range. Expected: the range diagnostic, and
   one pass rule (:func:`numeric.drift_report.verdict`) for every drift check.

Independent values: the slow manifold's radius is checked against the eigenvalues of the optimiser's own linear
recursion (its 2x2 iteration matrix on E = λθ²/2, written from torch.optim's update rules, not from the
characteristic polynomial the docstrings derive), and the undefined point against SymPy's evaluation of the exact
flow (0 times infinity).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import sympy

torch = pytest.importorskip("torch")

from bea.cli import main  # noqa: E402
from bea.errors import NonSmoothPointError  # noqa: E402
from bea.methods import Adam, HeavyBall, Nesterov, RMSProp  # noqa: E402
from numeric import OptimiserField  # noqa: E402
from numeric.drift_report import ERROR_SCALE_LIMIT, verdict  # noqa: E402
from numeric.errors import ConvergenceError, ModifiedSeriesWarning  # noqa: E402
from numeric.integrate import integrate_flow  # noqa: E402
from numeric.memory_drift import memory_drift_check  # noqa: E402

a, b = sympy.symbols("a b")
E = (sympy.Rational(3, 5) - a * b) ** 2 / 2  # at (1, 0): dE/da = -(3/5 - ab) b = 0, dE/db = -3/5


def _loss(t: Any) -> Any:
    return (0.6 - t[0] * t[1]) ** 2 / 2


# ---- 1. the hang -------------------------------------------------------------------------------------------------

def test_cli_verify_adam_at_a_zero_gradient_component_is_refused_in_one_line(capsys: pytest.CaptureFixture[str]
                                                                             ) -> None:
    status = main(["verify", "--method", "adam", "--loss", "(y - a*b*x)^2/2", "--params", "a", "b", "--subs", "x=1",
                   "y=3/5", "--init", "a=1", "b=0", "--h", "4e-4", "2e-4", "--time", "0.2", "--truncations", "0", "1",
                   "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert status == 2 and len(err.splitlines()) == 1
    assert "dE/da = 0" in err and "dE/db" not in err and "--eps-inside" in err


def test_the_exact_flow_is_undefined_there_so_both_routes_refuse() -> None:
    """SymPy's own evaluation of the h¹ term at (1, 0) is not a number (it divides by |dE/da| = 0); the autodiff
    route, whose algebra cancels the division, refuses the same point rather than return a value."""
    flow = Adam().modified_flow(E, [a, b], truncation=1)
    value = flow.terms[1][0].subs({a: 1, b: 0})
    assert value.has(sympy.nan, sympy.zoo) or not value.is_finite
    field = OptimiserField(_loss, method=Adam(), h=1e-3)
    with pytest.raises(NonSmoothPointError, match=r"theta\[0\]"):
        field(torch.tensor([1.0, 0.0], dtype=torch.float64))
    with pytest.raises(NonSmoothPointError, match=r"theta\[0\]"):
        field.start_state(torch.tensor([1.0, 0.0], dtype=torch.float64))
    with pytest.raises(NonSmoothPointError, match="dE/da"):
        RMSProp().check_smooth_at(["a"], 1)


def test_what_stays_defined_at_a_zero_gradient_component() -> None:
    """Truncation 0 is -g/(|g| + eps) (Lipschitz): (0, 0.6/(0.6 + 1e-8)) at (1, 0); eps inside is smooth."""
    theta = torch.tensor([1.0, 0.0], dtype=torch.float64)
    f0 = OptimiserField(_loss, method=Adam(), truncation=0, h=1e-3)(theta)
    assert f0.tolist() == pytest.approx([0.0, 0.6 / (0.6 + 1e-8)], rel=1e-15)
    inside = OptimiserField(_loss, method=Adam(eps_inside=True), h=1e-3)(theta)
    assert bool(torch.isfinite(inside).all())
    Adam().check_smooth_at(["a"], 0)  # no error
    HeavyBall("1/2").check_smooth_at(["a"], 3)  # momentum averages g linearly: smooth wherever E is


def test_memory_drift_check_refuses_a_flow_that_is_not_finite_at_theta0() -> None:
    with pytest.raises(NonSmoothPointError, match="not finite at theta0"):
        memory_drift_check(HeavyBall("1/2"), sympy.log(a) + b**2, [a, b], [0.0, 1.0], [0.01, 0.005], time=0.02,
                           truncations=(0,))


def test_scipy_route_stops_on_a_field_that_is_nan_at_the_start() -> None:
    calls = 0

    def field(y: np.ndarray) -> np.ndarray:
        nonlocal calls
        calls += 1
        return np.full_like(y, np.nan)

    out = integrate_flow(field, np.array([1.0, 0.0]), 1.0, backend="numpy")
    assert np.isnan(out).all() and calls < 10  # before: SciPy looped on a NaN step until 2.4 million calls


def test_scipy_route_stops_where_the_integrator_stalls() -> None:
    """ȧ = 1/|b - 1/2|, ḃ = 1: the field is singular at t = 1/2; the step size collapses there."""
    calls = 0

    def field(y: np.ndarray) -> np.ndarray:
        nonlocal calls
        calls += 1
        return np.stack([1 / np.abs(y[..., 1] - 0.5), np.ones_like(y[..., 1])], -1)

    with pytest.raises(ConvergenceError, match=r"stalled at t = 0\.5"):
        integrate_flow(field, np.array([1.0, 0.0]), 1.0, backend="numpy")
    assert calls < 12 * 200_000 // 10  # far below the step cap's budget


# ---- 2. the wrong PASS -------------------------------------------------------------------------------------------

def _iteration_matrix(method: object, lam: float, h: float) -> np.ndarray:
    """(θ, buffer) -> next, on E = λθ²/2, from torch.optim's update rules (Adam's preconditioner frozen at 1)."""
    if isinstance(method, HeavyBall):  # b' = βb + λθ, θ' = θ - h b'
        beta = float(method.beta)
        return np.array([[1 - h * lam, -h * beta], [lam, beta]])
    if isinstance(method, Nesterov):  # b' = βb + λθ, θ' = θ - h(λθ + βb')
        beta = float(method.beta)
        return np.array([[1 - h * lam * (1 + beta), -h * beta**2], [lam, beta]])
    assert isinstance(method, Adam)
    beta = float(method.beta1)  # Adam: m' = β1 m + (1 - β1) λθ, θ' = θ - h m'
    return np.array([[1 - h * (1 - beta) * lam, -h * beta], [(1 - beta) * lam, beta]])


@pytest.mark.parametrize(("method", "f0_scale"), [
    (HeavyBall("9/10"), 10.0), (HeavyBall("1/2"), 2.0), (Nesterov("9/10"), 10.0), (Nesterov("1/3"), 1.5),
    (Adam(beta1="9/10", beta2="1/2"), 1.0)])
def test_manifold_radius_is_where_the_iteration_loses_its_real_slow_root(method: object, f0_scale: float) -> None:
    """λ_f = f0_scale · λ (f_0 = -g/(1-β) for momentum, -Pg for Adam with P = 1). Below the radius the iteration
    matrix has two real eigenvalues (slow and parasitic), above it a complex pair."""
    radius = float(method.manifold_radius)  # type: ignore[attr-defined]
    lam = 1.0
    for factor, real in ((0.98, True), (1.02, False)):
        h = factor * radius / (f0_scale * lam)
        eig = np.linalg.eigvals(_iteration_matrix(method, lam, h))
        assert bool(abs(eig.imag).max() < 1e-12) is real, (factor, eig)


def test_verdict_needs_an_asymptotic_regime() -> None:
    hs = [0.04, 0.02, 0.01]
    assert verdict(hs, [4e-3, 1e-3, 2.5e-4], 2.0, 2, 0.15, 1.0) == (True, None)
    passed, why = verdict(hs, [1.6, 0.4, 0.1], 2.0, 2, 0.15, 1.0)  # slope 2 exactly, errors O(1)
    assert not passed and why is not None and "distance travelled" in why
    passed, why = verdict(hs, [1e-3, 2e-3, 2.5e-4], 1.0, 1, 0.15, 1.0)  # a slope met by non-monotone errors
    assert not passed and why == "the errors do not fall as h falls"
    assert verdict(hs, [4e-3, 1e-3, 2.5e-4], 1.5, 2, 0.15, 1.0) == (False, None)  # the slope itself
    assert ERROR_SCALE_LIMIT == 0.1


def test_adam_outside_the_manifold_range_neither_passes_nor_stays_silent() -> None:
    """The trial's case: Adam, eps inside, from (2.8, 3.5), h = 4e-4..1e-4: the r = 1 slope 1.85 is within a
    tolerance of 0.2 (the old rule passed it), but its errors are not small against the distance travelled."""
    adam = Adam("9/10", "999/1000", "1e-8", eps_inside=True)
    loss = (sympy.Rational(3, 5) - a * b) ** 2 / 2
    report = memory_drift_check(adam, loss, [a, b], [2.8, 3.5], [4e-4, 2e-4, 1e-4], time=0.2, truncations=(1,),
                                tolerance=0.2)
    (result,) = report.truncations
    assert result.slope is not None and abs(result.slope - 2) <= 0.2
    assert not result.passed and not report.passed
    assert any("distance travelled" in w for w in report.warnings)
    with pytest.warns(ModifiedSeriesWarning, match="Taylor radius of the preconditioner"):
        memory_drift_check(adam, loss, [a, b], [1.0, 0.8], [4e-4, 2e-4], time=0.02, truncations=(0,))


def test_heavy_ball_inside_its_range_passes_without_a_range_warning() -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", ModifiedSeriesWarning)
        report = memory_drift_check(HeavyBall("9/10"), E, [a, b], [1.0, 0.8], [4e-4, 2e-4, 1e-4], time=0.2,
                                    truncations=(0, 1))
    assert report.passed and report.lambda_max is not None
    assert math.isclose(report.lambda_max * (1 - 0.9), _hessian_radius(1.0, 0.8), rel_tol=1e-6)
    with pytest.warns(ModifiedSeriesWarning, match="slow manifold's radius"):
        memory_drift_check(HeavyBall("9/10"), E, [a, b], [1.0, 0.8], [0.02, 0.01], time=0.04, truncations=(0,))


def _hessian_radius(x: float, y: float) -> float:
    """Largest |eigenvalue| of the Hessian of (3/5 - ab)²/2: [[b², 2ab - 3/5], [2ab - 3/5, a²]]."""
    return float(abs(np.linalg.eigvalsh(np.array([[y * y, 2 * x * y - 0.6], [2 * x * y - 0.6, x * x]]))).max())


# ---- 3. one hyperparameter rule for every constructor ------------------------------------------------------------

def _constructors() -> list[tuple[str, Any]]:
    """(what, build(value)) for every hyperparameter of every constructor of bea.methods that takes one."""
    from bea.methods.games import GameGD

    return [
        ("heavy_ball beta", lambda v: HeavyBall(v).beta),
        ("nesterov beta", lambda v: Nesterov(v).beta),
        ("rmsprop beta2", lambda v: RMSProp(beta2=v).beta2),
        ("rmsprop eps", lambda v: RMSProp(eps=v).eps),
        ("adam beta1", lambda v: Adam(beta1=v).beta1),
        ("adam beta2", lambda v: Adam(beta2=v).beta2),
        ("adam eps", lambda v: Adam(eps=v).eps),
        ("game rate", lambda v: GameGD((v, 1)).rates[0]),
    ]


@pytest.mark.parametrize(("what", "build"), _constructors())
def test_every_constructor_takes_the_same_exact_forms(what: str, build: Any) -> None:
    from fractions import Fraction

    half = sympy.Rational(1, 2)
    for value in (half, Fraction(1, 2), "1/2", "0.5", " 1/2 "):
        assert build(value) == half, (what, value)
    assert build(0) == 0 if "beta" in what else build(1) == 1  # ints
    assert build("1e-8") == sympy.Rational(1, 10**8)


@pytest.mark.parametrize(("what", "build"), _constructors())
def test_every_constructor_refuses_floats_and_bools_with_the_same_advice(what: str, build: Any) -> None:
    from bea.errors import BeaTypeError

    with pytest.raises(BeaTypeError, match=r"= 0\.5 is a float; bea is exact: pass a string such as '0\.5'"):
        build(0.5)
    with pytest.raises(BeaTypeError, match="exact rational"):
        build(True)


@pytest.mark.parametrize(("what", "build"), _constructors())
def test_symbols_only_where_the_derivation_takes_them(what: str, build: Any) -> None:
    """Game rates enter a symbolic Lie-series matching; the slow-manifold expansion needs rational decays and ε."""
    from bea.errors import BeaTypeError

    alpha = sympy.Symbol("alpha", positive=True)
    if what == "game rate":
        assert build(alpha) == alpha and build("alpha/2") == sympy.Symbol("alpha") / 2
    else:
        with pytest.raises(BeaTypeError, match="must be a rational number"):
            build(alpha)
        with pytest.raises(BeaTypeError, match="must be a rational number"):
            build("alpha")


@pytest.mark.parametrize(("what", "build"), _constructors())
def test_ranges(what: str, build: Any) -> None:
    from bea.errors import HyperparameterValueError

    bad = ["1", "-1/10"] if "beta" in what else ["0", "-1/10"]
    for value in bad:
        with pytest.raises(HyperparameterValueError, match=r"must (lie in \[0, 1\)|be > 0)"):
            build(value)
    if what == "game rate":
        with pytest.raises(HyperparameterValueError, match="must be > 0"):
            build(-sympy.Symbol("alpha", positive=True))


# ---- 4. small ones -----------------------------------------------------------------------------------------------

def test_every_stepper_init_names_its_buffers_when_given_a_wrong_one() -> None:
    from bea import methods
    from bea.methods.games import GameGD
    from bea.methods.maps import SGD, OneStepMap
    from numeric.errors import NumericTypeError
    from numeric.steppers import Adam as TorchAdam
    from numeric.steppers import stepper_for

    theta = torch.tensor([1.0, 0.8], dtype=torch.float64)
    x, y, hh = sympy.symbols("x y h")
    cases = [
        (stepper_for(HeavyBall("9/10"), _loss), "its buffers: momentum_buffer"),
        (stepper_for(Nesterov("1/2"), _loss), "its buffers: momentum_buffer"),
        (stepper_for(RMSProp(), _loss), "its buffers: square_avg"),
        (stepper_for(Adam(), _loss), "its buffers: exp_avg, exp_avg_sq"),
        (TorchAdam(_loss), "its buffers: exp_avg, exp_avg_sq"),
        (stepper_for(methods.rk4, _loss), "it has no buffers"),
        (stepper_for(OneStepMap((x - hh * x, y - hh * y), (x, y), h=hh), None), "it has no buffers"),
        (stepper_for(SGD("fixed"), [_loss, _loss]), "it has no buffers"),
        (stepper_for(GameGD((1, 1)), [([0], _loss), ([1], _loss)]), "it has no buffers"),
    ]
    for stepper, accepted in cases:
        with pytest.raises(NumericTypeError, match=f"has no buffer velocity; {accepted}"):
            stepper.init(theta, velocity=theta)
    state = stepper_for(HeavyBall("9/10"), _loss).init(theta, momentum_buffer=2 * theta)
    assert torch.equal(state.buffers[0], 2 * theta)


def test_derive_records_the_hyperparameters_by_their_hyper_names(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    args = ["derive", "--method", "adam", "--hyper", "beta1=0.9", "beta2=999/1000", "eps=1e-3", "--eps-inside",
            "--loss", "(3/5 - a*b)^2/2", "--params", "a", "b", "--truncation", "1"]
    assert main([*args, "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["hyperparameters"] == {"beta1": "9/10", "beta2": "999/1000", "eps": "1/1000"}
    assert data["eps_inside"] is True
    assert main(args) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("hyperparameters "))
    assert line == "hyperparameters beta1=9/10 beta2=999/1000 eps=1/1000 (--eps-inside)"
    pasted = ["derive", "--method", "adam", "--hyper", *line.split()[1:4], "--eps-inside", "--loss",
              "(3/5 - a*b)^2/2", "--params", "a", "b", "--truncation", "1", "--format", "json"]
    assert main(pasted) == 0 and json.loads(capsys.readouterr().out)["terms"] == data["terms"]
    assert main(["derive", "--loss", "a^2", "--params", "a", "--format", "json"]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert plain["hyperparameters"] == {} and "eps_inside" not in plain


def test_derive_names_the_symbols_it_keeps_as_data(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["derive", "--map", "a - h*b*c", "b + h*a", "--params", "a", "b", "--truncation", "1"]) == 0
    assert "data symbols c (kept symbolic: not parameters; give values with --subs)" in capsys.readouterr().out
    assert main(["derive", "--map", "a - h*b", "b + h*a", "--params", "a", "b", "--truncation", "1"]) == 0
    assert "data symbols" not in capsys.readouterr().out


def test_verify_says_the_default_start_as_a_note_not_a_warning(capsys: pytest.CaptureFixture[str]) -> None:
    common = ["verify", "--method", "heavy_ball", "--hyper", "beta=1/2", "--loss", "(3/5 - a*b)^2/2", "--params",
              "a", "b", "--init", "a=1", "b=0.8", "--h", "0.002", "0.001", "--time", "0.01", "--truncations", "0",
              "--no-progress"]
    main(common)
    out, err = capsys.readouterr()
    assert "warning: start" not in out and "note: the optimiser's buffers started on the slow manifold" in err
    main([*common, "--start", "zero"])
    out, err = capsys.readouterr()
    assert "warning: start: zero (torch's zero buffers, off the slow manifold)" in out and "note:" not in err


def test_gradient_drift_check_uses_the_same_pass_rule() -> None:
    """Gradient descent on E = |θ|²/2 against a flow with a wrong term 10·h·e₁: the errors are about 10·h·T
    (slope 1, the expected one for r = 0) but as large as the distance GD travels, (1 - e^{-1})·|θ₀| ≈ 0.89."""
    from bea import methods
    from numeric.drift import drift_check

    shift = torch.tensor([1.0, 0.0], dtype=torch.float64)

    def factory(h: Any, r: int) -> Any:
        return lambda t: -t + 10 * torch.as_tensor(h, dtype=t.dtype).reshape(-1, 1) * shift  # h: one per row

    report = drift_check(factory, torch.tensor([1.0, 1.0], dtype=torch.float64), [0.04, 0.02, 0.01], time=1.0,
                         truncations=(0,), method=methods.explicit_euler, step_field=lambda t: -t,
                         check_integration=False)
    (result,) = report.truncations
    assert result.slope is not None and abs(result.slope - 1) <= 0.15
    travelled = math.sqrt(2) * (1 - 0.99**100)  # GD's distance at h = 0.01, ≈ 0.896
    assert result.errors[0] is not None and result.errors[0] > ERROR_SCALE_LIMIT * travelled
    assert not result.passed and any("distance travelled" in w for w in report.warnings)


def test_a_blown_up_start_is_blamed_on_the_start_and_said_once(capsys: pytest.CaptureFixture[str]) -> None:
    """The user trial's heavy-ball case: h λ_f = 2.92 against the manifold's radius 0.026 (β = 9/10), so the
    slow-manifold buffers are evaluated far outside their range and every row diverges, while heavy-ball itself is
    stable there (h λ = 0.29 < 2(1 + β)). The report blames the start and points to --start zero; the range
    warning appears once (in the report), not also on stderr."""
    argv = ["verify", "--loss", "(y-a*b*x)^2/2", "--params", "a", "b", "--subs", "x=1", "y=0.6", "--init", "a=2.8",
            "b=3.5", "--method", "heavy_ball", "--hyper", "beta=9/10", "--no-progress"]
    assert main(argv) == 1
    out, err = capsys.readouterr()
    assert "--start zero runs it from torch's zero buffers" in out
    assert (out + err).count("outside the range of the slow-manifold expansion") == 1
    assert main([*argv, "--start", "zero"]) == 1  # a capped slope, but finite errors: nothing blamed on the start
    out = capsys.readouterr().out
    assert "diverged" not in out and "--start zero runs it" not in out
