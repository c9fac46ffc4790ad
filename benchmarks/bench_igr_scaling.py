#!/usr/bin/env python3
"""Benchmark: the autodiff IGR field (gradient descent, truncation 1) against ONE gradient, from 10^4 to 10^6
parameters, with a hand-written double backpropagation measured in the same process (issue 13).

The field is f_h = -∇E - (h/2) H∇E = -∇(E + (h/4)‖∇E‖²) (Barrett & Dherin, ICLR 2021), evaluated by
``numeric.autodiff.ModifiedField(truncation=1)``; the reference is the same vector written by hand, one
gradient with its graph kept and one vector--Jacobian product of it (double backpropagation), on an
objective built here with ``torch.func.functional_call`` (independent of numeric.autodiff). A third route,
forward-over-reverse (``torch.func.jvp`` of ``torch.func.grad`` along g, after one gradient for g), answers
whether a different Hessian--vector product would lower the ratio. All are checked equal (relative differences printed).

Model: MLP 64-w-w-10 with tanh, cross-entropy on 512 random samples, w chosen for about 10^4, 10^5 and
10^6 parameters (w = 64, 256, 960). float32, one torch thread. Each size runs in a fresh process; every
timing of a field is paired with a gradient timed right after it (each after one untimed call) and the
ratio is the median of the per-pair ratios. Extra peak memory: the process's peak resident set (VmHWM,
reset through /proc/self/clear_refs before each call) minus its resident set just before the call, median
of 3 (Linux only; glibc's mmap threshold is fixed at 64 KiB so that freed blocks leave the resident set).

    .venv/bin/python benchmarks/bench_igr_scaling.py [--repeats 7] [--widths 64 256 960] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

CHILD = r"""
import json, statistics, sys, time
import torch
from torch import nn
from numeric.autodiff import ModifiedField

torch.set_num_threads(1)
width, repeats, h = int(sys.argv[1]), int(sys.argv[2]), 0.05
torch.manual_seed(0)
model = nn.Sequential(nn.Linear(64, width), nn.Tanh(), nn.Linear(width, width), nn.Tanh(), nn.Linear(width, 10))
x, y = torch.randn(512, 64), torch.randint(0, 10, (512,))
names = [n for n, _ in model.named_parameters()]
shapes = [p.shape for _, p in model.named_parameters()]
sizes = [p.numel() for _, p in model.named_parameters()]
theta = torch.cat([p.detach().reshape(-1) for p in model.parameters()])

def objective(t):
    params = {n: c.view(s) for n, c, s in zip(names, t.split(sizes), shapes)}
    return nn.functional.cross_entropy(torch.func.functional_call(model, params, (x,)), y)

field = ModifiedField.from_module(model, nn.functional.cross_entropy, x, y, truncation=1, h=h, dtype=torch.float32)

def gradient():
    t = theta.detach().requires_grad_(True)
    return torch.autograd.grad(objective(t), t)[0]

def by_hand():  # -grad(E + h/4 |grad E|^2) = -g - (h/2) H g
    t = theta.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(objective(t), t, create_graph=True)
    return -g.detach() - torch.autograd.grad(g, t, (h / 2) * g.detach())[0]

grad_fn = torch.func.grad(objective)

def forward_over_reverse():  # the same vector, H g as a forward-mode derivative of the gradient along g
    g = grad_fn(theta)
    _, hg = torch.func.jvp(grad_fn, (theta,), (g,))
    return -g - (h / 2) * hg

def autodiff():
    return field(theta)

def rss(key):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(key)) / 1024  # MiB

def timed(fn):
    fn()
    start = time.perf_counter(); fn(); return time.perf_counter() - start

def extra_peak(fn):
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset VmHWM to the current resident set
    before = rss("VmRSS:")
    out = fn()
    peak = rss("VmHWM:")
    del out
    return peak - before

reference = by_hand()
difference = float((autodiff() - reference).norm() / reference.norm())
fwd_rev_difference = float((forward_over_reverse() - reference).norm() / reference.norm())
out = {"width": width, "parameters": theta.numel(), "relative_difference": difference,
       "relative_difference_forward_over_reverse": fwd_rev_difference}
for name, fn in (("autodiff", autodiff), ("by_hand", by_hand), ("forward_over_reverse", forward_over_reverse)):
    ratios, times, grads = [], [], []
    for _ in range(repeats):
        t_field, t_grad = timed(fn), timed(gradient)
        ratios.append(t_field / t_grad); times.append(t_field); grads.append(t_grad)
    out[name] = {"ratio": statistics.median(ratios), "ms": 1e3 * statistics.median(times),
                 "gradient_ms": 1e3 * statistics.median(grads)}
for name, fn in (("gradient", gradient), ("autodiff", autodiff), ("by_hand", by_hand),
                 ("forward_over_reverse", forward_over_reverse)):
    out.setdefault(name, {})["extra_peak_mib"] = statistics.median(extra_peak(fn) for _ in range(3))
print(json.dumps(out))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--widths", type=int, nargs="+", default=[64, 256, 960])
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    root = Path(__file__).resolve().parents[1]
    # a fixed mmap threshold: glibc then returns every freed block over 64 KiB to the system at once (its dynamic
    # threshold would keep freed activations resident, and the next call's peak would not show)
    env = {**os.environ, "PYTHONPATH": str(root), "OMP_NUM_THREADS": "1", "MALLOC_MMAP_THRESHOLD_": "65536",
           "MALLOC_TRIM_THRESHOLD_": "65536"}
    rows, load_before = [], os.getloadavg()
    for width in args.widths:
        done = subprocess.run([sys.executable, "-c", CHILD, str(width), str(args.repeats)], env=env,
                              capture_output=True, text=True, check=True)
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    load_after = os.getloadavg()
    print(f"load average {load_before[0]:.2f} -> {load_after[0]:.2f}; float32, 1 thread, {args.repeats} pairs")
    print(f"{'m':>9} {'gradient ms':>12} {'autodiff IGR':>13} {'by hand':>8} {'fwd/rev':>8} "
          f"{'extra peak MiB: grad':>21} {'autodiff':>9} {'by hand':>8} {'fwd/rev':>8} "
          f"{'rel. diff':>10} {'fwd/rev':>8}")
    for r in rows:
        print(f"{r['parameters']:>9} {r['autodiff']['gradient_ms']:12.2f} {r['autodiff']['ratio']:12.2f}x "
              f"{r['by_hand']['ratio']:7.2f}x {r['forward_over_reverse']['ratio']:7.2f}x "
              f"{r['gradient']['extra_peak_mib']:21.1f} {r['autodiff']['extra_peak_mib']:9.1f} "
              f"{r['by_hand']['extra_peak_mib']:8.1f} {r['forward_over_reverse']['extra_peak_mib']:8.1f} "
              f"{r['relative_difference']:10.1e} {r['relative_difference_forward_over_reverse']:8.1e}")
    if args.json:
        Path(args.json).write_text(json.dumps({"load_before": load_before, "load_after": load_after,
                                               "repeats": args.repeats, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
