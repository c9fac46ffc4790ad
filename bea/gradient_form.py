r"""The modified field of a method on a gradient flow, for a *generic* loss.

With :math:`f = -g`, :math:`g = \nabla E`, every elementary differential is a
contraction of derivative tensors of E: :math:`f^{(k)} = -D^{k+1}E`, so

.. math::
    F(\bullet) = -g, \qquad
    F([\tau_1,\dots,\tau_k]) = -D^{k+1}E[F(\tau_1), \dots, F(\tau_k)]
    \quad\Rightarrow\quad F(\tau) = (-1)^{|\tau|}\, C(\tau),

where :math:`C(\tau)` is the contraction with g at the leaves, written with
:math:`H = D^2E`, :math:`T = D^3E` and :math:`D^kE` beyond. For gradient descent

.. math::
    \dot\theta = -g - \tfrac h2 Hg - h^2\big(\tfrac13 H^2 g + \tfrac1{12} T[g,g]\big) + O(h^3).

>>> from bea import methods
>>> form = loss_derivative_form(methods.explicit_euler, 2)
>>> print(form)
-g - 1/2 h Hg - h² (1/3 H²g + 1/12 T[g, g])
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, final

import sympy

from bea import _table
from bea._text import signed_text, superscript
from bea.errors import BeaTypeError
from bea.methods.rungekutta import RungeKutta
from bea.modified import modified_equation
from bea.series import BSeries
from bea.trees import Tree
from bea.validation import check_truncation, renamed_keyword

__all__ = ["LossDerivativeForm", "contraction", "loss_derivative_form"]


def _chain(t: int) -> tuple[int, int]:
    """(number of H factors in a straight chain from t, the node where the chain stops)."""
    count = 0
    while len(_table.children(t)) == 1:
        count += 1
        t = _table.children(t)[0]
    return count, t


def contraction(tree: Tree, latex: bool = False) -> str:
    """:math:`C(\\tau)`: the derivative-tensor contraction with :math:`F(\\tau) = (-1)^{|\\tau|} C(\\tau)`.

    >>> from bea import Tree, trees
    >>> [contraction(t) for t in trees(4)]
    ['H³g', 'HT[g, g]', 'T[Hg, g]', 'D⁴E[g, g, g]']
    >>> print(contraction(Tree.from_levels([1, 2, 3, 2]), latex=True))
    T\\left[Hg, g\\right]

    Reference: Hairer--Lubich--Wanner, *Geometric Numerical Integration*, 2nd ed., section III.1.
    """
    return _contraction(tree._id, latex)


def _contraction(t: int, latex: bool) -> str:
    powers, rest = _chain(t)
    head = ""
    if powers:
        head = "H" if powers == 1 else (f"H^{{{powers}}}" if latex else "H" + superscript(powers))
    kids = _table.children(rest)
    if not kids:
        return head + "g"
    k = len(kids)
    args = ", ".join(_contraction(c, latex) for c in kids)
    tensor = "T" if k == 2 else f"\\nabla^{{{k + 1}}}E" if latex else f"D{superscript(k + 1)}E"
    body = f"{tensor}\\left[{args}\\right]" if latex else f"{tensor}[{args}]"
    return head + (f"\\,{body}" if latex and head else body)



@final
@dataclass(frozen=True)
class LossDerivativeForm:
    """The modified gradient-flow field grouped by powers of h, as tree contractions.

    ``powers[k]`` lists ``(coefficient, tree)`` for the h^k term: the field is
    :math:`\\sum_k h^k \\sum (\\text{coefficient})\\, C(\\tau)`, with the sign
    :math:`(-1)^{|\\tau|}` already folded into the coefficient.

    >>> from bea import methods
    >>> form = loss_derivative_form(methods.explicit_euler, 1)
    >>> form.powers
    (((-1, Tree.from_levels([1])),), ((-1/2, Tree.from_levels([1, 2])),))
    >>> print(form)
    -g - 1/2 h Hg

    Reference: Barrett & Dherin, *Implicit Gradient Regularization*, ICLR 2021.
    """

    method: RungeKutta | BSeries
    truncation: int
    powers: tuple[tuple[tuple[sympy.Expr, Tree], ...], ...]

    @property
    def order(self) -> int:
        """Deprecated name of :attr:`truncation`."""
        warnings.warn("LossDerivativeForm.order is deprecated, use .truncation", DeprecationWarning, stacklevel=2)
        return self.truncation

    def __str__(self) -> str:
        return self._render(latex=False)

    def _latex(self, printer: Any = None) -> str:
        return self._render(latex=True)

    def _repr_latex_(self) -> str:
        return f"${self._latex()}$"

    def _render(self, latex: bool) -> str:
        # Signs come out of a coefficient only where SymPy can take them out of the whole value
        # (bea._text.signed_text), so symbolic coefficients print correctly and the text parses back.
        out: list[str] = []
        for k, entries in enumerate(self.powers):
            if not entries:
                continue
            h = "" if k == 0 else "h" if k == 1 else (f"h^{{{k}}}" if latex else f"h{superscript(k)}")
            if len(entries) == 1:
                coef, tree = entries[0]
                body = " ".join(x for x in (h, contraction(tree, latex)) if x)
                out.append(signed_text(coef, body, first=not out, latex=latex))
                continue
            negative = bool(entries[0][0].could_extract_minus_sign())
            inner = " ".join(
                signed_text(-c if negative else c, contraction(t, latex), first=i == 0, latex=latex)
                for i, (c, t) in enumerate(entries)
            )
            piece = f"{h} \\left({inner}\\right)" if latex else f"{h} ({inner})"
            out.append((f"-{piece}" if negative else piece) if not out else f"{'-' if negative else '+'} {piece}")
        return " ".join(out) if out else "0"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: per power of h, the trees (levels) with coefficients and contractions."""
        return {
            "truncation": self.truncation,
            "powers": [
                [
                    {"levels": list(t.levels), "coefficient": str(c), "contraction": contraction(t)}
                    for c, t in entries
                ]
                for entries in self.powers
            ],
        }


def loss_derivative_form(
    method: RungeKutta | BSeries, truncation: int | None = None, *, order: int | None = None
) -> LossDerivativeForm:
    """The modified field of ``method`` on :math:`-\\nabla E`, through :math:`h^p` (p = ``truncation``), for any E.

    ``truncation`` is required; ``order=`` is its deprecated name (a ``DeprecationWarning``).
    Raises :class:`~bea.errors.BeaTypeError` for a non-integer and
    :class:`~bea.errors.InvalidTruncationError` for a negative truncation.

    The explicit midpoint rule has order 2, so its h^1 term vanishes:

    >>> from bea import methods
    >>> print(loss_derivative_form(methods.explicit_midpoint, 2))
    -g + h² (1/6 H²g + 1/24 T[g, g])

    Reference: Hairer--Lubich--Wanner, *Geometric Numerical Integration*, 2nd ed., section IX.9.
    """
    given = renamed_keyword(truncation, order, new_name="truncation", old_name="order",
                            where="loss_derivative_form", default=None)
    if given is None:
        raise BeaTypeError("loss_derivative_form() needs the truncation p (keep the terms through h^p)")
    p = check_truncation(given)
    series = modified_equation(method, p + 1)
    powers = []
    for n in range(1, p + 2):
        entries = []
        for t in _table.trees_of_order(n):
            b = series._coeffs[t]
            if b != 0:
                entries.append((b / _table.symmetry(t) * (-1) ** n, Tree._from_id(t)))
        powers.append(tuple(entries))
    return LossDerivativeForm(method=method, truncation=p, powers=tuple(powers))
