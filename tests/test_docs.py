"""The documentation site builds with ``mkdocs build --strict`` (every warning is an error).

That covers the pages and their links, the navigation, the rendered notebooks (not executed here:
tests/test_notebooks.py runs them) and the API reference generated from the docstrings of ``bea``
and ``numeric`` (mkdocstrings), which must parse without warnings.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NEEDED = ("mkdocs", "material", "mkdocs_jupyter", "mkdocstrings", "mkdocstrings_handlers.python")


def _missing() -> list[str]:
    missing = []
    for name in NEEDED:
        try:
            found = importlib.util.find_spec(name) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            missing.append(name)
    return missing


def test_every_page_is_in_the_navigation() -> None:
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    docs = ROOT / "docs"
    pages = [p.relative_to(docs).as_posix() for p in docs.rglob("*") if p.suffix in (".md", ".ipynb")]
    assert pages
    assert not [p for p in pages if p not in config], "add these pages to nav in mkdocs.yml"


@pytest.mark.skipif(bool(_missing()), reason=f"the docs extra is not installed (missing: {', '.join(_missing())})")
def test_site_builds_strict(tmp_path: Path) -> None:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "BEA_DOCS_EXECUTE": "false"}
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-6000:]
    assert "WARNING" not in log, log[-6000:]
    site = tmp_path / "site"
    for page in ("index.html", "conventions/index.html", "api/bea/index.html", "api/numeric/index.html",
                 "notebooks/01-from-a-step-to-a-flow/index.html"):
        assert (site / page).is_file(), page
    api = (site / "api" / "bea" / "index.html").read_text(encoding="utf-8")
    assert "modified_equation" in api and 'class="arithmatex"' in api and ":math:" not in api
