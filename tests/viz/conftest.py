import numpy as np
import pytest


@pytest.fixture
def rng():
    """A seeded generator per test."""
    return np.random.default_rng(4)
