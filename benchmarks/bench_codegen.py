#!/usr/bin/env python3
"""Benchmark: compiling a modified flow to a numeric function and evaluating it (``numeric.compile_field``).

Case (issue "numeric", section 1): gradient descent's modified flow of E = (y - a b x)^2/2
through h^6. Times, each in a fresh process (the compile cache is per process), median of
``--repeats``:

* ``compile``: ``compile_field(flow, h=0.01, x=1, y=0.6)`` (lambdify with CSE) plus a first call
  on one point, target <= 1 s;
* ``evaluate``: the compiled torch field on 10^5 points (theta of shape (100000, 2), float64,
  CPU), median of 20 calls after one warm-up call, target <= 0.1 s; and, as a baseline in the
  same run, the same field evaluated by ``sympy.lambdify(..., modules="numpy")`` without CSE.

The derivation time (``bea.modified_flow``) is reported separately and not counted.

    .venv/bin/python benchmarks/bench_codegen.py [--repeats 5] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

CHILD = r"""
import json, statistics, sys, time
import numpy as np, sympy, torch
torch.set_num_threads(int(sys.argv[1]))
from bea import modified_flow
from numeric import compile_field
a, b, x, y = sympy.symbols("a b x y")
t0 = time.perf_counter()
flow = modified_flow((y - a * b * x) ** 2 / 2, [a, b], truncation=6)
derive = time.perf_counter() - t0
t0 = time.perf_counter()
field = compile_field(flow, h=0.01, x=1, y=0.6)
theta = torch.rand(100_000, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) + 0.5
field(theta[:1])  # lambdify may run lazily on the first call: count it as compilation
compile_s = time.perf_counter() - t0
evals = []
for _ in range(20):
    t0 = time.perf_counter(); out = field(theta); evals.append(time.perf_counter() - t0)
column = flow.field().subs({flow.h: sympy.Rational(1, 100), x: 1, y: sympy.Rational(3, 5)})
plain = sympy.lambdify([a, b], list(column), modules="numpy", cse=False)
arr = theta.numpy()
base = []
for _ in range(5):
    t0 = time.perf_counter(); ref = plain(arr[:, 0], arr[:, 1]); base.append(time.perf_counter() - t0)
err = float(np.max(np.abs(np.stack(ref, axis=1) - out.numpy())))
print(json.dumps({"derive": derive, "compile": compile_s, "evaluate": statistics.median(evals),
                  "baseline": statistics.median(base), "max_abs_diff": err}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    runs = []
    for i in range(args.repeats):
        proc = subprocess.run([sys.executable, "-c", CHILD, str(args.threads)], capture_output=True, text=True,
                              check=True)
        runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        print(f"run {i + 1}: " + ", ".join(f"{k} {v:.4g}" for k, v in runs[-1].items()), flush=True)
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    ok = med["compile"] <= 1.0 and med["evaluate"] <= 0.1 and med["max_abs_diff"] < 1e-9
    print(f"median: derive {med['derive']:.3f} s, compile {med['compile']:.3f} s (target 1 s), "
          f"evaluate 1e5 points {med['evaluate'] * 1e3:.1f} ms (target 100 ms), plain lambdify "
          f"{med['baseline'] * 1e3:.1f} ms (ratio {med['baseline'] / med['evaluate']:.2f}x), "
          f"max |diff| {med['max_abs_diff']:.1e}: {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
