"""numeric.memory_drift: optimisers with memory follow their slow-manifold modified flows (issue 9 §5).

Independent routes: the discrete trajectory of the torch.optim-exact steppers (numeric.steppers, themselves
tested step for step against torch.optim) against the accurately integrated truncated flow; backward error
analysis predicts an error O(h^{r+1}) for the flow through h^r (fitted slope r + 1) when the buffers start on
the slow manifold, and O(h) for every r from torch's zero start (the O(h) phase shift never fades).

Step sizes. The slow-manifold series converges only while the slow and the fast characteristic roots stay
apart: for heavy-ball on a quadratic of curvature λ, z² − (1 + β − hλ) z + β = 0 has real roots only for
hλ < (1 − √β)² (≈ 0.0026 at β = 9/10, 0.086 at β = 1/2), and the coefficient of h^j of the flow grows like
(hλ/(1 − √β)²)^j. With β = 9/10 the steps must therefore be ~30x smaller than with β = 1/2 for the same
accuracy, and T = 0.2 (the flow runs at speed ~1/(1 − β)) keeps the runs short.
"""

from __future__ import annotations

import json

import pytest
import sympy

from bea.methods.adaptive import Adam
from bea.methods.momentum import HeavyBall, Nesterov
from numeric.memory_drift import MemoryMethod, memory_drift_check

a, b = sympy.symbols("a b")
R = sympy.Rational
TWO_PARAM = (R(3, 5) - a * b) ** 2 / 2  # (y - a b x)²/2 with x = 1, y = 3/5
NON_POLY = sympy.cos(a) * sympy.cos(b) + (a**2 + b**2) / 2  # a coupled non-polynomial two-parameter loss
THETA0 = (1.0, 0.8)
MOMENTUM_HS = (4e-4, 2e-4, 1e-4)  # hλ/(1 - √β)² ≲ 0.3 at β = 9/10 (λ ≈ 1.8 at θ0 on TWO_PARAM)
ADAM_HS = (2e-3, 1e-3, 5e-4)
ADAM = Adam(beta1=R(1, 2), beta2=R(3, 4), eps=R(1, 10), eps_inside=True)


def _slopes(method: MemoryMethod, loss: sympy.Expr, hs: tuple[float, ...], top: int, start: str) -> list[float]:
    report = memory_drift_check(method, loss, [a, b], THETA0, hs, time=0.2, truncations=tuple(range(top + 1)),
                                start=start)
    assert all(e is not None for r in report.truncations for e in r.errors)
    slopes = [r.slope for r in report.truncations]
    assert all(s is not None for s in slopes)
    return [float(s) for s in slopes if s is not None]


@pytest.mark.parametrize("method", [HeavyBall(R(9, 10)), Nesterov(R(9, 10))], ids=["heavy_ball", "nesterov"])
@pytest.mark.parametrize("loss", [TWO_PARAM, NON_POLY], ids=["two_param", "non_poly"])
def test_momentum_from_the_manifold_start_has_slopes_r_plus_1(method: MemoryMethod, loss: sympy.Expr) -> None:
    slopes = _slopes(method, loss, MOMENTUM_HS, 3, "manifold")
    assert slopes == pytest.approx([1, 2, 3, 4], abs=0.15)


@pytest.mark.parametrize("loss", [TWO_PARAM, NON_POLY], ids=["two_param", "non_poly"])
def test_adam_eps_inside_from_the_manifold_start_has_slopes_r_plus_1(loss: sympy.Expr) -> None:
    slopes = _slopes(ADAM, loss, ADAM_HS, 2, "manifold")
    assert slopes == pytest.approx([1, 2, 3], abs=0.15)


@pytest.mark.parametrize("loss", [TWO_PARAM, NON_POLY], ids=["two_param", "non_poly"])
def test_zero_velocity_start_caps_every_slope_near_1(loss: sympy.Expr) -> None:
    """torch's zero buffer: the flows through h, h², h³ are no better than h⁰ (issue 9 §5)."""
    slopes = _slopes(HeavyBall(R(9, 10)), loss, MOMENTUM_HS, 3, "zero")
    assert slopes[0] == pytest.approx(1, abs=0.15)
    assert all(0.6 < s < 1.3 for s in slopes[1:]), slopes


def test_beta_one_half_allows_larger_steps() -> None:
    """At β = 1/2 the series' radius hλ < (1 - √β)² ≈ 0.086 is ~30x larger: h = 0.02..0.005 over T = 1."""
    report = memory_drift_check(HeavyBall(R(1, 2)), TWO_PARAM, [a, b], THETA0, (0.02, 0.01, 0.005),
                                truncations=(0, 1, 2, 3))
    assert [r.slope for r in report.truncations] == pytest.approx([1, 2, 3, 4], abs=0.15)


CLI = ["verify", "--loss", "(y - a*b*x)^2/2", "--params", "a", "b", "--subs", "x=1", "y=3/5", "--init", "a=1",
       "b=0.8", "--h", "4e-4", "2e-4", "1e-4", "--time", "0.2", "--truncations", "0", "1", "2", "--no-progress",
       "--format", "json"]


def test_cli_verify_heavy_ball_passes_from_the_manifold_and_fails_from_zero(capsys: pytest.CaptureFixture[str]) -> None:
    from bea.cli import main

    assert main([*CLI, "--method", "heavy_ball", "--hyper", "beta=9/10"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["method"] == "heavy_ball"
    assert [t["slope"] for t in data["truncations"]] == pytest.approx([1, 2, 3], abs=0.15)
    assert main([*CLI, "--method", "heavy_ball", "--hyper", "beta=9/10", "--start", "zero"]) == 1


@pytest.mark.parametrize(("extra", "text"), [(["--method", "heavy_ball"], "beta"),
                                             (["--method", "gd", "--hyper", "beta=1/2"], "no hyperparameters"),
                                             (["--method", "heavy_ball", "--hyper", "beta=1"], "beta")])
def test_cli_verify_bad_hyperparameters_exit_2(extra: list[str], text: str, capsys: pytest.CaptureFixture[str]) -> None:
    from bea.cli import main

    assert main([*CLI, *extra]) == 2
    err = capsys.readouterr().err
    assert text in err and len(err.strip().splitlines()) == 1
