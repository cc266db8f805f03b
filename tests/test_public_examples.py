"""Every public name of every public module has a docstring of its own with a ``>>>`` example, and the
examples run and give what they show.

Public modules are ``chainrule`` and its submodules with no underscore in their path; their public names
are ``__all__`` where a module has one (else the names without a leading underscore) that chainrule
defines (not NumPy's constants and types it re-exports, nor a module's own imports).
"""

from __future__ import annotations

import doctest
import importlib
import inspect
import os
import pkgutil
import tempfile

import numpy as np
import pytest

import chainrule
from chainrule._graph import Primitive

PACKAGE_DIR = os.path.dirname(os.path.abspath(chainrule.__file__))
PUBLIC_MODULES = ["chainrule"] + sorted(
    info.name for info in pkgutil.walk_packages(chainrule.__path__, "chainrule.")
    if not any(part.startswith("_") for part in info.name.split(".")[1:]))

# module prefix -> what it needs
OPTIONAL = {"chainrule.scipy": "scipy", "chainrule.sklearn": "sklearn", "chainrule.distributed": "mpi4py"}


def _defined_by_chainrule(obj) -> bool:
    if isinstance(obj, Primitive):
        return True
    code = getattr(obj, "__code__", None)
    if code is not None:  # a function, or a wrapper of another library's function defined here
        return code.co_filename.startswith(PACKAGE_DIR)
    return inspect.isclass(obj) and (obj.__module__ or "").startswith("chainrule")


def _own_docstring(obj) -> str:
    if isinstance(obj, Primitive) or inspect.isclass(obj):
        doc = vars(obj).get("__doc__")  # not the class's (a primitive's) nor a base class's
    else:
        doc = getattr(obj, "__doc__", None)
    return doc or ""


def public_names(module) -> list[tuple[str, object]]:
    """``(name, object)`` for each public name ``module`` defines or re-exports from chainrule."""
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n in dir(module) if not n.startswith("_")]
    found = []
    for name in names:
        obj = getattr(module, name, None)
        if obj is None or inspect.ismodule(obj) or not (callable(obj) or inspect.isclass(obj)):
            continue
        if _defined_by_chainrule(obj):
            found.append((name, obj))
    return found


def _problems(module_name: str) -> list[str]:
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory() as folder:
        os.chdir(folder)  # an example that writes a file (plot_descent's descent.png) writes it here
        try:
            return _run_examples(module_name)
        finally:
            os.chdir(cwd)


def _run_examples(module_name: str) -> list[str]:
    module = importlib.import_module(module_name)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    problems = []
    for name, obj in public_names(module):
        doc = _own_docstring(obj)
        if ">>>" not in doc:
            problems.append(f"{module_name}.{name}: no >>> example in its own docstring")
            continue
        globs = {**vars(module), "chainrule": chainrule, "np": np}  # as doctest.testmod runs a module's examples
        test = doctest.DocTestParser().get_doctest(doc, globs, f"{module_name}.{name}", None, 0)
        failures_before = runner.failures
        runner.run(test, out=lambda text: None)
        if runner.failures > failures_before:
            problems.append(f"{module_name}.{name}: its example does not give what it shows")
    return problems


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_every_public_name_has_a_running_example(module_name):
    for prefix, requirement in OPTIONAL.items():
        if module_name.startswith(prefix):
            pytest.importorskip(requirement)
    problems = _problems(module_name)
    assert not problems, "\n".join(problems)
