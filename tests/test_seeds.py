"""The worked examples of the lecture notes (../shared/seeds), against the closed forms they derive."""

import math

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp


def sigma(z):
    return 1 / (1 + np.exp(-z))


@pytest.mark.parametrize("w, b, x, t, lam", [(0.5, -0.3, 1.7, 1.0, 0.1), (-2.0, 0.4, 0.3, 0.0, 0.5)])
def test_univariate_regularised_logistic_least_squares(w, b, x, t, lam):
    """z = wx + b, y = σ(z), L = ½(y − t)², R = ½w², L_reg = L + λR (notes 000, 001, 002)."""
    wt, bt = cr.tensor(w, requires_grad=True), cr.tensor(b, requires_grad=True)
    z = wt * x + bt
    y = cnp.sigmoid(z)
    loss = 0.5 * (y - t) ** 2
    reg = 0.5 * wt**2
    total = loss + lam * reg
    total.backward()
    s = sigma(w * x + b)
    # the closed forms of the naive derivation
    assert wt.grad == pytest.approx((s - t) * s * (1 - s) * x + lam * w, rel=1e-12)
    assert bt.grad == pytest.approx((s - t) * s * (1 - s), rel=1e-12)
    # and the backprop steps: ȳ = y − t, z̄ = ȳ σ'(z), w̄ = z̄ x + R̄ w with R̄ = λ
    y_bar = s - t
    z_bar = y_bar * s * (1 - s)
    assert wt.grad == pytest.approx(z_bar * x + lam * w, rel=1e-12)


def test_differentiation_quiz():
    """y = exp(xz) + xz/log(x) + sin(log(x))/(xz) at x = 2, z = 3 (notes 003): dy/dx ≈ 1208, dy/dz ≈ 810."""

    def y(x, z):
        return cnp.exp(x * z) + x * z / cnp.log(x) + cnp.sin(cnp.log(x)) / (x * z)

    dx, dz = cr.grad(y, argnums=(0, 1))(2.0, 3.0)
    x, z = 2.0, 3.0
    lx = math.log(x)
    expected_dx = z * math.exp(x * z) + z / lx - z / lx**2 + math.cos(lx) / (x * x * z) - math.sin(lx) / (x * x * z)
    expected_dz = x * math.exp(x * z) + x / lx - math.sin(lx) / (x * z * z)
    assert dx == pytest.approx(expected_dx, rel=1e-12)
    assert dz == pytest.approx(expected_dz, rel=1e-12)
    assert round(float(dx)) == 1208 and round(float(dz)) == 810


@pytest.mark.parametrize("x", [1.5, -0.7, 2.0])
def test_cos_sin_example(x):
    """J = cos(sin(x²) + 3x²): dJ/dx = −sin(u)(2x cos(x²) + 6x) with u = sin(x²) + 3x² (notes 003)."""
    dj = cr.grad(lambda x: cnp.cos(cnp.sin(x**2) + 3 * x**2))(x)
    u = math.sin(x * x) + 3 * x * x
    assert dj == pytest.approx(-math.sin(u) * (2 * x * math.cos(x * x) + 6 * x), rel=1e-12)


def test_multivariate_chain_rule_example():
    """f(x, y) = y + exp(xy), x(t) = cos t, y(t) = t²: df/dt = y e^{xy}(−sin t) + (1 + x e^{xy}) 2t (notes 000)."""
    t = 0.8
    dfdt = cr.grad(lambda t: t**2 + cnp.exp(cnp.cos(t) * t**2))(t)
    x, y = math.cos(t), t * t
    assert dfdt == pytest.approx(y * math.exp(x * y) * -math.sin(t) + (1 + x * math.exp(x * y)) * 2 * t, rel=1e-12)


def test_vectorised_mlp_backward_term_by_term(rng):
    """z = W1 x + b1, h = σ(z), y = W2 h + b2, L = ½‖t − y‖² and the notes' vectorised backward pass."""
    x, t = rng.standard_normal(4), rng.standard_normal(2)
    w1, b1 = rng.standard_normal((3, 4)), rng.standard_normal(3)
    w2, b2 = rng.standard_normal((2, 3)), rng.standard_normal(2)
    params = [cr.tensor(p, requires_grad=True) for p in (w1, b1, w2, b2)]
    W1, B1, W2, B2 = params
    z = W1 @ x + B1
    h = cnp.sigmoid(z)
    y = W2 @ h + B2
    loss = 0.5 * cnp.sum((t - y) ** 2)
    loss.backward()
    # by hand, exactly as the notes write it
    z_ = w1 @ x + b1
    h_ = sigma(z_)
    y_ = w2 @ h_ + b2
    y_bar = y_ - t
    h_bar = w2.T @ y_bar
    z_bar = h_bar * h_ * (1 - h_)
    np.testing.assert_allclose(W2.grad, np.outer(y_bar, h_), rtol=1e-12)
    np.testing.assert_allclose(B2.grad, y_bar, rtol=1e-12)
    np.testing.assert_allclose(W1.grad, np.outer(z_bar, x), rtol=1e-12)
    np.testing.assert_allclose(B1.grad, z_bar, rtol=1e-12)
    # the intermediate error signals h̄ and z̄ themselves
    np.testing.assert_allclose(cr.grad(lambda h: 0.5 * cnp.sum((t - (w2 @ h + b2)) ** 2))(h_), h_bar, rtol=1e-12)
    np.testing.assert_allclose(
        cr.grad(lambda z: 0.5 * cnp.sum((t - (w2 @ cnp.sigmoid(z) + b2)) ** 2))(z_), z_bar, rtol=1e-12)


def test_multiclass_logistic_regression(rng):
    """z = Wx + b, y = softmax(z), L = −Σ t_k log y_k: z̄ = y − t, W̄ = z̄ xᵀ, b̄ = z̄ (notes 000)."""
    x = rng.standard_normal(5)
    w, b = rng.standard_normal((3, 5)), rng.standard_normal(3)
    t = np.array([0.0, 1.0, 0.0])

    def loss(w, b):
        return -cnp.sum(t * cnp.log_softmax(w @ x + b))

    gw, gb = cr.grad(loss, argnums=(0, 1))(w, b)
    z = w @ x + b
    y = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    np.testing.assert_allclose(gb, y - t, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(gw, np.outer(y - t, x), rtol=1e-12, atol=1e-15)


def test_logistic_regression_log_likelihood(rng):
    """Notes 003, case 1: J = y* log y + (1 − y*) log(1 − y), y = σ(θᵀx): dJ/dθ_j = (y* − y) x_j."""
    x, theta, y_star = rng.standard_normal(4), rng.standard_normal(4), 1.0

    def J(theta):
        y = cnp.sigmoid(theta @ x)
        return y_star * cnp.log(y) + (1 - y_star) * cnp.log(1 - y)

    dj = cr.grad(J)(theta)
    np.testing.assert_allclose(dj, (y_star - sigma(theta @ x)) * x, rtol=1e-12)


def test_one_hidden_layer_network_from_the_notes(rng):
    """Notes 003, case 2: a_j = Σ α_ji x_i, z_j = σ(a_j), b = Σ β_j z_j, y = σ(b), J = y* log y + (1−y*) log(1−y).
    dJ/dβ_j = (y* − y) z_j and dJ/dα_ji = (y* − y) β_j z_j (1 − z_j) x_i."""
    x, alpha, beta, y_star = rng.standard_normal(3), rng.standard_normal((4, 3)), rng.standard_normal(4), 0.0

    def J(alpha, beta):
        y = cnp.sigmoid(beta @ cnp.sigmoid(alpha @ x))
        return y_star * cnp.log(y) + (1 - y_star) * cnp.log(1 - y)

    d_alpha, d_beta = cr.grad(J, argnums=(0, 1))(alpha, beta)
    z = sigma(alpha @ x)
    y = sigma(beta @ z)
    np.testing.assert_allclose(d_beta, (y_star - y) * z, rtol=1e-12)
    np.testing.assert_allclose(d_alpha, np.outer((y_star - y) * beta * z * (1 - z), x), rtol=1e-12)


def test_deep_linear_network_weights_are_coupled():
    """Notes 004: o = w4 w3 w2 w1 i, E = (t − o)²: ∂E/∂w2 = −2(t − o) w4 w3 · w1 i (δ_3 · h_2)."""
    w = [0.9, -1.2, 0.5, 1.1]
    i, t = 0.7, 0.3
    grads = cr.grad(lambda w1, w2, w3, w4: (t - w4 * w3 * w2 * w1 * i) ** 2, argnums=(0, 1, 2, 3))(*w)
    o = w[3] * w[2] * w[1] * w[0] * i
    assert grads[1] == pytest.approx(-2 * (t - o) * (w[3] * w[2]) * (w[0] * i), rel=1e-12)
    assert grads[0] == pytest.approx(-2 * (t - o) * w[3] * w[2] * w[1] * i, rel=1e-12)


def test_delta_rule_one_layer(rng):
    """Notes 004: E = (t − w·i)², ∂E/∂w = −2(t − o) i: the delta rule Δw = λ e iᵀ."""
    w, i, t = rng.standard_normal(3), rng.standard_normal(3), 0.5
    g = cr.grad(lambda w: (t - w @ i) ** 2)(w)
    np.testing.assert_allclose(g, -2 * (t - w @ i) * i, rtol=1e-12)


def test_general_backprop_equations(rng):
    """Notes 004: δ_D = −(t − o) ∘ f'(n_D), δ_j = (W^j)ᵀ δ_{j+1} ∘ f'(n_j), ∂E/∂W^j = δ_{j+1} h_jᵀ (E = ½‖t − o‖²)."""
    sizes = [3, 4, 4, 2]
    weights = [rng.standard_normal((sizes[k + 1], sizes[k])) for k in range(3)]
    i, t = rng.standard_normal(3), rng.standard_normal(2)

    def E(*ws):
        h = i
        for W in ws:
            h = cnp.tanh(W @ h)
        return 0.5 * cnp.sum((t - h) ** 2)

    grads = cr.grad(E, argnums=(0, 1, 2))(*weights)
    hs, ns = [i], []
    for W in weights:
        ns.append(W @ hs[-1])
        hs.append(np.tanh(ns[-1]))
    delta = -(t - hs[-1]) * (1 - np.tanh(ns[-1]) ** 2)
    for j in (2, 1, 0):
        np.testing.assert_allclose(grads[j], np.outer(delta, hs[j]), rtol=1e-10)
        delta = (weights[j].T @ delta) * (1 - np.tanh(ns[j - 1]) ** 2) if j else None
