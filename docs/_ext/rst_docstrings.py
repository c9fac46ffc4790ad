"""A griffe extension for the API reference: bea's reStructuredText-flavoured docstrings as Markdown.

The docstrings of ``bea`` and ``numeric`` are written for plain reading and for Sphinx-style
tools (``:math:`...```, ``.. math::`` blocks, ``:class:`...```, ``>>>`` examples). mkdocstrings
renders Markdown, so before rendering this extension rewrites, outside code:

* ``:math:`x``` → ``$x$`` and ``.. math::`` blocks → ``$$ ... $$`` (MathJax via arithmatex);
* ``:class:`~a.b.C```, ``:func:``, ``:meth:``, ``:mod:``, ``:attr:``, ``:exc:``, ``:data:`` → code spans;
* doctest examples (lines starting with ``>>>``) → fenced ``pycon`` code blocks;
* a paragraph ending in ``::`` (an RST literal block follows) → ending in ``:``;
* a ``.. math::`` block inside a bullet item (RST indents its continuation by 2) → indented by 4, with the rest of
  the item, since Python-Markdown ends a list item at a block indented by less than 4.

Loaded from ``mkdocs.yml`` (``plugins.mkdocstrings.handlers.python.options.extensions``).
"""

from __future__ import annotations

import re
import textwrap
from typing import Any

import griffe

_MATH = re.compile(r":math:`(.+?)`", re.DOTALL)
_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|mod|attr|exc|data|obj|const):`~?([^`]+?)`")


def _role(match: re.Match[str]) -> str:
    text = match.group(0)
    target = match.group(1)
    if "`~" in text:
        target = target.rsplit(".", 1)[-1]
    return f"`{target}`"


def _inline(text: str) -> str:
    text = _MATH.sub(lambda m: "$" + " ".join(m.group(1).split()) + "$", text)
    return _ROLE.sub(_role, text)


def rst_to_markdown(doc: str) -> str:
    """Rewrite one (dedented) docstring; see the module docstring."""
    lines = doc.splitlines()
    out: list[str] = []
    text: list[str] = []  # prose waiting for the inline rewrites (a role may span lines)
    item: int | None = None  # indent of the bullet whose continuation lines are re-indented by 2

    def flush() -> None:
        if text:
            out.extend(_inline("\n".join(text)).split("\n"))
            text.clear()

    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if item is not None and stripped and indent <= item:
            item = None  # the bullet item ended: a blank line, or Python-Markdown continues its paragraph
            text.append("")
        if stripped.startswith(".. math::"):
            flush()
            first = stripped[len(".. math::") :].strip()
            body = [first] if first else []
            i += 1
            while i < len(lines) and (not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > indent):
                body.append(lines[i])
                i += 1
            math = textwrap.dedent("\n".join(body)).strip("\n")
            if first:  # the directive's own line held the first line: dedent the others by themselves
                rest = textwrap.dedent("\n".join(body[1:])).strip("\n")
                math = first + ("\n" + rest if rest else "")
            bullet = _bullet_above(out, indent)
            if bullet is not None:
                item = bullet
            pad = " " * (indent + (2 if item is not None else 0))
            out += ["", pad + "$$", *(pad + m for m in math.splitlines() if m.strip()), pad + "$$", ""]
            continue
        if stripped.startswith(">>>"):
            flush()
            block = []
            while i < len(lines) and lines[i].strip():
                block.append(lines[i][indent:] if len(lines[i]) - len(lines[i].lstrip()) >= indent else lines[i])
                i += 1
            pad = " " * indent
            out += ["", pad + "```pycon", *(pad + b for b in block), pad + "```", ""]
            continue
        if stripped.startswith("```"):  # an existing fence: copy it unchanged
            flush()
            out.append(line)
            i += 1
            while i < len(lines) and not lines[i].strip().startswith("```"):
                out.append(lines[i])
                i += 1
            if i < len(lines):
                out.append(lines[i])
                i += 1
            continue
        if stripped.endswith("::") and not stripped.startswith(".."):
            line = line[:-1]
        if item is not None and stripped:
            line = "  " + line
        text.append(line)
        i += 1
    flush()
    return "\n".join(out)


def _bullet_above(out: list[str], indent: int) -> int | None:
    """The indent of the bullet item (``* ``/``- ``) that a block at ``indent`` continues, if any."""
    for previous in reversed(out):
        if not previous.strip():
            continue
        depth = len(previous) - len(previous.lstrip())
        if depth < indent:
            is_bullet = previous.lstrip().startswith(("* ", "- "))
            return depth if is_bullet and depth == indent - 2 else None
    return None


class RstToMarkdown(griffe.Extension):
    """Rewrite every docstring once, when griffe loads the object."""

    def on_instance(self, *, node: Any, obj: griffe.Object, agent: Any, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = rst_to_markdown(obj.docstring.value)
