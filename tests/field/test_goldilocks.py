"""Goldilocks base field: laws, numpy == Numba == Python twin == galois, encodings."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import examples
from tests.field import kernels as TK
from tests.field.strategies import EDGES, P, elements, vectors
from zkinfer.errors import FieldRangeError, ProofFormatError
from zkinfer.field import _kernels as K
from zkinfer.field import goldilocks as gl
from zkinfer.field import reference as ref


def u64(xs):
    return np.array(xs, dtype=np.uint64)


def test_modulus_and_constants():
    assert gl.P == P == int(K.P)
    assert (P - 1) % 2**32 == 0
    w = gl.root_of_unity(32)
    assert pow(w, 2**32, P) == 1 and pow(w, 2**31, P) != 1
    with pytest.raises(FieldRangeError):
        gl.root_of_unity(33)


@settings(max_examples=examples(200, 500))
@given(elements, elements, elements)
def test_field_laws(a, b, c):
    A, B, C = u64([a]), u64([b]), u64([c])
    assert gl.add(A, B) == gl.add(B, A)
    assert gl.mul(A, B) == gl.mul(B, A)
    assert gl.mul(gl.mul(A, B), C) == gl.mul(A, gl.mul(B, C))
    assert gl.mul(A, gl.add(B, C)) == gl.add(gl.mul(A, B), gl.mul(A, C))
    assert gl.add(A, gl.neg(A)) == 0
    assert gl.sub(A, B) == gl.add(A, gl.neg(B))
    if a:
        assert gl.mul(A, gl.inv(A)) == 1


@given(vectors(), vectors())
def test_numpy_matches_python_twin(xs, ys):
    n = min(len(xs), len(ys))
    a, b = u64(xs[:n]), u64(ys[:n])
    for name, twin in [("add", ref.add), ("sub", ref.sub), ("mul", ref.mul)]:
        got = getattr(gl, name)(a, b)
        assert [int(v) for v in got] == [twin(x, y) for x, y in zip(xs[:n], ys[:n])], name
    assert [int(v) for v in gl.neg(a)] == [ref.neg(x) for x in xs[:n]]


@given(vectors(), vectors(), st.integers(0, 2**70))
def test_kernels_match_python_twin(xs, ys, e):
    n = min(len(xs), len(ys))
    a, b = u64(xs[:n]), u64(ys[:n])
    out = np.empty(n, dtype=np.uint64)
    for kernel, twin in [(TK.add_vec, ref.add), (TK.sub_vec, ref.sub), (K.mul_vec, ref.mul)]:
        kernel(a, b, out)
        assert [int(v) for v in out] == [twin(x, y) for x, y in zip(xs[:n], ys[:n])]
    TK.neg_vec(a, out)
    assert [int(v) for v in out] == [ref.neg(x) for x in xs[:n]]
    e64 = e % 2**64
    TK.pow_vec(a, np.uint64(e64), out)
    assert [int(v) for v in out] == [ref.power(x, e64) for x in xs[:n]]
    assert [int(v) for v in gl.pow(a, e)] == [ref.power(x, e) for x in xs[:n]]


@given(vectors(max_size=40))
def test_batch_inverse_kernel(xs):
    a = u64(xs)
    out = np.empty_like(a)
    K.batch_inv(a, out)
    for x, y in zip(xs, out):
        assert int(y) == (0 if x == 0 else ref.inv(x))


def test_inverse_of_zero_raises():
    with pytest.raises(ZeroDivisionError):
        gl.inv([1, 0])
    with pytest.raises(ZeroDivisionError):
        ref.inv(0)


@settings(max_examples=examples(60, 200))
@given(vectors(), vectors())
def test_against_galois(gf, xs, ys):
    n = min(len(xs), len(ys))
    a, b = u64(xs[:n]), u64(ys[:n])
    ga, gb = gf(xs[:n]), gf(ys[:n])
    assert np.array_equal(gl.mul(a, b), np.array(ga * gb, dtype=np.uint64))
    assert np.array_equal(gl.add(a, b), np.array(ga + gb, dtype=np.uint64))
    assert np.array_equal(gl.sub(a, b), np.array(ga - gb, dtype=np.uint64))
    nz = [x for x in xs if x]
    if nz:
        assert np.array_equal(gl.inv(nz), np.array(gf(nz) ** -1, dtype=np.uint64))


def test_sum_and_inner_exact(gf):
    rng = np.random.default_rng(3)
    a = gl.random((5, 1000), rng)
    b = gl.random((5, 1000), rng)
    want = [int(np.sum(gf(list(map(int, a[i]))) * gf(list(map(int, b[i]))))) for i in range(5)]
    assert [int(v) for v in gl.inner(a, b, axis=-1)] == want
    edge = u64([P - 1] * 4096)
    assert int(gl.sum(edge)) == (4096 * (P - 1)) % P


def test_random_is_canonical_and_seeded():
    a = gl.random(10_000, np.random.default_rng(1))
    assert a.dtype == np.uint64 and bool((a < np.uint64(P)).all())
    assert np.array_equal(a, gl.random(10_000, np.random.default_rng(1)))
    assert not np.array_equal(a, gl.random(10_000, np.random.default_rng(2)))


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.int64])
def test_signed_roundtrip_all_widths(dtype):
    info = np.iinfo(dtype)
    x = np.array([info.min, -1, 0, 1, info.max], dtype=dtype)
    if dtype == np.int64:
        x = np.array([-(P // 2), -1, 0, 1, P // 2], dtype=np.int64)
    enc = gl.encode_signed(x)
    assert [int(v) for v in enc] == [int(v) % P for v in x]
    assert np.array_equal(gl.decode_signed(enc), x.astype(np.int64))


@given(st.lists(st.integers(-(2**31), 2**31 - 1), min_size=1, max_size=50))
def test_signed_roundtrip_hypothesis(xs):
    x = np.array(xs, dtype=np.int64)
    assert np.array_equal(gl.decode_signed(gl.encode_signed(x, bits=32), bits=32), x)


def test_signed_range_errors():
    with pytest.raises(FieldRangeError):
        gl.encode_signed(np.array([128]), bits=8)
    with pytest.raises(FieldRangeError):
        gl.encode_signed(np.array([-129]), bits=8)
    gl.encode_signed(np.array([-128, 127]), bits=8)
    with pytest.raises(FieldRangeError):
        gl.encode_signed(np.array([2**63 - 1], dtype=np.int64))  # beyond (p-1)/2
    with pytest.raises(FieldRangeError):
        gl.encode_signed(np.array([1.5]))
    with pytest.raises(FieldRangeError):
        gl.decode_signed(gl.encode_signed(np.array([300])), bits=8)
    with pytest.raises(FieldRangeError):
        gl.decode_signed(gl.encode_signed(np.array([-129])), bits=8)


def test_non_canonical_inputs_rejected():
    with pytest.raises(FieldRangeError):
        gl.mul([P], [1])
    with pytest.raises(FieldRangeError):
        gl.add([-1], [1])
    with pytest.raises(FieldRangeError):
        gl.as_field([0.5])
    assert int(gl.as_field([P - 1])[0]) == P - 1
    assert int(gl.as_field([2**64 - 2**33])[0]) == 2**64 - 2**33  # large Python ints work


@given(vectors(min_size=0))
def test_bytes_roundtrip(xs):
    a = u64(xs)
    data = gl.to_bytes(a)
    assert len(data) == 8 * len(xs)
    assert data == b"".join(x.to_bytes(8, "little") for x in xs)
    assert np.array_equal(gl.from_bytes(data, len(xs)), a)


@pytest.mark.parametrize("bad", [P, P + 1, 2**64 - 1])
def test_from_bytes_rejects_non_canonical(bad):
    with pytest.raises(ProofFormatError):
        gl.from_bytes(bad.to_bytes(8, "little"))


def test_from_bytes_rejects_wrong_lengths():
    with pytest.raises(ProofFormatError):
        gl.from_bytes(b"\x00" * 7)
    with pytest.raises(ProofFormatError):
        gl.from_bytes(b"\x00" * 16, count=1)
    with pytest.raises(ProofFormatError):
        gl.from_bytes("not bytes")  # type: ignore[arg-type]


def test_edges_mul_against_python():
    for a in EDGES:
        for b in EDGES:
            assert int(gl.mul([a], [b])[0]) == a * b % P
            out = np.empty(1, dtype=np.uint64)
            K.mul_vec(u64([a]), u64([b]), out)
            assert int(out[0]) == a * b % P
