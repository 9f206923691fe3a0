"""The circuit of an integer model (:mod:`zkinfer.model`) for ``n`` tokens.

Reads only the public parts of the model (shapes, multipliers, shifts, clamp bounds, biases,
tables, declared widths): the verifier builds the same circuit from the verifying key. Weight
matrices (token and position tables, every linear's ``W``) are committed columns of the model
commitment; trace columns use the model's names (``layer0.ffn.up.acc``, ...), advice added by
the proof gets its own (``.below``, ``.above``, ``.lookup_mult``, limbs ``#rc0.l0``, ...).

Each op's gadget lives with the op (:meth:`zkinfer.model.ops.common.OpHome.gadget`, in the op's
module of :mod:`zkinfer.model.ops`, with the bound that makes its field identities integer
ones); this module runs them in the order of :func:`zkinfer.model.intmodel.ops`:

- :func:`build_circuit`: what prover and verifier share: columns, relations, identities and
  range checks, then the machine check of every identity's field bound
  (:mod:`zkinfer.protocol.bounds`);
- :func:`witness_plan`: the prover's rules for the advice columns the gadgets add (what
  :func:`zkinfer.protocol.witness.build_witness` evaluates beside the circuit);
- :func:`weight_columns`: the committed weight columns alone (no trace, no output needed).

Range checks: every trace column at its declared width (limbs of 16 bits), except products of
range-checked columns (attention scores and context accumulators), bounded by construction.
"""

from __future__ import annotations

import numpy as np

from zkinfer.model.intmodel import IntModel, is_decoder, ops
from zkinfer.model.ops import home
from zkinfer.protocol.bounds import check_field_bounds
from zkinfer.protocol.circuit import Circuit, Col, padded_bits

__all__ = ["build_circuit", "witness_plan", "weight_matrices", "weight_columns",
           "num_segments", "segment_of", "weight_segments", "weight_parts",
           "placeholder_output", "proof_circuit"]


def num_segments(model: IntModel) -> int:
    """How many segments the model's circuits split into: the embedding, then one per
    transformer block. Fixed by the model, never by the machine that proves it."""
    return 1 + len(model.layers)


def segment_of(op_name: str, segments: int) -> int:
    """The segment of an op: the embedding's ops (``emb*``) are segment 0 (its token table is
    usually the largest weight of all), block ``i``'s ops (``layer<i>.*``) segment ``i + 1``,
    and everything after the last block (final norm, pooling, head) joins the last segment."""
    if op_name.startswith("layer"):
        head = op_name[len("layer"):].split(".", 1)[0]
        if head.isdigit():
            return min(int(head) + 1, segments - 1)
    return 0 if op_name.startswith("emb") else segments - 1


def placeholder_output(model: IntModel, n: int) -> np.ndarray:
    """A zero output of the right shape for ``n`` tokens (the circuit's layout does not depend
    on the output's values): the pooled vector of an encoder, one token per position of a
    decoder."""
    return np.zeros(n if is_decoder(model) else model.config.d_model, dtype=np.int64)


def proof_circuit(model: IntModel, proof) -> Circuit:
    """The circuit of a proof's statement: its ids and output, or a decoder's forward ids and
    greedy tokens (:class:`~zkinfer.statement.Answer`)."""
    answer = proof.answer()
    if answer is None:
        return build_circuit(model, int(proof.ids.shape[0]),
                             np.asarray(proof.output, dtype=np.int64))
    return build_circuit(model, int(answer.ids.shape[0]), answer.output)


def weight_matrices(model: IntModel) -> dict[str, np.ndarray]:
    """The committed weight matrices by name, in commitment order (on the verifier's side of a
    verifying key they are shape-only placeholders)."""
    out: dict[str, np.ndarray] = {}
    for op in ops(model):
        out.update(home(op).weights(op, model))
    return out


def weight_segments(model: IntModel) -> dict[str, int]:
    """The segment of every committed weight column (that of the op it belongs to)."""
    segments = num_segments(model)
    out: dict[str, int] = {}
    for op in ops(model):
        for name in home(op).weights(op, model):
            # a weight read by several ops (a decoder's tied embedding: the embedding and the
            # LM head) belongs to the first one's segment
            out.setdefault(name, segment_of(op.name, segments))
    return out


def weight_parts(model: IntModel):
    """How the weight commitment splits into parts, one per segment
    (:class:`~zkinfer.protocol.engine.SegmentParts`); the same as every circuit's."""
    from zkinfer.protocol.engine import SegmentParts

    return SegmentParts.of(weight_columns(model), weight_segments(model), num_segments(model),
                           "weight")


def weight_columns(model: IntModel) -> dict[str, Col]:
    """The committed weight columns (real shape, padded bits) by name, in commitment order:
    those of every circuit of ``model``, whatever the number of tokens."""
    out = {}
    for name, matrix in weight_matrices(model).items():
        shape = tuple(int(s) for s in np.shape(matrix))
        out[name] = Col(name, shape, padded_bits(shape))
    return out


def build_circuit(model: IntModel, n: int, output: np.ndarray, check_bounds: bool = True
                  ) -> Circuit:
    """The circuit of ``model`` on ``n`` tokens with public pooled output ``output``, as both
    sides build it (no advice rules).

    ``check_bounds=False`` leaves :func:`~zkinfer.protocol.bounds.check_field_bounds` to the
    caller (the verifier runs it while a second process verifies segments); a circuit that
    skipped it must never be used without it.

    Raises:
        UnsupportedOpError: the model contains an op the prover cannot prove yet.
        FieldRangeError: an identity's field bound does not hold.
    """
    c = Circuit(num_segments=num_segments(model))
    c.weights.update(weight_columns(model))
    c.segments.update(weight_segments(model))
    for op in ops(model):
        c.segment = segment_of(op.name, c.num_segments)
        home(op).gadget(c, op, model, n, output)
    c.finish_ranges()
    # every identity must imply its integer statement (|.| < p / 2, machine-checked)
    if check_bounds:
        check_field_bounds(c)
    return c


def witness_plan(model: IntModel, n: int) -> dict:
    """The prover's advice rules for ``n`` tokens: ``name -> fn(columns) -> int array``
    computing each advice column of :func:`build_circuit` from the (real-shaped) trace
    columns, in the order the gadgets register the columns."""
    plan: dict = {}
    for op in ops(model):
        plan.update(home(op).advice(op, model, n))
    return plan
