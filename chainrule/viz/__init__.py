"""See backprop: the computation graph, the forward values and the error signals, in the notes' notation.

>>> import chainrule.numpy as cnp
>>> from chainrule.viz import trace, cost
>>> tr = trace(lambda x: cnp.cos(cnp.sin(x ** 2) + 3 * x ** 2), 1.5)
>>> print(tr)                      # forward pass, then the backward pass v̄ = Σ children v̄_j ∂v_j/∂v
>>> tr.render("graph.svg")         # or .dot (no dependency), .png
>>> print(cost(lambda W, x: (x @ W).sum(), np.ones((3, 4)), np.ones((2, 3))))

Importing this package is light: graphviz and matplotlib are imported only when a picture is drawn.
"""

from ._cost import COST_RULES, Cost, cost
from ._trace import Trace, TraceNode, keep_values, trace


def plot_descent(*args, **kwargs):
    """See :func:`chainrule.viz._plot.plot_descent` (imported lazily: needs matplotlib)."""
    from ._plot import plot_descent as plot

    return plot(*args, **kwargs)


def plot_weights_for_run(*args, **kwargs):
    """See :func:`chainrule.viz._plot.plot_weights_for_run` (imported lazily: needs matplotlib)."""
    from ._plot import plot_weights_for_run as plot

    return plot(*args, **kwargs)


__all__ = ["COST_RULES", "Cost", "Trace", "TraceNode", "cost", "keep_values", "plot_descent", "plot_weights_for_run",
           "trace"]
