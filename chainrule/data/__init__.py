"""Data: array data sets, a minibatch loader, splitting, standardisation and named data sets.

>>> from chainrule.data import load_dataset, ArrayDataset, DataLoader
>>> split = load_dataset("xor", seed=0)
>>> loader = DataLoader(ArrayDataset(split.x_train, split.y_train), batch_size=32, shuffle=True, seed=0)
"""

from ._core import ArrayDataset, DataError, DataLoader, Standardizer, train_test_split
from ._datasets import (
    CHECKSUMS,
    MIRRORS,
    NAMED,
    SYNTHETIC,
    DataSplit,
    check_finite,
    download,
    load_dataset,
    read_idx,
    synthetic,
)

__all__ = ["CHECKSUMS", "MIRRORS", "NAMED", "SYNTHETIC", "ArrayDataset", "DataError", "DataLoader", "DataSplit",
           "Standardizer", "check_finite", "download", "load_dataset", "read_idx", "synthetic", "train_test_split"]
