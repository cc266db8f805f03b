"""Weight initialisers. Each takes a shape and an explicit random generator (or seed), never global state.

Weights of a `Linear` layer have shape ``(fan_in, fan_out)``; those of a convolution ``(out, in, k...)``.

>>> w = xavier_uniform((64, 32), rng=0)
>>> w.shape, bool(abs(w).max() <= (6 / 96) ** 0.5)
((64, 32), True)
"""

from __future__ import annotations

import numpy as np

__all__ = ["DEFAULT_FOR_ACTIVATION", "INITIALISERS", "as_rng", "he_normal", "he_uniform", "xavier_normal",
           "xavier_uniform", "zeros"]


def as_rng(rng: int | np.random.Generator | None) -> np.random.Generator:
    """A Generator from a seed, a Generator (returned as is) or None (fresh OS entropy).

    >>> as_rng(0).integers(10, size=3)
    array([8, 6, 5])
    >>> g = np.random.default_rng(1); as_rng(g) is g
    True
    >>> as_rng("seed")
    Traceback (most recent call last):
        ...
    TypeError: rng must be an int seed, a numpy Generator or None; got str
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (int, np.integer)):
        return np.random.default_rng(rng)
    raise TypeError(f"rng must be an int seed, a numpy Generator or None; got {type(rng).__name__}")


def _fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """(fan_in, fan_out): a `Linear` weight is ``(fan_in, fan_out)``; a convolution's ``(O, C, k...)`` has
    fan_in = C·∏k and fan_out = O·∏k (each output sees C·∏k inputs)."""
    if len(shape) == 2:
        return shape[0], shape[1]
    if len(shape) < 3:
        raise ValueError(f"initialisers expect a 2-D (fan_in, fan_out) or a convolution (O, C, k...) shape; "
                         f"got {shape}")
    receptive = int(np.prod(shape[2:]))
    return shape[1] * receptive, shape[0] * receptive


def xavier_uniform(shape: tuple[int, int], rng: int | np.random.Generator | None = None,
                   gain: float = 1.0, dtype=np.float64) -> np.ndarray:
    """Glorot & Bengio (2010): U(−a, a), a = gain·√(6 / (fan_in + fan_out)). Suits sigmoid and tanh.

    >>> w = xavier_uniform((300, 100), rng=0)
    >>> bound = (6 / (300 + 100)) ** 0.5
    >>> w.shape, w.dtype, bool(abs(w).max() <= bound), round(float(w.std()), 3), round(bound / 3 ** 0.5, 3)
    ((300, 100), dtype('float64'), True, 0.07, 0.071)
    """
    fan_in, fan_out = _fans(shape)
    bound = gain * np.sqrt(6.0 / (fan_in + fan_out))
    return as_rng(rng).uniform(-bound, bound, size=shape).astype(dtype)


def xavier_normal(shape: tuple[int, int], rng: int | np.random.Generator | None = None,
                  gain: float = 1.0, dtype=np.float64) -> np.ndarray:
    """Glorot normal: N(0, gain² · 2 / (fan_in + fan_out)).

    >>> w = xavier_normal((300, 100), rng=0)
    >>> round(float(w.std()), 3), round((2 / (300 + 100)) ** 0.5, 3)
    (0.071, 0.071)
    """
    fan_in, fan_out = _fans(shape)
    std = gain * np.sqrt(2.0 / (fan_in + fan_out))
    return as_rng(rng).normal(0.0, std, size=shape).astype(dtype)


def he_normal(shape: tuple[int, int], rng: int | np.random.Generator | None = None,
              dtype=np.float64) -> np.ndarray:
    """He et al. (2015): N(0, 2 / fan_in). Suits ReLU.

    >>> w = he_normal((200, 50), rng=0)
    >>> round(float(w.std()), 3), round((2 / 200) ** 0.5, 3)
    (0.1, 0.1)
    >>> he_normal((8, 3, 3, 3), rng=0).shape
    (8, 3, 3, 3)
    """
    fan_in, _ = _fans(shape)
    return as_rng(rng).normal(0.0, np.sqrt(2.0 / fan_in), size=shape).astype(dtype)


def he_uniform(shape: tuple[int, int], rng: int | np.random.Generator | None = None,
               dtype=np.float64) -> np.ndarray:
    """He uniform: U(−a, a), a = √(6 / fan_in).

    >>> w = he_uniform((200, 50), rng=0)
    >>> bool(abs(w).max() <= (6 / 200) ** 0.5), round(float(w.std()), 3)
    (True, 0.1)
    """
    fan_in, _ = _fans(shape)
    bound = np.sqrt(6.0 / fan_in)
    return as_rng(rng).uniform(-bound, bound, size=shape).astype(dtype)


def zeros(shape: tuple[int, ...], rng: int | np.random.Generator | None = None,
          dtype=np.float64) -> np.ndarray:
    """All zeros (``rng`` is ignored; accepted so every initialiser has one signature).

    >>> zeros((2, 3), rng=0)
    array([[0., 0., 0.],
           [0., 0., 0.]])
    """
    return np.zeros(shape, dtype=dtype)


INITIALISERS = {"xavier": xavier_uniform, "xavier_uniform": xavier_uniform, "xavier_normal": xavier_normal,
                "he": he_normal, "he_normal": he_normal, "he_uniform": he_uniform, "zeros": zeros}

#: the initialiser `Linear` uses by default before a given activation.
DEFAULT_FOR_ACTIVATION = {"relu": "he", "sigmoid": "xavier", "tanh": "xavier", "identity": "xavier",
                          "softmax": "xavier", "log_softmax": "xavier"}
