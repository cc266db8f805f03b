"""The course companion's SGD figure, ``docs/sgd-curves.png``: the mean training and test loss after each
epoch of the run in section 7 of ``docs/course.md`` (the same data, model, optimiser and seed), trained by
chainrule's own `chainrule.train.fit` and drawn with matplotlib.

    python docs/_sgd_curves.py [OUT.png]      # default: docs/sgd-curves.png

``tests/test_docs_figures.py`` runs it into a temporary folder and checks that the curves it draws are a
real run's: they equal a `History` computed in the test and the numbers the course page prints.
"""

from __future__ import annotations

import os
import sys
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(ROOT, "docs", "sgd-curves.png")

#: the run of the course's section 7
DATASET, SIZES, ACTIVATION, LR, EPOCHS, BATCH_SIZE, SEED = "blobs", [2, 16, 3], "tanh", 0.1, 5, 32, 0


def train() -> Any:
    """The `History` of the course's SGD run: minibatch SGD on the blobs data, evaluated every epoch."""
    import chainrule.nn as nn
    import chainrule.optim as optim
    from chainrule.data import load_dataset
    from chainrule.train import fit

    split = load_dataset(DATASET, seed=SEED)
    model = nn.mlp(SIZES, activation=ACTIVATION, rng=SEED)
    return fit(model, "cross-entropy", optim.SGD(model.parameters(), lr=LR), (split.x_train, split.y_train),
               (split.x_test, split.y_test), epochs=EPOCHS, batch_size=BATCH_SIZE, seed=SEED, progress=False)


def draw(history: Any, path: str) -> Any:
    """Plot the train and test loss of ``history`` per epoch (each the mean over the whole set, after the
    epoch), write the PNG to ``path`` and return the Figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = history.column("epoch")
    fig, axis = plt.subplots(figsize=(6.4, 4.0))
    axis.plot(epochs, history.column("train_loss"), marker="o", label="training loss")
    axis.plot(epochs, history.column("test_loss"), marker="s", linestyle="--", label="test loss")
    axis.set(xlabel="epoch", ylabel="mean cross-entropy", xticks=epochs,
             title=f"SGD (Algorithm 1): {DATASET}, MLP {'-'.join(map(str, SIZES))} {ACTIVATION}, "
                   f"η = {LR}, batch {BATCH_SIZE}")
    axis.set_ylim(bottom=0)
    axis.grid(alpha=0.3)
    axis.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110, metadata={"Software": None})  # no version stamp: the file changes only with the curve
    plt.close(fig)
    return fig


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    path = args[0] if args else DEFAULT_OUT
    history = train()
    draw(history, path)
    for record in history.epochs:
        print(f"epoch {record['epoch']}: train loss {record['train_loss']:.3f}, test loss {record['test_loss']:.3f}")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, ROOT)  # this checkout's chainrule, not another installed one
    sys.exit(main())
