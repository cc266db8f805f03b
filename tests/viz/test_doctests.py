"""The ``>>>`` examples in chainrule.viz's docstrings run and give what they show."""

import doctest
import importlib
import os
import pkgutil

import numpy as np
import pytest

import chainrule
import chainrule.viz

MODULES = ["chainrule.viz"] + sorted(f"chainrule.viz.{m.name}" for m in pkgutil.iter_modules(chainrule.viz.__path__))


def test_every_viz_module_is_listed_and_has_examples():
    expected = {"chainrule.viz._html", "chainrule.viz._layout", "chainrule.viz._rich", "chainrule.viz._trace"}
    assert expected <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, tmp_path):
    module = importlib.import_module(name)
    cwd = os.getcwd()
    os.chdir(tmp_path)  # examples that write files write them here
    try:
        result = doctest.testmod(module, extraglobs={"chainrule": chainrule, "np": np}, verbose=False,
                                 optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    finally:
        os.chdir(cwd)
    assert result.failed == 0
    if name != "chainrule.viz.__main__":
        assert result.attempted > 0 or name in {"chainrule.viz._explain_model"}, f"{name} has no >>> example"
