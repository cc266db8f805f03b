"""chainrule.numpy.linalg additions: qr, lstsq, cond, matrix_rank, solve with batched A and a vector b,
svd(full_matrices=True) on non-square input (values vs NumPy; gradients in tests/rules)."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule
import chainrule.numpy as cnp

T = chainrule.tensor


def test_values_match_numpy(rng):
    a, b = rng.standard_normal((5, 3)), rng.standard_normal(5)
    q, r = cnp.linalg.qr(T(a))
    np.testing.assert_allclose(q.data @ r.data, a)
    np.testing.assert_allclose(np.abs(r.data), np.abs(np.linalg.qr(a)[1]))
    x, residuals, rank, s = cnp.linalg.lstsq(T(a), b)
    expected = np.linalg.lstsq(a, b)
    for ours, theirs in zip((x, residuals, s), (expected[0], expected[1], expected[3]), strict=True):
        np.testing.assert_allclose(getattr(ours, "data", ours), theirs)
    assert rank == expected[2]
    square = rng.standard_normal((3, 3)) + 2 * np.eye(3)
    for p in (None, 1, -1, 2, -2, np.inf, -np.inf, "fro", "nuc"):
        np.testing.assert_allclose(cnp.linalg.cond(T(square), p).data, np.linalg.cond(square, p))
    batched, vector = rng.standard_normal((4, 3, 3)) + 3 * np.eye(3), rng.standard_normal(3)
    np.testing.assert_allclose(cnp.linalg.solve(T(batched), vector).data, np.linalg.solve(batched, vector))
    assert chainrule.gradcheck(lambda A, v: cnp.linalg.solve(A, v), batched, vector, order=2)


def test_matrix_rank_is_an_integer_without_gradient(rng):
    a = T(rng.standard_normal((4, 3)) @ rng.standard_normal((3, 5)), requires_grad=True)
    rank = cnp.linalg.matrix_rank(a)
    assert int(rank) == 3 and not rank.requires_grad
    assert np.linalg.matrix_rank(a) == 3  # dispatched from NumPy's own


@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (2, 4, 3)])
def test_svd_full_matrices_on_non_square_input(shape, rng):
    a = rng.standard_normal(shape)
    u, s, vh = cnp.linalg.svd(T(a, requires_grad=True))  # full_matrices=True, NumPy's default
    eu, es, evh = np.linalg.svd(a)
    assert u.shape == eu.shape and vh.shape == evh.shape
    np.testing.assert_allclose(s.data, es)
    m, n = shape[-2:]
    rebuilt = (u.data[..., :, : min(m, n)] * s.data[..., None, :]) @ vh.data[..., : min(m, n), :]
    np.testing.assert_allclose(rebuilt, a, atol=1e-12)
    for basis in (u.data, np.swapaxes(vh.data, -1, -2)):  # the completions are orthonormal
        np.testing.assert_allclose(np.swapaxes(basis, -1, -2) @ basis, np.broadcast_to(np.eye(basis.shape[-1]),
                                   basis.shape[:-2] + (basis.shape[-1],) * 2), atol=1e-12)
    extra = u[..., :, min(m, n):] if m > n else vh[..., min(m, n):, :]
    with pytest.raises(ValueError, match="orthonormal completion"):
        cnp.sum(extra * 1.0).backward()
