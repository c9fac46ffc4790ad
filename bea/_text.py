"""Printing of signed exact coefficients in text and LaTeX sums (series, flows, loss-derivative forms).

One rule for every printer: the sign of a term is taken out of its coefficient only where SymPy
can take it out of the whole coefficient, and a coefficient that is a sum is parenthesised
whole, so what is printed parses back to the same value.
"""

from __future__ import annotations

import sympy

__all__ = ["count", "one_line", "signed_text", "superscript"]


def count(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` and the noun, in the singular for exactly one: every "N things" of bea's messages goes through it.

    >>> count(1, "expression"), count(2, "expression"), count(0, "minibatch", "minibatches")
    ('1 expression', '2 expressions', '0 minibatches')
    """
    return f"{n} {noun if n == 1 else (plural or noun + 's')}"


def signed_text(coef: sympy.Expr, body: str, *, first: bool, latex: bool = False) -> str:
    """One term ``± c body`` of a printed sum, for any exact (also symbolic) coefficient c.

    The sign is taken out only when SymPy can take it out of the whole coefficient
    (``could_extract_minus_sign``), never by looking at the first character of its text; a
    coefficient that prints with a top-level sign or sum after that (a sum, a product with a sum
    inside SymPy's text) is parenthesised whole. A coefficient 1 is not written before ``body``.
    The text form parses back (``sympy.parse_expr`` of the coefficient); so does the LaTeX form
    with ``sympy.parsing.latex``.

    >>> a = sympy.Symbol("a")
    >>> signed_text(-a - 1, "h f'f", first=False), signed_text(a - 1, "f", first=True)
    ("- (a + 1) h f'f", '(a - 1) f')
    """
    negative = bool(coef.could_extract_minus_sign())
    size = -coef if negative else coef
    text = str(sympy.latex(size)) if latex else str(size)
    if body and size == 1:
        text = ""
    elif isinstance(size, sympy.Add) or (body and any(ch in text for ch in "+-")):
        text = rf"\left({text}\right)" if latex else f"({text})"
    term = " ".join(x for x in (text, body) if x)
    if first:
        return f"-{term}" if negative else term
    return f"{'-' if negative else '+'} {term}"


def superscript(n: int) -> str:
    """``n`` in Unicode superscript digits, as printed in powers (``h²``) and tree multiplicities (``[•²]``).

    >>> superscript(12)
    '¹²'
    """
    return "".join("⁰¹²³⁴⁵⁶⁷⁸⁹"[int(d)] for d in str(n))


def one_line(text: str) -> str:
    r"""``text`` on one line: every run of whitespace (line breaks from a printed array, say) as one space.

    >>> one_line("stalled at theta = [[1. 0.]\n [1. 0.]]: ...")
    'stalled at theta = [[1. 0.] [1. 0.]]: ...'
    """
    return " ".join(text.split())
