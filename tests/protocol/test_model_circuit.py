"""The model's circuit: the shared part carries no advice rules, the prover's adds exactly the
witness plan, the weight columns need no trace, and the committed look-up multiplicities are
the forward's plus the padding."""

from __future__ import annotations

import math

import numpy as np
import pytest

from zkinfer.errors import ModelError
from zkinfer.field import goldilocks as gl
from zkinfer.model.check import check_trace
from zkinfer.model.forward import forward
from zkinfer.models import tiny, tiny_mlp
from zkinfer.protocol.circuit import TableRel
from zkinfer.protocol.model_circuit import (
    build_circuit,
    weight_columns,
    weight_matrices,
    witness_plan,
)
from zkinfer.protocol.witness import _unchecked_witness, build_witness


@pytest.mark.parametrize("make", [tiny, tiny_mlp])
def test_witness_plan_computes_advice_columns_of_the_circuit_only(make):
    # the circuit (both sides) holds no rule; the plan (the prover's) names committed columns
    # that the forward does not produce, in the order the gadgets register them
    model = make()
    ids = np.arange(6, dtype=np.int64)
    trace = forward(model, ids)
    circuit = build_circuit(model, 6, trace.output)
    plan = witness_plan(model, 6)
    assert not hasattr(circuit, "advice")
    assert plan and set(plan) <= set(circuit.trace)
    assert not set(plan) & set(trace)
    order = [name for name in circuit.trace if name in plan]
    assert list(plan) == order


@pytest.mark.parametrize("make", [tiny, tiny_mlp])
def test_weight_columns_are_the_circuits(make):
    model = make()
    cols = weight_columns(model)
    assert list(cols) == list(weight_matrices(model))
    for n in (1, 7):
        assert build_circuit(model, n, np.zeros(model.config.d_model, dtype=np.int64)).weights == cols


def _recount(circuit, rel, witness) -> np.ndarray:
    """The rows the committed look-up ``rel`` reads, counted: its real entries at their values
    plus ``offset``, its padded entries (zero) at ``offset``."""
    col = circuit.trace[rel.src]
    src = gl.decode_signed(witness[rel.src]).reshape(col.padded_shape)
    real = np.zeros(col.padded_shape, dtype=bool)
    real[tuple(slice(0, s) for s in col.shape)] = True
    idx = np.where(real, src + rel.offset, rel.offset).reshape(-1)
    return np.bincount(idx, minlength=circuit.tables[rel.table].shape[0])


@pytest.mark.parametrize("make, n", [(tiny, 6), (tiny, 8), (tiny_mlp, 5)])
def test_committed_lookup_multiplicities_are_the_forwards_plus_the_padding(make, n):
    model = make()
    ids = np.arange(n, dtype=np.int64)
    trace = forward(model, ids)
    circuit = build_circuit(model, n, trace.output)
    witness = build_witness(circuit, dict(trace), witness_plan(model, n))
    rels = [r for r in circuit.relations if isinstance(r, TableRel)]
    assert rels
    for rel in rels:
        col = circuit.trace[rel.src]
        committed = gl.decode_signed(witness[rel.mult])
        # what the look-up reads, counted from the committed looked-up column
        assert committed.tolist() == _recount(circuit, rel, witness).tolist()
        # = the forward's counts, zero-extended, plus the padded entries at row `offset`
        mult = trace[f"{rel.name}.exp_mult" if rel.name.endswith(".softmax") else f"{rel.name}.mult"]
        want = np.zeros(circuit.tables[rel.table].shape[0], dtype=np.int64)
        want[: mult.shape[0]] = mult
        want[rel.offset] += math.prod(col.padded_shape) - math.prod(col.shape)
        assert committed.tolist() == want.tolist()


@pytest.mark.parametrize("column", ["layer0.ffn.act.mult", "layer1.attn.softmax.exp_mult"])
def test_trace_multiplicities_disagreeing_with_the_lookups_refused(column):
    model = tiny()
    ids = np.arange(8, dtype=np.int64)
    trace = forward(model, ids)
    mult = trace[column]
    # one count moved to another row: the total and the declared width stay right
    j, k = int(np.flatnonzero(mult)[0]), int(np.flatnonzero(mult == 0)[0])
    mult[j] -= 1
    mult[k] += 1
    with pytest.raises(ModelError, match=rf"{column} == counts of the looked-up rows"):
        check_trace(model, ids, trace)


def test_witness_refuses_values_outside_their_range_checks_unless_unchecked():
    model = tiny_mlp()
    ids = np.arange(5, dtype=np.int64)
    trace = dict(forward(model, ids))
    circuit = build_circuit(model, 5, trace["pool.mean"])
    name = "layer0.ffn.up.rem"
    trace[name] = trace[name].copy()
    trace[name][0, 0] = -1  # rem >= 0 is a range check
    plan = witness_plan(model, 5)
    with pytest.raises(ValueError, match=f"{name}: value outside its"):
        build_witness(circuit, trace, plan)
    tables = _unchecked_witness(circuit, trace, plan)
    assert list(tables) == [*circuit.trace, *circuit.linear]
