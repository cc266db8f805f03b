"""mygrad (a NumPy-backed, PyTorch-like autodiff library). It has no higher-order derivatives: no case 4."""

from __future__ import annotations

import mygrad as mg
from mygrad.nnet.activations import sigmoid
from mygrad.nnet.losses import softmax_crossentropy

from .base import Variant, chain_ops, run_chain

PEER = "mygrad"
IMPORT = "import mygrad"



class MyGrad(Variant):
    name, peer, numpy_backed = "mygrad", PEER, True

    def make_chain(self, x0, plan):
        ops = chain_ops(plan, mg.tanh)

        def run():
            x = mg.tensor(x0)
            y = run_chain(ops, x)
            y.sum().backward()
            return x.grad

        return run

    def make_step(self, problem, loss="cross_entropy"):
        weights, biases = problem.fresh_params()
        ws, bs = [mg.tensor(w) for w in weights], [mg.tensor(b) for b in biases]
        x, labels, lr = problem.x, problem.labels, problem.lr
        last = len(ws) - 1

        def step():
            h = x
            for layer, (w, b) in enumerate(zip(ws, bs, strict=True)):
                z = h @ w + b
                h = sigmoid(z) if layer < last else z
            loss = softmax_crossentropy(h, labels)
            loss.backward()
            for p in ws + bs:
                p.data -= lr * p.grad
            return loss.item()

        return step


def variants():
    return [MyGrad()]
