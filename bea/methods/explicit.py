"""Explicit Runge--Kutta methods of the catalogue.

Tableaux from Hairer--Nørsett--Wanner, *Solving ODEs I*, section II.1, and
Gottlieb--Shu (1998) for SSPRK(3,3). Explicit Euler applied to
:math:`f = -\\nabla E` is gradient descent with learning rate h.
"""

from __future__ import annotations

from sympy import Rational as R

from bea.methods.rungekutta import RungeKutta

__all__ = ["explicit_euler", "explicit_midpoint", "heun", "kutta3", "ralston", "rk4", "ssprk33"]

explicit_euler = RungeKutta([[0]], [1], name="explicit_euler")
"""Explicit Euler, :math:`y_1 = y_0 + h f(y_0)`; order 1. On :math:`f = -\\nabla E`: gradient descent."""

explicit_midpoint = RungeKutta([[0, 0], [R(1, 2), 0]], [0, 1], name="explicit_midpoint")
"""Explicit midpoint rule (Runge's method); order 2."""

heun = RungeKutta([[0, 0], [1, 0]], [R(1, 2), R(1, 2)], name="heun")
"""Heun's method (explicit trapezoidal rule); order 2."""

ralston = RungeKutta([[0, 0], [R(2, 3), 0]], [R(1, 4), R(3, 4)], name="ralston")
"""Ralston's second-order method (minimal error bound); order 2."""

kutta3 = RungeKutta(
    [[0, 0, 0], [R(1, 2), 0, 0], [-1, 2, 0]], [R(1, 6), R(2, 3), R(1, 6)], name="kutta3"
)
"""Kutta's third-order method (1901); order 3."""

ssprk33 = RungeKutta(
    [[0, 0, 0], [1, 0, 0], [R(1, 4), R(1, 4), 0]], [R(1, 6), R(1, 6), R(2, 3)], name="ssprk33"
)
"""Strong-stability-preserving SSPRK(3,3) of Shu--Osher; order 3."""

rk4 = RungeKutta(
    [[0, 0, 0, 0], [R(1, 2), 0, 0, 0], [0, R(1, 2), 0, 0], [0, 0, 1, 0]],
    [R(1, 6), R(1, 3), R(1, 3), R(1, 6)],
    name="rk4",
)
"""The classical fourth-order Runge--Kutta method; order 4."""
