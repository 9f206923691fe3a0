"""Matmul sumcheck: completeness on integer matrices, attacks rejected, claims exact."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from zkinfer.commit import OpeningClaim as PcsClaim
from zkinfer.commit import TrivialPCS, trivial
from zkinfer.commit.base import absorb_claims, verifier_claims
from zkinfer.commit.trivial import TrivialProof
from zkinfer.errors import FieldRangeError, VerificationError
from zkinfer.field import extension as ext
from zkinfer.field import goldilocks as gl
from zkinfer.poly import multilinear as ml
from zkinfer.protocol.matmul import MatmulProof, prove_matmul, verify_matmul
from zkinfer.transcript import Transcript

D = b"tests/matmul"


def instance(m, k, n, seed):
    rng = np.random.default_rng(seed)
    a = rng.integers(-128, 128, (m, k))
    b = rng.integers(-128, 128, (k, n))
    c = a @ b  # int64, |c| < k 2^14
    point = ext.random(int(np.log2(m)) + int(np.log2(n)), rng)
    A, B, C = (gl.encode_signed(x) for x in (a, b, c))
    return A, B, C, point


def c_value(C, point):
    return ml.evaluate(C.reshape(-1), point)


@given(st.sampled_from([1, 2, 8]), st.sampled_from([1, 4, 32]), st.sampled_from([1, 2, 16]),
       st.integers(0, 2**32))
def test_completeness_and_claims(m, k, n, seed):
    A, B, C, point = instance(m, k, n, seed)
    proof, claims = prove_matmul(A, B, point, Transcript(D))
    got = verify_matmul((m, k, n), point, c_value(C, point), proof, Transcript(D))
    assert [c.poly for c in got] == ["A", "B"]
    for claim, table in zip(got, (A, B)):
        assert np.array_equal(ml.evaluate(table.reshape(-1), claim.point), claim.value)
    assert got == claims


def test_large_parallel_path():
    A, B, C, point = instance(64, 256, 32, 3)
    proof, _ = prove_matmul(A, B, point, Transcript(D))
    claims = verify_matmul((64, 256, 32), point, c_value(C, point), proof, Transcript(D))
    assert np.array_equal(ml.evaluate(B.reshape(-1), claims[1].point), claims[1].value)


@pytest.fixture
def honest():
    A, B, C, point = instance(4, 16, 8, 7)
    proof, _ = prove_matmul(A, B, point, Transcript(D))
    return A, B, C, point, proof


def test_output_changed_by_one_rejected(honest):
    A, B, C, point, proof = honest
    C2 = C.copy()
    C2[1, 2] = gl.add(C2[1, 2], 1)
    with pytest.raises(VerificationError, match=re.escape("final evaluation P(f(r)) does not match")
                       ) as info:
        verify_matmul((4, 16, 8), point, c_value(C2, point), proof, Transcript(D))
    assert info.value.check == "matmul"


def test_weight_changed_after_commitment_rejected_by_the_opening(honest):
    """B is committed; the prover then proves the product with one weight changed (and the
    output of the changed product, so the sumcheck itself holds). The relation leaves the claim
    B'~(r_y, r_j) on the committed B: the opening, with its binding tag forged for that claim
    (the cheating prover absorbs the false value as the verifier does), fails its evaluation."""
    A, B, C, point, _ = honest
    pcs = TrivialPCS()
    commitment, data = pcs.commit([B.reshape(-1)])
    B2, C2 = B.copy(), C.copy()
    B2[3, 3] = gl.add(B2[3, 3], 1)
    C2[:, 3] = gl.add(C2[:, 3], A[:, 3])  # C2 = A B2
    prover_t, verifier_t = Transcript(D), Transcript(D)
    proof, _ = prove_matmul(A, B2, point, prover_t)
    claims = verify_matmul((4, 16, 8), point, c_value(C2, point), proof, verifier_t)
    assert claims[1].poly == "B"
    assert np.array_equal(claims[1].value, ml.evaluate(B2.reshape(-1), claims[1].point))
    opened = [PcsClaim(0, claims[1].point, claims[1].value)]
    absorb_claims(prover_t, commitment.to_bytes(), verifier_claims(commitment.layout, opened, "forger"))
    forged = TrivialProof(prover_t.challenge_ext(trivial._LABEL_BINDING), data.vector.copy())
    with pytest.raises(VerificationError, match="claim 0: wrong evaluation") as info:
        pcs.verify(commitment, opened, forged, verifier_t)
    assert info.value.check == "trivial pcs"
    # the control: the same opening for the committed B's true value is accepted
    prover_t, verifier_t = Transcript(D), Transcript(D)
    proof, _ = prove_matmul(A, B, point, prover_t)
    claims = verify_matmul((4, 16, 8), point, c_value(C, point), proof, verifier_t)
    opening = pcs.open(data, [PcsClaim(0, claims[1].point)], prover_t)
    honest_claim = PcsClaim(0, claims[1].point, claims[1].value)
    assert pcs.verify(commitment, [honest_claim], opening, verifier_t) is None


def test_prover_with_wrong_product_rejected():
    A, B, C, point = instance(4, 16, 8, 9)
    B2 = B.copy()
    B2[0, 0] = gl.add(B2[0, 0], 5)
    # the cheating prover uses B2, but C was fixed from the honest product
    proof, _ = prove_matmul(A, B2, point, Transcript(D))
    with pytest.raises(VerificationError, match=re.escape("final evaluation P(f(r)) does not match")):
        verify_matmul((4, 16, 8), point, c_value(C, point), proof, Transcript(D))


def test_tampered_end_evaluation_rejected(honest):
    A, B, C, point, proof = honest
    bad = MatmulProof(proof.sumcheck, ext.add(proof.a_eval, ext.ones(())), proof.b_eval)
    with pytest.raises(VerificationError) as info:
        verify_matmul((4, 16, 8), point, c_value(C, point), bad, Transcript(D))
    assert "final evaluation" in str(info.value)


def test_wrong_shape_rejected(honest):
    A, B, C, point, proof = honest
    with pytest.raises(VerificationError, match=re.escape("wrong number of rounds (expected 5, got 4)")):
        verify_matmul((4, 32, 8), point, c_value(C, point), proof, Transcript(D))
    with pytest.raises(VerificationError, match=re.escape("point has the wrong number of variables")):
        verify_matmul((8, 16, 8), point, c_value(C, point), proof, Transcript(D))


def test_bad_shapes_raise():
    with pytest.raises(FieldRangeError):
        prove_matmul(np.zeros((2, 3), dtype=np.uint64), np.zeros((3, 2), dtype=np.uint64),
                     ext.zeros(2), Transcript(D))
    with pytest.raises(FieldRangeError):
        prove_matmul(np.zeros((2, 4), dtype=np.uint64), np.zeros((2, 2), dtype=np.uint64),
                     ext.zeros(2), Transcript(D))
