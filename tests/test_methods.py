"""Runge--Kutta tableaux: catalogue orders, elementary weights, name look-up, validation.

Elementary weights are checked against the explicit sum over stage labellings
Φ(τ) = Σ_{i: nodes → stages} b_{i(root)} Π_{edges p→c} a_{i(p) i(c)}
(Hairer--Nørsett--Wanner I, Definition II.2.9), written here from the level
sequence, and against the stability function R(z) = 1 + z bᵀ(I - zA)⁻¹𝟙 for tall trees.
"""

from __future__ import annotations

import itertools
from fractions import Fraction

import pytest
import sympy
from brute_force import brute_density, parent_array
from sympy import Rational as R

import bea
from bea import RungeKutta, Tree, methods, trees, trees_up_to
from bea.errors import BeaError, BeaTypeError, InvalidTableauError, UnknownMethodError

KNOWN_ORDERS = {
    "explicit_euler": 1,
    "implicit_euler": 1,
    "explicit_midpoint": 2,
    "heun": 2,
    "ralston": 2,
    "kutta3": 3,
    "ssprk33": 3,
    "rk4": 4,
    "implicit_midpoint": 2,
    "trapezoid": 2,
    "gauss_legendre_2": 4,
}




def brute_weight(A: list[list[object]], b: list[object], levels: tuple[int, ...]) -> sympy.Expr:
    """Φ(τ) as the sum over all maps from nodes to stages."""
    parent = parent_array(levels)
    s = len(b)
    total = sympy.Integer(0)
    for labels in itertools.product(range(s), repeat=len(levels)):
        term = sympy.sympify(b[labels[0]])
        for node in range(1, len(levels)):
            term *= A[labels[parent[node]]][labels[node]]
            if term == 0:
                break
        total += term
    return sympy.expand(total)




def tableau(method: RungeKutta) -> tuple[list[list[sympy.Expr]], list[sympy.Expr]]:
    return [list(row) for row in method.A], list(method.b)


# --- catalogue -----------------------------------------------------------------------------


def test_catalogue_is_complete() -> None:
    assert {m.name for m in methods.CATALOGUE} == set(KNOWN_ORDERS)


@pytest.mark.parametrize("method", methods.CATALOGUE, ids=lambda m: m.name)
def test_order_of_accuracy(method: RungeKutta) -> None:
    assert method.order_of_accuracy() == KNOWN_ORDERS[method.name]


@pytest.mark.parametrize("method", methods.CATALOGUE, ids=lambda m: m.name)
def test_order_conditions_brute_force(method: RungeKutta) -> None:
    """The known order p: Φ = 1/γ on every tree with ≤ p nodes, not on all with p + 1."""
    A, b = tableau(method)
    p = KNOWN_ORDERS[method.name]
    for n in range(1, p + 1):
        for t in trees(n):
            assert sympy.simplify(brute_weight(A, b, t.levels) - R(1, brute_density(t.levels))) == 0
    defects = [sympy.simplify(brute_weight(A, b, t.levels) - R(1, brute_density(t.levels))) for t in trees(p + 1)]
    assert any(d != 0 for d in defects)


@pytest.mark.parametrize("method", methods.CATALOGUE, ids=lambda m: m.name)
def test_elementary_weights_brute_force(method: RungeKutta) -> None:
    A, b = tableau(method)
    for t in trees_up_to(5):
        got = method.elementary_weight(t)
        assert sympy.simplify(got - brute_weight(A, b, t.levels)) == 0, (method.name, t)


@pytest.mark.parametrize("method", methods.CATALOGUE, ids=lambda m: m.name)
def test_tall_tree_weights_from_stability_function(method: RungeKutta) -> None:
    """For y' = λy one step multiplies by R(hλ) = 1 + Σ_n Φ(tall_n) (hλ)^n."""
    z = sympy.Symbol("z")
    s = method.stages
    A = sympy.Matrix(s, s, lambda i, j: method.A[i][j])
    bvec = sympy.Matrix([method.b])
    ones = sympy.ones(s, 1)
    stab = 1 + z * (bvec * (sympy.eye(s) - z * A).inv() * ones)[0]
    taylor = sympy.series(stab, z, 0, 7).removeO()
    for n in range(1, 7):
        tall = Tree.from_levels(list(range(1, n + 1)))
        assert sympy.simplify(method.elementary_weight(tall) - taylor.coeff(z, n)) == 0


def test_rk4_known_weights() -> None:
    # Butcher's classical conditions for RK4 at order 5 fail: e.g. Φ([1,2,3,4,5]) = 0 (explicit, 4 stages)
    assert methods.rk4.elementary_weight(Tree.from_levels([1, 2, 3, 4, 5])) == 0
    assert methods.explicit_euler.elementary_weight(Tree.from_levels([1, 2])) == 0
    assert methods.implicit_euler.elementary_weight(Tree.from_levels([1, 2, 2, 3])) == 1


def test_is_explicit_and_stages() -> None:
    explicit = {"explicit_euler", "explicit_midpoint", "heun", "ralston", "kutta3", "ssprk33", "rk4"}
    for m in methods.CATALOGUE:
        assert m.is_explicit == (m.name in explicit)
        assert m.stages == len(m.A) == len(m.b) == len(m.c)
        for i in range(m.stages):
            assert sympy.simplify(m.c[i] - sum(m.A[i])) == 0


# --- names --------------------------------------------------------------------------------------


def test_by_name_canonical_names() -> None:
    for m in methods.CATALOGUE:
        assert methods.by_name(m.name) is m
        assert methods.NAMES[m.name] is m


@pytest.mark.parametrize(
    ("alias", "target"),
    [
        ("euler", "explicit_euler"),
        ("gd", "explicit_euler"),
        ("proximal_point", "implicit_euler"),
        ("RK4", "rk4"),
        ("explicit-midpoint", "explicit_midpoint"),
    ],
)
def test_by_name_aliases(alias: str, target: str) -> None:
    assert methods.by_name(alias) is methods.by_name(target)
    assert methods.by_name(alias).name == target


@pytest.mark.parametrize("bad", ["nope", "", "rk5"])
def test_by_name_unknown(bad: str) -> None:
    with pytest.raises(UnknownMethodError) as info:
        methods.by_name(bad)
    assert isinstance(info.value, ValueError)
    assert repr(bad) in str(info.value)


def test_by_name_non_string() -> None:
    with pytest.raises(BeaTypeError, match="42"):
        methods.by_name(42)  # type: ignore[arg-type]


# --- validation --------------------------------------------------------------------------------


def test_entries_are_exact_rationals() -> None:
    m = RungeKutta([[0, 0], [Fraction(2, 3), 0]], [Fraction(1, 4), R(3, 4)])
    for x in (*m.A[0], *m.A[1], *m.b, *m.c):
        assert isinstance(x, sympy.Rational)
    assert m.A[1][0] == R(2, 3) and m.b == (R(1, 4), R(3, 4)) and m.c == (0, R(2, 3))
    assert m.order_of_accuracy() == 2  # this is Ralston's method
    assert m == methods.ralston and hash(m) == hash(methods.ralston)


def test_tableau_from_sympy_matrix() -> None:
    m = RungeKutta(sympy.Matrix([[0, 0], [R(1, 2), 0]]), sympy.Matrix([0, 1]))
    assert m == methods.explicit_midpoint


def test_rationalize_floats() -> None:
    m = RungeKutta([[0, 0], [0.5, 0]], [0.25, 0.75], rationalize_floats=True)
    assert m.A[1][0] == R(1, 2) and isinstance(m.A[1][0], sympy.Rational)
    assert m.b == (R(1, 4), R(3, 4))
    assert all(isinstance(x, sympy.Rational) for x in m.b)
    m3 = RungeKutta([[0.1]], [1.0], rationalize_floats=True)
    assert m3.A[0][0] == R(1, 10)


def test_immutable() -> None:
    with pytest.raises(AttributeError):
        methods.rk4.b = (1,)  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del methods.rk4.A
    assert methods.rk4.stages == 4


@pytest.mark.parametrize(
    ("kwargs", "error", "shown"),
    [
        # non-square A
        ({"A": [[0, 0], [1]], "b": [R(1, 2), R(1, 2)]}, InvalidTableauError, "row 1"),
        ({"A": [[0, 0]], "b": [1]}, InvalidTableauError, "2"),
        ({"A": [], "b": []}, InvalidTableauError, "stage"),
        # b and c of the wrong length
        ({"A": [[0]], "b": [R(1, 2), R(1, 2)]}, InvalidTableauError, "2"),
        ({"A": [[0, 0], [1, 0]], "b": [1]}, InvalidTableauError, "1"),
        ({"A": [[0, 0], [1, 0]], "b": [R(1, 2), R(1, 2)], "c": [0]}, InvalidTableauError, "c"),
        # c is not the row sums of A
        ({"A": [[0, 0], [1, 0]], "b": [R(1, 2), R(1, 2)], "c": [0, R(1, 3)]}, InvalidTableauError, "1/3"),
        # inconsistent weights
        ({"A": [[0]], "b": [2]}, InvalidTableauError, "2"),
        ({"A": [[0, 0], [1, 0]], "b": [R(1, 3), R(1, 3)]}, InvalidTableauError, "2/3"),
        # floats, strings, None, bools
        ({"A": [[0]], "b": [1.0]}, BeaTypeError, "1.0"),
        ({"A": [[0.25]], "b": [1]}, BeaTypeError, "0.25"),
        ({"A": [[sympy.Float(0.5)]], "b": [1]}, BeaTypeError, "0.5"),
        ({"A": [[0, 0], [0.5, 0]], "b": [0, 1]}, BeaTypeError, "0.5"),
        ({"A": [[0]], "b": ["1"]}, BeaTypeError, "'1'"),
        ({"A": [["x"]], "b": [1]}, BeaTypeError, "'x'"),
        ({"A": [[None]], "b": [1]}, BeaTypeError, "None"),
        ({"A": [[0]], "b": [None]}, BeaTypeError, "None"),
        ({"A": [[0]], "b": [True]}, BeaTypeError, "True"),
        ({"A": [[0]], "b": [1], "c": [0.0]}, BeaTypeError, "0.0"),
        ({"A": "00", "b": [1]}, BeaTypeError, "'00'"),
        ({"A": [[0]], "b": 1}, BeaTypeError, "1"),
    ],
)
def test_invalid_tableaux(kwargs: dict[str, object], error: type[Exception], shown: str) -> None:
    with pytest.raises(error) as info:
        RungeKutta(**kwargs)  # type: ignore[arg-type]
    assert isinstance(info.value, BeaError)
    assert isinstance(info.value, (ValueError, TypeError))
    assert shown in str(info.value)


def test_symbolic_entries_allowed() -> None:
    alpha = sympy.Symbol("alpha", positive=True)
    m = RungeKutta([[0, 0], [alpha, 0]], [1 - 1 / (2 * alpha), 1 / (2 * alpha)])
    # the family of 2-stage order-2 methods: Φ([1,2]) = 1/2 identically in α
    assert sympy.simplify(m.elementary_weight(Tree.from_levels([1, 2])) - R(1, 2)) == 0
    assert sympy.simplify(m.elementary_weight(Tree.from_levels([1, 2, 2])) - alpha / 2) == 0


def test_public_name() -> None:
    assert bea.RungeKutta is RungeKutta
