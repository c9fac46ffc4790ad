"""The catalogue of Runge--Kutta methods and B-series methods, and name look-up for the command line.

>>> from bea import methods
>>> methods.by_name("gd") is methods.explicit_euler
True
>>> sorted(methods.NAMES)[:3]
['average_vector_field', 'avf', 'euler']

Partitioned methods (:mod:`bea.methods.partitioned`) have their own table and look-up, so that
``by_name`` keeps returning a :class:`RungeKutta`:

>>> methods.partitioned_by_name("leapfrog") is methods.stormer_verlet
True
"""

from __future__ import annotations

from types import MappingProxyType

from bea.errors import BeaTypeError, UnknownMethodError
from bea.methods.adaptive import Adam, RMSProp
from bea.methods.additive import ADDITIVE, AdditiveRungeKutta, ars_122, ars_222, ars_233, imex_euler
from bea.methods.bseries_method import BSeriesMethod, average_vector_field
from bea.methods.explicit import explicit_euler, explicit_midpoint, heun, kutta3, ralston, rk4, ssprk33
from bea.methods.implicit import gauss_legendre_2, implicit_euler, implicit_midpoint, trapezoid
from bea.methods.momentum import HeavyBall, Nesterov
from bea.methods.partitioned import (
    PARTITIONED,
    PartitionedRungeKutta,
    lobatto_iiia_iiib,
    stormer_verlet,
    stormer_verlet_adjoint,
    symplectic_euler,
    symplectic_euler_adjoint,
    yoshida4,
)
from bea.methods.rungekutta import RungeKutta

__all__ = [
    "ADDITIVE",
    "BSERIES_METHODS",
    "CATALOGUE",
    "NAMES",
    "PARTITIONED",
    "PARTITIONED_NAMES",
    "Adam",
    "AdditiveRungeKutta",
    "BSeriesMethod",
    "HeavyBall",
    "Nesterov",
    "PartitionedRungeKutta",
    "RMSProp",
    "RungeKutta",
    "ars_122",
    "ars_222",
    "ars_233",
    "average_vector_field",
    "by_name",
    "explicit_euler",
    "explicit_midpoint",
    "gauss_legendre_2",
    "heun",
    "imex_euler",
    "implicit_euler",
    "implicit_midpoint",
    "kutta3",
    "lobatto_iiia_iiib",
    "partitioned_by_name",
    "ralston",
    "rk4",
    "ssprk33",
    "stormer_verlet",
    "stormer_verlet_adjoint",
    "symplectic_euler",
    "symplectic_euler_adjoint",
    "trapezoid",
    "yoshida4",
]

def __dir__() -> list[str]:
    """``dir(bea.methods)`` lists the public names only (not the submodules nor what they import)."""
    return sorted(__all__)


CATALOGUE: tuple[RungeKutta, ...] = (
    explicit_euler,
    implicit_euler,
    explicit_midpoint,
    heun,
    ralston,
    kutta3,
    ssprk33,
    rk4,
    implicit_midpoint,
    trapezoid,
    gauss_legendre_2,
)
"""Every method of the catalogue, each under its canonical name (``method.name``)."""

BSERIES_METHODS: tuple[BSeriesMethod, ...] = (average_vector_field,)
"""Catalogue methods given by their B-series (not Runge--Kutta methods)."""

_ALIASES: dict[str, RungeKutta | BSeriesMethod] = {
    "euler": explicit_euler,
    "gd": explicit_euler,
    "proximal_point": implicit_euler,
    "avf": average_vector_field,
}

_CANONICAL: dict[str, RungeKutta | BSeriesMethod] = {
    **{m.name: m for m in CATALOGUE},
    **{m.name: m for m in BSERIES_METHODS},
}
NAMES = MappingProxyType({**_CANONICAL, **_ALIASES})
"""Every accepted name (canonical names and aliases) mapped to its method."""

PARTITIONED_NAMES = MappingProxyType({**{m.name: m for m in PARTITIONED}, "leapfrog": stormer_verlet})
"""Every accepted name of a partitioned method (canonical names and aliases) mapped to it."""


def _key(name: object) -> str:
    if not isinstance(name, str):
        raise BeaTypeError(f"a method name must be a string, got {name!r}")
    return name.strip().lower().replace("-", "_")


def by_name(name: str) -> RungeKutta | BSeriesMethod:
    """The catalogue method called ``name`` (canonical name or alias, case-insensitive).

    Gradient descent with learning rate h is explicit Euler on :math:`-\\nabla E`, hence the
    alias ``gd``; the proximal-point method is implicit Euler:

    >>> by_name("Proximal-Point").name, by_name(" RK4 ") is rk4
    ('implicit_euler', True)
    >>> by_name("adam")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    bea.errors.UnknownMethodError: unknown method 'adam'; known methods: average_vector_field, avf, euler, ...

    Reference: Hairer--Nørsett--Wanner, *Solving Ordinary Differential Equations I*, section II.1.
    """
    key = _key(name)
    try:
        return NAMES[key]
    except KeyError:
        raise UnknownMethodError(f"unknown method {name!r}; known methods: {', '.join(sorted(NAMES))}") from None


def partitioned_by_name(name: str) -> PartitionedRungeKutta:
    """The partitioned method called ``name`` (canonical name or alias, case-insensitive).

    >>> partitioned_by_name("Stormer-Verlet") is partitioned_by_name("leapfrog")
    True
    >>> partitioned_by_name("rk4")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    bea.errors.UnknownMethodError: unknown partitioned method 'rk4'; known partitioned methods: leapfrog, ...

    Reference: Hairer--Lubich--Wanner, *Geometric Numerical Integration*, 2nd ed., sections II.2 and VI.3.
    """
    key = _key(name)
    try:
        return PARTITIONED_NAMES[key]
    except KeyError:
        raise UnknownMethodError(
            f"unknown partitioned method {name!r}; known partitioned methods: {', '.join(sorted(PARTITIONED_NAMES))}"
        ) from None
