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
* at most :data:`MAX_HYPERBOLIC_NESTING` of sinh, cosh, tanh nested inside each
  other, and at most :data:`MAX_CONSTANT_NESTING` functions nested inside each
  other in a constant (``exp(-exp(-...exp(-1)))``): SymPy's cost of building
  such nests grows exponentially per level. Like every limit here, these are
  checked on the arguments before SymPy builds a call, not afterwards;
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

import warnings
from collections.abc import Sequence
from typing import Any

import sympy

from bea.errors import BeaTypeError, BeaValueError, NonSmoothWarning
from bea.parsing.grammar import Parser, finish_expr, finish_value, run_parser
from bea.parsing.lexer import WHITELIST, WhitelistEntry, check_new_symbol_name, describe, error_at, tokenize
from bea.parsing.limits import (
    MAX_CALL_ARGS,
    MAX_CONSTANT_NESTING,
    MAX_DEPTH_LIMIT,
    MAX_EXP_ARGUMENT,
    MAX_EXPANSION_TERMS,
    MAX_EXPONENT,
    MAX_HYPERBOLIC_NESTING,
    MAX_LITERAL_DIGITS,
    MAX_NUMBER_BITS,
)

__all__ = [
    "MAX_CALL_ARGS",
    "MAX_CONSTANT_NESTING",
    "MAX_DEPTH_LIMIT",
    "MAX_EXPANSION_TERMS",
    "MAX_EXPONENT",
    "MAX_EXP_ARGUMENT",
    "MAX_HYPERBOLIC_NESTING",
    "MAX_LITERAL_DIGITS",
    "MAX_NUMBER_BITS",
    "WHITELIST",
    "WhitelistEntry",
    "parse_loss",
    "parse_params",
    "parse_substitutions",
]


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
        raise error_at(f"input is {len(text)} characters long, more than max_length={max_length}", max_length, text)
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
        raise error_at("empty input", 0, text)
    parser = Parser(text, depth)
    result = run_parser(parser, lambda: finish_expr(parser, parser.expression()))
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
        tokens = tokenize(text)
        token = next(tokens)
        if token.kind == "end":
            raise error_at("no parameter names (empty input)", 0, text)
        while True:
            if token.kind != "name":
                raise error_at(f"expected a parameter name, got {describe(token)}", token.pos, text)
            found.append((token.text, token.pos, text))
            token = next(tokens)
            if token.kind == "op" and token.text == ",":
                token = next(tokens)
            elif token.kind == "end":
                break
    else:
        items = _check_sequence(text_or_list, "the parameters")
        if not items:
            raise error_at("no parameter names (empty list)", 0, "")
        for item in items:
            text = _check_text(item, max_length, "each parameter")
            tokens = tokenize(text)
            token = next(tokens)
            if token.kind != "name":
                raise error_at(f"expected a parameter name, got {describe(token)}", token.pos, text)
            following = next(tokens)
            if following.kind != "end":
                raise error_at(f"unexpected {describe(following)} after parameter name", following.pos, text)
            found.append((token.text, token.pos, text))
    seen: set[str] = set()
    for name, pos, text in found:
        check_new_symbol_name(name, pos, text, "parameter")
        if name in seen:
            raise error_at(f"duplicate parameter {name!r}", pos, text)
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

    def add(parser: Parser) -> None:
        key, value, pos = parser.assignment()
        if key in result:
            raise parser.error(f"duplicate substitution for {str(key)!r}", pos)
        result[key] = finish_value(parser, value)

    if isinstance(items, str):
        text = _check_text(items, max_length, "the substitutions")
        parser = Parser(text, depth)

        def run_all() -> None:
            while parser.tok.kind != "end":
                add(parser)
                if parser.at_op(","):
                    parser.advance()
                    if parser.tok.kind == "end":
                        raise parser.unexpected()

        run_parser(parser, run_all)
        nonsmooth |= parser.nonsmooth
    else:
        for item in _check_sequence(items, "the substitutions"):
            text = _check_text(item, max_length, "each substitution")
            parser = Parser(text, depth)

            def run_one(parser: Parser = parser) -> None:
                add(parser)
                if parser.tok.kind != "end":
                    raise parser.unexpected()

            run_parser(parser, run_one)
            nonsmooth |= parser.nonsmooth
    _warn_nonsmooth(nonsmooth)
    return result


def _check_sequence(value: object, what: str) -> Sequence[object]:
    if isinstance(value, (bytes, bytearray)) or not isinstance(value, Sequence):
        raise BeaTypeError(f"{what} must be a str or a sequence of str, got {type(value).__name__}")
    return value
