"""The small hierarchy of errors and warnings that bea raises.

Every error is a ``ValueError`` or ``TypeError`` subclass (``MissingExtraError``, an
``ImportError``, excepted), so callers that already catch those keep working, and its
message names the offending value.
"""

from __future__ import annotations

import warnings

__all__ = [
    "BeaError",
    "BeaTypeError",
    "BeaValueError",
    "ExpensiveComputationWarning",
    "HyperparameterValueError",
    "InvalidLossError",
    "InvalidMapError",
    "InvalidOrderError",
    "InvalidStepSizeError",
    "InvalidTableauError",
    "InvalidToleranceError",
    "InvalidTreeError",
    "InvalidTruncationError",
    "MissingExtraError",
    "NonSmoothPointError",
    "NonSmoothWarning",
    "NotABSeriesMethodError",
    "NotAGradientFieldError",
    "NotHamiltonianError",
    "OutputError",
    "ParseError",
    "SeriesError",
    "UnknownMethodError",
]


class BeaError(Exception):
    """Base class of every error raised by bea."""


class BeaValueError(BeaError, ValueError):
    """A value of the right type but not acceptable (bad order, bad sequence, ...)."""


class BeaTypeError(BeaError, TypeError):
    """An argument of the wrong type (a float where an exact value is needed, ...)."""


class InvalidTreeError(BeaValueError):
    """A sequence that is not the level sequence of a rooted tree."""


class InvalidTableauError(BeaValueError):
    """A Butcher tableau with mismatched shapes or violated consistency conditions."""


class InvalidOrderError(BeaValueError):
    """An order (number of nodes of a tree or series) out of range, e.g. 0 trees' nodes."""


class InvalidTruncationError(BeaValueError):
    """A truncation p (keep the terms through h^p) out of range: p < 0, or beyond what a flow holds."""


class InvalidStepSizeError(BeaValueError):
    """A step size h that is not a positive finite number (h ≤ 0, NaN, ∞)."""


class InvalidToleranceError(BeaValueError):
    """A tolerance that is not a positive finite number."""


class OutputError(BeaValueError):
    """An output path that is empty, of the wrong kind, not writable, or holds a result kept without
    ``overwrite``; or a file that cannot be read back (the OS error is named). Raised by
    :mod:`numeric.outputs` and :mod:`numeric.reproduce`."""


class HyperparameterValueError(BeaValueError):
    """An optimiser hyperparameter out of range: a decay rate β outside [0, 1), an ε ≤ 0."""


class UnknownMethodError(BeaValueError):
    """A method name that the catalogue does not know."""


class SeriesError(BeaValueError):
    """B-series that cannot be combined (wrong kind, mismatched orders, ...)."""


class ParseError(BeaValueError):
    """Text that :mod:`bea.parsing` refuses to turn into a SymPy object.

    ``position`` is the 0-based index in ``text`` where the problem was found
    (``len(text)`` for "unexpected end of input"); the message names it and the
    offending token.
    """

    def __init__(self, message: str, *, position: int, text: str) -> None:
        super().__init__(message)
        self.position = position
        self.text = text

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_parse_error, (str(self), self.position, self.text))


def _rebuild_parse_error(message: str, position: int, text: str) -> ParseError:
    return ParseError(message, position=position, text=text)


class ExpensiveComputationWarning(UserWarning):
    """A requested computation is expected to take more than about a minute."""


class NotAGradientFieldError(BeaValueError):
    """A modified field term whose Jacobian is not symmetric, so no modified loss exists.

    Attributes ``power`` (the power of h whose term fails) and ``antisymmetric_part`` (the
    SymPy matrix :math:`(J - J^T)/2` of that term's Jacobian). ``order`` is a deprecated
    name of ``power``.
    """

    def __init__(self, message: str, power: int, antisymmetric_part: object) -> None:
        super().__init__(message)
        self.power = power
        self.antisymmetric_part = antisymmetric_part

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (str(self), self.power, self.antisymmetric_part))

    @property
    def order(self) -> int:
        """Deprecated name of :attr:`power`."""
        warnings.warn("NotAGradientFieldError.order is deprecated, use .power", DeprecationWarning, stacklevel=2)
        return self.power


class NotHamiltonianError(BeaValueError):
    """A modified-equation term that is not a Hamiltonian vector field, so no modified Hamiltonian exists.

    Attributes ``power`` (the first power of h whose term fails; a modified Hamiltonian exists through
    ``power - 1``) and ``antisymmetric_part`` (the SymPy matrix :math:`(J - J^T)/2` of the Jacobian of
    that term's would-be gradient :math:`(-f^p, f^q)`).
    """

    def __init__(self, message: str, power: int, antisymmetric_part: object) -> None:
        super().__init__(message)
        self.power = power
        self.antisymmetric_part = antisymmetric_part

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (str(self), self.power, self.antisymmetric_part))


class InvalidLossError(BeaValueError):
    """A loss or parameter list that cannot define a modified flow."""


class NotABSeriesMethodError(BeaTypeError):
    """A tree-only feature (B-series, tree coefficients, loss-derivative form) asked of a method that has no
    B-series: a one-step map, a composition of steps, a method with memory."""


class InvalidMapError(BeaValueError):
    """A one-step map that bea cannot expand: not the identity at h = 0, not smooth in h at 0, or with
    a number of components that differs from the number of parameters."""


class MissingExtraError(BeaError, ImportError):
    """A command needs an optional extra (the torch backend) that is not installed."""


class NonSmoothPointError(BeaValueError):
    """A modified flow asked for at a point where it is not defined: e.g. torch's Adam/RMSProp (ε outside the
    square root) where a gradient component vanishes, since √v = |∂_jE| is not differentiable at 0."""


class NonSmoothWarning(UserWarning):
    """A loss uses a non-smooth function (abs, max, min); backward error analysis assumes a smooth loss."""
