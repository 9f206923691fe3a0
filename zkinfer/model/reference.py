"""The integer semantics of zkinfer's transformer, in readable numpy (the spec).

The proof constrains exactly what this module computes. The Numba forward
(:mod:`zkinfer.model.forward`) must agree with it bit for bit, column by column. All arithmetic
is on ``int64`` numpy arrays; ``>>`` on ``int64`` is the arithmetic shift (floor division by a
power of two), ``//`` is floor division. No floats are used.

Ops (``rq`` is requantization, ``clamp((pre + 2^(s-1)) >> s, lo, hi)``; ``c`` an output channel):

==============  ====================================================================================
op              integer semantics, one line each (column names relative to the op's name)
==============  ====================================================================================
embedding       ``tok = TOK[ids]``, ``pos = POS[0:n]``, ``x = tok + pos``
linear          ``acc = src @ W + b``; ``pre = acc*m[c] (+ res*res_m[c])``; ``pre + 2^(s-1) =
                q*2^s + rem``, ``0 <= rem < 2^s``; ``out = clamp(q, lo, hi)``
scores          ``scores[h,i,j] = sum_e q[i,h*dh+e] * k[j,h*dh+e]`` (no scaling: the 1/sqrt(dh)
                and both scales live in the EXP table)
softmax         ``max = max_j scores``, ``argmax`` = first ``j`` attaining it; ``diff = max -
                scores``; ``idx = min(diff, T-1)``; ``exp = EXP[idx]``; ``sum = sum_j exp``;
                ``exp*2^K = p*sum + rem``, ``0 <= rem < sum`` (``sum >= EXP[0] = 2^E > 0``)
context         ``ctx.acc[i,h*dh+e] = sum_j p[h,i,j] * v[j,h*dh+e]``; ``ctx.out = rq(acc*m[c])``
layernorm       ``sum = sum_c x``; ``sum = mean*d + mean_rem``, ``0 <= mean_rem < d``; ``c = x -
                mean``; ``var = sum_c c^2 + eps``; advice ``rsqrt`` with ``rsqrt^2*var <= 2^k <
                (rsqrt+1)^2*var`` (slacks ``rsqrt_lo``, ``rsqrt_hi >= 0``); ``z = c*rsqrt``;
                ``out = rq(z*g[c] + beta[c])``
activation      ``out = ACT[u + 2^(b-1)]`` (table of ``2^b`` rows over every ``b``-bit ``u``)
pooling         ``sum = sum_i h[i]``; ``sum*2^P = mean*n + rem``, ``0 <= rem < n``
==============  ====================================================================================

An MLP model (``config.block == "mlp"``) uses only embedding, linear, activation and pooling:
``emb``, then per block ``ffn.up`` (linear), ``ffn.act`` (activation), ``ffn.down`` (linear with
the residual ``res`` = the block input), then ``pool`` of the last ``ffn.down.out``.

LayerNorm uses the advice form of the reciprocal square root: ``rsqrt = floor(sqrt(2^k/var))``
is the unique integer with ``rsqrt^2*var <= 2^k < (rsqrt+1)^2*var``, so the proof needs two
range checks per row and no table. ``|c| <= sqrt(var)`` gives ``|z| <= 2^(k/2)``.

Every column is checked against the model's declared width as soon as it is produced;
a value outside raises :class:`~zkinfer.errors.ModelError`.
"""

from __future__ import annotations

import math

import numpy as np

from zkinfer.errors import ModelError
from zkinfer.model.intmodel import (
    IntModel,
    OpAttention,
    OpEmbed,
    OpLayerNorm,
    OpLinear,
    OpPool,
    OpTable,
    Requant,
    column_specs,
    ops,
)
from zkinfer.model.trace import Trace, check_column

__all__ = ["forward_reference", "check_ids", "requantize", "isqrt_floor_div"]


def check_ids(model: IntModel, ids: object) -> np.ndarray:
    """Validate a token sequence.

    Arguments:
        model: the model.
        ids: a 1-D integer array of token ids.

    Returns:
        ``ids`` as a C-contiguous ``int64`` array.

    Raises:
        ModelError: not a 1-D integer numpy array, empty, longer than ``max_seq_len``, or an id
            outside ``[0, vocab_size)``.
    """
    if not isinstance(ids, np.ndarray):
        raise ModelError(f"ids must be a numpy array, got {type(ids).__name__}")
    if ids.dtype.kind not in "iu":
        raise ModelError(f"ids must have an integer dtype, got {ids.dtype}")
    if ids.ndim != 1:
        raise ModelError(f"ids must be 1-D (one sequence), got shape {ids.shape}")
    cfg = model.config
    if not 1 <= ids.shape[0] <= cfg.max_seq_len:
        raise ModelError(f"sequence length {ids.shape[0]} outside [1, {cfg.max_seq_len}]")
    if int(ids.min()) < 0 or int(ids.max()) >= cfg.vocab_size:
        raise ModelError(f"token id outside the vocabulary [0, {cfg.vocab_size})")
    return np.ascontiguousarray(ids, dtype=np.int64)


def requantize(pre: np.ndarray, rq: Requant) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``q = (pre + 2^(s-1)) >> s``, ``rem = pre + 2^(s-1) - q*2^s``, ``out = clamp(q, lo, hi)``.

    Arguments:
        pre: int64 array (already multiplied by the multipliers).
        rq: shift and clamp bounds.

    Returns:
        ``(q, rem, out)``.
    """
    half = np.int64(1 << (rq.shift - 1))
    t = pre + half
    q = t >> np.int64(rq.shift)
    rem = t - (q << np.int64(rq.shift))
    return q, rem, np.clip(q, rq.lo, rq.hi)


def isqrt_floor_div(num: int, v: np.ndarray) -> np.ndarray:
    """``floor(sqrt(num / v))`` per element, exactly (``floor(sqrt(floor(a/b))) = floor(sqrt(a/b))``).

    Arguments:
        num: the numerator (``2^k``).
        v: positive int64 array.

    Returns:
        int64 array of the same shape.
    """
    return np.array([math.isqrt(num // int(x)) for x in v.ravel()], dtype=np.int64).reshape(v.shape)


def _embed(model: IntModel, ids: np.ndarray) -> dict[str, np.ndarray]:
    n = ids.shape[0]
    tok = model.tok_emb[ids]
    pos = model.pos_emb[:n].copy()
    return {"emb.tok": tok, "emb.pos": pos, "emb.x": tok + pos}


def _linear(op: OpLinear, cols: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    lin = op.lin
    x = cols[op.src]
    acc = x @ lin.w + lin.b  # integer matmul, |acc| within the declared width
    pre = acc * lin.rq.m
    if op.res is not None:
        pre = pre + cols[op.res] * lin.res_m
    q, rem, out = requantize(pre, lin.rq)
    return {f"{op.name}.acc": acc, f"{op.name}.q": q, f"{op.name}.rem": rem, f"{op.name}.out": out}


def _layernorm(op: OpLayerNorm, cols: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    ln = op.ln
    x = cols[op.src]
    d = x.shape[1]
    s = x.sum(axis=1)
    mean = s // d  # floor
    mean_rem = s - mean * d
    c = x - mean[:, None]
    var = (c * c).sum(axis=1) + ln.eps
    two_k = 1 << ln.k
    y = isqrt_floor_div(two_k, var)
    lo = two_k - y * y * var
    hi = (y + 1) * (y + 1) * var - two_k - 1
    z = c * y[:, None]
    q, rem, out = requantize(z * ln.rq.m + ln.beta, ln.rq)
    P = op.name
    return {
        f"{P}.sum": s, f"{P}.mean": mean, f"{P}.mean_rem": mean_rem, f"{P}.c": c,
        f"{P}.var": var, f"{P}.rsqrt": y, f"{P}.rsqrt_lo": lo, f"{P}.rsqrt_hi": hi,
        f"{P}.z": z, f"{P}.q": q, f"{P}.rem": rem, f"{P}.out": out,
    }  # fmt: skip


def _attention(op: OpAttention, H: int, cols: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    a = op.attn
    q, k, v = cols[op.q], cols[op.k], cols[op.v]
    n, d = q.shape
    dh = d // H
    qh = q.reshape(n, H, dh).transpose(1, 0, 2)
    kh = k.reshape(n, H, dh).transpose(1, 0, 2)
    vh = v.reshape(n, H, dh).transpose(1, 0, 2)
    scores = qh @ kh.transpose(0, 2, 1)  # (H, n, n)
    mx = scores.max(axis=2)
    argmax = scores.argmax(axis=2).astype(np.int64)  # first maximal j
    diff = mx[:, :, None] - scores
    T = len(a.exp_table)
    idx = np.minimum(diff, T - 1)
    e = a.exp_table[idx]
    ssum = e.sum(axis=2)
    num = e << np.int64(a.prob_bits)
    p = num // ssum[:, :, None]
    rem = num - p * ssum[:, :, None]
    mult = np.bincount(idx.ravel(), minlength=T).astype(np.int64)
    acc = (p @ vh).transpose(1, 0, 2).reshape(n, d)
    cq, crem, cout = requantize(acc * a.ctx.m, a.ctx)
    P = f"{op.name}.softmax"
    C = f"{op.name}.ctx"
    return {
        f"{op.name}.scores": scores, f"{P}.max": mx, f"{P}.argmax": argmax, f"{P}.diff": diff,
        f"{P}.idx": idx, f"{P}.exp": e, f"{P}.sum": ssum, f"{P}.p": p, f"{P}.rem": rem,
        f"{P}.exp_mult": mult, f"{C}.acc": acc, f"{C}.q": cq, f"{C}.rem": crem, f"{C}.out": cout,
    }  # fmt: skip


def _table(op: OpTable, cols: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    u = cols[op.src]
    i = u + (1 << (op.in_bits - 1))
    if i.min() < 0 or i.max() >= len(op.table):
        raise ModelError(f"{op.name}: table input outside the table domain")
    mult = np.bincount(i.ravel(), minlength=len(op.table)).astype(np.int64)
    return {f"{op.name}.out": op.table[i], f"{op.name}.mult": mult}


def _pool(op: OpPool, cols: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    h = cols[op.src]
    n = h.shape[0]
    s = h.sum(axis=0)
    num = s << np.int64(op.shift)
    mean = num // n
    return {"pool.sum": s, "pool.mean": mean, "pool.rem": num - mean * n}


def forward_reference(model: IntModel, ids: np.ndarray) -> Trace:
    """Run the integer forward in plain numpy and return its full trace.

    Arguments:
        model: a validated integer model.
        ids: token ids, 1-D integer array; all tokens are real (no padding).

    Returns:
        The :class:`Trace`; ``trace.output`` is the pooled integer vector.

    Raises:
        ModelError: bad input, or any column leaving its declared width.
    """
    ids = check_ids(model, ids)
    specs = column_specs(model, ids.shape[0])
    cols: dict[str, np.ndarray] = {}
    for op in ops(model):
        if isinstance(op, OpEmbed):
            new = _embed(model, ids)
        elif isinstance(op, OpLinear):
            new = _linear(op, cols)
        elif isinstance(op, OpLayerNorm):
            new = _layernorm(op, cols)
        elif isinstance(op, OpAttention):
            new = _attention(op, model.config.n_heads, cols)
        elif isinstance(op, OpTable):
            new = _table(op, cols)
        elif isinstance(op, OpPool):
            new = _pool(op, cols)
        else:  # pragma: no cover - ops() only yields the kinds above
            raise ModelError(f"unknown op {op!r}")
        for name, value in new.items():
            value = np.ascontiguousarray(value, dtype=np.int64)
            check_column(name, value, specs[name])
            cols[name] = value
    return Trace(cols, specs)
