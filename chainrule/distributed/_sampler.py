"""`DistributedSampler`: each rank's shard of every global minibatch."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from ..data import ArrayDataset, DataLoader


class DistributedSampler(DataLoader):
    """A `DataLoader` over this rank's shard of every *global* minibatch.

    Epoch ``e`` shuffles all examples exactly as ``DataLoader(dataset, global_batch_size, shuffle, seed=seed)``
    does (the permutation of ``numpy.random.default_rng([seed, e])``) and cuts the same global minibatches;
    rank ``r`` of ``size`` takes the ``r``-th contiguous part of each, the parts differing in length by at
    most one. So ``size`` ranks together see exactly the batches one process with the global batch size
    sees, whatever ``size`` is — which is what makes a run resumable on another number of ranks.

    ``shard_weight`` is the fraction of the current global batch that this rank holds (``1/size`` unless the
    batch does not divide evenly); `DistributedOptimizer` weights this rank's gradient by it, so the averaged
    gradient is the gradient of the mean loss over the whole global batch. Every rank must take part in every
    gradient allreduce: a rank whose part of a final, small batch is empty gets a stand-in (the batch's first
    example) with weight 0, which contributes nothing.

    >>> from chainrule.data import ArrayDataset
    >>> ds = ArrayDataset(np.arange(10), np.arange(10))
    >>> [yb.tolist() for _, yb in DistributedSampler(ds, 4, shuffle=False, rank=1, size=2)]
    [[2, 3], [6, 7], [9]]
    """

    def __init__(self, dataset: ArrayDataset, global_batch_size: int, shuffle: bool = True, *,
                 seed: int | None = 0, drop_last: bool = False, rank: int | None = None,
                 size: int | None = None) -> None:
        super().__init__(dataset, global_batch_size, shuffle, seed=seed, drop_last=drop_last)
        if rank is None or size is None:
            from . import world

            comm = world()
            rank = comm.rank if rank is None else rank
            size = comm.size if size is None else size
        if not 0 <= int(rank) < int(size):
            raise ValueError(f"DistributedSampler: rank must lie in [0, size); got rank {rank}, size {size}")
        self.rank, self.size = int(rank), int(size)
        if self.batch_size < self.size:
            raise ValueError(f"DistributedSampler: a global batch of {self.batch_size} cannot be shared by "
                             f"{self.size} ranks; use a global batch size of at least {self.size}")
        self.shard_weight = 1.0 / self.size

    @property
    def global_batch_size(self) -> int:
        """The size of the minibatch all ranks together take each step (this rank takes its shard of it).

        >>> ds = ArrayDataset(np.arange(10), np.arange(10))
        >>> sampler = DistributedSampler(ds, 4, rank=0, size=2)
        >>> sampler.global_batch_size, len(sampler)
        (4, 3)
        """
        return self.batch_size

    def shard(self, batch: np.ndarray) -> tuple[np.ndarray, float]:
        """This rank's part of the global batch ``batch`` (example indices) and its share of it (a stand-in
        example with share 0 when the part is empty).

        >>> sampler = DistributedSampler(ArrayDataset(np.arange(10), np.arange(10)), 4, rank=2, size=3)
        >>> sampler.shard(np.array([7, 1, 4, 9]))  # rank 2 of 3 takes the last 2 of 4
        (array([4, 9]), 0.5)
        >>> first = DistributedSampler(ArrayDataset(np.arange(10), np.arange(10)), 4, rank=0, size=3)
        >>> first.shard(np.array([5, 8]))  # rank 0's part of a batch of 2 is empty: a stand-in with weight 0
        (array([5]), 0.0)
        """
        bounds = [len(batch) * r // self.size for r in range(self.size + 1)]
        start, stop = bounds[self.rank], bounds[self.rank + 1]
        if start == stop:
            return batch[:1], 0.0
        return batch[start:stop], (stop - start) / len(batch)

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        order = self.order(self.epoch)
        self.epoch += 1
        for k in range(len(self)):
            indices, self.shard_weight = self.shard(order[k * self.batch_size:(k + 1) * self.batch_size])
            yield self.dataset[indices]
