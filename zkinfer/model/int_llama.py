"""Integer semantics of a Llama decoder (SmolLM2) and the quantization that builds it.

Every op is exact integer arithmetic that the gadgets of :mod:`zkinfer.model.ops` can check:
products and sums, requantizations (:func:`zkinfer.model.ops.requant.requantize`:
``rq(pre) = clamp((pre + 2^(s-1)) >> s, lo, hi)``), table look-ups and the exact integer
reciprocal square root ``floor(sqrt(2^k / ms))``. Floats appear only while quantizing (scales,
tables, multipliers) and when a caller turns integer logits into probabilities.

The decoder, per token row (``d`` = width, ``H`` query heads, ``G`` kv heads, ``dh`` head width):

=================  ============================================================================
op                 semantics (functions below document widths)
=================  ============================================================================
embed              ``x = rq(E[id, c] * m_e[c])``: the tied integer embedding, one scale per
                   channel, requantized to the residual stream's scale
rmsnorm            ``ms = sum_c x^2 + eps``; ``rsqrt = floor(sqrt(2^k / ms))``;
                   ``z = x rsqrt``; ``out = rq(z g[c])`` (gain per channel folded into ``g``)
linear             ``acc = x @ W``; ``out = rq(acc m[c] (+ res res_m[c]))`` (residual adds)
rope               per head, ``i < dh/2``, position ``t``: ``a' = rq(a C[t, i] - b S[t, i])``,
                   ``b' = rq(b C[t, i] + a S[t, i])`` with ``(a, b)`` the channels
                   ``(i, i + dh/2)`` and ``C, S`` fixed-point ``cos, sin`` of ``t theta^(-2i/dh)``
attention          causal grouped-query: query head ``h`` reads kv head ``h // (H / G)``; scores
                   ``q . k`` (no scaling: it lives in the EXP table); masked entries ``j > i``
                   are left out of the row maximum and the sum; ``idx = rq(max - score)`` (a
                   rounding shift clamped to the table), ``exp = EXP[idx]``,
                   ``p = floor(exp 2^K / sum)``, ``ctx = rq((p @ v) m[c])``
swiglu             ``silu = SILU[gate + 2^(b-1)]`` (table on the clamped gate),
                   ``prod = silu * up``, ``out = rq(prod m[c])``
head               ``logits = h @ E^T`` (tied: the embedding's integers), no requantization
argmax             the lowest index among equal maxima
=================  ============================================================================

Matrix products are computed in float64 BLAS and converted back to int64: exact, because the
declared widths bound every partial sum below ``2^53`` (checked when the model is built), so
every float operation acts on integers that float64 represents exactly.

The quantization is bit-reproducible: the integer model (hence a verifying key) is the same on
every IEEE-754 machine at every thread count. Its float64 calibration forward
(:func:`calibrate_llama`) and its tables (RoPE, EXP, SiLU) use fixed-order matrix products and
an ``exp``, ``log`` and ``cos``/``sin`` built from basic operations
(:mod:`zkinfer.model.float_model`), never BLAS or the vendor's transcendental functions; the
rest is IEEE arithmetic, ``sqrt``, maxima, ``frexp`` and the constant ``math.log(2.0)``.

:meth:`IntLlama.trace` returns every intermediate column by name (the future circuit's trace)
and checks each against its declared width.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from zkinfer.errors import ModelError
from zkinfer.model.float_model import exp as _exp
from zkinfer.model.gguf import LlamaConfig
from zkinfer.model.ops.common import signed_bits, unsigned_bits
from zkinfer.model.ops.layernorm import isqrt_floor_div
from zkinfer.model.ops.requant import Requant, requantize

__all__ = [
    "LlamaQuantConfig",
    "IntRMSNorm",
    "IntLinear",
    "IntRope",
    "IntAttention",
    "IntCausalAttention",
    "IntSwiGLU",
    "IntLlamaLayer",
    "IntLlama",
    "IntKVCache",
    "quantize_llama",
    "calibrate_llama",
    "rmsnorm",
    "linear",
    "rope",
    "attention",
    "swiglu",
    "embed",
    "lm_head",
    "argmax_lowest",
    "int_matmul",
    "EXACT_FLOAT_BITS",
]

#: Integer matrix products are computed in float64 only when every partial sum is below this.
EXACT_FLOAT_BITS = 53
Width = tuple[int, bool]


def _qmax(bits: int) -> int:
    return (1 << (bits - 1)) - 1


def _amax(width: Width) -> int:
    bits, signed = width
    return 1 << (bits - 1) if signed else (1 << bits) - 1


def _sw(bound: int) -> Width:
    """Signed width of ``[-bound, bound]``."""
    return (signed_bits(-bound, bound), True)


def _uw(bound: int) -> Width:
    return (unsigned_bits(bound), False)


def _round(x: np.ndarray | float) -> np.ndarray:
    """Round half away from zero to int64 (quantization only)."""
    x = np.asarray(x, dtype=np.float64)
    return (np.sign(x) * np.floor(np.abs(x) + 0.5)).astype(np.int64)


# --------------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class LlamaQuantConfig:
    """Bit widths and calibration margins of the integer Llama.

    The defaults are what SmolLM2-135M-Instruct needs (``benchmarks/llm_accuracy.py``): its
    residual stream carries "massive activations" (a few channels of the first token reach
    ~2 10^4 while typical values are ~1), so the stream is 24 bits wide; the FFN product and the
    other activations are heavy-tailed too, so they are 14-16 bits, every scale per tensor
    (``channel_floor = 1``); the weights stay int8 per output channel.

    Attributes:
        weight_bits: linear weights, symmetric per output channel (from the dequantized weights,
            the input's per-channel scale folded in).
        emb_bits: the tied embedding, symmetric per model channel.
        resid_bits: the residual stream (per tensor, one scale per residual add).
        norm_bits: RMSNorm outputs (per channel scale, folded into the next weights).
        qk_bits: q and k after the projection (per tensor); RoPE outputs have one bit more.
        v_bits: v (per channel).
        ctx_bits: attention context (per channel).
        rope_bits: fixed-point bits of the cos/sin table (``C = round(2^rope_bits cos)``).
        exp_bits: ``E``: ``EXP[0] = 2^E``.
        prob_bits: ``K``: probabilities ``floor(exp 2^K / sum)``.
        exp_rows: the EXP table has at most this many rows (the score difference is shifted
            right until it fits).
        gate_bits: SiLU table input (``2^gate_bits`` rows).
        silu_bits: SiLU table output.
        up_bits: ``up`` projection (per channel).
        ffn_bits: the SwiGLU product after its requantization (per channel; ``down``'s input).
        final_bits: the final RMSNorm's output (``logits = h E^T``).
        mult_bits: requantization multipliers (at most; fewer when the pre-shift product needs it).
        resid_margin: residual ranges are the calibrated maxima times this.
        act_margin: other activation ranges are the calibrated maxima times this (per-channel
            ranges are capped at the tensor's).
        max_positions: rows of the RoPE table (0: the configuration's context length).
        channel_floor: a per-channel range is at least this fraction of the tensor's range
            (1: every scale per tensor; per-channel ranges from a little calibration text
            underestimate the heavy tails of other text).
        max_shift: every requantization shifts by at most this many bits (the multiplier
            keeps fewer bits when a factor is small), so each remainder, which the proof
            range-checks, fits two 16-bit limbs at the default 32.
    """

    weight_bits: int = 8
    emb_bits: int = 8
    resid_bits: int = 24
    norm_bits: int = 14
    qk_bits: int = 16
    v_bits: int = 14
    ctx_bits: int = 14
    rope_bits: int = 14
    exp_bits: int = 16
    prob_bits: int = 16
    exp_rows: int = 1 << 14
    gate_bits: int = 16
    silu_bits: int = 16
    up_bits: int = 16
    ffn_bits: int = 16
    final_bits: int = 16
    mult_bits: int = 32
    resid_margin: float = 1.5
    act_margin: float = 1.25
    max_positions: int = 0
    channel_floor: float = 1.0
    max_shift: int = 32

    def __post_init__(self) -> None:
        for name in ("weight_bits", "emb_bits", "resid_bits", "norm_bits", "qk_bits", "v_bits",
                     "ctx_bits", "rope_bits", "exp_bits", "prob_bits", "gate_bits", "silu_bits",
                     "up_bits", "ffn_bits", "final_bits"):  # fmt: skip
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or not 2 <= v <= 24:
                raise ModelError(f"LlamaQuantConfig.{name} must be an int in [2, 24], got {v!r}")
        if self.gate_bits > 16:
            raise ModelError("LlamaQuantConfig.gate_bits > 16 (the SiLU table has 2^gate_bits rows)")
        if not (isinstance(self.exp_rows, int) and 4 <= self.exp_rows <= 1 << 16):
            raise ModelError(f"LlamaQuantConfig.exp_rows must be in [4, 65536], got {self.exp_rows!r}")
        if not (isinstance(self.mult_bits, int) and 8 <= self.mult_bits <= 40):
            raise ModelError(f"LlamaQuantConfig.mult_bits must be in [8, 40], got {self.mult_bits!r}")
        for name in ("resid_margin", "act_margin"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 1.0 <= v <= 16.0:
                raise ModelError(f"LlamaQuantConfig.{name} must be in [1, 16], got {v!r}")
        if isinstance(self.channel_floor, bool) or not isinstance(self.channel_floor, (int, float)) or not (
                0.0 < self.channel_floor <= 1.0):
            raise ModelError(f"LlamaQuantConfig.channel_floor must be in (0, 1], got {self.channel_floor!r}")
        if isinstance(self.max_shift, bool) or not isinstance(self.max_shift, int) or not (
                8 <= self.max_shift <= 62):
            raise ModelError(f"LlamaQuantConfig.max_shift must be an int in [8, 62], got {self.max_shift!r}")
        if not (isinstance(self.max_positions, int) and self.max_positions >= 0):
            raise ModelError("LlamaQuantConfig.max_positions must be a non-negative int")


# ------------------------------------------------------------------------------ parameters


@dataclass(frozen=True, eq=False)
class IntRMSNorm:
    """Integer RMSNorm: ``out = rq(x floor(sqrt(2^k / (sum x^2 + eps))) g[c])``.

    Attributes:
        eps: integer epsilon ``>= 1`` (``round(eps d / s_x^2)``), so ``ms > 0``.
        k: rsqrt exponent.
        rq: ``rq.m`` holds the gains ``g`` (RMSNorm weight, ``sqrt(d)``, ``2^(-k/2)`` and the
            output scales folded in).
    """

    eps: int
    k: int
    rq: Requant


@dataclass(frozen=True, eq=False)
class IntLinear:
    """``acc = x @ w``; ``out = rq(acc m[c] + res res_m[c])`` (no bias: Llama has none).

    Attributes:
        w: int64 ``(d_in, d_out)``.
        rq: output requantization (``rq.m`` per output channel).
        res_m: residual multipliers ``(d_out,)`` or ``None``.
    """

    w: np.ndarray
    rq: Requant
    res_m: np.ndarray | None = None
    _wf: np.ndarray = field(init=False, repr=False, compare=False)
    _wmax: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_wf", self.w.astype(np.float64))
        object.__setattr__(self, "_wmax", _absmax(self.w))


@dataclass(frozen=True, eq=False)
class IntRope:
    """Fixed-point RoPE tables.

    Attributes:
        cos: int64 ``(positions, dh/2)``: ``round(2^bits cos(t theta^(-2i/dh)))``.
        sin: int64 ``(positions, dh/2)``: the same with ``sin``.
        bits: fixed-point bits (the requantization's shift).
        lo: output clamp lower bound.
        hi: output clamp upper bound.
    """

    cos: np.ndarray
    sin: np.ndarray
    bits: int
    lo: int
    hi: int


@dataclass(frozen=True, eq=False)
class IntCausalAttention:
    """Integer causal softmax and context (``IntAttention`` is the same class).

    Attributes:
        exp_table: ``EXP[t] = round(2^E exp(-t u))``, last entry ``0`` (``u``: the score unit
            after the shift, ``s_q s_k 2^score_shift / sqrt(dh)``).
        exp_bits: ``E``.
        prob_bits: ``K``.
        score_shift: ``idx = clamp((diff + 2^(s-1)) >> s, 0, T - 1)`` (``s = 0``: ``min(diff, T-1)``).
        ctx: requantization of ``p @ v`` (per channel).
    """

    exp_table: np.ndarray
    exp_bits: int
    prob_bits: int
    score_shift: int
    ctx: Requant


#: The name the decoder's semantics use (the circuit's key schema names it ``IntCausalAttention``,
#: apart from the encoder's :class:`zkinfer.model.intmodel.IntAttention`).
IntAttention = IntCausalAttention


@dataclass(frozen=True, eq=False)
class IntSwiGLU:
    """``out = rq(SILU[gate + 2^(b-1)] * up * m[c])``.

    Attributes:
        table: SILU table, ``2^in_bits`` rows.
        in_bits: ``b``: the gate's width (its clamp is the table's domain).
        rq: requantization of the product.
    """

    table: np.ndarray
    in_bits: int
    rq: Requant


@dataclass(frozen=True, eq=False)
class IntLlamaLayer:
    """One decoder block."""

    attn_norm: IntRMSNorm
    q: IntLinear
    k: IntLinear
    v: IntLinear
    attn: IntAttention
    o: IntLinear
    mlp_norm: IntRMSNorm
    gate: IntLinear
    up: IntLinear
    swiglu: IntSwiGLU
    down: IntLinear


@dataclass
class IntKVCache:
    """Rotated integer keys and values of the positions seen so far.

    Attributes:
        k: int64 ``(layers, kv_heads, capacity, dh)``.
        v: int64 ``(layers, kv_heads, capacity, dh)``.
        length: positions filled.
    """

    k: np.ndarray
    v: np.ndarray
    length: int = 0

    @property
    def capacity(self) -> int:
        """Positions the cache holds."""
        return self.k.shape[2]


# ----------------------------------------------------------------------------------- ops


def int_matmul(a: np.ndarray, b: np.ndarray, a_width: Width, b_max: int, bf: np.ndarray | None = None
               ) -> np.ndarray:
    """Exact integer product ``a @ b`` (contracting ``a``'s last axis with ``b``'s second-last).

    Computed in float64: exact when ``amax(a_width) * b_max * (inner size) < 2^53`` (then every
    product and every partial sum is an integer float64 holds exactly, in any summation order);
    refused otherwise.

    Arguments:
        a: int64 array, values within ``a_width``.
        b: int64 array, ``|b| <= b_max``.
        a_width: declared width of ``a``.
        b_max: bound on ``|b|``.
        bf: ``b`` as float64 (a cached copy), or ``None``.

    Returns:
        int64 product.

    Raises:
        ModelError: the bound reaches ``2^53``.
    """
    inner = a.shape[-1]
    if _amax(a_width) * b_max * inner >= 1 << EXACT_FLOAT_BITS:
        raise ModelError(f"integer product of {a_width} x {b_max} over {inner} terms may exceed 2^53")
    out = a.astype(np.float64) @ (b.astype(np.float64) if bf is None else bf)
    return out.astype(np.int64)


class _Rec:
    """Column recorder: ``put(name, array, width)`` stores and checks (``None``: records nothing)."""

    def __init__(self, out: dict[str, np.ndarray] | None, widths: dict[str, Width] | None) -> None:
        self.out, self.widths = out, widths

    def put(self, name: str, arr: np.ndarray, width: Width) -> None:
        if self.out is None:
            return
        bits, signed = width
        lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
        a = np.asarray(arr)
        if a.dtype != np.int64:
            raise ModelError(f"column {name} is {a.dtype}, not int64")
        if bits > 62:
            raise ModelError(f"column {name}: declared width {bits} bits exceeds 62")
        if a.size and (int(a.min()) < lo or int(a.max()) > hi):
            raise ModelError(
                f"column {name} outside its declared width {bits} bits {'signed' if signed else 'unsigned'}"
                f" (values in [{int(a.min())}, {int(a.max())}])"
            )
        self.out[name] = a
        self.widths[name] = width


_NOREC = _Rec(None, None)


def _rq_widths(pre_bound: int, rq: Requant) -> tuple[Width, Width, Width]:
    """Widths of ``(q, rem, out)`` of a requantization of ``|pre| <= pre_bound``."""
    s = rq.shift
    qb = ((pre_bound + (1 << (s - 1))) >> s) + 1
    return _sw(qb), (s, False), (signed_bits(rq.lo, rq.hi), True)


def _put_rq(rec: _Rec, name: str, qro: tuple, pre_bound: int, rq: Requant) -> np.ndarray:
    if pre_bound + (1 << rq.shift) >= 1 << 62:
        raise ModelError(f"{name}: the pre-shift value may reach 2^62 (bound {pre_bound})")
    wq, wr, wo = _rq_widths(pre_bound, rq)
    rec.put(f"{name}.q", qro[0], wq)
    rec.put(f"{name}.rem", qro[1], wr)
    rec.put(f"{name}.out", qro[2], wo)
    return qro[2]


def _absmax(a: np.ndarray) -> int:
    return int(np.max(np.abs(a))) if a.size else 0


def rmsnorm(x: np.ndarray, p: IntRMSNorm, x_width: Width, name: str = "norm", rec: _Rec = _NOREC
            ) -> tuple[np.ndarray, Width]:
    """Integer RMSNorm over the last axis.

    Semantics (``d`` channels, ``X = amax(x_width)``):

    - ``ms = sum_c x^2 + eps`` (unsigned, ``<= d X^2 + eps``);
    - ``rsqrt = floor(sqrt(2^k / ms))``: the unique integer with
      ``rsqrt^2 ms <= 2^k < (rsqrt + 1)^2 ms``; slacks ``rsqrt_lo = 2^k - rsqrt^2 ms`` (``k + 1``
      bits) and ``rsqrt_hi = (rsqrt + 1)^2 ms - 2^k - 1`` (``k + 2`` bits), both ``>= 0``;
      ``rsqrt <= floor(sqrt(2^k / eps))``;
    - ``z = x rsqrt``: ``x^2 <= ms`` gives ``|z| <= 2^(k/2)``;
    - ``out = rq(z g[c])``, ``|z g| <= 2^(k/2) max|g|``.

    Arguments:
        x: int64 ``(n, d)``.
        p: the parameters.
        x_width: declared width of ``x``.
        name: column prefix.
        rec: recorder.

    Returns:
        ``(out, width of out)``.
    """
    d = x.shape[-1]
    X = _amax(x_width)
    ms = (x * x).sum(axis=-1) + p.eps
    two_k = 1 << p.k
    r = isqrt_floor_div(two_k, ms)
    z = x * r[:, None]
    zmax = math.isqrt(two_k)
    pre_bound = zmax * _absmax(p.rq.m)
    res = requantize(z * p.rq.m, p.rq)
    if rec.out is not None:
        rec.put(f"{name}.ms", ms, _uw(d * X * X + p.eps))
        rec.put(f"{name}.rsqrt", r, _uw(math.isqrt(two_k // p.eps)))
        rec.put(f"{name}.rsqrt_lo", two_k - r * r * ms, (p.k + 1, False))
        rec.put(f"{name}.rsqrt_hi", (r + 1) * (r + 1) * ms - two_k - 1, (p.k + 2, False))
        rec.put(f"{name}.z", z, _sw(zmax))
    out = _put_rq(rec, name, res, pre_bound, p.rq)
    return out, _rq_widths(pre_bound, p.rq)[2]


def linear(x: np.ndarray, p: IntLinear, x_width: Width, name: str = "linear", rec: _Rec = _NOREC,
           res: np.ndarray | None = None, res_width: Width | None = None) -> tuple[np.ndarray, Width]:
    """``acc = x @ w``; ``out = rq(acc m[c] (+ res res_m[c]))``.

    Widths: ``|acc| <= d_in amax(x) max|w|`` (below ``2^53``, :func:`int_matmul`); the
    pre-shift value ``|acc m + res res_m| <= |acc| max|m| + amax(res) max|res_m|``.

    Arguments:
        x: int64 ``(n, d_in)``.
        p: weights and requantization (``res_m`` iff ``res`` is given).
        x_width: declared width of ``x``.
        name: column prefix.
        rec: recorder.
        res: the residual input ``(n, d_out)`` or ``None``.
        res_width: its declared width.

    Returns:
        ``(out, width of out)``.

    Raises:
        ModelError: a residual input without residual multipliers or the reverse.
    """
    if (res is None) != (p.res_m is None):
        raise ModelError(f"{name}: residual input and residual multipliers go together")
    wmax = p._wmax
    acc = int_matmul(x, p.w, x_width, wmax, p._wf)
    acc_bound = x.shape[-1] * _amax(x_width) * wmax
    pre = acc * p.rq.m
    pre_bound = acc_bound * _absmax(p.rq.m)
    if res is not None:
        pre = pre + res * p.res_m
        pre_bound += _amax(res_width) * _absmax(p.res_m)
    rec.put(f"{name}.acc", acc, _sw(acc_bound))
    out = _put_rq(rec, name, requantize(pre, p.rq), pre_bound, p.rq)
    return out, _rq_widths(pre_bound, p.rq)[2]


def rope(x: np.ndarray, positions: np.ndarray, p: IntRope, x_width: Width, name: str = "rope",
         rec: _Rec = _NOREC) -> tuple[np.ndarray, Width]:
    """Rotate the channel pairs ``(i, i + dh/2)`` of each head by the position's angles.

    Semantics: ``x`` is ``(heads, n, dh)``; with ``a = x[..., i]``, ``b = x[..., i + dh/2]``,
    ``C = cos[t, i]``, ``S = sin[t, i]`` (``t`` the row's position):
    ``pre = [a C - b S, b C + a S]`` (``|pre| <= 2 amax(x) 2^bits``, ``bits + 1`` signed bits
    for ``C``, ``S``), ``out = clamp((pre + 2^(bits-1)) >> bits, lo, hi)`` (the multiplier is 1).

    Arguments:
        x: int64 ``(heads, n, dh)``.
        positions: int64 ``(n,)``, each below the table's rows.
        p: the tables.
        x_width: declared width of ``x``.
        name: column prefix.
        rec: recorder.

    Returns:
        ``(out, width of out)``.

    Raises:
        ModelError: a position outside the table.
    """
    if positions.size and (positions.min() < 0 or positions.max() >= p.cos.shape[0]):
        raise ModelError(f"{name}: positions beyond the RoPE table's {p.cos.shape[0]} rows")
    half = x.shape[-1] // 2
    c, s = p.cos[positions][None], p.sin[positions][None]
    a, b = x[..., :half], x[..., half:]
    pre = np.concatenate([a * c - b * s, b * c + a * s], axis=-1)
    rq = Requant(np.ones(1, dtype=np.int64), p.bits, p.lo, p.hi)
    pre_bound = 2 * _amax(x_width) * (1 << p.bits)
    out = _put_rq(rec, name, requantize(pre, rq), pre_bound, rq)
    return out, _rq_widths(pre_bound, rq)[2]


def attention(q: np.ndarray, k: np.ndarray, v: np.ndarray, q_pos: np.ndarray, p: IntAttention,
              q_width: Width, k_width: Width, v_width: Width, max_positions: int,
              name: str = "attn", rec: _Rec = _NOREC) -> tuple[np.ndarray, Width]:
    """Causal grouped-query attention with the integer softmax.

    Semantics (``H`` query heads, ``G`` kv heads, query head ``h`` reads kv head
    ``h // (H / G)``; query row ``i`` at position ``q_pos[i]`` sees keys ``j <= q_pos[i]``):

    - ``scores[h, i, j] = sum_e q[h, i, e] k[h // (H/G), j, e]`` (all ``j``; ``|.| <= dh Q K``);
    - ``max[h, i] = max_{j <= q_pos[i]} scores``; ``argmax`` the first such ``j`` attaining it;
    - ``diff = max - scores`` on the visible entries, ``0`` on the masked ones
      (``<= 2 dh Q K``);
    - ``idx = clamp((diff + 2^(s-1)) >> s, 0, T - 1)`` (``s = score_shift``; ``s = 0``:
      ``min(diff, T - 1)``) on the visible entries, ``T - 1`` on the masked ones, so that
      ``exp = EXP[idx]`` is ``0`` there (``EXP[T-1] = 0``), ``idx_rem`` the rounding remainder;
    - ``sum[h, i] = sum_j exp`` (``2^E <= sum <= N 2^E``, ``N = max_positions``);
    - ``exp 2^K = p sum + rem``, ``0 <= rem < sum`` (so ``p <= 2^K`` and ``sum_j p <= 2^K``);
    - ``ctx.acc[i, h dh + e] = sum_j p[h, i, j] v[h // (H/G), j, e]`` (``|.| <= 2^K V``);
    - ``ctx.out = rq(ctx.acc m[c])``.

    Arguments:
        q: int64 ``(H, n, dh)`` (rotated).
        k: int64 ``(G, total, dh)`` (rotated; every position ``0 .. total-1``).
        v: int64 ``(G, total, dh)``.
        q_pos: int64 ``(n,)`` positions of the query rows, each ``< total``.
        p: softmax and context parameters.
        q_width: declared width of ``q``.
        k_width: declared width of ``k``.
        v_width: declared width of ``v``.
        max_positions: ``N``, the longest sequence (bounds ``sum`` and ``argmax``).
        name: column prefix.
        rec: recorder.

    Returns:
        ``(ctx.out (n, H dh), its width)``.
    """
    H, n, dh = q.shape
    G, total, _ = k.shape
    g = H // G
    Q, Kw, V = _amax(q_width), _amax(k_width), _amax(v_width)
    smax = dh * Q * Kw
    # query head kv * g + j reads kv head kv
    scores = int_matmul(q.reshape(G, g * n, dh), k.transpose(0, 2, 1), q_width, Kw).reshape(H, n, total)
    visible = np.arange(total)[None, :] <= q_pos[:, None]  # (n, total)
    masked_scores = np.where(visible[None], scores, np.iinfo(np.int64).min)
    mx = masked_scores.max(axis=-1)
    am = masked_scores.argmax(axis=-1).astype(np.int64)
    diff = np.where(visible[None], mx[..., None] - scores, 0)
    T = len(p.exp_table)
    s = p.score_shift
    if s > 0:
        t = diff + (1 << (s - 1))
        dq = t >> s
        drem = t - (dq << s)
    else:
        dq, drem = diff, np.zeros_like(diff)
    idx = np.where(visible[None], np.minimum(dq, T - 1), T - 1)
    e = p.exp_table[idx]
    ssum = e.sum(axis=-1)
    num = e << np.int64(p.prob_bits)
    pr = num // ssum[..., None]
    rem = num - pr * ssum[..., None]
    K = p.prob_bits
    acc = int_matmul(pr.reshape(G, g * n, total), v, _uw(1 << K), V)  # (G, g n, dh)
    acc = acc.reshape(H, n, dh).transpose(1, 0, 2).reshape(n, H * dh)
    acc_bound = (1 << K) * V
    pre_bound = acc_bound * _absmax(p.ctx.m)
    res = requantize(acc * p.ctx.m, p.ctx)
    if rec.out is not None:
        S = f"{name}.softmax"
        emax = int(p.exp_table.max())
        rec.put(f"{name}.scores", scores, _sw(smax))
        rec.put(f"{S}.max", mx, _sw(smax))
        rec.put(f"{S}.argmax", am, _uw(max_positions - 1))
        rec.put(f"{S}.diff", diff, _uw(2 * smax))
        rec.put(f"{S}.idx_q", dq, _uw(((2 * smax) >> s) + 1))
        rec.put(f"{S}.idx_rem", drem, (max(s, 1), False))
        rec.put(f"{S}.idx", idx, _uw(T - 1))
        rec.put(f"{S}.exp", e, _uw(emax))
        rec.put(f"{S}.sum", ssum, _uw(max_positions * emax))
        rec.put(f"{S}.p", pr, _uw(1 << K))
        rec.put(f"{S}.rem", rem, _uw(max_positions * emax - 1))
        rec.put(f"{name}.ctx.acc", acc, _sw(acc_bound))
    out = _put_rq(rec, f"{name}.ctx", res, pre_bound, p.ctx)
    return out, _rq_widths(pre_bound, p.ctx)[2]


def swiglu(gate: np.ndarray, up: np.ndarray, p: IntSwiGLU, up_width: Width, name: str = "swiglu",
           rec: _Rec = _NOREC) -> tuple[np.ndarray, Width]:
    """``silu = SILU[gate + 2^(b-1)]``; ``prod = silu * up``; ``out = rq(prod m[c])``.

    ``gate`` is the clamped output of the gate projection, so ``gate + 2^(b-1)`` is a row of
    the table (``b = in_bits``); ``|prod| <= max|SILU| amax(up)``.

    Arguments:
        gate: int64 ``(n, f)`` within ``in_bits`` signed bits.
        up: int64 ``(n, f)``.
        p: table and requantization.
        up_width: declared width of ``up``.
        name: column prefix.
        rec: recorder.

    Returns:
        ``(out, width of out)``.

    Raises:
        ModelError: a gate value outside the table's domain.
    """
    half = 1 << (p.in_bits - 1)
    i = gate + half
    if i.size and (i.min() < 0 or i.max() >= len(p.table)):
        raise ModelError(f"{name}: gate outside the SiLU table's domain")
    silu = p.table[i]
    prod = silu * up
    smax = _absmax(p.table)
    prod_bound = smax * _amax(up_width)
    pre_bound = prod_bound * _absmax(p.rq.m)
    rec.put(f"{name}.silu", silu, _sw(smax))
    rec.put(f"{name}.prod", prod, _sw(prod_bound))
    out = _put_rq(rec, name, requantize(prod * p.rq.m, p.rq), pre_bound, p.rq)
    return out, _rq_widths(pre_bound, p.rq)[2]


def embed(ids: np.ndarray, table: np.ndarray, rq: Requant, name: str = "embed", rec: _Rec = _NOREC,
          table_max: int | None = None) -> tuple[np.ndarray, Width]:
    """``x = rq(E[id, c] m[c])``: the tied embedding requantized to the residual stream.

    Arguments:
        ids: int64 token ids.
        table: the integer embedding ``(vocab, d)``.
        rq: requantization (per channel).
        name: column prefix.
        rec: recorder.
        table_max: ``max |table|`` (cached), or ``None``.

    Returns:
        ``(x, width of x)``.
    """
    e = table[ids]
    emax = _absmax(table) if table_max is None else table_max
    pre_bound = emax * _absmax(rq.m)
    rec.put(f"{name}.e", e, _sw(emax))
    out = _put_rq(rec, name, requantize(e * rq.m, rq), pre_bound, rq)
    return out, _rq_widths(pre_bound, rq)[2]


def lm_head(h: np.ndarray, table: np.ndarray, h_width: Width, table_f: np.ndarray | None = None,
            name: str = "logits", rec: _Rec = _NOREC, table_max: int | None = None) -> np.ndarray:
    """``logits = h @ E^T`` with the tied integer embedding (``|.| <= d amax(h) max|E|``).

    Arguments:
        h: int64 ``(n, d)`` (the final RMSNorm's output).
        table: the integer embedding ``(vocab, d)``.
        h_width: declared width of ``h``.
        table_f: ``table.T`` as float64 (cached), or ``None``.
        name: column name.
        rec: recorder.
        table_max: ``max |table|`` (cached), or ``None``.

    Returns:
        int64 ``(n, vocab)``.
    """
    emax = _absmax(table) if table_max is None else table_max
    logits = int_matmul(h, table.T, h_width, emax, table_f)
    rec.put(name, logits, _sw(h.shape[-1] * _amax(h_width) * emax))
    return logits


def argmax_lowest(logits: np.ndarray) -> np.ndarray:
    """Greedy choice: the lowest index among the maxima of each row.

    Arguments:
        logits: int64 ``(..., vocab)``.

    Returns:
        int64 indices ``(...)``.
    """
    return np.argmax(logits, axis=-1).astype(np.int64)  # numpy returns the first maximum


# ---------------------------------------------------------------------------------- model


@dataclass(frozen=True, eq=False)
class IntLlama:
    """The integer Llama decoder.

    Attributes:
        config: hyper-parameters.
        qconfig: the quantization settings it was built with.
        embed: int64 ``(vocab, d)``, the tied embedding (scale per model channel).
        embed_rq: requantization of an embedding row to the first residual scale.
        layers: the blocks.
        rope: the RoPE tables (shared by every layer).
        final_norm: the last RMSNorm (its output scale per channel is ``logit_scale / s_e[c]``).
        logit_scale: real value of one logit unit (for probabilities; never used by the
            integer semantics).
        scales: real scale of each activation point (diagnostics).
    """

    config: LlamaConfig
    qconfig: LlamaQuantConfig
    embed: np.ndarray
    embed_rq: Requant
    layers: tuple[IntLlamaLayer, ...]
    rope: IntRope
    final_norm: IntRMSNorm
    logit_scale: float
    scales: dict[str, Any] = field(default_factory=dict)
    _embed_tf: np.ndarray = field(init=False, repr=False, compare=False)
    _embed_max: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_embed_tf", np.ascontiguousarray(self.embed.T.astype(np.float64)))
        object.__setattr__(self, "_embed_max", _absmax(self.embed))

    @property
    def max_positions(self) -> int:
        """Longest sequence (rows of the RoPE table)."""
        return int(self.rope.cos.shape[0])

    def new_cache(self, capacity: int) -> IntKVCache:
        """An empty KV cache for ``capacity`` positions.

        Arguments:
            capacity: positions.

        Returns:
            The cache.
        """
        c = self.config
        shape = (c.n_layers, c.n_kv_heads, capacity, c.head_dim)
        return IntKVCache(np.zeros(shape, dtype=np.int64), np.zeros(shape, dtype=np.int64))

    def _ids(self, ids, allow_empty: bool = False) -> np.ndarray:
        arr = np.asarray(ids)
        if arr.ndim != 1 or (arr.size == 0 and not allow_empty) or (
                arr.size and not np.issubdtype(arr.dtype, np.integer)):
            raise ModelError("ids must be a non-empty 1-D sequence of integers")
        arr = arr.astype(np.int64)
        if arr.size and (arr.min() < 0 or arr.max() >= self.config.vocab_size):
            raise ModelError(f"token ids must be in [0, {self.config.vocab_size})")
        return arr

    def extend(self, cache: IntKVCache, ids, last_only: bool = False,
               record: dict[str, np.ndarray] | None = None,
               widths: dict[str, Width] | None = None) -> np.ndarray:
        """Run new tokens after the cached positions (appending their keys and values).

        Arguments:
            cache: the cache.
            ids: new token ids (at least one).
            last_only: logits of the last row only.
            record: if given, every column is stored in it by name (and checked).
            widths: filled with the declared width of each recorded column.

        Returns:
            int64 logits ``(len(ids), vocab)`` (or ``(1, vocab)``).

        Raises:
            ModelError: bad ids, a full cache, or (recording) a column beyond its width.
        """
        c = self.config
        arr = self._ids(ids)
        start, n = cache.length, len(arr)
        total = start + n
        if cache.k.shape[:2] != (c.n_layers, c.n_kv_heads) or cache.k.shape[3] != c.head_dim:
            raise ModelError("the KV cache was made for another model")
        if total > cache.capacity:
            raise ModelError(f"{total} positions exceed the KV cache capacity {cache.capacity}")
        if total > self.max_positions:
            raise ModelError(f"{total} positions exceed the model's {self.max_positions}")
        rec = _Rec(record, widths if widths is not None else {}) if record is not None else _NOREC
        pos = np.arange(start, total, dtype=np.int64)
        H, G, dh = c.n_heads, c.n_kv_heads, c.head_dim
        x, xw = embed(arr, self.embed, self.embed_rq, "embed", rec, self._embed_max)
        for li, L in enumerate(self.layers):
            P = f"layer{li}"
            h, hw = rmsnorm(x, L.attn_norm, xw, f"{P}.attn_norm", rec)
            q, qw = linear(h, L.q, hw, f"{P}.q", rec)
            k, kw = linear(h, L.k, hw, f"{P}.k", rec)
            v, vw = linear(h, L.v, hw, f"{P}.v", rec)
            q, qw = rope(q.reshape(n, H, dh).transpose(1, 0, 2), pos, self.rope, qw, f"{P}.rope_q", rec)
            k, kw = rope(k.reshape(n, G, dh).transpose(1, 0, 2), pos, self.rope, kw, f"{P}.rope_k", rec)
            cache.k[li, :, start:total] = k
            cache.v[li, :, start:total] = v.reshape(n, G, dh).transpose(1, 0, 2)
            ctx, cw = attention(q, cache.k[li, :, :total], cache.v[li, :, :total], pos, L.attn, qw, kw,
                                vw, self.max_positions, f"{P}.attn", rec)
            x, xw = linear(ctx, L.o, cw, f"{P}.o", rec, res=x, res_width=xw)
            h, hw = rmsnorm(x, L.mlp_norm, xw, f"{P}.mlp_norm", rec)
            gate, _ = linear(h, L.gate, hw, f"{P}.gate", rec)
            up, uw = linear(h, L.up, hw, f"{P}.up", rec)
            f, fw = swiglu(gate, up, L.swiglu, uw, f"{P}.swiglu", rec)
            x, xw = linear(f, L.down, fw, f"{P}.down", rec, res=x, res_width=xw)
        cache.length = total
        if last_only:
            x = x[-1:]
        h, hw = rmsnorm(x, self.final_norm, xw, "final_norm", rec)
        return lm_head(h, self.embed, hw, self._embed_tf, "logits", rec, self._embed_max)

    def logits(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """Integer next-token logits at every position.

        Arguments:
            ids: token ids (``1 <= len <= max_positions``).

        Returns:
            int64 ``(len(ids), vocab)``; real logits are these times :attr:`logit_scale`.

        Raises:
            ModelError: bad ids.
        """
        arr = self._ids(ids)
        return self.extend(self.new_cache(len(arr)), arr)

    def trace(self, ids: Sequence[int] | np.ndarray) -> dict[str, np.ndarray]:
        """Every intermediate column of :meth:`logits` by name, checked against its width.

        Names: ``embed.*``, ``layer{i}.{attn_norm,q,k,v,rope_q,rope_k,attn,o,mlp_norm,gate,up,
        swiglu,down}.*``, ``final_norm.*``, ``logits``. The declared widths are in
        :meth:`trace_widths`.

        Arguments:
            ids: token ids.

        Returns:
            ``name -> int64 array``.

        Raises:
            ModelError: bad ids, or a column outside its declared width (named).
        """
        return self.trace_widths(ids)[0]

    def trace_widths(self, ids: Sequence[int] | np.ndarray) -> tuple[dict[str, np.ndarray], dict[str, Width]]:
        """:meth:`trace` and the declared ``(bits, signed)`` width of each column.

        Arguments:
            ids: token ids.

        Returns:
            ``(columns, widths)``.

        Raises:
            ModelError: as :meth:`trace`.
        """
        arr = self._ids(ids)
        cols: dict[str, np.ndarray] = {}
        widths: dict[str, Width] = {}
        self.extend(self.new_cache(len(arr)), arr, record=cols, widths=widths)
        return cols, widths

    def generate(self, ids: Sequence[int] | np.ndarray, max_new_tokens: int,
                 stop_ids: Iterable[int] = ()) -> np.ndarray:
        """Greedy decoding with the integer KV cache (:func:`argmax_lowest`).

        Bit for bit the tokens of recomputing :meth:`logits` on the whole prefix each step.
        Stops after a token of ``stop_ids`` (included) or ``max_new_tokens`` tokens.

        Arguments:
            ids: the prompt.
            max_new_tokens: ``>= 0``.
            stop_ids: ids ending decoding (e.g. ``<|im_end|>``).

        Returns:
            int64 new tokens.

        Raises:
            ModelError: bad ids or ``max_new_tokens``, or too long a sequence.
        """
        return np.asarray(list(self.stream(ids, max_new_tokens, stop_ids)), dtype=np.int64)

    def stream(self, ids: Sequence[int] | np.ndarray, max_new_tokens: int,
               stop_ids: Iterable[int] = ()):
        """:meth:`generate` one token at a time (a generator), for printing an answer as it
        is produced; the arguments are checked before the first token.

        Raises:
            ModelError: as :meth:`generate`.
        """
        arr = self._ids(ids)
        if (isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, (int, np.integer))
                or max_new_tokens < 0):
            raise ModelError(f"max_new_tokens must be a non-negative integer, got {max_new_tokens!r}")
        if len(arr) + max_new_tokens > self.max_positions:
            raise ModelError(f"{len(arr)} + {max_new_tokens} tokens exceed {self.max_positions} positions")
        stops = set(self._ids(list(stop_ids), allow_empty=True).tolist())
        return self._tokens(arr, max_new_tokens, stops)

    def _tokens(self, arr: np.ndarray, max_new_tokens: int, stops: set[int]):
        if max_new_tokens == 0:
            return
        cache = self.new_cache(len(arr) + max_new_tokens)
        logits = self.extend(cache, arr, last_only=True)
        count = 0
        while True:
            token = int(argmax_lowest(logits[-1]))
            count += 1
            yield token
            if token in stops or count == max_new_tokens:
                return
            logits = self.extend(cache, [token], last_only=True)


# ----------------------------------------------------------------------------- calibration


def rope_frequencies(theta: float, head_dim: int) -> np.ndarray:
    """RoPE's frequencies ``theta^(-2i / head_dim)``, ``i < head_dim / 2``, bit-reproducibly:
    ``exp(-(2i / head_dim) ln theta)`` with the basic-operation :func:`~zkinfer.model.float_model.exp`
    and :func:`~zkinfer.model.float_model.log` (``numpy.power`` is CPU-specific SIMD code).
    Within about 10 ulp of the exact frequencies (the rounding of ``ln theta`` is scaled by
    ``2i / head_dim <= 1``); the calibration and the integer tables both use these.

    Arguments:
        theta: the RoPE base (positive, finite).
        head_dim: the head width (even).

    Returns:
        float64 ``(head_dim / 2,)``.

    Raises:
        ModelError: a non-positive or non-finite base.
    """
    from zkinfer.model.float_model import exp, log

    ln_theta = float(log(np.float64(theta)))
    return exp(-(np.arange(0, head_dim, 2, dtype=np.float64) / head_dim) * ln_theta)


def _rope_tables(positions: np.ndarray, inv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(cos, sin)`` of ``positions[t] * inv[i]`` (one IEEE product), bit-reproducible."""
    from zkinfer.model.float_model import cos_sin

    return cos_sin(np.asarray(positions, dtype=np.float64)[:, None] * inv[None, :])


def _row_sums(x: np.ndarray) -> np.ndarray:
    """Sums over the last axis added in index order (a fixed-order product with ones)."""
    from zkinfer.model.float_model import matmul

    flat = x.reshape(-1, x.shape[-1])
    return matmul(flat, np.ones((x.shape[-1], 1))).reshape(x.shape[:-1] + (1,))


def _float_rms(x: np.ndarray, eps: float) -> np.ndarray:
    """``x / sqrt(sum_c x_c^2 / d + eps)`` per row, the squares added in channel order."""
    return x / np.sqrt(_row_sums(x * x) / x.shape[-1] + eps)


def calibrate_llama(config: LlamaConfig, weights: Mapping[str, np.ndarray],
                    calibration_ids: Sequence[Sequence[int]]) -> dict[str, tuple[float, np.ndarray]]:
    """Activation ranges of the float model at every quantization point.

    Bit-reproducible (the scales, hence the integer model and its verifying key, depend on
    these bits): the float64 forward uses only operations whose results are the same on every
    IEEE-754 machine at every thread count. Matrix products are
    :func:`~zkinfer.model.float_model.matmul` (each element summed in index order; the large
    ones on Numba's threads, the same bits), row sums (RMSNorm, softmax) are products with a
    column of ones, exponentials (softmax, SiLU) are :func:`~zkinfer.model.float_model.exp`,
    RoPE's rotation uses :func:`rope_frequencies` and
    :func:`~zkinfer.model.float_model.cos_sin`; the rest is elementwise ``+ - * /``, ``sqrt``
    and maxima. No BLAS, no vendor ``exp``/``cos``/``sin``/``pow``. The linear layers run on
    the rows of all sequences at once (a row's result does not depend on the others); attention
    runs per sequence (causal, positions from 0).

    Arguments:
        config: hyper-parameters.
        weights: Hugging Face names -> float64 arrays.
        calibration_ids: token sequences.

    Returns:
        ``point -> (tensor max |x|, per-channel max |x|)``.

    Raises:
        ModelError: no calibration sequence, an empty or non-1-D sequence, or a token id
            outside the vocabulary.
    """
    from zkinfer.model.float_model import exp, matmul

    if not calibration_ids:
        raise ModelError("quantize_llama needs at least one calibration sequence")
    c = config
    seqs = [np.asarray(seq) for seq in calibration_ids]
    for seq in seqs:
        if seq.ndim != 1 or seq.size == 0 or not np.issubdtype(seq.dtype, np.integer):
            raise ModelError("a calibration sequence must be a non-empty 1-D array of token ids")
        if seq.min() < 0 or seq.max() >= c.vocab_size:
            raise ModelError("a calibration token id is outside the vocabulary")
    H, G, dh = c.n_heads, c.n_kv_heads, c.head_dim
    half = dh // 2
    ids = np.concatenate(seqs).astype(np.int64)
    spans = np.cumsum([0] + [len(seq) for seq in seqs])
    cos, sin = _rope_tables(np.concatenate([np.arange(len(seq)) for seq in seqs]),
                            rope_frequencies(c.rope_theta, dh))
    cos, sin = cos[:, None, :], sin[:, None, :]  # (rows, 1, dh / 2): every head
    acc: dict[str, np.ndarray] = {}

    def note(name: str, a: np.ndarray) -> None:
        acc[name] = np.abs(a.reshape(-1, a.shape[-1])).max(axis=0)

    def rot(t: np.ndarray) -> np.ndarray:  # (rows, heads, dh)
        a, b = t[..., :half], t[..., half:]
        return np.concatenate([a * cos - b * sin, b * cos + a * sin], axis=-1)

    def lin(x: np.ndarray, w_hf: np.ndarray) -> np.ndarray:  # x @ w_hf^T
        return matmul(x, np.ascontiguousarray(w_hf.T), parallel=True)

    x = weights["model.embed_tokens.weight"][ids]
    note("embed", x)
    N = len(ids)
    for li in range(c.n_layers):
        P = f"model.layers.{li}."
        w = {k: weights[P + k + ".weight"] for k in (
            "input_layernorm", "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
            "self_attn.o_proj", "post_attention_layernorm", "mlp.gate_proj", "mlp.up_proj",
            "mlp.down_proj")}  # fmt: skip
        p = f"layer{li}"
        h = _float_rms(x, c.rms_eps) * w["input_layernorm"]
        note(f"{p}.attn_norm", h)
        q = lin(h, w["self_attn.q_proj"])
        k = lin(h, w["self_attn.k_proj"])
        v = lin(h, w["self_attn.v_proj"])
        note(f"{p}.q", q)
        note(f"{p}.k", k)
        note(f"{p}.v", v)
        q, k = rot(q.reshape(N, H, dh)), rot(k.reshape(N, G, dh))
        note(f"{p}.rope_q", q.reshape(N, H * dh))
        note(f"{p}.rope_k", k.reshape(N, G * dh))
        ctx = np.empty((N, H * dh))
        for a, b in zip(spans[:-1], spans[1:]):
            n = b - a
            qs = q[a:b].transpose(1, 0, 2)  # (H, n, dh)
            ks = np.repeat(k[a:b].transpose(1, 2, 0), H // G, axis=0)  # (H, dh, n)
            vs = np.repeat(v[a:b].reshape(n, G, dh).transpose(1, 0, 2), H // G, axis=0)
            s = matmul(qs, ks) / math.sqrt(dh)
            s[:, np.triu(np.ones((n, n), dtype=bool), 1)] = -np.inf
            s = exp(s - s.max(axis=-1, keepdims=True))  # exp(-inf) = 0
            s = s / _row_sums(s)
            ctx[a:b] = matmul(s, vs).transpose(1, 0, 2).reshape(n, H * dh)
        note(f"{p}.ctx", ctx)
        x = x + lin(ctx, w["self_attn.o_proj"])
        note(f"{p}.o", x)
        h = _float_rms(x, c.rms_eps) * w["post_attention_layernorm"]
        note(f"{p}.mlp_norm", h)
        gate = lin(h, w["mlp.gate_proj"])
        up = lin(h, w["mlp.up_proj"])
        note(f"{p}.gate", gate)
        note(f"{p}.up", up)
        with np.errstate(over="ignore"):  # exp(-gate) = inf: silu = -0
            f = gate / (1.0 + exp(-gate)) * up
        note(f"{p}.swiglu", f)
        x = x + lin(f, w["mlp.down_proj"])
        note(f"{p}.down", x)
    note("final_norm", _float_rms(x, c.rms_eps) * weights["model.norm.weight"])
    return {k: (max(float(v.max()), 1e-8), np.maximum(v, 1e-8)) for k, v in acc.items()}


# ---------------------------------------------------------------------------- quantization


def _fixed(factors: np.ndarray, mult_bits: int, extra: Sequence[np.ndarray] = (), extra_bits: int = 40,
           max_shift: int = 62) -> tuple[np.ndarray, int, list[np.ndarray]]:
    """``m / 2^s ~ factors`` with ``|m| < 2^(mult_bits-1)`` and ``s <= max_shift``; ``extra``
    factors share ``s`` (residual multipliers, below ``2^extra_bits``)."""
    f = np.asarray(factors, dtype=np.float64)
    top = float(np.max(np.abs(f)))
    if not top > 0.0:
        raise ModelError("a requantization factor is zero")
    limit = _qmax(mult_bits)
    shift = min(62, max_shift, math.frexp(limit / top)[1] - 1)
    while shift > 1 and int(np.max(np.abs(_round(f * 2.0**shift)))) > limit:
        shift -= 1
    while shift > 1 and any(int(np.max(np.abs(_round(np.asarray(e) * 2.0**shift)))) >= 1 << extra_bits
                            for e in extra):
        shift -= 1
    if shift < 1:
        raise ModelError(f"a requantization factor {top:.3g} is too large for {mult_bits}-bit multipliers")
    return _round(f * 2.0**shift), shift, [_round(np.asarray(e) * 2.0**shift) for e in extra]


def _mult_bits(q: LlamaQuantConfig, pre_bits: int) -> int:
    """Multiplier width such that ``2^pre_bits * 2^(mult_bits-1)`` stays below ``2^61``."""
    return max(8, min(q.mult_bits, 61 - pre_bits))


def _rq(m: np.ndarray, shift: int, bits: int) -> Requant:
    return Requant(np.asarray(m, dtype=np.int64), int(shift), -(1 << (bits - 1)), _qmax(bits))


def _weights(w_hf: np.ndarray, s_in: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """``(W_q (d_in, d_out), s_w (d_out,))`` of ``diag(s_in) W^T`` per output channel."""
    w = w_hf.T * np.asarray(s_in, dtype=np.float64)[:, None]
    col = np.abs(w).max(axis=0)
    s_w = np.where(col > 0, col / _qmax(bits), 1.0)
    return _round(w / s_w), s_w


def _lin(w_hf, s_in, s_out, in_bits, out_bits, q, s_res=None, res_bits=None) -> IntLinear:
    wq, s_w = _weights(w_hf, s_in, q.weight_bits)
    acc_bits = (w_hf.shape[1] * _qmax(in_bits) * _qmax(q.weight_bits)).bit_length() + 1
    mb = _mult_bits(q, acc_bits)
    s_out = np.broadcast_to(np.asarray(s_out, dtype=np.float64), s_w.shape)
    extra = [] if s_res is None else [np.broadcast_to(s_res, s_w.shape) / s_out]
    m, shift, ex = _fixed(s_w / s_out, mb, extra, min(40, 60 - (res_bits or 0)), q.max_shift)
    return IntLinear(wq, _rq(m, shift, out_bits), ex[0] if s_res is not None else None)


def _norm(gamma: np.ndarray, eps: float, s_in: float, in_bits: int, s_out: np.ndarray, out_bits: int,
          q: LlamaQuantConfig) -> IntRMSNorm:
    d = len(gamma)
    eps_i = max(1, int(round(eps * d / (s_in * s_in))))
    ms_bits = unsigned_bits(d * _qmax(in_bits + 1) ** 2 + eps_i)
    k = min(58, ms_bits + 24)
    half_k = math.ldexp(math.sqrt(2.0) if k % 2 else 1.0, k // 2)
    gains = gamma * math.sqrt(d) / (half_k * s_out)
    m, shift, _ = _fixed(gains, _mult_bits(q, k // 2 + 1), max_shift=q.max_shift)
    return IntRMSNorm(eps_i, k, _rq(m, shift, out_bits))


def _exp_table(unit: float, exp_bits: int) -> np.ndarray:
    """``EXP[t] = round(2^E exp(-t unit))`` up to and including its first zero."""
    last = int(math.floor((exp_bits + 1) * math.log(2.0) / unit)) + 2
    t = np.floor(2.0**exp_bits * _exp(-np.arange(last + 1, dtype=np.float64) * unit) + 0.5).astype(np.int64)
    return t[: int(np.argmax(t == 0)) + 1].copy()


def quantize_llama(checkpoint: Any, calibration_ids: Sequence[Sequence[int]],
                   qconfig: LlamaQuantConfig | None = None) -> IntLlama:
    """Quantize a Llama checkpoint into an :class:`IntLlama` with calibrated static scales.

    Scheme: weights symmetric per output channel at ``weight_bits`` from the (dequantized)
    float weights, with the per-channel scale of their input folded in; activation scales
    from the float model's ranges over ``calibration_ids`` times a margin (per channel, at least
    ``channel_floor`` times the tensor's range, where the semantics allow: RMSNorm outputs, v,
    context, up and the SwiGLU product; per tensor for the residual stream, q, k and the gate);
    the embedding per model channel, the final
    RMSNorm's output scale per channel ``S / s_e[c]`` so that ``h E^T`` has the one scale ``S``.

    Arguments:
        checkpoint: an object with ``config`` (:class:`~zkinfer.model.gguf.LlamaConfig`) and
            ``weights`` (Hugging Face names -> float64), e.g. a ``LlamaCheckpoint``.
        calibration_ids: token sequences.
        qconfig: widths and margins (default :class:`LlamaQuantConfig`).

    Returns:
        The integer model.

    Raises:
        ModelError: no calibration data, an untied checkpoint, or scales that do not fit.
    """
    q = qconfig or LlamaQuantConfig()
    c: LlamaConfig = checkpoint.config
    W = checkpoint.weights
    if not c.tied:
        raise ModelError("quantize_llama supports tied embeddings only")
    cal = calibrate_llama(c, W, calibration_ids)
    dh = c.head_dim
    scales: dict[str, Any] = {}

    def tensor(name: str, bits: int, margin: float) -> float:
        return cal[name][0] * margin / _qmax(bits)

    def channel(name: str, bits: int) -> np.ndarray:
        amax, amax_c = cal[name]
        return np.clip(amax_c * q.act_margin, amax * q.channel_floor, amax * q.act_margin) / _qmax(bits)

    E = W["model.embed_tokens.weight"]
    col = np.abs(E).max(axis=0)
    s_e = np.where(col > 0, col / _qmax(q.emb_bits), 1.0)
    Eq = _round(E / s_e)
    s_x = float(np.abs(E).max()) / _qmax(q.resid_bits)  # exact range of any embedding row
    m, shift, _ = _fixed(s_e / s_x, _mult_bits(q, q.emb_bits), max_shift=q.max_shift)
    embed_rq = _rq(m, shift, q.resid_bits)
    scales["embed"] = s_x
    rb = q.resid_bits
    positions = q.max_positions or c.max_seq_len
    cos, sin = _rope_tables(np.arange(positions), rope_frequencies(c.rope_theta, dh))
    rope_t = IntRope(_round(cos * 2.0**q.rope_bits), _round(sin * 2.0**q.rope_bits),
                     q.rope_bits, -(1 << q.qk_bits), (1 << q.qk_bits) - 1)
    layers = []
    for li in range(c.n_layers):
        P, p = f"model.layers.{li}.", f"layer{li}"
        w = {k: W[P + k + ".weight"] for k in (
            "input_layernorm", "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
            "self_attn.o_proj", "post_attention_layernorm", "mlp.gate_proj", "mlp.up_proj",
            "mlp.down_proj")}  # fmt: skip
        s_n = channel(f"{p}.attn_norm", q.norm_bits)
        attn_norm = _norm(w["input_layernorm"], c.rms_eps, s_x, rb, s_n, q.norm_bits, q)
        # q and k: per tensor, the range of both the projection and its rotation
        s_q = max(tensor(f"{p}.q", q.qk_bits, q.act_margin), tensor(f"{p}.rope_q", q.qk_bits, q.act_margin))
        s_k = max(tensor(f"{p}.k", q.qk_bits, q.act_margin), tensor(f"{p}.rope_k", q.qk_bits, q.act_margin))
        s_v = channel(f"{p}.v", q.v_bits)
        iq = _lin(w["self_attn.q_proj"], s_n, s_q, q.norm_bits, q.qk_bits, q)
        ik = _lin(w["self_attn.k_proj"], s_n, s_k, q.norm_bits, q.qk_bits, q)
        iv = _lin(w["self_attn.v_proj"], s_n, s_v, q.norm_bits, q.v_bits, q)
        unit = s_q * s_k / math.sqrt(dh)
        shift_s = 0
        while _exp_len(unit * 2.0**shift_s, q.exp_bits) > q.exp_rows:
            shift_s += 1
        table = _exp_table(unit * 2.0**shift_s, q.exp_bits)
        # context channel h dh + e reads v channel (h // (H/G)) dh + e
        s_vh = np.asarray(s_v, dtype=np.float64).reshape(c.n_kv_heads, 1, dh)
        s_vh = np.repeat(s_vh, c.group, axis=1).reshape(c.n_heads * dh)
        s_c = channel(f"{p}.ctx", q.ctx_bits)
        # p @ v has scale s_v 2^-K; per channel
        m, shift, _ = _fixed(s_vh * 2.0**-q.prob_bits / s_c, _mult_bits(q, q.prob_bits + q.v_bits + 1),
                             max_shift=q.max_shift)
        attn = IntAttention(table, q.exp_bits, q.prob_bits, shift_s, _rq(m, shift, q.ctx_bits))
        s_r1 = tensor(f"{p}.o", rb, q.resid_margin)
        io = _lin(w["self_attn.o_proj"], s_c, s_r1, q.ctx_bits, rb, q, s_res=s_x, res_bits=rb)
        s_n2 = channel(f"{p}.mlp_norm", q.norm_bits)
        mlp_norm = _norm(w["post_attention_layernorm"], c.rms_eps, s_r1, rb, s_n2, q.norm_bits, q)
        s_g = tensor(f"{p}.gate", q.gate_bits, q.act_margin)
        s_u = channel(f"{p}.up", q.up_bits)
        ig = _lin(w["mlp.gate_proj"], s_n2, s_g, q.norm_bits, q.gate_bits, q)
        iu = _lin(w["mlp.up_proj"], s_n2, s_u, q.norm_bits, q.up_bits, q)
        half = 1 << (q.gate_bits - 1)
        u = np.arange(-half, half, dtype=np.float64) * s_g
        with np.errstate(over="ignore"):
            silu = u / (1.0 + _exp(-u))
        s_s = float(np.abs(silu).max()) / _qmax(q.silu_bits)
        stable = _round(silu / s_s)
        s_f = channel(f"{p}.swiglu", q.ffn_bits)
        m, shift, _ = _fixed(s_s * s_u / s_f, _mult_bits(q, q.silu_bits + q.up_bits),
                             max_shift=q.max_shift)
        sw = IntSwiGLU(stable, q.gate_bits, _rq(m, shift, q.ffn_bits))
        s_r2 = tensor(f"{p}.down", rb, q.resid_margin)
        idn = _lin(w["mlp.down_proj"], s_f, s_r2, q.ffn_bits, rb, q, s_res=s_r1, res_bits=rb)
        scales.update({f"{p}.attn_norm": s_n, f"{p}.q": s_q, f"{p}.k": s_k, f"{p}.v": s_v,
                       f"{p}.ctx": s_c, f"{p}.o": s_r1, f"{p}.mlp_norm": s_n2, f"{p}.gate": s_g,
                       f"{p}.up": s_u, f"{p}.silu": s_s, f"{p}.swiglu": s_f, f"{p}.down": s_r2})
        layers.append(IntLlamaLayer(attn_norm, iq, ik, iv, attn, io, mlp_norm, ig, iu, sw, idn))
        s_x = s_r2
    # final norm: output scale S / s_e[c], so h E^T has the single scale S
    amax_t, amax_c = cal["final_norm"]
    amax_c = np.clip(amax_c * q.act_margin, amax_t * q.channel_floor, amax_t * q.act_margin)
    S = float(np.max(amax_c * s_e)) / _qmax(q.final_bits)
    s_fn = S / s_e
    final = _norm(W["model.norm.weight"], c.rms_eps, s_x, rb, s_fn, q.final_bits, q)
    scales["final_norm"] = s_fn
    model = IntLlama(c, q, Eq, embed_rq, tuple(layers), rope_t, final, S, scales)
    _check_exact(model)
    return model


def _exp_len(unit: float, exp_bits: int) -> int:
    return int(math.floor((exp_bits + 1) * math.log(2.0) / unit)) + 3


def _check_exact(model: IntLlama) -> None:
    """Every matrix product's bound below ``2^53`` and every pre-shift value below ``2^62``."""
    ids = np.zeros(1, dtype=np.int64)
    # a one-token trace computes every declared width from the parameters (the bounds do not
    # depend on the values) and runs every product through int_matmul's check
    cols: dict[str, np.ndarray] = {}
    widths: dict[str, Width] = {}
    model.extend(model.new_cache(1), ids, record=cols, widths=widths)
    wide = [k for k, (b, _) in widths.items() if b > 62]
    if wide:
        raise ModelError(f"columns wider than 62 bits: {', '.join(wide[:5])}")
