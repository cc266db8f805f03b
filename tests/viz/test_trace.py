"""trace / Trace: topological order, names, error signals against backward(), the notes' numbers."""

import math
import sys

import numpy as np
import pytest

import chainrule
import chainrule.numpy as cnp
from chainrule.viz import Trace, trace
from chainrule.viz._format import bar


def logistic(w, b):
    x, t, lam = 2.0, 1.0, 0.1
    z = w * x + b
    y = cnp.sigmoid(z)
    L = 0.5 * (y - t) ** 2
    R = 0.5 * w ** 2
    L_reg = L + lam * R
    return L_reg


def quiz(x, z):
    return cnp.exp(x * z) + x * z / cnp.log(x) + cnp.sin(cnp.log(x)) / (x * z)


def test_nodes_are_in_topological_order_and_every_parent_is_listed():
    for tr in (trace(logistic, 0.5, -1.0), trace(quiz, 2.0, 3.0)):
        for node in tr.nodes:
            assert all(p < node.index for p in node.parents)
            assert node.index == tr.nodes.index(node)
        assert tr.output is tr.nodes[-1]


def test_names_come_from_parameters_locals_then_v1_v2():
    tr = trace(logistic, 0.5, -1.0)
    names = [n.name for n in tr.nodes]
    assert names[:2] == ["w", "b"]
    for name in ("z", "y", "L", "R", "L_reg"):
        assert name in names
    assert "v1" in names and tr.output.name == "L_reg"
    assert tr.expression(tr["z"]) == "v1 + b"


def test_user_names_and_keyword_inputs():
    x = chainrule.tensor(3.0, requires_grad=True, name="x")
    tr = trace(lambda x, scale: (x * x) * scale, x, scale=2.0, output_name="f")
    assert [n.name for n in tr.inputs] == ["x", "scale"]
    assert tr.output.name == "f"
    assert tr.gradients["x"] == pytest.approx(12.0) and tr.gradients["scale"] == pytest.approx(9.0)


def test_error_signals_equal_backward_gradients(rng):
    W1, b1, W2 = rng.normal(size=(3, 4)), rng.normal(size=4), rng.normal(size=(4, 2))
    x = rng.normal(size=(5, 3))

    def loss(W1, b1, W2):
        h = cnp.tanh(chainrule.tensor(x) @ W1 + b1)
        return (cnp.sigmoid(h @ W2) ** 2).sum()

    tr = trace(loss, W1, b1, W2)
    tensors = [chainrule.tensor(a, requires_grad=True) for a in (W1, b1, W2)]
    loss(*tensors).backward()
    for name, t in zip(("W1", "b1", "W2"), tensors, strict=True):
        np.testing.assert_allclose(tr.gradients[name], t.grad, rtol=1e-12)
    # every interior error signal is the sum of its children's contributions
    for node in tr.nodes[:-1]:
        total = sum(c for _, c in node.contributions)
        np.testing.assert_allclose(node.grad, total)


def test_cos_sin_example_matches_the_closed_form():
    tr = trace(lambda x: cnp.cos(cnp.sin(x ** 2) + 3 * x ** 2), 1.5)
    x = 1.5
    u = math.sin(x ** 2) + 3 * x ** 2
    assert tr.gradients["x"] == pytest.approx(-math.sin(u) * (2 * x * math.cos(x ** 2) + 6 * x), rel=1e-12)
    assert tr.output.value == pytest.approx(math.cos(u))


def test_quiz_derivatives():
    tr = trace(quiz, 2.0, 3.0)
    x, z = 2.0, 3.0
    dx = z * math.exp(x * z) + z / math.log(x) - z / math.log(x) ** 2 + (
        math.cos(math.log(x)) - math.sin(math.log(x))) / (x * x * z)
    dz = x * math.exp(x * z) + x / math.log(x) - math.sin(math.log(x)) / (x * z * z)
    assert tr.gradients["x"] == pytest.approx(dx, rel=1e-12) and round(dx) == 1208
    assert tr.gradients["z"] == pytest.approx(dz, rel=1e-12) and round(dz) == 810


def test_backward_text_is_written_in_the_notes_notation():
    text = trace(logistic, 0.5, -1.0).backward_text()
    lines = text.splitlines()
    assert lines[0].startswith(bar("L_reg")) and lines[0].endswith("= 1")
    assert any(line.startswith(bar("z")) and f"{bar('y')} · σ(z)(1 - σ(z))" in line for line in lines)
    w_line = lines[-1]
    assert w_line.startswith(bar("w"))
    assert f"{bar('v1')} · 2 + {bar('v4')} · 2·w" in w_line    # the fan-out sum over two children
    assert w_line.endswith("= -0.25 + 0.05 = -0.2")


def test_forward_text_lists_every_node_with_its_value():
    tr = trace(logistic, 0.5, -1.0)
    text = tr.forward_text()
    assert len(text.splitlines()) == len(tr)
    assert "y     = σ(z) = 0.5" in text


def test_from_tensor_names_from_the_callers_variables():
    w = chainrule.tensor(0.5, requires_grad=True, name="w")
    z = w * 3.0
    loss = z ** 2
    tr = Trace.from_tensor(loss)
    assert [n.name for n in tr.nodes] == ["w", "z", "loss"]
    assert tr.gradients["w"] == pytest.approx(2 * 1.5 * 3.0)


def test_from_tensor_after_a_released_backward_says_what_to_do():
    w = chainrule.tensor(0.5, requires_grad=True)
    loss = (w * w).sum()
    loss.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        Trace.from_tensor(loss)


def test_non_scalar_output_has_values_but_no_error_signals_unless_seeded():
    tr = trace(lambda x: x * 2.0, np.ones(3))
    assert not tr.backward_done
    with pytest.raises(ValueError, match="seed="):
        tr.backward_text()
    seeded = trace(lambda x: x * 2.0, np.ones(3), seed=np.array([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(seeded.gradients["x"], [2.0, 4.0, 6.0])


def test_a_function_that_returns_no_tensor_is_a_clear_error():
    with pytest.raises(ValueError, match="not a Tensor"):
        trace(lambda x: 3.0, 1.0)


def test_deep_graphs_need_no_recursion():
    def chain(x):
        for _ in range(3000):
            x = cnp.sin(x)
        return x

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(400)
    try:
        tr = trace(chain, 0.5)
        text = tr.backward_text()
    finally:
        sys.setrecursionlimit(limit)
    assert len(tr) == 3001 and len(text.splitlines()) == 3001


def test_modules_group_operations():
    nn = pytest.importorskip("chainrule.nn")
    net = nn.mlp([3, 4, 2], "tanh", rng=0)
    x = chainrule.tensor(np.ones((1, 3)), name="x")
    tr = trace(lambda: (net(x) ** 2).sum())
    paths = {n.module for n in tr.nodes if n.module}
    assert any(p[-1].startswith("0: Linear") for p in paths)
    assert tr["W⁽¹⁾"].module == tr["z⁽¹⁾"].module
    assert "subgraph cluster_" in tr.to_dot()


def test_networks_use_the_notes_names_and_show_batch_sums():
    nn = pytest.importorskip("chainrule.nn")
    net = nn.mlp([3, 4, 4, 2], "sigmoid", rng=0)
    x = chainrule.tensor(np.random.default_rng(0).normal(size=(5, 3)), name="x")

    def example(x):
        y = net(x)
        L = (y ** 2).sum()
        return L

    tr = trace(example, x)
    names = {n.name for n in tr.nodes}
    assert {"W⁽¹⁾", "b⁽¹⁾", "W⁽²⁾", "b⁽²⁾", "W⁽³⁾", "b⁽³⁾", "z⁽¹⁾", "h⁽¹⁾", "z⁽²⁾", "h⁽²⁾", "y", "L"} <= names
    lines = tr.backward_text().splitlines()
    b1 = next(line for line in lines if line.startswith(bar("b⁽¹⁾")))
    assert b1.startswith(f"{bar('b⁽¹⁾')} = Σ over the batch of {bar('z⁽¹⁾')} = ")
    np.testing.assert_allclose(tr["b⁽¹⁾"].grad, tr["z⁽¹⁾"].grad.sum(axis=0))  # what the line says
    w3 = next(line for line in lines if line.startswith(bar("W⁽³⁾")))
    assert "h⁽²⁾ᵀ" in w3
    scalar = trace(lambda w, v: (w * np.ones(3) + v).sum(), 1.0, np.zeros(3))
    assert any(line.startswith(bar("w")) and "Σ of" in line for line in scalar.backward_text().splitlines())
