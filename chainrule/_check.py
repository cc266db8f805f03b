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
    disagrees with finite differences (None if every rule checks out on its own).

    >>> bad = chainrule.primitive(lambda x: x ** 2, name="bad_square")
    >>> _ = chainrule.defvjp(bad, lambda g, ans, x: g * x)      # wrong: the derivative is 2x
    >>> try:
    ...     chainrule.gradcheck(lambda x: chainrule.numpy.sin(bad(x)), np.array([1.0, 2.0]))
    ... except chainrule.GradcheckError as error:
    ...     print(error.fault)
    first faulty rule: `bad_square` (recorded at ...): its VJP for argument 0 gives ..., finite differences give ...
    """

    def __init__(self, message: str, fault: str | None = None):
        super().__init__(message)
        self.fault = fault


def _default_eps(dtype) -> float:
    return 1e-6 if np.dtype(dtype) in (np.float64, np.complex128) else 1e-3


def _as_float_leaves(args):
    flat, spec = tree_flatten(args)
    leaves = []
    for leaf in flat:
        value = leaf.data if isinstance(leaf, Tensor) else leaf
        array = np.array(value, dtype=float) if np.asarray(value).dtype.kind in "biu" else np.array(value)
        leaves.append(array)
    return leaves, spec


def _inner(a, b) -> float:
    """The pairing of an output with a direction: Re Σ a·b (no conjugate; see docs/conventions.md)."""
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype.kind == "c" or b.dtype.kind == "c":
        return float(np.sum(a.astype(np.complex128) * b.astype(np.complex128)).real)
    return float(np.sum(a.astype(np.float64) * b.astype(np.float64)))


def _direction(rng, shape, dtype):
    """A random direction for an output: complex (both parts random) for a complex output."""
    if np.dtype(dtype).kind == "c":
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype)
    return rng.standard_normal(shape).astype(dtype if np.dtype(dtype).kind == "f" else float)


def _numeric_gradient(projected: Callable[[], float], x: np.ndarray, step: float) -> np.ndarray:
    """Central differences of ``projected()`` with respect to each element of ``x``, perturbed in place.

    For a complex ``x`` both directions are taken, x + ε and x + iε, and combined in the convention of the
    analytic gradient: ∂/∂Re − i·∂/∂Im."""
    directions = (1, 1j) if x.dtype.kind == "c" else (1,)
    numeric = np.zeros(x.shape, dtype=np.complex128 if x.dtype.kind == "c" else np.float64)
    flat, out = x.reshape(-1), numeric.reshape(-1)
    for j in range(flat.size):
        saved = flat[j]
        for unit in directions:
            flat[j] = saved + unit * step
            plus = projected()
            flat[j] = saved - unit * step
            minus = projected()
            flat[j] = saved
            out[j] += (plus - minus) / (2 * step) * (1 if unit == 1 else -1j)
    return numeric


def _worst_mismatch(analytic: np.ndarray, numeric: np.ndarray, rtol: float, atol: float):
    """``None`` if they agree; else (index, part, analytic, numeric) of the worst element, ``part`` naming
    the direction that disagrees for a complex argument ("real"/"imaginary", the imaginary-direction
    derivatives being −Im of the gradients)."""
    parts = [("", analytic.real, numeric.real)] if analytic.dtype.kind != "c" and numeric.dtype.kind != "c" else [
        ("real", analytic.real, numeric.real), ("imaginary", -analytic.imag, -numeric.imag)]
    worst = None
    for part, a, n in parts:
        excess = np.abs(a - n) - (atol + rtol * np.abs(n))
        if not excess.size or (excess.max() <= 0 and np.isfinite(a).all()):
            continue
        excess = np.where(np.isfinite(excess), excess, np.inf)
        index = tuple(int(i) for i in np.unravel_index(int(np.nanargmax(excess)), a.shape))
        if worst is None or excess[index] > worst[0]:
            worst = (excess[index], index, part, a[index], n[index])
    return None if worst is None else worst[1:]


def gradcheck(fun: Callable, *args: Any, order: int = 1, eps: float | None = None, rtol: float = 1e-5,
              atol: float = 1e-6, seed: int = 0, localize: bool = True) -> bool:
    """Check reverse-mode derivatives of ``fun`` at ``args`` against central finite differences.

    The output is projected on a random direction r, and ∂⟨r, fun⟩/∂arg is compared element by element;
    with ``order=2`` the derivative of that gradient is checked as well. On a mismatch it raises
    :class:`GradcheckError` naming the argument, the worst element, and both values — and, for a
    composite function, the first primitive whose own VJP disagrees with finite differences.
    Use float64 (or complex128) inputs. A complex argument is perturbed in both directions, z + ε and
    z + iε, and a complex output is projected with Re⟨r, fun⟩; the gradient is expected in the convention
    of ``docs/conventions.md`` (∂/∂Re − i·∂/∂Im), and a mismatch names the direction that disagrees.

    >>> chainrule.gradcheck(lambda x: chainrule.numpy.tanh(x) * x, np.random.randn(3))
    True
    >>> chainrule.gradcheck(lambda z: chainrule.numpy.abs(chainrule.numpy.exp(z)), np.array([1 + 2j]))
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
            cache["r"] = [_direction(rng, np.shape(o.data if isinstance(o, Tensor) else o),
                                     np.result_type(o.data if isinstance(o, Tensor) else o)) for o in out_flat]
        grads, _ = tree_flatten(pullback(tree_unflatten(tree_flatten(out)[1], cache["r"])))
        from ._composite import concatenate, reshape

        return concatenate([reshape(g, (-1,)) for g in grads], axis=0)

    return gradient


def _check_first_order(fun, leaves, spec, eps, rtol, atol, rng, what="derivative"):
    out, pullback = vjp(fun, *tree_unflatten(spec, leaves))
    out_flat, out_spec = tree_flatten(out)
    out_arrays = [np.asarray(o.data if isinstance(o, Tensor) else o) for o in out_flat]
    directions = [_direction(rng, o.shape, o.dtype) for o in out_arrays]
    analytic, _ = tree_flatten(pullback(tree_unflatten(out_spec, directions)))

    def projected(trial_leaves) -> float:
        result, _ = tree_flatten(fun(*tree_unflatten(spec, trial_leaves)))
        return sum(_inner(getattr(r, "data", r), d) for r, d in zip(result, directions, strict=True))

    for index, (leaf, grad) in enumerate(zip(leaves, analytic, strict=True)):
        if leaf.dtype.kind not in "fc":
            continue
        step = eps or _default_eps(leaf.dtype)
        trial = [x.copy() for x in leaves]  # the originals are saved by the live graph of `pullback`
        numeric = _numeric_gradient(lambda trial=trial: projected(trial), trial[index], step)
        grad = np.asarray(grad, dtype=np.complex128 if leaf.dtype.kind == "c" else np.float64)
        if grad.shape != leaf.shape:
            raise GradcheckError(f"gradcheck: the {what} for argument {index} has shape {grad.shape}, "
                                 f"the argument {leaf.shape}")
        mismatch = _worst_mismatch(grad, numeric, rtol, atol)
        if mismatch is not None:
            worst, part, a, n = mismatch
            direction = f" in the {part} direction" if part else ""
            raise GradcheckError(
                f"gradcheck: {what} mismatch for argument {index} (shape {leaf.shape}, {leaf.dtype}) at index "
                f"{worst}{direction}: analytic {a:.10g}, numeric {n:.10g} (rtol={rtol}, atol={atol}, eps={step})")


def _as_differentiable(value) -> np.ndarray:
    array = np.array(value)
    return array.astype(np.complex128 if array.dtype.kind == "c" else np.float64)


def localize_fault(fun: Callable, *args: Any, eps: float | None = None, rtol: float = 1e-5, atol: float = 1e-6,
                   seed: int = 0) -> str | None:
    """Record ``fun(*args)`` and check each recorded operation's VJP rule on its own against finite
    differences, in topological order. Returns a description of the first faulty rule, or None.

    >>> bad = chainrule.primitive(lambda x: x ** 2, name="bad_square")
    >>> _ = chainrule.defvjp(bad, lambda g, ans, x: g * x)      # wrong: the derivative is 2x
    >>> print(chainrule.localize_fault(lambda x: chainrule.numpy.sin(bad(x)), np.array([1.0, 2.0])))
    first faulty rule: `bad_square` (recorded at ...): its VJP for argument 0 gives ..., finite differences give ...
    >>> chainrule.localize_fault(lambda x: chainrule.numpy.sin(x * x), np.array([1.0, 2.0])) is None
    True
    """
    flat, spec = tree_flatten(args)
    inputs = [Tensor(_as_differentiable(getattr(v, "data", v)), requires_grad=True) for v in flat]
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
    args = [a.astype(np.complex128 if a.dtype.kind == "c" else np.float64, order="C")  # (perturbed in place)
            if isinstance(a, np.ndarray) and a.dtype.kind in "fc" else a for a in node.args]
    kwargs = node.kwargs
    with _Switch("grad_enabled", False):
        ans = primitive.forward(*args, **kwargs)
        outs = ans if isinstance(ans, tuple) else (ans,)
        directions = tuple(_direction(rng, np.shape(o), np.result_type(o)) for o in outs)
        g = directions if isinstance(ans, tuple) else directions[0]

        def projected() -> float:
            out = primitive.forward(*args, **kwargs)
            return sum(_inner(o, d) for o, d in zip(out if isinstance(out, tuple) else (out,), directions,
                                                    strict=True))

        for position in node.positions:
            x = args[position]
            if not isinstance(x, np.ndarray):
                continue
            analytic = np.asarray(primitive.vjp(position)(g, ans, *args, **kwargs))
            if analytic.shape != x.shape:
                return f"rule for argument {position} returned shape {analytic.shape}, input has {x.shape}"
            if x.dtype.kind != "c":
                analytic = analytic.real  # a real input keeps the real part of its error signal
            numeric = _numeric_gradient(projected, x, eps or 1e-6)
            mismatch = _worst_mismatch(analytic.astype(numeric.dtype), numeric, rtol * 10, atol * 10)
            if mismatch is not None:
                worst, part, a, n = mismatch
                direction = f" in the {part} direction" if part else ""
                return (f"its VJP for argument {position} gives {a:.10g} at index {worst}{direction}, "
                        f"finite differences give {n:.10g}")
    return None
