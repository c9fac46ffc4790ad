"""The tutorials in docs/notebooks run top to bottom on CPU (the file checks, which need no kernel, are in
tests/test_notebooks_static.py).

Each notebook is executed once per session (``executed_notebooks`` in tests/conftest.py, see
tests/docs_site.py) with nbclient in a fresh kernel running this interpreter (so the project's
virtual environment), with the notebook's folder as working directory and a time limit per cell.
The same executed notebooks are what the documentation site publishes (tests/test_docs.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from docs_site import NOTEBOOKS, Executed

nbformat = pytest.importorskip("nbformat", reason="nbformat is not installed (docs extra)")


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path: Path, executed_notebooks: dict[Path, Executed]) -> None:
    result = executed_notebooks[path]
    assert result.error is None, result.error
    nb = result.notebook
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.execution_count is not None for c in code), "every code cell ran"
