"""Interned rooted trees: the fast internal representation behind :class:`bea.Tree`.

Every rooted tree that bea meets is given a small integer id in one process-wide
table. A tree is identified by the multiset of the ids of its root's children,
so building, canonicalising and cutting trees costs dictionary look-ups rather than
sorting level sequences. The public API never exposes ids; it works with
:class:`bea.Tree` objects, which carry their canonical level sequence.

Conventions (as RootedTrees.jl): a tree is stored as its canonical level
sequence, the lexicographically largest level sequence (root level 1) among those
of the same tree; equivalently the children's sequences appear in decreasing
lexicographic order.
"""

from __future__ import annotations

import threading
from collections import Counter
from math import factorial

__all__: list[str] = []

# Per-id data, indexed by id.
_levels: list[tuple[int, ...]] = []
_children: list[tuple[int, ...]] = []  # children ids in canonical (decreasing) order
_order: list[int] = []
_sigma: list[int] = []
_gamma: list[int] = []
_cuts: list[tuple[tuple[int, int, int], ...] | None] = []
_by_key: dict[tuple[int, ...], int] = {}  # sorted tuple of children ids -> id
_by_levels: dict[tuple[int, ...], int] = {}
_complete: list[tuple[int, ...]] = [()]  # _complete[n]: ids of all trees of order n

# Thread safety: look-ups read without a lock; every change to the table happens under _lock,
# and a new id becomes visible (in _by_key, _by_levels, _complete) only after all its data exist.
_lock = threading.RLock()


def from_children(children: tuple[int, ...] | list[int]) -> int:
    """Id of the tree whose root has the given children (a multiset of ids)."""
    key = tuple(sorted(children))
    found = _by_key.get(key)
    if found is not None:
        return found
    with _lock:
        found = _by_key.get(key)  # another thread may have added it meanwhile
        return found if found is not None else _add(key)


def _add(key: tuple[int, ...]) -> int:
    ordered = tuple(sorted(key, key=_levels.__getitem__, reverse=True))
    levels = (1, *tuple(lv + 1 for c in ordered for lv in _levels[c]))
    new = len(_levels)
    _levels.append(levels)
    _children.append(ordered)
    _order.append(1 + sum(_order[c] for c in ordered))
    sigma, gamma = 1, _order[new]
    for c, mult in Counter(ordered).items():
        sigma *= _sigma[c] ** mult * factorial(mult)
        gamma *= _gamma[c] ** mult
    _sigma.append(sigma)
    _gamma.append(gamma)
    _cuts.append(None)
    _by_key[key] = new
    _by_levels[levels] = new
    return new


def from_levels(levels: tuple[int, ...]) -> int:
    """Id of the tree with a *valid* level sequence (not necessarily canonical)."""
    found = _by_levels.get(levels)
    if found is not None:
        return found
    children: list[int] = []
    start = 1
    for i in range(2, len(levels) + 1):
        if i == len(levels) or levels[i] == 2:
            children.append(from_levels(tuple(lv - 1 for lv in levels[start:i])))
            start = i
    return from_children(children)


def trees_of_order(n: int) -> tuple[int, ...]:
    """Ids of every tree with n nodes, in decreasing lexicographic order of levels."""
    if len(_complete) <= n:
        with _lock:
            while len(_complete) <= n:
                _complete.append(_generate(len(_complete)))
    return _complete[n]


def _generate(n: int) -> tuple[int, ...]:
    if n == 1:
        return (from_children(()),)
    pool = [t for k in range(1, n) for t in trees_of_order(k)]
    found: list[int] = []

    def extend(chosen: list[int], remaining: int, limit: int) -> None:
        if remaining == 0:
            found.append(from_children(chosen))
            return
        for pos in range(limit, -1, -1):
            t = pool[pos]
            if _order[t] <= remaining:
                chosen.append(t)
                extend(chosen, remaining - _order[t], pos)
                chosen.pop()

    extend([], n - 1, len(pool) - 1)
    found.sort(key=_levels.__getitem__, reverse=True)
    return tuple(found)


def cuts(t: int) -> tuple[tuple[int, int, int], ...]:
    """Single-edge cuts of tree t: triples (root part, cut-off subtree, multiplicity).

    Removing one edge of a labelled representative of t splits it into the part
    that holds the root and the subtree that hangs below the edge; equal pairs are
    merged and counted. The multiplicities sum to the number of edges, |t| - 1.
    """
    cached = _cuts[t]
    if cached is not None:
        return cached
    found: Counter[tuple[int, int]] = Counter()
    kids = _children[t]
    for c, mult in Counter(kids).items():
        rest = list(kids)
        rest.remove(c)
        found[(from_children(rest), c)] += mult
        for root_part, sub, m in cuts(c):
            found[(from_children([*rest, root_part]), sub)] += m * mult
    result = tuple((r, s, m) for (r, s), m in found.items())
    _cuts[t] = result
    return result


def levels(t: int) -> tuple[int, ...]:
    return _levels[t]


def children(t: int) -> tuple[int, ...]:
    return _children[t]


def order(t: int) -> int:
    return _order[t]


def symmetry(t: int) -> int:
    return _sigma[t]


def density(t: int) -> int:
    return _gamma[t]
