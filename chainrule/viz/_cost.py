"""Cost accounting: floating-point multiply-adds of the forward and the backward pass, per primitive.

The notes' rule of thumb: the forward pass costs one multiply-add per weight (per example), the backward
pass two (one for W̄ = z̄ hᵀ, one for h̄ = Wᵀ z̄), so backward ≈ 2× forward. :func:`cost` counts this from
the shapes of a recorded graph, with one rule per primitive in :data:`COST_RULES`:

==============  ========================================  =========================================
category        forward                                   backward, per differentiated operand
==============  ========================================  =========================================
elementwise     one per output element                    one per output element (ḡ · f′)
reduction       one per input element                     one per input element (broadcast ḡ)
matmul          m·k·n per (m,k)@(k,n), times the batch    the same (ḡ Bᵀ, or Aᵀ ḡ)
contraction     product of all index sizes (einsum)       the same
cubic           n³ per (n,n) matrix (factorisations)      n³ (approximate)
movement        0 (reshape, transpose, indexing: moves)   0
==============  ========================================  =========================================

A vertex whose error signal is a sum over k > 1 children also costs (k − 1)·size additions (the row
"Σ fan-out"). Primitives missing from the table whose name is a NumPy ufunc count as elementwise.

>>> import numpy as np
>>> c = cost(lambda A, B: (A @ B).sum(), np.ones((2, 3)), np.ones((3, 4)))
>>> c.forward, c.backward       # matmul 2·3·4 = 24 (+ 8 for the sum); backward 2·24 + 8
(32, 56)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._graph import Node, Shape, toposort
from .._registry import cost_categories
from .._tensor import Tensor


def _size(shape: tuple) -> int:
    return math.prod(shape)


def _shape(a: Any) -> tuple:
    """The shape of a saved value, or of what the graph kept of it (a ``Shape``)."""
    return tuple(a.shape) if isinstance(a, np.ndarray | Shape) else np.shape(a)


def _shapes(node: Node) -> list[tuple]:
    return [_shape(a) for a in node.args if isinstance(a, np.ndarray | Shape | np.number | float | int)]


def _out_size(node: Node) -> int:
    value = node.value
    return sum(_size(_shape(v)) for v in value) if isinstance(value, tuple) else _size(_shape(value))


def _elementwise(node: Node) -> tuple[int, int]:
    n = _out_size(node)
    return n, n


def _reduction(node: Node) -> tuple[int, int]:
    n = max((_size(s) for s in _shapes(node)), default=0)
    return n, n


def _movement(node: Node) -> tuple[int, int]:
    return 0, 0


def _matmul(node: Node) -> tuple[int, int]:
    a, b = (_shape(x) for x in node.args[:2])
    if len(a) == 1 and len(b) == 1:
        return a[0], a[0]
    k = a[-1]
    n = _out_size(node)  # batch · m · n output elements, each a k-term dot product
    return n * k, n * k


def _contraction(node: Node) -> tuple[int, int]:
    if node.primitive.name == "tensordot":
        from .._rules import _tensordot_axes

        a, b = _shape(node.args[0]), _shape(node.args[1])
        contracted, _ = _tensordot_axes(len(a), len(b), node.kwargs.get("axes", node.args[2] if len(node.args) > 2
                                                                        else 2))
        flops = _out_size(node) * _size(tuple(a[i] for i in contracted))
        return flops, flops
    subscripts, operands = node.args[0], node.args[1:]
    sizes: dict[str, int] = {}
    for term, operand in zip(subscripts.replace(" ", "").split("->")[0].split(","), operands, strict=False):
        letters = term.replace("...", "")
        shape = _shape(operand)
        for letter, size in zip(letters, shape[len(shape) - len(letters):], strict=False):
            sizes[letter] = size
    flops = math.prod(sizes.values()) if sizes else _out_size(node)
    return flops, flops


def _cubic(node: Node) -> tuple[int, int]:
    shape = _shape(node.args[0])
    n = shape[-1] if shape else 1
    flops = _size(shape[:-2]) * n ** 3
    if node.primitive.name == "solve":
        flops += _size(_shape(node.args[1])) * n
    return flops, flops


CATEGORIES: dict[str, Callable[[Node], tuple[int, int]]] = {
    "elementwise": _elementwise, "reduction": _reduction, "movement": _movement, "matmul": _matmul,
    "contraction": _contraction, "cubic": _cubic,
}

# Primitive name -> category: each primitive's ``cost=`` from its registration (chainrule/_registry.py), and
# the graph's own ``select`` (one output of a multi-output primitive).
COST_RULES: dict[str, str] = {**cost_categories(), "select": "movement"}


def cost_category(name: str) -> str | None:
    """The cost category of primitive ``name``: its table entry, ``"elementwise"`` for a NumPy ufunc
    name missing from the table, else None."""
    if name in COST_RULES:
        return COST_RULES[name]
    if isinstance(getattr(np, name, None), np.ufunc):
        return "elementwise"
    return None


@dataclass
class CostRow:
    """Counts for one primitive: number of calls, forward and backward multiply-adds."""

    primitive: str
    category: str
    calls: int = 0
    forward: int = 0
    backward: int = 0


@dataclass
class Cost:
    """Multiply-adds of a computation: ``forward``, ``backward`` (totals), ``ratio`` = backward / forward,
    and ``rows``, one per primitive (``str(cost)`` is the table).

    >>> c = cost(lambda W, b: (np.ones((8, 3)) @ W + b).sum(), np.ones((3, 2)), np.zeros(2))
    >>> c
    <Cost forward=80 backward=96 ratio=1.200>
    >>> print(c)
    primitive         category      calls        forward       backward   ratio
    ---------------------------------------------------------------------------
    matmul            matmul            1             48             48    1.00
    add               elementwise       1             16             32    2.00
    sum               reduction         1             16             16    1.00
    ---------------------------------------------------------------------------
    total                                             80             96    1.20
    >>> c.forward, c.backward, round(c.ratio, 3), c.by_primitive["matmul"].calls
    (80, 96, 1.2, 1)
    """

    forward: int
    backward: int
    rows: list[CostRow] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        """backward / forward multiply-adds (nan when there are none): 2 for a matrix product whose operands both
        need gradients, 1 when one of them is data.

        >>> round(cost(lambda x, W: x @ W, np.ones((16, 8)), np.ones((8, 4))).ratio, 3)
        2.0
        >>> x = chainrule.tensor(np.ones((16, 8)))  # data: no gradient
        >>> round(cost(lambda W: x @ W, np.ones((8, 4))).ratio, 3)
        1.0
        """
        return self.backward / self.forward if self.forward else math.nan

    @property
    def by_primitive(self) -> dict[str, CostRow]:
        """The rows by primitive name: ``cost.by_primitive["matmul"].forward``.

        >>> c = cost(lambda W, b: ((np.ones((4, 3)) @ W + b) ** 2).sum(), np.ones((3, 2)), np.zeros(2))
        >>> sorted(c.by_primitive)
        ['add', 'matmul', 'power', 'sum']
        >>> c.by_primitive["matmul"]
        CostRow(primitive='matmul', category='matmul', calls=1, forward=24, backward=24)
        """
        return {row.primitive: row for row in self.rows}

    def _repr_html_(self) -> str:
        """Jupyter: the ledger as an HTML table with the backward/forward ratio."""
        from ._rich import cost_html

        return cost_html(self)

    def __str__(self) -> str:
        header = f"{'primitive':<18}{'category':<13}{'calls':>6}{'forward':>15}{'backward':>15}{'ratio':>8}"
        lines = [header, "-" * len(header)]
        for row in self.rows:
            ratio = f"{row.backward / row.forward:.2f}" if row.forward else "-"
            lines.append(f"{row.primitive:<18}{row.category:<13}{row.calls:>6}{row.forward:>15,}"
                         f"{row.backward:>15,}{ratio:>8}")
        lines.append("-" * len(header))
        lines.append(f"{'total':<37}{self.forward:>15,}{self.backward:>15,}{self.ratio:>8.2f}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<Cost forward={self.forward:,} backward={self.backward:,} ratio={self.ratio:.3f}>"


def cost(fun: Callable[..., Any] | Tensor, *args: Any, **kwargs: Any) -> Cost:
    """Count the multiply-adds of ``fun(*args, **kwargs)``'s forward pass and of its backward pass.

    Arguments are converted as :func:`chainrule.viz.trace` does (numbers and float arrays become Tensors
    that require grad; pass ``chainrule.tensor(x)`` for an input that needs no gradient, e.g. the data).
    ``fun`` may also be a Tensor already computed: its recorded graph is counted.

    >>> x = chainrule.tensor(np.ones((32, 64)))                  # data: no gradient
    >>> c = cost(lambda W: (x @ W).sum(), np.ones((64, 10)))
    >>> c.by_primitive["matmul"].forward, c.by_primitive["matmul"].backward
    (20480, 20480)
    """
    from ._trace import _as_input

    if isinstance(fun, Tensor):
        result = fun
    else:
        inputs = [_as_input(a, f"x{i}") for i, a in enumerate(args)]
        result = fun(*inputs, **{k: _as_input(v, k) for k, v in kwargs.items()})
        if not isinstance(result, Tensor):
            raise ValueError(f"cost: the function returned {type(result).__name__}, not a Tensor")
    order = toposort([result._node if result._node is not None else result])
    rows: dict[str, CostRow] = {}
    uses: dict[int, int] = {}
    sizes: dict[int, int] = {}
    for vertex in order:
        if not isinstance(vertex, Node):
            sizes[id(vertex)] = vertex.data.size
            continue
        sizes[id(vertex)] = _out_size(vertex)
        name = vertex.primitive.name
        category = cost_category(name) or "elementwise"
        row = rows.setdefault(name, CostRow(name, category if name in COST_RULES or cost_category(name)
                                            else "unknown→elementwise"))
        forward, per_operand = CATEGORIES[category](vertex)
        row.calls += 1
        row.forward += forward
        row.backward += per_operand * len(vertex.positions)
        for parent in vertex.parents:
            uses[id(parent)] = uses.get(id(parent), 0) + 1
    fan_out = sum((k - 1) * sizes[key] for key, k in uses.items() if k > 1)
    ordered = sorted(rows.values(), key=lambda r: (-(r.forward + r.backward), r.primitive))
    if fan_out:
        ordered.append(CostRow("Σ fan-out", "accumulate", sum(k - 1 for k in uses.values() if k > 1), 0, fan_out))
    return Cost(sum(r.forward for r in ordered), sum(r.backward for r in ordered), ordered)
