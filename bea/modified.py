r"""Modified equations, modifying integrators and B-series of methods (or method names).

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

For rational coefficients the recursion runs on Python integers over one common denominator
per order (``bea._arith.common_denominators``): no rational is created or reduced until
the result is handed back.

**Modifying integrator.** The field :math:`\tilde b` such that the method applied
to :math:`\tilde f = B(\tilde b)` reproduces the exact flow of f:
``substitute(b̃, a) == exact_solution`` (Chartier--Hairer--Vilmart, Found. Comput.
Math. 10 (2010), section 4). For a Runge--Kutta method it is computed through the stages,
with two Lie recursions of the kind above per stage and no enumeration of edge subsets;
for a series, by the substitution law over all partitions.

Each function takes a method (any :class:`~bea.methods.Method` with a B-series), a
catalogue name such as ``"rk4"`` (:func:`bea.methods.resolve`), or a map
:class:`~bea.series.BSeries`. Methods without a B-series (one-step maps, compositions,
methods with memory) raise :class:`~bea.errors.NotABSeriesMethodError`; their modified
flows come from :func:`bea.modified_flow`. The recursions on series live in :mod:`bea.backward`;
this module adds the fast paths through a Runge--Kutta tableau.

>>> from bea import methods, Tree
>>> b = modified_equation(methods.explicit_euler, 3)
>>> [b[t] for t in (Tree.from_levels([1]), Tree.from_levels([1, 2]),
...                 Tree.from_levels([1, 2, 3]), Tree.from_levels([1, 2, 2]))]
[1, -1/2, 1/3, 1/6]
>>> print(b)
f - 1/2 h f'f + 1/3 h² f'f'f + 1/12 h² f''(f, f)
>>> modified_equation("gd", 3) == b
True
"""

from __future__ import annotations

import warnings
from math import factorial, lcm
from operator import add, mul
from typing import Any

import gmpy2
import sympy

from bea import _table, backward
from bea._arith import Ring, common_denominators, exact_rational
from bea.differentials import evaluate_field_series
from bea.errors import ExpensiveComputationWarning
from bea.methods import Method, RungeKutta, resolve
from bea.series import BSeries
from bea.validation import check_tree_order

__all__ = ["bseries", "modified_equation", "modified_vector_field", "modifying_integrator"]

#: Series orders above which a computation is expected to take over a minute.
MODIFIED_EQUATION_WARN_ORDER = 15
SUBSTITUTION_WARN_ORDER = 12


def _warn_if_expensive(order: int, limit: int, what: str) -> None:
    if order > limit:
        warnings.warn(
            f"{what} of order {order} is expected to take more than a minute (orders up to {limit} are fast)",
            ExpensiveComputationWarning,
            stacklevel=3,
        )


#: What the functions of this module accept: a method with a B-series (any :class:`~bea.methods.Method`),
#: its catalogue name, or a map B-series.
MethodOrSeries = Method | BSeries | str


def _normal(method_or_series: MethodOrSeries, order: int) -> RungeKutta | BSeries:
    """A Runge--Kutta method (for the fast paths through its tableau) or a map series."""
    if isinstance(method_or_series, (BSeries, RungeKutta)):
        return method_or_series  # before resolve(): its check against the Method protocol costs 0.2 ms
    method = resolve(method_or_series)
    return method if isinstance(method, RungeKutta) else method.bseries(order)


def bseries(method: Method | str, order: int) -> BSeries:
    """The map B-series of a method (or catalogue name), through trees with ``order`` nodes.

    For a Runge--Kutta method :math:`a(\\tau) = \\Phi(\\tau)`, its elementary weight, so one step is
    :math:`y + \\sum_\\tau h^{|\\tau|} \\frac{\\Phi(\\tau)}{\\sigma(\\tau)} F(\\tau)(y)`
    (Hairer--Lubich--Wanner, Theorem III.1.4). The method has order p iff
    :math:`\\Phi(\\tau) = 1/\\gamma(\\tau)` for every tree with at most p nodes.
    :class:`~bea.errors.NotABSeriesMethodError` for methods without a B-series.

    >>> from bea import exact_solution, methods
    >>> print(bseries(methods.explicit_euler, 3))
    1 + h f
    >>> print(bseries("rk4", 3) - exact_solution(3))
    0
    """
    check_tree_order(order)
    return resolve(method).bseries(order)


def map_coefficients(method_or_series: MethodOrSeries, order: int) -> tuple[Ring, dict[int, Any], Any]:
    """The map series of the input through ``order`` (tree id -> value in a fast ring), and a(∅).

    Internal interface of bea (used by :mod:`bea.structure`), not part of the public API.
    """
    source = _normal(method_or_series, order)
    if isinstance(source, RungeKutta):
        scaled = _scaled_weights(source, order)
        if scaled is not None:
            numerators, denominators = scaled
            mpq = gmpy2.mpq
            a_fast = {t: mpq(v, denominators[_table.order(t)]) for t, v in numerators.items()}
            return Ring(True), a_fast, mpq(1)
        source = source.bseries(order)
    ring, a = backward.map_coefficients(source, order)
    return ring, a, ring.integer(1)


def scaled_map(method_or_series: MethodOrSeries, order: int) -> tuple[dict[int, int], list[int]] | None:
    """Integer numerators A[t] and per-order denominators Q[n] with a(t) = A[t] / Q[|t|], when every
    coefficient is rational; None otherwise (symbolic entries such as the sqrt(3) of Gauss).

    Internal interface of bea (used by :mod:`bea.structure`), not part of the public API.
    """
    source = _normal(method_or_series, order)
    if isinstance(source, RungeKutta):
        return _scaled_weights(source, order)
    return backward.scaled_coefficients(source, order)


def _scaled_weights(method: RungeKutta, order: int) -> tuple[dict[int, int], list[int]] | None:
    """Elementary weights of a rational tableau as integers: Phi(t) = A[t] / q^|t| with q the
    common denominator of the tableau (Phi(t) has |t| tableau factors: one b and |t| - 1 of A).

    Phi(t) = sum_i b_i g_i(t) with g_i(t) = prod over the children c of (A g(c))_i; for
    t = c^mu + r (:func:`bea._table.pieces_of_order`), g_i(t) = g_i(r) ((A g(c))_i)^mu, so the trees
    of one order are done together, stage by stage, with maps over whole lists."""
    entries = [*(x for row in method.A for x in row), *method.b]
    if not all(isinstance(x, sympy.Rational) for x in entries):
        return None
    q = lcm(*(int(x.q) for x in entries))
    s = method.stages
    A = [[int(x.p) * (q // int(x.q)) for x in row] for row in method.A]
    b = [int(x.p) * (q // int(x.q)) for x in method.b]
    g: list[dict[int, int]] = [{} for _ in range(s)]  # g[i][t] = g_i(t), scaled by q^(|t| - 1)
    weighted: list[dict[int, int]] = [{} for _ in range(s)]  # weighted[i][t] = (A g(t))_i, scaled by q^|t|
    numerators: dict[int, int] = {}
    for n in range(1, order + 1):
        trees = _table.trees_of_order(n)
        if n == 1:
            stage_g = [[1] for _ in range(s)]
        else:
            firsts, mus, rests = _table.pieces_of_order(n)
            stage_g = [
                list(map(mul, map(g[i].__getitem__, rests), map(pow, map(weighted[i].__getitem__, firsts), mus)))
                for i in range(s)
            ]
        numerators.update(zip(trees, _combination(b, stage_g, len(trees)), strict=True))
        if n < order:
            for i in range(s):
                g[i].update(zip(trees, stage_g[i], strict=True))
                weighted[i].update(zip(trees, _combination(A[i], stage_g, len(trees)), strict=True))
    return numerators, [q**n for n in range(order + 1)]


def _combination(coefficients: list[int], vectors: list[list[int]], length: int) -> list[int]:
    """sum_i coefficients[i] * vectors[i], elementwise (zero coefficients skipped)."""
    total = [0] * length
    for c, vector in zip(coefficients, vectors, strict=True):
        if c:
            total = list(map(add, total, map(c.__mul__, vector)))
    return total


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
    check_tree_order(order)
    _warn_if_expensive(order, MODIFIED_EQUATION_WARN_ORDER, "modified_equation")
    source = _normal(method_or_series, order)
    scaled = scaled_map(source, order)
    if scaled is not None:
        B, D = backward.lie_log(*scaled, order)
        coeffs = {t: exact_rational(v, D[_table.order(t)]) for t, v in B.items()}
    else:
        ring, b = field_coefficients(source, order)
        coeffs = {t: ring.back(v) for t, v in b.items()}
    return BSeries.from_ids(coeffs, order, sympy.Integer(0))


def field_coefficients(method_or_series: MethodOrSeries, order: int) -> tuple[Ring, dict[int, Any]]:
    """The modified field's coefficients (tree id -> value in a fast ring) through ``order``.

    Internal interface of bea (used by :mod:`bea.structure`), not part of the public API.
    """
    source = _normal(method_or_series, order)
    scaled = scaled_map(source, order)
    if scaled is not None:
        B, D = backward.lie_log(*scaled, order)
        mpq = gmpy2.mpq
        return Ring(True), {t: mpq(v, D[_table.order(t)]) for t, v in B.items()}
    ring, a, _ = map_coefficients(source, order)
    return ring, backward.ring_field_coefficients(ring, a, order)


def modifying_integrator(method_or_series: MethodOrSeries, order: int) -> BSeries:
    """The modifying-integrator field :math:`\\tilde b` of a method, through ``order``.

    Solves :math:`(\\tilde b \\star a)(\\tau) = 1/\\gamma(\\tau)` tree by tree. For a
    Runge--Kutta method, through its stages (module docstring): about the cost of
    :func:`modified_equation` per stage that depends on the others. For a series or a
    :class:`~bea.methods.BSeriesMethod`, by the substitution law: the partition that cuts no
    edge contributes :math:`a(\\bullet)\\,\\tilde b(\\tau)`, every other partition involves only
    smaller trees, at a cost of :math:`2^{|\\tau|-1}` edge subsets per tree. Requires
    :math:`a(\\bullet) \\ne 0`.

    Explicit Euler applied to :math:`\\tilde f` is exact (to the given order) for:

    >>> from bea import methods
    >>> print(modifying_integrator(methods.explicit_euler, 3))
    f + 1/2 h f'f + 1/6 h² f'f'f + 1/6 h² f''(f, f)
    """
    check_tree_order(order)
    source = _normal(method_or_series, order)
    if isinstance(source, RungeKutta):
        _warn_if_expensive(order, MODIFIED_EQUATION_WARN_ORDER, "modifying_integrator")
        scaled = _rk_modifying_integers(source, order)
        if scaled is not None:
            B, D = scaled
            coeffs = {t: exact_rational(v, D[_table.order(t)]) for t, v in B.items()}
        else:
            ring, values = _rk_modifying(source, order)
            coeffs = {t: ring.back(v) for t, v in values.items()}
        return BSeries.from_ids(coeffs, order, sympy.Integer(0))
    _warn_if_expensive(order, SUBSTITUTION_WARN_ORDER, "modifying_integrator")
    return backward.modifying_field_series(source, order)


def _rk_modifying(method: RungeKutta, order: int) -> tuple[Ring, dict[int, Any]]:
    r"""The modifying integrator of a Runge--Kutta method by its stages, without partitions.

    Applied to :math:`\tilde f = B(\tilde b)`, stage i is :math:`Y_i = B(G_i, y)` with
    :math:`G_i = \sum_j a_{ij} E_j` and :math:`E_j = \tilde f(Y_j)`. Write :math:`G_j` as the
    time-h flow of a field :math:`d_j` (its modified field, the recursion of
    :func:`modified_equation`); then :math:`\tilde f(Y_j) = \exp(L_{d_j}) \tilde f`, a Lie
    series over single-edge cuts: :math:`e_{j,0} = \tilde b`,
    :math:`e_{j,k}(\tau) = \frac1k \sum_{\text{cuts}} e_{j,k-1}(\text{root part})\, d_j(\text{cut part})`.
    The step is exact when :math:`\sum_i b_i E_i(\tau) = 1/\gamma(\tau)`; only
    :math:`e_{i,0}(\tau) = \tilde b(\tau)` involves the unknown, so trees are solved in
    increasing order, at the cost of two Lie recursions per stage that depends on the others
    (one for explicit midpoint). Same result as the substitution law
    :math:`(\tilde b \star a)(\tau) = 1/\gamma(\tau)` (Chartier--Hairer--Vilmart 2010).
    """
    ring: Ring = method._ring
    s = method.stages
    zero, one = ring.integer(0), ring.integer(1)
    A = [[ring.convert(x) for x in row] for row in method.A]
    b = [ring.convert(x) for x in method.b]
    live = [i for i in range(s) if any(x != 0 for x in A[i])]  # stages that are not Y_i = y
    inverse = [zero] + [ring.fraction(1, k) for k in range(1, order + 1)]
    inv_sum_b = one / ring.normal(sum(b, zero)) if ring.rational else sympy.Integer(1) / sum(b, zero)
    bt: dict[int, Any] = {}
    d: list[dict[int, Any]] = [{} for _ in range(s)]  # log of each stage map
    c: list[dict[int, list[Any]]] = [{} for _ in range(s)]  # c_k of that log recursion
    e: list[dict[int, list[Any]]] = [{} for _ in range(s)]  # e_k of the Lie series of f~
    cuts = _table.cuts
    for n in range(1, order + 1):
        for t in _table.trees_of_order(n):
            tree_cuts = cuts(t)
            known = [zero] * s  # sum over k >= 1 of e_{i,k}(t)
            ek_all: list[list[Any]] = [[] for _ in range(s)]
            for i in live:
                acc = [zero] * (n + 1)
                di, ei = d[i], e[i]
                for root_part, sub, mult in tree_cuts:
                    w = di[sub]
                    if w:
                        w = w * mult
                        for j, value in enumerate(ei[root_part], 1):
                            acc[j] += value * w
                ek = [ring.normal(acc[k] * inverse[k]) for k in range(1, n)]
                ek_all[i] = ek
                known[i] = ring.normal(sum(ek, zero))
            target = ring.fraction(1, _table.density(t))
            value = ring.normal((target - sum((b[i] * known[i] for i in live), zero)) * inv_sum_b)
            bt[t] = value
            for i in live:
                e[i][t] = [value, *ek_all[i]]
            for i in live:
                g = ring.normal(sum((A[i][j] * (value + known[j]) for j in range(s) if A[i][j] != 0), zero))
                acc = [zero] * (n + 1)
                di, ci = d[i], c[i]
                for root_part, sub, mult in tree_cuts:
                    w = di[sub]
                    if w:
                        w = w * mult
                        for j, v in enumerate(ci[root_part], 2):
                            acc[j] += v * w
                ck = [ring.normal(acc[k] * inverse[k]) for k in range(2, n + 1)]
                own = ring.normal(g - sum(ck, zero))
                di[t] = own
                ci[t] = [own, *ck]
    return ring, bt


def _rk_modifying_integers(method: RungeKutta, order: int) -> tuple[dict[int, int], list[int]] | None:
    """:func:`_rk_modifying` on integers for a rational tableau: b~(t) = B[t] / D[|t|].

    With q the tableau's common denominator, every quantity of order n (b~, e_k, the stage maps
    G_i, their logs d_i and c_k) has a denominator dividing D[n] = lcm(q * lcm of the densities
    of order n, q^2 * lcm(1..n) * D[m] * D[n - m]): the products over cuts bring
    lcm(1..n) * D[m] * D[n - m], 1/gamma its own denominator, and the two tableau combinations
    (b_i, then a_ij) one factor q each. So all divisions below are exact. None for a symbolic
    tableau.

    Both Lie series are summed transposed (:func:`bea.backward.lie_log`): only
    sum_{k >= 1} e_{i,k}(t) and sum_{k >= 2} c_{i,k}(t) are needed, so each tree carries, per
    stage, phi_m = sum_k e_{i,k} k! / (k + m)! (from e_{i,0} = b~) and
    psi_m = sum_k c_{i,k} k! / (k + m)! (from c_{i,1} = d_i), m = 1 .. order - |t|, scaled
    by order!: one multiply--add per cut and stage for the trees of the highest order.
    """
    entries = [*(x for row in method.A for x in row), *method.b]
    if not all(isinstance(x, sympy.Rational) for x in entries):
        return None
    q = lcm(*(int(x.q) for x in entries))
    s = method.stages
    A = [[int(x.p) * (q // int(x.q)) for x in row] for row in method.A]
    b = [int(x.p) * (q // int(x.q)) for x in method.b]  # sum(b) == q: the method is consistent
    live = [i for i in range(s) if any(A[i])]
    rows = {i: [(j, A[i][j]) for j in range(s) if A[i][j]] for i in live}
    gammas = [1] * (order + 1)
    for n in range(1, order + 1):
        gammas[n] = q * lcm(*(_table.density(t) for t in _table.trees_of_order(n)))
    D = common_denominators(order, gammas, q * q)
    fact = factorial(order)
    from_b = [fact // factorial(m) for m in range(order + 1)]  # order! / m!: phi starts at e_0 = b~
    from_d = [fact // factorial(m + 1) for m in range(order)]  # order! / (m + 1)!: psi starts at c_1 = d
    size = 1 + max(max(_table.trees_of_order(n)) for n in range(1, order + 1))
    bt: dict[int, int] = {}
    d = {i: [0] * size for i in live}  # d_i(t) * D[|t|], by tree id
    phi = {i: [[0] * size if m else [] for m in range(order + 1)] for i in live}  # phi[i][m][t], scaled
    psi = {i: [[0] * size if m else [] for m in range(order + 1)] for i in live}
    for n in range(1, order + 1):
        Dn = D[n]
        weights = {i: backward.weights_at_order(d[i], D, n).__getitem__ for i in live}
        steps = range(1, order - n + 1)
        for t, (roots, subs, mults) in zip(_table.trees_of_order(n), _table.cuts_of_order(n), strict=True):
            known = [0] * s  # sum_{k >= 1} e_{i,k}(t) * D[n]
            w = {}
            for i in live:
                w[i] = wi = list(map(mul, map(weights[i], subs), mults))
                known[i] = sum(map(mul, wi, map(phi[i][1].__getitem__, roots))) // fact
            value = Dn // _table.density(t) - sum(b[i] * known[i] for i in live) // q
            bt[t] = value
            if n == order:
                continue
            for i in live:
                wi = w[i]
                backward.lie_tails(phi[i], from_b, t, value, wi, roots, steps)
                g = sum(aij * (value + known[j]) for j, aij in rows[i]) // q
                own = g - sum(map(mul, wi, map(psi[i][1].__getitem__, roots))) // fact
                d[i][t] = own
                backward.lie_tails(psi[i], from_d, t, own, wi, roots, steps)
    return bt, D


def modified_vector_field(
    method: MethodOrSeries, f: object, y: object, h: sympy.Symbol, order: int
) -> sympy.Matrix:
    """The modified field of ``method`` on ``f`` from the trees with at most ``order`` nodes.

    That is the truncation through :math:`h^{\\text{order}-1}`: its exact time-h flow
    agrees with one step of the method up to :math:`O(h^{\\text{order}+1})`. The implicit
    midpoint rule turns the oscillator :math:`(v, -u)` at frequency :math:`(2/h)\\arctan(h/2)`:

    >>> import sympy
    >>> from bea import methods
    >>> u, v, h = sympy.symbols("u v h")
    >>> modified_vector_field(methods.implicit_midpoint, [v, -u], [u, v], h, 5).T
    Matrix([[h**4*v/80 - h**2*v/12 + v, -h**4*u/80 + h**2*u/12 - u]])

    Reference: Hairer--Lubich--Wanner, sections IX.1 and IX.9.
    """
    check_tree_order(order)
    return evaluate_field_series(modified_equation(method, order), f, y, h)
