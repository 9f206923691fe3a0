"""Horner evaluation and Lagrange interpolation on 0..d (round polynomials)."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from zkinfer.field import extension as ext
from zkinfer.field import reference as ref
from zkinfer.poly import univariate as uni


@given(st.integers(0, 8), st.integers(0, 2**32))
def test_interpolate_at_recovers_polynomial(d, seed):
    rng = np.random.default_rng(seed)
    coeffs = ext.random(d + 1, rng)
    nodes = ext.from_base(np.arange(d + 1, dtype=np.uint64))
    values = uni.evaluate(coeffs, nodes)
    r = ext.random((), rng)
    assert np.array_equal(uni.interpolate_at(values, r), uni.evaluate(coeffs, r[None])[0])
    # at a node, interpolation returns that value
    assert np.array_equal(uni.interpolate_at(values, nodes[d]), values[d])


def test_horner_matches_twin():
    rng = np.random.default_rng(0)
    c = ext.random(5, rng)
    x = ext.random((), rng)
    want = (0, 0)
    for k in range(4, -1, -1):
        want = ref.ext_add(ref.ext_mul(want, tuple(map(int, x))), tuple(map(int, c[k])))
    assert tuple(map(int, uni.evaluate(c, x[None])[0])) == want


@given(st.sampled_from([2, 3]), st.integers(0, 2**32), st.booleans())
def test_interpolate_scalar_of_degree_two_and_three_matches_horner(d, seed, extreme):
    # the straight-line degrees (the sumchecks' own), on the verifier's int pairs, including
    # values and points at p - 1
    from zkinfer.field import goldilocks as gl
    from zkinfer.field.scalar import Fp2

    rng = np.random.default_rng(seed)
    coeffs = ext.random(d + 1, rng)
    if extreme:
        coeffs[:] = gl.P - 1
    values = uni.evaluate(coeffs, ext.from_base(np.arange(d + 1, dtype=np.uint64)))
    r = np.array([gl.P - 1, gl.P - 1], dtype=np.uint64) if extreme else ext.random((), rng)
    got = uni.interpolate_scalar(values.tolist(), Fp2.from_array(r))
    assert np.array_equal(got.to_array(), uni.evaluate(coeffs, r[None])[0])
