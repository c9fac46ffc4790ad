"""Source and documentation files hold no control characters.

A docstring written through a Python string with its escapes interpreted turned ``\\varphi`` into a vertical tab
and ``arphi``, ``\\beta`` into a backspace, ``\\theta`` into a tab and ``\\nabla`` into a line break: the rendered
API page and ``help()`` showed garbage while every other test passed. Text files may hold line feeds only.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SUFFIXES = {".py", ".md", ".toml", ".yml", ".yaml", ".cfg", ".txt", ".ipynb", ".css", ".js", ".html", ".json"}
CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")  # everything below space except the line feed, and DEL


def _tracked_text_files() -> list[Path]:
    try:
        listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    paths = [ROOT / p for p in listed.decode().split("\0") if p]
    return [p for p in paths if p.suffix in SUFFIXES and p.is_file()]


def test_no_control_characters_in_tracked_text_files() -> None:
    files = _tracked_text_files()
    assert len(files) > 100  # the check saw the tree
    found = []
    for path in files:
        for number, line in enumerate(path.read_text(encoding="utf-8").split("\n"), start=1):
            match = CONTROL.search(line)
            if match:
                found.append(f"{path.relative_to(ROOT)}:{number}: {match.group()!r} in {line.strip()[:60]!r}")
    assert not found, "\n".join(found)


def test_the_check_sees_a_control_character(tmp_path: Path) -> None:
    assert CONTROL.search(":math:`\x0barphi`") and CONTROL.search("\tab") and not CONTROL.search("plain \\varphi")
