"""numeric.codegen: SymPy modified fields compiled to torch / NumPy callables."""

from __future__ import annotations

import numpy as np
import pytest
import sympy

torch = pytest.importorskip("torch")

import bea  # noqa: E402
from bea.errors import BeaTypeError, BeaValueError  # noqa: E402
from numeric.codegen import BACKENDS, CompiledField, compile_field, get_backend  # noqa: E402
from numeric.errors import ShapeError, UnboundSymbolError, UnknownBackendError  # noqa: E402

a, b, x, y = sympy.symbols("a b x y")
LOSS = (y - a * b * x) ** 2 / 2
DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA"))]


@pytest.fixture(scope="module")
def flow() -> bea.ModifiedFlow:
    return bea.modified_flow(LOSS, [a, b], truncation=3)


def _exact(flow: bea.ModifiedFlow, order: int, point: tuple[float, float], **vals: float) -> np.ndarray:
    subs = {a: point[0], b: point[1], flow.h: vals["h"], x: vals["x"], y: vals["y"]}
    return np.array([float(e) for e in flow.field(order).subs(subs)])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("order", [0, 1, 3])
def test_matches_sympy(flow: bea.ModifiedFlow, order: int, device: str) -> None:
    fn = compile_field(flow, truncation=order, x=1.0, y=0.6)
    theta = torch.tensor([[2.8, 3.5], [0.3, -1.2]], dtype=torch.float64, device=device)
    out = fn(theta, h=0.01)
    assert out.shape == (2, 2) and out.dtype == torch.float64 and out.device.type == device
    for i in range(2):
        expected = _exact(flow, order, tuple(theta[i].tolist()), h=0.01, x=1.0, y=0.6)
        np.testing.assert_allclose(out[i].cpu().numpy(), expected, rtol=1e-13)
    single = fn(theta[0], h=0.01)
    assert single.shape == (2,)
    torch.testing.assert_close(single, out[0], rtol=0, atol=0)


def test_gradient_at_order_zero(flow: bea.ModifiedFlow) -> None:
    fn = compile_field(flow, truncation=0, subs={x: 1, y: sympy.Rational(3, 5)})
    out = fn(torch.tensor([2.8, 3.5], dtype=torch.float64), h=0.5)  # h is irrelevant at order 0
    torch.testing.assert_close(out, torch.tensor([-32.2, -25.76], dtype=torch.float64))


def test_dtype_follows_input_and_numpy_backend(flow: bea.ModifiedFlow) -> None:
    fn = compile_field(flow, x=1.0, y=0.6, h=0.01)
    theta = torch.randn(5, 2, dtype=torch.float64)
    assert fn(theta.float()).dtype == torch.float32
    fn_np = compile_field(flow, backend="numpy", x=1.0, y=0.6, h=0.01)
    out = fn_np(theta.numpy())
    assert isinstance(out, np.ndarray) and out.shape == (5, 2)
    np.testing.assert_allclose(out, fn(theta).numpy(), rtol=1e-13)
    assert fn_np(np.ones(2, dtype=np.float32)).dtype == np.float32


def test_binding_and_errors(flow: bea.ModifiedFlow) -> None:
    fn = compile_field(flow, truncation=2)
    assert isinstance(fn, CompiledField) and fn.unbound == ("h", "x", "y")
    theta = torch.tensor([1.0, 2.0], dtype=torch.float64)
    with pytest.raises(UnboundSymbolError, match="no value for h, x, y"):
        fn(theta)
    with pytest.raises(UnboundSymbolError, match="z is not a symbol"):
        fn.bind(z=1.0)
    bound = fn.bind(h=0.01, x=1.0)
    assert bound.unbound == ("y",) and fn.unbound == ("h", "x", "y")  # bind returns a copy
    torch.testing.assert_close(bound(theta, y=0.6), fn(theta, h=0.01, x=1.0, y=0.6))
    with pytest.raises(ShapeError, match=r"shape \(\.\.\., 2\)"):
        bound(torch.ones(3, dtype=torch.float64), y=0.6)
    with pytest.raises(BeaTypeError):
        fn(theta, h="big", x=1, y=1)
    with pytest.raises(UnknownBackendError, match="unknown backend 'jax'"):
        compile_field(flow, backend="jax")
    assert isinstance(UnknownBackendError("x"), ValueError)
    assert get_backend("NumPy") is BACKENDS["numpy"]


def test_plain_column() -> None:
    u, v, c = sympy.symbols("u v c")
    col = sympy.Matrix([-u + c * v, sympy.exp(-u) * sympy.sin(v)])
    fn = compile_field(col, params=[u, v], c=2.0)
    out = fn(torch.tensor([0.5, 1.5], dtype=torch.float64))
    np.testing.assert_allclose(out.numpy(), [-0.5 + 3.0, np.exp(-0.5) * np.sin(1.5)], rtol=1e-14)
    const = compile_field([sympy.Integer(1), u], params=[u, v])  # a constant component broadcasts
    assert const(torch.zeros(4, 2, dtype=torch.float64))[:, 0].tolist() == [1.0] * 4
    with pytest.raises(BeaTypeError, match="needs params"):
        compile_field(col)
    with pytest.raises(BeaTypeError, match="truncation applies"):
        compile_field(col, truncation=1, params=[u, v])
    with pytest.raises(BeaValueError, match="one entry per parameter"):
        compile_field(col, params=[u])


def test_nonsmooth_functions_compile() -> None:
    u, v = sympy.symbols("u v")
    col = sympy.Matrix([sympy.Max(u, 0) - sympy.Abs(v), sympy.Heaviside(u) + sympy.Min(u, v, 1)])
    for backend in ("torch", "numpy"):
        fn = compile_field(col, params=[u, v], backend=backend)
        out = np.asarray(fn(torch.tensor([[0.5, -2.0], [-1.0, 3.0]], dtype=torch.float64)))
        np.testing.assert_allclose(out, [[0.5 - 2.0, 1.0 - 2.0], [-3.0, 0.0 - 1.0]])


def test_compile_order_six() -> None:
    flow6 = bea.modified_flow(LOSS, [a, b], truncation=6)
    fn = compile_field(flow6, x=1.0, y=0.6, h=0.01)  # timings: benchmarks/bench_codegen.py
    fn(torch.zeros(2, dtype=torch.float64))
    theta = torch.randn(10_000, 2, dtype=torch.float64)
    assert torch.isfinite(fn(theta)).all()


def test_bound_scalars_are_folded_in_and_agree_with_call_time_values() -> None:
    a, b, x, y = sympy.symbols("a b x y")
    flow = bea.modified_flow((y - a * b * x) ** 2 / 2, [a, b], truncation=4)
    theta = torch.rand(50, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1)) + 0.5
    generic = compile_field(flow)(theta, h=0.01, x=1.0, y=0.6)  # every value at call time
    folded = compile_field(flow, h=0.01, x=1.0, y=0.6)
    assert torch.allclose(folded(theta), generic, rtol=1e-12, atol=1e-14)
    # a value given at call time overrides the folded one
    other = compile_field(flow)(theta, h=0.02, x=1.0, y=0.6)
    assert torch.allclose(folded(theta, h=0.02), other, rtol=1e-12, atol=1e-14)
    assert not torch.allclose(other, generic)
    # the exact field at one point, evaluated by SymPy
    point = {a: sympy.Rational(3, 2), b: sympy.Rational(5, 4), flow.h: sympy.Rational(1, 100), x: 1,
             y: sympy.Rational(3, 5)}
    exact = [float(e.xreplace(point)) for e in flow.field()]
    value = folded(torch.tensor([[1.5, 1.25]], dtype=torch.float64))[0]
    assert value.tolist() == pytest.approx(exact, rel=1e-13)
