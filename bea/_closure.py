"""Transcendental fields in a polynomial ring: each function of the state is one more generator.

A field such as :math:`-\\nabla E` for :math:`E = \\log(1 + e^{-ab}) + (a - b)^2/20` is not a
polynomial in the state ``y = (a, b)``, but it is a polynomial in ``y`` and the generators
:math:`E_1 = e^{-ab}` and :math:`R_1 = (1 + e^{-ab})^{-1}`, and the set of generators is closed
under differentiation: :math:`\\partial_j E_1 = E_1 \\partial_j(-ab)`,
:math:`\\partial_j R_1 = -R_1^2 \\partial_j E_1`. Elementary differentials then stay in SymPy's
sparse polynomial ring over QQ (several times faster than expanding expressions), and the
generators are put back at the end; the values are the same exact functions.

Rules (u any argument, :math:`R(u) = u^{-1}` one more generator where needed):
:math:`e^u \\to e^u u'`, :math:`\\log u \\to R(u)\\,u'`, :math:`\\sin u \\to \\cos u\\,u'`,
:math:`\\cos u \\to -\\sin u\\,u'`, :math:`\\sinh u \\to \\cosh u\\,u'`, :math:`\\cosh u \\to \\sinh u\\,u'`,
:math:`\\tanh u \\to (1 - \\tanh^2 u)\\,u'`, :math:`u^{-1} \\to -R(u)^2 u'`,
:math:`u^q \\to q\\,u^q R(u)\\,u'` (q rational, not an integer). Sigmoid and softplus, as the
parser builds them (``1/(1 + exp(-x))``, ``log(exp(x) + 1)``), are covered by these. A
subexpression free of the state is a constant generator (derivative 0). Anything else (``Abs``,
``Max``, ``erf``, symbolic exponents, floats) is refused: the caller takes the generic route.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, final

import sympy

__all__ = ["DifferentialRing"]

_PAIRED: dict[type, type] = {sympy.sin: sympy.cos, sympy.cos: sympy.sin, sympy.sinh: sympy.cosh, sympy.cosh: sympy.sinh}
_FUNCTIONS = (sympy.exp, sympy.log, sympy.tanh, *_PAIRED)


class _Unsupported(Exception):
    pass


@final
class DifferentialRing:
    """A polynomial ring over QQ in the state ``y`` and generators closed under :math:`\\partial/\\partial y_j`.

    Build it with :meth:`for_exprs` (None when some expression is outside the rules). ``convert``
    maps an expression into the ring, ``diff(p, j)`` is :math:`\\partial p/\\partial y_j` by the chain
    rule over the generators, ``to_expr`` puts the generators back.

    >>> a, b = sympy.symbols("a b")
    >>> loss = sympy.log(1 + sympy.exp(-a * b))
    >>> closure = DifferentialRing.for_exprs([loss], [a, b])
    >>> p = closure.convert(loss)
    >>> sympy.simplify(closure.to_expr(closure.diff(p, 0)) - sympy.diff(loss, a))
    0
    """

    __slots__ = ("_derivatives", "_index", "gens", "ring", "y")

    def __init__(self, y: Sequence[sympy.Symbol], gens: list[sympy.Expr]) -> None:
        self.y = tuple(y)
        self.gens = gens  # generator expressions after y, inner ones first
        self.ring: Any = sympy.polys.rings.ring([*self.y, *gens], sympy.QQ)[0]
        self._index = {g: i for i, g in enumerate([*self.y, *gens])}
        self._derivatives: dict[int, list[Any]] = {}  # generator index -> its derivative along each y_j

    @classmethod
    def for_exprs(cls, exprs: Sequence[sympy.Expr], y: Sequence[sympy.Symbol]) -> DifferentialRing | None:
        """The ring for ``exprs`` in the state ``y``, or None when some part is outside the rules."""
        found: list[sympy.Expr] = []
        seen: set[sympy.Expr] = set()
        state = set(y)
        try:
            for e in exprs:
                _collect(sympy.sympify(e), state, found, seen)
        except _Unsupported:
            return None
        closure = cls(y, found)
        try:
            for e in exprs:
                closure.convert(e)
        except (_Unsupported, sympy.polys.polyerrors.CoercionFailed):
            return None
        return closure

    def _gen(self, expr: sympy.Expr) -> Any:
        return self.ring.gens[self._index[expr]]

    def convert(self, expr: sympy.Expr) -> Any:
        """``expr`` as a ring element (its functions of the state become generators)."""
        ring = self.ring
        if expr in self._index:
            return self._gen(expr)
        if expr.is_Rational:
            return ring(ring.domain.from_sympy(expr))
        if expr.is_Add:
            return ring.add(*(self.convert(arg) for arg in expr.args))
        if expr.is_Mul:
            return ring.mul(*(self.convert(arg) for arg in expr.args))
        if expr.is_Pow and expr.exp.is_Integer:
            n = int(expr.exp)
            if n >= 0:
                return self.convert(expr.base) ** n
            return self._gen(sympy.Pow(expr.base, -1)) ** (-n)
        raise _Unsupported(expr)

    def diff(self, p: Any, j: int) -> Any:
        """:math:`\\partial p / \\partial y_j`, by the chain rule over the generators."""
        result = p.diff(self.ring.gens[j])
        for k in range(len(self.y), len(self.y) + len(self.gens)):
            partial = p.diff(self.ring.gens[k])
            if partial:  # only generators that occur in p: inner ones, so no cycle
                d = self._derivative(k)[j]
                if d:
                    result += partial * d
        return result

    def _derivative(self, k: int) -> list[Any]:
        found = self._derivatives.get(k)
        if found is not None:
            return found
        expr = self.gens[k - len(self.y)]
        g = self.ring.gens[k]
        m = len(self.y)
        zero = self.ring.zero
        if not expr.free_symbols & set(self.y):
            found = [zero] * m
        else:
            arg = expr.base if expr.is_Pow else expr.args[0]
            u = self.convert(arg)
            du = [self.diff(u, j) for j in range(m)]
            factor = self._rule(expr, g)
            found = [factor * d if d else zero for d in du]
        self._derivatives[k] = found
        return found

    def _rule(self, expr: sympy.Expr, g: Any) -> Any:
        """The outer derivative: d expr / d (its argument), in the ring."""
        if isinstance(expr, sympy.exp):
            return g
        if isinstance(expr, sympy.log):
            return self._gen(sympy.Pow(expr.args[0], -1))
        if isinstance(expr, sympy.tanh):
            return 1 - g**2
        if type(expr) in _PAIRED:
            other = self._gen(_PAIRED[type(expr)](expr.args[0]))
            return -other if isinstance(expr, sympy.cos) else other
        if expr.is_Pow and expr.exp == -1:
            return -(g**2)
        if expr.is_Pow:  # u**q, q a non-integer rational
            return self.ring.domain.from_sympy(expr.exp) * g * self._gen(sympy.Pow(expr.base, -1))
        raise _Unsupported(expr)  # pragma: no cover - _collect admits only the kinds above

    def to_expr(self, p: Any) -> sympy.Expr:
        """The ring element as a SymPy expression, generators put back."""
        result: sympy.Expr = p.as_expr()
        return result


def _collect(expr: sympy.Expr, state: set[sympy.Symbol], found: list[sympy.Expr], seen: set[sympy.Expr]) -> None:
    """Register the generators ``expr`` needs (inner ones first), with those their rules need."""

    def add(g: sympy.Expr, needs: Callable[[], None] | None = None) -> None:
        if g in seen:
            return
        seen.add(g)
        if needs is not None:
            needs()
        found.append(g)

    if expr.is_Symbol and expr in state:
        return
    if expr.is_Rational:
        return
    if not expr.free_symbols & state:
        if expr.has(sympy.Float):
            raise _Unsupported(expr)
        add(expr)  # a constant: pi, sqrt(2), exp(1/3), a data symbol, a function of data
        return
    if expr.is_Add or expr.is_Mul:
        for arg in expr.args:
            _collect(arg, state, found, seen)
        return
    if expr.is_Pow:
        base, exp = expr.base, expr.exp
        if not exp.is_Rational:
            raise _Unsupported(expr)
        _collect(base, state, found, seen)
        if exp.is_Integer and exp >= 0:
            return
        if exp == -1:
            add(expr)
            return
        _collect(sympy.Pow(base, -1), state, found, seen)  # SymPy may rewrite it, e.g. exp(x)**-1 = exp(-x)
        if not exp.is_Integer:
            add(expr)
        return
    if isinstance(expr, _FUNCTIONS) and len(expr.args) == 1:
        arg = expr.args[0]
        _collect(arg, state, found, seen)
        if isinstance(expr, sympy.log):
            _collect(sympy.Pow(arg, -1), state, found, seen)
        if type(expr) in _PAIRED:
            partner = _PAIRED[type(expr)](arg)
            add(expr)
            add(partner)
            return
        add(expr)
        return
    raise _Unsupported(expr)
