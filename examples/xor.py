"""The XOR problem from the notes: no single layer can represent it, one hidden layer can.
Four points, a 2-2-1 sigmoid network, squared error ½(y − t)², plain gradient descent."""

import numpy as np

import chainrule as cr
import chainrule.nn as nn
import chainrule.optim as optim

X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
T = np.array([[0.0], [1.0], [1.0], [0.0]])


def main(steps: int = 3000, lr: float = 2.0, seed: int = 1, verbose: bool = True) -> np.ndarray:
    model = nn.mlp([2, 2, 1], activation="sigmoid", output_activation="sigmoid", rng=seed)
    optimizer = optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    for step in range(steps):
        optimizer.zero_grad()
        loss = nn.squared_error(model(cr.tensor(X)), T)
        loss.backward()
        optimizer.step()
        if verbose and step % (steps // 5) == 0:
            print(f"step {step:5d}: loss {loss.item():.5f}")
    with cr.no_grad():
        y = model(cr.tensor(X)).data
    if verbose:
        for x, out in zip(X, y[:, 0], strict=True):
            print(f"XOR({int(x[0])}, {int(x[1])}) = {out:.3f}")
    return y


if __name__ == "__main__":
    main()
