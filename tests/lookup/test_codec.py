"""The look-up proofs' encodings: ``FractionProof`` and ``LookupProof`` write the byte layout
the proof format fixes, read back what they wrote (and the verifier accepts it), list their
sumchecks, and refuse oversized counts and truncated input."""

from __future__ import annotations

import numpy as np
import pytest

from zkinfer.codec import Reader, Writer
from zkinfer.errors import ProofFormatError
from zkinfer.field import extension as ext
from zkinfer.lookup.gkr import MAX_LAYERS, FractionProof, prove_fraction_sum, verify_fraction_sum
from zkinfer.lookup.logup import LookupProof, multiplicities, prove_lookup, verify_lookup
from zkinfer.transcript import Transcript

D = b"tests/lookup-codec"


def layout(proof: FractionProof) -> bytes:
    """The fraction proof's layout written out field by field: root (2 ext), u32 layer count,
    per layer the sumcheck then 4 ext."""
    w = Writer()
    w.ext(proof.root)
    w.u32(len(proof.layers))
    for sc, evals in proof.layers:
        sc.write(w)
        w.ext(evals)
    return w.finish()


def encode(proof) -> bytes:
    w = Writer()
    proof.write(w)
    return w.finish()


def decode(cls, data: bytes):
    r = Reader(data)
    out = cls.read(r)
    r.finish()
    return out


def lookup_instance():
    t = np.arange(16, dtype=np.uint64)
    f = np.array([3, 3, 0, 15, 7, 7, 7, 1], dtype=np.uint64)
    return f, t, multiplicities(f, t)


@pytest.mark.parametrize("c", [0, 1, 4])
def test_fraction_proof_round_trip(c):
    rng = np.random.default_rng(c)
    p, q = ext.random(1 << c, rng), ext.random(1 << c, rng)
    proof, _, _ = prove_fraction_sum(p, q, Transcript(D))
    data = encode(proof)
    assert data == layout(proof)
    back = decode(FractionProof, data)
    assert encode(back) == data
    assert np.array_equal(back.root, proof.root)
    verify_fraction_sum(c, back, Transcript(D))
    assert len(back.sumchecks()) == c
    assert [sc.messages.tolist() for sc in back.sumchecks()] == [
        sc.messages.tolist() for sc, _ in proof.layers]


def test_fraction_proof_bounds_and_truncation():
    rng = np.random.default_rng(7)
    proof, _, _ = prove_fraction_sum(ext.random(8, rng), ext.random(8, rng), Transcript(D))
    data = encode(proof)
    count_at = 32  # after the root: two extension elements
    for n in (MAX_LAYERS + 1, 2**32 - 1):
        forged = data[:count_at] + n.to_bytes(4, "little") + data[count_at + 4:]
        with pytest.raises(ProofFormatError, match="exceeds the bound"):
            FractionProof.read(Reader(forged))
    for cut in (0, 1, 31, 35, 36, len(data) // 2, len(data) - 1):
        with pytest.raises(ProofFormatError):
            FractionProof.read(Reader(data[:cut]))


def test_lookup_proof_round_trip():
    f, t, m = lookup_instance()
    proof, _ = prove_lookup(f, t, m, Transcript(D))
    data = encode(proof)
    w = Writer()
    w.raw(layout(proof.fractions))
    w.ext(proof.column_evals)
    assert data == w.finish()
    back = decode(LookupProof, data)
    assert encode(back) == data
    assert np.array_equal(back.column_evals, proof.column_evals)
    verify_lookup(f.shape[0], t.shape[0], back, Transcript(D))
    assert len(back.sumchecks()) == len(proof.fractions.layers)
    assert back.sumchecks()[0].messages.tolist() == \
        proof.fractions.layers[0][0].messages.tolist()


def test_lookup_proof_bounds_and_truncation():
    f, t, m = lookup_instance()
    proof, _ = prove_lookup(f, t, m, Transcript(D))
    data = encode(proof)
    forged = data[:32] + (2**31).to_bytes(4, "little") + data[36:]
    with pytest.raises(ProofFormatError, match="exceeds the bound"):
        LookupProof.read(Reader(forged))
    for cut in (0, 20, len(data) - 48, len(data) - 1):
        with pytest.raises(ProofFormatError):
            LookupProof.read(Reader(data[:cut]))
    with pytest.raises(ProofFormatError, match="trailing"):
        decode(LookupProof, data + b"\0")
