"""Multi-head self-attention: scores, integer softmax and context, per head.

Semantics (``h`` a head, ``dh`` its width, ``T`` rows in the exp table):
``scores[h,i,j] = sum_e q[i,h dh+e] k[j,h dh+e]`` (no scaling: ``1/sqrt(dh)`` and both scales
live in the EXP table); ``max = max_j scores``, ``argmax`` the first ``j`` attaining it;
``diff = max - scores``; ``idx = min(diff, T-1)``; ``exp = EXP[idx]``; ``sum = sum_j exp``;
``exp 2^K = p sum + rem``, ``0 <= rem < sum`` (``sum >= EXP[0] = 2^E > 0``);
``ctx.acc[i,h dh+e] = sum_j p[h,i,j] v[j,h dh+e]``; ``ctx.out = rq(ctx.acc m[c])``.

Gadget: scores and ``ctx.acc`` by batched contractions (products of range-checked columns,
bounded by construction, so not range-checked); advice ``sel`` (the one-hot argmax), ``selsum``
(ones) and ``over = max(diff - (T - 1), 0)``; identities ``diff = max - scores``, ``sel`` boolean
and only at a maximum, one per row, ``idx = diff - over`` with ``over (T - 1 - idx) = 0``,
``exp 2^K = p sum + rem``; the slack ``sum - 1 - rem >= 0``; ``exp = EXP[idx]`` by a pair
look-up (its committed multiplicities ``.lookup_mult``: the trace's ``exp_mult`` plus the padded
entries of ``idx``, which look up row ``0``). Every product stays under ``2^40``, far below
``p / 2``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zkinfer.errors import ModelError, UnsupportedOpError
from zkinfer.model.config import QuantConfig
from zkinfer.model.ops import requant
from zkinfer.model.ops.common import (
    MAX_TABLE_ROWS,
    OpHome,
    amax,
    check_fields,
    check_table,
    lookup_multiplicities,
    max_abs,
    signed_bits,
    table_lookup,
    unsigned_bits,
)
from zkinfer.model.ops.linear import IntLinear, check_linear
from zkinfer.protocol.circuit import (
    AxisSumRel,
    ContractRel,
)
from zkinfer.protocol.constraints import Identity

__all__ = ["IntAttention", "OpAttention", "check_attention", "HOME"]


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
    ctx: requant.Requant
    exp_table: np.ndarray
    exp_bits: int
    prob_bits: int


@dataclass(frozen=True, eq=False)
class OpAttention:
    """Scores, softmax and context of one layer from the q, k, v columns."""

    name: str
    q: str
    k: str
    v: str
    attn: IntAttention


def check_attention(p: str, a: object, d: int, q: QuantConfig) -> None:
    """Type, shape and range checks of the :class:`IntAttention` of block ``p``."""
    # E and K bound 2^E (the table's first entry) and 2^K (probabilities) before they are used
    e_bits = check_fields(f"{p}.attn", a, IntAttention,
                          ints={"exp_bits": (1, 24), "prob_bits": (1, 24)})["exp_bits"]
    for nm in ("q", "k", "v", "o"):
        check_linear(f"{p}.attn.{nm}", getattr(a, nm), d, d, q, residual=nm == "o")
    requant.check(f"{p}.attn.ctx", a.ctx, d, q.mult_bits)
    t = a.exp_table
    check_table(f"{p}.attn.exp_table", t, MAX_TABLE_ROWS)
    # EXP[0] = 2^E, EXP[T-1] = 0, 0 <= EXP[d] <= 2^E
    if int(t[0]) != 1 << e_bits or int(t[-1]) != 0 or t.min() < 0 or t.max() > 1 << e_bits:
        raise ModelError(f"{p}.attn.exp_table must start at 2^E, end at 0, be in [0, 2^E]")


#: The softmax trace columns, in kernel argument order.
_SOFTMAX_COLS = ("max", "argmax", "diff", "idx", "exp", "sum", "p", "rem")


def _heads(x: np.ndarray, H: int) -> np.ndarray:
    """``(n, H dh) -> (H, n, dh)``."""
    n, d = x.shape
    return x.reshape(n, H, d // H).transpose(1, 0, 2)


class _Attention(OpHome):
    op = OpAttention

    def columns(self, op, model, n, widths, weight_widths):
        a, cfg = op.attn, model.config
        N, d = cfg.max_seq_len, cfg.d_model
        H, dh = cfg.n_heads, cfg.d_head
        qmax, kmax, vmax = (amax(widths[c]) for c in (op.q, op.k, op.v))
        smax = dh * qmax * kmax
        T = len(a.exp_table)
        E, K = a.exp_bits, a.prob_bits
        emax = int(a.exp_table.max())
        summax = N * emax
        P = f"{op.name}.softmax"
        sw = (signed_bits(-smax, smax), True)
        ctxmax = N * (1 << K) * vmax
        pre = ctxmax * max_abs(a.ctx.m)
        return [
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
            (f"{op.name}.ctx.acc", (n, d), "tensor", (signed_bits(-ctxmax, ctxmax), True),
             f"acc[i, h*{dh}+e] = sum_j p[h, i, j] * {op.v}[j, h*{dh}+e]"),
            *requant.columns(f"{op.name}.ctx", (n, d), pre, a.ctx, "acc * m[c]"),
        ]  # fmt: skip

    def reference(self, op, model, ids, cols):
        a, H = op.attn, model.config.n_heads
        qh, kh, vh = (_heads(cols[c], H) for c in (op.q, op.k, op.v))
        n, d = cols[op.q].shape
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
        cq, crem, cout = requant.requantize(acc * a.ctx.m, a.ctx)
        P = f"{op.name}.softmax"
        C = f"{op.name}.ctx"
        return {
            f"{op.name}.scores": scores, f"{P}.max": mx, f"{P}.argmax": argmax, f"{P}.diff": diff,
            f"{P}.idx": idx, f"{P}.exp": e, f"{P}.sum": ssum, f"{P}.p": p, f"{P}.rem": rem,
            f"{P}.exp_mult": mult, f"{C}.acc": acc, f"{C}.q": cq, f"{C}.rem": crem,
            f"{C}.out": cout,
        }  # fmt: skip

    def kernel(self, op, model, ids, cols):
        from zkinfer.model import _kernels as K

        a, N = op.attn, op.name
        S = f"{N}.softmax"
        K.attention(cols[op.q], cols[op.k], cols[op.v], model.config.n_heads, a.exp_table,
                    a.prob_bits, a.ctx.m, a.ctx.shift, a.ctx.lo, a.ctx.hi, cols[f"{N}.scores"],
                    *(cols[f"{S}.{c}"] for c in _SOFTMAX_COLS),
                    *(cols[f"{N}.ctx.{c}"] for c in ("acc", "q", "rem", "out")))  # fmt: skip
        K.count(cols[f"{S}.idx"], len(a.exp_table), cols[f"{S}.exp_mult"])

    def gadget(self, c, op, model, n, output):
        a, A, widths, cfg = op.attn, op.name, model.widths, model.config
        S = f"{A}.softmax"
        H, dh = cfg.n_heads, cfg.d_head
        if dh & (dh - 1):
            raise UnsupportedOpError(f"{A}: head width {dh} is not a power of two")
        q = c.trace[op.q]
        bN, bD = q.bits
        bE = dh.bit_length() - 1
        bH = bD - bE
        if (1 << bH) < H:  # pragma: no cover - d = H dh with dh a power of two
            raise UnsupportedOpError(f"{A}: head layout does not fit the padded width")
        hnn, hn = (H, n, n), (H, n)
        # scores and ctx.acc are products of range-checked columns: bounded by construction, so
        # their declared widths need no range check
        scores = c.add_trace(f"{A}.scores", hnn, None)
        # scores[h, i, j] = sum_e q[i, h dh + e] k[j, h dh + e]
        bits = (("h", bH), ("i", bN), ("j", bN), ("e", bE))
        c.add_relation(ContractRel(scores.name, ("h", "i", "j"), op.q, ("i", "h", "e"),
                                       op.k, ("j", "h", "e"), "e", "h", bits))
        T = len(a.exp_table)
        cols = {}
        for k in ("max", "diff", "idx", "exp", "sum", "p", "rem"):
            shape = hn if k in ("max", "sum") else hnn
            cols[k] = c.add_trace(f"{S}.{k}", shape, widths[f"{S}.{k}"])
        diff, idx, exp, ssum, p, rem = (cols[k].name for k in ("diff", "idx", "exp", "sum", "p",
                                                                 "rem"))
        mx = cols["max"].name
        sel = f"{S}.sel"
        # advice columns (rules: advice()): sel = onehot(argmax), selsum = 1, over
        c.add_trace(sel, hnn, None)
        c.add_trace(f"{S}.selsum", hn, None)
        c.add_trace(f"{S}.over", hnn, widths[diff])
        c.range(idx, max(1, (T - 1).bit_length()), -1, T - 1)  # idx <= T - 1
        ind3 = c.indicator(scores)
        ind2 = c.indicator(cols["max"])
        max_b = c.view(mx, 2, n)
        sum_b = c.view(ssum, 2, n)
        # slack = sum - 1 - rem >= 0 (rem <= sum - 1), linear: on every j of a real row (h, i),
        # padded j included (there rem = 0 and slack = sum - 1 >= 0 since sum >= EXP[0] > 0)
        rows = c.shape_indicator((H, n, 1 << bN))
        c.add_linear(f"{S}.slack", hnn, widths[rem], [(1, sum_b), (-1, rem)], [(-1, rows)])
        K = a.prob_bits
        nv = scores.num_vars
        for ident in (
            # diff = max - scores on the real entries
            Identity.of(f"{S} diff", (1, [diff]), (-1, [ind3, max_b]), (1, [scores.name])),
            # sel is 0/1, selects an entry where scores == max, one per row (selsum below)
            Identity.of(f"{S} sel boolean", (1, [sel, sel]), (-1, [sel])),
            Identity.of(f"{S} sel at max", (1, [sel, diff])),
            # idx = min(diff, T-1): idx = diff - over, over (T - 1 - idx) = 0
            Identity.of(f"{S} idx", (1, [idx]), (-1, [diff]), (1, [f"{S}.over"])),
            Identity.of(f"{S} idx clamp", (T - 1, [f"{S}.over"]), (-1, [f"{S}.over", idx])),
            # exp 2^K = p sum + rem, rem <= sum - 1
            Identity.of(f"{S} division", (1 << K, [exp]), (-1, [p, sum_b]), (-1, [rem])),
        ):
            c.identity(nv, ident)
        c.identity(cols["max"].num_vars,
                   Identity.of(f"{S} one max per row", (1, [f"{S}.selsum"]), (-1, [ind2])))
        c.add_relation(AxisSumRel(f"{S}.selsum", sel, 2))
        c.add_relation(AxisSumRel(ssum, exp, 2))
        # exp = EXP[idx] (pair look-up, padded table rows are 0)
        table_lookup(c, S, a.exp_table, idx, exp, 0)
        # ctx.acc[i, h dh + e] = sum_j p[h, i, j] v[j, h dh + e]
        acc = c.add_trace(f"{A}.ctx.acc", (n, cfg.d_model), None)
        c.add_relation(ContractRel(acc.name, ("i", "h", "e"), p, ("h", "i", "j"),
                                       op.v, ("j", "h", "e"), "j", "h", bits))
        m = c.broadcast(f"{A}.ctx.m", a.ctx.m, acc.bits[1])
        requant.gadget(c, f"{A}.ctx", (n, cfg.d_model), [(1, [acc.name, m])], a.ctx, widths)

    def advice(self, op, model, n):
        S = f"{op.name}.softmax"
        H, T = model.config.n_heads, len(op.attn.exp_table)

        def sel(t):
            out = np.zeros((H, n, n), dtype=np.int64)
            np.put_along_axis(out, t[f"{S}.argmax"][..., None], 1, axis=-1)
            return out

        return {f"{S}.sel": sel,
                f"{S}.selsum": lambda t: np.ones((H, n), dtype=np.int64),
                f"{S}.over": lambda t: np.maximum(t[f"{S}.diff"] - (T - 1), 0),
                f"{S}.lookup_mult": lambda t: lookup_multiplicities(t[f"{S}.exp_mult"],
                                                                     (H, n, n), 0),
                **requant.advice(f"{op.name}.ctx")}


HOME = _Attention()
