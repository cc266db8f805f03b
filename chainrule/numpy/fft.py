"""``chainrule.numpy.fft``: differentiable discrete Fourier transforms, under ``numpy.fft``'s names.

``fft``, ``ifft``, ``rfft`` and ``irfft`` are primitives (:mod:`chainrule._rules_fft`; this module gets them
from the registry); the 2-D and n-D transforms are those applied along each axis in turn, as NumPy computes
them, and the shifts are rolls. ``fftfreq`` and ``rfftfreq`` are NumPy's own (no Tensor inputs).

>>> import numpy as np, chainrule, chainrule.numpy as cnp
>>> x = chainrule.tensor([1.0, 2.0, 0.0, -1.0], requires_grad=True)
>>> cnp.sum(cnp.real(cnp.fft.fft(x)) * np.arange(4.0)).backward()
>>> x.grad
array([ 6., -2., -2., -2.])
"""

from __future__ import annotations

from numpy.fft import fftfreq, rfftfreq  # noqa: F401  (NumPy's own: no Tensor inputs)

from .._composite import roll as _roll
from .._examples import document as _document
from .._registry import namespace as _namespace
from .._rules import ndim_of as _ndim_of
from .._rules import shape_of as _shape_of

globals().update(_namespace("numpy.fft"))  # the primitives' public names, from their registrations


def _sizes_and_axes(a, s, axes, inverse_real=False):
    """NumPy's defaults for the n-D transforms: ``axes`` all (or the last len(s)), ``s`` their lengths (the
    last one 2(m − 1) for an inverse real transform)."""
    if axes is None:
        axes = list(range(_ndim_of(a))) if s is None else list(range(-len(s), 0))
    axes = [int(x) for x in axes]
    if len({x % max(_ndim_of(a), 1) for x in axes}) != len(axes):
        raise ValueError(f"chainrule.fft: repeated axes {axes} are not supported")
    if s is None:
        s = [_shape_of(a)[x] for x in axes]
        if inverse_real:
            s[-1] = 2 * (s[-1] - 1)
    if len(s) != len(axes):
        raise ValueError(f"chainrule.fft: s={list(s)} and axes={axes} have different lengths")
    return [int(n) for n in s], axes


def _along_axes(transform, a, s, axes, norm):
    for n, axis in reversed(list(zip(s, axes, strict=True))):  # the last axis first, as NumPy does
        a = transform(a, n, axis, norm)
    return a


def fftn(a, s=None, axes=None, norm=None):
    """The n-D discrete Fourier transform (``numpy.fft.fftn``): ``fft`` along each axis."""
    s, axes = _sizes_and_axes(a, s, axes)
    return _along_axes(fft, a, s, axes, norm)  # noqa: F821  (fft comes from the registry)


def ifftn(a, s=None, axes=None, norm=None):
    """The n-D inverse transform (``numpy.fft.ifftn``): ``ifft`` along each axis."""
    s, axes = _sizes_and_axes(a, s, axes)
    return _along_axes(ifft, a, s, axes, norm)  # noqa: F821


def fft2(a, s=None, axes=(-2, -1), norm=None):
    """The 2-D discrete Fourier transform (``numpy.fft.fft2``)."""
    return fftn(a, s, axes, norm)


def ifft2(a, s=None, axes=(-2, -1), norm=None):
    """The 2-D inverse transform (``numpy.fft.ifft2``)."""
    return ifftn(a, s, axes, norm)


def rfftn(a, s=None, axes=None, norm=None):
    """The n-D transform of a real input (``numpy.fft.rfftn``): ``rfft`` along the last axis, then ``fft``."""
    s, axes = _sizes_and_axes(a, s, axes)
    a = rfft(a, s[-1], axes[-1], norm)  # noqa: F821
    return _along_axes(fft, a, s[:-1], axes[:-1], norm)  # noqa: F821


def irfftn(a, s=None, axes=None, norm=None):
    """The inverse of :func:`rfftn` (``numpy.fft.irfftn``): ``ifft`` along all axes but the last, then ``irfft``."""
    s, axes = _sizes_and_axes(a, s, axes, inverse_real=True)
    a = _along_axes(ifft, a, s[:-1], axes[:-1], norm)  # noqa: F821
    return irfft(a, s[-1], axes[-1], norm)  # noqa: F821


def rfft2(a, s=None, axes=(-2, -1), norm=None):
    """The 2-D transform of a real input (``numpy.fft.rfft2``)."""
    return rfftn(a, s, axes, norm)


def irfft2(a, s=None, axes=(-2, -1), norm=None):
    """The inverse of :func:`rfft2` (``numpy.fft.irfft2``)."""
    return irfftn(a, s, axes, norm)


def _shift_axes(x, axes):
    if axes is None:
        return list(range(_ndim_of(x)))
    return [axes] if isinstance(axes, int) else list(axes)


def fftshift(x, axes=None):
    """The zero-frequency term moved to the centre (``numpy.fft.fftshift``): a roll by n // 2 per axis."""
    axes = _shift_axes(x, axes)
    return _roll(x, tuple(_shape_of(x)[a] // 2 for a in axes), tuple(axes))


def ifftshift(x, axes=None):
    """The inverse of :func:`fftshift` (``numpy.fft.ifftshift``): a roll by −(n // 2) per axis."""
    axes = _shift_axes(x, axes)
    return _roll(x, tuple(-(_shape_of(x)[a] // 2) for a in axes), tuple(axes))


_document(globals(), "numpy.fft")  # each public function's example (chainrule/_examples.py)
