"""The work behind ``bea reproduce`` (the parser is :mod:`bea.cli.reproduce`, which never imports torch)."""

from __future__ import annotations

import argparse
from typing import Any

from bea.errors import BeaValueError
from numeric.reproduce._common import dumps, out_dir, refuse_existing
from numeric.reproduce.digits import DigitsConfig, run_digits
from numeric.reproduce.two_param import RESULT_FILES as TWO_PARAM_FILES
from numeric.reproduce.two_param import TwoParamConfig, run_two_param, write_two_param

__all__ = ["reproduce"]

_DIGITS_ONLY = ("widths", "seeds", "device", "threads", "limit")


def _two_param(args: argparse.Namespace) -> tuple[str, int]:
    given = [f"--{name}" for name in _DIGITS_ONLY if getattr(args, name, None) is not None]
    if getattr(args, "resume", False):
        given.append("--resume")
    if given:
        raise BeaValueError(f"{', '.join(given)} only applies to the digits experiment, not two-param")
    cfg = TwoParamConfig.quick() if args.quick else TwoParamConfig()
    changes: dict[str, Any] = {}
    if args.lrs is not None:
        changes["hs"] = tuple(args.lrs)
    if args.mus is not None:
        changes["mus"] = tuple(args.mus)
    if changes:
        from dataclasses import replace

        cfg = replace(cfg, **changes)
    overwrite = bool(getattr(args, "overwrite", False))
    refuse_existing(out_dir(args.out), TWO_PARAM_FILES, overwrite)  # fail before the work, not after it
    result = run_two_param(cfg, progress=not args.no_progress)
    files = write_two_param(result, args.out, figures=not args.no_figures, overwrite=overwrite)
    if args.format == "json":
        return dumps({"files": [str(f) for f in files], **result.data}, indent=2), 0
    return result.table() + "\nwrote " + ", ".join(str(f) for f in files), 0


def _digits(args: argparse.Namespace) -> tuple[str, int]:
    base = DigitsConfig.quick() if args.quick else DigitsConfig()
    cfg = base.with_overrides(
        lrs=None if args.lrs is None else tuple(args.lrs),
        mus=None if args.mus is None else tuple(args.mus),
        widths=None if args.widths is None else tuple(args.widths),
        seeds=None if args.seeds is None else tuple(args.seeds),
    )
    threads = 1 if args.threads is None else args.threads
    result = run_digits(cfg, args.out, resume=args.resume, device=args.device or "cpu", threads=threads,
                        progress=not args.no_progress, limit=args.limit, figures=not args.no_figures,
                        overwrite=bool(getattr(args, "overwrite", False)))
    files = [str(f) for f in result.files]
    if args.format == "json":
        d = result.data
        keep = ("schema", "complete", "runs_planned", "runs_finished", "new_runs", "skipped", "runtime_s",
                "config", "claims", "summary")
        return dumps({"files": files, **{k: d[k] for k in keep}}, indent=2), 0
    tail = "" if result.complete else "\nthe sweep is not finished: run the same command with --resume to continue"
    return result.table() + "\nwrote " + ", ".join(files) + tail, 0


def reproduce(args: argparse.Namespace) -> tuple[str, int]:
    """Run the experiment named by ``args.experiment``; return (text to print, exit status)."""
    if args.experiment == "two-param":
        return _two_param(args)
    if args.experiment == "digits":
        return _digits(args)
    raise BeaValueError(f"unknown experiment {args.experiment!r}; choose two-param or digits")
