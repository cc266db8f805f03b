"""Optimiser steps against hand-computed updates, schedules, and state round trips."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.optim import SGD, Adam, AdamW, CosineLR, StepLR


def _param(values, grad):
    p = cr.tensor(np.array(values, dtype=float), requires_grad=True)
    p.grad = np.array(grad, dtype=float)
    return p


def test_sgd_plain_step():
    p = _param([1.0, -2.0], [0.5, 1.0])
    SGD([p], lr=0.1).step()
    np.testing.assert_allclose(p.data, [0.95, -2.1])


def test_sgd_weight_decay_adds_lambda_w():
    p = _param([1.0, -2.0], [0.5, 1.0])
    SGD([p], lr=0.1, weight_decay=0.2).step()
    np.testing.assert_allclose(p.data, [1.0 - 0.1 * (0.5 + 0.2), -2.0 - 0.1 * (1.0 - 0.4)])


def test_sgd_momentum_two_steps():
    p = _param([1.0], [1.0])
    opt = SGD([p], lr=0.1, momentum=0.9)
    opt.step()                      # v = 1, w = 1 − 0.1
    np.testing.assert_allclose(p.data, [0.9])
    p.grad = np.array([2.0])
    opt.step()                      # v = 0.9·1 + 2 = 2.9, w = 0.9 − 0.29
    np.testing.assert_allclose(p.data, [0.9 - 0.29])


def test_sgd_nesterov_two_steps():
    p = _param([1.0], [1.0])
    opt = SGD([p], lr=0.1, momentum=0.9, nesterov=True)
    opt.step()                      # v = 1, step g + μv = 1.9
    np.testing.assert_allclose(p.data, [1.0 - 0.19])
    p.grad = np.array([2.0])
    opt.step()                      # v = 2.9, step 2 + 0.9·2.9 = 4.61
    np.testing.assert_allclose(p.data, [1.0 - 0.19 - 0.461])


def test_adam_first_steps_by_hand():
    p = _param([1.0, 2.0], [0.1, -0.3])
    opt = Adam([p], lr=0.01, betas=(0.9, 0.999), eps=1e-8)
    opt.step()  # bias-corrected m̂ = g, v̂ = g²: step = lr·sign(g) (up to eps)
    np.testing.assert_allclose(p.data, [1.0 - 0.01, 2.0 + 0.01], rtol=1e-6)
    g1, g2 = np.array([0.1, -0.3]), np.array([0.2, 0.1])
    p.grad = g2
    opt.step()
    m = 0.9 * (0.1 * g1) + 0.1 * g2
    v = 0.999 * (0.001 * g1**2) + 0.001 * g2**2
    m_hat, v_hat = m / (1 - 0.9**2), v / (1 - 0.999**2)
    first = np.array([1.0, 2.0]) - 0.01 * g1 / (np.abs(g1) + 1e-8)
    expected = first - 0.01 * m_hat / (np.sqrt(v_hat) + 1e-8)
    np.testing.assert_allclose(p.data, expected, rtol=1e-12)


def test_adam_l2_vs_adamw_decoupled():
    p, q = _param([1.0], [0.0]), _param([1.0], [0.0])
    Adam([p], lr=0.1, weight_decay=0.5).step()   # g = 0 + 0.5·1 → Adam step of size lr
    np.testing.assert_allclose(p.data, [0.9], rtol=1e-6)
    AdamW([q], lr=0.1, weight_decay=0.5).step()  # θ(1 − 0.05), then Adam with g = 0: no move
    np.testing.assert_allclose(q.data, [0.95])


def test_parameters_without_grad_are_skipped():
    p, q = _param([1.0], [1.0]), cr.tensor([5.0], requires_grad=True)
    opt = Adam([p, q], lr=0.1)
    opt.step()
    assert q.data[0] == 5.0 and opt.state[1] == {}


def test_read_only_data_is_replaced_not_written():
    p = _param([1.0], [1.0])
    p.data.flags.writeable = False
    SGD([p], lr=0.5).step()
    np.testing.assert_allclose(p.data, [0.5])


def test_optimizer_validation():
    with pytest.raises(ValueError, match="lr must be positive"):
        SGD([_param([1.0], [1.0])], lr=0)
    with pytest.raises(ValueError, match="nesterov=True needs a momentum"):
        SGD([_param([1.0], [1.0])], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="got no parameters"):
        Adam([], lr=0.1)


@pytest.mark.parametrize("make", [lambda ps: SGD(ps, lr=0.1, momentum=0.9), lambda ps: Adam(ps, lr=0.01)])
def test_state_dict_resumes_exactly(make):
    rng = np.random.default_rng(0)
    grads = [rng.normal(size=3) for _ in range(6)]
    a = _param(np.ones(3), grads[0])
    opt_a = make([a])
    for g in grads:
        a.grad = g
        opt_a.step()
    b = _param(np.ones(3), grads[0])
    opt_b = make([b])
    for g in grads[:3]:
        b.grad = g
        opt_b.step()
    state = opt_b.state_dict()
    c = _param(b.data.copy(), grads[0])
    opt_c = make([c])
    opt_c.load_state_dict(state)
    for g in grads[3:]:
        c.grad = g
        opt_c.step()
    np.testing.assert_array_equal(a.data, c.data)


def test_schedules():
    opt = SGD([_param([0.0], [0.0])], lr=1.0)
    step = StepLR(opt, step_size=2, gamma=0.5)
    assert [step.step() for _ in range(5)] == [1.0, 0.5, 0.5, 0.25, 0.25]
    opt2 = SGD([_param([0.0], [0.0])], lr=1.0)
    cosine = CosineLR(opt2, total_epochs=4, min_lr=0.0)
    values = [cosine.step() for _ in range(5)]
    np.testing.assert_allclose(values, [0.5 + 0.5 * np.cos(np.pi * e / 4) for e in (1, 2, 3, 4, 4)])
    again = CosineLR(SGD([_param([0.0], [0.0])], lr=1.0), total_epochs=4)
    again.load_state_dict(cosine.state_dict())
    assert again.optimizer.lr == opt2.lr


def test_update_after_one_graph_released_is_caught_by_a_second_live_graph():
    import chainrule.numpy as cnp

    w = cr.tensor([1.0, 2.0], requires_grad=True)
    first, second = cnp.sum(w * w), cnp.sum(w * w * w)
    first.backward()  # releases the first graph: w's array is writable again
    SGD([w], lr=0.1).step()  # the second graph still holds w's array: the update copies on write
    w.grad = None
    second.backward()  # the gradient at the values the second graph recorded
    np.testing.assert_allclose(w.grad, [3.0, 12.0])
