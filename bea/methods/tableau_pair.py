r"""What partitioned and additive Runge--Kutta methods share: two exact tableaux and their weights.

Both families combine two s-stage tableaux :math:`(A^{[0]}, b^{[0]})` and :math:`(A^{[1]}, b^{[1]})`;
tableau ``k`` goes with the nodes of colour ``k`` of a bicoloured tree (:mod:`bea.bicoloured`).
The P-series coefficient (elementary weight) of a bicoloured tree :math:`\tau` with root colour c is

.. math::
    \Phi(\tau) = \sum_i b^{[c]}_i \phi_i(\tau), \qquad
    \phi_i([\tau_1, \dots, \tau_k]) = \prod_m \sum_j a^{[c(\tau_m)]}_{ij} \phi_j(\tau_m),

(Hairer--Lubich--Wanner, *Geometric Numerical Integration*, 2nd ed., Theorem III.2.4 for
partitioned methods; Araújo--Murua--Sanz-Serna, SIAM J. Numer. Anal. 34 (1997) for additive ones),
and the method has order of accuracy p when :math:`\Phi(\tau) = 1/\gamma(\tau)` for every
bicoloured tree with at most p nodes.

This module is the internal interface of :mod:`bea.methods.partitioned` and
:mod:`bea.methods.additive`; users build those classes.
"""

from __future__ import annotations

from math import gcd
from typing import Any, final

import sympy

from bea import bicoloured
from bea._arith import Ring
from bea.errors import BeaTypeError, InvalidTableauError
from bea.methods.rungekutta import RungeKutta

__all__ = ["Tableau", "TableauPairWeights", "check_same_stages", "exact_tableau"]

Tableau = tuple[tuple[tuple[sympy.Expr, ...], ...], tuple[sympy.Expr, ...], tuple[sympy.Expr, ...]]
"""An exact tableau (A, b, c) as tuples of SymPy numbers."""


def exact_tableau(A: object, b: object, c: object, *, label: str, rationalize_floats: bool) -> Tableau:
    """Validate one tableau of a pair (as :class:`RungeKutta` does) and return it exact.

    Errors are those of :class:`RungeKutta` (:class:`~bea.errors.InvalidTableauError`,
    :class:`~bea.errors.BeaTypeError`), their message prefixed with ``label``
    (e.g. "the q tableau").
    """
    try:
        rk = RungeKutta(A, b, c, name=label, rationalize_floats=rationalize_floats)
    except InvalidTableauError as exc:
        raise InvalidTableauError(f"{label}: {exc}") from exc
    except BeaTypeError as exc:
        raise BeaTypeError(f"{label}: {exc}") from exc
    return rk.A, rk.b, rk.c


def check_same_stages(first: Tableau, second: Tableau, labels: tuple[str, str]) -> None:
    """:class:`~bea.errors.InvalidTableauError` naming both stage counts unless they agree."""
    s0, s1 = len(first[1]), len(second[1])
    if s0 != s1:
        raise InvalidTableauError(
            f"mismatched stages: {labels[0]} has {s0} stage{'s' * (s0 != 1)} "
            f"but {labels[1]} has {s1} stage{'s' * (s1 != 1)}; both tableaux need the same number"
        )


@final
class TableauPairWeights:
    """Elementary weights :math:`\\Phi(\\tau)` of a tableau pair over bicoloured trees, memoised by tree id.

    Arithmetic is exact: :class:`gmpy2.mpq` when every entry is rational, SymPy (expanded)
    otherwise (``sqrt(2)``, ``cbrt(2)``: algebraic numbers whose expanded forms are canonical).
    """

    __slots__ = ("_A", "_b", "_cache", "_edge", "ring", "stages")

    def __init__(self, first: Tableau, second: Tableau) -> None:
        entries = [x for tab in (first, second) for row in tab[0] for x in row]
        entries += [x for tab in (first, second) for x in tab[1]]
        self.ring = Ring.for_values(entries)
        convert = self.ring.convert
        self._A = tuple(tuple(tuple(convert(x) for x in row) for row in tab[0]) for tab in (first, second))
        self._b = tuple(tuple(convert(x) for x in tab[1]) for tab in (first, second))
        self.stages = len(first[1])
        self._cache: dict[int, tuple[Any, ...]] = {}
        self._edge: dict[int, tuple[Any, ...]] = {}

    def __reduce__(self) -> tuple[Any, ...]:  # pragma: no cover - rebuilt by the owning method
        raise TypeError("TableauPairWeights is rebuilt by its method, not pickled")

    def _child_vector(self, kid: int) -> tuple[Any, ...]:
        r""":math:`(\sum_j a^{[c]}_{ij} \phi_j(u))_i` for the child u with id ``kid`` and root colour c."""
        found = self._edge.get(kid)
        if found is not None:
            return found
        ring = self.ring
        A = self._A[bicoloured.tree_data(kid)[0]]
        g = self.stage_weights(kid)
        zero = ring.integer(0)
        result = []
        for row in A:
            acc = zero
            for a, x in zip(row, g, strict=True):
                if a != 0 and x != 0:
                    acc = acc + a * x
            result.append(ring.normal(acc))
        vector = tuple(result)
        self._edge[kid] = vector
        return vector

    def stage_weights(self, t: int) -> tuple[Any, ...]:
        r"""The vector :math:`(\phi_i(\tau))_i` for the tree with id ``t``, in :attr:`ring`."""
        found = self._cache.get(t)
        if found is not None:
            return found
        ring = self.ring
        g = [ring.integer(1)] * self.stages
        for kid in bicoloured.tree_data(t)[1]:
            v = self._child_vector(kid)
            g = [ring.normal(x * y) for x, y in zip(g, v, strict=True)]
        result = tuple(g)
        self._cache[t] = result
        return result

    def weight(self, t: int) -> Any:
        r""":math:`\Phi(\tau)` for the tree with id ``t``, in :attr:`ring`."""
        b = self._b[bicoloured.tree_data(t)[0]]
        g = self.stage_weights(t)
        return self.ring.normal(sum((x * y for x, y in zip(b, g, strict=True)), self.ring.integer(0)))

    def integer_weights(self, ids: list[int]) -> tuple[int, dict[int, int]] | None:
        r"""Scaled weights :math:`D^{|\tau|}\Phi(\tau)` as Python integers, and D; None unless all entries are rational.

        D is the least common denominator of the entries of both tableaux, so
        :math:`D a_{ij}` and :math:`D b_i` are integers and, by the recursion, so are
        :math:`D^{|\tau|-1}\phi_i(\tau)` and :math:`D^{|\tau|}\Phi(\tau)`. The fast path of
        :func:`bea.pseries.modified_equation`.
        """
        if not self.ring.rational:
            return None
        values = [x for tab in self._A for row in tab for x in row] + [x for b in self._b for x in b]
        D = 1
        for x in values:
            D = D * int(x.denominator) // gcd(D, int(x.denominator))
        A = [[[int(x * D) for x in row] for row in tab] for tab in self._A]
        b = [[int(x * D) for x in vec] for vec in self._b]
        s = self.stages
        phi: dict[int, list[int]] = {}
        edge: dict[int, list[int]] = {}
        result: dict[int, int] = {}
        for t in ids:  # ids come in increasing order, so children are done first
            colour, kids, _, _, _ = bicoloured.tree_data(t)
            g = [1] * s
            for kid in kids:
                v = edge.get(kid)
                if v is None:
                    Ak, gk = A[bicoloured.tree_data(kid)[0]], phi[kid]
                    v = [sum(a * x for a, x in zip(row, gk, strict=True)) for row in Ak]
                    edge[kid] = v
                g = [x * y for x, y in zip(g, v, strict=True)]
            phi[t] = g
            result[t] = sum(x * y for x, y in zip(b[colour], g, strict=True))
        return D, result

    def order_of_accuracy(self) -> int:
        """The largest p with :math:`\\Phi(\\tau) = 1/\\gamma(\\tau)` for every tree with at most p nodes.

        Each colour alone is a Runge--Kutta method (the one-coloured trees), so p is at most 2s.
        """
        ring = self.ring
        for p in range(1, 2 * self.stages + 2):
            for t in bicoloured.trees_of_order_ids(p):
                diff = ring.back(self.weight(t) - ring.fraction(1, bicoloured.tree_data(t)[4]))
                if diff != 0 and sympy.simplify(diff) != 0:
                    return p - 1
        raise AssertionError("unreachable: each tableau alone has order at most 2s")  # pragma: no cover
