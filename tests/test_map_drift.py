"""Methods given by their updates (one-step maps, SGD epochs, games) follow their modified flows (issue 9 §5).

Independent routes: bea derives each flow by Lie-series matching of the symbolic step (bea.methods.maps,
bea.methods.games); numeric runs the method itself in torch (numeric.steppers.maps, stepped by hand-checkable
updates below) and integrates the truncated flows accurately. Backward error analysis predicts an error
O(h^{r+1}) at a fixed time for the flow through h^r, the flow being per unit time (an SGD epoch of m steps lasts
m·h), so the fitted slopes must be r + 1 ± 0.15.

Problems: the paper's two-parameter model E = ½(y − abx)² with one data point (x_k, y_k) per minibatch (or per
player), and a non-polynomial two-parameter loss built from cosines; both through h³ (truncations r = 0..3).
"""

from __future__ import annotations

import re
from typing import Any

import pytest

torch = pytest.importorskip("torch")

import sympy  # noqa: E402

from bea import Problem, modified_flow  # noqa: E402
from bea.errors import BeaValueError, InvalidStepSizeError  # noqa: E402
from bea.methods.games import GameGD  # noqa: E402
from bea.methods.maps import SGD, OneStepMap  # noqa: E402
from numeric.drift import drift_check  # noqa: E402
from numeric.errors import NumericTypeError  # noqa: E402
from numeric.steppers import GameStepper, MapStepper, SGDStepper, stepper_for  # noqa: E402

a, b, h = sympy.symbols("a b h")
R = sympy.Rational
F64 = torch.float64
THETA0 = {"a": 1.0, "b": 0.8}
HS = (0.02, 0.01, 0.005)
TWO_PARAM = [(R(3, 5) - a * b) ** 2 / 2, (1 - 2 * a * b) ** 2 / 2]  # (y_k - a b x_k)²/2, (x, y) = (1, 3/5), (2, 1)
NON_POLY = [sympy.cos(a * b) + (a**2 + b**2) / 4, sympy.cos(a - b) / 2 + (a**2 + b**2) / 4]
LOSSES = {"two_param": (TWO_PARAM, 3), "non_poly": (NON_POLY, 3)}  # losses, highest truncation checked


def _slopes(flow: Any, time: float = 0.4, **options: Any) -> list[float]:
    report = drift_check(flow, THETA0, HS, time=time, truncations=tuple(range(flow.truncation + 1)),
                         check_integration=False, **options)
    assert not report.diverged and all(e is not None for r in report.truncations for e in r.errors)
    assert report.method == flow.method.name
    return [float(r.slope) for r in report.truncations if r.slope is not None]


@pytest.fixture(scope="module", params=sorted(LOSSES))
def minibatches(request: pytest.FixtureRequest) -> tuple[Problem, int]:
    losses, top = LOSSES[request.param]
    return Problem.minibatches(losses, [a, b]), top


@pytest.mark.parametrize("shuffle", ["fixed", "random"])
def test_sgd_epoch_follows_its_flow(minibatches: tuple[Problem, int], shuffle: str) -> None:
    """One epoch in the given order, and the mean epoch of random reshuffling (m = 2): slopes r + 1."""
    problem, top = minibatches
    flow = modified_flow(problem, truncation=top, method=SGD(shuffle))
    assert _slopes(flow) == pytest.approx([r + 1 for r in range(top + 1)], abs=0.15)


def test_sgd_mean_map_of_three_minibatches() -> None:
    """Random reshuffling of m = 3 minibatches: the stepper averages the 3! epoch maps; bea's flow through h¹ is
    the closed form of Smith et al., beyond it the mean over the 3! orders, enumerated exactly."""
    losses = [(R(3, 5) - a * b) ** 2 / 2, (1 - 2 * a * b) ** 2 / 2, (R(1, 2) - a * b / 2) ** 2 / 2]
    flow = modified_flow(Problem.minibatches(losses, [a, b]), truncation=3, method=SGD("random"))
    assert _slopes(flow, time=0.3) == pytest.approx([1, 2, 3, 4], abs=0.15)


GAMES = {("two_param", False): 3, ("two_param", True): 3, ("non_poly", False): 3, ("non_poly", True): 3}


@pytest.mark.parametrize("alternating", [False, True], ids=["simultaneous", "alternating"])
@pytest.mark.parametrize("loss", sorted(LOSSES))
def test_game_follows_its_flow(loss: str, alternating: bool) -> None:
    """Player a descends L_0 with rate h, player b descends L_1 with rate h/2 (one round = one step)."""
    losses, top = LOSSES[loss][0], GAMES[(loss, alternating)]
    game = Problem.game([([a], losses[0]), ([b], losses[1])])
    flow = modified_flow(game, truncation=top, method=GameGD((1, R(1, 2)), alternating=alternating))
    assert _slopes(flow) == pytest.approx([r + 1 for r in range(top + 1)], abs=0.15)


USER_MAP = OneStepMap(  # a damped (semi-implicit) gradient step on the two-parameter model, not a Runge-Kutta method
    [a - h * b * (a * b - R(3, 5)) / (1 + h * b**2), b - h * a * (a * b - R(3, 5)) / (1 + h * a**2)], [a, b],
    name="damped_gd")


def test_user_map_follows_its_flow() -> None:
    flow = modified_flow(Problem.parameters([a, b]), truncation=3, method=USER_MAP)
    assert _slopes(flow, time=1.0) == pytest.approx([1, 2, 3, 4], abs=0.15)


def test_user_map_with_data_and_two_steps() -> None:
    """Data symbols bound by subs; a map standing for 2 steps runs T/(2h) times (flow per unit time)."""
    x = sympy.Symbol("x")
    twice = OneStepMap([a - 2 * h * x * b * (a * b - R(3, 5)), b - 2 * h * x * a * (a * b - R(3, 5))], [a, b],
                       name="double_step", steps=2)
    flow = modified_flow(Problem.parameters([a, b]), truncation=1, method=twice)
    assert _slopes(flow, subs={x: 1}) == pytest.approx([1, 2], abs=0.15)
    with pytest.raises(InvalidStepSizeError, match=re.escape("one step of double_step lasts 2*h = 0.04")):
        drift_check(flow, THETA0, (0.02, 0.01), time=0.42, subs={x: 1})


# --- the steppers themselves, against updates written out here -----------------------------------------------


def _losses_torch() -> list[Any]:
    return [lambda t: (0.6 - t[0] * t[1]) ** 2 / 2, lambda t: (1 - 2 * t[0] * t[1]) ** 2 / 2]


def _grads(t: torch.Tensor) -> list[torch.Tensor]:
    r1, r2 = t[0] * t[1] - 0.6, 2 * t[0] * t[1] - 1
    return [torch.stack([t[1] * r1, t[0] * r1]), torch.stack([2 * t[1] * r2, 2 * t[0] * r2])]


def _epoch(t: torch.Tensor, hh: float, order: list[int]) -> torch.Tensor:
    for k in order:
        t = t - hh * _grads(t)[k]
    return t


def test_sgd_stepper_orders() -> None:
    theta0 = torch.tensor([1.0, 0.8], dtype=F64)
    fixed = SGDStepper(_losses_torch(), "fixed")
    assert fixed.total_steps == 2 and fixed.name == "sgd_fixed"
    torch.testing.assert_close(fixed.step(fixed.init(theta0), 0.1).theta, _epoch(theta0, 0.1, [0, 1]),
                               rtol=0, atol=1e-15)
    mean = stepper_for(SGD("random"), _losses_torch())  # the mean over both orders: the map the flow describes
    expected = (_epoch(theta0, 0.1, [0, 1]) + _epoch(theta0, 0.1, [1, 0])) / 2
    torch.testing.assert_close(mean.step(mean.init(theta0), 0.1).theta, expected, rtol=0, atol=1e-15)
    sampled = stepper_for(SGD("random"), _losses_torch(), seed=3)
    state, seen = sampled.init(theta0), set()
    for _ in range(12):  # each epoch is one of the two orders; both occur
        new = sampled.step(state, 0.1)
        options = {(0, 1): _epoch(state.theta, 0.1, [0, 1]), (1, 0): _epoch(state.theta, 0.1, [1, 0])}
        match = [k for k, v in options.items() if torch.allclose(new.theta, v, rtol=0, atol=1e-15)]
        assert len(match) == 1
        seen.add(match[0])
        state = new
    assert seen == {(0, 1), (1, 0)}
    again = sampled.init(theta0)  # the same seed replays the same orders
    for _ in range(12):
        again = sampled.step(again, 0.1)
    torch.testing.assert_close(again.theta, state.theta, rtol=0, atol=0)


def test_compiled_and_torch_problems_agree() -> None:
    """stepper_for on the bea Problem (compiled) equals the stepper on torch loss closures (autograd)."""
    theta0 = torch.tensor([1.0, 0.8], dtype=F64)
    x = sympy.Symbol("x")
    compiled = stepper_for(SGD("fixed"), Problem.minibatches([(R(3, 5) - a * b) ** 2 / 2, (1 - x * a * b) ** 2 / 2],
                                                            [a, b]), subs={x: 2})
    by_autograd = stepper_for(SGD("fixed"), _losses_torch())
    s1, s2 = compiled.init(theta0), by_autograd.init(theta0)
    for _ in range(5):
        s1, s2 = compiled.step(s1, 0.05), by_autograd.step(s2, 0.05)
    torch.testing.assert_close(s1.theta, s2.theta, rtol=0, atol=1e-14)
    game = GameGD((1, R(1, 2)), alternating=True)
    compiled_game = stepper_for(game, Problem.game([([a], TWO_PARAM[0]), ([b], TWO_PARAM[1])]))
    torch_game = stepper_for(game, [((0,), _losses_torch()[0]), ((1,), _losses_torch()[1])])
    assert isinstance(torch_game, GameStepper) and torch_game.name == "alternating_gd"
    g1, g2 = compiled_game.init(theta0), torch_game.init(theta0)
    t = theta0.clone()
    for _ in range(5):
        g1, g2 = compiled_game.step(g1, 0.05), torch_game.step(g2, 0.05)
        t = torch.stack([t[0] - 0.05 * _grads(t)[0][0], t[1]])  # player a first ...
        t = torch.stack([t[0], t[1] - 0.025 * _grads(t)[1][1]])  # ... then b sees a's update, rate h/2
    torch.testing.assert_close(g1.theta, t, rtol=0, atol=1e-14)
    torch.testing.assert_close(g2.theta, t, rtol=0, atol=1e-14)


def test_simultaneous_game_and_map_steppers() -> None:
    theta0 = torch.tensor([1.0, 0.8], dtype=F64)
    sim = stepper_for(GameGD((1, R(1, 2))), [((0,), _losses_torch()[0]), ((1,), _losses_torch()[1])])
    g = _grads(theta0)
    torch.testing.assert_close(sim.step(sim.init(theta0), 0.1).theta,
                               torch.stack([1.0 - 0.1 * g[0][0], 0.8 - 0.05 * g[1][1]]), rtol=0, atol=1e-15)
    step = MapStepper(USER_MAP)
    one = step.step(step.init(theta0), 0.1).theta
    r = 1.0 * 0.8 - 0.6
    torch.testing.assert_close(one, torch.tensor([1 - 0.1 * 0.8 * r / (1 + 0.1 * 0.64), 0.8 - 0.1 * r / 1.1],
                                                 dtype=F64), rtol=0, atol=1e-15)
    composed = stepper_for(USER_MAP.then(USER_MAP), None)
    assert composed.total_steps == 2
    torch.testing.assert_close(composed.step(composed.init(theta0), 0.1).theta,
                               step.step(step.init(one), 0.1).theta, rtol=0, atol=1e-15)


def test_bad_input() -> None:
    with pytest.raises(BeaValueError, match="at least two minibatch losses, got 1"):
        SGDStepper(_losses_torch()[:1])
    with pytest.raises(NumericTypeError, match="integer seed"):
        SGDStepper(_losses_torch(), "random")
    with pytest.raises(NumericTypeError, match="seed applies to SGD\\('random'\\)"):
        stepper_for(SGD("fixed"), _losses_torch(), seed=1)
    with pytest.raises(BeaValueError, match="shuffle must be one of fixed, random, mean, got 'sorted'"):
        SGDStepper(_losses_torch(), "sorted")
    with pytest.raises(NumericTypeError, match="rate of player 0 is alpha"):
        stepper_for(GameGD((sympy.Symbol("alpha"), 1)), [((0,), _losses_torch()[0]), ((1,), _losses_torch()[1])])
    with pytest.raises(BeaValueError, match="must split"):
        GameStepper((((0,), _losses_torch()[0]), ((0,), _losses_torch()[1])), (1.0, 1.0))
    with pytest.raises(NumericTypeError, match="carries its own update"):
        stepper_for(USER_MAP, _losses_torch())
    with pytest.raises(NumericTypeError, match="takes no option tol"):
        stepper_for(USER_MAP, None, tol=1e-3)


# --- bea verify --method sgd / --map --------------------------------------------------------------------------

BASE = ["verify", "--params", "a", "b", "--init", "a=1", "b=0.8", "--h", "0.02", "0.01", "0.005", "--time", "0.4",
        "--no-progress"]


def test_cli_verify_sgd_and_map(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from bea.cli import main

    sgd = [*BASE, "--method", "sgd", "--loss", "(3/5 - a*b)^2/2", "--loss", "(1 - x*a*b)^2/2", "--subs", "x=2",
           "--shuffle", "fixed", "--truncations", "0", "1", "2", "--format", "json"]
    assert main(sgd) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["method"] == "sgd_fixed"
    assert [round(t["slope"], 1) for t in data["truncations"]] == [1.0, 2.0, 3.0]
    # gradient descent written as a --map (bea derive --map's syntax) against --loss with GD: the same flow by two
    # derivations (Lie series of the map, trees of explicit Euler) and the same steps, so the same errors
    gd_map = ["a - h*(-b)*(3/5 - a*b)", "b - h*(-a)*(3/5 - a*b)"]
    assert main([*BASE, "--map", *gd_map, "--truncations", "0", "1", "2", "--format", "json"]) == 0
    as_map = json.loads(capsys.readouterr().out)
    assert main([*BASE, "--loss", "(3/5 - a*b)^2/2", "--truncations", "0", "1", "2", "--format", "json"]) == 0
    as_loss = json.loads(capsys.readouterr().out)
    assert as_map["method"] == "map" and as_loss["method"] == "explicit_euler"
    for t_map, t_loss in zip(as_map["truncations"], as_loss["truncations"], strict=True):
        assert t_map["errors"] == pytest.approx(t_loss["errors"], rel=1e-6)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--method", "sgd", "--loss", "(a*b - 1)^2/2"], "at least two minibatch losses"),
        (["--loss", "(a*b - 1)^2/2", "--shuffle", "fixed"], "--shuffle applies to --method sgd"),
        (["--method", "sgd", "--loss", "(a*b - 1)^2/2", "--loss", "(a - b)^2/2", "--time", "0.5"],
         "not a positive integer multiple"),
        (["--map", "a - h*b"], "1 expression for 2 parameters"),
        (["--map", "a + 1", "b"], "not near the identity"),
        (["--map", "a - h*b*y", "b"], "data symbols \\['y'\\]"),
        (["--map", "a - h*b", "b", "--method", "rk4"], "takes no --loss, --method"),
        ([], "needs --loss"),
    ],
)
def test_cli_verify_bad_input(extra: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    from bea.cli import main

    argv = [*BASE, *extra]
    if "--time" in extra:
        argv = [*BASE[:BASE.index("--time")], *BASE[BASE.index("--time") + 2:], *extra]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and re.search(message, err), err


def test_drift_check_starts_methods_with_memory_on_their_slow_manifold() -> None:
    """drift_check(flow of heavy-ball) is memory_drift_check from the manifold start (slopes r + 1), not a run from
    torch's zero start (which would cap the slopes near 1)."""
    from bea.methods import HeavyBall
    from numeric.memory_drift import memory_drift_check

    loss = (R(3, 5) - a * b) ** 2 / 2
    flow = modified_flow(loss, [a, b], truncation=1, method=HeavyBall(R(1, 2)))
    report = drift_check(flow, [1.0, 0.8], HS, truncations=(0, 1))
    assert report.method == "heavy_ball"
    assert [r.slope for r in report.truncations] == pytest.approx([1, 2], abs=0.15)
    direct = memory_drift_check(HeavyBall(R(1, 2)), loss, [a, b], (1.0, 0.8), HS, truncations=(0, 1), flow=flow)
    assert [r.errors for r in report.truncations] == [r.errors for r in direct.truncations]
    with pytest.raises(NumericTypeError, match="needs its ModifiedFlow"):
        drift_check(flow, [1.0, 0.8], HS, truncations=(0, 1), step_field=lambda t: (t**2).sum())
