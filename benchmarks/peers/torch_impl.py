"""PyTorch, eager mode on the CPU."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .base import Variant, chain_ops, run_chain

PEER = "torch"
IMPORT = "import torch"



def _loss(weights, biases, x, labels):
    h = x
    last = len(weights) - 1
    for layer, (w, b) in enumerate(zip(weights, biases, strict=True)):
        z = h @ w + b
        h = torch.sigmoid(z) if layer < last else z
    return F.cross_entropy(h, labels)


class Eager(Variant):
    name, peer = "PyTorch", PEER
    long_chains = True

    def make_chain(self, x0, plan):
        ops = chain_ops(plan, torch.tanh)

        def run():
            x = torch.tensor(x0, requires_grad=True)
            y = run_chain(ops, x)
            y.sum().backward()
            return x.grad.numpy()

        return run

    def _params(self, problem):
        weights, biases = problem.fresh_params()
        return ([torch.from_numpy(w).requires_grad_() for w in weights],
                [torch.from_numpy(b).requires_grad_() for b in biases])

    def make_step(self, problem, loss="cross_entropy"):
        ws, bs = self._params(problem)
        params = ws + bs
        x, labels, lr = torch.from_numpy(problem.x), torch.from_numpy(problem.labels), problem.lr

        def step():
            loss = _loss(ws, bs, x, labels)
            loss.backward()
            with torch.no_grad():
                for p in params:
                    p -= lr * p.grad
                    p.grad = None
            return loss.item()

        return step

    def make_hvp(self, problem):
        ws, bs = self._params(problem)
        params = ws + bs
        tw, tb = problem.tangent()
        v = [torch.from_numpy(t) for t in tw + tb]
        x, labels = torch.from_numpy(problem.x), torch.from_numpy(problem.labels)

        def run():
            grads = torch.autograd.grad(_loss(ws, bs, x, labels), params, create_graph=True)
            dot = sum((g * t).sum() for g, t in zip(grads, v, strict=True))
            return [h.numpy() for h in torch.autograd.grad(dot, params)]

        return run


def variants():
    return [Eager()]
