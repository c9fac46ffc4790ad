"""Lexical layer of :mod:`bea.parsing`: the whitelist, the tokenizer, number values and name checks.

Private: import :data:`~bea.parsing.WHITELIST` and :class:`~bea.parsing.WhitelistEntry`
from :mod:`bea.parsing`.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, NamedTuple

import sympy

from bea.errors import BeaValueError, ParseError
from bea.parsing.limits import MAX_CALL_ARGS, MAX_EXPONENT, MAX_LITERAL_DIGITS, MAX_NUMBER_BITS, too_big

__all__: list[str] = []


# --------------------------------------------------------------------------- whitelist


@dataclass(frozen=True)
class WhitelistEntry:
    """One name the parser knows: a function (called with parentheses) or a constant.

    Calling the entry builds the SymPy object after checking the number of arguments.

    >>> WHITELIST["sigmoid"](sympy.Symbol("x"))
    1/(1 + exp(-x))
    >>> WHITELIST["pi"]()
    pi
    """

    name: str
    build: Callable[..., Any]
    min_args: int
    max_args: int
    smooth: bool
    description: str

    @property
    def is_constant(self) -> bool:
        """Whether the name is a constant (used without parentheses)."""
        return self.max_args == 0

    def __call__(self, *args: Any) -> Any:
        if not self.min_args <= len(args) <= self.max_args:
            raise BeaValueError(f"{self.name} takes {_arity_text(self)}, got {len(args)}")
        return self.build(*args)


def _arity_text(entry: WhitelistEntry) -> str:
    if entry.min_args == entry.max_args:
        n = entry.min_args
        return f"exactly {n} argument{'s' if n != 1 else ''}"
    return f"{entry.min_args} to {entry.max_args} arguments"


def _softplus(x: Any) -> Any:
    return sympy.log(1 + sympy.exp(x))


def _sigmoid(x: Any) -> Any:
    return 1 / (1 + sympy.exp(-x))


def _entries() -> dict[str, WhitelistEntry]:
    one = [
        ("exp", sympy.exp, "exponential"),
        ("log", sympy.log, "natural logarithm"),
        ("sin", sympy.sin, "sine"),
        ("cos", sympy.cos, "cosine"),
        ("tan", sympy.tan, "tangent"),
        ("sinh", sympy.sinh, "hyperbolic sine"),
        ("cosh", sympy.cosh, "hyperbolic cosine"),
        ("tanh", sympy.tanh, "hyperbolic tangent"),
        ("sqrt", sympy.sqrt, "square root"),
        ("softplus", _softplus, "softplus(x) = log(1 + exp(x))"),
        ("sigmoid", _sigmoid, "sigmoid(x) = 1/(1 + exp(-x))"),
    ]
    table = {name: WhitelistEntry(name, fn, 1, 1, True, doc) for name, fn, doc in one}
    table["abs"] = WhitelistEntry("abs", sympy.Abs, 1, 1, False, "absolute value (non-smooth)")
    table["max"] = WhitelistEntry("max", sympy.Max, 2, MAX_CALL_ARGS, False, "maximum (non-smooth)")
    table["min"] = WhitelistEntry("min", sympy.Min, 2, MAX_CALL_ARGS, False, "minimum (non-smooth)")
    table["pi"] = WhitelistEntry("pi", lambda: sympy.pi, 0, 0, True, "the constant pi")
    table["E"] = WhitelistEntry("E", lambda: sympy.E, 0, 0, True, "Euler's number e = exp(1)")
    return table


#: The only functions and constants the parser accepts, by name (read-only).
#:
#: Functions (one argument unless noted): ``exp``, ``log`` (natural), ``sin``,
#: ``cos``, ``tan``, ``sinh``, ``cosh``, ``tanh``, ``sqrt``, ``softplus``
#: (``log(1 + exp(x))``), ``sigmoid`` (``1/(1 + exp(-x))``), and the non-smooth
#: ``abs`` (``sympy.Abs``), ``max`` and ``min`` (``sympy.Max``/``sympy.Min``, 2
#: to :data:`MAX_CALL_ARGS` arguments), which warn with
#: :class:`~bea.errors.NonSmoothWarning`. Constants: ``pi`` and ``E``.
#: ``relu`` is deliberately absent (write ``max(0, x)`` and get the warning).
WHITELIST: Mapping[str, WhitelistEntry] = MappingProxyType(_entries())


# --------------------------------------------------------------------------- tokens

_WHITESPACE = frozenset(" \t\r\n")
_DIGITS = frozenset("0123456789")
_NAME_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_NAME_CHARS = _NAME_START | _DIGITS
_SINGLE_OPERATORS = frozenset("+-*/^(),=")
_NUMBER_RE = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*", re.ASCII)
_WORD_RE = re.compile(r"[A-Za-z0-9_.]*", re.ASCII)
_NON_FINITE_WORDS = frozenset({"nan", "inf", "infinity", "oo", "zoo"})


class _Token(NamedTuple):
    kind: str  # "num", "name", "op" or "end"
    text: str
    pos: int
    value: Any = None  # the exact sympy number of a "num" token


def describe(token: _Token) -> str:
    return "end of input" if token.kind == "end" else repr(token.text)


def error_at(message: str, pos: int, text: str) -> ParseError:
    return ParseError(f"{message} at position {pos}", position=pos, text=text)


def tokenize(text: str) -> Iterator[_Token]:
    """Yield the tokens of ``text`` lazily (so the leftmost error is the one reported)."""
    pos, n = 0, len(text)
    while pos < n:
        ch = text[pos]
        if ch in _WHITESPACE:
            pos += 1
        elif ch in _DIGITS or (ch == "." and pos + 1 < n and text[pos + 1] in _DIGITS):
            match = _NUMBER_RE.match(text, pos)
            assert match is not None
            end = match.end()
            if end < n and (text[end] in _NAME_CHARS or text[end] == "."):
                word = _WORD_RE.match(text, end)
                assert word is not None
                raise error_at(f"invalid number {text[pos : word.end()]!r}", pos, text)
            yield _Token("num", match.group(), pos, _number_value(match.group(), pos, text))
            pos = end
        elif ch in _NAME_START:
            match = _NAME_RE.match(text, pos)
            assert match is not None
            yield _Token("name", match.group(), pos)
            pos = match.end()
        elif text.startswith("**", pos):
            yield _Token("op", "**", pos)
            pos += 2
        elif ch in _SINGLE_OPERATORS:
            yield _Token("op", ch, pos)
            pos += 1
        else:
            raise error_at(f"unexpected {ch!r}", pos, text)
    yield _Token("end", "", n)


def _number_value(lexeme: str, pos: int, text: str) -> Any:
    """The exact value of a number literal, refusing oversized ones before building them."""
    mantissa, _, exponent_text = lexeme.lower().partition("e")
    int_part, _, frac_part = mantissa.partition(".")
    frac_part = frac_part.rstrip("0")
    digits = (int_part + frac_part).lstrip("0")
    if len(digits) > MAX_LITERAL_DIGITS:
        raise error_at(f"number {lexeme!r} has more than {MAX_LITERAL_DIGITS} significant digits", pos, text)
    exponent = 0
    if exponent_text:
        sign = -1 if exponent_text.startswith("-") else 1
        magnitude = exponent_text.lstrip("+-").lstrip("0")
        if len(magnitude) > len(str(MAX_EXPONENT)) or int(magnitude or "0") > MAX_EXPONENT:
            raise error_at(f"exponent of number {lexeme!r} exceeds {MAX_EXPONENT} in magnitude", pos, text)
        exponent = sign * int(magnitude or "0")
    shift = exponent - len(frac_part)
    mantissa_value = int(digits or "0")
    if shift >= 0:
        value = sympy.Integer(mantissa_value * 10**shift)
    else:
        value = sympy.Rational(mantissa_value, 10**-shift)
    if too_big(value):
        raise error_at(f"number {lexeme!r} is too large (limit 2**{MAX_NUMBER_BITS})", pos, text)
    return value


# --------------------------------------------------------------------------- names


def _check_name(name: str, pos: int, text: str) -> None:
    """Refuse names that are never acceptable as a symbol."""
    if name.startswith("_") or "__" in name:
        raise error_at(f"name {name!r} is not allowed (no leading '_' or '__')", pos, text)
    if keyword.iskeyword(name):
        raise error_at(f"keyword {name!r} is not allowed", pos, text)
    if name.lower() in _NON_FINITE_WORDS:
        raise error_at(f"{name!r} is not allowed: values must be finite", pos, text)


def check_new_symbol_name(name: str, pos: int, text: str, what: str) -> None:
    """A parameter or substitution key: a valid name that is not a whitelisted function/constant."""
    _check_name(name, pos, text)
    if name in WHITELIST:
        kind = "constant" if WHITELIST[name].is_constant else "function"
        raise error_at(f"{name!r} is a built-in {kind} and cannot be a {what}", pos, text)
