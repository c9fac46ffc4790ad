#!/usr/bin/env python3
"""Set up bea in a local virtual environment and run its main job or its checks.

    python3 tasks.py demo    # create .venv, install bea with its torch backend, run `bea demo`
    python3 tasks.py test    # create .venv, install bea with test tools, run ruff, mypy, pytest

Needs nothing but Python >= 3.11 with venv and pip. Installs are constrained by
constraints.txt (torch pinned to the local CPU build).
"""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if sys.platform == "win32" else "bin")


def run(*cmd: str) -> None:
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, cwd=ROOT, check=True)


def setup(extras: str) -> None:
    if not (BIN / "python").exists():
        venv.EnvBuilder(with_pip=True).create(VENV)
    spec = f".[{extras}]" if extras else "."
    run(str(BIN / "python"), "-m", "pip", "install", "--quiet", "-c", "constraints.txt", "-e", spec)


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in ("demo", "test"):
        print("usage: python3 tasks.py demo|test", file=sys.stderr)
        return 2
    if argv[0] == "demo":
        setup("torch")
        run(str(BIN / "bea"), "demo")
    else:
        setup("test,torch,docs")
        run(str(BIN / "ruff"), "check", "bea", "numeric", "tests", "benchmarks", "tasks.py", "conftest.py")
        run(str(BIN / "mypy"))
        run(str(BIN / "python"), "-m", "pytest", "-q")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except subprocess.CalledProcessError as error:
        sys.exit(error.returncode or 1)
