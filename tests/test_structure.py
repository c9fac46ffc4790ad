"""Structure checks (bea.structure) and the average vector field method.

Every check is tested twice: by published values, and by an independent route that uses no
tree: the step map's Jacobian on a Hamiltonian system (symplecticity), the energy of an AVF step
solved numerically (energy preservation), Φ_h ∘ Φ_{-h} = id on a test field (symmetry), the
adjoint tableau (adjoint series), and the Taylor expansion of the AVF step (its B-series).
"""

from __future__ import annotations

import copy
import json
import pickle
from fractions import Fraction

import numpy as np
import pytest
import sympy
from sympy import Rational as R
from test_modified import Y1, Y2, poly, rk_step_taylor, trunc

from bea import BSeries, RungeKutta, Tree, bseries, elementary_differential, exact_solution, methods
from bea.cli import main
from bea.errors import BeaTypeError, BeaValueError, InvalidOrderError, SeriesError
from bea.methods import BSeriesMethod, average_vector_field
from bea.modified import modified_equation
from bea.structure import (
    StructureReport,
    adjoint,
    adjoint_runge_kutta,
    conjugate_symplectic_through,
    energy_preserving_order,
    is_energy_preserving,
    is_symmetric,
    is_symplectic,
    order_of_symplecticity,
    structure_report,
)

# Tableaux from BSeries.jl's test suite (test/runtests.jl), with their published answers.
# Celledoni, McLachlan, McLaren, Owren, Quispel, Wright, ESAIM M2AN 43 (2009): energy-preserving
# through order 4; Butcher (1969) effective-order method: energy-preserving through order 4.
CMMOQW4 = RungeKutta([[0, 0, 0], [R(1, 3), 0, 0], [R(-5, 48), R(15, 16), 0]], [R(1, 10), R(1, 2), R(2, 5)])
EFFECTIVE = RungeKutta(
    [
        [0] * 5,
        [R(1, 5), 0, 0, 0, 0],
        [0, R(2, 5), 0, 0, 0],
        [R(3, 16), 0, R(5, 16), 0, 0],
        [R(1, 4), 0, R(-5, 4), 2, 0],
    ],
    [R(1, 6), 0, 0, R(2, 3), R(1, 6)],
)
_k = 3  # Aubry & Chartier (1998) pseudo-symplectic PS(2, 4, 2): symplectic through order 4
PS242 = RungeKutta(
    [
        [0, 0, 0],
        [R(8 * _k - 3, 8 * _k - 4), 0, 0],
        [R(16 * _k**2 - 8 * _k + 1, 2 * _k * (8 * _k - 3)), R(2 * _k - 1, 2 * _k * (8 * _k - 3)), 0],
    ],
    [R(3 * _k - 1, 8 * _k - 3), R(-2 * (2 * _k - 1) ** 2, 8 * _k - 3), _k],
)


# ------------------------------------------------------------------ known answers (issue 10)
@pytest.mark.parametrize(
    ("method", "order", "symplectic", "energy", "symmetric"),
    [
        (methods.implicit_midpoint, 8, True, False, True),
        (methods.gauss_legendre_2, 5, True, False, True),
        (methods.average_vector_field, 8, False, True, True),
        (methods.rk4, 8, False, False, False),
        (methods.trapezoid, 8, False, False, True),
    ],
)
def test_known_answers(method: object, order: int, symplectic: bool, energy: bool, symmetric: bool) -> None:
    report = structure_report(method, order)  # type: ignore[arg-type]
    assert (report.symplectic, report.energy_preserving, report.symmetric) == (symplectic, energy, symmetric)
    assert is_symplectic(method, order) is symplectic  # type: ignore[arg-type]
    assert is_energy_preserving(method, order) is energy  # type: ignore[arg-type]
    assert is_symmetric(method, order) is symmetric  # type: ignore[arg-type]


def test_trapezoid_is_conjugate_symplectic_but_not_symplectic() -> None:
    assert conjugate_symplectic_through(methods.trapezoid, 7) == 7
    assert order_of_symplecticity(methods.trapezoid, 7) == 2


def test_symplectic_methods_are_conjugate_symplectic() -> None:
    assert conjugate_symplectic_through(methods.implicit_midpoint, 8) == 8
    assert conjugate_symplectic_through(methods.gauss_legendre_2, 5) == 5


def test_conjugate_symplecticity_fails_for_explicit_methods() -> None:
    # Every order-2 method is conjugate-symplectic through order 3 (Hairer & Zbinden 2013);
    # within order 2p the search is exact, and these methods fail right after.
    assert conjugate_symplectic_through(methods.explicit_midpoint, 6) == 3
    assert conjugate_symplectic_through(methods.heun, 6) == 3
    assert conjugate_symplectic_through(methods.rk4, 8) == 4
    assert conjugate_symplectic_through(methods.explicit_euler, 4) == 1


def test_published_symplecticity_orders() -> None:
    # BSeries.jl test suite: RK4 4, AVF 2 (= its order of accuracy), PS(2,4,2) 4.
    assert order_of_symplecticity(methods.rk4, 6) == 4
    assert order_of_symplecticity(methods.average_vector_field, 6) == 2
    assert order_of_symplecticity(PS242, 6) == 4
    assert order_of_symplecticity(methods.implicit_midpoint, 9) is None


def test_published_energy_preserving_orders() -> None:
    # BSeries.jl test suite (energy_preserving_order(rk, 10)): RK4 4, CMMOQW 4, effective-order 4,
    # the 2-stage method A = [0 0; 2/3 0], b = [1/4, 3/4] (= Ralston) 3.
    assert energy_preserving_order(methods.rk4, 10) == 4
    assert energy_preserving_order(CMMOQW4, 10) == 4
    assert energy_preserving_order(EFFECTIVE, 10) == 4
    assert energy_preserving_order(methods.ralston, 10) == 3
    assert energy_preserving_order(methods.average_vector_field, 9) is None


def test_energy_check_of_a_user_series() -> None:
    # The AVF series as a plain BSeries, and the same series with one coefficient spoiled.
    series = average_vector_field.bseries(6)
    assert is_energy_preserving(series, 6)
    spoiled = dict(series)
    spoiled[Tree.from_levels([1, 2, 3, 2, 2])] += R(1, 7)
    assert energy_preserving_order(BSeries(spoiled, 6, empty=1), 6) == 4


# ------------------------------------------------------------------ independent routes
def _hamiltonian_field() -> tuple[sympy.Expr, list[sympy.Poly]]:
    """A cubic Hamiltonian H(q, p) with (q, p) = (y1, y2), and f = (H_p, -H_q)."""
    ham = Y2**2 / 2 + Y1**2 / 2 + R(1, 3) * Y1**3 - R(2, 5) * Y1**2 * Y2 + R(1, 7) * Y2**3
    return ham, [poly(sympy.diff(ham, Y2)), poly(-sympy.diff(ham, Y1))]


def _symplecticity_defect(rk: RungeKutta, N: int) -> list[sympy.Poly]:
    """J^T Ω J - Ω for the step map y -> Φ_h(y) (Taylor polynomial through h^N), entrywise."""
    _, f = _hamiltonian_field()
    step = rk_step_taylor(rk.A, rk.b, f, N)
    J = [[s.diff(y) for y in (Y1, Y2)] for s in step]
    # 2x2: J^T Ω J = det(J) Ω, so the defect is det(J) - 1
    det = J[0][0] * J[1][1] - J[0][1] * J[1][0]
    return [trunc(det - poly(1), N)]


@pytest.mark.parametrize(("rk", "first_failure"), [(methods.implicit_midpoint, None), (methods.rk4, 5)])
def test_symplecticity_by_the_jacobian_of_the_step(rk: RungeKutta, first_failure: int | None) -> None:
    N = 5
    defect = _symplecticity_defect(rk, N)[0]
    powers = sorted({m[0] for m, c in defect.terms() if c != 0})
    if first_failure is None:
        assert powers == []
        assert is_symplectic(rk, N)
    else:
        assert powers[0] == first_failure
        assert order_of_symplecticity(rk, N) == first_failure - 1


def _gauss_nodes(n: int) -> tuple[np.ndarray, np.ndarray]:
    x, w = np.polynomial.legendre.leggauss(n)
    return (x + 1) / 2, w / 2


def _avf_step(f: object, y0: np.ndarray, h: float) -> np.ndarray:
    """y1 = y0 + h ∫_0^1 f(y0 + s (y1 - y0)) ds, by fixed-point iteration; the quadrature is
    exact for polynomial f of degree < 20."""
    s, w = _gauss_nodes(10)
    y1 = y0.copy()
    for _ in range(200):
        new = y0 + h * sum(wi * f(y0 + si * (y1 - y0)) for si, wi in zip(s, w, strict=True))  # type: ignore[operator]
        if np.max(np.abs(new - y1)) < 1e-17:
            break
        y1 = new
    return new


def _rk_step(rk: RungeKutta, f: object, y0: np.ndarray, h: float) -> np.ndarray:
    A = np.array(rk.A, dtype=float)
    b = np.array(rk.b, dtype=float)
    stages = np.tile(y0, (len(b), 1))
    for _ in range(200):
        fs = np.array([f(st) for st in stages])  # type: ignore[operator]
        new = y0 + h * A @ fs
        if np.max(np.abs(new - stages)) < 1e-17:
            stages = new
            break
        stages = new
    fs = np.array([f(st) for st in stages])  # type: ignore[operator]
    return y0 + h * b @ fs


def _quartic_hamiltonian() -> tuple[object, object]:
    def ham(y: np.ndarray) -> float:
        q, p = y
        return float(p**2 / 2 + q**2 / 2 + q**4 / 4 + q * p**3 / 3)

    def field(y: np.ndarray) -> np.ndarray:
        q, p = y
        return np.array([p + q * p**2, -(q + q**3 + p**3 / 3)])

    return ham, field


def test_avf_conserves_a_polynomial_energy_on_a_step_solved_numerically() -> None:
    ham, field = _quartic_hamiltonian()
    y0 = np.array([0.3, -0.4])
    for h in (0.05, 0.1, 0.2):
        y1 = _avf_step(field, y0, h)
        assert abs(ham(y1) - ham(y0)) < 1e-14  # type: ignore[operator]
        # the implicit midpoint rule does not: its energy error is of size h^3
        ym = _rk_step(methods.implicit_midpoint, field, y0, h)
        assert abs(ham(ym) - ham(y0)) > 1e-7  # type: ignore[operator]


def _test_field(y: np.ndarray) -> np.ndarray:
    return np.array([y[1] + y[0] ** 2, -y[0] + y[0] * y[1]])


@pytest.mark.parametrize(
    ("method", "symmetric"),
    [
        (methods.implicit_midpoint, True),
        (methods.trapezoid, True),
        (methods.gauss_legendre_2, True),
        (methods.average_vector_field, True),
        (methods.rk4, False),
        (methods.explicit_midpoint, False),
    ],
)
def test_symmetry_by_stepping_back_and_forth(method: object, symmetric: bool) -> None:
    y0 = np.array([0.4, 0.3])
    h = 0.1

    def step(y: np.ndarray, dt: float) -> np.ndarray:
        if isinstance(method, RungeKutta):
            return _rk_step(method, _test_field, y, dt)
        return _avf_step(_test_field, y, dt)

    error = float(np.max(np.abs(step(step(y0, -h), h) - y0)))
    assert (error < 1e-14) is symmetric
    if not symmetric:
        assert error > 1e-9
    assert is_symmetric(method, 6) is symmetric  # type: ignore[arg-type]


@pytest.mark.parametrize("rk", [methods.rk4, methods.explicit_midpoint, methods.kutta3, methods.ralston])
def test_adjoint_series_equals_series_of_adjoint_tableau(rk: RungeKutta) -> None:
    star = adjoint_runge_kutta(rk)
    assert adjoint(rk, 6) == bseries(star, 6)
    assert adjoint_runge_kutta(star) == rk  # the adjoint of the adjoint is the method


def test_adjoint_of_explicit_euler_is_implicit_euler() -> None:
    assert adjoint(methods.explicit_euler, 5) == bseries(methods.implicit_euler, 5)
    assert adjoint(methods.implicit_euler, 5) == bseries(methods.explicit_euler, 5)


def test_adjoint_of_avf_is_avf() -> None:
    assert adjoint(average_vector_field, 6) == average_vector_field.bseries(6)


# ------------------------------------------------------------------ the AVF method's series
def test_avf_series_matches_taylor_expansion_of_its_step() -> None:
    # Scalar f(y) = y^2: y1 = y0 + h (y0^2 + y0 y1 + y1^2)/3 exactly (∫_0^1 of a quadratic).
    y, h = sympy.symbols("y h")
    N = 5
    y1 = y
    for _ in range(N):
        y1 = sympy.series(y + h * (y**2 + y * y1 + y1**2) / 3, h, 0, N + 1).removeO()
    series = average_vector_field.bseries(N)
    total = y + sum(h**t.order * series[t] / t.symmetry * elementary_differential(t, [y**2], [y])[0] for t in series)
    assert sympy.expand(total - y1) == 0


def test_avf_on_linear_problems_is_the_midpoint_rational_function() -> None:
    # y' = λy: y1 = (1 + z/2)/(1 - z/2) y0, so a(tall tree with n nodes) = 2^(1-n).
    for n in range(1, 8):
        tall = Tree.from_levels(list(range(1, n + 1)))
        assert average_vector_field.coefficient(tall) == R(1, 2 ** (n - 1))


def test_avf_is_second_order() -> None:
    a, e = average_vector_field.bseries(3), exact_solution(3)
    assert all(a[t] == e[t] for t in a if t.order <= 2)
    assert a[Tree.from_levels([1, 2, 3])] != e[Tree.from_levels([1, 2, 3])]


def test_bseries_method_is_immutable_picklable_and_validated() -> None:
    avf = methods.by_name("avf")
    assert avf is average_vector_field and methods.by_name("Average-Vector-Field") is avf
    assert pickle.loads(pickle.dumps(avf)) == avf
    assert copy.deepcopy(avf) == avf
    with pytest.raises(AttributeError):
        avf.name = "x"  # type: ignore[misc]
    with pytest.raises(BeaTypeError, match="name"):
        BSeriesMethod(3, lambda t, a: 1)  # type: ignore[arg-type]
    with pytest.raises(BeaValueError, match="empty"):
        BSeriesMethod("  ", lambda t, a: 1)
    with pytest.raises(BeaTypeError, match="callable"):
        BSeriesMethod("m", 1)  # type: ignore[arg-type]
    with pytest.raises(BeaTypeError, match=r"0\.5"):
        BSeriesMethod("m", lambda t, a: 0.5).bseries(2)
    with pytest.raises(BeaValueError, match="before it was computed"):
        BSeriesMethod("m", lambda t, a: a(t)).bseries(2)


def test_modified_equation_of_avf() -> None:
    # Celledoni et al. (2010), Example 1 (also BSeries.jl's test): b(•) = 1, b([•]) = 0,
    # b([[•]]) = 1/12; and the substitution law gives the AVF series back.
    b = modified_equation(average_vector_field, 4)
    assert b[Tree.leaf()] == 1 and b[Tree.from_levels([1, 2])] == 0
    assert b[Tree.from_levels([1, 2, 3])] == R(1, 12)
    from bea import substitute

    assert substitute(b, exact_solution(4)) == average_vector_field.bseries(4)


# ------------------------------------------------------------------ bad input and the CLI
def test_bad_input() -> None:
    with pytest.raises(InvalidOrderError, match="0"):
        is_symplectic(methods.rk4, 0)
    with pytest.raises(BeaTypeError, match="expected a RungeKutta"):
        is_symmetric("rk4", 3)  # type: ignore[arg-type]
    with pytest.raises(SeriesError):
        energy_preserving_order(modified_equation(methods.rk4, 3), 3)
    with pytest.raises(BeaTypeError):
        adjoint_runge_kutta(average_vector_field)  # type: ignore[arg-type]


def test_report_json_keys() -> None:
    report = structure_report(methods.rk4, 5)
    assert isinstance(report, StructureReport)
    assert list(report.to_dict()) == [
        "method",
        "order",
        "symplectic",
        "order_of_symplecticity",
        "energy_preserving",
        "energy_preserving_order",
        "symmetric",
        "conjugate_symplectic_through",
    ]


def test_cli_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["structure", "--method", "avf", "--order", "6", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data == {
        "method": "average_vector_field",
        "order": 6,
        "symplectic": False,
        "order_of_symplecticity": 2,
        "energy_preserving": True,
        "energy_preserving_order": None,
        "symmetric": True,
        "conjugate_symplectic_through": data["conjugate_symplectic_through"],
    }
    assert 3 <= data["conjugate_symplectic_through"] <= 6
    assert main(["structure", "--method", "implicit_midpoint", "--order", "5"]) == 0
    text = capsys.readouterr().out
    assert "symplectic:            yes, through order 5" in text


@pytest.mark.parametrize(
    "argv", [["--method", "nope"], ["--method", "rk4", "--order", "0"], ["--method", "rk4", "--order", "x"]]
)
def test_cli_bad_input(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["structure", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("bea: error:")


def test_derive_rejects_a_bseries_method(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["derive", "--method", "avf", "--order", "1"]) == 2
    assert "average_vector_field" in capsys.readouterr().err


def test_fraction_inputs_are_exact() -> None:
    rk = RungeKutta([[Fraction(1, 2)]], [1])
    assert is_symplectic(rk, 6)
