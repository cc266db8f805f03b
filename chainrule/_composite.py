"""NumPy functions built from the primitives of the rule table: no rules of their own, their gradients
(and higher derivatives) come from the primitives they are made of."""

from __future__ import annotations

import builtins
import math
from typing import Any

import numpy as np

from . import _rules as P
from ._rules import ndim_of, shape_of
from ._tensor import Tensor


def _no_out(name: str, out) -> None:
    if out is not None:
        raise TypeError(f"chainrule.{name}: out= is not supported (results are new arrays)")


def _cast(x, dtype):
    return x if dtype is None else P.astype(x, np.dtype(dtype))


# ---- reductions with NumPy's signatures -------------------------------------------------------------
def sum(a, axis=None, dtype=None, out=None, keepdims=False, **unused):
    """Sum of elements over the given axes (``numpy.sum``)."""
    _no_out("sum", out)
    return P.sum(_cast(a, dtype), axis=_axis(axis), keepdims=keepdims)


def mean(a, axis=None, dtype=None, out=None, keepdims=False, **unused):
    """Arithmetic mean over the given axes (``numpy.mean``)."""
    _no_out("mean", out)
    return P.mean(_cast(a, dtype), axis=_axis(axis), keepdims=keepdims)


def prod(a, axis=None, dtype=None, out=None, keepdims=False, **unused):
    """Product over the given axes; the gradient is exact also where elements are zero."""
    _no_out("prod", out)
    return P.prod(_cast(a, dtype), axis=_axis(axis), keepdims=keepdims)


def max(a, axis=None, out=None, keepdims=False, **unused):
    """Maximum over the given axes; tied maxima share the gradient evenly."""
    _no_out("max", out)
    return P.max(a, axis=_axis(axis), keepdims=keepdims)


def min(a, axis=None, out=None, keepdims=False, **unused):
    """Minimum over the given axes; tied minima share the gradient evenly."""
    _no_out("min", out)
    return P.min(a, axis=_axis(axis), keepdims=keepdims)


amax, amin = max, min


def var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, **unused):
    """Variance (``numpy.var``), with ``ddof``."""
    _no_out("var", out)
    a = _cast(a, dtype)
    axis = _axis(axis)
    centred = a - P.mean(a, axis=axis, keepdims=True)
    n = P._count(a, axis)
    return P.sum(centred * centred, axis=axis, keepdims=keepdims) / builtins.max(n - ddof, 0)


def std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, **unused):
    """Standard deviation (``numpy.std``), with ``ddof``."""
    return P.sqrt(var(a, axis=axis, dtype=dtype, out=out, ddof=ddof, keepdims=keepdims))


def cumsum(a, axis=None, dtype=None, out=None):
    """Cumulative sum (``numpy.cumsum``); ``axis=None`` works on the flattened array."""
    _no_out("cumsum", out)
    a = _cast(a, dtype)
    return P.cumsum(P.reshape(a, (-1,)), 0) if axis is None else P.cumsum(a, axis)


def cumprod(a, axis=None, dtype=None, out=None):
    """Cumulative product (``numpy.cumprod``); the gradient assumes no zeros in ``a``."""
    _no_out("cumprod", out)
    a = _cast(a, dtype)
    return P.cumprod(P.reshape(a, (-1,)), 0) if axis is None else P.cumprod(a, axis)


def logsumexp(a, axis=None, keepdims=False):
    """log Σ exp(a), computed stably (``scipy.special.logsumexp``)."""
    return P.logsumexp(a, axis=_axis(axis), keepdims=keepdims)


def softmax(a, axis=-1):
    """exp(a) / Σ exp(a) along ``axis``, computed stably."""
    return P.softmax(a, axis=axis)


def log_softmax(a, axis=-1):
    """a − logsumexp(a) along ``axis``, computed stably."""
    return P.log_softmax(a, axis=axis)


def _axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis


# ---- shapes -------------------------------------------------------------------------------------------
def reshape(a, shape=None, order="C", *, newshape=None):
    """Give a new shape (``numpy.reshape``)."""
    shape = newshape if shape is None else shape
    return P.reshape(a, tuple(shape) if isinstance(shape, list) else shape, order=order)


def ravel(a, order="C"):
    return P.reshape(a, (-1,), order=order)


def transpose(a, axes=None):
    return P.transpose(a, None if axes is None else tuple(axes))


def moveaxis(a, source, destination):
    """Move axes to new positions (a transpose)."""
    n = ndim_of(a)
    src = [s % n for s in (source if isinstance(source, list | tuple) else [source])]
    dst = [d % n for d in (destination if isinstance(destination, list | tuple) else [destination])]
    order = [i for i in range(n) if i not in src]
    for d, s in builtins.sorted(zip(dst, src, strict=True)):
        order.insert(d, s)
    return P.transpose(a, tuple(order))


swapaxes = P.swapaxes


def squeeze(a, axis=None):
    """Remove axes of length one."""
    shape = shape_of(a)
    if axis is None:
        axes = {i for i, n in enumerate(shape) if n == 1}
    else:
        axes = {x % len(shape) for x in (axis if isinstance(axis, tuple | list) else (axis,))}
        for x in axes:
            if shape[x] != 1:
                raise ValueError(f"chainrule.squeeze: axis {x} has length {shape[x]}, not 1 (shape {shape})")
    return P.reshape(a, tuple(n for i, n in enumerate(shape) if i not in axes))


def expand_dims(a, axis):
    """Insert axes of length one."""
    shape = list(shape_of(a))
    axes = axis if isinstance(axis, tuple | list) else (axis,)
    n = len(shape) + len(axes)
    for x in builtins.sorted(x % n for x in axes):
        shape.insert(x, 1)
    return P.reshape(a, tuple(shape))


def broadcast_to(a, shape):
    return P.broadcast_to(a, tuple(shape) if isinstance(shape, list) else shape)


def broadcast_arrays(*arrays):
    shape = np.broadcast_shapes(*(shape_of(a) for a in arrays))
    return [P.broadcast_to(a, shape) for a in arrays]


def atleast_1d(*arrays):
    out = [a if ndim_of(a) >= 1 else P.reshape(a, (1,)) for a in arrays]
    return out[0] if len(out) == 1 else out


def atleast_2d(*arrays):
    out = [a if ndim_of(a) >= 2 else P.reshape(a, (1,) * (2 - ndim_of(a)) + shape_of(a)) for a in arrays]
    return out[0] if len(out) == 1 else out


def atleast_3d(*arrays):
    def lift(a):
        shape = shape_of(a)
        if len(shape) >= 3:
            return a
        return P.reshape(a, {0: (1, 1, 1), 1: (1,) + shape + (1,), 2: shape + (1,)}[len(shape)])

    out = [lift(a) for a in arrays]
    return out[0] if len(out) == 1 else out


def concatenate(arrays, axis=0, out=None, dtype=None, **unused):
    """Join a sequence of arrays along an existing axis."""
    _no_out("concatenate", out)
    arrays = [_cast(a, dtype) for a in arrays]
    if not arrays:
        raise ValueError("chainrule.concatenate: need at least one array to concatenate")
    if axis is None:
        arrays = [P.reshape(a, (-1,)) for a in arrays]
        axis = 0
    return P.concatenate(*arrays, axis=axis)


def stack(arrays, axis=0, out=None, **unused):
    """Join a sequence of arrays along a new axis."""
    _no_out("stack", out)
    arrays = list(arrays)
    if not arrays:
        raise ValueError("chainrule.stack: need at least one array to stack")
    shapes = {shape_of(a) for a in arrays}
    if len(shapes) != 1:
        raise ValueError(f"chainrule.stack: all input arrays must have the same shape; got {sorted(shapes)}")
    return P.concatenate(*(expand_dims(a, axis) for a in arrays), axis=axis)


def vstack(tup, **unused):
    return concatenate([atleast_2d(a) for a in tup], axis=0)


row_stack = vstack


def hstack(tup, **unused):
    arrays = [atleast_1d(a) for a in tup]
    return concatenate(arrays, axis=0 if ndim_of(arrays[0]) == 1 else 1)


def dstack(tup):
    return concatenate([atleast_3d(a) for a in tup], axis=2)


def column_stack(tup):
    return concatenate([P.reshape(a, (-1, 1)) if ndim_of(a) < 2 else a for a in tup], axis=1)


def append(arr, values, axis=None):
    if axis is None:
        return concatenate([P.reshape(arr, (-1,)), P.reshape(values, (-1,))], axis=0)
    return concatenate([arr, values], axis=axis)


def _split_points(n: int, sections, even: bool) -> list[int]:
    if isinstance(sections, int | np.integer):
        if even and n % sections:
            raise ValueError(f"chainrule.split: array split does not result in an equal division "
                             f"({n} into {sections})")
        size, extra = divmod(n, sections)
        points, start = [], 0
        for i in range(sections):
            start += size + (1 if i < extra else 0)
            points.append(start)
        return [0] + points
    return [0] + [builtins.min(int(p), n) for p in sections] + [n]


def array_split(ary, indices_or_sections, axis=0, _even=False):
    axis = axis % ndim_of(ary)
    points = _split_points(shape_of(ary)[axis], indices_or_sections, _even)
    lead = (slice(None),) * axis
    return [ary[lead + (slice(a, builtins.max(a, b)),)] for a, b in zip(points[:-1], points[1:], strict=True)]


def split(ary, indices_or_sections, axis=0):
    """Split into sub-arrays (``numpy.split``): each part's gradient flows back to its slice."""
    return array_split(ary, indices_or_sections, axis, _even=True)


def hsplit(ary, indices_or_sections):
    return split(ary, indices_or_sections, axis=1 if ndim_of(ary) > 1 else 0)


def vsplit(ary, indices_or_sections):
    return split(ary, indices_or_sections, axis=0)


def dsplit(ary, indices_or_sections):
    return split(ary, indices_or_sections, axis=2)


def flip(m, axis=None):
    return P.flip(m, axis)


def fliplr(m):
    return P.flip(m, 1)


def flipud(m):
    return P.flip(m, 0)


def roll(a, shift, axis=None):
    return P.roll(a, shift, axis)


def rot90(m, k=1, axes=(0, 1)):
    """Rotate by 90° ``k`` times in the plane of ``axes`` (flips and a transpose)."""
    k %= 4
    a0, a1 = axes
    if k == 0:
        return m
    if k == 2:
        return P.flip(P.flip(m, a0), a1)
    perm = list(range(ndim_of(m)))
    perm[a0], perm[a1] = perm[a1], perm[a0]
    return P.transpose(P.flip(m, a1), tuple(perm)) if k == 1 else P.flip(P.transpose(m, tuple(perm)), a1)


def tile(A, reps):
    """Repeat the whole array (``numpy.tile``), as a broadcast."""
    reps = tuple(reps) if isinstance(reps, tuple | list) else (reps,)
    shape = shape_of(A)
    n = builtins.max(len(shape), len(reps))
    shape = (1,) * (n - len(shape)) + shape
    reps = (1,) * (n - len(reps)) + reps
    a = P.reshape(A, tuple(x for s in shape for x in (1, s)))
    a = P.broadcast_to(a, tuple(x for r, s in zip(reps, shape, strict=True) for x in (r, s)))
    return P.reshape(a, tuple(r * s for r, s in zip(reps, shape, strict=True)))


def repeat(a, repeats, axis=None):
    """Repeat elements (``numpy.repeat``): a gather whose gradient sums the copies."""
    if axis is None:
        a, axis = P.reshape(a, (-1,)), 0
    axis = axis % ndim_of(a)
    index = np.repeat(np.arange(shape_of(a)[axis]), repeats)
    return P.getitem(a, (slice(None),) * axis + (index,))


def take(a, indices, axis=None, out=None, mode="raise"):
    """Take elements by index along an axis; repeated indices accumulate their gradients."""
    _no_out("take", out)
    indices = _values(indices)
    if axis is None:
        return P.getitem(P.reshape(a, (-1,)), indices)
    axis = axis % ndim_of(a)
    return P.getitem(a, (slice(None),) * axis + (indices,))


def take_along_axis(arr, indices, axis):
    """``numpy.take_along_axis``, differentiable in ``arr``."""
    indices = np.asarray(_values(indices))
    if axis is None:
        return P.getitem(P.reshape(arr, (-1,)), indices)
    shape = shape_of(arr)
    axis = axis % len(shape)
    if indices.ndim != len(shape):
        raise ValueError(f"chainrule.take_along_axis: indices have {indices.ndim} dimensions, the array "
                         f"{len(shape)}; they must match")
    index = []
    for i in range(len(shape)):
        if i == axis:
            index.append(indices)
        else:
            view = [1] * len(shape)
            view[i] = shape[i]
            index.append(np.arange(shape[i]).reshape(view))
    return P.getitem(arr, tuple(index))


def pad(array, pad_width, mode="constant", constant_values=0, **unused):
    """Pad an array (``numpy.pad``): constant, edge, reflect, symmetric and wrap modes."""
    shape = shape_of(array)
    widths = np.broadcast_to(np.asarray(pad_width, dtype=int), (len(shape), 2))
    if mode == "constant":
        out = P.getitem(array, ())  # a copy in the graph
        for axis, (before, after) in enumerate(widths):
            if before == 0 and after == 0:
                continue
            pad_shape = list(shape_of(out))
            parts = []
            if before:
                pad_shape[axis] = int(before)
                parts.append(np.full(pad_shape, constant_values, dtype=_dtype(array)))
            parts.append(out)
            if after:
                pad_shape[axis] = int(after)
                parts.append(np.full(pad_shape, constant_values, dtype=_dtype(array)))
            out = P.concatenate(*parts, axis=axis)
        return out
    if mode not in ("edge", "reflect", "symmetric", "wrap"):
        raise ValueError(f"chainrule.pad: mode {mode!r} is not supported; use constant, edge, reflect, "
                         f"symmetric or wrap")
    out = array
    for axis, (before, after) in enumerate(widths):
        source = np.pad(np.arange(shape[axis]), (int(before), int(after)), mode=mode)
        out = P.getitem(out, (slice(None),) * axis + (source,))
    return out


def _dtype(a):
    return a.dtype if hasattr(a, "dtype") else np.result_type(a)


def diff(a, n=1, axis=-1, prepend=None, append=None):
    """Discrete difference along an axis."""
    if prepend is not None or append is not None:
        parts = ([broadcast_to(prepend, _edge_shape(a, axis))] if prepend is not None else []) + [a] + (
            [broadcast_to(append, _edge_shape(a, axis))] if append is not None else [])
        a = concatenate(parts, axis=axis)
    axis = axis % ndim_of(a)
    lead = (slice(None),) * axis
    for _ in range(n):
        a = a[lead + (slice(1, None),)] - a[lead + (slice(None, -1),)]
    return a


def _edge_shape(a, axis):
    shape = list(shape_of(a))
    shape[axis] = 1
    return tuple(shape)


def sort(a, axis=-1, kind=None, order=None):
    """Sorted copy; the gradient flows back to each element's original place."""
    if axis is None:
        a, axis = P.reshape(a, (-1,)), 0
    return take_along_axis(a, np.argsort(_values(a), axis=axis, kind=kind), axis)


def partition(a, kth, axis=-1, kind="introselect", order=None):
    if axis is None:
        a, axis = P.reshape(a, (-1,)), 0
    return take_along_axis(a, np.argpartition(_values(a), kth, axis=axis), axis)


def tril(m, k=0):
    shape = shape_of(m)
    return P.multiply(m, np.tri(shape[-2], shape[-1], k, dtype=bool))


def triu(m, k=0):
    shape = shape_of(m)
    return P.multiply(m, ~np.tri(shape[-2], shape[-1], k - 1, dtype=bool))


def clip(a, a_min=None, a_max=None, out=None, *, min=None, max=None, **unused):
    _no_out("clip", out)
    lo = a_min if a_min is not None else min
    hi = a_max if a_max is not None else max
    return P.clip(a, _values(lo), _values(hi))


def where(condition, x=None, y=None):
    """``numpy.where``: choose from ``x`` or ``y``; with one argument, the indices of true elements."""
    if x is None and y is None:
        return np.nonzero(_values(condition))
    return P.where(_values(condition), x, y)


# ---- products -----------------------------------------------------------------------------------------
def dot(a, b, out=None):
    """``numpy.dot``: products of scalars, vectors, matrices and stacks."""
    _no_out("dot", out)
    if ndim_of(a) == 0 or ndim_of(b) == 0:
        return P.multiply(a, b)
    if ndim_of(b) <= 2:
        return P.matmul(a, b)
    return P.tensordot(a, b, axes=([-1], [-2]))


def vdot(a, b):
    return P.sum(P.multiply(P.reshape(a, (-1,)), P.reshape(b, (-1,))))


def inner(a, b):
    if ndim_of(a) == 0 or ndim_of(b) == 0:
        return P.multiply(a, b)
    return P.tensordot(a, b, axes=([-1], [-1]))


def outer(a, b, out=None):
    _no_out("outer", out)
    return P.multiply(P.reshape(a, (-1, 1)), P.reshape(b, (1, -1)))


def matmul(x1, x2, out=None, **unused):
    _no_out("matmul", out)
    if ndim_of(x1) == 0 or ndim_of(x2) == 0:
        raise ValueError(f"chainrule.matmul: operands must be at least 1-D; got shapes {shape_of(x1)} and "
                         f"{shape_of(x2)} (use * for scalars)")
    a_inner = shape_of(x1)[-1]
    b_inner = shape_of(x2)[-2] if ndim_of(x2) > 1 else shape_of(x2)[0]
    if a_inner != b_inner:
        raise ValueError(f"chainrule.matmul: shapes {shape_of(x1)} and {shape_of(x2)} do not match: "
                         f"{a_inner} (last axis of the first) != {b_inner} (the second's "
                         f"{'second-to-last' if ndim_of(x2) > 1 else 'only'} axis)")
    return P.matmul(x1, x2)


def tensordot(a, b, axes=2):
    return P.tensordot(a, b, axes=axes)


def einsum(subscripts, *operands, out=None, optimize=False, **unused):
    """Einstein summation (``numpy.einsum``), any number of operands, ellipses included."""
    _no_out("einsum", out)
    if not isinstance(subscripts, str):
        raise TypeError("chainrule.einsum: only the subscripts-string form is supported, e.g. 'ij,jk->ik'")
    return P.einsum(subscripts, *operands)


def kron(a, b):
    """Kronecker product, as a broadcast product and a reshape."""
    n = builtins.max(ndim_of(a), ndim_of(b))
    sa = (1,) * (n - ndim_of(a)) + shape_of(a)
    sb = (1,) * (n - ndim_of(b)) + shape_of(b)
    a2 = P.reshape(a, tuple(x for s in sa for x in (s, 1)))
    b2 = P.reshape(b, tuple(x for s in sb for x in (1, s)))
    return P.reshape(P.multiply(a2, b2), tuple(x * y for x, y in zip(sa, sb, strict=True)))


def trace(a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    _no_out("trace", out)
    return P.sum(P.diagonal(_cast(a, dtype), offset, axis1, axis2), axis=-1)


def diagonal(a, offset=0, axis1=0, axis2=1):
    return P.diagonal(a, offset, axis1, axis2)


def diag(v, k=0):
    """Diagonal of a matrix, or a matrix with ``v`` on its diagonal."""
    if ndim_of(v) == 1:
        n = shape_of(v)[0] + builtins.abs(k)
        return P.diagonal_embed(v, (n, n), k, 0, 1)
    if ndim_of(v) == 2:
        return P.diagonal(v, k, 0, 1)
    raise ValueError(f"chainrule.diag: input must be 1-D or 2-D; got shape {shape_of(v)}")


def cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """Cross product of 3-vectors (or the z-component for 2-vectors) along an axis."""
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = moveaxis(a, axisa, -1), moveaxis(b, axisb, -1)
    na, nb = shape_of(a)[-1], shape_of(b)[-1]
    if na not in (2, 3) or nb not in (2, 3):
        raise ValueError(f"chainrule.cross: vectors must have 2 or 3 components; got {na} and {nb}")
    a0, a1, a2 = a[..., 0], a[..., 1], (a[..., 2] if na == 3 else 0)
    b0, b1, b2 = b[..., 0], b[..., 1], (b[..., 2] if nb == 3 else 0)
    z = a0 * b1 - a1 * b0
    if na == 2 and nb == 2:
        return z
    return moveaxis(stack(broadcast_arrays(a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, z), axis=-1), -1, axisc)


def array(obj, dtype=None, copy=True, **unused):
    """Like ``numpy.array``; nested lists holding Tensors are stacked (keeping their gradients)."""
    if isinstance(obj, Tensor):
        return P.copy(_cast(obj, dtype))
    if isinstance(obj, list | tuple) and _holds_tensor(obj):
        return _cast(stack([array(item) for item in obj]), dtype)
    return np.array(obj, dtype=dtype, copy=copy)


def asarray(a, dtype=None, **unused):
    if isinstance(a, Tensor):
        return _cast(a, dtype) if dtype is not None and np.dtype(dtype) != a.dtype else a
    return array(a, dtype=dtype, copy=False) if isinstance(a, list | tuple) else np.asarray(a, dtype=dtype)


def _holds_tensor(items) -> bool:
    return builtins.any(isinstance(i, Tensor) or (isinstance(i, list | tuple) and _holds_tensor(i)) for i in items)


def _values(x: Any):
    """Raw values of a possibly-Tensor argument that is not differentiated (indices, masks, bounds)."""
    if isinstance(x, Tensor):
        return x.data
    if isinstance(x, list | tuple) and _holds_tensor(x):
        return type(x)(_values(i) for i in x)
    return x


# ---- linalg (re-exported in chainrule.numpy.linalg) -----------------------------------------------------
def norm(x, ord=None, axis=None, keepdims=False):
    """Vector and matrix norms (``numpy.linalg.norm``)."""
    shape = shape_of(x)
    if axis is None:
        axes = tuple(range(len(shape)))
        if ord is not None and len(shape) not in (1, 2):
            raise ValueError(f"chainrule.norm: ord={ord!r} needs a 1-D or 2-D input (or axis=); got shape {shape}")
    else:
        axes = tuple(a % len(shape) for a in (axis if isinstance(axis, tuple | list) else (axis,)))
    if ord is None or ord == "fro" or (ord == 2 and len(axes) == 1):
        return P.sqrt(P.sum(x * x, axis=axes, keepdims=keepdims))
    if len(axes) == 1:
        if ord == math.inf:
            return P.max(P.abs(x), axis=axes, keepdims=keepdims)
        if ord == -math.inf:
            return P.min(P.abs(x), axis=axes, keepdims=keepdims)
        if ord == 0:
            return P.sum(P.not_equal(x, 0) * 1.0, axis=axes, keepdims=keepdims)
        if ord == 1:
            return P.sum(P.abs(x), axis=axes, keepdims=keepdims)
        return P.sum(P.abs(x) ** ord, axis=axes, keepdims=keepdims) ** (1.0 / ord)
    if len(axes) == 2:
        r, c = axes
        if ord == 1:
            result = P.max(P.sum(P.abs(x), axis=r, keepdims=True), axis=(r, c), keepdims=True)
        elif ord == -1:
            result = P.min(P.sum(P.abs(x), axis=r, keepdims=True), axis=(r, c), keepdims=True)
        elif ord == math.inf:
            result = P.max(P.sum(P.abs(x), axis=c, keepdims=True), axis=(r, c), keepdims=True)
        elif ord == -math.inf:
            result = P.min(P.sum(P.abs(x), axis=c, keepdims=True), axis=(r, c), keepdims=True)
        elif ord in (2, -2, "nuc"):
            s = P.svdvals(moveaxis(x, (r, c), (-2, -1)))
            value = P.max(s, axis=-1) if ord == 2 else P.min(s, axis=-1) if ord == -2 else P.sum(s, axis=-1)
            return expand_dims(value, (r, c)) if keepdims else value
        else:
            raise ValueError(f"chainrule.norm: invalid ord {ord!r} for a matrix norm")
        return result if keepdims else squeeze(result, (r, c))
    raise ValueError(f"chainrule.norm: axis must name one or two axes; got {axis!r}")


def slogdet(a):
    """(sign, log|det a|); only the log-determinant is differentiable."""
    sign = np.linalg.slogdet(_values(a))[0]
    return (Tensor(sign) if isinstance(a, Tensor) else sign), P.logabsdet(a)


def eigh(a, UPLO="L"):
    """Eigenvalues and eigenvectors of a symmetric matrix (gradient w.r.t. the symmetric input)."""
    return P.eigh(a, UPLO=UPLO)


def svd(a, full_matrices=True, compute_uv=True, hermitian=False):
    """Reduced SVD (u, s, vh); differentiable when the singular values are distinct."""
    if not compute_uv:
        return P.svdvals(a)
    if full_matrices and shape_of(a)[-1] != shape_of(a)[-2]:
        raise ValueError("chainrule.svd: only full_matrices=False is differentiable for non-square inputs; "
                         "pass full_matrices=False")
    return P.svd(a)


def pinv(a, rcond=1e-15, hermitian=False, **unused):
    """Moore–Penrose pseudo-inverse via the SVD (differentiable where the rank is constant)."""
    u, s, vh = P.svd(a)
    cutoff = rcond * np.max(_values(s), axis=-1, keepdims=True)
    keep = _values(s) > cutoff
    s_inv = P.where(keep, 1 / P.where(keep, s, 1), 0)
    return P.matmul(swapaxes(vh, -1, -2) * s_inv[..., None, :], swapaxes(u, -1, -2))


def matrix_power(a, n):
    if n < 0:
        a, n = P.inv(a), -n
    result = None
    for _ in range(n):
        result = a if result is None else P.matmul(result, a)
    return result if result is not None else np.broadcast_to(np.eye(shape_of(a)[-1]), shape_of(a)).copy()
