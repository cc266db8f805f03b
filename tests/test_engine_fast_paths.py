"""The engine's fast paths keep their semantics (no timing here: timings live in benchmarks/)."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp


def test_fan_in_sums_in_place_without_corrupting_shared_signals():
    # add's rule hands the same array to both parents; summing into one must not change the other
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = cr.tensor([3.0, 4.0], requires_grad=True)
    s = x + y
    total = (s + x + x + y * 2.0 + s * s).sum()
    total.backward()
    np.testing.assert_allclose(x.grad, 3 + 2 * (np.array([1.0, 2.0]) + [3.0, 4.0]))
    np.testing.assert_allclose(y.grad, 1 + 2 + 2 * (np.array([1.0, 2.0]) + [3.0, 4.0]))


def test_seed_array_is_not_written_by_in_place_sums():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x + x + x
    seed = np.array([1.0, 10.0])
    y.backward(seed)
    np.testing.assert_allclose(seed, [1.0, 10.0])
    np.testing.assert_allclose(x.grad, [3.0, 30.0])


def test_saved_arrays_are_locked_and_released():
    a = np.array([1.0, 2.0])
    x = cr.tensor(a, requires_grad=True)
    y = (x * x).sum()
    assert not a.flags.writeable
    y.backward()
    assert a.flags.writeable
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_in_place_change_of_a_saved_leaf_copies_on_write():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    with cr.no_grad():
        x += 1.0  # the graph keeps the values it recorded; x moves on
    y.backward()
    np.testing.assert_allclose(x.grad, [2.0, 4.0])
    np.testing.assert_allclose(x.data, [2.0, 3.0])


def test_missing_rule_fails_when_recorded():
    f = cr.Primitive("nograd", lambda x: x * 2.0)
    with pytest.raises(TypeError, match="no derivative rule for argument 0"):
        f(cr.tensor([1.0], requires_grad=True))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_is_stable_and_keeps_dtype(dtype):
    z = np.array([-1000.0, -30.0, -1.0, 0.0, 1.0, 30.0, 1000.0], dtype)
    with np.errstate(all="raise"):
        s = cnp.sigmoid(z)
    exact = 1 / (1 + np.exp(-z.astype(np.longdouble)))
    assert s.dtype == dtype
    np.testing.assert_allclose(s, exact.astype(dtype), rtol=4 * np.finfo(dtype).eps, atol=1e-300)
    assert cnp.sigmoid(0.0) == 0.5 and isinstance(cnp.sigmoid(0.0), float)
    assert cnp.sigmoid(np.array([0, 1])).dtype == np.float64


def test_second_order_through_fast_paths():
    f = lambda x: (cnp.sigmoid(x) * x + x * x).sum()
    x = np.array([0.3, -1.2])
    s = 1 / (1 + np.exp(-x))
    d2 = s * (1 - s) * (2 + x * (1 - 2 * s)) + 2
    np.testing.assert_allclose(np.diag(cr.hessian(f)(x)), d2, rtol=1e-10)


def test_a_dropped_graph_gives_its_saved_arrays_back():
    a = np.array([1.0, 2.0])
    y = cr.tensor(a, requires_grad=True) * 3.0  # multiply reads its inputs: `a` is locked
    assert not a.flags.writeable
    del y  # no backward pass: the node's death unlocks
    assert a.flags.writeable


@pytest.mark.parametrize("shape", [(128, 10), (3, 32), (2, 33), (1, 5), (4, 1), (6,), (2, 3, 4)])
def test_short_row_maximum_matches_numpy(shape):
    # softmax and cross-entropy reduce short rows down the columns of a transposed copy (faster in NumPy)
    from chainrule._rules import _row_max

    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    x.flat[0] = np.nan if x.size > 3 else x.flat[0]
    expected = x.max(axis=-1, keepdims=True)
    np.testing.assert_array_equal(_row_max(x), expected)
    assert _row_max(x).shape == expected.shape and _row_max(x).dtype == x.dtype
    z = np.nan_to_num(x)
    e = np.exp(z - z.max(-1, keepdims=True))
    np.testing.assert_allclose(cnp.softmax(z, axis=-1), e / e.sum(-1, keepdims=True), rtol=1e-6)
