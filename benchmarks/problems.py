"""The benchmark problems, built once from a fixed seed so that every library gets the same numbers.

All arrays are NumPy; each peer module converts them to its own array type.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CHAIN_OPS = 1000  # case 1: elementwise operations in the chain
CHAIN_WIDTH = 16  # ... on vectors of this length
LONG_CHAIN_OPS = 1_000_000  # case 1b: the same chain, long enough that the garbage collector's passes show
LEARNING_RATE = 0.1


def chain_input() -> np.ndarray:
    return np.random.default_rng(1).uniform(-1.0, 1.0, CHAIN_WIDTH)


def chain_plan(n_ops: int = CHAIN_OPS) -> list[str]:
    """The op sequence of case 1, cycling multiply-by-constant, add-the-input (a fan-in: the input's
    gradient accumulates), tanh, subtract-a-constant. Every peer runs exactly this list."""
    cycle = ("mul", "add_x", "tanh", "sub")
    return [cycle[i % len(cycle)] for i in range(n_ops)]


# Case 2's loss, written three natural ways (the compiled step should be fast for each): chainrule.nn's fused
# softmax cross-entropy on integer labels; minus the mean of log_softmax times the one-hot targets; and the
# log-sum-exp written out by hand (shift by the row maximum, exp, sum, log).
LOSSES = ("cross_entropy", "log_softmax", "logsumexp")


@dataclass
class MLPProblem:
    """A classifier ``sizes[0] -> ... -> sizes[-1]``: sigmoid hidden layers, softmax cross-entropy (mean over
    the batch), float32, plain SGD."""

    name: str
    sizes: tuple[int, ...]
    batch: int
    weights: list[np.ndarray]
    biases: list[np.ndarray]
    x: np.ndarray
    labels: np.ndarray  # int64 class indices
    onehot: np.ndarray  # float32 one-hot of labels
    lr: float = LEARNING_RATE

    @property
    def n_layers(self) -> int:
        return len(self.weights)

    def fresh_params(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        return [w.copy() for w in self.weights], [b.copy() for b in self.biases]

    def tangent(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """A fixed direction v for the Hessian-vector product (case 4)."""
        rng = np.random.default_rng(7)
        return ([rng.standard_normal(w.shape).astype(np.float32) for w in self.weights],
                [rng.standard_normal(b.shape).astype(np.float32) for b in self.biases])

    def flops(self) -> float:
        """Multiply-adds x 2 of the step's matrix products (forward, and backward without the input's)."""
        total = 0.0
        for i, (n_in, n_out) in enumerate(zip(self.sizes[:-1], self.sizes[1:], strict=True)):
            products = 3 if i > 0 else 2  # forward, weight gradient, and the input gradient except layer 1
            total += products * 2.0 * self.batch * n_in * n_out
        return total


def mlp(name: str, sizes: tuple[int, ...], batch: int, seed: int = 0) -> MLPProblem:
    rng = np.random.default_rng(seed)
    weights = [(rng.standard_normal((m, n)) / np.sqrt(m)).astype(np.float32)
               for m, n in zip(sizes[:-1], sizes[1:], strict=True)]
    biases = [(0.01 * rng.standard_normal(n)).astype(np.float32) for n in sizes[1:]]
    x = rng.standard_normal((batch, sizes[0])).astype(np.float32)
    labels = rng.integers(0, sizes[-1], batch).astype(np.int64)
    onehot = np.eye(sizes[-1], dtype=np.float32)[labels]
    return MLPProblem(name, tuple(sizes), batch, weights, biases, x, labels, onehot)


def mlp_problems() -> dict[str, MLPProblem]:
    return {
        "mlp": mlp("MLP 784-256-256-10, batch 128", (784, 256, 256, 10), 128),
        "batch1": mlp("MLP 784-256-256-10, batch 1", (784, 256, 256, 10), 1),
        "deep": mlp("deep: 20 x 64 units, batch 32", (64,) + (64,) * 20 + (10,), 32),
        "wide": mlp("wide: 2 x 2048 units, batch 512", (784, 2048, 2048, 10), 512),
    }
