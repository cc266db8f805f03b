"""Construction, selection, differences, statistics, convolution and loops: values equal NumPy's (the
gradients are checked by the specs in tests/rules)."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule
import chainrule.numpy as cnp

T = chainrule.tensor


def _same(ours, theirs):
    ours = ours.data if isinstance(ours, chainrule.Tensor) else ours
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)


def test_ranges_with_tensor_endpoints_match_numpy():
    a, b = T(1.0, requires_grad=True), T(np.array([2.0, 5.0]), requires_grad=True)
    _same(cnp.linspace(a, b, 5), np.linspace(1.0, [2.0, 5.0], 5))
    _same(cnp.linspace(a, b, 4, endpoint=False, axis=-1), np.linspace(1.0, [2.0, 5.0], 4, endpoint=False, axis=-1))
    out, step = cnp.linspace(a, 3.0, 5, retstep=True)
    _same(out, np.linspace(1.0, 3.0, 5)) or _same(step, 0.5)
    assert cnp.linspace(a, 3.0, 7).data[-1] == 3.0  # the endpoint exactly
    _same(cnp.logspace(a, 2.0, 4, base=2.0), np.logspace(1.0, 2.0, 4, base=2.0))
    _same(cnp.geomspace(a, 8.0, 4), np.geomspace(1.0, 8.0, 4))
    _same(cnp.geomspace(-a, -8.0, 4), np.geomspace(-1.0, -8.0, 4))
    assert isinstance(cnp.linspace(0, 1, 3), np.ndarray)  # plain in, plain out
    with pytest.raises(ValueError, match="same sign"):
        cnp.geomspace(a, -1.0)


def test_concatenators_and_block(rng):
    t = T(rng.standard_normal(3), requires_grad=True)
    _same(cnp.r_[t, 1.0, 0:2, [7.0, 8.0]], np.r_[t.data, 1.0, 0:2, [7.0, 8.0]])
    _same(cnp.c_[t, t * 2], np.c_[t.data, t.data * 2])
    m = rng.standard_normal((2, 2))
    blocks = [[m, np.ones((2, 1))], [np.zeros((1, 3))]]
    _same(cnp.block([[T(m), blocks[0][1]], blocks[1]]), np.block(blocks))
    cnp.sum(cnp.r_[t, t] * 2.0).backward()
    _same(t.grad, np.full(3, 4.0))
    with pytest.raises(ValueError, match="string directives"):
        cnp.r_["0,2", t]


def test_selection_and_indexing_match_numpy(rng):
    x = rng.standard_normal(6)
    t = T(x, requires_grad=True)
    _same(cnp.select([t > 0.5, t < -0.5], [t * 2, t * t], 9.0), np.select([x > 0.5, x < -0.5], [x * 2, x * x], 9.0))
    funcs = [lambda v: v * v, lambda v: np.sin(v), 0.25]
    _same(cnp.piecewise(t, [x < -0.5, x > 0.5], funcs), np.piecewise(x, [x < -0.5, x > 0.5], funcs))
    _same(cnp.insert(t, [1, 3], [10.0, 20.0]), np.insert(x, [1, 3], [10.0, 20.0]))
    m = rng.standard_normal((2, 3))
    _same(cnp.insert(T(m), 1, [5.0, 6.0], axis=1), np.insert(m, 1, [5.0, 6.0], axis=1))
    _same(cnp.delete(T(m), [0, 2], axis=1), np.delete(m, [0, 2], axis=1))
    _same(cnp.delete(t, slice(0, 4, 2)), np.delete(x, slice(0, 4, 2)))
    target, expected = T(m) * 1.0, m.copy()
    cnp.put_along_axis(target, np.array([[0], [2]]), 7.0, axis=1)
    np.put_along_axis(expected, np.array([[0], [2]]), 7.0, axis=1)
    _same(target, expected)


def test_differences_integrals_and_interpolation_match_numpy(rng):
    x = rng.standard_normal((4, 5))
    t = T(x, requires_grad=True)
    _same(cnp.ediff1d(t, to_begin=[1.0], to_end=2.0), np.ediff1d(x, to_begin=[1.0], to_end=2.0))
    coordinates = (np.array([0.0, 0.3, 1.0, 1.2]),)
    for spacing, kw in [((), {}), ((0.5,), {}), ((), {"edge_order": 2}), (coordinates, {"axis": 0}),
                        (coordinates, {"axis": 0, "edge_order": 2}), ((2.0, 0.5), {})]:
        ours, theirs = cnp.gradient(t, *spacing, **kw), np.gradient(x, *spacing, **kw)
        for o, th in zip(ours if isinstance(ours, tuple) else [ours], theirs if isinstance(theirs, tuple) else [theirs],
                         strict=True):
            _same(o, th)
    _same(cnp.trapezoid(t, axis=0), np.trapezoid(x, axis=0))
    grid = np.array([0.0, 1.0, 1.5, 3.0, 3.1])
    _same(cnp.trapezoid(t, x=grid), np.trapezoid(x, x=grid))
    knots, values = np.array([-1.0, 0.0, 0.5, 2.0]), np.array([1.0, -1.0, 3.0, 0.0])
    points = np.array([-2.0, -1.0, -0.3, 0.5, 1.7, 2.0, 2.5])
    _same(cnp.interp(T(points), knots, T(values)), np.interp(points, knots, values))
    _same(cnp.interp(T(points), knots, values, left=-9.0, right=9.0), np.interp(points, knots, values, -9.0, 9.0))


def test_statistics_and_polynomials_match_numpy(rng):
    x, y = rng.standard_normal((3, 6)), rng.standard_normal(6)
    w = rng.uniform(0.5, 2.0, 6)
    for kw in ({}, {"bias": True}, {"ddof": 2}, {"aweights": w}, {"fweights": np.arange(1, 7)},
               {"aweights": w, "fweights": np.arange(1, 7), "ddof": 1}):
        _same(cnp.cov(T(x), **kw), np.cov(x, **kw))
    _same(cnp.cov(T(x.T), rowvar=False), np.cov(x.T, rowvar=False))
    _same(cnp.cov(T(x[0]), y), np.cov(x[0], y))
    _same(cnp.corrcoef(T(x)), np.corrcoef(x))
    _same(cnp.vander(T(y[:4]), 3, increasing=True), np.vander(y[:4], 3, increasing=True))
    _same(cnp.polyval(T(y[:4]), T(x)), np.polyval(y[:4], x))
    for function in ("heaviside", "copysign", "float_power"):
        a, b = np.array([-1.5, 0.0, 2.0, 0.0]), np.array([0.5, 0.3, -1.0, -2.0])
        a, b = (np.abs(a) + 0.5, b) if function == "float_power" else (a, b)
        _same(getattr(cnp, function)(T(a), T(b)), getattr(np, function)(a, b))
        dispatched = getattr(np, function)(T(a, requires_grad=True), b)  # NumPy's ufunc on a Tensor
        assert isinstance(dispatched, chainrule.Tensor) and dispatched.requires_grad == (function != "heaviside")


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
def test_convolve_and_correlate_match_numpy_for_every_length_pair(mode, rng):
    for na in (1, 2, 5, 6):
        for nv in (1, 3, 4, 7):
            a, v = rng.standard_normal(na), rng.standard_normal(nv)
            _same(cnp.convolve(T(a), v, mode), np.convolve(a, v, mode))
            _same(cnp.correlate(a, T(v), mode), np.correlate(a, v, mode))


def test_loops_by_composition(rng):
    x = rng.standard_normal((3, 4))
    f = lambda v: cnp.sum(v * v) * v[0]  # noqa: E731
    _same(cnp.apply_along_axis(f, 1, T(x)), np.apply_along_axis(lambda v: np.sum(v * v) * v[0], 1, x))
    _same(cnp.apply_along_axis(lambda v: v * 2, 0, T(x)), x * 2)
    assert np.apply_along_axis(f, 1, T(x, requires_grad=True)).requires_grad  # dispatched from NumPy's own
    square_or_not = cnp.vectorize(lambda v: v * v if v > 0 else -v)
    _same(square_or_not(T(x)), np.where(x > 0, x * x, -x))
    assert chainrule.gradcheck(lambda x: cnp.sum(square_or_not(x) * x), x)


def test_einsum_sublist_form(rng):
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((3, 4))
    _same(cnp.einsum(T(a), [0, 1], T(b), [1, 2], [0, 2]), a @ b)
    _same(cnp.einsum(T(a), [0, 1], T(b), [1, 2]), np.einsum(a, [0, 1], b, [1, 2]))
    _same(cnp.einsum(T(a), [Ellipsis, 1], [Ellipsis]), a.sum(axis=1))
    assert np.einsum(T(a, requires_grad=True), [0, 1], b, [1, 2]).requires_grad


def test_creation_functions_return_plain_arrays():
    for name, args in [("zeros", (3,)), ("ones", ((2, 2),)), ("eye", (3,)), ("full", (2, 1.5)), ("arange", (4,)),
                       ("identity", (2,)), ("empty", (2,)), ("tri", (3,)), ("indices", ((2, 2),)),
                       ("fromfunction", (lambda i, j: i + j, (2, 2))), ("diagflat", ([1.0, 2.0],))]:
        out = getattr(cnp, name)(*args)
        assert type(out) is np.ndarray, name
        np.testing.assert_array_equal(out if name != "empty" else out.shape, getattr(np, name)(*args)
                                      if name != "empty" else (2,))
    assert cnp.mgrid[0:2, 0:3].shape == (2, 2, 3) and cnp.finfo(np.float32).eps == np.finfo(np.float32).eps
    assert cnp.unwrap is np.unwrap  # any other NumPy name is NumPy's own ...
    with pytest.raises(TypeError, match="no derivative rule for numpy.unwrap"):  # ... and says so on Tensors
        cnp.unwrap(T([0.0, 1.0], requires_grad=True))
    with pytest.raises(AttributeError, match="no attribute 'not_a_numpy_name'"):
        cnp.not_a_numpy_name  # noqa: B018
