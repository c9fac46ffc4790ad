"""Steppers: every method as a discrete trajectory on torch tensors, one file per method family.

``base`` holds the :class:`Stepper` protocol, the :class:`StepperState` and :func:`stepper_for` (the
builder of a ``bea`` method's stepper); ``runge_kutta`` the Runge--Kutta stepper; ``momentum`` heavy-ball and
Nesterov, ``adaptive`` RMSProp and Adam (torch.optim step for step; ``memory`` holds what they share);
``maps`` one-step maps, compositions, means of maps, SGD epochs and games;
``fields`` turns a loss into its field −∇E and compiles the field of a :class:`bea.methods.Problem`.
Importing the package registers every family's builder with :func:`stepper_for`.
"""

from __future__ import annotations

from numeric.steppers.adaptive import Adam, RMSProp
from numeric.steppers.base import Stepper, StepperState, stepper_for, total_steps
from numeric.steppers.fields import as_field, field_jacobian, negative_gradient
from numeric.steppers.maps import GameStepper, MapStepper, SGDStepper
from numeric.steppers.momentum import MomentumStepper
from numeric.steppers.runge_kutta import RungeKuttaStepper, rk_step

__all__ = [
    "Adam",
    "GameStepper",
    "MapStepper",
    "MomentumStepper",
    "RMSProp",
    "RungeKuttaStepper",
    "SGDStepper",
    "Stepper",
    "StepperState",
    "as_field",
    "field_jacobian",
    "negative_gradient",
    "rk_step",
    "stepper_for",
    "total_steps",
]
