"""The README's Python example runs as written."""

from __future__ import annotations

import doctest
import importlib.util
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def _python_blocks(text: str) -> str:
    """The contents of the README's ```python fenced blocks, each ended by a blank line."""
    return "\n\n".join(re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL))


def test_readme_examples_run() -> None:
    text = _python_blocks(README.read_text(encoding="utf-8"))
    parser = doctest.DocTestParser()
    test = parser.get_doctest(text, {}, "README", str(README), 0)
    assert test.examples, "the README has no Python example"
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
    assert runner.failures == 0


def test_ci_runs_the_readme_test_command() -> None:
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert "test-command" in ci
    lines = README.read_text(encoding="utf-8").splitlines()
    marker = lines.index("<!-- test-command -->")
    assert lines[marker + 2].strip() == "python3 tasks.py test"


# ----------------------------------------------------------------------------- commands shown to a newcomer
GETTING_STARTED = README.parent / "docs" / "getting-started.md"
#: Shell lines shown in the README and getting-started that the tests do not run, each for a reason:
#: the setup and test commands themselves, pip installs, and the docs build (tests/test_docs.py builds it).
NOT_RUN = ("python3 tasks.py ", "python3 -m venv ", ".venv/bin/pip install ", ".venv/bin/mkdocs build")
#: Commands that another test already runs end to end (the run takes tens of seconds): here their
#: arguments are only parsed, so that a renamed or removed option is still caught.
RUN_ELSEWHERE = {
    ("demo",): "tests/test_drift.py runs `bea demo`",
    ("reproduce", "digits"): "tests/test_faults_numeric.py runs `bea reproduce digits --quick`",
}


def _shell_lines(path: Path) -> list[str]:
    """The command lines of the ```sh blocks of ``path``, comments removed."""
    lines = []
    for block in re.findall(r"```sh\n(.*?)```", path.read_text(encoding="utf-8"), flags=re.DOTALL):
        for line in block.splitlines():
            command = re.sub(r"\s+#.*$", "", line).strip()
            if command and not command.startswith("#"):
                lines.append(command)
    return lines


def _bea_commands() -> list[tuple[str, str]]:
    found = []
    for path in (README, GETTING_STARTED):
        for line in _shell_lines(path):
            if line.startswith(NOT_RUN):
                continue
            assert line.startswith(".venv/bin/bea "), f"{path.name}: {line!r} does not work when pasted"
            found.append((path.name, line))
    return found


def test_commands_are_written_to_work_when_pasted() -> None:
    commands = _bea_commands()
    assert len(commands) >= 10
    for text in (README.read_text(encoding="utf-8"), GETTING_STARTED.read_text(encoding="utf-8")):
        assert ".venv/bin/bea" in text and "source .venv/bin/activate" in text


@pytest.mark.slow
@pytest.mark.parametrize("where, command", _bea_commands(), ids=lambda v: str(v)[:60])
def test_shown_command_works(where: str, command: str, tmp_path: Path) -> None:
    """Each command, run as shown (``.venv/bin/bea`` is this interpreter's ``bea``) in a scratch folder."""
    argv = shlex.split(command)[1:]
    ran_elsewhere = next((why for prefix, why in RUN_ELSEWHERE.items() if tuple(argv[: len(prefix)]) == prefix), None)
    if ran_elsewhere:  # the same command runs in another test: here only its arguments are checked
        from bea.cli import build_parser

        build_parser().parse_args(argv)
        return
    if ("verify" in argv or "demo" in argv or "reproduce" in argv) and importlib.util.find_spec("torch") is None:
        pytest.skip("needs the torch extra")
    bea = [sys.executable, "-c", "import sys; from bea.cli import main; sys.exit(main())"]
    path = os.pathsep.join(filter(None, [str(README.parent), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path}
    result = subprocess.run([*bea, *argv, *(["--no-progress"] if _takes_progress(argv) else [])], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"{where}: {command}\n{result.stderr[-3000:]}"
    assert result.stdout.strip()
    if "--version" not in argv and "--help" not in argv:
        assert "Traceback" not in result.stderr
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert all(p.startswith("out/") for p in written), f"{command} wrote outside out/: {written}"


def _takes_progress(argv: list[str]) -> bool:
    return bool(argv) and argv[0] in ("verify", "demo", "reproduce")


def test_getting_started_python_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The getting-started page's Python blocks, run one after the other in a scratch folder."""
    blocks = re.findall(r"```python\n(.*?)```", GETTING_STARTED.read_text(encoding="utf-8"), flags=re.DOTALL)
    assert len(blocks) >= 2
    if importlib.util.find_spec("torch") is None:
        blocks = [b for b in blocks if "numeric" not in b]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, str(GETTING_STARTED), "exec"), namespace)
    assert namespace["flow"].is_gradient(1) and not namespace["flow"].is_gradient(2)  # type: ignore[attr-defined]
    if "report" in namespace:
        assert namespace["report"].passed and (tmp_path / "out" / "drift.png").is_file()  # type: ignore[attr-defined]
