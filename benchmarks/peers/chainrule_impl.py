"""chainrule: eager mode (the graph recorded per call) and ``chainrule.compile`` (traced once, replayed)."""

from __future__ import annotations

import numpy as np

import chainrule
import chainrule.nn as nn
import chainrule.numpy as cnp

from .base import Variant, chain_ops, run_chain

PEER = "chainrule"
IMPORT = "import chainrule"



def loss_fn(weights, biases, x, labels):
    """Mean softmax cross-entropy of the sigmoid MLP, the loss of ``chainrule.nn`` (as PyTorch's benchmark
    uses ``F.cross_entropy``)."""
    h = x
    last = len(weights) - 1
    for layer, (w, b) in enumerate(zip(weights, biases, strict=True)):
        z = h @ w + b
        h = cnp.sigmoid(z) if layer < last else z
    return nn.softmax_cross_entropy(h, labels)


def sgd_step(weights, biases, x, labels, lr):
    """A pure training step, the form ``chainrule.compile`` takes: new parameters out, nothing mutated."""
    loss, (gw, gb) = chainrule.value_and_grad(loss_fn, argnums=(0, 1))(weights, biases, x, labels)
    return loss, [w - lr * g for w, g in zip(weights, gw, strict=True)], \
        [b - lr * g for b, g in zip(biases, gb, strict=True)]


class Eager(Variant):
    name, peer, numpy_backed = "chainrule", PEER, True

    def make_chain(self, x0, plan):
        ops = chain_ops(plan, cnp.tanh)

        def run():
            x = chainrule.tensor(x0, requires_grad=True)
            y = run_chain(ops, x)
            y.sum().backward()
            return x.grad

        return run

    def make_step(self, problem):
        weights, biases = problem.fresh_params()
        params = [chainrule.tensor(p, requires_grad=True) for p in weights + biases]
        ws, bs = params[:len(weights)], params[len(weights):]
        x, labels, lr = problem.x, problem.labels, problem.lr

        def step():
            loss = loss_fn(ws, bs, x, labels)
            loss.backward()
            for p in params:  # SGD on .data, as chainrule.optim.SGD does
                p.data -= lr * p.grad
                p.grad = None
            return loss.item()

        return step

    def make_hvp(self, problem):
        weights, biases = problem.fresh_params()
        tw, tb = problem.tangent()
        x, labels = problem.x, problem.labels

        def run():
            hw, hb = chainrule.hvp(lambda p: loss_fn(p[0], p[1], x, labels), (weights, biases), (tw, tb))
            return list(hw) + list(hb)

        return run


class Compiled(Variant):
    name, peer, numpy_backed = "chainrule.compile", PEER, True

    def make_chain(self, x0, plan):
        ops = chain_ops(plan, cnp.tanh)

        def f(x):
            y = run_chain(ops, x)
            return y.sum()

        return _bind(chainrule.compile(chainrule.grad(f)), np.array(x0))

    def make_step(self, problem):
        weights, biases = problem.fresh_params()
        state = [weights, biases]
        step_fn = chainrule.compile(sgd_step, donate_argnums=(0, 1))  # parameters updated in place
        x, labels, lr = problem.x, problem.labels, problem.lr

        def step():
            loss, state[0], state[1] = step_fn(state[0], state[1], x, labels, lr)
            return float(loss)

        return step

    def make_hvp(self, problem):
        weights, biases = problem.fresh_params()
        tw, tb = problem.tangent()
        x, labels = problem.x, problem.labels

        def hvp(ws, bs, vw, vb):
            return chainrule.hvp(lambda p: loss_fn(p[0], p[1], x, labels), (ws, bs), (vw, vb))

        compiled = chainrule.compile(hvp)

        def run():
            hw, hb = compiled(weights, biases, tw, tb)
            return list(hw) + list(hb)

        return run


def _bind(fun, *args):
    return lambda: fun(*args)


def variants():
    found = [Eager()]
    if hasattr(chainrule, "compile"):
        found.append(Compiled())
    return found
