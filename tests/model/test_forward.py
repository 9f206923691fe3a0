"""The Numba forward equals the numpy reference bit for bit, and every trace identity holds."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.model.strategies import configs, qconfigs, token_ids
from zkinfer.errors import ModelError
from zkinfer.model import forward, forward_reference
from zkinfer.model.check import check_trace
from zkinfer.models import random_transformer, tiny


def assert_same_trace(a, b) -> None:
    assert list(a) == list(b)
    for name in a:
        assert a[name].dtype == b[name].dtype == np.int64, name
        assert np.array_equal(a[name], b[name]), f"column {name} differs"
    assert a.specs == b.specs


@settings(max_examples=40)
@given(data=st.data(), config=configs(), qconfig=qconfigs(), seed=st.integers(0, 2**16))
def test_numba_forward_matches_reference(data, config, qconfig, seed):
    model = random_transformer(config, seed, qconfig)
    ids = token_ids(data.draw, config)
    fast = forward(model, ids)
    ref = forward_reference(model, ids)
    assert_same_trace(fast, ref)
    check_trace(model, ids, fast)


@pytest.mark.parametrize("n", [1, 2, 31, 32])
def test_tiny_forward_matches_reference_and_identities(n):
    model = tiny()
    ids = (np.arange(n, dtype=np.int64) * 37) % 256
    fast = forward(model, ids)
    assert_same_trace(fast, forward_reference(model, ids))
    check_trace(model, ids, fast)


def test_forward_is_deterministic():
    model = tiny()
    ids = np.arange(20, dtype=np.int64)
    assert_same_trace(forward(model, ids), forward(model, ids))


@pytest.mark.parametrize(
    "column, index",
    [
        ("layer0.attn.q.acc", (0, 0)),
        ("layer0.attn.q.rem", (1, 2)),
        ("layer0.ln1.rsqrt", (0,)),
        ("layer1.attn.softmax.max", (0, 1)),
        ("layer1.attn.softmax.p", (1, 2, 3)),
        ("layer0.ffn.act.out", (3, 5)),
        ("layer0.ffn.act.mult", (7,)),
        ("pool.mean", (4,)),
    ],
)
def test_changed_trace_value_is_caught_by_check_trace(column, index):
    model = tiny()
    ids = np.arange(8, dtype=np.int64)
    trace = forward(model, ids)
    trace[column][index] += 1
    with pytest.raises(ModelError, match="trace identity violated|leave the declared"):
        check_trace(model, ids, trace)


def test_softmax_rows_sum_close_to_one_and_argmax_is_first():
    model = tiny()
    ids = np.array([5, 5, 5, 5], dtype=np.int64)  # equal tokens: ties in the scores
    tr = forward(model, ids)
    p = tr["layer0.attn.softmax.p"]
    K = model.layers[0].attn.prob_bits
    total = p.sum(axis=2)
    assert np.all(total <= 1 << K) and np.all(total >= (1 << K) - ids.shape[0])
    sc = tr["layer0.attn.scores"]
    am = tr["layer0.attn.softmax.argmax"]
    for h in range(sc.shape[0]):
        for i in range(sc.shape[1]):
            assert am[h, i] == int(np.flatnonzero(sc[h, i] == sc[h, i].max())[0])


def test_every_column_is_constrained_by_check_trace():
    """Changing any single value of any column breaks an identity or a declared width."""
    model = tiny()
    ids = np.array([3, 141, 59, 26, 5, 35, 89, 79], dtype=np.int64)
    trace = forward(model, ids)
    check_trace(model, ids, trace)
    for name, spec in trace.specs.items():
        column = trace[name]
        flat = column.reshape(-1)
        i = flat.size // 2
        old = int(flat[i])
        flat[i] = old + 1 if old + 1 <= spec.hi else old - 1
        with pytest.raises(ModelError):
            check_trace(model, ids, trace)
        flat[i] = old
