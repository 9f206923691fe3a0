"""Ligero building blocks against pure-Python twins: row code, row combinations, exact
matrix products, Merkle multi-proofs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zkinfer.commit.ligero import code, linalg, merkle, schedule
from zkinfer.commit.ligero import prover as ligero_prover
from zkinfer.field import extension as ext
from zkinfer.field import goldilocks as gl
from zkinfer.poly import multilinear

from ..field.strategies import EDGES

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


def _matrix(rng: np.random.Generator, shape: tuple[int, ...], edges: bool) -> np.ndarray:
    m = gl.random(shape, rng)
    if edges:
        flat = m.reshape(-1)
        picks = rng.integers(0, len(EDGES), size=flat.size)
        mask = rng.random(flat.size) < 0.3
        flat[mask] = np.array(EDGES, dtype=np.uint64)[picks[mask]]
    return m


@settings(max_examples=25)
@given(log_c=st.integers(0, 5), log_b=st.integers(1, 3), rows=st.integers(1, 11),
       seed=st.integers(0, 2**32 - 1), edges=st.booleans())
def test_encode_matches_reference(log_c, log_b, rows, seed, edges):
    rng = np.random.default_rng(seed)
    m = _matrix(rng, (rows, 1 << log_c), edges)
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


@settings(max_examples=20)
@given(rows=st.integers(1, 9), log_c=st.integers(0, 10), nv=st.integers(1, 3),
       seed=st.integers(0, 2**32 - 1))
def test_combine_rows_matches_twin(rows, log_c, nv, seed):
    rng = np.random.default_rng(seed)
    m = _matrix(rng, (rows, 1 << log_c), edges=True)
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
@given(m=st.integers(1, 6), k=st.integers(1, 70), n=st.integers(1, 6),
       seed=st.integers(0, 2**32 - 1))
def test_exact_matmul_matches_python_ints(m, k, n, seed):
    rng = np.random.default_rng(seed)
    a = _matrix(rng, (m, k), edges=True)
    b = _matrix(rng, (k, n), edges=True)
    expected = [[sum(int(a[i, x]) * int(b[x, j]) for x in range(k)) % P for j in range(n)]
                for i in range(m)]
    assert linalg.matmul(a, b).tolist() == expected


@pytest.mark.parametrize("k", [1, 2**10, 2**15, 2**17])
def test_exact_matmul_worst_case_inner_dimension(k):
    a = np.full((2, k), P - 1, dtype=np.uint64)
    b = np.full((k, 1), P - 1, dtype=np.uint64)
    # (p-1)^2 = 1 (mod p): the sum is k mod p
    assert linalg.matmul(a, b).tolist() == [[k % P], [k % P]]
    ba, bb = linalg.limb_widths(k)
    # centered limbs: |sum of k products| <= k 2^(ba-1) 2^(bb-1) <= 2^53
    assert ba + bb + (k - 1).bit_length() <= 55


@settings(max_examples=15)
@given(batch=st.integers(1, 3), m=st.integers(1, 5), k=st.integers(1, 40), n=st.integers(1, 4),
       seed=st.integers(0, 2**32 - 1))
def test_batched_exact_matmul_matches_python_ints(batch, m, k, n, seed):
    rng = np.random.default_rng(seed)
    a = _matrix(rng, (batch, m, k), edges=True)
    b = _matrix(rng, (batch, k, n), edges=True)
    got = linalg.matmul(a, b)
    assert got.shape == (batch, m, n)
    for g in range(batch):
        assert got[g].tolist() == [[sum(int(a[g, i, x]) * int(b[g, x, j]) for x in range(k)) % P
                                    for j in range(n)] for i in range(m)]


@pytest.mark.parametrize("k", [1, 2, 3, 2**9, 2**11, 2**11 + 1, 2**13, 2**16])
def test_exact_matmul_centered_limb_extremes(k):
    """Zero entries put every centered limb at ``-2^(b-1)``: the limb products then add up to
    exactly ``k 2^(ba+bb-2)`` (``2^53`` at the largest ``k`` of a width pair)."""
    ba, bb = linalg.limb_widths(k)
    assert ba + bb + (k - 1).bit_length() <= 55
    values = [0, P - 1, 1 << 63, (1 << 32) - 1, ((1 << ba) - 1) << ba, ((1 << bb) - 1) << bb]
    for x in values:
        for y in values:
            a = np.full((2, k), x % P, dtype=np.uint64)
            b = np.full((k, 3), y % P, dtype=np.uint64)
            assert linalg.matmul(a, b).tolist() == [[k * (x % P) * (y % P) % P] * 3] * 2


def test_split_limbs_is_centered_and_exact():
    rng = np.random.default_rng(3)
    x = np.concatenate([gl.random(50, rng), np.array([0, 1, P - 1, 1 << 63], dtype=np.uint64)])
    for bits in (8, 11, 22, 23, 32):
        limbs = linalg.split_limbs(x, bits, axis=1 if bits % 2 else 0)
        limbs = limbs if bits % 2 == 0 else limbs.T
        half = 1 << (bits - 1)
        assert limbs.shape == (linalg.limb_count(bits), x.shape[0])
        assert (limbs >= -half).all() and (limbs < half).all()
        back = [sum((int(limbs[i, j]) + half) << (bits * i) for i in range(limbs.shape[0]))
                for j in range(x.shape[0])]
        assert back == [int(v) for v in x]


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
    import hashlib

    rng = np.random.default_rng(1)
    cols = gl.random((256, 1024), rng)
    one = merkle.hash_columns(cols, threads=1)
    many = merkle.hash_columns(cols, threads=2)
    assert np.array_equal(one, many)
    assert one[3].tobytes() == hashlib.sha256(b"\x00" + gl.to_bytes(cols[3])).digest()
    with pytest.raises(ValueError):
        merkle.build(one[:3])
