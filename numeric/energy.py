r"""Long-time energy behaviour of a method's trajectory, explained by its modified Hamiltonian.

A symplectic method of order r conserves the modified Hamiltonian :math:`\tilde H` up to exponentially small
terms over exponentially long times (Hairer--Lubich--Wanner, *Geometric Numerical Integration*, 2nd ed.,
Theorem IX.8.1), so along its trajectory the energy error :math:`|H(y_n) - H(y_0)|` stays bounded (no drift),
and the truncation :math:`\tilde H_p = \sum_{k \le p} h^k H_{k+1}` is conserved up to the next terms:
:math:`|\tilde H_p(y_n) - \tilde H_p(y_0)| = O(h^{p+1})` uniformly in n (better when those terms vanish).

:func:`energy_check` runs the method (float64 by default, all step sizes at once as a batch, with
:func:`numeric.partitioned.run_partitioned`) and fits, for every truncation p, the slope of
:math:`\log \max_n |\tilde H_p(y_n) - \tilde H_p(y_0)|` against :math:`\log h`. :func:`plot_energy` draws the
energy error against time for two methods (by default RK4 and Störmer--Verlet), with the conservation of
:math:`\tilde H` by the second overlaid.

>>> import sympy, bea.hamiltonian as bh
>>> q, p = sympy.symbols("q p")
>>> mh = bh.modified_hamiltonian("stormer_verlet", p**2/2 - sympy.cos(q), [q], [p], truncation=2)
>>> report = energy_check(mh, [1.0, 0.0], hs=(0.2, 0.1), n_steps=200)
>>> report.slopes[2] > 3.5     # h^2 H_3 explains the energy error; the rest is O(h^4)
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sympy
import torch
from torch import Tensor

from bea.hamiltonian import ModifiedHamiltonian, hamiltonian_vector_field, method_by_name
from numeric.codegen import get_backend
from numeric.devices import resolve_device, resolve_dtype
from numeric.errors import NumericTypeError, ShapeError
from numeric.partitioned import run_partitioned

__all__ = ["EnergyReport", "energy_check", "energy_errors", "plot_energy"]


@dataclass(frozen=True)
class EnergyReport:
    """The result of :func:`energy_check`.

    ``errors[p][i]``: :math:`\\max_{n \\le N} |\\tilde H_p(y_n) - \\tilde H_p(y_0)|` at step ``hs[i]``
    (p = 0 is the energy H itself); ``slopes[p]``: least-squares slope of log error against log h;
    ``expected[p]`` = p + 1, the slope :math:`\\tilde H_p` must reach at least ("or better");
    ``drift[i]``: max energy error over the second half of the run divided by that over the first half
    (about 1 when the error is bounded, about 2 or more for a linear drift).
    """

    method: str
    hs: tuple[float, ...]
    n_steps: int
    errors: tuple[tuple[float, ...], ...]
    slopes: tuple[float, ...]
    expected: tuple[int, ...]
    drift: tuple[float, ...]

    def passed(self, tolerance: float = 0.3) -> bool:
        """True when every slope is at least ``expected - tolerance`` and no energy drift exceeds 1.5."""
        return all(s >= e - tolerance for s, e in zip(self.slopes, self.expected, strict=True)) and all(
            d <= 1.5 for d in self.drift
        )

    def __str__(self) -> str:
        lines = [f"energy check of {self.method}: {self.n_steps} steps, h = {list(self.hs)}"]
        for p, (row, slope) in enumerate(zip(self.errors, self.slopes, strict=True)):
            errs = ", ".join(f"{e:.2e}" for e in row)
            lines.append(f"  H~_{p}: max error [{errs}]  slope {slope:.2f} (expected >= {self.expected[p]})")
        lines.append(f"  energy drift (second half / first half): {[round(d, 2) for d in self.drift]}")
        return "\n".join(lines)


def _slope(hs: Sequence[float], errors: Sequence[float]) -> float:
    xs = [math.log(h) for h in hs]
    ys = [math.log(max(e, 1e-300)) for e in errors]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum((x - mx) ** 2 for x in xs)


def _state(y0: Any, n: int, dtype: torch.dtype, device: torch.device) -> Tensor:
    y = torch.as_tensor(y0, dtype=dtype, device=device)
    if y.ndim != 1 or y.shape[0] != 2 * n:
        raise ShapeError(f"y0 must hold {2 * n} values (q then p), got shape {tuple(y.shape)}")
    return y


def energy_errors(
    modified: ModifiedHamiltonian, trajectory: Tensor, h: Tensor | float
) -> Tensor:
    """:math:`|\\tilde H_p(y_n) - \\tilde H_p(y_0)|` for every p ≤ truncation: shape ``(P + 1, N + 1, ...)``.

    ``trajectory`` has shape ``(N + 1, ..., 2n)`` (q then p on the last axis); ``h`` broadcasts against
    ``trajectory[0, ..., 0]``.
    """
    fn = get_backend("torch").lambdify(list(modified.state), list(modified.terms))
    parts = fn(*trajectory.unbind(-1))
    values = [torch.as_tensor(v, dtype=trajectory.dtype, device=trajectory.device).expand(trajectory.shape[:-1])
              for v in parts]
    hh = torch.as_tensor(h, dtype=trajectory.dtype, device=trajectory.device).reshape(trajectory.shape[1:-1])
    out = []
    total = torch.zeros_like(values[0])
    for k, v in enumerate(values):
        total = total + hh**k * v
        out.append((total - total[0]).abs())
    return torch.stack(out)


def _field(modified: ModifiedHamiltonian) -> Any:
    """The Hamiltonian vector field of H, (..., 2n) -> (..., 2n), emitted once by the torch backend."""
    column = hamiltonian_vector_field(modified.hamiltonian, modified.q, modified.p)
    fn = get_backend("torch").lambdify(list(modified.state), list(column))

    def field(y: Tensor) -> Tensor:
        shape = y.shape[:-1]
        parts = [v if isinstance(v, Tensor) and v.shape == shape and v.dtype == y.dtype  # most are already
                 else torch.as_tensor(v, dtype=y.dtype, device=y.device).expand(shape) for v in fn(*y.unbind(-1))]
        return torch.stack(parts, dim=-1)

    return field


def energy_check(
    modified: ModifiedHamiltonian,
    y0: Any,
    hs: Sequence[float] = (0.2, 0.1, 0.05),
    n_steps: int = 10_000,
    *,
    method: Any = None,
    dtype: torch.dtype | str | None = None,
    device: str | torch.device | None = None,
) -> EnergyReport:
    """Run the method of ``modified`` from ``y0`` for ``n_steps`` steps at each step size in ``hs``.

    ``method`` defaults to the catalogue method named ``modified.method``. The trajectories run together as
    one batch (float64 unless ``dtype`` says otherwise). Raises :class:`~numeric.errors.ShapeError` when
    ``y0`` does not hold 2n values and :class:`~numeric.errors.NumericTypeError` for fewer than two step
    sizes or a non-positive one.

    Reference: Hairer--Lubich--Wanner, *Geometric Numerical Integration*, 2nd ed., sections IX.3 and IX.8.
    """
    if len(hs) < 2 or any(not (isinstance(h, (int, float)) and math.isfinite(h) and h > 0) for h in hs):
        raise NumericTypeError(f"hs must hold at least two positive step sizes, got {list(hs)!r}")
    dt = resolve_dtype(dtype)
    dev = resolve_device(device)
    n = len(modified.q)
    y = _state(y0, n, dt, dev).expand(len(hs), 2 * n).contiguous()
    step = torch.tensor([[float(h)] for h in hs], dtype=dt, device=dev)
    found = method_by_name(modified.method) if method is None else method
    trajectory = run_partitioned(_field(modified), y, step, n_steps, found)
    errs = energy_errors(modified, trajectory, step[:, 0])  # (P + 1, N + 1, len(hs))
    worst = errs.max(dim=1).values  # (P + 1, len(hs))
    half = n_steps // 2
    energy = errs[0]
    drift = (energy[half:].max(dim=0).values / energy[: half + 1].max(dim=0).values.clamp_min(1e-300)).tolist()
    errors = tuple(tuple(float(e) for e in row) for row in worst.tolist())
    return EnergyReport(
        method=modified.method,
        hs=tuple(float(h) for h in hs),
        n_steps=n_steps,
        errors=errors,
        slopes=tuple(_slope(hs, row) for row in errors),
        expected=tuple(p + 1 for p in range(modified.truncation + 1)),
        drift=tuple(float(d) for d in drift),
    )


def plot_energy(
    modified: ModifiedHamiltonian,
    y0: Any,
    h: float = 0.1,
    n_steps: int = 10_000,
    *,
    compare: Any = "rk4",
    ax: Any = None,
) -> Any:
    r"""Largest energy error so far, :math:`\max_{k \le n} |H(y_k) - H(y_0)|`, against time t = nh on log-log
    axes, for ``compare`` (default RK4) and for the method of ``modified``. The same quantity for
    :math:`\tilde H_P` of the latter is overlaid. A linear drift shows as slope 1, a bounded error as a flat line.
    Returns the matplotlib figure.

    Needs matplotlib (the torch extra). Reference: Hairer--Lubich--Wanner, section IX.8.
    """
    import matplotlib.pyplot as plt

    n = len(modified.q)
    y = _state(y0, n, torch.float64, torch.device("cpu"))
    field = _field(modified)
    other = method_by_name(compare) if isinstance(compare, str) else compare
    own = method_by_name(modified.method)
    t = [k * h for k in range(1, n_steps + 1)]
    if ax is None:
        fig, ax = plt.subplots(figsize=(7, 4))
    else:
        fig = ax.figure
    P = modified.truncation
    for method, style in ((other, "C3"), (own, "C0")):
        errs = energy_errors(modified, run_partitioned(field, y, h, n_steps, method), h)[:, 1:]
        running = torch.cummax(errs, dim=1).values.clamp_min(1e-17)
        name = getattr(method, "name", str(method))
        ax.plot(t, running[0].tolist(), style, lw=1.5, label=f"{name}: energy H")
        if method is own:
            ax.plot(t, running[P].tolist(), "k--", lw=1.2,
                    label=f"{name}: modified Hamiltonian H~ through h^{P}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("time t = n h")
    ax.set_ylabel("largest energy error up to t")
    ax.set_title(f"H = {sympy.sstr(modified.hamiltonian)}, h = {h}, {n_steps} steps")
    ax.legend(fontsize=8, loc="best")
    return fig
