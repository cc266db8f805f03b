"""micrograd (Karpathy's scalar engine): case 1 only, one Value per vector element. It has no tanh, so the
chain uses relu in its place, and its recursive topological sort needs a raised recursion limit."""

from __future__ import annotations

import sys

from micrograd.engine import Value

from .base import Variant, chain_ops, run_chain

PEER = "micrograd"
IMPORT = "import micrograd.engine"



class Micrograd(Variant):
    name, peer = "micrograd", PEER

    def make_chain(self, x0, plan):
        ops = chain_ops(plan, lambda v: v.relu())
        sys.setrecursionlimit(max(sys.getrecursionlimit(), 4 * len(plan) + 1000))

        def run():
            xs = [Value(float(v)) for v in x0]
            total = Value(0.0)
            for x in xs:
                y = run_chain(ops, x)
                total = total + y
            total.backward()
            return [x.grad for x in xs]

        return run


def variants():
    return [Micrograd()]
