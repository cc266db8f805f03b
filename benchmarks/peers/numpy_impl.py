"""Hand-written NumPy: the vectorised backward equations of the notes, and the matrix products alone.

Both are the references of every MLP row, whatever the loss formulation of the row (they compute the loss
one way). The weight gradient hᵀ z̄ is ``np.dot(h.T, z̄)``: the same BLAS call as ``h.T @ z̄`` at batch 128,
but at batch 1 (an outer product, inner dimension 1) NumPy's ``matmul`` leaves BLAS and takes ~10× longer
(~550 µs against ~70 µs for 784×256 here), and a reference should not carry that.
"""

from __future__ import annotations

import numpy as np

from ..problems import LOSSES
from .base import Variant

PEER = "numpy"
IMPORT = "import numpy"


def _sigmoid(z):
    with np.errstate(over="ignore"):  # exp(-z) = inf for very negative z gives exactly 0
        return 1.0 / (1.0 + np.exp(-z))


class HandWritten(Variant):
    """z_l = h_{l-1} W_l + b_l, h_l = σ(z_l); backward: z̄ = h̄ ∘ σ(z)(1 - σ(z)), W̄ = hᵀ z̄, b̄ = Σ z̄,
    h̄ = z̄ Wᵀ; softmax cross-entropy gives z̄_L = (softmax(z_L) - Y) / B."""

    name, peer, numpy_backed = "NumPy by hand", PEER, True
    losses = LOSSES

    def make_step(self, problem, loss="cross_entropy"):
        weights, biases = problem.fresh_params()
        x, onehot, lr, batch = problem.x, problem.onehot, problem.lr, problem.batch

        def step():
            hs = [x]
            for w, b in zip(weights[:-1], biases[:-1], strict=True):
                hs.append(_sigmoid(hs[-1] @ w + b))
            z = hs[-1] @ weights[-1] + biases[-1]
            z -= z.max(axis=1, keepdims=True)
            e = np.exp(z)
            total = e.sum(axis=1, keepdims=True)
            loss = float(np.sum(onehot * (np.log(total) - z)) / batch)
            zbar = (e / total - onehot) / batch
            for layer in range(len(weights) - 1, -1, -1):
                h, w = hs[layer], weights[layer]
                hbar = zbar @ w.T if layer > 0 else None
                w -= lr * np.dot(h.T, zbar)
                biases[layer] -= lr * zbar.sum(axis=0)
                if layer > 0:
                    zbar = hbar * h * (1.0 - h)
            return loss

        return step


class MatmulFloor(Variant):
    """Only the step's matrix products (forward, weight and input gradients): no autodiff can go below."""

    name, peer, numpy_backed = "matmul floor", PEER, True
    losses = LOSSES

    def make_step(self, problem, loss="cross_entropy"):
        weights, _ = problem.fresh_params()
        hs = [problem.x] + [np.ones((problem.batch, w.shape[1]), np.float32) for w in weights]
        zbar = [np.ones((problem.batch, w.shape[1]), np.float32) for w in weights]

        def step():
            for layer, w in enumerate(weights):
                np.matmul(hs[layer], w)
            for layer in range(len(weights) - 1, -1, -1):
                np.dot(hs[layer].T, zbar[layer])
                if layer > 0:
                    zbar[layer] @ weights[layer].T
            return 0.0

        return step


def variants():
    return [HandWritten(), MatmulFloor()]
