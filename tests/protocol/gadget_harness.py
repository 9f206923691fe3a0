"""Prove and verify one op's gadget on its own: the op's input columns are committed trace
columns (range-checked at their given widths), the op's reference semantics fill its columns,
its advice rules the gadget's advice, and the circuit is proven with the trivial PCS.

Used by the gadget tests of the decoder ops: an honest run must verify, and each tampered
column must be rejected by the check the test names.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import SimpleNamespace

import numpy as np

from zkinfer.commit.trivial import TrivialPCS
from zkinfer.field import goldilocks as gl
from zkinfer.model.ops.common import signed_bits
from zkinfer.protocol.bounds import check_field_bounds
from zkinfer.protocol.circuit import Circuit, padded_bits
from zkinfer.protocol.engine import (
    commit_segments,
    prove_circuit,
    prover_context,
    segment_parts,
    verifier_context,
    verify_circuit,
)
from zkinfer.protocol.witness import _unchecked_witness
from zkinfer.transcript import Transcript

__all__ = ["GadgetRun", "run_gadget"]

D = b"tests/gadget"


class GadgetRun(SimpleNamespace):
    """What :func:`run_gadget` built: ``circuit``, ``trace`` (the columns, real shapes),
    ``model`` (the namespace the op saw) and ``prove()`` (proves and verifies; raises
    :class:`~zkinfer.errors.VerificationError` on a rejection)."""


def run_gadget(home, op, inputs: Mapping[str, tuple[np.ndarray, tuple[int, bool]]], n: int, *,
               ids: np.ndarray | None = None, output: np.ndarray | None = None,
               config: object = None, weights: Mapping[str, np.ndarray] | None = None,
               tamper: Callable[[dict], None] | None = None) -> GadgetRun:
    """Build the circuit of ``op`` alone and its witness.

    Arguments:
        home: the op's :class:`~zkinfer.model.ops.common.OpHome`.
        op: the op.
        inputs: ``column -> (int64 array, (bits, signed))``: the columns it reads.
        n: number of tokens.
        ids: the public token ids (default ``0..n-1``).
        output: the public output, if the op reads it.
        config: what the op reads as ``model.config`` (any object).
        weights: committed weight matrices by name (default: ``home.weights(op, model)``).
        tamper: called with the trace columns (real shapes) before the witness is built.
    """
    widths = {name: tuple(w) for name, (_, w) in inputs.items()}
    model = SimpleNamespace(config=config, widths=widths)
    for name, _shape, _kind, width, _doc in home.columns(op, model, n, widths, None):
        widths[name] = tuple(width)
    ids = np.arange(n, dtype=np.int64) if ids is None else np.asarray(ids, dtype=np.int64)
    out = np.zeros(1, dtype=np.int64) if output is None else np.asarray(output, dtype=np.int64)
    weights = dict(home.weights(op, model) if weights is None else weights)
    c = Circuit()
    for name, w in weights.items():
        c.add_weight(name, np.shape(w))
    for name, (arr, w) in inputs.items():
        c.add_trace(name, arr.shape, w)
    home.gadget(c, op, model, n, out)
    c.finish_ranges()
    check_field_bounds(c)
    trace = {name: np.asarray(arr, dtype=np.int64) for name, (arr, _) in inputs.items()}
    trace.update(home.reference(op, model, ids, dict(trace)))
    if tamper is not None:
        tamper(trace)
    plan = home.advice(op, model, n)

    def prove() -> None:
        tables = _unchecked_witness(c, dict(trace), plan)
        pcs = TrivialPCS()
        com = commit_segments(pcs, segment_parts(c), tables)
        wt = {}
        for name, w in weights.items():
            col = c.weights[name]
            pad = np.zeros(col.padded_shape, dtype=np.int64)
            pad[tuple(slice(0, s) for s in col.shape)] = w
            wt[name] = gl.encode_signed(pad.reshape(-1))
        if not wt:  # a commitment needs a column
            c.weights.setdefault("_w", c.add_weight("_w", (2,)))
            wt["_w"] = np.zeros(2, dtype=np.uint64)
        wcom = commit_segments(pcs, segment_parts(c, weights=True), wt)
        proof = prove_circuit(prover_context(c, ids, Transcript(D), tables=tables, weights=wt,
                                             pcs=pcs, trace=com, weight=wcom))
        verify_circuit(verifier_context(c, ids, Transcript(D), pcs=pcs, trace=com[0],
                                        weight=wcom[0]), proof)

    return GadgetRun(circuit=c, trace=trace, model=model, prove=prove)


def width_of(a: np.ndarray) -> tuple[int, bool]:
    """The smallest signed width holding ``a`` (for test inputs)."""
    return (signed_bits(int(a.min()), int(a.max())), True)


_ = padded_bits  # re-exported for tests that pad by hand
