"""Convolution and pooling layers, `Flatten` / `Unflatten`, and `CNN`, a small image classifier."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

import chainrule as cr

from . import functional as F
from . import init as _init
from ._layers import ACTIVATIONS, Dropout, Linear, Sequential
from ._module import Module, Parameter

Rng = int | np.random.Generator | None


def _spec_ints(spec: dict[str, Any], key: str) -> list[int]:
    values = spec[key] if isinstance(spec[key], list) else [spec[key]]
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in values):
        raise ValueError(f"'{key}' must hold non-negative integers; got {spec[key]!r}")
    return values


def _ints(value: Any, n: int, what: str) -> tuple[int, ...]:
    items = tuple(value) if isinstance(value, tuple | list) else (value,) * n
    if len(items) != n or not all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in items):
        raise ValueError(f"{what}: expected an int or {n} ints; got {value!r}")
    return tuple(int(v) for v in items)


class _ConvNd(Module):
    n = 2
    kind = ""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple, stride: int | tuple = 1,
                 padding: int | tuple = 0, dilation: int | tuple = 1, groups: int = 1, bias: bool = True, *,
                 init: str = "he", rng: Rng = None, dtype: Any = np.float32) -> None:
        super().__init__()
        name = type(self).__name__
        if int(in_channels) < 1 or int(out_channels) < 1:
            raise ValueError(f"{name}: channel counts must be positive; got ({in_channels}, {out_channels})")
        if int(groups) < 1 or in_channels % groups or out_channels % groups:
            raise ValueError(f"{name}: groups={groups} must divide in_channels={in_channels} and "
                             f"out_channels={out_channels}")
        init = _init.DEFAULT_FOR_ACTIVATION.get(init, init)
        if init not in _init.INITIALISERS:
            raise ValueError(f"{name}: unknown init '{init}'; expected one of {sorted(_init.INITIALISERS)}")
        self.in_channels, self.out_channels, self.groups = int(in_channels), int(out_channels), int(groups)
        self.kernel_size = _ints(kernel_size, self.n, name)
        self.stride, self.padding = _ints(stride, self.n, name), _ints(padding, self.n, name)
        self.dilation, self.init = _ints(dilation, self.n, name), init
        if min(self.kernel_size) < 1 or min(self.stride) < 1 or min(self.dilation) < 1 or min(self.padding) < 0:
            raise ValueError(f"{name}: kernel_size, stride and dilation must be >= 1 and padding >= 0")
        shape = (self.out_channels, self.in_channels // self.groups, *self.kernel_size)
        self.weight = Parameter(_init.INITIALISERS[init](shape, rng=_init.as_rng(rng), dtype=dtype))
        self.bias = Parameter(np.zeros(self.out_channels, dtype=dtype)) if bias else None

    def extra_repr(self) -> str:
        return (f"{self.in_channels} -> {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}" + (f", dilation={self.dilation}" if max(self.dilation) > 1 else "")
                + (f", groups={self.groups}" if self.groups > 1 else "")
                + ("" if self.bias is not None else ", bias=False"))

    def spec(self) -> dict[str, Any]:
        return {"type": self.kind, "in": self.in_channels, "out": self.out_channels,
                "kernel_size": list(self.kernel_size), "stride": list(self.stride), "padding": list(self.padding),
                "dilation": list(self.dilation), "groups": self.groups, "bias": self.bias is not None,
                "init": self.init}

    @classmethod
    def state_size(cls, spec: dict[str, Any]) -> int:
        kernel = math.prod(_spec_ints(spec, "kernel_size"))
        n_in, n_out, groups = _spec_ints(spec, "in")[0], _spec_ints(spec, "out")[0], _spec_ints(spec, "groups")[0]
        return n_out * (n_in // max(groups, 1)) * kernel + (n_out if spec.get("bias", True) else 0)

    @classmethod
    def from_spec(cls, spec: dict[str, Any], rng: np.random.Generator, dtype: Any) -> _ConvNd:
        unpack = (lambda v: tuple(v)) if cls.n == 2 else (lambda v: int(v[0]) if isinstance(v, list) else int(v))
        return cls(spec["in"], spec["out"], unpack(spec["kernel_size"]), unpack(spec.get("stride", [1] * cls.n)),
                   unpack(spec.get("padding", [0] * cls.n)), unpack(spec.get("dilation", [1] * cls.n)),
                   spec.get("groups", 1), spec.get("bias", True), init=spec.get("init", "he"), rng=rng, dtype=dtype)


class Conv2d(_ConvNd):
    """2-D convolution layer: input ``(N, in_channels, H, W)``, output ``(N, out_channels, Ho, Wo)`` with
    ``Ho = (H + 2·padding − dilation·(kernel − 1) − 1) // stride + 1``. ``weight`` is
    ``(out_channels, in_channels // groups, kh, kw)`` (He-initialised for a ReLU after it, by default),
    ``bias`` ``(out_channels,)`` (zeros). ``rng`` is a seed or a Generator; ``dtype`` float32 by default.

    >>> conv = Conv2d(1, 8, 3, padding=1, rng=0)
    >>> conv(chainrule.tensor(np.zeros((2, 1, 28, 28), np.float32))).shape
    (2, 8, 28, 28)
    """

    kind = "conv2d"

    def forward(self, x: cr.Tensor) -> cr.Tensor:
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class Conv1d(_ConvNd):
    """1-D convolution layer: input ``(N, in_channels, L)``, output ``(N, out_channels, Lo)``; ``weight``
    ``(out_channels, in_channels // groups, k)``. Otherwise as `Conv2d`.

    >>> Conv1d(3, 4, 5, stride=2, rng=0)(chainrule.tensor(np.zeros((2, 3, 20), np.float32))).shape
    (2, 4, 8)
    """

    n = 1
    kind = "conv1d"

    def forward(self, x: cr.Tensor) -> cr.Tensor:
        return F.conv1d(x, self.weight, self.bias, self.stride[0], self.padding[0], self.dilation[0], self.groups)


class _Pool2d(Module):
    kind = ""

    def __init__(self, kernel_size: int | tuple, stride: int | tuple | None = None, padding: int | tuple = 0) -> None:
        super().__init__()
        name = type(self).__name__
        self.kernel_size = _ints(kernel_size, 2, name)
        self.stride = self.kernel_size if stride is None else _ints(stride, 2, name)
        self.padding = _ints(padding, 2, name)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def spec(self) -> dict[str, Any]:
        return {"type": self.kind, "kernel_size": list(self.kernel_size), "stride": list(self.stride),
                "padding": list(self.padding)}

    @classmethod
    def state_size(cls, spec: dict[str, Any]) -> int:
        return 0

    @classmethod
    def from_spec(cls, spec: dict[str, Any], rng: np.random.Generator, dtype: Any) -> _Pool2d:
        return cls(tuple(spec["kernel_size"]), tuple(spec.get("stride", spec["kernel_size"])),
                   tuple(spec.get("padding", [0, 0])))


class MaxPool2d(_Pool2d):
    """Maximum over ``kernel_size`` windows (``stride`` defaults to the kernel size): ``(N, C, H, W)`` →
    ``(N, C, Ho, Wo)``. No parameters.

    >>> MaxPool2d(2)(chainrule.tensor(np.zeros((1, 3, 8, 8)))).shape
    (1, 3, 4, 4)
    """

    kind = "max_pool2d"

    def forward(self, x: cr.Tensor) -> cr.Tensor:
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding)


class AvgPool2d(_Pool2d):
    """Mean over ``kernel_size`` windows (zero padding counted): ``(N, C, H, W)`` → ``(N, C, Ho, Wo)``.

    >>> AvgPool2d(2)(chainrule.tensor(np.ones((1, 3, 8, 8)))).data.mean()
    np.float64(1.0)
    """

    kind = "avg_pool2d"

    def forward(self, x: cr.Tensor) -> cr.Tensor:
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding)


class Flatten(Module):
    """``(N, d1, d2, ...)`` → ``(N, d1·d2·...)``: from images to the features a `Linear` layer takes.

    >>> Flatten()(chainrule.tensor(np.zeros((2, 3, 4, 4)))).shape
    (2, 48)
    """

    kind = "flatten"

    def forward(self, x: cr.Tensor) -> cr.Tensor:
        return F.flatten(x, 1)

    def spec(self) -> dict[str, Any]:
        return {"type": self.kind}

    @classmethod
    def state_size(cls, spec: dict[str, Any]) -> int:
        return 0

    @classmethod
    def from_spec(cls, spec: dict[str, Any], rng: np.random.Generator, dtype: Any) -> Flatten:
        return cls()


class Unflatten(Module):
    """``(N, features)`` → ``(N, *shape)``, e.g. rows of 64 pixels into ``(1, 8, 8)`` images.

    >>> Unflatten((1, 8, 8))(chainrule.tensor(np.zeros((5, 64)))).shape
    (5, 1, 8, 8)
    """

    kind = "unflatten"

    def __init__(self, shape: Sequence[int]) -> None:
        super().__init__()
        self.shape = tuple(int(n) for n in shape)
        if not self.shape or min(self.shape) < 1:
            raise ValueError(f"Unflatten: expected a shape of positive sizes; got {shape!r}")

    def forward(self, x: cr.Tensor) -> cr.Tensor:
        features = int(np.prod(x.shape[1:]))
        if features != int(np.prod(self.shape)):
            raise ValueError(f"Unflatten: cannot view inputs of shape {tuple(x.shape)} as (N, *{self.shape})")
        return cr.numpy.reshape(x, (x.shape[0], *self.shape))

    def extra_repr(self) -> str:
        return f"shape={self.shape}"

    def spec(self) -> dict[str, Any]:
        return {"type": "unflatten", "shape": list(self.shape)}

    @classmethod
    def state_size(cls, spec: dict[str, Any]) -> int:
        return 0

    @classmethod
    def from_spec(cls, spec: dict[str, Any], rng: np.random.Generator, dtype: Any) -> Unflatten:
        return cls(spec["shape"])


class CNN(Sequential):
    """A small image classifier: for each entry of ``channels``, a 3×3 `Conv2d` (padding 1) and the
    activation, with a 2×2 `MaxPool2d` after every ``pool_every`` convolutions; then `Flatten`, ``hidden``
    `Linear` layers with the activation (and `Dropout` when ``dropout``), and a `Linear` to ``classes``
    outputs. Input: ``(N, features)`` rows (unflattened to ``input_shape``) or ``(N, *input_shape)``.

    >>> net = CNN((1, 8, 8), channels=[8, 16], hidden=[32], classes=10, rng=0)
    >>> net(chainrule.tensor(np.zeros((4, 64), np.float32))).shape
    (4, 10)
    """

    kind = "cnn"

    def __init__(self, input_shape: Sequence[int], channels: Sequence[int] = (32, 64), hidden: Sequence[int] = (128,),
                 classes: int = 10, activation: str = "relu", *, pool_every: int = 2, dropout: float = 0.0,
                 rng: Rng = None, dtype: Any = np.float32) -> None:
        input_shape = tuple(int(n) for n in input_shape)
        if len(input_shape) != 3 or min(input_shape) < 1:
            raise ValueError(f"CNN: input_shape must be (channels, height, width); got {input_shape}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"CNN: unknown activation '{activation}'; expected one of {sorted(ACTIVATIONS)}")
        if int(pool_every) < 1 or not channels or min(int(c) for c in channels) < 1:
            raise ValueError("CNN: channels must list at least one positive channel count, pool_every >= 1")
        generator = _init.as_rng(rng)
        layers: list[Module] = [Unflatten(input_shape)]
        c, h, w = input_shape
        for i, out in enumerate(int(n) for n in channels):
            layers += [Conv2d(c, out, 3, padding=1, init=activation, rng=generator, dtype=dtype),
                       ACTIVATIONS[activation]()]
            c = out
            if (i + 1) % pool_every == 0 and h >= 2 and w >= 2:
                layers.append(MaxPool2d(2))
                h, w = h // 2, w // 2
        layers.append(Flatten())
        features = c * h * w
        for size in (int(n) for n in hidden):
            layers += [Linear(features, size, init=activation, rng=generator, dtype=dtype), ACTIVATIONS[activation]()]
            if dropout:
                layers.append(Dropout(dropout, rng=generator))
            features = size
        layers.append(Linear(features, int(classes), rng=generator, dtype=dtype))
        super().__init__(*layers)
        self.input_shape, self.channels, self.hidden = input_shape, [int(n) for n in channels], [int(n) for n in hidden]
        self.classes, self.activation, self.pool_every = int(classes), activation, int(pool_every)
        self.dropout = float(dropout)

    def extra_repr(self) -> str:
        return f"input_shape={self.input_shape}, channels={self.channels}, hidden={self.hidden}"

    def spec(self) -> dict[str, Any]:
        return {"type": "cnn", "input_shape": list(self.input_shape), "channels": self.channels,
                "hidden": self.hidden, "classes": self.classes, "activation": self.activation,
                "pool_every": self.pool_every, "dropout": self.dropout}

    @classmethod
    def state_size(cls, spec: dict[str, Any]) -> int:
        c, h, w = _spec_ints(spec, "input_shape")
        total, every = 0, max(_spec_ints(spec, "pool_every")[0] if "pool_every" in spec else 2, 1)
        for i, out in enumerate(_spec_ints(spec, "channels")):
            total += out * c * 9 + out
            c = out
            if (i + 1) % every == 0 and h >= 2 and w >= 2:
                h, w = h // 2, w // 2
        features = c * h * w
        for size in [*_spec_ints(spec, "hidden"), _spec_ints(spec, "classes")[0]]:
            total += features * size + size
            features = size
        return total

    @classmethod
    def from_spec(cls, spec: dict[str, Any], rng: np.random.Generator, dtype: Any) -> CNN:
        return cls(spec["input_shape"], spec["channels"], spec.get("hidden", []), spec["classes"],
                   spec.get("activation", "relu"), pool_every=spec.get("pool_every", 2),
                   dropout=spec.get("dropout", 0.0), rng=rng, dtype=dtype)
