"""Device check: results on a GPU (or the CPU) against stored CPU reference values, and timings.

    python benchmarks/gpu_check.py                 # cuda (fails clearly without a GPU), from the repository root
    python benchmarks/gpu_check.py --device cpu    # the same checks here (CI runs it: tests/test_gpu_readiness.py)
    python benchmarks/gpu_check.py --device cpu --write-reference   # regenerate benchmarks/gpu_reference.json

Checks (each compared with ``benchmarks/gpu_reference.json``, written on a CPU by the last command above):

1. drift: gradient descent on E = (y - a b x)^2/2, x = 1, y = 0.6, from (2.8, 3.5), T = 1,
   h = 0.01 .. 0.00125, truncations 0..3: slopes within 0.15 of r + 1, and every error within
   1e-12 + 1e-8·error of the CPU's;
2. implicit: the same with the implicit midpoint rule (simplified Newton, torch.func.jacfwd), truncations 0..2;
3. codegen: the modified field through h^3 of the model and of softplus(ab) + (a - b)^2/20, compiled to torch,
   at fixed points (up to ab = 250) against SymPy's exact values at 50 digits (stored): relative 1e-12;
4. autodiff: ModifiedField (truncations 1, 2) and OptimiserField (first-order Adam with ε inside, heavy-ball)
   of a seeded MLP 6-8-3 (tanh, float64) against the CPU: 1e-10;
5. digits: ``bea reproduce digits --quick --limit 2 --device DEVICE`` into a temporary folder: 2 runs recorded;
6. tests: the CUDA-parametrised tests (``pytest -k cuda``) on this machine;
7. timings: compiled field on 1e5 points, ModifiedField cost per gradient on an MLP 64-128-128-10.

Prints each result with the device name; exits 1 on a wrong result. Total about 1-2 minutes on a GPU box.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as written from the repository root, without installing
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import sympy  # noqa: E402
import torch  # noqa: E402

import bea  # noqa: E402
from bea import methods  # noqa: E402
from bea.jsonio import dumps  # noqa: E402
from numeric.codegen import compile_field  # noqa: E402
from numeric.devices import device_name, resolve_device, synchronize  # noqa: E402
from numeric.drift import drift_check  # noqa: E402

REFERENCE = ROOT / "benchmarks" / "gpu_reference.json"
a, b, x, y = sympy.symbols("a b x y")
MODEL = (y - a * b * x) ** 2 / 2
SUBS = {x: 1, y: sympy.Rational(3, 5)}
SOFTPLUS = sympy.log(1 + sympy.exp(a * b)) + (a - b) ** 2 / 20
POINTS = [(2.8, 3.5), (0.3, -1.2), (10.0, 10.0), (25.0, 10.0), (-30.0, 20.0)]
H = sympy.Rational(1, 1000)


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


def drift_errors(device: torch.device, method: str, truncations: tuple[int, ...]) -> tuple[dict[str, Any], bool]:
    flow = bea.modified_flow(MODEL, [a, b], truncation=max(truncations), method=methods.by_name(method))
    theta0 = torch.tensor([2.8, 3.5], dtype=torch.float64, device=device)
    report = drift_check(flow, theta0, [0.01, 0.005, 0.0025, 0.00125], subs=SUBS, truncations=truncations)
    print(report.table())
    return {str(t.truncation): list(t.errors) for t in report.truncations}, report.passed


def codegen_values(device: torch.device) -> dict[str, Any]:
    out = {}
    for name, loss in (("model", MODEL.subs(SUBS)), ("softplus", SOFTPLUS)):
        flow = bea.modified_flow(loss, [a, b], truncation=2 if name == "softplus" else 3)
        fn = compile_field(flow, h=float(H))
        theta = torch.tensor(POINTS, dtype=torch.float64, device=device)
        out[name] = fn(theta).cpu().tolist()
    return out


def exact_codegen_values() -> dict[str, Any]:
    """SymPy's exact fields at POINTS, evaluated at 50 digits (the reference for check 3; no torch involved)."""
    out = {}
    for name, loss in (("model", MODEL.subs(SUBS)), ("softplus", SOFTPLUS)):
        flow = bea.modified_flow(loss, [a, b], truncation=2 if name == "softplus" else 3)
        field = flow.field()
        out[name] = [[float(sympy.N(e.subs({a: sympy.nsimplify(p), b: sympy.nsimplify(q), flow.h: H}), 50))
                      for e in field] for p, q in POINTS]
    return out


def autodiff_values(device: torch.device) -> dict[str, Any]:
    from numeric.autodiff import ModifiedField
    from numeric.optimiser_fields import OptimiserField

    gen = torch.Generator().manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3)).double()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=torch.float64) * 0.5)
    model = model.to(device)
    inputs = torch.randn(16, 6, generator=gen, dtype=torch.float64).to(device)
    targets = torch.randint(0, 3, (16,), generator=gen).to(device)
    out = {}
    for truncation in (1, 2):
        field = ModifiedField.from_module(model, torch.nn.functional.cross_entropy, inputs, targets,
                                          truncation=truncation, h=0.1)
        out[str(truncation)] = field(field.parameters()).cpu().tolist()
    optimisers = {"adam_eps_inside": methods.Adam("9/10", "999/1000", "1/10000", eps_inside=True),
                  "heavy_ball": methods.HeavyBall("9/10")}
    for name, method in optimisers.items():
        opt = OptimiserField.from_module(model, torch.nn.functional.cross_entropy, inputs, targets, method=method,
                                         h=0.01)
        out[name] = opt(opt.parameters()).cpu().tolist()
    return out


def _close(got: Any, want: Any, rtol: float, atol: float) -> bool:
    g = np.array(got, dtype=float)
    w = np.array(want, dtype=float)
    return g.shape == w.shape and bool(np.all(np.abs(g - w) <= atol + rtol * np.abs(w)))


def check_digits(device: torch.device) -> bool:
    from bea.cli import main

    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "digits"
        status = main(["reproduce", "digits", "--quick", "--limit", "2", "--device", str(device), "--out", str(out),
                       "--no-progress", "--no-figures"])
        lines = (out / "digits_runs.jsonl").read_text().splitlines() if status == 0 else []
        records = [json.loads(line) for line in lines[1:]]
    ok = status == 0 and len(records) == 2 and all(r["device"].startswith(device.type) for r in records)
    verdict = 'OK' if ok else 'FAILED'
    print(f"digits --quick --limit 2 on {device}: exit {status}, {len(records)} runs recorded: {verdict}")
    return ok


def check_tests() -> bool:
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "cuda",
           "tests/test_codegen.py", "tests/test_drift.py", "tests/test_gpu_readiness.py", "tests/test_autodiff.py"]
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    last = (result.stdout.strip().splitlines() or ["(no output)"])[-1]
    print(f"cuda-parametrised tests: {last}")
    return result.returncode in (0, 5)  # 5: none collected (no test matched)


def timings(device: torch.device) -> None:
    from numeric.autodiff import ModifiedField

    flow = bea.modified_flow(MODEL, [a, b], truncation=6)
    fn = compile_field(flow, x=1.0, y=0.6, h=0.01)
    theta = torch.randn(100_000, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0)).to(device)
    print(f"compiled field through h^6 on 1e5 points: {_timed(lambda: fn(theta), device) * 1e3:.2f} ms")
    gen = torch.Generator().manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(64, 128), torch.nn.Tanh(), torch.nn.Linear(128, 128), torch.nn.Tanh(), torch.nn.Linear(128, 10)
    ).to(device=device, dtype=torch.float64)
    inputs = torch.randn(512, 64, generator=gen, dtype=torch.float64).to(device)
    targets = torch.randint(0, 10, (512,), generator=gen).to(device)
    criterion = torch.nn.functional.cross_entropy
    params = list(model.parameters())
    base = _timed(lambda: torch.autograd.grad(criterion(model(inputs), targets), params), device)
    parts = [f"one gradient {base * 1e3:.2f} ms"]
    for truncation in (1, 2, 3):
        field = ModifiedField.from_module(model, criterion, inputs, targets, truncation=truncation, h=0.01)
        t = field.parameters()
        parts.append(f"truncation {truncation}: {_timed(lambda f=field, t=t: f(t), device, repeat=3) / base:.1f}x")
    print("autodiff ModifiedField on MLP 64-128-128-10, 512 samples: " + ", ".join(parts))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="cuda (default), cuda:N or cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--write-reference", action="store_true", help="write gpu_reference.json (on the CPU)")
    parser.add_argument("--skip", nargs="*", default=[], choices=("digits", "tests", "timings"),
                        help="leave out these parts (CI leaves out all three)")
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
    drift, drift_ok = drift_errors(device, "explicit_euler", (0, 1, 2, 3))
    implicit, implicit_ok = drift_errors(device, "implicit_midpoint", (0, 1, 2))
    values = {"drift": drift, "implicit": implicit, "codegen": codegen_values(device),
              "autodiff": autodiff_values(device)}
    if args.write_reference:
        if device.type != "cpu":
            print("gpu_check: write the reference on the CPU (--device cpu)", file=sys.stderr)
            return 2
        values["codegen"] = exact_codegen_values()
        REFERENCE.write_text(dumps({"command": "python benchmarks/gpu_check.py --device cpu --write-reference",
                                    "torch": torch.__version__, **values}) + "\n")
        print(f"wrote {REFERENCE}")
        return 0
    ref = json.loads(REFERENCE.read_text())
    results = {
        "drift": drift_ok and all(
            _close(values["drift"][k], ref["drift"][k], 1e-8, 1e-12) for k in ref["drift"]),
        "implicit": implicit_ok and all(_close(values["implicit"][k], ref["implicit"][k], 1e-8, 1e-12)
                                        for k in ref["implicit"]),
        "codegen": all(_close(values["codegen"][k], ref["codegen"][k], 1e-12, 1e-300) for k in ref["codegen"]),
        "autodiff": all(_close(values["autodiff"][k], ref["autodiff"][k], 1e-10, 1e-13) for k in ref["autodiff"]),
    }
    for name, ok in results.items():
        print(f"{name}: {'matches the CPU reference' if ok else 'DIFFERS from the CPU reference'}")
    if "digits" not in args.skip:
        results["digits"] = check_digits(device)
    if "tests" not in args.skip:
        results["tests"] = check_tests()
    if "timings" not in args.skip:
        timings(device)
    total = time.perf_counter() - start
    failed = [name for name, ok in results.items() if not ok]
    verdict = "FAILED " + ", ".join(failed) if failed else "all OK"
    print(f"total {total:.1f} s on {device_name(device)}: {verdict}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
