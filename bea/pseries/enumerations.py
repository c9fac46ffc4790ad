"""Exhaustive enumerations on bicoloured trees behind the composition and substitution of P-series.

Both laws sum over subsets of the edges of a labelled representative of a tree (cost about
:math:`2^{|\\tau|-1}`); results are memoised per tree id and equal terms merged. Colours ride
along: a kept subtree keeps its nodes' colours, and a contracted piece becomes a skeleton node
of the colour of the piece's root. References: Hairer--Lubich--Wanner, sections III.1.4 and
III.2.1 (composition); Chartier--Hairer--Vilmart, Found. Comput. Math. 10 (2010), section 3
(substitution).

Internal interface of :mod:`bea.pseries` (tree ids, not :class:`~bea.bicoloured.BicolouredTree`).
"""

from __future__ import annotations

from collections import Counter

from bea import bicoloured

__all__ = ["partitions", "root_subtrees"]

Triples = tuple[tuple[int, tuple[int, ...], int], ...]

_root_subtrees: dict[int, Triples] = {}
_partitions: dict[int, Triples] = {}


def root_subtrees(t: int) -> Triples:
    """Non-empty subtrees s of t that contain the root, with the forest t \\ s.

    Merged triples (s, sorted forest ids, multiplicity); with the empty subtree (forest = t)
    these are the ordered subtrees of HLW III.1.4.
    """
    found = _root_subtrees.get(t)
    if found is not None:
        return found
    colour, kids, _, _, _ = bicoloured.tree_data(t)
    partial: Counter[tuple[tuple[int, ...], tuple[int, ...]]] = Counter({((), ()): 1})
    for child in kids:
        options: list[tuple[int | None, tuple[int, ...], int]] = [(None, (child,), 1)]
        options += [(s, forest, m) for s, forest, m in root_subtrees(child)]
        grown: Counter[tuple[tuple[int, ...], tuple[int, ...]]] = Counter()
        for (kept, forest), m in partial.items():
            for s, f2, m2 in options:
                new_kept = kept if s is None else tuple(sorted((*kept, s)))
                grown[(new_kept, tuple(sorted(forest + f2)))] += m * m2
        partial = grown
    result = tuple((bicoloured.intern(colour, kept), forest, m) for (kept, forest), m in partial.items())
    _root_subtrees[t] = result
    return result


def partitions(t: int) -> Triples:
    """Partitions of t by cutting any subset of its edges.

    Merged triples (skeleton, sorted piece ids, multiplicity): the pieces are the connected
    parts left after the cut; the skeleton contracts every piece to one node, coloured as the
    piece's root.
    """
    found = _partitions.get(t)
    if found is not None:
        return found
    seq = bicoloured.sequence(t)
    n = len(seq)
    parent = [-1] * n
    stack: list[int] = []
    for i, (lv, _) in enumerate(seq):
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
            else:
                piece_of[i] = piece_of[parent[i]]
                depth[i] = depth[parent[i]] + 1
        piece_seqs: list[list[tuple[int, int]]] = [[] for _ in tops]
        for i in range(n):
            piece_seqs[piece_of[i]].append((depth[i], seq[i][1]))
        skeleton_depth = [1] * len(tops)
        for k in range(1, len(tops)):
            skeleton_depth[k] = skeleton_depth[piece_of[parent[tops[k]]]] + 1
        skeleton = bicoloured.id_from_sequence(
            tuple((skeleton_depth[k], seq[tops[k]][1]) for k in range(len(tops)))
        )
        pieces = tuple(sorted(bicoloured.id_from_sequence(tuple(ps)) for ps in piece_seqs))
        merged[(skeleton, pieces)] += 1
    result = tuple((s, p, m) for (s, p), m in merged.items())
    _partitions[t] = result
    return result
