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

MAX_LENGTH = 20000  # characters: a few hundred terms; parsing and validation are linear in it

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
    """A user error of ``chainrule explain`` (bad formula, missing value, bad option): one-line message.

    >>> try:
    ...     parse_assignments("x=two")
    ... except ExplainError as error:
    ...     print(type(error).__name__, "-", error)
    FormulaError - the value of x must be a number; got 'two'
    >>> parse_formula("__import__('os')")
    Traceback (most recent call last):
        ...
    chainrule.viz._formula.FormulaError: dunder names are not allowed in a formula: '__import__'
    """


class FormulaError(ExplainError):
    """A formula outside the grammar; the message names what was rejected."""


def _where(node: ast.AST, text: str) -> str:
    segment = ast.get_source_segment(text, node)
    return f" (in {segment!r})" if segment and len(segment) < 60 else ""


class Formula:
    """A parsed, validated formula. Call it with one value per variable (numbers, arrays or Tensors);
    it computes with ``chainrule.numpy``, so calling it on Tensors records the graph.

    A formula may name its intermediates: ``"z = w*x + b; y = sigmoid(z)"`` is a sequence of
    assignments (``statements``, (name, expression) pairs); its value is the last one's, and
    :meth:`evaluate` also returns every named intermediate. A subexpression written twice (``x**2`` in
    ``sin(x**2) + 3*x**2``) is computed once, so it is one node of the graph, as the notes draw it."""

    def __init__(self, text: str, tree: ast.Expression, variables: list[str],
                 statements: list[tuple[str, ast.expr]] | None = None) -> None:
        self.text, self.tree, self.variables = text, tree, variables
        self.statements = statements or []

    @property
    def output_name(self) -> str | None:
        """The name the last assignment gives the formula's value (None for a bare expression)."""
        return self.statements[-1][0] if self.statements and self.statements[-1][1] is self.tree.body else None

    def __repr__(self) -> str:
        return f"Formula({self.text!r}, variables={self.variables})"

    def __call__(self, **values: Any) -> Any:
        return self.evaluate(**values)[0]

    def evaluate(self, **values: Any) -> tuple[Any, dict[str, Any]]:
        """``(value, {name: value of each named intermediate})`` at ``values``."""
        missing = [v for v in self.variables if v not in values]
        if missing:
            raise FormulaError(f"no value for {', '.join(missing)} in {self.text!r} (give e.g. --at "
                               f"{','.join(f'{m}=1.0' for m in self.variables)})")
        environment = dict(values)
        computed: dict[str, Any] = {}  # structure → value: a subexpression written twice is one node
        named: dict[str, Any] = {}
        for name, expression in self.statements:
            named[name] = environment[name] = _evaluate(expression, environment, computed)
        if self.output_name is not None:
            return named[self.output_name], named
        return _evaluate(self.tree.body, environment, computed), named


def _evaluate(expression: ast.expr, values: dict[str, Any], computed: dict[tuple, Any]) -> Any:
    """Evaluate ``expression`` with ``chainrule.numpy``. ``computed`` maps a subexpression's structure
    (its operation and its operands' structures, built bottom-up: linear in the formula's length) to its
    value, so a subexpression written twice is evaluated, and recorded, once."""
    import chainrule.numpy as cnp

    results: dict[int, Any] = {}
    keys: dict[int, tuple] = {}
    stack: list[tuple[ast.AST, bool]] = [(expression, False)]
    while stack:  # post-order walk with an explicit stack
        node, ready = stack.pop()
        children = _operands(node)
        if not ready and children:
            stack.append((node, True))
            stack.extend((child, False) for child in reversed(children))
            continue
        if isinstance(node, ast.Constant):
            leaf = ("constant", float(node.value))
            keys[id(node)] = computed.setdefault(("key", *leaf), leaf)
            results[id(node)] = float(node.value)
            continue
        if isinstance(node, ast.Name):
            keys[id(node)] = computed.setdefault(("key", "name", node.id), ("name", node.id))
            results[id(node)] = CONSTANTS[node.id] if node.id in CONSTANTS else values[node.id]
            continue
        operation = type(node.op).__name__ if isinstance(node, ast.BinOp | ast.UnaryOp) else node.func.id
        key = (operation, *(id(keys[id(c)]) for c in children))
        key = computed.setdefault(("key", *key), key)  # one tuple object per structure: its id names it
        keys[id(node)] = key
        operands = [results.pop(id(c)) for c in children]
        if key in computed:
            results[id(node)] = computed[key]
            continue
        if isinstance(node, ast.UnaryOp):
            results[id(node)] = cnp.negative(operands[0]) if isinstance(node.op, ast.USub) else operands[0]
        elif isinstance(node, ast.BinOp):
            results[id(node)] = getattr(cnp, _OPERATORS[type(node.op)])(*operands)
        else:
            results[id(node)] = getattr(cnp, FUNCTIONS[node.func.id][0])(*operands)
        computed[key] = results[id(node)]
    return results[id(expression)]


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
    text = "; ".join(line.strip() for line in text.strip().splitlines() if line.strip())
    statements: list[tuple[str, ast.expr]] = []
    try:
        tree = ast.parse(text, mode="eval")
        checks = [tree]
    except SyntaxError as error:
        tree, checks, statements = _parse_statements(text, error)
    except (RecursionError, MemoryError, ValueError):
        raise FormulaError("formula too deeply nested or not parseable") from None
    assigned = {name for name, _ in statements}
    variables: list[str] = []
    called = {id(n.func) for n in _walk(checks) if isinstance(n, ast.Call)}
    for node in _walk(checks):
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
            _check_name(node, text, id(node) in called, variables, assigned)
            continue
        if isinstance(node, ast.Call):
            _check_call(node, text)
            continue
        what = _DESCRIPTIONS.get(type(node), f"'{type(node).__name__}' is")
        raise FormulaError(f"{what} not allowed in a formula{_where(node, text)}")
    if statements:
        _check_order(statements, variables)
    positions = {}
    for node in _walk(checks):  # variables in the order they are written
        if isinstance(node, ast.Name) and node.id in variables:
            positions[node.id] = min(positions.get(node.id, (1 << 30, 0)), (node.lineno, node.col_offset))
    return Formula(text, tree, sorted(variables, key=positions.__getitem__), statements)


def _parse_statements(text: str, error: SyntaxError) -> tuple[ast.Expression, list[ast.Expression],
                                                               list[tuple[str, ast.expr]]]:
    """``"z = w*x + b; y = sigmoid(z)"``: assignments of one name each, the last one (or a final bare
    expression) being the formula's value. Returns the value's expression, a tree holding every
    expression (to validate) and the (name, expression) pairs."""
    try:
        module = ast.parse(text, mode="exec")
    except SyntaxError:
        raise FormulaError(_syntax_message(text, error)) from None
    except (RecursionError, MemoryError, ValueError):
        raise FormulaError("formula too deeply nested or not parseable") from None
    if any(isinstance(n, ast.Import | ast.ImportFrom) for n in ast.walk(module)):
        raise FormulaError("imports are not allowed in a formula")
    statements: list[tuple[str, ast.expr]] = []
    final: ast.expr | None = None
    for k, statement in enumerate(module.body):
        last = k == len(module.body) - 1
        if isinstance(statement, ast.Expr) and last:
            final = statement.value
            continue
        if not isinstance(statement, ast.Assign) or len(statement.targets) != 1 or \
                not isinstance(statement.targets[0], ast.Name):
            kind = type(statement).__name__
            raise FormulaError(f"a formula is an expression, or assignments 'name = expression' separated by "
                               f"';' (got {kind}{_where(statement, text)})")
        name = statement.targets[0].id
        if name in FUNCTIONS or name in CONSTANTS:
            raise FormulaError(f"{name!r} names a function or a constant; it cannot be assigned")
        if any(name == n for n, _ in statements):
            raise FormulaError(f"{name!r} is assigned twice; give each intermediate its own name")
        statements.append((name, statement.value))
    body = final if final is not None else statements[-1][1]
    everything = [e for _, e in statements] + ([final] if final is not None else [])
    return ast.Expression(body=body), [ast.Expression(body=e) for e in everything], statements


def _walk(trees: list[ast.Expression]) -> Any:
    for tree in trees:
        yield from ast.walk(tree)


def _check_order(statements: list[tuple[str, ast.expr]], variables: list[str]) -> None:
    """An intermediate must be assigned before it is used, and an input is never assigned."""
    defined: set[str] = set()
    for name, expression in statements:
        for node in ast.walk(expression):
            if isinstance(node, ast.Name) and node.id in {n for n, _ in statements} and node.id not in defined:
                raise FormulaError(f"{node.id!r} is used before it is assigned (in the expression of {name})")
        defined.add(name)


def _check_name(node: ast.Name, text: str, is_called: bool, variables: list[str],
                assigned: set[str] | frozenset = frozenset()) -> None:
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
    if name not in CONSTANTS and name not in variables and name not in assigned:
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
    """``"x=2,z=3"`` → ``{"x": 2.0, "z": 3.0}``, with a clear error for anything else.

    >>> parse_assignments("x=2, z=-0.5")
    {'x': 2.0, 'z': -0.5}
    >>> parse_assignments("")
    {}
    >>> parse_assignments("x")
    Traceback (most recent call last):
        ...
    chainrule.viz._formula.FormulaError: expected NAME=VALUE pairs separated by commas, like x=2,z=3; got 'x'
    """
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
