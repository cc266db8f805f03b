"""``chainrule.scipy.signal``: N-D convolution and correlation, differentiable in both operands.

>>> import numpy as np, chainrule
>>> from chainrule.scipy.signal import convolve
>>> chainrule.grad(lambda k: convolve(np.ones((3, 3)), k, mode="valid").sum())(np.ones((2, 2)))
array([[4., 4.],
       [4., 4.]])
"""

from __future__ import annotations

from .. import _rules as _P
from .. import _rules_signal as _S
from .._composite_construction import _array
from .._examples import document as _document


def convolve(in1, in2, mode="full", method="auto"):
    """``scipy.signal.convolve`` (``mode`` full, same or valid; computed directly whatever ``method``)."""
    a, v = _S.as_array(_array(in1)), _S.as_array(_array(in2))
    return _S.scipy_mode(_S.convolve(a, v), _P.shape_of(a), _P.shape_of(v), mode)


def correlate(in1, in2, mode="full", method="auto"):
    """``scipy.signal.correlate``: a convolution with ``in2`` flipped along every axis (and conjugated)."""
    v = _S.as_array(_array(in2))
    v = _P.conj(v) if _P._is_complex(v) else v
    return convolve(in1, _P.flip(v, tuple(range(_P.ndim_of(v)))), mode)


_document(globals(), "scipy.signal")  # each public function's example (chainrule/_examples.py)
