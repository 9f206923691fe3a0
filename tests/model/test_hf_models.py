"""Hugging Face directories of GPT-2 and BERT-family models, written by the test itself
(``config.json``, ``model.safetensors``, ``tokenizer.json``): the tensors land where the float
model expects them, and the quantized models prove and verify (an answer for GPT-2, an
embedding for BERT)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import zkinfer
from zkinfer.commit import TrivialPCS
from zkinfer.errors import ModelError

safetensors_numpy = pytest.importorskip("safetensors.numpy")
tokenizers = pytest.importorskip("tokenizers")

WORDS = ["[UNK]", "[CLS]", "[SEP]", "the", "a", "robot", "paints", "sea", "at", "night", "is",
         "blue", "and", "light", "house", "small", "story", "of", "in", "words"]


def _tokenizer(path) -> None:
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import Whitespace

    tok = Tokenizer(WordLevel({w: i for i, w in enumerate(WORDS)}, unk_token="[UNK]"))
    tok.pre_tokenizer = Whitespace()
    tok.save(str(path))


def _gpt2_dir(tmp_path, prefix: str = "transformer."):
    d, L, H, V, N, f = 16, 2, 2, len(WORDS), 16, 32
    rng = np.random.default_rng(0)
    t = {"wte.weight": rng.normal(0, 0.5, (V, d)), "wpe.weight": rng.normal(0, 0.1, (N, d)),
         "ln_f.weight": 1 + 0.1 * rng.standard_normal(d), "ln_f.bias": 0.05 * rng.standard_normal(d)}
    for i in range(L):
        p = f"h.{i}"
        for ln in ("ln_1", "ln_2"):
            t[f"{p}.{ln}.weight"] = 1 + 0.1 * rng.standard_normal(d)
            t[f"{p}.{ln}.bias"] = 0.05 * rng.standard_normal(d)
        for name, shape in (("attn.c_attn", (d, 3 * d)), ("attn.c_proj", (d, d)),
                            ("mlp.c_fc", (d, f)), ("mlp.c_proj", (f, d))):
            t[f"{p}.{name}.weight"] = rng.normal(0, 0.3, shape)
            t[f"{p}.{name}.bias"] = 0.02 * rng.standard_normal(shape[1])
    t = {prefix + k: v.astype(np.float32) for k, v in t.items()}
    safetensors_numpy.save_file(t, str(tmp_path / "model.safetensors"))
    (tmp_path / "config.json").write_text(json.dumps({
        "model_type": "gpt2", "n_embd": d, "n_layer": L, "n_head": H, "vocab_size": V,
        "n_positions": N, "n_inner": f, "layer_norm_epsilon": 1e-5,
        "activation_function": "gelu_new"}))
    _tokenizer(tmp_path / "tokenizer.json")
    return t


def _bert_dir(tmp_path):
    d, L, H, V, N, f = 16, 1, 2, len(WORDS), 16, 32
    rng = np.random.default_rng(1)
    t = {"embeddings.word_embeddings.weight": rng.normal(0, 0.5, (V, d)),
         "embeddings.position_embeddings.weight": rng.normal(0, 0.1, (N, d)),
         "embeddings.token_type_embeddings.weight": rng.normal(0, 0.1, (2, d)),
         "embeddings.LayerNorm.weight": np.ones(d), "embeddings.LayerNorm.bias": np.zeros(d)}
    p = "encoder.layer.0"
    for name, (o, i) in (("attention.self.query", (d, d)), ("attention.self.key", (d, d)),
                         ("attention.self.value", (d, d)), ("attention.output.dense", (d, d)),
                         ("intermediate.dense", (f, d)), ("output.dense", (d, f))):
        t[f"{p}.{name}.weight"] = rng.normal(0, 0.3, (o, i))
        t[f"{p}.{name}.bias"] = 0.02 * rng.standard_normal(o)
    for ln in ("attention.output.LayerNorm", "output.LayerNorm"):
        t[f"{p}.{ln}.weight"] = np.ones(d)
        t[f"{p}.{ln}.bias"] = np.zeros(d)
    t = {k: v.astype(np.float32) for k, v in t.items()}
    safetensors_numpy.save_file(t, str(tmp_path / "model.safetensors"))
    (tmp_path / "config.json").write_text(json.dumps({
        "model_type": "bert", "hidden_size": d, "num_hidden_layers": L, "num_attention_heads": H,
        "intermediate_size": f, "vocab_size": V, "max_position_embeddings": N,
        "layer_norm_eps": 1e-12, "hidden_act": "gelu"}))
    _tokenizer(tmp_path / "tokenizer.json")
    return t


def test_a_gpt2_directory_loads_proves_and_verifies(tmp_path):
    from zkinfer.model.hf_models import load_hf

    t = _gpt2_dir(tmp_path)
    m = load_hf(tmp_path)
    fm, d = m.float_model, 16
    qkv = t["transformer.h.1.attn.c_attn.weight"].astype(np.float64)
    assert np.array_equal(fm.layers[1].k.w, qkv[:, d:2 * d])  # Conv1D (in, out): no transpose
    assert m.config.block == "gpt2" and m.config.max_seq_len == 16
    prompt = m.tokenize("the robot paints the sea")
    assert prompt.tolist() == [3, 5, 6, 3, 7]
    vk, pk = zkinfer.setup(m, TrivialPCS())
    proof = zkinfer.prove(pk, prompt, max_new_tokens=3)
    assert np.array_equal(proof.output, m.generate(prompt, 3))
    assert zkinfer.verify(vk, prompt, proof.output, proof, allow_insecure=True)
    assert isinstance(m.decode(proof.output), str)


def test_a_bert_directory_loads_proves_and_verifies(tmp_path):
    from zkinfer.model.hf_models import load_hf

    t = _bert_dir(tmp_path)
    m = load_hf(tmp_path)
    w = t["encoder.layer.0.attention.self.query.weight"].astype(np.float64)
    assert np.array_equal(m.float_model.layers[0].q.w, w.T)  # nn.Linear (out, in): transposed
    ids = m.tokenize("a small light house")
    vk, pk = zkinfer.setup(m, TrivialPCS())
    proof = zkinfer.prove(pk, ids)
    assert zkinfer.verify(vk, ids, proof.output, proof, allow_insecure=True)
    with pytest.raises(ModelError, match="encoder"):
        m.generate(ids, 2)


def test_an_unsupported_or_broken_directory_is_refused(tmp_path):
    from zkinfer.model.hf_models import load_hf

    with pytest.raises(ModelError, match="config.json"):
        load_hf(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "t5"}))
    with pytest.raises(ModelError, match="not supported"):
        load_hf(tmp_path)
    _gpt2_dir(tmp_path, prefix="")
    data = safetensors_numpy.load_file(str(tmp_path / "model.safetensors"))
    del data["h.0.ln_1.bias"]
    safetensors_numpy.save_file(data, str(tmp_path / "model.safetensors"))
    with pytest.raises(ModelError, match="h.0.ln_1.bias"):
        load_hf(tmp_path)
