"""Rooted trees: enumeration, canonical form, σ, γ, printing and bad input.

Every expected value here comes from a route that does not use ``bea.trees``:
OEIS values, Cayley's formula, and brute force over labelled nodes written below.
"""

from __future__ import annotations

import itertools
import math
import pickle
import random

import pytest
import sympy
from brute_force import brute_density, parent_array

import bea
from bea import Tree, butcher_product, count_trees, trees, trees_up_to
from bea.errors import BeaError, InvalidOrderError, InvalidTreeError

# OEIS A000081: number of unlabelled rooted trees with n nodes, n = 1..14.
# https://oeis.org/A000081
A000081 = [1, 1, 2, 4, 9, 20, 48, 115, 286, 719, 1842, 4766, 12486, 32973]


# --- independent brute force -------------------------------------------------------


def all_level_sequences(n: int) -> list[tuple[int, ...]]:
    """Every valid level sequence with n nodes (one per *ordered* tree)."""
    out: list[tuple[int, ...]] = []

    def grow(seq: list[int]) -> None:
        if len(seq) == n:
            out.append(tuple(seq))
            return
        for lv in range(2, seq[-1] + 2):
            seq.append(lv)
            grow(seq)
            seq.pop()

    grow([1])
    return out




def kids_of(parent: list[int]) -> list[list[int]]:
    kids: list[list[int]] = [[] for _ in parent]
    for i, p in enumerate(parent):
        if p >= 0:
            kids[p].append(i)
    return kids


def every_dfs_sequence(levels: tuple[int, ...]) -> set[tuple[int, ...]]:
    """The level sequences of all depth-first traversals (any order of children)."""
    kids = kids_of(parent_array(levels))

    def seqs(node: int, depth: int) -> set[tuple[int, ...]]:
        options = [seqs(c, depth + 1) for c in kids[node]]
        found: set[tuple[int, ...]] = set()
        for perm in itertools.permutations(range(len(options))):
            for parts in itertools.product(*(options[k] for k in perm)):
                found.add((depth, *itertools.chain.from_iterable(parts)))
        return found

    return seqs(0, 1)


def brute_canonical(levels: tuple[int, ...]) -> tuple[int, ...]:
    return max(every_dfs_sequence(levels))


def brute_automorphisms(levels: tuple[int, ...]) -> int:
    """Number of bijections of the nodes that fix the root and preserve the parent map."""
    kids = kids_of(parent_array(levels))

    def isos(u: int, v: int) -> int:
        # number of isomorphisms from the subtree at u onto the subtree at v
        if len(kids[u]) != len(kids[v]):
            return 0
        total = 0
        for perm in itertools.permutations(kids[v]):
            prod = 1
            for a, b in zip(kids[u], perm, strict=True):
                prod *= isos(a, b)
                if prod == 0:
                    break
            total += prod
        return total

    return isos(0, 0)




def split_children(levels: tuple[int, ...]) -> list[tuple[int, ...]]:
    """The level sequences of the root's subtrees, in the order they appear."""
    out: list[list[int]] = []
    for lv in levels[1:]:
        if lv == 2:
            out.append([])
        out[-1].append(lv - 1)
    return [tuple(x) for x in out]


# --- counting and enumeration --------------------------------------------------------


@pytest.mark.parametrize("n", range(1, 15))
def test_count_trees_matches_oeis(n: int) -> None:
    assert count_trees(n) == A000081[n - 1]


def test_generation_matches_oeis_through_14() -> None:
    for n in range(1, 15):
        generated = [t.levels for t in trees(n)]
        assert len(generated) == A000081[n - 1]
        assert len(set(generated)) == len(generated)
        # decreasing lexicographic order of the canonical level sequences
        assert all(x > y for x, y in itertools.pairwise(generated))
        assert all(len(lv) == n for lv in generated)


def test_trees_up_to() -> None:
    listed = list(trees_up_to(7))
    assert len(listed) == sum(A000081[:7])
    assert [t.order for t in listed] == sorted(t.order for t in listed)
    assert listed == [t for n in range(1, 8) for t in trees(n)]


@pytest.mark.parametrize("n", range(1, 9))
def test_trees_are_the_classes_of_all_level_sequences(n: int) -> None:
    """Brute force: canonicalise every ordered tree by trying all child orders."""
    canon = {brute_canonical(seq) for seq in all_level_sequences(n)}
    assert len(canon) == A000081[n - 1]
    assert {t.levels for t in trees(n)} == canon


@pytest.mark.parametrize("n", range(1, 8))
def test_levels_are_canonical_and_from_levels_canonicalises(n: int) -> None:
    for t in trees(n):
        assert t.levels == brute_canonical(t.levels)
    for seq in all_level_sequences(n):
        tree = Tree.from_levels(seq)
        assert tree.levels == brute_canonical(seq)
        assert tree.order == n
        # any traversal of the same tree gives the same (identical) object value
        for other in every_dfs_sequence(seq):
            assert Tree.from_levels(list(other)) == tree


def test_from_levels_accepts_any_iterable() -> None:
    assert Tree.from_levels(iter([1, 2, 2, 3])).levels == (1, 2, 3, 2)
    assert Tree.from_levels((1, 2)) == Tree.from_levels([1, 2])


def test_noncanonical_examples() -> None:
    assert Tree.from_levels([1, 2, 2, 3]).levels == (1, 2, 3, 2)
    assert Tree.from_levels([1, 2, 2, 3, 4, 3]).levels == (1, 2, 3, 4, 3, 2)
    assert Tree.from_levels([1, 2, 3, 2, 3, 4]).levels == (1, 2, 3, 4, 2, 3)


# --- σ and γ ---------------------------------------------------------------------------


@pytest.mark.parametrize("n", range(1, 9))
def test_symmetry_and_density_brute_force(n: int) -> None:
    for t in trees(n):
        assert t.symmetry == brute_automorphisms(t.levels), t
        assert t.density == brute_density(t.levels), t


@pytest.mark.parametrize("n", range(1, 13))
def test_cayley_and_heap_ordered_counts(n: int) -> None:
    """Σ n!/σ = n^(n-1) labelled rooted trees; Σ n!/(σγ) = (n-1)! heap-ordered trees."""
    labelled = sum(sympy.Rational(math.factorial(n), t.symmetry) for t in trees(n))
    assert labelled == n ** (n - 1)
    heap = sum(sympy.Rational(math.factorial(n), t.symmetry * t.density) for t in trees(n))
    assert heap == math.factorial(n - 1)


def test_symmetry_density_examples() -> None:
    bushy = Tree.from_levels([1] + [2] * 6)
    assert bushy.symmetry == math.factorial(6)
    assert bushy.density == 7
    tall = Tree.from_levels(list(range(1, 8)))
    assert tall.symmetry == 1
    assert tall.density == math.factorial(7)


# --- structure ------------------------------------------------------------------------------


@pytest.mark.parametrize("n", range(1, 8))
def test_children(n: int) -> None:
    for t in trees(n):
        kids = t.children
        assert all(isinstance(k, Tree) for k in kids)
        assert 1 + sum(k.order for k in kids) == t.order
        # the children appear in canonical order: as they sit in the canonical sequence
        assert [k.levels for k in kids] == split_children(t.levels)
        assert Tree.from_children(kids) == t
        assert Tree.from_children(reversed(kids)) == t


def test_leaf() -> None:
    leaf = Tree.leaf()
    assert leaf.levels == (1,)
    assert leaf.children == ()
    assert leaf == Tree.from_levels([1]) == Tree.from_children([])


def test_butcher_product_examples() -> None:
    leaf = Tree.leaf()
    t12 = Tree.from_levels([1, 2])
    assert butcher_product(leaf, leaf).levels == (1, 2)
    assert t12.butcher_product(leaf).levels == (1, 2, 2)
    assert leaf.butcher_product(t12).levels == (1, 2, 3)
    assert t12.butcher_product(t12).levels == (1, 2, 3, 2)
    assert butcher_product(Tree.from_levels([1, 2, 2]), t12).levels == (1, 2, 3, 2, 2)


def test_butcher_product_brute_force() -> None:
    rng = random.Random(20240611)
    pool = list(trees_up_to(4))
    for _ in range(40):
        u, v = rng.choice(pool), rng.choice(pool)
        w = butcher_product(u, v)
        assert w.order == u.order + v.order
        grafted = u.levels + tuple(lv + 1 for lv in v.levels)
        assert w.levels == brute_canonical(grafted)
        assert sorted(w.children) == sorted((*u.children, v))


def test_butcher_product_rejects_non_trees() -> None:
    with pytest.raises(TypeError, match="42"):
        Tree.leaf().butcher_product(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        butcher_product([1], Tree.leaf())  # type: ignore[arg-type]


# --- value semantics -----------------------------------------------------------------------


def test_hashable_and_equal_by_shape() -> None:
    a = Tree.from_levels([1, 2, 2, 3])
    b = Tree.from_levels([1, 2, 3, 2])
    assert a == b and hash(a) == hash(b)
    assert len({a, b, Tree.from_levels([1, 2, 3, 4])}) == 2
    assert a != Tree.from_levels([1, 2, 3, 4])
    assert a != (1, 2, 3, 2)


def test_immutable() -> None:
    t = Tree.from_levels([1, 2, 2])
    with pytest.raises(AttributeError):
        t.levels = (1, 2, 3)  # type: ignore[misc]
    with pytest.raises(AttributeError):
        t.anything = 1  # type: ignore[attr-defined]
    with pytest.raises(AttributeError):
        t._id = 0  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del t._id
    assert t.levels == (1, 2, 2)
    with pytest.raises(TypeError):
        Tree()


def test_total_order() -> None:
    listed = list(trees_up_to(5))
    for x, y in itertools.product(listed, repeat=2):
        key_lt = (x.order, x.levels) < (y.order, y.levels)
        assert (x < y) == key_lt
        assert (x > y) == ((y.order, y.levels) < (x.order, x.levels))
        assert (x <= y) == (key_lt or x == y)
        assert (x >= y) == (not key_lt)
    shuffled = listed[:]
    random.Random(1).shuffle(shuffled)
    assert sorted(shuffled) == sorted(listed, key=lambda t: (t.order, t.levels))
    # order first: a 3-node tree precedes a 4-node one although (1,2,3) > (1,2,2,2)
    assert Tree.from_levels([1, 2, 3]) < Tree.from_levels([1, 2, 2, 2])


def test_pickle_roundtrip() -> None:
    for t in trees_up_to(6):
        back = pickle.loads(pickle.dumps(t))
        assert back == t and hash(back) == hash(t) and back.levels == t.levels
    assert repr(Tree.from_levels([1, 2, 2, 3])) == "Tree.from_levels([1, 2, 3, 2])"


# --- printing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("levels", "text"),
    [
        ([1], "•"),
        ([1, 2], "[•]"),
        ([1, 2, 2], "[•²]"),
        ([1, 2, 3], "[[•]]"),
        ([1, 2, 3, 2], "[[•] •]"),
        ([1, 2, 2, 2], "[•³]"),
        ([1, 2, 3, 3], "[[•²]]"),
    ],
)
def test_butcher_brackets(levels: list[int], text: str) -> None:
    assert str(Tree.from_levels(levels)) == text


def test_latex() -> None:
    for t in trees_up_to(4):
        code = sympy.latex(t)
        assert r"\bullet" in code
        assert code.count(r"\bullet") <= t.order
    assert sympy.latex(Tree.leaf()) == r"\bullet"


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "shown"),
    [
        ([], "[]"),
        ([2, 3], "[2, 3]"),
        ([1, 3], "[1, 3]"),
        ([1, 2, 4], "[1, 2, 4]"),
        ([1, 1], "[1, 1]"),
        ([1, 2, 1], "[1, 2, 1]"),
        ([0], "[0]"),
        ("12", "'12'"),
        ([1, 2.0], "2.0"),
        ([1, True], "True"),
        (None, "None"),
        (5, "5"),
    ],
)
def test_from_levels_rejects(bad: object, shown: str) -> None:
    with pytest.raises(InvalidTreeError) as info:
        Tree.from_levels(bad)  # type: ignore[arg-type]
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, BeaError)
    assert shown in str(info.value)


@pytest.mark.parametrize("bad", [0, -1, 2.5, "3", True, None])
@pytest.mark.parametrize("func", [trees, trees_up_to, count_trees])
def test_bad_order(func: object, bad: object) -> None:
    # the error comes on the call itself, before any iteration
    with pytest.raises(InvalidOrderError) as info:
        func(bad)  # type: ignore[operator]
    assert isinstance(info.value, ValueError)
    assert repr(bad) in str(info.value) or str(bad) in str(info.value)


def test_from_children_rejects_non_trees() -> None:
    with pytest.raises(TypeError, match=r"\[1, 2\]"):
        Tree.from_children([Tree.leaf(), [1, 2]])  # type: ignore[list-item]


def test_public_names() -> None:
    assert bea.Tree is Tree and bea.trees is trees and bea.count_trees is count_trees
