"""Bicoloured rooted trees: counts (OEIS A038055), brute-force enumeration, σ and γ, order, display, errors."""

from __future__ import annotations

import copy
import itertools
import pickle

import pytest
import sympy
from brute_force import brute_density

from bea.bicoloured import (
    BLACK,
    WHITE,
    BicolouredTree,
    bicoloured_trees,
    bicoloured_trees_up_to,
    count_bicoloured_trees,
)
from bea.errors import BeaTypeError, InvalidOrderError, InvalidTreeError

# OEIS A038055: number of rooted trees with nodes of 2 colours, n = 1..10.
A038055 = [2, 4, 14, 52, 214, 916, 4116, 18996, 89894, 433196]


def test_counts_match_oeis_through_10() -> None:
    assert [count_bicoloured_trees(n) for n in range(1, 11)] == A038055


@pytest.mark.parametrize("n", range(1, 9))
def test_generation_matches_oeis(n: int) -> None:
    found = list(bicoloured_trees(n))
    assert len(found) == A038055[n - 1]
    assert len(set(found)) == len(found)
    assert found == sorted(found)
    assert all(t.order == n for t in found)


def _brute_shape(parent: list[int], colours: tuple[int, ...], node: int = 0) -> tuple[object, ...]:
    kids = [i for i, p in enumerate(parent) if p == node]
    return (colours[node], tuple(sorted(_brute_shape(parent, colours, k) for k in kids)))


def _labelled(n: int) -> list[tuple[list[int], tuple[int, ...]]]:
    """Every (parent array, colouring) with parent[i] < i: covers every bicoloured tree shape."""
    found = []
    for parents in itertools.product(*[range(i) for i in range(1, n)]):
        for colours in itertools.product((0, 1), repeat=n):
            found.append(([-1, *parents], colours))
    return found


@pytest.mark.parametrize("n", range(1, 6))
def test_brute_force_enumeration(n: int) -> None:
    """Distinct shapes among all labelled bicoloured trees (nested sorted tuples, no bea code)."""
    shapes = {_brute_shape(parent, colours) for parent, colours in _labelled(n)}
    assert len(shapes) == A038055[n - 1]


@pytest.mark.parametrize("n", range(1, 6))
def test_sigma_and_gamma_brute_force(n: int) -> None:
    """σ = colour-preserving automorphisms (all permutations), γ = product of subtree sizes."""
    for t in bicoloured_trees(n):
        levels, colours = t.levels, t.colours
        parent = [-1] * n
        stack: list[int] = []
        for i, lv in enumerate(levels):
            del stack[lv - 1 :]
            if stack:
                parent[i] = stack[-1]
            stack.append(i)
        edges = {(parent[i], i) for i in range(1, n)}
        autos = 0
        for perm in itertools.permutations(range(n)):
            if perm[0] == 0 and all(colours[perm[i]] == colours[i] for i in range(n)) and {
                (perm[a], perm[b]) for a, b in edges
            } == edges:
                autos += 1
        assert t.symmetry == autos, t
        assert t.density == brute_density(list(levels)), t


def _traversals(parent: list[int], colours: tuple[int, ...]) -> list[tuple[list[int], list[int]]]:
    """(levels, colours) of every depth-first traversal (children visited in every order)."""

    def visit(v: int, depth: int) -> list[list[tuple[int, int]]]:
        kids = [i for i, p in enumerate(parent) if p == v]
        found = []
        for order in itertools.permutations(kids):
            for parts in itertools.product(*[visit(k, depth + 1) for k in order]):
                found.append([(depth, colours[v])] + [x for part in parts for x in part])
        return found

    return [([d for d, _ in seq], [c for _, c in seq]) for seq in visit(0, 1)]


def test_from_levels_canonicalises_any_traversal() -> None:
    parent = [-1, 0, 1, 0, 3, 3, 0]
    colours = (0, 1, 0, 1, 1, 0, 1)
    traversals = _traversals(parent, colours)
    assert len(traversals) == 12
    assert len({BicolouredTree.from_levels(lv, cs) for lv, cs in traversals}) == 1


def test_children_and_from_children_round_trip() -> None:
    for t in bicoloured_trees_up_to(5):
        assert BicolouredTree.from_children(t.colour, t.children) == t
        assert BicolouredTree.from_levels(t.levels, t.colours) == t
        assert t.order == 1 + sum(c.order for c in t.children)


def test_cuts_multiplicities_sum_to_edges() -> None:
    for t in bicoloured_trees(6):
        cuts = t.cuts()
        assert sum(m for _, _, m in cuts) == t.order - 1
        for root_part, sub, _ in cuts:
            assert root_part.colour == t.colour
            assert root_part.order + sub.order == t.order


def test_elementary_differential_text() -> None:
    q, p = BicolouredTree.leaf(BLACK), BicolouredTree.leaf(WHITE)
    assert q.elementary_differential == "f"
    assert p.elementary_differential == "g"
    assert BicolouredTree.from_children(BLACK, [p]).elementary_differential == "f_p g"
    assert BicolouredTree.from_children(WHITE, [p, q]).elementary_differential == "g_qp(f, g)"


def test_display() -> None:
    t = BicolouredTree.from_children(WHITE, [BicolouredTree.leaf(BLACK)] * 2)
    assert str(t) == "∘[•²]"
    assert sympy.latex(t) == r"\circ\left[{\bullet}^{2}\right]"
    assert sympy.sstr(t) == "∘[•²]"
    svg = t.svg()
    assert svg.count("<circle") == 3 and svg.count("<line") == 2
    assert svg.count('fill="white"') == 1
    assert "g_qq(f, f)" in t._repr_html_()


def test_immutable_hashable_picklable() -> None:
    t = BicolouredTree.from_levels([1, 2, 3, 2], [1, 0, 0, 1])
    assert pickle.loads(pickle.dumps(t)) == t
    assert copy.deepcopy(t) == t and hash(copy.deepcopy(t)) == hash(t)
    with pytest.raises(AttributeError):
        t._id = 3  # type: ignore[misc]
    with pytest.raises(TypeError):
        BicolouredTree()


def test_total_order() -> None:
    trees = list(bicoloured_trees_up_to(4))
    assert trees == sorted(trees)
    assert BicolouredTree.leaf(BLACK) < BicolouredTree.leaf(WHITE)
    assert sorted(reversed(trees)) == trees


@pytest.mark.parametrize(
    ("levels", "colours", "match"),
    [
        ([1, 3], [0, 0], "jumps from 1 to 3"),
        ([2], [0], "must start with the root level 1"),
        ([1, 2], [0], "2 levels"),
        ([1, 2], [0, 2], "colour must be 0"),
        ([], [], "empty"),
        ("12", [0, 0], "sequences of integers"),
    ],
)
def test_bad_trees(levels: object, colours: object, match: str) -> None:
    with pytest.raises(InvalidTreeError, match=match):
        BicolouredTree.from_levels(levels, colours)  # type: ignore[arg-type]


def test_bad_arguments() -> None:
    with pytest.raises(InvalidOrderError, match="0"):
        bicoloured_trees(0)
    with pytest.raises(InvalidOrderError, match="'3'"):
        count_bicoloured_trees("3")  # type: ignore[arg-type]
    with pytest.raises(BeaTypeError, match="BicolouredTrees"):
        BicolouredTree.from_children(BLACK, [1])  # type: ignore[list-item]
    with pytest.raises(InvalidTreeError, match="True"):
        BicolouredTree.leaf(True)


def test_root_colour_filter() -> None:
    black = list(bicoloured_trees(4, BLACK))
    assert len(black) == A038055[3] // 2 and all(t.colour == BLACK for t in black)
