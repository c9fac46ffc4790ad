"""Small systems on the CPU: SciPy's DOP853 on NumPy (or Python floats) instead of torch (issue 13, verify row).

Independent routes that must agree: the torch solver (torchdiffeq dopri8 on torch-compiled fields) and the
SciPy route (DOP853 on NumPy-compiled fields) on the paper's model; the three evaluators of one compiled field
(torch tensors, NumPy arrays, Python floats row by row) and SymPy's exact values; the symbolic Jacobian and
torch.autograd's.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy

torch = pytest.importorskip("torch")

import bea  # noqa: E402
import numeric.integrate as integrate  # noqa: E402
from numeric.codegen import SCALAR_ROWS, compile_field  # noqa: E402
from numeric.drift import drift_check  # noqa: E402
from numeric.errors import ConvergenceError, UnboundSymbolError  # noqa: E402

F64 = torch.float64
a, b, x, y, h = sympy.symbols("a b x y h")
TWO_PARAM = (y - a * b * x) ** 2 / 2
SUBS = {x: 1, y: sympy.Rational(3, 5)}
HS = (0.01, 0.005, 0.0025, 0.00125)


@pytest.fixture(scope="module")
def flow() -> bea.ModifiedFlow:
    return bea.modified_flow(TWO_PARAM, [a, b], truncation=3)


def test_backend_chosen_by_size_device_and_dtype() -> None:
    assert integrate.choose_backend(torch.zeros(4, 2, dtype=F64)) == "numpy"
    assert integrate.choose_backend(torch.zeros(integrate.SMALL_SYSTEM + 1, dtype=F64)) == "torch"
    assert integrate.choose_backend(torch.zeros(2), dtype=torch.float32) == "torch"  # SciPy integrates float64 only
    assert integrate.choose_backend(np.zeros(3)) == "numpy"


def test_drift_errors_agree_between_integrators(flow: bea.ModifiedFlow, monkeypatch: pytest.MonkeyPatch) -> None:
    """The paper's model (Barrett & Dherin 2021, Fig. 1 setting): the errors of every truncation and step size
    agree between DOP853 on NumPy and dopri8 on torch to 1e-10 (the drifts themselves are 4e-8 .. 4e-2)."""
    scipy_route = drift_check(flow, {"a": 2.8, "b": 3.5}, HS, subs=SUBS)
    monkeypatch.setattr(integrate, "SMALL_SYSTEM", 0)  # every system is "large": torchdiffeq
    torch_route = drift_check(flow, {"a": 2.8, "b": 3.5}, HS, subs=SUBS, check_integration=False)
    assert scipy_route.passed and torch_route.passed
    for ours, theirs in zip(scipy_route.truncations, torch_route.truncations, strict=True):
        assert ours.slope is not None and theirs.slope is not None
        assert abs(ours.slope - theirs.slope) < 1e-6
        for e1, e2 in zip(ours.errors, theirs.errors, strict=True):
            assert e1 is not None and e2 is not None and abs(e1 - e2) < 1e-10
    assert min(e for o in scipy_route.truncations for e in o.errors if e is not None) > 1e-8  # not trivially equal
    assert scipy_route.integration_error is not None and scipy_route.integration_error < 1e-12


def test_one_compilation_serves_every_step_size(flow: bea.ModifiedFlow, monkeypatch: pytest.MonkeyPatch) -> None:
    """Compiled fields are reused across step sizes: the lambdify calls do not grow with the number of h."""
    calls = []
    original = sympy.lambdify

    def counting(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(sympy, "lambdify", counting)
    model = sympy.Rational(1, 2) * (sympy.Rational(7, 10) - a * b) ** 2 + sympy.Rational(1, 100) * a**4  # fresh caches
    fresh = bea.modified_flow(model, [a, b], truncation=2)
    drift_check(fresh, [1.1, 0.4], HS[:2], truncations=(0, 1, 2))
    with_two = len(calls)
    model4 = model + sympy.Rational(1, 1000) * b**4  # another model, so nothing is cached from the first run
    drift_check(bea.modified_flow(model4, [a, b], truncation=2), [1.1, 0.4], HS, truncations=(0, 1, 2))
    assert 0 < len(calls) - with_two == with_two <= 6  # r = 0 in torch, its Jacobian, r = 0..2 on the small route


@pytest.mark.parametrize("rows", [3, SCALAR_ROWS + 5])
def test_three_evaluators_agree(flow: bea.ModifiedFlow, rows: int) -> None:
    """torch tensors, NumPy arrays (large batches) and Python floats (small batches) give the same field."""
    rng = np.random.default_rng(0)
    theta = rng.uniform(-2, 2, size=(rows, 2))
    hs = rng.uniform(0.001, 0.05, size=rows)
    field = compile_field(flow, 3, subs=SUBS).bind(h=torch.as_tensor(hs))
    expected = field(torch.as_tensor(theta)).numpy()
    exact = [[float(c.subs({**SUBS, flow.h: float(hv), a: float(t[0]), b: float(t[1])})) for c in flow.field(3)]
             for t, hv in zip(theta[:3], hs[:3], strict=True)]
    got = field.as_numpy()(theta)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got[:3], exact, rtol=1e-10, atol=1e-10)


def test_small_route_gives_nan_where_numpy_does() -> None:
    """Python floats raise where NumPy returns NaN/inf: a row that leaves a function's domain is NaN."""
    u = sympy.Symbol("u")
    field = compile_field([sympy.log(u), sympy.sqrt(u) * 0 + sympy.exp(u)], params=[u, sympy.Symbol("v")])
    out = field.as_numpy()(np.array([[-1.0, 0.0], [1.0, 0.0], [1000.0, 0.0]]))
    assert math.isnan(out[0, 0]) and out[1].tolist() == [0.0, math.e] and math.isnan(out[2, 1])
    with pytest.raises(UnboundSymbolError, match="h"):
        compile_field([h * u], params=[u]).as_numpy()


def test_jacobian_is_autograd_jacobian(flow: bea.ModifiedFlow) -> None:
    field = compile_field(flow, 2, subs=SUBS, h=0.01)
    theta = torch.tensor([2.8, 3.5], dtype=F64)
    by_autograd = torch.autograd.functional.jacobian(field, theta)
    np.testing.assert_allclose(field.jacobian(theta).numpy(), by_autograd.numpy(), rtol=1e-12)
    assert field.jacobian(theta.expand(3, 2)).shape == (3, 2, 2)


def test_scipy_route_keeps_the_step_cap_and_the_batch_shape() -> None:
    rotation = lambda t: torch.stack([-t[..., 1], t[..., 0]], dim=-1)  # noqa: E731
    with pytest.raises(ConvergenceError, match="max_steps = 5"):
        integrate.integrate_flow(rotation, torch.tensor([1.0, 0.0], dtype=F64), 100.0, max_steps=5, backend="auto")
    starts = torch.tensor([[[1.0, 0.0]], [[0.0, 2.0]]], dtype=F64)  # shape (2, 1, 2)
    end = integrate.integrate_flow(rotation, starts, math.pi, backend="auto")
    assert end.shape == starts.shape and end.dtype == F64
    torch.testing.assert_close(end, -starts, atol=1e-11, rtol=0)
    blow_up = integrate.integrate_flow(lambda t: t * t, torch.tensor([1.0], dtype=F64), 2.0)  # y = 1/(1 - t)
    assert torch.isnan(blow_up).all()
