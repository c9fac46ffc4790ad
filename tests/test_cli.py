"""The ``bea`` command line, run in-process: output formats and bad input."""

from __future__ import annotations

import json

import pytest
import sympy
from brute_force import brute_density, brute_symmetry

from bea.cli import main

A000081 = [1, 1, 2, 4, 9, 20, 48]  # OEIS A000081








def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


# --- trees ------------------------------------------------------------------------------------------


def test_trees_text(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "trees", "4")
    assert status == 0 and err == ""
    for levels in ("[1, 2, 3, 4]", "[1, 2, 3, 3]", "[1, 2, 3, 2]", "[1, 2, 2, 2]"):
        assert out.count(levels) == 1
    assert "4 trees" in out
    assert "[1, 2, 2, 3]" not in out  # not canonical


def test_trees_json(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "trees", "4", "--format", "json")
    assert status == 0 and err == ""
    data = json.loads(out)
    assert data["count"] == 4 and len(data["trees"]) == 4
    assert {tuple(row["levels"]) for row in data["trees"]} == {(1, 2, 3, 4), (1, 2, 3, 3), (1, 2, 3, 2), (1, 2, 2, 2)}
    for row in data["trees"]:
        assert row["symmetry"] == brute_symmetry(row["levels"])
        assert row["density"] == brute_density(row["levels"])


@pytest.mark.parametrize("n", [1, 5, 7])
def test_trees_json_counts(capsys: pytest.CaptureFixture[str], n: int) -> None:
    status, out, _ = run(capsys, "trees", str(n), "--format", "json")
    assert status == 0
    data = json.loads(out)
    assert data["count"] == A000081[n - 1] == len({tuple(r["levels"]) for r in data["trees"]})


def test_trees_latex(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "trees", "3", "--format", "latex")
    assert status == 0 and r"\bullet" in out


# --- modified-equation ----------------------------------------------------------------------------------


def test_modified_equation_rk4_json(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "modified-equation", "--method", "rk4", "--order", "6", "--format", "json")
    assert status == 0 and err == ""
    data = json.loads(out)
    assert data["kind"] == "vector_field"
    assert data["order"] == 6
    assert len(data["coefficients"]) == sum(A000081[:6]) == 37
    by_levels = {tuple(row["levels"]): sympy.Rational(row["coefficient"]) for row in data["coefficients"]}
    assert by_levels[(1,)] == 1
    assert next(r for r in data["coefficients"] if r["levels"] == [1])["coefficient"] == "1"
    # an order-4 method: its modified field equals f through h^3
    for levels, value in by_levels.items():
        if 2 <= len(levels) <= 4:
            assert value == 0, levels
    # ... and its h^4 term is the local error: b(τ) = Φ(τ) - 1/γ(τ); Φ(tall_5) = 0 for 4 explicit stages
    assert by_levels[(1, 2, 3, 4, 5)] == sympy.Rational(-1, 120)
    assert any(by_levels[lv] != 0 for lv in by_levels if len(lv) == 5)


def test_modified_equation_euler_text(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "modified-equation", "--method", "gd", "--order", "3")
    assert status == 0
    assert "explicit_euler" in out
    assert "-1/2" in out and "1/3" in out and "1/6" in out


def test_modified_equation_latex(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["modified-equation", "--method", "explicit_midpoint", "--order", "4", "--format", "latex"]
    status, out, _ = run(capsys, *argv)
    assert status == 0 and r"\bullet" in out


# --- bad input ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "shown"),
    [
        (["modified-equation", "--method", "nope"], "nope"),
        (["modified-equation", "--order", "0"], "0"),
        (["modified-equation", "--order", "x"], "x"),
        (["modified-equation", "--order", "-2"], "-2"),
        (["trees", "0"], "0"),
        (["trees", "2.5"], "2.5"),
        (["trees"], "N"),
        (["trees", "3", "--format", "xml"], "xml"),
        (["frobnicate"], "frobnicate"),
        ([], "command"),
    ],
)
def test_bad_input(capsys: pytest.CaptureFixture[str], argv: list[str], shown: str) -> None:
    status, out, err = run(capsys, *argv)
    assert status == 2
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("bea: error:")
    assert shown in lines[0]
    assert "Traceback" not in err


# --- expressions that begin with a minus sign ---------------------------------------------------------


@pytest.mark.parametrize(
    ("leading_minus", "written_otherwise"),
    [
        (["derive", "--loss", "-cos(a)", "--params", "a", "--truncation", "2"],
         ["derive", "--loss", "0 - cos(a)", "--params", "a", "--truncation", "2"]),
        (["derive", "--method", "sgd", "--loss", "(a-1)^2/2", "--loss", "-a*b", "--params", "a", "b",
          "--shuffle", "fixed"],
         ["derive", "--method", "sgd", "--loss", "(a-1)^2/2", "--loss", "0 - a*b", "--params", "a", "b",
          "--shuffle", "fixed"]),
        (["derive", "--map", "-h*a + a", "--params", "a"], ["derive", "--map", "a - h*a", "--params", "a"]),
        (["modified-hamiltonian", "--method", "implicit_midpoint", "--hamiltonian", "-cos(q) + p^2/2", "--q", "q",
          "--p", "p", "--truncation", "2"],
         ["modified-hamiltonian", "--method", "implicit_midpoint", "--hamiltonian", "p^2/2 - cos(q)", "--q", "q",
          "--p", "p", "--truncation", "2"]),
    ],
)
def test_every_expression_option_takes_a_leading_minus(
    capsys: pytest.CaptureFixture[str], leading_minus: list[str], written_otherwise: list[str]
) -> None:
    # argparse would read "-cos(a)" as an unknown option (exit 2); bea.cli.args.EXPRESSION_OPTIONS protects
    # every option whose value is an expression, and the result equals the same expression written without one.
    status, out, err = run(capsys, *leading_minus, "--format", "json")
    assert (status, err) == (0, "")
    status_other, out_other, _ = run(capsys, *written_otherwise, "--format", "json")
    assert status_other == 0
    assert json.loads(out) == json.loads(out_other)


def test_a_single_valued_expression_option_protects_one_value_only(capsys: pytest.CaptureFixture[str]) -> None:
    # after --loss VALUE, a further "-..." token is an option again (here an unknown one: exit 2, one line)
    status, _, err = run(capsys, "derive", "--loss", "a^2", "-x", "--params", "a")
    assert status == 2 and err.count("\n") == 1 and "-x" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["derive", "--method", "heavy_ball", "--hyper", "beta=1/2", "--hyper", "beta=1/3", "--loss", "a^2",
         "--params", "a"],
        ["derive", "--loss", "a*b", "--params", "a", "--params", "b"],
        ["derive", "--loss", "a*x", "--params", "a", "--subs", "x=1", "--subs", "x=2"],
        ["modified-hamiltonian", "--method", "leapfrog", "--hamiltonian", "p^2/2 + m*q^2/2", "--q", "q", "--p", "p",
         "--subs", "m=1", "--subs", "m=2"],
    ],
)
def test_an_option_with_several_values_given_twice_is_refused(
    capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    # argparse would keep the last occurrence silently (beta = 1/3 above); bea.cli.args.Once refuses it
    status, out, err = run(capsys, *argv)
    assert status == 2 and out == "" and err.count("\n") == 1 and "given twice" in err
