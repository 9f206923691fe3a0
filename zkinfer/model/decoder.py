"""Decoders in the circuit's layout: an :class:`~zkinfer.model.int_llama.IntLlama` as an
:class:`~zkinfer.model.intmodel.IntModel` (``config.block == "llama"``) and back.

The integer semantics are :mod:`zkinfer.model.int_llama`'s; only the layout of the query heads
changes. Grouped-query attention reads kv head ``h // g`` for query head ``h`` (``g`` query heads
per kv head). The circuit broadcasts each kv head over its query heads along an axis of the
padded tensor, so that axis needs a power-of-two length: each kv head gets ``slots`` query slots
(the power of two in ``[g, 2g)``), slot ``kv * slots + j`` holding query head ``kv * g + j`` for
``j < g``. The extra slots are heads whose ``q`` weight columns, context multipliers and output
projection rows are zero: their ``q`` is zero, their context is ``rq(0) = 0`` and the output
projection ignores it, so the residual stream, the logits and the greedy tokens are exactly the
:class:`IntLlama`'s (tested). SmolLM2-135M (9 query heads over 3 kv heads) gets 4 slots per kv
head: 12 slots, 3 of them empty.

:func:`decoder_model` makes the circuit's model; :func:`llama_of` turns it back into an
``IntLlama`` for fast greedy generation with a KV cache.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from zkinfer.errors import ModelError
from zkinfer.model import int_llama as il
from zkinfer.model.config import QuantConfig, TransformerConfig
from zkinfer.model.intmodel import (
    IntDecoder,
    IntDecoderLayer,
    IntLinear,
    IntModel,
    Requant,
    declare_widths,
    validate,
)

__all__ = ["decoder_model", "llama_of", "query_slots"]


def query_slots(n_heads: int, n_kv_heads: int) -> int:
    """The power of two in ``[g, 2g)``, ``g = n_heads / n_kv_heads``: query slots per kv head."""
    g = n_heads // n_kv_heads
    return 1 << (g - 1).bit_length()


def _pad_cols(a: np.ndarray, G: int, g: int, slots: int, dh: int) -> np.ndarray:
    """``(.., G g dh) -> (.., G slots dh)``: each kv head's query heads, then zero slots."""
    lead = a.shape[:-1]
    out = np.zeros(lead + (G, slots, dh), dtype=a.dtype)
    out[..., :g, :] = a.reshape(lead + (G, g, dh))
    return out.reshape(lead + (G * slots * dh,))


def _unpad_cols(a: np.ndarray, G: int, g: int, slots: int, dh: int) -> np.ndarray:
    lead = a.shape[:-1]
    return np.ascontiguousarray(a.reshape(lead + (G, slots, dh))[..., :g, :]).reshape(
        lead + (G * g * dh,))


def _lin(p: il.IntLinear, w: np.ndarray | None = None, m: np.ndarray | None = None) -> IntLinear:
    w = p.w if w is None else w
    rq = p.rq if m is None else Requant(m, p.rq.shift, p.rq.lo, p.rq.hi)
    return IntLinear(np.ascontiguousarray(w, dtype=np.int64),
                     np.zeros(w.shape[1], dtype=np.int64), rq, p.res_m)


def decoder_model(model: il.IntLlama, stop_ids: Iterable[int] = (), provenance=None) -> IntModel:
    """The circuit's model of an integer Llama (module docstring), with declared widths.

    Arguments:
        model: the integer decoder (:func:`zkinfer.model.int_llama.quantize_llama`).
        stop_ids: token ids that end an answer (default: the configuration's ``eos_id``).
        provenance: recorded in the model (:class:`~zkinfer.model.provenance.Provenance`).

    Returns:
        A validated :class:`IntModel` with ``config.block == "llama"``.

    Raises:
        ModelError: an untied model, or parameters the circuit cannot hold.
    """
    c, q = model.config, model.qconfig
    G, g, dh = c.n_kv_heads, c.group, c.head_dim
    slots = query_slots(c.n_heads, G)
    N = model.max_positions
    stops = sorted({int(s) for s in stop_ids} or {c.eos_id})
    cfg = TransformerConfig(n_layers=c.n_layers, d_model=c.d_model, n_heads=c.n_heads,
                            d_ff=c.d_ff, max_seq_len=N, vocab_size=c.vocab_size,
                            activation="silu", norm="pre", ln_eps=float(c.rms_eps),
                            block="llama", n_kv_heads=G)
    qc = QuantConfig(weight_bits=q.weight_bits, emb_bits=q.emb_bits, act_bits=q.norm_bits,
                     resid_bits=q.resid_bits, ffn_in_bits=q.gate_bits, ffn_out_bits=q.ffn_bits,
                     out_bits=q.final_bits, exp_bits=q.exp_bits, prob_bits=q.prob_bits,
                     mult_bits=40, pool_shift=0)
    layers = []
    for L in model.layers:
        wq = _pad_cols(L.q.w, G, g, slots, dh)
        mq = _pad_cols(L.q.rq.m, G, g, slots, dh)
        a = L.attn
        ctx = Requant(_pad_cols(a.ctx.m, G, g, slots, dh), a.ctx.shift, a.ctx.lo, a.ctx.hi)
        attn = il.IntCausalAttention(a.exp_table, a.exp_bits, a.prob_bits, a.score_shift, ctx)
        wo = _pad_cols(L.o.w.T, G, g, slots, dh).T
        layers.append(IntDecoderLayer(L.attn_norm, _lin(L.q, wq, mq), _lin(L.k), _lin(L.v), attn,
                                      _lin(L.o, wo), L.mlp_norm, _lin(L.gate), _lin(L.up),
                                      L.swiglu, _lin(L.down)))
    dec = IntDecoder(model.embed_rq, model.rope, model.final_norm, slots,
                     np.asarray(stops, dtype=np.int64), float(model.logit_scale))
    out = IntModel(cfg, qc, np.ascontiguousarray(model.embed, dtype=np.int64), None,
                   tuple(layers), None, None, 0, provenance=provenance, decoder=dec)
    validate(out)
    return IntModel(cfg, qc, out.tok_emb, None, out.layers, None, None, 0,
                    widths=declare_widths(out), provenance=provenance, decoder=dec)


def llama_of(model: IntModel) -> il.IntLlama:
    """The :class:`IntLlama` of a decoder in the circuit's layout (the inverse of
    :func:`decoder_model`): the same integers, for greedy generation with a KV cache.

    Raises:
        ModelError: not a decoder, or weights that are shape-only placeholders (a verifying
            key's model cannot run).
    """
    from zkinfer.model.gguf import LlamaConfig

    cfg, dec = model.config, model.decoder
    if cfg.block != "llama" or dec is None:
        raise ModelError("not a decoder model")
    if not any(model.tok_emb.strides):
        raise ModelError("a verifying key's model has no weights: generation needs the proving key")
    G, dh = cfg.n_kv_heads, cfg.d_head
    g, slots = cfg.n_heads // G, dec.slots
    lc = LlamaConfig(cfg.n_layers, cfg.d_model, cfg.n_heads, G, cfg.d_ff, cfg.vocab_size, 1.0,
                     float(cfg.ln_eps) if cfg.ln_eps > 0 else 1e-6, dh, cfg.max_seq_len, None,
                     int(dec.stop_ids[0]) if dec.stop_ids.size else 0, None, True)

    def lin(p: IntLinear, w=None, m=None) -> il.IntLinear:
        rq = p.rq if m is None else Requant(m, p.rq.shift, p.rq.lo, p.rq.hi)
        return il.IntLinear(p.w if w is None else np.ascontiguousarray(w), rq, p.res_m)

    layers = []
    for L in model.layers:
        a = L.attn
        ctx = Requant(_unpad_cols(a.ctx.m, G, g, slots, dh), a.ctx.shift, a.ctx.lo, a.ctx.hi)
        layers.append(il.IntLlamaLayer(
            L.attn_norm, lin(L.q, _unpad_cols(L.q.w, G, g, slots, dh),
                             _unpad_cols(L.q.rq.m, G, g, slots, dh)),
            lin(L.k), lin(L.v),
            il.IntCausalAttention(a.exp_table, a.exp_bits, a.prob_bits, a.score_shift, ctx),
            lin(L.o, _unpad_cols(L.o.w.T, G, g, slots, dh).T), L.mlp_norm, lin(L.gate),
            lin(L.up), L.swiglu, lin(L.down)))
    return il.IntLlama(lc, il.LlamaQuantConfig(), model.tok_emb, dec.embed_rq, tuple(layers),
                       dec.rope, dec.final_norm, dec.logit_scale)
