"""numeric.steppers.momentum / adaptive reproduce torch.optim step for step (float64, 1e-12).

Route: torch.optim itself (SGD with momentum and Nesterov, RMSprop, Adam) on the same model and the
same start, comparing every iterate. Two problems: a small nn.Module (the stepper on a loss closure over the
flat parameter vector, gradients by autograd) and the two-parameter model compiled from SymPy (the stepper on
the compiled field −∇E; torch.optim's gradients set by hand on a leaf tensor). The steppers are the
numeric.steppers.Stepper protocol (init/step), also as built by stepper_for from the bea methods.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

torch = pytest.importorskip("torch")

import sympy  # noqa: E402

from bea import methods, modified_flow  # noqa: E402
from bea.errors import HyperparameterValueError  # noqa: E402
from numeric.codegen import compile_field  # noqa: E402
from numeric.errors import NumericTypeError  # noqa: E402
from numeric.steppers import Adam, MomentumStepper, RMSProp, Stepper, stepper_for  # noqa: E402
from numeric.trajectories import run_method  # noqa: E402

F64 = torch.float64
STEPS = 40


Problem = tuple[torch.nn.Module, Callable[[torch.Tensor], torch.Tensor], Callable[[torch.Tensor], torch.Tensor],
                torch.Tensor]


def _mlp_problem() -> Problem:
    """(model, gradient θ ↦ ∇E(θ) for torch.optim, loss closure θ ↦ E(θ) for the steppers, θ0)."""
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
    return model, grad, loss_of, theta0


def _two_param_field() -> Callable[[torch.Tensor], torch.Tensor]:
    """θ ↦ −∇E(θ) of (y − abx)²/2, x = 1, y = 3/5, compiled from SymPy."""
    a, b, x, y = sympy.symbols("a b x y")
    field = compile_field(modified_flow((y - a * b * x) ** 2 / 2, [a, b], truncation=0), x=1, y=sympy.Rational(3, 5))
    return lambda t: field(t, h=0.0)


def _two_param_grad() -> Callable[[torch.Tensor], torch.Tensor]:
    field = _two_param_field()
    return lambda t: -field(t)


_LOSS = lambda t: (t**2).sum() / 2  # noqa: E731

CASES = [
    ("sgd_momentum", lambda p, h: torch.optim.SGD(p, lr=h, momentum=0.9), lambda f: MomentumStepper(f, 0.9)),
    ("sgd_nesterov", lambda p, h: torch.optim.SGD(p, lr=h, momentum=0.8, nesterov=True),
     lambda f: MomentumStepper(f, 0.8, nesterov=True)),
    ("rmsprop", lambda p, h: torch.optim.RMSprop(p, lr=h, alpha=0.95, eps=1e-3), lambda f: RMSProp(f, 0.95, 1e-3)),
    ("adam", lambda p, h: torch.optim.Adam(p, lr=h, betas=(0.8, 0.95), eps=1e-6), lambda f: Adam(f, 0.8, 0.95, 1e-6)),
    ("adam_defaults", lambda p, h: torch.optim.Adam(p, lr=h), lambda f: Adam(f)),
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
    _, grad, loss, theta0 = _mlp_problem()
    h = 0.05
    param = theta0.clone().requires_grad_(True)
    expected = _torch_iterates(make_opt, param, grad, h)
    stepper = make_stepper(loss)
    assert isinstance(stepper, Stepper)
    state = stepper.init(theta0.clone())
    worst = 0.0
    for k in range(STEPS):
        state = stepper.step(state, h)
        worst = max(worst, float((state.theta - expected[k]).abs().max()))
    assert worst <= 1e-12, f"{name}: max deviation {worst:.3e} from torch.optim"
    assert float((expected[-1] - theta0).abs().max()) > 1e-3  # the optimiser really moved


def test_module_parameters_driven_by_backward() -> None:
    """torch.optim.Adam on the nn.Module's own parameters (loss.backward()) equals the flat stepper."""
    model, _, loss, theta0 = _mlp_problem()
    gen = torch.Generator().manual_seed(0)
    for p in model.parameters():  # re-draw as _mlp_problem did (same generator sequence)
        torch.randn(p.shape, generator=gen, dtype=F64)
    x = torch.randn(16, 3, generator=gen, dtype=F64)
    y = torch.randn(16, 1, generator=gen, dtype=F64)
    opt = torch.optim.Adam(model.parameters(), lr=0.02, betas=(0.9, 0.99), eps=1e-8)
    stepper = Adam(loss, 0.9, 0.99, 1e-8)
    state = stepper.init(theta0)
    for _ in range(STEPS):
        opt.zero_grad()
        ((model(x) - y) ** 2).mean().backward()
        opt.step()
        state = stepper.step(state, 0.02)
    flat = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
    assert float((flat - state.theta).abs().max()) <= 1e-12


@pytest.mark.parametrize(("name", "make_opt", "make_stepper"), CASES, ids=[c[0] for c in CASES])
def test_stepper_matches_torch_optim_on_a_sympy_loss(name: str, make_opt: Callable, make_stepper: Callable) -> None:
    grad = _two_param_grad()
    theta0 = torch.tensor([2.8, 3.5], dtype=F64)
    h = 0.01
    expected = _torch_iterates(make_opt, theta0.clone().requires_grad_(True), grad, h)
    stepper = make_stepper(_two_param_field())
    state = stepper.init(theta0)
    for k in range(STEPS):
        state = stepper.step(state, h)
        assert float((state.theta - expected[k]).abs().max()) <= 1e-12, (name, k)
    assert state.count == STEPS


def test_heavy_ball_is_polyak_recurrence() -> None:
    """Zero buffer = zero velocity: θ_{n+1} = θ_n − h g(θ_n) + β(θ_n − θ_{n−1}) with θ_{−1} = θ_0."""
    grad = _two_param_grad()
    beta, h = 0.7, 0.01
    prev = cur = torch.tensor([2.8, 3.5], dtype=F64)
    stepper = MomentumStepper(_two_param_field(), beta)
    state = stepper.init(cur)
    for _ in range(25):
        prev, cur = cur, cur - h * grad(cur) + beta * (cur - prev)
        state = stepper.step(state, h)
    assert torch.allclose(state.theta, cur, rtol=0, atol=1e-13)


def test_stationary_adam_without_bias_correction() -> None:
    """bias_correction=False, eps_inside: θ_{n+1} = θ_n − h m_{n+1}/sqrt(v_{n+1} + ε), written out by hand."""
    grad = _two_param_grad()
    b1, b2, eps, h = 0.8, 0.9, 1e-2, 0.01
    theta = torch.tensor([2.8, 3.5], dtype=F64)
    m, v = torch.full((2,), 0.3, dtype=F64), torch.full((2,), 2.0, dtype=F64)
    stepper = Adam(_two_param_field(), b1, b2, eps, eps_inside=True, bias_correction=False)
    state = stepper.init(theta, exp_avg=m, exp_avg_sq=v)
    for _ in range(20):
        g = grad(theta)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        theta = theta - h * m / torch.sqrt(v + eps)
        state = stepper.step(state, h)
    assert torch.allclose(state.theta, theta, rtol=0, atol=1e-13)


@pytest.mark.parametrize(
    ("make", "bad"),
    [
        (lambda: MomentumStepper(_LOSS, 1.0), "beta must lie in [0, 1), got 1.0"),
        (lambda: MomentumStepper(_LOSS, -0.1), "got -0.1"),
        (lambda: Adam(_LOSS, beta1=0.9, beta2=1.5), "beta2 must lie in [0, 1), got 1.5"),
        (lambda: Adam(_LOSS, eps=0.0), "eps must be > 0, got 0.0"),
        (lambda: RMSProp(_LOSS, eps=-1e-8), "eps must be > 0, got -1e-08"),
    ],
)
def test_bad_hyperparameters(make: Callable, bad: str) -> None:
    with pytest.raises(HyperparameterValueError, match=re.escape(bad)):
        make()


def test_bad_learning_rate() -> None:
    stepper = MomentumStepper(_LOSS, 0.5)
    state = stepper.init(torch.zeros(2, dtype=F64))
    with pytest.raises(ValueError, match=re.escape("h must be a positive finite number, got -0.1")):
        stepper.step(state, -0.1)


def test_bad_problem_and_buffers() -> None:
    with pytest.raises(NumericTypeError, match="loss or field callable"):
        MomentumStepper(None, 0.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=re.escape("exp_avg has shape (3,), theta (2,)")):
        Adam(_LOSS).init(torch.zeros(2, dtype=F64), exp_avg=torch.zeros(3, dtype=F64))
    with pytest.raises(NumericTypeError, match="takes no option seed"):
        stepper_for(methods.HeavyBall("1/2"), _LOSS, seed=3)


BUILT = [
    (methods.HeavyBall("9/10"), lambda p, h: torch.optim.SGD(p, lr=h, momentum=0.9)),
    (methods.Nesterov("4/5"), lambda p, h: torch.optim.SGD(p, lr=h, momentum=0.8, nesterov=True)),
    (methods.RMSProp(beta2="19/20", eps="1/1000"), lambda p, h: torch.optim.RMSprop(p, lr=h, alpha=0.95, eps=1e-3)),
]


@pytest.mark.parametrize(("method", "make_opt"), BUILT, ids=[m.name for m, _ in BUILT])
def test_stepper_for_the_bea_methods_matches_torch_optim(method: object, make_opt: Callable) -> None:
    """stepper_for(bea method, loss) runs torch.optim's recursion, also through run_method (zero start)."""
    _, grad, loss, theta0 = _mlp_problem()
    h = 0.05
    expected = _torch_iterates(make_opt, theta0.clone().requires_grad_(True), grad, h)
    traj = run_method(loss, theta0, h, STEPS, method)  # type: ignore[arg-type]
    assert traj.method == method.name  # type: ignore[attr-defined]
    assert traj.thetas is not None
    assert float((traj.thetas[1:] - torch.stack(expected)).abs().max()) <= 1e-12


def test_stepper_for_adam_is_the_stationary_recursion() -> None:
    """bea's Adam is analysed without bias correction; stepper_for gives that recursion, torch's on request."""
    adam = methods.Adam(beta1="4/5", beta2="19/20", eps="1/1000000")
    _, grad, loss, theta0 = _mlp_problem()
    h = 0.05
    torch_adam = _torch_iterates(lambda p, h: torch.optim.Adam(p, lr=h, betas=(0.8, 0.95), eps=1e-6),
                                 theta0.clone().requires_grad_(True), grad, h)
    corrected = stepper_for(adam, loss, bias_correction=True)
    state = corrected.init(theta0)
    for _ in range(STEPS):
        state = corrected.step(state, h)
    assert float((state.theta - torch_adam[-1]).abs().max()) <= 1e-12
    stationary = stepper_for(adam, loss)
    state = stationary.init(theta0)
    theta, m, v = theta0.clone(), torch.zeros_like(theta0), torch.zeros_like(theta0)
    for _ in range(5):
        g = grad(theta)
        m, v = 0.8 * m + 0.2 * g, 0.95 * v + 0.05 * g**2
        theta = theta - h * m / (v.sqrt() + 1e-6)
        state = stationary.step(state, h)
    assert float((state.theta - theta).abs().max()) <= 1e-12
