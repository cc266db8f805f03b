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

import csv
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import chainrule as cr

from ._namespace import namespace, on_host
from .data import ArrayDataset, DataLoader
from .nn import Dropout, Module, get_loss, l2_penalty, parameters_from, weights
from .nn.losses import squared_error

#: the keys of an epoch's record, in table order (a key is None where it does not apply; metrics add more)
COLUMNS = ("epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "test_loss", "test_accuracy", "lr",
           "seconds")

LossFn = Callable[[cr.Tensor, Any], cr.Tensor]


@dataclass
class History:
    """Per-epoch records (dicts with the keys in `COLUMNS`) and why training stopped:
    ``stop_reason`` is None (all epochs ran), ``"early_stopping"``, ``"diverged"`` or ``"interrupted"``.

    >>> history = History()
    >>> history.epochs.append({"epoch": 1, "train_loss": 0.9, "test_loss": 1.0})
    >>> history.epochs.append({"epoch": 2, "train_loss": 0.5, "test_loss": 0.7})
    >>> history.column("train_loss"), history.stop_reason
    ([0.9, 0.5], None)
    """

    epochs: list[dict[str, Any]] = field(default_factory=list)
    stop_reason: str | None = None
    message: str = ""

    def column(self, key: str) -> list[Any]:
        """One value of every epoch's record: ``history.column("test_loss")`` (None where it does not apply).

        >>> history = History([{"epoch": 1, "train_loss": 0.7, "val_loss": None},
        ...                   {"epoch": 2, "train_loss": 0.4, "val_loss": None}])
        >>> history.column("train_loss"), history.column("val_loss")
        ([0.7, 0.4], [None, None])
        """
        return [record[key] for record in self.epochs]


@dataclass
class TrainState:
    """What callbacks see at the end of an epoch. ``epoch`` counts completed epochs.

    >>> import chainrule.nn as nn, chainrule.optim as optim
    >>> class Show(Callback):
    ...     def on_epoch_end(self, state):
    ...         print(state.epoch, type(state.model).__name__, state.optimizer.lr, len(state.history.epochs))
    >>> net = nn.Linear(1, 1, rng=0)
    >>> x = np.linspace(-1, 1, 8).reshape(8, 1)
    >>> _ = fit(net, "squared-error", optim.SGD(net.parameters(), lr=0.1), (x, 2 * x), epochs=2, callbacks=[Show()],
    ...     progress=False)
    1 Linear 0.1 1
    2 Linear 0.1 2
    """

    model: Module
    optimizer: Any
    scheduler: Any
    epoch: int
    history: History
    loader: DataLoader


class Callback:
    """Hooks called by `fit`. ``on_epoch_end`` may return True to stop training.

    >>> import chainrule.nn as nn, chainrule.optim as optim
    >>> class StopBelow(Callback):
    ...     def on_epoch_end(self, state):
    ...         return state.history.epochs[-1]["train_loss"] < 0.05
    >>> net = nn.Linear(1, 1, rng=0)
    >>> x = np.linspace(-1, 1, 16).reshape(16, 1)
    >>> opt = optim.SGD(net.parameters(), lr=0.5)
    >>> history = fit(net, "squared-error", opt, (x, 2 * x), epochs=50, batch_size=4, callbacks=[StopBelow()],
    ...               progress=False)
    >>> len(history.epochs), round(history.epochs[-1]["train_loss"], 4)
    (2, 0.0133)
    """

    def on_epoch_end(self, state: TrainState) -> bool | None:
        """Called after each epoch's record is appended to ``state.history``; return True to stop training.

        >>> import chainrule.nn as nn, chainrule.optim as optim
        >>> class StopAfterTwo(Callback):
        ...     def on_epoch_end(self, state):
        ...         return state.epoch == 2
        >>> net = nn.Linear(1, 1, rng=0)
        >>> x = np.linspace(-1, 1, 8).reshape(8, 1)
        >>> history = fit(net, "squared-error", optim.SGD(net.parameters(), lr=0.1), (x, x), epochs=10,
        ...               callbacks=[StopAfterTwo()], progress=False)
        >>> len(history.epochs), history.stop_reason
        (2, None)
        """
        return None

    def on_train_end(self, state: TrainState) -> None:
        """Called once when training ends, however it ends (all epochs, a stop, divergence or Ctrl-C).

        >>> import chainrule.nn as nn, chainrule.optim as optim
        >>> class Report(Callback):
        ...     def on_train_end(self, state):
        ...         print(f"trained {state.epoch} epochs, last train loss {state.history.epochs[-1]['train_loss']:.3f}")
        >>> net = nn.Linear(1, 1, rng=0)
        >>> x = np.linspace(-1, 1, 8).reshape(8, 1)
        >>> _ = fit(net, "squared-error", optim.SGD(net.parameters(), lr=0.1), (x, x), epochs=3, callbacks=[Report()],
        ...     progress=False)
        trained 3 epochs, last train loss 0.046
        """
        return None


class EarlyStopping(Callback):
    """Stop when ``monitor`` (default ``val_loss``: the loss on the validation split of `fit`'s
    ``val_fraction`` / ``val_data``; lower is better, higher for accuracies) has not improved by ``min_delta``
    for ``patience`` epochs; with ``restore_best`` put back the best weights at the end. Monitoring a value
    the records do not have is an error, never a silent no-op.

    >>> EarlyStopping(patience=3).monitor
    'val_loss'
    """

    def __init__(self, patience: int = 5, monitor: str = "val_loss", min_delta: float = 0.0,
                 restore_best: bool = True) -> None:
        if int(patience) < 1:
            raise ValueError(f"EarlyStopping: patience must be a positive integer; got {patience}")
        self.patience, self.monitor, self.min_delta, self.restore_best = patience, monitor, min_delta, restore_best
        self.best = math.inf
        self.best_state: dict[str, np.ndarray] | None = None
        self.waited = 0

    def on_epoch_end(self, state: TrainState) -> bool:
        value = state.history.epochs[-1].get(self.monitor)
        if value is None:
            raise ValueError(f"EarlyStopping: monitors '{self.monitor}', but the epoch records have no such value "
                             f"({_missing_hint(self.monitor)})")
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


def _missing_hint(key: str) -> str:
    if key.startswith("val_"):
        return "no validation data: pass val_fraction= or val_data= to fit"
    if key.startswith("test_"):
        return "no test data: pass test_data to fit"
    return f"the records have the keys {', '.join(COLUMNS)} and the metrics' names"


class CSVLogger(Callback):
    """Append each epoch's record to a CSV file (a header row first), flushed at once so that the file can be
    followed during training. The columns are `COLUMNS` plus any metrics.

    >>> import tempfile, os
    >>> logger = CSVLogger(os.path.join(tempfile.mkdtemp(), "log.csv"))
    """

    def __init__(self, path: str, columns: Sequence[str] | None = None) -> None:
        self.path, self.columns = path, list(columns) if columns else None

    def on_epoch_end(self, state: TrainState) -> None:
        record = state.history.epochs[-1]
        if self.columns is None:
            self.columns = [*COLUMNS, *(k for k in record if k not in COLUMNS)]
        new = not os.path.exists(self.path) or os.path.getsize(self.path) == 0
        with open(self.path, "a", newline="") as handle:
            writer = csv.writer(handle)
            if new:
                writer.writerow(self.columns)
            writer.writerow(["" if record.get(k) is None else record.get(k) for k in self.columns])


class TensorBoardLogger(Callback):
    """Write each epoch's numbers as TensorBoard scalars into the folder ``log_dir`` (``tensorboard --logdir
    DIR`` shows them), at step = the epoch (1, 2, ...). ``train_loss`` becomes the tag ``loss/train``,
    ``val_accuracy`` ``accuracy/val``, a metric ``val_f1`` ``f1/val`` (so train, validation and test of one
    quantity sit in one section); ``lr`` and ``seconds`` keep their names; values that are None are left out.
    TensorBoard stores scalars as float32. The event file is flushed after every epoch and closed when `fit`
    ends. A run resumed from a checkpoint continues the same curves (what an interrupted run wrote after the
    resumed epoch is purged from the display).

    Needs tensorboardX, a maintained writer of TensorBoard event files: ``pip install
    'chainrule[tensorboard]'``; without it the constructor raises an ImportError that says so.

    >>> import tempfile
    >>> TensorBoardLogger.tag("val_accuracy"), TensorBoardLogger.tag("lr")
    ('accuracy/val', 'lr')
    >>> logger = TensorBoardLogger(tempfile.mkdtemp())  # nothing is written before the first epoch
    """

    def __init__(self, log_dir: str) -> None:
        try:
            from tensorboardX import SummaryWriter
        except ImportError:
            raise ImportError("TensorBoardLogger needs the tensorboardX package, which is not installed: "
                              "pip install 'chainrule[tensorboard]'") from None
        self.log_dir = os.fspath(log_dir)
        self._writer_class, self.writer = SummaryWriter, None

    @staticmethod
    def tag(key: str) -> str:
        """The TensorBoard tag of a record's key."""
        split, _, name = key.partition("_")
        return f"{name}/{split}" if split in ("train", "val", "test") and name else key

    def on_epoch_end(self, state: TrainState) -> None:
        record = state.history.epochs[-1]
        step = int(record["epoch"])
        if self.writer is None:  # a resumed run: TensorBoard drops this folder's events from this step on
            # (the file name has only the second in it: the suffix keeps a second file of the same second
            # from overwriting the first)
            self.writer = self._writer_class(self.log_dir, purge_step=step if step > 1 else None,
                                             filename_suffix=f".{time.time_ns()}")
        for key, value in record.items():
            if key != "epoch" and isinstance(value, int | float | np.number) and not isinstance(value, bool):
                self.writer.add_scalar(self.tag(key), float(value), step)
        self.writer.flush()

    def on_train_end(self, state: TrainState) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


class CheckpointCallback(Callback):
    """Save a checkpoint (see `chainrule.checkpoint`) after every ``every`` epochs, atomically, with the
    epoch count, the optimiser and schedule state, and dropout RNG states, so `fit` can resume exactly.
    ``info`` and ``arrays`` are stored too (e.g. the run configuration and the feature scaler).

    >>> import os, tempfile, chainrule.nn as nn, chainrule.optim as optim
    >>> from chainrule import checkpoint
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = os.path.join(tmp.name, "run.safetensors")
    >>> net = nn.Linear(1, 1, rng=0)
    >>> x = np.linspace(-1, 1, 8).reshape(8, 1)
    >>> _ = fit(net, "squared-error", optim.SGD(net.parameters(), lr=0.1), (x, 2 * x), epochs=3,
    ...     callbacks=[CheckpointCallback(path)], progress=False)
    >>> loaded = checkpoint.load(path)
    >>> loaded.info["epoch"], loaded.optimizer_state["type"], len(loaded.info["history"])
    (3, 'SGD', 3)
    >>> np.array_equal(loaded.model_state["weight"], net.weight.data)
    True
    >>> tmp.cleanup()
    """

    def __init__(self, path: str, every: int = 1, info: dict[str, Any] | None = None,
                 arrays: dict[str, np.ndarray] | None = None) -> None:
        self.path, self.every, self.info, self.arrays = path, every, dict(info or {}), arrays
        self.saved_epoch: int | None = None  # the epoch the file on disk holds

    def on_epoch_end(self, state: TrainState) -> None:
        if state.epoch % self.every == 0:
            self.save(state)
            self.saved_epoch = state.epoch

    def save(self, state: TrainState) -> None:
        """Write the checkpoint of ``state`` now: the model, optimiser and schedule, the epoch count, the loader's
        seed, the dropout RNG states and the history, plus ``info`` and ``arrays``.

        >>> import os, tempfile, chainrule.nn as nn, chainrule.optim as optim
        >>> from chainrule import checkpoint
        >>> from chainrule.data import ArrayDataset, DataLoader
        >>> tmp = tempfile.TemporaryDirectory(); path = os.path.join(tmp.name, "now.safetensors")
        >>> net = nn.Linear(1, 1, rng=0)
        >>> loader = DataLoader(ArrayDataset(np.zeros((4, 1)), np.zeros((4, 1))), seed=7)
        >>> state = TrainState(net, optim.SGD(net.parameters(), lr=0.1), None, 3, History(), loader)
        >>> CheckpointCallback(path, info={"note": "by hand"}).save(state)  # as on_epoch_end does
        >>> info = checkpoint.load(path).info
        >>> info["epoch"], info["loader_seed"], info["note"]
        (3, 7, 'by hand')
        >>> tmp.cleanup()
        """
        from . import checkpoint

        info = {**self.info, "epoch": state.epoch, "loader_seed": state.loader.seed,
                "rng_states": rng_states(state.model), "history": state.history.epochs}
        checkpoint.save(self.path, state.model, state.optimizer, state.scheduler, info=info, arrays=self.arrays)


def rng_states(model: Module) -> dict[str, Any]:
    """The bit-generator states of the model's random layers (`Dropout`), by module name.

    >>> import chainrule.nn as nn
    >>> net = nn.mlp([2, 4, 1], dropout=0.5, rng=0)
    >>> states = rng_states(net)
    >>> list(states), states["2"]["bit_generator"]
    (['2'], 'PCG64')
    """
    return {name: m.rng.bit_generator.state for name, m in model.named_modules() if isinstance(m, Dropout)}


def set_rng_states(model: Module, states: dict[str, Any]) -> None:
    """Restore what `rng_states` returned.

    >>> import chainrule.nn as nn
    >>> net = nn.mlp([2, 4, 1], dropout=0.5, rng=0)
    >>> saved = rng_states(net)
    >>> first = net[2].rng.random(3)
    >>> set_rng_states(net, saved)
    >>> np.array_equal(net[2].rng.random(3), first)
    True
    """
    for name, m in model.named_modules():
        if isinstance(m, Dropout) and name in states:
            m.rng.bit_generator.state = states[name]


def _as_dataset(data: Any, what: str) -> ArrayDataset:
    if data is None:
        raise TypeError(f"fit: {what} is None")
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
    of the logit (or > 0.5 for a squared-error model, whose output estimates the label).

    >>> predict_labels(np.array([[0.1, 2.0, -1.0], [3.0, 0.0, 0.0]]))
    array([1, 0])
    >>> predict_labels(np.array([[-0.3], [1.2]]))
    array([0, 1])
    >>> from chainrule.nn import squared_error
    >>> predict_labels(np.array([[0.3], [0.7]]), squared_error)
    array([0, 1])
    """
    if outputs.ndim == 2 and outputs.shape[1] > 1:
        return outputs.argmax(axis=1)
    threshold = 0.5 if loss is squared_error else 0.0
    return (outputs.reshape(len(outputs)) > threshold).astype(np.int64)


def _placer(model: Module) -> Callable[[Any], Any]:
    """A function putting a batch (NumPy arrays) where the model's parameters are: itself for NumPy, else
    moved into their library, onto their device (``model.to(device)``)."""
    first = next(iter(model.parameters()), None)
    if first is None or isinstance(first.data, np.ndarray):
        return lambda batch: batch
    xp = namespace(first.data)  # (bound to the parameters' device)
    return lambda batch: xp.asarray(np.asarray(batch))


def evaluate(model: Module, loss: LossFn | str, x: np.ndarray, y: np.ndarray, batch_size: int = 1024
             ) -> dict[str, Any]:
    """Mean loss over ``(x, y)`` and, for integer targets, accuracy and predicted labels (no graph is
    recorded; the model is put in eval mode and restored). A model on another device (``model.to``) gets
    its batches there; the outputs come back as NumPy arrays.

    >>> import chainrule.nn as nn
    >>> net = nn.Linear(2, 3, rng=0)
    >>> net.weight.data[:] = np.eye(2, 3)
    >>> result = evaluate(net, "cross-entropy", np.array([[5.0, 0.0], [0.0, 5.0], [5.0, 0.0]]), np.array([0, 1, 2]))
    >>> result["predictions"], round(result["accuracy"], 4), round(result["loss"], 4), result["outputs"].shape
    (array([0, 1, 0]), 0.6667, 1.6801, (3, 3))
    """
    loss_fn = get_loss(loss) if isinstance(loss, str) else loss
    place = _placer(model)
    was_training = model.training
    model.eval()
    total, outputs = 0.0, []
    try:
        with cr.no_grad():
            for start in range(0, len(x), batch_size):
                xb, yb = x[start:start + batch_size], y[start:start + batch_size]
                out = model(cr.tensor(place(xb)))
                total += float(loss_fn(out, yb).item()) * len(xb)  # (the losses check targets on the host)
                outputs.append(on_host(out.data))
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


def compiled_step(model: Module, loss: LossFn | str, optimizer: Any, *, l2: float = 0.0,
                  clip_norm: float | None = None, clip_value: float | None = None) -> Callable[[Any, Any], float]:
    """A training step — forward, backward, optimiser update — whose forward and backward passes are
    compiled (`chainrule.compile`): ``step(x, t)`` returns the objective's value and updates ``model`` in
    place with ``optimizer``, as ``zero_grad(); J.backward(); optimizer.step()`` would.

    The step is traced as a pure function of the model's parameters (`chainrule.nn.parameters_from`), so the
    replay reads the parameters' current arrays on every call; each parameter's ``.grad`` is set to the fresh
    gradient (clipped by ``clip_norm`` / ``clip_value`` as in `fit`), then the optimiser runs as usual (any
    optimiser, its state and schedules unchanged). A
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
            _clip(optimizer.params, clip_norm, clip_value)
            optimizer.step()
        return value

    return step


def _clip(params: list, clip_norm: float | None, clip_value: float | None) -> None:
    from .optim import clip_grad_norm, clip_grad_value

    if clip_value is not None:
        clip_grad_value(params, clip_value)
    if clip_norm is not None:
        clip_grad_norm(params, clip_norm)


def _resolve_metric(name: str | Callable) -> tuple[str, Callable]:
    if callable(name):
        return getattr(name, "__name__", "metric"), name
    try:
        from sklearn import metrics
    except ImportError:
        raise ValueError(f"fit: the metric {name!r} is a scikit-learn metric name, but scikit-learn is not "
                         f"installed (pass a function (y_true, y_pred) -> float instead)") from None
    function = getattr(metrics, name, None)
    if not callable(function):
        raise ValueError(f"fit: sklearn.metrics has no function {name!r} (e.g. 'balanced_accuracy_score', "
                         f"'matthews_corrcoef')")
    return name, function


def _split_validation(train_set: ArrayDataset, fraction: float, seed: int) -> tuple[ArrayDataset, ArrayDataset]:
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"fit: val_fraction must be in (0, 1); got {fraction}")
    n = len(train_set)
    n_val = int(round(n * fraction))
    if n_val < 1 or n_val >= n:
        raise ValueError(f"fit: val_fraction={fraction} of {n} examples leaves no validation or no training data")
    order = np.random.default_rng([seed, 2**31 - 1]).permutation(n)  # its own stream: the shuffles are unchanged
    val, train = order[:n_val], order[n_val:]
    return ArrayDataset(train_set.x[train], train_set.y[train]), ArrayDataset(train_set.x[val], train_set.y[val])


def _check_monitors(callbacks: Sequence[Callback], has_val: bool, has_test: bool) -> None:
    for callback in callbacks:
        monitor = getattr(callback, "monitor", None)
        if not isinstance(monitor, str):
            continue
        if (monitor.startswith("val_") and not has_val) or (monitor.startswith("test_") and not has_test):
            raise ValueError(f"{type(callback).__name__}: monitors '{monitor}', but there is nothing to measure it "
                             f"on ({_missing_hint(monitor)})")


def fit(model: Module, loss: LossFn | str, optimizer: Any, train_data: Any, test_data: Any = None,
        epochs: int = 10, batch_size: int = 32, *, l2: float = 0.0, scheduler: Any = None, seed: int = 0,
        shuffle: bool = True, drop_last: bool = False, callbacks: Sequence[Callback] = (),
        progress: bool | None = None, start_epoch: int = 0, history: History | None = None,
        on_epoch: Callable[[dict[str, Any]], None] | None = None, compiled: bool = False,
        val_fraction: float = 0.0, val_data: Any = None, clip_norm: float | None = None,
        clip_value: float | None = None, metrics: Sequence[str | Callable] = ()) -> History:
    """Train ``model`` with minibatch gradient descent for epochs ``start_epoch .. epochs − 1``.

    - ``loss``: a function ``(outputs, targets) -> scalar Tensor`` or a name (`chainrule.nn.get_loss`);
      ``l2`` adds λ·½Σ‖W‖² over the weight matrices to the training objective (the reported losses are
      the data losses).
    - ``train_data``: an `ArrayDataset`, ``(x, y)``, or a `DataLoader`, which is used as given (its batch
      size, shuffling, seed and ``drop_last``; ``batch_size``/``shuffle``/``drop_last`` then do not apply).
      ``test_data``: `ArrayDataset` or ``(x, y)``, or None.
    - ``val_fraction``: hold out this fraction of the training examples (seeded) as a validation split;
      or pass ``val_data``. Its loss and accuracy are ``val_loss`` / ``val_accuracy`` in the records, and
      `EarlyStopping` and `chainrule.optim.ReduceLROnPlateau` watch ``val_loss``.
    - ``clip_norm`` / ``clip_value``: clip the gradients (by their global norm / elementwise) before each step.
    - ``metrics``: functions ``(y_true, y_pred) -> float`` or names of ``sklearn.metrics`` functions, computed
      on the validation split (else the test set) each epoch, recorded under ``val_<name>`` / ``test_<name>``.
    - Shuffling uses ``(seed, epoch)``, so passing ``start_epoch``/``history`` from a checkpoint continues a
      run exactly.
    - A progress bar is shown when stderr is a terminal (``progress=None``), forced on/off with True/False.
    - ``on_epoch(record)`` is called with each epoch's record (e.g. to print a table row).
    - ``compiled``: run each step through `compiled_step` (the forward and backward passes replayed by
      `chainrule.compile`; the same results to float tolerance, several times faster for small models).
    - ``loader``: the minibatches to train on instead of ``DataLoader(train_data, batch_size, shuffle, seed,
      drop_last)``, e.g. a `chainrule.distributed.DistributedSampler` (this rank's shard of every batch).

    Each epoch's record (keys `COLUMNS`) is appended to the history before the callbacks run; if Ctrl-C
    stops a `CheckpointCallback` before its file holds that epoch, the record is taken back out, so the
    history, the checkpoint and the message agree. Training stops early, with ``history.stop_reason`` set and
    a message, when a callback asks, when the loss becomes NaN or infinite (the update that would apply it
    is skipped), or on Ctrl-C (the partial epoch is discarded from the history).

    >>> import chainrule.nn as nn, chainrule.optim as optim
    >>> from chainrule.data import synthetic
    >>> x, y = synthetic("blobs", n=200, seed=0)
    >>> net = nn.mlp([2, 8, 3], activation="tanh", rng=0)
    >>> train, test = (x[:150], y[:150]), (x[150:], y[150:])
    >>> history = fit(net, "cross-entropy", optim.SGD(net.parameters(), lr=0.1), train, test, epochs=3, batch_size=16,
    ...               seed=0, progress=False)
    >>> for record in history.epochs:
    ...     print(record["epoch"], f"{record['train_loss']:.3f} {record['test_loss']:.3f}", record["test_accuracy"])
    1 0.291 0.324 0.98
    2 0.173 0.194 0.98
    3 0.123 0.141 0.98
    >>> history.stop_reason is None
    True
    """
    loss_fn = get_loss(loss) if isinstance(loss, str) else loss
    if isinstance(train_data, DataLoader):
        loader, train_set = train_data, train_data.dataset
        if val_fraction:
            raise ValueError("fit: val_fraction splits arrays; with a DataLoader as train_data pass val_data= "
                             "(or give fit the arrays)")
    else:
        train_set = _as_dataset(train_data, "train_data")
        loader = None
    val_set = None if val_data is None else _as_dataset(val_data, "val_data")
    if val_fraction:
        if val_set is not None:
            raise ValueError("fit: pass val_fraction or val_data, not both")
        train_set, val_set = _split_validation(train_set, val_fraction, seed)
    if loader is None:
        loader = DataLoader(train_set, batch_size, shuffle=shuffle, seed=seed, drop_last=drop_last)
    test_set = None if test_data is None else _as_dataset(test_data, "test_data")
    _check_monitors([*callbacks, scheduler] if scheduler is not None else callbacks, val_set is not None,
                    test_set is not None)
    metric_functions = [_resolve_metric(m) for m in metrics]
    history = history if history is not None else History()
    l2_weights = weights(model) if l2 else []
    state = TrainState(model, optimizer, scheduler, start_epoch, history, loader)
    step = compiled_step(model, loss_fn, optimizer, l2=l2, clip_norm=clip_norm, clip_value=clip_value) \
        if compiled else None
    place = _placer(model)  # batches go to the model's device
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
                        objective = loss_fn(model(cr.tensor(place(xb))), yb)          # 1. forward
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
                        _clip(optimizer.params, clip_norm, clip_value)
                        optimizer.step()                                              # 3. update
                    if bar is not None:
                        bar.update(1)
                        bar.set_postfix(loss=f"{value:.4f}")
            finally:
                if bar is not None:
                    bar.close()
            record = _epoch_record(model, loss_fn, epoch, train_set, val_set, test_set, metric_functions,
                                   optimizer)
            record["seconds"] = time.perf_counter() - started
            if scheduler is not None:
                if getattr(scheduler, "needs_metric", False):
                    scheduler.step(record[getattr(scheduler, "monitor", "val_loss")])
                else:
                    scheduler.step()
            if on_epoch is not None:
                on_epoch(record)
            if not math.isfinite(record["train_loss"]):
                history.stop_reason = "diverged"
                history.message = f"the training loss became {record['train_loss']} after epoch {epoch + 1}"
                return history
            history.epochs.append(record)
            state.epoch = epoch + 1
            stop = False
            try:
                for callback in callbacks:
                    stop = bool(callback.on_epoch_end(state)) or stop
            except KeyboardInterrupt:
                keepers = [c for c in callbacks if isinstance(c, CheckpointCallback)]
                if any(c.saved_epoch != state.epoch for c in keepers):  # its checkpoint was not written
                    history.epochs.pop()
                    state.epoch -= 1
                raise
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


def _epoch_record(model: Module, loss_fn: LossFn, epoch: int, train_set: ArrayDataset, val_set: ArrayDataset | None,
                  test_set: ArrayDataset | None, metric_functions: list[tuple[str, Callable]], optimizer: Any
                  ) -> dict[str, Any]:
    record: dict[str, Any] = {"epoch": epoch + 1}
    results = {}
    for name, data in (("train", train_set), ("val", val_set), ("test", test_set)):
        result = evaluate(model, loss_fn, data.x, data.y) if data is not None and len(data) else {}
        results[name] = (result, data)
        record[f"{name}_loss"] = result.get("loss")
        record[f"{name}_accuracy"] = result.get("accuracy")
    record["lr"] = getattr(optimizer, "lr", None)
    target = "val" if val_set is not None else "test"
    result, data = results[target]
    for name, function in metric_functions:
        if "predictions" not in result:
            raise ValueError(f"fit: the metric {name!r} needs class labels and a {target} set")
        record[f"{target}_{name}"] = float(function(np.asarray(data.y).reshape(-1), result["predictions"]))
    return record


__all__ = ["COLUMNS", "CSVLogger", "Callback", "CheckpointCallback", "EarlyStopping", "History", "TensorBoardLogger",
           "TrainState", "compiled_step", "evaluate", "fit", "predict_labels", "rng_states", "set_rng_states"]
