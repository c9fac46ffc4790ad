"""Tests of bea.parsing: the safe parser of untrusted loss, parameter and substitution text."""

from __future__ import annotations

import ast
import builtins
import os
import pickle
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sympy
import sympy.parsing.sympy_parser
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bea.errors import BeaTypeError, BeaValueError, NonSmoothWarning, ParseError
from bea.parsing import (
    MAX_CALL_ARGS,
    MAX_DEPTH_LIMIT,
    WHITELIST,
    parse_loss,
    parse_params,
    parse_substitutions,
)

x, y, a, b, c, w = sympy.symbols("x y a b c w")
R = sympy.Rational


# --------------------------------------------------------------------------- accepted input


def test_readme_loss_equals_the_directly_built_expression() -> None:
    assert parse_loss("(y - a*b*x)^2/2") == (y - a * b * x) ** 2 / 2
    assert parse_loss("(y - a*b*x)**2/2") == (y - a * b * x) ** 2 / 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("-x**2", -(x**2)),
        ("-x^2", -(x**2)),
        ("-2**2", sympy.Integer(-4)),
        ("(-2)**2", sympy.Integer(4)),
        ("2**3**2", sympy.Integer(512)),
        ("2^3^2", sympy.Integer(512)),
        ("(2**3)**2", sympy.Integer(64)),
        ("a**b**c", a ** (b**c)),
        ("2**-1", R(1, 2)),
        ("x**-a**2", x ** (-(a**2))),
        ("-a**-b", -(a ** (-b))),
        ("a-b-c", a - b - c),
        ("a-(b-c)", a - b + c),
        ("a/b/c", a / (b * c)),
        ("a/b*c", a * c / b),
        ("a/(b*c)", a / (b * c)),
        ("a+b*c", a + b * c),
        ("(a+b)*c", (a + b) * c),
        ("a*-b", -a * b),
        ("--a", a),
        ("+a", a),
        ("-+-a", a),
        ("2*x^2 + 3*x - 1", 2 * x**2 + 3 * x - 1),
        ("x**2**-1", sympy.sqrt(x)),
        ("  x\t+\n y ", x + y),
        ("((((x))))", x),
        ("E**x", sympy.exp(x)),
        ("pi*x", sympy.pi * x),
        ("I + e", sympy.Symbol("I") + sympy.Symbol("e")),
    ],
)
def test_precedence_and_associativity(text: str, expected: sympy.Expr) -> None:
    assert parse_loss(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0.6", R(3, 5)),
        ("0.60", R(3, 5)),
        (".5", R(1, 2)),
        ("5.", sympy.Integer(5)),
        ("1e-3", R(1, 1000)),
        ("1E-3", R(1, 1000)),
        ("2.5e+2", sympy.Integer(250)),
        ("1.e3", sympy.Integer(1000)),
        ("0.1 + 0.2", R(3, 10)),
        ("007", sympy.Integer(7)),
        ("0.000", sympy.Integer(0)),
        ("123456789012345678901234567890", sympy.Integer(123456789012345678901234567890)),
        ("3.14159", R(314159, 100000)),
        ("1e300", sympy.Integer(10) ** 300),
    ],
)
def test_decimals_are_exact(text: str, expected: sympy.Expr) -> None:
    result = parse_loss(text)
    assert result == expected
    assert not result.atoms(sympy.Float)


@pytest.mark.parametrize(
    ("name", "function"),
    [
        ("exp", sympy.exp),
        ("log", sympy.log),
        ("sin", sympy.sin),
        ("cos", sympy.cos),
        ("tan", sympy.tan),
        ("sinh", sympy.sinh),
        ("cosh", sympy.cosh),
        ("tanh", sympy.tanh),
        ("sqrt", sympy.sqrt),
    ],
)
def test_smooth_functions(name: str, function: Callable[[Any], Any]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert parse_loss(f"{name}(x*y + 1)") == function(x * y + 1)
        assert parse_loss(f"2*{name}(w)^2") == 2 * function(w) ** 2


def test_softplus_and_sigmoid_expand_to_their_definitions() -> None:
    assert parse_loss("softplus(x)") == sympy.log(1 + sympy.exp(x))
    assert parse_loss("sigmoid(x)") == 1 / (1 + sympy.exp(-x))
    assert parse_loss("softplus(-a*w)") == sympy.log(1 + sympy.exp(-a * w))
    assert parse_loss("sigmoid(w)").diff(w) == (1 / (1 + sympy.exp(-w))).diff(w)


def test_constants_and_nested_calls() -> None:
    assert parse_loss("pi") == sympy.pi
    assert parse_loss("E") == sympy.E
    assert parse_loss("sqrt(8)") == 2 * sympy.sqrt(2)
    assert parse_loss("exp(log(x))") == x
    assert parse_loss("log(cosh(sin(x) + cos(y)))") == sympy.log(sympy.cosh(sympy.sin(x) + sympy.cos(y)))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("abs(x)", sympy.Abs(x)),
        ("max(x, 0)", sympy.Max(x, 0)),
        ("min(x, y, 1)", sympy.Min(x, y, 1)),
        ("max(0, 1 - y*w)", sympy.Max(0, 1 - y * w)),
        ("max(1, 2)", sympy.Integer(2)),
    ],
)
def test_nonsmooth_functions_warn(text: str, expected: sympy.Expr) -> None:
    with pytest.warns(NonSmoothWarning, match="smooth"):
        assert parse_loss(text) == expected


def test_smooth_losses_do_not_warn() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        parse_loss("softplus(x) + sigmoid(y)^2 + exp(-a*b)")


def test_names_are_plain_symbols() -> None:
    loss = parse_loss("w1*x_2 + Alpha")
    assert loss == sympy.Symbol("w1") * sympy.Symbol("x_2") + sympy.Symbol("Alpha")
    assert loss.free_symbols == set(sympy.symbols("w1 x_2 Alpha"))
    assert sympy.Symbol("w1").assumptions0 == next(iter(parse_loss("w1").free_symbols)).assumptions0


def test_whitelist_is_read_only_and_documented() -> None:
    assert set(WHITELIST) == {
        "exp", "log", "sin", "cos", "tan", "sinh", "cosh", "tanh", "sqrt",
        "softplus", "sigmoid", "abs", "max", "min", "pi", "E",
    }  # fmt: skip
    assert "relu" not in WHITELIST
    with pytest.raises(TypeError):
        WHITELIST["eval"] = WHITELIST["exp"]  # type: ignore[index]
    assert {n for n, e in WHITELIST.items() if not e.smooth} == {"abs", "max", "min"}
    assert {n for n, e in WHITELIST.items() if e.is_constant} == {"pi", "E"}
    assert WHITELIST["softplus"](x) == sympy.log(1 + sympy.exp(x))
    assert WHITELIST["max"].max_args == MAX_CALL_ARGS
    with pytest.raises(BeaValueError, match="exactly 1 argument"):
        WHITELIST["exp"](x, y)


# ------------------------------------------------------------- grammar agrees with Python's


def _from_python_ast(node: ast.AST) -> Any:
    """Build SymPy from a Python expression AST (test oracle; nothing is evaluated)."""
    if isinstance(node, ast.Expression):
        return _from_python_ast(node.body)
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return sympy.Integer(node.value)
    if isinstance(node, ast.Name):
        return sympy.Symbol(node.id)
    if isinstance(node, ast.UnaryOp):
        operand = _from_python_ast(node.operand)
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.BinOp):
        left, right = _from_python_ast(node.left), _from_python_ast(node.right)
        ops: dict[type, Callable[[Any, Any], Any]] = {
            ast.Add: lambda p, q: p + q,
            ast.Sub: lambda p, q: p - q,
            ast.Mult: lambda p, q: p * q,
            ast.Div: lambda p, q: p / q,
            ast.Pow: lambda p, q: p**q,
        }
        return ops[type(node.op)](left, right)
    raise AssertionError(f"unexpected node {ast.dump(node)}")


_leaf = st.sampled_from(["x", "y", "a", "1", "2", "3", "0"])


def _grammar_strings() -> st.SearchStrategy[str]:
    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        binary = st.tuples(inner, st.sampled_from([" + ", "-", "*", " / ", "**"]), inner).map("".join)
        unary = st.tuples(st.sampled_from(["-", "+"]), inner).map("".join)
        paren = inner.map(lambda s: f"({s})")
        return binary | unary | paren

    return st.recursive(_leaf, extend, max_leaves=8)


@settings(max_examples=300, deadline=None, database=None)
@given(_grammar_strings())
def test_precedence_agrees_with_python(text: str) -> None:
    try:
        ours = parse_loss(text)
    except ParseError:
        return  # e.g. division by zero or an oversized power
    expected = _from_python_ast(ast.parse(text, mode="eval"))
    assert ours == expected


# --------------------------------------------------------------------------- rejections


@pytest.mark.parametrize(
    ("text", "fragment", "position"),
    [
        ("a.b", "unexpected '.'", 1),
        ("(x).real", "unexpected '.'", 3),
        ("x.__class__", "unexpected '.'", 1),
        ("().__class__", "unexpected ')'", 1),
        ("__import__('os')", "'__import__' is not allowed", 0),
        ("x + __builtins__", "'__builtins__' is not allowed", 4),
        ("_x", "'_x' is not allowed", 0),
        ("a__b", "'a__b' is not allowed", 0),
        ("lambda: 0", "keyword 'lambda'", 0),
        ("x if y else a", "unexpected 'if'", 2),
        ("import os", "keyword 'import'", 0),
        ("x[0]", "unexpected '['", 1),
        ("foo(x)", "unknown function 'foo'", 0),
        ("eval(x)", "unknown function 'eval'", 0),
        ("exec(x)", "unknown function 'exec'", 0),
        ("open(x)", "unknown function 'open'", 0),
        ("x(y)", "unknown function 'x'", 0),
        ("'x'", 'unexpected "\'"', 0),
        ('"x"', "unexpected '\"'", 0),
        ("x; y", "unexpected ';'", 1),
        ("x, y", "unexpected ','", 1),
        ("x = 1", "unexpected '='", 2),
        ("x == 1", "unexpected '='", 2),
        ("", "empty input", 0),
        ("  \n ", "empty input", 0),
        ("nan", "'nan' is not allowed", 0),
        ("x + NaN", "'NaN' is not allowed", 4),
        ("inf", "'inf' is not allowed", 0),
        ("-Infinity", "'Infinity' is not allowed", 1),
        ("oo", "'oo' is not allowed", 0),
        ("zoo", "'zoo' is not allowed", 0),
        ("1/0", "division by zero", 1),
        ("x/(y - y)", "division by zero", 1),
        ("1/0.0", "division by zero", 1),
        ("0**-1", "undefined or infinite", 1),
        ("log(0)", "undefined or infinite", 0),
        ("tan(pi/2)", "undefined or infinite", 0),
        ("10**10**10", "exponent 10000000000 exceeds 1000", 2),
        ("2**1001", "exponent 1001 exceeds 1000", 1),
        ("x**(1/1001)", "exponent 1/1001 exceeds 1000", 1),
        ("(2**1000)**2", "power is too large", 9),
        ("9**1000", "power is too large", 1),
        ("(3*x)**1000", "power is too large", 5),
        ("(x**600)**2", "exponent 1200", 8),
        ("x**600*x**600", "exponent 1200", 0),
        ("1" * 101, "more than 100 significant digits", 0),
        ("1e1001", "exponent of number '1e1001' exceeds 1000", 0),
        ("1e400", "too large", 0),
        ("1e-400", "too large", 0),
        ("2x", "invalid number '2x'", 0),
        ("1.5.3", "invalid number '1.5.3'", 0),
        ("0x10", "invalid number '0x10'", 0),
        ("1_000", "invalid number '1_000'", 0),
        ("x + 1e", "invalid number '1e'", 4),
        ("exp", "function 'exp' must be called", 0),
        ("exp(x, y)", "exp() takes exactly 1 argument, got 2", 0),
        ("sqrt()", "sqrt() takes exactly 1 argument, got 0", 0),
        ("max(x)", "max() takes 2 to 8 arguments, got 1", 0),
        ("max(" + ",".join("abcdefghi") + ")", "got 9", 0),
        ("max(max(a,b,c,d,e), max(f,g,h,w))", "would have 9 arguments", 0),
        ("pi(2)", "constant 'pi' cannot be called", 2),
        ("x +", "unexpected end of input", 3),
        ("(x", "expected ')' to close '(' at position 0, got end of input", 2),
        ("x)", "unexpected ')'", 1),
        ("exp(x", "to close the call of 'exp'", 5),
        ("x y", "unexpected 'y'", 2),
        ("x ** * y", "unexpected '*'", 5),
        ("x // y", "unexpected '/'", 3),
        ("x % y", "unexpected '%'", 2),
        ("x @ y", "unexpected '@'", 2),
        ("x & y", "unexpected '&'", 2),
        ("x\x00", "unexpected '\\x00'", 1),
        ("\u00e9", "unexpected '\u00e9'", 0),
        ("\u0663", "unexpected '\u0663'", 0),  # an Arabic-Indic digit
        ("x\u2028", "unexpected '\\u2028'", 1),
        ("{x}", "unexpected '{'", 0),
        ("`x`", "unexpected '`'", 0),
        ("x # comment", "unexpected '#'", 2),
        ("sqrt(2**1000+1)*sqrt(2**1000+3)", "beyond 2**1023", 0),
        ("7^(2**1000 + a)", "contains 1071508607186267320948425049060001810...,", 1),
        ("x**(a/1001)", "contains 1/1001", 1),
        ("9**(a + 999)", "power is too large", 1),
        ("2**(a+600)*2**(a+600)", "2*a + 1200 contains 1200", 0),
        ("exp(exp(10))", "exp() of a constant beyond ±1000", 0),
        ("exp(710)", "a constant beyond the range of floats", 0),
        ("x*sinh(9**300)", "sinh() of a constant beyond ±1000", 2),
        ("tan(min(max(10, 1e300*E), exp(sinh(9**300))))", "sinh() of a constant beyond ±1000", 30),
        ("exp(-1001)", "exp() of a constant beyond ±1000", 0),
        ("x + tanh(1e4)", "tanh() of a constant beyond ±1000", 4),
        ("sigmoid(-2000)", "exp() of a constant beyond ±1000", 0),
        ("min(tanh(9**300), sigmoid(9**300))", "tanh() of a constant beyond ±1000", 4),
        ("tan(exp(exp(exp(10))))", "exp() of a constant beyond ±1000", 8),
        ("exp(2**1000*log(3))", "beyond 1000 in magnitude, next to a log", 0),
        ("softplus(-2**1000*log(999)/3)", "next to a log", 0),
        ("exp(900*log(3))", "too large a power", 0),
        ("E**(1000*log(2**1000))", "beyond 1000 in magnitude", 1),
        ("1/exp(-1000)", "a constant beyond the range of floats", 1),
        ("pi*E*2**1000*2**22", "a constant beyond the range of floats", 0),
        ("2**600*(x + 2**600*y)", "involves a number beyond 2**1023", 0),
        ("log(sinh((x + y)**30 + 1))", "too large to expand into real and imaginary parts", 4),
        ("tanh(tanh((a + b)**4 + 1))", "size over 512", 0),
        ("max(1, tanh(x**-999))", "size over 512", 7),
        ("sin(I*(x + y)**10)", "size over 512", 0),
        ("(x + y/2**600)/2**600", "involves a number beyond 2**1023", 0),
        ("x + (2**1000*2**22)*pi*E", "a constant beyond the range of floats", 4),
        ("max(2**1000, min(a, 7), 7^(2**1000 + a))", "contains", 25),
    ],
)
def test_rejections(text: str, fragment: str, position: int) -> None:
    with pytest.raises(ParseError) as info:
        parse_loss(text)
    error = info.value
    assert fragment in str(error)
    assert isinstance(error.position, int)
    assert error.position == position
    assert 0 <= error.position <= len(text)
    assert f"at position {position}" in str(error)
    assert error.text == text
    assert isinstance(error, ValueError)


def test_constants_within_float_range_are_accepted() -> None:
    assert parse_loss("exp(709) + x") == sympy.exp(709) + x
    assert parse_loss("exp(exp(6))") == sympy.exp(sympy.exp(6))
    assert parse_loss("sin(1e300)") == sympy.sin(sympy.Integer(10) ** 300)
    assert parse_loss("2**1000") == sympy.Integer(2) ** 1000
    assert parse_loss("sqrt(-1)*2 + log(-1)") == 2 * sympy.I + sympy.I * sympy.pi
    assert parse_loss("tan(pi/2 + x)") == -sympy.cot(x)
    assert parse_loss("7**(a + 300)") == sympy.Integer(7) ** (a + 300)
    assert parse_loss("exp(-1000) + tanh(1000)") == sympy.exp(-1000) + sympy.tanh(1000)
    assert parse_loss("exp(600*log(3))") == sympy.Integer(3) ** 600
    assert parse_loss("exp(x*log(3) + 2000*y)") == sympy.exp(x * sympy.log(3) + 2000 * y)


def test_trig_and_hyperbolic_arguments_of_moderate_size_are_accepted() -> None:
    net = "x"
    for layer in range(4):  # a four-layer scalar tanh network
        net = f"tanh(w{layer}*{net} + b{layer})"
    assert parse_loss(net).count(sympy.tanh) == 4
    assert parse_loss("log(sinh((a*x - y)**3))") == sympy.log(sympy.sinh((a * x - y) ** 3))
    assert parse_loss("cosh(x**9) + sin(a*b*x*y*w)") == sympy.cosh(x**9) + sympy.sin(a * b * x * y * w)


def test_length_limit() -> None:
    text = "x+" * 1000 + "x"
    with pytest.raises(ParseError, match="more than max_length=2000") as info:
        parse_loss(text)
    assert info.value.position == 2000
    assert parse_loss(text, max_length=len(text)) == 1001 * x
    assert parse_loss("x+" * 999 + "x") == 1000 * x


@pytest.mark.parametrize(
    "template",
    [
        "({})",  # parentheses
        "-{}",  # unary minus
        "+{}",  # unary plus
        "exp({})",  # function calls
        "2**{}",  # power chains (the exponent nests)
    ],
)
def test_depth_limit(template: str) -> None:
    def nest(depth: int) -> str:
        text = "x"
        for _ in range(depth):
            text = template.format(text)
        return text

    parse_loss(nest(64))
    with pytest.raises(ParseError, match="nested deeper than max_depth=64") as info:
        parse_loss(nest(65))
    assert 0 <= info.value.position < len(nest(65))
    parse_loss(nest(MAX_DEPTH_LIMIT), max_depth=MAX_DEPTH_LIMIT)
    with pytest.raises(ParseError, match="max_depth=3"):
        parse_loss(nest(4), max_depth=3)
    with pytest.raises(ParseError):
        parse_loss(nest(5000), max_length=100_000, max_depth=MAX_DEPTH_LIMIT)


def test_power_chain_depth() -> None:
    assert parse_loss("x**" * 3 + "x") == x ** (x ** (x**x))
    with pytest.raises(ParseError, match="max_depth"):
        parse_loss("x**" * 65 + "x")


def test_recursion_error_never_escapes() -> None:
    """Even called with little stack left, the parser raises ParseError, not RecursionError."""
    text = "(" * MAX_DEPTH_LIMIT + "x" + ")" * MAX_DEPTH_LIMIT
    depth, frame = 0, sys._getframe()
    while frame is not None:
        depth, frame = depth + 1, frame.f_back  # type: ignore[assignment]
    limit = sys.getrecursionlimit()
    try:
        sys.setrecursionlimit(depth + 150)  # the parser needs about 5 frames per level
        with pytest.raises(ParseError, match="deeply nested"):
            parse_loss(text, max_depth=MAX_DEPTH_LIMIT)
    finally:
        sys.setrecursionlimit(limit)
    assert parse_loss(text, max_depth=MAX_DEPTH_LIMIT) == x


@pytest.mark.parametrize("value", [None, 1, 1.5, b"x", bytearray(b"x"), ["x"], sympy.Symbol("x")])
def test_non_string_input_is_a_type_error(value: object) -> None:
    with pytest.raises(BeaTypeError):
        parse_loss(value)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        parse_loss(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"max_length": 0}, BeaValueError),
        ({"max_length": True}, BeaTypeError),
        ({"max_length": 2.0}, BeaTypeError),
        ({"max_depth": 0}, BeaValueError),
        ({"max_depth": MAX_DEPTH_LIMIT + 1}, BeaValueError),
        ({"max_depth": "64"}, BeaTypeError),
    ],
)
def test_bad_limits(kwargs: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_loss("x", **kwargs)


def test_parse_error_pickles() -> None:
    with pytest.raises(ParseError) as info:
        parse_loss("a.b")
    copy = pickle.loads(pickle.dumps(info.value))
    assert isinstance(copy, ParseError)
    assert (str(copy), copy.position, copy.text) == (str(info.value), 1, "a.b")


# --------------------------------------------------------------------------- parse_params


@pytest.mark.parametrize(
    "value",
    ["a b", "a, b", "a,b", " a ,  b ", "a\tb\n", ["a", "b"], ("a", "b"), [" a ", "b"]],
)
def test_parse_params(value: str | list[str]) -> None:
    assert parse_params(value) == (a, b)


def test_parse_params_keeps_order_and_makes_plain_symbols() -> None:
    params = parse_params("w2 w1 theta_0")
    assert params == sympy.symbols("w2 w1 theta_0")
    assert all(type(p) is sympy.Symbol for p in params)
    assert set(params) <= parse_loss("w2*w1 + theta_0").free_symbols


@pytest.mark.parametrize(
    ("value", "fragment", "position"),
    [
        ("a b a", "duplicate parameter 'a'", 4),
        ("a, b, a", "duplicate parameter 'a'", 6),
        (["a", "b", "a"], "duplicate parameter 'a'", 0),
        ("", "empty input", 0),
        ([], "empty list", 0),
        ("a,,b", "expected a parameter name, got ','", 2),
        ("a,", "got end of input", 2),
        (",a", "got ','", 0),
        ("a 1", "got '1'", 2),
        ("a.b", "unexpected '.'", 1),
        ("__class__", "not allowed", 0),
        ("_a", "not allowed", 0),
        ("lambda", "keyword", 0),
        ("exp", "'exp' is a built-in function", 0),
        ("pi", "'pi' is a built-in constant", 0),
        ("a max", "'max' is a built-in function", 2),
        ("nan", "must be finite", 0),
        ("a=1", "expected a parameter name, got '='", 1),
        (["a b"], "unexpected 'b' after parameter name", 2),
        ([""], "got end of input", 0),
        (["a("], "unexpected '('", 1),
    ],
)
def test_parse_params_rejections(value: str | list[str], fragment: str, position: int) -> None:
    with pytest.raises(ParseError) as info:
        parse_params(value)
    assert fragment in str(info.value)
    assert info.value.position == position


@pytest.mark.parametrize("value", [None, 3, b"a b", [b"a"], ["a", 1], {"a"}])
def test_parse_params_type_errors(value: object) -> None:
    with pytest.raises(BeaTypeError):
        parse_params(value)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- parse_substitutions


@pytest.mark.parametrize(
    "value",
    ["x=1 y=0.6", "x=1, y=0.6", "x = 1 , y = 3/5", ["x=1", "y=0.6"], ("x = 1", " y=6/10 ")],
)
def test_parse_substitutions(value: str | list[str]) -> None:
    result = parse_substitutions(value)
    assert result == {x: sympy.Integer(1), y: R(3, 5)}
    assert list(result) == [x, y]


def test_substitution_values_use_the_expression_grammar() -> None:
    result = parse_substitutions("y=1/2 w=-0.6 a=sqrt(2) b=2*pi c=exp(-1) x=-(1e-3)")
    assert result == {
        y: R(1, 2),
        w: R(-3, 5),
        a: sympy.sqrt(2),
        b: 2 * sympy.pi,
        c: sympy.exp(-1),
        x: R(-1, 1000),
    }
    assert parse_substitutions("x=2^10") == {x: 1024}
    assert parse_substitutions("") == {}
    assert parse_substitutions("   ") == {}
    assert parse_substitutions([]) == {}
    with pytest.warns(NonSmoothWarning):
        assert parse_substitutions("x=max(1, 2), y=abs(-3)") == {x: 2, y: 3}


@pytest.mark.parametrize(
    ("value", "fragment", "position"),
    [
        ("x=1 x=2", "duplicate substitution for 'x'", 4),
        (["x=1", "x=2"], "duplicate substitution for 'x'", 0),
        ("x=y", "must be a constant, but uses y", 2),
        ("x=1 y=a*b+1", "uses a, b", 6),
        ("x", "expected '=' after 'x', got end of input", 1),
        ("x=", "unexpected end of input", 2),
        ("=1", "expected a name, got '='", 0),
        ("1=x", "expected a name, got '1'", 0),
        ("x==1", "unexpected '='", 2),
        ("x=1,", "unexpected end of input", 4),
        ("x=1,,y=2", "expected a name, got ','", 4),
        ("x=1 + y=2", "must be a constant", 2),
        ("x=1/0", "division by zero", 3),
        ("x=log(0)", "undefined or infinite", 2),
        ("x=nan", "must be finite", 2),
        ("exp=1", "'exp' is a built-in function", 0),
        ("pi=3", "'pi' is a built-in constant", 0),
        ("__class__=1", "not allowed", 0),
        ("x=__import__('os')", "not allowed", 2),
        ("x=os.system('ls')", "unexpected '.'", 4),
        (["x=1 y=2"], "unexpected 'y'", 4),
        ([""], "expected a name, got end of input", 0),
        ("x=" + "(" * 70 + "1" + ")" * 70, "max_depth=64", 66),
    ],
)
def test_parse_substitutions_rejections(value: str | list[str], fragment: str, position: int) -> None:
    with pytest.raises(ParseError) as info:
        parse_substitutions(value)
    assert fragment in str(info.value)
    assert info.value.position == position


@pytest.mark.parametrize("value", [None, 3, b"x=1", [b"x=1"], ["x=1", 2], {"x": 1}])
def test_parse_substitutions_type_errors(value: object) -> None:
    with pytest.raises(BeaTypeError):
        parse_substitutions(value)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- nothing is executed

_ALLOWED_IMPORTERS = ("sympy", "mpmath", "importlib", "gmpy2")


@contextmanager
def _nothing_may_run() -> Iterator[list[str]]:
    """Replace every way of running text as code by a recorder that fails.

    ``__import__`` is allowed only when SymPy (or the import machinery) imports
    its own lazily-loaded modules; any other import is recorded and refused.
    """
    record: list[str] = []

    def refuse(name: str) -> Callable[..., Any]:
        def fail(*args: Any, **kwargs: Any) -> Any:
            record.append(f"{name}{args!r:.80}")
            raise AssertionError(f"{name} was called during parsing")

        return fail

    real_import = builtins.__import__
    real_sympify = sympy.sympify

    def sympify_non_text(*args: Any, **kwargs: Any) -> Any:
        # SymPy's own arithmetic calls sympify on numbers; text would go to parse_expr
        if any(isinstance(arg, (str, bytes)) for arg in (*args, *kwargs.values())):
            record.append(f"sympy.core.sympify.sympify{args!r:.80}")
            raise AssertionError("sympify was called on text during parsing")
        return real_sympify(*args, **kwargs)

    def guarded_import(name: str, globals: Any = None, locals: Any = None, fromlist: Any = (), level: int = 0) -> Any:
        importer = (globals or {}).get("__name__") or ""
        if not importer.startswith(_ALLOWED_IMPORTERS):
            record.append(f"__import__({name!r}) from {importer!r}")
            raise AssertionError(f"import of {name!r} during parsing")
        return real_import(name, globals, locals, fromlist, level)

    patches: list[tuple[Any, str, Any]] = [
        (builtins, "eval", refuse("eval")),
        (builtins, "exec", refuse("exec")),
        (builtins, "compile", refuse("compile")),
        (builtins, "__import__", guarded_import),
        (sympy, "sympify", refuse("sympy.sympify")),
        (sys.modules["sympy.core.sympify"], "sympify", sympify_non_text),
        (sympy, "parse_expr", refuse("sympy.parse_expr")),
        (sympy.parsing.sympy_parser, "parse_expr", refuse("parse_expr")),
        (sympy.parsing.sympy_parser, "eval_expr", refuse("eval_expr")),
        (os, "system", refuse("os.system")),
        (os, "popen", refuse("os.popen")),
        (subprocess, "Popen", refuse("subprocess.Popen")),
    ]
    saved = [(owner, attr, getattr(owner, attr)) for owner, attr, _ in patches]
    try:
        for owner, attr, replacement in patches:
            setattr(owner, attr, replacement)
        yield record
    finally:
        for owner, attr, original in saved:
            setattr(owner, attr, original)


def test_the_guard_catches_evaluation() -> None:
    with _nothing_may_run() as record:
        with pytest.raises(AssertionError):
            eval("1 + 1")
        with pytest.raises(AssertionError):
            sympy.sympify("x")
        with pytest.raises(AssertionError):
            sys.modules["sympy.core.sympify"]._sympify("x")  # the route of SymPy's own arithmetic
        with pytest.raises(AssertionError):
            sympy.parsing.sympy_parser.parse_expr("x")
        with pytest.raises(AssertionError):
            __import__("os")
    assert len(record) == 5
    assert eval("1 + 1") == 2  # restored


def test_source_never_calls_an_evaluator() -> None:
    import bea.parsing

    here = Path(bea.parsing.__file__).parent
    sources = sorted(here.glob("*.py"))
    assert len(sources) >= 4, sources  # the parser's private modules are scanned too
    forbidden = {"eval", "exec", "compile", "__import__", "sympify", "parse_expr", "S", "getattr", "import_module"}
    nodes = [node for source in sources for node in ast.walk(ast.parse(source.read_text(encoding="utf-8")))]
    for node in nodes:
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "re":
                continue  # re.compile of the tokenizer's patterns
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            assert name not in forbidden, f"bea.parsing calls {name} at line {node.lineno}"
        if isinstance(node, ast.Attribute):
            assert node.attr not in {"sympify", "parse_expr", "__dict__", "__globals__", "__builtins__"}


_HOSTILE_FRAGMENTS = [
    "__import__", "__import__('os')", "os.system", "os.system('touch /tmp/pwned')", "lambda", "lambda: 0",
    "().__class__", "().__class__.__bases__[0].__subclasses__()", "__class__", "__globals__", "__builtins__",
    "[", "]", ".", "'", '"', ";", "exec", "eval", "open(", "compile", "getattr", "import", "from", "sys",
    "x", "y", "a", "b", "w", "I", "e", "E", "pi", "nan", "inf", "oo", "zoo", "None", "True", "if", "for",
    "0", "1", "2", "9", "10", "0.6", "1e-3", "1e999", "1e", ".", "..", "9" * 120, "0x10", "1_0",
    "+", "-", "*", "/", "**", "^", "//", "%", "@", "(", ")", ",", "=", "==", ":", "\\", "{", "}", "`", "$",
    " ", "\n", "\t", "\x00", "\u2028", "\u00e9", "\u0663", "\U0001d465", "\ud800",
    "exp(", "log(", "sin(", "sqrt(", "tan(", "abs(", "max(", "min(", "sigmoid(", "softplus(", "tanh(",
    "foo(", "print(", "Symbol(", "sympify(", "S(", "x.y", "0**-1", "**-", "10**10**10", "2**1000", "9**999",
    "/0", "log(0)", "tan(pi/2)", "(" * 30, ")" * 30, "-" * 40, "x**" * 40, "exp(" * 40,
]  # fmt: skip

_DANGEROUS_CHARS = "()[]{}+-*/^.,;:=_'\"\\ xyabe0123456789E"


def _nest(n: int, open_: str, close: str) -> str:
    return open_ * n + "x" + close * n


_hostile = st.one_of(
    st.lists(st.sampled_from(_HOSTILE_FRAGMENTS), max_size=25).map("".join),
    st.text(alphabet=_DANGEROUS_CHARS, max_size=80),
    st.text(max_size=40),
    st.builds(
        _nest,
        st.integers(0, 150),
        st.sampled_from(["(", "-", "+", "exp(", "x**", "max(1,", "sqrt(-", "((", "2^"]),
        st.sampled_from(["", ")", "))"]),
    ),
    st.lists(st.sampled_from(_HOSTILE_FRAGMENTS) | st.text(alphabet=_DANGEROUS_CHARS, max_size=5), max_size=60).map(
        "".join
    ),
)


def _check_outcome(call: Callable[[], Any], text: str, ok: Callable[[Any], bool]) -> None:
    try:
        result = call()
    except ParseError as error:
        assert isinstance(error.position, int)
        assert 0 <= error.position <= len(text)
        assert error.text == text
        assert "position" in str(error)
    else:
        assert ok(result), repr(result)


@settings(
    max_examples=10_000,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(_hostile)
def test_hostile_strings_only_give_expressions_or_parse_errors(text: str) -> None:
    with _nothing_may_run() as record, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _check_outcome(lambda: parse_loss(text), text, lambda r: isinstance(r, sympy.Expr))
        _check_outcome(
            lambda: parse_params(text),
            text,
            lambda r: isinstance(r, tuple) and all(type(s) is sympy.Symbol for s in r),
        )
        _check_outcome(
            lambda: parse_substitutions(text),
            text,
            lambda r: isinstance(r, dict) and all(isinstance(v, sympy.Expr) and not v.free_symbols for v in r.values()),
        )
    assert record == []
    assert all(issubclass(w.category, NonSmoothWarning) for w in caught), [str(w.message) for w in caught]


@settings(max_examples=300, deadline=None, database=None)
@given(st.lists(st.sampled_from(_HOSTILE_FRAGMENTS) | st.text(max_size=10), max_size=6))
def test_hostile_lists(items: list[str]) -> None:
    with _nothing_may_run() as record, warnings.catch_warnings():
        warnings.simplefilter("ignore", NonSmoothWarning)
        for call in (parse_params, parse_substitutions):
            try:
                call(items)
            except ParseError as error:
                assert 0 <= error.position <= len(error.text)
    assert record == []
