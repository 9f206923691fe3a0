"""The integer model: parameters, wiring, declared widths and the trace column list.

An :class:`IntModel` holds only integers (plus float scales used to dequantize the output, which
play no part in the integer semantics). Its forward pass is a fixed list of ops
(:func:`ops`), the same for the numpy reference, the Numba kernels and (later) the proof.
A transformer uses all six op kinds; an MLP model (``config.block == "mlp"``) uses only
``OpEmbed``, ``OpLinear``, ``OpTable`` and ``OpPool``:

=================  ===================================================================
op                 integer semantics (see :mod:`zkinfer.model.reference` for details)
=================  ===================================================================
``OpEmbed``        ``x = TOK[ids] + POS[0:n]``
``OpLinear``       ``acc = x @ W + b``; ``y = rq(acc * m[c] (+ res * res_m[c]))``
``OpAttention``    scores, integer softmax, ``ctx = rq(P @ V * m)`` per head
``OpLayerNorm``    integer mean/variance, advice rsqrt, ``y = rq(z * g[c] + beta[c])``
``OpTable``        ``y = T[u]`` (activation look-up table)
``OpPool``         ``mean = floor(sum_i h_i * 2^P / n)``
=================  ===================================================================

``rq(pre) = clamp((pre + 2^(s-1)) >> s, lo, hi)`` is the requantization of
:mod:`zkinfer.model.reference` (the integer spec).

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
from zkinfer.model.provenance import Provenance
from zkinfer.model.trace import ColumnSpec

__all__ = [
    "Requant",
    "IntLinear",
    "IntLayerNorm",
    "IntAttention",
    "IntFFN",
    "IntLayer",
    "IntModel",
    "OpEmbed",
    "OpLinear",
    "OpAttention",
    "OpLayerNorm",
    "OpTable",
    "OpPool",
    "ops",
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

#: Model tables (activation, softmax exp) have at most this many rows.
MAX_TABLE_ROWS = 1 << 16
#: No declared width may exceed this, so every int64 intermediate stays far from overflow.
MAX_BITS = 62


def signed_bits(lo: int, hi: int) -> int:
    """Smallest ``b >= 1`` with ``-2^(b-1) <= lo`` and ``hi < 2^(b-1)``."""
    b = 1
    while lo < -(1 << (b - 1)) or hi >= (1 << (b - 1)):
        b += 1
    return b


def unsigned_bits(hi: int) -> int:
    """Smallest ``b >= 1`` with ``hi < 2^b`` (for ``hi >= 0``)."""
    return max(1, int(hi).bit_length())


@dataclass(frozen=True, eq=False)
class Requant:
    """Requantization ``y = clamp((pre + 2^(shift-1)) >> shift, lo, hi)``.

    Attributes:
        m: per-output-channel integer multipliers, ``int64`` of shape ``(d_out,)``.
        shift: ``s >= 1``; ``>>`` is floor division by ``2^s``.
        lo: clamp lower bound.
        hi: clamp upper bound.
    """

    m: np.ndarray
    shift: int
    lo: int
    hi: int


@dataclass(frozen=True, eq=False)
class IntLinear:
    """``acc = x @ w + b``, ``y = rq(acc * rq.m[c] + res * res_m[c])``.

    Attributes:
        w: ``int64`` weights ``(d_in, d_out)`` (values within ``weight_bits``).
        b: ``int64`` bias ``(d_out,)`` at the accumulator scale.
        rq: the requantization of the output.
        res_m: multipliers of the residual input, ``(d_out,)``, or ``None`` (no residual).
    """

    w: np.ndarray
    b: np.ndarray
    rq: Requant
    res_m: np.ndarray | None = None


@dataclass(frozen=True, eq=False)
class IntLayerNorm:
    """Integer LayerNorm; ``rq.m`` holds the per-channel gain ``g`` (gamma folded in).

    Attributes:
        beta: per-channel bias at the pre-shift scale, ``(d,)``.
        eps: integer epsilon ``>= 1`` added to the variance (so it is never zero).
        k: rsqrt exponent: ``y = floor(sqrt(2^k / var))``.
        rq: gains ``g = rq.m``, shift and output clamp.
    """

    beta: np.ndarray
    eps: int
    k: int
    rq: Requant


@dataclass(frozen=True, eq=False)
class IntAttention:
    """Multi-head self-attention with integer softmax.

    Attributes:
        q, k, v: projections (requantized to ``act_bits``).
        o: output projection with the residual.
        ctx: requantization of ``P @ V`` (multiplier per channel).
        exp_table: ``EXP[d] = round(2^E * exp(-d * score_scale))``, last entry ``0``.
        exp_bits: ``E``.
        prob_bits: ``K``: probabilities ``p = floor(e * 2^K / sum)``.
    """

    q: IntLinear
    k: IntLinear
    v: IntLinear
    o: IntLinear
    ctx: Requant
    exp_table: np.ndarray
    exp_bits: int
    prob_bits: int


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
    """

    config: TransformerConfig
    qconfig: QuantConfig
    tok_emb: np.ndarray
    pos_emb: np.ndarray
    layers: tuple[IntLayer, ...]
    emb_ln: IntLayerNorm | None
    final_ln: IntLayerNorm | None
    pool_shift: int
    widths: Mapping[str, tuple[int, bool]] = field(default_factory=dict)
    out_scale: np.ndarray | None = None
    scales: Mapping[str, np.ndarray] = field(default_factory=dict)
    provenance: Provenance | None = None


# ---------------------------------------------------------------------------------------------
# wiring


@dataclass(frozen=True)
class OpEmbed:
    """Embedding look-up, columns ``emb.tok``, ``emb.pos``, ``emb.x``."""

    name: str


@dataclass(frozen=True, eq=False)
class OpLinear:
    """Linear layer reading column ``src`` (and ``res`` for the residual)."""

    name: str
    src: str
    lin: IntLinear
    res: str | None = None


@dataclass(frozen=True, eq=False)
class OpAttention:
    """Scores, softmax and context of one layer from the q, k, v columns."""

    name: str
    q: str
    k: str
    v: str
    attn: IntAttention


@dataclass(frozen=True, eq=False)
class OpLayerNorm:
    """LayerNorm of column ``src``."""

    name: str
    src: str
    ln: IntLayerNorm


@dataclass(frozen=True, eq=False)
class OpTable:
    """Activation table applied to column ``src``."""

    name: str
    src: str
    table: np.ndarray
    in_bits: int


@dataclass(frozen=True)
class OpPool:
    """Mean pooling of column ``src`` over all (real) tokens."""

    name: str
    src: str
    shift: int


Op = OpEmbed | OpLinear | OpAttention | OpLayerNorm | OpTable | OpPool


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


# ---------------------------------------------------------------------------------------------
# columns: shapes, identities and worst-case widths


def _amax(width: tuple[int, bool]) -> int:
    """Largest ``|v|`` a column of this width can hold."""
    bits, signed = width
    return 1 << (bits - 1) if signed else (1 << bits) - 1


def _abs_int(a: np.ndarray) -> list[int]:
    """``|a|`` as Python ints (exact products follow; the entries are validated to <= 48 bits)."""
    return np.abs(np.asarray(a, dtype=np.int64)).tolist()


def _rq_columns(name, shape, pre_bound, rq: Requant, pre_doc):
    """Columns ``.q``, ``.rem``, ``.out`` of a requantization with ``|pre| <= pre_bound``."""
    half = 1 << (rq.shift - 1)
    qb = ((pre_bound + half) >> rq.shift) + 1
    s = rq.shift
    return [
        (f"{name}.q", shape, "advice", signed_bits(-qb, qb),
         f"q = floor(({pre_doc} + 2^{s - 1}) / 2^{s})"),
        (f"{name}.rem", shape, "advice", (s, False),
         f"rem = {pre_doc} + 2^{s - 1} - q * 2^{s}, 0 <= rem < 2^{s}"),
        (f"{name}.out", shape, "tensor", signed_bits(rq.lo, rq.hi),
         f"out = clamp(q, {rq.lo}, {rq.hi})"),
    ]  # fmt: skip


def _op_columns(op: Op, model: IntModel, n: int, widths: Mapping[str, tuple[int, bool]],
                weight_widths: Mapping[str, tuple[int, bool]] | None = None):
    """Rows ``(name, shape, kind, width, doc)`` of one op for sequence length ``n``.

    ``width`` is the worst-case ``(bits, signed)`` at ``n = max_seq_len``, from the widths of
    the op's inputs in ``widths``. The widths that depend on weight values
    (:func:`weight_width_names`: the embedding tables and every accumulator) are measured on the
    weights when ``weight_widths`` is ``None`` (setup) and read from ``weight_widths``
    otherwise (a verifying key holds no weights); every other width follows from them and the
    public parameters.
    """
    cfg = model.config
    N = cfg.max_seq_len
    d = cfg.d_model
    rows = []
    if isinstance(op, OpEmbed):
        if weight_widths is None:
            t, p = model.tok_emb, model.pos_emb
            tw = signed_bits(int(t.min()), int(t.max()))
            pw = signed_bits(int(p.min()), int(p.max()))
        else:
            tw, pw = weight_widths["emb.tok"][0], weight_widths["emb.pos"][0]
        # x = tok + pos: the sum of the two signed ranges
        xw = signed_bits(-(1 << (tw - 1)) - (1 << (pw - 1)), (1 << (tw - 1)) + (1 << (pw - 1)) - 2)
        rows += [
            ("emb.tok", (n, d), "tensor", tw, "tok[i] = TOK[ids[i]] (row look-up, committed table)"),
            ("emb.pos", (n, d), "tensor", pw, "pos[i] = POS[i]"),
            ("emb.x", (n, d), "tensor", xw, "x = emb.tok + emb.pos"),
        ]  # fmt: skip
        return [(r[0], r[1], r[2], (r[3], True), r[4]) for r in rows]
    if isinstance(op, OpLinear):
        lin = op.lin
        if weight_widths is None:
            xmax = _amax(widths[op.src])
            bias = _abs_int(lin.b)
            wabs = np.abs(lin.w).sum(axis=0)
            amax = max(int(wabs[c]) * xmax + bias[c] for c in range(len(bias)))
            acc_width = (signed_bits(-amax, amax), True)
        else:
            acc_width = tuple(weight_widths[f"{op.name}.acc"])
        # |acc| <= 2^(acc_bits - 1), so |pre| <= 2^(acc_bits - 1) |m[c]| (+ the residual)
        amax = _amax(acc_width)
        m = _abs_int(lin.rq.m)
        pre = [amax * m[c] for c in range(len(m))]
        pre_doc = "acc * m[c]"
        if op.res is not None:
            rmax = _amax(widths[op.res])
            pre = [pre[c] + rmax * abs(int(lin.res_m[c])) for c in range(len(m))]
            pre_doc = f"acc * m[c] + {op.res} * res_m[c]"
        shape = (n, lin.w.shape[1])
        rows.append(
            (f"{op.name}.acc", shape, "tensor", acc_width, f"acc = {op.src} @ W + b")
        )  # fmt: skip
        rows += [_fix(r) for r in _rq_columns(op.name, shape, max(pre), lin.rq, pre_doc)]
        return rows
    if isinstance(op, OpLayerNorm):
        ln = op.ln
        xw = widths[op.src]
        xmax = _amax(xw)
        cmax = 2 * xmax - 1
        vmax = d * cmax * cmax + ln.eps
        k = ln.k
        if vmax > 1 << k:
            # rsqrt >= 1 needs var <= 2^k; then rsqrt_hi < (2*rsqrt+1) * var <= 3 * 2^k
            raise ModelError(f"{op.name}: rsqrt exponent k={k} too small for var < {vmax}")
        ymax = math.isqrt((1 << k) // ln.eps)
        zmax = math.isqrt(1 << k)
        pre = zmax * max(_abs_int(ln.rq.m)) + max(_abs_int(ln.beta))
        P = op.name
        rows += [
            (f"{P}.sum", (n,), "advice", (signed_bits(-d * xmax, d * xmax), True),
             f"sum = sum_c {op.src}[:, c]"),
            (f"{P}.mean", (n,), "advice", xw, f"mean = floor(sum / {d})"),
            (f"{P}.mean_rem", (n,), "advice", (unsigned_bits(d - 1), False),
             f"mean_rem = sum - mean * {d}, 0 <= mean_rem < {d}"),
            (f"{P}.c", (n, d), "tensor", (signed_bits(-cmax, cmax), True),
             f"c = {op.src} - mean"),
            (f"{P}.var", (n,), "advice", (unsigned_bits(vmax), False),
             f"var = sum_c c^2 + {ln.eps}"),
            (f"{P}.rsqrt", (n,), "advice", (unsigned_bits(ymax), False),
             f"rsqrt = floor(sqrt(2^{k} / var)): rsqrt^2 * var <= 2^{k} < (rsqrt+1)^2 * var"),
            (f"{P}.rsqrt_lo", (n,), "advice", (k + 1, False),
             f"rsqrt_lo = 2^{k} - rsqrt^2 * var >= 0"),
            (f"{P}.rsqrt_hi", (n,), "advice", (k + 2, False),
             f"rsqrt_hi = (rsqrt+1)^2 * var - 2^{k} - 1 >= 0"),
            (f"{P}.z", (n, d), "tensor", (signed_bits(-zmax, zmax), True),
             f"z = c * rsqrt (|z| <= 2^({k}/2))"),
        ]  # fmt: skip
        rows += [_fix(r) for r in _rq_columns(P, (n, d), pre, ln.rq, "z * g[c] + beta[c]")]
        return rows
    if isinstance(op, OpAttention):
        a = op.attn
        H, dh = cfg.n_heads, cfg.d_head
        qmax, kmax, vmax = (_amax(widths[c]) for c in (op.q, op.k, op.v))
        smax = dh * qmax * kmax
        T = len(a.exp_table)
        E, K = a.exp_bits, a.prob_bits
        emax = int(a.exp_table.max())
        summax = N * emax
        P = f"{op.name}.softmax"
        sw = (signed_bits(-smax, smax), True)
        rows += [
            (f"{op.name}.scores", (H, n, n), "tensor", sw,
             f"scores[h, i, j] = sum_e {op.q}[i, h*{dh}+e] * {op.k}[j, h*{dh}+e]"),
            (f"{P}.max", (H, n), "advice", sw, "max[h, i] = max_j scores[h, i, j]"),
            (f"{P}.argmax", (H, n), "advice", (unsigned_bits(N - 1), False),
             "argmax[h, i] = first j with scores[h, i, j] == max[h, i]"),
            (f"{P}.diff", (H, n, n), "tensor", (unsigned_bits(2 * smax), False),
             "diff = max[h, i] - scores[h, i, j] >= 0"),
            (f"{P}.idx", (H, n, n), "tensor", (unsigned_bits(T - 1), False),
             f"idx = min(diff, {T - 1})"),
            (f"{P}.exp", (H, n, n), "tensor", (unsigned_bits(emax), False),
             f"exp = EXP[idx] (table of {T} rows, EXP[0] = 2^{E}, EXP[{T - 1}] = 0)"),
            (f"{P}.sum", (H, n), "advice", (unsigned_bits(summax), False),
             "sum[h, i] = sum_j exp[h, i, j]"),
            (f"{P}.p", (H, n, n), "tensor", (unsigned_bits(1 << K), False),
             f"p = floor(exp * 2^{K} / sum)"),
            (f"{P}.rem", (H, n, n), "advice", (unsigned_bits(summax - 1), False),
             f"rem = exp * 2^{K} - p * sum, 0 <= rem < sum"),
            (f"{P}.exp_mult", (T,), "multiplicity", (unsigned_bits(H * N * N), False),
             "exp_mult[t] = #{(h, i, j): idx[h, i, j] == t}"),
        ]  # fmt: skip
        ctxmax = N * (1 << K) * vmax
        pre = ctxmax * max(_abs_int(a.ctx.m))
        rows.append(
            (f"{op.name}.ctx.acc", (n, d), "tensor", (signed_bits(-ctxmax, ctxmax), True),
             f"acc[i, h*{dh}+e] = sum_j p[h, i, j] * {op.v}[j, h*{dh}+e]")
        )  # fmt: skip
        rows += [_fix(r) for r in _rq_columns(f"{op.name}.ctx", (n, d), pre, a.ctx, "acc * m[c]")]
        return rows
    if isinstance(op, OpTable):
        t = op.table
        half = 1 << (op.in_bits - 1)
        return [
            (f"{op.name}.out", (n, cfg.d_ff), "tensor",
             (signed_bits(int(t.min()), int(t.max())), True),
             f"out = ACT[{op.src} + {half}] (table of {len(t)} rows)"),
            (f"{op.name}.mult", (len(t),), "multiplicity",
             (unsigned_bits(N * cfg.d_ff), False),
             f"mult[t] = #{{(i, c): {op.src}[i, c] + {half} == t}}"),
        ]  # fmt: skip
    if isinstance(op, OpPool):
        hmax = _amax(widths[op.src])
        S = op.shift
        return [
            ("pool.sum", (d,), "advice", (signed_bits(-N * hmax, N * hmax), True),
             f"sum[c] = sum_i {op.src}[i, c]"),
            ("pool.mean", (d,), "tensor", (signed_bits(-(hmax << S), hmax << S), True),
             f"mean = floor(sum * 2^{S} / n) (public output)"),
            ("pool.rem", (d,), "advice", (unsigned_bits(N - 1), False),
             f"rem = sum * 2^{S} - mean * n, 0 <= rem < n"),
        ]  # fmt: skip
    raise ModelError(f"unknown op {op!r}")


def _fix(row):
    """Normalise a ``_rq_columns`` row: widths may be given as int (signed) or tuple."""
    name, shape, kind, width, doc = row
    if isinstance(width, int):
        width = (width, True)
    return (name, shape, kind, width, doc)


def weight_width_names(model: IntModel) -> list[str]:
    """The columns whose widths depend on weight values, not on public parameters alone: the
    embedding tables (``emb.tok``, ``emb.pos``) and every linear layer's ``acc``."""
    return ["emb.tok", "emb.pos"] + [f"{op.name}.acc" for op in ops(model) if isinstance(op, OpLinear)]


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
        try:
            rows = _op_columns(op, model, n, widths, given)
        except KeyError as exc:
            raise ModelError(f"model declares no width for column {exc}") from None
        for name, _shape, _kind, width, _doc in rows:
            if width[0] > MAX_BITS:
                raise ModelError(f"column {name} needs {width[0]} bits (> {MAX_BITS})")
            widths[name] = width
    return widths


def _public_weight_width_bounds(model: IntModel, widths: Mapping[str, tuple[int, bool]]
                                ) -> dict[str, int]:
    """Upper bounds on the weight-dependent widths that the public parameters fix: embedding
    entries have ``emb_bits`` bits (signed), and ``|acc| <= d_in 2^(weight_bits - 1) max|x| +
    max|b|`` for weights of ``weight_bits`` bits."""
    q = model.qconfig
    out = {"emb.tok": q.emb_bits, "emb.pos": q.emb_bits}
    wmax = 1 << (q.weight_bits - 1)
    for op in ops(model):
        if isinstance(op, OpLinear):
            d_in = op.lin.w.shape[0]
            amax = d_in * wmax * _amax(widths[op.src]) + max(_abs_int(op.lin.b), default=0)
            out[f"{op.name}.acc"] = signed_bits(-amax, amax)
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
        try:
            per_model[n] = [
                (name, tuple(shape), kind, doc)
                for op in ops(model)
                for name, shape, kind, _w, doc in _op_columns(op, model, n, model.widths, model.widths)
            ]
        except KeyError as exc:
            raise ModelError(f"model declares no width for column {exc}") from None
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


def _check_type(name: str, value: object, cls: type) -> None:
    """``value`` must be an instance of ``cls`` (checked before any of its fields is read)."""
    if not isinstance(value, cls):
        raise ModelError(f"{name}: expected {cls.__name__}, got {type(value).__name__}")


def _check_int(name: str, value: object, lo: int, hi: int) -> int:
    """``value`` must be an integer (not a bool, float or string) in ``[lo, hi]``; returns it."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ModelError(f"{name}: expected an int, got {type(value).__name__}")
    if not lo <= int(value) <= hi:
        raise ModelError(f"{name} = {int(value)} outside [{lo}, {hi}]")
    return int(value)


def _check_int_array(name: str, a: object, shape: tuple[int, ...], bits: int | None = None):
    """``a`` must be an int64 array of ``shape`` whose values fit ``bits`` signed bits."""
    if not isinstance(a, np.ndarray) or a.dtype != np.int64:
        raise ModelError(f"{name}: expected an int64 array")
    if a.shape != shape:
        raise ModelError(f"{name}: shape {a.shape}, expected {shape}")
    if bits is not None and a.size:
        # an array with all strides zero (a verifying key's shape-only weight placeholder)
        # repeats one value: check that value, never iterate over the array
        values = a[(0,) * a.ndim] if a.ndim and not any(a.strides) else a
        if values.min() < -(1 << (bits - 1)) or values.max() >= 1 << (bits - 1):
            raise ModelError(f"{name}: values outside {bits}-bit signed range")


def _check_table(name: str, t: object, max_rows: int) -> int:
    """``t`` must be a 1-D int64 array of ``2..max_rows`` rows; returns its length."""
    if not (isinstance(t, np.ndarray) and t.dtype == np.int64 and t.ndim == 1):
        raise ModelError(f"{name}: expected a 1-D int64 array")
    if not 2 <= t.shape[0] <= max_rows:
        raise ModelError(f"{name}: {t.shape[0]} rows outside [2, {max_rows}]")
    return t.shape[0]


def _check_float_vector(name: str, a: object, length: int | None = None) -> None:
    """``a`` must be a finite 1-D float64 array (of ``length`` entries, if given)."""
    if not (isinstance(a, np.ndarray) and a.dtype == np.float64 and a.ndim == 1):
        raise ModelError(f"{name}: expected a 1-D float64 array")
    if length is not None and a.shape[0] != length:
        raise ModelError(f"{name}: {a.shape[0]} entries, expected {length}")
    if not np.isfinite(a).all():
        raise ModelError(f"{name}: values must be finite")


def _check_rq(name: str, rq: object, d: int, mult_bits: int) -> None:
    _check_type(name, rq, Requant)
    _check_int_array(f"{name}.m", rq.m, (d,), mult_bits)
    # 2^(shift - 1) and the remainder's width (shift bits) stay within MAX_BITS
    _check_int(f"{name}.shift", rq.shift, 1, MAX_BITS)
    # the clamp range [lo, hi] is non-empty and fits a MAX_BITS-bit signed column
    half = 1 << (MAX_BITS - 1)
    lo = _check_int(f"{name}.lo", rq.lo, -half, half - 1)
    hi = _check_int(f"{name}.hi", rq.hi, -half, half - 1)
    if not lo < hi:
        raise ModelError(f"{name}: clamp bounds lo={lo} hi={hi}")


def _check_linear(name: str, lin: object, d_in: int, d_out: int, q: QuantConfig,
                  residual: bool = False) -> None:
    _check_type(name, lin, IntLinear)
    _check_int_array(f"{name}.w", lin.w, (d_in, d_out), q.weight_bits)
    _check_int_array(f"{name}.b", lin.b, (d_out,), 48)
    _check_rq(f"{name}.rq", lin.rq, d_out, q.mult_bits)
    # residual multipliers exactly where the op adds a residual (no unread parameters)
    if residual:
        if lin.res_m is None:
            raise ModelError(f"{name} needs residual multipliers")
        _check_int_array(f"{name}.res_m", lin.res_m, (d_out,), 41)
    elif lin.res_m is not None:
        raise ModelError(f"{name} has no residual input: res_m must be None")


def _check_ln(name: str, ln: object, d: int, q: QuantConfig) -> None:
    _check_type(name, ln, IntLayerNorm)
    _check_int_array(f"{name}.beta", ln.beta, (d,), 48)
    _check_rq(f"{name}.rq", ln.rq, d, q.mult_bits)
    k = _check_int(f"{name}.k", ln.k, 2, 58)
    # eps >= 1 keeps var > 0; var >= eps and var <= 2^k (for rsqrt >= 1) need eps <= 2^k
    _check_int(f"{name}.eps", ln.eps, 1, 1 << k)


def _check_attention(p: str, a: object, d: int, q: QuantConfig) -> None:
    _check_type(f"{p}.attn", a, IntAttention)
    for nm in ("q", "k", "v", "o"):
        _check_linear(f"{p}.attn.{nm}", getattr(a, nm), d, d, q, residual=nm == "o")
    _check_rq(f"{p}.attn.ctx", a.ctx, d, q.mult_bits)
    # E and K bound 2^E (the table's first entry) and 2^K (probabilities) before they are used
    e_bits = _check_int(f"{p}.attn.exp_bits", a.exp_bits, 1, 24)
    _check_int(f"{p}.attn.prob_bits", a.prob_bits, 1, 24)
    t = a.exp_table
    _check_table(f"{p}.attn.exp_table", t, MAX_TABLE_ROWS)
    # EXP[0] = 2^E, EXP[T-1] = 0, 0 <= EXP[d] <= 2^E
    if int(t[0]) != 1 << e_bits or int(t[-1]) != 0 or t.min() < 0 or t.max() > 1 << e_bits:
        raise ModelError(f"{p}.attn.exp_table must start at 2^E, end at 0, be in [0, 2^E]")


def _check_ffn(p: str, ff: object, d: int, f: int, q: QuantConfig) -> None:
    _check_type(f"{p}.ffn", ff, IntFFN)
    _check_linear(f"{p}.ffn.up", ff.up, d, f, q)
    _check_linear(f"{p}.ffn.down", ff.down, f, d, q, residual=True)
    # the table has 2^in_bits rows, at most MAX_TABLE_ROWS
    in_bits = _check_int(f"{p}.ffn.in_bits", ff.in_bits, 1, MAX_TABLE_ROWS.bit_length() - 1)
    _check_int_array(f"{p}.ffn.table", ff.table, (1 << in_bits,), 24)
    lo, hi = ff.up.rq.lo, ff.up.rq.hi
    if lo < -(1 << (in_bits - 1)) or hi >= 1 << (in_bits - 1):
        raise ModelError(f"{p}.ffn.up clamp exceeds the table domain")


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
        _check_int(f"width of {name}: bits", width[0], 1, MAX_BITS)
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
    _check_type("model", model, IntModel)
    _check_type("config", model.config, TransformerConfig)
    _check_type("qconfig", model.qconfig, QuantConfig)
    cfg, q = model.config, model.qconfig
    d, f = cfg.d_model, cfg.d_ff
    _check_int_array("tok_emb", model.tok_emb, (cfg.vocab_size, d), 16)
    _check_int_array("pos_emb", model.pos_emb, (cfg.max_seq_len, d), 16)
    if not isinstance(model.layers, tuple):
        raise ModelError(f"layers: expected a tuple, got {type(model.layers).__name__}")
    if len(model.layers) != cfg.n_layers:
        raise ModelError(f"{len(model.layers)} layers, config says {cfg.n_layers}")
    for name, ln in (("emb_ln", model.emb_ln), ("final_ln", model.final_ln)):
        if ln is not None:
            _check_ln(name, ln, d, q)
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
        _check_ln(f"{p}.ln1", layer.ln1, d, q)
        _check_ln(f"{p}.ln2", layer.ln2, d, q)
        _check_attention(p, layer.attn, d, q)
        _check_ffn(p, layer.ffn, d, f, q)
    # 2^pool_shift multiplies the pooled sum
    _check_int("pool_shift", model.pool_shift, 0, 24)
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
