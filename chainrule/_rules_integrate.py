"""Rule table, part six: ``scipy.integrate.odeint`` with its gradient by the adjoint method.

For y' = f(y, t, θ) observed at t₀ < t₁ < ... < t_N, the error signals come from integrating backwards,
from t_N to t₀, the augmented system

    y' = f(y, t, θ),    λ' = −λᵀ ∂f/∂y,    μ' = −λᵀ ∂f/∂θ,

starting at y(t_N), λ = ḡ_N, μ = 0, and adding ḡ_i to λ at each t_i on the way: then ȳ₀ = λ(t₀), θ̄ = μ(t₀).
The products λᵀ ∂f/∂y and λᵀ ∂f/∂θ are one reverse-mode pass through ``f`` (written with chainrule.numpy).
There are no gradients with respect to ``t``, and no second derivatives (the backward solve is SciPy's).
"""

from __future__ import annotations

import numpy as np

from ._graph import Tensor
from ._rules import defprim


def _odeint(function, y0, t, theta, unflatten, rtol, atol):
    try:
        import scipy.integrate
    except ImportError:
        raise ImportError("chainrule.scipy.integrate.odeint needs SciPy (pip install scipy)") from None
    args = unflatten(theta)
    return scipy.integrate.odeint(lambda y, s: np.asarray(function(y, s, *args), dtype=float), y0, t,
                                  rtol=rtol, atol=atol)


def _adjoint(g, ans, function, y0, t, theta, unflatten, rtol, atol):
    """(ȳ₀, θ̄) from one backward solve of the augmented system."""
    import scipy.integrate

    from ._functional import vjp

    if isinstance(g, Tensor):
        raise NotImplementedError("chainrule.scipy.integrate.odeint: no second derivatives (the backward "
                                  "solve is SciPy's odeint)")
    n, p = np.size(y0), np.size(theta)
    t = np.asarray(t, dtype=float)

    def augmented(state, s):
        y, adjoint = state[:n].reshape(np.shape(y0)), state[n:2 * n]
        f, pullback = vjp(lambda y, theta: function(y, s, *unflatten(theta)), y, theta)
        gy, gtheta = pullback(adjoint.reshape(np.shape(f)))
        return np.concatenate([np.ravel(f), -np.ravel(gy), -np.ravel(gtheta)])

    g = np.asarray(g, dtype=float).reshape(len(t), -1)
    state = np.concatenate([np.ravel(ans[-1]), g[-1], np.zeros(p)])
    for i in range(len(t) - 1, 0, -1):
        state = scipy.integrate.odeint(augmented, state, [t[i], t[i - 1]], rtol=rtol, atol=atol)[-1]
        state[n:2 * n] += g[i - 1]
    return state[n:2 * n].reshape(np.shape(y0)), state[2 * n:].reshape(np.shape(theta))


odeint_flat = defprim("odeint", _odeint, None,
                      lambda *args: _adjoint(*args)[0], None,
                      lambda *args: _adjoint(*args)[1],
                      formulas=(None, "λ(t₀)", None, "μ(t₀)"), names=(), cost="elementwise")
