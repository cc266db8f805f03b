"""chainrule.distributed in one process (MPI's singleton rank): the wrappers change nothing, errors are clear,
and the docstring examples run."""

import doctest
import importlib

import numpy as np
import pytest

pytest.importorskip("mpi4py")
import chainrule  # noqa: E402
import chainrule.distributed as dist  # noqa: E402
import chainrule.nn as nn  # noqa: E402
import chainrule.optim as optim  # noqa: E402
from chainrule.data import ArrayDataset  # noqa: E402
from chainrule.train import fit  # noqa: E402


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 3))
    return ArrayDataset(x, (x.sum(axis=1) > 0).astype(np.int64))


@pytest.mark.parametrize("compiled", [False, True])
def test_one_rank_trains_exactly_as_without_the_wrappers(compiled):
    plain = nn.mlp([3, 4, 2], rng=1)
    fit(plain, "cross-entropy", optim.Adam(plain.parameters(), lr=0.05), _data(), epochs=2, batch_size=8,
        progress=False, compiled=compiled)
    wrapped = nn.mlp([3, 4, 2], rng=1)
    sampler = dist.DistributedSampler(_data(), 8, seed=0)
    opt = dist.DistributedOptimizer(optim.Adam(wrapped.parameters(), lr=0.05), sampler=sampler)
    fit(wrapped, "cross-entropy", opt, sampler, epochs=2, batch_size=8, progress=False, compiled=compiled)
    for name, value in plain.state_dict().items():
        np.testing.assert_array_equal(wrapped.state_dict()[name], value)
    assert opt.state_dict()["type"] == "Adam"
    assert dist.world().collectives == 0  # one rank: no collective was posted


def test_parameters_without_gradients_stay_none():
    a = chainrule.tensor(np.ones(3), requires_grad=True)
    b = chainrule.tensor(np.ones((2, 2), dtype=np.float32), requires_grad=True)
    opt = dist.DistributedOptimizer(optim.SGD([a, b], lr=0.5))
    a.grad = np.array([1.0, 2.0, 3.0])
    opt.allreduce_gradients()
    assert b.grad is None and a.grad.tolist() == [1.0, 2.0, 3.0]
    b.grad = np.ones((2, 3))
    with pytest.raises(dist.DistributedError, match=r"parameter 1 has shape \(2, 2\) but its gradient has shape"):
        opt.step()


def test_optimizer_surface_is_the_wrapped_one():
    w = chainrule.tensor(np.ones(2), requires_grad=True)
    inner = optim.SGD([w], lr=0.1, momentum=0.9)
    opt = dist.DistributedOptimizer(inner)
    opt.lr = 0.2
    assert inner.lr == 0.2 and opt.params == [w]
    schedule = optim.StepLR(opt, step_size=1, gamma=0.5)   # a schedule on the wrapper drives the inner lr
    schedule.step()
    assert inner.lr == pytest.approx(0.1)
    w.grad = np.ones(2)
    opt.step()
    opt.zero_grad()
    assert w.grad is None and "velocity" in inner.state[0]
    state = opt.state_dict()
    opt.load_state_dict(state)
    assert "rank=0, size=1" in repr(opt)


def test_allreduce_errors_and_types():
    with pytest.raises(ValueError, match="op must be 'mean' or 'sum'"):
        dist.allreduce([np.ones(2)], op="max")
    with pytest.raises(TypeError, match="integer and boolean arrays can only be summed"):
        dist.allreduce({"n": np.arange(3)})
    with pytest.raises(TypeError, match="leaves must be arrays, Tensors or numbers; got str"):
        dist.allreduce(["text"])
    out = dist.allreduce({"a": np.ones((2, 2), dtype=np.float32), "b": (2.0, np.arange(3))}, op="sum")
    assert out["a"].dtype == np.float32 and isinstance(out["b"], tuple) and out["b"][1].tolist() == [0, 1, 2]
    assert dist.broadcast({"k": [1.5]}) == {"k": [1.5]}
    w = chainrule.tensor(np.ones(2), requires_grad=True)
    with pytest.raises(TypeError, match="the collective is not differentiable"):
        chainrule.grad(lambda v: chainrule.numpy.sum(dist.allreduce([v * 2.0])[0]))(np.ones(2))
    with pytest.raises(TypeError, match="the collective is not differentiable"):
        dist.broadcast({"w": w})
    with chainrule.no_grad():
        assert dist.allreduce([w])[0].tolist() == [1.0, 1.0]
    assert dist.allreduce([w.detach()], op="sum")[0].tolist() == [1.0, 1.0]


def test_timeout_settings(monkeypatch):
    with pytest.raises(dist.DistributedError, match="timeout must be positive"):
        dist.Communicator(timeout=0)
    monkeypatch.setenv("CHAINRULE_COLLECTIVE_TIMEOUT", "-1")
    with pytest.raises(dist.DistributedError, match="CHAINRULE_COLLECTIVE_TIMEOUT must be a positive number"):
        dist.Communicator()
    monkeypatch.setenv("CHAINRULE_COLLECTIVE_TIMEOUT", "7.5")
    assert dist.Communicator().timeout == 7.5


def test_buffers_must_be_contiguous():
    comm = dist.world()
    with pytest.raises(TypeError, match="writable C-contiguous ndarray"):
        comm.allreduce_buffer(np.ones((4, 4))[:, 0])
    with pytest.raises(TypeError, match="writable C-contiguous ndarray; got list"):
        comm.broadcast_buffer([1.0, 2.0])


MODULES = ["chainrule.distributed", "chainrule.distributed._comm", "chainrule.distributed._optim",
           "chainrule.distributed._sampler", "chainrule.distributed.cli"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, extraglobs={"chainrule": chainrule, "np": np}, verbose=False,
                             optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
