"""Rule table, part four: convolution (``numpy.convolve``/``correlate``, ``scipy.signal.convolve``).

One primitive, the full N-D convolution y = a ∗ v; every mode is a crop of it. Its VJPs are "valid"
correlations of the error signal, written as crops of full convolutions with the flipped other operand:
ā = crop(ḡ ∗ flip(v)), v̄ = crop(ḡ ∗ flip(a)), each cropped to its operand's shape starting at the other
operand's shape − 1.
"""

from __future__ import annotations

import numpy as np

from . import _rules as P
from ._namespace import in_library
from ._rules import defprim, ndim_of, shape_of, xp


def _convolve_full(a, v):
    if ndim_of(a) != ndim_of(v):
        raise ValueError(f"convolve: the operands must have the same number of dimensions; got shapes "
                         f"{shape_of(a)} and {shape_of(v)}")
    if ndim_of(a) == 1:
        return xp(a, v).convolve(a, v)
    try:
        import scipy.signal
    except ImportError:
        raise ImportError("chainrule: convolution of arrays of more than one dimension needs SciPy "
                          "(pip install scipy)") from None
    return in_library(scipy.signal.convolve, "scipy.signal.convolve")(a, v, mode="full", method="direct")


def crop(x, start, shape):
    """``x[start[0]:start[0]+shape[0], ...]`` (a differentiable slice)."""
    return P.getitem(x, tuple(slice(int(s), int(s) + int(n)) for s, n in zip(start, shape, strict=True)))


def _flip_all(x):
    return P.flip(x, tuple(range(ndim_of(x))))


def _convolve_vjp(position, g, ans, a, v):
    other, mine = (v, a) if position == 0 else (a, v)
    full = convolve(g, _flip_all(other))
    return crop(full, [n - 1 for n in shape_of(other)], shape_of(mine))


convolve = defprim("convolve", _convolve_full,
                   lambda g, ans, a, v: _convolve_vjp(0, g, ans, a, v),
                   lambda g, ans, a, v: _convolve_vjp(1, g, ans, a, v),
                   saves=(0, 1), formulas=("crop({g} ∗ flip({1}))", "crop({g} ∗ flip({0}))"), names=(), cost="contraction")


def numpy_mode(full, na: int, nv: int, mode: str):
    """``numpy.convolve``'s modes as crops of the full 1-D convolution."""
    if mode == "full":
        return full
    longer, shorter = max(na, nv), min(na, nv)
    if mode == "same":
        return crop(full, [(shorter - 1) // 2], [longer])
    if mode == "valid":
        return crop(full, [shorter - 1], [longer - shorter + 1])
    raise ValueError(f"chainrule.convolve: mode must be 'full', 'same' or 'valid'; got {mode!r}")


def scipy_mode(full, shape_a, shape_v, mode: str):
    """``scipy.signal.convolve``'s modes as crops of the full N-D convolution."""
    if mode == "full":
        return full
    if mode == "same":  # the size of the first operand, centred in the full result
        return crop(full, [(f - n) // 2 for f, n in zip(shape_of(full), shape_a, strict=True)], shape_a)
    if mode == "valid":
        if not (all(x >= y for x, y in zip(shape_a, shape_v, strict=True))
                or all(y >= x for x, y in zip(shape_a, shape_v, strict=True))):
            raise ValueError("chainrule.scipy.signal.convolve: for mode='valid' one operand must be at least as "
                             f"large as the other in every dimension; got {shape_a} and {shape_v}")
        size = [abs(x - y) + 1 for x, y in zip(shape_a, shape_v, strict=True)]
        return crop(full, [min(x, y) - 1 for x, y in zip(shape_a, shape_v, strict=True)], size)
    raise ValueError(f"chainrule.scipy.signal.convolve: mode must be 'full', 'same' or 'valid'; got {mode!r}")


def as_array(x):
    return x if hasattr(x, "shape") else np.asarray(x, dtype=float)
