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

Each forward pass is im2col and one GEMM (batched over examples and groups): ``as_strided`` views the padded
input as its windows, which are copied once, in the input's own order, into ``(N, groups, C/groups·kh·kw,
Ho·Wo)`` columns. The weights' error signal is one GEMM over positions (batched over examples, then summed);
the input's is one GEMM and a scatter-add of kh·kw strided slices back onto the padded input (col2im).
"""

from __future__ import annotations

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


def _columns(x, kernel, stride, padding, dilation, groups):
    """im2col, batch first: the windows as ``(N, groups, C/groups·kh·kw, Ho·Wo)`` (one copy, made in the
    order of the input: its innermost loop runs along image rows)."""
    view = windows(x, kernel, stride, padding, dilation)
    n, c, ho, wo, kh, kw = view.shape
    return view.transpose(0, 1, 4, 5, 2, 3).reshape(n, groups, (c // groups) * kh * kw, ho * wo)


def _check_dtypes(what, a, b):
    if a.dtype != b.dtype or a.dtype.kind != "f":
        raise TypeError(f"chainrule.{what}: expected floating-point arrays of one dtype; got {a.dtype} and "
                        f"{b.dtype} (cast one with .astype)")


def _conv2d(x, w, stride, padding, dilation, groups):
    _check_dtypes("conv2d", x, w)
    n = x.shape[0]
    out_channels, _, kh, kw = w.shape
    ho = output_size(x.shape[2], kh, stride[0], padding[0], dilation[0])
    wo = output_size(x.shape[3], kw, stride[1], padding[1], dilation[1])
    cols = _columns(x, (kh, kw), stride, padding, dilation, groups)            # (N, G, K, Ho·Wo)
    kernels = w.reshape(groups, out_channels // groups, -1)                     # (G, O/G, K)
    out = xp(x).matmul(kernels, cols)                                           # (N, G, O/G, Ho·Wo): the GEMM
    return out.reshape(n, out_channels, ho, wo)


def _conv2d_weight_grad(x, g, weight_shape, stride, padding, dilation, groups):
    _check_dtypes("conv2d_weight_grad", x, g)
    n, out_channels, ho, wo = g.shape
    cols = _columns(x, weight_shape[2:], stride, padding, dilation, groups)    # (N, G, K, Ho·Wo)
    signal = g.reshape(n, groups, out_channels // groups, ho * wo)             # (N, G, O/G, Ho·Wo)
    # Σ over positions (the GEMM, batched over examples), then over examples, of ȳ · window
    gradient = xp(x).matmul(signal, cols.transpose(0, 1, 3, 2)).sum(axis=0)   # (G, O/G, K)
    return gradient.reshape(weight_shape)


def _conv2d_input_grad(g, w, input_shape, stride, padding, dilation, groups):
    _check_dtypes("conv2d_input_grad", g, w)
    m = xp(g)
    n, c, h, w_ = input_shape
    out_channels, c_group, kh, kw = w.shape
    _, _, ho, wo = g.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    kernels = w.reshape(groups, out_channels // groups, c_group * kh * kw)        # (G, O/G, K)
    signal = g.reshape(n, groups, out_channels // groups, ho * wo)                # (N, G, O/G, Ho·Wo)
    cols = m.matmul(kernels.transpose(0, 2, 1), signal)                          # (N, G, K, Ho·Wo): the GEMM
    cols = cols.reshape(n, c, kh, kw, ho, wo)
    padded = m.zeros((n, c, h + 2 * ph, w_ + 2 * pw), dtype=g.dtype)
    for i in range(kh):        # col2im: every kernel offset adds its slice of the windows back
        for j in range(kw):
            rows = slice(i * dh, i * dh + sh * (ho - 1) + 1, sh)
            columns = slice(j * dw, j * dw + sw * (wo - 1) + 1, sw)
            padded[:, :, rows, columns] += cols[:, :, i, j]
    return padded[:, :, ph:ph + h, pw:pw + w_].copy() if (ph or pw) else padded


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
