r"""Implicit gradient regularisation in deep networks on real data (Barrett & Dherin, ICLR 2021, §5–6).

**Data.** scikit-learn's bundled handwritten digits (8x8 images, 1,797 samples, 10 classes; no
download), split once with ``train_test_split(test_size=0.25, random_state=0, stratify=y)``
(1,347 train, 450 test); inputs standardised with the training mean and standard deviation.

**Networks and training.** MLPs ``64 → width (→ width …) → 10`` with ReLU, PyTorch's default
initialisation drawn from a ``torch.Generator`` seeded by the run's seed. Full-batch gradient
descent :math:`\theta_{n+1} = \theta_n - h\nabla E(\theta_n)` on the mean cross-entropy, until
100% training accuracy or a cap of ``min(max_steps, ceil(max_time/h))`` steps. Training runs in
float32 (for speed); every end-of-training measure is recomputed in float64 on a float64 copy.
A run whose loss becomes non-finite or exceeds ``divergence_loss`` is recorded as
**diverged**, with its step, and the sweep goes on.

**Measures** (per run): final and best test accuracy (best over evaluations every
``eval_every`` steps), :math:`R_{IG} = \|\nabla E\|^2/m` and :math:`\lambda = hm/4` at the end
(:func:`numeric.igr.r_ig_module`, :func:`numeric.igr.igr_rate`), :math:`R_{IG}/E` (the regulariser
at equal loss, as in the two-parameter model), the loss-surface slope
:math:`\|\nabla E\|` at the start, on average along the trajectory and at the end, and robustness:
test/train accuracy and loss under Gaussian parameter noise of scale σ
(:func:`numeric.igr.perturbation_robustness`).

**Explicit regularisation (EGR).** The same networks at the small learning rate ``egr_lr``
trained on :math:`E + \mu\|\nabla E\|^2` (:func:`numeric.igr.egr_step`, exact double
backpropagation). Its modified loss through order h is :math:`E + (h_0/4 + \mu)\|\nabla E\|^2`,
so ``lambda_eff`` :math:`= m(h_0/4 + \mu)` is the λ of plain GD with :math:`h = h_0 + 4\mu`; the
default μ values are :math:`(h_k - h_0)/4` for learning rates :math:`h_k` of the sweep.

**Output, resumable.** Each finished run is appended to ``digits_runs.jsonl`` in the output
folder (first line: the settings); ``resume=True`` skips the runs already there, so an
interrupted sweep loses at most the run in progress. At the end ``digits.json`` (every run, the
means and spreads over seeds, and the claims of the paper with their numbers) and the figures
are written (:mod:`numeric.reproduce._digits_summary`). On CPU with a fixed number of threads a
seed gives identical numbers.
"""

from __future__ import annotations

import copy
import functools
import itertools
import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from numeric.devices import resolve_device
from numeric.errors import HyperparameterError
from numeric.igr import egr_step, igr_rate, perturbation_robustness, r_ig_module
from numeric.outputs import atomic_write
from numeric.reproduce._common import (
    OutputError,
    check_nonnegative,
    check_positive,
    dumps,
    out_dir,
    progress_bar,
    refuse_existing,
)

__all__ = ["RESULT_FILES", "RUNS_FILE", "SCHEMA", "DigitsConfig", "DigitsData", "load_digits_data", "make_mlp",
           "planned_runs",
           "run_digits", "train_run"]

SCHEMA = "bea.reproduce.digits/1"
RUNS_FILE = "digits_runs.jsonl"
#: The files a finished sweep leaves in its folder (a new sweep refuses to start over them without ``overwrite``).
RESULT_FILES = (RUNS_FILE, "digits.json", "digits_rig_lambda.png", "digits_test_accuracy.png",
                "digits_robustness.png", "digits_egr.png")
_FEATURES, _CLASSES, _SAMPLES = 64, 10, 1797  # scikit-learn's digits: 8x8 images, 10 classes, 1797 samples


def _memory_budget() -> int:
    """Half of the physical memory (bytes); 8 GiB where the platform does not say."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")) // 2
    except (ValueError, OSError, AttributeError):
        return 8 * 2**30


@dataclass(frozen=True)
class DigitsConfig:
    """Settings of the digits reproduction; the defaults are the full run (about 10 minutes on 2 CPU cores).

    ``mus``: EGR weights at ``egr_lr`` (μ = 0 is the plain-GD run of the sweep at ``egr_lr``).
    """

    widths: tuple[int, ...] = (64, 256)
    depth: int = 1
    lrs: tuple[float, ...] = (0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 3.0, 4.0, 8.0)
    seeds: tuple[int, ...] = (0, 1, 2)
    egr_lr: float = 0.1
    mus: tuple[float, ...] = (0.025, 0.1, 0.225, 0.475)
    max_time: float = 200.0
    max_steps: int = 4000
    eval_every: int = 10
    robustness_scales: tuple[float, ...] = (0.01, 0.03, 0.1)
    robustness_draws: int = 5
    divergence_loss: float = 1e3
    test_size: float = 0.25
    split_seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "lrs", tuple(sorted(set(check_positive("learning rates", self.lrs)))))
        object.__setattr__(self, "mus", tuple(sorted(set(check_nonnegative("mu", self.mus)))))
        object.__setattr__(self, "egr_lr", check_positive("egr_lr", (self.egr_lr,))[0])
        check_positive("max_time and divergence_loss", (self.max_time, self.divergence_loss))
        check_nonnegative("robustness scales", self.robustness_scales)
        for name in ("widths", "seeds"):
            values = getattr(self, name)
            if not values or any(isinstance(v, bool) or not isinstance(v, int) for v in values):
                raise HyperparameterError(f"{name} must be a non-empty list of integers, got {values!r}")
            if name == "widths" and min(values) < 1:
                raise HyperparameterError(f"widths must be positive, got {values!r}")
            object.__setattr__(self, name, tuple(sorted(set(values))))
        for name in ("depth", "max_steps", "eval_every", "robustness_draws"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise HyperparameterError(f"{name} must be a positive integer, got {value!r}")
        if not 0 < self.test_size < 1:
            raise HyperparameterError(f"test_size must be in (0, 1), got {self.test_size!r}")
        need = self.memory_estimate()
        if need > _memory_budget():
            raise HyperparameterError(
                f"widths {self.widths} (depth {self.depth}) need about {need / 2**30:.3g} GiB per run, more than "
                f"half of this machine's memory ({_memory_budget() / 2**30:.3g} GiB); choose smaller widths")

    def memory_estimate(self) -> int:
        """Bytes one run of the widest network needs, roughly: parameters (model, gradient, float64 copy and
        its gradients, noise draws: 6 copies) and full-batch activations (forward and backward, float64)."""
        width = max(self.widths)
        params = _FEATURES * width + (self.depth - 1) * width * width + width * _CLASSES + self.depth * width
        activations = _SAMPLES * width * self.depth * 4
        return 8 * (6 * params + activations)

    @classmethod
    def quick(cls) -> DigitsConfig:
        """Two small widths, four learning rates (the last diverges), one seed, one μ: well under a minute."""
        return cls(widths=(32, 64), lrs=(0.5, 1.0, 2.0, 64.0), seeds=(0,), egr_lr=0.5, mus=(0.375,),
                   max_time=200.0, max_steps=400, robustness_draws=2)

    def with_overrides(self, **changes: Any) -> DigitsConfig:
        """A copy with the non-None ``changes`` applied (validated again)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def cap(self, h: float) -> int:
        """The step cap of a run with learning rate h."""
        return min(self.max_steps, math.ceil(self.max_time / h))

    def to_dict(self) -> dict[str, Any]:
        return json.loads(dumps(asdict(self)))  # type: ignore[no-any-return]


@dataclass(frozen=True)
class DigitsData:
    """Standardised train/test tensors on one device: float32 for training, float64 for measuring."""

    x_train: Tensor
    y_train: Tensor
    x_test: Tensor
    y_test: Tensor
    x_train64: Tensor
    x_test64: Tensor

    def info(self) -> dict[str, Any]:
        return {"dataset": "sklearn.datasets.load_digits", "n_train": len(self.y_train), "n_test": len(self.y_test),
                "features": int(self.x_train.shape[1]), "classes": 10,
                "split": "train_test_split(test_size, random_state=split_seed, stratify=y)",
                "inputs": "standardised with the training mean and std (std 0 -> 1)"}


def load_digits_data(config: DigitsConfig, device: torch.device) -> DigitsData:
    """The fixed split of the bundled digits, standardised, on ``device``."""
    from sklearn.datasets import load_digits  # type: ignore[import-untyped]
    from sklearn.model_selection import train_test_split  # type: ignore[import-untyped]

    x, y = load_digits(return_X_y=True)
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=config.test_size, random_state=config.split_seed,
                                          stratify=y)
    mean, std = xtr.mean(axis=0), xtr.std(axis=0)
    std[std == 0] = 1.0
    xtr, xte = (xtr - mean) / std, (xte - mean) / std

    def t(a: np.ndarray, dtype: torch.dtype) -> Tensor:
        return torch.as_tensor(a, dtype=dtype).to(device)

    return DigitsData(t(xtr, torch.float32), t(ytr, torch.int64), t(xte, torch.float32), t(yte, torch.int64),
                      t(xtr, torch.float64), t(xte, torch.float64))


def make_mlp(width: int, depth: int, seed: int, inputs: int = 64, classes: int = 10) -> nn.Sequential:
    """A ReLU MLP with PyTorch's default initialisation, U(±1/√fan_in) for weights and biases, from ``seed``."""
    gen = torch.Generator().manual_seed(seed)
    sizes = [inputs] + [width] * depth + [classes]
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        lin = nn.Linear(n_in, n_out)
        bound = 1.0 / math.sqrt(n_in)
        with torch.no_grad():
            lin.weight.uniform_(-bound, bound, generator=gen)
            lin.bias.uniform_(-bound, bound, generator=gen)
        layers.append(lin)
        if i < depth:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def run_key(kind: str, width: int, lr: float, mu: float, seed: int) -> str:
    return f"{kind}/w{width}/h{lr:g}/mu{mu:g}/s{seed}"


def planned_runs(config: DigitsConfig) -> list[dict[str, Any]]:
    """Every run of the sweep, in order: the learning-rate sweep, then the EGR sweep."""
    mus = [mu for mu in config.mus if mu > 0 or config.egr_lr not in config.lrs]
    specs = [("lr", w, h, 0.0, s) for w in config.widths for h in config.lrs for s in config.seeds]
    specs += [("egr", w, config.egr_lr, mu, s) for w in config.widths for mu in mus for s in config.seeds]
    return [{"kind": k, "width": w, "lr": h, "mu": mu, "seed": s, "key": run_key(k, w, h, mu, s)}
            for k, w, h, mu, s in specs]


def _loss_acc(model: nn.Module, x: Tensor, y: Tensor) -> tuple[float, float]:
    with torch.no_grad():
        out = model(x)
        return float(F.cross_entropy(out, y)), float((out.argmax(dim=1) == y).double().mean())


def _measure(model: nn.Module, data: DigitsData, config: DigitsConfig, seed: int) -> dict[str, Any]:
    """End-of-training measures on a float64 copy of ``model``."""
    net = copy.deepcopy(model).double()
    r_ig = float(r_ig_module(net, lambda: F.cross_entropy(net(data.x_train64), data.y_train)))
    m = sum(p.numel() for p in net.parameters())
    train_loss, train_acc = _loss_acc(net, data.x_train64, data.y_train)
    test_loss, test_acc = _loss_acc(net, data.x_test64, data.y_test)
    robust = {}
    for name, x, y in (("test", data.x_test64, data.y_test), ("train", data.x_train64, data.y_train)):
        stats = perturbation_robustness(net, functools.partial(_loss_acc, x=x, y=y),
                                        config.robustness_scales, config.robustness_draws, 10_000 + seed)
        robust[name] = [s.as_dict() for s in stats]
    return {"train_loss": train_loss, "train_acc": train_acc, "test_loss": test_loss, "test_acc_final": test_acc,
            "r_ig": r_ig, "r_ig_over_loss": r_ig / train_loss if train_loss > 0 else None,
            "slope_end": math.sqrt(r_ig * m), "robustness": robust}


def train_run(spec: dict[str, Any], data: DigitsData, config: DigitsConfig,
              on_step: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Train one network (``spec``: kind, width, lr, mu, seed) by full-batch GD; return its record."""
    t0 = time.perf_counter()
    h, mu, seed, width = float(spec["lr"]), float(spec["mu"]), int(spec["seed"]), int(spec["width"])
    device = data.x_train.device
    model = make_mlp(width, config.depth, seed).to(device)
    tensors: list[Tensor] = list(model.parameters())
    m = sum(p.numel() for p in tensors)
    cap = config.cap(h)
    holder: dict[str, Tensor] = {}

    def closure() -> Tensor:
        holder["out"] = out = model(data.x_train)
        return F.cross_entropy(out, data.y_train)

    status, diverged_at, best, best_step = "capped", None, -1.0, 0
    slopes: list[float] = []
    step = 0
    for step in range(cap + 1):
        loss, gn2 = egr_step(model, closure, mu)
        with torch.no_grad():  # loss, |g|^2 and training accuracy read together: one host sync per step
            correct = (holder["out"].argmax(dim=1) == data.y_train).double().mean()
            value, slope2, train_acc = torch.stack([loss.detach().double(), gn2.detach().double(), correct]).tolist()
        if not (math.isfinite(value) and math.isfinite(slope2)) or value > config.divergence_loss:
            status, diverged_at = "diverged", step
            break
        slopes.append(math.sqrt(slope2))
        if step % config.eval_every == 0 or train_acc == 1.0:
            acc = _loss_acc(model, data.x_test, data.y_test)[1]
            if acc > best:
                best, best_step = acc, step
        if train_acc == 1.0:
            status = "converged"
            break
        if step == cap:
            break
        with torch.no_grad():
            torch._foreach_add_(tensors, [t.grad for t in tensors], alpha=-h)  # type: ignore[misc]
        if on_step is not None and step % 50 == 0:
            on_step(step)
    holder.clear()
    record: dict[str, Any] = {**spec, "depth": config.depth, "m": m, "lambda": igr_rate(h, m),
                              "lambda_eff": m * (h / 4 + mu), "status": status, "diverged_at": diverged_at,
                              "steps": step, "cap": cap, "time": step * h, "device": str(device)}
    if status == "diverged":
        record.update(train_loss=None, train_acc=None, test_loss=None, test_acc_final=None, test_acc_best=None,
                      best_step=None, r_ig=None, r_ig_over_loss=None, slope_end=None, robustness=None)
    else:
        record.update(_measure(model, data, config, seed))
        if record["test_acc_final"] >= best:
            best, best_step = record["test_acc_final"], step
        record.update(test_acc_best=best, best_step=best_step)
    record.update(slope_initial=slopes[0] if slopes else None,
                  slope_mean=float(np.mean(slopes)) if slopes else None,
                  wall_s=time.perf_counter() - t0)
    return record


def _read_runs(path: Path, config: DigitsConfig) -> list[dict[str, Any]]:
    """The records of an earlier, compatible sweep (a half-written last line is ignored)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise OutputError(f"cannot read {str(path)!r}: {exc.strerror or exc}") from None
    if not lines:
        return []
    try:
        header = json.loads(lines[0])
    except json.JSONDecodeError:
        raise OutputError(f"{str(path)!r} does not start with the settings line; cannot resume from it") from None
    if header.get("schema") != SCHEMA or header.get("config") != config.to_dict():
        old = header.get("config") or {}
        diff = sorted(k for k in set(old) | set(config.to_dict()) if old.get(k) != config.to_dict().get(k))
        raise HyperparameterError(f"cannot resume: {str(path)!r} was written with different settings "
                                  f"(differing: {', '.join(diff) or 'schema'}); drop --resume to start again")
    records = []
    for line in lines[1:]:
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            break  # interrupted while writing this line
    return records


def _postfix(bar: Any, key: str, step: int) -> None:
    bar.set_postfix_str(f"{key} step {step}")


def run_digits(
    config: DigitsConfig | None = None,
    out: str | Path = "reproduction",
    *,
    resume: bool = False,
    device: str | torch.device | None = "cpu",
    threads: int | None = 1,
    progress: bool = True,
    limit: int | None = None,
    figures: bool = True,
    overwrite: bool = False,
) -> Any:
    """Run (or continue) the digits sweep, writing into ``out``; returns a ``DigitsResult``.

    ``threads``: ``torch.set_num_threads`` for the run (restored afterwards; ``None`` leaves it).
    ``limit``: stop after this many new runs (the sweep can be continued with ``resume=True``).
    ``overwrite``: replace the results of an earlier sweep in ``out`` (without it, and without ``resume``,
    a folder holding any of :data:`RESULT_FILES` is refused with :class:`~numeric.outputs.OutputError`).
    Resuming refuses records made on another device type.
    """
    from numeric.reproduce._digits_summary import finish

    cfg = config or DigitsConfig()
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise HyperparameterError(f"limit must be a non-negative integer, got {limit!r}")
    cores = os.cpu_count() or 1
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or not 1 <= threads <= cores):
        raise HyperparameterError(f"threads must be an integer from 1 to the {cores} CPU cores here, got {threads!r}")
    if resume and overwrite:
        raise HyperparameterError("resume and overwrite exclude each other: resume keeps the finished runs")
    dev = resolve_device(device)
    folder = out_dir(out)
    path = folder / RUNS_FILE
    if not resume:
        refuse_existing(folder, RESULT_FILES, overwrite)
    records = _read_runs(path, cfg) if resume and path.exists() else []
    other = sorted({str(r.get("device")) for r in records if torch.device(str(r.get("device"))).type != dev.type})
    if other:
        raise HyperparameterError(f"cannot resume on {dev}: {str(path)!r} holds runs made on {', '.join(other)} "
                                  "(results differ between devices); resume there, or start a new --out")
    done = {r["key"] for r in records}
    header = {"schema": SCHEMA, "config": cfg.to_dict()}
    text = "".join(dumps(r) + "\n" for r in [header, *records])  # rewritten: drops a half-written last line
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    todo = [r for r in planned_runs(cfg) if r["key"] not in done]
    skipped = len(done)
    if limit is not None:
        todo = todo[:limit]
    old_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    t0 = time.perf_counter()
    bar = progress_bar(len(todo), "digits", progress)
    try:
        data = load_digits_data(cfg, dev)
        for spec in todo:
            bar.set_postfix_str(spec["key"])
            record = train_run(spec, data, cfg, on_step=functools.partial(_postfix, bar, spec["key"]))
            records.append(record)
            try:
                with path.open("a", encoding="utf-8") as fh:
                    fh.write(dumps(record) + "\n")
            except OSError as exc:
                raise OutputError(f"cannot write {str(path)!r}: {exc.strerror or exc}") from None
            bar.update(1)
    finally:
        bar.close()
        torch.set_num_threads(old_threads)
    elapsed = time.perf_counter() - t0
    return finish(cfg, planned_runs(cfg), SCHEMA, records, folder, data.info(), new_runs=len(todo),
                  skipped=skipped, elapsed=elapsed, figures=figures)
