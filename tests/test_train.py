"""The training loop: learning, exact resume, divergence, interruption, callbacks."""

import math

import numpy as np
import pytest

import chainrule.nn as nn
import chainrule.optim as optim
from chainrule import checkpoint
from chainrule.data import load_dataset
from chainrule.train import Callback, CheckpointCallback, EarlyStopping, History, evaluate, fit, set_rng_states


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", seed=0)


def _model_and_opt(split, seed=0, dropout=0.0):
    net = nn.mlp([split.n_features, 128, split.n_outputs], "relu", dropout=dropout, rng=seed)
    return net, optim.Adam(net.parameters(), lr=1e-3)


def test_digits_reaches_97_percent(digits):
    net, opt = _model_and_opt(digits)
    history = fit(net, "cross-entropy", opt, (digits.x_train, digits.y_train), (digits.x_test, digits.y_test),
                  epochs=30, batch_size=32, l2=1e-3, seed=0, progress=False)
    assert history.stop_reason is None and len(history.epochs) == 30
    assert history.epochs[-1]["test_accuracy"] >= 0.97
    losses = history.column("train_loss")
    assert losses[-1] < losses[0] / 10
    assert set(history.epochs[0]) == {"epoch", "train_loss", "test_loss", "test_accuracy", "seconds"}


def test_resume_reproduces_uninterrupted_run_bit_for_bit(digits, tmp_path):
    data = ((digits.x_train, digits.y_train), (digits.x_test, digits.y_test))
    net_a, opt_a = _model_and_opt(digits, dropout=0.1)
    fit(net_a, "cross-entropy", opt_a, *data, epochs=4, l2=1e-3, seed=3, progress=False)

    path = str(tmp_path / "m.safetensors")
    net_b, opt_b = _model_and_opt(digits, dropout=0.1)
    fit(net_b, "cross-entropy", opt_b, *data, epochs=2, l2=1e-3, seed=3, progress=False,
        callbacks=[CheckpointCallback(path)])
    saved = checkpoint.load(path)
    net_c = saved.build_model()
    opt_c = optim.Adam(net_c.parameters(), lr=1e-3)
    opt_c.load_state_dict(saved.optimizer_state)
    set_rng_states(net_c, saved.info["rng_states"])
    history = fit(net_c, "cross-entropy", opt_c, *data, epochs=4, l2=1e-3, seed=3, progress=False,
                  start_epoch=saved.info["epoch"], history=History(saved.info["history"]))
    assert [r["epoch"] for r in history.epochs] == [1, 2, 3, 4]
    for (name, p), (_, q) in zip(net_a.named_parameters(), net_c.named_parameters(), strict=True):
        assert np.array_equal(p.data, q.data), name


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_divergence_stops_with_a_message():
    split = load_dataset("xor", seed=0)
    net = nn.mlp([2, 8, 2], "relu", rng=0)
    history = fit(net, "squared-error", optim.SGD(net.parameters(), lr=1e6), (split.x_train, split.y_train),
                  epochs=5, progress=False)
    assert history.stop_reason == "diverged" and "smaller learning rate" in history.message
    assert all(math.isfinite(r["train_loss"]) for r in history.epochs)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_divergence_keeps_the_last_good_checkpoint(tmp_path):
    split = load_dataset("blobs", seed=0)
    net = nn.mlp([2, 8, 3], "relu", rng=0)
    opt = optim.SGD(net.parameters(), lr=0.1)

    class Explode(Callback):
        def on_epoch_end(self, state):
            if state.epoch == 2:
                state.optimizer.lr = 1e12

    path = tmp_path / "m.safetensors"
    history = fit(net, "squared-error", opt, (split.x_train, split.y_train), epochs=10, progress=False,
                  callbacks=[CheckpointCallback(str(path)), Explode()])
    assert history.stop_reason == "diverged"
    saved = checkpoint.load(path)
    assert saved.info["epoch"] >= 2
    assert all(np.isfinite(v).all() for v in saved.model_state.values())


def test_keyboard_interrupt_stops_cleanly():
    split = load_dataset("xor", seed=0)
    net = nn.mlp([2, 8, 2], "tanh", rng=0)
    calls = []

    def loss(out, t):
        calls.append(1)
        if len(calls) == 20:
            raise KeyboardInterrupt
        return nn.cross_entropy(out, t)

    history = fit(net, loss, optim.Adam(net.parameters(), lr=0.01), (split.x_train, split.y_train),
                  epochs=10, batch_size=32, progress=False)
    assert history.stop_reason == "interrupted" and len(history.epochs) == 1


def test_early_stopping_restores_best():
    split = load_dataset("blobs", seed=0)
    net = nn.mlp([2, 16, 3], "relu", rng=0)
    stopper = EarlyStopping(patience=2, monitor="test_loss", min_delta=10.0)
    history = fit(net, "cross-entropy", optim.Adam(net.parameters(), lr=0.01), (split.x_train, split.y_train),
                  (split.x_test, split.y_test), epochs=20, progress=False, callbacks=[stopper])
    assert history.stop_reason == "early_stopping" and len(history.epochs) == 3
    best = evaluate(net, "cross-entropy", split.x_test, split.y_test)["loss"]
    assert best == pytest.approx(history.epochs[0]["test_loss"])


def test_regression_has_no_accuracy():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3))
    y = x @ np.array([[1.0], [-2.0], [0.5]])
    net = nn.mlp([3, 1], rng=0)
    history = fit(net, "squared-error", optim.SGD(net.parameters(), lr=0.1), (x, y), (x, y), epochs=20,
                  progress=False)
    assert history.epochs[-1]["test_accuracy"] is None and history.epochs[-1]["test_loss"] < 1e-2
