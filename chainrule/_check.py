"""Gradient checking against central finite differences, with fault localisation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ._functional import tree_flatten, tree_unflatten, vjp
from ._graph import Node, _Switch, toposort
from ._tensor import Tensor


class GradcheckError(AssertionError):
    """Reverse mode and finite differences disagree. ``.fault`` names the first primitive whose own rule
    disagrees with finite differences (None if every rule checks out on its own)."""

    def __init__(self, message: str, fault: str | None = None):
        super().__init__(message)
        self.fault = fault


def _default_eps(dtype) -> float:
    return 1e-6 if np.dtype(dtype) == np.float64 else 1e-3


def _as_float_leaves(args):
    flat, spec = tree_flatten(args)
    leaves = []
    for leaf in flat:
        value = leaf.data if isinstance(leaf, Tensor) else leaf
        array = np.array(value, dtype=float) if np.asarray(value).dtype.kind in "biu" else np.array(value)
        leaves.append(array)
    return leaves, spec


def _inner(a, b) -> float:
    return float(np.sum(np.asarray(a, dtype=np.float64) * np.asarray(b, dtype=np.float64)))


def gradcheck(fun: Callable, *args: Any, order: int = 1, eps: float | None = None, rtol: float = 1e-5,
              atol: float = 1e-6, seed: int = 0, localize: bool = True) -> bool:
    """Check reverse-mode derivatives of ``fun`` at ``args`` against central finite differences.

    The output is projected on a random direction r, and ∂⟨r, fun⟩/∂arg is compared element by element;
    with ``order=2`` the derivative of that gradient is checked as well. On a mismatch it raises
    :class:`GradcheckError` naming the argument, the worst element, and both values — and, for a
    composite function, the first primitive whose own VJP disagrees with finite differences.
    Use float64 inputs.

    >>> chainrule.gradcheck(lambda x: chainrule.numpy.tanh(x) * x, np.random.randn(3))
    True
    """
    if order not in (1, 2):
        raise ValueError(f"chainrule.gradcheck: order must be 1 or 2; got {order}")
    leaves, spec = _as_float_leaves(args)
    rng = np.random.default_rng(seed)
    try:
        _check_first_order(fun, leaves, spec, eps, rtol, atol, rng)
        if order == 2:
            _check_first_order(_gradient_function(fun, spec, rng, len(leaves)), leaves, spec, eps, rtol, atol, rng,
                               what="second derivative")
    except GradcheckError as error:
        if localize:
            fault = localize_fault(fun, *tree_unflatten(spec, leaves), eps=eps, rtol=rtol, atol=atol, seed=seed)
            if fault is not None:
                raise GradcheckError(f"{error}\n{fault}", fault) from None
        raise
    return True


def _gradient_function(fun, spec, rng, n_leaves):
    """x ↦ the concatenated gradient of ⟨r, fun(x)⟩, a function whose own derivative is then checked."""
    cache: dict[str, Any] = {}

    def gradient(*args):
        out, pullback = vjp(fun, *args)
        out_flat, _ = tree_flatten(out)
        if "r" not in cache:
            cache["r"] = [rng.standard_normal(np.shape(o.data if isinstance(o, Tensor) else o)) for o in out_flat]
        grads, _ = tree_flatten(pullback(tree_unflatten(tree_flatten(out)[1], cache["r"])))
        from ._composite import concatenate, reshape

        return concatenate([reshape(g, (-1,)) for g in grads], axis=0)

    return gradient


def _check_first_order(fun, leaves, spec, eps, rtol, atol, rng, what="derivative"):
    out, pullback = vjp(fun, *tree_unflatten(spec, leaves))
    out_flat, out_spec = tree_flatten(out)
    out_arrays = [np.asarray(o.data if isinstance(o, Tensor) else o) for o in out_flat]
    directions = [rng.standard_normal(o.shape).astype(o.dtype if o.dtype.kind == "f" else float) for o in out_arrays]
    analytic, _ = tree_flatten(pullback(tree_unflatten(out_spec, directions)))

    def projected(trial_leaves) -> float:
        result, _ = tree_flatten(fun(*tree_unflatten(spec, trial_leaves)))
        return sum(_inner(getattr(r, "data", r), d) for r, d in zip(result, directions, strict=True))

    for index, (leaf, grad) in enumerate(zip(leaves, analytic, strict=True)):
        if leaf.dtype.kind not in "fc":
            continue
        step = eps or _default_eps(leaf.dtype)
        numeric = np.zeros(leaf.shape)
        trial = [x.copy() for x in leaves]  # the originals are saved by the live graph of `pullback`
        flat = trial[index].reshape(-1)
        for j in range(flat.size):
            saved = flat[j]
            flat[j] = saved + step
            plus = projected(trial)
            flat[j] = saved - step
            minus = projected(trial)
            flat[j] = saved
            numeric.reshape(-1)[j] = (plus - minus) / (2 * step)
        grad = np.asarray(grad, dtype=np.float64)
        if grad.shape != leaf.shape:
            raise GradcheckError(f"gradcheck: the {what} for argument {index} has shape {grad.shape}, "
                                 f"the argument {leaf.shape}")
        excess = np.abs(grad - numeric) - (atol + rtol * np.abs(numeric))
        if excess.size and (excess.max() > 0 or not np.isfinite(grad).all()):
            worst = tuple(int(i) for i in np.unravel_index(
                int(np.nanargmax(np.where(np.isfinite(excess), excess, np.inf))), leaf.shape))
            raise GradcheckError(
                f"gradcheck: {what} mismatch for argument {index} (shape {leaf.shape}) at index {worst}: "
                f"analytic {grad[worst]:.10g}, numeric {numeric[worst]:.10g} "
                f"(rtol={rtol}, atol={atol}, eps={step})")


def localize_fault(fun: Callable, *args: Any, eps: float | None = None, rtol: float = 1e-5, atol: float = 1e-6,
                   seed: int = 0) -> str | None:
    """Record ``fun(*args)`` and check each recorded operation's VJP rule on its own against finite
    differences, in topological order. Returns a description of the first faulty rule, or None."""
    flat, spec = tree_flatten(args)
    inputs = [Tensor(np.array(getattr(v, "data", v), dtype=float), requires_grad=True) for v in flat]
    with _Switch("grad_enabled", True), _Switch("debug", 1):  # debug level 1 records each node's source line
        out = fun(*tree_unflatten(spec, inputs))
    out_flat, _ = tree_flatten(out)
    roots = [o._node for o in out_flat if isinstance(o, Tensor) and o._node is not None]
    rng = np.random.default_rng(seed)
    for vertex in toposort(roots):
        if not isinstance(vertex, Node) or vertex.primitive.name == "select":
            continue
        problem = _check_node(vertex, rng, eps, rtol, atol)
        if problem:
            where = f" (recorded at {vertex.site})" if vertex.site else ""
            return f"first faulty rule: `{vertex.primitive.name}`{where}: {problem}"
    return None


def _check_node(node: Node, rng, eps, rtol, atol) -> str | None:
    primitive = node.primitive
    args = [np.array(a, dtype=np.float64) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a
            for a in node.args]
    kwargs = node.kwargs
    with _Switch("grad_enabled", False):
        ans = primitive.forward(*args, **kwargs)
        outs = ans if isinstance(ans, tuple) else (ans,)
        directions = tuple(rng.standard_normal(np.shape(o)) for o in outs)
        g = directions if isinstance(ans, tuple) else directions[0]
        for position in node.positions:
            x = args[position]
            if not isinstance(x, np.ndarray):
                continue
            analytic = np.asarray(primitive.vjp(position)(g, ans, *args, **kwargs), dtype=np.float64)
            step = eps or 1e-6
            numeric = np.zeros(x.shape)
            flat = x.reshape(-1)
            for j in range(flat.size):
                saved = flat[j]
                flat[j] = saved + step
                plus = primitive.forward(*args, **kwargs)
                flat[j] = saved - step
                minus = primitive.forward(*args, **kwargs)
                flat[j] = saved
                plus = plus if isinstance(plus, tuple) else (plus,)
                minus = minus if isinstance(minus, tuple) else (minus,)
                numeric.reshape(-1)[j] = sum(_inner(p - m, d) for p, m, d in zip(plus, minus, directions,
                                                                                 strict=True)) / (2 * step)
            if analytic.shape != x.shape:
                return f"rule for argument {position} returned shape {analytic.shape}, input has {x.shape}"
            excess = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric)) * 10
            if excess.size and excess.max() > 0:
                worst = tuple(int(i) for i in np.unravel_index(int(np.argmax(excess)), x.shape))
                return (f"its VJP for argument {position} gives {analytic[worst]:.10g} at index {worst}, "
                        f"finite differences give {numeric[worst]:.10g}")
    return None
