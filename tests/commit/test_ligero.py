"""LigeroPCS-specific tests: parameters, attacks on columns and Merkle paths, cheating provers."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from zkinfer.commit import LigeroPCS, OpeningClaim
from zkinfer.commit.base import prover_claims
from zkinfer.commit.ligero import LigeroProof, merkle, schedule
from zkinfer.commit.ligero import prover as ligero_prover
from zkinfer.commit.ligero.params import (
    MAX_GROUPS,
    MAX_LOG_COLS,
    MAX_QUERIES,
    LigeroParams,
    num_queries,
    soundness_error,
)
from zkinfer.commit.ligero.proof import LigeroCommitment
from zkinfer.errors import ProofFormatError, VerificationError
from zkinfer.field import extension as ext
from zkinfer.field import goldilocks as gl
from zkinfer.transcript import Transcript

from .helpers import LIGERO, LIGERO_IDS, honest, random_batch, single, transcript

ligero = pytest.mark.parametrize("pcs", LIGERO, ids=LIGERO_IDS)


# ---- parameters and security


def test_default_parameters_reach_100_bits():
    assert LigeroPCS().queries == 154  # rate 1/4 at 104 bits per opening
    assert LigeroPCS(log_blowup=1, target_bits=100).queries == 241
    assert LigeroPCS(log_blowup=2, target_bits=100).queries == 148
    for lb in (1, 2, 3):
        assert LigeroPCS(log_blowup=lb).security_bits >= 100.0


def test_security_bits_formula():
    p = LigeroParams(log_blowup=1)
    # ((1 + 1/2) / 2)^t + (2^(MAX_LOG_COLS + 1) + MAX_GROUPS + 2) / p^2
    field_term = (2.0 ** (MAX_LOG_COLS + 1) + MAX_GROUPS + 2) / float(gl.P) ** 2
    expected = -math.log2(0.75**p.queries + field_term)
    assert p.security_bits == pytest.approx(expected)
    assert p.security_bits < 100.05  # t is the smallest query count that reaches the target
    assert -math.log2(soundness_error(1, p.queries - 1)) < 100.0


def test_conjectured_bound_is_labelled_and_smaller():
    conj = LigeroParams(log_blowup=1, bound="conjectured")
    assert conj.bound == "conjectured"
    assert conj.queries < LigeroParams(log_blowup=1).queries
    assert "conjectured" in repr(LigeroPCS(bound="conjectured"))


def test_higher_targets_need_more_queries():
    assert num_queries(1, 80) < num_queries(1, 100) <= num_queries(1, 105)
    with pytest.raises(ValueError):
        num_queries(1, 128)  # the field term (~2^-109) alone is too large


def test_bad_parameters_rejected():
    with pytest.raises(ValueError):
        LigeroPCS(log_blowup=0)
    with pytest.raises(ValueError):
        LigeroPCS(bound="hopeful")
    assert MAX_QUERIES >= LigeroPCS(target_bits=105).queries


def test_shape_for_2_24_elements():
    # ~1.6 MB at rate 1/2, ~1.2 MB at rate 1/4 (one row: proximity folded into evaluation)
    assert LigeroParams(1).shape(2**24, 24) == (512, 15)
    assert LigeroParams(1).estimated_proof_bytes(*LigeroParams(1).shape(2**24, 24)) < 1.7e6
    assert LigeroParams(2).estimated_proof_bytes(*LigeroParams(2).shape(2**24, 24)) < 1.3e6


# ---- attacks on the opened data


def _tamper(proof: LigeroProof, **changes) -> bytes:
    return dataclasses.replace(proof, **changes).to_bytes()


@ligero
def test_tampered_column_rejected(pcs):
    com, proof, claims = single(pcs, 12)
    cols = proof.columns.copy()
    cols[len(cols) // 2, 0] = (int(cols[len(cols) // 2, 0]) + 1) % gl.P
    with pytest.raises(VerificationError, match="merkle"):
        pcs.verify(com, claims, _tamper(proof, columns=cols), transcript())


@ligero
def test_tampered_merkle_path_rejected(pcs):
    com, proof, claims = single(pcs, 12)
    sib = list(proof.siblings)
    sib[len(sib) // 2] = bytes(32)
    with pytest.raises(VerificationError, match="merkle"):
        pcs.verify(com, claims, _tamper(proof, siblings=tuple(sib)), transcript())


@ligero
def test_missing_or_extra_merkle_sibling_rejected(pcs):
    com, proof, claims = single(pcs, 12)
    for sib in (proof.siblings[:-1], proof.siblings + (bytes(32),)):
        with pytest.raises(VerificationError, match="merkle"):
            pcs.verify(com, claims, _tamper(proof, siblings=sib), transcript())


@ligero
def test_swapped_columns_rejected(pcs):
    com, proof, claims = single(pcs, 12)
    cols = proof.columns.copy()
    cols[[0, 1]] = cols[[1, 0]]
    with pytest.raises(VerificationError):
        pcs.verify(com, claims, _tamper(proof, columns=cols), transcript())


@ligero
def test_other_column_indices_rejected(pcs):
    com, proof, claims = single(pcs, 12)
    length = 1 << com.log_length
    free = sorted(set(range(length)) - set(proof.indices))
    indices = tuple(sorted(proof.indices[1:] + (free[0],)))
    with pytest.raises(VerificationError, match="queries"):
        pcs.verify(com, claims, _tamper(proof, indices=indices), transcript())


@ligero
def test_tampered_rows_rejected(pcs):
    com, proof, claims = single(pcs, 12)
    s = proof.proximity_value.copy()
    s[1] = (int(s[1]) + 1) % gl.P
    with pytest.raises(VerificationError):
        pcs.verify(com, claims, _tamper(proof, proximity_value=s), transcript())
    u = proof.u_rows.copy()
    u[0, -1, 0] = (int(u[0, -1, 0]) + 1) % gl.P
    with pytest.raises(VerificationError):
        pcs.verify(com, claims, _tamper(proof, u_rows=u), transcript())


@ligero
def test_extra_evaluation_row_rejected(pcs):
    com, proof, claims = single(pcs, 8)
    u = np.concatenate([proof.u_rows, proof.u_rows])
    with pytest.raises(VerificationError, match="shape"):
        pcs.verify(com, claims, _tamper(proof, u_rows=u), transcript())


@ligero
def test_commitment_with_other_rate_rejected(pcs):
    com, proof, claims = single(pcs, 8)
    other = LigeroPCS(log_blowup=3 - pcs.params.log_blowup)
    with pytest.raises(VerificationError):
        other.verify(com, claims, proof, transcript())


@ligero
def test_commitment_with_other_shape_rejected(pcs):
    com, proof, claims = single(pcs, 8)
    for rows, log_cols in ((com.rows * 2, com.log_cols - 1), (com.rows + 1, com.log_cols)):
        reshaped = dataclasses.replace(com, rows=rows, log_cols=log_cols)
        with pytest.raises(VerificationError, match="shape: commitment matrix shape"):
            pcs.verify(reshaped, claims, proof, transcript())


# ---- cheating provers that run the protocol with a false claim


def _cheating_open(pcs, data, claims, t, tweak_s=None, tweak_rows=None):
    """The honest opening, with ``tweak_s(s)`` applied to ``s`` before it is sent and
    ``tweak_rows(u_rows, groups, rho, beta, s)`` applied to the rows before they are sent."""
    com = data.commitment
    checked = prover_claims(data, claims)
    groups = schedule.group_claims(data.layout, checked, com.log_cols)
    rows = data.rows
    rho, gamma = schedule.begin(t, com.to_bytes(), checked, rows.shape[0])
    coeffs = np.concatenate([schedule.row_coefficients(groups, rho, rows.shape[0]), gamma[None]])
    combined = np.empty((coeffs.shape[0], rows.shape[1], 2), dtype=np.uint64)
    ligero_prover.K.combine_rows(rows, np.ascontiguousarray(coeffs), combined)
    u_rows, w_row = combined[:-1].copy(), combined[-1]
    s = _inner(w_row, _eq(groups.col_points[0]))
    if tweak_s is not None:
        s = tweak_s(s)
    beta = schedule.absorb_proximity_value(t, s)
    u_rows[0] = ext.add(u_rows[0], ext.mul(w_row, beta))
    if tweak_rows is not None:
        u_rows = tweak_rows(u_rows, groups, rho, beta, s)
    schedule.absorb_rows(t, u_rows)
    bits = pcs.params.grinding_bits
    nonce = schedule.find_nonce(schedule.grinding_seed(t, bits), bits)
    schedule.absorb_nonce(t, nonce)
    indices = schedule.draw_queries(t, 1 << com.log_length, pcs.params.queries)
    columns = data.encoded[indices]
    siblings = tuple(merkle.open_siblings(data.levels, indices))
    schedule.absorb_opened(t, columns, siblings)
    return LigeroProof(com.rows, com.log_cols, s, u_rows, nonce, tuple(indices), columns,
                       siblings)


def _false_claim(pcs, seed):
    rng = np.random.default_rng(seed)
    polys = random_batch(rng, [12])
    r = ext.random(12, rng)
    com, data = pcs.commit(polys)
    false_value = ext.add(data.evaluate(0, r), ext.ones(()))
    return com, data, [OpeningClaim(0, r, false_value)]


@ligero
def test_cheating_helper_is_honest_without_tweaks(pcs):
    rng = np.random.default_rng(19)
    polys = random_batch(rng, [12])
    r = ext.random(12, rng)
    com, data = pcs.commit(polys)
    claims = [OpeningClaim(0, r, data.evaluate(0, r))]
    proof = _cheating_open(pcs, data, claims, transcript())
    assert proof.to_bytes() == pcs.open(data, claims, transcript()).to_bytes()
    pcs.verify(com, claims, proof, transcript())


@ligero
def test_false_claim_with_consistent_row_rejected(pcs):
    """The prover claims v + 1 and shifts u_0 so that <u_0, b_0> matches the false claim."""
    com, data, claims = _false_claim(pcs, 20)

    def tweak_rows(u_rows, groups, rho, beta, s):
        # <u + delta e_i, b> = <u, b> + delta b_i: pick delta to hit V_0 + beta s
        b = _eq(groups.col_points[0])
        i = int(np.argmax(b[:, 0] != 0))
        target = ext.add(schedule.group_values(groups, prover_claims(data, claims), rho)[0],
                         ext.mul(beta, s))
        delta = ext.mul(ext.sub(target, _inner(u_rows[0], b)), ext.inv(b[i]))
        u_rows[0, i] = ext.add(u_rows[0, i], delta)
        return u_rows

    proof = _cheating_open(pcs, data, claims, transcript(), tweak_rows=tweak_rows)
    with pytest.raises(VerificationError, match="consistency"):
        pcs.verify(com, claims, proof, transcript())


@ligero
def test_false_claim_with_shifted_proximity_value_rejected(pcs):
    """The prover sends a wrong s (before beta) hoping V_0 + beta s matches honest rows."""
    com, data, claims = _false_claim(pcs, 24)
    proof = _cheating_open(pcs, data, claims, transcript(),
                           tweak_s=lambda s: ext.add(s, ext.ones(())))
    with pytest.raises(VerificationError, match="evaluation"):
        pcs.verify(com, claims, proof, transcript())


@ligero
def test_non_codeword_commitment_rejected(pcs):
    """Columns of the committed matrix that are not the encoding of any rows."""
    rng = np.random.default_rng(21)
    polys = random_batch(rng, [12])
    com, data = pcs.commit(polys)
    encoded = data.encoded.copy()
    length = encoded.shape[0]
    bad = rng.choice(length, size=length // 2, replace=False)
    encoded[bad] = gl.random(encoded[bad].shape, rng)
    levels = merkle.build(merkle.hash_columns(encoded))
    forged_com = dataclasses.replace(com, root=levels[-1][0].tobytes())
    forged = dataclasses.replace(data, commitment=forged_com, encoded=encoded, levels=levels)
    r = ext.random(12, rng)
    proof = pcs.open(forged, [OpeningClaim(0, r)], transcript())
    with pytest.raises(VerificationError, match="proximity|consistency"):
        pcs.verify(forged_com, [OpeningClaim(0, r, data.evaluate(0, r))], proof, transcript())


def _eq(point):
    from zkinfer.poly import multilinear

    return multilinear.eq_table(point)


def _inner(a, b):
    return ext.sum(ext.mul(a, b), axis=0)


# ---- decoding


def test_proof_decoding_rejects_unsorted_indices():
    com, proof, claims = single(LIGERO[0], 6)
    bad = _tamper(proof, indices=tuple(reversed(proof.indices)))
    with pytest.raises(ProofFormatError, match="increasing"):
        LigeroProof.from_bytes(bad)


def test_proof_decoding_bounds_counts_before_allocating():
    com, proof, claims = single(LIGERO[0], 6)
    raw = bytearray(proof.to_bytes())
    # the u32 number of evaluation rows sits after magic (4), version (2), u32 R, log_cols, s (16)
    raw[27:31] = (2**32 - 1).to_bytes(4, "little")
    with pytest.raises(ProofFormatError):
        LigeroProof.from_bytes(bytes(raw))


def test_commitment_decoding_rejects_inconsistent_shape():
    com, _, _ = single(LIGERO[0], 6)
    bad = dataclasses.replace(com, log_cols=com.layout.total_vars + 1).to_bytes()
    with pytest.raises(ProofFormatError, match="matrix shape does not fit the layout"):
        LigeroCommitment.from_bytes(bad)


def test_verify_accepts_objects_and_bytes_alike():
    pcs = LIGERO[0]
    com, proof, claims = single(pcs, 7)
    pcs.verify(com, claims, proof, transcript())
    pcs.verify(com.to_bytes(), claims, proof.to_bytes(), transcript())
    with pytest.raises(ProofFormatError):
        pcs.verify(com, claims, "not bytes", transcript())


def test_transcript_is_the_only_source_of_challenges():
    """Two openings of the same data under different transcripts query different columns."""
    pcs = LIGERO[0]
    rng = np.random.default_rng(22)
    polys = random_batch(rng, [14])
    r = ext.random(14, rng)
    _, data = pcs.commit(polys)
    p1 = pcs.open(data, [OpeningClaim(0, r)], Transcript(b"one"))
    p2 = pcs.open(data, [OpeningClaim(0, r)], Transcript(b"two"))
    assert p1.indices != p2.indices


def test_batch_opening_cost_grows_with_distinct_column_points():
    pcs = LIGERO[0]
    rng = np.random.default_rng(23)
    polys = random_batch(rng, [14, 14, 14])
    r = ext.random(14, rng)
    _, same, _ = honest(pcs, polys, [(0, r), (1, r), (2, r)])
    _, diff, _ = honest(pcs, polys, [(0, r), (1, ext.random(14, rng))])
    assert same.u_rows.shape[0] == 1
    assert diff.u_rows.shape[0] == 2


def test_parameters_with_inconsistent_query_count_rejected():
    from zkinfer.commit import pcs_from_params

    raw = bytearray(LigeroPCS(log_blowup=2).params_bytes())
    raw[-2] ^= 1  # the u16 query count
    with pytest.raises(ProofFormatError, match="query count"):
        pcs_from_params(bytes(raw))
    assert pcs_from_params(LigeroPCS(bound="conjectured").params_bytes()).params.bound == (
        "conjectured")
