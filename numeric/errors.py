"""Errors of the numeric backend, all subclasses of the :mod:`bea.errors` hierarchy.

So the CLI (which catches :class:`bea.errors.BeaError`) prints one line and exits 2,
and callers catching ``ValueError``/``TypeError`` keep working.
"""

from __future__ import annotations

from bea.errors import BeaTypeError, BeaValueError

__all__ = [
    "ConvergenceError",
    "DeviceError",
    "HyperparameterError",
    "ModifiedSeriesWarning",
    "NumericTypeError",
    "ShapeError",
    "UnboundSymbolError",
    "UnknownBackendError",
]


class DeviceError(BeaValueError):
    """An unknown device string, or a device (CUDA, MPS) that is not available here."""


class HyperparameterError(BeaValueError):
    """A step size, penalty weight, finite-difference step, noise scale or count out of its range.

    E.g. h ≤ 0 or NaN, μ < 0, a non-positive number of parameters or draws, an unknown EGR mode name.
    """


class ShapeError(BeaValueError):
    """An array whose shape does not match the parameters (e.g. θ of length 3 for 2 params)."""


class UnboundSymbolError(BeaValueError):
    """A compiled field called while a data symbol (or h) still has no value."""


class UnknownBackendError(BeaValueError):
    """A backend name other than ``"torch"`` or ``"numpy"``."""


class ConvergenceError(BeaValueError):
    """The stage equations of an implicit method could not be solved to the requested tolerance."""


class NumericTypeError(BeaTypeError):
    """An argument of the wrong type for the numeric backend (a string for θ, an integer dtype, ...)."""


class ModifiedSeriesWarning(UserWarning):
    """h·λ_max ≥ 1: the truncated modified series is not expected to describe the method."""
