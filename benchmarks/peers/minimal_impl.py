"""The minimal Python tape of ``benchmarks/minimal_tape.py`` (cases 1 and 1b only): the floor of any eager
engine written in Python, timed in the same interleaved rounds as the libraries."""

from __future__ import annotations

from ..minimal_tape import Value, backward
from .base import Variant, chain_ops, run_chain

PEER = "minimal"
IMPORT = None  # not a library: no import time


class MinimalTape(Variant):
    name, peer, numpy_backed, long_chains = "minimal tape", PEER, True, True

    def make_chain(self, x0, plan):
        ops = chain_ops(plan, Value.tanh)

        def run():
            x = Value(x0)
            return backward(run_chain(ops, x))[id(x)]

        return run


def variants():
    return [MinimalTape()]
