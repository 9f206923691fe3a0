"""The MLP architecture (``block="mlp"``): embedding, linear, activation table and pooling only."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.model.strategies import mlp_configs, qconfigs, token_ids
from tests.model.test_forward import assert_same_trace
from zkinfer.errors import ModelError
from zkinfer.model import (
    TransformerConfig,
    check_trace,
    column_specs,
    declare_widths,
    forward,
    forward_float,
    forward_reference,
    ops,
    quantize,
    validate,
)
from zkinfer.model.float_model import embed_float
from zkinfer.model.intmodel import OpEmbed, OpLinear, OpPool, OpTable
from zkinfer.model.synthetic import random_float_model, random_inputs
from zkinfer.models import TINY_MLP_CONFIG, random_transformer, tiny, tiny_mlp

#: The exact op list of :func:`tiny_mlp`: ``(kind, name, src, res)``.
TINY_MLP_OPS = [
    (OpEmbed, "emb", None, None),
    (OpLinear, "layer0.ffn.up", "emb.x", None),
    (OpTable, "layer0.ffn.act", "layer0.ffn.up.out", None),
    (OpLinear, "layer0.ffn.down", "layer0.ffn.act.out", "emb.x"),
    (OpLinear, "layer1.ffn.up", "layer0.ffn.down.out", None),
    (OpTable, "layer1.ffn.act", "layer1.ffn.up.out", None),
    (OpLinear, "layer1.ffn.down", "layer1.ffn.act.out", "layer0.ffn.down.out"),
    (OpPool, "pool", "layer1.ffn.down.out", None),
]


@settings(max_examples=40, deadline=None)
@given(data=st.data(), config=mlp_configs(), qconfig=qconfigs(), seed=st.integers(0, 2**16))
def test_mlp_numba_forward_matches_reference(data, config, qconfig, seed):
    model = random_transformer(config, seed, qconfig)
    ids = token_ids(data.draw, config)
    fast = forward(model, ids)
    assert_same_trace(fast, forward_reference(model, ids))
    check_trace(model, ids, fast)


@pytest.mark.parametrize("n", [1, 2, 16, 31, 32])
def test_tiny_mlp_forward_matches_reference_and_identities(n):
    model = tiny_mlp()
    ids = (np.arange(n, dtype=np.int64) * 37) % 256
    fast = forward(model, ids)
    assert_same_trace(fast, forward_reference(model, ids))
    check_trace(model, ids, fast)
    assert fast.output.shape == (64,) and fast.output is fast["pool.mean"]


def test_tiny_mlp_op_list_and_columns():
    model = tiny_mlp()
    assert model.config == TINY_MLP_CONFIG and model.config.block == "mlp"
    got = [(type(op), op.name, getattr(op, "src", None), getattr(op, "res", None)) for op in ops(model)]
    assert got == TINY_MLP_OPS
    assert model.emb_ln is None and model.final_ln is None
    assert all(lay.attn is None and lay.ln1 is None and lay.ln2 is None for lay in model.layers)
    specs = column_specs(model, 16)
    assert len(specs) == 26 and sum(s.size for s in specs.values()) == 60608
    # the shared ops have exactly the transformer's column names
    transformer_cols = set(column_specs(tiny(), 16))
    assert set(specs) <= transformer_cols
    assert not any(".attn" in c or ".ln" in c for c in specs)


@settings(max_examples=15, deadline=None)
@given(config=mlp_configs(), seed=st.integers(0, 2**16))
def test_mlp_ops_are_only_embed_linear_table_pool(config, seed):
    model = random_transformer(config, seed)
    kinds = [type(op) for op in ops(model)]
    assert set(kinds) <= {OpEmbed, OpLinear, OpTable, OpPool}
    assert kinds == [OpEmbed] + [OpLinear, OpTable, OpLinear] * config.n_layers + [OpPool]
    assert dict(model.widths) == declare_widths(model)


@pytest.mark.parametrize(
    "column, index",
    [
        ("emb.x", (0, 0)),
        ("layer0.ffn.up.acc", (0, 0)),
        ("layer0.ffn.up.rem", (1, 2)),
        ("layer0.ffn.act.out", (3, 5)),
        ("layer0.ffn.act.mult", (7,)),
        ("layer1.ffn.down.q", (2, 3)),
        ("layer1.ffn.down.out", (4, 1)),
        ("pool.sum", (3,)),
        ("pool.mean", (4,)),
    ],
)
def test_changed_mlp_trace_value_is_caught(column, index):
    model = tiny_mlp()
    ids = np.arange(8, dtype=np.int64)
    trace = forward(model, ids)
    check_trace(model, ids, trace)
    trace[column][index] += 1
    with pytest.raises(ModelError, match="trace identity violated|leave the declared"):
        check_trace(model, ids, trace)


def test_every_mlp_column_is_constrained_by_check_trace():
    model = tiny_mlp()
    ids = np.array([3, 141, 59, 26, 5, 35, 89, 79], dtype=np.int64)
    trace = forward(model, ids)
    for name, spec in trace.specs.items():
        flat = trace[name].reshape(-1)
        i = flat.size // 2
        old = int(flat[i])
        flat[i] = old + 1 if old + 1 <= spec.hi else old - 1
        with pytest.raises(ModelError):
            check_trace(model, ids, trace)
        flat[i] = old


def test_tiny_mlp_tracks_float_model():
    float_model = random_float_model(TINY_MLP_CONFIG, 0)
    model = tiny_mlp(0)
    rng = np.random.default_rng(123)
    cos = []
    for n in (1, 3, 16, 32):
        ids = rng.integers(0, 256, n, dtype=np.int64)
        out = forward(model, ids).output * model.out_scale
        ref = embed_float(float_model, ids)
        cos.append(float(out @ ref / np.linalg.norm(out)))
    assert min(cos) > 0.99, cos


def test_mlp_float_forward_records_the_trace_names():
    float_model = random_float_model(TINY_MLP_CONFIG, 0)
    record: dict[str, list[np.ndarray]] = {}
    ids = np.arange(5, dtype=np.int64)
    x = forward_float(float_model, ids, record=record)
    assert set(record) == {"emb.x"} | {f"layer{i}.ffn.{c}.out" for i in (0, 1) for c in ("up", "act", "down")}
    assert np.array_equal(x, record["layer1.ffn.down.out"][0])


def test_mlp_seeds_differ_and_same_seed_is_deterministic():
    a, b, a2 = tiny_mlp(0), tiny_mlp(1), tiny_mlp(0)
    assert not np.array_equal(a.tok_emb, b.tok_emb)
    assert not np.array_equal(a.layers[0].ffn.up.w, b.layers[0].ffn.up.w)
    assert np.array_equal(a.layers[1].ffn.down.w, a2.layers[1].ffn.down.w)
    assert dict(a.widths) == dict(a2.widths)
    ids = np.arange(12, dtype=np.int64)
    assert not np.array_equal(forward(a, ids).output, forward(b, ids).output)
    assert np.array_equal(forward(a, ids).output, forward(a2, ids).output)


@pytest.mark.parametrize("seed", [-1, 1.5, "0", True, None])
def test_tiny_mlp_bad_seed_raises(seed):
    with pytest.raises(ModelError):
        tiny_mlp(seed)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"block": "cnn"},
        {"block": None},
        {"block": "MLP"},
        {"n_heads": 0},
        {"d_ff": 0},
        {"activation": "swish"},
        {"norm": "sandwich"},
        {"n_layers": 0},
    ],
)
def test_bad_mlp_config_raises(kwargs):
    base = dict(n_layers=1, d_model=6, n_heads=4, d_ff=10, max_seq_len=8, vocab_size=10, block="mlp")
    with pytest.raises(ModelError):
        TransformerConfig(**{**base, **kwargs})


def test_mlp_config_ignores_head_divisibility_but_transformer_does_not():
    base = dict(n_layers=1, d_model=6, n_heads=4, d_ff=10, max_seq_len=8, vocab_size=10)
    assert TransformerConfig(**base, block="mlp").block == "mlp"
    assert TransformerConfig(**{**base, "n_heads": 3}).block == "transformer"
    with pytest.raises(ModelError):
        TransformerConfig(**base)


def test_validate_rejects_mixed_architectures():
    mlp, tr = tiny_mlp(), tiny()
    # a transformer block inside an mlp model, and an mlp block inside a transformer
    with pytest.raises(ModelError, match="mlp block"):
        validate(dataclasses.replace(mlp, layers=(tr.layers[0],) + mlp.layers[1:]))
    with pytest.raises(ModelError, match="transformer block"):
        validate(dataclasses.replace(tr, layers=(mlp.layers[0],) + tr.layers[1:]))
    with pytest.raises(ModelError, match="transformer block"):
        ops(dataclasses.replace(tr, layers=(mlp.layers[0],) + tr.layers[1:]))
    with pytest.raises(ModelError, match="emb_ln"):
        validate(dataclasses.replace(mlp, emb_ln=tr.emb_ln))
    layer = mlp.layers[0]
    no_res = dataclasses.replace(layer.ffn, down=dataclasses.replace(layer.ffn.down, res_m=None))
    with pytest.raises(ModelError, match="residual"):
        validate(dataclasses.replace(mlp, layers=(dataclasses.replace(layer, ffn=no_res),) + mlp.layers[1:]))


def test_float_transformer_without_attention_raises():
    mlp_float = random_float_model(TINY_MLP_CONFIG, 0)
    cfg = dataclasses.replace(TINY_MLP_CONFIG, block="transformer", n_heads=4)
    broken = dataclasses.replace(mlp_float, config=cfg)
    with pytest.raises(ModelError):
        forward_float(broken, np.arange(4, dtype=np.int64))


def test_mlp_quantize_with_other_qconfig_and_relu():
    from zkinfer.model import QuantConfig

    cfg = TransformerConfig(3, 24, 1, 40, 20, 100, activation="relu", block="mlp")
    q = QuantConfig(resid_bits=12, ffn_in_bits=8, ffn_out_bits=8)
    model = quantize(random_float_model(cfg, 5), random_inputs(cfg, 5, 6), q)
    assert model.widths["layer2.ffn.down.out"] == (12, True)
    ids = np.arange(20, dtype=np.int64) % 100
    fast = forward(model, ids)
    assert_same_trace(fast, forward_reference(model, ids))
    check_trace(model, ids, fast)
