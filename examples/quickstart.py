"""The notes' first example, by backprop: z = wx + b, y = σ(z), L_reg = ½(y − t)² + λ·½w².

Run: python3 examples/quickstart.py
"""

import chainrule
import chainrule.numpy as cnp

w = chainrule.tensor(0.5, requires_grad=True, name="w")
b = chainrule.tensor(-0.3, requires_grad=True, name="b")
x, t, lam = 1.7, 1.0, 0.1

z = w * x + b
y = cnp.sigmoid(z)
loss = 0.5 * (y - t) ** 2 + lam * 0.5 * w**2
loss.backward()

print(f"L_reg = {loss.item():.6f}")
print(f"w̄ = ∂L_reg/∂w = {w.grad:.6f}")
print(f"b̄ = ∂L_reg/∂b = {b.grad:.6f}")
