"""The backprop explorer: one self-contained HTML file to step through a :class:`Trace` in a browser.

``trace.to_html("backprop.html")`` writes a page with the computation graph (nodes are the computed values
v1 … vN in topological order, edges the "computed from" relation) laid out at write time by Graphviz when
its ``dot`` program is installed, else by the bundled layout (:mod:`chainrule.viz._layout`). Its script
and styles are inline: no server, no network, no fonts or libraries from elsewhere. In the page:

* → (or the ▶ button) steps the **forward pass** node by node, each value appearing, then the **backward
  pass** from v̄_N = 1 down, each error signal with its rule in the notes' notation and the numbers
  filled in; a node with several children shows the sum, its terms written on the edges they flow along;
* ← steps back, Home and End jump to the start and the end;
* hovering or clicking a node shows its value, error signal, shape, dtype, formula and cost;
* a trained network's page lists its layers with the norms of their error signals, and a trace of a
  function of two numbers shows its loss surface with the gradient-descent path beside the graph.

>>> import chainrule.numpy as cnp
>>> from chainrule.viz import trace
>>> page = explorer_html(trace(lambda x: cnp.sin(x) * x, 2.0))
>>> page.startswith("<!DOCTYPE html>") and "http" not in page.split("<body")[1]
True
"""

from __future__ import annotations

import html
import json
import math
import os
from typing import TYPE_CHECKING, Any

import numpy as np

from ._format import array_text, bar, number, shape_text
from ._layout import GRAPHVIZ_MAX_NODES, GRAPHVIZ_TIMEOUT, Layout, bundled_layout, graphviz_layout

if TYPE_CHECKING:
    from ._trace import Trace, TraceNode

#: The explorer draws at most this many nodes; a bigger graph is an error that says what to do.
MAX_NODES = 3000

_CHAR_WIDTH = 6.6   # px per character of the 11px monospace font used in node boxes
_LINE_HEIGHT = 14.0
_TEXT_LIMIT = 34    # characters per line in a node box (longer texts end with …)


def _short(text: str, limit: int = _TEXT_LIMIT) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _scalar(value: Any) -> float | None:
    """A one-element numeric value as a float (nan and inf included), else None."""
    if value is None or isinstance(value, tuple):
        return None
    array = np.asarray(value)
    if array.dtype.kind not in "biuf" or array.size != 1:
        return None
    return float(array.reshape(()))


def _json_number(value: float | None) -> float | str | None:
    """JSON has no nan/inf: those travel as strings."""
    if value is None:
        return None
    return value if math.isfinite(value) else number(value)


def _node_cost(node: TraceNode) -> tuple[int, int] | None:
    """(forward, backward) multiply-adds of the operation that computed ``node`` (None for an input)."""
    from .._graph import Node
    from ._cost import CATEGORIES, cost_category

    vertex = node.vertex
    if not isinstance(vertex, Node) or vertex.args is None:
        return None
    try:
        forward, per_operand = CATEGORIES[cost_category(vertex.primitive.name) or "elementwise"](vertex)
    except (TypeError, ValueError, IndexError, KeyError, AttributeError):
        return None
    return int(forward), int(per_operand) * len(vertex.positions)


def _non_finite(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, tuple):
        return any(_non_finite(v) for v in value)
    array = np.asarray(value)
    return array.dtype.kind in "fc" and not bool(np.all(np.isfinite(array)))


def explorer_data(trace: Trace, precision: int = 4) -> dict[str, Any]:
    """What the page shows, as plain data: one entry per node (texts already formatted) and the step
    order. The page's script only displays these; nothing is computed in the browser."""
    from .._graph import Shape

    nodes = []
    bad_values: list[int] = []  # nodes whose value is nan/inf while their inputs' are finite
    first_bad_grad = None
    for node in trace.nodes:
        kept = not isinstance(node.value, Shape)
        value_text = array_text(node.value, precision, 6)
        expression = "input" if node.is_leaf else trace.expression(node)
        forward = f"{node.name} = {value_text}" if node.is_leaf else f"{node.name} = {expression} = {value_text}"
        bad_value = kept and _non_finite(node.value)
        if bad_value and not any(_non_finite(trace.nodes[p].value) for p in node.parents):
            bad_values.append(node.index)
        entry: dict[str, Any] = {
            "i": node.index, "name": node.name, "bar": bar(node.name), "op": node.op, "leaf": node.is_leaf,
            "expr": expression, "shape": " ".join(shape_text(s) for s in node.shape)
            if isinstance(node.value, tuple) else shape_text(node.shape),
            "dtype": "" if node.dtype is None else str(node.dtype), "value": value_text,
            "num": _json_number(_scalar(node.value)) if kept else None, "forward": forward,
            "parents": sorted(set(node.parents)), "module": " / ".join(node.module),
            "cost": _node_cost(node), "bad": bool(bad_value),
        }
        nodes.append(entry)
    if trace.backward_done:
        for node in reversed(trace.nodes):
            entry = nodes[node.index]
            entry["grad"] = "0 (no path to the output)" if node.grad is None else \
                array_text(node.grad, precision, 6)
            entry["gnum"] = _json_number(_scalar(node.grad))
            terms = []
            for child, contribution in node.contributions:
                terms.append({"child": child, "rule": trace.rule_text(trace.nodes[child], node),
                              "value": array_text(contribution, precision, 6)})
            entry["terms"] = terms
            if node is trace.output:
                entry["backward"] = f"{bar(node.name)} = {entry['grad']}   (the output: v̄_N = 1)"
            elif node.grad is None:
                entry["backward"] = f"{bar(node.name)} = 0   (no path to {trace.output.name})"
            else:
                symbolic = " + ".join(t["rule"] for t in terms).replace("+ -", "− ")
                numeric = " + ".join(t["value"] for t in terms).replace("+ -", "− ")
                entry["backward"] = f"{bar(node.name)} = {symbolic}" + (
                    f" = {numeric}" if len(terms) > 1 else "") + f" = {entry['grad']}"
            bad = _non_finite(node.grad)
            entry["gbad"] = bool(bad)
            if bad and (first_bad_grad is None or node.index > first_bad_grad):
                children_bad = any(_non_finite(trace.nodes[c].grad) for c, _ in node.contributions)
                if not children_bad and node is not trace.output:
                    first_bad_grad = node.index
    notes = []
    for index in bad_values[:5]:
        n = trace.nodes[index]
        where = "" if n.is_leaf else f" = {nodes[index]['expr']}"
        notes.append(f"nan/inf arises in the forward pass at {n.name}{where} ({nodes[index]['value']})")
    if first_bad_grad is not None:
        bad = trace.nodes[first_bad_grad]
        notes.append(f"nan/inf arises in the backward pass at {bar(bad.name)} = {nodes[bad.index]['grad']}")
    return {"nodes": nodes, "output": trace.output.index, "backward": trace.backward_done, "notes": notes,
            "outputName": trace.output.name}


def _box_lines(entry: dict[str, Any]) -> list[str]:
    lines = [entry["name"]]
    if not entry["leaf"]:
        lines.append(_short(entry["expr"]))
    lines.append(_short(entry["shape"] + " " + entry["dtype"]))
    lines.append(_short("= " + entry["value"]))
    if "grad" in entry:
        lines.append(_short(entry["bar"] + " = " + entry["grad"]))
    return lines


def _box_size(entry: dict[str, Any]) -> tuple[float, float]:
    lines = _box_lines(entry)
    width = max(len(line) for line in lines) * _CHAR_WIDTH + 18
    return max(width, 56.0), len(lines) * _LINE_HEIGHT + 10


def layout_for(trace: Trace, data: dict[str, Any], engine: str = "auto", *, timeout: float = GRAPHVIZ_TIMEOUT,
               max_nodes: int = GRAPHVIZ_MAX_NODES) -> Layout:
    """The layout of the explorer's graph: ``engine`` "graphviz" (falls back to the bundled layout, with
    a note, when dot is missing, slow or the graph is big), "bundled", or "auto" (= "graphviz")."""
    if engine not in ("auto", "graphviz", "bundled"):
        raise ValueError(f"to_html: layout must be 'auto', 'graphviz' or 'bundled'; got {engine!r}")
    boxes = {e["i"]: _box_size(e) for e in data["nodes"]}
    edges = [(p, e["i"]) for e in data["nodes"] for p in e["parents"]]
    groups = {node.index: node.module for node in trace.nodes if node.module}
    if engine == "bundled":
        return bundled_layout(boxes, edges, groups)
    return graphviz_layout(boxes, edges, groups, timeout=timeout, max_nodes=max_nodes)


def _svg(trace: Trace, data: dict[str, Any], layout: Layout) -> str:
    esc = html.escape
    parts = [f'<svg id="graph" viewBox="0 0 {layout.width:.0f} '
             f'{layout.height:.0f}" width="{layout.width:.0f}" height="{layout.height:.0f}" role="img" '
             f'aria-label="computation graph">',
             '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="9" markerHeight="9" '
             'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="context-stroke"/></marker></defs>']
    for path, (x, y, w, h) in sorted(layout.clusters.items(), key=lambda item: len(item[0])):
        label = trace.modules.get(path, path[-1])
        parts.append(f'<g class="cluster"><rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" rx="8"/>'
                     f'<text x="{x + 8:.1f}" y="{y + 13:.1f}">{esc(_short(label, 60))}</text></g>')
    for (p, c), d in layout.edges.items():
        parts.append(f'<path class="edge" id="e{p}_{c}" d="{d}" marker-end="url(#arrow)"/>')
    for (p, c), d in layout.edges.items():  # the term a child sends back along this edge (backward pass)
        start = d.split(" ")[0][1:].split(",")
        end = d.split(" ")[-1].split(",")
        mx = (float(start[0]) + float(end[0])) / 2
        my = (float(start[1]) + float(end[1])) / 2
        parts.append(f'<text class="term" id="t{p}_{c}" x="{mx:.1f}" y="{my:.1f}"></text>')
    for entry in data["nodes"]:
        cx, cy, w, h = layout.nodes[entry["i"]]
        x, y = cx - w / 2, cy - h / 2
        classes = "node" + (" leaf" if entry["leaf"] else "") + (" output" if entry["i"] == data["output"] else "")
        shape = (f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" rx="{h / 2 if entry["leaf"] else 6:.1f}"/>')
        lines = _box_lines(entry)
        texts = []
        kinds = ["name"] + (["expr"] if not entry["leaf"] else []) + ["shape", "val"] + (["grad"] if "grad" in entry
                                                                                          else [])
        for k, (kind, line) in enumerate(zip(kinds, lines, strict=True)):
            texts.append(f'<text class="{kind}" x="{cx:.1f}" y="{y + 17 + k * _LINE_HEIGHT:.1f}">{esc(line)}</text>')
        attributes = f'data-i="{entry["i"]}"'
        if entry.get("gnum") is not None:
            attributes += f' data-grad="{entry["gnum"]}"'
        parts.append(f'<g class="{classes}" id="n{entry["i"]}" tabindex="-1" {attributes}>'
                     f'<title>{esc(entry["forward"])}</title>{shape}{"".join(texts)}</g>')
    parts.append("</svg>")
    return "".join(parts)


_STYLE = """
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2330;background:#f7f8fa}
header{padding:10px 16px;background:#1d2330;color:#fff}
header h1{font-size:17px;margin:0;font-weight:600;overflow-wrap:anywhere}
header p{margin:2px 0 0;font-size:13px;color:#c9d1e0}
main{display:flex;gap:12px;padding:12px;align-items:flex-start}
#graphbox{flex:1 1 60%;min-width:0;overflow:auto;background:#fff;border:1px solid #d8dce4;border-radius:8px;
 max-height:calc(100vh - 90px)}
#side{flex:0 0 min(420px,38%);display:flex;flex-direction:column;gap:12px;min-width:0}
.card{background:#fff;border:1px solid #d8dce4;border-radius:8px;padding:10px 12px;min-width:0}
.card h2{font-size:13px;margin:0 0 6px;text-transform:uppercase;letter-spacing:.04em;color:#5a6375}
#controls{display:flex;gap:8px;align-items:center;flex-wrap:wrap}
button{font:inherit;padding:6px 14px;border-radius:6px;border:1px solid #9aa3b5;background:#fff;cursor:pointer;
 min-width:44px;min-height:40px}
button:focus-visible{outline:3px solid #3b6fd8}
#phase{font-weight:600}
#line,.mono{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:13px;
 overflow-wrap:anywhere;white-space:pre-wrap}
#terms{margin:6px 0 0;padding:0;list-style:none}
#terms li{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:13px;padding:2px 6px;
 border-left:4px solid #d9822b;margin:3px 0;background:#fdf3e7;overflow-wrap:anywhere}
#details dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 10px;margin:0}
#details dt{color:#5a6375}
#details dd{margin:0;font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:13px;
 overflow-wrap:anywhere}
.notes{color:#9b1c1c;font-size:13px}
table{border-collapse:collapse;font-size:12px;width:100%}
td,th{padding:2px 6px;border-bottom:1px solid #e3e6ec;text-align:right;white-space:nowrap}
td:first-child,th:first-child{text-align:left}
.tablebox{overflow-x:auto}
svg text{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:11px;text-anchor:middle}
.node rect{fill:#fff;stroke:#7d8699;stroke-width:1.2}
.node.leaf rect{fill:#e4eefa}
.node.output rect{stroke-width:2.4}
.node .name{font-weight:700;font-size:12px}
.node .shape{fill:#6b7385}
.node .val,.node .grad{visibility:hidden}
.node .grad{fill:#b22222}
.node.known .val,.node.signal .grad{visibility:visible}
.node.known rect{fill:#eef7ee}
.node.leaf.known rect{fill:#d5e8fb}
.node.signal rect{fill:#fdeeee}
.node.bad .val,.node.gbad .grad{fill:#c00;font-weight:700}
.node.current rect{stroke:#3b6fd8;stroke-width:3.2}
.node.selected rect{stroke-dasharray:5 3}
.node{cursor:pointer}
.edge{fill:none;stroke:#9aa3b5;stroke-width:1.3}
.edge.active{stroke:#3b6fd8;stroke-width:2.6}
.edge.termedge{stroke:#d9822b;stroke-width:3}
.term{font-size:11px;fill:#9a4f06;font-weight:700;visibility:hidden;paint-order:stroke;stroke:#fff;stroke-width:3px}
.term.on{visibility:visible}
.cluster rect{fill:#fafafa;stroke:#8d95a5;stroke-dasharray:6 4}
.cluster text{text-anchor:start;fill:#5a6375;font-size:11px}
#surface svg{width:100%;height:auto;display:block;max-width:420px}
.caption{font-size:12px;color:#5a6375;margin:4px 0 0}
@media (max-width:760px){main{flex-direction:column}#side{flex-basis:auto;width:100%}
 #graphbox{width:100%;max-height:60vh}header h1{font-size:15px}}
"""

_SCRIPT = """
(function(){
const D=JSON.parse(document.getElementById('explorer-data').textContent);
const N=D.nodes.length, B=D.backward?N:0, LAST=N+B;
let step=0, selected=null;
const $=id=>document.getElementById(id);
const nodeEl=i=>$('n'+i);
function clearTerms(){document.querySelectorAll('.edge.active,.edge.termedge').forEach(e=>e.classList.remove('active','termedge'));
 document.querySelectorAll('.term.on').forEach(t=>{t.classList.remove('on');t.textContent='';});}
function txt(el,s){el.textContent=s;}
function show(){
 clearTerms();
 const fwd=Math.min(step,N), bwd=Math.max(0,step-N);
 D.nodes.forEach(n=>{const el=nodeEl(n.i), known=n.i<fwd, sig=n.i>=N-bwd;
  el.classList.toggle('known',known); el.classList.toggle('signal',sig);
  el.classList.toggle('bad',!!n.bad&&known); el.classList.toggle('gbad',!!n.gbad&&sig); el.classList.remove('current');});
 const terms=$('terms'); terms.innerHTML='';
 let current=null;
 if(step===0){txt($('phase'),'Start'); txt($('line'),'Press \u2192 to run the forward pass node by node'+(B?', then the backward pass.':'.'));}
 else if(step<=N){current=D.nodes[step-1];
  txt($('phase'),'Forward pass \u00b7 step '+step+' of '+N); txt($('line'),current.forward);
  current.parents.forEach(p=>{const e=$('e'+p+'_'+current.i); if(e) e.classList.add('active');});}
 else{current=D.nodes[N-1-(step-N-1)];
  txt($('phase'),'Backward pass \u00b7 step '+(step-N)+' of '+B); txt($('line'),current.backward);
  if(current.terms&&current.terms.length){
   if(current.terms.length>1){const li=document.createElement('li'); li.textContent='sum over its '+current.terms.length+' children:'; li.style.borderLeftColor='#fff'; li.style.background='none'; terms.appendChild(li);}
   current.terms.forEach(t=>{const c=D.nodes[t.child]; const li=document.createElement('li');
    li.textContent='from '+c.name+':  '+t.rule+' = '+t.value; terms.appendChild(li);
    const e=$('e'+current.i+'_'+t.child); if(e) e.classList.add('termedge');
    const lab=$('t'+current.i+'_'+t.child); if(lab){lab.textContent=t.value; lab.classList.add('on');}});}}
 $('current').dataset.i=current?current.i:'';
 $('current').dataset.phase=step===0?'start':(step<=N?'forward':'backward');
 if(current){const el=nodeEl(current.i); el.classList.add('current');
  if(!selected) details(current.i);
  if(el.scrollIntoView) el.scrollIntoView({block:'nearest',inline:'nearest'});}
 $('prev').disabled=step===0; $('next').disabled=step===LAST;
}
function row(dl,k,v){const dt=document.createElement('dt'); dt.textContent=k; const dd=document.createElement('dd'); dd.textContent=v; dl.appendChild(dt); dl.appendChild(dd);}
function details(i){const n=D.nodes[i]; const dl=$('dl'); dl.innerHTML='';
 const fwdDone=i<Math.min(step,N); const bwdDone=i>=N-Math.max(0,step-N);
 row(dl,'node',n.name+(n.leaf?' (input)':' = '+n.expr));
 row(dl,'shape',n.shape+' '+n.dtype);
 row(dl,'value',fwdDone?n.value:'(not computed yet: step forward)');
 if(D.backward) row(dl,'error signal',bwdDone?n.bar+' = '+n.grad:'(not computed yet)');
 if(D.backward&&n.backward) row(dl,'rule',n.backward);
 if(n.cost) row(dl,'cost',n.cost[0].toLocaleString('en')+' multiply-adds forward, '+n.cost[1].toLocaleString('en')+' backward');
 if(n.module) row(dl,'module',n.module);
 $('details').dataset.i=i;}
function go(s){step=Math.max(0,Math.min(LAST,s)); show();}
document.addEventListener('keydown',ev=>{
 if(ev.altKey||ev.ctrlKey||ev.metaKey) return;
 if(ev.key==='ArrowRight'||ev.key===' '&&!ev.shiftKey){go(step+1);ev.preventDefault();}
 else if(ev.key==='ArrowLeft'){go(step-1);ev.preventDefault();}
 else if(ev.key==='Home'){go(0);ev.preventDefault();}
 else if(ev.key==='End'){go(LAST);ev.preventDefault();}
 else if(ev.key==='Escape'){selected=null;document.querySelectorAll('.node.selected').forEach(e=>e.classList.remove('selected'));show();}});
$('next').addEventListener('click',()=>go(step+1)); $('prev').addEventListener('click',()=>go(step-1));
document.querySelectorAll('.node').forEach(el=>{const i=+el.dataset.i;
 el.addEventListener('mouseenter',()=>details(i));
 el.addEventListener('mouseleave',()=>{if(selected!==null) details(selected);});
 el.addEventListener('click',()=>{document.querySelectorAll('.node.selected').forEach(e=>e.classList.remove('selected'));
  if(selected===i){selected=null;}else{selected=i; el.classList.add('selected');} details(i);});});
window.explorer={go:go,step:()=>step,last:LAST,nodes:N};
show();
})();
"""


def _layer_table(trace: Trace, precision: int) -> str:
    rows = []
    for path, index in sorted(trace.module_outputs.items(), key=lambda item: item[1]):
        if len(path) < 2:
            continue
        node = trace.nodes[index]
        params = [n for n in trace.inputs if n.module == path and n.grad is not None]
        grads = ", ".join(f"‖{bar(p.name)}‖ = {number(np.linalg.norm(p.grad), precision)}" for p in params)
        signal = number(np.linalg.norm(node.grad), precision) if node.grad is not None else "–"
        rows.append(f"<tr><td>{html.escape(trace.modules.get(path, path[-1]))}</td><td>{html.escape(node.name)}</td>"
                    f"<td>{html.escape(shape_text(node.shape))}</td><td>{number(np.linalg.norm(node.value), precision)}"
                    f"</td><td>{signal}</td><td>{html.escape(grads)}</td></tr>")
    if not rows:
        return ""
    return ('<section class="card" id="layers"><h2>Layers</h2><div class="tablebox"><table><tr><th>layer</th>'
            '<th>output</th><th>shape</th><th>‖value‖</th><th>‖v̄‖</th><th>parameters</th></tr>'
            + "".join(rows) + "</table></div></section>")


def explorer_html(trace: Trace, *, title: str | None = None, precision: int = 4, layout: str = "auto",
                  surface: str | None = None, extra: str = "") -> str:
    """The explorer page for ``trace`` as a string (see the module's description). ``surface`` is an
    inline SVG (the loss-surface view) shown beside the graph; ``extra`` is HTML added to the side panel."""
    if len(trace.nodes) > MAX_NODES:
        raise ValueError(f"to_html: the graph has {len(trace.nodes)} nodes; the explorer draws at most {MAX_NODES} "
                         f"(trace a smaller example, a smaller batch or fewer terms)")
    data = explorer_data(trace, precision)
    drawing = layout_for(trace, data, layout)
    title = title or f"Backprop explorer: {trace.output.name}"
    notes = "".join(f"<p class='notes'>{html.escape(n)}</p>" for n in data["notes"])
    subtitle = (f"{len(trace.nodes)} nodes in topological order; → steps the forward pass"
                + (" then the backward pass (v̄ = ∂" + trace.output.name + "/∂v, the error signal of v)"
                   if trace.backward_done else "") + "; ← steps back; click a node for its details")
    payload = json.dumps(data, ensure_ascii=False, allow_nan=False).replace("</", "<\\/")
    layout_note = (f"<p class='mono' id='layout-note'>{html.escape(drawing.note)}</p>" if drawing.note else
                   "<p class='mono' id='layout-note'>laid out by Graphviz</p>")
    surface_card = (f'<section class="card" id="surface"><h2>Loss surface</h2>{surface}</section>' if surface else "")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>{_STYLE}</style></head>
<body>
<header><h1>{html.escape(title)}</h1><p>{html.escape(subtitle)}</p></header>
<main>
<div id="graphbox">{_svg(trace, data, drawing)}</div>
<div id="side">
<section class="card" id="current" data-i="" data-phase="start">
<div id="controls"><button id="prev" aria-label="previous step">◀</button>
<button id="next" aria-label="next step">▶</button><span id="phase"></span></div>
<div id="line" aria-live="polite"></div><ul id="terms"></ul>{notes}</section>
<section class="card" id="details" data-i=""><h2>Node</h2><dl id="dl"></dl></section>
{surface_card}{_layer_table(trace, precision)}{extra}
<section class="card"><h2>Keys</h2><p class="mono">→ / space: next step   ← : back   Home / End: start / end
Esc: release the selected node</p>{layout_note}</section>
</div></main>
<script type="application/json" id="explorer-data">{payload}</script>
<script>{_SCRIPT}</script>
</body></html>
"""


def write_html(trace: Trace, path: str | os.PathLike, **options: Any) -> str:
    """Write :func:`explorer_html` to ``path`` (UTF-8) and return the path as a string."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"cannot write {path}: the folder {folder} does not exist")
    text = explorer_html(trace, **options)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    return path
