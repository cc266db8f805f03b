"""A safe formula language for ``chainrule explain``: parsed with :mod:`ast`, never evaluated by Python.

The grammar accepts numbers, variable names, ``+ - * / **``, unary ``-``/``+``, parentheses, the constants
``pi`` and ``e``, and calls of whitelisted functions (:data:`FUNCTIONS`) with positional arguments.
Everything else (attribute access, imports, lambdas, subscripts, comprehensions, dunder names, keyword
arguments, unknown functions, strings ...) is rejected with a message naming what was found.

>>> f = parse_formula("cos(sin(x**2) + 3*x**2)")
>>> f.variables
['x']
>>> float(f(x=1.5))
0.3201...
"""

from __future__ import annotations

import ast
import math
import re
from typing import Any

import numpy as np

MAX_LENGTH = 2000

#: function name → (chainrule.numpy attribute, number of arguments)
FUNCTIONS: dict[str, tuple[str, int]] = {
    **{name: (name, 1) for name in (
        "sin", "cos", "tan", "exp", "log", "sqrt", "tanh", "sigmoid", "relu", "abs", "square", "arcsin",
        "arccos", "arctan", "sinh", "cosh", "arcsinh", "arccosh", "arctanh", "log1p", "expm1", "log2",
        "log10", "exp2", "cbrt", "reciprocal", "softplus", "sinc")},
    "ln": ("log", 1), "asin": ("arcsin", 1), "acos": ("arccos", 1), "atan": ("arctan", 1),
    "maximum": ("maximum", 2), "minimum": ("minimum", 2), "hypot": ("hypot", 2), "arctan2": ("arctan2", 2),
}
CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}

_OPERATORS = {ast.Add: "add", ast.Sub: "subtract", ast.Mult: "multiply", ast.Div: "divide", ast.Pow: "power"}
_REJECTED_OPERATORS = {ast.BitXor: "'^' (use ** for powers)", ast.Mod: "'%'", ast.FloorDiv: "'//'",
                       ast.MatMult: "'@'", ast.BitAnd: "'&'", ast.BitOr: "'|'", ast.LShift: "'<<'",
                       ast.RShift: "'>>'"}
_DESCRIPTIONS = {
    ast.Attribute: "attribute access is", ast.Subscript: "subscripts ([...]) are",
    ast.Lambda: "lambda expressions are", ast.ListComp: "comprehensions are", ast.SetComp: "comprehensions are",
    ast.DictComp: "comprehensions are", ast.GeneratorExp: "generator expressions are",
    ast.Compare: "comparisons are", ast.BoolOp: "'and'/'or' are", ast.IfExp: "conditional expressions are",
    ast.NamedExpr: "assignments (:=) are", ast.Tuple: "tuples are", ast.List: "lists are", ast.Dict: "dicts are",
    ast.Set: "sets are", ast.JoinedStr: "f-strings are", ast.Starred: "*args are", ast.Await: "await is",
    ast.Yield: "yield is", ast.YieldFrom: "yield is", ast.Slice: "slices are",
}
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")


class ExplainError(ValueError):
    """A user error of ``chainrule explain`` (bad formula, missing value, bad option): one-line message."""


class FormulaError(ExplainError):
    """A formula outside the grammar; the message names what was rejected."""


def _where(node: ast.AST, text: str) -> str:
    segment = ast.get_source_segment(text, node)
    return f" (in {segment!r})" if segment and len(segment) < 60 else ""


class Formula:
    """A parsed, validated formula. Call it with one value per variable (numbers, arrays or Tensors);
    it computes with ``chainrule.numpy``, so calling it on Tensors records the graph."""

    def __init__(self, text: str, tree: ast.Expression, variables: list[str]) -> None:
        self.text, self.tree, self.variables = text, tree, variables

    def __repr__(self) -> str:
        return f"Formula({self.text!r}, variables={self.variables})"

    def __call__(self, **values: Any) -> Any:
        missing = [v for v in self.variables if v not in values]
        if missing:
            raise FormulaError(f"no value for {', '.join(missing)} in {self.text!r} (give e.g. --at "
                               f"{','.join(f'{m}=1.0' for m in self.variables)})")
        import chainrule.numpy as cnp

        results: dict[int, Any] = {}
        stack: list[tuple[ast.AST, bool]] = [(self.tree.body, False)]
        while stack:  # post-order walk with an explicit stack
            node, ready = stack.pop()
            children = _operands(node)
            if not ready and children:
                stack.append((node, True))
                stack.extend((child, False) for child in reversed(children))
                continue
            if isinstance(node, ast.Constant):
                results[id(node)] = float(node.value)
            elif isinstance(node, ast.Name):
                results[id(node)] = CONSTANTS[node.id] if node.id in CONSTANTS else values[node.id]
            elif isinstance(node, ast.UnaryOp):
                operand = results.pop(id(node.operand))
                results[id(node)] = cnp.negative(operand) if isinstance(node.op, ast.USub) else operand
            elif isinstance(node, ast.BinOp):
                left, right = results.pop(id(node.left)), results.pop(id(node.right))
                results[id(node)] = getattr(cnp, _OPERATORS[type(node.op)])(left, right)
            elif isinstance(node, ast.Call):
                args = [results.pop(id(a)) for a in node.args]
                results[id(node)] = getattr(cnp, FUNCTIONS[node.func.id][0])(*args)
        return results[id(self.tree.body)]


def _operands(node: ast.AST) -> list[ast.AST]:
    if isinstance(node, ast.BinOp):
        return [node.left, node.right]
    if isinstance(node, ast.UnaryOp):
        return [node.operand]
    if isinstance(node, ast.Call):
        return list(node.args)
    return []


def parse_formula(text: str) -> Formula:
    """Parse ``text`` into a :class:`Formula`, or raise :class:`FormulaError` naming what is not allowed.

    >>> parse_formula("x.__class__")
    Traceback (most recent call last):
    chainrule.viz._formula.FormulaError: attribute access is not allowed in a formula (in 'x.__class__')
    """
    if not isinstance(text, str) or not text.strip():
        raise FormulaError("empty formula; write an expression such as 'cos(sin(x**2) + 3*x**2)'")
    if len(text) > MAX_LENGTH:
        raise FormulaError(f"formula too long ({len(text)} characters; at most {MAX_LENGTH})")
    text = text.strip()
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as error:
        raise FormulaError(_syntax_message(text, error)) from None
    except (RecursionError, MemoryError, ValueError):
        raise FormulaError("formula too deeply nested or not parseable") from None
    variables: list[str] = []
    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Expression | ast.Load | ast.operator | ast.unaryop):
            if isinstance(node, ast.operator) and type(node) not in _OPERATORS:
                raise FormulaError(f"operator {_REJECTED_OPERATORS.get(type(node), type(node).__name__)} is not "
                                   f"allowed; use + - * / **")
            if isinstance(node, ast.unaryop) and not isinstance(node, ast.USub | ast.UAdd):
                raise FormulaError(f"operator {'not' if isinstance(node, ast.Not) else '~'} is not allowed")
            continue
        if isinstance(node, ast.BinOp | ast.UnaryOp):
            continue
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, int | float):
                raise FormulaError(f"only numbers are allowed as constants; got {node.value!r}")
            continue
        if isinstance(node, ast.Name):
            _check_name(node, text, id(node) in called, variables)
            continue
        if isinstance(node, ast.Call):
            _check_call(node, text)
            continue
        what = _DESCRIPTIONS.get(type(node), f"'{type(node).__name__}' is")
        raise FormulaError(f"{what} not allowed in a formula{_where(node, text)}")
    positions = {}
    for node in ast.walk(tree):  # variables in the order they are written
        if isinstance(node, ast.Name) and node.id in variables:
            positions[node.id] = min(positions.get(node.id, (1 << 30, 0)), (node.lineno, node.col_offset))
    return Formula(text, tree, sorted(variables, key=positions.__getitem__))


def _check_name(node: ast.Name, text: str, is_called: bool, variables: list[str]) -> None:
    name = node.id
    if name.startswith("__") or name.endswith("__"):
        raise FormulaError(f"dunder names are not allowed in a formula: {name!r}")
    if not _NAME.match(name):
        raise FormulaError(f"name {name!r} is not allowed: variable names start with a letter "
                           f"(letters, digits, underscores)")
    if is_called:
        return  # checked with its call
    if name in FUNCTIONS:
        raise FormulaError(f"{name!r} is a function; call it, e.g. {name}(x)")
    if name not in CONSTANTS and name not in variables:
        variables.append(name)


def _check_call(node: ast.Call, text: str) -> None:
    if not isinstance(node.func, ast.Name):
        what = "attribute access" if isinstance(node.func, ast.Attribute) else "calling an expression"
        raise FormulaError(f"{what} is not allowed in a formula{_where(node.func, text)}; call a function "
                           f"by name, e.g. sin(x)")
    name = node.func.id
    if name.startswith("__") or name.endswith("__"):
        raise FormulaError(f"dunder names are not allowed in a formula: {name!r}")
    if name not in FUNCTIONS:
        raise FormulaError(f"unknown function {name!r}; allowed: {', '.join(sorted(FUNCTIONS))}")
    if node.keywords:
        raise FormulaError(f"keyword arguments are not allowed in a formula (in the call of {name})")
    if any(isinstance(a, ast.Starred) for a in node.args):
        raise FormulaError(f"*args are not allowed in a formula (in the call of {name})")
    arity = FUNCTIONS[name][1]
    if len(node.args) != arity:
        raise FormulaError(f"{name} takes {arity} argument{'s' if arity > 1 else ''}, got {len(node.args)}")


def _syntax_message(text: str, error: SyntaxError) -> str:
    try:
        module = ast.parse(text, mode="exec")
    except SyntaxError:
        return f"not a valid expression: {error.msg} (at column {error.offset})"
    if any(isinstance(n, ast.Import | ast.ImportFrom) for n in ast.walk(module)):
        return "imports are not allowed in a formula"
    kinds = {type(n).__name__ for n in module.body}
    return f"only a single expression is allowed in a formula, not statements ({', '.join(sorted(kinds))})"


def parse_assignments(text: str) -> dict[str, float]:
    """``"x=2,z=3"`` → ``{"x": 2.0, "z": 3.0}``, with a clear error for anything else."""
    values: dict[str, float] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        name, sep, number = (s.strip() for s in part.partition("="))
        if not sep or not _NAME.match(name):
            raise FormulaError(f"expected NAME=VALUE pairs separated by commas, like x=2,z=3; got {part!r}")
        try:
            value = float(number)
        except ValueError:
            raise FormulaError(f"the value of {name} must be a number; got {number!r}") from None
        if not np.isfinite(value):
            raise FormulaError(f"the value of {name} must be finite; got {number!r}")
        if name in values:
            raise FormulaError(f"{name} is given twice in {text!r}")
        values[name] = value
    return values
