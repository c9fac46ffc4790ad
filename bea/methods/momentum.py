r"""Heavy-ball and Nesterov momentum as methods bea can analyse: modified flows on the slow manifold.

Both in the form of ``torch.optim.SGD(lr=h, momentum=β, dampening=0[, nesterov=True])`` with buffer
:math:`b_{n+1} = \beta b_n + \nabla E(\theta_n)`:

.. math::
    \text{heavy-ball:}\ \theta_{n+1} = \theta_n - h\,b_{n+1}
    \quad(\Leftrightarrow\ \theta_{n+1} = \theta_n - h\nabla E(\theta_n) + \beta(\theta_n - \theta_{n-1})),\qquad
    \text{Nesterov:}\ \theta_{n+1} = \theta_n - h\,(\nabla E(\theta_n) + \beta b_{n+1}).

On the slow manifold (:mod:`bea.methods.slow_manifold`) the buffer is
:math:`b_{n+1} = \sum_{k\ge0}\beta^k \nabla E(\theta_{n-k})`, a series in h along the modified flow.
To first order (g = ∇E, H = ∇²E; derived in ``docs/optimisers.md``):

.. math::
    \text{heavy-ball:}\ \dot\theta = -\frac{1}{1-\beta}\nabla\Big[E + \frac{h(1+\beta)}{4(1-\beta)^2}\|\nabla E\|^2\Big]
    + O(h^2),\qquad
    \text{Nesterov:}\ \dot\theta = -\frac{1}{1-\beta}\nabla\Big[E + \frac{h(1-\beta+2\beta^2)}{4(1-\beta)^2}
    \|\nabla E\|^2\Big] + O(h^2)

(heavy-ball: Kovachki & Stuart, JMLR 22, 2021, Thm 4; Ghosh et al., ICLR 2023, Thm 3.1); β = 0 gives
gradient descent's implicit regulariser :math:`\tfrac h4\|\nabla E\|^2` (Barrett & Dherin, ICLR 2021).

>>> import sympy
>>> x = sympy.Symbol("x")
>>> HeavyBall("1/2").modified_flow(x**2 / 2, [x], truncation=1).terms  # -(2x) - h*(3/2)/(1/8) x /2 ...
(Matrix([[-2*x]]), Matrix([[-6*x]]))
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, final

import sympy

from bea.methods.hyper import exact_decay
from bea.methods.slow_manifold import Column, Expansion, MemoryMethodMembers, Series

if TYPE_CHECKING:
    pass

__all__ = ["HeavyBall", "Nesterov"]


@dataclass(frozen=True)
class _Momentum(MemoryMethodMembers):
    beta: sympy.Rational
    name: ClassVar[str]

    def __post_init__(self) -> None:
        object.__setattr__(self, "beta", exact_decay("beta", self.beta))

    @property
    def hyperparameters(self) -> Mapping[str, sympy.Rational]:
        """``{"beta": β}``."""
        return {"beta": self.beta}


    def _increment(self, e: Expansion, gradient: Column) -> Series:
        raise NotImplementedError  # pragma: no cover - each concrete class defines it

    @property
    def manifold_radius(self) -> sympy.Expr:
        r"""The largest :math:`h\lambda_f` for which a quadratic loss has a real slow manifold (exact).

        :math:`\lambda_f` is the spectral radius of the Jacobian of the leading field
        :math:`f_0 = -\nabla E/(1-\beta)`, i.e. :math:`\lambda_f = \lambda/(1-\beta)` for a Hessian eigenvalue λ.
        On :math:`E = \lambda\theta^2/2` the iterates solve a linear recursion whose characteristic roots are the
        slow (flow) root and the parasitic one; they meet, and the slow manifold ceases to exist, where the
        discriminant vanishes (``docs/optimisers.md``, *Step sizes*):

        * heavy-ball, :math:`z^2 - (1+\beta-h\lambda)z + \beta`: at :math:`h\lambda = (1-\sqrt\beta)^2`, i.e.
          :math:`h\lambda_f = (1-\sqrt\beta)/(1+\sqrt\beta)`;
        * Nesterov, :math:`z^2 - (1+\beta)(1-h\lambda)z + \beta(1-h\lambda)`: at
          :math:`h\lambda = ((1-\beta)/(1+\beta))^2`, i.e. :math:`h\lambda_f = (1-\beta)/(1+\beta)^2`.

        The series in h of :mod:`bea.methods.slow_manifold` is asymptotic in :math:`h\lambda_f` divided by this.
        """
        raise NotImplementedError  # pragma: no cover - each concrete class defines it

    def expansion(self, params: Sequence[sympy.Symbol], gradient: Column) -> Expansion:
        """The lazy slow-manifold expansion (coefficients of the flow and of the buffer)."""
        return Expansion(params, gradient, lambda e: self._increment(e, gradient))

    def start_state(self, expansion: Expansion) -> Mapping[str, Series]:
        """torch's ``momentum_buffer`` before the step at θ_n on the slow manifold, as a series at θ_n:
        :math:`b_n = \\sum_{k\\ge0}\\beta^k\\nabla E(\\theta_{n-1-k})`."""
        return {"momentum_buffer": expansion.average(expansion.gradient, self.beta, shift=1)}


@final
@dataclass(frozen=True)
class HeavyBall(_Momentum):
    """Heavy-ball momentum (Polyak 1964) as torch's SGD with ``momentum=beta``, ``dampening=0``.

    ``beta``: an exact rational in [0, 1) (int, Fraction, sympy.Rational or a string such as ``"9/10"``);
    otherwise :class:`bea.errors.HyperparameterValueError` (a float: :class:`bea.errors.BeaTypeError`).
    """

    name: ClassVar[str] = "heavy_ball"

    def _increment(self, e: Expansion, gradient: Column) -> Series:
        return e.combine((-1, e.average(gradient, self.beta)))

    @property
    def manifold_radius(self) -> sympy.Expr:
        """:math:`(1-\\sqrt\\beta)/(1+\\sqrt\\beta)` (see the base class)."""
        root = sympy.sqrt(self.beta)
        return (1 - root) / (1 + root)


@final
@dataclass(frozen=True)
class Nesterov(_Momentum):
    """Nesterov momentum in torch's form (``SGD(momentum=beta, nesterov=True, dampening=0)``).

    ``beta`` as for :class:`HeavyBall`. Reference: Sutskever, Martens, Dahl & Hinton, ICML 2013, eq. (3)-(4),
    rewritten for the gradient at the current iterate as in PyTorch.
    """

    name: ClassVar[str] = "nesterov"

    def _increment(self, e: Expansion, gradient: Column) -> Series:
        return e.combine((-1, e.constant(gradient)), (-self.beta, e.average(gradient, self.beta)))

    @property
    def manifold_radius(self) -> sympy.Expr:
        """:math:`(1-\\beta)/(1+\\beta)^2` (see the base class)."""
        return (1 - self.beta) / (1 + self.beta) ** 2
