"""JAX on the CPU, op by op (no ``jit``) and compiled with ``jax.jit``."""

from __future__ import annotations

import jax

jax.config.update("jax_enable_x64", True)  # case 1 runs in float64 like the others; the MLP stays float32

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from .base import Variant, chain_ops, run_chain  # noqa: E402

PEER = "jax"
IMPORT = "import jax"



def _loss(params, x, onehot):
    weights, biases = params
    h = x
    last = len(weights) - 1
    for layer, (w, b) in enumerate(zip(weights, biases, strict=True)):
        z = h @ w + b
        h = jax.nn.sigmoid(z) if layer < last else z
    return -jnp.sum(jax.nn.log_softmax(h, axis=1) * onehot) / x.shape[0]


class _Jax(Variant):
    peer = PEER
    jit = False

    def _wrap(self, f):
        return jax.jit(f) if self.jit else f

    def make_chain(self, x0, plan):
        ops = chain_ops(plan, jnp.tanh)

        def f(x):
            y = run_chain(ops, x)
            return jnp.sum(y)

        g = self._wrap(jax.grad(f))
        x = jnp.asarray(x0)
        return lambda: np.asarray(g(x).block_until_ready())

    def make_step(self, problem, loss="cross_entropy"):
        weights, biases = problem.fresh_params()
        state = [(tuple(jnp.asarray(w) for w in weights), tuple(jnp.asarray(b) for b in biases))]
        x, onehot, lr = jnp.asarray(problem.x), jnp.asarray(problem.onehot), problem.lr

        def update(params, x, onehot):
            loss, grads = jax.value_and_grad(_loss)(params, x, onehot)
            return loss, jax.tree_util.tree_map(lambda p, g: p - lr * g, params, grads)

        update = self._wrap(update)

        def step():
            loss, state[0] = update(state[0], x, onehot)
            return float(loss)

        return step

    def make_hvp(self, problem):
        weights, biases = problem.fresh_params()
        tw, tb = problem.tangent()
        params = (tuple(jnp.asarray(w) for w in weights), tuple(jnp.asarray(b) for b in biases))
        tangent = (tuple(jnp.asarray(w) for w in tw), tuple(jnp.asarray(b) for b in tb))
        x, onehot = jnp.asarray(problem.x), jnp.asarray(problem.onehot)

        def hvp(params, tangent):  # forward over reverse, the JAX idiom
            return jax.jvp(jax.grad(lambda p: _loss(p, x, onehot)), (params,), (tangent,))[1]

        hvp = self._wrap(hvp)

        def run():
            hw, hb = hvp(params, tangent)
            return [np.asarray(h) for h in jax.block_until_ready(list(hw) + list(hb))]

        return run


class Eager(_Jax):
    name = "JAX"


class Jit(_Jax):
    name, jit = "JAX jit", True


def variants():
    return [Eager(), Jit()]
