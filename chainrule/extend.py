"""Everything needed to add a primitive: its forward function and its VJP rules.

>>> import numpy as np, chainrule
>>> from chainrule.extend import primitive, defvjp
>>> @primitive
... def cube(x):                       # runs on raw arrays
...     return x ** 3
>>> _ = defvjp(cube, lambda g, ans, x: g * 3 * x ** 2, formulas=("{g} · 3{0}²",))
>>> chainrule.grad(lambda x: cube(x).sum())(np.array([1.0, 2.0]))
array([ 3., 12.])

A rule receives ``g`` (the output's error signal), ``ans`` (the output) and the inputs, and returns the
error signal of its input, with that input's shape (use :func:`unbroadcast` when the forward broadcasts).
Write rules with ``chainrule.numpy`` operations and operators (not raw ``numpy`` calls), so that they
can be differentiated again for higher-order derivatives. :func:`chainrule.gradcheck` checks a new rule,
and names it if it is wrong.

HIPS autograd's curried form is accepted too, told apart by the number of arguments: a rule taking
``(ans, *inputs)`` and returning a function of ``g`` (``defvjp(cube, lambda ans, x: lambda g: g * 3 * x ** 2)``),
and autograd's ``argnums=`` to give rules for some arguments only.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence

from ._examples import document as _document
from ._graph import Primitive
from ._rules import unbroadcast_reference as unbroadcast
from ._rules import xp

__all__ = ["Primitive", "primitive", "defvjp", "unbroadcast", "xp"]


def primitive(forward: Callable | None = None, *, name: str | None = None, differentiable: bool = True,
              n_outputs: int = 1):
    """Make ``forward`` (a function of raw arrays) a chainrule primitive; give it rules with :func:`defvjp`.

    Use as ``@primitive`` or ``@primitive(name="my_op")``. The primitive's docstring is ``forward``'s.

    >>> @chainrule.primitive
    ... def cube(x):
    ...     "x³, element-wise."
    ...     return x ** 3
    >>> _ = chainrule.defvjp(cube, lambda g, ans, x: g * 3 * x ** 2)
    >>> chainrule.grad(lambda x: cube(x).sum())(np.array([1.0, 2.0]))    # 3x²
    array([ 3., 12.])
    >>> cube.__doc__
    'x³, element-wise.'
    >>> chainrule.primitive(name="floor_of")(np.floor)           # a function that is not a def, named
    <chainrule primitive floor_of>
    """
    def make(function: Callable) -> Primitive:
        made = Primitive(name or function.__name__, function, (), differentiable=differentiable,
                         n_outputs=n_outputs)
        if getattr(function, "__doc__", None):
            made.__doc__ = function.__doc__  # help(cube) shows cube's docstring, not Primitive's
        return made

    return make(forward) if forward is not None else make


def defvjp(prim: Primitive, *vjps: Callable | None, formulas: tuple = (), argnums: Sequence[int] | None = None
           ) -> Primitive:
    """Set the VJP rules of ``prim``, one per positional argument (``None``: not differentiable there).

    A rule is ``rule(g, ans, *inputs)``, or autograd's curried ``rule(ans, *inputs)`` returning a function of
    ``g``; which one is told by its number of positional parameters (the forward's plus two, or plus one).
    ``argnums`` (autograd's) says which arguments the rules are for; the others get none.

    >>> from chainrule.extend import primitive, defvjp
    >>> @primitive
    ... def scale(x, k):
    ...     return x * k
    >>> _ = defvjp(scale, lambda ans, x, k: lambda g: g * k, argnums=[0])    # autograd's spelling
    >>> float(chainrule.grad(lambda x: scale(x, 3.0))(2.0))
    3.0
    """
    if not isinstance(prim, Primitive):
        raise TypeError(f"chainrule.defvjp: expected a primitive made with chainrule.primitive; got "
                        f"{type(prim).__name__}")
    positions = list(range(len(vjps))) if argnums is None else list(argnums)
    if len(positions) != len(vjps):
        raise TypeError(f"chainrule.defvjp({prim.name}): {len(vjps)} rules for argnums={positions}")
    rules = [None if rule is None else _uncurried(prim, rule, p) for p, rule in zip(positions, vjps, strict=True)]
    if argnums is not None:
        placed: list = [None] * (max(argnums) + 1 if argnums else 0)
        for position, rule in zip(argnums, rules, strict=True):
            placed[position] = rule
        rules = placed
    prim.vjps = tuple(rules)
    prim.formulas = tuple(formulas)
    return prim


def _positional_counts(function: Callable) -> tuple[int, int, bool]:
    """(required positional parameters, all positional parameters, whether it takes *args)."""
    parameters = inspect.signature(function).parameters.values()
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = sum(p.default is p.empty for p in positional)
    return required, len(positional), any(p.kind is p.VAR_POSITIONAL for p in parameters)


def _uncurried(prim: Primitive, rule: Callable, position: int) -> Callable:
    """The rule in chainrule's form ``rule(g, ans, *inputs)``: autograd's curried form is wrapped. The
    forms differ by one in arity; where defaulted inputs blur that, a first parameter named ``ans`` means
    autograd's form."""
    try:
        fewest, most, forward_varargs = _positional_counts(prim.forward)
        _, taken, rule_varargs = _positional_counts(rule)
        first = next(iter(inspect.signature(rule).parameters), "")
    except (TypeError, ValueError):  # no signature to read (a builtin): take it as chainrule's form
        return rule
    chainrule_form = fewest + 2 <= taken <= most + 2
    curried_form = fewest + 1 <= taken <= most + 1
    if rule_varargs or forward_varargs or (chainrule_form and not (curried_form and first == "ans")):
        return rule
    if curried_form:
        def curried(g, ans, *args, **kwargs):
            return rule(ans, *args, **kwargs)(g)

        curried.__name__ = getattr(rule, "__name__", "rule")
        curried.__wrapped__ = rule
        return curried
    inputs = most
    names = ", ".join(list(inspect.signature(prim.forward).parameters)[:inputs])
    raise TypeError(f"chainrule.defvjp({prim.name}): the rule for argument {position} takes {taken} positional "
                    f"argument{'s' if taken != 1 else ''}; expected {inputs + 2} (g, ans, {names}), or autograd's "
                    f"curried form with {inputs + 1} (ans, {names}) returning a function of g")


_document(globals(), "extend")  # unbroadcast's example (chainrule/_examples.py; its code is in _rules.py)
