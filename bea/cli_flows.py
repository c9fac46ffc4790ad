"""CLI commands built on modified flows of concrete losses (``demo``, ``derive``)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

__all__ = ["add_commands", "HANDLERS"]

HANDLERS: dict[str, Callable[[argparse.Namespace], str]] = {}


def add_commands(sub: Any) -> None:
    """Register the flow commands on the ``bea`` sub-parser collection."""
