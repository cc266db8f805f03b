"""chainrule: backpropagation done properly.

>>> import numpy as np, chainrule
>>> x = chainrule.tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> y = (np.tanh(x) ** 2).sum()      # plain NumPy code records the graph
>>> y.backward()
>>> x.grad                           # ∂y/∂x
"""

from . import numpy  # noqa: F401  (chainrule.numpy, the differentiable NumPy namespace)
from ._check import GradcheckError, gradcheck, localize_fault
from ._compile import CompileWarning, compile  # noqa: A004  (chainrule.compile, like torch.compile)
from ._functional import grad, hessian, hvp, jacobian, jvp, tree_flatten, tree_unflatten, value_and_grad, vjp
from ._graph import AnomalyError, Node, Primitive, Shape, detect_anomaly, enable_grad, is_grad_enabled, no_grad
from ._tensor import Tensor, tensor
from .extend import defvjp, primitive
from .viz import cost, trace  # light: graphviz and matplotlib load only when a picture is drawn

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
