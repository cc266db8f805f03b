"""Everything needed to add a primitive: its forward function and its VJP rules.

>>> import numpy as np, chainrule
>>> from chainrule.extend import primitive, defvjp
>>> @primitive
... def cube(x):                       # runs on raw arrays
...     return x ** 3
>>> defvjp(cube, lambda g, ans, x: g * 3 * x ** 2, formulas=("{g} · 3{0}²",))
>>> chainrule.grad(lambda x: cube(x).sum())(np.array([1.0, 2.0]))
array([ 3., 12.])

A rule receives ``g`` (the output's error signal), ``ans`` (the output) and the inputs, and returns the
error signal of its input, with that input's shape (use :func:`unbroadcast` when the forward broadcasts).
Write rules with ``chainrule.numpy`` operations and operators (not raw ``numpy`` calls), so that they
can be differentiated again for higher-order derivatives. :func:`chainrule.gradcheck` checks a new rule,
and names it if it is wrong.
"""

from __future__ import annotations

from collections.abc import Callable

from ._graph import Primitive
from ._rules import unbroadcast, xp

__all__ = ["Primitive", "primitive", "defvjp", "unbroadcast", "xp"]


def primitive(forward: Callable | None = None, *, name: str | None = None, differentiable: bool = True,
              n_outputs: int = 1):
    """Make ``forward`` (a function of raw arrays) a chainrule primitive; give it rules with :func:`defvjp`.

    Use as ``@primitive`` or ``@primitive(name="my_op")``.
    """
    def make(function: Callable) -> Primitive:
        return Primitive(name or function.__name__, function, (), differentiable=differentiable,
                         n_outputs=n_outputs)

    return make(forward) if forward is not None else make


def defvjp(prim: Primitive, *vjps: Callable | None, formulas: tuple = ()) -> Primitive:
    """Set the VJP rules of ``prim``, one per positional argument (``None``: not differentiable there)."""
    if not isinstance(prim, Primitive):
        raise TypeError(f"chainrule.defvjp: expected a primitive made with chainrule.primitive; got "
                        f"{type(prim).__name__}")
    prim.vjps = tuple(vjps)
    prim.formulas = tuple(formulas)
    return prim
