"""The functional API (JAX / HIPS autograd style): transformations of functions of arrays and pytrees.

Everything is built on one function, :func:`vjp`; forward mode (:func:`jvp`) is the VJP of the VJP,
which costs O(1) evaluations of ``fun``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import _rules as P
from ._graph import backward_pass, enable_grad, graph_between, mode
from ._namespace import asarray, is_floating, namespace, ones_like, zeros_like
from ._tensor import Tensor

# ---- pytrees: nested tuples, lists and dicts of arrays ----------------------------------------------


def tree_flatten(tree: Any) -> tuple[list, Any]:
    """Leaves of a nested tuple/list/dict (dicts in key order), and a description to rebuild it.

    >>> leaves, spec = chainrule.tree_flatten({"w": np.ones(2), "layers": [1.0, (2.0, 3.0)]})
    >>> leaves
    [array([1., 1.]), 1.0, 2.0, 3.0]
    >>> chainrule.tree_unflatten(spec, [10 * v for v in leaves])
    {'w': array([10., 10.]), 'layers': [10.0, (20.0, 30.0)]}
    """
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
    """Inverse of :func:`tree_flatten`: the same nesting, with ``leaves`` in the places of the old ones.

    >>> _, spec = chainrule.tree_flatten(((1.0, 2.0), [3.0]))
    >>> chainrule.tree_unflatten(spec, ["a", "b", "c"])
    (('a', 'b'), ['c'])
    """
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
#
# Nesting. A transformation (vjp, and everything built on it) differentiates with respect to fresh leaf
# vertices made for its primals. Everything else its function touches is, for it, a constant — but a
# constant that may be a *variable of an enclosing computation*: an outer transformation's input, or a
# Tensor that requires grad, reached as a primal, as a non-differentiated argument, or through a closure.
# Like autograd's trace ids and JAX's levels, the question "is this value a constant of mine?" is answered
# by where the value comes from, never by how it arrived: after running the function, the graph between
# the fresh inputs and the output is walked once (`graph_between`), and if it reaches any traced vertex
# that is not computed from the inputs alone, the backward pass is recorded (`create_graph`) and the
# results are returned as Tensors that stay in the enclosing graph. Otherwise nothing outside can depend
# on the result: the backward pass records nothing and returns ndarrays, at the cost of an un-nested call.
# Inner and outer variables are distinct vertices, so a gradient never flows to the wrong level (no
# perturbation confusion): once a transformation has its graph, its fresh inputs stop requiring grad, so to
# everything outside it they are constants. When the caller has recording off (`no_grad`), results are plain.


def _as_input(value: Any, where: str) -> Tensor:
    """A fresh graph vertex for a primal value (linked to an outer graph if it is part of one)."""
    if isinstance(value, Tensor):
        if value.requires_grad and mode.grad_enabled:
            return P.copy(value)  # nested differentiation: a new vertex that depends on the outer one
        value = value.data
    array = asarray(value)
    if not is_floating(array):
        if namespace(array) is not np:  # another array library: its own float64
            array = namespace(array).astype(array, namespace(array).float64)
        elif array.dtype.kind in "biu":
            array = array.astype(np.float64)
        else:
            raise TypeError(f"chainrule.{where}: cannot differentiate with respect to a value of dtype "
                            f"{array.dtype} ({type(value).__name__})")
    return Tensor(array, requires_grad=True)


class _Traced:
    """A function evaluated on fresh input vertices: the graph from them to its outputs, and whether that
    graph is part of an enclosing one (see the note on nesting above)."""

    def __init__(self, fun: Callable, primals: tuple, where: str) -> None:
        recording = mode.grad_enabled  # the caller's mode: under no_grad nothing outside is recorded
        flat, self.spec = tree_flatten(primals)
        self.inputs = [_as_input(v, where) for v in flat]
        with enable_grad():
            out = fun(*tree_unflatten(self.spec, self.inputs))
        out_flat, self.out_spec = tree_flatten(out)
        self.outputs = [o if isinstance(o, Tensor) else Tensor(asarray(o)) for o in out_flat]
        self.live = [o.requires_grad for o in self.outputs]  # (an output may be an input, retired below)
        roots = [_vertex(o) for o, live in zip(self.outputs, self.live, strict=True) if live]
        self.order, foreign = graph_between(roots, [_vertex(x) for x in self.inputs])
        self.nested = recording and (foreign or any(x._node is not None for x in self.inputs))
        for x in self.inputs:
            if x._node is None:
                # This transformation's own variables are constants to everything outside it: results
                # recorded from here on (the pullback's) depend on them by value only, and enclosing
                # transformations do not count them as variables of theirs.
                x.requires_grad = False

    def output(self) -> Any:
        """The function's value: Tensors where it is part of an enclosing graph, else ndarrays."""
        return tree_unflatten(self.out_spec, [_to_output(o, self.nested) for o in self.outputs])

    def pull_back(self, seeds: list, create_graph: bool) -> list:
        """Error signals of the inputs (None where unreachable) for ``seeds``, one per output."""
        live = [(o, s) for o, s, on in zip(self.outputs, seeds, self.live, strict=True) if on]
        if not live:
            return [None] * len(self.inputs)
        return backward_pass([o for o, _ in live], [s for _, s in live], inputs=self.inputs, order=self.order,
                             retain_graph=True, create_graph=create_graph)


def _vertex(t: Tensor):
    return t._node if t._node is not None else t


def _to_output(value: Any, keep_graph: bool):
    if isinstance(value, Tensor):
        return value if keep_graph and value.requires_grad else value.data
    return value


def _seed_like(output: Tensor, cotangent: Any, where: str):
    if isinstance(cotangent, Tensor):
        if cotangent.shape != output.shape:
            raise ValueError(f"chainrule.{where}: cotangent shape {cotangent.shape} != output shape "
                             f"{output.shape}")
        return cotangent
    array = asarray(cotangent, dtype=output.dtype)
    if array.shape != output.shape:
        raise ValueError(f"chainrule.{where}: cotangent shape {array.shape} != output shape {output.shape}")
    return array


def vjp(fun: Callable, *primals: Any) -> tuple[Any, Callable]:
    """Evaluate ``fun(*primals)`` and return ``(output, vjp_fn)``: ``vjp_fn(ȳ)`` gives ȳ · ∂output/∂primals,
    one error signal per primal, in the primals' structure (pytrees of arrays).

    Both are differentiable by an enclosing transformation with respect to every traced value they depend
    on, however it arrived (a primal, a closure, a Tensor that requires grad, the cotangent).

    >>> y, pullback = chainrule.vjp(np.sin, np.array([0.0, 1.0]))
    >>> pullback(np.ones(2))
    (array([1.        , 0.54030231]),)
    """
    traced = _Traced(fun, primals, "vjp")

    def vjp_fn(cotangent: Any) -> tuple:
        cot_flat, _ = tree_flatten(cotangent)
        if len(cot_flat) != len(traced.outputs):
            raise ValueError(f"chainrule.vjp: the cotangent has {len(cot_flat)} leaves, the output "
                             f"{len(traced.outputs)}")
        seeds = [_seed_like(o, c, "vjp") for o, c in zip(traced.outputs, cot_flat, strict=True)]
        nested = traced.nested or (mode.grad_enabled and _nested_cotangent(seeds))
        return _cotangent_results(traced, traced.pull_back(seeds, create_graph=nested), nested)

    return traced.output(), vjp_fn


def _cotangent_results(traced: _Traced, grads: list, nested: bool) -> Any:
    """The inputs' error signals in the primals' structure: zeros where unreachable; Tensors only where
    they stay in an enclosing graph."""
    results = []
    for x, g in zip(traced.inputs, grads, strict=True):
        if g is None:
            g = zeros_like(x.data)
        if nested and isinstance(g, Tensor) and g.requires_grad:
            results.append(g)
        else:
            results.append(asarray(_to_output(g, False), dtype=x.dtype))
    return tree_unflatten(traced.spec, results)


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
    """Like :func:`grad`, but the new function returns ``(value, gradient)`` (``((value, aux), gradient)``
    with ``has_aux``; ``aux`` comes back as plain values, like ``value``).

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

        traced = _Traced(scalar_fun, tuple(args[n] for n in nums), "grad")
        (output,) = traced.outputs
        grads = _cotangent_results(traced, traced.pull_back([ones_like(output.data)], traced.nested),
                                   traced.nested)
        value = _to_output(output, traced.nested)
        if not isinstance(value, Tensor):
            value = (float(value) if namespace(value) is not np else np.asarray(value).reshape(()).item()
                     ) if np.ndim(value) == 0 else value
        grads = grads[0] if single else grads
        if has_aux:
            aux_leaves, aux_spec = tree_flatten(holder[0])
            aux = tree_unflatten(aux_spec, [_to_output(a, traced.nested) for a in aux_leaves])
            return (value, aux), grads
        return value, grads

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
    tangent_flat, _ = tree_flatten(tangents)
    primal_count = len(tree_flatten(primals)[0])
    if primal_count != len(tangent_flat):
        raise ValueError(f"chainrule.jvp: {primal_count} primal leaves but {len(tangent_flat)} tangent leaves")
    for x, t in zip(tree_flatten(primals)[0], tangent_flat, strict=True):
        x_shape, t_shape = np.shape(_value(x)), np.shape(_value(t))
        if x_shape != t_shape:
            raise ValueError(f"chainrule.jvp: tangent shape {t_shape} != primal shape {x_shape}")
    traced = _Traced(fun, primals, "jvp")
    nested = traced.nested or (mode.grad_enabled and _nested_cotangent(tangent_flat))
    with enable_grad():
        # ȳ ↦ ȳ·J is linear in a dummy cotangent ȳ; its VJP at any ȳ, taken against the tangent, is J·t.
        dummies = [Tensor(np.zeros_like(o.data), requires_grad=True) for o in traced.outputs]
        grads = traced.pull_back(dummies, create_graph=True)
        total = None
        for g, t in zip(grads, tangent_flat, strict=True):
            if isinstance(g, Tensor) and g.requires_grad:
                term = P.sum(g * t)
                total = term if total is None else total + term
    if total is None:
        tangents_out = [np.zeros_like(o.data) for o in traced.outputs]
    else:
        results = backward_pass([total], [np.ones_like(total.data)], inputs=dummies, retain_graph=nested,
                                create_graph=nested)
        tangents_out = [np.zeros_like(u.data) if r is None else _as_result(_to_output(r, nested), u.dtype)
                        for u, r in zip(dummies, results, strict=True)]
    return traced.output(), tree_unflatten(traced.out_spec, tangents_out)


def _as_result(value: Any, dtype: np.dtype) -> Any:
    return value if isinstance(value, Tensor) else np.asarray(value, dtype=dtype)


def _value(x: Any) -> Any:
    return x.data if isinstance(x, Tensor) else x


def jacobian(fun: Callable, argnums: int | Sequence[int] = 0) -> Callable:
    """The Jacobian of ``fun`` w.r.t. argument(s) ``argnums``, on pytrees as in JAX: for every output leaf
    ``o`` and input leaf ``x``, an array of shape ``o.shape + x.shape``, arranged as the output's structure
    holding, at each output leaf, the inputs' structure (a tuple of them for a tuple ``argnums``).

    Built row by row from reverse mode (one backward pass per output element, one forward pass).

    >>> chainrule.jacobian(lambda x: x ** 2)(np.array([1.0, 2.0]))
    array([[2., 0.],
           [0., 4.]])
    >>> blocks = chainrule.jacobian(lambda p: {"y": p["a"] * p["b"]})({"a": np.ones(2), "b": np.full(2, 3.0)})
    >>> blocks["y"]["b"]
    array([[1., 0.],
           [0., 1.]])
    """

    def wrapper(*args, **kwargs):
        nums, single = _select(args, argnums, "jacobian")
        partial = _of_chosen(fun, args, kwargs, nums)
        chosen = tuple(args[n] for n in nums)
        out, pullback = vjp(partial, *chosen)
        out_leaves, out_spec = tree_flatten(out)
        out_arrays = [np.asarray(_value(o)) for o in out_leaves]
        in_leaves, in_spec = tree_flatten(chosen)
        in_shapes = [np.shape(_value(x)) for x in in_leaves]
        zeros = [np.zeros(o.shape, o.dtype if o.dtype.kind in "fc" else float) for o in out_arrays]
        per_output = []  # for each output leaf: one Jacobian block per input leaf
        for k, o in enumerate(out_arrays):
            rows: list[list] = [[] for _ in in_leaves]
            for i in range(o.size):
                seeds = list(zeros)
                seeds[k] = np.zeros_like(zeros[k])
                seeds[k].reshape(-1)[i] = 1.0
                grads, _ = tree_flatten(pullback(tree_unflatten(out_spec, seeds)))
                for j, g in enumerate(grads):
                    rows[j].append(g)
            blocks = [_stack_rows(rows[j], o.shape, in_shapes[j]) for j in range(len(in_leaves))]
            structured = tree_unflatten(in_spec, blocks)
            per_output.append(structured[0] if single else structured)
        return tree_unflatten(out_spec, per_output)

    return wrapper


def _stack_rows(rows: list, out_shape: tuple, in_shape: tuple) -> Any:
    """Rows of a Jacobian block (each of ``in_shape``) as one array of ``out_shape + in_shape``."""
    if any(isinstance(r, Tensor) for r in rows):  # nested: the block stays in the enclosing graph
        from ._composite import stack

        return P.reshape(stack(rows), out_shape + in_shape)
    dtype = rows[0].dtype if rows else float
    stacked = np.stack(rows) if rows else np.zeros((0,) + in_shape, dtype=dtype)
    return stacked.reshape(out_shape + in_shape)


def hessian(fun: Callable, argnums: int | Sequence[int] = 0) -> Callable:
    """The Hessian of scalar ``fun``: the Jacobian of its gradient (reverse over reverse). With a tuple
    ``argnums`` (or pytree arguments) it returns the nested blocks, as JAX does: ``H[i][j]`` has shape
    ``x_i.shape + x_j.shape``.

    >>> chainrule.hessian(lambda x: (x ** 3).sum())(np.array([1.0, 2.0]))
    array([[ 6.,  0.],
           [ 0., 12.]])
    >>> h = chainrule.hessian(lambda x, y: (x * x * y).sum(), argnums=(0, 1))(np.ones(2), np.full(2, 2.0))
    >>> h[0][1]
    array([[2., 0.],
           [0., 2.]])
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
