"""Rich display in Jupyter: HTML for a Trace, a Tensor, a Module and a cost ledger.

Jupyter calls ``_repr_html_`` on the last value of a cell; these functions write that HTML (plain tables
with inline styles: no scripts, except the explorer inside a sandboxed ``<iframe>`` for a Trace).

>>> import chainrule
>>> x = chainrule.tensor([1.0, 2.0], requires_grad=True, name="x")
>>> html = tensor_html((x * x).sum())
>>> "grad_fn" in html and "sum" in html and "multiply" in html
True
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np

from ._format import bar, shape_text

_TABLE = 'style="border-collapse:collapse;font-size:12px"'
_CELL = 'style="padding:2px 8px;border-bottom:1px solid #ddd;text-align:left;font-family:monospace"'
_HEAD = 'style="padding:2px 8px;border-bottom:1px solid #999;text-align:left"'


def _table(header: list[str], rows: list[list[str]], caption: str = "") -> str:
    head = "".join(f"<th {_HEAD}>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td {_CELL}>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    title = f"<caption style='text-align:left;font-weight:600'>{html.escape(caption)}</caption>" if caption else ""
    return f"<table {_TABLE}>{title}<tr>{head}</tr>{body}</table>"


def _provenance(tensor: Any) -> str:
    """``multiply(x, v1)``: the operation that computed the tensor and what it was computed from."""
    node = tensor._node
    if node is None:
        return "leaf (requires grad)" if tensor.requires_grad else "leaf"
    if getattr(node, "released", False):
        return f"{node.primitive.name} (its graph was released by backward())"
    parents = []
    for parent in node.parents:
        name = getattr(parent, "name", None)
        if name:
            parents.append(name)
        elif hasattr(parent, "primitive"):
            parents.append(f"‹{parent.primitive.name}›")
        else:
            parents.append("‹leaf›")
    return f"{node.primitive.name}({', '.join(parents)})"


def tensor_html(tensor: Any) -> str:
    """A Tensor as HTML: name, shape, dtype, requires_grad, how it was computed (grad_fn), its values
    (abbreviated like NumPy's repr) and its ``.grad``."""
    values = np.array2string(tensor.data, separator=", ", threshold=60, edgeitems=3, precision=4)
    rows = [["shape", shape_text(tensor.data.shape)], ["dtype", str(tensor.data.dtype)],
            ["requires_grad", str(bool(tensor.requires_grad))], ["grad_fn", _provenance(tensor)],
            ["values", values]]
    if tensor.name:
        rows.insert(0, ["name", tensor.name])
    if getattr(tensor, "grad", None) is not None:
        rows.append(["grad", np.array2string(np.asarray(tensor.grad), separator=", ", threshold=60, precision=4)])
    return _table(["Tensor", ""], rows)


def module_html(module: Any) -> str:
    """A Module as HTML: one row per parameter (name, shape, count, requires_grad) and the total."""
    rows = [[name, shape_text(p.data.shape), f"{p.data.size:,}", str(bool(p.requires_grad))]
            for name, p in module.named_parameters()]
    total = sum(p.data.size for _, p in module.named_parameters())
    rows.append(["total", "", f"{total:,}", ""])
    summary = html.escape(repr(module).splitlines()[0] if repr(module) else type(module).__name__)
    return (f"<div><pre style='margin:0 0 4px'>{summary}</pre>"
            + _table(["parameter", "shape", "count", "requires_grad"], rows, f"{type(module).__name__}: "
                     f"{total:,} parameters") + "</div>")


def cost_html(cost: Any) -> str:
    """The cost ledger as HTML: one row per primitive (calls, forward and backward multiply-adds, their
    ratio) and the totals with the backward/forward ratio."""
    rows = [[r.primitive, r.category, f"{r.calls:,}", f"{r.forward:,}", f"{r.backward:,}",
             f"{r.backward / r.forward:.2f}" if r.forward else "–"] for r in cost.rows]
    rows.append(["total", "", "", f"{cost.forward:,}", f"{cost.backward:,}",
                 f"{cost.ratio:.2f}" if cost.forward else "–"])
    caption = f"multiply-adds: backward / forward = {cost.ratio:.2f}" if cost.forward else "multiply-adds"
    return _table(["primitive", "category", "calls", "forward", "backward", "ratio"], rows, caption)


def trace_html(trace: Any, *, explorer: bool = True, height: int = 620) -> str:
    """A Trace as HTML: the explorer in a sandboxed iframe (``explorer=True``), then the forward and the
    backward pass as a table, one row per node (value, error signal and the rule that computed it)."""
    from ._html import MAX_NODES, explorer_data, explorer_html

    data = explorer_data(trace)
    rows = [[n["name"], n["expr"], n["shape"], n["value"], n.get("grad", ""), n.get("backward", "")]
            for n in data["nodes"]]
    table = _table(["node", "computed as", "shape", "value", "error signal", "rule"], rows,
                   f"{len(trace.nodes)} nodes in topological order; error signals v̄ = ∂{trace.output.name}/∂v"
                   if trace.backward_done else f"{len(trace.nodes)} nodes in topological order")
    if not explorer or len(trace.nodes) > MAX_NODES:
        return table
    page = explorer_html(trace, title=f"Backprop explorer: {trace.output.name}")
    frame = (f'<iframe class="chainrule-explorer" sandbox="allow-scripts" style="width:100%;height:{height}px;'
             f'border:1px solid #ccc" srcdoc="{html.escape(page, quote=True)}"></iframe>')
    return frame + f"<p>Click into the explorer, then ← → step through the passes ({bar('v')} in red).</p>" + table
