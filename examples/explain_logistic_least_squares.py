"""The notes' regularised univariate logistic least-squares model, traced (notes 000/001/002).

    z = wx + b,  y = σ(z),  L = ½(y − t)²,  R = ½w²,  L_reg = L + λR

The backward pass printed below is the notes' one, rule by rule (constants 0.5 and powers appear as their
own nodes):  L̄_reg = 1,  R̄ = L̄_reg λ,  L̄ = L̄_reg,  ȳ = L̄ (y − t),  z̄ = ȳ σ'(z),  w̄ = z̄ x + R̄ w,  b̄ = z̄.

Run:  python examples/explain_logistic_least_squares.py
"""

import chainrule
import chainrule.numpy as cnp
from chainrule.viz import trace

x = chainrule.tensor(2.0, name="x")      # the input: a constant (no gradient)
t = chainrule.tensor(1.0, name="t")      # the target
lam = chainrule.tensor(0.1, name="λ")    # the regularisation strength


def regularised_loss(w, b):
    z = w * x + b
    y = cnp.sigmoid(z)
    L = 0.5 * (y - t) ** 2
    R = 0.5 * w ** 2
    L_reg = L + lam * R
    return L_reg


if __name__ == "__main__":
    tr = trace(regularised_loss, 0.5, -0.5)
    print(tr)
    print("gradient:")
    print(tr.gradient_text())
    # the notes' closed forms: ∂L_reg/∂w = (σ(wx+b) − t) σ'(wx+b) x + λw,  ∂L_reg/∂b = (σ(wx+b) − t) σ'(wx+b)
    s = 1 / (1 + 2.718281828459045 ** -(0.5 * 2.0 - 0.5))
    print(f"closed form: ∂L_reg/∂w = {(s - 1) * s * (1 - s) * 2 + 0.1 * 0.5:.6g}, "
          f"∂L_reg/∂b = {(s - 1) * s * (1 - s):.6g}")
