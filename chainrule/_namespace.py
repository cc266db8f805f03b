"""The array module an array belongs to: NumPy, or any library with the array API standard's
``__array_namespace__`` (array_api_strict, CuPy ≥ 13, ...).

Rules and forward functions are written with NumPy's names (``xp(x).arcsin``). For a NumPy array `namespace`
returns NumPy itself. For another library it returns an `ArrayNamespace`: NumPy's name is looked up in that
library first (CuPy has NumPy's names), then under the standard's spelling (``asin``, ``pow``, ``concat``,
``permute_dims``, ...); a function that neither has raises `NamespaceError`, "``<name>`` is not available for
<library>", instead of computing on the wrong library or converting device data to NumPy.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import math
from typing import Any

import numpy as np

# NumPy's name -> the array API standard's (2023.12) name for the same function
STANDARD_NAMES = {
    "arcsin": "asin", "arccos": "acos", "arctan": "atan", "arctan2": "atan2", "arcsinh": "asinh",
    "arccosh": "acosh", "arctanh": "atanh", "power": "pow", "absolute": "abs", "concatenate": "concat",
    "transpose": "permute_dims", "invert": "bitwise_invert", "left_shift": "bitwise_left_shift",
    "right_shift": "bitwise_right_shift", "bool_": "bool", "true_divide": "divide", "mod": "remainder",
    "conjugate": "conj",
}


def _reshape(module: Any):
    def reshape(x: Any, shape: Any, order: str = "C") -> Any:
        if order != "C":
            raise NamespaceError(f"chainrule: reshape(order={order!r}) is not available for {module.name} "
                                 f"(the array API reshapes in C order only)")
        return module.module.reshape(x, tuple(shape) if isinstance(shape, list | tuple) else (shape,))

    return reshape


def _transpose(module: Any):
    def transpose(x: Any, axes: Any = None) -> Any:
        return module.permute_dims(x, tuple(reversed(range(x.ndim))) if axes is None else tuple(axes))

    return transpose


def _array(module: Any):
    def array(x: Any, dtype: Any = None, copy: bool = True) -> Any:
        return module.asarray(x, dtype=dtype, copy=copy)

    return array


def _flip(module: Any):
    def flip(x: Any, axis: Any = None) -> Any:
        return module.module.flip(x, axis=tuple(axis) if isinstance(axis, list) else axis)

    return flip


def _roll(module: Any):
    def roll(x: Any, shift: Any, axis: Any = None) -> Any:
        return module.module.roll(x, shift=tuple(shift) if isinstance(shift, list) else shift,
                           axis=tuple(axis) if isinstance(axis, list) else axis)

    return roll


def _tensordot(module: Any):
    def tensordot(a: Any, b: Any, axes: Any = 2) -> Any:
        if not isinstance(axes, int):
            axes = tuple(tuple(ax) if isinstance(ax, list | tuple) else (ax,) for ax in axes)
        return module.module.tensordot(a, b, axes=axes)

    return tensordot


def _clip(module: Any):
    def clip(x: Any, lo: Any = None, hi: Any = None) -> Any:
        return module.module.clip(x, lo, hi)  # (positional: the standard's min/max, NumPy's and CuPy's a_min/a_max)

    return clip


def _round(module: Any):
    def round(x: Any, decimals: int = 0) -> Any:  # noqa: A001
        if decimals:
            raise NamespaceError(f"chainrule: round(decimals={decimals}) is not available for {module.name} "
                                 f"(the array API rounds to integers only)")
        return module.module.round(x)

    return round


def _cumulative(standard: str):
    def adapter(module: Any):
        function = getattr(module, standard)

        def cumulative(x: Any, axis: Any = None) -> Any:  # NumPy's: axis=None runs over the flattened array
            return function(module.reshape(x, (-1,)), axis=0) if axis is None else function(x, axis=axis)

        return cumulative

    return adapter


# NumPy functions whose signature differs from the standard's: an adapter with NumPy's signature
ADAPTERS = {"reshape": _reshape, "transpose": _transpose, "array": _array, "flip": _flip, "roll": _roll,
            "tensordot": _tensordot, "clip": _clip, "round": _round}


# NumPy functions the standard lacks but that are short identities in its terms (the same values as NumPy's,
# to rounding): written once here, so the rules keep NumPy's names
def _exp2(m: Any):
    return lambda x: m.pow(2.0, x)


def _deg2rad(m: Any):
    return lambda x: x * (math.pi / 180)


def _rad2deg(m: Any):
    return lambda x: x * (180 / math.pi)


def _cbrt(m: Any):
    return lambda x: m.sign(x) * m.abs(x) ** (1 / 3)


def _logaddexp2(m: Any):
    return lambda x, y: m.logaddexp(x * _LN2, y * _LN2) / _LN2


def _fmax(m: Any):  # the maximum that ignores NaN
    return lambda x, y: m.where(m.isnan(y), x, m.where(m.isnan(x), y, m.maximum(x, y)))


def _fmin(m: Any):
    return lambda x, y: m.where(m.isnan(y), x, m.where(m.isnan(x), y, m.minimum(x, y)))


def _fmod(m: Any):  # C's fmod: the sign of x; |x| mod |y| is exact, as fmod is
    return lambda x, y: m.copysign(m.remainder(m.abs(x), m.abs(y)), x)


def _sinc(m: Any):  # sin(πx)/(πx), 1 at 0: NumPy's own formula
    def sinc(x: Any) -> Any:
        y = math.pi * m.where(x == 0, 1.0e-20, x)
        return m.sin(y) / y

    return sinc


def _angle(m: Any):
    def angle(z: Any, deg: bool = False) -> Any:
        if m.isdtype(z.dtype, "complex floating"):
            a = m.atan2(m.imag(z), m.real(z))
        else:
            a = m.atan2(m.zeros_like(z), z)
        return a * (180 / math.pi) if deg else a

    return angle


def _nan_to_num(m: Any):
    def nan_to_num(x: Any, copy: bool = True, nan: float = 0.0, posinf: Any = None, neginf: Any = None) -> Any:
        if m.isdtype(x.dtype, "complex floating"):
            parts = [nan_to_num(part, nan=nan, posinf=posinf, neginf=neginf) for part in (m.real(x), m.imag(x))]
            return m.astype(parts[0], x.dtype) + 1j * m.astype(parts[1], x.dtype)
        if not m.isdtype(x.dtype, "real floating"):
            return x
        info = m.finfo(x.dtype)
        x = m.where(m.isnan(x), nan, x)
        x = m.where(x == math.inf, info.max if posinf is None else posinf, x)
        return m.where(x == -math.inf, -info.max if neginf is None else neginf, x)

    return nan_to_num


def _tri(m: Any):
    def tri(n: int, k_columns: Any = None, k: int = 0, dtype: Any = None) -> Any:
        rows = m.arange(n)[:, None]
        columns = m.arange(n if k_columns is None else k_columns)[None, :]
        below = columns <= rows + k
        return below if dtype is bool or dtype == m.bool else m.astype(below, m.float64 if dtype is None else dtype)

    return tri


def _diagonal(m: Any):
    def diagonal(x: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Any:
        return m.linalg.diagonal(m.moveaxis(x, (axis1, axis2), (-2, -1)), offset=offset)

    return diagonal


def _convolve(m: Any):
    def convolve(a: Any, v: Any) -> Any:  # the full 1-D convolution, (a ∗ v)ₙ = Σₖ v[n − k] a[k]: T a
        la, lv = a.shape[0], v.shape[0]
        lag = m.arange(la + lv - 1)[:, None] - m.arange(la)[None, :]  # T's entry (n, k) is v[n − k], if any
        entries = m.take(v, m.reshape(m.clip(lag, 0, lv - 1), (-1,)), axis=0)
        toeplitz = m.where((lag >= 0) & (lag < lv), m.reshape(entries, lag.shape), 0)
        return m.matmul(toeplitz, a)

    return convolve


def _ascontiguousarray(m: Any):
    return lambda x: x  # the standard has no memory layout


_LN2 = math.log(2)
POLYFILLS = {"exp2": _exp2, "deg2rad": _deg2rad, "rad2deg": _rad2deg, "cbrt": _cbrt, "logaddexp2": _logaddexp2,
             "fmax": _fmax, "fmin": _fmin, "fmod": _fmod, "sinc": _sinc, "angle": _angle, "nan_to_num": _nan_to_num,
             "tri": _tri, "diagonal": _diagonal, "ascontiguousarray": _ascontiguousarray, "convolve": _convolve,
             "cumsum": _cumulative("cumulative_sum"), "cumprod": _cumulative("cumulative_prod")}


class NamespaceError(TypeError):
    """A function the computation needs does not exist in the inputs' array library."""


class DeviceError(NamespaceError):
    """The arrays of one operation live on two devices of their library."""


# functions that make new arrays: bound to the device of the arrays whose namespace is asked for
CREATION = ("asarray", "zeros", "ones", "empty", "full", "eye", "arange", "linspace", "tri")


class ArrayNamespace:
    """NumPy's spelling of an array-API library's functions (see the module docstring), for the arrays of one
    device of it: the functions that make new arrays (``zeros``, ``eye``, ``arange``, ...) make them there.

    >>> import array_api_strict as strict
    >>> xp = namespace(strict.asarray([0.5]))
    >>> xp.arcsin is strict.asin, xp
    (True, ArrayNamespace(array_api_strict))
    >>> namespace(strict.asarray([0.5], device=strict.Device("device1"))).zeros(2).device
    array_api_strict.Device('device1')
    """

    def __init__(self, module: Any, device: Any = None) -> None:
        self.module = module
        self.device = device
        self.name = getattr(module, "__name__", type(module).__name__)

    def __getattr__(self, name: str) -> Any:
        module = self.__dict__["module"]
        if name in ADAPTERS:
            value = self.__dict__[name] = ADAPTERS[name](self)  # built once per library and device
            return value
        value = getattr(module, name, None)
        if value is None and name in STANDARD_NAMES:
            value = getattr(module, STANDARD_NAMES[name], None)
        if value is None and name in POLYFILLS:
            value = POLYFILLS[name](self)
        if value is None:
            raise NamespaceError(f"chainrule: `{name}` is not available for {self.__dict__['name']} (it is not "
                                 f"in the array API standard that library implements); use NumPy arrays for it")
        if name in CREATION and self.__dict__["device"] is not None and _takes_device(value):
            value = functools.partial(value, device=self.__dict__["device"])
        self.__dict__[name] = value
        return value

    def __repr__(self) -> str:
        return f"ArrayNamespace({self.name})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ArrayNamespace) and other.module is self.module

    __hash__ = object.__hash__


def _takes_device(function: Any) -> bool:
    try:
        return "device" in inspect.signature(function).parameters
    except (TypeError, ValueError):  # a builtin without a signature: CuPy's (devices by context, not argument)
        return False


_CACHE: dict[tuple, ArrayNamespace] = {}  # one wrapper per library and device (both live as long as the process)


def _data(a: Any) -> Any:
    return a.data if hasattr(a, "_node") and hasattr(a, "requires_grad") else a  # a Tensor's array


def namespace(*arrays: Any) -> Any:
    """The array module of ``arrays`` (arrays, Tensors, numbers): NumPy unless one of them belongs to
    another array-API library, whose `ArrayNamespace` (for the arrays' device) is returned. Arrays of two
    different non-NumPy libraries, or on two devices of one, are an error.

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
        device = getattr(a, "device", None)
        key = (id(module), str(device))
        wrapper = _CACHE.get(key)
        if wrapper is None:
            wrapper = _CACHE.setdefault(key, ArrayNamespace(module, device))
        if found is not None and found is not wrapper:
            if found.module is module:
                raise DeviceError(f"chainrule: arrays on two devices in one operation ({found.device} and "
                                  f"{device}); move them to one device first (Module.to, "
                                  f"chainrule.tensor(..., device=))")
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
    (its code needs NumPy beyond the array API standard), or `DeviceError` naming the primitive and the two
    devices its arrays are on; otherwise return and let the error be."""
    if isinstance(error, DeviceError) and not str(error).startswith(f"chainrule: `{primitive}`"):
        raise DeviceError(f"chainrule: `{primitive}`: {str(error).removeprefix('chainrule: ')}") from None
    if isinstance(error, NamespaceError):
        raise error
    try:
        xp = namespace(*arrays)
    except DeviceError as mixed:
        raise DeviceError(f"chainrule: `{primitive}`: {str(mixed).removeprefix('chainrule: ')}") from None
    except NamespaceError:
        return
    if xp is not np:
        raise NamespaceError(f"chainrule: `{primitive}` is not available for {xp.name}: its {part} needs NumPy "
                             f"beyond the array API standard ({type(error).__name__}: {error})") from None


def in_library(function: Any, public_name: str) -> Any:
    """``function`` (a SciPy function) that refuses to compute another library's arrays in NumPy: SciPy
    converts arrays it does not support to NumPy (or fails); then the call raises `NamespaceError`
    "``<public_name>`` is not available for <library>" instead of returning a NumPy result. (With
    ``SCIPY_ARRAY_API=1`` SciPy computes some functions in the inputs' library; those results pass.)

    >>> in_library(np.sqrt, "sqrt")(np.ones(1))  # NumPy in, NumPy out: fine
    array([1.])
    """

    def checked(*args: Any, **kwargs: Any) -> Any:
        xp = namespace(*args)
        result = function(*args, **kwargs)
        if xp is not np:
            outputs = result if isinstance(result, tuple) else (result,)
            if any(isinstance(o, np.ndarray | np.generic) for o in outputs):
                raise NamespaceError(f"chainrule: `{public_name}` is not available for {xp.name} (SciPy computes "
                                     f"it in NumPy only)")
        return result

    checked.__name__ = getattr(function, "__name__", public_name)
    return checked


def numpy_constants_moved(args: Any) -> list | None:
    """``args`` with the NumPy arrays and scalars among them (constants: masks, index arrays, coefficients,
    ``np.float64`` numbers, Tensors that need no gradient such as targets) moved into the other array
    library whose arrays or Tensors are there too, onto their device; None when there is nothing to move
    (no other library, or no NumPy constant).

    >>> import array_api_strict as strict
    >>> numpy_constants_moved([strict.asarray([1.0]), np.float64(2.0), np.ones(1)])[1:]
    [2.0, Array([1.], dtype=array_api_strict.float64)]
    """
    try:
        m = namespace(*args)
    except NamespaceError:
        return None
    if m is np:
        return None
    moved, changed = [], False
    for a in args:
        if isinstance(a, np.generic):
            a, changed = a.item(), True
        elif isinstance(a, np.ndarray):
            a, changed = m.asarray(a), True
        elif isinstance(_data(a), np.ndarray) and not a.requires_grad:  # a constant Tensor (targets): its array
            a, changed = m.asarray(a.data), True
        moved.append(a)
    return moved if changed else None


DEVICES = ("cpu", "cuda")


def to_device(array: Any, device: Any) -> Any:
    """``array`` on ``device``: ``"cpu"`` gives a NumPy array (from any library, through ``.get()`` for CuPy
    or DLPack); ``"cuda"`` or ``"cuda:N"`` a CuPy array (needs CuPy and an NVIDIA GPU; untested on a GPU:
    none was available); a device object of an array-API library (``array_api_strict.Device("device1")``,
    one of ``xp.__array_namespace_info__().devices()``) an array of that library on that device.

    >>> to_device(np.ones(2), "cpu")
    array([1., 1.])
    >>> import array_api_strict as strict
    >>> to_device(np.ones(2), strict.Device("device1")).device
    array_api_strict.Device('device1')
    """
    if not isinstance(device, str):  # an array API device object
        if not isinstance(array, np.ndarray | np.generic) and hasattr(array, "to_device"):
            return array if getattr(array, "device", None) == device else array.to_device(device)
        library = importlib.import_module(type(device).__module__.partition(".")[0])
        return library.asarray(array, device=device)
    kind, _, index = device.partition(":")
    if kind not in DEVICES or (index and not index.isdigit()) or (kind == "cpu" and index):
        raise ValueError(f"chainrule: unknown device {device!r}; expected 'cpu', 'cuda', 'cuda:N' or an array "
                         f"API device object")
    if kind == "cpu":
        if isinstance(array, np.ndarray):
            return array
        if type(array).__module__.startswith("cupy"):
            return array.get()
        try:
            return np.from_dlpack(array)
        except (TypeError, AttributeError, RuntimeError, BufferError, ValueError):
            return np.asarray(array)
    try:
        import cupy
    except ImportError:
        raise NamespaceError("chainrule: device 'cuda' needs CuPy, which is not installed (pip install "
                             "cupy-cuda12x, with an NVIDIA GPU and its driver)") from None
    try:  # (untested on a GPU: none was available to this work)
        with cupy.cuda.Device(int(index or 0)):
            return cupy.asarray(array)
    except Exception as error:  # CuPy without a usable GPU or driver raises its own runtime errors
        raise NamespaceError(f"chainrule: device {device!r}: CuPy found no usable GPU ({type(error).__name__}: "
                             f"{error})") from None


def on_host(array: Any) -> np.ndarray:
    """A NumPy copy of ``array`` (of any library and device): what checkpoints and ``state_dict`` hold.

    >>> import array_api_strict as strict
    >>> on_host(strict.asarray([1.0], device=strict.Device("device1")))
    array([1.])
    """
    array = _data(array)
    if isinstance(array, np.ndarray | np.generic):
        return np.array(array, copy=True)
    return np.array(to_device(array, "cpu"), copy=True)


def numpy_dtype(dtype: Any) -> np.dtype:
    """The NumPy dtype of the same name as ``dtype`` (NumPy's own, or another library's ``float32``, ...).

    >>> import array_api_strict as strict
    >>> numpy_dtype(strict.float32)
    dtype('float32')
    """
    if isinstance(dtype, np.dtype):
        return dtype
    try:
        return np.dtype(dtype)  # a NumPy scalar type, a Python type, a name
    except TypeError:
        return np.dtype(str(dtype).rsplit(".", 1)[-1])  # another library's dtype


def is_device(target: Any) -> bool:
    """True for a device: ``"cpu"``, ``"cuda"``, ``"cuda:N"``, or an array library's device object.

    >>> is_device("cuda:1"), is_device("float32")
    (True, False)
    """
    if isinstance(target, str):
        return target.partition(":")[0] in DEVICES
    return "device" in type(target).__name__.lower()


def device_of(array: Any) -> Any:
    """The device of ``array`` (or a Tensor's): ``"cpu"`` for NumPy, else the library's ``.device``.

    >>> device_of(np.ones(2))
    'cpu'
    """
    array = _data(array)
    if isinstance(array, np.ndarray | np.generic):
        return "cpu"
    return getattr(array, "device", "cpu")


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
