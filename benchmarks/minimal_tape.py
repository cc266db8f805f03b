"""The floor of an eager engine written in Python: case 1's chain on the barest tape that gets it right.

A Tensor of two slots, a node of four, a lambda per derivative rule, a depth-first order, and nothing else:
no saved-value bookkeeping, no read-only saved arrays, no version counters, no checks of a rule's result,
no hooks. It is not a library (it knows only the four ops of the chain, and its order is right only for
graphs like this one); it answers one question for docs/benchmarks.md: how fast can per-op bookkeeping in
Python be at all?

    python3 benchmarks/minimal_tape.py      # µs per op, forward and forward + backward, and chainrule's
"""

from __future__ import annotations

import gc
import os
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from benchmarks import problems  # noqa: E402


class Value:
    __slots__ = ("data", "node")

    def __init__(self, data, node=None):
        self.data, self.node = data, node

    def __mul__(self, c):
        out = self.data * c
        return Value(out, Node(lambda g, ans, c: (g * c,), (self,), (c,), out))

    def __add__(self, other):
        out = self.data + other.data
        return Value(out, Node(lambda g, ans: (g, g), (self, other), (), out))

    def __sub__(self, c):
        out = self.data - c
        return Value(out, Node(lambda g, ans, c: (g,), (self,), (c,), out))

    def tanh(self):
        out = np.tanh(self.data)
        return Value(out, Node(lambda g, ans: (g * (1 - ans * ans),), (self,), (), out))


class Node:
    __slots__ = ("vjp", "parents", "args", "ans")

    def __init__(self, vjp, parents, args, ans):
        self.vjp, self.parents, self.args, self.ans = vjp, parents, args, ans


def backward(y: Value) -> dict:
    order, seen, stack = [], set(), [y]
    while stack:  # pre-order DFS: a valid reverse topological order for this chain-shaped graph
        v = stack.pop()
        if id(v) not in seen:
            seen.add(id(v))
            order.append(v)
            if v.node is not None:
                stack.extend(v.node.parents)
    signals = {id(y): np.ones_like(y.data)}
    for v in order:
        g, node = signals.pop(id(v), None), v.node
        if node is None or g is None:
            if g is not None:
                signals[id(v)] = g
            continue
        for parent, gp in zip(node.parents, node.vjp(g, node.ans, *node.args), strict=True):
            previous = signals.get(id(parent))
            signals[id(parent)] = gp if previous is None else previous + gp
    return signals


def main() -> None:
    from benchmarks.peers.base import chain_ops, run_chain
    from benchmarks.peers.chainrule_impl import Eager

    x0, plan = problems.chain_input(), problems.chain_plan()
    ops = chain_ops(plan, Value.tanh)

    def minimal():
        x = Value(x0)
        return backward(run_chain(ops, x))[id(x)]

    with_chainrule = Eager().make_chain(x0, plan)  # case 1 exactly as the benchmark runs it
    np.testing.assert_allclose(minimal(), with_chainrule(), rtol=1e-12)  # the same gradient

    def per_op(fn, repeats=200) -> float:
        for _ in range(10):
            fn()
        gc.disable()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        gc.enable()
        return float(np.median(times)) / len(plan) * 1e6

    print(f"minimal tape: {per_op(minimal):.2f} µs per op; chainrule: {per_op(with_chainrule):.2f} µs per op")


if __name__ == "__main__":
    main()
