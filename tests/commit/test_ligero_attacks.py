"""Attacks on the Ligero opening, one per verifier check (``commit/ligero/verify.py``,
``proof.py``, ``scheme.py``): each forged proof passes every earlier check and is rejected by
exactly the check it is named for (the ``check`` field and the message's step).

The forgeries come from :mod:`tests.cheating.pcs`: the opening's transcript schedule with one
message doctored and every later one computed from it.
"""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import numpy as np
import pytest

from tests.cheating import pcs as cheat
from zkinfer.codec import Writer
from zkinfer.commit import LigeroPCS, OpeningClaim, TrivialPCS, pcs_from_params
from zkinfer.commit.base import Layout, params_writer, write_layout
from zkinfer.commit.ligero import merkle, schedule
from zkinfer.commit.ligero.params import MAX_LOG_COLS, num_rows
from zkinfer.commit.ligero.proof import LigeroCommitment, LigeroProof
from zkinfer.errors import ProofFormatError, VerificationError
from zkinfer.field import extension as ext
from zkinfer.field import goldilocks as gl

from .helpers import random_batch, transcript

CHECK = "ligero pcs"
RATES = [LigeroPCS(log_blowup=1), LigeroPCS(log_blowup=2)]
rates = pytest.mark.parametrize("pcs", RATES, ids=["rate1/2", "rate1/4"])
ONE = ext.ones(())


def _batch(pcs: LigeroPCS, seed: int) -> SimpleNamespace:
    """A committed batch (2^12 and 2^10 entries: 10 rows of 2^9 at rate 1/2, 20 of 2^8 at
    rate 1/4) and two true claims whose column points differ (two groups)."""
    rng = np.random.default_rng(seed)
    polys = random_batch(rng, [12, 10])
    com, data = pcs.commit(polys)
    r0, r1 = ext.random(12, rng), ext.random(10, rng)
    claims = [OpeningClaim(0, r0, data.evaluate(0, r0)), OpeningClaim(1, r1, data.evaluate(1, r1))]
    return SimpleNamespace(pcs=pcs, com=com, data=data, claims=claims, cols=1 << com.log_cols)


@pytest.fixture(scope="module", params=RATES, ids=["rate1/2", "rate1/4"])
def batch(request) -> SimpleNamespace:
    """:func:`_batch` with its honest proof, per rate."""
    b = _batch(request.param, 5)
    b.proof = b.pcs.open(b.data, b.claims, transcript())
    return b


def _rejected(pcs, com, claims, proof, match: str) -> VerificationError:
    """Verify (bytes when the proof encodes, else the object) and return the error."""
    with pytest.raises(VerificationError, match=match) as err:
        pcs.verify(com, claims, proof, transcript())
    assert err.value.check == CHECK
    return err.value


def test_batch_is_two_groups_and_verifies(batch):
    assert batch.proof.u_rows.shape[0] == 2
    assert (batch.com.rows, batch.com.log_cols) in ((10, 9), (20, 8))
    batch.pcs.verify(batch.com, batch.claims, batch.proof.to_bytes(), transcript())


def test_cheating_toolkit_without_hooks_is_the_honest_prover(batch):
    proof = cheat.ligero_open(batch.pcs, batch.data, batch.claims, transcript())
    assert proof.to_bytes() == batch.proof.to_bytes()


# ---- the commitment and the proof's shape


def test_commitment_of_another_rate_rejected(batch):
    other = LigeroPCS(log_blowup=3 - batch.pcs.params.log_blowup)
    err = _rejected(other, batch.com, batch.claims, batch.proof, "commitment uses another code rate")
    assert (err.expected, err.got) == (other.params.log_blowup, batch.pcs.params.log_blowup)


@pytest.mark.parametrize("change", ["rows+1", "rows-1", "cols>vars", "cols<0"])
def test_commitment_object_whose_matrix_does_not_fit_its_layout_rejected(batch, change):
    com = batch.com
    rows, log_cols = {"rows+1": (com.rows + 1, com.log_cols), "rows-1": (com.rows - 1, com.log_cols),
                      "cols>vars": (1, com.layout.total_vars + 1), "cols<0": (com.rows, -1)}[change]
    bad = dataclasses.replace(com, rows=rows, log_cols=log_cols)
    _rejected(batch.pcs, bad, batch.claims, batch.proof, "shape: commitment matrix shape")


def test_commitment_object_wider_than_the_column_limit_rejected(batch):
    # 2^30 entries could be 2^19 columns by the layout, but not by MAX_LOG_COLS
    layout = Layout((30,))
    log_cols = MAX_LOG_COLS + 1
    com = LigeroCommitment(layout, batch.pcs.params.log_blowup, num_rows(layout.used, log_cols),
                           log_cols, bytes(32))
    claims = [OpeningClaim(0, ext.zeros(30), ext.zeros(()))]
    _rejected(batch.pcs, com, claims, batch.proof, "shape: commitment matrix shape")


@pytest.mark.parametrize("change", ["rows+1", "rows-1", "log_cols-1"])
def test_proof_matrix_shape_other_than_the_commitment_rejected(batch, change):
    # a decodable proof of another shape: its columns and rows have the sizes it claims
    p = batch.proof
    if change == "log_cols-1":
        bad = dataclasses.replace(p, log_cols=p.log_cols - 1, u_rows=p.u_rows[:, : batch.cols // 2])
    else:
        rows = p.rows + (1 if change == "rows+1" else -1)
        cols = np.zeros((len(p.indices), rows), dtype=np.uint64)
        cols[:, : min(rows, p.rows)] = p.columns[:, : min(rows, p.rows)]
        bad = dataclasses.replace(p, rows=rows, columns=cols)
    err = _rejected(batch.pcs, batch.com, batch.claims, bad.to_bytes(),
                    "shape: proof matrix shape differs from the commitment")
    assert err.expected == (batch.com.rows, batch.com.log_cols)


def test_one_evaluation_row_for_two_groups_rejected(batch):
    bad = dataclasses.replace(batch.proof, u_rows=batch.proof.u_rows[:1])
    err = _rejected(batch.pcs, batch.com, batch.claims, bad.to_bytes(),
                    "shape: wrong number of evaluation rows")
    assert (err.expected, err.got) == (2, 1)


def test_extra_evaluation_row_rejected(batch):
    u = np.concatenate([batch.proof.u_rows, batch.proof.u_rows[:1]])
    err = _rejected(batch.pcs, batch.com, batch.claims,
                    dataclasses.replace(batch.proof, u_rows=u).to_bytes(),
                    "shape: wrong number of evaluation rows")
    assert (err.expected, err.got) == (2, 3)


@pytest.mark.parametrize("part", ["short rows", "extension axis", "missing column", "short columns",
                                  "long columns"])
def test_proof_object_with_rows_or_columns_of_the_wrong_size_rejected(batch, part):
    p = batch.proof
    change = {
        "short rows": {"u_rows": p.u_rows[:, :-1]},
        "extension axis": {"u_rows": np.concatenate([p.u_rows, p.u_rows[..., :1]], axis=-1)},
        "missing column": {"columns": p.columns[:-1]},
        "short columns": {"columns": p.columns[:, :-1]},
        "long columns": {"columns": np.concatenate([p.columns, p.columns[:, :1]], axis=1)},
    }[part]
    _rejected(batch.pcs, batch.com, batch.claims, dataclasses.replace(p, **change),
              "shape: rows or columns of the wrong size")


# ---- grinding


def _missing_nonce(ctx: cheat.LigeroContext) -> int:
    """The smallest nonce that does not meet the difficulty."""
    bits = ctx.pcs.params.grinding_bits
    return next(n for n in range(1 << 20) if not schedule.meets_difficulty(ctx.seed, n, bits))


def test_nonce_below_the_difficulty_rejected(batch):
    assert batch.pcs.params.grinding_bits == 16
    proof = cheat.ligero_open(batch.pcs, batch.data, batch.claims, transcript(), nonce=_missing_nonce)
    err = _rejected(batch.pcs, batch.com, batch.claims, proof.to_bytes(),
                    "grinding: the nonce does not meet the difficulty of 16 bits")
    assert err.got == proof.nonce


@pytest.mark.parametrize("nonce", [True, 1.0, -1, 2**64], ids=["bool", "float", "negative", "2^64"])
def test_nonce_of_another_type_or_range_rejected_without_grinding(nonce):
    # without grinding every integer nonce in [0, 2^64) passes: only type and range reject these
    pcs = LigeroPCS(log_blowup=1, grinding_bits=0)
    b = _batch(pcs, 6)
    proof = cheat.ligero_open(pcs, b.data, b.claims, transcript(), nonce=lambda ctx: nonce)
    _rejected(pcs, b.com, b.claims, proof, "grinding: the nonce does not meet the difficulty of 0 bits")
    # the same forger with an in-range integer nonce is accepted (the nonce is absorbed)
    accepted = cheat.ligero_open(pcs, b.data, b.claims, transcript(), nonce=lambda ctx: 1)
    pcs.verify(b.com, b.claims, accepted.to_bytes(), transcript())


# ---- queries: the opened columns are exactly the queried ones, in order


@rates
def test_false_opening_on_the_agreeing_subset_of_queried_columns_rejected(pcs):
    """The issue's forgery: claim v + 1, shift u_0 by lambda Z with Enc(Z) zero on C - 1
    positions (about half of them at rate 1/2) so <u_0, b_0> matches the false claim, and open
    only the queried columns among those positions."""
    b = _batch(pcs, 7)
    bad = cheat.with_offset(b.claims, 0, ONE)
    agree = list(range(b.cols - 1))
    ctxs: list = []
    proof = cheat.ligero_open(pcs, b.data, bad, transcript(), rows=cheat.shift_rows(0, agree),
                              opened=lambda ctx: [j for j in ctx.queried if j in set(agree)],
                              context=ctxs)
    assert 0 < len(proof.indices) < len(ctxs[0].queried)
    _rejected(pcs, b.com, bad, proof.to_bytes(), "queries: opened columns differ from the queried ones")
    # a verifier that accepted any subset of the queries would take the false value
    with cheat.queries_accept_subsets(proof.indices):
        pcs.verify(b.com, bad, proof.to_bytes(), transcript())


def test_one_queried_column_replaced_by_another_rejected(batch):
    p = batch.proof
    free = next(j for j in range(1 << batch.com.log_length) if j not in p.indices)
    # the honest columns, labelled with one other index
    indices = tuple(sorted(p.indices[1:] + (free,)))
    _rejected(batch.pcs, batch.com, batch.claims, dataclasses.replace(p, indices=indices).to_bytes(),
              "queries: opened columns differ from the queried ones")


def test_queried_column_left_out_rejected(batch):
    proof = cheat.ligero_open(batch.pcs, batch.data, batch.claims, transcript(),
                              opened=lambda ctx: ctx.queried[:-1])
    _rejected(batch.pcs, batch.com, batch.claims, proof.to_bytes(),
              "queries: opened columns differ from the queried ones")


def test_unqueried_column_added_rejected(batch):
    def opened(ctx):
        free = next(j for j in range(1 << batch.com.log_length) if j not in ctx.queried)
        return sorted(ctx.queried + [free])

    proof = cheat.ligero_open(batch.pcs, batch.data, batch.claims, transcript(), opened=opened)
    _rejected(batch.pcs, batch.com, batch.claims, proof.to_bytes(),
              "queries: opened columns differ from the queried ones")


def test_queried_columns_opened_in_reverse_order_rejected(batch):
    # an object (the decoder refuses unsorted indices, see below): columns follow the indices
    proof = cheat.ligero_open(batch.pcs, batch.data, batch.claims, transcript(),
                              opened=lambda ctx: ctx.queried[::-1])
    _rejected(batch.pcs, batch.com, batch.claims, proof,
              "queries: opened columns differ from the queried ones")


def test_queried_column_opened_twice_rejected(batch):
    proof = cheat.ligero_open(batch.pcs, batch.data, batch.claims, transcript(),
                              opened=lambda ctx: ctx.queried[:1] + ctx.queried[:-1])
    _rejected(batch.pcs, batch.com, batch.claims, proof,
              "queries: opened columns differ from the queried ones")


# ---- evaluation, per group


def test_false_claim_with_honest_rows_rejected_by_the_first_group_evaluation(batch):
    bad = cheat.with_offset(batch.claims, 0, ONE)
    proof = cheat.ligero_open(batch.pcs, batch.data, bad, transcript())
    err = _rejected(batch.pcs, batch.com, bad, proof.to_bytes(), "evaluation: <u, eq")
    assert err.round == 0


def test_false_second_group_claim_with_honest_rows_rejected_by_its_evaluation(batch):
    """Group 0 is true and checks; only the second group's evaluation check sees v_1 + 3."""
    bad = cheat.with_offset(batch.claims, 1, ext.from_base(np.uint64(3)))
    proof = cheat.ligero_open(batch.pcs, batch.data, bad, transcript())
    err = _rejected(batch.pcs, batch.com, bad, proof.to_bytes(), "evaluation: <u, eq")
    assert err.round == 1


def test_false_proximity_value_rejected_by_the_evaluation(batch):
    proof = cheat.ligero_open(batch.pcs, batch.data, batch.claims, transcript(),
                              proximity=lambda ctx: ext.add(ctx.s, cheat.x_multiple(1)))
    err = _rejected(batch.pcs, batch.com, batch.claims, proof.to_bytes(), "evaluation: <u, eq")
    assert err.round == 0


# ---- merkle


def test_altered_opened_column_rejected_by_the_merkle_check(batch):
    def columns(ctx, indices):
        cols = ctx.data.encoded[indices].copy()
        cols[len(cols) // 2, 3] = (int(cols[len(cols) // 2, 3]) + 1) % gl.P
        return cols

    proof = cheat.ligero_open(batch.pcs, batch.data, batch.claims, transcript(), columns=columns)
    _rejected(batch.pcs, batch.com, batch.claims, proof.to_bytes(),
              "merkle: opened columns do not hash to the root")


def test_opening_of_another_commitment_rejected_by_the_merkle_check(batch):
    """Columns of another committed matrix (the last row's codeword replaced): the rows and
    the claims agree with the commitment's matrix, the root does not."""
    b = batch
    _, other = b.pcs.commit([b.data.layout.block(b.data.vector, 0), b.data.layout.block(b.data.vector, 1)])
    other.encoded[:, -1] = gl.random(other.encoded.shape[0], np.random.default_rng(1))
    other.levels = merkle.build(merkle.hash_columns(other.encoded))
    proof = cheat.ligero_open(b.pcs, other, b.claims, transcript())
    _rejected(b.pcs, b.com, b.claims, proof.to_bytes(), "merkle: opened columns do not hash to the root")


@pytest.mark.parametrize("change", ["drop", "extra", "zero"])
def test_wrong_merkle_siblings_rejected(batch, change):
    sib = list(batch.proof.siblings)
    sib = {"drop": sib[:-1], "extra": sib + [bytes(32)], "zero": [bytes(32)] + sib[1:]}[change]
    bad = dataclasses.replace(batch.proof, siblings=tuple(sib))
    _rejected(batch.pcs, batch.com, batch.claims, bad.to_bytes(),
              "merkle: opened columns do not hash to the root")


# ---- proximity and consistency


def test_false_claim_with_shifted_first_row_rejected_by_proximity_and_consistency(batch):
    bad = cheat.with_offset(batch.claims, 0, ONE)
    agree = list(range(batch.cols - 1))
    proof = cheat.ligero_open(batch.pcs, batch.data, bad, transcript(), rows=cheat.shift_rows(0, agree))
    err = _rejected(batch.pcs, batch.com, bad, proof.to_bytes(),
                    r"round \d+: proximity and consistency: Enc\(u\) disagrees")
    # the first opened column outside the agreeing positions is the one that exposes it
    assert err.round == min(j for j in proof.indices if j not in agree)


def test_false_second_group_claim_with_forged_second_row_rejected_by_its_consistency(batch):
    """Group 1's row is shifted so its evaluation check passes for the false claim and its
    encoding agrees on C - 1 positions; group 0 is honest (its columns check)."""
    bad = cheat.with_offset(batch.claims, 1, cheat.x_multiple(5))
    agree = list(range(batch.cols - 1))
    proof = cheat.ligero_open(batch.pcs, batch.data, bad, transcript(), rows=cheat.shift_rows(1, agree))
    err = _rejected(batch.pcs, batch.com, bad, proof.to_bytes(), r"round \d+: consistency: Enc\(u\)")
    assert err.round == min(j for j in proof.indices if j not in agree)


def test_false_second_group_claim_with_one_shifted_entry_rejected_by_its_consistency(batch):
    # no vanishing polynomial: u_1 moved at one entry only (Enc changes almost everywhere)
    bad = cheat.with_offset(batch.claims, 1, ONE)
    proof = cheat.ligero_open(batch.pcs, batch.data, bad, transcript(), rows=cheat.shift_rows(1))
    err = _rejected(batch.pcs, batch.com, bad, proof.to_bytes(), r"round \d+: consistency: Enc\(u\)")
    assert err.round == proof.indices[0]


@rates
def test_commitment_to_non_codeword_columns_rejected_by_the_proximity_test(pcs):
    """Half the committed columns are random (not an encoding of any rows); the prover opens
    with the rows it claims to have committed."""
    b = _batch(pcs, 8)
    rng = np.random.default_rng(9)
    length = b.data.encoded.shape[0]
    bad = rng.choice(length, size=length // 2, replace=False)
    b.data.encoded[bad] = gl.random(b.data.encoded[bad].shape, rng)
    b.data.levels = merkle.build(merkle.hash_columns(b.data.encoded))
    com = dataclasses.replace(b.com, root=b.data.levels[-1][0].tobytes())
    b.data.commitment = com
    proof = cheat.ligero_open(pcs, b.data, b.claims, transcript())
    err = _rejected(pcs, com, b.claims, proof.to_bytes(), r"proximity and consistency: Enc\(u\)")
    assert err.round in set(bad.tolist())


# ---- decoding (ProofFormatError: no check field)


def _commitment_bytes(log_blowup: int, rows: int, log_cols: int, layout: Layout,
                      version: int = 3) -> bytes:
    """A plain Ligero commitment's bytes (version 3: mode byte 0; version 2: no mode) with any
    field values and a zero root."""
    w = Writer()
    w.header(b"ZKLC", version)
    w.u8(log_blowup)
    w.u32(rows)
    w.u8(log_cols)
    write_layout(w, layout)
    if version >= 3:
        w.u8(0)
    w.raw(bytes(32))
    return w.finish()


def test_encodings_written_by_hand_match_the_library(batch):
    com = batch.com
    assert com.version == 3 and com.parts is None
    assert _commitment_bytes(com.log_blowup, com.rows, com.log_cols, com.layout) == (
        dataclasses.replace(com, root=bytes(32)).to_bytes())


def test_version_2_commitment_is_read_as_plain_and_encodes_back_to_its_bytes(batch):
    com = batch.com
    raw = _commitment_bytes(com.log_blowup, com.rows, com.log_cols, com.layout, version=2)
    old = LigeroCommitment.from_bytes(raw)
    assert (old.version, old.parts, old.rows, old.log_cols) == (2, None, com.rows, com.log_cols)
    assert old.to_bytes() == raw
    # the same matrix under the two versions: different bytes, so different transcripts
    assert dataclasses.replace(old, version=3).to_bytes() == dataclasses.replace(
        com, root=bytes(32)).to_bytes()


def test_commitment_with_unsupported_blowup_rejected_at_decoding(batch):
    with pytest.raises(ProofFormatError, match="unsupported blowup 2\\^0"):
        batch.pcs.verify(_commitment_bytes(0, 20, 8, batch.com.layout), batch.claims,
                         batch.proof.to_bytes(), transcript())


def test_commitment_wider_than_its_layout_rejected_at_decoding(batch):
    layout = batch.com.layout
    with pytest.raises(ProofFormatError, match="matrix shape does not fit the layout"):
        LigeroCommitment.from_bytes(_commitment_bytes(1, 1, layout.total_vars + 1, layout))


@pytest.mark.parametrize("delta", [-1, 1, 12])
def test_commitment_row_count_other_than_ceil_used_over_columns_rejected_at_decoding(batch, delta):
    com = batch.com
    raw = _commitment_bytes(com.log_blowup, com.rows + delta, com.log_cols, com.layout)
    with pytest.raises(ProofFormatError, match=r"row count does not fit the layout: .* expected "
                       rf"ceil\(5120 / 2\^{com.log_cols}\) = {com.rows}"):
        LigeroCommitment.from_bytes(raw)


def test_proof_with_zero_committed_rows_rejected_at_decoding(batch):
    raw = dataclasses.replace(batch.proof, rows=0).to_bytes()
    with pytest.raises(ProofFormatError, match="no committed rows"):
        batch.pcs.verify(batch.com, batch.claims, raw, transcript())


def test_proof_without_evaluation_rows_rejected_at_decoding(batch):
    raw = dataclasses.replace(batch.proof, u_rows=batch.proof.u_rows[:0]).to_bytes()
    with pytest.raises(ProofFormatError, match="ligero opening proof: no rows"):
        batch.pcs.verify(batch.com, batch.claims, raw, transcript())


@pytest.mark.parametrize("order", ["reversed", "repeated"])
def test_proof_with_unsorted_or_repeated_indices_rejected_at_decoding(batch, order):
    idx = batch.proof.indices
    indices = idx[::-1] if order == "reversed" else idx[:1] + idx[:-1]
    raw = dataclasses.replace(batch.proof, indices=indices).to_bytes()
    with pytest.raises(ProofFormatError, match="column indices not strictly increasing"):
        batch.pcs.verify(batch.com, batch.claims, raw, transcript())


def test_proof_with_truncated_columns_rejected_at_decoding(batch):
    p = batch.proof
    w = Writer()
    w.header(b"ZKLO", 3)
    w.u32(p.rows)
    w.u8(p.log_cols)
    w.ext(p.proximity_value)
    w.u32(p.u_rows.shape[0])
    w.ext(p.u_rows)
    w.u64(p.nonce)
    w.u32s(p.indices)
    prefix = w.finish()
    assert p.to_bytes().startswith(prefix)
    # the columns need len(indices) * R * 8 bytes; one column's worth is missing
    raw = p.to_bytes()[: len(prefix) + (len(p.indices) - 1) * p.rows * 8]
    with pytest.raises(ProofFormatError, match="truncated columns"):
        LigeroProof.from_bytes(raw)


# ---- the scheme object and its parameters


def _ligero_params(log_blowup=2, bits=104, bound=0, queries=None, grinding=16) -> bytes:
    """Ligero parameter bytes with any field values (the query count derived by default)."""
    w = params_writer("ligero")
    w.u8(log_blowup)
    w.u8(bits)
    w.u8(bound)
    w.u16(LigeroPCS(log_blowup, bits).queries if queries is None else queries)
    w.u8(grinding)
    return w.finish()


def test_parameters_written_by_hand_match_the_library():
    assert _ligero_params() == LigeroPCS().params_bytes()
    assert pcs_from_params(_ligero_params()).params == LigeroPCS().params


def test_parameters_of_another_scheme_rejected_by_the_ligero_decoder():
    with pytest.raises(ProofFormatError, match="scheme 'trivial', expected 'ligero'"):
        LigeroPCS.from_params(TrivialPCS().params_bytes())


@pytest.mark.parametrize("log_blowup,bits,message", [
    (0, 104, "log_blowup must be one of"), (4, 104, "log_blowup must be one of"),
    (2, 0, "target_bits must be in"), (2, 120, "out of reach")])
def test_parameters_the_constructor_refuses_rejected(log_blowup, bits, message):
    with pytest.raises(ProofFormatError, match="pcs parameters: .*" + message):
        pcs_from_params(_ligero_params(log_blowup, bits, queries=100))


@pytest.mark.parametrize("delta", [-1, 1])
def test_parameters_with_another_query_count_rejected(delta):
    with pytest.raises(ProofFormatError, match="query count does not match the others"):
        pcs_from_params(_ligero_params(queries=LigeroPCS().queries + delta))


def test_trivial_commitment_and_proof_objects_rejected_by_ligero(batch):
    com, data = TrivialPCS().commit([batch.data.layout.block(batch.data.vector, 0)])
    proof = TrivialPCS().open(data, batch.claims[:1], transcript())
    for c, p in ((com, batch.proof), (batch.com, proof)):
        _rejected(batch.pcs, c, batch.claims, p, "commitment or proof of another scheme")
