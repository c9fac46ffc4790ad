"""numeric: the torch backend of bea (emitted functions, autodiff, drift checks).

Needs the optional ``torch`` extra: ``pip install -c constraints.txt -e .[torch]``.

The public names below are imported lazily (PEP 562 module ``__getattr__``): ``import numeric`` costs
nothing, and a name's module (with torch, if it needs it) is imported the first time the name is used,
so ``numeric.drift_check`` on a small float64 CPU problem runs without importing torch at all
(see :func:`numeric.drift.drift_check`). ``dir(numeric)`` lists every name of ``__all__``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

#: The module of each public name, imported at the name's first use.
_MODULES = {
    "ModifiedField": "autodiff", "field_plan": "autodiff",
    "CompiledField": "codegen", "compile_field": "codegen",
    "DriftReport": "drift", "autodiff_fields": "drift", "drift_check": "drift", "expected_slope": "drift",
    "flow_fields": "drift",
    "DoubleBackprop": "egr", "FiniteDifference": "egr", "egr_gradient": "egr", "egr_step": "egr",
    "EnergyReport": "energy", "energy_check": "energy", "plot_energy": "energy",
    "Robustness": "flatness", "SlopeRecorder": "flatness", "gradient_norm": "flatness",
    "perturbation_robustness": "flatness",
    "igr_loss": "igr", "igr_rate": "igr", "r_ig": "igr", "r_ig_module": "igr",
    "integrate_flow": "integrate",
    "OptimiserField": "optimiser_fields",
    "run_partitioned": "partitioned",
    "Trajectory": "trajectories", "gradient_descent": "trajectories", "run_method": "trajectories",
}


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
