"""The notes' geometric view of gradients: for a model with two weights, the loss surface as contours, the
gradient as arrows (drawn as −∇L, the direction of steepest descent) and the path gradient descent takes.

Needs matplotlib (the optional ``viz`` extra); it is imported only when a plot is drawn, with the Agg
backend (files, no window).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise ImportError("plotting needs matplotlib: pip install matplotlib (or pip install chainrule[viz])") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _value_and_grad(loss_fn: Callable[[Any, Any], Any], w: np.ndarray) -> tuple[float, np.ndarray]:
    import chainrule

    a = chainrule.tensor(float(w[0]), requires_grad=True)
    b = chainrule.tensor(float(w[1]), requires_grad=True)
    loss = loss_fn(a, b)
    if not isinstance(loss, chainrule.Tensor) or loss.size != 1:
        raise ValueError("plot_descent: loss_fn(w1, w2) must return a scalar computed from its arguments")
    loss.backward()
    grads = [0.0 if t.grad is None else float(t.grad) for t in (a, b)]
    return float(loss.data), np.array(grads)


def _surface(loss_fn: Callable[[Any, Any], Any], xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    grid_x, grid_y = np.meshgrid(xs, ys)
    try:  # vectorised, if loss_fn works elementwise on arrays
        values = np.asarray(getattr(loss_fn(grid_x, grid_y), "data", loss_fn(grid_x, grid_y)), dtype=float)
        if values.shape == grid_x.shape:
            return values
    except Exception:  # noqa: BLE001 - not vectorisable: evaluate point by point below
        pass
    values = np.empty_like(grid_x)
    for i in range(grid_x.shape[0]):
        for j in range(grid_x.shape[1]):
            out = loss_fn(float(grid_x[i, j]), float(grid_y[i, j]))
            values[i, j] = float(getattr(out, "data", out))
    return values


def _bounds(points: np.ndarray, bounds: Sequence[float] | None) -> tuple[float, float, float, float]:
    if bounds is not None:
        if len(bounds) != 4:
            raise ValueError("bounds must be (w1_min, w1_max, w2_min, w2_max)")
        return tuple(float(b) for b in bounds)  # type: ignore[return-value]
    low, high = points.min(axis=0), points.max(axis=0)
    span = np.maximum(high - low, 1.0)
    low, high = low - 0.35 * span, high + 0.35 * span
    return float(low[0]), float(high[0]), float(low[1]), float(high[1])


def draw_weight_space(loss_fn: Callable[[Any, Any], Any], points: np.ndarray, path: str, *,
                      bounds: Sequence[float] | None = None, names: tuple[str, str] = ("w", "b"),
                      title: str = "gradient descent in weight space", grid: int = 60, arrows: int = 13,
                      step_label: str = "step",
                      value_and_grad: Callable[[np.ndarray], tuple[float, np.ndarray]] | None = None) -> str:
    """Contours of ``loss_fn(w1, w2)``, arrows of −∇L on a coarse grid, and ``points`` (the path) on top;
    write the figure to ``path`` (.png, .svg, .pdf). ``value_and_grad(w)`` gives the gradient for the arrows
    (default: backprop through ``loss_fn`` on two scalar Tensors)."""
    plt = _pyplot()
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"cannot write {path}: the folder {folder} does not exist")
    points = np.asarray(points, dtype=float).reshape(-1, 2)
    x0, x1, y0, y1 = _bounds(points, bounds)
    xs, ys = np.linspace(x0, x1, grid), np.linspace(y0, y1, grid)
    values = _surface(loss_fn, xs, ys)
    fig, ax = plt.subplots(figsize=(6.4, 5.2))
    contour = ax.contourf(xs, ys, values, levels=30, cmap="viridis", alpha=0.85)
    ax.contour(xs, ys, values, levels=15, colors="white", linewidths=0.4, alpha=0.6)
    fig.colorbar(contour, ax=ax, label="loss")
    ax_x, ax_y = np.linspace(x0, x1, arrows), np.linspace(y0, y1, arrows)
    u = np.zeros((arrows, arrows))
    v = np.zeros((arrows, arrows))
    for i, yv in enumerate(ax_y):
        for j, xv in enumerate(ax_x):
            w = np.array([xv, yv])
            _, g = value_and_grad(w) if value_and_grad else _value_and_grad(loss_fn, w)
            u[i, j], v[i, j] = -g
    ax.quiver(ax_x, ax_y, u, v, color="#f5f5f5", alpha=0.8, angles="xy", label="−∇L (steepest descent)")
    ax.plot(points[:, 0], points[:, 1], "-o", color="#e4572e", markersize=3, linewidth=1.5,
            label=f"path ({len(points) - 1} {step_label}s)")
    ax.plot(*points[0], "s", color="white", markeredgecolor="black", label="start")
    ax.plot(*points[-1], "*", color="#ffd23f", markeredgecolor="black", markersize=12, label="end")
    ax.set(xlabel=names[0], ylabel=names[1], title=title, xlim=(x0, x1), ylim=(y0, y1))
    ax.legend(loc="upper right", fontsize=8, framealpha=0.8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_descent(loss_fn: Callable[[Any, Any], Any], start: Sequence[float], lr: float, steps: int, path: str,
                 *, bounds: Sequence[float] | None = None, names: tuple[str, str] = ("w", "b"),
                 grid: int = 60) -> np.ndarray:
    """Run ``steps`` of gradient descent w ← w − lr·∇L(w) on ``loss_fn(w1, w2)`` from ``start`` and draw
    the loss surface, the gradient field and the path to ``path``. Returns the path, shape (steps + 1, 2).

    ``loss_fn`` takes two scalars (Tensors during descent) and returns a scalar; write it with
    ``chainrule.numpy`` so that it also runs on plain arrays (the contours are then computed at once).

    >>> import chainrule.numpy as cnp
    >>> def loss(w, b):   # the notes' univariate logistic least squares, one example x=1, t=1
    ...     return 0.5 * (cnp.sigmoid(w * 1.0 + b) - 1.0) ** 2
    >>> plot_descent(loss, start=(-2.0, -2.0), lr=5.0, steps=40, path="descent.png").shape  # doctest: +SKIP
    (41, 2)
    """
    if steps < 0 or not np.isfinite(lr):
        raise ValueError("plot_descent: steps must be >= 0 and lr finite")
    w = np.asarray(start, dtype=float).reshape(2)
    points = [w.copy()]
    for _ in range(int(steps)):
        _, g = _value_and_grad(loss_fn, w)
        w = w - lr * g
        if not np.all(np.isfinite(w)):
            raise ValueError(f"plot_descent: gradient descent diverged after {len(points)} steps; lower lr")
        points.append(w.copy())
    points_array = np.array(points)
    draw_weight_space(loss_fn, points_array, path, bounds=bounds, names=names, grid=grid,
                      title=f"gradient descent, lr = {lr:g}")
    return points_array


# ---- for `chainrule train --plot-weights` --------------------------------------------------------------------
def two_weights(model: Any) -> list[Any]:
    """The model's parameters, checked to hold exactly two numbers in all (e.g. ``Linear(1, 1)``: w and b)."""
    params = list(model.parameters())
    if sum(p.size for p in params) != 2:
        sizes = ", ".join(f"{name} {tuple(p.shape)}" for name, p in model.named_parameters())
        raise ValueError(f"--plot-weights needs a model with exactly two weights (e.g. one input, no hidden "
                         f"layer, one output: w and b); this one has {sizes}")
    return params


class WeightPathRecorder:
    """A training callback (``on_epoch_end`` / ``on_train_end``) recording the two weights after each epoch.

    >>> import chainrule.nn as nn, chainrule.optim as optim
    >>> from chainrule.train import fit
    >>> model = nn.mlp([1, 1], rng=0)                 # one input, no hidden layer: w and b
    >>> recorder = WeightPathRecorder(model)          # records the start
    >>> x = np.linspace(-1, 1, 16).reshape(-1, 1)
    >>> history = fit(model, "squared-error", optim.SGD(model.parameters(), lr=0.1), (x, 2 * x + 1),
    ...               epochs=3, callbacks=[recorder], progress=False)
    >>> np.shape(recorder.points)                     # (epochs + 1, 2)
    (4, 2)
    """

    def __init__(self, model: Any) -> None:
        self.params = two_weights(model)
        self.points: list[np.ndarray] = [self.current()]

    def current(self) -> np.ndarray:
        return np.concatenate([np.ravel(p.data) for p in self.params]).astype(float)

    def on_epoch_end(self, state: Any) -> None:
        self.points.append(self.current())

    def on_train_end(self, state: Any) -> None:
        return None


def plot_weights_for_run(model: Any, loss_fn: Callable[[Any, Any], Any], x: np.ndarray, t: Any,
                         points: Sequence[Sequence[float]], path: str, *,
                         bounds: Sequence[float] | None = None) -> str:
    """The picture for ``chainrule train --plot-weights``: the mean training loss of a two-weight model
    (e.g. the notes' univariate logistic model, ``Linear(1, 1)`` then σ: w and b) over its weight plane,
    −∇L arrows, and the weights after each epoch (``points``, e.g. ``WeightPathRecorder.points``).
    ``loss_fn(outputs, targets)`` is the training loss. The model's weights are restored afterwards."""
    import chainrule

    params = two_weights(model)
    names = tuple(name for name, _ in model.named_parameters())
    saved = [p.data.copy() for p in params]
    shapes = [p.shape for p in params]
    inputs = chainrule.tensor(np.asarray(x, dtype=float))

    def set_weights(w1: float, w2: float) -> None:
        for p, value, shape in zip(params, (w1, w2), shapes, strict=True):
            p.data = np.full(shape, float(value), dtype=p.dtype)
            p.grad = None

    def loss_at(w1: float, w2: float) -> float:
        set_weights(w1, w2)
        with chainrule.no_grad():
            return float(loss_fn(model(inputs), t).data)

    def value_and_grad(w: np.ndarray) -> tuple[float, np.ndarray]:
        set_weights(*w)
        loss = loss_fn(model(inputs), t)
        loss.backward()
        return float(loss.data), np.array([0.0 if p.grad is None else float(np.sum(p.grad)) for p in params])

    try:
        return draw_weight_space(loss_at, np.asarray(points, dtype=float), path, bounds=bounds,
                                 names=(names[0], names[1]), title="training in weight space", step_label="epoch",
                                 value_and_grad=value_and_grad)
    finally:
        for p, value in zip(params, saved, strict=True):
            p.data = value
