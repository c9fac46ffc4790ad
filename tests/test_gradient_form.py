"""The loss-derivative form (g, H, T, D^kE) against modified flows of concrete losses.

The printed contractions are evaluated here by a small interpreter written from their notation
alone (``H²T[Hg, g]`` = H H T(Hg, g), ``D⁴E[u, v, w]`` = the fourth derivative array contracted
with u, v, w), on the derivative arrays of a concrete loss at an exact point, and compared with
``bea.modified_flow`` (itself checked against direct Lie-series matching in test_flows.py).
"""

from __future__ import annotations

import json

import pytest
import sympy

from bea import methods
from bea.cli import main
from bea.flows import modified_flow
from bea.gradient_form import loss_derivative_form

a, b = sympy.symbols("a b")
PARAMS = [a, b]
POINT = {a: sympy.Rational(2, 3), b: sympy.Rational(-5, 4)}
SUPERSCRIPT = {c: str(i) for i, c in enumerate("⁰¹²³⁴⁵⁶⁷⁸⁹")}


class _Evaluator:
    """Evaluates contraction strings on the derivative arrays of E at POINT."""

    def __init__(self, loss: sympy.Expr, degree: int) -> None:
        self.arrays = {1: sympy.Array([sympy.diff(loss, p) for p in PARAMS]).subs(POINT)}
        current = sympy.Array([sympy.diff(loss, p) for p in PARAMS])
        for k in range(2, degree + 1):
            current = sympy.derive_by_array(current, PARAMS)
            self.arrays[k] = current.subs(POINT)

    def tensor(self, k: int, args: list[sympy.Matrix]) -> sympy.Matrix:
        """D^kE[args] (k - 1 arguments): a vector."""
        array = self.arrays[k]
        m = len(PARAMS)
        out = []
        for i in range(m):
            total = sympy.Integer(0)
            for index in _indices(m, len(args)):
                weight = sympy.Integer(1)
                for arg, j in zip(args, index, strict=True):
                    weight *= arg[j]
                total += array[(i, *index)] * weight
            out.append(total)
        return sympy.Matrix(out)

    def __call__(self, text: str) -> sympy.Matrix:
        text = text.strip()
        if text.startswith("H"):  # H, H², H³ ... applied to the rest
            rest, power = text[1:], ""
            while rest and rest[0] in SUPERSCRIPT:
                power, rest = power + SUPERSCRIPT[rest[0]], rest[1:]
            hessian = sympy.Matrix(2, 2, lambda i, j: self.arrays[2][i, j])
            return hessian ** int(power or 1) * self(rest)
        if text == "g":
            return sympy.Matrix(list(self.arrays[1]))
        if text.startswith("T["):
            return self.tensor(3, [self(arg) for arg in _split(text[2:-1])])
        assert text.startswith("D"), text
        head, _, inner = text.partition("[")
        k = int("".join(SUPERSCRIPT[c] for c in head[1:-1]))
        return self.tensor(k, [self(arg) for arg in _split(inner[:-1])])


def _indices(m: int, n: int) -> list[tuple[int, ...]]:
    if n == 0:
        return [()]
    return [(j, *rest) for j in range(m) for rest in _indices(m, n - 1)]


def _split(text: str) -> list[str]:
    """Top-level comma-separated arguments."""
    parts, depth, start = [], 0, 0
    for i, c in enumerate(text):
        depth += c == "["
        depth -= c == "]"
        if c == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    return [*parts, text[start:]]


@pytest.mark.parametrize(
    "method,order",
    [(methods.explicit_euler, 4), (methods.explicit_midpoint, 4), (methods.implicit_euler, 3), (methods.rk4, 5)],
    ids=lambda x: getattr(x, "name", str(x)),
)
def test_form_evaluated_on_a_concrete_loss_matches_modified_flow(method, order) -> None:  # type: ignore[no-untyped-def]
    loss = a**6 / 6 - a**3 * b**2 + 2 * a * b**4 + b**5 / 5 + a**2 * b - 3 * a * b + b**2
    evaluate = _Evaluator(loss, order + 2)
    form = loss_derivative_form(method, order).to_dict()
    flow = modified_flow(loss, PARAMS, truncation=order, method=method)
    assert len(form["powers"]) == order + 1
    for k, entries in enumerate(form["powers"]):
        total = sympy.zeros(2, 1)
        for entry in entries:
            total += sympy.Rational(entry["coefficient"]) * evaluate(entry["contraction"])
        assert total == flow.terms[k].subs(POINT), (k, entries)


def test_gradient_descent_through_h3_as_printed() -> None:
    text = str(loss_derivative_form(methods.explicit_euler, 3))
    assert text.startswith("-g - 1/2 h Hg - h² (1/3 H²g + 1/12 T[g, g]) - h³ (")
    # a second-order method has no h term
    assert " h " not in str(loss_derivative_form(methods.explicit_midpoint, 1)).replace("h²", "")


def test_cli_derive_without_loss(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["derive", "--truncation", "2"]) == 0
    assert "-g - 1/2 h Hg - h² (1/3 H²g + 1/12 T[g, g])" in capsys.readouterr().out
    assert main(["derive", "--truncation", "2", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["powers"][1] == [{"levels": [1, 2], "coefficient": "-1/2", "contraction": "Hg"}]
    assert main(["derive", "--params", "a"]) == 2
