"""The verifier: numpy only (no numba, no model kernels, no prover code).

``verify(vk, ids, output, proof)``: decode, check the key's security (:mod:`zkinfer.security`),
rebuild the circuit from the verifying key and the public input/output, check the proof's
soundness against the floor, replay the transcript, check every relation and both openings.
"""

from __future__ import annotations

import numpy as np

from zkinfer._blas_threads import single_blas_thread
from zkinfer.errors import (
    FieldRangeError,
    InvalidArgumentError,
    UnsupportedOpError,
    VerificationError,
)
from zkinfer.model.intmodel import is_decoder, stop_ids
from zkinfer.proof import Proof, VerifyingKey, statement_transcript
from zkinfer.security import DEFAULT_MIN_BITS, check_arguments, require
from zkinfer.statement import int64_vector, token_ids

__all__ = ["verify"]


def _statement_vector(values, what: str) -> np.ndarray:
    """A statement array as 1-D int64 (:func:`zkinfer.statement.int64_vector`); a bad one is a
    rejected statement."""
    try:
        return int64_vector(values, what)
    except InvalidArgumentError as exc:
        raise VerificationError("statement", str(exc)) from None


def _check_kind(value: object, cls: type, name: str, expected: str) -> None:
    """Refuse an argument that is neither ``cls`` nor bytes, naming what was expected."""
    if not isinstance(value, (cls, bytes, bytearray)):
        raise InvalidArgumentError(f"verify(): {name} must be {expected}, got "
                                   f"{type(value).__name__}")


def verify(vk: VerifyingKey | bytes, ids, output, proof: Proof | bytes, *,
           min_bits: float = DEFAULT_MIN_BITS, allow_insecure: bool = False,
           allow_conjectured: bool = False, processes: int | None = None) -> bool:
    """Check that ``proof`` shows the model of ``vk`` maps ``ids`` to ``output``.

    Security floor: the proof's *interactive* soundness (:func:`zkinfer.security.soundness`: a
    union bound over every challenge, from the key's PCS parameters and the circuit of the
    statement, which fixes every sumcheck's rounds and degree and every look-up's size) must be
    at least ``min_bits``. The PCS part is checked as soon as the key is decoded, the whole
    figure right after the circuit is built, both before any expensive check. The floor is on
    the interactive figure, not on the (higher) bits a hashing adversary faces after grinding:
    see :mod:`zkinfer.security` for both formulas and why.

    Arguments:
        vk: the verifying key (object or bytes).
        ids: the public input token ids (a decoder's prompt).
        output: the claimed public output: an encoder's pooled integer vector, a decoder's
            generated ids (the answer, its stop rule checked against ``proof.max_new_tokens``
            and the key's stop ids).
        proof: the proof (object or bytes).
        min_bits: the floor in bits (default 100; ``0`` disables it).
        allow_insecure: accept a key naming ``TrivialPCS``, which makes no security claim
            (the proof carries the committed vectors, weights included); the floor does not
            apply to it. For tests only.
        allow_conjectured: accept PCS parameters whose bound is conjectured rather than proven
            (Ligero's ``bound="conjectured"``); their figure must still reach ``min_bits``.
        processes: ``1``: verify in this process only. ``None`` (default): up to two, one the
            calling process and one forked from it, which verifies about half the segments of the
            proof (segments are independent; the result and the error are those of one process)
            when the proof has at least
            :data:`~zkinfer.protocol.engine.PARALLEL_MIN_SEGMENTS` segments, the machine two
            cores, and forking is safe (:func:`~zkinfer.protocol.engine.parallel_verification_allowed`:
            Linux, no other Python thread). ``2`` asks for the second process where allowed.

    Returns:
        ``True``.

    Raises:
        InvalidArgumentError: ``min_bits`` is not a finite number ``>= 0``, a flag is not a
            ``bool``, or ``vk`` / ``proof`` is neither the object nor its bytes.
        ProofFormatError: ``vk`` or ``proof`` bytes are malformed.
        VerificationError: the proof is rejected; the message names the failed check
            (``check == "security"`` for the floor, ``TrivialPCS`` or a conjectured bound
            without the opt-in).
    """
    min_bits = check_arguments(min_bits, allow_insecure, allow_conjectured)
    processes = _processes(processes)
    from zkinfer.commit import pcs_from_params
    from zkinfer.protocol import model_circuit
    from zkinfer.protocol.engine import segment_parts, verifier_context, verify_circuit

    _check_kind(vk, VerifyingKey, "vk", "the VerifyingKey (the first value of zkinfer.setup) or its bytes")
    _check_kind(proof, Proof, "proof", "a Proof or its bytes")
    if not isinstance(vk, VerifyingKey):
        vk = VerifyingKey.from_bytes(vk)
    pcs = pcs_from_params(vk.pcs_params)
    # security floor, the key's part: scheme, bound, and the openings' own error
    require(pcs, min_bits, allow_insecure, allow_conjectured)
    if not isinstance(proof, Proof):
        proof = Proof.from_bytes(proof)
    ids = _statement_vector(ids, "input ids")
    out = _statement_vector(output, "output")
    if proof.vk_digest != vk.digest:
        raise VerificationError("statement", "the proof was made for another verifying key")
    if not np.array_equal(proof.ids, ids):
        raise VerificationError("statement", "the proof is for another input")
    if not np.array_equal(proof.output, out):
        raise VerificationError("statement", "the proof is for another output")
    model = vk._shared_model()
    cfg = model.config
    if is_decoder(model):
        answer = _decoder_statement(model, ids, out, proof)
        c_ids, c_out = answer.ids, answer.output
    else:
        if proof.max_new_tokens or np.size(proof.predictions):
            raise VerificationError("statement", "an encoder's proof carries a decoder's answer "
                                    "fields (max_new_tokens, predictions)")
        try:
            token_ids(ids, cfg.vocab_size, cfg.max_seq_len)
        except InvalidArgumentError as exc:
            raise VerificationError("statement", "input ids outside the model's vocabulary or "
                                    f"length: {exc}") from None
        if out.shape[0] != cfg.d_model:
            raise VerificationError("statement", "output has the wrong length")
        _check_output_range(model, out)
        answer, c_ids, c_out = None, ids, out
    try:
        circuit = model_circuit.build_circuit(model, c_ids.shape[0], c_out, check_bounds=False)
    except (UnsupportedOpError, FieldRangeError) as exc:
        raise _invalid_model(exc) from None

    def precheck() -> None:
        # before any segment is accepted (in the second process when there are two): every
        # identity's field bound (e.g. a key whose public tables or multipliers do not fit the
        # field), then the security floor's whole figure (the circuit fixes every sumcheck and
        # look-up size)
        try:
            model_circuit.check_field_bounds(circuit)  # the check build_circuit left out
        except (UnsupportedOpError, FieldRangeError) as exc:
            raise _invalid_model(exc) from None
        require(pcs, min_bits, allow_insecure, allow_conjectured, circuit, proof)

    trace_com = pcs.decode_commitment(proof.trace_commitment)
    weight_com = pcs.decode_commitment(vk.weight_commitment)
    _check_layout(trace_com, segment_parts(circuit).shape, "trace commitment")
    _check_layout(weight_com, segment_parts(circuit, weights=True).shape, "weight commitment")
    transcript = statement_transcript(vk, ids, out, answer)
    transcript.append_bytes(b"trace-commitment", proof.trace_commitment)
    with single_blas_thread():  # small exact products; two verifying processes share the cores
        verify_circuit(verifier_context(circuit, c_ids, transcript, pcs=pcs, trace=trace_com,
                                        weight=weight_com), proof.body, processes=processes,
                       precheck=precheck)
    return True


def _invalid_model(exc: Exception) -> VerificationError:
    return VerificationError("statement", f"the verifying key's model is invalid: {exc}")


def _processes(processes: object) -> int:
    """The verifying processes to use: ``None`` gives two on a machine with two cores or more.

    Raises:
        InvalidArgumentError: not ``None``, 1 or 2.
    """
    import os

    if processes is None:
        return 2 if (os.cpu_count() or 1) >= 2 else 1
    if isinstance(processes, bool) or processes not in (1, 2):
        raise InvalidArgumentError(f"processes must be None, 1 or 2, got {processes!r}")
    return int(processes)


def _decoder_statement(model, prompt: np.ndarray, generated: np.ndarray, proof: Proof):
    """A decoder's statement (:class:`~zkinfer.statement.Answer`): the prompt and answer given
    to :func:`verify` with the proof's ``max_new_tokens`` and predictions, checked against the
    stop rule, the vocabulary and the context length before anything becomes a field element.

    Raises:
        VerificationError: ``check == "statement"``, naming the broken rule.
    """
    from zkinfer.statement import Answer

    try:
        answer = Answer(prompt, generated, proof.max_new_tokens, proof.predictions)
        answer.check(model.config.vocab_size, model.config.max_seq_len, stop_ids(model))
    except InvalidArgumentError as exc:
        raise VerificationError("statement", str(exc)) from None
    return answer


def _check_output_range(model, out: np.ndarray) -> None:
    """The output is public and untrusted: every coordinate must lie in the range its width
    fixes (derived from the public parameters and checked against the key's widths when the key
    was decoded) before it becomes a field element. Without this a prover could add
    ``(rem - rem') n^-1 mod p`` to a coordinate and keep the pooling identity true mod p."""
    bits, signed = model.widths["pool.mean"]
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    bad = np.flatnonzero((out < lo) | (out > hi))
    if bad.size:
        i = int(bad[0])
        raise VerificationError("statement", f"output[{i}] = {int(out[i])} is outside the model's "
                                f"output range [{lo}, {hi}]")


def _check_layout(commitment, parts, what: str) -> None:
    """The commitment must have the circuit's parts (one per segment, each the size and
    length the segment's columns fix)."""
    if getattr(commitment, "parts", None) != parts:
        raise VerificationError(what, "committed columns do not match the circuit")

