"""The differentiation quiz (notes 003): y = exp(xz) + xz/log(x) + sin(log(x))/(xz) at x = 2, z = 3.

Backprop through the graph gives dy/dx ≈ 1208 and dy/dz ≈ 810 (the quiz asks for them to the nearest
integer); the shared xz and log(x) fan out, so their error signals are sums over their children.

Run:  python examples/explain_quiz.py
"""

import math

import chainrule.numpy as cnp
from chainrule.viz import trace


def quiz(x, z):
    a = x * z
    b = cnp.log(x)
    y = cnp.exp(a) + a / b + cnp.sin(b) / a
    return y


if __name__ == "__main__":
    tr = trace(quiz, 2.0, 3.0)
    print(tr)
    print("gradient:")
    print(tr.gradient_text())
    x, z = 2.0, 3.0
    dx = z * math.exp(x * z) + z / math.log(x) - z / math.log(x) ** 2 + (math.cos(math.log(x))
                                                                         - math.sin(math.log(x))) / (x * x * z)
    dz = x * math.exp(x * z) + x / math.log(x) - math.sin(math.log(x)) / (x * z * z)
    print(f"closed form: dy/dx = {dx:.6g} (≈ {round(dx)}), dy/dz = {dz:.6g} (≈ {round(dz)})")
