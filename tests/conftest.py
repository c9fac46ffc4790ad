"""Session fixtures shared by the documentation tests: the executed tutorials and the built site.

Each tutorial runs once per session (tests/test_notebooks.py checks it ran cleanly), and the site
is built once from those executed notebooks (tests/test_docs.py checks the build, the pages and
their assets; tests/test_browser.py opens them in headless Chromium).

With pytest-xdist (the README's test command runs ``pytest -n auto --dist loadgroup``) the tests
of ``DOCS_TEST_FILES`` go to one worker (the scheduler hook in the root conftest.py), so that the
tutorials run and the site is built once; every test that uses these fixtures must live there.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from docs_site import (
    DOCS_TEST_FILES,
    MKDOCS_MODULES,
    NOTEBOOK_MODULES,
    Executed,
    Site,
    build_site,
    execute_notebooks,
    missing,
)

DOCS_FIXTURES = frozenset({"executed_notebooks", "built_site"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests that use the docs fixtures must live in DOCS_TEST_FILES, which pytest-xdist runs on one
    worker; a test elsewhere would execute the tutorials a second time, on another worker."""
    for item in items:
        where = item.nodeid.split("::")[0]
        if DOCS_FIXTURES & set(getattr(item, "fixturenames", ())) and where not in DOCS_TEST_FILES:
            raise pytest.UsageError(f"{item.nodeid} uses {sorted(DOCS_FIXTURES)}: add {where} to DOCS_TEST_FILES")


@pytest.fixture(scope="session")
def executed_notebooks(tmp_path_factory: pytest.TempPathFactory) -> dict[Path, Executed]:
    """Every tutorial executed top to bottom (skips where the docs or torch extra is missing)."""
    absent = missing(NOTEBOOK_MODULES)
    if absent:
        pytest.skip(f"running the tutorials needs the docs and torch extras (missing: {', '.join(absent)})")
    return execute_notebooks(tmp_path_factory.mktemp("notebooks"))


@pytest.fixture(scope="session")
def built_site(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Site:
    """The site built with ``mkdocs build --strict``, its tutorials with their outputs where they can run."""
    absent = missing(MKDOCS_MODULES)
    if absent:
        pytest.skip(f"the docs extra is not installed (missing: {', '.join(absent)})")
    executed = None if missing(NOTEBOOK_MODULES) else request.getfixturevalue("executed_notebooks")
    return build_site(tmp_path_factory.mktemp("site"), executed)
