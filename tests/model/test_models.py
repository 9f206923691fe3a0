"""Built-in models, configuration checks, bad inputs and declared widths."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import numpy as np
import pytest

from zkinfer.errors import ModelError, ZkinferError
from zkinfer.model import (
    QuantConfig,
    TransformerConfig,
    column_specs,
    declare_widths,
    forward,
    forward_reference,
    validate,
)
from zkinfer.models import TINY_CONFIG, random_transformer, tiny

FORWARDS = [forward, forward_reference]


def test_tiny_shape_and_output():
    model = tiny()
    assert model.config == TINY_CONFIG
    assert (model.config.n_layers, model.config.vocab_size, model.config.max_seq_len) == (2, 256, 32)
    trace = forward(model, np.arange(10, dtype=np.int64))
    assert trace.output.shape == (64,) and trace.output.dtype == np.int64
    assert trace.output is trace["pool.mean"]


def test_seeds_give_different_weights_and_same_seed_same_weights():
    a, b, a2 = tiny(0), tiny(1), tiny(0)
    assert not np.array_equal(a.tok_emb, b.tok_emb)
    assert not np.array_equal(a.layers[0].attn.q.w, b.layers[0].attn.q.w)
    assert np.array_equal(a.tok_emb, a2.tok_emb)
    assert np.array_equal(a.layers[1].ffn.down.w, a2.layers[1].ffn.down.w)
    ids = np.arange(12, dtype=np.int64)
    assert not np.array_equal(forward(a, ids).output, forward(b, ids).output)


@pytest.mark.parametrize("seed", [-1, 1.5, "0", True, None])
def test_bad_seed_raises(seed):
    with pytest.raises(ModelError):
        tiny(seed)


def test_random_transformer_pre_norm_relu():
    cfg = TransformerConfig(3, 24, 3, 48, 20, 100, activation="relu", norm="pre")
    model = random_transformer(cfg, 7)
    assert model.final_ln is not None and model.emb_ln is None
    tr = forward(model, np.arange(20, dtype=np.int64) % 100)
    assert "final_ln.out" in tr and "emb.ln.out" not in tr
    with pytest.raises(ModelError):
        random_transformer("not a config", 0)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"d_model": 10, "n_heads": 3},
        {"n_layers": 0},
        {"vocab_size": -1},
        {"activation": "swish"},
        {"norm": "sandwich"},
        {"d_ff": 2.5},
        {"max_seq_len": 100000},
    ],
)
def test_bad_config_raises(kwargs):
    base = dict(n_layers=1, d_model=8, n_heads=2, d_ff=16, max_seq_len=8, vocab_size=10)
    with pytest.raises(ModelError):
        TransformerConfig(**{**base, **kwargs})


@pytest.mark.parametrize("kwargs", [{"ffn_in_bits": 17}, {"weight_bits": 9}, {"exp_bits": 2}])
def test_bad_qconfig_raises(kwargs):
    with pytest.raises(ModelError):
        QuantConfig(**kwargs)


@pytest.mark.parametrize("fwd", FORWARDS)
@pytest.mark.parametrize(
    "ids",
    [
        np.array([0, 256], dtype=np.int64),  # id outside the vocabulary
        np.array([-1, 3], dtype=np.int64),
        np.arange(33, dtype=np.int64),  # longer than max_seq_len = 32
        np.zeros(0, dtype=np.int64),  # empty
        np.array([1.0, 2.0]),  # float dtype
        np.array([[1, 2], [3, 4]], dtype=np.int64),  # two sequences in one call
        "abc",  # text, not token ids
    ],
    ids=["vocab", "negative", "too-long", "empty", "float", "2d", "text"],
)
def test_bad_input_raises_model_error(fwd, ids):
    with pytest.raises(ModelError) as info:
        fwd(tiny(), ids)
    assert isinstance(info.value, ZkinferError) and isinstance(info.value, ValueError)


def test_other_integer_dtypes_and_lists_accepted():
    # the validator every entry point shares (zkinfer.statement.token_ids)
    model = tiny()
    a = forward(model, np.arange(5, dtype=np.int64)).output
    for dt in (np.int32, np.uint8, np.int16):
        assert np.array_equal(forward(model, np.arange(5, dtype=dt)).output, a)
    assert np.array_equal(forward(model, [0, 1, 2, 3, 4]).output, a)


@pytest.mark.parametrize("fwd", FORWARDS)
@pytest.mark.parametrize("column", ["layer0.attn.q.acc", "layer1.ln2.z", "layer0.attn.softmax.sum"])
def test_narrower_declared_width_raises(fwd, column):
    model = tiny()
    widths = dict(model.widths)
    bits, signed = widths[column]
    widths[column] = (2, signed)
    bad = dataclasses.replace(model, widths=widths)
    with pytest.raises(ModelError, match=column.replace(".", r"\.")):
        fwd(bad, np.arange(16, dtype=np.int64))


@pytest.mark.parametrize("fwd", FORWARDS)
def test_weight_beyond_declared_width_raises(fwd):
    model = tiny()
    layer = model.layers[0]
    b = layer.attn.q.b.copy()
    b[0] = 1 << model.widths["layer0.attn.q.acc"][0]  # a bias beyond the declared acc width
    q = dataclasses.replace(layer.attn.q, b=b)
    bad = dataclasses.replace(
        model,
        layers=(dataclasses.replace(layer, attn=dataclasses.replace(layer.attn, q=q)),) + model.layers[1:],
    )
    assert declare_widths(bad)["layer0.attn.q.acc"][0] > model.widths["layer0.attn.q.acc"][0]
    with pytest.raises(ModelError, match=r"layer0\.attn\.q\.acc"):
        fwd(bad, np.full(8, 3, dtype=np.int64))


def test_validate_rejects_out_of_range_parameters():
    model = tiny()
    layer = model.layers[0]
    w = layer.ffn.up.w.copy()
    w[0, 0] = 128  # outside int8
    bad_up = dataclasses.replace(layer.ffn.up, w=w)
    bad = dataclasses.replace(
        model,
        layers=(dataclasses.replace(layer, ffn=dataclasses.replace(layer.ffn, up=bad_up)),)
        + model.layers[1:],
    )
    with pytest.raises(ModelError, match="ffn.up.w"):
        validate(bad)
    with pytest.raises(ModelError):
        validate(dataclasses.replace(model, tok_emb=model.tok_emb.astype(np.float64)))


def test_declared_widths_are_stored_and_cover_all_columns():
    model = tiny()
    assert dict(model.widths) == declare_widths(model)
    specs = column_specs(model, 7)
    assert set(specs) == set(model.widths)
    assert max(s.bits for s in specs.values()) <= 62
    # the model tables stay within 2^16 rows
    for layer in model.layers:
        assert len(layer.attn.exp_table) <= 1 << 16 and len(layer.ffn.table) <= 1 << 16


def test_trace_summary_and_sizes():
    model = tiny()
    tr = forward(model, np.arange(16, dtype=np.int64))
    text = tr.summary(r"layer0\.ln1\.")
    assert "layer0.ln1.rsqrt" in text and "layer1" not in text
    groups = tr.elements_by_group()
    assert list(groups)[:2] == ["emb", "layer0"] and list(groups)[-1] == "pool"
    assert sum(groups.values()) == tr.n_elements() == sum(v.size for v in tr.values())
    assert tr.n_elements("layer0.") == groups["layer0"]
    kinds = {s.kind for s in tr.specs.values()}
    assert kinds == {"tensor", "advice", "multiplicity"}


def test_importing_model_packages_does_not_import_numba():
    code = (
        "import sys, zkinfer.model, zkinfer.models, zkinfer.model.minilm;"
        "print('numba' in sys.modules, 'safetensors' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False"]
