"""Hugging Face model directories of every supported architecture: :func:`load_hf`.

A directory holds ``config.json``, ``model.safetensors`` and ``tokenizer.json``; its
``model_type`` picks the reader:

=============  ===================================================================================
``llama``      :func:`zkinfer.model.hf.load_llama` (decoder: RMSNorm, GQA, RoPE, SwiGLU)
``gpt2``       :func:`read_gpt2` -> a ``block="gpt2"`` decoder (LayerNorm, learned positions,
               biases, GELU, causal attention, the LM head tied to ``wte``)
``bert``       :func:`read_bert` -> a post-norm encoder with mean pooling (BERT-family:
               all-MiniLM-L6-v2, ...)
=============  ===================================================================================

GPT-2 and BERT checkpoints become float models (:class:`~zkinfer.model.float_model.FloatModel`)
that :class:`HFModel` quantizes (:func:`~zkinfer.model.quantize.quantize`) on first use,
calibrated on the texts the package ships (tokenized by the model's own tokenizer). Conventions:
GPT-2 stores its projections as ``Conv1D`` weights ``(in, out)`` (no transpose) with ``q, k, v``
side by side in ``attn.c_attn``; BERT as ``nn.Linear`` ``(out, in)``. GPT-2's activation is the
tanh approximation of GELU; the integer model's table is the exact (erf) GELU, which differs by
less than ``1e-3`` per activation.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from zkinfer.errors import ModelError
from zkinfer.model.config import QuantConfig, TransformerConfig
from zkinfer.model.float_model import FloatLayer, FloatLayerNorm, FloatLinear, FloatModel
from zkinfer.model.loaders import bert_float_model, load_safetensors, load_tokenizer, sha256_file

__all__ = ["load_hf", "read_gpt2", "read_bert", "HFModel"]


def _config_json(directory: Path) -> dict:
    path = directory / "config.json"
    if not path.is_file():
        raise ModelError(f"{directory}: no config.json (not a Hugging Face model directory)")
    try:
        cfg = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{path}: not readable JSON ({exc})") from None
    if not isinstance(cfg, dict):
        raise ModelError(f"{path}: expected a JSON object")
    return cfg


def _int(cfg: Mapping, key: str, *alts: str) -> int:
    for k in (key, *alts):
        v = cfg.get(k)
        if isinstance(v, int) and not isinstance(v, bool) and v > 0:
            return v
    raise ModelError(f"config.json: {key} must be a positive integer")


def _tensors(directory: Path) -> dict[str, np.ndarray]:
    return load_safetensors(directory / "model.safetensors")


def read_gpt2(directory: str | Path, max_seq_len: int | None = None) -> FloatModel:
    """A GPT-2 checkpoint as a ``block="gpt2"`` float model.

    Arguments:
        directory: holds ``config.json`` (``n_layer``, ``n_embd``, ``n_head``, ``vocab_size``,
            ``n_positions``, ``layer_norm_epsilon``; ``n_inner`` or ``4 n_embd``) and
            ``model.safetensors`` (names with or without the ``transformer.`` prefix).
        max_seq_len: positions kept (default: ``n_positions``).

    Raises:
        ModelError: a missing or misshapen tensor, or a configuration the model cannot take.
    """
    directory = Path(directory)
    cfg = _config_json(directory)
    d, L, H = _int(cfg, "n_embd"), _int(cfg, "n_layer"), _int(cfg, "n_head")
    V, N = _int(cfg, "vocab_size"), _int(cfg, "n_positions")
    f = cfg.get("n_inner") or 4 * d
    eps = float(cfg.get("layer_norm_epsilon", 1e-5))
    act = cfg.get("activation_function", "gelu_new")
    if act not in ("gelu", "gelu_new", "gelu_pytorch_tanh"):
        raise ModelError(f"config.json: activation {act!r} is not supported (GELU only)")
    n = min(N, max_seq_len or N)
    config = TransformerConfig(n_layers=L, d_model=d, n_heads=H, d_ff=f, max_seq_len=n,
                               vocab_size=V, activation="gelu", norm="pre", ln_eps=eps,
                               block="gpt2")
    raw = _tensors(directory)
    t = {k.removeprefix("transformer."): v for k, v in raw.items()}

    def get(name: str, shape: tuple[int, ...]) -> np.ndarray:
        if name not in t:
            raise ModelError(f"{directory.name}: weight {name!r} missing")
        a = np.asarray(t[name], dtype=np.float64)
        if a.shape != shape:
            raise ModelError(f"{name}: shape {a.shape}, expected {shape}")
        return a

    def norm(p: str) -> FloatLayerNorm:
        return FloatLayerNorm(get(f"{p}.weight", (d,)), get(f"{p}.bias", (d,)), eps)

    def conv(p: str, d_in: int, d_out: int) -> FloatLinear:  # Conv1D: (in, out), no transpose
        return FloatLinear(get(f"{p}.weight", (d_in, d_out)), get(f"{p}.bias", (d_out,)))

    layers = []
    for i in range(L):
        p = f"h.{i}"
        qkv = conv(f"{p}.attn.c_attn", d, 3 * d)
        q, k, v = (FloatLinear(np.ascontiguousarray(qkv.w[:, j * d:(j + 1) * d]),
                               qkv.b[j * d:(j + 1) * d].copy()) for j in range(3))
        layers.append(FloatLayer(q=q, k=k, v=v, o=conv(f"{p}.attn.c_proj", d, d),
                                 ln1=norm(f"{p}.ln_1"), up=conv(f"{p}.mlp.c_fc", d, f),
                                 down=conv(f"{p}.mlp.c_proj", f, d), ln2=norm(f"{p}.ln_2")))
    wpe = get("wpe.weight", (N, d))[:n]
    return FloatModel(config, get("wte.weight", (V, d)), np.ascontiguousarray(wpe),
                      tuple(layers), final_ln=norm("ln_f"), meta={"source": str(directory)})


def read_bert(directory: str | Path, max_seq_len: int | None = None) -> FloatModel:
    """A BERT-family checkpoint (``model_type: "bert"``) as a post-norm float encoder.

    Arguments:
        directory: holds ``config.json`` (``hidden_size``, ``num_hidden_layers``,
            ``num_attention_heads``, ``intermediate_size``, ``vocab_size``,
            ``max_position_embeddings``, ``layer_norm_eps``, ``hidden_act``) and
            ``model.safetensors`` (``embeddings.*``, ``encoder.layer.{i}.*``, with or without a
            ``bert.`` prefix).
        max_seq_len: positions kept (default: ``max_position_embeddings``).

    Raises:
        ModelError: a missing or misshapen tensor, or an unsupported activation.
    """
    directory = Path(directory)
    cfg = _config_json(directory)
    act = cfg.get("hidden_act", "gelu")
    if act not in ("gelu", "relu"):
        raise ModelError(f"config.json: activation {act!r} is not supported (gelu or relu)")
    N = _int(cfg, "max_position_embeddings")
    config = TransformerConfig(
        n_layers=_int(cfg, "num_hidden_layers"), d_model=_int(cfg, "hidden_size"),
        n_heads=_int(cfg, "num_attention_heads"), d_ff=_int(cfg, "intermediate_size"),
        max_seq_len=min(N, max_seq_len or N), vocab_size=_int(cfg, "vocab_size"),
        activation=act, norm="post", ln_eps=float(cfg.get("layer_norm_eps", 1e-12)))
    raw = _tensors(directory)
    t = {k.removeprefix("bert."): v for k, v in raw.items()}
    return bert_float_model(t, config, {"source": str(directory)})


class HFModel:
    """A GPT-2 or BERT-family checkpoint with its tokenizer; the integer model on first use.

    Attributes:
        kind: ``"gpt2"`` or ``"bert"``.
        float_model: the float64 model.
        tokenizer: a ``tokenizers.Tokenizer`` (``tokenizer.json``).
        sha256: SHA-256 of ``model.safetensors``.
    """

    def __init__(self, directory: str | Path, kind: str, qconfig: QuantConfig | None = None,
                 max_seq_len: int | None = None) -> None:
        self.directory = Path(directory)
        self.kind = kind
        self.float_model = (read_gpt2 if kind == "gpt2" else read_bert)(self.directory, max_seq_len)
        self.config = self.float_model.config
        self.tokenizer = load_tokenizer(self.directory / "tokenizer.json", self.config.max_seq_len)
        self.sha256 = sha256_file(self.directory / "model.safetensors")
        self.qconfig = qconfig
        self._int_model = None

    def tokenize(self, text: str) -> np.ndarray:
        """Token ids of ``text`` (the tokenizer's own special tokens included)."""
        if not isinstance(text, str):
            raise ModelError("tokenize(): text must be a string")
        return np.asarray(self.tokenizer.encode(text).ids, dtype=np.int64)

    def decode(self, ids) -> str:
        """Text of token ids."""
        return self.tokenizer.decode([int(i) for i in np.asarray(ids).reshape(-1)])

    @property
    def int_model(self):
        """The quantized integer model (what :func:`zkinfer.setup` commits), calibrated on the
        texts shipped in ``zkinfer/model/data/smollm2_calibration.json``."""
        if self._int_model is None:
            from zkinfer.model.llama import calibration_texts
            from zkinfer.model.provenance import Provenance
            from zkinfer.model.quantize import quantize

            texts = calibration_texts()
            cal = [ids for ids in (self.tokenize(t)[: self.config.max_seq_len] for t in texts)
                   if ids.size]
            if not cal:
                raise ModelError("the tokenizer gives no tokens for the calibration texts")
            name = f"hf-{self.kind}:{self.directory.name}"[:200]
            prov = Provenance.checkpoint(name, self.sha256, cal)
            self._int_model = quantize(self.float_model, cal, self.qconfig, prov)
        return self._int_model

    def generate(self, ids, max_new_tokens: int) -> np.ndarray:
        """A GPT-2 model's greedy answer by the integer model (no stop tokens: it runs to
        ``max_new_tokens``)."""
        if self.kind != "gpt2":
            raise ModelError("generate(): a BERT-family model is an encoder")
        from zkinfer.prover import generate

        return generate(self.int_model, np.asarray(ids, dtype=np.int64), int(max_new_tokens))


def load_hf(path: str | Path, qconfig: Any = None, max_seq_len: int | None = None):
    """Load a Hugging Face model directory of any supported architecture (module docstring).

    Arguments:
        path: the directory (a ``.gguf`` file goes to :func:`zkinfer.model.hf.load_llama`).
        qconfig: quantization settings of a GPT-2 or BERT model (default ``QuantConfig()``).
        max_seq_len: positions a GPT-2 or BERT model keeps (default: all of its table).

    Returns:
        A :class:`~zkinfer.model.hf.LlamaModel` or an :class:`HFModel`; each has ``int_model``
        (what :func:`zkinfer.setup` commits), ``tokenize`` and ``decode``.

    Raises:
        ModelError: not a model directory, or an unsupported ``model_type``.
    """
    from zkinfer.model.hf import load_llama

    p = Path(path)
    if p.suffix == ".gguf":
        return load_llama(p)
    kind = _config_json(p).get("model_type")
    if kind == "llama":
        return load_llama(p)
    if kind in ("gpt2", "bert"):
        return HFModel(p, kind, qconfig, max_seq_len)
    raise ModelError(f"{p}: model_type {kind!r} is not supported (llama, gpt2, bert)")
