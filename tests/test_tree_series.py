"""B-series and P-series share one implementation (bea.tree_series): the same rules for both kinds of tree.

Before, the two classes were written twice and had drifted: a P-series took an infinite coefficient that a
B-series refused, and bicoloured trees refused a numpy or SymPy integer order that rooted trees took.
Every rule here is checked on both kinds, with values from closed forms (γ, the exact flow) rather than from
the code under test.
"""

from __future__ import annotations

import copy
import pickle
from fractions import Fraction

import numpy as np
import pytest
import sympy

from bea import BSeries, Tree, bseries, exact_solution, methods, modified_equation, trees
from bea.bicoloured import BLACK, WHITE, BicolouredTree, bicoloured_trees, count_bicoloured_trees
from bea.errors import BeaTypeError, InvalidOrderError, SeriesError
from bea.pseries import PSeries, pseries
from bea.pseries import compose as p_compose
from bea.pseries import exact_solution as p_exact_solution
from bea.pseries import substitute as p_substitute
from bea.series import compose, substitute

LEAF = Tree.leaf()
Q, P = BicolouredTree.leaf(BLACK), BicolouredTree.leaf(WHITE)


@pytest.mark.parametrize("make", [lambda v: BSeries({LEAF: v}, 1), lambda v: PSeries({Q: v}, 1)],
                         ids=["B-series", "P-series"])
@pytest.mark.parametrize("value", [sympy.oo, -sympy.oo, sympy.nan, sympy.zoo])
def test_both_kinds_refuse_infinite_coefficients(make: object, value: sympy.Expr) -> None:
    with pytest.raises(SeriesError, match="coefficient"):
        make(value)  # type: ignore[operator]


@pytest.mark.parametrize("make", [lambda v: BSeries({LEAF: v}, 1), lambda v: PSeries({Q: v}, 1)],
                         ids=["B-series", "P-series"])
@pytest.mark.parametrize("value", [0.5, "1/2", None])
def test_both_kinds_refuse_inexact_coefficients(make: object, value: object) -> None:
    with pytest.raises(BeaTypeError, match="exact"):
        make(value)  # type: ignore[operator]


@pytest.mark.parametrize("order", [3, np.int64(3), sympy.Integer(3)])
def test_integral_orders_of_any_type_are_taken_by_both_kinds(order: object) -> None:
    # counts: A000081 (1, 1, 2) and bicoloured trees 2, 4, 14 (HLW Table III.2.1: 2, 4, 14, 52)
    assert len(list(trees(order))) == 2  # type: ignore[arg-type]
    assert len(list(bicoloured_trees(order))) == count_bicoloured_trees(3) == 14  # type: ignore[arg-type]
    assert len(BSeries({}, order)) == 1 + 1 + 2  # type: ignore[arg-type]
    assert len(PSeries({}, order)) == 2 + 4 + 14  # type: ignore[arg-type]
    assert exact_solution(order).truncate(order) == exact_solution(3)  # type: ignore[arg-type]
    assert p_exact_solution(order).truncate(order) == p_exact_solution(3)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [0, -1, 2.0, True, Fraction(3, 1), "3"])
def test_bad_orders_raise_the_same_error_for_both_kinds(bad: object) -> None:
    calls = [lambda: list(trees(bad)), lambda: list(bicoloured_trees(bad)), lambda: BSeries({}, bad),
             lambda: PSeries({}, bad), lambda: exact_solution(bad), lambda: p_exact_solution(bad),
             lambda: exact_solution(3).truncate(bad),
             lambda: p_exact_solution(3).truncate(bad), lambda: bseries(methods.explicit_midpoint, bad),
             lambda: pseries(methods.stormer_verlet, bad)]
    for call in calls:
        with pytest.raises(InvalidOrderError, match=r"order|n "):
            call()  # type: ignore[no-untyped-call]


def test_exact_flow_coefficients_are_one_over_density_for_both_kinds() -> None:
    b, p = exact_solution(4), p_exact_solution(4)
    assert all(v == sympy.Rational(1, t.density) for t, v in b.items())
    assert all(v == sympy.Rational(1, t.density) for t, v in p.items())
    # two steps of size h of the exact flow are one step of size 2h: 2^|τ|/γ(τ) (HLW Theorem III.1.10)
    for series, comp in ((b, compose), (p, p_compose)):
        doubled = comp(series, series)  # type: ignore[operator]
        assert all(v == sympy.Rational(2**t.order, t.density) for t, v in doubled.items())


def test_substitution_inverts_the_modified_equation_for_both_kinds() -> None:
    # Chartier--Hairer--Vilmart 2010: b ⋆ e = a for the modified field b of a
    from bea.pseries import modified_equation as p_modified_equation

    a = bseries(methods.explicit_midpoint, 5)
    assert substitute(modified_equation(a, 5), exact_solution(5)) == a
    pa = pseries(methods.symplectic_euler, 4)
    assert p_substitute(p_modified_equation(pa, 4), p_exact_solution(4)) == pa


@pytest.mark.parametrize("series", [exact_solution(4), p_exact_solution(3)], ids=["B-series", "P-series"])
def test_pickle_copy_and_immutability(series: BSeries | PSeries) -> None:
    again = pickle.loads(pickle.dumps(series))
    assert type(again) is type(series) and again == series and again.order == series.order
    assert dict(again.items()) == dict(series.items())
    assert copy.deepcopy(series) is series and copy.copy(series) is series
    with pytest.raises(AttributeError, match="immutable"):
        series.order = 2  # type: ignore[misc]
    with pytest.raises(AttributeError, match="immutable"):
        del series._coeffs
    with pytest.raises(TypeError, match="unhashable"):
        hash(series)


def test_algebra_stays_within_one_kind() -> None:
    b, p = exact_solution(2), p_exact_solution(2)
    for left, right in ((b, p), (p, b)):
        with pytest.raises(TypeError):
            left + right  # type: ignore[operator]
        with pytest.raises(TypeError):
            left - right  # type: ignore[operator]
        assert (left == right) is False
    with pytest.raises(BeaTypeError, match="expected a BSeries"):
        compose(b, p)  # type: ignore[arg-type]
    with pytest.raises(BeaTypeError, match="expected a PSeries"):
        p_substitute(b, p)  # type: ignore[arg-type]
    with pytest.raises(SeriesError, match="product of two B-series"):
        b * b
    with pytest.raises(SeriesError, match="product of two P-series"):
        p * p
    # the scalar algebra, checked against 1/γ
    half = sympy.Rational(1, 2)
    assert all(v == half / t.density for t, v in (b * half).items())
    assert all(v == -half / t.density for t, v in (half * p - p).items())
    assert (b - b) == BSeries({}, 2, 0) and (p - p) == PSeries({}, 2, 0)


def test_keys_of_the_other_kind_are_refused_by_name() -> None:
    with pytest.raises(BeaTypeError, match="B-series keys must be Trees"):
        BSeries({Q: 1}, 1)
    with pytest.raises(BeaTypeError, match="P-series keys must be BicolouredTrees"):
        PSeries({LEAF: 1}, 1)
    assert Q not in exact_solution(2) and LEAF not in p_exact_solution(2)
    with pytest.raises(KeyError, match="nodes"):
        exact_solution(1)[Tree.from_levels([1, 2])]
    with pytest.raises(KeyError, match="nodes"):
        p_exact_solution(1)[BicolouredTree.from_children(BLACK, [P])]


@pytest.mark.parametrize(
    "call",
    [lambda: BSeries({LEAF: 1}, 10**6), lambda: exact_solution(19), lambda: list(trees(19)),
     lambda: modified_equation(methods.rk4, 40), lambda: bseries(methods.explicit_midpoint, 25),
     lambda: exact_solution(18).truncate(19), lambda: PSeries({}, 13), lambda: p_exact_solution(13),
     lambda: list(bicoloured_trees(13)), lambda: pseries(methods.stormer_verlet, 30)],
)
def test_an_order_beyond_what_fits_in_memory_is_refused_before_any_work(call: object) -> None:
    # a user's BSeries({leaf: 1}, 10**6) was killed by the out-of-memory killer: every tree up to the order is
    # built. The bounds are A000081(18) = 35 221 832 rooted and A038055(12) = 10 503 612 bicoloured trees.
    with pytest.raises(InvalidOrderError, match=r"is above 1[28], the most nodes"):
        call()  # type: ignore[operator]


def test_counting_is_not_bounded_by_what_can_be_built() -> None:
    from bea import count_trees

    # OEIS A000081(30) and A038055(20)
    assert count_trees(30) == 354_426_847_597
    assert count_bicoloured_trees(20) == 5_043_220_350_012


@pytest.mark.parametrize("integer", [np.int64, np.int32, sympy.Integer, int])
def test_integral_colours_and_levels_of_any_type(integer: type) -> None:
    # orders of any integral type were taken, but a numpy colour failed with a bare AssertionError
    assert BicolouredTree.leaf(integer(1)) == P
    assert BicolouredTree.from_levels([integer(1), integer(2)], [integer(0), integer(1)]) == \
        BicolouredTree.from_children(BLACK, [P])
    assert Tree.from_levels([integer(1), integer(2), integer(2)]) == Tree.from_children([LEAF, LEAF])


@pytest.mark.parametrize("bad", [True, 2, -1, 0.0, np.float64(1.0), "0", None])
def test_other_colours_are_refused_by_name(bad: object) -> None:
    from bea.errors import InvalidTreeError

    with pytest.raises(InvalidTreeError, match="a colour must be 0"):
        BicolouredTree.leaf(bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidTreeError, match="a colour must be 0"):
        BicolouredTree.from_levels([1, 2], [0, bad])  # type: ignore[list-item]
