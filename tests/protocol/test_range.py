"""Range checks over limbs: honest columns verify, out-of-range values are rejected."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from zkinfer.errors import FieldRangeError, VerificationError
from zkinfer.field import extension as ext
from zkinfer.field import goldilocks as gl
from zkinfer.poly import multilinear as ml
from zkinfer.protocol.range import (
    RangeProof,
    limb_widths,
    prove_ranges,
    range_multiplicities,
    recompose,
    split_limbs,
    verify_ranges,
)
from zkinfer.transcript import Transcript

D = b"tests/range"


def test_limb_widths():
    assert limb_widths(8) == (8,)
    assert limb_widths(16) == (16,)
    assert limb_widths(20) == (16, 4)
    assert limb_widths(48) == (16, 16, 16)
    with pytest.raises(FieldRangeError):
        limb_widths(63)


@given(st.integers(1, 40), st.booleans(), st.integers(0, 2**32))
def test_split_and_recompose(bits, signed, seed):
    rng = np.random.default_rng(seed)
    lo, hi = (-(1 << (bits - 1)), 1 << (bits - 1)) if signed else (0, 1 << bits)
    v = rng.integers(lo, hi, 16)
    limbs = split_limbs(v, bits, signed)
    for limb, w in zip(limbs, limb_widths(bits)):
        assert limb.min() >= 0 and limb.max() < 1 << w
    r = ext.random(4, rng)
    limb_claims = np.stack([ml.evaluate(gl.encode_signed(x), r) for x in limbs])
    assert np.array_equal(recompose(limb_claims, bits, signed), ml.evaluate(gl.encode_signed(v), r))


def test_split_rejects_out_of_range():
    with pytest.raises(FieldRangeError):
        split_limbs([128], 8, True)
    with pytest.raises(FieldRangeError):
        split_limbs([-1], 8, False)


def columns(seed, width, sizes):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 1 << width, s).astype(np.uint64) for s in sizes]


@pytest.mark.parametrize("width,sizes", [(4, [8]), (8, [16, 4, 4, 1]), (16, [1024, 256])])
def test_completeness(width, sizes):
    cols = columns(width, width, sizes)
    m = range_multiplicities(cols, width)
    proof, claims = prove_ranges(cols, width, m, Transcript(D))
    got = verify_ranges(sizes, width, proof, Transcript(D))
    assert np.array_equal(ml.evaluate(m, got[0].point), got[0].value)
    for claim, col in zip(got[1:], cols):
        assert np.array_equal(ml.evaluate(col, claim.point), claim.value)
    assert got == claims


def test_value_out_of_range_rejected():
    cols = columns(1, 8, [16, 8])
    cols[1][3] = np.uint64(256)  # one 9-bit value in an 8-bit column
    ok = [c.copy() for c in cols]
    ok[1][3] = 0
    m = range_multiplicities(ok, 8)  # the cheat: count it as a 0
    proof, _ = prove_ranges(cols, 8, m, Transcript(D))
    with pytest.raises(VerificationError) as info:
        verify_ranges([16, 8], 8, proof, Transcript(D))
    assert "do not cancel" in str(info.value)


def test_negative_value_rejected():
    cols = columns(2, 8, [8])
    cols[0][0] = gl.encode_signed(np.array([-1]))[0]  # p - 1: not in [0, 256)
    ok = [c.copy() for c in cols]
    ok[0][0] = 0
    proof, _ = prove_ranges(cols, 8, range_multiplicities(ok, 8), Transcript(D))
    with pytest.raises(VerificationError):
        verify_ranges([8], 8, proof, Transcript(D))


def test_tampered_column_value_rejected():
    cols = columns(3, 8, [16, 8])
    proof, _ = prove_ranges(cols, 8, range_multiplicities(cols, 8), Transcript(D))
    evals = proof.column_evals.copy()
    evals[1] = ext.add(evals[1], ext.ones(()))
    with pytest.raises(VerificationError) as info:
        verify_ranges([16, 8], 8, RangeProof(proof.lookup, evals), Transcript(D))
    assert "recompose" in str(info.value)


def test_multiplicities_reject_out_of_range():
    with pytest.raises(FieldRangeError):
        range_multiplicities([np.array([300], dtype=np.uint64)], 8)
