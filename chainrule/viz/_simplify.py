"""Rule text with the arithmetic on constants done: ``2·x`` rather than ``2 · x^(2 - 1)``.

The rule table's ``formulas`` are written for any argument (``{g} · {1} · {0}^({1} - 1)`` for a power);
when an argument is a number the teaching views fold it, as one would by hand.

>>> simplified_rule("power", 0, {"g": "v̄", "0": "x", "1": "2"}, (None, 2.0))
'v̄ · 2·x'
>>> simplified_rule("power", 0, {"g": "v̄", "0": "x", "1": "3"}, (None, 3.0))
'v̄ · 3·x²'
>>> simplified_rule("multiply", 0, {"g": "v̄", "0": "x", "1": "1"}, (None, 1.0)) is None
False
>>> simplified_rule("sin", 0, {"g": "v̄", "0": "x"}, (None,)) is None     # nothing to fold
True
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._format import number

_SUPERSCRIPTS = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def _constant(raw_args: Any, position: int) -> float | None:
    """The argument at ``position`` when it is a plain number (not a recorded input), else None."""
    if raw_args is None or position >= len(raw_args):
        return None
    value = raw_args[position]
    if isinstance(value, bool) or not isinstance(value, int | float | np.number | np.ndarray):
        return None
    if np.size(value) != 1:
        return None
    value = float(np.asarray(value).reshape(()))
    return value if np.isfinite(value) else None


def _power_text(base: str, exponent: float) -> str:
    """``base`` to a number: ``x`` for 1, ``x²`` for small integers, ``x^-0.5`` otherwise."""
    if exponent == 1:
        return base
    simple = base.isidentifier() or base.replace("̄", "").isalnum()
    if exponent == int(exponent) and 0 < abs(exponent) < 10 and simple:
        return base + str(int(exponent)).translate(_SUPERSCRIPTS)
    wrapped = base if simple else f"({base})"
    return f"{wrapped}^{number(exponent)}" if exponent > 0 else f"{wrapped}^({number(exponent)})"


def simplified_rule(op: str, position: int, mapping: dict[str, str], raw_args: Any) -> str | None:
    """The text of ``v̄_child ∂child/∂(argument at position)`` with constants folded, or None when the
    table's formula is already as simple as it gets. ``mapping`` holds the names filled in ("g" for the
    child's error signal, "0", "1", ... for the arguments) and ``raw_args`` the recorded arguments."""
    g = mapping["g"]
    if op == "power" and position == 0:
        c = _constant(raw_args, 1)
        if c is None:
            return None
        if c == 0:
            return "0"
        if c == 1:
            return g
        factor = number(c)
        factor = f"({factor})" if factor.startswith("-") else factor
        return f"{g} · {factor}·{_power_text(mapping['0'], c - 1)}"
    if op == "multiply":
        c = _constant(raw_args, 1 - position)
        if c == 1:
            return g
        if c == -1:
            return f"-{g}"
    if op == "divide" and position == 0 and _constant(raw_args, 1) == 1:
        return g
    return None
