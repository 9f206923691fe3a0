"""Every check of the verifier's front end, each reached by an input that passes all the checks
before it and rejected by that check alone.

The front end is what :func:`zkinfer.verify` does before it replays the relation schedule:
decode the key and the proof (:mod:`zkinfer.proof`, :mod:`zkinfer.codec`, the field decoders,
:func:`zkinfer.commit.pcs_from_params`), the security floor (:mod:`zkinfer.security`), the
statement (argument types, digest, ids, output length and range), the circuit, and the layouts
of both commitments. Each test asserts the exact exception type, the ``check`` of a
:class:`~zkinfer.errors.VerificationError` and a fragment of the message, so a test fails as
soon as its check is disabled (``tools/mutation.py`` does exactly that) even if a later check
would still reject the input. The cheating provers are in :mod:`tests.cheating.statement`;
where the attack is a false statement (an unused committed polynomial, ids beyond a vocabulary
that is not a power of two), a control test shows that the forged proof is accepted once the
check under test is bypassed, so the check is what stops it.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest

import zkinfer
import zkinfer.proof as proof_mod
import zkinfer.verifier as verifier_mod
from tests.cheating import statement as cs
from tests.test_vk_fuzz import model_spans
from zkinfer.codec import Reader, Writer
from zkinfer.commit import TrivialPCS
from zkinfer.commit.base import params_writer
from zkinfer.errors import InvalidArgumentError, ProofFormatError, VerificationError
from zkinfer.field import extension as ext
from zkinfer.field import goldilocks as gl
from zkinfer.model.config import TransformerConfig
from zkinfer.models import random_transformer
from zkinfer.proof import Proof, VerifyingKey, encode_public_model
from zkinfer.protocol.circuit import Circuit
from zkinfer.protocol.engine import commit_segments, segment_parts
from zkinfer.protocol.model_circuit import build_circuit, witness_plan
from zkinfer.protocol.witness import build_witness
from zkinfer.security import protocol_terms, soundness

MLP = TransformerConfig(n_layers=2, d_model=8, n_heads=1, d_ff=12, max_seq_len=8, vocab_size=32,
                        block="mlp")
#: A vocabulary that is not a power of two: the embedding table is padded to 64 zero rows.
MLP50 = dataclasses.replace(MLP, n_layers=1, vocab_size=50)
IDS = np.array([3, 1, 4, 1, 5], dtype=np.int64)


@pytest.fixture(scope="module")
def mlp() -> cs.Honest:
    return cs.honest(random_transformer(MLP, 3), IDS)


@pytest.fixture(scope="module")
def mlp50() -> cs.Honest:
    return cs.honest(random_transformer(MLP50, 5), IDS)


def rejected(vk, ids, output, proof, check: str | None, fragment: str,
             kind: type = VerificationError, **kwargs) -> Exception:
    """Verify (``allow_insecure``: the keys here use ``TrivialPCS``) and return the exception,
    which must be exactly ``kind``, with ``check`` (a ``VerificationError``) and ``fragment``."""
    kwargs.setdefault("allow_insecure", True)
    with pytest.raises(kind, match=re.escape(fragment)) as err:
        zkinfer.verify(vk, ids, output, proof, **kwargs)
    assert type(err.value) is kind, repr(err.value)
    if kind is VerificationError:
        assert err.value.check == check, repr(err.value)
    return err.value


def statement_rejected(h: cs.Honest, ids, output, proof, fragment: str) -> None:
    rejected(h.vk, ids, output, proof, "statement", fragment)


# ---------------------------------------------------------------------------------------------
# the arguments: key and proof objects or bytes


def test_verifying_key_that_is_not_bytes_rejected(mlp):
    for bad in ("a key", memoryview(mlp.vk.to_bytes()), None):
        rejected(bad, IDS, mlp.output, mlp.proof, None, "vk must be the VerifyingKey",
                 InvalidArgumentError)
        with pytest.raises(ProofFormatError, match="^a verifying key is bytes$"):
            VerifyingKey.from_bytes(bad)


def test_proof_that_is_not_bytes_rejected(mlp):
    for bad in ("a proof", memoryview(mlp.proof.to_bytes()), None):
        rejected(mlp.vk, IDS, mlp.output, bad, None, "proof must be a Proof or its bytes",
                 InvalidArgumentError)
        with pytest.raises(ProofFormatError, match="^a proof is bytes$"):
            Proof.from_bytes(bad)


def test_key_naming_an_unknown_scheme_rejected(mlp):
    params = params_writer("nosuch").finish()
    key = VerifyingKey(mlp.vk.model_bytes, params, mlp.vk.weight_commitment)
    forged = cs.relabel(mlp.proof, vk_digest=key.digest)
    for vk in (key, key.to_bytes()):  # the object (first use) and the bytes (decode time)
        rejected(vk, IDS, mlp.output, forged, None, "pcs parameters: unknown scheme 'nosuch'",
                 ProofFormatError)


# ---------------------------------------------------------------------------------------------
# the proof's bytes (zkinfer.proof over zkinfer.codec)


def _head(proof: Proof) -> int:
    """Where the first step starts in the proof's bytes."""
    return next(start for name, start, _ in cs.spans(proof)
                if name.startswith("segment 0 relation 0 "))


def _ids_end(proof: Proof) -> int:
    return 4 + 2 + 32 + 4 + 4 * len(proof.ids)  # magic, version, digest, ids


def _patch(data: bytes, pos: int, new: bytes) -> bytes:
    return data[:pos] + new + data[pos + len(new):]


def _proof_rejected(h: cs.Honest, data: bytes, fragment: str) -> None:
    rejected(h.vk, IDS, h.output, data, None, fragment, ProofFormatError)


def test_proof_with_another_magic_rejected(mlp):
    _proof_rejected(mlp, b"ZKVK" + mlp.proof.to_bytes()[4:], "proof: bad magic b'ZKVK'")


def test_proof_of_another_format_version_rejected(mlp):
    data = _patch(mlp.proof.to_bytes(), 4, (proof_mod.FORMAT_VERSION - 1).to_bytes(2, "little"))
    _proof_rejected(mlp, data, f"proof: unsupported version {proof_mod.FORMAT_VERSION - 1}")


def test_proof_truncated_in_its_header_rejected(mlp):
    _proof_rejected(mlp, mlp.proof.to_bytes()[:20], "proof: truncated: need 32 bytes, 14 left")


def test_proof_with_more_tokens_than_the_format_allows_rejected(mlp):
    data = _patch(mlp.proof.to_bytes(), 38, (1 << 16 | 1).to_bytes(4, "little"))
    _proof_rejected(mlp, data, "proof: u32 value 65537 exceeds the bound 65536")


def test_proof_with_an_output_count_beyond_its_bytes_rejected(mlp):
    data = mlp.proof.to_bytes()
    data = _patch(data, _ids_end(mlp.proof), (1 << 20).to_bytes(4, "little"))
    _proof_rejected(mlp, data, f"proof: count {1 << 20} x 8 bytes exceeds the")


@pytest.mark.parametrize("tag, fragment", [(0, "unknown proof step 0"),
                                           (7, "unknown proof step 7")])
def test_proof_with_an_unknown_step_rejected(mlp, tag, fragment):
    _proof_rejected(mlp, _patch(mlp.proof.to_bytes(), _head(mlp.proof), bytes([tag])), fragment)


def test_proof_truncated_inside_a_field_element_rejected(mlp):
    # the value of the last product step is one extension element (16 bytes): 8 of them are
    # left (a later step, so that the step count's own bound against the bytes left holds)
    start = max(start for name, start, _ in cs.spans(mlp.proof)
                if " relation " in name and name.endswith("ProductStep"))
    cut = mlp.proof.to_bytes()[: start + 1 + 8]
    _proof_rejected(mlp, cut, "proof: truncated: need 2 field elements, 8 bytes left")


def test_proof_with_a_non_canonical_field_element_rejected(mlp):
    data = _patch(mlp.proof.to_bytes(), _head(mlp.proof) + 1, gl.P.to_bytes(8, "little"))
    _proof_rejected(mlp, data, "proof: non-canonical field element (>= p) (at byte")


def test_proof_with_trailing_bytes_rejected(mlp):
    _proof_rejected(mlp, mlp.proof.to_bytes() + b"\0\0", "proof: 2 trailing bytes")


def test_key_with_an_array_axis_above_the_bound_rejected(mlp):
    w = Writer()
    w.u8(5)
    w.u32s([(1 << 24) + 1])
    data = encode_public_model(mlp.vk.model())
    (start, end), = [(a, b) for p, a, b in model_spans(data) if p == "model.layers[0].ffn.up.b"]
    key = VerifyingKey(data[:start] + w.finish() + data[end:], mlp.vk.pcs_params,
                       mlp.vk.weight_commitment)
    forged = cs.relabel(mlp.proof, vk_digest=key.digest)
    for vk in (key, key.to_bytes()):
        rejected(vk, IDS, mlp.output, forged, None,
                 f"model description: u32 value {(1 << 24) + 1} exceeds the bound {1 << 24}",
                 ProofFormatError)


def test_key_decoded_without_a_rule_for_a_field_rejected(mlp, monkeypatch):
    # a field the decoder has no rule for (say one added to a class later) is never read blind
    rules = {**proof_mod._FIELD_RULES, "Requant": dict(proof_mod._FIELD_RULES["Requant"])}
    del rules["Requant"]["m"]  # an array: its annotation implies no rule
    monkeypatch.setattr(proof_mod, "_FIELD_RULES", rules)
    rejected(mlp.vk.to_bytes(), IDS, mlp.output, mlp.proof, None,
             "model description: no decoding rule for Requant.m", ProofFormatError)


def test_key_decoded_with_a_schema_field_the_class_lacks_rejected(mlp, monkeypatch):
    # a schema naming a field the class no longer has (a renamed field) is refused by name,
    # before any value is read for it
    rules = {**proof_mod._FIELD_RULES, "Requant": {**proof_mod._FIELD_RULES["Requant"],
                                                   "scale": proof_mod._int}}
    monkeypatch.setattr(proof_mod, "_FIELD_RULES", rules)
    rejected(mlp.vk.to_bytes(), IDS, mlp.output, mlp.proof, None,
             "model description: Requant has no field 'scale' of the key schema", ProofFormatError)


def test_trace_commitment_that_is_not_bytes_rejected(mlp):
    forged = cs.relabel(mlp.proof, trace_commitment=mlp.proof.trace_commitment.hex())
    rejected(mlp.vk, IDS, mlp.output, forged, None, "trivial commitment: expected bytes, got str",
             ProofFormatError)


# ---- the field decoders (the codec hands them exact lengths; these are their own checks)


def test_base_field_decoder_checks():
    with pytest.raises(ProofFormatError, match="expected bytes, got str"):
        gl.from_bytes("00000000")
    with pytest.raises(ProofFormatError, match="7 bytes is not a whole number of 8-byte elements"):
        gl.from_bytes(b"\0" * 7)
    with pytest.raises(ProofFormatError, match=re.escape("expected 2 elements (16 bytes), got 8")):
        gl.from_bytes(b"\0" * 8, 2)
    for word in (gl.P, 2**64 - 1):
        with pytest.raises(ProofFormatError, match=re.escape("non-canonical field element (>= p)")):
            gl.from_bytes(b"\0" * 8 + word.to_bytes(8, "little"))
    assert gl.from_bytes((gl.P - 1).to_bytes(8, "little"), 1).tolist() == [gl.P - 1]


def test_extension_field_decoder_checks():
    with pytest.raises(ProofFormatError, match="8 bytes is not a whole number of 16-byte elements"):
        ext.from_bytes(b"\0" * 8)
    with pytest.raises(ProofFormatError, match=re.escape("non-canonical field element (>= p)")):
        ext.from_bytes((1).to_bytes(8, "little") + gl.P.to_bytes(8, "little"))
    assert ext.from_bytes(ext.to_bytes(np.array([[1, 2]], dtype=np.uint64)), 1).tolist() == [[1, 2]]


def test_reader_refuses_what_is_not_bytes():
    with pytest.raises(ProofFormatError, match="sample: expected bytes, got list"):
        Reader([1, 2], "sample")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# the statement


@pytest.mark.parametrize("which", ["ids", "output"])
@pytest.mark.parametrize("bad", [np.zeros((1, 5), dtype=np.int64), np.array([3.0, 1.0]), "31415"],
                         ids=["2-D", "float", "str"])
def test_statement_that_is_not_a_1d_integer_array_rejected(mlp, which, bad):
    ids, output = (bad, mlp.output) if which == "ids" else (IDS, bad)
    name = "input ids" if which == "ids" else "output"
    statement_rejected(mlp, ids, output, mlp.proof, f"{name} must be a 1-D integer array")


@pytest.mark.parametrize("which", ["ids", "output"])
def test_unsigned_statement_beyond_int64_rejected(mlp, which):
    # 2^64 - 1 would wrap to -1 in int64
    huge = np.array([2**64 - 1, 1], dtype=np.uint64)
    ids, output = (huge, mlp.output) if which == "ids" else (IDS, huge)
    name = "input ids" if which == "ids" else "output"
    statement_rejected(mlp, ids, output, mlp.proof, f"{name} holds a value beyond int64")


def test_unsigned_statement_within_int64_accepted(mlp):
    assert zkinfer.verify(mlp.vk, IDS.astype(np.uint64), mlp.output, mlp.proof, allow_insecure=True)


def test_key_model_is_decoded_once_and_never_handed_out(mlp, monkeypatch):
    # a decoded key keeps the model it validated for its verifications; model() still returns
    # a fresh object, and a caller changing that object changes nothing the verifier reads
    vk = VerifyingKey.from_bytes(mlp.vk.to_bytes())
    shared = vk._shared_model()
    mine = vk.model()
    assert mine is not shared and vk.model() is not mine
    mine.config.__dict__["n_layers"] = 99  # a frozen config changed by force
    calls = []
    monkeypatch.setattr(proof_mod, "_decode_public_model",
                        lambda *a, **k: calls.append(a) or pytest.fail("decoded again"))
    for _ in range(2):
        assert zkinfer.verify(vk, IDS, mlp.output, mlp.proof, allow_insecure=True)
    assert vk._shared_model() is shared and shared.config.n_layers != 99 and not calls


def test_proof_for_another_key_rejected(mlp):
    forged = cs.relabel(mlp.proof, vk_digest=bytes(32))
    statement_rejected(mlp, IDS, mlp.output, forged, "the proof was made for another verifying key")


def test_proof_for_another_input_rejected(mlp):
    ids = IDS.copy()
    ids[-1] += 1
    statement_rejected(mlp, ids, mlp.output, mlp.proof, "the proof is for another input")
    statement_rejected(mlp, IDS[:-1], mlp.output, mlp.proof, "the proof is for another input")


def test_proof_for_another_output_rejected(mlp):
    out = mlp.output.copy()
    out[-1] -= 1
    statement_rejected(mlp, IDS, out, mlp.proof, "the proof is for another output")


@pytest.mark.parametrize("ids", [np.zeros(0, dtype=np.int64), np.arange(MLP.max_seq_len + 1) % 32,
                                 np.array([3, -1, 4]), np.array([3, 32, 4])],
                         ids=["empty", "too-long", "negative", "vocab-size"])
def test_ids_outside_the_vocabulary_or_length_rejected(mlp, ids):
    # the proof carries the same ids (so the statement check, not the ids comparison, fires)
    statement_rejected(mlp, ids, mlp.output, cs.relabel(mlp.proof, ids=ids),
                       "input ids outside the model's vocabulary or length")


@pytest.mark.parametrize("ids", [[3, 50, 4], [63, 0, 49, 63]], ids=["vocab-size", "last-padded-row"])
def test_ids_beyond_a_vocabulary_that_is_not_a_power_of_two_rejected(mlp50, ids):
    forged = cs.prove_ids_beyond_vocab(mlp50, ids)
    statement_rejected(mlp50, ids, forged.output, forged,
                       "input ids outside the model's vocabulary or length")


def test_ids_beyond_the_vocabulary_accepted_without_the_bound(mlp50, monkeypatch):
    """The control: with a key that claims the padded vocabulary (64 rows; the circuit and the
    committed table are the same), the forged proof verifies. The vocabulary bound alone stops
    it: the circuit cannot tell a token id from a padding row."""
    forged = cs.prove_ids_beyond_vocab(mlp50, [3, 50, 4])
    decode = VerifyingKey.model

    def padded(self):
        model = decode(self)
        return dataclasses.replace(model, config=dataclasses.replace(model.config, vocab_size=64))

    # the verifier reads the key's shared model (decoded once per key)
    monkeypatch.setattr(VerifyingKey, "_shared_model", padded)
    assert zkinfer.verify(mlp50.vk, forged.ids, forged.output, forged, allow_insecure=True)


def test_output_of_the_wrong_length_rejected(mlp):
    out = np.append(mlp.output, 0)
    statement_rejected(mlp, IDS, out, cs.relabel(mlp.proof, output=out), "output has the wrong length")


@pytest.mark.parametrize("side", ["low", "high"])
def test_output_outside_its_range_rejected(mlp, side):
    bits, signed = mlp.model.widths["pool.mean"]
    assert signed
    out = mlp.output.copy()
    out[2] = -(1 << (bits - 1)) - 1 if side == "low" else 1 << (bits - 1)
    statement_rejected(mlp, IDS, out, cs.relabel(mlp.proof, output=out),
                       f"output[2] = {out[2]} is outside the model's output range "
                       f"[{-(1 << (bits - 1))}, {(1 << (bits - 1)) - 1}]")


def test_key_whose_model_yields_no_circuit_rejected(mlp):
    # a valid model description (it decodes) whose attention heads are 6 wide
    model = random_transformer(TransformerConfig(n_layers=1, d_model=12, n_heads=2, d_ff=16,
                                                 max_seq_len=8, vocab_size=32), 1)
    key = VerifyingKey(encode_public_model(model), mlp.vk.pcs_params, mlp.vk.weight_commitment)
    output = np.zeros(12, dtype=np.int64)
    for vk in (key, key.to_bytes()):
        rejected(vk, IDS, output, cs.statement_only(key, IDS, output), "statement",
                 "the verifying key's model is invalid: layer0.attn: head width 6 is not a power of two")


# ---------------------------------------------------------------------------------------------
# the commitments' layouts


def _extra_polys(h: cs.Honest) -> dict[str, list[np.ndarray]]:
    big = max(c.num_vars for c in build_circuit(h.model, IDS.shape[0], h.output).trace.values())
    return {"one-entry": [np.ones(1, dtype=np.uint64)],
            "largest-size": [np.arange(1 << big, dtype=np.uint64)]}


def _trace_shape(h: cs.Honest):
    """The parts of the trace commitment the circuit fixes."""
    return segment_parts(build_circuit(h.model, IDS.shape[0], h.output)).shape


#: forged trace commitments: ``name -> prove_committing`` arguments (on top of the trace)
_FORGED_TRACE_COMMITMENTS = {
    "unused-entry-last-part": lambda h: {"extra": _extra_polys(h)["one-entry"]},
    "unused-entry-part-0": lambda h: {"extra": _extra_polys(h)["one-entry"], "part": 0},
    "unused-largest-size": lambda h: {"extra": _extra_polys(h)["largest-size"]},
    "parts-one-variable-larger": lambda h: {"num_vars": _trace_shape(h).num_vars + 1},
}


@pytest.mark.parametrize("size", ["one-entry", "largest-size"])
def test_trace_commitment_with_an_unused_polynomial_rejected(mlp, size):
    forged = cs.prove_committing(mlp.pk, IDS, mlp.cols, mlp.output, extra=_extra_polys(mlp)[size])
    rejected(mlp.vk, IDS, mlp.output, forged, "trace commitment",
             "committed columns do not match the circuit")


@pytest.mark.parametrize("part", [0, -1], ids=["first", "last"])
def test_trace_commitment_whose_parts_have_another_used_rejected(mlp, part):
    # one entry more in one part: the same number of parts and of variables, every column at
    # its offset; only that part's used differs from the circuit's
    forged = cs.prove_committing(mlp.pk, IDS, mlp.cols, mlp.output, part=part,
                                 extra=_extra_polys(mlp)["one-entry"])
    want = _trace_shape(mlp)
    got = TrivialPCS().decode_commitment(forged.trace_commitment).parts
    count = len(want.used)
    assert got.num_vars == want.num_vars and len(got.used) == count >= 2
    assert [g - w for g, w in zip(got.used, want.used)] == [int(s == part % count)
                                                              for s in range(count)]
    rejected(mlp.vk, IDS, mlp.output, forged, "trace commitment",
             "committed columns do not match the circuit")


def test_trace_commitment_whose_parts_have_another_size_rejected(mlp):
    # the same used entries in parts of one more variable (zeros beyond)
    forged = cs.prove_committing(mlp.pk, IDS, mlp.cols, mlp.output,
                                 **_FORGED_TRACE_COMMITMENTS["parts-one-variable-larger"](mlp))
    want = _trace_shape(mlp)
    got = TrivialPCS().decode_commitment(forged.trace_commitment).parts
    assert (got.num_vars, got.used) == (want.num_vars + 1, want.used)
    rejected(mlp.vk, IDS, mlp.output, forged, "trace commitment",
             "committed columns do not match the circuit")


def test_trace_commitment_of_one_part_rejected(mlp):
    # every segment's columns in one part (a plain layout of the same columns, one segment):
    # claims on segment 1's columns would address part 0
    circuit = build_circuit(mlp.model, IDS.shape[0], mlp.output)
    one = Circuit(trace=circuit.trace, num_segments=1)
    parts = segment_parts(one)
    assert len(parts.shape.used) == 1 and len(_trace_shape(mlp).used) >= 2
    pcs = TrivialPCS()
    tables = build_witness(circuit, mlp.cols, witness_plan(mlp.model, IDS.shape[0]))
    commitment, _ = commit_segments(pcs, parts, tables)
    forged = cs.relabel(mlp.proof, trace_commitment=commitment.to_bytes())
    rejected(mlp.vk, IDS, mlp.output, forged, "trace commitment",
             "committed columns do not match the circuit")


@pytest.mark.parametrize("forgery", sorted(set(_FORGED_TRACE_COMMITMENTS) - {"unused-largest-size"}))
def test_trace_commitment_of_another_shape_accepted_without_the_layout_check(mlp, monkeypatch,
                                                                            forgery):
    """The control: every message after the commitment is consistent with it, so only the
    layout check stands between this proof and acceptance (a prover could hide anything in
    the unused entries, and the commitment is no longer the circuit's)."""
    forged = cs.prove_committing(mlp.pk, IDS, mlp.cols, mlp.output,
                                 **_FORGED_TRACE_COMMITMENTS[forgery](mlp))
    monkeypatch.setattr(verifier_mod, "_check_layout", lambda commitment, cols, what: None)
    assert zkinfer.verify(mlp.vk, IDS, mlp.output, forged, allow_insecure=True)


@pytest.mark.parametrize("part", [0, -1], ids=["first", "last"])
def test_weight_commitment_with_an_unused_polynomial_rejected(mlp, part):
    vk, pk = cs.setup_committing(mlp.model, TrivialPCS(), extra=[np.ones(2, dtype=np.uint64)],
                                 part=part)
    proof = zkinfer.prove(pk, IDS)
    rejected(vk, IDS, proof.output, proof, "weight commitment", "committed columns do not match the circuit")


def test_weight_commitment_with_an_unused_polynomial_accepted_without_the_layout_check(
        mlp, monkeypatch):
    vk, pk = cs.setup_committing(mlp.model, TrivialPCS(), extra=[np.ones(2, dtype=np.uint64)])
    proof = zkinfer.prove(pk, IDS)
    monkeypatch.setattr(verifier_mod, "_check_layout", lambda commitment, cols, what: None)
    assert zkinfer.verify(vk, IDS, proof.output, proof, allow_insecure=True)


# ---------------------------------------------------------------------------------------------
# the security figures (zkinfer.security)


def test_soundness_of_an_unknown_relation_refused():
    class Foreign:
        pass

    # in the last of two segments: every segment's relations are bounded
    circuit = Circuit(num_segments=2)
    circuit.segment = 1
    circuit.add_relation(Foreign())
    with pytest.raises(VerificationError, match="cannot bound the soundness of a Foreign relation") as err:
        protocol_terms(circuit)
    assert err.value.check == "security"


@pytest.mark.parametrize("output, fragment", [
    (np.zeros(9, dtype=np.int64), "public vector output: 9 entries, room for 8"),
    (np.full(8, 2**62, dtype=np.int64), "identity 'pool mean' can reach 2^64 >= p / 2"),
], ids=["length", "field-bound"])
def test_soundness_of_a_statement_without_a_circuit_refused(mlp, output, fragment):
    with pytest.raises(VerificationError, match=re.escape(fragment)) as err:
        soundness(mlp.vk, cs.relabel(mlp.proof, output=output))
    assert err.value.check == "security"
    assert str(err.value).startswith("security: no circuit for this key and statement: ")
