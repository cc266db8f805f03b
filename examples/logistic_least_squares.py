"""The notes' first example: univariate logistic least squares with an L2 regulariser.

    z = w·x + b,   y = σ(z),   L = ½(y − t)²,   R = ½w²,   L_reg = L + λR

trained by gradient descent; the backprop gradient is checked against the notes' hand derivation
∂L_reg/∂w = (y − t)·σ′(z)·x + λw,  ∂L_reg/∂b = (y − t)·σ′(z)  (here averaged over the examples).
"""

import numpy as np

import chainrule as cr
import chainrule.numpy as cnp


def main(steps: int = 500, lr: float = 2.0, lam: float = 0.01, seed: int = 0, verbose: bool = True) -> dict:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, size=64)
    t = (x > 0.3).astype(float)                                     # targets in {0, 1}
    w = cr.tensor(0.0, requires_grad=True)
    b = cr.tensor(0.0, requires_grad=True)
    for step in range(steps):
        z = w * x + b                                               # forward, as in the notes
        y = cnp.sigmoid(z)
        loss = (0.5 * (y - t) ** 2).mean() + lam * 0.5 * w**2
        w.grad = b.grad = None
        loss.backward()                                             # backward: w̄ and b̄
        if step == 0:                                               # compare with the hand derivation
            s = 1 / (1 + np.exp(-(w.data * x + b.data)))
            z_bar = (s - t) * s * (1 - s)
            assert np.isclose(w.grad, np.mean(z_bar * x) + lam * w.data)
            assert np.isclose(b.grad, np.mean(z_bar))
        with cr.no_grad():                                          # gradient descent step
            w -= lr * w.grad
            b -= lr * b.grad
    accuracy = float(np.mean((cnp.sigmoid(w * x + b).data > 0.5) == (t > 0.5)))
    if verbose:
        print(f"w = {w.item():.3f}, b = {b.item():.3f}, loss = {loss.item():.4f}, accuracy = {accuracy:.1%}")
    return {"w": w.item(), "b": b.item(), "loss": loss.item(), "accuracy": accuracy}


if __name__ == "__main__":
    main()
