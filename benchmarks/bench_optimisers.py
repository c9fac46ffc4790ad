"""Symbolic modified flows of optimisers: heavy-ball, Adam, minibatch SGD, two-player games.

Times (median of ``--repeats`` runs, in a fresh child process per case and implementation) of:

* heavy-ball (beta = 9/10) and Adam (torch's defaults; eps outside and inside) through h^2 on the
  two-parameter model E = (y - a b x)^2 / 2 of Barrett & Dherin (ICLR 2021), data x, y symbolic;
* SGD, fixed order and random reshuffling, m = 2 and 3 minibatch losses E_k = (a - k)^2 (1 + k b^2) / 2,
  through h^2 and h^3;
* simultaneous and alternating gradient descent on the game L_a = a b + a^2/2, L_b = -a b + e^b/3 (rates
  1 and 1/2) through h^2.

Each case runs on this tree and, in the same run, on a baseline commit (default df7d784, the last commit
before the sparse-ring route of bea.methods.maps) checked out with ``git worktree add --detach`` into a
temporary folder; the ratio is baseline median / this tree's median. SymPy's cache is cleared before every
timed run. The baseline child stops repeating after one run longer than ``--slow`` seconds (its figure is
then one run). The load average is printed before and after.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_optimisers.py [--repeats 5] [--baseline df7d784]
        [--no-baseline] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CASES = [
    "heavy_ball h2",
    "adam h2",
    "adam_eps_inside h2",
    "sgd_fixed m2 h2",
    "sgd_random m2 h2",
    "sgd_fixed m2 h3",
    "sgd_random m2 h3",
    "sgd_fixed m3 h2",
    "sgd_random m3 h2",
    "sgd_fixed m3 h3",
    "sgd_random m3 h3",
    "game_simultaneous h2",
    "game_alternating h2",
]


def run_case(case: str) -> float:
    """One timed call (seconds) of the case, imports excluded."""
    import sympy

    from bea import Problem
    from bea.methods.adaptive import Adam
    from bea.methods.games import GameGD
    from bea.methods.maps import SGD
    from bea.methods.momentum import HeavyBall

    a, b, x, y, h = sympy.symbols("a b x y h")
    name, *rest = case.split()
    p = int(rest[-1][1:])
    if name in ("heavy_ball", "adam", "adam_eps_inside"):
        method = {"heavy_ball": HeavyBall("9/10"), "adam": Adam(), "adam_eps_inside": Adam(eps_inside=True)}[name]
        loss = (y - a * b * x) ** 2 / 2
        start = time.perf_counter()
        method.modified_flow(loss, [a, b], truncation=p)
        return time.perf_counter() - start
    if name.startswith("sgd"):
        m = int(rest[0][1:])
        problem = Problem.minibatches([(a - k) ** 2 * (1 + k * b**2) / 2 for k in range(m)], [a, b])
        start = time.perf_counter()
        SGD(name.split("_")[1]).modified_terms(problem, p, h)
        return time.perf_counter() - start
    game = Problem.game([([a], a * b + a**2 / 2), ([b], -a * b + sympy.exp(b) / 3)])
    start = time.perf_counter()
    GameGD((1, sympy.Rational(1, 2)), alternating=name.endswith("alternating")).modified_terms(game, p, h)
    return time.perf_counter() - start


def child(case: str, repeats: int, slow: float) -> None:
    from sympy.core.cache import clear_cache

    times: list[float] = []
    for _ in range(repeats):
        clear_cache()  # SymPy's cache would make repeats after the first much faster than a first call
        times.append(run_case(case))
        if times[-1] > slow:
            break
    print(json.dumps(times))


def measure(tree: Path, case: str, repeats: int, slow: float) -> list[float]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", case,
         "--repeats", str(repeats), "--slow", str(slow)],
        env=env, capture_output=True, text=True, check=True, cwd=tree,
    )
    return list(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--slow", type=float, default=10.0, help="baseline: stop repeating after a run this long")
    parser.add_argument("--baseline", default="df7d784")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--cases", nargs="*", default=CASES)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--child")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.repeats, args.slow)
        return
    print(f"load average before: {os.getloadavg()}", flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "baseline"
        if not args.no_baseline:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(base), args.baseline],
                           check=True, capture_output=True)
        try:
            print("| case | runs | median s (this tree) | baseline runs | baseline median s | ratio |")
            print("|---|--:|--:|--:|--:|--:|")
            for case in args.cases:
                new = measure(ROOT, case, args.repeats, 1e9)
                old = [] if args.no_baseline else measure(base, case, args.repeats, args.slow)
                row = {"case": case, "new": new, "baseline": old}
                rows.append(row)
                med_new = statistics.median(new)
                med_old = statistics.median(old) if old else float("nan")
                print(f"| {case} | {len(new)} | {med_new:.3f} | {len(old)} | {med_old:.3f} | "
                      f"{med_old / med_new:.1f}x |", flush=True)
        finally:
            if not args.no_baseline:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)], check=False)
    print(f"load average after: {os.getloadavg()}")
    if args.json:
        args.json.write_text(json.dumps({"baseline": args.baseline, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
