r"""Modified equations and modifying integrators of partitioned and additive methods, as P-series.

**Modified equation.** For a method with map series a, the modified field b is the
vector-field P-series whose exact time-h flow has P-series a:
``substitute(b, exact_solution(N)) == a``. As for B-series (:mod:`bea.modified`) it is computed
through the Lie-derivative form of that identity (Hairer--Lubich--Wanner, Lemma IX.9.1,
Theorem IX.9.3, and section IX.10 for P-series):

.. math::
    a(\tau) = \sum_{k \ge 1} c_k(\tau), \qquad c_1 = b, \qquad
    c_k(\tau) = \frac1k \sum_{\text{edges } e \text{ of } \tau}
        c_{k-1}(\tau_e^{\mathrm{root}})\, b(\tau_e^{\mathrm{cut}}),

where cutting an edge splits :math:`\tau` into the part holding the root and the subtree below
the edge (both keep their colours). Grafting a tree whose root has colour c onto a node is a
derivative with respect to the variable of colour c, so the Lie derivative of an elementary
differential is the sum over its nodes of such graftings, exactly as for one colour.

**Modifying integrator.** The field :math:`\tilde b` such that the method applied to
:math:`(\tilde f, \tilde g) = P(\tilde b)` reproduces the exact flow of (f, g):
``substitute(b̃, a) == exact_solution(N)`` (Chartier--Hairer--Vilmart, Found. Comput. Math. 10
(2010), section 4, with colours).

>>> from bea import methods
>>> print(modified_equation(methods.symplectic_euler, 2))
q: f - 1/2 h f_q f + 1/2 h f_p g
p: g - 1/2 h g_q f + 1/2 h g_p g
"""

from __future__ import annotations

from math import gcd
from typing import Any

import sympy

from bea import bicoloured
from bea._arith import Ring
from bea.errors import BeaTypeError, SeriesError
from bea.methods.tableau_pair import TableauPairWeights
from bea.pseries import enumerations
from bea.pseries.series import PSeries, PSeriesMethod
from bea.validation import MAX_BICOLOURED_ORDER, check_tree_order

__all__ = ["field_coefficients", "modified_equation", "modifying_integrator"]


def _map_coefficients(method_or_series: object, order: int) -> tuple[Ring, dict[int, Any]]:
    """The map series of the input through ``order`` (tree id -> value in a fast ring)."""
    ids = [t for n in range(1, order + 1) for t in bicoloured.trees_of_order_ids(n)]
    if isinstance(method_or_series, PSeries):
        series = method_or_series
        if not series.is_map:
            raise SeriesError(f"expected a map series (coefficient 1 on the empty tree), got {series.empty}")
        if series.order < order:
            raise SeriesError(f"the series has order {series.order}, lower than the requested order {order}")
        ring = Ring.for_values([series.coefficient(t) for t in ids])
        return ring, {t: ring.convert(series.coefficient(t)) for t in ids}
    weights = getattr(method_or_series, "weights", None)
    if isinstance(weights, TableauPairWeights):
        return weights.ring, {t: weights.weight(t) for t in ids}
    raise BeaTypeError(
        f"expected a PartitionedRungeKutta, an AdditiveRungeKutta or a map PSeries, got {method_or_series!r}"
    )


def field_coefficients(method_or_series: PSeriesMethod | PSeries, order: int) -> tuple[Ring, dict[int, Any]]:
    """The modified field's coefficients (tree id -> value in a fast ring) through ``order``.

    Internal interface of bea (for the modified Hamiltonian and structure checks); users call
    :func:`modified_equation`.
    """
    check_tree_order(order, maximum=MAX_BICOLOURED_ORDER)
    ring, a = _map_coefficients(method_or_series, order)
    inverse = [ring.integer(0)] + [ring.fraction(1, k) for k in range(1, order + 1)]
    zero = ring.integer(0)
    normal = ring.normal
    b: dict[int, Any] = {}
    c: dict[int, list[tuple[int, Any]]] = {}
    cuts = bicoloured.tree_cuts
    for n in range(1, order + 1):
        for t in bicoloured.trees_of_order_ids(n):
            acc = [zero] * (n + 1)  # acc[k] accumulates k * c_k(t) for k >= 2
            for root_part, sub, mult in cuts(t):
                weight = b[sub]
                if weight == 0:
                    continue  # common: symmetric methods have b = 0 on every tree of even order
                weight = weight * mult
                for k, value in c[root_part]:
                    acc[k + 1] += value * weight
            ck = [(k, normal(acc[k] * inverse[k])) for k in range(2, n + 1) if acc[k] != 0]
            own = normal(a[t] - sum((v for _, v in ck), zero))
            b[t] = own
            c[t] = [(1, own), *ck] if own != 0 else ck  # the non-zero c_k(t) as (k, value)
    return ring, b


def _integer_field(method_or_series: object, order: int) -> dict[int, sympy.Expr] | None:
    r"""The modified field in exact integer arithmetic, or None when the input is not a rational method.

    With D the common denominator of the tableaux and E = lcm(1..order), the scaled quantities
    :math:`B(\tau) = (ED)^{|\tau|} b(\tau)` and :math:`C_k(\tau) = k!\,(ED)^{|\tau|} c_k(\tau)` are
    integers (b is the logarithm of the character a, whose terms carry denominators 1..|τ|), and the
    recursion becomes :math:`C_k(\tau) = \sum_{\text{cuts}} C_{k-1}(\text{root part})\, B(\text{subtree})`,
    :math:`B(\tau) = E^{|\tau|} D^{|\tau|} a(\tau) - \sum_{k \ge 2} C_k(\tau)/k!`. Every division is
    checked to be exact; if one is not, None is returned and the general path is taken.
    """
    weights = getattr(method_or_series, "weights", None)
    if not isinstance(weights, TableauPairWeights):
        return None
    ids = [t for n in range(1, order + 1) for t in bicoloured.trees_of_order_ids(n)]
    scaled = weights.integer_weights(ids)
    if scaled is None:
        return None
    D, a = scaled
    E = 1
    for k in range(2, order + 1):
        E = E * k // gcd(E, k)
    factorial = [1]
    for k in range(1, order + 1):
        factorial.append(factorial[-1] * k)
    cuts = bicoloured.tree_cuts
    B: dict[int, int] = {}
    C: dict[int, list[tuple[int, int]]] = {}
    for t in ids:
        n = bicoloured.tree_data(t)[2]
        acc = [0] * (n + 1)
        for root_part, sub, mult in cuts(t):
            weight = B[sub]
            if weight:
                weight *= mult
                for k, value in C[root_part]:
                    acc[k + 1] += value * weight
        nf = factorial[n]
        total = sum(acc[k] * (nf // factorial[k]) for k in range(2, n + 1))
        if total % nf:
            return None  # pragma: no cover - the denominators are bounded as documented
        own = E**n * a[t] - total // nf
        B[t] = own
        C[t] = [(k, acc[k]) for k in range(2, n + 1) if acc[k]]
        if own:
            C[t].insert(0, (1, own))
    scale = E * D
    return {t: sympy.Rational(B[t], scale ** bicoloured.tree_data(t)[2]) for t in ids}


def modified_equation(method_or_series: PSeriesMethod | PSeries, order: int) -> PSeries:
    """The modified vector field of a partitioned or additive method, for all bicoloured trees up to ``order``.

    Returns the vector-field P-series b: the modified system is
    :math:`\\tilde q' = \\sum_{T_q} h^{|\\tau|-1} \\frac{b(\\tau)}{\\sigma(\\tau)} F(\\tau)`,
    :math:`\\tilde p' = \\sum_{T_p} h^{|\\tau|-1} \\frac{b(\\tau)}{\\sigma(\\tau)} F(\\tau)`, whose exact
    time-h flow matches the step through :math:`h^{\\text{order}}` (the :math:`h^k` terms use the
    trees with k + 1 nodes). Störmer--Verlet is symmetric, so only even powers of h appear:

    >>> from bea import methods
    >>> b = modified_equation(methods.stormer_verlet, 4)
    >>> sorted({t.order for t, v in b.items() if v != 0})
    [1, 3]

    Raises :class:`~bea.errors.InvalidOrderError` for ``order`` < 1, :class:`~bea.errors.SeriesError`
    for a field series or one of too low an order, :class:`~bea.errors.BeaTypeError` for other input.
    """
    check_tree_order(order, maximum=MAX_BICOLOURED_ORDER)
    fast = _integer_field(method_or_series, order)
    if fast is not None:
        return PSeries.from_ids(fast, order, sympy.Integer(0))
    ring, b = field_coefficients(method_or_series, order)
    return PSeries.from_ids({t: ring.back(v) for t, v in b.items()}, order, sympy.Integer(0))


def modifying_integrator(method_or_series: PSeriesMethod | PSeries, order: int) -> PSeries:
    """The modifying-integrator field :math:`\\tilde b` of a method, through ``order``.

    Solves :math:`(\\tilde b \\star a)(\\tau) = 1/\\gamma(\\tau)` tree by tree: the partition that cuts
    no edge contributes :math:`a(\\text{leaf of the root's colour})\\,\\tilde b(\\tau)`, every other one
    involves only smaller trees. The cost grows like :math:`2^{|\\tau|-1}` per tree (orders up to
    about 7 take seconds).

    Symplectic Euler applied to :math:`\\tilde f, \\tilde g` is exact through h² for:

    >>> from bea import methods
    >>> print(modifying_integrator(methods.symplectic_euler, 2))
    q: f + 1/2 h f_q f - 1/2 h f_p g
    p: g + 1/2 h g_q f - 1/2 h g_p g

    Raises :class:`~bea.errors.SeriesError` when the method's coefficient of a one-node tree is 0.
    """
    check_tree_order(order, maximum=MAX_BICOLOURED_ORDER)
    ring, a = _map_coefficients(method_or_series, order)
    zero = ring.integer(0)
    leaf_inverse = []
    for colour in (bicoloured.BLACK, bicoloured.WHITE):
        value = a[bicoloured.intern(colour, ())]
        if value == 0:
            raise SeriesError(
                f"the method's coefficient of the one-node tree of colour {colour} is 0; "
                "no modifying integrator exists"
            )
        leaf_inverse.append(ring.integer(1) / value)
    b: dict[int, Any] = {}
    for n in range(1, order + 1):
        for t in bicoloured.trees_of_order_ids(n):
            total = zero
            for skeleton, pieces, m in enumerations.partitions(t):
                if len(pieces) == 1:
                    continue  # the trivial partition: a(leaf) * b(t), solved for below
                term = a[skeleton] * m
                for u in pieces:
                    term = term * b[u]
                total += term
            colour, _, _, _, gamma = bicoloured.tree_data(t)
            b[t] = ring.normal((ring.fraction(1, gamma) - total) * leaf_inverse[colour])
    return PSeries.from_ids({t: ring.back(v) for t, v in b.items()}, order, sympy.Integer(0))
