"""Hypothesis strategies for field elements (edge values are drawn often)."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from zkinfer.field import goldilocks as gl

P = 2**64 - 2**32 + 1

EDGES = [0, 1, 2, P - 1, P - 2, 2**32 - 1, 2**32, 2**32 + 1, 2**63, P // 2, P // 2 + 1, 2**64 - 2**33]

elements = st.one_of(st.sampled_from(EDGES), st.integers(0, P - 1))
ext_elements = st.tuples(elements, elements)


def vectors(min_size: int = 1, max_size: int = 64):
    return st.lists(elements, min_size=min_size, max_size=max_size)


def matrix(rng: np.random.Generator, shape: tuple[int, ...], edges: bool) -> np.ndarray:
    """Random canonical ``uint64`` entries of ``shape``; with ``edges``, about 30% of them
    replaced by :data:`EDGES`."""
    m = gl.random(shape, rng)
    if edges:
        flat = m.reshape(-1)
        picks = rng.integers(0, len(EDGES), size=flat.size)
        mask = rng.random(flat.size) < 0.3
        flat[mask] = np.array(EDGES, dtype=np.uint64)[picks[mask]]
    return m
