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


# The specs that raise "not available for array_api_strict" (the docs list them: docs/distributed.md). Every
# other spec must give NumPy's gradient; a spec on the wrong side of this list fails.
_SPECIAL = ("erf erfc erfinv erfcinv ndtr log_ndtr ndtri logit gamma gammaln rgamma digamma psi polygamma "
            "multigammaln beta betaln gammainc gammaincc betainc stdtr xlogy xlog1py i0 i1 iv ive j0 j1 y0 y1 jn yn")
_STATS = {"norm": "cdf logcdf sf logsf ppf", "t": "logpdf pdf cdf logcdf", "gamma": "logpdf pdf cdf logcdf",
          "beta": "logpdf pdf cdf logcdf", "poisson": "logpmf pmf cdf logcdf", "dirichlet": "logpdf pdf"}
NOT_AVAILABLE = {
    # outside the standard: no argpartition, einsum, assignment through index arrays; piecewise calls its
    # functions on NumPy pieces
    "partition", "einsum", "piecewise", "put_along_axis",
    # SciPy computes these in NumPy only (without SCIPY_ARRAY_API=1), and the distributions built on them
    *(f"scipy.special.{name}" for name in _SPECIAL.split()),
    *(f"scipy.stats.{dist}.{name}" for dist, names in _STATS.items() for name in names.split()),
    "scipy.signal.correlate", "scipy.linalg.solve_triangular", "scipy.linalg.cho_solve",
    "scipy.linalg.solve_sylvester", "scipy.linalg.sqrtm", "scipy.linalg.expm", "scipy.integrate.odeint",
}
WORKING = len(SPECS) - len(NOT_AVAILABLE)


def test_the_list_names_specs_and_the_docs_state_its_numbers():
    import pathlib
    import re

    assert {s.name for s in SPECS} >= NOT_AVAILABLE
    root = pathlib.Path(__file__).resolve().parents[2]
    for doc in ("README.md", "docs/distributed.md"):
        text = " ".join((root / doc).read_text().split())
        assert f"{WORKING} of the rule table's {len(SPECS)} specs" in text, doc
        assert re.search(rf"\b{len(NOT_AVAILABLE)} (that )?raise", text), doc


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
        assert spec.name in NOT_AVAILABLE, f"{spec.name} stopped working on array_api_strict: {error}"
        OUTCOMES[spec.name] = "not available"
        return
    assert spec.name not in NOT_AVAILABLE, f"{spec.name} works now: take it off NOT_AVAILABLE (and the docs)"
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
