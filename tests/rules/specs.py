"""The test table: one spec per differentiable function of ``chainrule.numpy`` and ``chainrule.numpy.linalg``.

It mirrors the rule table (``chainrule/_rules.py``) and the compositions (``chainrule/_composite.py``);
``test_specs.py::test_every_function_has_a_spec`` fails when a function is exported without a spec here.

A spec says how to call the function (``call(f, *arrays, **kwargs)``), which input shapes to try (each
case is a tuple of shapes, one per array argument, plus keyword arguments), where the inputs are drawn
from (``domain``, one per argument), whether second derivatives are checked, and the tolerances.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

import chainrule.numpy as cnp
from chainrule._registry import REGISTRY

# ---- input domains ------------------------------------------------------------------------------------


def _spd(rng, shape):
    a = rng.standard_normal(shape)
    n = shape[-1]
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


def _distinct(rng, shape):
    """Well-separated values in random order (sort, max, median: no ties, no kinks nearby)."""
    size = int(np.prod(shape))
    return (rng.permutation(size) * 0.5 + rng.uniform(0, 0.1, size) - size / 4).reshape(shape)


def _nonzero(rng, shape):
    return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.5, 2.0, shape)


DOMAINS: dict[str, Callable] = {
    "real": lambda rng, shape: rng.standard_normal(shape),
    "positive": lambda rng, shape: rng.uniform(0.5, 2.0, shape),
    "nonzero": _nonzero,
    "unit": lambda rng, shape: rng.uniform(-0.9, 0.9, shape),  # inside (-1, 1)
    "above1": lambda rng, shape: rng.uniform(1.2, 3.0, shape),
    "distinct": _distinct,
    "spd": _spd,  # symmetric positive-definite matrices (..., n, n)
    "square": lambda rng, shape: rng.standard_normal(shape) + 2 * np.eye(*shape[-2:]),  # well-conditioned
    # Gershgorin discs around 1, 2, 3, ... that do not overlap: real, distinct eigenvalues
    "real_eig": lambda rng, shape: 0.05 * rng.standard_normal(shape) + np.diag(np.arange(1.0, shape[-1] + 1)),
    "mod_x": lambda rng, shape: rng.choice([-1.0, 1.0], shape) * rng.uniform(2.2, 2.9, shape),
    "mod_y": lambda rng, shape: rng.uniform(1.0, 1.05, shape),  # x / y stays away from integers
    "prob": lambda rng, shape: rng.uniform(0.1, 0.9, shape),
    "erfc_range": lambda rng, shape: rng.uniform(0.2, 1.8, shape),  # erfcinv's domain is (0, 2)
    "simplex": lambda rng, shape: (lambda u: u / u.sum(axis=-1, keepdims=True))(rng.uniform(0.2, 1.0, shape)),
    "counts": lambda rng, shape: rng.integers(0, 6, shape).astype(float),
}


def draw(domain: str, rng, shape) -> np.ndarray:
    return np.asarray(DOMAINS[domain](rng, shape), dtype=np.float64)


# ---- specs ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    shapes: tuple
    kwargs: dict

    def __repr__(self) -> str:
        extra = "".join(f",{k}={v}" for k, v in self.kwargs.items())
        return "&".join(str(s).replace(" ", "") for s in self.shapes) + extra


@dataclass(frozen=True)
class Spec:
    name: str  # "tanh", or "linalg.det"
    cases: tuple[Case, ...]
    domain: tuple[str, ...] = ("real",)  # one per array argument (the last one repeats)
    call: Callable | None = None  # call(f, *arrays, **kwargs); default f(*arrays, **kwargs)
    order: int = 1  # 2: second derivatives checked too
    rtol: float = 1e-5
    atol: float = 1e-6

    def domain_of(self, i: int) -> str:
        return self.domain[min(i, len(self.domain) - 1)]

    def run(self, f, *arrays, **kwargs):
        return self.call(f, *arrays, **kwargs) if self.call else f(*arrays, **kwargs)


def cases(*items) -> tuple[Case, ...]:
    """Each item: a shape (one argument), a tuple of shapes (several), optionally followed by kwargs."""
    out = []
    for item in items:
        kwargs = {}
        if isinstance(item, list):  # [shapes, kwargs]
            item, kwargs = item
        shapes = (item,) if not item or isinstance(item[0], int) else item
        out.append(Case(tuple(shapes), kwargs))
    return tuple(out)


UNARY = cases((), (4,), (2, 3), (1, 3), (0, 3))
BINARY = cases(((), ()), ((4,), (4,)), ((2, 3), (2, 3)), ((3, 1), (1, 4)), ((2, 3), (3,)), ((), (2, 3)),
               ((1, 3), (2, 1)), ((2, 1, 3), (4, 1)), ((0, 3), (3,)), ((2, 0), (1, 1)))
REDUCE = cases([(2, 3, 4), {}], [(2, 3, 4), {"axis": 1}], [(2, 3, 4), {"axis": -1}],
               [(2, 3, 4), {"axis": (0, 2)}], [(2, 3, 4), {"axis": 1, "keepdims": True}],
               [(2, 3, 4), {"axis": (0, -1), "keepdims": True}], [(2, 3, 4), {"axis": None, "keepdims": True}],
               (), [(1, 3), {"axis": 0}], [(0, 3), {"axis": 1}])
ALONG_AXIS = cases([(5,), {}], [(2, 3), {"axis": 0}], [(2, 3), {"axis": -1}], [(2, 1, 3), {"axis": 1}],
                   [(0, 3), {"axis": 1}])
MATRICES = cases((3, 3), (2, 3, 3), (1, 1))


def unary(name, domain="real", order=2, shapes=UNARY, **kw) -> Spec:
    return Spec(name, shapes, (domain,), order=order, **kw)


def binary(name, domain=("real",), order=2, shapes=BINARY, **kw) -> Spec:
    return Spec(name, shapes, domain, order=order, **kw)


def _sym(x):
    return (x + np.swapaxes(x, -1, -2)) / 2


def _where_mask(*arrays):
    shape = np.broadcast_shapes(*(np.shape(a) for a in arrays))
    return np.indices(shape).sum(axis=0) % 2 == 0 if shape else np.array(True)


def _stack_call(f, *xs, **kw):
    return f(list(xs), **kw)


def _parts(z):
    """A complex result as two real ones (gradcheck differentiates real functions)."""
    return cnp.real(z), cnp.imag(z)


def _complex(re, im):
    return REGISTRY["complex"].primitive(re, im)


def _real_in(f, x, **kw):
    return _parts(f(x, **kw))


def _complex_in(f, re, im, **kw):
    return _parts(f(_complex(re, im), **kw))


def _poisson_call(f, mu):
    return f(np.arange(mu.size).reshape(mu.shape) % 4, mu)  # counts 0, 1, 2, 3, 0, ...


def _odeint_call(f, y0, k):
    def rotation_with_damping(y, t, k):
        return cnp.stack([-k[0] * y[0] + y[1], -y[0] - k[1] * y[1] * y[1]])

    return f(rotation_with_damping, y0, np.array([0.0, 0.4, 1.0]), (k,))


def _put_along_axis_call(f, x, v):
    t = x * 1.0  # a Tensor that is not a leaf: assignment records a node
    f(t, np.array([[0], [2]]), v, axis=1)
    return t


def _vectorize_call(f, x):
    return f(lambda v: v * v if v > 0 else -v * 3.0)(x)


def _piecewise_call(f, x):
    return f(x, [x < -0.5, x > 0.5], [lambda v: v * v, lambda v: cnp.sin(v), 0.25])


def _real_or_complex_in(f, *xs, **kw):
    return (_complex_in if len(xs) == 2 else _real_in)(f, *xs, **kw)


def _complex_in_real_out(f, re, im, **kw):
    return f(_complex(re, im), **kw)


FFT_CASES = cases((4,), (1,), (2, 3), [(2, 3), {"axis": 0}], [(5,), {"n": 8}], [(5,), {"n": 3}],
                  [(2, 4), {"norm": "ortho"}], [(3,), {"norm": "forward"}], (0, 4))
FFT_COMPLEX_CASES = cases(((4,), (4,)), [((2, 3), (2, 3)), {"axis": 0, "n": 5}],
                          [((2, 4), (2, 4)), {"n": 2, "norm": "ortho"}])
IRFFT_CASES = cases(((3,), (3,)), [((3,), (3,)), {"n": 5}], [((4,), (4,)), {"n": 4}], [((1,), (1,)), {"n": 1}],
                    [((3, 2), (3, 2)), {"axis": 0, "norm": "ortho"}], [((2, 3), (2, 3)), {"norm": "forward", "n": 7}],
                    ((0, 3), (0, 3)))
FFTN_CASES = cases((2, 3), [(2, 3, 4), {"axes": (0, 2)}], [(2, 3), {"s": (3, 2)}], [(2, 3, 2), {"s": (4,)}],
                   [(3, 2), {"norm": "ortho"}])
FFT2_CASES = cases((2, 3), (2, 2, 3), [(2, 3), {"s": (3, 4), "norm": "forward"}], [(2, 3, 2), {"axes": (0, 2)}])
IRFFTN_CASES = cases(((2, 3), (2, 3)), [((2, 3, 2), (2, 3, 2)), {"axes": (0, 2)}], [((2, 3), (2, 3)), {"s": (3, 5)}],
                     [((3, 2), (3, 2)), {"norm": "ortho"}])
SHIFT_CASES = cases((5,), (4,), (2, 3), [(2, 3), {"axes": 0}], [(2, 3, 4), {"axes": (0, 2)}], (0,))

_EMPTY_SAFE_PERM = np.array([2, 0, 0, 1])  # with a repeat: gradients must accumulate

SPECS: list[Spec] = [
    # ---- elementwise, one input (second order) -----------------------------------------------------------
    unary("negative"), unary("positive"), unary("copy"), unary("conj"), unary("conjugate"), unary("real"),
    unary("angle", "nonzero"),  # (complex inputs of these: tests/rules/test_complex.py)
    unary("abs", "nonzero"), unary("absolute", "nonzero"), unary("fabs", "nonzero"),
    unary("exp"), unary("exp2"), unary("expm1"),
    unary("log", "positive"), unary("log2", "positive"), unary("log10", "positive"), unary("log1p", "positive"),
    unary("sqrt", "positive"), unary("cbrt", "nonzero"), unary("square"), unary("reciprocal", "nonzero"),
    unary("sin"), unary("cos"), unary("tan", "unit"),
    unary("arcsin", "unit"), unary("arccos", "unit"), unary("arctan"),
    unary("sinh"), unary("cosh"), unary("tanh"),
    unary("arcsinh"), unary("arccosh", "above1"), unary("arctanh", "unit"),
    unary("deg2rad"), unary("rad2deg"), unary("degrees"), unary("radians"),
    unary("sinc"), unary("sigmoid"), unary("relu", "nonzero"), unary("softplus"),
    unary("nan_to_num"),
    Spec("astype", UNARY, call=lambda f, x: f(x, np.float64), order=2),
    Spec("clip", UNARY + cases([(2, 3), {"a_min": None}], [(2, 3), {"a_max": None}]),
         call=lambda f, x, **kw: f(x, **({"a_min": -0.5, "a_max": 0.5} | kw)), order=2),
    # ---- elementwise, two inputs (broadcasting, second order) ------------------------------------------
    binary("add"), binary("subtract"), binary("multiply"),
    binary("divide", ("real", "nonzero")), binary("true_divide", ("real", "nonzero")),
    binary("power", ("positive", "real")),
    binary("maximum", ("distinct",)), binary("minimum", ("distinct",)),
    binary("fmax", ("distinct",)), binary("fmin", ("distinct",)),
    binary("arctan2", ("nonzero",)), binary("hypot", ("nonzero",)),
    binary("logaddexp"), binary("logaddexp2"),
    binary("mod", ("mod_x", "mod_y")), binary("remainder", ("mod_x", "mod_y")), binary("fmod", ("mod_x", "mod_y")),
    Spec("where", BINARY, call=lambda f, x, y: f(_where_mask(x, y), x, y), order=2),
    # ---- reductions ----------------------------------------------------------------------------------
    Spec("sum", REDUCE, order=2), Spec("mean", REDUCE, order=2),
    Spec("prod", REDUCE, ("nonzero",), order=2),
    Spec("max", REDUCE, ("distinct",)), Spec("min", REDUCE, ("distinct",)),
    Spec("amax", REDUCE, ("distinct",)), Spec("amin", REDUCE, ("distinct",)),
    Spec("ptp", REDUCE[:-1], ("distinct",)),
    Spec("var", REDUCE[:-2] + cases([(2, 3, 4), {"axis": 1, "ddof": 1}], [(5,), {"ddof": 1}]), order=2),
    Spec("std", REDUCE[:-2] + cases([(2, 3, 4), {"axis": 1, "ddof": 1}], [(5,), {"ddof": 1}])),
    Spec("logsumexp", REDUCE, order=2),
    Spec("nansum", REDUCE, order=2), Spec("nanmean", REDUCE[:-1], order=2),
    Spec("nanmax", REDUCE[:-1], ("distinct",)), Spec("nanmin", REDUCE[:-1], ("distinct",)),
    Spec("average", REDUCE[:-1] + cases([((2, 3), (2, 3)), {"axis": None}], [((2, 3), (3,)), {"axis": 1}],
                                         [((2, 3, 4), (4, 2)), {"axis": (2, 0), "keepdims": True}]),
         ("real", "positive"), call=lambda f, x, w=None, **kw: f(x, weights=w, **kw)),
    Spec("median", cases((5,), (4,), [(2, 3, 4), {"axis": 1}], [(2, 3, 4), {"axis": (0, 2)}],
                         [(2, 4), {"axis": -1, "keepdims": True}]), ("distinct",)),
    Spec("percentile", cases([(5,), {"q": 30}], [(2, 6), {"q": [10, 50, 90], "axis": 1}],
                             [(2, 3, 4), {"q": 75, "axis": (0, 2), "keepdims": True}]), ("distinct",)),
    Spec("quantile", cases([(5,), {"q": 0.3}], [(2, 6), {"q": [0.1, 0.5], "axis": 0}]), ("distinct",)),
    Spec("cumsum", ALONG_AXIS + cases([(2, 3), {"axis": None}]), order=2),
    Spec("cumprod", ALONG_AXIS + cases([(2, 3), {"axis": None}]), ("nonzero",), order=2),
    Spec("softmax", ALONG_AXIS[:3] + cases([(2, 3, 4), {"axis": 1}]), order=2),
    Spec("log_softmax", ALONG_AXIS[:3] + cases([(2, 3, 4), {"axis": 1}]), order=2),
    Spec("primitives.softmax_cross_entropy", cases((4, 3), (1, 5)),
         call=lambda f, z: f(z, np.arange(z.shape[0]) % z.shape[1]), order=2),
    Spec("diff", cases((5,), [(2, 4), {"axis": 0}], [(3, 4), {"n": 2}],
                       [(3, 4), {"prepend": 0.5, "append": np.ones((3, 1))}], (0, 3))),
    # ---- shapes and copies ---------------------------------------------------------------------------
    Spec("reshape", cases([(2, 3), {"shape": (3, 2)}], [(2, 3), {"shape": (-1,)}], [(), {"shape": (1, 1)}],
                          [(0, 3), {"shape": (3, 0)}], [(2, 3), {"shape": (3, 2), "order": "F"}])),
    Spec("ravel", cases((), (2, 3), (0, 3))),
    Spec("transpose", cases((2, 3), [(2, 3, 4), {"axes": (1, 2, 0)}], (), (0, 3))),
    Spec("permute_dims", cases([(2, 3, 4), {"axes": (2, 0, 1)}])),
    Spec("matrix_transpose", cases((2, 3), (4, 2, 3))),
    Spec("moveaxis", cases([(2, 3, 4), {"source": 0, "destination": -1}],
                           [(2, 3, 4), {"source": (0, 1), "destination": (2, 0)}])),
    Spec("rollaxis", cases([(2, 3, 4), {"axis": 2}], [(2, 3, 4), {"axis": 0, "start": 2}])),
    Spec("swapaxes", cases([(2, 3, 4), {"axis1": 0, "axis2": 2}], [(2, 3), {"axis1": -1, "axis2": 0}])),
    Spec("squeeze", cases((1, 3, 1), [(1, 3, 1), {"axis": 0}], [(1, 3, 1), {"axis": (0, 2)}], (0, 1))),
    Spec("expand_dims", cases([(2, 3), {"axis": 0}], [(2, 3), {"axis": -1}], [(2, 3), {"axis": (0, 2)}],
                              [(), {"axis": 0}])),
    Spec("broadcast_to", cases([(3, 1), {"shape": (2, 3, 4)}], [(), {"shape": (2,)}], [(1, 3), {"shape": (0, 3)}])),
    Spec("broadcast_arrays", cases(((3, 1), (1, 4)), ((2, 3), ()), ((0, 3), (3,)))),
    Spec("atleast_1d", cases((), (3,), ((), (2, 3)))),
    Spec("atleast_2d", cases((), (3,), (2, 3))),
    Spec("atleast_3d", cases((), (3,), (2, 3), (2, 3, 4))),
    Spec("concatenate", cases(((2, 3), (1, 3)), [((2, 3), (2, 1)), {"axis": 1}], [((2, 3), (4,)), {"axis": None}],
                              ((0, 3), (2, 3))), call=_stack_call),
    Spec("concat", cases(((2, 3), (1, 3))), call=_stack_call),
    Spec("stack", cases(((2, 3), (2, 3)), [((2, 3), (2, 3)), {"axis": -1}], ((), ()), ((0, 3), (0, 3))),
         call=_stack_call),
    Spec("vstack", cases(((3,), (3,)), ((2, 3), (3,))), call=_stack_call),
    Spec("row_stack", cases(((3,), (3,))), call=_stack_call),
    Spec("hstack", cases(((3,), (2,)), ((2, 3), (2, 1)), ((), ())), call=_stack_call),
    Spec("dstack", cases(((3,), (3,)), ((2, 3), (2, 3, 2))), call=_stack_call),
    Spec("column_stack", cases(((3,), (3,)), ((3, 2), (3,))), call=_stack_call),
    Spec("append", cases(((2, 3), (4,)), [((2, 3), (1, 3)), {"axis": 0}])),
    Spec("split", cases([(6,), {"indices_or_sections": 3}], [(2, 6), {"indices_or_sections": [1, 4], "axis": 1}])),
    Spec("array_split", cases([(7,), {"indices_or_sections": 3}], [(5, 2), {"indices_or_sections": 2}])),
    Spec("hsplit", cases([(2, 4), {"indices_or_sections": 2}])),
    Spec("vsplit", cases([(4, 2), {"indices_or_sections": 2}])),
    Spec("dsplit", cases([(2, 2, 4), {"indices_or_sections": [1]}])),
    Spec("flip", cases((4,), [(2, 3), {"axis": 0}], [(2, 3, 4), {"axis": (0, 2)}], (0, 3))),
    Spec("fliplr", cases((2, 3))), Spec("flipud", cases((2, 3), (3,))),
    Spec("roll", cases([(5,), {"shift": 2}], [(2, 3), {"shift": -1, "axis": 1}],
                       [(2, 3), {"shift": (1, 2), "axis": (0, 1)}], [(2, 3), {"shift": 4}])),
    Spec("rot90", cases((2, 3), [(2, 3), {"k": 2}], [(2, 3), {"k": -1}], [(2, 3, 4), {"k": 3, "axes": (1, 2)}])),
    Spec("tile", cases([(3,), {"reps": 2}], [(2, 3), {"reps": (2, 1, 2)}], [(), {"reps": 3}])),
    Spec("repeat", cases([(3,), {"repeats": 2}], [(2, 3), {"repeats": [1, 0, 2], "axis": 1}],
                         [(2, 3), {"repeats": 2}])),
    Spec("take", cases([(5,), {"indices": [0, 3, 3]}], [(2, 3), {"indices": [[0, 2]], "axis": 1}],
                       [(2, 3), {"indices": 4}], [(2, 3), {"indices": [-1, 0], "axis": 0}])),
    # the weights' gradient (x, integers, has none): repeated and missing integers, minlength beyond them, none
    Spec("bincount", cases([(6,), {"x": [3, 0, 3, 1, 0, 3]}], [(4,), {"x": [2, 5, 2, 0], "minlength": 9}],
                           [(1,), {"x": [4]}], [(0,), {"x": [], "minlength": 3}]),
         call=lambda f, w, x, **kw: f(np.array(x, dtype=np.intp), weights=w, **kw), order=2),
    Spec("take_along_axis", cases([(2, 3), {"indices": np.array([[0, 2], [1, 1]]), "axis": 1}],
                                  [(3,), {"indices": _EMPTY_SAFE_PERM % 3, "axis": 0}])),
    Spec("pad", cases([(3,), {"pad_width": 2}], [(2, 3), {"pad_width": ((1, 0), (2, 1))}],
                      [(3, 4), {"pad_width": 2, "mode": "edge"}], [(3, 4), {"pad_width": (1, 2), "mode": "reflect"}],
                      [(3, 4), {"pad_width": 2, "mode": "wrap"}], [(3,), {"pad_width": 2, "mode": "symmetric"}],
                      [(2, 2), {"pad_width": 1, "constant_values": 3.0}])),
    Spec("sort", cases((5,), [(2, 3), {"axis": 0}], (2, 3), [(2, 3), {"axis": None}], (0,)), ("distinct",)),
    Spec("partition", cases([(5,), {"kth": 2}], [(2, 4), {"kth": 1, "axis": 0}]), ("distinct",)),
    Spec("tril", cases((3, 3), [(3, 4), {"k": 1}], [(2, 3, 3), {"k": -1}])),
    Spec("triu", cases((3, 3), [(4, 3), {"k": -1}], [(2, 3, 3), {"k": 1}])),
    Spec("getitem", cases([(4, 3), {"index": (slice(1, None), [0, 0, 2])}], [(3,), {"index": -1}],
                          [(2, 3), {"index": (Ellipsis, None, 1)}]),
         call=lambda f, x, index: f(x, index)),
    Spec("setitem", cases(((4, 3), (3,)), ((4, 3), ())),
         call=lambda f, x, v: f(x, (slice(1, 3),), v)),
    Spec("diag", cases((3,), [(3,), {"k": 1}], (3, 3), [(3, 4), {"k": -1}])),
    Spec("diagonal", cases((3, 3), [(3, 4), {"offset": 1}], [(2, 3, 4), {"axis1": 1, "axis2": 2}],
                           [(3, 2, 3), {"offset": -1, "axis1": 0, "axis2": -1}])),
    Spec("trace", cases((3, 3), [(3, 4), {"offset": 1}], [(2, 3, 3), {"axis1": 1, "axis2": 2}],
                        [(3, 3), {"offset": -2}])),
    Spec("array", cases((2, 3)), call=lambda f, x: f([[x, 2 * x], [x * x, x]])),
    Spec("asarray", cases((2, 3)), call=lambda f, x: f([x, x])),
    Spec("meshgrid", cases(((3,), (2,)), [((3,), (2,)), {"indexing": "ij"}])),
    # ---- products (second order) -----------------------------------------------------------------------
    Spec("dot", cases(((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)), ((), (2, 3)),
                      ((2, 2, 3), (4, 3, 2)), ((0, 3), (3, 2))), order=2),
    Spec("vdot", cases(((3,), (3,)), ((2, 3), (6,))), order=2),
    Spec("inner", cases(((3,), (3,)), ((2, 3), (4, 3)), ((), (3,)), ((2, 2, 3), (3,))), order=2),
    Spec("outer", cases(((3,), (4,)), ((2, 2), (3,)), ((), (2,))), order=2),
    Spec("matmul", cases(((2, 3), (3, 4)), ((3,), (3, 4)), ((2, 3), (3,)), ((3,), (3,)),
                         ((2, 2, 3), (3, 4)), ((2, 1, 2, 3), (3, 3, 2)), ((3,), (2, 3, 4)), ((0, 3), (3, 2))),
         order=2),
    Spec("tensordot", cases(((2, 3, 4), (3, 4, 2)), [((2, 3), (3, 2)), {"axes": 1}], [((2, 3), (4,)), {"axes": 0}],
                            [((2, 3, 4), (4, 2, 3)), {"axes": ([1, 2], [2, 0])}],
                            [((2, 3), (3, 2)), {"axes": (0, 1)}]), order=2),
    Spec("einsum", cases([((2, 3), (3, 4)), {"subscripts": "ij,jk->ik"}],
                         [((2, 3), (2, 3)), {"subscripts": "ij,ij->"}],
                         [((2, 3), (3,), (3, 4)), {"subscripts": "ij,j,jk->ik"}],
                         [((5, 2, 3), (5, 3, 4)), {"subscripts": "...ij,...jk->...ik"}],
                         [((2, 3, 3),), {"subscripts": "...ii->...i"}],
                         [((3, 3),), {"subscripts": "ii->i"}], [((3, 3),), {"subscripts": "ii->"}],
                         [((3, 4),), {"subscripts": "ij->"}], [((3, 4),), {"subscripts": "ij->j"}],
                         [((3, 4),), {"subscripts": "ij"}], [((2, 3), (4, 3)), {"subscripts": "ij,kj"}],
                         [((3,), (2, 1, 3)), {"subscripts": "i,...i->..."}],
                         [((3, 3), (3,)), {"subscripts": "ii,i->i"}]),
         call=lambda f, *xs, subscripts: f(subscripts, *xs), order=2),
    Spec("vecdot", cases(((3,), (3,)), ((2, 3), (3,)), [((3, 2), (3, 2)), {"axis": 0}]), order=2),
    Spec("matvec", cases(((2, 3), (3,)), ((4, 2, 3), (1, 3))), order=2),
    Spec("vecmat", cases(((2,), (2, 3)), ((4, 2), (4, 2, 3))), order=2),
    Spec("kron", cases(((2, 2), (2, 3)), ((3,), (2,)), ((), (2, 2)), ((2, 3), (3,))), order=2),
    Spec("cross", cases(((3,), (3,)), ((4, 3), (3,)), ((2,), (2,)), ((2, 3), (2,)),
                        [((3, 2), (3, 2)), {"axis": 0}]), order=2),
    # ---- Fourier transforms (second order; complex values checked as their real and imaginary parts) -------
    unary("imag"), Spec("primitives.complex", BINARY, call=lambda f, re, im: _parts(f(re, im)), order=2),
    Spec("fft.fft", FFT_CASES, call=_real_in, order=2),
    Spec("fft.ifft", FFT_CASES + FFT_COMPLEX_CASES, call=_real_or_complex_in, order=2),
    Spec("fft.rfft", cases((4,), (5,), (1,), [(6,), {"n": 4}], [(3,), {"n": 8}], [(2, 4), {"norm": "ortho"}],
                           [(2, 5), {"axis": 0, "norm": "forward"}], (0, 4)), call=_real_in, order=2),
    Spec("fft.irfft", IRFFT_CASES, call=_complex_in_real_out, order=2),
    Spec("fft.fftn", FFTN_CASES, call=_real_in, order=2),
    Spec("fft.ifftn", FFTN_CASES, call=_real_in, order=2),
    Spec("fft.fft2", FFT2_CASES, call=_real_in, order=2),
    Spec("fft.ifft2", FFT2_CASES, call=_real_in, order=2),
    Spec("fft.rfftn", FFTN_CASES, call=_real_in, order=2),
    Spec("fft.rfft2", FFT2_CASES, call=_real_in, order=2),
    Spec("fft.irfftn", IRFFTN_CASES, call=_complex_in_real_out, order=2),
    Spec("fft.irfft2", IRFFTN_CASES[:2], call=_complex_in_real_out, order=2),
    Spec("fft.fftshift", SHIFT_CASES, order=2), Spec("fft.ifftshift", SHIFT_CASES, order=2),
    # ---- construction, selection, differences, statistics (second order) ----------------------------------
    Spec("linspace", cases(((), ()), ((3,), (3,)), [((2, 1), (3,)), {"num": 4, "axis": -1}],
                           [((), ()), {"num": 5, "endpoint": False}], [((), ()), {"num": 1}]),
         call=lambda f, a, b, **kw: f(a, b, **({"num": 6} | kw)), order=2),
    Spec("logspace", cases(((), ()), [((2,), (2,)), {"base": 2.0, "num": 3}]), ("unit",),
         call=lambda f, a, b, **kw: f(a, b, **({"num": 4} | kw)), order=2),
    Spec("geomspace", cases(((), ()), [((3,), (3,)), {"num": 4, "endpoint": False}]), ("positive",),
         call=lambda f, a, b, **kw: f(a, b, **({"num": 5} | kw)), order=2),
    Spec("select", cases(((4,), (4,)), ((2, 3), (3,))),
         call=lambda f, x, y: f([x > 0.3, y < 0], [x * 2, y], default=-1.0), order=2),
    Spec("piecewise", cases((6,), (2, 3)), ("distinct",), call=_piecewise_call, order=2),
    Spec("put_along_axis", cases(((2, 4), (2, 1)), ((2, 3), ())), call=_put_along_axis_call, order=2),
    Spec("block", cases(((2, 2), (2, 1), (1, 3))), call=lambda f, a, b, c: f([[a, b], [c]]), order=2),
    Spec("insert", cases([((5,), (2,)), {"obj": [1, 3]}], [((2, 3), (2,)), {"obj": 1, "axis": 1}],
                         [((2, 3), ()), {"obj": [0, 2], "axis": 0}], [((3,), ()), {"obj": 3}]),
         call=lambda f, a, v, obj, **kw: f(a, obj, v, **kw), order=2),
    Spec("delete", cases([(5,), {"obj": [1, 3]}], [(3, 4), {"obj": 0, "axis": 1}], [(2, 3), {"obj": slice(0, 4, 2)}]),
         call=lambda f, a, obj, **kw: f(a, obj, **kw), order=2),
    Spec("ediff1d", cases((5,), (2, 3), [(4,), {"to_begin": 1.0, "to_end": [2.0, 3.0]}]), order=2),
    Spec("gradient", cases((5,), [(4, 3), {"axis": 0}], (3, 4), [(6,), {"edge_order": 2}], [(2, 5), {"axis": -1}]),
         order=2),
    Spec("trapezoid", cases((5,), [(2, 4), {"axis": 0}], [(3, 4), {"dx": 0.5}]), order=2),
    Spec("interp", cases(((5,), (4,)), ((2, 3), (4,))), call=lambda f, x, fp: f(x, [-1.0, -0.2, 0.4, 1.1], fp),
         order=2),
    Spec("cov", cases((3, 5), (5,), [(4, 3), {"rowvar": False}], [(2, 4), {"ddof": 0}], [(2, 4), {"bias": True}],
                      [(2, 4), {"aweights": np.array([1.0, 2.0, 0.5, 1.5])}],
                      [(2, 4), {"fweights": np.array([1, 2, 1, 3])}]), order=2),
    Spec("corrcoef", cases((3, 5), [((2, 4), (4,)), {}]), order=2),
    Spec("vander", cases((3,), [(4,), {"N": 3, "increasing": True}]), order=2),
    Spec("polyval", cases(((3,), ()), ((4,), (2, 3))), order=2),
    Spec("heaviside", cases(((4,), (4,))), ("nonzero", "real"), order=2),
    Spec("copysign", cases(((4,), (4,)), ((2, 3), (3,))), ("nonzero",), order=2),
    Spec("float_power", cases(((3,), (3,)), ((2, 3), ())), ("positive", "real"), order=2),
    Spec("convolve", cases(((5,), (3,)), [((4,), (6,)), {"mode": "same"}], [((5,), (2,)), {"mode": "valid"}],
                           ((1,), (1,))), order=2),
    Spec("correlate", cases(((5,), (3,)), [((4,), (6,)), {"mode": "full"}], [((5,), (2,)), {"mode": "same"}]),
         order=2),
    Spec("apply_along_axis", cases([(3, 4), {"axis": 1}], [(2, 3, 2), {"axis": 0}]),
         call=lambda f, x, axis: f(lambda v: cnp.sum(v * v) * v[0], axis, x), order=2),
    Spec("vectorize", cases((4,), (2, 3)), ("distinct",), call=_vectorize_call, order=2),
    # ---- scipy.special (SciPy needed: the tests skip without it) ------------------------------------------
    unary("scipy.special.erf"), unary("scipy.special.erfc"), unary("scipy.special.erfinv", "unit"),
    unary("scipy.special.erfcinv", "erfc_range"), unary("scipy.special.ndtr"), unary("scipy.special.log_ndtr"),
    unary("scipy.special.ndtri", "prob"), unary("scipy.special.logit", "prob"), unary("scipy.special.expit"),
    unary("scipy.special.gamma", "positive"), unary("scipy.special.gammaln", "positive"),
    unary("scipy.special.rgamma", "positive"), unary("scipy.special.digamma", "positive"),
    unary("scipy.special.psi", "positive"),
    Spec("scipy.special.polygamma", UNARY, ("positive",), call=lambda f, x: (f(1, x), f(2, x)), order=2),
    Spec("scipy.special.multigammaln", UNARY, ("above1",), call=lambda f, x: f(x, 3), order=2),
    binary("scipy.special.beta", ("positive",)), binary("scipy.special.betaln", ("positive",)),
    Spec("scipy.special.gammainc", UNARY, ("positive",), call=lambda f, x: f(2.5, x), order=2),
    Spec("scipy.special.gammaincc", UNARY, ("positive",), call=lambda f, x: f(1.5, x), order=2),
    Spec("scipy.special.betainc", UNARY, ("prob",), call=lambda f, x: f(2.0, 3.5, x), order=2),
    Spec("scipy.special.stdtr", UNARY, call=lambda f, x: f(3.5, x), order=2),
    binary("scipy.special.xlogy", ("real", "positive")), binary("scipy.special.xlog1py", ("real", "positive")),
    unary("scipy.special.i0"), unary("scipy.special.i1"),
    Spec("scipy.special.iv", UNARY, ("positive",), call=lambda f, x: f(1.5, x), order=2),
    Spec("scipy.special.ive", UNARY, ("nonzero",), call=lambda f, x: f(2.0, x), order=2),
    unary("scipy.special.j0"), unary("scipy.special.j1"), unary("scipy.special.y0", "positive"),
    unary("scipy.special.y1", "positive"),
    Spec("scipy.special.jn", UNARY, call=lambda f, x: f(2, x), order=2),
    Spec("scipy.special.yn", UNARY, ("positive",), call=lambda f, x: f(3, x), order=2),
    Spec("scipy.special.logsumexp", REDUCE + cases([(2, 3), {"b": np.array([0.5, 1.0, 2.0])}]), order=2),
    Spec("scipy.special.softmax", ALONG_AXIS[:3] + cases((2, 3)), order=2),
    Spec("scipy.special.log_softmax", ALONG_AXIS[:3] + cases((2, 3)), order=2),
    # ---- scipy.stats: values and parameters both differentiated -------------------------------------------
    *[Spec(f"scipy.stats.norm.{fn}", BINARY[:6], ("real", "real"), call=lambda f, x, loc: f(x, loc, 1.5), order=2)
      for fn in ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf")],
    Spec("scipy.stats.norm.ppf", UNARY, ("prob",), call=lambda f, q: f(q, 0.5, 2.0), order=2),
    *[Spec(f"scipy.stats.t.{fn}", UNARY, call=lambda f, x: f(x, 4.5, 0.2, 1.3), order=2)
      for fn in ("logpdf", "pdf", "cdf", "logcdf")],
    *[Spec(f"scipy.stats.gamma.{fn}", BINARY[:6], ("positive", "positive"), order=2,
           call=lambda f, x, a: f(x, a, 0.0, 1.2)) for fn in ("logpdf", "pdf")],
    *[Spec(f"scipy.stats.gamma.{fn}", UNARY, ("positive",), order=2,
           call=lambda f, x: f(x, 2.5, 0.0, 1.2)) for fn in ("cdf", "logcdf")],
    *[Spec(f"scipy.stats.beta.{fn}", UNARY, ("prob",), order=2,
           call=lambda f, x: f(x, 2.5, 1.5)) for fn in ("logpdf", "pdf", "cdf", "logcdf")],
    *[Spec(f"scipy.stats.poisson.{fn}", UNARY, ("positive",), order=2, call=_poisson_call)
      for fn in ("logpmf", "pmf", "cdf", "logcdf")],
    *[Spec(f"scipy.stats.dirichlet.{fn}", cases(((3,), (3,)), ((2, 4), (4,))), ("simplex", "positive"), order=2)
      for fn in ("logpdf", "pdf")],
    *[Spec(f"scipy.stats.multivariate_normal.{fn}", cases(((3,), (3,), (3, 3)), ((4, 2), (2,), (2, 2))),
           ("real", "real", "spd"), call=lambda f, x, m, c: f(x, m, _sym(c)), order=2) for fn in ("logpdf", "pdf")],
    Spec("scipy.signal.convolve", cases(((5,), (3,)), ((3, 4), (2, 2)), [((3, 4), (2, 3)), {"mode": "same"}],
                                        [((4, 5), (2, 2)), {"mode": "valid"}], [((2, 2), (3, 4)), {"mode": "valid"}]),
         order=2),
    Spec("scipy.signal.correlate", cases(((3, 4), (2, 2)), [((5,), (3,)), {"mode": "same"}]), order=2),
    Spec("scipy.linalg.solve_triangular", cases(((3, 3), (3,)), ((3, 3), (3, 2)), [((3, 3), (3,)), {"lower": True}],
                                                [((3, 3), (3, 2)), {"trans": 1, "lower": True}],
                                                [((3, 3), (3,)), {"trans": "T", "unit_diagonal": True}]),
         ("square", "real"), call=lambda f, a, b, **kw: f(a, b, **kw), order=2),
    Spec("scipy.linalg.solve_sylvester", cases(((3, 3), (2, 2), (3, 2))), ("square", "square", "real"),
         call=lambda f, a, b, q: f(a + 2 * np.eye(3), b + 2 * np.eye(2), q), order=2),
    Spec("scipy.linalg.sqrtm", cases((3, 3), (1, 1)), ("spd",), call=lambda f, a: f(_sym(a)), order=2, rtol=1e-4),
    Spec("scipy.linalg.expm", cases((3, 3), (1, 1), (2, 2)), ("unit",), order=2),
    Spec("scipy.linalg.cholesky", cases((3, 3), [(3, 3), {"lower": True}]), ("spd",),
         call=lambda f, a, **kw: f(_sym(a), **kw), order=2),
    Spec("scipy.linalg.cho_factor", cases((3, 3)), ("spd",), call=lambda f, a: f(_sym(a))[0], order=2),
    Spec("scipy.linalg.cho_solve", cases(((3, 3), (3,)), [((3, 3), (3, 2)), {"lower": True}]), ("square", "real"),
         call=lambda f, c, b, lower=False: f((cnp.tril(c) if lower else cnp.triu(c), lower), b), order=2),
    Spec("scipy.linalg.solve", cases(((3, 3), (3,))), ("square", "real"), order=2),
    Spec("scipy.linalg.inv", cases((3, 3)), ("square",), order=2),
    Spec("scipy.linalg.det", cases((3, 3)), ("square",), order=2),
    Spec("scipy.integrate.odeint", cases(((2,), (2,))), ("real", "unit"), call=_odeint_call, rtol=1e-4, atol=1e-6),
    Spec("scipy.stats.multivariate_normal.entropy", cases(((3,), (3, 3))), ("real", "spd"),
         call=lambda f, m, c: f(m, _sym(c)), order=2),
    # ---- linear algebra --------------------------------------------------------------------------------
    Spec("linalg.matmul", cases(((2, 3), (3, 4)))),
    Spec("linalg.inv", MATRICES, ("square",), order=2),
    Spec("linalg.det", MATRICES, ("square",), order=2),
    Spec("linalg.slogdet", MATRICES, ("square",), call=lambda f, x: f(x)[1] * f(x)[0], order=2),
    Spec("linalg.solve", cases(((3, 3), (3,)), ((3, 3), (3, 2)), ((2, 3, 3), (3,)), ((2, 3, 3), (2, 3, 1)),
                               ((2, 3, 3), (3, 1)),
                               ((1, 1), (1, 4))), ("square", "real"), order=2),
    Spec("linalg.cholesky", MATRICES, ("spd",), call=lambda f, x: f(_sym(x)), order=2),
    Spec("linalg.eigh", cases((3, 3), (2, 3, 3), [(3, 3), {"UPLO": "U"}]), ("spd",),
         call=lambda f, x, **kw: f(_sym(x), **kw)),
    Spec("linalg.eigvalsh", cases((3, 3), (2, 3, 3)), ("spd",), call=lambda f, x: f(_sym(x))),
    Spec("linalg.eig", cases((3, 3), (2, 3, 3)), ("real_eig",), call=lambda f, x: _eig_invariant(f(x))),
    Spec("linalg.eigvals", cases((3, 3), (2, 3, 3)), ("real_eig",)),
    Spec("linalg.svd", cases((3, 3), (4, 2), (2, 4), (2, 3, 2), [(4, 2), {"full_matrices": True}],
                             [(2, 3, 2), {"full_matrices": True}], [(2, 4), {"full_matrices": True}]), ("distinct",),
         call=lambda f, x, full_matrices=False: _svd_full_used_part(f(x, full_matrices=full_matrices))),
    Spec("linalg.qr", cases((3, 3), (4, 2), (2, 3, 2)), call=lambda f, x: _qr_invariant(f(x)), order=2),
    Spec("linalg.lstsq", cases(((4, 2), (4,)), ((3, 3), (3, 2))), ("square", "real"),
         call=lambda f, a, b: f(a, b)[:2] if a.shape[0] > a.shape[1] else f(a, b)[0], order=2),
    Spec("linalg.cond", cases((3, 3), [(3, 3), {"p": 1}], [(3, 3), {"p": "fro"}], [(2, 3, 3), {"p": -2}],
                              [(3, 3), {"p": np.inf}]), ("distinct",)),
    Spec("linalg.svdvals", cases((3, 3), (4, 2), (2, 2, 3)), ("distinct",)),
    Spec("linalg.pinv", cases((3, 3), (4, 2), (2, 4), (2, 3, 2)), ("distinct",)),
    Spec("linalg.norm", cases((4,), [(4,), {"ord": 1}], [(4,), {"ord": 3}], [(4,), {"ord": np.inf}], [(4,), {"ord": 0}],
                              [(4,), {"ord": -1}], [(4,), {"ord": -2}], [(2, 3), {"ord": -np.inf}],
                              [(4,), {"ord": -np.inf}], [(4,), {"ord": 0.5}], (2, 3), [(2, 3), {"ord": "fro"}],
                              [(2, 3), {"ord": 1}], [(2, 3), {"ord": np.inf}], [(2, 3), {"ord": -1}],
                              [(2, 3), {"ord": 2}], [(3, 2), {"ord": -2}], [(2, 3), {"ord": "nuc"}],
                              [(2, 3, 4), {"axis": -1}], [(2, 3, 4), {"axis": (0, 2), "ord": "nuc"}],
                              [(2, 3), {"axis": 1, "keepdims": True}]), ("distinct",)),
    Spec("linalg.vector_norm", cases((4,), [(2, 3), {"ord": 1, "axis": 0}])),
    Spec("linalg.matrix_norm", cases((2, 3), [(2, 3, 3), {"ord": "nuc"}]), ("distinct",)),
    Spec("linalg.vecdot", cases(((2, 3), (3,)))),
    Spec("linalg.outer", cases(((3,), (2,)))),
    Spec("linalg.cross", cases(((2, 3), (3,)))),
    Spec("linalg.trace", cases((3, 3), [(2, 3, 4), {"offset": 1}])),
    Spec("linalg.diagonal", cases((3, 3), [(2, 3, 4), {"offset": -1}])),
    Spec("linalg.tensordot", cases([((2, 3), (3, 2)), {"axes": 1}])),
    Spec("linalg.matrix_transpose", cases((2, 3, 4),)),
    Spec("linalg.matrix_power", cases([(3, 3), {"n": 3}], [(2, 2, 2), {"n": 0}], [(3, 3), {"n": -2}]), ("square",)),
    Spec("linalg.multi_dot", cases(((2, 3), (3, 4), (4,)), ((3,), (3, 2), (2, 2))), call=_stack_call),
]


# The non-differentiable primitives (registered with ``nondiff``): name -> (NumPy's function, arity). Their
# test checks the value against NumPy's on float inputs (integers for ``invert``) and that the result
# carries no graph.
NONDIFF: dict[str, tuple[Callable, int]] = {
    "sign": (np.sign, 1), "floor": (np.floor, 1), "ceil": (np.ceil, 1), "trunc": (np.trunc, 1),
    "rint": (np.rint, 1), "round": (np.round, 1), "isfinite": (np.isfinite, 1), "isnan": (np.isnan, 1),
    "isinf": (np.isinf, 1), "floor_divide": (np.floor_divide, 2), "equal": (np.equal, 2),
    "not_equal": (np.not_equal, 2), "less": (np.less, 2), "less_equal": (np.less_equal, 2),
    "greater": (np.greater, 2), "greater_equal": (np.greater_equal, 2),
    "logical_not": (np.logical_not, 1), "logical_and": (np.logical_and, 2), "logical_or": (np.logical_or, 2),
    "logical_xor": (np.logical_xor, 2), "invert": (np.invert, 1),
}


def _eig_invariant(wv):
    """Sign-invariant functions of the eigendecomposition."""
    w, v = wv
    return w, v * v, v[..., :, :1] * v[..., :1, :]


def _svd_full_used_part(usv):
    """The differentiable part of a full SVD: the first min(m, n) columns of u and rows of vh."""
    u, s, vh = usv
    k = s.shape[-1]
    return _svd_invariant((u[..., :, :k], s, vh[..., :k, :]))


def _qr_invariant(qr):
    """Q R (column signs are fixed by NumPy's convention, but the products are what users rely on)."""
    q, r = qr
    return q, r, q @ r


def _svd_invariant(usv):
    """Sign-invariant functions of the SVD (the singular vectors are defined up to sign)."""
    u, s, vh = usv
    return s, u * u, vh * vh, (u[..., :, :1] * vh[..., :1, :])

