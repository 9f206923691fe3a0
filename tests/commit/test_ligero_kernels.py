"""Ligero building blocks against pure-Python twins: row code, row combinations, Merkle
multi-proofs (the exact matrix products: tests/field/test_blas.py)."""

from __future__ import annotations

import hashlib
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zkinfer.commit.ligero import code, merkle, schedule
from zkinfer.commit.ligero import prover as ligero_prover
from zkinfer.field import extension as ext
from zkinfer.field import goldilocks as gl
from zkinfer.poly import multilinear

from ..field.strategies import matrix as _matrix

P = gl.P


def _bitrev(x: int, bits: int) -> int:
    return int(format(x, f"0{bits}b")[::-1], 2) if bits else 0


def _enc_reference(row: list[int], log_blowup: int) -> list[int]:
    """Enc(m)[j] = m(w^bitrev_L(j)) on Python ints."""
    c = len(row)
    log_len = (c.bit_length() - 1) + log_blowup
    w = gl.root_of_unity(log_len)
    out = []
    for j in range(1 << log_len):
        x = pow(w, _bitrev(j, log_len), P)
        out.append(sum(m * pow(x, i, P) for i, m in enumerate(row)) % P)
    return out


@settings(max_examples=25)
@given(log_c=st.integers(0, 5), log_b=st.integers(1, 3), rows=st.integers(1, 11),
       seed=st.integers(0, 2**32 - 1), edges=st.booleans(), zero_rows=st.booleans())
def test_encode_matches_reference(log_c, log_b, rows, seed, edges, zero_rows):
    rng = np.random.default_rng(seed)
    m = _matrix(rng, (rows, 1 << log_c), edges)
    if zero_rows:  # the kernel skips all-zero rows: mix them with rows zero but for one entry
        m[::2] = 0
        m[1::4, :-1] = 0
    encoded = ligero_prover.encode(m, log_b)
    assert encoded.shape == ((1 << log_c) << log_b, rows)
    for r in range(rows):
        assert encoded[:, r].tolist() == _enc_reference(m[r].tolist(), log_b)


@settings(max_examples=15)
@given(log_c=st.integers(0, 11), log_b=st.integers(1, 3), seed=st.integers(0, 2**32 - 1))
def test_verifier_evaluation_matches_prover_encoding(log_c, log_b, seed):
    rng = np.random.default_rng(seed)
    m = _matrix(rng, (3, 1 << log_c), edges=True)
    encoded = ligero_prover.encode(m, log_b)
    positions = rng.integers(0, encoded.shape[0], size=37)
    assert np.array_equal(code.evaluate_at(m, positions, log_b), encoded[positions].T)


@pytest.mark.parametrize("log_c,log_b", [(0, 1), (3, 2), (6, 1), (9, 3), (12, 1)])
def test_verifier_evaluation_any_split(monkeypatch, log_c, log_b):
    """Every split ``S`` of :func:`code.evaluate_at` gives the codeword (``S = 1`` .. ``C``)."""
    rng = np.random.default_rng(log_c)
    m = _matrix(rng, (4, 1 << log_c), edges=True)
    encoded = ligero_prover.encode(m, log_b)
    positions = np.sort(rng.choice(encoded.shape[0], size=min(41, encoded.shape[0]),
                                   replace=False))
    for log_s in range(log_c + 1):
        monkeypatch.setattr(code, "_split_size", lambda *_, s=log_s: s)
        assert np.array_equal(code.evaluate_at(m, positions, log_b), encoded[positions].T)


@pytest.mark.parametrize("m", range(0, 11))
def test_eq_tables_match_multilinear(m):
    rng = np.random.default_rng(m)
    points = ext.random((3, m), rng)
    tables = schedule.eq_tables(points)
    assert tables.shape == (3, 1 << m, 2)
    high, low = schedule.eq_halves(points)
    assert high.shape == (3, 1 << (m - m // 2), 2) and low.shape == (3, 1 << (m // 2), 2)
    for k in range(3):
        assert np.array_equal(tables[k], multilinear.eq_table(points[k]))
        assert np.array_equal(high[k], multilinear.eq_table(points[k, : m - m // 2]))
        assert np.array_equal(low[k], multilinear.eq_table(points[k, m - m // 2 :]))


def test_power_table_and_bitrev():
    table = code.power_table(5)
    w = gl.root_of_unity(5)
    assert table.tolist() == [pow(w, i, P) for i in range(32)]
    assert code.bitrev(np.arange(8), 3).tolist() == [0, 4, 2, 6, 1, 5, 3, 7]


@pytest.mark.parametrize("log_len", [0, 1, 2, 7, 12])
def test_powers_at_are_the_power_tables_entries(log_len):
    table = code.power_table(log_len)
    exps = np.random.default_rng(log_len).integers(0, 1 << log_len, size=(3, 50))
    assert np.array_equal(code.powers_at(log_len, exps), table[exps])
    assert np.array_equal(code.powers_at(log_len, np.arange(1 << log_len)), table)


@settings(max_examples=30)
@given(rows=st.integers(1, 9), log_c=st.integers(0, 10), nv=st.integers(1, 3),
       zeros=st.sampled_from(["none", "odd rows", "first block", "a run"]),
       seed=st.integers(0, 2**32 - 1))
def test_combine_rows_matches_twin(rows, log_c, nv, zeros, seed):
    # the kernel skips the zero parts of rows by column blocks of 512
    rng = np.random.default_rng(seed)
    m = _matrix(rng, (rows, 1 << log_c), edges=True)
    if zeros == "odd rows":
        m[1::2] = 0
    elif zeros == "first block":
        m[:, :512] = 0
    elif zeros == "a run":
        m.reshape(-1)[rows * (1 << log_c) // 3: rows * (1 << log_c) * 2 // 3 + 1] = 0
    coeffs = _matrix(rng, (nv, rows, 2), edges=True)
    out = np.empty((nv, 1 << log_c, 2), dtype=np.uint64)
    ligero_prover.K.combine_rows(m, coeffs, out)
    for v in range(nv):
        for comp in range(2):
            expected = [sum(int(coeffs[v, r, comp]) * int(m[r, i]) for r in range(rows)) % P
                        for i in range(1 << log_c)]
            assert out[v, :, comp].tolist() == expected


@settings(max_examples=20)
@given(rows=st.integers(1, 9), log_c=st.integers(0, 8), seed=st.integers(0, 2**32 - 1))
def test_rows_times_ext_matches_twin(rows, log_c, seed):
    rng = np.random.default_rng(seed)
    m = _matrix(rng, (rows, 1 << log_c), edges=True)
    vecs = _matrix(rng, (2, 1 << log_c, 2), edges=True)
    out = np.empty((2, rows, 2), dtype=np.uint64)
    ligero_prover.K.rows_times_ext(m, vecs, out)
    for v in range(2):
        for comp in range(2):
            expected = [sum(int(vecs[v, i, comp]) * int(m[r, i]) for i in range(1 << log_c)) % P
                        for r in range(rows)]
            assert out[v, :, comp].tolist() == expected


@settings(max_examples=30)
@given(depth=st.integers(0, 9), data=st.data())
def test_merkle_multiproof_round_trip(depth, data):
    rng = np.random.default_rng(depth)
    cols = gl.random((1 << depth, 3), rng)
    levels = merkle.build(merkle.hash_columns(cols))
    idx = sorted(set(data.draw(st.lists(st.integers(0, (1 << depth) - 1), min_size=1,
                                        max_size=20))))
    siblings = merkle.open_siblings(levels, idx)
    leaves = merkle.hash_columns(cols[idx])
    root = levels[-1][0].tobytes()
    assert merkle.root_from_multiproof(depth, idx, leaves, siblings) == root
    if siblings:
        assert merkle.root_from_multiproof(depth, idx, leaves, siblings[:-1]) is None
        bad = list(siblings)
        bad[0] = bytes(32)
        assert merkle.root_from_multiproof(depth, idx, leaves, bad) != root


def test_merkle_leaves_are_domain_separated_and_threading_agrees():
    rng = np.random.default_rng(1)
    # 16 KB columns: two threads split them (smaller columns are hashed by one thread)
    cols = gl.random((201, merkle._THREADED_ROW_BYTES // 8), rng)
    one = merkle.hash_columns(cols, threads=1)
    many = merkle.hash_columns(cols, threads=2)
    assert np.array_equal(one, many)
    for j in (0, 3, 100, 200):
        assert one[j].tobytes() == hashlib.sha256(b"\x00" + gl.to_bytes(cols[j])).digest()
    small = cols[:, :5]
    assert np.array_equal(merkle.hash_columns(small, threads=2), merkle.hash_columns(small, 1))
    assert merkle.hash_columns(small)[7].tobytes() == hashlib.sha256(
        b"\x00" + gl.to_bytes(small[7])).digest()
    with pytest.raises(ValueError):
        merkle.build(one[:3])


def _sha256_module():
    """The batched hasher; CI's machines have it (hashlib's OpenSSL), elsewhere it may not."""
    from zkinfer.commit.ligero import _sha256

    if not _sha256.available():
        if os.environ.get("CI") == "true":
            pytest.fail("the batched SHA-256 (OpenSSL through Numba) is unavailable in CI")
        pytest.skip("no libcrypto with SHA256_Init/Update/Final in this process")
    return _sha256


@settings(max_examples=40, deadline=None)
@given(count=st.integers(0, 70), width=st.integers(0, 300), prefix=st.integers(0, 255),
       threads=st.sampled_from([1, 2]), seed=st.integers(0, 2**32 - 1))
def test_batched_sha256_equals_hashlib(count, width, prefix, threads, seed):
    sha = _sha256_module()
    rows = np.random.default_rng(seed).integers(0, 256, size=(count, width), dtype=np.uint8)
    got = sha.hash_rows(rows, bytes([prefix]), threads)
    assert got.shape == (count, 32) and got.dtype == np.uint8
    for j in range(count):
        assert got[j].tobytes() == hashlib.sha256(bytes([prefix]) + rows[j].tobytes()).digest()


def test_merkle_batched_path_equals_hashlib_path(monkeypatch):
    """From BATCHED_FROM_ROWS rows hash_rows takes the batched path: the same leaves and tree as
    hashlib's, for uint64 columns (their little-endian bytes) and the parts' stacked digests."""
    sha = _sha256_module()
    calls = []
    real = sha.hash_rows
    monkeypatch.setattr(sha, "hash_rows", lambda *a: calls.append(a[0].shape) or real(*a))
    rng = np.random.default_rng(5)
    cols = gl.random((merkle.BATCHED_FROM_ROWS * 2, 11), rng)
    fast_leaves = merkle.hash_columns(cols)
    fast_levels = merkle.build(fast_leaves)
    fast_parts = merkle.combine_part_leaves([fast_leaves, fast_leaves[::-1].copy()])
    assert calls[0] == cols.shape  # the leaves took the batched path
    monkeypatch.setattr(merkle, "_BATCHED", [None])  # hashlib only
    slow_leaves = merkle.hash_columns(cols)
    assert np.array_equal(fast_leaves, slow_leaves)
    assert all(np.array_equal(a, b) for a, b in zip(fast_levels, merkle.build(slow_leaves)))
    assert np.array_equal(fast_parts, merkle.combine_part_leaves([slow_leaves, slow_leaves[::-1]]))
    assert fast_leaves[9].tobytes() == hashlib.sha256(b"\x00" + gl.to_bytes(cols[9])).digest()


def test_batched_sha256_rejects_a_long_prefix():
    sha = _sha256_module()
    with pytest.raises(ValueError, match="one-byte"):
        sha.hash_rows(np.zeros((2, 3), np.uint8), b"\x00\x01", 1)
