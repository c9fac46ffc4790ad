"""The tutorials in docs/notebooks as files: present, valid JSON notebooks, stored without outputs.

These checks need no kernel, no torch and no docs extra, so they live apart from tests/test_notebooks.py
(whose whole-module skip, without the docs or torch extras, used to hide them).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "docs" / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks() -> None:
    assert len(NOTEBOOKS) >= 6, NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_without_outputs(path: Path) -> None:
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert nb.get("nbformat") == 4 and isinstance(nb.get("cells"), list), f"{path.name}: not an nbformat-4 notebook"
    for cell in nb["cells"]:
        assert cell.get("cell_type") in ("code", "markdown", "raw"), f"{path.name}: unknown cell type"
        if cell["cell_type"] == "code":
            assert not cell.get("outputs") and cell.get("execution_count") is None, f"{path.name}: clear the outputs"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_valid_by_nbformat_where_installed(path: Path) -> None:
    nbformat = pytest.importorskip("nbformat", reason="nbformat is not installed (docs extra)")
    nbformat.validate(nbformat.read(path, as_version=4))
