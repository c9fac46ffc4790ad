r"""A torch stepper for partitioned Runge--Kutta methods (and Runge--Kutta methods, as the pair (A, b), (A, b)).

For :math:`q' = f(q, p)`, :math:`p' = g(q, p)` with state :math:`y = (q, p)` (the last axis, length 2n, q first)
and the two tableaux :math:`(A^q, b^q)`, :math:`(A^p, b^p)` (Hairer--Lubich--Wanner, (II.2.2)), one step is

.. math::
    K_i = F\Big(y_0 + h \sum_j D_{ij} K_j\Big), \quad y_1 = y_0 + h \sum_i \mathrm{diag}(b^q_i I_n, b^p_i I_n) K_i,

with :math:`F = (f, g)` and :math:`D_{ij} = \mathrm{diag}(a^q_{ij} I_n, a^p_{ij} I_n)`. When both A are strictly
lower triangular the stages are evaluated in order (explicit); otherwise the stage equations are solved by
fixed-point iteration until the largest correction is at most ``tol`` :math:`\cdot \max(1, \|K\|_\infty)`
(default ``tol`` = 32 machine epsilons of the dtype), else :class:`~numeric.errors.ConvergenceError`.
States may carry leading batch axes (several initial values or step sizes at once: ``h`` broadcasts
against ``y[..., :1]``).

>>> import torch
>>> from bea.methods import stormer_verlet
>>> field = lambda y: torch.stack([y[..., 1], -y[..., 0]], dim=-1)   # the harmonic oscillator
>>> run_partitioned(field, torch.tensor([1.0, 0.0], dtype=torch.float64), 0.5, 1, stormer_verlet)[-1]
tensor([ 0.8750, -0.4688], dtype=torch.float64)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from bea.errors import BeaTypeError
from bea.hamiltonian import tableau_pair
from numeric.errors import ConvergenceError, NumericTypeError, ShapeError

__all__ = ["PairTensors", "pair_tensors", "prk_step", "run_partitioned"]

Field = Callable[[Tensor], Tensor]
PairTensors = tuple[Tensor, Tensor, Tensor, Tensor]


def pair_tensors(method: Any, dtype: torch.dtype, device: torch.device | str = "cpu") -> PairTensors:
    """``(A_q, b_q, A_p, b_p)`` as float tensors, from a ``PartitionedRungeKutta`` (or ``RungeKutta``: A, b twice)
    or a catalogue name (:func:`bea.hamiltonian.tableau_pair`)."""
    try:
        A_q, b_q, A_p, b_p = tableau_pair(method)
    except BeaTypeError as error:
        raise NumericTypeError(str(error)) from None

    def matrix(A: Any) -> Tensor:
        return torch.tensor([[float(v) for v in row] for row in A], dtype=dtype, device=device)

    def vector(b: Any) -> Tensor:
        return torch.tensor([float(v) for v in b], dtype=dtype, device=device)

    return matrix(A_q), vector(b_q), matrix(A_p), vector(b_p)


def _weights(pair: PairTensors, n: int) -> tuple[Tensor, Tensor, bool]:
    """D (s, s, 2n) and B (s, 2n): the tableau entries per component (q-components from the q tableau)."""
    A_q, b_q, A_p, b_p = pair
    D = torch.cat([A_q[:, :, None].expand(-1, -1, n), A_p[:, :, None].expand(-1, -1, n)], dim=-1)
    B = torch.cat([b_q[:, None].expand(-1, n), b_p[:, None].expand(-1, n)], dim=-1)
    explicit = bool((torch.triu(A_q) == 0).all() and (torch.triu(A_p) == 0).all())
    return D.contiguous(), B.contiguous(), explicit


@dataclass(frozen=True)
class _Scheme:
    """One tableau pair laid out for states of shape ``(*batch, 2n)`` and step(s) ``h``, computed once per run.

    ``D`` (s, s, 1, ..., 2n) and ``B`` (s, 1, ..., 2n) broadcast against the stages ``K`` (s, *batch, 2n), so
    that the stage sums are a product and a sum over one axis (the same sums as an einsum, without its
    per-call overhead, which dominates for the small states this stepper runs on). ``lower[i]``, for
    explicit pairs: the pairs ``(j, h D[i, j])`` with a nonzero ``D[i, j]`` (a zero adds nothing).
    """

    h: Tensor | float
    D: Tensor
    B: Tensor
    explicit: bool
    lower: tuple[tuple[tuple[int, Tensor], ...], ...]


def _scheme(pair: PairTensors, y: Tensor, h: Tensor | float) -> _Scheme:
    D, B, explicit = _weights(pair, y.shape[-1] // 2)
    s, c = B.shape
    lead = (1,) * (y.dim() - 1)
    lower = tuple(
        tuple((j, h * D[i, j]) for j in range(i) if bool(D[i, j].any())) for i in range(s)
    ) if explicit else ()
    return _Scheme(h, D.view(s, s, *lead, c), B.view(s, *lead, c), explicit, lower)


def prk_step(
    field: Field, y: Tensor, h: Tensor | float, pair: PairTensors, *, tol: float, max_iter: int = 100
) -> Tensor:
    """One step ``y -> y_1`` (shape ``(..., 2n)``) of the pair ``(A_q, b_q, A_p, b_p)`` on ``field`` (see module)."""
    return _step(field, y, _scheme(pair, y, h), tol, max_iter)


def _step(field: Field, y: Tensor, scheme: _Scheme, tol: float, max_iter: int) -> Tensor:
    h, D = scheme.h, scheme.D
    if scheme.explicit:
        ks: list[Tensor] = []
        for row in scheme.lower:
            incr = y
            for j, hd in row:
                incr = incr + hd * ks[j]
            ks.append(field(incr))
        K = torch.stack(ks)
    else:
        K = field(y).expand(D.shape[0], *y.shape)
        delta = math.inf
        for _ in range(max_iter):
            new = field(y + h * (D * K).sum(1))  # all stages at once (batched field)
            delta = float((new - K).abs().max())
            K = new
            if delta <= tol * max(1.0, float(K.abs().max())):
                break
        else:
            raise ConvergenceError(
                f"the stage equations did not converge by fixed-point iteration (last correction {delta:.3g}, "
                f"tolerance {tol:.1g} relative, {max_iter} iterations); reduce h"
            )
    return y + h * (scheme.B * K).sum(0)


def run_partitioned(
    field: Field,
    y0: Tensor,
    h: float | Tensor,
    n_steps: int,
    method: Any,
    *,
    tol: float | None = None,
    max_iter: int = 100,
) -> Tensor:
    """The trajectory ``(n_steps + 1, *y0.shape)`` of ``method`` from ``y0`` with step(s) ``h``.

    ``h``: a float, or a tensor broadcasting against ``y0[..., :1]`` (one step size per batch row).
    ``tol``: fixed-point tolerance for implicit pairs, relative; default 32 eps of y0's dtype.
    Raises :class:`~numeric.errors.ShapeError` for an odd last axis and
    :class:`~numeric.errors.ConvergenceError` when an implicit stage solve fails.

    Reference: Hairer--Lubich--Wanner, *Geometric Numerical Integration*, 2nd ed., section II.2.
    """
    if not isinstance(y0, Tensor) or not y0.is_floating_point():
        raise NumericTypeError(f"y0 must be a floating-point tensor, got {y0!r}")
    if y0.shape[-1] % 2:
        raise ShapeError(f"the state's last axis holds (q, p) and must have even length, got {tuple(y0.shape)}")
    if isinstance(n_steps, bool) or not isinstance(n_steps, int) or n_steps < 0:
        raise NumericTypeError(f"n_steps must be a non-negative int, got {n_steps!r}")
    if isinstance(h, Tensor):
        step: Tensor | float = h.to(dtype=y0.dtype, device=y0.device)
        if not bool((h.to(dtype=y0.dtype, device=y0.device) > 0).all()):
            raise NumericTypeError(f"every step size must be positive, got {h}")
    elif isinstance(h, (int, float)) and not isinstance(h, bool) and math.isfinite(h) and h > 0:
        step = float(h)
    else:
        raise NumericTypeError(f"h must be a positive finite number or a tensor, got {h!r}")
    scheme = _scheme(pair_tensors(method, y0.dtype, y0.device), y0, step)
    tolerance = 32 * torch.finfo(y0.dtype).eps if tol is None else tol
    out = torch.empty((n_steps + 1, *y0.shape), dtype=y0.dtype, device=y0.device)
    out[0] = y0
    y = y0
    for k in range(n_steps):
        y = _step(field, y, scheme, tolerance, max_iter)
        out[k + 1] = y
    return out
