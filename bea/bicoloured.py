r"""Bicoloured rooted trees, the index set of P-series.

A bicoloured tree is a rooted tree whose nodes carry one of two colours:

* colour 0, drawn black (•): the first component. For a partitioned system
  :math:`q' = f(q, p),\ p' = g(q, p)` it stands for f (and a derivative with respect
  to q); for an additive system :math:`y' = f_1(y) + f_2(y)` it stands for :math:`f_1`.
* colour 1, drawn white (∘): the second component, g (derivatives with respect to p),
  or :math:`f_2`.

This is the convention of Hairer--Lubich--Wanner (*Geometric Numerical Integration*,
2nd ed., section III.2.1): black vertices for :math:`y' = f(y, z)`, white vertices for
:math:`z' = g(y, z)`, with q in the role of y and p in the role of z.

For :math:`\tau = [\tau_1, \dots, \tau_k]_c` (root of colour c with children :math:`\tau_i`)
the order, symmetry and density are those of the uncoloured tree, except that two
children are equal only when their colours agree too:

* :math:`|\tau| = 1 + \sum_i |\tau_i|`,
* :math:`\gamma(\tau) = |\tau| \prod_i \gamma(\tau_i)` (the exact flow has P-series coefficients :math:`1/\gamma`),
* :math:`\sigma(\tau) = \prod_i \sigma(\tau_i) \prod_j \mu_j!`, :math:`\mu_j` the multiplicities of equal children,
* :math:`F(\tau)`: f (root colour 0) or g (root colour 1), differentiated once with respect to q
  for every child of colour 0 and once with respect to p for every child of colour 1, applied
  to the children's :math:`F(\tau_i)`; e.g. ``f_qp(f, g)``.

A tree is stored as its *canonical coloured level sequence*: the pairs (depth, colour) of its
nodes in a depth-first traversal (root at depth 1), the children of every node visited in
decreasing lexicographic order of their own sequences, so that the whole sequence is the
lexicographically largest among all traversals (the convention of :class:`bea.Tree`, with
the colour as a second key). Trees are ordered by number of nodes, then by this sequence.

>>> t = BicolouredTree.from_levels([1, 2, 2], [0, 0, 1])
>>> t
BicolouredTree.from_levels([1, 2, 2], [0, 1, 0])
>>> print(t)
•[∘ •]
>>> t.order, t.symmetry, t.density
(3, 1, 3)
>>> t.elementary_differential
'f_qp(f, g)'
>>> [count_bicoloured_trees(n) for n in range(1, 8)]
[2, 4, 14, 52, 214, 916, 4116]
"""

from __future__ import annotations

import html
import numbers
from collections import Counter
from collections.abc import Iterable, Iterator
from functools import total_ordering
from math import factorial
from typing import Any, final

from bea._text import superscript
from bea.errors import BeaTypeError, InvalidTreeError
from bea.trees import Tree
from bea.validation import MAX_BICOLOURED_ORDER, check_tree_order

__all__ = [
    "BLACK",
    "WHITE",
    "BicolouredTree",
    "bicoloured_trees",
    "bicoloured_trees_up_to",
    "count_bicoloured_trees",
]

BLACK = 0
"""Colour 0: the q (or :math:`f_1`) component, drawn •."""
WHITE = 1
"""Colour 1: the p (or :math:`f_2`) component, drawn ∘."""

_SYMBOL = ("•", "∘")
_LATEX = (r"\bullet", r"\circ")
_FIELD = ("f", "g")
_VARIABLE = ("q", "p")

# --- the interned table: every bicoloured tree met gets a small integer id ---------------
_seq: list[tuple[tuple[int, int], ...]] = []  # canonical (level, colour) sequence
_colour: list[int] = []
_kids: list[tuple[int, ...]] = []  # children ids, canonical (decreasing) order
_order: list[int] = []
_sigma: list[int] = []
_gamma: list[int] = []
_cuts: list[tuple[tuple[int, int, int], ...] | None] = []
_by_key: dict[tuple[int, tuple[int, ...]], int] = {}
_complete: list[tuple[int, ...]] = [()]  # _complete[n]: ids of all trees with n nodes


def _intern(colour: int, children: Iterable[int]) -> int:
    key = (colour, tuple(sorted(children)))
    found = _by_key.get(key)
    if found is not None:
        return found
    ordered = tuple(sorted(key[1], key=_seq.__getitem__, reverse=True))
    seq = ((1, colour), *((lv + 1, c) for k in ordered for lv, c in _seq[k]))
    new = len(_seq)
    _seq.append(seq)
    _colour.append(colour)
    _kids.append(ordered)
    _order.append(len(seq))
    sigma, gamma = 1, len(seq)
    for k, mult in Counter(ordered).items():
        sigma *= _sigma[k] ** mult * factorial(mult)
        gamma *= _gamma[k] ** mult
    _sigma.append(sigma)
    _gamma.append(gamma)
    _cuts.append(None)
    _by_key[key] = new
    return new


def _of_order(n: int) -> tuple[int, ...]:
    while len(_complete) <= n:
        _complete.append(_generate(len(_complete)))
    return _complete[n]


def _generate(n: int) -> tuple[int, ...]:
    pool = [t for k in range(1, n) for t in _of_order(k)]
    forests: list[tuple[int, ...]] = []

    def extend(chosen: list[int], remaining: int, limit: int) -> None:
        if remaining == 0:
            forests.append(tuple(chosen))
            return
        for pos in range(limit, -1, -1):
            t = pool[pos]
            if _order[t] <= remaining:
                chosen.append(t)
                extend(chosen, remaining - _order[t], pos)
                chosen.pop()

    extend([], n - 1, len(pool) - 1)
    found = [_intern(colour, forest) for colour in (BLACK, WHITE) for forest in forests]
    found.sort(key=_seq.__getitem__)
    return tuple(found)


def _tree_cuts(t: int) -> tuple[tuple[int, int, int], ...]:
    cached = _cuts[t]
    if cached is not None:
        return cached
    found: Counter[tuple[int, int]] = Counter()
    kids = _kids[t]
    colour = _colour[t]
    for k, mult in Counter(kids).items():
        rest = list(kids)
        rest.remove(k)
        found[(_intern(colour, rest), k)] += mult
        for root_part, sub, m in _tree_cuts(k):
            found[(_intern(colour, [*rest, root_part]), sub)] += m * mult
    result = tuple((r, s, m) for (r, s), m in found.items())
    _cuts[t] = result
    return result


def _check_colour(colour: object) -> int:
    """``colour`` as the int 0 or 1 (any integral type, never bool), else InvalidTreeError."""
    if isinstance(colour, bool) or not isinstance(colour, numbers.Integral) or colour not in (BLACK, WHITE):
        raise InvalidTreeError(f"a colour must be 0 (black, q) or 1 (white, p), got {colour!r}")
    return int(colour)


@final
@total_ordering
class BicolouredTree:
    """An immutable, hashable, totally ordered rooted tree with nodes of two colours.

    Build one with :meth:`from_levels`, :meth:`from_children`, :meth:`leaf` or
    :func:`bicoloured_trees`. Equal trees are the same interned id, so equality and hashing
    are O(1).

    >>> q, p = BicolouredTree.leaf(BLACK), BicolouredTree.leaf(WHITE)
    >>> t = BicolouredTree.from_children(WHITE, [q, q])
    >>> print(t)
    ∘[•²]
    >>> t.symmetry, t.density, t.elementary_differential
    (2, 3, 'g_qq(f, f)')

    Reference: Hairer--Lubich--Wanner, *Geometric Numerical Integration*, 2nd ed., section III.2.1.
    """

    __slots__ = ("_id",)
    _id: int

    def __init__(self) -> None:
        raise TypeError("build trees with BicolouredTree.from_levels, .from_children or .leaf")

    @classmethod
    def from_id(cls, ident: int) -> BicolouredTree:
        """The tree with interned id ``ident`` (for :mod:`bea.pseries`; ids are process-local)."""
        tree = object.__new__(cls)
        object.__setattr__(tree, "_id", ident)
        return tree

    @property
    def id(self) -> int:
        """The interned id (process-local; use :attr:`levels` and :attr:`colours` to store a tree)."""
        return self._id

    @classmethod
    def from_levels(cls, levels: Iterable[int], colours: Iterable[int]) -> BicolouredTree:
        """The tree with this level sequence (root level 1, any valid order) and node colours.

        >>> BicolouredTree.from_levels([1, 2, 3, 2], [1, 0, 1, 0])
        BicolouredTree.from_levels([1, 2, 3, 2], [1, 0, 1, 0])
        >>> BicolouredTree.from_levels([1, 3], [0, 0])  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        bea.errors.InvalidTreeError: level sequence [1, 3]: entry 1 jumps from 1 to 3
        """
        seq = _validated(levels, colours)
        return cls.from_id(_from_sequence(seq))

    @classmethod
    def from_children(cls, colour: int, children: Iterable[BicolouredTree]) -> BicolouredTree:
        """The tree whose root has colour ``colour`` and the given subtrees as children."""
        kids = list(children)
        for kid in kids:
            if not isinstance(kid, BicolouredTree):
                raise BeaTypeError(f"children must be BicolouredTrees, got {kid!r}")
        return cls.from_id(_intern(_check_colour(colour), [k._id for k in kids]))

    @classmethod
    def leaf(cls, colour: int) -> BicolouredTree:
        """The one-node tree of the given colour: f (colour 0) or g (colour 1)."""
        return cls.from_id(_intern(_check_colour(colour), ()))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("BicolouredTree is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("BicolouredTree is immutable")

    def __reduce__(self) -> tuple[Any, tuple[list[int], list[int]]]:
        return (BicolouredTree.from_levels, (list(self.levels), list(self.colours)))

    # --- properties ---------------------------------------------------------------------
    @property
    def levels(self) -> tuple[int, ...]:
        """The canonical level sequence (root at level 1)."""
        return tuple(lv for lv, _ in _seq[self._id])

    @property
    def colours(self) -> tuple[int, ...]:
        """The colour of every node, in the order of :attr:`levels`."""
        return tuple(c for _, c in _seq[self._id])

    @property
    def colour(self) -> int:
        """The root's colour: 0 (a q-tree, term of the q update) or 1 (a p-tree)."""
        return _colour[self._id]

    @property
    def order(self) -> int:
        """The number of nodes :math:`|\\tau|`."""
        return _order[self._id]

    @property
    def symmetry(self) -> int:
        """The symmetry coefficient :math:`\\sigma(\\tau)` (colour-preserving automorphisms)."""
        return _sigma[self._id]

    @property
    def density(self) -> int:
        """The density :math:`\\gamma(\\tau)`; the exact flow has coefficient :math:`1/\\gamma`."""
        return _gamma[self._id]

    @property
    def children(self) -> tuple[BicolouredTree, ...]:
        """The subtrees attached to the root, in canonical order."""
        return tuple(BicolouredTree.from_id(k) for k in _kids[self._id])

    def cuts(self) -> tuple[tuple[BicolouredTree, BicolouredTree, int], ...]:
        """Single-edge cuts: (part with the root, cut-off subtree, multiplicity) triples.

        The multiplicities sum to the number of edges, :math:`|\\tau| - 1`.

        >>> [(str(r), str(s), m) for r, s, m in BicolouredTree.from_levels([1, 2, 2], [0, 0, 0]).cuts()]
        [('•[•]', '•', 2)]
        """
        return tuple((BicolouredTree.from_id(r), BicolouredTree.from_id(s), m) for r, s, m in _tree_cuts(self._id))

    @property
    def elementary_differential(self) -> str:
        """:math:`F(\\tau)` for a partitioned system, e.g. ``f_qp(f, g)`` (q-derivatives first)."""
        return _differential_text(self._id)

    # --- comparison ---------------------------------------------------------------------
    def __hash__(self) -> int:
        return hash(self._id)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BicolouredTree):
            return NotImplemented
        return self._id == other._id

    def __lt__(self, other: BicolouredTree) -> bool:
        if not isinstance(other, BicolouredTree):
            return NotImplemented
        return (_order[self._id], _seq[self._id]) < (_order[other._id], _seq[other._id])

    # --- display ------------------------------------------------------------------------
    def __repr__(self) -> str:
        return f"BicolouredTree.from_levels({list(self.levels)}, {list(self.colours)})"

    def __str__(self) -> str:
        return _bracket(self._id, latex=False)

    def _sympystr(self, printer: Any) -> str:
        return str(self)

    def _latex(self, printer: Any = None) -> str:
        return _bracket(self._id, latex=True)

    def _repr_latex_(self) -> str:
        return f"${self._latex()}$"

    def svg(self, scale: float = 1.0) -> str:
        """A standalone SVG picture (root at the bottom; colour-0 nodes filled, colour-1 nodes hollow).

        >>> svg = BicolouredTree.from_levels([1, 2], [0, 1]).svg()
        >>> svg.startswith("<svg"), svg.count("<circle"), svg.count('fill="white"')
        (True, 2, 1)
        """
        return _svg(self._id, scale)

    def _repr_svg_(self) -> str:
        return self.svg()

    def _repr_html_(self) -> str:
        return (
            '<div style="display:inline-block;text-align:center">'
            f"{self.svg()}<br><code>{html.escape(self.elementary_differential)}</code></div>"
        )


def _validated(levels: Iterable[int], colours: Iterable[int]) -> tuple[tuple[int, int], ...]:
    if isinstance(levels, (str, bytes)) or isinstance(colours, (str, bytes)):
        raise InvalidTreeError(f"levels and colours must be sequences of integers, got {levels!r}, {colours!r}")
    try:
        seq, cols = tuple(levels), tuple(colours)
    except TypeError:
        raise InvalidTreeError(
            f"levels and colours must be sequences of integers, got {levels!r}, {colours!r}"
        ) from None
    Tree.from_levels(seq)  # the checks of an uncoloured level sequence, with their messages
    if len(cols) != len(seq):
        raise InvalidTreeError(f"{len(seq)} levels {list(seq)!r} but {len(cols)} colours {list(cols)!r}")
    return tuple(zip((int(lv) for lv in seq), (_check_colour(c) for c in cols), strict=True))


def _from_sequence(seq: tuple[tuple[int, int], ...]) -> int:
    children: list[int] = []
    start = 1
    for i in range(2, len(seq) + 1):
        if i == len(seq) or seq[i][0] == 2:
            children.append(_from_sequence(tuple((lv - 1, c) for lv, c in seq[start:i])))
            start = i
    return _intern(seq[0][1], children)


def _bracket(t: int, latex: bool) -> str:
    head = (_LATEX if latex else _SYMBOL)[_colour[t]]
    kids = _kids[t]
    if not kids:
        return head
    parts = []
    for k, mult in Counter(kids).items():
        inner = _bracket(k, latex)
        if mult == 1:
            parts.append(inner)
        elif latex:
            parts.append(f"{{{inner}}}^{{{mult}}}")
        else:
            parts.append(inner + superscript(mult))
    if latex:
        return head + r"\left[" + r"\,".join(parts) + r"\right]"
    return head + "[" + " ".join(parts) + "]"


def _differential_text(t: int) -> str:
    kids = sorted(_kids[t], key=lambda k: _colour[k])  # q-derivatives first, then p
    head = _FIELD[_colour[t]]
    if not kids:
        return head
    head += "_" + "".join(_VARIABLE[_colour[k]] for k in kids)
    args = [_differential_text(k) for k in kids]
    if len(kids) == 1:
        return f"{head} {args[0]}"
    return f"{head}({', '.join(args)})"


def _svg(t: int, scale: float) -> str:
    dx, dy, r = 14.0 * scale, 16.0 * scale, 3.5 * scale
    nodes: list[tuple[float, int, int]] = []  # (x, depth, colour)
    edges: list[tuple[int, int]] = []
    column = [0.0]

    def place(tree: int, depth: int) -> int:
        index = len(nodes)
        nodes.append((0.0, depth, _colour[tree]))
        kids = [place(k, depth + 1) for k in _kids[tree]]
        for k in kids:
            edges.append((index, k))
        if kids:
            x = (nodes[kids[0]][0] + nodes[kids[-1]][0]) / 2
        else:
            x = column[0]
            column[0] += 1
        nodes[index] = (x, depth, _colour[tree])
        return index

    place(t, 0)
    height = max(d for _, d, _ in nodes)
    pos = [(r + 1 + x * dx, r + 1 + (height - d) * dy) for x, d, _ in nodes]
    width = max(x for x, _ in pos) + r + 1
    total = height * dy + 2 * (r + 1)
    title = html.escape(f"{_bracket(t, False)}   {_differential_text(t)}")
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:g}" height="{total:g}" '
        f'viewBox="0 0 {width:g} {total:g}"><title>{title}</title>'
        '<g stroke="currentColor" stroke-width="1">'
    ]
    parts += [
        f'<line x1="{pos[a][0]:g}" y1="{pos[a][1]:g}" x2="{pos[b][0]:g}" y2="{pos[b][1]:g}"/>' for a, b in edges
    ]
    parts += [
        f'<circle cx="{x:g}" cy="{y:g}" r="{r:g}" fill="{"currentColor" if c == BLACK else "white"}"/>'
        for (x, y), (_, _, c) in zip(pos, nodes, strict=True)
    ]
    parts.append("</g></svg>")
    return "".join(parts)


def bicoloured_trees(n: int, colour: int | None = None) -> Iterator[BicolouredTree]:
    """Every bicoloured tree with exactly ``n`` nodes (root of colour ``colour``, or any), once each.

    In increasing order (:class:`BicolouredTree` ordering): black roots first.

    >>> [str(t) for t in bicoloured_trees(2)]
    ['•[•]', '•[∘]', '∘[•]', '∘[∘]']
    """
    check_tree_order(n, "n", maximum=MAX_BICOLOURED_ORDER)
    if colour is not None:
        _check_colour(colour)
    return (BicolouredTree.from_id(t) for t in _of_order(n) if colour is None or _colour[t] == colour)


def bicoloured_trees_up_to(n: int, colour: int | None = None) -> Iterator[BicolouredTree]:
    """Every bicoloured tree with at most ``n`` nodes: ``bicoloured_trees(1)``, then 2, ...

    >>> sum(1 for _ in bicoloured_trees_up_to(3))
    20
    """
    check_tree_order(n, "n", maximum=MAX_BICOLOURED_ORDER)
    if colour is not None:
        _check_colour(colour)
    return (tree for k in range(1, n + 1) for tree in bicoloured_trees(k, colour))


def count_bicoloured_trees(n: int) -> int:
    """The number of bicoloured rooted trees with ``n`` nodes (OEIS A038055), without generating them.

    The generating function :math:`A(x) = 2x \\exp\\big(\\sum_{i\\ge1} A(x^i)/i\\big)` gives
    :math:`a_1 = 2`, :math:`a_{n+1} = \\frac1n \\sum_{k=1}^n \\big(\\sum_{d\\mid k} d\\,a_d\\big) a_{n-k+1}`.

    >>> [count_bicoloured_trees(n) for n in range(1, 11)]
    [2, 4, 14, 52, 214, 916, 4116, 18996, 89894, 433196]
    """
    check_tree_order(n, "n", maximum=None)  # counting builds no tree
    a = [0, 2]
    for m in range(1, n):
        total = 0
        for k in range(1, m + 1):
            total += sum(d * a[d] for d in range(1, k + 1) if k % d == 0) * a[m - k + 1]
        a.append(total // m)
    return a[n]


def trees_of_order_ids(n: int) -> tuple[int, ...]:
    """Interned ids of every tree with ``n`` nodes (the fast path of :mod:`bea.pseries`)."""
    return _of_order(n)


def tree_data(t: int) -> tuple[int, tuple[int, ...], int, int, int]:
    """(root colour, children ids, order, symmetry, density) of the tree with id ``t``."""
    return _colour[t], _kids[t], _order[t], _sigma[t], _gamma[t]


def tree_cuts(t: int) -> tuple[tuple[int, int, int], ...]:
    """Single-edge cuts of the tree with id ``t`` as (root part, subtree, multiplicity) ids."""
    return _tree_cuts(t)


def intern(colour: int, children: Iterable[int]) -> int:
    """The id of the tree with a root of ``colour`` and children of the given ids."""
    return _intern(colour, children)


def sequence(t: int) -> tuple[tuple[int, int], ...]:
    """The canonical (level, colour) sequence of the tree with id ``t``."""
    return _seq[t]


def id_from_sequence(seq: tuple[tuple[int, int], ...]) -> int:
    """The id of the tree with a *valid* (level, colour) sequence (not necessarily canonical)."""
    return _from_sequence(seq)
