"""Functional optimisers in optax's shape, on pytrees (nested dicts, lists and tuples of arrays).

A `GradientTransformation` is a pair of pure functions: ``init(params) -> state`` and
``update(grads, state, params=None) -> (updates, state)``. Updates are what to *add* to the parameters
(`apply_updates`), so descent transformations return −η·(direction). Transformations compose with `chain`;
a learning rate may be a number or a function of the step count (a schedule). Nothing is changed in place.

>>> import chainrule
>>> def loss(p): return ((p["w"] - 3.0) ** 2).sum()
>>> params = {"w": np.zeros(2)}
>>> opt = chain(clip_by_global_norm(10.0), adam(0.1))
>>> state = opt.init(params)
>>> for _ in range(200):
...     updates, state = opt.update(chainrule.grad(loss)(params), state, params)
...     params = apply_updates(params, updates)
>>> params["w"].round(2)
array([3., 3.])
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from .._functional import tree_flatten, tree_unflatten

Schedule = Callable[[int], float]


# ---- pytree utilities ----------------------------------------------------------------------------------
def tree_leaves(tree: Any) -> list:
    """The leaves of a pytree, in order (dicts in key order).

    >>> tree_leaves({"a": 1, "b": [2, (3,)]})
    [1, 2, 3]
    """
    return tree_flatten(tree)[0]


def tree_map(f: Callable, tree: Any, *rest: Any) -> Any:
    """``f`` applied leaf by leaf to one or more pytrees of the same structure, in that structure.

    >>> tree_map(lambda a, b: a + b, {"w": 1, "b": [2]}, {"w": 10, "b": [20]})
    {'w': 11, 'b': [22]}
    """
    leaves, spec = tree_flatten(tree)
    others = [tree_flatten(t) for t in rest]
    for i, (_, other_spec) in enumerate(others, start=1):
        if repr(other_spec) != repr(spec):
            raise ValueError(f"tree_map: tree {i} has a different structure than tree 0")
    return tree_unflatten(spec, [f(*items) for items in zip(leaves, *(o[0] for o in others), strict=True)])


def global_norm(tree: Any) -> float:
    """√(Σ over all leaves of Σ leaf²): the norm of the whole pytree as one vector.

    >>> global_norm({"a": np.array([3.0]), "b": np.array([4.0])})
    5.0
    """
    return math.sqrt(sum(float(np.sum(np.square(np.asarray(leaf), dtype=np.float64))) for leaf in tree_leaves(tree)))


def apply_updates(params: Any, updates: Any) -> Any:
    """params + updates, leaf by leaf, keeping each parameter's dtype.

    >>> apply_updates({"w": np.ones(2, np.float32)}, {"w": np.array([0.5, -0.5])})["w"]
    array([1.5, 0.5], dtype=float32)
    """
    return tree_map(lambda p, u: (np.asarray(p) + np.asarray(u)).astype(np.asarray(p).dtype, copy=False),
                    params, updates)


# ---- transformations -----------------------------------------------------------------------------------
class GradientTransformation(NamedTuple):
    """``init(params) -> state``; ``update(grads, state, params=None) -> (updates, state)``.

    >>> halve = GradientTransformation(init=lambda params: (), update=lambda grads, state, params=None: (
    ...     tree_map(lambda g: -0.5 * g, grads), state))
    >>> updates, _ = halve.update({"w": np.array([2.0, 4.0])}, halve.init(None))
    >>> updates
    {'w': array([-1., -2.])}
    >>> opt = chain(halve, scale_by_learning_rate(0.1))
    >>> opt.update({"w": np.array([2.0])}, opt.init(None))[0]
    {'w': array([0.1])}
    """

    init: Callable[[Any], Any]
    update: Callable[..., tuple[Any, Any]]


def _lr_at(lr: float | Schedule, count: int) -> float:
    return float(lr(count) if callable(lr) else lr)


def _zeros(params: Any) -> Any:
    return tree_map(lambda p: np.zeros_like(np.asarray(p)), params)


def scale_by_learning_rate(lr: float | Schedule) -> GradientTransformation:
    """updates = −lr(step) · grads (lr a number or a schedule of the step count 0, 1, ...).

    >>> opt = scale_by_learning_rate(lambda step: 1.0 / (step + 1))
    >>> state = opt.init(None)
    >>> for _ in range(3):
    ...     updates, state = opt.update({"w": np.array([1.0])}, state)
    ...     print(updates["w"], state)
    [-1.] {'count': 1}
    [-0.5] {'count': 2}
    [-0.33333333] {'count': 3}
    """
    def init(params: Any) -> dict[str, int]:
        return {"count": 0}

    def update(grads: Any, state: dict[str, int], params: Any = None) -> tuple[Any, dict[str, int]]:
        rate = _lr_at(lr, state["count"])
        return tree_map(lambda g: -rate * np.asarray(g), grads), {"count": state["count"] + 1}

    return GradientTransformation(init, update)


def clip_by_global_norm(max_norm: float) -> GradientTransformation:
    """Scale the gradients by min(1, max_norm / ‖g‖), ‖g‖ the `global_norm` of the whole pytree.

    >>> clip_by_global_norm(1.0).update({"a": np.array([3.0, 4.0])}, ())[0]["a"]
    array([0.6, 0.8])
    """
    if not max_norm > 0:
        raise ValueError(f"clip_by_global_norm: max_norm must be positive; got {max_norm}")

    def update(grads: Any, state: tuple, params: Any = None) -> tuple[Any, tuple]:
        norm = global_norm(grads)
        scale = 1.0 if norm <= max_norm else max_norm / norm
        return tree_map(lambda g: np.asarray(g) * scale, grads), state

    return GradientTransformation(lambda params: (), update)


def clip(value: float) -> GradientTransformation:
    """Clip every gradient element to [−value, value].

    >>> clip(0.5).update({"a": np.array([-2.0, 0.25, 3.0])}, ())[0]
    {'a': array([-0.5 ,  0.25,  0.5 ])}
    >>> clip(0.0)
    Traceback (most recent call last):
        ...
    ValueError: clip: value must be positive; got 0.0
    """
    if not value > 0:
        raise ValueError(f"clip: value must be positive; got {value}")
    return GradientTransformation(lambda params: (),
                                  lambda grads, state, params=None: (tree_map(lambda g: np.clip(g, -value, value),
                                                                              grads), state))


def chain(*transformations: GradientTransformation) -> GradientTransformation:
    """Apply transformations in order, each to the updates of the one before; the state is the tuple of
    their states.

    >>> opt = chain(clip(1.0), sgd(0.1))
    >>> state = opt.init({"w": np.zeros(2)})
    >>> updates, state = opt.update({"w": np.array([5.0, -0.5])}, state)
    >>> updates["w"], len(state)
    (array([-0.1 ,  0.05]), 2)
    """
    def init(params: Any) -> tuple:
        return tuple(t.init(params) for t in transformations)

    def update(grads: Any, state: tuple, params: Any = None) -> tuple[Any, tuple]:
        new_states = []
        for t, s in zip(transformations, state, strict=True):
            grads, s = t.update(grads, s, params)
            new_states.append(s)
        return grads, tuple(new_states)

    return GradientTransformation(init, update)


def sgd(lr: float | Schedule, momentum: float = 0.0, nesterov: bool = False) -> GradientTransformation:
    """SGD as `chainrule.optim.SGD`: v ← μv + g (v = g at the first step), step along v (or g + μv).

    >>> opt = sgd(0.1)
    >>> opt.update({"w": np.array([1.0])}, opt.init({"w": np.zeros(1)}))[0]
    {'w': array([-0.1])}
    """
    if not 0.0 <= momentum < 1.0:
        raise ValueError(f"sgd: momentum must be in [0, 1); got {momentum}")

    def init(params: Any) -> dict[str, Any]:
        return {"count": 0, "velocity": _zeros(params)}

    def update(grads: Any, state: dict[str, Any], params: Any = None) -> tuple[Any, dict[str, Any]]:
        rate, first = _lr_at(lr, state["count"]), state["count"] == 0
        if not momentum:
            return tree_map(lambda g: -rate * np.asarray(g), grads), {**state, "count": state["count"] + 1}
        velocity = tree_map(lambda v, g: np.asarray(g) if first else momentum * v + np.asarray(g),
                            state["velocity"], grads)
        direction = tree_map(lambda v, g: np.asarray(g) + momentum * v, velocity, grads) if nesterov else velocity
        return tree_map(lambda d: -rate * d, direction), {"count": state["count"] + 1, "velocity": velocity}

    return GradientTransformation(init, update)


def adam(lr: float | Schedule, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8,
         weight_decay: float = 0.0) -> GradientTransformation:
    """Adam as `chainrule.optim.Adam` (with ``weight_decay`` > 0: AdamW's decoupled decay, which needs
    ``params`` in ``update``).

    >>> opt = adam(0.1)
    >>> params = {"w": np.array([1.0, -2.0])}
    >>> state = opt.init(params)
    >>> updates, state = opt.update({"w": np.array([0.5, -4.0])}, state, params)
    >>> updates["w"], state["count"]
    (array([-0.1,  0.1]), 1)
    >>> apply_updates(params, updates)["w"]
    array([ 0.9, -1.9])
    """
    if not (0.0 <= b1 < 1.0 and 0.0 <= b2 < 1.0):
        raise ValueError(f"adam: b1 and b2 must lie in [0, 1); got {b1}, {b2}")

    def init(params: Any) -> dict[str, Any]:
        return {"count": 0, "m": _zeros(params), "v": _zeros(params)}

    def update(grads: Any, state: dict[str, Any], params: Any = None) -> tuple[Any, dict[str, Any]]:
        if weight_decay and params is None:
            raise ValueError("adam: weight_decay needs the params in update(grads, state, params)")
        t = state["count"] + 1
        rate = _lr_at(lr, state["count"])
        m = tree_map(lambda m_, g: b1 * m_ + (1 - b1) * np.asarray(g), state["m"], grads)
        v = tree_map(lambda v_, g: b2 * v_ + (1 - b2) * np.square(np.asarray(g)), state["v"], grads)
        step = tree_map(lambda m_, v_: -rate * (m_ / (1 - b1 ** t)) / (np.sqrt(v_ / (1 - b2 ** t)) + eps), m, v)
        if weight_decay:
            step = tree_map(lambda s, p: s - rate * weight_decay * np.asarray(p), step, params)
        return step, {"count": t, "m": m, "v": v}

    return GradientTransformation(init, update)


def rmsprop(lr: float | Schedule, alpha: float = 0.99, eps: float = 1e-8) -> GradientTransformation:
    """RMSprop as `chainrule.optim.RMSprop` (no momentum): s ← αs + (1−α)g², step −η g/(√s + ε).

    >>> opt = rmsprop(0.01, alpha=0.9)
    >>> updates, state = opt.update({"w": np.array([2.0])}, opt.init({"w": np.zeros(1)}))
    >>> updates["w"].round(6), state["square_avg"]["w"].round(6)
    (array([-0.031623]), array([0.4]))
    """
    def init(params: Any) -> dict[str, Any]:
        return {"count": 0, "square_avg": _zeros(params)}

    def update(grads: Any, state: dict[str, Any], params: Any = None) -> tuple[Any, dict[str, Any]]:
        rate = _lr_at(lr, state["count"])
        square = tree_map(lambda s, g: alpha * s + (1 - alpha) * np.square(np.asarray(g)), state["square_avg"], grads)
        step = tree_map(lambda g, s: -rate * np.asarray(g) / (np.sqrt(s) + eps), grads, square)
        return step, {"count": state["count"] + 1, "square_avg": square}

    return GradientTransformation(init, update)


def adagrad(lr: float | Schedule, eps: float = 1e-10, initial_accumulator: float = 0.0) -> GradientTransformation:
    """Adagrad as `chainrule.optim.Adagrad`: s ← s + g², step −η g/(√s + ε).

    >>> opt = adagrad(0.5)
    >>> state = opt.init({"w": np.zeros(1)})
    >>> for _ in range(3):
    ...     updates, state = opt.update({"w": np.array([2.0])}, state)
    ...     print(updates["w"].round(4))
    [-0.5]
    [-0.3536]
    [-0.2887]
    """
    def init(params: Any) -> dict[str, Any]:
        return {"count": 0, "sum": tree_map(lambda p: np.full_like(np.asarray(p), initial_accumulator), params)}

    def update(grads: Any, state: dict[str, Any], params: Any = None) -> tuple[Any, dict[str, Any]]:
        rate = _lr_at(lr, state["count"])
        total = tree_map(lambda s, g: s + np.square(np.asarray(g)), state["sum"], grads)
        step = tree_map(lambda g, s: -rate * np.asarray(g) / (np.sqrt(s) + eps), grads, total)
        return step, {"count": state["count"] + 1, "sum": total}

    return GradientTransformation(init, update)


__all__ = ["GradientTransformation", "adagrad", "adam", "apply_updates", "chain", "clip", "clip_by_global_norm",
           "global_norm", "rmsprop", "scale_by_learning_rate", "sgd", "tree_leaves", "tree_map"]
