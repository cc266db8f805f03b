"""Devices: a model moved with ``Module.to`` onto another device of an array library trains there, its
parameters, gradients and optimiser state stay there, and mixing devices is a clear error. Tested with
array_api_strict's own devices (``Device("device1")`` is a second CPU device that refuses to combine with
the default one), the CPU stand-in for a GPU; CuPy's ``"cuda"`` takes the same path but is untested on a GPU."""

import numpy as np
import pytest

strict = pytest.importorskip("array_api_strict")
import chainrule as cr  # noqa: E402
import chainrule.numpy as cnp  # noqa: E402
from chainrule._namespace import DeviceError, NamespaceError, device_of, on_host, to_device  # noqa: E402
from chainrule.train import evaluate, fit  # noqa: E402

DEVICE = strict.Device("device1")
RNG = np.random.default_rng(3)
X = RNG.standard_normal((12, 3))
LABELS = (X[:, 0] + X[:, 1] > 0).astype(np.int64)


def _net():
    return cr.nn.mlp([3, 5, 2], activation="relu", rng=0)


def _train(net, make_optimizer, place, steps=4):
    optimizer = make_optimizer(net.parameters())
    for _ in range(steps):
        optimizer.zero_grad()
        out = net(cr.tensor(place(X)))
        loss = cnp.mean(cnp.sum((out - place(np.eye(2)[LABELS])) ** 2.0, axis=1))
        loss.backward()
        optimizer.step()
    return optimizer


@pytest.mark.parametrize("make", [lambda p: cr.optim.SGD(p, lr=0.1, momentum=0.9),
                                  lambda p: cr.optim.Adam(p, lr=0.05)], ids=["sgd", "adam"])
def test_a_model_moved_to_another_device_trains_there_as_on_numpy(make):
    on_device = _net().to(DEVICE)
    optimizer = _train(on_device, make, lambda a: strict.asarray(a, device=DEVICE))
    expected = _net()
    _train(expected, make, lambda a: a)
    for (name, p), (_, q) in zip(on_device.named_parameters(), expected.named_parameters(), strict=True):
        assert p.data.device == DEVICE and p.grad.device == DEVICE, name
        np.testing.assert_allclose(on_host(p.data), q.data, rtol=1e-12, atol=1e-14)
    for entry in optimizer.state:
        for value in entry.values():
            if hasattr(value, "device") and not isinstance(value, np.ndarray):
                assert value.device == DEVICE


def test_state_dicts_are_numpy_and_load_back_onto_the_device():
    net = _net().to(DEVICE)
    optimizer = _train(net, lambda p: cr.optim.Adam(p, lr=0.05), lambda a: strict.asarray(a, device=DEVICE), 2)
    state, opt_state = net.state_dict(), optimizer.state_dict()
    assert all(type(v) is np.ndarray for v in state.values())
    assert opt_state["buffers"] and all(type(v) is np.ndarray for v in opt_state["buffers"].values())
    other = _net().to(DEVICE)
    other.load_state_dict(state)
    restored = cr.optim.Adam(other.parameters(), lr=0.05)
    restored.load_state_dict(opt_state)
    for p, q in zip(other.parameters(), net.parameters(), strict=True):
        assert p.data.device == DEVICE
        np.testing.assert_array_equal(on_host(p.data), on_host(q.data))
    assert all(v.device == DEVICE for entry in restored.state for v in entry.values() if hasattr(v, "device"))


@pytest.mark.parametrize("loss", ["cross-entropy", "squared-error"])
def test_fit_and_evaluate_put_numpy_batches_on_the_models_device(loss):
    net = _net().to(DEVICE)
    history = fit(net, loss, cr.optim.SGD(net.parameters(), lr=0.2), (X, LABELS), (X, LABELS),
                  epochs=3, batch_size=4, seed=0, progress=False)
    expected_net = _net()
    expected = fit(expected_net, loss, cr.optim.SGD(expected_net.parameters(), lr=0.2), (X, LABELS),
                   (X, LABELS), epochs=3, batch_size=4, seed=0, progress=False)
    assert all(device_of(p) == DEVICE for p in net.parameters())
    for got, want in zip(history.epochs, expected.epochs, strict=True):
        assert got["test_accuracy"] == want["test_accuracy"]
        np.testing.assert_allclose(got["train_loss"], want["train_loss"], rtol=1e-12)
    result = evaluate(net, loss, X, LABELS)
    assert type(result["outputs"]) is np.ndarray


def test_mixing_devices_names_the_operation_and_both_devices():
    net = _net().to(DEVICE)
    with pytest.raises(DeviceError, match=r"`matmul`: arrays on two devices .*CPU_DEVICE.*device1"):
        net(cr.tensor(strict.asarray(X)))
    a = cr.tensor(strict.asarray([1.0, 2.0]), requires_grad=True)
    b = cr.tensor([1.0, 2.0], device=DEVICE)
    with pytest.raises(DeviceError, match=r"`add`: arrays on two devices"):
        a + b


def test_tensor_with_a_device_and_to_device():
    t = cr.tensor([[1.0, 2.0]], dtype="float32", device=DEVICE, requires_grad=True)
    assert t.data.device == DEVICE and t.data.dtype == strict.float32
    assert "device=array_api_strict.Device('device1')" in repr(t)
    grad = cr.grad(lambda x: cnp.sum(cnp.tanh(x) * x))(t.data)
    assert grad.device == DEVICE
    back = to_device(to_device(np.ones(2), DEVICE), "cpu")
    assert type(back) is np.ndarray
    with pytest.raises(ValueError, match="unknown device 'cuda:x'"):
        to_device(np.ones(2), "cuda:x")


def test_cuda_without_cupy_is_one_clear_error(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "cupy", None)
    with pytest.raises(NamespaceError, match="device 'cuda' needs CuPy, which is not installed"):
        cr.tensor([1.0], device="cuda")
    with pytest.raises(NamespaceError, match="needs CuPy"):
        _net().to("cuda:1")
