"""Causal grouped-query attention of the decoder: scores, masked integer softmax and context.

Layout (``G`` kv heads, ``g`` query slots per kv head, ``H = G g`` slots, ``dh`` the head width,
``g`` and ``dh`` powers of two): ``q`` is ``(n, H dh)``, slot ``h = kv g + j`` reads kv head
``kv = h // g`` of ``k`` and ``v``, both ``(n, G dh)``. Row ``i`` is position ``i`` and sees the
keys ``j <= i``.

Semantics (exactly :func:`zkinfer.model.int_llama.attention` on the heads of these columns, with
``q_pos = 0 .. n-1``; ``T`` rows in the exp table, ``s`` the score shift, ``N = max_seq_len``):

- ``scores[h, i, j] = sum_e q[i, h dh + e] k[j, (h // g) dh + e]`` (every ``j``);
- ``max[h, i] = max_{j <= i} scores``; ``argmax`` the first such ``j`` attaining it;
- ``diff = max - scores`` on the visible entries (``j <= i``), ``0`` on the masked ones;
- ``idx_q = (diff + 2^(s-1)) >> s``, ``idx_rem`` its remainder (``s = 0``: ``idx_q = diff``,
  ``idx_rem = 0``); ``idx = min(idx_q, T - 1)`` on the visible entries, ``T - 1`` on the
  masked ones, so that ``exp = EXP[idx]`` is ``0`` there;
- ``sum = sum_j exp``; ``exp 2^K = p sum + rem``, ``0 <= rem < sum``;
- ``ctx.acc[i, h dh + e] = sum_j p[h, i, j] v[j, (h // g) dh + e]``; ``ctx.out = rq(acc m[c])``.

Gadget. Committed: ``scores``, ``max``, ``diff``, ``idx_q`` and ``idx_rem`` (only for
``s > 0``; for ``s = 0`` they are ``diff`` and ``0`` and stay out of the circuit, like
``argmax``), ``idx``, ``exp``, ``sum``, ``p``, ``rem``, ``ctx.acc`` (range-checked at its
declared width ``2^K V``, which keeps the requantization's ``acc m`` below ``2^62``), the
requantization's columns, and the advice ``sel`` (one-hot of ``argmax``), ``selsum`` (ones),
``over = max(idx_q - (T - 1), 0)`` and ``lookup_mult``. Public: the causal mask ``M``, a
:class:`~zkinfer.protocol.constraints.Grid` over the ``(i, j)`` bits, ``1`` where
``j <= i < n``; ``Ind`` the indicator of the real ``(H, n, n)`` block (``Ind M``: the visible
entries of the real slots, ``Ind - Ind M`` the masked ones).

- ``scores`` and ``ctx.acc`` by :class:`~zkinfer.protocol.circuit.ContractRel` with ``k``, ``v``
  read through :meth:`~zkinfer.protocol.circuit.Circuit.regroup_view` as ``(n, G, g, dh)``
  (kv head ``kv`` broadcast over its ``g`` slots: the view's bits ``(row, kv, slot, e)`` are
  the q layout's ``(row, h, e)``);
- ``diff = M (max - scores)`` (``|.| <= 2^(bits diff) + 2 S``, ``S = dh Q K``);
- ``sel^2 = sel``; ``sel (Ind - M) = 0``; ``sel diff = 0``; ``selsum = sum_j sel`` (axis sum)
  and ``selsum = Ind_rows``;
- ``s > 0``: ``diff + 2^(s-1) Ind = idx_q 2^s + idx_rem``, ``0 <= idx_rem < 2^s``;
- ``idx = idx_q - over + (T - 1)(Ind - Ind M)``; ``over (T - 1 - idx) = 0``;
  ``0 <= idx <= T - 1``, ``over >= 0`` (range checks);
- ``exp = EXP[idx]`` (pair look-up, padded entries at row ``0``);
- ``sum = sum_j exp`` (axis sum); ``exp 2^K = p sum + rem``; ``sum - 1 - rem >= 0`` on every
  ``j`` of a real row (the linear slack, range-checked);
- ``ctx.out = rq(acc m[c])`` (:mod:`zkinfer.model.ops.requant`).

Every identity's bound is below ``2^62`` at SmolLM2's widths and far below ``p / 2``;
:func:`zkinfer.protocol.bounds.check_field_bounds` checks them from the range checks.

Soundness (integers, given the range checks, so that every identity is the integer one):

- *max is the maximum over the visible keys.* ``diff >= 0`` and ``diff = max - scores`` on the
  visible entries, so ``max >= scores[j]`` for every ``j <= i``. ``sel`` is boolean, zero on the
  masked entries (``sel (Ind - M) = 0``; its padding is proven zero) and sums to ``1`` on each
  real row (a sum of at most ``2^b`` booleans, below ``p``), so it picks exactly one visible
  ``j``; there ``sel diff = 0`` gives ``max = scores[j]``. A row always has a visible key
  (``j = i``).
- *masked entries contribute 0.* There ``diff = 0`` (``M = 0``), so ``idx_q = 0`` (for
  ``s > 0`` the rounding identity reads ``2^(s-1) = idx_q 2^s + idx_rem`` with
  ``0 <= idx_rem < 2^s``, ``idx_q >= 0``), the idx identity gives ``idx = T - 1 - over`` and the
  clamp identity ``over^2 = 0``, so ``over = 0`` and ``idx = T - 1``, ``exp = EXP[T-1] = 0``,
  and ``0 = p sum + rem`` with ``sum > 0``, ``p, rem >= 0`` forces ``p = rem = 0``.
- *the visible entries follow the semantics.* The rounding identity with
  ``0 <= idx_rem < 2^s`` and ``idx_q >= 0`` makes ``idx_q = (diff + 2^(s-1)) >> s``;
  ``idx = idx_q - over`` with ``over >= 0``, ``0 <= idx <= T - 1`` and
  ``over (T - 1 - idx) = 0`` makes ``idx = min(idx_q, T - 1)``; the look-up ``exp = EXP[idx]``.
- *sum >= 2^E > 0.* At the selected entry ``diff = 0``, so ``idx_q = 0``, ``idx = 0`` and
  ``exp = EXP[0] = 2^E``; every other ``exp`` is a table entry, ``>= 0``. Hence the division
  ``exp 2^K = p sum + rem`` with ``0 <= rem <= sum - 1`` and ``p >= 0`` makes
  ``p = floor(exp 2^K / sum)``, and ``sum_j p <= 2^K``, so ``|ctx.acc| <= 2^K V`` (the range
  check of ``ctx.acc`` at that width never rejects an honest trace).
- *grouped queries.* The contractions read ``k`` and ``v`` through the regrouped views, whose
  claims are claims on ``k`` and ``v`` at the point without the slot coordinates: slot ``h``
  is multiplied with kv head ``h // g`` and no other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from zkinfer.errors import ModelError, UnsupportedOpError
from zkinfer.model.ops import requant
from zkinfer.model.ops.common import (
    MAX_BITS,
    MAX_TABLE_ROWS,
    OpHome,
    amax,
    check_fields,
    check_int,
    check_table,
    check_type,
    lookup_multiplicities,
    signed_bits,
    table_lookup,
    unsigned_bits,
)
from zkinfer.protocol.circuit import AxisSumRel, ContractRel, padded_bits
from zkinfer.protocol.constraints import Grid, Identity

if TYPE_CHECKING:  # int_llama imports the op modules: a run-time import here would be a cycle
    from zkinfer.model.int_llama import IntAttention

__all__ = ["OpCausalAttention", "check_causal_attention", "causal_mask", "HOME"]

#: Multipliers of the context requantization have at most this many signed bits
#: (:class:`~zkinfer.model.int_llama.LlamaQuantConfig` allows ``mult_bits <= 40``).
CTX_MULT_BITS = 40


@dataclass(frozen=True, eq=False)
class OpCausalAttention:
    """Causal grouped-query attention of one decoder block from its q, k, v columns.

    Attributes:
        name: column prefix.
        q: the ``(n, kv_heads group head_dim)`` query column (rotated).
        k: the ``(n, kv_heads head_dim)`` key column (rotated).
        v: the ``(n, kv_heads head_dim)`` value column.
        attn: softmax and context parameters.
        kv_heads: ``G``.
        group: ``g``: query slots per kv head (a power of two).
        head_dim: ``dh`` (a power of two).
        max_seq_len: ``N``: the longest sequence (the widths are worst cases at ``n = N``).
    """

    name: str
    q: str
    k: str
    v: str
    attn: IntAttention
    kv_heads: int
    group: int
    head_dim: int
    max_seq_len: int


def _pow2(name: str, value: object, hi: int) -> int:
    v = check_int(name, value, 1, hi)
    if v & (v - 1):
        raise ModelError(f"{name} = {v} is not a power of two")
    return v


def check_causal_attention(op: object) -> None:
    """Type, shape and range checks of an :class:`OpCausalAttention` and its parameters.

    Raises:
        ModelError: a field of the wrong type, a non-power-of-two ``group`` or ``head_dim``, an
            exp table not starting at ``2^E``, ending at ``0`` and within ``[0, 2^E]``, or a
            context requantization of the wrong width.
    """
    from zkinfer.model.int_llama import IntAttention

    check_type("causal attention", op, OpCausalAttention)
    p = op.name
    G = check_int(f"{p}.kv_heads", op.kv_heads, 1, 1 << 12)
    g = _pow2(f"{p}.group", op.group, 1 << 12)
    dh = _pow2(f"{p}.head_dim", op.head_dim, 1 << 16)
    check_int(f"{p}.max_seq_len", op.max_seq_len, 1, 1 << 24)
    e_bits = check_fields(f"{p}.attn", op.attn, IntAttention, ints={
        "exp_bits": (1, 24), "prob_bits": (1, 24), "score_shift": (0, MAX_BITS - 2)})["exp_bits"]
    a = op.attn
    requant.check(f"{p}.attn.ctx", a.ctx, G * g * dh, CTX_MULT_BITS)
    check_table(f"{p}.attn.exp_table", a.exp_table, MAX_TABLE_ROWS)
    t = a.exp_table
    if int(t[0]) != 1 << e_bits or int(t[-1]) != 0 or t.min() < 0 or t.max() > 1 << e_bits:
        raise ModelError(f"{p}.attn.exp_table must start at 2^E, end at 0, be in [0, 2^E]")


def causal_mask(n: int) -> np.ndarray:
    """The ``(2^b, 2^b)`` 0/1 table, ``2^b >= n``: ``1`` where ``j <= i < n``."""
    size = 1 << padded_bits((n,))[0]
    i = np.arange(size)[:, None]
    j = np.arange(size)[None, :]
    return ((j <= i) & (i < n)).astype(np.int64)


def _inputs(op: OpCausalAttention, cols) -> tuple:
    """``(attn, (G, g, dh, H), (q, k, v), n)``: the op's parameters (checked) and its input
    columns as int64, of the shapes the op reads, ``1 <= n <= max_seq_len`` rows.

    Raises:
        ModelError: invalid parameters or input shapes.
    """
    check_causal_attention(op)
    G, g, dh = op.kv_heads, op.group, op.head_dim
    H = G * g
    q, k, v = (np.asarray(cols[c], dtype=np.int64) for c in (op.q, op.k, op.v))
    n = q.shape[0]
    if q.shape != (n, H * dh) or k.shape != (n, G * dh) or v.shape != (n, G * dh):
        raise ModelError(f"{op.name}: q, k, v shapes {q.shape}, {k.shape}, {v.shape} do not "
                         f"match {G} kv heads x {g} slots of width {dh}")
    if not 1 <= n <= op.max_seq_len:
        raise ModelError(f"{op.name}: {n} rows outside [1, {op.max_seq_len}]")
    return op.attn, (G, g, dh, H), (q, k, v), n


def _exact_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` of int64 stacks, exact: in float64 BLAS when every partial sum is below
    ``2^53`` (bounded by the entries' magnitudes and the inner size), else in int64."""
    top = (int(np.abs(a).max(initial=0)) * int(np.abs(b).max(initial=0))) * a.shape[-1]
    if top < 1 << 53:
        return np.matmul(a.astype(np.float64), b.astype(np.float64)).astype(np.int64)
    return np.matmul(a, b)


class _CausalAttention(OpHome):
    op = OpCausalAttention

    def columns(self, op, model, n, widths, weight_widths):
        check_causal_attention(op)
        a = op.attn
        G, g, dh, N = op.kv_heads, op.group, op.head_dim, op.max_seq_len
        H = G * g
        Q, Kw, V = (amax(widths[c]) for c in (op.q, op.k, op.v))
        smax = dh * Q * Kw
        T, E, K, s = len(a.exp_table), a.exp_bits, a.prob_bits, a.score_shift
        emax = int(a.exp_table.max())
        acc_bound = (1 << K) * V
        pre = acc_bound * int(np.abs(a.ctx.m).max())
        A, S = op.name, f"{op.name}.softmax"
        sw = (signed_bits(-smax, smax), True)
        hnn, hn = (H, n, n), (H, n)
        return [
            (f"{A}.scores", hnn, "tensor", sw,
             f"scores[h, i, j] = sum_e {op.q}[i, h*{dh}+e] * {op.k}[j, (h//{g})*{dh}+e]"),
            (f"{S}.max", hn, "advice", sw, "max[h, i] = max_{j <= i} scores[h, i, j]"),
            (f"{S}.argmax", hn, "advice", (unsigned_bits(N - 1), False),
             "argmax[h, i] = first j <= i with scores[h, i, j] == max[h, i]"),
            (f"{S}.diff", hnn, "tensor", (unsigned_bits(2 * smax), False),
             "diff = max[h, i] - scores[h, i, j] for j <= i, 0 for j > i"),
            (f"{S}.idx_q", hnn, "advice", (unsigned_bits(((2 * smax) >> s) + 1), False),
             f"idx_q = (diff + 2^{s - 1}) >> {s}" if s else "idx_q = diff"),
            (f"{S}.idx_rem", hnn, "advice", (max(s, 1), False),
             f"idx_rem = diff + 2^{s - 1} - idx_q * 2^{s}" if s else "idx_rem = 0"),
            (f"{S}.idx", hnn, "tensor", (unsigned_bits(T - 1), False),
             f"idx = min(idx_q, {T - 1}) for j <= i, {T - 1} for j > i"),
            (f"{S}.exp", hnn, "tensor", (unsigned_bits(emax), False),
             f"exp = EXP[idx] (table of {T} rows, EXP[0] = 2^{E}, EXP[{T - 1}] = 0)"),
            (f"{S}.sum", hn, "advice", (unsigned_bits(N * emax), False),
             "sum[h, i] = sum_j exp[h, i, j]"),
            (f"{S}.p", hnn, "tensor", (unsigned_bits(1 << K), False),
             f"p = floor(exp * 2^{K} / sum)"),
            (f"{S}.rem", hnn, "advice", (unsigned_bits(N * emax - 1), False),
             f"rem = exp * 2^{K} - p * sum, 0 <= rem < sum"),
            (f"{S}.exp_mult", (T,), "multiplicity", (unsigned_bits(H * N * N), False),
             "exp_mult[t] = #{(h, i, j): idx[h, i, j] == t}"),
            (f"{A}.ctx.acc", (n, H * dh), "tensor", (signed_bits(-acc_bound, acc_bound), True),
             f"acc[i, h*{dh}+e] = sum_j p[h, i, j] * {op.v}[j, (h//{g})*{dh}+e]"),
            *requant.columns(f"{A}.ctx", (n, H * dh), pre, a.ctx, "acc * m[c]"),
        ]  # fmt: skip

    def reference(self, op, model, ids, cols):
        """The columns of :func:`zkinfer.model.int_llama.attention` (positions ``0 .. n-1``).

        Raises:
            ModelError: invalid parameters, input shapes that do not match the op, or more than
                ``max_seq_len`` rows.
        """
        a, (G, g, dh, H), (q, k, v), n = _inputs(op, cols)
        qh = q.reshape(n, H, dh).transpose(1, 0, 2)
        # slot h reads kv head h // g: repeat every kv head g times
        kh = np.repeat(k.reshape(n, G, dh).transpose(1, 0, 2), g, axis=0)
        vh = np.repeat(v.reshape(n, G, dh).transpose(1, 0, 2), g, axis=0)
        scores = _exact_matmul(qh, kh.transpose(0, 2, 1))  # (H, n, n)
        visible = np.tril(np.ones((n, n), dtype=bool))[None]
        low = np.where(visible, scores, np.iinfo(np.int64).min)
        mx = low.max(axis=2)
        argmax = low.argmax(axis=2).astype(np.int64)  # first maximal visible j
        diff = np.where(visible, mx[:, :, None] - scores, 0)
        s, T = a.score_shift, len(a.exp_table)
        if s > 0:
            shifted = diff + np.int64(1 << (s - 1))
            idx_q = shifted >> np.int64(s)
            idx_rem = shifted - (idx_q << np.int64(s))
        else:
            idx_q, idx_rem = diff.copy(), np.zeros_like(diff)
        idx = np.where(visible, np.minimum(idx_q, T - 1), T - 1)
        e = a.exp_table[idx]
        ssum = e.sum(axis=2)
        num = e << np.int64(a.prob_bits)
        p = num // ssum[:, :, None]
        rem = num - p * ssum[:, :, None]
        mult = np.bincount(idx.ravel(), minlength=T).astype(np.int64)
        acc = _exact_matmul(p, vh).transpose(1, 0, 2).reshape(n, H * dh)
        cq, crem, cout = requant.requantize(acc * a.ctx.m, a.ctx)
        A, S, C = op.name, f"{op.name}.softmax", f"{op.name}.ctx"
        return {
            f"{A}.scores": scores, f"{S}.max": mx, f"{S}.argmax": argmax, f"{S}.diff": diff,
            f"{S}.idx_q": idx_q, f"{S}.idx_rem": idx_rem, f"{S}.idx": idx, f"{S}.exp": e,
            f"{S}.sum": ssum, f"{S}.p": p, f"{S}.rem": rem, f"{S}.exp_mult": mult,
            f"{C}.acc": acc, f"{C}.q": cq, f"{C}.rem": crem, f"{C}.out": cout,
        }  # fmt: skip

    def kernel(self, op, model, ids, cols):
        """Scores and ``p @ v`` by the exact products of :meth:`reference`; the masked softmax
        and the context's requantization by the Numba kernels
        :func:`zkinfer.model._decoder_kernels.causal_softmax` and
        :func:`~zkinfer.model._decoder_kernels.requant_channels`.

        Raises:
            ModelError: as :meth:`reference`.
        """
        from zkinfer.model import _decoder_kernels as D

        a, (G, g, dh, H), (q, k, v), n = _inputs(op, cols)
        A, S, C = op.name, f"{op.name}.softmax", f"{op.name}.ctx"
        # slot kv g + j reads kv head kv: (G, g n, dh) @ (G, dh, n), no repeated copies of k, v
        qg = q.reshape(n, G, g, dh).transpose(1, 2, 0, 3).reshape(G, g * n, dh)
        kg = k.reshape(n, G, dh).transpose(1, 2, 0)
        scores = cols[f"{A}.scores"]
        scores[...] = _exact_matmul(qg, kg).reshape(H, n, n)
        p = cols[f"{S}.p"]
        D.causal_softmax(scores, a.exp_table, a.score_shift, a.prob_bits,
                         *(cols[f"{S}.{c}"] for c in ("max", "argmax", "diff", "idx_q",
                                                      "idx_rem", "idx", "exp", "sum")),
                         p, cols[f"{S}.rem"], cols[f"{S}.exp_mult"])  # fmt: skip
        vg = v.reshape(n, G, dh).transpose(1, 0, 2)
        acc = cols[f"{C}.acc"]
        acc[...] = (_exact_matmul(p.reshape(G, g * n, n), vg).reshape(G, g, n, dh)
                    .transpose(2, 0, 1, 3).reshape(n, H * dh))
        D.requant_channels(acc, a.ctx.m, a.ctx.shift, a.ctx.lo, a.ctx.hi,
                           cols[f"{C}.q"], cols[f"{C}.rem"], cols[f"{C}.out"])

    def gadget(self, c, op, model, n, output):
        """The causal softmax and context (module docstring).

        Raises:
            UnsupportedOpError: the q layout does not pad to ``2^(bits G) g dh`` columns.
        """
        check_causal_attention(op)
        a, A, widths = op.attn, op.name, model.widths
        S = f"{A}.softmax"
        G, g, dh = op.kv_heads, op.group, op.head_dim
        H, d = G * g, G * g * op.head_dim
        T, K, s = len(a.exp_table), a.prob_bits, a.score_shift
        bN, bG, bg, bE = padded_bits((n, G, g, dh))
        bH = bG + bg
        if c.trace[op.q].bits != (bN, bH + bE):  # pragma: no cover - g, dh powers of two
            raise UnsupportedOpError(f"{A}: q layout does not pad per kv head")
        hnn, hn = (H, n, n), (H, n)
        bits = (("h", bH), ("i", bN), ("j", bN), ("e", bE))
        # scores and the contraction operands: k (and v) read as (n, G, dh), broadcast over
        # the g slots of each kv head; the view's bits (j, kv, slot, e) are q's (i, h, e)
        k_view = c.regroup_view(op.k, (n, G, dh), 2, g)
        v_view = c.regroup_view(op.v, (n, G, dh), 2, g)
        # scores: |.| <= 2^bE Q K, bounded by the contraction (no range check needed)
        scores = c.add_trace(f"{A}.scores", hnn, None)
        c.add_relation(ContractRel(scores.name, ("h", "i", "j"), op.q, ("i", "h", "e"),
                                   k_view, ("j", "h", "e"), "e", "h", bits))
        col = {k: c.add_trace(f"{S}.{k}", hn if k in ("max", "sum") else hnn, widths[f"{S}.{k}"])
               for k in ("max", "diff", "idx", "exp", "sum", "p", "rem")}
        mx, diff, idx, exp, ssum, p, rem = (col[k].name for k in ("max", "diff", "idx", "exp",
                                                                  "sum", "p", "rem"))
        if s > 0:
            idx_q = c.add_trace(f"{S}.idx_q", hnn, widths[f"{S}.idx_q"]).name
            idx_rem = c.add_trace(f"{S}.idx_rem", hnn, widths[f"{S}.idx_rem"]).name
        else:
            idx_q = diff  # s = 0: idx_q = diff, idx_rem = 0 (not committed)
        # advice (rules: advice()): sel = onehot(argmax), selsum = 1, over
        sel, selsum, over = f"{S}.sel", f"{S}.selsum", f"{S}.over"
        c.add_trace(sel, hnn, None)
        c.add_trace(selsum, hn, None)
        c.add_trace(over, hnn, widths[f"{S}.idx_q"] if s > 0 else widths[diff])
        c.range(idx, max(1, (T - 1).bit_length()), -1, T - 1)  # idx <= T - 1
        ind3 = c.indicator(scores)
        ind2 = c.indicator(col["max"])
        # the causal mask over the (i, j) bits of the (h, i, j) cube
        mask = f"causal{n}/{bH},{bN}"
        if mask not in c.publics:
            c.publics[mask] = Grid(causal_mask(n).reshape(-1).astype(np.uint64),
                                   tuple(range(bH, bH + 2 * bN)))
            c.public_bounds[mask] = (0, 1)
        max_b = c.view(mx, 2, n)
        sum_b = c.view(ssum, 2, n)
        # slack = sum - 1 - rem >= 0 (rem <= sum - 1) on every j of a real row (h, i), padded
        # j included (there rem = 0 and slack = sum - 1 >= 0 since sum >= EXP[0] > 0)
        rows = c.shape_indicator((H, n, 1 << bN))
        c.add_linear(f"{S}.slack", hnn, widths[rem], [(1, sum_b), (-1, rem)], [(-1, rows)])
        nv = scores.num_vars
        idents = [
            # diff = M (max - scores): |.| <= 2^bits(diff) + 2 smax
            Identity.of(f"{S} diff", (1, [diff]), (-1, [mask, max_b]), (1, [mask, scores.name])),
            # sel is 0/1, only on visible entries, where scores == max (one per row: selsum)
            Identity.of(f"{S} sel boolean", (1, [sel, sel]), (-1, [sel])),
            Identity.of(f"{S} sel visible", (1, [sel, ind3]), (-1, [sel, mask])),
            Identity.of(f"{S} sel at max", (1, [sel, diff])),
            # idx = idx_q - over (visible) or T - 1 (masked: Ind - Ind M), over (T-1-idx) = 0:
            # |.| <= 2^bits(idx_q) + 2^bits(over) + 3 T
            Identity.of(f"{S} idx", (1, [idx]), (-1, [idx_q]), (1, [over]),
                        (-(T - 1), [ind3]), (T - 1, [ind3, mask])),
            Identity.of(f"{S} idx clamp", (T - 1, [over]), (-1, [over, idx])),
            # exp 2^K = p sum + rem: |.| <= 2^(E+K) + 2^(K+1) N 2^E + N 2^E
            Identity.of(f"{S} division", (1 << K, [exp]), (-1, [p, sum_b]), (-1, [rem])),
        ]
        if s > 0:
            # diff + 2^(s-1) Ind = idx_q 2^s + idx_rem: |.| <= 2^(bits diff + 1) + 2^(s+1)
            idents.append(Identity.of(f"{S} idx rounding", (1, [diff]), (1 << (s - 1), [ind3]),
                                      (-(1 << s), [idx_q]), (-1, [idx_rem])))
        for ident in idents:
            c.identity(nv, ident)
        # one selected entry per real row: selsum = Ind (|.| <= 2^bN + 1)
        c.identity(col["max"].num_vars,
                   Identity.of(f"{S} one max per row", (1, [selsum]), (-1, [ind2])))
        c.add_relation(AxisSumRel(selsum, sel, 2))
        c.add_relation(AxisSumRel(ssum, exp, 2))
        # exp = EXP[idx] (pair look-up; padded table rows are 0, excluded by idx <= T - 1)
        table_lookup(c, S, a.exp_table, idx, exp, 0)
        # ctx.acc[i, h dh + e] = sum_j p[h, i, j] v[j, (h // g) dh + e], range-checked at
        # 2^K V (sum_j p <= 2^K) so that acc m stays below 2^62 in the requantization
        acc = c.add_trace(f"{A}.ctx.acc", (n, d), widths[f"{A}.ctx.acc"])
        c.add_relation(ContractRel(acc.name, ("i", "h", "e"), p, ("h", "i", "j"),
                                   v_view, ("j", "h", "e"), "j", "h", bits))
        m = c.broadcast(f"{A}.ctx.m", a.ctx.m, acc.bits[1])
        requant.gadget(c, f"{A}.ctx", (n, d), [(1, [acc.name, m])], a.ctx, widths)

    def advice(self, op, model, n):
        S = f"{op.name}.softmax"
        H, T = op.kv_heads * op.group, len(op.attn.exp_table)
        src = f"{S}.idx_q" if op.attn.score_shift > 0 else f"{S}.diff"

        def sel(t):
            out = np.zeros((H, n, n), dtype=np.int64)
            np.put_along_axis(out, t[f"{S}.argmax"][..., None], 1, axis=-1)
            return out

        # masked entries have idx_q = 0 (diff = 0), so over = 0 there
        return {f"{S}.sel": sel,
                f"{S}.selsum": lambda t: np.ones((H, n), dtype=np.int64),
                f"{S}.over": lambda t: np.maximum(t[src] - (T - 1), 0),
                f"{S}.lookup_mult": lambda t: lookup_multiplicities(t[f"{S}.exp_mult"],
                                                                    (H, n, n), 0),
                **requant.advice(f"{op.name}.ctx")}


HOME = _CausalAttention()
