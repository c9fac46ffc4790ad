#!/usr/bin/env python3
"""Benchmark: exact modified flows of gradient descent on concrete losses (``bea.modified_flow``).

Cases (issue "Gradient descent on a given loss", section 7):

* ``two_param_h6``: E = (y - a b x)^2/2 (x, y symbolic data), through h^6, *simplified*
  (``compact_terms()``: factor/collect per term) -- target at most 1 s;
* ``two_param_h8``: the same through h^8, not simplified -- target at most 5 s;
* ``quartic10_h3``: a 10-parameter quartic E = sum_i w_i^4/4 + w_i^2 w_{i+1}^2/2 + w_i w_{i+1}
  (cyclic), through h^3 -- target at most 5 s.

Each timing runs in a fresh Python process (bea's tree table is a process-wide cache) and
the median of ``--repeats`` runs is reported. The peer is the PyPI package ``BSeries`` 0.1
(D. Ketcheson): ``bs.modified_equation(y, f, A, b, order)`` on the same field f = -grad E
with the explicit Euler tableau, in its own venv (``benchmarks/peers_env.sh``), measured in
the same run; its result is compared with bea's term by term (expanded difference = 0).

    .venv/bin/python benchmarks/bench_modified_flow.py [--repeats 3] [--peer-orders 7 9] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import sympy

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
PEERS_PYTHON = HERE / ".peers-venv" / "bin" / "python"

LOSSES = {
    "two_param": ("(y - a*b*x)**2/2", "a b"),
    "quartic10": (
        " + ".join(f"w{i}**4/4 + w{i}**2*w{(i + 1) % 10}**2/2 + w{i}*w{(i + 1) % 10}" for i in range(10)),
        " ".join(f"w{i}" for i in range(10)),
    ),
}
# name: (loss, order p (through h^p), simplified?, target seconds)
CASES = {
    "two_param_h6": ("two_param", 6, True, 1.0),
    "two_param_h8": ("two_param", 8, False, 5.0),
    "quartic10_h3": ("quartic10", 3, False, 5.0),
}

BEA_CHILD = r"""
import json, sys, time
import sympy
t_start = time.perf_counter()
from bea import modified_flow
loss_text, params_text, order, simplify = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1"
loss = sympy.sympify(loss_text)  # our own fixed strings, not user input
params = sympy.symbols(params_text)
h = sympy.Symbol("h")
t0 = time.perf_counter()
flow = modified_flow(loss, list(params), truncation=order, h=h)
if simplify:
    flow.compact_terms()
seconds = time.perf_counter() - t0
print(json.dumps({"seconds": seconds, "field": [str(e) for e in flow.field()]}))
"""

PEER_CHILD = r"""
import json, sys, time
import numpy as np
import sympy
from BSeries import bs
loss_text, params_text, order = sys.argv[1], sys.argv[2], int(sys.argv[3])
loss = sympy.sympify(loss_text)
params = list(sympy.symbols(params_text))
f = [-sympy.diff(loss, p) for p in params]
A = np.array([[0]], dtype=object)
b = np.array([1], dtype=object)
t0 = time.perf_counter()
series = bs.modified_equation(params, f, A, b, order)
seconds = time.perf_counter() - t0
print(json.dumps({"seconds": seconds, "field": [str(e) for e in series]}))
"""


def child(python: str, program: str, *args: str, timeout: float = 900) -> dict:
    proc = subprocess.run([python, "-c", program, *args], capture_output=True, text=True, timeout=timeout, cwd=REPO)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.strip()[-2000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def median_run(python: str, program: str, args: list[str], repeats: int, label: str) -> tuple[float, dict]:
    runs = []
    for i in range(repeats):
        r = child(python, program, *args)
        runs.append(r)
        print(f"  {label:32s} run {i + 1}: {r['seconds']:.3f} s", flush=True)
    return statistics.median(r["seconds"] for r in runs), runs[0]


def same_field(left: list[str], right: list[str]) -> bool:
    h = sympy.Symbol("h")
    out = []
    for x, y in zip(left, right, strict=True):
        ex, ey = sympy.sympify(x), sympy.sympify(y)
        ey = ey.xreplace({s: h for s in ey.free_symbols if s.name == "h"})
        out.append(sympy.expand(ex - ey) == 0)
    return all(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--peer-orders", type=int, nargs="*", default=[7, 9],
                        help="BSeries orders (largest tree order; order N = through h^(N-1))")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    py = sys.executable
    results: dict = {"machine": platform.platform(), "python": platform.python_version(),
                     "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "cases": {}, "peer": {}}
    ok = True
    for name, (loss_key, order, simplify, target) in CASES.items():
        loss, params = LOSSES[loss_key]
        med, _ = median_run(py, BEA_CHILD, [loss, params, str(order), "1" if simplify else "0"], args.repeats,
                            f"bea {name}")
        met = med <= target
        ok &= met
        results["cases"][name] = {"median_s": med, "target_s": target, "met": met, "simplified": simplify}
        print(f"{name}: median {med:.3f} s (target {target} s: {'met' if met else 'MISSED'})", flush=True)
    if PEERS_PYTHON.exists():
        loss, params = LOSSES["two_param"]
        for n in args.peer_orders:
            p = n - 1
            bea_med, bea_run = median_run(py, BEA_CHILD, [loss, params, str(p), "0"], args.repeats,
                                          f"bea two_param h^{p}")
            peer_med, peer_run = median_run(str(PEERS_PYTHON), PEER_CHILD, [loss, params, str(n)],
                                            1 if n >= 9 else args.repeats, f"BSeries order {n}")
            agree = same_field(bea_run["field"], peer_run["field"])
            ok &= agree
            results["peer"][f"order_{n}"] = {"through_h": p, "bea_median_s": bea_med, "bseries_median_s": peer_med,
                                            "ratio": peer_med / bea_med, "fields_agree": agree}
            print(f"two_param through h^{p}: bea {bea_med:.3f} s, BSeries {peer_med:.3f} s, "
                  f"ratio {peer_med / bea_med:.1f}x, fields agree: {agree}", flush=True)
    else:
        print(f"peer skipped: {PEERS_PYTHON} missing (bash benchmarks/peers_env.sh)")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
