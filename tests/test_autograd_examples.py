"""Programs written for HIPS autograd run on chainrule with only their imports changed ("autograd" →
"chainrule"); where autograd is installed, both versions run and their results agree. (The examples are
written for this test, in the style of autograd's own: a neural network, a Gaussian process, an ODE fitted
through its adjoint, a custom primitive in autograd's curried defvjp form.)"""

from __future__ import annotations

import importlib.util
import re

import numpy as np
import pytest

NEURAL_NET = """
import autograd.numpy as np
from autograd import grad
from autograd.scipy.special import logsumexp

def init_params(sizes, rs):
    return [(rs.randn(m, n) * 0.3, rs.randn(n) * 0.1) for m, n in zip(sizes[:-1], sizes[1:])]

def log_probabilities(params, inputs):
    for W, b in params:
        outputs = np.dot(inputs, W) + b
        inputs = np.tanh(outputs)
    return outputs - logsumexp(outputs, axis=1, keepdims=True)

def loss(params, inputs, targets):
    return -np.mean(np.sum(log_probabilities(params, inputs) * targets, axis=1))

rs = np.random.RandomState(0)
X = rs.randn(60, 4)
targets = np.eye(2)[(X[:, 0] + X[:, 1] ** 2 > 0.5).astype(int)]
params = init_params([4, 8, 2], rs)
gradient = grad(loss)
losses = [loss(params, X, targets)]
for step in range(60):
    grads = gradient(params, X, targets)
    params = [(W - 0.5 * dW, b - 0.5 * db) for (W, b), (dW, db) in zip(params, grads)]
    losses.append(loss(params, X, targets))
result = {"losses": np.array(losses), "W0": params[0][0]}
"""

GAUSSIAN_PROCESS = """
import autograd.numpy as np
from autograd import value_and_grad
from autograd.scipy.stats import multivariate_normal as mvn
from scipy.optimize import minimize

def rbf(params, x, xp):
    output_scale, length_scale = np.exp(params[0]), np.exp(params[1])
    diffs = np.expand_dims(x / length_scale, 1) - np.expand_dims(xp / length_scale, 0)
    return output_scale * np.exp(-0.5 * np.sum(diffs ** 2, axis=2))

def log_marginal_likelihood(params, X, y):
    noise = np.exp(params[2]) + 1e-6
    cov = rbf(params, X, X) + noise * np.eye(len(y))
    return mvn.logpdf(y, np.zeros(len(y)), cov)

rs = np.random.RandomState(1)
X = np.linspace(-3, 3, 20).reshape(-1, 1)
y = np.sin(X[:, 0]) + 0.1 * rs.randn(20)
objective = lambda p: -log_marginal_likelihood(p, X, y)
start = np.array([0.0, 0.0, -1.0])
fit = minimize(value_and_grad(objective), start, jac=True, method="L-BFGS-B")
result = {"start": objective(start), "best": fit.fun, "params": fit.x,
          "gradient_at_start": value_and_grad(objective)(start)[1]}
"""

ODE_ADJOINT = """
import autograd.numpy as np
from autograd import grad
from autograd.builtins import tuple
from autograd.scipy.integrate import odeint

def damped_oscillator(y, t, params):
    return np.array([y[1], -params[0] * y[0] - params[1] * y[1]])

t = np.linspace(0.0, 3.0, 10)
y0 = np.array([1.0, 0.0])
observed = odeint(damped_oscillator, y0, t, tuple((np.array([2.0, 0.3]),)))

def loss(params):
    return np.sum((odeint(damped_oscillator, y0, t, tuple((params,))) - observed) ** 2)

params = np.array([1.5, 0.6])
first_loss, first_gradient = loss(params), grad(loss)(params)
for step in range(4):
    params = params - 0.05 * grad(loss)(params)
result = {"first_gradient": first_gradient, "params": params, "first_loss": first_loss, "loss": loss(params)}
"""

CUSTOM_PRIMITIVE = """
import autograd.numpy as np
from autograd import grad, hessian, jacobian
from autograd.extend import primitive, defvjp

@primitive
def log_sum_exp(x):
    top = np.max(x)
    return top + np.log(np.sum(np.exp(x - top)))

defvjp(log_sum_exp, lambda ans, x: lambda g: g * np.exp(x - ans))

x = np.array([0.5, -1.0, 2.0])
result = {"grad": grad(log_sum_exp)(x), "hessian": hessian(log_sum_exp)(x),
          "jacobian_of_tanh": jacobian(np.tanh)(x)}
"""

EXAMPLES = {"neural_net": NEURAL_NET, "gaussian_process": GAUSSIAN_PROCESS, "ode_adjoint": ODE_ADJOINT,
            "custom_primitive": CUSTOM_PRIMITIVE}


def _with_chainrule(source: str) -> str:
    """The only change: ``autograd`` becomes ``chainrule`` in the import lines."""
    return re.sub(r"^(import|from) autograd", r"\1 chainrule", source, flags=re.MULTILINE)


def _run(source: str) -> dict:
    namespace: dict = {}
    exec(compile(source, "<example>", "exec"), namespace)  # noqa: S102  (our own example programs)
    return namespace["result"]


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_example_runs_with_only_the_import_changed(name):
    pytest.importorskip("scipy")
    source = EXAMPLES[name]
    ported = _with_chainrule(source)
    assert [line for line in ported.splitlines() if "autograd" in line] == []
    assert sum(a != b for a, b in zip(source.splitlines(), ported.splitlines(), strict=True)) == \
        sum(line.startswith(("import autograd", "from autograd")) for line in source.splitlines())
    ours = _run(ported)
    if name == "neural_net":
        assert ours["losses"][-1] < 0.5 * ours["losses"][0]
    if name == "gaussian_process":
        assert ours["best"] < ours["start"] - 1.0
    if name == "ode_adjoint":
        assert ours["loss"] < 0.5 * ours["first_loss"]
    if importlib.util.find_spec("autograd") is None:
        return
    theirs = _run(source)  # the original, on autograd: the same numbers
    for key, value in theirs.items():
        np.testing.assert_allclose(np.asarray(ours[key], dtype=float), np.asarray(value, dtype=float),
                                   rtol=1e-5, atol=1e-7, err_msg=f"{name}: {key}")


def test_the_spellings_of_docs_migration_md_agree_with_autograd():
    autograd = pytest.importorskip("autograd")
    import autograd.numpy as anp

    import chainrule
    import chainrule.numpy as cnp

    x = np.array([0.3, -1.2, 2.0])
    f_ours, f_theirs = (lambda x: cnp.tanh(x) * x), (lambda x: anp.tanh(x) * x)
    # elementwise_grad(f)(x)  ->  grad(lambda x: np.sum(f(x)))(x)
    np.testing.assert_allclose(chainrule.grad(lambda x: cnp.sum(f_ours(x)))(x), autograd.elementwise_grad(f_theirs)(x))
    # make_vjp(f)(x) -> (vjp, ans)  ->  chainrule.vjp(f, x) -> (ans, vjp), whose vjp returns a tuple
    their_vjp, their_ans = autograd.make_vjp(f_theirs)(x)
    our_ans, our_vjp = chainrule.vjp(f_ours, x)
    np.testing.assert_allclose(our_ans, their_ans)
    np.testing.assert_allclose(our_vjp(np.ones(3))[0], their_vjp(np.ones(3)))
    for ours, theirs in ((chainrule.grad, autograd.grad), (chainrule.jacobian, autograd.jacobian),
                         (chainrule.hessian, autograd.hessian)):
        g = (lambda x: cnp.sum(f_ours(x) ** 2)) if ours is not chainrule.jacobian else f_ours
        h = (lambda x: anp.sum(f_theirs(x) ** 2)) if ours is not chainrule.jacobian else f_theirs
        np.testing.assert_allclose(ours(g)(x), theirs(h)(x))
    value, gradient = chainrule.value_and_grad(lambda x, y: cnp.sum(x * y), argnums=1)(x, 2 * x)
    their_value, their_gradient = autograd.value_and_grad(lambda x, y: anp.sum(x * y), argnum=1)(x, 2 * x)
    np.testing.assert_allclose((value, *gradient), (their_value, *their_gradient))
