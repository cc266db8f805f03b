"""DistributedSampler (no MPI needed: rank and size are given) and what needs no mpi4py at all."""

import os
import subprocess
import sys

import numpy as np
import pytest

from chainrule.data import ArrayDataset, DataLoader
from chainrule.distributed import DistributedSampler
from chainrule.distributed.cli import _without_workers, launched_size

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _dataset(n):
    return ArrayDataset(np.arange(n, dtype=float).reshape(n, 1), np.arange(n))


@pytest.mark.parametrize("n, batch, size", [(103, 10, 2), (100, 10, 2), (37, 8, 3), (10, 4, 4), (7, 7, 1),
                                            (41, 10, 3)])
@pytest.mark.parametrize("shuffle", [True, False])
def test_shards_partition_the_single_process_batches(n, batch, size, shuffle):
    single = DataLoader(_dataset(n), batch, shuffle=shuffle, seed=3)
    shards = [DistributedSampler(_dataset(n), batch, shuffle=shuffle, seed=3, rank=r, size=size) for r in range(size)]
    for epoch in (0, 4):
        single.set_epoch(epoch)
        expected = [yb for _, yb in single]
        for s in shards:
            s.set_epoch(epoch)
        per_rank = [[(yb, s.shard_weight) for _, yb in s] for s in shards]
        assert all(len(batches) == len(expected) == len(s) for batches, s in zip(per_rank, shards, strict=True))
        for k, batch_labels in enumerate(expected):
            weights = [per_rank[r][k][1] for r in range(size)]
            parts = [per_rank[r][k][0] for r in range(size) if weights[r] > 0]
            np.testing.assert_array_equal(np.concatenate(parts), batch_labels)   # contiguous, in order
            assert max(map(len, parts)) - min(map(len, parts)) <= 1
            assert [w for w in weights if w > 0] == [len(p) / len(batch_labels) for p in parts]
            assert sum(weights) == pytest.approx(1.0)
            for r in range(size):  # an empty part: one stand-in example of the batch, weight 0
                if weights[r] == 0:
                    assert len(batch_labels) < size and per_rank[r][k][0].tolist() == batch_labels[:1].tolist()


def test_epochs_shuffle_differently_and_reproducibly():
    a = DistributedSampler(_dataset(40), 8, seed=1, rank=0, size=2)
    first = [yb.tolist() for _, yb in a]
    second = [yb.tolist() for _, yb in a]                    # iterating advances the epoch
    a.set_epoch(0)
    assert first != second and [yb.tolist() for _, yb in a] == first


def test_sampler_errors():
    with pytest.raises(ValueError, match="global batch of 2 cannot be shared by 3 ranks"):
        DistributedSampler(_dataset(10), 2, rank=0, size=3)
    with pytest.raises(ValueError, match=r"rank must lie in \[0, size\)"):
        DistributedSampler(_dataset(10), 4, rank=2, size=2)


def test_launch_helpers():
    assert _without_workers(["train", "--workers", "2", "--epochs", "3", "--workers=4"]) == ["train", "--epochs", "3"]
    env = {k: v for k, v in os.environ.items() if k not in ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE")}
    code = "from chainrule.distributed.cli import launched_size; print(launched_size())"
    for extra, expected in (({}, "1"), ({"PMI_SIZE": "4"}, "4"), ({"OMPI_COMM_WORLD_SIZE": "3"}, "3")):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                             env={**env, **extra}, check=True).stdout.strip()
        assert out == expected
    assert launched_size() >= 1


def test_workers_flag_rejects_non_positive_counts(capsys):
    from chainrule.cli import main

    assert main(["train", "--dataset", "xor", "--workers", "0"]) == 2
    assert "expected a positive number of worker processes" in capsys.readouterr().err


def test_single_process_training_never_imports_mpi4py(tmp_path):
    """`import chainrule`, the CLI and a whole single-process `chainrule train` run leave mpi4py alone."""
    code = ("import sys, chainrule, chainrule.train, chainrule.cli, chainrule.distributed\n"
            f"assert chainrule.cli.main(['train', '--dataset', 'xor', '--epochs', '1', '--no-plot', '--out', "
            f"{str(tmp_path / 'r')!r}]) == 0\n"
            "assert 'mpi4py' not in sys.modules, 'mpi4py was imported'\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env)
    assert done.returncode == 0, done.stderr


def test_without_mpi4py_the_error_names_the_extra(tmp_path):
    """With mpi4py hidden, init() raises one clear error that says what to install."""
    (tmp_path / "mpi4py").mkdir()
    (tmp_path / "mpi4py" / "__init__.py").write_text("raise ImportError('No module named mpi4py (hidden)')\n")
    code = ("import chainrule.distributed as d\n"
            "try:\n    d.init()\nexcept d.DistributedError as e:\n    print(e)\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path) + os.pathsep + ROOT}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env).stdout
    assert "needs mpi4py" in out and "pip install 'chainrule[distributed]'" in out
    done = subprocess.run([sys.executable, "-m", "chainrule", "train", "--dataset", "xor", "--workers", "2",
                           "--out", str(tmp_path / "r")], capture_output=True, text=True, cwd=ROOT, env=env)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == ["chainrule: error: --workers needs mpi4py and mpiexec; pip install "
                                                "'chainrule[distributed]' (mpi4py and the mpich wheel)"]


def test_launch_workers_runs_mpiexec_with_the_command_and_a_share_of_the_cores(tmp_path, monkeypatch):
    """The launcher behind --workers, with a stand-in mpiexec that records what it was given."""
    import types

    from chainrule.distributed import cli

    record = tmp_path / "record.txt"
    fake = tmp_path / "mpiexec"
    fake.write_text(f"#!/bin/sh\nprintf '%s\\n' \"$*\" > {record}\n"
                    f"printf '%s\\n' \"$OPENBLAS_NUM_THREADS $OMP_NUM_THREADS\" >> {record}\n"
                    "exit ${FAKE_STATUS:-0}\n")
    fake.chmod(0o755)
    monkeypatch.setattr(cli, "find_mpiexec", lambda: str(fake))
    monkeypatch.setitem(sys.modules, "mpi4py", types.ModuleType("mpi4py"))
    for name in ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE", *cli.THREAD_VARIABLES):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    assert cli.launch_workers(["train", "--workers", "4", "--epochs", "2"], 4) == 0
    arguments, threads = record.read_text().splitlines()
    assert arguments == f"-n 4 {sys.executable} -m chainrule train --epochs 2"
    assert threads == "2 2"  # 8 cores / 4 ranks
    monkeypatch.setenv("OMP_NUM_THREADS", "3")  # a setting of the user's is kept
    monkeypatch.setenv("FAKE_STATUS", "5")
    assert cli.launch_workers(["train", "--workers=4"], 4) == 1
    assert record.read_text().splitlines()[1] == "2 3"
    assert cli.launch_workers(["train"], 1) is None  # one worker: train in this process
