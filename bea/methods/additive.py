r"""Additive (IMEX) Runge--Kutta methods for :math:`y' = f_1(y) + f_2(y)`, and their catalogue.

Convention (Ascher--Ruuth--Spiteri, Appl. Numer. Math. 25 (1997) 151--167, with their f = f1,
the non-stiff part usually treated explicitly, and g = f2, the stiff part usually implicit):
the **first tableau** :math:`(A^{[1]}, b^{[1]})` weighs the evaluations of :math:`f_1`, the
**second** :math:`(A^{[2]}, b^{[2]})` those of :math:`f_2`,

.. math::
    Y_i = y_0 + h \sum_j \big(a^{[1]}_{ij} f_1(Y_j) + a^{[2]}_{ij} f_2(Y_j)\big), \qquad
    y_1 = y_0 + h \sum_i \big(b^{[1]}_i f_1(Y_i) + b^{[2]}_i f_2(Y_i)\big).

Its series is a P-series over bicoloured trees (colour 0 nodes for :math:`f_1`, colour 1 for
:math:`f_2`, every derivative with respect to y), with the same elementary weights as a
partitioned method (Araújo--Murua--Sanz-Serna, SIAM J. Numer. Anal. 34 (1997) 1926--1947), so
:mod:`bea.pseries` computes its modified equation and modifying integrator.

>>> from bea.methods import ars_222, imex_euler
>>> imex_euler.order_of_accuracy(), ars_222.order_of_accuracy()
(1, 2)
"""

from __future__ import annotations

from typing import Any, final

import sympy
from sympy import Rational as R

from bea.bicoloured import BicolouredTree
from bea.errors import BeaTypeError
from bea.methods.tableau_pair import Tableau, TableauPairWeights, check_same_stages, exact_tableau

__all__ = ["ADDITIVE", "AdditiveRungeKutta", "ars_122", "ars_222", "ars_233", "imex_euler"]


@final
class AdditiveRungeKutta:
    r"""An s-stage additive Runge--Kutta method with exact coefficients (immutable, picklable).

    Applied to :math:`y' = f_1(y) + f_2(y)`:
    :math:`Y_i = y_0 + h \sum_j (a^{[1]}_{ij} f_1(Y_j) + a^{[2]}_{ij} f_2(Y_j))`,
    :math:`y_1 = y_0 + h \sum_i (b^{[1]}_i f_1(Y_i) + b^{[2]}_i f_2(Y_i))`: tableau 1 weighs
    :math:`f_1` (colour 0 nodes of the bicoloured trees), tableau 2 weighs :math:`f_2` (colour 1).

    IMEX Euler, explicit in :math:`f_1` and implicit in :math:`f_2`,
    :math:`y_1 = y_0 + h f_1(y_0) + h f_2(y_1)`:

    >>> m = AdditiveRungeKutta([[0, 0], [1, 0]], [1, 0], [[0, 0], [0, 1]], [0, 1], name="imex_euler")
    >>> m == imex_euler, m.order_of_accuracy()
    (True, 1)

    Parameters
    ----------
    A_1, b_1, A_2, b_2
        The two tableaux, each validated as :class:`~bea.methods.RungeKutta` validates one, with the
        same number of stages.
    c_1, c_2
        Optional nodes; default to the row sums and, when given, must equal them.
    name
        A label used in printing.
    rationalize_floats
        Floats are rejected unless this is True.

    Raises
    ------
    InvalidTableauError
        Mismatched stages or a malformed tableau (the message names the tableau and the value).
    BeaTypeError
        Non-numeric or float entries, a non-string name.
    """

    __slots__ = ("A_1", "A_2", "_weights", "b_1", "b_2", "c_1", "c_2", "name")

    A_1: tuple[tuple[sympy.Expr, ...], ...]
    b_1: tuple[sympy.Expr, ...]
    c_1: tuple[sympy.Expr, ...]
    A_2: tuple[tuple[sympy.Expr, ...], ...]
    b_2: tuple[sympy.Expr, ...]
    c_2: tuple[sympy.Expr, ...]
    name: str
    _weights: TableauPairWeights

    def __init__(
        self,
        A_1: object,
        b_1: object,
        A_2: object,
        b_2: object,
        *,
        c_1: object | None = None,
        c_2: object | None = None,
        name: str = "AdditiveRungeKutta",
        rationalize_floats: bool = False,
    ) -> None:
        if not isinstance(name, str):
            raise BeaTypeError(f"name must be a string, got {name!r}")
        first = exact_tableau(A_1, b_1, c_1, label="the f1 tableau", rationalize_floats=rationalize_floats)
        second = exact_tableau(A_2, b_2, c_2, label="the f2 tableau", rationalize_floats=rationalize_floats)
        check_same_stages(first, second, ("the f1 tableau", "the f2 tableau"))
        set_ = object.__setattr__
        set_(self, "A_1", first[0])
        set_(self, "b_1", first[1])
        set_(self, "c_1", first[2])
        set_(self, "A_2", second[0])
        set_(self, "b_2", second[1])
        set_(self, "c_2", second[2])
        set_(self, "name", name)
        set_(self, "_weights", TableauPairWeights(first, second))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("AdditiveRungeKutta is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("AdditiveRungeKutta is immutable")

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (self.A_1, self.b_1, self.A_2, self.b_2, self.name))

    @property
    def stages(self) -> int:
        """The number of stages s (the same for both tableaux)."""
        return len(self.b_1)

    @property
    def tableaux(self) -> tuple[Tableau, Tableau]:
        """((A_1, b_1, c_1), (A_2, b_2, c_2))."""
        return (self.A_1, self.b_1, self.c_1), (self.A_2, self.b_2, self.c_2)

    @property
    def weights(self) -> TableauPairWeights:
        """The memoised elementary-weight engine (used by :mod:`bea.pseries`)."""
        return self._weights

    def elementary_weight(self, tree: BicolouredTree) -> sympy.Expr:
        """:math:`\\Phi(\\tau)`, the method's P-series coefficient of a bicoloured tree."""
        if not isinstance(tree, BicolouredTree):
            raise BeaTypeError(f"elementary_weight needs a BicolouredTree, got {tree!r}")
        return self._weights.ring.back(self._weights.weight(tree.id))

    def order_of_accuracy(self) -> int:
        """The largest p with :math:`\\Phi(\\tau) = 1/\\gamma(\\tau)` for all bicoloured :math:`|\\tau| \\le p`.

        >>> [m.order_of_accuracy() for m in ADDITIVE]
        [1, 2, 2, 3]
        """
        return self._weights.order_of_accuracy()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AdditiveRungeKutta):
            return NotImplemented
        return (self.A_1, self.b_1, self.A_2, self.b_2) == (other.A_1, other.b_1, other.A_2, other.b_2)

    def __hash__(self) -> int:
        return hash((self.A_1, self.b_1, self.A_2, self.b_2))

    def __repr__(self) -> str:
        return (
            f"AdditiveRungeKutta(A_1={[list(r) for r in self.A_1]}, b_1={list(self.b_1)}, "
            f"A_2={[list(r) for r in self.A_2]}, b_2={list(self.b_2)}, name={self.name!r})"
        )


def _rebuild(A_1: object, b_1: object, A_2: object, b_2: object, name: str) -> AdditiveRungeKutta:
    return AdditiveRungeKutta(A_1, b_1, A_2, b_2, name=name)


imex_euler = AdditiveRungeKutta([[0, 0], [1, 0]], [1, 0], [[0, 0], [0, 1]], [0, 1], name="imex_euler")
"""IMEX Euler (forward--backward Euler, ARS(1,1,1)): :math:`y_1 = y_0 + h f_1(y_0) + h f_2(y_1)`; order 1
(Ascher--Ruuth--Spiteri 1997, section 2.1)."""

ars_122 = AdditiveRungeKutta(
    [[0, 0], [R(1, 2), 0]], [0, 1], [[0, 0], [0, R(1, 2)]], [0, 1], name="ars_122"
)
"""ARS(1,2,2), the implicit--explicit midpoint rule: explicit midpoint on :math:`f_1`, implicit midpoint
on :math:`f_2`; order 2 (Ascher--Ruuth--Spiteri 1997, section 2.2)."""

_g = 1 - sympy.sqrt(2) / 2
_d = -sympy.sqrt(2) / 2  # delta = 1 - 1/(2 gamma)
ars_222 = AdditiveRungeKutta(
    [[0, 0, 0], [_g, 0, 0], [_d, 1 - _d, 0]],
    [_d, 1 - _d, 0],
    [[0, 0, 0], [0, _g, 0], [0, 1 - _g, _g]],
    [0, 1 - _g, _g],
    name="ars_222",
)
"""ARS(2,2,2): L-stable two-stage SDIRK on :math:`f_2` with :math:`\\gamma = 1 - 1/\\sqrt2`, explicit
tableau with :math:`\\delta = 1 - 1/(2\\gamma) = -1/\\sqrt2` on :math:`f_1`; order 2
(Ascher--Ruuth--Spiteri 1997, section 2.6)."""

_g3 = (3 + sympy.sqrt(3)) / 6
ars_233 = AdditiveRungeKutta(
    [[0, 0, 0], [_g3, 0, 0], [_g3 - 1, 2 * (1 - _g3), 0]],
    [0, R(1, 2), R(1, 2)],
    [[0, 0, 0], [0, _g3, 0], [0, 1 - 2 * _g3, _g3]],
    [0, R(1, 2), R(1, 2)],
    name="ars_233",
)
"""ARS(2,3,3): two-stage SDIRK of order 3 on :math:`f_2` with :math:`\\gamma = (3 + \\sqrt3)/6`, three-stage
explicit tableau on :math:`f_1`; order 3 (Ascher--Ruuth--Spiteri 1997, section 2.4)."""

ADDITIVE: tuple[AdditiveRungeKutta, ...] = (imex_euler, ars_122, ars_222, ars_233)
"""The additive methods of the catalogue, each under its canonical name (``method.name``)."""
