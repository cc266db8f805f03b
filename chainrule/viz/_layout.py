"""Where the explorer draws each node: Graphviz's layout when ``dot`` is installed, else a bundled one.

Both give a :class:`Layout`: a box per node (centre x, y, width, height; y grows downwards), a cubic
Bézier path per edge, and a rectangle per module box. The bundled layout is a small layered
(Sugiyama-style) drawing: a node's layer is one below its deepest parent, inputs sit just above their
first use, and the order inside each layer follows the mean position of the neighbours (a few sweeps up
and down), which keeps most edges short and uncrossed.

>>> boxes = {0: (60, 30), 1: (60, 30), 2: (80, 30)}
>>> lay = bundled_layout(boxes, [(0, 2), (1, 2)])
>>> lay.nodes[2][1] > lay.nodes[0][1]            # a child is drawn below its parents
True
>>> lay.engine
'bundled'
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass, field

#: Graphviz lays out at most this many nodes (beyond it, or past the timeout, the bundled layout is used).
GRAPHVIZ_MAX_NODES = 400
#: Seconds Graphviz may take before the bundled layout is used instead.
GRAPHVIZ_TIMEOUT = 10.0

_LAYER_GAP = 56.0
_NODE_GAP = 22.0
_MARGIN = 16.0


@dataclass
class Layout:
    """Node boxes ``{index: (cx, cy, w, h)}``, edge paths ``{(parent, child): "M ... C ..."}``, module
    boxes ``{path: (x, y, w, h)}``, the drawing's ``width``/``height``, the ``engine`` that made it
    ("graphviz" or "bundled") and a ``note`` saying why Graphviz was not used (empty when it was)."""

    nodes: dict[int, tuple[float, float, float, float]]
    edges: dict[tuple[int, int], str]
    width: float
    height: float
    engine: str
    clusters: dict[tuple, tuple[float, float, float, float]] = field(default_factory=dict)
    note: str = ""


def _bezier(x1: float, y1: float, x2: float, y2: float) -> str:
    middle = (y1 + y2) / 2
    return f"M{x1:.1f},{y1:.1f} C{x1:.1f},{middle:.1f} {x2:.1f},{middle:.1f} {x2:.1f},{y2:.1f}"


def _cluster_boxes(nodes: dict[int, tuple[float, float, float, float]],
                   groups: dict[int, tuple]) -> dict[tuple, tuple[float, float, float, float]]:
    """A rectangle around each module's nodes (and its sub-modules'), padded more for outer modules."""
    members: dict[tuple, list[int]] = {}
    for index, path in groups.items():
        for k in range(1, len(path) + 1):
            members.setdefault(path[:k], []).append(index)
    boxes = {}
    deepest = max((len(p) for p in members), default=0)
    for path, indices in members.items():
        pad = 8 + 8 * (deepest - len(path))
        x1 = min(nodes[i][0] - nodes[i][2] / 2 for i in indices) - pad
        x2 = max(nodes[i][0] + nodes[i][2] / 2 for i in indices) + pad
        y1 = min(nodes[i][1] - nodes[i][3] / 2 for i in indices) - pad - 14
        y2 = max(nodes[i][1] + nodes[i][3] / 2 for i in indices) + pad
        boxes[path] = (x1, y1, x2 - x1, y2 - y1)
    return boxes


def bundled_layout(boxes: dict[int, tuple[float, float]], edges: list[tuple[int, int]],
                   groups: dict[int, tuple] | None = None, note: str = "") -> Layout:
    """Lay out nodes ``boxes`` (``{index: (width, height)}``, indices in topological order) joined by
    ``edges`` (parent, child), top to bottom, without Graphviz."""
    order = sorted(boxes)
    parents: dict[int, list[int]] = {i: [] for i in order}
    children: dict[int, list[int]] = {i: [] for i in order}
    for p, c in edges:
        parents[c].append(p)
        children[p].append(c)
    layer: dict[int, int] = {}
    for i in order:  # topological order: parents are placed first
        layer[i] = 1 + max((layer[p] for p in parents[i]), default=-1)
    for i in reversed(order):  # an input sits just above its first use, not at the very top
        if not parents[i] and children[i]:
            layer[i] = max(0, min(layer[c] for c in children[i]) - 1)
    layers: dict[int, list[int]] = {}
    for i in order:
        layers.setdefault(layer[i], []).append(i)
    depth = max(layers) + 1 if layers else 0
    position = {i: float(k) for nodes in layers.values() for k, i in enumerate(nodes)}
    for sweep in range(6):  # barycentre ordering, alternately from the top and from the bottom
        downward = sweep % 2 == 0
        for level in (range(1, depth) if downward else range(depth - 2, -1, -1)):
            nodes = layers.get(level, [])
            def centre(i: int, downward: bool = downward) -> float:
                neighbours = parents[i] if downward else children[i]
                if not neighbours:
                    return position[i]
                return sum(position[n] for n in neighbours) / len(neighbours)
            nodes.sort(key=lambda i: (centre(i), position[i]))
            for k, i in enumerate(nodes):
                position[i] = float(k)
    # x: pack each layer, then centre it on the widest one
    x: dict[int, float] = {}
    widths = {}
    for level, nodes in layers.items():
        cursor = 0.0
        for i in nodes:
            w = boxes[i][0]
            x[i] = cursor + w / 2
            cursor += w + _NODE_GAP
        widths[level] = cursor - _NODE_GAP
    widest = max(widths.values(), default=0.0)
    for level, nodes in layers.items():
        shift = (widest - widths[level]) / 2
        for i in nodes:
            x[i] += shift
    heights = {level: max(boxes[i][1] for i in nodes) for level, nodes in layers.items()}
    y_top, cursor = {}, _MARGIN
    for level in range(depth):
        y_top[level] = cursor
        cursor += heights.get(level, 0.0) + _LAYER_GAP
    placed = {i: (x[i] + _MARGIN, y_top[layer[i]] + heights[layer[i]] / 2, *boxes[i]) for i in order}
    paths = {}
    for p, c in edges:
        px, py, _, ph = placed[p]
        cx, cy, _, ch = placed[c]
        paths[(p, c)] = _bezier(px, py + ph / 2, cx, cy - ch / 2)
    clusters = _cluster_boxes(placed, groups or {})
    width = widest + 2 * _MARGIN
    height = cursor - _LAYER_GAP + _MARGIN
    if clusters:  # module boxes may reach past the nodes
        left = min(0.0, min(b[0] for b in clusters.values()) - 4)
        top = min(0.0, min(b[1] for b in clusters.values()) - 4)
        if left < 0 or top < 0:
            placed = {i: (cx - left, cy - top, w, h) for i, (cx, cy, w, h) in placed.items()}
            paths = {k: _shift_path(v, -left, -top) for k, v in paths.items()}
            clusters = {k: (bx - left, by - top, bw, bh) for k, (bx, by, bw, bh) in clusters.items()}
        width = max(width - left, max(b[0] + b[2] for b in clusters.values()) + 4)
        height = max(height - top, max(b[1] + b[3] for b in clusters.values()) + 4)
    return Layout(placed, paths, width, height, "bundled", clusters, note)


def _shift_path(path: str, dx: float, dy: float) -> str:
    out = []
    for token in path.split(" "):
        command = token[0] if token[0].isalpha() else ""
        xs, ys = token[len(command):].split(",")
        out.append(f"{command}{float(xs) + dx:.1f},{float(ys) + dy:.1f}")
    return " ".join(out)


def graphviz_layout(boxes: dict[int, tuple[float, float]], edges: list[tuple[int, int]],
                    groups: dict[int, tuple] | None = None, *, timeout: float = GRAPHVIZ_TIMEOUT,
                    max_nodes: int = GRAPHVIZ_MAX_NODES) -> Layout:
    """Graphviz's ``dot`` layout of the same boxes, or :func:`bundled_layout` (with a ``note`` saying
    why) when ``dot`` is not installed, the graph has more than ``max_nodes`` nodes, or ``dot`` takes
    longer than ``timeout`` seconds."""
    groups = groups or {}
    dot = shutil.which("dot")
    if dot is None:
        return bundled_layout(boxes, edges, groups, "laid out by the bundled layout (Graphviz's dot is not "
                                                    "installed)")
    if len(boxes) > max_nodes:
        return bundled_layout(boxes, edges, groups, f"laid out by the bundled layout: {len(boxes)} nodes is "
                                                    f"more than Graphviz is given ({max_nodes})")
    lines = ["digraph g {", "  rankdir=TB; nodesep=0.3; ranksep=0.55;",
             '  node [shape=box, fixedsize=true, label=""];']
    paths = sorted({p[:k] for p in groups.values() for k in range(1, len(p) + 1)}, key=len)
    cluster_ids = {p: k for k, p in enumerate(paths)}
    inside: dict[tuple, list[str]] = {}
    for i, (w, h) in boxes.items():
        inside.setdefault(groups.get(i, ()), []).append(f"n{i} [width={w / 72:.3f}, height={h / 72:.3f}];")
    tree: dict[tuple, list[tuple]] = {}
    for p in paths:
        tree.setdefault(p[:-1], []).append(p)
    stack: list[tuple[tuple, bool]] = [((), False)]
    while stack:  # nested clusters, written without recursion
        path, closing = stack.pop()
        if closing:
            lines.append("}")
            continue
        if path:
            lines.append(f'subgraph cluster_{cluster_ids[path]} {{ label=" "; margin=10;')
            stack.append((path, True))
        lines.extend(inside.get(path, []))
        stack.extend((sub, False) for sub in reversed(tree.get(path, [])))
    lines.extend(f"n{p} -> n{c};" for p, c in edges)
    lines.append("}")
    try:
        completed = subprocess.run([dot, "-Tjson"], input="\n".join(lines), capture_output=True, text=True,
                                   timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return bundled_layout(boxes, edges, groups, f"laid out by the bundled layout: Graphviz took longer "
                                                    f"than {timeout:g} s")
    if completed.returncode != 0:
        message = completed.stderr.strip().splitlines()[-1:] or ["no message"]
        return bundled_layout(boxes, edges, groups, f"laid out by the bundled layout: Graphviz failed "
                                                    f"({message[0]})")
    return _from_graphviz_json(json.loads(completed.stdout), boxes, edges, cluster_ids)


def _from_graphviz_json(data: dict, boxes: dict[int, tuple[float, float]], edges: list[tuple[int, int]],
                        cluster_ids: dict[tuple, int]) -> Layout:
    x1, y1, x2, y2 = (float(v) for v in data["bb"].split(","))
    height = y2 - y1

    def point(text: str) -> tuple[float, float]:
        px, py = (float(v) for v in text.split(",")[:2])
        return px - x1 + _MARGIN, height - (py - y1) + _MARGIN

    nodes, clusters = {}, {}
    by_object: dict[int, int] = {}
    path_of = {f"cluster_{k}": p for p, k in cluster_ids.items()}
    for k, obj in enumerate(data.get("objects", [])):
        name = obj.get("name", "")
        if name.startswith("n") and name[1:].isdigit() and "pos" in obj:
            index = int(name[1:])
            cx, cy = point(obj["pos"])
            nodes[index] = (cx, cy, *boxes[index])
            by_object[k] = index
        elif name in path_of and "bb" in obj:
            bx1, by1, bx2, by2 = (float(v) for v in obj["bb"].split(","))
            left, top = point(f"{bx1},{by2}")
            clusters[path_of[name]] = (left, top, bx2 - bx1, by2 - by1)
    paths = {}
    for edge in data.get("edges", []):
        p, c = by_object.get(edge["tail"]), by_object.get(edge["head"])
        if p is None or c is None or "pos" not in edge:
            continue
        parts = [t for t in edge["pos"].split(" ") if not t.startswith(("e,", "s,"))]
        points = [point(t) for t in parts]  # a B-spline: p0, then three points per cubic piece
        if len(points) < 4:
            continue
        text = f"M{points[0][0]:.1f},{points[0][1]:.1f} C" + " ".join(f"{px:.1f},{py:.1f}" for px, py in points[1:4])
        for k in range(4, len(points) - 2, 3):
            text += " C" + " ".join(f"{px:.1f},{py:.1f}" for px, py in points[k:k + 3])
        paths[(p, c)] = text
    for p, c in edges:  # edges Graphviz did not route (should not happen): straight curves
        if (p, c) not in paths and p in nodes and c in nodes:
            px, py, _, ph = nodes[p]
            cx, cy, _, ch = nodes[c]
            paths[(p, c)] = _bezier(px, py + ph / 2, cx, cy - ch / 2)
    missing = set(boxes) - set(nodes)
    if missing:  # Graphviz dropped a node: use the bundled layout rather than draw a partial graph
        return bundled_layout(boxes, edges, {}, "laid out by the bundled layout: Graphviz's output was incomplete")
    return Layout(nodes, paths, x2 - x1 + 2 * _MARGIN, height + 2 * _MARGIN, "graphviz", clusters)
