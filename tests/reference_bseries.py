"""A frozen copy of bea's modified-equation and modifying-integrator algorithms as of commit 40ef694.

Kept as the reference that the faster implementations must reproduce exactly (issue 13):
the Lie-derivative recursion over single-edge cuts for the modified equation, and the
substitution law over all 2^(|t|-1) edge subsets for the modifying integrator, both on
gmpy2.mpq (rational inputs) or expanded SymPy expressions. Trees are keyed by their canonical
level sequences, so the copy does not depend on bea's internal tree ids; it uses only
``bea._table``'s id constructors (from_children, from_levels, children, levels, order,
density, trees_of_order), whose meaning is fixed.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import gmpy2
import sympy

from bea import BSeries, _table

__all__ = ["reference_modified_equation", "reference_modifying_integrator"]


def _ring(series: BSeries, order: int) -> tuple[bool, dict[int, Any]]:
    values = {}
    for tree in series:
        if tree.order <= order:
            values[_table.from_levels(tree.levels)] = series[tree]
    rational = all(isinstance(v, sympy.Rational) for v in values.values())
    if rational:
        return True, {t: gmpy2.mpq(int(v.p), int(v.q)) for t, v in values.items()}
    return False, dict(values)


def _back(rational: bool, value: Any) -> sympy.Expr:
    if rational:
        return sympy.Rational(int(value.numerator), int(value.denominator))
    return sympy.expand(value)


_cuts_cache: dict[int, tuple[tuple[int, int, int], ...]] = {}


def _cuts(t: int) -> tuple[tuple[int, int, int], ...]:
    cached = _cuts_cache.get(t)
    if cached is not None:
        return cached
    found: Counter[tuple[int, int]] = Counter()
    kids = _table.children(t)
    for c, mult in Counter(kids).items():
        rest = list(kids)
        rest.remove(c)
        found[(_table.from_children(rest), c)] += mult
        for root_part, sub, m in _cuts(c):
            found[(_table.from_children([*rest, root_part]), sub)] += m * mult
    result = tuple((r, s, m) for (r, s), m in found.items())
    _cuts_cache[t] = result
    return result


_partitions_cache: dict[int, tuple[tuple[int, tuple[int, ...], int], ...]] = {}


def _partitions(t: int) -> tuple[tuple[int, tuple[int, ...], int], ...]:
    found = _partitions_cache.get(t)
    if found is not None:
        return found
    levels = _table.levels(t)
    n = len(levels)
    parent = [-1] * n
    stack: list[int] = []
    for i, lv in enumerate(levels):
        del stack[lv - 1 :]
        if stack:
            parent[i] = stack[-1]
        stack.append(i)
    merged: Counter[tuple[int, tuple[int, ...]]] = Counter()
    for mask in range(1 << (n - 1)):
        piece_of = [0] * n
        depth = [1] * n
        tops = [0]
        for i in range(1, n):
            if mask >> (i - 1) & 1:
                piece_of[i] = len(tops)
                tops.append(i)
                depth[i] = 1
            else:
                piece_of[i] = piece_of[parent[i]]
                depth[i] = depth[parent[i]] + 1
        piece_levels: list[list[int]] = [[] for _ in tops]
        for i in range(n):
            piece_levels[piece_of[i]].append(depth[i])
        skeleton_depth = [1] * len(tops)
        for p in range(1, len(tops)):
            skeleton_depth[p] = skeleton_depth[piece_of[parent[tops[p]]]] + 1
        skeleton = _table.from_levels(tuple(skeleton_depth))
        pieces = tuple(sorted(_table.from_levels(tuple(pl)) for pl in piece_levels))
        merged[(skeleton, pieces)] += 1
    result = tuple((s, p, m) for (s, p), m in merged.items())
    _partitions_cache[t] = result
    return result


def reference_modified_equation(series: BSeries, order: int) -> dict[tuple[int, ...], sympy.Expr]:
    """b(τ) by level sequence, for the map series ``series`` (commit 40ef694's algorithm)."""
    rational, a = _ring(series, order)

    def normal(v: Any) -> Any:
        return v if rational else sympy.expand(v)

    one = gmpy2.mpq(1) if rational else sympy.Integer(1)
    zero = one * 0
    inverse = [zero] + [one / k for k in range(1, order + 1)]
    b: dict[int, Any] = {}
    c: dict[int, list[Any]] = {}
    for n in range(1, order + 1):
        for t in _table.trees_of_order(n):
            acc = [zero] * n
            for root_part, sub, mult in _cuts(t):
                weight = b[sub] * mult
                for j, value in enumerate(c[root_part]):
                    acc[j + 1] += value * weight
            ck = [normal(acc[k - 1] * inverse[k]) for k in range(1, n + 1)]
            own = normal(a[t] - sum(ck[1:], zero))
            ck[0] = own
            b[t] = own
            c[t] = ck
    return {_table.levels(t): _back(rational, v) for t, v in b.items()}


def reference_modifying_integrator(series: BSeries, order: int) -> dict[tuple[int, ...], sympy.Expr]:
    """b̃(τ) by level sequence, for the map series ``series`` (commit 40ef694's algorithm)."""
    rational, a = _ring(series, order)
    leaf = _table.trees_of_order(1)[0]
    inv_leaf = 1 / a[leaf] if rational else sympy.Integer(1) / a[leaf]
    bt: dict[int, Any] = {}
    for n in range(1, order + 1):
        for t in _table.trees_of_order(n):
            rest = gmpy2.mpq(0) if rational else sympy.Integer(0)
            for skeleton, pieces, m in _partitions(t):
                if skeleton == leaf:
                    continue
                term = a[skeleton] * m
                for u in pieces:
                    term *= bt[u]
                rest += term
            gamma = gmpy2.mpq(1, _table.density(t)) if rational else sympy.Rational(1, _table.density(t))
            value = (gamma - rest) * inv_leaf
            bt[t] = value if rational else sympy.expand(value)
    return {_table.levels(t): _back(rational, v) for t, v in bt.items()}
