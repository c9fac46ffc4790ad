"""MkDocs hooks of the bea documentation site (``hooks:`` in mkdocs.yml).

mkdocs-jupyter writes, into every notebook page, a ``<script>`` tag for MathJax whose source is
empty unless a CDN address is configured, and a MathJax configuration block. The site typesets
every formula with its own copy of KaTeX (docs/javascripts/katex.js), so both are removed here:
nothing is loaded from the network and no page asks for an empty script.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["on_post_page"]

_MATHJAX = re.compile(
    r"<!-- Load mathjax -->\s*<script src=\"[^\"]*\">\s*</script>\s*"
    r"<!-- MathJax configuration -->\s*<script type=\"text/x-mathjax-config\">.*?</script>\s*"
    r"<!-- End of mathjax configuration -->",
    flags=re.DOTALL,
)


def on_post_page(output: str, page: Any, config: Any) -> str:
    """The page's HTML without mkdocs-jupyter's MathJax loader and configuration."""
    return _MATHJAX.sub("", output)
