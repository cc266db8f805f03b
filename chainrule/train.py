"""The training loop: the notes' Algorithm 1 (minibatch SGD with backprop), with evaluation each epoch.

::

    for epoch in epochs:
        for (x, t) in minibatches(train):        # shuffled with (seed, epoch): reproducible and resumable
            J = loss(model(x), t) + λ·½Σ‖W‖²      # 1. forward
            J.backward()                         # 2. backward: every parameter's error signal
            optimizer.step()                     # 3. update: θ ← θ − η·∂J/∂θ (or Adam ...)
        evaluate mean train loss, test loss, test accuracy

>>> import chainrule.nn as nn, chainrule.optim as optim
>>> from chainrule.data import load_dataset
>>> split = load_dataset("xor", seed=0)
>>> net = nn.mlp([2, 8, 2], activation="tanh", rng=0)
>>> history = fit(net, "cross-entropy", optim.Adam(net.parameters(), lr=0.05),
...               (split.x_train, split.y_train), (split.x_test, split.y_test), epochs=20, progress=False)
>>> history.epochs[-1]["test_accuracy"] > 0.9
True
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import chainrule as cr

from .data import ArrayDataset, DataLoader
from .nn import Dropout, Module, get_loss, l2_penalty, parameters_from, weights
from .nn.losses import squared_error

COLUMNS = ("epoch", "train_loss", "test_loss", "test_accuracy", "seconds")

LossFn = Callable[[cr.Tensor, Any], cr.Tensor]


@dataclass
class History:
    """Per-epoch records (dicts with the keys in `COLUMNS`) and why training stopped:
    ``stop_reason`` is None (all epochs ran), ``"early_stopping"``, ``"diverged"`` or ``"interrupted"``."""

    epochs: list[dict[str, Any]] = field(default_factory=list)
    stop_reason: str | None = None
    message: str = ""

    def column(self, key: str) -> list[Any]:
        return [record[key] for record in self.epochs]


@dataclass
class TrainState:
    """What callbacks see at the end of an epoch. ``epoch`` counts completed epochs."""

    model: Module
    optimizer: Any
    scheduler: Any
    epoch: int
    history: History
    loader: DataLoader


class Callback:
    """Hooks called by `fit`. ``on_epoch_end`` may return True to stop training."""

    def on_epoch_end(self, state: TrainState) -> bool | None:
        return None

    def on_train_end(self, state: TrainState) -> None:
        return None


class EarlyStopping(Callback):
    """Stop when ``monitor`` (default ``test_loss``, lower is better) has not improved by ``min_delta`` for
    ``patience`` epochs; with ``restore_best`` put back the best weights at the end."""

    def __init__(self, patience: int = 5, monitor: str = "test_loss", min_delta: float = 0.0,
                 restore_best: bool = True) -> None:
        self.patience, self.monitor, self.min_delta, self.restore_best = patience, monitor, min_delta, restore_best
        self.best = math.inf
        self.best_state: dict[str, np.ndarray] | None = None
        self.waited = 0

    def on_epoch_end(self, state: TrainState) -> bool:
        value = state.history.epochs[-1].get(self.monitor)
        if value is None:
            return False
        value = -value if "accuracy" in self.monitor else value
        if value < self.best - self.min_delta:
            self.best, self.waited = value, 0
            self.best_state = state.model.state_dict() if self.restore_best else None
            return False
        self.waited += 1
        if self.waited >= self.patience:
            state.history.stop_reason = "early_stopping"
            state.history.message = (f"early stopping after epoch {state.epoch}: {self.monitor} has not "
                                     f"improved for {self.patience} epochs")
            return True
        return False

    def on_train_end(self, state: TrainState) -> None:
        if self.restore_best and self.best_state is not None:
            state.model.load_state_dict(self.best_state)


class CheckpointCallback(Callback):
    """Save a checkpoint (see `chainrule.checkpoint`) after every ``every`` epochs, atomically, with the
    epoch count, the optimiser and schedule state, and dropout RNG states, so `fit` can resume exactly.
    ``info`` and ``arrays`` are stored too (e.g. the run configuration and the feature scaler)."""

    def __init__(self, path: str, every: int = 1, info: dict[str, Any] | None = None,
                 arrays: dict[str, np.ndarray] | None = None) -> None:
        self.path, self.every, self.info, self.arrays = path, every, dict(info or {}), arrays

    def on_epoch_end(self, state: TrainState) -> None:
        if state.epoch % self.every == 0:
            self.save(state)

    def save(self, state: TrainState) -> None:
        from . import checkpoint

        info = {**self.info, "epoch": state.epoch, "loader_seed": state.loader.seed,
                "rng_states": rng_states(state.model), "history": state.history.epochs}
        checkpoint.save(self.path, state.model, state.optimizer, state.scheduler, info=info, arrays=self.arrays)


def rng_states(model: Module) -> dict[str, Any]:
    """The bit-generator states of the model's random layers (`Dropout`), by module name."""
    return {name: m.rng.bit_generator.state for name, m in model.named_modules() if isinstance(m, Dropout)}


def set_rng_states(model: Module, states: dict[str, Any]) -> None:
    """Restore what `rng_states` returned."""
    for name, m in model.named_modules():
        if isinstance(m, Dropout) and name in states:
            m.rng.bit_generator.state = states[name]


def _as_dataset(data: Any, what: str) -> ArrayDataset:
    if isinstance(data, ArrayDataset):
        return data
    if isinstance(data, DataLoader):
        return data.dataset
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return ArrayDataset(*data)
    raise TypeError(f"fit: {what} must be an ArrayDataset, a DataLoader or an (x, y) pair; "
                    f"got {type(data).__name__}")


def predict_labels(outputs: np.ndarray, loss: LossFn | None = None) -> np.ndarray:
    """Class predictions from model outputs: the argmax of several outputs; for a single output, the sign
    of the logit (or > 0.5 for a squared-error model, whose output estimates the label)."""
    if outputs.ndim == 2 and outputs.shape[1] > 1:
        return outputs.argmax(axis=1)
    threshold = 0.5 if loss is squared_error else 0.0
    return (outputs.reshape(len(outputs)) > threshold).astype(np.int64)


def evaluate(model: Module, loss: LossFn | str, x: np.ndarray, y: np.ndarray, batch_size: int = 1024
             ) -> dict[str, Any]:
    """Mean loss over ``(x, y)`` and, for integer targets, accuracy and predicted labels (no graph is
    recorded; the model is put in eval mode and restored)."""
    loss_fn = get_loss(loss) if isinstance(loss, str) else loss
    was_training = model.training
    model.eval()
    total, outputs = 0.0, []
    try:
        with cr.no_grad():
            for start in range(0, len(x), batch_size):
                xb, yb = x[start:start + batch_size], y[start:start + batch_size]
                out = model(cr.tensor(xb))
                total += float(loss_fn(out, yb).item()) * len(xb)
                outputs.append(out.data)
    finally:
        model.train(was_training)
    result: dict[str, Any] = {"loss": total / max(len(x), 1), "outputs": np.concatenate(outputs)}
    if np.asarray(y).dtype.kind in "iu":
        labels = predict_labels(result["outputs"], loss_fn)
        result["predictions"] = labels
        result["accuracy"] = float(np.mean(labels == np.asarray(y).reshape(-1)))
    return result


def _progress(total: int, enabled: bool | None, description: str):
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=description, leave=False, unit="batch", file=sys.stderr)


def compiled_step(model: Module, loss: LossFn | str, optimizer: Any, *, l2: float = 0.0
                  ) -> Callable[[Any, Any], float]:
    """A training step — forward, backward, optimiser update — whose forward and backward passes are
    compiled (`chainrule.compile`): ``step(x, t)`` returns the objective's value and updates ``model`` in
    place with ``optimizer``, as ``zero_grad(); J.backward(); optimizer.step()`` would.

    The step is traced as a pure function of the model's parameters (`chainrule.nn.parameters_from`), so the
    replay reads the parameters' current arrays on every call; each parameter's ``.grad`` is set to the fresh
    gradient, then the optimiser runs as usual (any optimiser, its state and schedules unchanged). A
    non-finite objective skips the update. A model whose forward pass is random in training mode (`Dropout`)
    cannot be replayed: its step runs eagerly, with a `chainrule.CompileWarning`.

    >>> import chainrule.nn as nn, chainrule.optim as optim
    >>> net = nn.mlp([2, 8, 2], activation="tanh", rng=0)
    >>> step = compiled_step(net, "cross-entropy", optim.SGD(net.parameters(), lr=0.1))
    >>> x, t = np.array([[0.0, 1.0], [1.0, 0.0]]), np.array([1, 0])
    >>> first = step(x, t)
    >>> later = [step(x, t) for _ in range(20)][-1]
    >>> later < first
    True
    """
    loss_fn = get_loss(loss) if isinstance(loss, str) else loss
    named = model.named_parameters()

    def objective(params: dict[str, Any], x: Any, t: Any) -> Any:
        with parameters_from(model, params):
            value = loss_fn(model(x), t)
            return value + l2_penalty(weights(model), l2) if l2 else value

    gradients = cr.compile(cr.value_and_grad(objective))

    def step(x: Any, t: Any) -> float:
        value, grads = gradients({name: p.data for name, p in named}, np.asarray(x), np.asarray(t))
        value = float(value)
        if math.isfinite(value):
            for name, p in named:
                p.grad = grads[name]
            optimizer.step()
        return value

    return step


def fit(model: Module, loss: LossFn | str, optimizer: Any, train_data: Any, test_data: Any = None,
        epochs: int = 10, batch_size: int = 32, *, l2: float = 0.0, scheduler: Any = None, seed: int = 0,
        shuffle: bool = True, drop_last: bool = False, callbacks: Sequence[Callback] = (),
        progress: bool | None = None, start_epoch: int = 0, history: History | None = None,
        on_epoch: Callable[[dict[str, Any]], None] | None = None, compiled: bool = False,
        loader: DataLoader | None = None) -> History:
    """Train ``model`` with minibatch gradient descent for epochs ``start_epoch .. epochs − 1``.

    - ``loss``: a function ``(outputs, targets) -> scalar Tensor`` or a name (`chainrule.nn.get_loss`);
      ``l2`` adds λ·½Σ‖W‖² over the weight matrices to the training objective (the reported losses are
      the data losses).
    - ``train_data`` / ``test_data``: `ArrayDataset` or ``(x, y)``; the test set may be None.
    - Shuffling uses ``(seed, epoch)``, so passing ``start_epoch``/``history`` from a checkpoint continues a
      run exactly.
    - A progress bar is shown when stderr is a terminal (``progress=None``), forced on/off with True/False.
    - ``on_epoch(record)`` is called with each epoch's record (e.g. to print a table row).
    - ``compiled``: run each step through `compiled_step` (the forward and backward passes replayed by
      `chainrule.compile`; the same results to float tolerance, several times faster for small models).
    - ``loader``: the minibatches to train on instead of ``DataLoader(train_data, batch_size, shuffle, seed,
      drop_last)``, e.g. a `chainrule.distributed.DistributedSampler` (this rank's shard of every batch).

    Training stops early, with ``history.stop_reason`` set and a message, when a callback asks, when the
    loss becomes NaN or infinite (the update that would apply it is skipped), or on Ctrl-C (the partial
    epoch is discarded from the history).
    """
    loss_fn = get_loss(loss) if isinstance(loss, str) else loss
    train_set = _as_dataset(train_data, "train_data")
    test_set = None if test_data is None else _as_dataset(test_data, "test_data")
    if loader is None:
        loader = DataLoader(train_set, batch_size, shuffle=shuffle, seed=seed, drop_last=drop_last)
    history = history if history is not None else History()
    l2_weights = weights(model) if l2 else []
    state = TrainState(model, optimizer, scheduler, start_epoch, history, loader)
    step = compiled_step(model, loss_fn, optimizer, l2=l2) if compiled else None
    try:
        for epoch in range(start_epoch, epochs):
            started = time.perf_counter()
            model.train()
            loader.set_epoch(epoch)
            bar = _progress(len(loader), progress, f"epoch {epoch + 1}/{epochs}")
            try:
                for batch, (xb, yb) in enumerate(loader, start=1):
                    if step is not None:
                        value = step(xb, yb)  # forward, backward and update, replayed (no update if not finite)
                    else:
                        optimizer.zero_grad()
                        objective = loss_fn(model(cr.tensor(xb)), yb)                 # 1. forward
                        if l2:
                            objective = objective + l2_penalty(l2_weights, l2)
                        value = float(objective.item())
                    if not math.isfinite(value):
                        history.stop_reason = "diverged"
                        history.message = (f"the loss became {value} at epoch {epoch + 1}, batch {batch}; "
                                           f"stopped (try a smaller learning rate)")
                        return history
                    if step is None:
                        objective.backward()                                          # 2. backward
                        optimizer.step()                                              # 3. update
                    if bar is not None:
                        bar.update(1)
                        bar.set_postfix(loss=f"{value:.4f}")
            finally:
                if bar is not None:
                    bar.close()
            train_eval = evaluate(model, loss_fn, train_set.x, train_set.y)           # mean train loss
            test_eval = evaluate(model, loss_fn, test_set.x, test_set.y) if test_set is not None else {}
            record = {"epoch": epoch + 1, "train_loss": train_eval["loss"], "test_loss": test_eval.get("loss"),
                      "test_accuracy": test_eval.get("accuracy"),
                      "seconds": time.perf_counter() - started}
            history.epochs.append(record)
            if scheduler is not None:
                scheduler.step()
            state.epoch = epoch + 1
            if on_epoch is not None:
                on_epoch(record)
            if not math.isfinite(record["train_loss"]):
                history.stop_reason = "diverged"
                history.message = f"the training loss became {record['train_loss']} after epoch {epoch + 1}"
                return history
            stop = False
            for callback in callbacks:
                stop = bool(callback.on_epoch_end(state)) or stop
            if stop:
                break
    except KeyboardInterrupt:
        history.stop_reason = "interrupted"
        history.message = (f"interrupted during epoch {state.epoch + 1}; kept the state after epoch "
                           f"{state.epoch}")
    finally:
        for callback in callbacks:
            callback.on_train_end(state)
    return history


__all__ = ["COLUMNS", "Callback", "CheckpointCallback", "EarlyStopping", "History", "TrainState", "compiled_step",
           "evaluate", "fit", "predict_labels", "rng_states", "set_rng_states"]
