"""The layers beyond the MLP: shapes, float64 gradchecks through their functions, PyTorch as an oracle (where
installed), modes and buffers, specs, errors, and composition (compile, create_graph, threads)."""

from __future__ import annotations

import threading
import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F
import chainrule.numpy as cnp


def _params64(module):
    return {name: p.data.astype(np.float64) for name, p in module.named_parameters()}


def _check_module(module, x, order=1, **kw):
    """gradcheck the module's output with respect to its input and every parameter, in float64."""
    module.to(np.float64)
    params = _params64(module)
    assert cr.gradcheck(lambda xs, ps: nn.functional_call(module, ps, xs), x, params, order=order, **kw)


# ---- gradchecks (float64) -----------------------------------------------------------------------------
@pytest.mark.parametrize("options", [{}, {"stride": 2, "padding": 1}, {"groups": 2, "dilation": 2, "padding": 2}])
def test_conv2d_layer_gradcheck(options, rng):
    conv = nn.Conv2d(4, 6, 3, rng=0, **options)
    _check_module(conv, rng.standard_normal((2, 4, 6, 5)), order=2)


def test_conv1d_layer_gradcheck(rng):
    _check_module(nn.Conv1d(3, 4, 3, stride=2, padding=1, rng=0), rng.standard_normal((2, 3, 9)), order=2)


def test_pool_layers_gradcheck(rng):
    x = (rng.permutation(2 * 3 * 6 * 6) * 0.1).reshape(2, 3, 6, 6)  # distinct values: no ties in a window
    assert cr.gradcheck(lambda x: F.max_pool2d(x, 3, 2, 1), x, order=2)
    assert cr.gradcheck(lambda x: F.avg_pool2d(x, 3, 2, 1), x, order=2)


@pytest.mark.parametrize(("layer", "shape"), [(lambda: nn.BatchNorm1d(3), (5, 3)),
                                              (lambda: nn.BatchNorm1d(3), (4, 3, 2)),
                                              (lambda: nn.BatchNorm2d(2), (3, 2, 2, 3))])
def test_batch_norm_gradcheck_in_both_modes(layer, shape, rng):
    module = layer()
    x = rng.standard_normal(shape)
    _check_module(module, x, order=2)
    module.eval()
    module.running_mean[:] = rng.standard_normal(module.num_features)
    module.running_var[:] = rng.uniform(0.5, 2.0, module.num_features)
    _check_module(module, x, order=2)


def test_layer_norm_embedding_attention_gradcheck(rng):
    _check_module(nn.LayerNorm((3, 4)), rng.standard_normal((2, 3, 4)), order=2)
    emb = nn.Embedding(5, 3, rng=0).to(np.float64)
    index = np.array([[0, 4, 4], [1, 0, 2]])
    assert cr.gradcheck(lambda w: nn.functional_call(emb, {"weight": w}, index), emb.weight.data, order=2)
    attn = nn.MultiheadAttention(4, 2, rng=0).to(np.float64)
    mask = np.triu(np.ones((3, 3), bool), 1)
    assert cr.gradcheck(lambda x, ps: nn.functional_call(attn, ps, x, mask=mask)[0],
                        rng.standard_normal((2, 3, 4)), _params64(attn), order=2)


# ---- PyTorch as the oracle ---------------------------------------------------------------------------
def _torch_pair(torch, x):
    return torch.tensor(x, requires_grad=True), cr.tensor(x, requires_grad=True)


@pytest.mark.parametrize("options", [{}, {"stride": 2, "padding": 1}, {"groups": 2, "dilation": 2, "padding": 2}])
def test_conv_layers_match_torch(options, rng):
    torch = pytest.importorskip("torch")
    conv = nn.Conv2d(4, 6, 3, rng=0, **options).to(np.float64)
    conv.bias.data[:] = rng.standard_normal(6)
    x = rng.standard_normal((2, 4, 7, 6))
    xt, xc = _torch_pair(torch, x)
    wt, bt = torch.tensor(conv.weight.data, requires_grad=True), torch.tensor(conv.bias.data, requires_grad=True)
    yt = torch.nn.functional.conv2d(xt, wt, bt, **options)
    yc = conv(xc)
    g = rng.standard_normal(tuple(yt.shape))
    yt.backward(torch.tensor(g))
    yc.backward(g)
    np.testing.assert_allclose(yc.data, yt.detach().numpy(), atol=1e-12)
    for ours, theirs in ((xc.grad, xt.grad), (conv.weight.grad, wt.grad), (conv.bias.grad, bt.grad)):
        np.testing.assert_allclose(ours, theirs.numpy(), atol=1e-12)
    conv1 = nn.Conv1d(3, 4, 3, stride=2, padding=1, dilation=2, rng=0).to(np.float64)
    x1 = rng.standard_normal((2, 3, 11))
    np.testing.assert_allclose(conv1(cr.tensor(x1)).data, torch.nn.functional.conv1d(
        torch.tensor(x1), torch.tensor(conv1.weight.data), torch.tensor(conv1.bias.data), 2, 1, 2).numpy(), atol=1e-12)


def test_pools_match_torch(rng):
    torch = pytest.importorskip("torch")
    x = (rng.permutation(2 * 3 * 7 * 6) * 0.1).reshape(2, 3, 7, 6)
    for ours, theirs in ((lambda t: F.max_pool2d(t, 3, 2, 1), lambda t: torch.nn.functional.max_pool2d(t, 3, 2, 1)),
                         (lambda t: F.avg_pool2d(t, 3, 2, 1), lambda t: torch.nn.functional.avg_pool2d(t, 3, 2, 1)),
                         (nn.MaxPool2d(2), torch.nn.MaxPool2d(2)), (nn.AvgPool2d(2), torch.nn.AvgPool2d(2))):
        xt, xc = _torch_pair(torch, x)
        yt, yc = theirs(xt), ours(xc)
        g = rng.standard_normal(tuple(yt.shape))
        yt.backward(torch.tensor(g))
        yc.backward(g)
        np.testing.assert_allclose(yc.data, yt.detach().numpy(), atol=1e-12)
        np.testing.assert_allclose(xc.grad, xt.grad.numpy(), atol=1e-12)


def test_batch_norm_matches_torch_in_training_and_eval(rng):
    torch = pytest.importorskip("torch")
    ours, theirs = nn.BatchNorm2d(3).to(np.float64), torch.nn.BatchNorm2d(3).double()
    for _ in range(3):
        x = rng.normal(2.0, 3.0, (4, 3, 2, 5))
        xt, xc = _torch_pair(torch, x)
        yt, yc = theirs(xt), ours(xc)
        g = rng.standard_normal(x.shape)
        yt.backward(torch.tensor(g))
        yc.backward(g)
        np.testing.assert_allclose(yc.data, yt.detach().numpy(), atol=1e-10)
        np.testing.assert_allclose(xc.grad, xt.grad.numpy(), atol=1e-10)
        np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), atol=1e-10)
        theirs.weight.grad = None
        ours.weight.grad = None
    np.testing.assert_allclose(ours.running_mean, theirs.running_mean.numpy(), atol=1e-12)
    np.testing.assert_allclose(ours.running_var, theirs.running_var.numpy(), atol=1e-12)
    ours.eval()
    theirs.eval()
    x = rng.standard_normal((2, 3, 2, 2))
    np.testing.assert_allclose(ours(cr.tensor(x)).data, theirs(torch.tensor(x)).detach().numpy(), atol=1e-12)


def test_layer_norm_and_attention_match_torch(rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 3, 4))
    ln = nn.LayerNorm(4).to(np.float64)
    ln.weight.data[:] = rng.standard_normal(4)
    np.testing.assert_allclose(ln(cr.tensor(x)).data, torch.nn.functional.layer_norm(
        torch.tensor(x), (4,), torch.tensor(ln.weight.data), torch.tensor(ln.bias.data)).numpy(), atol=1e-12)
    ours = nn.MultiheadAttention(4, 2, rng=0).to(np.float64)
    theirs = torch.nn.MultiheadAttention(4, 2, batch_first=True).double()
    with torch.no_grad():  # our Linear weights are (in, out): PyTorch's are (out, in)
        theirs.in_proj_weight.copy_(torch.tensor(np.concatenate([ours.q.weight.data.T, ours.k.weight.data.T,
                                                                 ours.v.weight.data.T])))
        theirs.in_proj_bias.copy_(torch.tensor(rng.standard_normal(12)))
        ours.q.bias.data[:], ours.k.bias.data[:], ours.v.bias.data[:] = np.split(theirs.in_proj_bias.numpy(), 3)
        theirs.out_proj.weight.copy_(torch.tensor(ours.out.weight.data.T))
        theirs.out_proj.bias.zero_()
    emb = nn.Embedding(5, 3, rng=0).to(np.float64)
    index = np.array([[0, 4, 4], [1, 0, 2]])
    np.testing.assert_array_equal(emb(index).data, torch.nn.functional.embedding(
        torch.tensor(index), torch.tensor(emb.weight.data)).numpy())
    mask = np.triu(np.ones((3, 3), bool), 1)
    out_t, weights_t = theirs(*(torch.tensor(x),) * 3, attn_mask=torch.tensor(mask))
    out_c, weights_c = ours(cr.tensor(x), mask=mask)
    np.testing.assert_allclose(out_c.data, out_t.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(weights_c.data, weights_t.detach().numpy(), atol=1e-12)


# ---- shapes, modes, buffers, specs ---------------------------------------------------------------------
def test_default_dtype_is_float32_and_kept():
    net = nn.CNN((1, 8, 8), [4, 8], [16], 10, rng=0)
    assert {p.dtype for p in net.parameters()} == {np.dtype(np.float32)}
    x = cr.tensor(np.zeros((3, 64), np.float32))
    out = net(x)
    assert out.dtype == np.float32
    cnp.sum(out).backward()
    assert {p.grad.dtype for p in net.parameters()} == {np.dtype(np.float32)}


def test_batch_norm_running_statistics_and_state_dict(rng):
    bn = nn.BatchNorm1d(2, momentum=0.5)
    x = rng.normal(3.0, 2.0, (8, 2)).astype(np.float32)
    bn(cr.tensor(x))
    np.testing.assert_allclose(bn.running_mean, 0.5 * x.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(bn.running_var, 0.5 + 0.5 * x.var(axis=0, ddof=1), rtol=1e-5)
    state = bn.state_dict()
    assert set(state) == {"weight", "bias", "running_mean", "running_var"}
    fresh = nn.BatchNorm1d(2)
    fresh.load_state_dict(state)
    np.testing.assert_array_equal(fresh.running_var, bn.running_var)
    bn.eval()
    before = bn.running_mean.copy()
    bn(cr.tensor(x))
    np.testing.assert_array_equal(bn.running_mean, before)  # eval mode never updates them


def test_specs_rebuild_every_layer():
    layers = [nn.Conv2d(2, 4, 3, stride=2, padding=1, groups=2, rng=0), nn.Conv1d(2, 3, 5, dilation=2, rng=0),
              nn.MaxPool2d(2), nn.AvgPool2d(3, 1, 1), nn.Flatten(), nn.Unflatten((2, 3)), nn.BatchNorm1d(3),
              nn.BatchNorm2d(4), nn.LayerNorm((2, 3)), nn.Embedding(7, 2, rng=0), nn.MultiheadAttention(6, 3, rng=0),
              nn.CNN((1, 8, 8), [4], [8], 3, pool_every=1, dropout=0.25, rng=0)]
    for layer in layers:
        rebuilt = nn.build_model(layer.spec(), rng=0)
        assert type(rebuilt) is type(layer) and rebuilt.spec() == layer.spec()
        assert [(n, p.shape) for n, p in rebuilt.named_parameters()] == [
            (n, p.shape) for n, p in layer.named_parameters()]
    stack = nn.Sequential(nn.Unflatten((1, 4, 4)), nn.Conv2d(1, 2, 3, rng=0), nn.Flatten())
    assert nn.build_model(stack.spec()).spec() == stack.spec()


def test_cnn_layers_and_shapes():
    net = nn.CNN((1, 8, 8), channels=[4, 8], hidden=[16], classes=10, rng=0)
    kinds = [type(m).__name__ for m in net]
    assert kinds == ["Unflatten", "Conv2d", "ReLU", "Conv2d", "ReLU", "MaxPool2d", "Flatten", "Linear", "ReLU",
                     "Linear"]
    assert net(cr.tensor(np.zeros((2, 1, 8, 8), np.float32))).shape == (2, 10)


@pytest.mark.parametrize(("call", "message"), [
    (lambda: F.conv2d(np.ones((1, 3, 5, 5)), np.ones((2, 2, 3, 3))), r"conv2d: the input has 3 channels, but the "
                                                                      r"weight \(2, 2, 3, 3\) expects 2"),
    (lambda: F.conv2d(np.ones((3, 5, 5)), np.ones((2, 3, 3, 3))), r"conv2d: expected an input of shape \(N, C, H, W\)"),
    (lambda: F.conv2d(np.ones((1, 1, 2, 2)), np.ones((1, 1, 3, 3))), r"smaller than the kernel"),
    (lambda: F.conv2d(np.ones((1, 4, 5, 5)), np.ones((3, 2, 3, 3)), groups=2), r"groups=2 must divide"),
    (lambda: F.conv2d(np.ones((1, 1, 5, 5), np.float32), np.ones((1, 1, 3, 3))), r"the input is float32 but the "
                                                                                 r"weight is float64"),
    (lambda: F.conv2d(np.ones((1, 1, 5, 5)), np.ones((1, 1, 3, 3)), stride=0), r"stride must be an int >= 1"),
    (lambda: F.max_pool2d(np.ones((1, 1, 4, 4)), 2, padding=2), r"padding \(2, 2\) must be at most half"),
    (lambda: F.embedding(np.array([3]), np.ones((3, 2))), r"embedding: indices must lie in \[0, 3\)"),
    (lambda: F.embedding(np.array([0.5]), np.ones((3, 2))), r"embedding: expected integer indices"),
    (lambda: nn.BatchNorm2d(3)(cr.tensor(np.ones((2, 4, 2, 2)))), r"BatchNorm2d\(3\): expected an input"),
    (lambda: nn.MultiheadAttention(6, 4), r"num_heads=4 must divide embed_dim=6"),
    (lambda: nn.LayerNorm(3)(cr.tensor(np.ones((2, 4)))), r"layer_norm: the input's last axes \(4,\) must be \(3,\)"),
])
def test_clear_errors(call, message):
    with pytest.raises((ValueError, TypeError, IndexError), match=message):
        call()


# ---- composition ---------------------------------------------------------------------------------------
def test_hessian_vector_product_through_a_cnn(rng):
    """create_graph through conv, pool, flatten, linear: the gradient's directional derivative matches finite
    differences of the gradient."""
    net = nn.CNN((1, 6, 6), [2], [], 3, pool_every=1, activation="tanh", rng=0).to(np.float64)
    x, t = rng.standard_normal((2, 36)), np.array([0, 2])
    params = _params64(net)
    loss = lambda ps: nn.cross_entropy(nn.functional_call(net, ps, x), t)
    direction = {k: rng.standard_normal(v.shape) for k, v in params.items()}
    hv = cr.hvp(loss, params, direction)
    g = cr.grad(loss)
    eps = 1e-6
    plus = g({k: v + eps * direction[k] for k, v in params.items()})
    minus = g({k: v - eps * direction[k] for k, v in params.items()})
    for k in params:
        np.testing.assert_allclose(hv[k], (plus[k] - minus[k]) / (2 * eps), rtol=1e-5, atol=1e-7)


def test_compiled_cnn_step_equals_eager(rng):
    from chainrule import optim
    from chainrule.train import compiled_step

    x, t = rng.standard_normal((8, 64)).astype(np.float32), rng.integers(0, 10, 8)
    eager, compiled = (nn.CNN((1, 8, 8), [4, 4], [8], 10, rng=0) for _ in range(2))
    opt_e, opt_c = optim.SGD(eager.parameters(), lr=0.1), optim.SGD(compiled.parameters(), lr=0.1)
    step = compiled_step(compiled, "cross-entropy", opt_c)
    with warnings.catch_warnings():
        warnings.simplefilter("error", cr.CompileWarning)  # conv and max-pool replay: no eager fallback
        for _ in range(4):
            opt_e.zero_grad()
            loss = nn.cross_entropy(eager(cr.tensor(x)), t)
            loss.backward()
            opt_e.step()
            value = step(x, t)
            assert value == pytest.approx(float(loss.item()), rel=1e-5)
    for (name, a), (_, b) in zip(eager.named_parameters(), compiled.named_parameters(), strict=True):
        np.testing.assert_allclose(a.data, b.data, rtol=1e-4, atol=1e-6, err_msg=name)


def test_batch_norm_under_compile_runs_eagerly_with_a_warning(rng):
    from chainrule import optim
    from chainrule.train import compiled_step

    net = nn.Sequential(nn.Linear(3, 4, rng=0), nn.BatchNorm1d(4), nn.Linear(4, 2, rng=1))
    step = compiled_step(net, "cross-entropy", optim.SGD(net.parameters(), lr=0.1))
    x, t = rng.standard_normal((6, 3)).astype(np.float32), np.array([0, 1, 0, 1, 1, 0])
    with pytest.warns(cr.CompileWarning, match="running statistics"):
        step(x, t)
    assert np.any(net[1].running_mean != 0)  # the eager fallback did update them


def _grad_mode_is_per_thread() -> bool:
    inside, seen = threading.Event(), []

    def hold_no_grad():
        with cr.no_grad():
            inside.set()
            release.wait()

    release = threading.Event()
    thread = threading.Thread(target=hold_no_grad)
    thread.start()
    inside.wait()
    seen.append(cr.is_grad_enabled())
    release.set()
    thread.join()
    return seen[0]


def test_conv_backward_from_two_threads(rng):
    if not _grad_mode_is_per_thread():
        pytest.skip("the engine's grad mode is still global (no_grad in one thread turns it off in another)")
    x = rng.standard_normal((4, 2, 6, 6))
    conv = nn.Conv2d(2, 3, 3, rng=0).to(np.float64)
    expected = cr.grad(lambda xs: cnp.sum(conv(xs) ** 2))(x)  # a Tensor: it depends on conv's parameters
    expected = expected.detach().numpy()
    results, errors = [], []

    def work():
        try:
            for _ in range(20):
                results.append(cr.grad(lambda xs: cnp.sum(F.conv2d(xs, conv.weight.data, conv.bias.data) ** 2))(x))
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(results) == 40
    for r in results:
        np.testing.assert_allclose(r, expected)
