"""The ``>>>`` examples in the docstrings of the registry, the extension API and the NumPy/SciPy
namespaces run and give what they show."""

import doctest
import importlib

import numpy as np
import pytest

import chainrule

MODULES = ["chainrule._registry", "chainrule._examples", "chainrule.extend", "chainrule.builtins", "chainrule.numpy",
           "chainrule.numpy.fft", "chainrule._composite_construction"]
SCIPY_MODULES = ["chainrule.scipy", "chainrule.scipy.special", "chainrule.scipy.stats", "chainrule.scipy.stats.norm",
                 "chainrule.scipy.stats.t", "chainrule.scipy.stats.gamma", "chainrule.scipy.stats.beta",
                 "chainrule.scipy.stats.poisson", "chainrule.scipy.stats.dirichlet",
                 "chainrule.scipy.stats.multivariate_normal", "chainrule.scipy.signal", "chainrule.scipy.linalg",
                 "chainrule.scipy.integrate"]


@pytest.mark.parametrize("name", MODULES + SCIPY_MODULES)
def test_docstring_examples(name):
    if name in SCIPY_MODULES:
        pytest.importorskip("scipy")
    module = importlib.import_module(name)
    result = doctest.testmod(module, extraglobs={"chainrule": chainrule, "np": np}, verbose=False,
                             optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0
