"""Validation of optimiser hyperparameters (decay rates β, ε), shared by the exact and the numeric code.

One check, used by :mod:`bea.methods.momentum`, :mod:`bea.methods.adaptive` (exact rationals) and the
torch steppers of :mod:`numeric.steppers` (floats):

* a decay rate (heavy-ball's β, Adam's β₁ and β₂, RMSProp's β₂ = torch's ``alpha``) lies in [0, 1);
* ε (Adam, RMSProp) is > 0.

>>> exact_decay("beta", "9/10"), exact_positive("eps", "1e-8")
(9/10, 1/100000000)
>>> float_decay("beta1", 1.0)
Traceback (most recent call last):
...
bea.errors.HyperparameterValueError: beta1 must lie in [0, 1), got 1.0
"""

from __future__ import annotations

import math
from fractions import Fraction

import sympy

from bea.errors import BeaTypeError, BeaValueError, HyperparameterValueError

__all__ = [
    "exact_decay",
    "exact_positive",
    "exact_rational",
    "float_decay",
    "float_positive",
]


def exact_rational(name: str, value: object) -> sympy.Rational:
    """``value`` as an exact :class:`sympy.Rational`.

    Accepts int, :class:`fractions.Fraction`, ``sympy.Rational`` and strings such as ``"9/10"``,
    ``"0.999"`` or ``"1e-8"`` (read exactly as decimals). Floats raise :class:`BeaTypeError`
    (0.9 is not 9/10 in binary; pass ``"0.9"`` or ``Fraction(9, 10)``).
    """
    if isinstance(value, bool):
        raise BeaTypeError(f"{name} must be an exact rational, got {value!r}")
    if isinstance(value, float):
        raise BeaTypeError(f"{name} = {value!r} is a float; bea is exact: pass a string such as '{value!r}' "
                           "or a fractions.Fraction")
    if isinstance(value, (int, sympy.Integer)):
        return sympy.Rational(int(value))
    if isinstance(value, Fraction):
        return sympy.Rational(value.numerator, value.denominator)
    if isinstance(value, sympy.Rational):
        return value
    if isinstance(value, str):
        try:
            frac = Fraction(value.strip())
        except (ValueError, ZeroDivisionError):
            raise BeaValueError(f"{name} must be a rational number such as 9/10 or 0.999, got {value!r}") from None
        return sympy.Rational(frac.numerator, frac.denominator)
    raise BeaTypeError(f"{name} must be an exact rational (int, Fraction, sympy.Rational or str), got {value!r}")


def exact_decay(name: str, value: object) -> sympy.Rational:
    """A decay rate as an exact rational in [0, 1); :class:`HyperparameterValueError` otherwise."""
    beta = exact_rational(name, value)
    if not 0 <= beta < 1:
        raise HyperparameterValueError(f"{name} must lie in [0, 1), got {beta}")
    return beta


def exact_positive(name: str, value: object) -> sympy.Rational:
    """An exact rational > 0 (ε); :class:`HyperparameterValueError` otherwise."""
    eps = exact_rational(name, value)
    if not eps > 0:
        raise HyperparameterValueError(f"{name} must be > 0, got {eps}")
    return eps


def _float(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, Fraction, sympy.Rational)):
        raise BeaTypeError(f"{name} must be a real number, got {value!r}")
    out = float(value)
    if not math.isfinite(out):
        raise HyperparameterValueError(f"{name} must be finite, got {value!r}")
    return out


def float_decay(name: str, value: object) -> float:
    """A decay rate as a float in [0, 1); :class:`HyperparameterValueError` otherwise."""
    beta = _float(name, value)
    if not 0 <= beta < 1:
        raise HyperparameterValueError(f"{name} must lie in [0, 1), got {value!r}")
    return beta


def float_positive(name: str, value: object) -> float:
    """A float > 0 (ε, a learning rate); :class:`HyperparameterValueError` otherwise."""
    out = _float(name, value)
    if not out > 0:
        raise HyperparameterValueError(f"{name} must be > 0, got {value!r}")
    return out
