"""Grammar of :mod:`bea.parsing`: the recursive-descent ``Parser`` that builds SymPy objects.

Private: every node is built through ``Parser.build``, which checks the result
against the limits of :mod:`bea.parsing.limits`. Use the public functions of
:mod:`bea.parsing`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import sympy

from bea.errors import BeaError, ParseError
from bea.parsing.lexer import (
    WHITELIST,
    WhitelistEntry,
    _arity_text,
    _check_name,
    _Token,
    check_new_symbol_name,
    describe,
    error_at,
    tokenize,
)
from bea.parsing.limits import (
    _TRIG_AND_HYPERBOLIC,
    _UNDEFINED,
    MAX_CALL_ARGS,
    MAX_CONSTANT_NESTING,
    MAX_EXPANSION_TERMS,
    MAX_HYPERBOLIC_NESTING,
    MAX_NUMBER_BITS,
    _approximate,
    _expansion_terms,
    _log_power_problem,
    _OutOfRange,
    _power_problem,
    _short,
    nesting,
    too_big,
)

__all__: list[str] = []


# --------------------------------------------------------------------------- parser


class Parser:
    """Recursive descent over the lazily tokenized ``text``; builds SymPy objects as it goes."""

    def __init__(self, text: str, max_depth: int) -> None:
        self.text = text
        self.max_depth = max_depth
        self.depth = 0
        self.nonsmooth: set[str] = set()
        self.approximations: dict[Any, complex | None] = {}
        self.nestings: dict[Any, tuple[int, int]] = {}
        self._tokens = tokenize(text)
        self.tok = next(self._tokens)

    # -- helpers

    def error(self, message: str, pos: int) -> ParseError:
        return error_at(message, pos, self.text)

    def unexpected(self) -> ParseError:
        return self.error(f"unexpected {describe(self.tok)}", self.tok.pos)

    def advance(self) -> _Token:
        token = self.tok
        if token.kind != "end":
            self.tok = next(self._tokens)
        return token

    def at_op(self, *ops: str) -> bool:
        return self.tok.kind == "op" and self.tok.text in ops

    def expect_op(self, op: str, context: str) -> None:
        if not self.at_op(op):
            raise self.error(f"expected {op!r} {context}, got {describe(self.tok)}", self.tok.pos)
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
            if node.is_Rational and too_big(node):
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
            self.check_nesting(entry.name, arg, token.pos)
        if not entry.smooth:
            self.nonsmooth.add(entry.name)
        return self.build(token.pos, f"{entry.name}()", entry.build, *args)

    def check_nesting(self, name: str, arg: Any, pos: int) -> None:
        """Refuse, before SymPy builds ``name(arg)``, nests whose cost grows exponentially per level."""
        hyperbolic, functions = nesting(arg, self.nestings)
        if name in ("sinh", "cosh", "tanh") and hyperbolic >= MAX_HYPERBOLIC_NESTING:
            raise self.error(
                f"{name}() would nest sinh/cosh/tanh {hyperbolic + 1} deep, more than {MAX_HYPERBOLIC_NESTING} "
                "(SymPy's cost grows about five-fold per level)",
                pos,
            )
        if not arg.free_symbols and functions >= MAX_CONSTANT_NESTING:
            raise self.error(
                f"{name}() of a constant with functions nested {functions + 1} deep, more than "
                f"{MAX_CONSTANT_NESTING} (SymPy's cost of evaluating it doubles per level)",
                pos,
            )

    def assignment(self) -> tuple[Any, Any, int]:
        """``NAME "=" expression`` with a constant value; returns (symbol, value, key position)."""
        token = self.tok
        if token.kind != "name":
            raise self.error(f"expected a name, got {describe(token)}", token.pos)
        self.advance()
        check_new_symbol_name(token.text, token.pos, self.text, "substitution key")
        self.expect_op("=", f"after {token.text!r}")
        value_pos = self.tok.pos
        value = self.expression()
        if value.free_symbols:
            names = ", ".join(sorted(str(s) for s in value.free_symbols))
            raise self.error(f"value of {token.text!r} must be a constant, but uses {names}", value_pos)
        approximation = self.approximations.get(value)
        if value.is_extended_real is False or (
            value.is_extended_real is None and approximation is not None and approximation.imag != 0
        ):
            raise self.error(f"value of {token.text!r} is {value}, which is not a real number", value_pos)
        return sympy.Symbol(token.text), value, token.pos


def finish_expr(parser: Parser, result: Any) -> Any:
    if parser.tok.kind != "end":
        raise parser.unexpected()
    if not isinstance(result, sympy.Expr) or result.has(*_UNDEFINED):
        raise parser.error("expression is undefined or infinite", 0)
    return result


def run_parser(parser: Parser, fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except RecursionError:
        raise parser.error("expression is too deeply nested", parser.tok.pos) from None


def finish_value(parser: Parser, value: Any) -> Any:
    if not isinstance(value, sympy.Expr) or value.has(*_UNDEFINED):
        raise parser.error("value is undefined or infinite", parser.tok.pos)
    return value
