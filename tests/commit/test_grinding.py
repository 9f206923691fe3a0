"""Fiat-Shamir grinding in the Ligero opening: the nonce, its check, its encoding, its figure.

Attacks, each with the exact rejection: a nonce that does not meet the difficulty, a valid but
wrong nonce, a verifier (key) with ``grinding_bits`` changed, a proof made without grinding, a
proof with the nonce stripped; parameters out of range rejected at decode.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math

import numpy as np
import pytest

from zkinfer.commit import LigeroPCS, pcs_from_params
from zkinfer.commit.ligero import schedule
from zkinfer.commit.ligero.params import (
    DEFAULT_GRINDING_BITS,
    MAX_GRINDING_BITS,
    LigeroParams,
    field_error,
    query_error,
    soundness_error,
)
from zkinfer.commit.ligero.proof import LigeroProof
from zkinfer.errors import ProofFormatError, VerificationError
from zkinfer.transcript import Transcript

from .helpers import single, transcript

PCS16 = LigeroPCS(log_blowup=2)  # the default 16 bits


def _seed_after_rows(pcs: LigeroPCS, com, claims, proof) -> bytes:
    """The verifier's grinding seed for ``proof``: replay the schedule up to the rows."""
    from zkinfer.commit.base import verifier_claims

    t = transcript()
    checked = verifier_claims(com.layout, claims, "test")
    schedule.begin(t, com.to_bytes(), checked, com.rows)
    schedule.absorb_proximity_value(t, proof.proximity_value)
    schedule.absorb_rows(t, proof.u_rows)
    return schedule.grinding_seed(t, pcs.params.grinding_bits)


@pytest.fixture(scope="module")
def opening():
    com, proof, claims = single(PCS16, 10, seed=3)
    return com, proof, claims


# ---- the puzzle


def test_proof_of_work_is_the_documented_hash():
    seed = bytes(range(32)) + bytes((16,))
    for nonce in (0, 1, 2**63 + 5):
        h = hashlib.blake2b(seed + nonce.to_bytes(8, "little"), digest_size=8,
                            person=b"zkinfer-lig-pow1")
        assert schedule.proof_of_work(seed, nonce) == int.from_bytes(h.digest(), "big")


@pytest.mark.parametrize("bits", [0, 1, 5, 9])
def test_find_nonce_returns_the_smallest_solution(bits):
    seed = schedule.grinding_seed(Transcript(b"grind"), bits)
    nonce = schedule.find_nonce(seed, bits)
    assert schedule.meets_difficulty(seed, nonce, bits)
    assert schedule.proof_of_work(seed, nonce) >> (64 - bits) == 0 if bits else nonce == 0
    assert not any(schedule.meets_difficulty(seed, n, bits) for n in range(nonce))


def test_meets_difficulty_refuses_nonces_outside_u64():
    seed = schedule.grinding_seed(Transcript(b"grind"), 0)
    assert not schedule.meets_difficulty(seed, -1, 0)
    assert not schedule.meets_difficulty(seed, 1 << 64, 0)


def test_honest_opening_meets_the_difficulty(opening):
    com, proof, claims = opening
    seed = _seed_after_rows(PCS16, com, claims, proof)
    assert schedule.meets_difficulty(seed, proof.nonce, 16)
    assert proof.nonce == schedule.find_nonce(seed, 16)  # deterministic prover
    PCS16.verify(com, claims, proof, transcript())


def test_grinding_off_sends_nonce_zero():
    pcs = LigeroPCS(log_blowup=2, grinding_bits=0)
    com, proof, claims = single(pcs, 8, seed=4)
    assert proof.nonce == 0
    pcs.verify(com, claims, proof, transcript())


# ---- attacks


def test_nonce_below_the_difficulty_rejected(opening):
    com, proof, claims = opening
    seed = _seed_after_rows(PCS16, com, claims, proof)
    bad = next(n for n in range(proof.nonce + 1, proof.nonce + 100)
               if not schedule.meets_difficulty(seed, n, 16))
    forged = dataclasses.replace(proof, nonce=bad)
    with pytest.raises(VerificationError,
                       match="grinding: the nonce does not meet the difficulty of 16 bits") as err:
        PCS16.verify(com, claims, forged, transcript())
    assert err.value.check == "ligero pcs" and err.value.got == bad


def test_wrong_nonce_that_meets_the_difficulty_rejected(opening):
    """Another solution of the puzzle re-draws the queries: the opened columns no longer match."""
    com, proof, claims = opening
    seed = _seed_after_rows(PCS16, com, claims, proof)
    other = next(n for n in range(proof.nonce + 1, proof.nonce + (1 << 22))
                 if schedule.meets_difficulty(seed, n, 16))
    forged = dataclasses.replace(proof, nonce=other)
    with pytest.raises(VerificationError, match="queries: opened columns differ"):
        PCS16.verify(com, claims, forged, transcript())


@pytest.mark.parametrize("nonce", [-1, 1 << 64, 1.0, True, None])
def test_nonce_of_the_wrong_type_or_range_rejected(opening, nonce):
    com, proof, claims = opening
    with pytest.raises(VerificationError, match="grinding: the nonce does not meet"):
        PCS16.verify(com, claims, dataclasses.replace(proof, nonce=nonce), transcript())


def test_verifier_with_more_grinding_bits_rejects(opening):
    """A key with ``grinding_bits`` raised to 20: the 16-bit nonce does not solve its puzzle."""
    com, proof, claims = opening
    stricter = LigeroPCS(log_blowup=2, grinding_bits=20)
    assert stricter.queries == PCS16.queries  # only the grinding differs
    assert not schedule.meets_difficulty(_seed_after_rows(stricter, com, claims, proof),
                                         proof.nonce, 20)
    with pytest.raises(VerificationError, match="grinding: .* difficulty of 20 bits"):
        stricter.verify(com, claims, proof, transcript())


def test_proof_made_without_grinding_rejected_by_a_grinding_key():
    lazy = LigeroPCS(log_blowup=2, grinding_bits=0)
    com, proof, claims = single(lazy, 10, seed=3)
    assert proof.nonce == 0
    with pytest.raises(VerificationError, match="grinding: .* difficulty of 16 bits"):
        PCS16.verify(com, claims, proof, transcript())


def test_proof_with_the_nonce_stripped_rejected(opening):
    com, proof, claims = opening
    raw = proof.to_bytes()
    # the nonce follows the rows: magic, version, R, log C, s, G, G x C ext elements
    at = 4 + 2 + 4 + 1 + 16 + 4 + 16 * proof.u_rows.shape[0] * proof.u_rows.shape[1]
    assert int.from_bytes(raw[at: at + 8], "little") == proof.nonce
    stripped = raw[:at] + raw[at + 8:]
    with pytest.raises(ProofFormatError, match="ligero opening proof"):
        LigeroProof.from_bytes(stripped)
    with pytest.raises(ProofFormatError, match="ligero opening proof"):
        PCS16.verify(com, claims, stripped, transcript())
    # ... and labelled as a version-2 proof (which had no nonce): no longer accepted
    old = stripped[:4] + (2).to_bytes(2, "little") + stripped[6:]
    with pytest.raises(ProofFormatError, match="ligero opening proof: unsupported version 2"):
        PCS16.verify(com, claims, old, transcript())


def test_nonce_round_trips_in_the_encoding(opening):
    _, proof, _ = opening
    back = LigeroProof.from_bytes(proof.to_bytes())
    assert back.nonce == proof.nonce and back.to_bytes() == proof.to_bytes()
    big = dataclasses.replace(proof, nonce=2**64 - 1)
    assert LigeroProof.from_bytes(big.to_bytes()).nonce == 2**64 - 1


# ---- parameters


@pytest.mark.parametrize("bits", [0, 1, DEFAULT_GRINDING_BITS, MAX_GRINDING_BITS])
def test_grinding_bits_in_the_parameters_round_trip(bits):
    pcs = LigeroPCS(log_blowup=2, target_bits=104, grinding_bits=bits)
    again = pcs_from_params(pcs.params_bytes())
    assert isinstance(again, LigeroPCS) and again.params == pcs.params
    assert again.params.grinding_bits == bits
    assert pcs.params_bytes()[-1] == bits  # the last byte


@pytest.mark.parametrize("value", [MAX_GRINDING_BITS + 1, 64, 255])
def test_grinding_bits_out_of_range_rejected_at_decode(value):
    raw = bytearray(LigeroPCS(log_blowup=2).params_bytes())
    raw[-1] = value
    with pytest.raises(ProofFormatError, match=f"exceeds the bound {MAX_GRINDING_BITS}"):
        pcs_from_params(bytes(raw))


def test_parameters_without_the_grinding_byte_rejected():
    raw = LigeroPCS(log_blowup=2).params_bytes()
    with pytest.raises(ProofFormatError, match="truncated"):
        pcs_from_params(raw[:-1])
    with pytest.raises(ProofFormatError, match="trailing"):
        pcs_from_params(raw + b"\x00")
    old = raw[:4] + (1).to_bytes(2, "little") + raw[6:-1]  # a version-1 key's parameters
    with pytest.raises(ProofFormatError, match="unsupported version 1"):
        pcs_from_params(old)


@pytest.mark.parametrize("bits", [-1, MAX_GRINDING_BITS + 1, 1.5, True, "16", None])
def test_grinding_bits_out_of_range_rejected_at_construction(bits):
    with pytest.raises(ValueError, match="grinding_bits must be an integer"):
        LigeroPCS(grinding_bits=bits)


def test_grinding_changes_neither_queries_nor_interactive_bits():
    """``target_bits`` is interactive: the query count ignores grinding."""
    for lb, target in ((1, 100), (2, 104), (3, 106)):
        off, on = LigeroParams(lb, target, grinding_bits=0), LigeroParams(lb, target)
        assert off.queries == on.queries and off.security_bits == on.security_bits
        assert off.hashing_bits == pytest.approx(off.security_bits)
        assert on.hashing_bits > on.security_bits


@pytest.mark.parametrize("bits", [0, 8, 16, 30])
def test_hashing_bits_formula(bits):
    p = LigeroParams(2, 104, grinding_bits=bits)
    q, f = query_error(2, p.queries), field_error(2)
    assert q == (5 / 8) ** p.queries
    assert f == pytest.approx((2**20 + 4096 + 2) / float(2**64 - 2**32 + 1) ** 2, rel=1e-12)
    assert p.security_bits == -math.log2(soundness_error(2, p.queries)) == -math.log2(q + f)
    assert p.hashing_bits == -math.log2(q * 2.0**-bits + f)
    pcs = LigeroPCS(2, 104, grinding_bits=bits)
    split = pcs.opening_soundness()
    assert (split.field_error, split.query_error, split.grinding_bits) == (f, q, bits)
    assert split.proven and not split.insecure and pcs.hashing_bits == p.hashing_bits


def test_default_parameters():
    pcs = LigeroPCS(log_blowup=2, target_bits=104.0)
    assert pcs.params.grinding_bits == 16 and pcs.queries == 154
    assert 104.0 <= pcs.security_bits < 104.5
    assert 107.9 < pcs.hashing_bits < 108.1  # capped by the field term (L_max + ...) / p^2
    assert "grinding=16" in repr(pcs)


def test_verifier_cost_of_grinding_is_one_hash(opening):
    """The check is one BLAKE2b call: far below a millisecond."""
    import time

    com, proof, claims = opening
    seed = _seed_after_rows(PCS16, com, claims, proof)
    t0 = time.perf_counter()
    for _ in range(1000):
        schedule.meets_difficulty(seed, proof.nonce, 16)
    assert (time.perf_counter() - t0) / 1000 < 1e-3
    assert np.isfinite(PCS16.hashing_bits)
