"""chainrule.numpy.fft: values equal NumPy's, np.fft dispatches on Tensors, gradients agree with torch.fft."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule
import chainrule.numpy as cnp

CALLS = [  # (name, real input shape, kwargs)
    ("fft", (6,), {}), ("fft", (2, 5), {"n": 8, "axis": 0, "norm": "ortho"}), ("ifft", (5,), {"norm": "forward"}),
    ("rfft", (7,), {"n": 6}), ("irfft", (5,), {"n": 9}), ("fftn", (2, 3, 4), {"axes": (0, 2), "s": (3, 3)}),
    ("ifftn", (2, 3), {}), ("fft2", (3, 4), {"norm": "ortho"}), ("ifft2", (2, 3, 4), {}), ("rfftn", (4, 6), {}),
    ("irfftn", (4, 3), {"s": (4, 5), "axes": (0, 1)}), ("rfft2", (2, 3, 4), {}), ("irfft2", (3, 4), {}),
    ("fftshift", (5, 4), {}), ("ifftshift", (5, 4), {"axes": 1}),
]


@pytest.mark.parametrize(("name", "shape", "kwargs"), CALLS, ids=[c[0] + str(i) for i, c in enumerate(CALLS)])
def test_values_match_numpy_and_np_fft_dispatches(name, shape, kwargs, rng):
    x = rng.standard_normal(shape)
    expected = getattr(np.fft, name)(x, **kwargs)
    np.testing.assert_allclose(getattr(cnp.fft, name)(x, **kwargs), expected, atol=1e-12)
    t = chainrule.tensor(x, requires_grad=True)
    out = getattr(np.fft, name)(t, **kwargs)  # NumPy's own function on a Tensor: dispatched here
    assert isinstance(out, chainrule.Tensor) and out.requires_grad
    np.testing.assert_allclose(out.data, expected, atol=1e-12)


def test_float32_stays_single_precision(rng):
    x = chainrule.tensor(rng.standard_normal(8).astype(np.float32), requires_grad=True)
    spectrum = cnp.fft.rfft(x)
    assert spectrum.dtype == np.complex64
    cnp.sum(cnp.fft.irfft(spectrum * 2.0) ** 2).backward()
    assert x.grad.dtype == np.float32


def test_power_spectrum_gradient_against_finite_differences(rng):
    def power(x):
        z = cnp.fft.fft2(x, norm="ortho")
        return cnp.sum(cnp.real(z) ** 2 + cnp.imag(z) ** 2 * np.arange(1.0, 5.0))

    assert chainrule.gradcheck(power, rng.standard_normal((3, 4)), order=2)


@pytest.mark.parametrize("name", ["fft", "ifft", "rfft", "fft2", "rfftn", "irfft", "irfftn"])
def test_gradients_of_real_inputs_agree_with_torch_fft(name, rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((4, 6))
    kwargs = {"norm": "ortho"} if name in ("fft2", "irfft") else {}
    out = getattr(np.fft, name)(x, **kwargs)
    weights = rng.standard_normal(out.shape) + (1j * rng.standard_normal(out.shape) if np.iscomplexobj(out) else 0)

    def loss_ours(x):
        y = getattr(cnp.fft, name)(x, **kwargs)
        if np.iscomplexobj(weights):
            return cnp.sum(cnp.real(y) * weights.real + cnp.imag(y) * weights.imag)
        return cnp.sum(y * weights)

    xt = torch.tensor(x, requires_grad=True)
    yt = getattr(torch.fft, name)(xt, **kwargs)
    wt = torch.tensor(weights)
    loss_t = (yt.real * wt.real + yt.imag * wt.imag).sum() if yt.is_complex() else (yt * wt).sum()
    loss_t.backward()
    np.testing.assert_allclose(chainrule.grad(loss_ours)(x), xt.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_repeated_axes_are_refused():
    with pytest.raises(ValueError, match="repeated axes"):
        cnp.fft.fftn(chainrule.tensor(np.ones((2, 2)), requires_grad=True), axes=(0, 0))


def test_an_fft_step_under_compile(rng):
    x = rng.standard_normal(8)

    def step(x):
        return chainrule.value_and_grad(lambda x: cnp.sum(cnp.imag(cnp.fft.rfft(x)) ** 2))(x)

    compiled = chainrule.compile(step)
    for _ in range(3):
        value, gradient = compiled(x)
        np.testing.assert_allclose(value, np.sum(np.fft.rfft(x).imag ** 2))
        np.testing.assert_allclose(gradient, step(x)[1])


def test_gradients_agree_with_autograd(rng):
    autograd = pytest.importorskip("autograd")
    import autograd.numpy as anp

    x, w = rng.standard_normal(8), rng.standard_normal(5)  # (autograd's rfft gradient needs even lengths)

    def loss(np_, x):
        z = np_.fft.rfft(x, norm="ortho")
        return np_.sum(np_.real(z) * w + np_.imag(z) ** 2) + np_.sum(np_.fft.irfft(z * 2.0, 8) * x)

    np.testing.assert_allclose(chainrule.grad(lambda x: loss(cnp, x))(x), autograd.grad(lambda x: loss(anp, x))(x))


@settings(max_examples=25, deadline=None)
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3), n=st.one_of(st.none(), st.integers(1, 6)),
       axis_seed=st.integers(0, 10), name=st.sampled_from(["fft", "ifft", "rfft", "irfft"]),
       norm=st.sampled_from([None, "ortho", "forward"]), seed=st.integers(0, 2**16))
def test_one_dimensional_transforms_on_generated_shapes(shape, n, axis_seed, name, norm, seed):
    """Values against NumPy and gradients against finite differences, for any shape, axis, n and norm."""
    axis = axis_seed % len(shape) - len(shape) * (axis_seed % 2)  # negative axes too
    if name == "irfft" and n is None and shape[axis] == 1:
        n = 1  # (the default n = 2(m − 1) would be 0)
    x = np.random.default_rng(seed).standard_normal(shape)
    transform = getattr(cnp.fft, name)
    np.testing.assert_allclose(transform(x, n, axis, norm), getattr(np.fft, name)(x, n, axis, norm), atol=1e-12)
    parts = (lambda z: (cnp.real(z), cnp.imag(z))) if name != "irfft" else (lambda z: z)
    assert chainrule.gradcheck(lambda x: parts(transform(x, n, axis, norm)), x)
