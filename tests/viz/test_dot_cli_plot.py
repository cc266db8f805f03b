"""Pictures (DOT, SVG), the explain sub-command, the weight-space plot, and the examples."""

import argparse
import io
import os
import runpy
import shutil
import sys

import numpy as np
import pytest

import chainrule.numpy as cnp
from chainrule.viz import _dot, trace
from chainrule.viz._format import bar
from chainrule.viz.cli import register

HAS_DOT = shutil.which("dot") is not None
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def J(x):
    return cnp.cos(cnp.sin(x ** 2) + 3 * x ** 2)


def test_dot_output_parses_and_shows_names_ops_shapes_values_and_signals():
    graphviz = pytest.importorskip("graphviz")
    dot = trace(J, 1.5).to_dot()
    source = graphviz.Source(dot)
    assert source.source == dot
    assert dot.startswith("digraph chainrule {") and dot.rstrip().endswith("}")
    assert "sin(v1)" in dot and "() float64" in dot and "1.5" in dot and bar("x") in dot
    assert dot.count("->") == 7
    assert bar("x") not in trace(J, 1.5).to_dot(show_grads=False)


def test_large_tensors_collapse_to_their_shape():
    dot = trace(lambda W: (W * 2.0).sum(), np.ones((30, 40))).to_dot()
    assert "(30, 40) float64" in dot and "‖·‖" in dot and "[1, 1, 1" not in dot


@pytest.mark.skipif(not HAS_DOT, reason="Graphviz's dot program is not installed")
def test_renders_to_svg_when_dot_is_installed(tmp_path):
    tr = trace(J, 1.5)
    path = tr.render(str(tmp_path / "graph.svg"))
    with open(path) as handle:
        assert handle.read().lstrip().startswith(("<?xml", "<svg"))
    assert tr._repr_svg_().lstrip().startswith(("<?xml", "<svg"))


def test_without_dot_only_dot_files_are_written_and_the_error_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(_dot.shutil, "which", lambda name: None)
    tr = trace(J, 1.5)
    tr.render(str(tmp_path / "graph.dot"))
    assert (tmp_path / "graph.dot").read_text() == tr.to_dot()
    with pytest.raises(FileNotFoundError, match="apt-get install graphviz.*brew install graphviz.*conda"):
        tr.render(str(tmp_path / "graph.svg"))
    assert tr._repr_svg_() is None
    with pytest.raises(ValueError, match="extension"):
        tr.render(str(tmp_path / "graph.jpg2"))


def _explain(*argv):
    parser = argparse.ArgumentParser(prog="chainrule")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["explain", *argv])
    out = io.StringIO()
    assert args.func(args, out=out) == 0
    return out.getvalue()


def test_explain_prints_forward_backward_and_gradient(tmp_path):
    text = _explain("cos(sin(x**2) + 3*x**2)", "--at", "x=1.5", "--name", "J", "--graph", str(tmp_path / "j.dot"))
    lines = text.splitlines()
    assert lines[0] == "J = cos(sin(x**2) + 3*x**2)   at x = 1.5"
    assert "  v2 = sin(v1) = 0.7781" in lines
    assert f"  {bar('J')}  = 1" in lines
    # x² is one node, as in the notes: its error signal is the fan-out sum, x̄ is one simplified rule
    assert "  v1 = x^2 = 2.25" in lines and "  v3 = 3 · v1 = 6.75" in lines and lines.count("  v1 = x^2 = 2.25") == 1
    assert f"  {bar('v1')} = {bar('v2')} · cos(v1) + {bar('v3')} · 3 = 0.5951 − 2.842 = -2.247" in lines
    assert f"  {bar('x')}  = {bar('v1')} · 2·x = -6.741" in lines
    assert "  ∂J/∂x = -6.74092" in lines
    assert (tmp_path / "j.dot").read_text().startswith("digraph")


def test_explain_quiz_with_several_variables():
    text = _explain("exp(x*z) + x*z/log(x) + sin(log(x))/(x*z)", "--at", "x=2,z=3", "--name", "y")
    assert "  ∂y/∂x = 1208.38" in text and "  ∂y/∂z = 809.707" in text
    lines = text.splitlines()  # xz and log(x) are one node each, with three and two children
    assert lines.count("  v1 = x · z = 6") == 1 and lines.count("  v3 = log(x) = 0.6931") == 1
    assert "x · z" not in text.split("v1 = x · z = 6", 1)[1] and text.count("log(x) =") == 1
    assert f"  {bar('v1')} = {bar('v2')} · exp(v1) + {bar('v4')} / v3 − {bar('v7')} · v6 / v1² = 403.4 + 1.443 − " \
           f"0.01775 = 404.9" in lines


def test_explain_named_intermediates_and_wrt_give_the_notes_names(tmp_path):
    text = _explain("z = w*x + b; y = sigmoid(z); L = 0.5*(y - t)**2; R = 0.5*w**2; Lreg = L + lam*R",
                    "--at", "w=0.5,x=2,b=-0.5,t=1,lam=0.1", "--wrt", "w,b", "--html", str(tmp_path / "l.html"))
    lines = text.splitlines()
    assert f"  {bar('z')}    = {bar('y')} · σ(z)(1 - σ(z)) = -0.08872" in lines
    assert f"  {bar('w')}    = {bar('v1')} · x + {bar('v4')} · 2·w = -0.1774 + 0.05 = -0.1274" in lines
    assert f"  {bar('R')}    = {bar('v5')} · lam = 0.1" in lines
    for data in ("x", "t", "lam"):  # data: no error signal
        assert not any(line.lstrip().startswith(bar(data) + " ") for line in lines)
        assert f"∂Lreg/∂{data}" not in text
    assert "  ∂Lreg/∂w = -0.127447" in lines and "  ∂Lreg/∂b = -0.0887235" in lines
    assert (tmp_path / "l.html").read_text(encoding="utf-8").count('class="node') == 12
    with pytest.raises(ValueError, match="--wrt names q, which the formula does not use"):
        _explain("x*y", "--at", "x=1,y=2", "--wrt", "q")


@pytest.mark.parametrize("argv, message", [
    (["x.__class__", "--at", "x=1"], "attribute access is not allowed"),
    (["x*y", "--at", "x=1"], "no value for y: pass --at x=1.0,y=1.0"),
    (["x", "--at", "x=1,w=2"], "--at gives w"),
    ([], "nothing to explain"),
    (["x", "--model", "run"], "not both"),
])
def test_explain_errors_are_one_clear_line(argv, message):
    with pytest.raises(ValueError) as info:
        _explain(*argv)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_explain_model_missing_run_is_a_clear_error(tmp_path):
    checkpoint = pytest.importorskip("chainrule.checkpoint")
    with pytest.raises(checkpoint.CheckpointError, match="run folder or checkpoint not found"):
        _explain("--model", str(tmp_path / "nothing"))


def test_explain_model_shows_layers_and_error_signals(tmp_path):
    pytest.importorskip("chainrule.checkpoint")
    nn = pytest.importorskip("chainrule.nn")
    from chainrule import checkpoint

    net = nn.mlp([2, 3, 2], "tanh", rng=0)
    config = {"dataset": "xor", "seed": 0, "test_fraction": 0.2, "loss": "cross-entropy"}
    checkpoint.save(str(tmp_path / "model.safetensors"), net, info={"config": config, "epoch": 1,
                                                                     "task": "classification"})
    text = _explain("--model", str(tmp_path), "--example", "1", "--graph", str(tmp_path / "m.dot"),
                    "--html", str(tmp_path / "m.html"))
    page = (tmp_path / "m.html").read_text(encoding="utf-8")
    assert 'id="layers"' in page and "0: Linear" in page and 'class="cluster"' in page
    assert f"wrote {tmp_path / 'm.html'}" in text
    assert "0: Linear" in text and "2: Linear" in text and f"‖{bar('W⁽¹⁾')}‖" in text
    assert f"{bar('W⁽¹⁾')} = xᵀ" in text and "Σ over the batch of" not in text  # one example: no batch sum
    assert "cluster_" in (tmp_path / "m.dot").read_text()


def test_plot_descent_writes_the_picture_and_descends(tmp_path):
    pytest.importorskip("matplotlib")
    from chainrule.viz import plot_descent

    def loss(w, b):
        return 0.5 * (cnp.sigmoid(w * 1.0 + b) - 1.0) ** 2

    path = plot_descent(loss, (-2.0, -2.0), 5.0, 30, str(tmp_path / "descent.png"))
    assert path.shape == (31, 2) and os.path.getsize(tmp_path / "descent.png") > 10_000
    values = [float(loss(*p)) for p in path]
    assert values[-1] < values[0] and all(b <= a + 1e-12 for a, b in zip(values[:-1], values[1:], strict=True))


def test_plot_weights_for_run_needs_two_weights(tmp_path):
    pytest.importorskip("matplotlib")
    nn = pytest.importorskip("chainrule.nn")
    from chainrule.viz import plot_weights_for_run
    from chainrule.viz._plot import WeightPathRecorder

    model = nn.Sequential(nn.Linear(1, 1, rng=0), nn.Sigmoid())
    x = np.linspace(-2, 2, 20)[:, None]
    t = (x > 0).astype(float)
    recorder = WeightPathRecorder(model)
    before = [p.data.copy() for p in model.parameters()]
    plot_weights_for_run(model, nn.squared_error, x, t, recorder.points + [[1.0, 0.2]], str(tmp_path / "w.png"))
    assert os.path.getsize(tmp_path / "w.png") > 10_000
    for p, b in zip(model.parameters(), before, strict=True):
        np.testing.assert_array_equal(p.data, b)
    with pytest.raises(ValueError, match="exactly two weights"):
        WeightPathRecorder(nn.Linear(2, 1, rng=0))


@pytest.mark.parametrize("name, expected", [
    ("explain_cos_sin.py", "closed form: dJ/dx = −sin(u)(2x cos(x²) + 6x) = -6.74092"),
    ("explain_quiz.py", "dy/dx = 1208.38 (≈ 1208), dy/dz = 809.707 (≈ 810)"),
    ("explain_logistic_least_squares.py", "closed form: ∂L_reg/∂w = -0.127447, ∂L_reg/∂b = -0.0887235"),
    ("explain_mlp.py", "total"),
])
def test_examples_reproduce_the_worked_examples(name, expected, capsys, monkeypatch):
    monkeypatch.setattr(sys, "argv", [name])
    runpy.run_path(os.path.join(ROOT, "examples", name), run_name="__main__")
    out = capsys.readouterr().out
    assert expected in out
    if name != "explain_mlp.py":
        gradient = out.split("gradient:")[1].splitlines()[1]
        value = float(gradient.split("= ")[1])
        closed = out.split("closed form:")[1]
        assert f"{value:.6g}" in closed
