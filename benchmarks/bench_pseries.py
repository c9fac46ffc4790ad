#!/usr/bin/env python3
"""Benchmark: the P-series modified equation of Störmer--Verlet for every bicoloured tree through N nodes.

Target (issue 10, section 4): N = 8 (24 314 bicoloured trees) in at most 1 s.

Each repeat runs in a *fresh* Python process (bea's tree table is process-global), timing

* ``cold``: ``bea.pseries.modified_equation(stormer_verlet, N)`` including generating the trees
  and their single-edge cuts;
* ``warm``: the same call for a freshly built (uncached) Störmer--Verlet, tree table already built:
  the cost of the modified equation itself;
* ``baseline``: the general exact path (``field_coefficients``: gmpy2 ``mpq`` arithmetic, the
  algorithm of :func:`bea.modified_equation` for B-series) on a fresh method, tree table built:
  the same-run ratio baseline / warm shows what the integer fast path buys.

Wall-clock (``perf_counter``) and CPU (``process_time``) seconds are both reported: this host has
2 cores shared with other jobs, so wall time is inflated by load while CPU time is not.
The child also checks the result: only even powers of h, and fast path == general path.

    .venv/bin/python benchmarks/bench_pseries.py            # N = 8, 5 repeats
    .venv/bin/python benchmarks/bench_pseries.py --order 7 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TARGET_ORDER, TARGET_SECONDS = 8, 1.0

CHILD = r"""
import json, sys, time
N = int(sys.argv[1])
def clock():
    return time.perf_counter(), time.process_time()
def since(start):
    w, c = clock()
    return w - start[0], c - start[1]
start = clock()
from bea import methods
from bea.methods import PartitionedRungeKutta
from bea.pseries import modified_equation
from bea.pseries.modified import field_coefficients
imported = since(start)
sv = methods.stormer_verlet
fresh = lambda: PartitionedRungeKutta(sv.A_q, sv.b_q, sv.A_p, sv.b_p, name="sv")
start = clock()
b = modified_equation(sv, N)
cold = since(start)
m = fresh()
start = clock()
b2 = modified_equation(m, N)
warm = since(start)
m = fresh()
start = clock()
ring, slow = field_coefficients(m, N)
baseline = since(start)
ok_even = all(v == 0 for t, v in b.items() if t.order % 2 == 0)
ok_same = all(ring.back(v) == b.coefficient(t) for t, v in slow.items())
print(json.dumps({"trees": len(b), "import": imported, "cold": cold, "warm": warm, "baseline": baseline,
                  "nonzero": sum(1 for v in b.values() if v != 0), "even_only": ok_even,
                  "fast_equals_general": ok_same and dict(b.items()) == dict(b2.items())}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--order", type=int, default=TARGET_ORDER)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    runs = []
    for i in range(args.repeats):
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(args.order)], capture_output=True, text=True, env=env, check=True
        )
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(f"run {i + 1}/{args.repeats}: cold {runs[-1]['cold'][0]:.3f} s wall, warm {runs[-1]['warm'][0]:.3f} s")
    first = runs[0]
    print(f"\nmachine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}; Python {platform.python_version()}")
    print(f"Störmer--Verlet, P-series modified equation through {args.order} nodes: {first['trees']} bicoloured "
          f"trees, {first['nonzero']} non-zero coefficients; even powers only: {first['even_only']}; "
          f"fast path == general path: {first['fast_equals_general']}")
    print(f"{'timing':<10}{'wall median':>13}{'wall min':>10}{'CPU median':>12}{'CPU min':>9}")
    for key in ("import", "cold", "warm", "baseline"):
        wall = [r[key][0] for r in runs]
        cpu = [r[key][1] for r in runs]
        print(f"{key:<10}{statistics.median(wall):>12.3f}s{min(wall):>9.3f}s{statistics.median(cpu):>11.3f}s"
              f"{min(cpu):>8.3f}s")
    ratio = statistics.median(r["baseline"][1] / r["warm"][1] for r in runs)
    print(f"same-run ratio baseline / warm (CPU, median over runs): {ratio:.1f}x")
    cold_cpu = statistics.median(r["cold"][1] for r in runs)
    ok = all(r["even_only"] and r["fast_equals_general"] for r in runs)
    if args.order == TARGET_ORDER:
        verdict = "met" if cold_cpu <= TARGET_SECONDS else "NOT met"
        print(f"target: cold call <= {TARGET_SECONDS} s (CPU median {cold_cpu:.3f} s): {verdict}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
