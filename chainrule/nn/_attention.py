"""`Embedding` and `MultiheadAttention`."""

from __future__ import annotations

from typing import Any

import numpy as np

import chainrule as cr
import chainrule.numpy as cnp

from . import functional as F
from . import init as _init
from ._layers import Linear
from ._module import Module, Parameter

Rng = int | np.random.Generator | None


class Embedding(Module):
    """A table of ``num_embeddings`` vectors of size ``dim``, looked up by integer index: input indices of
    any shape ``S``, output ``S + (dim,)``. ``weight`` ``(num_embeddings, dim)`` starts N(0, 1).

    >>> emb = Embedding(10, 4, rng=0)
    >>> emb(np.array([[1, 2, 2]])).shape
    (1, 3, 4)
    """

    kind = "embedding"

    def __init__(self, num_embeddings: int, dim: int, *, rng: Rng = None, dtype: Any = np.float32) -> None:
        super().__init__()
        if int(num_embeddings) < 1 or int(dim) < 1:
            raise ValueError(f"Embedding: sizes must be positive; got ({num_embeddings}, {dim})")
        self.num_embeddings, self.dim = int(num_embeddings), int(dim)
        self.weight = Parameter(_init.as_rng(rng).standard_normal((self.num_embeddings, self.dim)).astype(dtype))

    def forward(self, indices: Any) -> cr.Tensor:
        return F.embedding(indices, self.weight)

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.dim}"

    def spec(self) -> dict[str, Any]:
        return {"type": "embedding", "num_embeddings": self.num_embeddings, "dim": self.dim}

    @classmethod
    def state_size(cls, spec: dict[str, Any]) -> int:
        return int(spec["num_embeddings"]) * int(spec["dim"])

    @classmethod
    def from_spec(cls, spec: dict[str, Any], rng: np.random.Generator, dtype: Any) -> Embedding:
        return cls(spec["num_embeddings"], spec["dim"], rng=rng, dtype=dtype)


class MultiheadAttention(Module):
    """Multi-head scaled dot-product attention (Vaswani et al., 2017), batch first.

    ``query`` ``(N, Lq, E)``, ``key`` and ``value`` ``(N, Lk, E)`` (default: the query, i.e. self-attention).
    Each of ``num_heads`` heads attends with its slice of size E / num_heads of the projections
    ``q = query Wq + bq``, ``k = key Wk + bk``, ``v = value Wv + bv``:
    head_h = softmax(q_h k_hᵀ / √(E / num_heads) + mask) v_h; the heads are concatenated and projected by
    ``out``. ``mask``: boolean ``(Lq, Lk)`` or ``(N, Lq, Lk)``, True where attention is not allowed.
    Returns ``(output (N, Lq, E), attention weights averaged over the heads (N, Lq, Lk))``.

    >>> attn = MultiheadAttention(8, 2, rng=0)
    >>> out, weights = attn(chainrule.tensor(np.ones((3, 5, 8), np.float32)))
    >>> out.shape, weights.shape
    ((3, 5, 8), (3, 5, 5))
    """

    kind = "multihead_attention"

    def __init__(self, embed_dim: int, num_heads: int, bias: bool = True, *, rng: Rng = None,
                 dtype: Any = np.float32) -> None:
        super().__init__()
        if int(embed_dim) < 1 or int(num_heads) < 1 or embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: num_heads={num_heads} must divide embed_dim={embed_dim}")
        self.embed_dim, self.num_heads = int(embed_dim), int(num_heads)
        generator = _init.as_rng(rng)
        self.q = Linear(embed_dim, embed_dim, bias, rng=generator, dtype=dtype)
        self.k = Linear(embed_dim, embed_dim, bias, rng=generator, dtype=dtype)
        self.v = Linear(embed_dim, embed_dim, bias, rng=generator, dtype=dtype)
        self.out = Linear(embed_dim, embed_dim, bias, rng=generator, dtype=dtype)

    def _heads(self, x: cr.Tensor) -> cr.Tensor:
        n, length, _ = x.shape
        return cnp.transpose(cnp.reshape(x, (n, length, self.num_heads, -1)), (0, 2, 1, 3))  # (N, h, L, E/h)

    def forward(self, query: cr.Tensor, key: cr.Tensor | None = None, value: cr.Tensor | None = None,
                mask: np.ndarray | None = None) -> tuple[cr.Tensor, cr.Tensor]:
        key = query if key is None else key
        value = key if value is None else value
        for name, t in (("query", query), ("key", key), ("value", value)):
            if t.ndim != 3 or t.shape[-1] != self.embed_dim:
                raise ValueError(f"MultiheadAttention: expected {name} of shape (N, L, {self.embed_dim}); "
                                 f"got {tuple(t.shape)}")
        if mask is not None:
            mask = np.asarray(mask)
            mask = mask[:, None] if mask.ndim == 3 else mask  # one mask for every head
        out, weights = F.scaled_dot_product_attention(self._heads(self.q(query)), self._heads(self.k(key)),
                                                      self._heads(self.v(value)), mask)
        n, _, length, _ = out.shape
        merged = cnp.reshape(cnp.transpose(out, (0, 2, 1, 3)), (n, length, self.embed_dim))
        return self.out(merged), cnp.mean(weights, axis=1)

    def extra_repr(self) -> str:
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, head size {self.embed_dim // self.num_heads}"

    def spec(self) -> dict[str, Any]:
        return {"type": "multihead_attention", "embed_dim": self.embed_dim, "num_heads": self.num_heads,
                "bias": self.q.bias is not None}

    @classmethod
    def state_size(cls, spec: dict[str, Any]) -> int:
        e = int(spec["embed_dim"])
        return 4 * (e * e + (e if spec.get("bias", True) else 0))

    @classmethod
    def from_spec(cls, spec: dict[str, Any], rng: np.random.Generator, dtype: Any) -> MultiheadAttention:
        return cls(spec["embed_dim"], spec["num_heads"], spec.get("bias", True), rng=rng, dtype=dtype)


