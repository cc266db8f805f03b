"""Leaving the graph is never silent: conversions of Tensors that require grad."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp


def test_writing_a_tensor_into_an_ndarray_is_refused_while_recording():
    def f(x):
        out = np.zeros(3)
        for i in range(3):
            out[i] = np.sin(x[i])
        return np.sum(out)

    # NumPy reports a failed item conversion as its own ValueError, caused by chainrule's TypeError
    with pytest.raises((TypeError, ValueError)) as caught:
        cr.grad(f)(np.array([0.1, 0.2, 0.3]))
    assert _names_detach(caught.value)
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    out = np.zeros(2)
    with pytest.raises((TypeError, ValueError)) as caught:
        out[0] = x[0] * 2
    assert _names_detach(caught.value)
    out[0] = x[0].detach()  # the values alone, said so
    with cr.no_grad():
        out[1] = x[1]  # nothing is recorded, so nothing is dropped
    np.testing.assert_allclose(out, [1.0, 2.0])


def _names_detach(error: BaseException) -> bool:
    while error is not None:
        if "out[i] = t" in str(error) and "detach()" in str(error):
            return True
        error = error.__cause__ or error.__context__
    return False


def test_the_supported_way_gives_the_gradient():
    def f(x):
        return cnp.sum(cnp.stack([cnp.sin(x[i]) for i in range(3)]))

    x0 = np.array([0.1, 0.2, 0.3])
    np.testing.assert_allclose(cr.grad(f)(x0), np.cos(x0))


def test_float_and_item_keep_their_pytorch_meaning():
    x = cr.tensor([2.5], requires_grad=True)
    assert float(x) == 2.5 and x.item() == 2.5 and float(x * 2) == 5.0


def test_numpy_and_tolist_name_detach():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match=r"detach\(\)\.numpy\(\)"):
        x.numpy()
    with pytest.raises(TypeError, match=r"detach\(\)\.tolist\(\)"):
        (x * 2).tolist()
    assert x.detach().numpy().tolist() == [1.0, 2.0]
    with cr.no_grad():
        assert x.tolist() == [1.0, 2.0]
    assert cr.tensor([3.0]).numpy().tolist() == [3.0]
    with pytest.raises(TypeError, match="drop its gradient"):
        np.asarray(x)


def test_deepcopy_of_a_non_leaf_is_an_error_and_of_a_leaf_a_true_copy():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    y = copy.deepcopy(x)
    assert y.requires_grad and y.is_leaf and y.data is not x.data
    np.testing.assert_allclose(y.grad, x.grad)
    assert y.grad is not x.grad
    with pytest.raises(RuntimeError, match="non-leaf"):
        copy.deepcopy(x * 2)


def test_has_aux_returns_plain_values():
    (value, aux), g = cr.value_and_grad(lambda x: (cnp.sum(x * x), {"h": x * 2, "n": 3}), has_aux=True)(
        np.ones(2))
    assert type(aux["h"]) is np.ndarray and aux["n"] == 3 and value == 2.0
    np.testing.assert_allclose(g, [2.0, 2.0])
