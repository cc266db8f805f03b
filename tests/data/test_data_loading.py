"""Data sets, the loader, splitting, standardisation and file formats."""

import gzip
import struct

import numpy as np
import pytest

from chainrule.data import (
    ArrayDataset,
    DataError,
    DataLoader,
    Standardizer,
    load_dataset,
    read_idx,
    train_test_split,
)


def test_loader_batches_and_drop_last():
    ds = ArrayDataset(np.arange(10).reshape(10, 1), np.arange(10))
    assert [len(y) for _, y in DataLoader(ds, batch_size=4)] == [4, 4, 2]
    assert [len(y) for _, y in DataLoader(ds, batch_size=4, drop_last=True)] == [4, 4]
    assert len(DataLoader(ds, 4)) == 3 and len(DataLoader(ds, 4, drop_last=True)) == 2
    assert np.concatenate([y for _, y in DataLoader(ds, 3)]).tolist() == list(range(10))


def test_loader_shuffle_is_deterministic_per_seed_and_epoch():
    ds = ArrayDataset(np.arange(50), np.arange(50))

    def order(seed, epoch):
        loader = DataLoader(ds, 8, shuffle=True, seed=seed)
        loader.set_epoch(epoch)
        return np.concatenate([y for _, y in loader])

    assert np.array_equal(order(0, 3), order(0, 3))
    assert not np.array_equal(order(0, 3), order(0, 4))
    assert not np.array_equal(order(0, 3), order(1, 3))
    assert sorted(order(0, 3).tolist()) == list(range(50))
    loader = DataLoader(ds, 8, shuffle=True, seed=0)
    first, second = [np.concatenate([y for _, y in loader]) for _ in range(2)]
    assert np.array_equal(first, order(0, 0)) and np.array_equal(second, order(0, 1))


def test_split_and_standardizer():
    x, y = np.arange(20.0).reshape(10, 2), np.arange(10)
    xtr, ytr, xte, yte = train_test_split(x, y, 0.3, seed=0)
    assert len(xtr) == 7 and len(xte) == 3 and sorted(np.concatenate([ytr, yte]).tolist()) == list(range(10))
    assert np.array_equal(train_test_split(x, y, 0.3, seed=0)[3], yte)
    s = Standardizer().fit(xtr)
    z = s.transform(xtr)
    np.testing.assert_allclose(z.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(z.std(axis=0), 1)


def test_digits_loads_and_standardises_on_train_only():
    split = load_dataset("digits", seed=0)
    assert split.x_train.shape == (1438, 64) and split.x_test.shape == (359, 64)
    assert split.classes == list(range(10)) and split.task == "classification"
    assert split.x_train.dtype == np.float32 and split.image_shape == (1, 8, 8)
    np.testing.assert_allclose(split.x_train.mean(axis=0), 0, atol=1e-6)
    assert abs(split.x_test.mean()) > 1e-6  # test statistics were not used


@pytest.mark.parametrize("name", ["xor", "spirals", "circles", "blobs"])
def test_synthetic_sets(name):
    split = load_dataset(name, seed=1)
    assert split.n_features == 2 and split.task == "classification"
    assert split.n_outputs == (3 if name == "blobs" else 2)


def test_csv_with_named_target_and_string_labels(tmp_path):
    path = tmp_path / "flowers.csv"
    rows = ["a,b,species"] + [f"{i},{i % 3},{'xy'[i % 2]}" for i in range(20)]
    path.write_text("\n".join(rows) + "\n")
    split = load_dataset(str(path), target="species", seed=0)
    assert split.n_features == 2 and split.classes == ["x", "y"]
    with pytest.raises(DataError, match="no column named 'nope'.*columns are: a, b, species"):
        load_dataset(str(path), target="nope")


def test_csv_errors_say_what_and_where(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("a,b,target\n1,2,0\n1,x,1\n3,4,1\n")
    with pytest.raises(DataError, match=r"line 3: column 'b' holds 'x', expected a number"):
        load_dataset(str(path))
    with pytest.raises(DataError, match="data file not found"):
        load_dataset(str(tmp_path / "missing.csv"))
    with pytest.raises(DataError, match="unknown data set 'cifar'"):
        load_dataset("cifar")


def test_csv_float_target_is_regression(tmp_path):
    path = tmp_path / "reg.csv"
    path.write_text("x,target\n" + "\n".join(f"{i},{i * 0.37}" for i in range(30)) + "\n")
    split = load_dataset(str(path), seed=0)
    assert split.task == "regression" and split.y_train.shape == (24, 1)


def test_npz_with_and_without_test_arrays(tmp_path):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, 3)), rng.integers(0, 2, 40)
    np.savez(tmp_path / "d.npz", x=x, y=y)
    assert len(load_dataset(str(tmp_path / "d.npz")).x_test) == 8
    np.savez(tmp_path / "e.npz", x=x, y=y, x_test=x[:5], y_test=y[:5])
    assert len(load_dataset(str(tmp_path / "e.npz")).x_test) == 5
    np.savez(tmp_path / "f.npz", inputs=x)
    with pytest.raises(DataError, match="expected arrays 'x' and 'y'.*found: inputs"):
        load_dataset(str(tmp_path / "f.npz"))


def _idx(array, dtype_code=0x08):
    header = bytes([0, 0, dtype_code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(">u1").tobytes()


def test_mnist_from_idx_files_gz_and_raw(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(12, 28, 28)).astype(np.uint8)
    labels = rng.integers(0, 10, size=12).astype(np.uint8)
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(_idx(images)))
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(_idx(labels))
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(_idx(images[:4]))
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(_idx(labels[:4])))
    split = load_dataset("mnist", data_dir=str(tmp_path), standardize=False)
    assert split.x_train.shape == (12, 784) and split.x_test.shape == (4, 784)
    np.testing.assert_allclose(split.x_train[0], images[0].reshape(-1) / 255.0)
    assert np.array_equal(read_idx(str(tmp_path / "train-labels-idx1-ubyte")), labels)


def test_mnist_errors(tmp_path):
    with pytest.raises(DataError, match="needs --data-dir"):
        load_dataset("mnist")
    with pytest.raises(DataError, match=r"missing train-images-idx3-ubyte\(.gz\) in"):
        load_dataset("fashion-mnist", data_dir=str(tmp_path))
    (tmp_path / "bad").write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x05abc")
    with pytest.raises(DataError, match="IDX payload has 3 bytes"):
        read_idx(str(tmp_path / "bad"))
