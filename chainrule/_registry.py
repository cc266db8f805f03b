"""The registry: every built-in primitive, declared once, with every fact the rest of chainrule needs.

A registration (``defprim``/``nondiff`` in :mod:`chainrule._rules`, and the ``_rules_*`` modules) records
the primitive (forward, VJPs, saves, formula text) and, beside it:

* ``cost``: its category in :mod:`chainrule.viz._cost` (``"elementwise"``, ``"reduction"``, ``"matmul"``,
  ``"contraction"``, ``"cubic"``, ``"movement"``);
* ``names``: its public names, as ``"numpy.tanh"``, ``"numpy.linalg.inv"``, ``"numpy.fft.fft"`` or
  ``"scipy.special.erf"``: the namespaces :mod:`chainrule.numpy` and :mod:`chainrule.scipy` export them,
  and NumPy's (and SciPy's) dispatch on Tensors finds them there;
* ``fast``: the function :func:`chainrule.compile` replays it with (same result on arrays), and whether
  that function takes ``out=`` (a preallocated buffer).

A public primitive's docstring is written here too, from these facts and its example in
:mod:`chainrule._examples`.

Everything else reads this table: the namespaces (:func:`namespace`), the cost categories
(:func:`cost_categories`), compile's fast forms (:func:`fast_forms`), and the test meta-test, which checks
that every registered primitive is exercised by a spec in ``tests/rules``.

>>> from chainrule._registry import REGISTRY
>>> REGISTRY["tanh"].names, REGISTRY["tanh"].cost
(('numpy.tanh',), 'elementwise')
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module

from ._examples import primitive_doc
from ._graph import Primitive

COST_CATEGORIES = ("elementwise", "reduction", "matmul", "contraction", "cubic", "movement")
NAMESPACES = ("numpy", "numpy.linalg", "numpy.fft", "scipy.special", "scipy.stats", "scipy.signal",
              "scipy.linalg", "scipy.integrate")


@dataclass(frozen=True)
class Registration:
    """One primitive and the facts about it (see the module docstring)."""

    primitive: Primitive
    cost: str
    names: tuple[str, ...]
    fast: Callable | None = None
    fast_takes_out: bool = True
    module: str = ""  # the module that registered it (where its rule lives)


# The modules that register primitives; a new rule module is one more line here.
RULE_MODULES = ("chainrule._rules", "chainrule._rules_fft", "chainrule._rules_special", "chainrule._rules_signal",
                "chainrule._rules_linalg", "chainrule._rules_integrate")

REGISTRY: dict[str, Registration] = {}  # primitive name -> its registration, in registration order
_PUBLIC: dict[str, dict[str, Primitive]] = {ns: {} for ns in NAMESPACES}  # namespace -> name -> primitive


def register(primitive: Primitive, *, cost: str, names: tuple[str, ...] | list[str] = (),
             fast: Callable | None = None, fast_takes_out: bool = True, module: str = "") -> Primitive:
    """Add ``primitive`` to the registry; returns it (so a table entry reads ``name = defprim(...)``)."""
    if primitive.name in REGISTRY:
        raise ValueError(f"chainrule registry: a primitive named {primitive.name!r} is already registered "
                         f"(by {REGISTRY[primitive.name].module})")
    if cost not in COST_CATEGORIES:
        raise ValueError(f"chainrule registry: {primitive.name}: cost {cost!r} is not one of {COST_CATEGORIES}")
    names = tuple(names)
    places = [public.rpartition(".")[::2] for public in names]  # (namespace, attribute)
    for public, (space, attribute) in zip(names, places, strict=True):
        if space not in _PUBLIC:
            raise ValueError(f"chainrule registry: {primitive.name}: public name {public!r} is not in one of "
                             f"the namespaces {NAMESPACES}")
        if attribute in _PUBLIC[space]:
            raise ValueError(f"chainrule registry: {public} is already the public name of "
                             f"{_PUBLIC[space][attribute].name}")
    for space, attribute in places:
        _PUBLIC[space][attribute] = primitive
    REGISTRY[primitive.name] = Registration(primitive, cost, names, fast, fast_takes_out, module)
    primitive.acyclic = True  # the library's own functions: nothing they hold reaches a user's graph
    if names:  # its own docstring (help(chainrule.numpy.sin)), not the Primitive class's
        primitive.__doc__ = primitive_doc(primitive, names, cost)
    return primitive


def load() -> dict[str, Registration]:
    """Import every rule module (once), so that the registry is complete; returns it."""
    for module in RULE_MODULES:
        import_module(module)
    return REGISTRY


def namespace(space: str) -> dict[str, Primitive]:
    """The public names of namespace ``space`` (``"numpy"``, ``"scipy.special"``, ...) → their primitives."""
    load()
    return dict(_PUBLIC[space])


def cost_categories() -> dict[str, str]:
    """Primitive name → cost category, for every registered primitive."""
    return {name: entry.cost for name, entry in load().items()}


def fast_forms() -> dict[Primitive, tuple[Callable, bool]]:
    """Primitive → (the function compile replays it with, whether that takes ``out=``)."""
    return {e.primitive: (e.fast, e.fast_takes_out) for e in load().values() if e.fast is not None}
