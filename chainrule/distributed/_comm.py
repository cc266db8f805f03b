"""The communicator: MPI through mpi4py, every collective bounded by a timeout.

MPI's blocking collectives wait forever for a rank that never arrives. Every collective here is started
non-blocking and then polled until it completes or its deadline passes; at the deadline it raises
`CollectiveTimeout` naming the collective, its size and the timeout. After a timeout the MPI state is
unusable (the collective is still posted), so the process is marked to end with ``MPI_Abort`` at exit
instead of ``MPI_Finalize`` (which would wait for the stalled peer): the launcher then stops every rank.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import sys
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

DEFAULT_TIMEOUT = 120.0
TIMEOUT_VARIABLE = "CHAINRULE_COLLECTIVE_TIMEOUT"
INSTALL_HINT = "pip install 'chainrule[distributed]' (mpi4py and the mpich wheel, which brings mpiexec)"


class DistributedError(RuntimeError):
    """chainrule.distributed cannot work as asked (MPI missing, mismatched ranks, ...).

    >>> Communicator(timeout=-1)
    Traceback (most recent call last):
        ...
    chainrule.distributed._comm.DistributedError: the collective timeout must be positive; got -1
    >>> import os
    >>> from unittest import mock
    >>> with mock.patch.dict(os.environ, {"CHAINRULE_COLLECTIVE_TIMEOUT": "soon"}):
    ...     Communicator()
    Traceback (most recent call last):
        ...
    chainrule.distributed._comm.DistributedError: CHAINRULE_COLLECTIVE_TIMEOUT must be a positive number of seconds;
    got 'soon'
    >>> issubclass(DistributedError, RuntimeError)
    True
    """


class CollectiveTimeout(DistributedError):
    """A collective did not complete within its timeout: another rank died, stalled or took another path.

    >>> issubclass(CollectiveTimeout, DistributedError)
    True
    >>> comm = Communicator(timeout=5.0)  # each collective of comm raises CollectiveTimeout after 5 s
    >>> comm.timeout, comm.allreduce_arrays([np.array([2.0])])[0] / comm.size
    (5.0, array([2.]))
    """


def _mpi() -> Any:
    try:
        from mpi4py import MPI
    except ImportError as error:
        raise DistributedError(f"chainrule.distributed needs mpi4py and an MPI library ({error}); "
                               f"{INSTALL_HINT}") from None
    return MPI


def _timeout_from_environment() -> float:
    text = os.environ.get(TIMEOUT_VARIABLE)
    if text is None:
        return DEFAULT_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise DistributedError(f"{TIMEOUT_VARIABLE} must be a positive number of seconds; got {text!r}")
    return value


class Communicator:
    """A group of ranks (an MPI communicator) whose collectives time out instead of hanging.

    ``timeout`` (seconds) bounds every collective. An unfinished collective is checked in a busy loop for its
    first ``spin`` seconds (as MPI's own blocking calls do, so a collective that is about to finish costs no
    latency), then every ``poll`` seconds, which leaves the core to the other ranks while one waits long.

    >>> comm = Communicator(timeout=30)
    >>> comm.allreduce_arrays([np.ones(3)])[0] / comm.size
    array([1., 1., 1.])
    """

    def __init__(self, comm: Any = None, timeout: float | None = None, spin: float = 2e-3, poll: float = 1e-3
                 ) -> None:
        MPI = _mpi()
        self.MPI = MPI
        self.comm = MPI.COMM_WORLD if comm is None else comm
        self.timeout = _timeout_from_environment() if timeout is None else float(timeout)
        if not self.timeout > 0:
            raise DistributedError(f"the collective timeout must be positive; got {timeout}")
        self.spin, self.poll = float(spin), float(poll)
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()
        self.seconds_communicating = 0.0   # wall time spent inside collectives (for benchmarks and logs)
        self.cpu_seconds_communicating = 0.0  # this process's CPU time in them (polling)
        self.collectives = 0

    def __repr__(self) -> str:
        return f"Communicator(rank={self.rank}, size={self.size}, timeout={self.timeout:g}s)"

    # ---- waiting with a deadline -----------------------------------------------------------------------------
    def wait(self, request: Any, what: str) -> None:
        """Complete ``request`` (a non-blocking MPI operation) or raise `CollectiveTimeout`.

        >>> comm = Communicator(timeout=10)
        >>> comm.wait(comm.comm.Ibarrier(), "a barrier"); comm.collectives
        1
        """
        started, cpu_started = time.perf_counter(), time.process_time()
        deadline = started + self.timeout
        try:
            while not request.Test():
                now = time.perf_counter()
                if now > deadline:
                    raise CollectiveTimeout(
                        f"rank {self.rank} of {self.size}: {what} did not complete within {self.timeout:g} s; "
                        f"another rank has died, stalled or is running a different collective (set "
                        f"{TIMEOUT_VARIABLE} to wait longer)")
                if now - started > self.spin:
                    time.sleep(self.poll)
        except BaseException:  # a timeout, or Ctrl-C: the collective stays posted, so Finalize would hang
            _abort_at_exit(self.comm)
            raise
        self.seconds_communicating += time.perf_counter() - started
        self.cpu_seconds_communicating += time.process_time() - cpu_started
        self.collectives += 1

    # ---- collectives on flat buffers ---------------------------------------------------------------------------
    def allreduce_buffer(self, buffer: np.ndarray, what: str = "allreduce") -> np.ndarray:
        """Sum ``buffer`` (contiguous) over all ranks, in place; returns it.

        >>> comm = Communicator()
        >>> buffer = np.full(3, 2.0)
        >>> comm.allreduce_buffer(buffer) is buffer, buffer / comm.size  # the sum over the ranks, in place
        (True, array([2., 2., 2.]))
        >>> comm.allreduce_buffer(np.ones((3, 3))[:, 0])
        Traceback (most recent call last):
            ...
        TypeError: allreduce: needs a writable C-contiguous ndarray; got ndarray float64(3,)
        """
        buffer = _contiguous(buffer, what)
        if self.size > 1:
            self.wait(self.comm.Iallreduce(self.MPI.IN_PLACE, buffer, op=self.MPI.SUM),
                      f"{what} ({buffer.size} × {buffer.dtype})")
        return buffer

    def broadcast_buffer(self, buffer: np.ndarray, root: int = 0, what: str = "broadcast") -> np.ndarray:
        """Overwrite ``buffer`` (contiguous) with rank ``root``'s values, in place; returns it.

        >>> comm = Communicator()
        >>> buffer = np.arange(3.0) if comm.rank == 0 else np.empty(3)
        >>> comm.broadcast_buffer(buffer, root=0)
        array([0., 1., 2.])
        """
        buffer = _contiguous(buffer, what)
        if self.size > 1:
            self.wait(self.comm.Ibcast(buffer, root=root), f"{what} ({buffer.size} × {buffer.dtype})")
        return buffer

    def broadcast_bytes(self, data: bytes | None, root: int = 0, what: str = "broadcast") -> bytes:
        """Rank ``root``'s ``data`` on every rank (other ranks pass None).

        >>> comm = Communicator()
        >>> comm.broadcast_bytes(b"config" if comm.rank == 0 else None)
        b'config'
        """
        if self.size == 1:
            return data or b""
        length = np.array([len(data) if self.rank == root and data is not None else 0], dtype=np.int64)
        self.broadcast_buffer(length, root, f"{what} (length)")
        payload = np.frombuffer(data, dtype=np.uint8).copy() if self.rank == root and data \
            else np.empty(int(length[0]), dtype=np.uint8)
        self.broadcast_buffer(payload, root, what)
        return payload.tobytes()

    def barrier(self, what: str = "barrier") -> None:
        """Wait until every rank has arrived (or time out).

        >>> comm = Communicator(timeout=10)
        >>> comm.barrier()  # returns when every rank has called it
        """
        if self.size > 1:
            self.wait(self.comm.Ibarrier(), what)

    # ---- collectives on lists of arrays, in one flat buffer per dtype ------------------------------------------
    def allreduce_arrays(self, arrays: Sequence[Any], average: bool = False, what: str = "allreduce",
                         weight: float | None = None) -> list[np.ndarray]:
        """The elementwise sum (or with ``average`` the mean) of each array over all ranks, as new arrays.
        ``weight`` scales this rank's arrays before the sum (then ``average`` must be False). One collective
        per dtype: the arrays of a dtype travel in one contiguous buffer.

        >>> comm = Communicator()
        >>> total, counts = comm.allreduce_arrays([np.array([1.0, 3.0]), np.array([2, 4])])
        >>> total / comm.size, counts.dtype
        (array([1., 3.]), dtype('int64'))
        >>> comm.allreduce_arrays([np.array([1.0, 3.0])], average=True)[0]
        array([1., 3.])
        >>> comm.allreduce_arrays([np.array([1, 2])], average=True)
        Traceback (most recent call last):
            ...
        TypeError: allreduce: cannot average or weight ['int64'] arrays; integer and boolean arrays can
        only be summed
        """
        arrays = [np.asarray(a) for a in arrays]
        scale = (1.0 / self.size if average else 1.0) if weight is None else float(weight)
        if weight is not None and average:
            raise ValueError("allreduce_arrays: pass either average=True or a weight, not both")
        results: list[np.ndarray | None] = [None] * len(arrays)
        groups = _by_dtype(arrays)
        if (average or weight is not None) and any(dtype.kind not in "fc" for dtype in groups):
            raise TypeError(f"{what}: cannot average or weight {[str(d) for d in groups]} arrays; integer and "
                            f"boolean arrays can only be summed")
        for dtype, members in groups.items():
            buffer = np.empty(sum(arrays[i].size for i in members), dtype=dtype)
            views = _views(buffer, [arrays[i].shape for i in members])
            for i, view in zip(members, views, strict=True):
                if scale == 1.0:
                    np.copyto(view, arrays[i])
                else:
                    np.multiply(arrays[i], scale, out=view)
            self.allreduce_buffer(buffer, f"{what} of {len(members)} {dtype} array(s)")
            for i, view in zip(members, views, strict=True):
                results[i] = view
        return results  # type: ignore[return-value]

    def broadcast_arrays(self, arrays: Sequence[np.ndarray], root: int = 0, what: str = "broadcast"
                         ) -> list[np.ndarray]:
        """Rank ``root``'s values of ``arrays`` (same shapes and dtypes on every rank), as new arrays.

        >>> comm = Communicator()
        >>> weights = [np.eye(2), np.zeros(3, np.float32)]
        >>> [a.dtype for a in comm.broadcast_arrays(weights, root=0)], comm.broadcast_arrays(weights)[0]
        ([dtype('float64'), dtype('float32')], array([[1., 0.],
               [0., 1.]]))
        """
        arrays = [np.asarray(a) for a in arrays]
        self.check_same([(a.shape, a.dtype.str) for a in arrays], what)
        results: list[np.ndarray | None] = [None] * len(arrays)
        for dtype, members in _by_dtype(arrays).items():
            buffer = np.empty(sum(arrays[i].size for i in members), dtype=dtype)
            views = _views(buffer, [arrays[i].shape for i in members])
            if self.rank == root:
                for i, view in zip(members, views, strict=True):
                    np.copyto(view, arrays[i])
            self.broadcast_buffer(buffer, root, f"{what} of {len(members)} {dtype} array(s)")
            for i, view in zip(members, views, strict=True):
                results[i] = view
        return results  # type: ignore[return-value]

    def check_same(self, description: Any, what: str) -> None:
        """Raise `DistributedError` on every rank unless ``description`` (JSON-able) is equal on all ranks:
        collectives over mismatched shapes would mix unrelated numbers.

        >>> comm = Communicator()
        >>> comm.check_same([[2, 3], "float32"], "my collective") is None  # equal on every rank (one rank here)
        True
        """
        if self.size == 1:
            return
        mine = json.dumps(description, sort_keys=True, default=str).encode()
        reference = self.broadcast_bytes(mine, 0, f"{what} (layout check)")
        differs = np.array([int(reference != mine)], dtype=np.int64)
        self.allreduce_buffer(differs, f"{what} (layout check)")
        if differs[0]:
            raise DistributedError(f"{what}: the ranks hold different structures (shapes/dtypes); rank "
                                   f"{self.rank} has {_shorten(mine.decode())}, rank 0 has "
                                   f"{_shorten(reference.decode())}")


def _contiguous(buffer: np.ndarray, what: str) -> np.ndarray:
    if not isinstance(buffer, np.ndarray) or not buffer.flags.c_contiguous or not buffer.flags.writeable:
        raise TypeError(f"{what}: needs a writable C-contiguous ndarray; got "
                        f"{type(buffer).__name__}" + (f" {buffer.dtype}{buffer.shape}"
                                                      if isinstance(buffer, np.ndarray) else ""))
    return buffer


def _by_dtype(arrays: Sequence[np.ndarray]) -> dict[np.dtype, list[int]]:
    groups: dict[np.dtype, list[int]] = {}
    for i, a in enumerate(arrays):
        groups.setdefault(a.dtype, []).append(i)
    return groups


def _views(buffer: np.ndarray, shapes: Sequence[tuple[int, ...]]) -> list[np.ndarray]:
    views, start = [], 0
    for shape in shapes:
        size = int(np.prod(shape, dtype=np.int64))
        views.append(buffer[start:start + size].reshape(shape))
        start += size
    return views


def _shorten(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


_ABORT_REGISTERED: list[bool] = []  # process-wide, as MPI itself: one MPI world per process


def _abort_at_exit(comm: Any) -> None:
    if not _ABORT_REGISTERED:
        _ABORT_REGISTERED.append(True)
        atexit.register(_abort, comm)


def _abort(comm: Any) -> None:
    """End the job: the message of what went wrong first. The launcher forwards a rank's output from a pipe;
    MPI_Abort makes it kill every process, which can drop what is still in that pipe (seen under load: the
    CollectiveTimeout line lost), so flush and give it a moment to read."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    time.sleep(0.5)
    comm.Abort(1)
