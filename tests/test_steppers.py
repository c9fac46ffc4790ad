"""The stepper protocol of numeric (numeric.steppers): init/step on torch tensors, any dtype and device."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

torch = pytest.importorskip("torch")

import sympy  # noqa: E402

from bea import methods  # noqa: E402
from bea.errors import BeaTypeError, UnknownMethodError  # noqa: E402
from numeric.errors import NumericTypeError  # noqa: E402
from numeric.steppers import RungeKuttaStepper, Stepper, StepperState, stepper_for  # noqa: E402
from numeric.trajectories import make_stepper, run_method  # noqa: E402

_X = sympy.Symbol("x")
DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA"))]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_runge_kutta_stepper_follows_dtype_and_device(device: str, dtype: torch.dtype) -> None:
    # Heun on y' = -y multiplies y by 1 - h + h²/2 (its stability function), in the input's dtype and device
    stepper = stepper_for(methods.heun, lambda t: -t)
    theta0 = torch.tensor([1.0, -2.0], dtype=dtype, device=device)
    state = stepper.init(theta0)
    for _ in range(3):
        state = stepper.step(state, 0.5)
    assert state.theta.dtype == dtype and state.theta.device.type == torch.device(device).type
    assert state.count == 3
    factor = (1 - 0.5 + 0.125) ** 3
    torch.testing.assert_close(state.theta, theta0 * factor)


def test_implicit_stepper_on_a_loss() -> None:
    # implicit Euler (proximal point) on E = 2θ²: θ_{n+1} = θ_n / (1 + 4h)
    stepper = RungeKuttaStepper(methods.implicit_euler, lambda t: 2 * (t**2).sum())
    state = stepper.init(torch.tensor([3.0], dtype=torch.float64))
    state = stepper.step(stepper.step(state, 0.25), 0.25)
    assert abs(float(state.theta[0]) - 3.0 / 4.0) < 1e-13
    assert isinstance(stepper, Stepper) and stepper.name == "implicit_euler"


def test_method_names_are_accepted_by_run_method() -> None:
    loss = lambda t: (t[0] ** 2 + 3 * t[1] ** 2) / 2  # noqa: E731
    by_name = run_method(loss, [1.0, 1.0], 0.1, 5, "rk4")
    by_object = run_method(loss, [1.0, 1.0], 0.1, 5, methods.rk4)
    assert by_name.method == "rk4"
    torch.testing.assert_close(by_name.thetas, by_object.thetas, rtol=0, atol=0)
    with pytest.raises(UnknownMethodError, match="'rk5'"):
        run_method(loss, [1.0, 1.0], 0.1, 5, "rk5")
    with pytest.raises(BeaTypeError):
        make_stepper(42, loss)  # type: ignore[arg-type]


@dataclass(frozen=True)
class _Halving:
    """A user's own stepper: θ ← θ(1 - h), memory counting the steps in a buffer."""

    name: str = "halving"

    def init(self, theta0: torch.Tensor) -> StepperState:
        return StepperState(theta0, (torch.zeros((), dtype=theta0.dtype),))

    def step(self, state: StepperState, h: float) -> StepperState:
        return StepperState(state.theta * (1 - h), (state.buffers[0] + 1,), state.count + 1)


def test_any_stepper_runs_as_a_trajectory() -> None:
    traj = run_method(None, [2.0], 0.5, 3, _Halving())
    assert traj.method == "halving"
    assert traj.thetas is not None and traj.thetas.flatten().tolist() == [2.0, 1.0, 0.5, 0.25]
    with pytest.raises(NumericTypeError, match="carries its problem"):
        run_method(lambda t: -t, [2.0], 0.5, 3, _Halving())
    with pytest.raises(NumericTypeError, match="tol"):
        run_method(None, [2.0], 0.5, 3, _Halving(), tol=1e-3)


def test_unknown_family_and_options_are_errors() -> None:
    with pytest.raises(NumericTypeError, match="no numeric stepper"):
        stepper_for(object(), None)
    with pytest.raises(NumericTypeError, match="momentum"):
        stepper_for(methods.rk4, lambda t: -t, momentum=0.9)


ENTRY_POINTS = {
    "resolve": lambda name: methods.resolve(name),
    "modified_flow": lambda name: __import__("bea").modified_flow(_X**2 / 2, [_X], truncation=1, method=name),
    "run_method": lambda name: run_method(lambda t: (t**2).sum() / 2, [1.0], 0.1, 2, name),
    "drift_check": lambda name: __import__("numeric.drift").drift.drift_check(
        __import__("bea").modified_flow(_X**2 / 2, [_X], truncation=1, method=methods.heun), [1.0], (0.02, 0.01),
        method=name, time=0.04, truncations=(0, 1)),
    "expected_slope": lambda name: __import__("numeric.drift").drift.expected_slope(name, 0),
    "stepper_for": lambda name: stepper_for(name, lambda t: (t**2).sum() / 2),
    "hamiltonian.method_by_name": lambda name: __import__("bea.hamiltonian").hamiltonian.method_by_name(name),
}


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
@pytest.mark.parametrize(("name", "construct"), [("sgd", "SGD"), ("Heavy-Ball", "HeavyBall\\('9/10'\\)"),
                                                 ("adam", "Adam\\(beta1"), ("alternating_gd", "GameGD")])
def test_names_of_methods_needing_arguments_are_refused_alike(entry: str, name: str, construct: str) -> None:
    """One rule (issue 9 §1): a name is accepted wherever a method is, and the names of methods that need
    hyperparameters or minibatch losses are refused everywhere with what to construct instead."""
    with pytest.raises(UnknownMethodError, match=f"not known by its name alone: construct .*{construct}"):
        ENTRY_POINTS[entry](name)


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_catalogue_names_are_accepted_everywhere(entry: str) -> None:
    ENTRY_POINTS[entry]("heun")
