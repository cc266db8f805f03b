"""The chainrule command: train / evaluate / predict, resume, and one-line errors."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from chainrule import checkpoint
from chainrule.cli import build_parser, main
from chainrule.train import COLUMNS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _one_line_error(capsys, code, pattern):
    out = capsys.readouterr()
    assert code != 0
    lines = out.err.strip().splitlines()
    assert len(lines) == 1, out.err
    assert lines[0].startswith("chainrule: error: ") and pattern in lines[0], lines[0]
    assert "Traceback" not in out.err


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "xor-run"
    assert main(["train", "--dataset", "xor", "--epochs", "3", "--hidden", "8", "--activation", "tanh",
                 "--lr", "0.05", "--out", str(out), "--no-plot"]) == 0
    return out


def test_train_writes_the_run_folder(run_dir, capsys):
    assert sorted(os.listdir(run_dir)) == ["history.csv", "history.json", "model.safetensors"]
    history = json.loads((run_dir / "history.json").read_text())
    assert history["config"]["dataset"] == "xor" and history["config"]["hidden"] == [8]
    assert [r["epoch"] for r in history["epochs"]] == [1, 2, 3]
    assert set(history["epochs"][0]) == set(COLUMNS)
    csv_lines = (run_dir / "history.csv").read_text().splitlines()
    assert csv_lines[0] == ",".join(COLUMNS) and len(csv_lines) == 4
    assert checkpoint.load(run_dir / "model.safetensors").info["epoch"] == 3


def test_train_prints_a_table(tmp_path, capsys):
    assert main(["train", "--dataset", "blobs", "--epochs", "2", "--out", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    assert "epoch  train loss  test loss  test acc" in out and "done in" in out
    assert (tmp_path / "r" / "curves.png").exists()


def test_evaluate_json_and_table(run_dir, capsys):
    assert main(["evaluate", str(run_dir), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result) == {"loss", "accuracy", "confusion"}
    assert np.array(result["confusion"]).shape == (2, 2) and sum(map(sum, result["confusion"])) == 80
    assert main(["evaluate", str(run_dir / "model.safetensors")]) == 0
    assert "confusion matrix" in capsys.readouterr().out


def test_predict_npy_and_csv(run_dir, tmp_path, capsys):
    x = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    np.save(tmp_path / "x.npy", x)
    assert main(["predict", str(run_dir), str(tmp_path / "x.npy")]) == 0
    labels = capsys.readouterr().out.split()
    assert len(labels) == 4 and set(labels) <= {"0", "1"}
    (tmp_path / "x.csv").write_text("a,b\n0,0\n1,1\n")
    assert main(["predict", str(run_dir), str(tmp_path / "x.csv"), "--out", str(tmp_path / "p.txt")]) == 0
    assert len((tmp_path / "p.txt").read_text().split()) == 2


def test_resume_gives_the_same_weights(tmp_path, capsys):
    common = ["--dataset", "spirals", "--hidden", "16", "--seed", "5", "--no-plot"]
    assert main(["train", *common, "--epochs", "4", "--out", str(tmp_path / "a")]) == 0
    assert main(["train", *common, "--epochs", "2", "--out", str(tmp_path / "b")]) == 0
    assert main(["train", "--resume", str(tmp_path / "b"), "--epochs", "4", "--no-plot"]) == 0
    a = checkpoint.load(tmp_path / "a" / "model.safetensors")
    b = checkpoint.load(tmp_path / "b" / "model.safetensors")
    assert b.info["epoch"] == 4
    for name, value in a.model_state.items():
        assert np.array_equal(value, b.model_state[name]), name
    history = json.loads((tmp_path / "b" / "history.json").read_text())
    assert [r["epoch"] for r in history["epochs"]] == [1, 2, 3, 4]


def test_csv_dataset_with_target(tmp_path, capsys):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 2))
    rows = ["u,v,kind"] + [f"{a},{b},{'pos' if a + b > 0 else 'neg'}" for a, b in x]
    (tmp_path / "d.csv").write_text("\n".join(rows) + "\n")
    assert main(["train", "--dataset", str(tmp_path / "d.csv"), "--target", "kind", "--epochs", "2",
                 "--out", str(tmp_path / "r"), "--no-plot"]) == 0
    (tmp_path / "q.csv").write_text("u,v,kind\n3,3,pos\n-3,-3,neg\n")
    capsys.readouterr()
    assert main(["predict", str(tmp_path / "r"), str(tmp_path / "q.csv")]) == 0
    assert capsys.readouterr().out.split() in (["pos", "neg"], ["neg", "pos"], ["pos", "pos"], ["neg", "neg"])


@pytest.mark.parametrize("argv, pattern", [
    (["train", "--epochs", "0"], "--epochs: expected a positive integer, got '0'"),
    (["train", "--lr", "-1"], "--lr: expected a positive learning rate"),
    (["train", "--hidden", "64,x"], "--hidden: expected comma-separated layer sizes"),
    (["train", "--activation", "swish"], "invalid choice: 'swish'"),
    (["train", "--bogus"], "unrecognized arguments: --bogus"),
    (["train", "--dataset", "nowhere.csv"], "data file not found: nowhere.csv"),
    (["train", "--dataset", "cifar"], "unknown data set 'cifar'"),
    (["train", "--dataset", "mnist"], "needs --data-dir"),
    (["evaluate", "missing-run"], "run folder or checkpoint not found: missing-run"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
])
def test_bad_input_gives_one_line_and_no_traceback(argv, pattern, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _one_line_error(capsys, main(argv), pattern)


def test_bad_csv_target_and_bad_files(tmp_path, capsys, run_dir):
    (tmp_path / "d.csv").write_text("a,b,y\n1,2,0\n3,4,1\n5,6,0\n")
    _one_line_error(capsys, main(["train", "--dataset", str(tmp_path / "d.csv"), "--target", "label",
                                  "--out", str(tmp_path / "r")]), "no column named 'label'")
    (tmp_path / "broken.safetensors").write_bytes(b"\x00" * 4)
    _one_line_error(capsys, main(["evaluate", str(tmp_path / "broken.safetensors")]), "truncated")
    np.save(tmp_path / "wrong.npy", np.zeros((2, 5)))
    _one_line_error(capsys, main(["predict", str(run_dir), str(tmp_path / "wrong.npy")]),
                    "expected 2 features per example")
    _one_line_error(capsys, main(["train", "--out", str(run_dir)]), "already holds a run")
    _one_line_error(capsys, main(["train", "--resume", str(run_dir), "--lr", "0.1"]), "only --epochs")


def test_debug_shows_the_traceback(tmp_path):
    with pytest.raises(Exception, match="data file not found"):
        main(["--debug", "train", "--dataset", str(tmp_path / "nowhere.csv")])


def test_parser_has_registrable_subcommands():
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command")
    assert {"train", "evaluate", "predict"} <= set(subparsers.choices)


def test_python_dash_m_entry_point(tmp_path):
    result = subprocess.run([sys.executable, "-m", "chainrule", "train", "--epochs", "0"], cwd=tmp_path,
                            capture_output=True, text=True, env={**os.environ, "PYTHONPATH": ROOT})
    assert result.returncode == 2 and result.stderr.startswith("chainrule: error: ")
    assert "Traceback" not in result.stderr


def test_ctrl_c_stops_cleanly_after_saving(tmp_path, capsys, monkeypatch):
    import chainrule.train as train_module

    real_evaluate = train_module.evaluate
    calls = []

    def evaluate_then_interrupt(*args, **kwargs):
        calls.append(1)
        if len(calls) == 5:  # during the 3rd epoch's evaluation (2 evaluations per epoch)
            raise KeyboardInterrupt
        return real_evaluate(*args, **kwargs)

    monkeypatch.setattr(train_module, "evaluate", evaluate_then_interrupt)
    code = main(["train", "--dataset", "xor", "--epochs", "5", "--out", str(tmp_path / "r"), "--no-plot"])
    assert code == 130
    assert "interrupted" in capsys.readouterr().err
    assert checkpoint.load(tmp_path / "r" / "model.safetensors").info["epoch"] == 2
    assert len(json.loads((tmp_path / "r" / "history.json").read_text())["epochs"]) == 2


def test_divergence_is_one_line(tmp_path, capsys):
    code = main(["train", "--dataset", "digits", "--optimizer", "sgd", "--lr", "50", "--momentum", "0.99",
                 "--loss", "squared-error", "--epochs", "10", "--out", str(tmp_path / "r"), "--no-plot"])
    _one_line_error(capsys, code, "the loss became inf at epoch 1")


def test_evaluate_on_another_csv_uses_the_training_target(tmp_path, capsys):
    rng = np.random.default_rng(1)

    def write(name, n):
        x = rng.normal(size=(n, 2))
        rows = ["u,v,kind"] + [f"{a},{b},{'pos' if a + b > 0 else 'neg'}" for a, b in x]
        (tmp_path / name).write_text("\n".join(rows) + "\n")

    write("train.csv", 80)
    write("other.csv", 30)
    assert main(["train", "--dataset", str(tmp_path / "train.csv"), "--target", "kind", "--epochs", "20",
                 "--lr", "0.02", "--out", str(tmp_path / "r"), "--no-plot"]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path / "r"), "--dataset", str(tmp_path / "other.csv"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert sum(map(sum, result["confusion"])) == 30 and result["accuracy"] > 0.7
    _one_line_error(capsys, main(["evaluate", str(tmp_path / "r"), "--dataset", "digits"]),
                    "expected inputs with (2,) features")


def test_default_train_command_reaches_97_percent(tmp_path, capsys):
    assert main(["train", "--out", str(tmp_path / "r"), "--no-plot"]) == 0
    history = json.loads((tmp_path / "r" / "history.json").read_text())
    assert history["config"]["dataset"] == "digits" and history["epochs"][-1]["test_accuracy"] >= 0.97


def test_mnist_from_a_data_dir(tmp_path, capsys):
    import gzip
    import struct

    rng = np.random.default_rng(0)

    def idx(array):
        return bytes([0, 0, 8, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()

    for prefix, n in (("train", 60), ("t10k", 20)):
        labels = rng.integers(0, 10, size=n).astype(np.uint8)
        images = (rng.integers(0, 50, size=(n, 28, 28)) + 20 * labels[:, None, None]).astype(np.uint8)
        (tmp_path / f"{prefix}-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx(images)))
        (tmp_path / f"{prefix}-labels-idx1-ubyte").write_bytes(idx(labels))
    assert main(["train", "--dataset", "fashion-mnist", "--data-dir", str(tmp_path), "--epochs", "2",
                 "--out", str(tmp_path / "r"), "--no-plot"]) == 0
    assert "60 train / 20 test examples, 784 features, 10 classes" in capsys.readouterr().out


def test_explain_is_a_subcommand_and_rejects_code(capsys):
    assert main(["explain", "cos(sin(x**2) + 3*x**2)", "--at", "x=1.5"]) == 0
    out = capsys.readouterr().out
    assert "backward pass" in out and "∂f/∂x = -6.74092" in out
    _one_line_error(capsys, main(["explain", "__import__('os')", "--at", "x=1"]), "not allowed")


def test_plot_weights_draws_the_weight_plane_of_a_two_weight_model(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "line"
    assert main(["train", "--dataset", "line", "--hidden", "none", "--plot-weights", "--epochs", "3",
                 "--optimizer", "sgd", "--lr", "0.05", "--out", str(out), "--no-plot"]) == 0
    assert (out / "weights.png").stat().st_size > 1000
    _one_line_error(capsys, main(["train", "--dataset", "xor", "--plot-weights", "--epochs", "1",
                                  "--out", str(tmp_path / "xor")]), "exactly two weights")


def test_train_compile_gives_the_eager_run_to_float_tolerance(tmp_path, capsys):
    runs = []
    for flag in ([], ["--compile"]):
        out = tmp_path / ("compiled" if flag else "eager")
        assert main(["train", "--dataset", "blobs", "--epochs", "3", "--no-plot", "--out", str(out)] + flag) == 0
        runs.append(json.loads((out / "history.json").read_text())["epochs"])
    capsys.readouterr()
    for eager, compiled in zip(*runs, strict=True):
        assert compiled["train_loss"] == pytest.approx(eager["train_loss"], rel=1e-6)
        assert compiled["test_accuracy"] == eager["test_accuracy"]


# ---- the CNN, the new flags, exit codes, run folders ---------------------------------------------------
def _strict_json(text):
    def refuse(constant):
        raise ValueError(f"not JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


def test_cnn_on_digits_trains_and_evaluates(tmp_path, capsys):
    out = tmp_path / "cnn"
    assert main(["train", "--model", "cnn", "--channels", "4,8", "--hidden", "16", "--epochs", "2", "--out", str(out),
                 "--no-plot"]) == 0
    printed = capsys.readouterr().out
    assert "model: CNN 1x8x8 -> conv4 -> conv8 -> 16 -> 10, relu" in printed and "float32" in printed
    saved = checkpoint.load(out / "model.safetensors")
    assert saved.model_spec["type"] == "cnn" and saved.info["config"]["model"] == "cnn"
    assert {a.dtype for a in saved.model_state.values()} == {np.dtype(np.float32)}
    assert main(["evaluate", str(out), "--json"]) == 0
    assert _strict_json(capsys.readouterr().out)["accuracy"] > 0.5
    np.save(tmp_path / "x.npy", np.zeros((3, 64)))
    assert main(["predict", str(out), str(tmp_path / "x.npy")]) == 0
    assert len(capsys.readouterr().out.split()) == 3


@pytest.mark.slow
def test_cnn_reaches_98_5_percent_on_digits(tmp_path, capsys):
    assert main(["train", "--model", "cnn", "--out", str(tmp_path / "r"), "--no-plot", "--json"]) == 0
    assert _strict_json(capsys.readouterr().out)["test_accuracy"] >= 0.985


def test_train_json_summary_is_strict_json(tmp_path, capsys):
    assert main(["train", "--dataset", "xor", "--epochs", "2", "--out", str(tmp_path / "r"), "--no-plot",
                 "--json", "--val-fraction", "0.2"]) == 0
    out = capsys.readouterr().out
    summary = _strict_json(out)
    assert out.count("\n") == 1 and summary["epochs"] == 2 and summary["val_loss"] > 0
    assert summary["run"] == str(tmp_path / "r") and summary["stop_reason"] is None


def test_train_tensorboard_writes_the_history_and_continues_on_resume(tmp_path, capsys):
    pytest.importorskip("tensorboardX")
    from chainrule.train import TensorBoardLogger
    from tests.test_train import read_scalars

    out = tmp_path / "r"
    flags = ["--dataset", "blobs", "--hidden", "8", "--no-plot", "--val-fraction", "0.2"]
    assert main(["train", *flags, "--epochs", "2", "--out", str(out), "--tensorboard"]) == 0
    assert f"TensorBoard events in {out / 'tensorboard'}" in capsys.readouterr().out
    assert main(["train", "--resume", str(out), "--epochs", "3", "--tensorboard", str(tmp_path / "tb")]) == 0
    history = json.loads((out / "history.json").read_text())["epochs"]
    first, second = read_scalars(out / "tensorboard"), read_scalars(tmp_path / "tb")
    assert sorted(first["loss/val"]) == [1, 2] and sorted(second["loss/val"]) == [3]
    for record in history:
        scalars = first if record["epoch"] <= 2 else second
        for key in ("train_loss", "val_loss", "val_accuracy", "test_loss", "test_accuracy", "lr"):
            assert scalars[TensorBoardLogger.tag(key)][record["epoch"]] == np.float32(record[key]), key


def test_train_tensorboard_without_tensorboardx_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)  # as if it were not installed
    _one_line_error(capsys, main(["train", "--dataset", "xor", "--out", str(tmp_path / "r"), "--tensorboard"]),
                    "--tensorboard needs the tensorboardX package: pip install 'chainrule[tensorboard]'")
    assert not (tmp_path / "r").exists()


def test_json_never_holds_bare_nan():
    from chainrule.cli import _finite

    assert json.dumps(_finite({"loss": float("nan"), "rows": [1.0, float("inf")]}), allow_nan=False) == \
        '{"loss": null, "rows": [1.0, null]}'


def test_version(capsys):
    from chainrule import __version__

    with pytest.raises(SystemExit) as caught:
        main(["--version"])
    assert caught.value.code == 0 and capsys.readouterr().out.strip() == f"chainrule {__version__}"


@pytest.mark.parametrize(("argv", "code", "pattern"), [
    (["train", "--hidden", "0"], 2, "use --hidden none for no hidden layer"),
    (["train", "--patience", "3"], 2, "--patience stops on the validation loss: it needs --val-fraction"),
    (["train", "--schedule", "plateau"], 2, "it needs --val-fraction"),
    (["train", "--val-fraction", "1.5"], 2, "--val-fraction: expected a fraction in (0, 0.9]"),
    (["train", "--dropout", "1"], 2, "--dropout: expected a dropout probability"),
    (["train", "--channels", "8"], 2, "--channels applies to --model cnn only"),
    (["train", "--model", "cnn", "--dataset", "xor"], 2, "--model cnn needs image data"),
    (["train", "--dtype", "float16"], 2, "invalid choice: 'float16'"),
    (["train", "--dataset", "nowhere.csv"], 1, "data file not found"),
    (["evaluate", "missing-run"], 1, "run folder or checkpoint not found"),
])
def test_usage_errors_exit_2_and_runtime_failures_exit_1(argv, code, pattern, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = main(argv)
    _one_line_error(capsys, result, pattern)
    assert result == code


def test_hidden_none_is_a_model_without_hidden_layers(tmp_path, capsys):
    assert main(["train", "--dataset", "blobs", "--hidden", "none", "--epochs", "1", "--out", str(tmp_path / "r"),
                 "--no-plot"]) == 0
    assert "MLP 2 -> 3" in capsys.readouterr().out


def test_new_flags_train_and_are_stored(tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["train", "--dataset", "spirals", "--epochs", "4", "--dropout", "0.1", "--val-fraction", "0.25",
                 "--patience", "2", "--schedule", "warmup-cosine", "--clip", "1.0", "--dtype", "float64",
                 "--optimizer", "rmsprop", "--out", str(out), "--no-plot"]) == 0
    printed = capsys.readouterr().out
    assert "val loss  val acc" in printed and "0.25 of train held out" in printed
    config = json.loads((out / "history.json").read_text())["config"]
    assert (config["dropout"], config["val_fraction"], config["patience"], config["schedule"], config["clip"],
            config["dtype"], config["optimizer"]) == (0.1, 0.25, 2, "warmup-cosine", 1.0, "float64", "rmsprop")
    saved = checkpoint.load(out / "model.safetensors")
    assert {a.dtype for a in saved.model_state.values()} == {np.dtype(np.float64)}
    assert saved.scheduler_state is not None
    assert main(["evaluate", str(out)]) == 0


def test_no_runtime_warning_reaches_stderr(tmp_path, capsys):
    code = main(["train", "--dataset", "digits", "--optimizer", "sgd", "--lr", "50", "--momentum", "0.99",
                 "--loss", "squared-error", "--epochs", "3", "--out", str(tmp_path / "r"), "--no-plot"])
    err = capsys.readouterr().err
    assert code == 1 and "RuntimeWarning" not in err and len(err.strip().splitlines()) == 1


def test_resume_keeps_compile_and_the_schedule_bit_for_bit(tmp_path, capsys):
    flags = ["--dataset", "blobs", "--compile", "--schedule", "exponential", "--no-plot"]
    assert main(["train", *flags, "--epochs", "4", "--out", str(tmp_path / "full")]) == 0
    assert main(["train", *flags, "--epochs", "2", "--out", str(tmp_path / "part")]) == 0
    assert json.loads((tmp_path / "part" / "history.json").read_text())["config"]["compile"] is True
    assert main(["train", "--resume", str(tmp_path / "part"), "--epochs", "4"]) == 0  # no --compile given
    full = checkpoint.load(tmp_path / "full" / "model.safetensors")
    part = checkpoint.load(tmp_path / "part" / "model.safetensors")
    for name, value in full.model_state.items():
        np.testing.assert_array_equal(part.model_state[name], value)
    capsys.readouterr()
    _one_line_error(capsys, main(["train", "--resume", str(tmp_path / "part"), "--epochs", "6", "--schedule",
                                  "step"]), "only --epochs may be changed (got --schedule)")


def test_a_locked_run_folder_is_refused(tmp_path, capsys):
    out = tmp_path / "r"
    out.mkdir()
    lock = checkpoint.RunLock(out)
    try:
        code = main(["train", "--dataset", "xor", "--epochs", "1", "--out", str(out), "--no-plot"])
    finally:
        lock.release()
    _one_line_error(capsys, code, f"another trainer (process {os.getpid()}) is writing {out}")
    assert code == 1
    assert main(["train", "--dataset", "xor", "--epochs", "1", "--out", str(out), "--no-plot"]) == 0
    assert not (out / ".lock").exists()


def test_resume_removes_orphaned_temporary_files(tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["train", "--dataset", "xor", "--epochs", "1", "--out", str(out), "--no-plot"]) == 0
    (out / ".model.safetensors.abc123.tmp").write_bytes(b"half a checkpoint")
    assert main(["train", "--resume", str(out), "--epochs", "2"]) == 0
    assert "removed 1 temporary file" in capsys.readouterr().err
    assert not [name for name in os.listdir(out) if name.startswith(".")]


def test_early_stopping_keeps_the_last_epochs_checkpoint(tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["train", "--dataset", "spirals", "--epochs", "40", "--val-fraction", "0.2", "--patience", "1",
                 "--out", str(out), "--no-plot"]) == 0
    assert "early stopping after epoch" in capsys.readouterr().out
    epochs = json.loads((out / "history.json").read_text())["epochs"]
    assert len(epochs) < 40 and checkpoint.load(out / "model.safetensors").info["epoch"] == len(epochs)


def test_train_device_cuda_without_cupy_is_one_line_and_exit_1(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)  # as if CuPy were not installed (it is not, on CI)
    code = main(["train", "--dataset", "xor", "--epochs", "1", "--device", "cuda", "--out", str(tmp_path / "r")])
    assert code == 1
    _one_line_error(capsys, code, "--device cuda: device 'cuda' needs CuPy, which is not installed")
    assert not (tmp_path / "r").exists()
    code = main(["train", "--dataset", "xor", "--device", "tpu"])
    assert code == 2
    _one_line_error(capsys, code, "argument --device: invalid choice: 'tpu'")
    _one_line_error(capsys, main(["train", "--dataset", "xor", "--device", "cuda", "--compile"]),
                    "--compile replays NumPy code")


def test_train_device_cpu_is_the_default(tmp_path, capsys):
    assert main(["train", "--dataset", "xor", "--epochs", "1", "--device", "cpu", "--no-plot",
                 "--out", str(tmp_path / "r")]) == 0
