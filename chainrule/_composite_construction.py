"""More NumPy functions composed from primitives: construction (``linspace`` with Tensor endpoints,
``block``, ``r_``/``c_``, ``vander``), selection and indexing (``select``, ``piecewise``, ``insert``,
``delete``, ``put_along_axis``), differences and integrals (``ediff1d``, ``gradient``, ``trapezoid``,
``interp``), statistics (``cov``, ``corrcoef``), polynomials, a few ufuncs (``heaviside``, ``copysign``,
``float_power``), convolution, and the loops ``apply_along_axis`` and ``vectorize``.

Index bookkeeping is done by NumPy on index arrays (which element goes where); the values then move by
differentiable gathers, so every gradient comes from the primitives' rules.
"""

from __future__ import annotations

import builtins
import math

import numpy as np

from . import _composite as C
from . import _rules as P
from . import _rules_signal as S
from ._composite import _holds_tensor, _values
from ._namespace import require_numpy
from ._rules import ndim_of, shape_of
from ._tensor import Tensor


def _any_tensor(*values) -> bool:
    return builtins.any(isinstance(v, Tensor) or (isinstance(v, list | tuple) and _holds_tensor(v)) for v in values)


def _array(x):
    """A Tensor, a list holding Tensors (stacked), or anything else as an ndarray."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, list | tuple) and _holds_tensor(x):
        return C.array(x)
    return np.asarray(x)


# ---- ranges with Tensor endpoints ----------------------------------------------------------------------
def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    """``numpy.linspace``, differentiable in ``start`` and ``stop`` (Tensors, or arrays of endpoints)."""
    if not _any_tensor(start, stop):
        return np.linspace(start, stop, num, endpoint, retstep, dtype, axis)
    if num < 0:
        raise ValueError(f"chainrule.linspace: num must be non-negative; got {num}")
    start, stop = _array(start), _array(stop)
    div = (num - 1) if endpoint else num
    fractions = np.arange(num, dtype=float) / (div if div > 0 else 1)
    shape = np.broadcast_shapes(shape_of(start), shape_of(stop))
    fractions = Tensor(P._on_device_of(fractions.reshape((-1,) + (1,) * len(shape)), start if ndim_of(start) else stop))
    step = (stop - start) / (div if div > 0 else 1)
    out = start + fractions * (stop - start)
    if endpoint and num > 1:  # the last point is exactly `stop`, as in NumPy
        last = (np.arange(num) == num - 1).reshape(shape_of(fractions))
        out = P.where(last, C.broadcast_to(stop, (num,) + shape), out)
    out = C.moveaxis(out, 0, axis) if axis != 0 else out
    out = C._cast(out, dtype)
    return (out, step) if retstep else out


def logspace(start, stop, num=50, endpoint=True, base=10.0, dtype=None, axis=0):
    """``numpy.logspace``: ``base ** linspace(start, stop)``, differentiable in the endpoints and ``base``."""
    if not _any_tensor(start, stop, base):
        return np.logspace(start, stop, num, endpoint, base, dtype, axis)
    exponents = linspace(start, stop, num, endpoint, axis=axis)
    if ndim_of(base) > 0:
        base = C.expand_dims(base, axis)
    return C._cast(P.power(base, exponents), dtype)


def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    """``numpy.geomspace``: a geometric progression from ``start`` to ``stop`` (both positive, or both
    negative), differentiable in the endpoints."""
    if not _any_tensor(start, stop):
        return np.geomspace(start, stop, num, endpoint, dtype, axis)
    start, stop = _array(start), _array(stop)
    s, e = _values(start), _values(stop)
    xp = P.xp(s, e)
    if P._any(s == 0) or P._any(e == 0) or P._any(xp.sign(s) != xp.sign(e)):
        raise ValueError("chainrule.geomspace: the endpoints must be non-zero and of the same sign "
                         "(complex progressions are not supported)")
    sign = xp.sign(s)
    out = P.exp(linspace(P.log(start * sign), P.log(stop * sign), num, endpoint, axis=axis))
    return C._cast(out * (C.expand_dims(sign, axis) if sign.ndim else sign), dtype)


# ---- selection -----------------------------------------------------------------------------------------
def select(condlist, choicelist, default=0):
    """``numpy.select``: the first choice whose condition holds, element by element."""
    if len(condlist) != len(choicelist):
        raise ValueError(f"chainrule.select: {len(condlist)} conditions for {len(choicelist)} choices")
    result = default
    for condition, choice in reversed(list(zip(condlist, choicelist, strict=True))):
        result = P.where(np.asarray(_values(condition), dtype=bool), choice, result)
    return result


def piecewise(x, condlist, funclist, *args, **kw):
    """``numpy.piecewise``: each function evaluated only where its condition holds (as NumPy does)."""
    require_numpy("piecewise", x)
    values = np.asarray(_values(x))
    condlist = _values(condlist)
    if np.isscalar(condlist) or (not isinstance(condlist[0], list | np.ndarray) and values.ndim != 0):
        condlist = [condlist]  # one condition (NumPy's rule)
    conditions = [np.asarray(_values(c), dtype=bool) for c in condlist]
    if len(funclist) == len(conditions) + 1:  # the last one: where no condition holds
        conditions.append(~np.any(conditions, axis=0))
    elif len(funclist) != len(conditions):
        raise ValueError(f"chainrule.piecewise: {len(funclist)} functions for {len(conditions)} conditions")
    out = P.multiply(x, 0.0) if isinstance(x, Tensor) else np.zeros(values.shape)
    for condition, function in zip(conditions, funclist, strict=True):
        if not condition.any():
            continue
        piece = function(P.getitem(x, condition), *args, **kw) if callable(function) else function
        out = P.setitem(out, condition, piece)
    return out


def put_along_axis(arr, indices, values, axis):
    """``numpy.put_along_axis``, in place: on a Tensor the assignment is recorded like ``arr[i] = v``."""
    indices = np.asarray(_values(indices))
    if axis is None:
        index = np.unravel_index(indices.ravel(), shape_of(arr))
    else:
        axis = axis % ndim_of(arr)
        grids = np.ogrid[tuple(slice(n) for n in indices.shape)]
        index = tuple(indices if i == axis else grids[i] for i in range(ndim_of(arr)))
    if isinstance(arr, Tensor):
        arr[index] = values
    elif isinstance(values, Tensor) and values.requires_grad:
        raise TypeError("chainrule.put_along_axis: cannot write a Tensor that requires grad into a NumPy array "
                        "in place; make `arr` a Tensor")
    else:
        arr[index] = _values(values)


# ---- building from blocks ------------------------------------------------------------------------------
def _nesting(item) -> int:
    return 1 + _nesting(item[0]) if isinstance(item, list) else 0


def block(arrays):
    """``numpy.block``: nested lists of blocks joined along the last axes (innermost list: the last axis)."""
    depth = _nesting(arrays)
    if depth == 0:
        return _array(arrays)
    leaves, stack = [], [arrays]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        else:
            leaves.append(item)
    ndim = builtins.max([depth] + [ndim_of(leaf) for leaf in leaves])

    def join(item, level):
        if not isinstance(item, list):
            item = _array(item)
            return P.reshape(item, (1,) * (ndim - ndim_of(item)) + shape_of(item))
        return C.concatenate([join(x, level + 1) for x in item], axis=level - depth)

    return join(arrays, 0)


class _Concatenator:
    """``np.r_[...]`` and ``np.c_[...]``: slices become ranges, scalars 1-element arrays; joined along the first
    axis (``r_``) or as columns (``c_``). NumPy's string directives are not supported."""

    def __init__(self, columns: bool) -> None:
        self.columns = columns

    def __getitem__(self, key):
        items = key if isinstance(key, tuple) else (key,)
        parts = []
        for item in items:
            if isinstance(item, str):
                raise ValueError("chainrule.r_/c_: string directives ('r', '0,2', ...) are not supported")
            if isinstance(item, slice):
                item = np.r_[item]
            item = _array(item)
            if self.columns:
                item = P.reshape(item, (-1, 1)) if ndim_of(item) < 2 else item
            else:
                item = C.atleast_1d(item)
            parts.append(item)
        return C.concatenate(parts, axis=-1 if self.columns else 0)


r_ = _Concatenator(columns=False)
c_ = _Concatenator(columns=True)


def _flat_positions(arr, axis):
    shape = shape_of(arr) if axis is not None else (math.prod(shape_of(arr)),)
    return np.arange(math.prod(shape)).reshape(shape)


def insert(arr, obj, values, axis=None):
    """``numpy.insert``, differentiable in ``arr`` and ``values``: NumPy lays out index arrays, the values are
    gathered into place."""
    if not _any_tensor(arr, values):
        return np.insert(arr, _values(obj), values, axis)
    arr, values = _array(arr), _array(values)
    flat_arr = P.reshape(arr, (-1,))
    positions = _flat_positions(arr, axis)
    from_arr = np.insert(positions, _values(obj), -1, axis=axis)
    value_ids = np.arange(math.prod(shape_of(values))).reshape(shape_of(values))
    from_values = np.insert(np.full(positions.shape, -1), _values(obj), value_ids, axis=axis)
    inserted = from_arr < 0
    gathered_arr = P.getitem(flat_arr, np.where(inserted, 0, from_arr))
    gathered_values = P.getitem(P.reshape(values, (-1,)), np.where(inserted, from_values, 0))
    return P.where(inserted, gathered_values, gathered_arr)


def delete(arr, obj, axis=None):
    """``numpy.delete``: the kept elements, gathered (differentiable in ``arr``)."""
    if not _any_tensor(arr):
        return np.delete(arr, _values(obj), axis)
    kept = np.delete(_flat_positions(arr, axis), _values(obj), axis=axis)
    return P.getitem(P.reshape(arr, (-1,)), kept)


def ediff1d(ary, to_end=None, to_begin=None):
    """``numpy.ediff1d``: differences of the flattened array, with optional values before and after."""
    flat = P.reshape(_array(ary), (-1,))
    parts = [] if to_begin is None else [P.reshape(_array(to_begin), (-1,))]
    parts.append(flat[1:] - flat[:-1])
    if to_end is not None:
        parts.append(P.reshape(_array(to_end), (-1,)))
    return C.concatenate(parts) if len(parts) > 1 else parts[0]


def _gradient_along(f, spacing, axis, edge_order):
    """NumPy's gradient along one axis: each output element is a combination of at most three neighbouring
    inputs; NumPy itself gives the coefficients (from three comb-shaped probes), the values are gathered."""
    n = shape_of(f)[axis]
    window = builtins.min(3, n)
    starts = np.clip(np.arange(n) - 1, 0, n - window)
    view = [1] * ndim_of(f)
    view[axis] = n
    terms = []
    for r in range(window):
        probe = (np.arange(n) % 3 == r).astype(float)
        coefficients = np.gradient(probe, *([] if spacing is None else [spacing]), edge_order=edge_order)
        columns = starts + (r - starts) % 3  # the one column ≡ r (mod 3) in each output's window
        valid = columns < n
        index = (slice(None),) * axis + (np.where(valid, columns, 0),)
        terms.append(P.getitem(f, index) * np.where(valid, coefficients, 0.0).reshape(view))
    return builtins.sum(terms[1:], terms[0])


def gradient(f, *varargs, axis=None, edge_order=1):
    """``numpy.gradient``: central differences inside, one-sided at the edges, for each axis (scalar spacings
    or coordinate arrays; the spacings are constants)."""
    if not _any_tensor(f):
        return np.gradient(f, *varargs, axis=axis, edge_order=edge_order)
    f = _array(f)
    axes = list(range(ndim_of(f))) if axis is None else [a % ndim_of(f) for a in
                                                          (axis if isinstance(axis, tuple | list) else [axis])]
    if len(varargs) == 0:
        spacings = [None] * len(axes)
    elif len(varargs) == 1:
        spacings = [np.asarray(_values(varargs[0]))] * len(axes)
    else:
        spacings = [np.asarray(_values(v)) for v in varargs]
    for a in axes:
        if shape_of(f)[a] < edge_order + 1:
            raise ValueError(f"chainrule.gradient: axis {a} of shape {shape_of(f)} needs at least "
                             f"{edge_order + 1} elements for edge_order={edge_order}")
    results = [_gradient_along(f, s, a, edge_order) for s, a in zip(spacings, axes, strict=True)]
    return results[0] if len(results) == 1 else tuple(results)


def trapezoid(y, x=None, dx=1.0, axis=-1):
    """``numpy.trapezoid``: the trapezoidal rule along ``axis``, differentiable in ``y`` and ``x``."""
    y = _array(y)
    axis = axis % ndim_of(y)
    lead = (slice(None),) * axis
    heights = (y[lead + (slice(1, None),)] + y[lead + (slice(None, -1),)]) / 2.0
    if x is None:
        widths = dx
    else:
        x = _array(x)
        widths = C.diff(x, axis=-1 if ndim_of(x) == 1 else axis)
        if ndim_of(x) == 1:
            view = [1] * ndim_of(y)
            view[axis] = -1
            widths = P.reshape(widths, tuple(view))
    return C.sum(heights * widths, axis=axis)


def interp(x, xp, fp, left=None, right=None, period=None):
    """``numpy.interp`` (increasing ``xp``): piecewise-linear, differentiable in ``x``, ``xp`` and ``fp``."""
    if not _any_tensor(x, xp, fp, left, right):
        return np.interp(x, xp, fp, left, right, period)
    if period is not None:
        raise ValueError("chainrule.interp: period= is not supported on Tensors")
    x, xp, fp = _array(x), _array(xp), _array(fp)
    xs, knots = np.asarray(_values(x)), np.asarray(_values(xp))
    n = knots.shape[0]
    upper = np.clip(np.searchsorted(knots, xs, side="right"), 1, n - 1)
    lower = upper - 1
    x0, x1, y0, y1 = xp[lower], xp[upper], fp[lower], fp[upper]
    inside = y0 + (x - x0) * (y1 - y0) / (x1 - x0)
    below = fp[0] if left is None else left
    above = fp[-1] if right is None else right
    on_last = xs == knots[-1]
    out = P.where(xs < knots[0], below, P.where(on_last, fp[-1], P.where(xs > knots[-1], above, inside)))
    return out


# ---- statistics ----------------------------------------------------------------------------------------
def cov(m, y=None, rowvar=True, bias=False, ddof=None, fweights=None, aweights=None, *, dtype=None):
    """``numpy.cov``: the covariance matrix of the rows (variables) of ``m`` (and ``y``), with weights."""
    X = C.atleast_2d(_array(m))
    if not rowvar and shape_of(X)[0] != 1:
        X = P.transpose(X)
    if y is not None:
        Y = C.atleast_2d(_array(y))
        if not rowvar and shape_of(Y)[0] != 1:
            Y = P.transpose(Y)
        X = C.concatenate([X, Y], axis=0)
    X = C._cast(X, dtype)
    if ddof is None:
        ddof = 0 if bias else 1
    w = None
    if fweights is not None:
        w = np.asarray(_values(fweights), dtype=float)
    if aweights is not None:
        a = np.asarray(_values(aweights), dtype=float)
        w = a if w is None else w * a
    n = shape_of(X)[1]
    if w is None:
        average = C.mean(X, axis=1, keepdims=True)
        fact = n - ddof
    else:
        w_sum = w.sum()
        average = C.sum(X * w, axis=1, keepdims=True) / w_sum
        if ddof == 0:
            fact = w_sum
        elif aweights is None:
            fact = w_sum - ddof
        else:
            fact = w_sum - ddof * (w * np.asarray(_values(aweights), dtype=float)).sum() / w_sum
    centred = X - average
    weighted = centred if w is None else centred * w
    conjugated = P.conj(weighted) if np.iscomplexobj(_values(weighted)) else weighted  # (as NumPy: X Xᴴ)
    c = P.matmul(centred, P.transpose(conjugated)) / builtins.max(fact, 0)
    return C.squeeze(c)


def corrcoef(x, y=None, rowvar=True, *, dtype=None):
    """``numpy.corrcoef``: Pearson correlation coefficients, c_ij / √(c_ii c_jj)."""
    c = cov(x, y, rowvar, dtype=dtype)
    if ndim_of(c) == 0:
        return c / c
    d = C.diagonal(c)
    return c / P.sqrt(P.multiply(P.reshape(d, (-1, 1)), P.reshape(d, (1, -1))))


# ---- polynomials ---------------------------------------------------------------------------------------
def vander(x, N=None, increasing=False):
    """``numpy.vander``: the columns are powers of ``x`` (decreasing unless ``increasing``)."""
    x = _array(x)
    n = shape_of(x)[0] if N is None else N
    powers = np.arange(n, dtype=float) if increasing else np.arange(n - 1, -1, -1, dtype=float)
    return P.power(P.reshape(x, (-1, 1)), powers)


def polyval(p, x):
    """``numpy.polyval``: p[0] xⁿ⁻¹ + ... + p[n−1], by Horner's rule, differentiable in ``p`` and ``x``."""
    p = _array(p)
    result = P.multiply(x, 0.0) if isinstance(x, Tensor) else np.zeros(np.shape(x), np.result_type(x, 1.0))
    for i in range(shape_of(p)[0]):
        result = result * x + p[i]
    return result


# ---- elementwise functions with kinks ------------------------------------------------------------------
def heaviside(x1, x2):
    """``numpy.heaviside``: 0 below zero, 1 above, ``x2`` at zero (the gradient reaches ``x2`` only there)."""
    values = np.asarray(_values(x1))
    out = P.where(values < 0, 0.0, P.where(values > 0, 1.0, x2))
    return Tensor(out) if isinstance(x1, Tensor) and not isinstance(out, Tensor) else out


def copysign(x1, x2):
    """``numpy.copysign``: |x1| with the sign of x2 (differentiable in ``x1``; ``x2`` only gives a sign)."""
    return P.where(np.signbit(_values(x2)), -P.abs(x1), P.abs(x1))


def float_power(x1, x2):
    """``numpy.float_power``: ``x1 ** x2`` computed in float64 (complex128 for complex inputs)."""
    dtype = np.complex128 if np.iscomplexobj(_values(x1)) or np.iscomplexobj(_values(x2)) else np.float64
    return P.power(*(C._cast(v, dtype) if isinstance(v, Tensor) else np.asarray(_values(v), dtype) for v in (x1, x2)))


# ---- convolution ---------------------------------------------------------------------------------------
def convolve(a, v, mode="full"):
    """``numpy.convolve`` of two 1-D arrays, differentiable in both."""
    a, v = S.as_array(_array(a)), S.as_array(_array(v))
    if ndim_of(a) != 1 or ndim_of(v) != 1:
        raise ValueError(f"chainrule.convolve: both inputs must be 1-D; got shapes {shape_of(a)}, {shape_of(v)}")
    if shape_of(a)[0] == 0 or shape_of(v)[0] == 0:
        raise ValueError("chainrule.convolve: inputs cannot be empty")
    return S.numpy_mode(S.convolve(a, v), shape_of(a)[0], shape_of(v)[0], mode)


def correlate(a, v, mode="valid"):
    """``numpy.correlate`` of two 1-D arrays: a convolution with ``v`` reversed (and conjugated, as NumPy)."""
    a, v = S.as_array(_array(a)), S.as_array(_array(v))
    v = P.conj(v) if np.iscomplexobj(_values(v)) else v
    na, nv = shape_of(a)[0], shape_of(v)[0]
    if mode == "same" and na < nv:  # NumPy centres this case the other way round
        return S.crop(convolve(a, P.flip(v, 0)), [(na - 1) - (na - 1) // 2], [nv])
    return convolve(a, P.flip(v, 0), mode)


# ---- loops ---------------------------------------------------------------------------------------------
def apply_along_axis(func1d, axis, arr, *args, **kwargs):
    """``numpy.apply_along_axis``: ``func1d`` on every 1-D slice along ``axis``, the results stacked.

    Cost: one Python call of ``func1d`` per slice (and its primitives recorded per slice), so it pays for
    few, long slices; write the computation on whole arrays where you can."""
    arr = _array(arr)
    axis = axis % ndim_of(arr)
    moved = C.moveaxis(arr, axis, -1)
    outer = shape_of(moved)[:-1]
    if math.prod(outer) == 0:
        raise ValueError("chainrule.apply_along_axis: cannot apply to 0-sized slices' stack")
    results = [func1d(moved[index], *args, **kwargs) for index in np.ndindex(*outer)]
    stacked = C.stack([_array(r) for r in results])
    result_shape = shape_of(stacked)[1:]
    out = P.reshape(stacked, outer + result_shape)
    if not result_shape:
        return out
    return C.moveaxis(out, tuple(range(len(outer), len(outer) + len(result_shape))),
                      tuple(range(axis, axis + len(result_shape))))


class vectorize:
    """``numpy.vectorize``: ``pyfunc`` called once per element of the broadcast inputs (as Tensor scalars),
    the results stacked into the broadcast shape.

    Cost: one Python call (and its recorded primitives) per element — tens of microseconds each, so a
    vectorised function of 10⁴ elements takes about a second; it is for code that cannot be written on
    whole arrays. ``excluded`` names positions or keywords passed through unchanged; ``signature`` and
    ``otypes`` are not supported.

    >>> import numpy as np, chainrule, chainrule.numpy as cnp
    >>> f = cnp.vectorize(lambda x: x * x if x > 0 else -x)
    >>> chainrule.grad(lambda x: cnp.sum(f(x)))(np.array([-1.0, 2.0]))
    array([-1.,  4.])
    """

    def __init__(self, pyfunc, otypes=None, doc=None, excluded=None, cache=False, signature=None):
        if signature is not None or otypes is not None:
            raise ValueError("chainrule.vectorize: signature= and otypes= are not supported")
        self.pyfunc, self.excluded = pyfunc, set(excluded or ())
        self.__doc__ = doc or getattr(pyfunc, "__doc__", None)

    def __call__(self, *args, **kwargs):
        positions = [i for i in range(len(args)) if i not in self.excluded]
        arrays = [_array(args[i]) for i in positions]
        shape = np.broadcast_shapes(*(shape_of(a) for a in arrays))
        arrays = [C.broadcast_to(a, shape) for a in arrays]
        results = []
        for index in np.ndindex(*shape):
            call = list(args)
            for i, a in zip(positions, arrays, strict=True):
                call[i] = a[index]
            results.append(self.pyfunc(*call, **kwargs))
        if not results:
            return np.zeros(shape)
        return P.reshape(C.stack([_array(r) for r in results]), shape)
