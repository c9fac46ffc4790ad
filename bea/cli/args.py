"""Argument types and the lazy backend import shared by the ``bea`` sub-commands."""

from __future__ import annotations

import argparse
import importlib
import math
import re
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

from bea.errors import BeaValueError, MissingExtraError
from bea.trees import MAX_TREES_ORDER, count_trees

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


def _digits(text: str) -> int:
    """Plain decimal digits with an optional sign; Python's ``int`` would also take ``3_0`` (= 30)."""
    if not re.fullmatch(r"\s*[+-]?[0-9]+\s*", text):
        raise ValueError(text)
    return int(text)


def integer(text: str) -> int:
    """An integer as typed (decimal digits only: ``3_0`` and ``٣`` are refused)."""
    try:
        return _digits(text)
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
        value = _digits(text)
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


#: Trees a command handles without ``--allow-expensive``: every tree with at most 13 nodes
#: (20 299 trees; a modified equation of that order takes about a second).
CHEAP_TREES = 20_299


def add_allow_expensive(parser: argparse.ArgumentParser) -> None:
    """Add ``--allow-expensive``, which lifts the cost bound of :func:`check_tree_budget`."""
    parser.add_argument(
        "--allow-expensive",
        action="store_true",
        help=f"allow work on more than {CHEAP_TREES} trees (slow; at most {MAX_TREES_ORDER} nodes)",
    )


def check_tree_budget(
    largest: int, what: str, allow_expensive: bool, *, smallest: int = 1, cheap: int = CHEAP_TREES
) -> int:
    """The number of trees with ``smallest..largest`` nodes that ``what`` will handle, checked
    before any work: refused (:class:`BeaValueError`, one line) above ``CHEAP_TREES`` without
    ``--allow-expensive`` (``cheap`` trees, default ``CHEAP_TREES``), and above ``MAX_TREES_ORDER``
    nodes in any case. With the flag, a one-line note goes to stderr, as progress for the long run."""
    if largest > MAX_TREES_ORDER:
        raise BeaValueError(
            f"{what} needs the trees with {largest} nodes ({count_trees(largest)} of them); "
            f"bea handles trees with at most {MAX_TREES_ORDER} nodes"
        )
    total = sum(count_trees(n) for n in range(smallest, largest + 1))
    nodes = f"with {largest} nodes" if smallest == largest else f"with up to {largest} nodes"
    if total > cheap and not allow_expensive:
        raise BeaValueError(
            f"{what} needs {total} trees {nodes}, more than {cheap}: it may take minutes; "
            "pass --allow-expensive to run it anyway"
        )
    if total > cheap:
        print(f"bea: {what}: working on {total} trees {nodes}; this may take minutes", file=sys.stderr)
    return total


class Once(argparse.Action):
    """Store an option's values like argparse's default action, but refuse the option a second time: argparse
    would keep the last occurrence and drop the first without a word (``--hyper beta=1/2 --hyper beta=1/3``).
    Give it to every option that takes several values (``nargs="+"`` or ``"*"``), whose values belong after one
    occurrence."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: str | Sequence[Any] | None, option_string: str | None = None) -> None:
        given: set[str] = namespace.__dict__.setdefault("_options_given", set())
        if self.dest in given:
            raise argparse.ArgumentError(self, "given twice; put all its values after one "
                                               f"{self.option_strings[-1]}")
        given.add(self.dest)
        setattr(namespace, self.dest, values)


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


#: Options whose values are expressions, which may begin with a minus sign ("-a*h"), with how many values
#: each takes (``None``: every value up to the next option).
EXPRESSION_OPTIONS: dict[str, int | None] = {"--map": None, "--loss": 1, "--hamiltonian": 1}


def protect_expressions(argv: Sequence[str]) -> list[str]:
    """``argv`` with a leading space on each value of an :data:`EXPRESSION_OPTIONS` option that begins with a
    single minus sign, so that argparse reads "-a*h" as a value and not as an unknown option (argparse
    takes any argument with a space for a value); the parser ignores the space.

    >>> protect_expressions(["--loss", "-a*b", "--map", "-a", "-b", "--params", "a", "b"])
    ['--loss', ' -a*b', '--map', ' -a', ' -b', '--params', 'a', 'b']
    >>> protect_expressions(["--loss", "a", "-h"])  # one value only: -h stays the help option
    ['--loss', 'a', '-h']
    """
    out: list[str] = []
    left: int | None = 0  # values still to protect; None: until the next option
    for token in argv:
        if token in EXPRESSION_OPTIONS:
            left = EXPRESSION_OPTIONS[token]
        elif token.startswith("--"):
            left = 0
        elif left is None or left > 0:
            if token.startswith("-"):
                token = " " + token
            left = None if left is None else left - 1
        out.append(token)
    return out


_FORMATS = {
    "text": "a readable table",
    "latex": "LaTeX to paste into a document",
    "json": "JSON (schemas in docs/conventions.md)",
}


def add_format(parser: argparse.ArgumentParser, *choices: str) -> None:
    """Add ``--format`` with ``choices`` (default ``text``) and a help text that says what each gives."""
    parser.add_argument("--format", choices=choices, default="text",
                        help="output: " + "; ".join(f"{c}: {_FORMATS[c]}" for c in choices) + " (default: text)")
