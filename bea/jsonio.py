"""Strict JSON for every writer of bea and numeric: non-finite numbers become ``null``.

``json.dumps`` writes ``NaN``/``Infinity`` (not JSON) or, with ``allow_nan=False``, raises on them; a drift
check started at ``x = 1e200`` or a diverged training run has such values. Every JSON writer of the project
goes through :func:`dumps`, so the output always parses as standard JSON (RFC 8259, section 6: "Numeric
values that cannot be represented ... such as Infinity and NaN are not permitted").

>>> dumps({"error": float("inf"), "slopes": [1.5, float("nan")], "n": 3}, indent=None)
'{"error": null, "slopes": [1.5, null], "n": 3}'
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

__all__ = ["dumps", "json_ready"]


def json_ready(value: Any) -> Any:
    """``value`` with non-finite floats as ``None``, tuples as lists, NumPy/SymPy scalars and arrays as Python ones.

    Mappings get string keys. Objects with a ``tolist`` method (NumPy arrays and scalars, torch tensors) are
    converted through it; SymPy numbers become ``int`` (integers) or ``float``.
    """
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if hasattr(value, "tolist") and callable(value.tolist):  # numpy arrays/scalars, torch tensors
        return json_ready(value.tolist())
    if getattr(value, "is_Integer", False):
        return int(value)
    if getattr(value, "is_Number", False) and getattr(value, "is_real", False):
        return json_ready(float(value))
    return value


def dumps(data: Any, indent: int | None = 2) -> str:
    """``json.dumps(json_ready(data))`` with ``allow_nan=False``: always standard JSON."""
    return json.dumps(json_ready(data), indent=indent, allow_nan=False)
