"""Loading float weights and tokenizers from files (safetensors, Hugging Face ``tokenizer.json``).

``safetensors`` and ``tokenizers`` are optional dependencies (extra ``minilm``); a missing one
raises :class:`~zkinfer.errors.MissingDependencyError` naming the ``pip install`` that fixes it.
Weights are read with ``safetensors.numpy`` (no torch) after checking the file's SHA-256.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from zkinfer.errors import MissingDependencyError, ModelError
from zkinfer.model.config import TransformerConfig
from zkinfer.model.float_model import FloatLayer, FloatLayerNorm, FloatLinear, FloatModel

__all__ = ["sha256_file", "load_safetensors", "load_tokenizer", "bert_float_model"]


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks.

    Arguments:
        path: the file.

    Returns:
        64 lowercase hex digits.
    """
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def load_safetensors(path: str | Path, sha256: str | None = None) -> dict[str, np.ndarray]:
    """Read a ``.safetensors`` file into numpy arrays, optionally checking its SHA-256 first.

    Arguments:
        path: the file.
        sha256: expected hex digest, or ``None`` to skip the check.

    Returns:
        ``tensor name -> numpy array``.

    Raises:
        MissingDependencyError: ``safetensors`` is not installed.
        ModelError: the file is missing, has the wrong hash, or does not parse.
    """
    try:
        from safetensors.numpy import load_file
    except ImportError as exc:
        raise MissingDependencyError(
            "reading weights needs safetensors: pip install 'zkinfer[minilm]'"
        ) from exc
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"weight file not found: {path}")
    if sha256 is not None:
        got = sha256_file(path)
        if got != sha256.lower():
            raise ModelError(f"{path.name}: SHA-256 {got} does not match the expected {sha256}")
    try:
        return load_file(str(path))
    except Exception as exc:  # safetensors raises its own error types for malformed files
        raise ModelError(f"{path.name}: not a readable safetensors file ({exc})") from exc


def load_tokenizer(path: str | Path, max_length: int) -> Any:
    """A ``tokenizers.Tokenizer`` from ``tokenizer.json`` with padding off and truncation on.

    Arguments:
        path: the ``tokenizer.json`` file.
        max_length: truncate encodings to this many tokens (special tokens included).

    Returns:
        The tokenizer.

    Raises:
        MissingDependencyError: ``tokenizers`` is not installed.
        ModelError: the file is missing or malformed.
    """
    try:
        from tokenizers import Tokenizer
    except ImportError as exc:
        raise MissingDependencyError("tokenizing needs tokenizers: pip install 'zkinfer[minilm]'") from exc
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"tokenizer file not found: {path}")
    try:
        tok = Tokenizer.from_file(str(path))
    except Exception as exc:  # tokenizers raises a plain Exception on parse errors
        raise ModelError(f"{path.name}: not a readable tokenizer ({exc})") from exc
    tok.no_padding()
    tok.enable_truncation(max_length=max_length)
    return tok


def _f64(tensors: Mapping[str, np.ndarray], name: str) -> np.ndarray:
    if name not in tensors:
        raise ModelError(f"weight {name!r} missing")
    return np.asarray(tensors[name], dtype=np.float64)


def bert_float_model(
    tensors: Mapping[str, np.ndarray], config: TransformerConfig, meta: dict[str, str] | None = None
) -> FloatModel:
    """Map Hugging Face BERT tensor names to a post-norm :class:`FloatModel`.

    Linear weights are transposed to ``(d_in, d_out)``; the token-type-0 embedding is added to
    the position table (every token has type 0); positions are cut to ``max_seq_len``.

    Arguments:
        tensors: ``name -> array`` as stored by ``transformers`` (``embeddings.*``,
            ``encoder.layer.{i}.*``).
        config: the architecture (must be a ``norm="post"`` transformer).
        meta: provenance strings kept in the model.

    Returns:
        The float model.

    Raises:
        ModelError: a tensor is missing or has the wrong shape, or ``config`` is not a
            post-norm transformer.
    """
    if config.norm != "post" or config.block != "transformer":
        raise ModelError("BERT checkpoints are post-norm transformers")

    def lin(prefix: str, d_in: int, d_out: int) -> FloatLinear:
        w = _f64(tensors, f"{prefix}.weight")
        b = _f64(tensors, f"{prefix}.bias")
        if w.shape != (d_out, d_in) or b.shape != (d_out,):
            raise ModelError(f"{prefix}: shape {w.shape}, expected {(d_out, d_in)}")
        return FloatLinear(np.ascontiguousarray(w.T), b)

    def norm(prefix: str) -> FloatLayerNorm:
        g, b = _f64(tensors, f"{prefix}.weight"), _f64(tensors, f"{prefix}.bias")
        if g.shape != (config.d_model,) or b.shape != (config.d_model,):
            raise ModelError(f"{prefix}: wrong shape")
        return FloatLayerNorm(g, b, config.ln_eps)

    d, f = config.d_model, config.d_ff
    tok = _f64(tensors, "embeddings.word_embeddings.weight")
    pos = _f64(tensors, "embeddings.position_embeddings.weight")
    typ = _f64(tensors, "embeddings.token_type_embeddings.weight")
    if tok.shape != (config.vocab_size, d) or pos.shape[0] < config.max_seq_len:
        raise ModelError("embedding tables do not match the configuration")
    pos = pos[: config.max_seq_len] + typ[0]
    layers = []
    for i in range(config.n_layers):
        p = f"encoder.layer.{i}"
        layers.append(
            FloatLayer(
                q=lin(f"{p}.attention.self.query", d, d),
                k=lin(f"{p}.attention.self.key", d, d),
                v=lin(f"{p}.attention.self.value", d, d),
                o=lin(f"{p}.attention.output.dense", d, d),
                ln1=norm(f"{p}.attention.output.LayerNorm"),
                up=lin(f"{p}.intermediate.dense", d, f),
                down=lin(f"{p}.output.dense", f, d),
                ln2=norm(f"{p}.output.LayerNorm"),
            )
        )
    return FloatModel(config, tok, pos, tuple(layers), emb_ln=norm("embeddings.LayerNorm"), meta=meta or {})
