"""A small CNN on MNIST (or Fashion-MNIST) from the four IDX files:

    conv 3×3 (1 → 16) · ReLU · conv 3×3 (16 → 32) · ReLU · max-pool 2×2 · flatten · 6272 → 64 · ReLU · 64 → 10

trained with Adam on minibatches of 64, float32, printing the test accuracy and the time of each epoch.

    python examples/mnist_cnn.py --data-dir ~/data/mnist              # the IDX files are there
    python examples/mnist_cnn.py --data-dir ~/data/mnist --download   # fetch them first (checksums verified)

``--limit N`` trains on the first N training images (a quick look). The test suite runs this on tiny IDX
files it writes itself; ``download=True`` is tested against a local HTTP server; the real mirrors and a full
MNIST run are not reachable there (no network). ``CHAINRULE_MNIST_URL`` points ``--download`` at a mirror.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import chainrule.nn as nn
import chainrule.optim as optim
from chainrule.data import load_dataset
from chainrule.train import fit


def main(data_dir: str, epochs: int = 3, limit: int | None = None, download: bool = False,
         dataset: str = "mnist", batch_size: int = 64, seed: int = 0, verbose: bool = True) -> dict:
    split = load_dataset(dataset, data_dir=data_dir, download=download, seed=seed)  # pixels standardised, float32
    x_train, y_train = split.x_train[:limit], split.y_train[:limit]
    model = nn.CNN(split.image_shape, channels=[16, 32], hidden=[64], classes=10, rng=seed)
    if verbose:
        print(f"{split.name}: {len(x_train)} train / {len(split.x_test)} test images of {split.image_shape}; "
              f"{model.num_parameters():,} parameters")

    def report(record: dict) -> None:
        if verbose:
            print(f"epoch {record['epoch']}: train loss {record['train_loss']:.4f}, test accuracy "
                  f"{record['test_accuracy']:.2%}, {record['seconds']:.1f}s", flush=True)

    started = time.perf_counter()
    history = fit(model, "cross-entropy", optim.Adam(model.parameters(), lr=1e-3), (x_train, y_train),
                  (split.x_test, split.y_test), epochs=epochs, batch_size=batch_size, seed=seed, progress=verbose,
                  on_epoch=report)
    last = history.epochs[-1]
    return {"test_accuracy": last["test_accuracy"], "seconds_per_epoch": float(np.mean(history.column("seconds"))),
            "seconds": time.perf_counter() - started}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--dataset", default="mnist", choices=("mnist", "fashion-mnist"))
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--limit", type=int)
    parser.add_argument("--download", action="store_true")
    args = parser.parse_args()
    result = main(args.data_dir, args.epochs, args.limit, args.download, args.dataset)
    print(f"test accuracy {result['test_accuracy']:.2%}, {result['seconds_per_epoch']:.1f}s per epoch")
