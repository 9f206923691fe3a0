"""NTT (Numba) against the numpy twin and the naive definition; coset transforms; LDE."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from zkinfer.errors import FieldRangeError
from zkinfer.field import extension as ext
from zkinfer.field import goldilocks as gl
from zkinfer.poly import ntt as fast
from zkinfer.poly import univariate as uni

P = gl.P


def naive_dft(coeffs, shift=1):
    n = len(coeffs)
    pts = [int(v) for v in uni.domain(n, shift)]
    return [sum(int(c) * pow(x, k, P) for k, c in enumerate(coeffs)) % P for x in pts]


@given(st.integers(0, 6), st.sampled_from([1, 7, 3**20]), st.integers(0, 2**32))
def test_ntt_matches_naive_and_twin(log_n, shift, seed):
    c = gl.random(1 << log_n, np.random.default_rng(seed))
    want = naive_dft(c, shift)
    assert [int(v) for v in fast.ntt(c, shift)] == want
    assert [int(v) for v in uni.ntt(c, shift)] == want
    assert np.array_equal(fast.intt(fast.ntt(c, shift), shift), c)
    assert np.array_equal(uni.intt(uni.ntt(c, shift), shift), c)


@pytest.mark.parametrize("log_n", [10, 16])
def test_large_roundtrip_and_rows(log_n):
    rng = np.random.default_rng(log_n)
    rows = gl.random((3, 1 << log_n), rng)
    evals = fast.ntt(rows, 7)
    for r in range(3):
        assert np.array_equal(evals[r], uni.ntt(rows[r], 7))
    assert np.array_equal(fast.intt(evals, 7), rows)


def test_extension_coefficients_transform_componentwise():
    rng = np.random.default_rng(1)
    c = ext.random(16, rng)
    e = uni.ntt(c)
    assert np.array_equal(e[:, 0], fast.ntt(c[:, 0]))
    assert np.array_equal(e[:, 1], fast.ntt(c[:, 1]))
    x = uni.domain(16)[5]
    assert np.array_equal(uni.evaluate(c, ext.from_base([x]))[0], e[5])


def test_low_degree_extend_is_reed_solomon():
    rng = np.random.default_rng(2)
    c = gl.random((2, 8), rng)
    code = fast.low_degree_extend(c, 4, shift=7)
    assert code.shape == (2, 32)
    pts = uni.domain(32, 7)
    for r in range(2):
        want = uni.evaluate(c[r], ext.from_base(pts))[:, 0]
        assert np.array_equal(code[r], want)


def test_bad_lengths_and_shift():
    with pytest.raises(FieldRangeError):
        fast.ntt(np.zeros(3, dtype=np.uint64))
    with pytest.raises(FieldRangeError):
        uni.ntt(np.zeros(6, dtype=np.uint64))
    with pytest.raises(FieldRangeError):
        fast.ntt(np.zeros(4, dtype=np.uint64), shift=0)
    with pytest.raises(FieldRangeError):
        fast.low_degree_extend(np.zeros(4, dtype=np.uint64), 3)


@pytest.mark.slow
def test_roundtrip_2_24():
    from zkinfer.poly import _kernels as K

    c = gl.random(1 << 24, np.random.default_rng(24))
    e = fast.ntt(c, 7)
    assert np.array_equal(fast.intt(e, 7), c)
    # spot check e[1] = c(7 w) by Horner
    x = 7 * gl.root_of_unity(24) % gl.P
    assert K.horner_ext(c, np.uint64(x), np.uint64(0)) == (e[1], 0)


@pytest.mark.parametrize("log_n", [12, 13, 15])
def test_single_long_row_with_a_shift(log_n):
    """``ntt`` / ``intt`` of one row on a coset, up to and past the kernel's 2^12-entry blocks
    (then its stages across blocks), against the numpy twin."""
    c = gl.random(1 << log_n, np.random.default_rng(log_n))
    kept = c.copy()
    evals = fast.ntt(c, 7)
    assert np.array_equal(c, kept)  # the input is left alone
    assert np.array_equal(evals, uni.ntt(c, 7))
    assert np.array_equal(fast.intt(evals, 7), c)


def _bitrev(bits):
    return [int(format(i, f"0{bits}b")[::-1], 2) if bits else 0 for i in range(1 << bits)]


@pytest.mark.parametrize("log_n, rows", [(0, 1), (1, 2), (3, 1), (12, 2), (13, 1), (15, 3)])
def test_ntt_of_bit_reversed_coefficients(log_n, rows):
    """``ntt_bitrev_inplace`` reads coefficients in bit-reversed order and writes the
    evaluations in natural order: the blocked stages (blocks of 2^12) and, beyond 2^12, the
    stages across blocks (groups of 8 columns), against the numpy twin."""
    c = gl.random((rows, 1 << log_n), np.random.default_rng(log_n))
    a = np.ascontiguousarray(c[:, _bitrev(log_n)])
    assert fast.ntt_bitrev_inplace(a) is a
    for r in range(rows):
        assert np.array_equal(a[r], uni.ntt(c[r]))
