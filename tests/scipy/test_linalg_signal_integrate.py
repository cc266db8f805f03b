"""chainrule.scipy.linalg, .signal and .integrate: values equal SciPy's; odeint's adjoint gradients agree
with finite differences and with the closed form."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule
import chainrule.numpy as cnp

scipy_linalg = pytest.importorskip("scipy.linalg")
import scipy.integrate  # noqa: E402
import scipy.signal  # noqa: E402

from chainrule.scipy import integrate, linalg, signal  # noqa: E402


def _spd(rng, n):
    a = rng.standard_normal((n, n))
    return a @ a.T + n * np.eye(n)


def test_linalg_values_match_scipy(rng):
    a, b = _spd(rng, 3), rng.standard_normal((3, 2))
    lower = np.tril(a)
    for kw in ({"lower": True}, {"lower": True, "trans": 1}, {"lower": True, "unit_diagonal": True}):
        np.testing.assert_allclose(linalg.solve_triangular(lower, b, **kw),
                                   scipy_linalg.solve_triangular(lower, b, **kw))
    np.testing.assert_allclose(linalg.sqrtm(a), scipy_linalg.sqrtm(a))
    np.testing.assert_allclose(linalg.expm(a / 5), scipy_linalg.expm(a / 5))
    np.testing.assert_allclose(linalg.cholesky(a), scipy_linalg.cholesky(a))
    for lower_flag in (False, True):
        factor = scipy_linalg.cho_factor(a, lower=lower_flag)
        np.testing.assert_allclose(linalg.cho_solve(factor, b), scipy_linalg.cho_solve(factor, b))
        np.testing.assert_allclose(linalg.cho_solve(linalg.cho_factor(a, lower=lower_flag), b), np.linalg.solve(a, b))
    q = rng.standard_normal((3, 2))
    bb = _spd(rng, 2)
    np.testing.assert_allclose(linalg.solve_sylvester(a, bb, q), scipy_linalg.solve_sylvester(a, bb, q))


def test_signal_values_match_scipy(rng):
    a, v = rng.standard_normal((4, 5)), rng.standard_normal((2, 3))
    for mode in ("full", "same", "valid"):
        np.testing.assert_allclose(signal.convolve(a, v, mode), scipy.signal.convolve(a, v, mode))
        np.testing.assert_allclose(signal.correlate(a, v, mode), scipy.signal.correlate(a, v, mode))
        np.testing.assert_allclose(signal.convolve(v, a, mode), scipy.signal.convolve(v, a, mode))
    with pytest.raises(ValueError, match="at least as large"):
        signal.convolve(np.ones((2, 5)), np.ones((3, 2)), "valid")


def _lotka_volterra(y, t, rates):
    prey, predators = y[0], y[1]
    return cnp.stack([rates[0] * prey - rates[1] * prey * predators,
                      rates[2] * prey * predators - rates[3] * predators])


def test_odeint_values_match_scipy_and_the_adjoint_matches_finite_differences():
    y0, rates, t = np.array([1.0, 0.5]), np.array([1.1, 0.4, 0.3, 0.9]), np.linspace(0.0, 2.0, 5)
    expected = scipy.integrate.odeint(lambda y, s: _lotka_volterra(y, s, rates), y0, t)
    np.testing.assert_allclose(integrate.odeint(_lotka_volterra, y0, t, (rates,)), expected, rtol=1e-7)
    weights = np.arange(10.0).reshape(5, 2)
    loss = lambda y0, rates: cnp.sum(integrate.odeint(_lotka_volterra, y0, t, (rates,)) * weights)  # noqa: E731
    assert chainrule.gradcheck(loss, y0, rates, rtol=1e-4, atol=1e-6)


def test_odeint_has_no_second_derivatives():
    decay = lambda y, t, k: -k * y  # noqa: E731
    with pytest.raises(NotImplementedError, match="no second derivatives"):
        chainrule.hessian(lambda y0: integrate.odeint(decay, y0, np.array([0.0, 1.0]), (0.5,))[-1].sum())(
            np.array([1.0]))
