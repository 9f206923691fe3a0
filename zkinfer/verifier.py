"""The verifier: numpy only (no numba, no model kernels, no prover code).

``verify(vk, ids, output, proof)``: decode, rebuild the circuit from the verifying key and the
public input/output, replay the transcript, check every relation and both openings.
"""

from __future__ import annotations

import numpy as np

from zkinfer.errors import FieldRangeError, VerificationError
from zkinfer.proof import Proof, VerifyingKey, statement_transcript

__all__ = ["verify"]


def _as_int64(values, what: str) -> np.ndarray:
    """A 1-D integer array as int64, refusing values that int64 cannot hold (a uint64 above
    ``2^63 - 1`` would otherwise wrap to a negative number)."""
    arr = np.asarray(values)
    if arr.ndim != 1 or arr.dtype.kind not in "iu":
        raise VerificationError("statement", f"{what} must be a 1-D integer array")
    if arr.dtype.kind == "u" and arr.size and int(arr.max()) > np.iinfo(np.int64).max:
        raise VerificationError("statement", f"{what} holds a value beyond int64")
    return arr.astype(np.int64)


def _as_ids(ids) -> np.ndarray:
    return _as_int64(ids, "input ids")


def verify(vk: VerifyingKey | bytes, ids, output, proof: Proof | bytes) -> bool:
    """Check that ``proof`` shows the model of ``vk`` maps ``ids`` to ``output``.

    Arguments:
        vk: the verifying key (object or bytes).
        ids: the public input token ids.
        output: the claimed public output (the pooled integer vector).
        proof: the proof (object or bytes).

    Returns:
        ``True``.

    Raises:
        ProofFormatError: ``vk`` or ``proof`` bytes are malformed.
        VerificationError: the proof is rejected; the message names the failed check.
    """
    from zkinfer.commit import pcs_from_params
    from zkinfer.protocol.circuit import UnsupportedOpError
    from zkinfer.protocol.engine import Statement, verify_circuit
    from zkinfer.protocol.model_circuit import build_circuit

    if not isinstance(vk, VerifyingKey):
        vk = VerifyingKey.from_bytes(vk)
    pcs = pcs_from_params(vk.pcs_params)
    if not isinstance(proof, Proof):
        proof = Proof.from_bytes(proof)
    ids = _as_ids(ids)
    out = _as_int64(output, "output")
    if proof.vk_digest != vk.digest:
        raise VerificationError("statement", "the proof was made for another verifying key")
    if not np.array_equal(proof.ids, ids):
        raise VerificationError("statement", "the proof is for another input")
    if not np.array_equal(proof.output, out):
        raise VerificationError("statement", "the proof is for another output")
    model = vk.model()
    cfg = model.config
    if not 1 <= ids.shape[0] <= cfg.max_seq_len or ids.min() < 0 or ids.max() >= cfg.vocab_size:
        raise VerificationError("statement", "input ids outside the model's vocabulary or length")
    if out.shape[0] != cfg.d_model:
        raise VerificationError("statement", "output has the wrong length")
    _check_output_range(model, out)
    try:
        circuit = build_circuit(model, ids.shape[0], out)
    except (UnsupportedOpError, FieldRangeError) as exc:
        # e.g. a key whose public tables or multipliers do not fit the field
        raise VerificationError("statement", f"the verifying key's model is invalid: {exc}") \
            from None
    trace_com = pcs.decode_commitment(proof.trace_commitment)
    weight_com = pcs.decode_commitment(vk.weight_commitment)
    _check_layout(trace_com, circuit.trace, "trace commitment")
    _check_layout(weight_com, circuit.weights, "weight commitment")
    transcript = statement_transcript(vk, ids, out)
    transcript.append_bytes(b"trace-commitment", proof.trace_commitment)
    verify_circuit(circuit, Statement(ids), list(proof.steps), pcs, trace_com, weight_com,
                   transcript)
    return True


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


def _check_layout(commitment, cols, what: str) -> None:
    want = tuple(c.num_vars for c in cols.values())
    if commitment.layout.num_vars != want:
        raise VerificationError(what, "committed columns do not match the circuit")

