"""One-step maps, compositions and reshuffled epochs (bea.methods.maps), each against an independent route:
the tree route for Runge--Kutta maps, the Baker--Campbell--Hausdorff formula for compositions, the closed
form of Smith, Dherin, Barrett & De (ICLR 2021) for random reshuffling."""

from __future__ import annotations

import pytest
import sympy

from bea import Problem, modified_flow
from bea.errors import BeaValueError, InvalidLossError, InvalidMapError, NotABSeriesMethodError
from bea.methods import by_name
from bea.methods.maps import SGD, Composition, MeanMap, OneStepMap, taylor_coefficients

a, b, x, y = sympy.symbols("a b x y")
h = sympy.Symbol("h")


def rk_step_map(name: str, field: sympy.Matrix, params: list[sympy.Symbol]) -> list[sympy.Expr]:
    """One step of an explicit Runge--Kutta method written out stage by stage (independent of bea's trees)."""
    method = by_name(name)
    s = method.stages
    ks: list[sympy.Matrix] = []
    theta = sympy.Matrix(params)
    for i in range(s):
        stage = theta + h * sum((method.A[i][j] * ks[j] for j in range(i)), sympy.zeros(len(params), 1))
        ks.append(field.xreplace(dict(zip(params, stage, strict=True))))
    step = theta + h * sum((method.b[i] * ks[i] for i in range(s)), sympy.zeros(len(params), 1))
    return list(step)


def gradient(loss: sympy.Expr, params: list[sympy.Symbol]) -> sympy.Matrix:
    return sympy.Matrix([sympy.diff(loss, p) for p in params])


def same(u: sympy.Matrix, v: sympy.Matrix) -> bool:
    return all(sympy.simplify(sympy.expand(p - q)) == 0 for p, q in zip(u, v, strict=True))


@pytest.mark.parametrize(
    ("name", "loss", "params", "truncation"),
    [
        ("explicit_euler", x**4 / 4 + x**2 * y, [x], 3),
        ("explicit_midpoint", (y - a * b * x) ** 2 / 2, [a, b], 2),
        ("heun", a**3 / 3 + a * b**2 / 2, [a, b], 2),
        ("rk4", x**3 / 3, [x], 4),
        ("explicit_euler", sympy.cos(a) + a * b**2 / 2, [a, b], 2),
    ],
)
def test_runge_kutta_maps_agree_with_the_tree_route(name: str, loss: sympy.Expr, params: list[sympy.Symbol],
                                                    truncation: int) -> None:
    field = -gradient(loss, params)
    step = OneStepMap(rk_step_map(name, field, params), params, h=h, name=name)
    by_map = modified_flow(Problem.parameters(params), truncation=truncation, method=step).terms
    by_trees = modified_flow(loss, params, truncation=truncation, method=name).terms
    assert all(same(u, v) for u, v in zip(by_map, by_trees, strict=True))


def test_implicit_euler_as_a_rational_map() -> None:
    # implicit Euler on E = c x²/2 is x / (1 + h c): not polynomial in h; tree route for comparison
    c = sympy.Symbol("c", positive=True)
    step = OneStepMap([x / (1 + h * c)], [x], h=h)
    by_map = modified_flow(Problem.parameters([x]), truncation=4, method=step).terms
    by_trees = modified_flow(c * x**2 / 2, [x], truncation=4, method="implicit_euler").terms
    assert all(same(u, v) for u, v in zip(by_map, by_trees, strict=True))
    # closed form: x' = -log(1 + h c) x / h
    series = sympy.series(-sympy.log(1 + h * c) / h, h, 0, 5).removeO()
    assert all(sympy.expand(by_map[k][0] - series.coeff(h, k) * x) == 0 for k in range(5))


def bracket(u: sympy.Matrix, v: sympy.Matrix, params: list[sympy.Symbol]) -> sympy.Matrix:
    """[u, v] with L_u L_v - L_v L_u = L_[u, v] for L_u g = g' u:  [u, v] = v' u - u' v."""
    return v.jacobian(params) * u - u.jacobian(params) * v


def truncate(expr_column: sympy.Matrix, order: int) -> list[sympy.Expr]:
    return [sympy.expand(sympy.series(e, h, 0, order + 1).removeO()) if e.has(h) else e for e in expr_column]


def test_composition_agrees_with_bch() -> None:
    # two GD steps, on E1 then on E2: the product's field per unit time through h²
    params = [a, b]
    e1, e2 = a**2 * b / 2 + b**2 / 2, (a - b) ** 2 / 2 + a**4 / 4
    fields = []
    for loss in (e1, e2):
        terms = modified_flow(loss, params, truncation=2, method="gd").terms  # the tree route
        fields.append(sum((t * h**k for k, t in enumerate(terms)), sympy.zeros(2, 1)))
    A, B = fields
    AB = bracket(A, B, params)
    # BCH: log(e^X e^Y) = X + Y + [X,Y]/2 + ([X,[X,Y]] - [Y,[X,Y]])/12 + ..., X = h L_A (applied first), Y = h L_B
    C = A + B + h / 2 * AB + h**2 / 12 * (bracket(A, AB, params) - bracket(B, AB, params))
    expected = [sympy.expand(e / 2) for e in C]  # two steps of size h: per unit time
    steps = [OneStepMap([p - h * sympy.diff(loss, p) for p in params], params, h=h) for loss in (e1, e2)]
    epoch = Composition(tuple(steps))
    assert epoch.steps == 2
    terms = modified_flow(Problem.parameters(params), truncation=2, method=epoch).terms
    for k in range(3):
        assert same(terms[k], sympy.Matrix([sympy.expand(e).coeff(h, k) for e in expected]))


def test_flow_per_unit_time_matches_single_steps() -> None:
    # two GD steps on the same loss = GD with 2 steps: the per-unit-time field is GD's own
    loss = x**4 / 4
    step = OneStepMap([x - h * x**3], [x], h=h)
    twice = modified_flow(Problem.parameters([x]), truncation=3, method=step.then(step)).terms
    assert twice == modified_flow(loss, [x], truncation=3).terms


def smith_modified_loss(losses: list[sympy.Expr], params: list[sympy.Symbol]) -> sympy.Expr:
    """E + (h/(4m)) Σ_k |∇E_k|², E = mean (Smith, Dherin, Barrett & De, ICLR 2021, eq. (1))."""
    m = len(losses)
    mean = sum(losses, sympy.Integer(0)) / m
    return mean + h / (4 * m) * sum((sum(sympy.diff(e, p) ** 2 for p in params) for e in losses), sympy.Integer(0))


@pytest.mark.parametrize("m", [2, 3])
def test_random_reshuffling_follows_smith_et_al(m: int) -> None:
    losses = [(a - k) ** 2 * (1 + k * b**2) / 2 for k in range(m)]
    problem = Problem.minibatches(losses, [a, b])
    closed = SGD("random").modified_terms(problem, 1, h)
    target = smith_modified_loss(losses, [a, b])
    expected = -gradient(target, [a, b])
    assert same(closed[0], sympy.Matrix([sympy.expand(e).coeff(h, 0) for e in expected]))
    assert same(closed[1], sympy.Matrix([sympy.expand(e).coeff(h, 1) for e in expected]))
    # exact enumeration of the m! orderings gives the same h¹ term
    from itertools import permutations

    steps = [OneStepMap([p - h * sympy.diff(e, p) for p in (a, b)], [a, b], h=h) for e in losses]
    mean = MeanMap(tuple(Composition(tuple(order)) for order in permutations(steps)))
    enumerated = mean.modified_terms(problem, 1, h)
    assert all(same(u, v) for u, v in zip(enumerated, closed, strict=True))


def test_fixed_order_differs_from_random_by_the_commutator() -> None:
    # one epoch in a fixed order: h¹ term = mean single-step term + (h/(2m)) Σ_{i<j} [A_i, A_j]
    losses = [a**2 * b / 2, (a - b) ** 2 / 2]
    problem = Problem.minibatches(losses, [a, b])
    fixed = SGD("fixed").modified_terms(problem, 1, h)
    rnd = SGD("random").modified_terms(problem, 1, h)
    g1, g2 = (-gradient(e, [a, b]) for e in losses)
    assert same(fixed[1] - rnd[1], bracket(g1, g2, [a, b]) / 4)
    with pytest.raises(NotABSeriesMethodError, match="sgd_fixed"):
        SGD("fixed").bseries(2)


def test_random_reshuffling_beyond_first_order_by_enumeration() -> None:
    # m = 2, quadratic losses in one parameter: every epoch map is affine with the same linear part
    # (1 - h)(1 - 3h) a, so both orders have the per-step log rate (1/2h) log((1-h)(1-3h)) in a
    losses = [(a - 1) ** 2 / 2, 3 * (a + 1) ** 2 / 2]
    problem = Problem.minibatches(losses, [a])
    rate = sympy.series(sympy.log((1 - h) * (1 - 3 * h)) / (2 * h), h, 0, 4).removeO()
    for shuffle in ("random", "fixed"):
        terms = SGD(shuffle).modified_terms(problem, 3, h)
        assert all(sympy.expand(sympy.diff(terms[k][0], a) - rate.coeff(h, k)) == 0 for k in range(4))
    # the constant parts differ: the mean of the two orders is not either order
    assert SGD("random").modified_terms(problem, 1, h)[1] != SGD("fixed").modified_terms(problem, 1, h)[1]


def test_bad_maps_are_clear_errors() -> None:
    with pytest.raises(InvalidMapError, match="component 1 \\(b\\)"):
        OneStepMap([a - h * a, b + 1], [a, b], h=h)
    with pytest.raises(InvalidMapError, match="1 expression for 2 parameters"):
        OneStepMap([a], [a, b], h=h)
    with pytest.raises(InvalidMapError, match="not smooth"):
        modified_flow(Problem.parameters([a]), truncation=1, method=OneStepMap([a + sympy.sqrt(h) * a**2], [a], h=h))
    with pytest.raises(InvalidMapError, match="not smooth"):
        taylor_coefficients(a + h * sympy.log(h), h, 2)
    with pytest.raises(InvalidLossError, match="at least two"):
        SGD().modified_terms(Problem.gradient(a**2, [a]), 1, h)
    with pytest.raises(BeaValueError, match="shuffle"):
        SGD("sometimes")
    with pytest.raises(BeaValueError, match="parameters"):
        OneStepMap([a - h], [a], h=h).modified_terms(Problem.parameters([b]), 1, h)
    # a symbol named h with other assumptions is the step size too
    hp = sympy.Symbol("h", positive=True)
    assert OneStepMap([a - hp * a], [a], h=h).images == (a - h * a,)


def test_cli_map_matches_loss_route(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from bea.cli import main

    # GD on E = a^2 b^2 / 2 written as a map, images beginning with a minus sign
    assert main(["derive", "--map", "-h*a*b^2 + a", "-h*a^2*b + b", "--params", "a", "b", "--truncation", "2",
                 "--format", "json"]) == 0
    by_map = json.loads(capsys.readouterr().out)
    assert main(["derive", "--loss", "a^2*b^2/2", "--params", "a", "b", "--truncation", "2", "--format", "json"]) == 0
    by_loss = json.loads(capsys.readouterr().out)
    assert [t["power"] for t in by_map["terms"]] == [0, 1, 2]
    for t_map, t_loss in zip(by_map["terms"], by_loss["terms"], strict=True):
        for u, v in zip(t_map["components"], t_loss["components"], strict=True):
            assert sympy.expand(sympy.sympify(u) - sympy.sympify(v)) == 0
    assert by_map["loss"] is None and by_map["method"] == "map"


def test_cli_sgd_and_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from bea.cli import main

    assert main(["derive", "--method", "sgd", "--loss", "(a-1)^2/2", "--loss", "(a+1)^2/2", "--params", "a",
                 "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["method"] == "sgd_random" and [t["components"] for t in data["terms"]] == [["-a"], ["-a/2"]]
    bad = [
        ["derive", "--method", "sgd", "--loss", "(a-1)^2", "--params", "a"],
        ["derive", "--map", "a + 1", "--params", "a"],
        ["derive", "--map", "a - h*a", "--params", "a", "b"],
        ["derive", "--map", "a + sqrt(h)*a", "--params", "a"],
        ["derive", "--loss", "a^2", "--loss", "a^4", "--params", "a"],
        ["derive", "--loss", "a^2", "--params", "a", "--shuffle", "fixed"],
    ]
    for argv in bad:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("bea: error:") and err.count("\n") == 1, err


def lie_series_of(terms: tuple[sympy.Matrix, ...], params: list[sympy.Symbol], order: int) -> list[sympy.Expr]:
    """exp(h L_F) id through h^order for F = Σ_k h^k terms[k], by plain SymPy (the definition of the modified field)."""
    def trunc(e: sympy.Expr) -> sympy.Expr:
        e = sympy.expand(e)
        return sum((e.coeff(h, k) * h**k for k in range(order + 1)), sympy.Integer(0))

    field = sum((t * h**k for k, t in enumerate(terms)), sympy.zeros(len(params), 1))
    current, total = sympy.Matrix(params), sympy.Matrix(params)
    for n in range(1, order + 1):
        current = (current.jacobian(params) * field).applyfunc(trunc)
        total += current * h**n / sympy.factorial(n)
    return [trunc(e) for e in total]


def test_ring_route_equals_the_sympy_route_on_a_non_polynomial_map() -> None:
    # a step with sin and exp, through h^3: the sparse-ring route (sin b, cos b, e^{-a} as generators)
    # against plain SymPy arithmetic (identical expressions), and against the Lie series itself
    from bea.methods.map_algebra import RingAlgebra, SymPyAlgebra
    from bea.methods.maps import algebra_for, map_field

    params = [a, b]
    images = [a - h * sympy.sin(b), b + h * a * sympy.exp(-a)]
    step = OneStepMap(images, params, h=h)
    assert isinstance(algebra_for([step], 4), RingAlgebra)
    fast = map_field(step, 3)
    plain = map_field(step, 3, SymPyAlgebra(params))
    assert len(fast) == len(plain) == 4
    assert fast == plain
    # independent: exp(h L_f) id must reproduce the map through h^4
    flow = lie_series_of(fast, params, 4)
    assert all(sympy.expand(u - v) == 0 for u, v in zip(flow, images, strict=True))


def test_functions_outside_the_ring_fall_back_to_sympy() -> None:
    from bea.methods.map_algebra import SymPyAlgebra
    from bea.methods.maps import algebra_for

    u, v = sympy.symbols("u v", real=True)
    step = OneStepMap([u - h * sympy.Abs(v), v + h * u], [u, v], h=h)
    assert isinstance(algebra_for([step], 2), SymPyAlgebra)
    terms = modified_flow(Problem.parameters([u, v]), truncation=1, method=step).terms
    # f_1 = d_1 and f_2 = -(1/2) d_1' d_1 (HLW IX.1): d_1 = (-|v|, u), d_1' d_1 = (-sign(v) u, -|v|)
    assert same(terms[0], sympy.Matrix([-sympy.Abs(v), u]))
    assert same(terms[1], sympy.Matrix([sympy.sign(v) * u / 2, sympy.Abs(v) / 2]))
