"""``chainrule.numpy.linalg``: differentiable linear algebra."""

from numpy.linalg import LinAlgError  # noqa: F401

from .._composite import (  # noqa: F401
    cond,
    eig,
    eigh,
    eigvals,
    linalg_cross,
    linalg_diagonal,
    linalg_outer,
    linalg_trace,
    lstsq,
    matmul,
    matrix_norm,
    matrix_power,
    matrix_rank,
    matrix_transpose,
    multi_dot,
    norm,
    slogdet,
    svd,
    svdvals,
    tensordot,
    vecdot,
    vector_norm,
)
from .._examples import document as _document
from .._registry import namespace as _namespace

globals().update(_namespace("numpy.linalg"))  # the primitives' public names, from their registrations

cross, diagonal, outer, trace = linalg_cross, linalg_diagonal, linalg_outer, linalg_trace
del linalg_cross, linalg_diagonal, linalg_outer, linalg_trace


_document(globals(), "numpy.linalg")  # each public function's example (chainrule/_examples.py)
