"""Rule table, part five: more linear algebra (``numpy.linalg.qr``; ``scipy.linalg``'s triangular and
Sylvester solves, ``sqrtm``, ``expm``; the completion that ``svd(full_matrices=True)`` needs).

Contract as in :mod:`chainrule._rules`. op(A) is A, or Aᵀ when ``trans``.
"""

from __future__ import annotations

from . import _rules as P
from ._graph import Tensor
from ._namespace import in_library
from ._rules import defprim, ndim_of, shape_of, swapaxes, xp


def _scipy_linalg(name: str):
    try:
        import scipy.linalg
    except ImportError:
        raise ImportError(f"chainrule.scipy.linalg.{name} needs SciPy (pip install scipy)") from None
    return in_library(getattr(scipy.linalg, name), f"scipy.linalg.{name}")


def _mT(x):
    return swapaxes(x, -1, -2)


def _qr_forward(a, mode="reduced"):
    if mode != "reduced":
        raise ValueError(f"chainrule.linalg.qr: mode={mode!r} is not supported; only 'reduced'")
    q, r = xp(a).linalg.qr(a, mode="reduced")
    return q, r


def _qr_vjp(g, ans, a, mode="reduced"):
    # A = QR (m ≥ n): Ā = (Q̄ + Q copyltu(M)) R⁻ᵀ, M = R R̄ᵀ − Q̄ᵀ Q, copyltu(M) the symmetric matrix that
    # has M's lower triangle
    (gq, gr), (q, r) = g, ans
    if P._is_complex(a):
        raise TypeError("chainrule.linalg.qr: no gradient for complex matrices (the rule is for real ones)")
    m, n = shape_of(a)[-2:]
    if m < n:
        raise ValueError(f"chainrule.linalg.qr: no gradient for a wide matrix (shape {shape_of(a)}); "
                         f"only for m ≥ n")
    middle = P.matmul(r, _mT(gr)) - P.matmul(_mT(gq), q)
    lower = P.multiply(middle, P._factor(xp(a).tri(n, n, -1, dtype=bool), middle))
    copyltu = lower + _mT(lower) + middle * xp(a).eye(n, dtype=middle.dtype)
    b = gq + P.matmul(q, copyltu)
    return _mT(P.solve(r, _mT(b)))  # b R⁻ᵀ


qr = defprim("qr", _qr_forward, _qr_vjp, n_outputs=2, formulas=("(Q̄ + Q copyltu(R R̄ᵀ − Q̄ᵀQ)) R⁻ᵀ",),
             names=("numpy.linalg.qr",), cost="cubic")


def _complement_forward(u):
    m, k = u.shape[-2:]
    q = xp(u).linalg.qr(u, mode="complete")[0]
    q = q[..., :, k:]
    return q.copy() if hasattr(q, "copy") else q


def _complement_vjp(g, ans, u):
    values = g.data if isinstance(g, Tensor) else g
    if xp(values).any(values != 0):
        raise ValueError("chainrule.linalg.svd: no gradient through the extra columns of U (or rows of Vᴴ) "
                         "that full_matrices=True adds: they are any orthonormal completion. Use only the "
                         "first min(m, n), or full_matrices=False")
    return P.multiply(u, 0.0)


# an orthonormal basis of the orthogonal complement of u's columns: not unique, so it has no gradient
orthogonal_complement = defprim("orthogonal_complement", _complement_forward, _complement_vjp,
                                saves=(0,), formulas=("(none: not unique)",), names=(), cost="cubic")


def _trans(trans) -> int:
    return {0: 0, 1: 1, "N": 0, "T": 1, "C": 1}[trans]


def _solve_triangular_forward(a, b, trans=0, lower=False, unit_diagonal=False):
    return _scipy_linalg("solve_triangular")(a, b, trans=trans, lower=lower, unit_diagonal=unit_diagonal)


def _solve_triangular_vjp(position, g, ans, a, b, trans=0, lower=False, unit_diagonal=False):
    gb = solve_triangular(a, g, trans=1 - _trans(trans), lower=lower, unit_diagonal=unit_diagonal)
    if position == 1:
        return gb
    outer = -P.multiply(P.reshape(gb, (-1, 1)), P.reshape(ans, (1, -1))) if ndim_of(b) == 1 else -P.matmul(gb, _mT(ans))
    if _trans(trans):
        outer = _mT(outer)
    n = shape_of(a)[-1]
    keep = xp(a).tri(n, n, -1 if unit_diagonal else 0, dtype=bool)  # the triangle the solve reads
    return P.multiply(outer, keep if lower else keep.T)


solve_triangular = defprim("solve_triangular", _solve_triangular_forward,
                           lambda *args, **kw: _solve_triangular_vjp(0, *args, **kw),
                           lambda *args, **kw: _solve_triangular_vjp(1, *args, **kw),
                           saves=(0, 1, "ans"), formulas=("-op(A)⁻ᵀ{g} xᵀ, on the triangle", "op(A)⁻ᵀ {g}"),
                           names=("scipy.linalg.solve_triangular",), cost="cubic")


def _sylvester_vjps(position, g, ans, a, b, q):
    gq = solve_sylvester(_mT(a), _mT(b), g)  # the adjoint equation Aᵀ Q̄ + Q̄ Bᵀ = ḡ
    if position == 2:
        return gq
    return -P.matmul(gq, _mT(ans)) if position == 0 else -P.matmul(_mT(ans), gq)


# X with AX + XB = Q
solve_sylvester = defprim("solve_sylvester", lambda a, b, q: _scipy_linalg("solve_sylvester")(a, b, q),
                          lambda *args: _sylvester_vjps(0, *args), lambda *args: _sylvester_vjps(1, *args),
                          lambda *args: _sylvester_vjps(2, *args), saves=(0, 1, "ans"),
                          formulas=("-Q̄ Xᵀ", "-Xᵀ Q̄", "Q̄: Aᵀ Q̄ + Q̄ Bᵀ = {g}"),
                          names=("scipy.linalg.solve_sylvester",), cost="cubic")
# X² = A: dX X + X dX = dA, so Ā solves Xᵀ Ā + Ā Xᵀ = ḡ
sqrtm = defprim("sqrtm", lambda a: _scipy_linalg("sqrtm")(a),
                lambda g, ans, a: solve_sylvester(_mT(ans), _mT(ans), g),
                saves=("ans",), formulas=("Ā: Xᵀ Ā + Ā Xᵀ = {g}",), names=("scipy.linalg.sqrtm",), cost="cubic")


def _expm_vjp(g, ans, a):
    # the Fréchet derivative at Aᵀ in the direction ḡ: the upper-right block of exp([[Aᵀ, ḡ], [0, Aᵀ]])
    n = shape_of(a)[-1]
    at = _mT(a)
    zeros = xp(a).zeros(shape_of(a), dtype=getattr(a, "dtype", float))
    top = P.concatenate(at, g, axis=-1)
    bottom = P.concatenate(zeros, at, axis=-1)
    return P.getitem(expm(P.concatenate(top, bottom, axis=-2)), (Ellipsis, slice(0, n), slice(n, 2 * n)))


expm = defprim("expm", lambda a: _scipy_linalg("expm")(a), _expm_vjp, saves=(0,),
               formulas=("[exp([[Aᵀ, {g}], [0, Aᵀ]])]₁₂",), names=("scipy.linalg.expm",), cost="cubic")
