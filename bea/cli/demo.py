"""``bea demo``: the main job, the whole pipeline on the two-parameter model of Barrett & Dherin.

1. The modified equation of gradient descent for any loss, through h^3, in the loss-derivative
   form (g = grad E, H, T).
2. The two-parameter model E = (y - a b x)^2/2 (x = 1, y = 3/5): its modified flow through h^3,
   which terms are gradients, the modified loss and the IGR loss E + (h/4)||grad E||^2.
3. The drift check (torch backend): gradient descent from (2.8, 3.5) against the truncated flows
   r = 0..3 for h = 0.01 ... 0.00125 at T = 1; fitted slopes r + 1; the log-log plot is saved
   and its path printed.

Exit status 0 when the drift check passed, 1 when it failed, 2 for bad input (or a missing
torch extra without ``--symbolic-only``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import sympy

from bea import jsonio, methods
from bea.cli.args import add_format
from bea.cli.derive import derive_report
from bea.cli.verify import load_backend
from bea.flows import ModifiedFlow, modified_flow
from bea.gradient_form import loss_derivative_form

__all__ = ["demo", "register", "two_parameter_flow"]


def register(sub: Any) -> None:
    """Register ``demo`` on the ``bea`` sub-parsers object ``sub``."""
    demo = sub.add_parser(
        "demo", help="the main example: gradient descent's modified flow, IGR, drift check",
        description="The whole pipeline on the two-parameter model of Barrett & Dherin (ICLR 2021), "
                    "E = (y - a*b*x)^2/2 at x = 1, y = 3/5: the modified equation of gradient descent for any loss, "
                    "the model's modified flow through h^3 and its modified (IGR) loss, then the drift check "
                    "(torch extra): gradient descent from (2.8, 3.5) against the flows truncated after h^0..h^3, "
                    "with fitted slopes 1..4 and a log-log plot. Exit status 0 when the check passed.")
    add_format(demo, "text", "latex", "json")
    demo.add_argument("--out", default="out", help="folder for the drift plot (default: out/)")
    demo.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N for the drift check")
    demo.add_argument("--symbolic-only", action="store_true", help="derive only; skip the drift check")
    demo.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    demo.set_defaults(handler=globals()["demo"])


def two_parameter_flow(truncation: int = 3) -> ModifiedFlow:
    """Gradient descent's modified flow of E = (y - a b x)^2/2 at x = 1, y = 3/5, through h^truncation.

    Through h the modified loss is the IGR loss :math:`E + \\tfrac h4\\|\\nabla E\\|^2
    = E\\,(1 + \\tfrac h2(a^2 + b^2))`; the h^2 term is not a gradient:

    >>> print(two_parameter_flow(1).modified_loss())
    ((5*a*b - 3)**2/50) + h*((a**2 + b**2)*(5*a*b - 3)**2/100)
    >>> two_parameter_flow(2).gradient_through
    1

    Reference: Barrett & Dherin, *Implicit Gradient Regularization*, ICLR 2021, section 3.
    """
    a, b = sympy.symbols("a b")
    loss = (sympy.Rational(3, 5) - a * b) ** 2 / 2
    return modified_flow(loss, [a, b], truncation=truncation, method=methods.explicit_euler)


def demo(args: argparse.Namespace) -> tuple[str, int]:
    """Run the demo described by ``args``; return the text to print and the exit status."""
    form = loss_derivative_form(methods.explicit_euler, 3)
    flow = two_parameter_flow(3)
    report = None
    plot = Path(args.out) / "drift.png"
    if not args.symbolic_only:
        backend = load_backend()
        report = backend.demo_drift(flow, plot, device=args.device, progress=not args.no_progress)
    status = 0 if report is None or report.passed else 1
    if args.format == "json":
        data: dict[str, Any] = {
            "gd_modified_equation": {**form.to_dict(), "text": str(form)},
            "two_parameter": json.loads(derive_report(flow, "json")),
            "drift": None if report is None else {**report.to_dict(), "plot": str(plot)},
        }
        return jsonio.dumps(data, indent=2), status
    if args.format == "latex":
        return r"\dot\theta = " + form._latex() + "\n\n" + derive_report(flow, "latex"), status
    lines = [
        "1. Gradient descent theta <- theta - h grad E follows, up to O(h^4), the modified flow",
        f"   dtheta/dt = {form}",
        "   (g = grad E, H = Hessian, T = third derivative tensor)",
        "",
        "2. The two-parameter model of Barrett & Dherin (2021), x = 1, y = 3/5:",
        "",
        *("   " + line if line else "" for line in derive_report(flow, "text").splitlines()),
    ]
    if report is None:
        lines += ["", "3. Drift check skipped (--symbolic-only)."]
    else:
        lines += [
            "",
            "3. Drift check: gradient descent from (a, b) = (2.8, 3.5) against the flows truncated after h^r,",
            "   at T = 1; backward error analysis predicts error = O(h^(r+1)).",
            "",
            *("   " + line for line in report.table().splitlines()),
            "",
            f"   plot saved to {plot.resolve()}",
        ]
    return "\n".join(lines), status
