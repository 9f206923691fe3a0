"""Benchmarks: measurements, not tests. Fixed seeds; every Numba kernel is warmed before timing."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
