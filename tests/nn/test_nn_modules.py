"""Modules, parameters, layers, initialisation and architecture descriptions."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn


def test_parameter_is_a_tensor_that_requires_grad():
    p = nn.Parameter([1, 2, 3])
    assert isinstance(p, cr.Tensor) and p.requires_grad and p.dtype == np.float64


def test_linear_shapes_and_formula():
    layer = nn.Linear(3, 2, rng=0)
    x = np.arange(15.0).reshape(5, 3)
    y = layer(cr.tensor(x))
    assert layer.weight.shape == (3, 2) and layer.bias.shape == (2,)
    np.testing.assert_allclose(y.data, x @ layer.weight.data + layer.bias.data)


def test_linear_gradients():
    layer = nn.Linear(3, 2, rng=0)
    x = np.random.default_rng(1).normal(size=(4, 3))
    (layer(cr.tensor(x)) ** 2).sum().backward()
    out = x @ layer.weight.data + layer.bias.data
    np.testing.assert_allclose(layer.weight.grad, x.T @ (2 * out))
    np.testing.assert_allclose(layer.bias.grad, (2 * out).sum(axis=0))


def test_linear_init_is_seedable_and_scaled():
    a, b = nn.Linear(100, 50, rng=3), nn.Linear(100, 50, rng=3)
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    assert np.abs(a.weight.data).max() <= np.sqrt(6 / 150)
    he = nn.Linear(1000, 200, init="he", rng=0).weight.data
    assert he.std() == pytest.approx(np.sqrt(2 / 1000), rel=0.05)


def test_linear_init_by_activation_name():
    assert nn.Linear(3, 2, init="relu", rng=0).init == "he"
    assert nn.Linear(3, 2, init="sigmoid", rng=0).init == "xavier"
    with pytest.raises(ValueError, match="unknown init 'orthogonal'"):
        nn.Linear(3, 2, init="orthogonal")


def test_mlp_picks_init_per_activation():
    relu_net = nn.mlp([4, 8, 2], "relu", rng=0)
    tanh_net = nn.mlp([4, 8, 2], "tanh", rng=0)
    assert relu_net[0].init == "he" and tanh_net[0].init == "xavier" and relu_net[2].init == "xavier"


def test_named_parameters_and_state_dict_roundtrip():
    net = nn.mlp([4, 8, 3], rng=0)
    names = [n for n, _ in net.named_parameters()]
    assert names == ["0.weight", "0.bias", "2.weight", "2.bias"]
    other = nn.mlp([4, 8, 3], rng=1)
    other.load_state_dict(net.state_dict())
    for (_, p), (_, q) in zip(net.named_parameters(), other.named_parameters(), strict=True):
        np.testing.assert_array_equal(p.data, q.data)


def test_load_state_dict_errors_name_the_problem():
    net = nn.mlp([4, 8, 3], rng=0)
    state = net.state_dict()
    state["0.weight"] = np.zeros((5, 8))
    with pytest.raises(ValueError, match=r"'0.weight' has shape \(5, 8\)"):
        net.load_state_dict(state)
    with pytest.raises(KeyError, match="missing"):
        net.load_state_dict({})


def test_zero_grad_train_eval():
    net = nn.Sequential(nn.Linear(2, 2, rng=0), nn.Dropout(0.5, rng=0))
    net(cr.tensor(np.ones((3, 2)))).sum().backward()
    assert net[0].weight.grad is not None
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    net.eval()
    assert not net[1].training
    net.train()
    assert net[1].training


def test_dropout_masks_and_scales_in_training_only():
    drop = nn.Dropout(0.5, rng=0)
    y = drop(cr.tensor(np.ones(1000))).data
    assert set(np.unique(y)) <= {0.0, 2.0} and 400 < (y == 0).sum() < 600
    np.testing.assert_array_equal(drop.eval()(cr.tensor(np.ones(5))).data, np.ones(5))


def test_activation_modules_match_functions():
    x = np.linspace(-3, 3, 7).reshape(1, 7)
    t = cr.tensor(x)
    np.testing.assert_allclose(nn.Sigmoid()(t).data, 1 / (1 + np.exp(-x)))
    np.testing.assert_allclose(nn.Tanh()(t).data, np.tanh(x))
    np.testing.assert_allclose(nn.ReLU()(t).data, np.maximum(x, 0))
    np.testing.assert_allclose(nn.Softmax()(t).data, np.exp(x) / np.exp(x).sum())
    np.testing.assert_allclose(nn.LogSoftmax()(t).data, x - np.log(np.exp(x).sum()))
    assert nn.Identity()(t) is t
    np.testing.assert_allclose(nn.relu(t).data, np.maximum(x, 0))


def test_repr_shows_parameter_counts():
    text = repr(nn.mlp([64, 64, 10], rng=0))
    assert "Linear(64 -> 64, init=he)  # 4,160 parameters" in text and "total: 4,810 parameters" in text


def test_build_model_from_spec():
    net = nn.mlp([5, 7, 3], "tanh", rng=0)
    rebuilt = nn.build_model(net.spec(), rng=1)
    assert rebuilt.spec() == net.spec() == {"type": "mlp", "sizes": [5, 7, 3], "activation": "tanh"}
    seq = nn.Sequential(nn.Linear(2, 3, rng=0), nn.Sigmoid(), nn.Sequential(nn.Linear(3, 1, rng=0)))
    again = nn.build_model(seq.spec())
    assert again.spec() == seq.spec()
    assert [n for n, _ in again.named_parameters()] == ["0.weight", "0.bias", "2.0.weight", "2.0.bias"]
    with pytest.raises(ValueError, match="unknown layer type 'conv'"):
        nn.build_model({"type": "conv"})


def test_mlp_rejects_bad_arguments():
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        nn.mlp([2, 3, 1], "swish")
    with pytest.raises(ValueError, match="at least an input and an output"):
        nn.mlp([2])


def test_whole_mlp_gradcheck():
    net = nn.mlp([3, 4, 2], "sigmoid", rng=0)
    x, k = np.random.default_rng(0).normal(size=(5, 3)), np.array([0, 1, 1, 0, 1])

    def objective(w0, b0, w1, b1):
        h = nn.sigmoid(cr.tensor(x) @ w0 + b0)
        return nn.softmax_cross_entropy(h @ w1 + b1, k)

    assert cr.gradcheck(objective, *[p.data for p in net.parameters()])


def test_functional_call_differentiates_with_respect_to_the_given_values():
    net = nn.mlp([3, 4, 2], "tanh", rng=0, dtype=np.float64)
    x = np.random.default_rng(1).standard_normal((5, 3))
    params = {name: p.data * 0.5 for name, p in net.named_parameters()}  # other values than the model's
    loss = lambda ps: (nn.functional_call(net, ps, x) ** 2).sum()  # noqa: E731
    grads = cr.grad(loss)(params)
    # the same as the eager gradient of a copy of the model holding those values
    twin = nn.mlp([3, 4, 2], "tanh", rng=0, dtype=np.float64)
    twin.load_state_dict(params)
    (twin(cr.tensor(x)) ** 2).sum().backward()
    for name, p in twin.named_parameters():
        np.testing.assert_allclose(grads[name], p.grad, rtol=1e-12)
    assert all(p.grad is None for p in net.parameters())  # the model's own Parameters were not touched
    assert cr.gradcheck(lambda w: (nn.functional_call(net, {**params, "0.weight": w}, x) ** 2).sum(),
                        params["0.weight"], order=2)


def test_parameters_from_restores_the_model_even_after_an_error():
    net = nn.Linear(2, 1, rng=0)
    before = {name: (p, p.data) for name, p in net.named_parameters()}
    with pytest.raises(ValueError, match="'weight' has shape \\(3, 1\\)"):
        nn.functional_call(net, {"weight": np.ones((3, 1))}, np.ones((1, 2)))
    with pytest.raises(KeyError, match="no parameters named \\['wieght'\\]"):
        nn.functional_call(net, {"wieght": np.ones((2, 1))}, np.ones((1, 2)))
    with pytest.raises(TypeError, match="params must be a dict of values by parameter name"):
        nn.functional_call(net, [np.ones((2, 1))], np.ones((1, 2)))
    with pytest.raises(ZeroDivisionError), nn.parameters_from(net, {"bias": np.zeros(1)}):
        raise ZeroDivisionError
    for name, p in net.named_parameters():
        assert p is before[name][0] and p.data is before[name][1]
        assert p.requires_grad and p.is_leaf
    # values not given keep the model's own; plain arrays are constants (no gradient asked of them)
    out = nn.functional_call(net, {"bias": np.array([10.0])}, np.ones((1, 2)))
    np.testing.assert_allclose(out.data, np.ones((1, 2)) @ net.weight.data + 10.0)
