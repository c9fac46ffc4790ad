"""Exhaustive enumerations behind the composition and substitution laws, for any kind of tree.

Both laws sum over subsets of the edges of a labelled representative of a tree, so their cost grows
like 2^(|t|-1); results are memoised per tree id and equal terms are merged. Written once over a
:class:`TreeTable` (how a kind of tree is named by ids), used for rooted trees here (:data:`ROOTED`,
``root_subtrees``/``partitions``) and for bicoloured trees by :mod:`bea.pseries.enumerations`. Colours ride
along: a kept subtree keeps its nodes' colours, and a contracted piece becomes a skeleton node of the colour
of the piece's root (rooted trees have the one colour 0). References: Hairer--Lubich--Wanner, sections
III.1.4 and III.2.1 (ordered subtrees, composition) and Chartier--Hairer--Vilmart, *Found. Comput. Math.* 10
(2010), section 3 (partitions, substitution).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Protocol, final

from bea import _table

__all__ = ["ROOTED", "EdgeSubsets", "TreeTable", "Triples", "partitions", "root_subtrees"]

#: Merged ``(tree id, sorted ids of the other part, multiplicity)`` triples.
Triples = tuple[tuple[int, tuple[int, ...], int], ...]


class TreeTable(Protocol):
    """How a kind of tree is named by integer ids: what the enumerations need of it."""

    def colour(self, t: int) -> int:
        """The colour of the root of tree ``t``."""
        ...

    def children(self, t: int) -> Sequence[int]:
        """The ids of the subtrees of the root of ``t``."""
        ...

    def intern(self, colour: int, children: Sequence[int]) -> int:
        """The id of the tree with a root of ``colour`` over the given subtrees."""
        ...

    def sequence(self, t: int) -> Sequence[tuple[int, int]]:
        """``(level, colour)`` of each node of ``t`` in preorder (root at level 1)."""
        ...

    def from_levels(self, levels: tuple[int, ...]) -> int:
        """The id of the tree of colour 0 throughout with the given level sequence (any valid order of children)."""
        ...

    def from_sequence(self, seq: tuple[tuple[int, int], ...]) -> int:
        """The id of the tree with the given ``(level, colour)`` sequence (any valid order of children)."""
        ...

    @property
    def coloured(self) -> bool:
        """Whether the trees have more than one colour (the enumerations then use :meth:`from_sequence`)."""
        ...


@final
class EdgeSubsets:
    """Memoised enumerations over the edge subsets of the trees of one :class:`TreeTable`."""

    def __init__(self, table: TreeTable) -> None:
        self._table = table
        self._root_subtrees: dict[int, Triples] = {}
        self._partitions: dict[int, Triples] = {}

    def root_subtrees(self, t: int) -> Triples:
        """Non-empty subtrees s of t that contain the root, with the forest t \\ s.

        Merged triples (s, sorted forest ids, multiplicity). Together with the empty subtree
        (forest = t) these are the ordered subtrees of HLW III.1.4.
        """
        found = self._root_subtrees.get(t)
        if found is not None:
            return found
        table = self._table
        # per child: dropped (its whole subtree to the forest), or kept with one of its own root subtrees
        partial: Counter[tuple[tuple[int, ...], tuple[int, ...]]] = Counter({((), ()): 1})
        for child in table.children(t):
            options: list[tuple[int | None, tuple[int, ...], int]] = [(None, (child,), 1)]
            options += self.root_subtrees(child)
            grown: Counter[tuple[tuple[int, ...], tuple[int, ...]]] = Counter()
            for (kept, forest), m in partial.items():
                for s, f2, m2 in options:
                    new_kept = kept if s is None else tuple(sorted((*kept, s)))
                    grown[(new_kept, tuple(sorted(forest + f2)))] += m * m2
            partial = grown
        colour = table.colour(t)
        result = tuple((table.intern(colour, kept), forest, m) for (kept, forest), m in partial.items())
        self._root_subtrees[t] = result
        return result

    def partitions(self, t: int) -> Triples:
        """Partitions of t by cutting any subset of its edges.

        Merged triples (skeleton, sorted piece ids, multiplicity): the pieces are the connected parts
        left after the cut; the skeleton contracts every piece to one node, coloured as the piece's root.
        """
        found = self._partitions.get(t)
        if found is not None:
            return found
        table = self._table
        seq = table.sequence(t)
        n = len(seq)
        parent = [-1] * n
        stack: list[int] = []
        for i, (lv, _) in enumerate(seq):
            del stack[lv - 1 :]
            if stack:
                parent[i] = stack[-1]
            stack.append(i)
        colours = [c for _, c in seq] if table.coloured else None
        from_levels, from_sequence = table.from_levels, table.from_sequence
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
            skeleton_depth = [1] * len(tops)
            for k in range(1, len(tops)):
                skeleton_depth[k] = skeleton_depth[piece_of[parent[tops[k]]]] + 1
            if colours is None:
                piece_levels: list[list[int]] = [[] for _ in tops]
                for i in range(n):
                    piece_levels[piece_of[i]].append(depth[i])
                skeleton = from_levels(tuple(skeleton_depth))
                pieces = tuple(sorted(from_levels(tuple(pl)) for pl in piece_levels))
            else:
                piece_seqs: list[list[tuple[int, int]]] = [[] for _ in tops]
                for i in range(n):
                    piece_seqs[piece_of[i]].append((depth[i], colours[i]))
                skeleton = from_sequence(tuple(zip(skeleton_depth, [colours[k] for k in tops], strict=True)))
                pieces = tuple(sorted(from_sequence(tuple(ps)) for ps in piece_seqs))
            merged[(skeleton, pieces)] += 1
        result = tuple((s, p, m) for (s, p), m in merged.items())
        self._partitions[t] = result
        return result


@final
class _RootedTable:
    """Rooted trees (:mod:`bea._table`) as trees of the one colour 0."""

    def colour(self, t: int) -> int:
        return 0

    def children(self, t: int) -> Sequence[int]:
        return _table.children(t)

    def intern(self, colour: int, children: Sequence[int]) -> int:
        return _table.from_children(tuple(children))

    def sequence(self, t: int) -> Sequence[tuple[int, int]]:
        return [(lv, 0) for lv in _table.levels(t)]

    def from_levels(self, levels: tuple[int, ...]) -> int:
        return _table.from_levels(levels)

    def from_sequence(self, seq: tuple[tuple[int, int], ...]) -> int:
        return _table.from_levels(tuple(lv for lv, _ in seq))

    @property
    def coloured(self) -> bool:
        return False


#: The enumerations on rooted trees (ids of :mod:`bea._table`).
ROOTED = EdgeSubsets(_RootedTable())
root_subtrees = ROOTED.root_subtrees
partitions = ROOTED.partitions
