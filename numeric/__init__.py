"""numeric: the torch backend of bea (emitted functions, autodiff, drift checks).

Needs the optional ``torch`` extra: ``pip install -c constraints.txt -e .[torch]``.
"""

from __future__ import annotations

from numeric.codegen import CompiledField, compile_field
from numeric.drift import DriftReport, autodiff_fields, drift_check, expected_slope, flow_fields
from numeric.integrate import integrate_flow
from numeric.trajectories import Trajectory, gradient_descent, run_method

compile = compile_field

__all__ = [
    "CompiledField",
    "DriftReport",
    "Trajectory",
    "autodiff_fields",
    "compile",
    "compile_field",
    "drift_check",
    "expected_slope",
    "flow_fields",
    "gradient_descent",
    "integrate_flow",
    "run_method",
]
