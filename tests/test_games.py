"""Two-player games (bea.methods.games) against the first-order formulas of Rosca, Wu, Dherin & Barrett,
*Discretization Drift in Two-Player Games*, ICML 2021 (Theorems 3.1 and 3.2), written out here."""

from __future__ import annotations

import pytest
import sympy

from bea import Problem, modified_flow
from bea.errors import BeaTypeError, BeaValueError, NotABSeriesMethodError
from bea.methods.games import GameGD

p1, p2, t1 = sympy.symbols("p1 p2 t1")  # phi = (p1, p2), theta = (t1,)
alpha, lam = sympy.symbols("alpha lambda", positive=True)
h = sympy.Symbol("h")
PHI, THETA = [p1, p2], [t1]
L_PHI = p1**2 * t1 + p2 * t1**2 / 2 + p1 * p2
L_THETA = -p1 * t1**3 / 3 + t1**2 / 2 + p2**2 * t1


def grad(loss: sympy.Expr, wrt: list[sympy.Symbol]) -> sympy.Matrix:
    return sympy.Matrix([sympy.diff(loss, v) for v in wrt])


def hess(loss: sympy.Expr, rows: list[sympy.Symbol], cols: list[sympy.Symbol]) -> sympy.Matrix:
    return sympy.Matrix([[sympy.diff(loss, r, c) for c in cols] for r in rows])


def rosca(alternating: bool) -> tuple[sympy.Matrix, sympy.Matrix]:
    """The h^0 and h^1 terms of (phi', theta') from Rosca et al. 2021 (one update per player, phi first)."""
    g_phi, g_theta = grad(L_PHI, PHI), grad(L_THETA, THETA)
    # phi: self term  -(alpha h/2) alpha H_phiphi g_phi = -alpha grad (alpha h/4)|grad_phi L_phi|^2,
    #      interaction -(alpha h/2) lambda (d_phi grad_theta L_phi) grad_theta L_theta
    phi1 = -alpha / 2 * (alpha * hess(L_PHI, PHI, PHI) * g_phi + lam * hess(L_PHI, PHI, THETA) * g_theta)
    sign = -1 if alternating else 1  # the second player's interaction term changes sign when alternating
    theta1 = -lam / 2 * (lam * hess(L_THETA, THETA, THETA) * g_theta
                         + sign * alpha * hess(L_THETA, THETA, PHI) * g_phi)
    return (sympy.Matrix.vstack(-alpha * g_phi, -lam * g_theta), sympy.Matrix.vstack(phi1, theta1))


@pytest.mark.parametrize("alternating", [False, True])
def test_first_order_matches_rosca_et_al(alternating: bool) -> None:
    game = Problem.game([(PHI, L_PHI), (THETA, L_THETA)])
    terms = modified_flow(game, truncation=1, method=GameGD((alpha, lam), alternating=alternating)).terms
    expected = rosca(alternating)
    for k in range(2):
        assert all(sympy.expand(u - v) == 0 for u, v in zip(terms[k], expected[k], strict=True))


def test_simultaneous_is_explicit_euler_on_the_game_field() -> None:
    # an independent route at every order: simultaneous GD = explicit Euler on (-alpha grad L_phi, -lam grad L_theta)
    field = sympy.Matrix.vstack(-alpha * grad(L_PHI, PHI), -lam * grad(L_THETA, THETA))
    by_trees = modified_flow(Problem.vector_field(field, PHI + THETA), truncation=2, method="gd").terms
    game = Problem.game([(PHI, L_PHI), (THETA, L_THETA)])
    by_map = modified_flow(game, truncation=2, method=GameGD((alpha, lam))).terms
    for u, v in zip(by_trees, by_map, strict=True):
        assert all(sympy.expand(p - q) == 0 for p, q in zip(u, v, strict=True))


def test_bilinear_game_drift() -> None:
    # x' = -y, y' = x: simultaneous updates spiral out (h^1 term +x/2, +y/2: d/dt |z|² = h|z|²)
    x, y = sympy.symbols("x y")
    game = Problem.game([([x], x * y), ([y], -x * y)])
    sim = modified_flow(game, truncation=1, method=GameGD((1, 1))).terms
    alt = modified_flow(game, truncation=1, method=GameGD((1, 1), alternating=True)).terms
    assert list(sim[1]) == [x / 2, y / 2]
    assert list(alt[1]) == [x / 2, -y / 2]  # divergence-free at h¹: alternating conserves area


def test_bad_games() -> None:
    x, y = sympy.symbols("x y")
    with pytest.raises(BeaValueError, match="needs a game"):
        GameGD((1, 1)).modified_terms(Problem.gradient(x**2, [x]), 1, h)
    with pytest.raises(BeaValueError, match="3 rates for 2 players"):
        GameGD((1, 1, 1)).modified_terms(Problem.game([([x], x * y), ([y], -x * y)]), 1, h)
    with pytest.raises(BeaTypeError, match="exact"):
        GameGD((0.1, 1))
    with pytest.raises(BeaValueError, match="must be > 0"):
        GameGD((0, 1))
    with pytest.raises(NotABSeriesMethodError, match="alternating_gd"):
        GameGD((1, 1), alternating=True).bseries(2)
