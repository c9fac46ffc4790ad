"""Device check: the two-parameter drift check and compiled-field timings on a GPU (or the CPU).

    python benchmarks/gpu_check.py                # cuda (fails clearly without a GPU)
    python benchmarks/gpu_check.py --device cpu   # the same checks here

1. Drift check of gradient descent on E = (y - a b x)^2/2, x = 1, y = 0.6, from (2.8, 3.5),
   T = 1, h = 0.01 .. 0.00125, orders 0..3: every fitted slope within 0.15 of r + 1.
2. Compile the same model's modified field through h^6 (SymPy → torch) and evaluate it on
   10^5 points; the result must match the NumPy backend.
3. If ``numeric.autodiff`` exists: cost of ``ModifiedField`` order 1/2/3 relative to one
   gradient, on an MLP 64-128-128-10 (tanh), cross-entropy, 512 samples.

Prints the figures with the device name; exits 1 on a wrong result. Total well under 3 minutes.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import sympy
import torch

import bea
from numeric.codegen import compile_field
from numeric.devices import device_name, resolve_device, synchronize
from numeric.drift import drift_check


def _timed(fn: Callable[[], Any], device: torch.device, repeat: int = 5) -> float:
    fn()
    synchronize(device)
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        synchronize(device)
        best = min(best, time.perf_counter() - start)
    return best


def check_drift(device: torch.device) -> bool:
    a, b, x, y = sympy.symbols("a b x y")
    flow = bea.modified_flow((y - a * b * x) ** 2 / 2, [a, b], truncation=3)
    report = drift_check(
        flow, [2.8, 3.5], [0.01, 0.005, 0.0025, 0.00125], subs={x: 1, y: sympy.Rational(3, 5)}, device=device
    )
    print(report.table())
    return report.passed


def check_codegen(device: torch.device) -> bool:
    a, b, x, y = sympy.symbols("a b x y")
    start = time.perf_counter()
    flow = bea.modified_flow((y - a * b * x) ** 2 / 2, [a, b], truncation=6)
    derive = time.perf_counter() - start
    start = time.perf_counter()
    fn = compile_field(flow, x=1.0, y=0.6, h=0.01)
    fn(torch.zeros(2, dtype=torch.float64))
    compile_s = time.perf_counter() - start
    theta = torch.randn(100_000, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0)).to(device)
    evaluate = _timed(lambda: fn(theta), device)
    reference = compile_field(flow, backend="numpy", x=1.0, y=0.6, h=0.01)(theta.cpu().numpy())
    err = float(np.abs(fn(theta).cpu().numpy() - reference).max() / np.abs(reference).max())
    print(
        f"codegen two-parameter model through h^6: derive {derive:.3f} s, compile {compile_s:.3f} s, "
        f"evaluate 1e5 points {evaluate * 1e3:.2f} ms (float64), max rel. diff vs numpy {err:.1e}"
    )
    return err < 1e-12


def check_autodiff(device: torch.device) -> bool:
    if importlib.util.find_spec("numeric.autodiff") is None:
        print("numeric.autodiff not present: autodiff ratios skipped")
        return True
    from numeric.autodiff import ModifiedField

    gen = torch.Generator().manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(64, 128), torch.nn.Tanh(), torch.nn.Linear(128, 128), torch.nn.Tanh(), torch.nn.Linear(128, 10)
    ).to(device=device, dtype=torch.float64)
    inputs = torch.randn(512, 64, generator=gen, dtype=torch.float64).to(device)
    targets = torch.randint(0, 10, (512,), generator=gen).to(device)
    criterion = torch.nn.functional.cross_entropy
    params = list(model.parameters())

    def gradient() -> Any:
        return torch.autograd.grad(criterion(model(inputs), targets), params)

    base = _timed(gradient, device)
    ok = True
    parts = [f"one gradient {base * 1e3:.2f} ms"]
    for order in (1, 2, 3):
        field = ModifiedField.from_module(model, criterion, inputs, targets, truncation=order, h=0.01)
        theta = field.parameters()
        value = field(theta)
        ok = ok and bool(torch.isfinite(value).all())
        cost = _timed(lambda f=field, t=theta: f(t), device, repeat=3)
        parts.append(f"order {order}: {cost / base:.1f}x")
    print("autodiff ModifiedField on MLP 64-128-128-10, 512 samples: " + ", ".join(parts))
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="cuda (default), cuda:N or cpu")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch CPU threads (1 avoids thread contention on a busy shared machine)",
    )
    parser.add_argument("--skip-autodiff", action="store_true", help="skip the MLP cost ratios")
    args = parser.parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    try:
        device = resolve_device(args.device)
    except ValueError as exc:
        print(f"gpu_check: {exc}", file=sys.stderr)
        return 2
    print(f"device: {device_name(device)}, torch {torch.__version__}, {torch.get_num_threads()} CPU threads")
    start = time.perf_counter()
    results = {"drift": check_drift(device), "codegen": check_codegen(device)}
    results["autodiff"] = args.skip_autodiff or check_autodiff(device)
    total = time.perf_counter() - start
    failed = [name for name, ok in results.items() if not ok]
    verdict = "FAILED " + ", ".join(failed) if failed else "all OK"
    print(f"total {total:.1f} s on {device_name(device)}: {verdict}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
