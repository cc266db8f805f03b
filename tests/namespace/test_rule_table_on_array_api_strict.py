"""Every spec of the rule table (tests/rules/specs.py), run on array_api_strict arrays: the gradient equals
NumPy's, or the call raises NamespaceError ("not available for array_api_strict"). Never a wrong gradient,
never an unexplained error, never a silent conversion to NumPy."""

import numpy as np
import pytest

strict = pytest.importorskip("array_api_strict")
import chainrule  # noqa: E402
import chainrule.numpy as cnp  # noqa: E402
from chainrule._namespace import NamespaceError, namespace  # noqa: E402

from ..rules.specs import SPECS, draw  # noqa: E402
from ..rules.test_specs import resolve  # noqa: E402


def _case(spec):
    """The first case whose arrays are all non-empty (a representative shape)."""
    for case in spec.cases:
        if all(0 not in shape for shape in case.shapes):
            return case
    return spec.cases[0]


def _gradients(spec, case, arrays, to_strict):
    f = resolve(spec.name)
    tensors = [chainrule.tensor(strict.asarray(a) if to_strict else a, requires_grad=True) for a in arrays]
    out = spec.run(f, *tensors, **case.kwargs)
    leaves, _ = chainrule.tree_flatten(out)
    terms = [cnp.sum(leaf * leaf) for leaf in leaves if isinstance(leaf, chainrule.Tensor) and leaf.requires_grad]
    if not terms:
        return None
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    total.backward()
    return [t.grad for t in tensors]


OUTCOMES: dict[str, str] = {}


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_gradient_equals_numpys_or_the_error_says_not_available(spec):
    rng = np.random.default_rng(5)
    case = _case(spec)
    arrays = [draw(spec.domain_of(i), rng, shape) for i, shape in enumerate(case.shapes)]
    try:
        got = _gradients(spec, case, arrays, to_strict=True)
    except NamespaceError as error:
        assert "not available for array_api_strict" in str(error)
        OUTCOMES[spec.name] = "not available"
        return
    expected = _gradients(spec, case, arrays, to_strict=False)
    if got is None:
        assert expected is None
        return
    for g, e in zip(got, expected, strict=True):
        if e is None:
            assert g is None
            continue
        assert namespace(g) is not np, "the gradient was converted to NumPy"
        np.testing.assert_allclose(np.asarray(g), e, rtol=1e-10, atol=1e-12)
    OUTCOMES[spec.name] = "works"
