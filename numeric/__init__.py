"""numeric: the torch backend of bea (emitted functions, autodiff, drift checks).

Needs the optional ``torch`` extra: ``pip install -c constraints.txt -e .[torch]``.
"""

from __future__ import annotations

from numeric.autodiff import ModifiedField, field_plan
from numeric.codegen import CompiledField, compile_field
from numeric.drift import DriftReport, autodiff_fields, drift_check, expected_slope, flow_fields
from numeric.egr import DoubleBackprop, FiniteDifference, egr_gradient, egr_step
from numeric.energy import EnergyReport, energy_check, plot_energy
from numeric.flatness import Robustness, SlopeRecorder, gradient_norm, perturbation_robustness
from numeric.igr import igr_loss, igr_rate, r_ig, r_ig_module
from numeric.integrate import integrate_flow
from numeric.optimiser_fields import OptimiserField
from numeric.partitioned import run_partitioned
from numeric.trajectories import Trajectory, gradient_descent, run_method

__all__ = [
    "CompiledField",
    "DoubleBackprop",
    "DriftReport",
    "EnergyReport",
    "FiniteDifference",
    "ModifiedField",
    "OptimiserField",
    "Robustness",
    "SlopeRecorder",
    "Trajectory",
    "autodiff_fields",
    "compile_field",
    "drift_check",
    "egr_gradient",
    "egr_step",
    "energy_check",
    "expected_slope",
    "field_plan",
    "flow_fields",
    "gradient_descent",
    "gradient_norm",
    "igr_loss",
    "igr_rate",
    "integrate_flow",
    "perturbation_robustness",
    "plot_energy",
    "r_ig",
    "r_ig_module",
    "run_method",
    "run_partitioned",
]
