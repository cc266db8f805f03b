"""`trace`: record a computation and see it in the notes' notation.

A :class:`Trace` lists the vertices of a computation graph v1, ..., vN in topological order (parents
before children), each with its operation, shape, dtype, forward value and error signal v̄ = ∂L/∂v, where
v̄_N = 1 and v̄_i = Σ over children j of v̄_j ∂v_j/∂v_i. It prints the forward and the backward pass the way
the lecture notes write them, and draws the graph (Graphviz DOT).

>>> import chainrule, chainrule.numpy as cnp
>>> def model(w, b, x=2.0, t=1.0):
...     z = w * x + b
...     y = cnp.sigmoid(z)
...     L = 0.5 * (y - t) ** 2
...     return L
>>> tr = trace(model, 0.5, -1.0)
>>> print(tr.backward_text())
L̄  = 1
v̄3 = L̄ · 0.5 = 0.5
v̄2 = v̄3 · 2·v2 = -0.5
ȳ  = v̄2 = -0.5
z̄  = ȳ · σ(z)(1 - σ(z)) = -0.125
v̄1 = z̄ = -0.125
b̄  = z̄ = -0.125
w̄  = v̄1 · 2 = -0.25
"""

from __future__ import annotations

import inspect
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._graph import _SELECT, Node, Primitive, Shape, _add, _propagate, _python_call, _Switch, mode
from .._tensor import Tensor
from ._format import array_text, bar, constant_text, number, shape_text
from ._simplify import simplified_rule

_FIELD = re.compile(r"\{(\w+)\}")  # {g}, {ans}, {0}, {1}, ... in a rule's formula text

# Forward operations written infix, as the notes write them; the rest print as ``name(args)``.
_INFIX = {
    "add": "{0} + {1}", "subtract": "{0} − {1}", "multiply": "{0} · {1}", "divide": "{0} / {1}",
    "power": "{0}^{1}", "matmul": "{0} @ {1}", "negative": "−{0}", "select": "{0}[{1}]",
    "transpose": "{0}ᵀ", "getitem": "{0}[{1}]", "sigmoid": "σ({0})",
}


@dataclass(eq=False)
class TraceNode:
    """One vertex of the traced graph.

    ``op`` is the primitive's name, or ``"input"`` for a leaf; ``parents`` are indices into
    :attr:`Trace.nodes`; ``grad`` is the error signal ∂L/∂v (None before/without a backward pass);
    ``contributions`` holds (child index, v̄_child ∂child/∂v) for each child, the terms of the sum.

    >>> import chainrule.numpy as cnp
    >>> tr = trace(lambda x: cnp.exp(x) * x, 1.0)
    >>> tr.nodes
    [<TraceNode 0: x = input (), with v̄>, <TraceNode 1: v1 = exp (), with v̄>, <TraceNode 2: v2 = multiply (), with v̄>]
    >>> node = tr.nodes[1]
    >>> node.op, node.parents, round(float(node.value), 4), round(float(node.grad), 4), node.is_leaf, node.shape
    ('exp', [0], 2.7183, 1.0, False, ())
    >>> [(child, round(float(term), 4)) for child, term in tr.nodes[0].contributions]
    [(1, 2.7183), (2, 2.7183)]
    """

    index: int
    name: str
    op: str
    vertex: Any
    value: Any
    parents: list[int] = field(default_factory=list)
    positions: tuple = ()
    module: tuple[str, ...] = ()
    grad: Any = None
    contributions: list[tuple[int, Any]] = field(default_factory=list)

    @property
    def is_leaf(self) -> bool:
        """Whether the node is an input (a leaf of the graph) rather than computed by a primitive.

        >>> tr = trace(lambda x: 3.0 * x, 2.0)
        >>> [(n.name, n.is_leaf) for n in tr.nodes]
        [('x', True), ('v1', False)]
        """
        return self.op == "input"

    @property
    def shape(self) -> tuple:
        """The shape of the node's value (a tuple of shapes for a primitive with several outputs).

        >>> tr = trace(lambda x: (x * x).sum(), np.ones((2, 3)))
        >>> [(n.name, n.shape) for n in tr.nodes]
        [('x', (2, 3)), ('v1', (2, 3)), ('v2', ())]
        """
        if isinstance(self.value, tuple):
            return tuple(np.shape(v) for v in self.value)
        return self.value.shape if isinstance(self.value, Shape) else np.shape(self.value)

    @property
    def dtype(self) -> Any:
        """The dtype of the node's value (None for a primitive with several outputs).

        >>> tr = trace(lambda x: x * 2.0, np.ones(2, dtype=np.float32))
        >>> [n.dtype for n in tr.nodes]
        [dtype('float32'), dtype('float32')]
        """
        if isinstance(self.value, tuple):
            return None
        return self.value.dtype if isinstance(self.value, Shape) else np.asarray(self.value).dtype

    @property
    def primitive(self) -> Primitive | None:
        """The `chainrule.extend.Primitive` that computed the node (None for an input): its rules and formulas.

        >>> tr = trace(lambda x: x * 2.0, 1.5)
        >>> tr.nodes[0].primitive is None, tr.nodes[1].primitive.name, tr.nodes[1].primitive.formulas
        (True, 'multiply', ('{g} · {1}', '{g} · {0}'))
        """
        return self.vertex.primitive if isinstance(self.vertex, Node) else None

    def __repr__(self) -> str:
        shape = "" if isinstance(self.value, tuple) else " " + shape_text(self.shape)
        return f"<TraceNode {self.index}: {self.name} = {self.op}{shape}{'' if self.grad is None else ', with v̄'}>"


class Trace:
    """A recorded computation: nodes in topological order with values and error signals.

    Make one with :func:`trace` (run a function) or :meth:`Trace.from_tensor` (from a result you already
    have). ``print(trace.forward_text())`` and ``print(trace.backward_text())`` show the two passes;
    ``trace.to_dot()`` is the graph in Graphviz DOT; ``trace.render("graph.svg")`` draws it.

    >>> import chainrule.numpy as cnp
    >>> tr = trace(lambda x, y: cnp.sin(x * y) + x, 2.0, 3.0)
    >>> print(tr.forward_text())
    x  = 2
    y  = 3
    v1 = x · y = 6
    v2 = sin(v1) = -0.2794
    v3 = v2 + x = 1.721
    >>> print(tr.backward_text())
    v̄3 = 1
    v̄2 = v̄3 = 1
    v̄1 = v̄2 · cos(v1) = 0.9602
    ȳ  = v̄1 · x = 1.92
    x̄  = v̄1 · y + v̄3 = 2.881 + 1 = 3.881
    >>> tr.gradients
    {'x': array(3.88051086), 'y': array(1.92034057)}
    >>> [node.name for node in tr.inputs], tr.output.name
    (['x', 'y'], 'v3')
    """

    def __init__(self, nodes: list[TraceNode], output: TraceNode, *, modules: dict[tuple, str] | None = None,
                 constant_names: dict[int, str] | None = None, backward_done: bool = False) -> None:
        self.nodes = nodes
        self.output = output
        self.modules = modules or {}
        self._constant_names = constant_names or {}
        self.backward_done = backward_done
        self._by_name = {n.name: n for n in nodes}
        self.module_outputs: dict[tuple, int] = {}  # module path → index of the node it returned
        # for the loss-surface view of a function of two numbers: (a, b) ↦ loss, the point, the names
        self.surface_function: Callable[[float, float], float] | None = None
        self.surface_point: tuple[float, float] = (0.0, 0.0)
        self.surface_names: tuple[str, str] = ("w", "b")

    # ---- construction -------------------------------------------------------------------------------
    @classmethod
    def from_tensor(cls, result: Tensor, *, names: dict[str, Any] | None = None, model: Any = None,
                    seed: Any = None, output_name: str | None = None) -> Trace:
        """The trace of the graph that produced ``result`` (a Tensor), with error signals if it is a scalar
        (or ``seed`` is given). Names come from the tensors' ``name``, from ``names`` (``{"z": z, ...}``),
        from the parameters of ``model`` (a ``chainrule.nn.Module``), and otherwise from the caller's
        local variables. A graph keeps only the values its rules need (and small arrays, of up to 64
        elements); record it under :func:`keep_values` to see every forward value (others print as
        "not kept").

        >>> w = chainrule.tensor(0.5, requires_grad=True, name="w")
        >>> L = (w * 3.0) ** 2
        >>> Trace.from_tensor(L).nodes[-1].name
        'L'
        """
        if not isinstance(result, Tensor):
            raise TypeError(f"Trace.from_tensor: expected a chainrule Tensor, got {type(result).__name__}")
        if names is None:
            caller = sys._getframe(1)
            names = dict(caller.f_locals)
            for key, value in caller.f_globals.items():  # named constants defined at module level
                if isinstance(value, Tensor | np.ndarray):
                    names.setdefault(key, value)
        return _build(result, names, {}, {}, _parameter_names(model), seed, output_name)

    # ---- lookup -------------------------------------------------------------------------------------
    def __getitem__(self, name: str) -> TraceNode:
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"no node named {name!r} in the trace; names: {', '.join(self._by_name)}") from None

    def __len__(self) -> int:
        return len(self.nodes)

    def __iter__(self):
        return iter(self.nodes)

    @property
    def inputs(self) -> list[TraceNode]:
        """The leaves (inputs and parameters that require grad), in order.

        >>> tr = trace(lambda w, x: w * x + w, 2.0, 3.0)
        >>> [(n.name, float(n.value)) for n in tr.inputs]
        [('w', 2.0), ('x', 3.0)]
        """
        return [n for n in self.nodes if n.is_leaf]

    @property
    def gradients(self) -> dict[str, Any]:
        """``{leaf name: ∂L/∂leaf}`` (empty before a backward pass).

        >>> tr = trace(lambda w, x: w * x + w, 2.0, 3.0)
        >>> {name: float(g) for name, g in tr.gradients.items()}  # ∂/∂w = x + 1, ∂/∂x = w
        {'w': 4.0, 'x': 2.0}
        """
        return {n.name: n.grad for n in self.inputs if n.grad is not None}

    def children(self, node: TraceNode) -> list[TraceNode]:
        """The nodes that use ``node`` as an input.

        >>> tr = trace(lambda w, x: w * x + w, 2.0, 3.0)
        >>> [c.name for c in tr.children(tr["w"])], [c.name for c in tr.children(tr["v1"])]
        (['v1', 'v2'], ['v2'])
        """
        return [self.nodes[i] for i, _ in node.contributions] if node.contributions else \
            [n for n in self.nodes if node.index in n.parents]

    def __repr__(self) -> str:
        leaves = ", ".join(n.name for n in self.inputs)
        return (f"<Trace of {self.output.name}: {len(self.nodes)} nodes, inputs {leaves}"
                f"{', with error signals' if self.backward_done else ''}>")

    # ---- text ---------------------------------------------------------------------------------------
    def expression(self, node: TraceNode) -> str:
        """The operation that computed ``node``, with its inputs' names: ``w · x``, ``sin(v1)``.

        >>> import chainrule.numpy as cnp
        >>> tr = trace(lambda w, x: cnp.sin(w * x) + 1.0, 2.0, 3.0)
        >>> [tr.expression(n) for n in tr.nodes]
        ['input', 'input', 'w · x', 'sin(v1)', 'v2 + 1']
        """
        if node.is_leaf:
            return "input"
        vertex = node.vertex
        args = self._arg_texts(node)
        template = _INFIX.get(node.op)
        if template is not None and len(args) == template.count("{"):
            return template.format(*args)
        kwargs = ", ".join(f"{k}={v!r}" if isinstance(v, int | tuple) else f"{k}={constant_text(v)}"
                           for k, v in (vertex.kwargs or {}).items() if v is not None and v is not False)
        return f"{node.op}({', '.join(args)}{', ' + kwargs if kwargs else ''})"

    def _arg_texts(self, node: TraceNode, precision: int = 4) -> list[str]:
        vertex = node.vertex
        raw = vertex.args if vertex.args is not None else (None,) * (max(vertex.positions, default=-1) + 1)
        texts = []
        by_position = dict(zip(node.positions, node.parents, strict=True))
        for i, a in enumerate(raw):
            if i in by_position:
                texts.append(self.nodes[by_position[i]].name)
            elif id(a) in self._constant_names and isinstance(a, np.ndarray):
                texts.append(self._constant_names[id(a)])
            else:
                texts.append(constant_text(a, precision))
        if node.op == "select":
            texts = texts[:1] + [str(vertex.args[1]) if vertex.args is not None else "i"]
        return texts

    def forward_text(self, precision: int = 4, max_elements: int = 6) -> str:
        """The forward pass, one line per node in topological order: ``z = v1 + b = 0.5``.

        >>> import chainrule.numpy as cnp
        >>> print(trace(lambda x: cnp.exp(-x) * x, 2.0).forward_text(precision=3))
        x  = 2
        v1 = −x = -2
        v2 = exp(v1) = 0.135
        v3 = v2 · x = 0.271
        >>> print(trace(lambda x: (x * x).sum(), np.arange(10.0)).forward_text(max_elements=4))
        x  = ‹(10,), ‖·‖ = 16.88›
        v1 = x · x = ‹(10,), ‖·‖ = 123.8›
        v2 = sum(v1) = 285
        """
        width = max(len(n.name) for n in self.nodes)
        lines = []
        for node in self.nodes:
            value = array_text(node.value, precision, max_elements)
            if node.is_leaf:
                lines.append(f"{node.name:<{width}} = {value}")
            else:
                lines.append(f"{node.name:<{width}} = {self.expression(node)} = {value}")
        return "\n".join(lines)

    def backward_text(self, precision: int = 4, max_elements: int = 6) -> str:
        """The backward pass as the notes write it: one line per node in reverse topological order,
        ``v̄ = Σ_children v̄_child ∂child/∂v``, symbolically (each primitive's rule, names filled in) and
        numerically, e.g. ``w̄ = v̄1 · x + v̄2 · 2·w = 0.4567``.

        >>> import chainrule.numpy as cnp
        >>> print(trace(lambda x: cnp.exp(-x) * x, 2.0).backward_text(precision=3))
        v̄3 = 1
        v̄2 = v̄3 · x = 2
        v̄1 = v̄2 · exp(v1) = 0.271
        x̄  = -v̄1 + v̄3 · v2 = -0.271 + 0.135 = -0.135
        >>> trace(lambda x: 2 * x, np.ones(2)).backward_text()
        Traceback (most recent call last):
            ...
        ValueError: backward_text: this trace has no error signals (the output is not a scalar; pass seed= to
        trace the backward pass of a non-scalar output)
        """
        if not self.backward_done:
            raise ValueError("backward_text: this trace has no error signals (the output is not a scalar; "
                             "pass seed= to trace the backward pass of a non-scalar output)")
        width = max(len(bar(n.name)) for n in self.nodes)
        lines = []
        for node in reversed(self.nodes):
            name = bar(node.name).ljust(width)
            if node is self.output:
                lines.append(f"{name} = {array_text(node.grad, precision, max_elements)}")
                continue
            if node.grad is None:
                lines.append(f"{name} = 0   (no path to {self.output.name})")
                continue
            terms = [self.rule_text(self.nodes[child], node) for child, _ in node.contributions]
            line = f"{name} = {terms[0]}" + "".join(
                f" − {term[1:]}" if term.startswith("-") else f" + {term}" for term in terms[1:])
            values = [c for _, c in node.contributions]
            if len(values) > 1 and all(np.size(v) == 1 for v in values if not isinstance(v, tuple)):
                line += " = " + " + ".join(array_text(v, precision) for v in values).replace("+ -", "− ")
            lines.append(f"{line} = {array_text(node.grad, precision, max_elements)}")
        return "\n".join(lines)

    def rule_text(self, child: TraceNode, parent: TraceNode) -> str:
        """``v̄_child ∂child/∂parent`` written with the child's rule (``formulas``), e.g. ``z̄ · x``.

        A parent used twice by one child (``x · x``) gives a sum of both rules.

        >>> tr = trace(lambda w, x: w * x * w, 2.0, 3.0)
        >>> tr.rule_text(tr["v1"], tr["w"]), tr.rule_text(tr["v2"], tr["w"])
        ('v̄1 · x', 'v̄2 · v1')
        """
        primitive = child.primitive
        if child.op == "select":
            return bar(child.name) + " (into output " + self._arg_texts(child)[1] + ")"
        args = self._arg_texts(child)
        terms = []
        for position, p in zip(child.positions, child.parents, strict=True):
            if p != parent.index:
                continue
            formulas = primitive.formulas
            formula = formulas[0] if primitive.variadic and formulas else (
                formulas[position] if position < len(formulas) else None)
            if formula is None:
                terms.append(f"{bar(child.name)} · ∂{child.name}/∂{parent.name}")
                continue
            mapping = {"g": bar(child.name), "ans": child.name}
            mapping.update({str(i): a for i, a in enumerate(args)})
            simpler = simplified_rule(child.op, position, mapping, child.vertex.args)
            term = simpler if simpler is not None else \
                _FIELD.sub(lambda m, mapping=mapping: mapping.get(m.group(1), m.group(0)), formula)
            terms.append(_summed(term, parent, child))
        return " + ".join(terms)

    def gradient_text(self, precision: int = 6, max_elements: int = 6) -> str:
        """``∂L/∂x = ...`` for every input.

        >>> tr = trace(lambda w, x: w * x, 2.0, np.array([1.0, 2.0, 3.0]), seed=np.ones(3))
        >>> print(tr.gradient_text())
        ∂v1/∂w = 6
        ∂v1/∂x = [2, 2, 2]
        """
        lines = []
        for node in self.inputs:
            value = "0 (no path)" if node.grad is None else array_text(node.grad, precision, max_elements)
            lines.append(f"∂{self.output.name}/∂{node.name} = {value}")
        return "\n".join(lines)

    def __str__(self) -> str:
        parts = ["forward pass (topological order):", _indent(self.forward_text())]
        if self.backward_done:
            parts += ["backward pass (reverse topological order; v̄ = ∂" + self.output.name + "/∂v):",
                      _indent(self.backward_text())]
        return "\n".join(parts)

    # ---- pictures -----------------------------------------------------------------------------------
    def to_dot(self, *, show_values: bool | None = None, show_grads: bool = True, max_elements: int = 6,
               group_modules: bool = True, rankdir: str = "TB", precision: int = 4) -> str:
        """The graph in Graphviz DOT (a string; needs nothing installed). See :mod:`chainrule.viz._dot`.

        >>> tr = trace(lambda w, x: w * x, 2.0, 3.0)
        >>> dot = tr.to_dot()
        >>> dot.startswith("digraph"), dot.count("->")
        (True, 2)
        """
        from ._dot import to_dot

        return to_dot(self, show_values=show_values, show_grads=show_grads, max_elements=max_elements,
                      group_modules=group_modules, rankdir=rankdir, precision=precision)

    def render(self, path: str, **options: Any) -> str:
        """Write the graph to ``path``: ``.dot`` (always), ``.svg``/``.png``/``.pdf`` (needs the
        ``graphviz`` Python package and the Graphviz ``dot`` program). Returns ``path``.

        >>> import os, tempfile
        >>> tmp = tempfile.TemporaryDirectory()
        >>> tr = trace(lambda w, x: w * x, 2.0, 3.0)
        >>> path = tr.render(os.path.join(tmp.name, "graph.dot"), show_grads=False)
        >>> os.path.basename(path), open(path, encoding="utf-8").read().startswith("digraph")
        ('graph.dot', True)
        >>> tmp.cleanup()
        """
        from ._dot import render

        return render(self.to_dot(**options), path)

    def to_html(self, path: str, *, title: str | None = None, precision: int = 4, layout: str = "auto",
                surface: bool | None = None) -> str:
        """Write the backprop explorer to ``path``: one self-contained HTML file (no network) in which ← →
        step the forward pass and then the backward pass node by node, each error signal with its rule
        and numbers, and a click on a node shows its value, error signal, shape, formula and cost.
        ``layout``: "auto" (Graphviz's ``dot`` when installed, else the bundled layout) or "bundled".
        ``surface``: show the loss surface and descent path beside the graph (default: when the trace
        is of a function of two numbers). See :mod:`chainrule.viz._html`. Returns ``path``.

        >>> import os, tempfile
        >>> tr = trace(lambda w, b: (w * 2.0 + b - 1.0) ** 2, 0.5, 0.1)
        >>> page = tr.to_html(os.path.join(tempfile.mkdtemp(), "backprop.html"))
        >>> open(page, encoding="utf-8").read().count('class="node')   # w, b, w·2, +b, −1, ²
        6
        """
        from ._html import write_html

        svg = None
        if surface is None:  # by default only for small graphs: the surface re-evaluates the function ~1000 times
            surface = self.surface_function is not None and len(self.nodes) <= 200
        if surface:
            if self.surface_function is None:
                raise ValueError("to_html: surface=True needs a trace of a function of two numbers "
                                 "(trace(f, w, b) with scalar w and b)")
            from ._surface import surface_svg

            with np.errstate(all="ignore"):  # a surface may reach where the loss is nan/inf: drawn grey
                svg = surface_svg(self.surface_function, self.surface_point, self.surface_names)
        return write_html(self, path, title=title, precision=precision, layout=layout, surface=svg)

    def _repr_html_(self) -> str:
        """Jupyter: the explorer (in a sandboxed iframe) and the forward/backward table."""
        from ._rich import trace_html

        return trace_html(self)

    def _repr_svg_(self) -> str | None:
        """Inline SVG in Jupyter (None, i.e. text, when Graphviz's ``dot`` is not installed)."""
        from ._dot import dot_available, pipe

        if not dot_available():
            return None
        try:
            return pipe(self.to_dot(), "svg").decode("utf-8")
        except (ValueError, RuntimeError):  # past Graphviz's node limit or timeout: the HTML view remains
            return None


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


_BROADCASTING = {"add", "subtract", "multiply", "divide", "power", "maximum", "minimum", "where", "hypot",
                 "arctan2", "logaddexp", "fmax", "fmin"}


def _summed(term: str, parent: TraceNode, child: TraceNode) -> str:
    """A broadcast operand's term summed back to its shape, written out: the bias of a layer on a batch
    gets ``Σ over the batch of z̄`` (the notes' b̄ = Σₙ z̄ₙ), other broadcasts ``Σ over axes (…) of``."""
    if child.op not in _BROADCASTING or isinstance(child.value, tuple) or isinstance(parent.value, tuple):
        return term
    out, own = tuple(child.shape), tuple(parent.shape)
    if out == own or np.prod(own, dtype=int) == 1 and np.prod(out, dtype=int) == 1:
        return term
    padded = (1,) * (len(out) - len(own)) + own
    axes = tuple(k for k, (a, b) in enumerate(zip(padded, out, strict=True)) if a == 1 and b != 1)
    if not axes:
        return term
    wrapped = term if " " not in term else f"({term})"
    if axes == (0,) and len(out) >= 2:
        return f"Σ over the batch of {wrapped}"
    if len(axes) == len(out):
        return f"Σ of {wrapped}"
    return f"Σ over axes {axes} of {wrapped}"


# ---- recording ---------------------------------------------------------------------------------------------
class _Recorder:
    """A profile hook that watches one call of the traced function: which module was executing when each
    node was created (wrapping nothing), and the function's local variables when it returns."""

    def __init__(self, fun: Callable) -> None:
        target = inspect.unwrap(fun)
        self.code = getattr(target, "__code__", None) or getattr(type(target).__call__, "__code__", None)
        self.primitive_code = _python_call.__code__  # (the C engine calls it while a profiler runs)
        nn = sys.modules.get("chainrule.nn")
        self.module_type = getattr(nn, "Module", None)
        self.depth = 0
        self.locals: dict[str, Any] = {}
        self.stack: list[tuple[str, ...]] = []
        self.module_names: dict[int, str] = {}
        self.modules: dict[tuple, str] = {}
        self.parameter_names: dict[int, str] = {}
        self.stamps: dict[int, tuple[int, tuple]] = {}
        self.outputs: dict[int, tuple] = {}  # node → the module path whose call returned it
        self.constant_names: dict[int, str] = {}
        self.keep: list[Any] = []  # the named constants, alive while their ids are used
        self.counter = 0

    def __call__(self, frame, event, arg):
        code = frame.f_code
        if event == "return":
            if code is self.primitive_code:
                self._stamp(arg)
                return
            if code is self.code:
                self.depth -= 1
                if self.depth == 0:
                    self.locals = dict(frame.f_locals)
            if self.stack and code.co_name == "__call__" and frame.f_locals.get("self") is self.stack[-1][1]:
                path, _ = self.stack.pop()
                node = getattr(arg, "_node", None)
                if isinstance(node, Node):
                    self.outputs.setdefault(id(node), path)
        elif event == "call":
            if code is self.primitive_code:  # name constants from named Tensors: chainrule.tensor(0.1, name="λ")
                for a in frame.f_locals.get("args", ()):
                    if isinstance(a, Tensor) and a.name and not a.requires_grad:
                        self.constant_names.setdefault(id(a.data), a.name)
                        self.keep.append(a)
                return
            if code is self.code:
                self.depth += 1
            if self.module_type is not None and code.co_name == "__call__":
                module = frame.f_locals.get("self")
                if isinstance(module, self.module_type):
                    self._enter(module)

    def _enter(self, module: Any) -> None:
        if id(module) not in self.module_names:
            if not self.stack:  # the outermost module names its whole tree
                for name, sub in module.named_modules():
                    self.module_names.setdefault(id(sub), name)
                for name, p in module.named_parameters():
                    self.parameter_names.setdefault(id(p), name)
            else:
                self.module_names[id(module)] = type(module).__name__
        name = self.module_names[id(module)]
        label = f"{name}: {type(module).__name__}" if name else type(module).__name__
        extra = module.extra_repr() if hasattr(module, "extra_repr") else ""
        path = (self.stack[-1][0] if self.stack else ()) + (label,)
        self.modules.setdefault(path, f"{label}({extra})" if extra else label)
        self.stack.append((path, module))

    def _stamp(self, result: Any) -> None:
        path = self.stack[-1][0] if self.stack else ()
        for r in result if isinstance(result, tuple) else (result,):
            node = getattr(r, "_node", None)
            if not isinstance(node, Node):
                continue
            if node.primitive is _SELECT:  # a multi-output primitive: the node behind the selection first
                self._mark(node.parents[0], path)
            self._mark(node, path)

    def _mark(self, node: Node, path: tuple) -> None:
        if id(node) not in self.stamps:
            self.stamps[id(node)] = (self.counter, path)
            self.counter += 1


def _as_input(value: Any, name: str) -> Any:
    if isinstance(value, Tensor):
        return value
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float | np.number) or (isinstance(value, np.ndarray | list) and
                                                       np.asarray(value).dtype.kind in "iuf"):
        array = np.asarray(value)
        return Tensor(array.astype(np.float64) if array.dtype.kind in "iu" else array,
                      requires_grad=True, name=name)
    return value


def keep_values() -> _Switch:
    """Context manager: graphs recorded inside keep every forward value (and the source line of each
    operation), for :meth:`Trace.from_tensor`. :func:`trace` does this by itself.

    >>> w = chainrule.tensor(np.ones(100), requires_grad=True, name="w")
    >>> with keep_values():
    ...     loss = (w * 2.0).sum()
    >>> print(Trace.from_tensor(loss).forward_text().splitlines()[1])
    v1   = w · 2 = ‹(100,), ‖·‖ = 20›
    """
    return _Switch("debug", max(mode.debug, 1))


def trace(fun: Callable[..., Any], *args: Any, output_name: str | None = None, seed: Any = None,
          **kwargs: Any) -> Trace:
    """Run ``fun(*args, **kwargs)``, recording the graph, and return its :class:`Trace`.

    Numbers and float arrays among the arguments become Tensors that require grad, named after ``fun``'s
    parameters (or the keywords); Tensors are used as they are; anything else (a model, integer labels)
    is passed through. If the result is a scalar (or ``seed`` is given) the backward pass runs and every
    node gets its error signal. Intermediate nodes are named after ``fun``'s local variables where one
    holds them, otherwise v1, v2, ... in topological order. Operations executed inside a
    ``chainrule.nn.Module`` are grouped by module (for the picture).

    >>> tr = trace(lambda x: chainrule.numpy.cos(chainrule.numpy.sin(x ** 2) + 3 * x ** 2), 1.5)
    >>> tr.gradients["x"]     # dJ/dx = −sin(u)(2x cos(x²) + 6x)
    array(-6.74092...)
    """
    try:
        signature = inspect.signature(fun)
        bound = signature.bind_partial(*args)
        names = {}
        for pname, value in bound.arguments.items():
            kind = signature.parameters[pname].kind
            if kind is inspect.Parameter.VAR_POSITIONAL:
                names.update({id(v): f"{pname}{i + 1}" for i, v in enumerate(value)})
            else:
                names[id(value)] = pname
        positional_names = [names.get(id(a), f"x{i + 1}") for i, a in enumerate(args)]
    except (TypeError, ValueError):
        positional_names = [f"x{i + 1}" for i in range(len(args))]
    inputs = [_as_input(a, n) for a, n in zip(args, positional_names, strict=True)]
    keyword_inputs = {k: _as_input(v, k) for k, v in kwargs.items()}
    recorder = _Recorder(fun)
    previous = sys.getprofile()
    sys.setprofile(recorder)
    try:
        with keep_values():  # every value (and source line), not only what the rules need
            result = fun(*inputs, **keyword_inputs)
    finally:
        sys.setprofile(previous)
    if not isinstance(result, Tensor) or result._node is None and not result.requires_grad:
        raise ValueError(f"trace: {getattr(fun, '__name__', 'the function')} returned "
                         f"{type(result).__name__}, not a Tensor computed from its inputs; nothing to trace")
    names = dict(recorder.locals)
    for a, n in zip(inputs, positional_names, strict=True):
        names.setdefault(n, a)
    for k, v in keyword_inputs.items():
        names.setdefault(k, v)
    traced = _build(result, names, recorder.stamps, recorder.modules, recorder.parameter_names, seed, output_name,
                    recorder.outputs, recorder.constant_names)
    _attach_surface(traced, fun, args, inputs, kwargs)
    return traced


def _attach_surface(traced: Trace, fun: Callable, args: tuple, inputs: list, kwargs: dict) -> None:
    """A function of exactly two numbers with a scalar result gets the loss-surface view."""
    numbers = [k for k, (a, t) in enumerate(zip(args, inputs, strict=True))
               if t is not a and isinstance(t, Tensor) and t.data.size == 1]
    leaves = [n for n in traced.inputs if not isinstance(n.value, tuple) and np.size(n.value) >= 1]
    if len(numbers) != 2 or kwargs or len(leaves) != 2 or np.size(traced.output.value) != 1:
        return
    first, second = numbers

    def surface(a: Any, b: Any) -> Any:
        call = list(args)
        call[first], call[second] = a, b
        return fun(*call)

    traced.surface_function = surface
    traced.surface_point = (float(np.asarray(args[first])), float(np.asarray(args[second])))
    traced.surface_names = (traced.inputs[0].name, traced.inputs[1].name)


_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def layer_superscript(k: int) -> str:
    """``⁽¹⁾`` for layer 1: the notes number layers from 1 and write W⁽¹⁾, z⁽¹⁾, h⁽¹⁾."""
    return "⁽" + str(k).translate(_SUPERSCRIPT) + "⁾"


def _parameter_symbol(name: str, layers: dict[str, int] | None = None) -> str:
    """``0.weight`` → ``W⁽¹⁾``, ``2.bias`` → ``b⁽²⁾`` (the notes' W and b, layers numbered from 1 in the
    order they run: ``layers`` maps a module prefix to its layer); other names unchanged."""
    prefix, _, last = name.rpartition(".")
    symbol = {"weight": "W", "bias": "b"}.get(last)
    if symbol is None:
        return name
    if layers and prefix in layers:
        return symbol + layer_superscript(layers[prefix])
    return symbol + prefix.replace(".", "_")


def _layer_numbers(owners: set[str], module_outputs: dict[int, tuple], stamps: dict[int, tuple]) -> dict[str, int]:
    """Module prefix → layer number: each module with parameters starts a new layer (1, 2, ...), in the
    order the modules ran; a module without parameters (an activation) belongs to the layer before it."""
    layers: dict[str, int] = {}
    k = 0
    for _key, path in sorted((module_outputs or {}).items(), key=lambda item: stamps.get(item[0], (0,))[0]):
        prefix = path[-1].split(":")[0] if ":" in path[-1] else ""
        if not prefix or prefix in layers:
            continue
        if prefix in owners:
            k += 1
        layers[prefix] = max(k, 1)
    for prefix in sorted(owners - set(layers), key=lambda p: [int(t) if t.isdigit() else t for t in p.split(".")]):
        k += 1
        layers[prefix] = k
    return layers


def _parameter_names(model: Any) -> dict[int, str]:
    if model is None or not hasattr(model, "named_parameters"):
        return {}
    return {id(p): name for name, p in model.named_parameters()}


def _vertex(t: Tensor) -> Any:
    return t._node if t._node is not None else t


def _toposort(root: Any) -> list:
    """Parents before children, first arguments first (the order code written left to right runs in)."""
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        vertex, expanded = stack.pop()
        if expanded:
            order.append(vertex)
            continue
        if id(vertex) in visited:
            continue
        visited.add(id(vertex))
        stack.append((vertex, True))
        if isinstance(vertex, Node):
            stack.extend((p, False) for p in reversed(vertex.parents) if id(p) not in visited)
    return order


def _build(result: Tensor, local_names: dict[str, Any], stamps: dict[int, tuple[int, tuple]],
           modules: dict[tuple, str], parameter_names: dict[int, str], seed: Any,
           output_name: str | None, module_outputs: dict[int, tuple] | None = None,
           extra_constant_names: dict[int, str] | None = None) -> Trace:
    root = _vertex(result)
    order = _toposort(root)
    leaves = [v for v in order if not isinstance(v, Node)]
    rank = {}  # leaves in the order the function's arguments / the caller's variables name them
    for value in local_names.values():
        if isinstance(value, Tensor):
            rank.setdefault(id(_vertex(value)), len(rank))
    leaves.sort(key=lambda v: rank.get(id(v), len(rank)))
    inner = [v for v in order if isinstance(v, Node)]
    if inner and all(id(v) in stamps for v in inner):  # creation order: the order the code ran in
        inner.sort(key=lambda v: stamps[id(v)][0])
    order = leaves + inner
    # names: the tensors' own, the local variables, module parameters, then v1, v2, ...
    vertex_names: dict[int, str] = {}
    constant_names: dict[int, str] = dict(extra_constant_names or {})
    for v in order:
        own = getattr(v, "name", None)
        if own:
            vertex_names[id(v)] = own
    for name, value in local_names.items():
        if name.startswith("_") or name == "self":
            continue
        if isinstance(value, Tensor):
            vertex_names.setdefault(id(_vertex(value)), name)
            constant_names.setdefault(id(value.data), name)
        elif isinstance(value, np.ndarray):
            constant_names.setdefault(id(value), name)
    owners = {parameter_names[id(v)].rpartition(".")[0] for v in leaves if id(v) in parameter_names}
    layers = _layer_numbers(owners, module_outputs or {}, stamps)
    for v in leaves:
        if id(v) in parameter_names:
            vertex_names.setdefault(id(v), _parameter_symbol(parameter_names[id(v)], layers))
    if output_name and id(root) not in vertex_names:
        vertex_names[id(root)] = output_name
    for key, path in (module_outputs or {}).items():  # z⁽ᵏ⁾ for a layer with weights, h⁽ᵏ⁾ for the others
        prefix = path[-1].split(":")[0] if ":" in path[-1] else ""
        if prefix in layers:
            vertex_names.setdefault(key, ("z" if prefix in owners else "h") + layer_superscript(layers[prefix]))
    used: set[str] = set()
    final: dict[int, str] = {}
    for v in order:
        name = vertex_names.get(id(v))
        if name is not None:
            while name in used:
                name += "′"
            used.add(name)
            final[id(v)] = name
    counter = 0
    for v in order:
        if id(v) not in final:
            counter += 1
            while f"v{counter}" in used:
                counter += 1
            final[id(v)] = f"v{counter}"
            used.add(final[id(v)])
    index = {id(v): i for i, v in enumerate(order)}
    nodes = []
    for i, v in enumerate(order):
        if isinstance(v, Node):
            nodes.append(TraceNode(i, final[id(v)], v.primitive.name, v, v.value,
                                   [index[id(p)] for p in v.parents], v.positions,
                                   stamps.get(id(v), (0, ()))[1]))
        else:
            module = ()
            pname = parameter_names.get(id(v))
            if pname is not None and "." in pname:
                prefix = pname.rsplit(".", 1)[0]
                module = next((path for path in modules if path and path[-1].split(":")[0] == prefix), ())
            elif pname is not None:
                module = next((path for path in modules if len(path) == 1), ())
            nodes.append(TraceNode(i, final[id(v)], "input", v, v.data, module=module))
    output = nodes[-1]
    trace_ = Trace(nodes, output, modules=modules, constant_names=constant_names)
    trace_.module_outputs = {path: index[key] for key, path in (module_outputs or {}).items() if key in index}
    if seed is None and np.size(output.value) == 1 and not isinstance(output.value, tuple):
        seed = np.ones_like(output.value)
    if seed is not None:
        _backward(trace_, order, np.asarray(seed, dtype=getattr(output.value, "dtype", None)))
    return trace_


def _backward(trace_: Trace, order: Sequence, seed: np.ndarray) -> None:
    """The backward pass, keeping every vertex's error signal and each child's contribution to it."""
    if any(isinstance(v, Node) and v.released for v in order):
        raise RuntimeError("trace: the graph's saved values were released by an earlier backward(); "
                           "call that backward(retain_graph=True), or trace before calling backward()")
    index = {id(v): i for i, v in enumerate(order)}
    signals: dict[Any, Any] = {order[-1]: seed}  # vertex → error signal (vertices hash by identity)
    with _Switch("grad_enabled", False):
        for vertex in reversed(order):
            g = signals.get(vertex)
            node = trace_.nodes[index[id(vertex)]]
            node.grad = _plain(g)
            if g is None or not isinstance(vertex, Node):
                continue
            local: dict[Any, Any] = {}
            _propagate(vertex, g, local, False)
            for parent, contribution in local.items():
                trace_.nodes[index[id(parent)]].contributions.append((node.index, _plain(contribution)))
                signals[parent] = _add(signals.get(parent), contribution)
    for node in trace_.nodes:  # children in topological order, as the notes sum them
        node.contributions.sort(key=lambda item: item[0])
    trace_.backward_done = True


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    if isinstance(value, Tensor):
        return value.data
    if isinstance(value, np.generic | float | int):
        return np.asarray(value)
    return value


def grads_of(trace_: Trace, names: Iterable[str]) -> list[Any]:
    """The error signals of the named nodes (a convenience for tests and examples)."""
    return [trace_[n].grad for n in names]


__all__ = ["Trace", "TraceNode", "trace", "number"]
