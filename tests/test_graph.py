"""The engine: recording, the backward walk, accumulation, release, mutation safety, grad modes."""

import gc
import weakref

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp


def test_fan_out_sums_error_signals():
    x = cr.tensor(3.0, requires_grad=True)
    y = x * x + 2 * x  # x feeds three children
    y.backward()
    assert x.grad == pytest.approx(2 * 3.0 + 2)


def test_leaf_grads_accumulate_across_backward_calls():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad, [4.0, 8.0])
    x.zero_grad()
    assert x.grad is None


def test_grad_has_shape_and_dtype_of_data():
    w = cr.tensor(np.ones((3, 2), np.float32), requires_grad=True)
    b = cr.tensor(np.zeros(2, np.float32), requires_grad=True)
    out = cnp.tanh(np.ones((5, 3), np.float32) @ w + b).sum()
    assert out.dtype == np.float32
    out.backward()
    assert w.grad.dtype == np.float32 and w.grad.shape == (3, 2)
    assert b.grad.dtype == np.float32 and b.grad.shape == (2,)


def test_each_leaf_gets_its_own_grad_array():
    a, b = cr.tensor([1.0, 2.0], requires_grad=True), cr.tensor([3.0, 4.0], requires_grad=True)
    (a + b).sum().backward()
    assert a.grad is not b.grad
    a.grad += 1
    np.testing.assert_allclose(b.grad, [1.0, 1.0])


def test_non_scalar_backward_needs_grad():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"non-scalar.*shape \(2,\).*grad="):
        (x * 2).backward()
    (x * 2).backward(np.array([1.0, 10.0]))
    np.testing.assert_allclose(x.grad, [2.0, 20.0])
    with pytest.raises(ValueError, match="shape"):
        (x * 2).backward(np.ones(3))


def test_second_backward_names_retain_graph():
    x = cr.tensor(2.0, requires_grad=True)
    y = cnp.exp(x) * x
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()
    z = cnp.exp(x) * x
    z.backward(retain_graph=True)
    z.backward()
    assert x.grad == pytest.approx(np.exp(2.0) * 3 * 3)


def test_backward_on_tensor_without_grad_is_an_error():
    with pytest.raises(RuntimeError, match="does not require grad"):
        cr.tensor(1.0).backward()


def test_deep_chain_of_200k_operations_has_no_recursion_limit():
    x = cr.tensor(np.full(4, 0.5), requires_grad=True)
    y = x
    for _ in range(200_000):
        y = y * 1.000001
    y.sum().backward()
    np.testing.assert_allclose(x.grad, np.full(4, 1.000001**200_000))


def test_intermediates_are_released_after_backward():
    x = cr.tensor(np.ones(1000), requires_grad=True)
    h = cnp.tanh(x * 2.0)
    watcher = weakref.ref(h.data)
    loss = (h * h).sum()
    del h
    gc.collect()
    assert watcher() is not None  # the graph holds it for the backward pass
    loss.backward()
    gc.collect()
    assert watcher() is None  # released by the backward pass, though `loss` is still alive
    assert loss._node.released


def test_graph_is_freed_with_its_result():
    x = cr.tensor(np.ones(10), requires_grad=True)
    y = cnp.exp(x) * 3
    node = weakref.ref(y._node)
    del y
    gc.collect()
    assert node() is None


def test_integer_and_bool_tensors_cannot_require_grad():
    with pytest.raises(TypeError, match="floating-point.*int64"):
        cr.tensor([1, 2], requires_grad=True)
    with pytest.raises(TypeError, match="bool"):
        cr.tensor([True], requires_grad=True)
    with pytest.raises(TypeError):
        cr.tensor([1, 2]).requires_grad_()


def test_comparisons_give_bool_tensors_without_graph():
    x = cr.tensor([1.0, -2.0], requires_grad=True)
    mask = x > 0
    assert mask.dtype == bool and not mask.requires_grad
    (x * mask).sum().backward()
    np.testing.assert_allclose(x.grad, [1.0, 0.0])


def test_no_grad_and_enable_grad_as_context_and_decorator():
    x = cr.tensor(1.0, requires_grad=True)
    with cr.no_grad():
        assert not (x * 2).requires_grad
        with cr.enable_grad():
            assert (x * 2).requires_grad
    assert cr.is_grad_enabled()

    @cr.no_grad()
    def f(v):
        return v * 2

    assert not f(x).requires_grad and cr.is_grad_enabled()


def test_nothing_recorded_when_no_input_requires_grad():
    y = cr.tensor([1.0]) * 2
    assert y._node is None and not y.requires_grad


def test_detach_cuts_the_graph():
    x = cr.tensor(2.0, requires_grad=True)
    y = x * x.detach()
    y.backward()
    assert x.grad == pytest.approx(2.0)


def test_setitem_sends_gradient_to_old_value_and_new_value():
    a = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    v = cr.tensor(5.0, requires_grad=True)
    c = a * 2
    c[0] = v * v
    c.sum().backward()
    np.testing.assert_allclose(a.grad, [0.0, 2.0, 2.0])
    assert v.grad == pytest.approx(10.0)


def test_inplace_add_records_a_node():
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    v = cr.tensor(3.0, requires_grad=True)
    c = a * a
    before = c._node
    c += v
    assert c._node is not before
    c.sum().backward()
    np.testing.assert_allclose(a.grad, [2.0, 4.0])
    assert v.grad == pytest.approx(2.0)


def test_rebinding_a_tensor_does_not_change_what_was_recorded():
    a = cr.tensor(2.0, requires_grad=True)
    c = a * 1.0
    d = c * c  # saved c = 2
    c += 100.0  # c is rebound; d's record is untouched
    d.backward()
    assert a.grad == pytest.approx(4.0)  # d = (a·1)², whatever c became afterwards


def test_inplace_on_leaf_requiring_grad_is_refused_while_recording():
    w = cr.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        w += 1
    with cr.no_grad():
        w -= 0.5
    np.testing.assert_allclose(w.data, [0.5])


def test_writing_into_saved_data_fails_loudly():
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    b = a * a
    with pytest.raises(ValueError, match="read-only"):
        a.data[0] = 10.0
    b.sum().backward()
    np.testing.assert_allclose(a.grad, [2.0, 4.0])
    a.data[0] = 10.0  # writable again once the graph is released


def test_update_under_no_grad_copies_on_write_while_a_graph_holds_the_array():
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    b = (a * a).sum()
    with cr.no_grad():
        a -= 1.0  # the graph keeps the old values
    b.backward()
    np.testing.assert_allclose(a.grad, [2.0, 4.0])
    np.testing.assert_allclose(a.data, [0.0, 1.0])


def test_a_second_live_graph_keeps_its_saved_values_after_the_first_is_released():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    first, second = (x * x).sum(), (x * x * x).sum()
    first.backward()
    with pytest.raises(ValueError, match="read-only"):
        x.data[0] = 7.0  # the second graph still holds x's array
    with cr.no_grad():
        x *= 2  # through the Tensor: copy on write
    x.grad = None
    second.backward()
    np.testing.assert_allclose(x.grad, [3.0, 12.0])  # 3x² at the values the graph recorded
    np.testing.assert_allclose(x.data, [2.0, 4.0])


def test_mutation_after_every_graph_is_released_is_an_error_naming_the_operation():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x * x
    z = (y * y).sum()
    del y
    w = (x + 1.0).sum()  # saves nothing of x
    z.backward()  # x's array is writable again: no live graph saved it
    with cr.no_grad():
        x += 1.0  # in place
    with pytest.raises(RuntimeError, match="`add` was modified in place"):
        w.backward()


def test_create_graph_gives_higher_order_derivatives():
    x = cr.tensor(1.3, requires_grad=True)
    y = cnp.sin(x) * x**3
    y.backward(create_graph=True)
    first = x.grad
    assert isinstance(first, cr.Tensor)
    x.grad = None
    first.backward()
    expected = -np.sin(1.3) * 1.3**3 + 2 * np.cos(1.3) * 3 * 1.3**2 + np.sin(1.3) * 6 * 1.3
    assert x.grad == pytest.approx(expected, rel=1e-12)


def test_third_derivative_through_nested_grad():
    d3 = cr.grad(cr.grad(cr.grad(lambda x: cnp.exp(2 * x) * x)))(0.4)
    assert d3 == pytest.approx(np.exp(0.8) * (8 * 0.4 + 12), rel=1e-10)


def test_detect_anomaly_names_operation_and_source_line():
    import warnings

    x = cr.tensor([1.0, -1.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # our error names the operation: no NumPy warning before it
        with cr.detect_anomaly(), pytest.raises(cr.AnomalyError, match=r"forward of log.*test_graph.py:\d+"):
            cnp.log(x)
        y = cr.tensor([0.0], requires_grad=True)
        with cr.detect_anomaly():
            z = cnp.sqrt(y).sum()  # forward is finite (0); backward divides by zero
            with pytest.raises(cr.AnomalyError, match="backward of sqrt"):
                z.backward()
    with pytest.warns(RuntimeWarning, match="invalid value"):  # (outside detect_anomaly, NumPy's warning)
        cnp.log(x)


def test_numpy_conversion_of_a_requires_grad_tensor_refuses_to_drop_the_gradient():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match="drop its gradient"):
        np.asarray(x)
    with cr.no_grad():
        np.testing.assert_allclose(np.asarray(x), [1.0, 2.0])
    np.testing.assert_allclose(x.detach().numpy(), [1.0, 2.0])
    with pytest.raises(TypeError, match="stack"):
        cr.tensor([x, x])


def test_tensor_api_basics():
    t = cr.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True, name="t")
    assert t.shape == (2, 3) and t.ndim == 2 and t.size == 6 and t.dtype == np.float64
    assert len(t) == 2 and [r.shape for r in t] == [(3,), (3,)]
    assert t.T.shape == (3, 2) and t[0, 1].item() == 2.0
    assert "requires_grad=True" in repr(t) and "name='t'" in repr(t)
    assert "grad_fn=multiply" in repr(t * 2)
    assert float(cr.tensor(2.5)) == 2.5 and int(cr.tensor(3)) == 3
    assert t.is_leaf and not (t * 1).is_leaf
    assert repr(cr.tensor(np.float32(2))) == "tensor(2., dtype=float32)"


def test_tensors_are_hashable_by_identity():
    a, b = cr.tensor(1.0), cr.tensor(1.0)
    assert len({a, b}) == 2


def test_missing_rule_fails_at_record_time_with_the_argument_named():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match="where: no derivative rule for argument 0"):
        cr._rules.where(x, 1.0, 2.0)  # the condition of `where` has no derivative


def test_custom_primitive_with_wrong_shape_rule_is_reported():
    from chainrule.extend import defvjp, primitive

    @primitive
    def double(x):
        return 2 * x

    defvjp(double, lambda g, ans, x: g.sum())
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match="`double` for argument 0 returned shape"):
        double(x).sum().backward()


def test_graph_keeps_only_what_the_rules_need():
    x = np.ones((40, 3))  # 40 x 2 outputs: above the size up to which unread arrays are kept as they are
    w = cr.tensor(np.ones((3, 2)), requires_grad=True)
    product = x @ w  # matmul keeps x and w: its rule reads both
    watcher = weakref.ref(product.data)
    h = cnp.sigmoid(product + 1.0)  # add reads no value; sigmoid reads only its output
    del product
    gc.collect()
    assert watcher() is None  # nothing in the graph holds the matmul's output
    h.sum().backward()
    s = 1 / (1 + np.exp(-4.0))
    np.testing.assert_allclose(w.grad, np.full((3, 2), 40 * s * (1 - s)))


def test_values_not_kept_are_shapes_with_dtype():
    x = cr.tensor(np.ones(100, np.float32), requires_grad=True)
    y = x + 1.0
    assert isinstance(y._node.value, cr.Shape) and y._node.value.shape == (100,)
    assert y._node.value.dtype == np.float32 and "not kept" in repr(y._node.value)
    with cr.viz.keep_values():
        z = x + 1.0
    np.testing.assert_allclose(z._node.value, np.full(100, 2.0))


def test_small_values_not_read_are_kept_but_not_locked():
    # below a few dozen elements a Shape costs more than the array: the graph keeps the array, unprotected
    # (no rule reads it, so writing into it cannot change a gradient)
    x = cr.tensor(np.ones(3), requires_grad=True)
    y = x + 1.0
    assert type(y._node.value) is np.ndarray and y.data.flags.writeable
    y.data[:] = 7.0
    (y * 2.0).sum().backward()
    np.testing.assert_allclose(x.grad, [2.0, 2.0, 2.0])


def test_tensor_data_is_always_an_ndarray():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    total = x.sum()
    assert type(total.data) is np.ndarray and total.shape == ()
    assert type(cr.tensor([1.0, 2.0]).sum().data) is np.ndarray


def test_a_constant_saved_by_two_graphs_stays_protected_until_the_last_is_released():
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    c = np.array([1.0, 2.0, 3.0])
    y1, y2 = (x * c).sum(), (x * c).sum()
    y1.backward()
    x.grad = None
    with pytest.raises(ValueError, match="read-only"):
        c[:] = 100  # y2's graph still saved c
    y2.backward()
    np.testing.assert_allclose(x.grad, [1.0, 2.0, 3.0])
    c[:] = 100  # no live graph holds c now
    np.testing.assert_allclose(c, 100.0)


def test_a_saved_array_stays_protected_when_another_graph_holding_it_is_garbage_collected():
    import gc

    x = cr.tensor([1.0, 2.0], requires_grad=True)
    c = np.array([5.0, 6.0])
    y1, y2 = (x * c).sum(), (cnp.sin(x) * c).sum()
    del y1
    gc.collect()
    with pytest.raises(ValueError, match="read-only"):
        c[0] = 0.0
    with pytest.raises(ValueError, match="read-only"):
        x.data[0] = 0.0
    y2.backward()
    np.testing.assert_allclose(x.grad, np.cos([1.0, 2.0]) * [5.0, 6.0])
    del y2
    gc.collect()
    c[0] = 0.0
    x.data[0] = 0.0


def test_views_of_a_saved_array_are_counted_with_their_base():
    base = np.arange(6.0)
    view = base[2:]
    x = cr.tensor([1.0, 1.0, 1.0, 1.0], requires_grad=True)
    y1, y2 = (x * view).sum(), (x * view * 2.0).sum()
    y1.backward()
    with pytest.raises(ValueError, match="read-only"):
        base[3] = -1.0  # writing the base would change what y2 saved through the view
    y2.backward(retain_graph=False)
    base[3] = -1.0
    view[0] = -2.0


def test_primitives_take_lists_mixing_tensors_and_numbers():
    t = cr.tensor(2.0, requires_grad=True)
    y = cnp.exp([t, 1.0])
    np.testing.assert_allclose(y.data, np.exp([2.0, 1.0]))
    cnp.sum(y * cnp.tanh((t, t))).backward()
    expected = np.exp(2.0) * np.tanh(2.0) + (np.exp(2.0) + np.exp(1.0)) * (1 - np.tanh(2.0) ** 2)
    assert t.grad == pytest.approx(expected, rel=1e-12)
    assert cr.grad(lambda x: cnp.mean(cnp.maximum([x, 1.0], [0.0, 2.0])))(3.0) == pytest.approx(0.5)


def _tracked_by_node(node) -> list[str]:
    """The fields of ``node`` holding an object of its own that the cyclic collector tracks."""
    from chainrule._graph import _NO_KWARGS  # (shared by all nodes recorded without keywords)

    fields = ("parents", "positions", "args", "kwargs", "value", "locked", "versions", "site", "name")
    return [name for name in fields if gc.is_tracked(getattr(node, name)) and getattr(node, name) is not _NO_KWARGS]


def test_a_recorded_node_keeps_at_most_two_objects_the_collector_tracks():
    # The node and its parents tuple: everything else it holds is tuples of arrays and numbers, which the
    # collector stops tracking at their first collection (a list would stay tracked for the graph's life).
    x = cr.tensor(np.linspace(0.1, 0.9, 16), requires_grad=True)
    c = np.full(16, 2.0)
    y = x
    for _ in range(3):
        y = cnp.tanh(y * 0.9 + x) - 0.1  # saves inputs, a leaf parent with a version, saves its output, nothing
        y = y * c  # a constant array saved and locked
        y = (cnp.sum(y.reshape(4, 4), axis=0, keepdims=True) + y.reshape(4, 4)).reshape(16)  # keywords
        y = cnp.concatenate([y[8:], y[:8]])  # a variadic primitive, of views
    gc.collect()
    gc.collect()  # (a tuple holding a tuple, such as a shape, is untracked one collection after its item)
    nodes, node = [], y._node
    stack, seen = [node], set()
    while stack:
        node = stack.pop()
        if id(node) in seen or not isinstance(node, cr.Node):
            continue
        seen.add(id(node))
        nodes.append(node)
        stack.extend(node.parents)
    assert len(nodes) > 20
    assert any(node.versions for node in nodes) and any(node.locked for node in nodes)
    c_engine = cr.engine_info()["engine"] == "c"
    for node in nodes:
        # The C engine records a node that can be on no reference cycle untracked (a rule-table primitive,
        # plain leaf Tensors, arrays, numbers, Shapes, tuples and slices): here, every one.
        assert gc.is_tracked(node) is not c_engine, node
        # (an index is a slice object, which the collector tracks: one more for indexing nodes)
        allowed = (["parents"], ["parents", "args"]) if node.primitive.name == "getitem" else (["parents"],)
        assert _tracked_by_node(node) in allowed, (node, _tracked_by_node(node))
    y.sum().backward()
    np.testing.assert_allclose(x.grad, cr.grad(lambda v: _lean_chain(v, c).sum())(x.data), rtol=1e-12)


def _lean_chain(x, c):
    y = x
    for _ in range(3):
        y = cnp.tanh(y * 0.9 + x) - 0.1
        y = y * c
        y = (cnp.sum(y.reshape(4, 4), axis=0, keepdims=True) + y.reshape(4, 4)).reshape(16)
        y = cnp.concatenate([y[8:], y[:8]])
    return y


def _collected(build) -> list:
    """What of the weak references ``build()`` returns is still alive after a collection (nothing should be)."""
    gc.collect()
    refs = build()
    gc.collect()
    return [r for r in refs if r() is not None]


def _create_graph_cycle():
    x = cr.tensor(np.linspace(0.1, 1.0, 5), requires_grad=True)
    y = cnp.tanh(x * 2.0 + x).sum()
    y.backward(create_graph=True)  # x -> x.grad -> its graph -> ... -> x
    assert x.grad._node is not None
    return [weakref.ref(x), weakref.ref(x.grad), weakref.ref(y._node)]


def _create_graph_twice():
    x = cr.tensor(np.linspace(0.1, 1.0, 5), requires_grad=True)
    for _ in range(2):  # the second pass adds to a grad that is a graph already
        y = cnp.exp(x * x).sum()
        y.backward(create_graph=True)
    (x.grad * x.grad).sum().backward()  # and a third, through the first two
    return [weakref.ref(x), weakref.ref(y._node)]


def _grad_assigned_a_graph():
    x = cr.tensor(np.ones(3), requires_grad=True)
    y = cnp.sin(x) * 3.0
    x.grad = y
    return [weakref.ref(x), weakref.ref(y._node)]


class _TensorWithAttributes(cr.Tensor):
    pass


def _leaf_with_a_dict():
    x = _TensorWithAttributes(np.ones(3), requires_grad=True)
    y = cnp.cos(cnp.sin(x) * 3.0) + 1.0  # the leaf is two nodes up
    x.remembered = y
    return [weakref.ref(x), weakref.ref(y._node)]


def _primitive_closing_over_its_output():
    from chainrule.extend import defvjp, primitive

    cell = []
    doubled = primitive(lambda a: a * 2.0 + 0.0 * len(cell))
    defvjp(doubled, lambda g, ans, a: 2.0 * g)
    x = cr.tensor(np.ones(3), requires_grad=True)
    y = cnp.sin(doubled(x)) * 2.0
    cell.append(y)
    return [weakref.ref(x), weakref.ref(y._node)]


def _keyword_holding_a_graph():
    x = cr.tensor(np.ones(3), requires_grad=True)
    y = cnp.sin(x) * 3.0
    z = cnp.sum(y * 2.0, axis=0, keepdims=False)
    holder = [z]
    w = cr.Primitive("identity_with_extra", lambda a, extra: a, (lambda g, ans, a, extra: g,))(z, extra=holder)
    holder.append(w)
    return [weakref.ref(x), weakref.ref(w._node)]


@pytest.mark.parametrize("build", [_create_graph_cycle, _create_graph_twice, _grad_assigned_a_graph,
                                   _leaf_with_a_dict, _primitive_closing_over_its_output,
                                   _keyword_holding_a_graph])
def test_graphs_on_reference_cycles_are_collected(build):
    # The C engine keeps nodes that can be on no cycle out of the collector's books; every way a graph can
    # lead back to itself must leave the collector able to free it (both engines).
    assert _collected(build) == []


def test_a_long_chain_leaves_nothing_for_the_collector_on_the_c_engine():
    x = cr.tensor(np.ones(16), requires_grad=True)
    gc.collect()
    tracked = {id(o) for o in gc.get_objects()}
    y = x
    for i in range(400):
        y = [y * 0.9, y + x, cnp.tanh(y), y - 0.1][i % 4]
    new = [o for o in gc.get_objects() if id(o) not in tracked and isinstance(o, cr.Node)]
    assert len(new) == (0 if cr.engine_info()["engine"] == "c" else 400)
    y.sum().backward()
    assert x.grad.shape == (16,)


def test_a_tensor_is_named_with_text():
    assert cr.tensor([1.0], name="w").name == "w"
    with pytest.raises(TypeError, match="Tensor.name must be a str or None, not int"):
        cr.tensor([1.0], name=5)


@pytest.mark.skipif(cr.engine_info()["engine"] != "c", reason="the C engine's descriptors")
def test_names_are_text_on_the_c_engine():
    x = cr.tensor([1.0], requires_grad=True)
    x.name = "w"
    y = x * 2.0
    y._node.name = "doubled"
    assert (x.name, y._node.name) == ("w", "doubled")
    with pytest.raises(TypeError, match="Tensor.name must be a str or None, not list"):
        x.name = [y]
    with pytest.raises(TypeError, match="site and name are str or None"):
        y._node.name = [y]
    with pytest.raises(AttributeError):
        y._node.args = (y,)


def test_backward_order_holds_when_creation_order_interleaves_branches():
    # Tensor.backward walks nodes by descending creation number; branches recorded interleaved, joined
    # late, and a node reached by paths of different lengths must still get every child's signal first.
    def f(x):
        a = cnp.sin(x)
        b = cnp.cos(x)
        a2 = a * b
        b2 = b * 3.0
        long = a2
        for _ in range(5):
            long = cnp.tanh(long) + b
        return (long * b2 + a).sum() + (a2 * a2).sum()

    x0 = np.array([0.3, -0.7, 1.1])
    x = cr.tensor(x0, requires_grad=True)
    f(x).backward()
    # graph_between's toposort path (chainrule.grad) and central differences agree with it
    np.testing.assert_allclose(x.grad, cr.grad(f)(x0), rtol=1e-12)
    eps = 1e-6
    numeric = [(f(x0 + eps * e) - f(x0 - eps * e)) / (2 * eps) for e in np.eye(3)]
    np.testing.assert_allclose(x.grad, numeric, rtol=1e-6)


def test_creation_walk_through_multi_output_nodes_and_create_graph():
    m0 = np.array([[2.0, 0.5, 0.1], [0.5, 1.0, 0.3], [0.1, 0.3, 3.0]])
    m = cr.tensor(m0, requires_grad=True)
    w, v = cnp.linalg.eigh(m)  # two outputs: select nodes newer than their multi-output node
    loss = (w * w).sum() + (v[:, 0] ** 2 * w[0]).sum()
    loss.backward(create_graph=True)
    first = m.grad
    np.testing.assert_allclose(first.data, cr.grad(lambda a: (cnp.linalg.eigh(a)[0] ** 2).sum()
                                                   + (cnp.linalg.eigh(a)[1][:, 0] ** 2
                                                      * cnp.linalg.eigh(a)[0][0]).sum())(m0), rtol=1e-8)
    x = cr.tensor([0.5, 1.5], requires_grad=True)
    y = (cnp.sin(x) * x).sum()
    y.backward(create_graph=True)
    g = x.grad
    x.grad = None
    g.sum().backward()  # the second derivative, through the first backward's recorded graph
    xs = np.array([0.5, 1.5])
    np.testing.assert_allclose(x.grad, 2 * np.cos(xs) - xs * np.sin(xs), rtol=1e-12)


def test_graphs_recorded_in_two_threads_interleave_creation_numbers_and_both_walks_are_right():
    import threading

    results, errors = {}, []
    start = threading.Barrier(2)

    def work(k):
        try:
            x = cr.tensor(np.linspace(0.1, 1.0, 8) * (k + 1), requires_grad=True)
            start.wait()
            y = x
            for _ in range(300):
                y = cnp.tanh(y) * 0.9 + x * 0.01
            y.sum().backward()
            results[k] = x.grad
        except Exception as error:  # pragma: no cover (reported below)
            errors.append(error)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors

    def f(x):
        y = x
        for _ in range(300):
            y = cnp.tanh(y) * 0.9 + x * 0.01
        return y.sum()

    for k in range(2):
        np.testing.assert_allclose(results[k], cr.grad(f)(np.linspace(0.1, 1.0, 8) * (k + 1)), rtol=1e-12)


def test_a_released_locking_node_gives_nothing_back_twice():
    c = np.array([1.0, 2.0, 3.0])
    x = cr.tensor([1.0, 1.0, 1.0], requires_grad=True)
    y1 = (x * c).sum()
    y1.backward()  # releases: c writable again, the node has nothing left to unlock
    y2 = (x * c).sum()  # a second graph owns c now
    del y1
    gc.collect()
    with pytest.raises(ValueError, match="read-only"):
        c[0] = 0.0
    y2.backward()
    c[0] = 0.0


def test_higher_order_loops_from_two_threads_leave_nothing_behind():
    # create_graph backward passes through .grad (reference cycles), hvp and grad of grad, repeated from two
    # threads: after a collection the memory is what it was (a leaked iteration keeps kilobytes of graph)
    import threading
    import tracemalloc

    def loop(n):
        for _ in range(n):
            x = cr.tensor(np.linspace(0.1, 1.0, 50), requires_grad=True)
            (cnp.tanh(x) * x).sum().backward(create_graph=True)  # x -> x.grad -> its graph -> x
            assert float((x.grad ** 2).sum()) > 0
            cr.hvp(lambda v: (cnp.sin(v) ** 2).sum(), (np.ones(50),), (np.ones(50),))
            cr.grad(lambda v: cr.grad(lambda u: (cnp.exp(u) * v).sum())(v).sum())(np.ones(50))

    loop(3)  # (caches filled)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        threads = [threading.Thread(target=loop, args=(15,)) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 64_000, grown
