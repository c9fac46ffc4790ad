r"""Modified equations and modifying integrators of B-series methods.

**Modified equation.** For a method with map series a, the modified field
:math:`b` is the vector-field series whose exact time-h flow has B-series a:
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

**Modifying integrator.** The field :math:`\tilde b` such that the method applied
to :math:`\tilde f = B(\tilde b)` reproduces the exact flow of f:
``substitute(b̃, a) == exact_solution`` (Chartier--Hairer--Vilmart, Found. Comput.
Math. 10 (2010), section 4).

>>> from bea import methods, Tree
>>> b = modified_equation(methods.explicit_euler, 3)
>>> [b[t] for t in (Tree.from_levels([1]), Tree.from_levels([1, 2]),
...                 Tree.from_levels([1, 2, 3]), Tree.from_levels([1, 2, 2]))]
[1, -1/2, 1/3, 1/6]
>>> print(b)
f - 1/2 h f'f + 1/3 h² f'f'f + 1/12 h² f''(f, f)
"""

from __future__ import annotations

import warnings
from typing import Any

import sympy

from bea import _partitions, _table
from bea._arith import Ring
from bea.errors import BeaTypeError, ExpensiveComputationWarning, SeriesError
from bea.methods.bseries_method import BSeriesMethod
from bea.methods.rungekutta import RungeKutta
from bea.series import BSeries
from bea.trees import _check_order

__all__ = ["modified_equation", "modifying_integrator"]

#: Series orders above which a computation is expected to take over a minute.
MODIFIED_EQUATION_WARN_ORDER = 15
SUBSTITUTION_WARN_ORDER = 12


def _warn_if_expensive(order: int, limit: int, what: str) -> None:
    if order > limit:
        warnings.warn(
            f"{what} of order {order} is expected to take more than a minute "
            f"(orders up to {limit} are fast)",
            ExpensiveComputationWarning,
            stacklevel=3,
        )


#: What the functions of this module accept: a Runge--Kutta method, a method given by its
#: B-series, or a map B-series.
MethodOrSeries = RungeKutta | BSeriesMethod | BSeries


def map_coefficients(method_or_series: object, order: int) -> tuple[Ring, dict[int, Any], Any]:
    """The map series of the input through ``order`` (tree id -> value in a fast ring), and a(∅).

    Internal interface of bea (used by :mod:`bea.structure`), not part of the public API.
    """
    if isinstance(method_or_series, BSeriesMethod):
        method_or_series = method_or_series.bseries(order)
    if isinstance(method_or_series, RungeKutta):
        ring: Ring = method_or_series._ring
        a = {
            t: method_or_series._elementary_weight(t)
            for n in range(1, order + 1)
            for t in _table.trees_of_order(n)
        }
        return ring, a, ring.integer(1)
    if isinstance(method_or_series, BSeries):
        series = method_or_series
        if not series.is_map:
            raise SeriesError(f"expected a map series (coefficient 1 on the empty tree), got {series.empty}")
        if series.order < order:
            raise SeriesError(f"the series has order {series.order}, lower than the requested order {order}")
        values = [v for t, v in series._coeffs.items() if _table.order(t) <= order]
        ring = Ring.for_values(values)
        a = {t: ring.convert(v) for t, v in series._coeffs.items() if _table.order(t) <= order}
        return ring, a, ring.integer(1)
    raise BeaTypeError(
        f"expected a RungeKutta method, a BSeriesMethod or a map BSeries, got {method_or_series!r}"
    )


def modified_equation(method_or_series: MethodOrSeries, order: int) -> BSeries:
    """The modified vector field of a B-series method, for all trees up to ``order`` nodes.

    Returns the vector-field series b with
    :math:`f_h = \\sum_\\tau h^{|\\tau|-1} \\frac{b(\\tau)}{\\sigma(\\tau)} F(\\tau)`,
    whose exact time-h flow matches the method's step through :math:`h^{\\text{order}}`.
    ``order`` is the largest tree order, so the field holds the terms
    :math:`h^0, \\dots, h^{\\text{order}-1}` (the h^k term uses the trees with k + 1 nodes).

    For a method of order p the terms :math:`h^1..h^{p-1}` vanish: the explicit midpoint
    rule (p = 2) starts at h²:

    >>> from bea import methods
    >>> print(modified_equation(methods.explicit_midpoint, 3))
    f - 1/6 h² f'f'f - 1/24 h² f''(f, f)
    >>> print(modified_equation(methods.implicit_euler, 3))  # the proximal point method
    f + 1/2 h f'f + 1/3 h² f'f'f + 1/12 h² f''(f, f)
    """
    _check_order(order)
    _warn_if_expensive(order, MODIFIED_EQUATION_WARN_ORDER, "modified_equation")
    ring, b = field_coefficients(method_or_series, order)
    coeffs = {t: ring.back(v) for t, v in b.items()}
    return BSeries._from_ids(coeffs, order, sympy.Integer(0))


def field_coefficients(method_or_series: object, order: int) -> tuple[Ring, dict[int, Any]]:
    """The modified field's coefficients (tree id -> value in a fast ring) through ``order``.

    Internal interface of bea (used by :mod:`bea.structure`), not part of the public API.
    """
    ring, a, _ = map_coefficients(method_or_series, order)
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


def modifying_integrator(method_or_series: MethodOrSeries, order: int) -> BSeries:
    """The modifying-integrator field :math:`\\tilde b` of a method, through ``order``.

    Solves :math:`(\\tilde b \\star a)(\\tau) = 1/\\gamma(\\tau)` tree by tree: the
    partition that cuts no edge contributes :math:`a(\\bullet)\\,\\tilde b(\\tau)`, every
    other partition involves only smaller trees. Requires :math:`a(\\bullet) \\ne 0`.

    Explicit Euler applied to :math:`\\tilde f` is exact (to the given order) for:

    >>> from bea import methods
    >>> print(modifying_integrator(methods.explicit_euler, 3))
    f + 1/2 h f'f + 1/6 h² f'f'f + 1/6 h² f''(f, f)
    """
    _check_order(order)
    _warn_if_expensive(order, SUBSTITUTION_WARN_ORDER, "modifying_integrator")
    ring, a, _ = map_coefficients(method_or_series, order)
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
