"""Modified Hamiltonians, each fact checked by a route independent of bea.hamiltonian's own.

Routes: published formulas (HLW ch. IX.3; Tuckerman 2010 for velocity Verlet on the oscillator); the
tree formulas of bea.modified for Runge--Kutta methods; the all-order closed form of a quadratic H from
the step matrix M (linear algebra: log M); exact conservation of H̃ by the closed-form step as a power
series in h; the adjoint relation H̃*(h) = H̃(-h); 1-dof Hamiltonian fields are divergence-free.
"""

from __future__ import annotations

import copy
import pickle
from typing import Any

import pytest
import sympy

from bea import methods, modified_vector_field
from bea.errors import BeaTypeError, BeaValueError, InvalidOrderError, NotHamiltonianError, UnknownMethodError
from bea.hamiltonian import ModifiedHamiltonian, hamiltonian_vector_field, modified_hamiltonian, step_series

q, p, h = sympy.symbols("q p h")
q1, q2, p1, p2 = sympy.symbols("q1 q2 p1 p2")
PENDULUM = p**2 / 2 - sympy.cos(q)


SE = methods.symplectic_euler  # HLW (I.1.9): p_{n+1} = p_n - h H_q(q_n, p_{n+1}), q_{n+1} = q_n + h H_p(q_n, p_{n+1})
SE_ADJOINT = methods.symplectic_euler_adjoint
SV = methods.stormer_verlet  # velocity Verlet: half steps in p


def _coeff(expr: sympy.Expr, k: int) -> sympy.Expr:
    return sympy.expand(expr).coeff(h, k)


# ----------------------------------------------------------------------------- published formulas


def test_symplectic_euler_first_term_is_published() -> None:
    """HLW ch. IX.3: symplectic Euler (p first) has H̃ = H - (h/2) H_p H_q + O(h^2); the adjoint + (h/2)."""
    Hp, Hq = sympy.diff(PENDULUM, p), sympy.diff(PENDULUM, q)
    mh = modified_hamiltonian(SE, PENDULUM, [q], [p], truncation=1)
    assert sympy.expand(mh.terms[1] - (-Hp * Hq / 2)) == 0
    adj = modified_hamiltonian(SE_ADJOINT, PENDULUM, [q], [p], truncation=1)
    assert sympy.expand(adj.terms[1] - Hp * Hq / 2) == 0
    assert mh.verify() and adj.verify()


def test_symplectic_euler_second_term_non_separable() -> None:
    """HLW ch. IX.3 also gives the h^2 term of symplectic Euler:
    H~ = H - (h/2) H_p H_q + (h^2/12)(H_pp H_q^2 + H_qq H_p^2 + 4 H_pq H_p H_q) + O(h^3);
    a non-separable H exercises the H_pq term."""
    H = p**2 / 2 + q**2 / 2 + q * p**2 / 3
    d = lambda *v: sympy.diff(H, *v)  # noqa: E731
    expected = (d(p, p) * d(q) ** 2 + d(q, q) * d(p) ** 2 + 4 * d(p, q) * d(p) * d(q)) / 12
    for method in (SE, SE_ADJOINT):
        mh = modified_hamiltonian(method, H, [q], [p], truncation=2)
        assert sympy.expand(mh.terms[2] - expected) == 0


def test_symplectic_euler_on_the_oscillator_first_term() -> None:
    # the textbook invariant of p-first symplectic Euler on H = (p^2 + q^2)/2 is (p^2 + q^2)/2 - h p q/2 + O(h^2)
    mh = modified_hamiltonian(SE, (p**2 + q**2) / 2, [q], [p], truncation=1)
    assert sympy.expand(mh.expr.subs(mh.h, h) - ((p**2 + q**2) / 2 - h * p * q / 2)) == 0


def test_stormer_verlet_has_only_even_powers() -> None:
    """HLW ch. IX.4: a symmetric method has a modified equation in even powers of h."""
    mh = modified_hamiltonian(SV, PENDULUM, [q], [p], truncation=4)
    assert mh.terms[1] == 0 and mh.terms[3] == 0
    assert mh.terms[2] != 0 and mh.terms[4] != 0
    for k in (1, 3):
        assert mh.field_terms[k].is_zero_matrix


def test_velocity_verlet_oscillator_invariant_is_published() -> None:
    """Tuckerman, *Statistical Mechanics* (2010), eq. (3.13.3): velocity Verlet on p^2/2 + q^2/2 conserves
    p^2/(2(1 - h^2/4)) + q^2/2 exactly, so H̃ is a multiple of it: coef(p^2)/coef(q^2) = 1/(1 - h^2/4)."""
    P = 6
    mh = modified_hamiltonian(SV, (p**2 + q**2) / 2, [q], [p], truncation=P)
    Ht = sympy.expand(mh.expr.subs(mh.h, h))
    cp, cq, cpq = Ht.coeff(p, 2), Ht.coeff(q, 2), Ht.coeff(p, 1).coeff(q, 1)
    assert cpq == 0
    ratio = sympy.series(1 / (1 - h**2 / 4), h, 0, P + 1).removeO()
    assert sympy.expand(cp - sympy.expand(ratio * cq)).as_poly(h).degree() > P  # agree through h^P


# ----------------------------------------------------------------------------- quadratic H: log of the step matrix


def _truncate(e: sympy.Expr, P: int) -> sympy.Expr:
    e = sympy.expand(e)
    return sympy.Add(*(e.coeff(h, k) * h**k for k in range(P + 1)))


def _step_matrix(pair: Any, S: sympy.Matrix, n: int, P: int) -> sympy.Matrix:
    """The step matrix M of a (partitioned) RK method on y' = L y, L = J^{-1} S, through h^P: the stage
    equations Y = 1 y + h K Y (K_ij = D_ij L, D_ij = diag(a^q_ij I, a^p_ij I)) solved by the Neumann
    series Y = sum_k (hK)^k 1 y, then M = I + h sum_i D(b_i) L Y_i."""
    if hasattr(pair, "A_q"):
        (Aq, bq), (Ap, bp) = (pair.A_q, pair.b_q), (pair.A_p, pair.b_p)
    else:
        (Aq, bq), (Ap, bp) = (pair.A, pair.b), (pair.A, pair.b)
    s = len(bq)
    J_inv = sympy.Matrix(sympy.BlockMatrix([[sympy.zeros(n), sympy.eye(n)], [-sympy.eye(n), sympy.zeros(n)]]))
    L = J_inv * S

    def D(aq: Any, ap: Any) -> sympy.Matrix:
        return sympy.diag(*([sympy.sympify(aq)] * n + [sympy.sympify(ap)] * n))

    m = 2 * n
    K = sympy.zeros(s * m)
    for i in range(s):
        for j in range(s):
            K[i * m : (i + 1) * m, j * m : (j + 1) * m] = D(Aq[i][j], Ap[i][j]) * L
    term = sympy.Matrix.vstack(*([sympy.eye(m)] * s))
    Y = term
    for k in range(1, P + 1):
        term = (K * term).applyfunc(sympy.expand)
        Y = Y + h**k * term
    M = sympy.eye(m)
    for i in range(s):
        M += h * D(bq[i], bp[i]) * L * Y[i * m : (i + 1) * m, :]
    return M.applyfunc(lambda e: _truncate(e, P))


def _log_series(M: sympy.Matrix, P: int) -> sympy.Matrix:
    """log M = sum (-1)^(k+1) (M - I)^k / k through h^P (M - I = O(h))."""
    X = M - sympy.eye(M.rows)
    total, power = sympy.zeros(M.rows), sympy.eye(M.rows)
    for k in range(1, P + 1):
        power = (power * X).applyfunc(lambda e: _truncate(e, P))
        total += (-1) ** (k + 1) * power / k
    return total.applyfunc(sympy.expand)


def _closed_form_hamiltonian(pair: Any, S: sympy.Matrix, ys: list[sympy.Symbol], P: int) -> sympy.Expr:
    n = len(ys) // 2
    J = sympy.Matrix(sympy.BlockMatrix([[sympy.zeros(n), -sympy.eye(n)], [sympy.eye(n), sympy.zeros(n)]]))
    L_tilde = _log_series(_step_matrix(pair, S, n, P + 1), P + 1) / h  # the modified field is L~ y
    y = sympy.Matrix(ys)
    Ht = sympy.expand(sympy.radsimp((y.T * J * L_tilde * y)[0, 0] / 2))
    return sum((Ht.coeff(h, k) * h**k for k in range(P + 1)), sympy.Integer(0))


@pytest.mark.parametrize("pair", [SE, SE_ADJOINT, SV, methods.stormer_verlet_adjoint, methods.lobatto_iiia_iiib,
                                  methods.yoshida4, methods.implicit_midpoint, methods.gauss_legendre_2],
                         ids=lambda m: m.name)
def test_quadratic_hamiltonian_matches_log_of_step_matrix(pair: Any) -> None:
    P = 5
    S = sympy.Matrix([[2, 1], [1, 1]])  # H = q^2 + q p + p^2/2
    H = (sympy.Matrix([q, p]).T * S * sympy.Matrix([q, p]))[0, 0] / 2
    mh = modified_hamiltonian(pair, H, [q], [p], truncation=P)
    expected = _closed_form_hamiltonian(pair, S, [q, p], P)
    assert sympy.expand(mh.expr.subs(mh.h, h) - expected) == 0


def test_two_degrees_of_freedom_quadratic_matches_log_of_step_matrix() -> None:
    P = 3
    ys = [q1, q2, p1, p2]
    S = sympy.Matrix([[2, 1, 0, 0], [1, 3, 0, 1], [0, 0, 1, 0], [0, 1, 0, 2]])
    H = sympy.expand((sympy.Matrix(ys).T * S * sympy.Matrix(ys))[0, 0] / 2)
    for pair in (SV, methods.implicit_midpoint):
        mh = modified_hamiltonian(pair, H, [q1, q2], [p1, p2], truncation=P)
        assert sympy.expand(mh.expr.subs(mh.h, h) - _closed_form_hamiltonian(pair, S, ys, P)) == 0


def test_oscillator_all_orders_closed_form_for_implicit_midpoint() -> None:
    # implicit midpoint rotates the oscillator by 2 arctan(h/2): H~ = (2/h) arctan(h/2) (p^2 + q^2)/2
    P = 6
    mh = modified_hamiltonian(methods.implicit_midpoint, (p**2 + q**2) / 2, [q], [p], truncation=P)
    closed = sympy.series(2 / h * sympy.atan(h / 2), h, 0, P + 1).removeO() * (p**2 + q**2) / 2
    assert sympy.expand(mh.expr.subs(mh.h, h) - closed) == 0


# ----------------------------------------------------------------------------- other routes on nonlinear H


@pytest.mark.parametrize("method", [methods.implicit_midpoint, methods.gauss_legendre_2], ids=lambda m: m.name)
def test_field_terms_match_the_tree_route(method: Any) -> None:
    """For Runge--Kutta methods the modified equation from trees (bea.modified) is a second route."""
    P = 4
    mh = modified_hamiltonian(method, PENDULUM, [q], [p], truncation=P)
    f = hamiltonian_vector_field(PENDULUM, [q], [p])
    trees = modified_vector_field(method, f, [q, p], h, P + 1)
    for k in range(P + 1):
        for a, b in zip(mh.field_terms[k], trees, strict=True):
            assert sympy.simplify(a - _coeff(b, k)) == 0
    assert mh.verify()


@pytest.mark.parametrize("name", ["symplectic_euler", "stormer_verlet", "lobatto_iiia_iiib"])
def test_field_terms_match_the_pseries_route(name: str) -> None:
    """For partitioned methods the P-series modified equation on concrete fields (bicoloured trees,
    bea.pseries) is a second route; it must agree term by term, exactly."""
    pseries = pytest.importorskip("bea.pseries", reason="the P-series route has not landed")
    P = 4
    method = getattr(methods, name)
    mh = modified_hamiltonian(method, PENDULUM, [q], [p], truncation=P)
    f, g = sympy.Matrix([sympy.diff(PENDULUM, p)]), sympy.Matrix([-sympy.diff(PENDULUM, q)])
    ft, gt = pseries.modified_vector_field(method, f, g, [q], [p], h, P)
    for k in range(P + 1):
        assert sympy.simplify(mh.field_terms[k][0] - _coeff(ft[0], k)) == 0, k
        assert sympy.simplify(mh.field_terms[k][1] - _coeff(gt[0], k)) == 0, k


def test_henon_heiles_two_degrees_of_freedom_against_trees() -> None:
    H = (p1**2 + p2**2) / 2 + (q1**2 + q2**2) / 2 + q1**2 * q2 - q2**3 / 3
    mh = modified_hamiltonian(methods.implicit_midpoint, H, [q1, q2], [p1, p2], truncation=2)
    f = hamiltonian_vector_field(H, [q1, q2], [p1, p2])
    trees = modified_vector_field(methods.implicit_midpoint, f, [q1, q2, p1, p2], h, 3)
    for k in range(3):
        assert all(sympy.expand(a - _coeff(b, k)) == 0 for a, b in zip(mh.field_terms[k], trees, strict=True))
    assert mh.verify()
    # HLW: H~ = H + h^2/24 H''(f, f)... checked here only through its definition: vanishes at the origin
    assert mh.terms[2].subs({q1: 0, q2: 0, p1: 0, p2: 0}) == 0


def _taylor_in_h(expr: sympy.Expr, P: int) -> list[sympy.Expr]:
    """The coefficients of h^0..h^P of ``expr``, as derivatives at h = 0 (trig rewritten as exponentials)."""
    out = []
    for k in range(P + 1):
        out.append(sympy.expand(sympy.expand(expr.subs(h, 0) / sympy.factorial(k)).rewrite(sympy.exp)))
        expr = sympy.diff(expr, h)
    return out


def H_full_step(Ht: sympy.Expr, qn: sympy.Expr, pn: sympy.Expr) -> sympy.Expr:
    return Ht.subs({q: qn, p: pn}, simultaneous=True) - Ht


@pytest.mark.parametrize(("which", "P"), [("symplectic_euler", 2), ("stormer_verlet", 3)])
def test_closed_form_step_conserves_the_truncated_modified_hamiltonian(which: str, P: int) -> None:
    """H~_P(Φ_h(y)) - H~_P(y) = O(h^(P+2)) with the explicit step written out by hand (pendulum)."""
    if which == "symplectic_euler":
        pn = p - h * sympy.sin(q)
        qn = q + h * pn
        mh = modified_hamiltonian(SE, PENDULUM, [q], [p], truncation=P)
    else:
        half = p - h / 2 * sympy.sin(q)
        qn = q + h * half
        pn = half - h / 2 * sympy.sin(qn)
        mh = modified_hamiltonian(SV, PENDULUM, [q], [p], truncation=P)
    Ht = mh.expr.subs(mh.h, h)
    change = _taylor_in_h(Ht.subs({q: qn, p: pn}, simultaneous=True) - Ht, P + 1)
    assert change == [0] * (P + 2)
    if which == "symplectic_euler":  # and the next power does not vanish: the check can fail
        assert _taylor_in_h(H_full_step(Ht, qn, pn), P + 2)[-1] != 0


def test_adjoint_has_the_modified_hamiltonian_at_minus_h() -> None:
    """The adjoint method Φ*_h = Φ_{-h}^{-1} has the modified equation f~(y, -h) (HLW ch. IX.2)."""
    P = 3
    a = modified_hamiltonian(SE, PENDULUM, [q], [p], truncation=P)
    b = modified_hamiltonian(SE_ADJOINT, PENDULUM, [q], [p], truncation=P)
    for k in range(P + 1):
        assert sympy.simplify(b.terms[k] - (-1) ** k * a.terms[k]) == 0


# ----------------------------------------------------------------------------- non-symplectic methods


def test_explicit_euler_has_no_modified_hamiltonian_beyond_h0() -> None:
    with pytest.raises(NotHamiltonianError, match=r"explicit_euler .* h\^1 term") as info:
        modified_hamiltonian(methods.explicit_euler, PENDULUM, [q], [p], truncation=2)
    assert info.value.power == 1
    assert not sympy.Matrix(info.value.antisymmetric_part).is_zero_matrix


def test_rk4_on_the_pendulum_fails_where_the_tree_field_has_divergence() -> None:
    """In one degree of freedom a field is Hamiltonian iff its divergence vanishes: the first h^k term of
    RK4's tree-route modified equation with nonzero divergence is where no H~ exists."""
    f = hamiltonian_vector_field(PENDULUM, [q], [p])
    field = modified_vector_field(methods.rk4, f, [q, p], h, 7)
    divergence = [sympy.simplify(sympy.diff(_coeff(field[0], k), q) + sympy.diff(_coeff(field[1], k), p))
                  for k in range(7)]
    first = next(k for k, d in enumerate(divergence) if d != 0)
    with pytest.raises(NotHamiltonianError) as info:
        modified_hamiltonian(methods.rk4, PENDULUM, [q], [p], truncation=6)
    assert info.value.power == first
    assert first >= 4  # RK4 has order 4: the h^1..h^3 terms vanish


def test_step_series_of_implicit_euler_matches_the_closed_form() -> None:
    # implicit Euler on y' = y^2: y1 = (1 - sqrt(1 - 4 h y)) / (2h)
    y = sympy.Symbol("y")
    closed = sympy.expand(sympy.series((1 - sympy.sqrt(1 - 4 * h * y)) / (2 * h), h, 0, 6).removeO())
    got = step_series(methods.implicit_euler, [y**2], [y], 5)
    assert [c[0] for c in got] == [closed.coeff(h, k) for k in range(1, 6)]


# ----------------------------------------------------------------------------- input, output, objects


def test_string_input_and_substitutions() -> None:
    mh = modified_hamiltonian("implicit_midpoint", "p^2/(2*m) - g*cos(q)", "q", "p", truncation=2,
                              substitutions="m=1 g=1")
    assert sympy.expand(mh.hamiltonian - PENDULUM) == 0
    assert mh.method == "implicit_midpoint"


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"H": "p^2/2 - g*cos(q)"}, BeaValueError, "uses g, not declared"),
        ({"q": ["q1", "q2"], "p": ["p1"], "H": "p1^2 + q1 + q2"}, BeaValueError, r"same length.*q1.*q2.*p1"),
        ({"truncation": 0}, InvalidOrderError, "at least 1, got 0"),
        ({"truncation": 1.5}, BeaTypeError, "1.5"),
        ({"method": "adam"}, UnknownMethodError, r"adam.*construct bea\.methods\.Adam"),
        ({"method": "rk5"}, UnknownMethodError, r"unknown method .rk5.*leapfrog"),
        ({"H": "p^2/2 - g*cos(q)", "substitutions": "q=1"}, BeaValueError, "declared as q or p"),
        ({"q": ["q"], "p": ["q"]}, BeaValueError, "more than once"),
        ({"H": sympy.Float(0.5) * p**2}, BeaTypeError, "floats"),
    ],
)
def test_bad_input_names_the_value(kwargs: dict[str, Any], error: type, match: str) -> None:
    args: dict[str, Any] = {"method": "implicit_midpoint", "H": PENDULUM, "q": [q], "p": [p], "truncation": 1}
    args.update(kwargs)
    with pytest.raises(error, match=match):
        modified_hamiltonian(args.pop("method"), args.pop("H"), args.pop("q"), args.pop("p"), **args)


def test_result_is_immutable_picklable_and_printable() -> None:
    mh = modified_hamiltonian(SE, PENDULUM, [q], [p], truncation=2)
    assert isinstance(mh, ModifiedHamiltonian)
    with pytest.raises(AttributeError):
        mh.truncation = 3  # type: ignore[misc]
    for clone in (pickle.loads(pickle.dumps(mh)), copy.deepcopy(mh)):
        assert clone == mh
    data = mh.to_dict()
    assert data["method"] == "symplectic_euler" and data["truncation"] == 2
    assert [t["power"] for t in data["terms"]] == [0, 1, 2]
    assert sympy.simplify(sympy.sympify(data["hamiltonian"], locals={"h": mh.h}) - mh.expr) == 0
    assert "order" not in data
    assert r"\tilde H" in sympy.latex(mh) and "O(h" in sympy.sstr(mh)
    assert mh.truncated(1) == mh.terms[0] + mh.h * mh.terms[1]
    with pytest.raises(InvalidOrderError):
        mh.truncated(3)


def test_verify_detects_a_wrong_term() -> None:
    mh = modified_hamiltonian(SE, PENDULUM, [q], [p], truncation=1)
    wrong = ModifiedHamiltonian(
        method=mh.method, hamiltonian=mh.hamiltonian, q=mh.q, p=mh.p, h=mh.h, truncation=1,
        terms=(mh.terms[0], -mh.terms[1]), field_terms=mh.field_terms, base_point=mh.base_point,
    )
    assert mh.verify() and not wrong.verify()


# ----------------------------------------------------------------------------- command line


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    from bea.cli import main

    status = main(["modified-hamiltonian", *argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_cli_json_symplectic_euler(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--method", "implicit_midpoint", "--hamiltonian", "p^2/2 - cos(q)", "--q", "q", "--p", "p",
            "--truncation", "2", "--format", "json"]
    status, out, err = _run(capsys, *argv)
    assert status == 0 and err == ""
    data = __import__("json").loads(out)
    assert set(data) >= {"method", "truncation", "terms", "hamiltonian"} and "order" not in data
    assert data["method"] == "implicit_midpoint" and data["truncation"] == 2 and data["verified"] is True
    hs = sympy.Symbol("h", positive=True)
    expr = sympy.sympify(data["hamiltonian"], locals={"h": hs, "q": q, "p": p})
    # HLW: implicit midpoint has H~ = H - h^2/24 H''(f, f) + O(h^4) with f = J^{-1} grad H
    expected = PENDULUM - hs**2 / 24 * (p**2 * sympy.cos(q) + sympy.sin(q) ** 2)
    assert sympy.simplify(expr - expected) == 0
    assert [t["power"] for t in data["terms"]] == [0, 1, 2]


def test_cli_text_latex_and_deprecated_order(capsys: pytest.CaptureFixture[str]) -> None:
    base = ["--method", "gauss_legendre_2", "--hamiltonian", "p1^2/2 + p2^2/2 + q1^2*q2^2", "--q", "q1", "--q", "q2",
            "--p", "p1", "--p", "p2"]
    status, out, err = _run(capsys, *base, "--truncation", "1")
    assert status == 0 and "h^1: 0" in out and "term by term: yes" in out
    status, out, err = _run(capsys, *base, "--order", "1", "--format", "latex")
    assert status == 0 and r"\tilde H" in out
    assert err.count("\n") == 1 and "deprecated" in err and "--truncation" in err


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--hamiltonian", "p^2/2 - g*cos(q)"], "g"),
        (["--q", "r"], "'r'"),
        (["--truncation", "0"], "0"),
        (["--method", "adam"], "adam"),
        (["--method", "rk4", "--truncation", "6"], "h^"),
    ],
)
def test_cli_bad_input_exits_2_with_one_line(capsys: pytest.CaptureFixture[str], extra: list[str], needle: str) -> None:
    args = {"--method": "implicit_midpoint", "--hamiltonian": "p^2/2 - cos(q)", "--truncation": "1"}
    qs, ps = ["q"], ["p"]
    i = 0
    while i < len(extra):
        if extra[i] == "--q":
            qs.append(extra[i + 1])
        else:
            args[extra[i]] = extra[i + 1]
        i += 2
    argv = [x for k, v in args.items() for x in (k, v)]
    for name in qs:
        argv += ["--q", name]
    for name in ps:
        argv += ["--p", name]
    status, out, err = _run(capsys, *argv)
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and needle in err
