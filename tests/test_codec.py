"""The strict binary codec: round trips, canonical forms, bounds before allocation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from zkinfer.codec import Reader, Writer
from zkinfer.errors import ProofFormatError
from zkinfer.field import goldilocks as gl

from .field.strategies import elements

P = gl.P


def _sample() -> bytes:
    w = Writer()
    w.header(b"TEST", 3)
    w.u8(7)
    w.u16(65535)
    w.u32(2**32 - 1)
    w.u64(2**64 - 1)
    w.boolean(True)
    w.bytes(b"hello")
    w.u32s([1, 2, 3])
    w.base_vec(np.array([0, 1, P - 1], dtype=np.uint64))
    w.ext_vec(np.array([[1, 2], [P - 1, 0]], dtype=np.uint64))
    w.raw(b"\xaa" * 4)
    return w.finish()


def _read_sample(data: bytes) -> tuple:
    r = Reader(data, "sample")
    out = (
        r.header(b"TEST", (1, 3)),
        r.u8(),
        r.u16(),
        r.u32(),
        r.u64(),
        r.boolean(),
        r.bytes(16),
        r.u32s(8),
        r.base_vec(8).tolist(),
        r.ext_vec(8).tolist(),
        r.raw(4),
    )
    r.finish()
    return out


def test_round_trip():
    assert _read_sample(_sample()) == (
        3, 7, 65535, 2**32 - 1, 2**64 - 1, True, b"hello", [1, 2, 3], [0, 1, P - 1],
        [[1, 2], [P - 1, 0]], b"\xaa" * 4,
    )


def test_every_truncation_rejected():
    data = _sample()
    for cut in range(len(data)):
        with pytest.raises(ProofFormatError):
            _read_sample(data[:cut])


def test_trailing_bytes_rejected():
    with pytest.raises(ProofFormatError, match="trailing"):
        _read_sample(_sample() + b"\x00")


def test_bad_magic_and_version_rejected():
    data = _sample()
    with pytest.raises(ProofFormatError, match="magic"):
        _read_sample(b"TESU" + data[4:])
    w = Writer()
    w.header(b"TEST", 2)
    with pytest.raises(ProofFormatError, match="version"):
        Reader(w.finish()).header(b"TEST", (1, 3))


def test_non_canonical_field_element_rejected():
    w = Writer()
    w.u32(1)
    w.raw(P.to_bytes(8, "little"))
    with pytest.raises(ProofFormatError, match="canonical"):
        Reader(w.finish()).base_vec(4)
    w = Writer()
    w.raw((2**64 - 1).to_bytes(8, "little") * 2)
    with pytest.raises(ProofFormatError):
        Reader(w.finish()).ext(1)


def test_counts_bounded_before_allocation():
    w = Writer()
    w.u32(2**32 - 1)  # a forged count with nothing behind it
    data = w.finish()
    with pytest.raises(ProofFormatError, match="bound"):
        Reader(data).base_vec(1000)
    with pytest.raises(ProofFormatError, match="exceeds"):
        Reader(data).base_vec(2**32 - 1)  # within the bound, but not within the bytes
    with pytest.raises(ProofFormatError):
        Reader(data).bytes(2**32 - 1)
    with pytest.raises(ProofFormatError):
        Reader(data).u32s(2**32 - 1)


def test_value_bounds_and_booleans():
    w = Writer()
    w.u8(2)
    w.u32(10)
    data = w.finish()
    with pytest.raises(ProofFormatError):
        Reader(data).boolean()
    r = Reader(data)
    r.u8(2)
    with pytest.raises(ProofFormatError, match="bound"):
        r.u32(9)
    w = Writer()
    w.u32s([5, 9])
    with pytest.raises(ProofFormatError, match="bound"):
        Reader(w.finish()).u32s(4, max_value=8)


def test_sections_must_be_consumed_exactly():
    inner = Writer()
    inner.u32(5)
    outer = Writer()
    outer.section(inner.finish() + b"\x01")
    r = Reader(outer.finish())
    sec = r.section(64)
    assert sec.u32() == 5
    with pytest.raises(ProofFormatError, match="trailing"):
        sec.finish()
    r.finish()


def test_writer_rejects_out_of_range():
    w = Writer()
    with pytest.raises(ValueError):
        w.u8(256)
    with pytest.raises(ValueError):
        w.u32(-1)
    with pytest.raises(ValueError):
        w.header(b"TOOLONG", 1)
    with pytest.raises(ValueError):
        w.ext(np.zeros(3, dtype=np.uint64))
    with pytest.raises(ValueError):
        w.u32s([2**32])


def test_reader_rejects_non_bytes():
    with pytest.raises(ProofFormatError):
        Reader("text")  # type: ignore[arg-type]


@given(st.lists(elements, max_size=40), st.lists(st.tuples(elements, elements), max_size=20),
       st.binary(max_size=50), st.lists(st.integers(0, 2**32 - 1), max_size=10))
def test_round_trip_hypothesis(base, exts, blob, ints):
    w = Writer()
    w.base_vec(np.array(base, dtype=np.uint64))
    w.ext_vec(np.array(exts, dtype=np.uint64).reshape(-1, 2))
    w.bytes(blob)
    w.u32s(ints)
    data = w.finish()
    r = Reader(data)
    assert r.base_vec(100).tolist() == base
    assert [tuple(x) for x in r.ext_vec(100).tolist()] == exts
    assert r.bytes(100) == blob
    assert r.u32s(100) == ints
    r.finish()


@given(st.data())
def test_bit_flips_never_crash(data):
    raw = bytearray(_sample())
    bit = data.draw(st.integers(0, 8 * len(raw) - 1))
    raw[bit // 8] ^= 1 << (bit % 8)
    try:
        _read_sample(bytes(raw))
    except ProofFormatError:
        pass
