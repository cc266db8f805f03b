"""``chainrule.numpy.linalg``: differentiable linear algebra."""

from numpy.linalg import LinAlgError  # noqa: F401

from .._composite import (  # noqa: F401
    eigh,
    matmul,  # noqa: F401
    matrix_power,
    norm,
    pinv,
    slogdet,
    svd,
)
from .._rules import cholesky, det, inv, solve  # noqa: F401
