"""The backprop explorer (Trace.to_html): the page's content, its layouts, and a real browser stepping
through it (headless Chromium; those tests skip when chromium, chromedriver or selenium are missing)."""

import json
import re
import subprocess

import numpy as np
import pytest

import chainrule
import chainrule.numpy as cnp
from chainrule.viz import _layout, trace
from chainrule.viz._format import bar
from chainrule.viz._html import MAX_NODES, explorer_data, explorer_html
from chainrule.viz.cli import explain_formula

from ._browser import open_browser, press, regularised_logistic_trace, set_viewport


def _data(page: str) -> dict:
    payload = re.search(r'<script type="application/json" id="explorer-data">(.*?)</script>', page, re.S).group(1)
    return json.loads(payload.replace("<\\/", "</"))


def _number(text: str) -> float:
    """The number a node's text ends with: '… = -0.1274', or the norm in '‹(2, 3), ‖·‖ = 1.2›'."""
    found = re.findall(r"=\s*(-?(?:\d+(?:\.\d*)?(?:e[-+]?\d+)?|nan|inf))", text)
    assert found, text
    return float(found[-1])


# ---- the page, without a browser ---------------------------------------------------------------------------
def test_page_is_self_contained_and_carries_every_node(tmp_path):
    tr = regularised_logistic_trace()
    path = tr.to_html(str(tmp_path / "backprop.html"))
    with open(path, encoding="utf-8") as handle:
        page = handle.read()
    body = page.split("<body>", 1)[1]
    assert "http" not in body and "<link" not in page and " src=" not in page and "@import" not in page
    assert page.count('class="node') == len(tr)
    data = _data(page)
    assert [n["name"] for n in data["nodes"]] == [n.name for n in tr.nodes]
    for entry, node in zip(data["nodes"], tr.nodes, strict=True):
        assert entry["gnum"] == pytest.approx(float(node.grad))
        assert entry["num"] == pytest.approx(float(node.value))
    w = data["nodes"][tr["w"].index]
    assert [t["rule"] for t in w["terms"]] == [f"{bar('v1')} · x", f"{bar('v4')} · 2·w"]
    assert w["backward"] == f"{bar('w')} = {bar('v1')} · x + {bar('v4')} · 2·w = -0.1774 + 0.05 = -0.1274"
    assert data["nodes"][tr["v1"].index]["cost"] == [1, 1]  # w · x: only w needs its error signal
    assert data["nodes"][tr["z"].index]["cost"] == [1, 2] and w["cost"] is None
    assert 'id="surface"' in page and "<polyline" in page  # two numbers: the loss surface beside it


def test_both_layouts_place_every_node_and_edge(monkeypatch):
    tr = trace(lambda x, z: cnp.exp(x * z) + x * z / cnp.log(x), 2.0, 3.0)
    for engine in ("bundled", "graphviz"):
        page = explorer_html(tr, layout=engine)
        edges = {(p, n.index) for n in tr.nodes for p in n.parents}
        assert all(f'id="e{p}_{c}"' in page for p, c in edges)
    monkeypatch.setattr(_layout.shutil, "which", lambda name: None)
    assert "Graphviz&#x27;s dot is not installed" in explorer_html(tr)


def test_graphviz_past_its_limits_falls_back_with_a_message(monkeypatch):
    boxes = {i: (40.0, 20.0) for i in range(5)}
    edges = [(i, i + 1) for i in range(4)]
    if _layout.shutil.which("dot") is None:
        pytest.skip("Graphviz's dot is not installed")
    assert "5 nodes is more than Graphviz is given (3)" in _layout.graphviz_layout(boxes, edges, max_nodes=3).note

    def slow(*args, **kwargs):
        raise subprocess.TimeoutExpired("dot", kwargs.get("timeout"))

    monkeypatch.setattr(_layout.subprocess, "run", slow)
    lay = _layout.graphviz_layout(boxes, edges, timeout=0.5)
    assert lay.engine == "bundled" and "Graphviz took longer than 0.5 s" in lay.note
    assert all(lay.nodes[c][1] > lay.nodes[p][1] for p, c in edges)


def test_a_280_term_formula_is_drawn_quickly_by_the_bundled_layout(tmp_path):
    formula = " + ".join(f"sin({k}*x)*y" for k in range(1, 281))
    text = explain_formula(formula, {"x": 0.3, "y": 2.0}, html=str(tmp_path / "big.html"))
    page = (tmp_path / "big.html").read_text(encoding="utf-8")
    assert "wrote" in text and "more than Graphviz is given" in page
    with pytest.raises(ValueError, match="nodes; the explorer draws at most"):
        explorer_html(trace(lambda x: sum((x * float(k) for k in range(MAX_NODES)), x), 1.0))


def test_nan_and_inf_are_shown_where_they_arise(tmp_path):
    text = explain_formula("log(x) + 1/y", {"x": -1.0, "y": 0.0}, html=str(tmp_path / "nan.html"))
    assert "v1 = log(x) = nan" in text and "v2 = 1 / y = inf" in text
    assert "nan/inf arises in the forward pass at v1 = log(x) (nan)" in text
    assert f"nan/inf arises in the backward pass at {bar('y')} = -inf" in text
    with np.errstate(invalid="ignore"):
        data = explorer_data(chainrule.viz.trace(lambda x: cnp.log(x), -1.0))
    assert data["nodes"][1]["bad"] and data["nodes"][1]["value"] == "nan"
    json.dumps(data, allow_nan=False)


# ---- in a browser -------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def browser():
    try:
        driver = open_browser()
    except RuntimeError as error:  # selenium, chromium or chromedriver not installed
        pytest.skip(f"no headless browser: {error}")
    yield driver
    driver.quit()


def _state(driver) -> dict:
    return driver.execute_script("""
        const c = document.getElementById('current');
        const out = {i: c.dataset.i, phase: c.dataset.phase, line: document.getElementById('line').textContent,
                     grads: {}, values: {}, terms: [], edges: []};
        document.querySelectorAll('.node').forEach(el => {
            const g = el.querySelector('.grad'), v = el.querySelector('.val');
            if (g && getComputedStyle(g).visibility === 'visible') out.grads[el.dataset.i] = g.textContent;
            if (getComputedStyle(v).visibility === 'visible') out.values[el.dataset.i] = v.textContent;});
        document.querySelectorAll('.term.on').forEach(t => out.terms.push([t.id, t.textContent]));
        document.querySelectorAll('.edge.termedge').forEach(e => out.edges.push(e.id));
        return out;""")


def _step_through(driver, tr, tmp_path, name="page.html"):
    path = tr.to_html(str(tmp_path / name))
    driver.get("file://" + path)
    n = len(tr)
    assert _state(driver)["phase"] == "start"
    for k in range(n):  # the forward pass: values appear one node at a time, in topological order
        press(driver, "ARROW_RIGHT")
        state = _state(driver)
        assert state["phase"] == "forward" and int(state["i"]) == k
        assert sorted(map(int, state["values"])) == list(range(k + 1)) and not state["grads"]
    for k in range(n):  # the backward pass: v̄_N = 1 first, then reverse topological order
        press(driver, "ARROW_RIGHT")
        state = _state(driver)
        node = tr.nodes[n - 1 - k]
        assert state["phase"] == "backward" and int(state["i"]) == node.index
        assert sorted(map(int, state["grads"])) == list(range(n - 1 - k, n))
        box = state["grads"][str(node.index)]
        if np.size(node.grad) == 1 or np.size(node.grad) > 6:  # a number, or shape and norm
            shown = _number(box)
            expected = float(np.linalg.norm(node.grad)) if np.size(node.grad) > 6 else float(node.grad)
            assert shown == pytest.approx(expected, rel=1e-3, abs=1e-12), node.name
            assert _number(state["line"]) == pytest.approx(shown, rel=1e-3, abs=1e-12)
        else:  # a small array, written out (the box may cut it short)
            shown = [float(v) for v in re.findall(r"-?\d+(?:\.\d*)?(?:e[-+]?\d+)?", box.split("= ", 1)[1].rstrip("…"))]
            shown = shown[:-1] if box.endswith("…") else shown
            assert shown, box
            np.testing.assert_allclose(shown, np.ravel(node.grad)[:len(shown)], rtol=1e-3, atol=1e-12)
        children = [c for c, _ in node.contributions]
        assert sorted(state["edges"]) == sorted(f"e{node.index}_{c}" for c in children)
        if len(children) > 1:
            assert len(state["terms"]) == len(children)
    press(driver, "ARROW_RIGHT")  # past the end: nothing changes
    assert int(_state(driver)["i"]) == 0
    return driver


def test_stepping_forward_and_backward_with_the_keyboard(browser, tmp_path):
    tr = regularised_logistic_trace()
    _step_through(browser, tr, tmp_path)
    w = tr["w"]
    state = _state(browser)  # at the end: w̄ = v̄1 · x + v̄4 · 2·w, its two terms on their edges
    assert sorted(state["terms"]) == sorted([[f"t{w.index}_{tr['v1'].index}", "-0.1774"],
                                             [f"t{w.index}_{tr['v4'].index}", "0.05"]])
    press(browser, "ARROW_LEFT", 3)
    state = _state(browser)
    assert len(state["grads"]) == len(tr) - 3 and int(state["i"]) == 3
    press(browser, "HOME")
    assert _state(browser)["phase"] == "start" and not _state(browser)["values"]
    press(browser, "END")
    assert len(_state(browser)["grads"]) == len(tr)
    assert not [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0


def test_the_quiz_shares_xz_and_log_x_in_the_browser(browser, tmp_path):
    tr = trace(lambda x, z: cnp.exp(x * z) + x * z / cnp.log(x) + cnp.sin(cnp.log(x)) / (x * z), 2.0, 3.0)
    assert tr.gradients["x"] == pytest.approx(1208.38, rel=1e-5)
    _step_through(browser, tr, tmp_path, "quiz.html")


def test_a_network_on_a_batch_shows_norms_and_layers(browser, tmp_path):
    nn = pytest.importorskip("chainrule.nn")
    net = nn.mlp([3, 4, 2], "sigmoid", rng=0)
    x = chainrule.tensor(np.random.default_rng(0).normal(size=(5, 3)), name="x")
    tr = trace(lambda x: (net(x) ** 2).sum(), x)
    _step_through(browser, tr, tmp_path, "mlp.html")
    layers = browser.find_element("id", "layers").text
    w = next(n for n in tr.inputs if n.name.startswith("W") and n.grad is not None)
    assert f"‖{bar(w.name)}‖ = {float(np.linalg.norm(w.grad)):.4g}" in layers and "Linear(3 -> 4" in layers


def test_clicking_a_node_shows_its_details(browser, tmp_path):
    tr = regularised_logistic_trace()
    browser.get("file://" + tr.to_html(str(tmp_path / "click.html")))
    press(browser, "END")
    browser.find_element("id", f"n{tr['z'].index}").click()
    details = browser.find_element("id", "details").text
    assert "v1 + b" in details and "0.5" in details and f"{bar('z')} = -0.08872" in details
    assert "() float64" in details and "multiply-adds forward" in details


@pytest.mark.parametrize("width", [375, 1280])
def test_readable_at_phone_and_laptop_widths(browser, tmp_path, width):
    tr = regularised_logistic_trace()
    browser.get("file://" + tr.to_html(str(tmp_path / "wide.html")))
    set_viewport(browser, width, 800, mobile=width < 500)
    try:
        browser.refresh()
        sizes = browser.execute_script("""
            const g = document.getElementById('graphbox').getBoundingClientRect();
            const s = document.getElementById('side').getBoundingClientRect();
            return {scroll: document.documentElement.scrollWidth, inner: window.innerWidth,
                    graphBottom: g.bottom, sideTop: s.top, sideLeft: s.left, graphRight: g.right,
                    font: parseFloat(getComputedStyle(document.getElementById('line')).fontSize)};""")
        assert sizes["scroll"] <= sizes["inner"]  # nothing wider than the screen
        assert sizes["font"] >= 12
        if width < 500:
            assert sizes["sideTop"] >= sizes["graphBottom"]  # the panel moves below the graph
        else:
            assert sizes["sideLeft"] >= sizes["graphRight"]  # beside it
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


@pytest.mark.parametrize("width", [375, 1280])
def test_the_loss_surface_is_drawn_in_the_browser(browser, tmp_path, width):
    """Looked at, not only present: the surface is on screen inside its card, the red descent path runs
    inside the surface from the white start marker at the traced point, and the rendered pixels show the
    surface (many colours) with the marker white where the page puts it."""
    import matplotlib.image

    tr = regularised_logistic_trace()
    browser.get("file://" + tr.to_html(str(tmp_path / "surface.html")))
    set_viewport(browser, width, 900, mobile=width < 500)
    try:
        browser.refresh()
        svg = browser.find_element("css selector", "#surface svg")
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", svg)
        geometry = browser.execute_script("""
            const svg = document.querySelector('#surface svg'), box = svg.getBoundingClientRect();
            const path = document.getElementById('descent'), p = path.getBoundingClientRect();
            const start = svg.querySelector('circle[r="4.5"]').getBoundingClientRect();
            const m = svg.getScreenCTM(), n = path.points.length;
            const first = path.points.getItem(0), last = path.points.getItem(n - 1);
            return {box: [box.left, box.top, box.width, box.height], path: [p.left, p.top, p.right, p.bottom],
                    start: [start.left + start.width / 2, start.top + start.height / 2],
                    first: [m.a * first.x + m.e, m.d * first.y + m.f], last: [m.a * last.x + m.e, m.d * last.y + m.f],
                    length: path.getTotalLength(), inner: window.innerWidth, dpr: window.devicePixelRatio};""")
        left, top, w, h = geometry["box"]
        assert 150 <= w <= geometry["inner"] and h > 150 and left >= 0  # on screen, not squeezed, not cut off
        pl, pt, pr, pb = geometry["path"]
        assert left <= pl and pr <= left + w and top <= pt and pb <= top + h  # the path lies on the surface
        assert geometry["length"] > 10 and geometry["first"] != pytest.approx(geometry["last"], abs=1)
        assert geometry["start"] == pytest.approx(geometry["first"], abs=1)  # the marker is the path's start
        cells = browser.execute_script("""
            return Array.from(document.querySelectorAll('#surface rect'), r => {
                const b = r.getBoundingClientRect();
                return [r.getAttribute('fill'), b.left + b.width / 2, b.top + b.height / 2]; });""")
        fills = {fill for fill, _, _ in cells}
        assert len(cells) > 100 and len(fills) > 20  # a shaded surface, not a blank box
        png = tmp_path / "surface.png"
        svg.screenshot(str(png))
        pixels = matplotlib.image.imread(str(png))[..., :3]
        scale = pixels.shape[1] / w
        by_brightness = sorted(cells, key=lambda cell: sum(int(cell[0][i:i + 2], 16) for i in (1, 3, 5)))
        for fill, cx, cy in (by_brightness[0], by_brightness[-1]):  # the darkest and lightest cells, as rendered
            shown = pixels[int((cy - top) * scale), int((cx - left) * scale)]
            np.testing.assert_allclose(shown, [int(fill[i:i + 2], 16) / 255 for i in (1, 3, 5)], atol=0.06)
        x, y = (np.array(geometry["start"]) - [left, top]) * scale
        ring = pixels[int(y) - 1:int(y) + 2, int(x) - 1:int(x) + 2]
        assert ring.min() > 0.9  # white: the start marker is drawn where the point is
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_graphviz_refuses_a_huge_graph_with_a_clear_message(tmp_path):
    pytest.importorskip("graphviz")
    if _layout.shutil.which("dot") is None:
        pytest.skip("Graphviz's dot is not installed")
    tr = trace(lambda x: sum((cnp.sin(x * float(k)) for k in range(1, 281)), x), 0.3)
    with pytest.raises(ValueError, match=r"more than Graphviz is asked to draw \(400\); write a \.dot file"):
        tr.render(str(tmp_path / "big.svg"))
    tr.render(str(tmp_path / "big.dot"))


def test_without_chromium_the_browser_tests_skip_with_a_reason(monkeypatch):
    from . import _browser

    monkeypatch.setattr(_browser.shutil, "which", lambda name: None)
    pytest.importorskip("selenium")
    with pytest.raises(RuntimeError, match="chromium and chromedriver are not installed"):
        open_browser()


def test_float32_and_a_second_order_trace_are_drawn():
    tr = trace(lambda w: cnp.tanh(w * np.float32(3.0)).sum(), np.array([0.1, -0.2], dtype=np.float32))
    data = explorer_data(tr)
    assert all(n["dtype"] == "float32" for n in data["nodes"]) and tr["w"].grad.dtype == np.float32
    # the trace of a gradient recorded with create_graph: the backward pass of the backward pass
    w = chainrule.tensor(0.7, requires_grad=True, name="w")
    (cnp.sin(w) ** 2).backward(create_graph=True)
    first = w.grad                                   # dy/dw = 2 sin(w) cos(w), itself a graph
    second = chainrule.viz.Trace.from_tensor(first, names={"w": w})
    assert float(second.gradients["w"]) == pytest.approx(2 * np.cos(1.4))   # d²y/dw² = 2 cos(2w)
    page = explorer_html(second)
    assert _data(page)["nodes"][-1]["gnum"] == 1.0
