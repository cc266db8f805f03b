"""NumPy's dispatch protocols: ``np.tanh(t)`` and ``np.sum(t)`` on Tensors call chainrule's functions."""

from __future__ import annotations

import numpy as np

from . import numpy as cnp
from ._composite import _call_on_values, _holds_tensor
from ._graph import mode
from ._tensor import Tensor

_UFUNC_NAMES = {"absolute": "abs", "fabs": "abs", "true_divide": "divide", "remainder": "mod",
                "conjugate": "copy", "positive": "copy", "bitwise_not": "invert"}
_REDUCTIONS = {("add", "reduce"): "sum", ("multiply", "reduce"): "prod", ("maximum", "reduce"): "max",
               ("minimum", "reduce"): "min", ("add", "accumulate"): "cumsum",
               ("multiply", "accumulate"): "cumprod"}


def _needs_grad(values) -> bool:
    if not mode.grad_enabled:
        return False
    for v in values:
        if isinstance(v, Tensor) and v.requires_grad:
            return True
        if isinstance(v, list | tuple) and _holds_tensor(v) and _needs_grad(v):
            return True
    return False


def _wrap(result):
    if isinstance(result, np.ndarray):
        return Tensor(result)
    if isinstance(result, tuple):
        return tuple(_wrap(r) for r in result)
    if isinstance(result, list):
        return [_wrap(r) for r in result]
    return result


def array_ufunc(ufunc, method, inputs, kwargs):
    name = ufunc.__name__
    out = kwargs.pop("out", None)
    if out is not None and any(o is not None for o in out):
        raise TypeError(f"chainrule: numpy.{name}(..., out=...) cannot write into an array from a Tensor "
                        f"expression; use the result instead (e.g. y = x + t rather than x += t)")
    unsupported = {k: v for k, v in kwargs.items() if not (k == "dtype" and v is None) and k != "axis"
                   and k != "keepdims"}
    if method == "__call__":
        function = getattr(cnp, _UFUNC_NAMES.get(name, name), None)
        if unsupported:
            raise TypeError(f"chainrule: numpy.{name}: keyword arguments {sorted(unsupported)} are not "
                            f"supported on Tensors")
        if function is not None:  # gufuncs such as vecdot take axis=
            return function(*inputs, **{k: v for k, v in kwargs.items() if k in ("axis", "keepdims")})
    elif (name, method) in _REDUCTIONS:
        function = getattr(cnp, _REDUCTIONS[name, method])
        axis = kwargs.pop("axis", 0)
        if method == "reduce":
            return function(inputs[0], axis=axis, keepdims=kwargs.pop("keepdims", False))
        return function(inputs[0], axis=axis)
    if not _needs_grad(inputs):
        return _wrap(_call_on_values(getattr(ufunc, method), inputs, kwargs))
    raise TypeError(f"chainrule: no derivative rule for numpy.{name}"
                    f"{'' if method == '__call__' else '.' + method} on a Tensor that requires grad; "
                    f"see chainrule.extend to add one, or .detach() the input")


def array_function(func, args, kwargs):
    module = func.__module__ or "numpy"
    namespace = cnp.linalg if module.endswith("linalg") else cnp if module in ("numpy", "numpy._core") \
        or module.startswith("numpy._core") or module.startswith("numpy.lib") else None
    function = getattr(namespace, func.__name__, None) if namespace is not None else None
    if function is not None and function is not func:
        return function(*args, **kwargs)
    if not _needs_grad(list(args) + list(kwargs.values())):
        return _wrap(_call_on_values(func, args, kwargs))
    raise TypeError(f"chainrule: no derivative rule for {module.replace('._core', '')}.{func.__name__} "
                    f"(called on a Tensor that requires grad); see chainrule.extend to add one, or "
                    f".detach() the input")
