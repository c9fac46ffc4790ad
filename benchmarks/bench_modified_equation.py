#!/usr/bin/env python3
"""Benchmark: exact modified-equation coefficients of Runge--Kutta methods.

Times ``bea.modified_equation(method, N)`` (every tree with at most N nodes, exact
SymPy rationals) for explicit midpoint and RK4, each timing in a *fresh* Python
process (bea's tree table is process-global and cached, so an in-process repeat
would be warm). Reports medians, minima and the child's peak RSS, checks the
targets of the performance issue, and measures peer packages **in the same run**
on the same machine so that the ratio peer/bea is meaningful on a noisy host.

Run it with the main venv (bea importable); peers run in their own venv
(``benchmarks/.peers-venv``, made by ``benchmarks/peers_env.sh``)::

    .venv/bin/python benchmarks/bench_modified_equation.py
    .venv/bin/python benchmarks/bench_modified_equation.py --orders 10 12 --no-peers

Peers (see docs/benchmarks.md):

* ``bseries``: PyPI ``BSeries`` 0.1 (D. Ketcheson). Its public
  ``bs.modified_equation(y, f, A, b, order)`` builds the coefficients and then the
  symbolic series for a concrete f; ``bseries`` times only the coefficient part,
  reproduced line for line from that function with the package's own helpers
  (``bs.TreeMap``, ``bs.elementary_weight``, ``bs.subs``, ``trees.all_trees``),
  with an exact (sympy.Rational) tableau. ``bseries-full`` times the public
  function itself for the scalar field f(x) = x**2.
* ``kauri-exact``: PyPI ``kauri`` 2.3.0, ``phi ^ (e & Map(cem.antipode))`` with
  ``phi = RK(A_exact, b_exact).elementary_weights_map()`` and e(t) = Rational(1, t!);
  this is exactly ``Map.log()``/``RK.modified_equation_map()`` with the float
  ``exact_weights`` swapped for an exact one.
* ``kauri-float``: ``kauri.midpoint.modified_equation_map()`` as shipped (floats).

Every peer coefficient of the first order-7 run is compared with bea's, tree by
tree (trees are matched by a canonical nested-list key, so tree ordering and
naming do not matter).

``--issue13`` runs the figures of issue 13 instead (rows 1-2), each in a fresh process::

    .venv/bin/python benchmarks/bench_modified_equation.py --issue13
    .venv/bin/python benchmarks/bench_modified_equation.py --issue13 --baseline dcc5296

* ``modifying_integrator(explicit_midpoint, N)`` for N = 9..12 against ``modified_equation``
  at the same order **in the same process** (the tree table warmed by one cold
  ``modified_equation`` call first; then both timed alternately, medians of 3);
* the previous implementation (``tests/reference_bseries.py``, a frozen copy of commit
  40ef694) in the same run: the modifying integrator through N = 10 and the modified
  equation at N = 14, against the current code;
* ``modified_equation(explicit_midpoint, 14)`` cold in a fresh process with its peak RSS.

With ``--baseline REV`` only rows 1-2 run, for this tree and for a ``git archive`` of REV,
alternating fresh processes: the order-14 modified equation (wall, CPU, peak RSS, and a digest
of every coefficient, which must be the same for both trees) and the order-12 pair.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DEFAULT_PEERS_PYTHON = HERE / ".peers-venv" / "bin" / "python"

METHODS = ("explicit_midpoint", "rk4")
# (order, limit seconds, extra RSS limit in MiB or None)
TARGETS = ((10, 0.5, None), (12, 3.0, None), (14, 60.0, 2048.0))
RATIO_ORDER = 7

# ---------------------------------------------------------------------------- child programs
# Each child prints one JSON line last: {"seconds", "trees", "maxrss_kb", "import_s", ...}.
# "coeffs" (canonical tree key -> coefficient string) is added when dumping is requested.

_CHILD_PRELUDE = r"""
import json, resource, sys, time
_t_start = time.perf_counter()
METHOD, N, DUMP = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
def canon(children):
    return "[" + ",".join(sorted(canon(c) for c in children)) + "]"
def finish(seconds, trees, coeffs, extra=None):
    out = {"seconds": seconds, "trees": trees, "import_s": _t_import,
           "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}
    if extra: out.update(extra)
    if DUMP: out["coeffs"] = coeffs
    print(json.dumps(out))
"""

BEA_CHILD = (
    _CHILD_PRELUDE
    + r"""
import sympy
from bea import methods, modified_equation
_t_import = time.perf_counter() - _t_start
method = getattr(methods, METHOD)
t0 = time.perf_counter()
b = modified_equation(method, N)
seconds = time.perf_counter() - t0
# outside the timing: every tree present, every coefficient an exact rational
from bea import count_trees
expected = sum(count_trees(k) for k in range(1, N + 1))
exact = all(isinstance(b[t], sympy.Rational) for t in b)
coeffs = {}
if DUMP:
    def ck(t):
        return "[" + ",".join(sorted(ck(c) for c in t.children)) + "]"
    coeffs = {ck(t): str(b[t]) for t in b}
    # the modified field for the scalar f(x) = x**2, to check BSeries' public bs.modified_equation
    from bea import modified_vector_field
    x, h = sympy.symbols("x h")
    field = str(modified_vector_field(method, sympy.Matrix([x**2]), sympy.Matrix([x]), h, N)[0])
finish(seconds, len(b), coeffs, {"expected_trees": expected, "all_rational": exact,
                                 **({"field": field} if DUMP else {})})
"""
)

_TABLEAUX = r"""
import sympy
R = sympy.Rational
TABLEAUX = {
    "explicit_midpoint": ([[0, 0], [R(1, 2), 0]], [0, 1]),
    "rk4": ([[0, 0, 0, 0], [R(1, 2), 0, 0, 0], [0, R(1, 2), 0, 0], [0, 0, 1, 0]],
            [R(1, 6), R(1, 3), R(1, 3), R(1, 6)]),
}
"""

BSERIES_CHILD = (
    _CHILD_PRELUDE
    + _TABLEAUX
    + r"""
import numpy as np
from BSeries import bs, trees
_t_import = time.perf_counter() - _t_start
A = np.array(TABLEAUX[METHOD][0], dtype=object)
bw = np.array(TABLEAUX[METHOD][1], dtype=object)
t0 = time.perf_counter()
# --- verbatim the coefficient part of BSeries.bs.modified_equation (BSeries 0.1) ---
cf = trees.canonical_forest
a = bs.TreeMap('a')
for tree in trees.trees_to_order(N).values():
    a[tree] = bs.elementary_weight(tree, A, bw)
e = lambda t: sympy.Rational(1) / trees.gamma(t)
B = bs.TreeMap('b')
B[cf['t1']] = a[cf['t1']]
for p in range(2, N + 1):
    for t in trees.all_trees(p):
        B[t] = a[t] - bs.subs(B, e, t) + B[t]
# ----------------------------------------------------------------------------------
seconds = time.perf_counter() - t0
coeffs = {canon(t._nl): str(v) for t, v in B.items()} if DUMP else {}
finish(seconds, len(B), coeffs)
"""
)

BSERIES_FULL_CHILD = (
    _CHILD_PRELUDE
    + _TABLEAUX
    + r"""
import numpy as np
from BSeries import bs, trees
_t_import = time.perf_counter() - _t_start
A = np.array(TABLEAUX[METHOD][0], dtype=object)
bw = np.array(TABLEAUX[METHOD][1], dtype=object)
x = sympy.Symbol('x')
t0 = time.perf_counter()
series = bs.modified_equation([x], [x**2], A, bw, N)
seconds = time.perf_counter() - t0
ntrees = sum(len(trees.all_trees(p)) for p in range(1, N + 1))
finish(seconds, ntrees, {"__field__": str(series[0])})
"""
)

KAURI_CHILD = (
    _CHILD_PRELUDE
    + _TABLEAUX
    + r"""
import kauri as kr
from kauri.cem.cem import antipode_impl as cem_antipode
_t_import = time.perf_counter() - _t_start
FLOAT = sys.argv[4] == "float"
t0 = time.perf_counter()
if FLOAT:
    rk = {"explicit_midpoint": kr.midpoint, "rk4": kr.rk4}[METHOD]
    m = rk.modified_equation_map()
else:
    rk = kr.RK(*TABLEAUX[METHOD])
    exact = kr.Map(lambda t: sympy.Rational(1, t.factorial()))
    m = rk.elementary_weights_map() ^ (exact & kr.Map(cem_antipode))
vals = {t: m(t) for t in kr.trees_up_to_order(N) if t.list_repr is not None}
seconds = time.perf_counter() - t0
coeffs = {canon(t.unlabelled_repr): str(v) for t, v in vals.items()} if DUMP else {}
finish(seconds, len(vals), coeffs)
"""
)

PEERS = {
    # name: (child program, extra argv, exact?)
    "bseries": (BSERIES_CHILD, [], True),
    "bseries-full": (BSERIES_FULL_CHILD, [], True),
    "kauri-exact": (KAURI_CHILD, ["exact"], True),
    "kauri-float": (KAURI_CHILD, ["float"], False),
}
# A peer's time per order grows about 4-10x per extra node (BSeries: 0.5 s, 2 s, 15 s at 7, 8, 9;
# kauri: 5 s, 50 s at 7, 8). Used to decide whether the next order fits the budget.
PEER_GROWTH = 8.0
PEER_MAX_ORDER = {"bseries": 9, "bseries-full": 9}  # BSeries names trees only up to order 9


def run_child(python: str, program: str, method: str, order: int, dump: bool, extra: list[str], timeout: float) -> dict:
    cmd = [python, "-c", program, method, str(order), "1" if dump else "0", *extra]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=REPO)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"child failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["process_s"] = wall
    return result


class Row:
    def __init__(self, who: str, method: str, order: int, runs: list[dict]):
        self.who, self.method, self.order, self.runs = who, method, order, runs
        secs = [r["seconds"] for r in runs]
        self.median = statistics.median(secs)
        self.min = min(secs)
        self.proc_median = statistics.median(r["process_s"] for r in runs)
        self.import_median = statistics.median(r["import_s"] for r in runs)
        self.rss_mb = max(r["maxrss_kb"] for r in runs) / 1024
        self.trees = runs[0]["trees"]

    def as_dict(self) -> dict:
        return {
            "who": self.who,
            "method": self.method,
            "order": self.order,
            "trees": self.trees,
            "n": len(self.runs),
            "median_s": self.median,
            "min_s": self.min,
            "process_median_s": self.proc_median,
            "import_median_s": self.import_median,
            "max_rss_mb": self.rss_mb,
        }


def measure(
    who: str,
    python: str,
    program: str,
    method: str,
    order: int,
    repeats: int,
    extra: list[str],
    dump_first: bool,
    timeout: float,
    adaptive_after: float | None = None,
) -> Row:
    """Median over ``repeats`` fresh processes; with ``adaptive_after``, stop after one run that
    took longer than that many seconds (slow peer orders)."""
    runs = []
    for i in range(repeats):
        r = run_child(python, program, method, order, dump_first and i == 0, extra, timeout)
        runs.append(r)
        print(f"    {who:13s} {method:17s} N={order:2d} run {i + 1}: {r['seconds']:.4f} s", flush=True)
        if adaptive_after is not None and r["seconds"] > adaptive_after:
            break
    return Row(who, method, order, runs)


def fmt_row(row: Row) -> str:
    return (
        f"{row.who:13s} {row.method:17s} {row.order:5d} {row.trees:7d} {len(row.runs):2d} "
        f"{row.median:10.4f} {row.min:10.4f} {row.proc_median:10.3f} {row.rss_mb:9.1f}"
    )


HEADER = (
    f"{'impl':13s} {'method':17s} {'order':>5s} {'trees':>7s} {'n':>2s} "
    f"{'median s':>10s} {'min s':>10s} {'proc med s':>10s} {'maxRSS MB':>9s}"
)


def compare(bea_coeffs: dict, peer_coeffs: dict, exact: bool, max_order: int) -> dict:
    """Compare coefficients of all trees with at most ``max_order`` nodes."""

    def nodes(key: str) -> int:
        return key.count("[")

    keys = sorted((k for k in bea_coeffs if nodes(k) <= max_order), key=lambda k: (nodes(k), k))
    missing = [k for k in keys if k not in peer_coeffs]
    mismatches, max_err = [], 0.0
    for k in keys:
        if k in missing:
            continue
        ref = Fraction(bea_coeffs[k])
        if exact:
            got = Fraction(peer_coeffs[k])
            if got != ref:
                mismatches.append((k, bea_coeffs[k], peer_coeffs[k]))
        else:
            err = abs(float(peer_coeffs[k]) - float(ref))
            max_err = max(max_err, err)
            if err > 1e-9 * max(1.0, abs(float(ref))):
                mismatches.append((k, bea_coeffs[k], peer_coeffs[k]))
    return {
        "compared": len(keys) - len(missing),
        "missing": len(missing),
        "mismatches": mismatches,
        "max_abs_err": max_err,
    }


# ---------------------------------------------------------------------------- issue 13 figures
ISSUE13_CHILD = r"""
import json, resource, statistics, sys, time
sys.path.insert(0, "tests")
MODE, N = sys.argv[1], int(sys.argv[2])
from bea import bseries, methods, modified_equation, modifying_integrator
from reference_bseries import reference_modified_equation, reference_modifying_integrator
m = methods.explicit_midpoint
out = {"mode": MODE, "order": N}
def timed(f):
    t0 = time.perf_counter(); f(); return time.perf_counter() - t0
if MODE == "pair":  # same process: modified equation vs modifying integrator
    out["me_cold_s"] = timed(lambda: modified_equation(m, N))
    me, mi = [], []
    for _ in range(3):
        me.append(timed(lambda: modified_equation(m, N)))
        mi.append(timed(lambda: modifying_integrator(m, N)))
    out["me_s"], out["mi_s"] = statistics.median(me), statistics.median(mi)
elif MODE == "mi-old":  # the previous modifying integrator (edge subsets), cold
    a = bseries(m, N)
    out["seconds"] = timed(lambda: reference_modifying_integrator(a, N))
elif MODE == "mi-new":
    out["seconds"] = timed(lambda: modifying_integrator(m, N))
elif MODE == "me-old":
    a = bseries(m, N)
    out["seconds"] = timed(lambda: reference_modified_equation(a, N))
elif MODE == "me-new":
    t0, c0 = time.perf_counter(), time.process_time()
    series = modified_equation(m, N)
    out["seconds"], out["cpu_s"] = time.perf_counter() - t0, time.process_time() - c0
    if len(sys.argv) > 3 and sys.argv[3] == "digest":  # every coefficient, for comparing two trees
        import hashlib
        from bea import trees_up_to
        text = "|".join(f"{list(t.levels)}:{series[t]}" for t in trees_up_to(N))
        out["digest"] = hashlib.sha256(text.encode()).hexdigest()
out["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def issue13(repeats: int, timeout: float) -> dict:
    """The issue-13 figures (module docstring); prints a table and returns the raw runs."""

    def child(mode: str, order: int) -> dict:
        proc = subprocess.run(
            [sys.executable, "-c", ISSUE13_CHILD, mode, str(order)],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=REPO,
        )
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr.strip()[-2000:])
        return json.loads(proc.stdout.strip().splitlines()[-1])

    load = os.getloadavg()
    print(f"# issue 13, loadavg at start {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, cpus {os.cpu_count()}")
    results: dict = {"loadavg_start": load, "pair": {}, "old_new": {}}
    print("modifying_integrator vs modified_equation, explicit midpoint, same process (medians of 3):")
    for order in (9, 10, 11, 12):
        runs = [child("pair", order) for _ in range(repeats)]
        me = statistics.median(r["me_s"] for r in runs)
        mi = statistics.median(r["mi_s"] for r in runs)
        results["pair"][order] = {"me_s": me, "mi_s": mi, "ratio": mi / me, "runs": runs}
        print(f"  N={order:2d}: modified_equation {me:.4f} s, modifying_integrator {mi:.4f} s, ratio {mi / me:.2f}")
    print("previous implementation (tests/reference_bseries.py) vs now, fresh processes, cold:")
    for what, orders in (("mi", (9, 10)), ("me", (12, 14))):
        for order in orders:
            old = [child(f"{what}-old", order) for _ in range(1 if order >= 14 else repeats)]
            new = [child(f"{what}-new", order) for _ in range(repeats)]
            o = statistics.median(r["seconds"] for r in old)
            n = statistics.median(r["seconds"] for r in new)
            rss_o = max(r["maxrss_mb"] for r in old)
            rss_n = max(r["maxrss_mb"] for r in new)
            results["old_new"][f"{what}{order}"] = {"old_s": o, "new_s": n, "old_rss_mb": rss_o, "new_rss_mb": rss_n}
            name = "modifying_integrator" if what == "mi" else "modified_equation"
            print(
                f"  {name:20s} N={order:2d}: before {o:8.3f} s ({rss_o:.0f} MB), now {n:7.3f} s "
                f"({rss_n:.0f} MB), ratio {o / n:6.1f}x"
            )
    load = os.getloadavg()
    results["loadavg_end"] = load
    print(f"# loadavg at end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    return results


def against_baseline(revision: str, repeats: int, timeout: float) -> dict:
    """Rows 1-2 of issue 13 for this tree and for ``revision`` (``git archive``), alternating fresh processes:
    ``modified_equation(explicit_midpoint, 14)`` cold (wall, CPU, peak RSS, a digest of every coefficient)
    and the same-process pair at order 12 (row 1). Prints a table and returns the raw runs."""

    def child(tree: Path, args: list[str]) -> dict:
        proc = subprocess.run(
            [sys.executable, "-c", ISSUE13_CHILD, *args], capture_output=True, text=True, timeout=timeout, cwd=tree
        )
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr.strip()[-2000:])
        return json.loads(proc.stdout.strip().splitlines()[-1])

    load = os.getloadavg()
    results: dict = {"baseline": revision, "loadavg_start": load, "now": [], revision: []}
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "baseline"
        old.mkdir()
        archive = subprocess.run(["git", "-C", str(REPO), "archive", revision], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(old)], input=archive.stdout, check=True)
        for _ in range(repeats):
            for name, tree in (("now", REPO), (revision, old)):
                run = child(tree, ["me-new", "14", "digest"])
                run["pair12"] = child(tree, ["pair", "12"])
                results[name].append(run)
    results["loadavg_end"] = os.getloadavg()
    print(f"# issue 13 rows 1-2 against {revision}: load average {load[0]:.2f} -> {results['loadavg_end'][0]:.2f}, "
          f"{repeats} fresh processes each, alternating")
    medians = {}
    for name in ("now", revision):
        runs = results[name]
        medians[name] = {
            "wall": statistics.median(r["seconds"] for r in runs),
            "cpu": statistics.median(r["cpu_s"] for r in runs),
            "rss": max(r["maxrss_mb"] for r in runs),
            "me12": statistics.median(r["pair12"]["me_s"] for r in runs),
            "mi12": statistics.median(r["pair12"]["mi_s"] for r in runs),
        }
        f = medians[name]
        walls = ", ".join(f"{r['seconds']:.2f}" for r in runs)
        print(f"  {name:8s} modified_equation N=14: wall {walls} s "
              f"(median {f['wall']:.2f} s, CPU {f['cpu']:.2f} s), peak RSS {f['rss']:.0f} MB; "
              f"N=12 same process: modified_equation {f['me12']:.3f} s, modifying_integrator {f['mi12']:.3f} s "
              f"(ratio {f['mi12'] / f['me12']:.2f})")
    same = len({r["digest"] for name in ("now", revision) for r in results[name]}) == 1
    results["medians"], results["same_coefficients"] = medians, same
    print(f"  same-run ratio {revision}/now, N=14: wall {medians[revision]['wall'] / medians['now']['wall']:.2f}x, "
          f"CPU {medians[revision]['cpu'] / medians['now']['cpu']:.2f}x; every coefficient equal: {same}")
    return results


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--orders", type=int, nargs="+", default=[10, 12, 14], help="bea orders (default 10 12 14)")
    p.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    p.add_argument(
        "--repeats",
        type=int,
        default=None,
        help="fresh processes per figure (default: 5 for N <= 12, 3 above; peers 3)",
    )
    p.add_argument("--no-peers", action="store_true", help="skip the peer packages")
    p.add_argument("--peers", nargs="+", default=list(PEERS), choices=list(PEERS))
    p.add_argument(
        "--peer-orders",
        type=int,
        nargs="+",
        default=[7, 8, 9],
        help="orders for the explicit-midpoint peer figures (default 7 8 9; see --peer-budget)",
    )
    p.add_argument("--peer-rk4-orders", type=int, nargs="*", default=[7], help="orders for RK4 peer figures")
    p.add_argument(
        "--peer-slow",
        type=float,
        default=10.0,
        help="above order 7 a peer run slower than this (s) is not repeated (the figure is then one run)",
    )
    p.add_argument(
        "--peer-budget",
        type=float,
        default=30.0,
        help=f"a peer climbs to the next order only if its median times {PEER_GROWTH:g} stays under this (s)",
    )
    p.add_argument("--peers-python", default=os.environ.get("BEA_PEERS_PYTHON", str(DEFAULT_PEERS_PYTHON)))
    p.add_argument("--timeout", type=float, default=180.0, help="per child process, seconds")
    p.add_argument("--json", type=Path, help="write all figures here as JSON")
    p.add_argument("--issue13", action="store_true", help="run the issue-13 figures instead (module docstring)")
    p.add_argument(
        "--baseline",
        metavar="REV",
        help="with --issue13: only rows 1-2 for this tree against git revision REV, alternating fresh processes",
    )
    args = p.parse_args(argv)
    if args.issue13 and args.baseline:
        figures = against_baseline(args.baseline, args.repeats or 3, args.timeout)
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2))
        return 0 if figures["same_coefficients"] else 1
    if args.issue13:
        figures = issue13(args.repeats or 3, args.timeout)
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2))
        return 0

    def reps(order: int) -> int:
        if args.repeats is not None:
            return args.repeats
        return 5 if order <= 12 else 3

    started = time.perf_counter()
    load_start = os.getloadavg()
    print(
        f"# {platform.platform()}  python {platform.python_version()}  cpus {os.cpu_count()}  "
        f"loadavg at start {load_start[0]:.2f} {load_start[1]:.2f} {load_start[2]:.2f}",
        flush=True,
    )

    # ---------------------------------------------------------------- peers available?
    peers_ok: dict[str, str] = {}
    if not args.no_peers:
        py = args.peers_python
        if not Path(py).exists():
            print(f"# peers: {py} not found (run benchmarks/peers_env.sh); skipping peers")
        else:
            for mod, dist in (("BSeries", "BSeries"), ("kauri", "kauri"), ("pybs", "pybs")):
                probe = subprocess.run(
                    [py, "-c", f"import importlib.metadata as m; v = m.version({dist!r}); import {mod}; print(v)"],
                    capture_output=True,
                    text=True,
                    cwd=REPO,
                )
                if probe.returncode == 0:
                    peers_ok[mod] = probe.stdout.strip()
                    print(f"# peer {dist} {peers_ok[mod]}: importable")
                else:
                    last = (probe.stderr.strip().splitlines() or ["?"])[-1]
                    print(f"# peer {dist}: unavailable ({last})")
    active_peers = [
        name
        for name in args.peers
        if (name.startswith("bseries") and "BSeries" in peers_ok) or (name.startswith("kauri") and "kauri" in peers_ok)
    ]

    rows: list[Row] = []
    bea_rows: dict[tuple[str, int], Row] = {}
    peer_rows: dict[tuple[str, str, int], Row] = {}

    # ---------------------------------------------------------------- peers (explicit midpoint, then RK4)
    peer_dumps: dict[tuple[str, str], dict] = {}
    peer_plan = [("explicit_midpoint", sorted(args.peer_orders)), ("rk4", sorted(args.peer_rk4_orders))]
    for method, orders in peer_plan:
        if method not in args.methods:
            continue
        for name in active_peers:
            program, extra, _exact = PEERS[name]
            for order in orders:
                if order > PEER_MAX_ORDER.get(name, 99):
                    print(f"    {name}: order {order} beyond what the package supports; skipped")
                    break
                slow = args.peer_slow if order > RATIO_ORDER else None
                try:
                    row = measure(
                        name,
                        args.peers_python,
                        program,
                        method,
                        order,
                        3 if args.repeats is None else args.repeats,
                        extra,
                        dump_first=(order == RATIO_ORDER),
                        timeout=args.timeout,
                        adaptive_after=slow,
                    )
                except subprocess.TimeoutExpired:
                    print(f"    {name} {method} N={order}: over {args.timeout:.0f} s, stopped")
                    break
                except RuntimeError as exc:
                    print(f"    {name} {method} N={order}: FAILED {exc}")
                    break
                rows.append(row)
                peer_rows[(name, method, order)] = row
                if order == RATIO_ORDER and "coeffs" in row.runs[0]:
                    peer_dumps[(name, method)] = row.runs[0]["coeffs"]
                if row.median * PEER_GROWTH > args.peer_budget:
                    # the next order would take about PEER_GROWTH times longer: over budget
                    print(
                        f"    {name}: not climbing past N={order} (projected {row.median * PEER_GROWTH:.0f} s "
                        f"> --peer-budget {args.peer_budget:.0f} s)"
                    )
                    break

    # ---------------------------------------------------------------- bea
    bea_orders_by_method = {}
    for method in args.methods:
        extra_orders = {o for (_n, m, o) in peer_rows if m == method}
        if not args.no_peers:
            extra_orders.add(RATIO_ORDER)
        bea_orders_by_method[method] = sorted(set(args.orders) | extra_orders)
    bea_dumps: dict[str, dict] = {}
    bea_fields: dict[str, str] = {}
    for method in args.methods:
        for order in bea_orders_by_method[method]:
            row = measure(
                "bea",
                sys.executable,
                BEA_CHILD,
                method,
                order,
                reps(order),
                [],
                dump_first=(order == RATIO_ORDER and bool(peer_dumps)),
                timeout=args.timeout,
            )
            r0 = row.runs[0]
            if r0["trees"] != r0["expected_trees"] or not r0["all_rational"]:
                print(
                    f"    WARNING: bea {method} N={order}: {r0['trees']} trees "
                    f"(expected {r0['expected_trees']}), all rational: {r0['all_rational']}"
                )
            if "coeffs" in r0:
                bea_dumps[method] = r0["coeffs"]
                bea_fields[method] = r0["field"]
            rows.append(row)
            bea_rows[(method, order)] = row

    # ---------------------------------------------------------------- report
    print()
    print(
        "Times are the modified_equation computation inside a fresh process (import excluded); "
        "'proc med s' is the whole child process (interpreter start + imports + computation)."
    )
    print(HEADER)
    print("-" * len(HEADER))
    for row in sorted(rows, key=lambda r: (r.method, r.order, r.who != "bea", r.who)):
        print(fmt_row(row))
    imp = [r.import_median for r in rows if r.who == "bea"]
    if imp:
        print(f"(bea child import time, median: {statistics.median(imp):.3f} s)")

    ratios = []
    if peer_rows:
        print()
        print("Same-run ratios peer median / bea median (higher = bea faster):")
        for (name, method, order), prow in sorted(peer_rows.items(), key=lambda kv: (kv[0][1], kv[0][2], kv[0][0])):
            brow = bea_rows.get((method, order))
            if brow is None:
                continue
            ratio = prow.median / brow.median
            ratios.append(
                {
                    "peer": name,
                    "method": method,
                    "order": order,
                    "peer_s": prow.median,
                    "bea_s": brow.median,
                    "ratio": ratio,
                    "peer_n": len(prow.runs),
                }
            )
            note = "" if len(prow.runs) >= 3 else f"  (peer: {len(prow.runs)} run)"
            print(
                f"  {name:13s} {method:17s} N={order}: {prow.median:9.4f} s / {brow.median:.4f} s = {ratio:8.1f}x{note}"
            )

    checks = []
    if peer_dumps:
        print()
        print(
            f"Cross-check against bea, all trees with 1..{RATIO_ORDER} nodes (b(tree) in the sigma "
            "normalisation f_h = sum h^(|t|-1) b(t)/sigma(t) F(t); trees matched by canonical shape):"
        )
        for (name, method), coeffs in sorted(peer_dumps.items()):
            if method not in bea_dumps:
                continue
            if "__field__" in coeffs:  # bseries-full: compare the modified field for f(x) = x**2
                import sympy  # main venv

                diff = sympy.expand(sympy.sympify(coeffs["__field__"]) - sympy.sympify(bea_fields[method]))
                ok = diff == 0
                checks.append(
                    {
                        "peer": name,
                        "method": method,
                        "compared": "field f=x**2",
                        "missing": 0,
                        "mismatches": [] if ok else [("field", bea_fields[method], coeffs["__field__"])],
                        "max_abs_err": 0.0,
                    }
                )
                print(
                    f"  {name:13s} {method:17s}: {'AGREE' if ok else 'DISAGREE'}: modified field for f(x) = x**2 "
                    f"through h^{RATIO_ORDER - 1}: {coeffs['__field__']}"
                )
                continue
            res = compare(bea_dumps[method], coeffs, PEERS[name][2], RATIO_ORDER)
            checks.append({"peer": name, "method": method, **res})
            status = "AGREE" if not res["mismatches"] and not res["missing"] else "DISAGREE"
            extra = f", max |err| {res['max_abs_err']:.1e}" if not PEERS[name][2] else ""
            print(
                f"  {name:13s} {method:17s}: {status}: {res['compared']} trees compared, "
                f"{len(res['mismatches'])} mismatches, {res['missing']} missing{extra}"
            )
            for k, ref, got in res["mismatches"][:5]:
                print(f"      {k}: bea {ref}, {name} {got}")

    print()
    print("Targets (median computation time in a fresh process; RSS = peak of the child):")
    verdicts = []
    for method in args.methods:
        for order, limit, rss_limit in TARGETS:
            row = bea_rows.get((method, order))
            if row is None:
                continue
            ok = row.median <= limit and (rss_limit is None or row.rss_mb < rss_limit)
            e2e_ok = row.proc_median <= limit
            rss_txt = f", peak RSS {row.rss_mb:.0f} MB < {rss_limit:.0f} MB" if rss_limit else ""
            verdicts.append(
                {
                    "method": method,
                    "order": order,
                    "limit_s": limit,
                    "median_s": row.median,
                    "rss_mb": row.rss_mb,
                    "pass": ok,
                    "process_pass": e2e_ok,
                }
            )
            print(
                f"  {'PASS' if ok else 'MISS'}  {method:17s} order {order:2d}: {row.median:.3f} s <= {limit} s"
                f"{rss_txt}   (whole process {row.proc_median:.2f} s: {'PASS' if e2e_ok else 'MISS'})"
            )

    load_end = os.getloadavg()
    total = time.perf_counter() - started
    print(f"\n# loadavg at end {load_end[0]:.2f} {load_end[1]:.2f} {load_end[2]:.2f}; benchmark took {total:.0f} s")

    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "platform": platform.platform(),
                    "python": platform.python_version(),
                    "cpus": os.cpu_count(),
                    "loadavg_start": load_start,
                    "loadavg_end": load_end,
                    "total_s": total,
                    "peers": peers_ok,
                    "rows": [r.as_dict() for r in rows],
                    "ratios": ratios,
                    "crosscheck": [
                        {k: v for k, v in c.items() if k != "mismatches"} | {"mismatches": len(c["mismatches"])}
                        for c in checks
                    ],
                    "targets": verdicts,
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
