"""Small helpers shared by the reproductions: input checks, JSON output, progress bars, statistics."""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bea import jsonio
from numeric.errors import HyperparameterError
from numeric.outputs import OutputError, atomic_write, output_folder

__all__ = [
    "OutputError",
    "check_nonnegative",
    "check_positive",
    "dumps",
    "mean_std",
    "out_dir",
    "progress_bar",
    "refuse_existing",
    "spearman",
    "write_json",
]


def _as_float(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise HyperparameterError(f"{name} must be a real number, got {value!r}")
    return float(value)


def check_positive(name: str, values: Iterable[object]) -> tuple[float, ...]:
    """``values`` as floats, each finite and > 0 (learning rates); one clear error naming the bad one."""
    out = []
    for value in values:
        v = _as_float(name, value)
        if not math.isfinite(v) or v <= 0:
            raise HyperparameterError(f"{name} must be positive finite numbers, got {value!r}")
        out.append(v)
    if not out:
        raise HyperparameterError(f"{name} must not be empty")
    return tuple(out)


def check_nonnegative(name: str, values: Iterable[object]) -> tuple[float, ...]:
    """``values`` as floats, each finite and >= 0 (penalty weights mu)."""
    out = []
    for value in values:
        v = _as_float(name, value)
        if not math.isfinite(v) or v < 0:
            raise HyperparameterError(f"{name} must be finite numbers >= 0, got {value!r}")
        out.append(v)
    return tuple(out)


def out_dir(path: str | os.PathLike[str]) -> Path:
    """Create the output folder (and parents); :class:`OutputError` for an empty name, a file, or no access."""
    return output_folder(path)


def refuse_existing(folder: Path, names: Sequence[str], overwrite: bool) -> None:
    """Refuse to start when ``folder`` already holds one of the result files ``names`` (unless ``overwrite``)."""
    found = [n for n in names if (folder / n).exists()]
    if found and not overwrite:
        raise OutputError(f"{str(folder)!r} already holds results ({', '.join(found)}); pass --overwrite "
                          "(overwrite=True) to replace them, or choose another --out")


def dumps(data: Any, indent: int | None = None) -> str:
    """Strict JSON text (NaN and inf written as null): :func:`bea.jsonio.dumps`."""
    return jsonio.dumps(data, indent=indent)


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as indented JSON, atomically (a temporary file renamed over ``path``)."""
    atomic_write(path, lambda tmp: tmp.write_text(dumps(data, indent=2) + "\n", encoding="utf-8"))


def progress_bar(total: int, desc: str, enabled: bool) -> Any:
    """A tqdm bar on stderr (a no-op object when ``enabled`` is false)."""
    from tqdm import tqdm  # type: ignore[import-untyped]

    return tqdm(total=total, desc=desc, file=sys.stderr, disable=not enabled, dynamic_ncols=True, leave=False)


def mean_std(values: Sequence[float | None]) -> tuple[float | None, float | None, int]:
    """(mean, sample standard deviation, count) over the values that are not None/NaN."""
    vals = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if not vals:
        return None, None, 0
    arr = np.asarray(vals)
    std = float(arr.std(ddof=1)) if len(vals) > 1 else 0.0
    return float(arr.mean()), std, len(vals)


def spearman(xs: Sequence[float | None], ys: Sequence[float | None]) -> float | None:
    """Spearman's rank correlation of the pairs where both values are finite (None if < 3 pairs or constant)."""
    pairs = [(float(x), float(y)) for x, y in zip(xs, ys, strict=True)
             if x is not None and y is not None and math.isfinite(float(x)) and math.isfinite(float(y))]
    if len(pairs) < 3:
        return None
    from scipy.stats import spearmanr

    a, b = np.asarray(pairs).T
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return None
    rho = float(spearmanr(a, b).statistic)
    return rho if math.isfinite(rho) else None
