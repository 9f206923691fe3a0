"""Attacks on the scheme-independent PCS checks (``commit/base.py``, ``commit/__init__.py``) and
on :class:`~zkinfer.commit.TrivialPCS` (``commit/trivial.py``): each input passes every earlier
check and is rejected by exactly the check it is named for.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from zkinfer.codec import Writer
from zkinfer.commit import LigeroPCS, OpeningClaim, TrivialPCS, pcs_from_params
from zkinfer.commit.base import Layout, Parts, params_writer
from zkinfer.commit.trivial import TrivialCommitment
from zkinfer.errors import ProofFormatError, VerificationError
from zkinfer.field import extension as ext
from zkinfer.field import goldilocks as gl

from .helpers import honest, random_batch, transcript

SCHEMES = [TrivialPCS(), LigeroPCS(log_blowup=2)]
CHECKS = {"trivial": "trivial pcs", "ligero": "ligero pcs"}
schemes = pytest.mark.parametrize("pcs", SCHEMES, ids=["trivial", "ligero"])


@pytest.fixture(scope="module", params=SCHEMES, ids=["trivial", "ligero"])
def opening(request):
    """``(pcs, polys, commitment, proof, claims)``: two polynomials (2^9, 2^7), two true claims."""
    pcs = request.param
    rng = np.random.default_rng(31)
    polys = random_batch(rng, [9, 7])
    com, proof, claims = honest(pcs, polys, [(0, ext.random(9, rng)), (1, ext.random(7, rng))])
    return pcs, polys, com, proof, claims


def _rejected(pcs, com, claims, proof, match: str) -> VerificationError:
    """Verify and return the error (its ``check`` names the scheme)."""
    with pytest.raises(VerificationError, match=match) as err:
        pcs.verify(com, claims, proof, transcript())
    assert err.value.check == CHECKS[pcs.name]
    return err.value


# ---- claims (base.verifier_claims)


def test_opening_verified_against_no_claims_rejected(opening):
    pcs, _, com, proof, _ = opening
    _rejected(pcs, com, [], proof.to_bytes(), "no claims to verify")


@pytest.mark.parametrize("kind", ["poly out of range", "negative poly", "poly not an int",
                                  "point of the wrong length", "point not canonical",
                                  "value missing", "value of three elements", "value not canonical"])
def test_malformed_claim_rejected(opening, kind):
    pcs, _, com, proof, claims = opening
    c = claims[1]
    bad = {
        "poly out of range": OpeningClaim(2, c.point, c.value),
        "negative poly": OpeningClaim(-1, c.point, c.value),
        "poly not an int": OpeningClaim("1", c.point, c.value),
        "point of the wrong length": OpeningClaim(1, np.asarray(c.point)[:-1], c.value),
        "point not canonical": OpeningClaim(1, np.full((7, 2), gl.P, dtype=np.uint64), c.value),
        "value missing": OpeningClaim(1, c.point, None),
        "value of three elements": OpeningClaim(1, c.point, np.zeros(3, dtype=np.uint64)),
        "value not canonical": OpeningClaim(1, c.point, np.array([gl.P, 0], dtype=np.uint64)),
    }[kind]
    _rejected(pcs, com, [claims[0], bad], proof.to_bytes(), "claim 1 is malformed")


# ---- encodings (base.is_encoded, base.params_reader, base.read_layout, pcs_from_params)


@schemes
@pytest.mark.parametrize("which", ["commitment", "proof"])
@pytest.mark.parametrize("value", ["deadbeef", np.zeros(4, dtype=np.uint8)], ids=["str", "array"])
def test_commitment_or_proof_neither_bytes_nor_object_rejected(pcs, which, value):
    com, proof, claims = honest(pcs, random_batch(np.random.default_rng(1), [4]),
                                [(0, ext.zeros(4))])
    args = (value, proof) if which == "commitment" else (com, value)
    expected = f"expected bytes or a decoded object, got {type(value).__name__}"
    with pytest.raises(ProofFormatError, match=expected):
        pcs.verify(args[0], claims, args[1], transcript())


def test_parameters_of_an_unknown_scheme_rejected():
    with pytest.raises(ProofFormatError, match="unknown scheme 'fri'"):
        pcs_from_params(params_writer("fri").finish())


def test_parameters_with_a_non_ascii_scheme_name_rejected():
    with pytest.raises(ProofFormatError, match="scheme name is not ASCII"):
        pcs_from_params(params_writer("lig\u00e9ro").finish())


def _trivial_commitment(num_vars: bytes, version: int = 2) -> bytes:
    """A plain trivial commitment's bytes with the given layout ``n_k`` bytes (version 2: mode
    byte 0; version 1: no mode)."""
    w = Writer()
    w.header(b"ZKTC", version)
    w.u32(len(num_vars))
    w.raw(num_vars)
    if version >= 2:
        w.u8(0)
    w.raw(bytes(32))
    return w.finish()


def test_commitment_written_by_hand_matches_the_library():
    com, _ = TrivialPCS().commit([np.zeros(8, dtype=np.uint64), np.zeros(2, dtype=np.uint64)])
    assert _trivial_commitment(bytes([3, 1])) == dataclasses.replace(com, digest=bytes(32)).to_bytes()
    assert TrivialCommitment.from_bytes(_trivial_commitment(bytes([3, 1]))).layout == com.layout


def test_version_1_commitment_is_read_as_plain_and_encodes_back_to_its_bytes():
    raw = _trivial_commitment(bytes([3, 1]), version=1)
    old = TrivialCommitment.from_bytes(raw)
    assert (old.version, old.parts, old.layout.num_vars) == (1, None, (3, 1))
    assert old.to_bytes() == raw


@pytest.mark.parametrize("num_vars,message", [
    (b"", "a commitment needs at least one polynomial"),
    (bytes([4, 33]), "a polynomial with more than 32 variables"),
    (bytes([32, 32]), "bad layout: the batch needs 2\\^33 entries"),
    (bytes([32, 0]), "bad layout: the batch needs 2\\^33 entries"),
], ids=["empty", "33 variables", "two of 2^32", "2^32 plus one"])
@schemes
def test_commitment_layout_rejected_at_decoding(pcs, num_vars, message):
    if pcs.name == "trivial":
        raw = _trivial_commitment(num_vars)
    else:
        w = Writer()
        w.header(b"ZKLC", 2)
        w.u8(2)
        w.u32(1)
        w.u8(0)
        w.u32(len(num_vars))
        w.raw(num_vars)
        w.raw(bytes(32))
        raw = w.finish()
    with pytest.raises(ProofFormatError, match=message):
        pcs.decode_commitment(raw)


# ---- TrivialPCS


def test_trivial_parameters_of_another_scheme_rejected():
    with pytest.raises(ProofFormatError, match="scheme 'ligero', expected 'trivial'"):
        TrivialPCS.from_params(LigeroPCS().params_bytes())


def test_commitment_or_proof_object_of_the_other_scheme_rejected(opening):
    pcs, polys, com, proof, claims = opening
    other = SCHEMES[1] if pcs.name == "trivial" else SCHEMES[0]
    ocom, oproof, _ = honest(other, polys, [(0, claims[0].point), (1, claims[1].point)])
    for c, p in ((ocom, proof), (com, oproof)):
        _rejected(pcs, c, claims, p, "commitment or proof of another scheme")


def _trivial():
    """A trivial commitment (2^6 and 2^5 entries, 128 with the padding) and two true claims."""
    pcs = TrivialPCS()
    rng = np.random.default_rng(32)
    polys = random_batch(rng, [6, 5])
    com, data = pcs.commit(polys)
    r0, r1 = ext.random(6, rng), ext.random(5, rng)
    claims = [OpeningClaim(0, r0, data.evaluate(0, r0)), OpeningClaim(1, r1, data.evaluate(1, r1))]
    return pcs, com, data, claims


@pytest.mark.parametrize("change", ["value", "transcript"])
def test_trivial_proof_for_other_claims_or_transcript_rejected_by_the_binding_tag(change):
    pcs, com, data, claims = _trivial()
    if change == "value":  # made for the true claims, checked against a false one
        proof = pcs.open(data, claims, transcript())
        claims = [claims[0], OpeningClaim(1, claims[1].point, ext.add(claims[1].value, ext.ones(())))]
    else:
        proof = pcs.open(data, claims, transcript(b"another protocol"))
    _rejected(pcs, com, claims, proof.to_bytes(), "binding tag: proof made for another transcript")


@pytest.mark.parametrize("length", [64, 127, 129])
def test_trivial_proof_vector_of_the_wrong_length_rejected(length):
    # the tag is drawn before the proof is absorbed: a replaced vector keeps it valid
    pcs, com, data, claims = _trivial()
    proof = pcs.open(data, claims, transcript())
    vector = np.resize(proof.vector, length)
    err = _rejected(pcs, com, claims, dataclasses.replace(proof, vector=vector).to_bytes(),
                    "vector of the wrong length")
    assert (err.expected, err.got) == (128, length)


def test_trivial_proof_of_another_vector_rejected_by_the_digest():
    pcs, com, data, claims = _trivial()
    proof = pcs.open(data, claims, transcript())
    vector = proof.vector.copy()
    vector[-1] = 1  # in the zero padding (entries 96..127), which no claim reads
    _rejected(pcs, com, claims, dataclasses.replace(proof, vector=vector).to_bytes(),
              "the vector does not match the commitment")


def test_trivial_false_claim_opened_with_its_own_tag_rejected_by_the_evaluation():
    """The prover absorbs the false value, so the tag matches; the committed vector does not
    evaluate to it."""
    pcs, com, data, claims = _trivial()
    bad = [claims[0], OpeningClaim(1, claims[1].point, ext.add(claims[1].value, ext.ones(())))]
    proof = pcs.open(data, bad, transcript())
    err = _rejected(pcs, com, bad, proof.to_bytes(), "claim 1: wrong evaluation")
    assert err.expected == claims[1].value.tolist()


# ---- TrivialPCS, commitments made of parts


def _trivial_parts():
    """A trivial commitment of parts 2^5 (32, 20 and 20 entries given) and true claims."""
    pcs = TrivialPCS()
    parts = Parts(5, (32, 20, 20))
    rng = np.random.default_rng(33)
    vectors = [gl.random(u, rng) for u in parts.used]
    com, data = pcs.commit_parts(parts, vectors)
    points = [(1, ext.random(5, rng)), (None, ext.random(7, rng))]
    claims = [OpeningClaim(k, p, data.evaluate(k, p)) for k, p in points]
    return pcs, com, data, claims, pcs.open(data, claims, transcript())


@pytest.mark.parametrize("length", [71, 73, 128])
def test_trivial_parts_proof_vector_of_the_wrong_length_rejected(length):
    pcs, com, _, claims, proof = _trivial_parts()
    err = _rejected(pcs, com, claims,
                    dataclasses.replace(proof, vector=np.resize(proof.vector, length)).to_bytes(),
                    "vector of the wrong length")
    assert (err.expected, err.got) == (72, length)


def test_trivial_parts_proof_with_two_parts_swapped_rejected_by_the_digest():
    # parts 1 and 2 hold 20 entries each: the same length, their order exchanged
    pcs, com, _, claims, proof = _trivial_parts()
    v = proof.vector
    swapped = np.concatenate([v[:32], v[52:], v[32:52]])
    _rejected(pcs, com, claims, dataclasses.replace(proof, vector=swapped).to_bytes(),
              "the vector does not match the commitment")


@pytest.mark.parametrize("change", ["layout", "version 1"])
def test_trivial_parts_commitment_object_that_does_not_fit_rejected(change):
    pcs, com, _, claims, proof = _trivial_parts()
    bad = dataclasses.replace(com, **({"layout": Layout((5, 5, 5, 5))} if change == "layout"
                                      else {"version": 1}))
    _rejected(pcs, bad, claims, proof, "the layout is not that of the parts")


def _trivial_parts_bytes(num_vars: bytes, mode: int, used: tuple[int, ...]) -> bytes:
    w = Writer()
    w.header(b"ZKTC", 2)
    w.u32(len(num_vars))
    w.raw(num_vars)
    w.u8(mode)
    w.u32(len(used))
    for u in used:
        w.u64(u)
    w.raw(bytes(32))
    return w.finish()


def test_trivial_parts_commitment_written_by_hand_matches_the_library():
    _, com, _, _, _ = _trivial_parts()
    raw = _trivial_parts_bytes(bytes([5, 5, 5]), 1, (32, 20, 20))
    assert raw == dataclasses.replace(com, digest=bytes(32)).to_bytes()


@pytest.mark.parametrize("num_vars,mode,used,message", [
    (bytes([5, 5, 5]), 2, (32, 20, 20), "trivial commitment: unknown mode 2"),
    (bytes([5, 5, 5]), 1, (32, 20), "2 parts, but the layout has 3 polynomials"),
    (bytes([5, 4, 5]), 1, (32, 16, 20), "parts of different sizes"),
    (bytes([5, 5, 5]), 1, (32, 0, 20), r"used\[1\] = 0 is not in \[1, 2\^5\]"),
    (bytes([5, 5, 5]), 1, (32, 20, 33), r"used\[2\] = 33 is not in \[1, 2\^5\]"),
], ids=["mode 2", "count", "sizes", "used 0", "used above 2^m"])
def test_trivial_non_canonical_parts_commitment_rejected_at_decoding(num_vars, mode, used,
                                                                      message):
    with pytest.raises(ProofFormatError, match=message):
        TrivialCommitment.from_bytes(_trivial_parts_bytes(num_vars, mode, used))
