"""See backprop: the computation graph, the forward values and the error signals, in the notes' notation.

>>> import numpy as np
>>> import chainrule.numpy as cnp
>>> from chainrule.viz import trace, cost
>>> tr = trace(lambda x: cnp.cos(cnp.sin(x ** 2) + 3 * x ** 2), 1.5)
>>> print(tr.backward_text().splitlines()[-1])      # the backward pass v̄ = Σ children v̄_j ∂v_j/∂v
x̄  = v̄1 · 2·x + v̄3 · 2·x = 1.785 − 8.526 = -6.741
>>> tr.render("graph.dot")         # or .svg, .png (need Graphviz's dot)
'graph.dot'
>>> tr.to_html("backprop.html")    # the explorer: one self-contained page
'backprop.html'
>>> c = cost(lambda W, x: (x @ W).sum(), np.ones((3, 4)), np.ones((2, 3)))
>>> c.forward, c.backward, c.ratio
(32, 56, 1.75)

Importing this package is light: graphviz and matplotlib are imported only when a picture is drawn.
"""

from ._cost import COST_RULES, Cost, cost
from ._trace import Trace, TraceNode, keep_values, trace


def plot_descent(*args, **kwargs):
    """Draw a two-parameter loss surface, −∇L arrows and the gradient-descent path: see
    :func:`chainrule.viz._plot.plot_descent` (imported lazily: needs matplotlib).

    >>> path = plot_descent(lambda w, b: (w - 1.0) ** 2 + b ** 2, start=(0.0, 1.0), lr=0.25, steps=4,
    ...                     path="descent.png")
    >>> path.shape, [round(float(v), 4) for v in path[-1]]
    ((5, 2), [0.9375, 0.0625])
    """
    from ._plot import plot_descent as plot

    return plot(*args, **kwargs)


def plot_weights_for_run(*args, **kwargs):
    """Draw a trained two-weight model's loss over its weight plane with the recorded weights: see
    :func:`chainrule.viz._plot.plot_weights_for_run` (imported lazily: needs matplotlib).

    >>> import os, tempfile, chainrule.nn as nn
    >>> tmp = tempfile.TemporaryDirectory()
    >>> model = nn.Sequential(nn.Linear(1, 1, rng=0, dtype=np.float64), nn.Sigmoid())
    >>> x, t = np.array([[-1.0], [0.5], [2.0]]), np.array([[0.0], [1.0], [1.0]])
    >>> points = [(0.1, 0.0), (0.6, 0.2), (1.2, 0.3)]
    >>> path = plot_weights_for_run(model, nn.squared_error, x, t, points, os.path.join(tmp.name, "weights.png"))
    >>> os.path.basename(path), os.path.getsize(path) > 0
    ('weights.png', True)
    >>> tmp.cleanup()
    """
    from ._plot import plot_weights_for_run as plot

    return plot(*args, **kwargs)


__all__ = ["COST_RULES", "Cost", "Trace", "TraceNode", "cost", "keep_values", "plot_descent", "plot_weights_for_run",
           "trace"]
