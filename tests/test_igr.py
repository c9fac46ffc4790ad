"""numeric.igr / numeric.egr / numeric.flatness: R_IG, explicit gradient regularisation, flatness measures."""

from __future__ import annotations

import itertools
import math

import pytest
import sympy

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402

import bea  # noqa: E402
import numeric  # noqa: E402
from bea.errors import BeaTypeError, BeaValueError  # noqa: E402
from numeric.autodiff import ModifiedField  # noqa: E402
from numeric.codegen import compile_field  # noqa: E402
from numeric.errors import HyperparameterError, NumericTypeError, ShapeError  # noqa: E402
from numeric.igr import (  # noqa: E402
    DoubleBackprop,
    FiniteDifference,
    SlopeRecorder,
    egr_gradient,
    egr_step,
    gradient_norm,
    igr_loss,
    igr_rate,
    perturbation_robustness,
    r_ig,
    r_ig_module,
)

F64 = torch.float64
A_S, B_S, X_S, Y_S = sympy.symbols("a b x y")


def quartic(t: torch.Tensor) -> torch.Tensor:
    """A non-quadratic loss with a non-trivial third derivative (T ≠ 0)."""
    return 0.5 * (t[0] * t[1] - 0.6) ** 2 + 0.25 * (t**4).sum() + torch.sin(t).prod()


def two_param(t: torch.Tensor) -> torch.Tensor:
    return 0.5 * (0.6 - t[0] * t[1]) ** 2  # E = (y - a b x)^2 / 2 with x = 1, y = 0.6


def theta0() -> torch.Tensor:
    return torch.tensor([0.7, -0.4, 1.1], dtype=F64)


def mlp() -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(3)
    model = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3)).to(F64)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=F64) * 0.7)
    x = torch.randn(16, 4, generator=gen, dtype=F64)
    y = torch.randint(0, 3, (16,), generator=gen)
    return model, x, y


def flat_params(model: nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()])


def flat_grads(model: nn.Module) -> torch.Tensor:
    return torch.cat([p.grad.reshape(-1) for p in model.parameters()])


# --------------------------------------------------------------------------- R_IG and λ
def test_igr_rate_value_and_validation() -> None:
    assert igr_rate(0.1, 26122) == pytest.approx(0.1 * 26122 / 4, rel=1e-15)
    assert igr_rate(2, 1) == 0.5
    for bad_h in (0, -0.1, math.nan, math.inf):
        with pytest.raises(HyperparameterError, match="h must be a positive finite"):
            igr_rate(bad_h, 3)
    for bad_h in (True, "0.1", None):
        with pytest.raises(NumericTypeError, match="h must be a real number"):
            igr_rate(bad_h, 3)
    with pytest.raises(HyperparameterError, match="m must be a positive integer"):
        igr_rate(0.1, 0)
    for bad_m in (2.5, True):
        with pytest.raises(BeaTypeError, match="m must be a positive integer"):
            igr_rate(0.1, bad_m)


def test_r_ig_quadratic_closed_form() -> None:
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(4, 4, generator=gen, dtype=F64)
    a = a @ a.T
    theta = torch.randn(4, generator=gen, dtype=F64)
    value = r_ig(lambda t: 0.5 * t @ a @ t, theta)
    expected = (a @ theta).pow(2).sum() / 4  # ‖Aθ‖²/m
    torch.testing.assert_close(value, expected, rtol=1e-14, atol=0)
    assert value.shape == () and not value.requires_grad
    # differentiable on request: ∇R_IG = 2A²θ/m
    t = theta.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(r_ig(lambda s: 0.5 * s @ a @ s, t, create_graph=True), t)
    torch.testing.assert_close(grad, 2 * a @ a @ theta / 4, rtol=1e-13, atol=0)
    # λ R_IG = (h/4)‖g‖², so the modified loss is E + λ R_IG
    h = 0.05
    torch.testing.assert_close(igr_loss(quartic, theta0(), h),
                               quartic(theta0()) + igr_rate(h, 3) * r_ig(quartic, theta0()), rtol=1e-14, atol=0)


def test_r_ig_module_matches_flat_and_keeps_grad() -> None:
    model, x, y = mlp()
    closure = lambda: nn.functional.cross_entropy(model(x), y)  # noqa: E731
    field = ModifiedField(lambda net: nn.functional.cross_entropy(net(x), y), model, truncation=0, h=0.1)
    g = -field(field.parameters())  # order 0: -∇E
    for p in model.parameters():
        p.grad = torch.full_like(p, 7.0)
    torch.testing.assert_close(r_ig_module(model, closure), g.pow(2).sum() / g.numel(), rtol=1e-13, atol=0)
    torch.testing.assert_close(gradient_norm(model, closure), g.norm(), rtol=1e-13, atol=0)
    assert all(bool((p.grad == 7.0).all()) for p in model.parameters())


def test_input_validation() -> None:
    with pytest.raises(ShapeError, match="1-D"):
        r_ig(quartic, torch.zeros(2, 2, dtype=F64))
    with pytest.raises(NumericTypeError, match="floating dtype"):
        r_ig(quartic, torch.tensor([1, 2, 3]))
    with pytest.raises(NumericTypeError, match=r"1-D floating torch\.Tensor"):
        r_ig(quartic, [0.1, 0.2, 0.3])  # type: ignore[arg-type]
    with pytest.raises(ShapeError, match="scalar"):
        r_ig(lambda t: t * 2, theta0())
    with pytest.raises(NumericTypeError, match="does not depend"):
        r_ig(lambda t: t.detach().sum(), theta0())
    with pytest.raises(NumericTypeError, match=r"nn\.Module or an iterable"):
        egr_step(3, lambda: torch.zeros(()), 0.1)  # type: ignore[arg-type]
    frozen = nn.Linear(2, 1).requires_grad_(False)
    with pytest.raises(HyperparameterError, match="no trainable parameters"):
        r_ig_module(frozen, lambda: frozen.weight.sum())
    for err in (HyperparameterError, ShapeError):
        assert issubclass(err, BeaValueError) and issubclass(err, ValueError)
    assert issubclass(NumericTypeError, TypeError)


# --------------------------------------------------------------------------- EGR = IGR field
@pytest.mark.parametrize("h", [0.02, 0.3])
def test_egr_gradient_is_minus_order1_modified_field(h: float) -> None:
    theta = theta0()
    field = ModifiedField(quartic, truncation=1, h=h)
    expected = -field(theta)  # g + (h/2) H g
    torch.testing.assert_close(egr_gradient(quartic, theta, h / 4), expected, rtol=1e-14, atol=1e-15)
    torch.testing.assert_close(egr_gradient(quartic, theta, h / 4, FiniteDifference(1e-4, central=True)),
                               expected, rtol=1e-7, atol=1e-8)
    # the IGR modified loss has this gradient too
    t = theta.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(igr_loss(quartic, t, h), t)
    torch.testing.assert_close(grad, expected, rtol=1e-14, atol=1e-15)
    # and mu = 0 is plain gradient descent's field
    torch.testing.assert_close(egr_gradient(quartic, theta, 0.0, "finite_difference"),
                               -ModifiedField(quartic, truncation=0)(theta), rtol=0, atol=0)


def test_egr_matches_exact_sympy_field() -> None:
    flow = bea.modified_flow((Y_S - A_S * B_S * X_S) ** 2 / 2, [A_S, B_S], truncation=1)
    fn = compile_field(flow, x=1.0, y=0.6)
    h = 0.05
    for point in ([2.8, 3.5], [0.3, -1.2], [1.0, 0.6]):
        theta = torch.tensor(point, dtype=F64)
        exact = -fn(theta, h=h)
        torch.testing.assert_close(egr_gradient(two_param, theta, h / 4, DoubleBackprop()), exact,
                                   rtol=1e-13, atol=1e-14)
        torch.testing.assert_close(egr_gradient(two_param, theta, h / 4, FiniteDifference(1e-5)), exact,
                                   rtol=1e-4, atol=1e-6)
    # closed form: ‖∇E‖² = 2x²(a²+b²)E, so at a b = y/x (E = 0) EGR is just the zero gradient
    on_minimum = torch.tensor([1.0, 0.6], dtype=F64)
    assert float(egr_gradient(two_param, on_minimum, 10.0, FiniteDifference()).abs().max()) < 1e-15


def test_finite_difference_error_is_order_eps() -> None:
    theta, mu = theta0(), 0.2
    exact = egr_gradient(quartic, theta, mu)
    # leading error of the forward difference: μ ε ‖g‖ T[ĝ,ĝ]
    t = theta.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(quartic(t), t, create_graph=True)
    u = (g / g.norm()).detach()
    (hu,) = torch.autograd.grad(g, t, u, create_graph=True)
    (tuu,) = torch.autograd.grad(hu, t, u)
    lead = mu * g.norm().detach() * tuu
    forward, central = [], []
    for eps in (1e-2, 1e-3, 1e-4):
        err = egr_gradient(quartic, theta, mu, FiniteDifference(eps)) - exact
        torch.testing.assert_close(err / eps, lead, rtol=20 * eps, atol=20 * eps)
        forward.append(float(err.norm()))
        central.append(float((egr_gradient(quartic, theta, mu, FiniteDifference(eps, central=True)) - exact).norm()))
    for big, small in itertools.pairwise(forward):
        assert 8 < big / small < 12  # O(ε)
    assert 80 < central[0] / central[1] < 120  # O(ε²)
    assert central[1] < 1e-3 * forward[1]


def test_egr_step_module_both_modes_match_autodiff_field() -> None:
    model, x, y = mlp()
    h = 0.2
    field = ModifiedField(lambda net: nn.functional.cross_entropy(net(x), y), model, truncation=1, h=h)
    expected = -field(field.parameters())
    closure = lambda: nn.functional.cross_entropy(model(x), y)  # noqa: E731
    before = [p.detach().clone() for p in model.parameters()]
    loss, gn2 = egr_step(model, closure, h / 4)
    torch.testing.assert_close(flat_grads(model), expected, rtol=1e-13, atol=1e-15)
    torch.testing.assert_close(loss, closure().detach(), rtol=0, atol=0)
    torch.testing.assert_close(gn2, (-ModifiedField(field._objective, truncation=0)(flat_params(model))).pow(2).sum(),
                               rtol=1e-13, atol=0)
    for mode, tol in ((FiniteDifference(1e-4, central=True), 1e-8), (FiniteDifference(1e-6), 1e-6)):
        loss_fd, gn2_fd = egr_step(model, closure, h / 4, mode)
        torch.testing.assert_close(flat_grads(model), expected, rtol=tol, atol=tol)
        assert float(loss_fd) == float(loss) and float(gn2_fd) == float(gn2)
    # the perturbed evaluations restored the parameters bit for bit
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), before, strict=True))


def test_egr_step_grad_semantics_and_unused_params() -> None:
    w = nn.Parameter(torch.tensor([1.0, 2.0], dtype=F64))
    lin = nn.Parameter(torch.tensor([3.0], dtype=F64))  # loss linear in it: gradient constant, Hg = 0
    unused = nn.Parameter(torch.tensor([5.0], dtype=F64))
    frozen = nn.Parameter(torch.tensor([1.5], dtype=F64), requires_grad=False)
    closure = lambda: (w**3).sum() + 4 * lin.sum() + frozen.sum() * w.sum()  # noqa: E731
    params = [w, lin, unused, frozen]
    for mode in (DoubleBackprop(), FiniteDifference(1e-6, central=True)):
        for p in params:
            p.grad = None
        egr_step(params, closure, 0.5, mode)
        egr_step(params, closure, 0.5, mode)  # overwrites by default
        g = 3 * w.detach() ** 2 + 1.5
        hg = 6 * w.detach() * g  # H = diag(6w) on w; zero elsewhere
        torch.testing.assert_close(w.grad, g + hg, rtol=1e-8, atol=0)
        torch.testing.assert_close(lin.grad, torch.tensor([4.0], dtype=F64), rtol=1e-8, atol=0)
        torch.testing.assert_close(unused.grad, torch.zeros(1, dtype=F64), rtol=0, atol=0)
        assert frozen.grad is None
        egr_step(params, closure, 0.5, mode, accumulate=True)
        torch.testing.assert_close(w.grad, 2 * (g + hg), rtol=1e-8, atol=0)


@pytest.mark.parametrize("mode", [DoubleBackprop(), FiniteDifference(1e-5), FiniteDifference(1e-4, central=True)])
def test_egr_step_gradients_that_autograd_aliases(mode: object) -> None:
    # for E = ‖a + b‖²/2 autograd returns ONE tensor as ∇_a E and ∇_b E, and for a.sum() a stride-0 view:
    # .grad must still be separate contiguous tensors, and accumulate=True must not write through them
    a = nn.Parameter(torch.tensor([0.3, -1.1, 0.5], dtype=F64))
    b = nn.Parameter(torch.tensor([0.9, 0.2, -0.4], dtype=F64))
    c = nn.Parameter(torch.tensor([2.0, 1.0, 3.0], dtype=F64))
    s = (a + b).detach()
    egr_step([a, b, c], lambda: ((a + b) ** 2).sum() / 2 + c.sum(), 0.1, mode)  # H = [[I, I], [I, I]] on (a, b)
    egr_step([a, b, c], lambda: ((a + b) ** 2).sum() / 2 + c.sum(), 0.1, mode, accumulate=True)
    for p, expected in ((a, 1.4 * s), (b, 1.4 * s), (c, torch.ones(3, dtype=F64))):
        assert p.grad.is_contiguous()
        torch.testing.assert_close(p.grad, 2 * expected, rtol=1e-9, atol=1e-10)
    assert len({p.grad.data_ptr() for p in (a, b, c)}) == 3
    with pytest.raises(HyperparameterError, match="more than once"):
        egr_step([a, a], lambda: (a**2).sum(), 0.1, mode)


def test_one_egr_sgd_step_equals_sgd_on_analytic_regularised_loss() -> None:
    mu, lr = 0.3, 0.05
    start = [1.3, -0.2]

    def run(egr: bool, mode: object = None, momentum: float = 0.0, steps: int = 1) -> list[float]:
        a, b = (nn.Parameter(torch.tensor(v, dtype=F64)) for v in start)
        opt = torch.optim.SGD([a, b], lr=lr, momentum=momentum)
        for _ in range(steps):
            opt.zero_grad()
            if egr:
                egr_step([a, b], lambda: 0.5 * (0.6 - a * b) ** 2, mu, mode)
            else:  # ‖∇E‖² = 2x²(a²+b²)E with x = 1
                e = 0.5 * (0.6 - a * b) ** 2
                (e * (1 + 2 * mu * (a**2 + b**2))).backward()
            opt.step()
        return [float(a.detach()), float(b.detach())]

    plain = run(False)
    assert plain != start
    assert run(True, DoubleBackprop()) == pytest.approx(plain, rel=1e-15, abs=1e-15)
    assert run(True, FiniteDifference(1e-5, central=True)) == pytest.approx(plain, rel=1e-9)
    assert run(True, "double_backprop", 0.9, 3) == pytest.approx(run(False, None, 0.9, 3), rel=1e-14)


def test_egr_validation_and_critical_point() -> None:
    for bad in (-0.1, math.nan, math.inf):
        with pytest.raises(HyperparameterError, match="mu must be a non-negative finite"):
            egr_gradient(quartic, theta0(), bad)
    with pytest.raises(NumericTypeError, match="mu must be a real number"):
        egr_gradient(quartic, theta0(), True)
    with pytest.raises(HyperparameterError, match="unknown EGR mode 'sam'"):
        egr_gradient(quartic, theta0(), 0.1, "sam")
    with pytest.raises(NumericTypeError, match="mode must be"):
        egr_gradient(quartic, theta0(), 0.1, 3)  # type: ignore[arg-type]
    with pytest.raises(HyperparameterError, match="eps must be a positive"):
        FiniteDifference(0.0)
    with pytest.raises(NumericTypeError, match="loss_closure must be callable"):
        egr_step(nn.Linear(2, 1), 1.0, 0.1)  # type: ignore[arg-type]
    w = nn.Parameter(torch.tensor([0.3, -0.7], dtype=F64))
    calls = []

    def flaky() -> torch.Tensor:  # fails at the perturbed point: θ must still come back bit for bit
        calls.append(w.detach().clone())
        if len(calls) == 2:
            raise RuntimeError("bad batch")
        return (w**3).sum()

    with pytest.raises(RuntimeError, match="bad batch"):
        egr_step([w], flaky, 0.1, FiniteDifference(0.5))
    assert not torch.equal(calls[1], calls[0]) and torch.equal(w.detach(), calls[0])
    zero = torch.zeros(3, dtype=F64)  # ∇E(0) = 0 for E = ‖θ‖⁴: the FD step is skipped, no 0/0
    out = egr_gradient(lambda t: (t**2).sum() ** 2, zero, 1.0, FiniteDifference())
    assert torch.equal(out, zero)


# --------------------------------------------------------------------------- flatness measures
def test_gradient_norm_and_slope_recorder() -> None:
    model, x, y = mlp()
    closure = lambda: nn.functional.cross_entropy(model(x), y)  # noqa: E731
    torch.testing.assert_close(gradient_norm(two_param, torch.tensor([2.0, 1.0], dtype=F64)),
                               torch.tensor(math.sqrt(2 * 5 * 0.5 * 1.4**2), dtype=F64), rtol=1e-14, atol=0)
    rec = SlopeRecorder(model, closure, every=2)
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    seen = []
    for step in range(5):
        if rec(step) is not None:
            seen.append(float(gradient_norm(model, closure)))
        opt.zero_grad()
        closure().backward()
        opt.step()
    assert rec.steps == [0, 2, 4] and rec.values == pytest.approx(seen, rel=1e-14)
    assert rec.values[-1] < rec.values[0]  # training flattens the surface here
    assert rec(6, grad_norm_sq=torch.tensor(9.0)) == 3.0 and rec.as_dict()["slope"][-1] == 3.0


def test_perturbation_robustness_statistics_and_restore() -> None:
    model, x, y = mlp()
    buffers_before = {n: b.clone() for n, b in model.named_buffers()}
    before = [p.detach().clone() for p in model.parameters()]

    def evaluate(net: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
        out = net(x)
        return nn.functional.cross_entropy(out, y), (out.argmax(1) == y).double().mean()

    scales = [0.0, 0.05, 1.0]
    res = perturbation_robustness(model, evaluate, scales, draws=4, generator=torch.Generator().manual_seed(11))
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), before, strict=True))
    assert {n: b for n, b in model.named_buffers()}.keys() == buffers_before.keys()
    again = perturbation_robustness(model, evaluate, scales, 4, 11)  # an int seed: same CPU generator
    assert res == again
    with torch.no_grad():
        loss0, acc0 = evaluate(model)
    assert [r.sigma for r in res] == scales and res[0].draws == 4
    assert res[0].loss_mean == pytest.approx(float(loss0), rel=1e-15) and res[0].loss_std == 0.0
    assert res[0].accuracy_mean == pytest.approx(float(acc0)) and res[0].accuracy_std == 0.0
    assert res[2].loss_mean > 1.5 * res[0].loss_mean and res[2].accuracy_mean < res[0].accuracy_mean
    assert 0 < res[1].loss_std < res[2].loss_std
    # reproduce the σ = 1 losses by hand: the noise order is scales → draws → parameters
    gen = torch.Generator().manual_seed(11)
    losses = []
    with torch.no_grad():
        for sigma in scales:
            for _ in range(4):
                for p, s in zip(model.parameters(), before, strict=True):
                    p.copy_(s + sigma * torch.randn(p.shape, generator=gen, dtype=F64))
                losses.append(float(evaluate(model)[0]))
            for p, s in zip(model.parameters(), before, strict=True):
                p.copy_(s)
    manual = torch.tensor(losses[8:], dtype=F64)
    assert res[2].loss_mean == pytest.approx(float(manual.mean()), rel=1e-14)
    assert res[2].loss_std == pytest.approx(float(manual.std()), rel=1e-12)

    def failing(net: nn.Module) -> tuple[float, float]:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        perturbation_robustness(model, failing, [0.5], 1, 0)
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), before, strict=True))
    with pytest.raises(HyperparameterError, match="sigma"):
        perturbation_robustness(model, evaluate, [-0.1], 1, 0)
    with pytest.raises(HyperparameterError, match="draws"):
        perturbation_robustness(model, evaluate, [0.1], 0, 0)
    with pytest.raises(NumericTypeError, match="generator"):
        perturbation_robustness(model, evaluate, [0.1], 1, "seed")  # type: ignore[arg-type]


def test_public_names() -> None:
    import numeric.igr as igr

    for name in ("r_ig", "igr_rate", "egr_step", "egr_gradient", "perturbation_robustness", "gradient_norm",
                 "r_ig_module", "igr_loss", "DoubleBackprop", "FiniteDifference", "SlopeRecorder", "Robustness"):
        assert name in igr.__all__ and callable(getattr(igr, name))
    for name in ("ModifiedField", "field_plan", "egr_step", "r_ig", "perturbation_robustness"):
        assert name in numeric.__all__ and hasattr(numeric, name)
