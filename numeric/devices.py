"""Device and dtype helpers: one place that validates what the user asked for.

Every numeric entry point takes ``device`` (``"cpu"``, ``"cuda"``, ``"cuda:1"``,
a :class:`torch.device`, or ``None`` for "follow the input / CPU") and ``dtype``
(float64 by default, since verification compares errors far below float32's
resolution). Bad values raise :class:`~numeric.errors.DeviceError` or
:class:`~numeric.errors.NumericTypeError` with one clear message.

>>> resolve_device("cpu")
device(type='cpu')
>>> resolve_dtype("float32")
torch.float32
"""

from __future__ import annotations

from typing import Any

import torch

from numeric.errors import DeviceError, NumericTypeError

__all__ = ["as_tensor", "cuda_available", "device_name", "resolve_device", "resolve_dtype", "synchronize"]

_DTYPES = {"float64": torch.float64, "double": torch.float64, "float32": torch.float32, "float": torch.float32}


def cuda_available() -> bool:
    """Whether torch sees a usable CUDA device."""
    return bool(torch.cuda.is_available())


def resolve_device(device: str | torch.device | None, default: str | torch.device = "cpu") -> torch.device:
    """A validated :class:`torch.device`; ``None`` gives ``default``.

    Raises :class:`DeviceError` for a malformed name or a device type that is not
    available (CUDA without a GPU, an index past the number of GPUs, MPS off macOS).

    >>> resolve_device(None), resolve_device(" cpu ", default="cuda")
    (device(type='cpu'), device(type='cpu'))
    >>> resolve_device("tpu")
    Traceback (most recent call last):
    ...
    numeric.errors.DeviceError: unknown device 'tpu'; use 'cpu', 'cuda' or 'cuda:N'
    """
    if device is None:
        device = default
    if isinstance(device, torch.device):
        dev = device
    elif isinstance(device, str):
        try:
            dev = torch.device(device.strip())
        except (RuntimeError, ValueError):
            raise DeviceError(f"unknown device {device!r}; use 'cpu', 'cuda' or 'cuda:N'") from None
    else:
        raise NumericTypeError(f"device must be a string or torch.device, got {device!r}")
    if dev.type == "cpu":
        return dev
    if dev.type == "cuda":
        if not cuda_available():
            raise DeviceError(f"device {str(device)!r} was asked for but CUDA is not available on this machine")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise DeviceError(f"device {str(device)!r}: only {torch.cuda.device_count()} CUDA device(s) present")
        return dev
    if dev.type == "mps":
        if not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
            raise DeviceError(f"device {str(device)!r} was asked for but MPS is not available on this machine")
        return dev
    raise DeviceError(f"unsupported device {str(device)!r}; use 'cpu', 'cuda' or 'cuda:N'")


def resolve_dtype(dtype: torch.dtype | str | None, default: torch.dtype = torch.float64) -> torch.dtype:
    """A floating torch dtype; ``None`` gives ``default`` (float64). Accepts ``"float64"``, ``"float32"``.

    >>> resolve_dtype(None), resolve_dtype("double"), resolve_dtype(torch.float32)
    (torch.float64, torch.float64, torch.float32)
    """
    if dtype is None:
        return default
    if isinstance(dtype, str):
        key = dtype.strip().lower().removeprefix("torch.")
        if key not in _DTYPES:
            raise NumericTypeError(f"unknown dtype {dtype!r}; use 'float64' or 'float32'")
        return _DTYPES[key]
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point or dtype.is_complex:
        raise NumericTypeError(f"dtype must be a real floating torch dtype, got {dtype!r}")
    return dtype


def as_tensor(value: Any, *, dtype: torch.dtype, device: torch.device, name: str = "theta") -> torch.Tensor:
    """``value`` as a real floating tensor of ``dtype`` on ``device`` (a copy when converted)."""
    if isinstance(value, torch.Tensor):
        if value.is_complex():
            raise NumericTypeError(f"{name} must be real, got dtype {value.dtype}")
        return value.detach().to(device=device, dtype=dtype)
    try:
        return torch.as_tensor(value, dtype=dtype, device=device)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise NumericTypeError(f"{name} must be a tensor or a sequence of numbers, got {value!r}") from exc


def device_name(device: torch.device | str) -> str:
    """A human-readable name: ``"cpu"`` or ``"cuda:0 (NVIDIA H100 80GB HBM3)"``."""
    dev = torch.device(device)
    if dev.type == "cuda" and cuda_available():
        index = dev.index if dev.index is not None else torch.cuda.current_device()
        return f"cuda:{index} ({torch.cuda.get_device_name(index)})"
    return str(dev)


def synchronize(device: torch.device | str) -> None:
    """Wait for queued kernels on ``device`` (no-op on CPU): call before reading a timer."""
    dev = torch.device(device)
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
