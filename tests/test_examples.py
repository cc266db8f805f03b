"""The example table (chainrule/_examples.py) and the docstrings made from it: every registered public
primitive has an example, every example is for a name that exists, and a primitive's docstring is its own."""

from __future__ import annotations

import importlib
import inspect
import pydoc

import pytest

import chainrule
from chainrule._examples import EXAMPLES, first_paragraph, primitive_doc
from chainrule._graph import Primitive
from chainrule._registry import load


def _public_names() -> set[str]:
    return {name for entry in load().values() for name in entry.names}


def test_every_registered_public_primitive_has_an_example():
    missing = sorted(_public_names() - EXAMPLES.keys())
    assert not missing, f"registered public primitives without an example in chainrule/_examples.py: {missing}"


def _resolve(key: str):
    space, _, attribute = key.rpartition(".")
    if space.startswith("scipy"):
        pytest.importorskip("scipy")
    module = importlib.import_module(f"chainrule.{space}")
    return getattr(module, attribute, None)


@pytest.mark.parametrize("key", sorted(EXAMPLES))
def test_every_example_is_for_a_name_that_exists_and_is_in_its_docstring(key):
    obj = _resolve(key)
    assert obj is not None, f"chainrule/_examples.py has an example for chainrule.{key}, which does not exist"
    doc = vars(obj).get("__doc__") if isinstance(obj, Primitive) else obj.__doc__
    assert EXAMPLES[key].strip() in inspect.cleandoc(doc)  # (help() shows docstrings dedented)


def test_a_primitive_docstring_comes_from_its_registration():
    sin = chainrule.numpy.sin
    doc = vars(sin)["__doc__"]
    assert doc.startswith("Trigonometric sine, element-wise.")  # NumPy's own first line
    assert "``chainrule.numpy.sin`` is ``numpy.sin`` made differentiable" in doc
    assert "x̄ = ḡ · cos(x)" in doc and "Cost category: ``elementwise``" in doc
    divide = vars(chainrule.numpy.divide)["__doc__"]
    assert "also ``chainrule.numpy.true_divide``" in divide and "y\u0304 = -ḡ · x / y²" in divide
    assert "Not differentiable" in vars(chainrule.numpy.floor)["__doc__"]
    assert "No gradient with respect to ``n``" in vars(load()["polygamma"].primitive)["__doc__"]


def test_help_shows_the_primitive_docstring_not_the_class_docstring():
    text = pydoc.render_doc(chainrule.numpy.sin, renderer=pydoc.plaintext)
    assert "x̄ = ḡ · cos(x)" in text and "chainrule.numpy.sin(x)" in text
    assert Primitive.__doc__.splitlines()[0] not in text


def test_a_new_public_primitive_without_an_example_gets_the_facts_but_no_example():
    prim = Primitive("cube", lambda x: x ** 3, (lambda g, ans, x: g * 3 * x ** 2,), ("{g} · 3{0}²",))
    doc = primitive_doc(prim, ("numpy.cube",), "elementwise")
    assert "x̄ = ḡ · 3x²" in doc and ">>>" not in doc


def test_first_paragraph_skips_a_ufunc_signature_line():
    assert first_paragraph("add(x1, x2, /, out=None)\n\nAdd arguments element-wise.\n\nMore.") == \
        "Add arguments element-wise."
    assert first_paragraph("Compute the\n    inverse.\n\nParameters") == "Compute the inverse."
    assert first_paragraph(None) is None


def test_values_only_functions_say_why_they_carry_no_gradient():
    doc = chainrule.numpy.argmax.__doc__
    assert "carries no gradient" in doc and "indices" in doc and ">>>" in doc
    assert "Examples\n" not in doc  # not NumPy's docstring, whose examples are NumPy's
