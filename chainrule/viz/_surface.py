"""The geometric view for the explorer: a two-parameter loss surface with the gradient-descent path, as
inline SVG (no matplotlib needed).

The surface is sampled on a grid around the traced point; colour is the loss (darker is lower, on a log
scale when it spans decades); the polyline is gradient descent w ← w − η ∇L started at the traced point,
its gradients computed by backprop; the arrow at the start is −∇L, the direction of steepest descent.

>>> f = lambda w, b: (w - 1.0) ** 2 + 2.0 * (b + 0.5) ** 2
>>> path = descent_path(f, (0.0, 0.0), lr=0.1, steps=50)
>>> [round(float(v), 3) for v in path[-1]]
[1.0, -0.5]
>>> surface_svg(f, (0.0, 0.0), ("w", "b")).startswith("<svg")
True
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable

import numpy as np

from ._format import number

_SIZE = 300.0
_PAD = 34.0
_GRID = 31
# a dark-to-light palette (dark = low loss), interpolated linearly
_PALETTE = [(37, 52, 148), (44, 127, 184), (65, 182, 196), (161, 218, 180), (255, 255, 204)]


def _colour(t: float) -> str:
    if not math.isfinite(t):
        return "#bbbbbb"
    t = min(max(t, 0.0), 1.0) * (len(_PALETTE) - 1)
    k = min(int(t), len(_PALETTE) - 2)
    a, b = _PALETTE[k], _PALETTE[k + 1]
    r, g, bl = (round(a[j] + (b[j] - a[j]) * (t - k)) for j in range(3))
    return f"#{r:02x}{g:02x}{bl:02x}"


def _value_and_gradient(f: Callable[[float, float], float], w: float, b: float) -> tuple[float, np.ndarray]:
    import chainrule

    value, (gw, gb) = chainrule.value_and_grad(f, argnums=(0, 1))(w, b)
    return float(np.asarray(value)), np.array([float(gw), float(gb)])


def _curvature_step(f: Callable[[float, float], float], point: tuple[float, float]) -> float:
    """A step size of about 1 / (largest curvature) at ``point``: big enough to move, small enough not to
    diverge near it (the Hessian by central differences of backprop gradients)."""
    h = 1e-4 * max(1.0, abs(point[0]), abs(point[1]))
    rows = []
    for axis in range(2):
        e = np.zeros(2)
        e[axis] = h
        plus = _value_and_gradient(f, point[0] + e[0], point[1] + e[1])[1]
        minus = _value_and_gradient(f, point[0] - e[0], point[1] - e[1])[1]
        rows.append((plus - minus) / (2 * h))
    hessian = np.array(rows)
    hessian = (hessian + hessian.T) / 2
    if not np.all(np.isfinite(hessian)):
        return 0.1
    largest = float(np.max(np.abs(np.linalg.eigvalsh(hessian))))
    return float(np.clip(0.9 / largest, 1e-3, 10.0)) if largest > 1e-9 else 1.0


def descent_path(f: Callable[[float, float], float], start: tuple[float, float], lr: float | None = None,
                 steps: int = 30) -> np.ndarray:
    """Gradient descent on ``f(w, b)`` from ``start``: shape (steps + 1, 2); it stops early at a
    non-finite value. ``lr`` defaults to about 1 / the largest curvature at the start."""
    if lr is None:
        lr = _curvature_step(f, start)
    point = np.array(start, dtype=np.float64)
    path = [point.copy()]
    for _ in range(steps):
        _, gradient = _value_and_gradient(f, float(point[0]), float(point[1]))
        if not np.all(np.isfinite(gradient)):
            break
        point = point - lr * gradient
        if not np.all(np.isfinite(point)):
            break
        path.append(point.copy())
    return np.array(path)


def surface_svg(f: Callable[[float, float], float], point: tuple[float, float], names: tuple[str, str],
                lr: float | None = None, steps: int = 30) -> str:
    """The surface of ``f`` around ``point`` with the descent path from it: an ``<svg>`` element and a
    ``<p>`` caption saying what is drawn."""
    descent_step = _curvature_step(f, point) if lr is None else lr
    path = descent_path(f, point, descent_step, steps)
    low, high = path.min(axis=0), path.max(axis=0)
    span = np.maximum(high - low, 0.5 + 0.5 * np.abs(np.asarray(point)))
    centre = (low + high) / 2
    lo, hi = centre - 0.75 * span, centre + 0.75 * span
    ws = np.linspace(lo[0], hi[0], _GRID)
    bs = np.linspace(lo[1], hi[1], _GRID)
    import chainrule

    with chainrule.no_grad(), np.errstate(all="ignore"):
        values = np.array([[float(np.asarray(getattr(v := f(w, b), "data", v))) for w in ws] for b in bs])
    finite = values[np.isfinite(values)]
    if finite.size:
        vmin, vmax = float(finite.min()), float(finite.max())
        log = vmin > 0 and vmax / max(vmin, 1e-300) > 100
        scale = (lambda v: (math.log(v) - math.log(vmin)) / (math.log(vmax) - math.log(vmin) or 1.0)) if log else \
            (lambda v: (v - vmin) / ((vmax - vmin) or 1.0))
    else:
        vmin = vmax = float("nan")
        scale = lambda v: float("nan")
    inner = _SIZE - 2 * _PAD
    cell = inner / _GRID

    def to_svg(w: float, b: float) -> tuple[float, float]:
        return (_PAD + (w - lo[0]) / (hi[0] - lo[0]) * inner, _PAD + (hi[1] - b) / (hi[1] - lo[1]) * inner)

    parts = [f'<svg viewBox="0 0 {_SIZE:.0f} {_SIZE:.0f}" role="img" aria-label="loss surface over '
             f'{html.escape(names[0])} and {html.escape(names[1])} with the gradient-descent path">']
    for r, _b in enumerate(bs):
        y = _PAD + (_GRID - 1 - r) * cell
        for c, _w in enumerate(ws):
            v = values[r, c]
            parts.append(f'<rect x="{_PAD + c * cell:.1f}" y="{y:.1f}" width="{cell + 0.4:.1f}" '
                         f'height="{cell + 0.4:.1f}" fill="{_colour(scale(v) if math.isfinite(v) else v)}"/>')
    points = " ".join(f"{x:.1f},{y:.1f}" for x, y in (to_svg(*p) for p in path))
    parts.append(f'<polyline id="descent" points="{points}" fill="none" stroke="#d9482b" stroke-width="2"/>')
    for x, y in (to_svg(*p) for p in path):
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="1.8" fill="#d9482b"/>')
    sx, sy = to_svg(*path[0])
    parts.append(f'<circle cx="{sx:.1f}" cy="{sy:.1f}" r="4.5" fill="#fff" stroke="#d9482b" stroke-width="2"/>')
    _, gradient = _value_and_gradient(f, float(point[0]), float(point[1]))
    if np.all(np.isfinite(gradient)) and np.linalg.norm(gradient) > 0:
        direction = -gradient / np.linalg.norm(gradient) * 0.18 * span
        ex, ey = to_svg(path[0][0] + direction[0], path[0][1] + direction[1])
        parts.append(f'<line x1="{sx:.1f}" y1="{sy:.1f}" x2="{ex:.1f}" y2="{ey:.1f}" stroke="#fff" '
                     f'stroke-width="2.5"/>')
    label = 'font-size="11" fill="#1d2330" font-family="sans-serif"'
    parts.append(f'<text x="{_SIZE / 2:.0f}" y="{_SIZE - 8:.0f}" text-anchor="middle" {label}>{html.escape(names[0])}'
                 f'  ({number(lo[0], 3)} … {number(hi[0], 3)})</text>')
    parts.append(f'<text x="12" y="{_SIZE / 2:.0f}" text-anchor="middle" transform="rotate(-90 12 {_SIZE / 2:.0f})" '
                 f'{label}>{html.escape(names[1])}  ({number(lo[1], 3)} … {number(hi[1], 3)})</text>')
    parts.append("</svg>")
    end = path[-1]
    caption = (f"loss from {number(vmin, 3)} (dark) to {number(vmax, 3)} (light); the white arrow is −∇L at "
               f"({number(point[0], 3)}, {number(point[1], 3)}), the red path {len(path) - 1} steps of gradient "
               f"descent (η = {number(descent_step, 3)}) ending at ({number(end[0], 3)}, {number(end[1], 3)})")
    return "".join(parts) + f'<p class="caption">{html.escape(caption)}</p>'
