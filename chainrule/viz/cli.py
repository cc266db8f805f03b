"""The ``chainrule explain`` sub-command: see a formula's (or a trained network's) backward pass.

``register(subparsers)`` adds the sub-command to the main ``chainrule`` parser; ``run_explain(args)`` runs
it and returns the exit status. Errors are raised as ``ExplainError`` (a ValueError) or
``FileNotFoundError``, each with a one-line message.

    chainrule explain "cos(sin(x**2) + 3*x**2)" --at x=1.5
    chainrule explain "exp(x*z) + x*z/log(x) + sin(log(x))/(x*z)" --at x=2,z=3 --graph quiz.svg
    chainrule explain --model runs/digits-1 --example 0 --graph mlp.svg --html mlp.html
    chainrule explain "z = w*x + b; y = sigmoid(z); L = 0.5*(y - t)**2" --at w=0.5,x=2,b=-0.5,t=1 --wrt w,b
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

import numpy as np

from ._formula import FUNCTIONS, ExplainError, parse_assignments, parse_formula

__all__ = ["DESCRIPTION", "ExplainError", "explain_formula", "main", "register", "run_explain", "trace_formula"]

DESCRIPTION = (
    "Print the forward pass, the backward pass in the notes' notation (v̄ = ∂f/∂v is the error signal of "
    "node v; f̄ = 1; v̄ = Σ over children c of c̄ ∂c/∂v) and the gradient of a formula at a point; or show one "
    "example flowing through a trained network (--model). Formulas use numbers, variables, + - * / **, "
    f"parentheses and the functions {', '.join(sorted(FUNCTIONS))}; nothing is evaluated by Python.")


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``explain`` sub-command to ``subparsers`` (from ``parser.add_subparsers()``).

    >>> import argparse
    >>> parser = argparse.ArgumentParser(prog="chainrule")
    >>> explain = register(parser.add_subparsers(dest="command"))
    >>> args = parser.parse_args(["explain", "sin(x)", "--at", "x=0", "--wrt", "x"])
    >>> args.command, args.formula, args.at, args.wrt, args.func is run_explain
    ('explain', 'sin(x)', 'x=0', 'x', True)
    """
    p = subparsers.add_parser("explain", help="see backprop: forward pass, error signals, gradient",
                              description=DESCRIPTION)
    p.add_argument("formula", nargs="?", metavar="FORMULA", help='e.g. "cos(sin(x**2) + 3*x**2)"')
    p.add_argument("--at", metavar="X=V,...", default="", help="the point, e.g. x=2,z=3")
    p.add_argument("--name", default=None, metavar="NAME",
                   help="name of the formula's value (default: the last assignment's name, else f)")
    p.add_argument("--wrt", metavar="X,...", default=None,
                   help="differentiate with respect to these variables only; the others are data, with no "
                        "error signal (default: all)")
    p.add_argument("--html", metavar="FILE", help="also write the backprop explorer: one self-contained HTML "
                                                  "file to step through the forward and backward pass")
    p.add_argument("--graph", metavar="FILE", help="also draw the graph: FILE.svg, .png, .pdf (need Graphviz's "
                                                   "'dot' program) or .dot (text)")
    p.add_argument("--no-grads", action="store_true", help="leave the error signals out of the graph")
    p.add_argument("--model", metavar="RUN", help="a run folder or checkpoint from 'chainrule train': "
                                                  "show one example flowing through the network")
    p.add_argument("--example", type=int, default=0, metavar="I",
                   help="with --model: which example of the test split (default 0)")
    p.add_argument("--precision", type=int, default=4, metavar="DIGITS", help="significant digits (default 4)")
    p.set_defaults(func=run_explain)
    return p


def run_explain(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Run ``chainrule explain`` with parsed ``args``; print to ``out`` (default stdout); return 0.

    >>> import argparse, io
    >>> parser = argparse.ArgumentParser(prog="chainrule")
    >>> _ = register(parser.add_subparsers(dest="command"))
    >>> out = io.StringIO()
    >>> run_explain(parser.parse_args(["explain", "exp(2*x)", "--at", "x=0.5"]), out=out)
    0
    >>> print(out.getvalue().split("gradient:")[1].strip())
    ∂f/∂x = 5.43656
    >>> run_explain(parser.parse_args(["explain", "x + y", "--at", "x=1,y=2,z=3"]))
    Traceback (most recent call last):
        ...
    chainrule.viz._formula.ExplainError: --at gives z, which the formula does not use (its variables: x, y)
    """
    out = out or sys.stdout
    if args.model:
        if args.formula:
            raise ExplainError("give either a FORMULA or --model RUN, not both")
        from ._explain_model import explain_model

        if args.wrt:
            raise ExplainError("--wrt is for formulas; with --model every parameter gets its error signal")
        explain_model(args.model, example=args.example, graph=args.graph, precision=args.precision,
                      show_grads=not args.no_grads, out=out, html=args.html)
        return 0
    if not args.formula:
        raise ExplainError('nothing to explain: give a formula, e.g. chainrule explain "cos(sin(x**2) + 3*x**2)" '
                         '--at x=1.5, or --model RUN')
    formula = parse_formula(args.formula)
    point = parse_assignments(args.at)
    missing = [v for v in formula.variables if v not in point]
    if missing:
        example = ",".join(f"{v}={point.get(v, 1.0)}" for v in formula.variables)
        raise ExplainError(f"no value for {', '.join(missing)}: pass --at {example}")
    extra = [v for v in point if v not in formula.variables]
    if extra:
        raise ExplainError(f"--at gives {', '.join(extra)}, which the formula does not use "
                         f"(its variables: {', '.join(formula.variables) or 'none'})")
    if args.name is not None and (args.name in formula.variables or not args.name.isidentifier()):
        raise ExplainError(f"--name {args.name!r} must be a name that is not one of the variables")
    wrt = None
    if args.wrt is not None:
        wrt = [w.strip() for w in args.wrt.split(",") if w.strip()]
        if not wrt:
            raise ExplainError("--wrt needs at least one variable, e.g. --wrt w,b")
    text = explain_formula(formula, point, name=args.name, precision=args.precision, graph=args.graph,
                           show_grads=not args.no_grads, wrt=wrt, html=args.html)
    out.write(text)
    return 0


def explain_formula(formula: Any, point: dict[str, float], *, name: str | None = None, precision: int = 4,
                    graph: str | None = None, show_grads: bool = True, wrt: list[str] | None = None,
                    html: str | None = None) -> str:
    """The text ``chainrule explain`` prints for ``formula`` (a string or parsed Formula) at ``point``.

    >>> print(explain_formula("x * x", {"x": 3.0}))      # doctest: +ELLIPSIS
    f = x * x   at x = 3
    ...
    """
    if isinstance(formula, str):
        formula = parse_formula(formula)
    wrt = list(formula.variables if wrt is None else wrt)
    name = name or formula.output_name or "f"
    trace = trace_formula(formula, point, wrt=wrt, name=name)
    at = ", ".join(f"{v} = {point[v]:g}" for v in formula.variables)
    header = f"{formula.text}   at {at}" if formula.statements else f"{name} = {formula.text}   at {at}"
    lines = [header, "",
             "forward pass (topological order):", _indent(trace.forward_text(precision)), "",
             f"backward pass (reverse topological order; v̄ = ∂{name}/∂v is the error signal of v):",
             _indent(trace.backward_text(precision)), "", "gradient:",
             _indent(trace.gradient_text(max(precision, 6)))]
    if formula.statements:
        from ._steps import named_steps

        lines += ["", "backward pass by named step (the notes' form: v̄ = Σ over the steps c that use v of "
                      "c̄ · ∂c/∂v):", _indent("\n".join(named_steps(formula, point, trace, wrt, precision)))]
    notes = _non_finite_notes(trace)
    if notes:
        lines += ["", *notes]
    if graph:
        trace.render(graph, show_grads=show_grads, precision=precision)
        lines += ["", f"wrote {graph}"]
    if html:
        if len(wrt) == 2 and np.size(trace.output.value) == 1:
            first, second = wrt

            def surface(a: Any, b: Any) -> Any:
                return formula(**{**point, first: a, second: b})

            trace.surface_function, trace.surface_point = surface, (point[first], point[second])
            trace.surface_names = (first, second)
        trace.to_html(html, title=formula.text if formula.statements else f"{name} = {formula.text}",
                      precision=precision)
        lines += ["", f"wrote {html}"]
    return "\n".join(lines) + "\n"


def trace_formula(formula: Any, point: dict[str, float], *, wrt: list[str] | None = None,
                  name: str | None = None) -> Any:
    """The :class:`~chainrule.viz.Trace` of ``formula`` (text or parsed) at ``point``, its nodes named
    after the formula's intermediates, with error signals for the variables in ``wrt`` (default: all;
    the others are data).

    >>> trace_formula("x * y", {"x": 2.0, "y": 3.0}, wrt=["x"]).gradients
    {'x': array(3.)}
    """
    import chainrule

    from ._trace import Trace, keep_values

    if isinstance(formula, str):
        formula = parse_formula(formula)
    wrt = list(formula.variables if wrt is None else wrt)
    unknown = [v for v in wrt if v not in formula.variables]
    if unknown:
        raise ExplainError(f"--wrt names {', '.join(unknown)}, which the formula does not use "
                           f"(its variables: {', '.join(formula.variables)})")
    inputs = {v: chainrule.tensor(float(point[v]), requires_grad=v in wrt, name=v) for v in formula.variables}
    with keep_values(), np.errstate(all="ignore"):  # nan/inf are shown where they arise, not warned about
        result, named = formula.evaluate(**inputs)
    if not isinstance(result, chainrule.Tensor) or not result.requires_grad:
        raise ExplainError(f"the formula {formula.text!r} has no variables to differentiate"
                           + (" with respect to " + ", ".join(wrt) if wrt != formula.variables else ""))
    with np.errstate(all="ignore"):
        return Trace.from_tensor(result, names={**inputs, **named},
                                 output_name=name or formula.output_name or "f")


def _non_finite_notes(trace: Any) -> list[str]:
    """Where nan/inf first arise, forward and backward (empty when every number is finite)."""
    from ._html import explorer_data

    return [f"note: {n}" for n in explorer_data(trace)["notes"]]


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


def main(argv: list[str] | None = None) -> int:
    """Run ``explain`` on its own (``python -m chainrule.viz.cli ...``), printing errors as one line.

    >>> main(["x * y + x", "--at", "x=2,y=3"])
    f = x * y + x   at x = 2, y = 3
    <BLANKLINE>
    forward pass (topological order):
      x  = 2
      y  = 3
      v1 = x · y = 6
      f  = v1 + x = 8
    <BLANKLINE>
    backward pass (reverse topological order; v̄ = ∂f/∂v is the error signal of v):
      f̄  = 1
      v̄1 = f̄ = 1
      ȳ  = v̄1 · x = 2
      x̄  = v̄1 · y + f̄ = 3 + 1 = 4
    <BLANKLINE>
    gradient:
      ∂f/∂x = 4
      ∂f/∂y = 2
    0
    >>> import contextlib, sys
    >>> with contextlib.redirect_stderr(sys.stdout):
    ...     status = main(["x * y", "--at", "x=2"])
    chainrule: error: no value for y: pass --at x=2.0,y=1.0
    >>> status
    2
    """
    parser = argparse.ArgumentParser(prog="chainrule")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["explain", *(sys.argv[1:] if argv is None else argv)])
    try:
        return run_explain(args)
    except (ValueError, OSError) as error:
        print(f"chainrule: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
