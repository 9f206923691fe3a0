"""Conformance suite run against every PCS: completeness, batching, and attacks.

Every attack must be rejected with exactly ``VerificationError`` or ``ProofFormatError``.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zkinfer.commit import Layout, OpeningClaim
from zkinfer.errors import ProofFormatError, VerificationError
from zkinfer.field import extension as ext
from zkinfer.field import goldilocks as gl
from zkinfer.poly import multilinear

from .helpers import (
    SCHEME_IDS,
    SCHEMES,
    honest,
    random_batch,
    single,
    transcript,
)

REJECTED = (VerificationError, ProofFormatError)

schemes = pytest.mark.parametrize("pcs", SCHEMES, ids=SCHEME_IDS)


def _verify(pcs, com, claims, proof, t=None):
    pcs.verify(com.to_bytes() if not isinstance(com, bytes) else com, claims,
               proof if isinstance(proof, bytes) else proof.to_bytes(),
               t if t is not None else transcript())


# ---- completeness


@schemes
@settings(max_examples=30)
@given(n=st.integers(0, 16), seed=st.integers(0, 2**32 - 1))
def test_completeness_single_polynomial(pcs, n, seed):
    com, proof, claims = single(pcs, n, seed)
    _verify(pcs, com, claims, proof)


@schemes
@pytest.mark.parametrize("n", range(0, 17))
def test_completeness_every_size(pcs, n):
    com, proof, claims = single(pcs, n, seed=n)
    _verify(pcs, com, claims, proof)


@schemes
@settings(max_examples=25)
@given(
    sizes=st.lists(st.integers(0, 12), min_size=1, max_size=6),
    seed=st.integers(0, 2**32 - 1),
    data=st.data(),
)
def test_completeness_batch(pcs, sizes, seed, data):
    rng = np.random.default_rng(seed)
    polys = random_batch(rng, sizes)
    # a few claims at fresh points, some sharing a point across same-size polynomials
    picks = data.draw(st.lists(st.integers(0, len(sizes) - 1), min_size=1, max_size=5))
    points = [(k, ext.random(sizes[k], rng)) for k in picks]
    for k in range(len(sizes)):
        for j, p in list(points):
            if j != k and sizes[j] == sizes[k]:
                points.append((k, p))  # same point, another polynomial
                break
    com, proof, claims = honest(pcs, polys, points)
    _verify(pcs, com, claims, proof)


@schemes
def test_batch_same_point_many_polynomials(pcs):
    rng = np.random.default_rng(5)
    polys = random_batch(rng, [10] * 8 + [3, 0])
    r = ext.random(10, rng)
    com, proof, claims = honest(pcs, polys, [(k, r) for k in range(8)])
    _verify(pcs, com, claims, proof)


@schemes
def test_whole_vector_claim_matches_block_claim(pcs):
    rng = np.random.default_rng(6)
    polys = random_batch(rng, [4, 9, 6, 6])
    layout = Layout((4, 9, 6, 6))
    r = ext.random(6, rng)
    z = layout.global_point(2, r)
    com, data = pcs.commit(polys)
    # F(prefix bits of block 2, r) == poly_2(r)
    assert np.array_equal(multilinear.evaluate(data.vector, z), multilinear.evaluate(polys[2], r))
    com, proof, claims = honest(pcs, polys, [(None, z), (2, r)])
    _verify(pcs, com, claims, proof)


@schemes
def test_prover_and_verifier_transcripts_agree(pcs):
    rng = np.random.default_rng(7)
    polys = random_batch(rng, [8])
    r = ext.random(8, rng)
    com, data = pcs.commit(polys)
    tp, tv = transcript(), transcript()
    proof = pcs.open(data, [OpeningClaim(0, r)], tp)
    pcs.verify(com, [OpeningClaim(0, r, data.evaluate(0, r))], proof, tv)
    assert tp.digest() == tv.digest()


@schemes
def test_prover_evaluate_matches_reference(pcs):
    rng = np.random.default_rng(8)
    polys = random_batch(rng, [12, 3])
    _, data = pcs.commit(polys)
    for k, n in ((0, 12), (1, 3)):
        r = ext.random(n, rng)
        assert np.array_equal(data.evaluate(k, r), multilinear.evaluate(polys[k], r))


@schemes
def test_encodings_round_trip(pcs):
    com, proof, _ = single(pcs, 9)
    assert pcs.decode_commitment(com.to_bytes()).to_bytes() == com.to_bytes()
    assert pcs.decode_proof(proof.to_bytes()).to_bytes() == proof.to_bytes()


@schemes
def test_proofs_are_deterministic(pcs):
    _, p1, _ = single(pcs, 7, seed=3)
    _, p2, _ = single(pcs, 7, seed=3)
    assert p1.to_bytes() == p2.to_bytes()


# ---- malformed input to the prover


@schemes
def test_commit_rejects_bad_tables(pcs):
    from zkinfer.errors import FieldRangeError

    with pytest.raises(FieldRangeError):
        pcs.commit([np.zeros(3, dtype=np.uint64)])
    with pytest.raises(FieldRangeError):
        pcs.commit([np.array([gl.P], dtype=np.uint64)])
    with pytest.raises(ValueError):
        pcs.commit([])


@schemes
def test_open_rejects_bad_claims(pcs):
    rng = np.random.default_rng(9)
    _, data = pcs.commit(random_batch(rng, [4]))
    with pytest.raises(ValueError):
        pcs.open(data, [OpeningClaim(1, ext.random(4, rng))], transcript())
    with pytest.raises(ValueError):
        pcs.open(data, [OpeningClaim(0, ext.random(3, rng))], transcript())
    with pytest.raises(ValueError):
        pcs.open(data, [], transcript())


# ---- attacks


@schemes
def test_wrong_value_rejected(pcs):
    com, proof, claims = single(pcs, 10)
    c = claims[0]
    bad = [OpeningClaim(c.poly, c.point, ext.add(c.value, ext.ones(())))]
    with pytest.raises(VerificationError):
        _verify(pcs, com, bad, proof)


@schemes
def test_wrong_value_other_coefficient_rejected(pcs):
    com, proof, claims = single(pcs, 10)
    c = claims[0]
    bad = [OpeningClaim(c.poly, c.point, ext.add(c.value, np.array([0, 1], dtype=np.uint64)))]
    with pytest.raises(VerificationError):
        _verify(pcs, com, bad, proof)


@schemes
def test_wrong_point_rejected(pcs):
    com, proof, claims = single(pcs, 10)
    c = claims[0]
    point = np.array(c.point, dtype=np.uint64).copy()
    point[3] = ext.add(point[3], ext.ones(()))
    with pytest.raises(VerificationError):
        _verify(pcs, com, [OpeningClaim(c.poly, point, c.value)], proof)


@schemes
def test_wrong_point_same_value_rejected(pcs):
    """The value is right for the new point, but the proof was made for the old one."""
    rng = np.random.default_rng(10)
    polys = random_batch(rng, [10])
    com, proof, _ = honest(pcs, polys, [(0, ext.random(10, rng))])
    other = ext.random(10, rng)
    with pytest.raises(VerificationError):
        _verify(pcs, com, [OpeningClaim(0, other, multilinear.evaluate(polys[0], other))], proof)


@schemes
def test_claim_on_other_polynomial_rejected(pcs):
    rng = np.random.default_rng(11)
    polys = random_batch(rng, [6, 6])
    r = ext.random(6, rng)
    com, proof, claims = honest(pcs, polys, [(0, r)])
    with pytest.raises(VerificationError):
        _verify(pcs, com, [OpeningClaim(1, r, claims[0].value)], proof)


@schemes
def test_dropped_claim_rejected(pcs):
    rng = np.random.default_rng(12)
    polys = random_batch(rng, [6, 6])
    r = ext.random(6, rng)
    com, proof, claims = honest(pcs, polys, [(0, r), (1, r)])
    with pytest.raises(VerificationError):
        _verify(pcs, com, claims[:1], proof)


@schemes
def test_malformed_claims_rejected(pcs):
    com, proof, claims = single(pcs, 5)
    c = claims[0]
    for bad in (
        [OpeningClaim(3, c.point, c.value)],  # no such polynomial
        [OpeningClaim(0, np.asarray(c.point)[:4], c.value)],  # wrong number of variables
        [OpeningClaim(0, c.point, None)],  # missing value
        [OpeningClaim(0, c.point, np.array([gl.P, 0], dtype=np.uint64))],  # non-canonical value
        [],
    ):
        with pytest.raises(VerificationError):
            _verify(pcs, com, bad, proof)


@schemes
def test_proof_for_different_commitment_rejected(pcs):
    rng = np.random.default_rng(13)
    r = ext.random(10, rng)
    polys_a, polys_b = random_batch(rng, [10]), random_batch(rng, [10])
    com_a, proof_a, claims_a = honest(pcs, polys_a, [(0, r)])
    com_b, _, claims_b = honest(pcs, polys_b, [(0, r)])
    with pytest.raises(VerificationError):
        _verify(pcs, com_b, claims_a, proof_a)
    with pytest.raises(VerificationError):
        _verify(pcs, com_b, claims_b, proof_a)


@schemes
def test_proof_replayed_under_another_transcript_rejected(pcs):
    com, proof, claims = single(pcs, 10)
    with pytest.raises(VerificationError):
        _verify(pcs, com, claims, proof, transcript(b"zkinfer/tests/another-protocol"))
    shifted = transcript()
    shifted.append_bytes(b"test/extra", b"one more message")
    with pytest.raises(VerificationError):
        _verify(pcs, com, claims, proof, shifted)


@schemes
def test_truncated_proof_rejected(pcs):
    com, proof, claims = single(pcs, 8)
    data = proof.to_bytes()
    for cut in sorted({0, 1, 5, 6, 7, len(data) // 2, len(data) - 33, len(data) - 1}):
        with pytest.raises(ProofFormatError):
            _verify(pcs, com, claims, data[:cut])


@schemes
def test_trailing_bytes_rejected(pcs):
    com, proof, claims = single(pcs, 8)
    with pytest.raises(ProofFormatError):
        _verify(pcs, com, claims, proof.to_bytes() + b"\x00")
    with pytest.raises(ProofFormatError):
        _verify(pcs, com.to_bytes() + b"\x00", claims, proof)


@schemes
def test_truncated_commitment_rejected(pcs):
    com, proof, claims = single(pcs, 8)
    data = com.to_bytes()
    for cut in range(len(data)):
        with pytest.raises(ProofFormatError):
            _verify(pcs, data[:cut], claims, proof)


@schemes
@settings(max_examples=100)
@given(data=st.data())
def test_single_bit_flip_in_proof_rejected(pcs, data):
    com, proof, claims = _cached_single(pcs)
    raw = bytearray(proof.to_bytes())
    bit = data.draw(st.integers(0, 8 * len(raw) - 1))
    raw[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(REJECTED):
        _verify(pcs, com, claims, bytes(raw))


@schemes
@settings(max_examples=40)
@given(data=st.data())
def test_single_bit_flip_in_commitment_rejected(pcs, data):
    com, proof, claims = _cached_single(pcs)
    raw = bytearray(com.to_bytes())
    bit = data.draw(st.integers(0, 8 * len(raw) - 1))
    raw[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(REJECTED):
        _verify(pcs, bytes(raw), claims, proof)


@schemes
def test_every_byte_of_a_small_proof_matters(pcs):
    """Exhaustive version of the bit-flip test on a tiny proof: flip the low bit of each byte."""
    com, proof, claims = single(pcs, 2, seed=4)
    raw = proof.to_bytes()
    for i in range(len(raw)):
        bad = bytearray(raw)
        bad[i] ^= 1
        with pytest.raises(REJECTED):
            _verify(pcs, com, claims, bytes(bad))


@schemes
def test_proof_of_another_scheme_rejected(pcs):
    other = SCHEMES[(SCHEMES.index(pcs) + 1) % len(SCHEMES)]
    com, _, claims = single(pcs, 6)
    _, proof_other, _ = single(other, 6)
    with pytest.raises(REJECTED):
        _verify(pcs, com, claims, proof_other)


@pytest.mark.slow
@schemes
@pytest.mark.parametrize("n", [18, 20, 22])
def test_completeness_large(pcs, n):
    com, proof, claims = single(pcs, n, seed=n)
    _verify(pcs, com, claims, proof)


@pytest.mark.slow
@schemes
def test_completeness_large_batch(pcs):
    rng = np.random.default_rng(99)
    sizes = [16] * 8 + [12] * 40 + [4] * 30 + [0] * 5
    polys = random_batch(rng, sizes)
    shared = {n: ext.random(n, rng) for n in set(sizes)}
    points = [(k, shared[n]) for k, n in enumerate(sizes)]
    points += [(None, ext.random(Layout(tuple(sizes)).total_vars, rng))]
    com, proof, claims = honest(pcs, polys, points)
    _verify(pcs, com, claims, proof)


_CACHE: dict[int, tuple] = {}


def _cached_single(pcs):
    key = id(pcs)
    if key not in _CACHE:
        _CACHE[key] = single(pcs, 9, seed=1)
    return _CACHE[key]


@schemes
def test_parameters_round_trip(pcs):
    from zkinfer.commit import pcs_from_params

    again = pcs_from_params(pcs.params_bytes())
    assert type(again) is type(pcs)
    assert again.params_bytes() == pcs.params_bytes()
    assert again.security_bits == pcs.security_bits
    raw = pcs.params_bytes()
    for cut in range(len(raw)):
        with pytest.raises(ProofFormatError):
            pcs_from_params(raw[:cut])
    with pytest.raises(ProofFormatError):
        pcs_from_params(raw + b"\x00")
