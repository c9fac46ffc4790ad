r"""Methods given by their B-series: a rule that yields the exact coefficient of every tree.

Not every B-series method is a Runge--Kutta method. The average vector field (AVF) method

.. math::
    y_1 = y_0 + h \int_0^1 f\big(y_0 + s\,(y_1 - y_0)\big)\, ds

(Quispel--McLaren, *J. Phys. A* 41 (2008) 045206) has the B-series coefficients

.. math::
    a(\emptyset) = 1, \qquad a(\bullet) = 1, \qquad
    a([\tau_1, \dots, \tau_k]) = \frac{1}{k + 1} \prod_{i=1}^k a(\tau_i)

(Celledoni, McLachlan, Owren, Quispel, *Found. Comput. Math.* 10 (2010) 673--693, Example 1).
Derivation: write :math:`y_1 - y_0 = \sum_\tau h^{|\tau|} a(\tau)/\sigma(\tau)\, F(\tau)` and
expand :math:`f(y_0 + s\Delta) = \sum_k \frac{s^k}{k!} f^{(k)}(\Delta, \dots, \Delta)`; the
tree :math:`[\tau_1..\tau_k]` collects :math:`\int_0^1 s^k ds = 1/(k+1)` times the product of
its subtrees' coefficients (the :math:`1/k!` and the multinomial counts combine into
:math:`1/\sigma`). Normalisation as :func:`bea.bseries` (``docs/conventions.md``).

>>> from bea import Tree
>>> avf = average_vector_field
>>> avf.name, avf.coefficient(Tree.from_levels([1, 2, 2])), avf.coefficient(Tree.from_levels([1, 2, 3]))
('average_vector_field', 1/3, 1/4)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, final

import sympy

from bea.errors import BeaTypeError, BeaValueError
from bea.methods.base import Problem, bseries_modified_terms
from bea.series import BSeries
from bea.trees import Tree, trees_up_to
from bea.validation import check_tree_order, exact_expression

__all__ = ["BSeriesMethod", "average_vector_field", "avf_rule"]

#: A coefficient rule: ``rule(tree, a)`` returns the method's coefficient of ``tree`` (an exact
#: SymPy value, or an int/Fraction-like value that SymPy makes exact); ``a(subtree)`` gives the
#: coefficient of any tree with fewer nodes.
Rule = Callable[[Tree, Callable[[Tree], sympy.Expr]], object]


@final
@dataclass(frozen=True)
class BSeriesMethod:
    """A one-step method given by the exact B-series coefficient of every tree.

    One step is :math:`y_1 = y_0 + \\sum_\\tau h^{|\\tau|} \\frac{a(\\tau)}{\\sigma(\\tau)} F(\\tau)(y_0)`
    with :math:`a(\\emptyset) = 1` and :math:`a(\\tau)` = ``rule(tree, a)``, evaluated tree by tree
    in increasing order (so the rule may use the coefficients of smaller trees).

    Parameters
    ----------
    name
        The method's name (non-empty ``str``), as the catalogue and CLI show it.
    rule
        ``rule(tree, a) -> exact value``; ``a(subtree)`` returns an already computed coefficient
        of a smaller tree. Give a module-level function to keep the method picklable.

    Raises
    ------
    BeaTypeError
        For a non-string name or a rule that is not callable; from :meth:`bseries`, when the
        rule returns a float or a non-number.
    BeaValueError
        For an empty name; from :meth:`bseries`, when the rule asks for a tree not yet computed.
    """

    name: str
    rule: Rule

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise BeaTypeError(f"name must be a string, got {self.name!r}")
        if not self.name.strip():
            raise BeaValueError(f"name must not be empty, got {self.name!r}")
        if not callable(self.rule):
            raise BeaTypeError(f"rule must be callable as rule(tree, a), got {self.rule!r}")

    def coefficients(self, order: int) -> dict[Tree, sympy.Expr]:
        """The coefficients :math:`a(\\tau)` of every tree with at most ``order`` nodes, as a dict.

        >>> from bea import Tree
        >>> average_vector_field.coefficients(2)[Tree.from_levels([1, 2])]
        1/2
        """
        check_tree_order(order)
        found: dict[Tree, sympy.Expr] = {}

        def lookup(tree: Tree) -> sympy.Expr:
            if not isinstance(tree, Tree):
                raise BeaTypeError(f"{self.name}: a(...) needs a Tree, got {tree!r}")
            try:
                return found[tree]
            except KeyError:
                raise BeaValueError(
                    f"{self.name}: the rule asked for a({tree}) before it was computed "
                    "(a rule may use only trees with fewer nodes)"
                ) from None

        for tree in trees_up_to(order):
            found[tree] = _exact(self.rule(tree, lookup), self.name, tree)
        return found

    def bseries(self, order: int) -> BSeries:
        """The map B-series (:math:`a(\\emptyset) = 1`) of every tree with at most ``order`` nodes.

        >>> print(average_vector_field.bseries(3))
        1 + h f + 1/2 h² f'f + 1/4 h³ f'f'f + 1/6 h³ f''(f, f)
        """
        return BSeries(self.coefficients(order), order, empty=1)

    def modified_terms(
        self, problem: Problem, truncation: int, h: sympy.Symbol
    ) -> tuple[sympy.ImmutableMatrix, ...]:
        """The modified field on ``problem.field`` through :math:`h^{\\text{truncation}}` (the tree route,
        :func:`bea.methods.base.bseries_modified_terms`), as for every method of :class:`bea.methods.Method`."""
        return bseries_modified_terms(self, problem, truncation)

    def coefficient(self, tree: Tree) -> sympy.Expr:
        """The coefficient :math:`a(\\tau)` of one tree."""
        if not isinstance(tree, Tree):
            raise BeaTypeError(f"coefficient needs a Tree, got {tree!r}")
        return self.bseries(tree.order)[tree]


def _exact(value: object, name: str, tree: Tree) -> sympy.Expr:
    if isinstance(value, sympy.Rational):
        return value
    return exact_expression(value, f"{name}: the value the rule gave for {tree}")


def avf_rule(tree: Tree, a: Callable[[Tree], Any]) -> sympy.Expr:
    """The AVF coefficient :math:`a([\\tau_1..\\tau_k]) = \\prod_i a(\\tau_i) / (k + 1)` (module docstring)."""
    kids = tree.children
    value: sympy.Expr = sympy.Rational(1, len(kids) + 1)
    for kid in kids:
        value *= a(kid)
    return value


average_vector_field = BSeriesMethod("average_vector_field", avf_rule)
"""The average vector field method (Quispel--McLaren 2008): energy-preserving, symmetric, order 2."""
