"""The documentation site builds with ``mkdocs build --strict`` (every warning is an error), offline.

That covers the pages and their links, the navigation, the tutorials (executed once per session,
see tests/docs_site.py, and published with their outputs) and the API reference generated from
the docstrings of ``bea`` and ``numeric`` (mkdocstrings), which must parse without warnings.
Every script, stylesheet and font the pages load comes from the site itself (no CDN), so the
site renders its formulas with no network; tests/test_browser.py checks that in Chromium.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from docs_site import DOCS, NOTEBOOK_MODULES, NOTEBOOKS, ROOT, Site, missing

# Resources a page loads by itself: scripts, stylesheets, fonts, images, frames (not plain links <a>).
_LOADED = re.compile(r"<(?:script|img|iframe|source|embed)\b[^>]*\bsrc=\"([^\"]*)\"|<link\b[^>]*\bhref=\"([^\"]*)\"")
_CSS_URL = re.compile(r"url\(\s*['\"]?([^'\")]+)")


def _external(url: str) -> bool:
    return bool(re.match(r"^(?:[a-z][a-z0-9+.-]*:)?//", url, flags=re.IGNORECASE)) and not url.startswith("file:")


def test_every_page_is_in_the_navigation() -> None:
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    pages = [p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*") if p.suffix in (".md", ".ipynb")]
    assert pages
    assert not [p for p in pages if p not in config], "add these pages to nav in mkdocs.yml"


def test_the_config_names_no_cdn() -> None:
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    assert not re.findall(r"https?://", config), "serve assets from docs/ (see docs/vendor)"


def test_site_builds_strict(built_site: Site) -> None:
    assert built_site.returncode == 0, built_site.log[-6000:]
    assert "WARNING" not in built_site.log, built_site.log[-6000:]
    site = built_site.path
    for page in ("index.html", "conventions.html", "api/bea.html", "api/numeric.html",
                 *(f"notebooks/{p.stem}.html" for p in NOTEBOOKS)):
        assert (site / page).is_file(), page
    api = (site / "api" / "bea.html").read_text(encoding="utf-8")
    assert "modified_equation" in api and 'class="arithmatex"' in api and ":math:" not in api
    # search works from disk: the offline plugin inlines the index
    assert (site / "search" / "search_index.js").is_file()


def test_no_page_loads_anything_from_the_network(built_site: Site) -> None:
    pages = sorted(built_site.path.rglob("*.html"))
    assert len(pages) >= 10
    for page in pages:
        html = page.read_text(encoding="utf-8")
        loaded = [a or b for a, b in _LOADED.findall(html)]
        assert loaded, page
        external = [u for u in loaded if _external(u)]
        assert not external, f"{page.relative_to(built_site.path)} loads {external}"
        assert 'src=""' not in html, f"{page.relative_to(built_site.path)} has an empty script source"
        assert "mathjax" not in html.lower(), f"{page.relative_to(built_site.path)} still configures MathJax"
    for sheet in built_site.path.rglob("*.css"):
        urls = _CSS_URL.findall(sheet.read_text(encoding="utf-8"))
        assert not [u for u in urls if _external(u)], sheet
    index = (built_site.path / "index.html").read_text(encoding="utf-8")
    for asset in ("vendor/katex/katex.min.js", "vendor/katex/katex.min.css", "vendor/katex/contrib/auto-render.min.js"):
        assert asset in index and (built_site.path / asset).is_file(), asset
    fonts = re.findall(r"url\((fonts/[^)]+)\)", (built_site.path / "vendor/katex/katex.min.css").read_text("utf-8"))
    assert fonts and all((built_site.path / "vendor/katex" / f).is_file() for f in fonts)


def test_published_tutorials_show_their_outputs(built_site: Site) -> None:
    if missing(NOTEBOOK_MODULES):
        pytest.skip(f"the tutorials cannot run here (missing: {', '.join(missing(NOTEBOOK_MODULES))})")
    for path in NOTEBOOKS:
        html = (built_site.path / "notebooks" / f"{path.stem}.html").read_text(encoding="utf-8")
        assert "jp-OutputArea-output" in html, f"{path.name} is published without outputs"
    drift = (built_site.path / "notebooks" / "04-checking-drift-numerically.html").read_text(encoding="utf-8")
    assert "data:image/png;base64," in drift  # the drift plot
    assert not list(Path(DOCS).rglob(".cache")), "the build leaves no cache in docs/"
