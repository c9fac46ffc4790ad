"""Power series in h of partitioned and additive Runge--Kutta steps and of exact flows, with no trees.

Written from the definitions only (no bea code): the stage equations are solved as power
series in h by fixed-point iteration (each sweep fixes one more power of h), and flows are Lie
series :math:`\\sum_k h^k/k!\\, D^k \\mathrm{id}` of the Lie derivative D of the field.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import sympy
from sympy.polys.constructor import construct_domain

h = sympy.Symbol("h")


def truncate(expr: sympy.Expr, n: int) -> sympy.Expr:
    """Drop the powers h^k, k > n, of a polynomial in h."""
    poly = sympy.Poly(sympy.expand(expr), h)
    return sympy.Add(*(c * h**k for (k,), c in poly.terms() if k <= n))


def random_polynomial(variables: Sequence[sympy.Symbol], degree: int, rng: random.Random) -> sympy.Expr:
    """A polynomial with random small integer coefficients on every monomial of total degree <= degree."""
    monomials = sorted(sympy.itermonomials(list(variables), degree), key=sympy.default_sort_key)
    return sympy.Add(*(rng.randint(-3, 3) * m for m in monomials))


def _series_ring(exprs: Sequence[object]) -> Any:
    """A polynomial ring in h and the free symbols of ``exprs``, over QQ or the algebraic extension of QQ
    that holds every coefficient of ``exprs`` (tableau entries such as 2^(1/3) or sqrt(3))."""
    exprs = [sympy.sympify(e) for e in exprs]
    gens = [h, *sorted(set().union(*(e.free_symbols for e in exprs)) - {h}, key=sympy.default_sort_key)]
    coefficients = [c for e in exprs for c in sympy.Poly(sympy.expand(e), *gens).coeffs()]
    domain, _ = construct_domain(coefficients or [sympy.Integer(0)], extension=True)
    return sympy.polys.rings.ring(gens, domain)[0]


def _stage_sum(start: Any, weights: Sequence[Any], values: Sequence[Any], n: int) -> Any:
    """start + h Σ_j weights[j] values[j] (all in one ring), without the powers h^k, k > n."""
    R = start.ring
    total = start + R.gens[0] * sum((w * v for w, v in zip(weights, values, strict=True)), R.zero)
    return R({m: c for m, c in total.items() if m[0] <= n})


def _in_ring(R: Any, values: Sequence[object]) -> list[Any]:
    """``values`` (numbers or expressions) as elements of R, each converted once."""
    return [R.from_expr(sympy.sympify(v)) for v in values]


def partitioned_step(
    tableaux: tuple[Sequence[Sequence[object]], Sequence[object], Sequence[Sequence[object]], Sequence[object]],
    f: Sequence[sympy.Expr],
    g: Sequence[sympy.Expr],
    q: Sequence[sympy.Symbol],
    p: Sequence[sympy.Symbol],
    n: int,
    q0: Sequence[sympy.Expr],
    p0: Sequence[sympy.Expr],
) -> tuple[list[sympy.Expr], list[sympy.Expr]]:
    """(q_1, p_1) of the partitioned RK step from (q0, p0), through h^n: the q tableau weighs f, the p tableau g.

    f and g are polynomials in (q, p); (q0, p0) are numbers or the symbols q, p. The series are kept
    as polynomials in h (and any symbols) over QQ or an algebraic extension (``_series_ring``).
    """
    Aq, bq, Ap, bp = tableaux
    s = len(bq)
    R = _series_ring([*f, *g, *q0, *p0, *(x for row in (*Aq, *Ap) for x in row), *bq, *bp])
    fs, gs = _in_ring(R, [sympy.expand(e) for e in f]), _in_ring(R, [sympy.expand(e) for e in g])
    variables = _in_ring(R, [*q, *p])
    Aq, Ap = [_in_ring(R, row) for row in Aq], [_in_ring(R, row) for row in Ap]
    bq, bp = _in_ring(R, bq), _in_ring(R, bp)
    q0, p0 = _in_ring(R, q0), _in_ring(R, p0)

    def at(poly: Any, Q: Sequence[Any], P: Sequence[Any]) -> Any:
        return poly.compose(list(zip(variables, [*Q, *P], strict=True)))

    Q = [list(q0) for _ in range(s)]
    P = [list(p0) for _ in range(s)]
    for _ in range(n + 1):
        F = [[at(fi, Q[j], P[j]) for fi in fs] for j in range(s)]
        G = [[at(gi, Q[j], P[j]) for gi in gs] for j in range(s)]
        Q = [[_stage_sum(q0[k], Aq[i], [F[j][k] for j in range(s)], n) for k in range(len(q))] for i in range(s)]
        P = [[_stage_sum(p0[k], Ap[i], [G[j][k] for j in range(s)], n) for k in range(len(p))] for i in range(s)]
    F = [[at(fi, Q[j], P[j]) for fi in fs] for j in range(s)]
    G = [[at(gi, Q[j], P[j]) for gi in gs] for j in range(s)]
    q1 = [_stage_sum(q0[k], bq, [F[j][k] for j in range(s)], n).as_expr() for k in range(len(q))]
    p1 = [_stage_sum(p0[k], bp, [G[j][k] for j in range(s)], n).as_expr() for k in range(len(p))]
    return q1, p1


def additive_step(
    tableaux: tuple[Sequence[Sequence[object]], Sequence[object], Sequence[Sequence[object]], Sequence[object]],
    f1: Sequence[sympy.Expr],
    f2: Sequence[sympy.Expr],
    y: Sequence[sympy.Symbol],
    n: int,
    y0: Sequence[sympy.Expr],
) -> list[sympy.Expr]:
    """y_1 of the additive RK step from y0 through h^n: the first tableau weighs f1, the second f2.

    f1, f2 are polynomials in y; y0 holds numbers or the symbols y (series as in :func:`partitioned_step`).
    """
    A1, b1, A2, b2 = tableaux
    s = len(b1)
    R = _series_ring([*f1, *f2, *y0, *(x for row in (*A1, *A2) for x in row), *b1, *b2])
    variables = _in_ring(R, y)
    p1, p2 = _in_ring(R, [sympy.expand(e) for e in f1]), _in_ring(R, [sympy.expand(e) for e in f2])
    A1, A2 = [_in_ring(R, row) for row in A1], [_in_ring(R, row) for row in A2]
    b1, b2 = _in_ring(R, b1), _in_ring(R, b2)
    y0 = _in_ring(R, y0)

    def increment(a1: Sequence[object], a2: Sequence[object], Y: list[list[Any]]) -> list[Any]:
        F1 = [[e.compose(list(zip(variables, Y[j], strict=True))) for e in p1] for j in range(s)]
        F2 = [[e.compose(list(zip(variables, Y[j], strict=True))) for e in p2] for j in range(s)]
        return [
            _stage_sum(y0[k], [*a1, *a2], [*(F1[j][k] for j in range(s)), *(F2[j][k] for j in range(s))], n)
            for k in range(len(y))
        ]

    Y = [list(y0) for _ in range(s)]
    for _ in range(n + 1):
        Y = [increment(A1[i], A2[i], Y) for i in range(s)]
    return [e.as_expr() for e in increment(b1, b2, Y)]


def lie_flow(
    field: Sequence[sympy.Expr], variables: Sequence[sympy.Symbol], n: int
) -> list[sympy.Expr]:
    """The time-h flow of y' = field(y) (field may itself depend on h) through h^n, as a Lie series.

    :math:`\\varphi_h = \\sum_{k=0}^n \\frac{h^k}{k!} D^k \\mathrm{id}`, with D the Lie derivative
    :math:`D\\psi = \\psi'(y)\\, \\text{field}(y)`; h is a constant for D.
    """
    result = []
    for var in variables:
        term: sympy.Expr = var
        total: sympy.Expr = var
        for k in range(1, n + 1):
            term = truncate(sum(sympy.diff(term, v) * fv for v, fv in zip(variables, field, strict=True)), n - k)
            total += h**k * term / sympy.factorial(k)
        result.append(truncate(total, n))
    return result


def picard_flow(
    field: Sequence[sympy.Expr], variables: Sequence[sympy.Symbol], n: int, start: Sequence[sympy.Expr]
) -> list[sympy.Expr]:
    """The time-h flow from ``start`` (numbers) of y' = field(y) (field may depend on h), through h^n, by Picard.

    y(t) = start + ∫_0^t field(y(s)) ds is iterated n + 1 times on polynomials in (t, h) over QQ truncated
    at total degree n, then t = h. ``field`` must be polynomial in ``variables`` and h, with rational or
    algebraic coefficients (the ring's domain is QQ or an algebraic extension of it).
    """
    coefficients = [c for e in field for c in sympy.Poly(sympy.expand(e), *variables, h).coeffs()]
    domain, _ = construct_domain(coefficients + [sympy.sympify(v) for v in start],
                                                         extension=True)
    R, *_ = sympy.polys.rings.ring("t,h", domain)

    def cut(e: object, degree: int) -> object:
        return R({m: c for m, c in e.items() if sum(m) <= degree})  # type: ignore[attr-defined]

    polys = []
    for e in field:
        poly = sympy.Poly(sympy.expand(e), *variables)
        polys.append([(m, R.from_expr(c)) for m, c in poly.terms()])
    y = [R.from_expr(sympy.sympify(v)) for v in start]
    for _ in range(n + 1):
        powers: list[list[object]] = [[R(1)] for _ in variables]
        new = []
        for k, terms in enumerate(polys):
            total = R(0)
            for m, c in terms:
                value = c
                for i, e in enumerate(m):
                    while len(powers[i]) <= e:
                        powers[i].append(cut(powers[i][-1] * y[i], n - 1))  # type: ignore[operator]
                    value = cut(value * powers[i][e], n - 1)
                total += value
            integral = R({(a + 1, b): c / (a + 1) for (a, b), c in total.items()})
            new.append(R.from_expr(sympy.sympify(start[k])) + integral)
        y = new
    return [sympy.Add(*(domain.to_sympy(c) * h ** (a + b) for (a, b), c in v.items() if a + b <= n)) for v in y]
