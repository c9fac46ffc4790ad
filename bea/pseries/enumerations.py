"""Exhaustive enumerations on bicoloured trees behind the composition and substitution of P-series.

The algorithms are :class:`bea._partitions.EdgeSubsets`, the same as for rooted trees, over the bicoloured
tree table: a kept subtree keeps its nodes' colours, and a contracted piece becomes a skeleton node of the
colour of the piece's root. References: Hairer--Lubich--Wanner, sections III.1.4 and III.2.1 (composition);
Chartier--Hairer--Vilmart, Found. Comput. Math. 10 (2010), section 3 (substitution).

Internal interface of :mod:`bea.pseries` (tree ids, not :class:`~bea.bicoloured.BicolouredTree`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import final

from bea import bicoloured
from bea._partitions import EdgeSubsets, Triples

__all__ = ["BICOLOURED", "Triples", "partitions", "root_subtrees"]


@final
class _BicolouredTable:
    """Bicoloured trees (:mod:`bea.bicoloured` ids) for :class:`~bea._partitions.EdgeSubsets`."""

    def colour(self, t: int) -> int:
        return bicoloured.tree_data(t)[0]

    def children(self, t: int) -> Sequence[int]:
        return bicoloured.tree_data(t)[1]

    def intern(self, colour: int, children: Sequence[int]) -> int:
        return bicoloured.intern(colour, children)

    def sequence(self, t: int) -> Sequence[tuple[int, int]]:
        return bicoloured.sequence(t)

    def from_levels(self, levels: tuple[int, ...]) -> int:
        return bicoloured.id_from_sequence(tuple((lv, bicoloured.BLACK) for lv in levels))

    def from_sequence(self, seq: tuple[tuple[int, int], ...]) -> int:
        return bicoloured.id_from_sequence(seq)

    @property
    def coloured(self) -> bool:
        return True


#: The enumerations on bicoloured trees.
BICOLOURED = EdgeSubsets(_BicolouredTable())
root_subtrees = BICOLOURED.root_subtrees
partitions = BICOLOURED.partitions
