"""Cost accounting: multiply-adds per primitive, hand-computed; the table covers every primitive."""

import numpy as np
import pytest

import chainrule
import chainrule.numpy as cnp
from chainrule._registry import load
from chainrule.viz import COST_RULES, cost
from chainrule.viz._cost import CATEGORIES, cost_category


def test_every_primitive_of_the_rule_table_has_a_cost_rule():
    primitives = {name for name, entry in load().items() if entry.primitive.differentiable}
    missing = sorted(name for name in primitives if cost_category(name) is None)
    assert not missing, f"add these primitives to chainrule/viz/_cost.py COST_RULES: {', '.join(missing)}"
    assert set(COST_RULES.values()) <= set(CATEGORIES)


def test_matmul_forward_mkn_backward_mkn_per_differentiated_operand(rng):
    m, k, n = 5, 7, 3
    both = cost(lambda A, B: A @ B, rng.normal(size=(m, k)), rng.normal(size=(k, n)))
    assert (both.forward, both.backward) == (m * k * n, 2 * m * k * n)
    assert both.ratio == 2.0
    A = chainrule.tensor(rng.normal(size=(m, k)))     # needs no gradient
    one = cost(lambda B: A @ B, rng.normal(size=(k, n)))
    assert (one.forward, one.backward) == (m * k * n, m * k * n)
    batched = cost(lambda A, B: A @ B, rng.normal(size=(4, m, k)), rng.normal(size=(k, n)))
    assert batched.forward == 4 * m * k * n


def test_mlp_counts_match_hand_computed_numbers(rng):
    batch, sizes = 32, [64, 128, 128, 10]
    x = chainrule.tensor(rng.normal(size=(batch, sizes[0])))
    t = rng.normal(size=(batch, sizes[-1]))

    def loss(W1, b1, W2, b2, W3, b3):
        h1 = cnp.relu(x @ W1 + b1)
        h2 = cnp.relu(h1 @ W2 + b2)
        y = h2 @ W3 + b3
        return 0.5 * ((y - t) ** 2).sum()

    shapes = [(64, 128), (128,), (128, 128), (128,), (128, 10), (10,)]
    c = cost(loss, *[rng.normal(size=s) for s in shapes])
    mm = [batch * a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    rows = c.by_primitive
    assert rows["matmul"].forward == sum(mm)
    assert rows["matmul"].backward == mm[0] + 2 * mm[1] + 2 * mm[2]   # x needs no gradient
    elementwise = {"add": 2 * (batch * 128) * 2 + 2 * batch * 10, "relu": 2 * batch * 128}
    assert rows["add"].forward == batch * (128 + 128 + 10) and rows["add"].backward == elementwise["add"]
    assert rows["relu"].forward == rows["relu"].backward == elementwise["relu"]
    assert rows["sum"].forward == batch * 10
    assert c.forward == sum(r.forward for r in c.rows) and c.backward == sum(r.backward for r in c.rows)
    assert 1.5 < c.ratio < 2.0                     # the rule of thumb: backward ≈ 2 × forward, slightly under
    assert "matmul" in str(c) and "total" in str(c)


def test_fan_out_costs_one_addition_per_extra_child():
    c = cost(lambda a: (a * a).sum(), np.ones(4))
    assert c.by_primitive["Σ fan-out"].backward == 4


def test_cost_of_an_existing_tensor_and_unknown_primitives():
    from chainrule.extend import defvjp, primitive

    @primitive
    def cube(x):
        return x ** 3

    defvjp(cube, lambda g, ans, x: g * 3 * x ** 2)
    w = chainrule.tensor(np.ones(3), requires_grad=True)
    c = cost(cube(w).sum())
    assert c.by_primitive["cube"].category == "unknown→elementwise"
    assert c.by_primitive["cube"].forward == 3


def test_cost_needs_a_tensor_result():
    with pytest.raises(ValueError, match="not a Tensor"):
        cost(lambda x: 1.0, 2.0)
