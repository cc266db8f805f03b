"""The beta distribution on (0, 1) with shapes ``a``, ``b``: ``logpdf``, ``pdf``, ``cdf`` (``cdf``
differentiable in ``x``, not in ``a``, ``b``), ``logcdf``.

>>> import chainrule
>>> from chainrule.scipy.stats import beta
>>> float(beta.pdf(0.5, 2.0, 2.0))
1.5
"""

from __future__ import annotations

from ... import _rules as _P
from ... import _rules_special as _S
from ..._examples import document as _document


def logpdf(x, a, b, loc=0.0, scale=1.0):
    """log of the beta density at ``x``."""
    z = (x - loc) / scale
    return _S.xlogy(a - 1, z) + _S.xlog1py(b - 1, -z) - _S.betaln(a, b) - _P.log(scale)


def pdf(x, a, b, loc=0.0, scale=1.0):
    """The beta density at ``x``."""
    return _P.exp(logpdf(x, a, b, loc, scale))


def cdf(x, a, b, loc=0.0, scale=1.0):
    """P(X ≤ x): the regularised incomplete beta function."""
    return _S.betainc(a, b, (x - loc) / scale)


def logcdf(x, a, b, loc=0.0, scale=1.0):
    """log P(X ≤ x)."""
    return _P.log(cdf(x, a, b, loc, scale))


_document(globals(), "scipy.stats.beta")  # each public function's example (chainrule/_examples.py)
