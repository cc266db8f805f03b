"""NumPy functions built from the primitives of the rule table: no rules of their own, their gradients
(and higher derivatives) come from the primitives they are made of."""

from __future__ import annotations

import builtins
import math
from typing import Any

import numpy as np

from . import _rules as P
from ._graph import mode
from ._rules import ndim_of, shape_of
from ._tensor import Tensor


def _no_extras(name: str, extras: dict) -> None:
    """NumPy keywords we do not implement (``where=``, ``initial=``, ``casting=``, ...) fail loudly, never
    silently: a masked sum computed as a full sum would be a wrong answer."""
    given = builtins.sorted(k for k, v in extras.items() if v is not None and v is not np._NoValue)
    if given:
        raise TypeError(f"chainrule.{name}: keyword argument{'s' if len(given) > 1 else ''} "
                        f"{', '.join(k + '=' for k in given)} not supported")


def _no_out(name: str, out) -> None:
    if out is not None:
        raise TypeError(f"chainrule.{name}: out= is not supported (results are new arrays)")


def _cast(x, dtype):
    return x if dtype is None else P.astype(x, np.dtype(dtype))


def _require_real(name: str, x) -> None:
    """Order-based functions refuse complex input rather than give NumPy's lexicographic answer."""
    if np.iscomplexobj(_values(x)):
        raise TypeError(f"chainrule.{name}: complex inputs are not supported (complex numbers have no order); "
                        f"use their real parts or abs()")


def _abs2(x):
    """|x|², real for a complex x (x · conj x)."""
    return P.real(x * P.conj(x)) if np.iscomplexobj(_values(x)) else x * x


def _sqrt_or_zero(v):
    """√v with the derivative 0 where v = 0 (norm at 0, std of a constant: a subgradient, as PyTorch)
    instead of 0/0."""
    zero = P.equal(v, 0)  # (a primitive, not a branch: chainrule.compile replays it with new values)
    return P.where(zero, 0, P.sqrt(P.where(zero, 1, v)))


# ---- reductions with NumPy's signatures -------------------------------------------------------------
def _mask(where_):
    """``where=``'s mask, or None for every element."""
    if where_ is None or where_ is np._NoValue or where_ is True:
        return None
    return np.asarray(_values(where_), dtype=bool)


def sum(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None, **extras):
    """Sum of elements over the given axes (``numpy.sum``), with ``initial=`` and ``where=``."""
    _no_extras("sum", extras)
    _no_out("sum", out)
    a = _cast(_arraylike(a), dtype)
    mask = _mask(where)
    if mask is not None:
        a = P.where(mask, a, 0)
    result = P.sum(a, axis=_axis(axis), keepdims=keepdims)
    return result if initial is None or initial is np._NoValue else result + initial


def mean(a, axis=None, dtype=None, out=None, keepdims=False, where=None, **extras):
    """Arithmetic mean over the given axes (``numpy.mean``), with ``where=`` (the mean of the chosen elements)."""
    _no_extras("mean", extras)
    _no_out("mean", out)
    a = _cast(_arraylike(a), dtype)
    mask = _mask(where)
    if mask is None:
        return P.mean(a, axis=_axis(axis), keepdims=keepdims)
    mask = np.broadcast_to(mask, np.broadcast_shapes(mask.shape, shape_of(a)))
    count = np.sum(mask, axis=_axis(axis), keepdims=keepdims)
    return P.sum(P.where(mask, a, 0), axis=_axis(axis), keepdims=keepdims) / count


def _arraylike(a):
    """A list or tuple holding Tensors (and numbers) as one stacked Tensor, as NumPy would make an array."""
    return array(a) if isinstance(a, list | tuple) and _holds_tensor(a) else a


def prod(a, axis=None, dtype=None, out=None, keepdims=False, **extras):
    """Product over the given axes; the gradient is exact also where elements are zero."""
    _no_extras("prod", extras)
    _no_out("prod", out)
    return P.prod(_cast(_arraylike(a), dtype), axis=_axis(axis), keepdims=keepdims)


def max(a, axis=None, out=None, keepdims=False, **extras):
    """Maximum over the given axes; tied maxima share the gradient evenly."""
    _no_extras("max", extras)
    _require_real("max", a)
    _no_out("max", out)
    return P.max(_arraylike(a), axis=_axis(axis), keepdims=keepdims)


def min(a, axis=None, out=None, keepdims=False, **extras):
    """Minimum over the given axes; tied minima share the gradient evenly."""
    _no_extras("min", extras)
    _require_real("min", a)
    _no_out("min", out)
    return P.min(_arraylike(a), axis=_axis(axis), keepdims=keepdims)


amax, amin = max, min


def var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, **extras):
    """Variance (``numpy.var``), with ``ddof``."""
    _no_extras("var", extras)
    _no_out("var", out)
    a = _cast(_arraylike(a), dtype)
    axis = _axis(axis)
    centred = a - P.mean(a, axis=axis, keepdims=True)
    n = P._count(a, axis)
    return P.sum(_abs2(centred), axis=axis, keepdims=keepdims) / builtins.max(n - ddof, 0)


def std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, **extras):
    """Standard deviation (``numpy.std``), with ``ddof``."""
    _no_extras("std", extras)
    a = _arraylike(a)
    v = var(a, axis=axis, dtype=dtype, out=out, ddof=ddof, keepdims=keepdims)
    if P._count(a, _axis(axis)) <= 1:  # a variance of single elements is identically 0: so is its gradient
        return v
    return _sqrt_or_zero(v)


def cumsum(a, axis=None, dtype=None, out=None):
    """Cumulative sum (``numpy.cumsum``); ``axis=None`` works on the flattened array."""
    _no_out("cumsum", out)
    a = _cast(_arraylike(a), dtype)
    return P.cumsum(P.reshape(a, (-1,)), 0) if axis is None else P.cumsum(a, axis)


def cumprod(a, axis=None, dtype=None, out=None):
    """Cumulative product (``numpy.cumprod``); the gradient assumes no zeros in ``a``."""
    _no_out("cumprod", out)
    a = _cast(_arraylike(a), dtype)
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


def ptp(a, axis=None, out=None, keepdims=False):
    """Peak to peak, max − min (``numpy.ptp``)."""
    _no_out("ptp", out)
    _require_real("ptp", a)
    return max(a, axis=axis, keepdims=keepdims) - min(a, axis=axis, keepdims=keepdims)


def _nan_mask(a):
    return _values_as_tensor(np.isnan, a)


def nansum(a, axis=None, dtype=None, out=None, keepdims=False, **extras):
    """Sum treating NaNs as zero; NaN entries get a zero gradient."""
    _no_extras("nansum", extras)
    return sum(P.where(_nan_mask(a), 0, a), axis=axis, dtype=dtype, out=out, keepdims=keepdims)


def nanmean(a, axis=None, dtype=None, out=None, keepdims=False, **extras):
    """Mean over the non-NaN entries."""
    _no_extras("nanmean", extras)
    present = _values(~_nan_mask(a))
    xp = P.xp(present)
    count = xp.sum(present if xp is np else xp.astype(present, _values(a).dtype), axis=_axis(axis), keepdims=keepdims)
    return nansum(a, axis=axis, dtype=dtype, out=out, keepdims=keepdims) / count


def nanmax(a, axis=None, out=None, keepdims=False, **extras):
    """Maximum ignoring NaNs."""
    _no_extras("nanmax", extras)
    _require_real("nanmax", a)
    return max(P.where(_nan_mask(a), -np.inf, a), axis=axis, out=out, keepdims=keepdims)


def nanmin(a, axis=None, out=None, keepdims=False, **extras):
    """Minimum ignoring NaNs."""
    _no_extras("nanmin", extras)
    _require_real("nanmin", a)
    return min(P.where(_nan_mask(a), np.inf, a), axis=axis, out=out, keepdims=keepdims)


def _as_array(x):
    """``x`` as a Tensor or an array, as ``numpy.asanyarray`` makes one (a list or tuple of Tensors stacked)."""
    x = _arraylike(x)
    return x if isinstance(x, Tensor) else np.asarray(x)


def _axis_tuple(name: str, axis, ndim: int) -> tuple[int, ...]:
    """``axis`` as a tuple of non-negative axes, in the order given (``numpy.lib.array_utils.normalize_axis_tuple``)."""
    given = tuple(axis) if isinstance(axis, tuple | list) else (axis,)
    for x in given:
        if not -ndim <= int(x) < ndim:
            raise ValueError(f"chainrule.{name}: axis {x} is out of bounds for an array of {ndim} dimensions")
    axes = tuple(int(x) % ndim for x in given)
    if len(set(axes)) != len(axes):
        raise ValueError(f"chainrule.{name}: axis={axis} repeats an axis")
    return axes


def average(a, axis=None, weights=None, returned=False, *, keepdims=False):
    """Weighted average (``numpy.average``): differentiable in ``a`` and in ``weights``, each a Tensor, an array
    or a list or tuple. Weights of another shape than ``a`` lie along ``axis`` (one axis or several)."""
    a = _as_array(a)
    shape = shape_of(a)
    axes = None if axis is None else _axis_tuple("average", axis, len(shape))
    if weights is None:
        result = mean(a, axis=axes, keepdims=keepdims)
        return (result, np.full(shape_of(result), P._count(a, axes), dtype=result.dtype)[()]) if returned else result
    weights = _as_array(weights)
    # NumPy's result dtype: an integer or boolean average is float64 at least
    dtype = np.result_type(a.dtype, weights.dtype, *((np.float64,) if a.dtype.kind in "biu" else ()))
    a, weights = (x if x.dtype == dtype else _cast(x, dtype) for x in (a, weights))
    if shape_of(weights) != shape:
        if axes is None:
            raise TypeError(f"chainrule.average: weights of shape {shape_of(weights)} and a of shape {shape} differ: "
                            f"axis= must say which axes of a the weights lie along")
        if shape_of(weights) != tuple(shape[i] for i in axes):
            raise ValueError(f"chainrule.average: weights of shape {shape_of(weights)} must have the shape of a "
                             f"{shape} along axis={axis}: {tuple(shape[i] for i in axes)}")
        if len(axes) > 1:
            weights = P.transpose(weights, tuple(int(i) for i in np.argsort(axes)))
        weights = P.reshape(weights, tuple(s if i in axes else 1 for i, s in enumerate(shape)))
    total = sum(P.broadcast_to(weights, shape), axis=axes, keepdims=keepdims)
    if np.any(_values(total) == 0):
        raise ZeroDivisionError("chainrule.average: the weights sum to zero, so they cannot be normalized")
    result = sum(a * weights, axis=axes, keepdims=keepdims) / total
    return (result, total) if returned else result


def bincount(x, weights=None, minlength=0):
    """``numpy.bincount``: how often each non-negative integer of ``x`` occurs, or with ``weights`` the sum of
    the weights at each. Differentiable in ``weights`` (each weight's gradient is its bin's, ḡ[x]); the counts
    and ``x``, integers, carry no gradient."""
    if weights is None:
        counts = _call_on_values(np.bincount, (x,), {"minlength": minlength})  # (compile's tape records it)
        return Tensor(counts) if isinstance(x, Tensor) else counts
    x = x if isinstance(x, Tensor) else np.asarray(x)
    return P.bincount(x, _as_array(weights), minlength=minlength)


def quantile(a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False, **extras):
    """``numpy.quantile`` (linear interpolation), from a sort: the gradient goes to the one or two order
    statistics each quantile interpolates between."""
    _no_extras("quantile", extras)
    _no_out("quantile", out)
    a = _arraylike(a)
    _require_real("quantile", a)
    if method != "linear":
        raise ValueError(f"chainrule.quantile: method={method!r} is not supported; only 'linear'")
    q = np.asarray(_values(q), dtype=np.float64)
    shape = shape_of(a)
    axes = tuple(range(len(shape))) if axis is None else tuple(
        x % len(shape) for x in (axis if isinstance(axis, tuple | list) else (axis,)))
    kept = [i for i in range(len(shape)) if i not in axes]
    n = math.prod(shape[i] for i in axes)
    flat = P.reshape(P.transpose(a, tuple(kept + list(axes))), tuple(shape[i] for i in kept) + (n,))
    ordered = sort(flat, axis=-1)
    position = q * (n - 1)
    low = np.floor(position).astype(int)
    high = np.minimum(low + 1, n - 1)
    frac = position - low
    values = ordered[..., low] * (1 - frac) + ordered[..., high] * frac  # kept shape + q shape
    k = len(kept)
    values = P.transpose(values, tuple(range(k, k + q.ndim)) + tuple(range(k)))  # q shape first, like NumPy
    if keepdims:
        values = P.reshape(values, q.shape + tuple(1 if i in axes else n_ for i, n_ in enumerate(shape)))
    return values


def percentile(a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False, **extras):
    """``numpy.percentile``: :func:`quantile` with ``q`` in percent."""
    _require_real("percentile", a)
    return quantile(a, np.asarray(_values(q)) / 100, axis, out, overwrite_input, method, keepdims, **extras)


def median(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    """``numpy.median``: the middle order statistic (the mean of the two middle ones for an even count)."""
    _require_real("median", a)
    return quantile(a, 0.5, axis, out, overwrite_input, keepdims=keepdims)


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


def permute_dims(a, axes=None):
    return transpose(a, axes)


def matrix_transpose(x):
    """Transpose of the last two axes (``numpy.matrix_transpose``)."""
    return P.swapaxes(x, -1, -2)


def rollaxis(a, axis, start=0):
    """Roll ``axis`` backwards until it lies before ``start`` (``numpy.rollaxis``)."""
    n = ndim_of(a)
    axis, start = axis % n, start + n if start < 0 else start
    if axis < start:
        start -= 1
    order = [i for i in range(n) if i != axis]
    order.insert(start, axis)
    return P.transpose(a, tuple(order))


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


def concatenate(arrays, axis=0, out=None, dtype=None, **extras):
    """Join a sequence of arrays along an existing axis."""
    _no_extras("concatenate", extras)
    _no_out("concatenate", out)
    arrays = [_cast(_arraylike(a), dtype) for a in arrays]
    if not arrays:
        raise ValueError("chainrule.concatenate: need at least one array to concatenate")
    if axis is None:
        arrays = [P.reshape(a, (-1,)) for a in arrays]
        axis = 0
    return P.concatenate(*arrays, axis=axis)


def stack(arrays, axis=0, out=None, **extras):
    """Join a sequence of arrays along a new axis."""
    _no_extras("stack", extras)
    _no_out("stack", out)
    arrays = list(arrays)
    if not arrays:
        raise ValueError("chainrule.stack: need at least one array to stack")
    shapes = {shape_of(a) for a in arrays}
    if len(shapes) != 1:
        raise ValueError(f"chainrule.stack: all input arrays must have the same shape; got {sorted(shapes)}")
    return P.concatenate(*(expand_dims(a, axis) for a in arrays), axis=axis)


def concat(arrays, /, *, axis=0, out=None, dtype=None, **extras):
    """``numpy.concat``, the array-API name of :func:`concatenate`."""
    return concatenate(arrays, axis=axis, out=out, dtype=dtype, **extras)


def meshgrid(*xi, copy=True, sparse=False, indexing="xy"):
    """Coordinate grids from 1-D arrays (``numpy.meshgrid``), as broadcasts: differentiable in each input."""
    if not _holds_tensor(xi):
        return np.meshgrid(*xi, copy=copy, sparse=sparse, indexing=indexing)
    n = len(xi)
    lengths = [math.prod(shape_of(x)) for x in xi]
    places = list(range(n))
    if indexing == "xy" and n > 1:
        places[0], places[1] = 1, 0
    shape = [0] * n
    for place, length in zip(places, lengths, strict=True):
        shape[place] = length
    grids = []
    for place, x in zip(places, xi, strict=True):
        view = [1] * n
        view[place] = -1
        grid = P.reshape(x, tuple(view))
        grids.append(grid if sparse else P.broadcast_to(grid, tuple(shape)))
    return grids


def vstack(tup, **extras):
    _no_extras("vstack", extras)
    return concatenate([atleast_2d(a) for a in tup], axis=0)


row_stack = vstack


def hstack(tup, **extras):
    _no_extras("hstack", extras)
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


def pad(array, pad_width, mode="constant", constant_values=0, **extras):
    """Pad an array (``numpy.pad``): constant, edge, reflect, symmetric and wrap modes."""
    _no_extras("pad", extras)
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
                parts.append(P.xp(array).full(tuple(pad_shape), constant_values, dtype=_dtype(array)))
            parts.append(out)
            if after:
                pad_shape[axis] = int(after)
                parts.append(P.xp(array).full(tuple(pad_shape), constant_values, dtype=_dtype(array)))
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
    _require_real("sort", a)
    if axis is None:
        a, axis = P.reshape(a, (-1,)), 0
    return take_along_axis(a, _call_on_values(np.argsort, (a,), {"axis": axis, "kind": kind}), axis)


def partition(a, kth, axis=-1, kind="introselect", order=None):
    _require_real("partition", a)
    if axis is None:
        a, axis = P.reshape(a, (-1,)), 0
    return take_along_axis(a, _call_on_values(np.argpartition, (a, kth), {"axis": axis}), axis)


def tril(m, k=0):
    shape = shape_of(m)
    return P.where(P.xp(m).tri(shape[-2], shape[-1], k, dtype=bool), m, 0)


def triu(m, k=0):
    shape = shape_of(m)
    return P.where(~P.xp(m).tri(shape[-2], shape[-1], k - 1, dtype=bool), m, 0)


def clip(a, a_min=None, a_max=None, out=None, *, min=None, max=None, **extras):
    _no_extras("clip", extras)
    _no_out("clip", out)
    lo = a_min if a_min is not None else min
    hi = a_max if a_max is not None else max
    for bound in (a, lo, hi):
        _require_real("clip", bound)
    return P.clip(a, _bound(lo), _bound(hi))


def _bound(value):
    """A bound of clip: a Tensor stays one (it gets a gradient); lists of Tensors are stacked."""
    if isinstance(value, list | tuple) and _holds_tensor(value):
        return array(value)
    return value


def where(condition, x=None, y=None):
    """``numpy.where``: choose from ``x`` or ``y``; with one argument, the indices of true elements."""
    if x is None and y is None:
        return _call_on_values(np.nonzero, (condition,))
    return P.where(_values(condition), x, y)


# ---- products -----------------------------------------------------------------------------------------
def dot(a, b, out=None):
    """``numpy.dot``: products of scalars, vectors, matrices and stacks."""
    _no_out("dot", out)
    a, b = _arraylike(a), _arraylike(b)
    if ndim_of(a) == 0 or ndim_of(b) == 0:
        return P.multiply(a, b)
    if ndim_of(b) <= 2:
        return P.matmul(a, b)
    return P.tensordot(a, b, axes=([-1], [-2]))


def _conjugated(x):
    """conj(x) for complex x (what NumPy's vdot, vecdot and vecmat do to their first argument); else x."""
    return P.conj(x) if np.iscomplexobj(_values(x)) else x


def vdot(a, b):
    """Σ conj(a) · b over the flattened arrays (``numpy.vdot`` conjugates its first argument)."""
    a, b = _arraylike(a), _arraylike(b)
    return P.sum(P.multiply(_conjugated(P.reshape(a, (-1,))), P.reshape(b, (-1,))))


def inner(a, b):
    a, b = _arraylike(a), _arraylike(b)
    if ndim_of(a) == 0 or ndim_of(b) == 0:
        return P.multiply(a, b)
    return P.tensordot(a, b, axes=([-1], [-1]))


def outer(a, b, out=None):
    _no_out("outer", out)
    a, b = _arraylike(a), _arraylike(b)
    return P.multiply(P.reshape(a, (-1, 1)), P.reshape(b, (1, -1)))


def matmul(x1, x2, out=None, **extras):
    if extras or out is not None:
        _no_extras("matmul", extras)
        _no_out("matmul", out)
    x1, x2 = _arraylike(x1), _arraylike(x2)
    try:
        return P.matmul(x1, x2)
    except ValueError:  # say which axes disagree (checked only on failure: this is on every layer's path)
        if ndim_of(x1) == 0 or ndim_of(x2) == 0:
            raise ValueError(f"chainrule.matmul: operands must be at least 1-D; got shapes {shape_of(x1)} and "
                             f"{shape_of(x2)} (use * for scalars)") from None
        a_inner = shape_of(x1)[-1]
        b_inner = shape_of(x2)[-2] if ndim_of(x2) > 1 else shape_of(x2)[0]
        if a_inner != b_inner:
            raise ValueError(f"chainrule.matmul: shapes {shape_of(x1)} and {shape_of(x2)} do not match: "
                             f"{a_inner} (last axis of the first) != {b_inner} (the second's "
                             f"{'second-to-last' if ndim_of(x2) > 1 else 'only'} axis)") from None
        raise


def vecdot(x1, x2, /, *, axis=-1, **extras):
    """Dot product of vectors along ``axis``, broadcasting over the rest (``numpy.vecdot``: Σ conj(x1) x2)."""
    _no_extras("vecdot", extras)
    return P.sum(P.multiply(_conjugated(x1), x2), axis=axis)


def matvec(x1, x2, /, **extras):
    """Matrix–vector product over stacks (``numpy.matvec``)."""
    _no_extras("matvec", extras)
    return P.matmul(x1, expand_dims(x2, -1))[..., 0]


def vecmat(x1, x2, /, **extras):
    """Vector–matrix product over stacks (``numpy.vecmat``: conj(x1) x2)."""
    _no_extras("vecmat", extras)
    return P.matmul(expand_dims(_conjugated(x1), -2), x2)[..., 0, :]


def tensordot(a, b, axes=2):
    return P.tensordot(a, b, axes=axes)


def einsum(subscripts, *operands, out=None, optimize=False, **extras):
    """Einstein summation (``numpy.einsum``), any number of operands, ellipses included; also the sublist
    form ``einsum(a, [0, 1], b, [1, 2], [0, 2])``."""
    _no_extras("einsum", extras)
    _no_out("einsum", out)
    if not isinstance(subscripts, str):  # the sublist form: einsum(a, [0, 1], b, [1, 2], [0, 2])
        subscripts, operands = _einsum_sublists((subscripts,) + operands)
    return P.einsum(subscripts, *operands)


def _einsum_sublists(items):
    def letters(sublist):
        return "".join("..." if i is Ellipsis else P._LETTERS[int(i)] for i in sublist)

    operands, terms = list(items[0::2]), [letters(s) for s in items[1::2]]
    output = None
    if len(operands) > len(terms):  # an odd count: the last item is the output sublist
        output = letters(operands.pop())
    return ",".join(terms) + ("" if output is None else "->" + output), operands


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


def array(obj, dtype=None, copy=True, **extras):
    """Like ``numpy.array``; nested lists holding Tensors are stacked (keeping their gradients)."""
    if isinstance(obj, Tensor):
        _no_extras("array", extras)
        return P.copy(_cast(obj, dtype))
    if isinstance(obj, list | tuple) and _holds_tensor(obj):
        _no_extras("array", extras)
        return _cast(stack([array(item) for item in obj]), dtype)
    return np.array(obj, dtype=dtype, copy=copy, **extras)


def asarray(a, dtype=None, **extras):
    if isinstance(a, Tensor):
        _no_extras("asarray", extras)
        return _cast(a, dtype) if dtype is not None and np.dtype(dtype) != a.dtype else a
    if isinstance(a, list | tuple) and _holds_tensor(a):
        return array(a, dtype=dtype, **extras)
    return np.asarray(a, dtype=dtype, **extras)


def _holds_tensor(items) -> bool:
    return builtins.any(isinstance(i, Tensor) or (isinstance(i, list | tuple) and _holds_tensor(i)) for i in items)


def _values(x: Any):
    """Raw values of a possibly-Tensor argument that is not differentiated (indices, masks, bounds)."""
    if isinstance(x, Tensor):
        return x.data
    if isinstance(x, list | tuple) and _holds_tensor(x):
        return type(x)(_values(i) for i in x)
    return x


def _call_on_values(function, args, kwargs=None, as_array: bool = False):
    """``function`` (a NumPy function whose result carries no gradient: indices, masks, counts, tests) on the
    raw values of its arguments. While :func:`chainrule.compile` traces, the call goes on its tape, so that a
    replay recomputes the result instead of reusing the traced one. ``as_array``: a scalar result as a 0-d
    array (for a Tensor to hold)."""
    if as_array:
        function = _ArrayResult(function)
    args = [_values(a) for a in args]
    kwargs = {k: _values(v) for k, v in (kwargs or {}).items()}
    xp = P.xp(*args)
    if xp is not np and getattr(np, getattr(function, "__name__", ""), None) is function \
            and function.__name__ not in ("shape", "ndim", "size"):  # (those read attributes only)
        # a NumPy function on another library's arrays: that library's own (NamespaceError if it has none)
        function = getattr(xp, function.__name__)
        kwargs = {k: v for k, v in kwargs.items() if v is not None}
    result = function(*args, **kwargs)
    tape = mode.tape
    if tape is not None:
        tape.record_call(function, args, kwargs, result)
    return result


def _values_as_tensor(function, a):
    """:func:`_call_on_values` of one argument; a Tensor (with no graph) if ``a`` is one, so that what is
    computed from the result is recorded too."""
    result = _call_on_values(function, (a,))
    return Tensor(result) if isinstance(a, Tensor) else result


class _ArrayResult:
    """``function`` with its result as an array (a NumPy scalar as a 0-d array)."""

    def __init__(self, function) -> None:
        self.function, self.__name__ = function, getattr(function, "__name__", "call")

    def __call__(self, *args, **kwargs):
        return np.asarray(self.function(*args, **kwargs))


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
        return _sqrt_or_zero(P.sum(_abs2(x), axis=axes, keepdims=keepdims))
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
    """(sign, log|det a|), both differentiable (the sign is piecewise constant for real ``a``; for complex
    ``a`` it is the phase of the determinant)."""
    return P.slogdet_sign(a), P.logabsdet(a)


def eig(a):
    """Eigenvalues and right eigenvectors of a general square matrix (``numpy.linalg.eig``).

    The eigenvalues are differentiable, also complex ones (and of complex matrices); the eigenvectors (unit
    norm, defined up to sign) when the eigenvalues are real and distinct (NumPy then returns real arrays):
    through complex eigenvectors the gradient raises.
    """
    return P.eig(a)


def eigvals(a):
    """Eigenvalues of a general square matrix, real or complex (differentiable where they are distinct)."""
    return P.eig(a)[0]


def svdvals(x):
    """Singular values (``numpy.linalg.svdvals``)."""
    return P.svdvals(x)


def vector_norm(x, axis=None, keepdims=False, ord=2):
    """``numpy.linalg.vector_norm``: the input is flattened when ``axis`` is None."""
    if axis is None:
        result = norm(P.reshape(x, (-1,)), ord=ord)
        return P.reshape(result, (1,) * ndim_of(x)) if keepdims else result
    return norm(x, ord=ord, axis=axis, keepdims=keepdims)


def matrix_norm(x, keepdims=False, ord="fro"):
    """``numpy.linalg.matrix_norm`` over the last two axes."""
    return norm(x, ord=ord, axis=(-2, -1), keepdims=keepdims)


def multi_dot(arrays, *, out=None):
    """``numpy.linalg.multi_dot``: a chain of matrix products (first/last argument may be 1-D)."""
    _no_out("multi_dot", out)
    arrays = list(arrays)
    result = arrays[0]
    for b in arrays[1:]:
        result = matmul(result, b)
    return result


def linalg_trace(x, /, *, offset=0, dtype=None):
    """``numpy.linalg.trace``: the trace over the last two axes."""
    return trace(x, offset, -2, -1, dtype)


def linalg_diagonal(x, /, *, offset=0):
    """``numpy.linalg.diagonal``: the diagonal over the last two axes."""
    return P.diagonal(x, offset, -2, -1)


def linalg_outer(x1, x2, /):
    """``numpy.linalg.outer`` of two vectors."""
    if ndim_of(x1) != 1 or ndim_of(x2) != 1:
        raise ValueError(f"chainrule.linalg.outer: both inputs must be 1-D; got {shape_of(x1)}, {shape_of(x2)}")
    return outer(x1, x2)


def linalg_cross(x1, x2, /, *, axis=-1):
    """``numpy.linalg.cross`` of 3-vectors along ``axis``."""
    return cross(x1, x2, axis=axis)


def eigh(a, UPLO="L"):
    """Eigenvalues and eigenvectors of a symmetric matrix (gradient w.r.t. the symmetric input)."""
    return P.eigh(a, UPLO=UPLO)


def svd(a, full_matrices=True, compute_uv=True, hermitian=False):
    """SVD (u, s, vh); differentiable when the singular values are distinct. With ``full_matrices=True`` on a
    non-square input, the extra columns of u (rows of vh) are an orthonormal completion, which is not unique:
    a gradient through them raises (the first min(m, n) are differentiable as usual)."""
    if not compute_uv:
        return P.svdvals(a)
    u, s, vh = P.svd(a)
    m, n = shape_of(a)[-2:]
    if full_matrices and m > n:
        u = concatenate([u, _rules_linalg().orthogonal_complement(u)], axis=-1)
    elif full_matrices and n > m:
        v = P.swapaxes(vh, -1, -2)
        vh = P.swapaxes(concatenate([v, _rules_linalg().orthogonal_complement(v)], axis=-1), -1, -2)
    return u, s, vh


def _rules_linalg():
    from . import _rules_linalg

    return _rules_linalg


def lstsq(a, b, rcond=None):
    """``numpy.linalg.lstsq``: (x, residuals, rank, singular values); x = pinv(a) b is differentiable (where
    the rank is constant), the residuals and singular values too, the rank is an integer."""
    values_a = _values(a)
    xp = P.xp(values_a)
    s = P.svdvals(a)
    rows, columns = shape_of(values_a)
    cutoff = (xp.finfo(values_a.dtype).eps * builtins.max(rows, columns) if rcond is None else rcond)
    u, sv, vh = P.svd(a)
    keep = _values(sv) > cutoff * xp.max(_values(sv))  # NumPy's (LAPACK gelsd's) rank cut-off
    rank = int(xp.sum(P._factor(keep, sv)))
    s_inv = P.where(keep, 1 / P.where(keep, sv, 1), 0)
    b2 = b if ndim_of(b) == 2 else P.reshape(b, (-1, 1))
    conj = P.conj if P._is_complex(values_a) else (lambda t: t)
    x = P.matmul(conj(P.swapaxes(vh, -1, -2)) * s_inv[None, :], P.matmul(conj(P.swapaxes(u, -1, -2)), b2))
    x = x if ndim_of(b) == 2 else P.reshape(x, (-1,))
    residual_values = xp.zeros((0,), dtype=_values(sv).dtype)  # none unless full rank and overdetermined
    if rank == columns and rows > columns:
        residual = b2 - P.matmul(a, x if ndim_of(b) == 2 else P.reshape(x, (-1, 1)))
        residuals = P.sum(_abs2(residual), axis=0)
    else:
        residuals = residual_values
    return x, residuals, rank, s


def cond(x, p=None):
    """``numpy.linalg.cond``: σ_max / σ_min for p None, 2 or −2; ‖x‖ ‖x⁻¹‖ in the norm ``p`` otherwise."""
    if p is None or p == 2 or p == -2:
        s = P.svdvals(x)
        ratio = P.max(s, axis=-1) / P.min(s, axis=-1)
        return 1 / ratio if p == -2 else ratio
    return norm(x, ord=p, axis=(-2, -1)) * norm(P.inv(x), ord=p, axis=(-2, -1))


def matrix_rank(A, tol=None, hermitian=False, *, rtol=None):
    """``numpy.linalg.matrix_rank``: an integer, so it has no gradient (a Tensor input gives a Tensor
    without a graph)."""
    rank = np.linalg.matrix_rank(np.asarray(_values(A)), tol=_values(tol), hermitian=hermitian, rtol=rtol)
    return Tensor(np.asarray(rank)) if isinstance(A, Tensor) else rank


def matrix_power(a, n):
    if n < 0:
        a, n = P.inv(a), -n
    result = None
    for _ in range(n):
        result = a if result is None else P.matmul(result, a)
    return result if result is not None else np.broadcast_to(np.eye(shape_of(a)[-1]), shape_of(a)).copy()
