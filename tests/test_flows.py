"""Modified flows of concrete losses, each fact checked by an independent route.

Route (a) is bea's: tree coefficients times elementary differentials. Route (b),
written here without trees, matches the Lie series of the modified field with the
Taylor expansion of one step of the method, power by power in h.
"""

from __future__ import annotations

import random

import pytest
import sympy

from bea import methods
from bea.errors import BeaTypeError, InvalidLossError, InvalidTruncationError, NotAGradientFieldError
from bea.flows import modified_flow

h = sympy.Symbol("h")


class _Truncated:
    """Polynomials in (h, z, extra generators) over QQ, truncated by weight deg_h + deg_z > n.

    The dynamics run in the shift variables z (theta = point + z); the extra generators are
    constants (the point, sin/cos/sigmoid values there). Only the terms at z = 0 are read off,
    and the weight truncation is exact for them: every z-derivative in a Lie series comes with
    a factor h. SymPy's sparse polynomial ring: no trees, no bea code.
    """

    def __init__(self, zs, n, extra=()):  # type: ignore[no-untyped-def]
        self.n = n
        self.m = len(zs)
        self.ring, *_ = sympy.polys.rings.ring([h, *zs, *extra], sympy.QQ)

    def convert(self, expr):  # type: ignore[no-untyped-def]
        return self.ring.from_expr(expr)

    def cut(self, value, budget=None):  # type: ignore[no-untyped-def]
        budget = self.n if budget is None else budget
        return self.ring({e: c for e, c in value.items() if sum(e[: self.m + 1]) <= budget})

    def diff(self, value, i):  # type: ignore[no-untyped-def]
        return value.diff(self.ring.gens[i + 1])

    def subs(self, value, point):  # type: ignore[no-untyped-def]
        return value.compose([(self.ring.gens[i + 1], point[i]) for i in range(len(point))])

    def coefficient(self, value, k):  # type: ignore[no-untyped-def]
        """The coefficient of h^k, as a ring element."""
        return self.ring({(0, *e[1:]): c for e, c in value.items() if e[0] == k})

    def at_zero(self, value):  # type: ignore[no-untyped-def]
        """The value at z = 0, as a SymPy expression in the extra generators."""
        kept = self.ring({e: c for e, c in value.items() if not any(e[1 : self.m + 1])})
        return kept.as_expr()


def _rk_step_series(method, f, ar):  # type: ignore[no-untyped-def]
    """Taylor expansion in h of one RK step on the field f (fixed-point iteration on the stages)."""
    s, m = method.stages, len(f)
    hh = ar.convert(h)
    y = list(ar.ring.gens[1 : m + 1])
    A = [[ar.convert(x) for x in row] for row in method.A]
    bw = [ar.convert(x) for x in method.b]
    stages = [list(y) for _ in range(s)]
    for _ in range(ar.n + 1):
        values = [[ar.cut(ar.subs(fi, stage)) for fi in f] for stage in stages]
        stages = [
            [ar.cut(y[c] + hh * sum((A[i][j] * values[j][c] for j in range(s)), ar.convert(0))) for c in range(m)]
            for i in range(s)
        ]
    values = [[ar.cut(ar.subs(fi, stage)) for fi in f] for stage in stages]
    return [ar.cut(y[c] + hh * sum((bw[i] * values[i][c] for i in range(s)), ar.convert(0))) for c in range(m)]


def _lie_series(field, ar):  # type: ignore[no-untyped-def]
    """exp(h L) z through weight n for the (already h-dependent) field; L^j z is cut at n - j."""
    hh = ar.convert(h)
    m = len(field)
    result = list(ar.ring.gens[1 : m + 1])
    current = list(result)
    for j in range(1, ar.n + 1):
        current = [
            ar.cut(sum((ar.diff(current[c], i) * field[i] for i in range(m)), ar.convert(0)), ar.n - j)
            for c in range(m)
        ]
        scale = ar.convert(sympy.Rational(1, sympy.factorial(j))) * hh**j
        result = [ar.cut(result[c] + current[c] * scale) for c in range(m)]
    return result


def _direct_modified_terms(method, shifted_loss, zs, p, extra):  # type: ignore[no-untyped-def]
    """Route (b): solve exp(h L_{f_h}) id = step, order by order, with no trees.

    ``shifted_loss`` is E(point + z), a polynomial in ``zs`` and the ``extra`` symbols of degree
    at least p + 1 in z; returns the h^k terms (k = 0..p) of the modified field at z = 0.
    """
    ar = _Truncated(zs, p + 1, extra)
    f = [ar.cut(ar.convert(-sympy.diff(shifted_loss, z))) for z in zs]
    step = _rk_step_series(method, f, ar)
    hh = ar.convert(h)
    terms = [f]
    for k in range(1, p + 1):
        field = [sum((t[c] * hh**j for j, t in enumerate(terms)), ar.convert(0)) for c in range(len(f))]
        lie = _lie_series(field, ar)
        # the unknown h^k term enters the h^(k+1) coefficient with factor 1
        terms.append([ar.coefficient(step[c] - lie[c], k + 1) for c in range(len(f))])
    return [sympy.Matrix([ar.at_zero(e) for e in t]) for t in terms]


def _direct_polynomial(method, loss, params, p):  # type: ignore[no-untyped-def]
    """Route (b) on a polynomial loss, at the symbolic point ``params``."""
    zs = sympy.symbols(f"z0:{len(params)}")
    shifted = sympy.expand(loss.xreplace({q: q + z for q, z in zip(params, zs, strict=True)}))
    return _direct_modified_terms(method, shifted, zs, p, extra=tuple(params))


# Transcendental losses, route (b): expand E(theta + z) in z to a polynomial whose coefficients are
# polynomials in the symbols S = sin, C = cos, s = sigmoid at theta (derivative rules by hand:
# sin' = cos, cos' = -sin, softplus' = sigmoid, sigmoid' = sigmoid - sigmoid^2), run the polynomial
# route in z, and read the terms off at z = 0.
S, C, SIG = sympy.symbols("S C sigma")


def _sin_shift(z, degree):  # type: ignore[no-untyped-def]
    """sin(theta + z) through z^degree, with S = sin(theta), C = cos(theta)."""
    return sum(
        (S * (-1) ** (k // 2) if k % 2 == 0 else C * (-1) ** (k // 2)) * z**k / sympy.factorial(k)
        for k in range(degree + 1)
    )


def _cos_shift(z, degree):  # type: ignore[no-untyped-def]
    """cos(theta + z) through z^degree."""
    return sum(
        (C * (-1) ** (k // 2) if k % 2 == 0 else -S * (-1) ** (k // 2)) * z**k / sympy.factorial(k)
        for k in range(degree + 1)
    )


def _softplus_shift(delta, degree):  # type: ignore[no-untyped-def]
    """softplus(w + delta) - softplus(w) through delta^degree, with sigma = sigmoid(w)."""
    total, derivative = sympy.Integer(0), SIG
    for k in range(1, degree + 1):
        total += derivative * delta**k / sympy.factorial(k)
        derivative = sympy.expand(sympy.diff(derivative, SIG) * (SIG - SIG**2))
    return total


def _keep_degree(expr, zs, degree):  # type: ignore[no-untyped-def]
    poly = sympy.Poly(sympy.expand(expr), *zs)
    return sum(c * sympy.Mul(*(z**e for z, e in zip(zs, m, strict=True))) for m, c in poly.terms() if sum(m) <= degree)


def _at_point(expr, replacements):  # type: ignore[no-untyped-def]
    """Route (a)'s exact expression with sin, cos, exp at the point replaced by plain symbols."""
    out = expr
    for old, new in replacements:
        out = out.subs(old, new)
    assert not out.has(sympy.sin, sympy.cos, sympy.exp, sympy.log), out
    return out


def _random_polynomial(rng: random.Random, params, degree):  # type: ignore[no-untyped-def]
    """A random polynomial of the given degree in which every parameter occurs."""
    monomials = sorted(
        (m for m in sympy.itermonomials(params, degree) if sympy.Poly(m, *params).total_degree() >= 2), key=str
    )
    while True:
        chosen = rng.sample(monomials, k=min(len(params) + 2, len(monomials)))
        loss = sum(rng.choice([-2, -1, 1, 2, 3]) * m for m in chosen) / rng.choice([1, 2, 3])
        if loss.free_symbols == set(params):
            return loss


@pytest.mark.parametrize("seed,nparams", [(0, 1), (1, 2), (2, 3), (3, 4)])
def test_tree_route_matches_direct_lie_matching_polynomial(seed: int, nparams: int) -> None:
    rng = random.Random(seed)
    params = sympy.symbols(f"p0:{nparams}")
    loss = _random_polynomial(rng, params, 3 if nparams <= 2 else 2)
    p = 5 if nparams <= 2 else 3
    flow = modified_flow(loss, list(params), truncation=p, h=h)
    direct = _direct_polynomial(methods.explicit_euler, loss, params, p)
    for k in range(p + 1):
        assert (flow.terms[k] - direct[k]).applyfunc(sympy.expand).is_zero_matrix, k


@pytest.mark.parametrize(
    "method", [methods.explicit_midpoint, methods.implicit_euler, methods.heun], ids=lambda m: m.name
)
def test_tree_route_matches_direct_lie_matching_other_methods(method) -> None:  # type: ignore[no-untyped-def]
    a, b = sympy.symbols("a b")
    loss = a**4 / 4 + a**2 * b**2 / 2 + b**3 / 3 + a * b
    flow = modified_flow(loss, [a, b], truncation=3, method=method, h=h)
    direct = _direct_polynomial(method, loss, (a, b), 3)
    for k in range(4):
        assert (flow.terms[k] - direct[k]).applyfunc(sympy.expand).is_zero_matrix, k


def test_tree_route_matches_direct_lie_matching_transcendental() -> None:
    a, b = sympy.symbols("a b")
    loss = sympy.log(1 + sympy.exp(a * b)) + sympy.sin(a) * b**2 / 2
    p = 3
    flow = modified_flow(loss, [a, b], truncation=p, h=h)
    z1, z2 = sympy.symbols("z1 z2")
    degree = p + 2
    shifted = _softplus_shift(a * z2 + b * z1 + z1 * z2, degree) + _sin_shift(z1, degree) * (b + z2) ** 2 / 2
    shifted = _keep_degree(shifted, (z1, z2), degree)
    direct = _direct_modified_terms(methods.explicit_euler, shifted, (z1, z2), p, extra=(a, b, S, C, SIG))
    e, sn, cs = sympy.symbols("e sn cs")
    route_b = {S: sn, C: cs, SIG: e / (1 + e)}
    route_a = [(sympy.exp(a * b), e), (sympy.sin(a), sn), (sympy.cos(a), cs)]
    # Both sides are rational functions of (a, b, sn, cs, e); they agree identically iff they agree at
    # random exact rational points with overwhelming probability (Schwartz-Zippel); cancel() is 50x slower.
    rng = random.Random(11)
    for k in range(p + 1):
        for c in range(2):
            difference = _at_point(flow.terms[k][c], route_a) - direct[k][c].xreplace(route_b)
            for _ in range(3):
                point = {v: sympy.Rational(rng.randint(-10**6, 10**6), rng.randint(1, 10**6)) for v in (a, b, sn, cs)}
                point[e] = sympy.Rational(rng.randint(1, 10**6), rng.randint(1, 10**6))  # e = exp(ab) > 0
                assert difference.xreplace(point) == 0, (k, c)


@pytest.mark.parametrize("method", [methods.explicit_euler, methods.explicit_midpoint], ids=lambda m: m.name)
def test_transcendental_one_parameter_through_h5(method) -> None:  # type: ignore[no-untyped-def]
    t, z = sympy.symbols("t z")
    loss = sympy.cos(t) + t**2 / 2
    p = 5
    flow = modified_flow(loss, [t], truncation=p, method=method, h=h)
    shifted = _cos_shift(z, p + 2) + (t + z) ** 2 / 2
    direct = _direct_modified_terms(method, shifted, (z,), p, extra=(t, S, C))
    sn, cs = sympy.symbols("sn cs")
    for k in range(p + 1):
        route_a = _at_point(flow.terms[k][0], [(sympy.sin(t), sn), (sympy.cos(t), cs)])
        assert sympy.expand(route_a - direct[k][0].xreplace({S: sn, C: cs})) == 0, k


def test_gd_order_one_is_the_igr_loss() -> None:
    a, b, x, y = sympy.symbols("a b x y")
    loss = (y - a * b * x) ** 2 / 2
    flow = modified_flow(loss, [a, b], truncation=1, h=h)
    grad = sympy.Matrix([sympy.diff(loss, a), sympy.diff(loss, b)])
    igr = loss + h / 4 * (grad.T * grad)[0]
    assert sympy.expand(flow.modified_loss().expr - igr) == 0
    # field = -grad(E + h/4 |grad E|^2)
    expected = -sympy.Matrix([sympy.diff(igr, q) for q in (a, b)])
    assert (flow.field() - expected).applyfunc(sympy.expand).is_zero_matrix
    quantities = flow.igr()
    assert sympy.expand(quantities["R_IG"] - (grad.T * grad)[0] / 2) == 0
    assert quantities["lambda"] == h / 2
    # closed form for E = (y - a*b*x)^2/2 (Barrett & Dherin, ICLR 2021): ||grad E||^2 = 2 x^2 (a^2 + b^2) E
    assert sympy.expand((grad.T * grad)[0] - 2 * x**2 * (a**2 + b**2) * loss) == 0


def _log_series(A: sympy.Matrix, order: int) -> list[sympy.Matrix]:
    """Coefficient of h^k of (1/h) log(I - hA) theta's matrix: -A^(k+1)/(k+1)."""
    return [-(A ** (k + 1)) / (k + 1) for k in range(order + 1)]


def test_quadratic_symbolic_2x2_closed_form_through_h10() -> None:
    p, q = sympy.symbols("p q")
    a11, a12, a22 = sympy.symbols("a11 a12 a22")
    A = sympy.Matrix([[a11, a12], [a12, a22]])
    theta = sympy.Matrix([p, q])
    loss = sympy.expand((theta.T * A * theta)[0] / 2)
    flow = modified_flow(loss, [p, q], truncation=10, h=h)
    for k, coefficient in enumerate(_log_series(A, 10)):
        assert (flow.terms[k] - coefficient * theta).applyfunc(sympy.expand).is_zero_matrix, k
    assert flow.gradient_through == 10
    modified = flow.modified_loss()
    for k in range(11):  # E_k = theta^T A^(k+1) theta / (2(k+1))
        expected = (theta.T * A ** (k + 1) * theta)[0] / (2 * (k + 1))
        assert sympy.expand(modified.potentials[k] - expected) == 0, k


def test_quadratic_numeric_4x4_closed_form_through_h10() -> None:
    rng = random.Random(7)
    n = 4
    B = sympy.Matrix(n, n, lambda i, j: rng.randint(-3, 3))
    A = B.T * B + sympy.eye(n)
    params = sympy.symbols(f"w0:{n}")
    theta = sympy.Matrix(params)
    loss = sympy.expand((theta.T * A * theta)[0] / 2)
    flow = modified_flow(loss, list(params), truncation=10, h=h)
    for k, coefficient in enumerate(_log_series(A, 10)):
        assert (flow.terms[k] - coefficient * theta).applyfunc(sympy.expand).is_zero_matrix, k
    assert flow.gradient_through == 10


def test_one_dimensional_losses_are_gradients_at_every_order() -> None:
    t = sympy.Symbol("t")
    for loss in (t**4 / 4 - t**2, sympy.exp(t) - t, sympy.log(1 + t**2)):
        flow = modified_flow(loss, [t], truncation=4, h=h)
        assert flow.gradient_through == 4
        # the potential differentiates back to the field
        modified = flow.modified_loss()
        assert sympy.simplify(-sympy.diff(modified.expr, t) - flow.field()[0]) == 0


def test_quartic_order_one_is_gradient_order_two_is_not() -> None:
    x, y = sympy.symbols("x y")
    loss = x**4 / 4 + x**2 * y**2 / 2 + y**3 / 3 + x * y
    flow = modified_flow(loss, [x, y], truncation=2, h=h)
    assert flow.is_gradient(0) and flow.is_gradient(1)
    assert not flow.is_gradient(2)
    assert flow.gradient_through == 1
    with pytest.raises(NotAGradientFieldError) as info:
        flow.modified_loss()
    assert info.value.power == 2
    assert "h^2" in str(info.value)
    assert not info.value.antisymmetric_part.is_zero_matrix
    # the antisymmetric part is (J - J^T)/2 of the h^2 term, checked directly
    jac = flow.terms[2].jacobian([x, y])
    assert sympy.expand(info.value.antisymmetric_part[0, 1] - (jac[0, 1] - jac[1, 0]) / 2) == 0
    assert flow.modified_loss(1).truncation == 1


def test_gd_h2_term_is_h_squared_g_plus_third_derivative() -> None:
    """HLW IX.1 (Example 1.1), Barrett & Dherin 2021: theta' = -g - h/2 Hg - h^2 (H^2 g/3 + T[g,g]/12) + O(h^3)."""
    x, y = sympy.symbols("x y")
    loss = x**4 / 4 + x**2 * y**2 / 2 + y**3 / 3 + x * y
    params = [x, y]
    g = sympy.Matrix([sympy.diff(loss, q) for q in params])
    H = sympy.hessian(loss, params)
    T = [[[sympy.diff(loss, i, j, k) for k in params] for j in params] for i in params]
    Tgg = sympy.Matrix([sum(T[i][j][k] * g[j] * g[k] for j in range(2) for k in range(2)) for i in range(2)])
    flow = modified_flow(loss, params, truncation=2, h=h)
    assert (flow.terms[1] + H * g / 2).applyfunc(sympy.expand).is_zero_matrix
    assert (flow.terms[2] + H * H * g / 3 + Tgg / 12).applyfunc(sympy.expand).is_zero_matrix


def test_output_is_canonical_and_serialisable() -> None:
    import json

    a, b, x, y = sympy.symbols("a b x y")
    first = modified_flow((y - a * b * x) ** 2 / 2, [a, b], truncation=2, h=h)
    second = modified_flow((y - a * b * x) ** 2 / 2, [a, b], truncation=2, h=h)
    assert str(first) == str(second)
    assert first.latex() == second.latex()
    data = json.loads(json.dumps(first.to_dict()))
    assert data["truncation"] == 2 and len(data["terms"]) == 3
    assert [t["is_gradient"] for t in data["terms"]][:2] == [True, True]
    assert all(t["size"] > 0 for t in data["terms"])
    assert first._repr_latex_().startswith("$$")
    assert first.data_symbols == (x, y)


def test_bad_input() -> None:
    a, b, c = sympy.symbols("a b c")
    loss = (a * b - 1) ** 2
    with pytest.raises(InvalidLossError, match="c"):
        modified_flow(loss, [a, c])
    with pytest.raises(InvalidLossError, match="twice"):
        modified_flow(loss, [a, a])
    with pytest.raises(InvalidLossError, match="scalar"):
        modified_flow(sympy.Matrix([loss, loss]), [a, b])
    with pytest.raises(BeaTypeError, match="Symbol"):
        modified_flow(loss, [a, "b"])
    with pytest.raises(InvalidTruncationError, match="-1"):
        modified_flow(loss, [a, b], truncation=-1)
    with pytest.raises(BeaTypeError, match=r"1\.5"):
        modified_flow(loss, [a, b], truncation=1.5)  # type: ignore[arg-type]
    with pytest.raises(InvalidLossError, match="step-size"):
        modified_flow(loss + h, [a, b], h=h)
    with pytest.raises(BeaTypeError):
        modified_flow(loss, [a, b], method=42)  # type: ignore[arg-type]
    with pytest.raises(BeaTypeError, match="float"):
        modified_flow(0.5 * a**2 * b, [a, b])


def test_zero_test_is_exact_both_ways_and_quick_on_optimiser_flows() -> None:
    """bea.flows decides "not a gradient" from a certified nonzero value at one rational point before any
    simplify (which took minutes on RMSProp's flow with torch's eps outside the root); "zero" is symbolic."""
    from bea.flows import _is_zero
    from bea.methods import RMSProp

    u, v = sympy.symbols("u v")
    assert _is_zero(sympy.sin(u * v) ** 2 + sympy.cos(u * v) ** 2 - 1)  # zero, though not after expand
    assert _is_zero(sympy.sqrt(u**2 + 2 * u * v + v**2) ** 2 - (u + v) ** 2)
    assert not _is_zero(sympy.sqrt(u**2 + 1) - u)
    assert not _is_zero(sympy.Abs(u * v) - u * v)  # zero on part of the plane only
    x, y = sympy.symbols("x y")
    flow = RMSProp("99/100", "1/100000000").modified_flow((y - u * v * x) ** 2 / 2, [u, v], truncation=1)
    # -g_j/(|g_j| + eps) componentwise: not a gradient field (its Jacobian is not symmetric)
    assert flow.is_gradient(0) is False and flow.gradient_through == -1
