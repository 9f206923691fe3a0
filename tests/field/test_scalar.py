"""The scalar type Fp2: agrees with the extension arrays and galois, conversions, contract."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import examples
from tests.field.strategies import P, elements, ext_elements
from zkinfer.errors import FieldRangeError
from zkinfer.field import extension as ext
from zkinfer.field.scalar import Fp2


def arr(x):
    return np.array(x, dtype=np.uint64)


def pair(a) -> tuple[int, int]:
    return tuple(map(int, a))


ints = st.one_of(st.integers(-(2**70), 2**70), elements)


@settings(max_examples=examples(200, 500))
@given(ext_elements, ext_elements)
def test_operators_match_the_extension_arrays(a, b):
    x, y = Fp2(*a), Fp2(*b)
    A, B = arr(a), arr(b)
    assert pair(x + y) == pair(ext.add(A, B))
    assert pair(x - y) == pair(ext.sub(A, B))
    assert pair(x * y) == pair(ext.mul(A, B))
    assert pair(-x) == pair(ext.neg(A))
    assert pair(x**5) == pair(ext.pow(A, 5))
    assert (x + y).to_array().tolist() == ext.add(A, B).tolist()
    if b != (0, 0):
        assert pair(y.inverse()) == pair(ext.inv(B))
        assert pair(x / y) == pair(ext.mul(A, ext.inv(B)))
        assert x / y * y == x
        assert y**-2 * y * y == 1


@settings(max_examples=examples(200, 1000))
@given(ext_elements, ints)
def test_ints_are_base_field_elements(a, k):
    x, c = Fp2(*a), Fp2(k)
    assert c == Fp2(k % P, 0) == k
    assert x + k == k + x == x + c
    assert x - k == x - c and k - x == c - x
    assert x * k == k * x == x * c
    assert pair(x * k) == pair(ext.mul_base(arr(a), k % P))
    if k % P:
        assert x / k == x / c
    if a != (0, 0):
        assert k / x == c / x
    assert x + np.uint64(k % P) == x + c
    assert x * np.int64(k % 2**62) == x * (k % 2**62)


@settings(max_examples=examples(60, 200))
@given(ext_elements, ext_elements)
def test_against_galois(gf2, a, b):
    ga, gb = gf2.Vector([a[1], a[0]]), gf2.Vector([b[1], b[0]])

    def same(x, g):
        c1, c0 = g.vector()
        return pair(x) == (int(c0), int(c1))

    x, y = Fp2(*a), Fp2(*b)
    assert same(x * y, ga * gb)
    assert same(x + y, ga + gb)
    assert same(x - y, ga - gb)
    if b != (0, 0):
        assert same(x / y, ga / gb)


@given(st.lists(ext_elements, max_size=8))
def test_vectors_and_sums(xs):
    a = arr(xs).reshape(-1, 2)
    vs = Fp2.vector(a)
    assert [pair(v) for v in vs] == [tuple(x) for x in xs]
    assert np.array_equal(Fp2.stack(vs), a)
    assert Fp2.stack(vs).dtype == np.uint64
    assert pair(sum(vs, Fp2.ZERO)) == pair(ext.sum(a))
    assert b"".join(v.to_bytes() for v in vs) == ext.to_bytes(a)


def test_constants_equality_and_truth():
    assert Fp2.X * Fp2.X == 7 and Fp2.ONE == 1 and not Fp2.ZERO and Fp2.X
    assert Fp2(-1) == P - 1 and Fp2(P) == 0 and Fp2(3, P + 1) == Fp2(3, 1)
    assert (Fp2(2, 5).c0, Fp2(2, 5).c1) == (2, 5)
    assert Fp2(1, 2) != Fp2(1, 3) and Fp2(1, 2) != 1 and Fp2(4) != 5
    assert len({Fp2(1, 2), Fp2(1, 2), Fp2(2, 1)}) == 2
    assert repr(Fp2(1, 2)) == "Fp2(1, 2)"
    assert Fp2.from_array(Fp2(5, 6).to_array()) == Fp2(5, 6)
    assert Fp2(5, 6).to_array().shape == (2,)


def test_contract_errors():
    with pytest.raises(ZeroDivisionError):
        Fp2.ZERO.inverse()
    with pytest.raises(ZeroDivisionError):
        Fp2(1) / 0
    with pytest.raises(ZeroDivisionError):
        Fp2.ZERO ** -1
    with pytest.raises(FieldRangeError):
        Fp2.from_array(arr([P, 0]))
    with pytest.raises(FieldRangeError):
        Fp2.from_array(arr([1, 2, 3]))
    with pytest.raises(FieldRangeError):
        Fp2.vector(arr([1, 2]))
    with pytest.raises(FieldRangeError):
        Fp2.vector(arr([[0, P]]))
    with pytest.raises(TypeError):
        Fp2(1) + arr([1, 0])  # noqa: B018
    with pytest.raises(TypeError):
        arr([1, 0]) * Fp2(1)  # noqa: B018
    with pytest.raises(TypeError):
        Fp2(1) + 0.5  # noqa: B018
    with pytest.raises(TypeError):
        Fp2(1) < Fp2(2)  # noqa: B015
    with pytest.raises(AttributeError):
        Fp2(1).c0 = 2  # type: ignore[misc]


def test_pickle_and_copy_round_trip():
    # elements travel to a cluster's workers inside the openings' claim terms
    import copy
    import pickle

    for x in (Fp2.ZERO, Fp2(P - 1, 5), Fp2.X):
        for y in (pickle.loads(pickle.dumps(x)), copy.deepcopy(x), copy.copy(x)):
            assert y == x and type(y) is Fp2
