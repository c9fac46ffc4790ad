"""numeric.optimiser_fields: first-order modified fields of optimisers by autodiff, checked by independent routes.

* against bea's exact slow-manifold / Lie-series derivation (``bea.modified_flow`` of the same method, evaluated
  exactly at the binary value of each point and rounded once) on the paper's two-parameter model and on a
  non-polynomial loss, term by term, to 1e-12 relative in float64; the slow-manifold start buffers against
  ``start_state`` of the bea method;
* on an MLP (no SymPy form) against the published closed forms written directly with autograd: heavy-ball's
  -(1/(1-β))∇[E + h(1+β)/(4(1-β)²)‖∇E‖²] (Kovachki & Stuart 2021; Ghosh et al. 2023), which at β = 0 is
  ModifiedField's IGR field, and SGD's -∇[E + h/(4m)Σ‖∇E_k‖²] (Smith et al., ICLR 2021);
* by drift on an MLP: the discrete optimiser against the integrated truncated flow, slopes 1 and 2.
"""

from __future__ import annotations

import itertools

import pytest
import sympy
import torch
from torch import nn

from bea import modified_flow
from bea.errors import BeaTypeError, InvalidLossError, InvalidStepSizeError, InvalidTruncationError
from bea.flows import gradient
from bea.methods import Adam, HeavyBall, Nesterov, Problem, RMSProp, explicit_midpoint
from bea.methods.maps import SGD
from numeric.autodiff import ModifiedField
from numeric.drift_report import fit_slope
from numeric.integrate import integrate_flow
from numeric.optimiser_fields import OptimiserField
from numeric.steppers import stepper_for
from numeric.steppers.base import total_steps

a, b, x, y = sympy.symbols("a b x y")
DATA = {x: 1, y: sympy.Rational(3, 5)}  # the paper's model at (x, y) = (1, 0.6)

LOSSES = {
    "two_parameter": ((y - a * b * x) ** 2 / 2, lambda t: (0.6 - t[0] * t[1]) ** 2 / 2),
    "non_polynomial": (
        sympy.log(1 + (a * b - 1) ** 2) + sympy.sin(a) / 2 + sympy.exp(b / 3),
        lambda t: torch.log(1 + (t[0] * t[1] - 1) ** 2) + torch.sin(t[0]) / 2 + torch.exp(t[1] / 3),
    ),
}
POINTS = torch.tensor([[1.0, 0.8], [0.3, -1.2], [2.0, 0.1], [-0.7, 1.5]], dtype=torch.float64)

METHODS = [
    HeavyBall("9/10"),
    HeavyBall("1/2"),
    Nesterov("3/4"),
    Adam("9/10", "999/1000", "1/100", eps_inside=True),
    Adam("1/2", "1/4", "1/10", eps_inside=True),  # beta1 > beta2: the one-norm is penalised
    RMSProp("99/100", "1/100", eps_inside=True),
    Adam("1/2", "3/4", "1/100"),  # torch's eps outside the square root
]


def _close(actual: torch.Tensor, expected: torch.Tensor, rel: float = 1e-12) -> None:
    scale = max(1.0, float(expected.abs().max()))
    assert float((actual - expected).abs().max()) <= rel * scale, (actual, expected)


def _exact(column: sympy.MatrixBase, point: torch.Tensor) -> torch.Tensor:
    """A SymPy column evaluated at the binary value of ``point`` exactly, rounded once to float64."""
    values = {**DATA, a: sympy.Rational(float(point[0])), b: sympy.Rational(float(point[1]))}
    return torch.tensor([float(sympy.N(e.xreplace(values), 30)) for e in column], dtype=torch.float64)


@pytest.mark.parametrize("loss", sorted(LOSSES))
@pytest.mark.parametrize("method", METHODS, ids=lambda m: f"{m.name}{sorted(m.hyperparameters.values())}")
def test_agrees_with_bea_term_by_term(method: object, loss: str) -> None:
    expr, torch_loss = LOSSES[loss]
    flow = modified_flow(expr, [a, b], truncation=1, method=method)
    field = OptimiserField(torch_loss, method=method, h=0.01)
    for p in POINTS:
        terms = field.terms(p)
        refs = [_exact(t, p) for t in flow.terms]
        assert terms.shape == (2, 2)
        for k in range(2):
            _close(terms[k], refs[k])
        _close(field(p, h=0.03), refs[0] + 0.03 * refs[1])


@pytest.mark.parametrize("method", [HeavyBall("9/10"), Nesterov("1/2"), Adam("1/2", "3/4", "1/100", eps_inside=True),
                                    RMSProp("3/4", "1/10", eps_inside=True)], ids=lambda m: m.name)
def test_start_state_agrees_with_bea(method: object) -> None:
    expr, torch_loss = LOSSES["non_polynomial"]
    expansion = method.expansion([a, b], gradient(expr, [a, b]))
    series = method.start_state(expansion)  # bea's slow-manifold buffers, as series in h
    field = OptimiserField(torch_loss, method=method, h=0.02)
    for p in POINTS[:2]:
        state = field.start_state(p)
        assert set(state) == set(series)
        for name, s in series.items():
            _close(state[name], _exact(expansion.column(s[0]), p) + 0.02 * _exact(expansion.column(s[1]), p))


MINIBATCHES = {
    "two_parameter": (
        [(sympy.Rational(3, 5) - a * b) ** 2 / 2, (1 - 2 * a * b) ** 2 / 2,
         (sympy.Rational(-1, 2) - a * b / 2) ** 2 / 2],  # (y_k - a b x_k)²/2 at (1, 3/5), (2, 1), (1/2, -1/2)
        [lambda t: (0.6 - t[0] * t[1]) ** 2 / 2, lambda t: (1 - 2 * t[0] * t[1]) ** 2 / 2,
         lambda t: (-0.5 - t[0] * t[1] / 2) ** 2 / 2],
    ),
    "non_polynomial": (
        [sympy.sin(a) * b, sympy.exp(b / 2) + a**2 / 2, sympy.cos(a + b)],
        [lambda t: torch.sin(t[0]) * t[1], lambda t: torch.exp(t[1] / 2) + t[0] ** 2 / 2,
         lambda t: torch.cos(t[0] + t[1])],
    ),
}


@pytest.mark.parametrize("shuffle", ["random", "fixed"])
@pytest.mark.parametrize("loss", sorted(MINIBATCHES))
def test_sgd_agrees_with_bea(shuffle: str, loss: str) -> None:
    exprs, torch_losses = MINIBATCHES[loss]
    flow = modified_flow(Problem.minibatches(exprs, [a, b]), truncation=1, method=SGD(shuffle))
    field = OptimiserField(torch_losses, method=SGD(shuffle), h=0.05)
    for p in POINTS:
        terms = field.terms(p)
        for k in range(2):
            _close(terms[k], _exact(flow.terms[k], p))


def test_sgd_fixed_order_depends_on_the_order_and_its_mean_is_random_reshuffling() -> None:
    _, losses = MINIBATCHES["non_polynomial"]
    p = POINTS[0]
    fixed = [OptimiserField([losses[i] for i in order], method=SGD("fixed")).terms(p)
             for order in itertools.permutations(range(3))]
    assert float((fixed[0][1] - fixed[1][1]).abs().max()) > 1e-3  # the order matters at h^1
    mean = torch.stack(fixed).mean(0)
    _close(mean, OptimiserField(losses, method=SGD("random")).terms(p))


# ----------------------------------------------------------------------------- on a network (no SymPy form)

def _mlp() -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 6), nn.Tanh(), nn.Linear(6, 1)).double()
    inputs = torch.randn(16, 3, dtype=torch.float64)
    targets = torch.sin(inputs.sum(1, keepdim=True))
    return model, inputs, targets


def _objective(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor):  # θ ↦ E(θ), written independently
    shapes = [p.shape for p in model.parameters()]
    names = [n for n, _ in model.named_parameters()]

    def loss(theta: torch.Tensor) -> torch.Tensor:
        pieces = torch.split(theta, [s.numel() for s in shapes])
        params = {n: q.view(s) for n, q, s in zip(names, pieces, shapes, strict=True)}
        out = torch.func.functional_call(model, params, (inputs,))
        return nn.functional.mse_loss(out, targets)

    return loss


def _grad(fn, theta: torch.Tensor, create_graph: bool = False) -> torch.Tensor:
    t = theta if theta.requires_grad else theta.detach().requires_grad_(True)
    return torch.autograd.grad(fn(t), t, create_graph=create_graph)[0]


@pytest.mark.parametrize("beta", [0.0, 0.5, 0.9])
def test_heavy_ball_on_an_mlp_is_the_published_modified_loss(beta: float) -> None:
    model, inputs, targets = _mlp()
    h = 0.05
    field = OptimiserField.from_module(model, nn.functional.mse_loss, inputs, targets,
                                       method=HeavyBall(str(beta)), h=h)
    theta = field.parameters()
    loss = _objective(model, inputs, targets)

    def modified(t: torch.Tensor) -> torch.Tensor:  # E + h(1+β)/(4(1-β)²)‖∇E‖²
        g = _grad(loss, t, create_graph=True)
        return loss(t) + h * (1 + beta) / (4 * (1 - beta) ** 2) * (g * g).sum()

    expected = -_grad(modified, theta) / (1 - beta)
    _close(field(theta), expected)
    if beta == 0.0:  # gradient descent: the IGR field of the B-series route
        igr = ModifiedField.from_module(model, nn.functional.mse_loss, inputs, targets, truncation=1, h=h)
        _close(field(theta), igr(theta))


def test_mean_sgd_on_an_mlp_is_smiths_modified_loss() -> None:
    model, inputs, targets = _mlp()
    batches = [(inputs[4 * k: 4 * k + 4], targets[4 * k: 4 * k + 4]) for k in range(4)]
    h = 0.1
    field = OptimiserField.from_minibatches(model, nn.functional.mse_loss, batches, method=SGD("random"), h=h)
    theta = field.parameters()
    losses = [_objective(model, xb, yb) for xb, yb in batches]

    def modified(t: torch.Tensor) -> torch.Tensor:  # E + h/(4m) Σ‖∇E_k‖², E = mean of E_k
        total = sum(fn(t) for fn in losses) / 4
        return total + h / 16 * sum((_grad(fn, t, create_graph=True) ** 2).sum() for fn in losses)

    _close(field(theta), -_grad(modified, theta))


def test_adam_on_an_mlp_is_the_preconditioned_one_norm_correction() -> None:
    model, inputs, targets = _mlp()
    b1, b2, eps, h = 0.9, 0.99, 1e-4, 0.01
    field = OptimiserField.from_module(model, nn.functional.mse_loss, inputs, targets,
                                       method=Adam("0.9", "0.99", "1e-4", eps_inside=True), h=h)
    theta = field.parameters()
    loss = _objective(model, inputs, targets)
    g = _grad(loss, theta)
    s = (g * g + eps).rsqrt()

    def one_norm(t: torch.Tensor) -> torch.Tensor:  # N_ε = Σ_j sqrt((∂_j E)² + ε)
        return (_grad(loss, t, create_graph=True) ** 2 + eps).sqrt().sum()

    bracket = (b1 / (1 - b1) - b2 / (1 - b2)) * s + (b2 / (1 - b2) + 0.5) * eps * s**3
    _close(field(theta), -s * g - h * bracket * _grad(one_norm, theta))


# ----------------------------------------------------------------------------- drift on an MLP

DRIFT_TOL = 1e-10  # integration tolerance, far below the smallest error measured (≈ 1e-5)


def _drift_slopes(field: OptimiserField, finals: dict[float, torch.Tensor], time: float) -> tuple[float, float]:
    """Fitted slopes of ‖θ_N − φ^{[r]}_T(θ_0)‖ over the step sizes, r = 0 (h-independent, one integration), 1."""
    theta0 = field.parameters()
    hs = sorted(finals, reverse=True)
    leading = integrate_flow(lambda t: field.terms(t)[0], theta0, time, rtol=DRIFT_TOL, atol=DRIFT_TOL)
    e0 = [float(torch.linalg.vector_norm(leading - finals[h])) for h in hs]
    e1 = [float(torch.linalg.vector_norm(
        integrate_flow(field.with_h(h), theta0, time, rtol=DRIFT_TOL, atol=DRIFT_TOL) - finals[h])) for h in hs]
    s0, s1 = fit_slope(hs, e0), fit_slope(hs, e1)
    assert s0 is not None and s1 is not None
    return s0, s1


def _small_mlp() -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1)).double()
    inputs = torch.randn(12, 2, dtype=torch.float64)
    return model, inputs, torch.sin(inputs[:, :1] - inputs[:, 1:])


@pytest.mark.parametrize(("method", "start"), [(HeavyBall("1/2"), "manifold"), (HeavyBall("1/2"), "zero"),
                                               (Adam("1/2", "3/5", "1/10", eps_inside=True), "manifold")],
                         ids=["heavy_ball", "heavy_ball-zero-start", "adam"])
def test_drift_of_the_optimiser_on_an_mlp(method: object, start: str) -> None:
    """torch.optim-exact steppers (stationary form) started with the buffers of ``start_state``: the truncated
    flows through h⁰ and h¹ are within O(h) and O(h²) of the iterates (hλ well inside (1 − √β)²). From torch's
    zero buffer the trajectory lands on the flow shifted by O(h), which caps the h¹ slope near 1."""
    model, inputs, targets = _small_mlp()
    field = OptimiserField.from_module(model, nn.functional.mse_loss, inputs, targets, method=method)
    theta0, time = field.parameters(), 0.2
    stepper = stepper_for(method, _objective(model, inputs, targets))
    finals = {}
    for h in (0.02, 0.01, 0.005):
        state = stepper.init(theta0, **(field.start_state(theta0, h) if start == "manifold" else {}))
        for _ in range(round(time / h)):
            state = stepper.step(state, h)
        finals[h] = state.theta
    s0, s1 = _drift_slopes(field, finals, time)
    assert abs(s0 - 1) <= 0.15, s0
    assert abs(s1 - 2) <= 0.15 if start == "manifold" else abs(s1 - 1) <= 0.15, s1


@pytest.mark.parametrize("shuffle", ["random", "fixed"])
def test_drift_of_minibatch_sgd_on_an_mlp(shuffle: str) -> None:
    """Epochs of 3 minibatch steps θ ← θ − h∇E_k (``stepper_for(SGD(shuffle), losses)``): in the given order, or
    the mean over the 3! orders (the mean epoch map, whose flow random reshuffling's mean iterate follows);
    one epoch lasts 3h. The fixed-order epoch is also written out here as a second route."""
    model, inputs, targets = _small_mlp()
    batches = [(inputs[4 * k: 4 * k + 4], targets[4 * k: 4 * k + 4]) for k in range(3)]
    field = OptimiserField.from_minibatches(model, nn.functional.mse_loss, batches, method=SGD(shuffle))
    losses = [_objective(model, xb, yb) for xb, yb in batches]
    stepper = stepper_for(SGD(shuffle), losses)
    assert total_steps(stepper) == 3
    theta0, time = field.parameters(), 0.24
    finals = {}
    for h in (0.02, 0.01, 0.005):
        state = stepper.init(theta0)
        for _ in range(round(time / (3 * h))):
            state = stepper.step(state, h)
        finals[h] = state.theta
    if shuffle == "fixed":
        theta = theta0
        for _ in range(round(time / (3 * 0.005))):
            for loss in losses:
                theta = theta - 0.005 * _grad(loss, theta)
        _close(finals[0.005], theta)
    s0, s1 = _drift_slopes(field, finals, time)
    assert abs(s0 - 1) <= 0.15 and abs(s1 - 2) <= 0.15, (s0, s1)


def test_dtype_and_device_follow_the_input() -> None:
    field = OptimiserField(LOSSES["non_polynomial"][1], method=HeavyBall("1/2"))
    out = field(POINTS[0].float())
    assert out.dtype == torch.float32 and out.device == POINTS.device
    _close(out.double(), field(POINTS[0]), rel=1e-5)


def test_truncation_zero_is_the_leading_flow() -> None:
    _, torch_loss = LOSSES["two_parameter"]
    field = OptimiserField(torch_loss, method=Adam("1/2", "3/4", "1/10", eps_inside=True), truncation=0, h=0.5)
    p = POINTS[0]
    g = _grad(torch_loss, p)
    _close(field(p), -g / (g * g + 0.1).sqrt())
    assert field.terms(p).shape == (1, 2)


def test_bad_input() -> None:
    loss = LOSSES["two_parameter"][1]
    with pytest.raises(BeaTypeError, match="explicit_midpoint"):
        OptimiserField(loss, method=explicit_midpoint)
    with pytest.raises(InvalidTruncationError):
        OptimiserField(loss, method=HeavyBall("1/2"), truncation=2)
    with pytest.raises(InvalidStepSizeError):
        OptimiserField(loss, method=HeavyBall("1/2"), h=-0.1)
    with pytest.raises(InvalidLossError, match="at least two"):
        OptimiserField([loss], method=SGD("random"))
    with pytest.raises(InvalidLossError, match="one loss"):
        OptimiserField([loss, loss], method=HeavyBall("1/2"))
    with pytest.raises(BeaTypeError, match="pair"):
        OptimiserField.from_minibatches(nn.Linear(2, 1), nn.functional.mse_loss, [torch.ones(2)], method=SGD("random"))
    with pytest.raises(InvalidLossError):
        OptimiserField(lambda t: t * 2, method=HeavyBall("1/2"))(torch.ones(2, dtype=torch.float64))
