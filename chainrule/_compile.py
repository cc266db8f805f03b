"""``chainrule.compile``: trace a function once, then replay it as straight-line NumPy code.

Tracing runs the function on Tensors with every primitive call going onto a tape (the forward pass, and —
because the inputs are traced as Tensors that require grad — the backward pass too, which then runs its
rules on Tensors, as with ``create_graph=True``). The tape becomes the source of one Python function: one
line per NumPy call on raw arrays, no graph, no Tensors. Before emitting it:

* copies of values, reshapes to the same shape and products with a constant of ones become aliases, so does
  a rule-table primitive applied again to the same values (and the same constants), and steps whose
  results no output needs are dropped;
* peephole rewrites save passes over arrays: ``c * (A @ B)`` for a scalar ``c`` scales the smaller of ``A``
  and ``B``; a sum over one axis of a matrix (times a scalar) is a product with a constant vector (BLAS);
  ``sigmoid(x + b)`` starts from ``-b - x`` (one pass, not two); ``softmax_cross_entropy(z, k)``
  and the ``softmax(z)`` its backward rule recomputes are one step, which reduces a short last axis on a
  transposed copy; so do ``max``/``min``/``logsumexp``/``softmax``/``log_softmax`` along a short last axis
  (however the loss is written: a library loss, ``log_softmax``, a hand-written logsumexp); a sum keeping
  its dimensions is a product and a reshape; ``f(broadcast_to(a, shape), b)``, ``f`` a binary ufunc, is
  ``f(a, b)``. Each rewrite is taken only if its steps, run on the traced values, give the traced
  results (types, shapes and dtypes equal, values to float tolerance), and its steps go where the first
  step they replace was, if what they read is made by then (it is likelier to be in the cache);
* a Python number beside an array of the result's dtype becomes a 0-d array of that dtype (NumPy would
  convert it on every call), and reshapes and transposes are array-method calls;
* every elementwise ufunc and every matrix product writes into a preallocated buffer (``out=``), and a
  buffer is reused as soon as the value in it is dead (and every view of it: a view of a copy that became an
  alias views the original) — often by the very step that consumes it, which
  turns chains like ``g * s * (1 - s)`` into in-place updates of one array (NumPy's form of fusion).
  Buffers never hold an output: outputs are fresh arrays on every call — an output made by an elementwise
  step from a matrix product that dies there (``w - lr * h.T @ g``) is written into that product's fresh
  array, whose writes to new memory overlap its arithmetic. Products with an inner dimension of 1 (outer
  products: a batch of one) replay as ``np.dot``, many times faster there than ``np.matmul``.

Arrays the function closes over are constants of the trace: a rewrite may rely on their values, so do not
change them between calls. The cache is keyed by the arguments' structure, shapes and dtypes (and the values
of Python scalars), so a new shape traces again; once a replay is trusted, a generated check of the
arguments (structure, types, shapes, dtypes, scalars, which arrays are the same object) leads straight to
it, and its outputs are rebuilt by generated code too.

**Decisions on values are never replayed stale.** Index functions — ``argmax``/``argmin``/``argsort``
(functions and Tensor methods), ``sort``'s order, ``partition``, ``median``/``quantile``/``percentile``,
``nonzero``/``where(c)``/``flatnonzero``/``unique``, the NaN masks of the nan-reductions, ``any``/``all`` and
every NumPy function chainrule runs on raw values (``chainrule.numpy``'s values-only functions, NumPy's
fallbacks in the dispatch) — go on the tape as steps, so each replay recomputes them, like comparisons and
masks made with chainrule operations. What leaves for Python is a *guard*: ``bool(t)`` (``if t > 0``),
``int(t)``, ``t.__index__()`` (``x[int(t)]``, ``range(t)``), ``float(t)``, ``t.item()``, a number an index
function returns; and so are the shape and dtype of a result that depends on values (a boolean mask's
count, ``eig``'s real or complex eigenvalues, a user primitive's result). A replay checks each guard where
the trace decided; if a decision came out differently it stops (before it has written over any donated
argument) and the call goes on in the program traced for those decisions — traced then, if new. A
signature gets at most eight programs; after that, it runs eagerly, with a :class:`CompileWarning`. A view
of a traced array taken by NumPy on raw values (``t.data.reshape(...)``) is followed when it is a reshape,
and is an escape otherwise. A function that leaves the graph in other ways while traced — ``t.numpy()``,
``np.asarray(t)``, in-place writes, ``backward()`` into ``.grad`` — cannot be replayed: it runs eagerly,
with a warning. Replays are checked against eager evaluation on the first two calls of each program; a
mismatch (data-dependent code the tracer could not see: NumPy on ``.data`` copies) also falls back to eager
mode for good.
"""

from __future__ import annotations

import builtins
import functools
import warnings
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import numpy as np

from . import _rules as P
from ._functional import tree_flatten, tree_unflatten
from ._graph import Primitive, _Switch, mode
from ._namespace import namespace
from ._tensor import Tensor

__all__ = ["compile", "CompileWarning"]


class CompileWarning(UserWarning):
    """``chainrule.compile`` fell back to eager mode for a function (the message says why).

    >>> import warnings
    >>> def impure(x):
    ...     y = x * 2.0
    ...     y.backward()                    # backward() inside: compile cannot trace it
    ...     return y
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     y = chainrule.compile(impure)(chainrule.tensor(1.0, requires_grad=True))
    >>> [w.category.__name__ for w in caught]
    ['CompileWarning']
    >>> y                                   # the eager result, still right
    tensor(2., grad_fn=multiply)
    """


class _Escape(Exception):
    """Raised inside the traced function where a value leaves the graph."""


class _Stale(Exception):
    """Raised by a replay whose guard saw a decision come out differently from the trace's."""

    def __init__(self, guard: _Guard, observed) -> None:
        super().__init__(guard.what)
        self.guard, self.observed = guard, observed


class _Guard:
    """A decision the trace took on a traced value: ``function`` of the recomputed values must give what it
    gave when traced (a Python value read off a Tensor, the shape and dtype of a data-dependent result, a
    number an index function returned). A replay calls it where the trace took the decision."""

    def __init__(self, function: Callable, expected, what: str, index: int) -> None:
        self.function, self.expected, self.what = function, expected, what
        self.index = index  # the trace's decisions before this one

    def __call__(self, *values) -> None:
        observed = self.function(*values)
        if not _same_decision(observed, self.expected):
            raise _Stale(self, observed)

    def __repr__(self) -> str:
        return f"<guard: {self.what} is {self.expected!r}>"


def _same_decision(a, b) -> bool:
    """Whether a decision seen by a replay is the traced one: the same type and value (NaN as NaN)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return a.shape == b.shape and a.dtype == b.dtype and bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    if isinstance(a, tuple | list):
        return len(a) == len(b) and all(_same_decision(x, y) for x, y in zip(a, b, strict=True))
    same = a == b
    if isinstance(same, np.ndarray):  # an odd type whose == is elementwise
        return False
    return bool(same) or (a != a and b != b)  # NaN is the same decision as NaN


def _hashable(value):
    """``value`` as part of a key of the programs for a signature (None: no key; a new trace each time)."""
    try:
        hash(value)
    except TypeError:
        return None
    return value


def _shape_and_dtype(value) -> tuple:
    return (np.shape(value), np.asarray(value).dtype.str) if not isinstance(value, np.ndarray) \
        else (value.shape, value.dtype.str)


class _WithKeywords:
    """``function`` called with its last positional arguments as the named keywords (a recorded NumPy call
    whose keyword arguments are traced arrays: the tape's steps pass traced values positionally)."""

    def __init__(self, function: Callable, names: list[str], constants: dict) -> None:
        self.function, self.names, self.constants = function, names, constants
        self.__name__ = getattr(function, "__name__", "call")

    def __call__(self, *args):
        n = len(args) - len(self.names)
        return self.function(*args[:n], **dict(zip(self.names, args[n:], strict=True)), **self.constants)


def _root(array: np.ndarray) -> np.ndarray:
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array


def _same_layout(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two arrays are the same elements of the same memory in the same order (one a view of the other)."""
    return a.shape == b.shape and a.dtype == b.dtype and (a.size <= 1 or a.strides == b.strides) \
        and a.__array_interface__["data"][0] == b.__array_interface__["data"][0]


def _byte_bounds(array: np.ndarray) -> tuple[int, int]:
    return np.lib.array_utils.byte_bounds(array)


# Primitives of the rule table whose results' shapes and dtypes follow from their inputs' shapes and dtypes
# (and constant arguments) alone: every other step's result gets a guard on them.
_VALUE_DEPENDENT_TYPES = {"eig"}  # real or complex results, as the eigenvalues come out


@functools.cache
def _shape_safe() -> frozenset:
    return frozenset(v for v in vars(P).values() if isinstance(v, Primitive) and v.name not in _VALUE_DEPENDENT_TYPES)


def _sigmoid_of_difference(x, y, out=None):
    # sigmoid(x - y) = 1 / (1 + e^(y - x)): the subtraction takes the place of the sigmoid's negation
    return _one_over_one_plus_exp(np.subtract(y, x, out=out))


def _one_over_one_plus_exp(out):
    if type(out) is not np.ndarray:
        out = np.asarray(out)  # a ufunc's 0-d result is a NumPy scalar: no buffer to work in
    return P._one_over_one_plus_exp(out)  # as eager mode's sigmoid does


_SIGMOID_OF_DIFFERENCE = Primitive("sigmoid_of_difference", _sigmoid_of_difference, differentiable=False)


class _SoftmaxCrossEntropy:
    """``softmax_cross_entropy(z, labels)`` for a 2-D ``z`` and, ``with_softmax``, also ``softmax(z)`` (what its
    backward rule recomputes). A last axis much shorter than the first (classes ≪ batch) is reduced on a
    transposed copy: NumPy reduces along a short contiguous axis several times slower than across it. The
    softmax is then a view of that copy, rewritten on the next call — unless ``fresh``."""

    def __init__(self, z: np.ndarray, with_softmax: bool, fresh: bool) -> None:
        n, k = z.shape
        self.rows, self.with_softmax, self.fresh = np.arange(n), with_softmax, fresh
        self.scratch = np.empty((k, n), z.dtype) if k <= 64 and n > k else None

    def __call__(self, z, labels):
        t = self.scratch
        if t is None:  # the eager forward, keeping its exponentials
            t = z - z.max(axis=-1, keepdims=True)
            picked = t[self.rows, labels]
            np.exp(t, out=t)
            total = t.sum(axis=-1, keepdims=True)
            loss = np.log(total[:, 0])
        else:
            np.copyto(t, z.T)
            t -= np.maximum.reduce(t, axis=0)
            picked = t[labels, self.rows]
            np.exp(t, out=t)
            total = np.add.reduce(t, axis=0)
            loss = np.log(total)
        loss -= picked
        loss = np.add.reduce(loss) / len(loss)  # .mean(), without its Python overhead
        if not self.with_softmax:
            return loss
        t /= total
        if self.scratch is not None:
            t = t.T.copy() if self.fresh else t.T
        return loss, t


def _fast_forwards() -> dict[Primitive, tuple[Callable, bool]]:
    """Primitive -> (NumPy function with the same result on arrays, whether it takes ``out=``): each
    primitive's ``fast=`` form from its registration, and compile's own fused steps."""
    from ._registry import fast_forms  # (here, not at the top: the fast-forward table is all that reads it)

    table: dict[Primitive, tuple[Callable, bool]] = {_SIGMOID_OF_DIFFERENCE: (_sigmoid_of_difference, True)}
    table.update(fast_forms())
    return table


_METHODS = {P.reshape: "reshape", P.transpose: "transpose"}  # replayed as array methods: cheaper calls


class _Tape:
    """The primitive calls of one trace, on raw values; arrays are told apart by identity (all kept alive).

    Besides the primitives' steps it holds guards (steps with no result, a :class:`_Guard` in place of the
    primitive): decisions the trace took on traced values, which a replay checks again."""

    def __init__(self) -> None:
        self.steps: list[tuple[Any, list, dict, list[int], Any]] = []
        self.slot_of: dict[int, int] = {}
        self.values: list = []  # slot -> the traced value (keeps every traced array alive)
        self.by_root: dict[int, list[int]] = {}  # id of the memory's owner -> slots of traced arrays in it
        self.decisions: list[tuple] = []  # per guard, in order: (what it checks, the traced decision)

    def guard(self, function: Callable, expected, what: str, refs: list) -> None:
        self.steps.append((_Guard(function, expected, what, len(self.decisions)), refs, {}, [], False))
        self.decisions.append((what, _hashable(expected)))

    def new_slot(self, value) -> int:
        slot = len(self.values)
        self.slot_of[id(value)] = slot
        self.values.append(value)
        if isinstance(value, np.ndarray):
            self.by_root.setdefault(id(_root(value)), []).append(slot)
        return slot

    def _ref(self, value):
        if isinstance(value, np.ndarray | np.generic):
            slot = self.slot_of.get(id(value))
            if slot is not None and self.values[slot] is value:
                return ("slot", slot)
            if isinstance(value, np.ndarray) and id(_root(value)) in self.by_root:
                return self._view_ref(value)
        elif isinstance(value, tuple | list) and any(isinstance(v, np.ndarray | np.generic) for v in value):
            refs = [self._ref(v) for v in value]
            if any(r[0] != "const" for r in refs):
                return ("seq", type(value), refs)
        return ("const", value)

    def _view_ref(self, value: np.ndarray):
        """An array in the memory of a traced one, made by NumPy on raw values (``t.data.reshape(...)``):
        the same array, or a reshape of it, is that traced value (a reshape step); any other view is a
        value the tracer cannot follow."""
        low, high = _byte_bounds(value)
        for slot in reversed(self.by_root[id(_root(value))]):
            traced = self.values[slot]
            t_low, t_high = _byte_bounds(traced)
            if not (t_low <= low and high <= t_high):
                continue
            if value.dtype == traced.dtype and value.size == traced.size \
                    and _same_layout(traced.reshape(value.shape), value):
                if value.shape == traced.shape:
                    return ("slot", slot)
                self.steps.append((P.reshape, [("slot", slot), ("const", value.shape)], {},
                                   [self.new_slot(value)], False))
                return ("slot", len(self.values) - 1)
            self.escape("a view of a traced array taken outside chainrule's operations (NumPy on .data)")
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
        masked = primitive is P.getitem and any(isinstance(self.values[s], np.ndarray) and self.values[s].dtype == bool
                                                for s in _ref_slots(refs[1]))
        if masked or primitive not in _shape_safe():
            self._guard_shapes(primitive.name, slots)

    def _guard_shapes(self, name: str, slots: list[int]) -> None:
        """Guards on the shape and dtype of results that may depend on values (a boolean mask's count)."""
        for slot in slots:
            what = f"the shape and dtype of {name}'s result"
            self.guard(_shape_and_dtype, _shape_and_dtype(self.values[slot]), what, [("slot", slot)])

    def record_call(self, function: Callable, args: list, kwargs: dict, result) -> None:
        """A NumPy function run on raw values outside the primitives, whose result carries no gradient
        (indices, masks, counts: ``argsort``, ``nonzero``, ...): array results become steps, so the replay
        recomputes them; any other result (a number Python goes on with) is a decision, guarded."""
        refs = [self._ref(a) for a in args]
        keyword_refs = {k: self._ref(v) for k, v in kwargs.items()}
        traced_names = [k for k, r in keyword_refs.items() if r[0] != "const"]
        if all(r[0] == "const" for r in refs) and not traced_names:
            return
        constants = {k: v for k, v in kwargs.items() if k not in traced_names}
        if traced_names:
            function = _WithKeywords(function, traced_names, constants)
            refs = refs + [keyword_refs[k] for k in traced_names]
            constants = {}
        name = "".join(c if c.isalnum() else "_" for c in getattr(function, "__name__", "call"))
        outs = result if isinstance(result, tuple) else (result,)
        if outs and all(type(o) is np.ndarray for o in outs):
            slots = [self.new_slot(o) for o in outs]
            self.steps.append((Primitive(name, function, differentiable=False), refs, constants, slots,
                               isinstance(result, tuple)))
            self._guard_shapes(name, slots)
        else:
            call = functools.partial(function, **constants) if constants else function
            self.guard(call, result, f"the result of {name}", refs)

    def python_value(self, raw, convert: Callable, what: str):
        """``convert(raw)``, a value a traced Tensor hands to Python (``bool(t)``, ``int(t)``, ``t.item()``):
        a decision the replay checks again."""
        value = convert(raw)
        ref = self._ref(raw)
        if ref[0] != "const":
            self.guard(convert, value, what, [ref])
        return value

    def escape(self, what: str) -> None:
        raise _Escape(what)


def _ref_slots(ref) -> list[int]:
    if ref[0] == "slot":
        return [ref[1]]
    if ref[0] == "seq":
        return [s for r in ref[2] for s in _ref_slots(r)]
    return []


def _value(values: list, ref):
    if ref[0] == "slot":
        return values[ref[1]]
    if ref[0] == "seq":
        return ref[1](_value(values, r) for r in ref[2])
    return ref[1]


def _alias(step, values: list) -> int | None:
    """The slot whose value a step's result may simply be: the argument of a copy, of a reshape to the same
    shape, or of a product with a constant of ones (no dtype change)."""
    primitive, refs, kwargs, slots, multi = step
    if multi or not refs or not slots:
        return None
    out = values[slots[0]]
    for k, ref in enumerate(refs):
        if ref[0] != "slot":
            continue
        arg = values[ref[1]]
        if type(arg) is not type(out) or arg.shape != out.shape or arg.dtype != out.dtype:
            continue
        others = refs[:k] + refs[k + 1:]
        if primitive is P.copy and len(refs) == 1 and not kwargs:
            return ref[1]
        if primitive is P.reshape and k == 0 and all(r[0] == "const" for r in others):
            return ref[1]
        if primitive is P.multiply and not kwargs and len(others) == 1 and others[0][0] == "const" \
                and _is_one(others[0][1]):
            return ref[1]
    return None


def _computation(step) -> tuple | None:
    """What a step computes, as a key equal for steps that compute the same (a pure rule-table primitive of
    the same slots, the same constant objects, the same keywords); None for steps never merged."""
    primitive, refs, kwargs, slots, multi = step
    if multi or len(slots) != 1 or primitive not in _shape_safe() or not isinstance(primitive, Primitive):
        return None
    keywords = tuple(sorted((k, _constant_key(v)) for k, v in kwargs.items()))
    return (primitive, tuple(map(_argument_key, refs)), keywords)


def _argument_key(ref) -> tuple:
    if ref[0] == "slot":
        return ref
    if ref[0] == "seq":
        return ("seq", ref[1], tuple(map(_argument_key, ref[2])))
    return ("const", _constant_key(ref[1]))


def _constant_key(value) -> tuple:
    if value is None or isinstance(value, bool | int | float | complex | str | np.dtype | np.generic):
        return (type(value), value)
    if isinstance(value, tuple):
        return (tuple, tuple(map(_constant_key, value)))
    return ("object", id(value))  # arrays and anything else: the same object only


def _is_one(value) -> bool:
    if not isinstance(value, bool | int | float | np.ndarray | np.generic):
        return False
    value = np.asarray(value)
    return value.dtype.kind in ("b", "i", "u", "f") and bool(np.all(value == 1))


class _Rewriter:
    """Peephole rewrites of a list of live steps. Each rule looks at one step (and the private steps feeding
    it) and proposes steps in their place; the proposal is taken only if, run on the traced values, it gives
    the traced results."""

    def __init__(self, tape: _Tape, steps: list, out_refs: list) -> None:
        self.tape, self.steps, self.values = tape, steps, tape.values
        self.outputs = {s for r in out_refs for s in _ref_slots(r)}
        self.readers = defaultdict(list)  # slot -> indices of the steps reading it
        for i, step in enumerate(steps):
            for s in dict.fromkeys(s for r in step[1] for s in _ref_slots(r)):
                self.readers[s].append(i)
        self.producer = {s: i for i, step in enumerate(steps) for s in step[3]}
        self.fast = _fast_forwards()

    def run(self) -> list:
        replaced: dict[int, list] = {}  # step index -> the steps in its place
        for i, step in enumerate(self.steps):
            if i in replaced:
                continue
            for rule in (_scale_smaller_operand, _sum_as_product, _sigmoid_of_sum, _fused_cross_entropy, _short_rows,
                         _implicit_broadcast):
                proposal = rule(self, i, step)
                if proposal is None:
                    continue
                removed, new = proposal
                if not any(j in replaced for j in removed) and self._same_results(new):
                    replaced.update((j, []) for j in [i, *removed])
                    replaced[self._earliest_place(new, [i, *removed])] = new
                    break
        return [s for i, step in enumerate(self.steps) for s in replaced.get(i, [step])]

    def _earliest_place(self, new: list, places: list[int]) -> int:
        """The first of ``places`` where every value ``new`` reads is made: the earlier, the likelier those
        values are still in the cache (the anchor, ``places[0]``, always is such a place)."""
        # (self.producer is as before the rewrites: they only ever make a value earlier, so it errs late)
        made = {s for step in new for s in step[3]}
        reads = {s for step in new for r in step[1] for s in _ref_slots(r)} - made
        return min(at for at in places if all(self.producer.get(s, -1) < at for s in reads))

    def value(self, ref):
        return _value(self.values, ref)

    def private(self, ref) -> int | None:
        """The index of the step making ``ref``'s value if only one step reads it and it is no output."""
        if ref[0] != "slot" or len(self.readers[ref[1]]) != 1 or ref[1] in self.outputs:
            return None
        i = self.producer.get(ref[1])
        return i if i is not None and not self.steps[i][4] else None

    def new_slot(self) -> int:
        self.tape.values.append(None)  # its value: computed by _same_results
        return len(self.tape.values) - 1

    def escapes(self, slot: int) -> bool:
        """Whether an output may share memory with ``slot``'s value (is it, or a view of it)."""
        value = self.values[slot]
        return any(isinstance(self.values[s], np.ndarray) and np.may_share_memory(self.values[s], value)
                   for s in self.outputs)

    def _same_results(self, new: list) -> bool:
        try:
            for primitive, refs, kwargs, slots, multi in new:
                fn = self.fast.get(primitive, (primitive.forward,))[0]
                result = fn(*[self.value(r) for r in refs], **kwargs)
                inputs = [self.values[s] for r in refs for s in _ref_slots(r)]
                for slot, got in zip(slots, result if multi else (result,), strict=True):
                    want = self.values[slot]
                    if want is not None and not _same(got, want):
                        return False
                    if want is None or _views_one_of(got, inputs):
                        self.values[slot] = got  # (a view: the buffers' liveness must see what it views)
        except Exception:  # noqa: BLE001  (a rewrite that does not run on these values is not taken)
            return False
        return True


def _views_one_of(value, arrays: list) -> bool:
    return isinstance(value, np.ndarray) and any(isinstance(a, np.ndarray) and np.may_share_memory(value, a)
                                                 for a in arrays)


def _same(got, want) -> bool:
    """Whether a rewrite's result can stand for the traced one (a NumPy scalar for a 0-d array, as the forwards
    of reductions give them)."""
    return isinstance(got, np.ndarray | np.generic) and (type(got) is type(want) or np.ndim(want) == 0) \
        and np.shape(got) == np.shape(want) and got.dtype == want.dtype and _close(got, want)


def _scale_smaller_operand(rw: _Rewriter, i: int, step):
    """``c * (A @ B)``, ``c`` a scalar: scale ``A`` (or ``B``) when it is smaller than the product."""
    primitive, refs, kwargs, slots, _ = step
    if primitive is not P.multiply or kwargs or len(refs) != 2:
        return None
    for scalar, product in (refs, refs[::-1]):
        j = rw.private(product)
        if j is None or rw.steps[j][0] is not P.matmul or len(rw.steps[j][1]) != 2 \
                or np.ndim(rw.value(scalar)) != 0:
            continue
        operands = list(rw.steps[j][1])
        cost = [(np.size(v), getattr(v, "base", None) is not None) for v in map(rw.value, operands)]
        k = int(cost[1] < cost[0])  # the smaller; of two the same size, not a view (scaled in place if it dies)
        if np.size(rw.value(operands[k])) >= np.size(rw.value(product)):
            continue
        scaled = rw.new_slot()
        new = [(P.multiply, [scalar, operands[k]], {}, [scaled], False)]
        operands[k] = ("slot", scaled)
        return [j], new + [(P.matmul, operands, rw.steps[j][2], slots, False)]
    return None


def _sum_as_product(rw: _Rewriter, i: int, step):
    """``sum(x, axis)`` over one axis of a 2-D float array as a product with a constant vector (BLAS: faster
    than NumPy's reduction, many times so along a short axis); ``c * sum(x, axis)``, ``c`` a Python number,
    with ``c`` in that vector. Along the contiguous last axis NumPy sums pairwise: only up to 128 elements,
    where its sum is no more accurate than the product's."""
    primitive, refs, kwargs, slots, _ = step
    scale, removed, summation = 1, [], step
    if primitive is P.multiply and not kwargs and len(refs) == 2:
        for c, summed in (refs, refs[::-1]):
            j = rw.private(summed)
            if c[0] == "const" and type(c[1]) in (int, float) and j is not None and rw.steps[j][0] is P.sum:
                scale, removed, summation = c[1], [j], rw.steps[j]
                break
        else:
            return None
    elif primitive is P.sum:
        readers = rw.readers[slots[0]]
        if len(readers) == 1 and _sum_as_product(rw, readers[0], rw.steps[readers[0]]) is not None:
            return None  # the product with the scalar reading it does this sum too
    else:
        return None
    _, refs, kwargs, _, _ = summation
    x = rw.value(refs[0])
    if not all(r[0] == "const" for r in refs[1:]) or not isinstance(x, np.ndarray) or x.ndim != 2 \
            or x.dtype not in (np.float32, np.float64):
        return None
    options = dict(zip(("axis", "keepdims"), (r[1] for r in refs[1:]), strict=False)) | kwargs  # P.sum's
    axis = options.pop("axis", None)
    axis = axis[0] if isinstance(axis, tuple) and len(axis) == 1 else axis
    keepdims = bool(options.pop("keepdims", False))
    if axis not in (0, 1, -1) or any(options.values()) or (axis != 0 and x.shape[1] > 128):
        return None
    vector = ("const", np.full(x.shape[axis], scale, x.dtype))
    operands = [vector, refs[0]] if axis == 0 else [refs[0], vector]
    if not keepdims:
        return removed, [(P.matmul, operands, {}, slots, False)]
    flat = rw.new_slot()
    kept = (1, x.shape[1]) if axis == 0 else (x.shape[0], 1)
    return removed, [(P.matmul, operands, {}, [flat], False),
                     (P.reshape, [("slot", flat), ("const", kept)], {}, slots, False)]


def _sigmoid_of_sum(rw: _Rewriter, i: int, step):
    """``sigmoid(x - y)`` in one function that starts with the subtraction; ``sigmoid(x + y)`` as
    ``sigmoid(x - (-y))`` when ``y`` is smaller than the sum (a bias)."""
    primitive, refs, kwargs, slots, _ = step
    if primitive is not P.sigmoid or kwargs or len(refs) != 1:
        return None
    j = rw.private(refs[0])
    if j is None or rw.steps[j][2] or len(rw.steps[j][1]) != 2 or rw.steps[j][0] not in (P.add, P.subtract):
        return None
    x, y = rw.steps[j][1]
    if rw.value(refs[0]).dtype.kind != "f":
        return None
    if rw.steps[j][0] is P.subtract:
        return [j], [(_SIGMOID_OF_DIFFERENCE, [x, y], {}, slots, False)]
    if np.size(rw.value(x)) < np.size(rw.value(y)):
        x, y = y, x
    if np.size(rw.value(y)) >= np.size(rw.value(refs[0])):
        return None  # negating y would cost the pass saved
    if y[0] == "const" and type(y[1]) in (int, float):
        return [j], [(_SIGMOID_OF_DIFFERENCE, [x, ("const", -y[1])], {}, slots, False)]
    negated = rw.new_slot()
    return [j], [(P.negative, [y], {}, [negated], False),
                 (_SIGMOID_OF_DIFFERENCE, [x, ("slot", negated)], {}, slots, False)]


def _fused_cross_entropy(rw: _Rewriter, i: int, step):
    """``softmax_cross_entropy(z, labels)`` (2-D ``z``), with a later ``softmax(z)`` over the last axis."""
    primitive, refs, kwargs, slots, _ = step
    if primitive is not P.softmax_cross_entropy or kwargs or len(refs) != 2 or refs[0][0] != "slot":
        return None
    z, labels = rw.value(refs[0]), rw.value(refs[1])
    if not (isinstance(z, np.ndarray) and z.ndim == 2 and z.dtype in (np.float32, np.float64)
            and isinstance(labels, np.ndarray)
            and labels.dtype.kind in "iu" and labels.shape == z.shape[:1]):
        return None
    for j in range(i + 1, len(rw.steps)):
        primitive, refs_j, kwargs_j, slots_j, multi = rw.steps[j]
        axis = [r[1] if r[0] == "const" else None for r in refs_j[1:]] + list(kwargs_j.values())
        if primitive is P.softmax and refs_j[0] == refs[0] and not multi and set(kwargs_j) <= {"axis"} \
                and axis in ([], [-1], [1]):
            fused = _SoftmaxCrossEntropy(z, True, rw.escapes(slots_j[0]))
            return [j], [(Primitive("softmax_cross_entropy", fused), refs, {}, slots + slots_j, True)]
    return [], [(Primitive("softmax_cross_entropy", _SoftmaxCrossEntropy(z, False, False)), refs, {}, slots, False)]


class _ShortRows:
    """A reduction along the short last axis of a matrix (``max``, ``min``, ``logsumexp``) or a softmax over
    it, computed down the columns of a transposed copy: NumPy reduces a short contiguous axis one row at a
    time, several times slower than it adds whole rows. The same formulas as the rule table's forwards."""

    def __init__(self, kind: str, x: np.ndarray, keepdims: bool) -> None:
        self.kind, self.keepdims = kind, keepdims
        self.scratch = np.empty(x.shape[::-1], x.dtype)

    def __call__(self, x):
        t = self.scratch
        np.copyto(t, x.T)
        if self.kind in ("max", "min"):
            result = (np.maximum if self.kind == "max" else np.minimum).reduce(t, axis=0)
            return result[:, None] if self.keepdims else result
        top = np.maximum.reduce(t, axis=0)
        if self.kind != "softmax" and not np.isfinite(top).all():
            top[~np.isfinite(top)] = 0  # as the rule table's logsumexp: rows of -inf (or inf) stay -inf (nan)
        t -= top
        np.exp(t, out=t)
        total = np.add.reduce(t, axis=0)
        if self.kind == "softmax":
            t /= total
            return np.ascontiguousarray(t.T)
        np.log(total, out=total)
        total += top
        if self.kind == "logsumexp":
            return total[:, None] if self.keepdims else total
        return x - total[:, None]  # log_softmax


_ROW_FUNCTIONS = {P.max: ("max", ("axis", "keepdims")), P.min: ("min", ("axis", "keepdims")),
                  P.logsumexp: ("logsumexp", ("axis", "keepdims")), P.softmax: ("softmax", ("axis",)),
                  P.log_softmax: ("log_softmax", ("axis",))}


def _short_rows(rw: _Rewriter, i: int, step):
    """``max``/``min``/``logsumexp``/``softmax``/``log_softmax`` along the last axis of a float matrix with
    short rows (at most 64, fewer than the rows), as :class:`_ShortRows`."""
    primitive, refs, kwargs, slots, multi = step
    if primitive not in _ROW_FUNCTIONS or multi or refs[0][0] != "slot" \
            or not all(r[0] == "const" for r in refs[1:]):
        return None
    kind, names = _ROW_FUNCTIONS[primitive]
    x = rw.value(refs[0])
    if not isinstance(x, np.ndarray) or x.ndim != 2 or x.dtype not in (np.float32, np.float64) \
            or not 1 < x.shape[1] <= 64 or x.shape[0] <= x.shape[1] or len(refs) > len(names) + 1:
        return None
    options = dict(zip(names, (r[1] for r in refs[1:]), strict=False)) | kwargs
    if set(options) - set(names) or options.get("axis", -1 if kind.endswith("softmax") else None) not in (1, -1):
        return None
    short = Primitive(kind, _ShortRows(kind, x, bool(options.get("keepdims", False))), differentiable=False)
    return [], [(short, [refs[0]], {}, slots, False)]


def _implicit_broadcast(rw: _Rewriter, i: int, step):
    """``f(broadcast_to(a, shape), b)``, ``f`` a binary ufunc and ``b`` of that shape: ``f(a, b)`` (the ufunc
    broadcasts ``a`` itself; one call less)."""
    primitive, refs, kwargs, slots, multi = step
    function = rw.fast.get(primitive, (None,))[0]
    if not isinstance(function, np.ufunc) or function.nin != 2 or multi or kwargs or len(refs) != 2:
        return None
    out = rw.values[slots[0]]
    for k in (0, 1):
        j = rw.private(refs[k])
        other = rw.value(refs[1 - k])
        if j is None or rw.steps[j][0] is not P.broadcast_to or rw.steps[j][2] \
                or np.shape(other) != np.shape(out):
            continue
        operands = list(refs)
        operands[k] = rw.steps[j][1][0]
        return [j], [(primitive, operands, {}, slots, False)]
    return None


def _typed_scalars(step, values: list):
    """A Python number beside an array of the result's dtype, in a ufunc step, as a 0-d array of that dtype:
    the same values (NumPy casts such a number to the array's dtype), and NumPy converts no scalar per call."""
    primitive, refs, kwargs, slots, multi = step
    if not slots:
        return step
    out = values[slots[0]]
    if multi or kwargs or len(refs) != 2 or not isinstance(getattr(np, primitive.name, None), np.ufunc) \
            or primitive is not getattr(P, primitive.name, None) or not isinstance(out, np.ndarray) \
            or out.dtype.kind not in "iufc":
        return step
    for k in (0, 1):
        number, array = refs[k], refs[1 - k]
        if number[0] == "const" and type(number[1]) in (int, float) and array[0] == "slot" \
                and isinstance(values[array[1]], np.ndarray) and values[array[1]].dtype == out.dtype:
            typed = list(refs)
            try:
                typed[k] = ("const", np.asarray(number[1], out.dtype))
                ufunc = getattr(np, primitive.name)
                same = np.array_equal(ufunc(*[_value(values, r) for r in typed]), out, equal_nan=True)
            except (OverflowError, ValueError, TypeError):
                same = False
            return (primitive, typed, kwargs, slots, multi) if same else step
    return step


def _live(steps: list, out_refs: list) -> list:
    """The steps some output (or some guard) needs."""
    needed = {s for r in out_refs for s in _ref_slots(r)}
    live = []
    for step in reversed(steps):
        if isinstance(step[0], _Guard) or any(s in needed for s in step[3]):
            live.append(step)
            for r in step[1]:
                needed.update(_ref_slots(r))
    return live[::-1]


def _may_view(value, slot: int, values: list, aliased: dict) -> bool:
    """Whether the array ``value``, made from ``slot``'s value, may share its memory in the replay: it shares
    the traced value's, or that of a slot that became its alias (a view of a copy is a view of the original
    once the copy is an alias)."""
    return isinstance(value, np.ndarray) and any(
        isinstance(v, np.ndarray) and np.may_share_memory(value, v) for v in (values[slot], *aliased.get(slot, ())))


class _Program:
    """The straight-line replay of one trace."""

    def __init__(self, tape: _Tape, input_slots: list[int | None], out_refs: list, out_spec,
                 donated: frozenset[int] = frozenset()) -> None:
        self.out_spec, self.donated = out_spec, donated
        self.output_kinds: list | None = None  # per output leaf: the type eager mode returns
        self.fast: Callable | None = None  # set once trusted: see _fast_path
        self.fast_source: str | None = None
        self.checks = 0  # replays compared with eager evaluation so far
        self.decisions = tuple(tape.decisions)
        # 1. aliases (renames), unless the alias is an output
        output_slots = {s for r in out_refs for s in _ref_slots(r)}
        rename: dict[int, int] = {}

        def resolve(ref):
            if ref[0] == "slot":
                return ("slot", rename.get(ref[1], ref[1]))
            if ref[0] == "seq":
                return ("seq", ref[1], [resolve(r) for r in ref[2]])
            return ref

        kept, made = [], {}  # made: (primitive, arguments) -> the slot of the first step computing it
        for primitive, refs, kwargs, slots, multi in tape.steps:
            step = (primitive, [resolve(r) for r in refs], kwargs, slots, multi)
            alias = None if not slots or slots[0] in output_slots else _alias(step, tape.values)
            computation = _computation(step)
            if alias is None and computation is not None and slots[0] not in output_slots:
                alias = made.get(computation)  # the same rule-table function of the same values: computed once
                if alias is not None and _key(tape.values[alias]) != _key(tape.values[slots[0]]):
                    alias = None
            if alias is None:
                kept.append(step)
                if computation is not None:
                    made.setdefault(computation, slots[0])
            else:
                rename[slots[0]] = alias
        self.out_refs = out_refs = [resolve(r) for r in out_refs]
        # slot -> the traced values of the slots that became its aliases: a view of one of them (of a copy
        # become an alias) is a view of this slot's memory in the replay, though not in the trace
        self.aliased: dict[int, list] = defaultdict(list)
        for slot, alias in rename.items():
            if isinstance(tape.values[slot], np.ndarray):
                self.aliased[alias].append(tape.values[slot])
        # 2. dead steps go; rewrites; what they left dead goes
        live = _live(_Rewriter(tape, _live(kept, out_refs), out_refs).run(), out_refs)
        live = [_typed_scalars(step, tape.values) for step in live]
        self.n_steps = len(live)
        self.has_guards = any(isinstance(step[0], _Guard) for step in live)
        self.source, self.namespace = self._emit(tape, live, input_slots, out_refs, donated)
        code = builtins.compile(self.source, "<chainrule.compile>", "exec")
        exec(code, self.namespace)
        self.run = self.namespace["replay"]

    @staticmethod
    def _outputs_into_products(steps: list, fast: dict, values: list, last_use: dict, escapes: set,
                               donated: frozenset, last_guard: int) -> dict[int, int]:
        """Step index -> slot: an elementwise step making an output (``w - lr * g`` of a step without donated
        parameters) writes into the matrix product it reads, which dies there and is a fresh array on every
        call — rather than into a fresh array of its own. The product's writes to new memory overlap its
        arithmetic; the elementwise step then works in place, on memory just written."""
        products = {s for step in steps if not isinstance(step[0], _Guard) and not step[4]
                    and fast.get(step[0], (None,))[0] is np.matmul for s in step[3]}
        chosen: dict[int, int] = {}
        for i, (primitive, _, _, slots, multi) in enumerate(steps):
            fn, takes_out = fast.get(primitive, (None, False))
            if isinstance(primitive, _Guard) or multi or not takes_out or fn in _PRODUCTS or slots[0] not in escapes \
                    or not isinstance(values[slots[0]], np.ndarray) or values[slots[0]].ndim == 0:
                continue
            if i > last_guard and _dies_into(steps, i, values, last_use, escapes, donated) is not None:
                continue  # it writes over a donated input instead
            product = _dies_into(steps, i, values, last_use, escapes, products - set(chosen.values()))
            if product is not None:
                chosen[i] = product
        return chosen

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
                        if _may_view(out_value, s, values, self.aliased):
                            last_use[s] = max(last_use.get(s, i), last_use.get(out_slot, i))
                            if out_slot in escapes:
                                escapes.add(s)
        # buffers: a pool per (shape, dtype); a buffer is free again after its value's last use
        pool: dict[tuple, list[str]] = {}
        owner: dict[int, str] = {}  # slot -> buffer name holding it
        n_buffers = 0
        # a donated input is written over only after the last guard: a replay that stops at a guard leaves
        # the arguments as they were, for the eager run or the new trace that follows
        last_guard = max((i for i, step in enumerate(steps) if isinstance(step[0], _Guard)), default=-1)
        into_product = self._outputs_into_products(steps, fast, values, last_use, escapes, donated, last_guard)
        lines = ["def replay(" + ", ".join(f"s{s}" for s in input_slots if s is not None) + "):"]
        for i, (primitive, refs, kwargs, slots, multi) in enumerate(steps):
            if isinstance(primitive, _Guard):
                name = f"g{i}"
                namespace[name] = primitive
                lines.append(f"    {name}({', '.join(expr(r) for r in refs)})")
                for s in dict.fromkeys(s for r in refs for s in _ref_slots(r)):
                    if last_use.get(s) == i and s in owner:
                        pool.setdefault(_key(values[s]), []).append(owner.pop(s))
                continue
            fn, takes_out = fast.get(primitive, (primitive.forward, False))
            if primitive is P.matmul and P.outer_product(*(_value(values, r) for r in refs)):
                fn = np.dot  # NumPy's matmul is many times slower with an inner dimension of 1 (batch size 1)
            if primitive in fast:
                name = f"n_{getattr(fn, '__name__', primitive.name)}"
            else:
                name = f"f_{''.join(c if c.isalnum() else '_' for c in primitive.name)}_{id(primitive):x}"
            call_args = [expr(r) for r in refs] + [f"{k}={const(v)}" for k, v in kwargs.items()]
            if primitive in _METHODS and refs[0][0] == "slot" and all(r[0] == "const" for r in refs[1:]) \
                    and not (primitive is P.transpose and kwargs):
                name, call_args = f"{call_args[0]}.{_METHODS[primitive]}", call_args[1:]
            else:
                namespace[name] = fn
            dying = list(dict.fromkeys(s for r in refs for s in _ref_slots(r) if last_use.get(s) == i and s in owner))
            out_value = values[slots[0]]
            buffer = None
            reuse = [s for r in refs for s in _ref_slots(r) if s in donated and last_use.get(s) == i and i > last_guard
                     and s not in escapes and _key(values[s]) == _key(out_value)] \
                if takes_out and not multi and fn not in _PRODUCTS and isinstance(out_value, np.ndarray) else []
            if reuse and slots[0] in escapes:  # an output written over a donated input that dies here
                donated = donated - {reuse[0]}
                call_args.append(f"out=s{reuse[0]}")
            elif i in into_product:
                call_args.append(f"out=s{into_product[i]}")
            elif takes_out and not multi and isinstance(out_value, np.ndarray) and out_value.ndim > 0 \
                    and slots[0] not in escapes and slots[0] not in into_product.values():
                key = (out_value.shape, out_value.dtype.str)
                elementwise = fn not in _PRODUCTS
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


_PRODUCTS = (np.matmul, np.dot)  # functions whose output must not overlap their inputs


def _key(value) -> tuple:
    return (value.shape, value.dtype.str)


def _dies_into(steps: list, i: int, values: list, last_use: dict, escapes: set, candidates) -> int | None:
    """A slot read by step ``i`` (directly), dying there, no output, of the shape and dtype of its result."""
    out = values[steps[i][3][0]]
    for r in steps[i][1]:
        if r[0] == "slot" and r[1] in candidates and last_use.get(r[1]) == i and r[1] not in escapes \
                and isinstance(values[r[1]], np.ndarray) and _key(values[r[1]]) == _key(out):
            return r[1]
    return None


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


def _fast_path(program: _Program, spec, leaves: tuple, on_stale: Callable) -> Callable | None:
    """Generated code doing what ``_Compiled.__call__`` does for arguments like the traced ones: check them
    (structure, types, shapes, dtypes, Python scalars, which arrays are one object), replay, and rebuild the
    outputs; for other arguments it returns ``_MISS``. A replay stopped by a guard goes on in
    ``on_stale(arguments, stale)``. None where a leaf is neither an array nor a scalar."""
    namespace: dict[str, Any] = {"ndarray": np.ndarray, "MISS": _MISS, "replay": program.run, "Stale": _Stale,
                                 "on_stale": on_stale}

    def const(value) -> str:
        namespace[f"k{len(namespace)}"] = value
        return f"k{len(namespace) - 1}"

    lines, names, stack, containers = ["def fast(*v):"], {}, [("v", spec)], 0
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
            containers += 1
            child_names = [f"v{containers}_{i}" for i in range(len(children))]
            lines.append(f"    {', '.join(child_names)}, = {name}{'.values()' if kind is dict else ''}")
            stack.extend(zip(child_names, children, strict=True))
    arrays = []
    for i, leaf in enumerate(leaves):
        name = names[i]
        if leaf[0] == "array" and leaf[3] != i:
            lines.append(f"    if {name} is not {names[leaf[3]]}: return MISS")
        elif leaf[0] == "array":
            arrays.append(name)
            dtype = const(np.dtype(leaf[2]))  # `is` first: NumPy's built-in dtypes are singletons
            lines.append(f"    if type({name}) is not ndarray or {name}.shape != {leaf[1]!r} "
                         f"or {name}.dtype is not {dtype} and {name}.dtype.str != {leaf[2]!r}: return MISS")
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
        if hasattr(node[0], "_fields"):  # a namedtuple
            return f"{const(node[0])}({items})"
        return f"{const(node[0])}([{items}])"

    try:
        if program.has_guards:
            lines += ["    try:", f"        r = replay({', '.join(arrays)})", "    except Stale as stale:",
                      "        return on_stale(v, stale)"]
        else:
            lines.append(f"    r = replay({', '.join(arrays)})")
        lines.append(f"    return {build(program.out_spec)}")
        program.fast_source = "\n".join(lines) + "\n"
        exec(builtins.compile(program.fast_source, "<chainrule.compile fast path>", "exec"), namespace)
    except (RecursionError, SyntaxError, MemoryError):  # absurdly deep outputs: the general path does
        return None
    return namespace["fast"]


def _plain(value):
    return value.data if isinstance(value, Tensor) else value


class _Compiled:
    """The function returned by :func:`compile`."""

    _CHECKED_CALLS = 2  # replays compared with eager evaluation (to float tolerance) before they are trusted
    _MAX_PROGRAMS = 8  # programs per argument signature, one per set of decisions, before eager mode

    def __init__(self, fun: Callable, donate_argnums: tuple[int, ...] = ()) -> None:
        self.fun = fun
        self.donate_argnums = donate_argnums
        self.cache: dict[Any, _Program | str] = {}  # key -> the first program, or the reason it runs eagerly
        # key -> {decisions (a prefix of some program's): that program, or why calls deciding so run eagerly}
        self.programs: dict[Any, dict[tuple, _Program | str]] = {}
        self.n_programs: dict[Any, int] = {}  # key -> programs traced for it
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
        library = namespace(*flat)
        if library is not np:
            return self._eager(args, kwargs, f"arrays of {library.name} (the replay is NumPy code)")
        if mode.grad_enabled and any(isinstance(v, Tensor) and v.requires_grad for v in flat):
            return self._eager(args, kwargs, "Tensor arguments that require grad (the replay records no graph)")
        key = self._key(flat, spec)
        program = self.cache.get(key)
        if program is None:
            program = self.cache[key] = self._trace(args, flat, spec, key)
            self.n_programs[key], self.programs[key] = 1, {}
            self._register(key, program)
        if isinstance(program, str):
            return self.fun(*args)
        return self._replay(program, key, args, flat, spec)

    @staticmethod
    def _key(flat: list, spec) -> tuple:
        first_seen: dict[int, int] = {}
        return (repr(spec), tuple(_describe_leaf(v, first_seen, i) for i, v in enumerate(flat)))

    def _replay(self, program: _Program, key, args, flat, spec):
        """Run ``program`` (and, where a guard stops it, the program for the decision seen there)."""
        arrays = [v if type(v) is np.ndarray else np.asarray(_plain(v))
                  for i, (v, d) in enumerate(zip(flat, key[1], strict=True)) if d[0] == "array" and d[3] == i]
        expected = _MISS  # the eager result, computed once even where a guard sends the call on
        while True:
            checked = program.checks < self._CHECKED_CALLS
            if checked and expected is _MISS:
                expected = self.fun(*args)  # before the replay, which may write over donated arguments
            try:
                results = program.run(*arrays)
            except _Stale as stale:
                program = self._branch(program, stale, key, args, flat, spec)
                if isinstance(program, str):
                    return self.fun(*args) if expected is _MISS else expected
                continue
            if not checked:
                self._fast = program.fast
                return self._finish(program, results)
            program.checks += 1
            result = self._check(program, key, expected, results)
            if program.checks == self._CHECKED_CALLS and not isinstance(self.cache[key], str):  # trusted now
                on_stale = functools.partial(self._after_stale, program)
                self._fast = program.fast = _fast_path(program, spec, key[1], on_stale)
            return result

    def _branch(self, program: _Program, stale: _Stale, key, args, flat, spec) -> _Program | str:
        """The program for the decisions a replay saw (those before the guard that stopped it, and what it
        saw there): one traced before for them, or one traced now (or why such calls run eagerly)."""
        guard, observed = stale.guard, _hashable(stale.observed)
        decided = program.decisions[:guard.index] + ((guard.what, observed),) if observed is not None else None
        found = self.programs[key].get(decided) if decided is not None else None
        if found is not None:
            return found
        if isinstance(self.cache[key], str):
            return self.cache[key]
        if self.n_programs[key] >= self._MAX_PROGRAMS:
            reason = (f"its decisions on values keep changing ({guard.what} was {guard.expected!r} "
                      f"when traced, is {stale.observed!r} now; {self._MAX_PROGRAMS} programs traced)")
            self.cache[key] = reason
            warnings.warn(f"chainrule.compile({getattr(self.fun, '__name__', 'function')}): running eagerly: "
                          f"{reason}", CompileWarning, stacklevel=4)
            return reason
        self.n_programs[key] += 1
        found = self._trace(args, flat, spec, key, stacklevel=5)
        if decided is not None:
            self.programs[key][decided] = found
        self._register(key, found)
        return found

    def _register(self, key, program: _Program | str) -> None:
        if isinstance(program, _Program):
            for k in range(1, len(program.decisions) + 1):
                self.programs[key][program.decisions[:k]] = program

    def _after_stale(self, program: _Program, args: tuple, stale: _Stale):
        """Where a guard stopped the fast path's replay: go on with the program for the new decision."""
        flat, spec = tree_flatten(args)
        key = self._key(flat, spec)
        found = self._branch(program, stale, key, args, flat, spec)
        return self.fun(*args) if isinstance(found, str) else self._replay(found, key, args, flat, spec)

    def _eager(self, args, kwargs, reason: str):
        warnings.warn(f"chainrule.compile({getattr(self.fun, '__name__', 'function')}): running eagerly: {reason}",
                      CompileWarning, stacklevel=3)
        return self.fun(*args, **kwargs)

    def _trace(self, args, flat, spec, key, stacklevel: int = 4) -> _Program | str:
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
        try:
            with _Switch(tape=tape, grad_enabled=True):
                out = self.fun(*tree_unflatten(spec, traced))
                out_flat, out_spec = tree_flatten(out)
                out_refs = [tape._ref(_plain(o)) for o in out_flat]
        except _Escape as escape:
            reason = f"the traced function left the graph: {escape}"
            warnings.warn(f"chainrule.compile({getattr(self.fun, '__name__', 'function')}): running eagerly: "
                          f"{reason}", CompileWarning, stacklevel=stacklevel)
            return reason
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
            self._fast = None  # (it may replay another program traced for these arguments)
            warnings.warn(f"chainrule.compile({getattr(self.fun, '__name__', 'function')}): running eagerly: "
                          f"{reason}", CompileWarning, stacklevel=4)
            return expected
        program.output_kinds = [type(v) for v in flat]
        # The replay's own numbers, not eager mode's (they may differ in the last bits: rewrites reassociate),
        # so that every call of a program gives what a trusted replay gives, however many calls it has had —
        # a training run resumed from a checkpoint (a fresh trace) continues bit for bit.
        return self._finish(program, results)

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
    are part of the cache key (a new value traces again). Index functions (``argmax``, ``sort``, ``median``,
    masks, ...) are recomputed by every replay; Python decisions on values (``if t > 0``, ``x[int(t)]``) and
    data-dependent shapes are checked on every replay, and a changed one traces the function again for it
    (eight programs per signature at most, then eager mode with a :class:`CompileWarning`). Functions must be
    pure: a function that writes in place, calls ``backward()`` or takes ``t.numpy()`` runs eagerly, with a
    :class:`CompileWarning`.
    The compiled function is not re-entrant (its buffers are shared between calls). Arrays ``fun`` closes over
    are constants of the trace (as under ``jax.jit``): do not change them between calls.

    ``donate_argnums``: positional arguments (pytrees of arrays) whose arrays the replay may write its
    outputs into, as JAX's ``jit`` does — e.g. the parameters of a training step that returns the new
    parameters, updated in place instead of in fresh arrays. Do not use a donated argument after the call.

    >>> def loss(w, x, y):
    ...     return ((x @ w - y) ** 2).mean()
    >>> step = chainrule.compile(chainrule.value_and_grad(loss))
    >>> w, x, y = np.array([1.0, -1.0]), np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([0.0, 1.0])
    >>> value, gradient = step(w, x, y)     # traced on the first call, replayed on the next ones
    >>> value, gradient
    (2.5, array([ -7., -10.]))
    >>> np.allclose(gradient, chainrule.grad(loss)(w, x, y))    # eager mode's answer
    True
    """
    if isinstance(donate_argnums, int):
        donate_argnums = (donate_argnums,)
    return _Compiled(fun, tuple(donate_argnums))
