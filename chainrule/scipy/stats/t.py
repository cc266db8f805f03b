"""Student's t distribution with ``df`` degrees of freedom: ``logpdf``, ``pdf``, ``cdf`` (differentiable in
``x``, ``loc`` and ``scale``; ``cdf`` not in ``df``), ``logcdf``.

>>> import chainrule
>>> from chainrule.scipy.stats import t
>>> float(t.cdf(0.0, 3.0))
0.5
"""

from __future__ import annotations

import math

from ... import _rules as _P
from ... import _rules_special as _S
from ..._examples import document as _document


def logpdf(x, df, loc=0.0, scale=1.0):
    """log of the t density at ``x``."""
    z = (x - loc) / scale
    return (_S.gammaln((df + 1) / 2) - _S.gammaln(df / 2) - 0.5 * _P.log(df * math.pi) - _P.log(scale)
            - (df + 1) / 2 * _P.log1p(z * z / df))


def pdf(x, df, loc=0.0, scale=1.0):
    """The t density at ``x``."""
    return _P.exp(logpdf(x, df, loc, scale))


def cdf(x, df, loc=0.0, scale=1.0):
    """P(X ≤ x)."""
    return _S.stdtr(df, (x - loc) / scale)


def logcdf(x, df, loc=0.0, scale=1.0):
    """log P(X ≤ x)."""
    return _P.log(cdf(x, df, loc, scale))


_document(globals(), "scipy.stats.t")  # each public function's example (chainrule/_examples.py)
