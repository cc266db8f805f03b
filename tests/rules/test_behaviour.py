"""Behaviour around the rules: dtypes, non-differentiable values, ties, indexing, assignment, NumPy
dispatch, Tensor methods, error messages."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule
import chainrule.numpy as cnp

from .specs import SPECS, unary

T = chainrule.tensor


def grads(fun, *values):
    """Gradients of sum(fun(*tensors)) with respect to each input."""
    tensors = [T(v, requires_grad=True) for v in values]
    out = fun(*tensors)
    cnp.sum(out).backward()
    return [t.grad for t in tensors]


# ---- dtypes ------------------------------------------------------------------------------------------
UNARY_SPECS = [s for s in SPECS if s.cases == unary("x").cases and s.call is None]
BINARY_NAMES = ["add", "subtract", "multiply", "divide", "power", "maximum", "minimum", "fmax", "fmin", "arctan2",
                "hypot", "logaddexp", "logaddexp2", "mod", "fmod", "remainder", "true_divide"]


@pytest.mark.parametrize("spec", UNARY_SPECS, ids=lambda s: s.name)
def test_float32_in_float32_out_unary(spec, rng):
    from .specs import draw
    from .test_specs import resolve

    if spec.name.startswith("scipy."):
        pytest.importorskip("scipy")
    x = T(draw(spec.domain_of(0), rng, (2, 3)).astype(np.float32), requires_grad=True)
    y = resolve(spec.name)(x)
    assert y.dtype == np.float32
    cnp.sum(y).backward()
    assert x.grad.dtype == np.float32 and x.grad.shape == x.shape


@pytest.mark.parametrize("name", BINARY_NAMES)
def test_float32_in_float32_out_binary(name, rng):
    x = T(rng.uniform(2.2, 2.9, (2, 3)).astype(np.float32), requires_grad=True)
    y = T(rng.uniform(1.0, 1.05, (3,)).astype(np.float32), requires_grad=True)
    out = getattr(cnp, name)(x, y)
    assert out.dtype == np.float32
    cnp.sum(out).backward()
    assert x.grad.dtype == np.float32 and y.grad.dtype == np.float32 and y.grad.shape == (3,)


def test_float32_through_matmul_and_reductions(rng):
    w = T(rng.standard_normal((3, 4)).astype(np.float32), requires_grad=True)
    x = rng.standard_normal((2, 3)).astype(np.float32)
    loss = cnp.mean(cnp.tanh(x @ w) ** 2) + cnp.linalg.norm(w) + cnp.var(w, ddof=1)
    assert loss.dtype == np.float32
    loss.backward()
    assert w.grad.dtype == np.float32


@pytest.mark.parametrize("dtype", [np.int64, np.int32, bool])
def test_integer_and_bool_tensors_cannot_require_grad(dtype):
    with pytest.raises(TypeError, match="floating-point"):
        T(np.ones(3, dtype=dtype), requires_grad=True)
    with pytest.raises(TypeError, match="floating-point"):
        T(np.ones(3, dtype=dtype)).requires_grad_()


@pytest.mark.parametrize("op", ["equal", "not_equal", "less", "less_equal", "greater", "greater_equal"])
def test_comparisons_give_bool_tensors_without_graph(op):
    x = T([1.0, 2.0, 3.0], requires_grad=True)
    out = getattr(cnp, op)(x, 2.0)
    assert isinstance(out, chainrule.Tensor) and out.dtype == bool and not out.requires_grad
    for result in (x < 2, x <= 2, x > 2, x >= 2, x == 2, x != 2):
        assert result.dtype == bool and not result.requires_grad


@pytest.mark.parametrize("name", ["sign", "floor", "ceil", "trunc", "rint", "round", "around", "fix"])
def test_rounding_has_zero_gradient(name):
    x = T([-1.7, -0.2, 0.4, 2.5], requires_grad=True)
    y = x * 1.0 + getattr(cnp, name)(x)  # only the first term carries a gradient
    cnp.sum(y).backward()
    np.testing.assert_array_equal(x.grad, np.ones(4))
    assert not getattr(cnp, name)(x).requires_grad


def test_every_differentiable_primitive_has_formulas():
    from chainrule._registry import load

    missing = [name for name, entry in load().items()
               if entry.primitive.differentiable and not any(entry.primitive.formulas)]
    assert missing == []


# ---- ties ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["max", "min", "amax", "amin"])
def test_extremum_ties_split_the_gradient_evenly(name):
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    if name in ("min", "amin"):
        x = -x
    (g,) = grads(lambda t: getattr(cnp, name)(t), x)
    np.testing.assert_allclose(g, [[0, 0.5, 0.5], [0, 0, 0]])
    (g,) = grads(lambda t: getattr(cnp, name)(t, axis=1), x)
    np.testing.assert_allclose(g, [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])
    (g,) = grads(lambda t: getattr(t, name.lstrip("a"))(), x)
    np.testing.assert_allclose(g, [[0, 0.5, 0.5], [0, 0, 0]])


def test_maximum_minimum_ties_split():
    gx, gy = grads(cnp.maximum, np.array([1.0, 2.0]), np.array([1.0, 3.0]))
    np.testing.assert_allclose(gx, [0.5, 0.0])
    np.testing.assert_allclose(gy, [0.5, 1.0])
    gx, gy = grads(cnp.minimum, np.array([1.0, 2.0]), np.array([1.0, 3.0]))
    np.testing.assert_allclose(gx, [0.5, 1.0])


def test_prod_with_zeros():
    (g,) = grads(cnp.prod, np.array([2.0, 0.0, 3.0]))
    np.testing.assert_allclose(g, [0.0, 6.0, 0.0])
    (g,) = grads(cnp.prod, np.array([2.0, 0.0, 0.0]))
    np.testing.assert_allclose(g, [0.0, 0.0, 0.0])
    assert chainrule.gradcheck(lambda x: cnp.prod(x, axis=1), np.array([[0.0, 2.0, 3.0], [1.0, 0.0, 0.0]]),
                               order=2)
    assert chainrule.gradcheck(lambda x: cnp.cumprod(x, axis=0), np.array([[0.0, 2.0], [1.5, 0.0], [2.0, 3.0]]),
                               order=2)


# ---- indexing and assignment -------------------------------------------------------------------------
INDICES = [
    (slice(1, 3),), (slice(None, None, -1),), (np.array([0, 2, 2, 0]),), ([-1, 0],), (-1,),
    (np.array([True, False, True, False]),), (Ellipsis, 1), (None, slice(1, None), Ellipsis),
    (np.array([[0, 1], [1, 3]]),), (slice(None), np.array([0, 0])), (np.array([0, 1]), np.array([2, 2])),
    (slice(4, 4),), (np.array([], dtype=int),),
]


@pytest.mark.parametrize("index", INDICES, ids=repr)
def test_indexing(index, rng):
    x = rng.standard_normal((4, 3))
    assert chainrule.gradcheck(lambda t: t[index if len(index) > 1 else index[0]], x, order=2)


def test_repeated_indices_accumulate():
    (g,) = grads(lambda t: t[[0, 0, 2, 0]], np.zeros(3))
    np.testing.assert_array_equal(g, [3.0, 0.0, 1.0])
    (g,) = grads(lambda t: cnp.take(t, [1, 1]), np.zeros(3))
    np.testing.assert_array_equal(g, [0.0, 2.0, 0.0])


def test_take_and_take_along_axis(rng):
    x = rng.standard_normal((3, 4))
    idx = np.argsort(x, axis=1)[:, :2]
    assert chainrule.gradcheck(lambda t: cnp.take_along_axis(t, idx, axis=1), x, order=2)
    assert chainrule.gradcheck(lambda t: cnp.take(t, [[0, 5], [11, 5]]), x)
    np.testing.assert_array_equal(cnp.take_along_axis(T(x), T(idx), axis=1).data, np.take_along_axis(x, idx, 1))


def test_setitem_gradient_flows_to_old_value_and_new_value():
    x = T([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    v = T([10.0, 20.0], requires_grad=True)
    y = x * 2
    y[1:3] = v * v
    (y * np.array([1.0, 2.0, 3.0, 4.0])).sum().backward()
    np.testing.assert_allclose(x.grad, [2.0, 0.0, 0.0, 8.0])
    np.testing.assert_allclose(v.grad, [2 * 2 * 10.0, 3 * 2 * 20.0])


def test_setitem_mask_and_broadcast_value():
    x = T(np.arange(6.0).reshape(2, 3), requires_grad=True)
    v = T(5.0, requires_grad=True)
    y = x + 0
    y[y.data > 2] = v
    y.sum().backward()
    np.testing.assert_allclose(x.grad, [[1, 1, 1], [0, 0, 0]])
    np.testing.assert_allclose(v.grad, 3.0)


def test_setitem_into_constant_tensor_with_requires_grad_value():
    buf = T(np.zeros(3))
    v = T(2.0, requires_grad=True)
    buf[1] = v
    (buf * 3).sum().backward()
    np.testing.assert_allclose(v.grad, 3.0)


def test_inplace_add_records_graph():
    x = T([1.0, 2.0], requires_grad=True)
    v = T([3.0, 4.0], requires_grad=True)
    y = x * 1
    y += v * x
    y.sum().backward()
    np.testing.assert_allclose(x.grad, [1 + 3.0, 1 + 4.0])
    np.testing.assert_allclose(v.grad, [1.0, 2.0])
    with pytest.raises(RuntimeError, match="leaf"):
        x += 1


# ---- NumPy dispatch ----------------------------------------------------------------------------------
def test_numpy_calls_on_tensors_build_the_graph(rng):
    W = T(rng.standard_normal((3, 4)), requires_grad=True)
    b = T(rng.standard_normal(3), requires_grad=True)
    x = rng.standard_normal(4)
    loss = np.tanh(W @ x + b).sum()
    assert isinstance(loss, chainrule.Tensor) and loss.requires_grad
    loss.backward()
    h = np.tanh(W.data @ x + b.data)
    np.testing.assert_allclose(b.grad, 1 - h ** 2)
    np.testing.assert_allclose(W.grad, np.outer(1 - h ** 2, x))


def test_numpy_functions_dispatch(rng):
    a = rng.standard_normal((3, 3)) + 3 * np.eye(3)
    t = T(a, requires_grad=True)
    inv = np.linalg.inv(t)
    assert isinstance(inv, chainrule.Tensor) and inv.requires_grad
    np.sum(inv).backward()
    ai = np.linalg.inv(a)
    np.testing.assert_allclose(t.grad, -(ai.T @ np.ones((3, 3)) @ ai.T))
    for fun in (np.mean, np.std, np.max, np.exp, np.sort, np.cumsum, np.median, np.linalg.det, np.trace,
                lambda z: np.einsum("ij,jk->", z, z), lambda z: np.concatenate([z, z]), np.linalg.norm):
        out = fun(T(a, requires_grad=True))
        assert isinstance(out, chainrule.Tensor) and out.requires_grad, fun


def test_unsupported_numpy_function_names_itself():
    t = T([1.0, 2.0, 3.0], requires_grad=True)
    with pytest.raises(TypeError, match="numpy.unwrap"):
        np.unwrap(t)
    with pytest.raises(TypeError, match="gradient"):
        np.asarray(t)
    with pytest.raises(TypeError, match="where="):
        np.var(t, where=np.array([True, False, True]))
    with pytest.raises(TypeError, match="where="):
        cnp.prod(t, where=np.array([True, False, True]))
    with pytest.raises(TypeError, match="initial="):
        np.max(t, initial=5.0)
    # without requires_grad the values are computed and returned as a Tensor without graph
    out = np.fft.rfft(T([1.0, 2.0, 3.0]))
    assert not getattr(out, "requires_grad", False)


def test_sum_and_mean_with_where_and_initial(rng):
    x = rng.standard_normal((2, 3))
    mask = np.array([[True, False, True], [False, True, True]])
    t = T(x, requires_grad=True)
    np.testing.assert_allclose(np.sum(t, where=mask).data, np.sum(x, where=mask))
    np.testing.assert_allclose(np.sum(t, axis=1, initial=2.0).data, np.sum(x, axis=1, initial=2.0))
    np.testing.assert_allclose(np.mean(t, axis=0, where=mask).data, np.mean(x, axis=0, where=mask))
    (g,) = grads(lambda t: np.mean(t, axis=1, where=mask), x)
    np.testing.assert_allclose(g, mask / mask.sum(axis=1, keepdims=True))


def test_lists_mixing_tensors_and_numbers(rng):
    """As autograd's namespace does: ``import chainrule.numpy as np; np.mean([t, 1.0])``. (NumPy's own
    functions convert a list before any protocol is consulted, so there the error names chainrule.numpy.)"""
    t = T(2.0, requires_grad=True)
    u = T(rng.standard_normal(3), requires_grad=True)
    out = cnp.mean([t, 1.0])
    assert np.isclose(out.data, 1.5)
    out.backward()
    assert t.grad == 0.5
    for reduce in (cnp.sum, cnp.max, cnp.prod, cnp.std, cnp.var, cnp.min, cnp.cumsum, cnp.median):
        value = reduce([t * 1.0, 3.0, t * t])
        np.testing.assert_allclose(value.data, getattr(np, reduce.__name__)([2.0, 3.0, 4.0]))
        assert value.requires_grad
    total = cnp.sum([u, np.ones(3), [1.0, 2.0, 3.0]], axis=0)
    np.testing.assert_allclose(total.data, u.data + np.array([2.0, 3.0, 4.0]))
    for product in (cnp.dot, cnp.matmul, cnp.inner, cnp.outer, cnp.vdot):
        value = product([t, 1.0], [1.0, t])
        np.testing.assert_allclose(value.data, getattr(np, product.__name__)([2.0, 1.0], [1.0, 2.0]))
    joined = cnp.concatenate([[t], [1.0, 5.0]])
    np.testing.assert_allclose(joined.data, [2.0, 1.0, 5.0])
    assert joined.requires_grad
    with pytest.raises(TypeError, match="chainrule.numpy"):
        np.mean([t, 1.0])


def test_lists_of_tensors(rng):
    t1 = T(rng.standard_normal(3), requires_grad=True)
    t2 = T(rng.standard_normal(3), requires_grad=True)
    for out in (cnp.stack([t1, t2]), cnp.array([[t1, t2]]), np.concatenate([t1, t2]), np.stack([t1, t2]),
                np.vstack([t1, t2]), cnp.array([t1, 1.0 * t2])):
        assert isinstance(out, chainrule.Tensor) and out.requires_grad
    assert cnp.array([[t1, t2]]).shape == (1, 2, 3)
    g1, g2 = grads(lambda a, b: cnp.array([[a, 2 * b]]), t1.data, t2.data)
    np.testing.assert_allclose(g1, np.ones(3))
    np.testing.assert_allclose(g2, 2 * np.ones(3))
    s = cnp.array([t1[0], t1[1], 5.0])  # scalars from tensors mixed with constants
    assert s.shape == (3,) and s.requires_grad


# ---- methods equal functions -------------------------------------------------------------------------
METHODS = [
    (lambda x: x.sum(0), lambda x: cnp.sum(x, axis=0)),
    (lambda x: x.T.dot(x[:, :2]), lambda x: cnp.dot(cnp.transpose(x), x[:, :2])),
    (lambda x: x.mean(), lambda x: cnp.mean(x)),
    (lambda x: x.max(axis=1), lambda x: cnp.max(x, axis=1)),
    (lambda x: x.min(), lambda x: cnp.min(x)),
    (lambda x: x.reshape(6, 2), lambda x: cnp.reshape(x, (6, 2))),
    (lambda x: x.reshape((2, -1)), lambda x: cnp.reshape(x, (2, -1))),
    (lambda x: x.transpose(), lambda x: cnp.transpose(x)),
    (lambda x: x.transpose(1, 0), lambda x: cnp.transpose(x, (1, 0))),
    (lambda x: x.astype(np.float32), lambda x: cnp.astype(x, np.float32)),
    (lambda x: x.clip(-0.5, 0.5), lambda x: cnp.clip(x, -0.5, 0.5)),
    (lambda x: x.var(ddof=1), lambda x: cnp.var(x, ddof=1)),
    (lambda x: x.std(), lambda x: cnp.std(x)),
    (lambda x: x.std(axis=0, ddof=1), lambda x: cnp.std(x, axis=0, ddof=1)),
    (lambda x: x.prod(axis=1), lambda x: cnp.prod(x, axis=1)),
    (lambda x: x.cumsum(), lambda x: cnp.cumsum(x)),
    (lambda x: x.cumsum(axis=1), lambda x: cnp.cumsum(x, axis=1)),
    (lambda x: x.cumprod(axis=0), lambda x: cnp.cumprod(x, axis=0)),
    (lambda x: x.flatten(), lambda x: cnp.ravel(x)),
    (lambda x: x.swapaxes(0, 1), lambda x: cnp.swapaxes(x, 0, 1)),
    (lambda x: x.diagonal(), lambda x: cnp.diagonal(x)),
    (lambda x: x.trace(), lambda x: cnp.trace(x)),
    (lambda x: x.repeat(2, axis=0), lambda x: cnp.repeat(x, 2, axis=0)),
    (lambda x: x.take([0, 3]), lambda x: cnp.take(x, [0, 3])),
    (lambda x: x.mT, lambda x: cnp.matrix_transpose(x)),
    (lambda x: x.exp(), lambda x: cnp.exp(x)),
    (lambda x: abs(x), lambda x: cnp.abs(x)),
    (lambda x: x ** 2, lambda x: cnp.power(x, 2)),
    (lambda x: 2 ** x, lambda x: cnp.power(2.0, x)),
    (lambda x: x @ x.T, lambda x: cnp.matmul(x, cnp.transpose(x))),
    (lambda x: 1 / x, lambda x: cnp.divide(1.0, x)),
    (lambda x: x % 0.7, lambda x: cnp.mod(x, 0.7)),
]


@pytest.mark.parametrize(("method", "function"), METHODS, ids=[str(i) for i in range(len(METHODS))])
def test_methods_match_functions(method, function, rng):
    x = rng.uniform(0.3, 2.0, (3, 4)) * rng.choice([-1, 1], (3, 4))
    (g_method,) = grads(method, x)
    (g_function,) = grads(function, x)
    np.testing.assert_allclose(g_method, g_function)
    np.testing.assert_allclose(method(T(x)).data, function(T(x)).data)


# ---- error messages ----------------------------------------------------------------------------------
def test_matmul_shape_mismatch_names_both_shapes():
    a, b = T(np.ones((2, 3)), requires_grad=True), T(np.ones((4, 5)))
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4, 5\)"):
        a @ b
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4, 5\)"):
        cnp.matmul(a, b)
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4, 5\)"):
        np.matmul(a, b)
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4, 5\)"):
        cnp.dot(a, b)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.complex128])
def test_products_along_an_inner_dimension_of_one(dtype, rng, monkeypatch):
    """Real outer products (a batch of one, a one-output regression head) go through np.dot, which NumPy runs
    many times faster than matmul there; values and gradients are exactly matmul's, and second order agrees."""
    def sample(*shape):
        x = rng.standard_normal(shape)
        return (x + 1j * rng.standard_normal(shape) if dtype is np.complex128 else x).astype(dtype)

    x, w1, w2 = sample(1, 6), sample(6, 4), sample(4, 1)  # one example through two layers, one output
    u, v = sample(5, 1), sample(1, 3)  # a rank-one model

    def loss(x, w1, w2, u, v):
        head = cnp.tanh(x @ w1) @ w2
        return cnp.real(head * cnp.conj(head)).sum() + cnp.real(cnp.sin(u @ v) ** 2).sum()

    def gradients():
        ts = [T(a, requires_grad=True) for a in (x, w1, w2, u, v)]
        loss(*ts).backward()
        first = [t.grad for t in ts]
        if dtype is np.complex128:
            return first, None

        def penalty(*args):  # a gradient penalty: second order through both kinds of product
            return (chainrule.grad(loss, argnums=1)(*args) ** 2).sum()

        return first, chainrule.grad(penalty, argnums=(0, 1, 2, 3, 4))(x, w1, w2, u, v)

    calls = []
    real_dot = np.dot
    monkeypatch.setattr(np, "dot", lambda a, b: calls.append((a.shape, b.shape)) or real_dot(a, b))
    routed = gradients()
    if dtype is np.complex128:  # complex products stay matmul's (see outer_product)
        assert not calls
    else:
        assert ((5, 1), (1, 3)) in calls and any(a[-1] == 1 for a, _ in calls[1:])  # forward and backward both
    monkeypatch.setattr(chainrule._rules, "outer_product", lambda a, b: False)  # matmul everywhere
    plain = gradients()
    for a, b in zip(routed[0], plain[0], strict=True):
        assert a.dtype == dtype and np.array_equal(a, b)
    if routed[1] is not None:
        for a, b in zip(routed[1], plain[1], strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-12 if dtype is np.float64 else 1e-5)


def test_complex_eigenvectors_have_no_gradient():
    rotation = T(np.array([[0.0, -1.0], [1.0, 0.0]]), requires_grad=True)
    w, v = cnp.linalg.eig(rotation)
    assert np.iscomplexobj(w.data)
    with pytest.raises(TypeError, match="complex"):
        cnp.sum(cnp.real(v)).backward()
    cnp.sum(cnp.real(w)).backward()  # the eigenvalues are differentiable (tests/rules/test_complex.py)
    np.testing.assert_allclose(rotation.grad, np.eye(2), atol=1e-12)  # Σ Re λ = trace


def test_quantile_matches_numpy(rng):
    x = rng.standard_normal((4, 5))
    for q in (0.0, 0.25, 0.5, 1.0, [0.1, 0.9]):
        for axis in (None, 0, 1, (0, 1)):
            np.testing.assert_allclose(cnp.quantile(T(x), q, axis=axis).data, np.quantile(x, q, axis=axis))
    np.testing.assert_allclose(cnp.median(T(x), axis=1, keepdims=True).data, np.median(x, axis=1, keepdims=True))
    np.testing.assert_allclose(cnp.percentile(T(x), [20, 80], axis=0, keepdims=True).data,
                               np.percentile(x, [20, 80], axis=0, keepdims=True))


def test_average_takes_weights_as_numpy_does(rng):
    """Weights as a list, a tuple, an array, a Tensor or a list of Tensors; one axis or several (in any order);
    ``returned=`` and ``keepdims=``: NumPy's values, types of error included."""
    x = rng.standard_normal((3, 4, 2))
    w = rng.uniform(0.5, 2.0, (3, 4, 2))
    for axis, weights in [(None, w), (1, w[0, :, 0]), (-1, w[0, 0]), ((0, 2), w[:, 0]), ((2, 0), w[:, 0].T)]:
        for given in (weights.tolist(), tuple(weights.tolist()), weights, T(weights), list(T(weights))):
            for returned in (False, True):
                for keepdims in (False, True):
                    ours = cnp.average(T(x), axis=axis, weights=given, returned=returned, keepdims=keepdims)
                    expected = np.average(x, axis=axis, weights=weights, returned=returned, keepdims=keepdims)
                    for o, e in zip(ours if returned else [ours], expected if returned else [expected], strict=True):
                        assert np.shape(o) == np.shape(e)
                        np.testing.assert_allclose(o.data if isinstance(o, chainrule.Tensor) else o, e, rtol=1e-12)
    np.testing.assert_allclose(cnp.average([1, 2, 4], weights=[1, 1, 2]), np.average([1, 2, 4], weights=[1, 1, 2]))
    for axis in (None, 1, (0, 2)):
        ours, total = cnp.average(T(x), axis=axis, returned=True)
        expected, expected_total = np.average(x, axis=axis, returned=True)
        np.testing.assert_allclose(ours.data, expected)
        assert np.shape(total) == np.shape(expected_total) and np.all(total == expected_total)
    for weights, axis, error in [(w[0, 0], None, TypeError), (w[0, 0], 1, ValueError), (w[:, 0], (2, 0), ValueError),
                                 (np.zeros(4), 1, ZeroDivisionError)]:
        with pytest.raises(error):
            np.average(x, axis=axis, weights=weights)
        with pytest.raises(error, match=r"chainrule\.average"):
            cnp.average(T(x), axis=axis, weights=weights)


def test_average_gradients_match_finite_differences(rng):
    x, w = rng.standard_normal((3, 4, 2)), rng.uniform(0.5, 2.0, (2, 3))
    assert chainrule.gradcheck(lambda x: cnp.average(x, axis=1, weights=[1, 1, 2, 3]), x)  # list weights
    assert chainrule.gradcheck(lambda x: cnp.average(x, weights=(1, 2, 3), axis=0, keepdims=True), x)
    assert chainrule.gradcheck(lambda x, w: cnp.average(x, axis=(2, 0), weights=w), x, w, order=2)

    def product(x, w):  # the returned total carries the weights' gradient too
        average, total = cnp.average(x, axis=(2, 0), weights=w, returned=True)
        return average * total

    assert chainrule.gradcheck(product, x, w)
    assert chainrule.gradcheck(lambda x, w0, w1: cnp.average(x[0, 0], weights=[w0, w1]), x, np.array(0.7),
                               np.array(1.3))  # a list of Tensors


def test_bincount_matches_numpy_and_its_weights_carry_the_gradient(rng):
    x = np.array([3, 0, 3, 1, 0, 3, 6])
    w = rng.standard_normal(7)
    for minlength in (0, 4, 10):
        np.testing.assert_array_equal(cnp.bincount(x, minlength=minlength), np.bincount(x, minlength=minlength))
        counts = cnp.bincount(T(x), minlength=minlength)
        assert isinstance(counts, chainrule.Tensor) and not counts.requires_grad
        for weights in (w, w.tolist(), T(w), T(w, requires_grad=True), list(T(w))):
            for xs in (x, x.tolist(), T(x)):
                ours = cnp.bincount(xs, weights=weights, minlength=minlength)
                np.testing.assert_array_equal(ours.data if isinstance(ours, chainrule.Tensor) else ours,
                                              np.bincount(x, weights=w, minlength=minlength))
        y = np.bincount(T(x), weights=T(w, requires_grad=True), minlength=minlength)  # NumPy's own name dispatches
        assert isinstance(y, chainrule.Tensor) and y.requires_grad
        for order in (1, 2):
            assert chainrule.gradcheck(lambda w, m=minlength: cnp.bincount(x, weights=w, minlength=m), w, order=order)
    (g,) = grads(lambda w: cnp.bincount(x, weights=w) * np.arange(7.0), w)
    np.testing.assert_array_equal(g, x)  # ḡ[x]
    single = T(w.astype(np.float32), requires_grad=True)
    out = cnp.bincount(x, weights=single)
    assert out.dtype == np.bincount(x, weights=w.astype(np.float32)).dtype  # NumPy's float64
    cnp.sum(out).backward()
    assert single.grad.dtype == np.float32
    with pytest.raises(ValueError):
        cnp.bincount(np.array([1, -1]), weights=T([1.0, 2.0], requires_grad=True))


def test_bincount_with_weights_compiles(rng):
    x, w = np.array([2, 0, 2, 5]), rng.standard_normal(4)

    def loss(w, x):
        return cnp.sum(cnp.bincount(x, weights=w, minlength=7) ** 2)

    compiled = chainrule.compile(chainrule.value_and_grad(loss))
    for xs in (x, np.array([1, 1, 0, 4])):  # a new x is used, not the traced one
        value, grad = compiled(w, xs)
        expected_value, expected_grad = chainrule.value_and_grad(loss)(w, xs)
        np.testing.assert_allclose(value, expected_value)
        np.testing.assert_allclose(grad, expected_grad)
        np.testing.assert_allclose(grad, 2 * np.bincount(xs, weights=w, minlength=7)[xs])


def test_nan_functions_ignore_nans():
    x = np.array([[1.0, np.nan, 3.0], [np.nan, 2.0, 4.0]])
    for name in ("nansum", "nanmean", "nanmax", "nanmin"):
        (g,) = grads(lambda t, name=name: getattr(cnp, name)(t, axis=1), x)
        assert np.isfinite(g).all() and g[0, 1] == 0 and g[1, 0] == 0
        np.testing.assert_allclose(getattr(cnp, name)(T(x), axis=1).data, getattr(np, name)(x, axis=1))


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # NumPy's own row_stack and 2-vector cross
def test_forward_values_match_numpy(rng):
    """Every spec'd function gives NumPy's values (where NumPy has it under the same name)."""
    from .specs import draw
    from .test_specs import resolve

    for spec in SPECS:
        reference = np
        for part in spec.name.split("."):
            reference = getattr(reference, part, None)
        if reference is None or spec.name in ("linalg.eig", "linalg.svd", "linalg.eigh"):
            continue
        for case in spec.cases:
            arrays = [draw(spec.domain_of(i), rng, s) for i, s in enumerate(case.shapes)]
            ours = chainrule.tree_flatten(spec.run(resolve(spec.name), *[T(a) for a in arrays], **case.kwargs))[0]
            theirs = chainrule.tree_flatten(spec.run(reference, *arrays, **case.kwargs))[0]
            assert len(ours) == len(theirs), spec.name
            for o, t in zip(ours, theirs, strict=True):
                np.testing.assert_allclose(getattr(o, "data", o), t, rtol=1e-10, atol=1e-12, err_msg=spec.name)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_softmax_cross_entropys_gradient_is_the_same_on_arrays_and_on_tensors(dtype):
    # The rule has a short path for NumPy arrays (in place) beside the primitives' path (Tensors: create_graph,
    # compile): the same numbers to the bit, also for a negative label, which both take from the end as the
    # forward does, so the gradient is the forward's (finite differences).
    from chainrule import _rules

    rng = np.random.default_rng(3)
    z = rng.standard_normal((9, 5)).astype(dtype)
    labels = np.array([0, 4, -1, 2, 2, 3, -5, 1, 0])
    g = np.array(0.75, dtype)
    on_arrays = _rules._softmax_cross_entropy_vjp(g, None, z, labels)
    on_tensors = _rules._softmax_cross_entropy_vjp(chainrule.tensor(g), None, chainrule.tensor(z), labels)
    assert on_arrays.dtype == dtype and np.array_equal(on_arrays, on_tensors.data)
    if dtype == np.float64:
        f = lambda v: float(_rules.softmax_cross_entropy(v, labels))  # noqa: E731
        numeric = np.zeros_like(z)
        for index in np.ndindex(z.shape):
            step = np.zeros_like(z)
            step[index] = 1e-6
            numeric[index] = (f(z + step) - f(z - step)) / 2e-6
        np.testing.assert_allclose(on_arrays, 0.75 * numeric, rtol=1e-6, atol=1e-9)
