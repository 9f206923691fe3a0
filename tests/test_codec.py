"""The strict binary codec: round trips, canonical forms, bounds before allocation."""

from __future__ import annotations

import re

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


def _counted_payloads() -> list[tuple[int, int]]:
    """``(start, end)`` of the items of :func:`_sample` that follow a ``u32`` count."""
    pos = 4 + 2 + 1 + 2 + 4 + 8 + 1  # header, u8, u16, u32, u64, boolean
    out = []
    for size in (5, 3 * 4, 3 * 8, 2 * 16):  # bytes, u32s, base_vec, ext_vec
        out.append((pos + 4, pos + 4 + size))
        pos += 4 + size
    assert pos + 4 == len(_sample())  # the raw tail
    return out


def test_every_truncation_rejected():
    # a cut inside a counted item is refused by the count's bound against the bytes left
    # (before anything is read or allocated); any other cut by the fixed-size read it hits
    data = _sample()
    payloads = _counted_payloads()
    for cut in range(len(data)):
        inside = [(a, b) for a, b in payloads if a <= cut < b]
        want = f"count .* exceeds the {cut - inside[0][0]} left" if inside else "truncated: need"
        with pytest.raises(ProofFormatError, match=f"^sample: {want}"):
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
    with pytest.raises(ProofFormatError, match=re.escape("non-canonical field element (>= p) (at byte 16)")):
        Reader(w.finish()).ext(1)


def test_counts_bounded_before_allocation():
    w = Writer()
    w.u32(2**32 - 1)  # a forged count with nothing behind it
    data = w.finish()
    with pytest.raises(ProofFormatError, match="bound"):
        Reader(data).base_vec(1000)
    with pytest.raises(ProofFormatError, match="exceeds"):
        Reader(data).base_vec(2**32 - 1)  # within the bound, but not within the bytes
    with pytest.raises(ProofFormatError, match="count 4294967295 x 1 bytes exceeds the 0 left"):
        Reader(data).bytes(2**32 - 1)
    with pytest.raises(ProofFormatError, match="count 4294967295 x 4 bytes exceeds the 0 left"):
        Reader(data).u32s(2**32 - 1)


def test_value_bounds_and_booleans():
    w = Writer()
    w.u8(2)
    w.u32(10)
    data = w.finish()
    with pytest.raises(ProofFormatError, match="u8 value 2 exceeds the bound 1"):
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
    with pytest.raises(ValueError, match="u8: 256 out of range"):
        w.u8(256)
    with pytest.raises(ValueError, match="u32: -1 out of range"):
        w.u32(-1)
    with pytest.raises(ValueError, match="magic must be 4 bytes"):
        w.header(b"TOOLONG", 1)
    with pytest.raises(ValueError, match="ext: expected a last axis of length 2"):
        w.ext(np.zeros(3, dtype=np.uint64))
    with pytest.raises(ValueError, match="u32s: value out of range"):
        w.u32s([2**32])


def test_reader_rejects_non_bytes():
    with pytest.raises(ProofFormatError, match="encoding: expected bytes, got str"):
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


def test_every_bit_flip_rejected_or_decoded_to_other_values():
    # canonical: a flipped bit either does not decode (ProofFormatError, nothing else) or
    # decodes to other values (two encodings never give the same values)
    original = _read_sample(_sample())
    rejected = 0
    for bit in range(8 * len(_sample())):
        raw = bytearray(_sample())
        raw[bit // 8] ^= 1 << (bit % 8)
        try:
            got = _read_sample(bytes(raw))
        except ProofFormatError:
            rejected += 1
            continue
        assert got != original, f"bit {bit}"
    assert 0 < rejected < 8 * len(_sample())  # both outcomes occur (magic, counts; plain values)


# ---------------------------------------------------------------------------------------------
# the public-model schema of the key format


#: BLAKE2b-256 of the schema of each key format (class and field names, in encoding order). A
#: change to the schema changes key bytes: it needs a new key format version and a new entry.
#: Format 4 changed the weight commitment (one part per segment), not the schema; format 5 added
#: decoders (``n_kv_heads``, ``IntModel.decoder`` and the decoder's classes).
_SCHEMA_DIGESTS = {3: "dc6b35acd91182a1612bc2d24c516da42e0e4ff0cd00359103b2db124d14449f",
                   4: "dc6b35acd91182a1612bc2d24c516da42e0e4ff0cd00359103b2db124d14449f",
                   5: "cd6325de1a8b2a036681088c96c2695dfe09706bdf74ddc53b5408f262d3ed24"}


def _schema_digest() -> str:
    import hashlib

    from zkinfer.proof import model_schema

    text = ";".join(f"{cls}:{','.join(fields)}" for cls, fields in model_schema())
    return hashlib.blake2b(text.encode(), digest_size=32).hexdigest()


def test_public_model_schema_is_the_one_recorded_for_the_key_format():
    from zkinfer.proof import KEY_FORMAT_VERSION

    assert _schema_digest() == _SCHEMA_DIGESTS[KEY_FORMAT_VERSION]


def test_public_model_schema_lists_exactly_the_fields_of_each_class():
    import dataclasses

    from zkinfer.proof import _model_classes, model_schema

    schema = dict(model_schema())
    assert set(schema) == set(_model_classes())
    for name, cls in _model_classes().items():
        assert schema[name] == tuple(f.name for f in dataclasses.fields(cls)), name


def test_a_renamed_field_cannot_change_key_bytes_silently(monkeypatch):
    import dataclasses

    import zkinfer.proof as proof_mod
    from zkinfer.model.intmodel import Requant

    @dataclasses.dataclass(frozen=True)
    class Renamed:  # Requant with "shift" renamed
        m: np.ndarray
        shift_bits: int
        lo: int
        hi: int

    Renamed.__name__ = "Requant"
    classes = dict(proof_mod._model_classes())
    classes["Requant"] = Renamed
    monkeypatch.setattr(proof_mod, "_model_classes", lambda: classes)
    with pytest.raises(ValueError, match="Requant has no field 'shift' of the key format's model schema"):
        proof_mod.encode_public_model(Renamed(np.zeros(1, dtype=np.int64), 3, 0, 1))
    assert Requant.__name__ == "Requant"
