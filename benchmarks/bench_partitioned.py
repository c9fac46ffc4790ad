"""Per-step cost of ``numeric.partitioned.run_partitioned`` on a one-degree-of-freedom pendulum.

The stepper's cost on such small states is per-call overhead (notebook 07's ``plot_energy`` runs RK4 and
Störmer--Verlet for 10 000 steps each). Each case runs ``--steps`` steps from (q, p) = (2, 0) at h = 0.3 on
the pendulum's field (q' = p, p' = -sin q, written with torch), alternately with this tree's stepper and with the
module ``numeric/partitioned.py`` as it was at a baseline commit (default dcc5296, before the tableau was laid
out once per run), loaded from ``git show`` into the same process; ``--repeats`` pairs, CPU time
(``time.process_time``), medians, ratio = this tree / baseline, and the largest difference between the two
trajectories. The load average is printed before and after.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_partitioned.py [--steps 2000] [--repeats 5] [--baseline dcc5296]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
METHODS = ("rk4", "stormer_verlet", "gauss_legendre_2", "yoshida4")


def baseline_module(commit: str, folder: str) -> ModuleType:
    """``numeric/partitioned.py`` at ``commit``, imported under another name."""
    source = subprocess.run(["git", "show", f"{commit}:numeric/partitioned.py"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout
    path = Path(folder) / "partitioned_baseline.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("partitioned_baseline", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--baseline", default="dcc5296")
    args = parser.parse_args()

    import torch

    import numeric.partitioned as current
    from bea.hamiltonian import method_by_name

    def field(y: torch.Tensor) -> torch.Tensor:
        return torch.stack([y[..., 1], -torch.sin(y[..., 0])], dim=-1)

    torch.set_num_threads(1)
    y0 = torch.tensor([2.0, 0.0], dtype=torch.float64)
    print(f"load average before: {os.getloadavg()[0]:.2f}; {args.steps} steps, h = 0.3, {args.repeats} pairs")
    with tempfile.TemporaryDirectory() as folder:
        baseline = baseline_module(args.baseline, folder)
        for name in METHODS:
            method = method_by_name(name)
            times: dict[str, list[float]] = {"baseline": [], "current": []}
            outs = {}
            for _ in range(args.repeats):
                for label, module in (("baseline", baseline), ("current", current)):
                    start = time.process_time()
                    outs[label] = module.run_partitioned(field, y0, 0.3, args.steps, method)
                    times[label].append(time.process_time() - start)
            old, new = statistics.median(times["baseline"]), statistics.median(times["current"])
            diff = float((outs["baseline"] - outs["current"]).abs().max())
            print(f"{name:>17}: baseline {old:6.2f} s  now {new:6.2f} s  ratio {new / old:.2f}  "
                  f"max |difference| {diff:.1e}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    sys.exit(main())
