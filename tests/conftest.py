"""Shared test fixtures. Randomness is seeded here, and only here."""

import numpy as np
import pytest


@pytest.fixture
def rng():
    """A fresh, seeded generator per test: every test sees the same numbers on every run."""
    return np.random.default_rng(20240601)


@pytest.fixture(autouse=True)
def _seeded_and_restored():
    """Seed NumPy's legacy global generator and restore its error settings after each test."""
    np.random.seed(0)
    saved = np.geterr()
    yield
    np.seterr(**saved)


def pytest_report_header(config):
    """Which engine the suite runs on (CI runs it on both: see tests/test_engines.py)."""
    import chainrule

    info = chainrule.engine_info()
    return f"chainrule engine: {info['engine']} ({info['reason']})"
