"""Test files that pytest-xdist runs on one worker, each group as one unit (the README's test command runs
``pytest -n auto --dist loadgroup``; the scheduler hook is in the root conftest.py).

A module- or session-scoped fixture is computed once per worker that runs a test using it, so the tests that
share an expensive one go to one worker together:

- ``docs``: the executed tutorials and the built site (tests/conftest.py, about three minutes of CPU);
- ``reproduce``: ``bea reproduce two-param --quick`` and ``bea reproduce digits --quick``, the module fixtures
  ``two_param`` (six tests) and ``digits_quick`` of tests/test_reproduce.py, 15-35 s each on this 2-core
  machine; spread over two workers, ``two_param`` was computed on both.

Larger units are handed out first (xdist's ``--loadscope-reorder``, its default), so both start at once.
"""

from __future__ import annotations

from docs_site import DOCS_TEST_FILES

__all__ = ["UNITS", "unit_of"]

#: unit name -> the test files (paths from the repository root) that make it up
UNITS: dict[str, tuple[str, ...]] = {
    "docs": DOCS_TEST_FILES,
    "reproduce": ("tests/test_reproduce.py",),
}


def unit_of(nodeid: str) -> str | None:
    """The unit of the test ``nodeid`` (``path::name[...]``), or None when it is scheduled on its own."""
    path = nodeid.split("::")[0]
    return next((name for name, files in UNITS.items() if path in files), None)
