"""The integer model: parameters, wiring, declared widths and the trace column list.

An :class:`IntModel` holds only integers (plus float scales used to dequantize the output, which
play no part in the integer semantics). Its forward pass is a fixed list of ops (:func:`ops`),
the same for the numpy reference, the Numba kernels and the proof. Each op kind has one home in
:mod:`zkinfer.model.ops` (its parameters, column widths, semantics, kernel call and circuit
gadget); this module holds the model as a whole: the per-layer parameter containers, the wiring
(:func:`ops`), the widths of all columns and the validation of an untrusted model.

A transformer uses all six op kinds; an MLP model (``config.block == "mlp"``) uses only
``OpEmbed``, ``OpLinear``, ``OpTable`` and ``OpPool`` (:mod:`zkinfer.model.ops` lists them).

Declared widths (:func:`declare_widths`) are worst-case bounds derived from the parameters and
the widths of each op's inputs at ``n = max_seq_len``, so an honest forward never leaves them;
they are what the proof range-checks. They are stored in the model (``IntModel.widths``) and
every forward checks every column against them.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from zkinfer.errors import ModelError
from zkinfer.model.config import QuantConfig, TransformerConfig
from zkinfer.model.int_llama import IntCausalAttention, IntRMSNorm, IntRope, IntSwiGLU
from zkinfer.model.ops import (
    Op,
    OpAttention,
    OpEmbed,
    OpLayerNorm,
    OpLinear,
    OpPool,
    OpTable,
    home,
    requant,
)
from zkinfer.model.ops.attention import IntAttention, check_attention
from zkinfer.model.ops.common import (
    MAX_BITS,
    MAX_TABLE_ROWS,
    check_fields,
    check_int,
    check_int_array,
    check_table,
    check_type,
    signed_bits,
    unsigned_bits,
)
from zkinfer.model.ops.layernorm import IntLayerNorm, check_layernorm
from zkinfer.model.ops.linear import IntLinear, check_linear
from zkinfer.model.ops.requant import Requant
from zkinfer.model.ops.table import check_activation
from zkinfer.model.provenance import Provenance
from zkinfer.model.trace import ColumnSpec

# the parameter and op classes live with their op (zkinfer.model.ops) and are re-exported here:
# the verifying-key codec finds the parameter classes in this module by name
__all__ = [
    "Requant",
    "IntLinear",
    "IntLayerNorm",
    "IntAttention",
    "IntFFN",
    "IntLayer",
    "IntDecoderLayer",
    "IntDecoder",
    "IntRMSNorm",
    "IntRope",
    "IntCausalAttention",
    "IntSwiGLU",
    "IntModel",
    "Provenance",
    "OpEmbed",
    "OpLinear",
    "OpAttention",
    "OpLayerNorm",
    "OpTable",
    "OpPool",
    "ops",
    "is_decoder",
    "stop_ids",
    "declare_widths",
    "check_declared_widths",
    "weight_width_names",
    "column_specs",
    "validate",
    "signed_bits",
    "unsigned_bits",
    "MAX_TABLE_ROWS",
    "MAX_BITS",
]

@dataclass(frozen=True, eq=False)
class IntFFN:
    """Feed-forward block: ``up``, activation table, ``down`` (with the residual).

    Attributes:
        up: first linear, requantized to the table input width.
        table: activation table, ``table[u + 2^(in_bits-1)] = act(u)`` for every ``in_bits``-bit ``u``.
        in_bits: table input width (``len(table) == 2^in_bits``).
        down: second linear with the residual.
    """

    up: IntLinear
    table: np.ndarray
    in_bits: int
    down: IntLinear


@dataclass(frozen=True, eq=False)
class IntLayer:
    """One block. Post-norm: attn -> ln1 -> ffn -> ln2; pre-norm: ln1 -> attn -> ln2 -> ffn.

    An MLP block (``config.block == "mlp"``) has only the feed-forward part: ``ln1``, ``attn``
    and ``ln2`` are ``None`` and the block is ``x = rq(down(ACT(rq(up(x)))) + x)``.
    """

    ln1: IntLayerNorm | None
    attn: IntAttention | None
    ln2: IntLayerNorm | None
    ffn: IntFFN


@dataclass(frozen=True, eq=False)
class IntDecoderLayer:
    """One decoder block (``config.block == "llama"``): ``h = RMSNorm(x)``; ``q, k, v`` projections
    (``q`` laid out in ``slots`` query slots per kv head: see :class:`IntDecoder`); RoPE on
    ``q`` and ``k``; causal grouped-query attention; ``x = rq(o(ctx) + x)``;
    ``h = RMSNorm(x)``; ``x = rq(down(SwiGLU(gate(h), up(h))) + x)``."""

    attn_norm: IntRMSNorm
    q: IntLinear
    k: IntLinear
    v: IntLinear
    attn: IntCausalAttention
    o: IntLinear
    mlp_norm: IntRMSNorm
    gate: IntLinear
    up: IntLinear
    swiglu: IntSwiGLU
    down: IntLinear


@dataclass(frozen=True, eq=False)
class IntDecoder:
    """The parts of a decoder (``config.block == "llama"``) outside its blocks.

    Query heads sit in ``slots`` slots per kv head (``slots`` the power of two at least
    ``n_heads / n_kv_heads``), slot ``kv * slots + j`` holding query head
    ``kv * (n_heads / n_kv_heads) + j``; the extra slots are heads whose ``q`` weights and
    output-projection rows are zero, so they change nothing. The circuit's head layout then
    broadcasts each kv head over its slots (a power-of-two axis).

    Attributes:
        embed_rq: ``x = rq(TOK[id] m[c])``: the tied table requantized to the residual stream.
        rope: the rotary tables (``max_seq_len`` rows), shared by every block.
        final_norm: the last RMSNorm (its output times ``TOK^T`` is the logits).
        slots: query slots per kv head.
        stop_ids: int64 ids that end an answer (end of turn, end of text).
        logit_scale: real value of one logit unit (for probabilities only).
    """

    embed_rq: Requant
    rope: IntRope
    final_norm: IntRMSNorm
    slots: int
    stop_ids: np.ndarray
    logit_scale: float


@dataclass(frozen=True, eq=False)
class IntModel:
    """A quantized transformer or MLP: integer parameters, declared widths and dequantization scales.

    Attributes:
        config: architecture.
        qconfig: the bit widths it was quantized with.
        tok_emb: ``(vocab_size, d_model)`` int64 token table.
        pos_emb: ``(max_seq_len, d_model)`` int64 position table.
        layers: the blocks.
        emb_ln: embedding LayerNorm (post-norm transformers) or ``None`` (also for mlp models).
        final_ln: final LayerNorm (pre-norm transformers) or ``None`` (also for mlp models).
        pool_shift: ``P`` of the pooled mean.
        widths: declared ``(bits, signed)`` per trace column name (see :func:`declare_widths`).
        out_scale: float64 ``(d_model,)``: ``pool.mean * out_scale`` is the float pooled vector.
        scales: informational float scales of named tensors (``real ~ int * scale``).
        provenance: where it came from (checkpoint or seed, digests of the weights and of the
            calibration inputs; :mod:`zkinfer.model.provenance`), ``None`` for hand-built models.
        decoder: a decoder's embedding requantization, rotary tables, final RMSNorm and stop
            ids (``config.block == "llama"``; then ``pos_emb``, ``emb_ln`` and ``final_ln``
            are ``None``, ``layers`` are :class:`IntDecoderLayer`), else ``None``.
    """

    config: TransformerConfig
    qconfig: QuantConfig
    tok_emb: np.ndarray
    pos_emb: np.ndarray | None
    layers: tuple[IntLayer, ...] | tuple[IntDecoderLayer, ...]
    emb_ln: IntLayerNorm | None
    final_ln: IntLayerNorm | None
    pool_shift: int
    widths: Mapping[str, tuple[int, bool]] = field(default_factory=dict)
    out_scale: np.ndarray | None = None
    scales: Mapping[str, np.ndarray] = field(default_factory=dict)
    provenance: Provenance | None = None
    decoder: IntDecoder | None = None


# ---------------------------------------------------------------------------------------------
# wiring


def ops(model: IntModel) -> list[Op]:
    """The forward pass as a list of ops in execution order.

    Post-norm (BERT): ``emb -> emb.ln``; per layer ``attn.{q,k,v} -> attn -> attn.o (+ input)
    -> ln1 -> ffn.up -> ffn.act -> ffn.down (+ ln1.out) -> ln2``; ``pool`` of the last output.
    Pre-norm: ``emb``; per layer ``ln1 -> attn.{q,k,v} -> attn -> attn.o (+ stream) -> ln2 ->
    ffn.up -> ffn.act -> ffn.down (+ attn.o.out)``; ``final_ln``; ``pool``.
    MLP (``block="mlp"``): ``emb``; per layer ``ffn.up -> ffn.act -> ffn.down (+ stream)``, the
    stream being ``emb.x`` then each ``ffn.down.out``; ``pool`` of the last ``ffn.down.out``.

    Arguments:
        model: the integer model.

    Returns:
        The ops; each names the columns it reads.

    Raises:
        ModelError: a LayerNorm or attention required by the architecture is missing.
    """
    cfg = model.config
    if cfg.block == "llama":
        return _decoder_ops(model)
    if cfg.block == "gpt2":
        return _gpt2_ops(model)
    out: list[Op] = [OpEmbed("emb")]
    x = "emb.x"
    if cfg.block == "mlp":
        for li, layer in enumerate(model.layers):
            p = f"layer{li}"
            f = layer.ffn
            out.append(OpLinear(f"{p}.ffn.up", x, f.up))
            out.append(OpTable(f"{p}.ffn.act", f"{p}.ffn.up.out", f.table, f.in_bits))
            out.append(OpLinear(f"{p}.ffn.down", f"{p}.ffn.act.out", f.down, res=x))
            x = f"{p}.ffn.down.out"
        out.append(OpPool("pool", x, model.pool_shift))
        return out
    if cfg.norm == "post":
        if model.emb_ln is None:
            raise ModelError("post-norm model needs emb_ln")
        out.append(OpLayerNorm("emb.ln", x, model.emb_ln))
        x = "emb.ln.out"
    for li, layer in enumerate(model.layers):
        p = f"layer{li}"
        a = layer.attn
        if a is None or layer.ln1 is None or layer.ln2 is None:
            raise ModelError(f"transformer block {p} needs attn, ln1 and ln2")
        if cfg.norm == "pre":
            out.append(OpLayerNorm(f"{p}.ln1", x, layer.ln1))
            h = f"{p}.ln1.out"
        else:
            h = x
        out.append(OpLinear(f"{p}.attn.q", h, a.q))
        out.append(OpLinear(f"{p}.attn.k", h, a.k))
        out.append(OpLinear(f"{p}.attn.v", h, a.v))
        out.append(OpAttention(f"{p}.attn", f"{p}.attn.q.out", f"{p}.attn.k.out", f"{p}.attn.v.out", a))
        out.append(OpLinear(f"{p}.attn.o", f"{p}.attn.ctx.out", a.o, res=x))
        x = f"{p}.attn.o.out"
        if cfg.norm == "post":
            out.append(OpLayerNorm(f"{p}.ln1", x, layer.ln1))
            x = h = f"{p}.ln1.out"
        else:
            out.append(OpLayerNorm(f"{p}.ln2", x, layer.ln2))
            h = f"{p}.ln2.out"
        f = layer.ffn
        out.append(OpLinear(f"{p}.ffn.up", h, f.up))
        out.append(OpTable(f"{p}.ffn.act", f"{p}.ffn.up.out", f.table, f.in_bits))
        out.append(OpLinear(f"{p}.ffn.down", f"{p}.ffn.act.out", f.down, res=x))
        x = f"{p}.ffn.down.out"
        if cfg.norm == "post":
            out.append(OpLayerNorm(f"{p}.ln2", x, layer.ln2))
            x = f"{p}.ln2.out"
    if cfg.norm == "pre":
        if model.final_ln is None:
            raise ModelError("pre-norm model needs final_ln")
        out.append(OpLayerNorm("final_ln", x, model.final_ln))
        x = "final_ln.out"
    out.append(OpPool("pool", x, model.pool_shift))
    return out


def _decoder_ops(model: IntModel) -> list:
    """A decoder's ops: ``embed``; per block ``attn_norm -> q, k, v -> rope_q, rope_k -> attn
    -> o (+ stream) -> mlp_norm -> gate, up -> swiglu -> down (+ stream)``; ``final_norm ->
    head`` (the logits of every position, tied to the embedding) ``-> argmax`` (the greedy
    token of every position: the public output)."""
    from zkinfer.model.ops.causal_attention import OpCausalAttention
    from zkinfer.model.ops.head import OpArgmax, OpLogits
    from zkinfer.model.ops.rmsnorm import OpRMSNorm
    from zkinfer.model.ops.rope import OpRope
    from zkinfer.model.ops.swiglu import OpSwiGLU
    from zkinfer.model.ops.tokens import OpTokens

    cfg, dec = model.config, model.decoder
    if dec is None:
        raise ModelError("a llama model needs its decoder parts (IntModel.decoder)")
    G, dh, N = cfg.n_kv_heads, cfg.d_head, cfg.max_seq_len
    out: list = [OpTokens("embed", dec.embed_rq)]
    x = "embed.out"
    for li, L in enumerate(model.layers):
        p = f"layer{li}"
        if not isinstance(L, IntDecoderLayer):
            raise ModelError(f"{p}: a llama model's blocks are IntDecoderLayer")
        out.append(OpRMSNorm(f"{p}.attn_norm", x, L.attn_norm))
        h = f"{p}.attn_norm.out"
        out += [OpLinear(f"{p}.q", h, L.q), OpLinear(f"{p}.k", h, L.k), OpLinear(f"{p}.v", h, L.v)]
        out.append(OpRope(f"{p}.rope_q", f"{p}.q.out", dec.rope, G * dec.slots, dh))
        out.append(OpRope(f"{p}.rope_k", f"{p}.k.out", dec.rope, G, dh))
        out.append(OpCausalAttention(f"{p}.attn", f"{p}.rope_q.out", f"{p}.rope_k.out",
                                     f"{p}.v.out", L.attn, G, dec.slots, dh, N))
        out.append(OpLinear(f"{p}.o", f"{p}.attn.ctx.out", L.o, res=x))
        x = f"{p}.o.out"
        out.append(OpRMSNorm(f"{p}.mlp_norm", x, L.mlp_norm))
        h = f"{p}.mlp_norm.out"
        out += [OpLinear(f"{p}.gate", h, L.gate), OpLinear(f"{p}.up", h, L.up)]
        out.append(OpSwiGLU(f"{p}.swiglu", f"{p}.gate.out", f"{p}.up.out", L.swiglu, N))
        out.append(OpLinear(f"{p}.down", f"{p}.swiglu.out", L.down, res=x))
        x = f"{p}.down.out"
    out.append(OpRMSNorm("final_norm", x, dec.final_norm))
    out.append(OpLogits("head", "final_norm.out", "tok_emb", cfg.vocab_size,
                        model.qconfig.emb_bits))
    out.append(OpArgmax("argmax", "head.logits", cfg.vocab_size))
    return out


def _gpt2_ops(model: IntModel) -> list:
    """A GPT-2-style decoder's ops (``block="gpt2"``): ``emb`` (token + learned position); per
    block ``ln1 -> attn.{q,k,v}`` (with biases) ``-> attn`` (causal, one kv head per query head,
    the rounding shift 0: ``idx = min(diff, T - 1)`` as the encoder's softmax) ``-> attn.o
    (+ stream) -> ln2 -> ffn.up -> ffn.act -> ffn.down (+ stream)``; ``final_ln -> head``
    (tied to the token table) ``-> argmax``."""
    from zkinfer.model.ops.causal_attention import OpCausalAttention
    from zkinfer.model.ops.head import OpArgmax, OpLogits

    cfg = model.config
    H, dh, N = cfg.n_heads, cfg.d_head, cfg.max_seq_len
    out: list = [OpEmbed("emb")]
    x = "emb.x"
    for li, layer in enumerate(model.layers):
        p = f"layer{li}"
        a = layer.attn
        if a is None or layer.ln1 is None or layer.ln2 is None:
            raise ModelError(f"gpt2 block {p} needs attn, ln1 and ln2")
        out.append(OpLayerNorm(f"{p}.ln1", x, layer.ln1))
        h = f"{p}.ln1.out"
        out += [OpLinear(f"{p}.attn.q", h, a.q), OpLinear(f"{p}.attn.k", h, a.k),
                OpLinear(f"{p}.attn.v", h, a.v)]
        causal = IntCausalAttention(a.exp_table, a.exp_bits, a.prob_bits, 0, a.ctx)
        out.append(OpCausalAttention(f"{p}.attn", f"{p}.attn.q.out", f"{p}.attn.k.out",
                                     f"{p}.attn.v.out", causal, H, 1, dh, N))
        out.append(OpLinear(f"{p}.attn.o", f"{p}.attn.ctx.out", a.o, res=x))
        x = f"{p}.attn.o.out"
        out.append(OpLayerNorm(f"{p}.ln2", x, layer.ln2))
        f = layer.ffn
        out.append(OpLinear(f"{p}.ffn.up", f"{p}.ln2.out", f.up))
        out.append(OpTable(f"{p}.ffn.act", f"{p}.ffn.up.out", f.table, f.in_bits))
        out.append(OpLinear(f"{p}.ffn.down", f"{p}.ffn.act.out", f.down, res=x))
        x = f"{p}.ffn.down.out"
    if model.final_ln is None:
        raise ModelError("a gpt2 model needs final_ln")
    out.append(OpLayerNorm("final_ln", x, model.final_ln))
    out.append(OpLogits("head", "final_ln.out", "tok_emb", cfg.vocab_size, model.qconfig.emb_bits))
    out.append(OpArgmax("argmax", "head.logits", cfg.vocab_size))
    return out


def is_decoder(model: IntModel) -> bool:
    """Whether ``model`` proves greedy answers (``block`` ``"llama"`` or ``"gpt2"``)."""
    return model.config.block in ("llama", "gpt2")


def stop_ids(model: IntModel) -> np.ndarray:
    """The ids that end a decoder's answer: a llama model's (its key records them); none for a
    ``gpt2`` model (its answers run to ``max_new_tokens``)."""
    if model.config.block == "llama" and model.decoder is not None:
        return model.decoder.stop_ids
    return np.zeros(0, dtype=np.int64)


# ---------------------------------------------------------------------------------------------
# columns and worst-case widths


def weight_width_names(model: IntModel) -> list[str]:
    """The columns whose widths depend on weight values, not on public parameters alone: the
    embedding tables (``emb.tok``, ``emb.pos``) and every linear layer's ``acc``."""
    return [name for op in ops(model) for name in home(op).weight_width_names(op)]


def _columns(op: Op, model: IntModel, n: int, widths, weight_widths) -> list:
    """The op's column rows (:meth:`~zkinfer.model.ops.common.OpHome.columns`)."""
    try:
        return home(op).columns(op, model, n, widths, weight_widths)
    except KeyError as exc:
        raise ModelError(f"model declares no width for column {exc}") from None


def declare_widths(model: IntModel, from_weights: bool = True) -> dict[str, tuple[int, bool]]:
    """Worst-case widths of every trace column, from the parameters (at ``n = max_seq_len``).

    The widths of :func:`weight_width_names` are measured on the weights (``from_weights``, at
    setup) or taken from ``model.widths`` (a verifying key's model has no weights); all other
    widths are derived from those and the public parameters (shifts, clamp bounds, multipliers,
    tables, sizes), so a verifier recomputes them (:func:`check_declared_widths`).

    Arguments:
        model: the integer model.
        from_weights: measure the weight-dependent widths on the weights.

    Returns:
        ``column name -> (bits, signed)``.

    Raises:
        ModelError: some width exceeds :data:`MAX_BITS` (int64 products could overflow), or
            ``model.widths`` lacks a weight-dependent width.
    """
    widths: dict[str, tuple[int, bool]] = {}
    n = model.config.max_seq_len
    given = None if from_weights else model.widths
    for op in ops(model):
        rows = _columns(op, model, n, widths, given)
        for name, _shape, _kind, width, _doc in rows:
            if width[0] > MAX_BITS:
                raise ModelError(f"column {name} needs {width[0]} bits (> {MAX_BITS})")
            widths[name] = width
    return widths


def _public_weight_width_bounds(model: IntModel, widths: Mapping[str, tuple[int, bool]]
                                ) -> dict[str, int]:
    """Upper bounds on the weight-dependent widths that the public parameters fix (each op's
    :meth:`~zkinfer.model.ops.common.OpHome.weight_width_bounds`)."""
    out: dict[str, int] = {}
    for op in ops(model):
        out.update(home(op).weight_width_bounds(op, model, widths))
    return out


def check_declared_widths(model: IntModel) -> None:
    """Check that the model's declared widths are the ones its public parameters fix.

    Every width is rederived by :func:`declare_widths` (``from_weights=False``) and must equal
    the declared one exactly: a wider remainder or clamp advice would let a prover holding the
    proving key round differently from ``forward_int``. The weight-dependent widths
    (:func:`weight_width_names`) are taken as declared but must be signed and within what the
    quantization settings allow (:func:`_public_weight_width_bounds`); the field bounds of the
    circuit (:mod:`zkinfer.protocol.bounds`) are checked on top of this.

    Arguments:
        model: the model (from a verifying key, or before setup).

    Raises:
        ModelError: a missing, extra or different width, naming the column.
    """
    declared = model.widths
    for name in weight_width_names(model):
        width = declared.get(name)
        if not (isinstance(width, tuple) and len(width) == 2 and type(width[0]) is int
                and type(width[1]) is bool and 1 <= width[0] <= MAX_BITS):
            raise ModelError(f"width of {name}: expected (bits, signed) with 1 <= bits <= "
                             f"{MAX_BITS}, got {width!r}")
    derived = declare_widths(model, from_weights=False)
    # the weight-dependent widths first: a wrong one also moves every width derived from it
    for name, limit in _public_weight_width_bounds(model, derived).items():
        bits, signed = derived[name]
        if not signed or bits > limit:
            raise ModelError(f"declared width of {name} is {(bits, signed)}, beyond the "
                             f"{limit}-bit signed bound of the quantization settings")
    missing = [n for n in derived if n not in declared]
    extra = [n for n in declared if n not in derived]
    if missing or extra:
        raise ModelError(f"declared widths: missing {missing[:3]}, unexpected {extra[:3]}")
    for name, want in derived.items():
        if tuple(declared[name]) != want:
            raise ModelError(f"declared width of {name} is {tuple(declared[name])}, its public "
                             f"parameters fix {want}")


def column_specs(model: IntModel, n: int) -> dict[str, ColumnSpec]:
    """Every trace column of a forward over ``n`` tokens, with the model's declared widths.

    Arguments:
        model: the integer model.
        n: sequence length.

    Returns:
        ``name -> ColumnSpec`` in execution order.

    Raises:
        ModelError: the model's ``widths`` lack a column.
    """
    per_model = _LAYOUT_CACHE.setdefault(model, {})
    if n not in per_model:
        # the column layout (names, shapes, kinds, identities) depends on the model and n only
        per_model[n] = [
            (name, tuple(shape), kind, doc)
            for op in ops(model)
            for name, shape, kind, _w, doc in _columns(op, model, n, model.widths, model.widths)
        ]
    specs: dict[str, ColumnSpec] = {}
    declared = model.widths
    for name, shape, kind, doc in per_model[n]:
        if name not in declared:
            raise ModelError(f"model declares no width for column {name}")
        bits, signed = declared[name]
        specs[name] = ColumnSpec(shape, int(bits), bool(signed), kind, doc)
    return specs


_LAYOUT_CACHE: weakref.WeakKeyDictionary[IntModel, dict[int, list]] = weakref.WeakKeyDictionary()


# ---------------------------------------------------------------------------------------------
# validation


def _check_float_vector(name: str, a: object, length: int | None = None) -> None:
    """``a`` must be a finite 1-D float64 array (of ``length`` entries, if given)."""
    if not (isinstance(a, np.ndarray) and a.dtype == np.float64 and a.ndim == 1):
        raise ModelError(f"{name}: expected a 1-D float64 array")
    if length is not None and a.shape[0] != length:
        raise ModelError(f"{name}: {a.shape[0]} entries, expected {length}")
    if not np.isfinite(a).all():
        raise ModelError(f"{name}: values must be finite")


def _check_ffn(p: str, ff: object, d: int, f: int, q: QuantConfig) -> None:
    check_type(f"{p}.ffn", ff, IntFFN)
    check_linear(f"{p}.ffn.up", ff.up, d, f, q)
    check_linear(f"{p}.ffn.down", ff.down, f, d, q, residual=True)
    check_activation(f"{p}.ffn", ff.table, ff.in_bits, ff.up.rq.lo, ff.up.rq.hi)


def _check_widths(widths: object) -> None:
    """Declared widths: ``str -> (bits, signed)`` with ``1 <= bits <= MAX_BITS``."""
    if not isinstance(widths, Mapping):
        raise ModelError(f"widths: expected a mapping, got {type(widths).__name__}")
    for name, width in widths.items():
        if not isinstance(name, str):
            raise ModelError(f"widths: column names are strings, got {type(name).__name__}")
        if not (isinstance(width, tuple) and len(width) == 2):
            raise ModelError(f"width of {name}: expected a (bits, signed) tuple, got {width!r}")
        # every range check and int64 product downstream assumes 1 <= bits <= MAX_BITS
        check_int(f"width of {name}: bits", width[0], 1, MAX_BITS)
        if not isinstance(width[1], (bool, np.bool_)):
            raise ModelError(f"width of {name}: signed must be a bool, got {type(width[1]).__name__}")


def _check_scales(model: IntModel) -> None:
    """``out_scale``: ``None`` or finite float64 ``(d_model,)``; ``scales``: ``str -> `` finite
    1-D float64."""
    if model.out_scale is not None:
        _check_float_vector("out_scale", model.out_scale, model.config.d_model)
    if not isinstance(model.scales, Mapping):
        raise ModelError(f"scales: expected a mapping, got {type(model.scales).__name__}")
    for name, scale in model.scales.items():
        if not isinstance(name, str):
            raise ModelError(f"scales: tensor names are strings, got {type(name).__name__}")
        _check_float_vector(f"scales[{name!r}]", scale)


def _check_columns(model: IntModel) -> None:
    """The declared widths name exactly the model's trace columns, and each scale names one of
    its tensor columns and has one entry per channel (its last axis)."""
    specs = column_specs(model, 1)  # raises on a missing width, naming the column
    extra = sorted(set(model.widths) - set(specs))
    if extra:
        raise ModelError(f"model declares a width for unexpected column {extra[0]}")
    for name, scale in model.scales.items():
        spec = specs.get(name)
        if spec is None or spec.kind != "tensor":
            raise ModelError(f"scales[{name!r}]: not a tensor column of the model")
        if scale.shape != (spec.shape[-1],):
            raise ModelError(f"scales[{name!r}]: {scale.shape[0]} entries, expected {spec.shape[-1]}")


def _check_rmsnorm(name: str, p: object, d: int, q: QuantConfig) -> None:
    """An :class:`IntRMSNorm` over ``d`` channels: ``1 <= eps <= 2^k``, ``2 <= k <= 60``."""
    k = check_fields(name, p, IntRMSNorm, ints={"k": (2, 60)})["k"]
    check_int(f"{name}.eps", p.eps, 1, 1 << k)
    requant.check(f"{name}.rq", p.rq, d, q.mult_bits)


def _check_exp_table(name: str, t: object, e_bits: int) -> None:
    """``EXP[0] = 2^E``, ``EXP[T-1] = 0``, every entry in ``[0, 2^E]``."""
    check_table(name, t, MAX_TABLE_ROWS)
    if int(t[0]) != 1 << e_bits or int(t[-1]) != 0 or t.min() < 0 or t.max() > 1 << e_bits:
        raise ModelError(f"{name} must start at 2^E, end at 0, be in [0, 2^E]")


def _check_decoder(model: IntModel) -> None:
    """Types, shapes and ranges of a llama model (``config.block == "llama"``)."""
    cfg, q, dec = model.config, model.qconfig, model.decoder
    d, f, N = cfg.d_model, cfg.d_ff, cfg.max_seq_len
    if model.pos_emb is not None or model.emb_ln is not None or model.final_ln is not None:
        raise ModelError("a llama model has no pos_emb, emb_ln or final_ln (RoPE and RMSNorm)")
    check_type("decoder", dec, IntDecoder)
    G, dh = cfg.n_kv_heads, cfg.d_head
    group = cfg.n_heads // G
    slots = check_int("decoder.slots", dec.slots, 1, 64)
    if slots & (slots - 1) or slots < group or slots >= 2 * group:
        raise ModelError(f"decoder.slots = {slots}: the power of two in [{group}, {2 * group})")
    dq, dkv = G * slots * dh, G * dh
    requant.check("decoder.embed_rq", dec.embed_rq, d, q.mult_bits)
    r = check_fields("decoder.rope", dec.rope, IntRope, ints={"bits": (1, 30)})
    half = 1 << (MAX_BITS - 1)
    check_int("decoder.rope.lo", dec.rope.lo, -half, half - 1)
    check_int("decoder.rope.hi", dec.rope.hi, -half, half - 1)
    if not dec.rope.lo < dec.rope.hi:
        raise ModelError("decoder.rope: clamp bounds must satisfy lo < hi")
    if dh % 2:
        raise ModelError(f"head width {dh} is odd: rotary pairs need an even width")
    for t in ("cos", "sin"):
        check_int_array(f"decoder.rope.{t}", getattr(dec.rope, t), (N, dh // 2), r["bits"] + 2)
    _check_rmsnorm("decoder.final_norm", dec.final_norm, d, q)
    stops = dec.stop_ids
    if not (isinstance(stops, np.ndarray) and stops.dtype == np.int64 and stops.ndim == 1) or (
            stops.size and (stops.min() < 0 or stops.max() >= cfg.vocab_size)):
        raise ModelError("decoder.stop_ids: a 1-D array of ids in the vocabulary")
    if not (isinstance(dec.logit_scale, float) and math.isfinite(dec.logit_scale)
            and dec.logit_scale > 0):
        raise ModelError("decoder.logit_scale: a positive finite float")
    if not isinstance(model.layers, tuple) or len(model.layers) != cfg.n_layers:
        raise ModelError(f"layers: a tuple of {cfg.n_layers} IntDecoderLayer")
    for li, L in enumerate(model.layers):
        p = f"layer{li}"
        check_type(p, L, IntDecoderLayer)
        _check_rmsnorm(f"{p}.attn_norm", L.attn_norm, d, q)
        _check_rmsnorm(f"{p}.mlp_norm", L.mlp_norm, d, q)
        check_linear(f"{p}.q", L.q, d, dq, q)
        check_linear(f"{p}.k", L.k, d, dkv, q)
        check_linear(f"{p}.v", L.v, d, dkv, q)
        check_linear(f"{p}.o", L.o, dq, d, q, residual=True)
        check_linear(f"{p}.gate", L.gate, d, f, q)
        check_linear(f"{p}.up", L.up, d, f, q)
        check_linear(f"{p}.down", L.down, f, d, q, residual=True)
        a = L.attn
        v = check_fields(f"{p}.attn", a, IntCausalAttention, ints={
            "exp_bits": (1, 24), "prob_bits": (1, 24), "score_shift": (0, 40)})
        _check_exp_table(f"{p}.attn.exp_table", a.exp_table, v["exp_bits"])
        requant.check(f"{p}.attn.ctx", a.ctx, dq, q.mult_bits)
        sw = L.swiglu
        check_type(f"{p}.swiglu", sw, IntSwiGLU)
        check_activation(f"{p}.swiglu", sw.table, sw.in_bits, L.gate.rq.lo, L.gate.rq.hi)
        requant.check(f"{p}.swiglu.rq", sw.rq, f, q.mult_bits)


def validate(model: IntModel, *, complete: bool = False) -> None:
    """Check types, shapes and parameter ranges of an integer model.

    Every field is type-checked before it is used, and every integer parameter is range-checked
    before anything is computed from it, so a model built from untrusted data (a verifying
    key's) fails here with a :class:`ModelError` and nothing else. Weight matrices may be
    shape-only placeholders (zero strides): they are checked without iterating over them.

    Arguments:
        model: the model.
        complete: also require what a finished model has (one that :func:`declare_widths` has
            run on, such as a verifying key's): a declared width for exactly the model's trace
            columns, and scales only of its tensor columns.

    Raises:
        ModelError: the first inconsistency found (the message names the field).
    """
    check_type("model", model, IntModel)
    check_type("config", model.config, TransformerConfig)
    check_type("qconfig", model.qconfig, QuantConfig)
    cfg, q = model.config, model.qconfig
    d, f = cfg.d_model, cfg.d_ff
    check_int_array("tok_emb", model.tok_emb, (cfg.vocab_size, d), 16)
    if cfg.block == "llama":
        _check_decoder(model)
        _check_widths(model.widths)
        _check_scales(model)
        if complete:
            _check_columns(model)
        return
    if model.decoder is not None:
        raise ModelError("decoder parts belong to llama models only")
    check_int_array("pos_emb", model.pos_emb, (cfg.max_seq_len, d), 16)
    if not isinstance(model.layers, tuple):
        raise ModelError(f"layers: expected a tuple, got {type(model.layers).__name__}")
    if len(model.layers) != cfg.n_layers:
        raise ModelError(f"{len(model.layers)} layers, config says {cfg.n_layers}")
    for name, ln in (("emb_ln", model.emb_ln), ("final_ln", model.final_ln)):
        if ln is not None:
            check_layernorm(name, ln, d, q)
    mlp = cfg.block == "mlp"
    for li, layer in enumerate(model.layers):
        p = f"layer{li}"
        if not isinstance(layer, IntLayer):
            raise ModelError(f"{p}: expected an IntLayer, got {type(layer).__name__}")
        if mlp:
            if not (layer.ln1 is None and layer.attn is None and layer.ln2 is None):
                raise ModelError(f"{p}: an mlp block has no attention and no LayerNorm")
            _check_ffn(p, layer.ffn, d, f, q)
            continue
        if layer.ln1 is None or layer.ln2 is None or layer.attn is None:
            raise ModelError(f"{p}: a transformer block needs ln1, attn and ln2")
        check_layernorm(f"{p}.ln1", layer.ln1, d, q)
        check_layernorm(f"{p}.ln2", layer.ln2, d, q)
        check_attention(p, layer.attn, d, q)
        _check_ffn(p, layer.ffn, d, f, q)
    # 2^pool_shift multiplies the pooled sum
    check_int("pool_shift", model.pool_shift, 0, 24)
    if mlp:
        if model.emb_ln is not None or model.final_ln is not None:
            raise ModelError("an mlp model has no emb_ln and no final_ln")
    else:
        if (cfg.norm == "post") != (model.emb_ln is not None):
            raise ModelError("emb_ln must be present exactly for post-norm models")
        if (cfg.norm == "pre") != (model.final_ln is not None):
            raise ModelError("final_ln must be present exactly for pre-norm models")
    _check_widths(model.widths)
    _check_scales(model)
    if complete:
        _check_columns(model)

