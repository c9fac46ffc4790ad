"""GPU readiness without a GPU (issue 13): device leaks, dtype leaks and host synchronisations, checked on the CPU.

* Device leaks: compiled fields run under ``FakeTensorMode`` on fake "cuda" tensors (any tensor created on the
  CPU and mixed in raises there); autodiff, EGR and IGR run on ``meta`` tensors (no data, only shapes, dtypes and
  devices: a CPU tensor mixed in raises, a host read raises).
* dtype leaks: every operation's output dtype is recorded by a ``TorchDispatchMode``; a float32 input must never
  produce a float64 intermediate.
* Host synchronisations: on the CPU nothing synchronises, so each Python-level read of a tensor's value
  (``item``, ``tolist``, ``__bool__``, ``__float__``, ``__int__``, ``numpy``) is counted instead; on a GPU each is
  a device-to-host synchronisation. Budgets per step are asserted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
import sympy

torch = pytest.importorskip("torch")

import bea  # noqa: E402
from bea import methods  # noqa: E402
from numeric.codegen import compile_field  # noqa: E402

_READS = ("item", "tolist", "__bool__", "__float__", "__int__", "numpy")


@pytest.fixture
def host_reads(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[str]]:
    """Counts reads of tensor values by the host (each one a synchronisation on a GPU)."""
    counts: Counter[str] = Counter()
    for name in _READS:
        original = getattr(torch.Tensor, name)

        def counted(self: torch.Tensor, *args: object, _name: str = name, _original: object = original) -> object:
            counts[_name] += 1
            return _original(self, *args)  # type: ignore[operator]

        monkeypatch.setattr(torch.Tensor, name, counted)
    yield counts


def _field(t: torch.Tensor) -> torch.Tensor:
    u, v = t[0], t[1]
    return torch.stack([-v + u * v, u - u * u / 2 + v**3 / 3])


@pytest.mark.parametrize("name", ["rk4", "kutta3", "explicit_euler"])
def test_run_method_host_reads_per_step(host_reads: Counter[str], name: str) -> None:
    """About 12 syncs per RK4 step before (tableau entries compared as device tensors, the divergence test)."""
    from numeric.trajectories import CHECK_EVERY, run_method

    steps = 128
    traj = run_method(_field, torch.tensor([0.3, -0.4], dtype=torch.float64), 0.01, steps, methods.by_name(name),
                      record=False)
    assert traj.steps == steps and not traj.diverged
    total = sum(host_reads.values())
    assert total <= steps // CHECK_EVERY + 4, dict(host_reads)  # one per block of steps, a few at the start


def test_run_method_divergence_is_still_reported_exactly() -> None:
    """The block-wise divergence test replays the block: same step and last iterate as a per-step test."""
    from numeric.trajectories import gradient_descent

    traj = gradient_descent(lambda t: (t**2).sum() / 2, torch.tensor([1.0], dtype=torch.float64), 3.0, 40,
                            max_norm=100.0)
    assert traj.diverged and traj.diverged_at == 7 and traj.final.tolist() == [64.0] and traj.steps == 6
    assert traj.thetas is not None and traj.thetas[:, 0].tolist() == [(-2.0) ** k for k in range(7)]


def test_training_host_reads_per_step(host_reads: Counter[str]) -> None:
    """3-5 syncs per training step in the digits sweep before; now one (loss, |g|^2, accuracy read together)."""
    pytest.importorskip("sklearn")
    from numeric.reproduce.digits import DigitsConfig, load_digits_data, train_run

    counts = []
    for steps in (20, 40):
        cfg = DigitsConfig(widths=(8,), lrs=(0.01,), seeds=(0,), egr_lr=0.01, mus=(0.1,), max_steps=steps,
                           eval_every=10, robustness_scales=(0.0,), robustness_draws=1)
        data = load_digits_data(cfg, torch.device("cpu"))
        host_reads.clear()
        record = train_run({"kind": "egr", "width": 8, "lr": 0.01, "mu": 0.1, "seed": 0, "key": "k"}, data, cfg)
        assert record["status"] == "capped" and record["steps"] == steps
        counts.append(sum(host_reads.values()))
    per_step = (counts[1] - counts[0]) / 20
    assert per_step <= 1 + 2 / 10 + 1e-9, counts  # one per step, plus one test evaluation (2 reads) per 10 steps


def test_compiled_field_on_fake_cuda_tensors_creates_nothing_on_the_cpu() -> None:
    """Every constant follows θ's device: under FakeTensorMode a CPU tensor mixed with 'cuda' ones raises."""
    from torch._subclasses.fake_tensor import FakeTensorMode

    a, b, x = sympy.symbols("a b x")
    flow = bea.modified_flow(sympy.log(1 + sympy.exp(a * b)) + (a - b) ** 2 / 20 + sympy.Max(a, x), [a, b],
                             truncation=1)
    fn = compile_field(flow, h=0.01, x=0.1)
    constant = compile_field([sympy.Integer(2), a * b], params=[a, b])  # a constant component
    with FakeTensorMode():
        theta = torch.empty(5, 2, dtype=torch.float64, device="cuda")
        for f in (fn, constant):
            out = f(theta)
            assert out.device.type == "cuda" and out.dtype == torch.float64 and out.shape == (5, 2)
        batched = fn.bind(h=torch.empty(5, dtype=torch.float64, device="cuda"))  # tensor-valued h
        assert batched(theta).device.type == "cuda"


def _meta(*shape: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    return torch.empty(*shape, dtype=dtype, device="meta")


def test_autodiff_egr_igr_on_meta_tensors_stay_on_the_device() -> None:
    """No CPU tensor and no host read in the autodiff field, EGR and IGR (meta tensors have no data)."""
    from numeric.autodiff import ModifiedField
    from numeric.egr import egr_gradient
    from numeric.igr import igr_loss, r_ig

    def loss(t: torch.Tensor) -> torch.Tensor:
        return (torch.tanh(t) ** 2).sum() + (t[0] * t[1]) ** 2

    theta = _meta(3)
    for truncation in (1, 2):
        out = ModifiedField(loss, truncation=truncation, h=0.1, method=methods.explicit_midpoint)(theta)
        assert out.device.type == "meta" and out.shape == (3,)
    assert egr_gradient(loss, theta, mu=0.1).device.type == "meta"
    assert r_ig(loss, theta).device.type == "meta"
    assert igr_loss(loss, theta, h=0.1).device.type == "meta"


class _DtypeLog(torch.utils._python_dispatch.TorchDispatchMode):
    def __init__(self) -> None:
        super().__init__()
        self.dtypes: set[torch.dtype] = set()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        out = func(*args, **(kwargs or {}))
        for t in out if isinstance(out, (tuple, list)) else [out]:
            if isinstance(t, torch.Tensor):
                self.dtypes.add(t.dtype)
        return out


def test_float32_inputs_never_produce_float64() -> None:
    """A float64 constant (Max(a, 1/10) used to build float32 ones, the opposite leak) would show here."""
    from numeric.autodiff import ModifiedField

    a, b = sympy.symbols("a b")
    flow = bea.modified_flow(sympy.log(1 + sympy.exp(a * b)) + sympy.Max(a, sympy.Rational(1, 10)) ** 2, [a, b],
                             truncation=1)
    fn = compile_field(flow, h=0.01)
    theta = torch.tensor([[0.5, -1.0], [2.0, 3.0]], dtype=torch.float32)
    with _DtypeLog() as log:
        out = fn(theta)
    assert out.dtype == torch.float32 and log.dtypes <= {torch.float32, torch.bool, torch.int64}, log.dtypes
    with _DtypeLog() as log:
        field = ModifiedField(lambda t: (torch.tanh(t) ** 2).sum(), truncation=2, h=0.1)(theta[0])
    assert field.dtype == torch.float32 and torch.float64 not in log.dtypes, log.dtypes


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA")
def test_drift_check_follows_a_cuda_theta0() -> None:
    from numeric.drift import drift_check

    a, b = sympy.symbols("a b")
    flow = bea.modified_flow((sympy.Rational(3, 5) - a * b) ** 2 / 2, [a, b], truncation=1)
    report = drift_check(flow, torch.tensor([2.8, 3.5], dtype=torch.float64, device="cuda"), (0.01, 0.005),
                         truncations=(0, 1))
    assert report.device.startswith("cuda") and report.passed


def test_gpu_check_runs_as_written_on_the_cpu_and_matches_its_reference() -> None:
    """benchmarks/gpu_check.py had never run: CI runs it with --device cpu from the repository root."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    result = subprocess.run([sys.executable, "benchmarks/gpu_check.py", "--device", "cpu", "--threads", "1",
                             "--skip", "digits", "tests", "timings"], cwd=root, capture_output=True, text=True,
                            check=False, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for part in ("drift", "implicit", "codegen", "autodiff"):
        assert f"{part}: matches the CPU reference" in result.stdout
