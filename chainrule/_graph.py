"""The computation graph and the backward walk.

A :class:`Primitive` is a forward function on raw arrays plus one vector–Jacobian product (VJP) rule per
differentiable argument. Calling a primitive on Tensors that require grad records a :class:`Node`: the
primitive, its parents (other nodes, or leaf Tensors), and the raw arguments its rules need. A Tensor is a
handle on (array, node); the graph itself is made of nodes, so rebinding a Tensor (``x += 1``) never
changes what was recorded.

:func:`backward_pass` walks the graph once in reverse topological order, giving each vertex its error
signal v̄ = Σ_children v̄_child ∂child/∂v. ``Tensor.backward`` takes the nodes in descending creation
number (a node is numbered after its parents, so that order is topological, and a heap of the nodes that
have a signal yields it with no sort of the whole graph); ``grad`` and the other transformations, which stop
at their inputs, use :func:`graph_between` (an iterative toposort: graphs can be 10^5+ nodes deep). With
``create_graph=True`` the rules run on Tensors with recording on, so the backward pass is itself a graph.

What a node keeps is tuples (parents, argument positions, saved arguments, leaf versions as ints, locked
arrays) and a shared empty mapping for absent keywords: a tuple of arrays and numbers stops being tracked by
the cyclic collector at its first collection, so a node and its parents tuple are all a big graph adds to
the collector's old generation.

**The specification both engines implement.** This module is the reference engine, in Python; the optional
C accelerator (``chainrule/_cengine.c``, see :func:`engine_info`) implements the same, and for every case
not listed here as its own it calls the Python code of this module, so that what it does and the errors it
raises are this module's by construction.

- *Recording* (``Primitive.__call__``). Tensors among the positional arguments are replaced by their
  arrays (``raw``); one that requires grad, while recording is on and the primitive is differentiable, is a
  parent: its node, or the Tensor itself when it is a leaf. The forward runs on the raw arguments; a NumPy
  scalar result becomes a 0-d array. No parent: the result is a constant Tensor. Otherwise the node holds
  ``primitive``; ``parents`` and ``positions`` (each parent's argument position), aligned; ``args``, the
  raw arguments, where an array the rules do not read (``saves``) with more than ``_SMALL`` elements is
  replaced by its :class:`Shape`; ``kwargs`` (a copy, or the shared empty mapping); ``value``, the result
  (its Shape when large and unread); ``versions``, None if no parent is a leaf, else each leaf parent's
  ``_version`` at recording and -1 for a node parent; ``locked``, what :func:`_lock` returned for the saved
  arrays (every array when ``saves`` is None), the node being a :class:`_LockingNode` when that is not
  empty; ``site`` and ``name`` None; ``seq`` the next creation number. The result is a Tensor with
  ``requires_grad=True``, ``grad=None``, ``_version=0``, ``name=None`` and that node.
- *The walk* (``Tensor.backward``, :func:`_walk_by_creation`), with recording off: the nodes that have an
  error signal, newest first; each is taken out of ``signals`` (a signal of None is skipped), its signal
  dropped from ``owned``, handed to its parents by :func:`_propagate`, and the node released unless
  ``retain_graph``; then each leaf that requires grad gets its signal added to ``.grad`` (:func:`_accumulate`).
  ``_propagate`` checks that the node was not released and that no leaf parent's version changed, calls
  ``rules[position](g, ans, *args, **kwargs)`` once per parent in the order of ``parents``, passes the
  result to :func:`_conform` unless it is an array of the argument's shape and dtype, and adds it to the
  parent's signal: a first signal is stored (and a node parent queued); a signal this pass summed for that
  parent alone is added to in place; any other is replaced by a new sum, which is then this pass's own.
- *Release* (``Node.release``): the locked arrays are given back (:func:`_unlock`) and the node stops being
  a ``_LockingNode``; ``args``, ``kwargs``, ``value`` and ``versions`` become None, ``parents`` and
  ``positions`` empty.

The C engine takes the record path for single-output primitives while no compile tape, no debug level and
no profiler or tracer is active (``chainrule.viz`` and ``detect_anomaly`` therefore see this module's code),
and the walk's node loop without ``create_graph`` and below debug level 2, except nodes of ``unusual``
primitives (multiple outputs, variadic, ``select``), which go through :func:`_propagate`. Its ``Node`` is a
C type with this ``Node``'s attributes (read-only, but for ``site`` and ``name``: text); it keeps up to two
parents inline, and a node that can be on no reference cycle — a rule-table primitive (``acyclic``), plain
leaf Tensors, arrays, numbers and Shapes, and no parent node that could be on one — is recorded untracked
by the cyclic collector, so a graph of a million nodes costs its collections nothing. A leaf leads back
into a graph only through ``.grad``: storing a Tensor with a graph there first tracks every node that
Tensor reaches (``Tensor.name`` then takes only text). The walk checks a result against a :class:`Shape`
target in C too; ``unbroadcast`` and the unary ufuncs' forwards decide their common cases (equal shapes; one
ndarray) in C. Tensor's arithmetic operators, each ``return chainrule.numpy.<name>(self, other)``
in ``chainrule/_tensor.py``, make the same call from C. ``CHAINRULE_ENGINE=python`` selects this engine at
import.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import heapq
import importlib
import itertools
import math
import os
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

import numpy as np

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
_ENGINES = ("c", "python")


def _load_engine() -> tuple[Any, str]:
    """The C accelerator module, or None, and why: ``CHAINRULE_ENGINE`` unset (or ``auto``) takes the C
    engine when it is built; ``python`` selects the pure-Python engine; ``c`` requires the C engine."""
    choice = os.environ.get("CHAINRULE_ENGINE", "").strip().lower() or "auto"
    if choice not in (*_ENGINES, "auto"):
        raise ValueError(f"chainrule: CHAINRULE_ENGINE={os.environ['CHAINRULE_ENGINE']!r} is not an engine; "
                         f"expected 'c', 'python' or 'auto' (the same as unset: C when it is built)")
    if choice == "python":
        return None, "selected by CHAINRULE_ENGINE=python"
    try:
        _cengine = importlib.import_module(f"{__package__}._cengine")
    except ImportError as error:
        if choice == "c":
            raise ImportError(f"chainrule: CHAINRULE_ENGINE=c, but the C engine cannot be imported ({error}); "
                              f"build it with `pip install .` (it needs a C compiler)") from error
        reason = ("the C accelerator is not built (no C compiler when chainrule was installed)"
                  if isinstance(error, ModuleNotFoundError) else f"the C accelerator failed to import: {error}")
        return None, reason
    return _cengine, "the C accelerator (chainrule/_cengine.c)"


_C, _ENGINE_REASON = _load_engine()


def engine_info() -> dict[str, str]:
    """Which engine records graphs and walks them: ``"c"`` (the optional C accelerator, built by
    ``pip install .`` when a C compiler is present) or ``"python"`` (the reference engine), and why.
    ``CHAINRULE_ENGINE=python`` in the environment selects the Python engine (read at import).

    >>> info = chainrule.engine_info()
    >>> info["engine"] in ("c", "python"), sorted(info)
    (True, ['engine', 'reason'])
    """
    return {"engine": "python" if _C is None else "c", "reason": _ENGINE_REASON}


class _Mode:
    """The grad-mode switch and the debugging level beside it: chainrule's only mutable global state,
    kept per thread and per asyncio task (a :class:`contextvars.ContextVar` holding an immutable value).

    ``grad_enabled``: whether primitives record nodes. ``debug``: 0 off; 1 record each node's user source
    line; 2 also check every value for NaN/inf. ``tape``: while :func:`chainrule.compile` traces a function,
    the tape every primitive call goes onto.
    """

    __slots__ = ("grad_enabled", "debug", "tape")

    def __init__(self, grad_enabled: bool = True, debug: int = 0, tape: Any = None) -> None:
        self.grad_enabled, self.debug, self.tape = grad_enabled, debug, tape

    def replace(self, *, grad_enabled: Any = None, debug: Any = None, tape: Any = ...) -> _Mode:
        """This mode with the given fields changed (``None``/``...`` keep a field: a tape may be None)."""
        return _Mode(self.grad_enabled if grad_enabled is None else grad_enabled,
                     self.debug if debug is None else debug, self.tape if tape is ... else tape)


# A new thread starts from the default (recording on, no debugging, no tape), as in PyTorch; an asyncio
# task starts from a copy of the context that created it.
# (A _Mode is never changed in place: `replace` makes a new one, so sharing the default is safe.)
_state: contextvars.ContextVar[_Mode] = contextvars.ContextVar("chainrule_mode", default=_Mode())  # noqa: B039


class _ModeView:
    """Read-only view of the calling thread's mode: ``mode.grad_enabled``, ``mode.debug``, ``mode.tape``.
    Change them with the context managers (:func:`no_grad`, :func:`enable_grad`, :func:`detect_anomaly`)."""

    __slots__ = ()
    grad_enabled = property(lambda self: _state.get().grad_enabled)
    debug = property(lambda self: _state.get().debug)
    tape = property(lambda self: _state.get().tape)


mode = _ModeView()


def untraceable(what: str) -> None:
    """Called where a value leaves the graph (``float(t)``, ``t.item()``, in-place writes, ...): tracing for
    :func:`chainrule.compile` cannot follow it, so the tracer gives up there (and the call runs eagerly)."""
    tape = _state.get().tape
    if tape is not None:
        tape.escape(what)


class _Switch(contextlib.ContextDecorator):
    """Set mode attributes for the extent of a ``with`` block (or a decorated call) in this context only.

    Each entry pushes a new mode whose ``previous`` is the one it replaced; each exit restores it. Nothing
    is stored on the switch itself, so one switch object (a decorator) is safe to use from many threads."""

    def __init__(self, attribute: str | None = None, value: Any = None, **changes: Any) -> None:
        self.changes = dict(changes)
        if attribute is not None:
            self.changes[attribute] = value

    def __enter__(self):
        _stack_push(_state.set(_state.get().replace(**self.changes)))
        return self

    def __exit__(self, *exc):
        _state.reset(_stack_pop())
        return False


# The tokens of the switches entered in this context, innermost last (so exits restore in LIFO order even
# when one switch object is entered from several threads at once).
_tokens: contextvars.ContextVar[tuple] = contextvars.ContextVar("chainrule_mode_tokens", default=())


def _stack_push(token: contextvars.Token) -> None:
    _tokens.set(_tokens.get() + (token,))


def _stack_pop() -> contextvars.Token:
    tokens = _tokens.get()
    _tokens.set(tokens[:-1])
    return tokens[-1]


def no_grad() -> _Switch:
    """Context manager / decorator: operations inside record no graph.

    >>> w = chainrule.tensor([1.0, 2.0], requires_grad=True)
    >>> (w * w).sum().backward()
    >>> with chainrule.no_grad():
    ...     w -= 0.1 * w.grad        # a parameter update, not recorded
    >>> w
    tensor([0.8, 1.6], requires_grad=True)
    """
    return _Switch("grad_enabled", False)


def enable_grad() -> _Switch:
    """Context manager / decorator: turn recording back on (e.g. inside ``no_grad``).

    >>> with chainrule.no_grad(), chainrule.enable_grad():
    ...     chainrule.is_grad_enabled()
    True
    """
    return _Switch("grad_enabled", True)


def is_grad_enabled() -> bool:
    """Whether operations are currently recorded (in this thread).

    >>> with chainrule.no_grad():
    ...     chainrule.is_grad_enabled()
    False
    """
    return _state.get().grad_enabled


class AnomalyError(FloatingPointError):
    """A NaN or inf appeared under :func:`detect_anomaly` (a ``FloatingPointError``).

    >>> x = chainrule.tensor([1.0, -1.0], requires_grad=True)
    >>> with np.errstate(invalid="ignore"):
    ...     try:
    ...         with chainrule.detect_anomaly():
    ...             y = chainrule.numpy.log(x)
    ...     except chainrule.AnomalyError as error:
    ...         print(isinstance(error, FloatingPointError), "log" in str(error))
    True True
    """


def detect_anomaly() -> _Switch:
    """Context manager: raise :class:`AnomalyError` at the first NaN/inf produced by a forward operation
    or a backward rule, naming the operation and the user's source line that created it.

    >>> x = chainrule.tensor([1.0, -1.0], requires_grad=True)
    >>> with chainrule.detect_anomaly():
    ...     loss = chainrule.numpy.log(x).sum()
    Traceback (most recent call last):
    ...
    chainrule._graph.AnomalyError: chainrule.detect_anomaly: forward of log produced NaN ...
    """
    return _Switch("debug", 2)


def user_site() -> str:
    """`file:line in function` of the first caller frame outside the chainrule package."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back
    if frame is None:
        return "<unknown>"
    return f"{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}"


def _check_finite(what: str, value: Any, site: str | None) -> None:
    values = value if isinstance(value, tuple) else (value,)
    for item in values:
        item = item.data if isinstance(item, Tensor) else item
        if isinstance(item, np.ndarray) and item.dtype.kind in "fc" and not np.isfinite(item).all():
            bad = "NaN" if np.isnan(item).any() else "inf"
            raise AnomalyError(f"chainrule.detect_anomaly: {what} produced {bad}"
                               + (f" (operation created at {site})" if site else ""))


class Primitive(object if _C is None else _C.PrimitiveBase):  # (the C base's call is the record path)
    """An operation with a forward function on raw arrays and VJP rules, one per argument position.

    ``vjps[i](g, ans, *args, **kwargs)`` returns ḡ·∂ans/∂args[i], shaped like ``args[i]``; ``None`` marks
    an argument with no gradient. A ``variadic`` primitive (any number of array arguments) has one rule,
    ``vjps[0](position, g, ans, *args, **kwargs)``. See :mod:`chainrule.extend` for the public way to make one.

    ``saves`` names what the rules read: argument positions and ``"ans"``. The graph keeps those arrays
    and, for every other array, only its shape and dtype (a :class:`Shape`), so that memory is freed as
    soon as the forward pass is done with it. ``None`` (the default) keeps everything.

    Every function of :mod:`chainrule.numpy` with a derivative rule of its own is one (its docstring is
    written from its registration, :mod:`chainrule._registry`).

    >>> isinstance(chainrule.numpy.sin, chainrule.Primitive)
    True
    >>> double = chainrule.Primitive("double", lambda x: 2 * x, (lambda g, ans, x: 2 * g,), formulas=("2{g}",))
    >>> x = chainrule.tensor([1.0, 3.0], requires_grad=True)
    >>> y = double(x)
    >>> y
    tensor([2., 6.], grad_fn=double)
    >>> y.sum().backward()
    >>> x.grad
    array([2., 2.])
    """

    __slots__ = ("name", "forward", "_vjps", "missing_rules", "formulas", "differentiable", "n_outputs",
                 "variadic", "saves", "unusual", "acyclic", "__wrapped__", "__dict__")

    def __init__(self, name: str, forward: Callable, vjps: Sequence[Callable | None] = (),
                 formulas: Sequence[str | None] = (), differentiable: bool = True,
                 n_outputs: int = 1, variadic: bool = False, saves: Sequence[int | str] | None = None) -> None:
        self.name, self.forward = name, forward
        self.differentiable, self.n_outputs, self.variadic = differentiable, n_outputs, variadic
        self.vjps, self.formulas = vjps, tuple(formulas)
        self.saves = None if saves is None or n_outputs > 1 else frozenset(saves)
        self.unusual = n_outputs > 1 or variadic  # off the backward pass's fast path (see _unusual)
        # True for the rule table's primitives (set at registration): their functions hold nothing that could
        # lead back to a graph, so the C engine may keep their nodes out of the cyclic collector (see below).
        self.acyclic = False
        self.__wrapped__ = forward

    @property
    def vjps(self) -> tuple:
        return self._vjps

    @vjps.setter
    def vjps(self, rules: Sequence[Callable | None]) -> None:
        self._vjps = tuple(rules)
        self.missing_rules = not self.variadic and (not rules or None in self._vjps)

    def __repr__(self) -> str:
        return f"<chainrule primitive {self.name}>"

    def vjp(self, position: int) -> Callable:
        """The rule for argument ``position`` (a variadic primitive has one rule taking the position)."""
        rules = self.vjps
        if self.variadic:
            return functools.partial(rules[0], position)
        rule = rules[position] if position < len(rules) else None
        if rule is None:
            raise TypeError(f"chainrule.{self.name}: no derivative rule for argument {position}; "
                            f"pass a constant there (or .detach() it)")
        return rule

    def __call__(self, *args, **kwargs):
        # The hot path of eager mode: unwrap Tensors, run the forward, record a Node only if needed.
        # Everything a node keeps is built as a tuple (parents, positions, saved arguments, leaf versions,
        # locked arrays): a tuple of arrays and numbers drops out of the cyclic collector's books at its first
        # collection, where a list stays tracked for the life of the graph.
        raw = None
        parents = positions = ()
        versions = None  # the version of each leaf parent when recorded (-1 for a node parent); None: no leaf
        state = _state.get()
        record = state.grad_enabled and self.differentiable
        i = 0
        for a in args:
            if isinstance(a, Tensor):
                if raw is None:
                    raw = list(args)
                raw[i] = a.data
                if record and a.requires_grad:
                    node = a._node
                    if node is None:
                        if versions is None:
                            versions = (-1,) * len(parents)
                        versions += (a._version,)
                        parents += (a,)
                    else:
                        if versions is not None:
                            versions += (-1,)
                        parents += (node,)
                    positions += _POSITIONS[i] if i < len(_POSITIONS) else (i,)
            i += 1  # noqa: SIM113  (a counter is cheaper than enumerate on this hot path)
        try:
            if state.debug > 1:  # detect_anomaly: its error names the operation; NumPy's warning would not
                with np.errstate(all="ignore"):
                    out = self.forward(*(args if raw is None else raw), **kwargs)
            else:
                out = self.forward(*(args if raw is None else raw), **kwargs)
        except Exception as error:
            return _forward_failed(self, args, raw, kwargs, error)
        tape = state.tape
        if raw is None:  # no Tensor among the arguments: plain arrays in, plain arrays out
            if tape is not None:
                tape.record(self, args, kwargs, out)
            return out
        if type(out) is not np.ndarray and isinstance(out, np.generic):
            out = np.asarray(out)  # a reduction's NumPy scalar: Tensors hold arrays
        if tape is not None:
            tape.record(self, raw, kwargs, out)
        if not parents:
            return tuple(_constant(o) for o in out) if self.n_outputs > 1 else _constant(out)
        if self.missing_rules:  # fail now, not in the backward pass, if a rule is missing
            for position in positions:
                self.vjp(position)
        saves, debug = self.saves, state.debug
        value = out
        # Arrays saved for the backward pass are made read-only while the graph lives, so that writing
        # into them through `.data` fails loudly instead of silently changing the gradient.
        if saves is None or debug:  # keep (and protect) every array
            kept = (*raw, *out) if type(out) is tuple else (*raw, out)
        else:  # keep and protect what the rules read; of a large array they do not read, only its shape
            kept = ()
            i = 0
            for a in raw:
                if type(a) is np.ndarray:
                    if i in saves:
                        kept += (a,)
                    elif a.size > _SMALL:
                        raw[i] = Shape(a)
                i += 1  # noqa: SIM113
            if "ans" in saves:
                kept += (out,)
            elif type(out) is np.ndarray and out.size > _SMALL:
                value = Shape(out)
        locked = _lock(kept) if kept else ()
        node = (_LockingNode if locked else Node)(self, parents, positions, tuple(raw), kwargs or _NO_KWARGS,
                                                  value, locked, versions)
        if debug:
            node.site = user_site()
            if debug > 1:
                _check_finite(f"forward of {self.name}", out, node.site)
        if self.n_outputs == 1:
            t = _new_tensor(Tensor)
            t.data, t.requires_grad, t.grad, t._node, t._version, t.name = out, True, None, node, 0, None
            return t
        return tuple(Tensor._from_node(o, Node(_SELECT, (node,), (0,), (None, i), _NO_KWARGS, o))
                     for i, o in enumerate(out))


def _forward_failed(primitive: Primitive, args: tuple, raw: Sequence | None, kwargs: Mapping, error: Exception):
    """What a call of ``primitive`` does when its forward function raised ``error`` (both engines): lists
    holding Tensors are recorded as arrays and the call retried; otherwise the error is raised, with the
    primitive's name and the inputs added for the usual error types."""
    if raw is None and _holds_tensors(args):  # lists mixing Tensors and numbers, as NumPy takes them
        return primitive(*_arrays_of_lists(args), **kwargs)
    moved = numpy_constants_moved(args)  # NumPy constants among another library's arrays: moved there
    if moved is not None:
        return primitive(*moved, **kwargs)
    unavailable(primitive.name, "forward", error, args if raw is None else raw)
    if type(error) in _EXPLAINED:
        raise type(error)(f"chainrule.{primitive.name}: {error} "
                          f"(inputs: {_describe(args if raw is None else raw)})") from None
    raise error


# Errors of a forward function that get the primitive's name and the inputs added (exact types only: a
# subclass may have a constructor of its own).
_EXPLAINED = (TypeError, ValueError, np.linalg.LinAlgError, IndexError)
# Arrays of up to this many elements that no rule reads are kept as they are (cheaper than a Shape, and
# a few bytes); larger ones are dropped after the forward pass, keeping only their shape and dtype.
_SMALL = 64
_new_tensor = object.__new__  # a Tensor without __init__'s checks, for values the engine made
_POSITIONS = tuple((i,) for i in range(8))  # shared one-position tuples: no allocation per parent
# The keyword arguments of a node recorded without any (read-only and shared: no dict per node).
_NO_KWARGS: Mapping[str, Any] = MappingProxyType({})


def _constant(array) -> Tensor:
    if type(array) is not np.ndarray:
        return Tensor(array)
    t = _new_tensor(Tensor)
    t.data, t.requires_grad, t.grad, t._node, t._version, t.name = array, False, None, None, 0, None
    return t


def _holds_tensors(args) -> bool:
    from ._composite import _holds_tensor

    return any(isinstance(a, list | tuple) and _holds_tensor(a) for a in args)


def _arrays_of_lists(args) -> list:
    """Each list or tuple argument holding Tensors as one recorded array (``chainrule.numpy.array``), so that
    ``exp([t, 1.0])`` works as NumPy's ``exp`` does on a list — off the hot path: only after a forward
    failed on such a list."""
    from ._composite import _holds_tensor, array

    return [array(a) if isinstance(a, list | tuple) and _holds_tensor(a) else a for a in args]


def _describe(values) -> str:
    parts = []
    for v in values:
        if isinstance(v, np.ndarray):
            parts.append(f"array{tuple(v.shape)} {v.dtype}")
        elif isinstance(v, list | tuple) and len(v) > 4:
            parts.append(f"{type(v).__name__} of {len(v)}")
        else:
            parts.append(repr(v))
    return ", ".join(parts)


class Shape:
    """What the graph keeps of an array its rules do not read: the shape and dtype (see ``Primitive.saves``).

    >>> x = chainrule.tensor(np.ones((100, 100)), requires_grad=True)
    >>> y = chainrule.numpy.exp(x)          # exp's rule reads its output, not its input
    >>> kept = y._node.args[0]
    >>> kept
    <not kept: float64 array of shape (100, 100)>
    >>> kept.shape, kept.ndim, kept.size
    ((100, 100), 2, 10000)
    """

    __slots__ = ("shape", "dtype")

    def __init__(self, array: np.ndarray) -> None:
        self.shape, self.dtype = array.shape, array.dtype

    ndim = property(lambda self: len(self.shape))
    size = property(lambda self: math.prod(self.shape))

    def __repr__(self) -> str:
        return f"<not kept: {self.dtype} array of shape {self.shape}>"


# Saved arrays are read-only while a graph holds them (see Primitive.__call__). Several graphs may hold one
# array; it becomes writable again only when the last of them is released. The graph that made it
# read-only *owns* it (its node's `locked` tuple holds the array itself); a graph that finds it read-only
# already is one more *sharer* (the tuple holds `(array,)`), counted here by id. An owner released while
# sharers remain leaves the array to them as an orphan; the last sharer out makes it writable. An array the
# user made read-only is never owned, so it is never made writable. In the common case (no sharing) a lock
# and an unlock are a flag each and no dictionary operation.
_sharers: dict[int, int] = {}  # id(array) → live sharers (the sharers' nodes keep the array alive)
_orphans: dict[int, np.ndarray] = {}  # id(array) → an array whose owner was released before its sharers
_guard = threading.RLock()  # re-entrant: a node's __del__ may run inside _lock, on the same thread
_acquire, _release = _guard.acquire, _guard.release


def _lock(arrays: tuple) -> tuple:
    """Make the arrays among ``arrays``, and the arrays they view, read-only while this graph holds them;
    return what the graph now holds (an owned array, or ``(array,)`` for a shared one), bases after views."""
    locked = ()
    _acquire()
    try:
        for array in arrays:
            while type(array) is np.ndarray:
                if array.flags.writeable:
                    array.setflags(write=False)  # (half the cost of setting flags.writeable)
                    held = array
                else:
                    key = id(array)
                    _sharers[key] = _sharers.get(key, 0) + 1
                    held = (array,)
                # (allocating after the books are straight: a collection here may run a node's __del__)
                locked += (held,)
                array = array.base
    finally:
        _release()
    return locked


def _unlock(locked: tuple) -> None:
    """This graph no longer holds ``locked``; arrays no other graph holds become writable."""
    _acquire()
    try:
        for held in reversed(locked):  # bases first: a view can be made writable only when its base is
            if type(held) is tuple:  # a sharer leaves
                array = held[0]
                key = id(array)
                count = _sharers[key] - 1
                if count:
                    _sharers[key] = count
                    continue
                del _sharers[key]
                if _orphans.pop(key, None) is None:
                    continue
            elif _sharers and id(held) in _sharers:  # the owner leaves first
                _orphans[id(held)] = held
                continue
            else:
                array = held
            try:  # noqa: SIM105  (contextlib.suppress would cost a context manager per node freed)
                array.setflags(write=True)
            except ValueError:  # its base is read-only for a reason of its own
                pass
    finally:
        _release()


class Node:
    """One recorded operation: the graph vertex behind a non-leaf Tensor.

    ``parents`` (nodes, or leaf Tensors) and ``positions`` (the argument position of each) are aligned
    tuples; ``args`` the raw arguments as recorded (arrays the rules do not read as :class:`Shape`);
    ``versions`` None, or each leaf parent's version when recorded (-1 for a node parent); ``locked`` what
    the node made read-only; ``seq`` its creation number, larger than any of its parents' (so descending
    numbers are a reverse topological order).

    >>> x = chainrule.tensor([1.0, 2.0], requires_grad=True)
    >>> y = chainrule.numpy.sin(x) * 3.0
    >>> node = y._node
    >>> node
    <Node multiply>
    >>> node.primitive, node.parents, node.positions
    (<chainrule primitive multiply>, (<Node sin>,), (0,))
    >>> node.parents[0].parents[0] is x     # a leaf Tensor is a parent as itself
    True
    """

    __slots__ = ("primitive", "parents", "positions", "args", "kwargs", "value", "locked", "versions",
                 "site", "name", "seq", "__weakref__")

    def __init__(self, primitive, parents, positions, args, kwargs, value, locked=(), versions=None):
        self.primitive, self.parents, self.positions = primitive, parents, positions
        self.args, self.kwargs, self.value = args, kwargs, value
        self.locked, self.versions = locked, versions
        self.site = self.name = None
        self.seq = _next_seq()

    def _unlock(self) -> None:
        locked = self.locked
        if locked:
            self.locked = ()
            _unlock(locked)

    def release(self) -> None:
        """Free what the backward pass needed (after a backward without ``retain_graph``)."""
        locked = self.locked
        if locked:
            self.locked = ()
            self.__class__ = Node  # nothing is left to give back when it dies: no __del__ to call then
            _unlock(locked)
        self.args = self.kwargs = self.value = self.versions = None
        self.parents = self.positions = ()

    released = property(lambda self: self.args is None, doc="Whether a backward pass freed its saved values.")

    def __repr__(self) -> str:
        return f"<Node {self.primitive.name}{' (released)' if self.released else ''}>"


# Creation numbers of nodes (itertools.count's next is atomic: numbers are unique across threads, and a
# node's parents, which exist before it, always have smaller ones).
_next_seq = itertools.count().__next__

if _C is not None:  # the same fields and methods, in C (and the C record path makes these)
    _C.Node.__doc__ = Node.__doc__
    Node = _C.Node  # noqa: F811
    _next_seq = _C.next_seq


class _LockingNode(Node):
    """A node that made saved arrays read-only: when it dies unreleased (a graph dropped without a backward
    pass), it gives them back to their owners. (A subclass, so that other nodes die without a Python call.)"""

    __slots__ = ()
    __del__ = Node._unlock


def _select_vjp(g, ans, index):
    raise AssertionError("select nodes are handled by backward_pass")


_SELECT = Primitive("select", lambda value, index: value[index], (_select_vjp,))
_SELECT.unusual = True
_SELECT.acyclic = True


def toposort(roots: Sequence, stop: set | frozenset = frozenset()) -> list:
    """Vertices (Nodes and leaf Tensors) reachable from ``roots``, parents before children; the parents of a
    vertex in ``stop`` are not explored.

    An iterative depth-first search: a vertex stays on the stack while its parents are explored, and is
    emitted when it comes back to the top (graphs can be far deeper than Python's recursion limit).
    Vertices are their own dict keys: both kinds hash by identity."""
    order: list = []
    state: dict = {}  # vertex → False while its parents are being explored, True once emitted
    stack = list(roots)
    while stack:
        vertex = stack[-1]
        seen = state.get(vertex)
        if seen is None:
            state[vertex] = False
            if isinstance(vertex, Node) and vertex not in stop:
                for parent in vertex.parents:
                    if parent not in state:
                        stack.append(parent)
            continue
        stack.pop()
        if not seen:
            state[vertex] = True
            order.append(vertex)
    return order


def _add(a, b):
    if a is None:
        return b
    if isinstance(a, tuple):
        return tuple(x if y is None else (y if x is None else x + y) for x, y in zip(a, b, strict=True))
    return a + b


def _vertex(t: Tensor):
    return t._node if t._node is not None else t


def graph_between(roots: Sequence, inputs: Sequence) -> tuple[list, bool]:
    """The vertices on paths from the vertices ``inputs`` to ``roots``, parents before children, and whether
    the graph behind ``roots`` also reaches a traced value that is none of ``inputs`` nor computed from them
    alone: a leaf that requires grad, or a node of an enclosing transformation.

    That second answer decides nesting (see :mod:`chainrule._functional`): such a value is a variable of
    some enclosing computation, so the error signals of ``inputs`` may depend on it and must be recorded.
    """
    stop = set(inputs)
    reaches = set(stop)
    kept: list = []
    foreign = False
    for vertex in toposort(roots, stop):
        if vertex in stop:
            kept.append(vertex)
        elif isinstance(vertex, Tensor):
            foreign = foreign or vertex.requires_grad  # a variable that is not an input
        else:
            for parent in vertex.parents:
                if parent in reaches:
                    reaches.add(vertex)
                    kept.append(vertex)
                    break
    return kept, foreign


def backward_pass(outputs: Sequence[Tensor], seeds: Sequence, *, inputs: Sequence[Tensor] | None = None,
                  retain_graph: bool = False, create_graph: bool = False, order: list | None = None) -> list | None:
    """Propagate error signals from ``outputs`` (seeded with ``seeds``) back through the graph.

    Without ``inputs``, leaves' ``.grad`` accumulate (``Tensor.backward``). With ``inputs``, their error
    signals are returned instead (None where unreachable) and no ``.grad`` is touched. ``order`` is the
    graph as :func:`graph_between` gives it, when the caller has it already.
    """
    roots = [_vertex(t) for t in outputs]
    signals: dict = {}  # vertex → its error signal, summed over the children done so far
    for vertex, seed in zip(roots, seeds, strict=True):
        signals[vertex] = _add(signals.get(vertex), seed)
    handed_out = {id(s) for s in seeds}
    # Sums of error signals made by this pass (id -> vertex): only those may be accumulated into in place.
    owned: dict[int, Any] | None = None if create_graph else {}
    if inputs is None and order is None:
        _walk_by_creation(signals, handed_out, owned, retain_graph, create_graph)
        return None
    stop = {_vertex(t) for t in inputs} if inputs is not None else frozenset()
    if order is None:
        order = graph_between(roots, stop)[0]
    # In creation order too (a topological order), so that fan-in signals are summed in the same order as by
    # Tensor.backward's walk: the same graph gives bitwise the same gradients either way.
    order = sorted(order, key=_creation_number)
    results = {}
    with _Switch("grad_enabled", create_graph):
        for vertex in reversed(order):
            g = signals.pop(vertex, None)
            if g is None:
                continue
            if owned:
                owned.pop(id(g), None)
            if isinstance(vertex, Tensor) or vertex in stop:
                if inputs is not None:
                    results[vertex] = g
                elif vertex.requires_grad:
                    _accumulate(vertex, g, handed_out)
                continue
            try:
                _propagate(vertex, g, signals, create_graph, owned)
            except Exception as error:
                unavailable(vertex.primitive.name, "derivative rule", error, (g, *(vertex.args or ())))
                raise
            if not retain_graph:
                vertex.release()
    if inputs is None:
        return None
    return [results.get(_vertex(t)) for t in inputs]


def _creation_number(vertex) -> int:
    return -1 if isinstance(vertex, Tensor) else vertex.seq


def _walk_by_creation(signals: dict, handed_out: set, owned: dict | None, retain_graph: bool,
                      create_graph: bool) -> None:
    """The backward walk of ``Tensor.backward``: nodes in descending creation number, which is a reverse
    topological order, so no toposort is needed.

    ``queue`` is a heap of the nodes that have an error signal and are not done yet. The newest of them has
    no child left to hear from: every unfinished node on a path from the roots down to it is newer and would
    be in the queue. Leaves' signals are complete when the queue is empty."""
    if _C is not None and not create_graph:
        token = _state.set(_state.get().replace(grad_enabled=False))  # (a _Switch, without its stack of tokens)
        try:
            _C.walk(signals, owned, retain_graph)  # the loop below, in C
            for leaf, g in signals.items():
                if g is not None and leaf.requires_grad:
                    _accumulate(leaf, g, handed_out)
        finally:
            _state.reset(token)
        return
    queue = [(-vertex.seq, vertex) for vertex in signals if not isinstance(vertex, Tensor)]
    heapq.heapify(queue)
    pop = heapq.heappop
    with _Switch("grad_enabled", create_graph):
        while queue:
            node = pop(queue)[1]
            g = signals.pop(node)
            if g is None:  # (a seed of None)
                continue
            if owned:
                owned.pop(id(g), None)
            try:
                _propagate(node, g, signals, create_graph, owned, queue)
            except Exception as error:
                unavailable(node.primitive.name, "derivative rule", error, (g, *(node.args or ())))
                raise
            if not retain_graph:
                node.release()
        for leaf, g in signals.items():
            if g is not None and leaf.requires_grad:
                _accumulate(leaf, g, handed_out)


def _propagate(node: Node, g, signals: dict, create_graph: bool, owned: dict | None = None,
               queue: list | None = None) -> None:
    """Hand ``g``, the error signal of ``node``, to its parents: ḡ_parent += g · ∂node/∂parent (one VJP each).

    ``signals`` maps vertices to error signals. ``owned`` (id of an array → the vertex it is the summed
    signal of) marks the sums this pass made, which alone may be accumulated into in place. ``queue``, when
    given, is :func:`_walk_by_creation`'s heap: a parent node that gets its first signal goes onto it."""
    primitive, args = node.primitive, node.args
    if args is None:
        raise RuntimeError(
            f"chainrule: backward through `{primitive.name}` a second time, but its saved values were "
            f"released by the first backward(); call the first backward(retain_graph=True)")
    versions = node.versions
    if versions is not None:
        for parent, version in zip(node.parents, versions):  # noqa: B905  (same length by construction)
            if version >= 0 and parent._version != version:
                _modified(node)
    saved, ans, kwargs, rules = args, node.value, node.kwargs, primitive._vjps
    if create_graph or primitive.unusual:
        g, ans, args, rules = _unusual(node, g, signals, create_graph, queue)
        if g is None:
            return
    check = _state.get().debug > 1
    for parent, position in zip(node.parents, node.positions):  # noqa: B905  (same length by construction)
        if check:  # (as in the forward: the anomaly error names the rule, NumPy's warning would not)
            with np.errstate(all="ignore"):
                ga = rules[position](g, ans, *args, **kwargs)
        else:
            ga = rules[position](g, ans, *args, **kwargs) if kwargs else rules[position](g, ans, *args)
        target = saved[position]  # the argument as recorded (or its Shape): the shape and dtype to return
        if type(ga) is not np.ndarray or ga.shape != target.shape or ga.dtype is not target.dtype:
            ga = _conform(ga, target, primitive, position)  # (equal dtypes need not be one object: it checks)
        if check:
            _check_finite(f"backward of {primitive.name} (argument {position})", ga, node.site)
        previous = signals.get(parent)
        if previous is None:
            signals[parent] = ga
            if queue is not None and not isinstance(parent, Tensor):
                heapq.heappush(queue, (-parent.seq, parent))
        elif owned is not None and type(ga) is np.ndarray and owned.get(id(previous)) is parent:
            previous += ga  # a sum this pass made for this vertex alone: accumulate in place
        else:
            total = previous + ga
            signals[parent] = total
            if owned is not None and type(total) is np.ndarray:
                owned[id(total)] = parent


def _modified(node: Node) -> None:
    raise RuntimeError(
        f"chainrule: an input of `{node.primitive.name}` was modified in place after the operation "
        f"recorded it{f' (at {node.site})' if node.site else ''}; its gradient would be wrong. "
        f"Modify a copy instead, or record the operation after the modification")


def _unusual(node: Node, g, signals: dict, create_graph: bool, queue: list | None = None):
    """The cases off the fast path of :func:`_propagate`: an output of a multi-output node (``_SELECT``),
    rules run on Tensors (``create_graph``), several outputs, a variadic rule. Returns what the rules take,
    ``(g, ans, args, rules by argument position)``, or ``g = None`` when nothing is left to do."""
    primitive, args, ans, rules = node.primitive, node.args, node.value, node.primitive._vjps
    if primitive is _SELECT:
        parent, index = node.parents[0], args[1]
        slots = [None] * parent.primitive.n_outputs
        slots[index] = g
        previous = signals.get(parent)
        if previous is None and queue is not None:
            heapq.heappush(queue, (-parent.seq, parent))
        signals[parent] = _add(previous, tuple(slots))
        return None, None, None, None
    if create_graph:
        args = list(args)
        for parent, position in zip(node.parents, node.positions, strict=True):
            # the value this node saved (or its Shape), as a handle on the parent's vertex
            args[position] = parent if isinstance(parent, Tensor) else Tensor._from_node(args[position], parent)
        ans = _handle(node)
        if not isinstance(g, Tensor | tuple):
            g = Tensor(g)
    if primitive.n_outputs > 1:
        g = tuple(np.zeros_like(v) if s is None else s for s, v in zip(g, node.value, strict=True))
    if primitive.variadic:  # one rule, taking the position first
        rules = [functools.partial(rules[0], position) for position in range(len(args))]
    return g, ans, args, rules


def _handle(node: Node):
    if node.primitive.n_outputs > 1:  # the outputs' select nodes are not kept; rebuild handles
        return tuple(Tensor._from_node(v, Node(_SELECT, (node,), (0,), (None, i), _NO_KWARGS, v))
                     for i, v in enumerate(node.value))
    return Tensor._from_node(node.value, node)


def _conform(ga, target: np.ndarray, primitive: Primitive, position: int):
    """Check a rule's result against its input's shape, and cast it to the input's dtype."""
    shape = getattr(ga, "shape", ())
    if shape != target.shape:
        raise ValueError(
            f"chainrule: the derivative rule of `{primitive.name}` for argument {position} returned shape "
            f"{shape}, but the argument has shape {target.shape}; a VJP rule must return its input's shape")
    dtype = ga.dtype if hasattr(ga, "dtype") else None
    if dtype is not None and getattr(dtype, "kind", "") == "c" and target.dtype.kind == "f":
        ga, dtype = np.real(ga), None  # a real input sees the real part of a complex error signal
    if dtype != target.dtype and is_floating(target):
        if isinstance(ga, Tensor | np.ndarray):
            ga = ga.astype(target.dtype)
        else:  # a number, or another array library's array (array API: astype is a function)
            ga = np.asarray(ga, target.dtype) if namespace(ga) is np else namespace(ga).astype(ga, target.dtype)
    return ga


def _accumulate(leaf: Tensor, g, handed_out: set) -> None:
    untraceable("accumulating into .grad (backward() inside the function)")
    if type(g) is np.ndarray and leaf.grad is None and g.dtype == leaf.data.dtype and id(g) not in handed_out \
            and g.flags.writeable:  # the common case, in short: a fresh array of the leaf's dtype
        handed_out.add(id(g))
        leaf.grad = g
        return
    if isinstance(g, Tensor):
        if g._node is None:
            g = g.data
    elif not isinstance(g, np.ndarray) and namespace(g) is np:
        g = np.asarray(g)
    if isinstance(g, np.ndarray):
        if g.dtype != leaf.data.dtype:
            g = g.astype(leaf.data.dtype)
        elif id(g) in handed_out or not g.flags.writeable:
            g = g.copy()  # each leaf gets its own array, so in-place updates of one .grad stay local
        handed_out.add(id(g))
    leaf.grad = g if leaf.grad is None else leaf.grad + g


from ._namespace import is_floating, namespace, numpy_constants_moved, unavailable  # noqa: E402
from ._tensor import Tensor  # noqa: E402  (Tensor and the graph refer to each other)

# The reference record path; the C engine's record path calls it for every case it does not take itself.
_python_call = Primitive.__call__
if _C is not None:
    _C.setup(globals())
    del Primitive.__call__  # calls go to the C base's record path
    # Every lock and unlock goes through the C engine's (the same books): its common cases, atomic under
    # the GIL, then need no guard.
    _lock, _unlock = _C.lock, _C.unlock  # noqa: F811
