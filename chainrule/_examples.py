"""The docstrings of chainrule's NumPy and SciPy namespaces, and the table of their ``>>>`` examples.

A registered primitive's docstring is written at its registration (:func:`chainrule._registry.register`)
from the registration's own facts, by :func:`primitive_doc`: what it computes (the first line of NumPy's
docstring for a NumPy name, else :data:`SUMMARIES`), the function it stands for, each VJP rule from its
``formulas`` in the notes' notation (x̄ = ḡ · cos(x)), which arguments have no gradient, its cost category,
then the example of each of its public names from :data:`EXAMPLES`. The other public functions of the
namespaces (composites, values-only wrappers, chainrule's SciPy forms) keep their own summary and get their
example from the table when their module is imported (:func:`document`), as NumPy's ``add_newdocs`` does.

:data:`EXAMPLES` maps a public name, as registrations write it (``"numpy.sin"``, ``"numpy.linalg.inv"``,
``"scipy.stats.norm.pdf"``), to its example; ``tests/test_examples.py`` checks that every registered public
name has one and that every entry names something that exists, and ``tests/test_public_examples.py`` runs
them all.

>>> doc = chainrule.numpy.sin.__doc__
>>> print(doc.splitlines()[0])
Trigonometric sine, element-wise.
>>> "x̄ = ḡ · cos(x)" in doc
True
"""

from __future__ import annotations

import inspect
import re
from typing import Any

_SIGNATURE_LINE = re.compile(r"^[\w.]+\(.*\)$")
_PARAGRAPH = re.compile(r"\n\s*\n")

# What a primitive computes, where NumPy has no function of that name (or the name is SciPy's, which is
# not imported with chainrule).
SUMMARIES: dict[str, str] = {
    "numpy.sigmoid": "The logistic sigmoid σ(x) = 1 / (1 + e^(−x)), element-wise (``scipy.special.expit``).",
    "numpy.relu": "The rectifier max(x, 0), element-wise.",
    "numpy.softplus": "The softplus log(1 + eˣ), element-wise, computed stably.",
    "numpy.getitem": "Indexing, ``x[index]``, as a function (what ``Tensor.__getitem__`` records).",
    "numpy.setitem": "Assignment ``x[index] = value`` as a function: a copy of ``x`` with the entries at "
                     "``index`` replaced (what an in-place assignment on a Tensor records).",
    "scipy.special.erf": "The error function erf(x) = 2/√π ∫₀ˣ e^(−t²) dt.",
    "scipy.special.erfc": "The complementary error function erfc(x) = 1 − erf(x).",
    "scipy.special.erfinv": "The inverse of the error function.",
    "scipy.special.erfcinv": "The inverse of the complementary error function.",
    "scipy.special.ndtr": "The standard normal distribution function Φ(x).",
    "scipy.special.log_ndtr": "log Φ(x), the log of the standard normal distribution function, accurate in "
                              "the lower tail.",
    "scipy.special.ndtri": "The standard normal quantile function Φ⁻¹(p).",
    "scipy.special.logit": "The logit log(p / (1 − p)), the inverse of the sigmoid.",
    "scipy.special.gamma": "The gamma function Γ(x).",
    "scipy.special.gammaln": "log |Γ(x)|, the log of the absolute value of the gamma function.",
    "scipy.special.rgamma": "1 / Γ(x), the reciprocal of the gamma function.",
    "scipy.special.digamma": "The digamma function ψ(x) = d/dx log Γ(x).",
    "scipy.special.polygamma": "The polygamma function ψ⁽ⁿ⁾(x), the n-th derivative of the digamma function.",
    "scipy.special.multigammaln": "The log of the multivariate gamma function Γ_d(a).",
    "scipy.special.beta": "The beta function B(a, b) = Γ(a) Γ(b) / Γ(a + b).",
    "scipy.special.betaln": "log |B(a, b)|, the log of the beta function.",
    "scipy.special.gammainc": "The regularised lower incomplete gamma function P(a, x).",
    "scipy.special.gammaincc": "The regularised upper incomplete gamma function Q(a, x) = 1 − P(a, x).",
    "scipy.special.betainc": "The regularised incomplete beta function I_x(a, b).",
    "scipy.special.stdtr": "The distribution function of Student's t distribution with df degrees of freedom.",
    "scipy.special.xlogy": "x · log(y), and 0 where x = 0.",
    "scipy.special.xlog1py": "x · log(1 + y), and 0 where x = 0.",
    "scipy.special.i0": "The modified Bessel function of the first kind of order 0, I₀(x).",
    "scipy.special.i1": "The modified Bessel function of the first kind of order 1, I₁(x).",
    "scipy.special.iv": "The modified Bessel function of the first kind of real order v, I_v(x).",
    "scipy.special.ive": "The exponentially scaled modified Bessel function I_v(x) e^(−|x|).",
    "scipy.special.j0": "The Bessel function of the first kind of order 0, J₀(x).",
    "scipy.special.j1": "The Bessel function of the first kind of order 1, J₁(x).",
    "scipy.special.jn": "The Bessel function of the first kind of integer order n, J_n(x).",
    "scipy.special.y0": "The Bessel function of the second kind of order 0, Y₀(x).",
    "scipy.special.y1": "The Bessel function of the second kind of order 1, Y₁(x).",
    "scipy.special.yn": "The Bessel function of the second kind of integer order n, Y_n(x).",
    "scipy.linalg.solve_triangular": "x with op(A) x = b for a triangular A (op: A, Aᵀ or Aᴴ).",
    "scipy.linalg.solve_sylvester": "X with A X + X B = Q, the Sylvester equation.",
    "scipy.linalg.sqrtm": "The principal matrix square root X, with X X = A.",
    "scipy.linalg.expm": "The matrix exponential e^A.",
}

# The arguments' names in the derivative rules (default x, or x, y, ...), and the output's (default y),
# where the rule's text or the function's convention names them otherwise.
ARGUMENTS: dict[str, tuple[tuple[str, ...], str]] = {
    "numpy.getitem": (("x", "index"), "y"),
    "numpy.setitem": (("x", "index", "v"), "y"),
    "numpy.linalg.inv": (("A",), "A⁻¹"),
    "numpy.linalg.det": (("A",), "det A"),
    "numpy.linalg.solve": (("A", "b"), "x"),
    "numpy.linalg.cholesky": (("A",), "L"),
    "numpy.linalg.eigvalsh": (("A",), "w"),
    "numpy.linalg.pinv": (("A",), "P"),
    "numpy.linalg.qr": (("A",), "Q, R"),
    "scipy.special.polygamma": (("n", "x"), "y"),
    "scipy.special.multigammaln": (("a", "d"), "y"),
    "scipy.special.beta": (("a", "b"), "B"),
    "scipy.special.betaln": (("a", "b"), "y"),
    "scipy.special.gammainc": (("a", "x"), "y"),
    "scipy.special.gammaincc": (("a", "x"), "y"),
    "scipy.special.betainc": (("a", "b", "x"), "y"),
    "scipy.special.stdtr": (("df", "t"), "y"),
    "scipy.special.iv": (("v", "x"), "y"),
    "scipy.special.ive": (("v", "x"), "y"),
    "scipy.special.jn": (("n", "x"), "y"),
    "scipy.special.yn": (("n", "x"), "y"),
    "scipy.linalg.solve_triangular": (("A", "b"), "x"),
    "scipy.linalg.solve_sylvester": (("A", "B", "Q"), "X"),
    "scipy.linalg.sqrtm": (("A",), "X"),
    "scipy.linalg.expm": (("A",), "e^A"),
}

# Why a values-only function's result carries no gradient (chainrule.numpy._values_only).
_INDICES = "its result is made of indices or counts, integers, whose derivative is zero"
_TESTS = "its result is a truth value (or array of them), which has no derivative"
_SHAPES = "its result describes the shape or type of its input, not its values"
_CONSTANT = "its result's values do not depend on the input's values (only on its shape and dtype)"
NO_GRADIENT: dict[str, str] = {
    **dict.fromkeys(("argmax", "argmin", "argpartition", "argsort", "argwhere", "count_nonzero",
                     "digitize", "flatnonzero", "nonzero", "searchsorted", "unravel_index"), _INDICES),
    **dict.fromkeys(("all", "any", "allclose", "array_equal", "array_equiv", "isclose", "iscomplexobj",
                     "isreal", "isscalar", "signbit"), _TESTS),
    **dict.fromkeys(("ndim", "shape", "size", "result_type"), _SHAPES),
    **dict.fromkeys(("empty_like", "full_like", "ones_like", "zeros_like"), _CONSTANT),
    "unique": "its result is a set of the input's values, sorted: a selection made by comparisons, kept "
              "values-only as NumPy's counts and indices beside it are",
}


def _bar(name: str) -> str:
    """The error signal of ``name`` in the notes' notation: x → x̄, A → Ā."""
    return f"{name}\u0304" if name.isidentifier() else f"({name})\u0304"


def library_function(public: str) -> Any:
    """The NumPy function a ``"numpy..."`` public name stands for (None for a SciPy name or none)."""
    space, _, attribute = public.rpartition(".")
    parts = space.split(".")
    if parts[0] != "numpy":
        return None
    import numpy

    module: Any = numpy
    for part in parts[1:]:
        module = getattr(module, part, None)
    return getattr(module, attribute, None)


def first_paragraph(doc: str | None) -> str | None:
    """The first paragraph of a docstring, on one line (after a ufunc's signature line, if it has one)."""
    if not doc:
        return None
    paragraphs = [" ".join(p.split()) for p in _PARAGRAPH.split(doc.lstrip("\n"), maxsplit=2)[:2]]
    if _SIGNATURE_LINE.match(paragraphs[0]) and len(paragraphs) > 1:
        return paragraphs[1] or None
    return paragraphs[0] or None


def summary(public: str) -> str:
    """One line on what ``public`` computes: :data:`SUMMARIES`, else NumPy's own first line."""
    if public in SUMMARIES:
        return SUMMARIES[public]
    found = first_paragraph(getattr(library_function(public), "__doc__", None))
    return found or f"``{public}``."


def _rules_text(public: str, primitive: Any) -> list[str]:
    formulas = primitive.formulas
    default = (("x",), "y") if len(formulas) < 2 else (("x", "y", "w")[:len(formulas)], "z")
    names, output = ARGUMENTS.get(public, default)
    names = names + tuple(f"x{i}" for i in range(len(names), len(formulas)))
    fields = {"{g}": "ḡ", "{ans}": output, **{f"{{{i}}}": n for i, n in enumerate(names)}}
    lines, constants = [], []
    for position, formula in enumerate(formulas):
        if formula is None:
            constants.append(names[position])
            continue
        text = formula
        for field, name in fields.items():  # (other braces, as in ``Σ_{j≥i}``, stay)
            text = text.replace(field, name)
        lines.append(f"    {text}" if re.match(r"^\S+: ", text) else f"    {_bar(names[position])} = {text}")
    shown = next((names[i] for i, f in enumerate(formulas) if f is not None), names[0])
    outputs = output.split(", ")
    signals = f"ḡ: the error signal ∂L/∂{output} of the output {output}" if len(outputs) == 1 else \
        f"{', '.join(_bar(o) for o in outputs)}: the error signals of the outputs {output}"
    out = ["Derivative rules, in the notes' notation", f"({signals}; {_bar(shown)}: that of {shown}):", "", *lines]
    if constants:
        out += ["", "No gradient with respect to " + " and ".join(f"``{c}``" for c in constants)
                + " (pass a constant there)."]
    return out


def primitive_doc(primitive: Any, names: tuple[str, ...], cost: str) -> str:
    """The docstring of a registered primitive with public ``names`` (see the module docstring)."""
    first = names[0]
    lines = [summary(first), ""]
    called = f"``chainrule.{first}``"
    if len(names) > 1:
        called += " (also " + ", ".join(f"``chainrule.{n}``" for n in names[1:]) + ")"
    library = "NumPy" if first.startswith("numpy") else "SciPy"
    stands = library_function(first) is not None or library == "SciPy"
    if not primitive.differentiable:
        lines += [f"{called} is ``{first}`` on Tensors too.",
                  "Not differentiable: its output carries no gradient (a Tensor that does not require grad),",
                  "as its derivative is zero wherever it is defined."]
    else:
        lines += [f"{called} is " + (f"``{first}`` made differentiable: {library}'s result on arrays;"
                                      if stands else "chainrule's own (NumPy has none): an array on arrays;"),
                  "on Tensors it also records itself in the graph for the backward pass.", ""]
        lines += _rules_text(first, primitive)
    lines += ["", f"Cost category: ``{cost}`` (as ``chainrule.viz.cost`` counts it)."]
    documented = [n for n in names if n in EXAMPLES]
    for name in documented:
        lines += ["", f"Example (``chainrule.{name}``):" if len(names) > 1 else "Example:", "",
                  EXAMPLES[name].strip()]
    return "\n".join(lines) + "\n"


def _values_only_doc(public: str) -> str:
    name = public.rpartition(".")[2]
    return (f"{summary(public)}\n\n``numpy.{name}`` on the values of Tensors: the result carries no gradient,\n"
            f"because {NO_GRADIENT[name]}.\nAn array result comes back as a Tensor that does not require grad; "
            f"anything else\n(a number, a shape, a tuple of index arrays) as NumPy gives it.")


_BY_SPACE: dict[str, dict[str, str]] = {}


def document(names: dict[str, Any], space: str) -> None:
    """Give the public functions of namespace ``space`` (a module's globals) their examples from the table.

    A function keeps its own docstring's text (or, with none, NumPy's first line), followed by its example;
    a primitive under a further name (``scipy.special.expit`` is ``numpy.sigmoid``) gets that name's example
    added to its docstring. Calling it again changes nothing."""
    if not _BY_SPACE:
        for key in EXAMPLES:
            place, _, attribute = key.rpartition(".")
            _BY_SPACE.setdefault(place, {})[attribute] = key
    from ._graph import Primitive

    for attribute, key in _BY_SPACE.get(space, {}).items():
        obj = names.get(attribute)
        if obj is None:
            raise AttributeError(f"chainrule._examples: the table has an example for {key}, which does not exist")
        example = EXAMPLES[key].strip()
        own = vars(obj).get("__doc__") if isinstance(obj, Primitive) or inspect.isclass(obj) else obj.__doc__
        if own and example in own:
            continue
        if isinstance(obj, Primitive):
            obj.__doc__ = f"{own or summary(key)}\nExample (``chainrule.{key}``):\n\n{example}\n"
        elif getattr(obj, "_values_only", False):
            obj.__doc__ = f"{_values_only_doc(key)}\n\n{example}\n"
        elif own:  # the example indented as the docstring's own lines are (help() and doctest dedent both)
            indent = getattr(obj, "_doc_indent", None)  # (set at a first example, for a function of two names)
            if indent is None:
                indent = obj._doc_indent = "    " if "\n    " in own else ""
            example = example.replace("\n", "\n" + indent)
            obj.__doc__ = f"{own.rstrip()}\n\n{indent}{example}\n{indent}"
        else:
            own_name = f"{key.rpartition('.')[0]}.{getattr(obj, '__name__', attribute)}"  # vstack, not row_stack
            obj.__doc__ = f"{summary(own_name).rstrip('.')} (``{own_name}``, differentiable).\n\n{example}\n"
            obj._doc_indent = ""


# ---- the examples (outputs obtained by running them; the doctests check them) -------------------------
EXAMPLES: dict[str, str] = {
    "extend.unbroadcast": """
>>> g = np.ones((3, 2))    # an error signal of shape (3, 2)
>>> chainrule.extend.unbroadcast(g, np.zeros(2))    # for an input of shape (2,): summed over the added axis
array([3., 3.])
>>> chainrule.extend.unbroadcast(g, (3, 1))    # for shape (3, 1): summed over the stretched axis
array([[2.],
       [2.],
       [2.]])
>>> from chainrule.extend import primitive, defvjp, unbroadcast
>>> @primitive
... def plus(a, b):
...     return a + b
>>> _ = defvjp(plus, lambda g, ans, a, b: unbroadcast(g, a), lambda g, ans, a, b: unbroadcast(g, b))
>>> a = chainrule.tensor([1.0, 2.0], requires_grad=True)
>>> b = chainrule.tensor([[1.0], [2.0], [3.0]], requires_grad=True)
>>> plus(a, b).sum().backward()
>>> a.grad, b.grad    # each with its input's shape
(array([3., 3.]), array([[2.],
       [2.],
       [2.]]))
""",
    "numpy.abs": """
>>> x = chainrule.tensor([-1.5, 2.0], requires_grad=True)
>>> y = chainrule.numpy.abs(x)
>>> y
tensor([1.5, 2. ], grad_fn=abs)
>>> y.sum().backward()
>>> x.grad
array([-1.,  1.])
>>> np.allclose(x.grad, np.sign(x.data))    # x̄ = ḡ · sign(x)
True
""",
    "numpy.absolute": """
>>> chainrule.numpy.absolute is chainrule.numpy.abs    # another name for abs
True
>>> x = chainrule.tensor([-1.5, 2.0], requires_grad=True)
>>> chainrule.numpy.absolute(x).sum().backward()
>>> x.grad
array([-1.,  1.])
""",
    "numpy.add": """
>>> x = chainrule.tensor([1.0, 2.0], requires_grad=True)
>>> y = chainrule.tensor([3.0, 5.0], requires_grad=True)
>>> z = chainrule.numpy.add(x, y)
>>> z
tensor([4., 7.], grad_fn=add)
>>> z.sum().backward()
>>> x.grad, y.grad
(array([1., 1.]), array([1., 1.]))
>>> np.allclose(x.grad, 1), np.allclose(y.grad, 1)    # x̄ = ḡ, ȳ = ḡ
(True, True)
""",
    "numpy.all": """
>>> x = chainrule.tensor([3.0, 1.0, 2.0, 1.0], requires_grad=True)
>>> bool(chainrule.numpy.all(x > 0))
True
""",
    "numpy.allclose": """
>>> x = chainrule.tensor([3.0, 1.0, 2.0, 1.0], requires_grad=True)
>>> chainrule.numpy.allclose(x, x.data + 1e-12)
True
""",
    "numpy.amax": """
>>> x = chainrule.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
>>> y = chainrule.numpy.amax(x, axis=1)
>>> y
tensor([3., 6.], grad_fn=...)
>>> y.sum().backward()
>>> x.grad
array([[0., 0., 1.],
       [0., 0., 1.]])
""",
    "numpy.amin": """
>>> x = chainrule.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
>>> y = chainrule.numpy.amin(x, axis=1)
>>> y
tensor([1., 4.], grad_fn=...)
>>> y.sum().backward()
>>> x.grad
array([[1., 0., 0.],
       [1., 0., 0.]])
""",
    "numpy.angle": """
>>> z = chainrule.tensor([1 + 1j, -2.0 + 0j], requires_grad=True)
>>> chainrule.numpy.angle(z)
tensor([0.78539816, 3.14159265], grad_fn=angle)
>>> chainrule.numpy.angle(z).sum().backward()
>>> np.allclose(z.grad, -1j / z.data)    # z̄ = −i ḡ / z
True
""",
    "numpy.any": """
>>> x = chainrule.tensor([3.0, 1.0, 2.0, 1.0], requires_grad=True)
>>> bool(chainrule.numpy.any(x > 2.5))
True
""",
    "numpy.append": """
>>> a = chainrule.tensor([1.0, 2.0], requires_grad=True)
>>> b = chainrule.tensor([3.0, 4.0], requires_grad=True)
>>> y = chainrule.numpy.append(a, b)
>>> y
tensor([1., 2., 3., 4.], grad_fn=...)
>>> (y * np.arange(1.0, 5.0).reshape(y.shape)).sum().backward()
>>> a.grad, b.grad    # each part gets its slice of ḡ
(array([1., 2.]), array([3., 4.]))
""",
    "numpy.apply_along_axis": """
>>> x = chainrule.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
>>> y = chainrule.numpy.apply_along_axis(lambda row: (row ** 2).sum(), 1, x)
>>> y
tensor([14., 77.], grad_fn=...)
>>> y.sum().backward()
>>> x.grad    # 2x
array([[ 2.,  4.,  6.],
       [ 8., 10., 12.]])
""",
    "numpy.arccos": """
>>> x = chainrule.tensor([0.0, 0.5], requires_grad=True)
>>> y = chainrule.numpy.arccos(x)
>>> y
tensor([1.57079633, 1.04719755], grad_fn=arccos)
>>> y.sum().backward()
>>> x.grad
array([-1.        , -1.15470054])
>>> np.allclose(x.grad, -1 / np.sqrt(1 - x.data ** 2))    # x̄ = −ḡ / √(1 − x²)
True
""",
    "numpy.arccosh": """
>>> x = chainrule.tensor([1.5, 2.0], requires_grad=True)
>>> y = chainrule.numpy.arccosh(x)
>>> y
tensor([0.96242365, 1.3169579 ], grad_fn=arccosh)
>>> y.sum().backward()
>>> x.grad
array([0.89442719, 0.57735027])
>>> np.allclose(x.grad, 1 / np.sqrt(x.data ** 2 - 1))    # x̄ = ḡ / √(x² − 1)
True
""",
    "numpy.arcsin": """
>>> x = chainrule.tensor([0.0, 0.5], requires_grad=True)
>>> y = chainrule.numpy.arcsin(x)
>>> y
tensor([0.        , 0.52359878], grad_fn=arcsin)
>>> y.sum().backward()
>>> x.grad
array([1.        , 1.15470054])
>>> np.allclose(x.grad, 1 / np.sqrt(1 - x.data ** 2))    # x̄ = ḡ / √(1 − x²)
True
""",
    "numpy.arcsinh": """
>>> x = chainrule.tensor([0.0, 1.0], requires_grad=True)
>>> y = chainrule.numpy.arcsinh(x)
>>> y
tensor([0.        , 0.88137359], grad_fn=arcsinh)
>>> y.sum().backward()
>>> x.grad
array([1.        , 0.70710678])
>>> np.allclose(x.grad, 1 / np.sqrt(x.data ** 2 + 1))    # x̄ = ḡ / √(x² + 1)
True
""",
    "numpy.arctan": """
>>> x = chainrule.tensor([0.0, 1.0], requires_grad=True)
>>> y = chainrule.numpy.arctan(x)
>>> y
tensor([0.        , 0.78539816], grad_fn=arctan)
>>> y.sum().backward()
>>> x.grad
array([1. , 0.5])
>>> np.allclose(x.grad, 1 / (1 + x.data ** 2))    # x̄ = ḡ / (1 + x²)
True
""",
    "numpy.arctan2": """
>>> x = chainrule.tensor([1.0, 1.0], requires_grad=True)
>>> y = chainrule.tensor([1.0, 2.0], requires_grad=True)
>>> z = chainrule.numpy.arctan2(x, y)
>>> z
tensor([0.78539816, 0.46364761], grad_fn=arctan2)
>>> z.sum().backward()
>>> x.grad, y.grad
(array([0.5, 0.4]), array([-0.5, -0.2]))
>>> np.allclose(x.grad, y.data / (x.data ** 2 + y.data ** 2))    # x̄ = ḡ · y / (x² + y²)
True
>>> np.allclose(y.grad, -x.data / (x.data ** 2 + y.data ** 2))
True
""",
    "numpy.arctanh": """
>>> x = chainrule.tensor([0.0, 0.5], requires_grad=True)
>>> y = chainrule.numpy.arctanh(x)
>>> y
tensor([0.        , 0.54930614], grad_fn=arctanh)
>>> y.sum().backward()
>>> x.grad
array([1.        , 1.33333333])
>>> np.allclose(x.grad, 1 / (1 - x.data ** 2))    # x̄ = ḡ / (1 − x²)
True
""",
    "numpy.argmax": """
>>> x = chainrule.tensor([3.0, 1.0, 2.0, 1.0], requires_grad=True)
>>> int(chainrule.numpy.argmax(x))
0
""",
    "numpy.argmin": """
>>> x = chainrule.tensor([3.0, 1.0, 2.0, 1.0], requires_grad=True)
>>> int(chainrule.numpy.argmin(x))
1
""",
    "numpy.argpartition": """
>>> x = chainrule.tensor([3.0, 1.0, 2.0, 1.0], requires_grad=True)
>>> i = chainrule.numpy.argpartition(x, 1)
>>> i[:2]
tensor([1, 3])
>>> i.requires_grad
False
""",
    "numpy.argsort": """
>>> x = chainrule.tensor([3.0, 1.0, 2.0, 1.0], requires_grad=True)
>>> i = chainrule.numpy.argsort(x)
>>> i
tensor([1, 3, 2, 0])
>>> i.requires_grad
False
""",
    "numpy.argwhere": """
>>> x = chainrule.tensor([3.0, 1.0, 2.0, 1.0], requires_grad=True)
>>> chainrule.numpy.argwhere(x > 1.5)
tensor([[0],
        [2]])
""",
    "numpy.around": """
>>> chainrule.numpy.around is chainrule.numpy.round    # another name for round
True
>>> x = chainrule.tensor([1.234, -0.567], requires_grad=True)
>>> y = chainrule.numpy.around(x, 1)
>>> y
tensor([ 1.2, -0.6])
>>> y.requires_grad    # no gradient flows through it
False
""",
    "numpy.array": """
>>> x = chainrule.tensor(2.0, requires_grad=True)
>>> y = chainrule.numpy.array([[x, 1.0], [0.0, x * x]])    # lists holding Tensors are stacked
>>> y
tensor([[2., 1.],
        [0., 4.]], grad_fn=...)
>>> y.sum().backward()
>>> x.grad    # 1 + 2x
array(5.)
""",
    "numpy.array_equal": """
>>> x = chainrule.tensor([3.0, 1.0, 2.0, 1.0], requires_grad=True)
>>> chainrule.numpy.array_equal(x, [3.0, 1.0, 2.0, 1.0])
True
""",
    "numpy.array_equiv": """
>>> x = chainrule.tensor([3.0, 1.0, 2.0, 1.0], requires_grad=True)
>>> chainrule.numpy.array_equiv(x, x.data)
True
""",
    "numpy.array_split": """
>>> x = chainrule.tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> parts = chainrule.numpy.array_split(x, 2)
>>> parts
[tensor([1., 2.], grad_fn=...), tensor([3.], grad_fn=...)]
>>> (parts[0].sum() + 10 * parts[1].sum()).backward()
>>> x.grad    # each part's ḡ flows back to its place
array([ 1.,  1., 10.])
""",
    "numpy.asarray": """
>>> x = chainrule.tensor([1.0, 2.0], requires_grad=True)
>>> chainrule.numpy.asarray(x) is x    # a Tensor stays itself, in the graph
True
>>> chainrule.numpy.asarray([1, 2])
array([1, 2])
""",
    "numpy.astype": """
>>> x = chainrule.tensor([1.5, 2.0], requires_grad=True)
>>> y = chainrule.numpy.astype(x, np.float32)
>>> y, y.dtype
(tensor([1.5, 2. ], dtype=float32, grad_fn=astype), dtype('float32'))
>>> y.sum().backward()
>>> x.grad, x.grad.dtype    # the gradient has the input's dtype
(array([1., 1.]), dtype('float64'))
""",
    "numpy.atleast_1d": """
>>> x = chainrule.tensor(2.0, requires_grad=True)
>>> y = chainrule.numpy.atleast_1d(x)
>>> y
tensor([2.], grad_fn=...)
>>> y.sum().backward()
>>> x.grad
array(1.)
""",
    "numpy.atleast_2d": """
>>> x = chainrule.tensor([1.0, 2.0], requires_grad=True)
>>> y = chainrule.numpy.atleast_2d(x)
>>> y
tensor([[1., 2.]], grad_fn=...)
>>> y.sum().backward()
>>> x.grad
array([1., 1.])
""",
    "numpy.atleast_3d": """
>>> x = chainrule.tensor([1.0, 2.0], requires_grad=True)
>>> y = chainrule.numpy.atleast_3d(x)
>>> y.shape
(1, 2, 1)
>>> y.sum().backward()
>>> x.grad
array([1., 1.])
""",
    "numpy.average": """
>>> x = chainrule.tensor([1.0, 2.0, 4.0], requires_grad=True)
>>> y = chainrule.numpy.average(x, weights=[1, 1, 2])
>>> y
tensor(2.75, grad_fn=...)
>>> y.sum().backward()
>>> x.grad    # w / Σ w
array([0.25, 0.25, 0.5 ])
""",
    "numpy.bincount": """
>>> chainrule.numpy.bincount(chainrule.tensor([3, 1, 2, 1]))    # how often each integer occurs
tensor([0, 2, 1, 1])
>>> w = chainrule.tensor([0.5, 1.0, 2.0, 4.0], requires_grad=True)
>>> y = chainrule.numpy.bincount([3, 1, 2, 1], weights=w, minlength=5)    # the weights summed per integer
>>> y
tensor([0. , 5. , 2. , 0.5, 0. ], grad_fn=...)
>>> (y * np.arange(5.0)).sum().backward()
>>> w.grad    # each weight's bin's error signal, ḡ[x]
array([3., 1., 2., 1.])
""",
    "numpy.bitwise_not": """
>>> chainrule.numpy.bitwise_not is chainrule.numpy.invert    # another name for invert
True
>>> chainrule.numpy.bitwise_not(chainrule.tensor([0, 5]))
tensor([-1, -6])
""",
    "numpy.block": """
>>> a = chainrule.tensor([1.0, 2.0], requires_grad=True)
>>> b = chainrule.tensor([3.0, 4.0], requires_grad=True)
>>> y = chainrule.numpy.block([[a, b]])
>>> y
tensor([[1., 2., 3., 4.]], grad_fn=...)
>>> (y * np.arange(1.0, 5.0).reshape(y.shape)).sum().backward()
>>> a.grad, b.grad    # each part gets its slice of ḡ
(array([1., 2.]), array([3., 4.]))
""",
    "numpy.broadcast_arrays": """
>>> x = chainrule.tensor([1.0, 2.0], requires_grad=True)
>>> a, b = chainrule.numpy.broadcast_arrays(x, np.zeros((3, 1)))
>>> a.shape, b.shape
((3, 2), (3, 2))
>>> a.sum().backward()
>>> x.grad
array([3., 3.])
""",
    "numpy.broadcast_to": """
>>> x = chainrule.tensor([1.0, 2.0], requires_grad=True)
>>> y = chainrule.numpy.broadcast_to(x, (3, 2))
>>> y
tensor([[1., 2.],
        [1., 2.],
        [1., 2.]], grad_fn=...)
>>> y.sum().backward()
>>> x.grad    # ḡ summed over the broadcast axis
array([3., 3.])
""",
    "numpy.cbrt": """
>>> x = chainrule.tensor([1.0, 8.0], requires_grad=True)
>>> y = chainrule.numpy.cbrt(x)
>>> y
tensor([1., 2.], grad_fn=cbrt)
>>> y.sum().backward()
>>> x.grad
array([0.33333333, 0.08333333])
>>> np.allclose(x.grad, 1 / (3 * np.cbrt(x.data) ** 2))    # x̄ = ḡ / (3 ∛x²)
True
""",
    "numpy.ceil": """
>>> x = chainrule.tensor([-1.5, 0.2, 2.7], requires_grad=True)
>>> y = chainrule.numpy.ceil(x)
>>> y
tensor([-1.,  1.,  3.])
>>> y.requires_grad    # no gradient flows through it
False
""",
    "numpy.clip": """
>>> x = chainrule.tensor([-2.0, 0.5, 3.0], requires_grad=True)
>>> y = chainrule.numpy.clip(x, -1.0, 1.0)
>>> y
tensor([-1. ,  0.5,  1. ], grad_fn=...)
>>> y.sum().backward()
>>> x.grad    # x̄ = ḡ · [lo ≤ x ≤ hi]
array([0., 1., 0.])
""",
    "numpy.column_stack": """
>>> a = chainrule.tensor([1.0, 2.0], requires_grad=True)
>>> b = chainrule.tensor([3.0, 4.0], requires_grad=True)
>>> y = chainrule.numpy.column_stack([a, b])
>>> y
tensor([[1., 3.],
        [2., 4.]], grad_fn=...)
>>> (y * np.arange(1.0, 5.0).reshape(y.shape)).sum().backward()
>>> a.grad, b.grad    # each part gets its slice of ḡ
(array([1., 3.]), array([2., 4.]))
""",
    "numpy.concat": """
>>> a = chainrule.tensor([1.0, 2.0], requires_grad=True)
>>> b = chainrule.tensor([3.0, 4.0], requires_grad=True)
>>> y = chainrule.numpy.concat([a, b])
>>> y
tensor([1., 2., 3., 4.], grad_fn=...)
>>> (y * np.arange(1.0, 5.0).reshape(y.shape)).sum().backward()
>>> a.grad, b.grad    # each part gets its slice of ḡ
(array([1., 2.]), array([3., 4.]))
""",
    "numpy.concatenate": """
>>> a = chainrule.tensor([1.0, 2.0], requires_grad=True)
>>> b = chainrule.tensor([3.0, 4.0], requires_grad=True)
>>> y = chainrule.numpy.concatenate([a, b])
>>> y
tensor([1., 2., 3., 4.], grad_fn=...)
>>> (y * np.arange(1.0, 5.0).reshape(y.shape)).sum().backward()
>>> a.grad, b.grad    # each part gets its slice of ḡ
(array([1., 2.]), array([3., 4.]))
""",
    "numpy.conj": """
>>> z = chainrule.tensor([1 + 2j, 3 - 1j], requires_grad=True)
>>> chainrule.numpy.conj(z)
tensor([1.-2.j, 3.+1.j], dtype=complex128, grad_fn=conj)
>>> chainrule.numpy.imag(chainrule.numpy.conj(z)).sum().backward()    # L = Σ −Im z
>>> z.grad    # ∂L/∂Re z − i ∂L/∂Im z (docs/conventions.md)
array([0.+1.j, 0.+1.j])
""",
    "numpy.conjugate": """
>>> chainrule.numpy.conjugate is chainrule.numpy.conj    # another name for conj
True
>>> z = chainrule.tensor([1 + 2j], requires_grad=True)
>>> chainrule.numpy.real(chainrule.numpy.conjugate(z) * 1j).sum().backward()    # L = Im z
>>> z.grad
array([0.-1.j])
""",
    "numpy.convolve": """
>>> a = chainrule.tensor([1.0, 2.0], requires_grad=True)
>>> b = chainrule.tensor([1.0, 1.0, 1.0], requires_grad=True)
>>> y = chainrule.numpy.convolve(a, b)
>>> y
tensor([1., 3., 3., 2.], grad_fn=...)
>>> y.sum().backward()
>>> a.grad, b.grad
(array([3., 3.]), array([3., 3., 3.]))
""",
    "numpy.copy": """
>>> x = chainrule.tensor([1.0, 2.0], requires_grad=True)
>>> y = chainrule.numpy.copy(x)
>>> y
tensor([1., 2.], grad_fn=copy)
>>> y.sum().backward()
>>> x.grad
array([1., 1.])
>>> np.allclose(x.grad, 1)    # x̄ = ḡ
True
""",
    "numpy.copysign": """
>>> x = chainrule.tensor([1.0, 2.0], requires_grad=True)
>>> y = chainrule.numpy.copysign(x, [-1.0, 1.0])
>>> y
tensor([-1.,  2.], grad_fn=...)
>>> y.sum().backward()
>>> x.grad    # the sign taken from the second argument
array([-1.,  1.])
""",
    "numpy.corrcoef": """
>>> x = chainrule.tensor([[1.0, 2.0, 4.0], [1.0, 3.0, 2.0]], requires_grad=True)
>>> y = chainrule.numpy.corrcoef(x)
>>> y
tensor([[1.        , 0.32732684],
        [0.32732684, 1.        ]], grad_fn=...)
>>> y[0, 1].backward()
>>> np.allclose(x.grad.sum(axis=1), 0)    # shifting a row changes nothing
True
""",
    "numpy.correlate": """
>>> a = chainrule.tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> b = chainrule.tensor([1.0, -1.0], requires_grad=True)
>>> y = chainrule.numpy.correlate(a, b)
>>> y
tensor([-1., -1.], grad_fn=...)
>>> y.sum().backward()
>>> a.grad, b.grad
(array([ 1.,  0., -1.]), array([3., 5.]))
""",
    "numpy.cos": """
>>> x = chainrule.tensor([0.5, 2.0], requires_grad=True)
>>> y = chainrule.numpy.cos(x)
>>> y
tensor([ 0.87758256, -0.41614684], grad_fn=cos)
>>> y.sum().backward()
>>> x.grad
array([-0.47942554, -0.90929743])
>>> np.allclose(x.grad, -np.sin(x.data))    # x̄ = −ḡ · sin(x)
True
""",
    "numpy.cosh": """
>>> x = chainrule.tensor([0.0, 1.0], requires_grad=True)
>>> y = chainrule.numpy.cosh(x)
>>> y
tensor([1.        , 1.54308063], grad_fn=cosh)
>>> y.sum().backward()
>>> x.grad
array([0.        , 1.17520119])
>>> np.allclose(x.grad, np.sinh(x.data))    # x̄ = ḡ · sinh(x)
True
""",
    "numpy.count_nonzero": """
>>> x = chainrule.tensor([3.0, 1.0, 2.0, 1.0], requires_grad=True)
>>> int(chainrule.numpy.count_nonzero(x > 1))
2
""",
    "numpy.cov": """
>>> x = chainrule.tensor([[1.0, 2.0, 4.0], [1.0, 3.0, 2.0]], requires_grad=True)
>>> y = chainrule.numpy.cov(x)
>>> y
tensor([[2.33333333, 0.5       ],
        [0.5       , 1.        ]], grad_fn=...)
>>> y[0, 0].backward()
>>> x.grad    # d var(row 0): 2 (x − mean) / (n − 1)
array([[-1.33333333, -0.33333333,  1.66666667],
       [ 0.        ,  0.        ,  0.        ]])
""",
    "numpy.cross": """
>>> a = chainrule.tensor([1.0, 0.0, 0.0], requires_grad=True)
>>> b = chainrule.tensor([0.0, 1.0, 0.0], requires_grad=True)
>>> y = chainrule.numpy.cross(a, b)
>>> y
tensor([0., 0., 1.], grad_fn=...)
>>> y.sum().backward()
>>> a.grad, b.grad
(array([ 1.,  0., -1.]), array([ 0.,  1., -1.]))
""",
    "numpy.cumprod": """
>>> x = chainrule.tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> y = chainrule.numpy.cumprod(x)
>>> y
tensor([1., 2., 6.], grad_fn=...)
>>> y.sum().backward()
>>> x.grad
array([9., 4., 2.])
""",
    "numpy.cumsum": """
>>> x = chainrule.tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> y = chainrule.numpy.cumsum(x)
>>> y
tensor([1., 3., 6.], grad_fn=...)
>>> y.sum().backward()
>>> x.grad    # x̄ = reverse cumsum of ḡ
array([3., 2., 1.])
""",
    "numpy.deg2rad": """
>>> x = chainrule.tensor([90.0, 180.0], requires_grad=True)
>>> y = chainrule.numpy.deg2rad(x)
>>> y
tensor([1.57079633, 3.14159265], grad_fn=deg2rad)
>>> y.sum().backward()
>>> x.grad
array([0.01745329, 0.01745329])
>>> np.allclose(x.grad, np.pi / 180)    # x̄ = ḡ · π/180
True
""",
    "numpy.degrees": """
>>> chainrule.numpy.degrees is chainrule.numpy.rad2deg    # another name for rad2deg
True
>>> x = chainrule.tensor([0.5, 1.0], requires_grad=True)
>>> chainrule.numpy.degrees(x).sum().backward()
>>> x.grad
array([57.29577951, 57.29577951])
""",
    "numpy.delete": """
>>> x = chainrule.tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> y = chainrule.numpy.delete(x, 1)
>>> y
tensor([1., 3.], grad_fn=...)
>>> y.sum().backward()
>>> x.grad    # nothing to the deleted entry
array([1., 0., 1.])
""",
    "numpy.diag": """
>>> x = chainrule.tensor([1.0, 2.0], requires_grad=True)
>>> y = chainrule.numpy.diag(x)
>>> y
tensor([[1., 0.],
        [0., 2.]], grad_fn=...)
>>> (y * np.array([[1.0, 5.0], [5.0, 2.0]])).sum().backward()
>>> x.grad    # only the diagonal reaches x
array([1., 2.])
""",
    "numpy.diagonal": """
>>> x = chainrule.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
>>> y = chainrule.numpy.diagonal(x)
>>> y
tensor([1., 4.], grad_fn=...)
>>> y.sum().backward()
>>> x.grad
array([[1., 0.],
       [0., 1.]])
""",
    "numpy.diff": """
>>> x = chainrule.tensor([1.0, 4.0, 9.0], requires_grad=True)
>>> y = chainrule.numpy.diff(x)
>>> y
tensor([3., 5.], grad_fn=...)
>>> (y * np.array([1.0, 10.0])).sum().backward()
>>> x.grad
array([-1., -9., 10.])
""",
    "numpy.digitize": """
>>> x = chainrule.tensor([3.0, 1.0, 2.0, 1.0], requires_grad=True)
>>> chainrule.numpy.digitize(x, [1.5, 2.5])
tensor([2, 0, 1, 0])
""",
    "numpy.divide": """
>>> x = chainrule.tensor([1.0, 2.0], requires_grad=True)
>>> y = chainrule.tensor([4.0, 5.0], requires_grad=True)
>>> z = chainrule.numpy.divide(x, y)
>>> z
tensor([0.25, 0.4 ], grad_fn=divide)
>>> z.sum().backward()
>>> x.grad, y.grad
(array([0.25, 0.2 ]), array([-0.0625, -0.08  ]))
>>> np.allclose(x.grad, 1 / y.data), np.allclose(y.grad, -x.data / y.data ** 2)    # x̄ = ḡ / y, ȳ = −ḡ · x / y²
(True, True)
""",
    "numpy.dot": """
>>> a = chainrule.tensor([1.0, 2.0], requires_grad=True)
>>> b = chainrule.tensor([3.0, 4.0], requires_grad=True)
>>> y = chainrule.numpy.dot(a, b)
>>> y
tensor(11., grad_fn=...)
>>> y.sum().backward()
>>> a.grad, b.grad
(array([3., 4.]), array([1., 2.]))
""",
    "numpy.dsplit": """
>>> x = chainrule.tensor(np.ones((1, 1, 2)), requires_grad=True)
>>> parts = chainrule.numpy.dsplit(x, 2)
>>> parts
[tensor([[[1.]]], grad_fn=...), tensor([[[1.]]], grad_fn=...)]
>>> (parts[0].sum() + 10 * parts[1].sum()).backward()
>>> x.grad    # each part's ḡ flows back to its place
array([[[ 1., 10.]]])
""",
    "numpy.dstack": """
>>> a = chainrule.tensor([1.0, 2.0], requires_grad=True)
>>> b = chainrule.tensor([3.0, 4.0], requires_grad=True)
>>> y = chainrule.numpy.dstack([a, b])
>>> y.shape
(1, 2, 2)
>>> (y * np.arange(1.0, 5.0).reshape(y.shape)).sum().backward()
>>> a.grad, b.grad    # each part gets its slice of ḡ
(array([1., 3.]), array([2., 4.]))
""",
    "numpy.ediff1d": """
>>> x = chainrule.tensor([1.0, 4.0, 9.0], requires_grad=True)
>>> y = chainrule.numpy.ediff1d(x)
>>> y
tensor([3., 5.], grad_fn=...)
>>> y[0].backward()
>>> x.grad
array([-1.,  1.,  0.])
""",
    "numpy.einsum": """
>>> a = chainrule.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
>>> b = chainrule.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
>>> y = chainrule.numpy.einsum('ij,jk->ik', a, b)
>>> y
tensor([[ 7., 10.],
        [15., 22.]], grad_fn=...)
>>> y.sum().backward()
>>> a.grad, b.grad
(array([[3., 7.],
       [3., 7.]]), array([[4., 4.],
       [6., 6.]]))
""",
    "numpy.empty_like": """
>>> x = chainrule.tensor([3.0, 1.0, 2.0, 1.0], requires_grad=True)
>>> chainrule.numpy.empty_like(x).shape
(4,)
""",
    "numpy.equal": """
>>> x = chainrule.tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> chainrule.numpy.equal(x, 2.0)
tensor([False,  True, False])
>>> chainrule.numpy.equal(x, 2.0).requires_grad    # no gradient flows through it
False
""",
    "numpy.exp": """
>>> x = chainrule.tensor([0.0, 1.0], requires_grad=True)
>>> y = chainrule.numpy.exp(x)
>>> y
tensor([1.        , 2.71828183], grad_fn=exp)
>>> y.sum().backward()
>>> x.grad
array([1.        , 2.71828183])
>>> np.allclose(x.grad, np.exp(x.data))    # x̄ = ḡ · exp(x)
True
""",
    "numpy.exp2": """
>>> x = chainrule.tensor([0.0, 3.0], requires_grad=True)
>>> y = chainrule.numpy.exp2(x)
>>> y
tensor([1., 8.], grad_fn=exp2)
>>> y.sum().backward()
>>> x.grad
array([0.69314718, 5.54517744])
>>> np.allclose(x.grad, 2 ** x.data * np.log(2))    # x̄ = ḡ · 2^x · ln 2
True
""",
    "numpy.expand_dims": """
>>> x = chainrule.tensor([1.0, 2.0], requires_grad=True)
>>> y = chainrule.numpy.expand_dims(x, 0)
>>> y
tensor([[1., 2.]], grad_fn=...)
>>> y.sum().backward()
>>> x.grad
array([1., 1.])
""",
    "numpy.expm1": """
>>> x = chainrule.tensor([0.0, 0.5], requires_grad=True)
>>> y = chainrule.numpy.expm1(x)
>>> y
tensor([0.        , 0.64872127], grad_fn=expm1)
>>> y.sum().backward()
>>> x.grad
array([1.        , 1.64872127])
>>> np.allclose(x.grad, np.exp(x.data))    # x̄ = ḡ · exp(x)
True
""",
    "numpy.fabs": """
>>> chainrule.numpy.fabs is chainrule.numpy.abs    # another name for abs
True
>>> x = chainrule.tensor([-1.5, 2.0], requires_grad=True)
>>> chainrule.numpy.fabs(x).sum().backward()
>>> x.grad
array([-1.,  1.])
""",
    "numpy.fft.fft": """
>>> x = chainrule.tensor([1.0, 2.0, 0.0, -1.0], requires_grad=True)
>>> X = chainrule.numpy.fft.fft(x)
>>> X
tensor([2.+0.j, 1.-3.j, 0.+0.j, 1.+3.j], dtype=complex128, grad_fn=fft)
>>> chainrule.numpy.real(X).sum().backward()    # Σₖ Re Xₖ = 4 x₀
>>> x.grad
array([4., 0., 0., 0.])
""",
    "numpy.fft.fft2": """
>>> x = chainrule.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
>>> X = chainrule.numpy.fft.fft2(x)
>>> X
tensor([[10.+0.j, -2.+0.j],
        [-4.+0.j,  0.+0.j]], dtype=complex128, grad_fn=...)
>>> chainrule.numpy.real(X[0, 0]).backward()    # the zero-frequency term
>>> x.grad
array([[1., 1.],
       [1., 1.]])
>>> np.allclose(X.data, np.fft.fft2(x.data))
True
""",
    "numpy.fft.fftn": """
>>> x = chainrule.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
>>> X = chainrule.numpy.fft.fftn(x)
>>> X
tensor([[10.+0.j, -2.+0.j],
        [-4.+0.j,  0.+0.j]], dtype=complex128, grad_fn=...)
>>> chainrule.numpy.real(X[0, 0]).backward()    # the zero-frequency term
>>> x.grad
array([[1., 1.],
       [1., 1.]])
>>> np.allclose(X.data, np.fft.fftn(x.data))
True
""",
    "numpy.fft.fftshift": """
>>> x = chainrule.tensor([0.0, 1.0, 2.0, -2.0, -1.0], requires_grad=True)
>>> y = chainrule.numpy.fft.fftshift(x)
>>> y
tensor([-2., -1.,  0.,  1.,  2.], grad_fn=...)
>>> y[0].backward()
>>> x.grad    # y[0] is x[3]
array([0., 0., 0., 1., 0.])
""",
    "numpy.fft.ifft": """
>>> x = chainrule.tensor([1.0, 2.0, 0.0, -1.0], requires_grad=True)
>>> y = chainrule.numpy.fft.ifft(x)
>>> y
tensor([0.5 +0.j  , 0.25+0.75j, 0.  +0.j  , 0.25-0.75j], dtype=complex128, grad_fn=ifft)
>>> chainrule.numpy.real(y).sum().backward()    # Σₙ Re yₙ = x₀
>>> x.grad
array([1., 0., 0., 0.])
""",
    "numpy.fft.ifft2": """
>>> x = chainrule.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
>>> X = chainrule.numpy.fft.ifft2(x)
>>> X
tensor([[ 2.5+0.j, -0.5+0.j],
        [-1. +0.j,  0. +0.j]], dtype=complex128, grad_fn=...)
>>> chainrule.numpy.real(X[0, 0]).backward()    # the zero-frequency term
>>> x.grad
array([[0.25, 0.25],
       [0.25, 0.25]])
>>> np.allclose(X.data, np.fft.ifft2(x.data))
True
""",
    "numpy.fft.ifftn": """
>>> x = chainrule.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
>>> X = chainrule.numpy.fft.ifftn(x)
>>> X
tensor([[ 2.5+0.j, -0.5+0.j],
        [-1. +0.j,  0. +0.j]], dtype=complex128, grad_fn=...)
>>> chainrule.numpy.real(X[0, 0]).backward()    # the zero-frequency term
>>> x.grad
array([[0.25, 0.25],
       [0.25, 0.25]])
>>> np.allclose(X.data, np.fft.ifftn(x.data))
True
""",
    "numpy.fft.ifftshift": """
>>> x = chainrule.tensor([-2.0, -1.0, 0.0, 1.0, 2.0], requires_grad=True)
>>> y = chainrule.numpy.fft.ifftshift(x)
>>> y
tensor([ 0.,  1.,  2., -2., -1.], grad_fn=...)
>>> y[0].backward()
>>> x.grad    # y[0] is x[2]
array([0., 0., 1., 0., 0.])
""",
    "numpy.fft.irfft": """
>>> X = chainrule.tensor([2.0, 1 - 3j, 0.0], requires_grad=True)
>>> x = chainrule.numpy.fft.irfft(X)
>>> x
tensor([ 1.,  2.,  0., -1.], grad_fn=irfft)
>>> x[0].backward()
>>> X.grad    # x₀ = (X₀ + 2 Re X₁ + X₂) / 4
array([0.25+0.j, 0.5 +0.j, 0.25+0.j])
""",
    "numpy.fft.irfft2": """
>>> X = chainrule.tensor([[10.0, -2.0], [-4.0, 0.0]], requires_grad=True)
>>> x = chainrule.numpy.fft.irfft2(X)
>>> x
tensor([[1., 2.],
        [3., 4.]], grad_fn=...)
>>> x[0, 0].backward()
>>> X.grad
array([[0.25, 0.25],
       [0.25, 0.25]])
>>> np.allclose(x.data, np.fft.irfft2(X.data))
True
""",
    "numpy.fft.irfftn": """
>>> X = chainrule.tensor([[10.0, -2.0], [-4.0, 0.0]], requires_grad=True)
>>> x = chainrule.numpy.fft.irfftn(X)
>>> x
tensor([[1., 2.],
        [3., 4.]], grad_fn=...)
>>> x[0, 0].backward()
>>> X.grad
array([[0.25, 0.25],
       [0.25, 0.25]])
>>> np.allclose(x.data, np.fft.irfftn(X.data))
True
""",
    "numpy.fft.rfft": """
>>> x = chainrule.tensor([1.0, 2.0, 0.0, -1.0], requires_grad=True)
>>> X = chainrule.numpy.fft.rfft(x)
>>> X
tensor([2.+0.j, 1.-3.j, 0.+0.j], dtype=complex128, grad_fn=rfft)
>>> chainrule.numpy.abs(X[1]).backward()    # the magnitude of frequency 1
>>> x.grad
array([ 0.31622777,  0.9486833 , -0.31622777, -0.9486833 ])
""",
    "numpy.fft.rfft2": """
>>> x = chainrule.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
>>> X = chainrule.numpy.fft.rfft2(x)
>>> X
tensor([[10.+0.j, -2.+0.j],
        [-4.+0.j,  0.+0.j]], dtype=complex128, grad_fn=...)
>>> chainrule.numpy.real(X[1, 0]).backward()
>>> x.grad
array([[ 1.,  1.],
       [-1., -1.]])
>>> np.allclose(X.data, np.fft.rfft2(x.data))
True
""",
    "numpy.fft.rfftn": """
>>> x = chainrule.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
>>> X = chainrule.numpy.fft.rfftn(x)
>>> X
tensor([[10.+0.j, -2.+0.j],
        [-4.+0.j,  0.+0.j]], dtype=complex128, grad_fn=...)
>>> chainrule.numpy.real(X[1, 0]).backward()
>>> x.grad
array([[ 1.,  1.],
       [-1., -1.]])
>>> np.allclose(X.data, np.fft.rfftn(x.data))
True
""",
    "numpy.fix": """
>>> chainrule.numpy.fix is chainrule.numpy.trunc    # another name for trunc
True
>>> x = chainrule.tensor([-1.5, 0.2, 2.7], requires_grad=True)
>>> y = chainrule.numpy.fix(x)
>>> y
tensor([-1.,  0.,  2.])
>>> y.requires_grad    # no gradient flows through it
False
""",
    "numpy.flatnonzero": """
>>> x = chainrule.tensor([3.0, 1.0, 2.0, 1.0], requires_grad=True)
>>> chainrule.numpy.flatnonzero(x > 1.5)
tensor([0, 2])
""",
    "numpy.flip": """
>>> x = chainrule.tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> y = chainrule.numpy.flip(x)
>>> y
tensor([3., 2., 1.], grad_fn=...)
>>> (y * np.array([1.0, 2.0, 3.0])).sum().backward()
>>> x.grad    # flip(ḡ)
array([3., 2., 1.])
""",
    "numpy.fliplr": """
>>> x = chainrule.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
>>> y = chainrule.numpy.fliplr(x)
>>> y
tensor([[2., 1.],
        [4., 3.]], grad_fn=...)
>>> y[0, 0].backward()
>>> x.grad
array([[0., 1.],
       [0., 0.]])
""",
    "numpy.flipud": """
>>> x = chainrule.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
>>> y = chainrule.numpy.flipud(x)
>>> y
tensor([[3., 4.],
        [1., 2.]], grad_fn=...)
>>> y[0, 0].backward()
>>> x.grad
array([[0., 0.],
       [1., 0.]])
""",
    "numpy.float_power": """
>>> x = chainrule.tensor([2.0, 3.0], requires_grad=True)
>>> y = chainrule.numpy.float_power(x, 2)
>>> y
tensor([4., 9.], grad_fn=...)
>>> y.sum().backward()
>>> x.grad    # 2x
array([4., 6.])
""",
    "numpy.floor": """
>>> x = chainrule.tensor([-1.5, 0.2, 2.7], requires_grad=True)
>>> y = chainrule.numpy.floor(x)
>>> y
tensor([-2.,  0.,  2.])
>>> y.requires_grad    # no gradient flows through it
False
""",
    "numpy.floor_divide": """
>>> x = chainrule.tensor([7.0, -7.0], requires_grad=True)
>>> chainrule.numpy.floor_divide(x, 2.0)
tensor([ 3., -4.])
>>> chainrule.numpy.floor_divide(x, 2.0).requires_grad    # no gradient flows through it
False
""",
    "numpy.fmax": """
>>> x = chainrule.tensor([1.0, np.nan], requires_grad=True)
>>> y = chainrule.tensor([3.0, 2.0], requires_grad=True)
>>> z = chainrule.numpy.fmax(x, y)
>>> z
tensor([3., 2.], grad_fn=fmax)
>>> z.sum().backward()
>>> x.grad, y.grad
(array([0., 0.]), array([1., 1.]))
>>> np.allclose(x.grad, [0.0, 0.0]), np.allclose(y.grad, [1.0, 1.0])    # NaN loses: ȳ = ḡ where x is NaN
(True, True)
""",
    "numpy.fmin": """
>>> x = chainrule.tensor([1.0, np.nan], requires_grad=True)
>>> y = chainrule.tensor([3.0, 2.0], requires_grad=True)
>>> z = chainrule.numpy.fmin(x, y)
>>> z
tensor([1., 2.], grad_fn=fmin)
>>> z.sum().backward()
>>> x.grad, y.grad
(array([1., 0.]), array([0., 1.]))
>>> np.allclose(x.grad, [1.0, 0.0]), np.allclose(y.grad, [0.0, 1.0])    # NaN loses: ȳ = ḡ where x is NaN
(True, True)
""",
    "numpy.fmod": """
>>> x = chainrule.tensor([5.5, -3.5], requires_grad=True)
>>> y = chainrule.tensor([2.0, 2.0], requires_grad=True)
>>> z = chainrule.numpy.fmod(x, y)
>>> z
tensor([ 1.5, -1.5], grad_fn=fmod)
>>> z.sum().backward()
>>> x.grad, y.grad
(array([1., 1.]), array([-2.,  1.]))
>>> np.allclose(x.grad, 1), np.allclose(y.grad, -np.trunc(x.data / y.data))    # ȳ = −ḡ · trunc(x / y)
(True, True)
""",
    "numpy.full_like": """
>>> x = chainrule.tensor([3.0, 1.0, 2.0, 1.0], requires_grad=True)
>>> chainrule.numpy.full_like(x, 7.0)
tensor([7., 7., 7., 7.])
""",
    "numpy.geomspace": """
>>> stop = chainrule.tensor(8.0, requires_grad=True)
>>> y = chainrule.numpy.geomspace(1.0, stop, 4)
>>> y
tensor([1., 2., 4., 8.], grad_fn=...)
>>> y[1].backward()
>>> np.allclose(stop.grad, 1 / 6)    # d stop^(1/3) / d stop at 8
False
""",
    "numpy.getitem": """
>>> x = chainrule.tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> y = chainrule.numpy.getitem(x, [0, 0, 2])    # x[[0, 0, 2]]
>>> y
tensor([1., 1., 3.], grad_fn=getitem)
>>> y.sum().backward()
>>> x.grad    # repeated indices add up
array([2., 0., 1.])
""",
    "numpy.gradient": """
>>> x = chainrule.tensor([1.0, 4.0, 9.0, 16.0], requires_grad=True)
>>> y = chainrule.numpy.gradient(x)
>>> y
tensor([3., 4., 6., 7.], grad_fn=...)
>>> y[1].backward()
>>> x.grad    # (x[2] − x[0]) / 2
array([-0.5,  0. ,  0.5,  0. ])
""",
    "numpy.greater": """
>>> x = chainrule.tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> chainrule.numpy.greater(x, 2.0)
tensor([False, False,  True])
>>> chainrule.numpy.greater(x, 2.0).requires_grad    # no gradient flows through it
False
""",
    "numpy.greater_equal": """
>>> x = chainrule.tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> chainrule.numpy.greater_equal(x, 2.0)
tensor([False,  True,  True])
>>> chainrule.numpy.greater_equal(x, 2.0).requires_grad    # no gradient flows through it
False
""",
    "numpy.heaviside": """
>>> x = chainrule.tensor([-1.0, 0.0, 2.0], requires_grad=True)
>>> chainrule.numpy.heaviside(x, 0.5)
tensor([0. , 0.5, 1. ])
>>> chainrule.numpy.heaviside(x, 0.5).requires_grad    # a step: zero derivative, no gradient
False
>>> h = chainrule.tensor(0.5, requires_grad=True)
>>> chainrule.numpy.heaviside(np.array([0.0, 1.0]), h).sum().backward()
>>> h.grad    # differentiable in the value at zero
array(1.)
""",
    "numpy.hsplit": """
>>> x = chainrule.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
>>> parts = chainrule.numpy.hsplit(x, 2)
>>> parts
[tensor([[1.],
        [3.]], grad_fn=...), tensor([[2.],
        [4.]], grad_fn=...)]
>>> (parts[0].sum() + 10 * parts[1].sum()).backward()
>>> x.grad    # each part's ḡ flows back to its place
array([[ 1., 10.],
       [ 1., 10.]])
""",
    "numpy.hstack": """
>>> a = chainrule.tensor([1.0, 2.0], requires_grad=True)
>>> b = chainrule.tensor([3.0, 4.0], requires_grad=True)
>>> y = chainrule.numpy.hstack([a, b])
>>> y
tensor([1., 2., 3., 4.], grad_fn=...)
>>> (y * np.arange(1.0, 5.0).reshape(y.shape)).sum().backward()
>>> a.grad, b.grad    # each part gets its slice of ḡ
(array([1., 2.]), array([3., 4.]))
""",
    "numpy.hypot": """
>>> x = chainrule.tensor([3.0, 5.0], requires_grad=True)
>>> y = chainrule.tensor([4.0, 12.0], requires_grad=True)
>>> z = chainrule.numpy.hypot(x, y)
>>> z
tensor([ 5., 13.], grad_fn=hypot)
>>> z.sum().backward()
>>> x.grad, y.grad
(array([0.6       , 0.38461538]), array([0.8       , 0.92307692]))
>>> np.allclose(x.grad, x.data / z.data), np.allclose(y.grad, y.data / z.data)    # x̄ = ḡ · x / z
(True, True)
""",
    "numpy.imag": """
>>> z = chainrule.tensor([1 + 2j, 3 - 1j], requires_grad=True)
>>> chainrule.numpy.imag(z)
tensor([ 2., -1.], grad_fn=imag)
>>> chainrule.numpy.imag(z).sum().backward()
>>> z.grad    # ∂L/∂Re z − i ∂L/∂Im z = −i
array([0.-1.j, 0.-1.j])
""",
    "numpy.inner": """
>>> a = chainrule.tensor([1.0, 2.0], requires_grad=True)
>>> b = chainrule.tensor([3.0, 4.0], requires_grad=True)
>>> y = chainrule.numpy.inner(a, b)
>>> y
tensor(11., grad_fn=...)
>>> y.sum().backward()
>>> a.grad, b.grad
(array([3., 4.]), array([1., 2.]))
""",
    "numpy.insert": """
>>> x = chainrule.tensor([1.0, 2.0], requires_grad=True)
>>> v = chainrule.tensor(5.0, requires_grad=True)
>>> y = chainrule.numpy.insert(x, 1, v)
>>> y
tensor([1., 5., 2.], grad_fn=...)
>>> (y * np.array([1.0, 2.0, 3.0])).sum().backward()
>>> x.grad, v.grad
(array([1., 3.]), array(2.))
""",
    "numpy.interp": """
>>> x = chainrule.tensor([0.5, 1.5], requires_grad=True)
>>> y = chainrule.numpy.interp(x, [0.0, 1.0, 2.0], [0.0, 10.0, 30.0])
>>> y
tensor([ 5., 20.], grad_fn=...)
>>> y.sum().backward()
>>> x.grad    # the slope of the piece each x is on
array([10., 20.])
""",
    "numpy.invert": """
>>> chainrule.numpy.invert(chainrule.tensor([0, 5]))
tensor([-1, -6])
>>> chainrule.numpy.invert(chainrule.tensor([True, False]))
tensor([False,  True])
""",
    "numpy.isclose": """
>>> x = chainrule.tensor([3.0, 1.0, 2.0, 1.0], requires_grad=True)
>>> chainrule.numpy.isclose(x, 1.0)
tensor([False,  True, False,  True])
""",
    "numpy.iscomplexobj": """
>>> x = chainrule.tensor([3.0, 1.0, 2.0, 1.0], requires_grad=True)
>>> chainrule.numpy.iscomplexobj(x)
False
""",
    "numpy.isfinite": """
>>> x = chainrule.tensor([1.0, np.inf, np.nan], requires_grad=True)
>>> y = chainrule.numpy.isfinite(x)
>>> y
tensor([ True, False, False])
>>> y.requires_grad    # no gradient flows through it
False
""",
    "numpy.isinf": """
>>> x = chainrule.tensor([1.0, np.inf, np.nan], requires_grad=True)
>>> y = chainrule.numpy.isinf(x)
>>> y
tensor([False,  True, False])
>>> y.requires_grad    # no gradient flows through it
False
""",
    "numpy.isnan": """
>>> x = chainrule.tensor([1.0, np.inf, np.nan], requires_grad=True)
>>> y = chainrule.numpy.isnan(x)
>>> y
tensor([False, False,  True])
>>> y.requires_grad    # no gradient flows through it
False
""",
    "numpy.isreal": """
>>> x = chainrule.tensor([3.0, 1.0, 2.0, 1.0], requires_grad=True)
>>> chainrule.numpy.isreal(x)
tensor([ True,  True,  True,  True])
""",
    "numpy.isscalar": """
>>> x = chainrule.tensor([3.0, 1.0, 2.0, 1.0], requires_grad=True)
>>> chainrule.numpy.isscalar(x), chainrule.numpy.isscalar(3.0)
(False, True)
""",
    "numpy.kron": """
>>> a = chainrule.tensor([1.0, 2.0], requires_grad=True)
>>> b = chainrule.tensor([1.0, 10.0], requires_grad=True)
>>> y = chainrule.numpy.kron(a, b)
>>> y
tensor([ 1., 10.,  2., 20.], grad_fn=...)
>>> y.sum().backward()
>>> a.grad, b.grad
(array([11., 11.]), array([3., 3.]))
""",
    "numpy.less": """
>>> x = chainrule.tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> chainrule.numpy.less(x, 2.0)
tensor([ True, False, False])
>>> chainrule.numpy.less(x, 2.0).requires_grad    # no gradient flows through it
False
""",
    "numpy.less_equal": """
>>> x = chainrule.tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> chainrule.numpy.less_equal(x, 2.0)
tensor([ True,  True, False])
>>> chainrule.numpy.less_equal(x, 2.0).requires_grad    # no gradient flows through it
False
""",
    "numpy.linalg.cholesky": """
>>> A = chainrule.tensor([[4.0, 2.0], [2.0, 3.0]], requires_grad=True)
>>> Lf = chainrule.numpy.linalg.cholesky(A)
>>> Lf
tensor([[2.        , 0.        ],
        [1.        , 1.41421356]], grad_fn=cholesky)
>>> np.allclose(Lf.data @ Lf.data.T, A.data)
True
>>> # the rule agrees with finite differences
>>> chainrule.gradcheck(lambda a: chainrule.numpy.linalg.cholesky((a + a.T) / 2), A.data)
True
""",
    "numpy.linalg.cond": """
>>> A = chainrule.tensor([[2.0, 0.0], [0.0, 0.5]], requires_grad=True)
>>> c = chainrule.numpy.linalg.cond(A)
>>> c
tensor(4., grad_fn=...)
>>> c.backward()
>>> A.grad    # σ_max / σ_min = a₀₀ / a₁₁ here
array([[ 2.,  0.],
       [ 0., -8.]])
""",
    "numpy.linalg.cross": """
>>> a = chainrule.tensor([1.0, 0.0, 0.0], requires_grad=True)
>>> y = chainrule.numpy.linalg.cross(a, np.array([0.0, 1.0, 0.0]))
>>> y
tensor([0., 0., 1.], grad_fn=...)
>>> y[2].backward()
>>> a.grad
array([1., 0., 0.])
""",
    "numpy.linalg.det": """
>>> A = chainrule.tensor([[2.0, 1.0], [1.0, 3.0]], requires_grad=True)
>>> d = chainrule.numpy.linalg.det(A)
>>> d
tensor(5., grad_fn=det)
>>> d.backward()
>>> A.grad
array([[ 3., -1.],
       [-1.,  2.]])
>>> np.allclose(A.grad, 5.0 * np.linalg.inv(A.data).T)    # Ā = ḡ · det(A) A⁻ᵀ
True
""",
    "numpy.linalg.diagonal": """
>>> A = chainrule.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
>>> d = chainrule.numpy.linalg.diagonal(A)
>>> d
tensor([1., 4.], grad_fn=...)
>>> d.sum().backward()
>>> A.grad
array([[1., 0.],
       [0., 1.]])
""",
    "numpy.linalg.eig": """
>>> A = chainrule.tensor([[2.0, 1.0], [0.0, 3.0]], requires_grad=True)
>>> w, V = chainrule.numpy.linalg.eig(A)
>>> w
tensor([2., 3.], grad_fn=...)
>>> chainrule.numpy.real(w).sum().backward()
>>> np.allclose(A.grad, np.eye(2))    # Σ eigenvalues = trace: Ā = I
True
""",
    "numpy.linalg.eigh": """
>>> A = chainrule.tensor([[4.0, 2.0], [2.0, 3.0]], requires_grad=True)
>>> w, V = chainrule.numpy.linalg.eigh(A)
>>> w
tensor([1.43844719, 5.56155281], grad_fn=...)
>>> w[1].backward()
>>> np.allclose(A.grad, np.outer(V.data[:, 1], V.data[:, 1]))    # ∂λ/∂A = v vᵀ
True
""",
    "numpy.linalg.eigvals": """
>>> A = chainrule.tensor([[2.0, 1.0], [0.0, 3.0]], requires_grad=True)
>>> w = chainrule.numpy.linalg.eigvals(A)
>>> w
tensor([2., 3.], grad_fn=...)
>>> chainrule.numpy.real(w).sum().backward()
>>> A.grad
array([[ 1.00000000e+00,  0.00000000e+00],
       [-2.02930727e-17,  1.00000000e+00]])
""",
    "numpy.linalg.eigvalsh": """
>>> A = chainrule.tensor([[4.0, 2.0], [2.0, 3.0]], requires_grad=True)
>>> w = chainrule.numpy.linalg.eigvalsh(A)
>>> w
tensor([1.43844719, 5.56155281], grad_fn=eigvalsh)
>>> w.sum().backward()
>>> A.grad    # Σ eigenvalues = trace: Ā = I
array([[ 1.00000000e+00, -2.09898045e-17],
       [-2.09898045e-17,  1.00000000e+00]])
""",
    "numpy.linalg.inv": """
>>> A = chainrule.tensor([[2.0, 1.0], [1.0, 3.0]], requires_grad=True)
>>> B = chainrule.numpy.linalg.inv(A)
>>> B
tensor([[ 0.6, -0.2],
        [-0.2,  0.4]], grad_fn=inv)
>>> B.sum().backward()
>>> Binv = np.linalg.inv(A.data)
>>> np.allclose(A.grad, -Binv.T @ np.ones((2, 2)) @ Binv.T)    # Ā = −A⁻ᵀ ḡ A⁻ᵀ
True
""",
    "numpy.linalg.lstsq": """
>>> A = chainrule.tensor([[1.0, 0.0], [1.0, 1.0], [1.0, 2.0]], requires_grad=True)
>>> b = chainrule.tensor([1.0, 2.0, 2.0], requires_grad=True)
>>> x, residuals, rank, sv = chainrule.numpy.linalg.lstsq(A, b)
>>> x
tensor([1.16666667, 0.5       ], grad_fn=...)
>>> x[1].backward()
>>> np.allclose(b.grad, [-0.5, 0.0, 0.5])    # the fitted slope's derivative in each b
True
""",
    "numpy.linalg.matmul": """
>>> chainrule.numpy.linalg.matmul is chainrule.numpy.matmul    # the same function as chainrule.numpy.matmul
True
>>> a = chainrule.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
>>> b = chainrule.tensor([1.0, -1.0], requires_grad=True)
>>> y = chainrule.numpy.matmul(a, b)
>>> y
tensor([-1., -1.], grad_fn=...)
>>> y.sum().backward()
>>> np.allclose(a.grad, np.outer(np.ones(2), b.data))    # ā = ḡ bᵀ
True
>>> np.allclose(b.grad, a.data.T @ np.ones(2))    # b̄ = aᵀ ḡ
True
""",
    "numpy.linalg.matrix_norm": """
>>> A = chainrule.tensor([[3.0, 0.0], [0.0, 4.0]], requires_grad=True)
>>> n = chainrule.numpy.linalg.matrix_norm(A)
>>> n
tensor(5., grad_fn=...)
>>> n.backward()
>>> A.grad    # Ā = A / ‖A‖_F
array([[0.6, 0. ],
       [0. , 0.8]])
""",
    "numpy.linalg.matrix_power": """
>>> A = chainrule.tensor([[1.0, 1.0], [0.0, 1.0]], requires_grad=True)
>>> B = chainrule.numpy.linalg.matrix_power(A, 3)
>>> B
tensor([[1., 3.],
        [0., 1.]], grad_fn=...)
>>> B[0, 1].backward()
>>> A.grad
array([[3., 3.],
       [1., 3.]])
""",
    "numpy.linalg.matrix_rank": """
>>> A = chainrule.tensor([[1.0, 2.0], [2.0, 4.0]], requires_grad=True)
>>> int(chainrule.numpy.linalg.matrix_rank(A))    # an integer: no gradient
1
""",
    "numpy.linalg.matrix_transpose": """
>>> # the same function as chainrule.numpy.matrix_transpose
>>> chainrule.numpy.linalg.matrix_transpose is chainrule.numpy.matrix_transpose
True
>>> x = chainrule.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
>>> y = chainrule.numpy.matrix_transpose(x)
>>> y
tensor([[1., 4.],
        [2., 5.],
        [3., 6.]], grad_fn=...)
>>> (y * np.arange(6.0).reshape(3, 2)).sum().backward()
>>> x.grad
array([[0., 2., 4.],
       [1., 3., 5.]])
""",
    "numpy.linalg.multi_dot": """
>>> A = chainrule.tensor([[1.0, 2.0]], requires_grad=True)
>>> B = chainrule.tensor([[1.0], [1.0]], requires_grad=True)
>>> y = chainrule.numpy.linalg.multi_dot([A, B, np.array([[2.0]])])
>>> y
tensor([[6.]], grad_fn=...)
>>> y.sum().backward()
>>> A.grad, B.grad
(array([[2., 2.]]), array([[2.],
       [4.]]))
""",
    "numpy.linalg.norm": """
>>> x = chainrule.tensor([3.0, 4.0], requires_grad=True)
>>> n = chainrule.numpy.linalg.norm(x)
>>> n
tensor(5., grad_fn=...)
>>> n.backward()
>>> x.grad    # x / ‖x‖
array([0.6, 0.8])
>>> # a matrix norm: the largest column sum
>>> chainrule.numpy.linalg.norm(chainrule.tensor([[1.0, 2.0], [3.0, 4.0]]), ord=1)
tensor(6.)
""",
    "numpy.linalg.outer": """
>>> a = chainrule.tensor([1.0, 2.0], requires_grad=True)
>>> y = chainrule.numpy.linalg.outer(a, np.array([1.0, 10.0]))
>>> y
tensor([[ 1., 10.],
        [ 2., 20.]], grad_fn=...)
>>> y.sum().backward()
>>> a.grad    # Σ of the other vector
array([11., 11.])
""",
    "numpy.linalg.pinv": """
>>> A = chainrule.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], requires_grad=True)
>>> P = chainrule.numpy.linalg.pinv(A)
>>> P.shape
(2, 3)
>>> np.allclose(P.data @ A.data, np.eye(2))
True
>>> chainrule.gradcheck(chainrule.numpy.linalg.pinv, A.data)
True
""",
    "numpy.linalg.qr": """
>>> A = chainrule.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], requires_grad=True)
>>> Q, R = chainrule.numpy.linalg.qr(A)
>>> np.allclose(Q.data @ R.data, A.data)
True
>>> R
tensor([[-5.91607978, -7.43735744],
        [ 0.        ,  0.82807867]], grad_fn=select)
>>> R[1, 1].backward()
>>> A.grad.shape
(3, 2)
>>> chainrule.gradcheck(lambda a: chainrule.numpy.linalg.qr(a)[1], A.data)
True
""",
    "numpy.linalg.slogdet": """
>>> A = chainrule.tensor([[2.0, 1.0], [1.0, 3.0]], requires_grad=True)
>>> sign, logabsdet = chainrule.numpy.linalg.slogdet(A)
>>> sign, logabsdet
(tensor(1., grad_fn=...), tensor(1.60943791, grad_fn=...))
>>> logabsdet.backward()
>>> np.allclose(A.grad, np.linalg.inv(A.data).T)    # ∂ log|det A| / ∂A = A⁻ᵀ
True
""",
    "numpy.linalg.solve": """
>>> A = chainrule.tensor([[2.0, 1.0], [1.0, 3.0]], requires_grad=True)
>>> b = chainrule.tensor([1.0, 2.0], requires_grad=True)
>>> x = chainrule.numpy.linalg.solve(A, b)
>>> x
tensor([0.2, 0.6], grad_fn=solve)
>>> x.sum().backward()
>>> bbar = np.linalg.solve(A.data.T, np.ones(2))
>>> np.allclose(b.grad, bbar), np.allclose(A.grad, -np.outer(bbar, x.data))    # b̄ = A⁻ᵀ ḡ, Ā = −b̄ xᵀ
(True, True)
""",
    "numpy.linalg.svd": """
>>> A = chainrule.tensor([[3.0, 0.0], [0.0, 1.0], [0.0, 0.0]], requires_grad=True)
>>> U, s, Vh = chainrule.numpy.linalg.svd(A, full_matrices=False)
>>> s
tensor([3., 1.], grad_fn=...)
>>> s[0].backward()
>>> np.allclose(A.grad, np.outer(U.data[:, 0], Vh.data[0]))    # ∂σ₀/∂A = u₀ v₀ᵀ
True
""",
    "numpy.linalg.svdvals": """
>>> A = chainrule.tensor([[3.0, 0.0], [0.0, 1.0]], requires_grad=True)
>>> s = chainrule.numpy.linalg.svdvals(A)
>>> s
tensor([3., 1.], grad_fn=...)
>>> s.sum().backward()
>>> A.grad    # U Vᵀ
array([[1., 0.],
       [0., 1.]])
""",
    "numpy.linalg.tensordot": """
>>> # the same function as chainrule.numpy.tensordot
>>> chainrule.numpy.linalg.tensordot is chainrule.numpy.tensordot
True
>>> a = chainrule.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
>>> b = chainrule.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
>>> y = chainrule.numpy.tensordot(a, b, axes=1)
>>> y
tensor([[ 7., 10.],
        [15., 22.]], grad_fn=...)
>>> y.sum().backward()
>>> a.grad, b.grad
(array([[3., 7.],
       [3., 7.]]), array([[4., 4.],
       [6., 6.]]))
""",
    "numpy.linalg.trace": """
>>> A = chainrule.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
>>> t = chainrule.numpy.linalg.trace(A)
>>> t
tensor(5., grad_fn=...)
>>> t.backward()
>>> A.grad
array([[1., 0.],
       [0., 1.]])
""",
    "numpy.linalg.vecdot": """
>>> chainrule.numpy.linalg.vecdot is chainrule.numpy.vecdot    # the same function as chainrule.numpy.vecdot
True
>>> a = chainrule.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
>>> b = chainrule.tensor([1.0, -1.0], requires_grad=True)
>>> y = chainrule.numpy.vecdot(a, b)
>>> y
tensor([-1., -1.], grad_fn=...)
>>> y.sum().backward()
>>> a.grad, b.grad
(array([[ 1., -1.],
       [ 1., -1.]]), array([4., 6.]))
""",
    "numpy.linalg.vector_norm": """
>>> x = chainrule.tensor([3.0, 4.0], requires_grad=True)
>>> n = chainrule.numpy.linalg.vector_norm(x)
>>> n
tensor(5., grad_fn=...)
>>> n.backward()
>>> x.grad    # x / ‖x‖
array([0.6, 0.8])
""",
    "numpy.linspace": """
>>> stop = chainrule.tensor(2.0, requires_grad=True)
>>> y = chainrule.numpy.linspace(0.0, stop, 5)
>>> y
tensor([0. , 0.5, 1. , 1.5, 2. ], grad_fn=...)
>>> y.sum().backward()
>>> stop.grad    # Σ k/4, k = 0..4
array(2.5)
""",
    "numpy.log": """
>>> x = chainrule.tensor([0.5, 2.0], requires_grad=True)
>>> y = chainrule.numpy.log(x)
>>> y
tensor([-0.69314718,  0.69314718], grad_fn=log)
>>> y.sum().backward()
>>> x.grad
array([2. , 0.5])
>>> np.allclose(x.grad, 1 / x.data)    # x̄ = ḡ / x
True
""",
    "numpy.log10": """
>>> x = chainrule.tensor([1.0, 100.0], requires_grad=True)
>>> y = chainrule.numpy.log10(x)
>>> y
tensor([0., 2.], grad_fn=log10)
>>> y.sum().backward()
>>> x.grad
array([0.43429448, 0.00434294])
>>> np.allclose(x.grad, 1 / (x.data * np.log(10)))    # x̄ = ḡ / (x ln 10)
True
""",
    "numpy.log1p": """
>>> x = chainrule.tensor([0.0, 1.0], requires_grad=True)
>>> y = chainrule.numpy.log1p(x)
>>> y
tensor([0.        , 0.69314718], grad_fn=log1p)
>>> y.sum().backward()
>>> x.grad
array([1. , 0.5])
>>> np.allclose(x.grad, 1 / (1 + x.data))    # x̄ = ḡ / (1 + x)
True
""",
    "numpy.log2": """
>>> x = chainrule.tensor([1.0, 4.0], requires_grad=True)
>>> y = chainrule.numpy.log2(x)
>>> y
tensor([0., 2.], grad_fn=log2)
>>> y.sum().backward()
>>> x.grad
array([1.44269504, 0.36067376])
>>> np.allclose(x.grad, 1 / (x.data * np.log(2)))    # x̄ = ḡ / (x ln 2)
True
""",
    "numpy.log_softmax": """
>>> x = chainrule.tensor([0.0, 1.0, 2.0], requires_grad=True)
>>> y = chainrule.numpy.log_softmax(x)
>>> y
tensor([-2.40760596, -1.40760596, -0.40760596], grad_fn=...)
>>> y[0].backward()
>>> np.allclose(x.grad, np.eye(3)[0] - np.exp(y.data))    # e₀ − softmax(x)
True
""",
    "numpy.logaddexp": """
>>> x = chainrule.tensor([0.0, 1.0], requires_grad=True)
>>> y = chainrule.tensor([0.0, 2.0], requires_grad=True)
>>> z = chainrule.numpy.logaddexp(x, y)
>>> z
tensor([0.69314718, 2.31326169], grad_fn=logaddexp)
>>> z.sum().backward()
>>> x.grad, y.grad
(array([0.5       , 0.26894142]), array([0.5       , 0.73105858]))
>>> np.allclose(x.grad, np.exp(x.data - z.data))    # x̄ = ḡ · exp(x − z)
True
>>> np.allclose(y.grad, np.exp(y.data - z.data))
True
""",
    "numpy.logaddexp2": """
>>> x = chainrule.tensor([0.0, 1.0], requires_grad=True)
>>> y = chainrule.tensor([0.0, 2.0], requires_grad=True)
>>> z = chainrule.numpy.logaddexp2(x, y)
>>> z
tensor([1.       , 2.5849625], grad_fn=logaddexp2)
>>> z.sum().backward()
>>> x.grad, y.grad
(array([0.5       , 0.33333333]), array([0.5       , 0.66666667]))
>>> np.allclose(x.grad, 2 ** (x.data - z.data)), np.allclose(y.grad, 2 ** (y.data - z.data))    # x̄ = ḡ · 2^(x − z)
(True, True)
""",
    "numpy.logical_and": """
>>> x = chainrule.tensor([0.0, 1.0, 2.0], requires_grad=True)
>>> chainrule.numpy.logical_and(x, [1.0, 1.0, 0.0])
tensor([False,  True, False])
>>> chainrule.numpy.logical_and(x, [1.0, 1.0, 0.0]).requires_grad    # no gradient flows through it
False
""",
    "numpy.logical_not": """
>>> x = chainrule.tensor([0.0, 1.5], requires_grad=True)
>>> y = chainrule.numpy.logical_not(x)
>>> y
tensor([ True, False])
>>> y.requires_grad    # no gradient flows through it
False
""",
    "numpy.logical_or": """
>>> x = chainrule.tensor([0.0, 1.0, 2.0], requires_grad=True)
>>> chainrule.numpy.logical_or(x, [1.0, 1.0, 0.0])
tensor([ True,  True,  True])
>>> chainrule.numpy.logical_or(x, [1.0, 1.0, 0.0]).requires_grad    # no gradient flows through it
False
""",
    "numpy.logical_xor": """
>>> x = chainrule.tensor([0.0, 1.0, 2.0], requires_grad=True)
>>> chainrule.numpy.logical_xor(x, [1.0, 1.0, 0.0])
tensor([ True, False,  True])
>>> chainrule.numpy.logical_xor(x, [1.0, 1.0, 0.0]).requires_grad    # no gradient flows through it
False
""",
    "numpy.logspace": """
>>> stop = chainrule.tensor(2.0, requires_grad=True)
>>> y = chainrule.numpy.logspace(0.0, stop, 3)
>>> y
tensor([  1.,  10., 100.], grad_fn=...)
>>> y[-1].backward()
>>> np.allclose(stop.grad, 100 * np.log(10))    # d 10^stop / d stop
True
""",
    "numpy.logsumexp": """
>>> x = chainrule.tensor([0.0, 1.0, 2.0], requires_grad=True)
>>> y = chainrule.numpy.logsumexp(x)
>>> y
tensor(2.40760596, grad_fn=...)
>>> y.sum().backward()
>>> np.allclose(x.grad, np.exp(x.data) / np.exp(x.data).sum())    # x̄ = ḡ · softmax(x)
True
""",
    "numpy.matmul": """
>>> a = chainrule.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
>>> b = chainrule.tensor([1.0, -1.0], requires_grad=True)
>>> y = chainrule.numpy.matmul(a, b)
>>> y
tensor([-1., -1.], grad_fn=...)
>>> y.sum().backward()
>>> np.allclose(a.grad, np.outer(np.ones(2), b.data))    # ā = ḡ bᵀ
True
>>> np.allclose(b.grad, a.data.T @ np.ones(2))    # b̄ = aᵀ ḡ
True
""",
    "numpy.matrix_transpose": """
>>> x = chainrule.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
>>> y = chainrule.numpy.matrix_transpose(x)
>>> y
tensor([[1., 4.],
        [2., 5.],
        [3., 6.]], grad_fn=...)
>>> (y * np.arange(6.0).reshape(3, 2)).sum().backward()
>>> x.grad
array([[0., 2., 4.],
       [1., 3., 5.]])
""",
    "numpy.matvec": """
>>> a = chainrule.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
>>> b = chainrule.tensor([1.0, -1.0], requires_grad=True)
>>> y = chainrule.numpy.matvec(a, b)
>>> y
tensor([-1., -1.], grad_fn=...)
>>> y.sum().backward()
>>> a.grad, b.grad
(array([[ 1., -1.],
       [ 1., -1.]]), array([4., 6.]))
""",
    "numpy.max": """
>>> x = chainrule.tensor([1.0, 3.0, 3.0, 2.0], requires_grad=True)
>>> y = chainrule.numpy.max(x)
>>> y
tensor(3., grad_fn=...)
>>> y.sum().backward()
>>> x.grad    # tied maxima share ḡ
array([0. , 0.5, 0.5, 0. ])
""",
    "numpy.maximum": """
>>> x = chainrule.tensor([1.0, 4.0], requires_grad=True)
>>> y = chainrule.tensor([3.0, 2.0], requires_grad=True)
>>> z = chainrule.numpy.maximum(x, y)
>>> z
tensor([3., 4.], grad_fn=maximum)
>>> z.sum().backward()
>>> x.grad, y.grad
(array([0., 1.]), array([1., 0.]))
>>> np.allclose(x.grad, x.data > y.data), np.allclose(y.grad, y.data > x.data)    # x̄ = ḡ · [x > y]
(True, True)
""",
    "numpy.mean": """
>>> x = chainrule.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
>>> y = chainrule.numpy.mean(x, axis=1)
>>> y
tensor([2., 5.], grad_fn=...)
>>> y.sum().backward()
>>> x.grad    # x̄ = ḡ / n, n = 3
array([[0.33333333, 0.33333333, 0.33333333],
       [0.33333333, 0.33333333, 0.33333333]])
""",
    "numpy.median": """
>>> x = chainrule.tensor([3.0, 1.0, 2.0], requires_grad=True)
>>> y = chainrule.numpy.median(x)
>>> y
tensor(2., grad_fn=...)
>>> y.sum().backward()
>>> x.grad    # all to the middle element
array([0., 0., 1.])
""",
    "numpy.meshgrid": """
>>> x = chainrule.tensor([1.0, 2.0], requires_grad=True)
>>> y = chainrule.numpy.meshgrid(x, np.array([0.0, 1.0, 2.0]))
>>> y[0]
tensor([[1., 2.],
        [1., 2.],
        [1., 2.]], grad_fn=...)
>>> y[0].sum().backward()
>>> x.grad    # each entry used 3 times
array([3., 3.])
""",
    "numpy.min": """
>>> x = chainrule.tensor([1.0, 3.0, 1.0, 2.0], requires_grad=True)
>>> y = chainrule.numpy.min(x)
>>> y
tensor(1., grad_fn=...)
>>> y.sum().backward()
>>> x.grad    # tied minima share ḡ
array([0.5, 0. , 0.5, 0. ])
""",
    "numpy.minimum": """
>>> x = chainrule.tensor([1.0, 4.0], requires_grad=True)
>>> y = chainrule.tensor([3.0, 2.0], requires_grad=True)
>>> z = chainrule.numpy.minimum(x, y)
>>> z
tensor([1., 2.], grad_fn=minimum)
>>> z.sum().backward()
>>> x.grad, y.grad
(array([1., 0.]), array([0., 1.]))
>>> np.allclose(x.grad, x.data < y.data), np.allclose(y.grad, y.data < x.data)    # x̄ = ḡ · [x < y]
(True, True)
""",
    "numpy.mod": """
>>> x = chainrule.tensor([5.5, -3.5], requires_grad=True)
>>> y = chainrule.tensor([2.0, 2.0], requires_grad=True)
>>> z = chainrule.numpy.mod(x, y)
>>> z
tensor([1.5, 0.5], grad_fn=mod)
>>> z.sum().backward()
>>> x.grad, y.grad
(array([1., 1.]), array([-2.,  2.]))
>>> np.allclose(x.grad, 1), np.allclose(y.grad, -np.floor(x.data / y.data))    # ȳ = −ḡ · floor(x / y)
(True, True)
""",
    "numpy.moveaxis": """
>>> x = chainrule.tensor(np.ones((2, 3, 4)), requires_grad=True)
>>> y = chainrule.numpy.moveaxis(x, 0, -1)
>>> y.shape
(3, 4, 2)
>>> y.sum().backward()
>>> x.grad.shape
(2, 3, 4)
""",
    "numpy.multiply": """
>>> x = chainrule.tensor([1.0, 2.0], requires_grad=True)
>>> y = chainrule.tensor([3.0, 5.0], requires_grad=True)
>>> z = chainrule.numpy.multiply(x, y)
>>> z
tensor([ 3., 10.], grad_fn=multiply)
>>> z.sum().backward()
>>> x.grad, y.grad
(array([3., 5.]), array([1., 2.]))
>>> np.allclose(x.grad, y.data), np.allclose(y.grad, x.data)    # x̄ = ḡ · y, ȳ = ḡ · x
(True, True)
""",
    "numpy.nan_to_num": """
>>> x = chainrule.tensor([1.0, np.nan, 2.0], requires_grad=True)
>>> y = chainrule.numpy.nan_to_num(x)
>>> y
tensor([1., 0., 2.], grad_fn=nan_to_num)
>>> y.sum().backward()
>>> x.grad    # x̄ = ḡ · [x finite]
array([1., 0., 1.])
""",
    "numpy.nanmax": """
>>> x = chainrule.tensor([1.0, np.nan, 3.0], requires_grad=True)
>>> y = chainrule.numpy.nanmax(x)
>>> y
tensor(3., grad_fn=...)
>>> y.sum().backward()
>>> x.grad
array([0., 0., 1.])
""",
    "numpy.nanmean": """
>>> x = chainrule.tensor([1.0, np.nan, 3.0], requires_grad=True)
>>> y = chainrule.numpy.nanmean(x)
>>> y
tensor(2., grad_fn=...)
>>> y.sum().backward()
>>> x.grad
array([0.5, 0. , 0.5])
""",
    "numpy.nanmin": """
>>> x = chainrule.tensor([1.0, np.nan, 3.0], requires_grad=True)
>>> y = chainrule.numpy.nanmin(x)
>>> y
tensor(1., grad_fn=...)
>>> y.sum().backward()
>>> x.grad
array([1., 0., 0.])
""",
    "numpy.nansum": """
>>> x = chainrule.tensor([1.0, np.nan, 3.0], requires_grad=True)
>>> y = chainrule.numpy.nansum(x)
>>> y
tensor(4., grad_fn=...)
>>> y.sum().backward()
>>> x.grad    # NaN entries get 0
array([1., 0., 1.])
""",
    "numpy.ndim": """
>>> x = chainrule.tensor([3.0, 1.0, 2.0, 1.0], requires_grad=True)
>>> chainrule.numpy.ndim(x)
1
""",
    "numpy.negative": """
>>> x = chainrule.tensor([0.5, -2.0], requires_grad=True)
>>> y = chainrule.numpy.negative(x)
>>> y
tensor([-0.5,  2. ], grad_fn=negative)
>>> y.sum().backward()
>>> x.grad
array([-1., -1.])
>>> np.allclose(x.grad, -1)    # x̄ = −ḡ
True
""",
    "numpy.nonzero": """
>>> x = chainrule.tensor([3.0, 1.0, 2.0, 1.0], requires_grad=True)
>>> chainrule.numpy.nonzero(x > 1.5)
(array([0, 2]),)
""",
    "numpy.not_equal": """
>>> x = chainrule.tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> chainrule.numpy.not_equal(x, 2.0)
tensor([ True, False,  True])
>>> chainrule.numpy.not_equal(x, 2.0).requires_grad    # no gradient flows through it
False
""",
    "numpy.ones_like": """
>>> x = chainrule.tensor([3.0, 1.0, 2.0, 1.0], requires_grad=True)
>>> chainrule.numpy.ones_like(x)
tensor([1., 1., 1., 1.])
""",
    "numpy.outer": """
>>> a = chainrule.tensor([1.0, 2.0], requires_grad=True)
>>> b = chainrule.tensor([3.0, 4.0, 5.0], requires_grad=True)
>>> y = chainrule.numpy.outer(a, b)
>>> y
tensor([[ 3.,  4.,  5.],
        [ 6.,  8., 10.]], grad_fn=...)
>>> y.sum().backward()
>>> a.grad, b.grad
(array([12., 12.]), array([3., 3., 3.]))
""",
    "numpy.pad": """
>>> x = chainrule.tensor([1.0, 2.0], requires_grad=True)
>>> y = chainrule.numpy.pad(x, 1, mode='edge')
>>> y
tensor([1., 1., 2., 2.], grad_fn=...)
>>> y.sum().backward()
>>> x.grad
array([2., 2.])
""",
    "numpy.partition": """
>>> x = chainrule.tensor([3.0, 1.0, 2.0], requires_grad=True)
>>> y = chainrule.numpy.partition(x, 1)
>>> y
tensor([1., 2., 3.], grad_fn=...)
>>> y[1].backward()
>>> x.grad
array([0., 0., 1.])
""",
    "numpy.percentile": """
>>> x = chainrule.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
>>> y = chainrule.numpy.percentile(x, 25)
>>> y
tensor(1.75, grad_fn=...)
>>> y.sum().backward()
>>> x.grad
array([0.25, 0.75, 0.  , 0.  ])
""",
    "numpy.permute_dims": """
>>> x = chainrule.tensor(np.ones((2, 3, 4)), requires_grad=True)
>>> y = chainrule.numpy.permute_dims(x, (2, 0, 1))
>>> y.shape
(4, 2, 3)
>>> y.sum().backward()
>>> x.grad.shape
(2, 3, 4)
""",
    "numpy.piecewise": """
>>> x = chainrule.tensor([-1.0, 2.0], requires_grad=True)
>>> y = chainrule.numpy.piecewise(x, [x < 0, x >= 0], [lambda v: -v, lambda v: v ** 2])
>>> y
tensor([1., 4.], grad_fn=...)
>>> y.sum().backward()
>>> x.grad
array([-1.,  4.])
""",
    "numpy.polyval": """
>>> x = chainrule.tensor([2.0], requires_grad=True)
>>> y = chainrule.numpy.polyval(np.array([1.0, 0.0, -1.0]), x)
>>> y
tensor([3.], grad_fn=...)
>>> y.sum().backward()
>>> x.grad    # d(x² − 1)/dx = 2x
array([4.])
""",
    "numpy.positive": """
>>> chainrule.numpy.positive is chainrule.numpy.copy    # another name for copy
True
>>> x = chainrule.tensor([1.0, 2.0], requires_grad=True)
>>> chainrule.numpy.positive(x).sum().backward()
>>> x.grad
array([1., 1.])
""",
    "numpy.power": """
>>> x = chainrule.tensor([1.5, 2.0], requires_grad=True)
>>> y = chainrule.tensor([2.0, 3.0], requires_grad=True)
>>> z = chainrule.numpy.power(x, y)
>>> z
tensor([2.25, 8.  ], grad_fn=power)
>>> z.sum().backward()
>>> x.grad, y.grad
(array([ 3., 12.]), array([0.91229649, 5.54517744]))
>>> np.allclose(x.grad, y.data * x.data ** (y.data - 1))    # x̄ = ḡ · y · x^(y − 1), ȳ = ḡ · x^y · ln x
True
>>> np.allclose(y.grad, x.data ** y.data * np.log(x.data))
True
""",
    "numpy.prod": """
>>> x = chainrule.tensor([2.0, 3.0, 4.0], requires_grad=True)
>>> y = chainrule.numpy.prod(x)
>>> y
tensor(24., grad_fn=...)
>>> y.sum().backward()
>>> x.grad    # the product of the others
array([12.,  8.,  6.])
""",
    "numpy.ptp": """
>>> x = chainrule.tensor([1.0, 5.0, 2.0], requires_grad=True)
>>> y = chainrule.numpy.ptp(x)
>>> y
tensor(4., grad_fn=...)
>>> y.sum().backward()
>>> x.grad    # +1 at the max, −1 at the min
array([-1.,  1.,  0.])
""",
    "numpy.put_along_axis": """
>>> x = chainrule.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
>>> y = x * 1.0    # in place on a copy: a leaf that requires grad must not be written
>>> chainrule.numpy.put_along_axis(y, np.array([[0], [1]]), 0.0, axis=1)
>>> y
tensor([[0., 2.],
        [3., 0.]], grad_fn=...)
>>> y.sum().backward()
>>> x.grad    # the overwritten entries get nothing
array([[0., 1.],
       [1., 0.]])
""",
    "numpy.quantile": """
>>> x = chainrule.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
>>> y = chainrule.numpy.quantile(x, 0.5)
>>> y
tensor(2.5, grad_fn=...)
>>> y.sum().backward()
>>> x.grad    # shared by the two elements it interpolates
array([0. , 0.5, 0.5, 0. ])
""",
    "numpy.rad2deg": """
>>> x = chainrule.tensor([0.5, 1.0], requires_grad=True)
>>> y = chainrule.numpy.rad2deg(x)
>>> y
tensor([28.64788976, 57.29577951], grad_fn=rad2deg)
>>> y.sum().backward()
>>> x.grad
array([57.29577951, 57.29577951])
>>> np.allclose(x.grad, 180 / np.pi)    # x̄ = ḡ · 180/π
True
""",
    "numpy.radians": """
>>> chainrule.numpy.radians is chainrule.numpy.deg2rad    # another name for deg2rad
True
>>> x = chainrule.tensor([90.0, 180.0], requires_grad=True)
>>> chainrule.numpy.radians(x).sum().backward()
>>> x.grad
array([0.01745329, 0.01745329])
""",
    "numpy.ravel": """
>>> x = chainrule.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
>>> y = chainrule.numpy.ravel(x)
>>> y
tensor([1., 2., 3., 4., 5., 6.], grad_fn=...)
>>> (y * np.arange(6.0)).sum().backward()
>>> x.grad
array([[0., 1., 2.],
       [3., 4., 5.]])
""",
    "numpy.real": """
>>> z = chainrule.tensor([1 + 2j, 3 - 1j], requires_grad=True)
>>> chainrule.numpy.real(z)
tensor([1., 3.], grad_fn=real)
>>> chainrule.numpy.real(z).sum().backward()
>>> z.grad    # ∂L/∂Re z = 1, ∂L/∂Im z = 0
array([1.+0.j, 1.+0.j])
""",
    "numpy.reciprocal": """
>>> x = chainrule.tensor([0.5, 4.0], requires_grad=True)
>>> y = chainrule.numpy.reciprocal(x)
>>> y
tensor([2.  , 0.25], grad_fn=reciprocal)
>>> y.sum().backward()
>>> x.grad
array([-4.    , -0.0625])
>>> np.allclose(x.grad, -1 / x.data ** 2)    # x̄ = −ḡ / x²
True
""",
    "numpy.relu": """
>>> x = chainrule.tensor([-1.0, 2.0], requires_grad=True)
>>> y = chainrule.numpy.relu(x)
>>> y
tensor([0., 2.], grad_fn=relu)
>>> y.sum().backward()
>>> x.grad
array([0., 1.])
>>> np.allclose(x.grad, x.data > 0)    # x̄ = ḡ · [x > 0]
True
""",
    "numpy.remainder": """
>>> chainrule.numpy.remainder is chainrule.numpy.mod    # another name for mod
True
>>> x = chainrule.tensor([5.5, -3.5], requires_grad=True)
>>> chainrule.numpy.remainder(x, 2.0).sum().backward()
>>> x.grad
array([1., 1.])
""",
    "numpy.repeat": """
>>> x = chainrule.tensor([1.0, 2.0], requires_grad=True)
>>> y = chainrule.numpy.repeat(x, 3)
>>> y
tensor([1., 1., 1., 2., 2., 2.], grad_fn=...)
>>> y.sum().backward()
>>> x.grad    # the copies' ḡ add up
array([3., 3.])
""",
    "numpy.reshape": """
>>> x = chainrule.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
>>> y = chainrule.numpy.reshape(x, (2, 2))
>>> y
tensor([[1., 2.],
        [3., 4.]], grad_fn=...)
>>> (y * np.array([[1.0, 2.0], [3.0, 4.0]])).sum().backward()
>>> x.grad    # ḡ reshaped back
array([1., 2., 3., 4.])
""",
    "numpy.result_type": """
>>> x = chainrule.tensor([3.0, 1.0, 2.0, 1.0], requires_grad=True)
>>> chainrule.numpy.result_type(x, np.float32)
dtype('float64')
""",
    "numpy.rint": """
>>> x = chainrule.tensor([0.5, 1.5, 2.7], requires_grad=True)
>>> y = chainrule.numpy.rint(x)
>>> y
tensor([0., 2., 3.])
>>> y.requires_grad    # no gradient flows through it
False
""",
    "numpy.roll": """
>>> x = chainrule.tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> y = chainrule.numpy.roll(x, 1)
>>> y
tensor([3., 1., 2.], grad_fn=...)
>>> y[0].backward()
>>> x.grad    # y[0] is x[2]
array([0., 0., 1.])
""",
    "numpy.rollaxis": """
>>> x = chainrule.tensor(np.ones((2, 3, 4)), requires_grad=True)
>>> y = chainrule.numpy.rollaxis(x, 2)
>>> y.shape
(4, 2, 3)
>>> y.sum().backward()
>>> x.grad.shape
(2, 3, 4)
""",
    "numpy.rot90": """
>>> x = chainrule.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
>>> y = chainrule.numpy.rot90(x)
>>> y
tensor([[2., 4.],
        [1., 3.]], grad_fn=...)
>>> y[0, 0].backward()
>>> x.grad
array([[0., 1.],
       [0., 0.]])
""",
    "numpy.round": """
>>> x = chainrule.tensor([1.234, -0.567], requires_grad=True)
>>> y = chainrule.numpy.round(x, 1)
>>> y
tensor([ 1.2, -0.6])
>>> y.requires_grad    # no gradient flows through it
False
""",
    "numpy.row_stack": """
>>> a = chainrule.tensor([1.0, 2.0], requires_grad=True)
>>> b = chainrule.tensor([3.0, 4.0], requires_grad=True)
>>> y = chainrule.numpy.row_stack([a, b])
>>> y
tensor([[1., 2.],
        [3., 4.]], grad_fn=...)
>>> (y * np.arange(1.0, 5.0).reshape(y.shape)).sum().backward()
>>> a.grad, b.grad    # each part gets its slice of ḡ
(array([1., 2.]), array([3., 4.]))
""",
    "numpy.searchsorted": """
>>> x = chainrule.tensor([3.0, 1.0, 2.0, 1.0], requires_grad=True)
>>> chainrule.numpy.searchsorted(np.array([1.0, 2.0, 3.0]), x)
tensor([2, 0, 1, 0])
""",
    "numpy.select": """
>>> x = chainrule.tensor([-1.0, 0.5, 2.0], requires_grad=True)
>>> y = chainrule.numpy.select([x < 0, x > 1], [-x, x * x], default=x)
>>> y
tensor([1. , 0.5, 4. ], grad_fn=...)
>>> y.sum().backward()
>>> x.grad    # −1, 1, 2x: the chosen branch's derivative
array([-1.,  1.,  4.])
""",
    "numpy.setitem": """
>>> x = chainrule.tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> v = chainrule.tensor(10.0, requires_grad=True)
>>> y = chainrule.numpy.setitem(x, 0, v)    # a copy of x with y[0] = v
>>> y
tensor([10.,  2.,  3.], grad_fn=setitem)
>>> (y * np.array([1.0, 2.0, 3.0])).sum().backward()
>>> x.grad, v.grad    # the overwritten entry passes nothing back to x
(array([0., 2., 3.]), array(1.))
""",
    "numpy.shape": """
>>> x = chainrule.tensor([3.0, 1.0, 2.0, 1.0], requires_grad=True)
>>> chainrule.numpy.shape(x)
(4,)
""",
    "numpy.sigmoid": """
>>> x = chainrule.tensor([0.0, 2.0], requires_grad=True)
>>> y = chainrule.numpy.sigmoid(x)
>>> y
tensor([0.5       , 0.88079708], grad_fn=sigmoid)
>>> y.sum().backward()
>>> x.grad
array([0.25      , 0.10499359])
>>> np.allclose(x.grad, np.exp(-x.data) / (1 + np.exp(-x.data)) ** 2)    # x̄ = ḡ · σ(x)(1 − σ(x))
True
""",
    "numpy.sign": """
>>> x = chainrule.tensor([-2.0, 0.0, 3.0], requires_grad=True)
>>> y = chainrule.numpy.sign(x)
>>> y
tensor([-1.,  0.,  1.])
>>> y.requires_grad    # no gradient flows through it
False
""",
    "numpy.signbit": """
>>> x = chainrule.tensor([3.0, 1.0, 2.0, 1.0], requires_grad=True)
>>> chainrule.numpy.signbit(x - 2)
tensor([False,  True, False,  True])
""",
    "numpy.sin": """
>>> x = chainrule.tensor([0.5, 2.0], requires_grad=True)
>>> y = chainrule.numpy.sin(x)
>>> y
tensor([0.47942554, 0.90929743], grad_fn=sin)
>>> y.sum().backward()
>>> x.grad
array([ 0.87758256, -0.41614684])
>>> np.allclose(x.grad, np.cos(x.data))    # x̄ = ḡ · cos(x)
True
""",
    "numpy.sinc": """
>>> x = chainrule.tensor([0.5, 1.5], requires_grad=True)
>>> y = chainrule.numpy.sinc(x)
>>> y
tensor([ 0.63661977, -0.21220659], grad_fn=sinc)
>>> y.sum().backward()
>>> x.grad
array([-1.27323954,  0.14147106])
>>> np.allclose(x.grad, (np.cos(np.pi * x.data) - np.sinc(x.data)) / x.data)    # x̄ = ḡ · (cos(πx) − sinc(x)) / x
True
""",
    "numpy.sinh": """
>>> x = chainrule.tensor([0.0, 1.0], requires_grad=True)
>>> y = chainrule.numpy.sinh(x)
>>> y
tensor([0.        , 1.17520119], grad_fn=sinh)
>>> y.sum().backward()
>>> x.grad
array([1.        , 1.54308063])
>>> np.allclose(x.grad, np.cosh(x.data))    # x̄ = ḡ · cosh(x)
True
""",
    "numpy.size": """
>>> x = chainrule.tensor([3.0, 1.0, 2.0, 1.0], requires_grad=True)
>>> chainrule.numpy.size(x)
4
""",
    "numpy.softmax": """
>>> x = chainrule.tensor([0.0, 1.0, 2.0], requires_grad=True)
>>> y = chainrule.numpy.softmax(x)
>>> y
tensor([0.09003057, 0.24472847, 0.66524096], grad_fn=...)
>>> (y * np.array([1.0, 0.0, 0.0])).sum().backward()
>>> np.allclose(x.grad, y.data[0] * (np.eye(3)[0] - y.data))    # ∂y₀/∂x = y₀ (e₀ − y)
True
""",
    "numpy.softplus": """
>>> x = chainrule.tensor([0.0, 2.0], requires_grad=True)
>>> y = chainrule.numpy.softplus(x)
>>> y
tensor([0.69314718, 2.12692801], grad_fn=softplus)
>>> y.sum().backward()
>>> x.grad
array([0.5       , 0.88079708])
>>> np.allclose(x.grad, 1 / (1 + np.exp(-x.data)))    # x̄ = ḡ · σ(x)
True
""",
    "numpy.sort": """
>>> x = chainrule.tensor([3.0, 1.0, 2.0], requires_grad=True)
>>> y = chainrule.numpy.sort(x)
>>> y
tensor([1., 2., 3.], grad_fn=...)
>>> y[0].backward()
>>> x.grad    # the smallest was x[1]
array([0., 1., 0.])
""",
    "numpy.split": """
>>> x = chainrule.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
>>> parts = chainrule.numpy.split(x, 2)
>>> parts
[tensor([1., 2.], grad_fn=...), tensor([3., 4.], grad_fn=...)]
>>> (parts[0].sum() + 10 * parts[1].sum()).backward()
>>> x.grad    # each part's ḡ flows back to its place
array([ 1.,  1., 10., 10.])
""",
    "numpy.sqrt": """
>>> x = chainrule.tensor([1.0, 4.0], requires_grad=True)
>>> y = chainrule.numpy.sqrt(x)
>>> y
tensor([1., 2.], grad_fn=sqrt)
>>> y.sum().backward()
>>> x.grad
array([0.5 , 0.25])
>>> np.allclose(x.grad, 1 / (2 * np.sqrt(x.data)))    # x̄ = ḡ / (2 √x)
True
""",
    "numpy.square": """
>>> x = chainrule.tensor([1.5, -2.0], requires_grad=True)
>>> y = chainrule.numpy.square(x)
>>> y
tensor([2.25, 4.  ], grad_fn=square)
>>> y.sum().backward()
>>> x.grad
array([ 3., -4.])
>>> np.allclose(x.grad, 2 * x.data)    # x̄ = ḡ · 2x
True
""",
    "numpy.squeeze": """
>>> x = chainrule.tensor([[1.0, 2.0]], requires_grad=True)
>>> y = chainrule.numpy.squeeze(x)
>>> y
tensor([1., 2.], grad_fn=...)
>>> y.sum().backward()
>>> x.grad
array([[1., 1.]])
""",
    "numpy.stack": """
>>> a = chainrule.tensor([1.0, 2.0], requires_grad=True)
>>> b = chainrule.tensor([3.0, 4.0], requires_grad=True)
>>> y = chainrule.numpy.stack([a, b])
>>> y
tensor([[1., 2.],
        [3., 4.]], grad_fn=...)
>>> (y * np.arange(1.0, 5.0).reshape(y.shape)).sum().backward()
>>> a.grad, b.grad    # each part gets its slice of ḡ
(array([1., 2.]), array([3., 4.]))
""",
    "numpy.std": """
>>> x = chainrule.tensor([1.0, 2.0, 4.0], requires_grad=True)
>>> y = chainrule.numpy.std(x)
>>> y
tensor(1.24721913, grad_fn=...)
>>> y.sum().backward()
>>> np.allclose(x.grad, (x.data - x.data.mean()) / (3 * y.data))    # (x − mean) / (n σ)
True
""",
    "numpy.subtract": """
>>> x = chainrule.tensor([1.0, 2.0], requires_grad=True)
>>> y = chainrule.tensor([3.0, 5.0], requires_grad=True)
>>> z = chainrule.numpy.subtract(x, y)
>>> z
tensor([-2., -3.], grad_fn=subtract)
>>> z.sum().backward()
>>> x.grad, y.grad
(array([1., 1.]), array([-1., -1.]))
>>> np.allclose(x.grad, 1), np.allclose(y.grad, -1)    # x̄ = ḡ, ȳ = −ḡ
(True, True)
""",
    "numpy.sum": """
>>> x = chainrule.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
>>> y = chainrule.numpy.sum(x, axis=0)
>>> y
tensor([5., 7., 9.], grad_fn=...)
>>> y.sum().backward()
>>> x.grad    # x̄ = ḡ broadcast back
array([[1., 1., 1.],
       [1., 1., 1.]])
""",
    "numpy.swapaxes": """
>>> x = chainrule.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
>>> y = chainrule.numpy.swapaxes(x, 0, 1)
>>> y
tensor([[1., 4.],
        [2., 5.],
        [3., 6.]], grad_fn=...)
>>> (y * np.arange(6.0).reshape(3, 2)).sum().backward()
>>> x.grad
array([[0., 2., 4.],
       [1., 3., 5.]])
""",
    "numpy.take": """
>>> x = chainrule.tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> y = chainrule.numpy.take(x, [2, 2, 0])
>>> y
tensor([3., 3., 1.], grad_fn=...)
>>> y.sum().backward()
>>> x.grad
array([1., 0., 2.])
""",
    "numpy.take_along_axis": """
>>> x = chainrule.tensor([[1.0, 5.0], [4.0, 2.0]], requires_grad=True)
>>> y = chainrule.numpy.take_along_axis(x, np.array([[1], [0]]), axis=1)
>>> y
tensor([[5.],
        [4.]], grad_fn=...)
>>> y.sum().backward()
>>> x.grad
array([[0., 1.],
       [1., 0.]])
""",
    "numpy.tan": """
>>> x = chainrule.tensor([0.0, 1.0], requires_grad=True)
>>> y = chainrule.numpy.tan(x)
>>> y
tensor([0.        , 1.55740772], grad_fn=tan)
>>> y.sum().backward()
>>> x.grad
array([1.        , 3.42551882])
>>> np.allclose(x.grad, 1 / np.cos(x.data) ** 2)    # x̄ = ḡ / cos²(x)
True
""",
    "numpy.tanh": """
>>> x = chainrule.tensor([0.0, 1.0], requires_grad=True)
>>> y = chainrule.numpy.tanh(x)
>>> y
tensor([0.        , 0.76159416], grad_fn=tanh)
>>> y.sum().backward()
>>> x.grad
array([1.        , 0.41997434])
>>> np.allclose(x.grad, 1 - np.tanh(x.data) ** 2)    # x̄ = ḡ · (1 − y²)
True
""",
    "numpy.tensordot": """
>>> a = chainrule.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
>>> b = chainrule.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
>>> y = chainrule.numpy.tensordot(a, b, axes=1)
>>> y
tensor([[ 7., 10.],
        [15., 22.]], grad_fn=...)
>>> y.sum().backward()
>>> a.grad, b.grad
(array([[3., 7.],
       [3., 7.]]), array([[4., 4.],
       [6., 6.]]))
""",
    "numpy.tile": """
>>> x = chainrule.tensor([1.0, 2.0], requires_grad=True)
>>> y = chainrule.numpy.tile(x, 2)
>>> y
tensor([1., 2., 1., 2.], grad_fn=...)
>>> y.sum().backward()
>>> x.grad
array([2., 2.])
""",
    "numpy.trace": """
>>> x = chainrule.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
>>> y = chainrule.numpy.trace(x)
>>> y
tensor(5., grad_fn=...)
>>> y.sum().backward()
>>> x.grad    # x̄ = ḡ I
array([[1., 0.],
       [0., 1.]])
""",
    "numpy.transpose": """
>>> x = chainrule.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
>>> y = chainrule.numpy.transpose(x)
>>> y
tensor([[1., 4.],
        [2., 5.],
        [3., 6.]], grad_fn=...)
>>> (y * np.arange(6.0).reshape(3, 2)).sum().backward()
>>> x.grad    # x̄ = ḡᵀ
array([[0., 2., 4.],
       [1., 3., 5.]])
""",
    "numpy.trapezoid": """
>>> x = chainrule.tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> y = chainrule.numpy.trapezoid(x)
>>> y
tensor(4., grad_fn=...)
>>> y.sum().backward()
>>> x.grad    # the rule's weights
array([0.5, 1. , 0.5])
""",
    "numpy.tril": """
>>> x = chainrule.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
>>> y = chainrule.numpy.tril(x)
>>> y
tensor([[1., 0.],
        [3., 4.]], grad_fn=...)
>>> y.sum().backward()
>>> x.grad
array([[1., 0.],
       [1., 1.]])
""",
    "numpy.triu": """
>>> x = chainrule.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
>>> y = chainrule.numpy.triu(x)
>>> y
tensor([[1., 2.],
        [0., 4.]], grad_fn=...)
>>> y.sum().backward()
>>> x.grad
array([[1., 1.],
       [0., 1.]])
""",
    "numpy.true_divide": """
>>> chainrule.numpy.true_divide is chainrule.numpy.divide    # another name for divide
True
>>> x = chainrule.tensor([1.0, 2.0], requires_grad=True)
>>> chainrule.numpy.true_divide(x, 4.0).sum().backward()
>>> x.grad
array([0.25, 0.25])
""",
    "numpy.trunc": """
>>> x = chainrule.tensor([-1.5, 0.2, 2.7], requires_grad=True)
>>> y = chainrule.numpy.trunc(x)
>>> y
tensor([-1.,  0.,  2.])
>>> y.requires_grad    # no gradient flows through it
False
""",
    "numpy.unique": """
>>> x = chainrule.tensor([3.0, 1.0, 2.0, 1.0], requires_grad=True)
>>> chainrule.numpy.unique(x)
tensor([1., 2., 3.])
>>> chainrule.numpy.unique(x).requires_grad
False
""",
    "numpy.unravel_index": """
>>> x = chainrule.tensor([3.0, 1.0, 2.0, 1.0], requires_grad=True)
>>> tuple(int(i) for i in chainrule.numpy.unravel_index(5, (2, 3)))
(1, 2)
""",
    "numpy.vander": """
>>> x = chainrule.tensor([2.0, 3.0], requires_grad=True)
>>> y = chainrule.numpy.vander(x, 3)
>>> y
tensor([[4., 2., 1.],
        [9., 3., 1.]], grad_fn=...)
>>> y.sum().backward()
>>> x.grad    # d(x² + x + 1)/dx = 2x + 1
array([5., 7.])
""",
    "numpy.var": """
>>> x = chainrule.tensor([1.0, 2.0, 4.0], requires_grad=True)
>>> y = chainrule.numpy.var(x)
>>> y
tensor(1.55555556, grad_fn=...)
>>> y.sum().backward()
>>> np.allclose(x.grad, 2 * (x.data - x.data.mean()) / 3)    # 2 (x − mean) / n
True
""",
    "numpy.vdot": """
>>> a = chainrule.tensor([1.0, 2.0], requires_grad=True)
>>> b = chainrule.tensor([3.0, 4.0], requires_grad=True)
>>> y = chainrule.numpy.vdot(a, b)
>>> y
tensor(11., grad_fn=...)
>>> y.sum().backward()
>>> a.grad, b.grad
(array([3., 4.]), array([1., 2.]))
""",
    "numpy.vecdot": """
>>> a = chainrule.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
>>> b = chainrule.tensor([1.0, -1.0], requires_grad=True)
>>> y = chainrule.numpy.vecdot(a, b)
>>> y
tensor([-1., -1.], grad_fn=...)
>>> y.sum().backward()
>>> a.grad, b.grad
(array([[ 1., -1.],
       [ 1., -1.]]), array([4., 6.]))
""",
    "numpy.vecmat": """
>>> a = chainrule.tensor([1.0, -1.0], requires_grad=True)
>>> b = chainrule.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
>>> y = chainrule.numpy.vecmat(a, b)
>>> y
tensor([-2., -2.], grad_fn=...)
>>> y.sum().backward()
>>> a.grad, b.grad
(array([3., 7.]), array([[ 1.,  1.],
       [-1., -1.]]))
""",
    "numpy.vectorize": """
>>> step = chainrule.numpy.vectorize(lambda v: v * v if v > 1 else -v)    # Python branches, per element
>>> x = chainrule.tensor([0.5, 3.0], requires_grad=True)
>>> y = step(x)
>>> y
tensor([-0.5,  9. ], grad_fn=...)
>>> y.sum().backward()
>>> x.grad
array([-1.,  6.])
""",
    "numpy.vsplit": """
>>> x = chainrule.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
>>> parts = chainrule.numpy.vsplit(x, 2)
>>> parts
[tensor([[1., 2.]], grad_fn=...), tensor([[3., 4.]], grad_fn=...)]
>>> (parts[0].sum() + 10 * parts[1].sum()).backward()
>>> x.grad    # each part's ḡ flows back to its place
array([[ 1.,  1.],
       [10., 10.]])
""",
    "numpy.vstack": """
>>> a = chainrule.tensor([1.0, 2.0], requires_grad=True)
>>> b = chainrule.tensor([3.0, 4.0], requires_grad=True)
>>> y = chainrule.numpy.vstack([a, b])
>>> y
tensor([[1., 2.],
        [3., 4.]], grad_fn=...)
>>> (y * np.arange(1.0, 5.0).reshape(y.shape)).sum().backward()
>>> a.grad, b.grad    # each part gets its slice of ḡ
(array([1., 2.]), array([3., 4.]))
""",
    "numpy.where": """
>>> x = chainrule.tensor([-1.0, 2.0, -3.0], requires_grad=True)
>>> y = chainrule.numpy.where(x > 0, x, 0.0)
>>> y
tensor([0., 2., 0.], grad_fn=...)
>>> y.sum().backward()
>>> x.grad    # ḡ where the condition holds
array([0., 1., 0.])
""",
    "numpy.zeros_like": """
>>> x = chainrule.tensor([3.0, 1.0, 2.0, 1.0], requires_grad=True)
>>> chainrule.numpy.zeros_like(x)
tensor([0., 0., 0., 0.])
""",
    "scipy.integrate.odeint": """
>>> decay = lambda y, t, k: -k * y    # y(t) = y₀ e^(−k t)
>>> y0 = chainrule.tensor([2.0], requires_grad=True)
>>> k = chainrule.tensor(0.5, requires_grad=True)
>>> y = chainrule.scipy.integrate.odeint(decay, y0, np.array([0.0, 1.0]), (k,))
>>> y.shape, np.allclose(y.data[:, 0], 2.0 * np.exp(-0.5 * np.array([0.0, 1.0])), rtol=1e-4)
((2, 1), True)
>>> y[-1].sum().backward()
>>> np.allclose(y0.grad, np.exp(-0.5)), np.allclose(k.grad, -2.0 * np.exp(-0.5), rtol=1e-4)    # e^(−k), −y₀ e^(−k)
(True, True)
""",
    "scipy.linalg.cho_factor": """
>>> A = chainrule.tensor([[4.0, 2.0], [2.0, 3.0]], requires_grad=True)
>>> c, lower = chainrule.scipy.linalg.cho_factor(A)
>>> c, lower
(tensor([[2.        , 1.        ],
        [0.        , 1.41421356]], grad_fn=...), False)
>>> c.sum().backward()
>>> A.grad.shape
(2, 2)
""",
    "scipy.linalg.cho_solve": """
>>> A = chainrule.tensor([[4.0, 2.0], [2.0, 3.0]], requires_grad=True)
>>> b = chainrule.tensor([1.0, 2.0], requires_grad=True)
>>> x = chainrule.scipy.linalg.cho_solve(chainrule.scipy.linalg.cho_factor(A), b)
>>> x
tensor([-0.125,  0.75 ], grad_fn=...)
>>> np.allclose(A.data @ x.data, b.data)
True
>>> x.sum().backward()
>>> np.allclose(b.grad, np.linalg.solve(A.data, np.ones(2)))    # b̄ = A⁻ᵀ ḡ
True
""",
    "scipy.linalg.cholesky": """
>>> A = chainrule.tensor([[4.0, 2.0], [2.0, 3.0]], requires_grad=True)
>>> U = chainrule.scipy.linalg.cholesky(A)    # upper, as SciPy's default
>>> U
tensor([[2.        , 1.        ],
        [0.        , 1.41421356]], grad_fn=...)
>>> np.allclose(U.data.T @ U.data, A.data)
True
>>> chainrule.gradcheck(lambda a: chainrule.scipy.linalg.cholesky((a + a.T) / 2), A.data)
True
""",
    "scipy.linalg.det": """
>>> A = chainrule.tensor([[2.0, 1.0], [1.0, 3.0]], requires_grad=True)
>>> d = chainrule.scipy.linalg.det(A)
>>> d
tensor(5., grad_fn=...)
>>> d.backward()
>>> A.grad    # det(A) A⁻ᵀ, the cofactors
array([[ 3., -1.],
       [-1.,  2.]])
""",
    "scipy.linalg.expm": """
>>> A = chainrule.tensor([[0.0, 1.0], [0.0, 0.0]], requires_grad=True)
>>> E = chainrule.scipy.linalg.expm(A)
>>> E
tensor([[1., 1.],
        [0., 1.]], grad_fn=expm)
>>> E[0, 1].backward()
>>> A.grad
array([[0.5       , 1.        ],
       [0.16666667, 0.5       ]])
>>> chainrule.gradcheck(chainrule.scipy.linalg.expm, np.array([[0.1, 0.5], [-0.3, 0.2]]))
True
""",
    "scipy.linalg.inv": """
>>> A = chainrule.tensor([[2.0, 1.0], [1.0, 3.0]], requires_grad=True)
>>> B = chainrule.scipy.linalg.inv(A)
>>> B
tensor([[ 0.6, -0.2],
        [-0.2,  0.4]], grad_fn=...)
>>> B[0, 0].backward()
>>> A.grad    # −A⁻ᵀ e₀e₀ᵀ A⁻ᵀ
array([[-0.36,  0.12],
       [ 0.12, -0.04]])
""",
    "scipy.linalg.solve": """
>>> A = chainrule.tensor([[2.0, 1.0], [1.0, 3.0]], requires_grad=True)
>>> b = chainrule.tensor([1.0, 2.0], requires_grad=True)
>>> x = chainrule.scipy.linalg.solve(A, b)
>>> x
tensor([0.2, 0.6], grad_fn=...)
>>> x.sum().backward()
>>> b.grad    # A⁻ᵀ ḡ
array([0.4, 0.2])
""",
    "scipy.linalg.solve_sylvester": """
>>> A = chainrule.tensor([[1.0, 0.0], [0.0, 2.0]], requires_grad=True)
>>> Q = chainrule.tensor([[2.0, 3.0], [3.0, 4.0]], requires_grad=True)
>>> X = chainrule.scipy.linalg.solve_sylvester(A, np.eye(2), Q)    # A X + X = Q
>>> X
tensor([[1.        , 1.5       ],
        [1.        , 1.33333333]], grad_fn=solve_sylvester)
>>> X.sum().backward()
>>> Q.grad
array([[0.5       , 0.5       ],
       [0.33333333, 0.33333333]])
>>> chainrule.gradcheck(lambda a, q: chainrule.scipy.linalg.solve_sylvester(a, np.eye(2), q), A.data, Q.data)
True
""",
    "scipy.linalg.solve_triangular": """
>>> A = chainrule.tensor([[2.0, 0.0], [1.0, 4.0]], requires_grad=True)
>>> b = chainrule.tensor([2.0, 5.0], requires_grad=True)
>>> x = chainrule.scipy.linalg.solve_triangular(A, b, lower=True)
>>> x
tensor([1., 1.], grad_fn=solve_triangular)
>>> x.sum().backward()
>>> bbar = np.linalg.solve(A.data.T, np.ones(2))
>>> np.allclose(b.grad, bbar), np.allclose(A.grad, np.tril(-np.outer(bbar, x.data)))    # on the triangle
(True, True)
""",
    "scipy.linalg.sqrtm": """
>>> A = chainrule.tensor([[4.0, 0.0], [0.0, 9.0]], requires_grad=True)
>>> X = chainrule.scipy.linalg.sqrtm(A)
>>> X
tensor([[2., 0.],
        [0., 3.]], grad_fn=sqrtm)
>>> X.sum().backward()
>>> A.grad    # 1 / (2 √a) on the diagonal, 1/(√a + √b) off it
array([[0.25      , 0.2       ],
       [0.2       , 0.16666667]])
""",
    "scipy.signal.convolve": """
>>> a = chainrule.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
>>> k = chainrule.tensor([[1.0, -1.0]], requires_grad=True)
>>> y = chainrule.scipy.signal.convolve(a, k)
>>> y
tensor([[ 1.,  1., -2.],
        [ 3.,  1., -4.]], grad_fn=...)
>>> y.sum().backward()
>>> a.grad, k.grad
(array([[0., 0.],
       [0., 0.]]), array([[10., 10.]]))
""",
    "scipy.signal.correlate": """
>>> a = chainrule.tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> k = chainrule.tensor([1.0, -1.0], requires_grad=True)
>>> y = chainrule.scipy.signal.correlate(a, k, mode='valid')
>>> y
tensor([-1., -1.], grad_fn=...)
>>> y.sum().backward()
>>> a.grad, k.grad
(array([ 1.,  0., -1.]), array([3., 5.]))
""",
    "scipy.special.beta": """
>>> from scipy import special    # SciPy's own, to check against
>>> a = chainrule.tensor([1.0, 2.0], requires_grad=True)
>>> b = chainrule.tensor([3.0, 0.5], requires_grad=True)
>>> y = chainrule.scipy.special.beta(a, b)
>>> y
tensor([0.33333333, 1.33333333], grad_fn=beta)
>>> y.sum().backward()
>>> a.grad, b.grad
(array([-0.61111111, -0.37382974]), array([-0.11111111, -3.55555556]))
>>> # ā = ḡ · B · (ψ(a) − ψ(a + b))
>>> np.allclose(a.grad, y.data * (special.digamma(a.data) - special.digamma(a.data + b.data)))
True
>>> np.allclose(b.grad, y.data * (special.digamma(b.data) - special.digamma(a.data + b.data)))
True
""",
    "scipy.special.betainc": """
>>> x = chainrule.tensor([0.25, 0.5], requires_grad=True)
>>> y = chainrule.scipy.special.betainc(2.0, 1.0, x)    # I_x(2, 1) = x²
>>> y
tensor([0.0625, 0.25  ], grad_fn=betainc)
>>> y.sum().backward()
>>> x.grad
array([0.5, 1. ])
>>> np.allclose(x.grad, 2 * x.data)    # x̄ = ḡ · x^(a−1) (1 − x)^(b−1) / B(a, b)
True
""",
    "scipy.special.betaln": """
>>> from scipy import special    # SciPy's own, to check against
>>> a = chainrule.tensor([1.0, 2.0], requires_grad=True)
>>> b = chainrule.tensor([3.0, 0.5], requires_grad=True)
>>> y = chainrule.scipy.special.betaln(a, b)
>>> y
tensor([-1.09861229,  0.28768207], grad_fn=betaln)
>>> y.sum().backward()
>>> a.grad, b.grad
(array([-1.83333333, -0.28037231]), array([-0.33333333, -2.66666667]))
>>> np.allclose(a.grad, special.digamma(a.data) - special.digamma(a.data + b.data))    # ā = ḡ · (ψ(a) − ψ(a + b))
True
>>> np.allclose(b.grad, special.digamma(b.data) - special.digamma(a.data + b.data))
True
""",
    "scipy.special.digamma": """
>>> from scipy import special    # SciPy's own, to check against
>>> x = chainrule.tensor([1.0, 2.5], requires_grad=True)
>>> y = chainrule.scipy.special.digamma(x)
>>> y
tensor([-0.57721566,  0.70315664], grad_fn=digamma)
>>> y.sum().backward()
>>> x.grad
array([1.64493407, 0.49035776])
>>> np.allclose(x.grad, special.polygamma(1, x.data))    # x̄ = ḡ · ψ⁽¹⁾(x)
True
""",
    "scipy.special.erf": """
>>> x = chainrule.tensor([0.0, 0.5], requires_grad=True)
>>> y = chainrule.scipy.special.erf(x)
>>> y
tensor([0.        , 0.52049988], grad_fn=erf)
>>> y.sum().backward()
>>> x.grad
array([1.12837917, 0.87878258])
>>> np.allclose(x.grad, 2 / np.sqrt(np.pi) * np.exp(-x.data ** 2))    # x̄ = ḡ · 2/√π · e^(−x²)
True
""",
    "scipy.special.erfc": """
>>> x = chainrule.tensor([0.0, 0.5], requires_grad=True)
>>> y = chainrule.scipy.special.erfc(x)
>>> y
tensor([1.        , 0.47950012], grad_fn=erfc)
>>> y.sum().backward()
>>> x.grad
array([-1.12837917, -0.87878258])
>>> np.allclose(x.grad, -2 / np.sqrt(np.pi) * np.exp(-x.data ** 2))    # x̄ = −ḡ · 2/√π · e^(−x²)
True
""",
    "scipy.special.erfcinv": """
>>> x = chainrule.tensor([0.5, 1.0], requires_grad=True)
>>> y = chainrule.scipy.special.erfcinv(x)
>>> y
tensor([ 0.47693628, -0.        ], grad_fn=erfcinv)
>>> y.sum().backward()
>>> x.grad
array([-1.11258482, -0.88622693])
>>> np.allclose(x.grad, -np.sqrt(np.pi) / 2 * np.exp(y.data ** 2))    # x̄ = −ḡ · √π/2 · e^(y²)
True
""",
    "scipy.special.erfinv": """
>>> x = chainrule.tensor([0.0, 0.5], requires_grad=True)
>>> y = chainrule.scipy.special.erfinv(x)
>>> y
tensor([0.        , 0.47693628], grad_fn=erfinv)
>>> y.sum().backward()
>>> x.grad
array([0.88622693, 1.11258482])
>>> np.allclose(x.grad, np.sqrt(np.pi) / 2 * np.exp(y.data ** 2))    # x̄ = ḡ · √π/2 · e^(y²)
True
""",
    "scipy.special.expit": """
>>> chainrule.scipy.special.expit is chainrule.numpy.sigmoid    # SciPy's name for the sigmoid
True
>>> x = chainrule.tensor([0.0, 2.0], requires_grad=True)
>>> y = chainrule.scipy.special.expit(x)
>>> y
tensor([0.5       , 0.88079708], grad_fn=...)
>>> y.sum().backward()
>>> np.allclose(x.grad, y.data * (1 - y.data))    # x̄ = ḡ · σ(x)(1 − σ(x))
True
""",
    "scipy.special.gamma": """
>>> from scipy import special    # SciPy's own, to check against
>>> x = chainrule.tensor([1.0, 2.5], requires_grad=True)
>>> y = chainrule.scipy.special.gamma(x)
>>> y
tensor([1.        , 1.32934039], grad_fn=gamma)
>>> y.sum().backward()
>>> x.grad
array([-0.57721566,  0.93473452])
>>> np.allclose(x.grad, special.gamma(x.data) * special.digamma(x.data))    # x̄ = ḡ · Γ(x) ψ(x)
True
""",
    "scipy.special.gammainc": """
>>> from scipy import special    # SciPy's own, to check against
>>> x = chainrule.tensor([0.5, 3.0], requires_grad=True)
>>> y = chainrule.scipy.special.gammainc(2.0, x)
>>> y
tensor([0.09020401, 0.80085173], grad_fn=gammainc)
>>> y.sum().backward()
>>> x.grad
array([0.30326533, 0.14936121])
>>> np.allclose(x.grad, x.data * np.exp(-x.data))    # x̄ = ḡ · x^(a−1) e^(−x) / Γ(a), Γ(2) = 1
True
""",
    "scipy.special.gammaincc": """
>>> from scipy import special    # SciPy's own, to check against
>>> x = chainrule.tensor([0.5, 3.0], requires_grad=True)
>>> y = chainrule.scipy.special.gammaincc(2.0, x)
>>> y
tensor([0.90979599, 0.19914827], grad_fn=gammaincc)
>>> y.sum().backward()
>>> x.grad
array([-0.30326533, -0.14936121])
>>> np.allclose(x.grad, -x.data * np.exp(-x.data))    # x̄ = −ḡ · x^(a−1) e^(−x) / Γ(a)
True
""",
    "scipy.special.gammaln": """
>>> from scipy import special    # SciPy's own, to check against
>>> x = chainrule.tensor([1.0, 2.5], requires_grad=True)
>>> y = chainrule.scipy.special.gammaln(x)
>>> y
tensor([0.        , 0.28468287], grad_fn=gammaln)
>>> y.sum().backward()
>>> x.grad
array([-0.57721566,  0.70315664])
>>> np.allclose(x.grad, special.digamma(x.data))    # x̄ = ḡ · ψ(x)
True
""",
    "scipy.special.i0": """
>>> from scipy import special    # SciPy's own, to check against
>>> x = chainrule.tensor([0.0, 1.0], requires_grad=True)
>>> y = chainrule.scipy.special.i0(x)
>>> y
tensor([1.        , 1.26606588], grad_fn=i0)
>>> y.sum().backward()
>>> x.grad
array([0.       , 0.5651591])
>>> np.allclose(x.grad, special.i1(x.data))    # x̄ = ḡ · I₁(x)
True
""",
    "scipy.special.i1": """
>>> from scipy import special    # SciPy's own, to check against
>>> x = chainrule.tensor([0.0, 1.0], requires_grad=True)
>>> y = chainrule.scipy.special.i1(x)
>>> y
tensor([0.       , 0.5651591], grad_fn=i1)
>>> y.sum().backward()
>>> x.grad
array([0.5       , 0.70090677])
>>> np.allclose(x.grad, (special.i0(x.data) + special.iv(2, x.data)) / 2)    # x̄ = ḡ · (I₀(x) + I₂(x)) / 2
True
""",
    "scipy.special.iv": """
>>> from scipy import special    # SciPy's own, to check against
>>> x = chainrule.tensor([0.5, 1.0], requires_grad=True)
>>> y = chainrule.scipy.special.iv(1.5, x)
>>> y
tensor([0.09640347, 0.29352533], grad_fn=iv)
>>> y.sum().backward()
>>> x.grad
array([0.29878267, 0.4973869 ])
>>> # x̄ = ḡ · (I_(v−1)(x) + I_(v+1)(x)) / 2
>>> np.allclose(x.grad, (special.iv(0.5, x.data) + special.iv(2.5, x.data)) / 2)
True
""",
    "scipy.special.ive": """
>>> from scipy import special    # SciPy's own, to check against
>>> x = chainrule.tensor([0.5, 1.0], requires_grad=True)
>>> y = chainrule.scipy.special.ive(1.5, x)
>>> y
tensor([0.05847166, 0.10798193], grad_fn=ive)
>>> y.sum().backward()
>>> x.grad
array([0.12274918, 0.07499648])
>>> # x̄ = ḡ · ((Iₑ_(v−1) + Iₑ_(v+1)) / 2 − sign(x) y)
>>> np.allclose(x.grad, (special.ive(0.5, x.data) + special.ive(2.5, x.data)) / 2 - y.data)
True
""",
    "scipy.special.j0": """
>>> from scipy import special    # SciPy's own, to check against
>>> x = chainrule.tensor([0.0, 1.0], requires_grad=True)
>>> y = chainrule.scipy.special.j0(x)
>>> y
tensor([1.        , 0.76519769], grad_fn=j0)
>>> y.sum().backward()
>>> x.grad
array([-0.        , -0.44005059])
>>> np.allclose(x.grad, -special.j1(x.data))    # x̄ = −ḡ · J₁(x)
True
""",
    "scipy.special.j1": """
>>> from scipy import special    # SciPy's own, to check against
>>> x = chainrule.tensor([0.0, 1.0], requires_grad=True)
>>> y = chainrule.scipy.special.j1(x)
>>> y
tensor([0.        , 0.44005059], grad_fn=j1)
>>> y.sum().backward()
>>> x.grad
array([0.5      , 0.3251471])
>>> np.allclose(x.grad, (special.j0(x.data) - special.jv(2, x.data)) / 2)    # x̄ = ḡ · (J₀(x) − J₂(x)) / 2
True
""",
    "scipy.special.jn": """
>>> from scipy import special    # SciPy's own, to check against
>>> x = chainrule.tensor([0.5, 1.0], requires_grad=True)
>>> y = chainrule.scipy.special.jn(2, x)
>>> y
tensor([0.03060402, 0.11490348], grad_fn=jn)
>>> y.sum().backward()
>>> x.grad
array([0.11985236, 0.21024362])
>>> # x̄ = ḡ · (J_(n−1)(x) − J_(n+1)(x)) / 2
>>> np.allclose(x.grad, (special.jv(1, x.data) - special.jv(3, x.data)) / 2)
True
""",
    "scipy.special.log_ndtr": """
>>> from scipy import special    # SciPy's own, to check against
>>> x = chainrule.tensor([-5.0, 0.0], requires_grad=True)
>>> y = chainrule.scipy.special.log_ndtr(x)
>>> y
tensor([-15.06499839,  -0.69314718], grad_fn=log_ndtr)
>>> y.sum().backward()
>>> x.grad
array([5.18650397, 0.79788456])
>>> # x̄ = ḡ · φ(x) / Φ(x)
>>> np.allclose(x.grad, np.exp(-x.data ** 2 / 2) / np.sqrt(2 * np.pi) / special.ndtr(x.data))
True
""",
    "scipy.special.log_softmax": """
>>> x = chainrule.tensor([[0.0, 1.0], [2.0, 3.0]], requires_grad=True)
>>> y = chainrule.scipy.special.log_softmax(x, axis=1)
>>> y
tensor([[-1.31326169, -0.31326169],
        [-1.31326169, -0.31326169]], grad_fn=...)
>>> y[0, 0].backward()
>>> x.grad    # e₀ − softmax of row 0
array([[ 0.73105858, -0.73105858],
       [ 0.        ,  0.        ]])
""",
    "scipy.special.logit": """
>>> x = chainrule.tensor([0.5, 0.8], requires_grad=True)
>>> y = chainrule.scipy.special.logit(x)
>>> y
tensor([0.        , 1.38629436], grad_fn=logit)
>>> y.sum().backward()
>>> x.grad
array([4.  , 6.25])
>>> np.allclose(x.grad, 1 / (x.data * (1 - x.data)))    # x̄ = ḡ / (x (1 − x))
True
""",
    "scipy.special.logsumexp": """
>>> x = chainrule.tensor([0.0, 1.0, 2.0], requires_grad=True)
>>> y = chainrule.scipy.special.logsumexp(x, b=np.array([1.0, 1.0, 2.0]))    # log Σ b eˣ
>>> y
tensor(2.9175758, grad_fn=...)
>>> y.backward()
>>> np.allclose(x.grad, [1, 1, 2] * np.exp(x.data - y.data))    # b eˣ / Σ b eˣ
True
""",
    "scipy.special.multigammaln": """
>>> from scipy import special    # SciPy's own, to check against
>>> a = chainrule.tensor(3.0, requires_grad=True)
>>> y = chainrule.scipy.special.multigammaln(a, 2)
>>> y
tensor(1.55019499, grad_fn=multigammaln)
>>> y.backward()
>>> a.grad
array(1.62594098)
>>> np.allclose(a.grad, special.digamma(3.0) + special.digamma(2.5))    # ā = ḡ · Σⱼ ψ(a − j/2)
True
""",
    "scipy.special.ndtr": """
>>> x = chainrule.tensor([0.0, 1.0], requires_grad=True)
>>> y = chainrule.scipy.special.ndtr(x)
>>> y
tensor([0.5       , 0.84134475], grad_fn=ndtr)
>>> y.sum().backward()
>>> x.grad
array([0.39894228, 0.24197072])
>>> np.allclose(x.grad, np.exp(-x.data ** 2 / 2) / np.sqrt(2 * np.pi))    # x̄ = ḡ · φ(x)
True
""",
    "scipy.special.ndtri": """
>>> x = chainrule.tensor([0.5, 0.975], requires_grad=True)
>>> y = chainrule.scipy.special.ndtri(x)
>>> y
tensor([0.        , 1.95996398], grad_fn=ndtri)
>>> y.sum().backward()
>>> x.grad
array([ 2.50662827, 17.11008308])
>>> np.allclose(x.grad, np.sqrt(2 * np.pi) * np.exp(y.data ** 2 / 2))    # x̄ = ḡ / φ(y)
True
""",
    "scipy.special.polygamma": """
>>> from scipy import special    # SciPy's own, to check against
>>> x = chainrule.tensor([1.0, 2.5], requires_grad=True)
>>> y = chainrule.scipy.special.polygamma(1, x)
>>> y
tensor([1.64493407, 0.49035776], grad_fn=polygamma)
>>> y.sum().backward()
>>> x.grad
array([-2.40411381, -0.23620405])
>>> np.allclose(x.grad, special.polygamma(2, x.data))    # x̄ = ḡ · ψ⁽ⁿ⁺¹⁾(x)
True
""",
    "scipy.special.psi": """
>>> chainrule.scipy.special.psi is chainrule.scipy.special.digamma    # another name for digamma
True
>>> from scipy import special    # SciPy's own, to check against
>>> x = chainrule.tensor([1.0, 2.5], requires_grad=True)
>>> y = chainrule.scipy.special.psi(x)
>>> y
tensor([-0.57721566,  0.70315664], grad_fn=digamma)
>>> y.sum().backward()
>>> x.grad
array([1.64493407, 0.49035776])
>>> np.allclose(x.grad, special.polygamma(1, x.data))    # x̄ = ḡ · ψ⁽¹⁾(x)
True
""",
    "scipy.special.rgamma": """
>>> from scipy import special    # SciPy's own, to check against
>>> x = chainrule.tensor([1.0, 2.5], requires_grad=True)
>>> y = chainrule.scipy.special.rgamma(x)
>>> y
tensor([1.        , 0.75225278], grad_fn=rgamma)
>>> y.sum().backward()
>>> x.grad
array([ 0.57721566, -0.52895154])
>>> np.allclose(x.grad, -special.digamma(x.data) / special.gamma(x.data))    # x̄ = −ḡ · ψ(x) / Γ(x)
True
""",
    "scipy.special.softmax": """
>>> x = chainrule.tensor([[0.0, 1.0], [2.0, 3.0]], requires_grad=True)
>>> y = chainrule.scipy.special.softmax(x)    # over all elements, as SciPy's default
>>> y
tensor([[0.0320586 , 0.08714432],
        [0.23688282, 0.64391426]], grad_fn=...)
>>> y[0, 0].backward()
>>> np.allclose(x.grad, y.data[0, 0] * ((np.arange(4) == 0).reshape(2, 2) - y.data))
True
""",
    "scipy.special.stdtr": """
>>> t = chainrule.tensor([0.0, 1.0], requires_grad=True)
>>> y = chainrule.scipy.special.stdtr(1.0, t)    # one degree of freedom: the Cauchy distribution
>>> y
tensor([0.5 , 0.75], grad_fn=stdtr)
>>> y.sum().backward()
>>> t.grad
array([0.31830989, 0.15915494])
>>> np.allclose(t.grad, 1 / (np.pi * (1 + t.data ** 2)))    # t̄ = ḡ · the t density
True
""",
    "scipy.special.xlog1py": """
>>> x = chainrule.tensor([0.0, 2.0], requires_grad=True)
>>> y = chainrule.tensor([0.5, 3.0], requires_grad=True)
>>> z = chainrule.scipy.special.xlog1py(x, y)
>>> z
tensor([0.        , 2.77258872], grad_fn=xlog1py)
>>> z.sum().backward()
>>> x.grad, y.grad
(array([0.40546511, 1.38629436]), array([0. , 0.5]))
>>> np.allclose(x.grad, np.log1p(y.data)), np.allclose(y.grad, x.data / (1 + y.data))    # ȳ = ḡ · x / (1 + y)
(True, True)
""",
    "scipy.special.xlogy": """
>>> x = chainrule.tensor([0.0, 2.0], requires_grad=True)
>>> y = chainrule.tensor([0.5, 3.0], requires_grad=True)
>>> z = chainrule.scipy.special.xlogy(x, y)
>>> z
tensor([0.        , 2.19722458], grad_fn=xlogy)
>>> z.sum().backward()
>>> x.grad, y.grad
(array([-0.69314718,  1.09861229]), array([0.        , 0.66666667]))
>>> np.allclose(x.grad, np.log(y.data)), np.allclose(y.grad, x.data / y.data)    # x̄ = ḡ · log y, ȳ = ḡ · x / y
(True, True)
""",
    "scipy.special.y0": """
>>> from scipy import special    # SciPy's own, to check against
>>> x = chainrule.tensor([0.5, 1.0], requires_grad=True)
>>> y = chainrule.scipy.special.y0(x)
>>> y
tensor([-0.44451873,  0.08825696], grad_fn=y0)
>>> y.sum().backward()
>>> x.grad
array([1.47147239, 0.78121282])
>>> np.allclose(x.grad, -special.y1(x.data))    # x̄ = −ḡ · Y₁(x)
True
""",
    "scipy.special.y1": """
>>> from scipy import special    # SciPy's own, to check against
>>> x = chainrule.tensor([0.5, 1.0], requires_grad=True)
>>> y = chainrule.scipy.special.y1(x)
>>> y
tensor([-1.47147239, -0.78121282], grad_fn=y1)
>>> y.sum().backward()
>>> x.grad
array([2.49842605, 0.86946979])
>>> np.allclose(x.grad, (special.y0(x.data) - special.yv(2, x.data)) / 2)    # x̄ = ḡ · (Y₀(x) − Y₂(x)) / 2
True
""",
    "scipy.special.yn": """
>>> from scipy import special    # SciPy's own, to check against
>>> x = chainrule.tensor([0.5, 1.0], requires_grad=True)
>>> y = chainrule.scipy.special.yn(2, x)
>>> y
tensor([-5.44137084, -1.65068261], grad_fn=yn)
>>> y.sum().backward()
>>> x.grad
array([20.29401096,  2.52015239])
>>> # x̄ = ḡ · (Y_(n−1)(x) − Y_(n+1)(x)) / 2
>>> np.allclose(x.grad, (special.yv(1, x.data) - special.yv(3, x.data)) / 2)
True
""",
    "scipy.stats.beta.cdf": """
>>> from scipy import stats    # SciPy's own, to check against
>>> x = chainrule.tensor([0.25, 0.5], requires_grad=True)
>>> a = 2.0    # (a constant shape parameter: no rule in it)
>>> y = chainrule.scipy.stats.beta.cdf(x, a, 3.0)
>>> y
tensor([0.26171875, 0.6875    ], grad_fn=...)
>>> y.sum().backward()
>>> x.grad
array([1.6875, 1.5   ])
>>> np.allclose(y.data, stats.beta.cdf(x.data, 2.0, 3.0))
True
""",
    "scipy.stats.beta.logcdf": """
>>> from scipy import stats    # SciPy's own, to check against
>>> x = chainrule.tensor([0.25, 0.5], requires_grad=True)
>>> a = 2.0    # (a constant shape parameter: no rule in it)
>>> y = chainrule.scipy.stats.beta.logcdf(x, a, 3.0)
>>> y
tensor([-1.34048483, -0.37469345], grad_fn=...)
>>> y.sum().backward()
>>> x.grad
array([6.44776119, 2.18181818])
>>> np.allclose(y.data, stats.beta.logcdf(x.data, 2.0, 3.0))
True
""",
    "scipy.stats.beta.logpdf": """
>>> from scipy import stats    # SciPy's own, to check against
>>> x = chainrule.tensor([0.25, 0.5], requires_grad=True)
>>> a = chainrule.tensor(2.0, requires_grad=True)
>>> y = chainrule.scipy.stats.beta.logpdf(x, a, 3.0)
>>> y
tensor([0.52324814, 0.40546511], grad_fn=...)
>>> y.sum().backward()
>>> x.grad, a.grad
(array([ 1.33333333, -2.        ]), array(0.08722512))
>>> np.allclose(y.data, stats.beta.logpdf(x.data, 2.0, 3.0))
True
""",
    "scipy.stats.beta.pdf": """
>>> from scipy import stats    # SciPy's own, to check against
>>> x = chainrule.tensor([0.25, 0.5], requires_grad=True)
>>> a = chainrule.tensor(2.0, requires_grad=True)
>>> y = chainrule.scipy.stats.beta.pdf(x, a, 3.0)
>>> y
tensor([1.6875, 1.5   ], grad_fn=...)
>>> y.sum().backward()
>>> x.grad, a.grad
(array([ 2.25, -3.  ]), array(0.07403249))
>>> np.allclose(y.data, stats.beta.pdf(x.data, 2.0, 3.0))
True
""",
    "scipy.stats.dirichlet.logpdf": """
>>> from scipy import stats    # SciPy's own, to check against
>>> alpha = chainrule.tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> y = chainrule.scipy.stats.dirichlet.logpdf(np.array([0.2, 0.3, 0.5]), alpha)
>>> y
tensor(1.5040774, grad_fn=...)
>>> y.backward()
>>> alpha.grad
array([0.67389542, 0.07936053, 0.09018615])
>>> np.allclose(y.data, stats.dirichlet.logpdf([0.2, 0.3, 0.5], [1.0, 2.0, 3.0]))
True
""",
    "scipy.stats.dirichlet.pdf": """
>>> from scipy import stats    # SciPy's own, to check against
>>> alpha = chainrule.tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> y = chainrule.scipy.stats.dirichlet.pdf(np.array([0.2, 0.3, 0.5]), alpha)
>>> y
tensor(4.5, grad_fn=...)
>>> y.backward()
>>> alpha.grad
array([3.03252939, 0.35712238, 0.40583769])
>>> np.allclose(y.data, stats.dirichlet.pdf([0.2, 0.3, 0.5], [1.0, 2.0, 3.0]))
True
""",
    "scipy.stats.gamma.cdf": """
>>> from scipy import stats    # SciPy's own, to check against
>>> x = chainrule.tensor([0.5, 2.0], requires_grad=True)
>>> a = 2.0    # (a constant shape parameter: no rule in it)
>>> y = chainrule.scipy.stats.gamma.cdf(x, a, scale=1.5)
>>> y
tensor([0.04462492, 0.38494001], grad_fn=...)
>>> y.sum().backward()
>>> x.grad
array([0.15922918, 0.23430857])
>>> np.allclose(y.data, stats.gamma.cdf(x.data, 2.0, scale=1.5))
True
""",
    "scipy.stats.gamma.logcdf": """
>>> from scipy import stats    # SciPy's own, to check against
>>> x = chainrule.tensor([0.5, 2.0], requires_grad=True)
>>> a = 2.0    # (a constant shape parameter: no rule in it)
>>> y = chainrule.scipy.stats.gamma.logcdf(x, a, scale=1.5)
>>> y
tensor([-3.10946285, -0.95466777], grad_fn=...)
>>> y.sum().backward()
>>> x.grad
array([3.56816736, 0.60868852])
>>> np.allclose(y.data, stats.gamma.logcdf(x.data, 2.0, scale=1.5))
True
""",
    "scipy.stats.gamma.logpdf": """
>>> from scipy import stats    # SciPy's own, to check against
>>> x = chainrule.tensor([0.5, 2.0], requires_grad=True)
>>> a = chainrule.tensor(2.0, requires_grad=True)
>>> y = chainrule.scipy.stats.gamma.logpdf(x, a, scale=1.5)
>>> y
tensor([-1.83741073, -1.45111637], grad_fn=...)
>>> y.sum().backward()
>>> x.grad, a.grad
(array([ 1.33333333, -0.16666667]), array(-1.65649889))
>>> np.allclose(y.data, stats.gamma.logpdf(x.data, 2.0, scale=1.5))
True
""",
    "scipy.stats.gamma.pdf": """
>>> from scipy import stats    # SciPy's own, to check against
>>> x = chainrule.tensor([0.5, 2.0], requires_grad=True)
>>> a = chainrule.tensor(2.0, requires_grad=True)
>>> y = chainrule.scipy.stats.gamma.pdf(x, a, scale=1.5)
>>> y
tensor([0.15922918, 0.23430857], grad_fn=...)
>>> y.sum().backward()
>>> x.grad, a.grad
(array([ 0.21230557, -0.03905143]), array(-0.27390635))
>>> np.allclose(y.data, stats.gamma.pdf(x.data, 2.0, scale=1.5))
True
""",
    "scipy.stats.multivariate_normal.entropy": """
>>> from scipy import stats    # SciPy's own, to check against
>>> cov = chainrule.tensor([[2.0, 0.5], [0.5, 1.0]], requires_grad=True)
>>> h = chainrule.scipy.stats.multivariate_normal.entropy(np.zeros(2), cov)
>>> h
tensor(3.11768496, grad_fn=...)
>>> h.backward()
>>> np.allclose(cov.grad, np.linalg.inv(cov.data) / 2)    # ½ Σ⁻¹
True
>>> np.allclose(h.data, stats.multivariate_normal.entropy(np.zeros(2), cov.data))
True
""",
    "scipy.stats.multivariate_normal.logpdf": """
>>> from scipy import stats    # SciPy's own, to check against
>>> x = chainrule.tensor([1.0, 0.0], requires_grad=True)
>>> cov = np.array([[2.0, 0.5], [0.5, 1.0]])
>>> y = chainrule.scipy.stats.multivariate_normal.logpdf(x, np.zeros(2), cov)
>>> y
tensor(-2.40339925, grad_fn=...)
>>> y.backward()
>>> x.grad    # −Σ⁻¹ (x − μ)
array([-0.57142857,  0.28571429])
>>> np.allclose(y.data, stats.multivariate_normal.logpdf([1.0, 0.0], np.zeros(2), cov))
True
""",
    "scipy.stats.multivariate_normal.pdf": """
>>> from scipy import stats    # SciPy's own, to check against
>>> x = chainrule.tensor([1.0, 0.0], requires_grad=True)
>>> cov = np.array([[2.0, 0.5], [0.5, 1.0]])
>>> y = chainrule.scipy.stats.multivariate_normal.pdf(x, np.zeros(2), cov)
>>> y
tensor(0.0904101, grad_fn=...)
>>> y.backward()
>>> x.grad
array([-0.05166292,  0.02583146])
>>> np.allclose(y.data, stats.multivariate_normal.pdf([1.0, 0.0], np.zeros(2), cov))
True
""",
    "scipy.stats.norm.cdf": """
>>> from scipy import stats    # SciPy's own, to check against
>>> x = chainrule.tensor([0.5, 2.0], requires_grad=True)
>>> mu = chainrule.tensor(1.0, requires_grad=True)
>>> y = chainrule.scipy.stats.norm.cdf(x, mu, 2.0)
>>> y
tensor([0.40129367, 0.69146246], grad_fn=...)
>>> y.sum().backward()
>>> x.grad, mu.grad
(array([0.19333406, 0.17603266]), array(-0.36936672))
>>> np.allclose(y.data, stats.norm.cdf(x.data, 1.0, 2.0))
True
""",
    "scipy.stats.norm.logcdf": """
>>> from scipy import stats    # SciPy's own, to check against
>>> x = chainrule.tensor([0.5, 2.0], requires_grad=True)
>>> mu = chainrule.tensor(1.0, requires_grad=True)
>>> y = chainrule.scipy.stats.norm.logcdf(x, mu, 2.0)
>>> y
tensor([-0.91306176, -0.36894642], grad_fn=...)
>>> y.sum().backward()
>>> x.grad, mu.grad
(array([0.48177699, 0.25458022]), array(-0.73635721))
>>> np.allclose(y.data, stats.norm.logcdf(x.data, 1.0, 2.0))
True
""",
    "scipy.stats.norm.logpdf": """
>>> from scipy import stats    # SciPy's own, to check against
>>> x = chainrule.tensor([0.5, 2.0], requires_grad=True)
>>> mu = chainrule.tensor(1.0, requires_grad=True)
>>> y = chainrule.scipy.stats.norm.logpdf(x, mu, 2.0)
>>> y
tensor([-1.64333571, -1.73708571], grad_fn=...)
>>> y.sum().backward()
>>> x.grad, mu.grad
(array([ 0.125, -0.25 ]), array(0.125))
>>> np.allclose(y.data, stats.norm.logpdf(x.data, 1.0, 2.0))
True
""",
    "scipy.stats.norm.logsf": """
>>> from scipy import stats    # SciPy's own, to check against
>>> x = chainrule.tensor([0.5, 2.0], requires_grad=True)
>>> mu = chainrule.tensor(1.0, requires_grad=True)
>>> y = chainrule.scipy.stats.norm.logsf(x, mu, 2.0)
>>> y
tensor([-0.51298408, -1.17591176], grad_fn=...)
>>> y.sum().backward()
>>> x.grad, mu.grad
(array([-0.32291969, -0.57053889]), array(0.89345857))
>>> np.allclose(y.data, stats.norm.logsf(x.data, 1.0, 2.0))
True
""",
    "scipy.stats.norm.pdf": """
>>> from scipy import stats    # SciPy's own, to check against
>>> x = chainrule.tensor([0.5, 2.0], requires_grad=True)
>>> mu = chainrule.tensor(1.0, requires_grad=True)
>>> y = chainrule.scipy.stats.norm.pdf(x, mu, 2.0)
>>> y
tensor([0.19333406, 0.17603266], grad_fn=...)
>>> y.sum().backward()
>>> x.grad, mu.grad
(array([ 0.02416676, -0.04400817]), array(0.01984141))
>>> np.allclose(y.data, stats.norm.pdf(x.data, 1.0, 2.0))
True
""",
    "scipy.stats.norm.ppf": """
>>> from scipy import stats    # SciPy's own, to check against
>>> q = chainrule.tensor([0.5, 0.975], requires_grad=True)
>>> y = chainrule.scipy.stats.norm.ppf(q, 1.0, 2.0)
>>> y
tensor([1.        , 4.91992797], grad_fn=...)
>>> y.sum().backward()
>>> q.grad    # 1 / density at the quantile
array([ 5.01325655, 34.22016616])
>>> np.allclose(y.data, stats.norm.ppf(q.data, 1.0, 2.0))
True
""",
    "scipy.stats.norm.sf": """
>>> from scipy import stats    # SciPy's own, to check against
>>> x = chainrule.tensor([0.5, 2.0], requires_grad=True)
>>> mu = chainrule.tensor(1.0, requires_grad=True)
>>> y = chainrule.scipy.stats.norm.sf(x, mu, 2.0)
>>> y
tensor([0.59870633, 0.30853754], grad_fn=...)
>>> y.sum().backward()
>>> x.grad, mu.grad
(array([-0.19333406, -0.17603266]), array(0.36936672))
>>> np.allclose(y.data, stats.norm.sf(x.data, 1.0, 2.0))
True
""",
    "scipy.stats.poisson.cdf": """
>>> from scipy import stats    # SciPy's own, to check against
>>> mu = chainrule.tensor(2.0, requires_grad=True)
>>> y = chainrule.scipy.stats.poisson.cdf(np.array([0, 3]), mu)
>>> y
tensor([0.13533528, 0.85712346], grad_fn=...)
>>> y.sum().backward()
>>> mu.grad    # differentiable in the rate
array(-0.31578233)
>>> np.allclose(y.data, stats.poisson.cdf([0, 3], 2.0))
True
""",
    "scipy.stats.poisson.logcdf": """
>>> from scipy import stats    # SciPy's own, to check against
>>> mu = chainrule.tensor(2.0, requires_grad=True)
>>> y = chainrule.scipy.stats.poisson.logcdf(np.array([0, 3]), mu)
>>> y
tensor([-2.        , -0.15417331], grad_fn=...)
>>> y.sum().backward()
>>> mu.grad    # differentiable in the rate
array(-1.21052632)
>>> np.allclose(y.data, stats.poisson.logcdf([0, 3], 2.0))
True
""",
    "scipy.stats.poisson.logpmf": """
>>> from scipy import stats    # SciPy's own, to check against
>>> mu = chainrule.tensor(2.0, requires_grad=True)
>>> y = chainrule.scipy.stats.poisson.logpmf(np.array([0, 3]), mu)
>>> y
tensor([-2.        , -1.71231793], grad_fn=...)
>>> y.sum().backward()
>>> mu.grad    # differentiable in the rate
array(-0.5)
>>> np.allclose(y.data, stats.poisson.logpmf([0, 3], 2.0))
True
""",
    "scipy.stats.poisson.pmf": """
>>> from scipy import stats    # SciPy's own, to check against
>>> mu = chainrule.tensor(2.0, requires_grad=True)
>>> y = chainrule.scipy.stats.poisson.pmf(np.array([0, 3]), mu)
>>> y
tensor([0.13533528, 0.18044704], grad_fn=...)
>>> y.sum().backward()
>>> mu.grad    # differentiable in the rate
array(-0.04511176)
>>> np.allclose(y.data, stats.poisson.pmf([0, 3], 2.0))
True
""",
    "scipy.stats.t.cdf": """
>>> from scipy import stats    # SciPy's own, to check against
>>> x = chainrule.tensor([0.5, 2.0], requires_grad=True)
>>> df = 3.0    # (a constant shape parameter: no rule in it)
>>> y = chainrule.scipy.stats.t.cdf(x, df)
>>> y
tensor([0.67427602, 0.93033702], grad_fn=...)
>>> y.sum().backward()
>>> x.grad
array([0.31318091, 0.06750966])
>>> np.allclose(y.data, stats.t.cdf(x.data, 3.0))
True
""",
    "scipy.stats.t.logcdf": """
>>> from scipy import stats    # SciPy's own, to check against
>>> x = chainrule.tensor([0.5, 2.0], requires_grad=True)
>>> df = 3.0    # (a constant shape parameter: no rule in it)
>>> y = chainrule.scipy.stats.t.logcdf(x, df)
>>> y
tensor([-0.39411573, -0.07220838], grad_fn=...)
>>> y.sum().backward()
>>> x.grad
array([0.46446989, 0.07256474])
>>> np.allclose(y.data, stats.t.logcdf(x.data, 3.0))
True
""",
    "scipy.stats.t.logpdf": """
>>> from scipy import stats    # SciPy's own, to check against
>>> x = chainrule.tensor([0.5, 2.0], requires_grad=True)
>>> df = chainrule.tensor(3.0, requires_grad=True)
>>> y = chainrule.scipy.stats.t.logpdf(x, df)
>>> y
tensor([-1.16097426, -2.69548457], grad_fn=...)
>>> y.sum().backward()
>>> x.grad, df.grad
(array([-0.61538462, -1.14285714]), array(0.02152518))
>>> np.allclose(y.data, stats.t.logpdf(x.data, 3.0))
True
""",
    "scipy.stats.t.pdf": """
>>> from scipy import stats    # SciPy's own, to check against
>>> x = chainrule.tensor([0.5, 2.0], requires_grad=True)
>>> df = chainrule.tensor(3.0, requires_grad=True)
>>> y = chainrule.scipy.stats.t.pdf(x, df)
>>> y
tensor([0.31318091, 0.06750966], grad_fn=...)
>>> y.sum().backward()
>>> x.grad, df.grad
(array([-0.19272671, -0.0771539 ]), array(0.01072509))
>>> np.allclose(y.data, stats.t.pdf(x.data, 3.0))
True
""",
}
