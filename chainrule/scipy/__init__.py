"""``chainrule.scipy``: differentiable SciPy functions (SciPy itself is optional, imported on first use).

``special`` (error, gamma, beta, Bessel functions, ``logsumexp``, ``softmax``, ...), ``stats`` (``norm``,
``t``, ``gamma``, ``beta``, ``poisson``, ``dirichlet``, ``multivariate_normal``), ``signal.convolve``,
``linalg`` and ``integrate.odeint``. SciPy's ufuncs called on Tensors (``scipy.special.erf(t)``) dispatch here.

>>> import numpy as np, chainrule
>>> from chainrule.scipy import special
>>> chainrule.grad(lambda x: special.erf(x).sum())(np.zeros(2))    # 2/√π
array([1.12837917, 1.12837917])
"""

from importlib import import_module

_SUBMODULES = ("special", "stats", "signal", "linalg", "integrate")


def __getattr__(name: str):
    if name in _SUBMODULES:
        return import_module(f".{name}", __name__)
    raise AttributeError(f"module 'chainrule.scipy' has no attribute {name!r}")
