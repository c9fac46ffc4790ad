"""Faults found by outside use (issue 11), each tested by its kind, on the exact (SymPy) side.

Every expected value here comes from a second route written in this file (a parser of the
printed text, a direct elementary-differential recursion with ``sympy.diff``, brute-force tree
quantities, published Butcher tableaux typed in by hand) or from a cited publication, never
from the code under test.
"""

from __future__ import annotations

import copy
import inspect
import json
import pickle
import random
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import sympy
from brute_force import brute_density, brute_symmetry

import bea
from bea import (
    BSeries,
    RungeKutta,
    Tree,
    bseries,
    count_trees,
    loss_derivative_form,
    methods,
    modified_equation,
    modified_flow,
    modified_vector_field,
    trees,
    trees_up_to,
)
from bea import errors as bea_errors
from bea.cli import main
from bea.errors import BeaError, InvalidLossError, InvalidOrderError, ParseError, SeriesError
from bea.gradient_form import contraction
from bea.parsing import parse_loss, parse_substitutions

a, b, c = sympy.symbols("a b c")
SUP = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")


# --------------------------------------------------------------------------- §1.1 printing


def _split_top(text: str) -> list[tuple[int, str]]:
    """Split a printed sum at top-level " + " / " - " into (sign, term) pairs."""
    parts: list[tuple[int, str]] = []
    depth, start, sign = 0, 0, 1
    if text.startswith("-"):
        sign, start = -1, 1
    i = start
    while i < len(text):
        ch = text[i]
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif depth == 0 and text[i : i + 3] in (" + ", " - "):
            parts.append((sign, text[start:i]))
            sign = 1 if text[i + 1] == "+" else -1
            start = i + 3
            i += 3
            continue
        i += 1
    parts.append((sign, text[start:]))
    return parts


def _parse_printed(text: str, atoms: dict[str, object]) -> dict[object, sympy.Expr]:
    """Parse ``c h^k ATOM ± ...`` (and ``h^k (inner sum)`` groups) into {atom key: coefficient * h^k}.

    ``atoms`` maps the printed text of each atom (F(τ), a contraction, "" for a constant term) to a
    key. Coefficients are parsed with ``sympy.parse_expr``: an independent reading of the text.
    """
    h = sympy.Symbol("h")
    found: dict[object, sympy.Expr] = {}
    names = sorted((n for n in atoms if n), key=len, reverse=True)
    for sign, term in _split_top(text):
        group = re.fullmatch(r"(h\S*) \((.*)\)", term)
        if group:
            power = int(group.group(1)[1:].translate(SUP) or 1)
            for key, value in _parse_printed(group.group(2), atoms).items():
                found[key] = found.get(key, 0) + sign * value * h**power
            continue
        atom = next((n for n in names if term == n or term.endswith(" " + n)), "")
        rest = term[: len(term) - len(atom)].strip()
        power = 0
        match = re.search(r"(?:^| )(h[⁰¹²³⁴⁵⁶⁷⁸⁹]*)$", rest)
        if match:
            power = int(match.group(1)[1:].translate(SUP) or 1)
            rest = rest[: match.start()].strip()
        coef = (
            sympy.parse_expr(rest, local_dict={"a": a, "b": b, "c": c, "alpha": sympy.Symbol("alpha")}) if rest else 1
        )
        key = atoms[atom]
        found[key] = found.get(key, 0) + sign * coef * h**power
    return found


_POOL = [
    -a - 1,
    a - 1,
    -a + b,
    a * b - 3,
    -(a + 1) / 2,
    sympy.Rational(-3, 7) + a / 5,
    -sympy.sqrt(2) * a,
    sympy.sqrt(2) - a,
    -1 / (8 * a) + sympy.Rational(1, 6),
    a**2 - 2 * a * b,
    -sympy.pi,
    sympy.exp(sympy.Rational(1, 3)) - b,
    sympy.Rational(5, 3),
    sympy.Integer(-1),
    -c * (a - b),
]


def _random_coefficients(rng: random.Random, order: int) -> dict[Tree, sympy.Expr]:
    return {t: rng.choice([*_POOL, 0]) * rng.choice([1, -1]) for t in trees_up_to(order)}


@pytest.mark.parametrize("seed", range(12))
def test_printed_series_parses_back_on_random_symbolic_coefficients(seed: int) -> None:
    rng = random.Random(seed)
    order = 4
    coeffs = _random_coefficients(rng, order)
    empty = rng.choice([0, 1])
    series = BSeries(coeffs, order, empty)
    atoms: dict[str, object] = {t.elementary_differential: t for t in trees_up_to(order)}
    atoms[""] = None
    parsed = _parse_printed(str(series), atoms)
    h = sympy.Symbol("h")
    shift = 0 if empty == 1 else 1
    for t in trees_up_to(order):
        expected = coeffs[t] / brute_symmetry(t.levels) * h ** (t.order - shift)
        assert sympy.simplify(parsed.get(t, 0) - expected) == 0, (str(series), t)
    assert sympy.simplify(parsed.get(None, 0) - empty) == 0
    # JSON: every coefficient string parses back to the stored value
    for entry in json.loads(json.dumps(series.to_dict()))["coefficients"]:
        tree = Tree.from_levels(entry["levels"])
        assert sympy.simplify(sympy.parse_expr(entry["coefficient"]) - coeffs[tree]) == 0


def test_issue_example_prints_the_right_sign() -> None:
    series = BSeries({Tree.leaf(): 1, Tree.from_levels([1, 2]): -a - 1}, 2)
    assert str(series) == "f - (a + 1) h f'f"
    alpha = sympy.Symbol("alpha")
    method = RungeKutta([[0, 0], [1 / (2 * alpha), 0]], [1 - alpha, alpha])
    text = str(modified_equation(method, 3))
    # printed b([•²])/σ = -1/6 + 1/(8 alpha) (the issue's value); at alpha = 1, the explicit midpoint
    # rule, -1/24 (BSeries.jl's modified_equation test values, HLW IX.1)
    atoms: dict[str, object] = {t.elementary_differential: t for t in trees_up_to(3)}
    parsed = _parse_printed(text, atoms)
    h = sympy.Symbol("h")
    printed = parsed[Tree.from_levels([1, 2, 2])]
    assert sympy.simplify(printed - (-sympy.Rational(1, 6) + 1 / (8 * alpha)) * h**2) == 0
    assert printed.subs(alpha, 1) == -(h**2) / 24


@pytest.mark.parametrize("seed", range(6))
def test_latex_signs_match_the_values(seed: int) -> None:
    """Without a LaTeX parser installed: the sign printed before each term is the sign SymPy can
    take out of the value, and the magnitude printed is the LaTeX of the remaining value."""
    rng = random.Random(100 + seed)
    coeffs = _random_coefficients(rng, 3)
    series = BSeries(coeffs, 3)
    latex = sympy.latex(series)
    needles = {rf"F\left({t._latex()}\right)": t for t in trees_up_to(3)}
    seen = set()
    for sign, term in _split_top(latex):
        needle = next(n for n in needles if term.endswith(n))
        t = needles[needle]
        seen.add(t)
        value = coeffs[t] / brute_symmetry(t.levels)
        negative = value.could_extract_minus_sign()
        assert sign == (-1 if negative else 1), (latex, t)
        head = re.sub(r"\s*h(\^\{\d+\})?$", "", term[: -len(needle)].strip())
        magnitude = -value if negative else value
        expected = "" if magnitude == 1 else sympy.latex(magnitude)
        assert head in (expected, rf"\left({expected}\right)"), (latex, t)
    assert seen == {t for t, v in coeffs.items() if v != 0}


def test_loss_derivative_form_prints_symbolic_coefficients_that_parse_back() -> None:
    alpha = sympy.Symbol("alpha")
    method = RungeKutta([[0, 0], [1 / (2 * alpha), 0]], [1 - alpha, alpha])
    form = loss_derivative_form(method, 2)
    atoms: dict[str, object] = {contraction(t): t for t in trees_up_to(3)}
    parsed = _parse_printed(str(form), atoms)
    # second route: F(τ) = (-1)^|τ| C(τ), coefficient b(τ)/σ(τ) from the printed modified equation
    series_text = _parse_printed(
        str(modified_equation(method, 3)), {t.elementary_differential: t for t in trees_up_to(3)}
    )
    for t in trees_up_to(3):
        expected = series_text.get(t, 0) * (-1) ** t.order
        assert sympy.simplify(parsed.get(t, 0) - expected) == 0, (str(form), t)
    assert form.to_dict()["powers"][2][1]["coefficient"] != ""


def test_modified_loss_and_flow_text_parse_back() -> None:
    loss = -(a - 1) * b**2 / 2 + a**2 / 2 - a * b
    flow = modified_flow(loss, [a, b], truncation=1)
    modified = flow.modified_loss()
    h = sympy.Symbol("h")
    text = str(modified).replace("^", "**")
    reread = sympy.parse_expr(text, local_dict={"a": a, "b": b, "h": h})
    assert sympy.expand(reread - modified.expr.subs(flow.h, h)) == 0
    data = flow.to_dict()
    for k, term in enumerate(data["terms"]):
        values = [sympy.parse_expr(e, local_dict={"a": a, "b": b}) for e in term["components"]]
        assert all(sympy.expand(v - w) == 0 for v, w in zip(values, flow.terms[k], strict=True))


# --------------------------------------------------------------------------- §1.2 irrational constants


def _direct_differential(levels: tuple[int, ...], f: sympy.Matrix, y: list[sympy.Symbol]) -> sympy.Matrix:
    """F(τ) by the definition (HLW Definition III.1.2), with sympy.diff: the generic route."""
    tree = Tree.from_levels(levels)
    kids = [_direct_differential(k.levels, f, y) for k in tree.children]
    out = []
    for i in range(len(y)):
        total = sympy.Integer(0)
        for index in np.ndindex(*([len(y)] * len(kids))):
            term = f[i]
            for j in index:
                term = sympy.diff(term, y[j])
            for kid, j in zip(kids, index, strict=True):
                term *= kid[j]
            total += term
        out.append(sympy.expand(total))
    return sympy.Matrix(out)


def _generic_terms(method: RungeKutta, f: sympy.Matrix, y: list[sympy.Symbol], nodes: int) -> list[sympy.Matrix]:
    coeffs = modified_equation(method, nodes)
    terms = []
    for n in range(1, nodes + 1):
        total = sympy.zeros(len(y), 1)
        for t in trees(n):
            if coeffs[t] != 0:
                total += coeffs[t] / brute_symmetry(t.levels) * _direct_differential(t.levels, f, y)
        terms.append(total.applyfunc(sympy.expand))
    return terms


CONSTANTS = [sympy.pi, sympy.E, sympy.sqrt(2), sympy.exp(sympy.Rational(1, 3)), c, sympy.sqrt(3) + c]


@pytest.mark.parametrize("k", CONSTANTS, ids=str)
def test_constants_in_the_polynomial_field_path(k: sympy.Expr) -> None:
    u, v, h = sympy.symbols("u v h")
    f = sympy.Matrix([k * v, -k * u + u**2])
    got = modified_vector_field(methods.explicit_euler, f, [u, v], h, 3)
    terms = _generic_terms(methods.explicit_euler, f, [u, v], 3)
    expected = sum((t * h**i for i, t in enumerate(terms)), sympy.zeros(2, 1))
    assert (got - expected).applyfunc(sympy.expand).is_zero_matrix


@pytest.mark.parametrize("k", CONSTANTS, ids=str)
def test_constants_in_modified_flows(k: sympy.Expr) -> None:
    loss = k * a**2 / 2 + a * b + b**4 / 4
    flow = modified_flow(loss, [a, b], truncation=2, method=methods.rk4)
    f = -sympy.Matrix([sympy.diff(loss, a), sympy.diff(loss, b)])
    for got, expected in zip(flow.terms, _generic_terms(methods.rk4, f, [a, b], 3), strict=True):
        assert (sympy.Matrix(got) - expected).applyfunc(sympy.expand).is_zero_matrix
    for compact, term in zip(flow.compact_terms(), flow.terms, strict=True):
        assert (sympy.Matrix(compact) - sympy.Matrix(term)).applyfunc(sympy.expand).is_zero_matrix


def test_constant_tableau_entries() -> None:
    """A tableau with pi in it: the coefficient route and the elementary-weight recursion agree."""
    method = RungeKutta([[0, 0], [1 / (2 * sympy.pi), 0]], [1 - sympy.pi, sympy.pi])
    series = bseries(method, 3)
    # Φ([•]) = b2 c2 = pi/(2 pi) = 1/2, Φ([•²]) = b2 c2² = 1/(4 pi), Φ([[•]]) = 0 (HLW III.1)
    assert sympy.simplify(series[Tree.from_levels([1, 2])] - sympy.Rational(1, 2)) == 0
    assert sympy.simplify(series[Tree.from_levels([1, 2, 2])] - 1 / (4 * sympy.pi)) == 0
    assert series[Tree.from_levels([1, 2, 3])] == 0


@pytest.mark.parametrize("loss", ["pi*a^2/2 + a*b", "E*a^2/2 + a*b", "sqrt(2)*a^2/2 + a*b", "exp(1/3)*a*b + a^2"])
def test_cli_derive_with_irrational_constants(loss: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["derive", "--loss", loss, "--params", "a", "b", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    parsed = parse_loss(loss)
    g = [sympy.diff(parsed, p) for p in (a, b)]
    components = [sympy.sympify(e) for e in data["terms"][0]["components"]]
    assert all(sympy.expand(x + y) == 0 for x, y in zip(components, g, strict=True))


# --------------------------------------------------------------------------- §2.1 values the mathematics cannot take


@pytest.mark.parametrize("bad", [sympy.nan, sympy.oo, -sympy.oo, sympy.zoo, sympy.nan * a])
def test_non_finite_values_refused_at_every_boundary(bad: sympy.Expr) -> None:
    with pytest.raises(bea_errors.InvalidTableauError, match="not a finite number"):
        RungeKutta([[bad]], [1])
    with pytest.raises(bea_errors.InvalidTableauError, match="not a finite number"):
        RungeKutta([[0, 0], [1, 0]], [1 - bad, bad])
    with pytest.raises(SeriesError, match="not a finite number"):
        BSeries({Tree.leaf(): bad}, 1)
    with pytest.raises(SeriesError, match="not a finite number"):
        BSeries({Tree.leaf(): 1}, 2, empty=bad)
    with pytest.raises(SeriesError, match="not a finite number"):
        BSeries({Tree.leaf(): 1}, 1) * bad
    with pytest.raises(BeaError, match="not a finite number"):
        modified_vector_field(methods.explicit_euler, [bad * a], [a], sympy.Symbol("h"), 2)


def test_float_nan_in_tableau_refused_even_when_rationalising() -> None:
    with pytest.raises(bea_errors.InvalidTableauError, match="not a finite number"):
        RungeKutta([[float("nan")]], [1], rationalize_floats=True)


@pytest.mark.parametrize("loss", ["0**x", "x*0**x"])
def test_derive_refuses_an_undefined_gradient(loss: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["derive", "--loss", loss, "--params", "x"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a finite number" in err and "derivative" in err


@pytest.mark.parametrize("text", ["a=sqrt(-1)", "a=log(-1)", "a=(-8)^(1/3)", "a=sqrt(-2)*pi"])
def test_substitutions_must_be_real(text: str) -> None:
    with pytest.raises(ParseError, match="not a real number"):
        parse_substitutions(text)


def test_real_substitutions_still_accepted() -> None:
    assert parse_substitutions("a=sqrt(2) b=exp(1/3) c=-pi") == {
        a: sympy.sqrt(2),
        b: sympy.exp(sympy.Rational(1, 3)),
        c: -sympy.pi,
    }


def test_complex_loss_refused() -> None:
    with pytest.raises(InvalidLossError, match="imaginary unit"):
        modified_flow(sympy.I * a**2, [a])


# --------------------------------------------------------------------------- §2.8 integers and constant losses


@pytest.mark.parametrize("order", [sympy.Integer(3), np.int64(3), np.int32(3)], ids=type)
def test_orders_of_any_integral_type(order: object) -> None:
    expected = modified_equation(methods.rk4, 3)
    got = modified_equation(methods.rk4, order)  # type: ignore[arg-type]
    assert got == expected and type(got.order) is int
    assert bseries(methods.heun, order) == bseries(methods.heun, 3)  # type: ignore[arg-type]
    assert list(trees(order)) == list(trees(3))  # type: ignore[arg-type]
    assert count_trees(order) == 2  # type: ignore[arg-type]
    assert modified_flow(a**4 / 4, [a], truncation=order).truncation == 3  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [True, False, 3.0, sympy.Rational(3, 2), "3", sympy.true])
def test_non_integers_refused(bad: object) -> None:
    with pytest.raises(BeaError, match="must be an integer"):
        modified_equation(methods.rk4, bad)  # type: ignore[arg-type]
    with pytest.raises(BeaError, match="must be an integer"):
        modified_flow(a**4, [a], truncation=bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("loss", ["0*x", "3", "x - x"])
def test_constant_loss_named_in_one_line(loss: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["derive", "--loss", loss, "--params", "x"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "does not depend on the parameters (x)" in err
    assert "must be a SymPy expression" not in err


# --------------------------------------------------------------------------- §2.2 bounded work


def test_count_trees_by_an_independent_recurrence_and_oeis() -> None:
    """Euler transform of A000081 written independently: a(n+1) = sum over multisets of children;
    a(30) = 354426847597 and a(50) are from OEIS A000081."""
    a_ = [0, 1]
    for n in range(1, 60):  # a(n+1) = (1/n) * sum_{k=1..n} (sum_{d|k} d a(d)) a(n-k+1)
        s = [sum(d * a_[d] for d in range(1, k + 1) if k % d == 0) for k in range(n + 1)]
        a_.append(sum(s[k] * a_[n - k + 1] for k in range(1, n + 1)) // n)
    assert [count_trees(n) for n in range(1, 60)] == a_[1:60]
    assert count_trees(30) == 354426847597
    assert count_trees(50) == 425976989835141038353


def test_count_trees_large_n_is_refused_before_work() -> None:
    with pytest.raises(InvalidOrderError, match="MAX_COUNT_ORDER"):
        count_trees(5000)


def test_trees_beyond_the_bound_refused_before_work() -> None:
    with pytest.raises(InvalidOrderError, match="MAX_TREES_ORDER"):
        trees(19)
    with pytest.raises(InvalidOrderError, match="MAX_TREES_ORDER"):
        trees_up_to(30)


@pytest.mark.parametrize(
    "argv",
    [
        ["trees", "16"],
        ["trees", "18"],
        ["trees", "30"],
        ["trees", "3_0"],
        ["modified-equation", "--order", "50"],
        ["modified-equation", "--order", "14"],
        ["derive", "--truncation", "50"],
        ["derive", "--loss", "x^4", "--params", "x", "--truncation", "12"],
    ],
)
def test_cli_knobs_bounded_before_work(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1


def test_cli_allow_expensive_lifts_the_budget(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            ["derive", "--loss", "x^4/4", "--params", "x", "--truncation", "9", "--allow-expensive", "--format", "json"]
        )
        == 0
    )
    out, err = capsys.readouterr()
    assert "working on 1205 trees" in err and err.count("\n") == 1
    assert json.loads(out)["truncation"] == 9


@pytest.mark.parametrize(
    "text",
    [
        "exp(-" * 20 + "1" + ")" * 20,
        "exp(" * 19 + "-1/10" + ")" * 19,
        "tanh(" * 8 + "a+b" + ")" * 8,
        "sigmoid(" * 20 + "1" + ")" * 20,
        "cosh(sinh(tanh(cosh(sinh(tanh(a))))))",
    ],
)
def test_parser_limits_apply_while_building(text: str) -> None:
    with pytest.raises(ParseError, match=r"nest|constant beyond"):
        parse_loss(text)


def test_parser_nesting_limits_keep_ordinary_losses() -> None:
    assert parse_loss("exp(" * 20 + "a" + ")" * 20).count(sympy.exp) == 20
    assert parse_loss("exp(-exp(-exp(-1)))*a").has(a)
    net = "x"
    for layer in range(4):  # a four-layer scalar tanh network
        net = f"tanh(w{layer}*{net} + b{layer})"
    assert parse_loss(net).count(sympy.tanh) == 4


# --------------------------------------------------------------------------- §2.5 threads


def test_global_tables_are_thread_safe_in_a_fresh_process() -> None:
    """The tree table starts empty in a new interpreter, so the threads race to fill it."""
    script = textwrap.dedent(
        """
        import sys, threading
        sys.setswitchinterval(1e-6)
        from bea import methods, modified_equation
        results, errors = {}, []
        barrier = threading.Barrier(8)  # all threads start filling the empty table together
        def run(key, method):
            barrier.wait()
            try:
                results[key] = modified_equation(method, 10)
            except Exception as error:
                errors.append(repr(error))
        jobs = [threading.Thread(target=run, args=((i, m.name), m))
                for i in range(4) for m in (methods.rk4, methods.explicit_euler)]
        for j in jobs: j.start()
        for j in jobs: j.join()
        assert not errors, errors
        sys.setswitchinterval(0.005)
        for (i, name), series in results.items():
            single = modified_equation(getattr(methods, name), 10)
            assert len(series) == 1205 and series == single, (i, name, len(series))
        print("ok", len(results))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["ok", "8"]


# --------------------------------------------------------------------------- §2.6 pickling and copying


def _public_objects() -> list[object]:
    x = sympy.Symbol("x")
    flow = modified_flow(x**4 / 4, [x], truncation=2)
    not_gradient = None
    try:
        modified_flow(a**4 / 4 + a * b + b**2, [a, b], truncation=2).modified_loss()
    except bea_errors.NotAGradientFieldError as error:
        not_gradient = error
    try:
        parse_loss("x +")
    except ParseError as error:
        parse_error = error
    objects: list[object] = [
        *methods.CATALOGUE,
        RungeKutta([[0, 0], [1 / (2 * a), 0]], [1 - a, a], name="alpha-family"),
        Tree.from_levels([1, 2, 3, 2]),
        bseries(methods.rk4, 4),
        modified_equation(methods.gauss_legendre_2, 4),
        BSeries({Tree.leaf(): -a - 1}, 2),
        flow,
        flow.modified_loss(),
        loss_derivative_form(methods.explicit_midpoint, 2),
        not_gradient,
        parse_error,
    ]
    extra = {"power": 2, "antisymmetric_part": sympy.ImmutableMatrix([[0, a], [-a, 0]]), "position": 1, "text": "x +"}
    for name in bea_errors.__all__:
        cls = getattr(bea_errors, name)
        if (
            isinstance(cls, type)
            and issubclass(cls, Exception)
            and cls
            not in (
                ParseError,
                bea_errors.NotAGradientFieldError,
            )
        ):
            wanted = [p for p in inspect.signature(cls.__init__).parameters if p in extra]
            objects.append(cls(f"a {name}", **{p: extra[p] for p in wanted}))
    return objects


def _same(x: object, y: object) -> bool:
    if isinstance(x, BaseException):
        return type(x) is type(y) and str(x) == str(y) and vars(x).keys() == vars(y).keys()
    if isinstance(x, bea.ModifiedFlow):
        assert isinstance(y, bea.ModifiedFlow)
        return (x.loss, x.params, x.h, x.truncation, x.method, x.terms) == (
            y.loss,
            y.params,
            y.h,
            y.truncation,
            y.method,
            y.terms,
        )
    return bool(x == y) and str(x) == str(y)


@pytest.mark.parametrize("obj", _public_objects(), ids=lambda o: type(o).__name__)
def test_every_public_object_pickles_and_copies(obj: object) -> None:
    assert obj is not None
    again = pickle.loads(pickle.dumps(obj))
    assert _same(obj, again)
    assert _same(obj, copy.deepcopy(obj))
    assert _same(obj, copy.copy(obj))


def test_pickled_series_works_in_a_fresh_process() -> None:
    """Tree ids are private to a process: a series pickled here is rebuilt by levels there."""
    data = pickle.dumps((methods.rk4, modified_equation(methods.explicit_euler, 5)))
    script = (
        "import pickle, sys\n"
        "from bea import Tree\n"
        "m, s = pickle.loads(sys.stdin.buffer.read())\n"
        "print(m.name, s[Tree.from_levels([1, 2, 3, 4, 5])], len(s))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], input=data, capture_output=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    # b of the tall 5-node tree for explicit Euler: 1/5, the h^4 Taylor coefficient of log(1 + hλ)/(hλ)
    # (HLW IX.1); 17 = 1 + 1 + 2 + 4 + 9 trees with at most 5 nodes (A000081)
    assert done.stdout.decode().split() == ["rk4", "1/5", "17"]


# --------------------------------------------------------------------------- §3 tests that can see faults


def test_cli_trees_columns_against_brute_force(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trees", "6"]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = lines[0].split()
    assert header[:3] == ["levels", "sigma", "gamma"]
    rows = lines[1:-1]
    assert len(rows) == 20  # A000081(6)
    for row in rows:
        levels = json.loads(row[: row.index("]") + 1])
        sigma, gamma = (int(x) for x in row[row.index("]") + 1 :].split()[:2])
        assert (sigma, gamma) == (brute_symmetry(levels), brute_density(levels)), row
    assert main(["trees", "5", "--format", "json"]) == 0
    for entry in json.loads(capsys.readouterr().out)["trees"]:
        assert entry["symmetry"] == brute_symmetry(entry["levels"])
        assert entry["density"] == brute_density(entry["levels"])
    assert main(["trees", "5", "--format", "latex"]) == 0
    latex_rows = [r for r in capsys.readouterr().out.splitlines() if r.startswith("[")]
    assert len(latex_rows) == 9
    for row in latex_rows:
        cells = [cell.strip() for cell in row.rstrip("\\ ").split("&")]
        levels = json.loads(cells[0])
        assert (int(cells[2]), int(cells[3])) == (brute_symmetry(levels), brute_density(levels)), row


_HALF, _THIRD, _SIXTH = sympy.Rational(1, 2), sympy.Rational(1, 3), sympy.Rational(1, 6)
_R3 = sympy.sqrt(3)

#: Published tableaux, typed in independently of bea (A, b, order of accuracy, source).
PUBLISHED = {
    # Hairer-Norsett-Wanner I (2nd ed.), section II.1, Table 1.1 and eq. (1.11); Butcher (2016) §23
    "explicit_euler": ([[0]], [1], 1),
    "implicit_euler": ([[1]], [1], 1),
    "explicit_midpoint": ([[0, 0], [_HALF, 0]], [0, 1], 2),
    "heun": ([[0, 0], [1, 0]], [_HALF, _HALF], 2),
    # Ralston, Math. Comp. 16 (1962): c2 = 2/3, b = (1/4, 3/4)
    "ralston": ([[0, 0], [sympy.Rational(2, 3), 0]], [sympy.Rational(1, 4), sympy.Rational(3, 4)], 2),
    # Kutta (1901), HNW I Table 1.2 left
    "kutta3": ([[0, 0, 0], [_HALF, 0, 0], [-1, 2, 0]], [_SIXTH, sympy.Rational(2, 3), _SIXTH], 3),
    # Shu & Osher, J. Comput. Phys. 77 (1988), eq. (2.18) in Butcher form (Gottlieb & Shu 1998)
    "ssprk33": (
        [[0, 0, 0], [1, 0, 0], [sympy.Rational(1, 4), sympy.Rational(1, 4), 0]],
        [_SIXTH, _SIXTH, sympy.Rational(2, 3)],
        3,
    ),
    # Kutta (1901), "the" Runge-Kutta method, HNW I Table 1.2 right
    "rk4": ([[0, 0, 0, 0], [_HALF, 0, 0, 0], [0, _HALF, 0, 0], [0, 0, 1, 0]], [_SIXTH, _THIRD, _THIRD, _SIXTH], 4),
    # HLW (2006) II.1.3: implicit midpoint and trapezoidal rule
    "implicit_midpoint": ([[_HALF]], [1], 2),
    "trapezoid": ([[0, 0], [_HALF, _HALF]], [_HALF, _HALF], 2),
    # Gauss-Legendre s = 2, HNW II (2nd ed.) Table IV.5.1
    "gauss_legendre_2": (
        [
            [sympy.Rational(1, 4), sympy.Rational(1, 4) - _R3 / 6],
            [sympy.Rational(1, 4) + _R3 / 6, sympy.Rational(1, 4)],
        ],
        [_HALF, _HALF],
        4,
    ),
}


def _weight(A: list[list[sympy.Expr]], bw: list[sympy.Expr], levels: tuple[int, ...]) -> sympy.Expr:
    """Φ(τ) written from HNW I Definition II.2.9, on the typed tableau."""
    s = len(bw)

    def stage(tree: Tree) -> list[sympy.Expr]:
        g = [sympy.Integer(1)] * s
        for kid in tree.children:
            inner = stage(kid)
            g = [g[i] * sum(A[i][j] * inner[j] for j in range(s)) for i in range(s)]
        return g

    g = stage(Tree.from_levels(levels))
    return sympy.nsimplify(sympy.expand(sum(bw[i] * g[i] for i in range(s))))


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_catalogue_tableaux_match_published_tableaux(name: str) -> None:
    A, bw, order = PUBLISHED[name]
    method = methods.by_name(name)
    pairs = [(x, y) for row, mrow in zip(A, method.A, strict=True) for x, y in zip(row, mrow, strict=True)]
    assert all(sympy.simplify(x - y) == 0 for x, y in pairs)
    assert all(sympy.simplify(x - y) == 0 for x, y in zip(bw, method.b, strict=True))
    # order conditions on the typed tableau (Φ = 1/γ, brute-force γ) up to the published order, not beyond
    for t in trees_up_to(order + 1):
        holds = sympy.simplify(_weight(A, bw, t.levels) - sympy.Rational(1, brute_density(t.levels))) == 0
        if t.order <= order:
            assert holds, (name, t)
    assert not all(
        sympy.simplify(_weight(A, bw, t.levels) - sympy.Rational(1, brute_density(t.levels))) == 0
        for t in trees(order + 1)
    )
    assert method.order_of_accuracy() == order
    # bea's B-series coefficients equal the elementary weights of the typed tableau
    series = bseries(method, 4)
    for t in trees_up_to(4):
        assert sympy.simplify(series[t] - _weight(A, bw, t.levels)) == 0


# --------------------------------------------------------------------------- issue 13: transcendental fast ring

_X = sympy.Symbol("X")


def _rational_in_exp(expr: sympy.Expr, scale: sympy.Expr) -> sympy.Expr:
    """exp(k * scale) -> X**k: both routes' results become rational functions of (a, b, X)."""
    return expr.replace(lambda n: isinstance(n, sympy.exp), lambda n: _X ** sympy.cancel(n.args[0] / scale))


@pytest.mark.parametrize(
    ("text", "truncation"),
    [("softplus(-a*b) + (a - b)^2/20", 2), ("sigmoid(a*b) + a^2/2 + b^2/2", 1), ("softplus(a) + b^2*sigmoid(a)", 1)],
)
def test_transcendental_fast_ring_equals_the_generic_route(text: str, truncation: int) -> None:
    """The generic SymPy route (the ring disabled) is kept as the reference: equal as rational functions."""
    from unittest import mock

    from bea._closure import DifferentialRing

    loss = parse_loss(text)
    fast = modified_flow(loss, [a, b], truncation=truncation)
    with mock.patch.object(DifferentialRing, "for_exprs", return_value=None):
        reference = modified_flow(loss, [a, b], truncation=truncation)
    scale = a * b if "a*b" in text else a
    for k in range(truncation + 1):
        for x, y in zip(fast.terms[k], reference.terms[k], strict=True):
            assert sympy.cancel(sympy.together(_rational_in_exp(x - y, scale))) == 0, (text, k)
        for x, y in zip(fast.compact_terms()[k], fast.terms[k], strict=True):
            assert sympy.cancel(sympy.together(_rational_in_exp(x - y, scale))) == 0, (text, k)


def _softplus_taylor(delta: sympy.Expr, degree: int, sigma: sympy.Expr) -> sympy.Expr:
    """softplus(w + delta) - softplus(w) through delta^degree, with sigma = sigmoid(w) (softplus' = sigmoid,
    sigmoid' = sigmoid - sigmoid^2: the derivative rules by hand, no bea code)."""
    s = sympy.Symbol("s")
    total, derivative = sympy.Integer(0), s
    for k in range(1, degree + 1):
        total += derivative.xreplace({s: sigma}) * delta**k / sympy.factorial(k)
        derivative = sympy.expand(sympy.diff(derivative, s) * (s - s**2))
    return total


def test_softplus_fast_ring_through_h4_at_random_rational_points() -> None:
    """Issue 13: log(1 + exp(-ab)) + (a - b)^2/20 through h^4 equals an independent route, exactly.

    The generic SymPy route on the loss itself takes minutes at h^4. Instead, at a random rational point
    (a0, b0) with exp(-a0 b0) replaced by a random positive rational e0 (both sides are rational functions of
    a, b and exp(-ab), so agreeing at random points of (a, b, e) shows identity with overwhelming probability:
    Schwartz--Zippel), the loss is replaced by its Taylor polynomial in the shift z through degree 5 (the h^4
    term at z = 0 uses derivatives of E of order <= 5) with rational coefficients, and its modified field is
    derived by the generic route with the fast ring disabled, then read at z = 0.
    """
    from unittest import mock

    from bea._closure import DifferentialRing

    fast = modified_flow(parse_loss("softplus(-a*b) + (a - b)^2/20"), [a, b], truncation=4)
    z1, z2 = sympy.symbols("z1 z2")
    degree, rng = 5, random.Random(13)
    for _ in range(1):  # one point of large height suffices (Schwartz--Zippel); each costs ~2 s
        a0, b0 = (sympy.Rational(rng.choice([-1, 1]) * rng.randint(1, 40), rng.randint(1, 40)) for _ in range(2))
        e0 = sympy.Rational(rng.randint(1, 10**6), rng.randint(1, 10**6))
        delta = -(a0 * z2 + b0 * z1 + z1 * z2)  # -ab = -a0 b0 + delta at (a0 + z1, b0 + z2)
        shifted = sympy.Poly(_softplus_taylor(delta, degree, e0 / (1 + e0)) + (a0 + z1 - b0 - z2) ** 2 / 20, z1, z2)
        taylor = sum(c * z1**i * z2**j for (i, j), c in shifted.terms() if i + j <= degree)
        with mock.patch.object(DifferentialRing, "for_exprs", return_value=None):
            reference = modified_flow(taylor, [z1, z2], truncation=4, h=fast.h)
        point, power = {a: a0, b: b0}, {sympy.exp(-a0 * b0 * k): e0**k for k in range(-12, 13)}
        for k in range(5):
            for got, expected in zip(fast.terms[k], reference.terms[k], strict=True):
                at_point = got.xreplace(point).xreplace(power)
                assert not at_point.has(sympy.exp), at_point
                assert at_point == expected.xreplace({z1: 0, z2: 0}), (k, a0, b0, e0)
        assert any(t != 0 for t in reference.terms[4])  # the h^4 term is really compared


@pytest.mark.parametrize(
    "loss",
    [sympy.sin(a) * sympy.cos(b), sympy.tanh(a * b), sympy.sqrt(1 + a**2) + b**2, sympy.log(1 + a**2) * b],
    ids=str,
)
def test_other_functions_in_the_fast_ring_match_direct_differentials(loss: sympy.Expr) -> None:
    """sin/cos/tanh/rational powers/log: the ring's modified field equals the definition with sympy.diff."""
    f = -sympy.Matrix([sympy.diff(loss, a), sympy.diff(loss, b)])
    got = modified_vector_field(methods.explicit_euler, f, [a, b], sympy.Symbol("h"), 3)
    terms = _generic_terms(methods.explicit_euler, f, [a, b], 3)
    expected = sum((t * sympy.Symbol("h") ** i for i, t in enumerate(terms)), sympy.zeros(2, 1))
    assert (got - expected).applyfunc(sympy.simplify).is_zero_matrix
