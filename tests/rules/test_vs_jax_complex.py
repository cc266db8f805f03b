"""docs/conventions.md says our complex gradients follow HIPS autograd's and JAX's convention: with no
conversion at all, they must equal theirs (each optional: skipped when not installed)."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule
import chainrule.numpy as cnp


def crandn(rng, *shape):
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


def _losses(np_):
    """The same real-valued losses written against a NumPy-like module (ours, jax.numpy, autograd.numpy)."""
    return {
        "abs squared": lambda z: np_.sum(np_.abs(z) ** 2),
        "exp log conj": lambda z: np_.sum(np_.real(np_.exp(z) * np_.conj(z) + np_.log(z))),
        "angle imag": lambda z: np_.sum(np_.angle(z) + np_.imag(z * z)),
        "matmul inv": lambda z: np_.sum(np_.abs(np_.linalg.inv(np_.reshape(z, (2, 2)) + 2 * np.eye(2))
                                                @ np_.reshape(z, (2, 2)))),
    }


@pytest.mark.slow  # importing JAX and tracing each loss takes ~15 s
@pytest.mark.parametrize("name", list(_losses(cnp)))
def test_equal_to_jax_without_conversion(name, rng):
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    jnp = pytest.importorskip("jax.numpy")
    z = crandn(rng, 4) + 0.5
    ours = chainrule.grad(_losses(cnp)[name])(z)
    theirs = np.asarray(jax.grad(_losses(jnp)[name])(z))
    np.testing.assert_allclose(ours, theirs, rtol=1e-10)


@pytest.mark.parametrize("name", ["abs squared", "exp log conj", "angle imag"])
def test_equal_to_autograd_without_conversion(name, rng):
    autograd = pytest.importorskip("autograd")
    anp = pytest.importorskip("autograd.numpy")
    z = crandn(rng, 4) + 0.5
    ours = chainrule.grad(_losses(cnp)[name])(z)
    theirs = autograd.grad(_losses(anp)[name])(z)
    np.testing.assert_allclose(ours, theirs, rtol=1e-10)


@pytest.mark.slow
def test_the_jax_values_quoted_in_the_conventions_table():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    jnp = pytest.importorskip("jax.numpy")
    assert float(jax.grad(jnp.abs)(0.0)) == 1.0  # ours: 0
    assert np.isnan(np.asarray(jax.grad(jnp.linalg.norm)(jnp.zeros(2)))).all()  # ours: 0
    assert np.isnan(np.asarray(jax.grad(jnp.std)(jnp.ones(3)))).all()  # ours: 0
    assert float(jax.grad(jax.grad(jnp.sinc))(0.0)) == pytest.approx(-np.pi ** 2 / 3)  # ours: the same
    singular = np.array([[1.0, 2.0], [2.0, 4.0]])
    np.testing.assert_allclose(jax.grad(jnp.linalg.det)(singular), chainrule.grad(cnp.linalg.det)(singular))
