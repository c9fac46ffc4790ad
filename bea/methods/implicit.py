"""Implicit Runge--Kutta methods of the catalogue.

Implicit Euler applied to :math:`f = -\\nabla E` is the proximal point method
:math:`\\theta_{1} = \\arg\\min_\\theta E(\\theta) + \\|\\theta - \\theta_0\\|^2/(2h)`.
Gauss--Legendre tableau from Hairer--Wanner, *Solving ODEs II*, section IV.5.
"""

from __future__ import annotations

from sympy import Rational as R
from sympy import sqrt

from bea.methods.rungekutta import RungeKutta

__all__ = ["gauss_legendre_2", "implicit_euler", "implicit_midpoint", "trapezoid"]

implicit_euler = RungeKutta([[1]], [1], name="implicit_euler")
"""Implicit Euler, :math:`y_1 = y_0 + h f(y_1)`; order 1. On :math:`f=-\\nabla E`: the proximal point method."""

implicit_midpoint = RungeKutta([[R(1, 2)]], [1], name="implicit_midpoint")
"""Implicit midpoint rule (1-stage Gauss); symmetric and symplectic, order 2."""

trapezoid = RungeKutta([[0, 0], [R(1, 2), R(1, 2)]], [R(1, 2), R(1, 2)], name="trapezoid")
"""Trapezoidal rule (Lobatto IIIA, 2 stages); symmetric, order 2."""

_d = sqrt(3) / 6
gauss_legendre_2 = RungeKutta(
    [[R(1, 4), R(1, 4) - _d], [R(1, 4) + _d, R(1, 4)]], [R(1, 2), R(1, 2)], name="gauss_legendre_2"
)
"""Two-stage Gauss--Legendre method; symmetric and symplectic, order 4."""
