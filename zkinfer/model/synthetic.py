"""Seeded random float models (no download), for the built-in demo model and for tests."""

from __future__ import annotations

import numpy as np

from zkinfer.model.config import TransformerConfig
from zkinfer.model.float_model import FloatLayer, FloatLayerNorm, FloatLinear, FloatModel

__all__ = ["random_float_model", "random_inputs", "random_llama_checkpoint"]


def random_float_model(config: TransformerConfig, seed: int) -> FloatModel:
    """A float model with seeded Gaussian weights of BERT-like magnitudes.

    Weights ``W ~ N(0, 1/d_in)``, small biases, LayerNorm gains near 1; every draw comes from
    ``numpy.random.default_rng(seed)`` in a fixed order, so a seed determines the model. For
    ``block="mlp"`` only the embeddings and each block's ``up``/``down`` are drawn.

    Arguments:
        config: architecture.
        seed: non-negative integer seed.

    Returns:
        The float model.
    """
    rng = np.random.default_rng(seed)
    d, f = config.d_model, config.d_ff

    def linear(d_in: int, d_out: int) -> FloatLinear:
        return FloatLinear(rng.normal(0.0, 1.0 / np.sqrt(d_in), (d_in, d_out)), rng.normal(0.0, 0.02, d_out))

    def norm() -> FloatLayerNorm:
        return FloatLayerNorm(1.0 + rng.normal(0.0, 0.1, d), rng.normal(0.0, 0.05, d), config.ln_eps)

    tok = rng.normal(0.0, 1.0, (config.vocab_size, d))
    pos = rng.normal(0.0, 0.2, (config.max_seq_len, d))
    if config.block == "mlp":
        mlp_layers = tuple(
            FloatLayer(None, None, None, None, None, up=linear(d, f), down=linear(f, d), ln2=None)
            for _ in range(config.n_layers)
        )
        return FloatModel(config, tok, pos, mlp_layers, None, None, {"source": f"random seed {seed}"})
    layers = tuple(
        FloatLayer(
            q=linear(d, d),
            k=linear(d, d),
            v=linear(d, d),
            o=linear(d, d),
            ln1=norm(),
            up=linear(d, f),
            down=linear(f, d),
            ln2=norm(),
        )  # fmt: skip
        for _ in range(config.n_layers)
    )
    emb_ln = norm() if config.norm == "post" else None
    final_ln = norm() if config.norm == "pre" else None
    return FloatModel(config, tok, pos, layers, emb_ln, final_ln, {"source": f"random seed {seed}"})


def random_inputs(config: TransformerConfig, seed: int, count: int = 4) -> list[np.ndarray]:
    """Seeded random token sequences, the longest of ``max_seq_len`` tokens.

    Arguments:
        config: architecture (vocabulary size and maximum length).
        seed: seed.
        count: number of sequences.

    Returns:
        ``count`` int64 arrays; lengths cycle through ``max_seq_len`` and shorter ones.
    """
    rng = np.random.default_rng([seed, 0x5EED])
    out = []
    for i in range(count):
        n = max(1, config.max_seq_len >> (i % 3))
        out.append(rng.integers(0, config.vocab_size, n, dtype=np.int64))
    return out


def random_llama_checkpoint(config, seed: int):
    """A seeded random Llama checkpoint (float64 weights by Hugging Face name) for tests and the
    built-in tiny decoder: norm gains near 1, other weights ``N(0, 0.4^2)``, drawn in the order
    of :func:`zkinfer.model.gguf.expected_shapes`.

    Arguments:
        config: a :class:`~zkinfer.model.gguf.LlamaConfig`.
        seed: non-negative integer seed.

    Returns:
        An object with ``config`` and ``weights`` (what
        :func:`~zkinfer.model.int_llama.quantize_llama` reads).
    """
    from types import SimpleNamespace

    from zkinfer.model.gguf import expected_shapes

    rng = np.random.default_rng(seed)
    weights = {}
    for name, shape in expected_shapes(config).items():
        if name.endswith("norm.weight"):
            weights[name] = 1.0 + 0.2 * rng.standard_normal(shape)
        else:
            weights[name] = rng.normal(0.0, 0.4, shape)
    return SimpleNamespace(config=config, weights=weights)
