"""The backward pass by named step (``chainrule explain`` with named intermediates)."""

import sys

import numpy as np
import pytest

from chainrule.viz._format import bar
from chainrule.viz._formula import parse_formula
from chainrule.viz._steps import SYMPY_MISSING, named_steps
from chainrule.viz.cli import explain_formula, trace_formula

LOGISTIC = "z = w*x + b; y = sigmoid(z); L = 0.5*(y - t)**2; R = 0.5*w**2; Lreg = L + lam*R"
POINT = {"w": 0.5, "x": 2.0, "b": -0.5, "t": 1.0, "lam": 0.1}


def test_the_notes_worked_example_by_named_step():
    pytest.importorskip("sympy")
    formula = parse_formula(LOGISTIC)
    tr = trace_formula(formula, POINT, wrt=["w", "b"])
    lines = named_steps(formula, POINT, tr, ["w", "b"])
    assert f"{bar('z')}    = {bar('y')} · σ′(z) = -0.08872" in lines
    assert f"{bar('w')}    = {bar('z')} · x + {bar('R')} · w = -0.1774 + 0.05 = -0.1274" in lines
    assert f"{bar('y')}    = {bar('L')} · (y - t) = -0.3775" in lines
    assert not any(line.startswith((bar("x"), bar("t"), bar("lam"))) for line in lines)  # data: --wrt w,b


def test_named_step_sums_equal_the_traced_error_signals():
    pytest.importorskip("sympy")
    text = "t = x**2; u1 = sin(t); u2 = 3*t; u = u1 + u2; J = cos(u)"   # the notes' names for J
    formula = parse_formula(text)
    tr = trace_formula(formula, {"x": 1.5})
    lines = named_steps(formula, {"x": 1.5}, tr, ["x"])
    assert f"{bar('t')}  = {bar('u1')} · cos(t) + {bar('u2')} · 3 = 0.5951 − 2.842 = -2.247" in lines
    assert f"{bar('u')}  = {bar('J')} · (-sin(u)) = -0.9474" in lines
    for line in lines[1:]:  # the sum of the terms is the trace's error signal
        name = line.split(" ")[0]
        terms = line.split(" = ")
        if len(terms) == 4:
            parts = [float(v) for v in terms[2].replace("− ", "+ -").split(" + ")]
            assert sum(parts) == pytest.approx(float(terms[3]), rel=1e-3)
        node = next(n for n in tr.nodes if bar(n.name) == name)
        assert float(terms[-1]) == pytest.approx(float(np.asarray(node.grad)), rel=1e-3)


def test_without_sympy_the_section_says_how_to_get_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "sympy", None)
    text = explain_formula(LOGISTIC, POINT, wrt=["w", "b"])
    assert SYMPY_MISSING in text and "∂Lreg/∂w = -0.127447" in text


def test_a_bare_expression_has_no_named_steps():
    formula = parse_formula("x * y")
    assert named_steps(formula, {"x": 1.0, "y": 2.0}, trace_formula(formula, {"x": 1.0, "y": 2.0}), ["x"]) == []
