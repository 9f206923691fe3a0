"""Conformance of commitments made of parts (:class:`zkinfer.commit.base.Parts`), every scheme.

Parts committed one by one (``commit_part`` then ``join``), all at once (``commit_parts``, from a
sequence or a callable), spilled to files or kept in memory, pickled in between: the same
commitment and proof bytes. Claims on several parts at one point, at different points and on
the whole vector; ``evaluate`` against a reference; ``used`` not a multiple of ``C``; one part;
a number of parts that is not a power of two; random small shapes. Attacks here are those every
scheme must reject (``VerificationError`` or ``ProofFormatError``); the Ligero-specific ones, by
check, are in ``test_ligero_parts.py``.
"""

from __future__ import annotations

import dataclasses
import gc
import pickle
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zkinfer.commit import Layout, OpeningClaim
from zkinfer.commit.base import MAX_POLYS, MAX_TOTAL_VARS, Parts
from zkinfer.errors import FieldRangeError, ProofFormatError, VerificationError
from zkinfer.field import extension as ext
from zkinfer.field import goldilocks as gl
from zkinfer.poly import multilinear

from .helpers import SCHEME_IDS, SCHEMES, transcript

REJECTED = (VerificationError, ProofFormatError)

schemes = pytest.mark.parametrize("pcs", SCHEMES, ids=SCHEME_IDS)


# ---- helpers


def _vectors(parts: Parts, seed: int) -> list[np.ndarray]:
    """Random vectors of ``used[s]`` entries."""
    rng = np.random.default_rng(seed)
    return [gl.random(u, rng) for u in parts.used]


def _table(parts: Parts, vector: np.ndarray) -> np.ndarray:
    """A part's evaluation table: its vector zero-padded to ``2^m``."""
    out = np.zeros(parts.size, dtype=np.uint64)
    out[: vector.shape[0]] = vector
    return out


def _whole(parts: Parts, vectors: list[np.ndarray]) -> np.ndarray:
    """``F``: the parts' tables concatenated, zero-padded to ``2^n``."""
    return parts.layout.concatenate([_table(parts, v) for v in vectors])


def _value(parts: Parts, vectors: list[np.ndarray], poly: int | None, point) -> np.ndarray:
    """The reference evaluation of a claim."""
    table = _whole(parts, vectors) if poly is None else _table(parts, vectors[poly])
    return multilinear.evaluate(table, point)


def _valued(parts, vectors, points) -> list[OpeningClaim]:
    return [OpeningClaim(k, p, _value(parts, vectors, k, p)) for k, p in points]


def _open(pcs, data, points) -> bytes:
    return pcs.open(data, [OpeningClaim(k, p) for k, p in points], transcript()).to_bytes()


def _verify(pcs, com, claims, proof) -> None:
    pcs.verify(com if isinstance(com, bytes) else com.to_bytes(), claims,
               proof if isinstance(proof, bytes) else proof.to_bytes(), transcript())


def _check(pcs, parts: Parts, vectors, points, **kwargs):
    """Commit, open, check the values the prover computes, verify; returns the bytes."""
    com, data = pcs.commit_parts(parts, vectors, **kwargs)
    with data:
        claims = _valued(parts, vectors, points)
        for c in claims:
            assert np.array_equal(data.evaluate(c.poly, c.point), c.value)
        proof = _open(pcs, data, points)
    _verify(pcs, com, claims, proof)
    return com.to_bytes(), proof


# ---- Parts


def test_parts_layout_puts_part_s_at_s_times_2_to_the_m():
    parts = Parts(4, (16, 3, 9))
    assert parts.layout == Layout((4, 4, 4))
    assert parts.layout.offsets == (0, 16, 32)
    assert parts.layout.total_vars == 6
    assert (parts.count, parts.size, parts.total) == (3, 16, 28)
    assert Parts(0, (1,)).layout == Layout((0,))
    assert Parts(5, [7, np.int64(32)]).used == (7, 32)  # any sequence of integers, stored as ints
    assert Parts(5, [7, 32]) == Parts(5, (7, 32))
    assert hash(Parts(5, [7, 32])) == hash(Parts(5, (7, 32)))


@pytest.mark.parametrize("num_vars,used,message", [
    (-1, (1,), "num_vars must be an integer in"),
    (MAX_TOTAL_VARS + 1, (1,), "num_vars must be an integer in"),
    (True, (1,), "num_vars must be an integer in"),
    (2.0, (1,), "num_vars must be an integer in"),
    (3, (), "at least one part"),
    (3, 5, "used must be a sequence of integers"),
    (3, (0,), r"used\[0\] = 0 is not an integer in \[1, 2\^3\]"),
    (3, (8, 9), r"used\[1\] = 9 is not an integer in \[1, 2\^3\]"),
    (3, (8, 1.5), r"used\[1\] = 1.5 is not an integer"),
    (3, (True,), r"used\[0\] = True is not an integer"),
    (0, (1,) * (MAX_POLYS + 1), f"at most {MAX_POLYS} parts"),
    (MAX_TOTAL_VARS, (1, 1), f"exceed 2\\^{MAX_TOTAL_VARS} entries"),
], ids=["m<0", "m too large", "m bool", "m float", "no part", "used not a sequence", "used 0",
        "used above 2^m", "used float", "used bool", "too many parts", "too large"])
def test_parts_validation(num_vars, used, message):
    with pytest.raises(ValueError, match=message) as err:
        Parts(num_vars, used)
    assert str(err.value).startswith("parts: ")


# ---- one by one == all at once


@schemes
def test_parts_committed_one_by_one_equal_commit_parts(pcs):
    parts = Parts(7, (128, 100, 37, 1))
    vectors = _vectors(parts, 1)
    rng = np.random.default_rng(2)
    points = [(0, ext.random(7, rng)), (2, ext.random(7, rng)), (None, ext.random(9, rng))]
    com, data = pcs.commit_parts(parts, vectors)
    pieces = [pcs.commit_part(parts, s, v) for s, v in enumerate(vectors)]
    com_joined, data_joined = pcs.join(parts, pieces)
    com_called, data_called = pcs.commit_parts(parts, lambda s: vectors[s])
    assert com.to_bytes() == com_joined.to_bytes() == com_called.to_bytes()
    proofs = {_open(pcs, d, points) for d in (data, data_joined, data_called)}
    assert len(proofs) == 1
    _verify(pcs, com, _valued(parts, vectors, points), proofs.pop())


@schemes
def test_commit_parts_calls_the_callable_once_per_part_in_order(pcs):
    parts = Parts(5, (32, 3, 17))
    vectors = _vectors(parts, 3)
    calls: list[int] = []

    def make(s: int) -> np.ndarray:
        calls.append(s)
        return vectors[s].copy()

    pcs.commit_parts(parts, make)
    assert calls == [0, 1, 2]


@schemes
def test_commit_parts_reports_progress(pcs):
    parts = Parts(5, (32, 3))
    seen: list[tuple[str, int, int]] = []
    pcs.commit_parts(parts, _vectors(parts, 4), progress=lambda *a: seen.append(a))
    steps = [s for s in seen if s[0] == "committing parts"]
    assert steps == [("committing parts", 0, 2), ("committing parts", 1, 2),
                     ("committing parts", 2, 2)]


@schemes
def test_commitment_and_data_expose_the_parts(pcs):
    parts = Parts(6, (64, 10, 33))
    vectors = _vectors(parts, 5)
    com, data = pcs.commit_parts(parts, vectors)
    assert com.parts == parts and data.parts == parts
    assert com.layout == parts.layout == data.layout
    decoded = pcs.decode_commitment(com.to_bytes())
    assert decoded.parts == parts and decoded.to_bytes() == com.to_bytes()
    for s, v in enumerate(vectors):
        part = data.part(s)
        assert part.shape == (parts.used[s],) and np.array_equal(part, v)
        assert np.shares_memory(part, data.part(s))  # a view, not a copy
        assert not part.flags.writeable
    assert np.array_equal(data.vector, _whole(parts, vectors))
    plain_com, plain_data = pcs.commit([_table(parts, v) for v in vectors])
    assert plain_com.parts is None and plain_data.parts is None
    with pytest.raises(ValueError, match="not a commitment made of parts"):
        plain_data.part(0)
    for bad in (3, -1, True, "0"):
        with pytest.raises(ValueError, match="the commitment has 3 parts"):
            data.part(bad)


# ---- claims


@schemes
def test_claims_on_several_parts_at_one_common_point(pcs):
    parts = Parts(8, (256, 200, 1, 129))
    r = ext.random(8, np.random.default_rng(6))
    _check(pcs, parts, _vectors(parts, 6), [(s, r) for s in range(parts.count)])


@schemes
def test_claims_on_parts_at_different_points_and_on_the_whole(pcs):
    parts = Parts(8, (256, 200, 1, 129))
    rng = np.random.default_rng(7)
    points = [(s, ext.random(8, rng)) for s in (3, 0, 1, 3)]
    points += [(None, ext.random(10, rng)), (None, ext.random(10, rng))]
    _check(pcs, parts, _vectors(parts, 7), points)


@schemes
def test_whole_vector_claim_matches_part_claim(pcs):
    parts = Parts(6, (64, 50, 20))
    vectors = _vectors(parts, 8)
    r = ext.random(6, np.random.default_rng(8))
    z = parts.layout.global_point(2, r)
    com, data = pcs.commit_parts(parts, vectors)
    assert np.array_equal(data.evaluate(None, z), data.evaluate(2, r))
    _check(pcs, parts, vectors, [(None, z), (2, r)])


@schemes
def test_claims_on_the_zero_rows_of_a_part_and_on_the_padding_parts(pcs):
    """Points on ``F`` whose part bits select a part past ``S`` (value 0), and points on a part
    whose row bits select a row past its used entries (value 0)."""
    parts = Parts(8, (256, 5, 70))  # 3 parts in a vector of 4: part 3 is zero by definition
    vectors = _vectors(parts, 9)
    rng = np.random.default_rng(9)
    beyond = np.concatenate([ext.from_base(np.array([1, 1], dtype=np.uint64)),
                             ext.random(8, rng)])  # part 3
    last_rows = np.concatenate([ext.ones(4), ext.random(4, rng)])  # rows 15 of part 1
    claims = _valued(parts, vectors, [(None, beyond), (1, last_rows)])
    assert all(not c.value.any() for c in claims)
    _check(pcs, parts, vectors, [(None, beyond), (1, last_rows), (0, ext.random(8, rng))])


@schemes
def test_evaluate_matches_the_reference(pcs):
    parts = Parts(9, (512, 300, 7))
    vectors = _vectors(parts, 10)
    rng = np.random.default_rng(10)
    _, data = pcs.commit_parts(parts, vectors)
    for poly in (0, 1, 2, None):
        point = ext.random(9 if poly is not None else 11, rng)
        assert np.array_equal(data.evaluate(poly, point), _value(parts, vectors, poly, point))


# ---- shapes


@schemes
@pytest.mark.parametrize("used", [(1,), (37,), (512,)], ids=["1", "37", "512"])
def test_a_single_part(pcs, used):
    parts = Parts(9, used)
    rng = np.random.default_rng(11)
    _check(pcs, parts, _vectors(parts, 11), [(0, ext.random(9, rng)), (None, ext.random(9, rng))])


@schemes
@pytest.mark.parametrize("count", [3, 5, 6])
def test_a_number_of_parts_that_is_not_a_power_of_two(pcs, count):
    parts = Parts(7, tuple(int(u) for u in np.random.default_rng(count).integers(1, 129, count)))
    rng = np.random.default_rng(12)
    points = [(s, ext.random(7, rng)) for s in range(count)]
    points += [(None, ext.random(7 + (count - 1).bit_length(), rng))]
    _check(pcs, parts, _vectors(parts, 12), points)


@schemes
def test_parts_whose_used_is_not_a_multiple_of_the_row_length(pcs):
    parts = Parts(10, (1000, 3, 1023, 513))
    rng = np.random.default_rng(13)
    com, _ = _check(pcs, parts, _vectors(parts, 13),
                    [(s, ext.random(10, rng)) for s in range(4)] + [(None, ext.random(12, rng))])
    if pcs.name == "ligero":
        c = pcs.decode_commitment(com)
        assert any(u % (1 << c.log_cols) for u in parts.used)


@schemes
def test_parts_of_zero_variables(pcs):
    parts = Parts(0, (1, 1, 1))
    rng = np.random.default_rng(14)
    _check(pcs, parts, _vectors(parts, 14),
           [(0, ext.zeros(0)), (2, ext.zeros(0)), (None, ext.random(2, rng))])


@schemes
@settings(max_examples=12)
@given(m=st.integers(0, 7), data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_random_small_shapes(pcs, m, data, seed):
    used = data.draw(st.lists(st.integers(1, 1 << m), min_size=1, max_size=6))
    parts = Parts(m, used)
    rng = np.random.default_rng(seed)
    n = parts.layout.total_vars
    picks = data.draw(st.lists(st.sampled_from([None, *range(parts.count)]), min_size=1,
                               max_size=4))
    shared = ext.random(m, rng)
    points = [(k, ext.random(n, rng) if k is None else (shared if i % 2 else ext.random(m, rng)))
              for i, k in enumerate(picks)]
    vectors = _vectors(parts, seed)
    com, proof = _check(pcs, parts, vectors, points)
    # the one-by-one path gives the same bytes
    pieces = [pcs.commit_part(parts, s, v) for s, v in enumerate(vectors)]
    com2, data2 = pcs.join(parts, pieces)
    assert com2.to_bytes() == com
    assert _open(pcs, data2, points) == proof


# ---- spilling and pickling


@schemes
def test_spilled_and_in_memory_parts_give_identical_commitments_and_proofs(pcs, tmp_path):
    parts = Parts(8, (256, 77, 129))
    vectors = _vectors(parts, 15)
    rng = np.random.default_rng(15)
    points = [(0, ext.random(8, rng)), (1, ext.random(8, rng)), (None, ext.random(10, rng))]
    com_mem, data_mem = pcs.commit_parts(parts, vectors)
    com_spill, data_spill = pcs.commit_parts(parts, vectors, spill=tmp_path)
    assert com_mem.to_bytes() == com_spill.to_bytes()
    assert _open(pcs, data_mem, points) == _open(pcs, data_spill, points)
    files = sorted(tmp_path.iterdir())
    assert len(files) == (parts.count if pcs.name == "ligero" else 0)
    assert all(f.suffix == ".npy" for f in files)
    data_spill.close()
    assert list(tmp_path.iterdir()) == []
    data_spill.close()  # idempotent
    with pytest.raises(ValueError, match="closed"):
        _open(pcs, data_spill, points)


@schemes
def test_spill_files_are_removed_when_the_parts_are_garbage_collected(pcs, tmp_path):
    parts = Parts(7, (128, 5))
    vectors = _vectors(parts, 16)
    _, data = pcs.commit_parts(parts, vectors, spill=tmp_path)
    piece = pcs.commit_part(parts, 1, vectors[1], spill=str(tmp_path))
    assert len(list(tmp_path.iterdir())) == (3 if pcs.name == "ligero" else 0)
    del data, piece
    # a spill file is written by a background thread, which holds its part until the write is
    # done: under load the last part can outlive the first collection by a moment
    deadline = time.monotonic() + 10.0
    gc.collect()
    while list(tmp_path.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.05)
        gc.collect()
    assert list(tmp_path.iterdir()) == []


@schemes
def test_part_data_is_a_context_manager(pcs, tmp_path):
    parts = Parts(6, (64, 2))
    vectors = _vectors(parts, 17)
    with pcs.commit_part(parts, 0, vectors[0], spill=tmp_path) as piece:
        assert not piece.closed
        assert np.array_equal(piece.vector, vectors[0])
    assert piece.closed
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match="piece 0 is closed"):
        pcs.join(parts, [piece, pcs.commit_part(parts, 1, vectors[1])])


@schemes
@pytest.mark.parametrize("spill", [False, True], ids=["in memory", "spilled"])
def test_pickled_parts_join_to_the_same_commitment(pcs, spill, tmp_path):
    parts = Parts(7, (128, 60, 1))
    vectors = _vectors(parts, 18)
    rng = np.random.default_rng(18)
    points = [(1, ext.random(7, rng)), (None, ext.random(9, rng))]
    directory = tmp_path if spill else None
    pieces = [pcs.commit_part(parts, s, v, spill=directory) for s, v in enumerate(vectors)]
    shipped = [pickle.loads(pickle.dumps(p)) for p in pieces]
    for p in pieces:  # the originals go away: the copies own what they need
        p.close()
    del pieces
    gc.collect()
    com, data = pcs.join(parts, shipped)
    com_ref, data_ref = pcs.commit_parts(parts, vectors)
    assert com.to_bytes() == com_ref.to_bytes()
    assert _open(pcs, data, points) == _open(pcs, data_ref, points)
    data.close()
    assert list(tmp_path.iterdir()) == []


@schemes
def test_a_failing_part_closes_the_parts_already_committed(pcs, tmp_path):
    parts = Parts(6, (64, 64, 64))
    vectors = _vectors(parts, 19)

    def make(s: int) -> np.ndarray:
        if s == 2:
            raise RuntimeError("the segment failed")
        return vectors[s]

    with pytest.raises(RuntimeError, match="the segment failed"):
        pcs.commit_parts(parts, make, spill=tmp_path)
    assert list(tmp_path.iterdir()) == []


# ---- malformed input to the prover


@schemes
def test_commit_part_rejects_bad_vectors_and_indices(pcs):
    parts = Parts(4, (16, 5))
    good = gl.random(5, np.random.default_rng(20))
    for index in (2, -1, True, 1.0):
        with pytest.raises(ValueError, match="the commitment has 2 parts"):
            pcs.commit_part(parts, index, good)
    for bad, message in ((good[:4], "a vector of 5 entries is required"),
                         (np.zeros(6, dtype=np.uint64), "a vector of 5 entries is required"),
                         (good.reshape(5, 1), "a vector of 5 entries is required"),
                         (np.array([gl.P, 0, 0, 0, 0], dtype=np.uint64), "not a canonical"),
                         (np.array([-1, 0, 0, 0, 0]), "negative entry")):
        with pytest.raises(FieldRangeError, match=message):
            pcs.commit_part(parts, 1, bad)
    with pytest.raises(ValueError, match="expected Parts"):
        pcs.commit_part((4, (16, 5)), 1, good)
    with pytest.raises(ValueError, match="3 vectors for 2 parts"):
        pcs.commit_parts(parts, [good, good, good])


@schemes
def test_join_rejects_pieces_that_do_not_fit(pcs):
    parts = Parts(5, (32, 9))
    vectors = _vectors(parts, 21)
    pieces = [pcs.commit_part(parts, s, v) for s, v in enumerate(vectors)]
    other = Parts(5, (32, 10))
    with pytest.raises(ValueError, match="1 pieces for 2 parts"):
        pcs.join(parts, pieces[:1])
    with pytest.raises(ValueError, match="piece 0 was committed as part 1"):
        pcs.join(parts, pieces[::-1])
    with pytest.raises(ValueError, match="piece 0 was committed as part 0 of Parts"):
        pcs.join(other, pieces)
    foreign = next(p for p in SCHEMES if p.name != pcs.name)
    with pytest.raises(ValueError, match="piece 1 is not a"):
        pcs.join(parts, [pieces[0], foreign.commit_part(parts, 1, vectors[1])])


@schemes
def test_open_rejects_bad_claims_on_parts(pcs):
    parts = Parts(4, (16, 5))
    _, data = pcs.commit_parts(parts, _vectors(parts, 22))
    rng = np.random.default_rng(22)
    for claim in (OpeningClaim(2, ext.random(4, rng)), OpeningClaim(0, ext.random(5, rng)),
                  OpeningClaim(None, ext.random(4, rng))):
        with pytest.raises(ValueError):
            pcs.open(data, [claim], transcript())


# ---- attacks every scheme rejects


def _honest(pcs, parts: Parts, seed: int):
    """A parts commitment, its proof and true claims on two parts and on ``F``."""
    vectors = _vectors(parts, seed)
    rng = np.random.default_rng(seed)
    n = parts.layout.total_vars
    points = [(0, ext.random(parts.num_vars, rng)), (parts.count - 1, ext.random(parts.num_vars, rng)),
              (None, ext.random(n, rng))]
    com, data = pcs.commit_parts(parts, vectors)
    proof = _open(pcs, data, points)
    return com, data, proof, _valued(parts, vectors, points), vectors


@schemes
def test_false_value_on_a_part_rejected(pcs):
    com, _, proof, claims, _ = _honest(pcs, Parts(7, (128, 50, 3)), 23)
    bad = list(claims)
    bad[1] = OpeningClaim(bad[1].poly, bad[1].point, ext.add(bad[1].value, ext.ones(())))
    with pytest.raises(VerificationError):
        _verify(pcs, com, bad, proof)


@schemes
def test_claim_moved_to_another_part_rejected(pcs):
    com, _, proof, claims, _ = _honest(pcs, Parts(7, (128, 50, 3)), 24)
    c = claims[0]
    with pytest.raises(VerificationError):
        _verify(pcs, com, [OpeningClaim(1, c.point, c.value), *claims[1:]], proof)


@schemes
def test_commitment_whose_used_differs_rejected(pcs):
    """The same bytes of data, another ``used``: claims about another vector."""
    parts = Parts(7, (128, 50, 3))
    com, _, proof, claims, vectors = _honest(pcs, parts, 25)
    for used in ((128, 51, 3), (128, 50, 2), (128, 128, 3)):
        other = dataclasses.replace(com, parts=Parts(7, used))
        if pcs.name == "ligero":
            other = dataclasses.replace(other, rows=sum(-(-u >> com.log_cols) for u in used))
        with pytest.raises(VerificationError):
            _verify(pcs, other.to_bytes(), claims, proof)


@schemes
def test_plain_commitment_and_parts_commitment_are_not_interchangeable(pcs):
    parts = Parts(7, (128, 128))
    com, _, proof, claims, vectors = _honest(pcs, parts, 26)
    plain_com, plain_data = pcs.commit(vectors)
    plain_proof = _open(pcs, plain_data, [(c.poly, c.point) for c in claims])
    assert plain_com.layout == com.layout
    with pytest.raises(REJECTED):
        _verify(pcs, plain_com, claims, proof)
    with pytest.raises(REJECTED):
        _verify(pcs, com, claims, plain_proof)
    _verify(pcs, plain_com, claims, plain_proof)


@schemes
@settings(max_examples=40)
@given(data=st.data())
def test_single_bit_flip_in_a_parts_commitment_rejected(pcs, data):
    com, proof, claims = _cached(pcs)
    raw = bytearray(com)
    bit = data.draw(st.integers(0, 8 * len(raw) - 1))
    raw[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(REJECTED):
        _verify(pcs, bytes(raw), claims, proof)


@schemes
@settings(max_examples=60)
@given(data=st.data())
def test_single_bit_flip_in_a_parts_proof_rejected(pcs, data):
    com, proof, claims = _cached(pcs)
    raw = bytearray(proof)
    bit = data.draw(st.integers(0, 8 * len(raw) - 1))
    raw[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(REJECTED):
        _verify(pcs, com, claims, bytes(raw))


@schemes
def test_truncated_parts_commitment_rejected(pcs):
    com, proof, claims = _cached(pcs)
    for cut in range(len(com)):
        with pytest.raises(ProofFormatError):
            _verify(pcs, com[:cut], claims, proof)


_CACHE: dict[int, tuple] = {}


def _cached(pcs):
    if id(pcs) not in _CACHE:
        com, _, proof, claims, _ = _honest(pcs, Parts(5, (32, 20, 7)), 27)
        _CACHE[id(pcs)] = (com.to_bytes(), proof, claims)
    return _CACHE[id(pcs)]
