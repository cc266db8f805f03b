"""The Poisson distribution with mean ``mu``: ``logpmf``, ``pmf``, ``cdf``, ``logcdf``, differentiable in
``mu`` (``k`` is a count).

>>> import chainrule
>>> from chainrule.scipy.stats import poisson
>>> float(chainrule.grad(lambda mu: poisson.logpmf(3, mu))(2.0))    # k / μ − 1
0.5
"""

from __future__ import annotations

import numpy as np

from ... import _rules as _P
from ... import _rules_special as _S
from ..._composite import _values
from ..._examples import document as _document


def logpmf(k, mu, loc=0):
    """log P(K = k)."""
    k = np.asarray(_values(k)) - loc
    return _S.xlogy(k, mu) - mu - _S.gammaln(k + 1.0)


def pmf(k, mu, loc=0):
    """P(K = k)."""
    return _P.exp(logpmf(k, mu, loc))


def cdf(k, mu, loc=0):
    """P(K ≤ k) = Q(⌊k⌋ + 1, μ), the regularised upper incomplete gamma function."""
    k = np.floor(np.asarray(_values(k)) - loc)
    return _S.gammaincc(k + 1.0, mu)


def logcdf(k, mu, loc=0):
    """log P(K ≤ k)."""
    return _P.log(cdf(k, mu, loc))


_document(globals(), "scipy.stats.poisson")  # each public function's example (chainrule/_examples.py)
