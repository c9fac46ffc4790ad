r"""First-order modified fields of optimisers on any torch loss or ``nn.Module``, by automatic differentiation.

:class:`numeric.autodiff.ModifiedField` covers methods with a B-series (gradient descent, Runge--Kutta).
The optimisers deep learning trains with have memory (heavy-ball, Nesterov, RMSProp, Adam) or visit
several losses (minibatch SGD), so they have no B-series; ``bea`` derives their modified flows
symbolically (:mod:`bea.methods.momentum`, :mod:`bea.methods.adaptive`, :mod:`bea.methods.maps`), which
needs a SymPy loss. This module evaluates the same flows **through h¹** on a loss that has no SymPy form
(a network), with one gradient and one Hessian--vector product (never a Hessian).

Notation: g = ∇E, H = ∇²E, elementwise products ⊙, all hyperparameters as in ``bea``.

**Where the formulas come from.** For a method with memory, ``bea`` matches the update
:math:`\theta_{n+1}-\theta_n = hU_h(\theta_n)` on the slow manifold (:mod:`bea.methods.slow_manifold`;
Hairer--Lubich--Wanner, *Geometric Numerical Integration*, 2nd ed., ch. XV.2; Kovachki & Stuart, JMLR 22,
2021). Its recursion at j = 0, 1 reads

.. math::
    f_0 = U_0,\qquad f_1 = U_1 - \tfrac12 f_0' f_0 ,

and a moving average along the flow is, to first order,
:math:`\sum_{k\ge0}\beta^k G(\theta_{n-k-s}) = W^{(s)}_0 G - h\,W^{(s)}_1\,G' f_0 + O(h^2)` with
:math:`W^{(0)}_0 = W^{(1)}_0 = \tfrac1{1-\beta}`, :math:`W^{(0)}_1 = \tfrac{\beta}{(1-\beta)^2}`,
:math:`W^{(1)}_1 = \tfrac1{(1-\beta)^2}` (:func:`bea.methods.slow_manifold.power_sum`). Inserting the
increments of :mod:`bea.methods.momentum` and :mod:`bea.methods.adaptive`:

* **Heavy-ball** (``torch.optim.SGD(momentum=β, dampening=0)``), :math:`U_h = -\sum_k\beta^k g(\theta_{n-k})`:
  :math:`U_0 = -\tfrac{g}{1-\beta}`, :math:`U_1 = \tfrac{\beta}{(1-\beta)^2}Hf_0 = -\tfrac{\beta}{(1-\beta)^3}Hg`,
  :math:`f_0'f_0 = \tfrac{Hg}{(1-\beta)^2}`, so

  .. math:: \dot\theta = -\frac{g}{1-\beta} - h\,\frac{1+\beta}{2(1-\beta)^3}\,Hg
     = -\frac{1}{1-\beta}\nabla\Big[E + \frac{h(1+\beta)}{4(1-\beta)^2}\|\nabla E\|^2\Big],

  the published form (Kovachki & Stuart 2021, Thm 4; Ghosh et al., ICLR 2023, Thm 3.1).
* **Nesterov** (``nesterov=True``), :math:`U_h = -g - \beta\sum_k\beta^k g(\theta_{n-k})`:
  :math:`U_1 = -\tfrac{\beta^2}{(1-\beta)^3}Hg`, so :math:`f_1 = -\tfrac{1-\beta+2\beta^2}{2(1-\beta)^3}Hg`.
* **Adam** (``betas=(β₁, β₂)``, stationary recursion, no bias correction) and **RMSProp** (β₁ = 0), with
  :math:`m = (1-\beta_1)\sum_k\beta_1^k g`, :math:`v = (1-\beta_2)\sum_k\beta_2^k g^2` and
  :math:`U_h = -m\odot\varphi(v)`, :math:`\varphi(w) = (w+\varepsilon)^{-1/2}` (ε inside, the smooth variant of
  Cattaneo, Klusowski & Shigida, ICML 2024) or :math:`1/(\sqrt w+\varepsilon)` (torch's ε outside). Write
  :math:`s = \varphi(g^2)` and :math:`u = Hf_0 = -H(s\odot g)`. Then :math:`m_1 = -\tfrac{\beta_1}{1-\beta_1}u`,
  :math:`v_1 = -\tfrac{2\beta_2}{1-\beta_2}g\odot u`, :math:`U_1 = -(m_1\odot s + g\odot\varphi'(g^2)\odot v_1)`, and
  :math:`f_0' = -\varepsilon\,\mathrm{diag}(s')H` with :math:`s' = s^3` (inside) or :math:`s^2` (outside; there
  :math:`s = 1/(|g|+\varepsilon)`). Using :math:`s^3g^2 = s - \varepsilon s^3`, resp.
  :math:`|g|s^2 = s - \varepsilon s^2`:

  .. math:: \dot\theta = -s\odot g - h\Big[\Big(\frac{\beta_1}{1-\beta_1}-\frac{\beta_2}{1-\beta_2}\Big)s
     + \Big(\frac{\beta_2}{1-\beta_2}+\frac12\Big)\varepsilon s'\Big]\odot\nabla N_\varepsilon,\qquad
     \nabla N_\varepsilon = H(s\odot g),

  for ε inside :math:`N_\varepsilon = \sum_j\sqrt{(\partial_jE)^2+\varepsilon}`, the perturbed one-norm of
  Cattaneo et al. (the formula of :mod:`bea.methods.adaptive`). With ε outside the field is not smooth where a
  gradient component vanishes (as bea's symbolic one).
* **Minibatch SGD** (:class:`bea.methods.SGD`), m losses :math:`E_k`, :math:`E = \tfrac1m\sum_kE_k`, one step
  :math:`\theta\leftarrow\theta-h\nabla E_k` each, field per unit time (an epoch lasts mh). The epoch map is
  :math:`\theta - h\sum_kg_k + h^2\sum_{j<k}H_kg_j + O(h^3)` (:math:`g_k = \nabla E_k` at the epoch's start);
  Lie-series matching with m steps (:func:`bea.methods.maps.lie_matching`) gives :math:`f_0 = -\nabla E` and

  .. math:: f_1 = \frac1{2m}\sum_k H_k\,w_k,\qquad
     w_k = 2\sum_{j<k}g_j - \sum_j g_j\ \ (\text{fixed order}),\qquad w_k = -g_k\ \ (\text{random reshuffling}),

  the mean over the m! orders cancelling the order-dependent part: then :math:`f_1 =
  -\tfrac{1}{4m}\nabla\sum_k\|\nabla E_k\|^2`, the implicit regulariser of Smith, Dherin, Barrett & De
  (ICLR 2021, eq. (1)), as :class:`bea.methods.SGD` derives.

**Cost.** Every field through h¹ is :math:`f_0` plus a combination of :math:`\sum_kH_kw_k =
\nabla_\theta\sum_k\langle g_k(\theta), w_k\rangle` (w held fixed): the gradients with their graph, then one
reverse pass through them (double backpropagation). For Adam on the 26k-parameter MLP of
``benchmarks/bench_autodiff.py`` see ``docs/benchmarks.md``.

**Starts on the slow manifold.** :meth:`OptimiserField.start_state` gives torch's optimiser buffers at θ
(``momentum_buffer``; ``exp_avg``, ``exp_avg_sq``; ``square_avg``) on the slow manifold through h¹, the series
of :meth:`bea.methods.HeavyBall.start_state` and its kin:
:math:`b = \tfrac{g}{1-\beta} + \tfrac{h}{(1-\beta)^3}Hg`,
:math:`m = g + \tfrac{h}{1-\beta_1}H(s\odot g)`, :math:`v = g^2 + \tfrac{2h}{1-\beta_2}g\odot H(s\odot g)`.
A zero start instead lands on the flow from a point shifted by O(h) (:mod:`numeric.memory_drift`).

>>> import torch
>>> from bea.methods import HeavyBall
>>> field = OptimiserField(lambda t: 0.5 * (t**2).sum(), method=HeavyBall("1/2"), h=0.1)
>>> field(torch.tensor([1.0], dtype=torch.float64))  # -(2 + 0.1 * (3/2) / (2 / 8)) θ = -2.6 θ
tensor([-2.6000], dtype=torch.float64)
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, final

import torch
from torch import Tensor, nn

from bea.errors import BeaTypeError, InvalidLossError
from bea.methods import Adam, HeavyBall, Nesterov, RMSProp, resolve
from bea.methods.maps import SGD
from bea.validation import check_step_size, check_truncation
from numeric._autodiff_params import FlatLayout, batch_loss, flat_objective, flat_theta
from numeric.losses import scalar_loss

__all__ = ["OptimiserField"]

Objective = Callable[[Tensor], Tensor]


class _Rule(ABC):
    """The first-order field of one optimiser family from the gradients :math:`g_k` and :math:`\\sum_k H_kw_k`."""

    minibatches: ClassVar[bool] = False

    @abstractmethod
    def directions(self, grads: list[Tensor]) -> list[Tensor]:
        """The w_k (one per loss) of the Hessian--vector product the h¹ term needs."""

    @abstractmethod
    def terms(self, grads: list[Tensor], hw: Tensor) -> tuple[Tensor, Tensor]:
        """(f_0, f_1) from the gradients and :math:`\\sum_kH_kw_k`."""

    @abstractmethod
    def start(self, grads: list[Tensor], hw: Tensor, h: float) -> dict[str, Tensor]:
        """torch's buffers before the step at θ on the slow manifold, through h¹."""

    def check_point(self, method: Any, grads: list[Tensor]) -> None:  # noqa: B027 - most rules have no such point
        """Refuse a θ where the h¹ term is not defined (only torch's Adam/RMSProp have such points)."""


@final
@dataclass(frozen=True)
class _Momentum(_Rule):
    """f = -c0 g - h c1 Hg."""

    beta: float
    c0: float
    c1: float
    buffer: float  # coefficient of h Hg in the momentum buffer

    def directions(self, grads: list[Tensor]) -> list[Tensor]:
        return [grads[0]]

    def terms(self, grads: list[Tensor], hw: Tensor) -> tuple[Tensor, Tensor]:
        return -self.c0 * grads[0], -self.c1 * hw

    def start(self, grads: list[Tensor], hw: Tensor, h: float) -> dict[str, Tensor]:
        return {"momentum_buffer": self.c0 * grads[0] + (h * self.buffer) * hw}


@final
@dataclass(frozen=True)
class _Adaptive(_Rule):
    """f = -s g - h [a s + b ε s'] ⊙ H(s g); s and s' from ε inside or outside."""

    beta1: float | None  # None: RMSProp (no first moment)
    beta2: float
    eps: float
    eps_inside: bool

    def _scale(self, g: Tensor) -> Tensor:
        return (g * g + self.eps).rsqrt() if self.eps_inside else 1 / (g.abs() + self.eps)

    def directions(self, grads: list[Tensor]) -> list[Tensor]:
        g = grads[0]
        return [self._scale(g) * g]

    def check_point(self, method: Any, grads: list[Tensor]) -> None:
        """ε outside: a vanishing gradient component is refused as by the symbolic route
        (:meth:`bea.methods.Adam.check_smooth_at`; one host read per call)."""
        if self.eps_inside:
            return
        zero = grads[0] == 0
        if bool(zero.any()):
            method.check_smooth_at([f"theta[{i}]" for i in zero.nonzero().flatten().tolist()], 1, point="theta")

    def terms(self, grads: list[Tensor], hw: Tensor) -> tuple[Tensor, Tensor]:
        g = grads[0]
        s = self._scale(g)
        a1 = 0.0 if self.beta1 is None else self.beta1 / (1 - self.beta1)
        a2 = self.beta2 / (1 - self.beta2)
        s_prime = s**3 if self.eps_inside else s * s
        return -s * g, -((a1 - a2) * s + (a2 + 0.5) * self.eps * s_prime) * hw

    def start(self, grads: list[Tensor], hw: Tensor, h: float) -> dict[str, Tensor]:
        g = grads[0]
        second = g * g + (2 * h / (1 - self.beta2)) * g * hw
        if self.beta1 is None:
            return {"square_avg": second}
        return {"exp_avg": g + (h / (1 - self.beta1)) * hw, "exp_avg_sq": second}


@final
@dataclass(frozen=True)
class _Minibatch(_Rule):
    """Mean-SGD (random reshuffling) or one epoch in the given order, per unit time."""

    shuffle: str
    minibatches: ClassVar[bool] = True

    def directions(self, grads: list[Tensor]) -> list[Tensor]:
        if self.shuffle == "random":
            return [-g for g in grads]
        total = torch.stack(grads).sum(0)
        before = torch.cumsum(torch.stack(grads), 0) - torch.stack(grads)  # Σ_{j<k} g_j
        return list(2 * before - total)

    def terms(self, grads: list[Tensor], hw: Tensor) -> tuple[Tensor, Tensor]:
        m = len(grads)
        return -torch.stack(grads).mean(0), hw / (2 * m)

    def start(self, grads: list[Tensor], hw: Tensor, h: float) -> dict[str, Tensor]:
        return {}


@functools.singledispatch
def _rule(method: object) -> _Rule:
    name = getattr(method, "name", type(method).__name__)
    raise BeaTypeError(
        f"no autodiff optimiser field for the method {name!r}: OptimiserField takes bea.methods.HeavyBall, "
        "Nesterov, RMSProp, Adam or SGD (for Runge-Kutta and B-series methods use numeric.ModifiedField)"
    )


@_rule.register
def _(method: HeavyBall) -> _Rule:
    b = method.beta
    return _Momentum(float(b), float(1 / (1 - b)), float((1 + b) / (2 * (1 - b) ** 3)), float(1 / (1 - b) ** 3))


@_rule.register
def _(method: Nesterov) -> _Rule:
    b = method.beta
    c1 = (1 - b + 2 * b**2) / (2 * (1 - b) ** 3)
    return _Momentum(float(b), float(1 / (1 - b)), float(c1), float(1 / (1 - b) ** 3))


@_rule.register
def _(method: RMSProp) -> _Rule:
    return _Adaptive(None, float(method.beta2), float(method.eps), method.eps_inside)


@_rule.register
def _(method: Adam) -> _Rule:
    return _Adaptive(float(method.beta1), float(method.beta2), float(method.eps), method.eps_inside)


@_rule.register
def _(method: SGD) -> _Rule:
    return _Minibatch(method.shuffle)


def _gradients(objectives: Sequence[Objective], theta: Tensor, create_graph: bool) -> tuple[Tensor, list[Tensor]]:
    """(θ as a leaf that requires grad, [∇E_k(θ)]), with their graphs when ``create_graph``."""
    t = theta.detach().requires_grad_(True)
    grads = []
    for objective in objectives:
        (g,) = torch.autograd.grad(scalar_loss(objective(t)), t, create_graph=create_graph)
        grads.append(g)
    return t, grads


def _hessian_products(t: Tensor, grads: list[Tensor], directions: list[Tensor]) -> Tensor:
    """:math:`\\sum_k H_kw_k = \\nabla_\\theta\\sum_k\\langle g_k, w_k\\rangle` by one reverse pass (zero if linear)."""
    pairs = [(g, w.detach()) for g, w in zip(grads, directions, strict=True) if g.requires_grad]
    if not pairs:
        return torch.zeros_like(t).detach()
    (out,) = torch.autograd.grad([g for g, _ in pairs], t, [w for _, w in pairs], allow_unused=True)
    return torch.zeros_like(t).detach() if out is None else out


@final
class OptimiserField:
    r"""θ ↦ :math:`f_0(\theta) + h f_1(\theta)`: an optimiser's modified field through h¹ (module documentation).

    Calling it returns a detached tensor of θ's shape, dtype and device; the trainable parameters of a
    module are flattened in ``named_parameters()`` order. Agrees with ``bea.modified_flow(loss, params,
    truncation, method=method)`` wherever the loss has a SymPy form (tests/test_optimiser_fields.py).

    Parameters
    ----------
    loss_fn
        The loss, as for :class:`numeric.autodiff.ModifiedField`: ``loss_fn(theta)`` of a flat vector (with
        ``params_or_model`` None or a 1-D tensor), of a list of tensors (a sequence of tensors), or
        ``loss_fn(net)`` with ``net(*inputs)`` the module at θ (an ``nn.Module``; see :meth:`from_module`).
        For :class:`bea.methods.SGD`: a sequence of m ≥ 2 such losses, the minibatch losses in the order one
        epoch visits them (:meth:`from_minibatches`).
    params_or_model
        None, a 1-D tensor, a sequence of tensors or an ``nn.Module`` (its parameters give :meth:`parameters`).
    method
        ``bea.methods.HeavyBall``, ``Nesterov``, ``RMSProp``, ``Adam`` (ε inside or outside the square root; the
        stationary recursion without bias correction) or ``SGD`` (``"random"``: the mean epoch under random
        reshuffling; ``"fixed"``: one epoch in the given order). Their exact hyperparameters are used as
        floats. Any other method raises :class:`~bea.errors.BeaTypeError`.
    truncation
        0 (the leading flow) or 1 (through h¹); larger values raise
        :class:`~bea.errors.InvalidTruncationError` (use ``bea.modified_flow`` on a SymPy loss).
    h
        The learning rate, > 0 (:class:`~bea.errors.InvalidStepSizeError` otherwise).
    device, dtype
        For inputs that are not tensors and for :meth:`parameters`; floating tensors keep their dtype and
        keep their device unless ``device`` is given.

    Raises
    ------
    BeaTypeError
        A method other than those above, or a loss that is not callable.
    InvalidTruncationError
        A truncation other than 0 or 1.
    InvalidStepSizeError
        h ≤ 0, NaN or ∞.
    InvalidLossError
        A loss count that does not fit the method (one loss for SGD, several for the others); on the first
        call, a loss that is not a scalar depending on θ.
    NonSmoothPointError
        On a call through h¹ (or :meth:`start_state`) at a θ where a gradient component is exactly 0, for RMSProp
        and Adam with ε outside the root: the field is not defined there (its symbolic form divides by
        :math:`|\partial_jE|`; :meth:`bea.methods.Adam.check_smooth_at`). Truncation 0 and ``eps_inside`` are
        defined everywhere.
    """

    def __init__(
        self,
        loss_fn: Callable[..., Tensor] | Sequence[Callable[..., Tensor]],
        params_or_model: Any = None,
        *,
        method: Any,
        truncation: int = 1,
        h: float = 0.1,
        device: str | torch.device | None = None,
        dtype: torch.dtype = torch.float64,
    ) -> None:
        self.method = resolve(method)
        self._rule = _rule(self.method)
        self.truncation = check_truncation(truncation, maximum=1)
        self.h = check_step_size(h)
        self.device = None if device is None else torch.device(device)
        self.dtype = dtype
        losses = list(loss_fn) if isinstance(loss_fn, Sequence) and not isinstance(loss_fn, str) else [loss_fn]
        if self._rule.minibatches and len(losses) < 2:
            raise InvalidLossError(f"{self.method.name} needs at least two minibatch losses, got {len(losses)}")
        if not self._rule.minibatches and len(losses) != 1:
            raise InvalidLossError(f"{self.method.name} descends one loss, got a sequence of {len(losses)}")
        built = [flat_objective(fn, params_or_model) for fn in losses]
        self._objectives = tuple(objective for objective, _, _ in built)
        self.layout: FlatLayout | None = built[0][1]
        self._initial = built[0][2]
        self.model: nn.Module | None = params_or_model if isinstance(params_or_model, nn.Module) else None
        self.size = None if self._initial is None else int(self._initial.numel())

    @classmethod
    def from_module(
        cls, model: nn.Module, criterion: Callable[[Any, Any], Tensor], inputs: Any, targets: Any, **kwargs: Any
    ) -> OptimiserField:
        """The field for ``E(θ) = criterion(model_θ(*inputs), targets)`` on a fixed batch (heavy-ball,
        Nesterov, RMSProp, Adam). Data are cast to θ's dtype and device on first use; keyword arguments
        (``method=`` among them) go to the constructor."""
        return cls(batch_loss(criterion, inputs, targets), model, **kwargs)

    @classmethod
    def from_minibatches(
        cls, model: nn.Module, criterion: Callable[[Any, Any], Tensor], batches: Sequence[tuple[Any, Any]],
        **kwargs: Any,
    ) -> OptimiserField:
        """The SGD field for the minibatch losses ``criterion(model_θ(*inputs_k), targets_k)``, one per
        ``(inputs_k, targets_k)`` in ``batches`` (in the order an epoch visits them)."""
        if isinstance(batches, (str, bytes)) or not isinstance(batches, Sequence):
            raise BeaTypeError(f"batches must be a sequence of (inputs, targets) pairs, got {batches!r}")
        for k, batch in enumerate(batches):
            if not isinstance(batch, tuple | list) or len(batch) != 2:
                raise BeaTypeError(f"batch {k} must be an (inputs, targets) pair, got {batch!r}")
        return cls([batch_loss(criterion, x, y) for x, y in batches], model, **kwargs)

    def with_h(self, h: float) -> OptimiserField:
        """A copy with learning rate ``h`` (shares the losses and data)."""
        new = object.__new__(OptimiserField)
        new.__dict__.update(self.__dict__)
        new.h = check_step_size(h)
        return new

    def parameters(self) -> Tensor:
        """The flat vector of the given parameters or module (in ``dtype``, on ``device``)."""
        if self._initial is None:
            raise BeaTypeError("no parameters were given: pass a 1-D tensor, tensors or a module")
        return self._initial.to(device=self.device or self._initial.device, dtype=self.dtype).clone()

    def _evaluate(self, theta: Any, first: bool) -> tuple[list[Tensor], Tensor | None]:
        with torch.enable_grad():
            theta = flat_theta(theta, dtype=self.dtype, device=self.device, size=self.size)
            t, grads = _gradients(self._objectives, theta, create_graph=first)
            hw = _hessian_products(t, grads, self._rule.directions([g.detach() for g in grads])) if first else None
            return [g.detach() for g in grads], hw

    def terms(self, theta: Any) -> Tensor:
        """:math:`f_0, \\dots, f_p` (the coefficients of :math:`h^0..h^p`) as a ``(p + 1, m)`` tensor."""
        grads, hw = self._evaluate(theta, self.truncation >= 1)
        if self.truncation >= 1:
            self._rule.check_point(self.method, grads)
        f0, f1 = self._rule.terms(grads, torch.zeros_like(grads[0]) if hw is None else hw)
        return torch.stack([f0, f1][: self.truncation + 1])

    def __call__(self, theta: Any, h: float | None = None) -> Tensor:
        """:math:`f_0(\\theta) + h f_1(\\theta)` (truncation 1) or :math:`f_0(\\theta)` (truncation 0)."""
        step = self.h if h is None else check_step_size(h)
        terms = self.terms(theta)
        return terms[0] if self.truncation == 0 else terms[0] + step * terms[1]

    def start_state(self, theta: Any, h: float | None = None) -> dict[str, Tensor]:
        """torch's optimiser buffers before a step at θ, on the slow manifold through h¹ (module documentation).

        Keys as in ``torch.optim`` state: ``momentum_buffer`` (heavy-ball, Nesterov), ``exp_avg`` and
        ``exp_avg_sq`` (Adam), ``square_avg`` (RMSProp); empty for SGD. Each a detached tensor like θ.
        """
        step = self.h if h is None else check_step_size(h)
        grads, hw = self._evaluate(theta, True)
        self._rule.check_point(self.method, grads)
        products = torch.zeros_like(grads[0]) if hw is None else hw
        return {k: v.detach() for k, v in self._rule.start(grads, products, step).items()}

    def __repr__(self) -> str:
        return f"OptimiserField(method={self.method.name}, truncation={self.truncation}, h={self.h})"
