"""The ``>>>`` examples of the engine's modules run and give what they show."""

import doctest
import importlib
import warnings

import numpy as np
import pytest

import chainrule

MODULES = ["chainrule", "chainrule._graph", "chainrule._tensor", "chainrule._functional", "chainrule._views",
           "chainrule.extend"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # (detect_anomaly's example takes a log of -1: no warning)
        result = doctest.testmod(module, extraglobs={"chainrule": chainrule, "np": np}, verbose=False,
                                 optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0
