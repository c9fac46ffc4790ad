"""Cost of numeric.autodiff.ModifiedField relative to ONE gradient evaluation.

Model: MLP 64-128-128-10 with tanh, cross-entropy on 512 random samples (26 122
parameters). Every timing is the median over ``--repeats`` runs after warm-up, and
the gradient baseline (θ ↦ ∇E(θ) by ``torch.autograd.grad`` through the same
``functional_call`` objective) is measured in the same run: every timing of a field
is paired with a gradient timed right after it (each after one untimed call), and
the reported ratio is the median of the per-pair ratios, which is robust to a noisy
machine.

It also times the first-order modified field of Adam with ε inside the square root
(numeric.optimiser_fields.OptimiserField; one gradient with its graph and one Hessian--vector
product by double backpropagation), whose target is at most 3× a gradient.

For comparison it also times a naive route: every elementary differential formed
separately by nested forward-over-reverse ``torch.func.jvp`` of ``torch.func.grad``.

    .venv/bin/python benchmarks/bench_autodiff.py [--dtype float32] [--repeats 15] [--threads 1] [--naive]
"""

from __future__ import annotations

import argparse
import functools
import statistics
import time
from collections.abc import Callable

import torch
from torch import Tensor, nn

import bea
from bea import methods
from bea.methods import Adam
from numeric.autodiff import ModifiedField
from numeric.optimiser_fields import OptimiserField


def build(dtype: torch.dtype) -> tuple[ModifiedField, Tensor]:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 128), nn.Tanh(), nn.Linear(128, 128), nn.Tanh(), nn.Linear(128, 10))
    x, y = torch.randn(512, 64), torch.randint(0, 10, (512,))
    field = ModifiedField.from_module(model, nn.functional.cross_entropy, x, y, truncation=1, h=0.05, dtype=dtype)
    return field, field.parameters()


def _tangent(fn: Callable[[Tensor], Tensor], v: Tensor, t: Tensor) -> Tensor:
    return torch.func.jvp(fn, (t,), (v,))[1]


def naive_field(
    objective: Callable[[Tensor], Tensor], method: bea.RungeKutta, order: int, h: float
) -> Callable[[Tensor], Tensor]:
    """Σ h^{|τ|-1} b/σ F(τ) with each F(τ) = -D^{k+1}E[F(τ1)..F(τk)] by k nested jvps of grad."""
    series = bea.modified_equation(method, order + 1)
    grad = torch.func.grad(objective)

    def contraction(theta: Tensor, dirs: list[Tensor]) -> Tensor:
        fn: Callable[[Tensor], Tensor] = grad
        for v in dirs:
            fn = functools.partial(_tangent, fn, v)
        return fn(theta)

    def field(theta: Tensor) -> Tensor:
        memo: dict[bea.Tree, Tensor] = {}

        def F(t: bea.Tree) -> Tensor:
            if t not in memo:
                memo[t] = -contraction(theta, [F(c) for c in t.children])
            return memo[t]

        return sum(
            (h ** (t.order - 1) * float(c) / t.symmetry * F(t) for t, c in series.items() if c != 0),
            torch.zeros_like(theta),
        )

    return field


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (0: leave as is)")
    parser.add_argument("--max-order", type=int, default=3)
    parser.add_argument("--naive", action="store_true", help="also time the naive nested-jvp route")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    dtype = getattr(torch, args.dtype)
    field, theta = build(dtype)
    objective = field._objective

    def gradient() -> Tensor:
        t = theta.detach().requires_grad_(True)
        return torch.autograd.grad(objective(t), t)[0]

    def igr_reference() -> Tensor:  # -∇(E + h/4 ‖∇E‖²) written by hand: the cost floor of order 1
        t = theta.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(objective(t), t, create_graph=True)
        return -g.detach() - torch.autograd.grad(g, t, 0.025 * g.detach())[0]

    candidates: dict[str, Callable[[], Tensor]] = {"IGR by hand (double backprop)": igr_reference}
    adam = OptimiserField(objective, method=Adam("9/10", "999/1000", "1e-8", eps_inside=True), h=1e-3)
    candidates["adam order 1 (eps inside)"] = functools.partial(adam, theta)
    for name, method in (("gd", methods.explicit_euler), ("midpoint", methods.explicit_midpoint)):
        for p in range(1, args.max_order + 1):
            mf = ModifiedField(field._objective, truncation=p, h=0.05, method=method)
            candidates[f"{name} order {p}"] = functools.partial(mf, theta)
            if args.naive and name == "gd" and p <= 2:
                nf = naive_field(objective, method, p, 0.05)
                candidates[f"{name} order {p} naive nested jvp"] = functools.partial(nf, theta)

    def timed(fn: Callable[[], Tensor]) -> float:
        fn()  # untimed run first: the allocator and caches are then in the state this call needs
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start

    times: dict[str, list[float]] = {k: [] for k in candidates}
    ratios: dict[str, list[float]] = {k: [] for k in candidates}
    base: list[float] = []
    for _ in range(args.repeats):
        for key, fn in candidates.items():  # each candidate is paired with a gradient timed next to it
            t_field, t_grad = timed(fn), timed(gradient)
            times[key].append(t_field)
            ratios[key].append(t_field / t_grad)
            base.append(t_grad)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, dtype {args.dtype}, "
        f"m = {theta.numel()} parameters, {args.repeats} repeats (medians)"
    )
    print(f"gradient: median {1e3 * statistics.median(base):.2f} ms")
    print(f"{'field':36s} {'median ms':>10s} {'median ratio to paired gradient':>32s}")
    for key in candidates:
        med, ratio = statistics.median(times[key]), statistics.median(ratios[key])
        print(f"{key:36s} {1e3 * med:10.2f} {ratio:32.2f}")


if __name__ == "__main__":
    main()
