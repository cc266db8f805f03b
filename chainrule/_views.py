"""Views: Tensors that share memory with a base Tensor, with NumPy's semantics under grad as without it.

``y[1:]``, ``y.T``, ``y.reshape(...)`` of a Tensor ``y`` give NumPy views of ``y``'s array; the Tensor made
from one is a :class:`View`: it remembers its *base* (the Tensor that owns the memory, never itself a view)
and its *recipe*, the view operations that derive it from the base. The base keeps weak references to its
live views. That is all the machinery an in-place write needs:

- **values**: a write through a view or its base changes the shared memory, so every view sees it — as in
  NumPy. When that memory is saved by a live graph (read-only, see ``_graph._lock``), the base's array is
  copied first (copy on write) and every live view is re-derived from the copy: the graph keeps its values,
  the program sees the new ones.
- **the graph** (while recording): writing ``new`` into view ``v`` of base ``b`` makes ``b``'s new value
  ``view_scatter(b, new)`` — ``b`` with ``v``'s region replaced — and every live view of ``b`` is re-derived
  from that by its recipe, so later reads of any of them carry the right gradient to both the old value and
  ``new``. Writing into ``b`` itself re-derives its views the same way.

A write through a view of a leaf that requires grad is refused while recording, as writing into the leaf
itself is. Raw ndarrays (``t.data`` taken earlier, or the array a Tensor was made from) are not tracked: a
write through the Tensor API may copy on write away from them.
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np

from ._graph import Primitive
from ._tensor import Tensor


class View(Tensor):
    """A Tensor whose array is a view of its base Tensor's array (see the module docstring).

    >>> y = chainrule.tensor([1.0, 2.0, 3.0]) * 1
    >>> row = y[1:]
    >>> row += 10
    >>> y
    tensor([ 1., 12., 13.])
    """

    __slots__ = ("_base", "_recipe")


def _root_array(array: Any) -> Any:
    while isinstance(array, np.ndarray) and array.base is not None:
        array = array.base
    return array


class ViewPrimitive(Primitive):
    """A primitive whose forward may return a view of its first argument (basic indexing, reshape,
    transpose, ...): when it does, on a Tensor, the result is a :class:`View` of the same base."""

    __slots__ = ()

    def __call__(self, *args, **kwargs):
        out = Primitive.__call__(self, *args, **kwargs)
        source = args[0] if args else None
        if isinstance(source, Tensor) and isinstance(out, Tensor) and isinstance(out.data, np.ndarray) \
                and _root_array(out.data) is _root_array(source.data):
            out = _as_view(out, source, (self, args[1:], kwargs))
        return out


def _as_view(t: Tensor, source: Tensor, step: tuple) -> View:
    if isinstance(source, View):
        base, recipe = source._base, source._recipe + (step,)
    else:
        base, recipe = source, (step,)
    view = object.__new__(View)
    view.data, view.requires_grad, view.grad, view._node, view._version, view.name = \
        t.data, t.requires_grad, None, t._node, 0, None
    view._base, view._recipe = base, recipe
    views = getattr(base, "_views", None)
    if views is None:
        base._views = views = []
    elif len(views) >= 8 and len(views) % 8 == 0:  # now and then, forget the views that died
        views[:] = [r for r in views if r() is not None]
    views.append(weakref.ref(view))
    return view


def derive(value: Any, recipe: tuple) -> Any:
    """Apply a view's recipe to ``value`` (the base's value, or anything of its shape: an error signal)."""
    for primitive, args, kwargs in recipe:
        value = Primitive.__call__(primitive, value, *args, **kwargs)
    return value


def _positions(shape: tuple, recipe: tuple) -> np.ndarray:
    """The flat (C-order) positions in an array of ``shape`` that the view ``recipe`` selects."""
    with _plain():
        return np.asarray(derive(np.arange(int(np.prod(shape))).reshape(shape), recipe))


def _scatter_forward(base, new, recipe):
    out = np.array(base, copy=True, order="C")
    out.reshape(-1)[_positions(out.shape, recipe)] = new
    return out


def _scatter_vjp_base(g, ans, base, new, recipe):
    return view_scatter(g, np.zeros(new.shape, g.dtype), recipe)


def _scatter_vjp_new(g, ans, base, new, recipe):
    return derive(g, recipe)


view_scatter = Primitive("view_scatter", _scatter_forward, (_scatter_vjp_base, _scatter_vjp_new),
                         formulas=("{g} with the view's entries zeroed", "{g} at the view's entries"), saves=())


class _plain:
    """Run view recipes on raw arrays without putting them on a compile tape."""

    def __enter__(self):
        from ._graph import _Switch

        self.switch = _Switch(tape=None)
        self.switch.__enter__()

    def __exit__(self, *exc):
        return self.switch.__exit__(*exc)


def base_of(t: Tensor) -> Tensor:
    return t._base if isinstance(t, View) else t


def live_views(base: Tensor) -> list[View]:
    refs = getattr(base, "_views", None) or ()
    return [v for v in (r() for r in refs) if v is not None]


def shared_memory_is_writable(t: Tensor) -> bool:
    """Whether ``t``'s memory may be written in place: no live graph saved it (its array and every array
    it views are writable)."""
    array = base_of(t).data
    while isinstance(array, np.ndarray):
        if not array.flags.writeable:
            return False
        array = array.base
    return t.data.flags.writeable


def write_values(t: Tensor, index: Any, value: Any) -> None:
    """``t.data[index] = value`` in the memory ``t`` shares with its base and views (no graph recorded);
    copy on write first if a live graph saved that memory."""
    base = base_of(t)
    if shared_memory_is_writable(t):
        # in place: graphs that recorded these tensors (and did not save this memory) must not use them
        base._version += 1
        if t is not base:
            t._version += 1
    else:  # the graph that saved the memory keeps its values; the tensors move on
        _copy_on_write(base)
    t.data[index] = value


def _copy_on_write(base: Tensor) -> None:
    """Give ``base`` (and its live views) a private copy of their memory, leaving the saved one to the graph."""
    base.data = np.array(base.data, copy=True)
    with _plain():
        for view in live_views(base):
            view.data = np.asarray(derive(base.data, view._recipe))


def record_write(t: Tensor, new: Tensor) -> None:
    """While recording: ``t`` takes the value ``new`` (a Tensor of ``t``'s shape and dtype), in the graph and
    in memory, and so does everything that shares ``t``'s memory."""
    base = base_of(t)
    if t is not base:
        if base.requires_grad and base._node is None:
            raise RuntimeError(
                "chainrule: in-place write through a view of a leaf tensor that requires grad; do it under "
                "chainrule.no_grad() (e.g. a parameter update), or on a copy")
        new = view_scatter(base, new, recipe=t._recipe)
    _take(base, new)
    for view in live_views(base):
        _take(view, derive(base, view._recipe))


def _take(t: Tensor, new: Tensor) -> None:
    """``t`` becomes ``new``: its node, and its values — written into ``t``'s own memory when no graph saved
    it (so NumPy views of that memory see them), else by rebinding (copy on write)."""
    if new.data is not t.data:
        if t.data.shape == new.data.shape and shared_memory_is_writable(t) and not isinstance(t, View):
            np.copyto(t.data, new.data)
        else:
            t.data = new.data
    t._node, t.requires_grad = new._node, new.requires_grad
    t._version += 1


def register_view_primitives() -> None:
    """The primitives whose forward returns a view of its first argument when NumPy's does."""
    from . import _rules

    for name in ("getitem", "reshape", "transpose", "broadcast_to", "flip", "real"):
        getattr(_rules, name).__class__ = ViewPrimitive

