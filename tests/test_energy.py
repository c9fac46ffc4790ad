"""Long-time energy behaviour: the partitioned torch stepper against hand-written steps and numeric.trajectories,
and the energy error of symplectic methods explained by the exact modified Hamiltonian (slopes in h)."""

from __future__ import annotations

import itertools
import math

import pytest

torch = pytest.importorskip("torch")

import sympy  # noqa: E402

from bea import methods  # noqa: E402
from bea.hamiltonian import modified_hamiltonian  # noqa: E402
from numeric.energy import energy_check, energy_errors, plot_energy  # noqa: E402
from numeric.errors import NumericTypeError, ShapeError  # noqa: E402
from numeric.partitioned import run_partitioned  # noqa: E402
from numeric.trajectories import run_method  # noqa: E402

q, p = sympy.symbols("q p")
PENDULUM = p**2 / 2 - sympy.cos(q)
F64 = torch.float64


def pendulum(y: torch.Tensor) -> torch.Tensor:
    return torch.stack([y[..., 1], -torch.sin(y[..., 0])], dim=-1)


def test_symplectic_euler_and_verlet_steps_match_the_formulas_written_out() -> None:
    y0 = torch.tensor([1.0, 0.3], dtype=F64)
    h = 0.3
    got_se = run_partitioned(pendulum, y0, h, 3, methods.symplectic_euler)
    got_sv = run_partitioned(pendulum, y0, h, 3, methods.stormer_verlet)
    qa, pa = 1.0, 0.3
    qb, pb = 1.0, 0.3
    for n in range(1, 4):
        pa = pa - h * math.sin(qa)  # HLW (I.1.9): p first with the old q, then q with the new p
        qa = qa + h * pa
        half = pb - h / 2 * math.sin(qb)  # velocity Verlet
        qb = qb + h * half
        pb = half - h / 2 * math.sin(qb)
        assert got_se[n].tolist() == pytest.approx([qa, pa], abs=1e-14)
        assert got_sv[n].tolist() == pytest.approx([qb, pb], abs=1e-14)


@pytest.mark.parametrize("method", [methods.rk4, methods.implicit_midpoint, methods.gauss_legendre_2],
                         ids=lambda m: m.name)
def test_runge_kutta_as_a_pair_matches_numeric_trajectories(method: object) -> None:
    y0 = torch.tensor([1.2, -0.4], dtype=F64)
    ours = run_partitioned(pendulum, y0, 0.1, 20, method)
    theirs = run_method(pendulum, y0, 0.1, 20, method).thetas  # Newton iteration there, fixed point here
    assert torch.allclose(ours, theirs, atol=1e-13, rtol=0)


def test_batched_step_sizes_equal_separate_runs() -> None:
    y0 = torch.tensor([[1.0, 0.0], [1.0, 0.0]], dtype=F64)
    hs = torch.tensor([[0.1], [0.05]], dtype=F64)
    both = run_partitioned(pendulum, y0, hs, 30, methods.lobatto_iiia_iiib)
    for i, h in enumerate((0.1, 0.05)):
        single = run_partitioned(pendulum, y0[i], h, 30, methods.lobatto_iiia_iiib)
        assert torch.allclose(both[:, i], single, atol=1e-14, rtol=0)


@pytest.mark.slow
def test_stormer_verlet_energy_is_bounded_and_explained_by_the_modified_hamiltonian() -> None:
    """HLW Theorem IX.8.1: over 10^4 steps the energy error does not drift, and H~_p is conserved to O(h^(p+1))."""
    mh = modified_hamiltonian(methods.stormer_verlet, PENDULUM, [q], [p], truncation=4)
    report = energy_check(mh, [1.0, 0.0], hs=(0.2, 0.1, 0.05), n_steps=10_000)
    assert report.passed(), str(report)
    assert all(d < 1.2 for d in report.drift)
    assert report.slopes[0] == pytest.approx(2.0, abs=0.1)  # order 2: the energy error is O(h^2)
    assert report.slopes[2] >= 3.7 and report.slopes[4] >= 5.7  # the odd terms vanish: "or better"
    assert report.errors[4][-1] < 1e-9


def test_symplectic_euler_truncations_gain_one_power_each() -> None:
    mh = modified_hamiltonian(methods.symplectic_euler, PENDULUM, [q], [p], truncation=3)
    report = energy_check(mh, [1.0, 0.0], hs=(0.2, 0.1, 0.05), n_steps=1_000)
    assert report.passed(), str(report)
    for k, slope in enumerate(report.slopes):
        assert slope == pytest.approx(k + 1, abs=0.25), str(report)


@pytest.mark.slow
def test_rk4_energy_drifts_where_verlet_does_not() -> None:
    mh = modified_hamiltonian(methods.stormer_verlet, PENDULUM, [q], [p], truncation=2)
    y0 = torch.tensor([[2.0, 0.0]], dtype=F64)
    drift = {}
    for method in (methods.rk4, methods.stormer_verlet):
        errs = energy_errors(mh, run_partitioned(pendulum, y0, 0.4, 2_000, method), 0.4)[0, :, 0]
        drift[method.name] = float(errs[1000:].max() / errs[:1001].max())
    assert drift["rk4"] > 1.7  # RK4 loses energy steadily (linear drift)
    assert drift["stormer_verlet"] < 1.2


def test_energy_check_bad_input() -> None:
    mh = modified_hamiltonian(methods.stormer_verlet, PENDULUM, [q], [p], truncation=1)
    with pytest.raises(ShapeError, match="2 values"):
        energy_check(mh, [1.0, 0.0, 3.0], n_steps=10)
    with pytest.raises(NumericTypeError, match=r"\[0.1\]"):
        energy_check(mh, [1.0, 0.0], hs=(0.1,), n_steps=10)
    with pytest.raises(ShapeError, match="even length"):
        run_partitioned(pendulum, torch.zeros(3, dtype=F64), 0.1, 2, methods.stormer_verlet)


def test_plot_energy_draws_three_curves() -> None:
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    mh = modified_hamiltonian(methods.stormer_verlet, PENDULUM, [q], [p], truncation=2)
    fig = plot_energy(mh, [1.0, 0.0], h=0.2, n_steps=300)
    lines = fig.axes[0].get_lines()
    assert len(lines) == 3
    assert any("through h^2" in line.get_label() for line in lines)
    rk4 = list(lines[0].get_ydata())
    assert all(a <= b for a, b in itertools.pairwise(rk4))  # running maxima
    import matplotlib.pyplot as plt

    plt.close(fig)
