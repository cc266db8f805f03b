"""chainrule: eager mode (the graph recorded per call) and ``chainrule.compile`` (traced once, replayed), the
latter with the parameters donated (updated in place) and without; and eager mode on the pure-Python engine
(timed in an interpreter of its own)."""

from __future__ import annotations

import numpy as np

import chainrule
import chainrule.nn as nn
import chainrule.numpy as cnp

from ..problems import LOSSES
from .base import Variant, chain_ops, run_chain

PEER = "chainrule"
IMPORT = "import chainrule"


def _cross_entropy(z, labels, onehot):
    """chainrule.nn's loss: one fused primitive on integer labels (as PyTorch's benchmark uses
    ``F.cross_entropy``)."""
    return nn.softmax_cross_entropy(z, labels)


def _log_softmax(z, labels, onehot):
    return -(cnp.log_softmax(z, axis=1) * onehot).sum() / z.shape[0]


def _logsumexp(z, labels, onehot):
    shifted = z - z.max(axis=1, keepdims=True)
    log_p = shifted - cnp.log(cnp.exp(shifted).sum(axis=1, keepdims=True))
    return -(log_p * onehot).sum() / z.shape[0]


LOSS_FUNCTIONS = {"cross_entropy": _cross_entropy, "log_softmax": _log_softmax, "logsumexp": _logsumexp}
assert tuple(LOSS_FUNCTIONS) == LOSSES


def make_loss_fn(loss: str = "cross_entropy"):
    """The mean loss of the sigmoid MLP, ``loss_fn(weights, biases, x, labels, onehot)``, its last step
    written as ``loss`` (one of problems.LOSSES)."""
    head = LOSS_FUNCTIONS[loss]

    def loss_fn(weights, biases, x, labels, onehot):
        h = x
        last = len(weights) - 1
        for layer, (w, b) in enumerate(zip(weights, biases, strict=True)):
            z = h @ w + b
            h = cnp.sigmoid(z) if layer < last else z
        return head(h, labels, onehot)

    return loss_fn


def make_sgd_step(loss: str = "cross_entropy"):
    """A pure training step, the form ``chainrule.compile`` takes: new parameters out, nothing mutated."""
    loss_fn = make_loss_fn(loss)
    value_and_grad = chainrule.value_and_grad(loss_fn, argnums=(0, 1))

    def sgd_step(weights, biases, x, labels, onehot, lr):
        value, (gw, gb) = value_and_grad(weights, biases, x, labels, onehot)
        return value, [w - lr * g for w, g in zip(weights, gw, strict=True)], \
            [b - lr * g for b, g in zip(biases, gb, strict=True)]

    return sgd_step


class Eager(Variant):
    name, peer, numpy_backed, long_chains, losses = "chainrule", PEER, True, True, LOSSES

    def make_chain(self, x0, plan):
        ops = chain_ops(plan, cnp.tanh)

        def run():
            x = chainrule.tensor(x0, requires_grad=True)
            y = run_chain(ops, x)
            y.sum().backward()
            return x.grad

        return run

    def make_step(self, problem, loss="cross_entropy"):
        weights, biases = problem.fresh_params()
        params = [chainrule.tensor(p, requires_grad=True) for p in weights + biases]
        ws, bs = params[:len(weights)], params[len(weights):]
        x, labels, onehot, lr = problem.x, problem.labels, problem.onehot, problem.lr
        loss_fn = make_loss_fn(loss)

        def step():
            value = loss_fn(ws, bs, x, labels, onehot)
            value.backward()
            for p in params:  # SGD on .data, as chainrule.optim.SGD does
                p.data -= lr * p.grad
                p.grad = None
            return value.item()

        return step

    def make_hvp(self, problem):
        weights, biases = problem.fresh_params()
        tw, tb = problem.tangent()
        x, labels, onehot = problem.x, problem.labels, problem.onehot
        loss_fn = make_loss_fn()

        def run():
            hw, hb = chainrule.hvp(lambda p: loss_fn(p[0], p[1], x, labels, onehot), (weights, biases), (tw, tb))
            return list(hw) + list(hb)

        return run


class PythonEngine(Eager):
    """Eager mode on the pure-Python engine, case 1 only. ``CHAINRULE_ENGINE`` is read when chainrule is imported,
    so the runner times this column in an interpreter of its own started with it; there the chain is exactly
    :class:`Eager`'s. (Case 1b, the 1,000,000-op chain, would add minutes per run: ~12 µs per op.)"""

    name, long_chains, losses = "chainrule, Python engine", False, ()
    environment = {"CHAINRULE_ENGINE": "python"}

    def make_step(self, problem, loss="cross_entropy"):
        raise NotImplementedError

    def make_hvp(self, problem):
        raise NotImplementedError


class Compiled(Variant):
    """``chainrule.compile`` of the whole step, parameters donated (the new ones written over the old)."""

    name, peer, numpy_backed, losses = "chainrule.compile", PEER, True, LOSSES
    donate = True

    def make_chain(self, x0, plan):
        if not self.donate:
            raise NotImplementedError  # (nothing to donate: the column would repeat the other one)
        ops = chain_ops(plan, cnp.tanh)

        def f(x):
            y = run_chain(ops, x)
            return y.sum()

        return _bind(chainrule.compile(chainrule.grad(f)), np.array(x0))

    def make_step(self, problem, loss="cross_entropy"):
        weights, biases = problem.fresh_params()
        state = [weights, biases]
        step_fn = chainrule.compile(make_sgd_step(loss), donate_argnums=(0, 1) if self.donate else ())
        x, labels, onehot, lr = problem.x, problem.labels, problem.onehot, problem.lr

        def step():
            value, state[0], state[1] = step_fn(state[0], state[1], x, labels, onehot, lr)
            return float(value)

        return step

    def make_hvp(self, problem):
        if not self.donate:
            raise NotImplementedError
        weights, biases = problem.fresh_params()
        tw, tb = problem.tangent()
        x, labels, onehot = problem.x, problem.labels, problem.onehot
        loss_fn = make_loss_fn()

        def hvp(ws, bs, vw, vb):
            return chainrule.hvp(lambda p: loss_fn(p[0], p[1], x, labels, onehot), (ws, bs), (vw, vb))

        compiled = chainrule.compile(hvp)

        def run():
            hw, hb = compiled(weights, biases, tw, tb)
            return list(hw) + list(hb)

        return run


class CompiledNotDonated(Compiled):
    """The compiled step returning new parameter arrays (no ``donate_argnums``)."""

    name = "chainrule.compile, not donated"
    donate = False


def _bind(fun, *args):
    return lambda: fun(*args)


def variants():
    found = [Eager()]
    if hasattr(chainrule, "compile"):
        found += [Compiled(), CompiledNotDonated()]
    return found + [PythonEngine()]
