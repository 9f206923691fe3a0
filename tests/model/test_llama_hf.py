"""Reading Llama checkpoints from Hugging Face directories (zkinfer.model.hf).

Tiny directories are written here (config.json, safetensors, a byte-level BPE tokenizer.json made
with ``tokenizers``, tokenizer_config.json with a ChatML template) from the same random weights
as the tiny GGUF files of ``test_llama_float`` (which holds q/k rows in llama.cpp's order): both
readers must give the same float64 model, which checks that the RoPE row conventions agree.
"""

from __future__ import annotations

import hashlib
import json
import struct
import sys

import numpy as np
import pytest

from zkinfer.errors import MissingDependencyError, ModelError
from zkinfer.model import gguf as zgguf
from zkinfer.model import hf, llama

pytest.importorskip("gguf", reason='needs the extra "llm" (pip install "zkinfer[llm]")')
tokenizers = pytest.importorskip("tokenizers", reason='needs the extra "llm" (pip install "zkinfer[llm]")')
st_numpy = pytest.importorskip("safetensors.numpy", reason='needs the extra "llm"')

from tests.model.test_llama_float import (  # noqa: E402
    CHATML,
    CTX,
    D_FF,
    EPS,
    MERGES,
    N_HEADS,
    N_KV,
    N_LAYERS,
    SPECIALS,
    THETA,
    TOKENS,
    VOCAB,
    D,
    Tiny,
    reference_logits,
)

IDS = np.array([1, 40, 77, 280, 5, 120, 2, 260, 99, 14, 3, 211, 64])
TEXTS = ["Hello world", "the 123 cat is a pi", "<|im_start|>user\nHi<|im_end|>\n", "  x\n\nyz  ", "héllo ☃"]


def tokenizer_json() -> str:
    """A byte-level BPE tokenizer.json over the tiny vocabulary (SmolLM2's pre-tokenizer)."""
    vocab = {t: i for i, t in enumerate(TOKENS)}
    tok = tokenizers.Tokenizer(tokenizers.models.BPE(vocab=vocab, merges=MERGES, fuse_unk=False))
    tok.pre_tokenizer = tokenizers.pre_tokenizers.Sequence([
        tokenizers.pre_tokenizers.Digits(individual_digits=True),
        tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
    ])  # fmt: skip
    tok.decoder = tokenizers.decoders.ByteLevel()
    tok.add_special_tokens([tokenizers.AddedToken(t, special=True, normalized=False) for t in SPECIALS])
    return tok.to_str()


def hf_config(tied: bool = True, **override) -> dict:
    cfg = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": D,
        "intermediate_size": D_FF, "num_hidden_layers": N_LAYERS, "num_attention_heads": N_HEADS,
        "num_key_value_heads": N_KV, "rms_norm_eps": EPS, "rope_theta": THETA, "max_position_embeddings": CTX,
        "vocab_size": VOCAB, "tie_word_embeddings": tied, "bos_token_id": 1, "eos_token_id": 2,
        "pad_token_id": 2, "hidden_act": "silu", "rope_scaling": None, "attention_bias": False,
        "mlp_bias": False, "torch_dtype": "float32",
    }  # fmt: skip
    cfg.update(override)
    return {k: v for k, v in cfg.items() if v is not ...}


def hf_weights(t: Tiny) -> dict[str, np.ndarray]:
    """The tiny model's (dequantized) weights under Hugging Face names, HF row order."""
    out = {"model.embed_tokens.weight": t.hf["token_embd"], "model.norm.weight": t.hf["output_norm"]}
    if "output" in t.hf:
        out["lm_head.weight"] = t.hf["output"]
    kinds = {
        "attn_norm": "input_layernorm", "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj",
        "attn_v": "self_attn.v_proj", "attn_output": "self_attn.o_proj",
        "ffn_norm": "post_attention_layernorm",
        "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj",
    }  # fmt: skip
    for i in range(N_LAYERS):
        for short, long in kinds.items():
            out[f"model.layers.{i}.{long}.weight"] = t.hf[f"blk.{i}.{short}"]
    return out


def write_safetensors_raw(path, tensors: dict[str, tuple[str, list[int], bytes]]) -> None:
    """A safetensors file written by hand (any dtype, e.g. BF16, which numpy lacks)."""
    header, blobs, offset = {}, [], 0
    for name, (dtype, shape, data) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    head = json.dumps(header).encode()
    head += b" " * (-len(head) % 8)
    path.write_bytes(struct.pack("<Q", len(head)) + head + b"".join(blobs))


def to_bf16_bits(w: np.ndarray) -> np.ndarray:
    """float32 -> bfloat16 bit patterns, rounding to nearest even."""
    bits = w.astype(np.float32).view(np.uint32).astype(np.uint64)
    return ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype("<u2")


def write_hf(directory, t: Tiny | None = None, config=None, weights=None, shards: int = 1,
             tcfg=None, gen=None, tok=None):  # fmt: skip
    """Write a tiny HF directory; returns it."""
    t = t or Tiny(seed=0)
    directory.mkdir(parents=True, exist_ok=True)
    weights = hf_weights(t) if weights is None else weights
    (directory / "config.json").write_text(json.dumps(config or hf_config(tied=t.tied)))
    (directory / "tokenizer.json").write_text(tokenizer_json() if tok is None else tok)
    tcfg = {"chat_template": CHATML, "bos_token": "<|im_start|>", "eos_token": "<|im_end|>",
            "add_bos_token": False} if tcfg is None else tcfg  # fmt: skip
    if tcfg is not ...:
        (directory / "tokenizer_config.json").write_text(json.dumps(tcfg))
    if gen is not None:
        (directory / "generation_config.json").write_text(json.dumps(gen))
    if shards == 1:
        st_numpy.save_file(weights, str(directory / "model.safetensors"))
    else:
        names = list(weights)
        wmap = {}
        for s in range(shards):
            file = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
            part = {n: weights[n] for n in names[s::shards]}
            st_numpy.save_file(part, str(directory / file))
            wmap.update(dict.fromkeys(part, file))
        index = {"metadata": {"total_size": 0}, "weight_map": wmap}
        (directory / "model.safetensors.index.json").write_text(json.dumps(index))
    return directory


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """(Tiny, GGUF checkpoint, HF checkpoint, HF directory) of the same weights."""
    t = Tiny(seed=0)
    root = tmp_path_factory.mktemp("hf")
    gguf_ck = zgguf.read_llama_gguf(t.write(root / "tiny.gguf"))
    directory = write_hf(root / "tiny-hf", t)
    return t, gguf_ck, hf.read_llama_hf(directory), directory


# ------------------------------------------------------------------------------- the reader


def test_hf_and_gguf_give_the_same_checkpoint_and_logits(pair):
    t, g, h, directory = pair
    assert isinstance(h, zgguf.LlamaCheckpoint)
    assert h.config == g.config
    assert set(h.weights) == set(g.weights)
    for name, w in g.weights.items():
        assert h.weights[name].dtype == np.float64
        assert np.array_equal(h.weights[name], w), name  # no un-permutation of HF q/k rows
    assert h.tensor_types["model.layers.0.self_attn.q_proj.weight"] == "F64"
    a = llama.LlamaFloat.from_checkpoint(g).logits(IDS)
    b = llama.LlamaFloat.from_checkpoint(h).logits(IDS)
    assert np.allclose(a, b, rtol=0, atol=1e-9)
    ref = reference_logits(t.params("hf"), IDS, "half")
    assert np.allclose(b, ref, rtol=0, atol=1e-9)


def test_hf_metadata_tokenizer_and_hash(pair):
    _, g, h, directory = pair
    d = h.tokenizer_data
    assert d.tokens == g.tokenizer_data.tokens and d.merges == g.tokenizer_data.merges
    assert np.array_equal(d.token_types, g.tokenizer_data.token_types)
    assert (d.model, d.pre, d.bos_id, d.eos_id, d.pad_id, d.add_bos) == ("gpt2", "smollm", 1, 2, 2, False)
    assert h.chat_template == CHATML
    assert h.metadata["general.architecture"] == "llama" and h.metadata["config.hidden_size"] == D
    assert h.path == directory
    files = ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"]
    assert list(h.files) == files
    manifest = "".join(f"{hashlib.sha256((directory / f).read_bytes()).hexdigest()}  {f}\n" for f in files)
    assert h.sha256 == hashlib.sha256(manifest.encode()).hexdigest()


def test_hf_tokenizer_agrees_with_the_gguf_tokenizer(pair):
    _, g, h, _ = pair
    ours = hf.HFTokenizer(h.tokenizer_json, h.tokenizer_data)
    theirs = llama.LlamaTokenizer(g.tokenizer_data)
    # the converted TokenizerData also builds a LlamaTokenizer (pre-tokenizer recognised)
    converted = llama.LlamaTokenizer(h.tokenizer_data)
    assert ours.vocab_size == VOCAB and ours.special_tokens == tuple(SPECIALS)
    assert ours.token_id("<|im_end|>") == 2
    for text in TEXTS:
        ids = ours.encode(text)
        assert np.array_equal(ids, theirs.encode(text)), text
        assert np.array_equal(ids, converted.encode(text)), text
        assert ours.decode(ids) == text
    with pytest.raises(ModelError, match="not a token"):
        ours.token_id("nope")
    with pytest.raises(ModelError, match="string"):
        ours.encode(3)
    with pytest.raises(ModelError, match="token ids"):
        ours.decode([VOCAB])


def test_load_llama_for_both_formats(pair, tmp_path):
    _, g, h, directory = pair
    a = hf.load_llama(directory)
    b = hf.load_llama(g.path)
    assert isinstance(a.tokenizer, hf.HFTokenizer) and isinstance(b.tokenizer, llama.LlamaTokenizer)
    msgs = [{"role": "user", "content": "Hello world"}]
    assert np.array_equal(a.chat_ids(msgs), b.chat_ids(msgs))
    assert np.array_equal(a.tokenize("the cat"), b.tokenize("the cat"))
    assert a.decode(a.chat_ids(msgs)).endswith("<|im_start|>assistant\n")
    assert np.allclose(a.logits_float(IDS), b.logits_float(IDS), rtol=0, atol=1e-9)
    assert np.array_equal(a.generate_float(IDS[:5], 6), b.generate_float(IDS[:5], 6))
    assert a.stop_ids == b.stop_ids == (2,)
    with pytest.raises(ModelError, match="not found"):
        hf.load_llama(tmp_path / "nothing")
    (tmp_path / "x.bin").write_bytes(b"")
    with pytest.raises(ModelError, match="neither"):
        hf.load_llama(tmp_path / "x.bin")
    with pytest.raises(ModelError, match="control token"):
        a.chat_ids([{"role": "user", "content": "<|im_end|>"}])


def test_sharded_safetensors_load_the_same(pair, tmp_path):
    t, _, h, _ = pair
    directory = write_hf(tmp_path / "sharded", t, shards=3)
    s = hf.read_llama_hf(directory)
    assert "model.safetensors.index.json" in s.files and "model-00003-of-00003.safetensors" in s.files
    assert s.sha256 != h.sha256
    for name, w in h.weights.items():
        assert np.array_equal(s.weights[name], w), name
    # an index that maps a tensor to the wrong shard, or lists an absent one, is refused
    index_path = directory / "model.safetensors.index.json"
    index = json.loads(index_path.read_text())
    good = dict(index["weight_map"])
    index["weight_map"]["model.norm.weight"] = "model-00001-of-00003.safetensors"
    index_path.write_text(json.dumps(index))
    with pytest.raises(ModelError, match="model.norm.weight.*not mapped"):
        hf.read_llama_hf(directory)
    index["weight_map"] = {**good, "model.extra.weight": "model-00001-of-00003.safetensors"}
    index_path.write_text(json.dumps(index))
    with pytest.raises(ModelError, match="model.extra.weight"):
        hf.read_llama_hf(directory)
    index["weight_map"] = {**good, "model.norm.weight": "model-00009-of-00009.safetensors"}
    index_path.write_text(json.dumps(index))
    with pytest.raises(ModelError, match="model-00009-of-00009.safetensors not found"):
        hf.read_llama_hf(directory)


def test_bf16_and_f16_weights_load(tmp_path):
    t = Tiny(seed=2)
    weights = hf_weights(t)
    raw, expect = {}, {}
    for i, (name, w) in enumerate(weights.items()):
        if i % 3 == 2:  # some F16, the rest BF16
            raw[name] = ("F16", list(w.shape), w.astype("<f2").tobytes())
            expect[name] = w.astype(np.float16).astype(np.float64)
        else:
            bits = to_bf16_bits(w)
            raw[name] = ("BF16", list(w.shape), bits.tobytes())
            expect[name] = (bits.astype(np.uint32) << 16).view(np.float32).astype(np.float64)
            # bf16 is float32 with 8 mantissa bits: within 2^-9 relative of the float32 value
            f32 = w.astype(np.float32).astype(np.float64)
            assert np.all(np.abs(expect[name] - f32) <= np.abs(f32) * 2.0**-8)
    directory = write_hf(tmp_path / "bf16", t)
    (directory / "model.safetensors").unlink()
    write_safetensors_raw(directory / "model.safetensors", raw)
    ck = hf.read_llama_hf(directory)
    assert ck.tensor_types["model.embed_tokens.weight"] == "BF16"
    assert "F16" in ck.tensor_types.values()
    for name, w in expect.items():
        assert np.array_equal(ck.weights[name], w), name
    assert hf.bf16_to_float64(np.array([0x3F80, 0xC000], "<u2").tobytes(), [2]).tolist() == [1.0, -2.0]
    with pytest.raises(ModelError, match="bfloat16"):
        hf.bf16_to_float64(b"\x00\x00\x00", [2])


def test_untied_lm_head(tmp_path):
    t = Tiny(seed=3, tied=False)
    ck = hf.read_llama_hf(write_hf(tmp_path / "untied", t))
    assert ck.config.tied is False
    assert np.array_equal(ck.weights["lm_head.weight"], t.hf["output"])
    ids = [5, 9, 270, 31]
    got = llama.LlamaFloat.from_checkpoint(ck).logits(ids)
    assert np.allclose(got, reference_logits(t.params("hf"), ids, "half"), rtol=0, atol=1e-9)
    gguf_ck = zgguf.read_llama_gguf(t.write(tmp_path / "untied.gguf"))
    assert np.allclose(got, llama.LlamaFloat.from_checkpoint(gguf_ck).logits(ids), rtol=0, atol=1e-9)


def test_rope_parameters_spelling_and_generation_eos(pair, tmp_path):
    t, _, h, _ = pair
    rope = {"rope_type": "default", "rope_theta": THETA}
    cfg = hf_config(rope_theta=..., rope_scaling=..., rope_parameters=rope)
    ck = hf.read_llama_hf(write_hf(tmp_path / "d", t, config=cfg, gen={"eos_token_id": [0, 2]}))
    assert ck.config == h.config and ck.eos_ids == (2, 0)
    with pytest.raises(ModelError, match="generation_config.json: eos_token_id"):
        hf.read_llama_hf(write_hf(tmp_path / "e", t, gen={"eos_token_id": -1}))


def test_defaults_and_token_ids_from_other_files(tmp_path):
    cfg = hf_config(num_key_value_heads=..., rope_theta=..., eos_token_id=..., bos_token_id=...,
                    pad_token_id=..., tie_word_embeddings=...)  # fmt: skip
    t = Tiny(seed=4)
    w = hf_weights(t)
    for i in range(N_LAYERS):  # num_key_value_heads defaults to the head count: full-size k/v
        for kind in ("k_proj", "v_proj"):
            name = f"model.layers.{i}.self_attn.{kind}.weight"
            w[name] = np.concatenate([w[name], w[name]])
    w["lm_head.weight"] = t.hf["token_embd"] * 0.5  # tie_word_embeddings defaults to false
    gen = {"eos_token_id": [2, 0]}
    ck = hf.read_llama_hf(write_hf(tmp_path / "d", t, config=cfg, weights=w, gen=gen))
    c = ck.config
    got = (c.n_kv_heads, c.rope_theta, c.eos_id, c.bos_id, c.pad_id, c.tied)
    assert got == (N_HEADS, 10000.0, 2, 1, None, False)  # bos/eos from tokenizer_config / generation_config
    assert ck.eos_ids == (2, 0) and "generation_config.json" in ck.files
    assert np.isfinite(llama.LlamaFloat.from_checkpoint(ck).logits(IDS[:4])).all()
    assert hf.load_llama(ck.path).stop_ids == (0, 2)
    # add_bos from the post-processor when tokenizer_config.json is absent; no chat template
    tok = json.loads(tokenizer_json())
    tok["post_processor"] = {"type": "TemplateProcessing", "single": [
        {"SpecialToken": {"id": "<|im_start|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
        "pair": [], "special_tokens": {}}  # fmt: skip
    d2 = write_hf(tmp_path / "d2", t, tcfg=..., tok=json.dumps(tok))
    model = hf.load_llama(d2)
    assert model.checkpoint.tokenizer_data.add_bos and model.config.bos_id == 1
    assert model.tokenize("the").tolist() == [1, TOKENS.index("t"), TOKENS.index("he")]
    assert model.checkpoint.chat_template is None
    with pytest.raises(ModelError, match="no chat template"):
        model.chat_ids([{"role": "user", "content": "hi"}])
    # a template that is not ChatML: the model loads, chat_ids refuses
    d3 = write_hf(tmp_path / "d3", t, tcfg={"chat_template": "{{ bos_token }}{{ messages }}"})
    with pytest.raises(ModelError, match="unsupported chat template"):
        hf.load_llama(d3).chat_ids([{"role": "user", "content": "hi"}])


def sentencepiece_style_json() -> tuple[str, list[str]]:
    """A Llama-2-style tokenizer.json: BPE with byte fallback, ``▁`` for spaces, no pre-tokenizer."""
    toks = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    toks += ["▁", "a", "b", "c", "h", "i", "▁a", "▁h", "▁hi"]
    toks += [f"x{i}" for i in range(VOCAB - len(toks) - 5)]  # 5 ids left for unused embedding rows
    model = tokenizers.models.BPE(vocab={t: i for i, t in enumerate(toks)}, unk_token="<unk>",
                                  merges=[("▁", "a"), ("▁", "h"), ("▁h", "i")], byte_fallback=True,
                                  fuse_unk=True)  # fmt: skip
    tok = tokenizers.Tokenizer(model)
    norm, dec = tokenizers.normalizers, tokenizers.decoders
    tok.normalizer = norm.Sequence([norm.Prepend("▁"), norm.Replace(" ", "▁")])
    tok.decoder = dec.Sequence([dec.Replace("▁", " "), dec.ByteFallback(), dec.Fuse(), dec.Strip(" ", 1, 0)])
    tok.add_special_tokens([tokenizers.AddedToken(t, special=True, normalized=False) for t in toks[:3]])
    return tok.to_str(), toks


def test_byte_fallback_tokenizer_is_run_from_tokenizer_json(tmp_path):
    text, toks = sentencepiece_style_json()
    tcfg = {"add_bos_token": True, "bos_token": "<s>", "eos_token": "</s>"}
    directory = write_hf(tmp_path / "spm", config=hf_config(pad_token_id=...), tcfg=tcfg, tok=text)
    model = hf.load_llama(directory)
    data = model.checkpoint.tokenizer_data
    assert (data.model, data.pre, data.add_bos, data.unk_id, data.pad_id) == ("llama", None, True, 0, None)
    assert data.token_types[toks.index("<0x0A>")] == zgguf.TOKEN_BYTE
    assert data.token_types[0] == zgguf.TOKEN_CONTROL and data.token_types[-1] == zgguf.TOKEN_UNUSED
    assert len(data.tokens) == VOCAB == model.tokenizer.vocab_size
    ids = model.tokenize("hi a é\n")
    assert ids.tolist() == [1, toks.index("▁hi"), toks.index("▁a"), toks.index("▁"), toks.index("<0xC3>"),
                            toks.index("<0xA9>"), toks.index("<0x0A>")]  # fmt: skip
    assert model.decode(ids[1:]) == "hi a é\n"
    assert model.stop_ids == (2,)
    with pytest.raises(ModelError, match="not a token"):
        model.tokenizer.token_id(data.tokens[-1])  # placeholders of unused rows are not tokens
    assert np.isfinite(model.logits_float(ids)).all()


# ------------------------------------------------------------------------------- refusals


def _refused(tmp_path, match, **write):
    directory = write_hf(tmp_path / "bad", **write)
    with pytest.raises(ModelError, match=match):
        hf.read_llama_hf(directory)


def _without(name):
    w = hf_weights(Tiny(seed=0))
    del w[name]
    return w


def _with(name, value):
    w = hf_weights(Tiny(seed=0))
    w[name] = value
    return w


@pytest.mark.parametrize(
    "write, match",
    [
        ({"config": hf_config(rope_scaling={"type": "linear", "factor": 2.0})}, "config.json: rope_scaling"),
        ({"config": hf_config(rope_parameters={"rope_type": "yarn", "factor": 4.0})},
         "config.json: rope_parameters"),
        ({"config": hf_config(rope_parameters={"rope_type": "default", "rope_theta": 5.0})},
         "config.json: rope_theta 100.0 differs"),
        ({"config": hf_config(attention_bias=True)}, "config.json: attention_bias"),
        ({"config": hf_config(mlp_bias=True)}, "config.json: mlp_bias"),
        ({"config": hf_config(hidden_act="gelu")}, "config.json: hidden_act 'gelu'"),
        ({"config": hf_config(head_dim=16)}, "config.json: head_dim 16 differs"),
        ({"config": hf_config(hidden_size=30)}, "config.json: hidden_size 30 is not a multiple"),
        ({"config": hf_config(model_type="mistral")}, "config.json: model_type 'mistral'"),
        ({"config": hf_config(architectures=["LlamaModel"])}, "config.json: architectures"),
        ({"config": hf_config(intermediate_size=...)}, "config.json: key 'intermediate_size' missing"),
        ({"config": hf_config(num_hidden_layers=0)}, "config.json: num_hidden_layers must be a positive"),
        ({"config": hf_config(rms_norm_eps="1e-5")}, "config.json: rms_norm_eps"),
        ({"config": hf_config(eos_token_id=VOCAB)}, "config.json: eos_token_id"),
        ({"config": hf_config(vocab_size=VOCAB - 1)}, "tokenizer.json: .* tokens but config.json vocab_size"),
        ({"weights": _without("model.layers.1.mlp.up_proj.weight")},
         r"model.safetensors: tensor\(s\) missing: model.layers.1.mlp.up_proj.weight"),
        ({"weights": _with("model.layers.0.self_attn.rotary_emb.inv_freq", np.ones(4))},
         "model.safetensors: unexpected tensor 'model.layers.0.self_attn.rotary_emb.inv_freq'"),
        ({"weights": _with("lm_head.weight", np.ones((VOCAB, D)))},
         "unexpected tensor 'lm_head.weight' .tie_word_embeddings is true"),
        ({"config": hf_config(tie_word_embeddings=False)},
         r"missing: lm_head.weight .tie_word_embeddings is false"),
        ({"weights": _with("model.norm.weight", np.ones(D + 1))},
         r"model.safetensors: tensor 'model.norm.weight' has shape \(33,\), expected \(32,\)"),
        ({"weights": _with("model.norm.weight", np.ones(D, dtype=np.int32))},
         "model.safetensors: tensor 'model.norm.weight' has dtype I32"),
        ({"weights": _with("model.norm.weight", np.full(D, np.nan))}, "'model.norm.weight' has non-finite"),
        ({"tok": json.dumps({"model": {"type": "Unigram", "vocab": []}})}, "tokenizer.json: tokenizer model"),
        ({"tok": "{not json"}, "tokenizer.json: not valid JSON"),
    ],
)  # fmt: skip
def test_invalid_directories_are_refused(tmp_path, write, match):
    _refused(tmp_path, match, **write)


def test_missing_files_and_dependency(tmp_path, monkeypatch):
    with pytest.raises(ModelError, match="directory not found"):
        hf.read_llama_hf(tmp_path / "absent")
    directory = write_hf(tmp_path / "d")
    (directory / "model.safetensors").unlink()
    with pytest.raises(ModelError, match="no model.safetensors"):
        hf.read_llama_hf(directory)
    (directory / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(ModelError, match="model.safetensors: not a readable safetensors file"):
        hf.read_llama_hf(directory)
    (directory / "tokenizer.json").unlink()
    with pytest.raises(ModelError, match="tokenizer.json not found"):
        hf.read_llama_hf(directory)
    (directory / "config.json").unlink()
    with pytest.raises(ModelError, match="config.json not found"):
        hf.read_llama_hf(directory)
    good = write_hf(tmp_path / "good")
    monkeypatch.setitem(sys.modules, "safetensors", None)
    with pytest.raises(MissingDependencyError, match=r'pip install "zkinfer\[llm\]"'):
        hf.read_llama_hf(good)
