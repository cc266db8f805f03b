"""The rule table on a second array library: array_api_strict (strict array-API arrays on the CPU).
Gradients through the primitives the array API covers equal NumPy's; functions outside it raise
"not available for array_api_strict"."""

import numpy as np
import pytest

strict = pytest.importorskip("array_api_strict")
import chainrule as cr  # noqa: E402
import chainrule.numpy as cnp  # noqa: E402
from chainrule._namespace import NamespaceError, namespace  # noqa: E402

X = np.array([[0.3, -0.7, 1.2], [0.5, 0.9, -0.4]])
Y = np.array([[1.1, 0.2, -0.6], [0.8, -1.3, 0.7]])
POSITIVE = np.abs(X) + 0.5

UNARY = {
    "exp": cnp.exp, "log": lambda x: cnp.log(x), "tanh": cnp.tanh, "sin": cnp.sin, "cos": cnp.cos,
    "sqrt": cnp.sqrt, "negative": lambda x: -x, "square": lambda x: x * x, "reciprocal": lambda x: 1.0 / x,
    "sum": lambda x: cnp.sum(x, axis=0), "mean": lambda x: cnp.mean(x, axis=1),
    "reshape": lambda x: cnp.reshape(x, (3, 2)), "transpose": lambda x: x.T, "arcsin": lambda x: cnp.arcsin(x / 4),
    "arctan": cnp.arctan, "abs": cnp.abs, "log1p": cnp.log1p, "expm1": cnp.expm1, "sinh": cnp.sinh,
    "cosh": cnp.cosh, "logsumexp": lambda x: cnp.logaddexp(x, 2 * x),
}
BINARY = {
    "add": lambda x, y: x + y, "subtract": lambda x, y: x - y, "multiply": lambda x, y: x * y,
    "divide": lambda x, y: x / y, "matmul": lambda x, y: x @ y.T,
}


def _grads(f, *arrays, to_strict):
    inputs = [cr.tensor(strict.asarray(a) if to_strict else a, requires_grad=True) for a in arrays]
    out = f(*inputs)
    (out * out).sum().backward()
    return out.data, [t.grad for t in inputs]


def _numpy(a):
    return np.asarray(a) if not isinstance(a, np.ndarray) else a


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_gradients_equal_numpys(name):
    f = UNARY[name]
    value, (grad,) = _grads(f, POSITIVE, to_strict=True)
    expected_value, (expected,) = _grads(f, POSITIVE, to_strict=False)
    assert namespace(value) is not np and namespace(grad) is not np  # never converted to NumPy
    np.testing.assert_allclose(_numpy(value), expected_value, rtol=1e-12)
    np.testing.assert_allclose(_numpy(grad), expected, rtol=1e-12)


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_gradients_equal_numpys(name):
    f = BINARY[name]
    value, grads = _grads(f, X, POSITIVE, to_strict=True)
    expected_value, expected = _grads(f, X, POSITIVE, to_strict=False)
    np.testing.assert_allclose(_numpy(value), expected_value, rtol=1e-12)
    for g, e in zip(grads, expected, strict=True):
        assert namespace(g) is not np
        np.testing.assert_allclose(_numpy(g), e, rtol=1e-12)


def test_broadcasting_is_undone_in_the_gradients():
    row = np.array([0.2, -0.4, 0.9])
    for f in (lambda x, r: x * r, lambda x, r: x - r, lambda x, r: (x + r) / (r * r + 1), lambda x, r: cnp.var(x * r)):
        _, grads = _grads(f, POSITIVE, row, to_strict=True)
        _, expected = _grads(f, POSITIVE, row, to_strict=False)
        for g, e in zip(grads, expected, strict=True):
            assert g.shape == e.shape
            np.testing.assert_allclose(_numpy(g), e, rtol=1e-12)


def _loss(x):
    return cnp.sum(cnp.tanh(x) * x + cnp.exp(-x * x))


def test_grad_of_grad_vjp_and_float32_stay_in_the_namespace():
    a = np.array([0.3, -0.5, 1.5])
    second = cr.grad(lambda x: cnp.sum(cr.grad(_loss)(x) ** 2.0))
    got, expected = second(strict.asarray(a)), second(a)
    assert namespace(got) is not np
    np.testing.assert_allclose(_numpy(got), expected, rtol=1e-12)
    value, grad32 = cr.value_and_grad(_loss)(strict.asarray(a, dtype=strict.float32))
    assert grad32.dtype == strict.float32 and isinstance(value, float)
    np.testing.assert_allclose(_numpy(grad32), cr.grad(_loss)(a.astype(np.float32)), rtol=1e-6)
    out, pullback = cr.vjp(cnp.tanh, strict.asarray(a))
    (cotangent,) = pullback(strict.ones_like(out))
    np.testing.assert_allclose(_numpy(cotangent), 1 - np.tanh(a) ** 2, rtol=1e-12)


def test_numpy_names_map_to_the_standards():
    x = strict.asarray([0.1, 0.2])
    assert namespace(x).arcsin is strict.asin and namespace(x).power is strict.pow
    assert namespace(x).tanh is strict.tanh


@pytest.mark.parametrize("f, name", [(lambda t: cnp.einsum("i,i->i", t, t), "einsum"),
                                     (lambda t: cnp.piecewise(t, [t > 1.0], [1.0, 2.0]) * t, "piecewise"),
                                     (lambda t: cnp.reshape(t, (3,), order="F"), "reshape"),
                                     (lambda t: cnp.round(t, 2) * t, "round")])
def test_functions_outside_the_standard_say_so(f, name):
    t = cr.tensor(strict.asarray([0.5, 1.2, 0.8]), requires_grad=True)
    with pytest.raises(NamespaceError, match=rf"{name}.*not available for array_api_strict"):
        cnp.sum(f(t) ** 2.0).backward()


def test_two_libraries_in_one_operation_is_an_error():
    class Other:
        def __array_namespace__(self):
            return np.linalg  # any module that is not NumPy nor array_api_strict

    with pytest.raises(NamespaceError, match="arrays of two libraries in one operation"):
        namespace(strict.asarray([1.0]), Other())


@pytest.mark.parametrize("make", [lambda p: cr.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=0.01),
                                  lambda p: cr.optim.Adam(p, lr=0.1)], ids=["sgd", "adam"])
def test_optimizers_update_parameters_in_their_namespace(make):
    final = []
    for to_strict in (True, False):
        w = cr.tensor(strict.asarray([0.5, -1.2, 0.8]) if to_strict else np.array([0.5, -1.2, 0.8]),
                      requires_grad=True)
        opt = make([w])
        for _ in range(5):
            opt.zero_grad()
            cnp.sum(cnp.tanh(w) * w + w * w).backward()
            opt.step()
        final.append(w.data)
    assert namespace(final[0]) is not np
    np.testing.assert_allclose(_numpy(final[0]), final[1], rtol=1e-12)


def test_model_to_cpu_and_a_clear_error_for_cuda_without_cupy(monkeypatch):
    import sys

    net = cr.nn.mlp([3, 4, 2], rng=0)
    expected = net.state_dict()
    for p in net.parameters():
        p.data = strict.asarray(p.data)
    assert net.to("cpu") is net
    for name, p in net.named_parameters():
        assert type(p.data) is np.ndarray
        np.testing.assert_array_equal(p.data, expected[name])
    monkeypatch.setitem(sys.modules, "cupy", None)  # as if CuPy were not installed
    with pytest.raises(NamespaceError, match="device 'cuda' needs CuPy, which is not installed"):
        net.to("cuda")
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        net.to("tpu")


def test_docstring_examples():
    import doctest

    import chainrule._namespace as module

    result = doctest.testmod(module, extraglobs={"np": np}, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted >= 5


def test_compile_runs_other_libraries_eagerly_with_a_warning():
    f = cr.compile(cr.grad(_loss))
    a = np.array([0.3, -0.5, 1.5])
    with pytest.warns(cr.CompileWarning, match="arrays of array_api_strict"):
        got = f(strict.asarray(a))
    assert namespace(got) is not np
    np.testing.assert_allclose(_numpy(got), f(a), rtol=1e-12)


def test_where_with_a_condition_of_the_library_and_basic_slicing():
    def f(x):
        return cnp.sum(cnp.where(x > 1.0, x * x, 3.0 * x)[1:] * x[:-1])

    a = np.array([0.5, 1.2, 0.8, 2.0])
    got, expected = cr.grad(f)(strict.asarray(a)), cr.grad(f)(a)
    assert namespace(got) is not np
    np.testing.assert_allclose(_numpy(got), expected, rtol=1e-12)


def test_the_documented_example():
    got = cr.grad(lambda x: cnp.sum(cnp.tanh(x) * x))(strict.asarray([0.3, 0.5, 1.5]))
    np.testing.assert_allclose(_numpy(got), [0.5658537, 0.85534102, 1.17620821], rtol=1e-7)


def test_item_and_repr():
    import warnings

    t = cr.tensor(strict.asarray([1.0, 2.0]), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no cross-library dtype comparison
        assert repr(t) == "tensor([1., 2.], dtype=array_api_strict.float64, requires_grad=True)"
    assert (t * 2.0).sum().item() == 6.0 and isinstance((t * 2.0).sum().item(), float)
    with pytest.raises(ValueError, match="item\\(\\) needs an array of one element"):
        t.detach().item()
