"""Statement-level cheating provers (tests only, never the public prover).

Each function produces a proof that passes every check of :func:`zkinfer.verify` except one
statement or layout check, so a test can assert that this check, and nothing before it, rejects
the proof (and a control can show that the proof is accepted once that check is gone):

- :func:`prove_committing`: the real prover's schedule, with polynomials the circuit does not
  have appended to one part of the trace commitment (:func:`with_extra`: the part's ``used``
  grows, every column keeps its offset). Every later message (relation proofs, openings) is
  derived from the transcript that absorbed *this* commitment, so the proof is consistent; only
  the commitment's layout differs from the circuit's;
- :func:`setup_committing`: the same for the weight commitment of a verifying key;
- :func:`vocab_padded` and :func:`prove_ids_beyond_vocab`: for a model whose vocabulary is not
  a power of two, a proof for token ids in ``[vocab_size, padded rows)``. The circuit pads the
  embedding table with zero rows, so the trace of the model with those zero rows made real
  tokens is exactly what the circuit expects; the prover's own id check (the forward pass's) is
  bypassed by running that padded model;
- :func:`statement_only`: a proof object carrying only a statement (digest, ids, output), no
  steps: enough for the checks that run before the transcript is replayed;
- :func:`relabel`: a proof with some fields replaced (``dataclasses.replace``);
- :func:`spans`: where each field and step lies in a proof's bytes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

import zkinfer
from zkinfer.commit import TrivialPCS
from zkinfer.commit.base import Parts
from zkinfer.model.forward import forward
from zkinfer.model.intmodel import IntModel
from zkinfer.proof import Proof, ProvingKey, VerifyingKey, encode_public_model, statement_transcript
from zkinfer.protocol.engine import (
    SegmentParts,
    commit_segments,
    prove_circuit,
    prover_context,
    segment_parts,
)
from zkinfer.protocol.model_circuit import (
    build_circuit,
    weight_columns,
    weight_matrices,
    weight_parts,
    witness_plan,
)
from zkinfer.protocol.witness import _unchecked_witness, build_witness, weight_table

__all__ = [
    "Honest",
    "honest",
    "relabel",
    "spans",
    "statement_only",
    "prove_committing",
    "setup_committing",
    "with_extra",
    "vocab_padded",
    "prove_ids_beyond_vocab",
]


@dataclass
class Honest:
    """An honest setup and proof: the material every statement-level attack starts from."""

    model: IntModel
    vk: VerifyingKey
    pk: ProvingKey
    ids: npt.NDArray[np.int64]
    cols: dict[str, np.ndarray]
    output: npt.NDArray[np.int64]
    proof: Proof


def honest(model: IntModel, ids: npt.ArrayLike, pcs=None) -> Honest:
    """Setup, the trace of ``ids`` and its honest proof (checked to verify)."""
    pcs = TrivialPCS() if pcs is None else pcs
    ids = np.asarray(ids, dtype=np.int64)
    vk, pk = zkinfer.setup(model, pcs)
    trace = forward(model, ids)
    cols = {k: np.array(v) for k, v in trace.items()}
    output = np.asarray(trace.output, dtype=np.int64)
    proof = prove_committing(pk, ids, cols, output)
    assert zkinfer.verify(vk, ids, output, proof, allow_insecure=isinstance(pcs, TrivialPCS))
    return Honest(model, vk, pk, ids, cols, output, proof)


def relabel(proof: Proof, **fields) -> Proof:
    """``proof`` with ``fields`` replaced (nothing else recomputed)."""
    return dataclasses.replace(proof, **fields)


def statement_only(vk: VerifyingKey, ids: npt.ArrayLike, output: npt.ArrayLike) -> Proof:
    """A proof object for the statement ``(vk, ids, output)`` with an empty trace commitment and
    no steps. The arrays are kept as given (any dtype or shape), so a test can reach a check on
    the statement itself without a prover."""
    return Proof(vk.digest, np.asarray(ids), np.asarray(output), b"", None)


def spans(proof: Proof) -> list[tuple[str, int, int]]:
    """``(name, start, end)`` byte ranges of the encoded proof, in order and covering it: the
    prefix fields (``magic``, ``version``, ``vk digest``, ``ids``, ``output``, ``max_new_tokens
    and predictions``, ``trace commitment``), ``segment count``, then per segment ``s``:
    ``segment <s> relation count``,
    ``segment <s> relation <k> <Step>`` (tag byte included), ``segment <s> identity count``,
    ``segment <s> identities <k>``, ``segment <s> ranges``; then ``trace_opening`` and
    ``weight_opening``."""
    from zkinfer.estimate import _part_bytes

    n_ids, n_out = len(proof.ids), len(proof.output)
    ids_end = 38 + 4 + 4 * n_ids
    out_end = ids_end + 4 + 8 * n_out
    answer_end = out_end + 4 + 4 + 4 * len(proof.predictions)
    marks = [("magic", 0, 4), ("version", 4, 6), ("vk digest", 6, 38), ("ids", 38, ids_end),
             ("output", ids_end, out_end),
             ("max_new_tokens and predictions", out_end, answer_end),
             ("trace commitment", answer_end, answer_end + 4 + len(proof.trace_commitment))]
    pos = marks[-1][2]

    def add(name: str, n: int) -> None:
        nonlocal pos
        marks.append((name, pos, pos + n))
        pos += n

    sizes = iter(size for _, _, size in _part_bytes(proof))  # each step's, in proof order
    add("segment count", 4)
    for s, seg in enumerate(proof.body.segments):
        add(f"segment {s} relation count", 4)
        for k, step in enumerate(seg.relations):
            add(f"segment {s} relation {k} {type(step).__name__}", next(sizes))
        add(f"segment {s} identity count", 4)
        for k in range(len(seg.identities)):
            add(f"segment {s} identities {k}", next(sizes))
        add(f"segment {s} ranges", next(sizes))
    for part in ("trace_opening", "weight_opening"):
        add(part, next(sizes))
    assert pos == len(proof.to_bytes())
    return marks


@dataclass(frozen=True)
class _Appended(SegmentParts):
    """:class:`~zkinfer.protocol.engine.SegmentParts` whose part ``part`` carries the vectors
    ``extra`` after its columns: every column keeps its offset (claims address it as the
    circuit does), only the commitment's shape (``used[part]``, maybe ``m``) differs."""

    part: int = 0
    extra: tuple = ()

    def vector(self, segment: int, tables) -> np.ndarray:
        out = super().vector(segment, tables)
        return np.concatenate([out, *self.extra]) if segment == self.part else out


def with_extra(parts: SegmentParts, extra: Sequence[npt.ArrayLike], part: int = -1,
               num_vars: int | None = None) -> SegmentParts:
    """``parts`` with the vectors ``extra`` (canonical field elements) appended to part
    ``part`` (default: the last): its ``used`` grows by their lengths, and ``m`` grows if the
    part no longer fits ``2^m`` entries; ``num_vars``: another ``m`` (at least that). Without
    ``extra`` and ``num_vars``: ``parts`` itself."""
    extra = tuple(np.asarray(e, dtype=np.uint64).reshape(-1) for e in extra)
    if not extra and num_vars is None:
        return parts
    part = range(len(parts.names))[part]
    used = list(parts.shape.used)
    used[part] += sum(e.shape[0] for e in extra)
    m = max(parts.shape.num_vars, (used[part] - 1).bit_length(), num_vars or 0)
    return _Appended(parts.names, parts.layouts, Parts(m, tuple(used)), part, extra)


def prove_committing(pk: ProvingKey, ids: npt.ArrayLike, columns: dict[str, np.ndarray],
                     output: npt.ArrayLike, extra: Sequence[npt.ArrayLike] = (),
                     strict: bool = True, part: int = -1, num_vars: int | None = None) -> Proof:
    """The prover's schedule (:func:`zkinfer.prover.prove_trace`) with the polynomials ``extra``
    committed after the circuit's trace columns of segment ``part`` (default: the last), in the
    same part (:func:`with_extra`).

    The circuit's columns keep their parts and offsets, so every relation's claims and the
    trace opening address them as the honest prover does; the extra entries are never
    claimed. The transcript absorbs the commitment actually sent, so all later challenges (and
    hence all later messages) are those an honest verifier replays. With ``extra=()`` this is
    the honest prover.

    Arguments:
        pk: the proving key.
        ids: the token ids of the statement.
        columns: the trace (the forward's integer columns, by name).
        output: the claimed output.
        extra: evaluation tables (canonical field elements, any lengths) to commit too.
        strict: as in :func:`zkinfer.prover.prove_trace`.
        part: the segment whose part carries ``extra``.
        num_vars: the parts' number of variables ``m``, if not the least that fits.
    """
    ids = np.asarray(ids, dtype=np.int64)
    output = np.asarray(output, dtype=np.int64)
    circuit = build_circuit(pk.model, ids.shape[0], output)
    witness = (build_witness if strict else _unchecked_witness)(circuit, columns,
                                                                witness_plan(pk.model, ids.shape[0]))
    transcript = statement_transcript(pk.vk, ids, output)
    # the committed columns become views into their parts
    commitment, data = commit_segments(
        pk.pcs, with_extra(segment_parts(circuit), extra, part, num_vars), witness)
    transcript.append_bytes(b"trace-commitment", commitment.to_bytes())
    ctx = prover_context(circuit, ids, transcript, tables=witness, weights=pk.weight_tables,
                         pcs=pk.pcs, trace=(commitment, data),
                         weight=(pk.weight_commitment, pk.weight_data))
    return Proof(pk.vk.digest, ids, output, commitment.to_bytes(), prove_circuit(ctx))


def setup_committing(model: IntModel, pcs, extra: Sequence[npt.ArrayLike] = (), part: int = -1
                     ) -> tuple[VerifyingKey, ProvingKey]:
    """:func:`zkinfer.setup` with the polynomials ``extra`` committed after the weight
    matrices of segment ``part`` (default: the last), in the same part (the verifying key's
    weight commitment then has a shape the circuit does not)."""
    columns, matrices = weight_columns(model), weight_matrices(model)
    tables = {name: weight_table(matrices[name], col) for name, col in columns.items()}
    commitment, data = commit_segments(pcs, with_extra(weight_parts(model), extra, part), tables)
    vk = VerifyingKey(encode_public_model(model), pcs.params_bytes(), commitment.to_bytes())
    return vk, ProvingKey(model, pcs, vk, commitment, data, tables)


def _padded_rows(vocab: int) -> int:
    return 1 << max(0, (vocab - 1).bit_length())


def vocab_padded(model: IntModel) -> IntModel:
    """``model`` with its token embedding padded by zero rows up to the next power of two, and
    its vocabulary widened to match: the table the circuit commits for ``model``, made whole."""
    rows = _padded_rows(model.config.vocab_size)
    tok = np.zeros((rows, model.tok_emb.shape[1]), dtype=model.tok_emb.dtype)
    tok[: model.tok_emb.shape[0]] = model.tok_emb
    config = dataclasses.replace(model.config, vocab_size=rows)
    return dataclasses.replace(model, config=config, tok_emb=tok)


def prove_ids_beyond_vocab(h: Honest, ids: npt.ArrayLike) -> Proof:
    """A proof, under ``h``'s key, that the model maps ``ids`` (some at or beyond the key's
    ``vocab_size``, below the padded number of rows) to the output of the zero-padded model.

    The trace comes from :func:`vocab_padded` (an id beyond the vocabulary selects a zero row of
    the committed, padded table), so every relation holds; only the statement is false."""
    ids = np.asarray(ids, dtype=np.int64)
    assert ids.max() >= h.model.config.vocab_size, "not an attack: every id is in the vocabulary"
    trace = forward(vocab_padded(h.model), ids)
    cols = {k: np.array(v) for k, v in trace.items()}
    return prove_committing(h.pk, ids, cols, np.asarray(trace.output, dtype=np.int64))
