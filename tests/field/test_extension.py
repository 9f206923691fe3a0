"""The extension F_p2 = F_p[X]/(X^2 - 7): laws, twins, galois, bytes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import examples
from tests.field import kernels as TK
from tests.field.strategies import P, ext_elements
from zkinfer.errors import FieldRangeError, ProofFormatError
from zkinfer.field import extension as ext
from zkinfer.field import reference as ref


def arr(xs):
    return np.array(xs, dtype=np.uint64).reshape(-1, 2)


def to_galois(gf2, xs):
    return gf2.Vector([[c1, c0] for c0, c1 in xs])


def from_galois(v):
    return [(int(c0), int(c1)) for c1, c0 in v.vector()]


ext_lists = st.lists(ext_elements, min_size=1, max_size=32)


@settings(max_examples=examples(200, 500))
@given(ext_elements, ext_elements, ext_elements)
def test_laws(a, b, c):
    A, B, C = arr(a), arr(b), arr(c)
    assert np.array_equal(ext.mul(A, B), ext.mul(B, A))
    assert np.array_equal(ext.mul(ext.mul(A, B), C), ext.mul(A, ext.mul(B, C)))
    assert np.array_equal(ext.mul(A, ext.add(B, C)), ext.add(ext.mul(A, B), ext.mul(A, C)))
    assert np.array_equal(ext.add(A, ext.neg(A)), ext.zeros(1))
    if a != (0, 0):
        assert np.array_equal(ext.mul(A, ext.inv(A)), ext.ones(1))


@given(ext_lists, ext_lists)
def test_numpy_and_kernel_match_twin(xs, ys):
    n = min(len(xs), len(ys))
    a, b = arr(xs[:n]), arr(ys[:n])
    want = [ref.ext_mul(x, y) for x, y in zip(xs[:n], ys[:n])]
    assert [tuple(map(int, v)) for v in ext.mul(a, b)] == want
    out = np.empty_like(a)
    TK.ext_mul_vec(a, b, out)
    assert [tuple(map(int, v)) for v in out] == want
    assert [tuple(map(int, v)) for v in ext.sub(a, b)] == [ref.ext_sub(x, y) for x, y in zip(xs, ys)]


@given(ext_lists)
def test_inverse_kernel_and_twin(xs):
    a = arr(xs)
    out = np.empty_like(a)
    TK.ext_batch_inv(a, out)
    for x, y in zip(xs, out):
        want = (0, 0) if x == (0, 0) else ref.ext_inv(x)
        assert tuple(map(int, y)) == want
    nz = [x for x in xs if x != (0, 0)]
    if nz:
        assert [tuple(map(int, v)) for v in ext.inv(arr(nz))] == [ref.ext_inv(x) for x in nz]


@settings(max_examples=examples(60, 200))
@given(ext_lists, ext_lists)
def test_against_galois(gf2, xs, ys):
    n = min(len(xs), len(ys))
    ga, gb = to_galois(gf2, xs[:n]), to_galois(gf2, ys[:n])
    a, b = arr(xs[:n]), arr(ys[:n])
    assert [tuple(map(int, v)) for v in ext.mul(a, b)] == from_galois(ga * gb)
    assert [tuple(map(int, v)) for v in ext.add(a, b)] == from_galois(ga + gb)
    nz = [x for x in xs if x != (0, 0)]
    if nz:
        assert [tuple(map(int, v)) for v in ext.inv(arr(nz))] == from_galois(to_galois(gf2, nz) ** -1)


@settings(max_examples=examples(60, 200))
@given(ext_elements, st.integers(0, 2**130))
def test_pow(a, e):
    assert tuple(map(int, ext.pow(arr(a), e)[0])) == ref.ext_power(a, e)


def test_x_squared_is_seven():
    x = arr((0, 1))
    assert [int(v) for v in ext.mul(x, x)[0]] == [7, 0]


def test_inverse_of_zero_raises():
    with pytest.raises(ZeroDivisionError):
        ext.inv(ext.zeros(2))


def test_shape_and_range_errors():
    with pytest.raises(FieldRangeError):
        ext.mul(np.zeros(3, dtype=np.uint64), np.zeros(3, dtype=np.uint64))
    with pytest.raises(FieldRangeError):
        ext.add([[P, 0]], [[1, 0]])


def test_mul_base_and_sum():
    rng = np.random.default_rng(5)
    a = ext.random(100, rng)
    b = ext.random(100, rng)
    s = ext.sum(ext.mul(a, b), axis=0)
    want = (0, 0)
    for x, y in zip(a, b):
        want = ref.ext_add(want, ref.ext_mul(tuple(map(int, x)), tuple(map(int, y))))
    assert tuple(map(int, s)) == want
    assert tuple(map(int, ext.inner(a, b))) == want
    c = rng.integers(0, 2**32, 100).astype(np.uint64)
    assert np.array_equal(ext.mul_base(a, c), ext.mul(a, ext.from_base(c)))


@given(ext_lists)
def test_bytes_roundtrip(xs):
    a = arr(xs)
    data = ext.to_bytes(a)
    assert len(data) == 16 * len(xs)
    assert np.array_equal(ext.from_bytes(data, len(xs)), a)


def test_from_bytes_strict():
    with pytest.raises(ProofFormatError):
        ext.from_bytes(b"\x00" * 24)
    with pytest.raises(ProofFormatError):
        ext.from_bytes(b"\x00" * 8 + P.to_bytes(8, "little"))
    with pytest.raises(ProofFormatError):
        ext.from_bytes(b"\x00" * 32, count=1)
