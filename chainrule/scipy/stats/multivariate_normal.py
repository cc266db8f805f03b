"""The multivariate normal distribution N(mean, cov): ``logpdf``, ``pdf`` (and ``entropy``), differentiable
in ``x``, ``mean`` and ``cov``; ``x`` has the components on its last axis, any batch axes before.

>>> import numpy as np, chainrule
>>> from chainrule.scipy.stats import multivariate_normal
>>> round(float(multivariate_normal.logpdf(np.zeros(2), np.zeros(2), np.eye(2))), 6)   # −log 2π
-1.837877
"""

from __future__ import annotations

import math

from ... import _rules as _P
from ..._examples import document as _document


def _chol_parts(x, mean, cov):
    lower = _P.cholesky(cov)
    diff = x - mean
    d = _P.shape_of(lower)[-1]
    flat = _P.reshape(diff, (-1, d))
    z = _P.solve(lower, _P.transpose(flat))  # L⁻¹ (x − μ), one column per point
    maha = _P.reshape(_P.sum(z * z, axis=0), _P.shape_of(diff)[:-1])
    logdet = 2 * _P.sum(_P.log(_P.diagonal(lower, 0, -2, -1)), axis=-1)
    return maha, logdet, d


def logpdf(x, mean, cov, allow_singular=False):
    """log of the density: −½ ((x−μ)ᵀ Σ⁻¹ (x−μ) + log det Σ + d log 2π), from a Cholesky factor of Σ."""
    if allow_singular:
        raise NotImplementedError("chainrule.scipy.stats.multivariate_normal: allow_singular=True is not supported")
    maha, logdet, d = _chol_parts(x, mean, cov)
    return -0.5 * (maha + logdet + d * math.log(2 * math.pi))


def pdf(x, mean, cov, allow_singular=False):
    """The density at ``x``."""
    return _P.exp(logpdf(x, mean, cov, allow_singular))


def entropy(mean, cov):
    """The differential entropy, ½ log det(2πe Σ)."""
    d = _P.shape_of(cov)[-1]
    logdet = 2 * _P.sum(_P.log(_P.diagonal(_P.cholesky(cov), 0, -2, -1)), axis=-1)
    return 0.5 * (logdet + d * (1 + math.log(2 * math.pi)))


_document(globals(), "scipy.stats.multivariate_normal")  # each public function's example (chainrule/_examples.py)
