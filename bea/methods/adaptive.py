r"""RMSProp and Adam as methods bea can analyse: modified flows on the slow manifold, to any power of h.

In the form of ``torch.optim.RMSprop(lr=h, alpha=β₂, eps=ε)`` and ``torch.optim.Adam(lr=h, betas=(β₁, β₂),
eps=ε)`` *without* bias correction (the stationary recursion; the correction factors tend to 1 like
:math:`\beta^n`), elementwise, with g = ∇E:

.. math::
    m_{n+1} = \beta_1 m_n + (1-\beta_1) g(\theta_n),\quad v_{n+1} = \beta_2 v_n + (1-\beta_2) g(\theta_n)^2,\quad
    \theta_{n+1} = \theta_n - h\,\frac{m_{n+1}}{\sqrt{v_{n+1}} + \varepsilon}\ \text{(torch)}\ \text{or}\
    \theta_n - h\,\frac{m_{n+1}}{\sqrt{v_{n+1} + \varepsilon}}\ \text{(}\texttt{eps\_inside}\text{)};

RMSProp is the case :math:`m_{n+1} = g(\theta_n)`. On the slow manifold (:mod:`bea.methods.slow_manifold`)
both moments are series in h along the modified flow and the preconditioner is expanded by Taylor's formula
around :math:`v = g^2`.

**ε inside** (the smooth variant of Cattaneo, Klusowski & Shigida, ICML 2024): with
:math:`s = (g^2 + \varepsilon)^{-1/2}` and the perturbed one-norm
:math:`N_\varepsilon = \sum_j\sqrt{(\partial_j E)^2 + \varepsilon}`,

.. math::
    \dot\theta = -s\odot\nabla E
    - h\Big[\Big(\frac{\beta_1}{1-\beta_1} - \frac{\beta_2}{1-\beta_2}\Big)s
    + \Big(\frac{\beta_2}{1-\beta_2} + \frac12\Big)\varepsilon s^3\Big]\odot\nabla N_\varepsilon + O(h^2)

(RMSProp: β₁ = 0). While ε ≪ g², the first bracket dominates: the flow is the preconditioned gradient flow
of :math:`E + h(\tfrac{\beta_1}{1-\beta_1} - \tfrac{\beta_2}{1-\beta_2})N_\varepsilon`, which *penalises* the
one-norm of the gradient when β₁ > β₂ and *anti-penalises* it when β₂ > β₁ (Adam's defaults, and RMSProp).

**ε outside** (torch): the same expansion holds where every :math:`\partial_j E \ne 0`; the terms contain
:math:`|\partial_j E|` (printed ``Abs``) and negative powers of it, so they are not smooth where a gradient
component vanishes, and the series is useful only while :math:`\varepsilon + |\partial_j E|` is not small
compared with the step's change of the gradient.

>>> import sympy
>>> x = sympy.Symbol("x")
>>> flow = RMSProp(beta2="1/2", eps="1", eps_inside=True).modified_flow(x**2 / 2, [x], truncation=0)
>>> flow.terms[0]
Matrix([[-x/sqrt(x**2 + 1)]])
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, final

import sympy

from bea.errors import BeaTypeError, NonSmoothPointError
from bea.methods.hyper import exact_decay, exact_positive
from bea.methods.slow_manifold import Column, Expansion, MemoryMethodMembers, Series

if TYPE_CHECKING:
    pass

__all__ = ["Adam", "RMSProp", "preconditioner"]

Derivatives = Callable[[int], Column]

# torch's defaults, exactly
_RMSPROP_BETA2 = sympy.Rational(99, 100)
_ADAM_BETA1 = sympy.Rational(9, 10)
_ADAM_BETA2 = sympy.Rational(999, 1000)
_EPS = sympy.Rational(1, 10**8)


def preconditioner(
    gradient: Column, params: Sequence[sympy.Symbol], eps: sympy.Rational, eps_inside: bool
) -> tuple[dict[sympy.Symbol, tuple[sympy.Expr, Column]], Derivatives]:
    r"""Auxiliary symbols and the derivatives :math:`\varphi^{(q)}(g^2)` of the elementwise preconditioner.

    :math:`\varphi(w) = (w+\varepsilon)^{-1/2}` (``eps_inside``) or :math:`1/(\sqrt w + \varepsilon)` (torch),
    evaluated at :math:`w = g_j^2`. Inside: one symbol :math:`\rho_j = (g_j^2+\varepsilon)^{-1/2}` per component,
    :math:`\varphi^{(q)} = (-\tfrac12)(-\tfrac32)\cdots(\tfrac12 - q)\,\rho_j^{2q+1}`,
    :math:`\nabla\rho_j = -\rho_j^3 g_j \nabla g_j`. Outside: :math:`\alpha_j = |g_j|`, :math:`\iota_j = 1/|g_j|`,
    :math:`\sigma_j = 1/(|g_j| + \varepsilon)`, with :math:`d/dw = (\iota/2)\,d/d\alpha`. Every coefficient then
    stays polynomial in θ and these symbols for a polynomial loss.
    """
    aux: dict[sympy.Symbol, tuple[sympy.Expr, Column]] = {}
    columns: list[list[sympy.Expr]] = []  # per component: phi^{(q)} for q = 0, 1, ...
    steps: list[Callable[[sympy.Expr], sympy.Expr]] = []
    for j, g in enumerate(gradient):
        grad_g = sympy.ImmutableMatrix([sympy.diff(g, p) for p in params])
        if eps_inside:
            rho = sympy.Dummy(f"rho{j}")
            aux[rho] = ((g**2 + eps) ** sympy.Rational(-1, 2), sympy.ImmutableMatrix(-(rho**3) * g * grad_g))
            columns.append([rho])

            def inside(e: sympy.Expr, r: sympy.Symbol = rho) -> sympy.Expr:
                return sympy.expand(-(r**3) / 2 * sympy.diff(e, r))

            steps.append(inside)
        else:
            alpha, iota, sigma = sympy.Dummy(f"alpha{j}"), sympy.Dummy(f"iota{j}"), sympy.Dummy(f"sigma{j}")
            absg = sympy.Abs(g)
            aux[alpha] = (absg, sympy.ImmutableMatrix(g * iota * grad_g))
            aux[iota] = (1 / absg, sympy.ImmutableMatrix(-(iota**3) * g * grad_g))
            aux[sigma] = (1 / (absg + eps), sympy.ImmutableMatrix(-(sigma**2) * g * iota * grad_g))
            columns.append([sigma])

            def step(e: sympy.Expr, a: sympy.Symbol = alpha, i: sympy.Symbol = iota, s: sympy.Symbol = sigma
                     ) -> sympy.Expr:
                d_alpha = sympy.diff(e, a) - i**2 * sympy.diff(e, i) - s**2 * sympy.diff(e, s)
                return sympy.expand(i / 2 * d_alpha)

            steps.append(step)

    def derivatives(q: int) -> Column:
        for j, col in enumerate(columns):
            while len(col) <= q:
                col.append(steps[j](col[-1]))
        return sympy.ImmutableMatrix([col[q] for col in columns])

    return aux, derivatives


class _Adaptive(MemoryMethodMembers):
    """What RMSProp and Adam share (a mixin without dataclass fields: each subclass declares its own)."""

    beta2: sympy.Rational
    eps: sympy.Rational
    eps_inside: bool
    name: ClassVar[str]

    def _validate(self) -> None:
        object.__setattr__(self, "beta2", exact_decay("beta2", self.beta2))
        object.__setattr__(self, "eps", exact_positive("eps", self.eps))
        if not isinstance(self.eps_inside, bool):
            raise BeaTypeError(f"eps_inside must be a bool, got {self.eps_inside!r}")

    def _first_moment(self, e: Expansion, gradient: Column) -> Series:
        raise NotImplementedError  # pragma: no cover - each concrete class defines it

    @property
    def manifold_radius(self) -> sympy.Expr:
        r"""The largest :math:`h\lambda_f` for a real slow manifold, as heavy-ball's with β = the slowest decay.

        :math:`\lambda_f`: the spectral radius of the Jacobian of :math:`f_0 = -s\odot\nabla E`. With the
        preconditioner frozen, the first moment :math:`m_{n+1} = \beta_1m_n + (1-\beta_1)g_n` and
        :math:`\theta_{n+1} = \theta_n - hPm_{n+1}` on a quadratic are heavy-ball with :math:`h\lambda \to
        h(1-\beta_1)\lambda_{PH}` and :math:`\lambda_f = \lambda_{PH}`, so the roots meet at
        :math:`h\lambda_f = (1-\sqrt{\beta_1})/(1+\sqrt{\beta_1})` (:attr:`bea.methods.HeavyBall.manifold_radius`).
        The second moment's parasitic mode decays like :math:`\beta_2^n`; the same bound is applied with
        :math:`\beta = \max(\beta_1, \beta_2)` (RMSProp: β₂), a heuristic for v, which enters nonlinearly.
        The Taylor expansion of the preconditioner adds its own condition
        (:func:`numeric.memory_drift.manifold_diagnostic`).
        """
        root = sympy.sqrt(max(self.beta2, getattr(self, "beta1", sympy.Integer(0))))
        return (1 - root) / (1 + root)

    def check_smooth_at(self, vanishing: Sequence[str], truncation: int, point: str = "theta0") -> None:
        r"""Refuse, for ε outside the root and truncation ≥ 1, a point where a gradient component vanishes.

        ``vanishing``: the names of the components with :math:`\partial_jE = 0` at ``point``. There
        :math:`\sqrt{v_j} = |\partial_jE|` is not differentiable (:math:`\varphi'(w) = -1/(2\sqrt w(\sqrt w +
        \varepsilon)^2)` is infinite at w = 0): the h¹ term of the symbolic flow is 0·∞ (it divides by
        :math:`|\partial_jE|`), the h² term is infinite, and nearby the field varies on the scale ε. The h⁰ field
        :math:`-g/(|g| + \varepsilon)` is Lipschitz, so truncation 0 is allowed; so is ``eps_inside`` everywhere.
        Raises :class:`~bea.errors.NonSmoothPointError` naming the components.
        """
        if self.eps_inside or truncation < 1 or not vanishing:
            return
        names = ", ".join(f"dE/d{name}" for name in vanishing)
        raise NonSmoothPointError(
            f"{self.name} with eps outside the square root (torch's form): its modified flow through h^{truncation} "
            f"is not defined at {point}, where {names} = 0 (|g| = sqrt(v) is not differentiable at 0; the h^1 term "
            f"divides by |{names.split(', ')[0]}|); start where no gradient component vanishes, use eps_inside "
            "(--eps-inside), or truncation 0")

    def expansion(self, params: Sequence[sympy.Symbol], gradient: Column) -> Expansion:
        """The lazy slow-manifold expansion (coefficients of the flow and of the moments)."""
        aux, derivatives = preconditioner(gradient, params, self.eps, self.eps_inside)

        def increment(e: Expansion) -> Series:
            v = e.average(gradient.multiply_elementwise(gradient), self.beta2, weight=1 - self.beta2)
            return e.combine((-1, e.product(self._first_moment(e, gradient), e.elementwise(derivatives, v))))

        return Expansion(params, gradient, increment, aux=aux)



@final
@dataclass(frozen=True)
class RMSProp(_Adaptive):
    """RMSProp as ``torch.optim.RMSprop(alpha=beta2, eps=eps)`` (no momentum, not centred).

    ``beta2`` (torch's ``alpha``) in [0, 1), ``eps`` > 0, exact rationals (strings such as ``"99/100"``
    or ``"1e-8"`` are read exactly); :class:`bea.errors.HyperparameterValueError` otherwise (a float:
    :class:`bea.errors.BeaTypeError`). ``eps_inside`` as for :class:`Adam`. Defaults: torch's (99/100, 1e-8).
    Reference: Tieleman & Hinton, Lecture 6.5, COURSERA: Neural Networks for Machine Learning, 2012.
    """

    beta2: sympy.Rational = _RMSPROP_BETA2
    eps: sympy.Rational = _EPS
    eps_inside: bool = False
    name: ClassVar[str] = "rmsprop"

    def __post_init__(self) -> None:
        self._validate()

    @property
    def hyperparameters(self) -> Mapping[str, sympy.Rational]:
        """``{"beta2": β₂, "eps": ε}``."""
        return {"beta2": self.beta2, "eps": self.eps}

    def _first_moment(self, e: Expansion, gradient: Column) -> Series:
        return e.constant(gradient)

    def start_state(self, expansion: Expansion) -> Mapping[str, Series]:
        """torch's ``square_avg`` before the step at θ_n on the slow manifold, as a series at θ_n."""
        g2 = expansion.gradient.multiply_elementwise(expansion.gradient)
        return {"square_avg": expansion.average(g2, self.beta2, shift=1, weight=1 - self.beta2)}


@final
@dataclass(frozen=True)
class Adam(_Adaptive):
    """Adam as ``torch.optim.Adam(betas=(beta1, beta2), eps=eps)`` without bias correction.

    Decays in [0, 1), ``eps`` > 0, exact rationals; :class:`bea.errors.HyperparameterValueError` otherwise
    (a float: :class:`bea.errors.BeaTypeError`). ``eps_inside=True``: the smooth variant
    :math:`m/\\sqrt{v + \\varepsilon}` analysed by Cattaneo, Klusowski & Shigida (ICML 2024); ``False``: torch's
    :math:`m/(\\sqrt v + \\varepsilon)` (module documentation). Defaults: torch's (9/10, 999/1000, 1e-8).
    Reference: Kingma & Ba, ICLR 2015, Algorithm 1.
    """

    beta1: sympy.Rational = _ADAM_BETA1
    beta2: sympy.Rational = _ADAM_BETA2
    eps: sympy.Rational = _EPS
    eps_inside: bool = False
    name: ClassVar[str] = "adam"

    def __post_init__(self) -> None:
        object.__setattr__(self, "beta1", exact_decay("beta1", self.beta1))
        self._validate()

    @property
    def hyperparameters(self) -> Mapping[str, sympy.Rational]:
        """``{"beta1": β₁, "beta2": β₂, "eps": ε}``."""
        return {"beta1": self.beta1, "beta2": self.beta2, "eps": self.eps}

    def _first_moment(self, e: Expansion, gradient: Column) -> Series:
        return e.average(gradient, self.beta1, weight=1 - self.beta1)

    def start_state(self, expansion: Expansion) -> Mapping[str, Series]:
        """torch's ``exp_avg`` and ``exp_avg_sq`` before the step at θ_n on the slow manifold, as series at θ_n."""
        g = expansion.gradient
        return {
            "exp_avg": expansion.average(g, self.beta1, shift=1, weight=1 - self.beta1),
            "exp_avg_sq": expansion.average(g.multiply_elementwise(g), self.beta2, shift=1, weight=1 - self.beta2),
        }


