r"""Modified vector fields of optimisers on any torch loss, by automatic differentiation.

For a loss :math:`E(\theta)`, :math:`\theta \in \mathbb R^m`, and a B-series method
(gradient descent = explicit Euler, midpoint, RK4, ...) applied to :math:`f = -\nabla E`,
the modified field truncated after :math:`h^p` is

.. math::
    f_h(\theta) = \sum_{|\tau| \le p+1} h^{|\tau|-1}\,\frac{b(\tau)}{\sigma(\tau)}\,F(\tau)(\theta),
    \qquad F(\bullet) = f,\quad F([\tau_1,\dots,\tau_k]) = f^{(k)}\big(F(\tau_1),\dots,F(\tau_k)\big),

with the exact coefficients :math:`b = ` ``bea.modified_equation(method, p + 1)``
(Hairer--Lubich--Wanner, *Geometric Numerical Integration*, 2nd ed., ch. IX). For a
gradient field the derivatives of f are contractions of derivative tensors of E:

.. math::
    f^{(k)}(v_1,\dots,v_k) = -D^{k+1}E[v_1,\dots,v_k,\,\cdot\,]
    = -\nabla_\theta\big(D^kE(\theta)[v_1,\dots,v_k]\big)\quad (v_i \text{ held fixed}).

So every elementary differential is a chain of vector--Jacobian products started
from :math:`g = \nabla E`: with :math:`G_0 = g` and
:math:`G_j(v_1..v_j) = \nabla_\theta\langle G_{j-1}(v_1..v_{j-1}), v_j\rangle`,
:math:`F([\tau_1..\tau_k]) = -G_k(F(\tau_1),\dots,F(\tau_k))`. No Hessian is formed.

**Work sharing.** A plan, cached per (method, truncation), lists the trees with
:math:`b(\tau) \ne 0` (for midpoint or RK4 many vanish) and the smaller trees
needed as directions. The argument lists of all :math:`G` evaluations form a trie
(children sorted so that common prefixes such as :math:`(\bullet,\bullet)` are shared);
each trie node is evaluated once, with ``create_graph`` only where something is
differentiated further. Trees used only in the final sum are never formed: as
:math:`G_k` is linear in its last argument, all of them are folded into ONE reverse
pass through the union of their parents' graphs,
:math:`\sum_\tau w_\tau G_k(\dots, v_\tau) = \nabla_\theta \sum_{\text{parents } P}
\langle G_P, \sum_{\tau \text{ below } P} w_\tau v_\tau\rangle`.
Truncation 1 of gradient descent is then :math:`-g - \tfrac h2 Hg` by one double
backpropagation, the implicit gradient regulariser :math:`-\nabla(E + \tfrac h4\|\nabla E\|^2)`
(Barrett & Dherin, *Implicit Gradient Regularization*, ICLR 2021).

>>> import torch
>>> from bea import methods
>>> field = ModifiedField(lambda t: 0.5 * (t**2).sum(), truncation=2, h=0.1, method=methods.explicit_euler)
>>> field(torch.tensor([1.0, -2.0], dtype=torch.float64))  # -(θ + hθ/2 + h²θ/3)
tensor([-1.0533,  2.1067], dtype=torch.float64)
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from bea import modified_equation
from bea.errors import BeaTypeError, BeaValueError
from bea.methods import Method, explicit_euler, resolve
from bea.series import BSeries
from bea.trees import Tree
from bea.validation import check_truncation, renamed_keyword
from numeric._autodiff_params import batch_loss, flat_objective, flat_theta
from numeric.losses import scalar_loss

__all__ = ["FieldPlan", "ModifiedField", "field_plan"]

_LEAF = Tree.leaf()
Key = tuple[Tree, ...]


def _args(tree: Tree) -> Key:
    """The children of ``tree`` in the trie order: smaller trees first (• before [•] ...)."""
    return tuple(sorted(tree.children))


@dataclass(frozen=True)
class FieldPlan:
    """What to evaluate for one (method, truncation): see the module docstring.

    ``terms``: (tree, power of h, b(τ)/σ(τ)) for every tree with b(τ) ≠ 0;
    ``directions``: trees whose F(τ) is formed as a vector (children of some term);
    ``nodes``: trie keys to evaluate, parents before children; ``graph``: the keys
    whose graph is kept for further differentiation; ``folded``: terms obtained in the
    final reverse pass (tree, parent key).
    """

    truncation: int
    terms: tuple[tuple[Tree, int, float], ...]
    directions: frozenset[Tree]
    nodes: tuple[Key, ...]
    graph: frozenset[Key]
    folded: tuple[tuple[Tree, Key], ...] = field(default=())


def _build_plan(series: BSeries, truncation: int) -> FieldPlan:
    terms = tuple((t, t.order - 1, float(c) / t.symmetry) for t, c in sorted(series.items()) if c != 0)
    directions: set[Tree] = set()
    stack = [c for t, _, _ in terms for c in t.children]
    while stack:
        t = stack.pop()
        if t not in directions:
            directions.add(t)
            stack.extend(t.children)
    folded = tuple((t, _args(t)[:-1]) for t, _, _ in terms if t != _LEAF and t not in directions)
    keys: set[Key] = {()} | {k[:-1] for _, k in folded}
    keys |= {_args(t) for t in directions}
    for k in list(keys):
        keys.update(k[:j] for j in range(len(k)))
    graph = {k[:-1] for k in keys if k} | {k for _, k in folded}
    ordered: list[Key] = []

    def visit(k: Key) -> None:  # parents and the direction trees a key needs come first
        if k in ordered:
            return
        if k:
            visit(k[:-1])
            if k[-1] != _LEAF:
                visit(_args(k[-1]))
        ordered.append(k)

    for k in sorted(keys, key=lambda k: (len(k), k)):
        visit(k)
    nodes = tuple(ordered)
    return FieldPlan(truncation, terms, frozenset(directions), nodes, frozenset(graph), folded)


@functools.lru_cache(maxsize=64)
def _cached_plan(method: Method, truncation: int) -> FieldPlan:
    return _build_plan(modified_equation(method, truncation + 1), truncation)


def field_plan(method: Method | BSeries | str, truncation: int) -> FieldPlan:
    """The evaluation plan of the modified field of ``method`` through :math:`h^p`, p = ``truncation`` (cached).

    Only trees with :math:`b(\\tau) \\ne 0` are evaluated; for the explicit midpoint rule, 5 of the 8 trees
    with at most 4 nodes:

    >>> from bea import methods
    >>> [list(t.levels) for t, _, _ in field_plan(methods.explicit_midpoint, 3).terms]
    [[1], [1, 2, 2], [1, 2, 3], [1, 2, 3, 3], [1, 2, 3, 4]]
    """
    p = check_truncation(truncation)
    if isinstance(method, BSeries):
        return _build_plan(modified_equation(method, p + 1), p)
    resolved: Any = resolve(method)  # bea methods are frozen, hence hashable
    return _cached_plan(resolved, p)  # B-series methods only: NotABSeriesMethodError otherwise


def _vjp(outputs: list[Tensor], vectors: list[Tensor], theta: Tensor, create_graph: bool, retain: bool) -> Tensor:
    """:math:`\\nabla_\\theta \\sum_i \\langle o_i, v_i\\rangle`; zero where the outputs do not depend on θ."""
    pairs = [(o, v) for o, v in zip(outputs, vectors, strict=True) if o.requires_grad]
    if not pairs:
        return torch.zeros_like(theta)
    (grad,) = torch.autograd.grad(
        [o for o, _ in pairs],
        theta,
        [v for _, v in pairs],
        retain_graph=retain,
        create_graph=create_graph,
        allow_unused=True,
    )
    return torch.zeros_like(theta) if grad is None else grad


def _evaluate(
    objective: Callable[[Tensor], Tensor], plan: FieldPlan, theta: Tensor, weights: Sequence[Sequence[float]]
) -> list[Tensor]:
    """For each row w of ``weights`` (one per power of h): :math:`\\sum_\\tau w_{|\\tau|-1} b/\\sigma F(\\tau)`."""
    with torch.enable_grad():
        theta = theta.detach().requires_grad_(True)
        loss = scalar_loss(objective(theta))
        g = _vjp([loss], [torch.ones_like(loss)], theta, () in plan.graph, True)
        nodes: dict[Key, Tensor] = {(): g}
        vectors: dict[Tree, Tensor] = {_LEAF: -g.detach()}
        for key in plan.nodes[1:]:  # topologically sorted: parents and directions exist
            value = _vjp([nodes[key[:-1]]], [vectors[key[-1]]], theta, key in plan.graph, True)
            nodes[key] = value
            vectors.update((t, -value.detach()) for t in plan.directions if _args(t) == key)
        results = []
        folded_trees = {t for t, _ in plan.folded}
        for i, row in enumerate(weights):
            total = torch.zeros_like(theta).detach()
            folded: dict[Key, Tensor] = {}
            coef = {t: row[k] * c for t, k, c in plan.terms if k < len(row)}
            for t, parent in plan.folded:  # F(τ) = -G(parent, v) = vjp(parent, -v)
                if coef.get(t, 0.0) != 0.0:
                    v = -coef[t] * vectors[_args(t)[-1]]
                    folded[parent] = folded[parent] + v if parent in folded else v
            for t, w in coef.items():
                if t not in folded_trees and w != 0.0:
                    total = total + w * vectors[t]
            if folded:
                parents = list(folded)
                last = i == len(weights) - 1
                total = total + _vjp([nodes[p] for p in parents], [folded[p] for p in parents], theta, False, not last)
            results.append(total.detach())
        return results


class ModifiedField:
    r"""θ ↦ :math:`f_h(\theta) = \sum_{k=0}^{p} h^k f_{k+1}(\theta)` for a method applied to :math:`-\nabla E`.

    Calling the field returns a detached tensor of θ's shape, dtype and device; the
    trainable parameters of a module are flattened in ``named_parameters()`` order. Gradient
    descent on :math:`E = \|\theta\|^2/2` has :math:`f_h = -(1 + h/2 + h^2/3 + \dots)\,\theta`:

    >>> field = ModifiedField(lambda t: 0.5 * (t**2).sum(), truncation=1, h=0.5)
    >>> field([2.0]), field.with_h(0.1)([2.0])
    (tensor([-2.5000], dtype=torch.float64), tensor([-2.1000], dtype=torch.float64))
    >>> field.terms([2.0]).flatten().tolist()  # f_1 = -θ, f_2 = -θ/2
    [-2.0, -1.0]

    Parameters
    ----------
    loss_fn
        With ``params_or_model`` None or a 1-D tensor: the loss of a flat vector,
        ``loss_fn(theta) -> scalar``. With a sequence of tensors (shapes): the loss of
        a list of tensors of those shapes. With an ``nn.Module``: ``loss_fn(net)`` where
        ``net(*inputs)`` runs the model at θ (:func:`torch.func.functional_call`);
        ``net.dtype``/``net.device`` give θ's dtype and device. See :meth:`from_module`.
    truncation
        p ≥ 0: keep the terms through :math:`h^p` (1 = IGR for gradient descent). ``order=`` is
        its deprecated name (a ``DeprecationWarning``). A non-integer raises
        :class:`~bea.errors.BeaTypeError`, a negative p :class:`~bea.errors.InvalidTruncationError`.
    h
        The step size (learning rate); :meth:`with_h` or ``field(theta, h=...)`` change it cheaply.
    method
        A ``bea`` method with a B-series (``bea.methods.explicit_euler`` or ``"gd"`` is gradient descent),
        its catalogue name, or a map BSeries; a method without one raises
        :class:`~bea.errors.NotABSeriesMethodError`.
    device, dtype
        Used for inputs that are not tensors and by :meth:`parameters`. Floating tensor
        inputs keep their dtype; they keep their device unless ``device`` is given.
    """

    def __init__(
        self,
        loss_fn: Callable[..., Tensor],
        params_or_model: Any = None,
        *,
        truncation: int = 1,
        h: float = 0.1,
        method: Method | BSeries | str = explicit_euler,
        device: str | torch.device | None = None,
        dtype: torch.dtype = torch.float64,
        order: int | None = None,
    ) -> None:
        truncation = renamed_keyword(truncation, order, new_name="truncation", old_name="order",
                                     where="ModifiedField", default=1)
        self._objective, self.layout, self._initial = flat_objective(loss_fn, params_or_model)
        self.plan = field_plan(method, truncation)
        self.method = method if isinstance(method, BSeries) else resolve(method)
        self.truncation = self.plan.truncation
        self.h = _check_h(h)
        self.device = None if device is None else torch.device(device)
        self.dtype = dtype
        self.model: nn.Module | None = params_or_model if isinstance(params_or_model, nn.Module) else None
        self.size = None if self._initial is None else int(self._initial.numel())

    @classmethod
    def from_module(
        cls, model: nn.Module, criterion: Callable[[Any, Any], Tensor], inputs: Any, targets: Any, **kwargs: Any
    ) -> ModifiedField:
        """The field of ``E(θ) = criterion(model_θ(*inputs), targets)`` on a fixed batch.

        ``inputs`` is a tensor or a tuple of tensors; data are cast to θ's dtype (floating
        tensors) and device on first use and cached. Keyword arguments go to the constructor.
        """
        return cls(batch_loss(criterion, inputs, targets), model, **kwargs)

    def with_h(self, h: float) -> ModifiedField:
        """A copy with step size ``h`` (shares the loss, the data and the cached plan)."""
        new = object.__new__(ModifiedField)
        new.__dict__.update(self.__dict__)
        new.h = _check_h(h)
        return new

    def parameters(self) -> Tensor:
        """The flat vector of the given parameters or module (in ``dtype``, on ``device``)."""
        if self._initial is None:
            raise BeaValueError("no parameters were given: pass a 1-D tensor, tensors or a module")
        return self._initial.to(device=self.device or self._initial.device, dtype=self.dtype).clone()

    def _theta(self, value: Any) -> Tensor:
        return flat_theta(value, dtype=self.dtype, device=self.device, size=self.size)

    def __call__(self, theta: Any, h: float | None = None) -> Tensor:
        """:math:`f_h(\\theta)` (step ``h`` if given, else the stored one)."""
        step = self.h if h is None else _check_h(h)
        row = [step**k for k in range(self.truncation + 1)]
        return _evaluate(self._objective, self.plan, self._theta(theta), [row])[0]

    def terms(self, theta: Any) -> Tensor:
        """The coefficients :math:`f_1, \\dots, f_{p+1}` of :math:`h^0..h^p`, as a ``(p+1, m)`` tensor."""
        p = self.truncation
        rows = [[1.0 if j == k else 0.0 for j in range(p + 1)] for k in range(p + 1)]
        return torch.stack(_evaluate(self._objective, self.plan, self._theta(theta), rows))

    def __repr__(self) -> str:
        name = getattr(self.method, "name", type(self.method).__name__)
        return f"ModifiedField(method={name}, truncation={self.truncation}, h={self.h}, terms={len(self.plan.terms)})"

    @property
    def order(self) -> int:
        """Deprecated name of :attr:`truncation`."""
        warnings.warn("ModifiedField.order is deprecated, use .truncation", DeprecationWarning, stacklevel=2)
        return self.truncation


def _check_h(h: object) -> float:
    if isinstance(h, bool) or not isinstance(h, int | float) or not math.isfinite(float(h)):
        raise BeaTypeError(f"h must be a finite real number, got {h!r}")
    return float(h)
