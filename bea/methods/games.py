r"""Gradient descent on two-player (or n-player) games: simultaneous and alternating updates.

Player i owns the parameter block :math:`\theta_i` and descends its own loss :math:`L_i` with learning
rate :math:`r_i h` (Rosca et al. write :math:`\alpha h` for φ and :math:`\lambda h` for θ). One step
(one round) is

* **simultaneous**: every player steps from the same point,
  :math:`\theta_i \leftarrow \theta_i - r_i h \nabla_{\theta_i} L_i(\theta)`;
* **alternating**: the players step one after the other in the order of the problem, each seeing the
  updates made before it in the round.

A round counts as one step of size h. Both are one-step maps, so their modified flows come from
Lie-series matching (:mod:`bea.methods.maps`), through any power of h. At first order, for
:math:`(\varphi, \theta)` with losses :math:`L_\varphi, L_\theta` (Rosca, Wu, Dherin & Barrett,
*Discretization Drift in Two-Player Games*, ICML 2021, Theorems 3.1 and 3.2, one update per player):

.. math::
    \begin{aligned}
    \dot\varphi &= -\alpha\nabla_\varphi L_\varphi
        - \tfrac{\alpha h}{2}\big(\alpha\,\nabla^2_{\varphi\varphi} L_\varphi \nabla_\varphi L_\varphi
        + \lambda\,\nabla^2_{\varphi\theta} L_\varphi \nabla_\theta L_\theta\big), \\
    \dot\theta &= -\lambda\nabla_\theta L_\theta
        - \tfrac{\lambda h}{2}\big(\lambda\,\nabla^2_{\theta\theta} L_\theta \nabla_\theta L_\theta
        \pm \alpha\,\nabla^2_{\theta\varphi} L_\theta \nabla_\varphi L_\varphi\big),
    \end{aligned}

with + for simultaneous and − for alternating updates (φ first): the self terms are the implicit
gradient regularisers :math:`\frac{\alpha h}{4}\|\nabla_\varphi L_\varphi\|^2`,
:math:`\frac{\lambda h}{4}\|\nabla_\theta L_\theta\|^2`; the interaction term of the second player
changes sign when it sees the first player's update.

>>> import sympy
>>> x, y, h = sympy.symbols("x y h")
>>> game = Problem.game([([x], x * y), ([y], -x * y)])  # the bilinear game
>>> [t.T for t in GameGD((1, 1)).modified_terms(game, 1, h)]  # simultaneous: spirals out
[Matrix([[-y, x]]), Matrix([[x/2, y/2]])]
>>> [t.T for t in GameGD((1, 1), alternating=True).modified_terms(game, 1, h)]  # alternating: no outward drift at h¹
[Matrix([[-y, x]]), Matrix([[x/2, -y/2]])]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import final

import sympy

from bea._text import count
from bea.errors import BeaTypeError, BeaValueError, NotABSeriesMethodError
from bea.methods.base import Problem, check_truncation
from bea.methods.hyper import hyperparameter
from bea.methods.maps import Composition, OneStepMap
from bea.series import BSeries

__all__ = ["GameGD"]

_H = sympy.Dummy("h")


def _rate(value: object, i: int) -> sympy.Expr:
    return hyperparameter(f"the learning rate of player {i}", value, kind="positive", symbolic=True)


@final
@dataclass(frozen=True)
class GameGD:
    """Gradient descent on :meth:`bea.methods.Problem.game`: player i steps with rate
    ``rates[i] * h``, all from the same point (``alternating=False``) or one after the other in the
    problem's player order (``alternating=True``). One round is one step of size h.

    ``rates``: exact, by bea's one hyperparameter rule (:func:`bea.methods.hyper.hyperparameter`): int,
    Fraction, ``sympy.Rational``, a string such as ``"1/2"`` or ``"alpha"`` (bea's safe parser), or a SymPy
    symbol or expression. Raises :class:`~bea.errors.BeaValueError` for a problem that is not a game or a rate
    count that differs from the number of players; :class:`~bea.errors.HyperparameterValueError` for a rate
    that is not positive; :class:`~bea.errors.BeaTypeError` for a float rate.
    """

    rates: tuple[sympy.Expr, ...]
    alternating: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.rates, (str, bytes)) or not isinstance(self.rates, (tuple, list)) or len(self.rates) < 2:
            raise BeaValueError(f"rates must give one learning rate per player (at least two), got {self.rates!r}")
        object.__setattr__(self, "rates", tuple(_rate(r, i) for i, r in enumerate(self.rates)))
        if not isinstance(self.alternating, bool):
            raise BeaTypeError(f"alternating must be True or False, got {self.alternating!r}")

    @property
    def name(self) -> str:
        """``alternating_gd`` or ``simultaneous_gd``."""
        return "alternating_gd" if self.alternating else "simultaneous_gd"

    def _updates(self, problem: Problem) -> list[dict[sympy.Symbol, sympy.Expr]]:
        if not problem.blocks:
            raise BeaValueError(f"{self.name} needs a game (Problem.game), got a problem without players")
        if len(problem.blocks) != len(self.rates):
            raise BeaValueError(f"{self.name} has {count(len(self.rates), 'rate')} "
                                f"for {count(len(problem.blocks), 'player')}")
        updates = []
        for block, loss, rate in zip(problem.blocks, problem.losses, self.rates, strict=True):
            own = [problem.params[i] for i in block]
            updates.append({p: p - rate * _H * sympy.diff(loss, p) for p in own})
        return updates

    def modified_terms(
        self, problem: Problem, truncation: int, h: sympy.Symbol
    ) -> tuple[sympy.ImmutableMatrix, ...]:
        """The modified field of one round through :math:`h^{\\text{truncation}}` (Lie-series matching)."""
        p = check_truncation(truncation)
        updates = self._updates(problem)
        params = problem.params
        if self.alternating:
            maps = tuple(
                OneStepMap(tuple(u.get(q, q) for q in params), params, h=_H, name=f"player_{i}")
                for i, u in enumerate(updates)
            )
            return Composition(maps, name=self.name, steps=1).modified_terms(problem, p, h)
        merged = {k: v for u in updates for k, v in u.items()}
        step = OneStepMap(tuple(merged[q] for q in params), params, h=_H, name=self.name)
        return step.modified_terms(problem, p, h)

    def bseries(self, order: int) -> BSeries:
        """No B-series: :class:`~bea.errors.NotABSeriesMethodError`."""
        raise NotABSeriesMethodError(f"{self.name} has no B-series; use modified_flow for its modified flow")
