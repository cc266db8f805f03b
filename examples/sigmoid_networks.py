"""The notes' 1- and 2-hidden-layer networks with sigmoid units and a sigmoid output, trained with
Algorithm 1 (SGD with backprop) on cross-entropy, written out as the loop in the notes:

    for each epoch: for each minibatch: forward, backward, update;  evaluate mean train and test loss
"""

import numpy as np

import chainrule as cr
import chainrule.nn as nn
from chainrule.data import ArrayDataset, DataLoader, load_dataset


def train(hidden: list[int], epochs: int, lr: float, seed: int, verbose: bool) -> float:
    split = load_dataset("circles", seed=seed)
    t_train, t_test = split.y_train.reshape(-1, 1), split.y_test.reshape(-1, 1)
    layers = []
    for fan_in, fan_out in zip([split.n_features, *hidden[:-1]], hidden, strict=True):
        layers += [nn.Linear(fan_in, fan_out, rng=seed + fan_out), nn.Sigmoid()]   # a = αx, z = σ(a)
    model = nn.Sequential(*layers, nn.Linear(hidden[-1], 1, rng=seed))          # b = βz (the logit)
    loader = DataLoader(ArrayDataset(split.x_train, t_train), batch_size=10, shuffle=True, seed=seed)
    for epoch in range(epochs):                                                  # Algorithm 1
        for x, t in loader:
            model.zero_grad()
            loss = nn.binary_cross_entropy_with_logits(model(cr.tensor(x)), t)    # forward (y = σ(b))
            loss.backward()                                                      # backward
            with cr.no_grad():
                for p in model.parameters():                                     # θ ← θ − γ g_θ
                    p.data = p.data - lr * p.grad
        with cr.no_grad():                                                       # evaluate J_D, J_Dt
            j_train = nn.binary_cross_entropy_with_logits(model(cr.tensor(split.x_train)), t_train).item()
            logits = model(cr.tensor(split.x_test))
            j_test = nn.binary_cross_entropy_with_logits(logits, t_test).item()
        if verbose and (epoch + 1) % max(1, epochs // 5) == 0:
            print(f"  epoch {epoch + 1:3d}: train J {j_train:.4f}, test J {j_test:.4f}")
    return float(np.mean((logits.data > 0) == (t_test > 0.5)))


def main(epochs: int = 60, lr: float = 1.0, seed: int = 0, verbose: bool = True) -> dict:
    results = {}
    for hidden in ([8], [8, 8]):
        if verbose:
            print(f"{len(hidden)} hidden layer(s) of sigmoid units {hidden}:")
        results[len(hidden)] = train(hidden, epochs, lr, seed, verbose)
        if verbose:
            print(f"  test accuracy {results[len(hidden)]:.1%}")
    return results


if __name__ == "__main__":
    main()
