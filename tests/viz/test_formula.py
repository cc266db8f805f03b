"""The explain grammar: accepts arithmetic on variables and whitelisted functions, rejects the rest."""

import math

import pytest

from chainrule.viz._formula import FormulaError, parse_assignments, parse_formula


@pytest.mark.parametrize("text, variables, point, expected", [
    ("cos(sin(x**2) + 3*x**2)", ["x"], {"x": 1.5}, math.cos(math.sin(2.25) + 6.75)),
    ("exp(x*z) + x*z/log(x) + sin(log(x))/(x*z)", ["x", "z"], {"x": 2.0, "z": 3.0},
     math.exp(6) + 6 / math.log(2) + math.sin(math.log(2)) / 6),
    ("-x + +2 - pi * e", ["x"], {"x": 1.0}, -1 + 2 - math.pi * math.e),
    ("sigmoid(w*x + b)", ["w", "x", "b"], {"w": 0.5, "x": 2.0, "b": -1.0}, 0.5),
    ("maximum(x, 1) ** 2", ["x"], {"x": 3.0}, 9.0),
])
def test_accepted_formulas_evaluate(text, variables, point, expected):
    formula = parse_formula(text)
    assert formula.variables == variables
    assert float(formula(**point)) == pytest.approx(expected)


@pytest.mark.parametrize("text, message", [
    ("x.__class__", "attribute access is not allowed"),
    ("x.real", "attribute access is not allowed"),
    ("os.system('ls')", "attribute access is not allowed"),
    ("__import__('os')", "dunder names are not allowed"),
    ("__builtins__", "dunder names are not allowed"),
    ("import os", "imports are not allowed"),
    ("from os import path", "imports are not allowed"),
    ("lambda: 1", "lambda expressions are not allowed"),
    ("(lambda x: x)(2)", "calling an expression is not allowed"),
    ("x[0]", "subscripts ([...]) are not allowed"),
    ("[a for a in x]", "comprehensions are not allowed"),
    ("sum(a for a in x)", "unknown function 'sum'"),
    ("eval('1')", "unknown function 'eval'"),
    ("open('f')", "unknown function 'open'"),
    ("sin(x, out=y)", "keyword arguments are not allowed"),
    ("sin(*x)", "*args are not allowed"),
    ("x ^ 2", "'^' (use ** for powers)"),
    ("x if x else 1", "conditional expressions are not allowed"),
    ("x < 1", "comparisons are not allowed"),
    ("'text'", "only numbers are allowed"),
    ("True", "only numbers are allowed"),
    ("1j", "only numbers are allowed"),
    ("for a in x: pass", "a formula is an expression, or assignments 'name = expression'"),
    ("z = x; z = 2*x", "'z' is assigned twice"),
    ("y = 2*z; z = x", "'z' is used before it is assigned"),
    ("sin = x", "'sin' names a function or a constant"),
    ("x.y = 3", "a formula is an expression, or assignments"),
    ("(y := 2)", "assignments (:=) are not allowed"),
    ("sin", "'sin' is a function; call it"),
    ("sin(x, x)", "sin takes 1 argument, got 2"),
    ("_x + 1", "not allowed"),
    ("", "empty formula"),
    ("x +", "not a valid expression"),
    ("x" + "+x" * 10000, "formula too long"),
])
def test_rejected_formulas_name_what_was_rejected(text, message):
    with pytest.raises(FormulaError) as info:
        parse_formula(text)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_assignments():
    assert parse_assignments("x=2, z=3") == {"x": 2.0, "z": 3.0}
    for bad, message in [("x", "NAME=VALUE"), ("x=a", "must be a number"), ("x=1,x=2", "given twice"),
                         ("x=inf", "finite"), ("1x=2", "NAME=VALUE")]:
        with pytest.raises(FormulaError, match=message):
            parse_assignments(bad)


def test_missing_value_is_named():
    with pytest.raises(FormulaError, match="no value for z"):
        parse_formula("x*z")(x=1.0)
