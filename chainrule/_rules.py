"""The rule table: every primitive, its forward function and its vector–Jacobian products, side by side.

Contract of an entry ``name = defprim("name", forward, vjp_0, vjp_1, ..., saves=(...), formulas=(...))``:

* ``forward(*args, **kwargs)`` runs on raw arrays and gets its array module from them (``xp(x)``), so
  NumPy and CuPy arrays both flow through.
* ``vjp_i(g, ans, *args, **kwargs)`` returns ḡ · ∂ans/∂args[i]: the error signal of argument i, with the
  shape of ``args[i]`` (broadcasting undone with :func:`unbroadcast`). ``g`` is the error signal of the
  output, ``ans`` the output. ``None`` in a position means "no gradient for this argument".
* Rules are written with the differentiable operations of this module, so that with ``create_graph=True``
  they run on Tensors and record the backward pass too: higher-order derivatives come for free.
* ``saves`` lists what the rules read: argument positions and ``"ans"``. The graph keeps those arrays and
  only the shape and dtype of the others (enough for ``unbroadcast`` and ``x.dtype``), so memory is freed
  as soon as the forward pass is done with it. Leaving it out keeps everything (always correct).
* ``formulas[i]`` is the rule as the lecture notes write it, for the teaching views: ``{g}`` is the
  output's error signal, ``{ans}`` the output, ``{0}``, ``{1}``, ... the inputs.

An entry is also the primitive's one registration (:mod:`chainrule._registry`); the rest of chainrule is
derived from it:

* ``names``: its public names, ``"numpy.tanh"``, ``"numpy.linalg.inv"``, ``"scipy.special.erf"`` (default
  ``("numpy.<name>",)``; ``()`` for a primitive that a function of ``_composite.py`` wraps). The namespaces
  :mod:`chainrule.numpy` (``.linalg``, ``.fft``) and :mod:`chainrule.scipy` export them, and ``np.*`` /
  ``scipy.special.*`` called on Tensors dispatch to them.
* ``cost``: its category for :func:`chainrule.viz.cost` (default ``"elementwise"``).
* ``fast``: a NumPy function with the same result on arrays that takes ``out=`` (``fast_takes_out=False``
  if not), with which :func:`chainrule.compile` replays it into preallocated buffers.

Adding a primitive is two edits: its entry here (or in a ``_rules_*.py`` module listed in
``_registry.RULE_MODULES``), and its spec in ``tests/rules/specs.py`` (a meta-test checks that every
registered primitive is exercised by a spec).

Non-differentiable functions (comparisons, rounding, ``sign``) are ``nondiff`` entries: their outputs
carry no graph, i.e. a zero gradient.

Complex numbers (``docs/conventions.md``): an error signal ḡ of a complex value pairs with a perturbation dz
as Re(ḡ · dz), with no conjugate, so the gradient of a real L is ∂L/∂x − i·∂L/∂y (autograd's and JAX's
convention; PyTorch's is its conjugate). For an operation with dy = A·dz + B·conj(dz) the rule returns
ḡ·A + conj(ḡ·B): for a holomorphic operation (B = 0) that is ḡ·f′(z), the real-number rule unchanged, so
only the non-holomorphic rules (``conj``, ``real``, ``imag``, ``abs``, ``angle``, the Hermitian
decompositions) mention complex numbers. A complex error signal returned for a real input is reduced to
its real part by the engine. Operations that need an order (``max``, ``maximum``, ``clip``, ``sort``, the
comparisons, ...) raise ``TypeError`` on complex inputs (``_real_only``) rather than return NumPy's
lexicographic answer.
"""

from __future__ import annotations

import builtins
import math
import operator
import sys

import numpy as np

from ._graph import _C, Primitive, Tensor
from ._namespace import NamespaceError, is_floating, namespace
from ._registry import register

# xp(*arrays): the array module the arrays (or Tensors' arrays) belong to: NumPy, or another array-API
# library under NumPy's names (chainrule/_namespace.py). Rules create arrays only through it
# (``xp(x).eye(n)``), never through a hard-coded ``numpy``.
xp = namespace


def defprim(name, forward, *vjps, formulas=(), saves=None, n_outputs=1, variadic=False, cost="elementwise",
            names=None, fast=None, fast_takes_out=True):
    """Make and register a primitive (the contract above); ``names=None`` means ``("numpy.<name>",)``."""
    primitive = Primitive(name, forward, vjps, formulas, n_outputs=n_outputs, variadic=variadic, saves=saves)
    return register(primitive, cost=cost, names=(f"numpy.{name}",) if names is None else names, fast=fast,
                    fast_takes_out=fast_takes_out, module=sys._getframe(1).f_globals["__name__"])


def nondiff(name, forward, *, names=None, fast=None):
    """Make and register a primitive whose output carries no gradient (comparisons, rounding, ...)."""
    return register(Primitive(name, forward, differentiable=False), cost="elementwise",
                    names=(f"numpy.{name}",) if names is None else names, fast=fast,
                    module=sys._getframe(1).f_globals["__name__"])


def shape_of(x) -> tuple:
    return x.shape if hasattr(x, "shape") else ()


def ndim_of(x) -> int:
    return len(shape_of(x))


def unbroadcast(g, target):
    """Sum ``g`` over the axes that broadcasting added or stretched, giving ``target``'s shape (``target``:
    an array, or a shape tuple)."""
    shape = target if type(target) is tuple else getattr(target, "shape", ())
    gshape = getattr(g, "shape", ())
    if gshape == shape:
        return g
    lead = len(gshape) - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(shape) if n == 1 and gshape[i + lead] != 1)
    if not hasattr(g, "shape"):
        g = xp(g).asarray(g)
    if not hasattr(g, "sum"):  # an array-API array: functions, not methods
        return xp(g).reshape(xp(g).sum(g, axis=axes) if axes else g, shape)
    if axes:
        g = g.sum(axis=axes)  # methods: NumPy's own on arrays, differentiable on Tensors
    return g.reshape(shape)


unbroadcast_reference = unbroadcast  # (the public chainrule.extend.unbroadcast)
if _C is not None:  # the same function for the rules below, its common case (equal shapes: g) decided in C
    unbroadcast = _C.FastCase(unbroadcast)


def _axes(axis, ndim) -> tuple:
    if axis is None:
        return tuple(range(ndim))
    axes = axis if isinstance(axis, tuple | list) else (axis,)
    return tuple(builtins.sorted(int(a) % builtins.max(ndim, 1) for a in axes))


def _expand(g, x, axis, keepdims):
    """Broadcast a reduction's error signal back over the reduced axes of ``x``."""
    shape = shape_of(x)
    if not keepdims:
        reduced = _axes(axis, len(shape))
        kept = tuple(1 if i in reduced else n for i, n in enumerate(shape))
        g = g.reshape(kept) if type(g) is np.ndarray else reshape(g, kept)
    return np.broadcast_to(g, shape) if type(g) is np.ndarray else broadcast_to(g, shape)  # (arrays: no primitive)


def _count(x, axis) -> int:
    shape = shape_of(x)
    return math.prod(shape[a] for a in _axes(axis, len(shape)))


def _ufunc(name):
    numpy_ufunc = getattr(np, name)

    def forward(x, *args, **kwargs):
        if type(x) is np.ndarray and not args:  # the common case, without a lookup of the array module
            return numpy_ufunc(x, **kwargs)
        return getattr(xp(x, *args), name)(x, *args, **kwargs)

    forward.__name__ = name
    # (the C engine calls the ufunc itself in the common case: one ndarray, no keywords)
    return forward if _C is None else _C.FastCase(forward, numpy_ufunc)


def _is_complex(x) -> bool:
    dtype = getattr(x, "dtype", None)
    if dtype is None:
        return isinstance(x, complex)
    # (another array library's dtype has no .kind; the standard's names are fixed: complex64/128)
    kind = getattr(dtype, "kind", None)
    return kind == "c" if kind is not None else str(dtype).rsplit(".", 1)[-1].startswith("complex")


def _real_only(forward, why="complex numbers have no order"):
    """``forward`` refusing complex inputs: the primitive's call adds its name to the TypeError."""

    def checked(*args, **kwargs):
        for a in args:
            if _is_complex(a):
                raise TypeError(f"complex inputs are not supported ({why})")
        return forward(*args, **kwargs)

    checked.__name__ = getattr(forward, "__name__", "forward")
    return checked


def _conj(x):
    """conj(x) for a complex x; a real x itself (no node recorded for a no-op)."""
    return conj(x) if _is_complex(x) else x


def _factor(mask, like):
    """A boolean mask as the 0/1 factor [mask] of ``like``'s dtype: the mask itself for NumPy (bool × float
    promotes); another library's cast, the array API having no bool × float promotion."""
    if type(mask) is np.ndarray:
        return mask
    raw, target = _raw(mask), _raw(like)
    if isinstance(raw, np.ndarray | np.generic | bool) or not hasattr(target, "dtype"):
        return mask
    return xp(raw).astype(raw, target.dtype)


def _on_device_of(value, like):
    """A NumPy constant (an index array, a mask, labels) given with another library's arrays, moved into
    that library (onto ``like``'s device); anything else unchanged."""
    m = xp(like)
    if m is np or not isinstance(value, np.ndarray | list):
        return value
    return m.asarray(np.asarray(value))


def _float_dtype(x):
    """``x`` itself if it is floating point, else ``x`` as float64 (NumPy's promotion of integers)."""
    if is_floating(x):
        return x
    m = xp(x)
    return x.astype(float) if m is np else m.astype(x, m.float64)


def _one_over_one_plus_exp(out):
    """``out ← 1 / (1 + e^out)``, in place in the array ``out`` (three passes over one buffer): the sigmoid of
    ``−out``. Overflow and underflow are harmless: e^out = inf gives exactly 0, e^out = 0 gives 1."""
    m = np if type(out) is np.ndarray else xp(out)
    with np.errstate(over="ignore", under="ignore"):
        m.exp(out, out=out)
        out += 1
        return m.divide(1, out, out=out)  # (as m.reciprocal, and faster)


def _sigmoid(x):
    if type(x) is np.ndarray and x.dtype.kind in "fc":  # (the common case, without the lookups below)
        return _one_over_one_plus_exp(np.negative(x, out=np.empty_like(x)))
    m = xp(x)
    if m is not np:  # the array API has no out=: 1 / (1 + e^−x), the same values
        return 1 / (1 + m.exp(-_float_dtype(x)))
    a = m.asarray(x)
    if a.dtype.kind not in "fc":
        a = a.astype(float)
    # four passes over one buffer, against ten for the two-branch `where` form
    out = _one_over_one_plus_exp(m.negative(a, out=m.empty_like(a)))
    return out if hasattr(x, "dtype") else float(out)


def _sigmoid_into(x, out=None):
    """The sigmoid of the array ``x`` written into ``out`` (compile's replay form)."""
    if x.dtype.kind not in "fc":
        x = x.astype(float)  # as the eager forward
    out = xp(x).negative(x, out=out)
    if isinstance(out, np.generic):  # a ufunc's 0-d result is a NumPy scalar: no buffer to work in
        out = np.asarray(out)
    return _one_over_one_plus_exp(out)


def _number(x):
    """A NumPy scalar as the Python number it is (another library's arrays combine with Python numbers only)."""
    return x.item() if isinstance(x, np.generic) else x


def _power_vjp_base(g, ans, x, y):
    y = _number(y)
    if isinstance(y, int | float):  # a Python exponent stays a Python number (no array of another library)
        return unbroadcast(g * y * x ** (y - 1 if y != 0 else 1), x)
    return unbroadcast(g * y * x ** where(y == 0, 1, y - 1), x)  # y == 0: avoid 0 ** -1 at x = 0


def _power_vjp_exponent(g, ans, x, y):
    # ∂(x^y)/∂y = x^y ln x. At x = 0 it is 0 (the limit from y > 0); at a real x < 0, x^y is real only at
    # integers, so there is no derivative: NaN (as PyTorch and JAX)
    x = _number(x)
    if isinstance(x, int | float):  # a number base: ln x is a number
        return unbroadcast(g * ans * math.log(x) if x > 0 else g * (0.0 if x == 0 else math.nan), y)
    if _is_complex(ans):
        nonzero = x != 0
        return unbroadcast(where(nonzero, g * ans * log(astype(where(nonzero, x, 1), ans.dtype)), 0), y)
    positive = x > 0
    return unbroadcast(where(x < 0, math.nan, g * ans * log(where(positive, x, 1)) * _factor(positive, g)), y)


def _over_nonzero(numerator, denominator):
    """numerator / denominator, and 0 where the denominator is 0 (hypot at the origin: as norm at 0)."""
    nonzero = denominator != 0
    return where(nonzero, numerator / where(nonzero, denominator, 1), 0)


def _over_radius_squared(numerator, y, x):
    return _over_nonzero(numerator, x * x + y * y)  # arctan2 at the origin: 0, as PyTorch


def _split_ties(g, x, other):
    if type(x) is np.ndarray or not hasattr(x, "dtype"):  # NumPy (or a number): bool × float promotes
        return g * ((x > other) + 0.5 * (x == other))
    return where(x > other, g, where(x == other, 0.5 * g, 0))


# sinc′(x) = (cos πx − sinc x) / x, and near 0 its Taylor series Σₖ (−1)ᵏ 2k π²ᵏ x²ᵏ⁻¹ / (2k+1)!, k = 1..5
# (error < 1e-13 relative for |x| < 0.1, where the closed form starts to cancel): the series makes the
# rule differentiable at 0 too (sinc″(0) = −π²/3, sinc⁗(0) = π⁴/5).
_SINC_SERIES = tuple((-1) ** k * 2 * k * math.pi ** (2 * k) / math.factorial(2 * k + 1) for k in range(1, 6))


def _sinc_vjp(g, ans, x):
    near_zero = abs(x) < 0.1
    safe = where(near_zero, 1, x)
    closed = (cos(math.pi * safe) - where(near_zero, 1, ans)) / safe
    near = where(near_zero, x, 0)
    square = near * near
    series = 0
    for coefficient in reversed(_SINC_SERIES):  # Horner's rule in x²
        series = series * square + coefficient
    return g * where(near_zero, series * near, closed)


def _abs_vjp(g, ans, x):
    if not _is_complex(x):
        return g * sign(x)
    # |z| = √(z z̄): ḡ · conj(z) / |z|, and 0 at z = 0 (the midpoint of the subgradients, as for reals);
    # |z| recomputed, so that the graph keeps only z (as for real inputs)
    magnitude = abs(x)
    nonzero = magnitude != 0
    return where(nonzero, g * conj(x) / where(nonzero, magnitude, 1), 0)


def _angle_vjp(g, ans, x, deg=False):
    if not _is_complex(x):
        return g * 0  # the angle of a real number is 0 or π: piecewise constant
    # arg z = Im log z: ḡ · (−i / z), and 0 at z = 0
    nonzero = x != 0
    return where(nonzero, (-180j / math.pi if deg else -1j) * g / where(nonzero, x, 1), 0)


def _real_if_real(g, x):
    """A real value cast to complex gets the real part of its complex error signal."""
    if not _is_complex(x) and _is_complex(g):
        return real(g)
    return g


# ---- elementwise, one input ----------------------------------------------------------------------------
negative = defprim("negative", lambda x: -x, lambda g, ans, x: -g, saves=(), formulas=("-{g}",), fast=np.negative)
abs = defprim("abs", _ufunc("abs"), _abs_vjp, saves=(0,), formulas=("{g} · sign({0})",),
              fast=np.absolute, names=("numpy.abs", "numpy.absolute", "numpy.fabs"))
exp = defprim("exp", _ufunc("exp"), lambda g, ans, x: g * ans, saves=("ans",), formulas=("{g} · exp({0})",),
              fast=np.exp)
exp2 = defprim("exp2", _ufunc("exp2"), lambda g, ans, x: g * ans * math.log(2), saves=("ans",), formulas=("{g} · 2^{0} · ln 2",))
expm1 = defprim("expm1", _ufunc("expm1"), lambda g, ans, x: g * (ans + 1), saves=("ans",), formulas=("{g} · exp({0})",),
                fast=np.expm1)
log = defprim("log", _ufunc("log"), lambda g, ans, x: g / x, saves=(0,), formulas=("{g} / {0}",), fast=np.log)
log2 = defprim("log2", _ufunc("log2"), lambda g, ans, x: g / (x * math.log(2)), saves=(0,), formulas=("{g} / ({0} ln 2)",))
log10 = defprim("log10", _ufunc("log10"), lambda g, ans, x: g / (x * math.log(10)), saves=(0,), formulas=("{g} / ({0} ln 10)",))
log1p = defprim("log1p", _ufunc("log1p"), lambda g, ans, x: g / (1 + x), saves=(0,), formulas=("{g} / (1 + {0})",),
                fast=np.log1p)
sqrt = defprim("sqrt", _ufunc("sqrt"), lambda g, ans, x: g / (2 * ans), saves=("ans",), formulas=("{g} / (2 √{0})",),
               fast=np.sqrt)
cbrt = defprim("cbrt", _ufunc("cbrt"), lambda g, ans, x: g / (3 * ans * ans), saves=("ans",), formulas=("{g} / (3 ∛{0}²)",))
square = defprim("square", _ufunc("square"), lambda g, ans, x: g * 2 * x, saves=(0,), formulas=("{g} · 2{0}",),
                 fast=np.square)
reciprocal = defprim("reciprocal", _ufunc("reciprocal"), lambda g, ans, x: -g * ans * ans, saves=("ans",), formulas=("-{g} / {0}²",),
                     fast=np.reciprocal)
sin = defprim("sin", _ufunc("sin"), lambda g, ans, x: g * cos(x), saves=(0,), formulas=("{g} · cos({0})",), fast=np.sin)
cos = defprim("cos", _ufunc("cos"), lambda g, ans, x: -g * sin(x), saves=(0,), formulas=("-{g} · sin({0})",),
              fast=np.cos)
tan = defprim("tan", _ufunc("tan"), lambda g, ans, x: g * (1 + ans * ans), saves=("ans",), formulas=("{g} / cos²({0})",))
arcsin = defprim("arcsin", _ufunc("arcsin"), lambda g, ans, x: g / sqrt(1 - x * x), saves=(0,), formulas=("{g} / √(1 - {0}²)",))
arccos = defprim("arccos", _ufunc("arccos"), lambda g, ans, x: -g / sqrt(1 - x * x), saves=(0,), formulas=("-{g} / √(1 - {0}²)",))
arctan = defprim("arctan", _ufunc("arctan"), lambda g, ans, x: g / (1 + x * x), saves=(0,), formulas=("{g} / (1 + {0}²)",))
sinh = defprim("sinh", _ufunc("sinh"), lambda g, ans, x: g * cosh(x), saves=(0,), formulas=("{g} · cosh({0})",))
cosh = defprim("cosh", _ufunc("cosh"), lambda g, ans, x: g * sinh(x), saves=(0,), formulas=("{g} · sinh({0})",))
tanh = defprim("tanh", _ufunc("tanh"), lambda g, ans, x: g * (1 - ans * ans), saves=("ans",), formulas=("{g} · (1 - {ans}²)",),
               fast=np.tanh)
arcsinh = defprim("arcsinh", _ufunc("arcsinh"), lambda g, ans, x: g / sqrt(x * x + 1), saves=(0,), formulas=("{g} / √({0}² + 1)",))
arccosh = defprim("arccosh", _ufunc("arccosh"), lambda g, ans, x: g / (sqrt(x - 1) * sqrt(x + 1)), saves=(0,),
                  formulas=("{g} / (√({0} - 1) √({0} + 1))",))  # (= 1/√(x² − 1) for real x; right for complex too)
arctanh = defprim("arctanh", _ufunc("arctanh"), lambda g, ans, x: g / (1 - x * x), saves=(0,), formulas=("{g} / (1 - {0}²)",))
deg2rad = defprim("deg2rad", _ufunc("deg2rad"), lambda g, ans, x: g * (math.pi / 180), saves=(), formulas=("{g} · π/180",),
                  names=("numpy.deg2rad", "numpy.radians"))
rad2deg = defprim("rad2deg", _ufunc("rad2deg"), lambda g, ans, x: g * (180 / math.pi), saves=(), formulas=("{g} · 180/π",),
                  names=("numpy.rad2deg", "numpy.degrees"))
sinc = defprim("sinc", _ufunc("sinc"), _sinc_vjp, saves=(0, "ans"), formulas=("{g} · (cos(π{0}) - sinc({0})) / {0}",))
sigmoid = defprim("sigmoid", _sigmoid, lambda g, ans, x: g * ans * (1 - ans), saves=("ans",), formulas=("{g} · σ({0})(1 - σ({0}))",),
                  fast=_sigmoid_into)
relu = defprim("relu", _real_only(lambda x: xp(x).maximum(x, 0)), lambda g, ans, x: g * _factor(x > 0, g), saves=(0,), formulas=("{g} · [{0} > 0]",))
softplus = defprim("softplus", lambda x: xp(x).logaddexp(0, x), lambda g, ans, x: g * sigmoid(x), saves=(0,), formulas=("{g} · σ({0})",))
copy = defprim("copy", lambda x: xp(x).array(x, copy=True), lambda g, ans, x: g, saves=(), formulas=("{g}",),
               names=("numpy.copy", "numpy.positive"), cost="movement")
conj = defprim("conj", _ufunc("conjugate"), lambda g, ans, x: _conj(g), saves=(), formulas=("conj({g})",),
               names=("numpy.conj", "numpy.conjugate"), fast=np.conjugate)
real = defprim("real", _ufunc("real"), lambda g, ans, x: g, saves=(), formulas=("{g}",), cost="movement")
angle = defprim("angle", lambda x, deg=False: xp(x).angle(x, deg), _angle_vjp, saves=(0,), formulas=("-i {g} / {0}",))
astype = defprim("astype", lambda x, dtype: _astype(x, dtype), lambda g, ans, x, dtype: astype(_real_if_real(g, x), x.dtype), saves=(), formulas=("{g}",),
                 cost="movement")



def _astype(x, dtype):
    m = xp(x)
    if m is np:
        return x.astype(dtype)
    if isinstance(dtype, np.dtype | type | str):  # a NumPy dtype (or its name): the library's of the same name
        dtype = getattr(m.module, np.dtype(dtype).name)
    return m.astype(x, dtype)


def _nan_to_num_vjp(g, ans, x, **kwargs):
    if not _is_complex(x):
        return g * _factor(isfinite(x), g)
    # NumPy replaces the real and imaginary parts separately: Re ḡ where Re z is finite, i Im ḡ where Im z is
    raw = _raw(x)
    m = xp(raw)
    return where(m.isfinite(m.real(raw)), real(g), 0) + where(m.isfinite(m.imag(raw)), (g - conj(g)) / 2, 0)


nan_to_num = defprim("nan_to_num", lambda x, copy=True, nan=0.0, posinf=None, neginf=None: xp(x).nan_to_num(
    x, copy=True, nan=nan, posinf=posinf, neginf=neginf), _nan_to_num_vjp,
    saves=(0,), formulas=("{g} · [{0} finite]",))

sign = nondiff("sign", _real_only(_ufunc("sign"), "the sign z/|z| of a complex z is not piecewise constant"),
               fast=np.sign)
floor = nondiff("floor", _ufunc("floor"))
ceil = nondiff("ceil", _ufunc("ceil"))
trunc = nondiff("trunc", _ufunc("trunc"), names=("numpy.trunc", "numpy.fix"))
rint = nondiff("rint", _ufunc("rint"))
round = nondiff("round", lambda x, decimals=0: xp(x).round(x, decimals), names=("numpy.round", "numpy.around"))
isfinite = nondiff("isfinite", _ufunc("isfinite"))
isnan = nondiff("isnan", _ufunc("isnan"))
isinf = nondiff("isinf", _ufunc("isinf"))
logical_not = nondiff("logical_not", _ufunc("logical_not"), fast=np.logical_not)
invert = nondiff("invert", _ufunc("invert"), names=("numpy.invert", "numpy.bitwise_not"))

# ---- elementwise, two inputs (broadcasting) ----------------------------------------------------------
add = defprim("add", operator.add,
              lambda g, ans, x, y: unbroadcast(g, x),
              lambda g, ans, x, y: unbroadcast(g, y), saves=(), formulas=("{g}", "{g}"), fast=np.add)
subtract = defprim("subtract", operator.sub,
                   lambda g, ans, x, y: unbroadcast(g, x),
                   lambda g, ans, x, y: unbroadcast(-g, y), saves=(), formulas=("{g}", "-{g}"), fast=np.subtract)
multiply = defprim("multiply", operator.mul,
                   lambda g, ans, x, y: unbroadcast(g * y, x),
                   lambda g, ans, x, y: unbroadcast(g * x, y), saves=(0, 1), formulas=("{g} · {1}", "{g} · {0}"),
                   fast=np.multiply)
divide = defprim("divide", operator.truediv,
                 lambda g, ans, x, y: unbroadcast(g / y, x),
                 lambda g, ans, x, y: unbroadcast(-g * ans / y, y), saves=(1, "ans"), formulas=("{g} / {1}", "-{g} · {0} / {1}²"),
                 fast=np.divide, names=("numpy.divide", "numpy.true_divide"))
power = defprim("power", lambda x, y: x ** y, _power_vjp_base, _power_vjp_exponent,
                formulas=("{g} · {1} · {0}^({1} - 1)", "{g} · {0}^{1} · ln {0}"), fast=np.power)
maximum = defprim("maximum", _real_only(_ufunc("maximum")),
                  lambda g, ans, x, y: unbroadcast(_split_ties(g, x, y), x),
                  lambda g, ans, x, y: unbroadcast(_split_ties(g, y, x), y),
                  saves=(0, 1), formulas=("{g} · [{0} > {1}]", "{g} · [{1} > {0}]"), fast=np.maximum)
minimum = defprim("minimum", _real_only(_ufunc("minimum")),
                  lambda g, ans, x, y: unbroadcast(_split_ties(g, y, x), x),
                  lambda g, ans, x, y: unbroadcast(_split_ties(g, x, y), y),
                  saves=(0, 1), formulas=("{g} · [{0} < {1}]", "{g} · [{1} < {0}]"), fast=np.minimum)
fmax = defprim("fmax", _real_only(_ufunc("fmax")),
               lambda g, ans, x, y: unbroadcast(_split_ties(g, x, y) + g * _factor(isnan(y), g), x),
               lambda g, ans, x, y: unbroadcast(_split_ties(g, y, x) + g * _factor(isnan(x), g), y),
               saves=(0, 1), formulas=("{g} · [{0} ≥ {1} or {1} is NaN]", "{g} · [{1} ≥ {0} or {0} is NaN]"))
fmin = defprim("fmin", _real_only(_ufunc("fmin")),
               lambda g, ans, x, y: unbroadcast(_split_ties(g, y, x) + g * _factor(isnan(y), g), x),
               lambda g, ans, x, y: unbroadcast(_split_ties(g, x, y) + g * _factor(isnan(x), g), y),
               saves=(0, 1), formulas=("{g} · [{0} ≤ {1} or {1} is NaN]", "{g} · [{1} ≤ {0} or {0} is NaN]"))
arctan2 = defprim("arctan2", _ufunc("arctan2"),
                  lambda g, ans, y, x: unbroadcast(g * _over_radius_squared(x, y, x), y),
                  lambda g, ans, y, x: unbroadcast(-g * _over_radius_squared(y, y, x), x),
                  saves=(0, 1), formulas=("{g} · {1} / ({0}² + {1}²)", "-{g} · {0} / ({0}² + {1}²)"))
hypot = defprim("hypot", _ufunc("hypot"),
                lambda g, ans, x, y: unbroadcast(g * _over_nonzero(x, ans), x),
                lambda g, ans, x, y: unbroadcast(g * _over_nonzero(y, ans), y),
                saves=(0, 1, "ans"), formulas=("{g} · {0} / {ans}", "{g} · {1} / {ans}"))
logaddexp = defprim("logaddexp", _ufunc("logaddexp"),
                    lambda g, ans, x, y: unbroadcast(g * exp(x - ans), x),
                    lambda g, ans, x, y: unbroadcast(g * exp(y - ans), y),
                    saves=(0, 1, "ans"), formulas=("{g} · exp({0} - {ans})", "{g} · exp({1} - {ans})"))
logaddexp2 = defprim("logaddexp2", _ufunc("logaddexp2"),
                     lambda g, ans, x, y: unbroadcast(g * exp2(x - ans), x),
                     lambda g, ans, x, y: unbroadcast(g * exp2(y - ans), y),
                     saves=(0, 1, "ans"), formulas=("{g} · 2^({0} - {ans})", "{g} · 2^({1} - {ans})"))
mod = defprim("mod", _ufunc("mod"),
              lambda g, ans, x, y: unbroadcast(g, x),
              lambda g, ans, x, y: unbroadcast(-g * floor(x / y), y),
              saves=(0, 1), formulas=("{g}", "-{g} · floor({0} / {1})"), names=("numpy.mod", "numpy.remainder"))
fmod = defprim("fmod", _ufunc("fmod"),
               lambda g, ans, x, y: unbroadcast(g, x),
               lambda g, ans, x, y: unbroadcast(-g * trunc(x / y), y),
               saves=(0, 1), formulas=("{g}", "-{g} · trunc({0} / {1})"))
floor_divide = nondiff("floor_divide", _ufunc("floor_divide"))
equal = nondiff("equal", _ufunc("equal"), fast=np.equal)
not_equal = nondiff("not_equal", _ufunc("not_equal"), fast=np.not_equal)
less = nondiff("less", _real_only(_ufunc("less")), fast=np.less)
less_equal = nondiff("less_equal", _real_only(_ufunc("less_equal")), fast=np.less_equal)
greater = nondiff("greater", _real_only(_ufunc("greater")), fast=np.greater)
greater_equal = nondiff("greater_equal", _real_only(_ufunc("greater_equal")), fast=np.greater_equal)
logical_and = nondiff("logical_and", _ufunc("logical_and"), fast=np.logical_and)
logical_or = nondiff("logical_or", _ufunc("logical_or"), fast=np.logical_or)
logical_xor = nondiff("logical_xor", _ufunc("logical_xor"))
def _where(c, x, y):
    m = xp(c, x, y)
    if m is np:
        return np.where(c, x, y)
    if isinstance(c, np.ndarray | np.generic | bool):  # a NumPy mask or a Python bool: moved into the library
        c = m.asarray(np.asarray(c))
    if not hasattr(x, "dtype") and not hasattr(y, "dtype"):  # (the standard's where takes one scalar at most)
        x = m.asarray(x)
    return m.where(c, x, y)


where = defprim("where", _where, None,
                lambda g, ans, c, x, y: unbroadcast(where(c, g, 0), x),
                lambda g, ans, c, x, y: unbroadcast(where(c, 0, g), y),
                saves=(0,), formulas=(None, "{g} · [{0}]", "{g} · [not {0}]"), names=())


def _clip_vjp(position, g, ans, x, lo, hi):
    # clip(x, lo, hi) = min(max(x, lo), hi), as NumPy (so hi wins when lo > hi); at x = lo or x = hi the
    # gradient goes to x
    if position == 0:
        if lo is None:
            inside = 1 if hi is None else x <= hi
        else:
            inside = x >= lo if hi is None else (x >= lo) & (x <= hi)
        return unbroadcast(g * _factor(inside, g), x)
    if position == 1:
        return unbroadcast(g * _factor((x < lo) if hi is None else (x < lo) & (lo <= hi), g), lo)
    return unbroadcast(g * _factor((x > hi) if lo is None else (x > hi) | (lo > hi), g), hi)


clip = defprim("clip", _real_only(lambda x, lo, hi: xp(x).clip(x, lo, hi)),
               lambda *args: _clip_vjp(0, *args), lambda *args: _clip_vjp(1, *args), lambda *args: _clip_vjp(2, *args),
               saves=(0, 1, 2), formulas=("{g} · [lo ≤ {0} ≤ hi]", "{g} · [{0} < lo ≤ hi]", "{g} · [max({0}, lo) > hi]"),
               names=())

# ---- reductions --------------------------------------------------------------------------------------
sum = defprim("sum", lambda x, axis=None, keepdims=False: xp(x).sum(x, axis=axis, keepdims=keepdims),
              lambda g, ans, x, axis=None, keepdims=False: _expand(g, x, axis, keepdims), saves=(), formulas=("{g}",),
              fast=np.add.reduce, fast_takes_out=False, names=(), cost="reduction")
mean = defprim("mean", lambda x, axis=None, keepdims=False: xp(x).mean(x, axis=axis, keepdims=keepdims),
               lambda g, ans, x, axis=None, keepdims=False: _expand(g, x, axis, keepdims) / builtins.max(_count(x, axis), 1),
               saves=(), formulas=("{g} / n",), names=(), cost="reduction")


def _extremum_vjp(g, ans, x, axis=None, keepdims=False):
    hits = _factor(x == _expand(ans, x, axis, keepdims), x)  # ties share the gradient evenly
    return _expand(g, x, axis, keepdims) * hits / sum(hits, axis=axis, keepdims=True)


max = defprim("max", _real_only(lambda x, axis=None, keepdims=False: xp(x).max(x, axis=axis, keepdims=keepdims)),
              _extremum_vjp,
              saves=(0, "ans"), formulas=("{g} · [{0} = max]",), names=(), cost="reduction")
min = defprim("min", _real_only(lambda x, axis=None, keepdims=False: xp(x).min(x, axis=axis, keepdims=keepdims)),
              _extremum_vjp,
              saves=(0, "ans"), formulas=("{g} · [{0} = min]",), names=(), cost="reduction")


def _has_zero(x) -> bool:
    raw = _raw(x)
    return bool((raw == 0).any()) if type(raw) is np.ndarray else bool(xp(raw).any(raw == 0))


def _prod_of_others(x, axis):
    """Product of all the other elements along the reduced axes: exclusive products from both sides,
    written with differentiable operations (exact at zeros, also for second derivatives)."""
    n, axes = ndim_of(x), _axes(axis, ndim_of(x))
    kept = [i for i in range(n) if i not in axes]
    moved = transpose(x, tuple(kept + list(axes)))
    flat = reshape(moved, tuple(shape_of(x)[i] for i in kept) + (math.prod(shape_of(x)[a] for a in axes),))
    ones = xp(x).ones(shape_of(flat)[:-1] + (1,), dtype=x.dtype)
    left = cumprod(concatenate(ones, flat[..., :-1], axis=-1), -1)
    right = flip(cumprod(concatenate(ones, flip(flat, -1)[..., :-1], axis=-1), -1), -1)
    return transpose(reshape(left * right, shape_of(moved)), tuple(np.argsort(kept + list(axes))))


def _prod_vjp(g, ans, x, axis=None, keepdims=False):
    g = _expand(g, x, axis, keepdims)
    if not _has_zero(x):
        return g * _expand(ans, x, axis, keepdims) / x
    return g * _prod_of_others(x, axis)


prod = defprim("prod", lambda x, axis=None, keepdims=False: xp(x).prod(x, axis=axis, keepdims=keepdims), _prod_vjp,
               saves=(0, "ans"), formulas=("{g} · ∏ of the others",), names=(), cost="reduction")
logsumexp = defprim("logsumexp", lambda x, axis=None, keepdims=False: _logsumexp(x, axis, keepdims),
                    lambda g, ans, x, axis=None, keepdims=False: _expand(g, x, axis, keepdims) * exp(x - _expand(ans, x, axis, keepdims)),
                    saves=(0, "ans"), formulas=("{g} · softmax({0})",), names=(), cost="reduction")


def _logsumexp(x, axis, keepdims):
    m = xp(x)
    if math.prod(x.shape) == 0:
        return m.log(m.sum(m.exp(x), axis=axis, keepdims=keepdims))
    top = m.max(m.real(x) if _is_complex(x) else x, axis=axis, keepdims=True)  # a real shift: log(e^top · S) = top + log S exactly
    top = m.where(m.isfinite(top), top, 0)
    out = m.log(m.sum(m.exp(x - top), axis=axis, keepdims=True)) + top
    if keepdims:
        return out
    return m.reshape(out, ()) if axis is None else m.squeeze(out, axis=tuple(axis) if isinstance(axis, list) else axis)


def _row_max(x):
    """``x.max(axis=-1, keepdims=True)``. NumPy reduces a short last axis one row at a time (≈7 µs for 128 × 10
    float32), so a matrix with short rows is reduced down the columns of its transposed copy (≈2 µs)."""
    if x.ndim == 2 and x.shape[1] <= 32 and x.shape[0] > 1:
        return xp(x).ascontiguousarray(x.T).max(axis=0)[:, None]
    return x.max(axis=-1, keepdims=True)


def _softmax(x, axis=-1):
    m = xp(x)
    if m is not np:  # the array API's functions (no methods, no out=)
        x = _float_dtype(x)
        e = m.exp(x - m.max(m.real(x) if _is_complex(x) else x, axis=axis, keepdims=True))
        return e / m.sum(e, axis=axis, keepdims=True)
    # NumPy's methods, in place: fast
    shift = x.real if x.dtype.kind == "c" else x  # (any shift gives the same softmax; a real one is stable)
    e = x - (_row_max(shift) if axis in (-1, x.ndim - 1) else shift.max(axis=axis, keepdims=True))
    if e.dtype.kind not in "fc":
        e = e.astype(float)
    xp(x).exp(e, out=e)
    e /= e.sum(axis=axis, keepdims=True)
    return e


softmax = defprim("softmax", _softmax,
                  lambda g, ans, x, axis=-1: ans * (g - sum(g * ans, axis=axis, keepdims=True)),
                  saves=("ans",), formulas=("{ans} ∘ ({g} - Σ {g} ∘ {ans})",), names=(), cost="reduction")
log_softmax = defprim("log_softmax", lambda x, axis=-1: x - _logsumexp(x, axis, True),
                      lambda g, ans, x, axis=-1: g - exp(ans) * sum(g, axis=axis, keepdims=True),
                      saves=("ans",), formulas=("{g} - softmax({0}) Σ {g}",), names=(), cost="reduction")

def _softmax_cross_entropy(z, labels):
    m = xp(z)
    if m is not np:  # the array API's functions; the labels' entries taken along the class axis
        labels = _on_device_of(labels, z)
        shifted = z - m.max(z, axis=-1, keepdims=True)
        picked = m.take_along_axis(shifted, m.reshape(labels, (-1, 1)), axis=-1)[:, 0]
        return m.sum(m.log(m.sum(m.exp(shifted), axis=-1)) - picked) / labels.shape[0]
    shifted = z - _row_max(z)
    picked = shifted[m.arange(len(labels)), labels]
    return (m.log(m.exp(shifted).sum(axis=-1)) - picked).sum() / len(labels)  # (.mean() costs more)


def _softmax_cross_entropy_vjp(g, ans, z, labels):
    n, classes = shape_of(z)
    if type(z) is np.ndarray and type(labels) is np.ndarray and type(g) is np.ndarray and g.dtype == z.dtype:
        # NumPy arrays: the same arithmetic in place — softmax, 1 off at each label, times g, over n
        p = _softmax(z, -1)
        p[np.arange(n), labels] -= 1
        return np.divide(np.multiply(g, p, out=p), n, out=p)
    # (a negative label picks from the end in the forward, so here too; primitives: compile replays them)
    onehot = equal(reshape(mod(_on_device_of(labels, z), classes), (-1, 1)), xp(z).arange(classes))
    onehot = _factor(onehot, z)
    return g * (softmax(z, axis=-1) - onehot) / n


# the mean over the batch of −log softmax(z)[label]: a loss, fused because it pays (one pass, stable)
softmax_cross_entropy = defprim("softmax_cross_entropy", _softmax_cross_entropy, _softmax_cross_entropy_vjp, None,
                                saves=(0, 1), formulas=("{g} · (softmax({0}) − onehot({1})) / n", None),
                                names=(), cost="reduction")

cumsum = defprim("cumsum", lambda x, axis: xp(x).cumsum(x, axis=axis),
                 lambda g, ans, x, axis: flip(cumsum(flip(g, axis), axis), axis), saves=(), formulas=("reverse cumsum of {g}",),
                 names=(), cost="reduction")


def _cumprod_vjp(g, ans, x, axis):
    # ∂ans_j/∂x_i = ans_j / x_i for j ≥ i; with zeros, ∏_{k<i} x_k · ∏_{i<k≤j} x_k, from an (i, j) triangle
    if not _has_zero(x):
        return flip(cumsum(flip(g * ans, axis), axis), axis) / x
    xm, gm = swapaxes(x, axis, -1), swapaxes(g, axis, -1)
    n = shape_of(xm)[-1]
    m = xp(x)
    after = m.arange(n)[None, :] > m.arange(n)[:, None]  # [i, k]: k > i
    between = cumprod(where(after, xm[..., None, :], 1), -1)  # [i, j]: ∏_{i<k≤j} x_k
    left = cumprod(concatenate(m.ones(shape_of(xm)[:-1] + (1,), dtype=x.dtype), xm[..., :-1], axis=-1), -1)
    inner = sum(where(after | (m.eye(n) != 0), gm[..., None, :] * between, 0), axis=-1)
    return swapaxes(left * inner, axis, -1)


cumprod = defprim("cumprod", lambda x, axis: xp(x).cumprod(x, axis=axis), _cumprod_vjp,
                  saves=(0, "ans"), formulas=("Σ_{j≥i} {g}_j · {ans}_j / {0}_i",), names=(), cost="reduction")

# ---- shapes and copies ---------------------------------------------------------------------------------
def _inverse_permutation(axes, x) -> tuple:
    n = ndim_of(x)
    return tuple(int(i) for i in np.argsort([int(a) % n for a in axes]))  # negative axes count from the end


reshape = defprim("reshape", lambda x, shape, order="C": xp(x).reshape(x, shape, order=order),
                  lambda g, ans, x, shape, order="C": reshape(g, shape_of(x), order=order), saves=(), formulas=("{g}",),
                  names=(), cost="movement")
transpose = defprim("transpose", lambda x, axes=None: xp(x).transpose(x, axes),
                    lambda g, ans, x, axes=None: transpose(g, None if axes is None else _inverse_permutation(axes, x)),
                    saves=(), formulas=("{g}ᵀ",), names=(), cost="movement")
broadcast_to = defprim("broadcast_to", lambda x, shape: xp(x).broadcast_to(x, shape),
                       lambda g, ans, x, shape: unbroadcast(g, x), saves=(), formulas=("Σ {g} over the broadcast axes",),
                       names=(), cost="movement")
flip = defprim("flip", lambda x, axis=None: xp(x).flip(x, axis), lambda g, ans, x, axis=None: flip(g, axis),
               saves=(), formulas=("flip({g})",), names=(), cost="movement")
roll = defprim("roll", lambda x, shift, axis=None: xp(x).roll(x, shift, axis),
               lambda g, ans, x, shift, axis=None: roll(g, _negate(shift), axis), saves=(), formulas=("roll({g}, -shift)",),
               names=(), cost="movement")


def _negate(shift):
    return tuple(-s for s in shift) if isinstance(shift, tuple | list) else -shift


def _concatenate_vjp(position, g, ans, *xs, axis=0):
    if axis is None:
        start = builtins.sum(math.prod(shape_of(x)) for x in xs[:position])
        return reshape(g[start:start + math.prod(shape_of(xs[position]))], shape_of(xs[position]))
    axis = axis % ndim_of(g)
    start = builtins.sum(shape_of(x)[axis] for x in xs[:position])
    index = (slice(None),) * axis + (slice(start, start + shape_of(xs[position])[axis]), Ellipsis)
    return g[index]


concatenate = defprim("concatenate", lambda *xs, axis=0: xp(*xs).concatenate(xs, axis=axis), _concatenate_vjp,
                      formulas=("{g} sliced",), variadic=True, saves=(), names=(), cost="movement")

# ---- indexing ------------------------------------------------------------------------------------------


def _is_basic(index) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return builtins.all(i is None or i is Ellipsis or isinstance(i, int | np.integer | slice) for i in items)


def _index_for(x, index):
    """``index`` for another library's array ``x``: NumPy index arrays and lists moved into that library, and
    a trailing ``...`` where the index names fewer axes than ``x`` has (the standard asks for one)."""
    items = index if isinstance(index, tuple) else (index,)
    items = tuple(_on_device_of(i, x) for i in items)
    m = xp(x)
    named = builtins.sum(i.ndim if hasattr(i, "dtype") and not isinstance(i, np.generic) and m.isdtype(i.dtype, "bool")
                         else 1 for i in items if i is not None and i is not Ellipsis)
    if named < ndim_of(x) and not builtins.any(i is Ellipsis for i in items):
        items += (Ellipsis,)
    return items if len(items) > 1 or isinstance(index, tuple) else items[0]


def _getitem_forward(x, index):
    if type(x) is np.ndarray:
        return x[index]
    items = _index_for(x, index)
    items = items if isinstance(items, tuple) else (items,)
    arrays = [k for k, i in enumerate(items) if hasattr(i, "dtype") and not isinstance(i, np.generic)]
    if len(arrays) != 1 or len(items) == 1 or xp(x).isdtype(items[arrays[0]].dtype, "bool"):
        return x[items if len(items) > 1 else items[0]]
    # one integer array among slices (the standard indexes with arrays alone): the slices first, then the
    # array's entries taken along its axis, which stays in its place (NumPy's rule for one index array)
    m, k = xp(x), arrays[0]
    array = items[k]
    basic = x[items[:k] + (slice(None),) + items[k + 1:]]
    named = builtins.sum(1 for i in items if i is not None and i is not Ellipsis)
    axis = builtins.sum((ndim_of(x) - named) if i is Ellipsis else 0 if isinstance(i, int | np.integer) else 1
                        for i in items[:k])
    n = basic.shape[axis]
    taken = m.take(basic, m.reshape(m.remainder(array, n), (-1,)), axis=axis)
    taken = m.reshape(taken, basic.shape[:axis] + array.shape + basic.shape[axis + 1:])
    advanced = [j for j, i in enumerate(items) if isinstance(i, int | np.integer)] + [k]
    if builtins.max(advanced) - builtins.min(advanced) + 1 != len(advanced):  # integers apart from the array:
        moved = tuple(range(axis, axis + array.ndim))  # its axes go first (NumPy's rule)
        taken = m.moveaxis(taken, moved, tuple(range(array.ndim)))
    return taken


def _scatter_add_by_comparison(m, shape, dtype, index, g):
    """``zeros(shape)`` with ``g`` added at ``index`` (repeats accumulate), for a library without a scatter-add
    (the array API has none): each entry's flat position compared with every slot, in chunks, and the matches
    summed. Exact sums, in O(len(g) · size) time: the price of the standard's missing scatter."""
    size = math.prod(shape)
    positions = m.reshape(_getitem_forward(m.reshape(m.arange(size), shape), index), (-1,))
    values = m.reshape(m.broadcast_to(g, positions.shape if not shape_of(g) else shape_of(g)), (-1,))
    slots = m.arange(size)[None, :]
    total = m.zeros(size, dtype=dtype)
    step = builtins.max(1, (1 << 22) // builtins.max(size, 1))
    for start in range(0, positions.shape[0], step):
        chunk = slice(start, builtins.min(start + step, positions.shape[0]))
        hits = positions[chunk, None] == slots
        total = total + m.sum(m.where(hits, values[chunk, None], 0), axis=0)
    return m.reshape(total, shape)


def _scatter_forward(g, index, shape, dtype):
    m = xp(g)
    if _is_basic(index):
        out = m.zeros(shape, dtype=dtype)
        if m is np:
            out[index] = g
            return out
        items = _index_for(out, index)
        items = items if isinstance(items, tuple) else (items,)
        if builtins.any(i is None for i in items):  # (the standard assigns through no new axes)
            items = tuple(i for i in items if i is not None)
            g = m.reshape(g, out[items].shape)
        out[items] = g
        return out
    if m is np or hasattr(getattr(m, "add", None), "at"):  # NumPy's (and CuPy's) scatter-add
        out = m.zeros(shape, dtype=dtype)
        m.add.at(out, index, g)  # repeated indices accumulate
        return out
    return _scatter_add_by_comparison(m, shape, dtype, index, g)


def _setitem_forward(x, index, value):  # the order of operator.setitem
    if type(x) is np.ndarray:
        out = x.copy()
        out[index] = value
        return out
    out = xp(x).asarray(x, copy=True)
    out[_index_for(out, index)] = value
    return out


getitem = defprim("getitem", _getitem_forward,
                  lambda g, ans, x, index: scatter(g, index, shape_of(x), x.dtype), saves=(1,), formulas=("{g} scattered",),
                  cost="movement")
scatter = defprim("scatter", _scatter_forward,
                  lambda g, ans, values, index, shape, dtype: getitem(g, index), saves=(1,), formulas=("{g} gathered",),
                  names=(), cost="movement")
setitem = defprim("setitem", _setitem_forward,
                  lambda g, ans, x, index, value: setitem(g, index, 0), None,
                  lambda g, ans, x, index, value: unbroadcast(getitem(g, index), value),
                  saves=(1,), formulas=("{g} with the assigned entries zeroed", None, "{g} at the assigned entries"),
                  cost="movement")

def _bincount_forward(x, weights, minlength=0):
    """``numpy.bincount(x, weights=weights, minlength=minlength)``: the weights summed per integer of ``x``."""
    m = xp(x, weights)
    try:
        own = m.bincount
    except NamespaceError:  # (not in the array API standard) the scatter-add by comparison
        x = m.asarray(x)
        if len(shape_of(x)) != 1 or not m.isdtype(x.dtype, "integral") or (shape_of(x)[0] and m.min(x) < 0):
            raise ValueError("chainrule.bincount: x must be 1-D non-negative integers") from None
        length = builtins.max(int(minlength), int(m.max(x)) + 1 if shape_of(x)[0] else 0)
        return _scatter_add_by_comparison(m, (length,), m.float64, x, m.astype(weights, m.float64))
    return own(x, weights=weights, minlength=minlength)


def _bincount_vjp(g, ans, x, weights, minlength=0):
    """Each weight went into the bin of its integer: its error signal is that bin's, ḡ[x] (a gather)."""
    gathered = getitem(g, x)
    return gathered if gathered.dtype == weights.dtype else astype(gathered, weights.dtype)


# numpy.bincount with weights (chainrule.numpy.bincount calls it); without weights the counts are values-only
bincount = defprim("bincount", _bincount_forward, None, _bincount_vjp, saves=(0,), formulas=(None, "{g}[{0}]"),
                   names=(), cost="movement")

# ---- linear algebra ------------------------------------------------------------------------------------


def _transposed(x):
    return x.T if isinstance(x, np.ndarray | Tensor) else transpose(x)  # a method: no primitive call on arrays


def outer_product(a, b) -> bool:
    """Whether ``a @ b`` multiplies real NumPy arrays of one or two dimensions along an inner dimension of 1
    (an outer product: a batch of one). Each element is then one rounded product, so ``np.dot`` gives exactly
    what ``np.matmul`` does, many times faster (NumPy's matmul takes a slow loop there). Not complex ones: BLAS
    may fuse a complex product's multiply-adds where matmul's loop does not, a last-bit difference."""
    return type(a) is np.ndarray and type(b) is np.ndarray and 1 <= a.ndim <= 2 and 1 <= b.ndim <= 2 \
        and a.shape[-1] == 1 and a.dtype.kind == "f" and b.dtype.kind == "f"


def _product(a, b):
    """``a @ b``: NumPy's own operator on arrays (``np.dot`` for an outer product), recorded on Tensors."""
    return np.dot(a, b) if outer_product(a, b) else a @ b


def _matmul_forward(a, b):
    if type(a) is np.ndarray and type(b) is np.ndarray:  # (no array-module lookup on the common path)
        return np.dot(a, b) if outer_product(a, b) else np.matmul(a, b)
    return xp(a, b).matmul(a, b)


def _matmul_vjp(position, g, ans, a, b):
    if type(g) is np.ndarray and type(a) is np.ndarray and type(b) is np.ndarray and a.ndim == 2 == b.ndim:
        return _product(g, b.T) if position == 0 else _product(a.T, g)  # (the common case, without helpers)
    da, db = ndim_of(a), ndim_of(b)
    if da == 2 and db == 2:
        return _product(g, _transposed(b)) if position == 0 else _product(_transposed(a), g)
    if da == 1 and db == 1:
        return g * b if position == 0 else g * a
    a2 = a if da > 1 else reshape(a, (1,) + shape_of(a))
    b2 = b if db > 1 else reshape(b, shape_of(b) + (1,))
    out_shape = np.broadcast_shapes(shape_of(a2)[:-2], shape_of(b2)[:-2]) + (shape_of(a2)[-2], shape_of(b2)[-1])
    g2 = reshape(g, out_shape)
    if position == 0:
        return reshape(unbroadcast(matmul(g2, swapaxes(b2, -1, -2)), a2), shape_of(a))
    return reshape(unbroadcast(matmul(swapaxes(a2, -1, -2), g2), b2), shape_of(b))


matmul = defprim("matmul", _matmul_forward,
                 lambda g, ans, a, b: _matmul_vjp(0, g, ans, a, b),
                 lambda g, ans, a, b: _matmul_vjp(1, g, ans, a, b), saves=(0, 1), formulas=("{g} {1}ᵀ", "{0}ᵀ {g}"),
                 fast=np.matmul, names=(), cost="matmul")


def _tensordot_axes(a_ndim, b_ndim, axes):
    if isinstance(axes, int | np.integer):
        return list(range(a_ndim - axes, a_ndim)), list(range(axes))
    ia, ib = axes
    ia = [int(i) % a_ndim for i in (ia if isinstance(ia, list | tuple) else [ia])]
    ib = [int(i) % b_ndim for i in (ib if isinstance(ib, list | tuple) else [ib])]
    return ia, ib


def _tensordot_vjp(position, g, ans, a, b, axes=2):
    ia, ib = _tensordot_axes(ndim_of(a), ndim_of(b), axes)
    a_free = [i for i in range(ndim_of(a)) if i not in ia]
    b_free = [j for j in range(ndim_of(b)) if j not in ib]
    g_axes = list(range(ndim_of(g)))
    if position == 0:
        ga = tensordot(g, b, axes=(g_axes[len(a_free):], b_free))
        order = a_free + [ia[ib.index(j)] for j in builtins.sorted(ib)]
        return transpose(ga, tuple(np.argsort(order)))
    gb = tensordot(a, g, axes=(a_free, g_axes[:len(a_free)]))
    order = [ib[ia.index(i)] for i in builtins.sorted(ia)] + b_free
    return transpose(gb, tuple(np.argsort(order)))


tensordot = defprim("tensordot", lambda a, b, axes=2: xp(a, b).tensordot(a, b, axes),
                    lambda *args, **kw: _tensordot_vjp(0, *args, **kw),
                    lambda *args, **kw: _tensordot_vjp(1, *args, **kw), saves=(0, 1), formulas=("{g} · {1}", "{0} · {g}"),
                    names=(), cost="contraction")

_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _einsum_parse(subscripts: str, shapes):
    """Explicit form: one subscript per operand (ellipses kept) and the output subscript."""
    subscripts = subscripts.replace(" ", "")
    inputs, _, output = subscripts.partition("->")
    terms = inputs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"einsum: {len(terms)} subscripts for {len(shapes)} operands")
    if "->" not in subscripts:  # implicit mode: letters seen once, sorted
        letters = "".join(terms).replace(".", "")
        output = ("..." if "..." in inputs else "") + "".join(builtins.sorted(c for c in set(letters) if letters.count(c) == 1))
    return terms, output


def _einsum_vjp(position, g, ans, subscripts, *operands):
    """Contract ``g`` with the other operands back to this operand's subscripts. A repeated letter (a
    diagonal, 'ii') gets a fresh name tied to the first by an identity; a letter summed in this operand
    alone is broadcast back by a vector of ones; ellipsis dimensions are computed in front, unbroadcast,
    then moved to their place."""
    k = position - 1
    terms, output = _einsum_parse(subscripts, [shape_of(o) for o in operands])
    target, x = terms[k], operands[k]
    others = [t for i, t in enumerate(terms) if i != k]
    other_ops = [o for i, o in enumerate(operands) if i != k]
    fresh = iter(c for c in _LETTERS if c not in subscripts)
    head, has_ellipsis, tail = target.partition("...")
    shape = shape_of(x)
    n_ellipsis = len(shape) - len(head) - len(tail)
    sizes = shape[:len(head)] + shape[len(shape) - len(tail):]
    ellipsis_shape = shape[len(head):len(head) + n_ellipsis]
    dtype = getattr(g, "dtype", None)
    result, extra_terms, extra_ops = "", [], []
    for c, size in zip(head + tail, sizes, strict=True):
        if c in result:
            new = next(fresh)
            extra_terms.append(c + new)
            extra_ops.append(xp(g).eye(size, dtype=dtype))
            c = new
        result += c
    inputs = [output] + others + extra_terms
    for c, size in zip(result, sizes, strict=True):
        if c not in "".join(inputs):
            inputs.append(c)
            extra_ops.append(xp(g).ones(size, dtype=dtype))
    lead = "..." if "..." in "".join(inputs) else ""
    grad = einsum(",".join(inputs) + "->" + lead + result, g, *other_ops, *extra_ops)
    grad = unbroadcast(grad, ellipsis_shape + sizes)
    if n_ellipsis and head:  # ellipsis dimensions back between head and tail
        order = list(range(n_ellipsis, n_ellipsis + len(head))) + list(range(n_ellipsis)) + \
            list(range(n_ellipsis + len(head), len(shape)))
        grad = transpose(grad, tuple(order))
    return grad


einsum = defprim("einsum", lambda subscripts, *ops: xp(*ops).einsum(subscripts, *ops), _einsum_vjp,
                 formulas=("einsum of {g} with the other operands",), variadic=True, names=(), cost="contraction")


def _diagonal(x, offset, axis1, axis2):
    d = xp(x).diagonal(x, offset, axis1, axis2)
    return d.copy() if type(d) is np.ndarray else d  # (NumPy's is a read-only view)


def _diagonal_embed(g, shape, offset, axis1, axis2):
    m = xp(g)
    if m is not np:  # no fancy assignment in the array API: out = R (g ∘ C) with 0/1 matrices placing the entries
        axes = (axis1 % len(shape), axis2 % len(shape))
        n, k, length = shape[axes[0]], shape[axes[1]], shape_of(g)[-1]
        first = builtins.max(0, -offset)
        rows = m.astype(m.arange(n)[:, None] == m.arange(length)[None, :] + first, g.dtype)
        columns = m.astype(m.arange(length)[:, None] + (first + offset) == m.arange(k)[None, :], g.dtype)
        return m.moveaxis(m.matmul(rows, g[..., :, None] * columns), (-2, -1), axes)
    out = m.zeros(shape, dtype=g.dtype)
    moved = m.moveaxis(out, (axis1 % len(shape), axis2 % len(shape)), (-2, -1))  # a view into `out`
    n, k = moved.shape[-2:]
    rows = m.arange(builtins.max(0, -offset), builtins.min(n, k - offset))
    moved[..., rows, rows + offset] = g
    return out


diagonal = defprim("diagonal", lambda x, offset=0, axis1=0, axis2=1: _diagonal(x, offset, axis1, axis2),
                   lambda g, ans, x, offset=0, axis1=0, axis2=1: diagonal_embed(g, shape_of(x), offset, axis1, axis2),
                   saves=(), formulas=("{g} placed on the diagonal",), names=(), cost="movement")
diagonal_embed = defprim("diagonal_embed", _diagonal_embed,
                         lambda g, ans, d, shape, offset, axis1, axis2: diagonal(g, offset, axis1, axis2),
                         saves=(), formulas=("diagonal of {g}",), names=(), cost="movement")


def _inv_t(x):
    return swapaxes(inv(x), -1, -2)


inv = defprim("inv", lambda x: xp(x).linalg.inv(x),
              lambda g, ans, x: -matmul(matmul(swapaxes(ans, -1, -2), g), swapaxes(ans, -1, -2)),
              saves=("ans",), formulas=("-A⁻ᵀ {g} A⁻ᵀ",), names=("numpy.linalg.inv",), cost="cubic")


def _raw(x):
    return x.data if isinstance(x, Tensor) else x


def _any(a) -> bool:
    return bool(a.any()) if type(a) is np.ndarray else bool(xp(a).any(a))


def _singular_values(x):
    """The singular values of the array ``x`` (the standard's ``svdvals``; NumPy's ``svd(compute_uv=False)``)."""
    m = xp(x)
    if m is np or not hasattr(m.linalg, "svdvals"):
        return m.linalg.svd(x, compute_uv=False)
    return m.linalg.svdvals(x)


def _cofactor(x):
    """The cofactor matrix adj(A)ᵀ, which is ∂det/∂A also where A is singular: from A = U S Vᴴ,
    adj(A)ᵀ = det(U) det(Vᴴ) · conj(U) diag(∏_{j≠i} s_j) conj(Vᴴ) (U, V unitary, adj(U) = det(U) Uᴴ)."""
    u, s, vh = svd(x)
    m = xp(x)
    phase = m.linalg.det(_raw(u)) * m.linalg.det(_raw(vh))  # ±1 for a real A: piecewise constant
    others = _prod_of_others(s, -1)
    return phase[..., None, None] * matmul(_conj(u) * others[..., None, :], _conj(vh))


def _det_vjp(g, ans, x):
    # adj(A)ᵀ: det(A) A⁻ᵀ for a well-conditioned A; from the SVD (_cofactor) for a singular or nearly singular
    # one, where det(A) A⁻ᵀ is 0 · ∞ (or loses every digit)
    column = shape_of(ans) + (1, 1)
    s = _singular_values(_raw(x)) if shape_of(x)[-1] else None
    m = xp(s)
    if s is None or bool(m.all(s[..., -1] > s[..., 0] * math.sqrt(m.finfo(s.dtype).eps))):
        return reshape(g * ans, column) * _inv_t(x)
    if isinstance(x, Tensor):  # the rule is recorded (create_graph): it will be differentiated again
        small = m.astype(s <= s[..., :1] * shape_of(x)[-1] * m.finfo(s.dtype).eps, m.int64)
        if int(m.max(m.sum(small, axis=-1))) >= 2:
            raise TypeError("derivatives of det beyond the first at a matrix of rank ≤ n − 2 are not supported "
                            "(its cofactor matrix comes from the SVD, whose singular vectors are not unique there)")
    return reshape(g, column) * _cofactor(x)


def _logabsdet_vjp(g, ans, x):
    # log|det A|: ḡ · A⁻ᵀ, also for complex A (the real part of the holomorphic log det)
    if _any(_raw(ans) == -math.inf):
        raise np.linalg.LinAlgError("chainrule.slogdet: the matrix is singular: log|det| is −inf and has no gradient")
    return reshape(g, shape_of(ans) + (1, 1)) * _inv_t(x)


def _slogdet_sign_vjp(g, ans, x):
    # sign = det/|det|, piecewise constant for a real A; for a complex A, d sign = i · sign · Im tr(A⁻¹ dA),
    # so Ā = i · Im(ḡ · sign) · A⁻ᵀ
    if not _is_complex(x):
        return xp(x).zeros(shape_of(x), dtype=x.dtype)
    return reshape(1j * real(-1j * (g * ans)), shape_of(ans) + (1, 1)) * _inv_t(x)  # (Re(−i w) = Im w)


det = defprim("det", lambda x: xp(x).linalg.det(x), _det_vjp, saves=(0, "ans"), formulas=("{g} · adj(A)ᵀ",),
              names=("numpy.linalg.det",), cost="cubic")
logabsdet = defprim("logabsdet", lambda x: xp(x).linalg.slogdet(x)[1], _logabsdet_vjp, saves=(0, "ans"),
                    formulas=("{g} · A⁻ᵀ",), names=(), cost="cubic")
slogdet_sign = defprim("slogdet_sign", lambda x: xp(x).linalg.slogdet(x)[0], _slogdet_sign_vjp, saves=(0, "ans"),
                       formulas=("i Im({g} · sign) · A⁻ᵀ",), names=(), cost="cubic")


def _solve_forward(a, b):
    m = xp(a, b)
    return m.linalg.solve(a, b)


def _solve_vjp(position, g, ans, a, b):
    vector = ndim_of(b) == 1
    if vector:  # (as a column: a stack of error signals is not a matrix right-hand side)
        gb = solve(swapaxes(a, -1, -2), reshape(g, shape_of(g) + (1,)))[..., 0]
    else:
        gb = solve(swapaxes(a, -1, -2), g)
    if position == 1:
        return unbroadcast(gb, b)
    if vector:
        return -gb[..., :, None] * ans[..., None, :]
    return unbroadcast(-matmul(gb, swapaxes(ans, -1, -2)), a)


solve = defprim("solve", _solve_forward,
                lambda g, ans, a, b: _solve_vjp(0, g, ans, a, b),
                lambda g, ans, a, b: _solve_vjp(1, g, ans, a, b), saves=(0, "ans"), formulas=("-Aᵀ⁻¹{g} xᵀ", "Aᵀ⁻¹ {g}"),
                names=("numpy.linalg.solve",), cost="cubic")


def _cholesky_vjp(g, ans, x):
    # Murray (2016): Ā = ½ L⁻ᵀ (Φ(Lᵀ L̄) + Φ(Lᵀ L̄)ᵀ) L⁻¹, Φ = lower triangle with the diagonal halved
    # (complex, A = L Lᴴ Hermitian: Ā = ½ L⁻ᵀ Φ(Lᵀ L̄) conj(L)⁻¹ + its conjugate transpose)
    n = shape_of(x)[-1]
    m = xp(x)
    lower = m.tril(m.ones((n, n))) - 0.5 * m.eye(n)
    phi = matmul(swapaxes(ans, -1, -2), g) * lower
    l_inv = inv(ans)
    middle = matmul(matmul(swapaxes(l_inv, -1, -2), phi), _conj(l_inv))
    return 0.5 * (middle + _conj(swapaxes(middle, -1, -2)))


cholesky = defprim("cholesky", lambda x: xp(x).linalg.cholesky(x), _cholesky_vjp,
                   formulas=("½ L⁻ᵀ (Φ(Lᵀ L̄) + Φ(Lᵀ L̄)ᵀ) L⁻¹",), names=("numpy.linalg.cholesky",), cost="cubic")


def _over_gaps(numerator, gaps):
    """numerator_ij / gaps_ij off the diagonal, 0 on it: the F ∘ (...) terms, F_ij = 1/(λⱼ − λᵢ), of the
    eigenvector and singular-vector rules. Where two eigenvalues are exactly equal, their eigenvectors are any
    basis of the eigenspace and have no derivative: NaN there (as PyTorch's and JAX's 0/0 or x/0), except
    where the numerator is 0 (a loss of the eigenvalues alone), which is exact (docs/conventions.md)."""
    distinct = not_equal(gaps, 0)
    off_diagonal = xp(gaps).eye(shape_of(gaps)[-1]) == 0
    undefined = logical_and(logical_and(off_diagonal, logical_not(distinct)), not_equal(numerator, 0))
    return where(distinct, numerator / where(distinct, gaps, 1), where(undefined, math.nan, 0))


def _eigh_vjp(g, ans, x, UPLO="L"):
    # Ā = conj(V) (diag(w̄) + F ∘ VᵀV̄) Vᵀ, its Hermitian part (the gradient w.r.t. a Hermitian input),
    # F_ij = 1/(w_j − w_i) (see _over_gaps). Complex eigenvectors: for losses invariant to their phases.
    (gw, gv), (w, v) = g, ans
    vt = swapaxes(v, -1, -2)
    differences = w[..., None, :] - w[..., :, None]
    inner = gw[..., :, None] * xp(x).eye(shape_of(w)[-1]) + _over_gaps(matmul(vt, gv), differences)
    result = matmul(matmul(_conj(v), inner), vt)
    return 0.5 * (result + _conj(swapaxes(result, -1, -2)))


def _lower(function, x, UPLO):
    """``numpy.linalg.<function>(x, UPLO)``; the array API's reads the lower triangle, as NumPy's default."""
    m = xp(x)
    if m is np:
        return getattr(m.linalg, function)(x, UPLO=UPLO)
    if UPLO not in ("L", "l"):
        raise NamespaceError(f"chainrule: {function}(UPLO={UPLO!r}) is not available for {m.name} (the array API's "
                             f"{function} takes no UPLO)")
    return getattr(m.linalg, function)(x)


eigh = defprim("eigh", lambda x, UPLO="L": tuple(_lower("eigh", x, UPLO)), _eigh_vjp, n_outputs=2,
               formulas=("V (diag(w̄) + F ∘ VᵀV̄) Vᵀ, symmetrised",), names=(), cost="cubic")


def _eigvalsh_vjp(g, ans, x, UPLO="L"):
    # eigenvalues alone: Ā = conj(V) diag(w̄) Vᵀ, with no 1/(λᵢ − λⱼ): right at repeated eigenvalues
    v = eigh(x, UPLO=UPLO)[1]
    return matmul(_conj(v) * g[..., None, :], swapaxes(v, -1, -2))


eigvalsh = defprim("eigvalsh", lambda x, UPLO="L": _lower("eigvalsh", x, UPLO), _eigvalsh_vjp, saves=(0,),
                   formulas=("V diag({g}) Vᵀ",), names=("numpy.linalg.eigvalsh",), cost="cubic")


def _eig_forward(x):
    m = xp(x)
    w, v = m.linalg.eig(x)
    if m is not np and not _is_complex(x) and bool(m.all(m.imag(w) == 0)):
        w, v = m.real(w), m.real(v)  # as NumPy: real arrays when every eigenvalue is real
    return w, v


def _eig_vjp(g, ans, x):
    # A = V diag(w) V⁻¹ with unit-norm columns of V:  Ā = V⁻ᵀ (diag(w̄) + F ∘ (VᵀV̄ − VᵀV (I ∘ VᵀV̄))) Vᵀ,
    # F_ij = 1/(w_j − w_i) off the diagonal
    (gw, gv), (w, v) = g, ans
    vt = swapaxes(v, -1, -2)
    if _is_complex(w):  # (complex eigenvalues, or a complex matrix)
        # the eigenvalues are holomorphic in A: Ā = V⁻ᵀ diag(w̄) Vᵀ. The eigenvectors' normalisation (unit
        # norm, any phase) is not, and has no rule here: refused, unless nothing reaches them
        if isinstance(gv, Tensor) or _any(_raw(gv) != 0):
            raise TypeError("chainrule.linalg.eig: no gradient through complex eigenvectors (complex eigenvalues "
                            "or a complex matrix); the eigenvalues alone are differentiable (eigvals)")
        return matmul(inv(vt), gw[..., :, None] * vt)
    eye = xp(x).eye(shape_of(w)[-1])
    vtgv = matmul(vt, gv)
    inner = gw[..., :, None] * eye + _over_gaps(vtgv - matmul(matmul(vt, v), vtgv * eye),
                                                w[..., None, :] - w[..., :, None])
    return matmul(matmul(inv(vt), inner), vt)


eig = defprim("eig", _eig_forward, _eig_vjp, n_outputs=2,
              formulas=("V⁻ᵀ (diag(w̄) + F ∘ (VᵀV̄ − VᵀV (I ∘ VᵀV̄))) Vᵀ",), names=(), cost="cubic")


def _svd_vjp(g, ans, x, full_matrices=False, compute_uv=True):
    # Written in the conjugate convention (PyTorch's: Ū = conj(ḡ_U), ...) and conjugated at the end, so
    # that the formula reads as in the literature (Townsend 2016; Wan & Zhang 2019 for complex A):
    # Ā = U (F∘(UᴴŪ − ŪᴴU) S + diag(s̄) + S F∘(VᴴV̄ − V̄ᴴV) + i Im diag(UᴴŪ) S⁻¹) Vᴴ + projections.
    # For a real A every conj is a no-op. Complex singular vectors: for losses invariant to their phases.
    (gu, gs, gvh), (u, s, vh) = g, ans
    m, n = shape_of(x)[-2:]
    k = builtins.min(m, n)
    eye = xp(x).eye
    u_h, v = _conj(swapaxes(u, -1, -2)), _conj(swapaxes(vh, -1, -2))
    bar_u, bar_v = _conj(gu), swapaxes(gvh, -1, -2)  # the error signals of U and of V = Vhᴴ
    s2 = s[..., None, :] ** 2 - s[..., :, None] ** 2
    s_mat = s[..., :, None] * eye(k)
    s_inv = (1 / s)[..., :, None] * eye(k)
    uu, vv = matmul(u_h, bar_u), matmul(vh, bar_v)
    j = _over_gaps(uu - _conj(swapaxes(uu, -1, -2)), s2)
    kk = _over_gaps(vv - _conj(swapaxes(vv, -1, -2)), s2)
    inner = matmul(j, s_mat) + gs[..., :, None] * eye(k) + matmul(s_mat, kk)
    if _is_complex(x):  # the phase of each pair of singular vectors: i Im diag(UᴴŪ) / s
        inner = inner + (uu - _conj(uu)) * (0.5 * eye(k)) * (1 / s)[..., None, :]
    core = matmul(matmul(u, inner), vh)
    if m > k:
        core = core + matmul(matmul(eye(m) - matmul(u, u_h), bar_u), matmul(s_inv, vh))
    if n > k:
        bar_v_h = _conj(swapaxes(bar_v, -1, -2))
        core = core + matmul(matmul(u, s_inv), matmul(bar_v_h, eye(n) - matmul(v, vh)))
    return _conj(core)


svd = defprim("svd", lambda x, full_matrices=False, compute_uv=True: tuple(xp(x).linalg.svd(x, full_matrices=False)),
              _svd_vjp, n_outputs=3,
              formulas=("U (F∘(UᵀŪ − ŪᵀU) S + diag(s̄) + S F∘(VᵀV̄ − V̄ᵀV)) Vᵀ + projections",), names=(), cost="cubic")


def _svdvals_vjp(g, ans, x):
    # σᵢ = Re(uᵢᴴ A vᵢ): Ā = conj(U diag(s̄) Vᴴ); no 1/(σᵢ² − σⱼ²), so right at repeated singular values
    u, _, vh = svd(x)  # (differentiated again: the SVD's rule)
    return matmul(_conj(u) * g[..., None, :], _conj(vh))


svdvals = defprim("svdvals", _singular_values, _svdvals_vjp,
                  saves=(0,), formulas=("U diag({g}) Vᵀ",), names=(), cost="cubic")


def _pinv_forward(x, rcond=None, hermitian=False, rtol=None):
    m = xp(x)
    if m is not np:  # (the standard's rtol is NumPy's rcond; hermitian only chooses NumPy's algorithm)
        return m.linalg.pinv(x, rtol=rcond if rtol is None else rtol)
    return m.linalg.pinv(x, rcond=rcond, hermitian=hermitian, **({} if rtol is None else {"rtol": rtol}))


def _pinv_vjp(g, ans, x, rcond=None, hermitian=False, rtol=None):
    # Golub & Pereyra (1973), the derivative along matrices of the same rank (no singular vectors, so
    # nothing divides by σᵢ² − σⱼ²), in the table's convention (bars: conj):
    # Ā = −Pᵀ Ḡ Pᵀ + (I − Ā P̄) Ḡᴴ P̄ Pᵀ + Pᵀ P̄ Ḡᴴ (I − P̄ Ā)   with P = pinv(A)
    p_t, g_h = swapaxes(ans, -1, -2), _conj(swapaxes(g, -1, -2))
    p_c, a_c = _conj(ans), _conj(x)
    left = matmul(g_h, matmul(p_c, p_t))
    right = matmul(matmul(p_t, p_c), g_h)
    return (-matmul(matmul(p_t, g), p_t) + left - matmul(a_c, matmul(p_c, left))
            + right - matmul(matmul(right, p_c), a_c))


pinv = defprim("pinv", _pinv_forward, _pinv_vjp, saves=(0, "ans"),
               formulas=("−Pᵀ {g} Pᵀ + (I − A P) {g}ᵀ P Pᵀ + Pᵀ P {g}ᵀ (I − P A)",), names=("numpy.linalg.pinv",),
               cost="cubic")


def swapaxes(x, axis1, axis2):
    """Swap two axes (differentiable; a transpose)."""
    n = ndim_of(x)
    axes = list(range(n))
    a1, a2 = axis1 % n, axis2 % n
    axes[a1], axes[a2] = axes[a2], axes[a1]
    return transpose(x, tuple(axes))
