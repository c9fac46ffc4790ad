"""bea.methods.momentum: heavy-ball and Nesterov modified flows on the slow manifold.

Independent routes:
* published first-order terms (heavy-ball: Kovachki & Stuart JMLR 2021 Thm 4, Ghosh et al. ICLR 2023
  Thm 3.1; Nesterov: derived by hand in docs/optimisers.md), written out here with g and H;
* β = 0 is gradient descent: the tree route (bea.modified_flow) through h^4;
* quadratic losses: the recurrence is linear, its slow characteristic root μ(h) gives the exact modified
  flow θ' = (log μ / h) θ; its Taylor series in h matches every computed power;
* the three-term recurrences θ_{n+1} - θ_n - β(θ_n - θ_{n-1}) = -h g_n (heavy-ball),
  = -h((1+β) g_n - β g_{n-1}) (Nesterov) evaluated on the truncated flow's exact time-h maps
  (Taylor series in t written here for one parameter): residual O(h^{p+2}).
"""

from __future__ import annotations

from typing import Any

import pytest
import sympy

from bea import modified_flow
from bea.errors import BeaTypeError, HyperparameterValueError, InvalidLossError
from bea.flows import gradient
from bea.methods.momentum import HeavyBall, Nesterov

a, b, x, y, th = sympy.symbols("a b x y theta")
R = sympy.Rational
TWO_PARAM = (y - a * b * x) ** 2 / 2
NON_POLY = sympy.log(sympy.cosh(a - b)) + sympy.exp(a * b) / 3  # a non-polynomial two-parameter loss


def _zero(column: sympy.MatrixBase) -> bool:
    return all(sympy.simplify(sympy.expand(e)) == 0 for e in column)


@pytest.mark.parametrize("beta", [R(0), R(1, 2), R(9, 10)])
@pytest.mark.parametrize("loss", [TWO_PARAM, NON_POLY])
def test_heavy_ball_first_order_is_published_igr(beta: sympy.Rational, loss: sympy.Expr) -> None:
    """θ' = -(1/(1-β)) ∇[E + h(1+β)/(4(1-β)²)‖∇E‖²] + O(h²)."""
    flow = HeavyBall(beta).modified_flow(loss, [a, b], truncation=1)
    g = gradient(loss, [a, b])
    penalty = (1 + beta) / (4 * (1 - beta) ** 2) * sum(e**2 for e in g)
    assert _zero(flow.terms[0] + g / (1 - beta))
    assert _zero(flow.terms[1] + gradient(penalty, [a, b]) / (1 - beta))
    assert flow.is_gradient(1)


@pytest.mark.parametrize("beta", [R(0), R(1, 3), R(9, 10)])
def test_nesterov_first_order(beta: sympy.Rational) -> None:
    """θ' = -(1/(1-β)) ∇[E + h(1-β+2β²)/(4(1-β)²)‖∇E‖²] + O(h²) (hand derivation, docs/optimisers.md)."""
    flow = Nesterov(beta).modified_flow(TWO_PARAM, [a, b], truncation=1)
    g = gradient(TWO_PARAM, [a, b])
    penalty = (1 - beta + 2 * beta**2) / (4 * (1 - beta) ** 2) * sum(e**2 for e in g)
    assert _zero(flow.terms[0] + g / (1 - beta))
    assert _zero(flow.terms[1] + gradient(penalty, [a, b]) / (1 - beta))


@pytest.mark.parametrize("method", [HeavyBall(0), Nesterov(0)])
def test_beta_zero_is_gradient_descent_to_h4(method: HeavyBall | Nesterov) -> None:
    loss = TWO_PARAM + a**4 / 4
    ours = method.modified_flow(loss, [a, b], truncation=4)
    trees = modified_flow(loss, [a, b], truncation=4)
    for k in range(5):
        assert sympy.expand(ours.terms[k] - trees.terms[k]).is_zero_matrix, k


def _truncate(expr: sympy.Expr, h: sympy.Symbol, top: int) -> sympy.Expr:
    poly = sympy.Poly(sympy.expand(expr), h)
    return sum((poly.coeff_monomial(h**k) * h**k for k in range(top + 1)), sympy.Integer(0))


@pytest.mark.parametrize("nesterov", [False, True])
@pytest.mark.parametrize("beta", [R(1, 2), R(9, 10)])
def test_quadratic_loss_matches_the_slow_characteristic_root(nesterov: bool, beta: sympy.Rational) -> None:
    """E = λθ²/2: the recurrence is linear; on the flow θ' = c(h)θ the ratio θ_{n+1}/θ_n is μ = exp(h c(h)),
    which must be a root of the characteristic polynomial (heavy-ball: μ² - (1+β-hλ)μ + β; Nesterov:
    μ² - (1+β)(1-hλ)μ + β(1-hλ)) to O(h^{p+2})."""
    lam, p = R(3, 2), 5
    method = Nesterov(beta) if nesterov else HeavyBall(beta)
    flow = method.modified_flow(lam * th**2 / 2, [th], truncation=p)
    h = flow.h
    rate = sympy.expand(flow.field()[0] / th)
    assert rate.free_symbols <= {h}
    z = sympy.expand(h * rate)
    mu = sum((z**n / sympy.factorial(n) for n in range(p + 2)), sympy.Integer(0))
    mu = _truncate(mu, h, p + 1)
    if nesterov:
        char = mu**2 - (1 + beta) * (1 - h * lam) * mu + beta * (1 - h * lam)
    else:
        char = mu**2 - (1 + beta - h * lam) * mu + beta
    assert _truncate(char, h, p + 1) == 0
    # and the next power is generically not matched (the test can fail): truncating one power less breaks it
    short = sympy.expand(h * (rate - rate.coeff(h, p) * h**p))
    mu_short = _truncate(sum((short**n / sympy.factorial(n) for n in range(p + 2)), sympy.Integer(0)), h, p + 1)
    char_short = (
        mu_short**2 - ((1 + beta) * (1 - h * lam) if nesterov else (1 + beta - h * lam)) * mu_short
        + (beta * (1 - h * lam) if nesterov else beta))
    assert _truncate(char_short, h, p + 1) != 0


def _time_map(field: Any, sign: int, terms: int, top: int) -> Any:
    """θ(t) at t = ±h of θ' = field(θ), θ(0) = θ, as the Taylor polynomial Σ t^k/k! (d/dt)^k θ (one parameter),
    without the powers h^k, k > top; ``field`` is an element of the ring QQ[θ, h] (so is the result)."""
    ring = field.ring
    theta, h = ring.gens

    def cut(e: Any) -> Any:
        return ring({m: c for m, c in e.items() if m[1] <= top})

    total, derivative = theta, theta
    for k in range(1, terms + 1):
        derivative = cut(derivative.diff(theta) * field)
        total += cut((sign * h) ** k * derivative * sympy.QQ(1, int(sympy.factorial(k))))
    return total


def _order_in_h(expr: sympy.Expr, h: sympy.Symbol, up_to: int) -> int:
    """The lowest power of h with a nonzero coefficient (≤ up_to), expr a polynomial in h."""
    poly = sympy.Poly(sympy.expand(expr), h)
    for k in range(up_to + 1):
        if sympy.simplify(poly.coeff_monomial(h**k)) != 0:
            return k
    return up_to + 1


@pytest.mark.parametrize("nesterov", [False, True])
@pytest.mark.parametrize("p", [1, 2])
def test_recurrence_residual_on_the_truncated_flow(nesterov: bool, p: int) -> None:
    beta = R(3, 5)
    loss = th**3 / 6 + th**2 / 2
    method = Nesterov(beta) if nesterov else HeavyBall(beta)
    flow = method.modified_flow(loss, [th], truncation=p)
    field = flow.field()[0]
    h = flow.h
    grad = sympy.diff(loss, th)
    # exact polynomial arithmetic in QQ[θ, h], powers of h above h^(p+2) dropped as they arise
    ring, theta, hh = sympy.polys.rings.ring([th, h], sympy.QQ)
    nxt, prev = (_time_map(ring.from_expr(sympy.expand(field)), sign, p + 3, p + 2) for sign in (1, -1))
    g = ring.from_expr(grad)
    residual = nxt - theta - beta * (theta - prev)
    if nesterov:
        residual += hh * ((1 + beta) * g - beta * g.compose(theta, prev))
    else:
        residual += hh * g
    assert _order_in_h(_truncate(residual.as_expr(), h, p + 2), h, p + 2) == p + 2


def test_start_state_buffer_series() -> None:
    """On the manifold b_n = Σ β^k g(θ_{n-1-k}) = g/(1-β) + h (H f_0) / (1-β)² ... (W^{(1)}_1 = 1/(1-β)²)."""
    beta = R(1, 2)
    method = HeavyBall(beta)
    g = gradient(TWO_PARAM, [a, b])
    e = method.expansion((a, b), g)
    buffer = method.start_state(e)["momentum_buffer"]
    assert sympy.expand(e.column(buffer[0]) - g / (1 - beta)).is_zero_matrix
    f0 = -g / (1 - beta)
    expected = -(g.jacobian([a, b]) * f0) / (1 - beta) ** 2
    assert sympy.expand(e.column(buffer[1]) - expected).is_zero_matrix


@pytest.mark.parametrize(
    ("make", "error", "text"),
    [
        (lambda: HeavyBall(1), HyperparameterValueError, "beta must lie in [0, 1), got 1"),
        (lambda: Nesterov("-1/10"), HyperparameterValueError, "got -1/10"),
        (lambda: HeavyBall(0.9), BeaTypeError, "beta = 0.9 is a float"),
        (lambda: HeavyBall("nine"), Exception, "'nine'"),
    ],
)
def test_bad_beta(make: object, error: type[Exception], text: str) -> None:
    with pytest.raises(error) as info:
        make()  # type: ignore[operator]
    assert text in str(info.value)


def test_bad_loss_and_truncation() -> None:
    with pytest.raises(InvalidLossError, match="does not occur"):
        HeavyBall(R(1, 2)).modified_flow(a**2, [a, b])
    with pytest.raises(ValueError, match="truncation must be at least 0"):
        HeavyBall(R(1, 2)).modified_flow(a**2, [a], truncation=-1)


def test_flow_reports_method_name_and_is_frozen() -> None:
    method = HeavyBall("9/10")
    flow = method.modified_flow(TWO_PARAM, [a, b], truncation=1)
    assert "heavy_ball" in str(flow) and method.beta == R(9, 10)
    assert method.hyperparameters == {"beta": R(9, 10)}
    with pytest.raises(AttributeError):
        method.beta = R(1, 2)  # type: ignore[misc]
    import copy
    import pickle
    assert pickle.loads(pickle.dumps(method)) == method == copy.deepcopy(method)
