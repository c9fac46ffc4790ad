r"""Series over trees: an immutable mapping from trees to exact coefficients, and its algebra.

The one implementation behind :class:`bea.BSeries` (rooted trees, Hairer--Lubich--Wanner chapter III.1)
and :class:`bea.pseries.PSeries` (bicoloured trees, HLW section III.2.1). Both are normalised alike:
a *map* series ``a`` (``a[∅] = 1``) stands for
:math:`y + \sum_\tau h^{|\tau|} \frac{a(\tau)}{\sigma(\tau)} F(\tau)(y)` and a *vector-field* series
``b`` (``b[∅] = 0``) for :math:`\sum_\tau h^{|\tau|-1} \frac{b(\tau)}{\sigma(\tau)} F(\tau)(y)`. A series
*of order N* holds a coefficient for every tree with at most N nodes (absent trees get 0).

What differs between the two kinds of tree (how a tree is named by an integer id, which ids have at
most N nodes, the single-edge cut tables) is given by each subclass; the subclasses also print
themselves (a P-series has one component per root colour). :func:`compose_series` and
:func:`substitute_series` are the composition and substitution laws written once over those ids.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, ClassVar, Self, TypeVar

import sympy

from bea._checks import check_finite
from bea.errors import BeaTypeError, SeriesError
from bea.validation import check_tree_order, exact_expression

__all__ = ["TreeSeries", "common_order", "compose_series", "exact_coefficient", "substitute_series"]

TreeT = TypeVar("TreeT")
SeriesT = TypeVar("SeriesT", bound="TreeSeries[Any]")

#: ``(s, forest, multiplicity)`` for each subtree s containing the root of the tree with a given id.
RootSubtrees = Callable[[int], Iterable[tuple[int, Sequence[int], int]]]
#: ``(skeleton, pieces, multiplicity)`` for each partition of the tree with a given id by cut edges.
Partitions = Callable[[int], Iterable[tuple[int, Sequence[int], int]]]


def exact_coefficient(value: object, where: str) -> sympy.Expr:
    """``value`` as an exact, finite SymPy expression (the coefficient of ``where``, named in errors).

    Raises :class:`~bea.errors.BeaTypeError` for floats, strings, ``None`` and non-expressions, and
    :class:`~bea.errors.SeriesError` for infinities and NaN.

    >>> exact_coefficient(sympy.Rational(1, 2), "the leaf")
    1/2
    """
    expr = exact_expression(value, f"the coefficient of {where}")
    check_finite(expr, f"the coefficient of {where}", SeriesError)
    return expr


class TreeSeries(Mapping[TreeT, sympy.Expr]):
    """An immutable series of a given order: an exact coefficient for every tree up to it (abstract).

    Subclasses name their trees by integer ids (:meth:`_id_of`, :meth:`_tree_of`) and list the ids of
    each order (:meth:`_ids_up_to`, :meth:`_order_of`); everything else is here.

    Parameters
    ----------
    coefficients
        Mapping from trees to exact values; trees that are absent get 0.
    order
        The series holds every tree with at most ``order`` nodes (an integer >= 1).
    empty
        The coefficient of the empty tree: 1 for a map series, 0 for a vector-field series.

    Raises
    ------
    InvalidOrderError
        ``order`` is not an integer >= 1.
    SeriesError
        A tree with more nodes than ``order``, an infinite coefficient.
    BeaTypeError
        A key of the wrong tree type, a float or non-numeric coefficient.
    """

    __slots__ = ("_coeffs", "_empty", "_order")

    #: The name of the kind of series in messages ("B-series").
    kind: ClassVar[str]
    #: The tree class the keys must be.
    tree_type: ClassVar[type]
    #: The largest order a series of this kind may have (:data:`bea.validation.MAX_TREES_ORDER` and
    #: :data:`~bea.validation.MAX_BICOLOURED_ORDER`: every tree up to it is built).
    max_order: ClassVar[int]

    _coeffs: dict[int, sympy.Expr]
    _order: int
    _empty: sympy.Expr

    def __init__(self, coefficients: Mapping[TreeT, object], order: int, empty: object = 0) -> None:
        order = check_tree_order(order, maximum=self.max_order)
        if not isinstance(coefficients, Mapping):
            raise BeaTypeError(
                f"coefficients must be a mapping from {self.tree_type.__name__} to values, got {coefficients!r}"
            )
        coeffs: dict[int, sympy.Expr] = {}
        for tree, value in coefficients.items():
            if not isinstance(tree, self.tree_type):
                raise BeaTypeError(f"{self.kind} keys must be {self.tree_type.__name__}s, got {tree!r}")
            ident = self._id_of(tree)
            size = self._order_of(ident)
            if size > order:
                raise SeriesError(f"tree {tree} has {size} nodes, more than the series order {order}")
            coeffs[ident] = exact_coefficient(value, str(tree))
        zero = sympy.Integer(0)
        full = {t: coeffs.get(t, zero) for t in self._ids_up_to(order)}
        self._init(full, order, exact_coefficient(empty, "the empty tree"))

    # --- what a kind of tree supplies ---------------------------------------------------------
    @staticmethod
    @abstractmethod
    def _id_of(tree: Any) -> int:
        """The id of ``tree`` (an instance of :attr:`tree_type`)."""

    @staticmethod
    @abstractmethod
    def _tree_of(ident: int) -> TreeT:
        """The tree with id ``ident``."""

    @staticmethod
    @abstractmethod
    def _order_of(ident: int) -> int:
        """The number of nodes of the tree with id ``ident``."""

    @staticmethod
    @abstractmethod
    def _ids_up_to(order: int) -> Iterator[int]:
        """The ids of every tree with at most ``order`` nodes, by increasing order."""

    # --- construction -------------------------------------------------------------------------
    def _init(self, coeffs: dict[int, sympy.Expr], order: int, empty: sympy.Expr) -> None:
        object.__setattr__(self, "_coeffs", coeffs)
        object.__setattr__(self, "_order", int(order))
        object.__setattr__(self, "_empty", empty)

    @classmethod
    def from_ids(cls, coeffs: dict[int, sympy.Expr], order: int, empty: sympy.Expr) -> Self:
        """A series from tree ids, unchecked (internal interface of bea: ``coeffs`` must hold every id
        up to ``order``, exact values only)."""
        series = object.__new__(cls)
        series._init(coeffs, order, empty)
        return series

    def coefficient(self, ident: int) -> sympy.Expr:
        """The coefficient of the tree with id ``ident`` (internal interface of bea)."""
        return self._coeffs[ident]

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # Tree ids are private to a process: pickle the trees (they pickle as level sequences).
        return (type(self), (dict(self.items()), self._order, self._empty))

    def __copy__(self) -> Self:
        return self  # immutable

    def __deepcopy__(self, memo: dict[int, Any]) -> Self:
        return self  # immutable

    # --- Mapping protocol ---------------------------------------------------------------------
    def __getitem__(self, tree: TreeT) -> sympy.Expr:
        if not isinstance(tree, self.tree_type):
            raise KeyError(tree)
        ident = self._id_of(tree)
        if self._order_of(ident) > self._order:
            raise KeyError(f"{tree} has {self._order_of(ident)} nodes; this series has order {self._order}")
        return self._coeffs[ident]

    def __iter__(self) -> Iterator[TreeT]:
        tree_of = self._tree_of
        for t in self._coeffs:
            yield tree_of(t)

    def __len__(self) -> int:
        return len(self._coeffs)

    # --- properties ---------------------------------------------------------------------------
    @property
    def order(self) -> int:
        """The largest number of nodes of the trees this series holds."""
        return self._order

    @property
    def empty(self) -> sympy.Expr:
        """The coefficient of the empty tree."""
        return self._empty

    @property
    def is_map(self) -> bool:
        """True for a map (integrator) series, whose empty-tree coefficient is 1."""
        return bool(self._empty == 1)

    @property
    def is_vector_field(self) -> bool:
        """True for a vector-field series, whose empty-tree coefficient is 0."""
        return bool(self._empty == 0)

    # --- algebra ------------------------------------------------------------------------------
    def truncate(self, order: int) -> Self:
        """The same series keeping only the trees with at most ``order`` nodes.

        Raises :class:`~bea.errors.SeriesError` for an order above the series' own.
        """
        order = check_tree_order(order, maximum=self.max_order)
        if order > self._order:
            raise SeriesError(f"cannot truncate a series of order {self._order} to the higher order {order}")
        order_of = self._order_of
        kept = {t: v for t, v in self._coeffs.items() if order_of(t) <= order}
        return self.from_ids(kept, order, self._empty)

    def __add__(self, other: object) -> Self:
        if not isinstance(other, type(self)):
            return NotImplemented
        order = min(self._order, other._order)
        coeffs = {t: self._coeffs[t] + other._coeffs[t] for t in self._ids_up_to(order)}
        return self.from_ids(coeffs, order, self._empty + other._empty)

    def __neg__(self) -> Self:
        return self * -1

    def __sub__(self, other: object) -> Self:
        if not isinstance(other, type(self)):
            return NotImplemented
        return self + (-other)

    def __mul__(self, scalar: object) -> Self:
        if isinstance(scalar, TreeSeries):
            raise SeriesError(f"the product of two {self.kind} is ambiguous; use compose or substitute")
        try:
            factor = exact_coefficient(scalar, "a scalar factor")
        except BeaTypeError:
            return NotImplemented
        return self.from_ids({t: v * factor for t, v in self._coeffs.items()}, self._order, self._empty * factor)

    __rmul__ = __mul__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, type(self)):
            return NotImplemented
        if self._order != other._order or sympy.simplify(self._empty - other._empty) != 0:
            return False
        return all(
            v == other._coeffs[t] or sympy.simplify(v - other._coeffs[t]) == 0 for t, v in self._coeffs.items()
        )

    __hash__ = None  # type: ignore[assignment]

    # --- output -------------------------------------------------------------------------------
    def __repr__(self) -> str:
        kind = "map" if self.is_map else "vector field" if self.is_vector_field else f"empty={self._empty}"
        return f"<{type(self).__name__} ({kind}) of order {self._order}: {self}>"

    def _sympystr(self, printer: Any) -> str:
        return str(self)

    @abstractmethod
    def _latex(self, printer: Any = None) -> str:
        """The series in LaTeX (the hook behind ``sympy.latex(series)``)."""

    def _repr_latex_(self) -> str:
        return f"${self._latex()}$"


def common_order(cls: type[SeriesT], *series: object) -> int:
    """The smallest order among ``series``, each of which must be a ``cls``; else BeaTypeError."""
    for s in series:
        if not isinstance(s, cls):
            raise BeaTypeError(f"expected a {cls.__name__}, got {s!r}")
    return min(s.order for s in series if isinstance(s, cls))


def compose_series(a: SeriesT, b: SeriesT, root_subtrees: RootSubtrees) -> SeriesT:
    """The series of the map "first a, then b" (HLW Theorem III.1.10; colours kept for P-series).

    :math:`(a\\cdot b)(\tau) = b(\\emptyset)a(\tau) + \\sum_{s} b(s) \\prod_{u \\in \tau\\setminus s} a(u)`,
    the sum over the non-empty subtrees s containing the root, given by ``root_subtrees``. ``a`` must be a
    map series (else :class:`~bea.errors.SeriesError`); the result has the smaller of the two orders.
    """
    order = common_order(type(a), a, b)
    if not a.is_map:
        raise SeriesError(f"compose(a, b) needs a map series a (a[∅] = 1), got a[∅] = {a.empty}")
    ca = a._coeffs
    coeffs = _sums_over_splits(a._ids_up_to(order), root_subtrees, b._coeffs, ca, lambda t: b._empty * ca[t])
    return a.from_ids(coeffs, order, b._empty)


def substitute_series(b: SeriesT, a: SeriesT, partitions: Partitions) -> SeriesT:
    """Substitute the vector-field series b for the field in the series a (Chartier--Hairer--Vilmart 2010, §3.2).

    :math:`(b \\star a)(\tau) = \\sum_{p} a(\\mathrm{skeleton}(p)) \\prod_{u \\in p} b(u)`, the sum over the
    partitions of :math:`\tau` by cut edges, given by ``partitions``. ``b`` must be a vector-field series
    (else :class:`~bea.errors.SeriesError`); the result has the smaller of the two orders.
    """
    order = common_order(type(a), a, b)
    if not b.is_vector_field:
        raise SeriesError(f"substitute(b, a) needs a vector-field series b (b[∅] = 0), got b[∅] = {b.empty}")
    zero = sympy.Integer(0)
    coeffs = _sums_over_splits(a._ids_up_to(order), partitions, a._coeffs, b._coeffs, lambda t: zero)
    return a.from_ids(coeffs, order, a._empty)


def _sums_over_splits(
    ids: Iterable[int],
    splits: RootSubtrees,
    head: Mapping[int, sympy.Expr],
    pieces: Mapping[int, sympy.Expr],
    start: Callable[[int], sympy.Expr],
) -> dict[int, sympy.Expr]:
    """``{t: expand(start(t) + Σ m·head[r]·Π pieces[u])}`` over the splits ``(r, (u, ...), m)`` of each tree t."""
    coeffs: dict[int, sympy.Expr] = {}
    for t in ids:
        total = start(t)
        for r, parts, m in splits(t):
            term = m * head[r]
            for u in parts:
                term *= pieces[u]
            total += term
        coeffs[t] = sympy.expand(total)
    return coeffs
