"""pytest configuration: without the torch extra, skip collecting the torch backend's doctests.

Test files under tests/ skip themselves (``pytest.importorskip("torch")``); the doctests of
``numeric/`` need torch to import at all. The README's test command installs the extra.
"""

from __future__ import annotations

import importlib.util

collect_ignore_glob = [] if importlib.util.find_spec("torch") else ["numeric/*"]
