"""Every differentiable function of chainrule.numpy, through gradcheck, over the shapes of its spec."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule
import chainrule.numpy as cnp
from chainrule._graph import Primitive

from .specs import SPECS, Spec, draw

# Exported names that need no gradient spec, with the reason.
EXCLUDED = {
    # NumPy's own creation functions and constants, re-exported unchanged: no Tensor inputs
    "arange", "empty", "eye", "full", "identity", "linspace", "logspace", "tri", "random", "e", "inf", "nan",
    "pi", "newaxis", "ndarray", "dtype", "bool_", "complex128", "float16", "float32", "float64", "int8",
    "int16", "int32", "int64", "uint8", "linalg", "LinAlgError",
}


def _is_differentiable(obj) -> bool:
    if isinstance(obj, Primitive):
        return obj.differentiable
    module = getattr(obj, "__module__", "") or ""
    return callable(obj) and module.startswith("chainrule") and not module.endswith("_values_only")


def exported_differentiable() -> set[str]:
    names = set()
    for prefix, namespace in (("", cnp), ("linalg.", cnp.linalg)):
        for name in dir(namespace):
            if name.startswith("_") or name in EXCLUDED:
                continue
            if _is_differentiable(getattr(namespace, name)):
                names.add(prefix + name)
    return names


def resolve(name: str):
    namespace = cnp
    for part in name.split("."):
        namespace = getattr(namespace, part)
    return namespace


def test_every_function_has_a_spec():
    specced = [s.name for s in SPECS]
    assert len(specced) == len(set(specced)), "duplicate specs"
    exported = exported_differentiable()
    assert set(specced) - exported == set(), "specs for functions that are not exported (or not differentiable)"
    assert exported - set(specced) == set(), "exported differentiable functions without a spec in specs.py"


def test_excluded_names_exist_and_are_not_rules():
    for name in EXCLUDED:
        obj = getattr(cnp if hasattr(cnp, name) else cnp.linalg, name)
        assert not isinstance(obj, Primitive), name


PARAMS = [pytest.param(spec, case, id=f"{spec.name}[{case!r}]") for spec in SPECS for case in spec.cases]


def _inputs(spec: Spec, case, rng):
    return [draw(spec.domain_of(i), rng, shape) for i, shape in enumerate(case.shapes)]


@pytest.mark.parametrize(("spec", "case"), PARAMS)
def test_gradcheck(spec: Spec, case, rng):
    f = resolve(spec.name)
    arrays = _inputs(spec, case, rng)
    fun = lambda *xs: spec.run(f, *xs, **case.kwargs)
    # the forward agrees with NumPy's where NumPy has the function
    order = spec.order if all(np.size(a) for a in arrays) else 1
    assert chainrule.gradcheck(fun, *arrays, order=order, rtol=spec.rtol, atol=spec.atol)


@pytest.mark.parametrize(("spec", "case"), PARAMS)
def test_gradient_shapes_on_tensors(spec: Spec, case, rng):
    """backward() through a Tensor gives each input a .grad of its own shape and dtype (empty ones too)."""
    f = resolve(spec.name)
    tensors = [chainrule.tensor(a, requires_grad=True) for a in _inputs(spec, case, rng)]
    out = spec.run(f, *tensors, **case.kwargs)
    leaves, _ = chainrule.tree_flatten(out)
    total = sum(cnp.sum(leaf * 1.0) for leaf in leaves if isinstance(leaf, chainrule.Tensor))
    if not isinstance(total, chainrule.Tensor) or not total.requires_grad:
        pytest.skip("output does not depend on the inputs")
    total.backward()
    for t in tensors:
        grad = np.zeros_like(t.data) if t.grad is None else t.grad
        assert grad.shape == t.shape and grad.dtype == t.dtype
