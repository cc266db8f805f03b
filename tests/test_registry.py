"""The registry: one registration per primitive drives the namespaces, dispatch, cost and compile."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

import chainrule
from chainrule._compile import _fast_forwards
from chainrule._graph import Primitive
from chainrule._registry import COST_CATEGORIES, REGISTRY, load, register
from chainrule.viz import COST_RULES


def test_every_public_name_is_its_primitive_in_its_namespace():
    for name, entry in load().items():
        assert entry.cost in COST_CATEGORIES, name
        for public in entry.names:
            space, _, attribute = public.rpartition(".")
            module = importlib.import_module(f"chainrule.{space}")
            assert getattr(module, attribute) is entry.primitive, public


def test_cost_categories_and_fast_forms_come_from_the_registrations():
    for name, entry in load().items():
        assert COST_RULES[name] == entry.cost
    fast = _fast_forwards()
    assert fast[REGISTRY["tanh"].primitive] == (np.tanh, True)
    assert fast[REGISTRY["sum"].primitive] == (np.add.reduce, False)
    assert REGISTRY["arcsin"].primitive not in fast  # no fast form registered: replayed with its forward


def test_a_second_registration_of_a_name_is_refused():
    with pytest.raises(ValueError, match="'tanh' is already registered"):
        register(Primitive("tanh", np.tanh), cost="elementwise")
    with pytest.raises(ValueError, match="numpy.exp is already the public name of exp"):
        register(Primitive("my_exp", np.exp), cost="elementwise", names=("numpy.exp",))
    assert REGISTRY["tanh"].primitive is chainrule.numpy.tanh and "my_exp" not in REGISTRY


def test_bad_cost_categories_and_namespaces_are_refused():
    with pytest.raises(ValueError, match="cost 'cheap' is not one of"):
        register(Primitive("cheap_op", np.exp), cost="cheap")
    with pytest.raises(ValueError, match="not in one of the namespaces"):
        register(Primitive("torch_op", np.exp), cost="elementwise", names=("torch.exp",))
    assert "cheap_op" not in REGISTRY and "torch_op" not in REGISTRY


def test_dispatch_finds_registered_aliases(rng):
    x = chainrule.tensor(rng.standard_normal(3), requires_grad=True)
    for ufunc in (np.absolute, np.fabs, np.true_divide, np.remainder, np.positive, np.conjugate):
        args = (x, 2.0) if ufunc.nin == 2 else (x,)
        assert ufunc(*args).requires_grad, ufunc.__name__


def test_ufunc_methods_on_tensors(rng):
    x = chainrule.tensor(np.array([1.0, 3.0, 2.0, 5.0, 4.0]), requires_grad=True)
    running = np.maximum.accumulate(x)
    np.testing.assert_array_equal(running.data, np.maximum.accumulate(x.data))
    chainrule.numpy.sum(running).backward()
    np.testing.assert_array_equal(x.grad, [1.0, 2.0, 0.0, 2.0, 0.0])  # each running maximum's holder
    a, b = chainrule.tensor(rng.standard_normal(2), requires_grad=True), rng.standard_normal((3, 2))
    np.testing.assert_allclose(np.multiply.outer(a, b).data, np.multiply.outer(a.data, b))
    np.testing.assert_allclose(np.add.reduce(a).data, a.data.sum())
    assert np.minimum.accumulate(a).requires_grad and np.subtract.outer(a, b).requires_grad
    target = chainrule.tensor(np.zeros(3), requires_grad=True) * 1.0
    values = chainrule.tensor([1.0, 2.0, 3.0], requires_grad=True)
    np.add.at(target, [0, 0, 2], values)  # in place; repeated indices accumulate
    np.testing.assert_array_equal(target.data, [3.0, 0.0, 3.0])
    chainrule.numpy.sum(target * np.array([1.0, 2.0, 3.0])).backward()
    np.testing.assert_array_equal(values.grad, [1.0, 1.0, 3.0])
    with pytest.raises(TypeError, match=r"no derivative rule for numpy\.multiply\.at"):
        np.multiply.at(chainrule.tensor(np.ones(3), requires_grad=True) * 1.0, [0], 2.0)
