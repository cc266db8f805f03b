"""Small text helpers shared by the teaching views: numbers, arrays, the bar of an error signal."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._graph import Shape

MACRON = "\u0304"  # combining overline: "z" + MACRON prints as z̄


def bar(name: str) -> str:
    """The error-signal name of ``name`` as the notes write it: ``bar("z") == "z̄"``, ``bar("L_reg") == "L̄_reg"``."""
    if not name:
        return MACRON
    return name[0] + MACRON + name[1:]


def number(value: Any, precision: int = 4) -> str:
    """A scalar as ``0.1234`` (``precision`` significant digits), ``3`` for integral values."""
    value = complex(value) if np.iscomplexobj(value) else float(value)
    if isinstance(value, complex):
        return f"{value:.{precision}g}"
    if not np.isfinite(value):  # nan, inf, -inf: printed as they are, never an error
        return "nan" if np.isnan(value) else ("inf" if value > 0 else "-inf")
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.{precision}g}"


def shape_text(shape: tuple) -> str:
    """``(64, 10)``; ``()`` for a scalar."""
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def array_text(value: Any, precision: int = 4, max_elements: int = 6) -> str:
    """A value for one line of text: the number(s) themselves when small, else shape and norm.

    >>> array_text(np.array([1.0, 2.5]))
    '[1, 2.5]'
    >>> array_text(np.ones((64, 10)))
    '‹(64, 10), ‖·‖ = 25.3›'
    """
    if isinstance(value, tuple):
        return "(" + ", ".join(array_text(v, precision, max_elements) for v in value) + ")"
    if value is None:
        return "None"
    if isinstance(value, Shape):  # a graph recorded outside trace() keeps only what its rules need
        return f"‹{shape_text(value.shape)}, not kept›"
    array = np.asarray(value)
    if array.dtype.kind not in "biufc":
        return repr(value)
    if array.size == 1:
        return number(array.reshape(()), precision)
    if array.size <= max_elements:
        return _nested(array, precision)
    norm = float(np.linalg.norm(array.astype(float).ravel())) if array.dtype.kind != "c" else \
        float(np.linalg.norm(array.ravel()))
    bad = int(array.size - np.count_nonzero(np.isfinite(array)))
    if bad:
        return f"‹{shape_text(array.shape)}, {bad} non-finite›"
    return f"‹{shape_text(array.shape)}, ‖·‖ = {number(norm, precision)}›"


def _nested(array: np.ndarray, precision: int) -> str:
    if array.ndim == 0:
        return number(array, precision)
    if array.ndim == 1:
        return "[" + ", ".join(number(v, precision) for v in array) + "]"
    return "[" + ", ".join(_nested(row, precision) for row in array) + "]"


def constant_text(value: Any, precision: int = 4) -> str:
    """A constant argument inside a formula: numbers (negative ones in parentheses), small arrays, or
    ``‹array (3, 4)›`` for large ones."""
    if value is None or isinstance(value, bool | str):
        return repr(value)
    if isinstance(value, int | float | np.number) or (isinstance(value, np.ndarray) and value.size == 1):
        text = number(np.asarray(value).reshape(()), precision)
        return f"({text})" if text.startswith("-") else text
    if isinstance(value, np.ndarray):
        if value.size <= 4:
            return _nested(value, precision)
        return f"‹array {shape_text(value.shape)}›"
    if isinstance(value, tuple | list) and len(value) <= 4:
        inner = ", ".join(constant_text(v, precision) if isinstance(v, np.ndarray) else repr(v) for v in value)
        return f"({inner})" if isinstance(value, tuple) else f"[{inner}]"
    if isinstance(value, slice | type(Ellipsis)):
        return repr(value)
    return f"‹{type(value).__name__}›"
