"""chainrule.scipy.stats: values equal scipy.stats's; gradients in values and parameters (finite differences
are in the specs); autograd's module layout imports."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule

stats = pytest.importorskip("scipy.stats")
from chainrule.scipy.stats import beta, dirichlet, gamma, multivariate_normal, norm, poisson, t  # noqa: E402

X = np.array([-1.3, -0.2, 0.4, 2.1])
CASES = [  # (our function, SciPy's, arguments)
    (norm.logpdf, stats.norm.logpdf, (X, 0.3, 1.7)), (norm.pdf, stats.norm.pdf, (X, 0.3, 1.7)),
    (norm.cdf, stats.norm.cdf, (X, 0.3, 1.7)), (norm.logcdf, stats.norm.logcdf, (X - 30, 0.0, 1.0)),
    (norm.sf, stats.norm.sf, (X, 0.3, 1.7)), (norm.logsf, stats.norm.logsf, (X + 30, 0.0, 1.0)),
    (norm.ppf, stats.norm.ppf, (np.array([0.1, 0.5, 0.8]), 0.3, 1.7)),
    (t.logpdf, stats.t.logpdf, (X, 3.5, 0.2, 1.4)), (t.pdf, stats.t.pdf, (X, 3.5)),
    (t.cdf, stats.t.cdf, (X, 3.5, 0.2, 1.4)), (t.logcdf, stats.t.logcdf, (X, 2.0)),
    (gamma.logpdf, stats.gamma.logpdf, (X + 2, 2.5, 0.1, 1.3)), (gamma.pdf, stats.gamma.pdf, (X + 2, 2.5)),
    (gamma.cdf, stats.gamma.cdf, (X + 2, 2.5, 0.1, 1.3)), (gamma.logcdf, stats.gamma.logcdf, (X + 2, 1.5)),
    (beta.logpdf, stats.beta.logpdf, (np.array([0.1, 0.5, 0.9]), 2.5, 1.5)),
    (beta.pdf, stats.beta.pdf, (np.array([0.1, 0.5, 0.9]), 2.5, 1.5)),
    (beta.cdf, stats.beta.cdf, (np.array([0.1, 0.5, 0.9]), 2.5, 1.5)),
    (beta.logcdf, stats.beta.logcdf, (np.array([0.1, 0.5, 0.9]), 2.5, 1.5)),
    (poisson.logpmf, stats.poisson.logpmf, (np.array([0, 1, 4]), 2.5)),
    (poisson.pmf, stats.poisson.pmf, (np.array([0, 1, 4]), 2.5)),
    (poisson.cdf, stats.poisson.cdf, (np.array([0, 1, 4]), 2.5)),
    (poisson.logcdf, stats.poisson.logcdf, (np.array([0, 1, 4]), 2.5)),
]


@pytest.mark.parametrize(("ours", "theirs", "args"), CASES, ids=[f"{c[0].__module__.split('.')[-1]}.{c[0].__name__}"
                                                                  for c in CASES])
def test_values_match_scipy_stats(ours, theirs, args):
    np.testing.assert_allclose(ours(*args), theirs(*args), rtol=1e-10)


def test_dirichlet_and_multivariate_normal_match_scipy(rng):
    x, alpha = np.array([0.2, 0.3, 0.5]), np.array([1.5, 2.0, 0.7])
    np.testing.assert_allclose(dirichlet.logpdf(x, alpha), stats.dirichlet.logpdf(x, alpha))
    np.testing.assert_allclose(dirichlet.pdf(x, alpha), stats.dirichlet.pdf(x, alpha))
    a = rng.standard_normal((3, 3))
    cov, mean, points = a @ a.T + np.eye(3), rng.standard_normal(3), rng.standard_normal((5, 3))
    np.testing.assert_allclose(multivariate_normal.logpdf(points, mean, cov),
                               stats.multivariate_normal.logpdf(points, mean, cov))
    np.testing.assert_allclose(multivariate_normal.pdf(points[0], mean, cov),
                               stats.multivariate_normal.pdf(points[0], mean, cov))
    np.testing.assert_allclose(multivariate_normal.entropy(mean, cov), stats.multivariate_normal(mean, cov).entropy())


def test_maximum_likelihood_gradients_vanish_at_the_estimates(rng):
    data = rng.normal(1.5, 0.7, 200)
    mu, sigma = data.mean(), data.std()
    g_mu, g_sigma = chainrule.grad(lambda m, s: norm.logpdf(data, m, s).sum(), argnums=(0, 1))(mu, sigma)
    assert abs(g_mu) < 1e-9 and abs(g_sigma) < 1e-9
    counts = rng.poisson(3.0, 100)
    assert abs(chainrule.grad(lambda lam: poisson.logpmf(counts, lam).sum())(counts.mean())) < 1e-9


def test_autograd_module_layout_imports():
    import chainrule.scipy.stats.multivariate_normal as mvn
    import chainrule.scipy.stats.norm as normal

    assert normal.logpdf is norm.logpdf and mvn.logpdf is multivariate_normal.logpdf
