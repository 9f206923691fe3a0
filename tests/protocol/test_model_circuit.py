"""The model's circuit: the shared part carries no advice rules, the prover's adds exactly the
witness plan, and the weight columns need no trace."""

from __future__ import annotations

import numpy as np
import pytest

from zkinfer.model.forward import forward
from zkinfer.models import tiny, tiny_mlp
from zkinfer.protocol.model_circuit import (
    build_circuit,
    shared_circuit,
    weight_columns,
    weight_matrices,
    witness_plan,
)


@pytest.mark.parametrize("make", [tiny, tiny_mlp])
def test_shared_circuit_is_the_provers_without_advice_rules(make):
    model = make()
    ids = np.arange(6, dtype=np.int64)
    out = forward(model, ids).output
    shared = shared_circuit(model, 6, out)
    prover = build_circuit(model, 6, out)
    assert shared.advice == {}
    assert list(prover.advice) == list(witness_plan(model, 6))
    assert set(prover.advice) <= set(shared.trace)
    assert list(shared.trace.values()) == list(prover.trace.values())
    assert shared.relations == prover.relations
    assert shared.identities == prover.identities
    assert shared.ranges == prover.ranges


@pytest.mark.parametrize("make", [tiny, tiny_mlp])
def test_weight_columns_are_the_circuits(make):
    model = make()
    cols = weight_columns(model)
    assert list(cols) == list(weight_matrices(model))
    for n in (1, 7):
        assert build_circuit(model, n, np.zeros(model.config.d_model, dtype=np.int64)).weights == cols
