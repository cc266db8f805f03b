"""`Tensor`: an ndarray with a place in the computation graph."""

from __future__ import annotations

import copy
import dis
import operator
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np

from . import _graph
from ._namespace import is_floating, item, namespace, ones_like


class Tensor:
    """An array that records the operations applied to it, so that gradients can flow back.

    ``.data`` is the ndarray; ``.grad`` (after ``backward``) an ndarray of the same shape and dtype.

    >>> x = chainrule.tensor([1.0, 2.0], requires_grad=True)
    >>> (x * x).sum().backward()
    >>> x.grad
    array([2., 4.])
    """

    __slots__ = ("data", "requires_grad", "grad", "_node", "_version", "name", "_views", "__weakref__")
    __array_priority__ = 1000.0
    __hash__ = object.__hash__

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None, name: str | None = None):
        if isinstance(data, Tensor):
            data = data.data
        array = data if type(data) is np.ndarray and dtype is None else _asarray(data, dtype)
        if requires_grad and not is_floating(array):
            raise TypeError(f"chainrule.tensor: only floating-point tensors can require grad; got dtype "
                            f"{array.dtype} (use dtype=float or .astype(float) first)")
        if name is not None and not isinstance(name, str):  # (the C engine refuses other names everywhere)
            raise TypeError(f"chainrule: Tensor.name must be a str or None, not {type(name).__name__}")
        self.data = array
        self.requires_grad = bool(requires_grad)
        self.grad = self._node = None
        self._version = 0
        self.name = name

    @classmethod
    def _from_node(cls, data, node) -> Tensor:
        t = cls.__new__(cls)
        t.data, t.requires_grad, t.grad, t._node, t._version, t.name = data, True, None, node, 0, None
        return t

    # ---- properties -------------------------------------------------------------------------------
    shape = property(lambda self: self.data.shape, doc="Shape of the array.")
    dtype = property(lambda self: self.data.dtype, doc="dtype of the array.")
    ndim = property(lambda self: self.data.ndim, doc="Number of dimensions.")
    size = property(lambda self: self.data.size, doc="Number of elements.")
    T = property(lambda self: _r.transpose(self), doc="Transpose (reversed axes), differentiable.")
    mT = property(lambda self: _r.swapaxes(self, -1, -2), doc="Transpose of the last two axes.")
    is_leaf = property(lambda self: self._node is None, doc="True if no recorded operation made this.")

    def item(self) -> Any:
        """The value of a one-element tensor as a Python scalar."""
        return _python_value(self, _item, "Tensor.item()")

    def numpy(self) -> np.ndarray:
        """The underlying ndarray (no copy), for a tensor that does not require grad (as in PyTorch:
        ``t.detach().numpy()`` otherwise, so that a gradient is never dropped by accident).

        >>> chainrule.tensor([1.0, 2.0]).numpy()
        array([1., 2.])
        """
        if self.requires_grad:
            raise TypeError(f"chainrule: Tensor.numpy() on a tensor that requires grad would drop its "
                            f"gradient; use .detach().numpy() for the values{_named(self)}")
        _graph.untraceable("Tensor.numpy()")
        return self.data

    def tolist(self) -> Any:
        """The values as nested Python lists; refused while recording a tensor that requires grad (use
        ``.detach().tolist()``).

        >>> chainrule.tensor([[1.0, 2.0]]).tolist()
        [[1.0, 2.0]]
        """
        if self.requires_grad and _graph.mode.grad_enabled:
            raise TypeError(f"chainrule: Tensor.tolist() on a tensor that requires grad would drop its "
                            f"gradient; use .detach().tolist() for the values{_named(self)}")
        _graph.untraceable("Tensor.tolist()")
        return self.data.tolist()

    def detach(self) -> Tensor:
        """A new leaf Tensor sharing this data, cut from the graph."""
        return Tensor(self.data)

    def requires_grad_(self, flag: bool = True) -> Tensor:
        if self._node is not None and not flag:
            raise ValueError("chainrule: requires_grad_(False) on a non-leaf tensor; use .detach()")
        if flag and self.data.dtype.kind not in "fc":
            raise TypeError(f"chainrule: only floating-point tensors can require grad; dtype is {self.dtype}")
        self.requires_grad = bool(flag)
        return self

    def backward(self, grad: Any = None, retain_graph: bool = False, create_graph: bool = False) -> None:
        """Backpropagate from this tensor: accumulate ∂self/∂leaf into each leaf's ``.grad``.

        ``grad`` is the error signal of this tensor (required unless it has one element).
        ``create_graph=True`` records the backward pass too (leaves' ``.grad`` are then Tensors),
        for higher-order derivatives.
        """
        if not self.requires_grad:
            raise RuntimeError("chainrule: backward() on a tensor that does not require grad (no input "
                               "of its computation had requires_grad=True, or it was made under no_grad)")
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(f"chainrule: backward() on a non-scalar tensor of shape {self.shape} "
                                   f"needs grad= (the error signal, an array of that shape)")
            # (a 1-element ndarray's seed made by one C call: np.ones_like is Python and costs 6x more)
            grad = np.array(1, self.data.dtype).reshape(self.data.shape) if type(self.data) is np.ndarray \
                else ones_like(self.data)
        else:
            grad_shape = np.shape(grad.data if isinstance(grad, Tensor) else grad)
            if grad_shape != self.shape:
                raise ValueError(f"chainrule: backward(grad=...) got shape {grad_shape}, but the tensor "
                                 f"has shape {self.shape}")
            if not isinstance(grad, Tensor):
                grad = np.asarray(grad, dtype=self.dtype)
        _graph.backward_pass([self], [grad], retain_graph=retain_graph or create_graph,
                             create_graph=create_graph)

    def zero_grad(self) -> None:
        self.grad = None

    # ---- conversions ---------------------------------------------------------------------------------
    def __array__(self, dtype=None, copy=None):
        _graph.untraceable("conversion of a Tensor to a NumPy array")
        if self.requires_grad and _graph.mode.grad_enabled:
            raise TypeError(
                "chainrule: converting a Tensor that requires grad to a NumPy array would drop its "
                "gradient; use chainrule.numpy functions (e.g. chainrule.numpy.stack for lists of "
                "Tensors), or .detach().numpy() / .data if you only want the values")
        return self.data if dtype is None else self.data.astype(dtype)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method == "__call__" and not kwargs:  # (x_np @ t, np.exp(t): the function found before, directly)
            function = _UFUNC_CALLS.get(ufunc)
            if function is not None:
                return function(*inputs)
        from . import _dispatch

        return _dispatch.array_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        from . import _dispatch

        return _dispatch.array_function(func, args, kwargs)

    def __float__(self) -> float:
        # float(t) is a deliberate read of the value, as in PyTorch; but NumPy also calls __float__ for
        # `out[i] = t` into an ndarray, which would silently cut t from the graph.
        if self.requires_grad and _graph.mode.grad_enabled and _storing_into_an_array(sys._getframe(1)):
            raise TypeError(
                f"chainrule: writing a Tensor that requires grad into a NumPy array (out[i] = t) would drop "
                f"its gradient{_named(self)}; collect the pieces in a list and combine them with "
                f"chainrule.numpy.stack / concatenate, write into a Tensor instead, or store t.detach()")
        if self.data.size != 1:
            raise TypeError(f"chainrule: float() of a tensor of shape {self.shape}: only one-element tensors "
                            f"convert to Python scalars")
        return _python_value(self, _as_float, "float(tensor)")

    def __int__(self) -> int:
        return _python_value(self, int, "int(tensor)")

    def __index__(self) -> int:
        return _python_value(self, operator.index, "a Tensor used as an index")

    def __bool__(self) -> bool:
        return _python_value(self, bool, "bool(tensor) (Python control flow on a value)")

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("chainrule: len() of a 0-d tensor")
        return len(self.data)

    def __iter__(self) -> Iterator[Tensor]:
        if self.data.ndim == 0:
            raise TypeError("chainrule: iteration over a 0-d tensor")
        return (self[i] for i in range(len(self.data)))

    def __repr__(self) -> str:
        numpy_data = isinstance(self.data, np.ndarray | np.generic)
        if not numpy_data:
            from ._namespace import on_host
        body = np.array2string(self.data if numpy_data else on_host(self.data), separator=", ", prefix="tensor(")
        extras = []
        if not isinstance(self.data.dtype, np.dtype) or self.data.dtype not in (np.float64, np.int64, bool):
            extras.append(f"dtype={self.data.dtype}")
        device = None if numpy_data else getattr(self.data, "device", None)
        if device is not None and "cpu" not in str(device).lower():
            extras.append(f"device={device}")
        if self._node is not None:
            extras.append(f"grad_fn={self._node.primitive.name}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        if self.name:
            extras.append(f"name={self.name!r}")
        return f"tensor({body}{''.join(', ' + e for e in extras)})"

    def _repr_html_(self) -> str:  # Jupyter's rich display (rendering lives in chainrule/viz/_rich.py)
        from .viz._rich import tensor_html
        return tensor_html(self)

    def __copy__(self) -> Tensor:
        return _r.copy(self)

    def __deepcopy__(self, memo) -> Tensor:
        if self._node is not None:
            raise RuntimeError(
                "chainrule: copy.deepcopy of a tensor computed by recorded operations (a non-leaf) cannot copy "
                "its place in the graph; deep-copy the leaves (e.g. the model's parameters), or copy "
                "t.detach() for the values")
        t = Tensor(self.data.copy(), requires_grad=self.requires_grad, name=self.name)
        if self.grad is not None:
            t.grad = copy.deepcopy(self.grad, memo)
        memo[id(self)] = t
        return t

    # ---- arithmetic ----------------------------------------------------------------------------------
    def __add__(self, other):
        return _r.add(self, other)

    def __radd__(self, other):
        return _r.add(other, self)

    def __sub__(self, other):
        return _r.subtract(self, other)

    def __rsub__(self, other):
        return _r.subtract(other, self)

    def __mul__(self, other):
        return _r.multiply(self, other)

    def __rmul__(self, other):
        return _r.multiply(other, self)

    def __truediv__(self, other):
        return _r.divide(self, other)

    def __rtruediv__(self, other):
        return _r.divide(other, self)

    def __pow__(self, other):
        return _r.power(self, other)

    def __rpow__(self, other):
        return _r.power(other, self)

    def __matmul__(self, other):
        return _r.matmul(self, other)

    def __rmatmul__(self, other):
        return _r.matmul(other, self)

    def __mod__(self, other):
        return _r.mod(self, other)

    def __rmod__(self, other):
        return _r.mod(other, self)

    def __floordiv__(self, other):
        return _r.floor_divide(self, other)

    def __rfloordiv__(self, other):
        return _r.floor_divide(other, self)

    def __neg__(self):
        return _r.negative(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _r.abs(self)

    def __eq__(self, other):  # type: ignore[override]
        return _r.equal(self, other)

    def __ne__(self, other):  # type: ignore[override]
        return _r.not_equal(self, other)

    def __lt__(self, other):
        return _r.less(self, other)

    def __le__(self, other):
        return _r.less_equal(self, other)

    def __gt__(self, other):
        return _r.greater(self, other)

    def __ge__(self, other):
        return _r.greater_equal(self, other)

    def __invert__(self):
        return _r.logical_not(self) if self.dtype == bool else _r.invert(self)

    def __and__(self, other):
        return _r.logical_and(self, other)

    def __or__(self, other):
        return _r.logical_or(self, other)

    def __xor__(self, other):
        return _r.logical_xor(self, other)

    # ---- in-place operators and assignment -----------------------------------------------------------
    def __iadd__(self, other):
        return self._assign_result(_r.add, other)

    def __isub__(self, other):
        return self._assign_result(_r.subtract, other)

    def __imul__(self, other):
        return self._assign_result(_r.multiply, other)

    def __itruediv__(self, other):
        return self._assign_result(_r.divide, other)

    def __ipow__(self, other):
        return self._assign_result(_r.power, other)

    def __imatmul__(self, other):
        return self._assign_result(_r.matmul, other)

    def _recording_with(self, other) -> bool:
        if not _graph.mode.grad_enabled:
            return False
        if self.requires_grad:
            if self._node is None:
                raise RuntimeError(
                    "chainrule: in-place operation on a leaf tensor that requires grad; do it under "
                    "chainrule.no_grad() (e.g. a parameter update), or on a copy")
            return True
        return isinstance(other, Tensor) and other.requires_grad

    # An in-place write changes this tensor's memory, which its base and views share (chainrule._views):
    # while recording, every one of them gets a node for its new value; otherwise only the values change.
    def _assign_result(self, primitive, other) -> Tensor:
        if self._recording_with(other):
            self._record_write(primitive(self, other))
            return self
        with _graph.no_grad():
            result = primitive(self.data, other.data if isinstance(other, Tensor) else other)
        result = np.asarray(result)
        if result.shape != self.data.shape:
            raise ValueError(f"chainrule: in-place {primitive.name} would change the shape from "
                             f"{self.data.shape} to {result.shape}")
        self._write(Ellipsis, result)
        return self

    def __setitem__(self, index, value) -> None:
        index = _unwrap_index(index)
        if self._recording_with(value):
            self._record_write(_r.setitem(self, index, value))
            return
        self._write(index, value.data if isinstance(value, Tensor) else value)

    def _write(self, index, value) -> None:
        _graph.untraceable("an in-place write into a Tensor")
        _views.write_values(self, index, value)

    def _record_write(self, result: Tensor) -> None:
        _graph.untraceable("an in-place write into a Tensor")
        if result.data.dtype != self.data.dtype:
            result = _r.astype(result, self.data.dtype)
        if result.shape != self.shape:
            raise ValueError(f"chainrule: in-place operation would change the shape from {self.shape} to "
                             f"{result.shape}")
        _views.record_write(self, result)

    def __getitem__(self, index):
        return _r.getitem(self, _unwrap_index(index))

    # ---- ndarray methods -----------------------------------------------------------------------------
    def sum(self, axis=None, dtype=None, keepdims=False):
        return _r.sum(self if dtype is None else self.astype(dtype), axis=axis, keepdims=keepdims)

    def mean(self, axis=None, dtype=None, keepdims=False):
        return _r.mean(self if dtype is None else self.astype(dtype), axis=axis, keepdims=keepdims)

    def var(self, axis=None, ddof=0, keepdims=False):
        return _r.var(self, axis=axis, ddof=ddof, keepdims=keepdims)

    def std(self, axis=None, ddof=0, keepdims=False):
        return _r.std(self, axis=axis, ddof=ddof, keepdims=keepdims)

    def prod(self, axis=None, keepdims=False):
        return _r.prod(self, axis=axis, keepdims=keepdims)

    def max(self, axis=None, keepdims=False):
        return _r.max(self, axis=axis, keepdims=keepdims)

    def min(self, axis=None, keepdims=False):
        return _r.min(self, axis=axis, keepdims=keepdims)

    def argmax(self, axis=None, keepdims=False):
        return _on_values(np.argmax, self, axis=axis, keepdims=keepdims)

    def argmin(self, axis=None, keepdims=False):
        return _on_values(np.argmin, self, axis=axis, keepdims=keepdims)

    def argsort(self, axis=-1, kind=None):
        return _on_values(np.argsort, self, axis=axis, kind=kind)

    def cumsum(self, axis=None):
        return _r.cumsum(self, axis=axis)

    def cumprod(self, axis=None):
        return _r.cumprod(self, axis=axis)

    def any(self, axis=None, keepdims=False):
        return _on_values(np.any, self, axis=axis, keepdims=keepdims)

    def all(self, axis=None, keepdims=False):
        return _on_values(np.all, self, axis=axis, keepdims=keepdims)

    def reshape(self, *shape, order="C"):
        if len(shape) == 1 and not isinstance(shape[0], int):
            shape = shape[0]
        return _r.reshape(self, shape, order=order)

    def transpose(self, *axes):
        if len(axes) == 1 and (axes[0] is None or not isinstance(axes[0], int)):
            axes = axes[0]
        return _r.transpose(self, axes or None)

    def swapaxes(self, axis1, axis2):
        return _r.swapaxes(self, axis1, axis2)

    def squeeze(self, axis=None):
        return _r.squeeze(self, axis)

    def flatten(self):
        return _r.reshape(self, (-1,))

    def ravel(self):
        return _r.reshape(self, (-1,))

    def astype(self, dtype, copy=True):
        return _r.astype(self, dtype)

    def copy(self):
        return _r.copy(self)

    def clip(self, min=None, max=None):
        return _r.clip(self, min, max)

    def dot(self, other):
        return _r.dot(self, other)

    def round(self, decimals=0):
        return _r.round(self, decimals)

    def repeat(self, repeats, axis=None):
        return _r.repeat(self, repeats, axis)

    def take(self, indices, axis=None):
        return _r.take(self, indices, axis)

    def diagonal(self, offset=0, axis1=0, axis2=1):
        return _r.diagonal(self, offset, axis1, axis2)

    def trace(self, offset=0, axis1=0, axis2=1):
        return _r.trace(self, offset, axis1, axis2)

    def conj(self):
        return _r.conj(self)

    def fill(self, value) -> None:
        self[...] = value

    # elementwise math as methods, for code written against tensors (x.exp(), x.tanh(), ...)
    def exp(self):
        return _r.exp(self)

    def log(self):
        return _r.log(self)

    def sqrt(self):
        return _r.sqrt(self)

    def tanh(self):
        return _r.tanh(self)

    def sigmoid(self):
        return _r.sigmoid(self)

    def relu(self):
        return _r.relu(self)

    def abs(self):
        return _r.abs(self)


_STORE_SUBSCR = dis.opmap["STORE_SUBSCR"]


def _storing_into_an_array(frame) -> bool:
    """Whether the Python code in ``frame`` is executing ``container[index] = value`` right now (NumPy's
    item assignment calls ``__float__`` from C, so the caller's frame is the user's own)."""
    return frame is not None and frame.f_code.co_code[frame.f_lasti] == _STORE_SUBSCR


def _named(t: Tensor) -> str:
    return f" (tensor {t.name!r})" if t.name else ""


def _asarray(data, dtype) -> np.ndarray:
    if namespace(data) is not np:  # another array library's array (array API): kept in its library
        return data if dtype is None else namespace(data).astype(data, dtype)
    if isinstance(data, list | tuple) and _contains_tensor(data):
        raise TypeError("chainrule.tensor: got a list containing Tensors; use chainrule.numpy.stack (or "
                        "chainrule.numpy.array) to keep their gradients")
    try:
        array = np.asarray(data, dtype=dtype)
    except (TypeError, ValueError) as error:
        raise TypeError(f"chainrule.tensor: cannot make an array from {type(data).__name__}: {error}") from None
    if array.dtype == object:
        raise TypeError(f"chainrule.tensor: cannot make a numeric array from {type(data).__name__} "
                        f"(got dtype=object: ragged nested lists?)")
    return array


def _contains_tensor(items) -> bool:
    stack = [items]
    while stack:
        item = stack.pop()
        if isinstance(item, Tensor):
            return True
        if isinstance(item, list | tuple):
            stack.extend(item)
    return False


def _python_value(t: Tensor, convert, what: str):
    """``convert(t.data)``, a value leaving the graph for Python; while chainrule.compile traces, a decision
    its replay checks again."""
    tape = _graph.mode.tape
    return convert(t.data) if tape is None else tape.python_value(t.data, convert, what)


def _on_values(function, t: Tensor, **kwargs) -> Tensor:
    """``function`` (indices, tests: no gradient) on the values of ``t``, as a Tensor; compile's tracer records it."""
    from ._composite import _call_on_values

    return Tensor(_call_on_values(function, (t,), kwargs, as_array=True))


def _item(array: Any) -> Any:
    return array.item() if hasattr(array, "item") else item(array)  # the array API has no .item()


def _as_float(array: np.ndarray) -> float:
    return float(array.reshape(()))


def _unwrap_index(index):
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in index)
    if isinstance(index, list) and any(isinstance(i, Tensor) for i in index):
        return [i.data if isinstance(i, Tensor) else i for i in index]
    return index


def tensor(data: Any, requires_grad: bool = False, dtype: Any = None, name: str | None = None,
           device: Any = None) -> Tensor:
    """Make a Tensor from array-like ``data``; with ``device`` (``"cpu"``, ``"cuda"``, ``"cuda:N"`` or an
    array library's device object, as for ``Module.to``) its array is put there first.

    >>> w = chainrule.tensor([[1.0, 2.0]], requires_grad=True, name="w")
    >>> import array_api_strict as strict
    >>> chainrule.tensor([1.0, 2.0], device=strict.Device("device1")).data.device
    array_api_strict.Device('device1')
    """
    if device is not None:
        from ._namespace import to_device

        data = data.data if isinstance(data, Tensor) else data
        if isinstance(data, list | tuple | int | float | complex | np.ndarray | np.generic):
            data, dtype = np.asarray(data, dtype=dtype), None  # (the dtype given in NumPy's terms)
        data = to_device(data, device)
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, name=name)


# ufunc -> the chainrule function a plain call of it on Tensors goes to (filled by _dispatch.array_ufunc)
_UFUNC_CALLS: dict = {}

from . import _views  # noqa: E402
from . import numpy as _r  # noqa: E402

# The arithmetic operators above, each `return _r.<name>(self, other)` (or `(other, self)`): the C engine
# makes the same call without a Python frame (chainrule._cengine.Operator looks the primitive up in
# chainrule.numpy at each call, as these methods do).
_OPERATORS = {"__add__": "add", "__sub__": "subtract", "__mul__": "multiply", "__truediv__": "divide",
              "__pow__": "power", "__matmul__": "matmul"}
if _graph._C is not None:
    for _dunder, _name in _OPERATORS.items():
        setattr(Tensor, _dunder, _graph._C.Operator(_r, _name))
        setattr(Tensor, _dunder.replace("__", "__r", 1), _graph._C.Operator(_r, _name, reflected=True))
    Tensor.__neg__ = _graph._C.Operator(_r, "negative", unary=True)
