"""``chainrule.scipy.stats``: log-densities, densities and distribution functions, differentiable in the
values and the parameters (as ``scipy.stats``'s, with autograd's module layout:
``import chainrule.scipy.stats.norm as norm``).

>>> import numpy as np, chainrule
>>> from chainrule.scipy.stats import norm
>>> float(chainrule.grad(lambda mu: norm.logpdf(1.0, mu, 2.0))(0.0))      # (x − μ) / σ²
0.25
"""

from . import beta, dirichlet, gamma, multivariate_normal, norm, poisson, t  # noqa: F401
