"""``bea verify`` on small systems without torch (issue 13, verify row): lazy imports and the NumPy route.

Independent routes that must agree: the torch route (torch steppers, torch-compiled fields) and the NumPy route
(the same tableau stepped on NumPy arrays and Python floats, NumPy-compiled fields) of
:func:`numeric.drift.drift_check`; fresh interpreters tell which modules a command imported.
"""

from __future__ import annotations

import subprocess
import sys

import pytest


def _fresh(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_import_numeric_imports_no_torch_until_a_name_needs_it() -> None:
    """``import numeric`` is lazy (PEP 562): torch comes with the first name whose module needs it, and every name
    of ``__all__`` resolves to the object of its own module."""
    code = (
        "import sys, importlib, numeric\n"
        "assert 'torch' not in sys.modules, 'import numeric imported torch'\n"
        "assert set(numeric.__all__) <= set(dir(numeric))\n"
        "numeric.ModifiedField\n"
        "assert 'torch' in sys.modules\n"
        "for name in numeric.__all__:\n"
        "    value = getattr(numeric, name)\n"
        "    homes = [m for m in sys.modules.values() if m is not None and m.__name__.startswith('numeric.')\n"
        "             and getattr(m, name, None) is value]\n"
        "    assert homes, name\n"
        "try:\n"
        "    numeric.no_such_name\n"
        "except AttributeError as error:\n"
        "    assert 'no_such_name' in str(error)\n"
        "else:\n"
        "    raise AssertionError('no AttributeError')\n"
        "print('ok')\n"
    )
    run = _fresh(code)
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stderr


def test_from_numeric_import_names() -> None:
    pytest.importorskip("torch")
    from numeric import compile_field, run_method
    from numeric.codegen import compile_field as home
    from numeric.trajectories import run_method as run_home

    assert compile_field is home and run_method is run_home
