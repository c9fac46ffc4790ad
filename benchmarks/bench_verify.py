#!/usr/bin/env python3
"""Benchmark: ``bea verify`` on the paper's model, wall time of the whole command (issue 13, target <= 3 s).

The command (gradient descent on E = (y - a b x)^2/2, x = 1, y = 0.6, from (2.8, 3.5), T = 1,
h = 0.01, 0.005, 0.0025, 0.00125, truncations r = 0..3; Barrett & Dherin 2021, Fig. 1 setting)::

    bea verify --loss "(y - a*b*x)^2/2" --params a b --subs x=1 y=0.6 --init a=2.8 b=3.5 --no-progress

is run in a fresh process ``--repeats`` times for this tree and for a baseline tree (``git archive`` of
``--baseline``, default dcc5296: the commit before the torch-free route of small systems), alternating, so that
the ratio is same-run. Reported per tree: the median wall time of the whole command, the median CPU time (user +
system of the child), the median time of its imports (``python -X importtime`` on the same command: the sum of the
cumulative times of the top-level imports, the command's own imports included), whether it imported torch, and
the load average before and after. Both trees must print the same table (checked).

    .venv/bin/python benchmarks/bench_verify.py [--repeats 5] [--baseline dcc5296] [--json out.json]
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


def timed(tree: Path, args: list[str], flags: tuple[str, ...] = ()) -> tuple[float, float, str, str]:
    """(wall s, child CPU s, stdout, stderr) of ``python flags -c RUN args`` with ``tree`` first on the path."""
    env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": "1"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, *flags, "-c", RUN, *args], env=env, cwd=tree, capture_output=True,
                          text=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{tree}: exit {done.returncode}\n{done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.stdout, done.stderr


def imports_of(tree: Path, args: list[str]) -> tuple[float, bool]:
    """(seconds spent importing, whether torch was imported) while running the command: ``-X importtime``'s
    cumulative microseconds of the top-level imports (lines without indentation), summed."""
    total_us, torch = 0, False
    for line in timed(tree, args, ("-X", "importtime"))[3].splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = line.split("|", 2)
        if not cumulative.strip().isdigit():  # the header line
            continue
        torch = torch or name.strip() == "torch"
        if not name.startswith("  "):  # a top-level import: its cumulative time holds its children
            total_us += int(cumulative)
    return total_us / 1e6, torch


def table_of(stdout: str) -> str:
    """The report without its timing and integration-error lines (the errors and slopes, printed to 4 digits,
    must be the same; the integration-error estimates of the two integrators differ, both far below 1e-10)."""
    return "\n".join(line for line in stdout.splitlines()
                     if not line.startswith(("PASSED in", "FAILED in", "estimated flow integration error")))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--baseline", default="dcc5296", help="git revision of the previous implementation")
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
        torch_imported: dict[str, bool] = {}
        for _ in range(args.repeats):
            for name, tree in trees.items():
                wall, cpu, out, _ = timed(tree, ARGS)
                figures[name]["wall"].append(wall)
                figures[name]["cpu"].append(cpu)
                tables[name] = table_of(out)
                seconds, torch_imported[name] = imports_of(tree, ARGS)
                figures[name]["imports"].append(seconds)
    load_after = os.getloadavg()
    same = tables["now"] == tables["baseline"]
    result = {
        "command": "bea " + " ".join(ARGS), "repeats": args.repeats, "baseline": args.baseline,
        "load_before": load_before, "load_after": load_after, "same_table": same, "torch_imported": torch_imported,
        **{f"{name}_{k}_median_s": statistics.median(v) for name, f in figures.items() for k, v in f.items()},
        "raw": figures,
    }
    result["ratio_wall_baseline_over_now"] = result["baseline_wall_median_s"] / result["now_wall_median_s"]
    result["ratio_cpu_baseline_over_now"] = result["baseline_cpu_median_s"] / result["now_cpu_median_s"]
    print(f"load average {load_before[0]:.2f} -> {load_after[0]:.2f}; {args.repeats} runs each, alternating")
    print(f"{'tree':9} {'wall median':>12} {'CPU median':>11} {'imports median':>15} {'torch imported':>15}")
    for name in trees:
        print(f"{name:9} {result[f'{name}_wall_median_s']:11.2f}s {result[f'{name}_cpu_median_s']:10.2f}s "
              f"{result[f'{name}_imports_median_s']:14.2f}s {'yes' if torch_imported[name] else 'no':>15}")
    print(f"same-run ratio baseline/now: wall {result['ratio_wall_baseline_over_now']:.2f}x, "
          f"CPU {result['ratio_cpu_baseline_over_now']:.2f}x; same table: {same}")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
