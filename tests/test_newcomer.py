"""A newcomer's first hour: the CLI explains itself, refuses bad input early, prints clean output.

Issue 12 §1: ``bea --version``; help text on every argument of every command; ``derive`` without
``--loss`` says that its output is for any loss; ``reproduce`` writes into a folder git ignores;
small digits sweeps are "inconclusive (too few runs)"; no ``h*(0)`` term in printed modified
losses; ``dir(bea.methods)`` lists no leaked module names; a bad ``--h`` is refused before work;
the drift plot has visible reference lines, a readable title and a tick at every measured h.
"""

from __future__ import annotations

import argparse
import subprocess
import types
from pathlib import Path

import pytest
import sympy

import bea
from bea import methods
from bea.cli import build_parser, main
from bea.flows import modified_flow

ROOT = Path(__file__).resolve().parent.parent


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:  # argparse offers no public accessor for sub-parsers
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise AssertionError("no sub-commands")


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"bea {bea.__version__}"


def test_every_argument_of_every_command_has_help() -> None:
    parser = build_parser()
    commands = _subparsers(parser)
    assert {"trees", "modified-equation", "derive", "verify", "demo", "reproduce"} <= set(commands)
    missing = [
        f"{name} {'/'.join(action.option_strings) or action.dest}"
        for name, sub in commands.items()
        for action in sub._actions
        if not isinstance(action, argparse._HelpAction) and not action.help
    ]
    assert not missing, f"arguments without help text: {missing}"
    for name in ("demo", "reproduce", "derive", "verify", "trees"):
        assert commands[name].description, f"`bea {name} --help` has no description of the command"


def test_derive_without_loss_announces_the_abstract_form(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["derive", "--truncation", "1"]) == 0
    out = capsys.readouterr().out
    assert "for any loss E (no --loss given" in out
    assert "-g - 1/2 h Hg" in out  # math.md: GD through h is -g - (h/2) H g
    assert main(["derive", "--loss", "x^2"]) == 2
    assert "--params is required" in capsys.readouterr().err


def test_reproduce_default_output_is_ignored_by_git() -> None:
    args = build_parser().parse_args(["reproduce", "two-param"])
    assert args.out is None  # the command fills in out/two-param
    ignored = subprocess.run(["git", "check-ignore", "-q", "out/two-param/two_param.json"], cwd=ROOT)
    if ignored.returncode == 128:
        pytest.skip("not a git checkout")
    assert ignored.returncode == 0, "out/ must be ignored by git"


def test_small_digits_sweeps_are_inconclusive() -> None:
    pytest.importorskip("torch")
    from numeric.reproduce._digits_summary import MIN_LEVELS, MIN_SEEDS, TOO_FEW, claims

    def record(lr: float, seed: int, r_ig: float) -> dict[str, object]:
        return {"width": 8, "kind": "lr", "status": "converged", "lr": lr, "mu": 0.0, "seed": seed,
                "lambda": lr * 10 / 4, "r_ig": r_ig, "r_ig_over_loss": r_ig, "test_acc_final": 0.9,
                "test_acc_best": 0.9, "slope_end": r_ig, "train_loss": 1.0, "robustness": None}

    lrs = [0.1 * (k + 1) for k in range(MIN_LEVELS)]
    # R_IG strictly decreasing in lambda: a perfect rank correlation of -1
    small = [record(lr, 0, 1.0 / lr) for lr in lrs[: MIN_LEVELS - 1]]
    enough = [record(lr, seed, 1.0 / lr + seed * 1e-3) for lr in lrs for seed in range(MIN_SEEDS)]
    key = "R_IG decreases as lambda grows"
    assert claims(small, 0.1, (0.01,))["width 8"][key]["verdict"] == TOO_FEW
    one_seed = [r for r in enough if r["seed"] == 0]
    assert claims(one_seed, 0.1, (0.01,))["width 8"][key]["verdict"] == TOO_FEW
    verdict = claims(enough, 0.1, (0.01,))["width 8"][key]
    assert verdict["verdict"] == "supported" and verdict["spearman_rho"] == pytest.approx(-1.0, abs=0.2)


def test_printed_modified_loss_has_no_zero_terms() -> None:
    x = sympy.Symbol("x")
    # explicit midpoint (order 2): the h^1 term of its modified flow vanishes
    flow = modified_flow(x**4 / 4, [x], truncation=2, method=methods.explicit_midpoint)
    loss = flow.modified_loss()
    assert loss.potentials[1] == 0
    text = str(loss)
    assert "(0)" not in text and text.startswith("(x**4/4) + h^2*(")
    assert r"\left(0\right)" not in loss._latex()


def test_methods_namespace_lists_no_leaked_names() -> None:
    leaked = [n for n in dir(methods) if not n.startswith("_") and n not in methods.__all__]
    modules = [n for n in leaked if isinstance(getattr(methods, n), types.ModuleType)]
    assert not leaked, f"bea.methods leaks {leaked} (modules: {modules})"


def test_bad_step_size_is_refused_before_any_work(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("torch")
    base = ["verify", "--loss", "x^2/2", "--params", "x", "--init", "x=1", "--no-progress"]
    for bad in (["--h", "0", "0.1"], ["--h", "-0.1", "0.05"], ["--h", "nan", "0.1"]):
        assert main([*base, *bad]) == 2
        assert "positive" in capsys.readouterr().err
    assert main([*base, "--h", "0.3", "0.1", "--time", "1"]) == 2  # 1 is not a multiple of 0.3
    err = capsys.readouterr().err
    assert "multiple of h = 0.3" in err and err.count("\n") == 1


def test_drift_plot_is_readable(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from numeric.drift_report import REFERENCE_OFFSET, DriftReport, TruncationResult

    hs = (0.04, 0.02, 0.01)
    rows = (TruncationResult(0, 1, 1.0, (4e-2, 2e-2, 1e-2), True),
            TruncationResult(1, 2, 2.0, (1.6e-3, 4e-4, 1e-4), True))
    report = DriftReport(method="explicit_euler", hs=hs, time=1.0, theta0=(1.0,), device="cpu", dtype="float64",
                         tolerance=0.15, truncations=rows)
    fig = report.plot(str(tmp_path / "sub" / "drift.png"))
    assert (tmp_path / "sub" / "drift.png").is_file()
    ax = fig.axes[0]
    assert "gradient descent" in ax.get_title() and "explicit_euler" not in ax.get_title()
    assert sorted(ax.get_xticks()) == pytest.approx(sorted(hs))
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0.01", "0.02", "0.04"]
    lines = ax.get_lines()
    assert len(lines) == 4  # data and reference line per truncation
    data, reference = lines[0], lines[1]
    # the reference h^1 line runs REFERENCE_OFFSET below the data, parallel to the expected rate
    assert list(reference.get_ydata()) == pytest.approx([REFERENCE_OFFSET * y for y in data.get_ydata()])
    assert reference.get_linestyle() != data.get_linestyle()
