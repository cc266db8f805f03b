"""examples/mnist_cnn.py on tiny IDX files written here (the real files are not available offline;
download=True is tested in tests/data/test_download.py against a local server)."""

import gzip
import importlib.util
import os
import struct

import numpy as np

EXAMPLE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples", "mnist_cnn.py")


def _idx(array):
    return bytes([0, 0, 8, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


def _write_digits_like(folder, rng):
    """Ten classes of 12×12 images (small, to keep the test quick; the loader takes any IDX image size): class k
    lights up column k + 1 (plus noise)."""
    for prefix, n in (("train", 160), ("t10k", 40)):
        labels = rng.integers(0, 10, size=n).astype(np.uint8)
        images = rng.integers(0, 40, size=(n, 12, 12)).astype(np.uint8)
        for i, k in enumerate(labels):
            images[i, :, 1 + k] = 250
        (folder / f"{prefix}-images-idx3-ubyte.gz").write_bytes(gzip.compress(_idx(images)))
        (folder / f"{prefix}-labels-idx1-ubyte").write_bytes(_idx(labels))


def test_mnist_cnn_example_learns_from_idx_files(tmp_path):
    _write_digits_like(tmp_path, np.random.default_rng(0))
    spec = importlib.util.spec_from_file_location("mnist_cnn", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result = module.main(str(tmp_path), epochs=3, batch_size=32, verbose=False)
    assert result["test_accuracy"] > 0.9 and result["seconds_per_epoch"] > 0
