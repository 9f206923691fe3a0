"""The quartic extension F_p4 = F_p2[Y]/(Y^2 - X): galois oracle, numpy, Numba kernels, Fp4."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import examples
from tests.field.strategies import P, elements
from zkinfer.errors import FieldRangeError, ProofFormatError
from zkinfer.field import _quartic_kernels as QK
from zkinfer.field import extension as ext
from zkinfer.field import quartic as q
from zkinfer.field.quartic import Fp4

quads = st.tuples(elements, elements, elements, elements)
quad_lists = st.lists(quads, min_size=1, max_size=24)


@pytest.fixture(scope="module")
def gf4(gf):
    """``galois.GF(p^4)`` with modulus ``y^4 - 7`` (``X = Y^2``; vectors highest degree first:
    ``[c3, c1, c2, c0]`` for ``c0 + c2 Y + c1 Y^2 + c3 Y^3``)."""
    import galois

    return galois.GF(P**4, irreducible_poly=galois.Poly([1, 0, 0, 0, P - 7], field=gf),
                     primitive_element=galois.Poly([1, 1], field=gf), verify=False)


def arr(xs):
    return np.array(xs, dtype=np.uint64).reshape(-1, 4)


def to_galois(gf4, xs):
    return gf4.Vector([[c3, c1, c2, c0] for c0, c1, c2, c3 in xs])


def from_galois(v):
    return [(int(c0), int(c1), int(c2), int(c3)) for c3, c1, c2, c0 in v.vector()]


def tuples(a):
    return [tuple(int(x) for x in v) for v in np.asarray(a).reshape(-1, 4)]


@settings(max_examples=examples(15, 60), deadline=None)
@given(quad_lists, quad_lists)
def test_against_galois(gf4, xs, ys):
    n = min(len(xs), len(ys))
    xs, ys = xs[:n], ys[:n]
    ga, gb = to_galois(gf4, xs), to_galois(gf4, ys)
    a, b = arr(xs), arr(ys)
    assert tuples(q.mul(a, b)) == from_galois(ga * gb)
    assert tuples(q.mul_unchecked(a, b)) == from_galois(ga * gb)
    assert tuples(q.add(a, b)) == from_galois(ga + gb)
    assert tuples(q.sub(a, b)) == from_galois(ga - gb)
    out = np.empty_like(a)
    QK.mul_vec(a, b, out)
    assert tuples(out) == from_galois(ga * gb)
    assert [tuple(Fp4(*x) * Fp4(*y)) for x, y in zip(xs, ys)] == from_galois(ga * gb)
    nz = [x for x in xs if any(x)]
    if nz:
        assert tuples(q.inv(arr(nz))) == from_galois(to_galois(gf4, nz) ** -1)
        assert [tuple(Fp4(*x).inverse()) for x in nz] == from_galois(to_galois(gf4, nz) ** -1)


@settings(max_examples=examples(20, 60))
@given(quads, st.integers(0, 2**70))
def test_pow_against_galois(gf4, x, e):
    assert tuples(q.pow(arr([x]), e)) == from_galois(to_galois(gf4, [x]) ** e)


@given(st.lists(st.tuples(elements, elements), min_size=1, max_size=8), quads)
def test_embeddings_are_homomorphic(xs, y):
    """F_p2 embeds as [c0, c1, 0, 0]: products of embedded elements are embedded products, and
    F_p2 * F_p4 is the Numba kernel's mixed product."""
    e = np.array(xs, dtype=np.uint64)
    emb = q.from_ext(e)
    assert np.array_equal(q.mul(emb, emb), q.from_ext(ext.mul(e, e)))
    assert np.array_equal(q.from_base(e[:, 0]), q.from_ext(ext.from_base(e[:, 0])))
    acc = np.zeros((len(xs), 4), dtype=np.uint64)
    QK.axpy_ext(acc, *[np.uint64(c) for c in y], e)
    assert np.array_equal(acc, q.mul(q.from_ext(e), arr([y] * len(xs))))


def test_nonresidue_checks():
    # 7 and -7 are non-squares of F_p: X^2 - 7 and Y^2 - X are irreducible
    assert pow(7, (P - 1) // 2, P) == P - 1
    assert pow(P - 7, (P - 1) // 2, P) == P - 1
    # Y^2 = X: Y = [0, 0, 1, 0]
    y = arr([(0, 0, 1, 0)])
    assert tuples(q.mul(y, y)) == [(0, 1, 0, 0)]
    assert tuples(q.pow(y, 4)) == [(7, 0, 0, 0)]


def _ref_fold(table, alpha):
    n = table.shape[0] // 2
    return q.add(table[:n], q.mul(np.broadcast_to(alpha, (n, 4)), q.sub(table[n:], table[:n])))


def test_table_kernels_match_numpy():
    rng = np.random.default_rng(4)
    m = 5
    f = q.random(1 << m, rng)
    base = q.random(1 << m, rng)[:, 0].copy()
    w = q.random(1 << m, rng)
    alpha = q.random((), rng)
    a = [np.uint64(c) for c in alpha]
    out = np.empty((1 << (m - 1), 4), dtype=np.uint64)
    QK.fold_quartic(f, *a, out)
    assert np.array_equal(out, _ref_fold(f, alpha))
    inplace = f.copy()
    QK.fold_quartic(inplace, *a, inplace[: 1 << (m - 1)])
    assert np.array_equal(inplace[: 1 << (m - 1)], out)
    QK.fold_base(base, *a, out)
    assert np.array_equal(out, _ref_fold(q.from_base(base), alpha))
    # round sums: h(t) = sum_i f_t[i] w_t[i] with f_2 = 2 f_1 - f_0
    half = 1 << (m - 1)
    for table in (f, q.from_base(base)):
        h = np.empty((3, 4), dtype=np.uint64)
        if table is f:
            QK.round_sums_quartic(f, w, h)
        else:
            QK.round_sums_base(base, w, h)
        f0, f1, w0, w1 = table[:half], table[half:], w[:half], w[half:]
        f2, w2 = q.sub(q.add(f1, f1), f0), q.sub(q.add(w1, w1), w0)
        want = np.stack([q.sum(q.mul(f0, w0)), q.sum(q.mul(f1, w1)), q.sum(q.mul(f2, w2))])
        assert np.array_equal(h, want)
    # eq table: eq(z, x) = prod (z_i x_i + (1 - z_i)(1 - x_i)), variable 1 the top bit
    z = q.random(m, rng)
    eq = np.empty((1 << m, 4), dtype=np.uint64)
    QK.eq_table(z, eq)
    for x in (0, 1, 13, (1 << m) - 1):
        want = q.ones(())
        for i in range(m):
            bit = (x >> (m - 1 - i)) & 1
            want = q.mul(want, z[i] if bit else q.sub(q.ones(()), z[i]))
        assert np.array_equal(eq[x], want)
    zb = base[:m].copy()
    eqb = np.empty(1 << m, dtype=np.uint64)
    QK.eq_table_base(zb, eqb)
    QK.eq_table(q.from_base(zb), eq)
    assert np.array_equal(q.from_base(eqb), eq)
    acc = w.copy()
    QK.axpy_quartic(acc, *a, f)
    assert np.array_equal(acc, q.add(w, q.mul(np.broadcast_to(alpha, f.shape), f)))


def test_bytes_and_errors():
    rng = np.random.default_rng(1)
    a = q.random(3, rng)
    assert np.array_equal(q.from_bytes(q.to_bytes(a)), a)
    with pytest.raises(ProofFormatError):
        q.from_bytes(b"\x00" * 31)
    with pytest.raises(FieldRangeError):
        q.as_quartic(np.zeros((2, 2), dtype=np.uint64))
    with pytest.raises(FieldRangeError):
        Fp4.from_array(np.array([P, 0, 0, 0], dtype=object))
    with pytest.raises(ZeroDivisionError):
        q.inv(q.zeros(1))
    with pytest.raises(ZeroDivisionError):
        Fp4().inverse()
    with pytest.raises(FieldRangeError):
        q.pow(a, -1)
    assert Fp4.from_array(np.array([3, 4], dtype=np.uint64)) == Fp4(3, 4, 0, 0)
    assert Fp4(5) - 7 == Fp4(P - 2)
    assert 2 * Fp4(1, 2, 3, 4) == Fp4(2, 4, 6, 8)


def test_fp4_pickle_and_copy_round_trip():
    import copy
    import pickle

    for x in (Fp4.ZERO, Fp4(1, 2, 3, P - 1)):
        for y in (pickle.loads(pickle.dumps(x)), copy.deepcopy(x), copy.copy(x)):
            assert y == x and type(y) is Fp4


@pytest.mark.parametrize("n", [1023, 1024, 1025, 5000])
def test_long_products_in_chunks_match_the_scalar_twins(n):
    """Arrays longer than one chunk of rows (1024 for F_p4, 4096 for F_p2) multiply as the
    Python-integer twins do, entries near p and 0 included, broadcasting one element too."""
    rng = np.random.default_rng(n)
    a, b = q.random(n, rng), q.random(n, rng)
    a[:7] = [[P - 1, P - 1, P - 1, P - 1], [0, 0, 0, 0], [1, 0, 0, 0], [0, P - 1, 0, 1],
             [P - 1, 0, P - 1, 0], [0, 0, 0, P - 1], [2, 3, P - 5, 7]]
    b[:7] = a[:7][::-1]
    want = [q.ref_mul(x, y) for x, y in zip(tuples(a), tuples(b))]
    assert tuples(q.mul_unchecked(a, b)) == want
    assert tuples(q.mul_unchecked(a, b[3][None])) == [q.ref_mul(x, tuples(b[3])[0])
                                                      for x in tuples(a)]
    e, f = np.ascontiguousarray(a[:, :2]), np.ascontiguousarray(b[:, :2])
    e2 = np.concatenate([e] * 2)  # past F_p2's chunk at n = 5000
    f2 = np.concatenate([f] * 2)
    got = [tuple(int(v) for v in r) for r in ext.mul_unchecked(e2, f2)]
    assert got == [ext_ref(x, y) for x, y in zip(e2.tolist(), f2.tolist())]


def ext_ref(x, y):
    return ((x[0] * y[0] + 7 * x[1] * y[1]) % P, (x[0] * y[1] + x[1] * y[0]) % P)
