"""Transformations compose: grad of grad through closures, at any depth, against PyTorch and by hand."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp


def _torch():
    return pytest.importorskip("torch")


# ---- the examples that used to be silently wrong ---------------------------------------------------------


def test_inner_grad_closing_over_the_outer_variable():
    assert cr.grad(lambda x: x * cr.grad(lambda y: x * y)(2.0))(3.0) == pytest.approx(6.0)


def test_inner_grad_whose_closure_is_the_outer_argument():
    rng = np.random.default_rng(0)
    a, b, u, v0 = (rng.normal(size=s) for s in [(3, 4), (4, 2), (3, 4), (3, 2)])
    inner = lambda x, v: cr.grad(lambda x_: np.sum(np.dot(x_, b) * v))(x)  # noqa: E731
    result = cr.grad(lambda v: np.sum(inner(a, v) * u))(v0)
    np.testing.assert_allclose(result, u @ b, rtol=1e-12)


def test_siskind_pearlmutter_no_perturbation_confusion():
    # d/dx [x · d/dy (x + y)] = d/dx [x · 1] = 1; a confused implementation gives 2
    assert cr.grad(lambda x: x * cr.grad(lambda y: x + y)(1.0))(2.0) == pytest.approx(1.0)
    # the same with the inner variable shadowing the outer value
    assert cr.grad(lambda x: x * cr.grad(lambda y: x * y)(x))(3.0) == pytest.approx(6.0)


def test_three_levels_where_the_middle_closes_over_the_outer_one():
    # f(x) = d/dy [ y · d/dz (x y z²) |z=1 ] |y=2 = d/dy [2 x y²] = 4 x y = 8x; f'(x) = 8
    f = lambda x: cr.grad(lambda y: cr.grad(lambda z: x * y * z * z)(1.0) * y)(2.0)  # noqa: E731
    assert f(3.0) == pytest.approx(24.0)
    assert cr.grad(f)(3.0) == pytest.approx(8.0)
    assert cr.grad(cr.grad(lambda x: x * f(x)))(3.0) == pytest.approx(16.0)  # (8x²)'' = 16


def test_un_nested_results_are_plain_arrays():
    g = cr.grad(lambda x: cr.grad(lambda y: y * y * x)(2.0))(3.0)
    assert type(g) is np.ndarray
    value, grad = cr.value_and_grad(lambda x: (x * x).sum())(np.ones(2))
    assert isinstance(value, float) and type(grad) is np.ndarray
    with cr.no_grad():  # nothing outside records, even with a Tensor that requires grad in the closure
        w = cr.tensor(2.0, requires_grad=True)
        assert type(cr.grad(lambda x: x * w)(1.0)) is np.ndarray


def test_tensor_api_outside_grad_inside():
    w = cr.tensor([0.5, -1.0], requires_grad=True)
    g = cr.grad(lambda x: cnp.sum(cnp.tanh(x * w)))(np.array([1.0, 2.0]))
    assert isinstance(g, cr.Tensor) and g.requires_grad
    cnp.sum(g * g).backward()
    x = np.array([1.0, 2.0])
    # g = w (1 - tanh²(xw));  d/dw Σ g² = 2 g · [(1 - t²) - 2 w t (1 - t²) x]
    t = np.tanh(x * w.data)
    gv = w.data * (1 - t**2)
    expected = 2 * gv * ((1 - t**2) - 2 * w.data * t * (1 - t**2) * x)
    np.testing.assert_allclose(w.grad, expected, rtol=1e-12)


def test_mixed_partials_via_argnums():
    f = lambda x, y: cnp.sin(x * y) * x  # noqa: E731
    dxdy = cr.grad(cr.grad(f, argnums=0), argnums=1)(0.7, 1.3)
    # ∂/∂y [y cos(xy) x + sin(xy)] = x cos(xy) - x² y sin(xy) + x cos(xy)
    x, y = 0.7, 1.3
    assert dxdy == pytest.approx(2 * x * np.cos(x * y) - x * x * y * np.sin(x * y), rel=1e-12)
    both = cr.grad(lambda x, y: cr.grad(f, argnums=(0, 1))(x, y)[0] * y, argnums=(0, 1))(x, y)
    assert len(both) == 2 and all(np.isfinite(b) for b in both)


def test_vjp_pullback_is_differentiable_in_closure_and_cotangent():
    w0 = np.array([0.3, -0.2, 0.5])

    def through_pullback(w):
        _, pullback = cr.vjp(lambda x: cnp.tanh(x * w), np.array([1.0, 2.0, 3.0]))
        (gx,) = pullback(np.ones(3))
        return cnp.sum(gx ** 2)

    numeric = _finite_difference(through_pullback, w0)
    np.testing.assert_allclose(cr.grad(through_pullback)(w0), numeric, rtol=1e-6)

    def in_cotangent(c):
        _, pullback = cr.vjp(lambda x: x ** 3, np.array([1.0, 2.0]))
        return cnp.sum(pullback(c)[0])

    np.testing.assert_allclose(cr.grad(in_cotangent)(np.array([0.5, 0.5])), [3.0, 12.0])


def test_closures_of_jvp_jacobian_hvp():
    w0 = np.array([0.4, 0.9])
    x0 = np.array([1.0, -0.5])
    fs = {
        "jvp": lambda w: cnp.sum(cr.jvp(lambda x: cnp.sin(x * w), (x0,), (np.ones(2),))[1] ** 2),
        "jacobian": lambda w: cnp.sum(cr.jacobian(lambda x: cnp.sin(x * w))(x0) ** 2),
        "hvp": lambda w: cnp.sum(cr.hvp(lambda x: cnp.sum(cnp.sin(x * w)), x0, np.ones(2))),
        "hessian": lambda w: cnp.sum(cr.hessian(lambda x: cnp.sum(cnp.sin(x * w) * x))(x0)),
    }
    for name, f in fs.items():
        np.testing.assert_allclose(cr.grad(f)(w0), _finite_difference(f, w0), rtol=1e-6, atol=1e-8,
                                   err_msg=name)


def test_gradient_penalty_through_grad_and_vjp_against_torch():
    torch = _torch()
    rng = np.random.default_rng(1)
    w0, x0 = rng.normal(size=(3, 4)), rng.normal(size=(5, 3))

    def critic(x, w):
        return cnp.sum(cnp.tanh(x @ w))

    def penalty_grad(w):
        g = cr.grad(critic)(x0, w)
        return cnp.sum((cnp.sqrt(cnp.sum(g * g, axis=1)) - 1.0) ** 2)

    def penalty_vjp(w):
        _, pullback = cr.vjp(lambda x: cnp.tanh(x @ w), x0)
        (g,) = pullback(np.ones((5, 4)))
        return cnp.sum((cnp.sqrt(cnp.sum(g * g, axis=1)) - 1.0) ** 2)

    tw = torch.tensor(w0, requires_grad=True)
    tx = torch.tensor(x0, requires_grad=True)
    (tg,) = torch.autograd.grad(torch.tanh(tx @ tw).sum(), tx, create_graph=True)
    tpen = ((tg.pow(2).sum(1).sqrt() - 1) ** 2).sum()
    (expected,) = torch.autograd.grad(tpen, tw)
    np.testing.assert_allclose(cr.grad(penalty_grad)(w0), expected.numpy(), rtol=1e-10)
    np.testing.assert_allclose(cr.grad(penalty_vjp)(w0), expected.numpy(), rtol=1e-10)


def test_hyperparameter_gradient_through_an_inner_sgd_step_against_torch():
    torch = _torch()
    rng = np.random.default_rng(2)
    w0, xt, yt, xv, yv = rng.normal(size=3), rng.normal(size=(8, 3)), rng.normal(size=8), \
        rng.normal(size=(6, 3)), rng.normal(size=6)

    def loss(w, x, y):
        return cnp.mean((cnp.tanh(x @ w) - y) ** 2)

    def validation_after_step(lr):
        w1 = w0 - lr * cr.grad(loss)(w0, xt, yt)
        w2 = w1 - lr * cr.grad(loss)(w1, xt, yt)
        return loss(w2, xv, yv)

    tl = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
    tloss = lambda w, x, y: ((torch.tanh(x @ w) - y) ** 2).mean()  # noqa: E731
    T = lambda a: torch.tensor(a)  # noqa: E731
    w = T(w0).requires_grad_()
    (g,) = torch.autograd.grad(tloss(w, T(xt), T(yt)), w, create_graph=True)
    w1 = w - tl * g
    (g1,) = torch.autograd.grad(tloss(w1, T(xt), T(yt)), w1, create_graph=True)
    w2 = w1 - tl * g1
    (expected,) = torch.autograd.grad(tloss(w2, T(xv), T(yv)), tl)
    assert cr.grad(validation_after_step)(0.3) == pytest.approx(expected.item(), rel=1e-10)


# ---- random nested programs against PyTorch, three levels deep -----------------------------------------

_UNARY = ("sin", "tanh", "square", "exp_small")
_BINARY = ("mul", "add", "sub")


def _random_program(rng: np.random.Generator, n_vars: int, length: int) -> list:
    program = []
    for step in range(length):
        available = n_vars + step
        if rng.random() < 0.4:
            program.append((_UNARY[rng.integers(len(_UNARY))], int(rng.integers(available)), None))
        else:
            program.append((_BINARY[rng.integers(len(_BINARY))], int(rng.integers(available)),
                            int(rng.integers(available))))
    return program


def _run(program: list, values: list, lib) -> object:
    values = list(values)
    for op, i, j in program:
        a = values[i]
        if op == "sin":
            values.append(lib.sin(a))
        elif op == "tanh":
            values.append(lib.tanh(a))
        elif op == "square":
            values.append(a * a)
        elif op == "exp_small":
            values.append(lib.exp(0.3 * a))
        elif op == "mul":
            values.append(a * values[j])
        elif op == "add":
            values.append(a + values[j])
        else:
            values.append(a - values[j])
    # every variable appears in the output, so that each level depends on all of them
    return sum(values[len(values) - len(program):][-3:]) + 0.1 * sum(values[:len(values) - len(program)])


@pytest.mark.parametrize("seed", range(24))
def test_random_three_level_programs_match_torch(seed):
    torch = _torch()
    rng = np.random.default_rng(seed)
    p3, p2, p1 = (_random_program(rng, n, 6) for n in (3, 3, 2))
    z0, y0, x0 = (float(v) for v in rng.uniform(-1, 1, size=3))

    # level 3: h(x, y, z); level 2: g(x, y) = run(p2, [x, y, ∂h/∂z]); level 1: f(x) = run(p1, [x, ∂g/∂y])
    def f_cr(x):
        def g(y):
            dz = cr.grad(lambda z: _run(p3, [x, y, z], cnp))(z0)
            return _run(p2, [x, y, dz], cnp)

        return _run(p1, [x, cr.grad(g)(y0)], cnp)

    def grad_t(fun, at):
        v = at if isinstance(at, torch.Tensor) else torch.tensor(at, dtype=torch.float64, requires_grad=True)
        out = fun(v)
        if not out.requires_grad:
            return torch.zeros((), dtype=torch.float64)
        (g,) = torch.autograd.grad(out, v, create_graph=True, allow_unused=True)
        return torch.zeros((), dtype=torch.float64) if g is None else g

    def f_t(x):
        def g(y):
            return _run(p2, [x, y, grad_t(lambda z: _run(p3, [x, y, z], torch), z0)], torch)

        return _run(p1, [x, grad_t(g, y0)], torch)

    expected_value = f_t(torch.tensor(x0, dtype=torch.float64)).item()
    expected_grad = grad_t(f_t, x0).item()
    expected_second = grad_t(lambda x: grad_t(f_t, x), x0).item()
    assert float(f_cr(x0)) == pytest.approx(expected_value, rel=1e-10, abs=1e-12)
    assert float(cr.grad(f_cr)(x0)) == pytest.approx(expected_grad, rel=1e-9, abs=1e-12)
    assert float(cr.grad(cr.grad(f_cr))(x0)) == pytest.approx(expected_second, rel=1e-8, abs=1e-10)


def _finite_difference(f, x, eps=1e-6):
    x = np.asarray(x, dtype=float)
    out = np.zeros_like(x)
    for i in range(x.size):
        step = np.zeros_like(x)
        step.reshape(-1)[i] = eps
        out.reshape(-1)[i] = (float(f(x + step)) - float(f(x - step))) / (2 * eps)
    return out
