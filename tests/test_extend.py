"""chainrule.extend: chainrule's rule form and autograd's curried one (told apart by arity), argnums=,
and a clear error for a rule with the wrong number of arguments."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule
from chainrule.extend import defvjp, primitive


def test_curried_autograd_rules_work_to_second_order():
    @primitive
    def cube(x):
        return x ** 3

    defvjp(cube, lambda ans, x: lambda g: g * 3 * x ** 2)
    np.testing.assert_allclose(chainrule.grad(lambda x: cube(x).sum())(np.array([1.0, 2.0])), [3.0, 12.0])
    assert chainrule.grad(chainrule.grad(cube))(2.0) == 12.0
    assert chainrule.gradcheck(lambda x: cube(x).sum(), np.array([0.5, -1.5]), order=2)


def test_both_forms_and_argnums_for_a_two_argument_primitive():
    @primitive
    def scaled(x, k, offset=0.0):
        return x * k + offset

    defvjp(scaled, lambda ans, x, k, offset=0.0: lambda g: g * k, lambda g, ans, x, k, offset=0.0: g * x)
    assert chainrule.grad(scaled, argnums=(0, 1))(2.0, 3.0) == (3.0, 2.0)
    defvjp(scaled, lambda ans, x, k: lambda g: g * x, argnums=[1])  # autograd's argnums: argument 1 only
    assert chainrule.grad(scaled, argnums=1)(2.0, 3.0) == 2.0
    with pytest.raises(TypeError, match="no derivative rule for argument 0"):
        chainrule.grad(scaled)(2.0, 3.0)
    defvjp(scaled, lambda g, ans, x, k: g * k)  # chainrule's form, leaving out a defaulted input ("g" first)
    assert chainrule.grad(scaled)(2.0, 3.0) == 3.0


def test_a_rule_with_the_wrong_number_of_arguments_is_refused_at_once():
    @primitive
    def square(x):
        return x * x

    with pytest.raises(TypeError, match=r"defvjp\(square\): the rule for argument 0 takes 1 positional argument; "
                                         r"expected 3 \(g, ans, x\), or autograd's curried form with 2 \(ans, x\)"):
        defvjp(square, lambda g: g)
    with pytest.raises(TypeError, match="2 rules for argnums"):
        defvjp(square, lambda ans, x: lambda g: g, None, argnums=[0])
