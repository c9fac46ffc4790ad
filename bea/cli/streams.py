"""Keep stdout for the promised output: anything else written to file descriptor 1 goes to stderr.

Native libraries (oneMKL, OpenBLAS, FLINT) print diagnostics such as ``Intel oneMKL ERROR: Parameter 3 was
incorrect on entry to DGEBAL`` straight to file descriptor 1, below Python's ``sys.stdout``; inside a command
that writes JSON they would corrupt it. :func:`stdout_to_stderr` points descriptor 1 at stderr while a command
works; the CLI prints the command's result only after it is restored.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

__all__ = ["stdout_to_stderr"]


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Redirect file descriptor 1 (and ``sys.stdout``) to stderr inside the block; restore it afterwards.

    Where descriptors cannot be duplicated (no real descriptor 1, e.g. a notebook), only ``sys.stdout`` is
    redirected.

    >>> with stdout_to_stderr():
    ...     print("a progress message")  # goes to stderr
    >>> print("the result")
    the result
    """
    sys.stdout.flush()
    saved: int | None
    try:
        saved = os.dup(1)
        os.dup2(2, 1)
    except OSError:
        saved = None
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stderr.flush()
        if saved is not None:
            os.dup2(saved, 1)
            os.close(saved)
