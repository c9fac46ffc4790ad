"""CLI command built on modified flows of concrete losses: ``derive``.

``bea derive --loss "(y - a*b*x)^2/2" --params a b [--subs x=1 y=0.6] --truncation 3``
prints each term by power of h, whether it is a gradient, and the modified loss
through the highest power of h at which it exists. Without ``--loss`` it prints the
loss-derivative form (g, H, T, ...).

``bea derive --map "a - h*b" "b + h*a" --params a b`` does the same for any one-step map (one image per
parameter, in the parameters, data and h; images that begin with a minus sign work as they are).
``bea derive --method sgd --loss E1 --loss E2 ... --params ... --shuffle random|fixed`` gives the flow of
an SGD epoch on the mean loss (per unit time).
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from bea import jsonio, methods
from bea.cli.args import (
    CHEAP_TREES,
    DeprecatedAlias,
    Once,
    add_allow_expensive,
    add_format,
    check_tree_budget,
    nonneg_int,
)
from bea.errors import BeaValueError
from bea.flows import ModifiedFlow, compact, modified_flow
from bea.gradient_form import loss_derivative_form
from bea.methods import Problem
from bea.methods.adaptive import Adam, RMSProp
from bea.methods.hyper import hyperparameter_line, hyperparameter_record
from bea.methods.maps import SGD, OneStepMap
from bea.methods.momentum import HeavyBall, Nesterov

__all__ = ["MEMORY_METHODS", "derive_report", "map_flow", "memory_method", "parse_inputs", "register", "sgd_flow"]


def register(sub: Any) -> None:
    """Register ``derive`` on the ``bea`` sub-parsers."""
    derive = sub.add_parser(
        "derive", help="modified flow and modified loss of a method on a given loss",
        description="The modified flow of a method on the gradient flow of a loss, term by term through h^P, "
                    "which terms are gradients, the modified loss and (gradient descent) the IGR quantities. "
                    "Without --loss: the same for any loss, written with g = grad E, H = its Hessian, T = its "
                    "third derivative (the loss-derivative form). With --map: the same for any one-step map.")
    derive.add_argument("--loss", action="append",
                        help='the loss, e.g. "(y - a*b*x)^2/2" (safe parser: no Python is run); '
                             "without it, the abstract form for any loss E is printed; repeat it once per "
                             "minibatch loss with --method sgd")
    derive.add_argument("--map", nargs="+", action=Once, metavar="EXPR",
                        help='one step as the image of each parameter, e.g. --map "a - h*a*b^2" "b - h*a^2*b"')
    derive.add_argument("--shuffle", choices=("random", "fixed"),
                        help="with --method sgd: the mean epoch under random reshuffling (default) or one epoch "
                             "in the given order")
    derive.add_argument("--params", nargs="+", action=Once, metavar="NAME",
                        help="parameter names (required with --loss or --map); other names are data")
    derive.add_argument("--subs", nargs="*", action=Once, default=[], help="data values, e.g. x=1 y=0.6 (exact)")
    derive.add_argument("--truncation", metavar="P", type=nonneg_int, default=1,
                        help="keep the terms through h^P (default 1 = IGR; 0 = the gradient flow)")
    derive.add_argument("--order", dest="truncation", type=nonneg_int, action=DeprecatedAlias, new="--truncation")
    derive.add_argument("--method", help=f"sgd, {', '.join(MEMORY_METHODS)} (with --hyper), or one of: "
                                         f"{', '.join(sorted(methods.NAMES))} (default gd)")
    derive.add_argument("--hyper", nargs="+", action=Once, metavar="NAME=VALUE", default=[],
                        help="hyperparameters of heavy_ball/nesterov (beta), rmsprop (beta2, eps) and adam (beta1, "
                             "beta2, eps), exact: e.g. --hyper beta=9/10 or eps=1e-8")
    derive.add_argument("--eps-inside", action="store_true",
                        help="rmsprop/adam: the smooth variant g/sqrt(v + eps) (Cattaneo et al. 2024) instead of "
                             "torch's g/(sqrt(v) + eps)")
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
    record = hyperparameter_record(flow.method)
    if fmt == "json":
        data = {**flow.to_dict(), **record}  # the names of --hyper
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
        f"method {flow.method.name} on {flow.subject}",
        f"parameters {', '.join(map(str, flow.params))}; terms through {flow.h}^{flow.truncation}",
    ]
    hyper_line = hyperparameter_line(record)
    if hyper_line is not None:  # as --hyper takes them, so that the line can be pasted back
        lines.append(hyper_line)
    if flow.data_symbols:
        lines.append(f"data symbols {', '.join(map(str, flow.data_symbols))} (kept symbolic: not parameters; "
                     "give values with --subs)")
    lines.append("")
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


#: Optimisers with memory by CLI name; their hyperparameters come from ``--hyper``.
MEMORY_METHODS: dict[str, type[Any]] = {"heavy_ball": HeavyBall, "nesterov": Nesterov, "rmsprop": RMSProp,
                                        "adam": Adam}


def memory_method(name: str, hyper: list[str], eps_inside: bool) -> Any:
    """The optimiser ``name`` of :data:`MEMORY_METHODS` with hyperparameters ``NAME=VALUE`` (exact).

    An unknown or repeated name, a missing required one, or a bad value raises a
    :class:`~bea.errors.BeaValueError` naming it (exit status 2 in the CLI).
    """
    cls = MEMORY_METHODS[name]
    fields = {f.name: f for f in dataclasses.fields(cls) if f.name != "eps_inside"}
    values: dict[str, str] = {}
    for item in hyper:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key or not value.strip():
            raise BeaValueError(f"--hyper expects NAME=VALUE, got {item!r}")
        if key not in fields:
            raise BeaValueError(f"{name} has no hyperparameter {key!r}; its hyperparameters: {', '.join(fields)}")
        if key in values:
            raise BeaValueError(f"--hyper gives {key} twice")
        values[key] = value.strip()
    missing = [k for k, f in fields.items()
               if k not in values and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    if missing:
        raise BeaValueError(f"{name} needs --hyper {' '.join(k + '=...' for k in missing)}")
    kwargs: dict[str, Any] = dict(values)
    if eps_inside:
        if "eps_inside" not in {f.name for f in dataclasses.fields(cls)}:
            raise BeaValueError(f"--eps-inside applies to rmsprop and adam, not {name}")
        kwargs["eps_inside"] = True
    return cls(**kwargs)


def _cmd_derive(args: argparse.Namespace) -> str:
    if args.method in MEMORY_METHODS:
        return _memory_derive(args)
    if args.hyper or args.eps_inside:
        raise BeaValueError(f"--hyper and --eps-inside apply to {', '.join(MEMORY_METHODS)}; "
                            f"{args.method or 'gd'} has no hyperparameters")
    if args.map is not None:
        return derive_report(map_flow(args), args.format)
    if args.method == "sgd":
        return derive_report(sgd_flow(args), args.format)
    if args.shuffle is not None:
        raise BeaValueError("--shuffle applies to --method sgd")
    method = methods.resolve("gd" if args.method is None else args.method)
    if args.loss is not None and len(args.loss) > 1:
        raise BeaValueError(f"--loss is given {len(args.loss)} times; several losses need --method sgd")
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
    loss, params = parse_inputs(args.loss[0], args.params, args.subs)
    flow = modified_flow(loss, list(params), truncation=args.truncation, method=method)
    return derive_report(flow, args.format)


def _memory_derive(args: argparse.Namespace) -> str:
    """``derive --method heavy_ball|nesterov|rmsprop|adam --hyper ... --loss ...``: the slow-manifold flow."""
    method = memory_method(args.method, args.hyper, args.eps_inside)
    if args.map is not None or args.shuffle is not None:
        raise BeaValueError(f"--map and --shuffle do not apply to --method {args.method}")
    if args.loss is None:
        raise BeaValueError(f"--method {args.method} needs --loss and --params (a method with memory has no "
                            "loss-derivative form for any loss here)")
    if len(args.loss) > 1:
        raise BeaValueError(f"--loss is given {len(args.loss)} times; {args.method} runs on one (full-batch) loss")
    loss, params = parse_inputs(args.loss[0], args.params, args.subs)
    return derive_report(modified_flow(loss, list(params), truncation=args.truncation, method=method), args.format)


def map_flow(args: argparse.Namespace) -> ModifiedFlow:
    """The flow of ``--map EXPR ...`` (one image per parameter, in the parameters, data and h)."""
    from bea.parsing import parse_loss, parse_params, parse_substitutions

    if args.loss is not None or args.method is not None or args.shuffle is not None:
        raise BeaValueError("--map gives the step itself; it takes no --loss, --method or --shuffle")
    if not args.params:
        raise BeaValueError("--params is required with --map (one parameter per image)")
    params = parse_params(args.params)
    images = [parse_loss(text.strip()) for text in args.map]
    if args.subs:
        subs = parse_substitutions(args.subs)
        for symbol in subs:
            if symbol in params or symbol.name == "h":
                raise BeaValueError(f"--subs gives a value to {symbol}; only data may be substituted")
        images = [e.xreplace(subs) for e in images]
    step = OneStepMap(tuple(images), params)
    return modified_flow(Problem.parameters(list(params)), truncation=args.truncation, method=step)


def sgd_flow(args: argparse.Namespace) -> ModifiedFlow:
    """The flow of ``--method sgd --loss E1 --loss E2 ...``: one epoch (fixed) or the mean epoch (random)."""
    from bea.parsing import parse_loss, parse_params, parse_substitutions

    if not args.loss or len(args.loss) < 2:
        count = 0 if not args.loss else len(args.loss)
        raise BeaValueError(f"--method sgd needs at least two minibatch losses (repeat --loss), got {count}")
    if not args.params:
        raise BeaValueError("--params is required with --loss")
    params = parse_params(args.params)
    losses = [parse_loss(text) for text in args.loss]
    if args.subs:
        subs = parse_substitutions(args.subs)
        for symbol in subs:
            if symbol in params:
                raise BeaValueError(f"--subs gives a value to the parameter {symbol}; only data may be substituted")
            if not any(symbol in loss.free_symbols for loss in losses):
                raise BeaValueError(f"--subs names {symbol}, which does not occur in any loss")
        losses = [loss.xreplace(subs) for loss in losses]
    problem = Problem.minibatches(losses, list(params))
    return modified_flow(problem, truncation=args.truncation, method=SGD(args.shuffle or "random"))
