"""P-series: the defining properties of modified equations and modifying integrators, the algebra.

Independent routes:
* the method's step expanded in powers of h by fixed-point iteration of its stage equations, and the
  exact flow of a (modified) field as a Lie series, on random polynomial fields (tests/step_expansion.py,
  no trees) against the tree formulas of bea.pseries;
* identities between different algorithms of bea.pseries (Lie-derivative recursion vs substitution law,
  the integer fast path vs the general ring path);
* textbook facts: Störmer--Verlet is symmetric (even powers only), symplectic Euler composed with its
  adjoint over half steps is Störmer--Verlet (HLW section II.3), the HLW (IX.3) pendulum terms.
"""

from __future__ import annotations

import pickle
import random

import pytest
import sympy
from step_expansion import additive_step, h, lie_flow, partitioned_step, picard_flow, random_polynomial, truncate

from bea import methods
from bea.bicoloured import BLACK, WHITE, BicolouredTree
from bea.errors import BeaTypeError, InvalidOrderError, SeriesError
from bea.methods import AdditiveRungeKutta, PartitionedRungeKutta
from bea.pseries import (
    PSeries,
    additive_modified_vector_field,
    compose,
    elementary_differential,
    exact_solution,
    modified_equation,
    modified_vector_field,
    modifying_integrator,
    pseries,
    substitute,
)
from bea.pseries.modified import field_coefficients

q1, q2, p1, p2 = sympy.symbols("q1 q2 p1 p2")
y1, y2 = sympy.symbols("y1 y2")


def _tableaux(m: PartitionedRungeKutta) -> tuple[object, object, object, object]:
    return m.A_q, m.b_q, m.A_p, m.b_p


def _half(a: PSeries) -> PSeries:
    """The series of the same method with step h/2."""
    return PSeries({t: v / 2**t.order for t, v in a.items()}, a.order, 1)


# --- the defining property against the step's own expansion -------------------------------------------------


@pytest.mark.parametrize(
    ("method", "truncation", "dof"),
    [
        (methods.symplectic_euler, 3, 1),
        (methods.symplectic_euler, 2, 2),
        (methods.symplectic_euler_adjoint, 2, 2),
        (methods.stormer_verlet, 3, 1),
        (methods.stormer_verlet_adjoint, 2, 2),
        (methods.lobatto_iiia_iiib, 4, 1),
    ],
    ids=lambda x: getattr(x, "name", str(x)),
)
def test_modified_equation_flow_is_the_step(method: PartitionedRungeKutta, truncation: int, dof: int) -> None:
    """The exact flow of (f̃, g̃) through h^truncation equals the step through h^(truncation + 1).

    Random quadratic fields; with two degrees of freedom (q, p in R²) the contractions of F(τ) over
    vector components are exercised.
    """
    rng = random.Random(len(method.name) + truncation)
    qs, ps = [q1, q2][:dof], [p1, p2][:dof]
    f = [random_polynomial([*qs, *ps], 2, rng) for _ in qs]
    g = [random_polynomial([*qs, *ps], 2, rng) for _ in ps]
    point = {q1: sympy.Rational(1, 2), q2: sympy.Rational(-1, 3), p1: sympy.Rational(2, 5), p2: 1}
    n = truncation + 1
    start_q, start_p = [point[v] for v in qs], [point[v] for v in ps]
    step_q, step_p = partitioned_step(_tableaux(method), f, g, qs, ps, n, start_q, start_p)
    ft, gt = modified_vector_field(method, f, g, qs, ps, h, truncation)
    flow = picard_flow([*ft, *gt], [*qs, *ps], n, [*start_q, *start_p])
    assert [sympy.expand(a - b) for a, b in zip([*step_q, *step_p], flow, strict=True)] == [0] * (2 * dof)
    # one power fewer in the field leaves an error at h^n (for these non-degenerate fields)
    if truncation % 2 == 1 or method.name.startswith("symplectic"):
        ft0, gt0 = modified_vector_field(method, f, g, qs, ps, h, truncation - 1)
        flow0 = picard_flow([*ft0, *gt0], [*qs, *ps], n, [*start_q, *start_p])
        differences = [sympy.expand(a - b) for a, b in zip([*step_q, *step_p], flow0, strict=True)]
        if method.name.startswith("stormer") and truncation % 2 == 1:
            assert differences == [0] * (2 * dof)  # the h^truncation term of a symmetric method is 0
        else:
            assert any(d != 0 for d in differences)


@pytest.mark.parametrize(
    ("method", "truncation"),
    [(methods.imex_euler, 2), (methods.ars_122, 2), (methods.ars_222, 2), (methods.ars_233, 2)],
    ids=lambda x: getattr(x, "name", str(x)),
)
def test_additive_modified_equation_flow_is_the_step(method: AdditiveRungeKutta, truncation: int) -> None:
    rng = random.Random(11)
    ys = [y1, y2]
    f1 = [random_polynomial(ys, 2, rng) for _ in ys]
    f2 = [random_polynomial(ys, 2, rng) for _ in ys]
    point = {y1: sympy.Rational(1, 3), y2: sympy.Rational(-3, 4)}
    n = truncation + 1
    step = additive_step((method.A_1, method.b_1, method.A_2, method.b_2), f1, f2, ys, n, [point[y1], point[y2]])
    ft = additive_modified_vector_field(method, f1, f2, ys, h, truncation)
    flow = picard_flow(list(ft), ys, n, [point[y1], point[y2]])
    assert [sympy.expand(a - b) for a, b in zip(step, flow, strict=True)] == [0, 0]


def test_modifying_integrator_step_is_the_exact_flow() -> None:
    """Symplectic Euler applied to the modifying fields (f̃, g̃) reproduces the exact flow through h^3."""
    rng = random.Random(5)
    q, p = q1, p1
    f, g = [random_polynomial([q, p], 2, rng)], [random_polynomial([q, p], 2, rng)]
    point = {q: sympy.Rational(2, 3), p: sympy.Rational(-1, 2)}
    truncation = 2
    ft, gt = modified_vector_field(modifying_integrator(methods.symplectic_euler, 3), f, g, [q], [p], h, truncation)
    step_q, step_p = partitioned_step(
        _tableaux(methods.symplectic_euler), list(ft), list(gt), [q], [p], truncation + 1, [point[q]], [point[p]]
    )
    exact = picard_flow([f[0], g[0]], [q, p], truncation + 1, [point[q], point[p]])
    assert exact == [e.xreplace(point) for e in lie_flow([f[0], g[0]], [q, p], truncation + 1)]  # two routes
    assert sympy.expand(step_q[0] - exact[0]) == 0
    assert sympy.expand(step_p[0] - exact[1]) == 0


def test_method_series_is_the_step() -> None:
    """pseries(method) summed on concrete fields is the step's expansion (HLW Theorem III.2.4)."""
    rng = random.Random(3)
    q, p = q1, p1
    f, g = [random_polynomial([q, p], 2, rng)], [random_polynomial([q, p], 2, rng)]
    n = 4
    a = pseries(methods.lobatto_iiia_iiib, n)
    total_q, total_p = q, p
    for tree, value in a.items():
        term = h**tree.order * value / tree.symmetry * elementary_differential(tree, f, g, q, p)[0]
        if tree.colour == BLACK:
            total_q += term
        else:
            total_p += term
    step_q, step_p = partitioned_step(_tableaux(methods.lobatto_iiia_iiib), f, g, [q], [p], n, [q], [p])
    assert sympy.expand(truncate(total_q, n) - step_q[0]) == 0
    assert sympy.expand(truncate(total_p, n) - step_p[0]) == 0


# --- textbook facts -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "method", [methods.stormer_verlet, methods.stormer_verlet_adjoint, methods.lobatto_iiia_iiib],
    ids=lambda m: m.name,
)
def test_symmetric_methods_have_even_powers_only(method: PartitionedRungeKutta) -> None:
    b = modified_equation(method, 7)
    for tree, value in b.items():
        if tree.order % 2 == 0:
            assert value == 0, tree
    assert any(v != 0 for t, v in b.items() if t.order == 7)


def test_yoshida4_even_powers_and_order() -> None:
    b = modified_equation(methods.yoshida4, 5)
    assert all(sympy.simplify(v) == 0 for t, v in b.items() if t.order in (2, 3, 4))
    assert any(sympy.simplify(v) != 0 for t, v in b.items() if t.order == 5)


def test_symplectic_euler_then_adjoint_is_stormer_verlet() -> None:
    se, sea = pseries(methods.symplectic_euler, 5), pseries(methods.symplectic_euler_adjoint, 5)
    assert compose(_half(se), _half(sea)) == pseries(methods.stormer_verlet, 5)
    assert compose(_half(sea), _half(se)) == pseries(methods.stormer_verlet_adjoint, 5)
    assert compose(_half(se), _half(sea)) != pseries(methods.stormer_verlet_adjoint, 5)


def test_pendulum_first_term_matches_hlw() -> None:
    """HLW (IX.3): p-first symplectic Euler on H = p²/2 - cos q has H̃ = H - (h/2) H_p H_q + O(h²)."""
    q, p = q1, p1
    H = p**2 / 2 - sympy.cos(q)
    Htilde = H - h / 2 * sympy.diff(H, p) * sympy.diff(H, q)
    ft, gt = modified_vector_field(methods.symplectic_euler, [H.diff(p)], [-H.diff(q)], q, p, h, 1)
    assert sympy.simplify(ft[0] - Htilde.diff(p)) == 0
    assert sympy.simplify(gt[0] + Htilde.diff(q)) == 0
    ft, gt = modified_vector_field(methods.symplectic_euler_adjoint, [H.diff(p)], [-H.diff(q)], q, p, h, 1)
    Htilde = H + h / 2 * sympy.diff(H, p) * sympy.diff(H, q)
    assert sympy.simplify(ft[0] - Htilde.diff(p)) == 0


# --- algebra ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "method",
    [methods.symplectic_euler, methods.stormer_verlet, methods.lobatto_iiia_iiib, methods.imex_euler, methods.ars_222],
    ids=lambda m: m.name,
)
def test_substitution_identities(method: PartitionedRungeKutta | AdditiveRungeKutta) -> None:
    a = pseries(method, 5)
    assert substitute(modified_equation(method, 5), exact_solution(5)) == a
    assert substitute(modifying_integrator(method, 5), a) == exact_solution(5)


@pytest.mark.parametrize("method", [*methods.PARTITIONED[:5], *methods.ADDITIVE[:2]], ids=lambda m: m.name)
def test_integer_fast_path_matches_general_path(method: PartitionedRungeKutta) -> None:
    ring, slow = field_coefficients(method, 7)
    fast = modified_equation(method, 7)
    assert all(ring.back(v) == fast[BicolouredTree.from_id(t)] for t, v in slow.items())


def test_compose_exact_flow_doubles_the_step() -> None:
    e = exact_solution(5)
    doubled = compose(e, e)
    assert all(v == sympy.Rational(2**t.order, t.density) for t, v in doubled.items())


def test_order_conditions_agree_with_series() -> None:
    for m in (*methods.PARTITIONED[:5], *methods.ADDITIVE):
        p = m.order_of_accuracy()
        assert pseries(m, p) == exact_solution(p)
        assert pseries(m, p + 1) != exact_solution(p + 1)


def test_series_container() -> None:
    a = pseries(methods.stormer_verlet, 3)
    assert len(a) == 2 + 4 + 14 and a.is_map and not a.is_vector_field
    assert a.truncate(2) == pseries(methods.stormer_verlet, 2)
    assert (a - a).is_vector_field and all(v == 0 for v in (a - a).values())
    assert (2 * a)[BicolouredTree.leaf(WHITE)] == 2
    assert pickle.loads(pickle.dumps(a)) == a
    d = a.to_dict()
    assert d["kind"] == "map" and d["order"] == 3 and len(d["coefficients"]) == 20
    assert {"levels", "colours", "tree", "coefficient"} <= set(d["coefficients"][0])
    latex = sympy.latex(modified_equation(methods.symplectic_euler, 2))
    assert latex.startswith(r"\begin{aligned} q &: F\left(\bullet\right)")
    assert r"\frac{1}{2}" in latex
    with pytest.raises(AttributeError):
        a._order = 4  # type: ignore[misc]


def test_bad_input() -> None:
    with pytest.raises(SeriesError, match="3 nodes"):
        PSeries({BicolouredTree.from_levels([1, 2, 2], [0, 0, 0]): 1}, 2)
    with pytest.raises(BeaTypeError, match=r"0\.5"):
        PSeries({BicolouredTree.leaf(BLACK): 0.5}, 1)
    with pytest.raises(BeaTypeError, match="BicolouredTrees"):
        PSeries({1: 1}, 1)  # type: ignore[dict-item]
    with pytest.raises(InvalidOrderError, match="0"):
        modified_equation(methods.stormer_verlet, 0)
    with pytest.raises(BeaTypeError, match="rk4"):
        modified_equation(methods.rk4, 3)  # type: ignore[arg-type]
    with pytest.raises(SeriesError, match="map series"):
        modified_equation(modified_equation(methods.stormer_verlet, 2), 2)
    with pytest.raises(SeriesError, match="lower than"):
        modified_equation(pseries(methods.stormer_verlet, 2), 3)
    with pytest.raises(SeriesError, match="vector-field series"):
        substitute(exact_solution(2), exact_solution(2))
    with pytest.raises(InvalidOrderError, match="-1"):
        modified_vector_field(methods.stormer_verlet, [q1], [p1], q1, p1, h, -1)
    with pytest.raises(SeriesError, match="colour 1 is 0"):
        modifying_integrator(PSeries({BicolouredTree.leaf(BLACK): 1}, 2, 1), 2)
