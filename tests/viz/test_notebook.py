"""Jupyter rich display: the notebook in notebooks/ runs headlessly (nbclient + ipykernel) and each cell's
rich output is the HTML chainrule.viz._rich writes (skips when nbclient or ipykernel are missing)."""

import os
import re
from pathlib import Path

import numpy as np
import pytest

import chainrule
import chainrule.nn as nn
from chainrule.viz._rich import cost_html, module_html, tensor_html, trace_html

ROOT = Path(__file__).resolve().parents[2]


def test_rich_html_of_each_kind():
    x = chainrule.tensor([1.0, 2.0], requires_grad=True, name="x")
    y = (x * x).sum()
    page = tensor_html(y)
    assert "grad_fn" in page and "sum(‹multiply›)" in page and "<td" in page and "()" in page
    y.backward()
    assert "sum (its graph was released by backward())" in tensor_html(y)
    assert "[1.,2.]" in tensor_html(x).replace(" ", "") and "[2.,4.]" in tensor_html(x).replace(" ", "")
    net = nn.mlp([3, 4, 2], "tanh", rng=0)
    table = module_html(net)
    assert "0.weight" in table and "(3, 4)" in table and f"{net.num_parameters():,}" in table
    c = chainrule.cost(lambda W: (np.ones((2, 3)) @ W).sum(), np.ones((3, 4)))
    assert f"{c.ratio:.2f}" in cost_html(c) and "matmul" in cost_html(c)
    tr = chainrule.trace(lambda w: (w * 3.0) ** 2, 0.5)
    page = trace_html(tr)
    assert page.startswith("<iframe") and 'sandbox="allow-scripts"' in page and "srcdoc=" in page
    assert "w̄ = v̄1 · 3 = 9" in page.split("</iframe>", 1)[1]


def test_the_notebook_runs_and_shows_rich_outputs():
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    notebook = nbformat.read(ROOT / "notebooks" / "explore-backprop.ipynb", as_version=4)
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    client = nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(ROOT)}})
    client.km_kwargs = {"env": env} if hasattr(client, "km_kwargs") else None
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTHONPATH", env["PYTHONPATH"])
        client.execute()
    outputs = [c.outputs for c in notebook.cells if c.cell_type == "code"]
    html = [next((o["data"]["text/html"] for o in out if "data" in o and "text/html" in o["data"]), "")
            for out in outputs]
    assert all(html), "every code cell ends with a rich value"
    trace_cell, tensor_cell, module_cell, cost_cell = html
    assert "<iframe" in trace_cell and "explorer-data" in trace_cell and "w̄ = v̄1 · x + v̄4 · 2·w" in trace_cell
    assert "grad_fn" in tensor_cell and "sum(" in tensor_cell
    assert "9,610" in module_cell and "0.weight" in module_cell
    ratio = re.search(r"backward / forward = (\d\.\d\d)", cost_cell)
    assert ratio and 1.0 < float(ratio.group(1)) < 2.0
    assert not any(o.get("output_type") == "error" for out in outputs for o in out)
