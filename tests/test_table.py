"""The interned tree table (bea._table): cuts, symmetry and density against brute force on level sequences,
and the table's behaviour when trees were built by hand before their order was generated.

The independent route works on level sequences only: cutting the edge above node i of a level sequence
removes the run of deeper nodes that follows it (its subtree); sigma and gamma are counted on the sequence.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections import Counter
from math import factorial, prod

import pytest

from bea import _table, trees


def brute_cuts(levels: tuple[int, ...]) -> Counter[tuple[tuple[int, ...], tuple[int, ...]]]:
    """(root part, subtree) -> multiplicity, by removing each edge of the labelled level sequence."""
    found: Counter[tuple[tuple[int, ...], tuple[int, ...]]] = Counter()
    for i in range(1, len(levels)):
        j = i + 1
        while j < len(levels) and levels[j] > levels[i]:
            j += 1
        sub = tuple(lv - levels[i] + 1 for lv in levels[i:j])
        root = levels[:i] + levels[j:]
        found[(_table.levels(_table.from_levels(root)), _table.levels(_table.from_levels(sub)))] += 1
    return found


def table_cuts(t: int) -> Counter[tuple[tuple[int, ...], tuple[int, ...]]]:
    found: Counter[tuple[tuple[int, ...], tuple[int, ...]]] = Counter()
    for r, s, m in _table.cuts(t):
        key = (_table.levels(r), _table.levels(s))
        assert key not in found  # equal pairs are merged
        found[key] = m
    return found


def brute_density(levels: tuple[int, ...]) -> int:
    """gamma = product over the nodes of the size of the subtree below (and including) the node."""
    sizes = []
    for i in range(len(levels)):
        j = i + 1
        while j < len(levels) and levels[j] > levels[i]:
            j += 1
        sizes.append(j - i)
    return prod(sizes)


def brute_symmetry(levels: tuple[int, ...]) -> int:
    """sigma = prod over the nodes of prod over equal child subtrees (canonical) of sigma^mult * mult!."""
    kids: list[tuple[int, ...]] = []
    start = 1
    for i in range(2, len(levels) + 1):
        if i == len(levels) or levels[i] == 2:
            kids.append(tuple(lv - 1 for lv in levels[start:i]))
            start = i
    canon = Counter(_table.levels(_table.from_levels(k)) for k in kids)
    return prod(brute_symmetry(k) ** m * factorial(m) for k, m in canon.items())


@pytest.mark.parametrize("n", range(1, 10))
def test_cuts_sigma_gamma_match_brute_force(n: int) -> None:
    for tree in trees(n):
        t = _table.from_levels(tree.levels)
        assert table_cuts(t) == brute_cuts(tree.levels)
        assert sum(m for _, _, m in _table.cuts(t)) == n - 1
        assert _table.symmetry(t) == brute_symmetry(tree.levels)
        assert _table.density(t) == brute_density(tree.levels)


def test_trees_built_by_hand_first_in_a_fresh_process() -> None:
    """Trees made from their levels before their order is generated keep their ids, the generated list is
    unchanged, and cuts of a large hand-made tree (whose pieces are not in the table) match brute force."""
    script = textwrap.dedent(
        """
        import sys
        sys.path.insert(0, "tests")
        from test_table import brute_cuts, brute_density, brute_symmetry, table_cuts
        from bea import _table
        big = (1, 2, 3, 4, 5, 3, 4, 2, 3, 4, 4, 2, 3, 2, 2, 3, 4, 5, 6, 2)  # 20 nodes, nothing generated yet
        made = [_table.from_levels(lv) for lv in [(1, 2, 2, 3, 3, 2, 3), (1, 2, 3, 4, 2, 2), big]]
        t = made[2]
        assert table_cuts(t) == brute_cuts(_table.levels(t)), "cuts of a hand-made tree"
        assert _table.symmetry(t) == brute_symmetry(big) and _table.density(t) == brute_density(big)
        seven = _table.trees_of_order(7)
        assert made[0] in seven and made[1] in _table.trees_of_order(6), "ids kept"
        levels = [_table.levels(x) for x in seven]
        assert len(seven) == 48 and levels == sorted(levels, reverse=True) and len(set(levels)) == 48
        assert [len(_table.trees_of_order(n)) for n in range(1, 13)] == [1, 1, 2, 4, 9, 20, 48, 115, 286, 719,
                                                                         1842, 4766]
        for x in _table.trees_of_order(8):
            assert table_cuts(x) == brute_cuts(_table.levels(x))
        print("ok")
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["ok"]
