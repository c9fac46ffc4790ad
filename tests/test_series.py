"""B-series: the Mapping API, the exact flow, and the composition and substitution laws.

Expected values come from independent facts: 1/γ by brute force, the group
property of exact flows, two steps of a method as one step of a bigger tableau,
symmetric methods being their own adjoints, and associativity laws.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping

import pytest
import sympy
from brute_force import brute_density
from sympy import Rational as R

import bea
from bea import BSeries, RungeKutta, Tree, bseries, compose, exact_solution, methods, substitute, trees_up_to
from bea.errors import BeaTypeError, InvalidOrderError, SeriesError

A000081 = [1, 1, 2, 4, 9, 20, 48, 115, 286, 719]  # OEIS A000081






def random_series(rng: random.Random, order: int, empty: int) -> BSeries:
    coeffs = {t: R(rng.randint(-6, 6), rng.randint(1, 5)) for t in trees_up_to(order)}
    return BSeries(coeffs, order, empty=empty)


def scaled(a: BSeries, factor: object) -> BSeries:
    """The series of the same method with step factor·h: coefficient × factor^|τ|."""
    return BSeries({t: v * sympy.sympify(factor) ** t.order for t, v in a.items()}, a.order, empty=a.empty)


def identity_map(order: int) -> BSeries:
    return BSeries({}, order, empty=1)


def f_only(order: int) -> BSeries:
    return BSeries({Tree.leaf(): 1}, order, empty=0)


def two_steps(m1: RungeKutta, m2: RungeKutta) -> RungeKutta:
    """One step of size 2h of this tableau is a step h of m1 followed by a step h of m2."""
    s1, s2 = m1.stages, m2.stages
    A = [[sympy.Integer(0)] * (s1 + s2) for _ in range(s1 + s2)]
    for i in range(s1):
        for j in range(s1):
            A[i][j] = m1.A[i][j] / 2
    for i in range(s2):
        for j in range(s1):
            A[s1 + i][j] = m1.b[j] / 2
        for j in range(s2):
            A[s1 + i][s1 + j] = m2.A[i][j] / 2
    b = [x / 2 for x in m1.b] + [x / 2 for x in m2.b]
    return RungeKutta(A, b, name=f"{m1.name}+{m2.name}")


# --- Mapping API --------------------------------------------------------------------------------


def test_mapping_protocol() -> None:
    t1, t12, t122 = Tree.from_levels([1]), Tree.from_levels([1, 2]), Tree.from_levels([1, 2, 2])
    s = BSeries({t1: 2, t122: R(1, 3)}, 4, empty=1)
    assert isinstance(s, Mapping)
    assert len(s) == sum(A000081[:4]) == 8
    assert list(s) == list(trees_up_to(4)) and set(s.keys()) == set(trees_up_to(4))
    assert s[t1] == 2 and s[t122] == R(1, 3)
    assert s[t12] == 0 and s[Tree.from_levels([1, 2, 3, 2])] == 0  # missing trees default to 0
    assert t12 in s and Tree.from_levels([1, 2, 2, 2, 2]) not in s
    assert s.get(Tree.from_levels([1, 2, 3, 4, 5]), "absent") == "absent"
    assert dict(s.items())[t122] == R(1, 3)
    assert all(isinstance(v, sympy.Expr) for v in s.values())
    with pytest.raises(KeyError):
        s[Tree.from_levels([1, 2, 3, 4, 5])]
    with pytest.raises(KeyError):
        s[(1, 2)]  # type: ignore[index]
    assert s.order == 4 and s.empty == 1 and s.is_map and not s.is_vector_field


@pytest.mark.parametrize("order", [1, 2, 5, 7])
def test_len_counts_trees(order: int) -> None:
    assert len(BSeries({}, order)) == sum(A000081[:order])
    assert len(exact_solution(order)) == sum(A000081[:order])


def test_kinds() -> None:
    assert BSeries({}, 2, empty=0).is_vector_field
    assert not BSeries({}, 2, empty=0).is_map
    other = BSeries({}, 2, empty=3)
    assert not other.is_map and not other.is_vector_field


def test_rejected_input() -> None:
    with pytest.raises(SeriesError, match=r"\[\[•\]\]"):  # a tree above the order
        BSeries({Tree.from_levels([1, 2, 3]): 1}, 2)
    with pytest.raises(BeaTypeError, match=r"0\.5"):
        BSeries({Tree.leaf(): 0.5}, 2)
    with pytest.raises(BeaTypeError):
        BSeries({Tree.leaf(): sympy.Float(0.5)}, 2)
    with pytest.raises(BeaTypeError):
        BSeries({Tree.leaf(): 1}, 2, empty=1.0)
    with pytest.raises(BeaTypeError, match="'1'"):
        BSeries({Tree.leaf(): "1"}, 2)
    with pytest.raises(BeaTypeError):
        BSeries({(1,): 1}, 2)  # type: ignore[dict-item]
    with pytest.raises(BeaTypeError):
        BSeries([(Tree.leaf(), 1)], 2)  # type: ignore[arg-type]
    for bad in (0, -2, 2.5, "3"):
        with pytest.raises(InvalidOrderError):
            BSeries({}, bad)  # type: ignore[arg-type]


def test_symbolic_coefficients_allowed() -> None:
    x = sympy.Symbol("x")
    s = BSeries({Tree.leaf(): x, Tree.from_levels([1, 2]): sympy.sqrt(2)}, 2)
    assert s[Tree.leaf()] == x and s[Tree.from_levels([1, 2])] == sympy.sqrt(2)


def test_immutable() -> None:
    s = exact_solution(2)
    with pytest.raises(AttributeError):
        s.order = 3  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del s._order
    with pytest.raises(TypeError):
        s[Tree.leaf()] = 2  # type: ignore[index]


def test_arithmetic() -> None:
    rng = random.Random(7)
    a, b = random_series(rng, 5, 1), random_series(rng, 4, 0)
    total, diff, triple = a + b, a - b, 3 * a
    assert total.order == diff.order == 4 and triple.order == 5
    assert total.empty == 1 and diff.empty == 1 and triple.empty == 3
    for t in trees_up_to(4):
        assert total[t] == a[t] + b[t]
        assert diff[t] == a[t] - b[t]
    for t in trees_up_to(5):
        assert triple[t] == 3 * a[t]
        assert (a * R(1, 2))[t] == a[t] / 2
        assert (-a)[t] == -a[t]
    assert a - a == BSeries({}, 5, empty=0)
    with pytest.raises(SeriesError):
        a * b
    with pytest.raises(TypeError):
        a * 0.5
    with pytest.raises(TypeError):
        a + 1  # type: ignore[operator]


def test_equality() -> None:
    rng = random.Random(3)
    a = random_series(rng, 4, 1)
    same = BSeries(dict(a.items()), 4, empty=1)
    assert a == same
    changed = dict(a.items())
    changed[Tree.from_levels([1, 2, 3, 2])] += 1
    assert a != BSeries(changed, 4, empty=1)
    assert a != BSeries(dict(a.items()), 4, empty=0)
    assert a != BSeries(dict(a.items()), 5, empty=1)
    # exact symbolic values compare by value
    x = BSeries({Tree.leaf(): sympy.sqrt(3) ** 2}, 1)
    assert x == BSeries({Tree.leaf(): 3}, 1)


def test_truncate() -> None:
    rng = random.Random(11)
    a = random_series(rng, 6, 1)
    for k in range(1, 7):
        tr = a.truncate(k)
        assert tr.order == k and len(tr) == sum(A000081[:k]) and tr.empty == 1
        assert all(tr[t] == a[t] for t in trees_up_to(k))
    with pytest.raises(SeriesError, match="7"):
        a.truncate(7)
    with pytest.raises(InvalidOrderError):
        a.truncate(0)


def test_to_dict_is_json() -> None:
    a = bseries(methods.rk4, 4)
    data = json.loads(json.dumps(a.to_dict()))
    assert {"kind", "order", "empty", "coefficients"} <= set(data)
    assert data["kind"] == "map" and data["order"] == 4 and data["empty"] == "1"
    assert len(data["coefficients"]) == 8
    for row in data["coefficients"]:
        levels = tuple(row["levels"])
        assert sympy.Rational(row["coefficient"]) == R(1, brute_density(levels))  # rk4 has order 4
    field = json.loads(json.dumps(BSeries({Tree.leaf(): 1}, 2).to_dict()))
    assert field["kind"] == "vector_field" and field["empty"] == "0"


def test_printing() -> None:
    # Taylor: y(h) = y + h f + h²/2 f'f + h³/6 (f'f'f + f''(f, f)) + ...; printed coefficients are a/σ
    text = str(exact_solution(3))
    assert "1/2 h² f'f" in text and "1/6 h³ f'f'f" in text and "1/6 h³ f''(f, f)" in text
    assert r"\bullet" in sympy.latex(exact_solution(3))
    assert "order 3" in repr(exact_solution(3))


# --- exact solution and method series ---------------------------------------------------------


def test_exact_solution_is_one_over_gamma() -> None:
    e = exact_solution(7)
    assert e.is_map
    for t in trees_up_to(7):
        assert e[t] == R(1, brute_density(t.levels))


@pytest.mark.parametrize("method", methods.CATALOGUE, ids=lambda m: m.name)
def test_bseries_of_method(method: RungeKutta) -> None:
    a = bseries(method, 5)
    assert a.is_map and a.order == 5
    for t in trees_up_to(5):
        assert a[t] == method.elementary_weight(t)


def test_bseries_rejects() -> None:
    with pytest.raises(BeaTypeError):
        bseries(42, 3)  # type: ignore[arg-type]  (names are accepted: tests/test_protocol.py)
    with pytest.raises(InvalidOrderError, match="0"):
        bseries(methods.rk4, 0)


# --- composition ----------------------------------------------------------------------------------


def test_compose_associative() -> None:
    rng = random.Random(2024)
    for _ in range(2):
        a, b, c = (random_series(rng, 6, 1) for _ in range(3))
        assert compose(compose(a, b), c) == compose(a, compose(b, c))


def test_compose_with_field_second_argument() -> None:
    # compose(a, b) with a field series b: the linear part; associativity with maps still holds
    rng = random.Random(5)
    a, b = random_series(rng, 5, 1), random_series(rng, 5, 1)
    v = random_series(rng, 5, 0)
    assert compose(compose(a, b), v) == compose(a, compose(b, v))


def test_compose_identity() -> None:
    rng = random.Random(9)
    a = random_series(rng, 6, 1)
    assert compose(identity_map(6), a) == a
    assert compose(a, identity_map(6)) == a


def test_compose_is_not_commutative() -> None:
    a, b = bseries(methods.explicit_euler, 4), bseries(methods.implicit_euler, 4)
    assert compose(a, b) != compose(b, a)


def test_exact_flow_group_property() -> None:
    """φ_h ∘ φ_h = φ_{2h}."""
    e = exact_solution(7)
    both = compose(e, e)
    for t in trees_up_to(7):
        assert both[t] == R(2**t.order, brute_density(t.levels))
    # and φ_h ∘ φ_{-h} = id
    assert compose(e, scaled(e, -1)) == identity_map(7)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (methods.heun, methods.rk4),
        (methods.explicit_euler, methods.implicit_midpoint),
        (methods.kutta3, methods.trapezoid),
        (methods.rk4, methods.explicit_euler),
    ],
    ids=lambda m: m.name,
)
def test_compose_is_two_steps(first: RungeKutta, second: RungeKutta) -> None:
    order = 6
    composed = compose(bseries(first, order), bseries(second, order))
    big = bseries(two_steps(first, second), order)
    assert composed == scaled(big, 2)


def test_compose_explicit_euler_twice() -> None:
    # two Euler steps: y + h f + h f(y + h f) = y + 2h f + Σ_k h^(k+1)/k! f^(k)(f, ..., f),
    # so a(•) = 2, a = 1 on the bushy trees [•^k] (σ = k!) and 0 on every other tree
    a = compose(bseries(methods.explicit_euler, 5), bseries(methods.explicit_euler, 5))
    for t in trees_up_to(5):
        bushy = t.levels[1:] == (2,) * (t.order - 1)
        assert a[t] == (2 if t.order == 1 else 1 if bushy else 0)


@pytest.mark.parametrize(
    "method", [methods.implicit_midpoint, methods.trapezoid, methods.gauss_legendre_2], ids=lambda m: m.name
)
def test_symmetric_methods_are_their_own_adjoint(method: RungeKutta) -> None:
    a = bseries(method, 6)
    assert compose(a, scaled(a, -1)) == identity_map(6)


def test_nonsymmetric_methods_are_not() -> None:
    for method in (methods.explicit_euler, methods.rk4, methods.heun):
        a = bseries(method, 6)
        assert compose(a, scaled(a, -1)) != identity_map(6)


def test_implicit_euler_inverts_explicit_euler_backwards() -> None:
    """y1 = y0 + h f(y1) means y0 = y1 - h f(y1): explicit Euler with step -h undoes it."""
    ie, ee = bseries(methods.implicit_euler, 7), bseries(methods.explicit_euler, 7)
    assert compose(ie, scaled(ee, -1)) == identity_map(7)
    assert compose(scaled(ee, -1), ie) == identity_map(7)


def test_compose_rejects() -> None:
    with pytest.raises(SeriesError):
        compose(BSeries({}, 3, empty=0), exact_solution(3))
    with pytest.raises(BeaTypeError):
        compose(exact_solution(3), {})  # type: ignore[arg-type]
    assert compose(exact_solution(5), exact_solution(3)).order == 3


# --- substitution ------------------------------------------------------------------------------------


def test_substitute_f_itself_is_identity() -> None:
    rng = random.Random(13)
    a = random_series(rng, 6, 1)
    assert substitute(f_only(6), a) == a
    v = random_series(rng, 6, 0)
    assert substitute(v, f_only(6)) == v


def test_substitute_scaled_field() -> None:
    """f → c f multiplies the coefficient of τ by c^|τ|."""
    rng = random.Random(17)
    a = random_series(rng, 6, 1)
    assert substitute(3 * f_only(6), a) == scaled(a, 3)


def test_substitute_associative() -> None:
    rng = random.Random(19)
    b1, b2 = random_series(rng, 5, 0), random_series(rng, 5, 0)
    a = random_series(rng, 5, 1)
    assert substitute(b1, substitute(b2, a)) == substitute(substitute(b1, b2), a)


def test_substitute_respects_composition() -> None:
    """Replacing f by f_h in both steps of a composition."""
    rng = random.Random(23)
    b = random_series(rng, 5, 0)
    a1, a2 = random_series(rng, 5, 1), random_series(rng, 5, 1)
    assert substitute(b, compose(a1, a2)) == compose(substitute(b, a1), substitute(b, a2))


def test_substitute_into_method_is_method_on_new_field() -> None:
    """Explicit Euler applied to f_h = f + h c f'f: y + h f + c h² f'f."""
    c = R(5, 7)
    b = BSeries({Tree.leaf(): 1, Tree.from_levels([1, 2]): c}, 4)
    got = substitute(b, bseries(methods.explicit_euler, 4))
    for t in trees_up_to(4):
        assert got[t] == {1: 1, 2: c}.get(t.order, 0)


def test_substitute_rejects() -> None:
    with pytest.raises(SeriesError):
        substitute(exact_solution(3), exact_solution(3))
    with pytest.raises(BeaTypeError):
        substitute(f_only(3), "rk4")  # type: ignore[arg-type]


def test_public_names() -> None:
    assert bea.BSeries is BSeries and bea.compose is compose and bea.substitute is substitute
