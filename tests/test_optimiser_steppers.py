"""numeric.steppers.momentum / adaptive reproduce torch.optim step for step (float64, 1e-12).

Route: torch.optim itself (SGD with momentum and Nesterov, RMSprop, Adam) on the same model and the
same start, comparing every iterate. Two problems: a small nn.Module (gradients by autograd) and the
two-parameter model compiled from SymPy (gradients set by hand on a leaf tensor).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

torch = pytest.importorskip("torch")

import sympy  # noqa: E402

from bea import modified_flow  # noqa: E402
from bea.errors import HyperparameterValueError  # noqa: E402
from numeric.codegen import compile_field  # noqa: E402
from numeric.steppers.adaptive import Adam, RMSProp  # noqa: E402
from numeric.steppers.momentum import MomentumStepper  # noqa: E402

F64 = torch.float64
STEPS = 40


def _mlp_problem() -> tuple[torch.nn.Module, Callable[[torch.Tensor], torch.Tensor], torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 1)).to(F64)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=F64))
    x = torch.randn(16, 3, generator=gen, dtype=F64)
    y = torch.randn(16, 1, generator=gen, dtype=F64)
    names = [n for n, _ in model.named_parameters()]
    shapes = [p.shape for p in model.parameters()]

    def unflat(theta: torch.Tensor) -> dict[str, torch.Tensor]:
        out, i = {}, 0
        for n, s in zip(names, shapes, strict=True):
            k = int(torch.Size(s).numel())
            out[n] = theta[i:i + k].reshape(s)
            i += k
        return out

    def loss_of(theta: torch.Tensor) -> torch.Tensor:
        pred = torch.func.functional_call(model, unflat(theta), (x,))
        return ((pred - y) ** 2).mean()

    def grad(theta: torch.Tensor) -> torch.Tensor:
        t = theta.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(loss_of(t), t)
        return g

    theta0 = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
    return model, grad, theta0


def _two_param_grad() -> Callable[[torch.Tensor], torch.Tensor]:
    a, b, x, y = sympy.symbols("a b x y")
    field = compile_field(modified_flow((y - a * b * x) ** 2 / 2, [a, b], truncation=0), x=1, y=sympy.Rational(3, 5))
    return lambda t: -field(t, h=0.0)


CASES = [
    ("sgd_momentum", lambda p, h: torch.optim.SGD(p, lr=h, momentum=0.9), lambda: MomentumStepper(0.9)),
    ("sgd_nesterov", lambda p, h: torch.optim.SGD(p, lr=h, momentum=0.8, nesterov=True),
     lambda: MomentumStepper(0.8, nesterov=True)),
    ("rmsprop", lambda p, h: torch.optim.RMSprop(p, lr=h, alpha=0.95, eps=1e-3), lambda: RMSProp(0.95, 1e-3)),
    ("adam", lambda p, h: torch.optim.Adam(p, lr=h, betas=(0.8, 0.95), eps=1e-6), lambda: Adam(0.8, 0.95, 1e-6)),
    ("adam_defaults", lambda p, h: torch.optim.Adam(p, lr=h), lambda: Adam()),
]


def _torch_iterates(make_opt: Callable, param: torch.Tensor, grad: Callable, h: float) -> list[torch.Tensor]:
    opt = make_opt([param], h)
    out = []
    for _ in range(STEPS):
        opt.zero_grad()
        param.grad = grad(param.detach()).clone()
        opt.step()
        out.append(param.detach().clone())
    return out


@pytest.mark.parametrize(("name", "make_opt", "make_stepper"), CASES, ids=[c[0] for c in CASES])
def test_stepper_matches_torch_optim_on_a_module(name: str, make_opt: Callable, make_stepper: Callable) -> None:
    _, grad, theta0 = _mlp_problem()
    h = 0.05
    param = theta0.clone().requires_grad_(True)
    expected = _torch_iterates(make_opt, param, grad, h)
    stepper = make_stepper()
    state = stepper.initial_state(theta0.clone())
    worst = 0.0
    for k in range(STEPS):
        state = stepper.step(state, grad, h)
        worst = max(worst, float((state.theta - expected[k]).abs().max()))
    assert worst <= 1e-12, f"{name}: max deviation {worst:.3e} from torch.optim"
    assert float((expected[-1] - theta0).abs().max()) > 1e-3  # the optimiser really moved


def test_module_parameters_driven_by_backward() -> None:
    """torch.optim.Adam on the nn.Module's own parameters (loss.backward()) equals the flat stepper."""
    model, grad, theta0 = _mlp_problem()
    gen = torch.Generator().manual_seed(0)
    for p in model.parameters():  # re-draw as _mlp_problem did (same generator sequence)
        torch.randn(p.shape, generator=gen, dtype=F64)
    x = torch.randn(16, 3, generator=gen, dtype=F64)
    y = torch.randn(16, 1, generator=gen, dtype=F64)
    opt = torch.optim.Adam(model.parameters(), lr=0.02, betas=(0.9, 0.99), eps=1e-8)
    stepper = Adam(0.9, 0.99, 1e-8)
    state = stepper.initial_state(theta0)
    for _ in range(STEPS):
        opt.zero_grad()
        ((model(x) - y) ** 2).mean().backward()
        opt.step()
        state = stepper.step(state, grad, 0.02)
    flat = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
    assert float((flat - state.theta).abs().max()) <= 1e-12


@pytest.mark.parametrize(("name", "make_opt", "make_stepper"), CASES, ids=[c[0] for c in CASES])
def test_stepper_matches_torch_optim_on_a_sympy_loss(name: str, make_opt: Callable, make_stepper: Callable) -> None:
    grad = _two_param_grad()
    theta0 = torch.tensor([2.8, 3.5], dtype=F64)
    h = 0.01
    expected = _torch_iterates(make_opt, theta0.clone().requires_grad_(True), grad, h)
    stepper = make_stepper()
    state = stepper.initial_state(theta0)
    for k in range(STEPS):
        state = stepper.step(state, grad, h)
        assert float((state.theta - expected[k]).abs().max()) <= 1e-12, (name, k)
    assert state.step == STEPS


def test_heavy_ball_is_polyak_recurrence() -> None:
    """Zero buffer = zero velocity: θ_{n+1} = θ_n − h g(θ_n) + β(θ_n − θ_{n−1}) with θ_{−1} = θ_0."""
    grad = _two_param_grad()
    beta, h = 0.7, 0.01
    prev = cur = torch.tensor([2.8, 3.5], dtype=F64)
    stepper = MomentumStepper(beta)
    state = stepper.initial_state(cur)
    for _ in range(25):
        prev, cur = cur, cur - h * grad(cur) + beta * (cur - prev)
        state = stepper.step(state, grad, h)
    assert torch.allclose(state.theta, cur, rtol=0, atol=1e-13)


def test_stationary_adam_without_bias_correction() -> None:
    """bias_correction=False, eps_inside: θ_{n+1} = θ_n − h m_{n+1}/sqrt(v_{n+1} + ε), written out by hand."""
    grad = _two_param_grad()
    b1, b2, eps, h = 0.8, 0.9, 1e-2, 0.01
    theta = torch.tensor([2.8, 3.5], dtype=F64)
    m, v = torch.full((2,), 0.3, dtype=F64), torch.full((2,), 2.0, dtype=F64)
    stepper = Adam(b1, b2, eps, eps_inside=True, bias_correction=False)
    state = stepper.initial_state(theta, exp_avg=m, exp_avg_sq=v)
    for _ in range(20):
        g = grad(theta)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        theta = theta - h * m / torch.sqrt(v + eps)
        state = stepper.step(state, grad, h)
    assert torch.allclose(state.theta, theta, rtol=0, atol=1e-13)


@pytest.mark.parametrize(
    ("make", "bad"),
    [
        (lambda: MomentumStepper(1.0), "beta must lie in [0, 1), got 1.0"),
        (lambda: MomentumStepper(-0.1), "got -0.1"),
        (lambda: Adam(beta1=0.9, beta2=1.5), "beta2 must lie in [0, 1), got 1.5"),
        (lambda: Adam(eps=0.0), "eps must be > 0, got 0.0"),
        (lambda: RMSProp(eps=-1e-8), "eps must be > 0, got -1e-08"),
    ],
)
def test_bad_hyperparameters(make: Callable, bad: str) -> None:
    with pytest.raises(HyperparameterValueError, match=re.escape(bad)):
        make()


def test_bad_learning_rate() -> None:
    stepper = MomentumStepper(0.5)
    state = stepper.initial_state(torch.zeros(2, dtype=F64))
    with pytest.raises(ValueError, match=re.escape("h must be a positive finite number, got -0.1")):
        stepper.step(state, lambda t: t, -0.1)
