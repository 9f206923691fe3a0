"""Exact matrix products over Goldilocks with float64 BLAS (:mod:`zkinfer.field.blas`) against
Python ints: random and edge entries, batched operands, the inner dimensions at the limit of
each limb-width pair, and the centered limb split."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.field.strategies import matrix
from zkinfer.field import blas
from zkinfer.field import goldilocks as gl

P = gl.P


@settings(max_examples=30)
@given(m=st.integers(1, 6), k=st.integers(1, 70), n=st.integers(1, 6),
       seed=st.integers(0, 2**32 - 1))
def test_exact_matmul_matches_python_ints(m, k, n, seed):
    rng = np.random.default_rng(seed)
    a = matrix(rng, (m, k), edges=True)
    b = matrix(rng, (k, n), edges=True)
    expected = [[sum(int(a[i, x]) * int(b[x, j]) for x in range(k)) % P for j in range(n)]
                for i in range(m)]
    assert blas.matmul(a, b).tolist() == expected


@pytest.mark.parametrize("k", [1, 2**10, 2**15, 2**17])
def test_exact_matmul_worst_case_inner_dimension(k):
    a = np.full((2, k), P - 1, dtype=np.uint64)
    b = np.full((k, 1), P - 1, dtype=np.uint64)
    # (p-1)^2 = 1 (mod p): the sum is k mod p
    assert blas.matmul(a, b).tolist() == [[k % P], [k % P]]
    ba, bb = blas.limb_widths(k)
    # centered limbs: |sum of k products| <= k 2^(ba-1) 2^(bb-1) <= 2^53
    assert ba + bb + (k - 1).bit_length() <= 55


@settings(max_examples=15)
@given(batch=st.integers(1, 3), m=st.integers(1, 5), k=st.integers(1, 40), n=st.integers(1, 4),
       seed=st.integers(0, 2**32 - 1))
def test_batched_exact_matmul_matches_python_ints(batch, m, k, n, seed):
    rng = np.random.default_rng(seed)
    a = matrix(rng, (batch, m, k), edges=True)
    b = matrix(rng, (batch, k, n), edges=True)
    got = blas.matmul(a, b)
    assert got.shape == (batch, m, n)
    for g in range(batch):
        assert got[g].tolist() == [[sum(int(a[g, i, x]) * int(b[g, x, j]) for x in range(k)) % P
                                    for j in range(n)] for i in range(m)]


@pytest.mark.parametrize("k", [1, 2, 3, 2**9, 2**11, 2**11 + 1, 2**13, 2**16])
def test_exact_matmul_centered_limb_extremes(k):
    """Zero entries put every centered limb at ``-2^(b-1)``: the limb products then add up to
    exactly ``k 2^(ba+bb-2)`` (``2^53`` at the largest ``k`` of a width pair)."""
    ba, bb = blas.limb_widths(k)
    assert ba + bb + (k - 1).bit_length() <= 55
    values = [0, P - 1, 1 << 63, (1 << 32) - 1, ((1 << ba) - 1) << ba, ((1 << bb) - 1) << bb]
    for x in values:
        for y in values:
            a = np.full((2, k), x % P, dtype=np.uint64)
            b = np.full((k, 3), y % P, dtype=np.uint64)
            assert blas.matmul(a, b).tolist() == [[k * (x % P) * (y % P) % P] * 3] * 2


def test_split_limbs_is_centered_and_exact():
    rng = np.random.default_rng(3)
    x = np.concatenate([gl.random(50, rng), np.array([0, 1, P - 1, 1 << 63], dtype=np.uint64)])
    for bits in (8, 11, 22, 23, 32):
        limbs = blas.split_limbs(x, bits, axis=1 if bits % 2 else 0)
        limbs = limbs if bits % 2 == 0 else limbs.T
        half = 1 << (bits - 1)
        assert limbs.shape == (blas.limb_count(bits), x.shape[0])
        assert (limbs >= -half).all() and (limbs < half).all()
        back = [sum((int(limbs[i, j]) + half) << (bits * i) for i in range(limbs.shape[0]))
                for j in range(x.shape[0])]
        assert back == [int(v) for v in x]
