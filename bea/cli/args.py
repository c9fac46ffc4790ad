"""Argument types and the lazy backend import shared by the ``bea`` sub-commands."""

from __future__ import annotations

import argparse
import importlib
import math
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

from bea.errors import MissingExtraError

__all__: list[str] = []

#: Packages of the ``torch`` extra; a missing one means the extra is not installed.
EXTRA_MODULES = ("torch", "torchdiffeq", "matplotlib", "tqdm", "sklearn")


def import_backend(module: str) -> ModuleType:
    """Import ``module`` (a torch-backed part of :mod:`numeric`) by name, so that ``bea`` never
    imports torch itself; raise :class:`MissingExtraError` naming the missing package."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        missing = (error.name or "").split(".")[0]
        if missing in EXTRA_MODULES:
            raise MissingExtraError(
                f"this command needs the torch extra ({missing} is not installed): "
                "pip install -c constraints.txt -e '.[torch]'"
            ) from None
        raise


def integer(text: str) -> int:
    """An integer as typed."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def number(text: str) -> float:
    """A float as typed (range checks are the command's)."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def _bounded_int(text: str, low: int, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a {what} integer, got {text!r}") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"expected a {what} integer, got {value}")
    return value


def positive_int(text: str) -> int:
    """An integer >= 1."""
    return _bounded_int(text, 1, "positive")


def nonneg_int(text: str) -> int:
    """An integer >= 0."""
    return _bounded_int(text, 0, "non-negative")


def positive_float(text: str) -> float:
    """A finite float > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0 or not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a positive finite number, got {text!r}")
    return value


class DeprecatedAlias(argparse.Action):
    """An old option name kept for a while: it stores into the new option's ``dest`` and prints one
    deprecation line on stderr. Add it with ``add_argument(OLD, action=DeprecatedAlias, new=NEW, dest=...)``."""

    def __init__(self, option_strings: Sequence[str], dest: str, *, new: str, **kwargs: Any) -> None:
        kwargs.setdefault("help", argparse.SUPPRESS)
        super().__init__(option_strings, dest, **kwargs)
        self.new = new

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: str | Sequence[Any] | None, option_string: str | None = None) -> None:
        print(f"bea: warning: {option_string} is deprecated, use {self.new}", file=sys.stderr)
        setattr(namespace, self.dest, values)
