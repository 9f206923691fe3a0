"""Many claims on one batch commitment, one opening: completeness and false claims."""

from __future__ import annotations

import numpy as np
import pytest

from zkinfer.commit.base import OpeningClaim
from zkinfer.commit.trivial import TrivialPCS
from zkinfer.errors import VerificationError
from zkinfer.field import extension as ext
from zkinfer.field import goldilocks as gl
from zkinfer.poly import multilinear as ml
from zkinfer.protocol.openings import OpeningsProof, prove_openings, verify_openings
from zkinfer.transcript import Transcript

D = b"tests/openings"


def setup(seed, sizes=(6, 3, 3, 0, 5)):
    rng = np.random.default_rng(seed)
    polys = [gl.random(1 << n, rng) for n in sizes]
    pcs = TrivialPCS()
    commitment, data = pcs.commit(polys)
    shared = ext.random(3, rng)
    claims = []
    for k, n in enumerate(sizes):
        pts = [ext.random(n, rng)] + ([shared] if n == 3 else [])
        for p in pts:
            claims.append(OpeningClaim(k, p, ml.evaluate(polys[k], p)))
    return pcs, commitment, data, polys, claims


def test_completeness():
    pcs, commitment, data, _, claims = setup(0)
    proof = prove_openings(pcs, commitment, data, claims, Transcript(D))
    verify_openings(pcs, commitment, claims, proof, Transcript(D))


def test_one_false_claim_rejected():
    pcs, commitment, data, _, claims = setup(1)
    bad = OpeningClaim(claims[2].poly, claims[2].point, ext.add(claims[2].value, ext.ones(())))
    claims[2] = bad
    proof = prove_openings(pcs, commitment, data, claims, Transcript(D))
    with pytest.raises(VerificationError) as info:
        verify_openings(pcs, commitment, claims, proof, Transcript(D))
    assert info.value.round == 0


def test_claim_on_another_polynomial_rejected():
    pcs, commitment, data, _, claims = setup(2)
    proof = prove_openings(pcs, commitment, data, claims, Transcript(D))
    moved = list(claims)
    moved[1] = OpeningClaim(2, claims[1].point, claims[1].value)  # same shape, other block
    with pytest.raises(VerificationError):
        verify_openings(pcs, commitment, moved, proof, Transcript(D))


def test_forged_final_value_rejected():
    pcs, commitment, data, _, claims = setup(3)
    proof = prove_openings(pcs, commitment, data, claims, Transcript(D))
    forged = OpeningsProof(proof.sumcheck, ext.add(proof.value, ext.ones(())), proof.opening)
    with pytest.raises(VerificationError) as info:
        verify_openings(pcs, commitment, claims, forged, Transcript(D))
    assert "W(r*) F(r*)" in str(info.value)


def test_malformed_claim_rejected():
    pcs, commitment, data, _, claims = setup(4)
    proof = prove_openings(pcs, commitment, data, claims, Transcript(D))
    wrong_shape = list(claims)
    wrong_shape[0] = OpeningClaim(0, ext.zeros(2), claims[0].value)
    with pytest.raises(VerificationError):
        verify_openings(pcs, commitment, wrong_shape, proof, Transcript(D))
