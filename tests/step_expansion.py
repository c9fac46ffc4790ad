"""Power series in h of partitioned and additive Runge--Kutta steps and of exact flows, with no trees.

Written from the definitions only (no bea code): the stage equations are solved as power
series in h by fixed-point iteration (each sweep fixes one more power of h), and flows are Lie
series :math:`\\sum_k h^k/k!\\, D^k \\mathrm{id}` of the Lie derivative D of the field.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import sympy

h = sympy.Symbol("h")


def truncate(expr: sympy.Expr, n: int) -> sympy.Expr:
    """Drop the powers h^k, k > n, of a polynomial in h."""
    poly = sympy.Poly(sympy.expand(expr), h)
    return sympy.Add(*(c * h**k for (k,), c in poly.terms() if k <= n))


def random_polynomial(variables: Sequence[sympy.Symbol], degree: int, rng: random.Random) -> sympy.Expr:
    """A polynomial with random small integer coefficients on every monomial of total degree <= degree."""
    monomials = sorted(sympy.itermonomials(list(variables), degree), key=sympy.default_sort_key)
    return sympy.Add(*(rng.randint(-3, 3) * m for m in monomials))


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

    Pass numbers as (q0, p0) for speed (the series then has numeric coefficients) or the symbols q, p.
    """
    Aq, bq, Ap, bp = tableaux
    s = len(bq)

    def at(expr: sympy.Expr, Q: Sequence[sympy.Expr], P: Sequence[sympy.Expr]) -> sympy.Expr:
        return expr.xreplace({**dict(zip(q, Q, strict=True)), **dict(zip(p, P, strict=True))})

    Q = [list(q0) for _ in range(s)]
    P = [list(p0) for _ in range(s)]
    for _ in range(n + 1):
        F = [[at(fi, Q[j], P[j]) for fi in f] for j in range(s)]
        G = [[at(gi, Q[j], P[j]) for gi in g] for j in range(s)]
        Q = [
            [truncate(q0[k] + h * sum(sympy.sympify(Aq[i][j]) * F[j][k] for j in range(s)), n) for k in range(len(q))]
            for i in range(s)
        ]
        P = [
            [truncate(p0[k] + h * sum(sympy.sympify(Ap[i][j]) * G[j][k] for j in range(s)), n) for k in range(len(p))]
            for i in range(s)
        ]
    F = [[at(fi, Q[j], P[j]) for fi in f] for j in range(s)]
    G = [[at(gi, Q[j], P[j]) for gi in g] for j in range(s)]
    q1 = [truncate(q0[k] + h * sum(sympy.sympify(bq[j]) * F[j][k] for j in range(s)), n) for k in range(len(q))]
    p1 = [truncate(p0[k] + h * sum(sympy.sympify(bp[j]) * G[j][k] for j in range(s)), n) for k in range(len(p))]
    return q1, p1


def additive_step(
    tableaux: tuple[Sequence[Sequence[object]], Sequence[object], Sequence[Sequence[object]], Sequence[object]],
    f1: Sequence[sympy.Expr],
    f2: Sequence[sympy.Expr],
    y: Sequence[sympy.Symbol],
    n: int,
    y0: Sequence[sympy.Expr],
) -> list[sympy.Expr]:
    """y_1 of the additive RK step from y0 through h^n: the first tableau weighs f1, the second f2."""
    A1, b1, A2, b2 = tableaux
    s = len(b1)

    def at(expr: sympy.Expr, Y: Sequence[sympy.Expr]) -> sympy.Expr:
        return expr.xreplace(dict(zip(y, Y, strict=True)))

    def increment(a1: Sequence[object], a2: Sequence[object], Y: list[list[sympy.Expr]]) -> list[sympy.Expr]:
        F1 = [[at(e, Y[j]) for e in f1] for j in range(s)]
        F2 = [[at(e, Y[j]) for e in f2] for j in range(s)]
        return [
            truncate(
                y0[k] + h * sum(sympy.sympify(a1[j]) * F1[j][k] + sympy.sympify(a2[j]) * F2[j][k] for j in range(s)), n
            )
            for k in range(len(y))
        ]

    Y = [list(y0) for _ in range(s)]
    for _ in range(n + 1):
        Y = [increment(A1[i], A2[i], Y) for i in range(s)]
    return increment(b1, b2, Y)


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
    domain, _ = sympy.polys.constructor.construct_domain(coefficients + [sympy.sympify(v) for v in start],
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
