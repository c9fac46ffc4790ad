r"""P-series: mappings from bicoloured trees to exact coefficients, and their algebra.

Normalisation (the same as :class:`bea.BSeries`; Hairer--Lubich--Wanner, sections III.2.1 and IX.10,
with q in the role of their y and p of their z). For the partitioned system
:math:`q' = f(q, p),\ p' = g(q, p)`, a *map* series ``a`` (``a[∅] = 1``) stands for

.. math::
    q \mapsto q + \sum_{\tau \in T_q} h^{|\tau|} \frac{a(\tau)}{\sigma(\tau)} F(\tau)(q, p), \qquad
    p \mapsto p + \sum_{\tau \in T_p} h^{|\tau|} \frac{a(\tau)}{\sigma(\tau)} F(\tau)(q, p),

where :math:`T_q` holds the trees whose root has colour 0 (black) and :math:`T_p` those with
colour 1 (white); a *vector-field* series ``b`` (``b[∅] = 0``) stands for the field
:math:`\big(\sum_{T_q} h^{|\tau|-1} \frac{b(\tau)}{\sigma(\tau)} F(\tau),\
\sum_{T_p} h^{|\tau|-1} \frac{b(\tau)}{\sigma(\tau)} F(\tau)\big)`. For an additive system
:math:`y' = f_1(y) + f_2(y)` the same coefficients stand for
:math:`y \mapsto y + \sum_{\tau} h^{|\tau|} \frac{a(\tau)}{\sigma(\tau)} F(\tau)(y)`, the sum over
trees of both root colours, colour 0 nodes standing for :math:`f_1` and colour 1 for :math:`f_2`.

A series *of order N* holds a coefficient for every bicoloured tree with at most N nodes.

>>> from bea import methods
>>> a = pseries(methods.symplectic_euler, 2)
>>> print(a)
q: 1 + h f + h² f_p g
p: 1 + h g + h² g_p g
>>> print(exact_solution(2))
q: 1 + h f + 1/2 h² f_q f + 1/2 h² f_p g
p: 1 + h g + 1/2 h² g_q f + 1/2 h² g_p g
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar, Protocol, final

import sympy

from bea import bicoloured
from bea._text import superscript
from bea.bicoloured import BLACK, WHITE, BicolouredTree
from bea.errors import BeaTypeError
from bea.methods.tableau_pair import TableauPairWeights
from bea.pseries import enumerations
from bea.tree_series import TreeSeries, compose_series, substitute_series
from bea.validation import MAX_BICOLOURED_ORDER, check_tree_order

__all__ = ["PSeries", "PSeriesMethod", "compose", "exact_solution", "pseries", "substitute"]


class PSeriesMethod(Protocol):
    """What a method needs to offer to have a P-series: its elementary-weight engine.

    :class:`~bea.methods.PartitionedRungeKutta` and :class:`~bea.methods.AdditiveRungeKutta` do.
    """

    @property
    def name(self) -> str: ...

    @property
    def weights(self) -> TableauPairWeights: ...


def _all_ids(order: int) -> Iterator[int]:
    for n in range(1, order + 1):
        yield from bicoloured.trees_of_order_ids(n)


@final
class PSeries(TreeSeries[BicolouredTree]):
    """An immutable P-series of a given order: a coefficient for every bicoloured tree up to it.

    >>> q, p = BicolouredTree.leaf(BLACK), BicolouredTree.leaf(WHITE)
    >>> print(PSeries({q: 1, p: 1, BicolouredTree.from_children(BLACK, [p]): sympy.Rational(1, 2)}, 2))
    q: f + 1/2 h f_p g
    p: g

    Parameters
    ----------
    coefficients
        Mapping from :class:`~bea.bicoloured.BicolouredTree` to exact values; absent trees get 0.
    order
        The series holds every tree with at most ``order`` nodes.
    empty
        The coefficient of the empty tree: 1 for a map series, 0 for a vector-field series.

    Raises
    ------
    SeriesError
        A tree with more nodes than ``order``.
    BeaTypeError
        A key that is not a bicoloured tree, a float or non-numeric coefficient.
    """

    __slots__ = ()
    kind: ClassVar[str] = "P-series"
    tree_type: ClassVar[type] = BicolouredTree
    max_order: ClassVar[int] = MAX_BICOLOURED_ORDER

    @staticmethod
    def _id_of(tree: BicolouredTree) -> int:
        return tree.id

    @staticmethod
    def _tree_of(ident: int) -> BicolouredTree:
        return BicolouredTree.from_id(ident)

    @staticmethod
    def _order_of(ident: int) -> int:
        return bicoloured.tree_data(ident)[2]

    @staticmethod
    def _ids_up_to(order: int) -> Iterator[int]:
        return _all_ids(order)

    # --- output -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description (documented in ``docs/conventions.md``, section "P-series")."""
        return {
            "kind": "map" if self.is_map else "vector_field" if self.is_vector_field else "other",
            "order": self._order,
            "empty": str(self._empty),
            "coefficients": [
                {
                    "levels": list(tree.levels),
                    "colours": list(tree.colours),
                    "tree": str(tree),
                    "order": tree.order,
                    "symmetry": tree.symmetry,
                    "density": tree.density,
                    "elementary_differential": tree.elementary_differential,
                    "coefficient": str(v),
                }
                for tree, v in self.items()
            ],
        }

    def terms(self, colour: int) -> list[tuple[sympy.Expr, int, BicolouredTree]]:
        """(coefficient / σ, power of h, tree) of the non-zero terms of one component (root colour)."""
        shift = 1 if self.is_vector_field else 0
        found = []
        for t, v in self._coeffs.items():
            c, _, n, sigma, _ = bicoloured.tree_data(t)
            if c == colour and v != 0:
                found.append((sympy.nsimplify(v / sigma), n - shift, BicolouredTree.from_id(t)))
        return found

    def _component_text(self, colour: int) -> str:
        parts: list[str] = [] if self._empty == 0 else [str(self._empty)]
        for coef, power, tree in self.terms(colour):
            h = "" if power == 0 else "h " if power == 1 else f"h{superscript(power)} "
            c = str(coef)
            sign = "+"
            if c.startswith("-"):
                sign, c = "-", c[1:]
            if any(ch in c for ch in "+-"):
                c = f"({c})"
            body = f"{h}{tree.elementary_differential}" if c == "1" else f"{c} {h}{tree.elementary_differential}"
            parts.append(f"{sign} {body}" if parts else (body if sign == "+" else f"-{body}"))
        return " ".join(parts) if parts else "0"

    def __str__(self) -> str:
        return f"q: {self._component_text(BLACK)}\np: {self._component_text(WHITE)}"

    def _component_latex(self, colour: int) -> str:
        parts: list[str] = [] if self._empty == 0 else [str(sympy.latex(self._empty))]
        for coef, power, tree in self.terms(colour):
            h = "" if power == 0 else "h" if power == 1 else f"h^{{{power}}}"
            body = " ".join(x for x in (h, rf"F\left({tree._latex()}\right)") if x)
            negative = coef.could_extract_minus_sign()
            size = -coef if negative else coef
            if size != 1:
                c = str(sympy.latex(size))
                c = rf"\left({c}\right)" if isinstance(size, sympy.Add) else c
                body = f"{c} {body}"
            parts.append((f"-{body}" if negative else body) if not parts else f"{'-' if negative else '+'} {body}")
        return " ".join(parts) if parts else "0"

    def _latex(self, printer: Any = None) -> str:
        r"""The two components as an aligned pair (the hook behind ``sympy.latex(series)``).

        >>> import sympy
        >>> from bea import methods
        >>> print(sympy.latex(pseries(methods.symplectic_euler, 1)))
        \begin{aligned} q &: 1 + h F\left(\bullet\right) \\ p &: 1 + h F\left(\circ\right) \end{aligned}
        """
        return (
            rf"\begin{{aligned}} q &: {self._component_latex(BLACK)} \\ "
            rf"p &: {self._component_latex(WHITE)} \end{{aligned}}"
        )


def _check_method(method: object) -> TableauPairWeights:
    weights = getattr(method, "weights", None)
    if not isinstance(weights, TableauPairWeights):
        raise BeaTypeError(
            f"expected a partitioned or additive Runge--Kutta method (PartitionedRungeKutta, "
            f"AdditiveRungeKutta), got {method!r}"
        )
    return weights


def pseries(method: PSeriesMethod, order: int) -> PSeries:
    """The map P-series of a partitioned or additive Runge--Kutta method: :math:`a(\\tau) = \\Phi(\\tau)`.

    :math:`\\Phi(\\tau) = \\sum_i b^{[c]}_i \\phi_i(\\tau)` with the weights of the tableau of the
    root's colour c (HLW Theorem III.2.4; see :mod:`bea.methods.tableau_pair`).

    >>> from bea import methods
    >>> pseries(methods.stormer_verlet, 2) == exact_solution(2), pseries(methods.stormer_verlet, 3) == exact_solution(3)
    (True, False)
    """
    weights = _check_method(method)
    check_tree_order(order, maximum=MAX_BICOLOURED_ORDER)
    back = weights.ring.back
    coeffs = {t: back(weights.weight(t)) for t in _all_ids(order)}
    return PSeries.from_ids(coeffs, order, sympy.Integer(1))


def exact_solution(order: int) -> PSeries:
    """The P-series of the exact flow, :math:`e(\\tau) = 1/\\gamma(\\tau)` (HLW section III.2.1).

    >>> print(exact_solution(2))
    q: 1 + h f + 1/2 h² f_q f + 1/2 h² f_p g
    p: 1 + h g + 1/2 h² g_q f + 1/2 h² g_p g
    """
    check_tree_order(order, maximum=MAX_BICOLOURED_ORDER)
    coeffs = {t: sympy.Rational(1, bicoloured.tree_data(t)[4]) for t in _all_ids(order)}
    return PSeries.from_ids(coeffs, order, sympy.Integer(1))


def compose(a: PSeries, b: PSeries) -> PSeries:
    """The series of the map "first a, then b": :math:`P(b, P(a, y)) = P(a \\cdot b, y)`.

    :math:`(a\\cdot b)(\\tau) = b(\\emptyset)a(\\tau) + \\sum_{s} b(s) \\prod_{u \\in \\tau\\setminus s} a(u)`,
    the sum over the non-empty subtrees s containing the root, colours kept (HLW Theorem III.1.10
    and section III.2.1). ``a`` must be a map series; the result has the smaller order.

    Symplectic Euler (p first) followed by its adjoint, each with step h/2, is Störmer--Verlet:

    >>> from bea import methods
    >>> half = lambda a: PSeries({t: v / 2**t.order for t, v in a.items()}, a.order, 1)
    >>> se, sea = pseries(methods.symplectic_euler, 4), pseries(methods.symplectic_euler_adjoint, 4)
    >>> compose(half(se), half(sea)) == pseries(methods.stormer_verlet, 4)
    True
    """
    return compose_series(a, b, enumerations.root_subtrees)


def substitute(b: PSeries, a: PSeries) -> PSeries:
    """Substitute the field series b for the vector field (f, g) in the series a.

    :math:`(b \\star a)(\\tau) = \\sum_{p} a(\\mathrm{skeleton}(p)) \\prod_{u \\in p} b(u)`, the sum over
    the partitions of :math:`\\tau` by cutting edges, each piece contracted to a skeleton node of
    its root's colour (Chartier--Hairer--Vilmart 2010, section 3.2, with colours). So
    ``substitute(modified_equation(a, N), exact_solution(N)) == a``.

    >>> from bea import methods
    >>> from bea.pseries import exact_solution, modified_equation, pseries, substitute
    >>> a = pseries(methods.symplectic_euler, 4)
    >>> substitute(modified_equation(a, 4), exact_solution(4)) == a
    True
    """
    return substitute_series(b, a, enumerations.partitions)
