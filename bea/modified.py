r"""Modified equations, modifying integrators and B-series of methods (or method names).

**Modified equation.** For a method with map series a, the modified field
:math:`b` is the vector-field series whose exact time-h flow has B-series a:
``substitute(b, exact_solution) == a`` (Hairer--Lubich--Wanner, Lemma IX.9.1 and
Theorem IX.9.3; the recursion is in :mod:`bea.backward`).

**Modifying integrator.** The field :math:`\tilde b` such that the method applied
to :math:`\tilde f = B(\tilde b)` reproduces the exact flow of f:
``substitute(b̃, a) == exact_solution`` (Chartier--Hairer--Vilmart, Found. Comput.
Math. 10 (2010), section 4).

Each function takes a method (any :class:`~bea.methods.Method` with a B-series), a
catalogue name such as ``"rk4"`` (:func:`bea.methods.resolve`), or a map
:class:`~bea.series.BSeries`. Methods without a B-series (one-step maps, compositions,
methods with memory) raise :class:`~bea.errors.NotABSeriesMethodError`; their modified
flows come from :func:`bea.modified_flow`.

>>> from bea import methods, Tree
>>> b = modified_equation(methods.explicit_euler, 3)
>>> [b[t] for t in (Tree.from_levels([1]), Tree.from_levels([1, 2]),
...                 Tree.from_levels([1, 2, 3]), Tree.from_levels([1, 2, 2]))]
[1, -1/2, 1/3, 1/6]
>>> print(b)
f - 1/2 h f'f + 1/3 h² f'f'f + 1/12 h² f''(f, f)
>>> modified_equation("gd", 3) == b
True
"""

from __future__ import annotations

import warnings
from typing import Any

import sympy

from bea import backward
from bea._arith import Ring
from bea.backward import modified_field_series, modifying_field_series
from bea.differentials import evaluate_field_series
from bea.errors import ExpensiveComputationWarning
from bea.methods import Method, resolve
from bea.series import BSeries
from bea.trees import _check_order

__all__ = ["bseries", "modified_equation", "modified_vector_field", "modifying_integrator"]

#: What the functions of this module accept: a method with a B-series (any :class:`~bea.methods.Method`),
#: its catalogue name, or a map B-series.
MethodOrSeries = Method | BSeries | str

#: Series orders above which a computation is expected to take over a minute.
MODIFIED_EQUATION_WARN_ORDER = 15
SUBSTITUTION_WARN_ORDER = 12


def _warn_if_expensive(order: int, limit: int, what: str) -> None:
    if order > limit:
        warnings.warn(
            f"{what} of order {order} is expected to take more than a minute "
            f"(orders up to {limit} are fast)",
            ExpensiveComputationWarning,
            stacklevel=3,
        )


def bseries(method: Method | str, order: int) -> BSeries:
    """The map B-series of a method (or catalogue name), through trees with ``order`` nodes.

    For a Runge--Kutta method :math:`a(\\tau) = \\Phi(\\tau)`, its elementary weight, so one step is
    :math:`y + \\sum_\\tau h^{|\\tau|} \\frac{\\Phi(\\tau)}{\\sigma(\\tau)} F(\\tau)(y)`
    (Hairer--Lubich--Wanner, Theorem III.1.4). The method has order p iff
    :math:`\\Phi(\\tau) = 1/\\gamma(\\tau)` for every tree with at most p nodes.
    :class:`~bea.errors.NotABSeriesMethodError` for methods without a B-series.

    >>> from bea import exact_solution, methods
    >>> print(bseries(methods.explicit_euler, 3))
    1 + h f
    >>> print(bseries("rk4", 3) - exact_solution(3))
    0
    """
    _check_order(order)
    return resolve(method).bseries(order)


def _map_series(method_or_series: MethodOrSeries, order: int) -> BSeries:
    if isinstance(method_or_series, BSeries):
        return method_or_series
    return resolve(method_or_series).bseries(order)


def map_coefficients(method_or_series: MethodOrSeries, order: int) -> tuple[Ring, dict[int, Any], Any]:
    """The map series of the input through ``order`` (tree id -> value in a fast ring), and a(∅).

    Internal interface of bea (used by :mod:`bea.structure`), not part of the public API.
    """
    ring, a = backward.map_coefficients(_map_series(method_or_series, order), order)
    return ring, a, ring.integer(1)


def field_coefficients(method_or_series: MethodOrSeries, order: int) -> tuple[Ring, dict[int, Any]]:
    """The modified field's coefficients (tree id -> value in a fast ring) through ``order``.

    Internal interface of bea (used by :mod:`bea.structure`), not part of the public API.
    """
    return backward.field_coefficients(_map_series(method_or_series, order), order)


def modified_equation(method_or_series: MethodOrSeries, order: int) -> BSeries:
    """The modified vector field of a B-series method, for all trees up to ``order`` nodes.

    Returns the vector-field series b with
    :math:`f_h = \\sum_\\tau h^{|\\tau|-1} \\frac{b(\\tau)}{\\sigma(\\tau)} F(\\tau)`,
    whose exact time-h flow matches the method's step through :math:`h^{\\text{order}}`.
    ``order`` is the largest tree order, so the field holds the terms
    :math:`h^0, \\dots, h^{\\text{order}-1}` (the h^k term uses the trees with k + 1 nodes).

    For a method of order p the terms :math:`h^1..h^{p-1}` vanish: the explicit midpoint
    rule (p = 2) starts at h²:

    >>> from bea import methods
    >>> print(modified_equation(methods.explicit_midpoint, 3))
    f - 1/6 h² f'f'f - 1/24 h² f''(f, f)
    >>> print(modified_equation("implicit_euler", 3))  # the proximal point method
    f + 1/2 h f'f + 1/3 h² f'f'f + 1/12 h² f''(f, f)
    """
    _check_order(order)
    _warn_if_expensive(order, MODIFIED_EQUATION_WARN_ORDER, "modified_equation")
    return modified_field_series(_map_series(method_or_series, order), order)


def modifying_integrator(method_or_series: MethodOrSeries, order: int) -> BSeries:
    """The modifying-integrator field :math:`\\tilde b` of a method, through ``order``.

    Solves :math:`(\\tilde b \\star a)(\\tau) = 1/\\gamma(\\tau)` tree by tree (see
    :func:`bea.backward.modifying_field_series`). Requires :math:`a(\\bullet) \\ne 0`.

    Explicit Euler applied to :math:`\\tilde f` is exact (to the given order) for:

    >>> from bea import methods
    >>> print(modifying_integrator(methods.explicit_euler, 3))
    f + 1/2 h f'f + 1/6 h² f'f'f + 1/6 h² f''(f, f)
    """
    _check_order(order)
    _warn_if_expensive(order, SUBSTITUTION_WARN_ORDER, "modifying_integrator")
    return modifying_field_series(_map_series(method_or_series, order), order)


def modified_vector_field(
    method: Method | BSeries | str, f: object, y: object, h: sympy.Symbol, order: int
) -> sympy.Matrix:
    """The modified field of ``method`` on ``f`` from the trees with at most ``order`` nodes.

    That is the truncation through :math:`h^{\\text{order}-1}`: its exact time-h flow
    agrees with one step of the method up to :math:`O(h^{\\text{order}+1})`. The implicit
    midpoint rule turns the oscillator :math:`(v, -u)` at frequency :math:`(2/h)\\arctan(h/2)`:

    >>> import sympy
    >>> from bea import methods
    >>> u, v, h = sympy.symbols("u v h")
    >>> modified_vector_field(methods.implicit_midpoint, [v, -u], [u, v], h, 5).T
    Matrix([[h**4*v/80 - h**2*v/12 + v, -h**4*u/80 + h**2*u/12 - u]])

    Reference: Hairer--Lubich--Wanner, sections IX.1 and IX.9.
    """
    _check_order(order)
    return evaluate_field_series(modified_equation(method, order), f, y, h)
