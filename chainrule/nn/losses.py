"""Losses, as in the notes. Each returns a scalar Tensor: the mean over the batch (first axis).

=========================================  ===============================================================
``squared_error(y, t)``                    ½‖y − t‖² per example (summed over output units), batch mean
``binary_cross_entropy(p, t)``             −[t log p + (1 − t) log(1 − p)], from probabilities p = σ(b)
``binary_cross_entropy_with_logits(b, t)`` the same from the logit b, computed stably: softplus(b) − t·b
``softmax_cross_entropy(z, k)``            −log softmax(z)_k, integer class k, from logits z
``l2_penalty(params, lam)``                λ · ½ Σ‖w‖² (added once per batch, not averaged)
=========================================  ===============================================================

>>> y = chainrule.tensor([[0.5, 1.0]]); t = np.array([[0.0, 1.0]])
>>> float(squared_error(y, t))
0.125
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

import chainrule as cr
import chainrule.numpy as cnp
from chainrule import _rules
from chainrule._composite import _call_on_values
from chainrule._namespace import numpy_dtype

__all__ = ["LOSSES", "binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy", "get_loss",
           "l2_penalty", "one_hot", "softmax_cross_entropy", "squared_error", "weights"]


def _values(target: Any) -> np.ndarray:
    return target.data if isinstance(target, cr.Tensor) else np.asarray(target)


def _converted(target: np.ndarray, dtype: Any, shape: tuple) -> np.ndarray:
    return np.asarray(target).astype(dtype, copy=False).reshape(shape)


def _as(target: np.ndarray, dtype: Any, shape: tuple) -> cr.Tensor:
    """A target's values in ``dtype`` and ``shape``, as a Tensor with no graph (so that arithmetic on it is
    recorded too); chainrule.compile's tracer records the conversion, so that a replay converts the new
    targets, not the traced ones."""
    return cr.Tensor(_call_on_values(_converted, (target,), {"dtype": numpy_dtype(dtype), "shape": shape}))


def _batch_mean(per_example: cr.Tensor) -> cr.Tensor:
    return per_example.mean() if per_example.ndim else per_example


def one_hot(labels: Any, num_classes: int, dtype: Any = np.float64) -> np.ndarray:
    """Rows of the identity: ``one_hot([2, 0], 3) == [[0, 0, 1], [1, 0, 0]]``.

    >>> one_hot([2, 0], 3)
    array([[0., 0., 1.],
           [1., 0., 0.]])
    >>> one_hot([3], 3)
    Traceback (most recent call last):
        ...
    ValueError: one_hot: labels must lie in [0, 3); got range [3, 3]
    """
    labels = np.asarray(labels).astype(np.int64).reshape(-1)
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"one_hot: labels must lie in [0, {num_classes}); got range "
                         f"[{labels.min()}, {labels.max()}]")
    return np.eye(num_classes, dtype=dtype)[labels]


def squared_error(y: cr.Tensor, t: Any) -> cr.Tensor:
    """½‖y − t‖², summed over output units, mean over the batch.

    ``y``: ``(batch, k)`` (or ``(batch,)``); ``t`` the same shape. If ``y`` is ``(batch, k)`` with k > 1 and
    ``t`` holds ``batch`` integer class labels, ``t`` is one-hot encoded first.

    >>> y = chainrule.tensor([[0.5, 1.0], [2.0, 0.0]])
    >>> float(squared_error(y, np.array([[0.0, 1.0], [1.0, 0.0]])))
    0.3125
    >>> float(squared_error(y, np.array([1, 0])))
    0.3125
    """
    target = _values(t)
    if y.ndim == 2 and y.shape[1] > 1 and target.shape == (y.shape[0],):
        target = _call_on_values(one_hot, (target, y.shape[1]), {"dtype": numpy_dtype(y.dtype)})
    target = _as(target, y.dtype, y.shape)
    diff = y - target
    per_example = 0.5 * (diff * diff).reshape(y.shape[0], -1).sum(axis=1) if y.ndim else 0.5 * diff * diff
    return _batch_mean(per_example)


def binary_cross_entropy(p: cr.Tensor, t: Any, eps: float = 1e-12) -> cr.Tensor:
    """−[t log p + (1 − t) log(1 − p)] from probabilities ``p`` in (0, 1), mean over all elements.

    ``p`` is clipped to [eps, 1 − eps]; prefer `binary_cross_entropy_with_logits`, which needs no clipping.

    >>> p = chainrule.tensor([0.9, 0.2])
    >>> round(float(binary_cross_entropy(p, np.array([1.0, 0.0]))), 6)
    0.164252
    """
    target = _as(_values(t), p.dtype, p.shape)
    p = cnp.clip(p, eps, 1.0 - eps)
    return -(target * cnp.log(p) + (1.0 - target) * cnp.log(1.0 - p)).mean()


def binary_cross_entropy_with_logits(b: cr.Tensor, t: Any) -> cr.Tensor:
    """Binary cross-entropy of σ(b) against t, computed stably as softplus(b) − t·b, mean over elements.

    >>> b = chainrule.tensor([2.0, -1.0])
    >>> round(float(binary_cross_entropy_with_logits(b, np.array([1.0, 0.0]))), 6)
    0.220095
    >>> s = 1 / (1 + np.exp(-b.data))
    >>> round(float(binary_cross_entropy(chainrule.tensor(s), np.array([1.0, 0.0]))), 6)
    0.220095
    """
    target = _as(_values(t), b.dtype, b.shape)
    return (cnp.softplus(b) - target * b).mean()


def softmax_cross_entropy(z: cr.Tensor, labels: Any) -> cr.Tensor:
    """−log softmax(z)[k] for integer class labels k, from logits ``z`` of shape ``(batch, classes)``;
    mean over the batch. Uses a stable log-softmax (logsumexp).

    >>> z = chainrule.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    >>> round(float(softmax_cross_entropy(z, np.array([0, 2]))), 6)
    0.669079
    >>> softmax_cross_entropy(z, np.array([0, 3]))
    Traceback (most recent call last):
        ...
    ValueError: softmax_cross_entropy: labels must lie in [0, 3); got range [0, 3]
    """
    k = _values(labels)
    if not (isinstance(k, np.ndarray) and k.dtype == np.int64 and k.ndim == 1):  # else pass it on as it is,
        k = np.asarray(k)                                                       # so compile sees the input
        if k.dtype.kind not in "iub" and not (k.dtype.kind == "f" and np.all(k == np.round(k))):
            raise ValueError(f"softmax_cross_entropy: class labels must be integers 0..{z.shape[-1] - 1}; got "
                             f"{k.dtype} values such as {k.reshape(-1)[:3].tolist()}")
        k = _as(k, np.int64, (-1,)).data
    if z.ndim != 2 or k.shape[0] != z.shape[0]:
        raise ValueError(f"softmax_cross_entropy: expected logits (batch, classes) and batch integer labels; "
                         f"got logits {z.shape} and labels {k.shape}")
    # (one pass: as unsigned integers, negative labels are the largest; min and max only for the message)
    if k.size and k.view(np.uint64).max() >= z.shape[1]:
        raise ValueError(f"softmax_cross_entropy: labels must lie in [0, {z.shape[1]}); got range "
                         f"[{k.min()}, {k.max()}]")
    return _rules.softmax_cross_entropy(z, k)  # one fused primitive: stable, and one pass each way


def cross_entropy(z: cr.Tensor, t: Any) -> cr.Tensor:
    """Cross-entropy from logits, choosing the form from the output: one logit per example → binary
    (`binary_cross_entropy_with_logits`), several → `softmax_cross_entropy` with integer labels.

    >>> round(float(cross_entropy(chainrule.tensor([[2.0, 0.0, 0.0]]), np.array([0]))), 6)
    0.239545
    >>> round(float(cross_entropy(chainrule.tensor([[2.0]]), np.array([1.0]))), 6)
    0.126928
    """
    if z.ndim == 1 or (z.ndim == 2 and z.shape[1] == 1):
        target = _values(t)
        if target.size and (np.min(target) < 0 or np.max(target) > 1):
            raise ValueError(f"cross_entropy: one output per example needs targets in [0, 1]; got range "
                             f"[{np.min(target)}, {np.max(target)}]")
        return binary_cross_entropy_with_logits(z, target.reshape(z.shape))
    return softmax_cross_entropy(z, t)


def l2_penalty(params: Iterable[cr.Tensor], lam: float) -> cr.Tensor | float:
    """The regulariser λ·R with R = ½ Σ_w ‖w‖² over ``params`` (pass weights, usually not biases).

    >>> w = [chainrule.tensor([[1.0, 2.0]]), chainrule.tensor([3.0])]
    >>> round(float(l2_penalty(w, lam=0.1)), 12)
    0.7
    """
    total: cr.Tensor | float = 0.0
    for w in params:
        total = total + (w * w).sum()
    return lam * 0.5 * total


def weights(model: Any) -> list[cr.Tensor]:
    """The parameters of ``model`` that an L2 penalty should cover: every matrix (ndim ≥ 2), not biases.

    >>> import chainrule.nn as nn
    >>> net = nn.mlp([2, 3, 1], rng=0)
    >>> [tuple(p.shape) for p in weights(net)]
    [(2, 3), (3, 1)]
    >>> len(net.parameters())
    4
    """
    return [p for p in model.parameters() if p.ndim >= 2]


LOSSES: dict[str, Callable[[cr.Tensor, Any], cr.Tensor]] = {
    "cross-entropy": cross_entropy,
    "squared-error": squared_error,
    "binary-cross-entropy": binary_cross_entropy_with_logits,
    "softmax-cross-entropy": softmax_cross_entropy,
}


def get_loss(name: str) -> Callable[[cr.Tensor, Any], cr.Tensor]:
    """A loss function by name: one of ``cross-entropy``, ``squared-error``, ``binary-cross-entropy``,
    ``softmax-cross-entropy``.

    >>> get_loss("squared-error") is squared_error
    True
    >>> get_loss("hinge")
    Traceback (most recent call last):
        ...
    ValueError: unknown loss 'hinge'; expected one of cross-entropy, squared-error, ...-entropy
    """
    try:
        return LOSSES[name]
    except KeyError:
        raise ValueError(f"unknown loss '{name}'; expected one of {', '.join(LOSSES)}") from None
