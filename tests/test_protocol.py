"""The Method protocol (bea.methods.base): one protocol, method names everywhere, tree-only features."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import sympy

from bea import (
    Method,
    Problem,
    bseries,
    exact_solution,
    loss_derivative_form,
    methods,
    modified_equation,
    modified_flow,
    modified_vector_field,
    modifying_integrator,
)
from bea.errors import BeaTypeError, BeaValueError, InvalidLossError, NotABSeriesMethodError, UnknownMethodError
from bea.series import BSeries

a, b, x, y = sympy.symbols("a b x y")
h = sympy.Symbol("h", positive=True)
LOSS = (y - a * b * x) ** 2 / 2


@pytest.mark.parametrize("name", ["gd", "explicit_midpoint", "rk4", "implicit_euler"])
def test_names_are_accepted_everywhere(name: str) -> None:
    method = methods.by_name(name)
    assert modified_flow(LOSS, [a, b], truncation=2, method=name).terms == modified_flow(
        LOSS, [a, b], truncation=2, method=method
    ).terms
    assert modified_equation(name, 4) == modified_equation(method, 4)
    assert modifying_integrator(name, 3) == modifying_integrator(method, 3)
    assert bseries(name, 4) == method.bseries(4)
    assert str(loss_derivative_form(name, 2)) == str(loss_derivative_form(method, 2))
    assert loss_derivative_form(name, 1).method is method
    f = [x**2]
    assert modified_vector_field(name, f, [x], h, 3) == modified_vector_field(method, f, [x], h, 3)


def test_bad_methods_are_clear_errors() -> None:
    with pytest.raises(UnknownMethodError, match="'rk5'"):
        modified_flow(LOSS, [a, b], method="rk5")
    for bad in (3, None, exact_solution):
        with pytest.raises(BeaTypeError, match="method"):
            modified_flow(LOSS, [a, b], method=bad)  # type: ignore[arg-type]
    with pytest.raises(BeaTypeError):
        modified_equation(3, 2)  # type: ignore[arg-type]


@dataclass(frozen=True)
class ExactFlow:
    """A user's method with no B-series: the exact gradient flow (modified field = f, all corrections 0)."""

    name: str = "exact_flow"

    def modified_terms(
        self, problem: Problem, truncation: int, h: sympy.Symbol
    ) -> tuple[sympy.ImmutableMatrix, ...]:
        field = problem.require_field(self.name)
        zero = sympy.ImmutableMatrix.zeros(len(problem.params), 1)
        return (field,) + (zero,) * truncation

    def bseries(self, order: int) -> BSeries:
        raise NotABSeriesMethodError(f"{self.name} has no B-series here")


def test_any_method_of_the_protocol_goes_through_modified_flow() -> None:
    method = ExactFlow()
    assert isinstance(method, Method)
    flow = modified_flow(LOSS, [a, b], truncation=2, method=method)
    assert flow.method is method
    assert flow.terms[0] == sympy.ImmutableMatrix([sympy.diff(-LOSS, a), sympy.diff(-LOSS, b)])
    assert flow.terms[1].is_zero_matrix and flow.terms[2].is_zero_matrix
    assert sympy.expand(flow.modified_loss().expr - LOSS) == 0
    for tree_only in (lambda: loss_derivative_form(method, 1), lambda: modified_equation(method, 2),
                      lambda: bseries(method, 2)):
        with pytest.raises(NotABSeriesMethodError, match="exact_flow"):
            tree_only()


def test_a_method_returning_bad_terms_is_caught() -> None:
    @dataclass(frozen=True)
    class Broken:
        name: str = "broken"

        def modified_terms(self, problem: Problem, truncation: int, h: sympy.Symbol) -> tuple[object, ...]:
            return (sympy.ImmutableMatrix([1]),)

        def bseries(self, order: int) -> BSeries:
            raise NotABSeriesMethodError("none")

    with pytest.raises(BeaTypeError, match=r"broken\.modified_terms must return 2 columns of 2 entries"):
        modified_flow(LOSS, [a, b], truncation=1, method=Broken())


def test_problems() -> None:
    e1, e2 = (a - 1) ** 2, (a * b) ** 2
    mean = Problem.minibatches([e1, e2], [a, b])
    assert mean.loss == (e1 + e2) / 2
    assert mean.field == sympy.ImmutableMatrix([-sympy.diff((e1 + e2) / 2, p) for p in (a, b)])
    # a Runge--Kutta method on minibatches follows the mean loss: the same flow as on E itself
    assert modified_flow(mean, truncation=2).terms == modified_flow((e1 + e2) / 2, [a, b], truncation=2).terms
    game = Problem.game([([a], a * b), ([b], -a * b + b**2)])
    assert game.blocks == ((0,), (1,)) and game.loss is None
    assert game.field == sympy.ImmutableMatrix([-b, a - 2 * b])
    flow = modified_flow(game, truncation=1)
    assert flow.loss is None and flow.terms[0] == game.field
    assert "a game with losses" in str(flow) and flow.to_dict()["loss"] is None
    with pytest.raises(InvalidLossError, match="parameter b"):
        Problem.gradient(a**2, [a, b])
    with pytest.raises(BeaValueError, match="one loss per player"):
        Problem(params=(a, b), losses=(a,), blocks=((0,), (1,)))
    with pytest.raises(BeaValueError, match="split"):
        Problem(params=(a, b), losses=(a, b), blocks=((0,), (0,)))
    with pytest.raises(BeaValueError, match="has only parameters"):
        modified_flow(Problem.parameters([a]), method="gd")
    with pytest.raises(InvalidLossError, match="step-size symbol h"):
        modified_flow(Problem.gradient(a**2 * sympy.Symbol("h"), [a]))
    with pytest.raises(InvalidLossError, match="differ"):
        modified_flow(mean, [b, a])


def test_problem_is_immutable_and_picklable() -> None:
    import copy
    import pickle

    problem = Problem.minibatches([(a - 1) ** 2, (a * b) ** 2], [a, b])
    assert pickle.loads(pickle.dumps(problem)) == problem
    assert copy.deepcopy(problem) == problem
    with pytest.raises(AttributeError):
        problem.params = (a,)  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(methods.rk4)) == methods.rk4
