#!/usr/bin/env python3
"""Benchmark: ``bea verify`` on the paper's model, wall time of the whole command (issue 13, target <= 3 s).

The command (gradient descent on E = (y - a b x)^2/2, x = 1, y = 0.6, from (2.8, 3.5), T = 1,
h = 0.01, 0.005, 0.0025, 0.00125, truncations r = 0..3; Barrett & Dherin 2021, Fig. 1 setting)::

    bea verify --loss "(y - a*b*x)^2/2" --params a b --subs x=1 y=0.6 --init a=2.8 b=3.5 --no-progress

is run in a fresh process ``--repeats`` times for this tree and for a baseline tree (``git archive`` of
``--baseline``, default the commit before the small-system route), alternating, so that the ratio is
same-run. Reported per tree: the median wall time of the command, the median CPU time (user + system of the
child), the median time of the imports alone (``import bea.cli, numeric.cli_verify``), and the load average
before and after. Both trees must print the same table (checked).

    .venv/bin/python benchmarks/bench_verify.py [--repeats 5] [--baseline df7d784] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARGS = ["verify", "--loss", "(y - a*b*x)^2/2", "--params", "a", "b", "--subs", "x=1", "y=0.6",
        "--init", "a=2.8", "b=3.5", "--no-progress"]
RUN = "import sys; from bea.cli import main; sys.exit(main(sys.argv[1:]))"
IMPORTS = "import bea.cli, numeric.cli_verify"


def timed(tree: Path, code: str, args: list[str]) -> tuple[float, float, str]:
    """(wall s, child CPU s, stdout) of ``python -c code args`` with ``tree`` first on the path."""
    env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": "1"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code, *args], env=env, cwd=tree, capture_output=True, text=True,
                          check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{tree}: exit {done.returncode}\n{done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.stdout


def table_of(stdout: str) -> str:
    """The report without its timing and integration-error lines (the errors and slopes, printed to 4 digits,
    must be the same; the integration-error estimates of the two integrators differ, both far below 1e-10)."""
    return "\n".join(line for line in stdout.splitlines()
                     if not line.startswith(("PASSED in", "FAILED in", "estimated flow integration error")))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--baseline", default="df7d784", help="git revision of the previous implementation")
    parser.add_argument("--json", default=None, help="write the figures to this file")
    args = parser.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "baseline"
        old.mkdir()
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.baseline], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(old)], input=archive.stdout, check=True)
        trees = {"now": ROOT, "baseline": old}
        figures: dict[str, dict[str, list[float]]] = {k: {"wall": [], "cpu": [], "imports": []} for k in trees}
        tables: dict[str, str] = {}
        for _ in range(args.repeats):
            for name, tree in trees.items():
                wall, cpu, out = timed(tree, RUN, ARGS)
                figures[name]["wall"].append(wall)
                figures[name]["cpu"].append(cpu)
                tables[name] = table_of(out)
                figures[name]["imports"].append(timed(tree, IMPORTS, [])[0])
    load_after = os.getloadavg()
    same = tables["now"] == tables["baseline"]
    result = {
        "command": "bea " + " ".join(ARGS), "repeats": args.repeats, "baseline": args.baseline,
        "load_before": load_before, "load_after": load_after, "same_table": same,
        **{f"{name}_{k}_median_s": statistics.median(v) for name, f in figures.items() for k, v in f.items()},
        "raw": figures,
    }
    result["ratio_wall_baseline_over_now"] = result["baseline_wall_median_s"] / result["now_wall_median_s"]
    result["ratio_cpu_baseline_over_now"] = result["baseline_cpu_median_s"] / result["now_cpu_median_s"]
    print(f"load average {load_before[0]:.2f} -> {load_after[0]:.2f}; {args.repeats} runs each, alternating")
    print(f"{'tree':9} {'wall median':>12} {'CPU median':>11} {'imports median':>15}")
    for name in trees:
        print(f"{name:9} {result[f'{name}_wall_median_s']:11.2f}s {result[f'{name}_cpu_median_s']:10.2f}s "
              f"{result[f'{name}_imports_median_s']:14.2f}s")
    print(f"same-run ratio baseline/now: wall {result['ratio_wall_baseline_over_now']:.2f}x, "
          f"CPU {result['ratio_cpu_baseline_over_now']:.2f}x; same table: {same}")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
