"""Shared test settings: seeded randomness for every test."""

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture(autouse=True)
def _seed_numpy():
    np.random.seed(0)
    saved = np.geterr()
    yield
    np.seterr(**saved)
