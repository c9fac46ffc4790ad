r"""SymPy modified fields → fast numeric callables (torch or NumPy), by ``lambdify`` with CSE.

A :class:`~bea.ModifiedFlow` holds the exact terms of :math:`\tilde f_h(\theta) = \sum_{k=0}^{p} h^k f_{k+1}(\theta)`;
:func:`compile_field` turns the truncation through :math:`h^r` (or any SymPy column in known parameter symbols) into
a :class:`CompiledField`, θ ↦ :math:`\tilde f_h(\theta)`:

* the components are printed together with common-subexpression elimination (``sympy.lambdify(..., cse=True)``),
  so the shared factors of the h^k terms (g, Hg, ...) are evaluated once;
* h and every data symbol are arguments, bound by keyword at compile or call time (``fn(theta, h=0.01, x=1.0)``
  or ``fn.bind(h=0.01)``); calling with one unbound raises :class:`~numeric.errors.UnboundSymbolError` naming it;
* θ has shape ``(m,)`` or ``(..., m)`` (batched over the leading axes); the result has θ's shape, dtype and device.

>>> import sympy, bea, torch
>>> a, b, x, y = sympy.symbols("a b x y")
>>> flow = bea.modified_flow((y - a*b*x)**2 / 2, [a, b], truncation=1)
>>> fn = compile_field(flow, x=1, y=0.6)
>>> fn(torch.tensor([2.8, 3.5], dtype=torch.float64), h=0.0)  # at h = 0 only the h^0 term is left: -grad E
tensor([-32.2000, -25.7600], dtype=torch.float64)
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, final, runtime_checkable

import numpy as np
import scipy.special
import sympy
from sympy.codegen.rewriting import create_expand_pow_optimization, optimize
from sympy.printing.numpy import SciPyPrinter
from sympy.printing.pycode import PythonCodePrinter

from bea.validation import renamed_keyword
from numeric.arrays import is_tensor
from numeric.errors import NumericTypeError, ShapeError, UnboundSymbolError, UnknownBackendError

if TYPE_CHECKING:
    import torch

__all__ = [
    "BACKENDS",
    "SCALAR_ROWS",
    "SUPPORTED_FUNCTIONS",
    "Backend",
    "BeaLogSigmoid",
    "BeaSigmoid",
    "CompiledField",
    "FlowLike",
    "check_supported",
    "compile_field",
    "fold_constants",
    "get_backend",
    "stable_form",
]


@runtime_checkable
class FlowLike(Protocol):
    """What :func:`compile_field` needs of a modified flow (``bea.ModifiedFlow`` has it)."""

    @property
    def params(self) -> tuple[sympy.Symbol, ...]: ...
    @property
    def h(self) -> sympy.Symbol: ...
    @property
    def truncation(self) -> int: ...
    @property
    def terms(self) -> tuple[Any, ...]: ...

    def field(self, truncation: int | None = None) -> Any: ...


# ----------------------------------------------------------------------------- stable forms
class BeaSigmoid(sympy.Function):  # type: ignore[misc]  # SymPy ships no type information
    r"""σ(v) = 1/(1 + e^{-v}), printed as the library's overflow-free sigmoid (``torch.sigmoid``, ``expit``)."""

    nargs = 1


class BeaLogSigmoid(sympy.Function):  # type: ignore[misc]
    r"""log σ(v) = −log(1 + e^{-v}), printed as ``torch.nn.functional.logsigmoid`` (NumPy: ``-logaddexp(0, -v)``)."""

    nargs = 1


def fold_constants(expr: sympy.Expr) -> sympy.Expr:
    """Every constant part that is not a rational (√2, log 2, π, e^{1/3}, Γ(1/3)) as a correctly rounded double.

    Printed as a literal, such a constant takes θ's dtype and device in every operation (``torch.sqrt(2)`` would
    raise a TypeError at call time). A constant that is not a finite real number raises
    :class:`~numeric.errors.NumericTypeError` naming it.

    >>> fold_constants(sympy.sqrt(2) * sympy.Symbol("x"))
    1.4142135623731*x
    """
    mapping: dict[sympy.Expr, sympy.Float] = {}

    def constant(e: sympy.Expr) -> bool:  # one bottom-up pass; maximal constant subtrees go into mapping
        if e.is_Symbol:
            return False
        if not e.args:
            return True
        flags = [constant(arg) for arg in e.args]
        if all(flags):
            return True
        for arg, flag in zip(e.args, flags, strict=True):
            if flag and not (arg.is_Rational or arg.is_Float):
                mapping[arg] = _double(arg)
        return False

    if constant(expr):
        return expr if expr.is_Rational or expr.is_Float else _double(expr)
    return expr.xreplace(mapping) if mapping else expr


def _double(expr: sympy.Expr) -> sympy.Float:
    value = sympy.N(expr, 30)
    if not (value.is_real and value.is_finite) or value.has(sympy.I):
        raise NumericTypeError(f"the field contains the constant {expr}, which is not a finite real number")
    return sympy.Float(value, precision=53)


def _exp_generators(expr: sympy.Expr) -> dict[sympy.Expr, tuple[sympy.Expr, int, sympy.Symbol]]:
    """exp(c·u) ↦ (v, k, X) with v = g·u, k = c/g an integer and X the generator e^v shared by one u.

    exp(a b), exp(2 a b), exp(-a b) share u = ab: v = ab and k = 1, 2, −1."""
    groups: dict[sympy.Expr, list[tuple[sympy.Expr, sympy.Rational]]] = {}
    for atom in expr.atoms(sympy.exp):
        w = atom.args[0]
        if w.has(sympy.exp) or not w.free_symbols:
            continue
        c, u = w.as_coeff_Mul()
        if not c.is_Rational:
            c, u = sympy.Integer(1), w
        if u.could_extract_minus_sign():
            c, u = -c, -u
        groups.setdefault(u, []).append((atom, c))
    out: dict[sympy.Expr, tuple[sympy.Expr, int, sympy.Symbol]] = {}
    for u, items in groups.items():
        g = functools.reduce(sympy.gcd, [abs(c) for _, c in items])
        generator = sympy.Dummy("X")
        for atom, c in items:
            out[atom] = (g * u, int(c / g), generator)
    return out


def _rational_parts(base: sympy.Expr, X: sympy.Symbol) -> tuple[sympy.Poly, sympy.Poly] | None:
    """(numerator, denominator) of ``base`` as polynomials in X with X-free coefficients, or None."""
    if not base.is_rational_function(X):
        return None
    num, den = sympy.fraction(sympy.together(base))
    try:
        return sympy.Poly(num, X), sympy.Poly(den, X)
    except sympy.PolynomialError:
        return None


def _homogeneous(poly: sympy.Poly, degree: int, S: sympy.Symbol, Sb: sympy.Symbol) -> sympy.Expr:
    r"""Sb^degree · poly(S/Sb), with every factor S + Sb (= σ(v) + σ(−v) = 1) removed."""
    expr = sympy.Add(*(c * S**k * Sb ** (degree - k) for (k,), c in poly.terms()))
    return sympy.factor(expr).xreplace({S + Sb: sympy.Integer(1)})


class _Stabiliser:
    """Rewrites a rational function R(e^v) as a ratio of polynomials in σ(v), σ(−v) ∈ [0, 1] (no overflow)."""

    def __init__(self, X: sympy.Symbol, v: sympy.Expr) -> None:
        self.X, self.v = X, v
        self.S, self.Sb = sympy.Dummy("S"), sympy.Dummy("Sb")

    def ratio(self, num: sympy.Poly, den: sympy.Poly) -> sympy.Expr:
        degree = max(num.degree(), den.degree(), 0)
        return _homogeneous(num, degree, self.S, self.Sb) / _homogeneous(den, degree, self.S, self.Sb)

    def log(self, num: sympy.Poly, den: sympy.Poly) -> sympy.Expr:
        """log(num(X)/den(X)) = log N − log D + (deg den − deg num) log σ(−v)."""
        p, q = max(num.degree(), 0), max(den.degree(), 0)
        N, D = _homogeneous(num, p, self.S, self.Sb), _homogeneous(den, q, self.S, self.Sb)
        return sympy.log(N) - sympy.log(D) + (q - p) * BeaLogSigmoid(-self.v)

    def walk(self, e: sympy.Expr) -> sympy.Expr:
        X = self.X
        if not e.has(X):
            return e
        if e.is_Add:
            return sympy.Add(*(self.walk(t) for t in e.args))
        if e.is_Mul or e.is_Pow or e == X:
            num, den = sympy.Poly(1, X), sympy.Poly(1, X)
            rest = []
            for factor in sympy.Mul.make_args(e):
                base, power = factor.as_base_exp()
                parts = _rational_parts(base, X) if base.has(X) and power.is_Integer else None
                if parts is None:
                    rest.append(factor if not factor.has(X) else factor.func(*(self.walk(a) for a in factor.args)))
                    continue
                n, d = parts if power > 0 else parts[::-1]
                num, den = num * n ** abs(int(power)), den * d ** abs(int(power))
            if len(num.terms()) == 1 and len(den.terms()) == 1:  # a lone e^{kv}: exact where finite
                (p,), cn = num.terms()[0]
                (q,), cd = den.terms()[0]
                return sympy.Mul(*rest) * (cn / cd) * X ** (p - q)
            return sympy.Mul(*rest) * self.ratio(num, den)
        if isinstance(e, sympy.log):
            parts = _rational_parts(e.args[0], X)
            if parts is not None:
                return self.log(*parts)
        return e.func(*(self.walk(a) for a in e.args))

    def finish(self, e: sympy.Expr) -> sympy.Expr:
        return e.xreplace({self.S: BeaSigmoid(self.v), self.Sb: BeaSigmoid(-self.v)})


def stable_form(expr: sympy.Expr) -> sympy.Expr:
    r"""``expr`` with every exponential e^{k v} that sits in a rational function written in σ(±v).

    Derivatives of softplus and sigmoid are ratios such as :math:`e^{3v}/(1 + e^v)^4`, which overflow to inf/inf
    for v ≳ 240 although they are bounded. With :math:`e^v = σ(v)/σ(-v)` and :math:`σ(v) + σ(-v) = 1` such a
    ratio becomes :math:`σ(v)^3 σ(-v)` (numerator and denominator multiplied by :math:`σ(-v)^{\deg}`): every
    factor lies in [0, 1]. ``log`` of such a ratio (softplus) becomes :math:`-\log σ(-v)` plus logs of bounded
    polynomials. A lone :math:`e^{kv}` stays as it is (it overflows only where its value does).

    >>> v = sympy.Symbol("v")
    >>> stable_form(sympy.exp(v) / (1 + sympy.exp(v))**2)
    BeaSigmoid(-v)*BeaSigmoid(v)
    >>> stable_form(sympy.log(1 + sympy.exp(v)))
    -BeaLogSigmoid(-v)
    """
    generators = _exp_generators(expr)
    if not generators:
        return expr
    by_generator: dict[sympy.Symbol, sympy.Expr] = {}
    replacement = {}
    for atom, (v, k, X) in generators.items():
        by_generator[X] = v
        replacement[atom] = X**k
    out = expr.xreplace(replacement)
    for X, v in by_generator.items():
        stabiliser = _Stabiliser(X, v)
        out = stabiliser.finish(stabiliser.walk(out))
        out = out.xreplace({X: sympy.exp(v)})
    return out


# ----------------------------------------------------------------------------- non-smooth helpers
def _reference(xs: Sequence[Any]) -> torch.Tensor | None:
    return next((x for x in xs if is_tensor(x)), None)


def _torch_like(x: Any, ref: torch.Tensor | None) -> Any:
    """A Python number as a tensor of ``ref``'s dtype and device (never torch's default float32 on the CPU)."""
    if is_tensor(x) or ref is None:
        return x
    import torch

    return torch.full((), float(x), dtype=ref.dtype, device=ref.device)


def _torch_max(*xs: Any) -> Any:
    ref = _reference(xs)
    if ref is None:
        return max(xs)
    import torch

    return functools.reduce(torch.maximum, (_torch_like(x, ref) for x in xs))


def _torch_min(*xs: Any) -> Any:
    ref = _reference(xs)
    if ref is None:
        return min(xs)
    import torch

    return functools.reduce(torch.minimum, (_torch_like(x, ref) for x in xs))


def _torch_heaviside(x: Any) -> Any:
    if not is_tensor(x):
        return float(np.heaviside(x, 0.5))
    import torch

    return torch.heaviside(x, torch.full((), 0.5, dtype=x.dtype, device=x.device))


def _torch_gamma(x: Any) -> Any:
    """Γ(x) = ±exp(log|Γ(x)|), negative on (−1, 0), (−3, −2), ... (torch has no gamma function)."""
    import torch

    negative = (x < 0) & (torch.remainder(torch.floor(x), 2) != 0)
    return torch.exp(torch.lgamma(x)) * (1 - 2 * negative.to(x.dtype))


def _torch_polygamma(n: Any, x: Any) -> Any:
    import torch

    return torch.special.polygamma(int(n), x)


def _torch_sign(x: Any) -> Any:
    return x.sign()


def _np_max(*xs: Any) -> Any:
    return functools.reduce(np.maximum, xs)


def _np_min(*xs: Any) -> Any:
    return functools.reduce(np.minimum, xs)


def _np_logsigmoid(x: Any) -> Any:
    return -np.logaddexp(0, -x)


def _math_sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def _math_logsigmoid(x: float) -> float:
    return -math.log1p(math.exp(-x)) if x >= 0 else x - math.log1p(math.exp(x))


def _math_sign(x: float) -> float:
    return float((x > 0) - (x < 0))


def _zero_like(x: Any) -> Any:
    return 0 * x  # DiracDelta: zero almost everywhere (backward error analysis assumes smoothness)


#: The SymPy functions a compiled field may contain (after :func:`fold_constants` and :func:`stable_form`).
SUPPORTED_FUNCTIONS: frozenset[type] = frozenset({
    sympy.exp, sympy.log, sympy.sin, sympy.cos, sympy.tan, sympy.sinh, sympy.cosh, sympy.tanh,
    sympy.asin, sympy.acos, sympy.atan, sympy.asinh, sympy.acosh, sympy.atanh, sympy.Abs, sympy.sign,
    sympy.Max, sympy.Min, sympy.Heaviside, sympy.DiracDelta, sympy.erf, sympy.erfc, sympy.gamma,
    sympy.loggamma, sympy.polygamma, BeaSigmoid, BeaLogSigmoid,
})


def check_supported(exprs: Sequence[sympy.Expr]) -> None:
    """Raise :class:`~numeric.errors.NumericTypeError` naming any function outside :data:`SUPPORTED_FUNCTIONS`."""
    for e in exprs:
        for f in e.atoms(sympy.Function):
            if type(f) not in SUPPORTED_FUNCTIONS:
                names = sorted(c.__name__ for c in SUPPORTED_FUNCTIONS)
                raise NumericTypeError(f"the field contains {f}, whose function {type(f).__name__} cannot be "
                                       f"compiled; supported: {', '.join(names)}")
        if e.has(sympy.Derivative, sympy.Integral, sympy.Subs, sympy.Piecewise):
            raise NumericTypeError(f"the field contains an unevaluated derivative, integral or piecewise: {e}")


class _HelperMixin:
    """Print Max/Min/Heaviside/DiracDelta, σ, log σ, Γ, ψ as calls to helpers of the backend (dtype-safe)."""

    def _call(self, name: str, args: Sequence[Any]) -> str:
        return f"{name}({', '.join(self._print(a) for a in args)})"  # type: ignore[attr-defined]

    def _print_Max(self, expr: Any) -> str:
        return self._call("_bea_max", expr.args)

    def _print_Min(self, expr: Any) -> str:
        return self._call("_bea_min", expr.args)

    def _print_Heaviside(self, expr: Any) -> str:
        return self._call("_bea_heaviside", expr.args[:1])

    def _print_DiracDelta(self, expr: Any) -> str:
        return self._call("_bea_zero", expr.args[:1])

    def _print_BeaSigmoid(self, expr: Any) -> str:
        return self._call("_bea_sigmoid", expr.args)

    def _print_BeaLogSigmoid(self, expr: Any) -> str:
        return self._call("_bea_logsigmoid", expr.args)

    def _print_gamma(self, expr: Any) -> str:
        return self._call("_bea_gamma", expr.args)

    def _print_loggamma(self, expr: Any) -> str:
        return self._call("_bea_loggamma", expr.args)

    def _print_polygamma(self, expr: Any) -> str:
        return self._call("_bea_polygamma", expr.args)

    def _print_sign(self, expr: Any) -> str:
        return self._call("_bea_sign", expr.args)

    def _print_erfc(self, expr: Any) -> str:
        return self._call("_bea_erfc", expr.args)


@functools.cache
def _torch_printer() -> type:
    """The torch printer class, made at first use: SymPy's torch printer module imports torch."""
    from sympy.printing.pytorch import TorchPrinter

    class _Torch(_HelperMixin, TorchPrinter):  # type: ignore[misc]
        pass

    return _Torch


class _NumPy(_HelperMixin, SciPyPrinter):  # type: ignore[misc]
    pass


def _numpy_printer() -> type:
    return _NumPy


class _Math(_HelperMixin, PythonCodePrinter):  # type: ignore[misc]
    _default_settings: ClassVar[dict[str, Any]] = {**PythonCodePrinter._default_settings, "order": "none"}  # no sort


def _math_printer() -> type:
    return _Math


@dataclass(frozen=True)
class Backend:
    """An array library to emit code for: a printer, helper functions, and the modules the code may use.

    ``printer`` returns the SymPy printer class and ``helpers`` is looked up only when code is emitted, so that a
    backend costs no import of its array library before it is used (torch's takes seconds).
    """

    name: str
    printer: Callable[[], type]
    modules: tuple[str, ...]
    helpers: Mapping[str, Callable[..., Any]]

    def lambdify(self, args: Sequence[sympy.Symbol], exprs: Sequence[sympy.Expr]) -> Callable[..., Any]:
        """``sympy.lambdify`` of the list ``exprs`` with CSE, in this backend.

        Constants are folded to doubles (:func:`fold_constants`), exponentials inside ratios rewritten in
        sigmoids (:func:`stable_form`), and a function the backend cannot evaluate is refused here, at compile
        time, with :class:`~numeric.errors.NumericTypeError`.
        """
        prepared, eliminated = _prepared(tuple(sympy.sympify(e) for e in exprs))
        fn: Callable[..., Any] = sympy.lambdify(
            list(args), list(prepared), modules=[dict(self.helpers), *self.modules], printer=self.printer(),
            cse=lambda _: eliminated, docstring_limit=0,  # printing the docstring cost a fifth of a compilation
        )
        return fn


_EXPAND_POW = create_expand_pow_optimization(16)


@functools.lru_cache(maxsize=128)
def _prepared(exprs: tuple[sympy.Expr, ...]) -> tuple[tuple[sympy.Expr, ...], tuple[Any, list[sympy.Expr]]]:
    """The expressions folded and stabilised, checked, and their CSE: shared by every backend that prints them."""
    prepared = tuple(stable_form(fold_constants(e)) for e in exprs)
    check_supported(prepared)
    return prepared, _cse(prepared)


def _cse(exprs: Sequence[sympy.Expr]) -> tuple[list[tuple[sympy.Symbol, sympy.Expr]], list[sympy.Expr]]:
    """``sympy.cse``, then small integer powers as products (``b**4`` → ``b*b*b*b``): 2-4x faster to evaluate."""
    replacements, reduced = sympy.cse(list(exprs))
    return ([(s, optimize(v, [_EXPAND_POW])) for s, v in replacements], [optimize(v, [_EXPAND_POW]) for v in reduced])


@final
class _TorchHelpers(Mapping[str, Callable[..., Any]]):
    """The torch backend's helper functions, made (and torch imported) at the first lookup: a field compiled for
    torch but only ever evaluated in NumPy (:meth:`CompiledField.as_numpy`) never imports torch."""

    @functools.cached_property
    def _helpers(self) -> dict[str, Callable[..., Any]]:
        import torch

        return {"_bea_max": _torch_max, "_bea_min": _torch_min, "_bea_heaviside": _torch_heaviside,
                "_bea_zero": _zero_like, "_bea_sigmoid": torch.sigmoid,
                "_bea_logsigmoid": torch.nn.functional.logsigmoid, "_bea_gamma": _torch_gamma,
                "_bea_loggamma": torch.lgamma, "_bea_polygamma": _torch_polygamma, "_bea_sign": _torch_sign,
                "_bea_erfc": torch.special.erfc}

    def __getitem__(self, name: str) -> Callable[..., Any]:
        return self._helpers[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._helpers)

    def __len__(self) -> int:
        return len(self._helpers)

    def __reduce__(self) -> tuple[type, tuple[()]]:
        return _TorchHelpers, ()  # pickled without the functions: made again at the first lookup


BACKENDS: Mapping[str, Backend] = MappingProxyType(
    {
        "torch": Backend("torch", _torch_printer, ("torch",), _TorchHelpers()),
        "numpy": Backend(
            "numpy", _numpy_printer, ("numpy", "scipy"),
            {"_bea_max": _np_max, "_bea_min": _np_min, "_bea_heaviside": lambda x: np.heaviside(x, 0.5),
             "_bea_zero": _zero_like, "_bea_sigmoid": scipy.special.expit, "_bea_logsigmoid": _np_logsigmoid,
             "_bea_gamma": scipy.special.gamma, "_bea_loggamma": scipy.special.gammaln,
             "_bea_polygamma": scipy.special.polygamma, "_bea_sign": np.sign, "_bea_erfc": scipy.special.erfc},
        ),
    }
)


#: Python floats and the ``math`` module: the rows of a small batch one by one (:meth:`CompiledField.as_numpy`).
#: An operation on two floats costs ~50 ns, on two small NumPy arrays ~1 µs. Internal: it evaluates scalars only.
_SCALAR = Backend(
    "math", _math_printer, ("math",),
    {"_bea_max": max, "_bea_min": min, "_bea_heaviside": lambda x: float(np.heaviside(x, 0.5)),
     "_bea_zero": _zero_like, "_bea_sigmoid": _math_sigmoid, "_bea_logsigmoid": _math_logsigmoid,
     "_bea_gamma": math.gamma, "_bea_loggamma": math.lgamma,
     "_bea_polygamma": lambda n, x: float(scipy.special.polygamma(int(n), x)), "_bea_sign": _math_sign,
     "_bea_erfc": math.erfc, "math": math},  # type: ignore[dict-item]  # the code prints math.log, math.exp
)
_ALL_BACKENDS: Mapping[str, Backend] = MappingProxyType({**BACKENDS, "math": _SCALAR})
#: Batches of at most this many rows are evaluated row by row in Python floats by :meth:`CompiledField.as_numpy`.
SCALAR_ROWS = 32


def get_backend(backend: str | Backend) -> Backend:
    """The :class:`Backend` called ``backend`` (``"torch"`` or ``"numpy"``); no silent fallback.

    >>> get_backend(" NumPy ").name, get_backend("torch") is BACKENDS["torch"]
    ('numpy', True)
    """
    if isinstance(backend, Backend):
        return backend
    if not isinstance(backend, str):
        raise NumericTypeError(f"backend must be 'torch', 'numpy' or a Backend, got {backend!r}")
    try:
        return BACKENDS[backend.strip().lower()]
    except KeyError:
        raise UnknownBackendError(f"unknown backend {backend!r}; choose one of: {', '.join(BACKENDS)}") from None


@functools.lru_cache(maxsize=128)
def _lambdified(backend: str, args: tuple[sympy.Symbol, ...], exprs: tuple[sympy.Expr, ...]) -> Callable[..., Any]:
    return _ALL_BACKENDS[backend].lambdify(args, exprs)


def _horner(expr: sympy.Expr, params: tuple[sympy.Symbol, ...]) -> sympy.Expr:
    """Horner form in the parameters where ``expr`` is a polynomial in them (fewer operations)."""
    if not expr.is_polynomial(*params):
        return expr
    return sympy.horner(sympy.expand(expr), *params) if len(params) > 0 else expr


@functools.lru_cache(maxsize=128)
def _specialised(
    backend: str,
    params: tuple[sympy.Symbol, ...],
    rest: tuple[sympy.Symbol, ...],
    exprs: tuple[sympy.Expr, ...],
    constants: tuple[tuple[sympy.Symbol, float], ...],
) -> Callable[..., Any]:
    """The field with the scalars bound at compile time folded in (53-bit floats) and written in Horner form in the
    parameters: h and data enter the coefficients once, not at every point (two-parameter h^6: 64 ms -> 16 ms)."""
    return _ALL_BACKENDS[backend].lambdify(params + rest, _folded(params, exprs, constants))


@functools.lru_cache(maxsize=128)
def _folded(params: tuple[sympy.Symbol, ...], exprs: tuple[sympy.Expr, ...],
            constants: tuple[tuple[sympy.Symbol, float], ...]) -> tuple[sympy.Expr, ...]:
    folded = {symbol: sympy.Float(value, precision=53) for symbol, value in constants}
    return tuple(_horner(e.xreplace(folded), params) for e in exprs)


def _check_value(name: str, value: Any) -> Any:
    if isinstance(value, (bool, str)):
        raise NumericTypeError(f"the value of {name} must be a real number, got {value!r}")
    if isinstance(value, sympy.Basic):
        if value.free_symbols:
            raise NumericTypeError(f"the value of {name} must be a number, got the expression {value}")
        value = float(value)
    if isinstance(value, (int, float)) and not math.isfinite(float(value)):
        raise NumericTypeError(f"the value of {name} must be finite, got {value!r}")
    if isinstance(value, (int, float)):
        return float(value)
    if is_tensor(value) or isinstance(value, (np.ndarray, np.generic)):
        return value
    raise NumericTypeError(f"the value of {name} must be a real number or array, got {value!r}")


def _real_array(theta: Any) -> np.ndarray:
    """``theta`` as a NumPy array of real numbers; complex, boolean or non-numeric input raises NumericTypeError."""
    try:
        arr = np.asarray(theta)
    except (TypeError, ValueError) as exc:
        raise NumericTypeError(f"theta must be a tensor or array-like of real numbers, got {theta!r}") from exc
    if np.iscomplexobj(arr):
        raise NumericTypeError(f"theta must be real, got {theta!r} of dtype {arr.dtype} (the field is real)")
    if arr.dtype == np.bool_ or not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise NumericTypeError(f"theta must hold real numbers, got {theta!r} of dtype {arr.dtype}")
    return arr


@dataclass(frozen=True, eq=False)
class CompiledField:
    """θ ↦ field(θ) for a SymPy column; built by :func:`compile_field`.

    ``params`` are the parameter symbols (θ's last axis, in order), ``symbols`` the other arguments (h and data,
    by name) and ``bound`` the values given so far. θ may carry batch axes, as here (shape ``(2, m)``):

    >>> import sympy, torch
    >>> a, b, y = sympy.symbols("a b y")
    >>> fn = compile_field([a * b, y * a], params=[a, b])  # θ = (a, b) ↦ (ab, ya)
    >>> fn.unbound, fn.bind(y=2.0)(torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=torch.float64)).tolist()
    (('y',), [[2.0, 2.0], [12.0, 6.0]])
    """

    expr: sympy.ImmutableMatrix
    params: tuple[sympy.Symbol, ...]
    symbols: tuple[sympy.Symbol, ...]
    backend: Backend
    bound: Mapping[str, Any] = field(default_factory=dict)
    truncation: int | None = None

    @property
    def order(self) -> int | None:
        """Deprecated name of :attr:`truncation`."""
        warnings.warn("CompiledField.order is deprecated, use .truncation", DeprecationWarning, stacklevel=2)
        return self.truncation

    @property
    def dim(self) -> int:
        """m, the number of parameters."""
        return len(self.params)

    @property
    def names(self) -> tuple[str, ...]:
        """Names of the non-parameter symbols, in argument order."""
        return tuple(s.name for s in self.symbols)

    @property
    def unbound(self) -> tuple[str, ...]:
        """Names still needing a value."""
        return tuple(n for n in self.names if n not in self.bound)

    def _values(self, given: Mapping[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(given) - set(self.names))
        if unknown:
            known = ", ".join(self.names) or "none"
            raise UnboundSymbolError(f"{', '.join(unknown)} is not a symbol of this field (its symbols: {known})")
        return {**self.bound, **{k: _check_value(k, v) for k, v in given.items()}}

    def bind(self, **values: Any) -> CompiledField:
        """A copy with more symbols bound, e.g. ``fn.bind(h=0.01, x=1.0)``."""
        return CompiledField(self.expr, self.params, self.symbols, self.backend,
                             MappingProxyType(self._values(values)), self.truncation)

    @functools.cached_property
    def _components(self) -> tuple[sympy.Expr, ...]:
        return tuple(self.expr)  # once: iterating an ImmutableMatrix on every call cost as much as evaluating it

    @functools.cached_property
    def _free(self) -> frozenset[sympy.Symbol]:
        return frozenset(self.expr.free_symbols)

    @property
    def function(self) -> Callable[..., Any]:
        """The raw lambdified function ``f(*params, *symbols) -> list of components``."""
        return _lambdified(self.backend.name, self.params + self.symbols, self._components)

    def _function_for(self, given: Mapping[str, Any]) -> tuple[Callable[..., Any], tuple[str, ...]]:
        """The function to call and the names it still takes; scalars from :meth:`bind` not given now are folded in.

        A bound scalar that does not occur in the expressions (h in the h^0 field) is dropped, not folded: the
        compiled function is then the same for every value (one compilation serves every step size)."""
        constants, rest = self._arguments(given)
        if rest == self.symbols:
            return self.function, self.names
        fn = _specialised(self.backend.name, self.params, rest, self._components, constants)
        return fn, tuple(s.name for s in rest)

    @functools.cached_property
    def _bound_function(self) -> tuple[Callable[..., Any], tuple[str, ...]]:
        return self._function_for({})  # once per bound field: building the cache key costs as much as a small field

    def _arguments(self, given: Mapping[str, Any]) -> tuple[tuple[tuple[sympy.Symbol, float], ...],
                                                           tuple[sympy.Symbol, ...]]:
        """(the bound scalars folded in, the symbols still passed as arguments) when ``given`` is passed."""
        constants = tuple(
            (s, float(self.bound[s.name]))
            for s in self.symbols
            if isinstance(self.bound.get(s.name), float) and s.name not in given and s in self._free
        )
        absent = {s for s in self.symbols if s not in self._free and s.name in self.bound and s.name not in given}
        folded = {s for s, _ in constants} | absent
        return constants, tuple(s for s in self.symbols if s not in folded)

    def as_numpy(self) -> Callable[[np.ndarray], np.ndarray]:
        """A plain NumPy function θ ↦ f(θ) (θ float64 of shape ``(..., m)``) with every symbol bound; no checks per
        call. :func:`numeric.integrate.integrate_flow` evaluates small systems with it (the checks of ``__call__``
        cost more than evaluating a small field). Bound tensors become arrays.

        A batch of at most :data:`SCALAR_ROWS` rows is evaluated row by row in Python floats (the ``math`` module:
        ~50 ns an operation against ~1 µs for NumPy on a few numbers), larger ones in NumPy; both are IEEE float64
        and print the same expressions. A row whose evaluation overflows, divides by zero, leaves the domain of a
        function or turns complex (a negative number to a fractional power) is NaN, as NumPy gives it.
        Raises :class:`~numeric.errors.UnboundSymbolError` when a symbol has no value.

        >>> import numpy as np, sympy, torch
        >>> a, h = sympy.symbols("a h")
        >>> fn = compile_field([h * a], params=[a]).bind(h=torch.tensor([1.0, 2.0], dtype=torch.float64))
        >>> fn.as_numpy()(np.array([[3.0], [3.0]])).tolist()
        [[3.0], [6.0]]
        """
        missing = self.unbound
        if missing:
            raise UnboundSymbolError(f"no value for {', '.join(missing)}: bind it first (fn.bind({missing[0]}=...))")
        bound = {k: v.detach().cpu().numpy() if is_tensor(v) else v for k, v in self.bound.items()}
        vector_twin = CompiledField(self.expr, self.params, self.symbols, BACKENDS["numpy"], MappingProxyType(bound))
        vector_extra = [np.asarray(bound[s.name], dtype=np.float64) for s in vector_twin._arguments({})[1]]
        # Python floats: every bound value stays an argument (no Horner form to build: ~2/3 of a compilation, and
        # worth it only where each operation costs a microsecond)
        scalar_twin = CompiledField(self.expr, self.params, self.symbols, _SCALAR, MappingProxyType(bound))
        scalar_extra = [np.asarray(bound[n], dtype=np.float64) for n in self.names]
        m = self.dim
        rows_of: dict[tuple[int, ...], list[tuple[float, ...]]] = {}
        compiled: list[Callable[..., Any]] = []  # the scalar function, compiled at the first small batch

        def evaluate(theta: np.ndarray) -> np.ndarray:
            batch = theta.shape[:-1]
            if math.prod(batch) > SCALAR_ROWS:
                out = np.empty(theta.shape, dtype=np.float64)
                vector = vector_twin._function_for({})[0]
                with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
                    columns = vector(*(theta[..., i] for i in range(m)), *vector_extra)
                for i, column in enumerate(columns):
                    out[..., i] = column
                return out
            if batch not in rows_of:  # the bound values of each row (h per row in a batched drift check)
                rows_of[batch] = list(zip(*(np.broadcast_to(e, batch).ravel().tolist() for e in scalar_extra),
                                          strict=True)) if scalar_extra else [()] * math.prod(batch)
            if not compiled:
                compiled.append(scalar_twin.function)
            scalar, rows = compiled[0], []
            for row, values in zip(theta.reshape(-1, m).tolist(), rows_of[batch], strict=True):
                try:
                    rows.append(scalar(*row, *values))
                except (ArithmeticError, ValueError):  # overflow in exp, 1/0, log(-1): NaN, as NumPy gives
                    rows.append([math.nan] * m)
                except TypeError:
                    if not any(isinstance(v, complex) for v in scalar(*row, *values)):
                        raise
                    rows.append([math.nan] * m)  # (-1.0)**0.5 is complex in Python, NaN in NumPy
            return np.array(rows, dtype=np.float64).reshape(theta.shape)

        return evaluate

    def jacobian(self, theta: Any, **values: Any) -> Any:
        r"""The exact Jacobian :math:`\partial f_i/\partial\theta_j` at θ of shape ``(..., m)``: shape ``(..., m, m)``.

        Differentiated symbolically (SymPy) and compiled like the field (cached), in the same backend; used by
        :func:`numeric.drift.spectral_radius` (no ``torch.func`` transform, whose first use costs seconds).

        >>> import sympy, torch
        >>> a, b = sympy.symbols("a b")
        >>> compile_field([a * b, a**2], params=[a, b]).jacobian(torch.tensor([2.0, 3.0], dtype=torch.float64))
        tensor([[3., 2.],
                [4., 0.]], dtype=torch.float64)
        """
        m = self.dim
        entries = CompiledField(self._jacobian_entries, self.params, self.symbols, self.backend, self.bound)
        out = entries(theta, **values)
        return out.reshape(*out.shape[:-1], m, m)

    @functools.cached_property
    def _jacobian_entries(self) -> sympy.ImmutableMatrix:
        m = self.dim
        return sympy.ImmutableMatrix(self.expr.jacobian(list(self.params)).reshape(m * m, 1))

    def __call__(self, theta: Any, **values: Any) -> Any:
        """field(θ) with ``values`` added to the bound symbols; θ of shape ``(..., m)``."""
        vals = self._values(values)
        missing = [n for n in self.names if n not in vals]
        if missing:
            raise UnboundSymbolError(
                f"no value for {', '.join(missing)}: pass it by keyword (fn(theta, {missing[0]}=...)) or fn.bind(...)"
            )
        fn, names = self._function_for(values) if values else self._bound_function
        if self.backend.name == "torch":
            return self._call_torch(theta, vals, fn, names)
        return self._call_numpy(theta, vals, fn, names)

    def _check_shape(self, shape: tuple[int, ...]) -> None:
        if len(shape) == 0 or shape[-1] != self.dim:
            names = ", ".join(p.name for p in self.params)
            raise ShapeError(f"theta must have shape (..., {self.dim}) for params ({names}), got {shape}")

    def _call_torch(
        self, theta: Any, vals: Mapping[str, Any], fn: Callable[..., Any], names: tuple[str, ...]
    ) -> torch.Tensor:
        import torch

        if not isinstance(theta, torch.Tensor):
            theta = torch.as_tensor(_real_array(theta), dtype=torch.float64)
        if theta.is_complex():
            raise NumericTypeError(f"theta must be real, got a tensor of dtype {theta.dtype} (the field is real)")
        if theta.dtype == torch.bool:
            raise NumericTypeError("theta must hold real numbers, got a tensor of dtype torch.bool")
        if not theta.is_floating_point():
            theta = theta.to(torch.float64)
        self._check_shape(tuple(theta.shape))
        dt, dev = theta.dtype, theta.device
        # Python floats enter the operations as scalars of theta's dtype (no copy to the device per call)
        extra = [v if isinstance(v, float) else torch.as_tensor(v, dtype=dt, device=dev)
                 for v in (vals[n] for n in names)]
        out = fn(*theta.unbind(-1), *extra)
        batch = theta.shape[:-1]
        columns = [c.to(dtype=dt).expand(batch) if isinstance(c, torch.Tensor)
                   else torch.full(batch, float(c), dtype=dt, device=dev) for c in out]
        return torch.stack(columns, dim=-1)

    def _call_numpy(
        self, theta: Any, vals: Mapping[str, Any], fn: Callable[..., Any], names: tuple[str, ...]
    ) -> np.ndarray:
        if is_tensor(theta):
            if theta.is_complex():
                raise NumericTypeError(f"theta must be real, got a tensor of dtype {theta.dtype} (the field is real)")
            theta = theta.detach().cpu().numpy()
        arr = _real_array(theta)
        if not np.issubdtype(arr.dtype, np.floating):
            arr = arr.astype(np.float64)
        self._check_shape(arr.shape)
        extra = [np.asarray(vals[n], dtype=arr.dtype) for n in names]
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            out = fn(*np.moveaxis(arr, -1, 0), *extra)
        batch = arr.shape[:-1]
        return np.stack([np.broadcast_to(np.asarray(c, dtype=arr.dtype), batch) for c in out], axis=-1)

    def __repr__(self) -> str:
        bound = ", ".join(f"{k}={v}" for k, v in self.bound.items())
        return (f"CompiledField(params={[p.name for p in self.params]}, symbols={list(self.names)}, "
                f"bound={{{bound}}}, backend={self.backend.name!r}, truncation={self.truncation})")


def _column(expr: Any, m: int | None) -> sympy.ImmutableMatrix:
    if isinstance(expr, sympy.MatrixBase):
        col = sympy.ImmutableMatrix(expr)
    elif isinstance(expr, (list, tuple)):
        col = sympy.ImmutableMatrix([sympy.sympify(e) for e in expr])
    else:
        raise NumericTypeError(f"expected a ModifiedFlow or a SymPy column, got {type(expr).__name__}")
    if col.shape[1] != 1 and col.shape[0] == 1:
        col = col.T
    if col.shape[1] != 1 or (m is not None and col.shape[0] != m):
        raise ShapeError(f"the field must be a column with one entry per parameter ({m}), got shape {col.shape}")
    if col.has(sympy.I):
        raise NumericTypeError("the field must be real (it contains the imaginary unit)")
    check_supported(list(col))  # constants are checked when folded, at the first call
    return col


def compile_field(
    flow_or_column: Any,
    truncation: int | None = None,
    *,
    params: Sequence[sympy.Symbol] | None = None,
    backend: str | Backend = "torch",
    subs: Mapping[sympy.Symbol | str, Any] | None = None,
    order: int | None = None,
    **values: Any,
) -> CompiledField:
    r"""Compile a modified flow (through :math:`h^p`, p = ``truncation``) or a SymPy column into a callable.

    ``flow_or_column``: an object with ``params``, ``h``, ``truncation``, ``terms`` and
    ``field(truncation)`` (a ``bea.ModifiedFlow``), or a SymPy column / list of expressions together
    with ``params``. ``truncation`` (flows only; default: the flow's) keeps the terms through h^p;
    ``order=`` is its deprecated name. ``subs`` (symbol or name → value) and keyword ``values`` bind h and data
    symbols now; the rest are bound at call time. Compilation is cached per (expressions, backend).

    >>> import bea, numpy as np, sympy
    >>> x = sympy.Symbol("x")  # GD on E = x²/2 follows f_h = -(1 + h/2 + h²/3 + ...) x
    >>> compile_field(bea.modified_flow(x**2 / 2, [x], truncation=2), h=0.5, backend="numpy")(np.array([3.0]))
    array([-4.])
    """
    truncation = renamed_keyword(truncation, order, new_name="truncation", old_name="order",
                                 where="compile_field", default=None)
    be = get_backend(backend)
    if isinstance(flow_or_column, FlowLike) and not isinstance(flow_or_column, sympy.MatrixBase):
        flow = flow_or_column
        if params is not None and tuple(params) != tuple(flow.params):
            raise ShapeError(f"params {list(params)} differ from the flow's {list(flow.params)}")
        ps = tuple(flow.params)
        col = _column(flow.field(truncation), len(ps))
        used = flow.truncation if truncation is None else truncation
        extra = {flow.h}
    else:
        if truncation is not None:
            raise NumericTypeError("truncation applies to a ModifiedFlow; truncate a plain column yourself")
        if params is None:
            raise NumericTypeError("a plain SymPy column needs params=[...] (the symbols that θ holds)")
        ps = (params,) if isinstance(params, sympy.Symbol) else tuple(params)
        if not ps or not all(isinstance(p, sympy.Symbol) for p in ps) or len(set(ps)) != len(ps):
            raise NumericTypeError(f"params must be distinct SymPy symbols, got {params!r}")
        col = _column(flow_or_column, len(ps))
        used = None
        extra = set()
    others = (col.free_symbols | extra) - set(ps)
    symbols = tuple(sorted(others, key=lambda s: s.name))
    names = [s.name for s in symbols]
    clash = {n for n in names if names.count(n) > 1} | {p.name for p in ps if p.name in names}
    if clash:
        raise NumericTypeError(f"two different symbols share the name(s) {sorted(clash)}; rename one")
    given = {(k.name if isinstance(k, sympy.Symbol) else str(k)): v for k, v in (subs or {}).items()}
    compiled = CompiledField(col, ps, symbols, be, MappingProxyType({}), used)
    return compiled.bind(**given, **values)
