"""CLI command built on modified flows of concrete losses: ``derive``.

``bea derive --loss "(y - a*b*x)^2/2" --params a b [--subs x=1 y=0.6] --truncation 3``
prints each term by power of h, whether it is a gradient, and the modified loss
through the highest power of h at which it exists. Without ``--loss`` it prints the
loss-derivative form (g, H, T, ...).
"""

from __future__ import annotations

import argparse
from typing import Any

from bea import jsonio, methods
from bea.cli.args import CHEAP_TREES, DeprecatedAlias, add_allow_expensive, add_format, check_tree_budget, nonneg_int
from bea.errors import BeaValueError
from bea.flows import ModifiedFlow, compact, modified_flow
from bea.gradient_form import loss_derivative_form

__all__ = ["derive_report", "parse_inputs", "register"]


def register(sub: Any) -> None:
    """Register ``derive`` on the ``bea`` sub-parsers."""
    derive = sub.add_parser(
        "derive", help="modified flow and modified loss of a method on a given loss",
        description="The modified flow of a method on the gradient flow of a loss, term by term through h^P, "
                    "which terms are gradients, the modified loss and (gradient descent) the IGR quantities. "
                    "Without --loss: the same for any loss, written with g = grad E, H = its Hessian, T = its "
                    "third derivative (the loss-derivative form).")
    derive.add_argument("--loss", help='the loss, e.g. "(y - a*b*x)^2/2" (safe parser: no Python is run); '
                                       "without it, the abstract form for any loss E is printed")
    derive.add_argument("--params", nargs="+", metavar="NAME",
                        help="parameter names (required with --loss); other names in the loss are data")
    derive.add_argument("--subs", nargs="*", default=[], help="data values, e.g. x=1 y=0.6 (exact)")
    derive.add_argument("--truncation", metavar="P", type=nonneg_int, default=1,
                        help="keep the terms through h^P (default 1 = IGR; 0 = the gradient flow)")
    derive.add_argument("--order", dest="truncation", type=nonneg_int, action=DeprecatedAlias, new="--truncation")
    derive.add_argument("--method", default="gd", help=f"one of: {', '.join(sorted(methods.NAMES))} (default gd)")
    add_format(derive, "text", "latex", "json")
    add_allow_expensive(derive)
    derive.set_defaults(handler=lambda args: (_cmd_derive(args), 0))


def parse_inputs(loss_text: str, params_text: list[str] | None, subs_text: list[str]) -> tuple[Any, Any]:
    """The loss, its parameters and the data substitutions of ``--loss/--params/--subs`` (safe parser)."""
    from bea.parsing import parse_loss, parse_params, parse_substitutions

    loss = parse_loss(loss_text)
    if not params_text:
        raise BeaValueError("--params is required with --loss")
    params = parse_params(params_text)
    if subs_text:
        subs = parse_substitutions(subs_text)
        for symbol in subs:
            if symbol in params:
                raise BeaValueError(f"--subs gives a value to the parameter {symbol}; only data may be substituted")
            if symbol not in loss.free_symbols:
                raise BeaValueError(f"--subs names {symbol}, which does not occur in the loss")
        loss = loss.xreplace(subs)
    return loss, params


def derive_report(flow: ModifiedFlow, fmt: str) -> str:
    """Render a flow with its gradient checks and modified loss, as text, LaTeX or JSON.

    The modified loss :math:`\\tilde E = \\sum_k h^k E_k` is given through the highest power
    of h whose term is a gradient; for gradient descent the IGR quantities
    :math:`R_{IG} = \\|\\nabla E\\|^2/m`, :math:`\\lambda = hm/4` follow. For :math:`E = x^4/4`:

    >>> import json, sympy
    >>> x = sympy.Symbol("x")
    >>> flow = modified_flow(x**4 / 4, [x], truncation=1)
    >>> data = json.loads(derive_report(flow, "json"))
    >>> data["modified_loss"]["expr"], data["igr"]["R_IG"], data["gradient_through"]
    ('h*x**6/4 + x**4/4', 'x**6', 1)
    >>> "E~ = (x**4/4) + h*(x**6/4)" in derive_report(flow, "text")
    True

    Reference: Barrett & Dherin, *Implicit Gradient Regularization*, ICLR 2021.
    """
    through = flow.gradient_through
    mloss = flow.modified_loss(through) if through >= 0 else None
    is_gd = flow.method == methods.explicit_euler
    if fmt == "json":
        data = flow.to_dict()
        data["modified_loss"] = None if mloss is None else {
            "truncation": mloss.truncation,
            "expr": str(mloss.expr),
            "potentials": [str(compact(e)) for e in mloss.potentials],
        }
        if is_gd:
            igr = flow.igr()
            data["igr"] = {k: str(v) for k, v in igr.items()}
        return jsonio.dumps(data, indent=2)
    if fmt == "latex":
        parts = [flow.latex()]
        if mloss is not None:
            parts.append(mloss._latex())
        return "\n\n".join(parts)
    lines = [
        f"method {flow.method.name} on E = {flow.loss}",
        f"parameters {', '.join(map(str, flow.params))}; terms through {flow.h}^{flow.truncation}",
        "",
    ]
    for k, term in enumerate(flow.compact_terms()):
        status = "gradient" if flow.is_gradient(k) else "NOT a gradient"
        lines.append(f"h^{k} term ({status}, size {flow.size(k)}):")
        for p, e in zip(flow.params, term, strict=True):
            lines.append(f"  d{p}/dt: {e}")
    lines.append("")
    if mloss is None:  # pragma: no cover - the h^0 term is always a gradient
        lines.append("no modified loss exists")
    else:
        note = "" if through == flow.truncation else f" (the h^{through + 1} term is not a gradient, so it stops there)"
        lines.append(f"modified loss through h^{through}{note}:")
        lines.append(f"  E~ = {mloss}")
    if is_gd:
        igr = flow.igr()
        lines += [
            "",
            "implicit gradient regularisation (Barrett & Dherin 2021): E~ = E + lambda*R_IG + O(h^2)",
            f"  R_IG = ||grad E||^2/m = {compact(igr['R_IG'])}",
            f"  lambda = h*m/4 = {igr['lambda']}",
        ]
    return "\n".join(lines)


#: Trees ``derive --loss`` handles without ``--allow-expensive``: up to 9 nodes (truncation h^8);
#: each tree costs derivatives of the concrete loss, far more than a coefficient.
CHEAP_FLOW_TREES = 486


def _cmd_derive(args: argparse.Namespace) -> str:
    method = methods.by_name(args.method)
    if not isinstance(method, methods.RungeKutta):
        raise BeaValueError(f"derive needs a Runge-Kutta method; {method.name!r} is given by its B-series")
    what = f"derive --truncation {args.truncation}"
    cheap = CHEAP_TREES if args.loss is None else CHEAP_FLOW_TREES
    check_tree_budget(args.truncation + 1, what, args.allow_expensive, cheap=cheap)
    if args.loss is None:
        if args.params or args.subs:
            raise BeaValueError("--params and --subs need --loss")
        form = loss_derivative_form(method, args.truncation)
        if args.format == "json":
            return jsonio.dumps({"method": method.name, **form.to_dict(), "text": str(form)}, indent=2)
        if args.format == "latex":
            return r"\dot\theta = " + form._latex()
        header = (f"{method.name} on a gradient flow, for any loss E (no --loss given; give --loss and --params "
                  "for a concrete one)\nwith g = grad E, H = its Hessian, T = its third derivative, "
                  f"terms through h^{args.truncation}:")
        return f"{header}\n  dtheta/dt = {form}"
    loss, params = parse_inputs(args.loss, args.params, args.subs)
    flow = modified_flow(loss, list(params), truncation=args.truncation, method=method)
    return derive_report(flow, args.format)
