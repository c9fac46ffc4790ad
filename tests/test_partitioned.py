"""Partitioned Runge--Kutta methods: tableau conventions, orders, validation, catalogue look-up.

Independent routes: the step is expanded as a power series in h by fixed-point iteration of the
stage equations (tests/step_expansion.py, no trees) and compared with the exact flow's Lie series
and with the textbook formulas of each method (Hairer--Lubich--Wanner (I.1.9), (I.1.17)).
"""

from __future__ import annotations

import copy
import pickle
import random

import pytest
import sympy
from step_expansion import h, lie_flow, partitioned_step, random_polynomial, truncate

from bea import methods
from bea.errors import BeaTypeError, InvalidTableauError, UnknownMethodError
from bea.methods import PartitionedRungeKutta
from bea.methods.partitioned import composition

q, p = sympy.symbols("q p")

KNOWN_ORDERS = {
    "symplectic_euler": 1,
    "symplectic_euler_adjoint": 1,
    "stormer_verlet": 2,
    "stormer_verlet_adjoint": 2,
    "lobatto_iiia_iiib": 4,
    "yoshida4": 4,
}


def tableaux(m: PartitionedRungeKutta) -> tuple[object, object, object, object]:
    return m.A_q, m.b_q, m.A_p, m.b_p


def test_catalogue_orders() -> None:
    assert {m.name: m.order_of_accuracy() for m in methods.PARTITIONED} == KNOWN_ORDERS


def step_error_order(m: PartitionedRungeKutta, f: sympy.Expr, g: sympy.Expr, n: int) -> int:
    """The first power of h where the step and the exact flow differ, minus 1 (n + 1 if none through h^n)."""
    point = {q: sympy.Rational(2, 3), p: sympy.Rational(-5, 7)}
    q1, p1 = partitioned_step(tableaux(m), [f], [g], [q], [p], n, [point[q]], [point[p]])
    exact = [e.xreplace(point) for e in lie_flow([f, g], [q, p], n)]
    for k in range(1, n + 1):
        d = [sympy.expand((a - b).coeff(h, k)) for a, b in zip([q1[0], p1[0]], exact, strict=True)]
        if any(x != 0 for x in d):
            return k - 1
    return n + 1


@pytest.mark.parametrize("m", [m for m in methods.PARTITIONED if m.name != "yoshida4"], ids=lambda m: m.name)
def test_orders_from_step_expansion(m: PartitionedRungeKutta) -> None:
    """Orders from a generic polynomial system, by the step's Taylor expansion (no order conditions)."""
    rng = random.Random(7)
    f = random_polynomial([q, p], 2, rng)
    g = random_polynomial([q, p], 2, rng)
    assert step_error_order(m, f, g, KNOWN_ORDERS[m.name] + 1) == KNOWN_ORDERS[m.name]


def test_yoshida4_order_from_step_expansion() -> None:
    """The triple jump is exact through h^4 and not h^5 on a separable polynomial system."""
    f, g = p + p**2, -q - q**2 / 2  # H = p^2/2 + p^3/3 + q^2/2 + q^3/6
    assert step_error_order(methods.yoshida4, f, g, 5) == 4


def test_symplectic_euler_is_hlw_I_1_9() -> None:
    """p_1 = p_0 - h H_q(q_0, p_1), q_1 = q_0 + h H_p(q_0, p_1) for H = p^2/2 + q^3/3 (explicit here)."""
    n = 4
    q1, p1 = partitioned_step(tableaux(methods.symplectic_euler), [p], [-(q**2)], [q], [p], n, [q], [p])
    p_new = p - h * q**2
    assert sympy.expand(p1[0] - truncate(p_new, n)) == 0
    assert sympy.expand(q1[0] - truncate(q + h * p_new, n)) == 0
    # the adjoint updates q first: q_1 = q_0 + h p_0 (H_p does not depend on q), p_1 = p_0 - h q_1^2
    q1, p1 = partitioned_step(tableaux(methods.symplectic_euler_adjoint), [p], [-(q**2)], [q], [p], n, [q], [p])
    assert sympy.expand(q1[0] - truncate(q + h * p, n)) == 0
    assert sympy.expand(p1[0] - truncate(p - h * (q + h * p) ** 2, n)) == 0


def test_stormer_verlet_is_velocity_verlet() -> None:
    """Half step in p, full step in q, half step in p (HLW (I.1.17)) for H = p^2/2 + V(q), V' = q^3."""
    n = 5
    dV = q**3
    q1, p1 = partitioned_step(tableaux(methods.stormer_verlet), [p], [-dV], [q], [p], n, [q], [p])
    p_half = p - h / 2 * dV
    q_new = q + h * p_half
    p_new = p_half - h / 2 * dV.subs(q, q_new)
    assert sympy.expand(q1[0] - truncate(q_new, n)) == 0
    assert sympy.expand(p1[0] - truncate(p_new, n)) == 0
    assert methods.partitioned_by_name("leapfrog") is methods.stormer_verlet


def test_stormer_verlet_adjoint_is_position_verlet() -> None:
    """Half step in q, full step in p, half step in q for H = p^2/2 + V(q), V' = q^3."""
    n = 5
    q1, p1 = partitioned_step(tableaux(methods.stormer_verlet_adjoint), [p], [-(q**3)], [q], [p], n, [q], [p])
    q_half = q + h / 2 * p
    p_new = p - h * q_half**3
    q_new = q_half + h / 2 * p_new
    assert sympy.expand(q1[0] - truncate(q_new, n)) == 0
    assert sympy.expand(p1[0] - truncate(p_new, n)) == 0


def test_adjoints() -> None:
    assert methods.symplectic_euler.adjoint() == methods.symplectic_euler_adjoint
    assert methods.symplectic_euler_adjoint.adjoint() == methods.symplectic_euler
    assert methods.stormer_verlet.adjoint() == methods.stormer_verlet  # symmetric (same tableaux)
    assert methods.stormer_verlet != methods.stormer_verlet_adjoint


def test_yoshida4_coefficients() -> None:
    """Step fractions 1/(2 - 2^(1/3)), -2^(1/3)/(2 - 2^(1/3)), 1/(2 - 2^(1/3)) (Yoshida 1990)."""
    c = sympy.cbrt(2)
    gammas = [1 / (2 - c), -c / (2 - c), 1 / (2 - c)]
    b = methods.yoshida4.b_q
    assert len(b) == 6
    for k, gk in enumerate(gammas):
        assert sympy.simplify(b[2 * k] - gk / 2) == 0
        assert sympy.simplify(b[2 * k + 1] - gk / 2) == 0


def test_mismatched_stages_names_both() -> None:
    with pytest.raises(InvalidTableauError, match=r"q tableau has 1 stage but the p tableau has 2 stages"):
        PartitionedRungeKutta([[0]], [1], [[0, 0], [1, 0]], [sympy.Rational(1, 2), sympy.Rational(1, 2)])


def test_bad_tableau_names_which() -> None:
    with pytest.raises(InvalidTableauError, match=r"the p tableau: .*sum to 3/2"):
        PartitionedRungeKutta([[0]], [1], [[0]], [sympy.Rational(3, 2)])
    with pytest.raises(BeaTypeError, match=r"the q tableau: .*0\.5"):
        PartitionedRungeKutta([[0.5]], [1], [[0]], [1])
    with pytest.raises(InvalidTableauError, match=r"the q tableau: A must be square"):
        PartitionedRungeKutta([[0, 0]], [1], [[0]], [1])
    with pytest.raises(BeaTypeError, match="name"):
        PartitionedRungeKutta([[0]], [1], [[0]], [1], name=3)  # type: ignore[arg-type]


def test_rationalize_floats() -> None:
    m = PartitionedRungeKutta([[0.0, 0.0], [0.5, 0.5]], [0.5, 0.5], [[0.5, 0], [0.5, 0]], [0.5, 0.5],
                              rationalize_floats=True)
    assert m == methods.stormer_verlet


def test_immutable_picklable_hashable() -> None:
    for m in methods.PARTITIONED:
        assert pickle.loads(pickle.dumps(m)) == m
        assert copy.deepcopy(m) == m
        assert hash(copy.deepcopy(m)) == hash(m)
    with pytest.raises(AttributeError):
        methods.stormer_verlet.name = "x"  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(methods.yoshida4)).order_of_accuracy() == 4


def test_composition_and_explicitness() -> None:
    half = sympy.Rational(1, 2)
    two = composition(methods.symplectic_euler_adjoint, [half, half], name="two")
    assert two.stages == 2 and two.order_of_accuracy() == 1
    assert methods.yoshida4.is_explicit is False  # the IIIB half steps are implicit in form
    assert methods.symplectic_euler_adjoint.is_explicit is False
    assert PartitionedRungeKutta([[0]], [1], [[0]], [1]).is_explicit


def test_lookup() -> None:
    for m in methods.PARTITIONED:
        assert methods.partitioned_by_name(m.name) is m
    assert methods.partitioned_by_name(" Stormer-Verlet ") is methods.stormer_verlet
    with pytest.raises(UnknownMethodError, match="'rk4'"):
        methods.partitioned_by_name("rk4")
    with pytest.raises(UnknownMethodError, match="'leapfrog'"):
        methods.by_name("leapfrog")  # by_name keeps returning Runge--Kutta methods only
