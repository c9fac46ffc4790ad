"""Methods of every kind, side by side: the :class:`Method` protocol, the :class:`Problem` a method is
applied to, the catalogue of Runge--Kutta and B-series methods, and :func:`resolve` (a method or its name).

One file per family: ``base`` (the protocol), ``rungekutta`` (tableaux; ``explicit`` and ``implicit``
hold the catalogue), ``bseries_method`` (methods given by their B-series), ``partitioned``. Every
entry point of bea and numeric that takes a method takes a catalogue name as well, through
:func:`resolve`.

>>> from bea import methods
>>> methods.by_name("gd") is methods.explicit_euler
True
>>> methods.resolve("rk4") is methods.rk4, methods.resolve(methods.heun) is methods.heun
(True, True)
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
from bea.methods.base import Method, Problem, check_truncation
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
    "CONSTRUCT",
    "NAMES",
    "PARTITIONED",
    "PARTITIONED_NAMES",
    "Adam",
    "AdditiveRungeKutta",
    "BSeriesMethod",
    "HeavyBall",
    "Method",
    "Nesterov",
    "PartitionedRungeKutta",
    "Problem",
    "RMSProp",
    "RungeKutta",
    "ars_122",
    "ars_222",
    "ars_233",
    "average_vector_field",
    "by_name",
    "check_truncation",
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
    "resolve",
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
    >>> by_name("rk5")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    bea.errors.UnknownMethodError: unknown method 'rk5'; known methods: average_vector_field, avf, euler, ...

    Methods that need hyperparameters or minibatch losses are objects, not names (:data:`CONSTRUCT`):

    >>> by_name("adam")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    bea.errors.UnknownMethodError: the method 'adam' is not known by its name alone: construct bea.methods.Adam(...

    Reference: Hairer--Nørsett--Wanner, *Solving Ordinary Differential Equations I*, section II.1.
    """
    key = _key(name)
    if key in CONSTRUCT:
        raise UnknownMethodError(f"the method {name!r} is not known by its name alone: construct "
                                 f"{CONSTRUCT[key]} and pass that object")
    try:
        return NAMES[key]
    except KeyError:
        raise UnknownMethodError(f"unknown method {name!r}; known methods: {', '.join(sorted(NAMES))}") from None


CONSTRUCT = MappingProxyType({
    "sgd": "bea.methods.maps.SGD('random' or 'fixed') (it runs on Problem.minibatches([E_1, ..., E_m], params))",
    "sgd_random": "bea.methods.maps.SGD('random') (it runs on Problem.minibatches([E_1, ..., E_m], params))",
    "sgd_fixed": "bea.methods.maps.SGD('fixed') (it runs on Problem.minibatches([E_1, ..., E_m], params))",
    "heavy_ball": "bea.methods.HeavyBall(beta) with an exact beta, e.g. HeavyBall('9/10')",
    "momentum": "bea.methods.HeavyBall(beta) with an exact beta, e.g. HeavyBall('9/10')",
    "nesterov": "bea.methods.Nesterov(beta) with an exact beta, e.g. Nesterov('9/10')",
    "rmsprop": "bea.methods.RMSProp(beta2, eps[, eps_inside]) with exact values",
    "adam": "bea.methods.Adam(beta1, beta2, eps[, eps_inside]) with exact values",
    "simultaneous_gd": "bea.methods.games.GameGD(rates) (it runs on Problem.game([...]))",
    "alternating_gd": "bea.methods.games.GameGD(rates, alternating=True) (it runs on Problem.game([...]))",
    "map": "bea.methods.maps.OneStepMap(images, params)",
})
"""Names of methods that need hyperparameters, minibatch losses or formulas, with what to construct instead:
:func:`by_name` (hence every entry point, through :func:`resolve`) refuses them with that advice."""


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


def resolve(method: Method | str) -> Method:
    """The method itself, or the catalogue method of that name (see :func:`by_name`).

    The one rule of bea and numeric: wherever a method is accepted, its catalogue name is accepted
    too. Anything else that is not a :class:`Method` (no ``name``, ``modified_terms`` and
    ``bseries``) raises :class:`~bea.errors.BeaTypeError`; an unknown name
    :class:`~bea.errors.UnknownMethodError`, and so does the name of a method that needs hyperparameters,
    minibatch losses or formulas (``"sgd"``, ``"heavy_ball"``, ``"adam"``...: :data:`CONSTRUCT`), with what to
    construct instead. (The CLI builds those objects from ``--hyper``, repeated ``--loss`` and ``--map``.)

    >>> resolve("Explicit-Midpoint").name
    'explicit_midpoint'
    >>> resolve(3)
    Traceback (most recent call last):
    ...
    bea.errors.BeaTypeError: expected a method (bea.methods.Method) or a method name, got 3 (int)
    """
    if isinstance(method, str):
        return by_name(method)
    if isinstance(method, Method):
        return method
    raise BeaTypeError(
        f"expected a method (bea.methods.Method) or a method name, got {method!r} ({type(method).__name__})"
    )
