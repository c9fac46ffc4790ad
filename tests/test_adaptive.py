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


def _residual_order(method: Adam | RMSProp, p: int, beta1: sympy.Rational | None) -> int:
    """The lowest power of h in θ_{n+1} - θ_n + h m/√(v + ε) on the truncated flow, at θ = 7/10."""
    loss = th**4 / 4 + th**2 / 2
    flow = method.modified_flow(loss, [th], truncation=p)
    h, field = flow.h, flow.field()[0]
    g = sympy.diff(loss, th)
    top = p + 2
    derivs = [th]
    for _ in range(top):
        derivs.append(sympy.diff(derivs[-1], th) * field)

    def lie(expr: sympy.Expr) -> list[sympy.Expr]:
        out = [expr]
        for _ in range(top):
            out.append(sympy.diff(out[-1], th) * field)
        return out

    def average(expr: sympy.Expr, beta: sympy.Rational) -> sympy.Expr:
        d = lie(expr)
        return sum((1 - beta) * (-h) ** i / sympy.factorial(i) * sympy.summation(k**i * beta**k, (k, 0, sympy.oo))
                   * d[i] for i in range(top + 1))

    m = g if beta1 is None else average(g, beta1)
    v = average(g**2, method.beta2)
    nxt = sum(h**i / sympy.factorial(i) * derivs[i] for i in range(top + 1))
    residual = (nxt - th + h * m / sympy.sqrt(v + method.eps)).subs(th, R(7, 10))
    series = sympy.series(residual, h, 0, top + 1).removeO()
    for power in range(top + 1):
        if abs(sympy.N(series.coeff(h, power), 30)) > 1e-25:
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
    ],
)
def test_bad_hyperparameters(make: object, error: type[Exception], text: str) -> None:
    with pytest.raises(error) as info:
        make()  # type: ignore[operator]
    assert text in str(info.value)


def test_defaults_are_torchs() -> None:
    assert Adam().hyperparameters == {"beta1": R(9, 10), "beta2": R(999, 1000), "eps": R(1, 10**8)}
    assert RMSProp().hyperparameters == {"beta2": R(99, 100), "eps": R(1, 10**8)}
