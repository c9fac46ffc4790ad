r"""P-series of partitioned and additive Runge--Kutta methods: algebra, modified equations, concrete fields.

* :mod:`bea.pseries.series`: :class:`PSeries`, the series of a method and of the exact flow,
  composition and substitution;
* :mod:`bea.pseries.modified`: modified equations and modifying integrators;
* :mod:`bea.pseries.differentials`: elementary differentials and modified fields on SymPy fields.

Normalisation as for :class:`bea.BSeries`: a map series stands for
:math:`q \mapsto q + \sum_{T_q} h^{|\tau|} a(\tau)/\sigma(\tau)\, F(\tau)` and
:math:`p \mapsto p + \sum_{T_p} h^{|\tau|} a(\tau)/\sigma(\tau)\, F(\tau)` (HLW section III.2);
see ``docs/conventions.md``, section "P-series".

>>> from bea import methods
>>> from bea.pseries import modified_equation
>>> print(modified_equation(methods.symplectic_euler_adjoint, 2))
q: f + 1/2 h f_q f - 1/2 h f_p g
p: g + 1/2 h g_q f - 1/2 h g_p g
"""

from __future__ import annotations

from bea.pseries.differentials import (
    BicolouredDifferentials,
    additive_modified_vector_field,
    elementary_differential,
    modified_vector_field,
)
from bea.pseries.modified import modified_equation, modifying_integrator
from bea.pseries.series import PSeries, PSeriesMethod, compose, exact_solution, pseries, substitute

__all__ = [
    "BicolouredDifferentials",
    "PSeries",
    "PSeriesMethod",
    "additive_modified_vector_field",
    "compose",
    "elementary_differential",
    "exact_solution",
    "modified_equation",
    "modified_vector_field",
    "modifying_integrator",
    "pseries",
    "substitute",
]
