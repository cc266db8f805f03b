"""The layers' primitives: 2-D convolution and max-pooling, and the products their derivatives are made of.

The entries follow the contract of the rule table (:mod:`chainrule._rules`): ``defprim(name, forward,
vjp_0, vjp_1, saves=..., formulas=...)``, forward functions on raw arrays, each VJP returning the error
signal of its argument with that argument's shape, written with primitives so that ``create_graph=True``
records the backward pass too.

A convolution ``y = conv2d(x, w)`` is bilinear, and so are its two derivatives: the error signal of the
input, ``x̄ = conv2d_input_grad(ȳ, w)`` (a transposed convolution: each output's ȳ spread back over the
window it was computed from) and that of the weights, ``w̄ = conv2d_weight_grad(x, ȳ)`` (each weight's
correlation of ȳ with the inputs it met). The three close under differentiation — the VJPs of each are the
other two — so derivatives of every order need no further rule.

Shapes (as in PyTorch): ``x`` is ``(N, C, H, W)``, ``w`` is ``(O, C // groups, kh, kw)``, ``y`` is
``(N, O, Ho, Wo)`` with ``Ho = (H + 2·ph − dh·(kh − 1) − 1) // sh + 1`` (and the same for the width). The
keyword arguments ``stride``, ``padding``, ``dilation`` are pairs of ints and ``groups`` an int; the public
`chainrule.nn.functional.conv2d` normalises and checks them.

Each forward pass is im2col and one GEMM (batched over examples and groups), for a chunk of examples at a
time whose columns stay in the cache (`CHUNK_BYTES`); with stride 1 the windows are shifted slices of the
flattened padded input (see `_Columns`), otherwise ``as_strided`` views the padded input as its windows. The
weights' error signal is one GEMM over positions per chunk (batched over examples, then summed); the input's
is one GEMM and a scatter-add of kh·kw slices back onto the padded input (col2im). The chunks' work buffers
are kept between calls (`SCRATCH_BYTES` per thread), so that a training loop does not page-fault on them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from .._rules import defprim, shape_of, xp


def output_size(size: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    """The length of a convolution's (or pooling's) output along one axis."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def windows(x, kernel, stride, padding, dilation, fill=0.0):
    """A read-only view ``(N, C, Ho, Wo, kh, kw)`` of the (padded) input's windows: no copy is made.

    ``fill`` is the value of the padding (0 for convolution and averages, −inf for max-pooling)."""
    m = xp(x)
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    n, c, h, w_ = x.shape
    ho = output_size(h, kh, sh, padding[0], dh)
    wo = output_size(w_, kw, sw, padding[1], dw)
    if padding[0] or padding[1]:
        ph, pw = padding
        padded = m.full((n, c, h + 2 * ph, w_ + 2 * pw), fill, dtype=x.dtype)
        padded[:, :, ph:ph + h, pw:pw + w_] = x
    else:
        padded = m.ascontiguousarray(x)
    s_n, s_c, s_h, s_w = padded.strides
    return m.lib.stride_tricks.as_strided(padded, shape=(n, c, ho, wo, kh, kw),
                                          strides=(s_n, s_c, s_h * sh, s_w * sw, s_h * dh, s_w * dw),
                                          writeable=False)


#: bytes of im2col columns built at a time. The examples are taken in chunks whose columns stay in the L2
#: cache while their GEMM reads them and (in the input's error signal) while col2im adds them up; building the
#: whole batch's columns at once (tens of MB for MNIST-sized batches) costs more in memory traffic than the
#: per-chunk calls cost in Python.
CHUNK_BYTES = 1 << 20
#: bytes of work buffers (a chunk's columns, padded input, products) each thread keeps between calls
SCRATCH_BYTES = 32 << 20
_local = threading.local()


def _chunks(n: int, example_bytes: int):
    """``(start, stop)`` of consecutive chunks of the batch, each at most `CHUNK_BYTES` of columns (one empty
    chunk for an empty batch, so that the buffers and the result still get their shapes)."""
    step = max(1, min(n, CHUNK_BYTES // max(example_bytes, 1)))
    return [(start, min(n, start + step)) for start in range(0, n, step)] or [(0, 0)]


def _scratch(m, role: str, shape: tuple, dtype, layout: tuple = (), zeroed: bool = False):
    """A work buffer kept between calls (per thread; the least recently used go first beyond `SCRATCH_BYTES`).

    A training loop's convolutions then reuse the same memory every step instead of asking the allocator for
    it: glibc returns freed blocks of a few MB to the kernel, and every page of them faults again on the
    next touch (~6,000 page faults per step of ``benchmarks/conv2d.py`` without this, a third of its time on
    a VM). ``zeroed``: zeros when made — callers keep the parts they rely on being zero untouched, and
    ``layout`` (in the key) says which parts those are."""
    cache = getattr(_local, "buffers", None)
    if cache is None:
        cache = _local.buffers = OrderedDict()
    key = (role, m.__name__, tuple(shape), str(dtype), layout)
    buffer = cache.pop(key, None)
    if buffer is None:
        buffer = m.zeros(shape, dtype=dtype) if zeroed else m.empty(shape, dtype=dtype)
    if buffer.nbytes <= SCRATCH_BYTES:
        cache[key] = buffer                                           # now the most recently used
        total = sum(b.nbytes for b in cache.values())
        while total > SCRATCH_BYTES:
            total -= cache.popitem(last=False)[1].nbytes
    return buffer


class _Columns:
    """The im2col geometry of a convolution of an input of ``shape`` and a weight of ``weight_shape``.

    With stride 1 (the common case) the windows are *shifted rows*: flatten each padded channel to one row
    of ``Hp·Wp`` values; then window offset ``(i, j)`` of every output position ``(a, b)`` is the value at
    ``a·Wp + b + i·dh·Wp + j·dw``, so the columns of one offset are a contiguous slice of that row, and col2im
    adds contiguous slices back. The positions then lie on a grid ``Ho × Wp`` (``width = Wp``): the last
    ``Wp − Wo`` of each grid row are not outputs; they are computed and dropped (the forward pass), or meet a
    zero error signal (the derivatives). Other strides, and layers with fewer columns than outputs, take the
    windows of `windows` (``width = Wo``). Everything is done a chunk of examples at a time."""

    def __init__(self, m, shape, weight_shape, stride, padding, dilation, groups, dtype):
        self.m, self.dtype = m, dtype
        self.n, self.c, self.h, self.w = shape
        self.o, c_group, self.kh, self.kw = weight_shape
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups
        self.ho = output_size(self.h, self.kh, stride[0], padding[0], dilation[0])
        self.wo = output_size(self.w, self.kw, stride[1], padding[1], dilation[1])
        self.hp, self.wp = self.h + 2 * padding[0], self.w + 2 * padding[1]
        self.k = c_group * self.kh * self.kw                          # one group's GEMM depth
        # the grid costs a copy of the output (or of its error signal) on top of the columns; it pays when
        # the columns, whose copies it makes contiguous, are at least as many as the outputs (not for a
        # first layer on one channel: 9 columns per position for 16 outputs, say)
        self.shifted = stride == (1, 1) and self.k * groups >= self.o
        self.width = self.wp if self.shifted else self.wo
        self.positions = self.ho * self.width
        self.chunks = _chunks(self.n, self.c * self.kh * self.kw * self.positions * dtype.itemsize)
        self.step = self.chunks[0][1]
        # where the padding and the unused grid columns are (the zeros that buffers keep between calls)
        self.layout = (self.h, self.w, *padding, *dilation, self.kw, self.shifted)
        self.buffers: dict[str, Any] = {}
        # (i, j, start): each kernel offset and where its slice starts in a flattened padded channel
        self.offsets = [(i, j, i * dilation[0] * self.wp + j * dilation[1])
                        for i in range(self.kh) for j in range(self.kw)]

    def buffer(self, role: str, shape: tuple, zeroed: bool = False):
        """The work buffer ``(chunk, *shape)`` of ``role`` (fetched once per call)."""
        if role not in self.buffers:
            self.buffers[role] = _scratch(self.m, role, (self.step, *shape), self.dtype, self.layout, zeroed)
        return self.buffers[role]

    def flat_length(self) -> int:
        """The length of a flattened padded channel, with room for the last offset's slice."""
        return self.hp * self.wp + (self.kw - 1) * self.dilation[1]

    def interior(self, padded):
        """The input's positions in ``padded`` (flattened channels when shifted), ``(m, C, H, W)``."""
        (ph, pw), m = self.padding, len(padded)
        plane = padded[:, :, :self.hp * self.wp].reshape(m, self.c, self.hp, self.wp) if self.shifted else padded
        return plane[:, :, ph:ph + self.h, pw:pw + self.w]

    def columns(self, x, start: int, stop: int):
        """im2col of examples ``start:stop``: ``(stop − start, G, K, positions)``, in a work buffer."""
        m = stop - start
        if self.shifted or self.padding != (0, 0):
            shape = (self.c, self.flat_length()) if self.shifted else (self.c, self.hp, self.wp)
            padded = self.buffer("padded input", shape, zeroed=True)[:m]   # its padding stays zero
            self.interior(padded)[...] = x[start:stop]
        else:
            padded = x[start:stop]
        out = self.buffer("columns", (self.c, self.kh, self.kw, self.positions))[:m]
        if self.shifted:
            for i, j, offset in self.offsets:
                out[:, :, i, j] = padded[:, :, offset:offset + self.positions]
        else:
            (sh, sw), (dh, dw) = self.stride, self.dilation
            s_n, s_c, s_h, s_w = padded.strides
            view = self.m.lib.stride_tricks.as_strided(
                padded, shape=(m, self.c, self.kh, self.kw, self.ho, self.wo),
                strides=(s_n, s_c, s_h * dh, s_w * dw, s_h * sh, s_w * sw), writeable=False)
            out.reshape(view.shape)[...] = view
        return out.reshape(m, self.groups, self.k, self.positions)

    def signal(self, g, start: int, stop: int):
        """Examples ``start:stop`` of the output's error signal on the grid, ``(m, G, O/G, positions)``:
        ``g`` itself, or (shifted) ``g`` in the first ``Wo`` of each grid row of a work buffer whose other
        columns stay zero."""
        m = stop - start
        if not self.shifted:
            return g[start:stop].reshape(m, self.groups, self.o // self.groups, self.positions)
        part = self.buffer("signal grid", (self.o, self.ho, self.width), zeroed=True)[:m]
        part[..., :self.wo] = g[start:stop]
        return part.reshape(m, self.groups, self.o // self.groups, self.positions)


def _check_dtypes(what, a, b):
    if a.dtype != b.dtype or a.dtype.kind != "f":
        raise TypeError(f"chainrule.{what}: expected floating-point arrays of one dtype; got {a.dtype} and "
                        f"{b.dtype} (cast one with .astype)")


def _conv2d(x, w, stride, padding, dilation, groups):
    _check_dtypes("conv2d", x, w)
    m = xp(x)
    geometry = _Columns(m, x.shape, w.shape, stride, padding, dilation, groups, x.dtype)
    n, o, ho, wo = geometry.n, geometry.o, geometry.ho, geometry.wo
    kernels = w.reshape(groups, o // groups, geometry.k)                              # (G, O/G, K)
    out = m.empty((n, o, ho, wo), dtype=x.dtype)
    for start, stop in geometry.chunks:
        cols = geometry.columns(x, start, stop)                                        # (m, G, K, positions)
        if geometry.shifted:                                                           # the GEMM, then the grid's
            product = geometry.buffer("products", (groups, o // groups, geometry.positions))[:stop - start]
            m.matmul(kernels, cols, out=product)                                       # outputs into place
            out[start:stop] = product.reshape(stop - start, o, ho, geometry.width)[..., :wo]
        else:
            m.matmul(kernels, cols, out=out[start:stop].reshape(stop - start, groups, o // groups, ho * wo))
    return out


def _conv2d_weight_grad(x, g, weight_shape, stride, padding, dilation, groups):
    _check_dtypes("conv2d_weight_grad", x, g)
    m = xp(x)
    geometry = _Columns(m, x.shape, weight_shape, stride, padding, dilation, groups, x.dtype)
    gradient = m.zeros((groups, geometry.o // groups, geometry.k), dtype=x.dtype)
    for start, stop in geometry.chunks:
        cols = geometry.columns(x, start, stop)                                        # (m, G, K, positions)
        signal = geometry.signal(g, start, stop)                                       # (m, G, O/G, positions)
        # Σ over positions (the GEMM, batched over the chunk's examples), then over examples, of ȳ · window
        gradient += m.matmul(signal, cols.transpose(0, 1, 3, 2)).sum(axis=0)           # (G, O/G, K)
    return gradient.reshape(weight_shape)


def _conv2d_input_grad(g, w, input_shape, stride, padding, dilation, groups):
    _check_dtypes("conv2d_input_grad", g, w)
    m = xp(g)
    geometry = _Columns(m, input_shape, w.shape, stride, padding, dilation, groups, g.dtype)
    c, o, ho, wo, kh, kw = geometry.c, geometry.o, geometry.ho, geometry.wo, geometry.kh, geometry.kw
    (sh, sw), (dh, dw) = stride, dilation
    kernels = w.reshape(groups, o // groups, geometry.k).transpose(0, 2, 1)           # (G, K, O/G)
    out = m.empty(input_shape, dtype=g.dtype)
    padded_shape = (c, geometry.flat_length()) if geometry.shifted else (c, geometry.hp, geometry.wp)
    for start, stop in geometry.chunks:
        count = stop - start
        signal = geometry.signal(g, start, stop)
        cols = geometry.buffer("input columns", (groups, geometry.k, geometry.positions))[:count]
        m.matmul(kernels, signal, out=cols)                                            # the GEMM
        cols = cols.reshape(count, c, kh, kw, geometry.positions)
        # col2im: every kernel offset adds its columns back where they were taken from
        target = geometry.buffer("padded input signal", padded_shape)[:count]
        target.fill(0)
        if geometry.shifted:
            for i, j, offset in geometry.offsets:
                target[:, :, offset:offset + geometry.positions] += cols[:, :, i, j]
        else:
            cols = cols.reshape(count, c, kh, kw, ho, wo)
            for i in range(kh):
                for j in range(kw):
                    rows = slice(i * dh, i * dh + sh * (ho - 1) + 1, sh)
                    columns = slice(j * dw, j * dw + sw * (wo - 1) + 1, sw)
                    target[:, :, rows, columns] += cols[:, :, i, j]
        out[start:stop] = geometry.interior(target)
    return out


# ---- max-pooling ---------------------------------------------------------------------------------------
def _max_positions(x, kernel, stride, padding, dilation):
    """For every output of a max-pooling, the flat index into ``x`` of its window's (first) maximum."""
    m = xp(x)
    view = windows(x, kernel, stride, padding, dilation, fill=-m.inf)
    n, c, ho, wo, kh, kw = view.shape
    best = view.reshape(n, c, ho, wo, kh * kw).argmax(axis=-1)
    rows = m.arange(ho)[:, None] * stride[0] + (best // kw) * dilation[0] - padding[0]
    cols = m.arange(wo)[None, :] * stride[1] + (best % kw) * dilation[1] - padding[1]
    planes = m.arange(n * c).reshape(n, c, 1, 1)
    return (planes * x.shape[2] + rows) * x.shape[3] + cols


def _max_pool2d(x, kernel, stride, padding, dilation):
    if x.dtype.kind != "f":
        raise TypeError(f"chainrule.max_pool2d: expected a floating-point array; got {x.dtype}")
    return x.reshape(-1)[_max_positions(x, kernel, stride, padding, dilation)]


def _max_pool2d_gather(h, x, kernel, stride, padding, dilation):
    return h.reshape(-1)[_max_positions(x, kernel, stride, padding, dilation)]


def _max_pool2d_scatter(g, x, kernel, stride, padding, dilation):
    positions = _max_positions(x, kernel, stride, padding, dilation)
    total = xp(g).bincount(positions.reshape(-1), weights=g.reshape(-1), minlength=x.size)  # overlaps add up
    return total.astype(g.dtype, copy=False).reshape(x.shape)


def _no_gradient_through_positions(h, ans, first, x, **p):
    """The argmax positions are piecewise constant in ``x``: a zero derivative (almost everywhere)."""
    return xp(x).zeros(shape_of(x), dtype=x.dtype)


# ---- the entries -----------------------------------------------------------------------------------------
conv2d = defprim(
    "conv2d", _conv2d,
    lambda g, ans, x, w, **p: conv2d_input_grad(g, w, input_shape=shape_of(x), **p),
    lambda g, ans, x, w, **p: conv2d_weight_grad(x, g, weight_shape=shape_of(w), **p),
    saves=(0, 1), formulas=("{g} ⋆ᵀ {1}", "{0} ⋆ {g}"),
    names=(), cost="contraction")

conv2d_input_grad = defprim(
    "conv2d_input_grad", _conv2d_input_grad,
    lambda h, ans, g, w, input_shape, **p: conv2d(h, w, **p),
    lambda h, ans, g, w, input_shape, **p: conv2d_weight_grad(h, g, weight_shape=shape_of(w), **p),
    saves=(0, 1), formulas=("{g} ⋆ {1}", "{g} ⋆ {0}"),
    names=(), cost="contraction")

conv2d_weight_grad = defprim(
    "conv2d_weight_grad", _conv2d_weight_grad,
    lambda h, ans, x, g, weight_shape, **p: conv2d_input_grad(g, h, input_shape=shape_of(x), **p),
    lambda h, ans, x, g, weight_shape, **p: conv2d(x, h, **p),
    saves=(0, 1), formulas=("{1} ⋆ᵀ {g}", "{0} ⋆ {g}"),
    names=(), cost="contraction")

# y = x at the windows' maxima; ȳ goes back to those positions (summed where windows overlap)
max_pool2d = defprim(
    "max_pool2d", _max_pool2d,
    lambda g, ans, x, **p: max_pool2d_scatter(g, x, **p),
    saves=(0,), formulas=("{g} routed to each window's maximum",),
    names=(), cost="movement")

max_pool2d_scatter = defprim(
    "max_pool2d_scatter", _max_pool2d_scatter,
    lambda h, ans, g, x, **p: max_pool2d_gather(h, x, **p), _no_gradient_through_positions,
    saves=(1,), formulas=("{g} at the maxima of {1}", "0"),
    names=(), cost="movement")

max_pool2d_gather = defprim(
    "max_pool2d_gather", _max_pool2d_gather,
    lambda g, ans, h, x, **p: max_pool2d_scatter(g, x, **p), _no_gradient_through_positions,
    saves=(1,), formulas=("{g} routed to the maxima of {1}", "0"),
    names=(), cost="movement")

#: every primitive defined here (tests/nn/test_nn_primitives.py checks each has a spec)
PRIMITIVES = (conv2d, conv2d_input_grad, conv2d_weight_grad, max_pool2d, max_pool2d_scatter, max_pool2d_gather)

__all__ = ["PRIMITIVES", "conv2d", "conv2d_input_grad", "conv2d_weight_grad", "max_pool2d", "max_pool2d_gather",
           "max_pool2d_scatter", "output_size", "windows"]
