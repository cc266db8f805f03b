"""``chainrule.numpy.linalg``: differentiable linear algebra."""

from numpy.linalg import LinAlgError  # noqa: F401

from .._composite import (  # noqa: F401
    eig,
    eigh,
    eigvals,
    eigvalsh,
    matmul,
    matrix_norm,
    matrix_power,
    multi_dot,
    norm,
    pinv,
    slogdet,
    svd,
    svdvals,
    vector_norm,
)
from .._rules import cholesky, det, inv, solve  # noqa: F401
