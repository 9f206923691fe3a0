"""Multilinear tables: eq, evaluation, folding; numpy == Numba == brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zkinfer.errors import FieldRangeError
from zkinfer.field import extension as ext
from zkinfer.field import goldilocks as gl
from zkinfer.field import reference as ref
from zkinfer.poly import fast
from zkinfer.poly import multilinear as ml


def brute_eval(v, r):
    """sum_x v[x] prod_k (r_k x_k + (1 - r_k)(1 - x_k)), x_1 the most significant bit."""
    n = len(r)
    total = (0, 0)
    for i, bits in enumerate(itertools.product([0, 1], repeat=n)):
        w = (1, 0)
        for rk, xk in zip(r, bits):
            rk = tuple(map(int, rk))
            w = ref.ext_mul(w, rk if xk else ref.ext_sub((1, 0), rk))
        vi = tuple(map(int, v[i])) if np.ndim(v[i]) else (int(v[i]), 0)
        total = ref.ext_add(total, ref.ext_mul(w, vi))
    return total


@given(st.integers(0, 5), st.integers(0, 2**32), st.booleans())
def test_evaluate_matches_brute_force(n, seed, extension_table):
    rng = np.random.default_rng(seed)
    v = ext.random(1 << n, rng) if extension_table else gl.random(1 << n, rng)
    r = ext.random(n, rng)
    want = brute_eval(v, r)
    assert tuple(map(int, ml.evaluate(v, r))) == want
    assert tuple(map(int, fast.evaluate(v, r))) == want


@settings(max_examples=20, deadline=None)
@given(st.integers(7, 17), st.integers(0, 2**32), st.booleans())
def test_evaluate_of_larger_tables_matches_folding(n, seed, edges):
    # the split eq tables (n > 6) and the BLAS inner sums (n >= 12), against folding variable by
    # variable, with tables of p - 1 entries (the limbs' extremes) among them
    rng = np.random.default_rng(seed)
    v = np.full(1 << n, gl.P - 1, dtype=np.uint64) if edges else gl.random(1 << n, rng)
    r = ext.random(n, rng)
    table = v
    for k in range(n):
        table = ml.fold(table, r[k])
    assert np.array_equal(ml.evaluate(v, r), table[0])


@given(st.integers(1, 6), st.integers(0, 2**32))
def test_fold_binds_first_variable(n, seed):
    rng = np.random.default_rng(seed)
    v = gl.random(1 << n, rng)
    r = ext.random(n, rng)
    f = ml.fold(v, r[0])
    assert np.array_equal(f, fast.fold(v, r[0]))
    assert np.array_equal(ml.evaluate(f, r[1:]), ml.evaluate(v, r))
    if n > 1:
        assert np.array_equal(fast.fold(f, r[1]), ml.fold(f, r[1]))


@given(st.integers(0, 8), st.integers(0, 2**32))
def test_eq_table(n, seed):
    rng = np.random.default_rng(seed)
    r = ext.random(n, rng)
    table = ml.eq_table(r)
    assert np.array_equal(table, fast.eq_table(r))
    # sum_x eq(r, x) = 1
    assert np.array_equal(ext.sum(table, axis=0), ext.ones(()))
    x = ext.random(n, rng)
    assert np.array_equal(ml.eq_eval(r, x), ml.evaluate(ml.eq_table(x), r))
    rb = gl.random(n, rng)
    assert np.array_equal(fast.eq_table(rb), ml.eq_table(rb)[:, 0])


def test_cube_point_selects_entry():
    v = np.arange(8, dtype=np.uint64) * 3
    r = ext.from_base([1, 0, 1])  # index 0b101 = 5
    assert int(ml.evaluate(v, r)[0]) == 15


def test_size_mismatch_raises():
    with pytest.raises(FieldRangeError):
        ml.evaluate(np.zeros(8, dtype=np.uint64), ext.zeros(2))
    with pytest.raises(FieldRangeError):
        fast.evaluate(np.zeros(6, dtype=np.uint64), ext.zeros(2))
    with pytest.raises(FieldRangeError):
        ml.fold(np.zeros(1, dtype=np.uint64), ext.zeros(()))


@pytest.mark.parametrize("n", range(0, 7))
def test_eq_prefix_sum_is_the_sum_of_the_first_entries(n):
    from zkinfer.poly.multilinear import eq_prefix_sum

    r = ext.random(n, np.random.default_rng(n))
    table = ml.eq_table(r)
    for count in range(0, (1 << n) + 1):
        assert np.array_equal(eq_prefix_sum(r, count), ext.sum(table[:count], axis=0))
    with pytest.raises(FieldRangeError):
        eq_prefix_sum(r, (1 << n) + 1)
