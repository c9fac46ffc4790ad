"""Size limits of :mod:`bea.parsing`: the ``MAX_*`` constants and the checks behind them.

Private: estimates of the size of numbers, powers and expansions before SymPy
builds them, and a cheap float approximation of constant parts. Import the
constants from :mod:`bea.parsing`.
"""

from __future__ import annotations

import cmath
import math
from collections.abc import Callable
from typing import Any

import sympy

__all__: list[str] = []

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
#: Most sinh/cosh/tanh nested inside each other: SymPy's cost of deciding whether such a nest is
#: real grows about five-fold per level (tanh nested 5 deep: 0.2 s; 8 deep: 16 s).
MAX_HYPERBOLIC_NESTING = 5
#: Most functions nested inside each other in a constant (one without symbols): SymPy evaluates
#: constants numerically to compare them, at a cost that doubles per level
#: (``exp(-exp(-...exp(-1)))`` 14 deep: 1.6 s; 20 deep: minutes; 8 nested sigmoids: 1 s).
MAX_CONSTANT_NESTING = 6

_UNDEFINED = (sympy.S.NaN, sympy.S.ComplexInfinity, sympy.S.Infinity, sympy.S.NegativeInfinity)  # singletons


# --------------------------------------------------------------------------- size checks


def too_big(number: Any) -> bool:
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


_HYPERBOLIC = (sympy.sinh, sympy.cosh, sympy.tanh)


def nesting(expr: Any, memo: dict[Any, tuple[int, int]]) -> tuple[int, int]:
    """(sinh/cosh/tanh nested inside each other, functions nested inside each other) in ``expr``.

    Memoised per subexpression, so the parser measures each node once as it builds: the limits
    ``MAX_HYPERBOLIC_NESTING`` and ``MAX_CONSTANT_NESTING`` are checked on a call's arguments
    before SymPy builds the call, never after.
    """
    found = memo.get(expr)
    if found is not None:
        return found
    inner = [nesting(arg, memo) for arg in expr.args]
    hyperbolic = max((h for h, _ in inner), default=0)
    functions = max((f for _, f in inner), default=0)
    if isinstance(expr, sympy.Function):
        functions += 1
        hyperbolic += isinstance(expr, _HYPERBOLIC)
    memo[expr] = (hyperbolic, functions)
    return hyperbolic, functions


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
        if too_big(expr):  # SymPy may have multiplied coefficients out, e.g. 2**600*(x + 2**600*y)
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
