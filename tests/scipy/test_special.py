"""chainrule.scipy.special: values equal SciPy's, SciPy's ufuncs dispatch on Tensors, errors name scipy."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import chainrule

scipy_special = pytest.importorskip("scipy.special")
from chainrule.scipy import special  # noqa: E402

UNARY = {"erf": "real", "erfc": "real", "erfinv": "unit", "erfcinv": "two", "ndtr": "real", "log_ndtr": "real",
         "ndtri": "unit01", "logit": "unit01", "expit": "real", "gamma": "positive", "gammaln": "positive",
         "rgamma": "positive", "digamma": "positive", "psi": "positive", "i0": "real", "i1": "real", "j0": "real",
         "j1": "real", "y0": "positive", "y1": "positive"}
BINARY = {"beta": (), "betaln": (), "xlogy": (), "xlog1py": (), "gammainc": (), "gammaincc": (), "stdtr": (),
          "iv": (), "ive": (), "polygamma": "int", "jn": "int", "yn": "int"}


def _draw(domain, rng, n=5):
    return {"real": rng.standard_normal(n) * 2, "unit": rng.uniform(-0.9, 0.9, n), "two": rng.uniform(0.1, 1.9, n),
            "unit01": rng.uniform(0.05, 0.95, n), "positive": rng.uniform(0.3, 4.0, n)}[domain]


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_values_and_dispatch_match_scipy(name, rng):
    x = _draw(UNARY[name], rng)
    np.testing.assert_allclose(getattr(special, name)(x), getattr(scipy_special, name)(x), rtol=1e-12)
    t = chainrule.tensor(x, requires_grad=True)
    out = getattr(scipy_special, name)(t)  # SciPy's own ufunc on a Tensor: dispatched to chainrule.scipy
    assert isinstance(out, chainrule.Tensor) and out.requires_grad
    np.testing.assert_allclose(out.data, getattr(scipy_special, name)(x), rtol=1e-12)


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_values_match_scipy(name, rng):
    first = np.array([0, 1, 2, 3, 2]) if BINARY[name] == "int" else rng.uniform(0.5, 3.0, 5)
    x = rng.uniform(0.2, 0.9 if name == "betainc" else 3.0, 5)
    np.testing.assert_allclose(getattr(special, name)(first, x), getattr(scipy_special, name)(first, x), rtol=1e-12)


def test_functions_with_scipy_signatures(rng):
    x = rng.standard_normal((3, 4))
    b = rng.uniform(0.5, 2.0, (3, 4))
    np.testing.assert_allclose(special.logsumexp(x, axis=1, b=b), scipy_special.logsumexp(x, axis=1, b=b))
    np.testing.assert_allclose(special.softmax(x), scipy_special.softmax(x))  # axis=None: over all elements
    np.testing.assert_allclose(special.log_softmax(x, axis=0), scipy_special.log_softmax(x, axis=0))
    np.testing.assert_allclose(special.betainc(2.0, 3.0, x * 0 + 0.3), scipy_special.betainc(2.0, 3.0, 0.3))
    np.testing.assert_allclose(special.multigammaln(x * 0 + 2.5, 3), scipy_special.multigammaln(2.5, 3))


def test_derivatives_against_known_values():
    # d/dx erf = 2/√π e^(−x²); ψ(1) = −γ; d/da log B(a, b) = ψ(a) − ψ(a + b); d/dx I₀ = I₁
    assert np.isclose(chainrule.grad(special.erf)(0.5), 2 / np.sqrt(np.pi) * np.exp(-0.25))
    assert np.isclose(chainrule.grad(special.gammaln)(1.0), -np.euler_gamma)
    assert np.isclose(chainrule.grad(lambda a: special.betaln(a, 2.0))(1.5),
                      scipy_special.digamma(1.5) - scipy_special.digamma(3.5))
    assert np.isclose(chainrule.grad(special.i0)(0.7), scipy_special.i1(0.7))
    assert np.isclose(chainrule.grad(chainrule.grad(special.gammaln))(2.0), scipy_special.polygamma(1, 2.0))


def test_errors_name_scipy_and_the_argument():
    t = chainrule.tensor([0.5, 1.5], requires_grad=True)
    with pytest.raises(TypeError, match=r"no derivative rule for scipy\.special\.(_zeta|zeta)"):
        scipy_special.zeta(t, 2.0)
    with pytest.raises(TypeError, match=r"chainrule\.polygamma: no derivative rule for argument 0"):
        special.polygamma(chainrule.tensor([1.0, 2.0], requires_grad=True), 1.0)
    with pytest.raises(TypeError, match=r"chainrule\.gammainc: no derivative rule for argument 0"):
        special.gammainc(t, 1.0)
    out = scipy_special.zeta(chainrule.tensor([2.0, 3.0]), 1.0)  # no gradient needed: SciPy's value
    np.testing.assert_allclose(out.data, scipy_special.zeta([2.0, 3.0], 1.0))


def test_without_scipy_a_call_names_the_function_and_scipy(monkeypatch):
    monkeypatch.setitem(sys.modules, "scipy.special", None)  # `import scipy.special` now fails
    with pytest.raises(ImportError, match=r"chainrule\.scipy\.special\.erf needs SciPy"):
        special.erf(np.array([0.5]))


def test_second_derivatives_under_create_graph_and_float32(rng):
    x = chainrule.tensor(rng.uniform(0.5, 2.0, 4).astype(np.float32), requires_grad=True)
    y = (special.gammaln(x) * special.erf(x)).sum()
    assert y.dtype == np.float32
    y.backward()
    assert x.grad.dtype == np.float32
    assert chainrule.gradcheck(lambda x: (special.gammaln(x) * special.erf(x)).sum(), x.data.astype(float), order=2)


def test_special_functions_and_compositions_under_compile_and_threads(rng):
    import threading

    import chainrule.numpy as cnp

    x, w = rng.uniform(0.5, 2.0, 6), rng.standard_normal(3)

    def step(x):
        def loss(x):
            smooth = cnp.convolve(special.erf(x), w, "same")
            return cnp.sum(special.gammaln(x) * smooth) + cnp.sum(cnp.cov(cnp.stack([x, x * x])))
        return chainrule.value_and_grad(loss)(x)

    compiled = chainrule.compile(step)
    expected = step(x)
    for _ in range(3):  # traced, checked against eager, then replayed
        value, gradient = compiled(x)
        np.testing.assert_allclose(value, expected[0])
        np.testing.assert_allclose(gradient, expected[1])
    results = [None] * 4

    def worker(i):
        results[i] = step(x + i)[1]

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for i, result in enumerate(results):
        np.testing.assert_allclose(result, step(x + i)[1])
