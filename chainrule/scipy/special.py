"""``chainrule.scipy.special``: SciPy's special functions, differentiable (SciPy is imported on first call).

The primitives (:mod:`chainrule._rules_special`) come from the registry; ``expit``, ``logsumexp``,
``softmax`` and ``log_softmax`` are chainrule's own stable forms under SciPy's signatures.

>>> import numpy as np, chainrule
>>> from chainrule.scipy.special import gammaln
>>> chainrule.grad(lambda a: gammaln(a).sum())(np.array([1.0]))     # ψ(1) = −γ
array([-0.57721566])
"""

from __future__ import annotations

from .. import _rules as _P
from .._examples import document as _document
from .._registry import namespace as _namespace

globals().update(_namespace("scipy.special"))  # the primitives' public names, from their registrations

expit = _P.sigmoid


def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False):
    """log Σ b·exp(a), computed stably (``scipy.special.logsumexp``); ``b`` must be positive."""
    if return_sign:
        raise NotImplementedError("chainrule.scipy.special.logsumexp: return_sign=True is not supported")
    if b is not None:
        a = a + _P.log(b)
    return _P.logsumexp(a, axis=tuple(axis) if isinstance(axis, list) else axis, keepdims=keepdims)


def _over_all(function, x, axis):
    if axis is not None:
        return function(x, axis=axis)
    return _P.reshape(function(_P.reshape(x, (-1,)), axis=-1), _P.shape_of(x))


def softmax(x, axis=None):
    """exp(x) / Σ exp(x) over ``axis`` (all elements when None, as SciPy), computed stably."""
    return _over_all(_P.softmax, x, axis)


def log_softmax(x, axis=None):
    """x − logsumexp(x) over ``axis`` (all elements when None, as SciPy), computed stably."""
    return _over_all(_P.log_softmax, x, axis)


_document(globals(), "scipy.special")  # each public function's example (chainrule/_examples.py)
