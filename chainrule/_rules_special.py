"""Rule table, part three: SciPy's special functions (``chainrule.scipy.special``; SciPy is optional).

Contract as in :mod:`chainrule._rules`. The forward functions are SciPy's, imported on first call, so
``import chainrule`` stays NumPy-only; without SciPy a call raises an ImportError naming the function.
ψ is the digamma function, ψ⁽ⁿ⁾ the polygamma functions, φ the standard normal density.
"""

from __future__ import annotations

import math

import numpy as np

from . import _rules as P
from ._namespace import in_library
from ._rules import defprim, unbroadcast, where

_SQRT_PI = math.sqrt(math.pi)
_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


def _scipy_function(name: str):
    def forward(*args, **kwargs):
        try:
            import scipy.special
        except ImportError:
            raise ImportError(f"chainrule.scipy.special.{name} needs SciPy (pip install scipy)") from None
        return in_library(getattr(scipy.special, name), f"scipy.special.{name}")(*args, **kwargs)

    forward.__name__ = name
    return forward


def special(name, *vjps, saves=None, formulas=(), names=None):
    """An entry whose forward is ``scipy.special.<name>``, public as ``chainrule.scipy.special.<name>``."""
    return defprim(name, _scipy_function(name), *vjps, saves=saves, formulas=formulas,
                   names=(f"scipy.special.{name}",) if names is None else names)


def _xlogy_vjp_y(g, ans, x, y):
    nonzero = x != 0
    return unbroadcast(g * where(nonzero, x / where(nonzero, y, 1), 0), y)


def _xlog1py_vjp_y(g, ans, x, y):
    nonzero = x != 0
    return unbroadcast(g * where(nonzero, x / where(nonzero, 1 + y, 1), 0), y)


def _multigammaln_vjp(g, ans, a, d):
    halves = np.arange(d) / 2.0
    return g * P.sum(digamma(P.reshape(a, P.shape_of(a) + (1,)) - halves), axis=-1)


# ---- error functions and the normal distribution --------------------------------------------------------
erf = special("erf", lambda g, ans, x: g * (2 / _SQRT_PI) * P.exp(-x * x), saves=(0,), formulas=("{g} · 2/√π · e^(-{0}²)",))
erfc = special("erfc", lambda g, ans, x: g * (-2 / _SQRT_PI) * P.exp(-x * x), saves=(0,), formulas=("-{g} · 2/√π · e^(-{0}²)",))
erfinv = special("erfinv", lambda g, ans, x: g * (_SQRT_PI / 2) * P.exp(ans * ans), saves=("ans",), formulas=("{g} · √π/2 · e^({ans}²)",))
erfcinv = special("erfcinv", lambda g, ans, x: g * (-_SQRT_PI / 2) * P.exp(ans * ans), saves=("ans",), formulas=("-{g} · √π/2 · e^({ans}²)",))
ndtr = special("ndtr", lambda g, ans, x: g * P.exp(-0.5 * x * x - _LOG_SQRT_2PI), saves=(0,), formulas=("{g} · φ({0})",))
log_ndtr = special("log_ndtr", lambda g, ans, x: g * P.exp(-0.5 * x * x - _LOG_SQRT_2PI - ans), saves=(0, "ans"), formulas=("{g} · φ({0}) / Φ({0})",))
ndtri = special("ndtri", lambda g, ans, x: g * P.exp(0.5 * ans * ans + _LOG_SQRT_2PI), saves=("ans",), formulas=("{g} / φ({ans})",))
logit = special("logit", lambda g, ans, x: g / (x * (1 - x)), saves=(0,), formulas=("{g} / ({0}(1 - {0}))",))

# ---- gamma and beta functions -------------------------------------------------------------------------
gamma = special("gamma", lambda g, ans, x: g * ans * digamma(x), saves=(0, "ans"), formulas=("{g} · Γ({0}) ψ({0})",))
gammaln = special("gammaln", lambda g, ans, x: g * digamma(x), saves=(0,), formulas=("{g} · ψ({0})",))
rgamma = special("rgamma", lambda g, ans, x: -g * ans * digamma(x), saves=(0, "ans"), formulas=("-{g} · ψ({0}) / Γ({0})",))
digamma = special("digamma", lambda g, ans, x: g * polygamma(1, x), saves=(0,), formulas=("{g} · ψ⁽¹⁾({0})",),
                  names=("scipy.special.digamma", "scipy.special.psi"))
polygamma = special("polygamma", None, lambda g, ans, n, x: g * polygamma(n + 1, x), saves=(0, 1), formulas=(None, "{g} · ψ⁽ⁿ⁺¹⁾({1})"))
multigammaln = special("multigammaln", _multigammaln_vjp, None, saves=(0, 1), formulas=("{g} · Σ_j ψ({0} - j/2)", None))
beta = special("beta",
               lambda g, ans, a, b: unbroadcast(g * ans * (digamma(a) - digamma(a + b)), a),
               lambda g, ans, a, b: unbroadcast(g * ans * (digamma(b) - digamma(a + b)), b),
               saves=(0, 1, "ans"), formulas=("{g} · B · (ψ({0}) - ψ({0} + {1}))", "{g} · B · (ψ({1}) - ψ({0} + {1}))"))
betaln = special("betaln",
                 lambda g, ans, a, b: unbroadcast(g * (digamma(a) - digamma(a + b)), a),
                 lambda g, ans, a, b: unbroadcast(g * (digamma(b) - digamma(a + b)), b),
                 saves=(0, 1), formulas=("{g} · (ψ({0}) - ψ({0} + {1}))", "{g} · (ψ({1}) - ψ({0} + {1}))"))
# the regularised incomplete functions: differentiable in their last argument only (as in autograd)
gammainc = special("gammainc", None, lambda g, ans, a, x: unbroadcast(g * P.exp((a - 1) * P.log(x) - x - gammaln(a)), x),
                   saves=(0, 1), formulas=(None, "{g} · {1}^({0}-1) e^(-{1}) / Γ({0})"))
gammaincc = special("gammaincc", None, lambda g, ans, a, x: unbroadcast(-g * P.exp((a - 1) * P.log(x) - x - gammaln(a)), x),
                    saves=(0, 1), formulas=(None, "-{g} · {1}^({0}-1) e^(-{1}) / Γ({0})"))
betainc = special("betainc", None, None,
                  lambda g, ans, a, b, x: unbroadcast(g * P.exp((a - 1) * P.log(x) + (b - 1) * P.log1p(-x) - betaln(a, b)), x),
                  saves=(0, 1, 2), formulas=(None, None, "{g} · {2}^({0}-1) (1-{2})^({1}-1) / B({0}, {1})"))
# Student's t distribution function: differentiable in t (its density), not in the degrees of freedom
stdtr = special("stdtr", None,
                lambda g, ans, df, t: unbroadcast(g * P.exp(gammaln((df + 1) / 2) - gammaln(df / 2) - 0.5 * P.log(df * math.pi)
                                                             - (df + 1) / 2 * P.log1p(t * t / df)), t),
                saves=(0, 1), formulas=(None, "{g} · t-density({1}; {0})"))

# ---- x log y -----------------------------------------------------------------------------------------
xlogy = special("xlogy", lambda g, ans, x, y: unbroadcast(g * P.log(y), x), _xlogy_vjp_y,
                saves=(0, 1), formulas=("{g} · log {1}", "{g} · {0} / {1}"))
xlog1py = special("xlog1py", lambda g, ans, x, y: unbroadcast(g * P.log1p(y), x), _xlog1py_vjp_y,
                  saves=(0, 1), formulas=("{g} · log(1 + {1})", "{g} · {0} / (1 + {1})"))

# ---- Bessel functions --------------------------------------------------------------------------------
i0 = special("i0", lambda g, ans, x: g * i1(x), saves=(0,), formulas=("{g} · I₁({0})",))
i1 = special("i1", lambda g, ans, x: g * (i0(x) + iv(2, x)) / 2, saves=(0,), formulas=("{g} · (I₀({0}) + I₂({0})) / 2",))
iv = special("iv", None, lambda g, ans, v, x: g * (iv(v - 1, x) + iv(v + 1, x)) / 2,
             saves=(0, 1), formulas=(None, "{g} · (I_(v-1)({1}) + I_(v+1)({1})) / 2"))
ive = special("ive", None, lambda g, ans, v, x: g * ((ive(v - 1, x) + ive(v + 1, x)) / 2 - P.sign(x) * ans),
              saves=(0, 1, "ans"), formulas=(None, "{g} · ((Iₑ_(v-1) + Iₑ_(v+1)) / 2 - sign({1}) {ans})"))
j0 = special("j0", lambda g, ans, x: -g * j1(x), saves=(0,), formulas=("-{g} · J₁({0})",))
j1 = special("j1", lambda g, ans, x: g * (j0(x) - jn(2, x)) / 2, saves=(0,), formulas=("{g} · (J₀({0}) - J₂({0})) / 2",))
jn = special("jn", None, lambda g, ans, n, x: g * (jn(n - 1, x) - jn(n + 1, x)) / 2,
             saves=(0, 1), formulas=(None, "{g} · (J_(n-1)({1}) - J_(n+1)({1})) / 2"))
y0 = special("y0", lambda g, ans, x: -g * y1(x), saves=(0,), formulas=("-{g} · Y₁({0})",))
y1 = special("y1", lambda g, ans, x: g * (y0(x) - yn(2, x)) / 2, saves=(0,), formulas=("{g} · (Y₀({0}) - Y₂({0})) / 2",))
yn = special("yn", None, lambda g, ans, n, x: g * (yn(n - 1, x) - yn(n + 1, x)) / 2,
             saves=(0, 1), formulas=(None, "{g} · (Y_(n-1)({1}) - Y_(n+1)({1})) / 2"))
