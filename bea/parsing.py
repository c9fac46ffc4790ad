"""Safe parsing of untrusted text (command lines, files) into SymPy objects.

Nothing here evaluates the input as Python: there is no ``eval``, ``exec``,
``sympy.sympify`` or ``parse_expr``. A small tokenizer and a recursive-descent
parser build SymPy objects directly, from a fixed grammar::

    expression := term (("+" | "-") term)*
    term       := unary (("*" | "/") unary)*
    unary      := ("+" | "-") unary | power
    power      := atom (("**" | "^") unary)?          # right-associative
    atom       := NUMBER | NAME | FUNCTION "(" expression ("," expression)* ")"
                | "(" expression ")"

so, as in Python, ``-x**2`` is ``-(x**2)``, ``2**3**2`` is ``2**(3**2)`` and
``2**-1`` is ``1/2``; ``^`` is a synonym of ``**`` (never XOR).

* **Numbers** are exact: ``3`` is ``Integer(3)``, ``0.6`` is ``Rational(3, 5)``,
  ``1e-3`` is ``Rational(1, 1000)``. There are no floats, and no ``nan``/``inf``.
* **Names** ``[A-Za-z][A-Za-z0-9_]*`` become plain ``sympy.Symbol(name)``, with
  no assumptions, so they are equal to the symbols made by ``sympy.symbols``.
  Names starting with ``_`` or containing ``__``, Python keywords (``lambda``,
  ``import``, ...) and ``nan``/``inf``/``infinity``/``oo``/``zoo`` (any case)
  are refused. ``I`` and ``e`` are ordinary symbols; write ``E`` and ``pi`` for
  the constants.
* **Functions** are only those of :data:`WHITELIST`, called with the right
  number of arguments.

Limits, so that hostile input can neither run for long nor exhaust memory
(each breach raises :class:`~bea.errors.ParseError`):

* input length: ``max_length`` characters (default 2000);
* nesting: ``max_depth`` (default 64, at most :data:`MAX_DEPTH_LIMIT`) levels
  of parentheses, function calls, unary signs and exponents together;
* number literals: at most :data:`MAX_LITERAL_DIGITS` significant digits and a
  decimal exponent of at most :data:`MAX_EXPONENT` in magnitude;
* every exact number met while building (literal or computed) has numerator
  and denominator below ``2**MAX_NUMBER_BITS``, so it converts to a float;
* every number ``p/q`` in an exponent, numeric or symbolic, has
  ``|p|, q <= MAX_EXPONENT`` (so ``10**10**10``, ``(x**600)**2`` and
  ``7**(2**1000 + a)`` are refused; giant integers are never built: the size of
  a power of a number is estimated before it is computed);
* the argument of ``sin``, ``cos``, ``tan``, ``sinh``, ``cosh``, ``tanh``,
  written out in real and imaginary parts, may have size at most
  :data:`MAX_EXPANSION_TERMS` (sums add, products multiply, ``u**n`` raises to
  the ``n``, a symbol is 2, a function doubles): SymPy decides whether a
  hyperbolic function is real by expanding its argument, so ``sinh((x + y)**30)``
  or ten nested ``tanh`` of ``(a + b)**4`` would take minutes. A four-layer
  scalar ``tanh`` network fits, a five-layer one does not;
* ``max`` and ``min`` take at most :data:`MAX_CALL_ARGS` arguments (nested calls
  that SymPy flattens count together);
* every constant part (one without symbols) must evaluate to a finite double,
  so ``exp(exp(10))`` is refused, and exp, sinh, cosh, tanh (so softplus and
  sigmoid) of a constant need its real part within ``±MAX_EXP_ARGUMENT``:
  SymPy evaluates constants numerically on its own, at a cost that grows with
  their magnitude;
* results that are undefined or infinite (``1/0``, ``0**-1``, ``log(0)``,
  ``tan(pi/2)``) are refused.

Non-smooth functions (``abs``, ``max``, ``min``) are accepted with a
:class:`~bea.errors.NonSmoothWarning`: backward error analysis assumes a smooth
loss.

>>> parse_loss("(y - a*b*x)^2/2")
(-a*b*x + y)**2/2
>>> parse_params("a, b")
(a, b)
>>> parse_substitutions("x=1 y=0.6")
{x: 1, y: 3/5}
"""

from __future__ import annotations

import cmath
import keyword
import math
import re
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, NamedTuple

import sympy

from bea.errors import BeaError, BeaTypeError, BeaValueError, NonSmoothWarning, ParseError

__all__ = [
    "MAX_CALL_ARGS",
    "MAX_DEPTH_LIMIT",
    "MAX_EXPANSION_TERMS",
    "MAX_EXPONENT",
    "MAX_EXP_ARGUMENT",
    "MAX_LITERAL_DIGITS",
    "MAX_NUMBER_BITS",
    "WHITELIST",
    "WhitelistEntry",
    "parse_loss",
    "parse_params",
    "parse_substitutions",
]

#: Largest magnitude of a numeric exponent (``p`` and ``q`` of ``p/q``), and of
#: the decimal exponent of a literal such as ``1e-3``.
MAX_EXPONENT = 1000
#: Most significant digits in one number literal.
MAX_LITERAL_DIGITS = 100
#: Numerators and denominators must stay below ``2**MAX_NUMBER_BITS``.
MAX_NUMBER_BITS = 1023
#: Most arguments of ``max``/``min`` (SymPy's pairwise comparisons are quadratic).
MAX_CALL_ARGS = 8
#: Largest real part of a constant argument of exp, sinh, cosh, tanh (so softplus, sigmoid).
MAX_EXP_ARGUMENT = 1000
#: Largest size (see ``_expansion_terms``) of an argument of sin, cos, tan, sinh,
#: cosh, tanh: SymPy expands it into real and imaginary parts whenever it asks
#: whether a hyperbolic function is real (``sinh((x + y)**30)`` takes seconds).
MAX_EXPANSION_TERMS = 512
#: Largest ``max_depth`` accepted (keeps the parser far from Python's recursion limit).
MAX_DEPTH_LIMIT = 100


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
_UNDEFINED = (sympy.S.NaN, sympy.S.ComplexInfinity, sympy.S.Infinity, sympy.S.NegativeInfinity)  # singletons


class _Token(NamedTuple):
    kind: str  # "num", "name", "op" or "end"
    text: str
    pos: int
    value: Any = None  # the exact sympy number of a "num" token


def _describe(token: _Token) -> str:
    return "end of input" if token.kind == "end" else repr(token.text)


def _error(message: str, pos: int, text: str) -> ParseError:
    return ParseError(f"{message} at position {pos}", position=pos, text=text)


def _tokenize(text: str) -> Iterator[_Token]:
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
                raise _error(f"invalid number {text[pos : word.end()]!r}", pos, text)
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
            raise _error(f"unexpected {ch!r}", pos, text)
    yield _Token("end", "", n)


def _number_value(lexeme: str, pos: int, text: str) -> Any:
    """The exact value of a number literal, refusing oversized ones before building them."""
    mantissa, _, exponent_text = lexeme.lower().partition("e")
    int_part, _, frac_part = mantissa.partition(".")
    frac_part = frac_part.rstrip("0")
    digits = (int_part + frac_part).lstrip("0")
    if len(digits) > MAX_LITERAL_DIGITS:
        raise _error(f"number {lexeme!r} has more than {MAX_LITERAL_DIGITS} significant digits", pos, text)
    exponent = 0
    if exponent_text:
        sign = -1 if exponent_text.startswith("-") else 1
        magnitude = exponent_text.lstrip("+-").lstrip("0")
        if len(magnitude) > len(str(MAX_EXPONENT)) or int(magnitude or "0") > MAX_EXPONENT:
            raise _error(f"exponent of number {lexeme!r} exceeds {MAX_EXPONENT} in magnitude", pos, text)
        exponent = sign * int(magnitude or "0")
    shift = exponent - len(frac_part)
    mantissa_value = int(digits or "0")
    if shift >= 0:
        value = sympy.Integer(mantissa_value * 10**shift)
    else:
        value = sympy.Rational(mantissa_value, 10**-shift)
    if _too_big(value):
        raise _error(f"number {lexeme!r} is too large (limit 2**{MAX_NUMBER_BITS})", pos, text)
    return value


# --------------------------------------------------------------------------- size checks


def _too_big(number: Any) -> bool:
    return bool(abs(int(number.p)).bit_length() > MAX_NUMBER_BITS or int(number.q).bit_length() > MAX_NUMBER_BITS)


def _log2(number: Any) -> float:
    """log2 of the larger of |numerator| and denominator of an exact rational."""
    biggest = max(abs(int(number.p)), int(number.q))
    return math.log2(biggest) if biggest > 1 else 0.0


def _numeric_log2(expr: Any) -> float:
    """An upper estimate of log2 of the numbers SymPy multiplies out when ``expr`` is powered."""
    if expr.is_Rational:
        return _log2(expr)
    if expr.is_Pow and expr.base.is_Rational and expr.exp.is_Rational:
        return _log2(expr.base) * abs(float(expr.exp))
    if expr.is_Mul:
        return sum(_numeric_log2(arg) for arg in expr.args)
    return 0.0


def _exponent_too_big(exponent: Any) -> bool:
    return bool(abs(int(exponent.p)) > MAX_EXPONENT or int(exponent.q) > MAX_EXPONENT)


def _short(expr: Any, limit: int = 40) -> str:
    text = str(expr)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _power_problem(base: Any, exponent: Any) -> str | None:
    """Why ``base**exponent`` is refused, or None.

    Every number in the exponent counts, symbolic exponents included: SymPy splits
    ``7**(n + a)`` into ``7**n * 7**a`` whenever it factors terms (``max`` does),
    so a large ``n`` there is as dangerous as in ``7**n``.
    """
    numbers = [exponent] if exponent.is_Rational else list(exponent.atoms(sympy.Rational))
    for number in numbers:
        if _exponent_too_big(number):
            if number is exponent:
                return f"exponent {_short(exponent)} exceeds {MAX_EXPONENT} in magnitude"
            return f"exponent {_short(exponent)} contains {_short(number)}, beyond {MAX_EXPONENT} in magnitude"
    largest = max((abs(float(number)) for number in numbers), default=0.0)
    if _numeric_log2(base) * largest > MAX_NUMBER_BITS:
        return f"power is too large (beyond 2**{MAX_NUMBER_BITS})"
    return None


def _log_power_problem(expr: Any) -> str | None:
    """Why ``exp(expr)`` is refused, or None.

    SymPy turns ``exp(c*log(b))`` into ``b**c`` (term by term in a sum), computing
    it when ``b`` and ``c`` are numbers, so such terms obey the limits of powers.
    """
    if not expr.has(sympy.log):
        return None
    for term in sympy.Add.make_args(expr):
        if not term.has(sympy.log):
            continue
        numbers: list[Any] = []
        size = 0.0
        stack = [term]
        while stack:
            node = stack.pop()
            if isinstance(node, sympy.log):
                size += _numeric_log2(node.args[0])
            elif node.is_Rational:
                numbers.append(node)
            else:
                stack.extend(node.args)
        for number in numbers:
            if _exponent_too_big(number):
                return f"{_short(term)} contains {_short(number)}, beyond {MAX_EXPONENT} in magnitude, next to a log"
        largest = max((abs(float(number)) for number in numbers), default=0.0)
        if size * largest > MAX_NUMBER_BITS:
            return f"exp({_short(term)}) is too large a power (beyond 2**{MAX_NUMBER_BITS})"
    return None


_EXPANSION_CAP = 1e9
_TRIG_AND_HYPERBOLIC = frozenset({"sin", "cos", "tan", "sinh", "cosh", "tanh"})


def _expansion_terms(expr: Any) -> float:
    """An estimate of the size of ``expr`` written out in real and imaginary parts.

    SymPy decides whether ``sinh(u)``, ``cosh(u)`` or ``tanh(u)`` is real by
    expanding ``u`` that way, at a cost that grows with this size (for
    ``sinh((x + y)**30)``, seconds; nested, it multiplies). Sums add, products
    multiply, an integer power ``n`` of size ``k`` gives ``k**n``; a symbol counts
    2 (its real and imaginary parts), a number 1; a function or a non-integer
    power counts twice its arguments (its parts hold theirs). Capped at 1e9.
    """
    if expr.is_Symbol:
        return 2.0
    if not expr.args:
        return 1.0
    sizes = [_expansion_terms(arg) for arg in expr.args]
    if expr.is_Add:
        return min(_EXPANSION_CAP, math.fsum(sizes))
    if expr.is_Mul:
        total = 1.0
        for size in sizes:
            total = min(_EXPANSION_CAP, total * size)
        return total
    if expr.is_Pow and expr.exp.is_Integer:
        base, power = sizes[0], abs(int(expr.exp))
        if base <= 1.0:
            return 1.0
        if power * math.log(base) >= math.log(_EXPANSION_CAP):
            return _EXPANSION_CAP
        return float(base**power)
    return min(_EXPANSION_CAP, 2.0 * math.fsum(sizes))


def _cot(z: complex) -> complex:
    return 1 / cmath.tan(z)


def _abs(z: complex) -> complex:
    return complex(abs(z))


class _OutOfRange(ArithmeticError):
    """A constant part that SymPy could not evaluate cheaply (message says why)."""


_EXP_LIKE = frozenset({sympy.exp, sympy.sinh, sympy.cosh, sympy.tanh})

#: Float versions of the functions SymPy may leave in a constant expression.
_FLOAT_FUNCTIONS: dict[type, Callable[[complex], complex]] = {
    sympy.exp: cmath.exp,
    sympy.log: cmath.log,
    sympy.sin: cmath.sin,
    sympy.cos: cmath.cos,
    sympy.tan: cmath.tan,
    sympy.cot: _cot,  # tan(x + pi/2) becomes -cot(x)
    sympy.sinh: cmath.sinh,
    sympy.cosh: cmath.cosh,
    sympy.tanh: cmath.tanh,
    sympy.Abs: _abs,
}


def _approximate(expr: Any, memo: dict[Any, complex | None]) -> complex | None:
    """The value of ``expr`` as a complex float, or None if it has symbols (or unknown parts).

    Raises _OutOfRange (or OverflowError, ZeroDivisionError, ValueError) when a constant part
    is not a finite double, or is exp, sinh, cosh or tanh of a constant beyond
    ``MAX_EXP_ARGUMENT``. SymPy evaluates constant parts numerically on its own
    (to compare arguments of ``max``, to find signs, ...), with a working precision
    that grows with their magnitude: for ``tan(exp(exp(exp(10))))`` that exhausts
    memory, and ``min(tanh(9**300), sigmoid(9**300))`` takes a second. Keeping
    constants in float range and exponentials' arguments small keeps that cheap.
    Every constant subexpression is checked, even under a symbol or unknown node.
    """
    if expr in memo:
        return memo[expr]
    value: complex | None
    if expr.is_Rational:
        if _too_big(expr):  # SymPy may have multiplied coefficients out, e.g. 2**600*(x + 2**600*y)
            raise _OutOfRange(f"a number beyond 2**{MAX_NUMBER_BITS}")
        value = complex(int(expr.p) / int(expr.q))
    elif expr is sympy.S.Pi:
        value = complex(math.pi)
    elif expr is sympy.S.Exp1:
        value = complex(math.e)
    elif expr is sympy.S.ImaginaryUnit:
        value = 1j
    elif not expr.args:
        value = None  # a symbol
    else:
        args = [_approximate(arg, memo) for arg in expr.args]
        known = [arg for arg in args if arg is not None]
        if len(known) < len(args):
            value = None
        elif expr.is_Add:
            value = sum(known, complex(0))
        elif expr.is_Mul:
            value = complex(1)
            for factor in known:
                value *= factor
        elif expr.is_Pow:
            value = complex(known[0] ** known[1])
        elif isinstance(expr, sympy.Max):
            value = complex(max(v.real for v in known))
        elif isinstance(expr, sympy.Min):
            value = complex(min(v.real for v in known))
        elif type(expr) in _FLOAT_FUNCTIONS and len(known) == 1:
            if type(expr) in _EXP_LIKE and abs(known[0].real) > MAX_EXP_ARGUMENT:
                raise _OutOfRange(f"{type(expr).__name__}() of a constant beyond ±{MAX_EXP_ARGUMENT}")
            value = _FLOAT_FUNCTIONS[type(expr)](known[0])
        else:
            value = None
    if value is not None and not cmath.isfinite(value):
        raise _OutOfRange("a constant beyond the range of floats")
    memo[expr] = value
    return value


# --------------------------------------------------------------------------- names


def _check_name(name: str, pos: int, text: str) -> None:
    """Refuse names that are never acceptable as a symbol."""
    if name.startswith("_") or "__" in name:
        raise _error(f"name {name!r} is not allowed (no leading '_' or '__')", pos, text)
    if keyword.iskeyword(name):
        raise _error(f"keyword {name!r} is not allowed", pos, text)
    if name.lower() in _NON_FINITE_WORDS:
        raise _error(f"{name!r} is not allowed: values must be finite", pos, text)


def _check_new_symbol_name(name: str, pos: int, text: str, what: str) -> None:
    """A parameter or substitution key: a valid name that is not a whitelisted function/constant."""
    _check_name(name, pos, text)
    if name in WHITELIST:
        kind = "constant" if WHITELIST[name].is_constant else "function"
        raise _error(f"{name!r} is a built-in {kind} and cannot be a {what}", pos, text)


# --------------------------------------------------------------------------- parser


class _Parser:
    """Recursive descent over the lazily tokenized ``text``; builds SymPy objects as it goes."""

    def __init__(self, text: str, max_depth: int) -> None:
        self.text = text
        self.max_depth = max_depth
        self.depth = 0
        self.nonsmooth: set[str] = set()
        self.approximations: dict[Any, complex | None] = {}
        self._tokens = _tokenize(text)
        self.tok = next(self._tokens)

    # -- helpers

    def error(self, message: str, pos: int) -> ParseError:
        return _error(message, pos, self.text)

    def unexpected(self) -> ParseError:
        return self.error(f"unexpected {_describe(self.tok)}", self.tok.pos)

    def advance(self) -> _Token:
        token = self.tok
        if token.kind != "end":
            self.tok = next(self._tokens)
        return token

    def at_op(self, *ops: str) -> bool:
        return self.tok.kind == "op" and self.tok.text in ops

    def expect_op(self, op: str, context: str) -> None:
        if not self.at_op(op):
            raise self.error(f"expected {op!r} {context}, got {_describe(self.tok)}", self.tok.pos)
        self.advance()

    @contextmanager
    def nested(self, pos: int) -> Iterator[None]:
        if self.depth >= self.max_depth:
            raise self.error(f"expression nested deeper than max_depth={self.max_depth}", pos)
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1

    def build(self, pos: int, what: str, fn: Callable[..., Any], *args: Any) -> Any:
        """Call SymPy, turning any failure into a ParseError and checking the result."""
        try:
            result = fn(*args)
        except BeaError:
            raise
        except RecursionError:
            raise self.error(f"{what} is too deeply nested to build", pos) from None
        except Exception as exc:  # SymPy may raise OverflowError etc. on extreme input
            raise self.error(f"cannot build {what} ({type(exc).__name__} in SymPy: {_short(exc, 60)})", pos) from exc
        self.check(result, pos, what)
        return result

    def check(self, result: Any, pos: int, what: str) -> None:
        """Refuse infinite/undefined results and oversized numbers or exponents.

        Inputs were checked when they were built, so only ``result`` and its
        direct arguments (where SymPy combines numbers and exponents) need a look.
        """
        for node in (result, *result.args):
            if any(node is undefined for undefined in _UNDEFINED):
                raise self.error(f"{what} is undefined or infinite ({node})", pos)
            if node.is_Rational and _too_big(node):
                raise self.error(f"{what} gives a number beyond 2**{MAX_NUMBER_BITS}", pos)
            if node.is_Pow:
                problem = _power_problem(node.base, node.exp)
                if problem is not None:
                    raise self.error(f"{problem} (in the {what})", pos)
        try:
            _approximate(result, self.approximations)
        except _OutOfRange as exc:
            raise self.error(f"{what} involves {exc}", pos) from None
        except OverflowError:
            raise self.error(f"{what} involves a constant beyond the range of floats", pos) from None
        except (ArithmeticError, ValueError):
            raise self.error(f"{what} involves a constant that cannot be evaluated as a float", pos) from None

    # -- grammar

    def expression(self) -> Any:
        start = self.tok.pos
        terms = [self.term()]
        while self.at_op("+", "-"):
            op = self.advance()
            term = self.term()
            if op.text == "-":
                term = self.build(op.pos, "negation", sympy.Mul, sympy.S.NegativeOne, term)
            terms.append(term)
        if len(terms) == 1:
            return terms[0]
        return self.build(start, "sum", sympy.Add, *terms)

    def term(self) -> Any:
        start = self.tok.pos
        factors = [self.unary()]
        while self.at_op("*", "/"):
            op = self.advance()
            factor = self.unary()
            if op.text == "/":
                if factor.is_Number and factor.is_zero:
                    raise self.error("division by zero", op.pos)
                factor = self.build(op.pos, "quotient", sympy.Pow, factor, sympy.S.NegativeOne)
            factors.append(factor)
        if len(factors) == 1:
            return factors[0]
        return self.build(start, "product", sympy.Mul, *factors)

    def unary(self) -> Any:
        if self.at_op("+", "-"):
            op = self.advance()
            with self.nested(op.pos):
                operand = self.unary()
            if op.text == "+":
                return operand
            return self.build(op.pos, "negation", sympy.Mul, sympy.S.NegativeOne, operand)
        return self.power()

    def power(self) -> Any:
        base = self.atom()
        if not self.at_op("**", "^"):
            return base
        op = self.advance()
        with self.nested(op.pos):
            exponent = self.unary()
        problem = _power_problem(base, exponent) or _log_power_problem(exponent)
        if problem is not None:
            raise self.error(problem, op.pos)
        return self.build(op.pos, "power", sympy.Pow, base, exponent)

    def atom(self) -> Any:
        token = self.tok
        if token.kind == "num":
            self.advance()
            return token.value
        if token.kind == "name":
            return self.name()
        if self.at_op("("):
            self.advance()
            with self.nested(token.pos):
                inner = self.expression()
            self.expect_op(")", f"to close '(' at position {token.pos}")
            return inner
        raise self.unexpected()

    def name(self) -> Any:
        token = self.tok
        name = token.text
        entry = WHITELIST.get(name)
        if entry is None:
            _check_name(name, token.pos, self.text)  # before advancing: report the leftmost problem
        self.advance()
        if entry is not None:
            if entry.is_constant:
                if self.at_op("("):
                    raise self.error(f"constant {name!r} cannot be called", self.tok.pos)
                return entry.build()
            if not self.at_op("("):
                raise self.error(f"function {name!r} must be called, as in {name}(x)", token.pos)
            return self.call(token, entry)
        if self.at_op("("):
            allowed = ", ".join(n for n, e in WHITELIST.items() if not e.is_constant)
            raise self.error(f"unknown function {name!r} (allowed: {allowed})", token.pos)
        return sympy.Symbol(name)

    def call(self, token: _Token, entry: WhitelistEntry) -> Any:
        open_paren = self.advance()
        args: list[Any] = []
        with self.nested(open_paren.pos):
            if not self.at_op(")"):
                args.append(self.expression())
                while self.at_op(","):
                    self.advance()
                    args.append(self.expression())
        self.expect_op(")", f"to close the call of {entry.name!r} at position {token.pos}")
        if not entry.min_args <= len(args) <= entry.max_args:
            raise self.error(f"{entry.name}() takes {_arity_text(entry)}, got {len(args)}", token.pos)
        if entry.name in ("max", "min"):
            flat = sum(len(a.args) if isinstance(a, (sympy.Max, sympy.Min)) else 1 for a in args)
            if flat > MAX_CALL_ARGS:
                raise self.error(f"{entry.name}() would have {flat} arguments, more than {MAX_CALL_ARGS}", token.pos)
        for arg in args:
            problem = _log_power_problem(arg)
            if problem is not None:
                raise self.error(f"{entry.name}(): {problem}", token.pos)
            if entry.name in _TRIG_AND_HYPERBOLIC and _expansion_terms(arg) > MAX_EXPANSION_TERMS:
                raise self.error(
                    f"{entry.name}() of an expression too large to expand into real and imaginary "
                    f"parts (size over {MAX_EXPANSION_TERMS}), which SymPy does to decide if it is real",
                    token.pos,
                )
        if not entry.smooth:
            self.nonsmooth.add(entry.name)
        return self.build(token.pos, f"{entry.name}()", entry.build, *args)

    def assignment(self) -> tuple[Any, Any, int]:
        """``NAME "=" expression`` with a constant value; returns (symbol, value, key position)."""
        token = self.tok
        if token.kind != "name":
            raise self.error(f"expected a name, got {_describe(token)}", token.pos)
        self.advance()
        _check_new_symbol_name(token.text, token.pos, self.text, "substitution key")
        self.expect_op("=", f"after {token.text!r}")
        value_pos = self.tok.pos
        value = self.expression()
        if value.free_symbols:
            names = ", ".join(sorted(str(s) for s in value.free_symbols))
            raise self.error(f"value of {token.text!r} must be a constant, but uses {names}", value_pos)
        return sympy.Symbol(token.text), value, token.pos


def _finish(parser: _Parser, result: Any) -> Any:
    if parser.tok.kind != "end":
        raise parser.unexpected()
    if not isinstance(result, sympy.Expr) or result.has(*_UNDEFINED):
        raise parser.error("expression is undefined or infinite", 0)
    return result


def _run(parser: _Parser, fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except RecursionError:
        raise parser.error("expression is too deeply nested", parser.tok.pos) from None


def _warn_nonsmooth(names: set[str]) -> None:
    if names:
        warnings.warn(
            f"non-smooth function(s) {', '.join(sorted(names))}: backward error analysis assumes a smooth "
            "loss, so its modified losses are only meaningful away from the kinks",
            NonSmoothWarning,
            stacklevel=3,
        )


def _check_text(text: object, max_length: int, what: str) -> str:
    if not isinstance(text, str):
        raise BeaTypeError(f"{what} must be a str, got {type(text).__name__}")
    if len(text) > max_length:
        raise _error(f"input is {len(text)} characters long, more than max_length={max_length}", max_length, text)
    return text


def _check_limit(value: object, name: str, upper: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BeaTypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < 1 or (upper is not None and value > upper):
        bound = f" and at most {upper}" if upper is not None else ""
        raise BeaValueError(f"{name} must be at least 1{bound}, got {value}")
    return value


# --------------------------------------------------------------------------- public API


def parse_loss(text: str, *, max_length: int = 2000, max_depth: int = 64) -> sympy.Expr:
    """Parse a loss such as ``"(y - a*b*x)^2/2"`` into a SymPy expression, safely.

    See the module documentation for the grammar and the limits. Names become
    plain ``sympy.Symbol(name)`` (no assumptions). Non-smooth functions warn with
    :class:`~bea.errors.NonSmoothWarning`.

    Raises :class:`~bea.errors.ParseError` (a ``ValueError``) for anything outside
    the grammar or the limits, naming the position and the offending token, and
    :class:`~bea.errors.BeaTypeError` when ``text`` is not a ``str``.

    >>> parse_loss("(y - a*b*x)^2/2")
    (-a*b*x + y)**2/2
    >>> parse_loss("0.6*w**2 - 1e-3")
    3*w**2/5 - 1/1000
    >>> parse_loss("-x**2 + 2^3^2")
    512 - x**2
    >>> parse_loss("softplus(w) + sigmoid(w)")
    log(exp(w) + 1) + 1/(1 + exp(-w))
    >>> parse_loss("__import__('os').system('ls')")
    Traceback (most recent call last):
        ...
    bea.errors.ParseError: name '__import__' is not allowed (no leading '_' or '__') at position 0
    >>> parse_loss("x.real")
    Traceback (most recent call last):
        ...
    bea.errors.ParseError: unexpected '.' at position 1
    >>> parse_loss("10**10**10")
    Traceback (most recent call last):
        ...
    bea.errors.ParseError: exponent 10000000000 exceeds 1000 in magnitude at position 2
    """
    text = _check_text(text, _check_limit(max_length, "max_length"), "the loss")
    depth = _check_limit(max_depth, "max_depth", MAX_DEPTH_LIMIT)
    if not text.strip(" \t\r\n"):
        raise _error("empty input", 0, text)
    parser = _Parser(text, depth)
    result = _run(parser, lambda: _finish(parser, parser.expression()))
    _warn_nonsmooth(parser.nonsmooth)
    return result


def parse_params(text_or_list: str | Sequence[str], *, max_length: int = 2000) -> tuple[sympy.Symbol, ...]:
    """Parse parameter names: ``"a b"``, ``"a, b"`` or ``["a", "b"]`` into symbols.

    Each name must be a valid name of the loss grammar (see :func:`parse_loss`),
    must not be a :data:`WHITELIST` function or constant, and must not repeat. In
    a list, each item holds exactly one name. The symbols are plain
    ``sympy.Symbol(name)``, equal to those :func:`parse_loss` makes.

    >>> parse_params("a b")
    (a, b)
    >>> parse_params(["w1", "w2"])
    (w1, w2)
    >>> parse_params("a, b, a")
    Traceback (most recent call last):
        ...
    bea.errors.ParseError: duplicate parameter 'a' at position 6
    """
    max_length = _check_limit(max_length, "max_length")
    found: list[tuple[str, int, str]] = []  # (name, position, text it came from)
    if isinstance(text_or_list, str):
        text = _check_text(text_or_list, max_length, "the parameters")
        tokens = _tokenize(text)
        token = next(tokens)
        if token.kind == "end":
            raise _error("no parameter names (empty input)", 0, text)
        while True:
            if token.kind != "name":
                raise _error(f"expected a parameter name, got {_describe(token)}", token.pos, text)
            found.append((token.text, token.pos, text))
            token = next(tokens)
            if token.kind == "op" and token.text == ",":
                token = next(tokens)
            elif token.kind == "end":
                break
    else:
        items = _check_sequence(text_or_list, "the parameters")
        if not items:
            raise _error("no parameter names (empty list)", 0, "")
        for item in items:
            text = _check_text(item, max_length, "each parameter")
            tokens = _tokenize(text)
            token = next(tokens)
            if token.kind != "name":
                raise _error(f"expected a parameter name, got {_describe(token)}", token.pos, text)
            following = next(tokens)
            if following.kind != "end":
                raise _error(f"unexpected {_describe(following)} after parameter name", following.pos, text)
            found.append((token.text, token.pos, text))
    seen: set[str] = set()
    for name, pos, text in found:
        _check_new_symbol_name(name, pos, text, "parameter")
        if name in seen:
            raise _error(f"duplicate parameter {name!r}", pos, text)
        seen.add(name)
    return tuple(sympy.Symbol(name) for name, _, _ in found)


def parse_substitutions(
    items: str | Sequence[str], *, max_length: int = 2000, max_depth: int = 64
) -> dict[sympy.Symbol, sympy.Expr]:
    """Parse ``"x=1 y=0.6"`` (or ``"x=1, y=0.6"``, or ``["x=1", "y=0.6"]``) into a dict.

    Values use the grammar of :func:`parse_loss` (so ``y=1/2``, ``y=-0.6`` and
    ``z=sqrt(2)`` work) but must contain no free symbols. Keys follow the rules of
    :func:`parse_params`; a repeated key is refused. In a list each item holds
    exactly one ``name=value``. An empty string or list gives ``{}``.

    >>> parse_substitutions("x=1 y=-0.6 z=sqrt(8)")
    {x: 1, y: -3/5, z: 2*sqrt(2)}
    >>> parse_substitutions(["eta=1/10"])
    {eta: 1/10}
    >>> parse_substitutions("x=1 y=x")
    Traceback (most recent call last):
        ...
    bea.errors.ParseError: value of 'y' must be a constant, but uses x at position 6
    """
    max_length = _check_limit(max_length, "max_length")
    depth = _check_limit(max_depth, "max_depth", MAX_DEPTH_LIMIT)
    result: dict[Any, Any] = {}
    nonsmooth: set[str] = set()

    def add(parser: _Parser) -> None:
        key, value, pos = parser.assignment()
        if key in result:
            raise parser.error(f"duplicate substitution for {str(key)!r}", pos)
        result[key] = _finish_value(parser, value)

    if isinstance(items, str):
        text = _check_text(items, max_length, "the substitutions")
        parser = _Parser(text, depth)

        def run_all() -> None:
            while parser.tok.kind != "end":
                add(parser)
                if parser.at_op(","):
                    parser.advance()
                    if parser.tok.kind == "end":
                        raise parser.unexpected()

        _run(parser, run_all)
        nonsmooth |= parser.nonsmooth
    else:
        for item in _check_sequence(items, "the substitutions"):
            text = _check_text(item, max_length, "each substitution")
            parser = _Parser(text, depth)

            def run_one(parser: _Parser = parser) -> None:
                add(parser)
                if parser.tok.kind != "end":
                    raise parser.unexpected()

            _run(parser, run_one)
            nonsmooth |= parser.nonsmooth
    _warn_nonsmooth(nonsmooth)
    return result


def _finish_value(parser: _Parser, value: Any) -> Any:
    if not isinstance(value, sympy.Expr) or value.has(*_UNDEFINED):
        raise parser.error("value is undefined or infinite", parser.tok.pos)
    return value


def _check_sequence(value: object, what: str) -> Sequence[object]:
    if isinstance(value, (bytes, bytearray)) or not isinstance(value, Sequence):
        raise BeaTypeError(f"{what} must be a str or a sequence of str, got {type(value).__name__}")
    return value
