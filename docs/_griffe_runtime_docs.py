"""griffe extension (mkdocstrings): the NumPy and SciPy namespaces' functions as Python sees them at run time.

Those namespaces are filled at import (``globals().update(...)`` from the registry) and their docstrings
are written then (a primitive's from its registration, the others' examples from ``chainrule/_examples.py``),
so reading the source, as griffe does, finds neither the primitives nor the examples. This extension imports
the namespaces and puts each public function in the API reference with its signature and its run-time
docstring, the text ``help()`` shows.
"""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path
from typing import Any

import griffe

NAMESPACES = ("numpy", "numpy.fft", "numpy.linalg", "scipy.special", "scipy.stats.norm", "scipy.stats.t",
              "scipy.stats.gamma", "scipy.stats.beta", "scipy.stats.poisson", "scipy.stats.dirichlet",
              "scipy.stats.multivariate_normal", "scipy.signal", "scipy.linalg", "scipy.integrate")


def _public(module: Any) -> list[tuple[str, Any]]:
    """The functions ``module`` defines or takes from chainrule (as tests/test_public_examples.py selects
    them), not NumPy's own names it re-exports."""
    from chainrule._graph import Primitive

    package = str(Path(importlib.import_module("chainrule").__file__).parent)
    found = []
    for name in getattr(module, "__all__", None) or [n for n in dir(module) if not n.startswith("_")]:
        obj = getattr(module, name, None)
        code = getattr(obj, "__code__", None)
        if isinstance(obj, Primitive) or (code is not None and code.co_filename.startswith(package)) or (
                inspect.isclass(obj) and (obj.__module__ or "").startswith("chainrule")):
            found.append((name, obj))
    return found


def _parameters(obj: Any) -> griffe.Parameters:
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):
        return griffe.Parameters()
    return griffe.Parameters(*(
        griffe.Parameter(p.name, kind=griffe.ParameterKind(p.kind.description),
                         default=None if p.default is p.empty else repr(p.default))
        for p in signature.parameters.values()))


class RuntimeDocstrings(griffe.Extension):
    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        if pkg.name != "chainrule":
            return
        for space in NAMESPACES:
            module = importlib.import_module(f"chainrule.{space}")
            target = pkg.get_member(space)
            for name, obj in _public(module):
                kind = griffe.Class if inspect.isclass(obj) else griffe.Function
                extra = {} if kind is griffe.Class else {"parameters": _parameters(obj)}
                member = kind(name, **extra)
                member.docstring = griffe.Docstring(inspect.cleandoc(obj.__doc__ or ""), parent=member,
                                                    parser=loader.docstring_parser,
                                                    parser_options=loader.docstring_options)
                member.public = True  # (griffe takes a name the source imports for a private one)
                target.set_member(name, member)
