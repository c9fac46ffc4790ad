"""bea: backward error analysis of optimisers and numerical integrators, exactly.

The symbolic engine: rooted trees, B-series of Runge--Kutta methods, modified
equations to any order, and modified flows of concrete losses. Importing ``bea``
never imports torch; the numeric backend lives in the ``numeric`` package.
"""

from __future__ import annotations

from bea import methods
from bea.differentials import elementary_differential, evaluate_field_series
from bea.flows import ModifiedFlow, ModifiedLoss, modified_flow
from bea.gradient_form import loss_derivative_form
from bea.methods import Method, Problem, RungeKutta
from bea.modified import bseries, modified_equation, modified_vector_field, modifying_integrator
from bea.series import BSeries, compose, exact_solution, substitute
from bea.trees import Tree, butcher_product, count_trees, trees, trees_up_to

__all__ = [
    "BSeries",
    "Method",
    "ModifiedFlow",
    "ModifiedLoss",
    "Problem",
    "RungeKutta",
    "Tree",
    "bseries",
    "butcher_product",
    "compose",
    "count_trees",
    "elementary_differential",
    "evaluate_field_series",
    "exact_solution",
    "loss_derivative_form",
    "methods",
    "modified_equation",
    "modified_flow",
    "modified_vector_field",
    "modifying_integrator",
    "substitute",
    "trees",
    "trees_up_to",
]

__version__ = "0.1.0"
