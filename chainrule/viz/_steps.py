"""The backward pass by named step, as the notes write it by hand: ``w̄ = z̄ x + R̄ w``.

A formula with named intermediates (``z = w*x + b; y = sigmoid(z); ...``) is a small computation graph
whose vertices are the *named* values. Each step's local derivatives ∂c/∂v are taken symbolically (by
sympy, where it is installed) and the error signals come from the trace's backward pass:
v̄ = Σ over the steps c that use v of c̄ · ∂c/∂v. Without sympy the section says how to get it.

>>> from chainrule.viz._formula import parse_formula
>>> from chainrule.viz.cli import trace_formula
>>> f = parse_formula("z = w*x + b; y = sigmoid(z); L = 0.5*(y - t)**2; R = 0.5*w**2; Lreg = L + lam*R")
>>> point = {"w": 0.5, "x": 2.0, "b": -0.5, "t": 1.0, "lam": 0.1}
>>> tr = trace_formula(f, point, wrt=["w", "b"])
>>> print("\\n".join(named_steps(f, point, tr, ["w", "b"])))
L̄reg = 1
R̄    = L̄reg · lam = 0.1
L̄    = L̄reg = 1
ȳ    = L̄ · (y - t) = -0.3775
z̄    = ȳ · σ′(z) = -0.08872
b̄    = z̄ = -0.08872
w̄    = z̄ · x + R̄ · w = -0.1774 + 0.05 = -0.1274
"""

from __future__ import annotations

import ast
from typing import Any

import numpy as np

from ._format import array_text, bar

SYMPY_MISSING = "(install sympy to see the backward pass by named step: pip install sympy)"


def _sympy_functions(sp: Any) -> dict[str, Any]:
    class sigma(sp.Function):  # σ, whose derivative prints as σ′(z), the notes' way
        nargs = 1

        def fdiff(self, argindex: int = 1) -> Any:
            return sigma_prime(self.args[0])

    sigma.__name__ = "σ"
    sigma_prime = sp.Function("σ′")
    return {
        "sin": sp.sin, "cos": sp.cos, "tan": sp.tan, "exp": sp.exp, "log": sp.log, "ln": sp.log,
        "sqrt": sp.sqrt, "tanh": sp.tanh, "sigmoid": sigma, "abs": sp.Abs, "square": lambda a: a ** 2,
        "arcsin": sp.asin, "asin": sp.asin, "arccos": sp.acos, "acos": sp.acos, "arctan": sp.atan,
        "atan": sp.atan, "sinh": sp.sinh, "cosh": sp.cosh, "arcsinh": sp.asinh, "arccosh": sp.acosh,
        "arctanh": sp.atanh, "log1p": lambda a: sp.log(1 + a), "expm1": lambda a: sp.exp(a) - 1,
        "log2": lambda a: sp.log(a, 2), "log10": lambda a: sp.log(a, 10), "exp2": lambda a: 2 ** a,
        "cbrt": sp.cbrt, "reciprocal": lambda a: 1 / a, "softplus": lambda a: sp.log(1 + sp.exp(a)),
        "sinc": sp.sinc, "relu": lambda a: sp.Max(0, a), "maximum": sp.Max, "minimum": sp.Min,
        "hypot": lambda a, b: sp.sqrt(a ** 2 + b ** 2), "arctan2": sp.atan2,
        "_sigma": sigma, "_sigma_prime": sigma_prime,
    }


def _to_sympy(expression: ast.expr, sp: Any, functions: dict[str, Any]) -> Any:
    results: dict[int, Any] = {}
    stack: list[tuple[ast.AST, bool]] = [(expression, False)]
    while stack:  # post-order, no recursion
        node, ready = stack.pop()
        children = [node.left, node.right] if isinstance(node, ast.BinOp) else [node.operand] \
            if isinstance(node, ast.UnaryOp) else list(node.args) if isinstance(node, ast.Call) else []
        if not ready and children:
            stack.append((node, True))
            stack.extend((c, False) for c in children)
            continue
        operands = [results[id(c)] for c in children]
        if isinstance(node, ast.Constant):
            results[id(node)] = sp.Rational(repr(float(node.value)))
        elif isinstance(node, ast.Name):
            results[id(node)] = {"pi": sp.pi, "e": sp.E}.get(node.id) or sp.Symbol(node.id)
        elif isinstance(node, ast.UnaryOp):
            results[id(node)] = -operands[0] if isinstance(node.op, ast.USub) else operands[0]
        elif isinstance(node, ast.BinOp):
            a, b = operands
            results[id(node)] = {ast.Add: a + b, ast.Sub: a - b, ast.Mult: a * b, ast.Div: a / b,
                                 ast.Pow: a ** b}[type(node.op)]
        else:
            results[id(node)] = functions[node.func.id](*operands)
    return results[id(expression)]


def _text(derivative: Any, sp: Any) -> str:
    text = sp.sstr(derivative, order="rev-lex").replace("**", "^").replace("*", "·")
    return f"({text})" if isinstance(derivative, sp.Add) or text.startswith("-") else text


def named_steps(formula: Any, point: dict[str, float], trace: Any, wrt: list[str], precision: int = 4) -> list[str]:
    """The lines of the backward pass by named step (see the module's description), or a one-line
    note when sympy is not installed or the formula names no intermediates."""
    if not formula.statements:
        return []
    try:
        import sympy as sp
    except ImportError:
        return [SYMPY_MISSING]
    functions = _sympy_functions(sp)
    steps = [(name, _to_sympy(expression, sp, functions)) for name, expression in formula.statements]
    output = steps[-1][0]
    values = {sp.Symbol(v): point[v] for v in formula.variables}
    for name, _ in steps:
        if name in trace._by_name:
            values[sp.Symbol(name)] = float(np.asarray(trace[name].value))
    sigma, sigma_prime = functions["_sigma"], functions["_sigma_prime"]

    def numeric(expression: Any) -> float:
        logistic = lambda a: 1 / (1 + sp.exp(-a))
        plain = expression.replace(sigma_prime, lambda a: logistic(a) * (1 - logistic(a))).replace(sigma, logistic)
        return float(plain.subs(values).evalf())

    order = [name for name, _ in reversed(steps[:-1])] + [v for v in reversed(formula.variables) if v in wrt]
    width = max(len(bar(n)) for n in [output, *order])
    lines = [f"{bar(output).ljust(width)} = 1"]
    for name in order:
        symbol = sp.Symbol(name)
        terms, numbers = [], []
        for child, expression in steps:
            if symbol not in expression.free_symbols:
                continue
            derivative = sp.simplify(sp.diff(expression, symbol))
            signal = 1.0 if child == output else float(np.asarray(trace[child].grad)) \
                if child in trace._by_name and trace[child].grad is not None else 0.0
            terms.append(bar(child) if derivative == 1 else f"{bar(child)} · {_text(derivative, sp)}")
            numbers.append(signal * numeric(derivative))
        node = trace._by_name.get(name)
        total = array_text(node.grad, precision) if node is not None and node.grad is not None else \
            array_text(sum(numbers), precision)
        line = f"{bar(name).ljust(width)} = " + (" + ".join(terms) if terms else "0")
        if len(numbers) > 1:
            line += " = " + " + ".join(array_text(v, precision) for v in numbers).replace("+ -", "− ")
        lines.append(f"{line} = {total}")
    return [line.replace("+ -", "− ") for line in lines]
