"""One-stage tableaux take an integer fast path for their elementary weights (bea.modified, issue 13 row 5).

Independent routes: the closed form Phi(t) = b a^(|t| - 1) of the one-stage tableau (a | b) (every node but
the root carries one factor a; Hairer--Lubich--Wanner, Definition III.1.8), and the same method written as a
reducible two-stage tableau (a second stage of weight 0), which runs the general multi-stage path.
"""

from __future__ import annotations

import pytest
import sympy

from bea import BSeries, modified_equation, trees_up_to
from bea.methods import RungeKutta
from bea.structure import order_of_symplecticity

R = sympy.Rational


@pytest.mark.parametrize(("a", "b"), [(R(1, 2), 1), (R(2, 3), 1), (0, 1), (1, 1), (R(-3, 5), 1)])
def test_one_stage_modified_equation_is_that_of_the_closed_form(a: sympy.Rational, b: sympy.Rational) -> None:
    """The map series given by the closed form runs the series path (no tableau): the same modified field."""
    closed = BSeries({t: b * a ** (t.order - 1) for t in trees_up_to(8)}, 8, empty=1)
    method = RungeKutta([[a]], [b])
    assert modified_equation(method, 8) == modified_equation(closed, 8)
    assert order_of_symplecticity(method, 8) == order_of_symplecticity(closed, 8)


@pytest.mark.parametrize(("a", "b"), [(R(1, 2), 1), (R(1, 3), 1)])
def test_one_stage_equals_its_reducible_two_stage_form(a: sympy.Rational, b: sympy.Rational) -> None:
    one = RungeKutta([[a]], [b])
    two = RungeKutta([[a, 0], [R(1, 5), 0]], [b, 0])  # the second stage has weight 0: the same map
    assert modified_equation(one, 7) == modified_equation(two, 7)
    assert order_of_symplecticity(one, 8) == order_of_symplecticity(two, 8)
