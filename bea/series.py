r"""B-series: mappings from rooted trees to exact coefficients, and their algebra.

Normalisation (as BSeries.jl and Hairer--Lubich--Wanner, chapter III.1 and IX.9):

* a *map* series ``a`` (``a[∅] = 1``) stands for
  :math:`B(a, y) = y + \sum_\tau h^{|\tau|} \frac{a(\tau)}{\sigma(\tau)} F(\tau)(y)`;
* a *vector-field* series ``b`` (``b[∅] = 0``) stands for
  :math:`f_h(y) = \sum_\tau h^{|\tau|-1} \frac{b(\tau)}{\sigma(\tau)} F(\tau)(y)`.

A series *of order N* holds a coefficient for every tree with at most N nodes
(missing trees default to 0).

>>> from bea import methods
>>> a = methods.explicit_euler.bseries(3)
>>> a.is_map, a.order, a[Tree.leaf()]
(True, 3, 1)
>>> print(exact_solution(3))
1 + h f + 1/2 h² f'f + 1/6 h³ f'f'f + 1/6 h³ f''(f, f)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar, final

import sympy

from bea import _partitions, _table, drawing
from bea._text import signed_text, superscript
from bea.tree_series import TreeSeries, compose_series, substitute_series
from bea.trees import Tree
from bea.validation import MAX_TREES_ORDER, check_tree_order

__all__ = ["BSeries", "compose", "exact_solution", "substitute"]


@final
class BSeries(TreeSeries[Tree]):
    """An immutable B-series of a given order: a coefficient for every tree up to it.

    >>> from bea import Tree
    >>> print(BSeries({Tree.leaf(): 1, Tree.from_levels([1, 2]): sympy.Rational(-1, 2)}, 2))
    f - 1/2 h f'f

    Parameters
    ----------
    coefficients
        Mapping from :class:`Tree` to exact values; trees that are absent get 0.
    order
        The series holds every tree with at most ``order`` nodes.
    empty
        The coefficient of the empty tree: 1 for a map series, 0 for a field series.
    """

    __slots__ = ()
    kind: ClassVar[str] = "B-series"
    tree_type: ClassVar[type] = Tree
    max_order: ClassVar[int] = MAX_TREES_ORDER

    @staticmethod
    def _id_of(tree: Tree) -> int:
        return tree._id

    @staticmethod
    def _tree_of(ident: int) -> Tree:
        return Tree._from_id(ident)

    @staticmethod
    def _order_of(ident: int) -> int:
        return _table.order(ident)

    @staticmethod
    def _ids_up_to(order: int) -> Iterator[int]:
        for n in range(1, order + 1):
            yield from _table.trees_of_order(n)

    # --- output ---------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description (documented in ``docs/conventions.md``)."""
        return {
            "kind": "map" if self.is_map else "vector_field" if self.is_vector_field else "other",
            "order": self._order,
            "empty": str(self._empty),
            "coefficients": [
                {
                    "levels": list(_table.levels(t)),
                    "tree": str(Tree._from_id(t)),
                    "order": _table.order(t),
                    "symmetry": _table.symmetry(t),
                    "density": _table.density(t),
                    "elementary_differential": Tree._from_id(t).elementary_differential,
                    "coefficient": str(v),
                }
                for t, v in self._coeffs.items()
            ],
        }

    def _terms(self) -> list[tuple[sympy.Expr, int, Tree]]:
        shift = 1 if self.is_vector_field else 0
        return [
            (v / _table.symmetry(t), _table.order(t) - shift, Tree._from_id(t))
            for t, v in self._coeffs.items()
            if v != 0
        ]

    def __str__(self) -> str:
        """Text ``c h^k F(τ) ± ...`` (c = b(τ)/σ(τ)): a sum is parenthesised whole, the sign taken
        out only where SymPy can take it out of the whole coefficient, so the text parses back."""
        parts: list[str] = [] if self._empty == 0 else [signed_text(self._empty, "", first=True)]
        for coef, power, tree in self._terms():
            h = "" if power == 0 else "h" if power == 1 else f"h{superscript(power)}"
            body = " ".join(x for x in (h, tree.elementary_differential) if x)
            parts.append(signed_text(coef, body, first=not parts))
        return " ".join(parts) if parts else "0"

    def _latex(self, printer: Any = None) -> str:
        r"""The series as :math:`\sum_\tau c\, h^k F(\tau)` with :math:`c = b(\tau)/\sigma(\tau)`,
        in increasing powers of h (the hook behind ``sympy.latex(series)``).

        >>> import sympy
        >>> from bea import methods
        >>> sympy.latex(methods.explicit_euler.bseries(2))
        '1 + h F\\left(\\bullet\\right)'
        """
        parts: list[str] = [] if self._empty == 0 else [signed_text(self._empty, "", first=True, latex=True)]
        for coef, power, tree in self._terms():
            h = "" if power == 0 else "h" if power == 1 else f"h^{{{power}}}"
            body = " ".join(x for x in (h, rf"F\left({tree._latex()}\right)") if x)
            parts.append(signed_text(coef, body, first=not parts, latex=True))
        return " ".join(parts) if parts else "0"

    def table(self) -> drawing.TreeTable:
        """The coefficients tree by tree, with pictures of the trees (HTML in Jupyter, text in ``print``).

        >>> from bea import methods
        >>> print(methods.explicit_midpoint.bseries(3).table())
        levels     sigma  gamma  tree   F(tree)    coefficient
        [1]            1      1  •      f          1
        [1, 2]         1      2  [•]    f'f        1/2
        [1, 2, 3]      1      6  [[•]]  f'f'f      0
        [1, 2, 2]      2      3  [•²]   f''(f, f)  1/4
        """
        items = list(self)
        return drawing.tree_table(items, coefficient=[self[t] for t in items])



def exact_solution(order: int) -> BSeries:
    """The B-series of the exact flow, :math:`e(\\tau) = 1/\\gamma(\\tau)`.

    The Taylor series of the exact solution of :math:`y' = f(y)`:
    :math:`y(h) = y + \\sum_\\tau \\frac{h^{|\\tau|}}{\\gamma(\\tau)\\sigma(\\tau)} F(\\tau)(y)`.

    >>> print(exact_solution(3))
    1 + h f + 1/2 h² f'f + 1/6 h³ f'f'f + 1/6 h³ f''(f, f)
    """
    order = check_tree_order(order)
    coeffs = {
        t: sympy.Rational(1, _table.density(t)) for n in range(1, order + 1) for t in _table.trees_of_order(n)
    }
    return BSeries.from_ids(coeffs, order, sympy.Integer(1))


def compose(a: BSeries, b: BSeries) -> BSeries:
    """The series of the map "first a, then b": :math:`B(b, B(a, y)) = B(a \\cdot b, y)`.

    :math:`(a\\cdot b)(\\tau) = b(\\emptyset)a(\\tau) + \\sum_{s} b(s) \\prod_{u \\in \\tau\\setminus s} a(u)`,
    the sum over the non-empty subtrees s containing the root (HLW Theorem III.1.10).
    ``a`` must be a map series; the result has the smaller of the two orders.

    Two steps of size h of the exact flow are one step of size 2h, coefficient
    :math:`2^{|\\tau|}/\\gamma(\\tau)`:

    >>> e = exact_solution(3)
    >>> [str(v) for v in compose(e, e).values()]
    ['2', '2', '4/3', '8/3']
    """
    return compose_series(a, b, _partitions.root_subtrees)


def substitute(b: BSeries, a: BSeries) -> BSeries:
    """Substitute the field series b for the vector field in the series a.

    :math:`B(a, y)` with f replaced by :math:`f_h = B(b)`; coefficient-wise
    :math:`(b \\star a)(\\tau) = \\sum_{p} a(\\mathrm{skeleton}(p)) \\prod_{u \\in p} b(u)`,
    the sum over all partitions of :math:`\\tau` obtained by cutting edges
    (Chartier--Hairer--Vilmart 2010, section 3.2). So
    ``substitute(modified_equation(a), exact_solution(N)) == a``.

    >>> from bea import bseries, exact_solution, methods, modified_equation, substitute
    >>> a = bseries(methods.explicit_midpoint, 4)
    >>> substitute(modified_equation(a, 4), exact_solution(4)) == a
    True
    """
    return substitute_series(b, a, _partitions.partitions)
