"""Modified equations and modifying integrators.

The central test (``test_defining_property_*``) checks the defining property of
the modified equation without any tree: the exact time-h flow of the truncated
modified field, computed as a Lie series, must equal one step of the Runge--Kutta
method, computed by fixed-point iteration of the stage equations as a Taylor
polynomial in h, through h^N. Both sides are polynomials in (h, y1, y2) with
rational coefficients, handled as ``sympy.Poly`` and truncated in h.
"""

from __future__ import annotations

import json
import math
import random
import warnings
from collections.abc import Sequence
from fractions import Fraction

import pytest
import sympy
from sympy import Rational as R

import bea
import bea.modified
from bea import (
    BSeries,
    RungeKutta,
    Tree,
    bseries,
    exact_solution,
    methods,
    modified_equation,
    modified_vector_field,
    modifying_integrator,
    substitute,
    trees,
    trees_up_to,
)
from bea.differentials import evaluate_field_series, field_series_terms
from bea.errors import BeaTypeError, ExpensiveComputationWarning, InvalidOrderError, SeriesError

H, Y1, Y2 = sympy.symbols("h y1 y2")
GENS = (H, Y1, Y2)
YS = (Y1, Y2)


def T(*levels: int) -> Tree:
    return Tree.from_levels(list(levels))


# --- tree-free reference computations ------------------------------------------------------------


def poly(expr: object) -> sympy.Poly:
    return sympy.Poly(expr, *GENS, domain="QQ")


def trunc(p: sympy.Poly, degree: int) -> sympy.Poly:
    """Drop every term of degree > ``degree`` in h."""
    kept = {m: c for m, c in p.terms() if m[0] <= degree}
    return sympy.Poly.from_dict(kept, *GENS, domain="QQ") if kept else poly(0)


def evaluate_field(f: Sequence[sympy.Poly], state: Sequence[sympy.Poly], degree: int) -> list[sympy.Poly]:
    """f(state) for a polynomial field f(y1, y2), truncated in h."""
    out = []
    for component in f:
        total = poly(0)
        for (_, e1, e2), coeff in component.terms():
            term = poly(coeff)
            for base, e in ((state[0], e1), (state[1], e2)):
                for _ in range(e):
                    term = trunc(term * base, degree)
            total += term
        out.append(total)
    return out


def rk_step_taylor(A: Sequence[Sequence[object]], b: Sequence[object], f: Sequence[sympy.Poly], N: int) -> list:
    """One step of the RK method on y' = f(y) as a polynomial in h through h^N.

    Stages by fixed-point iteration Y_i ← y + h Σ_j a_ij f(Y_j); each sweep fixes one
    more power of h, so N sweeps give every stage exactly through h^N (works for
    implicit tableaux as well).
    """
    s = len(b)
    y = [poly(Y1), poly(Y2)]
    stages = [list(y) for _ in range(s)]
    for _ in range(N):
        fs = [evaluate_field(f, st, N - 1) for st in stages]
        stages = [
            [trunc(y[k] + poly(H) * sum((fs[j][k] * poly(A[i][j]) for j in range(s)), poly(0)), N) for k in range(2)]
            for i in range(s)
        ]
    fs = [evaluate_field(f, st, N - 1) for st in stages]
    return [trunc(y[k] + poly(H) * sum((fs[i][k] * poly(b[i]) for i in range(s)), poly(0)), N) for k in range(2)]


def lie_flow(fh: Sequence[sympy.Poly], N: int) -> list[sympy.Poly]:
    """Exact time-h flow of y' = f_h(y) as exp(h L) y, L = Σ f_h,i ∂/∂y_i, through h^N."""
    out = []
    for k in range(2):
        g = poly(YS[k])
        total = g
        for j in range(1, N + 1):
            g = trunc(sum((fh[i] * g.diff(YS[i]) for i in range(2)), poly(0)), N - j)
            total += g * poly(H**j / math.factorial(j))
        out.append(trunc(total, N))
    return out


def random_field(rng: random.Random, degree: int) -> list[sympy.Poly]:
    monomials = [(i, d - i) for d in range(degree + 1) for i in range(d + 1)]
    field = []
    for _ in range(2):
        while True:
            expr = sum(rng.randint(-2, 2) * Y1**e1 * Y2**e2 for e1, e2 in monomials if rng.random() < 0.6)
            if sympy.sympify(expr).free_symbols:  # not a constant: F(τ) for |τ| ≥ 2 must not all vanish
                break
        field.append(poly(expr))
    return field


SMALL = [R(-1), R(-1, 2), R(0), R(1, 3), R(1, 2), R(2, 3), R(1), R(3, 2)]


def random_tableau(rng: random.Random, stages: int, explicit: bool) -> tuple[list[list[R]], list[R]]:
    A = [[(rng.choice(SMALL) if (j < i or not explicit) else R(0)) for j in range(stages)] for i in range(stages)]
    b = [rng.choice(SMALL) for _ in range(stages - 1)]
    b.append(1 - sum(b))
    return A, b


def modified_field_polys(method: RungeKutta | BSeries, f: Sequence[sympy.Poly], N: int) -> list[sympy.Poly]:
    matrix = modified_vector_field(method, sympy.Matrix([p.as_expr() for p in f]), [Y1, Y2], H, N)
    return [poly(e) for e in matrix]


def check_defining_property(A: list, b: list, f: list[sympy.Poly], N: int) -> None:
    method = RungeKutta(A, b)
    step = rk_step_taylor(A, b, f, N)
    flow = lie_flow(modified_field_polys(method, f, N), N)
    assert step == flow, (A, b, [p.as_expr() for p in f])


# --- the defining property ------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_defining_property_random_explicit_order4(seed: int) -> None:
    rng = random.Random(1000 + seed)
    A, b = random_tableau(rng, rng.choice([2, 3]), explicit=True)
    f = random_field(rng, rng.choice([2, 3]))
    check_defining_property(A, b, f, 4)


@pytest.mark.parametrize("seed", range(2))
def test_defining_property_random_explicit_order5(seed: int) -> None:
    rng = random.Random(2000 + seed)
    A, b = random_tableau(rng, 3, explicit=True)
    f = random_field(rng, 2)
    check_defining_property(A, b, f, 5)


@pytest.mark.parametrize("seed", range(3))
def test_defining_property_random_implicit_order4(seed: int) -> None:
    rng = random.Random(3000 + seed)
    A, b = random_tableau(rng, 2, explicit=False)
    f = random_field(rng, 2)
    check_defining_property(A, b, f, 4)


@pytest.mark.parametrize(
    ("method", "N"),
    [
        (methods.implicit_midpoint, 5),
        (methods.trapezoid, 4),
        (methods.implicit_euler, 4),
        (methods.rk4, 5),
        (methods.explicit_euler, 5),
    ],
    ids=lambda x: getattr(x, "name", str(x)),
)
def test_defining_property_catalogue(method: RungeKutta, N: int) -> None:
    rng = random.Random(method.name)
    f = random_field(rng, 2)
    check_defining_property([list(r) for r in method.A], list(method.b), f, N)


def test_defining_property_fails_for_a_wrong_coefficient() -> None:
    """The comparison is not vacuous: changing one b(τ) with |τ| = N breaks it."""
    rng = random.Random(77)
    N = 4
    A, b = [[0, 0], [R(1, 2), 0]], [0, 1]
    f = random_field(rng, 2)
    step = rk_step_taylor(A, b, f, N)
    good = modified_equation(RungeKutta(A, b), N)
    expr = sympy.Matrix([p.as_expr() for p in f])
    assert lie_flow([poly(e) for e in evaluate_field_series(good, expr, [Y1, Y2], H)], N) == step
    for tree in trees(N):
        coeffs = dict(good.items())
        coeffs[tree] += 1
        bad = BSeries(coeffs, N)
        fh = [poly(e) for e in evaluate_field_series(bad, expr, [Y1, Y2], H)]
        if any(not p.is_zero for p in [poly(e) for e in bea.elementary_differential(tree, expr, [Y1, Y2])]):
            assert lie_flow(fh, N) != step, tree


def test_field_series_terms_match_modified_field() -> None:
    rng = random.Random(5)
    f = random_field(rng, 2)
    expr = sympy.Matrix([p.as_expr() for p in f])
    series = modified_equation(methods.heun, 4)
    terms = field_series_terms(series, expr, [Y1, Y2])
    assert len(terms) == 4
    total = sum((terms[k] * H**k for k in range(4)), sympy.zeros(2, 1))
    direct = modified_vector_field(methods.heun, expr, [Y1, Y2], H, 4)
    assert (total - direct).applyfunc(sympy.expand) == sympy.zeros(2, 1)
    assert terms[0].applyfunc(sympy.expand) == expr.applyfunc(sympy.expand)  # h⁰ term is f itself


# --- known coefficients -----------------------------------------------------------------------------


def test_explicit_euler_modified_equation() -> None:
    b = modified_equation(methods.explicit_euler, 3)
    assert b.is_vector_field and b.order == 3
    assert [b[T(1)], b[T(1, 2)], b[T(1, 2, 3)], b[T(1, 2, 2)]] == [1, R(-1, 2), R(1, 3), R(1, 6)]


def test_explicit_midpoint_published_values() -> None:
    """BSeries.jl test suite values (Ketcheson & Ranocha, BSeries.jl, test/runtests.jl, "modified_equation")."""
    b = modified_equation(methods.explicit_midpoint, 4)
    expected = {
        T(1): 1,
        T(1, 2): 0,
        T(1, 2, 2): R(-1, 12),
        T(1, 2, 3): R(-1, 6),
        T(1, 2, 2, 2): 0,
        T(1, 2, 3, 2): 0,
        T(1, 2, 3, 3): R(1, 8),
        T(1, 2, 3, 4): R(1, 8),
    }
    assert len(b) == len(expected)
    for tree, value in expected.items():
        assert b[tree] == value, tree


@pytest.mark.parametrize("method", methods.CATALOGUE, ids=lambda m: m.name)
def test_tall_trees_from_log_of_stability_function(method: RungeKutta) -> None:
    """On y' = λy the modified equation is y' = log(R(hλ))/h · y; tall trees carry it."""
    N = 7
    z = sympy.Symbol("z")
    s = method.stages
    A = sympy.Matrix(s, s, lambda i, j: method.A[i][j])
    stab = 1 + z * (sympy.Matrix([method.b]) * (sympy.eye(s) - z * A).inv() * sympy.ones(s, 1))[0]
    log_series = sympy.series(sympy.log(stab), z, 0, N + 1).removeO()
    b = modified_equation(method, N)
    for n in range(1, N + 1):
        tall = T(*range(1, n + 1))
        assert sympy.simplify(b[tall] - log_series.coeff(z, n)) == 0, (method.name, n)


@pytest.mark.parametrize("method", methods.CATALOGUE, ids=lambda m: m.name)
def test_order_p_method_leading_term(method: RungeKutta) -> None:
    """A method of order p: f_h = f + h^p f_{p+1} + ..., with b(τ) = Φ(τ) - 1/γ(τ) for |τ| = p+1."""
    p = {"rk4": 4, "gauss_legendre_2": 4, "kutta3": 3, "ssprk33": 3, "explicit_euler": 1, "implicit_euler": 1}.get(
        method.name, 2
    )
    b = modified_equation(method, p + 1)
    for t in trees_up_to(p):
        assert b[t] == (1 if t.order == 1 else 0)
    for t in trees(p + 1):
        assert sympy.simplify(b[t] - (method.elementary_weight(t) - R(1, t.density))) == 0


@pytest.mark.parametrize(
    "method", [methods.implicit_midpoint, methods.trapezoid, methods.gauss_legendre_2], ids=lambda m: m.name
)
def test_symmetric_methods_have_even_expansions(method: RungeKutta) -> None:
    """HLW Theorem IX.2.2: the modified field of a symmetric method has only even powers of h."""
    b = modified_equation(method, 7)
    for t in trees_up_to(7):
        if t.order % 2 == 0:
            assert sympy.simplify(b[t]) == 0, t
    assert any(sympy.simplify(b[t]) != 0 for t in trees_up_to(7) if t.order > 1)


# --- algebraic laws -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "method",
    [methods.explicit_euler, methods.implicit_euler, methods.heun, methods.rk4, methods.gauss_legendre_2],
    ids=lambda m: m.name,
)
def test_modified_equation_inverts_substitution(method: RungeKutta) -> None:
    N = 6
    b = modified_equation(method, N)
    assert substitute(b, exact_solution(N)) == bseries(method, N)


def test_modified_equation_of_random_series() -> None:
    rng = random.Random(31)
    N = 6
    a = BSeries({t: R(rng.randint(-4, 4), rng.randint(1, 3)) for t in trees_up_to(N)}, N, empty=1)
    a = BSeries({**dict(a.items()), Tree.leaf(): 1}, N, empty=1)
    assert substitute(modified_equation(a, N), exact_solution(N)) == a


def test_modified_equation_of_exact_flow_is_f() -> None:
    b = modified_equation(exact_solution(8), 8)
    for t in trees_up_to(8):
        assert b[t] == (1 if t.order == 1 else 0)


def test_modified_equation_of_series_equals_of_method() -> None:
    for method in (methods.kutta3, methods.trapezoid):
        assert modified_equation(bseries(method, 6), 6) == modified_equation(method, 6)
    # a series of higher order is truncated
    assert modified_equation(bseries(methods.rk4, 6), 4) == modified_equation(methods.rk4, 4)


@pytest.mark.parametrize("method", [methods.rk4, methods.implicit_midpoint, methods.ralston], ids=lambda m: m.name)
def test_truncation_is_consistent(method: RungeKutta) -> None:
    full = modified_equation(method, 7)
    for k in range(1, 7):
        assert full.truncate(k) == modified_equation(method, k)


@pytest.mark.parametrize(
    "method",
    [methods.explicit_euler, methods.explicit_midpoint, methods.rk4, methods.trapezoid, methods.gauss_legendre_2],
    ids=lambda m: m.name,
)
def test_modifying_integrator(method: RungeKutta) -> None:
    N = 6
    bt = modifying_integrator(method, N)
    assert bt.is_vector_field
    assert substitute(bt, bseries(method, N)) == exact_solution(N)


def test_modifying_integrator_of_euler_is_exact_flow() -> None:
    """Euler's step y + h f̃(y) has series b̃ itself, so b̃ = 1/γ: f̃ = f + h/2 f'f + h²/6 (f'f'f + f''(f,f)) + ...
    (Chartier–Hairer–Vilmart 2007)."""
    bt = modifying_integrator(methods.explicit_euler, 6)
    assert [bt[T(1)], bt[T(1, 2)], bt[T(1, 2, 3)], bt[T(1, 2, 2)]] == [1, R(1, 2), R(1, 6), R(1, 3)]
    for t in trees_up_to(6):
        assert bt[t] == R(1, t.density)


def test_modifying_integrator_of_exact_flow_is_f() -> None:
    bt = modifying_integrator(exact_solution(6), 6)
    for t in trees_up_to(6):
        assert bt[t] == (1 if t.order == 1 else 0)


def test_modifying_integrator_needs_nonzero_leaf() -> None:
    with pytest.raises(SeriesError):
        modifying_integrator(BSeries({}, 3, empty=1), 3)


# --- bad input ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("bad", "shown"), [(0, "0"), (-3, "-3"), (2.5, "2.5"), ("3", "'3'"), (True, "True")])
@pytest.mark.parametrize("func", [modified_equation, modifying_integrator])
def test_bad_order(func: object, bad: object, shown: str) -> None:
    with pytest.raises(InvalidOrderError) as info:
        func(methods.rk4, bad)  # type: ignore[operator]
    assert isinstance(info.value, ValueError)
    assert shown in str(info.value)


def test_modified_equation_of_field_series_raises() -> None:
    with pytest.raises(SeriesError) as info:
        modified_equation(modified_equation(methods.rk4, 3), 3)
    assert isinstance(info.value, ValueError)


def test_modified_equation_of_short_series_raises() -> None:
    with pytest.raises(SeriesError, match="3"):
        modified_equation(exact_solution(3), 4)


@pytest.mark.parametrize("bad", ["rk4", None, 3, [[0]], Fraction(1, 2)])
def test_modified_equation_rejects_non_methods(bad: object) -> None:
    with pytest.raises(BeaTypeError) as info:
        modified_equation(bad, 3)  # type: ignore[arg-type]
    assert isinstance(info.value, TypeError)
    assert repr(bad) in str(info.value)


def test_expensive_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    expected = modified_equation(methods.rk4, 3)
    monkeypatch.setattr(bea.modified, "MODIFIED_EQUATION_WARN_ORDER", 2)
    with pytest.warns(ExpensiveComputationWarning, match="3"):
        result = modified_equation(methods.rk4, 3)
    assert result == expected  # the warning does not change the result
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        modified_equation(methods.rk4, 2)  # at the threshold: no warning


def test_no_warning_at_default_threshold_for_moderate_orders() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        modified_equation(methods.explicit_euler, 8)
    assert bea.modified.MODIFIED_EQUATION_WARN_ORDER < 16  # order 16 would warn


def test_expensive_warning_modifying_integrator(monkeypatch: pytest.MonkeyPatch) -> None:
    # a series goes through the substitution law (2^(|t|-1) edge subsets per tree) ...
    monkeypatch.setattr(bea.modified, "SUBSTITUTION_WARN_ORDER", 2)
    with pytest.warns(ExpensiveComputationWarning):
        modifying_integrator(bseries(methods.heun, 3), 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        modifying_integrator(methods.heun, 3)  # ... a Runge-Kutta method by its stages
    monkeypatch.setattr(bea.modified, "MODIFIED_EQUATION_WARN_ORDER", 2)
    with pytest.warns(ExpensiveComputationWarning):
        modifying_integrator(methods.heun, 3)


def test_result_is_json_serialisable() -> None:
    data = json.loads(json.dumps(modified_equation(methods.explicit_euler, 3).to_dict()))
    assert data["kind"] == "vector_field" and data["order"] == 3
    by_levels = {tuple(row["levels"]): sympy.Rational(row["coefficient"]) for row in data["coefficients"]}
    assert by_levels == {(1,): 1, (1, 2): R(-1, 2), (1, 2, 3): R(1, 3), (1, 2, 2): R(1, 6)}


# --- equality with the frozen reference implementation (issue 13) -----------------------------
# tests/reference_bseries.py is a copy of the algorithms as of commit 40ef694 (the substitution
# law over all edge subsets; the Lie recursion on mpq); the fast versions must give exactly
# the same coefficients, tree by tree.
from reference_bseries import reference_modified_equation, reference_modifying_integrator  # noqa: E402


def _by_levels(series: BSeries) -> dict[tuple[int, ...], object]:
    return {t.levels: series[t] for t in series}


@pytest.mark.parametrize(
    ("method", "N"),
    [
        (methods.explicit_midpoint, 10),
        (methods.rk4, 9),
        (methods.implicit_midpoint, 9),
        (methods.ssprk33, 8),
        (methods.gauss_legendre_2, 6),
    ],
)
def test_modifying_integrator_equals_reference(method: RungeKutta, N: int) -> None:
    assert _by_levels(modifying_integrator(method, N)) == reference_modifying_integrator(bseries(method, N), N)


def test_modifying_integrator_of_random_tableaux_equals_reference() -> None:
    rng = random.Random(13)
    for stages, explicit in ((3, True), (2, False)):
        A, b = random_tableau(rng, stages, explicit)
        rk = RungeKutta(A, b)
        assert _by_levels(modifying_integrator(rk, 7)) == reference_modifying_integrator(bseries(rk, 7), 7)


def test_modifying_integrator_of_a_series_equals_reference() -> None:
    a = methods.average_vector_field.bseries(7)
    assert _by_levels(modifying_integrator(a, 7)) == reference_modifying_integrator(a, 7)


@pytest.mark.parametrize(("method", "N"), [(methods.rk4, 10), (methods.gauss_legendre_2, 7), (methods.kutta3, 9)])
def test_modified_equation_equals_reference(method: RungeKutta, N: int) -> None:
    assert _by_levels(modified_equation(method, N)) == reference_modified_equation(bseries(method, N), N)


@pytest.mark.slow
def test_modified_equation_order_12_equals_reference() -> None:
    N = 12
    method = methods.explicit_midpoint
    assert _by_levels(modified_equation(method, N)) == reference_modified_equation(bseries(method, N), N)


def test_modified_equation_of_series_and_avf_equal_reference() -> None:
    a = methods.average_vector_field.bseries(8)
    assert _by_levels(modified_equation(a, 8)) == reference_modified_equation(a, 8)
    assert _by_levels(modified_equation(methods.average_vector_field, 8)) == reference_modified_equation(a, 8)
