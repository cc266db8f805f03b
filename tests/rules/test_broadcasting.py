"""Hypothesis-generated broadcasting shapes for the binary elementwise rules (first and second order)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

import chainrule

from .specs import BINARY, SPECS, draw
from .test_specs import resolve

BINARY_SPECS = [s for s in SPECS if s.cases == BINARY]


@pytest.mark.parametrize("spec", BINARY_SPECS, ids=lambda s: s.name)
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(shapes=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, min_side=0, max_side=3),
       seed=st.integers(0, 2**16))
def test_binary_rules_on_broadcast_shapes(spec, shapes, seed):
    if spec.name.startswith("scipy."):
        pytest.importorskip("scipy")
    rng = np.random.default_rng(seed)
    arrays = [draw(spec.domain_of(i), rng, shape) for i, shape in enumerate(shapes.input_shapes)]
    fun = lambda x, y: spec.run(resolve(spec.name), x, y)
    order = 2 if all(a.size for a in arrays) else 1
    assert chainrule.gradcheck(fun, *arrays, order=order, rtol=spec.rtol, atol=spec.atol)
