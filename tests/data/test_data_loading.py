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


# ---- labels, non-finite features, bounded readers ------------------------------------------------------
def _csv_file(tmp_path, rows, name="d.csv"):
    path = tmp_path / name
    path.write_text("\n".join(rows) + "\n")
    return str(path)


def test_string_labels_become_classes(tmp_path):
    path = _csv_file(tmp_path, ["a,b,kind"] + [f"{i},{-i},{'cat' if i % 2 else 'dog'}" for i in range(10)])
    split = load_dataset(path, seed=0)
    assert split.task == "classification" and split.classes == ["cat", "dog"]
    assert split.y_train.dtype == np.int64 and set(split.y_train) <= {0, 1}


def test_one_class_data_is_refused(tmp_path):
    path = _csv_file(tmp_path, ["a,label"] + [f"{i},same" for i in range(6)])
    with pytest.raises(DataError, match="every example has the label 'same'; a classifier needs at least two"):
        load_dataset(path)


@pytest.mark.parametrize("text", ["nan", "inf", "-inf"])
def test_non_finite_csv_features_name_the_line_and_column(tmp_path, text):
    path = _csv_file(tmp_path, ["a,b,y", "1,2,0", f"3,{text},1", "5,6,0"])
    with pytest.raises(DataError, match=rf"d.csv, line 3: column 'b' holds '{text}'; expected a finite number"):
        load_dataset(path)


def test_non_finite_npz_features_name_the_row_and_column(tmp_path):
    x = np.zeros((6, 3))
    x[4, 2] = np.inf
    np.savez(tmp_path / "d.npz", x=x, y=np.arange(6) % 2)
    with pytest.raises(DataError, match=r"d.npz: the features hold inf at row 4, column 2; expected finite"):
        load_dataset(str(tmp_path / "d.npz"))


def test_csv_column_limit(tmp_path, monkeypatch):
    from chainrule.data import _datasets

    monkeypatch.setattr(_datasets, "MAX_CSV_COLUMNS", 5)
    path = _csv_file(tmp_path, [",".join(f"c{i}" for i in range(7))] + [",".join("1" * 7)] * 3)
    with pytest.raises(DataError, match="the header has 7 columns, over the limit of 5"):
        load_dataset(path)


def _npz_with_forged_header(path, shape, real_values):
    """An NPZ whose x.npy header claims ``shape`` but whose data is only ``real_values``."""
    import io
    import zipfile

    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": shape})
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("x.npy", header.getvalue() + np.asarray(real_values, "<f8").tobytes())
        buffer = io.BytesIO()
        np.save(buffer, np.arange(4) % 2)
        archive.writestr("y.npy", buffer.getvalue())


def test_npz_members_are_bounded_before_reading(tmp_path):
    import tracemalloc

    path = tmp_path / "bomb.npz"
    _npz_with_forged_header(path, (10**6, 10**5), np.zeros(8))
    tracemalloc.start()
    with pytest.raises(DataError, match=r"member 'x' claims shape \(1000000, 100000\) of float64 "
                                        r"\(800000000000 bytes\)"):
        load_dataset(str(path))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 20 * 2**20
    # a decompression bomb: a small archive that inflates to far more than the limit
    import zipfile

    bomb = tmp_path / "zeros.npz"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("x.npy", "w") as member:
            np.lib.format.write_array_header_1_0(member, {"descr": "<f8", "fortran_order": False,
                                                          "shape": (2**22, 4)})
            block = np.zeros(2**20, "<f8").tobytes()
            for _ in range(16):
                member.write(block)
        archive.writestr("y.npy", b"")
    from chainrule.data import _datasets

    with pytest.raises(DataError, match="over|more than the limit"):
        _datasets._npz(str(bomb), 0, 0.2, max_bytes=2**20)
    assert bomb.stat().st_size < 2**20


def test_npz_refuses_pickles_and_reads_only_its_members(tmp_path):
    np.savez(tmp_path / "ok.npz", x=np.ones((4, 2)), y=np.array([0, 1, 0, 1]), unrelated=np.zeros(3))
    assert load_dataset(str(tmp_path / "ok.npz")).n_features == 2
    np.savez(tmp_path / "obj.npz", x=np.array([{"a": 1}] * 4, dtype=object), y=np.arange(4))
    with pytest.raises(DataError, match="member 'x' has dtype object"):
        load_dataset(str(tmp_path / "obj.npz"))


def test_idx_dimensions_are_checked_before_reading(tmp_path):
    # a 12-byte file whose header announces 2**32-1 × 2**32-1 × 2**32-1 bytes: no overflow, no allocation
    (tmp_path / "huge-idx3-ubyte").write_bytes(bytes([0, 0, 8, 3]) + b"\xff\xff\xff\xff" * 3)
    with pytest.raises(DataError, match=r"the IDX header announces shape \(4294967295, 4294967295, 4294967295\)"):
        read_idx(str(tmp_path / "huge-idx3-ubyte"))
    # gzip: the stream is read only as far as the header says, and a longer one is refused
    payload = bytes([0, 0, 8, 1]) + struct.pack(">I", 4) + bytes(4)
    (tmp_path / "long.gz").write_bytes(gzip.compress(payload + bytes(10**6)))
    with pytest.raises(DataError, match="IDX payload does not have the 4 bytes"):
        read_idx(str(tmp_path / "long.gz"))
    (tmp_path / "ok.gz").write_bytes(gzip.compress(payload))
    assert read_idx(str(tmp_path / "ok.gz")).tolist() == [0, 0, 0, 0]
    with pytest.raises(DataError, match="over the limit of 2 bytes"):
        read_idx(str(tmp_path / "ok.gz"), max_bytes=2)


def test_float_and_out_of_range_labels_are_refused_by_the_loss():
    import chainrule as cr
    import chainrule.nn as nn

    z = cr.tensor(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"class labels must be integers 0..2; got float64 values such as \[0.5"):
        nn.cross_entropy(z, np.array([0.5, 1.0]))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\)"):
        nn.cross_entropy(z, np.array([0, 3]))
    with pytest.raises(ValueError, match=r"one output per example needs targets in \[0, 1\]"):
        nn.cross_entropy(cr.tensor(np.zeros((2, 1))), np.array([0, 2]))
    assert float(nn.cross_entropy(z, np.array([1.0, 2.0]))) == pytest.approx(np.log(3))
