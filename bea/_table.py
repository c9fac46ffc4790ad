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
from bisect import bisect_left
from itertools import chain

__all__: list[str] = []

# Per-id data, indexed by id.
_levels: list[tuple[int, ...]] = []
_shifted: list[tuple[int, ...]] = []  # the levels plus one: the tree as a subtree of a root
_children: list[tuple[int, ...]] = []  # children ids in canonical (decreasing) order
_keys: list[tuple[int, ...]] = []  # children ids sorted by id: the key of _by_key
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
    return _intern(key)


def _intern(key: tuple[int, ...]) -> int:
    """Id of the tree with the (sorted) children ids ``key``, added to the table under the lock."""
    with _lock:
        found = _by_key.get(key)  # another thread may have added it meanwhile
        return found if found is not None else _add(key)


def _add(key: tuple[int, ...]) -> int:
    """Add the tree with the (sorted) children ids ``key`` to the table (hold _lock)."""
    ordered = tuple(sorted(key, key=_levels.__getitem__, reverse=True)) if len(key) > 1 else key
    levels = tuple(chain((1,), *map(_shifted.__getitem__, ordered)))
    new = len(_levels)
    _levels.append(levels)
    _shifted.append(tuple([lv + 1 for lv in levels]))
    _children.append(ordered)
    _keys.append(key)
    _order.append(len(levels))
    sigma, gamma = 1, len(levels)
    run = 0
    for i, c in enumerate(key):  # key is sorted: equal children are adjacent
        run = run + 1 if i and key[i - 1] == c else 1
        sigma *= _sigma[c] * run
        gamma *= _gamma[c]
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
    # pool: every tree with fewer than n nodes, by increasing order; ends[k] = how many of them
    # have at most k nodes, so the candidates for a child of at most k nodes are pool[:ends[k]].
    pool: list[int] = []
    ends = [0]
    for k in range(1, n):
        pool.extend(trees_of_order(k))
        ends.append(len(pool))
    found: list[int] = []
    order = _order

    def extend(chosen: list[int], remaining: int, limit: int) -> None:
        # children are chosen with non-increasing pool positions, so each multiset once
        for pos in range(min(limit, ends[remaining] - 1), -1, -1):
            t = pool[pos]
            left = remaining - order[t]
            chosen.append(t)
            if left == 0:
                found.append(from_children(chosen))
            else:
                extend(chosen, left, pos)
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
    found: dict[tuple[int, int], int] = {}
    kids = _keys[t]  # sorted ids: equal children are adjacent, and removing one keeps it sorted
    by_key = _by_key
    for i, c in enumerate(kids):
        if i and kids[i - 1] == c:
            continue
        mult = 1
        while i + mult < len(kids) and kids[i + mult] == c:
            mult += 1
        rest = kids[:i] + kids[i + 1 :]
        r = by_key.get(rest)
        key = (_intern(rest) if r is None else r, c)
        found[key] = found.get(key, 0) + mult
        for root_part, sub, m in cuts(c):
            pos = bisect_left(rest, root_part)
            grown = (*rest[:pos], root_part, *rest[pos:])
            r = by_key.get(grown)
            key = (_intern(grown) if r is None else r, sub)
            found[key] = found.get(key, 0) + m * mult
    result = tuple([(r, s, m) for (r, s), m in found.items()])
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
