"""The prover: model commitment (:func:`setup`) and proofs of inference (:func:`prove`).

``prove``: Numba forward -> trace -> padded witness (advice, limbs, multiplicities) -> one
batch commitment of the trace -> the relation schedule of :mod:`zkinfer.protocol.engine` ->
one opening for the trace commitment and one for the weights.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Iterator

import numpy as np

from zkinfer._memory import release
from zkinfer.errors import InvalidArgumentError, ModelError, ZkinferError
from zkinfer.model.intmodel import is_decoder
from zkinfer.progress import COMMIT_STEPS, OPEN_STEPS, Listenable, Tracker, prefixed, resolve
from zkinfer.proof import (
    Proof,
    ProvingKey,
    VerifyingKey,
    encode_public_model,
    statement_transcript,
)
from zkinfer.protocol.model_circuit import (
    build_circuit,
    placeholder_output,
    weight_columns,
    weight_matrices,
    weight_parts,
    witness_plan,
)
from zkinfer.protocol.witness import Tables, real_columns, segment_witness, weight_table
from zkinfer.statement import Answer

__all__ = ["setup", "prove", "prove_many"]


def _default_pcs():
    from zkinfer.commit import LigeroPCS

    # rate 1/4 (154 queries instead of ~250 at rate 1/2): proofs ~20% smaller for ~30% more
    # commit time and twice the encoded matrix in memory; 104 bits per opening keep the whole
    # proof (two openings plus the field terms of up to 2^27 look-ups, MiniLM at 256 tokens)
    # above the verifier's 100-bit floor
    return LigeroPCS(log_blowup=2, target_bits=104.0)


def setup(model, pcs=None, progress=None) -> tuple[VerifyingKey, ProvingKey]:
    """Commit a model's weights and fix its public parameters.

    Arguments:
        model: an integer model (:mod:`zkinfer.models`).
        pcs: the commitment scheme (default: ``LigeroPCS(log_blowup=2, target_bits=104)``,
            rate 1/4, >= 100 bits).
        progress: ``None``/``False`` (silent), ``True`` (a :class:`~zkinfer.progress.ProgressBar`
            on stderr) or a ``progress(stage, done, total)`` callable; the stages are
            ``"committing the weights: <step>"`` for the steps of
            :data:`~zkinfer.progress.COMMIT_STEPS` (tables built, rows encoded, columns hashed,
            Merkle layers).

    Returns:
        ``(vk, pk)``: the verifying key (public, serializable) and the proving key (holds the
        weights; :meth:`ProvingKey.save <zkinfer.proof.ProvingKey.save>` writes it to a
        directory that :meth:`ProvingKey.load <zkinfer.proof.ProvingKey.load>` maps back).

    Raises:
        ModelError: the model is invalid (the checks a verifying key's decoder makes), or a
            declared width differs from the one the public parameters fix.
        UnsupportedOpError: the model has an operation the prover cannot prove yet.
        FieldRangeError: the circuit of the longest input (``max_seq_len`` tokens) breaks the
            field bound of some identity (:mod:`zkinfer.protocol.bounds`).
    """
    from zkinfer.model.intmodel import check_declared_widths, validate
    from zkinfer.protocol.engine import commit_segments

    callback, owned = resolve(progress)
    tracker = None if callback is None else Tracker(
        callback, [("committing the weights", 1.0)], steps={"committing the weights": COMMIT_STEPS})
    try:
        # the verifier rederives every width the public parameters fix: refuse a model whose
        # declared widths differ now, not at the first verification
        validate(model, complete=True)
        check_declared_widths(model)
        # every statement up to the longest input must be provable: the circuit of the longest
        # (whose field bounds are the widest) must build; the output does not change its shape
        cfg = model.config
        build_circuit(model, cfg.max_seq_len, placeholder_output(model, cfg.max_seq_len))
        pcs = pcs or _default_pcs()
        sub = prefixed(tracker, "committing the weights")
        columns = weight_columns(model)
        matrices = weight_matrices(model)
        parts = weight_parts(model)

        def segment_tables(s: int) -> dict:
            # one segment's weights at a time
            if sub is not None:
                sub("building tables", s, len(parts.names))
            return {name: weight_table(matrices[name], columns[name]) for name in parts.names[s]}

        commitment, data = commit_segments(pcs, parts, segment_tables, progress=sub)
        release()
        if sub is not None:
            sub("building tables", len(parts.names), len(parts.names))
        vk = VerifyingKey(encode_public_model(model), pcs.params_bytes(), commitment.to_bytes())
        # the weight tables are views into the committed parts (no second copy)
        pk = ProvingKey(model, pcs, vk, commitment, data, parts.views(data))
        if tracker is not None:
            tracker.finish()
        return vk, pk
    finally:
        if owned:
            callback.close()


#: The prover's phases (stage prefixes) and their cost in microseconds per entry, measured on
#: a 16-token MiniLM proof on the 2-core reference machine: the trace phases scale with the
#: forward's padded trace entries, the weight opening with the committed weight entries. Only
#: the overall ETA uses them (a rough model: proportions matter, not the seconds).
_TRACE_COSTS = (
    ("integer forward", 0.02),
    ("committing the trace", 1.1),
    (("relation", "identities", "range checks"), 2.75),
    ("opening the trace commitment", 1.2),
)
_WEIGHT_OPENING_COST = 0.52


def _prove_tracker(callback, pk: ProvingKey, n: int, overall=None, cluster: bool = False
                   ) -> Tracker:
    """The :class:`~zkinfer.progress.Tracker` of one proof on ``n`` tokens (``cluster``: made
    by :func:`zkinfer.cluster.prove`, which reports whole segments committed and proven)."""
    from zkinfer.estimate import forward_padded

    try:  # the forward's columns, each axis padded to a power of two as the prover commits them
        trace = float(forward_padded(pk.model, max(1, n)))
    except (ZkinferError, ValueError):  # a bad input: the forward reports it
        trace = 0.0
    weights = float(sum(pk.weight_commitment.parts.used))
    phases = [(prefix, cost * trace) for prefix, cost in _TRACE_COSTS]
    phases.append(("opening the weight commitment", _WEIGHT_OPENING_COST * weights))
    steps = {"committing the trace": COMMIT_STEPS,
             "opening the trace commitment": OPEN_STEPS,
             "opening the weight commitment": OPEN_STEPS}
    # the engine counts every step: the segments' relations, identities and range checks are
    # all but the last two (the openings)
    span = {("relation", "identities", "range checks"):
            lambda done, total: done / max(1, total - 2)}
    if cluster:
        phases[2] = ("proving segments", phases[2][1])
        del steps["committing the trace"]
        span = {}
    return Tracker(callback, phases, steps=steps, span=span, overall=overall)


def prove(pk: ProvingKey, ids: np.ndarray, progress=None, *, executor=None,
          max_new_tokens: int | None = None) -> Proof:
    """Run the model on ``ids`` and prove the output.

    Arguments:
        pk: from :func:`setup` or :meth:`ProvingKey.load <zkinfer.proof.ProvingKey.load>`.
        ids: token ids, a 1-D integer numpy array.
        progress: ``None``/``False`` (silent), ``True`` (a :class:`~zkinfer.progress.ProgressBar`
            on stderr with per-stage and overall ETAs) or a ``progress(stage, done, total)``
            callable (see :mod:`zkinfer.progress` for the stages). The proof does not depend
            on it.
        executor: ``None`` (this process) or a ``distributed.Client`` whose workers do each
            segment's work (:func:`zkinfer.cluster.prove`; the same proof, byte for byte).
        max_new_tokens: a decoder's generation limit (required for a decoder, refused for an
            encoder): ``ids`` is the prompt; the greedy answer is generated, then proven.

    Returns:
        The :class:`~zkinfer.proof.Proof`; ``proof.output`` is the pooled integer vector (a
        decoder's: the generated ids).

    Raises:
        ModelError: bad input.
    """
    callback, owned = resolve(progress)
    try:
        if executor is not None:
            from zkinfer import cluster


            cluster._check_client(executor)
            tracker = None if callback is None else _prove_tracker(
                callback, pk, int(np.shape(ids)[0]) if np.ndim(ids) == 1 else 1, cluster=True)
            proof = cluster.prove(pk, ids, executor, tracker, max_new_tokens=max_new_tokens)
            if tracker is not None:
                tracker.finish()
            return proof
        return _prove_one(pk, ids, callback, max_new_tokens=max_new_tokens)
    finally:
        if owned:
            callback.close()
        _stop_threads()


def _stop_threads() -> None:
    """End the prover's background threads (the spill writer's), so that the process runs
    none of ours once a proof is returned (see :func:`zkinfer.verify`'s second process)."""
    import sys

    ligero = sys.modules.get("zkinfer.commit.ligero.prover")
    if ligero is not None:
        ligero.stop_writer()


_LLAMAS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def generate(model, prompt: np.ndarray, max_new_tokens: int) -> np.ndarray:
    """A decoder's greedy answer to ``prompt`` (the integer model with a KV cache, stopping
    after a stop id or ``max_new_tokens`` tokens): the tokens a proof of the answer states.

    Raises:
        ModelError: not a decoder, a bad prompt or limit, or too many positions.
    """
    from zkinfer.model.decoder import llama_of
    from zkinfer.model.intmodel import is_decoder, stop_ids

    if not is_decoder(model):
        raise ModelError("generation needs a decoder model")
    if model.config.block == "gpt2":
        return _generate_by_forwards(model, prompt, max_new_tokens, set(stop_ids(model).tolist()))
    if model not in _LLAMAS:
        _LLAMAS[model] = llama_of(model)
    return _LLAMAS[model].generate(prompt, max_new_tokens, stop_ids(model).tolist())


def _generate_by_forwards(model, prompt: np.ndarray, max_new_tokens: int, stops: set[int]
                          ) -> np.ndarray:
    """Greedy decoding by one whole forward per token (no KV cache: a ``gpt2`` model's
    integer semantics exist only as the forward of :mod:`zkinfer.model.ops`)."""
    from zkinfer.model.forward import forward

    ids = [int(t) for t in np.asarray(prompt, dtype=np.int64)]
    out: list[int] = []
    while len(out) < max_new_tokens:
        token = int(forward(model, np.asarray(ids, dtype=np.int64)).output[-1])
        out.append(token)
        ids.append(token)
        if token in stops:
            break
    return np.asarray(out, dtype=np.int64)


def _answer(pk: ProvingKey, prompt, max_new_tokens) -> Answer | None:
    """The answer a decoder proof states, generated (its predictions are filled in by
    :func:`_predictions` once the forward has run); ``None`` for an encoder.

    Raises:
        InvalidArgumentError: ``max_new_tokens`` missing or bad for a decoder, or given for an
            encoder.
        ModelError: too many positions.
    """
    if not is_decoder(pk.model):
        if max_new_tokens is not None:
            raise InvalidArgumentError("prove(): max_new_tokens is for decoders; this model is "
                                       "an encoder")
        return None
    cfg = pk.model.config
    if max_new_tokens is None:
        raise InvalidArgumentError("prove(): a decoder proves an answer: pass max_new_tokens")
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, (int, np.integer)) \
            or not 1 <= max_new_tokens <= cfg.max_seq_len:
        raise InvalidArgumentError(f"prove(): max_new_tokens must be an int in [1, "
                                   f"{cfg.max_seq_len}], got {max_new_tokens!r}")
    prompt = np.asarray(prompt, dtype=np.int64)
    if prompt.shape[0] + int(max_new_tokens) - 1 > cfg.max_seq_len:
        raise ModelError(f"{prompt.shape[0]} prompt tokens + {max_new_tokens} new tokens exceed "
                         f"the model's {cfg.max_seq_len} positions")
    generated = generate(pk.model, prompt, int(max_new_tokens))
    return Answer(prompt, generated, int(max_new_tokens), np.zeros(0, dtype=np.int64))


def _predictions(answer: Answer | None, output: np.ndarray) -> None:
    """Fill a decoder answer's predictions from the forward's greedy tokens (``output``, one
    per position), which must end with the generated answer."""
    if answer is None:
        return
    P = answer.prompt.shape[0]
    if not np.array_equal(output[P - 1:], answer.generated):  # pragma: no cover - a bug
        raise ModelError("the forward's greedy tokens differ from the generated answer")
    answer.predictions = output[: P - 1].copy()


def _statement(pk: ProvingKey, ids: np.ndarray, output: np.ndarray, answer: Answer | None):
    """The statement's transcript: the circuit's ids and output, or a decoder's answer."""
    if answer is None:
        return statement_transcript(pk.vk, ids, output)
    return statement_transcript(pk.vk, answer.prompt, answer.generated, answer)


def _proof(pk: ProvingKey, ids: np.ndarray, output: np.ndarray, commitment: bytes, body,
           answer: Answer | None) -> Proof:
    """The proof of the circuit's ``(ids, output)``, or of a decoder's answer."""
    if answer is None:
        return Proof(pk.vk.digest, ids, output, commitment, body)
    return Proof(pk.vk.digest, answer.prompt, answer.generated, commitment, body,
                 answer.max_new_tokens, answer.predictions)


def _prove_one(pk: ProvingKey, ids, callback, overall=None, max_new_tokens=None) -> Proof:
    """One proof, its stages reported to ``callback`` (if any) through a tracker."""
    from zkinfer.model.forward import forward

    answer = _answer(pk, ids, max_new_tokens)
    if answer is not None:
        ids = answer.ids
    progress = None if callback is None else _prove_tracker(
        callback, pk, int(np.shape(ids)[0]) if np.ndim(ids) == 1 else 1, overall=overall)
    if progress is not None:
        progress("integer forward", 0, 1)
    trace = forward(pk.model, ids)
    if progress is not None:
        progress("integer forward", 1, 1)
    columns, output = dict(trace.items()), np.asarray(trace.output, dtype=np.int64)
    del trace  # the columns are consumed by the witness
    _predictions(answer, output)
    proof = _prove_trace(pk, np.asarray(ids, dtype=np.int64), columns, output,
                         progress=progress, consume=True, answer=answer)
    if progress is not None:
        progress.finish()
    return proof


def prove_many(pk: ProvingKey, inputs: Iterable[np.ndarray], progress=None) -> Iterator[Proof]:
    """Prove many inputs with one proving key, yielding the proofs in order.

    Each proof is the one :func:`prove` makes for that input (the same bytes). What does not
    depend on the input is shared: the proving key (one setup or one
    :meth:`~zkinfer.proof.ProvingKey.load`; its memory-mapped pages stay cached), the compiled
    kernels and one progress bar for the whole batch.

    Arguments:
        pk: from :func:`setup` or :meth:`ProvingKey.load <zkinfer.proof.ProvingKey.load>`.
        inputs: an iterable of 1-D integer token-id arrays (consumed lazily, one at a time).
        progress: as for :func:`prove`; each stage is reported as ``"proof k/N: <stage>"``
            (``"proof k: <stage>"`` when ``inputs`` has no length), and a callable's
            ``overall(fraction)`` (e.g. a :class:`~zkinfer.progress.ProgressBar`'s) covers the
            whole batch when its length is known.

    Yields:
        One :class:`~zkinfer.proof.Proof` per input, in order; a bad input raises
        ``ModelError`` when its turn comes (the proofs before it were already yielded).
    """
    callback, owned = resolve(progress)
    count = len(inputs) if hasattr(inputs, "__len__") else None
    whole = getattr(callback, "overall", None)
    try:
        for k, ids in enumerate(inputs):
            label = f"proof {k + 1}/{count}" if count is not None else f"proof {k + 1}"
            overall = None
            if whole is not None and count:
                def overall(f: float, k: int = k) -> None:
                    whole((k + f) / count)
            proof = _prove_one(pk, ids, prefixed(callback, label), overall)
            _stop_threads()  # none of ours runs while the caller holds the proof
            yield proof
    finally:
        if owned:
            callback.close()
        _stop_threads()


def _prove_trace(pk: ProvingKey, ids: np.ndarray, columns: dict[str, np.ndarray],
                 output: np.ndarray, progress=None, *, strict: bool = True,
                 consume: bool = False, answer: Answer | None = None) -> Proof:
    """Prove the trace ``columns`` of ``ids`` (from the integer forward in :func:`prove`).

    ``strict=False`` (only :func:`zkinfer.testing.prove_trace` passes it, for tests of cheating
    provers) commits values outside their range checks anyway, their limbs keeping the low bits.
    ``consume=True`` empties ``columns`` once the witness is built (their memory is freed).

    Raises:
        ModelError: a trace value does not fit the circuit's range checks (``strict``).
    """
    from zkinfer.protocol.engine import (
        commit_segments,
        prove_circuit,
        prover_context,
        segment_parts,
    )

    sub = prefixed(progress, "committing the trace")
    if sub is not None:
        sub("building tables", 0, 1)
    circuit = build_circuit(pk.model, ids.shape[0], output)
    try:
        real = real_columns(circuit, columns, witness_plan(pk.model, ids.shape[0]))
    except ValueError as exc:
        raise ModelError(f"trace does not fit the circuit: {exc}") from exc
    if consume:
        columns.clear()
    # a transcript that lets the openings count their sumcheck rounds (same bytes)
    # a decoder's statement is its answer; the circuit's ids and output derive from it
    transcript = Listenable.of(_statement(pk, ids, output, answer))
    if sub is not None:
        sub("building tables", 1, 1)
    tables = Tables(circuit)

    def segment_tables(s: int) -> dict:
        # one segment's witness at a time; the views and linear columns it computes are
        # dropped once it is committed
        try:
            return segment_witness(circuit, real, s, tables, strict)
        except ValueError as exc:
            raise ModelError(f"trace does not fit the circuit: {exc}") from exc

    def committed(s: int, views: dict) -> None:
        # from here on the segment's columns are views into its committed part (one copy)
        tables.base.update(views)
        tables.forget()

    # each segment's trace is encoded and hashed on its own (one part of the commitment)
    trace_com, trace_data = commit_segments(pk.pcs, segment_parts(circuit), segment_tables,
                                            committed=committed, progress=sub)
    real.clear()
    release()
    transcript.append_bytes(b"trace-commitment", trace_com.to_bytes())
    ctx = prover_context(circuit, ids, transcript, tables=tables, weights=pk.weight_tables,
                         pcs=pk.pcs, trace=(trace_com, trace_data),
                         weight=(pk.weight_commitment, pk.weight_data), progress=progress)
    return _proof(pk, ids, output, trace_com.to_bytes(), prove_circuit(ctx), answer)
