"""Graphviz output: the DOT text (no dependency), and SVG/PNG through the ``graphviz`` package.

Nodes show name, operation, shape and dtype, the value when the tensor is small and, optionally, the error
signal v̄ (in red). Edges follow the data (parent → child). Operations run inside a ``chainrule.nn.Module``
are drawn inside a box labelled with the module; large tensors collapse to their shape.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
from typing import TYPE_CHECKING, Any

from ._format import array_text, bar, shape_text

if TYPE_CHECKING:
    from ._trace import Trace, TraceNode

INSTALL_DOT = ("Graphviz's 'dot' program is not installed, so only .dot files can be written. Install it "
               "with 'apt-get install graphviz' (Debian/Ubuntu), 'brew install graphviz' (macOS) or "
               "'conda install graphviz', or write a .dot file and render it elsewhere.")
INSTALL_PACKAGE = "the 'graphviz' Python package is needed for SVG/PNG output: pip install graphviz"
FORMATS = ("dot", "gv", "svg", "png", "pdf")


class GraphvizNotFound(FileNotFoundError):
    """Graphviz (the ``dot`` program or the ``graphviz`` Python package) is needed but not installed."""


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _shorten(text: str, limit: int = 48) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _label(trace: Trace, node: TraceNode, show_values: bool | None, show_grads: bool, max_elements: int,
           precision: int) -> str:
    rows = [f"<b>{_html(node.name)}</b>"]
    if not node.is_leaf:
        rows.append(_html(_shorten(trace.expression(node))))
    if isinstance(node.value, tuple):
        rows.append(_html(" ".join(shape_text(s) for s in node.shape)))
    else:
        rows.append(f'<font color="#555555">{_html(shape_text(node.shape))} {node.dtype}</font>')
        small = math.prod(node.shape) <= max_elements
        if show_values or (show_values is None and small):
            rows.append(_html(_shorten(array_text(node.value, precision, max_elements if small else 0))))
    if show_grads and node.grad is not None:
        text = array_text(node.grad, precision, max_elements if show_values is not False else 0)
        rows.append(f'<font color="#b22222">{_html(bar(node.name))} = {_html(_shorten(text))}</font>')
    return "<" + "<br/>".join(rows) + ">"


def to_dot(trace: Trace, *, show_values: bool | None = None, show_grads: bool = True, max_elements: int = 6,
           group_modules: bool = True, rankdir: str = "TB", precision: int = 4) -> str:
    """The trace as a Graphviz DOT string.

    ``show_values``: None shows values of tensors with at most ``max_elements`` elements (others collapse
    to their shape), True always (abbreviated: shape and norm), False never. ``show_grads`` adds v̄ to each
    node. ``group_modules`` draws each ``nn.Module``'s operations in a labelled box.

    >>> from chainrule.viz import trace
    >>> print(trace(lambda x: x * x, 3.0).to_dot())     # doctest: +ELLIPSIS
    digraph chainrule {...
    """
    if rankdir not in ("TB", "LR", "BT", "RL"):
        raise ValueError(f"to_dot: rankdir must be TB, LR, BT or RL; got {rankdir!r}")
    lines = [
        "digraph chainrule {",
        f"  rankdir={rankdir};",
        '  graph [fontname="Helvetica", fontsize=11, labeljust=l];',
        '  node [shape=box, style="rounded,filled", fillcolor="#ffffff", fontname="Helvetica", fontsize=10];',
        '  edge [color="#444444", arrowsize=0.7];',
    ]
    statements: dict[tuple, list[str]] = {}
    for node in trace.nodes:
        attributes = [f"label={_label(trace, node, show_values, show_grads, max_elements, precision)}"]
        if node.is_leaf:
            attributes.append('shape=ellipse, fillcolor="#dbe9f6"')
        if node is trace.output:
            attributes.append('peripheries=2, fillcolor="#fdf2d0"')
        path = node.module if group_modules else ()
        statements.setdefault(path, []).append(f"n{node.index} [{', '.join(attributes)}];")
    # nested clusters: one per module path, children inside parents
    paths = sorted({p[:k] for p in statements for k in range(1, len(p) + 1)}, key=len)
    clusters = {p: i for i, p in enumerate(paths)}
    tree: dict[tuple, list[tuple]] = {}
    for p in paths:
        tree.setdefault(p[:-1], []).append(p)

    def emit(path: tuple, depth: int) -> None:  # depth is bounded by module nesting, not graph size
        pad = "  " * depth
        if path:
            label = trace.modules.get(path, path[-1])
            lines.append(f"{pad}subgraph cluster_{clusters[path]} {{")
            lines.append(f'{pad}  label=<{_html(label)}>; style="rounded,dashed"; color="#888888";')
        for statement in statements.get(path, []):
            lines.append(f"{pad}  {statement}" if path else f"  {statement}")
        for sub in tree.get(path, []):
            emit(sub, depth + 1)
        if path:
            lines.append(f"{pad}}}")

    emit((), 0)
    for node in trace.nodes:
        for parent, position in zip(node.parents, node.positions, strict=True):
            label = f' [label="{position}", fontsize=8]' if len(node.parents) > 1 and \
                node.parents.count(parent) > 1 else ""
            lines.append(f"  n{parent} -> n{node.index}{label};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def dot_available() -> bool:
    """Whether Graphviz's ``dot`` program and the ``graphviz`` Python package are both installed."""
    if shutil.which("dot") is None:
        return False
    try:
        import graphviz  # noqa: F401
    except ImportError:
        return False
    return True


def pipe(dot: str, fmt: str, timeout: float | None = None) -> bytes:
    """Render DOT text to ``fmt`` (svg, png, pdf) with Graphviz's ``dot`` program, refusing graphs of
    more than :data:`~chainrule.viz._layout.GRAPHVIZ_MAX_NODES` nodes and stopping ``dot`` after
    ``timeout`` seconds (default :data:`~chainrule.viz._layout.GRAPHVIZ_TIMEOUT`), each with a clear
    message: Graphviz can take minutes on a graph of thousands of nodes."""
    from ._layout import GRAPHVIZ_MAX_NODES, GRAPHVIZ_TIMEOUT

    try:
        import graphviz  # noqa: F401  (the documented requirement; dot itself is run directly)
    except ImportError:
        raise GraphvizNotFound(INSTALL_PACKAGE) from None
    program = shutil.which("dot")
    if program is None:
        raise GraphvizNotFound(INSTALL_DOT)
    nodes = sum(1 for line in dot.splitlines() if line.lstrip().startswith("n") and " [label=" in line)
    if nodes > GRAPHVIZ_MAX_NODES:
        raise ValueError(f"the graph has {nodes} nodes, more than Graphviz is asked to draw "
                         f"({GRAPHVIZ_MAX_NODES}); write a .dot file, or use trace.to_html(...), whose bundled "
                         f"layout draws big graphs")
    timeout = GRAPHVIZ_TIMEOUT if timeout is None else timeout
    try:
        completed = subprocess.run([program, f"-T{fmt}"], input=dot.encode("utf-8"), capture_output=True,
                                   timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"Graphviz took longer than {timeout:g} s to draw {nodes} nodes; write a .dot file, "
                           f"or use trace.to_html(...)") from None
    if completed.returncode != 0:
        message = completed.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no message"]
        raise RuntimeError(f"Graphviz failed to draw the graph: {message[0]}")
    return completed.stdout


def render(dot: str, path: str) -> str:
    """Write ``dot`` to ``path``; the extension picks the format (.dot/.gv: the text itself)."""
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    if ext not in FORMATS:
        raise ValueError(f"cannot write a graph to {path!r}: the extension must be one of "
                         f"{', '.join('.' + f for f in FORMATS)}")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"cannot write {path}: the folder {folder} does not exist")
    data = dot.encode("utf-8") if ext in ("dot", "gv") else pipe(dot, ext)
    with open(path, "wb") as handle:
        handle.write(data)
    return path


def source(dot: str) -> Any:
    """A ``graphviz.Source`` for the DOT text (displays inline in Jupyter)."""
    try:
        import graphviz
    except ImportError:
        raise GraphvizNotFound(INSTALL_PACKAGE) from None
    return graphviz.Source(dot)
