"""A deep linear network y = W₃W₂W₁x (the notes on deep linear networks): the map is linear, but
the weights are coupled, so gradient descent learns it in stages; squared-error loss ½‖y − t‖²."""

import functools

import numpy as np

import chainrule as cr
import chainrule.nn as nn
import chainrule.optim as optim


def main(steps: int = 400, depth: int = 3, width: int = 8, seed: int = 0, verbose: bool = True) -> float:
    rng = np.random.default_rng(seed)
    target_map = rng.normal(size=(4, 4))                       # the linear map to learn
    x = rng.normal(size=(128, 4))
    t = x @ target_map
    sizes = [4] + [width] * (depth - 1) + [4]
    layers = [nn.Linear(a, b, bias=False, init="xavier_normal", rng=rng)
              for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    model = nn.Sequential(*layers)
    optimizer = optim.SGD(model.parameters(), lr=0.02)
    for step in range(steps):
        optimizer.zero_grad()
        loss = nn.squared_error(model(cr.tensor(x)), t)
        loss.backward()
        optimizer.step()
        if verbose and step % (steps // 5) == 0:
            print(f"step {step:4d}: loss {loss.item():.5f}")
    product = functools.reduce(np.matmul, [layer.weight.data for layer in layers])  # x @ W₁ @ W₂ ...
    error = float(np.abs(product - target_map).max())
    if verbose:
        print(f"final loss {loss.item():.6f}; max |W₁W₂…W_L − A| = {error:.4f}")
    return loss.item()


if __name__ == "__main__":
    main()
