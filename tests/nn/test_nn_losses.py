"""Every loss against its formula from the notes, and its gradient against finite differences."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn

rng = np.random.default_rng(0)


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def test_squared_error_is_half_squared_norm_mean_over_batch():
    y, t = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    expected = np.mean(0.5 * np.sum((y - t) ** 2, axis=1))
    assert nn.squared_error(cr.tensor(y), t).item() == pytest.approx(expected)
    assert cr.gradcheck(lambda a: nn.squared_error(a, t), y)


def test_squared_error_one_hot_encodes_integer_labels():
    y, labels = rng.normal(size=(4, 3)), np.array([0, 2, 1, 2])
    expected = np.mean(0.5 * np.sum((y - np.eye(3)[labels]) ** 2, axis=1))
    assert nn.squared_error(cr.tensor(y), labels).item() == pytest.approx(expected)


def test_squared_error_univariate_matches_notes():
    # L = ½(y − t)² for a single example (the notes' logistic least squares)
    assert nn.squared_error(cr.tensor([0.8]), [1.0]).item() == pytest.approx(0.5 * 0.2**2)


def test_binary_cross_entropy_from_probabilities():
    p, t = _sigmoid(rng.normal(size=6)), rng.integers(0, 2, size=6).astype(float)
    expected = -np.mean(t * np.log(p) + (1 - t) * np.log(1 - p))
    assert nn.binary_cross_entropy(cr.tensor(p), t).item() == pytest.approx(expected)
    assert cr.gradcheck(lambda a: nn.binary_cross_entropy(a, t), p)


def test_binary_cross_entropy_with_logits_matches_and_is_stable():
    b, t = rng.normal(size=(6, 1)) * 3, rng.integers(0, 2, size=(6, 1)).astype(float)
    p = _sigmoid(b)
    expected = -np.mean(t * np.log(p) + (1 - t) * np.log(1 - p))
    assert nn.binary_cross_entropy_with_logits(cr.tensor(b), t).item() == pytest.approx(expected)
    assert cr.gradcheck(lambda a: nn.binary_cross_entropy_with_logits(a, t), b)
    huge = nn.binary_cross_entropy_with_logits(cr.tensor([1000.0, -1000.0]), [0.0, 1.0]).item()
    assert huge == pytest.approx(1000.0)


def test_softmax_cross_entropy_matches_formula_and_gradient():
    z, k = rng.normal(size=(5, 4)), np.array([0, 3, 1, 1, 2])
    logp = z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))
    expected = -np.mean(logp[np.arange(5), k])
    assert nn.softmax_cross_entropy(cr.tensor(z), k).item() == pytest.approx(expected)
    assert cr.gradcheck(lambda a: nn.softmax_cross_entropy(a, k), z)
    # the notes' gradient: ∂L/∂z = (softmax(z) − onehot(k)) / batch
    zt = cr.tensor(z, requires_grad=True)
    nn.softmax_cross_entropy(zt, k).backward()
    softmax = np.exp(logp)
    np.testing.assert_allclose(zt.grad, (softmax - np.eye(4)[k]) / 5, atol=1e-12)


def test_softmax_cross_entropy_is_stable_for_large_logits():
    value = nn.softmax_cross_entropy(cr.tensor([[1000.0, 0.0]]), [1]).item()
    assert value == pytest.approx(1000.0)


def test_softmax_cross_entropy_rejects_bad_labels():
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\)"):
        nn.softmax_cross_entropy(cr.tensor(np.zeros((2, 3))), [0, 3])
    for labels in ([0, -1], np.array([-(2**62), 1]), np.array([2, 1, 0, -3])[::-2]):  # negative: refused too
        with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\); got range \[-"):
            nn.softmax_cross_entropy(cr.tensor(np.zeros((len(labels), 3))), labels)


def test_cross_entropy_picks_binary_or_softmax_form():
    z = rng.normal(size=(4, 1))
    t = np.array([0, 1, 1, 0])
    assert nn.cross_entropy(cr.tensor(z), t).item() == pytest.approx(
        nn.binary_cross_entropy_with_logits(cr.tensor(z), t.reshape(4, 1)).item())


def test_l2_penalty_is_lambda_half_sum_of_squares():
    w1, w2 = rng.normal(size=(3, 2)), rng.normal(size=4)
    value = nn.l2_penalty([cr.tensor(w1), cr.tensor(w2)], 0.1).item()
    assert value == pytest.approx(0.1 * 0.5 * (np.sum(w1**2) + np.sum(w2**2)))
    assert cr.gradcheck(lambda a: nn.l2_penalty([a], 0.3), w1)
    w = cr.tensor(w1, requires_grad=True)
    nn.l2_penalty([w], 0.3).backward()
    np.testing.assert_allclose(w.grad, 0.3 * w1)  # ∂(λ·½‖w‖²)/∂w = λw


def test_weights_excludes_biases():
    net = nn.mlp([3, 4, 2], rng=0)
    assert [p.shape for p in nn.weights(net)] == [(3, 4), (4, 2)]


def test_get_loss_names_the_choices():
    assert nn.get_loss("squared-error") is nn.squared_error
    with pytest.raises(ValueError, match="expected one of cross-entropy"):
        nn.get_loss("hinge")
