"""What a benchmarked implementation offers. A case it does not fit raises :class:`NotImplementedError`."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..problems import MLPProblem


class Variant:
    """One column of the results table.

    Every ``make_*`` builds the state once and returns a zero-argument callable that runs one repetition.
    """

    name = "?"
    peer = "?"  # the library, as named by --peers
    numpy_backed = False  # its arrays are NumPy's, so tracemalloc sees its memory

    def make_chain(self, x0: np.ndarray, plan: list[str]) -> Callable[[], np.ndarray]:
        """Forward and backward through the op chain; the callable returns d sum(y) / dx."""
        raise NotImplementedError

    def make_step(self, problem: MLPProblem) -> Callable[[], float]:
        """One SGD training step (forward, backward, update); the callable returns the loss."""
        raise NotImplementedError

    def make_hvp(self, problem: MLPProblem) -> Callable[[], list[np.ndarray]]:
        """Hessian of the loss w.r.t. (weights, biases) times the problem's tangent, flattened as
        [w0, ..., wn, b0, ..., bn]."""
        raise NotImplementedError
