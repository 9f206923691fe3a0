"""The float64 numpy model: weights, forward pass and calibration hooks.

This is the model *before* quantization: the accuracy yardstick for the integer forward and the
source of calibration statistics for :func:`zkinfer.model.quantize.quantize`. Weights are stored
so that a linear layer is ``y = x @ w + b`` with ``w`` of shape ``(d_in, d_out)``.

The names under which :func:`forward_float` records activations are the names of the matching
integer trace columns (``"layer0.attn.q.out"``, ``"layer0.ffn.up.out"``, ...), so float and
integer tensors can be compared point by point.
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
        return x @ self.w + self.b


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
    erfc = t * np.exp(-z * z + _ERFC_COEFFS[0] + poly)
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
    e = np.exp(x - x.max(axis=-1, keepdims=True))
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
        probs = _softmax(qh @ kh.transpose(0, 2, 1) / math.sqrt(dh))
        ctx = rec(f"{p}.attn.ctx.out", (probs @ vh).transpose(1, 0, 2).reshape(n, H * dh))
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
