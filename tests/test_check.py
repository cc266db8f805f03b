"""gradcheck: it passes on right rules, fails on wrong ones, and names the faulty primitive."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.extend import defvjp, primitive


@primitive
def cube(x):
    return x**3


defvjp(cube, lambda g, ans, x: g * 3 * x**2)


@primitive
def bad_cube(x):
    return x**3


defvjp(bad_cube, lambda g, ans, x: g * 2 * x**2)  # wrong on purpose


def test_gradcheck_passes_first_and_second_order(rng):
    assert cr.gradcheck(lambda x, y: cnp.tanh(x @ y) * cube(x).sum(), rng.standard_normal((2, 3)),
                        rng.standard_normal((3, 2)), order=2)


def test_gradcheck_fails_and_names_argument_index_and_values(rng):
    with pytest.raises(cr.GradcheckError) as info:
        cr.gradcheck(lambda a, b: cnp.sin(a) * bad_cube(b), rng.standard_normal(2), rng.standard_normal(3)[:2])
    message = str(info.value)
    assert "argument 1" in message and "index (" in message and "analytic" in message and "numeric" in message


def test_gradcheck_localises_the_faulty_primitive_in_a_composite(rng):
    def model(w, x):
        return cnp.sum(cnp.tanh(bad_cube(x @ w)) ** 2)

    with pytest.raises(cr.GradcheckError) as info:
        cr.gradcheck(model, rng.standard_normal((3, 2)), rng.standard_normal((4, 3)))
    assert info.value.fault is not None
    assert "first faulty rule: `bad_cube`" in info.value.fault
    assert "test_check.py" in info.value.fault  # the user's line that recorded it


def test_gradcheck_second_order_catches_a_rule_that_is_only_first_order_right():
    @primitive
    def square_ok_first(x):
        return x * x

    # right value, but computed with constants: its own derivative (second order) is wrong
    defvjp(square_ok_first, lambda g, ans, x: g * 2 * np.asarray(getattr(x, "data", x)))
    cr.gradcheck(lambda x: square_ok_first(x).sum(), np.array([0.3, -1.2]))
    with pytest.raises(cr.GradcheckError, match="second derivative"):
        cr.gradcheck(lambda x: square_ok_first(x).sum(), np.array([0.3, -1.2]), order=2)


def test_user_defined_primitive_documented_example():
    np.testing.assert_allclose(cr.grad(lambda x: cube(x).sum())(np.array([1.0, 2.0])), [3.0, 12.0])
    np.testing.assert_allclose(cr.hessian(lambda x: cube(x).sum())(np.array([1.0, 2.0])), np.diag([6.0, 12.0]))


def test_gradcheck_rejects_bad_order(rng):
    with pytest.raises(ValueError, match="order"):
        cr.gradcheck(cnp.sin, rng.standard_normal(2), order=3)
