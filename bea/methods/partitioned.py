r"""Partitioned Runge--Kutta methods for :math:`q' = f(q, p),\ p' = g(q, p)`, and their catalogue.

Convention (Hairer--Lubich--Wanner, *Geometric Numerical Integration*, 2nd ed., (II.2.2) and
section III.2.2, with q in the role of their y and p in the role of their z): the **q tableau**
:math:`(A^q, b^q)` weighs the evaluations of f (the right-hand side of q'), the **p tableau**
:math:`(A^p, b^p)` those of g,

.. math::
    Q_i = q_0 + h \sum_j a^q_{ij} f(Q_j, P_j), \qquad P_i = p_0 + h \sum_j a^p_{ij} g(Q_j, P_j),

    q_1 = q_0 + h \sum_i b^q_i f(Q_i, P_i), \qquad p_1 = p_0 + h \sum_i b^p_i g(Q_i, P_i).

For a Hamiltonian :math:`H(q, p)` take :math:`f = H_p` and :math:`g = -H_q`. In the P-series
(:mod:`bea.pseries`), colour 0 (black, •) nodes go with f and the q tableau, colour 1 (white, ∘)
nodes with g and the p tableau.

>>> from bea.methods import stormer_verlet, symplectic_euler
>>> symplectic_euler.order_of_accuracy(), stormer_verlet.order_of_accuracy()
(1, 2)
>>> stormer_verlet.A_p
((1/2, 0), (1/2, 0))
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, final

import sympy
from sympy import Rational as R

from bea.bicoloured import BicolouredTree
from bea.errors import BeaTypeError, BeaValueError
from bea.methods.tableau_pair import Tableau, TableauPairWeights, check_same_stages, exact_tableau

__all__ = [
    "PARTITIONED",
    "PartitionedRungeKutta",
    "composition",
    "lobatto_iiia_iiib",
    "stormer_verlet",
    "stormer_verlet_adjoint",
    "symplectic_euler",
    "symplectic_euler_adjoint",
    "yoshida4",
]


@final
class PartitionedRungeKutta:
    r"""An s-stage partitioned Runge--Kutta method with exact coefficients (immutable, picklable).

    Applied to :math:`q' = f(q, p),\ p' = g(q, p)` (f = H_p, g = -H_q for a Hamiltonian):

    .. math::
        Q_i = q_0 + h \sum_j a^q_{ij} f(Q_j, P_j), \quad P_i = p_0 + h \sum_j a^p_{ij} g(Q_j, P_j), \quad
        q_1 = q_0 + h \sum_i b^q_i f(Q_i, P_i), \quad p_1 = p_0 + h \sum_i b^p_i g(Q_i, P_i).

    So the **q tableau** ``(A_q, b_q, c_q)`` multiplies the f evaluations and the **p tableau**
    ``(A_p, b_p, c_p)`` the g evaluations (Hairer--Lubich--Wanner, (II.2.2)). Symplectic Euler
    that updates p first, :math:`p_1 = p_0 - h H_q(q_0, p_1),\ q_1 = q_0 + h H_p(q_0, p_1)`, is
    implicit Euler on p and explicit Euler on q:

    >>> se = PartitionedRungeKutta([[0]], [1], [[1]], [1], name="symplectic_euler")
    >>> se.order_of_accuracy(), se == symplectic_euler
    (1, True)
    >>> PartitionedRungeKutta([[0]], [1], [[0, 0], [1, 0]], [0, 1])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    bea.errors.InvalidTableauError: mismatched stages: the q tableau has 1 stage but the p tableau has 2 stages; ...

    Parameters
    ----------
    A_q, b_q, A_p, b_p
        The two tableaux; each is validated as :class:`~bea.methods.RungeKutta` validates one
        (square A, matching lengths, :math:`\sum_i b_i = 1`, exact entries), and both must have
        the same number of stages.
    c_q, c_p
        Optional nodes; default to the row sums of A and, when given, must equal them.
    name
        A label used in printing.
    rationalize_floats
        Floats are rejected unless this is True (then replaced by ``sympy.nsimplify`` rationals).

    Raises
    ------
    InvalidTableauError
        Mismatched stages, a non-square A, wrong lengths of b or c, or weights that do not sum to 1;
        the message names the tableau and the value.
    BeaTypeError
        Non-numeric or float entries, a non-string name.
    """

    __slots__ = ("A_p", "A_q", "_weights", "b_p", "b_q", "c_p", "c_q", "name")

    A_q: tuple[tuple[sympy.Expr, ...], ...]
    b_q: tuple[sympy.Expr, ...]
    c_q: tuple[sympy.Expr, ...]
    A_p: tuple[tuple[sympy.Expr, ...], ...]
    b_p: tuple[sympy.Expr, ...]
    c_p: tuple[sympy.Expr, ...]
    name: str
    _weights: TableauPairWeights

    def __init__(
        self,
        A_q: object,
        b_q: object,
        A_p: object,
        b_p: object,
        *,
        c_q: object | None = None,
        c_p: object | None = None,
        name: str = "PartitionedRungeKutta",
        rationalize_floats: bool = False,
    ) -> None:
        if not isinstance(name, str):
            raise BeaTypeError(f"name must be a string, got {name!r}")
        q_tab = exact_tableau(A_q, b_q, c_q, label="the q tableau", rationalize_floats=rationalize_floats)
        p_tab = exact_tableau(A_p, b_p, c_p, label="the p tableau", rationalize_floats=rationalize_floats)
        check_same_stages(q_tab, p_tab, ("the q tableau", "the p tableau"))
        set_ = object.__setattr__
        set_(self, "A_q", q_tab[0])
        set_(self, "b_q", q_tab[1])
        set_(self, "c_q", q_tab[2])
        set_(self, "A_p", p_tab[0])
        set_(self, "b_p", p_tab[1])
        set_(self, "c_p", p_tab[2])
        set_(self, "name", name)
        set_(self, "_weights", TableauPairWeights(q_tab, p_tab))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("PartitionedRungeKutta is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("PartitionedRungeKutta is immutable")

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (self.A_q, self.b_q, self.A_p, self.b_p, self.name))

    @property
    def stages(self) -> int:
        """The number of stages s (the same for both tableaux)."""
        return len(self.b_q)

    @property
    def q_tableau(self) -> Tableau:
        """(A_q, b_q, c_q): the tableau of the f evaluations (colour 0 nodes)."""
        return self.A_q, self.b_q, self.c_q

    @property
    def p_tableau(self) -> Tableau:
        """(A_p, b_p, c_p): the tableau of the g evaluations (colour 1 nodes)."""
        return self.A_p, self.b_p, self.c_p

    @property
    def is_explicit(self) -> bool:
        """True when both A_q and A_p are strictly lower triangular."""
        s = self.stages
        return all(A[i][j] == 0 for A in (self.A_q, self.A_p) for i in range(s) for j in range(i, s))

    @property
    def weights(self) -> TableauPairWeights:
        """The memoised elementary-weight engine (used by :mod:`bea.pseries`)."""
        return self._weights

    def elementary_weight(self, tree: BicolouredTree) -> sympy.Expr:
        """:math:`\\Phi(\\tau)`, the method's P-series coefficient of a bicoloured tree.

        The exact flow has :math:`1/\\gamma(\\tau)`; for Störmer--Verlet and :math:`\\bullet[\\circ^2]`
        (``f_pp(g, g)``, :math:`\\gamma = 3`) the weight is 1/4:

        >>> t = BicolouredTree.from_levels([1, 2, 2], [0, 1, 1])
        >>> stormer_verlet.elementary_weight(t), t.density
        (1/4, 3)
        """
        if not isinstance(tree, BicolouredTree):
            raise BeaTypeError(f"elementary_weight needs a BicolouredTree, got {tree!r}")
        return self._weights.ring.back(self._weights.weight(tree.id))

    def order_of_accuracy(self) -> int:
        """The largest p with :math:`\\Phi(\\tau) = 1/\\gamma(\\tau)` for all bicoloured :math:`|\\tau| \\le p`.

        These are the order conditions of HLW Theorem III.2.5.

        >>> [m.order_of_accuracy() for m in PARTITIONED]
        [1, 1, 2, 2, 4, 4]
        """
        return self._weights.order_of_accuracy()

    def adjoint(self) -> PartitionedRungeKutta:
        """The adjoint method :math:`\\Phi_h^* = \\Phi_{-h}^{-1}`, tableau by tableau.

        :math:`a^*_{ij} = b_{s+1-j} - a_{s+1-i,\\,s+1-j}`, :math:`b^*_i = b_{s+1-i}`
        (Hairer--Lubich--Wanner, chapter V (symmetric integration) for Runge--Kutta methods; partitioned methods
        take the adjoint of each tableau).

        >>> symplectic_euler.adjoint() == symplectic_euler_adjoint
        True
        """

        def star(A: tuple[tuple[sympy.Expr, ...], ...], b: tuple[sympy.Expr, ...]) -> tuple[Any, Any]:
            s = len(b)
            return (
                [[b[s - 1 - j] - A[s - 1 - i][s - 1 - j] for j in range(s)] for i in range(s)],
                [b[s - 1 - i] for i in range(s)],
            )

        Aq, bq = star(self.A_q, self.b_q)
        Ap, bp = star(self.A_p, self.b_p)
        return PartitionedRungeKutta(Aq, bq, Ap, bp, name=f"{self.name}_adjoint")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PartitionedRungeKutta):
            return NotImplemented
        return (self.A_q, self.b_q, self.A_p, self.b_p) == (other.A_q, other.b_q, other.A_p, other.b_p)

    def __hash__(self) -> int:
        return hash((self.A_q, self.b_q, self.A_p, self.b_p))

    def __repr__(self) -> str:
        return (
            f"PartitionedRungeKutta(A_q={[list(r) for r in self.A_q]}, b_q={list(self.b_q)}, "
            f"A_p={[list(r) for r in self.A_p]}, b_p={list(self.b_p)}, name={self.name!r})"
        )


def _rebuild(A_q: object, b_q: object, A_p: object, b_p: object, name: str) -> PartitionedRungeKutta:
    return PartitionedRungeKutta(A_q, b_q, A_p, b_p, name=name)


def composition(method: PartitionedRungeKutta, fractions: Sequence[object], *, name: str) -> PartitionedRungeKutta:
    r"""The composition :math:`\Phi_{\gamma_k h} \circ \dots \circ \Phi_{\gamma_1 h}` as one method.

    With ``fractions`` :math:`\gamma_1, \dots, \gamma_k` (summing to 1) the result has k·s stages:
    each tableau becomes block lower triangular with :math:`\gamma_m A` on the diagonal blocks and
    :math:`\gamma_m \mathbf 1 b^T` below them, and weights :math:`(\gamma_1 b, \dots, \gamma_k b)`
    (Hairer--Lubich--Wanner, section III.1.3 and II.4).

    >>> composition(stormer_verlet, [R(1, 2), R(1, 2)], name="two_half_steps").order_of_accuracy()
    2
    """
    if not isinstance(method, PartitionedRungeKutta):
        raise BeaTypeError(f"composition needs a PartitionedRungeKutta, got {method!r}")
    gammas = [sympy.sympify(g) for g in fractions]
    if not gammas:
        raise BeaValueError("composition needs at least one step fraction, got []")
    if sympy.simplify(sum(gammas, sympy.Integer(0)) - 1) != 0:
        raise BeaValueError(f"the step fractions {list(fractions)!r} sum to {sum(gammas)}, not 1")

    def blocks(A: tuple[tuple[sympy.Expr, ...], ...], b: tuple[sympy.Expr, ...]) -> tuple[Any, Any]:
        s = len(b)
        rows = []
        for m, gm in enumerate(gammas):
            for i in range(s):
                row: list[sympy.Expr] = []
                for n, gn in enumerate(gammas):
                    if n < m:
                        row += [sympy.expand(gn * b[j]) for j in range(s)]
                    elif n == m:
                        row += [sympy.expand(gm * A[i][j]) for j in range(s)]
                    else:
                        row += [sympy.Integer(0)] * s
                rows.append(row)
        weights = [sympy.expand(g * b[j]) for g in gammas for j in range(s)]
        return rows, weights

    Aq, bq = blocks(method.A_q, method.b_q)
    Ap, bp = blocks(method.A_p, method.b_p)
    return PartitionedRungeKutta(Aq, bq, Ap, bp, name=name)


symplectic_euler = PartitionedRungeKutta([[0]], [1], [[1]], [1], name="symplectic_euler")
"""Symplectic Euler updating p first (HLW (I.1.9)): :math:`p_1 = p_0 - h H_q(q_0, p_1)`,
:math:`q_1 = q_0 + h H_p(q_0, p_1)`; implicit Euler in p, explicit Euler in q. Order 1."""

symplectic_euler_adjoint = PartitionedRungeKutta([[1]], [1], [[0]], [1], name="symplectic_euler_adjoint")
"""Symplectic Euler updating q first, the adjoint of :data:`symplectic_euler`:
:math:`q_1 = q_0 + h H_p(q_1, p_0)`, :math:`p_1 = p_0 - h H_q(q_1, p_0)`. Order 1."""

_IIIA2 = ([[0, 0], [R(1, 2), R(1, 2)]], [R(1, 2), R(1, 2)])
_IIIB2 = ([[R(1, 2), 0], [R(1, 2), 0]], [R(1, 2), R(1, 2)])

stormer_verlet = PartitionedRungeKutta(*_IIIA2, *_IIIB2, name="stormer_verlet")
"""Störmer--Verlet, velocity form (alias ``leapfrog``): half step in p, full step in q, half step in p,
:math:`p_{1/2} = p_0 - \\tfrac h2 H_q(q_0, p_{1/2})`,
:math:`q_1 = q_0 + \\tfrac h2 (H_p(q_0, p_{1/2}) + H_p(q_1, p_{1/2}))`,
:math:`p_1 = p_{1/2} - \\tfrac h2 H_q(q_1, p_{1/2})`: Lobatto IIIA for q, IIIB for p
(HLW section I.1.4 and section II.2.2). Symmetric and symplectic, order 2."""

stormer_verlet_adjoint = PartitionedRungeKutta(*_IIIB2, *_IIIA2, name="stormer_verlet_adjoint")
"""Störmer--Verlet, position form: half step in q, full step in p, half step in q (Lobatto IIIB for q,
IIIA for p; HLW section I.1.4). Symmetric and symplectic, order 2."""

lobatto_iiia_iiib = PartitionedRungeKutta(
    [[0, 0, 0], [R(5, 24), R(1, 3), R(-1, 24)], [R(1, 6), R(2, 3), R(1, 6)]],
    [R(1, 6), R(2, 3), R(1, 6)],
    [[R(1, 6), R(-1, 6), 0], [R(1, 6), R(1, 3), 0], [R(1, 6), R(5, 6), 0]],
    [R(1, 6), R(2, 3), R(1, 6)],
    name="lobatto_iiia_iiib",
)
"""The 3-stage Lobatto IIIA--IIIB pair (IIIA for q, IIIB for p; HLW section II.2.2);
symmetric and symplectic, order 4."""

_cbrt2 = sympy.cbrt(2)
_gamma1 = (4 + 2 * _cbrt2 + _cbrt2**2) / 6  # = 1 / (2 - 2^(1/3)), rationalised
yoshida4 = composition(
    stormer_verlet, [_gamma1, sympy.expand(1 - 2 * _gamma1), _gamma1], name="yoshida4"
)
"""Yoshida's order-4 triple jump of Störmer--Verlet (6 stages): step fractions
:math:`\\gamma_1 = \\gamma_3 = 1/(2 - 2^{1/3})`, :math:`\\gamma_2 = -2^{1/3}/(2 - 2^{1/3})`
(H. Yoshida, Phys. Lett. A 150 (1990) 262--268; HLW (II.4.4)). Exact entries in
:math:`\\mathbb Q(2^{1/3})`. Symmetric and symplectic, order 4."""

PARTITIONED: tuple[PartitionedRungeKutta, ...] = (
    symplectic_euler,
    symplectic_euler_adjoint,
    stormer_verlet,
    stormer_verlet_adjoint,
    lobatto_iiia_iiib,
    yoshida4,
)
"""The partitioned methods of the catalogue, each under its canonical name (``method.name``)."""
