"""The ``>>>`` examples in the training stack's docstrings run and give what they show."""

import doctest
import importlib

import numpy as np
import pytest

import chainrule

MODULES = ["chainrule.nn._module", "chainrule.nn._layers", "chainrule.nn.init", "chainrule.nn.losses",
           "chainrule.nn", "chainrule.nn.functional", "chainrule.nn._conv", "chainrule.nn._norm",
           "chainrule.nn._attention", "chainrule.optim._optimizers", "chainrule.optim._schedules", "chainrule.optim",
           "chainrule.optim.functional",
           "chainrule.data._core", "chainrule.data._datasets", "chainrule.data", "chainrule.train",
           "chainrule.checkpoint"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, extraglobs={"chainrule": chainrule, "np": np}, verbose=False,
                             optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
