r"""The result of :func:`numeric.drift.drift_check`: errors, fitted slopes, text, JSON, plots.

JSON schema (``DriftReport.to_dict()``; ``to_json()`` writes it by :func:`bea.jsonio.dumps`), version
``bea.drift/2``::

    {
      "schema": "bea.drift/2",
      "method": str,                  # e.g. "explicit_euler" (gradient descent)
      "hyperparameters": {str: str},  # exact values by their --hyper names ({} for a method without any), as in
                                      # `bea derive --format json`; optimisers with eps also "eps_inside": bool
      "hs": [float, ...],             # step sizes, in the order given
      "time": float,                  # T = n·h, the same for every h
      "theta0": [float, ...],         # start
      "device": str, "dtype": str,    # e.g. "cpu", "float64"
      "tolerance": float,             # pass if |slope - expected_slope| <= tolerance (and see verdict())
      "passed": bool,                 # every truncation passed
      "lambda_max": float | null,     # largest |eigenvalue| of the Hessian (Jacobian of f) at theta0
      "h_lambda_max": float | null,   # max(hs) · lambda_max; >= 1 triggers a warning (optimisers with memory:
                                      # lambda_max of the h^0 field, against its slow-manifold radius)
      "truncations": [{
          "truncation": int,          # r: the modified field is kept through h^r (0 = gradient flow)
          "expected_slope": int,      # r + 1 for GD; see numeric.drift.expected_slope
          "slope": float | null,      # least-squares slope of log(error) vs log(h); null if < 2 usable h
          "errors": [float | null],   # ||theta_n - phi_T||_2, one per h; null where the method diverged
          "passed": bool
      }, ...],
      "integration": {"rtol": float, "atol": float, "estimated_error": float | null},
      "warnings": [str, ...],
      "diverged": [{"h": float, "step": int, "reason": str}, ...],
      "elapsed_s": float
    }

Version 2 renamed version 1's ``orders``/``order`` keys to ``truncations``/``truncation``:
"order" is reserved for the number of nodes of a tree or series (``docs/conventions.md``).
"""

from __future__ import annotations

import html
import itertools
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bea.errors import BeaValueError
from bea.jsonio import dumps
from bea.methods.hyper import hyperparameter_line
from bea.validation import check_truncation
from numeric.errors import NumericTypeError

__all__ = ["ERROR_SCALE_LIMIT", "REFERENCE_OFFSET", "SCHEMA", "DriftReport", "TruncationResult", "check_schedule",
           "fit_slope", "readable_method_name", "verdict"]

SCHEMA = "bea.drift/2"

#: The reference line h^q of each truncation is drawn this factor below the measured errors.
REFERENCE_OFFSET = 0.5

_READABLE = {"explicit_euler": "gradient descent (explicit Euler)", "rk4": "RK4 (classical Runge-Kutta)"}


def readable_method_name(name: str) -> str:
    """The method's name as a reader would write it, for titles.

    >>> readable_method_name("explicit_euler"), readable_method_name("explicit_midpoint")
    ('gradient descent (explicit Euler)', 'explicit midpoint')
    """
    return _READABLE.get(name, name.replace("_", " "))


def fit_slope(hs: Sequence[float], errors: Sequence[float | None]) -> float | None:
    """Least-squares slope of log(error) against log(h) over the usable points (finite, > 0).

    >>> round(fit_slope([0.1, 0.05, 0.025], [1e-2, 2.5e-3, 6.25e-4]), 12)
    2.0
    """
    pts = [(math.log(h), math.log(e)) for h, e in zip(hs, errors, strict=True)
           if e is not None and math.isfinite(e) and e > 0]
    if len({x for x, _ in pts}) < 2:
        return None
    mx = sum(x for x, _ in pts) / len(pts)
    my = sum(y for _, y in pts) / len(pts)
    sxx = sum((x - mx) ** 2 for x, _ in pts)
    return sum((x - mx) * (y - my) for x, y in pts) / sxx


#: A truncation whose largest error exceeds this fraction of the distance the method travelled does not pass: the
#: modified flow is then not describing the trajectory, whatever the fitted slope.
ERROR_SCALE_LIMIT = 0.1


def check_schedule(hs: Sequence[object], truncations: Sequence[object]) -> tuple[tuple[float, ...], tuple[int, ...]]:
    """The step sizes and truncations of a drift check, checked once for every check (gradient and memory methods).

    ``hs``: positive finite numbers, none repeated (a repeated h adds a point that the slope fit counts twice and
    the "errors fall as h falls" test reads as a failure); ``truncations``: integers >= 0, none repeated, at
    least one. Raises :class:`~numeric.errors.NumericTypeError` for a wrong type and
    :class:`~bea.errors.BeaValueError` for a repeated value.

    >>> check_schedule([0.01, 0.005], [0, 1])
    ((0.01, 0.005), (0, 1))
    """
    if isinstance(hs, (str, bytes)) or not hs or any(
            isinstance(h, bool) or not isinstance(h, (int, float)) for h in hs):
        raise NumericTypeError(f"hs must be positive step sizes, got {hs!r}")
    steps = tuple(float(h) for h in hs)  # type: ignore[arg-type]
    if any(not (math.isfinite(h) and h > 0) for h in steps):
        raise NumericTypeError(f"hs must be positive step sizes, got {hs!r}")
    if isinstance(truncations, (str, bytes)) or not truncations:
        raise NumericTypeError("truncations must not be empty")
    kept = tuple(check_truncation(r, name="each truncation") for r in truncations)
    for what, values in (("step size", steps), ("truncation", kept)):
        repeated = sorted({v for v in values if values.count(v) > 1})
        if repeated:
            raise BeaValueError(f"the {what} {', '.join(f'{v:g}' for v in repeated)} is given more than once: each "
                                f"{what} is one point of the check")
    return steps, kept


def verdict(hs: Sequence[float], errors: Sequence[float | None], slope: float | None, expected: int,
            tolerance: float, travelled: float | None) -> tuple[bool, str | None]:
    """(passed, why not): the one pass rule of every drift check (gradient methods, maps, optimisers with memory).

    A truncation passes when its fitted slope is within ``tolerance`` of ``expected`` **and** the errors are those of
    an asymptotic regime: they fall strictly as h falls, and the largest is below :data:`ERROR_SCALE_LIMIT` times
    ``travelled`` (‖θ_n − θ_0‖, the distance the method moved; None or 0: not applied). A slope met by O(1) errors
    (a step size outside the series' range) is then no PASS. ``why`` names the failed condition beyond the slope.

    >>> verdict([0.1, 0.05], [1e-2, 2.5e-3], 2.0, 2, 0.15, 1.0)
    (True, None)
    >>> verdict([0.1, 0.05], [0.8, 0.2], 2.0, 2, 0.15, 1.0)[1]
    'largest error 0.8 is not small against the distance travelled 1 (limit 0.1 of it)'
    """
    if slope is None or abs(slope - expected) > tolerance:
        return False, None
    pts = sorted((h, e) for h, e in zip(hs, errors, strict=True) if e is not None and math.isfinite(e))
    if any(small >= large for (_, small), (_, large) in itertools.pairwise(pts)):
        return False, "the errors do not fall as h falls"
    worst = max(e for _, e in pts)
    if travelled and worst > ERROR_SCALE_LIMIT * travelled:
        return False, (f"largest error {worst:.3g} is not small against the distance travelled {travelled:.3g} "
                       f"(limit {ERROR_SCALE_LIMIT:g} of it)")
    return True, None


@dataclass(frozen=True)
class TruncationResult:
    """One truncation r (the modified field kept through h^r): errors per h, fitted and expected slope, verdict."""

    truncation: int
    expected_slope: int
    slope: float | None
    errors: tuple[float | None, ...]
    passed: bool

    @property
    def order(self) -> int:
        """Deprecated name of :attr:`truncation`."""
        warnings.warn("TruncationResult.order is deprecated, use .truncation", DeprecationWarning, stacklevel=2)
        return self.truncation

    def to_dict(self) -> dict[str, Any]:
        """The ``truncations`` entry of the JSON schema."""
        return {"truncation": self.truncation, "expected_slope": self.expected_slope, "slope": self.slope,
                "errors": list(self.errors), "passed": self.passed}


def __getattr__(name: str) -> Any:
    if name == "OrderResult":
        warnings.warn("numeric.drift_report.OrderResult is deprecated, use TruncationResult",
                      DeprecationWarning, stacklevel=2)
        return TruncationResult
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass(frozen=True)
class DriftReport:
    """Discrete trajectory vs flows of the truncated modified fields; see the module docstring."""

    method: str
    hs: tuple[float, ...]
    time: float
    theta0: tuple[float, ...]
    device: str
    dtype: str
    tolerance: float
    truncations: tuple[TruncationResult, ...]
    warnings: tuple[str, ...] = ()
    diverged: tuple[tuple[float, int, str], ...] = ()
    lambda_max: float | None = None
    rtol: float = 1e-13
    atol: float = 1e-13
    integration_error: float | None = None
    elapsed_s: float = 0.0
    #: ``(name, exact text)`` of the method's hyperparameters (:func:`bea.methods.hyper.hyperparameter_record`).
    hyperparameters: tuple[tuple[str, str], ...] = ()
    #: Whether ε is inside the square root (RMSProp, Adam); ``None`` for methods without ε.
    eps_inside: bool | None = None

    @property
    def passed(self) -> bool:
        """Whether every truncation passed (:func:`verdict`: its slope within ``tolerance``, errors asymptotic)."""
        return all(o.passed for o in self.truncations)

    @property
    def orders(self) -> tuple[TruncationResult, ...]:
        """Deprecated name of :attr:`truncations`."""
        warnings.warn("DriftReport.orders is deprecated, use .truncations", DeprecationWarning, stacklevel=2)
        return self.truncations

    @property
    def slopes(self) -> dict[int, float | None]:
        """truncation r → fitted slope."""
        return {o.truncation: o.slope for o in self.truncations}

    def __getitem__(self, truncation: int) -> TruncationResult:
        for o in self.truncations:
            if o.truncation == truncation:
                return o
        raise KeyError(truncation)

    def _hyperparameter_record(self) -> dict[str, object]:
        record: dict[str, object] = {"hyperparameters": dict(self.hyperparameters)}
        if self.eps_inside is not None:
            record["eps_inside"] = self.eps_inside
        return record

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (schema ``bea.drift/2`` in the module docstring)."""
        hl = None if self.lambda_max is None else max(self.hs) * self.lambda_max
        return {
            "schema": SCHEMA, "method": self.method, **self._hyperparameter_record(), "hs": list(self.hs),
            "time": self.time,
            "theta0": list(self.theta0), "device": self.device, "dtype": self.dtype, "tolerance": self.tolerance,
            "passed": self.passed, "lambda_max": self.lambda_max, "h_lambda_max": hl,
            "truncations": [o.to_dict() for o in self.truncations],
            "integration": {"rtol": self.rtol, "atol": self.atol, "estimated_error": self.integration_error},
            "warnings": list(self.warnings),
            "diverged": [{"h": h, "step": step, "reason": reason} for h, step, reason in self.diverged],
            "elapsed_s": self.elapsed_s,
        }

    def to_json(self, indent: int | None = 2) -> str:
        """:meth:`to_dict` as strict JSON: missing and non-finite values are ``null`` (:func:`bea.jsonio.dumps`)."""
        return dumps(self.to_dict(), indent=indent)

    def _rows(self) -> tuple[list[str], list[list[str]]]:
        head = ["truncation r", "expected", "slope", "passed"] + [f"err h={h:g}" for h in self.hs]
        rows = []
        for o in self.truncations:
            slope = "invalid" if o.slope is None else f"{o.slope:.3f}"
            errs = ["diverged" if e is None else f"{e:.3e}" for e in o.errors]
            rows.append([str(o.truncation), str(o.expected_slope), slope, "yes" if o.passed else "NO", *errs])
        return head, rows

    def table(self) -> str:
        """A text table: one row per truncation r, with the error at each h."""
        head, rows = self._rows()
        widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
        fmt = "  ".join(f"{{:>{w}}}" for w in widths)
        lines = [
            f"drift check: {self.method}, T = {self.time:g}, theta0 = {list(self.theta0)}, "
            f"{self.device}/{self.dtype}, tolerance {self.tolerance:g}",
        ]
        hyper_line = hyperparameter_line(self._hyperparameter_record())
        if hyper_line is not None:  # as --hyper takes them, so that the line can be pasted back
            lines.append(hyper_line)
        lines += [fmt.format(*head), *(fmt.format(*r) for r in rows)]
        if self.lambda_max is not None:
            lines.append(f"lambda_max at theta0 = {self.lambda_max:.4g}, max h * lambda_max = "
                         f"{max(self.hs) * self.lambda_max:.3g}")
        if self.integration_error is not None:
            lines.append(f"estimated flow integration error <= {self.integration_error:.1e} "
                         f"(rtol = atol = {self.rtol:g})")
        lines += [f"diverged: h = {h:g} at step {step}: {reason}" for h, step, reason in self.diverged]
        lines += [f"warning: {w}" for w in self.warnings]
        lines.append(f"{'PASSED' if self.passed else 'FAILED'} in {self.elapsed_s:.2f} s")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()

    def plot(self, path: str | None = None, ax: Any = None) -> Any:
        """A log-log figure of error vs h, one line per truncation r with its dashed reference slope.

        Draws on ``ax`` if given (e.g. a panel of your own figure), else on a new
        :class:`matplotlib.figure.Figure` (no pyplot, no display needed); saved to ``path``
        if given. Returns the Figure.
        """
        from matplotlib.figure import Figure

        own = ax is None
        if own:
            fig = Figure(figsize=(6, 4.5))
            ax = fig.subplots()
        else:
            fig = ax.figure
        from matplotlib.ticker import FixedLocator, NullFormatter, NullLocator

        for o in self.truncations:
            pts = [(h, e) for h, e in zip(self.hs, o.errors, strict=True) if e is not None and e > 0]
            if not pts:
                continue
            xs, ys = zip(*sorted(pts), strict=True)
            slope = "invalid" if o.slope is None else f"{o.slope:.2f}"
            (line,) = ax.loglog(xs, ys, "o-", label=f"r = {o.truncation}: slope {slope}")
            # the expected rate h^q, drawn a factor REFERENCE_OFFSET below the data so that it stays visible
            ref = [REFERENCE_OFFSET * ys[0] * (x / xs[0]) ** o.expected_slope for x in xs]
            ax.loglog(xs, ref, ":", color=line.get_color(), linewidth=1.5, alpha=0.8,
                      label=f"r = {o.truncation}: expected $h^{{{o.expected_slope}}}$")
        ax.xaxis.set_major_locator(FixedLocator(sorted(self.hs)))  # a labelled tick at every measured h
        ax.xaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xticks(sorted(self.hs), [f"{h:g}" for h in sorted(self.hs)])
        ax.set_xlabel("step size h")
        ax.set_ylabel(r"error $\|\theta_n - \varphi^{[r]}_T(\theta_0)\|$")
        ax.set_title(f"Drift of {readable_method_name(self.method)} from its modified flows\n"
                     f"truncated after $h^r$, T = {self.time:g}")
        ax.legend(fontsize="small")
        ax.grid(True, which="both", alpha=0.3)
        if own:
            fig.tight_layout()
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            fig.savefig(path, dpi=120)
        return fig

    def _latex(self, printer: Any = None) -> str:
        """The table as a LaTeX array (the hook behind ``sympy.latex(report)``)."""
        head, rows = self._rows()
        escape = str.maketrans({"_": r"\_", "%": r"\%", "&": r"\&", "#": r"\#"})

        def cell(text: str) -> str:
            return r"\text{" + text.translate(escape) + "}"

        lines = [" & ".join(cell(c) for c in head)] + [" & ".join(cell(c) for c in r) for r in rows]
        return r"\begin{array}{" + "r" * len(head) + "}" + r" \\ ".join(lines) + r"\end{array}"

    def _repr_html_(self) -> str:
        head, rows = self._rows()
        cells = "".join(f"<th>{html.escape(c)}</th>" for c in head)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows)
        notes = "".join(f"<li>{html.escape(w)}</li>" for w in self.warnings)
        verdict = "PASSED" if self.passed else "FAILED"
        return (f"<div><b>drift check</b>: {html.escape(self.method)}, T = {self.time:g}, "
                f"{html.escape(self.device)}/{html.escape(self.dtype)} &mdash; <b>{verdict}</b>"
                f"<table><tr>{cells}</tr>{body}</table>" + (f"<ul>{notes}</ul>" if notes else "") + "</div>")
