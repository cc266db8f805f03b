"""Run by the 2-rank tests under ``mpiexec``: ``python _worker.py SCENARIO OUT_DIR``.

Each scenario trains or computes on its rank and writes ``rank<r>.npz`` to OUT_DIR, which the test
compares with the same computation done in one process (`reference` below).
"""

import os
import signal
import sys
import time

import numpy as np

import chainrule as cr
import chainrule.distributed as dist
import chainrule.nn as nn
import chainrule.optim as optim
from chainrule.data import ArrayDataset
from chainrule.train import fit

N_EXAMPLES, GLOBAL_BATCH, EPOCHS = 103, 10, 2  # 103 = 10 batches of 10 and a last one of 3: uneven shards


def data(n: int = N_EXAMPLES) -> ArrayDataset:
    rng = np.random.default_rng(7)
    x = rng.normal(size=(n, 5))
    y = (x[:, 0] + x[:, 1] * x[:, 2] > 0).astype(np.int64)
    return ArrayDataset(x, y)


def make(optimizer: str):
    model = nn.mlp([5, 8, 2], activation="tanh", rng=3, dtype=np.float64)  # (to float tolerance)
    if optimizer == "sgd":
        return model, optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)
    return model, optim.Adam(model.parameters(), lr=0.01)


def train(optimizer: str, compiled: bool, loader=None, wrap=None, n: int = N_EXAMPLES):
    model, opt = make(optimizer)
    if wrap is not None:
        opt = wrap(opt)
    train_data = data(n) if loader is None else loader
    history = fit(model, "cross-entropy", opt, train_data, epochs=EPOCHS, batch_size=GLOBAL_BATCH, l2=1e-3,
                  seed=5, progress=False, compiled=compiled)
    return model, opt, history


def reference(optimizer: str, compiled: bool, n: int = N_EXAMPLES) -> dict:
    """One process, global batch: what the ranks together must reproduce."""
    model, opt, history = train(optimizer, compiled, n=n)
    return {**model.state_dict(), "train_loss": np.array(history.column("train_loss"))}


def data_parallel(optimizer: str, compiled: bool, n: int = N_EXAMPLES) -> dict:
    sampler = dist.DistributedSampler(data(n), GLOBAL_BATCH, seed=5)
    started = []

    def wrap(o):
        wrapped = dist.DistributedOptimizer(o, sampler=sampler)
        started.append(dist.world().collectives)
        return wrapped

    model, opt, history = train(optimizer, compiled, loader=sampler, wrap=wrap, n=n)
    steps = len(sampler) * EPOCHS
    return {**model.state_dict(), "train_loss": np.array(history.column("train_loss")),
            "collectives_per_step": np.array((dist.world().collectives - started[0]) / steps)}


def buckets() -> dict:
    """Parameters of two dtypes: one allreduce per dtype; a gradient only one rank has is averaged with
    zeros; a parameter no rank has a gradient for keeps grad None."""
    comm, r = dist.init(), dist.rank()
    a = cr.tensor(np.zeros(3), requires_grad=True)
    b = cr.tensor(np.zeros((2, 2), dtype=np.float32), requires_grad=True)
    c = cr.tensor(np.zeros(4), requires_grad=True)
    d = cr.tensor(np.zeros(2), requires_grad=True)
    opt = dist.DistributedOptimizer(optim.SGD([a, b, c, d], lr=1.0))
    before = comm.collectives
    a.grad = np.full(3, r + 1.0)
    b.grad = np.full((2, 2), 10.0 * (r + 1), dtype=np.float32)
    c.grad = np.ones(4) if r == 1 else None
    opt.step()
    return {"a": a.data, "b": b.data, "c": c.data, "d_grad_is_none": np.array(d.grad is None),
            "collectives": np.array(comm.collectives - before)}


def _functional_problem():
    """(x, t, parameters, loss) of the functional-API check: 60 examples, a dict of parameters."""
    ds = data()
    x, t = ds.x[:60], ds.y[:60].astype(float)
    w = {"W": np.linspace(-1, 1, 10).reshape(5, 2), "b": np.array([0.1, -0.2]), "scale": 2.0}

    def loss(p, x, t):
        out = cr.numpy.tanh(x @ p["W"] + p["b"]) * p["scale"]
        return cr.numpy.mean((out[:, 0] - t) ** 2)

    return x, t, w, loss


def functional() -> dict:
    """The functional API: per-rank gradients of the shard's mean loss, averaged = the full batch's."""
    x, t, w, loss = _functional_problem()

    r, n = dist.rank(), dist.size()
    shard = slice(r * 60 // n, (r + 1) * 60 // n)
    grads = dist.allreduce(cr.grad(loss)(w, x[shard], t[shard]))
    summed = dist.allreduce({"count": np.array([1, 2]), "x": 1.5}, op="sum", check=False)
    return {"W": grads["W"], "b": grads["b"], "scale": np.array(grads["scale"]),
            "x_is_float": np.array(isinstance(summed["x"], float)), "count": summed["count"],
            "x": np.array(summed["x"])}


def functional_reference() -> dict:
    x, t, w, loss = _functional_problem()

    grads = cr.grad(loss)(w, x, t)
    return {"W": grads["W"], "b": grads["b"], "scale": np.array(grads["scale"])}


def broadcast() -> dict:
    """Rank 0's weights and Adam state reach every rank; a layout mismatch is an error on every rank."""
    model = nn.mlp([5, 8, 2], rng=dist.rank())  # different weights on each rank
    opt = optim.Adam(model.parameters(), lr=0.01)
    if dist.rank() == 0:
        for p in model.parameters():
            p.grad = np.ones(p.shape)
        opt.step()  # rank 0 has state (step 1, m, v); the other ranks have none
    wrapped = dist.DistributedOptimizer(opt)
    state = wrapped.state_dict()
    mismatch = ""
    try:
        dist.allreduce([np.zeros(3 + dist.rank())])
    except dist.DistributedError as error:
        mismatch = str(error)
    return {**model.state_dict(), "m": state["buffers"]["0.m"], "step": np.array(state["scalars"]["0.step"]),
            "mismatch": np.array(mismatch)}


def stall(how: str) -> dict:
    """Rank 1 stops taking part: frozen (SIGSTOP, like a hung node) or killed (SIGKILL) mid-training."""
    comm = dist.init()
    sampler = dist.DistributedSampler(data(), GLOBAL_BATCH, seed=5)
    model, opt = make("sgd")
    opt = dist.DistributedOptimizer(opt, sampler=sampler)
    for step, (xb, yb) in enumerate(sampler):
        if step == 3 and comm.rank == 1:
            os.kill(os.getpid(), signal.SIGSTOP if how == "stop" else signal.SIGKILL)
            time.sleep(60)
        opt.zero_grad()
        nn.cross_entropy(model(cr.tensor(xb)), yb).backward()
        opt.step()
    return {}


def main() -> None:
    scenario, out = sys.argv[1], sys.argv[2]
    if scenario.startswith("fit-"):
        _, optimizer, mode, *n = scenario.split("-")  # fit-<sgd|adam>-<eager|compiled>[-<examples>]
        result = data_parallel(optimizer, mode == "compiled", int(n[0]) if n else N_EXAMPLES)
    elif scenario in ("stop", "kill"):
        result = stall(scenario)
    else:
        result = {"functional": functional, "broadcast": broadcast, "buckets": buckets}[scenario]()
    np.savez(os.path.join(out, f"rank{dist.rank()}.npz"), **result)


if __name__ == "__main__":
    main()
