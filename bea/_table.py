"""Interned rooted trees: the fast internal representation behind :class:`bea.Tree`.

Every rooted tree that bea meets is given a small integer id in one process-wide
table. A tree is identified by the multiset of the ids of its root's children,
encoded exactly as the product of one prime per child id (unique factorisation):
replacing a child is one division and one multiplication, and a look-up is a
dictionary probe on an integer, so building, canonicalising and cutting trees
costs no sorting. The public API never exposes ids; it works with
:class:`bea.Tree` objects, which carry their canonical level sequence.

Conventions (as RootedTrees.jl): a tree is stored as its canonical level
sequence, the lexicographically largest level sequence (root level 1) among those
of the same tree; equivalently the children's sequences appear in decreasing
lexicographic order.

Each tree t other than the leaf is also stored as c^mu + r: its first child c (the
largest), grafted mu times (its multiplicity) onto the root of r, the tree of the
other children. Trees of one order are built, and cut, order by order from these
pieces with few Python-level operations per tree (maps over whole lists).
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from itertools import chain, compress, repeat
from math import isqrt, prod
from operator import add, eq, getitem, is_, itemgetter, mul, neg, sub

__all__: list[str] = []

# A tree's single-edge cuts as three parallel tuples: root parts, cut-off subtrees, multiplicities.
FlatCuts = tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]
_NO_CUTS: FlatCuts = ((), (), ())

# Per-id data, indexed by id.
_levels: list[tuple[int, ...]] = []
_shifted: list[tuple[int, ...] | None] = []  # the levels plus one (the tree as a subtree of a root), on demand
_children: list[tuple[int, ...]] = []  # children ids in canonical (decreasing) order: equal ones adjacent
_order: list[int] = []
_sigma: list[int] = []
_gamma: list[int] = []
_lead: list[int] = []  # mu: how often the first child occurs (0 for the leaf)
_rest: list[int] = []  # r: the tree of the children other than the first one's copies (-1 for the leaf)
_prime: list[int] = []  # the prime that stands for this tree as a child (0 until it is one)
_key: list[int] = []  # product of the children's primes: the key of _by_key
_cuts: list[FlatCuts | None] = []
_by_key: dict[int, int] = {}  # product of the children's primes -> id
_by_levels: dict[tuple[int, ...], int] = {}
_complete: list[tuple[int, ...]] = [()]  # _complete[n]: ids of all trees of order n

# Primes handed out in increasing order to trees as they become children, sieved in growing blocks.
_primes: list[int] = []
_primes_used = 0
_cut_orders = 0  # every tree of order <= _cut_orders has its cuts in _cuts

# Thread safety: look-ups read without a lock; every change to the table happens under _lock,
# and a new id becomes visible (in _by_key, _by_levels, _complete) only after all its data exist.
# _shifted and _cuts are caches filled outside the lock: racing threads store equal values.
_lock = threading.RLock()


def _give_primes(ids: Iterable[int]) -> None:
    """Give each of ``ids`` that has none a prime of its own (hold _lock)."""
    global _primes_used
    for t in ids:
        if not _prime[t]:
            if _primes_used == len(_primes):
                _more_primes()
            _prime[t] = _primes[_primes_used]
            _primes_used += 1


def _more_primes() -> None:
    """Extend _primes to about 2.5 times as many (hold _lock), by a sieve of Eratosthenes on odd numbers."""
    limit = max(1 << 12, 3 * _primes[-1] if _primes else 0)
    half = limit // 2  # sieve[i] stands for 2 i + 1
    sieve = bytearray([1]) * half
    sieve[0] = 0
    for i in range(1, (isqrt(limit) - 1) // 2 + 1):
        if sieve[i]:
            p = 2 * i + 1
            sieve[p * p // 2 :: p] = bytes(len(range(p * p // 2, half, p)))
    _primes[:] = [2, *compress(range(1, 2 * half, 2), sieve)]


def from_children(children: Sequence[int]) -> int:
    """Id of the tree whose root has the given children (a multiset of ids)."""
    key = prod(map(_prime.__getitem__, children))  # 0 when a child has no prime yet
    found = _by_key.get(key) if key else None
    if found is not None:
        return found
    return _intern(children)


def _intern(children: Sequence[int]) -> int:
    """Id of the tree with the given children, added to the table under the lock."""
    with _lock:
        _give_primes(children)
        key = prod(map(_prime.__getitem__, children))
        found = _by_key.get(key)  # another thread may have added it meanwhile
        if found is not None:
            return found
        ordered = tuple(sorted(children, key=_levels.__getitem__, reverse=True))
        levels = tuple(chain((1,), *map(shifted, ordered)))
        sigma, gamma = 1, len(levels)
        run = 0
        for i, c in enumerate(ordered):  # equal children are adjacent
            run = run + 1 if i and ordered[i - 1] == c else 1
            sigma *= _sigma[c] * run
            gamma *= _gamma[c]
        lead = ordered.count(ordered[0]) if ordered else 0
        rest = from_children(ordered[lead:]) if ordered else -1
        new = len(_levels)
        _publish(len(levels), [levels], [ordered], [sigma], [gamma], [lead], [rest], [key])
        return new


def _publish(
    n: int,
    levels: list[tuple[int, ...]],
    children: list[tuple[int, ...]],
    sigma: list[int],
    gamma: list[int],
    lead: list[int],
    rest: list[int],
    keys: list[int],
) -> None:
    """Append new trees of order n to the table (hold _lock), then make them visible."""
    count = len(keys)
    ids = range(len(_levels), len(_levels) + count)
    _levels.extend(levels)
    _shifted.extend(repeat(None, count))
    _children.extend(children)
    _order.extend(repeat(n, count))
    _sigma.extend(sigma)
    _gamma.extend(gamma)
    _lead.extend(lead)
    _rest.extend(rest)
    _prime.extend(repeat(0, count))
    _key.extend(keys)
    _cuts.extend(repeat(None, count))
    _by_key.update(zip(keys, ids, strict=True))
    _by_levels.update(zip(levels, ids, strict=True))


def shifted(t: int) -> tuple[int, ...]:
    """The level sequence of t with every level plus one: t as the subtree of a root."""
    found = _shifted[t]
    if found is None:
        found = _shifted[t] = tuple([lv + 1 for lv in _levels[t]])
    return found


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
    """Every tree of order n (hold _lock; all smaller orders complete), in decreasing order of levels.

    A tree of order n >= 2 is c + r' (r' = c^(mu - 1) + r): its first child c grafted onto the
    root of r', the tree of its other children, whose children are all at most c in the order
    of levels. So the trees of order n are the pairs (c, r') with |c| + |r'| = n and the first
    child of r' at most c. Since trees_of_order(m) is sorted, the first children of its trees
    decrease along it, and the r' that fit under c form a suffix of it, found by bisection on
    ranks. For one m = |r'| every pair is built at once: levels (1, c's shifted levels, the
    levels of r' after its root), key = key(r') times c's prime, sigma = sigma(c) sigma(r') mu,
    gamma = n gamma(c) gamma(r') / m. Each m gives a sorted run; one sort merges them.
    """
    if n == 1:
        return (from_children(()),)
    smaller = sorted(chain.from_iterable(_complete[1:n]), key=_levels.__getitem__)
    _give_primes(smaller)
    rank = dict(zip(smaller, range(len(smaller)), strict=True))
    levels: list[tuple[int, ...]] = []
    children: list[tuple[int, ...]] = []
    sigma: list[int] = []
    gamma: list[int] = []
    lead: list[int] = []
    rest: list[int] = []
    keys: list[int] = []
    for m in range(1, n):
        firsts, rs = _complete[n - m], _complete[m]  # candidates for c, for r'
        if m == 1:
            starts = [0] * len(firsts)  # r' = the leaf: every c fits
        else:
            tails = list(map(neg, map(rank.__getitem__, map(itemgetter(0), map(_children.__getitem__, rs)))))
            starts = list(map(bisect_left, repeat(tails), map(neg, map(rank.__getitem__, firsts))))
        counts = list(map(sub, repeat(len(rs)), starts))
        cs = list(chain.from_iterable(map(repeat, firsts, counts)))  # c of each pair
        where = list(chain.from_iterable(map(range, starts, repeat(len(rs)))))  # r' of each pair, its index in rs
        r_ids = list(map(rs.__getitem__, where))
        keys.extend(map(mul, map(_prime.__getitem__, cs), map(_key.__getitem__, r_ids)))
        heads = list(map((1,).__add__, map(shifted, firsts)))
        bodies = list(map(getitem, map(_levels.__getitem__, rs), repeat(slice(1, None))))
        levels.extend(map(add, chain.from_iterable(map(repeat, heads, counts)), map(bodies.__getitem__, where)))
        r_kids = list(map(_children.__getitem__, rs))
        children.extend(map(add, chain.from_iterable(map(repeat, zip(firsts), counts)), map(r_kids.__getitem__, where)))
        # mu = 1 + mu(r') when the first child of r' is c, else 1; then r = r(r') or r'
        r_first = [kids[0] if kids else -1 for kids in r_kids]
        same = list(map(eq, map(r_first.__getitem__, where), cs))
        mu = list(map(add, repeat(1), map(mul, same, map(_lead.__getitem__, r_ids))))
        lead.extend(mu)
        rest.extend(map(getitem, zip(r_ids, map(_rest.__getitem__, r_ids), strict=True), same))
        sigma.extend(map(mul, map(mul, map(_sigma.__getitem__, cs), map(_sigma.__getitem__, r_ids)), mu))
        gq = [g // m for g in map(_gamma.__getitem__, rs)]
        gamma.extend(map(mul, map(n.__mul__, map(_gamma.__getitem__, cs)), map(gq.__getitem__, where)))
    # each m gave a run sorted by decreasing levels: merge them
    permutation = sorted(range(len(keys)), key=levels.__getitem__, reverse=True)
    keys = list(map(keys.__getitem__, permutation))
    known = list(map(_by_key.get, keys))
    fresh = list(map(is_, known, repeat(None)))
    if all(fresh):
        selected: list[int] = permutation
        found = tuple(range(len(_levels), len(_levels) + len(keys)))
    else:  # some were built before (from their levels, say): they keep their ids
        selected = list(compress(permutation, fresh))
        ids = iter(range(len(_levels), len(_levels) + len(selected)))
        found = tuple(next(ids) if t is None else t for t in known)
        keys = list(compress(keys, fresh))
    pick = list(selected)
    new_levels, new_children = (list(map(column.__getitem__, pick)) for column in (levels, children))
    new_sigma, new_gamma, new_lead, new_rest = (
        list(map(column.__getitem__, pick)) for column in (sigma, gamma, lead, rest)
    )
    _publish(n, new_levels, new_children, new_sigma, new_gamma, new_lead, new_rest, keys)
    return found


def _cut(t: int) -> FlatCuts:
    """The single-edge cuts of t = c^mu + r (see :func:`flat_cuts`), when c and r have theirs in _cuts.

    Cutting the edge to a copy of c leaves t - c (mu edges); cutting an edge inside a copy of c at
    a cut (c', s) of c leaves t with that copy replaced by c' (mu such copies); cutting an edge
    at a cut (r', s) of r leaves c^mu + r'. These three kinds of root parts never coincide: the
    first has one root child fewer than t, the second mu - 1 copies of c, the third mu copies.
    """
    kids = _children[t]
    if not kids:
        _cuts[t] = _NO_CUTS
        return _NO_CUTS
    c, mu, r = kids[0], _lead[t], _rest[t]
    c_roots, c_subs, c_mults = _cuts[c]  # type: ignore[misc]
    r_roots, r_subs, r_mults = _cuts[r]  # type: ignore[misc]
    key, p = _key[t], _prime[c]
    rest_key = key // p  # t - c
    power = key // _key[r]  # p ** mu
    by_key = _by_key
    try:
        roots = (
            by_key[rest_key],
            *map(by_key.__getitem__, map(rest_key.__mul__, map(_prime.__getitem__, c_roots))),
            *map(by_key.__getitem__, map(power.__mul__, map(_key.__getitem__, r_roots))),
        )
    except KeyError:  # a root part not in the table yet (in a tree built by hand), or without a prime
        others, copies = kids[1:], kids[:mu]
        roots = (
            from_children(others),
            *(from_children((*others, x)) for x in c_roots),
            *(from_children((*copies, *_children[x])) for x in r_roots),
        )
    mults = (mu, *(c_mults if mu == 1 else map(mul, c_mults, repeat(mu))), *r_mults)
    found = (roots, (c, *c_subs, *r_subs), mults)
    _cuts[t] = found
    return found


def flat_cuts(t: int) -> FlatCuts:
    """Single-edge cuts of tree t as parallel tuples (root parts, cut-off subtrees, multiplicities).

    Removing one edge of a labelled representative of t splits it into the part that holds the
    root and the subtree that hangs below the edge; equal pairs are merged and counted. The
    multiplicities sum to the number of edges, |t| - 1.
    """
    found = _cuts[t]
    if found is not None:
        return found
    pending = [t]  # depth first: a tree's pieces c and r before the tree
    while pending:
        u = pending[-1]
        missing = [x for x in (_children[u][0], _rest[u]) if _cuts[x] is None] if _children[u] else []
        if missing:
            pending.extend(missing)
        else:
            pending.pop()
            if _cuts[u] is None:
                _cut(u)
    found = _cuts[t]
    assert found is not None
    return found


def cuts_of_order(n: int) -> list[FlatCuts]:
    """:func:`flat_cuts` of every tree of order n, in the order of :func:`trees_of_order`."""
    global _cut_orders
    trees = trees_of_order(n)
    for k in range(_cut_orders + 1, n + 1):  # the pieces c and r of a tree have smaller orders
        for t in trees_of_order(k):
            if _cuts[t] is None:
                _cut(t)
        _cut_orders = max(_cut_orders, k)
    return list(map(_cuts.__getitem__, trees))  # type: ignore[arg-type]


def pieces_of_order(n: int) -> tuple[list[int], list[int], list[int]]:
    """For the trees t = c^mu + r of order n >= 2 (module docstring), in the order of :func:`trees_of_order`:
    the first children c, their multiplicities mu and the rests r."""
    trees = trees_of_order(n)
    return (
        list(map(itemgetter(0), map(_children.__getitem__, trees))),
        list(map(_lead.__getitem__, trees)),
        list(map(_rest.__getitem__, trees)),
    )


def cuts(t: int) -> tuple[tuple[int, int, int], ...]:
    """Single-edge cuts of tree t as triples (root part, cut-off subtree, multiplicity); see :func:`flat_cuts`."""
    return tuple(zip(*flat_cuts(t), strict=True))


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
