"""Fiat-Shamir transcript: determinism, binding of every absorb, unbiased sampling."""

from __future__ import annotations

import numpy as np
import pytest

from zkinfer.errors import FieldRangeError
from zkinfer.field import goldilocks as gl
from zkinfer.transcript import Transcript


def script(t: Transcript, data=b"abc", base=(1, 2), ext_=((3, 4),), label=b"m"):
    t.append_bytes(label, data)
    t.append_base(b"b", np.array(base, dtype=np.uint64))
    t.append_ext(b"e", np.array(ext_, dtype=np.uint64))
    return t.challenge_ext(b"r")


def test_same_calls_same_challenges():
    assert np.array_equal(script(Transcript(b"d")), script(Transcript(b"d")))


@pytest.mark.parametrize(
    "change",
    [
        {"data": b"abd"},
        {"base": (1, 3)},
        {"base": (1, 2, 0)},
        {"ext_": ((3, 5),)},
        {"label": b"n"},
    ],
)
def test_every_absorbed_datum_changes_the_challenge(change):
    assert not np.array_equal(script(Transcript(b"d")), script(Transcript(b"d"), **change))


def test_domain_separates():
    assert not np.array_equal(script(Transcript(b"d")), script(Transcript(b"e")))


def test_framing_is_unambiguous():
    a, b = Transcript(b"d"), Transcript(b"d")
    a.append_bytes(b"x", b"ab")
    a.append_bytes(b"x", b"c")
    b.append_bytes(b"x", b"a")
    b.append_bytes(b"x", b"bc")
    assert a.challenge_base(b"r") != b.challenge_base(b"r")


def test_consecutive_challenges_differ_and_are_canonical():
    t = Transcript(b"d")
    xs = t.challenge_exts(b"r", 1000)
    assert xs.shape == (1000, 2) and bool((xs < np.uint64(gl.P)).all())
    assert len({tuple(map(int, x)) for x in xs}) == 1000
    assert t.challenge_base(b"r") != t.challenge_base(b"r")


def test_indices_uniform():
    t = Transcript(b"d")
    idx = t.challenge_indices(b"q", 3, 30_000)
    counts = np.bincount(idx, minlength=3)
    assert min(idx) >= 0 and max(idx) < 3
    assert counts.min() > 9_500  # each ~10_000; a modulo bias would not show at this size,
    # but a broken sampler (e.g. always 0) would
    assert t.challenge_index(b"q", 1) == 0
    with pytest.raises(ValueError):
        t.challenge_index(b"q", 0)


def test_non_canonical_absorb_rejected():
    with pytest.raises(FieldRangeError):
        Transcript(b"d").append_base(b"b", [gl.P])
    with pytest.raises(TypeError):
        Transcript("d")  # type: ignore[arg-type]


def test_fork_is_independent():
    t = Transcript(b"d")
    u = t.fork()
    assert t.digest() == u.digest()
    t.append_bytes(b"x", b"1")
    assert t.digest() != u.digest()


def _spec_pair(state: bytes, label: bytes, p: int) -> tuple[bytes, tuple[int, int]]:
    """The module docstring's construction, written out: the new state and the first two
    output words below ``p``."""
    import hashlib
    import struct

    def h(*parts):
        return hashlib.blake2b(b"".join(parts), digest_size=32).digest()

    state = h(state, b"\x02", struct.pack("<Q", len(label)), label)
    words, counter = [], 0
    while len(words) < 2:
        block = h(state, b"\x03", struct.pack("<Q", counter))
        words += [w for w in struct.unpack("<4Q", block) if w < p]
        counter += 1
    return state, (words[0], words[1])


@pytest.mark.parametrize("p", [gl.P, 1 << 62, 1 << 58], ids=["goldilocks", "half", "rare"])
def test_challenge_pair_follows_the_construction_on_both_paths(p, monkeypatch):
    # a smaller modulus makes the first output block fall short (the slow path) often
    monkeypatch.setattr(gl, "P", p)
    t = Transcript(b"tests/pairs")
    for k in range(200):
        t.append_bytes(b"m", k.to_bytes(2, "little"))
        state, want = _spec_pair(t.digest(), b"challenge", p)
        assert t.challenge_pair(b"challenge") == want
        assert t.digest() == state
