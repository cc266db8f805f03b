"""``chainrule.scipy.integrate.odeint``: SciPy's ODE solver, differentiable in the initial state and the
extra arguments by the adjoint method (see :mod:`chainrule._rules_integrate`; ``func`` must be written
with chainrule.numpy functions; no gradient in ``t``, first derivatives only).

>>> import numpy as np, chainrule
>>> from chainrule.scipy.integrate import odeint
>>> decay = lambda y, t, k: -k * y                      # y(t) = y0 e^(−k t)
>>> final = lambda y0, k: odeint(decay, y0, np.array([0.0, 1.0]), (k,))[-1].sum()
>>> dy0, dk = chainrule.grad(final, argnums=(0, 1))(np.array([2.0]), 0.5)
>>> bool(np.isclose(dy0[0], np.exp(-0.5)) and np.isclose(dk, -2.0 * np.exp(-0.5)))
True
"""

from __future__ import annotations

import numpy as np

from .. import _composite as _C
from .. import _rules as _P
from .._examples import document as _document
from .._rules_integrate import odeint_flat as _odeint_flat


def odeint(func, y0, t, args=(), rtol=None, atol=None, **kwargs):
    """Integrate y' = func(y, t, *args) from y(t[0]) = y0, returning y at each time in ``t`` (shape
    (len(t),) + y0's shape). ``y0`` and the arrays in ``args`` may be Tensors."""
    if kwargs:
        raise TypeError(f"chainrule.scipy.integrate.odeint: options {sorted(kwargs)} are not supported")
    args = tuple(args) if isinstance(args, tuple | list) else (args,)
    shapes = [_P.shape_of(a) for a in args]
    sizes = [int(np.prod(s)) for s in shapes]
    flat = [_P.reshape(a if hasattr(a, "shape") else np.asarray(a, dtype=float), (-1,)) for a in args]
    theta = _C.concatenate(flat) if flat else np.zeros(0)

    def unflatten(flat):
        out, start = [], 0
        for shape, size in zip(shapes, sizes, strict=True):
            piece = flat[start:start + size]
            out.append(_P.reshape(piece, shape))
            start += size
        return out

    y0 = y0 if hasattr(y0, "shape") else np.asarray(y0, dtype=float)
    return _odeint_flat(func, y0, np.asarray(t, dtype=float), theta, unflatten, rtol, atol)


_document(globals(), "scipy.integrate")  # each public function's example (chainrule/_examples.py)
