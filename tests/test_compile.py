"""chainrule.compile: replays equal eager mode, shapes re-trace, and what cannot be traced runs eagerly."""

import re
import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
import chainrule.numpy as cnp
from chainrule import _rules


def mlp_loss(weights, biases, x, onehot):
    h = x
    for layer, (w, b) in enumerate(zip(weights, biases, strict=True)):
        z = h @ w + b
        h = cnp.sigmoid(z) if layer < len(weights) - 1 else z
    return -(cnp.log_softmax(h, axis=1) * onehot).sum() / x.shape[0]


def sgd_step(weights, biases, x, onehot, lr):
    loss, (gw, gb) = cr.value_and_grad(mlp_loss, argnums=(0, 1))(weights, biases, x, onehot)
    return (loss, [w - lr * g for w, g in zip(weights, gw, strict=True)],
            [b - lr * g for b, g in zip(biases, gb, strict=True)])


def problem(rng, batch=16, sizes=(12, 8, 8, 4), dtype=np.float32):
    pairs = zip(sizes[:-1], sizes[1:], strict=True)
    weights = [(rng.standard_normal((m, n)) / np.sqrt(m)).astype(dtype) for m, n in pairs]
    biases = [(0.1 * rng.standard_normal(n)).astype(dtype) for n in sizes[1:]]
    x = rng.standard_normal((batch, sizes[0])).astype(dtype)
    onehot = np.eye(sizes[-1], dtype=dtype)[rng.integers(0, sizes[-1], batch)]
    return weights, biases, x, onehot


def assert_trees_close(a, b, rtol=1e-5, atol=1e-6):
    flat_a, spec_a = cr.tree_flatten(a)
    flat_b, spec_b = cr.tree_flatten(b)
    assert repr(spec_a) == repr(spec_b)
    for u, v in zip(flat_a, flat_b, strict=True):
        np.testing.assert_allclose(np.asarray(u), np.asarray(v), rtol=rtol, atol=atol)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def test_value_and_grad_replay_equals_eager(rng):
    eager = cr.value_and_grad(mlp_loss, argnums=(0, 1))
    compiled = cr.compile(eager)
    weights, biases, x, onehot = problem(rng)
    with warnings.catch_warnings():
        warnings.simplefilter("error", cr.CompileWarning)
        for _ in range(5):  # trace, two checked replays, then trusted replays
            x = rng.standard_normal(x.shape).astype(np.float32)
            got, want = compiled(weights, biases, x, onehot), eager(weights, biases, x, onehot)
            assert isinstance(got[0], float)
            assert_trees_close(got, want)


def test_training_step_replays_many_steps_like_eager(rng):
    compiled = cr.compile(sgd_step)
    weights, biases, x, onehot = problem(rng)
    state_c, state_e = (weights, biases), (weights, biases)
    for _ in range(6):
        loss_c, *state_c = compiled(*state_c, x, onehot, 0.5)
        loss_e, *state_e = sgd_step(*state_e, x, onehot, 0.5)
        assert loss_c == pytest.approx(loss_e, rel=1e-5)
        assert_trees_close(state_c, state_e)
    assert loss_c < compiled(weights, biases, x, onehot, 0.5)[0]  # it trains


def test_float64_and_hvp_replay(rng):
    weights, biases, x, onehot = problem(rng, dtype=np.float64)
    tangent = ([rng.standard_normal(w.shape) for w in weights], [rng.standard_normal(b.shape) for b in biases])

    def hvp(ws, bs, vw, vb):
        return cr.hvp(lambda p: mlp_loss(p[0], p[1], x, onehot), (ws, bs), (vw, vb))

    compiled = cr.compile(hvp)
    for _ in range(3):
        assert_trees_close(compiled(weights, biases, *tangent), hvp(weights, biases, *tangent), rtol=1e-9, atol=1e-12)
        tangent = ([2 * t for t in tangent[0]], tangent[1])


def test_outputs_are_fresh_arrays_not_reused_buffers(rng):
    f = cr.compile(cr.grad(lambda x: (cnp.tanh(x * 2.0) * x).sum()))
    inputs = [rng.standard_normal(7) for _ in range(4)]
    results = [f(x) for x in inputs]
    for x, r in zip(inputs, results, strict=True):
        np.testing.assert_allclose(r, cr.grad(lambda x: (cnp.tanh(x * 2.0) * x).sum())(x))
    assert len({id(r) for r in results}) == len(results)


def test_shape_change_traces_again(rng):
    compiled = cr.compile(cr.value_and_grad(mlp_loss, argnums=(0, 1)))
    weights, biases, x, onehot = problem(rng)
    for batch in (16, 5, 16, 5):
        value, grads = compiled(weights, biases, x[:batch], onehot[:batch])
        want_value, want_grads = cr.value_and_grad(mlp_loss, argnums=(0, 1))(weights, biases, x[:batch], onehot[:batch])
        assert value == pytest.approx(want_value, rel=1e-5)
        assert_trees_close(grads, want_grads)
    assert len(compiled.cache) == 2
    compiled(weights, biases, x.astype(np.float64), onehot)  # a new dtype: a third trace
    assert len(compiled.cache) == 3


def test_python_scalar_arguments_are_part_of_the_key(rng):
    compiled = cr.compile(sgd_step)
    weights, biases, x, onehot = problem(rng)
    for lr in (0.1, 0.2, 0.1):
        assert_trees_close(compiled(weights, biases, x, onehot, lr), sgd_step(weights, biases, x, onehot, lr))
    assert len(compiled.cache) == 2


def test_integer_index_inputs_are_traced(rng):
    def nll(logits, labels):
        logp = cnp.log_softmax(logits, axis=1)
        return -logp[np.arange(logits.shape[0]), labels].mean()

    compiled = cr.compile(cr.grad(nll))
    logits = rng.standard_normal((6, 3))
    for _ in range(4):
        labels = rng.integers(0, 3, 6)
        np.testing.assert_allclose(compiled(logits, labels), cr.grad(nll)(logits, labels), atol=1e-12)


def test_backward_inside_falls_back():
    w = cr.tensor([1.0, 2.0], requires_grad=True)

    def stateful(x):
        loss = (w * x).sum()
        loss.backward()
        return loss

    with pytest.warns(cr.CompileWarning, match="grad"):
        cr.compile(stateful)(np.array([3.0, 4.0]))
    np.testing.assert_allclose(w.grad, [3.0, 4.0])  # the eager run happened exactly once


def test_hidden_data_dependence_is_caught_by_the_checked_replays():
    def f(x):
        scale = float(np.max(x.data))  # read off the raw array: invisible to the tracer
        return cnp.tanh(x) * scale

    compiled = cr.compile(f)
    np.testing.assert_allclose(compiled(np.array([1.0, 2.0])), np.tanh([1.0, 2.0]) * 2.0)
    with pytest.warns(cr.CompileWarning, match="differs from eager"):
        out = compiled(np.array([1.0, 5.0]))
    np.testing.assert_allclose(out, np.tanh([1.0, 5.0]) * 5.0)
    np.testing.assert_allclose(compiled(np.array([1.0, 3.0])), np.tanh([1.0, 3.0]) * 3.0)


def test_tensor_arguments_that_require_grad_run_eagerly():
    compiled = cr.compile(lambda x: (x * x).sum())
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.warns(cr.CompileWarning, match="require grad"):
        y = compiled(x)
    y.backward()
    np.testing.assert_allclose(x.grad, [2.0, 4.0])


def test_replay_is_straight_line_numpy_with_buffers(rng):
    compiled = cr.compile(sgd_step)
    weights, biases, x, onehot = problem(rng)
    compiled(weights, biases, x, onehot, 0.1)
    (program,) = compiled.cache.values()
    assert "out=b" in program.source and "copy" not in program.source
    assert program.n_buffers < program.n_steps


def test_compiled_cross_entropy_follows_new_labels_without_falling_back():
    def loss(w, x, labels):
        return nn.softmax_cross_entropy(x @ w, labels)

    rng = np.random.default_rng(3)
    w, x = rng.standard_normal((3, 4)), rng.standard_normal((6, 3))
    compiled = cr.compile(cr.value_and_grad(loss))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a fall-back to eager mode would be a CompileWarning
        for _ in range(5):
            labels = rng.integers(0, 4, 6)
            value, grad = compiled(w, x, labels)
            expected_value, expected_grad = cr.value_and_grad(loss)(w, x, labels)
            np.testing.assert_allclose(value, expected_value, rtol=1e-12)
            np.testing.assert_allclose(grad, expected_grad, rtol=1e-12)


def test_donated_parameters_are_updated_in_place(rng):
    weights, biases, x, onehot = problem(rng)
    step = cr.compile(sgd_step, donate_argnums=(0, 1))
    for _ in range(4):  # traced, two checked replays, then trusted
        expected_loss, expected_w, expected_b = sgd_step([w.copy() for w in weights], [b.copy() for b in biases],
                                                         x, onehot, 0.1)
        before = weights[0]
        loss, weights, biases = step(weights, biases, x, onehot, 0.1)
        np.testing.assert_allclose(loss, expected_loss, rtol=1e-5)
        for got, want in zip(weights + biases, expected_w + expected_b, strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert weights[0] is before  # the last update was written into the donated array
    source = next(iter(step.cache.values())).source
    assert "out=s0" in source


def test_trusted_calls_take_the_fast_path_only_for_arguments_like_the_traced_ones(rng):
    def f(x, pair, scale):
        return {"y": cnp.tanh(x * scale).sum(), "parts": (pair[0] * x, [pair[1] - x])}

    compiled = cr.compile(f)
    x, a, b = rng.standard_normal((3, 4, 5))
    for _ in range(4):  # traced, two checked replays, then the fast path
        got = compiled(x, [a, b], 2.0)
    assert compiled._fast is not None
    assert_trees_close(got, f(x, [a, b], 2.0))
    assert isinstance(got["y"], float) and type(got["parts"]) is tuple and type(got["parts"][1]) is list
    different = [(x[:2], [a[:2], b[:2]], 2.0),  # shapes
                 (x.astype(np.float32), [a, b], 2.0),  # a dtype
                 (x, [a, b], 3.0),  # a scalar's value
                 (x, [a, b], 2),  # a scalar's type
                 (x, (a, b), 2.0),  # a container's type
                 (x, [a, b, b][:2], 2.0),  # the same structure again: a hit
                 (cr.tensor(x), [a, b], 2.0)]  # a Tensor: the general path
    for args in different:
        assert_trees_close(compiled(*args), f(*args))
    assert len(compiled.cache) == 6
    nested = cr.compile(lambda a, b: a[0][0] - 2 * b[0])  # containers of one: each its own variables
    for _ in range(4):
        np.testing.assert_allclose(nested([[x]], [a]), x - 2 * a)


def test_fast_path_keeps_arrays_passed_twice_apart_from_donated_ones(rng):
    def step(w, v):
        return w - 0.5 * v

    compiled = cr.compile(step, donate_argnums=(0,))
    w, v = rng.standard_normal((2, 6))
    for _ in range(4):  # trusted: the fast path writes into the donated w
        w = compiled(w, v)
    x = rng.standard_normal(6)
    kept = x.copy()
    for _ in range(4):  # the same array twice: another program, which never writes over x
        np.testing.assert_allclose(compiled(x, x), 0.5 * kept)
    np.testing.assert_allclose(x, kept)
    y, z = rng.standard_normal((2, 6))
    np.testing.assert_allclose(compiled(y.copy(), z), y - 0.5 * z)  # distinct again: the first program
    assert len(compiled.cache) == 2


def replayed(f, *args, calls=3, rtol=1e-6):
    """Compile ``f``, call it ``calls`` times on ``args`` checking each result against eager mode; its program."""
    compiled = cr.compile(f)
    with warnings.catch_warnings():
        warnings.simplefilter("error", cr.CompileWarning)
        for _ in range(calls):
            assert_trees_close(compiled(*args), f(*args), rtol=rtol, atol=1e-9)
    (program,) = compiled.cache.values()
    return program


def test_scalar_times_matrix_product_scales_the_smaller_operand(rng):
    h, g, w = rng.standard_normal((8, 40)), rng.standard_normal((8, 30)), rng.standard_normal((40, 30))
    source = replayed(lambda h, g, w: w - 0.1 * (h.T @ g), h, g, w).source
    assert re.search(r"n_multiply\(\w+, s1\b", source)  # g (8 x 30) scaled, not the 40 x 30 product nor h (8 x 40)
    # float32 stays float32 (a Python float is weak)
    h32, g32, w32 = (a.astype(np.float32) for a in (h, g, w))
    step = cr.compile(lambda h, g, w: w - 0.1 * (h.T @ g))
    for _ in range(3):
        assert step(h32, g32, w32).dtype == np.float32
    not_smaller = rng.standard_normal((3, 40)), rng.standard_normal((40, 3))  # the product is the smallest
    assert re.search(r"n_multiply\(\w+, s2\b", replayed(lambda a, b: 0.1 * (a @ b), *not_smaller).source)

    def read_twice(h, g):
        product = h.T @ g
        return 0.1 * product, product.sum()

    def returned(h, g):
        product = h.T @ g
        return 0.1 * product, product

    for f in (read_twice, returned):  # the product is needed as it is
        assert not re.search(r"n_multiply\(\w+, s1\b", replayed(f, h, g).source)

    def scale_made_after_the_product(h, g, lr):
        product = h.T @ g
        return 0.5 - cnp.exp(lr) * product  # the scaled g's product takes the place of the multiply

    late = replayed(scale_made_after_the_product, h, g, np.array(-2.0)).source
    assert re.search(r"n_multiply\(s\d+, s1\b", late)
    vector = rng.standard_normal(30)
    assert "n_multiply(s2, s1" not in replayed(lambda h, g, v: v * (h.T @ g), h, g, vector).source


def test_sigmoid_of_a_bias_add_starts_from_the_negated_bias(rng):
    x, w, b = rng.standard_normal((8, 5)), rng.standard_normal((5, 6)), rng.standard_normal(6)
    source = replayed(lambda x, w, b: cnp.sigmoid(x @ w + b).sum(), x, w, b).source
    assert "n_negative(s2" in source and "sigmoid_of_difference" in source and "n_add" not in source
    grad = replayed(cr.grad(lambda w, b: (cnp.sigmoid(x @ w + b) ** 2).sum(), argnums=(0, 1)), w, b).source
    assert "sigmoid_of_difference" in grad
    minus = replayed(lambda x, b: cnp.sigmoid(x - b), x @ w, b).source
    assert "sigmoid_of_difference(s0, s1" in minus and "negative" not in minus
    assert "sigmoid_of_difference(s0, -1.5" in replayed(lambda x: cnp.sigmoid(x + 1.5), x).source
    same_size = replayed(lambda x, y: cnp.sigmoid(x + y), x, x[::-1].copy()).source
    assert "sigmoid_of_difference" not in same_size  # negating y would cost the pass it saves

    def read_twice(x, b):
        z = x + b
        return cnp.sigmoid(z) * z

    def returned(x, b):
        z = x + b
        return cnp.sigmoid(z), z

    for f in (read_twice, returned):
        assert "sigmoid_of_difference" not in replayed(f, x @ w, b).source
    ints = rng.integers(-3, 3, (4, 6))
    assert "sigmoid_of_difference" not in replayed(lambda i, b: cnp.sigmoid(i + 2), ints, b).source  # float64 out
    replayed(lambda i: cnp.sigmoid(i), ints)
    replayed(cr.grad(lambda x: cnp.sigmoid(x.sum() - 1.0)), x)  # 0-d: a NumPy scalar, no buffer


@pytest.mark.parametrize(("batch", "classes"), [(64, 10), (3, 5), (40, 100)])  # transposed copy or not
def test_softmax_cross_entropy_and_its_backward_softmax_are_one_step(rng, batch, classes):
    z, w = rng.standard_normal((batch, 6)), rng.standard_normal((6, classes))
    labels = rng.integers(0, classes, batch)
    loss = lambda w, z, labels: nn.softmax_cross_entropy(z @ w, labels)  # noqa: E731
    source = replayed(cr.value_and_grad(loss), w, z, labels).source
    assert re.search(r"s\d+, s\d+ = f_softmax_cross_entropy_", source)  # the loss and the softmax
    assert source.count("f_softmax_cross_entropy") == 1 and not re.search(r"f_softmax_[0-9a-f]+\(", source)
    only_loss = replayed(loss, w, z, labels).source
    assert "f_softmax_cross_entropy" in only_loss
    replayed(cr.value_and_grad(nn.softmax_cross_entropy), (z @ w).astype(np.float32), labels)
    labels[0] = -1  # the primitive (nn checks labels) picks from the end, and so does its gradient
    replayed(cr.value_and_grad(lambda w, z, labels: _rules.softmax_cross_entropy(z @ w, labels)), w, z, labels)


def test_a_fused_softmax_that_is_returned_is_a_fresh_array(rng):
    def f(z, labels):
        return nn.softmax_cross_entropy(z, labels), cnp.softmax(z, axis=-1).T

    z, labels = rng.standard_normal((32, 4)), rng.integers(0, 4, 32)
    compiled = cr.compile(f)
    results = [compiled(z * k, labels) for k in (1.0, 2.0, 3.0, 4.0, 5.0)]
    for k, (loss, p) in zip((1.0, 2.0, 3.0, 4.0, 5.0), results, strict=True):  # not written over by later calls
        want_loss, want_p = f(z * k, labels)
        np.testing.assert_allclose(loss, want_loss.data, rtol=1e-6)
        np.testing.assert_allclose(p, want_p.data, rtol=1e-6)
    assert not re.search(r"f_softmax_[0-9a-f]+\(", next(iter(compiled.cache.values())).source)


def test_identities_become_aliases_and_views_array_methods(rng):
    x = rng.standard_normal((4, 3))
    source = replayed(cr.grad(lambda x: (x * x).reshape(x.shape).sum()), x).source
    assert "multiply(c" not in source and "reshape" not in source  # the loss's seed of ones; the same shape
    ones64 = np.ones(3)
    kept = replayed(lambda x: x * ones64, x.astype(np.float32)).source
    assert "n_multiply" in kept  # float32 x float64 ones: the dtype changes
    assert "n_multiply" in replayed(lambda x: x * np.ones((2, 4, 3)), x).source  # broadcast to a new shape
    assert "n_multiply" in replayed(lambda x: x * 1.0, x).source  # an output: a fresh array
    assert "n_multiply" not in replayed(lambda x: cnp.tanh(x * 1.0), x).source
    assert ".transpose(None)" in replayed(lambda x: x.T @ x, x).source
    assert ".reshape((12,)" in replayed(lambda x: cnp.tanh(x.reshape(12)), x).source


def test_sums_over_one_axis_become_products_with_a_constant_vector(rng):
    x = rng.standard_normal((50, 7))
    for f in (lambda x: cnp.tanh(x.sum(axis=0)), lambda x: cnp.tanh(cnp.sum(x, axis=-1)),
              lambda x: cnp.tanh(x).sum(axis=(0,)) * 2.0):
        source = replayed(f, x).source
        assert "n_matmul(" in source and "reduce" not in source and "n_multiply" not in source
    bias_step = replayed(lambda b, x: b - 0.5 * cr.grad(lambda b: (cnp.tanh(x + b) ** 2).sum())(b), x[0], x).source
    assert re.search(r"(s\d+) = n_matmul\(c\d+, s\d+.*\n.*n_subtract\(s0, \1", bias_step)  # 0.5 in the vector
    assert replayed(lambda x: cnp.exp(x.sum(axis=0)), x.astype(np.float32), rtol=1e-5).source.count("n_matmul") == 1
    for keepdims in (lambda x: cnp.tanh(x.sum(axis=0, keepdims=True)), lambda x: cnp.exp(x - x.sum(1, keepdims=True))):
        assert re.search(r"n_matmul\(.*\n.*reshape\(\((1, 7|50, 1)\)\)", replayed(keepdims, x).source)
    for f, x in [(lambda x: cnp.tanh(x.sum(axis=1)), rng.standard_normal((4, 300))),  # long rows: NumPy's pairwise
                 (lambda x: cnp.tanh(x.sum(axis=0)), rng.standard_normal((3, 4, 5))),
                 (lambda x: cnp.tanh(x.sum()), x),
                 (lambda x: cnp.tanh(x.sum(axis=0)), rng.integers(0, 5, (6, 3)))]:
        assert "n_matmul" not in replayed(f, x).source


def test_python_numbers_beside_arrays_of_the_result_dtype_become_0d_arrays(rng):
    x = rng.standard_normal((3, 4)).astype(np.float32)
    program = replayed(lambda x: cnp.tanh(x * 0.1 + 1), x, rtol=1e-6)
    typed = [v for k, v in program.namespace.items() if k.startswith("c")]
    assert len(typed) == 2 and all(v.dtype == np.float32 and v.ndim == 0 for v in typed)
    assert "0.5" in replayed(lambda i: cnp.tanh(i * 0.5), rng.integers(0, 5, (3, 4))).source  # int * float


def test_namedtuples_in_and_out_through_the_fast_path():
    import collections

    Pair = collections.namedtuple("Pair", "a b")
    f = cr.compile(lambda p: Pair(p.a * 2.0, p.b + 1.0))
    for _ in range(4):  # traced, two checked calls, then the generated fast path
        result = f(Pair(np.ones(3), np.zeros(3)))
        assert type(result) is Pair
        np.testing.assert_allclose(result.a, 2.0)
        np.testing.assert_allclose(result.b, 1.0)


# ---- decisions on values: recomputed by the replay, or guarded (issue 9, section 5) ---------------------------
def _compare_every_call(compiled, eager, inputs, rtol=1e-10, atol=1e-12):
    for args in inputs:
        assert_trees_close(compiled(*args), eager(*args), rtol=rtol, atol=atol)


def _n_programs(compiled) -> int:
    (count,) = compiled.n_programs.values()
    return count


@pytest.fixture
def no_fallback():
    with warnings.catch_warnings():
        warnings.simplefilter("error", cr.CompileWarning)
        yield


WEIGHTS = np.linspace(-1.0, 2.0, 6)  # order-dependent weights: a stale order gives a different value and gradient


INDEX_LOSSES = {
    "Tensor.argmax": lambda x: cnp.take_along_axis(x, x.argmax(axis=1)[:, None], 1).sum() * 3.0,
    "np.argmin": lambda x: (cnp.take_along_axis(x, np.argmin(x, axis=0)[None, :], 0) ** 2).sum(),
    "Tensor.argsort": lambda x: (cnp.take_along_axis(x, x.argsort(axis=1), 1) * WEIGHTS).sum(),
    "np.argsort": lambda x: (x.reshape(-1)[np.argsort(x, axis=None)][:6] * WEIGHTS).sum(),
    "sort": lambda x: (cnp.sort(x, axis=1) * WEIGHTS).sum(),
    "sort axis=None": lambda x: (cnp.sort(x, axis=None)[-6:] * WEIGHTS).sum(),
    "partition": lambda x: (cnp.partition(x, 2, axis=1)[:, 2] * WEIGHTS[:4]).sum(),
    "median": lambda x: (cnp.median(x, axis=1) * WEIGHTS[:4]).sum() + cnp.median(x),
    "quantile": lambda x: (cnp.quantile(x, [0.2, 0.9], axis=0) * WEIGHTS).sum(),
    "percentile": lambda x: cnp.percentile(x, 70) * cnp.tanh(x).sum(),
    "np.where(cond, x, y)": lambda x: cnp.where(x > 0.3, x * x, -x).sum(),
    "nanmax": lambda x: cnp.nanmax(cnp.where(x > 1.0, np.nan, x), axis=1).sum(),
    "max ties": lambda x: cnp.max(cnp.round(x), axis=0).sum() + cnp.max(x * x),
    "a 0-d index Tensor": lambda x: x.reshape(-1)[x.argmin()] * cnp.exp(x[:, 0]).sum(),
    "slogdet sign": lambda x: cnp.linalg.slogdet(x[:, :4])[0] * (x ** 2).sum(),
}


@pytest.mark.parametrize("name", list(INDEX_LOSSES))
def test_index_functions_are_recomputed_by_every_replay(name, no_fallback):
    """Seeded random inputs whose orders, arg-maxima and medians change from call to call: every call, value
    and gradient, equals eager mode, with one program (the decisions are steps of the replay, not guards)."""
    rng = np.random.default_rng(sum(map(ord, name)))
    eager = cr.value_and_grad(INDEX_LOSSES[name])
    compiled = cr.compile(eager)
    _compare_every_call(compiled, eager, [(rng.standard_normal((4, 6)) * 2,) for _ in range(25)])
    assert _n_programs(compiled) == 1 and compiled._fast is not None  # trusted: the fast path replays


@pytest.mark.parametrize("name", ["Tensor.argsort", "sort", "median", "quantile", "Tensor.argmax"])
def test_index_functions_match_eager_on_any_floats(name):
    """Hypothesis: arbitrary floats (ties, repeated values, huge and tiny magnitudes) through one compiled
    function: each example is a new call of the same replay."""
    hypothesis = pytest.importorskip("hypothesis")
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp

    eager = cr.value_and_grad(INDEX_LOSSES[name])
    compiled = cr.compile(eager)
    compiled(np.zeros((4, 6)))

    @hypothesis.settings(max_examples=60, deadline=None)
    @hypothesis.given(hnp.arrays(np.float64, (4, 6), elements=st.floats(-1e3, 1e3) | st.sampled_from([0.0, 1.0])))
    def check(x):
        with warnings.catch_warnings():
            warnings.simplefilter("error", cr.CompileWarning)
            assert_trees_close(compiled(x), eager(x), rtol=1e-9, atol=1e-9)

    check()
    assert _n_programs(compiled) == 1


def test_control_flow_on_a_value_replays_the_branch_it_takes(rng, no_fallback):
    def f(x):
        if x.sum() > 0:  # bool() of a traced value: a guard; each branch its own program
            y = (x * x).sum()
        else:
            y = (-x * 3).sum()
        if (x > 2.5).any():  # Tensor.any() feeding bool()
            y = y + cnp.exp(x).sum()
        return y

    eager = cr.grad(f)
    compiled = cr.compile(eager)
    _compare_every_call(compiled, eager, [(rng.standard_normal(4) * 1.5,) for _ in range(40)])
    assert _n_programs(compiled) <= 4


def test_int_of_a_value_used_as_an_index_is_guarded(rng, no_fallback):
    def f(x):
        i = int(x.argmax())  # a Python int: the replay checks it is still the same
        ahead = sum(x[k] for k in range((x[:1] > 0).astype(int).sum()))  # range(Tensor): __index__
        j = np.argmax(x)  # a NumPy integer: the recorded call's result is a guarded decision too
        return x[i] * cnp.sin(x).sum() + x[len(x) - 1 - i] + ahead + x[j] * x[(j + 1) % len(x)]

    eager = cr.value_and_grad(f)
    compiled = cr.compile(eager)
    _compare_every_call(compiled, eager, [(rng.standard_normal(4),) for _ in range(40)])
    assert 1 < _n_programs(compiled) <= 8  # one program per arg-maximum and count seen (4 x 2 possible)


def test_python_numbers_read_off_values_are_checked_decisions():
    compiled = cr.compile(lambda x: cnp.exp(x).sum().item() * x)
    eager = lambda x: np.exp(x).sum() * x
    for x in [np.array([0.0, 1.0]), np.array([0.5, 1.0])] * 3:  # two values repeating: two programs
        with warnings.catch_warnings():
            warnings.simplefilter("error", cr.CompileWarning)
            np.testing.assert_allclose(compiled(x), eager(x), rtol=1e-12)
    assert _n_programs(compiled) == 2
    rng = np.random.default_rng(1)
    with pytest.warns(cr.CompileWarning, match=r"keep changing \(Tensor.item\(\)"):  # new every call
        for _ in range(12):
            x = rng.standard_normal(2)
            np.testing.assert_allclose(compiled(x), eager(x), rtol=1e-12)


def test_a_mask_whose_count_changes_never_crashes_or_broadcasts(rng):
    def f(x):
        kept = x[x > 0.0]  # its length is a decision on values
        return (kept ** 2).sum() + cnp.mean(kept * 2.0) * x.sum() if kept.shape[0] else x.sum()

    eager = cr.value_and_grad(f)
    compiled = cr.compile(eager)
    with warnings.catch_warnings():  # six elements: at most seven counts, each a program
        warnings.simplefilter("error", cr.CompileWarning)
        _compare_every_call(compiled, eager, [(rng.standard_normal(6),) for _ in range(40)])
    # a count of 1 next to a buffer of 3 would broadcast silently without the guard
    _compare_every_call(compiled, eager, [(np.array([1.0, -1, -1, -1, -1, -1]),), (np.array([1.0, 2, 3, -1, -1, -1]),)])
    wide = cr.compile(eager)
    with pytest.warns(cr.CompileWarning, match="shape and dtype of getitem"):  # many counts: eager, warned
        _compare_every_call(wide, eager, [(rng.standard_normal(40),) for _ in range(30)])


def test_nonzero_unique_and_where_with_one_argument(rng, no_fallback):
    def f(x, labels):
        rows, cols = cnp.where(x > 10.0)  # never true here: the count stays 0
        picked = x[:, np.unique(labels)]
        firsts = x.reshape(-1)[np.flatnonzero(x.reshape(-1) > -10.0)]
        return (picked ** 2).sum() + x[rows, cols].sum() + cnp.tanh(firsts).sum() + x[np.nonzero(labels == 1)].sum()

    eager = cr.value_and_grad(f)
    compiled = cr.compile(eager)
    inputs = [(rng.standard_normal((5, 3)), np.array([0, 2, 2, 1, 0])[rng.permutation(5)]) for _ in range(20)]
    _compare_every_call(compiled, eager, inputs)
    assert _n_programs(compiled) == 1


def test_closures_and_data_dependent_shapes_compose(rng):
    ramp = np.arange(8.0)

    def make(w):
        def loss(x):
            scores = x @ w  # w: a constant of the trace, closed over
            best = cnp.sort(scores, axis=1)[:, -2:]  # top two per row
            chosen = scores[scores > scores.mean()]  # a data-dependent shape
            return (best * ramp[:2]).sum() + (chosen ** 2).sum() / (1 + chosen.shape[0])
        return loss

    loss = make(rng.standard_normal((3, 4)))
    eager = cr.value_and_grad(loss)
    compiled = cr.compile(eager)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", cr.CompileWarning)
        _compare_every_call(compiled, eager, [(rng.standard_normal((2, 3)),) for _ in range(40)])
    assert all("keep changing" in str(w.message) for w in caught)


def test_guards_leave_donated_arguments_alone_until_they_pass(rng):
    """A training step whose learning rate depends on the loss: when a guard stops a replay, the donated
    parameters must still hold their values for the program of the other branch."""
    def step(w, x, t):
        loss, g = cr.value_and_grad(lambda w: ((cnp.tanh(x @ w) - t) ** 2).mean())(w)
        lr = 0.5 if loss > 0.3 else 0.05
        return loss, w - lr * g

    compiled = cr.compile(step, donate_argnums=0)
    w_c = w_e = rng.standard_normal((3, 2))
    for i in range(30):
        x, t = rng.standard_normal((8, 3)), rng.standard_normal((8, 2)) * (0.2 if i % 3 else 1.5)
        loss_c, w_c = compiled(w_c.copy(), x, t)
        loss_e, w_e = step(w_e, x, t)
        assert loss_c == pytest.approx(float(loss_e), rel=1e-12)
        np.testing.assert_allclose(w_c, w_e, rtol=1e-12)
    assert _n_programs(compiled) == 2


def test_views_of_raw_values_are_followed_or_refused(rng, no_fallback):
    # losses that reshape their target's raw array: the reshape is recognised as the traced argument
    eager = cr.value_and_grad(lambda w, x, t: nn.squared_error(x @ w, t))
    compiled = cr.compile(eager)
    _compare_every_call(compiled, eager, [(rng.standard_normal((3, 2)), rng.standard_normal((4, 3)),
                                           rng.standard_normal((4, 2))) for _ in range(6)])
    flat = cr.compile(cr.grad(lambda x: (x * cr.tensor(x.data.reshape(-1)).reshape(x.shape)).sum()))
    _compare_every_call(flat, cr.grad(lambda x: (x * x.data).sum()), [(rng.standard_normal((2, 3)),) for _ in range(5)])
    eager = cr.value_and_grad(lambda w, x, t: nn.cross_entropy(x @ w, t))  # reshapes t's raw values
    targets = rng.uniform(size=(8, 3))  # columns of it: non-contiguous traced inputs
    _compare_every_call(cr.compile(eager), eager, [(rng.standard_normal((3, 1)), rng.standard_normal((8, 3)),
                                                    targets[:, k]) for k in (0, 1, 2, 0)])
    shifted = cr.compile(lambda x: x[1:] * x.data[:-1])  # another view: the tracer cannot follow it
    with pytest.warns(cr.CompileWarning, match="view of a traced array"):
        np.testing.assert_allclose(shifted(np.arange(4.0)), [0.0, 2.0, 6.0])


def test_a_result_whose_dtype_depends_on_values_is_guarded(no_fallback):
    compiled = cr.compile(lambda a: cnp.linalg.eigvals(a) * 2.0)
    real, rotation = np.array([[2.0, 1.0], [0.0, 3.0]]), np.array([[0.0, -1.0], [1.0, 0.0]])
    for a in [real, real, real, rotation, real, rotation]:
        np.testing.assert_allclose(compiled(a), np.linalg.eigvals(a) * 2.0)
    assert _n_programs(compiled) == 2


def test_same_decision_compares_like_for_like():
    from chainrule._compile import _same_decision

    assert _same_decision(float("nan"), float("nan")) and _same_decision((3, 4), (3, 4))
    assert not _same_decision(1, True) and not _same_decision(1, 1.0) and not _same_decision((3,), (4,))
    assert _same_decision(np.array([1, 2]), np.array([1, 2])) and not _same_decision(np.array([1]), np.array([1.0]))


# ---- Task: speed rewrites that hold for any formulation --------------------------------------------------
def test_products_with_an_inner_dimension_of_one_replay_as_dot(rng):
    """NumPy's matmul is many times slower than np.dot for an outer product; the replay routes such products
    (here a rank-one bilinear model, and a batch of one) and gives the same values."""
    def f(u, v, w):
        outer = u[:, None] @ v[None, :]  # (7, 1) @ (1, 5)
        return (cnp.tanh(outer * w) ** 2).sum() + (v[None, :] @ w.T @ u[:, None]).sum()

    eager = cr.value_and_grad(f, argnums=(0, 1, 2))
    compiled = cr.compile(eager)
    for _ in range(4):
        args = rng.standard_normal(7), rng.standard_normal(5), rng.standard_normal((7, 5))
        assert_trees_close(compiled(*args), eager(*args), rtol=1e-12, atol=1e-12)
    (program,) = compiled.cache.values()
    assert "n_dot(" in program.source


SHORT_ROWS = {  # (function of a (40, 6) matrix, the kind of _ShortRows its replay uses); none is the benchmark's loss
    "attention weights": (lambda s: (cnp.softmax(s * 0.5, axis=-1) * np.arange(6.0)).sum(), "softmax"),
    "log-partition": (lambda s: cnp.logsumexp(s, axis=1).sum() + cnp.logsumexp(s, axis=-1, keepdims=True).mean(),
                      "logsumexp"),
    "log-likelihood": (lambda s: cnp.log_softmax(s, axis=1)[:, 2].sum(), "log_softmax"),
    "max pooling": (lambda s: (s.max(axis=1) ** 2).sum() - cnp.min(s, axis=-1, keepdims=True).sum(), "max"),
    "logsumexp by hand": (lambda s: (s.max(1, keepdims=True) + cnp.log(cnp.exp(s - s.max(1, keepdims=True))
                                                                        .sum(1, keepdims=True))).sum(), "max"),
}


@pytest.mark.parametrize("name", list(SHORT_ROWS))
def test_short_rows_are_reduced_down_a_transposed_copy(name, rng, no_fallback):
    f, kind = SHORT_ROWS[name]
    eager = cr.value_and_grad(f)
    compiled = cr.compile(eager)
    inputs = [rng.standard_normal((40, 6)) * 3 for _ in range(4)]
    inputs[3][5] = -np.inf  # a row of -inf: the rule table's conventions (nan gradients included) are kept
    inputs[3][7, 2] = np.inf
    for x in inputs[:3]:
        assert_trees_close(compiled(x), eager(x), rtol=1e-12, atol=1e-12)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        np.testing.assert_array_equal(np.isnan(compiled(inputs[3])[1]), np.isnan(eager(inputs[3])[1]))
    (program,) = compiled.cache.values()
    kinds = {getattr(v, "kind", None) for v in program.namespace.values()}
    assert kind in kinds
    x32 = inputs[0].astype(np.float32)
    assert_trees_close(compiled(x32), eager(x32), rtol=2e-5, atol=1e-5)


def test_a_broadcast_into_an_elementwise_step_is_left_to_the_ufunc(rng):
    program = replayed(cr.grad(lambda b, x: (cnp.broadcast_to(b, x.shape) * x + cnp.broadcast_to(b[:, None], (5, 5)))
                               .sum()), rng.standard_normal(5), rng.standard_normal((5, 5)))
    assert "broadcast_to" not in program.source


def test_a_rewritten_view_keeps_its_buffer_alive(rng, no_fallback):
    """A keepdims sum replayed as a product and a reshape (a view of the product's buffer), read again after
    another product of the same shape: the buffer must not be handed to that product meanwhile."""
    def f(s, t):
        total = cnp.exp(s).sum(axis=1, keepdims=True)  # (30, 1): a view of a (30,) buffer
        other = (t * 2.0).sum(axis=1)  # another (30,) product
        return (cnp.log(total) * other[:, None]).sum() + (s / total).sum()

    eager = cr.value_and_grad(f, argnums=(0, 1))
    compiled = cr.compile(eager)
    _compare_every_call(compiled, eager, [(rng.standard_normal((30, 4)), rng.standard_normal((30, 4)))
                                          for _ in range(5)])


def test_a_view_of_a_copy_that_became_an_alias_keeps_the_original_alive(rng, no_fallback):
    """``copy(a).T``: the copy is an alias of ``a`` in the replay, so the transpose is a view of ``a``'s buffer
    there (though not of the traced ``a``): the buffer must not go to ``sin(x)``, made while the view is still
    to be read; nor must a donated argument be written over while a view of its copy is to be read."""
    def f(x):
        view = cnp.copy(cnp.exp(x)).T
        return (view * cnp.sin(x)).sum()

    def step(w, x):
        value, grad = cr.value_and_grad(lambda w: (cnp.copy(w).T @ x).sum() + (w * w).sum())(w)
        return value, w - 0.1 * grad

    for eager in (f, cr.value_and_grad(f)):
        _compare_every_call(cr.compile(eager), eager, [(rng.standard_normal((5, 5)),) for _ in range(5)])
    compiled, x = cr.compile(step, donate_argnums=0), rng.standard_normal((6, 4))
    w = rng.standard_normal((6, 6))
    for _ in range(5):
        want = step(w.copy(), x)
        got = compiled(w, x)
        assert_trees_close(got, want, rtol=1e-10, atol=1e-12)
        w = got[1]


def test_an_output_computed_from_a_dying_product_is_written_into_it(rng, no_fallback):
    """Least squares by gradient descent, parameters not donated: ``w - 0.05 * x.T @ (x @ w - y)`` writes the
    new parameters into the product's fresh array (in place), and every call still returns a fresh array."""
    def step(w, x, y):
        return w - 0.05 * x.T @ (x @ w - y), (x @ w).sum(axis=0)

    compiled = cr.compile(step)
    x, y = rng.standard_normal((20, 6)), rng.standard_normal((20, 3))
    w = rng.standard_normal((6, 3))
    results = []
    for _ in range(5):
        got, want = compiled(w, x, y), step(cr.tensor(w), x, y)
        assert_trees_close(got, (want[0].data, want[1].data), rtol=1e-12, atol=1e-12)
        results.append(got[0])
        w = got[0]
    assert len({id(r) for r in results}) == len(results)
    assert not any(np.shares_memory(a, b) for a in results for b in results if a is not b)
    (program,) = compiled.cache.values()
    assert re.search(r"(s\d+) = n_matmul\((s\d+), (s\d+)\)\n.*n_subtract\(s0, \1, out=\1\)", program.source)


def test_loss_targets_converted_by_the_losses_follow_new_targets(rng, no_fallback):
    """Targets the losses convert (one-hot of integer labels, int32 labels, integer 0/1 targets) are
    recorded conversions: new targets on every call, no fall-back."""
    cases = {
        "squared error of labels": (lambda w, x, t: nn.squared_error(x @ w, t), lambda: rng.integers(0, 3, 8)),
        "int32 labels": (lambda w, x, t: nn.softmax_cross_entropy(x @ w, t),
                         lambda: rng.integers(0, 3, 8).astype(np.int32)),
        "binary targets": (lambda w, x, t: nn.binary_cross_entropy_with_logits((x @ w)[:, 0], t),
                           lambda: rng.integers(0, 2, 8)),
        "probability targets": (lambda w, x, t: nn.binary_cross_entropy(cnp.sigmoid(x @ w), t),
                                lambda: rng.integers(0, 2, (8, 3))),
    }
    for loss, targets in cases.values():
        eager = cr.value_and_grad(loss)
        compiled = cr.compile(eager)
        _compare_every_call(compiled, eager, [(rng.standard_normal((4, 3)), rng.standard_normal((8, 4)), targets())
                                              for _ in range(6)])


def test_decisions_inside_second_derivatives_and_float32(rng, no_fallback):
    """A Hessian-vector product of a loss built on sort and a mask (second order through the recorded index
    steps), and float32 inputs, each call against eager mode."""
    w = np.linspace(0.5, 2.0, 6)

    def loss(x):
        return (cnp.sort(x) ** 3 * w).sum() + (x[x > 0.0] ** 2).sum() * 0.0 + cnp.median(x) ** 2

    def hvp(x, v):
        return cr.hvp(loss, x, v)

    compiled = cr.compile(hvp)
    sixes = [(rng.standard_normal(6), rng.standard_normal(6)) for _ in range(15)]
    with warnings.catch_warnings():  # the mask's count is a guard: a few programs, never a fall-back
        warnings.simplefilter("error", cr.CompileWarning)
        _compare_every_call(compiled, hvp, [(np.abs(x), v) for x, v in sixes])  # all positive: one count
    assert _n_programs(compiled) == 1
    eager32 = cr.value_and_grad(INDEX_LOSSES["quantile"])
    compiled32 = cr.compile(eager32)
    _compare_every_call(compiled32, eager32, [(rng.standard_normal((4, 6)).astype(np.float32),) for _ in range(10)],
                        rtol=1e-5, atol=1e-5)


def test_a_mismatch_in_any_program_sends_the_signature_to_eager_mode_for_good():
    def f(x):
        if x.sum() > 0:
            return cnp.tanh(x) * 2.0
        return cnp.tanh(x) * float(np.max(x.data))  # hidden data dependence, on this branch only

    compiled = cr.compile(f)
    for _ in range(4):  # the positive branch: traced, checked, trusted (the fast path)
        compiled(np.array([1.0, 2.0]))
    assert compiled._fast is not None
    with pytest.warns(cr.CompileWarning, match="differs from eager"):
        for x in ([-2.0, -1.0], [-3.0, -0.5]):
            np.testing.assert_allclose(compiled(np.array(x)), f(cr.tensor(x)).data)
    assert compiled._fast is None and isinstance(next(iter(compiled.cache.values())), str)
    np.testing.assert_allclose(compiled(np.array([-1.0, -5.0])), np.tanh([-1.0, -5.0]) * -1.0)


def test_the_same_computation_twice_is_computed_once(rng, no_fallback):
    """``d * d``'s backward makes ``g * d`` once per factor: one step in the replay (and a value computed
    twice by the user, ``cnp.exp(x)`` here, too); steps of different constants or keywords stay apart."""
    def f(x, t):
        d = cnp.tanh(x) - t
        return (d * d).sum() + (cnp.exp(x) * cnp.exp(x)).mean() + (cnp.exp(x * 2.0) + cnp.exp(x * 3.0)).sum()

    program = replayed(cr.grad(f), rng.standard_normal((5, 4)), rng.standard_normal((5, 4)), rtol=1e-12)
    assert program.source.count("n_exp(") == 3  # exp(x) once; exp(2x) and exp(3x) apart
    assert re.search(r"n_add\((s\d+), \1", program.source)  # g·d + g·d from one product


def test_pinv_recomputes_which_singular_values_it_keeps(rng, no_fallback):
    compiled = cr.compile(lambda a: cnp.linalg.pinv(a) * 1.0)
    full = rng.standard_normal((4, 3))
    deficient = full.copy()
    deficient[:, 2] = deficient[:, 0] + deficient[:, 1]  # rank 2: one singular value below the cutoff
    for a in [full, full, full, deficient, full, deficient]:
        np.testing.assert_allclose(compiled(a), np.linalg.pinv(a), rtol=1e-8, atol=1e-10)
    assert _n_programs(compiled) == 1


def test_masks_match_eager_on_any_floats():
    """Hypothesis: masks of every count (0 to 5) through one compiled function, values and gradients."""
    hypothesis = pytest.importorskip("hypothesis")
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp

    def f(x):
        kept = x[x > 0.5]
        return (kept ** 3).sum() + cnp.sort(kept).sum() * x[0]

    eager = cr.value_and_grad(f)
    compiled = cr.compile(eager)

    @hypothesis.settings(max_examples=80, deadline=None)
    @hypothesis.given(hnp.arrays(np.float64, 5, elements=st.floats(-3, 3) | st.just(0.5)))
    def check(x):
        with warnings.catch_warnings():
            warnings.simplefilter("error", cr.CompileWarning)  # six counts: six programs, no fall-back
            assert_trees_close(compiled(x), eager(x), rtol=1e-9, atol=1e-9)

    check()
    assert _n_programs(compiled) <= 6


def test_every_call_gives_the_replays_numbers_from_the_first(rng):
    """The checked first calls return the replay's results (compared with eager mode's), not eager mode's:
    rewrites reassociate (0.3 · (X @ W) as X @ (0.3 · W), a bias gradient's sum as a matrix product), which
    changes the last bits in float32, and a fresh trace — a run resumed from a checkpoint — must not shift
    a run's numbers by that."""
    x = rng.standard_normal((300, 40)).astype(np.float32)

    def f(w, b):
        return cr.value_and_grad(lambda w, b: (cnp.tanh(0.3 * (x @ w) + b) ** 2).sum(), argnums=(0, 1))(w, b)

    w, b = rng.standard_normal((40, 7)).astype(np.float32), rng.standard_normal(7).astype(np.float32)
    compiled = cr.compile(f)
    calls = [compiled(w, b) for _ in range(4)]
    for call in calls[1:]:
        assert call[0] == calls[0][0] and all(np.array_equal(g, h) for g, h in zip(call[1], calls[0][1], strict=True))
    assert_trees_close(calls[0], f(w, b), rtol=1e-4, atol=1e-5)  # eager mode's, to float32 tolerance
    again = cr.compile(f)(w, b)  # a fresh trace on the same values: the same bits
    assert again[0] == calls[0][0] and all(np.array_equal(g, h) for g, h in zip(again[1], calls[0][1], strict=True))


def test_a_donated_tanh_network_step_follows_eager_mode(rng, no_fallback):
    """A tanh network with a squared error and momentum-free SGD, parameters donated and not: ``w2`` is read
    again by the input gradient ``g @ w2.T`` after its own gradient is made, so it may be written over only
    after that."""
    def loss(params, x, y):
        w1, b1, w2 = params
        return ((cnp.tanh(x @ w1 + b1) @ w2 - y) ** 2).mean()

    def step(params, x, y):
        value, grads = cr.value_and_grad(loss)(params, x, y)
        return value, [p - 0.05 * g for p, g in zip(params, grads, strict=True)]

    x, y = rng.standard_normal((24, 5)), rng.standard_normal((24, 3))
    params = [rng.standard_normal((5, 7)), 0.1 * rng.standard_normal(7), rng.standard_normal((7, 3))]
    for donate in ((0,), ()):
        compiled, state = cr.compile(step, donate_argnums=donate), [p.copy() for p in params]
        for _ in range(5):
            want = step([p.copy() for p in state], x, y)  # (eager; before the call, which may write over state)
            got = compiled(state, x, y)
            assert_trees_close(got, want, rtol=1e-10, atol=1e-12)
            state = got[1]
