"""A debug checker: verify every identity of a trace, one relation at a time.

:func:`check_trace` re-checks a :class:`~zkinfer.model.trace.Trace` against the identities the
proof will constrain (the ``doc`` of each column), written as checks rather than computations:
``q * 2^s + rem == pre + 2^(s-1)`` with ``0 <= rem < 2^s``, ``rsqrt^2 * var <= 2^k <
(rsqrt+1)^2 * var``, ``max >= scores`` with ``scores[argmax] == max``, and so on. It names the
first relation that fails, so a proof author can see which identity a tampered or buggy trace
breaks. It is independent of how the trace was produced (reference or Numba).
"""

from __future__ import annotations

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
from zkinfer.model.trace import Trace

__all__ = ["check_trace"]


def _require(ok: object, relation: str) -> None:
    if not bool(np.all(ok)):
        raise ModelError(f"trace identity violated: {relation}")


def _check_rq(t: Trace, name: str, pre: np.ndarray, rq: Requant) -> None:
    q, rem, out = t[f"{name}.q"], t[f"{name}.rem"], t[f"{name}.out"]
    s = rq.shift
    _require(q * (1 << s) + rem == pre + (1 << (s - 1)), f"{name}: q*2^s + rem == pre + 2^(s-1)")
    _require((rem >= 0) & (rem < (1 << s)), f"{name}: 0 <= rem < 2^s")
    _require(out == np.clip(q, rq.lo, rq.hi), f"{name}: out == clamp(q, lo, hi)")


def check_trace(model: IntModel, ids: np.ndarray, trace: Trace) -> None:
    """Check every identity relating the columns of ``trace`` (and the declared widths).

    Arguments:
        model: the model the trace claims to come from.
        ids: the input token ids.
        trace: the trace.

    Raises:
        ModelError: the first violated identity, naming the op and the relation.
    """
    ids = np.asarray(ids, dtype=np.int64)
    n = ids.shape[0]
    specs = column_specs(model, n)
    if list(specs) != list(trace.specs):
        raise ModelError("trace columns do not match the model's column list")
    trace.check()
    t = trace
    H = model.config.n_heads
    for op in ops(model):
        if isinstance(op, OpEmbed):
            _require(t["emb.tok"] == model.tok_emb[ids], "emb.tok == TOK[ids]")
            _require(t["emb.pos"] == model.pos_emb[:n], "emb.pos == POS[0:n]")
            _require(t["emb.x"] == t["emb.tok"] + t["emb.pos"], "emb.x == tok + pos")
        elif isinstance(op, OpLinear):
            lin, N = op.lin, op.name
            acc = t[f"{N}.acc"]
            _require(acc == t[op.src] @ lin.w + lin.b, f"{N}.acc == {op.src} @ W + b")
            pre = acc * lin.rq.m
            if op.res is not None:
                pre = pre + t[op.res] * lin.res_m
            _check_rq(t, N, pre, lin.rq)
        elif isinstance(op, OpLayerNorm):
            ln, N = op.ln, op.name
            x = t[op.src]
            d = x.shape[1]
            s, mean, mrem = t[f"{N}.sum"], t[f"{N}.mean"], t[f"{N}.mean_rem"]
            c, var, y = t[f"{N}.c"], t[f"{N}.var"], t[f"{N}.rsqrt"]
            _require(s == x.sum(axis=1), f"{N}.sum == sum_c x")
            _require(mean * d + mrem == s, f"{N}: mean*d + mean_rem == sum")
            _require((mrem >= 0) & (mrem < d), f"{N}: 0 <= mean_rem < d")
            _require(c == x - mean[:, None], f"{N}.c == x - mean")
            _require(var == (c * c).sum(axis=1) + ln.eps, f"{N}.var == sum c^2 + eps")
            two_k = 1 << ln.k
            lo, hi = t[f"{N}.rsqrt_lo"], t[f"{N}.rsqrt_hi"]
            _require(lo == two_k - y * y * var, f"{N}.rsqrt_lo == 2^k - rsqrt^2 var")
            _require(hi == (y + 1) * (y + 1) * var - two_k - 1, f"{N}.rsqrt_hi identity")
            _require((lo >= 0) & (hi >= 0), f"{N}: rsqrt^2 var <= 2^k < (rsqrt+1)^2 var")
            _require(t[f"{N}.z"] == c * y[:, None], f"{N}.z == c * rsqrt")
            _check_rq(t, N, t[f"{N}.z"] * ln.rq.m + ln.beta, ln.rq)
        elif isinstance(op, OpAttention):
            a, N = op.attn, op.name
            S = f"{N}.softmax"
            q, k, v = t[op.q], t[op.k], t[op.v]
            dh = q.shape[1] // H
            qh = q.reshape(n, H, dh).transpose(1, 0, 2)
            kh = k.reshape(n, H, dh).transpose(1, 0, 2)
            vh = v.reshape(n, H, dh).transpose(1, 0, 2)
            sc = t[f"{N}.scores"]
            _require(sc == qh @ kh.transpose(0, 2, 1), f"{N}.scores == q_h k_h^T")
            mx, am = t[f"{S}.max"], t[f"{S}.argmax"]
            _require(sc <= mx[:, :, None], f"{S}: max >= scores")
            _require((am >= 0) & (am < n), f"{S}: 0 <= argmax < n")
            _require(
                np.take_along_axis(sc, am[:, :, None], axis=2)[:, :, 0] == mx,
                f"{S}: scores[argmax] == max",
            )
            diff, idx, e = t[f"{S}.diff"], t[f"{S}.idx"], t[f"{S}.exp"]
            last = len(a.exp_table) - 1
            _require(diff == mx[:, :, None] - sc, f"{S}.diff == max - scores")
            _require(idx == np.minimum(diff, last), f"{S}.idx == min(diff, T-1)")
            _require(e == a.exp_table[idx], f"{S}.exp == EXP[idx]")
            ssum, p, rem = t[f"{S}.sum"], t[f"{S}.p"], t[f"{S}.rem"]
            _require(ssum == e.sum(axis=2), f"{S}.sum == sum_j exp")
            _require(p * ssum[:, :, None] + rem == e * (1 << a.prob_bits), f"{S}: p*sum + rem == exp*2^K")
            _require((rem >= 0) & (rem < ssum[:, :, None]), f"{S}: 0 <= rem < sum")
            mult = np.bincount(idx.ravel(), minlength=last + 1)
            _require(t[f"{S}.exp_mult"] == mult, f"{S}.exp_mult == counts of idx")
            acc = t[f"{N}.ctx.acc"]
            _require(acc == (p @ vh).transpose(1, 0, 2).reshape(n, -1), f"{N}.ctx.acc == P @ V per head")
            _check_rq(t, f"{N}.ctx", acc * a.ctx.m, a.ctx)
        elif isinstance(op, OpTable):
            i = t[op.src] + (1 << (op.in_bits - 1))
            _require((i >= 0) & (i < len(op.table)), f"{op.name}: input in the table domain")
            _require(t[f"{op.name}.out"] == op.table[i], f"{op.name}.out == ACT[u]")
            mult = np.bincount(i.ravel(), minlength=len(op.table))
            _require(t[f"{op.name}.mult"] == mult, f"{op.name}.mult == counts of u")
        elif isinstance(op, OpPool):
            h = t[op.src]
            s, mean, rem = t["pool.sum"], t["pool.mean"], t["pool.rem"]
            _require(s == h.sum(axis=0), "pool.sum == sum_i h")
            _require(mean * n + rem == s * (1 << op.shift), "pool: mean*n + rem == sum*2^P")
            _require((rem >= 0) & (rem < n), "pool: 0 <= rem < n")
        else:  # pragma: no cover
            raise ModelError(f"unknown op {op!r}")
