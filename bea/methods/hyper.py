"""Validation of optimiser hyperparameters (decay rates β, ε, learning-rate factors), shared by every method.

One rule, used by every constructor of :mod:`bea.methods` that takes a hyperparameter
(:class:`~bea.methods.HeavyBall`, :class:`~bea.methods.Nesterov`, :class:`~bea.methods.RMSProp`,
:class:`~bea.methods.Adam`: :func:`exact_decay`, :func:`exact_positive`; :class:`~bea.methods.GameGD`'s rates:
:func:`hyperparameter` with ``symbolic=True``), and its float twin for the torch steppers of
:mod:`numeric.steppers`:

* accepted: int, :class:`fractions.Fraction`, ``sympy.Rational``, and strings read by bea's safe parser
  (:func:`bea.parsing.parse_loss`: ``"9/10"``, ``"0.999"`` and ``"1e-8"`` are exact rationals); SymPy symbols and
  expressions (or strings naming them) only where the method's derivation supports them (``symbolic=True``: the
  rates of a game, whose Lie-series matching is symbolic; the slow-manifold expansion of the optimisers with memory
  needs rational decay rates);
* refused: floats (0.9 is not 9/10 in binary; pass ``"0.9"`` or ``Fraction(9, 10)``) and bools
  (:class:`~bea.errors.BeaTypeError`), anything else that is not an exact expression
  (:func:`bea.validation.exact_expression`);
* ranges: a decay rate (heavy-ball's β, Adam's β₁ and β₂, RMSProp's β₂ = torch's ``alpha``) lies in [0, 1);
  ε and a learning-rate factor are > 0 (:class:`~bea.errors.HyperparameterValueError`; a symbolic value is
  checked where its sign is known).

>>> exact_decay("beta", "9/10"), exact_positive("eps", "1e-8")
(9/10, 1/100000000)
>>> hyperparameter("rate", "alpha/2", kind="positive", symbolic=True)
alpha/2
>>> float_decay("beta1", 1.0)
Traceback (most recent call last):
...
bea.errors.HyperparameterValueError: beta1 must lie in [0, 1), got 1.0
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Literal

import sympy

from bea.errors import BeaTypeError, BeaValueError, HyperparameterValueError
from bea.validation import exact_expression

__all__ = [
    "exact_decay",
    "exact_positive",
    "exact_rational",
    "float_decay",
    "float_positive",
    "hyperparameter",
    "hyperparameter_line",
    "hyperparameter_record",
]


def hyperparameter(name: str, value: object, *, kind: Literal["decay", "positive", "any"] = "any",
                   symbolic: bool = False) -> sympy.Expr:
    """``value`` as an exact hyperparameter by bea's one rule (module documentation); ``name`` names it in errors.

    ``kind``: ``"decay"`` (in [0, 1)), ``"positive"`` (> 0) or ``"any"``. ``symbolic``: whether symbols and
    non-rational expressions are allowed (else :class:`~bea.errors.BeaTypeError` saying a rational is needed).
    Returns a ``sympy.Rational``, or (``symbolic=True``) any exact expression.
    """
    if isinstance(value, bool):
        raise BeaTypeError(f"{name} must be an exact rational, got {value!r}")
    if isinstance(value, float):
        raise BeaTypeError(f"{name} = {value!r} is a float; bea is exact: pass a string such as '{float(value)!r}' "
                           "or a fractions.Fraction")
    if isinstance(value, str):
        from bea.parsing import parse_loss

        try:
            expr = parse_loss(value)
        except BeaValueError as error:
            raise BeaValueError(f"{name} must be a rational number such as 9/10 or 0.999, got {value!r}: "
                                f"{error}") from None
    elif isinstance(value, Fraction):
        expr = sympy.Rational(value.numerator, value.denominator)
    else:
        expr = exact_expression(value, name)
    if not isinstance(expr, sympy.Rational) and not symbolic:
        raise BeaTypeError(f"{name} must be a rational number (int, Fraction, sympy.Rational or a string such as "
                           f"'9/10'), got {value!r}: this method's expansion needs an exact rational value")
    if kind == "decay" and not (_known(expr >= 0) and _known(expr < 1)):
        raise HyperparameterValueError(f"{name} must lie in [0, 1), got {expr}")
    if kind == "positive" and not _known(expr > 0):
        raise HyperparameterValueError(f"{name} must be > 0, got {expr}")
    return expr


def _known(relation: object) -> bool:
    """False only where SymPy decides ``relation`` is false (a symbolic value of unknown sign passes)."""
    return relation is not sympy.false


def exact_rational(name: str, value: object) -> sympy.Rational:
    """``value`` as an exact :class:`sympy.Rational` (:func:`hyperparameter` with ``symbolic=False``)."""
    out = hyperparameter(name, value)
    assert isinstance(out, sympy.Rational)
    return out


def exact_decay(name: str, value: object) -> sympy.Rational:
    """A decay rate as an exact rational in [0, 1); :class:`HyperparameterValueError` otherwise."""
    out = hyperparameter(name, value, kind="decay")
    assert isinstance(out, sympy.Rational)
    return out


def exact_positive(name: str, value: object) -> sympy.Rational:
    """An exact rational > 0 (ε); :class:`HyperparameterValueError` otherwise."""
    out = hyperparameter(name, value, kind="positive")
    assert isinstance(out, sympy.Rational)
    return out


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


def hyperparameter_record(method: object) -> dict[str, object]:
    """What a report records of ``method``'s hyperparameters, the same in ``bea derive`` and ``bea verify``.

    ``{"hyperparameters": {name: exact text}}`` under the names ``--hyper`` takes (``{}`` for a method without
    any), plus ``"eps_inside": bool`` for the methods that have the flag (RMSProp, Adam).

    >>> from bea import methods
    >>> hyperparameter_record(methods.HeavyBall(beta="9/10"))
    {'hyperparameters': {'beta': '9/10'}}
    >>> hyperparameter_record(methods.explicit_euler)
    {'hyperparameters': {}}
    """
    values = dict(getattr(method, "hyperparameters", {}))
    record: dict[str, object] = {"hyperparameters": {name: str(value) for name, value in values.items()}}
    eps_inside = getattr(method, "eps_inside", None)
    if eps_inside is not None:
        record["eps_inside"] = bool(eps_inside)
    return record


def hyperparameter_line(record: dict[str, object]) -> str | None:
    """The text line of a :func:`hyperparameter_record`, written as ``--hyper`` takes it (so that it can be pasted
    back); ``None`` for a method without hyperparameters.

    >>> from bea import methods
    >>> hyperparameter_line(hyperparameter_record(methods.Adam()))
    'hyperparameters beta1=9/10 beta2=999/1000 eps=1/100000000 (eps outside the root)'
    """
    values = record.get("hyperparameters")
    if not isinstance(values, dict) or not values:
        return None
    eps_inside = record.get("eps_inside")
    where = "" if eps_inside is None else (" (--eps-inside)" if eps_inside else " (eps outside the root)")
    return f"hyperparameters {' '.join(f'{k}={v}' for k, v in values.items())}{where}"
