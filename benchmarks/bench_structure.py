#!/usr/bin/env python3
"""Benchmark: structure checks of B-series methods against BSeries.jl's published figures.

BSeries.jl (docs/src/benchmarks.md, "BSeries.jl" section) publishes, on 4 cores of an AMD EPYC
7763, the second (compiled) run of each of:

* ``bseries(RungeKuttaMethod([1//2;;], [1//1]), 9)`` then ``is_symplectic``: 0.78 ms;
* ``bseries(AverageVectorFieldMethod(), 9)`` then ``is_energy_preserving``: 58 ms;
* ``modified_equation(A, b, c, 9)`` of the explicit midpoint rule: 54 ms.

The same tasks here, in one warm process (bea's tree table filled by a first call, as Julia's
second run has its code compiled), each from a freshly built method object so that no
per-method cache helps: the implicit midpoint tableau built and checked through order 9, the
AVF method built and checked through order 9, the explicit midpoint tableau built and its
modified equation computed through order 9. Medians of ``--repeats`` runs; the time to build
the Runge--Kutta object (SymPy validation of the tableau) is also reported on its own. The
machines differ (2 shared cores here), so the ratios are indicative only.

    .venv/bin/python benchmarks/bench_structure.py
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from sympy import Rational as R

from bea import RungeKutta, modified_equation
from bea.methods import BSeriesMethod
from bea.methods.bseries_method import avf_rule
from bea.structure import is_energy_preserving, is_symplectic

PUBLISHED_S = {"symplectic": 0.78e-3, "energy": 58e-3, "modified_equation": 54e-3}


def _median(task: Callable[[object], object], build: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median wall and CPU seconds of ``task(build())``, the object built outside the timing."""
    task(build())  # warm: the tree table and the cuts, as Julia's first (compiling) run
    wall, cpu = [], []
    for _ in range(repeats):
        method = build()
        t0, c0 = time.perf_counter(), time.process_time()
        task(method)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return statistics.median(wall), statistics.median(cpu)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeats", type=int, default=21)
    p.add_argument("--order", type=int, default=9)
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    n = args.order
    load = os.getloadavg()
    print(f"# {platform.platform()} python {platform.python_version()} cpus {os.cpu_count()} loadavg {load}")

    def midpoint() -> RungeKutta:
        return RungeKutta([[R(1, 2)]], [1])

    def explicit_midpoint() -> RungeKutta:
        return RungeKutta([[0, 0], [R(1, 2), 0]], [0, 1])

    def avf() -> BSeriesMethod:
        return BSeriesMethod("average_vector_field", avf_rule)

    def nothing(method: object) -> None:
        pass

    figures = {
        "symplectic": _median(lambda m: is_symplectic(m, n), midpoint, args.repeats),  # type: ignore[arg-type]
        "energy": _median(lambda m: is_energy_preserving(m, n), avf, args.repeats),  # type: ignore[arg-type]
        "modified_equation": _median(lambda m: modified_equation(m, n), explicit_midpoint, args.repeats),  # type: ignore[arg-type]
        "build_runge_kutta": _median(nothing, explicit_midpoint, 1),
    }
    t0 = time.perf_counter()
    for _ in range(args.repeats):
        explicit_midpoint()
    figures["build_runge_kutta"] = ((time.perf_counter() - t0) / args.repeats, 0.0)
    print(
        f"{'task (order ' + str(n) + ')':30s} {'wall median':>12s} {'CPU median':>12s} "
        f"{'BSeries.jl':>11s} {'ratio (CPU)':>11s}"
    )
    for key, label in (
        ("symplectic", "implicit midpoint symplectic"),
        ("energy", "AVF energy-preserving"),
        ("modified_equation", "explicit midpoint mod. eq."),
    ):
        wall, cpu = figures[key]
        ratio = PUBLISHED_S[key] / cpu
        print(f"{label:30s} {wall * 1e3:9.3f} ms {cpu * 1e3:9.3f} ms {PUBLISHED_S[key] * 1e3:8.2f} ms {ratio:10.1f}x")
    print(
        f"(building one RungeKutta object, SymPy validation of the tableau, not timed above: "
        f"{figures['build_runge_kutta'][0] * 1e3:.2f} ms wall)"
    )
    load = os.getloadavg()
    print(f"# loadavg at end {load}")
    if args.json:
        args.json.write_text(json.dumps({"figures_s": figures, "published_s": PUBLISHED_S, "loadavg": load}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
