"""The prover: model commitment (:func:`setup`) and proofs of inference (:func:`prove`).

``prove``: Numba forward -> trace -> padded witness (advice, limbs, multiplicities) -> one
batch commitment of the trace -> the relation schedule of :mod:`zkinfer.protocol.engine` ->
one opening for the trace commitment and one for the weights.
"""

from __future__ import annotations

import numpy as np

from zkinfer.errors import ModelError
from zkinfer.proof import (
    Proof,
    ProvingKey,
    VerifyingKey,
    encode_public_model,
    statement_transcript,
)
from zkinfer.protocol.model_circuit import build_circuit, weight_matrices
from zkinfer.protocol.witness import build_witness, weight_tables

__all__ = ["setup", "prove", "prove_trace"]


def _default_pcs():
    from zkinfer.commit import LigeroPCS

    # rate 1/4 (154 queries instead of ~250 at rate 1/2): proofs ~20% smaller for ~30% more
    # commit time and twice the encoded matrix in memory; 104 bits per opening keep the whole
    # proof (two openings plus the field terms of up to 2^27 look-ups, MiniLM at 256 tokens)
    # above the verifier's 100-bit floor
    return LigeroPCS(log_blowup=2, target_bits=104.0)


def setup(model, pcs=None) -> tuple[VerifyingKey, ProvingKey]:
    """Commit a model's weights and fix its public parameters.

    Arguments:
        model: an integer model (:mod:`zkinfer.models`).
        pcs: the commitment scheme (default: ``LigeroPCS(log_blowup=2, target_bits=104)``,
            rate 1/4, >= 100 bits).

    Returns:
        ``(vk, pk)``: the verifying key (public, serializable) and the proving key (holds the
        weights; never serialized).

    Raises:
        ModelError: the model is invalid (the checks a verifying key's decoder makes), or a
            declared width differs from the one the public parameters fix.
        UnsupportedOpError: the model has an operation the prover cannot prove yet.
    """
    from zkinfer.model.intmodel import check_declared_widths, validate

    # the verifier rederives every width the public parameters fix: refuse a model whose
    # declared widths differ now, not at the first verification
    validate(model, complete=True)
    check_declared_widths(model)
    pcs = pcs or _default_pcs()
    circuit = build_circuit(model, 1, np.zeros(model.config.d_model, dtype=np.int64))
    tables = weight_tables(circuit, weight_matrices(model))
    commitment, data = pcs.commit(tables)
    del tables
    vk = VerifyingKey(encode_public_model(model), pcs.params_bytes(), commitment.to_bytes())
    # the weight tables are views into the committed vector (no second copy)
    views = {name: data.layout.block(data.vector, k) for k, name in enumerate(circuit.weights)}
    pk = ProvingKey(model, pcs, vk, commitment, data, views)
    return vk, pk


def prove(pk: ProvingKey, ids: np.ndarray, progress=None) -> Proof:
    """Run the model on ``ids`` and prove the output.

    Arguments:
        pk: from :func:`setup`.
        ids: token ids, a 1-D integer numpy array.
        progress: optional ``progress(stage: str, done: int, total: int)`` callback, called
            at each stage (for progress bars).

    Returns:
        The :class:`~zkinfer.proof.Proof`; ``proof.output`` is the pooled integer vector.

    Raises:
        ModelError: bad input.
    """
    from zkinfer.model.forward import forward

    if progress is not None:
        progress("integer forward", 0, 1)
    trace = forward(pk.model, ids)
    return prove_trace(pk, np.asarray(ids, dtype=np.int64), dict(trace.items()),
                       np.asarray(trace.output, dtype=np.int64), progress=progress)


def prove_trace(pk: ProvingKey, ids: np.ndarray, columns: dict[str, np.ndarray],
                output: np.ndarray, strict: bool = True, progress=None) -> Proof:
    """Prove a given trace (the honest one comes from :func:`prove`).

    Exposed for tests of cheating provers: a trace that breaks the model's semantics yields a
    proof the verifier rejects (or an error here when a value leaves its range check).

    Arguments:
        strict: with ``False``, values outside their range checks are committed anyway (their
            limbs keep the low bits), to test that the verifier rejects such proofs.

    Raises:
        ModelError: a trace value does not fit the circuit's range checks (``strict``).
    """
    from zkinfer.protocol.engine import Statement, prove_circuit

    circuit = build_circuit(pk.model, ids.shape[0], output)
    try:
        witness = build_witness(circuit, columns, strict)
    except ValueError as exc:
        raise ModelError(f"trace does not fit the circuit: {exc}") from exc
    transcript = statement_transcript(pk.vk, ids, output)
    if progress is not None:
        progress("committing the trace", 0, 1)
    trace_com, trace_data = pk.pcs.commit([witness[name] for name in circuit.trace])
    # from here on the committed columns are views into the committed vector (one copy)
    for k, name in enumerate(circuit.trace):
        witness[name] = trace_data.layout.block(trace_data.vector, k)
    transcript.append_bytes(b"trace-commitment", trace_com.to_bytes())
    steps = prove_circuit(circuit, Statement(ids), witness, pk.weight_tables, pk.pcs,
                          (trace_com, trace_data), (pk.weight_commitment, pk.weight_data),
                          transcript, progress=progress)
    return Proof(pk.vk.digest, ids, output, trace_com.to_bytes(), tuple(steps))
