"""The array module an array belongs to: NumPy, or any library with the array API standard's
``__array_namespace__`` (array_api_strict, CuPy ≥ 13, ...).

Rules and forward functions are written with NumPy's names (``xp(x).arcsin``). For a NumPy array `namespace`
returns NumPy itself. For another library it returns an `ArrayNamespace`: NumPy's name is looked up in that
library first (CuPy has NumPy's names), then under the standard's spelling (``asin``, ``pow``, ``concat``,
``permute_dims``, ...); a function that neither has raises `NamespaceError`, "``<name>`` is not available for
<library>", instead of computing on the wrong library or converting device data to NumPy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

# NumPy's name -> the array API standard's (2023.12) name for the same function
STANDARD_NAMES = {
    "arcsin": "asin", "arccos": "acos", "arctan": "atan", "arctan2": "atan2", "arcsinh": "asinh",
    "arccosh": "acosh", "arctanh": "atanh", "power": "pow", "absolute": "abs", "concatenate": "concat",
    "transpose": "permute_dims", "invert": "bitwise_invert", "left_shift": "bitwise_left_shift",
    "right_shift": "bitwise_right_shift", "bool_": "bool", "true_divide": "divide",
}


def _reshape(module: Any):
    def reshape(x: Any, shape: Any, order: str = "C") -> Any:
        if order != "C":
            raise NamespaceError(f"chainrule: reshape(order={order!r}) is not available for {module.__name__} "
                                 f"(the array API reshapes in C order only)")
        return module.reshape(x, tuple(shape) if isinstance(shape, list | tuple) else (shape,))

    return reshape


def _transpose(module: Any):
    def transpose(x: Any, axes: Any = None) -> Any:
        return module.permute_dims(x, tuple(reversed(range(x.ndim))) if axes is None else tuple(axes))

    return transpose


def _array(module: Any):
    def array(x: Any, dtype: Any = None, copy: bool = True) -> Any:
        return module.asarray(x, dtype=dtype, copy=copy)

    return array


# NumPy functions whose signature differs from the standard's: an adapter with NumPy's signature
ADAPTERS = {"reshape": _reshape, "transpose": _transpose, "array": _array}


class NamespaceError(TypeError):
    """A function the computation needs does not exist in the inputs' array library."""


class ArrayNamespace:
    """NumPy's spelling of an array-API library's functions (see the module docstring).

    >>> import array_api_strict as strict
    >>> xp = namespace(strict.asarray([0.5]))
    >>> xp.arcsin is strict.asin, xp
    (True, ArrayNamespace(array_api_strict))
    """

    def __init__(self, module: Any) -> None:
        self.module = module
        self.name = getattr(module, "__name__", type(module).__name__)

    def __getattr__(self, name: str) -> Any:
        module = self.__dict__["module"]
        if name in ADAPTERS:
            value = ADAPTERS[name](module)
            self.__dict__[name] = value  # built once per library
            return value
        value = getattr(module, name, None)
        if value is None and name in STANDARD_NAMES:
            value = getattr(module, STANDARD_NAMES[name], None)
        if value is None:
            raise NamespaceError(f"chainrule: `{name}` is not available for {self.__dict__['name']} (it is not "
                                 f"in the array API standard that library implements); use NumPy arrays for it")
        return value

    def __repr__(self) -> str:
        return f"ArrayNamespace({self.name})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ArrayNamespace) and other.module is self.module

    __hash__ = object.__hash__


_CACHE: dict[int, ArrayNamespace] = {}  # one wrapper per library module (modules live as long as the process)


def _data(a: Any) -> Any:
    return a.data if hasattr(a, "_node") and hasattr(a, "requires_grad") else a  # a Tensor's array


def namespace(*arrays: Any) -> Any:
    """The array module of ``arrays`` (arrays, Tensors, numbers): NumPy unless one of them belongs to
    another array-API library, whose `ArrayNamespace` is returned. Arrays of two different non-NumPy
    libraries are an error.

    >>> import chainrule.extend
    >>> chainrule.extend.xp(np.ones(2), 3.0) is np     # chainrule.extend.xp is this function
    True
    >>> chainrule.extend.xp(chainrule.tensor([1.0])) is np    # a Tensor's array's library
    True
    """
    found = None
    for a in arrays:
        if type(a) is np.ndarray:  # the common case first: this runs in every forward function
            continue
        a = _data(a)
        if type(a) is np.ndarray or a is None or isinstance(a, np.generic | int | float | complex | bool):
            continue
        get = getattr(type(a), "__array_namespace__", None)
        if get is None:
            if type(a).__module__.startswith("cupy"):  # CuPy before 13 has NumPy's API but no __array_namespace__
                import cupy

                return cupy
            continue
        module = a.__array_namespace__()
        if module is np:
            continue
        wrapper = _CACHE.get(id(module))
        if wrapper is None:
            wrapper = _CACHE.setdefault(id(module), ArrayNamespace(module))
        if found is not None and found is not wrapper:
            raise NamespaceError(f"chainrule: arrays of two libraries in one operation ({found.name} and "
                                 f"{wrapper.name}); convert one of them first")
        found = wrapper
    return np if found is None else found


def is_numpy(array: Any) -> bool:
    """True for NumPy arrays and scalars (the arrays the engine can lock and version)."""
    return isinstance(_data(array), np.ndarray | np.generic)


def is_floating(array: Any) -> bool:
    """True if the dtype of ``array`` (an array, a Tensor, or anything with a ``dtype``) is real or complex
    floating point, in any namespace.

    >>> is_floating(np.ones(2)), is_floating(np.arange(2))
    (True, False)
    """
    dtype = _data(array).dtype
    if isinstance(dtype, np.dtype):
        return dtype.kind in "fc"
    # the standard's dtypes carry no reference to their library; its names are fixed: float32/64, complex64/128
    return str(dtype).rsplit(".", 1)[-1].startswith(("float", "complex"))


def ones_like(array: Any) -> Any:
    """An array of ones of ``array``'s shape, dtype and namespace (the seed of a backward pass)."""
    return namespace(array).ones_like(_data(array))


def zeros_like(array: Any) -> Any:
    """An array of zeros of ``array``'s shape, dtype and namespace."""
    return namespace(array).zeros_like(_data(array))


def asarray(value: Any, dtype: Any = None) -> Any:
    """``numpy.asarray(value, dtype)``, except that another array library's array stays in its library
    (cast with its ``astype`` when ``dtype`` differs).

    >>> asarray([1, 2], dtype=np.float64)
    array([1., 2.])
    """
    xp = namespace(value)
    if xp is np:
        return np.asarray(value, dtype=dtype)
    value = _data(value)
    return value if dtype is None or value.dtype == dtype else xp.astype(value, dtype)


def unavailable(primitive: str, part: str, error: Exception, arrays: Any) -> None:
    """Called with the error a primitive's forward function or derivative rule raised: when its arrays
    belong to another library, raise `NamespaceError` saying that the primitive is not available for it
    (its code needs NumPy beyond the array API standard); otherwise return and let the error be."""
    if isinstance(error, NamespaceError):
        raise error
    try:
        xp = namespace(*arrays)
    except NamespaceError:
        return
    if xp is not np:
        raise NamespaceError(f"chainrule: `{primitive}` is not available for {xp.name}: its {part} needs NumPy "
                             f"beyond the array API standard ({type(error).__name__}: {error})") from None


DEVICES = ("cpu", "cuda")


def to_device(array: Any, device: str) -> Any:
    """``array`` on ``device``: ``"cpu"`` gives a NumPy array (from any library, through ``.get()`` for CuPy
    or DLPack), ``"cuda"`` a CuPy array (needs CuPy and an NVIDIA GPU; untested: no GPU was available).

    >>> to_device(np.ones(2), "cpu")
    array([1., 1.])
    """
    if device not in DEVICES:
        raise ValueError(f"chainrule: unknown device {device!r}; expected one of {', '.join(DEVICES)}")
    if device == "cpu":
        if isinstance(array, np.ndarray):
            return array
        if type(array).__module__.startswith("cupy"):
            return array.get()
        try:
            return np.from_dlpack(array)
        except (TypeError, AttributeError, RuntimeError, BufferError):
            return np.asarray(array)
    try:
        import cupy
    except ImportError:
        raise NamespaceError("chainrule: device 'cuda' needs CuPy, which is not installed (pip install "
                             "cupy-cuda12x, with an NVIDIA GPU and its driver)") from None
    return cupy.asarray(array)


def item(array: Any) -> Any:
    """The value of a one-element array of any library as a Python number (the standard has no
    ``.item()``; it converts 0-d arrays with ``float``/``int``/``complex``/``bool``).

    >>> item(np.array([2.5]))
    2.5
    """
    array = _data(array)
    if isinstance(array, np.ndarray | np.generic):
        return array.item()
    if array.size != 1:
        raise ValueError(f"chainrule: item() needs an array of one element; got shape {tuple(array.shape)}")
    scalar = namespace(array).reshape(array, ())
    name = str(array.dtype).rsplit(".", 1)[-1]
    convert = complex if name.startswith("complex") else float if name.startswith("float") else \
        bool if name == "bool" else int
    return convert(scalar)


def require_numpy(function: str, *arrays: Any) -> None:
    """Raise `NamespaceError` if ``arrays`` belong to another library: for functions written for NumPy only.

    >>> require_numpy("piecewise", np.ones(2))
    """
    xp = namespace(*arrays)
    if xp is not np:
        raise NamespaceError(f"chainrule: `{function}` is not available for {xp.name} (it is written for NumPy "
                             f"arrays only)")
