"""``bea verify`` on small systems without torch (issue 13, verify row): lazy imports and the NumPy route.

Independent routes that must agree: the torch route (torch steppers, torch-compiled fields) and the NumPy route
(the same tableau stepped on NumPy arrays and Python floats, NumPy-compiled fields) of
:func:`numeric.drift.drift_check`; fresh interpreters tell which modules a command imported.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import sympy

import bea
import numeric.integrate as integrate
from numeric.drift import drift_check
from numeric.drift_report import DriftReport

a, b, x, y = sympy.symbols("a b x y")
PAPER_LOSS = (y - a * b * x) ** 2 / 2
PAPER_SUBS = {x: 1, y: sympy.Rational(3, 5)}
PAPER_HS = (0.01, 0.005, 0.0025, 0.00125)
VERIFY = ["verify", "--loss", "(y - a*b*x)^2/2", "--params", "a", "b", "--subs", "x=1", "y=0.6", "--init", "a=2.8",
          "b=3.5", "--no-progress"]


def _fresh(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_import_numeric_imports_no_torch_until_a_name_needs_it() -> None:
    """``import numeric`` is lazy (PEP 562): the names of the NumPy route import no torch, a torch name does."""
    code = (
        "import sys, numeric\n"
        "assert 'torch' not in sys.modules, 'import numeric imported torch'\n"
        "assert set(numeric.__all__) <= set(dir(numeric))\n"
        "numeric.compile_field, numeric.drift_check, numeric.DriftReport, numeric.integrate_flow\n"
        "numeric.expected_slope, numeric.flow_fields\n"
        "assert 'torch' not in sys.modules, 'a name of the NumPy route imported torch'\n"
        "numeric.run_method\n"
        "assert 'torch' in sys.modules\n"
        "print('ok')\n"
    )
    run = _fresh(code)
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stderr


def test_every_public_name_resolves_to_its_modules_object() -> None:
    pytest.importorskip("torch")
    import importlib

    import numeric

    for name in numeric.__all__:
        homes = [module for module in ("autodiff", "codegen", "drift", "drift_report", "egr", "energy", "flatness",
                                       "igr", "integrate", "optimiser_fields", "partitioned", "trajectories")
                 if getattr(importlib.import_module(f"numeric.{module}"), name, None) is getattr(numeric, name)]
        assert homes, name
    with pytest.raises(AttributeError, match="no_such_name"):
        numeric.no_such_name  # noqa: B018


def test_from_numeric_import_names() -> None:
    pytest.importorskip("torch")
    from numeric import compile_field, run_method
    from numeric.codegen import compile_field as home
    from numeric.trajectories import run_method as run_home

    assert compile_field is home and run_method is run_home


def _assert_same_check(ours: DriftReport, theirs: DriftReport) -> None:
    """Same slopes (1e-8), errors to 1e-10 of each truncation's largest error (θ ~ 1 rounded over ~1500 steps: the
    smallest errors, 4e-8, agree to ~1e-15 absolute), same λ_max (1e-12) and verdicts."""
    assert ours.passed and theirs.passed
    assert (ours.method, ours.hs, ours.theta0, ours.device, ours.dtype) == (theirs.method, theirs.hs, theirs.theta0,
                                                                            theirs.device, theirs.dtype)
    assert ours.lambda_max == pytest.approx(theirs.lambda_max, rel=1e-12)
    for mine, other in zip(ours.truncations, theirs.truncations, strict=True):
        assert (mine.truncation, mine.expected_slope, mine.passed) == (other.truncation, other.expected_slope,
                                                                       other.passed)
        assert mine.slope is not None and other.slope is not None and abs(mine.slope - other.slope) < 1e-8
        scale = max(e for e in mine.errors if e is not None)
        for e1, e2 in zip(mine.errors, other.errors, strict=True):
            assert e1 is not None and e2 is not None and abs(e1 - e2) <= 1e-10 * scale


def test_numpy_route_agrees_with_the_torch_stepper_on_the_papers_model() -> None:
    """Gradient descent on the paper's model (Barrett & Dherin 2021, Fig. 1 setting): the NumPy route (the h^0 field
    compiled by SymPy, stepped by numeric.arrays.explicit_rk_step on Python floats) against the torch stepper on
    torch.autograd's gradient of the same loss written in torch (given as step_field, which sends the check to the
    torch route); both integrate the flows with SciPy."""
    torch = pytest.importorskip("torch")
    flow = bea.modified_flow(PAPER_LOSS, [a, b], truncation=3)
    ours = drift_check(flow, {"a": 2.8, "b": 3.5}, PAPER_HS, subs=PAPER_SUBS)
    theirs = drift_check(flow, {"a": 2.8, "b": 3.5}, PAPER_HS, subs=PAPER_SUBS,
                         step_field=lambda t: (0.6 - t[0] * t[1]) ** 2 / 2)
    _assert_same_check(ours, theirs)
    assert [round(o.slope or 0) for o in ours.truncations] == [1, 2, 3, 4]
    assert min(e for o in ours.truncations for e in o.errors if e is not None) > 1e-8  # not trivially equal
    assert isinstance(torch.zeros(1), torch.Tensor)


def test_numpy_route_agrees_with_the_torch_route_for_explicit_midpoint_on_a_cosine_loss(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Explicit midpoint on E = 1 − cos a cos b + (a − b)²/4 (order 2: expected slopes 2, 2, 3, 4): the NumPy route
    against the whole torch route (torch stepper on the torch-compiled field, torchdiffeq's dopri8 for the flows),
    forced by declaring every system large."""
    pytest.importorskip("torch")
    loss = 1 - sympy.cos(a) * sympy.cos(b) + (a - b) ** 2 / 4
    flow = bea.modified_flow(loss, [a, b], truncation=3, method=bea.methods.explicit_midpoint)
    hs = (0.1, 0.05, 0.025, 0.0125)
    ours = drift_check(flow, [0.9, -0.4], hs)
    monkeypatch.setattr(integrate, "SMALL_SYSTEM", 0)
    theirs = drift_check(flow, [0.9, -0.4], hs, check_integration=False)
    assert [o.expected_slope for o in ours.truncations] == [2, 2, 3, 4]
    assert ours.passed and theirs.passed
    for mine, other in zip(ours.truncations, theirs.truncations, strict=True):
        assert mine.slope is not None and other.slope is not None and abs(mine.slope - other.slope) < 1e-6
        for e1, e2 in zip(mine.errors, other.errors, strict=True):  # two integrators: 1e-13 tolerances
            assert e1 is not None and e2 is not None and abs(e1 - e2) < 1e-11
    assert min(e for o in ours.truncations for e in o.errors if e is not None) > 1e-9


def test_cli_json_is_the_same_on_both_routes(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
                                             ) -> None:
    """``bea verify --format json`` on the paper's model: the NumPy route's report against the torch route's
    (every system declared large), key by key."""
    pytest.importorskip("torch")
    from bea.cli import main

    args = [*VERIFY, "--format", "json", "--truncations", "0", "1", "2"]
    assert main(args) == 0
    ours = json.loads(capsys.readouterr().out)
    monkeypatch.setattr(integrate, "SMALL_SYSTEM", 0)
    assert main(args) == 0
    theirs = json.loads(capsys.readouterr().out)
    assert set(ours) == set(theirs)
    for key in ("schema", "method", "hs", "time", "theta0", "device", "dtype", "tolerance", "passed", "warnings",
                "diverged"):
        assert ours[key] == theirs[key], key
    assert ours["lambda_max"] == pytest.approx(theirs["lambda_max"], rel=1e-12)
    for mine, other in zip(ours["truncations"], theirs["truncations"], strict=True):
        assert {k: mine[k] for k in ("truncation", "expected_slope", "passed")} == \
            {k: other[k] for k in ("truncation", "expected_slope", "passed")}
        assert abs(mine["slope"] - other["slope"]) < 1e-6
        assert all(abs(e1 - e2) < 1e-10 for e1, e2 in zip(mine["errors"], other["errors"], strict=True))


def test_bea_verify_on_the_papers_model_imports_no_torch_and_torch_cases_still_run() -> None:
    """A fresh interpreter: ``bea verify`` on the paper's model passes without importing torch (nor torchdiffeq or
    matplotlib); then an implicit method (the torch route: Newton on torch tensors) passes and has imported torch,
    and ``--device cuda`` without a GPU is one clear error (exit 2)."""
    pytest.importorskip("torch")
    code = (
        "import io, sys, contextlib\n"
        "from bea.cli import main\n"
        f"args = {VERIFY!r}\n"
        "assert main(args) == 0\n"
        "heavy = sorted(m for m in ('torch', 'torchdiffeq', 'matplotlib') if m in sys.modules)\n"
        "assert not heavy, heavy\n"
        "assert main([*args, '--method', 'implicit_midpoint', '--h', '0.01', '0.005', '--truncations', '0', "
        "'2']) == 0\n"
        "assert 'torch' in sys.modules\n"
        "import torch\n"
        "if not torch.cuda.is_available():\n"
        "    err = io.StringIO()\n"
        "    with contextlib.redirect_stderr(err):\n"
        "        assert main([*args, '--device', 'cuda']) == 2\n"
        "    assert 'CUDA is not available' in err.getvalue(), err.getvalue()\n"
        "print('ok')\n"
    )
    run = _fresh(code)
    assert run.returncode == 0 and run.stdout.strip().endswith("ok"), run.stdout[-2000:] + run.stderr[-2000:]
    assert "drift check: explicit_euler" in run.stdout and "drift check: implicit_midpoint" in run.stdout


def test_both_routes_report_the_same_divergence() -> None:
    """Gradient descent on E = (a⁴ + b⁴)/4 from (3, 2) with h = 1/4 overshoots (3 → −3.75 → 9.4 → −198 → 1.9e6 →
    1.7e18, past the norm bound 1e12 at step 5, by hand); h = 0.01 and 0.005 converge. The NumPy route and the
    torch stepper (autograd's gradient of the loss written in torch) report the same step, reason and errors."""
    pytest.importorskip("torch")
    flow = bea.modified_flow((a**4 + b**4) / 4, [a, b], truncation=1)
    hs = (0.25, 0.01, 0.005)
    with pytest.warns(UserWarning, match="lambda_max"):
        ours = drift_check(flow, [3.0, 2.0], hs, time=2.0, truncations=(0, 1))
    with pytest.warns(UserWarning, match="lambda_max"):
        theirs = drift_check(flow, [3.0, 2.0], hs, time=2.0, truncations=(0, 1), step_field=lambda t: (t**4).sum() / 4)
    assert ours.diverged == theirs.diverged
    assert [(h, step) for h, step, _ in ours.diverged] == [(0.25, 5)]
    assert "exceeds max_norm" in ours.diverged[0][2]
    for mine, other in zip(ours.truncations, theirs.truncations, strict=True):
        assert mine.errors[0] is None and other.errors[0] is None
        assert mine.errors[1:] == pytest.approx(other.errors[1:], rel=1e-9)
