"""NumPy's dispatch protocols: ``np.tanh(t)`` and ``np.sum(t)`` on Tensors call chainrule's functions.

A NumPy function ``numpy.X.f`` (or a SciPy ufunc ``scipy.special.f``) called on a Tensor runs the function
of the same name in the matching chainrule namespace (:mod:`chainrule.numpy`, ``chainrule.numpy.linalg``,
``chainrule.numpy.fft``, ``chainrule.scipy.special``); those namespaces get their primitives' names from the
registry (:mod:`chainrule._registry`), so a registered public name is dispatched with no edit here.
"""

from __future__ import annotations

import sys
from importlib import import_module

import numpy as np

from ._composite import _call_on_values, _holds_tensor, _values
from ._graph import mode
from ._tensor import _UFUNC_CALLS, Tensor

# ufunc methods that are differentiable functions of chainrule.numpy
_METHODS = {("add", "reduce"): "sum", ("multiply", "reduce"): "prod", ("maximum", "reduce"): "max",
            ("minimum", "reduce"): "min", ("add", "accumulate"): "cumsum", ("multiply", "accumulate"): "cumprod"}


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


def _chainrule_namespace(space: str):
    """chainrule's module for the public namespace ``space`` ("numpy", "numpy.linalg", "scipy.special")."""
    module = sys.modules.get(f"chainrule.{space}")
    return module if module is not None else import_module(f"chainrule.{space}")


def _ufunc_home(ufunc) -> str:
    """Where a ufunc comes from: "numpy", or "scipy.special" for SciPy's (``scipy.special.erf``)."""
    name = ufunc.__name__
    if getattr(np, name, None) is ufunc:
        return "numpy"
    special = sys.modules.get("scipy.special")
    if special is not None and ufunc in (getattr(special, name, None), getattr(special._ufuncs, name, None)):
        return "scipy.special"  # (its private ufuncs too: scipy.special.zeta calls _zeta)
    return "numpy"


def array_ufunc(ufunc, method, inputs, kwargs):
    name = ufunc.__name__
    home = _ufunc_home(ufunc)
    out = kwargs.pop("out", None)
    if out is not None and any(o is not None for o in out):
        raise TypeError(f"chainrule: {home}.{name}(..., out=...) cannot write into an array from a Tensor "
                        f"expression; use the result instead (e.g. y = x + t rather than x += t)")
    unsupported = {k: v for k, v in kwargs.items() if not (k == "dtype" and v is None) and k != "axis"
                   and k != "keepdims"}
    if method == "__call__":
        function = getattr(_chainrule_namespace(home), name, None)
        if unsupported:
            raise TypeError(f"chainrule: {home}.{name}: keyword arguments {sorted(unsupported)} are not "
                            f"supported on Tensors")
        if function is not None:  # gufuncs such as vecdot take axis=
            if not kwargs:
                _UFUNC_CALLS[ufunc] = function  # (Tensor.__array_ufunc__ calls it directly from now on)
            return function(*inputs, **{k: v for k, v in kwargs.items() if k in ("axis", "keepdims")})
    elif (name, method) in _METHODS and home == "numpy":
        function = getattr(_chainrule_namespace("numpy"), _METHODS[name, method])
        axis = kwargs.pop("axis", 0)
        if method == "reduce":
            return function(inputs[0], axis=axis, keepdims=kwargs.pop("keepdims", False))
        return function(inputs[0], axis=axis)
    elif method == "accumulate" and name in ("maximum", "minimum") and home == "numpy":
        return _running_extremum(ufunc, inputs[0], kwargs.pop("axis", 0))
    elif method == "outer" and home == "numpy" and getattr(_chainrule_namespace("numpy"), name, None):
        a, b = inputs
        shape_a = getattr(a, "shape", ())
        a = _chainrule_namespace("numpy").reshape(a, tuple(shape_a) + (1,) * len(getattr(b, "shape", ())))
        return getattr(_chainrule_namespace("numpy"), name)(a, b)
    elif method == "at" and name in ("add", "subtract") and home == "numpy" and isinstance(inputs[0], Tensor):
        return _add_at(inputs[0], inputs[1], inputs[2] if len(inputs) > 2 else 1.0, negate=name == "subtract")
    if not _needs_grad(inputs):
        return _wrap(_call_on_values(getattr(ufunc, method), inputs, kwargs))
    raise TypeError(f"chainrule: no derivative rule for {home}.{name}"
                    f"{'' if method == '__call__' else '.' + method} on a Tensor that requires grad; "
                    f"see chainrule.extend to add one, or .detach() the input")


def _running_extremum(ufunc, x, axis):
    """``np.maximum.accumulate``: each output is the input element that holds the running extremum (the
    latest one among ties), gathered, so the gradient flows to it."""
    cnp = _chainrule_namespace("numpy")
    values = _values(x)
    if np.iscomplexobj(values):
        raise TypeError(f"chainrule: numpy.{ufunc.__name__}.accumulate: complex inputs are not supported (complex "
                        f"numbers have no order)")
    axis = axis % values.ndim
    running = ufunc.accumulate(values, axis=axis)
    positions = np.arange(values.shape[axis]).reshape((-1,) + (1,) * (values.ndim - 1 - axis))
    holder = np.maximum.accumulate(np.where(values == running, positions, 0), axis=axis)
    return cnp.take_along_axis(x, holder, axis)


def _add_at(target: Tensor, indices, values, negate: bool):
    """``np.add.at(t, i, v)`` on a Tensor: in place, repeated indices accumulating (recorded like ``t += ...``)."""
    from ._rules import broadcast_to, negative, scatter

    indices = _values(indices) if not isinstance(indices, tuple) else tuple(_values(i) for i in indices)
    shape = target.data[indices].shape
    values = broadcast_to(values, shape) if getattr(values, "shape", ()) != shape else values
    values = negative(values) if negate else values
    target += scatter(values, indices, target.shape, target.dtype)
    return None


def _function_home(func) -> str | None:
    """The public namespace of a NumPy function ("numpy", "numpy.linalg", "numpy.fft"), or None."""
    module = func.__module__ or "numpy"
    for space in ("numpy.linalg", "numpy.fft"):
        if module == space or module.startswith(space + "."):
            return space
    if module == "numpy" or module.startswith(("numpy._core", "numpy.lib", "numpy.core")):
        return "numpy"
    return None


def array_function(func, args, kwargs):
    home = _function_home(func)
    function = getattr(_chainrule_namespace(home), func.__name__, None) if home is not None else None
    if function is not None and function is not func:
        return function(*args, **kwargs)
    if not _needs_grad(list(args) + list(kwargs.values())):
        return _wrap(_call_on_values(func, args, kwargs))
    where = home or (func.__module__ or "numpy").replace("._core", "")
    raise TypeError(f"chainrule: no derivative rule for {where}.{func.__name__} "
                    f"(called on a Tensor that requires grad); see chainrule.extend to add one, or "
                    f".detach() the input")
