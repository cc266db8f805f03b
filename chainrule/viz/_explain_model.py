"""``chainrule explain --model RUN``: one training example flowing through a trained network.

It relies on this minimal interface of the training stack (``chainrule.checkpoint``, ``chainrule.data``,
``chainrule.nn``):

* ``chainrule.checkpoint.load(path)`` → an object with ``.path``, ``.build_model()`` (a ``chainrule.nn.Module``
  with the trained weights), ``.info`` (a dict; ``info["config"]`` holds ``dataset``, ``target``,
  ``data_dir``, ``seed``, ``test_fraction`` and ``loss``) and ``.arrays`` (``"data/mean"``, ``"data/std"``:
  the feature standardisation of training);
* ``chainrule.data.load_dataset(name, target=, data_dir=, seed=, test_fraction=, standardize=False)`` → a split
  with ``x_test``, ``y_test``, ``task`` and ``classes``;
* ``chainrule.nn.get_loss(name)`` → ``loss(outputs, targets)``, a scalar Tensor.
"""

from __future__ import annotations

from typing import Any, TextIO

import numpy as np

from ._format import array_text, bar, number
from ._formula import ExplainError


def load_example(run: str, example: int = 0) -> dict[str, Any]:
    """The trained model, its loss function and one standardised test example from ``run``."""
    try:
        from chainrule import checkpoint, data, nn
    except ImportError as error:
        raise ExplainError(f"explain --model needs the training stack (chainrule.nn, chainrule.checkpoint, "
                         f"chainrule.data), which is not available: {error}") from None
    saved = checkpoint.load(checkpoint.resolve(run))
    config = saved.info.get("config")
    if not isinstance(config, dict) or "dataset" not in config:
        raise ExplainError(f"{saved.path}: not a checkpoint written by 'chainrule train' (no training configuration)")
    model = saved.build_model()
    model.eval()
    split = data.load_dataset(config["dataset"], target=config.get("target"), data_dir=config.get("data_dir"),
                              seed=config.get("seed", 0), test_fraction=config.get("test_fraction", 0.2),
                              standardize=False)
    x_all, y_all = split.x_test, split.y_test
    if not 0 <= example < len(x_all):
        raise ExplainError(f"--example {example} is out of range: the test split of {split.name} has "
                         f"{len(x_all)} examples (0 to {len(x_all) - 1})")
    x = np.asarray(x_all[example:example + 1], dtype=np.float64).reshape(1, -1)
    if "data/mean" in saved.arrays:
        x = (x - saved.arrays["data/mean"]) / saved.arrays["data/std"]
    task = saved.info.get("task", split.task)
    loss_name = config.get("loss") or ("cross-entropy" if task == "classification" else "squared-error")
    return {"model": model, "loss": nn.get_loss(loss_name), "loss_name": loss_name, "x": x,
            "t": y_all[example:example + 1], "task": task, "classes": saved.info.get("classes") or split.classes,
            "path": saved.path, "epoch": saved.info.get("epoch"), "dataset": split.name}


def explain_network(model: Any, loss_fn: Any, x: np.ndarray, t: Any) -> Any:
    """Trace ``loss_fn(model(x), t)`` for one example, the operations grouped by module."""
    import chainrule

    from ._trace import trace

    def example(x: chainrule.Tensor) -> chainrule.Tensor:
        y = model(x)
        L = loss_fn(y, t)
        return L

    return trace(example, chainrule.tensor(x, name="x"))


def layer_table(tr: Any, precision: int = 4) -> str:
    """One row per module (in the order they ran): output shape, ‖output‖, ‖error signal of the output‖ and
    the norms of its parameters' error signals."""
    header = f"{'layer':<34}{'output':<12}{'shape':<12}{'‖value‖':>11}{'‖v̄‖':>11}   parameter error signals"
    lines = [header, "-" * (len(header) + 12)]
    for path, index in sorted(tr.module_outputs.items(), key=lambda item: item[1]):
        if len(path) < 2:
            continue  # the whole model: its output is the network's output, listed by its last layer
        node = tr.nodes[index]
        params = [n for n in tr.inputs if n.module == path and n.grad is not None]
        grads = ", ".join(f"‖{bar(p.name)}‖ = {number(np.linalg.norm(p.grad), precision)}" for p in params)
        value = number(np.linalg.norm(node.value), precision)
        signal = number(np.linalg.norm(node.grad), precision) if node.grad is not None else "-"
        lines.append(f"{tr.modules.get(path, path[-1])[:33]:<34}{node.name:<12}{str(node.shape):<12}"
                     f"{value:>11}{signal:>11}   {grads}")
    return "\n".join(lines)


def explain_model(run: str, *, example: int = 0, graph: str | None = None, precision: int = 4,
                  show_grads: bool = True, out: TextIO, html: str | None = None) -> Any:
    """Print (to ``out``) one test example of the run flowing forward and its error signals flowing back,
    layer by layer; optionally draw the graph grouped by layer. Returns the trace."""
    loaded = load_example(run, example)
    tr = explain_network(loaded["model"], loaded["loss"], loaded["x"], loaded["t"])
    y = tr["y"].value if "y" in tr._by_name else None
    lines = [f"checkpoint: {loaded['path']}" + (f" (epoch {loaded['epoch']})" if loaded["epoch"] is not None else ""),
             f"model: {type(loaded['model']).__name__}, {sum(n.value.size for n in tr.inputs if n.name != 'x'):,} "
             f"parameters; loss: {loaded['loss_name']}",
             f"example {example} of the test split of {loaded['dataset']}: target {array_text(loaded['t'])}"]
    if y is not None and loaded["task"] == "classification" and np.ndim(y) == 2:
        predicted = int(np.argmax(y[0]))
        classes = loaded["classes"]
        label = classes[predicted] if classes and predicted < len(classes) else predicted
        lines[-1] += f", predicted class {label}"
    lines += [f"loss L = {number(tr.output.value, precision)}", "",
              "layers (forward value and error signal v̄ = ∂L/∂v of each layer's output):",
              layer_table(tr, precision), "",
              "forward pass (topological order):", _indent(tr.forward_text(precision, max_elements=4)), "",
              "backward pass (reverse topological order; v̄ = ∂L/∂v):",
              _indent(tr.backward_text(precision, max_elements=4))]
    if graph:
        tr.render(graph, show_grads=show_grads, precision=precision)
        lines += ["", f"wrote {graph}"]
    if html:
        tr.to_html(html, title=f"{loaded['dataset']}: example {example} through {type(loaded['model']).__name__}",
                   precision=precision)
        lines += ["", f"wrote {html}"]
    out.write("\n".join(lines) + "\n")
    return tr


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())
