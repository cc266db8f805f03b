"""Data-parallel training over MPI (mpi4py): every rank holds the whole model, takes its shard of each
minibatch, and the ranks average their gradients before every update.

The shape Horovod made familiar::

    import chainrule.distributed as dist
    dist.init()                                                  # MPI, through mpi4py
    model = nn.mlp([784, 256, 256, 10], rng=0)
    loader = dist.DistributedSampler(train_set, global_batch_size=64, seed=0)   # this rank's shard
    opt = dist.DistributedOptimizer(optim.Adam(model.parameters()), sampler=loader)  # broadcasts rank 0's state
    fit(model, "cross-entropy", opt, loader, ...)                                  # or compiled=True

and for the functional API, ``grads = dist.allreduce(chainrule.grad(loss)(params, x_shard, t_shard))``.
Launch with ``mpiexec -n 4 python train.py`` (or ``chainrule train --workers 4``). Every collective has a
timeout (`CollectiveTimeout`; ``CHAINRULE_COLLECTIVE_TIMEOUT`` seconds, default 120), so a rank that dies or
stalls makes the others stop with an error instead of hanging. ``import chainrule`` never imports mpi4py;
this package imports it on first use (`init`, `rank`, `size`, ...). Outside ``mpiexec`` MPI runs as a
single rank, so the same script runs in one process.

>>> import chainrule.distributed as dist
>>> dist.init().size >= 1
True
"""

from __future__ import annotations

from ._comm import CollectiveTimeout, Communicator, DistributedError
from ._optim import DistributedOptimizer, allreduce, broadcast, broadcast_optimizer_state, broadcast_parameters
from ._sampler import DistributedSampler

_WORLD: list[Communicator] = []  # the process's MPI world (one per process, as MPI_Init is once per process)


def init(timeout: float | None = None) -> Communicator:
    """Start MPI (through mpi4py) if it is not started, and return the world `Communicator`. ``timeout``
    (seconds) bounds every collective; by default ``CHAINRULE_COLLECTIVE_TIMEOUT`` or 120. Raises
    `DistributedError` naming the extra to install when mpi4py is missing.

    >>> comm = init()
    >>> 0 <= comm.rank < comm.size
    True
    """
    if not _WORLD:
        _WORLD.append(Communicator(timeout=timeout))
    elif timeout is not None:
        _WORLD[0].timeout = float(timeout)
    return _WORLD[0]


def world() -> Communicator:
    """The world `Communicator` (starting MPI on first use, as `init` does).

    >>> world().rank == rank()
    True
    """
    return init()


def rank() -> int:
    """This process's rank, 0 … size − 1 (0 outside ``mpiexec``).

    >>> rank() < size()
    True
    """
    return world().rank


def size() -> int:
    """The number of ranks (1 outside ``mpiexec``).

    >>> size() >= 1
    True
    """
    return world().size


__all__ = ["CollectiveTimeout", "Communicator", "DistributedError", "DistributedOptimizer", "DistributedSampler",
           "allreduce", "broadcast", "broadcast_optimizer_state", "broadcast_parameters", "init", "rank", "size",
           "world"]
