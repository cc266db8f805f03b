"""The training loop: learning, exact resume, divergence, interruption, callbacks."""

import math
import os
import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
import chainrule.optim as optim
from chainrule import checkpoint
from chainrule.data import load_dataset
from chainrule.train import (
    COLUMNS,
    Callback,
    CheckpointCallback,
    EarlyStopping,
    History,
    compiled_step,
    evaluate,
    fit,
    set_rng_states,
)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", seed=0)


def _model_and_opt(split, seed=0, dropout=0.0, dtype=np.float32):
    net = nn.mlp([split.n_features, 128, split.n_outputs], "relu", dropout=dropout, rng=seed, dtype=dtype)
    return net, optim.Adam(net.parameters(), lr=1e-3)


def test_digits_reaches_97_percent(digits):
    net, opt = _model_and_opt(digits)
    history = fit(net, "cross-entropy", opt, (digits.x_train, digits.y_train), (digits.x_test, digits.y_test),
                  epochs=30, batch_size=32, l2=1e-3, seed=0, progress=False)
    assert history.stop_reason is None and len(history.epochs) == 30
    assert history.epochs[-1]["test_accuracy"] >= 0.97
    losses = history.column("train_loss")
    assert losses[-1] < losses[0] / 10
    assert set(history.epochs[0]) == set(COLUMNS)
    assert history.epochs[-1]["train_accuracy"] > 0.97 and history.epochs[0]["val_loss"] is None


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


@pytest.mark.parametrize("make_optimizer", [
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3),
    lambda ps: optim.Adam(ps, lr=0.01),
    lambda ps: optim.AdamW(ps, lr=0.01),
])
def test_compiled_step_equals_the_eager_step(make_optimizer):
    rng = np.random.default_rng(0)
    x, t = rng.standard_normal((16, 5)), rng.integers(0, 3, 16)
    compiled_net, eager_net = nn.mlp([5, 7, 3], "sigmoid", rng=1), nn.mlp([5, 7, 3], "sigmoid", rng=1)
    compiled_opt, eager_opt = make_optimizer(compiled_net.parameters()), make_optimizer(eager_net.parameters())
    loss = nn.get_loss("cross-entropy")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no fall-back to eager mode
        step = compiled_step(compiled_net, loss, compiled_opt, l2=0.01)
        for _ in range(6):  # the trace, the two checked calls, then trusted replays
            value = step(x, t)
            eager_opt.zero_grad()
            objective = loss(eager_net(cr.tensor(x)), t) + nn.l2_penalty(nn.weights(eager_net), 0.01)
            objective.backward()
            eager_opt.step()
            assert value == pytest.approx(objective.item(), rel=1e-12)
    for (name, p), (_, q) in zip(compiled_net.named_parameters(), eager_net.named_parameters(), strict=True):
        np.testing.assert_allclose(p.data, q.data, rtol=1e-10, atol=1e-12, err_msg=name)
        np.testing.assert_allclose(p.grad, q.grad, rtol=1e-10, atol=1e-12, err_msg=name)


@pytest.mark.parametrize(("dtype", "rel"), [(np.float64, 1e-9), (np.float32, 2e-5)])
def test_fit_compiled_matches_fit_eager(digits, dtype, rel):
    data = ((digits.x_train[:300].astype(dtype), digits.y_train[:300]), (digits.x_test.astype(dtype), digits.y_test))
    histories = []
    for compiled in (False, True):
        net, opt = _model_and_opt(digits, dtype=dtype)
        histories.append(fit(net, "cross-entropy", opt, *data, epochs=3, l2=1e-3, seed=0, progress=False,
                             compiled=compiled))
    for eager, replayed in zip(*(h.epochs for h in histories), strict=True):
        for column in ("train_loss", "test_loss", "test_accuracy"):
            assert replayed[column] == pytest.approx(eager[column], rel=rel)


def test_compiled_step_with_dropout_runs_eagerly_with_a_warning():
    net = nn.mlp([4, 8, 2], "relu", dropout=0.5, rng=0)
    step = compiled_step(net, "cross-entropy", optim.SGD(net.parameters(), lr=0.1))
    x, t = np.ones((8, 4)), np.array([0, 1] * 4)
    with pytest.warns(cr.CompileWarning, match="differs from eager"):
        values = [step(x, t) for _ in range(4)]
    assert all(math.isfinite(v) for v in values)
    assert all(p.grad is not None for p in net.parameters())


def test_compiled_step_skips_the_update_when_the_loss_is_not_finite():
    net = nn.mlp([2, 3, 1], "relu", rng=0)
    before = [p.data.copy() for p in net.parameters()]
    step = compiled_step(net, "squared-error", optim.SGD(net.parameters(), lr=0.1))
    with np.errstate(all="ignore"):
        assert math.isnan(step(np.full((2, 2), np.nan), np.zeros((2, 1))))
    for p, old in zip(net.parameters(), before, strict=True):
        np.testing.assert_array_equal(p.data, old)


# ---- validation, early stopping, loaders, metrics, logging, clipping ------------------------------------
def test_val_fraction_and_early_stopping_on_it(digits):
    net, opt = _model_and_opt(digits)
    stopper = EarlyStopping(patience=2, min_delta=10.0)  # never improves by 10: stops after 1 + 2 epochs
    history = fit(net, "cross-entropy", opt, (digits.x_train, digits.y_train), epochs=20, val_fraction=0.25,
                  callbacks=[stopper], progress=False)
    assert len(history.epochs) == 3 and history.stop_reason == "early_stopping"
    assert all(r["val_loss"] is not None and r["test_loss"] is None for r in history.epochs)
    n_val = round(0.25 * len(digits.x_train))
    assert 0.0 <= history.epochs[-1]["val_accuracy"] <= 1.0 and n_val == 360


def test_early_stopping_without_validation_data_is_a_clear_error(digits):
    net, opt = _model_and_opt(digits)
    with pytest.raises(ValueError, match=r"EarlyStopping: monitors 'val_loss', but there is nothing to measure it on "
                                         r"\(no validation data: pass val_fraction= or val_data= to fit\)"):
        fit(net, "cross-entropy", opt, (digits.x_train, digits.y_train), (digits.x_test, digits.y_test), epochs=2,
            callbacks=[EarlyStopping()], progress=False)
    with pytest.raises(ValueError, match="no test data"):
        fit(net, "cross-entropy", opt, (digits.x_train, digits.y_train), epochs=2,
            callbacks=[EarlyStopping(monitor="test_loss")], progress=False)


def test_a_data_loader_is_used_as_given(digits):
    from chainrule.data import ArrayDataset, DataLoader

    seen = []

    class Watch(DataLoader):
        def __iter__(self):
            for xb, yb in super().__iter__():
                seen.append(len(yb))
                yield xb, yb

    loader = Watch(ArrayDataset(digits.x_train[:100], digits.y_train[:100]), batch_size=40, shuffle=False,
                   drop_last=True)
    net, opt = _model_and_opt(digits)
    fit(net, "cross-entropy", opt, loader, epochs=2, batch_size=7, progress=False)
    assert seen == [40, 40, 40, 40]
    with pytest.raises(ValueError, match="with a DataLoader as train_data pass val_data="):
        fit(net, "cross-entropy", opt, loader, epochs=1, val_fraction=0.2, progress=False)


def test_metrics_and_train_accuracy_in_the_history(digits):
    pytest.importorskip("sklearn")
    net, opt = _model_and_opt(digits)
    top = lambda y, p: float(np.mean(y == p))  # noqa: E731
    top.__name__ = "same_as_accuracy"
    history = fit(net, "cross-entropy", opt, (digits.x_train, digits.y_train), (digits.x_test, digits.y_test),
                  epochs=2, metrics=["balanced_accuracy_score", top], progress=False)
    last = history.epochs[-1]
    assert last["test_same_as_accuracy"] == pytest.approx(last["test_accuracy"])
    assert 0.5 < last["test_balanced_accuracy_score"] <= 1.0 and last["train_accuracy"] > 0.5
    with pytest.raises(ValueError, match="sklearn.metrics has no function 'no_such_metric'"):
        fit(net, "cross-entropy", opt, (digits.x_train, digits.y_train), epochs=1, metrics=["no_such_metric"],
            progress=False)


def test_csv_logger_writes_one_row_per_epoch(digits, tmp_path):
    import csv

    from chainrule.train import CSVLogger

    path = tmp_path / "log.csv"
    net, opt = _model_and_opt(digits)
    fit(net, "cross-entropy", opt, (digits.x_train[:200], digits.y_train[:200]), epochs=3, val_fraction=0.2,
        callbacks=[CSVLogger(str(path))], progress=False)
    rows = list(csv.DictReader(path.open()))
    assert [r["epoch"] for r in rows] == ["1", "2", "3"] and list(rows[0]) == list(COLUMNS)
    assert float(rows[-1]["val_loss"]) > 0 and rows[-1]["test_loss"] == ""


@pytest.mark.parametrize("compiled", [False, True])
def test_gradient_clipping_in_fit(digits, compiled):
    """With a tiny clip_norm every step moves the weights by at most lr·clip_norm (SGD without momentum)."""
    net = nn.mlp([64, 16, 10], rng=0)
    opt = optim.SGD(net.parameters(), lr=0.5)
    before = np.concatenate([p.data.ravel() for p in net.parameters()])
    fit(net, "cross-entropy", opt, (digits.x_train[:64], digits.y_train[:64]), epochs=1, batch_size=64,
        clip_norm=1e-3, shuffle=False, progress=False, compiled=compiled)
    after = np.concatenate([p.data.ravel() for p in net.parameters()])
    assert np.linalg.norm(after - before) == pytest.approx(0.5 * 1e-3, rel=1e-3)


def test_reduce_on_plateau_in_fit_watches_the_validation_loss(digits):
    net, opt = _model_and_opt(digits)
    plateau = optim.ReduceLROnPlateau(opt, factor=0.5, patience=0, threshold=10.0)  # never "improves" enough
    history = fit(net, "cross-entropy", opt, (digits.x_train, digits.y_train), epochs=3, val_fraction=0.2,
                  scheduler=plateau, progress=False)
    # the lr each epoch trained with: each epoch's end halved it
    np.testing.assert_allclose([r["lr"] for r in history.epochs], [1e-3, 5e-4, 2.5e-4])
    assert opt.lr == pytest.approx(1e-3 / 8)
    with pytest.raises(ValueError, match="ReduceLROnPlateau: monitors 'val_loss'.*no validation data"):
        fit(net, "cross-entropy", opt, (digits.x_train, digits.y_train), epochs=1, scheduler=plateau, progress=False)


def test_ctrl_c_during_the_checkpoint_save_keeps_history_and_checkpoint_in_agreement(digits, tmp_path, monkeypatch):
    path = str(tmp_path / "model.safetensors")
    net, opt = _model_and_opt(digits)
    keep = CheckpointCallback(path)
    real_save = checkpoint.save
    calls = []

    def interrupted_save(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt  # as if Ctrl-C arrived while the second epoch's checkpoint was written
        real_save(*args, **kwargs)

    monkeypatch.setattr(checkpoint, "save", interrupted_save)
    history = fit(net, "cross-entropy", opt, (digits.x_train[:200], digits.y_train[:200]), epochs=5,
                  callbacks=[keep], progress=False)
    assert history.stop_reason == "interrupted" and len(history.epochs) == 1
    assert "kept the state after epoch 1" in history.message
    assert checkpoint.load(path).info["epoch"] == 1


def read_events(folder) -> list:
    """The Events of every TensorBoard event file in ``folder`` (in file-name order), read with the TFRecord
    framing parsed here (each record's length and data CRC-checked) and the Event protobuf of tensorboardX."""
    import struct

    from tensorboardX.crc32c import crc32c
    from tensorboardX.proto.event_pb2 import Event

    def masked(data: bytes) -> int:
        crc = crc32c(data)
        return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF

    events = []
    for name in sorted(os.listdir(folder)):
        assert name.startswith("events.out.tfevents."), name
        with open(os.path.join(folder, name), "rb") as handle:
            blob, at = handle.read(), 0
        while at < len(blob):
            header = blob[at:at + 8]
            (length,), (header_crc,) = struct.unpack("<Q", header), struct.unpack("<I", blob[at + 8:at + 12])
            assert header_crc == masked(header)
            data = blob[at + 12:at + 12 + length]
            assert struct.unpack("<I", blob[at + 12 + length:at + 16 + length])[0] == masked(data)
            at += 16 + length
            events.append(Event.FromString(data))
    return events


def read_scalars(folder) -> dict[str, dict[int, float]]:
    """``{tag: {step: value}}`` from the event files in ``folder``."""
    scalars: dict[str, dict[int, float]] = {}
    for event in read_events(folder):
        for value in event.summary.value:
            scalars.setdefault(value.tag, {})[event.step] = value.simple_value
    return scalars


def test_tensorboard_logger_writes_the_history_as_scalars(digits, tmp_path):
    pytest.importorskip("tensorboardX")
    from chainrule.train import TensorBoardLogger

    net, opt = _model_and_opt(digits)
    top = lambda y, p: float(np.mean(y == p))  # noqa: E731
    top.__name__ = "hits"
    history = fit(net, "cross-entropy", opt, (digits.x_train[:300], digits.y_train[:300]),
                  (digits.x_test, digits.y_test), epochs=3, val_fraction=0.2, metrics=[top],
                  callbacks=[TensorBoardLogger(str(tmp_path / "tb"))], progress=False)
    scalars = read_scalars(tmp_path / "tb")
    expected_tags = {"loss/train", "accuracy/train", "loss/val", "accuracy/val", "loss/test", "accuracy/test",
                     "hits/val", "lr", "seconds"}
    assert set(scalars) == expected_tags
    for record in history.epochs:
        for key, value in record.items():
            if key != "epoch" and value is not None:
                assert scalars[TensorBoardLogger.tag(key)][record["epoch"]] == np.float32(value), key
    assert sorted(scalars["loss/train"]) == [1, 2, 3]


def test_tensorboard_logger_continues_a_resumed_run(digits, tmp_path):
    pytest.importorskip("tensorboardX")
    from chainrule.train import TensorBoardLogger

    net, opt = _model_and_opt(digits)
    data = (digits.x_train[:200], digits.y_train[:200])
    history = fit(net, "cross-entropy", opt, data, epochs=2, callbacks=[TensorBoardLogger(str(tmp_path))],
                  progress=False)
    history = fit(net, "cross-entropy", opt, data, epochs=4, start_epoch=2, history=history,
                  callbacks=[TensorBoardLogger(str(tmp_path))], progress=False)
    assert len(os.listdir(tmp_path)) == 2  # one event file per session, the second purging from step 3
    from tensorboardX.proto.event_pb2 import SessionLog

    starts = [e.step for e in read_events(tmp_path) if e.HasField("session_log")
              and e.session_log.status == SessionLog.START]
    assert starts == [3]
    scalars = read_scalars(tmp_path)
    assert {step: np.float32(v) for step, v in scalars["loss/train"].items()} == {
        r["epoch"]: np.float32(r["train_loss"]) for r in history.epochs}


def test_tensorboard_logger_without_tensorboardx_names_the_extra(monkeypatch):
    import sys

    from chainrule.train import TensorBoardLogger

    monkeypatch.setitem(sys.modules, "tensorboardX", None)  # as if it were not installed
    with pytest.raises(ImportError, match=r"^TensorBoardLogger needs the tensorboardX package, which is not "
                                          r"installed: pip install 'chainrule\[tensorboard\]'$"):
        TensorBoardLogger("unused")
