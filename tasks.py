#!/usr/bin/env python3
"""Set up bea in a local virtual environment and run its main job or its checks.

    python3 tasks.py demo    # create .venv, install bea with its torch backend, run `bea demo`
    python3 tasks.py test    # create .venv, install bea with test tools, run ruff, then mypy and pytest together
    python3 tasks.py vendor-katex VERSION   # refresh docs/vendor/katex from the npm registry (needs npm)

Needs nothing but Python >= 3.11 with venv and pip. Installs are constrained by
constraints.txt (torch pinned to the local CPU build).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
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


def vendor_katex(version: str) -> None:
    """Copy KaTeX's dist files (the npm package ``katex@VERSION``) into docs/vendor/katex, woff2 fonts only."""
    target = ROOT / "docs" / "vendor" / "katex"
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["npm", "pack", "--silent", f"katex@{version}"], cwd=tmp, check=True)
        (archive,) = Path(tmp).glob("katex-*.tgz")
        with tarfile.open(archive) as tar:
            tar.extractall(tmp, filter="data")
        dist = Path(tmp) / "package" / "dist"
        shutil.rmtree(target / "fonts", ignore_errors=True)
        (target / "fonts").mkdir(parents=True)
        (target / "contrib").mkdir(exist_ok=True)
        for font in (dist / "fonts").glob("*.woff2"):
            shutil.copy(font, target / "fonts" / font.name)
        shutil.copy(dist / "katex.min.js", target / "katex.min.js")
        shutil.copy(dist / "contrib" / "auto-render.min.js", target / "contrib" / "auto-render.min.js")
        shutil.copy(Path(tmp) / "package" / "LICENSE", target / "LICENSE")
        css = (dist / "katex.min.css").read_text(encoding="utf-8")
        fallbacks = r',url\(fonts/[^)]*\.woff\) format\("woff"\),url\(fonts/[^)]*\.ttf\) format\("truetype"\)'
        css = re.sub(fallbacks, "", css)
        (target / "katex.min.css").write_text(css, encoding="utf-8")
    source = target / "SOURCE.txt"
    source.write_text(re.sub(r"\d+\.\d+\.\d+", version, source.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"docs/vendor/katex now holds KaTeX {version}")


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "vendor-katex":
        vendor_katex(argv[1])
        return 0
    if len(argv) != 1 or argv[0] not in ("demo", "test"):
        print("usage: python3 tasks.py demo|test|vendor-katex VERSION", file=sys.stderr)
        return 2
    if argv[0] == "demo":
        setup("torch")
        run(str(BIN / "bea"), "demo")
    else:
        setup("test,torch,docs")
        run(str(BIN / "ruff"), "check", "bea", "numeric", "tests", "benchmarks", "tasks.py", "conftest.py")
        check_types_while(str(BIN / "python"), "-m", "pytest", "-q", "-n", "auto", "--dist", "loadgroup")
    return 0


def check_types_while(*cmd: str) -> None:
    """Run mypy (strict, on a fresh clone a cold cache: about a minute of one core) while ``cmd`` runs.

    pytest runs on every core (pytest-xdist, ``-n auto``; the docs tests in one group, tests/conftest.py);
    mypy's output is printed when pytest is done. Raises CalledProcessError if either fails.
    """
    print("+", BIN / "mypy", "(alongside the tests)", flush=True)
    with tempfile.TemporaryFile(mode="w+") as log:
        mypy = subprocess.Popen([str(BIN / "mypy")], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, text=True)
        try:
            run(*cmd)
        finally:
            status = mypy.wait()
            log.seek(0)
            print("+", BIN / "mypy", flush=True)
            print(log.read(), end="", flush=True)
    if status:
        raise subprocess.CalledProcessError(status, [str(BIN / "mypy")])


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except subprocess.CalledProcessError as error:
        sys.exit(error.returncode or 1)
