"""The fast integer forward: Numba kernels writing the full :class:`~zkinfer.model.trace.Trace`.

Bit-exact with :func:`zkinfer.model.reference.forward_reference` (the spec), column by column:
each op runs its home's kernel call (:meth:`zkinfer.model.ops.common.OpHome.kernel`; the kernels
are in :mod:`zkinfer.model._kernels`). Importing this module does not import numba; the kernels
are loaded (compiled, or read from Numba's on-disk cache) on the first call.
"""

from __future__ import annotations

import numpy as np

from zkinfer.model.config import TransformerConfig
from zkinfer.model.intmodel import IntModel, column_specs, ops
from zkinfer.model.ops import home
from zkinfer.model.reference import check_ids
from zkinfer.model.trace import Trace

__all__ = ["forward", "warmup"]


def forward(model: IntModel, ids: np.ndarray) -> Trace:
    """Run the integer forward with the Numba kernels and return its trace.

    Arguments:
        model: a validated integer model (e.g. from :func:`zkinfer.model.quantize.quantize`).
        ids: token ids, 1-D integer array; all tokens are real.

    Returns:
        The :class:`Trace` (``trace.output`` is the pooled integer vector), checked against
        the model's declared widths.

    Raises:
        ModelError: bad input, or a column leaving its declared width.
    """
    ids = check_ids(model, ids)
    specs = column_specs(model, ids.shape[0])
    cols = {name: np.empty(spec.shape, dtype=np.int64) for name, spec in specs.items()}
    for op in ops(model):
        home(op).kernel(op, model, ids, cols)
    trace = Trace(cols, specs)
    trace.check()
    return trace


#: The architecture :func:`warmup` runs: every op kind, at the smallest sizes.
_WARMUP_CONFIG = TransformerConfig(n_layers=1, d_model=8, n_heads=2, d_ff=16, max_seq_len=4,
                                   vocab_size=16, activation="gelu", norm="post")


def warmup() -> float:
    """Compile (or load from cache) every kernel by running a small seeded transformer once,
    then a small seeded Llama decoder on five tokens (every decoder op: the kernels of
    :mod:`zkinfer.model._decoder_kernels`). The decoder is built here, like the built-in
    :func:`zkinfer.models.tiny_decoder` but smaller, so that warming up does not import
    :mod:`zkinfer.models`.

    Returns:
        Seconds taken (both models, building them included).
    """
    import time

    from zkinfer.model.decoder import decoder_model
    from zkinfer.model.gguf import LlamaConfig
    from zkinfer.model.int_llama import LlamaQuantConfig, quantize_llama
    from zkinfer.model.quantize import quantize
    from zkinfer.model.synthetic import random_float_model, random_inputs, random_llama_checkpoint

    t0 = time.perf_counter()
    model = quantize(random_float_model(_WARMUP_CONFIG, 0), random_inputs(_WARMUP_CONFIG, 0, 2))
    forward(model, np.arange(4, dtype=np.int64))
    # 2 query heads over 1 kv head of width 8, small tables (as the tiny decoder's)
    config = LlamaConfig(n_layers=1, d_model=16, n_heads=2, n_kv_heads=1, d_ff=16, vocab_size=16,
                         rope_theta=100.0, rms_eps=1e-5, head_dim=8, max_seq_len=8, bos_id=1,
                         eos_id=2, pad_id=None, tied=True)
    qconfig = LlamaQuantConfig(resid_bits=16, norm_bits=10, qk_bits=10, v_bits=10, ctx_bits=10,
                               exp_bits=10, prob_bits=10, exp_rows=256, gate_bits=8,
                               silu_bits=10, up_bits=10, ffn_bits=10, final_bits=10)
    cal = [np.arange(8, dtype=np.int64), np.arange(8, 16, dtype=np.int64)]
    decoder = decoder_model(quantize_llama(random_llama_checkpoint(config, 0), cal, qconfig))
    forward(decoder, np.arange(5, dtype=np.int64))
    return time.perf_counter() - t0
