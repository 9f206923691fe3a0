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

from zkinfer.model.intmodel import IntModel, ops
from zkinfer.model.ops import home
from zkinfer.protocol.bounds import check_field_bounds
from zkinfer.protocol.circuit import Circuit, Col, padded_bits

__all__ = ["build_circuit", "witness_plan", "weight_matrices", "weight_columns"]


def weight_matrices(model: IntModel) -> dict[str, np.ndarray]:
    """The committed weight matrices by name, in commitment order (on the verifier's side of a
    verifying key they are shape-only placeholders)."""
    out: dict[str, np.ndarray] = {}
    for op in ops(model):
        out.update(home(op).weights(op, model))
    return out


def weight_columns(model: IntModel) -> dict[str, Col]:
    """The committed weight columns (real shape, padded bits) by name, in commitment order:
    those of every circuit of ``model``, whatever the number of tokens."""
    out = {}
    for name, matrix in weight_matrices(model).items():
        shape = tuple(int(s) for s in np.shape(matrix))
        out[name] = Col(name, shape, padded_bits(shape))
    return out


def build_circuit(model: IntModel, n: int, output: np.ndarray) -> Circuit:
    """The circuit of ``model`` on ``n`` tokens with public pooled output ``output``, as both
    sides build it (no advice rules).

    Raises:
        UnsupportedOpError: the model contains an op the prover cannot prove yet.
        FieldRangeError: an identity's field bound does not hold.
    """
    c = Circuit()
    c.weights.update(weight_columns(model))
    for op in ops(model):
        home(op).gadget(c, op, model, n, output)
    c.finish_ranges()
    # every identity must imply its integer statement (|.| < p / 2, machine-checked)
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
