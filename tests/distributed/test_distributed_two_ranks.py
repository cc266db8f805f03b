"""Two ranks spawned with mpiexec: data-parallel training equals one process with the global batch (SGD and
Adam, eager and compiled), the functional allreduce, broadcasts, and a rank that dies or stalls."""

import os
import subprocess
import sys
import time

import numpy as np
import pytest

pytest.importorskip("mpi4py")
from chainrule.distributed.cli import find_mpiexec  # noqa: E402

MPIEXEC = find_mpiexec()
pytestmark = pytest.mark.skipif(MPIEXEC is None, reason="mpiexec is not installed (pip install mpich)")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_worker.py")
sys.path.insert(0, os.path.dirname(WORKER))
import _worker  # noqa: E402


def _environment(**extra: str) -> dict:
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", **extra}
    return env


def run_ranks(scenario, tmp_path, ranks=2, timeout=120, **env):
    """Run the worker's ``scenario`` on ``ranks`` ranks; (completed process, [per-rank results])."""
    started = time.perf_counter()
    done = subprocess.run([MPIEXEC, "-n", str(ranks), sys.executable, WORKER, scenario, str(tmp_path)],
                          capture_output=True, text=True, timeout=timeout, env=_environment(**env), cwd=ROOT)
    done.seconds = time.perf_counter() - started
    results = [dict(np.load(tmp_path / f"rank{r}.npz")) for r in range(ranks) if (tmp_path / f"rank{r}.npz").exists()]
    return done, results


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("mode", ["eager", "compiled"])
def test_two_ranks_equal_one_process_with_the_global_batch(optimizer, mode, tmp_path):
    done, results = run_ranks(f"fit-{optimizer}-{mode}", tmp_path)
    assert done.returncode == 0, done.stderr
    expected = _worker.reference(optimizer, mode == "compiled")
    assert len(results) == 2
    for rank_result in results:
        for name, value in expected.items():
            np.testing.assert_allclose(rank_result[name], value, rtol=1e-10, atol=1e-12, err_msg=name)
    for name in expected:  # the ranks hold the very same weights, bit for bit
        np.testing.assert_array_equal(results[0][name], results[1][name], err_msg=name)
    assert float(results[0]["collectives_per_step"]) == 1.0  # one allreduce per step for all the parameters


@pytest.mark.parametrize("mode", ["eager", "compiled"])
def test_a_last_batch_of_one_example_is_trained_on_as_in_one_process(mode, tmp_path):
    """101 examples in batches of 10: the last batch has 1 example; rank 0 computes on a stand-in, weight 0."""
    done, results = run_ranks(f"fit-adam-{mode}-101", tmp_path)
    assert done.returncode == 0, done.stderr
    expected = _worker.reference("adam", mode == "compiled", n=101)
    for rank_result in results:
        for name, value in expected.items():
            np.testing.assert_allclose(rank_result[name], value, rtol=1e-10, atol=1e-12, err_msg=name)


def test_one_allreduce_per_dtype_and_gradients_only_some_ranks_have(tmp_path):
    done, results = run_ranks("buckets", tmp_path)
    assert done.returncode == 0, done.stderr
    for result in results:
        assert int(result["collectives"]) == 2  # float64 and float32: one bucket each
        np.testing.assert_array_equal(result["a"], np.full(3, -1.5))
        assert result["b"].dtype == np.float32
        np.testing.assert_array_equal(result["b"], np.full((2, 2), -15.0, dtype=np.float32))
        np.testing.assert_array_equal(result["c"], np.full(4, -0.5))  # rank 0 had no gradient: a zero there
        assert result["d_grad_is_none"]


def test_two_ranks_differ_from_one_process_with_the_per_rank_batch(tmp_path):
    """The equality above is not vacuous: training with the per-rank batch alone gives other weights."""
    done, results = run_ranks("fit-sgd-eager", tmp_path)
    assert done.returncode == 0, done.stderr
    model, opt = _worker.make("sgd")
    from chainrule.train import fit

    fit(model, "cross-entropy", opt, _worker.data(), epochs=_worker.EPOCHS, batch_size=_worker.GLOBAL_BATCH // 2,
        l2=1e-3, seed=5, progress=False)
    alone = model.state_dict()
    assert not all(np.allclose(results[0][name], alone[name], rtol=1e-6) for name in alone)


def test_allreduce_of_a_pytree_averages_per_rank_gradients(tmp_path):
    done, results = run_ranks("functional", tmp_path)
    assert done.returncode == 0, done.stderr
    expected = _worker.functional_reference()
    for result in results:
        for name in ("W", "b", "scale"):
            np.testing.assert_allclose(result[name], expected[name], rtol=1e-12, atol=1e-14)
        assert result["x_is_float"]  # a Python float leaf comes back a Python float
        np.testing.assert_array_equal(result["count"], [2, 4])
        assert float(result["x"]) == 3.0


def test_broadcast_gives_rank_0s_weights_and_optimizer_state(tmp_path):
    done, results = run_ranks("broadcast", tmp_path)
    assert done.returncode == 0, done.stderr
    zero, one = results
    for name in zero:
        if name != "mismatch":
            np.testing.assert_array_equal(zero[name], one[name], err_msg=name)
    assert int(one["step"]) == 1 and np.abs(one["m"]).sum() > 0
    for result in results:  # allreduce of arrays of different shapes: an error on every rank, not garbage
        assert "different structures" in str(result["mismatch"])


def test_a_stalled_rank_makes_the_others_stop_with_a_timeout_error(tmp_path):
    done, _ = run_ranks("stop", tmp_path, timeout=90, CHAINRULE_COLLECTIVE_TIMEOUT="3")
    assert done.returncode != 0
    assert "CollectiveTimeout" in done.stderr and "did not complete within 3 s" in done.stderr, done.stderr
    assert "gradient allreduce" in done.stderr
    assert done.seconds < 60


def test_a_killed_rank_ends_the_run_instead_of_hanging(tmp_path):
    done, _ = run_ranks("kill", tmp_path, timeout=90, CHAINRULE_COLLECTIVE_TIMEOUT="5")
    assert done.returncode != 0
    assert done.seconds < 60
    assert not (tmp_path / "rank0.npz").exists()  # the survivor did not finish as if nothing happened


# ---- the command line ---------------------------------------------------------------------------------------
TRAIN = ["train", "--dataset", "blobs", "--hidden", "8", "--epochs", "3", "--batch-size", "20", "--no-plot",
         "--seed", "1", "--dtype", "float64"]  # (float64: equal to float tolerance)


def _chainrule(args, cwd, timeout=180, **env):
    return subprocess.run([sys.executable, "-m", "chainrule", *args], capture_output=True, text=True,
                          timeout=timeout, env=_environment(**env), cwd=cwd)


def _history(folder):
    import json

    return json.loads((folder / "history.json").read_text())["epochs"]


def _weights(folder):
    from chainrule import checkpoint

    return checkpoint.load(folder / "model.safetensors").model_state


def _assert_same_run(a, b):
    for ra, rb in zip(_history(a), _history(b), strict=True):
        for key in ("train_loss", "test_loss", "test_accuracy"):
            assert ra[key] == pytest.approx(rb[key], rel=1e-9, abs=1e-12), key
    wa, wb = _weights(a), _weights(b)
    for name in wa:
        np.testing.assert_allclose(wa[name], wb[name], rtol=1e-9, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("compiled", [[], ["--compile"]], ids=["eager", "compiled"])
def test_cli_workers_trains_the_same_model_and_only_rank_0_reports(compiled, tmp_path):
    single = _chainrule([*TRAIN, "--out", str(tmp_path / "one"), *compiled], ROOT)
    assert single.returncode == 0, single.stderr
    double = _chainrule([*TRAIN, "--out", str(tmp_path / "two"), "--workers", "2", *compiled], ROOT)
    assert double.returncode == 0, double.stderr
    assert "data-parallel: 2 ranks, 10 examples each of every batch of 20" in double.stdout
    assert double.stdout.count("epoch  train loss") == 1 and double.stdout.count("done in") == 1
    _assert_same_run(tmp_path / "one", tmp_path / "two")


def test_cli_under_mpiexec_only_rank_0_writes_the_run_folder(tmp_path):
    """Each rank in its own working directory (MPMD launch): a relative --out exists only beside rank 0."""
    (tmp_path / "zero").mkdir()
    (tmp_path / "one").mkdir()
    command = [sys.executable, "-m", "chainrule", *TRAIN, "--out", "run"]
    done = subprocess.run([MPIEXEC, "-n", "1", "-wdir", str(tmp_path / "zero"), *command, ":",
                           "-n", "1", "-wdir", str(tmp_path / "one"), *command],
                          capture_output=True, text=True, timeout=180, env=_environment())
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "zero" / "run" / "model.safetensors").exists()
    assert not (tmp_path / "one" / "run").exists()


@pytest.mark.parametrize("first, second", [(["--workers", "2"], []), ([], ["--workers", "2"])])
def test_cli_resume_with_another_number_of_ranks(first, second, tmp_path):
    whole = _chainrule([*TRAIN, "--out", str(tmp_path / "whole")], ROOT)
    assert whole.returncode == 0, whole.stderr
    part = TRAIN.copy()
    part[part.index("--epochs") + 1] = "2"
    begun = _chainrule([*part, "--out", str(tmp_path / "resumed"), *first], ROOT)
    assert begun.returncode == 0, begun.stderr
    resumed = _chainrule(["train", "--resume", str(tmp_path / "resumed"), "--epochs", "3", "--no-plot", *second],
                         ROOT)
    assert resumed.returncode == 0, resumed.stderr
    _assert_same_run(tmp_path / "whole", tmp_path / "resumed")


def test_cli_val_fraction_on_two_ranks_validates_and_stops_as_one_process(tmp_path):
    """The validation split is made before the training part is sharded (the same on every rank); both ranks
    validate on all of it, so early stopping stops them at the same epoch as one process (a rank that went on
    alone would wait in an allreduce until the collective timeout, and the run would fail)."""
    options = [*TRAIN, "--epochs", "30", "--lr", "0.5", "--val-fraction", "0.25", "--patience", "2"]
    single = _chainrule([*options, "--out", str(tmp_path / "one")], ROOT)
    assert single.returncode == 0, single.stderr
    double = _chainrule([*options, "--out", str(tmp_path / "two"), "--workers", "2"], ROOT,
                        CHAINRULE_COLLECTIVE_TIMEOUT="60")
    assert double.returncode == 0, double.stderr
    one, two = _history(tmp_path / "one"), _history(tmp_path / "two")
    assert 1 < len(one) < 30 and len(two) == len(one)  # it stopped early, at the same epoch
    stop = [line for line in single.stdout.splitlines() if line.startswith("early stopping after epoch")]
    assert stop and stop[0] in double.stdout
    for ra, rb in zip(one, two, strict=True):
        for key in ("val_loss", "val_accuracy"):
            assert ra[key] is not None and ra[key] == pytest.approx(rb[key], rel=1e-9, abs=1e-12), key
    _assert_same_run(tmp_path / "one", tmp_path / "two")


def test_cli_workers_reports_a_failed_worker(tmp_path):
    """A worker error is reported on stderr and the launcher exits 1 (not a hang, not a traceback)."""
    done = _chainrule([*TRAIN, "--out", str(tmp_path / "r"), "--workers", "2"], ROOT, timeout=120,
                      CHAINRULE_COLLECTIVE_TIMEOUT="not-a-number")
    assert done.returncode == 1
    assert "CHAINRULE_COLLECTIVE_TIMEOUT must be a positive number" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("chainrule: error: a worker failed")


def test_cli_workers_under_mpiexec_with_another_count_is_a_usage_error(tmp_path):
    done = subprocess.run([MPIEXEC, "-n", "2", sys.executable, "-m", "chainrule", *TRAIN, "--out",
                           str(tmp_path / "r"), "--workers", "3"], capture_output=True, text=True, timeout=120,
                          env=_environment(), cwd=ROOT)
    assert done.returncode != 0
    assert "--workers 3 under an MPI launcher that started 2 ranks" in done.stderr




def test_cli_a_global_batch_smaller_than_the_ranks_is_a_usage_error(tmp_path):
    done = subprocess.run([MPIEXEC, "-n", "2", sys.executable, "-m", "chainrule", *TRAIN, "--batch-size", "1",
                           "--out", str(tmp_path / "r")], capture_output=True, text=True, timeout=120,
                          env=_environment(), cwd=ROOT)
    assert done.returncode == 2
    assert "--batch-size 1 is the global minibatch; it cannot be shared by 2 ranks" in done.stderr
