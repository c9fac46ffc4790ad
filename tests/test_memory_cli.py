"""Optimisers with memory through the Method protocol and ``bea derive --method NAME --hyper ...``.

Expected values are the published first-order terms, written out here independently:
heavy-ball (Kovachki & Stuart, JMLR 2021; Ghosh et al., ICLR 2023)
θ' = −(1/(1−β)) ∇[E + h(1+β)/(4(1−β)²)‖∇E‖²] + O(h²), and Adam/RMSProp with ε inside the root at
leading order θ' = −g/√(g² + ε) (Cattaneo, Klusowski & Shigida, ICML 2024).
"""

from __future__ import annotations

import json

import pytest
import sympy

from bea import loss_derivative_form, modified_flow
from bea.cli import main
from bea.errors import BeaValueError, NotABSeriesMethodError
from bea.methods import Adam, HeavyBall, Method, Nesterov, Problem, RMSProp

a, b, h = sympy.symbols("a b h")
E = (sympy.Rational(3, 5) - a * b) ** 2 / 2


@pytest.mark.parametrize("method", [HeavyBall(beta=sympy.Rational(1, 2)), Nesterov(beta=sympy.Rational(1, 3)),
                                    RMSProp(), Adam()])
def test_memory_methods_implement_the_protocol(method: Method) -> None:
    assert isinstance(method, Method)
    with pytest.raises(NotABSeriesMethodError, match=method.name):
        method.bseries(3)
    with pytest.raises(NotABSeriesMethodError):
        loss_derivative_form(method, 1)  # type: ignore[arg-type]
    with pytest.raises(BeaValueError, match=method.name):
        method.modified_terms(Problem.parameters([a, b]), 1, h)


@pytest.mark.parametrize("beta", [sympy.Integer(0), sympy.Rational(1, 2), sympy.Rational(9, 10)])
def test_heavy_ball_through_modified_flow_is_the_published_first_order_term(beta: sympy.Rational) -> None:
    flow = modified_flow(E, [a, b], truncation=1, method=HeavyBall(beta=beta))
    g = sympy.Matrix([sympy.diff(E, p) for p in (a, b)])
    published = E + h * (1 + beta) / (4 * (1 - beta) ** 2) * (g.T * g)[0]
    want = [-sympy.diff(published, p) / (1 - beta) for p in (a, b)]
    got = flow.terms[0] + h * flow.terms[1]
    assert all(sympy.expand(got[i] - want[i]) == 0 for i in range(2))


def test_cli_heavy_ball_modified_loss(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["derive", "--method", "heavy_ball", "--hyper", "beta=9/10", "--loss", "(y - a*b*x)^2/2",
                   "--params", "a", "b", "--subs", "x=1", "y=3/5", "--format", "json"])
    data = json.loads(capsys.readouterr().out)
    assert status == 0 and data["method"] == "heavy_ball" and data["truncation"] == 1
    g2 = (a**2 + b**2) * (a * b - sympy.Rational(3, 5)) ** 2
    beta = sympy.Rational(9, 10)
    want = (E + h * (1 + beta) / (4 * (1 - beta) ** 2) * g2) / (1 - beta)
    difference = sympy.sympify(data["modified_loss"]["expr"], locals={"h": h}) - want
    assert all(sympy.expand(sympy.diff(difference, p)) == 0 for p in (a, b))  # a potential, up to a constant


def test_igr_quantities_are_refused_for_other_methods() -> None:
    flow = modified_flow(E, [a, b], truncation=1, method=HeavyBall(beta=sympy.Rational(1, 2)))
    with pytest.raises(BeaValueError, match="gradient descent"):
        flow.igr()
    gd = modified_flow(E, [a, b], truncation=1)
    assert gd.igr()["lambda"] == gd.h / 2


def test_cli_adam_eps_inside_leading_term(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["derive", "--method", "adam", "--hyper", "beta1=9/10", "beta2=999/1000", "eps=1/100",
                   "--eps-inside", "--loss", "a^2/2 + a^4/4", "--params", "a", "--format", "json"])
    data = json.loads(capsys.readouterr().out)
    g = a + a**3
    lead = sympy.sympify(data["terms"][0]["components"][0])
    assert status == 0
    for point in (sympy.Rational(1, 3), sympy.Rational(-2), sympy.Rational(7, 5)):
        assert sympy.simplify((lead + g / sympy.sqrt(g**2 + sympy.Rational(1, 100))).subs(a, point)) == 0


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--method", "adam", "--hyper", "gamma=1"], "no hyperparameter 'gamma'"),
        (["--method", "heavy_ball"], "needs --hyper beta="),
        (["--method", "heavy_ball", "--hyper", "beta=1"], "beta"),
        (["--method", "rmsprop", "--hyper", "eps=0"], "eps"),
        (["--method", "heavy_ball", "--hyper", "beta=1/2", "beta=1/3"], "twice"),
        (["--method", "heavy_ball", "--hyper", "beta"], "NAME=VALUE"),
        (["--method", "heavy_ball", "--hyper", "beta=1/2", "--eps-inside"], "--eps-inside"),
        (["--method", "rk4", "--hyper", "beta=1/2"], "no hyperparameters"),
        (["--hyper", "beta=1/2"], "no hyperparameters"),
    ],
)
def test_cli_bad_hyperparameters_exit_2_with_one_line(
    capsys: pytest.CaptureFixture[str], argv: list[str], fragment: str
) -> None:
    status = main(["derive", *argv, "--loss", "a^2/2 + a^4/4", "--params", "a"])
    captured = capsys.readouterr()
    assert status == 2 and captured.out == "" and fragment in captured.err
    assert len(captured.err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--method", "heavy_ball", "--hyper", "beta=1/2"], {"hyperparameters": {"beta": "1/2"}}),
        (["--method", "adam", "--hyper", "beta1=1/2", "beta2=3/4", "eps=1/10", "--eps-inside"],
         {"hyperparameters": {"beta1": "1/2", "beta2": "3/4", "eps": "1/10"}, "eps_inside": True}),
        ([], {"hyperparameters": {}}),
    ],
    ids=["heavy_ball", "adam", "gd"],
)
def test_verify_and_derive_record_the_same_hyperparameters(
    argv: list[str], expected: dict[str, object], capsys: pytest.CaptureFixture[str]
) -> None:
    """The drift report names the hyperparameters it ran with, by the names and in the exact form --hyper takes,
    as `bea derive` does (one record, bea.methods.hyper.hyperparameter_record)."""
    problem = ["--loss", "a^2/2 + a^4/4", "--params", "a"]
    assert main(["derive", *argv, *problem, "--truncation", "1", "--format", "json"]) == 0
    derived = json.loads(capsys.readouterr().out)
    assert main(["verify", *argv, *problem, "--init", "a=1/5", "--h", "0.02", "0.01", "--time", "0.2",
                 "--truncations", "0", "1", "--no-progress", "--format", "json"]) in (0, 1)
    checked = json.loads(capsys.readouterr().out)
    for record in (derived, checked):
        assert {k: record[k] for k in expected} == expected
        assert ("eps_inside" in record) == ("eps_inside" in expected)
    # the text report gives the line as --hyper takes it, so that it can be pasted back
    assert main(["verify", *argv, *problem, "--init", "a=1/5", "--h", "0.02", "0.01", "--time", "0.2",
                 "--truncations", "0", "--no-progress"]) in (0, 1)
    text = capsys.readouterr().out
    if expected["hyperparameters"]:
        line = next(x for x in text.splitlines() if x.startswith("hyperparameters "))
        pairs = dict(item.split("=") for item in line.split(" (")[0].split()[1:])
        assert pairs == expected["hyperparameters"]
    else:
        assert "hyperparameters" not in text
