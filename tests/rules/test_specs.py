"""Every differentiable function of chainrule.numpy (and every registered primitive), through gradcheck,
over the shapes of its spec; and the meta-tests that keep the spec table complete."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule
import chainrule.numpy as cnp
from chainrule._graph import Node, Primitive, toposort
from chainrule._registry import load

from .specs import NONDIFF, SPECS, Spec, draw

# Exported names that need no gradient spec, with the reason.
EXCLUDED = {
    # NumPy's own creation functions and constants, re-exported unchanged: no Tensor inputs
    "arange", "empty", "eye", "full", "identity", "tri", "random", "e", "inf", "nan",
    "pi", "newaxis", "ndarray", "dtype", "bool_", "complex128", "float16", "float32", "float64", "int8",
    "int16", "int32", "int64", "uint8", "linalg", "linalg.LinAlgError", "fft",
    # integers: no gradient by definition (a Tensor input gives a Tensor without a graph; tested in test_linalg)
    "linalg.matrix_rank",
}


def _is_differentiable(obj) -> bool:
    if isinstance(obj, Primitive):
        return obj.differentiable
    module = getattr(obj, "__module__", "") or ""
    return callable(obj) and module.startswith("chainrule") and not module.endswith("_values_only")


def _namespaces():
    import chainrule.scipy.integrate
    import chainrule.scipy.linalg
    import chainrule.scipy.signal
    import chainrule.scipy.special
    import chainrule.scipy.stats

    spaces = [("", cnp), ("linalg.", cnp.linalg), ("fft.", cnp.fft), ("scipy.special.", chainrule.scipy.special),
              ("scipy.signal.", chainrule.scipy.signal), ("scipy.linalg.", chainrule.scipy.linalg),
              ("scipy.integrate.", chainrule.scipy.integrate)]
    for dist in ("norm", "t", "gamma", "beta", "poisson", "dirichlet", "multivariate_normal"):
        spaces.append((f"scipy.stats.{dist}.", getattr(chainrule.scipy.stats, dist)))
    return spaces


def exported_differentiable() -> set[str]:
    names = set()
    for prefix, namespace in _namespaces():
        for name in dir(namespace):
            if name.startswith("_") or prefix + name in EXCLUDED:
                continue
            if _is_differentiable(getattr(namespace, name)):
                names.add(prefix + name)
    return names


def resolve(name: str):
    """A spec's function: ``"tanh"`` and ``"linalg.det"`` in chainrule.numpy, ``"primitives.scatter"`` a
    registered primitive that has no public name."""
    if name.startswith("primitives."):
        return load()[name.removeprefix("primitives.")].primitive
    namespace = cnp
    if name.startswith("scipy."):
        _namespaces()  # (imports the chainrule.scipy modules)
        namespace = chainrule
    for part in name.split("."):
        namespace = getattr(namespace, part)
    return namespace


def test_every_function_has_a_spec():
    specced = [s.name for s in SPECS]
    assert len(specced) == len(set(specced)), "duplicate specs"
    exported = exported_differentiable()
    specced = {name for name in specced if not name.startswith("primitives.")}
    assert set(specced) - exported == set(), "specs for functions that are not exported (or not differentiable)"
    assert exported - set(specced) == set(), "exported differentiable functions without a spec in specs.py"


def _recorded_primitives(spec: Spec, case, rng) -> set[str]:
    """The primitives a spec's case records, in its forward graph and (for second-order specs, whose backward
    pass is differentiated again) its backward graph."""
    tensors = [chainrule.tensor(a, requires_grad=True) for a in _inputs(spec, case, rng)]
    out = spec.run(resolve(spec.name), *tensors, **case.kwargs)
    leaves = [leaf for leaf in chainrule.tree_flatten(out)[0] if isinstance(leaf, chainrule.Tensor)]
    roots = [leaf._node for leaf in leaves if leaf._node is not None]
    total = sum(cnp.sum(leaf * 1.0) for leaf in leaves if leaf.requires_grad)
    if isinstance(total, chainrule.Tensor) and spec.order > 1:  # (the specs of order 1 run no rules on Tensors)
        total.backward(create_graph=True)
        roots += [t.grad._node for t in tensors if isinstance(t.grad, chainrule.Tensor) and t.grad._node]
    return {v.primitive.name for v in toposort(roots) if isinstance(v, Node)}


def test_every_registered_primitive_is_exercised_by_a_spec(rng):
    """The meta-test over primitives, not names: a primitive without a public name (or one only the rules
    of others call) must still be recorded by some spec, so gradcheck checks its rule."""
    pytest.importorskip("scipy")  # (the scipy.special primitives' specs need it)
    from chainrule._registry import RULE_MODULES

    # (primitives registered by other modules, such as chainrule.nn's, are checked by their own spec tables)
    registered = {name for name, entry in load().items()
                  if entry.primitive.differentiable and entry.module in RULE_MODULES}
    exercised = set()
    for spec in SPECS:
        for case in spec.cases:
            exercised |= _recorded_primitives(spec, case, rng)
    missing = sorted(registered - exercised)
    assert not missing, (f"registered primitives that no spec in tests/rules/specs.py exercises: {missing} "
                         f"(add a spec; one without a public name is spelt 'primitives.<name>')")


def test_every_non_differentiable_primitive_has_a_spec():
    registered = {name for name, entry in load().items() if not entry.primitive.differentiable}
    assert registered == set(NONDIFF), (f"non-differentiable primitives without an entry in specs.NONDIFF: "
                                        f"{sorted(registered - set(NONDIFF))}; entries for no primitive: "
                                        f"{sorted(set(NONDIFF) - registered)}")


@pytest.mark.parametrize("name", sorted(NONDIFF))
def test_non_differentiable_primitive_matches_numpy_and_carries_no_gradient(name, rng):
    reference, arity = NONDIFF[name]
    arrays = [draw("real", rng, (2, 3)) * 3 for _ in range(arity)]
    if name == "invert":  # a bitwise operation: integers (which cannot require grad)
        arrays = [np.round(a).astype(np.int64) for a in arrays]
    primitive = load()[name].primitive
    out = primitive(*[chainrule.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays])
    assert isinstance(out, chainrule.Tensor) and not out.requires_grad
    np.testing.assert_array_equal(out.data, reference(*arrays))


def test_excluded_names_exist_and_are_not_rules():
    for name in EXCLUDED:
        assert not isinstance(resolve(name), Primitive), name


PARAMS = [pytest.param(spec, case, id=f"{spec.name}[{case!r}]") for spec in SPECS for case in spec.cases]


def _inputs(spec: Spec, case, rng):
    return [draw(spec.domain_of(i), rng, shape) for i, shape in enumerate(case.shapes)]


@pytest.mark.parametrize(("spec", "case"), PARAMS)
def test_gradcheck(spec: Spec, case, rng):
    if spec.name.startswith("scipy."):
        pytest.importorskip("scipy")
    f = resolve(spec.name)
    arrays = _inputs(spec, case, rng)
    fun = lambda *xs: spec.run(f, *xs, **case.kwargs)
    # the forward agrees with NumPy's where NumPy has the function
    order = spec.order if all(np.size(a) for a in arrays) else 1
    assert chainrule.gradcheck(fun, *arrays, order=order, rtol=spec.rtol, atol=spec.atol)


@pytest.mark.parametrize(("spec", "case"), PARAMS)
def test_gradient_shapes_on_tensors(spec: Spec, case, rng):
    """backward() through a Tensor gives each input a .grad of its own shape and dtype (empty ones too)."""
    if spec.name.startswith("scipy."):
        pytest.importorskip("scipy")
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
