"""Claim batching: many claims on one table become one; a false claim is caught."""

from __future__ import annotations

import numpy as np
import pytest

from zkinfer.errors import VerificationError
from zkinfer.field import extension as ext
from zkinfer.field import goldilocks as gl
from zkinfer.poly import multilinear as ml
from zkinfer.protocol.batching import BatchProof, prove_batch, verify_batch
from zkinfer.protocol.claims import Claim
from zkinfer.transcript import Transcript

D = b"tests/batch"


def make_claims(table, k, rng):
    n = int(table.shape[0]).bit_length() - 1
    out = []
    for _ in range(k):
        p = ext.random(n, rng)
        out.append(Claim("F", p, ml.evaluate(table, p)))
    return out


@pytest.mark.parametrize("n,k", [(0, 1), (3, 1), (5, 4), (12, 7)])
def test_completeness(n, k):
    rng = np.random.default_rng(n * 10 + k)
    table = gl.random(1 << n, rng)
    claims = make_claims(table, k, rng)
    proof, final = prove_batch(table, claims, Transcript(D))
    got = verify_batch(claims, proof, Transcript(D))
    assert got == final
    assert np.array_equal(ml.evaluate(table, got.point), got.value)


def test_one_false_claim_rejected():
    rng = np.random.default_rng(1)
    table = gl.random(1 << 6, rng)
    claims = make_claims(table, 5, rng)
    claims[3] = Claim("F", claims[3].point, ext.add(claims[3].value, ext.ones(())))
    proof, _ = prove_batch(table, claims, Transcript(D))
    with pytest.raises(VerificationError) as info:
        verify_batch(claims, proof, Transcript(D))
    assert info.value.round == 0


def test_false_final_value_rejected():
    rng = np.random.default_rng(2)
    table = gl.random(1 << 6, rng)
    claims = make_claims(table, 3, rng)
    proof, _ = prove_batch(table, claims, Transcript(D))
    bad = BatchProof(proof.sumcheck, ext.add(proof.value, ext.ones(())))
    with pytest.raises(VerificationError) as info:
        verify_batch(claims, bad, Transcript(D))
    assert "final evaluation" in str(info.value)
