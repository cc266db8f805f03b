"""Complex gradients against PyTorch, converting conventions explicitly: PyTorch's gradient of a real loss
is ∂L/∂x + i·∂L/∂y, ours ∂L/∂x − i·∂L/∂y (docs/conventions.md), so ours == conj(PyTorch's); for a
complex output and cotangent c, our pullback of c is conj(PyTorch's pullback of conj(c))."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule
import chainrule.numpy as cnp

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # (torch.jit, imported by torch itself)


def crandn(rng, *shape):
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


SHIFT = 1.5 * np.eye(3)


def _t(x):
    return torch.tensor(x, dtype=torch.complex128 if np.iscomplexobj(x) else torch.float64, requires_grad=True)


def _herm(x, conj, swap):
    return (x + conj(swap(x))) / 2


# name: (our loss, PyTorch's loss, input shapes); each loss is real-valued
LOSSES = {
    "abs squared": (lambda z: cnp.sum(cnp.abs(z) ** 2), lambda z: (z.abs() ** 2).sum(), ((4,),)),
    "real imag angle": (lambda z: cnp.sum(cnp.real(z) * 2 + cnp.imag(z) ** 2 + cnp.angle(z)),
                        lambda z: (z.real * 2 + z.imag ** 2 + z.angle()).sum(), ((4,),)),
    "conj": (lambda z: cnp.sum(cnp.real(cnp.conj(z) * (1 + 2j) * z ** 2)),
             lambda z: (z.conj() * (1 + 2j) * z ** 2).real.sum(), ((3,),)),
    "exp log sin": (lambda z: cnp.sum(cnp.abs(cnp.exp(z) + cnp.log(z) * cnp.sin(z))),
                    lambda z: (z.exp() + z.log() * z.sin()).abs().sum(), ((4,),)),
    "sqrt tanh power": (lambda z, w: cnp.sum(cnp.real(cnp.sqrt(z) * cnp.tanh(w) + z ** w)),
                        lambda z, w: (z.sqrt() * w.tanh() + z ** w).real.sum(), ((3,), (3,))),
    "matmul": (lambda a, b: cnp.sum(cnp.abs(a @ b)), lambda a, b: (a @ b).abs().sum(), ((2, 3), (3, 2))),
    "sum mean prod cumsum": (lambda z: cnp.abs(cnp.sum(z) + cnp.mean(z) * cnp.prod(z))
                             + cnp.sum(cnp.imag(cnp.cumsum(z))),
                             lambda z: (z.sum() + z.mean() * z.prod()).abs() + z.cumsum(0).imag.sum(), ((4,),)),
    "var std": (lambda z: cnp.var(z) + cnp.std(z, ddof=1), lambda z: z.var(correction=0) + z.std(), ((5,),)),
    "norm": (lambda z: cnp.linalg.norm(z) + cnp.linalg.norm(z, 1),
             lambda z: torch.linalg.norm(z) + torch.linalg.norm(z, 1), ((4,),)),
    "vdot": (lambda a, b: cnp.real(cnp.vdot(a, b)), lambda a, b: torch.vdot(a, b).real, ((4,), (4,))),
    "inv": (lambda a: cnp.sum(cnp.abs(cnp.linalg.inv(a + SHIFT))),
            lambda a: torch.linalg.inv(a + torch.tensor(SHIFT)).abs().sum(), ((3, 3),)),
    "det": (lambda a: cnp.abs(cnp.linalg.det(a + SHIFT)), lambda a: torch.linalg.det(a + torch.tensor(SHIFT)).abs(),
            ((3, 3),)),
    "slogdet": (lambda a: cnp.linalg.slogdet(a + SHIFT)[1] + cnp.real(cnp.linalg.slogdet(a + SHIFT)[0] * (1 + 2j)),
                lambda a: (torch.linalg.slogdet(a + torch.tensor(SHIFT))[1]
                           + (torch.linalg.slogdet(a + torch.tensor(SHIFT))[0] * (1 + 2j)).real), ((3, 3),)),
    "solve": (lambda a, b: cnp.sum(cnp.abs(cnp.linalg.solve(a + SHIFT, b)) ** 2),
              lambda a, b: (torch.linalg.solve(a + torch.tensor(SHIFT), b).abs() ** 2).sum(), ((3, 3), (3, 2))),
    "eigvalsh": (lambda a: cnp.sum(cnp.linalg.eigvalsh(_herm(a, cnp.conj, lambda x: cnp.swapaxes(x, -1, -2)))
                                   * np.arange(3.0)),
                 lambda a: (torch.linalg.eigvalsh(_herm(a, torch.conj, lambda x: x.mT)) * torch.arange(3.0)).sum(),
                 ((3, 3),)),
    "eigh": (lambda a: cnp.sum(cnp.abs(cnp.linalg.eigh(_herm(a, cnp.conj, lambda x: cnp.swapaxes(x, -1, -2)))[1]) ** 2
                               * np.arange(9.0).reshape(3, 3)),
             lambda a: (torch.linalg.eigh(_herm(a, torch.conj, lambda x: x.mT))[1].abs() ** 2
                        * torch.arange(9.0).reshape(3, 3)).sum(), ((3, 3),)),
    "svdvals": (lambda a: cnp.sum(cnp.linalg.svdvals(a) * np.array([2.0, 1.0])),
                lambda a: (torch.linalg.svdvals(a) * torch.tensor([2.0, 1.0], dtype=torch.float64)).sum(), ((3, 2),)),
    "pinv": (lambda a: cnp.sum(cnp.abs(cnp.linalg.pinv(a))), lambda a: torch.linalg.pinv(a).abs().sum(), ((3, 2),)),
    "eigvals": (lambda a: cnp.sum(cnp.abs(cnp.linalg.eigvals(a)) * np.arange(3.0)),
                lambda a: (torch.linalg.eigvals(a).abs() * torch.arange(3.0)).sum(), ((3, 3),)),
    "svd": (lambda a: cnp.sum(cnp.abs(cnp.linalg.svd(a, full_matrices=False)[0]) ** 2 * np.arange(9.0).reshape(3, 3))
            + cnp.sum(cnp.abs(cnp.linalg.svd(a, full_matrices=False)[2][:, :2]) ** 3),
            lambda a: (torch.linalg.svd(a, full_matrices=False)[0].abs() ** 2 * torch.arange(9.0).reshape(3, 3)).sum()
            + (torch.linalg.svd(a, full_matrices=False)[2][:, :2].abs() ** 3).sum(), ((3, 4),)),
    "cholesky": (lambda a: cnp.sum(cnp.abs(cnp.linalg.cholesky(_herm(a, cnp.conj, lambda x: cnp.swapaxes(x, -1, -2))
                                                              + 3 * np.eye(3))) ** 2 * np.arange(9.0).reshape(3, 3)),
                 lambda a: (torch.linalg.cholesky(_herm(a, torch.conj, lambda x: x.mT) + 3 * torch.eye(3)).abs() ** 2
                            * torch.arange(9.0).reshape(3, 3)).sum(), ((3, 3),)),
}


@pytest.mark.parametrize("name", LOSSES)
def test_gradient_is_the_conjugate_of_pytorchs(name, rng):
    ours, theirs, shapes = LOSSES[name]
    inputs = [crandn(rng, *s) + 0.3 for s in shapes]
    grads = chainrule.grad(ours, argnums=tuple(range(len(inputs))))(*inputs)
    tensors = [_t(x) for x in inputs]
    theirs(*tensors).backward()
    for g, t in zip(grads, tensors, strict=True):
        np.testing.assert_allclose(g, np.conj(t.grad.numpy()), rtol=1e-9, atol=1e-12, err_msg=name)


def test_tensor_backward_matches_too(rng):
    z = crandn(rng, 3, 3)
    ours = chainrule.tensor(z, requires_grad=True)
    cnp.sum(cnp.abs(cnp.linalg.inv(ours + SHIFT) @ ours)).backward()
    theirs = _t(z)
    (torch.linalg.inv(theirs + torch.tensor(SHIFT)) @ theirs).abs().sum().backward()
    np.testing.assert_allclose(ours.grad, np.conj(theirs.grad.numpy()), rtol=1e-10)


def test_pullback_of_a_complex_output(rng):
    z, c = crandn(rng, 4), crandn(rng, 4)
    _, pullback = chainrule.vjp(lambda z: cnp.exp(z) * cnp.conj(z) + cnp.abs(z), z)
    t = _t(z)
    (theirs,) = torch.autograd.grad(t.exp() * t.conj() + t.abs(), t, grad_outputs=torch.tensor(np.conj(c)))
    np.testing.assert_allclose(pullback(c)[0], np.conj(theirs.numpy()), rtol=1e-12)


def test_real_input_complex_intermediate(rng):
    x = rng.standard_normal(4)
    ours = chainrule.grad(lambda x: cnp.sum(cnp.abs(cnp.exp(1j * x) + x * (2 - 1j)) ** 3))(x)
    t = _t(x)
    ((t * 1j).exp() + t * (2 - 1j)).abs().pow(3).sum().backward()
    np.testing.assert_allclose(ours, t.grad.numpy(), rtol=1e-12)  # real gradients: no conjugate


def test_jvp_equals_pytorchs_forward_mode(rng):
    z, v = crandn(rng, 3), crandn(rng, 3)
    _, ours = chainrule.jvp(lambda z: cnp.sin(z) * cnp.conj(z), (z,), (v,))
    _, theirs = torch.func.jvp(lambda z: z.sin() * z.conj(), (torch.tensor(z),), (torch.tensor(v),))
    np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-12)  # a tangent has no convention to convert
