"""pytest configuration: without the torch extra, skip collecting the torch backend's doctests.

Test files under tests/ skip themselves (``pytest.importorskip("torch")``); the doctests of
``numeric/`` need torch to import at all. The README's test command installs the extra.
"""

from __future__ import annotations

import importlib.util

import pytest

collect_ignore_glob = [] if importlib.util.find_spec("torch") else ["numeric/*"]

# Hypothesis: derandomised everywhere (the same examples on every run, so a failure reproduces and a
# pass means the same thing on every machine); no example database written into the repository.
try:
    from hypothesis import settings as _hypothesis_settings
except ImportError:  # pragma: no cover - hypothesis is a test dependency
    pass
else:
    _hypothesis_settings.register_profile("bea", derandomize=True, database=None, deadline=None)
    _hypothesis_settings.load_profile("bea")


@pytest.hookimpl(optionalhook=True)  # pytest-xdist may be absent: then pytest must not reject the hook
def pytest_xdist_make_scheduler(config: object, log: object) -> object:
    """``--dist loadgroup`` (the README's test command: ``pytest -n auto --dist loadgroup``) that also sends the
    tests of each unit of ``scheduling.UNITS`` to one worker as one unit.

    The docs tests share the session fixtures that execute every tutorial and build the site
    (tests/conftest.py): one worker does that work once while the others run the rest of the suite,
    one test at a time; likewise for the other units' expensive module fixtures (tests/scheduling.py).
    (xdist's own ``xdist_group`` marks do not reach its scheduler under pytest 9, which no longer reads
    ``item._nodeid``.)
    """
    if getattr(getattr(config, "option", None), "dist", None) != "loadgroup":
        return None
    from scheduling import unit_of  # tests/ is on sys.path (pythonpath in pyproject.toml)
    from xdist.scheduler import LoadGroupScheduling

    class UnitsTogether(LoadGroupScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return unit_of(nodeid) or super()._split_scope(nodeid)

    return UnitsTogether(config, log)
