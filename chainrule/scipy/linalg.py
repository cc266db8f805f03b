"""``chainrule.scipy.linalg``: differentiable ``solve_triangular``, ``solve_sylvester``, ``sqrtm``, ``expm``
(primitives, :mod:`chainrule._rules_linalg`), and ``cholesky``, ``cho_factor``, ``cho_solve``, ``solve``,
``inv``, ``det`` under SciPy's signatures.

>>> import numpy as np, chainrule
>>> from chainrule.scipy.linalg import expm
>>> chainrule.grad(lambda a: np.trace(expm(a)))(np.zeros((2, 2)))     # d tr e^A / dA at 0 = I
array([[1., 0.],
       [0., 1.]])
"""

from __future__ import annotations

from .. import _composite as _C
from .. import _rules as _P
from .._examples import document as _document
from .._registry import namespace as _namespace

globals().update(_namespace("scipy.linalg"))  # the primitives' public names, from their registrations


def cholesky(a, lower=False, overwrite_a=False, check_finite=True):
    """The Cholesky factor: upper U with A = UᵀU (SciPy's default), or lower L with A = LLᵀ."""
    factor = _P.cholesky(a)
    return factor if lower else _P.swapaxes(factor, -1, -2)


def cho_factor(a, lower=False, overwrite_a=False, check_finite=True):
    """(c, lower) for :func:`cho_solve`; the other triangle of c is zero."""
    return cholesky(a, lower=lower), lower


def cho_solve(c_and_lower, b, overwrite_b=False, check_finite=True):
    """x with A x = b from A's Cholesky factor (two triangular solves), differentiable in the factor and b."""
    c, lower = c_and_lower
    c = _C.tril(c) if lower else _C.triu(c)  # only its triangle counts, as in SciPy
    y = solve_triangular(c, b, trans=0 if lower else 1, lower=lower)  # noqa: F821  (from the registry)
    return solve_triangular(c, y, trans=1 if lower else 0, lower=lower)  # noqa: F821


def solve(a, b, assume_a="gen", lower=False, **kwargs):
    """x with a x = b (``scipy.linalg.solve``; ``assume_a`` does not change the result)."""
    return _P.solve(a, b)


def inv(a, overwrite_a=False, check_finite=True):
    """The inverse matrix."""
    return _P.inv(a)


def det(a, overwrite_a=False, check_finite=True):
    """The determinant."""
    return _P.det(a)


_document(globals(), "scipy.linalg")  # each public function's example (chainrule/_examples.py)
