"""LigeroPCS commitments made of parts: the shape, the gathered rows, the combined Merkle leaves,
spilling and shipping parts, the proof size promise, and attacks.

Each attack passes every earlier check of the verifier and is rejected by exactly the check it
is named for (the ``check`` field and the message's step); each malformed commitment encoding
is rejected by the decoder with the message that names its fault.
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import os
import pickle
import tracemalloc
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zkinfer.codec import Writer
from zkinfer.commit import LigeroPCS, OpeningClaim
from zkinfer.commit.base import MAX_POLYS, Layout, Parts, write_layout
from zkinfer.commit.ligero import merkle, schedule
from zkinfer.commit.ligero import prover as ligero_prover
from zkinfer.commit.ligero.params import MAX_LOG_ROWS, LigeroParams, num_rows, part_rows
from zkinfer.commit.ligero.proof import LigeroCommitment, LigeroProof
from zkinfer.errors import ProofFormatError, VerificationError
from zkinfer.field import extension as ext
from zkinfer.field import goldilocks as gl
from zkinfer.poly import multilinear

from .helpers import LIGERO, LIGERO_IDS, transcript

CHECK = "ligero pcs"
ligero = pytest.mark.parametrize("pcs", LIGERO, ids=LIGERO_IDS)

# 4 parts of 2^9: 512, 300, 512 and 45 entries given
PARTS = Parts(9, (512, 300, 512, 45))


def _vectors(parts: Parts, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [gl.random(u, rng) for u in parts.used]


def _table(parts: Parts, vector: np.ndarray) -> np.ndarray:
    out = np.zeros(parts.size, dtype=np.uint64)
    out[: vector.shape[0]] = vector
    return out


def _value(parts, vectors, poly, point):
    if poly is None:
        return multilinear.evaluate(parts.layout.concatenate([_table(parts, v) for v in vectors]),
                                    point)
    return multilinear.evaluate(_table(parts, vectors[poly]), point)


def _opening(pcs: LigeroPCS, parts: Parts = PARTS, seed: int = 5):
    """A parts commitment, claims on parts 0 and 3 (one column point) and on ``F`` (another),
    and the honest proof."""
    vectors = _vectors(parts, seed)
    rng = np.random.default_rng(seed)
    r = ext.random(parts.num_vars, rng)
    points = [(0, r), (parts.count - 1, r), (None, ext.random(parts.layout.total_vars, rng))]
    com, data = pcs.commit_parts(parts, vectors)
    claims = [OpeningClaim(k, p, _value(parts, vectors, k, p)) for k, p in points]
    proof = pcs.open(data, claims, transcript())
    return com, data, claims, proof, vectors


@pytest.fixture(scope="module")
def opening():
    """:func:`_opening` at rate 1/4 (the default): 4 + 3 + 4 + 1 = 12 rows of 2^7."""
    pcs = LIGERO[1]
    com, data, claims, proof, vectors = _opening(pcs)
    assert (com.part_rows, com.log_cols) == ((4, 3, 4, 1), 7)
    return pcs, com, data, claims, proof, vectors


def _rejected(pcs, com, claims, proof, match: str) -> VerificationError:
    with pytest.raises(VerificationError, match=match) as err:
        pcs.verify(com, claims, proof, transcript())
    assert err.value.check == CHECK
    return err.value


def test_opening_verifies(opening):
    pcs, com, _, claims, proof, _ = opening
    assert proof.columns.shape == (len(proof.indices), com.rows)
    assert proof.u_rows.shape[0] == 2  # two column points: two groups
    pcs.verify(com.to_bytes(), claims, proof.to_bytes(), transcript())


# ---- shape


@pytest.mark.parametrize("log_blowup", [1, 2, 3])
@pytest.mark.parametrize("m,used", [(9, PARTS.used), (10, (1024,) * 4), (3, (8,) * 64),
                                    (0, (1, 1, 1)), (12, (4096, 1, 3000)), (6, (64,))],
                         ids=["mixed", "full", "capped", "m=0", "uneven", "one part"])
def test_parts_shape_is_the_shape_of_the_whole_capped_at_m(log_blowup, m, used):
    params = LigeroParams(log_blowup)
    rows, log_cols = params.parts_shape(used, m)
    _, whole = params.shape(sum(used), m + (len(used) - 1).bit_length())
    assert log_cols == min(whole, m)
    assert rows == part_rows(used, log_cols) == tuple(-(-u // (1 << log_cols)) for u in used)
    if m == 3 and log_blowup == 2:
        assert whole > m  # this case is the cap's: 2^6 columns would cross the parts


def test_parts_shape_rejects_what_cannot_fit():
    params = LigeroParams(2)
    with pytest.raises(ValueError, match="exceed the Ligero limits"):
        params.parts_shape((2**18 + 1,) * 40_000, 19)  # 80000 rows of at most 2^18 columns
    with pytest.raises(ValueError, match="do not fit"):
        params.parts_shape((9,), 3)
    with pytest.raises(ValueError, match="do not fit"):
        params.parts_shape((), 3)


def test_commitment_rows_are_the_sum_of_the_parts_rows():
    pcs = LIGERO[1]
    com, data = pcs.commit_parts(PARTS, _vectors(PARTS, 1))
    rows, log_cols = pcs.params.parts_shape(PARTS.used, PARTS.num_vars)
    assert (com.log_cols, com.part_rows, com.row_layout) == (log_cols, rows, rows)
    assert com.rows == sum(rows) == sum(p.num_rows for p in data.pieces)
    assert any(u % (1 << log_cols) for u in PARTS.used)  # some part's last row is partly used
    # at most S - 1 rows more than a plain commitment of the same number of entries
    assert com.rows - num_rows(PARTS.total, log_cols) <= PARTS.count - 1


# ---- gathered rows


def test_row_coefficients_of_parts_are_eq_tables_gathered_at_the_committed_rows():
    rng = np.random.default_rng(2)
    for m, used, log_cols in ((6, (64, 10, 33), 3), (5, (1, 32, 17, 2, 9), 2), (4, (16,), 4),
                              (3, (8, 1, 8), 0), (0, (1, 1), 0)):
        parts = Parts(m, used)
        rows = part_rows(used, log_cols)
        row_vars = parts.layout.total_vars - log_cols
        # idx: the global row of each committed row, part by part
        idx = np.concatenate([(s << (m - log_cols)) + np.arange(r) for s, r in enumerate(rows)])
        k = 6
        points = tuple(ext.random(row_vars, rng) for _ in range(k))
        members = ((0, 3), (1, 2, 5), (4,))
        groups = schedule.Groups(points, tuple(ext.random(log_cols, rng) for _ in members),
                                 members)
        rho = ext.random(k, rng)
        got = schedule.row_coefficients(groups, rho, rows)
        assert got.shape == (len(members), sum(rows), 2)
        for g, mem in enumerate(members):
            want = ext.zeros(sum(rows))
            for i in mem:
                want = ext.add(want, ext.mul(multilinear.eq_table(points[i])[idx], rho[i]))
            assert np.array_equal(got[g], want)
        # one part is truncation
        if len(used) == 1:
            assert np.array_equal(got, schedule.row_coefficients(groups, rho, rows[0]))
    with pytest.raises(ValueError, match="part rows"):
        schedule.row_coefficients(groups, rho, (3, 1))  # 3 rows of a part of 2^0 rows


def test_a_claim_on_one_part_has_no_coefficient_outside_its_rows():
    parts = Parts(6, (64, 10, 33))
    rows = part_rows(parts.used, 3)
    point = parts.layout.global_point(1, ext.random(6, np.random.default_rng(3)))
    groups = schedule.group_claims(parts.layout, [(None, point, ext.zeros(()))], 3)
    got = schedule.row_coefficients(groups, ext.ones(1), rows)[0]
    assert not got[: rows[0]].any() and not got[rows[0] + rows[1]:].any()
    assert got[rows[0] : rows[0] + rows[1]].any()


# ---- the committed matrix and the combined leaves


@ligero
def test_leaves_combine_the_parts_column_digests(pcs):
    com, data = pcs.commit_parts(PARTS, _vectors(PARTS, 4))
    for piece in data.pieces:
        assert np.array_equal(piece.digests, merkle.hash_columns(piece.encoded))
        assert np.array_equal(piece.encoded, ligero_prover.encode(piece.rows, com.log_blowup))
    for j in (0, 1, (1 << com.log_length) - 1):
        # leaf_j = H(0x02 || d_0j || ... || d_(S-1)j), d_sj = H(0x00 || column j of part s)
        digests = b"".join(hashlib.sha256(b"\x00" + p.encoded[j].astype("<u8").tobytes()).digest()
                           for p in data.pieces)
        assert data.levels[0][j].tobytes() == hashlib.sha256(b"\x02" + digests).digest()
    assert merkle.build(data.levels[0])[-1][0].tobytes() == com.root


def test_combine_part_leaves_rejects_mismatched_digests():
    with pytest.raises(ValueError, match="no part digests"):
        merkle.combine_part_leaves([])
    with pytest.raises(ValueError, match="different shapes"):
        merkle.combine_part_leaves([np.zeros((4, 32), np.uint8), np.zeros((8, 32), np.uint8)])


def test_opened_columns_are_the_parts_slices_in_part_order(opening):
    pcs, com, data, _, proof, _ = opening
    expected = np.concatenate([p.encoded[list(proof.indices)] for p in data.pieces], axis=1)
    assert np.array_equal(proof.columns, expected)
    # and the parts' rows stacked are the committed matrix: Enc(stack) = stack of Enc(rows)
    stacked = np.concatenate([p.rows for p in data.pieces])
    assert np.array_equal(ligero_prover.encode(stacked, com.log_blowup)[list(proof.indices)],
                          proof.columns)


# ---- spilling: memory, files, pickling, other processes


@ligero
def test_a_spilled_part_holds_its_vector_and_column_digests_only(pcs, tmp_path):
    parts = Parts(14, (12_000, 16_384))
    vector = gl.random(12_000, np.random.default_rng(6))
    pcs.commit_part(parts, 0, vector)  # compile / load the kernels outside the measurement
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        in_memory = pcs.commit_part(parts, 0, vector)
        gc.collect()
        held_in_memory = tracemalloc.get_traced_memory()[0] - before
        spilled = pcs.commit_part(parts, 0, vector, spill=tmp_path)
        assert isinstance(spilled.encoded, np.memmap)  # waits for the background write
        gc.collect()
        held_spilled = tracemalloc.get_traced_memory()[0] - before - held_in_memory
    finally:
        tracemalloc.stop()
    own = spilled.rows.nbytes + spilled.digests.nbytes
    assert spilled.resident_bytes == own
    assert in_memory.resident_bytes == own + in_memory.encoded.nbytes
    assert held_spilled < own + (64 << 10)  # vector, digests and small change
    assert held_in_memory > own + in_memory.encoded.nbytes // 2
    assert isinstance(spilled.encoded, np.memmap) and not spilled.encoded.flags.writeable
    assert np.array_equal(spilled.encoded, in_memory.encoded)
    (path,) = tmp_path.iterdir()
    assert str(path) == spilled.spill_file and path.name.startswith("zkinfer-part-")
    assert path.suffix == ".npy" and path.stat().st_size >= in_memory.encoded.nbytes
    spilled.close()
    assert not path.exists() and spilled.encoded is None
    assert ligero_prover.part_columns(in_memory, [3, 1]).shape == (2, in_memory.num_rows)
    with pytest.raises(ValueError, match="part 0 is closed"):
        ligero_prover.part_columns(spilled, [3])
    with pytest.raises(ValueError, match="part 0 is closed"):
        ligero_prover.part_combination(spilled, ext.zeros((1, spilled.num_rows)))


@ligero
def test_a_part_collected_before_its_spill_write_began_leaves_no_file(pcs, tmp_path):
    # the background writer is held busy, so the part is collected (and its file removed)
    # before its own write starts: the late write must not create the file again
    import threading

    gate = threading.Event()
    blocker = ligero_prover._submit(gate.wait, 30)
    try:
        piece = pcs.commit_part(PARTS, 1, _vectors(PARTS, 8)[1], spill=tmp_path)
        pending = piece._pending
        assert len(list(tmp_path.iterdir())) == 1
        del piece
        gc.collect()
        assert list(tmp_path.iterdir()) == []
    finally:
        gate.set()
    blocker.result()
    with pytest.raises(FileNotFoundError):
        pending.result(timeout=30)
    assert list(tmp_path.iterdir()) == []


@ligero
def test_a_pickled_spilled_part_owns_a_new_name_of_its_file(pcs, tmp_path):
    vectors = _vectors(PARTS, 7)
    piece = pcs.commit_part(PARTS, 1, vectors[1], spill=tmp_path)
    blob = pickle.dumps(piece)
    names = {p.name for p in tmp_path.iterdir()}
    assert len(names) == 2  # the original and the name the pickle carries
    copy = pickle.loads(blob)
    assert copy.spill_file != piece.spill_file
    assert os.path.samefile(copy.spill_file, piece.spill_file)  # a hard link here
    assert np.array_equal(copy.encoded, piece.encoded) and np.array_equal(copy.rows, piece.rows)
    assert not copy.rows.flags.writeable
    piece.close()
    assert {p.name for p in tmp_path.iterdir()} == {os.path.basename(copy.spill_file)}
    assert ligero_prover.part_columns(copy, [1, 0]).shape == (2, copy.num_rows)
    del copy
    gc.collect()
    assert list(tmp_path.iterdir()) == []
    closed = pickle.loads(pickle.dumps(piece))  # a closed part pickles closed, without a file
    assert closed.closed and closed.encoded is None and list(tmp_path.iterdir()) == []


def _commit_in_worker(log_blowup: int, parts: Parts, index: int, vector: np.ndarray, spill):
    """Run in a spawned process: commit one part (the result travels back by pickle)."""
    return LigeroPCS(log_blowup).commit_part(parts, index, vector, spill=spill)


def test_parts_committed_in_other_processes_join_in_this_one(tmp_path):
    pcs = LIGERO[1]
    parts = Parts(8, (256, 100, 3))
    vectors = _vectors(parts, 8)
    with ProcessPoolExecutor(max_workers=2, mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(_commit_in_worker, pcs.params.log_blowup, parts, s, v,
                               tmp_path if s != 1 else None) for s, v in enumerate(vectors)]
        pieces = [f.result() for f in futures]
    gc.collect()
    assert len(list(tmp_path.iterdir())) == 2  # the workers' own files are gone with them
    com, data = pcs.join(parts, pieces)
    com_ref, _ = pcs.commit_parts(parts, vectors)
    assert com.to_bytes() == com_ref.to_bytes()
    r = ext.random(8, np.random.default_rng(8))
    claims = [OpeningClaim(s, r, _value(parts, vectors, s, r)) for s in range(3)]
    pcs.verify(com, claims, pcs.open(data, claims, transcript()), transcript())
    data.close()
    assert list(tmp_path.iterdir()) == []


# ---- the proof size promise


def _fixed_queries(monkeypatch) -> None:
    """Both sides open the same fixed columns (the transcript still advances as before), so two
    proofs differ only by what their commitments make them carry."""
    real = schedule.draw_queries

    def draw(t, length, queries):
        real(t, length, queries)
        return sorted({(i * 7919 + 13) % length for i in range(queries)})

    monkeypatch.setattr(schedule, "draw_queries", draw)


def _proof_bytes(pcs, com, data, points, values) -> int:
    claims = [OpeningClaim(k, p) for k, p in points]
    proof = pcs.open(data, claims, transcript())
    pcs.verify(com, [OpeningClaim(k, p, v) for (k, p), v in zip(points, values, strict=True)],
               proof.to_bytes(), transcript())
    return proof


@ligero
@pytest.mark.parametrize("m,count", [(10, 4), (12, 3), (8, 6)])
def test_a_parts_proof_is_the_size_of_a_plain_proof_of_the_same_data(pcs, m, count,
                                                                     monkeypatch):
    _fixed_queries(monkeypatch)
    parts = Parts(m, (1 << m,) * count)
    vectors = _vectors(parts, m)
    rng = np.random.default_rng(m)
    points = [(0, ext.random(m, rng)), (count - 1, ext.random(m, rng)),
              (None, ext.random(parts.layout.total_vars, rng))]
    values = [_value(parts, vectors, k, p) for k, p in points]
    com, data = pcs.commit_parts(parts, vectors)
    plain_com, plain_data = pcs.commit(vectors)
    assert (com.rows, com.log_cols) == (plain_com.rows, plain_com.log_cols)
    parts_proof = _proof_bytes(pcs, com, data, points, values)
    plain_proof = _proof_bytes(pcs, plain_com, plain_data, points, values)
    assert parts_proof.indices == plain_proof.indices
    assert len(parts_proof.siblings) == len(plain_proof.siblings)
    assert len(parts_proof.to_bytes()) == len(plain_proof.to_bytes())
    # the commitment carries S and the used entries: u32 + 8 S bytes
    assert len(com.to_bytes()) - len(plain_com.to_bytes()) == 4 + 8 * count


@ligero
def test_a_proof_of_partly_used_parts_costs_the_rounding_of_each_part_only(pcs, monkeypatch):
    """Against a plain batch of the same number of entries: a part's last row may be partly
    used, so up to S - 1 more rows of each opened column, nothing else."""
    _fixed_queries(monkeypatch)
    parts = Parts(10, (1024, 3, 1024, 5, 7))  # 2063 entries = 2^11 + 2^3 + 2^2 + 2^1 + 2^0
    vectors = _vectors(parts, 9)
    rng = np.random.default_rng(9)
    points = [(None, ext.random(13, rng))]
    values = [_value(parts, vectors, k, p) for k, p in points]
    com, data = pcs.commit_parts(parts, vectors)
    flat = np.concatenate(vectors)
    sizes = [b for b in range(12, -1, -1) if parts.total >> b & 1]
    offsets = np.cumsum([0] + [1 << b for b in sizes])
    plain_com, plain_data = pcs.commit([flat[o : o + (1 << b)] for o, b in zip(offsets, sizes,
                                                                                  strict=False)])
    assert plain_com.layout.used == parts.total and plain_com.log_cols == com.log_cols
    parts_proof = _proof_bytes(pcs, com, data, points, values)
    plain_claims = [(None, ext.random(plain_com.layout.total_vars, rng))]
    plain_proof = _proof_bytes(pcs, plain_com, plain_data, plain_claims,
                               [plain_data.evaluate(None, plain_claims[0][1])])
    extra_rows = com.rows - plain_com.rows
    assert 0 < extra_rows <= parts.count - 1
    assert parts_proof.indices == plain_proof.indices
    assert len(parts_proof.to_bytes()) - len(plain_proof.to_bytes()) == (
        8 * len(parts_proof.indices) * extra_rows)


@ligero
def test_a_parts_proof_has_no_field_a_plain_proof_lacks(pcs):
    """With the transcript's own queries: the size is the plain formula of its counts."""
    com, _, claims, proof, _ = _opening(pcs)
    groups, count, cols = proof.u_rows.shape[0], len(proof.indices), 1 << com.log_cols
    plain_formula = (4 + 2 + 4 + 1 + 16 + 4 + 16 * groups * cols + 8 + 4 + 4 * count
                     + 8 * count * com.rows + 4 + 32 * len(proof.siblings))
    assert len(proof.to_bytes()) == plain_formula


# ---- attacks on the opened columns (merkle)


def _with_columns(proof: LigeroProof, columns: np.ndarray) -> bytes:
    return dataclasses.replace(proof, columns=np.ascontiguousarray(columns)).to_bytes()


@pytest.mark.parametrize("part", [0, 1, 3])
def test_tampered_element_in_one_parts_slice_of_an_opened_column_rejected_by_the_merkle_check(
        opening, part):
    pcs, com, _, claims, proof, _ = opening
    bounds = np.cumsum((0,) + com.part_rows)
    cols = proof.columns.copy()
    j, row = len(cols) // 2, bounds[part + 1] - 1  # the part's last row (partly used for 1, 3)
    cols[j, row] = (int(cols[j, row]) + 1) % gl.P
    _rejected(pcs, com, claims, _with_columns(proof, cols),
              "merkle: opened columns do not hash to the root")


def test_slices_of_two_parts_swapped_rejected_by_the_merkle_check(opening):
    """Parts 0 and 2 have the same number of rows: their slices of every opened column are
    exchanged (the hash of each slice is still a committed digest, in the wrong place)."""
    pcs, com, _, claims, proof, _ = opening
    bounds = np.cumsum((0,) + com.part_rows)
    assert com.part_rows[0] == com.part_rows[2]
    cols = proof.columns.copy()
    a, b = slice(bounds[0], bounds[1]), slice(bounds[2], bounds[3])
    cols[:, a], cols[:, b] = proof.columns[:, b], proof.columns[:, a]
    assert not np.array_equal(cols, proof.columns)
    _rejected(pcs, com, claims, _with_columns(proof, cols),
              "merkle: opened columns do not hash to the root")


def test_slice_moved_from_one_part_to_another_rejected_by_the_merkle_check(opening):
    """Parts 1 and 3 have different numbers of rows: the column re-cut so that part 3's slice
    comes first (the verifier splits it by the committed ``R_s``)."""
    pcs, com, _, claims, proof, _ = opening
    bounds = np.cumsum((0,) + com.part_rows)
    assert com.part_rows[1] != com.part_rows[3]
    cols = np.concatenate([proof.columns[:, bounds[3]:], proof.columns[:, : bounds[3]]], axis=1)
    _rejected(pcs, com, claims, _with_columns(proof, cols),
              "merkle: opened columns do not hash to the root")


@pytest.mark.parametrize("change", ["drop", "extra", "zero", "swap"])
def test_wrong_merkle_sibling_rejected_by_the_merkle_check(opening, change):
    pcs, com, _, claims, proof, _ = opening
    sib = list(proof.siblings)
    sib = {"drop": sib[:-1], "extra": sib + [bytes(32)], "zero": sib[:1] + [bytes(32)] + sib[2:],
           "swap": [sib[1], sib[0]] + sib[2:]}[change]
    _rejected(pcs, com, claims, dataclasses.replace(proof, siblings=tuple(sib)).to_bytes(),
              "merkle: opened columns do not hash to the root")


def test_parts_committed_under_one_plain_tree_rejected_by_the_merkle_check(opening):
    """A prover hashes each whole stacked column as one plain leaf ``H(0x00 || column)`` and
    declares the root of that tree as its parts commitment, then runs the honest opening
    against it: every check before the Merkle one passes (same rows, same matrix), the
    verifier's leaves ``H(0x02 || slice digests)`` do not lead to that root."""
    pcs, com, data, claims, _, _ = opening
    stacked = np.concatenate([p.encoded for p in data.pieces], axis=1)
    plain = merkle.build(merkle.hash_columns(stacked))
    forged_com = dataclasses.replace(com, root=plain[-1][0].tobytes())
    forged_data = ligero_prover.LigeroPartsData(PARTS, forged_com, data.pieces, plain)
    proof = pcs.open(forged_data, claims, transcript())
    _rejected(pcs, forged_com, claims, proof.to_bytes(),
              "merkle: opened columns do not hash to the root")


def test_a_part_committed_twice_rejected_by_the_merkle_check(opening):
    """The tree is built with part 0's digests in part 2's place (parts 0 and 2 have the same
    shape); the opening then sends part 2's true columns."""
    pcs, com, data, claims, _, _ = opening
    digests = [p.digests for p in data.pieces]
    digests[2] = digests[0]
    levels = merkle.build(merkle.combine_part_leaves(digests))
    forged_com = dataclasses.replace(com, root=levels[-1][0].tobytes())
    proof = pcs.open(ligero_prover.LigeroPartsData(PARTS, forged_com, data.pieces, levels),
                     claims, transcript())
    _rejected(pcs, forged_com, claims, proof.to_bytes(),
              "merkle: opened columns do not hash to the root")


# ---- attacks on the commitment


def test_commitment_whose_used_changes_the_rows_rejected_by_the_shape_check(opening):
    """Part 3 said to hold 2^9 entries (claims about another vector, with more rows)."""
    pcs, com, _, claims, proof, _ = opening
    parts = Parts(9, (512, 300, 512, 512))
    rows = sum(part_rows(parts.used, com.log_cols))
    assert rows != com.rows
    other = LigeroCommitment.from_bytes(dataclasses.replace(com, parts=parts, rows=rows).to_bytes())
    err = _rejected(pcs, other, claims, proof.to_bytes(),
                    "shape: proof matrix shape differs from the commitment")
    assert err.expected == (rows, com.log_cols)


def test_commitment_whose_used_keeps_the_rows_rejected_by_the_transcript(opening):
    """Part 1 said to hold 301 entries: the same matrix shape, but the claims are about another
    vector and the commitment's bytes differ, so the transcript does: the nonce ground for
    the real commitment misses the difficulty."""
    pcs, com, _, claims, proof, _ = opening
    parts = Parts(9, (512, 301, 512, 45))
    assert sum(part_rows(parts.used, com.log_cols)) == com.rows
    other = dataclasses.replace(com, parts=parts)
    _rejected(pcs, other.to_bytes(), claims, proof.to_bytes(),
              "grinding: the nonce does not meet the difficulty of 16 bits")


def test_commitment_whose_used_keeps_the_rows_rejected_without_grinding_by_the_queries():
    pcs = LigeroPCS(log_blowup=2, grinding_bits=0)
    com, _, claims, proof, _ = _opening(pcs)
    other = dataclasses.replace(com, parts=Parts(9, (512, 300, 511, 45)))
    assert other.rows == com.rows
    _rejected(pcs, other.to_bytes(), claims, proof.to_bytes(),
              "queries: opened columns differ from the queried ones")


@pytest.mark.parametrize("change", ["rows+1", "rows of the plain shape", "cols above m",
                                    "layout of other parts", "version 2"])
def test_commitment_object_whose_parts_do_not_fit_rejected_by_the_shape_check(opening, change):
    pcs, com, _, claims, proof, _ = opening
    bad = {
        "rows+1": {"rows": com.rows + 1},
        "rows of the plain shape": {"rows": num_rows(PARTS.total, com.log_cols)},  # 11
        "cols above m": {"log_cols": PARTS.num_vars + 1, "rows": 4},
        "layout of other parts": {"layout": Layout((9, 9, 9))},
        "version 2": {"version": 2},
    }[change]
    _rejected(pcs, dataclasses.replace(com, **bad), claims, proof,
              r"shape: commitment matrix shape does not fit its layout \(")


def test_the_parts_root_as_a_plain_commitment_rejected_by_the_shape_check(opening):
    """A plain commitment of the parts' layout with their root: it commits every row of ``F``
    (16, not the parts' 12), so the proof's matrix has the wrong shape."""
    pcs, com, _, claims, proof, _ = opening
    plain = LigeroCommitment(Layout((9, 9, 9, 9)), com.log_blowup,
                             num_rows(4 * 512, com.log_cols), com.log_cols, com.root)
    assert plain.shape_error() is None and plain.rows == 16
    err = _rejected(pcs, plain, claims, proof,
                    "shape: proof matrix shape differs from the commitment")
    assert err.got == (12, 7)


# ---- attacks on the claims


def test_false_claim_on_an_uncommitted_row_of_a_part_rejected_by_the_evaluation(opening):
    """Row 3 of part 3 (45 entries: one committed row of 2^7) is zero by definition; a claim
    that it is not, opened by the honest prover with that value, fails its group's evaluation."""
    pcs, com, data, _, _, vectors = opening
    assert com.part_rows[3] == 1 and com.log_cols == 7
    point = np.concatenate([ext.ones(2), ext.random(7, np.random.default_rng(10))])
    assert not _value(PARTS, vectors, 3, point).any()
    bad = [OpeningClaim(3, point, ext.ones(()))]
    proof = pcs.open(data, bad, transcript())
    err = _rejected(pcs, com, bad, proof.to_bytes(), "evaluation: <u, eq")
    assert err.round == 0


def test_false_claim_on_the_second_group_rejected_by_its_evaluation(opening):
    pcs, com, data, claims, _, _ = opening
    bad = list(claims)
    bad[2] = OpeningClaim(None, bad[2].point, ext.add(bad[2].value, ext.ones(())))
    proof = pcs.open(data, bad, transcript())
    err = _rejected(pcs, com, bad, proof.to_bytes(), "evaluation: <u, eq")
    assert err.round == 1


def test_claims_moved_to_the_part_with_the_same_rows_rejected(opening):
    """Parts 0 and 2 both hold 2^9 entries; the claim on part 0 said of part 2."""
    pcs, com, _, claims, proof, _ = opening
    moved = [OpeningClaim(2, claims[0].point, claims[0].value), *claims[1:]]
    _rejected(pcs, com, moved, proof.to_bytes(),
              "grinding: the nonce does not meet the difficulty of 16 bits")


# ---- decoding (ProofFormatError, named by message)


def _parts_commitment_bytes(com: LigeroCommitment, *, version: int = 3, rows: int | None = None,
                            log_cols: int | None = None, layout: Layout | None = None,
                            mode: int = 1, count: int | None = None,
                            used: tuple[int, ...] | None = None, trailing: bytes = b"") -> bytes:
    """A Ligero commitment's bytes with any field values (default: those of ``com``)."""
    used = com.parts.used if used is None else used
    w = Writer()
    w.header(b"ZKLC", version)
    w.u8(com.log_blowup)
    w.u32(com.rows if rows is None else rows)
    w.u8(com.log_cols if log_cols is None else log_cols)
    write_layout(w, com.layout if layout is None else layout)
    w.u8(mode)
    if mode == 1:
        w.u32(len(used) if count is None else count)
        for u in used:
            w.u64(u)
    w.raw(com.root)
    w.raw(trailing)
    return w.finish()


def test_parts_commitment_written_by_hand_matches_the_library(opening):
    com = opening[1]
    assert _parts_commitment_bytes(com) == com.to_bytes()
    assert LigeroCommitment.from_bytes(com.to_bytes()) == com


@pytest.mark.parametrize("change,message", [
    ({"mode": 2}, "ligero commitment: unknown mode 2 \\(0: plain, 1: parts\\)"),
    ({"mode": 255}, "unknown mode 255"),
    ({"count": 3, "used": (512, 300, 512)}, "3 parts, but the layout has 4 polynomials"),
    ({"count": 5, "used": (512, 300, 512, 45, 1)}, "5 parts, but the layout has 4 polynomials"),
    ({"layout": Layout((9, 9, 9, 8)), "used": (512, 300, 512, 45)},
     "parts of different sizes: every polynomial of the layout must have 9 variables"),
    ({"used": (512, 0, 512, 45)}, r"used\[1\] = 0 is not in \[1, 2\^9\]"),
    ({"used": (512, 300, 513, 45)}, r"used\[2\] = 513 is not in \[1, 2\^9\]"),
    ({"used": (512, 300, 512, 2**40)}, r"used\[3\] = 1099511627776 is not in \[1, 2\^9\]"),
    ({"used": (512, 300, 512, 2**64 - 1)}, r"used\[3\] = 18446744073709551615 is not in"),
    ({"log_cols": 10, "rows": 4}, "matrix shape does not fit the parts: 2\\^10 columns for parts "
     "of 2\\^9 entries"),
    ({"log_cols": 12, "rows": 4}, "matrix shape does not fit the layout: 2\\^12 columns for "
     "2\\^11 entries"),
    ({"rows": 13}, "row count does not fit the parts: 13 rows, expected sum of "
     "ceil\\(used\\[s\\] / 2\\^7\\) = 12"),
    ({"rows": 11}, "row count does not fit the parts: 11 rows"),
    ({"rows": 1 << MAX_LOG_ROWS}, "row count does not fit the parts"),
    ({"count": 10}, "count 10 x 8 bytes exceeds the 64 left"),
    ({"count": MAX_POLYS + 1}, f"exceeds the bound {MAX_POLYS}"),
    ({"trailing": b"\x00"}, "1 trailing bytes"),
    ({"version": 2, "mode": 0}, "1 trailing bytes"),
    ({"version": 1}, "unsupported version 1"),
    ({"version": 4}, "unsupported version 4"),
], ids=["mode 2", "mode 255", "fewer parts than polynomials", "more parts than polynomials",
        "polynomials of different sizes", "used 0", "used above 2^m", "used 2^40",
        "used 2^64-1", "columns wider than a part", "columns wider than the layout", "rows+1",
        "rows-1", "rows 2^16", "truncated used", "count above the bound", "trailing byte",
        "version 2 with a mode byte", "version 1", "version 4"])
def test_non_canonical_parts_commitment_rejected_at_decoding(opening, change, message):
    com = opening[1]
    assert com.rows == 12 and com.log_cols == 7  # 4 + 3 + 4 + 1 rows of 2^7
    raw = _parts_commitment_bytes(com, **change)
    with pytest.raises(ProofFormatError, match=message):
        LigeroCommitment.from_bytes(raw)
    with pytest.raises(ProofFormatError, match=message):
        opening[0].verify(raw, opening[3], opening[4], transcript())


@settings(max_examples=150)
@given(data=st.data())
def test_mutated_parts_commitment_bytes_raise_only_proof_format_errors(data):
    com = _CACHED_COMMITMENT
    raw = bytearray(com.to_bytes())
    for _ in range(data.draw(st.integers(1, 3))):
        kind = data.draw(st.sampled_from(["flip", "byte", "cut", "insert"]))
        pos = data.draw(st.integers(0, len(raw) - 1))
        if kind == "flip":
            raw[pos] ^= 1 << data.draw(st.integers(0, 7))
        elif kind == "byte":
            raw[pos] = data.draw(st.integers(0, 255))
        elif kind == "cut":
            del raw[pos:]
        else:
            raw[pos:pos] = bytes(data.draw(st.lists(st.integers(0, 255), min_size=1, max_size=9)))
        if not raw:
            break
    try:
        decoded = LigeroCommitment.from_bytes(bytes(raw))
    except ProofFormatError:
        return
    assert decoded.to_bytes() == bytes(raw)  # what decodes is canonical
    assert decoded.shape_error() is None


_CACHED_COMMITMENT = LigeroCommitment(PARTS.layout, 2, 12, 7, bytes(range(32)), PARTS)
