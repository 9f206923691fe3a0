"""Hypothesis strategies for small random transformer / MLP configurations and inputs."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from zkinfer.model.config import QuantConfig, TransformerConfig


@st.composite
def configs(draw) -> TransformerConfig:
    """Small architectures of both norm placements and activations."""
    heads = draw(st.sampled_from([1, 2, 4]))
    d_head = draw(st.sampled_from([2, 4, 8]))
    return TransformerConfig(
        n_layers=draw(st.integers(1, 2)),
        d_model=heads * d_head,
        n_heads=heads,
        d_ff=draw(st.sampled_from([4, 16, 40])),
        max_seq_len=draw(st.integers(1, 12)),
        vocab_size=draw(st.integers(1, 50)),
        activation=draw(st.sampled_from(["gelu", "relu"])),
        norm=draw(st.sampled_from(["post", "pre"])),
    )


@st.composite
def mlp_configs(draw) -> TransformerConfig:
    """Small MLP architectures (``block="mlp"``), widths not restricted to powers of two."""
    return TransformerConfig(
        n_layers=draw(st.integers(1, 3)),
        d_model=draw(st.sampled_from([1, 3, 5, 8, 12, 20])),
        n_heads=draw(st.sampled_from([1, 2, 7])),  # unused by mlp blocks, need not divide d_model
        d_ff=draw(st.sampled_from([1, 3, 7, 16, 40])),
        max_seq_len=draw(st.integers(1, 12)),
        vocab_size=draw(st.integers(1, 50)),
        activation=draw(st.sampled_from(["gelu", "relu"])),
        norm=draw(st.sampled_from(["post", "pre"])),  # unused by mlp blocks
        block="mlp",
    )


@st.composite
def qconfigs(draw) -> QuantConfig:
    """Bit-width choices around the defaults (narrow ones make clamping frequent)."""
    return QuantConfig(
        weight_bits=draw(st.sampled_from([4, 8])),
        emb_bits=draw(st.sampled_from([6, 8, 12])),
        act_bits=draw(st.sampled_from([4, 8, 10])),
        resid_bits=draw(st.sampled_from([8, 12, 16])),
        ffn_in_bits=draw(st.sampled_from([6, 10])),
        ffn_out_bits=draw(st.sampled_from([6, 12])),
        out_bits=draw(st.sampled_from([8, 12])),
        exp_bits=draw(st.sampled_from([6, 10, 14])),
        prob_bits=draw(st.sampled_from([6, 10, 14])),
        mult_bits=draw(st.sampled_from([8, 16])),
        pool_shift=draw(st.sampled_from([0, 8])),
        calib_percentile=draw(st.sampled_from([90.0, 100.0])),
        norm_per_channel=draw(st.booleans()),
    )


def token_ids(draw, config: TransformerConfig) -> np.ndarray:
    """A valid input of random length for ``config``."""
    n = draw(st.integers(1, config.max_seq_len))
    seed = draw(st.integers(0, 2**32 - 1))
    return np.random.default_rng(seed).integers(0, config.vocab_size, n, dtype=np.int64)
