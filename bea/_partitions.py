"""Exhaustive enumerations behind the composition and substitution laws.

Both laws sum over subsets of the edges of a labelled representative of a tree,
so their cost grows like 2^(|t|-1); results are memoised per tree id and equal
terms are merged. References: Hairer--Lubich--Wanner, section III.1.4 (ordered
subtrees, composition) and Chartier--Hairer--Vilmart, *Found. Comput. Math.* 10
(2010), section 3 (partitions, substitution).
"""

from __future__ import annotations

from collections import Counter

from bea import _table

__all__: list[str] = []

_root_subtrees: dict[int, tuple[tuple[int, tuple[int, ...], int], ...]] = {}
_partitions: dict[int, tuple[tuple[int, tuple[int, ...], int], ...]] = {}


def root_subtrees(t: int) -> tuple[tuple[int, tuple[int, ...], int], ...]:
    """Non-empty subtrees s of t that contain the root, with the forest t \\ s.

    Returns merged triples (s, sorted forest ids, multiplicity). Together with the
    empty subtree (forest = t) these are the ordered subtrees of HLW III.1.4.
    """
    found = _root_subtrees.get(t)
    if found is not None:
        return found
    # options[i]: ways to treat child i: dropped (its whole subtree to the forest),
    # or kept with one of its own root subtrees.
    partial: Counter[tuple[tuple[int, ...], tuple[int, ...]]] = Counter({((), ()): 1})
    for child in _table.children(t):
        options: list[tuple[int | None, tuple[int, ...], int]] = [(None, (child,), 1)]
        options += [(s, forest, m) for s, forest, m in root_subtrees(child)]
        grown: Counter[tuple[tuple[int, ...], tuple[int, ...]]] = Counter()
        for (kept, forest), m in partial.items():
            for s, f2, m2 in options:
                new_kept = kept if s is None else tuple(sorted((*kept, s)))
                grown[(new_kept, tuple(sorted(forest + f2)))] += m * m2
        partial = grown
    result = tuple(
        (_table.from_children(kept), forest, m) for (kept, forest), m in partial.items()
    )
    _root_subtrees[t] = result
    return result


def partitions(t: int) -> tuple[tuple[int, tuple[int, ...], int], ...]:
    """Partitions of t by cutting any subset of its edges.

    Returns merged triples (skeleton, sorted piece ids, multiplicity): the pieces
    are the connected parts left after the cut, and the skeleton is the tree
    obtained by contracting every piece to a node.
    """
    found = _partitions.get(t)
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
        # bit i-1 set: the edge above node i is cut.
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
    _partitions[t] = result
    return result
