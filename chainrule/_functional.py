"""The functional API (JAX / HIPS autograd style): transformations of functions of arrays and pytrees.

Everything is built on one function, :func:`vjp`; forward mode (:func:`jvp`) is the VJP of the VJP,
which costs O(1) evaluations of ``fun``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import _rules as P
from ._graph import backward_pass, enable_grad, mode
from ._tensor import Tensor

# ---- pytrees: nested tuples, lists and dicts of arrays ----------------------------------------------


def tree_flatten(tree: Any) -> tuple[list, Any]:
    """Leaves of a nested tuple/list/dict (dicts in key order), and a description to rebuild it."""
    leaves: list = []
    stack = [(tree, None, None)]
    root: list = [None]  # an explicit stack, so that deep containers need no recursion
    while stack:
        node, parent, slot = stack.pop()
        if isinstance(node, tuple | list):
            spec = [type(node), [None] * len(node)]
            stack.extend((child, spec[1], i) for i, child in reversed(list(enumerate(node))))
        elif isinstance(node, dict):
            keys = list(node)
            spec = [dict, [None] * len(keys), keys]
            stack.extend((node[k], spec[1], i) for i, k in reversed(list(enumerate(keys))))
        else:
            spec = len(leaves)
            leaves.append(node)
        if parent is None:
            root[0] = spec
        else:
            parent[slot] = spec
    return leaves, root[0]


def tree_unflatten(spec: Any, leaves: Sequence) -> Any:
    """Inverse of :func:`tree_flatten`."""
    if isinstance(spec, int):
        return leaves[spec]
    # post-order over the spec with an explicit stack
    result: dict[int, Any] = {}
    stack = [(spec, False)]
    while stack:
        node, done = stack.pop()
        if not done:
            stack.append((node, True))
            stack.extend((child, False) for child in node[1] if not isinstance(child, int))
            continue
        children = [leaves[c] if isinstance(c, int) else result[id(c)] for c in node[1]]
        if node[0] is dict:
            result[id(node)] = dict(zip(node[2], children, strict=True))
        elif hasattr(node[0], "_fields"):  # a namedtuple takes its fields one by one
            result[id(node)] = node[0](*children)
        else:
            result[id(node)] = node[0](children)
    return result[id(spec)]


# ---- inputs and outputs ---------------------------------------------------------------------------------


def _nested() -> bool:
    return mode.grad_enabled


def _as_input(value: Any, where: str) -> Tensor:
    """A fresh graph vertex for a primal value (linked to an outer graph if it is part of one)."""
    if isinstance(value, Tensor):
        if value.requires_grad and mode.grad_enabled:
            return P.copy(value)  # nested differentiation: a new vertex that depends on the outer one
        value = value.data
    array = np.asarray(value)
    if array.dtype.kind not in "fc":
        if array.dtype.kind in "biu":
            array = array.astype(np.float64)
        else:
            raise TypeError(f"chainrule.{where}: cannot differentiate with respect to a value of dtype "
                            f"{array.dtype} ({type(value).__name__})")
    return Tensor(array, requires_grad=True)


def _outer_graph(values) -> bool:
    return mode.grad_enabled and any(isinstance(v, Tensor) and v.requires_grad for v in values)


def _to_output(value: Any, keep_graph: bool):
    if isinstance(value, Tensor):
        return value if keep_graph else value.data
    return value


def _seed_like(output: Tensor, cotangent: Any, where: str):
    if isinstance(cotangent, Tensor):
        if cotangent.shape != output.shape:
            raise ValueError(f"chainrule.{where}: cotangent shape {cotangent.shape} != output shape "
                             f"{output.shape}")
        return cotangent
    array = np.asarray(cotangent, dtype=output.dtype)
    if array.shape != output.shape:
        raise ValueError(f"chainrule.{where}: cotangent shape {array.shape} != output shape {output.shape}")
    return array


def vjp(fun: Callable, *primals: Any) -> tuple[Any, Callable]:
    """Evaluate ``fun(*primals)`` and return ``(output, vjp_fn)``: ``vjp_fn(ȳ)`` gives ȳ · ∂output/∂primals,
    one error signal per primal, in the primals' structure (pytrees of arrays).

    >>> y, pullback = chainrule.vjp(np.sin, np.array([0.0, 1.0]))
    >>> pullback(np.ones(2))
    (array([1.        , 0.54030231]),)
    """
    flat, spec = tree_flatten(primals)
    outer = _outer_graph(flat)
    inputs = [_as_input(v, "vjp") for v in flat]
    with enable_grad():
        out = fun(*tree_unflatten(spec, inputs))
    out_flat, out_spec = tree_flatten(out)
    out_tensors = [o if isinstance(o, Tensor) else Tensor(np.asarray(o)) for o in out_flat]

    def vjp_fn(cotangent: Any) -> tuple:
        cot_flat, _ = tree_flatten(cotangent)
        if len(cot_flat) != len(out_tensors):
            raise ValueError(f"chainrule.vjp: the cotangent has {len(cot_flat)} leaves, the output "
                             f"{len(out_tensors)}")
        seeds = [_seed_like(o, c, "vjp") for o, c in zip(out_tensors, cot_flat, strict=True)]
        live = [(o, s) for o, s in zip(out_tensors, seeds, strict=True) if o.requires_grad]
        grads = backward_pass([o for o, _ in live], [s for _, s in live], inputs=inputs,
                              retain_graph=True, create_graph=outer or _nested_cotangent(seeds)) if live \
            else [None] * len(inputs)
        results = []
        for x, g in zip(inputs, grads, strict=True):
            if g is None:
                g = np.zeros_like(x.data)
            if outer and isinstance(g, Tensor):
                results.append(g)
            else:
                results.append(np.asarray(_to_output(g, False), dtype=x.dtype))
        return tree_unflatten(spec, results)

    return tree_unflatten(out_spec, [_to_output(o, outer) for o in out_tensors]), vjp_fn


def _nested_cotangent(seeds) -> bool:
    return any(isinstance(s, Tensor) and s.requires_grad for s in seeds)


def _select(args: tuple, argnums: int | Sequence[int], where: str) -> tuple[tuple[int, ...], bool]:
    single = isinstance(argnums, int)
    nums = (argnums,) if single else tuple(argnums)
    for n in nums:
        if not -len(args) <= n < len(args):
            raise ValueError(f"chainrule.{where}: argnums {n} is out of range for {len(args)} arguments")
    return tuple(n % len(args) for n in nums), single


def _of_chosen(fun: Callable, args: tuple, kwargs: dict, nums: tuple[int, ...]) -> Callable:
    """``fun`` as a function of the arguments at ``nums`` alone, the others fixed to ``args``."""

    def partial(*chosen):
        full = list(args)
        for n, value in zip(nums, chosen, strict=True):
            full[n] = value
        return fun(*full, **kwargs)

    return partial


def value_and_grad(fun: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False) -> Callable:
    """Like :func:`grad`, but the new function returns ``(value, gradient)``.

    >>> chainrule.value_and_grad(lambda x: (x ** 2).sum())(np.array([1.0, 2.0]))
    (5.0, array([2., 4.]))
    """

    def wrapper(*args, **kwargs):
        nums, single = _select(args, argnums, "grad")
        partial = _of_chosen(fun, args, kwargs, nums)

        holder: list = []

        def scalar_fun(*chosen):
            result = partial(*chosen)
            if has_aux:
                if not (isinstance(result, tuple) and len(result) == 2):
                    raise TypeError("chainrule.grad: with has_aux=True the function must return (value, aux)")
                result, aux = result
                holder.append(aux)
            shape = np.shape(result.data if isinstance(result, Tensor) else result)
            if int(np.prod(shape)) != 1:
                raise TypeError(f"chainrule.grad: the function must return a scalar; got shape {shape} "
                                f"(use chainrule.jacobian or chainrule.vjp for non-scalar outputs)")
            return result

        value, pullback = vjp(scalar_fun, *(args[n] for n in nums))
        seed = value if isinstance(value, Tensor) else np.ones_like(np.asarray(value, dtype=float))
        if isinstance(seed, Tensor):
            seed = np.ones_like(seed.data)
        grads = pullback(seed)
        value = value if isinstance(value, Tensor) else (np.asarray(value).reshape(()).item()
                                                          if np.ndim(value) == 0 else value)
        grads = grads[0] if single else grads
        return ((value, holder[0]), grads) if has_aux else (value, grads)

    wrapper.__name__ = f"value_and_grad_{getattr(fun, '__name__', 'fun')}"
    wrapper.__doc__ = f"Value and gradient of {getattr(fun, '__name__', 'fun')}."
    return wrapper


def grad(fun: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False) -> Callable:
    """The gradient of scalar-valued ``fun`` with respect to argument(s) ``argnums``.

    Arguments may be arrays, Python floats, Tensors or pytrees (tuple/list/dict) of them; the gradient
    has the same structure, as ndarrays. Compose for higher orders: ``grad(grad(f))``.

    >>> chainrule.grad(lambda x: chainrule.numpy.sin(x))(0.0)
    array(1.)
    """
    vg = value_and_grad(fun, argnums, has_aux)

    def wrapper(*args, **kwargs):
        (value_aux, grads) = vg(*args, **kwargs)
        return (grads, value_aux[1]) if has_aux else grads

    wrapper.__name__ = f"grad_{getattr(fun, '__name__', 'fun')}"
    wrapper.__doc__ = f"Gradient of {getattr(fun, '__name__', 'fun')}."
    return wrapper


def jvp(fun: Callable, primals: Sequence, tangents: Sequence) -> tuple[Any, Any]:
    """Forward mode: ``(fun(*primals), J · tangents)``, the directional derivative.

    Computed as the VJP of the VJP (linear in the dummy cotangent), so it costs a small constant number
    of evaluations of ``fun`` however many inputs there are.

    >>> chainrule.jvp(np.sin, (np.array([0.0]),), (np.array([2.0]),))
    (array([0.]), array([2.]))
    """
    primals, tangents = tuple(primals), tuple(tangents)
    flat, spec = tree_flatten(primals)
    tangent_flat, tangent_spec = tree_flatten(tangents)
    if len(flat) != len(tangent_flat):
        raise ValueError(f"chainrule.jvp: {len(flat)} primal leaves but {len(tangent_flat)} tangent leaves")
    outer = _outer_graph(flat + tangent_flat)
    inputs = [_as_input(v, "jvp") for v in flat]
    for x, t in zip(inputs, tangent_flat, strict=True):
        if np.shape(t.data if isinstance(t, Tensor) else t) != x.shape:
            raise ValueError(f"chainrule.jvp: tangent shape {np.shape(t)} != primal shape {x.shape}")
    with enable_grad():
        out = fun(*tree_unflatten(spec, inputs))
        out_flat, out_spec = tree_flatten(out)
        out_tensors = [o if isinstance(o, Tensor) else Tensor(np.asarray(o)) for o in out_flat]
        dummies = [Tensor(np.zeros_like(o.data), requires_grad=True) for o in out_tensors]
        live = [(o, u) for o, u in zip(out_tensors, dummies, strict=True) if o.requires_grad]
        grads = backward_pass([o for o, _ in live], [u for _, u in live], inputs=inputs,
                              retain_graph=True, create_graph=True) if live else [None] * len(inputs)
        total = None
        for g, t in zip(grads, tangent_flat, strict=True):
            if isinstance(g, Tensor) and g.requires_grad:
                term = P.sum(g * t)
                total = term if total is None else total + term
    if total is None:
        tangents_out = [np.zeros_like(o.data) for o in out_tensors]
    else:
        results = backward_pass([total], [np.ones_like(total.data)], inputs=dummies, retain_graph=outer,
                                create_graph=outer)
        tangents_out = [np.zeros_like(u.data) if r is None else _to_output(r, outer)
                        for u, r in zip(dummies, results, strict=True)]
    return (tree_unflatten(out_spec, [_to_output(o, outer) for o in out_tensors]),
            tree_unflatten(out_spec, tangents_out))


def jacobian(fun: Callable, argnums: int | Sequence[int] = 0) -> Callable:
    """The Jacobian of ``fun`` w.r.t. array argument(s): shape ``output.shape + input.shape``.

    Built row by row from reverse mode (one backward pass per output element, one forward pass).

    >>> chainrule.jacobian(lambda x: x ** 2)(np.array([1.0, 2.0]))
    array([[2., 0.],
           [0., 4.]])
    """

    def wrapper(*args, **kwargs):
        nums, single = _select(args, argnums, "jacobian")
        partial = _of_chosen(fun, args, kwargs, nums)

        out, pullback = vjp(partial, *(args[n] for n in nums))
        out_array = out.data if isinstance(out, Tensor) else np.asarray(out)
        rows: list[list] = [[] for _ in nums]
        for i in range(out_array.size):
            seed = np.zeros(out_array.size, dtype=out_array.dtype if out_array.dtype.kind in "fc" else float)
            seed[i] = 1.0
            for k, g in enumerate(pullback(seed.reshape(out_array.shape))):
                rows[k].append(g)
        results = []
        for k, n in enumerate(nums):
            in_shape = np.shape(args[n].data if isinstance(args[n], Tensor) else args[n])
            if rows[k] and isinstance(rows[k][0], Tensor):
                from ._composite import stack

                results.append(P.reshape(stack(rows[k]), out_array.shape + in_shape))
            else:
                dtype = rows[k][0].dtype if rows[k] else float
                stacked = np.stack(rows[k]) if rows[k] else np.zeros((0,) + in_shape, dtype=dtype)
                results.append(stacked.reshape(out_array.shape + in_shape))
        return results[0] if single else tuple(results)

    return wrapper


def hessian(fun: Callable, argnums: int = 0) -> Callable:
    """The Hessian of scalar ``fun``: the Jacobian of its gradient (reverse over reverse).

    >>> chainrule.hessian(lambda x: (x ** 3).sum())(np.array([1.0, 2.0]))
    array([[ 6.,  0.],
           [ 0., 12.]])
    """
    return jacobian(grad(fun, argnums), argnums)


def hvp(fun: Callable, x: Any, v: Any) -> Any:
    """Hessian-vector product H(x) · v of scalar ``fun``, without forming H (reverse over reverse).

    >>> chainrule.hvp(lambda x: (x ** 3).sum(), np.array([1.0, 2.0]), np.array([1.0, 0.0]))
    array([6., 0.])
    """
    v_flat, _ = tree_flatten(v)

    def directional(point):
        g_flat, _ = tree_flatten(grad(fun)(point))
        total = None
        for g, w in zip(g_flat, v_flat, strict=True):
            term = P.sum(g * w)
            total = term if total is None else total + term
        return total

    return grad(directional)(x)
