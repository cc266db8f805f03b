"""J = cos(sin(x²) + 3x²) at x = 1.5, forward and backward (notes 003).

The notes name the intermediates t = x², u1 = sin(t), u2 = 3t, u = u1 + u2, J = cos(u); the shared t fans
out to two children, so its error signal is a sum: t̄ = ū1 cos(t) + ū2 · 3. Closed form:
dJ/dx = −sin(u) (2x cos(x²) + 6x).

Run:  python examples/explain_cos_sin.py
"""

import math

import chainrule.numpy as cnp
from chainrule.viz import trace


def J_of(x):
    t = x ** 2
    u1 = cnp.sin(t)
    u2 = 3 * t
    u = u1 + u2
    J = cnp.cos(u)
    return J


if __name__ == "__main__":
    tr = trace(J_of, 1.5)
    print(tr)
    print("gradient:")
    print(tr.gradient_text())
    x = 1.5
    u = math.sin(x ** 2) + 3 * x ** 2
    print(f"closed form: dJ/dx = −sin(u)(2x cos(x²) + 6x) = {-math.sin(u) * (2 * x * math.cos(x ** 2) + 6 * x):.6g}")
