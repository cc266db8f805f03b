"""The notes' MLP in vectorised form (notes 000): z = W(1)x + b(1), h = σ(z), y = W(2)h + b(2), L = ½‖t − y‖².

Backward (printed below, rule by rule): L̄ = 1, ȳ = L̄ (y − t), W̄(2) = ȳ hᵀ, b̄(2) = ȳ, h̄ = W(2)ᵀ ȳ,
z̄ = h̄ ∘ σ'(z), W̄(1) = z̄ xᵀ, b̄(1) = z̄.  Then the cost of the forward and backward passes of the same
network on a batch, showing the rule of thumb "backward ≈ 2 × forward".

Run:  python examples/explain_mlp.py [graph.svg]
"""

import sys

import numpy as np

import chainrule
import chainrule.numpy as cnp
from chainrule.viz import cost, trace

rng = np.random.default_rng(0)
x = chainrule.tensor(rng.normal(size=(3, 1)), name="x")   # one example with 3 inputs (a column, as in the notes)
t = chainrule.tensor(np.array([[1.0], [0.0]]), name="t")  # 2 targets


def mlp_loss(W1, b1, W2, b2):
    z = W1 @ x + b1
    h = cnp.sigmoid(z)
    y = W2 @ h + b2
    L = 0.5 * cnp.sum((t - y) ** 2)
    return L


if __name__ == "__main__":
    tr = trace(mlp_loss, rng.normal(size=(4, 3)), np.zeros((4, 1)), rng.normal(size=(2, 4)), np.zeros((2, 1)))
    print(tr)
    print("gradient:")
    print(tr.gradient_text())
    if len(sys.argv) > 1:
        print("wrote", tr.render(sys.argv[1]))

    # cost on a batch of 64 examples: inputs need no gradient, so the first layer's x̄ = z̄ W(1)ᵀ is skipped
    def batch_loss(X, T):
        def loss(*params):
            h = X
            for i in range(0, len(params) - 2, 2):
                h = cnp.relu(h @ params[i] + params[i + 1])
            y = h @ params[-2] + params[-1]
            return 0.5 * cnp.sum((y - T) ** 2) / len(T)
        return loss

    for sizes in ([64, 256, 256, 256, 10], [784, 256, 256, 10]):
        X = chainrule.tensor(rng.normal(size=(64, sizes[0])))
        T = np.eye(10)[rng.integers(0, 10, 64)]
        params = []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
            params += [rng.normal(size=(fan_in, fan_out)) * 0.05, np.zeros(fan_out)]
        c = cost(batch_loss(X, T), *params)
        print()
        print(f"multiply-adds, MLP {'-'.join(map(str, sizes))} on a batch of 64 (squared error):")
        print(c)
