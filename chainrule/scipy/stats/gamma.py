"""The gamma distribution with shape ``a``: ``logpdf``, ``pdf``, ``cdf`` (``cdf`` differentiable in ``x`` and
``loc``/``scale``, not in ``a``), ``logcdf``.

>>> import chainrule
>>> from chainrule.scipy.stats import gamma
>>> round(float(gamma.pdf(1.0, 1.0)), 6)     # e^−1
0.367879
"""

from __future__ import annotations

from ... import _rules as _P
from ... import _rules_special as _S
from ..._examples import document as _document


def logpdf(x, a, loc=0.0, scale=1.0):
    """log of the gamma density at ``x`` (−inf for x < loc)."""
    z = (x - loc) / scale
    return _S.xlogy(a - 1, z) - z - _S.gammaln(a) - _P.log(scale)


def pdf(x, a, loc=0.0, scale=1.0):
    """The gamma density at ``x``."""
    return _P.exp(logpdf(x, a, loc, scale))


def cdf(x, a, loc=0.0, scale=1.0):
    """P(X ≤ x): the regularised lower incomplete gamma function."""
    return _S.gammainc(a, (x - loc) / scale)


def logcdf(x, a, loc=0.0, scale=1.0):
    """log P(X ≤ x)."""
    return _P.log(cdf(x, a, loc, scale))


_document(globals(), "scipy.stats.gamma")  # each public function's example (chainrule/_examples.py)
