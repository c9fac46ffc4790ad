r"""The tree recursions of backward error analysis, on map B-series (no methods involved).

**Modified equation.** For a map series a, the modified field :math:`b` is the
vector-field series whose exact time-h flow has B-series a:
``substitute(b, exact_solution) == a``. It is computed through the Lie-derivative
form of that identity (Hairer--Lubich--Wanner, Lemma IX.9.1 and Theorem IX.9.3):
the exact flow of b is :math:`\exp(\partial_b)\,\mathrm{id}`, so

.. math::
    a(\tau) = \sum_{k \ge 1} c_k(\tau), \qquad c_1 = b, \qquad
    c_k(\tau) = \frac1k \sum_{\text{edges } e \text{ of } \tau}
        c_{k-1}(\tau_e^{\mathrm{root}})\, b(\tau_e^{\mathrm{cut}}),

where cutting the edge e splits :math:`\tau` into the part that holds the root and
the subtree below e. Only :math:`c_1(\tau) = b(\tau)` involves :math:`b(\tau)`
itself, so solving tree by tree in increasing order gives b exactly. The cost is
about :math:`|\tau|^2` multiply--adds per tree (single-edge cuts only), against
:math:`2^{|\tau|-1}` partitions for the substitution law.

**Modifying integrator.** The field :math:`\tilde b` such that the map applied
to :math:`\tilde f = B(\tilde b)` reproduces the exact flow of f:
``substitute(b̃, a) == exact_solution`` (Chartier--Hairer--Vilmart, Found. Comput.
Math. 10 (2010), section 4).

For rational coefficients the recursion runs on Python integers over one common denominator
per order (``bea._arith.common_denominators``): no rational is created or reduced until
the result is handed back.

This module works on :class:`~bea.series.BSeries` only; :mod:`bea.modified` offers the same
for any method (or method name) that has a B-series, and every B-series method uses it for
its modified flow.

>>> from bea.series import exact_solution
>>> print(modified_field_series(exact_solution(3), 3))
f
"""

from __future__ import annotations

from math import factorial, lcm
from operator import mul
from typing import Any

import gmpy2
import sympy

from bea import _partitions, _table
from bea._arith import Ring, common_denominators
from bea.errors import BeaTypeError, SeriesError
from bea.series import BSeries
from bea.validation import check_tree_order

__all__ = [
    "field_coefficients",
    "lie_log",
    "lie_tails",
    "map_coefficients",
    "modified_field_series",
    "modifying_field_series",
    "ring_field_coefficients",
    "scaled_coefficients",
    "weights_at_order",
]


def _check_map_series(series: object, order: int) -> BSeries:
    if not isinstance(series, BSeries):
        raise BeaTypeError(f"expected a map BSeries, got {series!r}")
    if not series.is_map:
        raise SeriesError(f"expected a map series (coefficient 1 on the empty tree), got {series.empty}")
    if series.order < order:
        raise SeriesError(f"the series has order {series.order}, lower than the requested order {order}")
    return series


def map_coefficients(series: object, order: int) -> tuple[Ring, dict[int, Any]]:
    """The map series through ``order`` (tree id -> value in a fast ring, every tree present).

    Internal interface of bea (used by :mod:`bea.modified` and :mod:`bea.structure`), not public API.
    """
    checked = _check_map_series(series, order)
    zero = sympy.Integer(0)
    kept = {t: checked._coeffs.get(t, zero) for n in range(1, order + 1) for t in _table.trees_of_order(n)}
    ring = Ring.for_values(kept.values())
    return ring, {t: ring.convert(v) for t, v in kept.items()}


def scaled_coefficients(series: object, order: int) -> tuple[dict[int, int], list[int]] | None:
    """Integer numerators A[t] and per-order denominators Q[n] with a(t) = A[t] / Q[|t|], when every
    coefficient is rational; None otherwise (symbolic entries such as the sqrt(3) of Gauss)."""
    checked = _check_map_series(series, order)
    zero = sympy.Integer(0)
    values = {t: checked._coeffs.get(t, zero) for n in range(1, order + 1) for t in _table.trees_of_order(n)}
    if not all(isinstance(v, sympy.Rational) for v in values.values()):
        return None
    numerators: dict[int, int] = {}
    denominators = [1] * (order + 1)
    for n in range(1, order + 1):
        trees_n = _table.trees_of_order(n)
        q = lcm(*(int(values[t].q) for t in trees_n))
        denominators[n] = q
        for t in trees_n:
            v = values[t]
            numerators[t] = int(v.p) * (q // int(v.q))
    return numerators, denominators


def weights_at_order(B: list[int], D: list[int], n: int) -> list[int]:
    """b(s) * D[n] / (D[|s|] * D[n - |s|]) for every tree s of order below n, by id, from B[s] = b(s) * D[|s|]:
    the factor that brings the product of a cut part's value and a root part's value (scaled by
    D[n - |s|]) to the scale D[n] of the trees of order n (an integer by common_denominators).

    Internal interface of bea (used by :mod:`bea.modified`), not public API.
    """
    weight = B.copy()
    for m in range(1, n):
        f = D[n] // (D[m] * D[n - m])
        if f != 1:
            for s in _table.trees_of_order(m):
                weight[s] = B[s] * f
    return weight


def lie_tails(
    tails: list[list[int]], ladder: list[int], t: int, head: int, w: list[int], roots: tuple[int, ...], steps: range
) -> None:
    """tails[m][t] = head * ladder[m] + sum over the cuts of w * tails[m + 1][root part], for m in ``steps``.

    The transposed Lie series (:func:`lie_log`): with tails[m][u] = sum_k v_k(u) k! / (k + m)! (times a
    common scale) for a series v_k(u) = (1/k) sum_cuts v_{k-1}(root part) w(cut part) started by
    ``head`` (v_0 or v_1, as ``ladder`` says), so that one sum per cut gives sum_k v_k(t).

    Internal interface of bea (used by :mod:`bea.modified`), not public API.
    """
    for m in steps:
        tails[m][t] = head * ladder[m] + sum(map(mul, w, map(tails[m + 1].__getitem__, roots)))


def lie_log(numerators: dict[int, int], denominators: list[int], order: int) -> tuple[dict[int, int], list[int]]:
    """The modified-field recursion (module docstring) on integers, transposed.

    Input a(t) = numerators[t] / denominators[|t|]; output b(t) = B[t] / D[|t|], with D from
    :func:`bea._arith.common_denominators` (so every c_k(t) D[|t|] is an integer).

    Only the sums b(t) = a(t) - sum_{k >= 2} c_k(t) are wanted, so instead of the vector
    (c_1(t), ..., c_|t|(t)) each tree carries the linear functionals
    psi_m(t) = sum_k c_k(t) k! / (k + m)!, m = 1 .. order - |t|. The recursion for c_k gives

        sum_{k >= 2} c_k(t) = sum_cuts b(cut part) psi_1(root part),
        psi_m(t) = b(t) / (m + 1)! + sum_cuts b(cut part) psi_{m+1}(root part),

    so a tree of order n costs order - n + 1 multiply--adds per cut instead of about n (one
    for the trees of the highest order, the most numerous), each a sum over the tree's cuts
    at C speed. On integers psi_m(t) is scaled by D[|t|] * order!, which makes every value an
    integer and leaves one exact division per tree.
    """
    D = common_denominators(order, denominators)
    fact = factorial(order)
    ladder = [fact // factorial(m + 1) for m in range(order)]  # ladder[m] = order! / (m + 1)!
    size = 1 + max(max(_table.trees_of_order(n)) for n in range(1, order + 1))
    B: list[int] = [0] * size  # by tree id
    # psi[m][t] = psi_m(t) * D[|t|] * order! for m = 1 .. order - |t| (psi[0] unused)
    psi: list[list[int]] = [[0] * size if m else [] for m in range(order + 1)]
    get_psi1 = psi[1].__getitem__
    for n in range(1, order + 1):
        scale = D[n] // denominators[n]
        get_weight = weights_at_order(B, D, n).__getitem__
        trees = _table.trees_of_order(n)
        if n == order:  # the most numerous trees: only b(t)
            for t, (roots, subs, mults) in zip(trees, _table.cuts_of_order(n), strict=True):
                weights = map(mul, map(get_weight, subs), mults)
                B[t] = numerators[t] * scale - sum(map(mul, weights, map(get_psi1, roots))) // fact
            continue
        steps = range(1, order - n + 1)
        for t, (roots, subs, mults) in zip(trees, _table.cuts_of_order(n), strict=True):
            w = list(map(mul, map(get_weight, subs), mults))
            own = numerators[t] * scale - sum(map(mul, w, map(get_psi1, roots))) // fact
            B[t] = own
            lie_tails(psi, ladder, t, own, w, roots, steps)
    return {t: B[t] for n in range(1, order + 1) for t in _table.trees_of_order(n)}, D


def ring_field_coefficients(ring: Ring, a: dict[int, Any], order: int) -> dict[int, Any]:
    """The modified-field recursion in ``ring`` (symbolic coefficients), from the map coefficients ``a``."""
    inverse = [ring.integer(0)] + [ring.fraction(1, k) for k in range(1, order + 1)]
    zero = ring.integer(0)
    b: dict[int, Any] = {}
    c: dict[int, list[Any]] = {}  # c[t][k - 1] = c_k(t), k = 1..|t|
    for n in range(1, order + 1):
        for t in _table.trees_of_order(n):
            acc = [zero] * n  # acc[k - 1] accumulates k * c_k(t) for k >= 2
            for root_part, sub, mult in _table.cuts(t):
                weight = b[sub] * mult
                for j, value in enumerate(c[root_part]):
                    acc[j + 1] += value * weight
            ck = [ring.normal(acc[k - 1] * inverse[k]) for k in range(1, n + 1)]
            own = ring.normal(a[t] - sum(ck[1:], zero))
            ck[0] = own
            b[t] = own
            c[t] = ck
    return b


def field_coefficients(series: BSeries, order: int) -> tuple[Ring, dict[int, Any]]:
    """The modified field's coefficients (tree id -> value in a fast ring) through ``order``.

    Internal interface of bea (used by :mod:`bea.modified` and :mod:`bea.structure`), not public API.
    """
    scaled = scaled_coefficients(series, order)
    if scaled is not None:
        B, D = lie_log(*scaled, order)
        mpq = gmpy2.mpq
        return Ring(True), {t: mpq(v, D[_table.order(t)]) for t, v in B.items()}
    ring, a = map_coefficients(series, order)
    return ring, ring_field_coefficients(ring, a, order)


def modified_field_series(series: BSeries, order: int) -> BSeries:
    """The modified vector-field series b of the map series ``series``, for all trees up to ``order`` nodes.

    The field :math:`f_h = \\sum_\\tau h^{|\\tau|-1} \\frac{b(\\tau)}{\\sigma(\\tau)} F(\\tau)` has an exact
    time-h flow that matches the map through :math:`h^{\\text{order}}` (Hairer--Lubich--Wanner, Theorem IX.9.3).
    Raises :class:`~bea.errors.BeaTypeError` for anything but a :class:`~bea.series.BSeries`, and
    :class:`~bea.errors.SeriesError` for a vector-field series or one of lower order.
    """
    check_tree_order(order)
    scaled = scaled_coefficients(series, order)
    if scaled is not None:
        B, D = lie_log(*scaled, order)
        coeffs = {t: sympy.Rational(v, D[_table.order(t)]) for t, v in B.items()}
    else:
        ring, a = map_coefficients(series, order)
        coeffs = {t: ring.back(v) for t, v in ring_field_coefficients(ring, a, order).items()}
    return BSeries.from_ids(coeffs, order, sympy.Integer(0))


def modifying_field_series(series: BSeries, order: int) -> BSeries:
    """The modifying-integrator field :math:`\\tilde b` of the map series ``series``, through ``order``.

    Solves :math:`(\\tilde b \\star a)(\\tau) = 1/\\gamma(\\tau)` tree by tree by the substitution law: the
    partition that cuts no edge contributes :math:`a(\\bullet)\\,\\tilde b(\\tau)`, every
    other partition involves only smaller trees, at a cost of :math:`2^{|\\tau|-1}` edge subsets per tree.
    Requires :math:`a(\\bullet) \\ne 0` (:class:`~bea.errors.SeriesError` otherwise, and as for
    :func:`modified_field_series` for bad input). Reference: Chartier, Hairer & Vilmart, *Algebraic structures
    of B-series*, Found. Comput. Math. 10 (2010), section 4.
    """
    check_tree_order(order)
    ring, a = map_coefficients(series, order)
    leaf = _table.trees_of_order(1)[0]
    if a[leaf] == 0:
        raise SeriesError("the method's coefficient of the single-node tree is 0; no modifying integrator exists")
    inv_leaf = 1 / a[leaf] if ring.rational else sympy.Integer(1) / a[leaf]
    bt: dict[int, Any] = {}
    for n in range(1, order + 1):
        for t in _table.trees_of_order(n):
            rest = ring.integer(0)
            for skeleton, pieces, m in _partitions.partitions(t):
                if skeleton == leaf:
                    continue  # the uncut partition: a(•) * b̃(t), the unknown
                term = a[skeleton] * m
                for u in pieces:
                    term *= bt[u]
                rest += term
            bt[t] = ring.normal((ring.fraction(1, _table.density(t)) - rest) * inv_leaf)
    coeffs = {t: ring.back(v) for t, v in bt.items()}
    return BSeries.from_ids(coeffs, order, sympy.Integer(0))
