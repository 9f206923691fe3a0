"""Quantization: float model + calibration inputs -> integer model.

Scheme (every choice below only changes integer parameters, never the semantics):

* Weights: symmetric per-output-channel ``weight_bits`` (int8): ``W_q = round(W' / s_w[c])``
  where ``W' = diag(s_in) W`` folds the input scale (per tensor, or per channel for LayerNorm
  outputs with ``norm_per_channel``) into the weights. Bias ``b_q = round(b / s_w[c])``.
  With ``weight_rounding="gptq"`` (MiniLM) the same scales, but each weight matrix is rounded
  row by row with GPTQ error compensation from the calibration inputs' second moments ``X^T X``
  (serial fixed-order Numba kernels: reproducible like the float forward).
* Activations: static symmetric scales ``s = amax / (2^(b-1) - 1)`` from calibration
  (``amax`` = maximum, or a percentile, of ``|x|``). Widths by role (:class:`QuantConfig`):
  ``act_bits`` (LayerNorm outputs, q, k, v, context), ``resid_bits`` (residual sums, the
  LayerNorm inputs), ``ffn_in_bits``/``ffn_out_bits`` (activation table in/out), ``out_bits``
  (the pooled tensor).
* Multipliers: a real factor ``M[c]`` becomes ``m[c] / 2^s`` with ``|m[c]| < 2^(mult_bits-1)``;
  residual multipliers share ``s`` with the accumulator multipliers of the same output and may
  be wider (up to 40 bits; they multiply an 8- or 16-bit tensor).
* MLP models (``block="mlp"``): the same FFN quantization with the stream (``emb.x``, then
  each ``ffn.down.out`` at ``resid_bits``) as both the ``up`` input and the residual; the
  pooled tensor is the last ``ffn.down.out``.
* Softmax: the score scale ``s_q * s_k / sqrt(d_head)`` goes into ``EXP[d] = round(2^E *
  exp(-d * scale))``; ``s_q`` is coarsened if the table would exceed 2^16 rows.
* LayerNorm: ``eps_int = max(1, round(eps * d / s_in^2))``; ``k = min(58, bits(var_max) + 24)``
  (so ``rsqrt >= 2^12`` at the worst-case variance when ``k`` is not capped);
  ``g[c] = gamma[c] * sqrt(d) / (2^(k/2) * s_out[c])`` and ``beta[c] / s_out[c]`` as fixed point.

Reproducibility: the integer model is a deterministic function of the float weights, the
calibration inputs and the :class:`QuantConfig`, bit for bit the same at every thread count and
on every CPU (a verifying key depends on every bit of it). Calibration runs the bit-reproducible
float forward (:mod:`zkinfer.model.float_model`: fixed-order matrix products instead of BLAS,
an exponential from basic operations instead of ``numpy.exp``); everything after it is IEEE
arithmetic, maxima, sorting (percentiles) and exact powers of two (``frexp``/``ldexp`` rather
than ``log2``/``pow``). The only C-library functions left are the correctly rounded ``sqrt`` and
``math.erf`` (activation tables: an ulp of difference in another C library would move an entry
only if it lay within that ulp of a rounding boundary) and the constant ``math.log(2.0)``. The
:class:`~zkinfer.model.provenance.Provenance` given by the caller is stored in the model.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from zkinfer.errors import ModelError
from zkinfer.model.config import QuantConfig, TransformerConfig
from zkinfer.model.float_model import (
    FloatLayer,
    FloatLayerNorm,
    FloatLinear,
    FloatModel,
    activation_fn,
    exp,
    forward_float,
)
from zkinfer.model.intmodel import (
    MAX_TABLE_ROWS,
    IntAttention,
    IntFFN,
    IntLayer,
    IntLayerNorm,
    IntLinear,
    IntModel,
    Requant,
    declare_widths,
    unsigned_bits,
    validate,
)
from zkinfer.model.provenance import Provenance, token_ids_sha256

__all__ = ["quantize", "calibrate", "second_moments", "WEIGHT_ROUNDINGS"]


def _qmax(bits: int) -> int:
    return (1 << (bits - 1)) - 1


def _round(x: np.ndarray) -> np.ndarray:
    """Round half away from zero to int64 (only used while quantizing, never at inference)."""
    return (np.sign(x) * np.floor(np.abs(x) + 0.5)).astype(np.int64)


def calibrate(
    model: FloatModel, inputs: Sequence[np.ndarray], percentile: float = 100.0
) -> dict[str, tuple[float, np.ndarray]]:
    """Activation ranges of the float model over calibration inputs.

    Arguments:
        model: the float model.
        inputs: token sequences (1-D integer arrays).
        percentile: ``|x|`` percentile taken as the range (100 = maximum).

    Returns:
        ``point name -> (per-tensor amax, per-channel amax)``.

    Raises:
        ModelError: no calibration inputs.
    """
    return _ranges(_record(model, inputs), percentile)


def _record(model: FloatModel, inputs: Sequence[np.ndarray]) -> dict[str, np.ndarray]:
    """Every recorded float activation over the calibration inputs: ``name -> (tokens, width)``,
    the inputs' rows stacked in order (one float forward per input)."""
    if len(inputs) == 0:
        raise ModelError("quantization needs at least one calibration input")
    record: dict[str, list[np.ndarray]] = {}
    for ids in inputs:
        forward_float(model, np.asarray(ids), record=record)
    stacked = {}
    for name in list(record):
        values = record.pop(name)
        stacked[name] = np.concatenate([v.reshape(-1, v.shape[-1]) for v in values], axis=0)
    return stacked


def _ranges(stacked: dict[str, np.ndarray], percentile: float) -> dict[str, tuple[float, np.ndarray]]:
    """:func:`calibrate`'s ranges from :func:`_record`'s activations."""
    out = {}
    for name, values in stacked.items():
        a = np.abs(values)
        if percentile >= 100.0:
            amax, per_channel = float(a.max()), a.max(axis=0)
        else:
            amax = float(np.percentile(a, percentile))
            per_channel = np.percentile(a, percentile, axis=0)
        out[name] = (max(amax, 1e-8), np.maximum(per_channel, 1e-8))
    return out


def _fixed_point(factors: Sequence[np.ndarray], mult_bits: int) -> tuple[list[np.ndarray], int]:
    """Integers ``m_i`` and one shift ``s`` with ``m_i / 2^s ~ factors_i``.

    The shift is set by ``factors[0]`` (the accumulator multipliers, ``|m_0| < 2^(mult_bits-1)``);
    further factors (residual multipliers) are rounded at the same shift and may be wider: they
    multiply narrow tensors, and a shift shared with a much larger factor would round the
    accumulator multipliers to a few bits. The shift is lowered only if a residual multiplier
    would not fit 40 bits otherwise.
    """
    top = float(np.max(np.abs(factors[0])))
    limit = _qmax(mult_bits)
    if top <= 0.0:
        raise ModelError("a requantization factor is zero")
    # floor(log2(limit / top)) exactly: limit / top = f * 2^e with 0.5 <= f < 1
    shift = math.frexp(limit / top)[1] - 1
    if shift < 1:
        raise ModelError(f"a requantization factor {top:.3g} is too large for {mult_bits}-bit m")
    shift = min(shift, 62)
    while int(np.max(np.abs(_round(factors[0] * 2.0**shift)))) > limit:
        shift -= 1
    # a residual factor much larger than the accumulator factors (e.g. an FFN whose calibrated
    # output is ~0) lowers the shared shift until it fits 40 bits; the accumulator multipliers
    # then lose precision, on a contribution that is negligible next to the residual
    while shift > 1 and any(int(np.max(np.abs(_round(f * 2.0**shift)))) >= 1 << 40 for f in factors[1:]):
        shift -= 1
    out = [_round(f * 2.0**shift) for f in factors]
    if any(int(np.max(np.abs(m))) >= 1 << 40 for m in out[1:]):
        raise ModelError("a residual multiplier does not fit 40 bits")
    return out, shift


#: Dampening of the second-moment matrix for GPTQ rounding (fraction of its mean diagonal).
GPTQ_DAMP = 0.01
#: Weight rounding methods of :func:`quantize`.
WEIGHT_ROUNDINGS = ("nearest", "gptq")


def _linear_inputs(model: FloatModel) -> list[str]:
    """Names of the recorded tensors that are inputs of a linear layer."""
    cfg = model.config
    if cfg.block == "mlp":
        return (["emb.x"] + [f"layer{i}.ffn.down.out" for i in range(cfg.n_layers - 1)]
                + [f"layer{i}.ffn.act.out" for i in range(cfg.n_layers)])
    names = ["emb.ln.out"] if cfg.norm == "post" else []
    for i in range(cfg.n_layers):
        p = f"layer{i}"
        names += [f"{p}.ln1.out", f"{p}.attn.ctx.out", f"{p}.ffn.act.out"]
        if cfg.norm == "pre" or i < cfg.n_layers - 1:
            names.append(f"{p}.ln2.out")
    return names


def second_moments(model: FloatModel, inputs: Sequence[np.ndarray]) -> dict[str, np.ndarray]:
    """``X^T X`` over the calibration tokens of every linear layer's input ``X`` (float model).

    Bit-reproducible: the float forward of :mod:`~zkinfer.model.float_model` and a serial
    fixed-order sum (:func:`~zkinfer.model._float_kernels.gram_add`: tokens added in order,
    inputs in order).

    Arguments:
        model: the float model.
        inputs: token sequences.

    Returns:
        ``point name -> (d, d)`` float64 matrix.
    """
    return _second_moments(model, _record(model, inputs))


def _second_moments(model: FloatModel, stacked: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """:func:`second_moments` from :func:`_record`'s activations (one kernel call per input
    point over all the calibration tokens)."""
    from zkinfer.model._float_kernels import gram_add

    out: dict[str, np.ndarray] = {}
    for name in _linear_inputs(model):
        x = np.ascontiguousarray(stacked[name], dtype=np.float64)
        out[name] = np.zeros((x.shape[1], x.shape[1]))
        gram_add(x, out[name])
    return out


def _inverse_factor(hess: np.ndarray) -> np.ndarray:
    """``U`` upper triangular with ``U^T U = H^-1``, ``H`` = ``hess`` (``X^T X``) with dead
    inputs' diagonal set to 1 and dampened by :data:`GPTQ_DAMP` of its mean diagonal."""
    from zkinfer.model._float_kernels import reverse_cholesky_inverse

    h = np.array(hess, dtype=np.float64)
    diag = np.diagonal(h).copy()
    dead = diag <= 0.0
    diag[dead] = 1.0
    diag = diag + GPTQ_DAMP * float(np.mean(diag))
    np.fill_diagonal(h, diag)
    return reverse_cholesky_inverse(h)


class _Hessians:
    """Second moments by input point and the GPTQ factors derived from them, each factor
    computed once per (point, input scales): ``q``, ``k`` and ``v`` share theirs."""

    def __init__(self, moments: dict[str, np.ndarray]) -> None:
        self.moments = moments
        self._factors: dict[tuple[str, bytes], np.ndarray] = {}

    def factor(self, name: str, s_in: np.ndarray) -> np.ndarray | None:
        """``U`` for the input point ``name`` seen through ``diag(s_in) W`` (the input of
        which is ``x / s_in``), or ``None`` without second moments for ``name``."""
        if name not in self.moments:
            return None
        s_in = np.ascontiguousarray(s_in, dtype=np.float64)
        key = (name, s_in.tobytes())
        if key not in self._factors:
            hess = self.moments[name]
            self._factors[key] = _inverse_factor(hess / (s_in[:, None] * s_in[None, :]))
        return self._factors[key]


def _gptq(w: np.ndarray, s_w: np.ndarray, u: np.ndarray, qmax: int) -> np.ndarray:
    """Integer weights ``round(w / s_w)`` chosen by GPTQ: each input row's rounding error is
    compensated on the later rows so that ``x @ (w - q s_w)`` stays small for inputs ``x`` with
    second moments ``H`` (``u``: :func:`_inverse_factor` of ``H``)."""
    from zkinfer.model._float_kernels import gptq_round

    return gptq_round(np.array(w, dtype=np.float64), np.asarray(s_w, dtype=np.float64), u, float(qmax))


def _weights(lin: FloatLinear, s_in: np.ndarray, q: QuantConfig,
             hess: tuple[_Hessians, str] | None = None) -> tuple[np.ndarray, ...]:
    """Per-output-channel weights of ``diag(s_in) W``: ``(W_q, b_q, s_w)``; GPTQ rounding when
    ``hess`` (the second moments and the name of the layer's input point) has that point's
    second moments, else round to nearest."""
    s_in = np.broadcast_to(s_in, (lin.w.shape[0],))
    w = lin.w * s_in[:, None]
    col = np.abs(w).max(axis=0)
    s_w = np.where(col > 0, col / _qmax(q.weight_bits), 1.0)
    u = None if hess is None else hess[0].factor(hess[1], s_in)
    if u is None:
        wq = _round(w / s_w)
    else:
        wq = _gptq(w, s_w, u, _qmax(q.weight_bits))
    return wq, _round(lin.b / s_w), s_w


def _at_least(s_out: float, acc_scale: np.ndarray, q: QuantConfig) -> float:
    """``s_out``, coarsened if needed so that ``acc_scale / s_out <= 2^(mult_bits-2)`` (shift >= 1)."""
    return max(float(s_out), float(np.max(acc_scale)) * 4.0 / _qmax(q.mult_bits))


def _linear(
    lin: FloatLinear,
    s_in: np.ndarray,
    s_out: float,
    out_bits: int,
    q: QuantConfig,
    s_res: np.ndarray | None = None,
    hess: tuple[_Hessians, str] | None = None,
) -> tuple[IntLinear, float]:
    """Quantize ``y = x @ W + b`` (+ residual) from input scale(s) to output scale ``s_out``.

    Returns the layer and the output scale actually used (``s_out``, or coarser if the
    accumulator scale is so much coarser that the multiplier would not fit).
    """
    wq, bq, s_w = _weights(lin, s_in, q, hess)
    s_out = _at_least(s_out, s_w, q)
    factors = [s_w / s_out]
    if s_res is not None:
        factors.append(np.broadcast_to(s_res, s_w.shape) / s_out)
    ms, shift = _fixed_point(factors, q.mult_bits)
    rq = Requant(ms[0], shift, -(1 << (out_bits - 1)), _qmax(out_bits))
    return IntLinear(wq, bq, rq, ms[1] if s_res is not None else None), s_out


def _layernorm(
    ln: FloatLayerNorm, s_in: float, in_bits: int, s_out: np.ndarray, out_bits: int, q: QuantConfig
) -> IntLayerNorm:
    """Integer LayerNorm parameters for an input of scale ``s_in`` and width ``in_bits``."""
    d = len(ln.gamma)
    eps = max(1, int(round(ln.eps * d / (s_in * s_in))))
    cmax = (1 << in_bits) - 1
    vbits = unsigned_bits(d * cmax * cmax + eps)
    if vbits > 58:
        raise ModelError(f"LayerNorm input of {in_bits} bits over {d} channels is too wide")
    k = min(58, vbits + 24)
    # out[c] = gamma[c] * c * sqrt(d) * rsqrt / 2^(k/2) / s_out[c] + beta[c] / s_out[c]
    half_k = math.ldexp(math.sqrt(2.0) if k % 2 else 1.0, k // 2)  # 2^(k/2), exactly rounded
    gains = ln.gamma * math.sqrt(d) / (half_k * s_out)
    (g,), shift = _fixed_point([gains], q.mult_bits)
    beta = _round(ln.beta / s_out * 2.0**shift)
    return IntLayerNorm(beta, eps, k, Requant(g, shift, -(1 << (out_bits - 1)), _qmax(out_bits)))


def _exp_table(score_scale: float, exp_bits: int) -> np.ndarray:
    """``EXP[d] = round(2^E * exp(-d * score_scale))`` up to and including the first zero."""
    last = int(math.floor((exp_bits + 1) * math.log(2.0) / score_scale)) + 2
    d = np.arange(last + 1, dtype=np.float64)
    t = np.floor(2.0**exp_bits * exp(-d * score_scale) + 0.5).astype(np.int64)
    zero = int(np.argmax(t == 0))
    return t[: zero + 1].copy()


def quantize(
    model: FloatModel,
    calibration_inputs: Sequence[np.ndarray],
    qconfig: QuantConfig | None = None,
    provenance: Provenance | None = None,
    weight_rounding: str = "nearest",
    norm_margin: float = 1.0,
) -> IntModel:
    """Quantize a float model into an :class:`IntModel` with calibrated static scales.

    The result is a deterministic function of the float weights, the calibration inputs and
    ``qconfig`` (the same bits at every thread count and on every CPU; see the module docstring).

    Arguments:
        model: the float model.
        calibration_inputs: token sequences run through the float model to set activation
            ranges.
        qconfig: bit widths (default :class:`QuantConfig`).
        provenance: where the float model came from (stored as ``IntModel.provenance``; its
            ``calibration_sha256`` must be that of ``calibration_inputs``), or ``None``.
        weight_rounding: ``"nearest"`` (round each weight to nearest) or ``"gptq"`` (round
            the weights of each linear layer with GPTQ error compensation, from the second
            moments of its input over the calibration inputs; see :func:`second_moments`).
        norm_margin: with ``norm_per_channel``, each LayerNorm output channel's range is its
            calibrated range times ``norm_margin`` (at most the tensor's calibrated range):
            headroom for inputs unlike the calibration text, whose values would otherwise be
            clipped (1 = the calibrated ranges).

    Returns:
        A validated integer model with declared widths.

    Raises:
        ModelError: no calibration data, scales that cannot be represented, or a provenance
            recording other calibration inputs.
    """
    if provenance is not None:
        if not isinstance(provenance, Provenance):
            raise ModelError("provenance must be a Provenance")
        if provenance.calibration_sha256 != token_ids_sha256(calibration_inputs):
            raise ModelError("the provenance records other calibration inputs than the ones given")
    q = qconfig or QuantConfig()
    cfg = model.config
    d, dh = cfg.d_model, cfg.d_head
    if not (isinstance(norm_margin, (int, float)) and 1.0 <= norm_margin <= 16.0):
        raise ModelError(f"norm_margin must be a number in [1, 16], got {norm_margin!r}")
    if weight_rounding not in WEIGHT_ROUNDINGS:
        raise ModelError(f"weight_rounding must be one of {WEIGHT_ROUNDINGS}, got {weight_rounding!r}")
    # one float forward per calibration input: ranges and (for GPTQ) second moments
    stacked = _record(model, calibration_inputs)
    cal = _ranges(stacked, q.calib_percentile)
    hs = _Hessians(_second_moments(model, stacked) if weight_rounding == "gptq" else {})
    del stacked

    def scale(name: str, bits: int, per_channel: bool = False) -> np.ndarray:
        amax, amax_c = cal[name]
        # per channel: headroom for values beyond the calibration's range, at most the tensor's
        s = np.minimum(amax_c * norm_margin, amax) if per_channel else np.full(len(amax_c), amax)
        return np.asarray(s / _qmax(bits), dtype=np.float64)

    scales: dict[str, np.ndarray] = {}
    emb_amax = max(float(np.abs(model.tok_emb).max()), float(np.abs(model.pos_emb).max()), 1e-8)
    s_e = emb_amax / _qmax(q.emb_bits)
    tok = _round(model.tok_emb / s_e)
    pos = _round(model.pos_emb / s_e)
    scales["emb.x"] = np.full(d, s_e)
    x_name, x_bits = "emb.x", q.emb_bits + 1
    emb_ln = final_ln = None
    n_layers = cfg.n_layers

    def norm(ln: FloatLayerNorm, name: str, src: str, src_bits: int, last: bool) -> IntLayerNorm:
        out_bits = q.out_bits if last else q.act_bits
        s_out = scale(f"{name}.out", out_bits, q.norm_per_channel)
        scales[f"{name}.out"] = s_out
        return _layernorm(ln, float(scales[src][0]), src_bits, s_out, out_bits, q)

    def feed_forward(fl: FloatLayer, p: str, h_name: str, x_name: str) -> IntFFN:
        """``up`` from column ``h_name``, activation table, ``down`` with residual ``x_name``."""
        s_u = float(scale(f"{p}.ffn.up.out", q.ffn_in_bits)[0])
        up, s_u = _linear(fl.up, scales[h_name], s_u, q.ffn_in_bits, q, hess=(hs, h_name))
        s_g = float(scale(f"{p}.ffn.act.out", q.ffn_out_bits)[0])
        scales[f"{p}.ffn.up.out"] = np.full(cfg.d_ff, s_u)
        scales[f"{p}.ffn.act.out"] = np.full(cfg.d_ff, s_g)
        # ACT[u + 2^(b-1)] = clamp(round(act(u * s_u) / s_g)) for every b-bit u
        half = 1 << (q.ffn_in_bits - 1)
        u = np.arange(-half, half, dtype=np.float64)
        act = activation_fn(cfg.activation, exact=True)(u * s_u) / s_g
        table = np.clip(_round(act), -(1 << (q.ffn_out_bits - 1)), _qmax(q.ffn_out_bits))
        s_r2 = float(scale(f"{p}.ffn.down.out", q.resid_bits)[0])
        down, s_r2 = _linear(fl.down, np.full(cfg.d_ff, s_g), s_r2, q.resid_bits, q, s_res=scales[x_name],
                              hess=(hs, f"{p}.ffn.act.out"))
        scales[f"{p}.ffn.down.out"] = np.full(d, s_r2)
        return IntFFN(up, table, q.ffn_in_bits, down)

    if cfg.block == "mlp":
        # no attention, no LayerNorm: x = rq(down(ACT(rq(up(x)))) + x), residual at resid_bits
        mlp_layers = []
        for li, fl in enumerate(model.layers):
            p = f"layer{li}"
            mlp_layers.append(IntLayer(None, None, None, feed_forward(fl, p, x_name, x_name)))
            x_name = f"{p}.ffn.down.out"
        return _finish(cfg, q, tok, pos, tuple(mlp_layers), None, None, scales[x_name], scales,
                       provenance)
    if cfg.norm == "post":
        emb_ln = norm(model.emb_ln, "emb.ln", x_name, x_bits, n_layers == 0)
        x_name, x_bits = "emb.ln.out", q.act_bits
    layers = []
    for li, fl in enumerate(model.layers):
        p = f"layer{li}"
        last = li == n_layers - 1
        if cfg.norm == "pre":
            ln1 = norm(fl.ln1, f"{p}.ln1", x_name, x_bits, False)
            h_name = f"{p}.ln1.out"
        else:
            h_name = x_name
        s_h = scales[h_name]
        lin: dict[str, tuple[IntLinear, float]] = {}
        for nm in ("q", "k", "v"):
            s_cal = float(scale(f"{p}.attn.{nm}.out", q.act_bits)[0])
            lin[nm] = _linear(getattr(fl, nm), s_h, s_cal, q.act_bits, q, hess=(hs, h_name))
        s_q, s_k = lin["q"][1], lin["k"][1]
        # the EXP table needs (E+1) ln 2 / score_scale + 2 <= 2^16 rows: coarsen s_q if not
        need = (q.exp_bits + 1) * math.log(2.0) / (MAX_TABLE_ROWS - 4) * math.sqrt(dh)
        if s_q * s_k < need:
            lin["q"] = _linear(fl.q, s_h, need / s_k, q.act_bits, q, hess=(hs, h_name))
            s_q = lin["q"][1]
        (iq, s_q), (ik, s_k), (iv, s_v) = lin["q"], lin["k"], lin["v"]
        for nm, s_nm in (("q", s_q), ("k", s_k), ("v", s_v)):
            scales[f"{p}.attn.{nm}.out"] = np.full(d, s_nm)
        table = _exp_table(s_q * s_k / math.sqrt(dh), q.exp_bits)
        # context: P @ V has scale s_v * 2^-K
        acc_scale = np.full(d, s_v * 2.0**-q.prob_bits)
        s_ctx = _at_least(float(scale(f"{p}.attn.ctx.out", q.act_bits)[0]), acc_scale, q)
        scales[f"{p}.attn.ctx.out"] = np.full(d, s_ctx)
        (cm,), cshift = _fixed_point([acc_scale / s_ctx], q.mult_bits)
        ctx = Requant(cm, cshift, -(1 << (q.act_bits - 1)), _qmax(q.act_bits))
        s_r1 = float(scale(f"{p}.attn.o.out", q.resid_bits)[0])
        io, s_r1 = _linear(fl.o, np.full(d, s_ctx), s_r1, q.resid_bits, q, s_res=scales[x_name],
                           hess=(hs, f"{p}.attn.ctx.out"))
        scales[f"{p}.attn.o.out"] = np.full(d, s_r1)
        attn = IntAttention(iq, ik, iv, io, ctx, table, q.exp_bits, q.prob_bits)
        x_name, x_bits = f"{p}.attn.o.out", q.resid_bits
        if cfg.norm == "post":
            ln1 = norm(fl.ln1, f"{p}.ln1", x_name, x_bits, False)
            x_name = h_name = f"{p}.ln1.out"
            x_bits = q.act_bits
        else:
            ln2 = norm(fl.ln2, f"{p}.ln2", x_name, x_bits, False)
            h_name = f"{p}.ln2.out"
        ffn = feed_forward(fl, p, h_name, x_name)
        x_name, x_bits = f"{p}.ffn.down.out", q.resid_bits
        if cfg.norm == "post":
            ln2 = norm(fl.ln2, f"{p}.ln2", x_name, x_bits, last)
            x_name, x_bits = f"{p}.ln2.out", q.out_bits if last else q.act_bits
        layers.append(IntLayer(ln1, attn, ln2, ffn))
    if cfg.norm == "pre":
        final_ln = norm(model.final_ln, "final_ln", x_name, x_bits, True)
        x_name = "final_ln.out"
    return _finish(cfg, q, tok, pos, tuple(layers), emb_ln, final_ln, scales[x_name], scales,
                   provenance)


def _finish(
    cfg: TransformerConfig,
    q: QuantConfig,
    tok: np.ndarray,
    pos: np.ndarray,
    layers: tuple[IntLayer, ...],
    emb_ln: IntLayerNorm | None,
    final_ln: IntLayerNorm | None,
    pooled_scale: np.ndarray,
    scales: dict[str, np.ndarray],
    provenance: Provenance | None,
) -> IntModel:
    """Assemble, validate and declare the widths of the integer model."""
    im = IntModel(
        cfg, q, tok, pos, layers, emb_ln, final_ln, q.pool_shift,
        widths={}, out_scale=pooled_scale * 2.0**-q.pool_shift, scales=scales,
        provenance=provenance,
    )  # fmt: skip
    validate(im)
    return replace(im, widths=declare_widths(im))
