"""numeric.trajectories (running RK methods in torch) and numeric.integrate (accurate flows)."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from bea import methods  # noqa: E402
from bea.errors import BeaTypeError, BeaValueError  # noqa: E402
from numeric.devices import resolve_device, resolve_dtype  # noqa: E402
from numeric.errors import ConvergenceError, DeviceError, ShapeError  # noqa: E402
from numeric.integrate import flow_error_estimate, integrate_flow  # noqa: E402
from numeric.trajectories import gradient_descent, run_method  # noqa: E402

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA"))]
F64 = torch.float64

# stability functions R(z) of y' = λy: one step multiplies y by R(hλ)
R = {
    "explicit_euler": lambda z: 1 + z,
    "heun": lambda z: 1 + z + z**2 / 2,
    "explicit_midpoint": lambda z: 1 + z + z**2 / 2,
    "rk4": lambda z: 1 + z + z**2 / 2 + z**3 / 6 + z**4 / 24,
    "implicit_euler": lambda z: 1 / (1 - z),
    "implicit_midpoint": lambda z: (1 + z / 2) / (1 - z / 2),
    "trapezoid": lambda z: (1 + z / 2) / (1 - z / 2),
    "gauss_legendre_2": lambda z: (1 + z / 2 + z**2 / 12) / (1 - z / 2 + z**2 / 12),
}


@pytest.mark.parametrize("name", sorted(R))
@pytest.mark.parametrize("differentiable", [True, False])
def test_linear_stability_functions(name: str, differentiable: bool) -> None:
    lam, h, n = -1.3, 0.1, 7
    if differentiable:  # Newton with the Jacobian by torch.func

        def field(t: torch.Tensor) -> torch.Tensor:
            return lam * t
    else:  # not traceable by torch.func: fixed-point iteration

        def field(t: torch.Tensor) -> torch.Tensor:
            return torch.as_tensor(lam * t.detach().numpy(), dtype=F64)

    traj = run_method(field, [1.0, -2.0], h, n, methods.by_name(name))
    expected = R[name](h * lam) ** n * np.array([1.0, -2.0])
    np.testing.assert_allclose(traj.final.numpy(), expected, rtol=1e-13)
    assert traj.thetas is not None and traj.thetas.shape == (n + 1, 2) and not traj.diverged


@pytest.mark.parametrize("device", DEVICES)
def test_loss_and_field_agree(device: str) -> None:
    def loss(t: torch.Tensor) -> torch.Tensor:
        return (0.6 - t[0] * t[1]) ** 2 / 2

    def field(t: torch.Tensor) -> torch.Tensor:
        r = t[0] * t[1] - 0.6
        return -torch.stack([r * t[1], r * t[0]])

    theta0 = torch.tensor([2.8, 3.5], dtype=F64)
    for method in (methods.explicit_euler, methods.rk4, methods.implicit_midpoint):
        one = run_method(loss, theta0, 0.01, 50, method, device=device)
        two = run_method(field, theta0, 0.01, 50, method, device=device)
        assert one.final.device.type == device
        torch.testing.assert_close(one.final, two.final, rtol=1e-13, atol=1e-14)
    gd = gradient_descent(loss, theta0, 0.01, 50, device=device)
    torch.testing.assert_close(gd.final, run_method(field, theta0, 0.01, 50, device=device).final)


def test_gd_quadratic_closed_form() -> None:
    A = torch.tensor([[3.0, 1.0], [1.0, 2.0]], dtype=F64)
    theta0 = torch.tensor([1.0, -1.0], dtype=F64)
    traj = gradient_descent(lambda t: t @ A @ t / 2, theta0, 0.1, 20)
    expected = torch.linalg.matrix_power(torch.eye(2, dtype=F64) - 0.1 * A, 20) @ theta0
    torch.testing.assert_close(traj.final, expected, rtol=1e-13, atol=1e-15)


def test_divergence_is_reported_not_raised() -> None:
    traj = gradient_descent(lambda t: 50 * (t**2).sum(), [1.0], 0.1, 40)  # |1 - 10| = 9 per step
    assert traj.diverged and traj.steps < 40 and traj.diverged_at == traj.steps + 1
    assert "max_norm" in str(traj.reason) and torch.isfinite(traj.final).all()
    nan = run_method(lambda t: torch.full_like(t, math.nan), [1.0], 0.1, 3)
    assert nan.diverged and nan.reason == "non-finite iterate" and nan.diverged_at == 1


def test_implicit_solver_failure_is_a_clear_error() -> None:
    def field(t: torch.Tensor) -> torch.Tensor:  # fixed-point iteration only: contraction factor h·50 > 1
        with np.errstate(all="ignore"):
            u = t.detach().numpy()
            return torch.as_tensor(-50 * u**3 - 50 * u, dtype=F64)

    with pytest.raises(ConvergenceError, match="did not converge"):
        run_method(field, [1.0], 0.5, 2, methods.implicit_euler)


def test_argument_errors() -> None:
    def f(t: torch.Tensor) -> torch.Tensor:
        return -t

    with pytest.raises(BeaTypeError):
        run_method(f, [1.0], -0.1, 3)
    with pytest.raises(BeaTypeError):
        run_method(f, [1.0], 0.1, 3, method=42)  # type: ignore[arg-type]
    with pytest.raises(ShapeError):
        run_method(f, [[1.0, 2.0]], 0.1, 3)
    with pytest.raises(ShapeError, match="a field must return"):
        run_method(lambda t: torch.ones(3, dtype=F64), [1.0, 2.0], 0.1, 3)
    with pytest.raises(DeviceError, match="unknown device"):
        run_method(f, [1.0], 0.1, 3, device="tpu:x")
    if not torch.cuda.is_available():
        with pytest.raises(DeviceError, match="CUDA is not available"):
            run_method(f, [1.0], 0.1, 3, device="cuda")
    with pytest.raises(BeaTypeError, match="dtype"):
        resolve_dtype(torch.int64)
    assert resolve_device(None).type == "cpu" and isinstance(DeviceError("x"), BeaValueError)


@pytest.mark.parametrize("device", DEVICES)
def test_integrate_exact_solution(device: str) -> None:
    y = integrate_flow(lambda t: -t, [1.0, 2.0], 2.0, device=device)
    assert y.device.type == device and y.dtype == F64
    np.testing.assert_allclose(y.cpu().numpy(), [math.exp(-2), 2 * math.exp(-2)], rtol=1e-12)
    batch = integrate_flow(lambda t: -t, torch.ones(3, 2, dtype=F64), 1.0, device=device)
    assert batch.shape == (3, 2)


def test_integration_error_far_below_drift() -> None:
    """Tolerances 10x apart agree to ~1e-13 on a nonlinear flow (two-parameter model, T = 1)."""

    def field(t: torch.Tensor) -> torch.Tensor:
        r = t[0] * t[1] - 0.6
        return -torch.stack([r * t[1], r * t[0]])

    theta0 = torch.tensor([2.8, 3.5], dtype=F64)
    y, err = flow_error_estimate(field, theta0, 1.0)
    assert err < 1e-11  # the smallest drift measured in the tests is ~1e-10
    y_np = integrate_flow(lambda t: field(torch.as_tensor(t)).numpy(), theta0, 1.0, backend="numpy")
    np.testing.assert_allclose(y_np, y.numpy(), atol=1e-11)
    # the invariant a^2 - b^2 of the gradient flow is conserved to the same accuracy
    assert abs(float(y[0] ** 2 - y[1] ** 2) - (2.8**2 - 3.5**2)) < 1e-11
    with pytest.raises(BeaValueError, match="unknown integration backend"):
        integrate_flow(field, theta0, 1.0, backend="julia")
