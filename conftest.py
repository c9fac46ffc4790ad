"""pytest configuration: without the torch extra, skip collecting the torch backend's doctests.

Test files under tests/ skip themselves (``pytest.importorskip("torch")``); the doctests of
``numeric/`` need torch to import at all. The README's test command installs the extra.
"""

from __future__ import annotations

import importlib.util

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
