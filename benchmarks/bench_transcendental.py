#!/usr/bin/env python3
"""Benchmark: modified flows of a transcendental loss, fast ring vs the generic SymPy route (issue 13).

Loss E = log(1 + exp(-a b)) + (a - b)^2/20 (softplus of -ab), gradient descent, through h^p.
``modified_flow`` and ``compact_terms()`` are timed in a fresh Python process per run (bea's tree
table is a process-wide cache), by two routes measured in the same run:

* ``ring``: exp, log and 1/(1 + exp) of the state as extra polynomial generators with their derivative
  rules (``bea._closure.DifferentialRing``), the default;
* ``generic``: the same call with that ring disabled (``DifferentialRing.for_exprs`` patched to return
  None), i.e. SymPy expressions expanded after each step: the route before issue 13.

The two results are checked equal (exp(k a b) -> X^k, then ``sympy.cancel`` of the difference), and the
median of ``--repeats`` runs is reported with the same-run ratio generic / ring and the load average.

    .venv/bin/python benchmarks/bench_transcendental.py [--truncation 3] [--repeats 3] [--generic-repeats 1]
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

CHILD = r"""
import json, sys, time
from unittest import mock
import sympy
from bea import modified_flow
from bea._closure import DifferentialRing
a, b = sympy.symbols("a b")
loss = sympy.log(1 + sympy.exp(-a * b)) + (a - b) ** 2 / 20
p, route = int(sys.argv[1]), sys.argv[2]
patch = mock.patch.object(DifferentialRing, "for_exprs", return_value=None) if route == "generic" else None
if patch is not None:
    patch.start()
t0 = time.perf_counter()
flow = modified_flow(loss, [a, b], truncation=p)
t1 = time.perf_counter()
flow.compact_terms()
t2 = time.perf_counter()
print(json.dumps({"flow": t1 - t0, "compact": t2 - t1, "terms": [[str(e) for e in t] for t in flow.terms]}))
"""


def run(p: int, route: str) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(p), route], capture_output=True, text=True, check=True, env=env, cwd=REPO
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


def equal(x: str, y: str) -> bool:
    import sympy

    a, b, X = sympy.symbols("a b X")
    diff = sympy.sympify(x) - sympy.sympify(y)
    diff = diff.replace(lambda n: isinstance(n, sympy.exp), lambda n: X ** sympy.cancel(n.args[0] / (a * b)))
    return bool(sympy.cancel(sympy.together(diff)) == 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--truncation", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--generic-repeats", type=int, default=1)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    load_before = os.getloadavg()
    ring = [run(args.truncation, "ring") for _ in range(args.repeats)]
    generic = [run(args.truncation, "generic") for _ in range(args.generic_repeats)]
    load_after = os.getloadavg()
    same = all(
        equal(x, y)
        for tr, tg in zip(ring[0]["terms"], generic[0]["terms"], strict=True)  # type: ignore[call-overload]
        for x, y in zip(tr, tg, strict=True)
    )
    report = {
        "machine": platform.platform(),
        "python": platform.python_version(),
        "truncation": args.truncation,
        "load_average": [round(load_before[0], 2), round(load_after[0], 2)],
        "ring_flow_s": statistics.median(float(r["flow"]) for r in ring),  # type: ignore[arg-type]
        "ring_compact_s": statistics.median(float(r["compact"]) for r in ring),  # type: ignore[arg-type]
        "generic_flow_s": statistics.median(float(r["flow"]) for r in generic),  # type: ignore[arg-type]
        "generic_compact_s": statistics.median(float(r["compact"]) for r in generic),  # type: ignore[arg-type]
        "results_equal": same,
    }
    report["flow_ratio_generic_over_ring"] = round(report["generic_flow_s"] / report["ring_flow_s"], 1)  # type: ignore[operator]
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    if not same:
        sys.exit("the ring and generic routes disagree")


if __name__ == "__main__":
    main()
