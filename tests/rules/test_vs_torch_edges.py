"""The PyTorch column of the table in docs/conventions.md: each case of EDGE_CASES run through PyTorch.
Where ``torch_expected`` is None PyTorch agrees with us; otherwise it is PyTorch's value, which the docs state."""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule
import chainrule.numpy as cnp

from .test_edge_rules import EDGE_CASES, Edge

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # (torch.jit, imported by torch itself)


def _torch_grads(edge: Edge):
    tensors = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in edge.inputs]
    edge.torch_loss(torch, *tensors).backward()
    return [t.grad.numpy() for t in tensors]


@pytest.mark.parametrize("edge", EDGE_CASES, ids=lambda e: e.name)
def test_pytorch_column(edge):
    expected = edge.expected if edge.torch_expected is None else edge.torch_expected
    for got, want in zip(_torch_grads(edge), expected, strict=True):
        if np.isnan(want).all() and want.size > 1:  # "no derivative": NaN or inf somewhere
            assert not np.isfinite(got).all(), edge.name
        else:
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12, err_msg=edge.name)


def test_the_rows_that_differ_are_the_ones_the_docs_name():
    from .test_edge_rules import docs_rows

    rows = docs_rows()
    for edge in EDGE_CASES:
        ours, theirs = (cell.strip() for cell in rows[edge.name].split("|")[2:4])
        assert (edge.torch_expected is None) == (theirs in (ours, "the same") or theirs.startswith(ours)), edge.name


def test_sinc_second_derivative_at_zero():
    x = torch.tensor(0.0, dtype=torch.float64, requires_grad=True)
    (first,) = torch.autograd.grad(torch.sinc(x), x, create_graph=True)
    (second,) = torch.autograd.grad(first, x)
    assert math.isnan(second.item())  # the docs' PyTorch column
    assert chainrule.grad(chainrule.grad(cnp.sinc))(0.0) == pytest.approx(-math.pi ** 2 / 3)


def test_slogdet_of_a_singular_matrix():
    a = torch.tensor([[1.0, 2.0], [2.0, 4.0]], dtype=torch.float64, requires_grad=True)
    torch.linalg.slogdet(a)[1].backward()
    assert np.isinf(a.grad.numpy()).all()  # the docs' PyTorch column: ±inf


def test_pinv_at_rank_deficiency_matches(rng):
    b, c = rng.standard_normal((4, 2)), rng.standard_normal((2, 3))
    a = b @ c
    weights = rng.standard_normal((3, 4))
    ours = chainrule.grad(lambda a: cnp.sum(cnp.linalg.pinv(a) * weights))(a)
    t = torch.tensor(a, requires_grad=True)
    (torch.linalg.pinv(t) * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(ours, t.grad.numpy(), rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("shape", [(3, 3), (4, 2), (2, 4), (2, 3, 2)])
def test_pinv_full_rank_matches(shape, rng):
    a, weights = rng.standard_normal(shape), rng.standard_normal(shape[:-2] + shape[:-3:-1])
    ours = chainrule.grad(lambda a: cnp.sum(cnp.linalg.pinv(a) * weights))(a)
    t = torch.tensor(a, requires_grad=True)
    (torch.linalg.pinv(t) * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(ours, t.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_clip_with_tensor_bounds_matches(rng):
    x, lo, hi = rng.uniform(-2, 2, (3, 4)), rng.uniform(-1.5, -0.5, (4,)), rng.uniform(0.5, 1.5, (3, 1))
    ours = chainrule.grad(lambda *a: cnp.sum(cnp.clip(*a) ** 2), argnums=(0, 1, 2))(x, lo, hi)
    tensors = [torch.tensor(v, requires_grad=True) for v in (x, lo, hi)]
    (torch.clamp(*tensors) ** 2).sum().backward()
    for g, t in zip(ours, tensors, strict=True):
        np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-12)


def test_transpose_with_negative_axes_matches(rng):
    x, weights = rng.standard_normal((2, 3, 4)), rng.standard_normal((4, 2, 3))
    ours = chainrule.grad(lambda x: cnp.sum(np.transpose(x, (-1, 0, 1)) * weights))(x)
    t = torch.tensor(x, requires_grad=True)
    (t.permute(-1, 0, 1) * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(ours, t.grad.numpy())


@pytest.mark.parametrize("rank", [1, 2, 3])
def test_det_of_singular_matrices_against_pytorch(rank, rng):
    """PyTorch's det gradient at a rank n − 1 matrix is 0 (not the cofactor matrix); elsewhere they agree."""
    a = rng.standard_normal((3, rank)) @ rng.standard_normal((rank, 3))
    ours = chainrule.grad(cnp.linalg.det)(a)
    t = torch.tensor(a, requires_grad=True)
    torch.linalg.det(t).backward()
    if rank == 2:
        assert np.abs(ours).max() > 1e-3  # adj(A)ᵀ ≠ 0 at rank n − 1
    else:
        np.testing.assert_allclose(ours, t.grad.numpy(), atol=1e-8)
