"""Array data sets, the minibatch loader, the train/test split and feature standardisation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np


class DataError(ValueError):
    """A data set could not be loaded: the message says what was expected, and where.

    >>> from chainrule.data import load_dataset
    >>> try:
    ...     load_dataset("iris")
    ... except DataError as error:
    ...     print(error)
    unknown data set 'iris': expected one of digits, mnist, fashion-mnist, xor, ..., or a path to a .csv or .npz file
    >>> issubclass(DataError, ValueError)
    True
    """


class ArrayDataset:
    """Paired arrays: ``x`` of shape ``(n, ...)`` and targets ``y`` of shape ``(n, ...)``.

    >>> ds = ArrayDataset(np.zeros((5, 3)), np.arange(5))
    >>> len(ds), ds[np.array([0, 2])][1]
    (5, array([0, 2]))
    """

    def __init__(self, x: Any, y: Any) -> None:
        self.x, self.y = np.asarray(x), np.asarray(y)
        if len(self.x) != len(self.y):
            raise ValueError(f"ArrayDataset: x has {len(self.x)} rows but y has {len(self.y)}")

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, index: Any) -> tuple[np.ndarray, np.ndarray]:
        return self.x[index], self.y[index]

    def __repr__(self) -> str:
        return f"ArrayDataset(x: {self.x.shape} {self.x.dtype}, y: {self.y.shape} {self.y.dtype})"


class DataLoader:
    """Minibatches ``(x_batch, y_batch)`` of a data set, in order or shuffled.

    Shuffling is deterministic: epoch ``e`` uses the permutation drawn from
    ``numpy.random.default_rng([seed, e])``, so a resumed run sees the same batches as an uninterrupted one.
    Iterating uses the current epoch and then advances it; `set_epoch` sets it explicitly.

    >>> loader = DataLoader(ArrayDataset(np.arange(10), np.arange(10)), batch_size=4, shuffle=True, seed=0)
    >>> [len(yb) for _, yb in loader]
    [4, 4, 2]
    """

    def __init__(self, dataset: ArrayDataset, batch_size: int = 32, shuffle: bool = False, *,
                 seed: int | None = 0, drop_last: bool = False) -> None:
        if int(batch_size) < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive integer; got {batch_size}")
        self.dataset, self.batch_size, self.shuffle = dataset, int(batch_size), bool(shuffle)
        self.seed = seed if seed is not None else int(np.random.SeedSequence().entropy % 2**63)
        self.drop_last = bool(drop_last)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """The next iteration uses the shuffle order of ``epoch``.

        >>> loader = DataLoader(ArrayDataset(np.arange(6), np.arange(6)), batch_size=3, shuffle=True, seed=0)
        >>> first = [yb.tolist() for _, yb in loader]   # epoch 0; iterating moves on to epoch 1
        >>> loader.set_epoch(0)
        >>> [yb.tolist() for _, yb in loader] == first, loader.epoch
        (True, 1)
        """
        self.epoch = int(epoch)

    def order(self, epoch: int) -> np.ndarray:
        """The example order for ``epoch``.

        >>> loader = DataLoader(ArrayDataset(np.arange(5), np.arange(5)), batch_size=2, shuffle=True, seed=0)
        >>> loader.order(0), loader.order(1)
        (array([2, 4, 3, 0, 1]), array([1, 4, 3, 0, 2]))
        >>> DataLoader(ArrayDataset(np.arange(5), np.arange(5)), shuffle=False).order(3)
        array([0, 1, 2, 3, 4])
        """
        n = len(self.dataset)
        if not self.shuffle:
            return np.arange(n)
        return np.random.default_rng([self.seed, epoch]).permutation(n)

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        order = self.order(self.epoch)
        self.epoch += 1
        stop = len(self) * self.batch_size
        for start in range(0, min(stop, len(order)), self.batch_size):
            yield self.dataset[order[start:start + self.batch_size]]


def train_test_split(x: Any, y: Any, test_fraction: float = 0.2, seed: int = 0
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Shuffle with ``seed`` and split: ``x_train, y_train, x_test, y_test``.

    >>> xtr, ytr, xte, yte = train_test_split(np.arange(10), np.arange(10), 0.3, seed=0)
    >>> len(xtr), len(xte)
    (7, 3)
    """
    x, y = np.asarray(x), np.asarray(y)
    if len(x) != len(y):
        raise ValueError(f"train_test_split: x has {len(x)} rows but y has {len(y)}")
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"train_test_split: test_fraction must be in (0, 1); got {test_fraction}")
    n = len(x)
    n_test = max(1, int(round(n * test_fraction)))
    if n_test >= n:
        raise ValueError(f"train_test_split: {n} examples are too few to split")
    order = np.random.default_rng(seed).permutation(n)
    test, train = order[:n_test], order[n_test:]
    return x[train], y[train], x[test], y[test]


class Standardizer:
    """Per-feature standardisation x ↦ (x − mean) / std, fitted on training data only.
    Features with zero spread get std 1 (they are only centred).

    >>> s = Standardizer().fit(np.array([[0.0, 5.0], [2.0, 5.0]]))
    >>> s.transform(np.array([[1.0, 5.0]]))
    array([[0., 0.]])
    """

    def __init__(self, mean: Any = None, std: Any = None) -> None:
        self.mean = None if mean is None else np.asarray(mean, dtype=np.float64)
        self.std = None if std is None else np.asarray(std, dtype=np.float64)

    def fit(self, x: Any) -> Standardizer:
        """Learn the per-feature mean and standard deviation of ``x`` (rows are examples); returns self.

        >>> s = Standardizer().fit(np.array([[1.0, 10.0], [3.0, 10.0]]))
        >>> s.mean, s.std
        (array([ 2., 10.]), array([1., 1.]))
        """
        x = np.asarray(x, dtype=np.float64)
        self.mean = x.mean(axis=0)
        std = x.std(axis=0)
        self.std = np.where(std > 1e-12, std, 1.0)
        return self

    def transform(self, x: Any) -> np.ndarray:
        """``(x − mean) / std`` with the fitted statistics; ``x`` must have the features it was fitted on.

        >>> s = Standardizer().fit(np.array([[1.0, 10.0], [3.0, 10.0]]))
        >>> s.transform(np.array([[2.0, 11.0], [5.0, 10.0]]))
        array([[0., 1.],
               [3., 0.]])
        >>> s.transform(np.ones((1, 3)))
        Traceback (most recent call last):
            ...
        chainrule.data._core.DataError: expected inputs with (2,) features per example (as in training); got (3,)
        """
        if self.mean is None or self.std is None:
            raise RuntimeError("Standardizer.transform before fit")
        x = np.asarray(x, dtype=np.float64)
        if x.shape[1:] != self.mean.shape:
            raise DataError(f"expected inputs with {self.mean.shape} features per example (as in training); "
                            f"got {x.shape[1:]}")
        return (x - self.mean) / self.std
