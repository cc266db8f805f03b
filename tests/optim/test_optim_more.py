"""RMSprop, Adagrad, clipping, the new schedules, and the functional (optax-shaped) optimisers."""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim
from chainrule.optim import functional as fopt


def _torch_run(torch, make, x0, grads):
    p = torch.tensor(x0, requires_grad=True)
    opt = make([p])
    for g in grads:
        p.grad = torch.tensor(g)
        opt.step()
    return p.detach().numpy()


def _ours_run(make, x0, grads):
    p = cr.tensor(x0.copy(), requires_grad=True)
    opt = make([p])
    for g in grads:
        p.grad = g.copy()
        opt.step()
    return p.data


@pytest.mark.parametrize(("ours", "theirs"), [
    (lambda ps: optim.RMSprop(ps, lr=0.01), "RMSprop(ps, lr=0.01)"),
    (lambda ps: optim.RMSprop(ps, lr=0.01, alpha=0.9, momentum=0.5, weight_decay=0.1),
     "RMSprop(ps, lr=0.01, alpha=0.9, momentum=0.5, weight_decay=0.1)"),
    (lambda ps: optim.Adagrad(ps, lr=0.1), "Adagrad(ps, lr=0.1)"),
    (lambda ps: optim.Adagrad(ps, lr=0.1, weight_decay=0.2, initial_accumulator=0.5),
     "Adagrad(ps, lr=0.1, weight_decay=0.2, initial_accumulator_value=0.5)"),
])
def test_optimisers_match_torch(ours, theirs, rng):
    torch = pytest.importorskip("torch")
    x0 = rng.standard_normal(5)
    grads = [rng.standard_normal(5) for _ in range(6)]
    expected = _torch_run(torch, lambda ps: eval("torch.optim." + theirs, {"torch": torch, "ps": ps}), x0, grads)
    np.testing.assert_allclose(_ours_run(ours, x0, grads), expected, rtol=1e-7, atol=1e-9)


def test_rmsprop_and_adagrad_state_round_trip(rng):
    for make in (lambda ps: optim.RMSprop(ps, lr=0.01, momentum=0.9), lambda ps: optim.Adagrad(ps, lr=0.1)):
        grads = [rng.standard_normal(3) for _ in range(4)]
        x0 = rng.standard_normal(3)
        straight = _ours_run(make, x0, grads)
        p = cr.tensor(x0.copy(), requires_grad=True)
        first = make([p])
        for g in grads[:2]:
            p.grad = g.copy()
            first.step()
        second = make([p])
        second.load_state_dict(first.state_dict())
        for g in grads[2:]:
            p.grad = g.copy()
            second.step()
        np.testing.assert_array_equal(p.data, straight)


def test_clip_grad_norm_and_value_match_torch(rng):
    torch = pytest.importorskip("torch")
    grads = [rng.standard_normal((3, 2)) * 5, rng.standard_normal(4) * 5]
    ours = [cr.tensor(np.zeros_like(g), requires_grad=True) for g in grads]
    theirs = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for o, t, g in zip(ours, theirs, grads, strict=True):
        o.grad, t.grad = g.copy(), torch.tensor(g)
    norm = optim.clip_grad_norm(ours, 1.5)
    expected = torch.nn.utils.clip_grad_norm_(theirs, 1.5)
    assert norm == pytest.approx(float(expected))
    for o, t in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(o.grad, t.grad.numpy(), rtol=1e-6)
    optim.clip_grad_value(ours, 0.1)
    torch.nn.utils.clip_grad_value_(theirs, 0.1)
    for o, t in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(o.grad, t.grad.numpy())
    small = cr.tensor([0.0], requires_grad=True)
    small.grad = np.array([0.5])
    assert optim.clip_grad_norm([small], 1.0) == 0.5 and small.grad.tolist() == [0.5]  # under the bound: unchanged


def _opt(lr=1.0):
    return optim.SGD([cr.tensor([0.0], requires_grad=True)], lr=lr)


def test_schedules_match_torch():
    torch = pytest.importorskip("torch")

    def torch_lrs(make, epochs):
        opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        sched = make(opt)
        lrs = [opt.param_groups[0]["lr"]]
        for _ in range(epochs):
            opt.step()
            sched.step()
            lrs.append(opt.param_groups[0]["lr"])
        return lrs

    def ours(make, epochs):
        opt = _opt()
        sched = make(opt)
        return [opt.lr] + [sched.step() for _ in range(epochs)]

    np.testing.assert_allclose(ours(lambda o: optim.ExponentialLR(o, 0.7), 5),
                               torch_lrs(lambda o: torch.optim.lr_scheduler.ExponentialLR(o, 0.7), 5))
    np.testing.assert_allclose(ours(lambda o: optim.LinearWarmup(o, 4, start_factor=0.25), 6),
                               torch_lrs(lambda o: torch.optim.lr_scheduler.LinearLR(o, 0.25, 1.0, 4), 6))

    def ours_seq(o):
        return optim.SequentialLR(o, [optim.LinearWarmup(o, 3, 0.1), optim.ExponentialLR(o, 0.5)], [3])

    def theirs_seq(o):
        return torch.optim.lr_scheduler.SequentialLR(o, [torch.optim.lr_scheduler.LinearLR(o, 0.1, 1.0, 3),
                                                         torch.optim.lr_scheduler.ExponentialLR(o, 0.5)], [3])

    np.testing.assert_allclose(ours(ours_seq, 7), torch_lrs(theirs_seq, 7))


def test_one_cycle_rises_then_falls_and_plateau_reduces():
    opt = _opt(1.0)
    cycle = optim.OneCycleLR(opt, total_epochs=10, pct_start=0.3)
    lrs = [opt.lr] + [cycle.step() for _ in range(10)]
    peak = int(np.argmax(lrs))
    assert lrs[0] == pytest.approx(1 / 25) and lrs[peak] == pytest.approx(1.0) and peak == 3
    assert all(a <= b for a, b in zip(lrs[:peak], lrs[1:peak + 1], strict=True))
    assert all(a >= b for a, b in zip(lrs[peak:], lrs[peak + 1:], strict=False))
    assert lrs[-1] == pytest.approx(1 / 25 / 1e4)
    opt = _opt(1.0)
    plateau = optim.ReduceLROnPlateau(opt, factor=0.5, patience=2)
    assert [plateau.step(v) for v in (3, 2, 2, 2, 2, 1, 1, 1, 1)] == [1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.25]
    restored = optim.ReduceLROnPlateau(_opt(1.0), factor=0.5, patience=2)
    restored.load_state_dict(plateau.state_dict())
    assert restored.optimizer.lr == 0.25 and restored.best == 1
    with pytest.raises(ValueError, match="needs the epoch's monitored value"):
        plateau.step(None)


@pytest.mark.parametrize(("functional", "stateful"), [
    (lambda: fopt.sgd(0.1), lambda ps: optim.SGD(ps, lr=0.1)),
    (lambda: fopt.sgd(0.1, momentum=0.9), lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9)),
    (lambda: fopt.sgd(0.1, momentum=0.9, nesterov=True), lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True)),
    (lambda: fopt.adam(0.01), lambda ps: optim.Adam(ps, lr=0.01)),
    (lambda: fopt.adam(0.01, weight_decay=0.1), lambda ps: optim.AdamW(ps, lr=0.01, weight_decay=0.1)),
    (lambda: fopt.rmsprop(0.01), lambda ps: optim.RMSprop(ps, lr=0.01)),
    (lambda: fopt.adagrad(0.1), lambda ps: optim.Adagrad(ps, lr=0.1)),
])
def test_functional_optimisers_equal_the_stateful_ones(functional, stateful, rng):
    """The same steps on a pytree {w, b} as the in-place optimisers on Tensors; the inputs are never mutated."""
    params = {"w": rng.standard_normal((3, 2)), "layers": [rng.standard_normal(2)]}
    grads_seq = [fopt.tree_map(lambda p: rng.standard_normal(p.shape), params) for _ in range(5)]
    tensors = [cr.tensor(leaf.copy(), requires_grad=True) for leaf in fopt.tree_leaves(params)]
    reference = stateful(tensors)
    opt = functional()
    state = opt.init(params)
    original = fopt.tree_map(np.copy, params)
    current = params
    for grads in grads_seq:
        for t, g in zip(tensors, fopt.tree_leaves(grads), strict=True):
            t.grad = g.copy()
        reference.step()
        updates, state = opt.update(grads, state, current)
        current = fopt.apply_updates(current, updates)
    for ours, theirs in zip(fopt.tree_leaves(current), tensors, strict=True):
        np.testing.assert_allclose(ours, theirs.data, rtol=1e-12, atol=1e-14)
    for a, b in zip(fopt.tree_leaves(params), fopt.tree_leaves(original), strict=True):
        np.testing.assert_array_equal(a, b)


def test_functional_chain_clip_and_schedule_train_a_model():
    import chainrule.nn as nn
    from chainrule.data import load_dataset

    split = load_dataset("blobs", seed=0)
    net = nn.mlp([2, 16, 3], "tanh", rng=0)
    params = {name: p.data for name, p in net.named_parameters()}
    schedule = lambda step: 0.05 * min(1.0, (step + 1) / 10)  # noqa: E731  (warmup as a function of the step)
    opt = fopt.chain(fopt.clip_by_global_norm(1.0), fopt.adam(schedule))
    state = opt.init(params)
    loss = lambda ps: nn.cross_entropy(nn.functional_call(net, ps, split.x_train), split.y_train)  # noqa: E731
    first = float(loss(params))
    for _ in range(100):
        value, grads = cr.value_and_grad(loss)(params)
        assert fopt.global_norm(grads) < 1e3
        updates, state = opt.update(grads, state, params)
        assert fopt.global_norm(updates) <= 0.05 * math.sqrt(sum(p.size for p in fopt.tree_leaves(params))) + 1e-9
        params = fopt.apply_updates(params, updates)
    assert float(loss(params)) < 0.3 * first
    assert all(p.dtype == np.float32 for p in fopt.tree_leaves(params))


def test_tree_map_refuses_mismatched_structures():
    with pytest.raises(ValueError, match="tree 1 has a different structure"):
        fopt.tree_map(lambda a, b: a, {"a": 1}, {"b": 1})
