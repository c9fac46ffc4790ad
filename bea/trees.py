r"""Rooted trees, the index set of B-series.

A rooted tree is stored as its *canonical level sequence*: the depth of each node
(root at level 1) in a depth-first traversal, choosing among all traversals the
lexicographically largest sequence. This is the convention of RootedTrees.jl, so
``[1, 2, 3, 2]`` is the tree :math:`[[\bullet]\,\bullet]` and ``[1, 2, 2, 3]`` is not
canonical (it canonicalises to ``[1, 2, 3, 2]``).

For a tree :math:`\tau = [\tau_1, \dots, \tau_k]` (root with children :math:`\tau_i`):

* order :math:`|\tau| = 1 + \sum_i |\tau_i|`,
* density :math:`\gamma(\tau) = |\tau| \prod_i \gamma(\tau_i)`,
* symmetry :math:`\sigma(\tau) = \prod_i \sigma(\tau_i)\, \prod_j \mu_j!` where
  :math:`\mu_j` are the multiplicities of equal children,
* elementary differential :math:`F(\tau) = f^{(k)}(F(\tau_1), \dots, F(\tau_k))`.

Reference: E. Hairer, C. Lubich, G. Wanner, *Geometric Numerical Integration*,
2nd ed., Springer 2006, sections III.1 and IX.9.

>>> t = Tree.from_levels([1, 2, 2, 3])
>>> t
Tree.from_levels([1, 2, 3, 2])
>>> t.order, t.symmetry, t.density
(4, 1, 8)
>>> print(t)
[[•] •]
>>> t.elementary_differential
"f''(f'f, f)"
>>> [str(s) for s in trees(3)]
['[[•]]', '[•²]']
>>> count_trees(14)
32973
"""

from __future__ import annotations

import html
import numbers
import operator
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from functools import total_ordering
from typing import Any, final

from bea import _table, drawing
from bea._text import superscript
from bea.errors import BeaTypeError, InvalidOrderError, InvalidTreeError
from bea.validation import MAX_TREES_ORDER, check_tree_order

__all__ = ["MAX_COUNT_ORDER", "MAX_TREES_ORDER", "Tree", "butcher_product", "count_trees", "trees", "trees_up_to"]


@final
@total_ordering
class Tree:
    """An immutable, hashable, totally ordered rooted tree.

    Build one with :meth:`Tree.from_levels`, :meth:`Tree.from_children`,
    :meth:`Tree.leaf` or :func:`trees`. Trees order first by number of nodes, then
    lexicographically by canonical level sequence (as RootedTrees.jl).

    >>> t = Tree.from_children([Tree.leaf(), Tree.leaf()])  # [•²], F = f''(f, f)
    >>> t, t.order, t.symmetry, t.density
    (Tree.from_levels([1, 2, 2]), 3, 2, 3)
    >>> sorted([t, Tree.leaf(), Tree.from_levels([1, 2, 3])])
    [Tree.from_levels([1]), Tree.from_levels([1, 2, 2]), Tree.from_levels([1, 2, 3])]

    Reference: Hairer--Lubich--Wanner, *Geometric Numerical Integration*, 2nd ed., section III.1.
    """

    __slots__ = ("_id",)
    _id: int

    def __init__(self) -> None:
        raise TypeError("build trees with Tree.from_levels, Tree.from_children or Tree.leaf")

    @classmethod
    def _from_id(cls, ident: int) -> Tree:
        tree = object.__new__(cls)
        object.__setattr__(tree, "_id", ident)
        return tree

    @classmethod
    def from_levels(cls, levels: Iterable[int]) -> Tree:
        """The tree with the given level sequence (any valid one; it is canonicalised).

        A valid sequence starts with 1, has every later entry at least 2, and never
        rises by more than 1 from one entry to the next.

        >>> Tree.from_levels([1, 2, 2, 3])  # f''(f, f'f): canonicalised
        Tree.from_levels([1, 2, 3, 2])
        """
        seq = _validated_levels(levels)
        return cls._from_id(_table.from_levels(seq))

    @classmethod
    def from_children(cls, children: Iterable[Tree]) -> Tree:
        """The tree whose root has the given subtrees as children.

        >>> print(Tree.from_children([Tree.leaf(), Tree.from_levels([1, 2])]))
        [[•] •]
        """
        kids = list(children)
        for kid in kids:
            if not isinstance(kid, Tree):
                raise BeaTypeError(f"children must be Trees, got {kid!r}")
        return cls._from_id(_table.from_children([k._id for k in kids]))

    @classmethod
    def leaf(cls) -> Tree:
        """The tree with one node, :math:`\\bullet` (elementary differential f)."""
        return cls._from_id(_table.from_children(()))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Tree is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("Tree is immutable")

    def __reduce__(self) -> tuple[Any, tuple[list[int]]]:
        return (Tree.from_levels, (list(self.levels),))

    @property
    def levels(self) -> tuple[int, ...]:
        """The canonical level sequence (root at level 1)."""
        return _table.levels(self._id)

    @property
    def order(self) -> int:
        """The number of nodes :math:`|\\tau|`."""
        return _table.order(self._id)

    @property
    def symmetry(self) -> int:
        """The symmetry coefficient :math:`\\sigma(\\tau)` (order of the automorphism group)."""
        return _table.symmetry(self._id)

    @property
    def density(self) -> int:
        """The density :math:`\\gamma(\\tau)`; the exact flow has coefficient :math:`1/\\gamma`."""
        return _table.density(self._id)

    @property
    def children(self) -> tuple[Tree, ...]:
        """The subtrees attached to the root, in canonical order."""
        return tuple(Tree._from_id(c) for c in _table.children(self._id))

    def butcher_product(self, other: Tree) -> Tree:
        """:math:`\\tau \\circ u`: graft ``other`` onto the root of ``self`` as a new child."""
        if not isinstance(other, Tree):
            raise BeaTypeError(f"butcher_product needs a Tree, got {other!r}")
        return Tree._from_id(_table.from_children((*_table.children(self._id), other._id)))

    @property
    def elementary_differential(self) -> str:
        """:math:`F(\\tau)` written with f, f', f'', ... e.g. ``f''(f'f, f)``."""
        return _differential_text(self._id)

    def __hash__(self) -> int:
        return hash(self._id)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Tree):
            return NotImplemented
        return self._id == other._id

    def __lt__(self, other: Tree) -> bool:
        if not isinstance(other, Tree):
            return NotImplemented
        return (self.order, self.levels) < (other.order, other.levels)

    def __repr__(self) -> str:
        return f"Tree.from_levels({list(self.levels)})"

    def __str__(self) -> str:
        return _bracket(self._id, latex=False)

    def _sympystr(self, printer: Any) -> str:
        return str(self)

    def _latex(self, printer: Any = None) -> str:
        return _bracket(self._id, latex=True)

    def _repr_latex_(self) -> str:
        return f"${self._latex()}$"

    # --- pictures (bea.drawing) -------------------------------------------
    def _repr_svg_(self) -> str:
        """A small SVG picture, root at the bottom (pure Python, no matplotlib)."""
        return drawing.tree_svg(self)

    def _repr_html_(self) -> str:
        """The picture with F(τ) below it: how Jupyter shows a tree."""
        return (
            '<div style="display:inline-block;text-align:center">'
            f"{drawing.tree_svg(self)}<br><code>{html.escape(self.elementary_differential)}</code></div>"
        )

    def svg(self, scale: float = 1.0) -> str:
        """The SVG picture as a string (``scale`` multiplies its size); see :func:`bea.drawing.tree_svg`.

        >>> Tree.from_levels([1, 2]).svg().count("<circle")
        2
        """
        return drawing.tree_svg(self, scale=scale)

    def draw(self, ax: Any = None, **style: Any) -> Any:
        """Draw the tree with matplotlib on ``ax`` (a new Figure if None) and return the Figure.

        ``style``: ``color``, ``node_size``. matplotlib is imported only here.
        """
        return drawing.draw_tree(self, ax, **style)


def _validated_levels(levels: Iterable[int]) -> tuple[int, ...]:
    if isinstance(levels, (str, bytes)):
        raise InvalidTreeError(f"a level sequence must be a sequence of integers, got {levels!r}")
    try:
        seq = tuple(levels)
    except TypeError:
        raise InvalidTreeError(f"a level sequence must be a sequence of integers, got {levels!r}") from None
    for lv in seq:  # any integral type (int, numpy.int64, sympy.Integer), never bool, as orders are taken
        if isinstance(lv, bool) or not isinstance(lv, numbers.Integral):
            raise InvalidTreeError(f"level sequence {list(seq)!r} holds a non-integer entry {lv!r}")
    seq = tuple(int(lv) for lv in seq)
    if not seq:
        raise InvalidTreeError("the empty level sequence [] is not a rooted tree")
    if seq[0] != 1:
        raise InvalidTreeError(f"level sequence {list(seq)!r} must start with the root level 1")
    for i in range(1, len(seq)):
        if seq[i] < 2:
            raise InvalidTreeError(
                f"level sequence {list(seq)!r}: entry {i} is {seq[i]}, but only the root has level 1"
            )
        if seq[i] > seq[i - 1] + 1:
            raise InvalidTreeError(
                f"level sequence {list(seq)!r}: entry {i} jumps from {seq[i - 1]} to {seq[i]}"
            )
    return seq


def _bracket(t: int, latex: bool) -> str:
    kids = _table.children(t)
    leaf = r"\bullet" if latex else "•"
    if not kids:
        return leaf
    parts = []
    for c, mult in Counter(kids).items():
        inner = _bracket(c, latex)
        if mult == 1:
            parts.append(inner)
        elif latex:
            parts.append(f"{inner}^{{{mult}}}")
        else:
            parts.append(inner + superscript(mult))
    if latex:
        return r"\left[" + r"\,".join(parts) + r"\right]"
    return "[" + " ".join(parts) + "]"


def _differential_text(t: int) -> str:
    kids = _table.children(t)
    if not kids:
        return "f"
    k = len(kids)
    head = "f" + "'" * k if k <= 3 else f"f^({k})"
    args = [_differential_text(c) for c in kids]
    if k == 1:
        return head + args[0]
    return f"{head}({', '.join(args)})"


def _check_trees_order(n: object) -> int:
    return check_tree_order(n, "n")


def trees(n: int) -> Iterator[Tree]:
    """Every rooted tree with exactly ``n`` nodes, once each (``n <= MAX_TREES_ORDER``).

    The order is deterministic: decreasing lexicographic order of canonical level
    sequences, from the tall tree ``[1, 2, ..., n]`` to the bushy ``[1, 2, ..., 2]``
    (the order of RootedTrees.jl's iterator).

    >>> [list(t.levels) for t in trees(4)]
    [[1, 2, 3, 4], [1, 2, 3, 3], [1, 2, 3, 2], [1, 2, 2, 2]]
    >>> [t.elementary_differential for t in trees(4)]
    ["f'f'f'f", "f'f''(f, f)", "f''(f'f, f)", "f'''(f, f, f)"]
    """
    n = _check_trees_order(n)  # validated on the call, not on the first next()
    return (Tree._from_id(t) for t in _table.trees_of_order(n))


def trees_up_to(n: int) -> Iterator[Tree]:
    """Every rooted tree with at most ``n`` nodes: ``trees(1)``, then ``trees(2)``, ...

    >>> [str(t) for t in trees_up_to(3)]
    ['•', '[•]', '[[•]]', '[•²]']
    """
    n = _check_trees_order(n)  # validated on the call, not on the first next()
    return (tree for k in range(1, n + 1) for tree in trees(k))


#: ``count_trees`` computes the counts for n up to this bound (about 0.3 s; the count then has 466 digits).
MAX_COUNT_ORDER = 1000
#: ``trees`` and ``trees_up_to`` build the trees for n up to this bound: 1 721 159 trees with 18 nodes
#: already take about a gigabyte; n = 19 would take several.

_counts: list[int] = [0, 1]  # _counts[n] = A000081(n), replaced (never shrunk) under _counts_lock
_counts_lock = threading.Lock()


def count_trees(n: int) -> int:
    """The number of rooted trees with ``n`` nodes (OEIS A000081), for ``1 <= n <= MAX_COUNT_ORDER``.

    Computed by the Cayley/Euler recurrence
    :math:`a_{m+1} = \\frac1m \\sum_{k=1}^m s_k\\, a_{m-k+1}` with
    :math:`s_k = \\sum_{d\\mid k} d\\,a_d` (divisor sums by a sieve), in exact integers and without
    generating the trees; the values are kept, so later calls are look-ups. Raises
    :class:`~bea.errors.InvalidOrderError` for n outside 1..``MAX_COUNT_ORDER`` (n = 1000 takes
    about 0.3 s; the work grows as n² multiplications of numbers with about n/2 digits).

    >>> [count_trees(n) for n in range(1, 11)]
    [1, 1, 2, 4, 9, 20, 48, 115, 286, 719]

    Reference: OEIS A000081; A. Cayley, *Phil. Mag.* 13 (1857); Harary & Palmer,
    *Graphical Enumeration* (1973), section 3.1.
    """
    n = check_tree_order(n, "n", maximum=None)  # counting builds no tree
    if n > MAX_COUNT_ORDER:
        raise InvalidOrderError(
            f"count_trees({n}): n is above MAX_COUNT_ORDER = {MAX_COUNT_ORDER}; the count has about "
            f"{int(n * 0.4707)} digits and the recurrence needs about n^2 = {n * n} products of such numbers"
        )
    if n < len(_counts):
        return _counts[n]
    with _counts_lock:
        if n >= len(_counts):  # another thread may have extended it meanwhile
            target = min(max(n, 2 * (len(_counts) - 1)), MAX_COUNT_ORDER)  # doubling: calls 1, 2, 3... stay cheap
            _counts[:] = _a000081(target)
        return _counts[n]


def _a000081(n: int) -> list[int]:
    """[0, a_1, ..., a_n]; the divisor sums s_k are filled by a sieve as each a_d becomes known."""
    a = [0, 1]
    s = [0] * (n + 1)
    for m in range(1, n):
        weight = m * a[m]
        for k in range(m, n + 1, m):
            s[k] += weight
        a.append(sum(map(operator.mul, s[1 : m + 1], a[m:0:-1])) // m)
    return a


def butcher_product(t: Tree, u: Tree) -> Tree:
    """The Butcher product :math:`t \\circ u` (graft ``u`` onto the root of ``t``).

    Orders add, and :math:`\\gamma(t \\circ u) = \\gamma(t)\\,\\gamma(u)\\,|t \\circ u| / |t|`:

    >>> butcher_product(Tree.from_levels([1, 2]), Tree.leaf())
    Tree.from_levels([1, 2, 2])
    >>> butcher_product(Tree.leaf(), Tree.from_levels([1, 2])).density
    6

    Reference: Hairer--Lubich--Wanner, *Geometric Numerical Integration*, 2nd ed., section III.1.
    """
    if not isinstance(t, Tree):
        raise BeaTypeError(f"butcher_product needs Trees, got {t!r}")
    return t.butcher_product(u)
