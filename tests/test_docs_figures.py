"""The course's SGD figure (docs/sgd-curves.png) is made by docs/_sgd_curves.py from a real training run:
re-run into a temporary folder, the script writes a PNG whose curves are a `fit` History computed here,
the losses the course page prints, and they fall."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest

import chainrule.nn as nn
import chainrule.optim as optim
from chainrule.data import load_dataset
from chainrule.train import fit

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "docs" / "_sgd_curves.py"


def _script():
    spec = importlib.util.spec_from_file_location("_sgd_curves", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_sgd_figure_plots_a_real_training_run(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    script = _script()
    out = tmp_path / "curves.png"
    history = script.train()
    figure = script.draw(history, str(out))
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000

    # the History of the course's run, computed here with chainrule's own training loop
    split = load_dataset("blobs", seed=0)
    model = nn.mlp([2, 16, 3], activation="tanh", rng=0)
    expected = fit(model, "cross-entropy", optim.SGD(model.parameters(), lr=0.1), (split.x_train, split.y_train),
                   (split.x_test, split.y_test), epochs=5, batch_size=32, seed=0, progress=False)
    train_line, test_line = figure.axes[0].get_lines()
    np.testing.assert_array_equal(train_line.get_xdata(), [1, 2, 3, 4, 5])
    np.testing.assert_allclose(train_line.get_ydata(), expected.column("train_loss"), rtol=1e-6)
    np.testing.assert_allclose(test_line.get_ydata(), expected.column("test_loss"), rtol=1e-6)
    assert np.all(np.diff(train_line.get_ydata()) < 0) and np.all(np.diff(test_line.get_ydata()) < 0)

    # ... and the numbers section 7 of the course prints, and the page shows the committed figure
    course = (ROOT / "docs" / "course.md").read_text(encoding="utf-8")
    printed = [(float(a), float(b)) for a, b in
               re.findall(r"^epoch \d+: train loss ([\d.]+), test loss ([\d.]+)$", course, re.M)]
    assert printed == [(round(a, 3), round(b, 3)) for a, b in zip(train_line.get_ydata(), test_line.get_ydata(),
                                                                     strict=True)]
    assert "](sgd-curves.png)" in course and (ROOT / "docs" / "sgd-curves.png").is_file()

    # the script run as a program writes the PNG where it is told to
    assert script.main([str(tmp_path / "again.png")]) == 0
    assert (tmp_path / "again.png").stat().st_size > 10_000
    assert capsys.readouterr().out.splitlines()[0] == "epoch 1: train loss 0.473, test loss 0.470"
