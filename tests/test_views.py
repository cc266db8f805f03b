"""In-place writes through views have NumPy's semantics under grad exactly as without it."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp


def test_writing_a_slice_changes_its_base_under_grad():
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 1
    row = y[1:]
    row += 10
    s = (y * y).sum()
    assert s.item() == pytest.approx(314.0)  # NumPy and PyTorch: 1 + 144 + 169
    s.backward()
    np.testing.assert_allclose(x.grad, [2.0, 24.0, 26.0])


def test_a_view_taken_earlier_sees_a_later_write_into_its_base():
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    v = cr.tensor(5.0, requires_grad=True)
    y = x * 2
    r = y[1:]
    y[2] = v * 3
    np.testing.assert_allclose(r.data, [4.0, 15.0])
    out = (r * r).sum()
    out.backward()
    np.testing.assert_allclose(x.grad, [0.0, 16.0, 0.0])
    assert v.grad == pytest.approx(90.0)


def test_sibling_views_and_views_of_views():
    x = cr.tensor(np.arange(12.0), requires_grad=True)
    y = x * 1
    m = y.reshape(3, 4)
    col = m[:, 1]
    corner = m[1:, 2:][0]
    col *= 2  # y[1], y[5], y[9] doubled
    corner += 100  # y[6], y[7]
    expected = np.arange(12.0)
    expected[[1, 5, 9]] *= 2
    expected[[6, 7]] += 100
    np.testing.assert_allclose(y.data, expected)
    np.testing.assert_allclose(m.data.reshape(-1), expected)
    (y * np.arange(12.0)).sum().backward()
    g = np.arange(12.0)
    g[[1, 5, 9]] *= 2
    np.testing.assert_allclose(x.grad, g)


def test_transposed_view_write():
    x = cr.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    y = x + 0
    y.T[0] = 100.0
    np.testing.assert_allclose(y.data, [[100, 1, 2], [100, 4, 5]])
    y.sum().backward()
    np.testing.assert_allclose(x.grad, [[0, 1, 1], [0, 1, 1]])


def test_write_through_a_view_when_a_graph_saved_the_memory():
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 1
    z = y * y  # saves y's array
    r = y[:2]
    r[0] = -1.0  # copy on write: z's graph keeps y's old values
    np.testing.assert_allclose(y.data, [-1.0, 2.0, 3.0])
    np.testing.assert_allclose(r.data, [-1.0, 2.0])
    z.sum().backward()
    np.testing.assert_allclose(x.grad, [2.0, 4.0, 6.0])


def test_no_grad_writes_through_views_keep_numpy_semantics_and_saved_values():
    w = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    loss = (w * w).sum()  # saves w's array
    with cr.no_grad():
        head = w[:2]
        head -= 1.0  # copy on write away from the saved array, w and its view move together
        np.testing.assert_allclose(w.data, [0.0, 1.0, 3.0])
        np.testing.assert_allclose(head.data, [0.0, 1.0])
    loss.backward()
    np.testing.assert_allclose(w.grad, [2.0, 4.0, 6.0])  # at the recorded values


def test_write_through_a_view_of_a_leaf_that_requires_grad_is_refused():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="view of a leaf"):
        x[:1] += 1.0


def test_grad_mode_never_changes_the_values_a_program_computes():
    """A random program of views and in-place writes gives the same values under grad as in NumPy."""
    for seed in range(40):
        rng = np.random.default_rng(seed)
        start = rng.normal(size=(4, 5))
        steps = []
        for _ in range(6):
            kind = rng.integers(4)
            r0, r1 = sorted(rng.integers(0, 4, size=2))
            c0 = int(rng.integers(0, 5))
            steps.append((kind, int(r0), int(r1) + 1, c0, float(rng.normal())))

        def program(y, lib):
            views = []
            for kind, r0, r1, c0, value in steps:
                if kind == 0:
                    views.append(y[r0:r1])
                elif kind == 1:
                    views.append(y.T[c0])
                elif kind == 2 and views:
                    target = views[-1]
                    target += value
                else:
                    y[r0, c0] = value * lib.sum(y[r0])  # reads the current value
            return [y] + views

        expected = program(start.copy(), np)
        x = cr.tensor(start, requires_grad=True)
        got = program(x * 1, cnp)
        for e, g in zip(expected, got, strict=True):
            np.testing.assert_allclose(g.data, e, rtol=1e-12, err_msg=f"seed {seed}")
        total = sum((g * g).sum() for g in got)
        total.backward()
        assert np.isfinite(x.grad).all()


def test_random_view_programs_match_torch_gradients():
    torch = pytest.importorskip("torch")
    for seed in range(25):
        rng = np.random.default_rng(100 + seed)
        start, other = rng.normal(size=(4, 5)), rng.normal(size=5)
        plan = [(int(rng.integers(3)), int(rng.integers(4)), int(rng.integers(5))) for _ in range(5)]

        def program(y, v, lib):
            block = y[1:3]
            col = y[:, 2]
            for kind, r, c in plan:
                if kind == 0:
                    block *= 1.5
                elif kind == 1:
                    y[r] = lib.sin(v) * y[r]
                else:
                    col += y[r, c] * 1.0  # (a copy: in PyTorch y[r, c] is a view, in NumPy a scalar)
            return (y * y).sum() + (block * col[1:3, None]).sum()

        x = cr.tensor(start, requires_grad=True)
        v = cr.tensor(other, requires_grad=True)
        out = program(x * 1, v, cnp)
        out.backward()
        assert out.item() == pytest.approx(program(start.copy(), other, np), rel=1e-12)
        tx = torch.tensor(start, requires_grad=True)
        tv = torch.tensor(other, requires_grad=True)
        tout = program(tx * 1, tv, torch)
        try:
            tout.backward()
        except RuntimeError as error:  # PyTorch cannot differentiate this one: finite differences instead
            assert "modified by an inplace operation" in str(error)
            eps = 1e-6
            numeric = np.zeros_like(start)
            for i in np.ndindex(start.shape):
                step = np.zeros_like(start)
                step[i] = eps
                numeric[i] = (program(start + step, other, np) - program(start - step, other, np)) / (2 * eps)
            np.testing.assert_allclose(x.grad, numeric, rtol=1e-6, atol=1e-6, err_msg=f"seed {seed}")
            continue
        assert out.item() == pytest.approx(tout.item(), rel=1e-12)
        np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-10, err_msg=f"seed {seed}")
        if tv.grad is None:  # v was never used
            assert v.grad is None
        else:
            np.testing.assert_allclose(v.grad, tv.grad.numpy(), rtol=1e-10, err_msg=f"seed {seed}")


def test_views_in_nested_grad_and_second_order():
    def f(x):
        y = x * 1
        y[1:] += x[:-1] ** 2
        return cnp.sum(y ** 3)

    x0 = np.array([0.3, -0.4, 0.5])
    g = cr.grad(f)(x0)
    eps = 1e-6
    numeric = np.array([(f(x0 + eps * e) - f(x0 - eps * e)) / (2 * eps) for e in np.eye(3)])
    np.testing.assert_allclose(g, numeric, rtol=1e-6)
    assert cr.gradcheck(f, x0, order=2)


def test_float32_views_keep_dtype():
    x = cr.tensor(np.ones(4, np.float32), requires_grad=True)
    y = x * 2
    y[1:3] += cr.tensor(np.float64(0.5))
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32
