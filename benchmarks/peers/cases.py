"""The four cases of the EZKL comparison and their float64 references.

A zkinfer model always has token and position embeddings and mean pooling, so every case is a
:class:`~zkinfer.model.config.TransformerConfig` built from seeded float weights
(:func:`zkinfer.model.synthetic.random_float_model`) and quantized the normal way
(:func:`zkinfer.models.random_transformer`, same seed, so the same float weights). EZKL gets an
ONNX graph of those same float weights that starts *after* the embedding lookup: its input is
the embedded float vectors ``tok_emb[ids] + pos_emb[:n]``.

``scope`` says which part of the float computation the ONNX graph holds:

* ``"model"``: everything zkinfer proves after the lookup (embedding LayerNorm of post-norm
  models, every block, mean pooling): the two systems prove the same float computation.
* ``"attention"``: case (b) asks for single-head attention alone, which zkinfer cannot express
  (its smallest transformer block also has LayerNorms and an FFN). EZKL proves
  ``mean_rows(x + o(softmax(q k^T / sqrt(d)) v))`` of the first block's weights; zkinfer proves
  the whole 1-layer model, which is strictly more work.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from zkinfer.model.config import TransformerConfig
from zkinfer.model.float_model import FloatModel, forward_float
from zkinfer.model.synthetic import random_float_model

__all__ = ["PeerCase", "CASES", "SEED", "case_ids", "embedded_input", "float_reference", "attention_float"]

#: Seed of every float model and every input of the comparison.
SEED = 7


@dataclass(frozen=True)
class PeerCase:
    """One comparison case.

    Attributes:
        key: ``"a"`` .. ``"d"``.
        title: what the issue calls the case.
        config: the zkinfer architecture (``max_seq_len == seq``).
        seq: number of tokens (rows of the EZKL input).
        scope: ``"model"`` or ``"attention"`` (see the module docstring).
        zkinfer_extra: what the zkinfer proof covers beyond the EZKL graph.
    """

    key: str
    title: str
    config: TransformerConfig
    seq: int
    scope: str
    zkinfer_extra: str


def _cfg(n_layers, d, heads, ff, seq, act, block="transformer") -> TransformerConfig:
    return TransformerConfig(
        n_layers=n_layers, d_model=d, n_heads=heads, d_ff=ff, max_seq_len=seq, vocab_size=256,
        activation=act, norm="post", block=block,
    )  # fmt: skip


#: The cases of issue 7, keyed by letter.
CASES: dict[str, PeerCase] = {
    "a": PeerCase(
        "a",
        "MLP 64-256-64 ReLU (1 vector)",
        _cfg(1, 64, 1, 256, 1, "relu", block="mlp"),
        1,
        "model",
        "token+position embedding lookup bound to public ids",
    ),
    "b": PeerCase(
        "b",
        "1-head attention, seq 16, d 32",
        _cfg(1, 32, 1, 32, 16, "relu"),
        16,
        "attention",
        "embedding lookup, embedding LayerNorm, 2 LayerNorms, FFN 32-32 ReLU",
    ),
    "c": PeerCase(
        "c",
        "1-layer encoder d32 h2 ff128 seq16",
        _cfg(1, 32, 2, 128, 16, "gelu"),
        16,
        "model",
        "embedding lookup bound to public ids",
    ),
    "d": PeerCase(
        "d",
        "2-layer encoder d64 h4 ff256 seq16",
        _cfg(2, 64, 4, 256, 16, "gelu"),
        16,
        "model",
        "embedding lookup bound to public ids",
    ),
}


def float_model(case: PeerCase) -> FloatModel:
    """The seeded float64 model of a case (the weights both systems start from).

    Arguments:
        case: the case.

    Returns:
        ``random_float_model(case.config, SEED)``.
    """
    return random_float_model(case.config, SEED)


def case_ids(case: PeerCase) -> np.ndarray:
    """The token ids proved in a case (seeded, ``case.seq`` of them).

    Arguments:
        case: the case.

    Returns:
        int64 array of shape ``(case.seq,)``.
    """
    rng = np.random.default_rng([SEED, 0x1D5])
    return rng.integers(0, case.config.vocab_size, case.seq, dtype=np.int64)


def embedded_input(model: FloatModel, ids: np.ndarray) -> np.ndarray:
    """The EZKL input: embedded float vectors ``tok_emb[ids] + pos_emb[:n]``.

    Arguments:
        model: the float model.
        ids: token ids.

    Returns:
        float64 array of shape ``(n, d_model)``.
    """
    return model.tok_emb[ids] + model.pos_emb[: len(ids)]


def attention_float(model: FloatModel, x: np.ndarray) -> np.ndarray:
    """Float64 single-head attention block of the first layer, mean-pooled (scope ``attention``).

    ``y = mean_rows(x + o(softmax(q(x) k(x)^T / sqrt(d)) v(x)))`` with every head of the
    layer's projections taken together as one head of width ``d_model``.

    Arguments:
        model: the float model (its first layer's ``q, k, v, o``).
        x: embedded input, ``(n, d_model)``.

    Returns:
        float64 vector of length ``d_model``.
    """
    layer = model.layers[0]
    q, k, v = layer.q(x), layer.k(x), layer.v(x)
    s = q @ k.T / math.sqrt(q.shape[1])
    p = np.exp(s - s.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    return (x + layer.o(p @ v)).mean(axis=0)


def float_reference(case: PeerCase, model: FloatModel, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Float64 outputs of a case: what zkinfer approximates and what EZKL approximates.

    Arguments:
        case: the case.
        model: its float model.
        ids: token ids.

    Returns:
        ``(zkinfer_ref, ezkl_ref)``: the pooled float forward of the whole model, and the pooled
        float output of the ONNX graph's computation (the same vector for scope ``model``).
    """
    whole = forward_float(model, ids).mean(axis=0)
    if case.scope == "attention":
        return whole, attention_float(model, embedded_input(model, ids))
    return whole, whole
