"""chainrule: backpropagation done properly.

>>> import numpy as np, chainrule
>>> x = chainrule.tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> y = (np.tanh(x) ** 2).sum()      # plain NumPy code records the graph
>>> y.backward()
>>> x.grad                           # ∂y/∂x = 2 tanh(x) (1 - tanh²(x))
array([0.63970001, 0.13621869, 0.01963449])
"""

from importlib import import_module as _import_module
from typing import Any as _Any

from . import numpy  # noqa: F401  (chainrule.numpy, the differentiable NumPy namespace)
from ._functional import grad, hessian, hvp, jacobian, jvp, tree_flatten, tree_unflatten, value_and_grad, vjp
from ._graph import (
    AnomalyError,
    Node,
    Primitive,
    Shape,
    detect_anomaly,
    enable_grad,
    engine_info,
    is_grad_enabled,
    no_grad,
)
from ._tensor import Tensor, tensor
from ._views import register_view_primitives as _register_view_primitives
from .extend import defvjp, primitive

_register_view_primitives()

# Loaded on first use, to keep `import chainrule` fast: name -> module that defines it.
_LAZY = {"gradcheck": "._check", "GradcheckError": "._check", "localize_fault": "._check",
         "compile": "._compile", "CompileWarning": "._compile", "trace": ".viz", "cost": ".viz"}


_SUBPACKAGES = ("nn", "optim", "data", "train", "checkpoint", "viz", "extend", "scipy")


def __getattr__(name: str) -> _Any:
    if name in _LAZY:
        value = getattr(_import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    if name in _SUBPACKAGES:  # chainrule.nn etc. without importing them first
        return _import_module(f".{name}", __name__)
    raise AttributeError(f"module 'chainrule' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({n for n in globals() if not n.startswith("_")} | set(_LAZY) | set(_SUBPACKAGES))

__version__ = "0.1.0"

__all__ = [
    "AnomalyError",
    "CompileWarning",
    "compile",
    "cost",
    "trace",
    "GradcheckError",
    "Node",
    "Primitive",
    "Shape",
    "Tensor",
    "defvjp",
    "detect_anomaly",
    "enable_grad",
    "engine_info",
    "grad",
    "gradcheck",
    "hessian",
    "hvp",
    "is_grad_enabled",
    "jacobian",
    "jvp",
    "localize_fault",
    "no_grad",
    "primitive",
    "tensor",
    "tree_flatten",
    "tree_unflatten",
    "value_and_grad",
    "vjp",
]
