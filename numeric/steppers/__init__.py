"""Steppers: every method as a discrete trajectory on torch tensors, one file per method family.

``base`` holds the :class:`Stepper` protocol, the :class:`StepperState` and :func:`stepper_for` (the
builder of a ``bea`` method's stepper); ``runge_kutta`` the Runge--Kutta stepper; ``fields`` turns a
loss into its field −∇E.
"""

from __future__ import annotations

from numeric.steppers.base import Stepper, StepperState, stepper_for
from numeric.steppers.fields import as_field, field_jacobian, negative_gradient
from numeric.steppers.runge_kutta import RungeKuttaStepper, rk_step

__all__ = [
    "RungeKuttaStepper",
    "Stepper",
    "StepperState",
    "as_field",
    "field_jacobian",
    "negative_gradient",
    "rk_step",
    "stepper_for",
]
