r"""Modified flows of a concrete loss: what gradient descent (or any RK method) follows.

For a loss :math:`E(\theta)` and a Runge--Kutta method applied to
:math:`\dot\theta = f(\theta) = -\nabla E(\theta)` with step h, the modified field is

.. math::
    \tilde f_h = \sum_{k=0}^{p} h^k f_{k+1}, \qquad
    f_{k+1} = \sum_{|\tau| = k+1} \frac{b(\tau)}{\sigma(\tau)} F(\tau),

with b = ``modified_equation(method)``. For gradient descent the first two terms are
:math:`-\nabla\big(E + \tfrac h4 \|\nabla E\|^2\big)`, the implicit gradient regulariser
of Barrett & Dherin (ICLR 2021): :math:`\tilde E = E + \lambda R_{IG}`,
:math:`R_{IG} = \|\nabla E\|^2/m`, :math:`\lambda = hm/4`.

A term is the gradient of a potential iff its Jacobian is symmetric; beyond h^1
that usually fails (Hairer--Lubich--Wanner IX.9).

>>> import sympy
>>> a, b, x, y = sympy.symbols("a b x y")
>>> flow = modified_flow((y - a*b*x)**2 / 2, [a, b], truncation=1)
>>> flow.is_gradient(1)
True
>>> loss = flow.modified_loss()
>>> sympy.expand(loss.expr - ((y - a*b*x)**2/2 + flow.h/4 * ((a*x)**2 + (b*x)**2) * (y - a*b*x)**2))
0
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, final

import sympy

from bea import methods
from bea._checks import check_finite
from bea._closure import DifferentialRing
from bea._factor import factor_rational_polynomial, smaller_form
from bea.errors import BeaTypeError, BeaValueError, InvalidLossError, NotAGradientFieldError
from bea.methods import Method, Problem, resolve
from bea.validation import check_truncation, renamed_keyword

__all__ = ["ModifiedFlow", "ModifiedLoss", "compact", "gradient", "modified_flow", "validate_problem"]


def gradient(expr: sympy.Expr, params: Sequence[sympy.Symbol]) -> sympy.ImmutableMatrix:
    """:math:`\\nabla E` as a column, in the order of ``params``.

    >>> import sympy
    >>> a, b = sympy.symbols("a b")
    >>> gradient(a**2 * b, [a, b]).T
    Matrix([[2*a*b, a**2]])
    """
    return sympy.ImmutableMatrix([sympy.diff(expr, p) for p in params])


def compact(expr: sympy.Expr) -> sympy.Expr:
    """A canonical compact form: the factored form when it is not larger than the expanded one.

    >>> import sympy
    >>> a, b = sympy.symbols("a b")
    >>> compact(a**2*b**2 - 2*a*b + 1), compact(a**2 + b**2 + 1)
    ((a*b - 1)**2, a**2 + b**2 + 1)
    """
    symbols = sorted(expr.free_symbols, key=sympy.default_sort_key)
    if symbols and not expr.is_polynomial(*symbols):
        closure = DifferentialRing.for_exprs([expr], symbols)
        if closure is not None:  # exp, log, sigmoid, ... as generators: no sympy.expand of them
            return smaller_form(dict(closure.convert(expr).items()), [*closure.y, *closure.gens])
    expanded = sympy.expand(expr)
    factored = factor_rational_polynomial(expanded)  # FLINT: ~30x faster than sympy.factor
    if factored is None:
        try:
            factored = sympy.factor(expanded)
        except sympy.PolynomialError:  # pragma: no cover - factor handles non-polynomials symbolically
            return expanded
    return factored if sympy.count_ops(factored) <= sympy.count_ops(expanded) else expanded


#: The point at which :func:`_is_zero` first tries an expression: the k-th free symbol (sorted by name) takes
#: the k-th value, rationals in (0, 1) with distinct prime denominators (away from the usual singularities).
_SCREEN_POINT = tuple(sympy.Rational(n, d) for n, d in
                      ((3, 7), (5, 11), (7, 13), (11, 17), (13, 19), (17, 23), (19, 29), (23, 31), (29, 37)))


def _certainly_nonzero(expr: sympy.Expr) -> bool:
    """True when ``expr`` is provably not the zero function: its value at :data:`_SCREEN_POINT` is a finite
    number whose magnitude exceeds the error bound of SymPy's evaluation (``evalf`` raises its working
    precision until 30 digits are correct, so a value beyond 1e-20 is not rounding noise). False means "not
    decided here" (a zero value, a pole, undefined functions of the parameters, or more symbols than points)."""
    symbols = sorted(expr.free_symbols, key=lambda x: x.name)
    if len(symbols) > len(_SCREEN_POINT) or expr.has(sympy.core.function.AppliedUndef):
        return False
    if expr.has(sympy.Derivative):  # unevaluated derivatives of re(u), im(u) (from |u|): parameters are real
        expr = expr.xreplace({x: sympy.Symbol(x.name, real=True) for x in symbols}).doit()
        symbols = sorted(expr.free_symbols, key=lambda x: x.name)
        if expr.has(sympy.Derivative):
            return False
    value = expr.xreplace(dict(zip(symbols, _SCREEN_POINT, strict=False))).evalf(30)
    return bool(value.is_number and value.is_finite and abs(value) > sympy.Float("1e-20", 30))


def _is_zero(expr: sympy.Expr) -> bool:
    """Exact: is ``expr`` identically zero? A nonzero value at one point settles "no" at once (simplify on
    large algebraic expressions, such as Adam's flow with its square roots, can take minutes); "yes" is always
    decided symbolically."""
    expanded = sympy.expand(expr)
    if expanded == 0:
        return True
    if _certainly_nonzero(expanded):
        return False
    return bool(sympy.simplify(expanded) == 0)


@final
@dataclass(frozen=True)
class ModifiedLoss:
    """A modified loss :math:`\\tilde E = \\sum_{k \\le p} h^k E_k`, p = ``truncation``.

    It satisfies :math:`\\tilde f = -\\nabla\\tilde E` through :math:`h^p`.

    ``potentials[k]`` is :math:`E_k` (``potentials[0]`` is the loss itself). It was
    verified by differentiating back: :math:`-\\nabla E_k` equals the flow's h^k term. For
    :math:`E = x^2/2`, :math:`\\tilde E = \\tfrac12 x^2 (1 + \\tfrac h2 + \\tfrac{h^2}3 + \\dots)`:

    >>> import sympy
    >>> x = sympy.Symbol("x")
    >>> loss = modified_flow(x**2 / 2, [x], truncation=2).modified_loss()
    >>> loss.potentials, loss.truncation
    ((x**2/2, x**2/4, x**2/6), 2)
    """

    potentials: tuple[sympy.Expr, ...]
    h: sympy.Symbol
    truncation: int

    @property
    def order(self) -> int:
        """Deprecated name of :attr:`truncation`."""
        return _deprecated_attribute(self.truncation, "ModifiedLoss")

    @property
    def expr(self) -> sympy.Expr:
        """:math:`\\tilde E` as one expression in h."""
        return sympy.Add(*(self.h**k * e for k, e in enumerate(self.potentials)))

    def __str__(self) -> str:
        """The loss as ``(E_0) + h*(E_1) + h^2*(E_2) + ...``; vanishing terms are left out."""
        terms = [
            f"({compact(e)})" if k == 0 else f"{self.h}^{k}*({compact(e)})" if k > 1 else f"{self.h}*({compact(e)})"
            for k, e in enumerate(self.potentials)
            if k == 0 or not _is_zero(e)
        ]
        return " + ".join(terms)

    def _latex(self, printer: Any = None) -> str:
        parts = [sympy.latex(compact(self.potentials[0]))]
        for k, e in enumerate(self.potentials[1:], start=1):
            if _is_zero(e):
                continue
            hk = sympy.latex(self.h**k)
            parts.append(rf"{hk} \left({sympy.latex(compact(e))}\right)")
        return r"\tilde E = " + " + ".join(parts)

    def _repr_latex_(self) -> str:
        return f"${self._latex()}$"


@final
@dataclass(frozen=True)
class ModifiedFlow:
    """The modified flow of a method on :math:`f = -\\nabla E`, truncated after :math:`h^p`.

    Build it with :func:`modified_flow`. ``terms[k]`` is the coefficient of h^k (a
    column), for k = 0..``truncation``. For :math:`E = x^2/2` the series is :math:`\\log(1 - h)\\,x/h`:

    >>> import sympy
    >>> x = sympy.Symbol("x")
    >>> modified_flow(x**2 / 2, [x], truncation=2).field()
    Matrix([[-h**2*x/3 - h*x/2 - x]])

    Reference: Hairer--Lubich--Wanner, *Geometric Numerical Integration*, 2nd ed., section IX.1.
    """

    loss: sympy.Expr | None
    params: tuple[sympy.Symbol, ...]
    h: sympy.Symbol
    truncation: int
    method: Method
    terms: tuple[sympy.ImmutableMatrix, ...]
    problem: Problem | None = None
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def order(self) -> int:
        """Deprecated name of :attr:`truncation`."""
        return _deprecated_attribute(self.truncation, "ModifiedFlow")

    @property
    def data_symbols(self) -> tuple[sympy.Symbol, ...]:
        """Free symbols of the loss and the terms that are neither parameters nor h (data), sorted by name."""
        found: set[Any] = set() if self.loss is None else set(self.loss.free_symbols)
        for term in self.terms:
            found |= term.free_symbols
        return tuple(sorted(found - set(self.params) - {self.h}, key=str))

    @property
    def subject(self) -> str:
        """What the flow is of, for printing: ``E = <loss>``, a game, or a map's own update."""
        if self.loss is not None:
            return f"E = {self.loss}"
        if self.problem is not None and self.problem.blocks:
            return "a game with losses " + ", ".join(map(str, self.problem.losses))
        return "its own update"

    def field(self, truncation: int | None = None, *, order: int | None = None) -> sympy.ImmutableMatrix:
        """:math:`\\sum_{k \\le p} h^k\\, \\text{terms}[k]`, p = ``truncation`` (default: all terms).

        ``order=`` is a deprecated name of ``truncation=``.
        """
        truncation = renamed_keyword(truncation, order, new_name="truncation", old_name="order",
                                     where="ModifiedFlow.field", default=None)
        p = self._check_power(self.truncation if truncation is None else truncation)
        total = sympy.zeros(len(self.params), 1)
        for k in range(p + 1):
            total += self.terms[k] * self.h**k
        return sympy.ImmutableMatrix(total)

    def _check_power(self, k: object) -> int:
        return check_truncation(k, name="power of h", maximum=self.truncation)

    def _antisymmetric_entries(self, k: int) -> sympy.ImmutableMatrix:
        """:math:`(J - J^T)/2` of term k with every identically zero entry replaced by 0 (not factored)."""
        key = f"antisym-raw{k}"
        if key not in self._cache:
            jac = self.terms[k].jacobian(self.params)
            self._cache[key] = sympy.ImmutableMatrix((jac - jac.T) / 2).applyfunc(lambda e: 0 if _is_zero(e) else e)
        result: sympy.ImmutableMatrix = self._cache[key]
        return result

    def antisymmetric_part(self, k: int) -> sympy.ImmutableMatrix:
        """:math:`(J - J^T)/2` of the Jacobian J of term k, factored; zero iff the term is a gradient."""
        k = self._check_power(k)
        key = f"antisym{k}"
        if key not in self._cache:
            self._cache[key] = self._antisymmetric_entries(k).applyfunc(lambda e: 0 if e == 0 else sympy.factor(e))
        result: sympy.ImmutableMatrix = self._cache[key]
        return result

    def is_gradient(self, k: int) -> bool:
        """Exact test: is the h^k term a gradient field (symmetric Jacobian)?

        On a simply connected domain a field is a gradient iff its Jacobian is
        symmetric (Poincaré's lemma). For gradient descent the h^1 term
        :math:`-\\tfrac12 Hg = -\\nabla \\tfrac14\\|g\\|^2` always is one; the h^2 term
        :math:`-\\tfrac13 H^2g - \\tfrac1{12}T[g,g]` in general is not:

        >>> import sympy
        >>> a, b = sympy.symbols("a b")
        >>> flow = modified_flow(a**4/4 + a*b + b**2, [a, b], truncation=2)
        >>> flow.is_gradient(1), flow.is_gradient(2), flow.gradient_through
        (True, False, 1)
        """
        return bool(self._antisymmetric_entries(self._check_power(k)).is_zero_matrix)

    @property
    def gradient_through(self) -> int:
        """The largest K such that every term h^0..h^K is a gradient."""
        for k in range(self.truncation + 1):
            if not self.is_gradient(k):
                return k - 1
        return self.truncation

    def modified_loss(self, truncation: int | None = None, *, order: int | None = None) -> ModifiedLoss:
        """The modified loss :math:`\\tilde E` through :math:`h^p`, p = ``truncation`` (default: the flow's).

        Each potential is found by integrating along one parameter after another and
        verified by differentiating back. Raises :class:`NotAGradientFieldError`,
        naming the first power of h whose term is not a gradient and showing its
        antisymmetric Jacobian part, when no loss exists through ``truncation``.
        ``order=`` is a deprecated name of ``truncation=``.

        >>> import sympy
        >>> a, b = sympy.symbols("a b")
        >>> flow = modified_flow((1 - a*b)**2 / 2, [a, b], truncation=1)
        >>> loss = flow.modified_loss()
        >>> sympy.factor(loss.potentials[1])  # (1/4)||grad E||^2
        (a**2 + b**2)*(a*b - 1)**2/4
        """
        truncation = renamed_keyword(truncation, order, new_name="truncation", old_name="order",
                                     where="ModifiedFlow.modified_loss", default=None)
        p = self._check_power(self.truncation if truncation is None else truncation)
        for k in range(p + 1):
            if not self.is_gradient(k):
                part = self.antisymmetric_part(k)
                raise NotAGradientFieldError(
                    f"the h^{k} term of the modified flow is not a gradient field, so no modified loss "
                    f"exists through h^{p}; (J - J^T)/2 = {part.tolist()}; "
                    f"modified_loss(truncation={k - 1}) is the largest that exists",
                    power=k,
                    antisymmetric_part=part,
                )
        # E itself is the h^0 potential only where the h^0 term is -grad E (consistent one-step methods);
        # a method with memory or a preconditioner rescales it (heavy-ball: -grad E/(1 - beta)).
        first = [self.loss] if self._leading_term_is_gradient_flow() else []
        potentials = first + [self._potential(k) for k in range(len(first), p + 1)]
        return ModifiedLoss(potentials=tuple(potentials), h=self.h, truncation=p)

    def _leading_term_is_gradient_flow(self) -> bool:
        if self.loss is None:
            return False
        g = gradient(self.loss, self.params)
        return all(_is_zero(self.terms[0][i] + g[i]) for i in range(len(self.params)))

    def _potential(self, k: int) -> sympy.Expr:
        key = f"potential{k}"
        if key in self._cache:
            found: sympy.Expr = self._cache[key]
            return found
        target = -self.terms[k]  # = grad E_k
        potential = sympy.Integer(0)
        for i, p in enumerate(self.params):
            rest = sympy.expand(target[i] - sympy.diff(potential, p))
            potential += sympy.integrate(rest, p)
        potential = compact(potential)
        residual = gradient(potential, self.params) - target
        if not all(_is_zero(r) for r in residual):
            raise InvalidLossError(
                f"could not integrate the h^{k} term into a potential in closed form (SymPy's integrate failed)"
            )
        self._cache[key] = potential
        return potential

    def igr(self) -> dict[str, sympy.Expr]:
        """The implicit-gradient-regularisation quantities of Barrett & Dherin (2021).

        ``R_IG`` :math:`= \\|\\nabla E\\|^2/m`, ``lambda`` :math:`= hm/4`, and
        ``loss`` :math:`= E + \\lambda R_{IG}` (the GD modified loss through h).
        """
        if self.loss is None:
            raise InvalidLossError(f"the IGR quantities need a loss; the flow of {self.method.name} has none")
        if self.method.name != "explicit_euler":
            raise BeaValueError(
                f"the IGR quantities (Barrett & Dherin 2021) are gradient descent's; this flow is of "
                f"{self.method.name}: use modified_loss() for its own modified loss"
            )
        m = len(self.params)
        r_ig = sum((g**2 for g in gradient(self.loss, self.params)), sympy.Integer(0)) / m
        lam = self.h * m / 4
        return {"R_IG": r_ig, "lambda": lam, "loss": self.loss + lam * r_ig}

    def size(self, k: int) -> int:
        """The size (``sympy.count_ops``) of the h^k term in its compact form."""
        k = self._check_power(k)
        return int(sum(sympy.count_ops(compact(e)) for e in self.terms[k]))

    def compact_terms(self) -> tuple[sympy.ImmutableMatrix, ...]:
        """The terms in canonical compact form (factored where that is smaller)."""
        if "compact" not in self._cache:
            self._cache["compact"] = tuple(t.applyfunc(compact) for t in self.terms)
        result: tuple[sympy.ImmutableMatrix, ...] = self._cache["compact"]
        return result

    def latex(self) -> str:
        r"""The flow as an aligned LaTeX block, one line per power of h.

        >>> import sympy
        >>> x = sympy.Symbol("x")
        >>> code = modified_flow(x**2 / 2, [x], truncation=1).latex()
        >>> print(code.replace(r" \\ ", "\n"))
        \begin{aligned}\dot{x} = &  \left[\begin{matrix}- x\end{matrix}\right]
        & + h \left[\begin{matrix}- \frac{x}{2}\end{matrix}\right]\end{aligned}
        """
        if len(self.params) == 1:
            theta = rf"\dot{{{sympy.latex(self.params[0])}}}"
        else:
            theta = r"\frac{d}{dt}" + str(sympy.latex(sympy.Matrix(self.params)))
        rows = []
        for k, term in enumerate(self.compact_terms()):
            hk = "" if k == 0 else sympy.latex(self.h**k)
            rows.append(rf"& {'' if k == 0 else '+ '}{hk} {sympy.latex(term)}")
        return r"\begin{aligned}" + theta + " = " + r" \\ ".join(rows) + r"\end{aligned}"

    def _latex(self, printer: Any = None) -> str:
        return self.latex()

    def _repr_latex_(self) -> str:
        return f"$${self.latex()}$$"

    def __str__(self) -> str:
        lines = [f"modified flow of {self.method.name} on {self.subject}, params {list(self.params)}"]
        for k, term in enumerate(self.compact_terms()):
            lines.append(f"  h^{k}: {list(term)}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: loss, params, h, method, truncation, and per term its components,
        LaTeX, gradient status and size (schema in ``docs/conventions.md``)."""
        return {
            "loss": None if self.loss is None else str(self.loss),
            "params": [str(p) for p in self.params],
            "data_symbols": [str(s) for s in self.data_symbols],
            "h": str(self.h),
            "method": self.method.name,
            "truncation": self.truncation,
            "terms": [
                {
                    "power": k,
                    "components": [str(e) for e in term],
                    "latex": sympy.latex(term),
                    "is_gradient": self.is_gradient(k),
                    "size": self.size(k),
                }
                for k, term in enumerate(self.compact_terms())
            ],
            "gradient_through": self.gradient_through,
        }


def _validate(loss: object, params: object, h: object) -> tuple[sympy.Expr, tuple[sympy.Symbol, ...], sympy.Symbol]:
    if isinstance(loss, sympy.MatrixBase):
        if loss.shape != (1, 1):
            raise InvalidLossError(f"the loss must be a scalar expression, got a matrix of shape {loss.shape}")
        loss = loss[0, 0]
    if not isinstance(loss, sympy.Expr):
        raise BeaTypeError(f"the loss must be a SymPy expression, got {loss!r}")
    check_finite(loss, "the loss", InvalidLossError)
    if loss.has(sympy.I):
        raise InvalidLossError(f"the loss {loss} holds the imaginary unit I; a loss must be real")
    if not loss.free_symbols:
        names = ", ".join(map(str, params)) if isinstance(params, (list, tuple)) else str(params)
        raise InvalidLossError(
            f"the loss is the constant {loss}, which does not depend on the parameters ({names}); "
            "its gradient flow is zero"
        )
    if loss.atoms(sympy.Float):
        raise BeaTypeError(f"the loss {loss} holds floats; bea is exact: use sympy.Rational")
    if isinstance(params, sympy.Symbol):
        params = [params]
    if not isinstance(params, (list, tuple)) or not params:
        raise BeaTypeError(f"params must be a non-empty list of SymPy symbols, got {params!r}")
    for p in params:
        if not isinstance(p, sympy.Symbol):
            raise BeaTypeError(f"every parameter must be a SymPy Symbol, got {p!r}")
    seen: set[sympy.Symbol] = set()
    for p in params:
        if p in seen:
            raise InvalidLossError(f"parameter {p} is listed twice")
        seen.add(p)
        if p not in loss.free_symbols:
            raise InvalidLossError(f"parameter {p} does not occur in the loss {loss}")
    return loss, tuple(params), _check_h(h, frozenset(loss.free_symbols), "the loss")


def _check_h(h: object, symbols: frozenset[sympy.Symbol], where: str) -> sympy.Symbol:
    if h is None:
        h = sympy.Symbol("h", positive=True)
    if not isinstance(h, sympy.Symbol):
        raise BeaTypeError(f"h must be a SymPy Symbol, got {h!r}")
    if any(h.name == s.name for s in symbols):
        raise InvalidLossError(f"the step-size symbol {h} also occurs in {where}; choose another name for h")
    return h


def validate_problem(
    loss: object, params: object, h: object
) -> tuple[sympy.Expr, tuple[sympy.Symbol, ...], sympy.Symbol]:
    """The checks of :func:`modified_flow` on (loss, params, h), for other methods' flows; returns them
    normalised (h defaults to a positive symbol ``h``). Raises :class:`BeaTypeError` or
    :class:`InvalidLossError` naming the bad value."""
    return _validate(loss, params, h)


def modified_flow(
    loss: sympy.Expr | Problem,
    params: Sequence[sympy.Symbol] | None = None,
    truncation: int = 1,
    method: Method | str = methods.explicit_euler,
    h: sympy.Symbol | None = None,
    *,
    order: int | None = None,
) -> ModifiedFlow:
    """The modified flow of ``method`` on :math:`\\dot\\theta = -\\nabla E`, through :math:`h^p`, p = ``truncation``.

    ``params`` are the parameter symbols; every other free symbol of ``loss`` is
    data and stays symbolic. ``truncation=1`` is the IGR level; ``truncation=0`` the gradient
    flow. ``truncation=p`` keeps the terms :math:`h^0, \\dots, h^p`, so it uses the trees
    with at most p + 1 nodes (``modified_equation(method, p + 1)``: a series of order p + 1).
    ``order=`` is the deprecated name of ``truncation=`` (a ``DeprecationWarning``).
    Raises :class:`~bea.errors.BeaTypeError` for a non-integer truncation and
    :class:`~bea.errors.InvalidTruncationError` for a negative one.

    ``method`` is any :class:`~bea.methods.Method` (a Runge--Kutta tableau, a one-step map, a composition
    of steps...) or a catalogue name (``"gd"``, ``"rk4"``). ``loss`` may also be a
    :class:`~bea.methods.Problem` (several minibatch losses, a game, a vector field, bare parameters for a
    one-step map); ``params`` is then taken from it. The terms come from ``method.modified_terms``; for a
    Runge--Kutta method the h^k term is
    :math:`f_{k+1} = \\sum_{|\\tau| = k+1} \\frac{b(\\tau)}{\\sigma(\\tau)} F(\\tau)` for :math:`f = -\\nabla E`.
    In one dimension, for :math:`E = x^4/4`:

    >>> import sympy
    >>> x = sympy.Symbol("x")
    >>> flow = modified_flow(x**4 / 4, [x], truncation=2)
    >>> flow.terms
    (Matrix([[-x**3]]), Matrix([[-3*x**5/2]]), Matrix([[-7*x**7/2]]))
    >>> print(flow.modified_loss())
    (x**4/4) + h*(x**6/4) + h^2*(7*x**8/16)
    >>> modified_flow(x**4 / 4, [x], truncation=2, method="gd").terms == flow.terms
    True
    """
    truncation = renamed_keyword(truncation, order, new_name="truncation", old_name="order",
                                 where="modified_flow", default=1)
    p = check_truncation(truncation)
    meth = resolve(method)
    if isinstance(loss, Problem):
        problem = loss
        if params is not None and tuple(params) != problem.params:
            raise InvalidLossError(f"params {list(params)} differ from the problem's {list(problem.params)}")
        hs = _check_h(h, problem.symbols(), "the problem")
    else:
        expr, ps, hs = _validate(loss, params, h)
        for q in ps:
            where = f"the derivative of the loss {expr} with respect to {q}"
            check_finite(sympy.diff(expr, q), where, InvalidLossError)
        problem = Problem.gradient(expr, ps)
    terms = meth.modified_terms(problem, p, hs)
    m = len(problem.params)
    if len(terms) != p + 1 or any(getattr(t, "shape", None) != (m, 1) for t in terms):
        raise BeaTypeError(f"{meth.name}.modified_terms must return {p + 1} columns of {m} entries, got {terms!r}")
    return ModifiedFlow(
        loss=problem.loss, params=problem.params, h=hs, truncation=p, method=meth,
        terms=tuple(sympy.ImmutableMatrix(t) for t in terms), problem=problem,
    )


def _deprecated_attribute(value: int, owner: str) -> int:
    warnings.warn(f"{owner}.order is deprecated, use .truncation ('order' is the number of nodes of a tree)",
                  DeprecationWarning, stacklevel=3)
    return value
