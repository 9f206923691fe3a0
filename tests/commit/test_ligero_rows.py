"""LigeroPCS commits only the rows that hold data: ``R = ceil(used / C)`` rows, not ``2^(n - log C)``.

Completeness on batches whose ``used`` is not a power of two (claims on every polynomial, on
``F`` itself, and at points whose row part selects the uncommitted zero rows), the row-count
checks of both encodings and of the verifier, and attacks on the opened columns.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from zkinfer.commit import Layout, OpeningClaim
from zkinfer.commit.base import prover_claims
from zkinfer.commit.ligero import LigeroCommitment, LigeroProof, merkle, schedule
from zkinfer.commit.ligero import prover as ligero_prover
from zkinfer.commit.ligero.params import MAX_LOG_COLS, MAX_LOG_ROWS, LigeroParams, num_rows
from zkinfer.errors import ProofFormatError, VerificationError
from zkinfer.field import extension as ext
from zkinfer.field import goldilocks as gl
from zkinfer.poly import multilinear

from .helpers import LIGERO, LIGERO_IDS, random_batch, transcript

ligero = pytest.mark.parametrize("pcs", LIGERO, ids=LIGERO_IDS)

# 2^12 + 2^10 + 2^9 + 2^9 + 2^4 + 2^3 + 2^0 = 6169 entries in a vector of 2^13: with C = 2^9
# the matrix has R = 13 rows (the last one partly used), where 2^(13 - 9) = 16 would be padded
SIZES = [12, 10, 3, 9, 9, 4, 0]
USED = sum(1 << n for n in SIZES)


def _bits(value: int, count: int) -> np.ndarray:
    """``value`` as ``count`` extension coordinates ``0``/``1``, most significant first."""
    return ext.from_base(np.array([(value >> (count - 1 - i)) & 1 for i in range(count)],
                                  dtype=np.uint64))


@pytest.fixture(scope="module")
def batch():
    rng = np.random.default_rng(31)
    return random_batch(rng, SIZES)


def _claims(layout: Layout, log_cols: int, rows: int, rng: np.random.Generator):
    """A claim on every polynomial, two on ``F`` at random points, and two on ``F`` whose row
    part selects uncommitted rows ``R`` and ``2^(n - log C) - 1`` (value 0)."""
    n = layout.total_vars
    row_vars = n - log_cols
    points: list[tuple[int | None, np.ndarray]] = [
        (k, ext.random(nk, rng)) for k, nk in enumerate(layout.num_vars)]
    points += [(None, ext.random(n, rng)) for _ in range(2)]
    for row in (rows, (1 << row_vars) - 1):
        points.append((None, np.concatenate([_bits(row, row_vars),
                                             ext.random(log_cols, rng)])))
    return points


# ---- the layout and the shape


def test_layout_used_is_the_end_of_the_last_block():
    layout = Layout(tuple(SIZES))
    assert layout.used == USED == 6169
    assert layout.size == 1 << 13
    assert Layout((0,)).used == 1 and Layout((0,)).total_vars == 0
    assert Layout((3, 3)).used == 16 == Layout((3, 3)).size
    assert Layout((4, 9, 6, 6)).used == 512 + 16 + 64 + 64
    for sizes in ((5, 2, 2, 0), (7,), (1, 1, 1)):
        lay = Layout(sizes)
        assert lay.used == max(o + (1 << n) for o, n in zip(lay.offsets, sizes, strict=True))
        assert lay.size // 2 < lay.used <= lay.size


@pytest.mark.parametrize("log_blowup", [1, 2, 3])
@pytest.mark.parametrize("used,total_vars", [(1, 0), (6169, 13), (2**24, 24), (2**24 + 1, 25),
                                             (35_799_040, 26), (62_390_272, 26), (2**30, 30)])
def test_shape_minimizes_the_estimate_over_the_actual_rows(log_blowup, used, total_vars):
    params = LigeroParams(log_blowup)
    rows, log_cols = params.shape(used, total_vars)
    assert rows == num_rows(used, log_cols) == -(-used // (1 << log_cols))
    assert (rows - 1) << log_cols < used <= rows << log_cols
    assert rows <= 1 << MAX_LOG_ROWS and log_cols <= min(MAX_LOG_COLS, total_vars)
    best = min(params.estimated_proof_bytes(num_rows(used, c), c)
               for c in range(min(MAX_LOG_COLS, total_vars) + 1)
               if num_rows(used, c) <= 1 << MAX_LOG_ROWS)
    assert params.estimated_proof_bytes(rows, log_cols) == best


def test_shape_of_a_35_8m_batch_commits_547_rows():
    rows, log_cols = LigeroParams(1).shape(35_799_040, 26)
    assert (rows, log_cols) == (547, 16)  # not 2^10 rows: ~47% of the padded matrix is zeros
    padded = LigeroParams(1).estimated_proof_bytes(1 << (26 - log_cols), log_cols)
    assert LigeroParams(1).estimated_proof_bytes(rows, log_cols) < 0.75 * padded  # 2.2 vs 3.1 MB


def test_shape_rejects_bad_sizes():
    with pytest.raises(ValueError):
        LigeroParams(1).shape(0, 4)
    with pytest.raises(ValueError):
        LigeroParams(1).shape(17, 4)
    with pytest.raises(ValueError):  # more than 2^MAX_LOG_ROWS rows of 2^MAX_LOG_COLS
        LigeroParams(1).shape((1 << (MAX_LOG_ROWS + MAX_LOG_COLS)) + 1,
                              MAX_LOG_ROWS + MAX_LOG_COLS + 1)


# ---- completeness


@ligero
def test_commit_has_ceil_used_over_c_rows(pcs, batch):
    com, data = pcs.commit(batch)
    layout = data.layout
    cols = 1 << com.log_cols
    assert (com.rows, com.log_cols) == (13, 9)
    assert com.rows == -(-USED // cols) < 1 << (layout.total_vars - com.log_cols)
    assert com.log_rows == layout.total_vars - com.log_cols == 4
    assert data.vector.shape == (layout.size,)  # F keeps its 2^n entries
    assert not data.vector[USED:].any()
    assert data.rows.shape == (com.rows, cols)
    assert np.shares_memory(data.rows, data.vector)
    assert data.encoded.shape == (cols << pcs.params.log_blowup, com.rows)
    assert LigeroCommitment.from_bytes(com.to_bytes()) == com


@ligero
def test_every_polynomial_and_f_open_and_verify(pcs, batch):
    rng = np.random.default_rng(32)
    com, data = pcs.commit(batch)
    points = _claims(data.layout, com.log_cols, com.rows, rng)
    values = []
    for k, p in points:
        table = batch[k] if k is not None else data.vector
        value = multilinear.evaluate(table, p)
        assert np.array_equal(data.evaluate(k, p), value)
        values.append(value)
    assert not values[-1].any() and not values[-2].any()  # rows beyond R are zero
    proof = pcs.open(data, [OpeningClaim(k, p) for k, p in points], transcript())
    assert proof.rows == com.rows
    assert proof.columns.shape == (len(proof.indices), com.rows)
    valued = [OpeningClaim(k, p, v) for (k, p), v in zip(points, values, strict=True)]
    pcs.verify(com.to_bytes(), valued, proof.to_bytes(), transcript())
    # each claim alone, and the padding-row claims alone (their row vector A_g is all zero)
    for claim in (valued[0], valued[3], valued[-3], valued[-2], valued[-1]):
        one = pcs.open(data, [OpeningClaim(claim.poly, claim.point)], transcript())
        pcs.verify(com, [claim], one, transcript())


@ligero
def test_false_claim_on_a_padding_row_rejected(pcs, batch):
    rng = np.random.default_rng(33)
    com, data = pcs.commit(batch)
    row_vars = data.layout.total_vars - com.log_cols
    point = np.concatenate([_bits(com.rows + 1, row_vars), ext.random(com.log_cols, rng)])
    proof = pcs.open(data, [OpeningClaim(None, point)], transcript())
    pcs.verify(com, [OpeningClaim(None, point, ext.zeros(()))], proof, transcript())
    # the prover runs the opening with the false value (so the transcripts agree)
    false = [OpeningClaim(None, point, ext.ones(()))]
    proof = pcs.open(data, false, transcript())
    with pytest.raises(VerificationError, match="evaluation: <u, eq"):
        pcs.verify(com, false, proof, transcript())


@ligero
@pytest.mark.parametrize("sizes", [[0], [3], [5, 0], [6, 6, 6], [9, 1, 1, 0], [13, 2], [14, 12, 0]])
def test_small_and_odd_batches(pcs, sizes):
    rng = np.random.default_rng(sum(sizes))
    polys = random_batch(rng, sizes)
    com, data = pcs.commit(polys)
    layout = data.layout
    assert com.rows == num_rows(layout.used, com.log_cols)
    assert (com.rows - 1).bit_length() == com.log_rows  # log_rows = n - log C = ceil(log2 R)
    points = [(k, ext.random(n, rng)) for k, n in enumerate(sizes)]
    points.append((None, ext.random(layout.total_vars, rng)))
    claims = [OpeningClaim(k, p, multilinear.evaluate(polys[k] if k is not None else data.vector, p))
              for k, p in points]
    proof = pcs.open(data, [OpeningClaim(k, p) for k, p in points], transcript())
    pcs.verify(com.to_bytes(), claims, proof.to_bytes(), transcript())


def test_row_coefficients_are_truncated_eq_tables():
    rng = np.random.default_rng(34)
    for m, rows in ((0, 1), (1, 1), (1, 2), (4, 9), (5, 17), (5, 32), (6, 33), (7, 100)):
        k = 7
        points = tuple(ext.random(m, rng) for _ in range(k))
        members = ((0, 3, 4), (1,), (2, 5, 6))
        groups = schedule.Groups(points, tuple(ext.random(2, rng) for _ in members), members)
        rho = ext.random(k, rng)
        got = schedule.row_coefficients(groups, rho, rows)
        assert got.shape == (len(members), rows, 2)
        for g, mem in enumerate(members):
            want = ext.zeros(rows)
            for i in mem:
                want = ext.add(want, ext.mul(multilinear.eq_table(points[i])[:rows], rho[i]))
            assert np.array_equal(got[g], want)
    with pytest.raises(ValueError):
        schedule.row_coefficients(groups, rho, (1 << 7) + 1)


def test_group_values_match_reference():
    rng = np.random.default_rng(35)
    members = ((0, 2), (1,), (3, 4, 5))
    groups = schedule.Groups(tuple(ext.random(2, rng) for _ in range(6)),
                             tuple(ext.random(2, rng) for _ in members), members)
    claims = [(None, ext.random(4, rng), ext.random((), rng)) for _ in range(6)]
    rho = ext.random(6, rng)
    got = schedule.group_values(groups, claims, rho)
    for g, mem in enumerate(members):
        want = ext.zeros(())
        for i in mem:
            want = ext.add(want, ext.mul(rho[i], claims[i][2]))
        assert np.array_equal(got[g], want)


# ---- the row count in the encodings and the verifier


def _honest(pcs, batch, seed=36):
    rng = np.random.default_rng(seed)
    com, data = pcs.commit(batch)
    point = ext.random(data.layout.total_vars, rng)
    claims = [OpeningClaim(None, point, multilinear.evaluate(data.vector, point))]
    proof = pcs.open(data, [OpeningClaim(None, point)], transcript())
    return com, data, proof, claims


def _with_rows(proof: LigeroProof, rows: int) -> LigeroProof:
    """The proof with ``rows`` rows: columns cut, or padded with zeros (a consistent encoding)."""
    cols = proof.columns[:, :rows]
    if rows > cols.shape[1]:
        cols = np.concatenate([cols, np.zeros((cols.shape[0], rows - cols.shape[1]),
                                              dtype=np.uint64)], axis=1)
    return dataclasses.replace(proof, rows=rows, columns=np.ascontiguousarray(cols))


@ligero
def test_proof_with_another_row_count_rejected(pcs, batch):
    com, data, proof, claims = _honest(pcs, batch)
    padded = 1 << com.log_rows  # what version 1 committed
    assert padded > com.rows
    for rows in (com.rows - 1, com.rows + 1, padded, 1):
        raw = _with_rows(proof, rows).to_bytes()
        assert LigeroProof.from_bytes(raw).rows == rows  # a well-formed encoding
        with pytest.raises(VerificationError,
                           match="shape: proof matrix shape differs from the commitment"):
            pcs.verify(com.to_bytes(), claims, raw, transcript())
    # a proof object whose columns do not have its R entries
    bad = dataclasses.replace(proof, rows=com.rows, columns=proof.columns[:, :-1].copy())
    with pytest.raises(VerificationError, match="shape: rows or columns of the wrong size"):
        pcs.verify(com, claims, bad, transcript())


def test_proof_row_count_bytes_are_bounded():
    pcs = LIGERO[0]
    com, data, proof, claims = _honest(pcs, random_batch(np.random.default_rng(37), [9, 7]))
    raw = bytearray(proof.to_bytes())
    assert int.from_bytes(raw[6:10], "little") == com.rows  # u32 R after magic and version
    for rows, message in ((0, "no committed rows"),
                          ((1 << MAX_LOG_ROWS) + 1, f"exceeds the bound {1 << MAX_LOG_ROWS}"),
                          (2**32 - 1, f"exceeds the bound {1 << MAX_LOG_ROWS}")):
        raw[6:10] = rows.to_bytes(4, "little")
        with pytest.raises(ProofFormatError, match=message):
            LigeroProof.from_bytes(bytes(raw))
        with pytest.raises(ProofFormatError, match=message):
            pcs.verify(com, claims, bytes(raw), transcript())
    # R + 1 in the header without the extra column entries: the columns no longer parse
    raw[6:10] = (com.rows + 1).to_bytes(4, "little")
    with pytest.raises(ProofFormatError, match="ligero opening proof"):
        LigeroProof.from_bytes(bytes(raw))


@ligero
def test_commitment_row_count_must_fit_the_layout(pcs, batch):
    com, _, proof, claims = _honest(pcs, batch)
    assert LigeroCommitment.from_bytes(com.to_bytes()) == com
    for rows in (com.rows - 1, com.rows + 1, 1 << com.log_rows, 0):
        raw = dataclasses.replace(com, rows=rows).to_bytes()
        with pytest.raises(ProofFormatError, match="row count does not fit the layout"):
            LigeroCommitment.from_bytes(raw)
        with pytest.raises(ProofFormatError, match="row count does not fit the layout"):
            pcs.verify(raw, claims, proof, transcript())
    raw = bytearray(com.to_bytes())
    assert int.from_bytes(raw[7:11], "little") == com.rows  # after magic, version, log_blowup
    raw[7:11] = ((1 << MAX_LOG_ROWS) + 1).to_bytes(4, "little")
    with pytest.raises(ProofFormatError, match=f"exceeds the bound {1 << MAX_LOG_ROWS}"):
        LigeroCommitment.from_bytes(bytes(raw))


def test_old_versions_rejected():
    """Commitments of version 1 and proofs of versions 1 and 2 (no grinding nonce) are refused
    (commitments of version 2, plain, are still read: ``test_ligero_attacks``)."""
    pcs = LIGERO[0]
    com, _, proof, _ = _honest(pcs, random_batch(np.random.default_rng(38), [8, 3]))
    for obj, cls, what, current, old in ((com, LigeroCommitment, "ligero commitment", 3, (1,)),
                                         (proof, LigeroProof, "ligero opening proof", 3, (1, 2))):
        raw = bytearray(obj.to_bytes())
        assert raw[4:6] == current.to_bytes(2, "little")
        for version in old:
            raw[4:6] = version.to_bytes(2, "little")
            with pytest.raises(ProofFormatError, match=f"{what}: unsupported version {version}"):
                cls.from_bytes(bytes(raw))


# ---- attacks on the opened columns of a non-power-of-two matrix


@ligero
def test_tampered_opened_column_entries_rejected(pcs, batch):
    com, _, proof, claims = _honest(pcs, batch)
    for row in (0, com.rows // 2, com.rows - 1):  # the last row is the partly used one
        cols = proof.columns.copy()
        j = row % cols.shape[0]
        cols[j, row] = (int(cols[j, row]) + 1) % gl.P
        bad = dataclasses.replace(proof, columns=cols).to_bytes()
        with pytest.raises(VerificationError,
                           match="merkle: opened columns do not hash to the root"):
            pcs.verify(com, claims, bad, transcript())


@ligero
def test_non_codeword_columns_of_r_rows_rejected(pcs, batch):
    """Committed columns (of R entries) that are not the encoding of any R x C matrix."""
    rng = np.random.default_rng(41)
    com, data = pcs.commit(batch)
    encoded = data.encoded.copy()
    bad = rng.choice(encoded.shape[0], size=encoded.shape[0] // 2, replace=False)
    encoded[bad, -1] = gl.random(bad.shape[0], rng)  # the partly used last row
    levels = merkle.build(merkle.hash_columns(encoded))
    forged_com = dataclasses.replace(com, root=levels[-1][0].tobytes())
    forged = dataclasses.replace(data, commitment=forged_com, encoded=encoded, levels=levels)
    point = ext.random(data.layout.total_vars, rng)
    claim = OpeningClaim(None, point, multilinear.evaluate(data.vector, point))
    proof = pcs.open(forged, [claim], transcript())
    with pytest.raises(VerificationError, match="proximity and consistency"):
        pcs.verify(forged_com.to_bytes(), [claim], proof.to_bytes(), transcript())


def _open_over_padded_rows(pcs, data, point, value, extra_row, t):
    """A prover that combines ``2^(n - log C)`` rows, row ``R`` being ``extra_row`` (not
    committed), with the full ``eq`` table of the row point; the rest as the honest opening."""
    com = data.commitment
    checked = prover_claims(data, [OpeningClaim(None, point, value)])
    groups = schedule.group_claims(data.layout, checked, com.log_cols)
    rho, gamma = schedule.begin(t, com.to_bytes(), checked, com.rows)
    padded = np.zeros((1 << com.log_rows, 1 << com.log_cols), dtype=np.uint64)
    padded[: com.rows] = data.rows
    padded[com.rows] = extra_row
    a_full = ext.mul(multilinear.eq_table(groups.row_points[0]), rho[0])[None]
    u = np.empty((1, padded.shape[1], 2), dtype=np.uint64)
    ligero_prover.K.combine_rows(padded, np.ascontiguousarray(a_full), u)
    w = np.empty((1, padded.shape[1], 2), dtype=np.uint64)
    ligero_prover.K.combine_rows(data.rows, np.ascontiguousarray(gamma[None]), w)
    s = ext.sum(ext.mul(w[0], multilinear.eq_table(groups.col_points[0])), axis=0)
    beta = schedule.absorb_proximity_value(t, s)
    u[0] = ext.add(u[0], ext.mul(w[0], beta))
    schedule.absorb_rows(t, u)
    bits = pcs.params.grinding_bits
    nonce = schedule.find_nonce(schedule.grinding_seed(t, bits), bits)
    schedule.absorb_nonce(t, nonce)
    indices = schedule.draw_queries(t, 1 << com.log_length, pcs.params.queries)
    columns = data.encoded[indices]
    siblings = tuple(merkle.open_siblings(data.levels, indices))
    schedule.absorb_opened(t, columns, siblings)
    proof = LigeroProof(com.rows, com.log_cols, s, u, nonce, tuple(indices), columns, siblings)
    return proof, padded


@ligero
def test_rows_beyond_r_cannot_be_smuggled_in(pcs, batch):
    """The committed matrix defines F: a prover that pretends row R holds data (and claims the
    value of that padded vector) passes the evaluation check but fails the column check."""
    rng = np.random.default_rng(40)
    com, data = pcs.commit(batch)
    point = ext.random(data.layout.total_vars, rng)
    cols = 1 << com.log_cols
    # sanity: with a zero row R the helper is the honest prover
    zero = np.zeros(cols, dtype=np.uint64)
    value = multilinear.evaluate(data.vector, point)
    proof, _ = _open_over_padded_rows(pcs, data, point, value, zero, transcript())
    pcs.verify(com, [OpeningClaim(None, point, value)], proof, transcript())
    extra = gl.random(cols, rng)
    value = multilinear.evaluate(np.concatenate([data.vector[: com.rows * cols], extra,
                                                 data.vector[(com.rows + 1) * cols :]]), point)
    proof, _ = _open_over_padded_rows(pcs, data, point, value, extra, transcript())
    with pytest.raises(VerificationError, match="proximity and consistency"):
        pcs.verify(com, [OpeningClaim(None, point, value)], proof, transcript())
