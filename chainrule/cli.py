"""The ``chainrule`` command: ``train``, ``evaluate`` and ``predict`` sub-commands.

Each sub-command lives in its own pair of functions: ``_add_<name>(subparsers)`` declares its flags and
``cmd_<name>(args) -> int`` runs it. To add a sub-command, write such a pair and list the ``_add_`` function
in the `SUBCOMMANDS` tuple.

Every error is reported as one line, ``chainrule: error: ...``: exit status 2 for a usage error (flags), 1 when
running fails (the data, a file, the training); ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, NoReturn

import numpy as np

from .viz.cli import register as register_explain

PROG = "chainrule"

__all__ = ["DEFAULTS", "PROG", "SCHEDULES", "SUBCOMMANDS", "TABLE_HEADER", "CLIError", "RunError", "TrainConfig",
           "build_parser", "cmd_evaluate", "cmd_predict", "cmd_train", "main", "plot_curves", "write_history"]


class CLIError(Exception):
    """A usage error (a bad flag or combination of flags): printed as one line, exit status 2.

    >>> build_parser().parse_args(["train", "--lr", "-1"])
    Traceback (most recent call last):
        ...
    chainrule.cli.CLIError: argument --lr: expected a positive learning rate, got '-1'
    (see 'chainrule train --help')
    """


class RunError(CLIError):
    """A failure while running (the data, a file, the training itself): printed as one line, exit status 1.

    >>> import contextlib, os, sys, tempfile
    >>> tmp = tempfile.TemporaryDirectory()
    >>> flags = ["train", "--dataset", "line", "--hidden", "none", "--optimizer", "sgd", "--lr", "1e6", "--epochs", "5"]
    >>> with contextlib.redirect_stderr(sys.stdout), contextlib.redirect_stdout(None):
    ...     status = main(flags + ["--out", os.path.join(tmp.name, "run"), "--no-plot"])
    chainrule: error: the loss became inf at epoch 1, batch 5; stopped (try a smaller learning rate);
    no checkpoint was written
    >>> status, issubclass(RunError, CLIError)
    (1, True)
    >>> tmp.cleanup()
    """


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors raise `CLIError` (one line, no usage dump) instead of exiting."""

    def error(self, message: str) -> NoReturn:
        raise CLIError(f"{message} (see '{self.prog} --help')")


# ---- argument types -----------------------------------------------------------------------------------------
def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _float_in(low: float, high: float, low_open: bool = False, what: str = "a number"):
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not math.isfinite(value) or value < low or value > high or (low_open and value == low):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value

    return parse


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated sizes like 16,32; got {text!r}") from None
    if min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"sizes must be positive; got {text!r}")
    return sizes


def _hidden(text: str) -> list[int]:
    if text.strip().lower() == "none":
        return []
    if text.strip() == "0":
        raise argparse.ArgumentTypeError("0 is not a layer size; use --hidden none for no hidden layer")
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated layer sizes like 64,32; got {text!r}") from None
    if min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"layer sizes must be positive; got {text!r}")
    return sizes


# ---- configuration ------------------------------------------------------------------------------------------
@dataclass
class TrainConfig:
    """Everything that defines a training run (stored in the checkpoint and history.json).

    >>> config = TrainConfig(dataset="xor", optimizer="sgd")
    >>> config.hidden, config.epochs, config.resolved_lr()
    ([128], 30, 0.1)
    >>> TrainConfig(model="cnn").hidden, TrainConfig(model="cnn").epochs, TrainConfig().resolved_lr()
    ([64], 15, 0.001)
    """

    dataset: str = "digits"
    target: str | None = None
    data_dir: str | None = None
    model: str = "mlp"                 # "mlp" or "cnn"
    hidden: list[int] | None = None    # None: [128] for an MLP, [64] for a CNN (after the convolutions)
    channels: list[int] = field(default_factory=lambda: [16, 32])  # a CNN's 3x3 convolutions
    activation: str = "relu"
    dropout: float = 0.0
    loss: str | None = None            # None: cross-entropy for class labels, squared-error otherwise
    optimizer: str = "adam"
    lr: float | None = None            # None: 1e-3 for adam, 0.1 for sgd
    momentum: float = 0.9
    l2: float = 1e-3
    epochs: int | None = None          # None: 30 for an MLP, 15 for a CNN
    batch_size: int = 32
    seed: int = 0
    test_fraction: float = 0.2
    val_fraction: float = 0.0
    patience: int | None = None        # early stopping on the validation loss (needs val_fraction)
    schedule: str = "constant"
    clip: float | None = None          # gradient clipping by global norm
    dtype: str = "float32"
    compile: bool = False

    def __post_init__(self) -> None:
        if self.hidden is None:
            self.hidden = [64] if self.model == "cnn" else [128]
        if self.epochs is None:
            self.epochs = 15 if self.model == "cnn" else 30

    def resolved_lr(self) -> float:
        """The learning rate of the run: ``lr``, or the optimiser's default when it is None.

        >>> [TrainConfig(optimizer=name).resolved_lr() for name in ("adam", "rmsprop", "adagrad", "sgd")]
        [0.001, 0.001, 0.01, 0.1]
        >>> TrainConfig(optimizer="sgd", lr=0.5).resolved_lr()
        0.5
        """
        return self.lr if self.lr is not None else (1e-3 if self.optimizer in ("adam", "rmsprop") else
                                                    0.01 if self.optimizer == "adagrad" else 0.1)


DEFAULTS = TrainConfig()


# ---- sub-command: train ---------------------------------------------------------------------------------------
def _add_data_flags(parser: argparse.ArgumentParser, training: bool) -> None:
    parser.add_argument("--dataset", metavar="NAME|PATH",
                        help="digits (default), mnist, fashion-mnist, xor, spirals, circles, blobs, or a "
                             ".csv / .npz file" if training else
                             "evaluate on all examples of this data set instead of the training test split")
    parser.add_argument("--target", metavar="COL", help="target column of a CSV file (default: 'target', "
                                                        "'label', 'class', 'y' or the last column)")
    parser.add_argument("--data-dir", metavar="DIR", help="folder with the IDX files for mnist/fashion-mnist")


def _add_train(subparsers: Any) -> None:
    p = subparsers.add_parser("train", help="train an MLP or a CNN on a data set", description=(
        "Train a multilayer perceptron (or a small CNN on image data) with minibatch gradient descent and "
        "backprop; print a per-epoch table and write model.safetensors, history.json, history.csv and curves.png "
        "to the run folder."))
    _add_data_flags(p, training=True)
    # the model
    p.add_argument("--model", choices=("mlp", "cnn"), help="an MLP (default) or a CNN: 3x3 convolutions, 2x2 "
                                                           "max-pooling, then --hidden layers (image data sets)")
    p.add_argument("--hidden", type=_hidden, metavar="SIZES", help="hidden layer sizes, e.g. 64,32 "
                   "(default 128 for an MLP, 64 for a CNN; 'none' for no hidden layer)")
    p.add_argument("--channels", type=_sizes, metavar="SIZES",
                   help="a CNN's convolution channels (default 16,32; a max-pool after every second one)")
    p.add_argument("--activation", choices=("sigmoid", "tanh", "relu"), help=f"default {DEFAULTS.activation}")
    p.add_argument("--dropout", type=_float_in(0, 0.99, False, "a dropout probability in [0, 1)"),
                   help="dropout after each hidden layer (default 0)")
    p.add_argument("--dtype", choices=("float32", "float64"), help="of the parameters and data (default float32)")
    p.add_argument("--loss", choices=("cross-entropy", "squared-error"),
                   help="default: cross-entropy for class labels, squared-error for numeric targets")
    # the optimisation
    p.add_argument("--optimizer", choices=("sgd", "adam", "rmsprop", "adagrad"), help=f"default {DEFAULTS.optimizer}")
    p.add_argument("--lr", type=_float_in(0, math.inf, True, "a positive learning rate"),
                   help="learning rate (default 0.001 for adam and rmsprop, 0.01 for adagrad, 0.1 for sgd)")
    p.add_argument("--schedule", choices=SCHEDULES, help="learning-rate schedule over the epochs (default constant; "
                                                         "plateau halves the lr when the validation loss stalls)")
    p.add_argument("--clip", type=_float_in(0, math.inf, True, "a positive gradient norm"),
                   help="clip the gradients to this global norm before each step")
    p.add_argument("--momentum", type=_float_in(0, 0.999999, False, "a momentum in [0, 1)"),
                   help=f"SGD momentum (default {DEFAULTS.momentum})")
    p.add_argument("--l2", type=_float_in(0, math.inf, False, "a non-negative L2 strength"),
                   help=f"L2 regularisation λ: adds λ·½Σ‖W‖² to the loss (default {DEFAULTS.l2})")
    p.add_argument("--epochs", type=_positive_int, help="default 30 for an MLP, 15 for a CNN")
    p.add_argument("--batch-size", type=_positive_int, help=f"default {DEFAULTS.batch_size}")
    p.add_argument("--seed", type=int, help=f"seed for the split, the initial weights and shuffling "
                                            f"(default {DEFAULTS.seed})")
    p.add_argument("--val-fraction", type=_float_in(0, 0.9, True, "a fraction in (0, 0.9]"),
                   help="hold out this fraction of the training examples to validate on (default none)")
    p.add_argument("--patience", type=_positive_int, help="stop when the validation loss has not improved for this "
                                                          "many epochs (needs --val-fraction)")
    # the run
    p.add_argument("--json", action="store_true", help="print one JSON summary instead of the table")
    p.add_argument("--out", metavar="DIR", help="run folder (default runs/<dataset>-<timestamp>)")
    p.add_argument("--resume", metavar="RUN", help="continue the run in this folder (or checkpoint file) "
                                                   "up to --epochs")
    p.add_argument("--no-plot", action="store_true", help="do not write curves.png")
    p.add_argument("--compile", action="store_true", default=None,
                   help="replay each training step with chainrule.compile (faster; equal to float tolerance; "
                        "stored in the run, so --resume keeps it)")
    p.add_argument("--tensorboard", nargs="?", const="", metavar="DIR",
                   help="also write each epoch's losses, accuracies and lr as TensorBoard scalars into DIR "
                        "(default: the run folder's tensorboard/; needs chainrule[tensorboard])")
    p.add_argument("--plot-weights", action="store_true",
                   help="for a model with two weights (e.g. --dataset line --hidden none): also draw the loss "
                        "surface, its gradient and the descent path in the weight plane (weights.png)")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                   help="where the parameters live and the arithmetic runs: cpu (NumPy, default) or cuda (CuPy "
                        "on an NVIDIA GPU; needs CuPy; untested on a GPU)")
    from .distributed.cli import add_train_flags

    add_train_flags(p)  # --workers N: data-parallel on N processes
    p.set_defaults(func=cmd_train)


SCHEDULES = ("constant", "step", "cosine", "exponential", "onecycle", "warmup-cosine", "plateau")

_TRAIN_KEYS = ("dataset", "target", "data_dir", "model", "hidden", "channels", "activation", "dropout", "loss",
               "optimizer", "lr", "momentum", "l2", "epochs", "batch_size", "seed", "val_fraction", "patience",
               "schedule", "clip", "dtype", "compile")


def _config_from_args(args: argparse.Namespace) -> TrainConfig:
    given = {key: getattr(args, key) for key in _TRAIN_KEYS if getattr(args, key) is not None}
    config = TrainConfig(**given)
    if config.patience is not None and not config.val_fraction:
        raise CLIError("--patience stops on the validation loss: it needs --val-fraction (e.g. --val-fraction 0.1)")
    if config.schedule == "plateau" and not config.val_fraction:
        raise CLIError("--schedule plateau watches the validation loss: it needs --val-fraction")
    if config.model == "mlp" and args.channels is not None:
        raise CLIError("--channels applies to --model cnn only")
    return config




def _load_split(config: TrainConfig, dataset: str | None = None, target: str | None = None,
                data_dir: str | None = None, standardize: bool = True):
    from .data import load_dataset

    return load_dataset(dataset or config.dataset, target=target if dataset else config.target,
                        data_dir=data_dir or config.data_dir, seed=config.seed,
                        test_fraction=config.test_fraction, standardize=standardize, dtype=config.dtype)


def _make_model(config: TrainConfig, split: Any) -> tuple[Any, str]:
    """The model and its one-line description."""
    from . import nn

    if config.model == "cnn":
        if split.image_shape is None:
            raise CLIError(f"--model cnn needs image data (digits, mnist, fashion-mnist); {split.name} is tabular")
        model = nn.CNN(split.image_shape, config.channels, config.hidden, split.n_outputs, config.activation,
                       dropout=config.dropout, rng=config.seed, dtype=config.dtype)
        shape = "x".join(map(str, split.image_shape))
        layers = " -> ".join([f"conv{c}" for c in config.channels] + [str(h) for h in config.hidden])
        return model, f"CNN {shape} -> {layers} -> {split.n_outputs}"
    sizes = [split.n_features, *config.hidden, split.n_outputs]
    model = nn.mlp(sizes, config.activation, dropout=config.dropout, rng=config.seed, dtype=config.dtype)
    return model, f"MLP {' -> '.join(map(str, sizes))}"


def _make_optimizer(config: TrainConfig, params: list) -> Any:
    from . import optim

    if config.optimizer == "adam":
        return optim.Adam(params, lr=config.resolved_lr())
    if config.optimizer == "rmsprop":
        return optim.RMSprop(params, lr=config.resolved_lr())
    if config.optimizer == "adagrad":
        return optim.Adagrad(params, lr=config.resolved_lr())
    return optim.SGD(params, lr=config.resolved_lr(), momentum=config.momentum)


def _make_schedule(config: TrainConfig, optimizer: Any) -> Any:
    from . import optim

    epochs = int(config.epochs or 1)
    if config.schedule == "step":
        return optim.StepLR(optimizer, step_size=max(1, epochs // 3), gamma=0.1)
    if config.schedule == "cosine":
        return optim.CosineLR(optimizer, total_epochs=epochs)
    if config.schedule == "exponential":
        return optim.ExponentialLR(optimizer, gamma=0.9)
    if config.schedule == "onecycle":
        return optim.OneCycleLR(optimizer, total_epochs=max(2, epochs))
    if config.schedule == "warmup-cosine":
        warmup = max(1, epochs // 10)
        return optim.SequentialLR(optimizer, [optim.LinearWarmup(optimizer, warmup, 0.1),
                                              optim.CosineLR(optimizer, max(1, epochs - warmup))], [warmup])
    if config.schedule == "plateau":
        return optim.ReduceLROnPlateau(optimizer, factor=0.5, patience=2)
    return None


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.4f}" if abs(value) < 1e5 else f"{value:.3g}"


def _percent(value: float | None) -> str:
    return f"{100 * value:.2f}%" if value is not None else "-"


def _format_row(record: dict[str, Any], validation: bool = False) -> str:
    middle = (f"{_number(record.get('val_loss')):>8}  {_percent(record.get('val_accuracy')):>7}  "
              if validation else "")
    return (f"{record['epoch']:>5}  {_number(record['train_loss']):>10}  {middle}"
            f"{_number(record.get('test_loss')):>9}  {_percent(record.get('test_accuracy')):>8}  "
            f"{record['seconds']:>6.2f}s")


def _table_header(validation: bool = False) -> str:
    middle = f"{'val loss':>8}  {'val acc':>7}  " if validation else ""
    return f"{'epoch':>5}  {'train loss':>10}  {middle}{'test loss':>9}  {'test acc':>8}  {'time':>7}"


TABLE_HEADER = _table_header()


def write_history(folder: str, config: dict[str, Any], epochs: list[dict[str, Any]]) -> None:
    """history.json (``{"config", "epochs"}``) and history.csv, each written atomically.

    >>> import json, os, tempfile
    >>> tmp = tempfile.TemporaryDirectory()
    >>> write_history(tmp.name, {"dataset": "xor"}, [{"epoch": 1, "train_loss": 0.5, "test_loss": 0.6, "lr": 0.1}])
    >>> sorted(os.listdir(tmp.name))
    ['history.csv', 'history.json']
    >>> with open(os.path.join(tmp.name, "history.csv")) as handle:
    ...     print(handle.read(), end="")
    epoch,train_loss,train_accuracy,val_loss,val_accuracy,test_loss,test_accuracy,lr,seconds
    1,0.5,,,,0.6,,0.1,
    >>> with open(os.path.join(tmp.name, "history.json")) as handle:
    ...     json.load(handle)["epochs"][0]["train_loss"]
    0.5
    >>> tmp.cleanup()
    """
    from .checkpoint import atomic_write
    from .train import COLUMNS

    rows = [{key: record.get(key) for key in COLUMNS} for record in epochs]
    atomic_write(os.path.join(folder, "history.json"),
                 (json.dumps(_finite({"config": config, "epochs": rows}), indent=2, allow_nan=False) + "\n").encode())
    lines = [",".join(COLUMNS)]
    lines += [",".join("" if row[key] is None else repr(row[key]) for key in COLUMNS) for row in rows]
    atomic_write(os.path.join(folder, "history.csv"), ("\n".join(lines) + "\n").encode())


def plot_curves(folder: str, epochs: list[dict[str, Any]], title: str) -> str | None:
    """Write curves.png (losses and test accuracy per epoch); returns a note if matplotlib is missing.

    >>> import os, tempfile
    >>> tmp = tempfile.TemporaryDirectory()
    >>> epochs = [{"epoch": 1, "train_loss": 0.9, "test_loss": 1.0, "test_accuracy": 0.6},
    ...       {"epoch": 2, "train_loss": 0.4, "test_loss": 0.5, "test_accuracy": 0.8}]
    >>> plot_curves(tmp.name, epochs, "xor") is None, os.listdir(tmp.name)
    (True, ['curves.png'])
    >>> tmp.cleanup()
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed: skipped curves.png (pip install matplotlib)"
    xs = [r["epoch"] for r in epochs]
    has_accuracy = any(r.get("test_accuracy") is not None for r in epochs)
    fig, axes = plt.subplots(1, 2 if has_accuracy else 1, figsize=(10 if has_accuracy else 5.5, 4))
    axes = np.atleast_1d(axes)
    axes[0].plot(xs, [r["train_loss"] for r in epochs], label="train loss")
    if any(r.get("test_loss") is not None for r in epochs):
        axes[0].plot(xs, [r["test_loss"] for r in epochs], label="test loss")
    axes[0].set(xlabel="epoch", ylabel="mean loss", title=f"{title}: loss", yscale="log")
    axes[0].legend()
    if has_accuracy:
        axes[1].plot(xs, [100 * r["test_accuracy"] for r in epochs], color="C2")
        axes[1].set(xlabel="epoch", ylabel="test accuracy (%)", title=f"{title}: test accuracy")
    for axis in axes:
        axis.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(os.path.join(folder, "curves.png"), dpi=110)
    plt.close(fig)
    return None


def _default_out(dataset: str) -> str:
    stem = os.path.splitext(os.path.basename(dataset))[0] or "run"
    return os.path.join("runs", f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}")


def _resume_setup(args: argparse.Namespace) -> tuple[TrainConfig, str, Any]:
    """(config, run folder, checkpoint) for ``train --resume``; only ``--epochs`` may change."""
    from . import checkpoint

    path = checkpoint.resolve(args.resume)
    saved = checkpoint.load(path)
    if "config" not in saved.info or "epoch" not in saved.info:
        raise CLIError(f"{path}: the checkpoint holds no training configuration; cannot resume")
    try:
        config = TrainConfig(**saved.info["config"])
    except TypeError as error:
        raise RunError(f"{path}: the stored configuration is not one this version understands ({error})") from None
    changed = [key for key in _TRAIN_KEYS if key != "epochs" and getattr(args, key) is not None
               and getattr(args, key) != getattr(config, key)]
    if changed:
        raise CLIError(f"--resume continues the stored configuration; only --epochs may be changed "
                       f"(got --{changed[0].replace('_', '-')})")
    if args.epochs is not None:
        config.epochs = args.epochs
    out = os.path.dirname(os.path.abspath(path))
    if args.out and os.path.abspath(args.out) != out:
        raise CLIError("--out cannot be combined with --resume (the run continues in its own folder)")
    done = int(saved.info["epoch"])
    if done >= config.epochs:
        raise CLIError(f"the run already has {done} epochs; pass --epochs N with N > {done} to continue it")
    return config, out, saved


class _HistoryWriter:
    """Callback: rewrite history.json / history.csv after every epoch (so an interrupted run keeps them)."""

    def __init__(self, folder: str, config: dict[str, Any]) -> None:
        self.folder, self.config = folder, config

    def on_epoch_end(self, state: Any) -> None:
        write_history(self.folder, self.config, state.history.epochs)

    def on_train_end(self, state: Any) -> None:
        return None


def _finite(value: Any) -> Any:
    """``value`` with NaN and infinities replaced by None, so that ``json.dumps`` writes valid JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def cmd_train(args: argparse.Namespace) -> int:
    """``chainrule train``: train, printing a per-epoch table; write the run folder.

    >>> import contextlib, io, json, os, tempfile
    >>> tmp = tempfile.TemporaryDirectory()
    >>> out = os.path.join(tmp.name, "blobs")
    >>> args = build_parser().parse_args(["train", "--dataset", "blobs", "--hidden", "8", "--optimizer", "sgd",
    ...                                   "--epochs", "3", "--json", "--out", out, "--no-plot"])
    >>> with contextlib.redirect_stdout(io.StringIO()) as printed:
    ...     status = cmd_train(args)
    >>> summary = json.loads(printed.getvalue())
    >>> status, summary["epochs"], summary["stop_reason"], round(summary["test_accuracy"], 4)
    (0, 3, None, 1.0)
    >>> sorted(os.listdir(out))
    ['history.csv', 'history.json', 'model.safetensors']
    >>> tmp.cleanup()
    """
    from . import checkpoint
    from .distributed.cli import data_parallel, launch_workers, launched_size
    from .train import History, set_rng_states

    if args.workers and (status := launch_workers(args.argv, args.workers)) is not None:
        return status  # the ranks ran under mpiexec
    # 1. configuration: from the flags, or from the checkpoint of the run being resumed
    saved = None
    if args.resume:
        config, out, saved = _resume_setup(args)
    else:
        config = _config_from_args(args)
        out = args.out or _default_out(config.dataset)
        if os.path.exists(os.path.join(out, "model.safetensors")):
            raise CLIError(f"{out} already holds a run; use --resume {out} to continue it or another --out")
    say = (lambda *a, **k: None) if args.json else print
    tensorboard = None
    if args.tensorboard is not None:  # checked before the data is loaded; nothing is written before epoch 1
        from .train import TensorBoardLogger

        try:
            tensorboard = TensorBoardLogger(args.tensorboard or os.path.join(out, "tensorboard"))
        except ImportError:
            raise CLIError("--tensorboard needs the tensorboardX package: pip install 'chainrule[tensorboard]'"
                           ) from None
    # 2. data, model, optimiser, schedule (restored when resuming)
    split = _load_split(config)
    if config.loss is None:
        config.loss = "cross-entropy" if split.task == "classification" else "squared-error"
    if config.loss == "cross-entropy" and split.task != "classification":
        raise CLIError(f"cross-entropy needs class labels, but the target of {config.dataset} is continuous; "
                       f"use --loss squared-error")
    model, description = _make_model(config, split)
    if getattr(args, "device", "cpu") == "cuda":
        _to_cuda(model, config)
    optimizer = _make_optimizer(config, model.parameters())
    scheduler = _make_schedule(config, optimizer)
    recorder = _weight_recorder(model) if args.plot_weights else None
    history, start_epoch = History(), 0
    if saved is not None:
        start_epoch = int(saved.info["epoch"])
        try:
            model.load_state_dict(saved.model_state)
        except (KeyError, ValueError, TypeError) as error:
            raise RunError(f"{saved.path}: the weights do not fit the stored configuration ({error})") from None
        if saved.optimizer_state is not None:
            optimizer.load_state_dict(saved.optimizer_state)
        if scheduler is not None and saved.scheduler_state is not None:
            scheduler.load_state_dict(saved.scheduler_state)
        set_rng_states(model, saved.info.get("rng_states", {}))
        history.epochs = list(saved.info.get("history", []))[:start_epoch]
    # under mpiexec: this rank's shard of each batch, averaged gradients; only rank 0 writes (and prints)
    x_train, y_train, val_data = split.x_train, split.y_train, None
    if config.val_fraction and launched_size() > 1:
        # the split fit makes in one process, made before sharding: the same on every rank (from the seed);
        # every rank then validates on all of it with the same weights, so early stopping agrees
        from .data import ArrayDataset
        from .train import _split_validation

        try:
            kept, held_out = _split_validation(ArrayDataset(x_train, y_train), config.val_fraction, config.seed)
        except ValueError as error:
            raise CLIError(str(error).replace("fit: val_fraction", "--val-fraction")) from None
        x_train, y_train, val_data = kept.x, kept.y, (held_out.x, held_out.y)
    optimizer, loader, writer = data_parallel(optimizer, x_train, y_train, config.batch_size, config.seed)
    if not writer:
        return _train_run(args, config, split, model, description, optimizer, scheduler, recorder, history,
                          start_epoch, out, say, loader, writer, val_data, tensorboard)
    os.makedirs(out, exist_ok=True)
    lock = checkpoint.RunLock(out)  # one trainer per run folder; released when this command ends
    try:
        removed = checkpoint.remove_orphaned_temporaries(out)
        if removed:
            say(f"note: removed {removed} temporary file(s) left by an interrupted save", file=sys.stderr)
        return _train_run(args, config, split, model, description, optimizer, scheduler, recorder, history,
                          start_epoch, out, say, loader, writer, val_data, tensorboard)
    finally:
        lock.release()


def _to_cuda(model: Any, config: TrainConfig) -> None:
    """``model.to("cuda")`` for ``train --device cuda``; without CuPy or a GPU, a `RunError` (one line, exit 1)."""
    from ._namespace import NamespaceError

    if config.compile:
        raise CLIError("--compile replays NumPy code; it does not run with --device cuda (drop one of them)")
    try:
        model.to("cuda")  # (the checkpoints hold NumPy copies; the batches move to the GPU in fit)
    except NamespaceError as error:
        raise RunError(f"--device cuda: {str(error).removeprefix('chainrule: ')}") from None


def _train_run(args: argparse.Namespace, config: TrainConfig, split: Any, model: Any, description: str,
               optimizer: Any, scheduler: Any, recorder: Any, history: Any, start_epoch: int, out: str,
               say: Callable[..., None], loader: Any = None, writer: bool = True, val_data: Any = None,
               tensorboard: Any = None) -> int:
    from .train import CheckpointCallback, EarlyStopping, fit

    config_dict = asdict(config)
    validation = bool(config.val_fraction)
    say(f"data: {split.name}, {len(split.x_train)} train / {len(split.x_test)} test examples, "
        f"{split.n_features} features, " + (f"{len(split.classes)} classes" if split.task == "classification"
                                            else f"{split.n_outputs} numeric target(s)")
        + (f"; {config.val_fraction:g} of train held out to validate" if validation else ""))
    say(f"model: {description}, {config.activation}, {model.num_parameters():,} parameters, {config.dtype}; "
        f"loss {config.loss}" + (f" + L2 {config.l2}" if config.l2 else "") +
        f"; {config.optimizer} lr={config.resolved_lr()}" + (f" ({config.schedule})" if scheduler else "") +
        f", batch {config.batch_size}, seed {config.seed}")
    say(f"run folder: {out}" + (f" (resuming after epoch {start_epoch})" if args.resume else ""))
    say(_table_header(validation))
    for record in history.epochs:
        say(_format_row(record, validation))
    # 3. train: a checkpoint and the history files after every epoch
    keep = CheckpointCallback(os.path.join(out, "model.safetensors"), info={
        "config": config_dict, "task": split.task, "classes": split.classes, "n_features": split.n_features,
        "dataset": split.name}, arrays={"data/mean": split.scaler.mean, "data/std": split.scaler.std})
    # (only the rank that writes keeps the run folder; every rank stops early together)
    callbacks = [keep, _HistoryWriter(out, config_dict)] + ([recorder] if recorder else []) \
        + ([tensorboard] if tensorboard else []) if writer else []
    if config.patience is not None:
        # the run folder's checkpoint is the last epoch's (so that --resume continues it), not the best one's
        callbacks.insert(0, EarlyStopping(patience=config.patience, restore_best=False))

    def on_epoch(record: dict[str, Any]) -> None:
        say(_format_row(record, validation), flush=True)

    started = time.perf_counter()
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # divergence is reported below
        history = fit(model, config.loss, optimizer, (split.x_train, split.y_train),
                      (split.x_test, split.y_test), epochs=config.epochs, batch_size=config.batch_size, l2=config.l2,
                      seed=config.seed, scheduler=scheduler, callbacks=callbacks, start_epoch=start_epoch,
                      history=history, on_epoch=on_epoch, compiled=config.compile, val_fraction=config.val_fraction,
                      clip_norm=config.clip) if loader is None else \
            fit(model, config.loss, optimizer, loader, (split.x_test, split.y_test), epochs=config.epochs,
                l2=config.l2, seed=config.seed, scheduler=scheduler, callbacks=callbacks, start_epoch=start_epoch,
                history=history, on_epoch=on_epoch, compiled=config.compile, clip_norm=config.clip,
                val_data=val_data)
    elapsed = time.perf_counter() - started
    # 4. the final history files, the curves, and how it ended
    if history.epochs and writer:
        write_history(out, config_dict, history.epochs)
        if not args.no_plot:
            note = plot_curves(out, history.epochs, split.name)
            if note:
                print(f"note: {note}", file=sys.stderr)
        if recorder is not None:
            _plot_weights(model, config.loss, split, recorder, out)
    last = history.epochs[-1] if history.epochs else None
    if args.json:
        summary = {"run": out, "epochs": len(history.epochs), "stop_reason": history.stop_reason,
                   "message": history.message or None, "seconds": elapsed,
                   **{key: (last or {}).get(key) for key in ("train_loss", "train_accuracy", "val_loss",
                                                            "val_accuracy", "test_loss", "test_accuracy")}}
        print(json.dumps(_finite(summary), allow_nan=False))
    if history.stop_reason == "interrupted":
        done = len(history.epochs)
        print(f"interrupted: the run folder holds the state after epoch {done}; continue with "
              f"'chainrule train --resume {out}'", file=sys.stderr)
        return 130
    if history.stop_reason == "diverged":
        kept = (f"the last good checkpoint (epoch {len(history.epochs)}) is kept in {out}"
                if history.epochs else "no checkpoint was written")
        raise RunError(f"{history.message}; {kept}")
    if history.message:
        say(history.message)
    summary_line = f"done in {elapsed:.1f}s"
    if last and last.get("test_accuracy") is not None:
        summary_line += f": test accuracy {100 * last['test_accuracy']:.2f}%, test loss {last['test_loss']:.4f}"
    elif last and last.get("test_loss") is not None:
        summary_line += f": test loss {last['test_loss']:.4f}"
    say(f"{summary_line}; wrote {out}/model.safetensors, history.json, history.csv"
        + ("" if args.no_plot else ", curves.png")
        + (f"; TensorBoard events in {tensorboard.log_dir}" if tensorboard is not None and writer else ""))
    return 0


# ---- shared by evaluate and predict -------------------------------------------------------------------------
def _restore(run: str):
    """(checkpoint, model, config, scaler) from a run folder or checkpoint file."""
    from . import checkpoint
    from .data import Standardizer

    saved = checkpoint.load(checkpoint.resolve(run))
    info = saved.info
    if "config" not in info or "data/mean" not in saved.arrays:
        raise CLIError(f"{saved.path}: not a checkpoint written by 'chainrule train' (no configuration or "
                       f"feature scaler stored)")
    config = TrainConfig(**info["config"])
    scaler = Standardizer(saved.arrays["data/mean"], saved.arrays["data/std"])
    return saved, saved.build_model(), config, scaler


def _align_classes(labels: np.ndarray, split_classes: list[Any], model_classes: list[Any], source: str
                   ) -> np.ndarray:
    """Re-code class indices of ``split_classes`` into indices of the model's classes."""
    position = {label: i for i, label in enumerate(model_classes)}
    unknown = [c for c in split_classes if c not in position]
    if unknown:
        raise CLIError(f"{source} has class labels the model was not trained on: "
                       f"{', '.join(map(str, unknown[:5]))}")
    mapping = np.array([position[c] for c in split_classes], dtype=np.int64)
    return mapping[labels]


# ---- sub-command: evaluate ----------------------------------------------------------------------------------
def _add_evaluate(subparsers: Any) -> None:
    p = subparsers.add_parser("evaluate", help="loss, accuracy and confusion matrix of a trained model",
                              description="Evaluate a trained model on the test split of its data set (or, "
                                          "with --dataset, on all examples of another one).")
    p.add_argument("run", metavar="RUN_OR_CHECKPOINT", help="a run folder or a .safetensors checkpoint")
    _add_data_flags(p, training=False)
    p.add_argument("--json", action="store_true", help='print {"loss", "accuracy", "confusion"} as JSON')
    p.set_defaults(func=cmd_evaluate)


def cmd_evaluate(args: argparse.Namespace) -> int:
    """``chainrule evaluate``: loss, accuracy and confusion matrix.

    >>> import contextlib, os, tempfile
    >>> tmp = tempfile.TemporaryDirectory(); run = os.path.join(tmp.name, "blobs")
    >>> with contextlib.redirect_stdout(None):
    ...     _ = main(["train", "--dataset", "blobs", "--hidden", "8", "--optimizer", "sgd", "--epochs", "3",
    ...                "--out", run, "--no-plot"])
    >>> cmd_evaluate(build_parser().parse_args(["evaluate", run]))
    checkpoint: .../blobs/model.safetensors (epoch 3)
    data: the test split of blobs (80 examples)
    loss: 0.0349   accuracy: 100.00%
    confusion matrix (rows: true class, columns: predicted class):
           0   1   2
       0  27   0   0
       1   0  25   0
       2   0   0  28
    0
    >>> tmp.cleanup()
    """
    from .nn import get_loss
    from .train import evaluate

    saved, model, config, scaler = _restore(args.run)
    other = args.dataset is not None and args.dataset != config.dataset
    target = args.target or (config.target if other and args.dataset.lower().endswith(".csv") else None)
    split = _load_split(config, args.dataset if other else None, target, args.data_dir, standardize=False)
    if other:
        x = np.concatenate([split.x_train, split.x_test])
        y = np.concatenate([split.y_train, split.y_test])
        where = f"all {len(x)} examples of {split.name}"
    else:
        x, y = split.x_test, split.y_test
        where = f"the test split of {split.name} ({len(x)} examples)"
    x = scaler.transform(x).astype(config.dtype)
    task = saved.info.get("task", "classification")
    classes = saved.info.get("classes", [])
    if task == "classification":
        if split.task != "classification":
            raise CLIError(f"the model is a classifier, but the target of {split.name} is continuous")
        y = _align_classes(y, split.classes, classes, split.name)
    result = evaluate(model, get_loss(config.loss or "cross-entropy"), x, y)
    output: dict[str, Any] = {"loss": result["loss"], "accuracy": result.get("accuracy")}
    if "predictions" in result:
        k = len(classes)
        confusion = np.zeros((k, k), dtype=np.int64)
        np.add.at(confusion, (y, result["predictions"]), 1)
        output["confusion"] = confusion.tolist()
    if args.json:
        print(json.dumps(_finite(output), allow_nan=False))
        return 0
    print(f"checkpoint: {saved.path} (epoch {saved.info.get('epoch', '?')})")
    print(f"data: {where}")
    line = f"loss: {output['loss']:.4f}"
    if output["accuracy"] is not None:
        line += f"   accuracy: {100 * output['accuracy']:.2f}%"
    print(line)
    if "confusion" in output:
        names = [str(c) for c in classes]
        width = max(4, *(len(n) for n in names), len(str(int(np.max(output["confusion"], initial=0)))) + 1)
        print("confusion matrix (rows: true class, columns: predicted class):")
        print(" " * width + "".join(f"{n:>{width}}" for n in names))
        for name, row in zip(names, output["confusion"], strict=True):
            print(f"{name:>{width}}" + "".join(f"{v:>{width}}" for v in row))
    return 0


# ---- sub-command: predict ------------------------------------------------------------------------------------
def _add_predict(subparsers: Any) -> None:
    p = subparsers.add_parser("predict", help="predict with a trained model",
                              description="Predict class labels (or values) for the examples in a .npy "
                                          "array (n, features) or a .csv file (one example per row; a header "
                                          "row and the training target column are allowed).")
    p.add_argument("run", metavar="RUN_OR_CHECKPOINT", help="a run folder or a .safetensors checkpoint")
    p.add_argument("input", metavar="INPUT", help="a .npy or .csv file of examples")
    p.add_argument("--out", metavar="FILE", help="write the predictions here (.npy, or text one per line) "
                                                  "instead of stdout")
    p.set_defaults(func=cmd_predict)


def _read_inputs(path: str, n_features: int, target: str | None) -> np.ndarray:
    if not os.path.isfile(path):
        raise CLIError(f"input file not found: {path}")
    if path.lower().endswith(".npy"):
        try:
            x = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as error:
            raise CLIError(f"{path}: not a readable .npy array ({error})") from None
        if x.dtype.kind not in "iufb":
            raise CLIError(f"{path}: expected a numeric array; got dtype {x.dtype}")
        x = x.reshape(1, -1) if x.ndim == 1 else x.reshape(len(x), -1)
    elif path.lower().endswith(".csv"):
        with open(path, newline="") as handle:
            rows = [row for row in csv.reader(handle) if row]
        if not rows:
            raise CLIError(f"{path}: the file is empty")
        try:
            [float(v) for v in rows[0]]
            header = None
        except ValueError:
            header, rows = [h.strip() for h in rows[0]], rows[1:]
        keep = list(range(len(header))) if header else None
        if header and target in header and len(header) == n_features + 1:
            keep = [i for i, h in enumerate(header) if h != target]
        try:
            x = np.array([[float(row[i]) for i in (keep or range(len(row)))] for row in rows])
        except (ValueError, IndexError):
            raise CLIError(f"{path}: expected numeric feature values in every row") from None
    else:
        raise CLIError(f"{path}: unsupported input; expected a .npy or .csv file")
    if x.ndim != 2 or x.shape[1] != n_features:
        raise CLIError(f"{path}: expected {n_features} features per example; got shape {x.shape}")
    return x.astype(np.float64)


def cmd_predict(args: argparse.Namespace) -> int:
    """``chainrule predict``: one prediction per input example.

    >>> import contextlib, os, tempfile
    >>> tmp = tempfile.TemporaryDirectory(); run = os.path.join(tmp.name, "blobs")
    >>> with contextlib.redirect_stdout(None):
    ...     _ = main(["train", "--dataset", "blobs", "--hidden", "8", "--optimizer", "sgd", "--epochs", "3",
    ...                "--out", run, "--no-plot"])
    >>> inputs = os.path.join(tmp.name, "points.npy")
    >>> np.save(inputs, np.array([[0.0, 2.0], [-1.8, -1.0], [1.8, -1.0]]))  # near the three blobs' centres
    >>> cmd_predict(build_parser().parse_args(["predict", run, inputs]))
    0
    1
    2
    0
    >>> tmp.cleanup()
    """
    import chainrule as cr

    from .train import predict_labels

    saved, model, config, scaler = _restore(args.run)
    target = config.target or "target"
    x = scaler.transform(_read_inputs(args.input, int(saved.info.get("n_features", scaler.mean.size)), target))
    x = x.astype(config.dtype)
    model.eval()
    with cr.no_grad():
        outputs = model(cr.tensor(x)).data
    if saved.info.get("task", "classification") == "classification":
        from .nn import get_loss

        classes = saved.info.get("classes", [])
        labels = predict_labels(outputs, get_loss(config.loss or "cross-entropy"))
        predictions = np.array([classes[i] for i in labels]) if classes else labels
    else:
        predictions = outputs if outputs.shape[1] > 1 else outputs[:, 0]
    if args.out and args.out.lower().endswith(".npy"):
        import io

        from .checkpoint import atomic_write

        buffer = io.BytesIO()
        np.save(buffer, predictions, allow_pickle=False)
        atomic_write(args.out, buffer.getvalue())
        return 0
    lines = [" ".join(map(str, np.atleast_1d(p))) for p in predictions]
    text = "\n".join(lines) + "\n"
    if args.out:
        from .checkpoint import atomic_write

        atomic_write(args.out, text.encode())
    else:
        sys.stdout.write(text)
    return 0


def _weight_recorder(model: Any) -> Any:
    from .viz._plot import WeightPathRecorder

    try:
        return WeightPathRecorder(model)
    except ValueError as error:
        raise CLIError(f"{error}; try --dataset line --hidden none") from None


def _plot_weights(model: Any, loss: str, split: Any, recorder: Any, out: str) -> None:
    from .nn import get_loss
    from .viz._plot import plot_weights_for_run

    path = os.path.join(out, "weights.png")
    try:
        plot_weights_for_run(model, get_loss(loss), split.x_train, split.y_train, recorder.points, path)
    except ImportError:
        print("note: matplotlib is not installed: weights.png skipped (pip install matplotlib)", file=sys.stderr)
        return
    print(f"weight-space picture: {path}")


# ---- the parser and main ---------------------------------------------------------------------------------------
SUBCOMMANDS: tuple[Callable[[Any], Any], ...] = (_add_train, _add_evaluate, _add_predict, register_explain)


def build_parser() -> argparse.ArgumentParser:
    """The ``chainrule`` parser. Sub-commands are registered from `SUBCOMMANDS`; each sets ``func``.

    >>> parser = build_parser()
    >>> args = parser.parse_args(["train", "--dataset", "xor", "--epochs", "3", "--hidden", "16,8"])
    >>> args.command, args.dataset, args.epochs, args.hidden, args.func is cmd_train
    ('train', 'xor', 3, [16, 8], True)
    >>> parser.parse_args(["evaluate", "runs/xor", "--json"]).func is cmd_evaluate
    True
    """
    parser = _Parser(prog=PROG, description="chainrule: reverse-mode autodiff for NumPy, and a small "
                                            "training stack. Run 'chainrule train' to train an MLP on digits.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    parser.add_argument("--version", action="version", version=f"{PROG} {_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for register in SUBCOMMANDS:
        register(subparsers)
    for sub in subparsers.choices.values():
        if not any("--debug" in action.option_strings for action in sub._actions):
            sub.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                             help="show tracebacks on errors")
    return parser


def _version() -> str:
    from . import __version__

    return __version__


def _user_errors() -> tuple[type[BaseException], ...]:
    """The errors a user can cause; `CLIError` (usage) exits with 2, the others (running failed) with 1."""
    from .checkpoint import CheckpointError
    from .data import DataError
    from .viz._formula import ExplainError

    return (CLIError, CheckpointError, DataError, ExplainError, OSError)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``chainrule`` command; returns the exit status.

    >>> import contextlib, os, sys, tempfile
    >>> tmp = tempfile.TemporaryDirectory(); run = os.path.join(tmp.name, "xor")
    >>> main(["train", "--dataset", "xor", "--hidden", "8", "--epochs", "2", "--out", run, "--no-plot"])
    data: xor, 320 train / 80 test examples, 2 features, 2 classes
    model: MLP 2 -> 8 -> 2, relu, 42 parameters, float32; loss cross-entropy + L2 0.001; adam lr=0.001, batch 32, seed 0
    run folder: .../xor
    epoch  train loss  test loss  test acc     time
        1      0.8152     0.8371    67.50%    ...
        2      0.7792     0.7945    67.50%    ...
    done in ...s: test accuracy 67.50%, test loss 0.7945; wrote .../xor/model.safetensors, history.json, history.csv
    0
    >>> main(["evaluate", run, "--json"])
    {"loss": 0.79446..., "accuracy": 0.675, "confusion": [[35, 4], [22, 19]]}
    0
    >>> with contextlib.redirect_stderr(sys.stdout):  # errors are one line on stderr
    ...     status = main(["train", "--epochs", "0"])
    chainrule: error: argument --epochs: expected a positive integer, got '0' (see 'chainrule train --help')
    >>> status
    2
    >>> tmp.cleanup()
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        args = build_parser().parse_args(argv)
        args.argv = argv  # what `train --workers` re-runs on each rank
        debug = debug or bool(getattr(args, "debug", False))
        if getattr(args, "func", None) is None:
            build_parser().print_help()
            return 2
        with warnings.catch_warnings():
            # NumPy's overflow/invalid-value warnings would be a second line on stderr; what they signal (a
            # diverging loss, NaN features) is checked and reported as one line where it matters
            warnings.simplefilter("ignore", RuntimeWarning)
            return int(args.func(args))
    except KeyboardInterrupt:
        if debug:
            raise
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except _user_errors() as error:
        if debug:
            raise
        text = str(error) if not isinstance(error, OSError) or not error.filename else (
            f"{error.strerror}: {error.filename}")
        print(f"{PROG}: error: {' '.join(text.split())}", file=sys.stderr)
        return 2 if isinstance(error, CLIError) and not isinstance(error, RunError) else 1
    except Exception as error:  # a bug, or an error from a layer below: still one line
        if debug:
            raise
        print(f"{PROG}: error: {type(error).__name__}: {' '.join(str(error).split())} "
              f"(run with --debug for the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
