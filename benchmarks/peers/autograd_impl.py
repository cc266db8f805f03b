"""HIPS autograd."""

from __future__ import annotations

import autograd
import autograd.numpy as anp

from .base import Variant, chain_ops, run_chain

PEER = "autograd"
IMPORT = "import autograd"



def _sigmoid(z):
    return 0.5 * (anp.tanh(0.5 * z) + 1.0)  # autograd has no sigmoid primitive; this form is stable


def _loss(params, x, onehot):
    weights, biases = params
    h = x
    last = len(weights) - 1
    for layer, (w, b) in enumerate(zip(weights, biases, strict=True)):
        z = anp.dot(h, w) + b
        h = _sigmoid(z) if layer < last else z
    z = h - anp.max(h, axis=1, keepdims=True)
    log_p = z - anp.log(anp.sum(anp.exp(z), axis=1, keepdims=True))
    return -anp.sum(log_p * onehot) / x.shape[0]


class Autograd(Variant):
    name, peer, numpy_backed = "autograd", PEER, True

    def make_chain(self, x0, plan):
        ops = chain_ops(plan, anp.tanh)

        def f(x):
            y = run_chain(ops, x)
            return anp.sum(y)

        g = autograd.grad(f)
        return lambda: g(x0)

    def make_step(self, problem, loss="cross_entropy"):
        weights, biases = problem.fresh_params()
        state = [[weights, biases]]
        x, onehot, lr = problem.x, problem.onehot, problem.lr
        value_and_grad = autograd.value_and_grad(_loss)

        def step():
            loss, (gw, gb) = value_and_grad(state[0], x, onehot)
            ws, bs = state[0]
            state[0] = [[w - lr * g for w, g in zip(ws, gw, strict=True)],
                        [b - lr * g for b, g in zip(bs, gb, strict=True)]]
            return float(loss)

        return step

    def make_hvp(self, problem):
        weights, biases = problem.fresh_params()
        tw, tb = problem.tangent()
        x, onehot = problem.x, problem.onehot
        gradient = autograd.grad(_loss)

        def directional(params):
            gw, gb = gradient(params, x, onehot)
            return sum(anp.sum(g * t) for g, t in zip(list(gw) + list(gb), tw + tb, strict=True))

        hvp = autograd.grad(directional)

        def run():
            hw, hb = hvp([weights, biases])
            return list(hw) + list(hb)

        return run


def variants():
    return [Autograd()]
