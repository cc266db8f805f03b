"""The functional API: grad, value_and_grad, vjp, jvp, jacobian, hessian, hvp, on arrays and pytrees."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp


def f(x):
    return cnp.sum(cnp.sin(x) * x**2)


def df(x):
    return np.cos(x) * x**2 + 2 * x * np.sin(x)


def test_grad_on_arrays_floats_and_tensors(rng):
    x = rng.standard_normal(5)
    np.testing.assert_allclose(cr.grad(f)(x), df(x), rtol=1e-12)
    assert isinstance(cr.grad(f)(x), np.ndarray)
    assert cr.grad(f)(0.7) == pytest.approx(df(0.7))
    np.testing.assert_allclose(cr.grad(f)(cr.tensor(x)), df(x), rtol=1e-12)


def test_grad_of_integers_is_taken_as_float():
    assert cr.grad(lambda x: x * x)(3) == pytest.approx(6.0)


def test_grad_requires_scalar_output():
    with pytest.raises(TypeError, match=r"scalar.*shape \(3,\).*jacobian"):
        cr.grad(lambda x: x * 2)(np.ones(3))


def test_argnums_and_has_aux(rng):
    a, b = rng.standard_normal(3), rng.standard_normal(3)
    ga, gb = cr.grad(lambda a, b: cnp.sum(a * b**2), argnums=(0, 1))(a, b)
    np.testing.assert_allclose(ga, b**2)
    np.testing.assert_allclose(gb, 2 * a * b)
    g, aux = cr.grad(lambda a: (cnp.sum(a**2), "note"), has_aux=True)(a)
    np.testing.assert_allclose(g, 2 * a)
    assert aux == "note"
    (value, aux), g = cr.value_and_grad(lambda a: (cnp.sum(a**2), 7), has_aux=True)(a)
    assert value == pytest.approx(np.sum(a**2)) and aux == 7
    with pytest.raises(ValueError, match="argnums 5"):
        cr.grad(f, argnums=5)(a)


def test_pytree_of_parameters(rng):
    params = {"w": rng.standard_normal((3, 2)), "b": rng.standard_normal(2), "extra": [rng.standard_normal(2), 1.5]}
    x = rng.standard_normal((4, 3))

    def loss(p):
        return cnp.sum(cnp.tanh(x @ p["w"] + p["b"]) * p["extra"][0]) * p["extra"][1]

    value, grads = cr.value_and_grad(loss)(params)
    assert set(grads) == {"w", "b", "extra"} and isinstance(grads["extra"], list)
    assert grads["w"].shape == (3, 2) and isinstance(grads["extra"][1], np.ndarray)
    h = np.tanh(x @ params["w"] + params["b"])
    dz = (1 - h**2) * params["extra"][0] * params["extra"][1]
    np.testing.assert_allclose(grads["w"], x.T @ dz, rtol=1e-12)
    np.testing.assert_allclose(grads["b"], dz.sum(0), rtol=1e-12)
    assert grads["extra"][1] == pytest.approx(np.sum(h * params["extra"][0]))
    assert value == pytest.approx(np.sum(h * params["extra"][0]) * 1.5)


def test_tree_flatten_roundtrip_on_deep_nesting():
    tree = current = []
    for _ in range(5000):  # deeper than Python's recursion limit
        nxt = []
        current.append(nxt)
        current = nxt
    current.append(1.0)
    leaves, spec = cr.tree_flatten(tree)
    assert leaves == [1.0]
    assert cr.tree_flatten(cr.tree_unflatten(spec, [2.0]))[0] == [2.0]


def test_vjp_and_jvp_agree_with_the_jacobian(rng):
    x = rng.standard_normal(4)

    def g(x):
        return cnp.tanh(x[:3] * x[1:]) * cnp.exp(x[0])

    J = cr.jacobian(g)(x)
    assert J.shape == (3, 4)
    u, v = rng.standard_normal(3), rng.standard_normal(4)
    out, pullback = cr.vjp(g, x)
    np.testing.assert_allclose(out, np.tanh(x[:3] * x[1:]) * np.exp(x[0]))
    np.testing.assert_allclose(pullback(u)[0], u @ J, rtol=1e-12)
    out2, tangent = cr.jvp(g, (x,), (v,))
    np.testing.assert_allclose(tangent, J @ v, rtol=1e-12)
    np.testing.assert_allclose(out2, out)


def test_jvp_costs_a_constant_number_of_evaluations(rng):
    calls = []

    def g(x):
        calls.append(1)
        return cnp.sin(x) * 2

    x = rng.standard_normal(50)
    cr.jvp(g, (x,), (np.ones(50),))
    assert len(calls) == 1


def test_jacobian_of_several_arguments_and_matrix_shapes(rng):
    A, x = rng.standard_normal((2, 3)), rng.standard_normal(3)
    JA, Jx = cr.jacobian(lambda A, x: A @ x, argnums=(0, 1))(A, x)
    assert JA.shape == (2, 2, 3) and Jx.shape == (2, 3)
    np.testing.assert_allclose(Jx, A)
    np.testing.assert_allclose(JA[1, 1], x)
    np.testing.assert_allclose(JA[0, 1], 0)


def test_hessian_and_hvp(rng):
    A = rng.standard_normal((4, 4))
    A = A + A.T
    x = rng.standard_normal(4)

    def quad(x):
        return 0.5 * x @ A @ x + cnp.sum(cnp.sin(x))

    H = cr.hessian(quad)(x)
    np.testing.assert_allclose(H, A - np.diag(np.sin(x)), rtol=1e-12, atol=1e-12)
    v = rng.standard_normal(4)
    np.testing.assert_allclose(cr.hvp(quad, x, v), H @ v, rtol=1e-12)


def test_hvp_on_a_dict_of_parameters(rng):
    p = {"a": rng.standard_normal(3), "b": rng.standard_normal(2)}
    v = {"a": np.ones(3), "b": np.zeros(2)}
    result = cr.hvp(lambda p: cnp.sum(p["a"] ** 3) + cnp.sum(p["b"] ** 2) * cnp.sum(p["a"]), p, v)
    np.testing.assert_allclose(result["a"], 6 * p["a"], rtol=1e-12)
    np.testing.assert_allclose(result["b"], 2 * p["b"] * 3, rtol=1e-12)


def test_nested_grad_does_not_confuse_perturbations():
    # d/dx [x · d/dy (x + y)] = 1: the inner derivative must not see the outer x
    assert cr.grad(lambda x: x * cr.grad(lambda y: x + y)(1.0))(2.0) == pytest.approx(1.0)


def test_output_independent_of_input_gives_zero_gradient():
    np.testing.assert_allclose(cr.grad(lambda x: cnp.sum(cnp.floor(x)))(np.array([1.5, 2.5])), [0.0, 0.0])
    np.testing.assert_allclose(cr.grad(lambda x: 3.0)(np.ones(2)), [0.0, 0.0])


def test_vjp_cotangent_shape_is_checked(rng):
    _, pullback = cr.vjp(lambda x: x * 2, rng.standard_normal(3))
    with pytest.raises(ValueError, match="cotangent shape"):
        pullback(np.ones(4))


def test_grad_of_float32_input_stays_float32():
    g = cr.grad(lambda x: cnp.sum(cnp.tanh(x) * 2))(np.ones(3, np.float32))
    assert g.dtype == np.float32


def test_grad_leaves_the_callers_arrays_writable():
    x = np.ones(3)
    cr.grad(lambda x: cnp.sum(x * x))(x)
    x[0] = 5.0


def test_namedtuples_are_pytrees():
    import collections

    Pair = collections.namedtuple("Pair", "a b")
    g = cr.grad(lambda p: (p.a * p.b).sum())(Pair(np.ones(2), np.full(2, 3.0)))
    assert type(g) is Pair
    np.testing.assert_allclose(g.a, [3.0, 3.0])
    np.testing.assert_allclose(g.b, [1.0, 1.0])


# ---- jacobian and hessian on pytrees (JAX's arrangement) --------------------------------------------------


def test_jacobian_of_dict_inputs_and_tuple_outputs():
    import chainrule.numpy as cnp

    a0, b0 = np.array([0.5, -1.0]), np.array([2.0, 3.0, 4.0])

    def f(p):
        return cnp.sin(p["a"]), cnp.outer(p["a"], p["b"])

    jac = cr.jacobian(f)({"a": a0, "b": b0})
    assert isinstance(jac, tuple) and set(jac[0]) == {"a", "b"}
    np.testing.assert_allclose(jac[0]["a"], np.diag(np.cos(a0)))
    np.testing.assert_allclose(jac[0]["b"], np.zeros((2, 3)))
    assert jac[1]["a"].shape == (2, 3, 2) and jac[1]["b"].shape == (2, 3, 3)
    expected_a = np.zeros((2, 3, 2))
    expected_b = np.zeros((2, 3, 3))
    for i in range(2):
        for j in range(3):
            expected_a[i, j, i] = b0[j]
            expected_b[i, j, j] = a0[i]
    np.testing.assert_allclose(jac[1]["a"], expected_a)
    np.testing.assert_allclose(jac[1]["b"], expected_b)


def test_jacobian_with_several_argnums_and_a_dict_output():
    import chainrule.numpy as cnp

    jac = cr.jacobian(lambda x, y: {"s": cnp.sum(x * y), "p": x * 2.0}, argnums=(0, 1))(np.ones(2), np.arange(2.0))
    np.testing.assert_allclose(jac["s"][0], [0.0, 1.0])
    np.testing.assert_allclose(jac["s"][1], [1.0, 1.0])
    np.testing.assert_allclose(jac["p"][0], 2 * np.eye(2))
    np.testing.assert_allclose(jac["p"][1], np.zeros((2, 2)))


def test_hessian_blocks_for_tuple_argnums_match_finite_differences():
    import chainrule.numpy as cnp

    def f(x, y):
        return cnp.sum(cnp.sin(x)[:, None] * y ** 2)

    x0, y0 = np.array([0.3, -0.7]), np.array([1.5, 0.5, -2.0])
    h = cr.hessian(f, argnums=(0, 1))(x0, y0)
    flat = np.concatenate([x0, y0])

    def g(v):
        return np.concatenate(cr.grad(f, argnums=(0, 1))(v[:2], v[2:]))

    eps = 1e-6
    numeric = np.stack([(g(flat + eps * e) - g(flat - eps * e)) / (2 * eps) for e in np.eye(5)], axis=1)
    full = np.block([[h[0][0], h[0][1]], [h[1][0], h[1][1]]])
    np.testing.assert_allclose(full, numeric, rtol=1e-6, atol=1e-8)
    assert h[0][1].shape == (2, 3) and h[1][0].shape == (3, 2)


def test_hessian_of_a_dict_of_parameters_and_inside_grad():
    import chainrule.numpy as cnp

    h = cr.hessian(lambda p: cnp.sum(p["w"] ** 3) * p["c"])({"w": np.array([1.0, 2.0]), "c": np.array(2.0)})
    np.testing.assert_allclose(h["w"]["w"], np.diag([12.0, 24.0]))
    np.testing.assert_allclose(h["w"]["c"], [3.0, 12.0])
    # a Hessian block is differentiable with respect to a closed-over variable
    total = cr.grad(lambda s: cnp.sum(cr.hessian(lambda x: cnp.sum(s * x ** 3))(np.array([1.0, 2.0]))))(1.5)
    assert total == pytest.approx(6 * 1 + 6 * 2)
