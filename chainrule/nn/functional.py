"""The layers as functions: convolution, pooling, normalisation, embedding lookup and attention.

Each takes Tensors or arrays and returns the same kind; gradients flow to every Tensor argument that
requires grad. Shapes follow PyTorch: images are ``(N, C, H, W)``, sequences ``(N, C, L)`` for
convolutions and ``(N, L, E)`` (batch first) for attention.

>>> import chainrule.nn.functional as F
>>> F.conv2d(np.ones((1, 1, 4, 4)), np.ones((2, 1, 3, 3)), padding=1).shape
(1, 2, 4, 4)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import chainrule as cr
import chainrule.numpy as cnp
from chainrule import _graph

from . import _primitives as P

Array = Any  # a Tensor or an ndarray


def _raw(x: Array) -> np.ndarray:
    return x.data if isinstance(x, cr.Tensor) else np.asarray(x)


def _pair(value: Any, what: str, name: str, minimum: int) -> tuple[int, int]:
    items = tuple(value) if isinstance(value, tuple | list) else (value, value)
    if len(items) != 2 or not all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in items) \
            or min(items) < minimum:
        raise ValueError(f"{what}: {name} must be an int >= {minimum} or a pair of them; got {value!r}")
    return int(items[0]), int(items[1])


def _check_image(what: str, x: np.ndarray) -> None:
    if x.ndim != 4:
        raise ValueError(f"{what}: expected an input of shape (N, C, H, W); got shape {x.shape}")
    if x.dtype.kind != "f":
        raise TypeError(f"{what}: expected a floating-point input; got {x.dtype}")


def _check_output(what: str, shape: tuple, kernel: tuple, stride: tuple, padding: tuple, dilation: tuple
                  ) -> None:
    sizes = [P.output_size(n, k, s, p, d) for n, k, s, p, d in zip(shape[2:], kernel, stride, padding, dilation,
                                                                  strict=True)]
    if min(sizes) < 1:
        raise ValueError(f"{what}: the input's spatial size {shape[2:]} is smaller than the kernel {kernel} "
                         f"(dilation {dilation}, padding {padding}) covers: the output would be {tuple(sizes)}")


def conv2d(x: Array, weight: Array, bias: Array | None = None, stride: int | tuple = 1, padding: int | tuple = 0,
           dilation: int | tuple = 1, groups: int = 1) -> Array:
    """2-D convolution (cross-correlation, as in PyTorch) of ``x`` ``(N, C, H, W)`` with ``weight``
    ``(O, C // groups, kh, kw)``, plus ``bias`` ``(O,)``: output ``(N, O, Ho, Wo)``,
    ``Ho = (H + 2·padding − dilation·(kh − 1) − 1) // stride + 1``. Zero padding. One primitive
    (`chainrule.nn._primitives.conv2d`: im2col and one GEMM each way).

    >>> conv2d(np.ones((2, 3, 8, 8)), np.ones((4, 3, 3, 3)), stride=2).shape
    (2, 4, 3, 3)
    """
    what = "conv2d"
    xs, ws = _raw(x), _raw(weight)
    _check_image(what, xs)
    if ws.ndim != 4:
        raise ValueError(f"{what}: expected a weight of shape (out_channels, in_channels // groups, kh, kw); "
                         f"got shape {ws.shape}")
    if not isinstance(groups, int | np.integer) or groups < 1 or xs.shape[1] % groups or ws.shape[0] % groups:
        raise ValueError(f"{what}: groups={groups} must divide both the input's {xs.shape[1]} channels and the "
                         f"weight's {ws.shape[0]} output channels")
    if ws.shape[1] * groups != xs.shape[1]:
        raise ValueError(f"{what}: the input has {xs.shape[1]} channels, but the weight {ws.shape} expects "
                         f"{ws.shape[1] * groups} (= weight.shape[1] · groups)")
    if xs.dtype != ws.dtype:
        raise TypeError(f"{what}: the input is {xs.dtype} but the weight is {ws.dtype}; cast one with .astype")
    stride, padding = _pair(stride, what, "stride", 1), _pair(padding, what, "padding", 0)
    dilation = _pair(dilation, what, "dilation", 1)
    _check_output(what, xs.shape, ws.shape[2:], stride, padding, dilation)
    y = P.conv2d(x, weight, stride=stride, padding=padding, dilation=dilation, groups=int(groups))
    if bias is None:
        return y
    if _raw(bias).shape != (ws.shape[0],):
        raise ValueError(f"{what}: expected a bias of shape ({ws.shape[0]},); got {_raw(bias).shape}")
    return y + cnp.reshape(bias, (1, -1, 1, 1))


def conv1d(x: Array, weight: Array, bias: Array | None = None, stride: int = 1, padding: int = 0,
           dilation: int = 1, groups: int = 1) -> Array:
    """1-D convolution of ``x`` ``(N, C, L)`` with ``weight`` ``(O, C // groups, k)``: output ``(N, O, Lo)``
    (a `conv2d` over images of height 1).

    >>> conv1d(np.ones((2, 3, 10)), np.ones((4, 3, 3))).shape
    (2, 4, 8)
    """
    xs, ws = _raw(x), _raw(weight)
    if xs.ndim != 3 or ws.ndim != 3:
        raise ValueError(f"conv1d: expected an input (N, C, L) and a weight (out_channels, in_channels // groups, "
                         f"k); got shapes {xs.shape} and {ws.shape}")
    for name, value in (("stride", stride), ("padding", padding), ("dilation", dilation)):
        if not isinstance(value, int | np.integer) or isinstance(value, bool):
            raise ValueError(f"conv1d: {name} must be an int; got {value!r}")
    y = conv2d(cnp.expand_dims(x, 2), cnp.expand_dims(weight, 2), bias, (1, stride), (0, padding),
               (1, dilation), groups)
    return cnp.squeeze(y, 2)


def _pool_geometry(what: str, x: Array, kernel_size, stride, padding, dilation) -> tuple:
    """A pooling's checked input array and its kernel, stride (the kernel's by default), padding (at most
    half the kernel) and dilation, each a pair."""
    xs = _raw(x)
    _check_image(what, xs)
    kernel = _pair(kernel_size, what, "kernel_size", 1)
    stride = kernel if stride is None else _pair(stride, what, "stride", 1)
    padding, dilation = _pair(padding, what, "padding", 0), _pair(dilation, what, "dilation", 1)
    if padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise ValueError(f"{what}: padding {padding} must be at most half the kernel size {kernel}")
    _check_output(what, xs.shape, kernel, stride, padding, dilation)
    return xs, kernel, stride, padding, dilation


def max_pool2d(x: Array, kernel_size: int | tuple, stride: int | tuple | None = None, padding: int | tuple = 0,
               dilation: int | tuple = 1) -> Array:
    """The maximum over each window: ``(N, C, H, W)`` → ``(N, C, Ho, Wo)``; ``stride`` defaults to the
    kernel size; padding counts as −∞. The error signal goes to each window's (first) maximum.

    >>> max_pool2d(np.arange(16.0).reshape(1, 1, 4, 4), 2)[0, 0]
    array([[ 5.,  7.],
           [13., 15.]])
    """
    _, kernel, stride, padding, dilation = _pool_geometry("max_pool2d", x, kernel_size, stride, padding, dilation)
    return P.max_pool2d(x, kernel=kernel, stride=stride, padding=padding, dilation=dilation)


def avg_pool2d(x: Array, kernel_size: int | tuple, stride: int | tuple | None = None, padding: int | tuple = 0
               ) -> Array:
    """The mean over each window: ``(N, C, H, W)`` → ``(N, C, Ho, Wo)``; ``stride`` defaults to the kernel
    size; zero padding counts in the mean (PyTorch's ``count_include_pad=True``). A depthwise `conv2d`
    with constant weights, so its derivatives are the convolution's.

    >>> avg_pool2d(np.arange(16.0).reshape(1, 1, 4, 4), 2)[0, 0]
    array([[ 2.5,  4.5],
           [10.5, 12.5]])
    """
    xs, kernel, stride, padding, _ = _pool_geometry("avg_pool2d", x, kernel_size, stride, padding, 1)
    channels = xs.shape[1]
    weight = np.full((channels, 1, *kernel), 1.0 / (kernel[0] * kernel[1]), dtype=xs.dtype)
    return P.conv2d(x, weight, stride=stride, padding=padding, dilation=(1, 1), groups=channels)


def flatten(x: Array, start_axis: int = 1) -> Array:
    """Merge the axes from ``start_axis`` on: ``(N, C, H, W)`` → ``(N, C·H·W)`` by default.

    >>> flatten(np.zeros((2, 3, 4, 5))).shape
    (2, 60)
    """
    shape = _raw(x).shape
    start = start_axis % max(len(shape), 1)
    return cnp.reshape(x, (*shape[:start], -1))


def _norm_axes(what: str, x: np.ndarray) -> tuple[int, ...]:
    if x.ndim not in (2, 3, 4):
        raise ValueError(f"{what}: expected an input (N, C), (N, C, L) or (N, C, H, W); got shape {x.shape}")
    return (0, *range(2, x.ndim))


def batch_norm(x: Array, running_mean: np.ndarray | None, running_var: np.ndarray | None,
               weight: Array | None = None, bias: Array | None = None, training: bool = True,
               momentum: float = 0.1, eps: float = 1e-5) -> Array:
    """Batch normalisation over every axis but the channels (axis 1):
    y = γ · (x − μ) / √(σ² + ε) + β. In training, μ and σ² are the batch's (σ² biased) and the running
    statistics are updated in place: r ← (1 − momentum)·r + momentum·(batch value), with the unbiased
    variance, as PyTorch does; otherwise the running statistics are used.

    >>> x = np.arange(6.0).reshape(3, 2)
    >>> batch_norm(x, np.zeros(2), np.ones(2)).round(3)
    array([[-1.225, -1.225],
           [ 0.   ,  0.   ],
           [ 1.225,  1.225]])
    """
    what = "batch_norm"
    xs = _raw(x)
    axes = _norm_axes(what, xs)
    shape = (1, xs.shape[1]) + (1,) * (xs.ndim - 2)
    if training:
        count = xs.size // xs.shape[1]
        if count < 2:
            raise ValueError(f"{what}: training needs more than one value per channel; got input shape {xs.shape}")
        mean = cnp.mean(x, axis=axes, keepdims=True)
        centred = x - mean
        var = cnp.mean(centred * centred, axis=axes, keepdims=True)
        if running_mean is not None and running_var is not None:
            _graph.untraceable("batch_norm's update of its running statistics")
            running_mean *= 1.0 - momentum
            running_mean += momentum * _raw(mean).reshape(-1).astype(running_mean.dtype)
            running_var *= 1.0 - momentum
            running_var += momentum * _raw(var).reshape(-1).astype(running_var.dtype) * (count / (count - 1))
        normalised = centred / cnp.sqrt(var + eps)
    else:
        if running_mean is None or running_var is None:
            raise ValueError(f"{what}: evaluation mode needs running statistics")
        mean, var = running_mean.reshape(shape).astype(xs.dtype), running_var.reshape(shape).astype(xs.dtype)
        normalised = (x - mean) / np.sqrt(var + eps)
    if weight is not None:
        normalised = normalised * cnp.reshape(weight, shape)
    if bias is not None:
        normalised = normalised + cnp.reshape(bias, shape)
    return normalised


def layer_norm(x: Array, normalized_shape: tuple[int, ...], weight: Array | None = None,
               bias: Array | None = None, eps: float = 1e-5) -> Array:
    """Normalise over the last ``len(normalized_shape)`` axes (which must have that shape):
    y = γ · (x − μ) / √(σ² + ε) + β, μ and σ² (biased) per example.

    >>> layer_norm(np.array([[1.0, 2.0, 3.0]]), (3,)).round(3)
    array([[-1.225,  0.   ,  1.225]])
    """
    xs = _raw(x)
    normalized_shape = tuple(int(n) for n in normalized_shape)
    k = len(normalized_shape)
    if xs.shape[xs.ndim - k:] != normalized_shape or k == 0:
        raise ValueError(f"layer_norm: the input's last axes {xs.shape[xs.ndim - k:]} must be {normalized_shape}")
    axes = tuple(range(xs.ndim - k, xs.ndim))
    mean = cnp.mean(x, axis=axes, keepdims=True)
    centred = x - mean
    var = cnp.mean(centred * centred, axis=axes, keepdims=True)
    y = centred / cnp.sqrt(var + eps)
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


def embedding(indices: Any, weight: Array) -> Array:
    """Rows of ``weight`` ``(num_embeddings, dim)`` picked by integer ``indices`` of any shape: output
    ``indices.shape + (dim,)``. Repeated indices accumulate their error signals.

    >>> embedding(np.array([[2, 0]]), np.arange(6.0).reshape(3, 2))
    array([[[4., 5.],
            [0., 1.]]])
    """
    index = _raw(indices)
    table = _raw(weight)
    if index.dtype.kind not in "iu":
        raise TypeError(f"embedding: expected integer indices; got {index.dtype}")
    if index.size and (index.min() < 0 or index.max() >= table.shape[0]):
        raise IndexError(f"embedding: indices must lie in [0, {table.shape[0]}); got range "
                         f"[{index.min()}, {index.max()}]")
    return weight[index]


def scaled_dot_product_attention(q: Array, k: Array, v: Array, mask: np.ndarray | None = None) -> tuple:
    """softmax(q kᵀ / √d + mask) v over the last two axes: ``q`` ``(..., Lq, d)``, ``k`` ``(..., Lk, d)``,
    ``v`` ``(..., Lk, dv)`` → ``((..., Lq, dv), weights (..., Lq, Lk))``. ``mask``: boolean, broadcastable to
    ``(..., Lq, Lk)``, True where attention is *not* allowed (as PyTorch's ``attn_mask``).

    >>> out, w = scaled_dot_product_attention(np.ones((1, 2, 4)), np.ones((1, 3, 4)), np.ones((1, 3, 5)))
    >>> out.shape, w.shape
    ((1, 2, 5), (1, 2, 3))
    """
    d = _raw(q).shape[-1]
    scores = cnp.matmul(q, cnp.swapaxes(k, -1, -2)) / math.sqrt(d)
    if mask is not None:
        mask = np.asarray(mask)
        if mask.dtype != bool:
            raise TypeError(f"scaled_dot_product_attention: mask must be boolean (True = masked); got {mask.dtype}")
        scores = cnp.where(mask, -np.inf, scores)
    weights = cnp.softmax(scores, axis=-1)
    return cnp.matmul(weights, v), weights


__all__ = ["avg_pool2d", "batch_norm", "conv1d", "conv2d", "embedding", "flatten", "layer_norm", "max_pool2d",
           "scaled_dot_product_attention"]
