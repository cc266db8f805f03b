"""Degenerate spectra, rank deficiency, and the values returned where a derivative does not exist
(the table in docs/conventions.md: every row is a case of EDGE_CASES, checked here and, in
test_vs_torch_edges.py, against PyTorch)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest

import chainrule
import chainrule.numpy as cnp

T = chainrule.tensor


@dataclass(frozen=True)
class Edge:
    """One row of the table: ``ours(*inputs)`` is the loss, ``expected`` our gradient w.r.t. each input;
    ``torch_loss`` the same loss in PyTorch and ``torch_expected`` PyTorch's gradient (None: equal to ours)."""

    name: str
    ours: object
    inputs: tuple
    expected: tuple
    torch_loss: object = None
    torch_expected: tuple | None = None


def _a(*values):
    return np.array(values, dtype=float)


SINGULAR = _a([1.0, 2.0], [2.0, 4.0])

EDGE_CASES = [
    Edge("abs at 0", lambda x: cnp.sum(cnp.abs(x)), (_a(0.0, 1.0),), (_a(0.0, 1.0),),
         lambda torch, x: x.abs().sum()),
    Edge("relu at 0", lambda x: cnp.sum(cnp.relu(x)), (_a(0.0, 1.0),), (_a(0.0, 1.0),),
         lambda torch, x: x.relu().sum()),
    Edge("sqrt at 0", lambda x: cnp.sum(cnp.sqrt(x)), (_a(0.0),), (_a(np.inf),), lambda torch, x: x.sqrt().sum()),
    Edge("norm at 0", lambda x: cnp.linalg.norm(x), (_a(0.0, 0.0),), (_a(0.0, 0.0),),
         lambda torch, x: torch.linalg.norm(x)),
    Edge("Frobenius norm at 0", lambda x: cnp.linalg.norm(x, "fro"), (np.zeros((2, 2)),), (np.zeros((2, 2)),),
         lambda torch, x: torch.linalg.norm(x, "fro")),
    Edge("vector_norm at 0", lambda x: cnp.linalg.vector_norm(x), (np.zeros((2, 2)),), (np.zeros((2, 2)),),
         lambda torch, x: torch.linalg.vector_norm(x)),
    Edge("hypot at (0, 0)", lambda x, y: cnp.sum(cnp.hypot(x, y)), (_a(0.0), _a(0.0)), (_a(0.0), _a(0.0)),
         lambda torch, x, y: torch.hypot(x, y).sum(), (_a(np.nan), _a(np.nan))),
    Edge("arctan2 at (0, 0)", lambda y, x: cnp.sum(cnp.arctan2(y, x)), (_a(0.0), _a(0.0)), (_a(0.0), _a(0.0)),
         lambda torch, y, x: torch.atan2(y, x).sum()),
    Edge("std of a constant", lambda x: cnp.std(x), (_a(1.5, 1.5, 1.5),), (_a(0.0, 0.0, 0.0),),
         lambda torch, x: x.std(correction=0)),
    Edge("std of a constant, ddof=1", lambda x: cnp.std(x, ddof=1), (_a(1.5, 1.5, 1.5),), (_a(0.0, 0.0, 0.0),),
         lambda torch, x: x.std()),
    Edge("var of a constant", lambda x: cnp.var(x, ddof=1), (_a(2.0, 2.0),), (_a(0.0, 0.0),),
         lambda torch, x: x.var()),
    Edge("(-2) ** y w.r.t. y", lambda y: cnp.sum(cnp.power(-2.0, y)), (_a(2.0, 3.0),), (_a(np.nan, np.nan),),
         lambda torch, y: (torch.tensor(-2.0, dtype=torch.float64) ** y).sum()),
    Edge("0 ** y w.r.t. y", lambda y: cnp.sum(cnp.power(0.0, y)), (_a(2.0, 0.0),), (_a(0.0, 0.0),),
         lambda torch, y: (torch.tensor(0.0, dtype=torch.float64) ** y).sum()),
    Edge("x ** 0 at x = 0", lambda x: cnp.sum(x ** 0.0), (_a(0.0),), (_a(0.0),), lambda torch, x: (x ** 0.0).sum()),
    Edge("max over ties", lambda x: cnp.max(x), (_a(1.0, 1.0, 0.0),), (_a(0.5, 0.5, 0.0),),
         lambda torch, x: x.max()),
    Edge("max along an axis over ties", lambda x: cnp.sum(cnp.max(x, axis=1)), (_a([1.0, 1.0, 0.0]),),
         (_a([0.5, 0.5, 0.0]),), lambda torch, x: x.amax(dim=1).sum()),
    Edge("min over ties", lambda x: cnp.min(x), (_a(0.0, 1.0, 0.0),), (_a(0.5, 0.0, 0.5),),
         lambda torch, x: x.min()),
    Edge("maximum at x = y", lambda x, y: cnp.sum(cnp.maximum(x, y)), (_a(1.0), _a(1.0)), (_a(0.5), _a(0.5)),
         lambda torch, x, y: torch.maximum(x, y).sum()),
    Edge("minimum at x = y", lambda x, y: cnp.sum(cnp.minimum(x, y)), (_a(1.0), _a(1.0)), (_a(0.5), _a(0.5)),
         lambda torch, x, y: torch.minimum(x, y).sum()),
    Edge("fmax at x = y", lambda x, y: cnp.sum(cnp.fmax(x, y)), (_a(1.0), _a(1.0)), (_a(0.5), _a(0.5)),
         lambda torch, x, y: torch.fmax(x, y).sum(), (_a(1.0), _a(0.0))),
    Edge("inf-norm over ties", lambda x: cnp.linalg.norm(x, np.inf), (_a(1.0, -1.0),), (_a(0.5, -0.5),),
         lambda torch, x: torch.linalg.norm(x, math.inf)),
    Edge("clip at its bounds", lambda x: cnp.sum(cnp.clip(x, 0.0, 1.0)), (_a(0.0, 1.0, 2.0),), (_a(1.0, 1.0, 0.0),),
         lambda torch, x: x.clamp(0.0, 1.0).sum()),
    Edge("clip with Tensor bounds", lambda x, lo, hi: cnp.sum(cnp.clip(x, lo, hi)),
         (_a(-1.0, 0.5, 2.0, 0.0), _a(0.0, 0.0, 0.0, 0.0), _a(1.0, 1.0, 1.0, 1.0)),
         (_a(0.0, 1.0, 0.0, 1.0), _a(1.0, 0.0, 0.0, 0.0), _a(0.0, 0.0, 1.0, 0.0)),
         lambda torch, x, lo, hi: torch.clamp(x, lo, hi).sum()),
    Edge("median over ties", lambda x: cnp.median(x), (_a(1.0, 1.0, 1.0),), (_a(0.0, 1.0, 0.0),),
         lambda torch, x: x.median(), (_a(1 / 3, 1 / 3, 1 / 3),)),
    Edge("sort over ties", lambda x: cnp.sum(cnp.sort(x) * np.arange(1.0, 4.0)), (_a(1.0, 1.0, 1.0),),
         (_a(1.0, 2.0, 3.0),), lambda torch, x: (x.sort(stable=True).values * torch.arange(1.0, 4.0,
                                                                                          dtype=torch.float64)).sum()),
    Edge("det of a singular matrix", lambda a: cnp.linalg.det(a), (SINGULAR,), (_a([4.0, -2.0], [-2.0, 1.0]),),
         lambda torch, a: torch.linalg.det(a), (np.zeros((2, 2)),)),
    Edge("eigvalsh at a repeated eigenvalue", lambda a: cnp.sum(cnp.linalg.eigvalsh(a) * np.arange(1.0, 4.0)),
         (np.diag([1.0, 1.0, 2.0]),), (np.diag([1.0, 2.0, 3.0]),),
         lambda torch, a: (torch.linalg.eigvalsh(a) * torch.arange(1.0, 4.0, dtype=torch.float64)).sum()),
    Edge("eigvals (eig) at a repeated eigenvalue", lambda a: cnp.sum(cnp.linalg.eigvals(a) * np.arange(3.0)),
         (np.diag([1.0, 1.0, 2.0]),), (np.diag([0.0, 1.0, 2.0]),),
         lambda torch, a: (torch.linalg.eigvals(a).real * torch.arange(3.0, dtype=torch.float64)).sum()),
    Edge("svdvals at a repeated singular value", lambda a: cnp.sum(cnp.linalg.svdvals(a) * _a(2.0, 1.0)),
         (np.eye(2),), (np.diag([2.0, 1.0]),),
         lambda torch, a: (torch.linalg.svdvals(a) * torch.tensor([2.0, 1.0], dtype=torch.float64)).sum()),
    Edge("svd(compute_uv=False) at a zero singular value", lambda a: cnp.sum(cnp.linalg.svd(a, compute_uv=False) ** 2),
         (SINGULAR,), (2 * SINGULAR,), lambda torch, a: (torch.linalg.svdvals(a) ** 2).sum()),
    Edge("eigh, eigenvalues only, at a repeated eigenvalue", lambda a: cnp.sum(cnp.linalg.eigh(a)[0] * np.arange(3.0)),
         (np.diag([1.0, 1.0, 2.0]),), (np.diag([0.0, 1.0, 2.0]),),
         lambda torch, a: (torch.linalg.eigh(a)[0] * torch.arange(3.0, dtype=torch.float64)).sum()),
    Edge("eigh, eigenvectors, at a repeated eigenvalue",
         lambda a: cnp.sum(cnp.linalg.eigh(a)[1] * np.arange(9.0).reshape(3, 3)),
         (np.diag([1.0, 1.0, 2.0]),), (np.full((3, 3), np.nan),),
         lambda torch, a: (torch.linalg.eigh(a)[1] * torch.arange(9.0, dtype=torch.float64).reshape(3, 3)).sum()),
]


@pytest.mark.parametrize("edge", EDGE_CASES, ids=lambda e: e.name)
def test_edge_value(edge):
    with np.errstate(all="ignore"):
        grads = chainrule.grad(edge.ours, argnums=tuple(range(len(edge.inputs))))(*edge.inputs)
    for got, expected in zip(grads, edge.expected, strict=True):
        if np.isnan(expected).all() and expected.size > 1:
            assert np.isnan(got).any(), edge.name
        else:
            np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12, err_msg=edge.name)


@pytest.mark.parametrize("edge", EDGE_CASES, ids=lambda e: e.name)
def test_edge_value_on_tensors(edge):
    """Tensor.backward returns the same as the functional API."""
    tensors = [T(x, requires_grad=True) for x in edge.inputs]
    with np.errstate(all="ignore"):
        edge.ours(*tensors).backward()
    for t, expected in zip(tensors, edge.expected, strict=True):
        if np.isnan(expected).all() and expected.size > 1:
            assert np.isnan(t.grad).any(), edge.name
        else:
            np.testing.assert_allclose(t.grad, expected, rtol=1e-12, atol=1e-12, err_msg=edge.name)


# docs table rows checked by a test of their own below, rather than a case of EDGE_CASES
OWN_TESTS = {"sinc″(0)": "test_sinc_derivatives_at_zero",
             "slogdet(A)[1], A singular": "test_slogdet_of_a_singular_matrix_raises_naming_slogdet",
             "pinv(A), A rank deficient": "test_pinv_at_rank_deficiency_along_constant_rank"}


def docs_rows() -> dict[str, str]:
    """The first cell of each row of the table in docs/conventions.md (backquotes removed) → the row."""
    from pathlib import Path

    text = (Path(__file__).parents[2] / "docs" / "conventions.md").read_text()
    table = text[text.index("## Where the derivative is undefined"):text.index("### Repeated eigenvalues")]
    rows = [line for line in table.splitlines() if line.startswith("| ") and not line.startswith("| case")
            and not line.startswith("| ---")]
    return {row.split("|")[1].strip().replace("`", ""): row for row in rows}


def test_every_row_of_the_docs_table_has_a_test():
    rows = docs_rows()
    assert len(rows) == len(EDGE_CASES) + len(OWN_TESTS)
    cases = {e.name for e in EDGE_CASES}
    for first_cell in rows:
        assert first_cell in cases or first_cell in OWN_TESTS, f"no test for the docs row {first_cell!r}"
    for name in cases:
        assert name in rows, f"EDGE_CASES row {name!r} is not in the docs table"


# ---- sinc ------------------------------------------------------------------------------------------------
def test_sinc_derivatives_at_zero():
    d1 = chainrule.grad(cnp.sinc)
    d2 = chainrule.grad(d1)
    d3 = chainrule.grad(d2)
    d4 = chainrule.grad(d3)
    assert d1(0.0) == 0.0
    assert d2(0.0) == pytest.approx(-math.pi ** 2 / 3, rel=1e-14)
    assert d3(0.0) == pytest.approx(0.0, abs=1e-12)
    assert d4(0.0) == pytest.approx(math.pi ** 4 / 5, rel=1e-12)


def _sinc_derivatives_exact(x: float) -> tuple[float, float]:
    mpmath = pytest.importorskip("mpmath")
    with mpmath.workdps(60):  # 60 digits: no cancellation near 0
        sinc = lambda t: mpmath.sin(mpmath.pi * t) / (mpmath.pi * t)  # noqa: E731
        return tuple(float(mpmath.diff(sinc, mpmath.mpf(x), k)) for k in (1, 2))


@pytest.mark.parametrize("x", [1e-8, 1e-3, 0.05, 0.0999, 0.1001, 0.3, -0.07, 1.0, 2.5])
def test_sinc_is_smooth_across_its_series_switch(x):
    assert chainrule.gradcheck(cnp.sinc, np.array([x]), order=2, rtol=1e-6, atol=1e-8)
    d1, d2 = _sinc_derivatives_exact(x)
    assert chainrule.grad(cnp.sinc)(x) == pytest.approx(d1, rel=1e-12, abs=1e-15)
    assert chainrule.grad(chainrule.grad(cnp.sinc))(x) == pytest.approx(d2, rel=1e-9)


def test_sinc_float32_keeps_its_dtype_and_accuracy():
    x = T(np.array([0.0, 0.01, 0.2], dtype=np.float32), requires_grad=True)
    cnp.sum(cnp.sinc(x)).backward()
    assert x.grad.dtype == np.float32
    exact = [0.0] + [(math.cos(math.pi * v) - math.sin(math.pi * v) / (math.pi * v)) / v for v in (0.01, 0.2)]
    np.testing.assert_allclose(x.grad, exact, rtol=1e-5, atol=1e-6)


# ---- negative axes in permutations ---------------------------------------------------------------------
@pytest.mark.parametrize("axes", [(-1, 0, 1), (2, -3, -2), (-1, -2, -3), (0, -1, 1)])
def test_transpose_with_negative_axes(axes, rng):
    x = rng.standard_normal((2, 3, 4))
    np.testing.assert_array_equal(cnp.transpose(T(x), axes).data, np.transpose(x, axes))
    assert chainrule.gradcheck(lambda x: cnp.transpose(x, axes), x, order=2)
    t = T(x, requires_grad=True)
    weights = rng.standard_normal(np.transpose(x, axes).shape)
    cnp.sum(np.transpose(t, axes) * weights).backward()
    np.testing.assert_allclose(t.grad, np.transpose(weights, np.argsort(np.array(axes) % 3)))
    for other in (t.transpose(*axes), t.transpose(axes), cnp.permute_dims(t, axes)):
        np.testing.assert_array_equal(other.data, np.transpose(x, axes))


def test_other_axis_permutations_take_negative_axes(rng):
    x = rng.standard_normal((2, 3, 4))
    checks = {
        "moveaxis": (lambda x: cnp.moveaxis(x, -1, 0), lambda x: np.moveaxis(x, -1, 0)),
        "moveaxis pairs": (lambda x: cnp.moveaxis(x, (-1, 0), (0, -1)), lambda x: np.moveaxis(x, (-1, 0), (0, -1))),
        "swapaxes": (lambda x: cnp.swapaxes(x, -1, -3), lambda x: np.swapaxes(x, -1, -3)),
        "rollaxis": (lambda x: cnp.rollaxis(x, -1, -2), lambda x: np.rollaxis(x, -1, -2)),
        "rot90": (lambda x: cnp.rot90(x, 1, (-1, -2)), lambda x: np.rot90(x, 1, (-1, -2))),
        "tensordot": (lambda x: cnp.tensordot(x, x, axes=([-1, 0], [-1, 0])),
                      lambda x: np.tensordot(x, x, axes=([-1, 0], [-1, 0]))),
        "matrix_transpose": (cnp.matrix_transpose, lambda x: np.swapaxes(x, -1, -2)),
        "diagonal": (lambda x: cnp.diagonal(x, 0, -1, -3), lambda x: np.diagonal(x, 0, -1, -3)),
        "flip": (lambda x: cnp.flip(x, (-1, -3)), lambda x: np.flip(x, (-1, -3))),
        "sum": (lambda x: cnp.sum(x, axis=(-1, -3)), lambda x: np.sum(x, axis=(-1, -3))),
    }
    for name, (ours, numpy) in checks.items():
        np.testing.assert_allclose(ours(T(x)).data, numpy(x), err_msg=name)
        assert chainrule.gradcheck(ours, x), name


# ---- clip with Tensor bounds -------------------------------------------------------------------------------
def test_clip_bounds_receive_their_gradient(rng):
    x = rng.uniform(-2, 2, (3, 4))
    lo, hi = rng.uniform(-1.5, -0.5, (4,)), rng.uniform(0.5, 1.5, (3, 1))
    assert chainrule.gradcheck(lambda x, lo, hi: cnp.clip(x, lo, hi), x, lo, hi, order=2)
    assert chainrule.gradcheck(lambda x, lo: cnp.clip(x, lo, None), x, lo)
    assert chainrule.gradcheck(lambda x, hi: cnp.clip(x, a_max=hi), x, hi)
    tx, tlo, thi = (T(v, requires_grad=True) for v in (x, lo, hi))
    cnp.sum(tx.clip(tlo, thi)).backward()
    np.testing.assert_array_equal(tlo.grad, np.sum(x < lo, axis=0))
    np.testing.assert_array_equal(thi.grad, np.sum(x > hi, axis=1, keepdims=True))
    np.testing.assert_array_equal(tx.grad, (x >= lo) & (x <= hi))


def test_clip_with_crossed_bounds_gives_everything_to_the_upper_bound():
    """NumPy's clip(x, lo, hi) with lo > hi is hi everywhere: the gradient goes to hi alone."""
    x, lo, hi = _a(-1.0, 0.5, 3.0), _a(2.0, 2.0, 2.0), _a(1.0, 1.0, 1.0)
    gx, glo, ghi = chainrule.grad(lambda x, lo, hi: cnp.sum(cnp.clip(x, lo, hi)), argnums=(0, 1, 2))(x, lo, hi)
    np.testing.assert_array_equal(gx, 0)
    np.testing.assert_array_equal(glo, 0)
    np.testing.assert_array_equal(ghi, 1)


# ---- eigenvalues: repeated, eigenvalue-only ------------------------------------------------------------------
def _with_repeated_eigenvalues(rng, values):
    q, _ = np.linalg.qr(rng.standard_normal((len(values), len(values))))
    return q @ np.diag(values) @ q.T


def test_eigvalsh_at_repeated_eigenvalues_is_finite_and_right(rng):
    a = _with_repeated_eigenvalues(rng, [1.0, 1.0, 1.0, 3.0])
    # a symmetric function of the eigenvalues: trace(A²) = Σ λ², gradient 2A
    g = chainrule.grad(lambda a: cnp.sum(cnp.linalg.eigvalsh(a) ** 2))(a)
    np.testing.assert_allclose(g, 2 * a, atol=1e-12)
    # eigenvalue-only use of eigh: the same
    g = chainrule.grad(lambda a: cnp.sum(cnp.linalg.eigh(a)[0] ** 2))(a)
    np.testing.assert_allclose(g, 2 * a, atol=1e-12)
    # log det A = Σ log λ: gradient A⁻¹
    g = chainrule.grad(lambda a: cnp.sum(cnp.log(cnp.linalg.eigvalsh(a))))(a)
    np.testing.assert_allclose(g, np.linalg.inv(a), atol=1e-12)


def test_eigvalsh_second_order(rng):
    """Second derivatives go through the eigenvectors: exact at distinct eigenvalues, NaN (undefined there,
    never a wrong number) at exactly repeated ones."""
    square_sum = lambda a: cnp.sum(cnp.linalg.eigvalsh(a) ** 2)  # noqa: E731  (= trace A², Hessian 2·I)
    direction = rng.standard_normal((3, 3))
    direction = direction + direction.T
    np.testing.assert_allclose(chainrule.hvp(square_sum, np.diag([1.0, 2.0, 3.0]), direction), 2 * direction,
                               atol=1e-12)
    assert np.isnan(chainrule.hvp(square_sum, np.eye(3), direction)).any()


def test_eigvalsh_gradcheck_and_batches(rng):
    a = rng.standard_normal((2, 3, 3))
    sym = lambda a: (a + np.swapaxes(a, -1, -2)) / 2  # noqa: E731
    assert chainrule.gradcheck(lambda a: cnp.linalg.eigvalsh(sym(a)), a, order=2)
    assert chainrule.gradcheck(lambda a: cnp.linalg.eigvalsh(sym(a), UPLO="U"), a)


def _matrix_square_through_eigh(weights):
    def loss(a):  # Σ weights ∘ A², through the eigendecomposition
        w, v = cnp.linalg.eigh(a)
        return cnp.sum(((v * w ** 2) @ v.T) * weights)

    return loss


def test_eigh_vectors_at_exactly_repeated_eigenvalues_are_nan(rng):
    """The eigenvectors of a repeated eigenvalue have no derivative: NaN, never a number that looks right."""
    weights = rng.standard_normal((3, 3))
    g = chainrule.grad(_matrix_square_through_eigh(weights))(np.diag([2.0, 2.0, 5.0]))
    assert np.isnan(g).any()
    g = chainrule.grad(lambda a: cnp.sum(cnp.linalg.eigh(a)[1] * weights))(np.eye(3))
    assert np.isnan(g).any()


def test_eigh_vectors_at_nearly_repeated_eigenvalues(rng):
    """Close but distinct eigenvalues: large terms that cancel in a basis-independent loss (to ~eps/gap)."""
    weights = rng.standard_normal((3, 3))
    for gap in (1e-3, 1e-7):
        a = _with_repeated_eigenvalues(rng, [2.0, 2.0 + gap, 5.0])
        g = chainrule.grad(_matrix_square_through_eigh(weights))(a)
        np.testing.assert_allclose(g, _grad_of_weighted_square(a, weights), atol=1e-14 / gap)


def _grad_of_weighted_square(a, weights):
    """∂/∂A Σ W ∘ A² for symmetric A, symmetrised (the convention of eigh's rule): (WAᵀ + AᵀW) sym."""
    g = weights @ a.T + a.T @ weights
    return (g + g.T) / 2


# ---- pinv: its own rule --------------------------------------------------------------------------------------
def test_pinv_gradcheck_at_full_rank(rng):
    for shape in ((3, 3), (4, 2), (2, 4), (2, 3, 2)):
        assert chainrule.gradcheck(cnp.linalg.pinv, rng.standard_normal(shape), order=2)


def test_pinv_at_rank_deficiency_along_constant_rank(rng):
    """A = B C with B 4×2, C 2×3 has rank 2: pinv(B C) is smooth in (B, C), and its gradient is right."""
    b, c = rng.standard_normal((4, 2)), rng.standard_normal((2, 3))
    assert chainrule.gradcheck(lambda b, c: cnp.linalg.pinv(b @ c), b, c, order=2)
    assert chainrule.gradcheck(lambda b, c: cnp.linalg.pinv(cnp.swapaxes(b @ c, -1, -2)), b, c)


def test_pinv_at_repeated_singular_values(rng):
    """The SVD's rule divides by σᵢ² − σⱼ²; pinv's own rule does not: orthogonal matrices are fine."""
    q, _ = np.linalg.qr(rng.standard_normal((3, 3)))
    g = chainrule.grad(lambda a: cnp.sum(cnp.linalg.pinv(a) * np.arange(9.0).reshape(3, 3)))(q)
    assert np.isfinite(g).all()
    assert chainrule.gradcheck(cnp.linalg.pinv, q, order=2)
    assert chainrule.gradcheck(cnp.linalg.pinv, 2 * np.eye(3))


def test_pinv_cutoff_matches_numpy(rng):
    a = rng.standard_normal((4, 2)) @ rng.standard_normal((2, 3))
    for rcond in (1e-15, 1e-10):
        np.testing.assert_allclose(cnp.linalg.pinv(T(a), rcond=rcond).data, np.linalg.pinv(a, rcond=rcond),
                                   atol=1e-12)
    h = a @ a.T
    np.testing.assert_allclose(cnp.linalg.pinv(T(h), hermitian=True).data, np.linalg.pinv(h, hermitian=True),
                               atol=1e-10)


# ---- svd singular values only ---------------------------------------------------------------------------------
def test_svdvals_at_repeated_and_zero_singular_values(rng):
    q1, _ = np.linalg.qr(rng.standard_normal((4, 4)))
    q2, _ = np.linalg.qr(rng.standard_normal((3, 3)))
    a = q1[:, :3] @ np.diag([2.0, 2.0, 0.0]) @ q2.T
    # ‖A‖_F² = Σ σ²: gradient 2A, at repeated and zero singular values
    g = chainrule.grad(lambda a: cnp.sum(cnp.linalg.svd(a, compute_uv=False) ** 2))(a)
    np.testing.assert_allclose(g, 2 * a, atol=1e-12)
    # nuclear norm of a rank-deficient matrix: U Vᵀ over the nonzero singular values (a subgradient)
    g = chainrule.grad(lambda a: cnp.linalg.norm(a, "nuc"))(a)
    assert np.isfinite(g).all()


# ---- det / slogdet of singular matrices ------------------------------------------------------------------------
def _cofactor(a):
    n = a.shape[-1]
    c = np.empty_like(a)
    for i in range(n):
        for j in range(n):
            minor = np.delete(np.delete(a, i, axis=0), j, axis=1)
            c[i, j] = (-1) ** (i + j) * np.linalg.det(minor)
    return c


@pytest.mark.parametrize("rank", [0, 1, 2, 3, 4])
def test_det_gradient_is_the_cofactor_matrix_at_any_rank(rank, rng):
    u = rng.standard_normal((4, rank))
    a = u @ rng.standard_normal((rank, 4)) if rank else np.zeros((4, 4))
    g = chainrule.grad(cnp.linalg.det)(a)
    np.testing.assert_allclose(g, _cofactor(a), atol=1e-10)
    assert chainrule.gradcheck(cnp.linalg.det, a)
    if rank >= 3:  # rank n − 1 or full: second derivatives too
        assert chainrule.gradcheck(cnp.linalg.det, a, order=2)
    else:  # the SVD's singular vectors of a repeated (zero) singular value: refused, never wrong
        with pytest.raises(TypeError, match=r"det.*rank ≤ n − 2"):
            chainrule.hessian(cnp.linalg.det)(a)


def test_det_second_order_at_repeated_singular_values(rng):
    """Orthogonal matrices and the identity (all singular values equal) take the well-conditioned path."""
    q, _ = np.linalg.qr(rng.standard_normal((3, 3)))
    for a in (np.eye(3), q, 2 * q):
        assert chainrule.gradcheck(cnp.linalg.det, a, order=2)


def test_det_of_singular_matrices_in_a_batch(rng):
    a = rng.standard_normal((3, 3, 3))
    a[1, 2] = a[1, 0] + a[1, 1]  # singular
    g = chainrule.grad(lambda a: cnp.sum(cnp.linalg.det(a)))(a)
    for k in range(3):
        np.testing.assert_allclose(g[k], _cofactor(a[k]), atol=1e-10)
    assert chainrule.gradcheck(cnp.linalg.det, a, order=2)


def test_slogdet_of_a_singular_matrix_raises_naming_slogdet():
    with pytest.raises(np.linalg.LinAlgError, match="slogdet.*singular"):
        chainrule.grad(lambda a: cnp.linalg.slogdet(a)[1])(SINGULAR)


def test_det_keeps_float32(rng):
    a = T(rng.standard_normal((3, 3)).astype(np.float32), requires_grad=True)
    cnp.linalg.det(a).backward()
    assert a.grad.dtype == np.float32


# ---- in composition: compile, float32, nested grads ------------------------------------------------------------
def test_edge_rules_under_compile(rng):
    x, lo, hi = rng.uniform(-2, 2, (3, 4)), rng.uniform(-1.5, -0.5, (4,)), rng.uniform(0.5, 1.5, (3, 1))
    a = rng.standard_normal((3, 3))

    def loss(x, lo, hi, a):
        sym = (a + a.T) / 2
        return (cnp.sum(cnp.clip(x, lo, hi) ** 2) + cnp.sum(cnp.transpose(x[..., None], (-1, 0, 1)) ** 3)
                + cnp.sum(cnp.linalg.eigvalsh(sym) ** 2) + cnp.sum(cnp.linalg.pinv(a)) + cnp.linalg.det(a)
                + cnp.linalg.norm(x) + cnp.std(x))

    step = chainrule.compile(chainrule.grad(loss, argnums=(0, 1, 2, 3)))
    for scale in (1.0, 0.7, 1.3):
        args = (scale * x, lo, hi, scale * a)
        for got, want in zip(step(*args), chainrule.grad(loss, argnums=(0, 1, 2, 3))(*args), strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_norm_and_std_at_zero_under_compile():
    """The zero-safe square root is a recorded choice, not a Python branch: a replay at 0 is right too."""
    step = chainrule.compile(chainrule.grad(lambda x: cnp.linalg.norm(x) + cnp.std(x)))
    ones = np.array([1.0, 2.0, 4.0])
    np.testing.assert_allclose(step(ones), chainrule.grad(lambda x: cnp.linalg.norm(x) + cnp.std(x))(ones))
    np.testing.assert_array_equal(step(np.zeros(3)), np.zeros(3))


def test_float32_through_the_new_rules(rng):
    for f, x in ((cnp.linalg.pinv, rng.standard_normal((3, 2))), (cnp.linalg.eigvalsh, np.diag([1.0, 1.0, 2.0])),
                 (cnp.linalg.det, SINGULAR), (lambda x: cnp.clip(x, x[:1] * 0.5, None), rng.standard_normal((2, 3)))):
        t = T(x.astype(np.float32), requires_grad=True)
        out = cnp.sum(f(t))
        assert out.dtype == np.float32
        out.backward()
        assert t.grad.dtype == np.float32 and np.isfinite(t.grad).all()


def test_nested_grads_through_the_new_rules(rng):
    """grad of grad through eigvalsh, pinv and clip with a Tensor bound (third order through a closure)."""
    a = rng.standard_normal((3, 3))
    a = a + a.T + 6 * np.eye(3)
    cubes = chainrule.grad(lambda b: cnp.sum(cnp.linalg.eigvalsh(b) ** 3))  # = 3 A² for symmetric A
    assert chainrule.gradcheck(lambda a: cubes((a + cnp.transpose(a)) / 2), a)
    np.testing.assert_allclose(cubes(a), 3 * a @ a, rtol=1e-12)
    assert chainrule.gradcheck(lambda a: chainrule.grad(lambda b: cnp.sum(cnp.linalg.pinv(b) ** 2))(a), a)
    x = rng.uniform(-2, 2, 5)
    h = chainrule.hessian(lambda lo: cnp.sum(cnp.clip(x, lo, None) ** 2))(np.full(5, 0.1))
    np.testing.assert_allclose(h, np.diag(2.0 * (x < 0.1)))
