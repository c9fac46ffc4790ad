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

This module works on :class:`~bea.series.BSeries` only; :mod:`bea.modified` offers the same
for any method (or method name) that has a B-series, and every B-series method uses it for
its modified flow.

>>> from bea.series import exact_solution
>>> print(modified_field_series(exact_solution(3), 3))
f
"""

from __future__ import annotations

from typing import Any

import sympy

from bea import _partitions, _table
from bea._arith import Ring
from bea.errors import BeaTypeError, SeriesError
from bea.series import BSeries
from bea.trees import _check_order

__all__ = ["field_coefficients", "map_coefficients", "modified_field_series", "modifying_field_series"]


def map_coefficients(series: object, order: int) -> tuple[Ring, dict[int, Any]]:
    """The map series through ``order`` (tree id -> value in a fast ring, every tree present).

    Internal interface of bea (used by :mod:`bea.modified` and :mod:`bea.structure`), not public API.
    """
    if not isinstance(series, BSeries):
        raise BeaTypeError(f"expected a map BSeries, got {series!r}")
    if not series.is_map:
        raise SeriesError(f"expected a map series (coefficient 1 on the empty tree), got {series.empty}")
    if series.order < order:
        raise SeriesError(f"the series has order {series.order}, lower than the requested order {order}")
    zero = sympy.Integer(0)
    kept = {t: series._coeffs.get(t, zero) for n in range(1, order + 1) for t in _table.trees_of_order(n)}
    ring = Ring.for_values(kept.values())
    return ring, {t: ring.convert(v) for t, v in kept.items()}


def field_coefficients(series: BSeries, order: int) -> tuple[Ring, dict[int, Any]]:
    """The modified field's coefficients (tree id -> value in a fast ring) through ``order``.

    Internal interface of bea (used by :mod:`bea.modified` and :mod:`bea.structure`), not public API.
    """
    ring, a = map_coefficients(series, order)
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
    return ring, b


def modified_field_series(series: BSeries, order: int) -> BSeries:
    """The modified vector-field series b of the map series ``series``, for all trees up to ``order`` nodes.

    The field :math:`f_h = \\sum_\\tau h^{|\\tau|-1} \\frac{b(\\tau)}{\\sigma(\\tau)} F(\\tau)` has an exact
    time-h flow that matches the map through :math:`h^{\\text{order}}` (Hairer--Lubich--Wanner, Theorem IX.9.3).
    Raises :class:`~bea.errors.SeriesError` for a vector-field series or one of lower order.
    """
    _check_order(order)
    ring, b = field_coefficients(series, order)
    return BSeries._from_ids({t: ring.back(v) for t, v in b.items()}, order, sympy.Integer(0))


def modifying_field_series(series: BSeries, order: int) -> BSeries:
    """The modifying-integrator field :math:`\\tilde b` of the map series ``series``, through ``order``.

    Solves :math:`(\\tilde b \\star a)(\\tau) = 1/\\gamma(\\tau)` tree by tree: the
    partition that cuts no edge contributes :math:`a(\\bullet)\\,\\tilde b(\\tau)`, every
    other partition involves only smaller trees. Requires :math:`a(\\bullet) \\ne 0`
    (:class:`~bea.errors.SeriesError` otherwise).
    """
    _check_order(order)
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
    return BSeries._from_ids(coeffs, order, sympy.Integer(0))
