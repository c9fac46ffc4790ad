"""Safe output paths: never destroy an earlier result without an explicit flag, write atomically.

Every file the numeric commands write (plots, JSON results, run logs) goes through these helpers:

* :func:`output_file` refuses a path that does not mean what it says: an empty name, an existing folder
  (``--plot DIR`` used to write ``DIR.png`` beside it), a suffix the writer cannot produce, a missing
  parent folder it cannot create, and an existing file unless ``overwrite=True``;
* :func:`output_folder` refuses an empty name and a path that is a file;
* :func:`atomic_write` writes through a temporary file in the same folder and renames it over the target
  (``os.replace``), so an interrupted write leaves the earlier file intact, never a truncated one.

Each refusal raises :class:`OutputError` (a :class:`~bea.errors.BeaValueError`: exit status 2 in the CLI)
naming the path.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from bea.errors import OutputError

__all__ = ["OutputError", "atomic_write", "output_file", "output_folder"]


def _non_empty(path: str | os.PathLike[str], what: str) -> Path:
    if isinstance(path, str) and not path.strip():
        raise OutputError(f"the {what} must be a non-empty path, got {path!r}")
    return Path(path)


def output_folder(path: str | os.PathLike[str]) -> Path:
    """The folder ``path``, created with its parents if needed; refuses an empty name or an existing file."""
    p = _non_empty(path, "output folder")
    if p.exists() and not p.is_dir():
        raise OutputError(f"the output folder {str(p)!r} is an existing file, not a folder")
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the output folder {str(p)!r}: {exc.strerror or exc}") from None
    if not os.access(p, os.W_OK):
        raise OutputError(f"the output folder {str(p)!r} is not writable")
    return p


def output_file(path: str | os.PathLike[str], *, suffixes: Iterable[str], overwrite: bool = False,
                what: str = "output file") -> Path:
    """``path`` checked as a new file with one of ``suffixes`` (e.g. ``(".png", ".pdf", ".svg")``).

    Its parent folder is created. An existing file is refused unless ``overwrite``.
    """
    p = _non_empty(path, what)
    allowed = tuple(s.lower() for s in suffixes)
    if p.is_dir():
        raise OutputError(f"the {what} {str(p)!r} is an existing folder; give a file name ending in "
                          f"{', '.join(allowed)}")
    if p.suffix.lower() not in allowed:
        raise OutputError(f"the {what} {str(p)!r} must end in one of {', '.join(allowed)}")
    if p.exists() and not overwrite:
        raise OutputError(f"the {what} {str(p)!r} exists; pass --overwrite (overwrite=True) to replace it")
    output_folder(p.parent if str(p.parent) else ".")
    return p


def atomic_write(path: Path, write: Callable[[Path], object]) -> Path:
    """Call ``write(tmp)`` on a temporary path beside ``path``, then rename it over ``path`` (atomic on POSIX).

    The temporary file keeps ``path``'s suffix (writers such as matplotlib choose the format by it) and is
    removed if ``write`` fails; the file gets the permissions of any new file (``0666`` less the umask).
    """
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes the file private (0600); a new file follows the umask
        os.replace(tmp, path)
    except OSError as exc:
        raise OutputError(f"cannot write {str(path)!r}: {exc.strerror or exc}") from None
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def _umask() -> int:
    """The process's umask (read by setting it and setting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
