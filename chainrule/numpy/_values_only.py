"""NumPy functions whose results carry no gradient (indices, tests, shapes, constant-valued arrays).

They run on the Tensors' values; an array result comes back as a Tensor without a graph, which is the
right derivative for them: their results are integers or booleans, or do not depend on the input values.
"""

import builtins
import functools

import numpy as np

from .._composite import _call_on_values, _holds_tensor
from .._tensor import Tensor

NAMES = (
    "all", "any", "allclose", "argmax", "argmin", "argpartition", "argsort", "argwhere", "array_equal",
    "array_equiv", "count_nonzero", "digitize", "empty_like", "flatnonzero", "full_like",
    "isclose", "iscomplexobj", "isreal", "isscalar", "ndim", "nonzero", "ones_like", "result_type",
    "searchsorted", "shape", "signbit", "size", "unique", "unravel_index", "zeros_like",
)


def values_only(function):
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        tensors = builtins.any(  # this module's own `any` is numpy.any's wrapper
            isinstance(a, Tensor) or (isinstance(a, list | tuple) and _holds_tensor(a)) for a in args)
        result = _call_on_values(function, args, kwargs)  # recorded by compile's tracer
        return Tensor(result) if tensors and isinstance(result, np.ndarray) else result

    wrapper.__doc__ = None  # NumPy's examples are not chainrule's: chainrule._examples writes its own
    wrapper._values_only = True
    return wrapper


for _name in NAMES:
    globals()[_name] = values_only(getattr(np, _name))

__all__ = list(NAMES)
