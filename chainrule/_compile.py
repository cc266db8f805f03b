"""``chainrule.compile``: trace a function once, then replay it as straight-line NumPy code.

Tracing runs the function on Tensors with every primitive call going onto a tape (the forward pass, and —
because the inputs are traced as Tensors that require grad — the backward pass too, which then runs its
rules on Tensors, as with ``create_graph=True``). The tape becomes the source of one Python function: one
line per NumPy call on raw arrays, no graph, no Tensors. Before emitting it:

* steps whose results no output needs are dropped, and copies of the inputs become aliases;
* every elementwise ufunc and every matrix product writes into a preallocated buffer (``out=``), and a
  buffer is reused as soon as the value in it is dead — often by the very step that consumes it, which
  turns chains like ``g * s * (1 - s)`` into in-place updates of one array (NumPy's form of fusion).
  Buffers never hold an output: outputs are fresh arrays on every call.

The cache is keyed by the arguments' structure, shapes and dtypes (and the values of Python scalars), so a
new shape traces again; once a replay is trusted, a generated check of the arguments (structure, types,
shapes, dtypes, scalars, which arrays are the same object) leads straight to it, and its outputs are rebuilt
by generated code too. A function that leaves the graph while traced — Python control flow on a value
(``bool``/``float``/``.item()``), in-place writes, ``backward()`` into ``.grad`` — cannot be replayed: it runs
eagerly, with a warning. Replays are checked against eager evaluation on the first two calls; a mismatch
(data-dependent code the tracer could not see) also falls back to eager mode for good.
"""

from __future__ import annotations

import builtins
import functools
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from . import _rules as P
from ._functional import tree_flatten, tree_unflatten
from ._graph import Primitive, mode
from ._tensor import Tensor

__all__ = ["compile", "CompileWarning"]


class CompileWarning(UserWarning):
    """``chainrule.compile`` fell back to eager mode for a function (the message says why)."""


class _Escape(Exception):
    """Raised inside the traced function where a value leaves the graph."""


def _sigmoid_into(x, out=None):
    with np.errstate(over="ignore", under="ignore"):
        out = np.negative(x, out=out)
        np.exp(out, out=out)
        out += 1
        return np.reciprocal(out, out=out)


def _fast_forwards() -> dict[Primitive, tuple[Callable, bool]]:
    """Primitive -> (NumPy function with the same result on arrays, whether it takes ``out=``)."""
    table: dict[Primitive, tuple[Callable, bool]] = {}
    ufuncs = ["add", "subtract", "multiply", "divide", "negative", "exp", "log", "tanh", "sin", "cos", "sqrt",
              "square", "maximum", "minimum", "power", "expm1", "log1p", "reciprocal", "sign", "equal", "not_equal",
              "less", "less_equal", "greater", "greater_equal", "logical_not", "logical_and", "logical_or"]
    for name in ufuncs:
        primitive = getattr(P, name, None)
        if isinstance(primitive, Primitive):
            table[primitive] = (getattr(np, name), True)
    if isinstance(getattr(P, "abs", None), Primitive):
        table[P.abs] = (np.absolute, True)
    if isinstance(getattr(P, "sigmoid", None), Primitive):
        table[P.sigmoid] = (_sigmoid_into, True)
    if isinstance(getattr(P, "matmul", None), Primitive):
        table[P.matmul] = (np.matmul, True)
    if isinstance(getattr(P, "sum", None), Primitive):
        table[P.sum] = (np.add.reduce, False)
    return table


_ALIASES = ("copy",)  # primitives whose result may be the argument itself when nothing writes into either


class _Tape:
    """The primitive calls of one trace, on raw values; arrays are told apart by identity (all kept alive)."""

    def __init__(self) -> None:
        self.steps: list[tuple[Primitive, list, dict, list[int], Any]] = []
        self.slot_of: dict[int, int] = {}
        self.values: list = []  # slot -> the traced value (keeps every traced array alive)

    def new_slot(self, value) -> int:
        self.slot_of[id(value)] = len(self.values)
        self.values.append(value)
        return len(self.values) - 1

    def _ref(self, value):
        if isinstance(value, np.ndarray | np.generic):
            slot = self.slot_of.get(id(value))
            if slot is not None and self.values[slot] is value:
                return ("slot", slot)
        elif isinstance(value, tuple | list) and any(isinstance(v, np.ndarray | np.generic) for v in value):
            refs = [self._ref(v) for v in value]
            if any(r[0] != "const" for r in refs):
                return ("seq", type(value), refs)
        return ("const", value)

    def record(self, primitive: Primitive, args, kwargs, out) -> None:
        refs = [self._ref(a) for a in args]
        if all(r[0] == "const" for r in refs):
            return  # a constant: the replay uses the traced value
        for value in kwargs.values():
            if self._ref(value)[0] != "const":
                self.escape(f"a traced array passed by keyword to {primitive.name}")
        outs = out if isinstance(out, tuple) else (out,)
        if not all(isinstance(o, np.ndarray | np.generic) for o in outs):
            self.escape(f"{primitive.name} returned a non-array")
        slots = [self.new_slot(o) for o in outs]
        self.steps.append((primitive, refs, dict(kwargs), slots, isinstance(out, tuple)))

    def escape(self, what: str) -> None:
        raise _Escape(what)


def _ref_slots(ref) -> list[int]:
    if ref[0] == "slot":
        return [ref[1]]
    if ref[0] == "seq":
        return [s for r in ref[2] for s in _ref_slots(r)]
    return []


class _Program:
    """The straight-line replay of one trace."""

    def __init__(self, tape: _Tape, input_slots: list[int | None], out_refs: list, out_spec,
                 donated: frozenset[int] = frozenset()) -> None:
        self.out_spec, self.donated = out_spec, donated
        self.output_kinds: list | None = None  # per output leaf: the type eager mode returns
        self.fast: Callable | None = None  # set once trusted: see _fast_path
        steps = tape.steps
        # 1. copies become aliases (renames), unless the copy is an output
        output_slots = {s for r in out_refs for s in _ref_slots(r)}
        rename: dict[int, int] = {}

        def resolve(ref):
            if ref[0] == "slot":
                return ("slot", rename.get(ref[1], ref[1]))
            if ref[0] == "seq":
                return ("seq", ref[1], [resolve(r) for r in ref[2]])
            return ref

        kept = []
        for primitive, refs, kwargs, slots, multi in steps:
            refs = [resolve(r) for r in refs]
            if primitive.name in _ALIASES and refs[0][0] == "slot" and slots[0] not in output_slots \
                    and not kwargs and len(refs) == 1:
                rename[slots[0]] = refs[0][1]
                continue
            kept.append((primitive, refs, kwargs, slots, multi))
        self.out_refs = out_refs = [resolve(r) for r in out_refs]
        # 2. dead steps go
        needed = {s for r in out_refs for s in _ref_slots(r)}
        live = []
        for step in reversed(kept):
            if any(s in needed for s in step[3]):
                live.append(step)
                for r in step[1]:
                    needed.update(_ref_slots(r))
        live.reverse()
        self.n_steps = len(live)
        self.source, self.namespace = self._emit(tape, live, input_slots, out_refs, donated)
        code = builtins.compile(self.source, "<chainrule.compile>", "exec")
        exec(code, self.namespace)
        self.run = self.namespace["replay"]

    def _emit(self, tape: _Tape, steps: list, input_slots: list[int | None], out_refs: list,
              donated: frozenset[int]):
        fast = _fast_forwards()
        values = tape.values
        namespace: dict[str, Any] = {"np": np}
        constants: dict[int, str] = {}

        def const(value) -> str:
            if value is None or isinstance(value, bool | int | str) or (
                    isinstance(value, float) and np.isfinite(value)):
                return repr(value)
            if isinstance(value, tuple) and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
                return repr(value)
            key = id(value)
            if key not in constants:
                constants[key] = f"c{len(constants)}"
                namespace[constants[key]] = value
            return constants[key]

        def expr(ref) -> str:
            if ref[0] == "slot":
                return f"s{ref[1]}"
            if ref[0] == "seq":
                items = ", ".join(expr(r) for r in ref[2])
                return f"({items},)" if ref[1] is tuple else f"[{items}]"
            return const(ref[1])

        # liveness: the last step reading each slot; views extend the life of what they view
        last_use: dict[int, int] = {}
        for i, (_, refs, _, _, _) in enumerate(steps):
            for r in refs:
                for s in _ref_slots(r):
                    last_use[s] = i
        forever = len(steps)
        escapes = {s for r in out_refs for s in _ref_slots(r)}
        for s in escapes:
            last_use[s] = forever
        for i in range(len(steps) - 1, -1, -1):
            _, refs, _, slots, _ = steps[i]
            for out_slot in slots:
                out_value = values[out_slot]
                if not isinstance(out_value, np.ndarray):
                    continue
                for r in refs:
                    for s in _ref_slots(r):
                        arg = values[s]
                        if isinstance(arg, np.ndarray) and np.may_share_memory(out_value, arg):
                            last_use[s] = max(last_use.get(s, i), last_use.get(out_slot, i))
                            if out_slot in escapes:
                                escapes.add(s)
        # buffers: a pool per (shape, dtype); a buffer is free again after its value's last use
        pool: dict[tuple, list[str]] = {}
        owner: dict[int, str] = {}  # slot -> buffer name holding it
        n_buffers = 0
        lines = ["def replay(" + ", ".join(f"s{s}" for s in input_slots if s is not None) + "):"]
        for i, (primitive, refs, kwargs, slots, multi) in enumerate(steps):
            fn, takes_out = fast.get(primitive, (primitive.forward, False))
            if fn is primitive.forward:
                name = f"f_{primitive.name}_{id(primitive):x}"
            else:
                name = f"n_{getattr(fn, '__name__', primitive.name)}"
            namespace[name] = fn
            call_args = [expr(r) for r in refs] + [f"{k}={const(v)}" for k, v in kwargs.items()]
            dying = list(dict.fromkeys(s for r in refs for s in _ref_slots(r) if last_use.get(s) == i and s in owner))
            out_value = values[slots[0]]
            buffer = None
            reuse = [s for r in refs for s in _ref_slots(r) if s in donated and last_use.get(s) == i
                     and s not in escapes and _key(values[s]) == _key(out_value)] \
                if takes_out and not multi and fn is not np.matmul and isinstance(out_value, np.ndarray) else []
            if reuse and slots[0] in escapes:  # an output written over a donated input that dies here
                donated = donated - {reuse[0]}
                call_args.append(f"out=s{reuse[0]}")
            elif takes_out and not multi and isinstance(out_value, np.ndarray) and out_value.ndim > 0 \
                    and slots[0] not in escapes:
                key = (out_value.shape, out_value.dtype.str)
                elementwise = fn is not np.matmul
                if elementwise:  # an elementwise step may write over an input that dies here
                    for s in dying:
                        pool.setdefault(_key(values[s]), []).append(owner.pop(s))
                    dying = []
                free = pool.get(key)
                if free:
                    buffer = free.pop()
                else:
                    buffer = f"b{n_buffers}"
                    n_buffers += 1
                    namespace[buffer] = np.empty(out_value.shape, out_value.dtype)
                owner[slots[0]] = buffer
                call_args.append(f"out={buffer}")
            for s in dying:
                pool.setdefault(_key(values[s]), []).append(owner.pop(s))
            target = ", ".join(f"s{s}" for s in slots) + ("," if multi and len(slots) == 1 else "")
            lines.append(f"    {target} = {name}({', '.join(call_args)})")
            for s in slots:  # results nobody reads (a multi-output step) free their buffer at once
                if s in owner and s not in last_use:
                    pool.setdefault(_key(values[s]), []).append(owner.pop(s))
        lines.append("    return [" + ", ".join(expr(r) for r in out_refs) + "]")
        self.n_buffers = n_buffers
        return "\n".join(lines) + "\n", namespace


def _key(value) -> tuple:
    return (value.shape, value.dtype.str)


def _describe_leaf(leaf, first_seen: dict[int, int], index: int):
    if type(leaf) is np.ndarray:  # the common case, first
        return ("array", leaf.shape, leaf.dtype.str, first_seen.setdefault(id(leaf), index))
    if isinstance(leaf, Tensor):
        leaf = leaf.data
    if isinstance(leaf, np.ndarray | np.generic):
        alias = first_seen.setdefault(id(leaf), index)
        return ("array", np.shape(leaf), np.asarray(leaf).dtype.str, alias)
    if leaf is None or isinstance(leaf, bool | int | float | complex | str):
        return ("static", type(leaf).__name__, leaf)
    return ("object", type(leaf).__name__, id(leaf))


def _close(a, b) -> bool:
    if isinstance(a, np.ndarray | np.generic) or isinstance(b, np.ndarray | np.generic):
        a, b = np.asarray(a), np.asarray(b)
        if a.shape != b.shape:
            return False
        if a.dtype.kind in "fc" or b.dtype.kind in "fc":
            scale = float(np.max(np.abs(b))) if b.size else 0.0
            return bool(np.allclose(a, b, rtol=1e-4, atol=1e-6 * max(scale, 1.0), equal_nan=True))
        return bool(np.array_equal(a, b))
    return a == b or (isinstance(a, float) and isinstance(b, float) and np.isclose(a, b, rtol=1e-4))


_MISS = object()


def _fast_path(program: _Program, spec, leaves: tuple) -> Callable | None:
    """Generated code doing what ``_Compiled.__call__`` does for arguments like the traced ones: check them
    (structure, types, shapes, dtypes, Python scalars, which arrays are one object), replay, and rebuild the
    outputs; for other arguments it returns ``_MISS``. None where a leaf is neither an array nor a scalar."""
    namespace: dict[str, Any] = {"ndarray": np.ndarray, "MISS": _MISS, "replay": program.run}

    def const(value) -> str:
        namespace[f"k{len(namespace)}"] = value
        return f"k{len(namespace) - 1}"

    lines, names, stack = ["def fast(*v):"], {}, [("v", spec)]
    while stack:  # the argument containers, unpacked into one variable per leaf
        name, node = stack.pop()
        if isinstance(node, int):
            names[node] = name
            continue
        kind, children = node[0], node[1]
        lines.append(f"    if type({name}) is not {const(kind)} or len({name}) != {len(children)}: return MISS")
        if kind is dict:
            lines.append(f"    if list({name}) != {const(list(node[2]))}: return MISS")
        if children:
            child_names = [f"v{len(names) + len(stack)}_{i}" for i in range(len(children))]
            lines.append(f"    {', '.join(child_names)}, = {name}{'.values()' if kind is dict else ''}")
            stack.extend(zip(child_names, children, strict=True))
    arrays = []
    for i, leaf in enumerate(leaves):
        name = names[i]
        if leaf[0] == "array" and leaf[3] != i:
            lines.append(f"    if {name} is not {names[leaf[3]]}: return MISS")
        elif leaf[0] == "array":
            arrays.append(name)
            lines.append(f"    if type({name}) is not ndarray or {name}.shape != {leaf[1]!r} "
                         f"or {name}.dtype.str != {leaf[2]!r}: return MISS")
        elif leaf[0] == "static" and leaf[2] is None:
            lines.append(f"    if {name} is not None: return MISS")
        elif leaf[0] == "static":
            lines.append(f"    if type({name}) is not {const(type(leaf[2]))} or {name} != {const(leaf[2])}: "
                         "return MISS")
        else:
            return None
    if program.donated and len(arrays) > 1:  # distinct arrays stay distinct: one may be written over
        lines.append(f"    if len({{{', '.join(f'id({a})' for a in arrays)}}}) != {len(arrays)}: return MISS")
    scalars = (float, int, bool, complex)

    def build(node) -> str:
        if isinstance(node, int):
            ref = program.out_refs[node]
            array = ref[0] == "slot" or isinstance(ref[1], np.ndarray | np.generic)
            return f"r[{node}].item()" if array and program.output_kinds[node] in scalars else f"r[{node}]"
        items = "".join(build(child) + ", " for child in node[1])
        if node[0] is list:
            return f"[{items}]"
        if node[0] is tuple:
            return f"({items})"
        if node[0] is dict:
            return f"dict(zip({const(node[2])}, [{items}]))"
        return f"{const(node[0])}([{items}])"

    try:
        lines += [f"    r = replay({', '.join(arrays)})", f"    return {build(program.out_spec)}"]
        program.fast_source = "\n".join(lines) + "\n"
        exec(builtins.compile(program.fast_source, "<chainrule.compile fast path>", "exec"), namespace)
    except (RecursionError, SyntaxError, MemoryError):  # absurdly deep outputs: the general path does
        return None
    return namespace["fast"]


def _plain(value):
    return value.data if isinstance(value, Tensor) else value


class _Compiled:
    """The function returned by :func:`compile`."""

    _CHECKED_CALLS = 2  # replays compared with eager evaluation before they are trusted

    def __init__(self, fun: Callable, donate_argnums: tuple[int, ...] = ()) -> None:
        self.fun = fun
        self.donate_argnums = donate_argnums
        self.cache: dict[Any, _Program | str] = {}  # key -> program, or the reason it runs eagerly
        self.checks: dict[Any, int] = {}
        self._fast: Callable | None = None  # the fast path of the last trusted program used
        functools.update_wrapper(self, fun)

    def __call__(self, *args, **kwargs):
        fast = self._fast
        if fast is not None and not kwargs:
            result = fast(*args)
            if result is not _MISS:
                return result
        if kwargs:
            return self._eager(args, kwargs, "keyword arguments")
        flat, spec = tree_flatten(args)
        if mode.grad_enabled and any(isinstance(v, Tensor) and v.requires_grad for v in flat):
            return self._eager(args, kwargs, "Tensor arguments that require grad (the replay records no graph)")
        first_seen: dict[int, int] = {}
        key = (repr(spec), tuple(_describe_leaf(v, first_seen, i) for i, v in enumerate(flat)))
        program = self.cache.get(key)
        if program is None:
            program = self.cache[key] = self._trace(args, flat, spec, key)
        if isinstance(program, str):
            return self.fun(*args)
        arrays = [v if type(v) is np.ndarray else np.asarray(_plain(v))
                  for i, (v, d) in enumerate(zip(flat, key[1], strict=True)) if d[0] == "array" and d[3] == i]
        checks = self.checks.get(key, 0)
        if checks < self._CHECKED_CALLS:
            self.checks[key] = checks + 1
            expected = self.fun(*args)  # before the replay, which may write over donated arguments
            result = self._check(program, key, expected, program.run(*arrays))
            if checks + 1 == self._CHECKED_CALLS and self.cache[key] is program:  # trusted from now on
                self._fast = program.fast = _fast_path(program, spec, key[1])
            return result
        self._fast = program.fast
        return self._finish(program, program.run(*arrays))

    def _eager(self, args, kwargs, reason: str):
        warnings.warn(f"chainrule.compile({getattr(self.fun, '__name__', 'function')}): running eagerly: {reason}",
                      CompileWarning, stacklevel=3)
        return self.fun(*args, **kwargs)

    def _trace(self, args, flat, spec, key) -> _Program | str:
        tape = _Tape()
        traced, input_slots, donated = [], [], set()
        donated_leaves = self._donated_leaves(args)
        for i, (leaf, description) in enumerate(zip(flat, key[1], strict=True)):
            if description[0] != "array":
                traced.append(leaf)
            elif description[3] != i:  # the same array object again: the same traced input
                traced.append(traced[description[3]])
            else:
                array = np.asarray(_plain(leaf))
                input_slots.append(tape.new_slot(array))
                if i in donated_leaves and not any(d[0] == "array" and d[3] == i for d in key[1][i + 1:]):
                    donated.add(input_slots[-1])  # (an array passed twice is never written over)
                traced.append(Tensor(array, requires_grad=array.dtype.kind in "fc"))
        saved = mode.tape, mode.grad_enabled
        mode.tape, mode.grad_enabled = tape, True
        try:
            out = self.fun(*tree_unflatten(spec, traced))
            out_flat, out_spec = tree_flatten(out)
            out_refs = [tape._ref(_plain(o)) for o in out_flat]
        except _Escape as escape:
            reason = f"the traced function left the graph: {escape}"
            warnings.warn(f"chainrule.compile({getattr(self.fun, '__name__', 'function')}): running eagerly: "
                          f"{reason}", CompileWarning, stacklevel=4)
            return reason
        finally:
            mode.tape, mode.grad_enabled = saved
        return _Program(tape, input_slots, out_refs, out_spec, frozenset(donated))

    def _donated_leaves(self, args: tuple) -> set[int]:
        """Indices, among the flattened arguments, of the leaves of the donated arguments."""
        leaves, start = set(), 0
        for position, arg in enumerate(args):
            count = len(tree_flatten(arg)[0])
            if position in self.donate_argnums:
                leaves.update(range(start, start + count))
            start += count
        return leaves

    def _check(self, program: _Program, key, expected, results):
        flat, spec = tree_flatten(expected)
        flat = [_plain(v) for v in flat]
        if repr(spec) != repr(program.out_spec) or len(flat) != len(results) or \
                not all(_close(r, e) for r, e in zip(results, flat, strict=True)):
            reason = "the replay differs from eager evaluation (data-dependent code the tracer cannot see?)"
            self.cache[key] = reason
            warnings.warn(f"chainrule.compile({getattr(self.fun, '__name__', 'function')}): running eagerly: "
                          f"{reason}", CompileWarning, stacklevel=3)
            return expected
        program.output_kinds = [type(v) for v in flat]
        return expected

    def _finish(self, program: _Program, results):
        kinds = program.output_kinds
        if kinds is not None:
            results = [r.item() if k in (float, int, bool, complex) and isinstance(r, np.ndarray | np.generic)
                       else r for r, k in zip(results, kinds, strict=True)]
        return tree_unflatten(program.out_spec, results)


def compile(fun: Callable, donate_argnums: int | tuple[int, ...] = ()) -> Callable:  # noqa: A001
    """Compile a function of arrays (or pytrees of arrays) built from chainrule operations.

    The first call with given argument shapes/dtypes traces ``fun`` — forward and, for ``grad``-style
    functions, the backward pass — into straight-line NumPy code with preallocated, reused buffers; later
    calls replay that code. Results equal eager mode's to float tolerance. Python scalars in the arguments
    are part of the cache key (a new value traces again). Functions must be pure: a function that branches
    on values, writes in place or calls ``backward()`` runs eagerly, with a :class:`CompileWarning`.
    The compiled function is not re-entrant (its buffers are shared between calls).

    ``donate_argnums``: positional arguments (pytrees of arrays) whose arrays the replay may write its
    outputs into, as JAX's ``jit`` does — e.g. the parameters of a training step that returns the new
    parameters, updated in place instead of in fresh arrays. Do not use a donated argument after the call.

    >>> step = chainrule.compile(chainrule.value_and_grad(loss))
    >>> value, gradient = step(w, x, y)
    """
    if isinstance(donate_argnums, int):
        donate_argnums = (donate_argnums,)
    return _Compiled(fun, tuple(donate_argnums))
