"""The normal distribution N(loc, scale²): ``logpdf``, ``pdf``, ``cdf``, ``logcdf``, ``sf``, ``logsf``, ``ppf``.

>>> import chainrule
>>> from chainrule.scipy.stats import norm
>>> float(norm.cdf(0.0))
0.5
"""

from __future__ import annotations

import math

from ... import _rules as _P
from ... import _rules_special as _S
from ..._examples import document as _document

_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


def logpdf(x, loc=0.0, scale=1.0):
    """log of the normal density at ``x``."""
    z = (x - loc) / scale
    return -0.5 * z * z - _P.log(scale) - _LOG_SQRT_2PI


def pdf(x, loc=0.0, scale=1.0):
    """The normal density at ``x``."""
    return _P.exp(logpdf(x, loc, scale))


def cdf(x, loc=0.0, scale=1.0):
    """P(X ≤ x)."""
    return _S.ndtr((x - loc) / scale)


def logcdf(x, loc=0.0, scale=1.0):
    """log P(X ≤ x), accurate far in the lower tail."""
    return _S.log_ndtr((x - loc) / scale)


def sf(x, loc=0.0, scale=1.0):
    """P(X > x) = 1 − cdf."""
    return _S.ndtr((loc - x) / scale)


def logsf(x, loc=0.0, scale=1.0):
    """log P(X > x), accurate far in the upper tail."""
    return _S.log_ndtr((loc - x) / scale)


def ppf(q, loc=0.0, scale=1.0):
    """The quantile function, the inverse of :func:`cdf`."""
    return loc + scale * _S.ndtri(q)


_document(globals(), "scipy.stats.norm")  # each public function's example (chainrule/_examples.py)
