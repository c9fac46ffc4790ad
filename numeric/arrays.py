r"""Code written once for NumPy arrays and torch tensors alike, importing no torch.

The drift check of a small float64 system on the CPU runs in NumPy and Python floats without importing torch
(issue 13: torch's import alone costs more than the whole check); larger, GPU and float32 problems run in
torch. What both routes share lives here, written with the operations both array types support:

* :func:`is_tensor`: whether a value is a torch tensor, answered without importing torch (a tensor exists
  only once torch is imported);
* :func:`explicit_tableau` and :func:`explicit_rk_step`: one step of an explicit Runge--Kutta tableau
  :math:`(A, b)`,

  .. math::
      k_i = f\Big(\theta_n + h \sum_{j<i} a_{ij} k_j\Big), \qquad \theta_{n+1} = \theta_n + h \sum_i b_i k_i

  (Hairer--Nørsett--Wanner I, §II.1), with the tableau entries as Python floats (no device tensor read per
  stage), on whatever array type ``field`` takes and returns: the torch stepper
  (:class:`numeric.steppers.RungeKuttaStepper`) and the NumPy route of :func:`numeric.drift.drift_check`
  both step with it.

>>> import numpy as np
>>> from bea import methods
>>> A, b = explicit_tableau(methods.explicit_midpoint)
>>> explicit_rk_step(lambda t: -t, np.array([1.0]), 0.5, A, b)  # 1 - h + h²/2
array([0.625])
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from bea.methods import RungeKutta
from numeric.errors import NumericTypeError

__all__ = ["explicit_rk_step", "explicit_tableau", "is_tensor"]

ArrayT = TypeVar("ArrayT")


def is_tensor(value: object) -> bool:
    """Whether ``value`` is a ``torch.Tensor``; never imports torch (without torch loaded, nothing is a tensor).

    >>> is_tensor([1.0]), is_tensor(2.0)
    (False, False)
    """
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.Tensor)


def explicit_tableau(method: RungeKutta) -> tuple[list[list[float]], list[float]]:
    """``(A, b)`` of an explicit Runge--Kutta ``method`` as Python floats (rows of A, weights b).

    Raises :class:`~numeric.errors.NumericTypeError` for an implicit tableau (A not strictly lower triangular)
    or anything that is not a :class:`bea.methods.RungeKutta`.

    >>> from bea import methods
    >>> explicit_tableau(methods.explicit_midpoint)
    ([[0.0, 0.0], [0.5, 0.0]], [0.0, 1.0])
    """
    if not isinstance(method, RungeKutta):
        raise NumericTypeError(f"method must be a bea RungeKutta method, got {method!r}")
    if not method.is_explicit:
        raise NumericTypeError(f"{method.name} is implicit (A is not strictly lower triangular): no explicit step")
    return [[float(v) for v in row] for row in method.A], [float(v) for v in method.b]


def explicit_rk_step(field: Callable[[ArrayT], ArrayT], theta: ArrayT, h: float, A: Sequence[Sequence[float]],
                     b: Sequence[float]) -> ArrayT:
    r"""One explicit Runge--Kutta step :math:`\theta_n \mapsto \theta_{n+1}` of size ``h`` (see the module).

    ``A`` (strictly lower triangular rows) and ``b``: Python floats (:func:`explicit_tableau`); zero entries are
    skipped. ``field`` maps θ to f(θ) of θ's shape in θ's array type (NumPy arrays, torch tensors); the result has
    that type too. Only the entries below the diagonal of ``A`` are read.
    """
    ks: list[Any] = []
    for i in range(len(b)):
        y: Any = theta
        for j in range(i):
            if A[i][j] != 0:
                y = y + (h * A[i][j]) * ks[j]
        ks.append(field(y))
    out: Any = theta
    for i, weight in enumerate(b):
        if weight != 0:
            out = out + (h * weight) * ks[i]
    result: ArrayT = out
    return result
