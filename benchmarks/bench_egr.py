"""Cost of one explicit-gradient-regularisation (EGR) training step relative to a plain one.

Model: MLP 64-128-128-10 with tanh, cross-entropy on 512 random samples (26 122
parameters), ``torch.optim.SGD``. Steps timed:

* plain: ``zero_grad``, forward, ``backward``, ``optimizer.step()``;
* EGR, double backprop: ``numeric.igr.egr_step(model, closure, mu)`` then ``optimizer.step()``
  (∇(E + μ‖∇E‖²) = g + 2μHg, one extra reverse pass through the graph of g);
* EGR, finite difference: ``egr_step(..., FiniteDifference(eps))`` then ``optimizer.step()``
  (two gradient evaluations, the parameters perturbed in place and restored);
* the double-backprop step written out by hand (the floor of that route, for comparison);
* optionally (``--central``) the central finite difference (three gradient evaluations).

Every timing is the median over ``--repeats`` runs, and each EGR timing is paired with a
plain step timed right after it (each after one untimed call); the reported ratio is the
median of the per-pair ratios, which is robust to a noisy machine. Each call is timed by
two clocks: wall time (``time.perf_counter``) and the CPU time of the calling thread
(``time.thread_time``). With one torch thread on CPU all the work (forward, and the
autograd engine's backward) runs in the calling thread, so the CPU-time figures do not
count the time the thread waits while other processes hold the cores; on a loaded
machine they are the steadier of the two.

    .venv/bin/python benchmarks/bench_egr.py [--dtype float32] [--repeats 30] [--threads 1] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from collections.abc import Callable

import torch
from torch import Tensor, nn

from numeric.igr import DoubleBackprop, FiniteDifference, egr_step

TARGETS = {"EGR double backprop": 2.5, "EGR finite difference": 2.2}


def build(dtype: torch.dtype) -> tuple[nn.Module, Callable[[], Tensor], torch.optim.Optimizer]:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 128), nn.Tanh(), nn.Linear(128, 128), nn.Tanh(), nn.Linear(128, 10)).to(dtype)
    x, y = torch.randn(512, 64, dtype=dtype), torch.randint(0, 10, (512,))
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    return model, lambda: nn.functional.cross_entropy(model(x), y), opt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (0: leave as is)")
    parser.add_argument("--mu", type=float, default=0.01)
    parser.add_argument("--eps", type=float, default=0.01, help="finite-difference step length")
    parser.add_argument("--central", action="store_true", help="also time the central finite difference")
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    dtype = getattr(torch, args.dtype)
    model, closure, opt = build(dtype)

    def plain() -> None:
        opt.zero_grad()
        closure().backward()
        opt.step()

    def egr(mode: DoubleBackprop | FiniteDifference) -> Callable[[], None]:
        def step() -> None:
            egr_step(model, closure, args.mu, mode)
            opt.step()

        return step

    params = list(model.parameters())

    def by_hand() -> None:  # the floor of the double-backprop route: no checks, no bookkeeping
        (*g,) = torch.autograd.grad(closure(), params, create_graph=True)
        hv = torch.autograd.grad(g, params, [gi.detach() * (2 * args.mu) for gi in g])
        for p, gi, extra in zip(params, g, hv, strict=True):
            p.grad = gi.detach() + extra
        opt.step()

    candidates: dict[str, Callable[[], None]] = {
        "EGR double backprop": egr(DoubleBackprop()),
        "double backprop by hand (floor)": by_hand,
        "EGR finite difference": egr(FiniteDifference(args.eps)),
    }
    if args.central:
        candidates["EGR central finite difference"] = egr(FiniteDifference(args.eps, central=True))

    def timed(fn: Callable[[], None]) -> tuple[float, float]:
        fn()  # untimed run first: the allocator and caches are then in the state this call needs
        wall, cpu = time.perf_counter(), time.thread_time()
        fn()
        return time.perf_counter() - wall, time.thread_time() - cpu

    clocks = ("wall", "cpu")
    times: dict[str, dict[str, list[float]]] = {c: {k: [] for k in candidates} for c in clocks}
    ratios: dict[str, dict[str, list[float]]] = {c: {k: [] for k in candidates} for c in clocks}
    base: dict[str, list[float]] = {c: [] for c in clocks}
    for _ in range(args.repeats):
        for key, fn in candidates.items():  # each candidate is paired with a plain step timed next to it
            t_egr, t_plain = timed(fn), timed(plain)
            for i, c in enumerate(clocks):
                times[c][key].append(t_egr[i])
                ratios[c][key].append(t_egr[i] / t_plain[i])
                base[c].append(t_plain[i])
    m = sum(p.numel() for p in model.parameters())
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, dtype {args.dtype}, "
        f"m = {m} parameters, mu = {args.mu}, eps = {args.eps}, {args.repeats} repeats (medians)"
    )
    steps: dict[str, dict[str, object]] = {k: {"target": TARGETS.get(k)} for k in candidates}
    report: dict[str, object] = {
        "torch": torch.__version__, "threads": torch.get_num_threads(), "dtype": args.dtype, "parameters": m,
        "mu": args.mu, "eps": args.eps, "repeats": args.repeats, "machine": platform.platform(),
        "plain_median_ms": {c: 1e3 * statistics.median(base[c]) for c in clocks},
        "steps": steps,
    }
    print(f"{'step':32s} {'clock':>5s} {'median ms':>10s} {'median paired ratio':>20s} {'target':>10s}")
    for c in clocks:
        print(f"{'plain SGD step':32s} {c:>5s} {1e3 * statistics.median(base[c]):10.2f} {1:20.2f}")
        for key in candidates:
            med, ratio = statistics.median(times[c][key]), statistics.median(ratios[c][key])
            target = TARGETS.get(key)
            verdict = "" if target is None else f"≤ {target} {'met' if ratio <= target else 'MISSED'}"
            print(f"{key:32s} {c:>5s} {1e3 * med:10.2f} {ratio:20.2f} {verdict:>10s}")
            steps[key][c] = {"median_ms": 1e3 * med, "median_paired_ratio": ratio}
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(report, fh, indent=2)


if __name__ == "__main__":
    main()
