"""bea.methods.adaptive: RMSProp and Adam modified flows on the slow manifold.

Independent routes:
* the first-order term derived by hand (docs/optimisers.md; Cattaneo, Klusowski & Shigida, ICML 2024),
  written here with s = (g² + ε)^(-1/2) and the perturbed one-norm N_ε = Σ_j sqrt((∂_j E)² + ε);
* β₁ = β₂ = 0 makes Adam and RMSProp one-step maps θ + h U(θ), i.e. explicit Euler on U, whose modified
  equation is known in closed form (HLW IX.1): U - (h/2) U'U + h² (U''(U,U)/12 + U'U'U/3);
* the recurrence residual in one parameter: past iterates from the truncated flow's Lie series written
  here, moving averages with sympy.summation's power sums, the square root expanded by sympy.series:
  O(h^{p+2}) at a point.
"""

from __future__ import annotations

import pytest
import sympy

from bea.errors import BeaTypeError, HyperparameterValueError
from bea.flows import gradient
from bea.methods.adaptive import Adam, RMSProp

a, b, x, y, th, k = sympy.symbols("a b x y theta k")
R = sympy.Rational
TWO_PARAM = (y - a * b * x) ** 2 / 2
POINT = {a: R(13, 10), b: R(-7, 10), x: 1, y: R(3, 5)}


def _first_order_reference(loss: sympy.Expr, params: list[sympy.Symbol], b1: sympy.Rational,
                           b2: sympy.Rational, eps: sympy.Rational) -> tuple[sympy.Matrix, sympy.Matrix]:
    g = gradient(loss, params)
    s = g.applyfunc(lambda q: (q**2 + eps) ** R(-1, 2))
    norm = sum(sympy.sqrt(q**2 + eps) for q in g)
    grad_norm = gradient(norm, params)
    c1 = b1 / (1 - b1) - b2 / (1 - b2)
    c2 = b2 / (1 - b2) + R(1, 2)
    f0 = -s.multiply_elementwise(g)
    f1 = -(c1 * s + c2 * eps * s.applyfunc(lambda q: q**3)).multiply_elementwise(grad_norm)
    return f0, f1


def _vanishes_at(column: sympy.MatrixBase, point: dict) -> bool:
    return all(abs(sympy.N(e.subs(point), 40)) < sympy.Float("1e-30") for e in column)


@pytest.mark.parametrize(("b1", "b2", "eps"), [(R(1, 2), R(3, 4), R(1, 10)), (R(9, 10), R(1, 2), R(1, 1000)),
                                               (R(9, 10), R(999, 1000), R(1, 10**8))])
def test_adam_first_order_perturbed_one_norm(b1: sympy.Rational, b2: sympy.Rational, eps: sympy.Rational) -> None:
    flow = Adam(b1, b2, eps, eps_inside=True).modified_flow(TWO_PARAM, [a, b], truncation=1)
    f0, f1 = _first_order_reference(TWO_PARAM, [a, b], b1, b2, eps)
    assert _vanishes_at(flow.terms[0] - f0, POINT)
    assert _vanishes_at(flow.terms[1] - f1, POINT)
    assert not _vanishes_at(flow.terms[1], POINT)


def test_rmsprop_first_order_is_adam_with_beta1_zero() -> None:
    b2, eps = R(9, 10), R(1, 100)
    loss = sympy.log(1 + sympy.exp(a - 2 * b)) + a**2 * b**2 / 4
    flow = RMSProp(b2, eps, eps_inside=True).modified_flow(loss, [a, b], truncation=1)
    f0, f1 = _first_order_reference(loss, [a, b], R(0), b2, eps)
    point = {a: R(1, 3), b: R(1, 2)}
    assert _vanishes_at(flow.terms[0] - f0, point) and _vanishes_at(flow.terms[1] - f1, point)


def test_sign_of_the_one_norm_term_follows_beta1_versus_beta2() -> None:
    """With ε ≪ g², f_1 ≈ -h c ∇N with c = β₁/(1-β₁) - β₂/(1-β₂): along -∇N when β₁ > β₂ (penalty),
    along +∇N when β₂ > β₁ (anti-regularisation, Adam's defaults)."""
    eps = R(1, 10**12)
    g = gradient(TWO_PARAM, [a, b])
    grad_norm = gradient(sum(sympy.sqrt(q**2 + eps) for q in g), [a, b]).subs(POINT)
    for (b1, b2), sign in [((R(9, 10), R(1, 2)), -1), ((R(9, 10), R(999, 1000)), 1)]:
        f1 = Adam(b1, b2, eps, eps_inside=True).modified_flow(TWO_PARAM, [a, b], truncation=1).terms[1].subs(POINT)
        direction = sympy.N((f1.T * grad_norm)[0])
        assert sympy.sign(direction) == sign


def _euler_modified_terms(u: sympy.Expr) -> list[sympy.Expr]:
    d = sympy.diff
    return [u, -d(u, th) * u / 2, d(u, th, 2) * u**2 / 12 + d(u, th) ** 2 * u / 3]


@pytest.mark.parametrize("inside", [True, False])
def test_zero_decays_give_explicit_euler_on_the_preconditioned_field(inside: bool) -> None:
    loss, eps = th**4 / 4 + th**2 / 2, R(1, 10)
    g = sympy.diff(loss, th)
    u = -g / sympy.sqrt(g**2 + eps) if inside else -g / (sympy.sqrt(g**2) + eps)
    expected = _euler_modified_terms(u)
    point = {th: R(7, 10)}
    for method in (Adam(0, 0, eps, eps_inside=inside), RMSProp(0, eps, eps_inside=inside)):
        flow = method.modified_flow(loss, [th], truncation=2)
        for power in range(3):
            assert _vanishes_at(flow.terms[power] - sympy.Matrix([expected[power]]), point), (method, power)


def _moment_sum(i: int, beta: sympy.Rational) -> sympy.Expr:
    """Σ_{k≥0} k^i β^k = (x d/dx)^i 1/(1 - x) at x = β, exactly."""
    total: sympy.Expr = 1 / (1 - k)
    for _ in range(i):
        total = k * sympy.diff(total, k)
    return total.subs(k, beta)


Jet = list[list[sympy.Expr]]  # jet[n][j]: coefficient of h^n (θ - θ₀)^j, a Taylor polynomial in h and θ


def _taylor(expr: sympy.Expr, degree: int, at: sympy.Rational, memo: dict[sympy.Expr, list[sympy.Expr]]) -> list[
        sympy.Expr]:
    """Taylor coefficients of expr(θ) at θ₀ = ``at`` through (θ - θ₀)^degree, exactly, by truncated power-series
    arithmetic over the expression tree (sums, products, rational powers): Taylor-mode differentiation."""
    if expr in memo:
        return memo[expr]
    zero = [sympy.Integer(0)] * (degree + 1)

    def times(u: list[sympy.Expr], v: list[sympy.Expr]) -> list[sympy.Expr]:
        return [sympy.expand(sum((u[i] * v[n - i] for i in range(n + 1)), sympy.Integer(0))) for n in range(degree + 1)]

    if not expr.has(th):
        out = [expr, *zero[1:]]
    elif expr == th:
        out = [at, sympy.Integer(1), *zero[2:]]
    elif expr.is_Add:
        parts = [_taylor(a, degree, at, memo) for a in expr.args]
        out = [sympy.expand(sum((part[n] for part in parts), sympy.Integer(0))) for n in range(degree + 1)]
    elif expr.is_Mul:
        out = [sympy.Integer(1), *zero[1:]]
        for factor in expr.args:
            out = times(out, _taylor(factor, degree, at, memo))
    elif expr.is_Pow and expr.exp.is_Rational:
        base = _taylor(expr.base, degree, at, memo)
        assert base[0] != 0, expr
        u = [sympy.Integer(0), *(c / base[0] for c in base[1:])]  # base = base₀ (1 + u), u = O(θ - θ₀)
        series, power = [sympy.Integer(1), *zero[1:]], [sympy.Integer(1), *zero[1:]]
        for j in range(1, degree + 1):
            power = times(power, u)
            binomial = sympy.binomial(expr.exp, j)
            series = [a + binomial * b for a, b in zip(series, power, strict=True)]
        out = [sympy.expand(base[0] ** expr.exp * c) for c in series]
    else:
        raise NotImplementedError(f"no Taylor rule for {expr.func}")
    memo[expr] = out
    return out


def _jet(terms: list[sympy.Expr], top: int, degree: int, at: sympy.Rational) -> Jet:
    """The jet at θ₀ = ``at`` of Σ_n h^n terms[n](θ): Taylor coefficients through h^top and (θ - θ₀)^degree."""
    memo: dict[sympy.Expr, list[sympy.Expr]] = {}
    return [_taylor(terms[n] if n < len(terms) else sympy.Integer(0), degree, at, memo) for n in range(top + 1)]


def _lie(jet: Jet, field: Jet) -> Jet:
    """The jet of (d/dθ e) · field from the jets of e and of the field, one θ-degree shorter."""
    degree, top = len(jet[0]) - 2, len(jet) - 1
    derivative = [[(j + 1) * row[j + 1] for j in range(degree + 1)] for row in jet]
    return [[sympy.expand(sum((derivative[a][i] * field[n - a][j - i] for a in range(n + 1) for i in range(j + 1)),
                              sympy.Integer(0))) for j in range(degree + 1)] for n in range(top + 1)]


def _series_coefficients(step: list[sympy.Expr], m: list[sympy.Expr], w: list[sympy.Expr]) -> list[sympy.Expr]:
    """Taylor coefficients in h of step + h m / √w from those of step, m and w (w₀ > 0), through h^(len - 1).

    1/√w = w₀^(-1/2) Σ_j binom(-1/2, j) u^j with u = w/w₀ - 1 = O(h): truncated power-series arithmetic.
    """
    top = len(step) - 1

    def times(u: list[sympy.Expr], v: list[sympy.Expr]) -> list[sympy.Expr]:
        return [sympy.expand(sum((u[i] * v[n - i] for i in range(n + 1)), sympy.Integer(0))) for n in range(top + 1)]

    u = [sympy.Integer(0), *(c / w[0] for c in w[1:])]
    inverse_root = [sympy.Integer(1), *([sympy.Integer(0)] * top)]
    power = list(inverse_root)
    for j in range(1, top + 1):
        power = times(power, u)
        binomial = sympy.binomial(sympy.Rational(-1, 2), j)
        inverse_root = [a + binomial * b for a, b in zip(inverse_root, power, strict=True)]
    shifted = [sympy.Integer(0), *times(m, inverse_root)[:top]]  # h m / √w, without the factor 1/√w₀
    return [sympy.expand(a + b / sympy.sqrt(w[0])) for a, b in zip(step, shifted, strict=True)]


def _residual_order(method: Adam | RMSProp, p: int, beta1: sympy.Rational | None) -> int:
    """The lowest power of h in θ_{n+1} - θ_n + h m/√(v + ε) on the truncated flow, at θ = 7/10.

    Every quantity is a jet at θ₀ = 7/10 (Taylor coefficients in h and θ - θ₀): the Lie derivative
    D e = e'(θ) f̃_h(θ) of a jet is a jet one θ-degree shorter, and top applications need degree top.
    """
    loss = th**4 / 4 + th**2 / 2
    flow = method.modified_flow(loss, [th], truncation=p)
    g = sympy.diff(loss, th)
    top = p + 2
    theta0 = R(7, 10)
    field = _jet([t[0] for t in flow.terms], top, top, theta0)

    def lie(expr: sympy.Expr) -> list[Jet]:
        out = [_jet([expr], top, top, theta0)]
        for _ in range(top):
            out.append(_lie(out[-1], field))
        return out

    def at_theta0(jets: list[Jet], weights: list[sympy.Expr]) -> list[sympy.Expr]:
        """Σ_i weights[i] h^i jets[i] at θ₀, by powers of h through h^top."""
        return [sympy.expand(sum((weights[i] * jets[i][n - i][0] for i in range(n + 1)), sympy.Integer(0)))
                for n in range(top + 1)]

    def average(expr: sympy.Expr, beta: sympy.Rational) -> list[sympy.Expr]:
        return at_theta0(lie(expr), [(1 - beta) * (-1) ** i / sympy.factorial(i) * _moment_sum(i, beta)
                                     for i in range(top + 1)])

    m = [g.subs(th, theta0), *([sympy.Integer(0)] * top)] if beta1 is None else average(g, beta1)
    v = average(g**2, method.beta2)
    step = at_theta0(lie(th), [1 / sympy.factorial(i) for i in range(top + 1)])
    step[0] -= theta0
    series = _series_coefficients(step, m, [v[0] + method.eps, *v[1:]])
    for power in range(top + 1):
        if abs(sympy.N(series[power], 30)) > 1e-25:
            return power
    return top + 1


@pytest.mark.slow
def test_adam_recurrence_residual() -> None:
    method = Adam(R(1, 2), R(3, 5), R(1, 10), eps_inside=True)
    assert _residual_order(method, 2, method.beta1) == 4


def test_rmsprop_recurrence_residual() -> None:
    method = RMSProp(R(3, 5), R(1, 10), eps_inside=True)
    assert _residual_order(method, 1, None) == 3


def test_eps_outside_uses_abs_and_matches_inside_form_shifted() -> None:
    """torch's ε outside: f_0 = -g/(|g| + ε)."""
    flow = Adam(R(9, 10), R(99, 100), R(1, 10)).modified_flow(th**2 / 2, [th], truncation=1)
    assert sympy.simplify(flow.terms[0][0] + th / (sympy.Abs(th) + R(1, 10))) == 0
    assert flow.method.name == "adam"


@pytest.mark.parametrize(
    ("make", "error", "text"),
    [
        (lambda: Adam(beta1=1), HyperparameterValueError, "beta1 must lie in [0, 1), got 1"),
        (lambda: Adam(beta2="3/2"), HyperparameterValueError, "beta2 must lie in [0, 1), got 3/2"),
        (lambda: Adam(eps=0), HyperparameterValueError, "eps must be > 0, got 0"),
        (lambda: RMSProp(eps="-1e-8"), HyperparameterValueError, "eps must be > 0, got -1/100000000"),
        (lambda: RMSProp(beta2=0.99), BeaTypeError, "beta2 = 0.99 is a float"),
        (lambda: Adam(eps_inside=1), BeaTypeError, "eps_inside must be a bool, got 1"),
        (lambda: RMSProp(eps_inside="yes"), BeaTypeError, "eps_inside must be a bool, got 'yes'"),
    ],
)
def test_bad_hyperparameters(make: object, error: type[Exception], text: str) -> None:
    with pytest.raises(error) as info:
        make()  # type: ignore[operator]
    assert text in str(info.value)


def test_defaults_are_torchs() -> None:
    assert Adam().hyperparameters == {"beta1": R(9, 10), "beta2": R(999, 1000), "eps": R(1, 10**8)}
    assert RMSProp().hyperparameters == {"beta2": R(99, 100), "eps": R(1, 10**8)}
