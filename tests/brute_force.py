"""Brute-force tree quantities for the tests, written from the definitions with no bea code.

A tree is given by a level sequence (depth-first depths, root at level 1).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import permutations


def parent_array(levels: Sequence[int]) -> list[int]:
    """parent[i] of node i in depth-first order (root: -1)."""
    parent = [-1] * len(levels)
    for i in range(1, len(levels)):
        j = i - 1
        while levels[j] >= levels[i]:
            j -= 1
        assert levels[j] == levels[i] - 1
        parent[i] = j
    return parent


def brute_density(levels: Sequence[int]) -> int:
    """gamma: the product over nodes of the size of the subtree they root."""
    parent = parent_array(levels)
    size = [1] * len(levels)
    for i in range(len(levels) - 1, 0, -1):
        size[parent[i]] += size[i]
    return math.prod(size)


def brute_symmetry(levels: Sequence[int]) -> int:
    """sigma: the number of root-fixing automorphisms, counted by matching children in every order."""
    parent = parent_array(levels)
    kids: list[list[int]] = [[] for _ in levels]
    for i, p in enumerate(parent):
        if p >= 0:
            kids[p].append(i)

    def isos(u: int, v: int) -> int:
        if len(kids[u]) != len(kids[v]):
            return 0
        return sum(math.prod(isos(a, b) for a, b in zip(kids[u], perm, strict=True)) for perm in permutations(kids[v]))

    return isos(0, 0)
