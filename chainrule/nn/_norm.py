"""Normalisation layers: `BatchNorm1d`, `BatchNorm2d` (running statistics, train/eval) and `LayerNorm`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

import chainrule as cr

from . import functional as F
from ._module import Module, Parameter


class _BatchNorm(Module):
    kind = ""
    ndims: tuple[int, ...] = ()

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1, affine: bool = True, *,
                 dtype: Any = np.float32) -> None:
        super().__init__()
        if int(num_features) < 1 or not eps > 0 or not 0.0 <= momentum <= 1.0:
            raise ValueError(f"{type(self).__name__}: expected num_features >= 1, eps > 0 and momentum in [0, 1]; "
                             f"got {num_features}, {eps}, {momentum}")
        self.num_features, self.eps, self.momentum = int(num_features), float(eps), float(momentum)
        self.weight = Parameter(np.ones(self.num_features, dtype=dtype)) if affine else None
        self.bias = Parameter(np.zeros(self.num_features, dtype=dtype)) if affine else None
        self.register_buffer("running_mean", np.zeros(self.num_features, dtype=dtype))
        self.register_buffer("running_var", np.ones(self.num_features, dtype=dtype))

    def forward(self, x: cr.Tensor) -> cr.Tensor:
        shape = tuple(x.shape)
        if len(shape) not in self.ndims or shape[1] != self.num_features:
            expected = " or ".join(f"({', '.join(['N', 'C', 'L', 'H', 'W'][:n] if n < 4 else ['N', 'C', 'H', 'W'])})"
                                   for n in self.ndims)
            raise ValueError(f"{type(self).__name__}({self.num_features}): expected an input {expected} with "
                             f"C = {self.num_features}; got shape {shape}")
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, self.training,
                            self.momentum, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"

    def spec(self) -> dict[str, Any]:
        return {"type": self.kind, "num_features": self.num_features, "eps": self.eps, "momentum": self.momentum,
                "affine": self.weight is not None}

    @classmethod
    def state_size(cls, spec: dict[str, Any]) -> int:
        n = int(spec["num_features"])
        return (4 if spec.get("affine", True) else 2) * n  # γ, β and the two running statistics

    @classmethod
    def from_spec(cls, spec: dict[str, Any], rng: np.random.Generator, dtype: Any) -> _BatchNorm:
        return cls(spec["num_features"], spec.get("eps", 1e-5), spec.get("momentum", 0.1), spec.get("affine", True),
                   dtype=dtype)


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of ``(N, C)`` or ``(N, C, L)`` inputs per channel C (Ioffe & Szegedy, 2015):
    y = γ·(x − μ)/√(σ² + ε) + β with the batch's μ, σ² in training mode (updating ``running_mean`` /
    ``running_var``, saved in `state_dict`) and the running ones in eval mode. γ = ``weight`` starts at 1,
    β = ``bias`` at 0.

    >>> bn = BatchNorm1d(3)
    >>> y = bn(chainrule.tensor(np.random.default_rng(0).normal(5.0, 2.0, (64, 3))))
    >>> bool(abs(y.data.mean()) < 1e-5), bn.running_mean.round(1)
    (True, array([0.5, 0.5, 0.5], dtype=float32))
    """

    kind = "batch_norm1d"
    ndims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of images ``(N, C, H, W)`` per channel, over N, H and W (see `BatchNorm1d`).

    >>> BatchNorm2d(4)(chainrule.tensor(np.ones((2, 4, 3, 3), np.float32))).shape
    (2, 4, 3, 3)
    """

    kind = "batch_norm2d"
    ndims = (4,)


class LayerNorm(Module):
    """Layer normalisation (Ba et al., 2016) over the last axes, of shape ``normalized_shape``, per example:
    y = γ·(x − μ)/√(σ² + ε) + β; γ (``weight``) and β (``bias``) have shape ``normalized_shape``.
    Input ``(..., *normalized_shape)``, output the same shape.

    >>> LayerNorm(4)(chainrule.tensor(np.arange(8.0).reshape(2, 4))).data.round(2)
    array([[-1.34, -0.45,  0.45,  1.34],
           [-1.34, -0.45,  0.45,  1.34]])
    """

    kind = "layer_norm"

    def __init__(self, normalized_shape: int | Sequence[int], eps: float = 1e-5, affine: bool = True, *,
                 dtype: Any = np.float32) -> None:
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int | np.integer) else tuple(normalized_shape)
        if not shape or min(int(n) for n in shape) < 1 or not eps > 0:
            raise ValueError(f"LayerNorm: expected positive sizes and eps > 0; got {normalized_shape!r}, {eps}")
        self.normalized_shape, self.eps = tuple(int(n) for n in shape), float(eps)
        self.weight = Parameter(np.ones(self.normalized_shape, dtype=dtype)) if affine else None
        self.bias = Parameter(np.zeros(self.normalized_shape, dtype=dtype)) if affine else None

    def forward(self, x: cr.Tensor) -> cr.Tensor:
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}"

    def spec(self) -> dict[str, Any]:
        return {"type": "layer_norm", "normalized_shape": list(self.normalized_shape), "eps": self.eps,
                "affine": self.weight is not None}

    @classmethod
    def state_size(cls, spec: dict[str, Any]) -> int:
        shape = spec["normalized_shape"]
        size = 1
        for n in shape if isinstance(shape, list) else [shape]:
            size *= int(n)
        return 2 * size if spec.get("affine", True) else 0

    @classmethod
    def from_spec(cls, spec: dict[str, Any], rng: np.random.Generator, dtype: Any) -> LayerNorm:
        return cls(spec["normalized_shape"], spec.get("eps", 1e-5), spec.get("affine", True), dtype=dtype)
