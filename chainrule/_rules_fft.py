"""Rule table, part two: the discrete Fourier transforms and the complex glue they need.

Contract as in :mod:`chainrule._rules`. Complex error signals follow autograd's (and JAX's) convention: for
a real loss L and a complex value z, ``ḡ_z = ∂L/∂Re z − i ∂L/∂Im z``, so that a linear map's VJP is its
transpose (no conjugation). The DFT matrix F is symmetric, so the VJP of ``fft`` is ``fft`` (with the same
``norm``, whose scale is symmetric too) and that of ``ifft`` is ``ifft``; ``n`` crops or zero-pads the input,
whose transpose crops or zero-pads the error signal back. A real input gets the real part.

The multi-axis transforms (``fft2``, ``fftn``, ``rfftn``, ...) are compositions of these along each axis,
as NumPy computes them (:mod:`chainrule.numpy.fft`).
"""

from __future__ import annotations

import builtins
import math

import numpy as np

from . import _rules as P
from ._rules import defprim, ndim_of, shape_of, xp

_is_complex = P._is_complex


def _complex(x):
    """``x`` as complex: NumPy's transforms take real arrays, the standard's ``fft`` and ``ifft`` complex ones."""
    m = xp(x)
    if m is np or _is_complex(x):
        return x
    return m.astype(x, m.complex64 if x.dtype == m.float32 else m.complex128)


def _like(g, x):
    """The error signal of ``x`` from a complex ``g``: its real part when ``x`` is real."""
    return g if _is_complex(x) else real(g)


def _fit(x, length: int, axis: int):
    """``x`` cropped or zero-padded along ``axis`` to ``length`` (what ``n=`` does to a transform's input)."""
    have = shape_of(x)[axis]
    if have == length:
        return x
    axis = axis % ndim_of(x)
    if have > length:
        return P.getitem(x, (slice(None),) * axis + (slice(0, length),))
    zeros = list(shape_of(x))
    zeros[axis] = length - have
    return P.concatenate(x, xp(x).zeros(tuple(zeros), dtype=getattr(x, "dtype", float)), axis=axis)


def _scale(n: int, norm) -> float:
    """The factor of the forward transform for ``norm`` (the inverse transform's is 1/(n · that))."""
    if norm in (None, "backward"):
        return 1.0
    if norm == "ortho":
        return 1 / math.sqrt(n)
    if norm == "forward":
        return 1 / n
    raise ValueError(f"chainrule.fft: invalid norm {norm!r}; use 'backward', 'ortho' or 'forward'")


def _fft_vjp(g, ans, x, n=None, axis=-1, norm=None):
    return _like(_fit(fft(g, None, axis, norm), shape_of(x)[axis], axis), x)


def _ifft_vjp(g, ans, x, n=None, axis=-1, norm=None):
    return _like(_fit(ifft(g, None, axis, norm), shape_of(x)[axis], axis), x)


def _rfft_vjp(g, ans, x, n=None, axis=-1, norm=None):
    # rfft keeps the first n//2 + 1 entries of the full transform: its transpose zero-pads g back to n
    length = shape_of(x)[axis] if n is None else n
    return real(_fit(fft(g, length, axis, norm), shape_of(x)[axis], axis))


def _irfft_vjp(g, ans, y, n=None, axis=-1, norm=None):
    # x_t = s Σ_k c_k Re(y_k e^{2πikt/n}), c_k = 2 but for the k whose mirror image is itself (0, and n/2
    # for even n): so ȳ_k = s c_k Σ_t ḡ_t e^{2πikt/n}, the unscaled inverse transform of ḡ, kept to n//2 + 1
    length = shape_of(ans)[axis]
    kept = length // 2 + 1
    s = 1 / (length * _scale(length, norm))
    c = np.full(kept, 2.0)
    c[0] = 1.0
    if length % 2 == 0:
        c[-1] = 1.0
    c = P._on_device_of(c.reshape((-1,) + (1,) * (ndim_of(ans) - 1 - axis % ndim_of(ans))), g)
    spectrum = _fit(ifft(g, None, axis, "forward"), kept, axis) * (s * c)
    return _like(_fit(spectrum, shape_of(y)[axis], axis), y)


def _complex_forward(re, im):
    m = xp(re, im)
    if m is not np:  # the standard's promotion: complex64 from float32 parts, else complex128
        single = builtins.all(getattr(a, "dtype", m.float32) == m.float32 for a in (re, im))
        dtype = m.complex64 if single else m.complex128
        return m.astype(m.asarray(re), dtype) + 1j * m.astype(m.asarray(im), dtype)
    out = m.asarray(re) + 1j * m.asarray(im)
    return out.astype(m.result_type(re, im, np.complex64)) if hasattr(out, "astype") else out


# ---- complex glue: the parts of a complex value ---------------------------------------------------------
def _imag(x):
    if not _is_complex(x):
        return xp(x).zeros_like(x)
    y = xp(x).imag(x)
    return y.copy() if type(y) is np.ndarray else y  # (NumPy's is a view)


imag = defprim("imag", _imag,
               lambda g, ans, x: complex_(xp(x).zeros(shape_of(g), dtype=g.dtype), -g) if _is_complex(x) else g * 0,
               saves=(0,), formulas=("-i {g}",), cost="movement")
# re + i·im, as lax.complex: a real loss sees dL = Re(ḡ)·d(re) − Im(ḡ)·d(im)
complex_ = defprim("complex", _complex_forward,
                   lambda g, ans, re, im: P.unbroadcast(real(g), re),
                   lambda g, ans, re, im: P.unbroadcast(-imag(g), im),
                   saves=(), formulas=("Re {g}", "-Im {g}"), names=())
real = P.real  # (its rule, ḡ, is the complex error signal ḡ + 0i of a complex input)

# ---- the transforms ---------------------------------------------------------------------------------------
fft = defprim("fft", lambda x, n=None, axis=-1, norm=None: xp(x).fft.fft(_complex(x), n=n, axis=axis, norm=norm or "backward"), _fft_vjp,
              saves=(), formulas=("F ᵀ{g} = F {g}",), names=("numpy.fft.fft",))
ifft = defprim("ifft", lambda x, n=None, axis=-1, norm=None: xp(x).fft.ifft(_complex(x), n=n, axis=axis, norm=norm or "backward"), _ifft_vjp,
               saves=(), formulas=("F⁻¹ {g}",), names=("numpy.fft.ifft",))
rfft = defprim("rfft", lambda x, n=None, axis=-1, norm=None: xp(x).fft.rfft(x, n=n, axis=axis, norm=norm or "backward"), _rfft_vjp,
               saves=(), formulas=("Re F [{g}; 0]",), names=("numpy.fft.rfft",))
irfft = defprim("irfft", lambda y, n=None, axis=-1, norm=None: xp(y).fft.irfft(y, n=n, axis=axis, norm=norm or "backward"), _irfft_vjp,
                saves=(), formulas=("c ∘ F⁻¹ {g}, kept to n//2 + 1",), names=("numpy.fft.irfft",))
