"""Training with `chainrule.compile`: the same network trained eagerly and with compiled steps.

Two ways to compile a training step of a `chainrule.nn` model:

1. `chainrule.train.compiled_step(model, loss, optimizer)`: the forward and backward passes are traced
   once and replayed; the optimiser (any of `chainrule.optim`) runs as usual.
2. A pure step written by hand — the model as a function of its parameters (`nn.functional_call`), the
   update returning new arrays — compiled whole, with the parameters donated so the update is in place.

    python3 examples/compiled_training.py
"""

from __future__ import annotations

import time

import chainrule as cr
import chainrule.nn as nn
import chainrule.optim as optim
from chainrule.data import ArrayDataset, DataLoader, load_dataset
from chainrule.train import compiled_step, evaluate


def main(epochs: int = 5, verbose: bool = True) -> dict[str, float]:
    split = load_dataset("digits", seed=0)
    loss = nn.get_loss("cross-entropy")
    results = {}

    # 1. eager and compiled steps of the same model, from the same initial weights, with SGD
    for name in ("eager", "compiled"):
        model = nn.mlp([split.n_features, 128, split.n_outputs], "relu", rng=0)
        opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        step = compiled_step(model, loss, opt) if name == "compiled" else None
        loader = DataLoader(ArrayDataset(split.x_train, split.y_train), 32, shuffle=True, seed=0)
        started = time.perf_counter()
        for epoch in range(epochs):
            loader.set_epoch(epoch)
            for x, t in loader:
                if step is not None:
                    step(x, t)
                else:
                    opt.zero_grad()
                    loss(model(cr.tensor(x)), t).backward()
                    opt.step()
        seconds = time.perf_counter() - started
        results[name] = evaluate(model, loss, split.x_test, split.y_test)["accuracy"]
        if verbose:
            print(f"{name:>8}: {seconds:.2f} s for {epochs} epochs, test accuracy {results[name]:.2%}")

    # 2. a pure SGD step, compiled whole; the parameter arrays are donated and updated in place
    model = nn.mlp([split.n_features, 128, split.n_outputs], "relu", rng=0)

    def sgd_step(params, x, t, lr):
        value, grads = cr.value_and_grad(lambda ps: loss(nn.functional_call(model, ps, x), t))(params)
        return value, {name: params[name] - lr * grads[name] for name in params}

    step = cr.compile(sgd_step, donate_argnums=0)
    params = {name: p.data.copy() for name, p in model.named_parameters()}
    loader = DataLoader(ArrayDataset(split.x_train, split.y_train), 32, shuffle=True, seed=0)
    for epoch in range(epochs):
        loader.set_epoch(epoch)
        for x, t in loader:
            _, params = step(params, x, t, 0.1)
    model.load_state_dict(params)
    results["pure"] = evaluate(model, loss, split.x_test, split.y_test)["accuracy"]
    if verbose:
        print(f"    pure: test accuracy {results['pure']:.2%} (plain SGD, lr 0.1)")
    return results


if __name__ == "__main__":
    main()
