"""The tutorials in docs/notebooks run top to bottom on CPU (the file checks, which need no kernel, are in
tests/test_notebooks_static.py).

Each notebook is executed with nbclient in a fresh kernel running this interpreter (so the
project's virtual environment), with the notebook's folder as working directory and a time
limit per cell and per notebook.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="nbformat is not installed (docs extra)")
nbclient = pytest.importorskip("nbclient", reason="nbclient is not installed (docs extra)")
pytest.importorskip("ipykernel", reason="ipykernel is not installed (docs extra)")
pytest.importorskip("torch", reason="the tutorials use the torch backend (torch extra)")
pytest.importorskip("matplotlib", reason="the tutorials draw figures (torch extra)")
pytest.importorskip("sklearn", reason="the digits tutorial needs scikit-learn (torch extra)")

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "docs" / "notebooks").glob("*.ipynb"))
KERNEL = "bea-tests"
CELL_TIMEOUT_S = 120


@pytest.fixture(scope="module")
def kernel_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A kernelspec that runs this very interpreter, found first on JUPYTER_PATH."""
    root = tmp_path_factory.mktemp("jupyter")
    spec = root / "kernels" / KERNEL
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": KERNEL, "language": "python"}))
    return root


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path: Path, kernel_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUPYTER_PATH", os.pathsep.join(filter(None, [str(kernel_dir), os.environ.get("JUPYTER_PATH")])))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # quiet debugger warning on stderr
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=CELL_TIMEOUT_S, kernel_name=KERNEL, resources={"metadata": {"path": str(path.parent)}}
    )
    client.execute()  # each cell is bounded by CELL_TIMEOUT_S (a runaway guard, not a speed target)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
