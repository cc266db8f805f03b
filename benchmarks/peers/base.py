"""What a benchmarked implementation offers. A case it does not fit raises :class:`NotImplementedError`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..problems import MLPProblem


class Variant:
    """One column of the results table.

    Every ``make_*`` builds the state once and returns a zero-argument callable that runs one repetition.
    """

    name = "?"
    peer = "?"  # the library, as named by --peers
    numpy_backed = False  # its arrays are NumPy's, so tracemalloc sees its memory
    long_chains = False  # runs case 1b, the 1,000,000-op chain (kept to the fast ones: a round takes seconds)
    losses: tuple[str, ...] = ("cross_entropy",)  # the loss formulations (problems.LOSSES) make_step takes
    # Set: the runner times this variant in a fresh interpreter started with these environment variables (for
    # what a library fixes at import, such as chainrule's engine); its class must be in its module's variants().
    environment: dict[str, str] | None = None

    def make_chain(self, x0: np.ndarray, plan: list[str]) -> Callable[[], np.ndarray]:
        """Forward and backward through the op chain; the callable returns d sum(y) / dx."""
        raise NotImplementedError

    def make_step(self, problem: MLPProblem, loss: str = "cross_entropy") -> Callable[[], float]:
        """One SGD training step (forward, backward, update) with the loss written as ``loss`` (one of
        ``self.losses``); the callable returns the loss."""
        raise NotImplementedError

    def make_hvp(self, problem: MLPProblem) -> Callable[[], list[np.ndarray]]:
        """Hessian of the loss w.r.t. (weights, biases) times the problem's tangent, flattened as
        [w0, ..., wn, b0, ..., bn]."""
        raise NotImplementedError


def chain_ops(plan: list[str], tanh: Callable[[Any], Any]) -> list[Callable[[Any, Any], Any]]:
    """Case 1's plan as callables ``(y, x) -> y`` in any library: the arithmetic is operators, and ``tanh``
    is the library's own (micrograd, which has none, passes its relu)."""
    table = {
        "mul": lambda y, x: y * 0.9,
        "add_x": lambda y, x: y + x,
        "tanh": lambda y, x: tanh(y),
        "sub": lambda y, x: y - 0.1,
    }
    return [table[op] for op in plan]


def run_chain(ops: list[Callable[[Any, Any], Any]], x: Any) -> Any:
    """The chain's output for input ``x``."""
    y = x
    for op in ops:
        y = op(y, x)
    return y
