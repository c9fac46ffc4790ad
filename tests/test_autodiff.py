"""numeric.autodiff: modified fields by autodiff against an independent SymPy route.

The SymPy reference differentiates f = -∇E symbolically (bea.differentials.field_series_terms)
and evaluates at a random point; the torch side only sees a torch loss.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable

import pytest
import sympy

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402

import bea  # noqa: E402
from bea import methods  # noqa: E402
from bea.differentials import ElementaryDifferentials, field_series_terms  # noqa: E402
from bea.errors import BeaTypeError, BeaValueError, InvalidLossError  # noqa: E402
from numeric.autodiff import ModifiedField, field_plan  # noqa: E402

F64 = torch.float64
a, b, c = sympy.symbols("a b c")


def _two_param() -> tuple[sympy.Expr, tuple[sympy.Symbol, ...], object]:
    x, y = 1.0, 0.6
    expr = (sympy.Rational(3, 5) - a * b) ** 2 / 2
    return expr, (a, b), lambda t: (y - t[0] * t[1] * x) ** 2 / 2


def _quartic() -> tuple[sympy.Expr, tuple[sympy.Symbol, ...], object]:
    expr = a**4 / 4 + a**2 * b**2 / 2 + b**3 / 3 + a * b
    return expr, (a, b), lambda t: t[0] ** 4 / 4 + t[0] ** 2 * t[1] ** 2 / 2 + t[1] ** 3 / 3 + t[0] * t[1]


def _poly_transcendental(softplus: bool = False) -> tuple[sympy.Expr, tuple[sympy.Symbol, ...], object]:
    rng = random.Random(7)
    monomials = [(rng.randint(-3, 3), [rng.randint(0, 2) for _ in range(3)]) for _ in range(4)]
    expr = sum(k * a**i * b**j * c**m for k, (i, j, m) in monomials) / 5
    # SymPy's expansion of derivatives of log(1 + exp(ab)) is slow, so order 3 uses exp(ab)/3.
    expr += (sympy.log(1 + sympy.exp(a * b)) if softplus else sympy.exp(a * b) / 3) + sympy.sin(a) * c**2

    def loss(t):  # type: ignore[no-untyped-def]
        poly = sum(k * t[0] ** i * t[1] ** j * t[2] ** m for k, (i, j, m) in monomials) / 5
        ab = t[0] * t[1]
        smooth = torch.nn.functional.softplus(ab) if softplus else torch.exp(ab) / 3
        return poly + smooth + torch.sin(t[0]) * t[2] ** 2

    return expr, (a, b, c), loss


LOSSES = {
    "two_param": _two_param,
    "quartic": _quartic,
    "poly_transcendental": _poly_transcendental,
    "poly_softplus": functools.partial(_poly_transcendental, softplus=True),
}


def _name(method: bea.RungeKutta) -> str:
    return str(method.name)


METHODS = [methods.explicit_euler, methods.explicit_midpoint, methods.implicit_euler]


@functools.cache
def _differentials(name: str) -> ElementaryDifferentials:
    """F(τ) of f = -∇E in SymPy, shared by the methods (it caches the derivatives)."""
    expr, params, _ = LOSSES[name]()
    return ElementaryDifferentials(-sympy.Matrix([sympy.diff(expr, s) for s in params]), params)


def _sympy_terms(name: str, method: bea.RungeKutta, p: int, point: list[float]) -> list[torch.Tensor]:
    _, params, _ = LOSSES[name]()
    terms = field_series_terms(bea.modified_equation(method, p + 1), _differentials(name), params)
    subs = dict(zip(params, [sympy.Float(v, 30) for v in point], strict=True))
    return [torch.tensor([float(e.evalf(30, subs=subs)) for e in term], dtype=F64) for term in terms]


@pytest.mark.parametrize("method", METHODS, ids=_name)
@pytest.mark.parametrize("name", ["two_param", "quartic", "poly_transcendental"])
def test_matches_sympy_through_h3(name: str, method: bea.RungeKutta) -> None:
    _check_against_sympy(name, method, 3)


def test_softplus_matches_sympy_through_h2() -> None:
    _check_against_sympy("poly_softplus", methods.explicit_euler, 2)


def _check_against_sympy(name: str, method: bea.RungeKutta, p: int) -> None:
    _, params, loss = LOSSES[name]()
    rng = random.Random(f"{name}-{method.name}")
    point = [rng.uniform(-1.0, 1.0) for _ in params]
    h = 0.07
    expected_terms = _sympy_terms(name, method, p, point)
    field = ModifiedField(loss, truncation=p, h=h, method=method)
    theta = torch.tensor(point, dtype=F64)
    got_terms = field.terms(theta)
    assert got_terms.shape == (p + 1, len(params))
    for k, expected in enumerate(expected_terms):
        scale = max(1.0, float(expected.norm()))
        assert float((got_terms[k] - expected).norm()) <= 1e-10 * scale, (k, got_terms[k], expected)
    expected = sum(h**k * t for k, t in enumerate(expected_terms))
    got = field(theta)
    assert float((got - expected).norm()) <= 1e-10 * float(expected.norm())
    for q in range(p):  # lower truncations agree with the partial sums
        low = ModifiedField(loss, truncation=q, h=h, method=method)(theta)
        partial = sum(h**k * t for k, t in enumerate(expected_terms[: q + 1]))
        assert float((low - partial).norm()) <= 1e-10 * float(partial.norm())


def test_gd_order1_is_igr_by_double_backprop() -> None:
    torch.manual_seed(0)
    x, y = torch.randn(40, 3, dtype=F64), torch.randn(40, dtype=F64)

    def loss(t: torch.Tensor) -> torch.Tensor:
        w1, w2 = t[:15].view(5, 3), t[15:]
        return ((torch.tanh(x @ w1.T) @ w2 - y) ** 2).mean()

    theta = torch.randn(20, dtype=F64)
    h = 0.3
    t = theta.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(loss(t), t, create_graph=True)
    (expected,) = torch.autograd.grad(loss(t) + h / 4 * (g**2).sum(), t)
    got = ModifiedField(loss, truncation=1, h=h)(theta)
    torch.testing.assert_close(got, -expected, rtol=1e-12, atol=1e-13)


def test_quadratic_loss_closed_form_all_orders() -> None:
    torch.manual_seed(1)
    q = torch.randn(4, 4, dtype=F64)
    mat = q @ q.T / 4
    theta, h = torch.randn(4, dtype=F64), 0.2
    for p in range(5):
        got = ModifiedField(lambda t: 0.5 * t @ mat @ t, truncation=p, h=h)(theta)
        expected = -sum(h ** (k - 1) * torch.linalg.matrix_power(mat, k) @ theta / k for k in range(1, p + 2))
        torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-13)


def test_zero_coefficient_trees_are_skipped() -> None:
    plan = field_plan(methods.rk4, 3)
    assert [str(t) for t, _, _ in plan.terms] == ["•"]
    assert plan.nodes == ((),)
    midpoint = {str(t): coef for t, _, coef in field_plan(methods.explicit_midpoint, 3).terms}
    assert midpoint == {"•": 1.0, "[•²]": -1 / 24, "[[•]]": -1 / 6, "[[[•]]]": 1 / 8, "[[•²]]": 1 / 16}
    _, _, loss = _quartic()
    theta = torch.tensor([0.3, -0.4], dtype=F64)
    t = theta.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(loss(t), t)
    torch.testing.assert_close(ModifiedField(loss, truncation=3, h=0.1, method=methods.rk4)(theta), -g)


def test_plan_is_cached_and_h_is_cheap_to_change() -> None:
    assert field_plan(methods.explicit_euler, 3) is field_plan(methods.explicit_euler, 3)
    _, _, loss = _poly_transcendental()
    theta = torch.tensor([0.2, -0.5, 0.7], dtype=F64)
    field = ModifiedField(loss, truncation=2, h=0.1)
    other = field.with_h(0.05)
    assert other.plan is field.plan and other.h == 0.05 and field.h == 0.1
    terms = field.terms(theta)
    expected = terms[0] + 0.05 * terms[1] + 0.05**2 * terms[2]
    torch.testing.assert_close(other(theta), expected)
    torch.testing.assert_close(field(theta, h=0.05), expected)


def _mlp() -> nn.Module:
    torch.manual_seed(3)
    return nn.Sequential(nn.Linear(3, 6), nn.Tanh(), nn.Linear(6, 2)).to(F64)


def test_module_agrees_with_flat_function() -> None:
    model = _mlp()
    x = torch.randn(16, 3, dtype=F64)
    target = torch.randint(0, 2, (16,))
    criterion = nn.CrossEntropyLoss()

    def flat_loss(t: torch.Tensor) -> torch.Tensor:
        w1, b1 = t[:18].view(6, 3), t[18:24]
        w2, b2 = t[24:36].view(2, 6), t[36:38]
        return criterion(torch.tanh(x @ w1.T + b1) @ w2.T + b2, target)

    for method in (methods.explicit_euler, methods.explicit_midpoint):
        field = ModifiedField.from_module(model, criterion, x, target, truncation=3, h=0.2, method=method)
        theta = field.parameters()
        assert theta.shape == (38,) and theta.dtype == F64
        flat = ModifiedField(flat_loss, truncation=3, h=0.2, method=method)
        torch.testing.assert_close(field(theta), flat(theta), rtol=1e-11, atol=1e-13)
        closure = ModifiedField(lambda net: criterion(net(x), target), model, truncation=3, h=0.2, method=method)
        torch.testing.assert_close(closure(theta), flat(theta), rtol=1e-11, atol=1e-13)


def test_sequence_of_tensors_form() -> None:
    shapes = [torch.zeros(2, 2, dtype=F64), torch.zeros(2, dtype=F64)]

    def loss(ts: list[torch.Tensor]) -> torch.Tensor:
        w, v = ts
        return torch.sin(w).sum() * (v**2).sum() + (w @ v).pow(2).sum()

    def flat(t: torch.Tensor) -> torch.Tensor:
        return loss([t[:4].view(2, 2), t[4:]])

    theta = torch.randn(6, dtype=F64)
    torch.testing.assert_close(ModifiedField(loss, shapes, truncation=2)(theta),
                               ModifiedField(flat, truncation=2)(theta))


def test_dtype_and_device_follow_input() -> None:
    model = _mlp()
    x, target = torch.randn(8, 3, dtype=F64), torch.randint(0, 2, (8,))
    field = ModifiedField.from_module(model, nn.CrossEntropyLoss(), x, target, truncation=2, h=0.1)
    theta = field.parameters()
    single = field(theta.float())
    assert single.dtype == torch.float32 and single.device == theta.device
    torch.testing.assert_close(single.double(), field(theta), rtol=1e-4, atol=1e-5)
    as_list = field(theta.tolist())  # non-tensors use the constructor's dtype
    assert as_list.dtype == F64
    assert not field(theta).requires_grad and theta.grad is None


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA is not available")
def test_cuda_device() -> None:
    model = _mlp()
    x, target = torch.randn(8, 3, dtype=F64), torch.randint(0, 2, (8,))
    cpu = ModifiedField.from_module(model, nn.CrossEntropyLoss(), x, target, truncation=2, h=0.1)
    gpu = ModifiedField.from_module(model, nn.CrossEntropyLoss(), x, target, truncation=2, h=0.1, device="cuda")
    theta = gpu.parameters()
    assert theta.device.type == "cuda"
    out = gpu(theta)
    assert out.device.type == "cuda" and out.dtype == F64
    torch.testing.assert_close(out.cpu(), cpu(theta.cpu()), rtol=1e-10, atol=1e-12)


def test_errors() -> None:
    _, _, loss = _quartic()
    field = ModifiedField(loss, torch.zeros(2, dtype=F64), truncation=1)
    with pytest.raises(BeaValueError, match=r"shape \(2,\)"):
        field(torch.zeros(3, dtype=F64))
    with pytest.raises(BeaValueError, match="shape"):
        ModifiedField(loss, truncation=1)(torch.zeros(2, 1, dtype=F64))
    with pytest.raises(BeaValueError, match="-1"):
        ModifiedField(loss, truncation=-1)
    with pytest.raises(BeaTypeError, match=r"1\.5"):
        ModifiedField(loss, truncation=1.5)  # type: ignore[arg-type]
    with pytest.raises(BeaTypeError, match="method"):
        ModifiedField(loss, truncation=1, method="gd")  # type: ignore[arg-type]
    with pytest.raises(BeaTypeError, match="params_or_model"):
        ModifiedField(loss, {"a": 1}, truncation=1)
    with pytest.raises(BeaTypeError, match="h must"):
        ModifiedField(loss, truncation=1, h=float("nan"))
    with pytest.raises(BeaTypeError, match="theta"):
        field(torch.zeros(2, dtype=torch.complex128))
    with pytest.raises(InvalidLossError, match="scalar"):
        ModifiedField(lambda t: t * 2, truncation=1)(torch.zeros(2, dtype=F64))
    with pytest.raises(BeaValueError, match="no parameters"):
        ModifiedField(loss, truncation=1).parameters()


def _nested_jvp_field(
    loss: Callable[[torch.Tensor], torch.Tensor], method: bea.RungeKutta, order: int, h: float, theta: torch.Tensor
) -> torch.Tensor:
    """An independent torch route: each F(τ) = -D^{k+1}E[F(τ1)..F(τk)] by k nested jvps of grad."""
    grad = torch.func.grad(loss)

    def contraction(dirs: list[torch.Tensor]) -> torch.Tensor:
        fn = grad
        for v in dirs:
            fn = functools.partial(lambda f, v, t: torch.func.jvp(f, (t,), (v,))[1], fn, v)
        return fn(theta)

    @functools.cache
    def F(t: bea.Tree) -> torch.Tensor:
        return -contraction([F(s) for s in t.children])

    series = bea.modified_equation(method, order + 1)
    return sum(h ** (t.order - 1) * float(v) / t.symmetry * F(t) for t, v in series.items() if v != 0)


@pytest.mark.parametrize("method", [methods.explicit_euler, methods.explicit_midpoint, methods.rk4], ids=_name)
@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")  # inside torch.func
def test_mlp_matches_nested_jvp(method: bea.RungeKutta) -> None:
    model = _mlp()
    x, target = torch.randn(16, 3, dtype=F64), torch.randint(0, 2, (16,))
    order = 4 if method is methods.rk4 else 3
    field = ModifiedField.from_module(model, nn.CrossEntropyLoss(), x, target, truncation=order, h=0.3, method=method)
    theta = field.parameters()
    expected = _nested_jvp_field(field._objective, method, order, 0.3, theta)
    torch.testing.assert_close(field(theta), expected, rtol=1e-11, atol=1e-13)
