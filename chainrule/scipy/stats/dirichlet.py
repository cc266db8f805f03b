"""The Dirichlet distribution on the simplex: ``logpdf``, ``pdf`` at ``x`` (last axis: the components),
differentiable in ``x`` and ``alpha``.

>>> import numpy as np, chainrule
>>> from chainrule.scipy.stats import dirichlet
>>> float(dirichlet.pdf(np.array([0.5, 0.5]), np.ones(2)))     # uniform on the 1-simplex
1.0
"""

from __future__ import annotations

from ... import _rules as _P
from ... import _rules_special as _S
from ..._examples import document as _document


def logpdf(x, alpha):
    """log of the Dirichlet density: Σ (αᵢ − 1) log xᵢ + log Γ(Σ αᵢ) − Σ log Γ(αᵢ)."""
    return (_P.sum(_S.xlogy(alpha - 1, x), axis=-1) + _S.gammaln(_P.sum(alpha * 1.0, axis=-1))
            - _P.sum(_S.gammaln(alpha), axis=-1))


def pdf(x, alpha):
    """The Dirichlet density at ``x``."""
    return _P.exp(logpdf(x, alpha))


_document(globals(), "scipy.stats.dirichlet")  # each public function's example (chainrule/_examples.py)
