"""The layers' primitives (chainrule/nn/_primitives.py) through the spec machinery of tests/rules: every
primitive has a spec, and each spec is gradchecked in float64 (second order) over its cases."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule
import chainrule.numpy as cnp
from chainrule._graph import Primitive
from chainrule.nn import _primitives
from tests.rules.specs import Case, Spec, draw


def _conv(**kw):
    full = {"stride": (1, 1), "padding": (0, 0), "dilation": (1, 1), "groups": 1}
    full.update({k: (v if k == "groups" else (v, v) if isinstance(v, int) else v) for k, v in kw.items()})
    return full


# (input shape, weight shape, options): odd sizes, strides that leave rows uncovered, groups, dilation
CONV_CASES = [
    ((2, 3, 5, 4), (4, 3, 3, 3), _conv()),
    ((1, 2, 6, 7), (3, 2, 3, 2), _conv(stride=2, padding=1)),
    ((2, 4, 5, 5), (6, 2, 2, 2), _conv(groups=2, dilation=2)),
    ((1, 4, 4, 4), (4, 1, 3, 3), _conv(groups=4, padding=1)),   # depthwise
    ((1, 1, 7, 5), (2, 1, 1, 3), _conv(stride=(3, 1), padding=(0, 2))),
    ((0, 2, 4, 4), (3, 2, 3, 3), _conv()),                      # an empty batch
]
POOL_CASES = [
    ((2, 3, 4, 6), {"kernel": (2, 2), "stride": (2, 2), "padding": (0, 0), "dilation": (1, 1)}),
    ((1, 2, 5, 5), {"kernel": (3, 3), "stride": (2, 2), "padding": (1, 1), "dilation": (1, 1)}),  # overlapping
    ((1, 2, 6, 5), {"kernel": (2, 2), "stride": (1, 1), "padding": (0, 0), "dilation": (2, 2)}),
]


def _out_shape(x_shape, w_shape, p):
    n, _, h, w = x_shape
    return (n, w_shape[0], *(_primitives.output_size(s, k, st, pd, d) for s, k, st, pd, d in zip(
        (h, w), w_shape[2:], p["stride"], p["padding"], p["dilation"], strict=True)))


def _pool_out_shape(x_shape, p):
    return x_shape[:2] + tuple(_primitives.output_size(s, k, st, pd, d) for s, k, st, pd, d in zip(
        x_shape[2:], p["kernel"], p["stride"], p["padding"], p["dilation"], strict=True))


SPECS = [
    Spec("conv2d", tuple(Case((x, w), p) for x, w, p in CONV_CASES), order=2),
    Spec("conv2d_input_grad", tuple(Case((_out_shape(x, w, p), w), {**p, "input_shape": x}) for x, w, p in CONV_CASES),
         order=2),
    Spec("conv2d_weight_grad", tuple(Case((x, _out_shape(x, w, p)), {**p, "weight_shape": w})
                                     for x, w, p in CONV_CASES), order=2),
    Spec("max_pool2d", tuple(Case((x,), p) for x, p in POOL_CASES), ("distinct",), order=2),
    # (h, x): the second argument only says where the maxima are
    Spec("max_pool2d_gather", tuple(Case((x, x), p) for x, p in POOL_CASES), ("real", "distinct"), order=2),
    Spec("max_pool2d_scatter", tuple(Case((_pool_out_shape(x, p), x), p) for x, p in POOL_CASES),
         ("real", "distinct"), order=2),
]

PARAMS = [pytest.param(spec, case, id=f"{spec.name}[{case!r}]") for spec in SPECS for case in spec.cases]


def test_every_primitive_has_a_spec():
    defined = {p.name for p in _primitives.PRIMITIVES}
    in_module = {obj.name for obj in vars(_primitives).values() if isinstance(obj, Primitive)}
    assert defined == in_module, "a primitive of _primitives.py is missing from PRIMITIVES"
    assert {s.name for s in SPECS} == defined
    from chainrule._registry import REGISTRY

    registered = {name for name, entry in REGISTRY.items() if entry.module == _primitives.__name__}
    assert registered == defined  # in the registry, unexported: chainrule.numpy has no conv2d
    assert not any(REGISTRY[name].names for name in defined) and not hasattr(cnp, "conv2d")


def _inputs(spec: Spec, case: Case, rng) -> list[np.ndarray]:
    return [draw(spec.domain_of(i), rng, shape) for i, shape in enumerate(case.shapes)]


@pytest.mark.parametrize(("spec", "case"), PARAMS)
def test_gradcheck(spec: Spec, case: Case, rng):
    f = getattr(_primitives, spec.name)
    arrays = _inputs(spec, case, rng)
    order = spec.order if all(a.size for a in arrays) else 1
    assert chainrule.gradcheck(lambda *xs: f(*xs, **case.kwargs), *arrays, order=order, rtol=spec.rtol,
                               atol=spec.atol)


@pytest.mark.parametrize(("spec", "case"), PARAMS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gradient_shapes_and_dtypes(spec: Spec, case: Case, dtype, rng):
    """backward() gives every input a .grad of its own shape and dtype (float32 stays float32)."""
    f = getattr(_primitives, spec.name)
    tensors = [chainrule.tensor(a.astype(dtype), requires_grad=True) for a in _inputs(spec, case, rng)]
    out = f(*tensors, **case.kwargs)
    assert out.dtype == dtype
    cnp.sum(out * out).backward()
    for t in tensors:
        grad = np.zeros_like(t.data) if t.grad is None else t.grad
        assert grad.shape == t.shape and grad.dtype == dtype


def test_conv2d_refuses_mixed_dtypes():
    with pytest.raises(TypeError, match=r"conv2d: expected floating-point arrays of one dtype; got float32 and "
                                        r"float64"):
        _primitives.conv2d(np.ones((1, 1, 3, 3), np.float32), np.ones((1, 1, 2, 2)), **_conv())


def test_bilinear_identities(rng):
    """⟨ȳ, conv(x, w)⟩ = ⟨input_grad(ȳ, w), x⟩ = ⟨weight_grad(x, ȳ), w⟩: the three primitives are one form."""
    for x_shape, w_shape, p in CONV_CASES[:-1]:
        x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
        g = rng.standard_normal(_out_shape(x_shape, w_shape, p))
        forward = np.sum(g * _primitives.conv2d(x, w, **p))
        by_input = np.sum(x * _primitives.conv2d_input_grad(g, w, input_shape=x_shape, **p))
        by_weight = np.sum(w * _primitives.conv2d_weight_grad(x, g, weight_shape=w_shape, **p))
        np.testing.assert_allclose([by_input, by_weight], [forward, forward], rtol=1e-10)


def _assert_conv_matches_torch(rng, x_shape, w_shape, p) -> np.ndarray:
    """conv2d's output and both gradients (through backward(), so conv2d_input_grad and conv2d_weight_grad) agree
    with PyTorch's on random x, w and ȳ; returns chainrule's output. Skips without PyTorch."""
    torch = pytest.importorskip("torch")
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    yt = torch.nn.functional.conv2d(xt, wt, stride=p["stride"], padding=p["padding"], dilation=p["dilation"],
                                    groups=p["groups"])
    g = rng.standard_normal(tuple(yt.shape))
    yt.backward(torch.tensor(g))
    xc, wc = chainrule.tensor(x, requires_grad=True), chainrule.tensor(w, requires_grad=True)
    yc = _primitives.conv2d(xc, wc, **p)
    yc.backward(g)
    np.testing.assert_allclose(yc.data, yt.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(xc.grad, xt.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(wc.grad, wt.grad.numpy(), atol=1e-12)
    return yc.data


def test_conv2d_matches_torch(rng):
    for x_shape, w_shape, p in CONV_CASES:
        _assert_conv_matches_torch(rng, x_shape, w_shape, p)


@pytest.mark.parametrize("chunk_bytes", [1, 30_000, 1 << 20])
def test_conv2d_in_chunks_matches_torch(rng, monkeypatch, chunk_bytes):
    """The batch is convolved in chunks of examples (one example each when ``CHUNK_BYTES`` is 1, two or three at 30 kB,
    all at once at 1 MiB), on the shifted-row grid at stride 1 (with at least as many columns as outputs) and
    through the windows otherwise."""
    monkeypatch.setattr(_primitives, "CHUNK_BYTES", chunk_bytes)
    cases = [((5, 3, 6, 7), (4, 3, 3, 3), _conv(padding=1)),
             ((5, 4, 7, 6), (6, 2, 3, 2), _conv(padding=(2, 1), dilation=(1, 2), groups=2)),
             ((5, 1, 6, 7), (8, 1, 2, 2), _conv(padding=1)),        # fewer columns (4) than outputs (8)
             ((5, 2, 7, 6), (3, 2, 3, 3), _conv(stride=2, padding=1)),
             ((5, 2, 7, 6), (3, 2, 2, 3), _conv(stride=(1, 2), padding=(0, 1)))]
    assert [_primitives._Columns(np, x, w, p["stride"], p["padding"], p["dilation"], p["groups"],
                                 np.dtype(np.float64)).shifted
            for x, w, p in cases] == [True, True, False, False, False]  # both ways are tested
    for x_shape, w_shape, p in cases:
        assert _assert_conv_matches_torch(rng, x_shape, w_shape, p).flags.c_contiguous


def test_max_pool2d_matches_torch(rng):
    torch = pytest.importorskip("torch")
    for x_shape, p in POOL_CASES:
        x = draw("distinct", rng, x_shape)
        xt = torch.tensor(x, requires_grad=True)
        yt = torch.nn.functional.max_pool2d(xt, p["kernel"], p["stride"], p["padding"], p["dilation"])
        g = rng.standard_normal(tuple(yt.shape))
        yt.backward(torch.tensor(g))
        xc = chainrule.tensor(x, requires_grad=True)
        yc = _primitives.max_pool2d(xc, **p)
        yc.backward(g)
        np.testing.assert_array_equal(yc.data, yt.detach().numpy())
        np.testing.assert_allclose(xc.grad, xt.grad.numpy(), atol=1e-12)


def _reference_conv(x, w, padding):
    """A direct loop over kernel offsets (stride 1): what the work buffers must not change."""
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    padded = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho, wo = h + 2 * padding - kh + 1, wd + 2 * padding - kw + 1
    out = np.zeros((n, o, ho, wo))
    for i in range(kh):
        for j in range(kw):
            out += np.einsum("oc,nchw->nohw", w[:, :, i, j], padded[:, :, i:i + ho, j:j + wo])
    return out


def test_work_buffers_kept_between_calls_do_not_leak_between_layouts(rng):
    """Two convolutions whose buffers have the same shapes but their padding in other places (28×28 padded
    by 1 and 30×30 unpadded), alternating: each buffer's zeros are where its own layout needs them."""
    w = rng.standard_normal((4, 3, 3, 3))
    for _ in range(2):
        for size, padding in ((28, 1), (30, 0)):
            x = rng.standard_normal((2, 3, size, size))
            p = _conv(padding=padding)
            np.testing.assert_allclose(_primitives.conv2d(x, w, **p), _reference_conv(x, w, padding), atol=1e-10)
            g = rng.standard_normal((2, 4, 28, 28))
            by_input = np.sum(x * _primitives.conv2d_input_grad(g, w, input_shape=x.shape, **p))
            by_weight = np.sum(w * _primitives.conv2d_weight_grad(x, g, weight_shape=w.shape, **p))
            forward = np.sum(g * _reference_conv(x, w, padding))
            np.testing.assert_allclose([by_input, by_weight], [forward, forward], rtol=1e-10)
    assert sum(b.nbytes for b in _primitives._local.buffers.values()) <= _primitives.SCRATCH_BYTES


def test_work_buffers_are_per_thread(rng):
    import threading

    w = rng.standard_normal((8, 4, 3, 3))
    inputs = [rng.standard_normal((6, 4, 12, 12)) for _ in range(4)]
    expected = [_reference_conv(x, w, 1) for x in inputs]
    results, errors = {}, []

    def work(k):
        try:
            for _ in range(20):
                results[k] = _primitives.conv2d(inputs[k], w, **_conv(padding=1))
        except Exception as error:  # noqa: BLE001 (reported below)
            errors.append(error)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for k in range(4):
        np.testing.assert_allclose(results[k], expected[k], atol=1e-10)


def test_the_work_buffers_stay_within_their_bound(rng, monkeypatch):
    monkeypatch.setattr(_primitives, "SCRATCH_BYTES", 200_000)
    w = rng.standard_normal((4, 3, 3, 3))
    for size in (10, 20, 30, 40):
        x = rng.standard_normal((3, 3, size, size))
        np.testing.assert_allclose(_primitives.conv2d(x, w, **_conv(padding=1)), _reference_conv(x, w, 1),
                                   atol=1e-10)
        assert sum(b.nbytes for b in _primitives._local.buffers.values()) <= 200_000
