r"""Structure checks of B-series methods: symplectic, energy-preserving, symmetric, conjugate-symplectic.

Every check takes a Runge--Kutta method, a :class:`~bea.methods.BSeriesMethod` (e.g. the average
vector field method) or a map :class:`~bea.BSeries` (:math:`a(\emptyset) = 1`), and an ``order``
N: it examines the trees with at most N nodes. Normalisation as :func:`bea.bseries`: one step is
:math:`y + \sum_\tau h^{|\tau|} a(\tau)/\sigma(\tau)\, F(\tau)(y)`, the modified field is
:math:`\sum_\tau h^{|\tau|-1} b(\tau)/\sigma(\tau)\, F(\tau)` (``docs/conventions.md``).

* **Symplectic** (conserves quadratic invariants; symplectic on every Hamiltonian system):
  :math:`a(u \circ v) + a(v \circ u) = a(u)\,a(v)` for all trees u, v
  (Calvo & Sanz-Serna 1994; Hairer--Lubich--Wanner, Theorem VI.7.6). ``order_of_symplecticity``
  is the largest k such that it holds for all :math:`|u| + |v| \le k` (as BSeries.jl).
* **Energy-preserving** for every Hamiltonian system :math:`y' = J^{-1}\nabla H(y)`: the modified
  field, renormalised :math:`\beta(\tau) = b(\tau)/\sigma(\tau)`, lies in the span of the vectors
  :math:`e_\tau + (-1)^m e_{\bar\tau}` (Celledoni, McLachlan, Owren, Quispel, *Found. Comput.
  Math.* 10 (2010) 673--693, Theorem 2). Here :math:`\tau` runs over the trees, a leaf of
  :math:`\tau` is chosen, m is the number of edges on the path ("trunk") from the root to that
  leaf, and :math:`\bar\tau` is :math:`\tau` with the subtrees hanging off the trunk's nodes
  1..m reflected (those of node j moved to node m + 1 - j). Bushy trees (height 2) get no
  vector, so their coefficients must vanish. This is BSeries.jl's ``is_energy_preserving``
  (``src/BSeries.jl``, ``_is_energy_preserving_dense``), with its floating-point rank test
  replaced by an exact one: each vector joins two trees, so the span is decided per connected
  component of a signed graph (a component with an inconsistent cycle or a loop
  :math:`2 e_\tau` spans its whole coordinate space; otherwise the span is the hyperplane
  :math:`\sum_\tau \epsilon_\tau \beta(\tau) = 0` for the signs :math:`\epsilon` it induces).
  ``energy_preserving_order`` is the largest k such that this holds for all trees with at most
  k nodes.
* **Symmetric**: the method equals its adjoint :math:`\Phi_h^* = \Phi_{-h}^{-1}` (HLW, sections
  II.3 and V.1). The adjoint's series :math:`a^*` solves
  :math:`a^- \cdot a^* = \mathbb 1` in the Butcher group, with :math:`a^-(\tau) = (-1)^{|\tau|}a(\tau)`;
  for a Runge--Kutta method, :func:`adjoint_runge_kutta` gives the adjoint tableau
  :math:`a^*_{ij} = b_{s+1-j} - a_{s+1-i,\,s+1-j}`, :math:`b^*_i = b_{s+1-i}` (HLW, section II.3).
* **Conjugate-symplectic through order k** (HLW, section VI.8; Chartier, Faou & Murua,
  *Numer. Math.* 103 (2006); Hairer & Zbinden, *IMA J. Numer. Anal.* 33 (2013)): there is a
  B-series conjugacy :math:`\chi_h` such that :math:`\chi_h^{-1} \circ \Phi_h \circ \chi_h`
  satisfies the symplecticity conditions for all :math:`|u| + |v| \le k`. Searched order by
  order with exact linear algebra (:func:`conjugate_symplectic_through` states what is certified).
  The trapezoidal rule, conjugate to the implicit midpoint rule by half an explicit Euler step,
  passes at every order without being symplectic.

>>> from bea import methods
>>> is_symplectic(methods.implicit_midpoint, 6), is_symplectic(methods.rk4, 6)
(True, False)
>>> order_of_symplecticity(methods.rk4, 6), energy_preserving_order(methods.rk4, 10)
(4, 4)
>>> is_energy_preserving(methods.average_vector_field, 6), is_symmetric(methods.trapezoid, 6)
(True, True)
>>> conjugate_symplectic_through(methods.trapezoid, 6), conjugate_symplectic_through(methods.rk4, 8)
(6, 4)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, final

import sympy

from bea import _partitions, _table
from bea._arith import Ring
from bea.errors import BeaTypeError
from bea.methods import RungeKutta, resolve
from bea.modified import MethodOrSeries, field_coefficients, map_coefficients, scaled_map
from bea.series import BSeries
from bea.validation import check_tree_order

__all__ = [
    "StructureReport",
    "adjoint",
    "adjoint_runge_kutta",
    "conjugate_symplectic_through",
    "energy_preserving_order",
    "is_energy_preserving",
    "is_symmetric",
    "is_symplectic",
    "order_of_symplecticity",
    "structure_report",
]

# Butcher products u∘v by tree ids; filled on demand, values never change (idempotent memo).
_products: dict[tuple[int, int], int] = {}


def _product(u: int, v: int) -> int:
    found = _products.get((u, v))
    if found is None:
        found = _table.from_children((*_table.children(u), v))
        _products[(u, v)] = found
    return found


def _is_zero(ring: Ring, value: Any) -> bool:
    if ring.rational:
        return bool(value == 0)
    return bool(sympy.expand(value) == 0) or bool(sympy.simplify(value) == 0)


def _pairs_hold_through(ring: Ring, values: dict[int, Any], order: int, map_condition: bool) -> int:
    """Largest k <= order with the pair condition for all |u| + |v| <= k.

    ``map_condition``: a(u∘v) + a(v∘u) - a(u) a(v) = 0 (symplectic map); otherwise
    b(u∘v) + b(v∘u) = 0 (Hamiltonian field). The condition is symmetric in u and v, so each
    unordered pair is checked once.
    """
    for n in range(2, order + 1):
        for k in range(1, n // 2 + 1):
            small = _table.trees_of_order(k)
            large = _table.trees_of_order(n - k)
            for i, u in enumerate(small):
                au = values[u]
                for v in large[i:] if k == n - k else large:
                    total = values[_product(u, v)] + values[_product(v, u)]
                    if map_condition:
                        total -= au * values[v]
                    if not _is_zero(ring, total):
                        return n - 1
    return order


def _open_order(found: int, order: int) -> int | None:
    return None if found >= order else found


def order_of_symplecticity(method: MethodOrSeries, order: int) -> int | None:
    """The largest k < ``order`` such that :math:`a(u\\circ v) + a(v\\circ u) = a(u)a(v)` for all
    :math:`|u| + |v| \\le k`, or None when the condition holds through ``order``.

    RK4 is symplectic through order 4 (BSeries.jl's test suite); the implicit midpoint rule is
    symplectic:

    >>> from bea import methods
    >>> order_of_symplecticity(methods.rk4, 6), order_of_symplecticity(methods.implicit_midpoint, 9)
    (4, None)

    Raises :class:`~bea.errors.InvalidOrderError` for an order below 1 and
    :class:`~bea.errors.BeaTypeError` for an input that is not a method or a map series.
    Reference: Calvo & Sanz-Serna (1994); Hairer--Lubich--Wanner, Theorem VI.7.6.
    """
    check_tree_order(order)
    scaled = scaled_map(method, order)
    if scaled is not None:
        return _open_order(_integer_pairs_hold_through(*scaled, order), order)
    ring, a, _ = map_coefficients(method, order)
    return _open_order(_pairs_hold_through(ring, a, order, map_condition=True), order)


def _integer_pairs_hold_through(numerators: dict[int, int], denominators: list[int], order: int) -> int:
    """:func:`_pairs_hold_through` for a(t) = numerators[t] / denominators[|t|], on integers:
    (A(u∘v) + A(v∘u)) Q_|u| Q_|v| = A(u) A(v) Q_n."""
    for n in range(2, order + 1):
        qn = denominators[n]
        for k, u, v, uv, vu in _pair_table(n):
            qq = denominators[k] * denominators[n - k]
            if (numerators[uv] + numerators[vu]) * qq != numerators[u] * numerators[v] * qn:
                return n - 1
    return order


_pair_tables: dict[int, tuple[tuple[int, int, int, int, int], ...]] = {}


def _pair_table(n: int) -> tuple[tuple[int, int, int, int, int], ...]:
    """(|u|, u, v, u∘v, v∘u) for the unordered pairs of trees with |u| + |v| = n, |u| <= |v|."""
    found = _pair_tables.get(n)
    if found is None:
        found = tuple((_table.order(u), u, v, _product(u, v), _product(v, u)) for u, v in _pairs(n))
        _pair_tables[n] = found
    return found


def is_symplectic(method: MethodOrSeries, order: int) -> bool:
    """True when the symplecticity conditions hold for all trees u, v with
    :math:`|u| + |v| \\le` ``order`` (see :func:`order_of_symplecticity`)."""
    return order_of_symplecticity(method, order) is None


def conjugate_symplectic_through(method: MethodOrSeries, order: int) -> int:
    r"""The largest k <= ``order`` through which the method is conjugate to a symplectic one.

    Searched order by order for a B-series conjugacy :math:`\chi_h = B(c)`,
    :math:`c(\emptyset) = 1`, :math:`c(\bullet) = 0`, such that
    :math:`\Psi_h = \chi_h^{-1} \circ \Phi_h \circ \chi_h` satisfies the symplecticity
    conditions for all :math:`|u| + |v| \le k` (module docstring). At order n the
    conditions are affine in the new coefficients c(w), |w| = n - 1, with the integer matrix
    :math:`L(c)(\tau) = [\tau = [u]]\,c(u) - \sum_{\text{leaves}} c(\tau \setminus \ell)`
    (the first-order term of the commutator with :math:`a(\bullet) = 1`); they are solved exactly
    and one particular solution is kept. A positive answer is therefore certified (the
    conjugated series passes the exact conditions). A negative answer is exact up to order 2p
    (p the order of accuracy), where the conditions are linear in all of c; above it, another
    choice of the free coefficients at lower orders could in principle succeed where this one
    fails. A symplectic method passes at every order, the trapezoidal rule (conjugate to the
    implicit midpoint rule by half an explicit Euler step) too:

    >>> from bea import methods
    >>> [conjugate_symplectic_through(m, 6) for m in (methods.trapezoid, methods.explicit_midpoint)]
    [6, 3]

    Reference: Hairer--Lubich--Wanner, section VI.8; Chartier, Faou & Murua (2006);
    Hairer & Zbinden (2013).
    """
    check_tree_order(order)
    ring, a, _ = map_coefficients(method, order)
    if _pairs_hold_through(ring, a, order, map_condition=True) >= order:
        return order  # symplectic: conjugate by the identity
    c = {t: ring.integer(0) for t in a}
    for n in range(2, order + 1):
        psi = _compose(ring, _compose(ring, c, a, n), _inverse(ring, c, n), n)
        pairs = _pairs(n)
        rhs = [ring.normal(psi[_product(u, v)] + psi[_product(v, u)] - psi[u] * psi[v]) for u, v in pairs]
        if all(_is_zero(ring, r) for r in rhs):
            continue
        unknowns = _table.trees_of_order(n - 1)
        column = {w: j for j, w in enumerate(unknowns)}
        rows = []
        for u, v in pairs:
            row: dict[int, int] = {}
            for tau in (_product(u, v), _product(v, u)):
                for w, m in _linear_part(tau):
                    row[column[w]] = row.get(column[w], 0) + m
            rows.append(row)
        solution = _solve(ring, rows, [-r for r in rhs], len(unknowns))
        if solution is None:
            return n - 1
        for w, x in zip(unknowns, solution, strict=True):
            c[w] = x
    return order


def _pairs(n: int) -> list[tuple[int, int]]:
    found: list[tuple[int, int]] = []
    for k in range(1, n // 2 + 1):
        small, large = _table.trees_of_order(k), _table.trees_of_order(n - k)
        for i, u in enumerate(small):
            found.extend((u, v) for v in (large[i:] if k == n - k else large))
    return found


_leaf_removals: dict[int, tuple[tuple[int, int], ...]] = {}


def _without_a_leaf(t: int) -> tuple[tuple[int, int], ...]:
    """The trees obtained from t by removing one leaf, with multiplicities (t has >= 2 nodes)."""
    found = _leaf_removals.get(t)
    if found is not None:
        return found
    kids = _table.children(t)
    counts: dict[int, int] = {}
    for i, c in enumerate(kids):
        if i and kids[i - 1] == c:
            continue
        mult = kids.count(c)
        rest = kids[:i] + kids[i + 1 :]
        if not _table.children(c):
            key = _table.from_children(rest)
            counts[key] = counts.get(key, 0) + mult
        else:
            for smaller, m in _without_a_leaf(c):
                key = _table.from_children((*rest, smaller))
                counts[key] = counts.get(key, 0) + m * mult
    result = tuple(counts.items())
    _leaf_removals[t] = result
    return result


def _linear_part(tau: int) -> list[tuple[int, int]]:
    """L(c)(tau) as (tree w, integer factor) pairs: [tau = [u]] c(u) - sum over leaves c(tau - leaf)."""
    terms = [(w, -m) for w, m in _without_a_leaf(tau)]
    kids = _table.children(tau)
    if len(kids) == 1:
        terms.append((kids[0], 1))
    return terms


def _eliminate(ring: Ring, row: dict[int, Any], r: Any, j: int, prow: dict[int, Any], pr: Any) -> Any:
    """Subtract row[j] times the pivot row (prow, pr) from (row, r) in place; return the new right-hand side."""
    f = row.get(j)
    if f is None:
        return r
    for k, v in prow.items():
        nv = ring.normal(row.get(k, 0) - f * v)
        if _is_zero(ring, nv):
            row.pop(k, None)
        else:
            row[k] = nv
    return ring.normal(r - f * pr)


def _solve(ring: Ring, rows: list[dict[int, int]], rhs: list[Any], size: int) -> list[Any] | None:
    """One exact solution x of rows @ x = rhs (free unknowns 0), or None if inconsistent."""
    eqs = [({j: ring.integer(v) for j, v in row.items() if v}, r) for row, r in zip(rows, rhs, strict=True)]
    pivots: list[tuple[int, dict[int, Any], Any]] = []
    for row, r in eqs:
        for j, prow, pr in pivots:
            r = _eliminate(ring, row, r, j, prow, pr)
        if not row:
            if not _is_zero(ring, r):
                return None
            continue
        j = min(row)
        inv = 1 / row[j] if ring.rational else sympy.Integer(1) / row[j]
        prow = {k: ring.normal(v * inv) for k, v in row.items()}
        pr = ring.normal(r * inv)
        # keep earlier pivot rows reduced in j
        reduced = []
        for j2, prow2, pr2 in pivots:
            reduced.append((j2, prow2, _eliminate(ring, prow2, pr2, j, prow, pr)))
        pivots = [*reduced, (j, prow, pr)]
    x = [ring.integer(0)] * size
    for j, _prow, pr in pivots:
        x[j] = pr
    return x


def _compose(ring: Ring, x: dict[int, Any], y: dict[int, Any], order: int) -> dict[int, Any]:
    """(x . y)(t) = x(t) + sum_s y(s) prod x(forest) for map series x, y ("first x, then y")."""
    out: dict[int, Any] = {}
    for n in range(1, order + 1):
        for t in _table.trees_of_order(n):
            total = x[t]
            for s, forest, m in _partitions.root_subtrees(t):
                term = y[s] * m
                for u in forest:
                    term *= x[u]
                total += term
            out[t] = ring.normal(total)
    return out


def _inverse(ring: Ring, x: dict[int, Any], order: int) -> dict[int, Any]:
    """The inverse of the map series x in the Butcher group: x . x^{-1} = identity."""
    inv: dict[int, Any] = {}
    for n in range(1, order + 1):
        for t in _table.trees_of_order(n):
            total = x[t]
            for s, forest, m in _partitions.root_subtrees(t):
                if not forest:
                    continue  # s = t: the unknown
                term = inv[s] * m
                for u in forest:
                    term *= x[u]
                total += term
            inv[t] = ring.normal(-total)
    return inv


# ------------------------------------------------------------------ energy preservation
_trunks: dict[int, tuple[tuple[tuple[int, ...], ...], ...]] = {}


def _trunk_forests(t: int) -> tuple[tuple[tuple[int, ...], ...], ...]:
    """For each root-to-leaf path of t (one per distinct leaf up to symmetry): the forests
    hanging off the path's nodes 1..m (the leaf carries none)."""
    found = _trunks.get(t)
    if found is not None:
        return found
    kids = _table.children(t)
    if not kids:
        result: tuple[tuple[tuple[int, ...], ...], ...] = ((),)
    else:
        paths: list[tuple[tuple[int, ...], ...]] = []
        for i, c in enumerate(kids):
            if i and kids[i - 1] == c:
                continue  # equal children give the same paths
            rest = kids[:i] + kids[i + 1 :]
            paths.extend((rest, *p) for p in _trunk_forests(c))
        result = tuple(paths)
    _trunks[t] = result
    return result


def _reflected(forests: tuple[tuple[int, ...], ...]) -> int:
    node = _table.from_children(())  # the leaf at the end of the trunk
    for forest in forests:  # reflected: node j carries the forest of node m + 1 - j
        node = _table.from_children((*forest, node))
    return node


_partner_cache: dict[int, tuple[tuple[int, int], ...]] = {}


def _partners(t: int) -> tuple[tuple[int, int], ...]:
    """(reflected tree, (-1)^m) for each trunk of t; none for a bushy tree (height 2)."""
    found = _partner_cache.get(t)
    if found is None:
        if _table.order(t) > 1 and all(not _table.children(c) for c in _table.children(t)):
            found = ()  # bushy: no vector
        else:
            found = tuple((_reflected(forests), -1 if len(forests) % 2 else 1) for forests in _trunk_forests(t))
        _partner_cache[t] = found
    return found


def _energy_ok(ring: Ring, beta: dict[int, Any], trees_n: tuple[int, ...]) -> bool:
    """Does beta restricted to trees_n lie in the span of e_t + (-1)^m e_partner?"""
    parent = {t: t for t in trees_n}
    parity = dict.fromkeys(trees_n, 1)  # e_t ≡ parity[t] e_parent[t] modulo the span
    free = dict.fromkeys(trees_n, False)  # the component's root vector lies in the span

    def find(x: int) -> tuple[int, int]:
        sign = 1
        path = []
        while parent[x] != x:
            path.append(x)
            sign *= parity[x]
            x = parent[x]
        # compress
        acc = sign
        for y in path:
            s = parity[y]
            parent[y] = x
            parity[y] = acc
            acc *= s
        return x, sign

    for t in trees_n:
        for partner, sign in _partners(t):  # vector e_t + sign e_partner, so e_t ≡ -sign e_partner
            rt, pt = find(t)
            rp, pp = find(partner)
            rel = -sign * pt * pp  # e_rt ≡ rel e_rp
            if rt == rp:
                if rel != 1:
                    free[rt] = True
            else:
                parent[rt] = rp
                parity[rt] = rel
                free[rp] = free[rp] or free[rt]
    sums: dict[int, Any] = {}
    for t in trees_n:
        r, s = find(t)
        if not free[r]:
            sums[r] = sums.get(r, 0) + (beta[t] if s == 1 else -beta[t])
    return all(_is_zero(ring, total) for total in sums.values())


def energy_preserving_order(method: MethodOrSeries, order: int) -> int | None:
    """The largest k < ``order`` such that the method is energy-preserving through trees with k
    nodes (Celledoni et al. 2010, Theorem 2; module docstring), or None when it is through
    ``order``.

    Published values (BSeries.jl's test suite): RK4 4; Ralston's method 3 (Celledoni et al.,
    ESAIM M2AN 43 (2009)); the average vector field method is energy-preserving:

    >>> from bea import methods
    >>> [energy_preserving_order(m, 8) for m in (methods.rk4, methods.ralston, methods.average_vector_field)]
    [4, 3, None]
    """
    check_tree_order(order)
    ring, b = field_coefficients(method, order)
    beta = {t: b[t] * ring.fraction(1, _table.symmetry(t)) for t in b}
    for n in range(1, order + 1):
        if not _energy_ok(ring, beta, _table.trees_of_order(n)):
            return n - 1
    return None


def is_energy_preserving(method: MethodOrSeries, order: int) -> bool:
    """True when the method is energy-preserving through trees with ``order`` nodes
    (see :func:`energy_preserving_order`)."""
    return energy_preserving_order(method, order) is None


# ------------------------------------------------------------------ adjoint and symmetry
def _adjoint_values(ring: Ring, a: dict[int, Any], order: int) -> dict[int, Any]:
    minus = {t: (-v if _table.order(t) % 2 else v) for t, v in a.items()}
    return _inverse(ring, minus, order)


def adjoint(method: MethodOrSeries, order: int) -> BSeries:
    """The map series of the adjoint method :math:`\\Phi^*_h = \\Phi_{-h}^{-1}` through ``order``.

    The adjoint of explicit Euler is implicit Euler:

    >>> from bea import bseries, methods
    >>> adjoint(methods.explicit_euler, 4) == bseries(methods.implicit_euler, 4)
    True

    Reference: Hairer--Lubich--Wanner, section II.3 (adjoint methods) and III.1.4 (inverse
    in the Butcher group).
    """
    check_tree_order(order)
    ring, a, _ = map_coefficients(method, order)
    star = _adjoint_values(ring, a, order)
    return BSeries.from_ids({t: ring.back(v) for t, v in star.items()}, order, sympy.Integer(1))


def is_symmetric(method: MethodOrSeries, order: int) -> bool:
    """True when the method equals its adjoint on every tree with at most ``order`` nodes.

    >>> from bea import methods
    >>> is_symmetric(methods.implicit_midpoint, 8), is_symmetric(methods.rk4, 8)
    (True, False)
    """
    check_tree_order(order)
    ring, a, _ = map_coefficients(method, order)
    star = _adjoint_values(ring, a, order)
    return all(_is_zero(ring, star[t] - a[t]) for t in a)


def adjoint_runge_kutta(method: RungeKutta) -> RungeKutta:
    """The adjoint Runge--Kutta method: :math:`a^*_{ij} = b_{s+1-j} - a_{s+1-i,s+1-j}`,
    :math:`b^*_i = b_{s+1-i}` (Hairer--Lubich--Wanner, section II.3, eq. (3.8)).

    >>> from bea import methods
    >>> adjoint_runge_kutta(methods.explicit_euler).A
    ((1,),)
    """
    if not isinstance(method, RungeKutta):
        raise BeaTypeError(f"adjoint_runge_kutta needs a RungeKutta method, got {method!r}")
    s = method.stages
    A, b = method.A, method.b
    star_A = [[b[s - 1 - j] - A[s - 1 - i][s - 1 - j] for j in range(s)] for i in range(s)]
    star_b = [b[s - 1 - i] for i in range(s)]
    return RungeKutta(star_A, star_b, name=f"{method.name}_adjoint")


# ------------------------------------------------------------------ one report
@final
@dataclass(frozen=True)
class StructureReport:
    """Every structure check of one method through one order (see :func:`structure_report`).

    ``order_of_symplecticity`` and ``energy_preserving_order`` are None when the property holds
    through ``order``; ``conjugate_symplectic_through`` is the largest k <= ``order`` for which
    the modified field is Hamiltonian.
    """

    method: str
    order: int
    symplectic: bool
    order_of_symplecticity: int | None
    energy_preserving: bool
    energy_preserving_order: int | None
    symmetric: bool
    conjugate_symplectic_through: int

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (keys as the ``bea structure --format json`` command prints them)."""
        return {
            "method": self.method,
            "order": self.order,
            "symplectic": self.symplectic,
            "order_of_symplecticity": self.order_of_symplecticity,
            "energy_preserving": self.energy_preserving,
            "energy_preserving_order": self.energy_preserving_order,
            "symmetric": self.symmetric,
            "conjugate_symplectic_through": self.conjugate_symplectic_through,
        }


def structure_report(method: MethodOrSeries, order: int) -> StructureReport:
    """Run every structure check of ``method`` through ``order``.

    >>> from bea import methods
    >>> r = structure_report(methods.trapezoid, 6)
    >>> r.symplectic, r.symmetric, r.energy_preserving, r.conjugate_symplectic_through
    (False, True, False, 6)
    """
    check_tree_order(order)
    symplecticity = order_of_symplecticity(method, order)
    energy = energy_preserving_order(method, order)
    name = "B-series" if isinstance(method, BSeries) else resolve(method).name
    return StructureReport(
        method=name,
        order=order,
        symplectic=symplecticity is None,
        order_of_symplecticity=symplecticity,
        energy_preserving=energy is None,
        energy_preserving_order=energy,
        symmetric=is_symmetric(method, order),
        conjugate_symplectic_through=conjugate_symplectic_through(method, order),
    )
