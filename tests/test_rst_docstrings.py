"""docs/_ext/rst_docstrings.py: the API reference's rewrite of reStructuredText docstrings, rendered as the site does.

The rewritten Markdown goes through Python-Markdown with arithmatex (the site's configuration in mkdocs.yml), and
the checks read the HTML: display maths becomes one ``arithmatex`` block, and the bullet list around it survives.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

pytest.importorskip("griffe", reason="the docs extra is not installed")
markdown = pytest.importorskip("markdown", reason="the docs extra is not installed")
pytest.importorskip("pymdownx", reason="the docs extra is not installed")

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "docs" / "_ext"))
from rst_docstrings import rst_to_markdown  # noqa: E402

LIST_WITH_MATH = """Two optimisers:

* **Heavy-ball**, whose flow is

  .. math:: \\dot\\theta = -\\frac{g}{1-\\beta}
     - h\\,\\frac{1+\\beta}{2(1-\\beta)^3}\\,Hg,

  the published form.
* **Nesterov**, with :math:`\\beta^2` instead.
"""


def _html(doc: str) -> str:
    return str(markdown.markdown(rst_to_markdown(doc), extensions=["pymdownx.arithmatex"],
                                 extension_configs={"pymdownx.arithmatex": {"generic": True}}))


def test_display_maths_inside_a_bullet_item_renders_and_keeps_the_list() -> None:
    html = _html(LIST_WITH_MATH)
    blocks = re.findall(r'<div class="arithmatex">\\\[(.*?)\\\]</div>', html, flags=re.DOTALL)
    assert len(blocks) == 1, html
    assert blocks[0].split() == ["\\dot\\theta", "=", "-\\frac{g}{1-\\beta}", "-",
                                 "h\\,\\frac{1+\\beta}{2(1-\\beta)^3}\\,Hg,"]
    assert html.count("<li>") == 2, html  # the second item is still an item, not text of the first
    assert "the published form" in html.split("<li>")[1]
    outside = re.sub(r'<(span|div) class="arithmatex">.*?</\1>', "", html, flags=re.DOTALL)
    assert "$" not in outside and "\\frac" not in outside, html


def test_display_maths_at_the_top_level_is_unchanged() -> None:
    html = _html("Text.\n\n.. math::\n    a = b\n\nMore text.")
    assert re.findall(r'<div class="arithmatex">\\\[\s*a = b\s*\\\]</div>', html), html
    assert "<li>" not in html
