"""The float64 numpy model: weights, forward pass and calibration hooks.

This is the model *before* quantization: the accuracy yardstick for the integer forward and the
source of calibration statistics for :func:`zkinfer.model.quantize.quantize`. Weights are stored
so that a linear layer is ``y = x @ w + b`` with ``w`` of shape ``(d_in, d_out)``.

The names under which :func:`forward_float` records activations are the names of the matching
integer trace columns (``"layer0.attn.q.out"``, ``"layer0.ffn.up.out"``, ...), so float and
integer tensors can be compared point by point.

The forward is bit-reproducible: the same float64 results on every IEEE-754 machine, whatever the
number of threads. Its matrix products (:func:`matmul`) add in a fixed order instead of calling
BLAS, and its exponentials (:func:`exp`, in the softmax and in :func:`erf`) use only ``+``,
``-``, ``*``, ``rint`` and ``ldexp`` instead of ``numpy.exp`` (whose SIMD code differs from the
C library's by an ulp on some CPUs); :func:`log` and :func:`cos_sin` are built the same way
for the integer Llama's calibration and tables (:mod:`zkinfer.model.int_llama`); the rest is
elementwise IEEE arithmetic, ``sqrt`` and numpy's (fixed-order, pairwise) sums. The
quantizer's activation scales, hence the integer model and its verifying key, depend on these
bits.
"""

from __future__ import annotations

import math
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field

import numpy as np

from zkinfer.errors import ModelError
from zkinfer.model.config import TransformerConfig

__all__ = [
    "FloatLinear",
    "FloatLayerNorm",
    "FloatLayer",
    "FloatModel",
    "forward_float",
    "embed_float",
    "matmul",
    "exp",
    "log",
    "cos_sin",
    "erf",
    "gelu",
    "activation_fn",
]


@dataclass(frozen=True, eq=False)
class FloatLinear:
    """``y = x @ w + b`` with ``w`` of shape ``(d_in, d_out)``."""

    w: np.ndarray
    b: np.ndarray

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return matmul(x, self.w) + self.b


@dataclass(frozen=True, eq=False)
class FloatLayerNorm:
    """``y = gamma * (x - mean) / sqrt(var + eps) + beta`` over the last axis."""

    gamma: np.ndarray
    beta: np.ndarray
    eps: float

    def __call__(self, x: np.ndarray) -> np.ndarray:
        mu = x.mean(axis=-1, keepdims=True)
        var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
        return self.gamma * (x - mu) / np.sqrt(var + self.eps) + self.beta


@dataclass(frozen=True, eq=False)
class FloatLayer:
    """One block: attention projections, FFN and its two LayerNorms.

    With ``norm="post"`` ``ln1`` follows the attention residual and ``ln2`` the FFN residual
    (BERT); with ``norm="pre"`` they precede attention and FFN. An MLP block
    (``config.block == "mlp"``) has only ``up`` and ``down``; the other fields are ``None``.
    """

    q: FloatLinear | None
    k: FloatLinear | None
    v: FloatLinear | None
    o: FloatLinear | None
    ln1: FloatLayerNorm | None
    up: FloatLinear
    down: FloatLinear
    ln2: FloatLayerNorm | None


@dataclass(frozen=True, eq=False)
class FloatModel:
    """A float64 encoder. ``pos_emb`` already includes the (single) token-type embedding.

    ``emb_ln`` is the embedding LayerNorm of post-norm models, ``final_ln`` the last LayerNorm
    of pre-norm models; the other one is ``None``. MLP models have neither.
    """

    config: TransformerConfig
    tok_emb: np.ndarray
    pos_emb: np.ndarray
    layers: tuple[FloatLayer, ...]
    emb_ln: FloatLayerNorm | None = None
    final_ln: FloatLayerNorm | None = None
    meta: dict[str, str] = field(default_factory=dict)


def matmul(a: np.ndarray, b: np.ndarray, parallel: bool = False) -> np.ndarray:
    """``a @ b`` in float64, summed in a fixed order (bit-reproducible; no BLAS).

    ``out[..., i, j] = sum_p a[..., i, p] * b[..., p, j]`` added for ``p = 0, 1, ...`` with
    every product and sum rounded once, so the bits do not depend on the CPU, the BLAS library
    or the thread count. A Numba kernel (compiled on first use).

    Arguments:
        a: ``(n, k)``, or ``(h, n, k)`` for ``h`` independent products.
        b: ``(k, m)``, or ``(h, k, m)``.
        parallel: split the rows of ``out`` across Numba's threads (products of at least
            ``2^20`` multiply-adds; smaller ones run serially); every element is still one
            thread's sum in the order above, so the result is the same bits as the serial
            kernel's at any thread count.

    Returns:
        float64 ``(n, m)`` (or ``(h, n, m)``).

    Raises:
        ModelError: shapes that do not multiply.
    """
    from zkinfer.model._float_kernels import matmul_into, matmul_into_parallel

    a = np.ascontiguousarray(a, dtype=np.float64)
    b = np.ascontiguousarray(b, dtype=np.float64)
    kernel = matmul_into_parallel if parallel and a.size * b.shape[-1] >= 1 << 20 else matmul_into
    if a.ndim == b.ndim == 2 and a.shape[1] == b.shape[0]:
        out = np.empty((a.shape[0], b.shape[1]), dtype=np.float64)
        kernel(a, b, out)
        return out
    if a.ndim == b.ndim == 3 and a.shape[0] == b.shape[0] and a.shape[2] == b.shape[1]:
        out = np.empty((a.shape[0], a.shape[1], b.shape[2]), dtype=np.float64)
        for h in range(a.shape[0]):
            kernel(a[h], b[h], out[h])
        return out
    raise ModelError(f"cannot multiply shapes {a.shape} and {b.shape}")


_LOG2E = 1.4426950408889634
# ln 2 = _LN2_HI + _LN2_LO with the low 32 bits of _LN2_HI zero, so k * _LN2_HI is exact (fdlibm)
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
# 1/n! for n = 13 ... 2: Taylor terms of exp(r) beyond 1 + r, |r| <= ln(2)/2 (truncation < 1e-17)
_INV_FACT = tuple(1.0 / math.factorial(n) for n in range(13, 1, -1))


def exp(x: np.ndarray) -> np.ndarray:
    """Elementwise ``e^x`` from basic float64 operations only (bit-reproducible).

    ``x = k ln 2 + r`` with ``k = rint(x / ln 2)`` (Cody-Waite: ``ln 2`` in two parts),
    ``e^r`` by its Taylor polynomial of degree 13 in Horner form, then ``ldexp(e^r, k)``. Every
    step is an IEEE-754 operation with one rounding, so the bits are the same on every machine
    (``numpy.exp`` uses CPU-specific SIMD code); the error is within a few ulp of ``e^x``.
    Underflows to 0 below about -745 and overflows to ``inf`` above about 709.8.

    Arguments:
        x: float array (finite or infinite; NaN propagates).

    Returns:
        ``e^x`` elementwise, float64.
    """
    x = np.asarray(x, dtype=np.float64)
    xc = np.clip(x, -1100.0, 1100.0)  # beyond: 0 or inf, and ldexp's exponent stays small
    k = np.rint(xc * _LOG2E)
    k = np.where(np.isnan(k), 0.0, k)
    r = (xc - k * _LN2_HI) - k * _LN2_LO
    p = np.full_like(r, _INV_FACT[0])
    for c in _INV_FACT[1:]:
        p = p * r + c
    p = (p * r + 1.0) * r + 1.0
    out = np.ldexp(p, k.astype(np.int32))
    return np.where(np.isnan(x), x, out)


# 1/(2j+1) for j = 12 ... 1: ln m = 2 atanh(s) = 2 (s + s^3/3 + ... + s^25/25 + ...), |s| <= 0.172
# (the first term left out is below 2^-60 of the sum)
_INV_ODD = tuple(1.0 / (2 * j + 1) for j in range(12, 0, -1))
_SQRT_HALF = 0.7071067811865476  # the double nearest sqrt(1/2); only splits the range


def log(x: np.ndarray | float) -> np.ndarray:
    """Elementwise natural logarithm of positive finite floats from basic operations only
    (bit-reproducible, like :func:`exp`).

    ``x = m 2^e`` exactly (``frexp``, ``m`` moved into ``[sqrt(1/2), sqrt(2))``), ``s = (m - 1)
    / (m + 1)``, ``ln m = 2 atanh(s)`` by its odd series to ``s^25`` in Horner form, ``ln x = e
    ln2_hi + (e ln2_lo + ln m)`` (``e ln2_hi`` exact). Within a couple of ulp of ``ln x``.

    Arguments:
        x: positive finite floats.

    Returns:
        ``ln x`` elementwise, float64.

    Raises:
        ModelError: a value that is not positive and finite.
    """
    x = np.asarray(x, dtype=np.float64)
    if not np.all(np.isfinite(x) & (x > 0.0)):
        raise ModelError("log needs positive finite values")
    m, e = np.frexp(x)  # m in [1/2, 1)
    low = m < _SQRT_HALF
    m = np.where(low, 2.0 * m, m)
    e = np.where(low, e - 1, e).astype(np.float64)
    s = (m - 1.0) / (m + 1.0)  # m - 1 is exact (Sterbenz)
    z = s * s
    p = np.full_like(s, _INV_ODD[0])
    for c in _INV_ODD[1:]:
        p = p * z + c
    ln_m = 2.0 * s + 2.0 * s * (z * p)
    return e * _LN2_HI + (e * _LN2_LO + ln_m)


# pi/2 = _PIO2_1 + _PIO2_2 + _PIO2_3 + _PIO2_3T: the first three hold 33 bits each (their low 20
# bits are zero, so k * part is exact for |k| < 2^20), the last the next 53 (Cody-Waite; the
# split that fdlibm uses, derived here from pi to 75 digits)
_PIO2_1 = float.fromhex("0x1.921fb54400000p+0")
_PIO2_2 = float.fromhex("0x1.0b4611a600000p-34")
_PIO2_3 = float.fromhex("0x1.3198a2e000000p-69")
_PIO2_3T = float.fromhex("0x1.b839a252049c1p-104")
_INV_PIO2 = 0.6366197723675814  # 2/pi, only chooses the quadrant
_TRIG_LIMIT = 2.0**20
# Taylor coefficients, highest first: sin y = y + y z (-1/3! + z/5! - ... - z^8/19!), and
# cos y = 1 - z/2 + z^2 (1/4! - z/6! + ... + z^8/20!), z = y^2, |y| <= pi/4 (truncation < 2^-62)
_SIN_C = tuple((-1.0) ** j / math.factorial(2 * j + 1) for j in range(9, 0, -1))
_COS_C = tuple((-1.0) ** j / math.factorial(2 * j) for j in range(10, 1, -1))


def _two_sum(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``s + e == a + b`` exactly with ``s = fl(a + b)`` (Knuth)."""
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def cos_sin(x: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """Elementwise ``(cos x, sin x)`` from basic float64 operations only (bit-reproducible,
    like :func:`exp`; ``numpy.cos``/``numpy.sin`` use CPU-specific SIMD code).

    Range reduction: ``k = rint(2x / pi)``, ``y = x - k pi/2`` with ``pi/2`` in four parts
    (the first three products exact, the differences carried as an exact sum ``hi + lo``);
    then Taylor polynomials of degree 19 (sine) and 20 (cosine) on ``|y| <= pi/4`` with ``lo``
    as a first-order correction, and the quadrant ``k mod 4`` picks signs and order. Each
    step is an IEEE-754 operation with one rounding, so the bits are the same on every machine;
    the results are within a couple of ulp of ``cos x`` and ``sin x``.

    Arguments:
        x: finite floats with ``|x| <= 2^20`` (RoPE angles: a position times a frequency of
            at most 1).

    Returns:
        ``(cos x, sin x)``, float64 arrays of ``x``'s shape.

    Raises:
        ModelError: a value that is not finite or beyond ``2^20`` in magnitude.
    """
    x = np.asarray(x, dtype=np.float64)
    if not np.all(np.abs(x) <= _TRIG_LIMIT):  # also false for NaN
        raise ModelError(f"cos_sin needs finite values of magnitude at most 2^20 = {_TRIG_LIMIT:.0f}")
    k = np.rint(x * _INV_PIO2)
    r = x - k * _PIO2_1  # exact: k pi/2 within a factor 2 of x when k != 0
    hi, lo = _two_sum(r, -(k * _PIO2_2))
    hi, lo2 = _two_sum(hi, -(k * _PIO2_3))
    lo = (lo + lo2) - k * _PIO2_3T
    y = hi + lo
    lo = (hi - y) + lo  # y + lo == hi + lo up to the rounding of lo (|y| >= |lo|)
    z = y * y
    ps = np.full_like(y, _SIN_C[0])
    for c in _SIN_C[1:]:
        ps = ps * z + c
    sin_y = y + ((y * z) * ps + lo * (1.0 - 0.5 * z))
    pc = np.full_like(y, _COS_C[0])
    for c in _COS_C[1:]:
        pc = pc * z + c
    hz = 0.5 * z
    w = 1.0 - hz
    cos_y = w + (((1.0 - w) - hz) + ((z * z) * pc - y * lo))  # 1 - w is exact; keeps its error
    quadrant = np.mod(k, 4.0)
    cos = np.select([quadrant == 0.0, quadrant == 1.0, quadrant == 2.0], [cos_y, -sin_y, -cos_y], sin_y)
    sin = np.select([quadrant == 0.0, quadrant == 1.0, quadrant == 2.0], [sin_y, cos_y, -sin_y], -cos_y)
    return cos, sin


# erf(x) = 1 - erfc(x); erfc by the Chebyshev-fitted formula of Numerical Recipes (fractional
# error below 1.2e-7 everywhere), vectorised. Only the float yardstick uses it; tables use math.erf.
_ERFC_COEFFS = (
    -1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806,
    0.27886807, -1.13520398, 1.48851587, -0.82215223, 0.17087277,
)  # fmt: skip


def erf(x: np.ndarray) -> np.ndarray:
    """Vectorised error function (absolute error below 1.3e-7).

    Arguments:
        x: float array.

    Returns:
        ``erf(x)`` elementwise, float64.
    """
    x = np.asarray(x, dtype=np.float64)
    z = np.abs(x)
    t = 1.0 / (1.0 + 0.5 * z)
    poly = np.zeros_like(t)
    for c in reversed(_ERFC_COEFFS[1:]):
        poly = t * (c + poly)
    erfc = t * exp(-z * z + _ERFC_COEFFS[0] + poly)
    return np.where(x >= 0, 1.0 - erfc, erfc - 1.0)


def gelu(x: np.ndarray) -> np.ndarray:
    """Exact (erf) GELU, ``x * (1 + erf(x / sqrt 2)) / 2``, as BERT uses.

    Arguments:
        x: float array.

    Returns:
        GELU of ``x`` elementwise.
    """
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


def _gelu_exact_scalar(x: float) -> float:
    return 0.5 * x * (1.0 + math.erf(x / math.sqrt(2.0)))


def activation_fn(name: str, exact: bool = False) -> Callable[[np.ndarray], np.ndarray]:
    """The float activation function called ``name``.

    Arguments:
        name: ``"gelu"`` or ``"relu"``.
        exact: use ``math.erf`` element by element (slow; for building tables).

    Returns:
        A function on float64 arrays.

    Raises:
        ModelError: unknown activation.
    """
    if name == "gelu":
        if exact:
            vec = np.frompyfunc(_gelu_exact_scalar, 1, 1)
            return lambda x: vec(np.asarray(x, dtype=np.float64)).astype(np.float64)
        return gelu
    if name == "relu":
        return lambda x: np.maximum(np.asarray(x, dtype=np.float64), 0.0)
    raise ModelError(f"unknown activation {name!r}")


def _softmax(x: np.ndarray) -> np.ndarray:
    e = exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def forward_float(
    model: FloatModel,
    ids: np.ndarray,
    record: MutableMapping[str, list[np.ndarray]] | None = None,
) -> np.ndarray:
    """Float64 forward of one sequence (all tokens real, no padding).

    Arguments:
        model: the float model.
        ids: token ids, shape ``(n,)``, ``1 <= n <= max_seq_len``.
        record: if given, activations are appended to ``record[name]`` under the names of the
            matching integer trace columns (for calibration and debugging).

    Returns:
        The final hidden states, float64 of shape ``(n, d_model)``.

    Raises:
        ModelError: bad token ids or sequence length.
    """
    cfg = model.config
    ids = np.asarray(ids)
    if ids.ndim != 1 or not 1 <= ids.shape[0] <= cfg.max_seq_len:
        raise ModelError(f"ids must have shape (n,) with 1 <= n <= {cfg.max_seq_len}")
    if ids.min() < 0 or ids.max() >= cfg.vocab_size:
        raise ModelError("token id outside the vocabulary")
    n = ids.shape[0]
    H, dh = cfg.n_heads, cfg.d_head

    def rec(name: str, value: np.ndarray) -> np.ndarray:
        if record is not None:
            record.setdefault(name, []).append(value)
        return value

    act = activation_fn(cfg.activation)
    x = rec("emb.x", model.tok_emb[ids] + model.pos_emb[:n])
    if cfg.block == "mlp":
        # per block x = x + down(act(up(x))); no attention, no LayerNorm
        for li, layer in enumerate(model.layers):
            p = f"layer{li}"
            u = rec(f"{p}.ffn.up.out", layer.up(x))
            g = rec(f"{p}.ffn.act.out", act(u))
            x = rec(f"{p}.ffn.down.out", x + layer.down(g))
        return x
    if cfg.norm == "post":
        if model.emb_ln is None:
            raise ModelError("post-norm model without an embedding LayerNorm")
        x = rec("emb.ln.out", model.emb_ln(x))
    for li, layer in enumerate(model.layers):
        p = f"layer{li}"
        if layer.q is None or layer.k is None or layer.v is None or layer.o is None:
            raise ModelError(f"transformer block {p} without attention weights")
        if layer.ln1 is None or layer.ln2 is None:
            raise ModelError(f"transformer block {p} without LayerNorms")
        h = rec(f"{p}.ln1.out", layer.ln1(x)) if cfg.norm == "pre" else x
        q = rec(f"{p}.attn.q.out", layer.q(h))
        k = rec(f"{p}.attn.k.out", layer.k(h))
        v = rec(f"{p}.attn.v.out", layer.v(h))
        qh = q.reshape(n, H, dh).transpose(1, 0, 2)
        kh = k.reshape(n, H, dh).transpose(1, 0, 2)
        vh = v.reshape(n, H, dh).transpose(1, 0, 2)
        probs = _softmax(matmul(qh, kh.transpose(0, 2, 1)) / math.sqrt(dh))
        ctx = rec(f"{p}.attn.ctx.out", matmul(probs, vh).transpose(1, 0, 2).reshape(n, H * dh))
        # residual: post-norm adds the block input h (== x), pre-norm adds the stream x
        x = rec(f"{p}.attn.o.out", x + layer.o(ctx))
        if cfg.norm == "post":
            x = rec(f"{p}.ln1.out", layer.ln1(x))
            h = x
        else:
            h = rec(f"{p}.ln2.out", layer.ln2(x))
        u = rec(f"{p}.ffn.up.out", layer.up(h))
        g = rec(f"{p}.ffn.act.out", act(u))
        x = rec(f"{p}.ffn.down.out", x + layer.down(g))
        if cfg.norm == "post":
            x = rec(f"{p}.ln2.out", layer.ln2(x))
    if cfg.norm == "pre":
        if model.final_ln is None:
            raise ModelError("pre-norm model without a final LayerNorm")
        x = rec("final_ln.out", model.final_ln(x))
    return x


def embed_float(model: FloatModel, ids: np.ndarray) -> np.ndarray:
    """L2-normalised mean-pooled float64 embedding of one sequence.

    Arguments:
        model: the float model.
        ids: token ids, shape ``(n,)``.

    Returns:
        float64 vector of length ``d_model`` with unit norm.
    """
    pooled = forward_float(model, ids).mean(axis=0)
    return pooled / max(float(np.linalg.norm(pooled)), 1e-12)
