"""Execute the tutorials once and build the documentation site from them, for the docs tests.

The stored notebooks (docs/notebooks) carry no outputs. :func:`execute_notebooks` runs each one
with nbclient in a fresh kernel of this interpreter; :func:`build_site` copies docs/ to a scratch
folder, puts the executed notebooks in place of the stored ones and runs ``mkdocs build --strict``
on it (``BEA_DOCS_DIR``, ``BEA_DOCS_EXECUTE=false`` in mkdocs.yml), so that the published
tutorials show their outputs while each notebook runs only once per test session
(tests/conftest.py shares both as session fixtures).
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
NOTEBOOKS = sorted((DOCS / "notebooks").glob("*.ipynb"))
KERNEL = "bea-tests"
CELL_TIMEOUT_S = 120  # a runaway guard per cell, not a speed target
MKDOCS_MODULES = ("mkdocs", "material", "mkdocs_jupyter", "mkdocstrings", "mkdocstrings_handlers.python")
NOTEBOOK_MODULES = ("nbformat", "nbclient", "ipykernel", "torch", "matplotlib", "sklearn")
#: The test files that use the executed tutorials or the built site (run on one pytest-xdist worker).
DOCS_TEST_FILES = ("tests/test_browser.py", "tests/test_docs.py", "tests/test_notebooks.py")


def missing(modules: tuple[str, ...]) -> list[str]:
    """The modules of ``modules`` that cannot be imported here."""
    absent = []
    for name in modules:
        try:
            found = importlib.util.find_spec(name) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            absent.append(name)
    return absent


@dataclass(frozen=True)
class Executed:
    """One tutorial after execution: the notebook (nbformat node) and the error that stopped it, if any."""

    path: Path
    notebook: Any
    error: str | None


def kernel_dir(root: Path) -> Path:
    """A Jupyter data folder holding a kernelspec that runs this very interpreter (to put on JUPYTER_PATH)."""
    spec = root / "kernels" / KERNEL
    spec.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": KERNEL, "language": "python"}))
    return root


def execute_notebooks(scratch: Path, jobs: int | None = None) -> dict[Path, Executed]:
    """Run every tutorial top to bottom (CPU, figures with Agg), in its own folder; keep errors, do not raise.

    Each notebook has its own kernel (a process), so up to ``jobs`` of them (default: one per CPU)
    run at the same time, from one asyncio event loop (nbclient's ``async_execute``).
    """
    jupyter = kernel_dir(scratch / "jupyter")
    saved = {k: os.environ.get(k) for k in ("JUPYTER_PATH", "MPLBACKEND", "PYDEVD_DISABLE_FILE_VALIDATION")}
    os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, [str(jupyter), saved["JUPYTER_PATH"]]))
    os.environ["MPLBACKEND"] = "Agg"
    os.environ["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"  # quiet debugger warning on stderr
    try:
        limit = max(1, min(len(NOTEBOOKS), jobs or os.cpu_count() or 1))
        return dict(zip(NOTEBOOKS, asyncio.run(_execute_all(NOTEBOOKS, limit)), strict=True))
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


async def _execute_all(paths: list[Path], limit: int) -> list[Executed]:
    import nbclient
    import nbformat

    slots = asyncio.Semaphore(limit)

    async def execute(path: Path) -> Executed:
        async with slots:
            nb = nbformat.read(path, as_version=4)
            client = nbclient.NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name=KERNEL,
                                             resources={"metadata": {"path": str(path.parent)}})
            error = None
            try:
                await client.async_execute()
            except Exception as exc:  # reported by the test of this notebook, with the cell that failed
                error = f"{type(exc).__name__}: {exc}"
            return Executed(path, nb, error)

    return list(await asyncio.gather(*(execute(path) for path in paths)))


@dataclass(frozen=True)
class Site:
    """A built site: its folder, the build's exit status and log."""

    path: Path
    returncode: int
    log: str


def build_site(scratch: Path, executed: dict[Path, Executed] | None) -> Site:
    """``mkdocs build --strict`` of a copy of docs/ holding the executed notebooks (if given)."""
    import nbformat

    docs = scratch / "docs"
    shutil.copytree(DOCS, docs)
    for path, result in (executed or {}).items():
        nbformat.write(result.notebook, docs / "notebooks" / path.name)
    site = scratch / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "BEA_DOCS_EXECUTE": "false", "BEA_DOCS_DIR": str(docs)}
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    return Site(site, result.returncode, result.stdout + result.stderr)
