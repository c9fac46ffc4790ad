r"""Modified Hamiltonians of symplectic methods, exactly, through any power of h.

A symplectic one-step method applied to :math:`\dot q = H_p(q, p)`, :math:`\dot p = -H_q(q, p)` has a
modified equation that is again Hamiltonian (Hairer--Lubich--Wanner, *Geometric Numerical Integration*,
2nd ed., ch. IX.3): its exact time-h flow reproduces the step through any power of h, and

.. math::
    \tilde H = H + h H_2 + h^2 H_3 + \dots, \qquad
    \dot{\tilde y} = J^{-1}\nabla\tilde H(\tilde y), \quad J^{-1}\nabla G = (G_p, -G_q).

Route (independent of the tree formulas of :mod:`bea.modified`):

1. the step :math:`\Phi_h(q, p)` of a (partitioned) Runge--Kutta method as a power series in h: the stage
   equations are solved by fixed-point iteration in powers of h, exactly (each sweep fixes one more power;
   the fields at the stages are expanded by Taylor's formula around :math:`(q, p)`);
2. Lie-series matching (HLW ch. IX.1): the modified field :math:`\tilde f = f_1 + h f_2 + \dots` is fixed
   power by power by :math:`\exp(h L_{\tilde f})\,y = \Phi_h(y)`;
3. each :math:`f_{k}` must be Hamiltonian: :math:`(-f_k^p, f_k^q)` must have a symmetric Jacobian (checked
   exactly); then :math:`H_k` is its line integral along the coordinate path from the base point (so
   :math:`H_k` vanishes there, :math:`k \ge 2`) and is verified by differentiating back.

Symplectic Euler that updates p first (HLW (I.1.9)) on the pendulum gives
:math:`\tilde H = H - \tfrac h2 H_p H_q + O(h^2)` (HLW ch. IX.3):

>>> import sympy
>>> q, p = sympy.symbols("q p")
>>> mh = modified_hamiltonian("symplectic_euler", p**2/2 - sympy.cos(q), [q], [p], truncation=2)
>>> mh.terms[1], mh.terms[2]
(-p*sin(q)/2, p**2*cos(q)/12 + sin(q)**2/12)
>>> mh.verify()
True

For the oscillator, implicit midpoint turns at frequency (2/h) arctan(h/2) = 1 - h²/12 + ...:

>>> from bea.methods import implicit_midpoint
>>> modified_hamiltonian(implicit_midpoint, p**2/2 + q**2/2, [q], [p], truncation=2).terms
(p**2/2 + q**2/2, 0, -p**2/24 - q**2/24)
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, final

import sympy

from bea import methods
from bea.errors import BeaTypeError, BeaValueError, InvalidOrderError, NotHamiltonianError, UnknownMethodError
from bea.flows import compact

__all__ = [
    "ModifiedHamiltonian",
    "hamiltonian_vector_field",
    "method_by_name",
    "modified_hamiltonian",
    "step_series",
    "tableau_pair",
]

Vector = list[sympy.Expr]


# ----------------------------------------------------------------------------- the method as two tableaux


@dataclass(frozen=True)
class _Tableaux:
    """A partitioned Runge--Kutta pair: (A, b) applied to the q-field, (Â, b̂) to the p-field."""

    name: str
    A_q: tuple[tuple[sympy.Expr, ...], ...]
    b_q: tuple[sympy.Expr, ...]
    A_p: tuple[tuple[sympy.Expr, ...], ...]
    b_p: tuple[sympy.Expr, ...]


def _canonical_number(x: object) -> sympy.Expr:
    # a + b*2^(1/3) + ...: radsimp clears radicals from denominators, so products expand canonically
    return sympy.expand(sympy.radsimp(sympy.sympify(x)))


def method_by_name(name: str) -> object:
    """A Runge--Kutta or partitioned Runge--Kutta method of the catalogue, by name (case-insensitive).

    >>> method_by_name("leapfrog").name, method_by_name("Implicit-Midpoint").name
    ('stormer_verlet', 'implicit_midpoint')
    """
    if not isinstance(name, str):
        raise BeaTypeError(f"a method name must be a string, got {name!r}")
    key = name.strip().lower().replace("-", "_")
    if key in methods.PARTITIONED_NAMES:
        return methods.PARTITIONED_NAMES[key]
    if key in methods.NAMES or key in methods.CONSTRUCT:
        return methods.by_name(name)  # refuses optimiser names ("adam", "sgd") with what to construct
    known = sorted({*methods.NAMES, *methods.PARTITIONED_NAMES})
    raise UnknownMethodError(f"unknown method {name!r}; known methods: {', '.join(known)}")


def tableau_pair(method: object) -> tuple[Any, Any, Any, Any]:
    """``(A_q, b_q, A_p, b_p)`` of a partitioned Runge--Kutta method, or ``(A, b, A, b)`` of a Runge--Kutta
    method, exact (radicals out of denominators); a name is looked up with :func:`method_by_name`.

    >>> tableau_pair("symplectic_euler")
    (((0,),), (1,), ((1,),), (1,))
    """
    tab = _tableaux(method)
    return tab.A_q, tab.b_q, tab.A_p, tab.b_p


def _tableaux(method: object) -> _Tableaux:
    """The two tableaux of a partitioned Runge--Kutta method, or of a Runge--Kutta method (the same twice)."""
    if isinstance(method, _Tableaux):
        return method
    if isinstance(method, str):
        method = method_by_name(method)
    found: Any = method
    name = str(getattr(found, "name", type(found).__name__))
    if all(hasattr(found, a) for a in ("A_q", "b_q", "A_p", "b_p")):  # partitioned
        A_q, b_q, A_p, b_p = found.A_q, found.b_q, found.A_p, found.b_p
    elif all(hasattr(found, a) for a in ("A", "b")):  # Runge--Kutta
        A_q = A_p = found.A
        b_q = b_p = found.b
    else:
        raise BeaTypeError(
            f"modified_hamiltonian needs a Runge-Kutta or partitioned Runge-Kutta method (or its name), "
            f"got {method!r}"
        )
    return _Tableaux(
        name,
        tuple(tuple(_canonical_number(x) for x in row) for row in A_q),
        tuple(_canonical_number(x) for x in b_q),
        tuple(tuple(_canonical_number(x) for x in row) for row in A_p),
        tuple(_canonical_number(x) for x in b_p),
    )


# ----------------------------------------------------------------------------- exact zero test


def _probe_points(symbols: Sequence[sympy.Symbol], count: int = 3) -> list[dict[sympy.Symbol, sympy.Rational]]:
    rng = random.Random(20260)  # fixed: the test is deterministic
    return [{s: sympy.Rational(rng.randint(300, 900), 1000) for s in symbols} for _ in range(count)]


def _vanishes(expr: sympy.Expr) -> bool:
    """Exactly decide whether ``expr`` is identically zero (raises if SymPy cannot decide)."""
    expr = sympy.expand(expr)
    if expr == 0:
        return True
    symbols = sorted(expr.free_symbols, key=str)
    for point in _probe_points(symbols):
        value = sympy.N(expr.xreplace(point), 40)
        if value.is_number and value != 0 and abs(value) > sympy.Float("1e-25", 40):
            return False  # evalf controls its error: a value this far from 0 is not 0
    if sympy.cancel(sympy.together(expr)) == 0:
        return True
    if sympy.expand(expr.rewrite(sympy.exp)) == 0 or sympy.simplify(expr) == 0:
        return True
    raise BeaValueError(f"could not decide exactly whether {expr} vanishes (it does numerically)")


# ----------------------------------------------------------------------------- the step as a series in h


def _derivative_table(fields: Vector, y: Sequence[sympy.Symbol]) -> Any:
    cache: dict[tuple[int, ...], Vector] = {(): list(fields)}

    def derivative(alpha: tuple[int, ...]) -> Vector:
        found = cache.get(alpha)
        if found is None:
            found = [sympy.diff(e, y[alpha[-1]]) for e in derivative(alpha[:-1])]
            cache[alpha] = found
        return found

    return derivative


def _multi_indices(dim: int, total: int) -> list[tuple[int, ...]]:
    """Sorted index tuples (j1 <= j2 <= ...) of length ``total``: one per multi-index of size ``total``."""
    out: list[tuple[int, ...]] = [()]
    for _ in range(total):
        out = [(*t, j) for t in out for j in range(t[-1] if t else 0, dim)]
    return out


def step_series(method: object, fields: Sequence[sympy.Expr], y: Sequence[sympy.Symbol], truncation: int,
                n_q: int | None = None) -> list[Vector]:
    r"""The coefficients :math:`d_1, \dots, d_N` of :math:`\Phi_h(y) = y + \sum_k h^k d_k + O(h^{N+1})`.

    ``fields`` is the vector field (length m, in the symbols ``y``); with a partitioned method its first
    ``n_q`` components (default m/2) are integrated with the q-tableau, the rest with the p-tableau.
    The stage increments :math:`Z_i = \sum_{k \ge 1} h^k z_{i,k}` satisfy
    :math:`z_{i,k} = \sum_j a_{ij}\,[h^{k-1}]\,f(y + Z_j)`, solved power by power (a fixed-point
    iteration that fixes one power per sweep); :math:`[h^m] f(y + Z)` comes from Taylor's formula
    :math:`\sum_\alpha \partial^\alpha f(y)\, Z^\alpha/\alpha!`, exact. Then
    :math:`d_k = \sum_i b_i [h^{k-1}] f(y + Z_i)`.

    Explicit Euler on :math:`y' = y^2`: :math:`\Phi_h(y) = y + h y^2` exactly:

    >>> import sympy
    >>> y = sympy.Symbol("y")
    >>> from bea.methods import explicit_euler, implicit_euler
    >>> step_series(explicit_euler, [y**2], [y], 3)
    [[y**2], [0], [0]]
    >>> step_series(implicit_euler, [y**2], [y], 3)   # y1 = (1 - sqrt(1 - 4hy))/(2h)
    [[y**2], [2*y**3], [5*y**4]]

    Reference: Hairer--Lubich--Wanner, sections III.1 (stage equations) and IX.1.
    """
    tab = _tableaux(method)
    m = len(y)
    split = m // 2 if n_q is None else n_q
    fields = [sympy.sympify(e) for e in fields]
    derivative = _derivative_table(fields, y)
    s = len(tab.b_q)
    if len(tab.b_p) != s:
        raise BeaValueError(f"{tab.name}: the two tableaux have {s} and {len(tab.b_p)} stages")
    # z[i][k] (k >= 1): coefficient of h^k of stage increment i; F[i][k]: coefficient of h^k of f(Y_i)
    z: list[dict[int, Vector]] = [{} for _ in range(s)]
    F: list[dict[int, Vector]] = [{} for _ in range(s)]
    powers: list[dict[tuple[tuple[int, ...], int], sympy.Expr]] = [{} for _ in range(s)]
    nonzero: dict[tuple[int, ...], bool] = {}

    def power_coef(i: int, alpha: tuple[int, ...], k: int) -> sympy.Expr:
        """[h^k] of prod_j Z_{i, alpha_j} (alpha a sorted index tuple)."""
        if not alpha:
            return sympy.Integer(1 if k == 0 else 0)
        if k < len(alpha):
            return sympy.Integer(0)
        key = (alpha, k)
        found = powers[i].get(key)
        if found is None:
            head, rest = alpha[0], alpha[1:]
            total = sympy.Integer(0)
            for j in range(1, k - len(rest) + 1):
                zc = z[i][j][head]
                if zc != 0:
                    total += zc * power_coef(i, rest, k - j)
            found = sympy.expand(total)
            powers[i][key] = found
        return found

    def is_nonzero(alpha: tuple[int, ...]) -> bool:
        found = nonzero.get(alpha)
        if found is None:
            found = any(e != 0 for e in derivative(alpha))
            nonzero[alpha] = found
        return found

    for k in range(1, truncation + 1):
        for i in range(s):  # F[i][k-1] needs z[i][1..k-1]
            total: Vector = [sympy.Integer(0)] * m
            for size in range(k):
                for alpha in _multi_indices(m, size):
                    if not is_nonzero(alpha):
                        continue
                    weight = power_coef(i, alpha, k - 1)
                    if weight == 0:
                        continue
                    factor = weight / math.prod(math.factorial(alpha.count(j)) for j in set(alpha))
                    total = [t + d * factor for t, d in zip(total, derivative(alpha), strict=True)]
            F[i][k - 1] = [sympy.expand(t) for t in total]
        for i in range(s):
            z[i][k] = [
                sympy.expand(sum(
                    ((tab.A_q if c < split else tab.A_p)[i][j] * F[j][k - 1][c] for j in range(s)),
                    sympy.Integer(0),
                ))
                for c in range(m)
            ]
    return [
        [
            sympy.expand(sum(((tab.b_q if c < split else tab.b_p)[i] * F[i][k - 1][c] for i in range(s)),
                             sympy.Integer(0)))
            for c in range(m)
        ]
        for k in range(1, truncation + 1)
    ]


# ----------------------------------------------------------------------------- Lie-series matching


def _lie(u: Vector, v: Vector, y: Sequence[sympy.Symbol]) -> Vector:
    """:math:`(u\\cdot\\nabla) v`, the derivative of v along u."""
    return [sympy.expand(sum((ui * sympy.diff(vc, yi) for ui, yi in zip(u, y, strict=True) if ui != 0),
                             sympy.Integer(0))) for vc in v]


def _match_lie_series(d: list[Vector], y: Sequence[sympy.Symbol]) -> list[Vector]:
    r"""Fields :math:`f_1..f_N` with :math:`\exp(h L_{\tilde f}) y = y + \sum_k h^k d_k` through h^N.

    :math:`D^m y` is graded by powers of h: :math:`G_m[j] = \sum_{i \le j} (f_{i+1}\cdot\nabla) G_{m-1}[j-i]`,
    :math:`G_1[j] = f_{j+1}`; then :math:`f_{k+1} = d_{k+1} - \sum_{m=2}^{k+1} G_m[k+1-m]/m!` (HLW IX.1).
    """
    f: list[Vector] = []
    G: dict[tuple[int, int], Vector] = {}

    def graded(m: int, j: int) -> Vector:
        if m == 1:
            return f[j]
        found = G.get((m, j))
        if found is None:
            total: Vector = [sympy.Integer(0)] * len(y)
            for i in range(j + 1):
                part = _lie(f[i], graded(m - 1, j - i), y)
                total = [a + b for a, b in zip(total, part, strict=True)]
            found = [sympy.expand(t) for t in total]
            G[(m, j)] = found
        return found

    for k in range(len(d)):
        term = list(d[k])
        for m in range(2, k + 2):
            part = graded(m, k + 1 - m)
            term = [a - b / math.factorial(m) for a, b in zip(term, part, strict=True)]
        f.append([sympy.expand(t) for t in term])
    return f


# ----------------------------------------------------------------------------- Hamiltonians


def hamiltonian_vector_field(
    H: sympy.Expr, q: Sequence[sympy.Symbol], p: Sequence[sympy.Symbol]
) -> sympy.ImmutableMatrix:
    r""":math:`J^{-1}\nabla H = (H_{p_1}, \dots, H_{p_n}, -H_{q_1}, \dots, -H_{q_n})` as a column.

    >>> import sympy
    >>> q, p = sympy.symbols("q p")
    >>> hamiltonian_vector_field(p**2/2 - sympy.cos(q), [q], [p]).T
    Matrix([[p, -sin(q)]])
    """
    return sympy.ImmutableMatrix([sympy.diff(H, v) for v in p] + [-sympy.diff(H, v) for v in q])


def _potential(grad: Vector, y: Sequence[sympy.Symbol], base: Sequence[sympy.Expr], power: int) -> sympy.Expr:
    """Line integral of ``grad`` along the coordinate path from ``base`` to y (y_1 first, then y_2, ...)."""
    s = sympy.Dummy("s")
    total = sympy.Integer(0)
    for i, v in enumerate(y):
        # on segment i: coordinates before i are at y, coordinate i runs from base_i to y_i, the rest at base
        integrand = grad[i].xreplace({w: base[j] for j, w in enumerate(y) if j > i}).xreplace({v: s})
        integrand = sympy.expand(integrand)
        if integrand == 0 or _vanishes(integrand):
            continue
        if not integrand.is_polynomial(s):
            integrand = sympy.factor(sympy.together(integrand))
        antiderivative = sympy.integrate(integrand, s)
        if antiderivative.has(sympy.Integral):
            raise BeaValueError(f"SymPy could not integrate the h^{power} term {integrand} in closed form")
        start = antiderivative.subs(s, base[i])
        if start.has(sympy.zoo, sympy.oo, -sympy.oo, sympy.nan):
            raise BeaValueError(
                f"the h^{power} term is singular at the base point {list(base)}; pass another base_point"
            )
        total += antiderivative.subs(s, v) - start
    return sympy.expand(total)


def _check_hamiltonian(term: Vector, n: int, y: Sequence[sympy.Symbol]) -> tuple[Vector, sympy.ImmutableMatrix]:
    """The gradient (∂G/∂q, ∂G/∂p) = (-f^p, f^q) that a Hamiltonian term would have, and the
    antisymmetric part of its Jacobian (zero iff the term is Hamiltonian)."""
    grad = [-e for e in term[n:]] + list(term[:n])
    m = 2 * n
    anti = sympy.zeros(m, m)
    for i in range(m):
        for j in range(i + 1, m):
            diff = sympy.expand((sympy.diff(grad[i], y[j]) - sympy.diff(grad[j], y[i])) / 2)
            if not _vanishes(diff):
                anti[i, j], anti[j, i] = diff, -diff
    return grad, sympy.ImmutableMatrix(anti)


@final
@dataclass(frozen=True)
class ModifiedHamiltonian:
    r"""The modified Hamiltonian :math:`\tilde H = \sum_{k=0}^{P} h^k\,\text{terms}[k]` of a method on H.

    ``terms[k]`` is the coefficient of :math:`h^k` (HLW's :math:`H_{k+1}`; ``terms[0]`` is H itself);
    each is normalised to vanish at ``base_point`` (k ≥ 1). ``field_terms[k]`` is the coefficient of
    :math:`h^k` of the method's modified equation on this problem (a column in the order
    :math:`(q_1..q_n, p_1..p_n)`), from the Lie-series route. :meth:`verify` checks, exactly, that
    :math:`J^{-1}\nabla\,\text{terms}[k] = \text{field\_terms}[k]` for every k. Build it with
    :func:`modified_hamiltonian`; ``method`` is the method's name.

    Reference: Hairer--Lubich--Wanner, *Geometric Numerical Integration*, 2nd ed., ch. IX.3.
    """

    method: str
    hamiltonian: sympy.Expr
    q: tuple[sympy.Symbol, ...]
    p: tuple[sympy.Symbol, ...]
    h: sympy.Symbol
    truncation: int
    terms: tuple[sympy.Expr, ...]
    field_terms: tuple[sympy.ImmutableMatrix, ...]
    base_point: tuple[sympy.Expr, ...]

    def __post_init__(self) -> None:
        if len(self.terms) != self.truncation + 1 or len(self.field_terms) != self.truncation + 1:
            raise BeaValueError(
                f"a modified Hamiltonian through h^{self.truncation} needs {self.truncation + 1} terms, "
                f"got {len(self.terms)} terms and {len(self.field_terms)} field terms"
            )
        if len(self.q) != len(self.p) or len(self.base_point) != 2 * len(self.q):
            raise BeaValueError(f"mismatched q {list(self.q)}, p {list(self.p)}, base point {list(self.base_point)}")

    @property
    def expr(self) -> sympy.Expr:
        r""":math:`\tilde H` through :math:`h^P` as one expression in h."""
        return self.truncated(self.truncation)

    def truncated(self, truncation: int) -> sympy.Expr:
        r""":math:`\sum_{k \le \text{truncation}} h^k\,\text{terms}[k]`."""
        if isinstance(truncation, bool) or not isinstance(truncation, int):
            raise BeaTypeError(f"truncation must be an int, got {truncation!r}")
        if not 0 <= truncation <= self.truncation:
            raise InvalidOrderError(f"truncation {truncation} is outside 0..{self.truncation} held here")
        return sympy.Add(*(self.h**k * e for k, e in enumerate(self.terms[: truncation + 1])))

    @property
    def state(self) -> tuple[sympy.Symbol, ...]:
        """The state symbols in the order of ``field_terms``: (q_1..q_n, p_1..p_n)."""
        return (*self.q, *self.p)

    def vector_field(self, k: int) -> sympy.ImmutableMatrix:
        r""":math:`J^{-1}\nabla\,\text{terms}[k] = (\partial_p, -\partial_q)\,\text{terms}[k]`."""
        if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k <= self.truncation:
            raise InvalidOrderError(f"power {k!r} is outside 0..{self.truncation}")
        return hamiltonian_vector_field(self.terms[k], self.q, self.p)

    def verify(self) -> bool:
        """Exact check, term by term: the Hamiltonian field of each ``terms[k]`` is ``field_terms[k]``."""
        return all(
            _vanishes(a - b)
            for k in range(self.truncation + 1)
            for a, b in zip(self.vector_field(k), self.field_terms[k], strict=True)
        )

    def compact_terms(self) -> tuple[sympy.Expr, ...]:
        """The terms in a compact form (factored where that is smaller)."""
        return tuple(compact(e) if e.is_polynomial(*self.state) else sympy.factor(e) for e in self.terms)

    def __str__(self) -> str:
        parts = []
        for k, e in enumerate(self.compact_terms()):
            if e == 0:
                continue
            parts.append(f"({e})" if k == 0 else f"{self.h}*({e})" if k == 1 else f"{self.h}**{k}*({e})")
        return " + ".join(parts) if parts else "0"

    def _sympystr(self, printer: Any = None) -> str:
        return f"H~ = {self} + O({self.h}**{self.truncation + 1})"

    def _latex(self, printer: Any = None) -> str:
        parts = []
        for k, e in enumerate(self.compact_terms()):
            if e == 0:
                continue
            body = sympy.latex(e)
            parts.append(body if k == 0 else rf"{sympy.latex(self.h**k)} \left({body}\right)")
        order = sympy.latex(sympy.O(self.h ** (self.truncation + 1)))
        return r"\tilde H = " + " + ".join(parts or ["0"]) + f" + {order}"

    def _repr_latex_(self) -> str:
        return f"${self._latex()}$"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``method``, ``truncation``, ``q``, ``p``, ``h``, ``terms`` (``power``, ``expr``,
        ``latex``) and ``hamiltonian`` (H̃ truncated after h^truncation)."""
        return {
            "method": self.method,
            "truncation": self.truncation,
            "q": [str(v) for v in self.q],
            "p": [str(v) for v in self.p],
            "h": str(self.h),
            "terms": [
                {"power": k, "expr": str(e), "latex": sympy.latex(e)} for k, e in enumerate(self.compact_terms())
            ],
            "hamiltonian": str(self.expr),
        }


# ----------------------------------------------------------------------------- entry point


def _symbols(value: object, what: str) -> tuple[sympy.Symbol, ...]:
    from bea.parsing import parse_params

    if isinstance(value, (str, sympy.Symbol)):
        value = [value]
    if not isinstance(value, Sequence) or not value:
        raise BeaTypeError(f"{what} must be a non-empty list of names or SymPy symbols, got {value!r}")
    out: list[sympy.Symbol] = []
    for v in value:
        if isinstance(v, str):
            out.extend(parse_params(v))
        elif isinstance(v, sympy.Symbol):
            out.append(v)
        else:
            raise BeaTypeError(f"{what}: expected a name or a SymPy Symbol, got {v!r}")
    return tuple(out)


def _prepare(
    H: object, q: object, p: object, substitutions: object
) -> tuple[sympy.Expr, tuple[sympy.Symbol, ...], tuple[sympy.Symbol, ...]]:
    from bea.parsing import parse_loss, parse_substitutions

    qs, ps = _symbols(q, "q"), _symbols(p, "p")
    if len(qs) != len(ps):
        raise BeaValueError(
            f"q and p must have the same length (one momentum per position), got q = {[str(v) for v in qs]} "
            f"and p = {[str(v) for v in ps]}"
        )
    state = (*qs, *ps)
    repeated = sorted({str(v) for v in state if state.count(v) > 1})
    if repeated:
        raise BeaValueError(f"the names {repeated} are declared more than once among q and p")
    if isinstance(H, str):
        H = parse_loss(H)
    if not isinstance(H, sympy.Expr):
        raise BeaTypeError(f"the Hamiltonian must be a string or a SymPy expression, got {H!r}")
    if H.atoms(sympy.Float):
        raise BeaTypeError(f"the Hamiltonian {H} holds floats; bea is exact: use sympy.Rational")
    subs: dict[Any, Any] = {}
    if substitutions is not None:
        if isinstance(substitutions, (str, list, tuple)):
            subs = parse_substitutions(substitutions)
        elif isinstance(substitutions, Mapping):
            subs = {sympy.Symbol(k) if isinstance(k, str) else k: sympy.sympify(v) for k, v in substitutions.items()}
        else:
            raise BeaTypeError(f"substitutions must be a mapping or 'name=value' text, got {substitutions!r}")
        for key, value in subs.items():
            if key in state:
                raise BeaValueError(f"the substitutions give a value to {key}, which is declared as q or p")
            if not isinstance(value, sympy.Expr) or value.free_symbols or value.has(sympy.Float):
                raise BeaValueError(f"the value of {key} must be an exact constant, got {value}")
    expr: sympy.Expr = H.xreplace(subs) if subs else H
    undeclared = sorted(str(v) for v in expr.free_symbols - set(state))
    if undeclared:
        raise BeaValueError(
            f"the Hamiltonian uses {', '.join(undeclared)}, not declared as q or p; declare them or give them "
            "values with substitutions"
        )
    return expr, qs, ps


def modified_hamiltonian(
    method: object,
    H: sympy.Expr | str,
    q: object,
    p: object,
    truncation: int = 2,
    *,
    substitutions: Mapping[Any, Any] | str | Sequence[str] | None = None,
    h: sympy.Symbol | None = None,
    base_point: Sequence[object] | None = None,
) -> ModifiedHamiltonian:
    r"""The modified Hamiltonian of a symplectic method on H(q, p), through :math:`h^{\text{truncation}}`.

    Parameters
    ----------
    method
        A :class:`~bea.methods.RungeKutta` or :class:`~bea.methods.PartitionedRungeKutta` method
        (symplectic Euler and its adjoint, Störmer--Verlet and its adjoint, Lobatto IIIA--IIIB,
        yoshida4, implicit midpoint, Gauss--Legendre, ...), or a catalogue name (:func:`method_by_name`).
    H
        SymPy expression, or a string read by the safe parser (:func:`bea.parsing.parse_loss`).
    q, p
        Position and momentum symbols (or names): one each per degree of freedom, equal lengths.
    truncation
        Keep the terms through :math:`h^{\text{truncation}}` (an int ≥ 1).
    substitutions
        Values of the other names in H (a mapping, or ``"m=1 g=1/2"`` text); names neither declared nor
        given a value are refused.
    h
        The step-size symbol (default: ``Symbol("h", positive=True)``).
    base_point
        The point (q_1..q_n, p_1..p_n) where every correction term vanishes (default: the origin).

    Raises
    ------
    NotHamiltonianError
        When the modified equation's :math:`h^k` term on this problem is not Hamiltonian (the method is
        not symplectic): ``error.power`` is that k, so a modified Hamiltonian exists through
        :math:`h^{k-1}` only. Explicit Euler fails at k = 1, RK4 on the pendulum at k = 4.
    BeaValueError, BeaTypeError, InvalidOrderError
        For bad input, naming the value.

    Examples
    --------
    >>> import sympy
    >>> q, p = sympy.symbols("q p")
    >>> mh = modified_hamiltonian("implicit_midpoint", "p^2/2 - cos(q)", "q", "p", truncation=2)
    >>> mh.terms[1], mh.terms[2]
    (0, -p**2*cos(q)/24 - sin(q)**2/24)

    Reference: Hairer--Lubich--Wanner, *Geometric Numerical Integration*, 2nd ed., sections IX.1, IX.3.
    """
    if isinstance(truncation, bool) or not isinstance(truncation, int):
        raise BeaTypeError(f"truncation must be an int, got {truncation!r}")
    if truncation < 1:
        raise InvalidOrderError(f"truncation must be at least 1, got {truncation}")
    tab = _tableaux(method)
    H, qs, ps = _prepare(H, q, p, substitutions)
    if h is None:
        h = sympy.Symbol("h", positive=True)
    if not isinstance(h, sympy.Symbol) or h in (*qs, *ps):
        raise BeaTypeError(f"h must be a SymPy Symbol other than q and p, got {h!r}")
    n = len(qs)
    y = (*qs, *ps)
    if base_point is None:
        base: tuple[sympy.Expr, ...] = (sympy.Integer(0),) * (2 * n)
    else:
        base = tuple(sympy.sympify(v) for v in base_point)
        if len(base) != 2 * n or any(b.free_symbols or b.atoms(sympy.Float) for b in base):
            raise BeaValueError(f"base_point must hold {2 * n} exact constants (q then p), got {base_point!r}")
    field = list(hamiltonian_vector_field(H, qs, ps))
    d = step_series(tab, field, y, truncation + 1, n_q=n)
    f = [[sympy.Integer(0) if _vanishes(c) else c for c in term] for term in _match_lie_series(d, y)]
    terms: list[sympy.Expr] = [H]
    for k in range(1, truncation + 1):
        grad, anti = _check_hamiltonian(f[k], n, y)
        if not anti.is_zero_matrix:
            raise NotHamiltonianError(
                f"{tab.name} is not symplectic on H = {H}: the h^{k} term of its modified equation is not a "
                f"Hamiltonian vector field ((J - J^T)/2 of its would-be gradient is {anti.tolist()}), so a "
                f"modified Hamiltonian exists through h^{k - 1} only",
                power=k,
                antisymmetric_part=anti,
            )
        potential = _potential(grad, y, base, k)
        if not all(_vanishes(sympy.diff(potential, v) - g) for v, g in zip(y, grad, strict=True)):
            raise BeaValueError(f"the potential of the h^{k} term does not differentiate back")  # pragma: no cover
        terms.append(potential)
    return ModifiedHamiltonian(
        method=tab.name,
        hamiltonian=H,
        q=qs,
        p=ps,
        h=h,
        truncation=truncation,
        terms=tuple(terms),
        field_terms=tuple(sympy.ImmutableMatrix(t) for t in f[: truncation + 1]),
        base_point=base,
    )
