"""Numba kernels of the look-up provers (prover side only).

The GKR layer sumcheck (:func:`zkinfer.lookup.gkr.prove_fraction_sum`) proves, for a point ``r``
of ``n`` variables and a layer's four half-tables ``pL, pR, qL, qR``,

    sum_x eq(r, x) F(x),    F = pL qR + pR qL + lambda qL qR = pL qR + qL (pR + lambda qR).

Round ``j`` binds variable ``j`` (the most significant live index bit). Its message factors as
``C eq(r_j, X) G(X)`` with ``C = prod_{i<j} eq(r_i, r'_i)`` and

    G(X) = sum_x eq(r_{>j}, x) F(r'_1..r'_{j-1}, X, x),

of degree 2. The kernels return ``G(0)`` and the leading coefficient ``G(inf)`` (``F`` of the
differences ``hi - lo``), on request ``G(1)``; the caller gets ``G(1)`` from the round's claim.
``eq(r_{>j}, .)`` is never stored whole: it is the product of two tables over the high and the
low half of the remaining variables (``O(sqrt)`` entries each), built inside the kernel; the
pairs are walked in blocks, one per entry of the high table, each block summing
``eq_lo F`` and multiplying by its ``eq_hi`` once.

Round 0 (:func:`layer_first`) takes ``G(0)`` from the layer above (the parent), whose rows are
``pL qR + pR qL`` and ``qL qR``: ``F = p_k + lambda q_k`` there, no products. Later rounds
(:func:`layer_fold_eval`) fold by the previous challenge and sum in one pass. :func:`layer_eval`
computes ``G(1)`` directly, for the case the claim cannot give it.

Table layout: the ``p`` array holds ``pL`` at rows ``[0, s)`` and ``pR`` at ``[off, off + s)``
(``s`` live rows each), the same for ``q``. Folding works in place (``dst is src``) or from a
layer into a scratch pair of arrays (the first fold: a layer is the next one's parent, and the
leaves belong to the caller).

Each kernel has a threaded driver (``prange`` over the blocks) and a serial one
(:func:`use_parallel` picks).

Field arithmetic: the per-entry formulas are the LLVM-IR intrinsics of
:mod:`zkinfer.field._llvm` (which states why they are exact and why intrinsics), plus
:func:`_xf`, the layer's ``F`` built from that module's IR helpers. The block sums of
``eq_lo F`` are accumulated unreduced (:func:`zkinfer.field._llvm.xmac`, exact for up to
``2^29`` terms; a block has ``len(eq_lo)`` of them, about the square root of the pairs) and
reduced once per block.
"""

from __future__ import annotations

import numpy as np

from zkinfer._jit import numba  # the prover extra: a clear error when it is missing
from zkinfer.field._kernels import sub as fsub
from zkinfer.field._llvm import (
    intrinsic_of,
    ir_dot,
    ir_mul_by,
    x7,
    xacc,
    xadd,
    xdot2,
    xfold,
    xmac,
    xmul,
    xsub,
)

intrinsic = numba.extending.intrinsic

_njit = numba.njit(cache=True, nogil=True)
_pnjit = numba.njit(cache=True, nogil=True, parallel=True)
_inline = numba.njit(cache=True, inline="always")  # only for bodies of a few intrinsic calls

_PARALLEL_FROM = 1 << 11  # entries (index pairs) per pass from which threads pay off

ZERO = np.uint64(0)
ONE = np.uint64(1)


def use_parallel(pairs: int) -> bool:
    """Whether a pass over ``pairs`` index pairs (or output entries) should run threaded."""
    return pairs >= _PARALLEL_FROM


# ---- the GKR layer's fused formula, from the field's IR builders


def _ir_f(b, a0, a1, p0, p1, c0, c1, d0, d1, l0, l1, l7):
    w = ir_mul_by(b, d0, d1, l0, l1, l7, extra=(p0, p1))
    return ir_dot(b, [((a0, a1), (d0, d1)), ((c0, c1), w)])


@intrinsic
def _xf(typingctx, a0, a1, p0, p1, c0, c1, d0, d1, lam0, lam1, lam7):
    """``F(pL, pR, qL, qR) = pL qR + qL (pR + lambda qR)``, ``lambda`` last (``lam7 = 7
    lam1``): ``pR + lambda qR`` reduced once, then one two-term dot product reduced once."""
    return intrinsic_of(11, 2, _ir_f)


# ---- the tree


@_inline
def _fraction_entry(p, q, out_p, out_q, h, i):
    """Entry ``i`` of the layer above (flat words, unsigned indices: ``h`` = ``2 h`` rows)."""
    w = np.uint64(2 * i)
    k = w + h
    a0, a1, b0, b1 = p[w], p[w + ONE], p[k], p[k + ONE]
    c0, c1, d0, d1 = q[w], q[w + ONE], q[k], q[k + ONE]
    if a0 == ONE and b0 == ONE and (a1 | b1) == ZERO:  # p = 1 on both sides (column leaves)
        out_p[w], out_p[w + ONE] = xadd(c0, c1, d0, d1)
    else:
        out_p[w], out_p[w + ONE] = xdot2(a0, a1, d0, d1, b0, b1, c0, c1)
    out_q[w], out_q[w + ONE] = xmul(c0, c1, d0, d1)


@_pnjit
def fraction_layer(p, q, out_p, out_q):
    """One layer up the fraction tree: halves ``L = [:h]``, ``R = [h:]`` of ``(p, q)``:

    ``out_p = pL qR + pR qL``, ``out_q = qL qR`` (all extension arrays ``(., 2)``).
    """
    h = p.shape[0] // 2
    words = np.uint64(2 * h)
    fp, fq, fop, foq = p.reshape(-1), q.reshape(-1), out_p.reshape(-1), out_q.reshape(-1)
    for i in numba.prange(h):
        _fraction_entry(fp, fq, fop, foq, words, i)


@_njit
def fraction_layer_serial(p, q, out_p, out_q):
    """:func:`fraction_layer` on one thread."""
    h = p.shape[0] // 2
    words = np.uint64(2 * h)
    fp, fq, fop, foq = p.reshape(-1), q.reshape(-1), out_p.reshape(-1), out_q.reshape(-1)
    for i in range(h):
        _fraction_entry(fp, fq, fop, foq, words, i)


# ---- the layer sumcheck (blocks: plain compiled functions the drivers call once per block)


@_njit
def _eq_table(point, start, stop):
    """``eq(point[start:stop], x)`` for all ``x`` (first variable most significant)."""
    out = np.empty((1 << (stop - start), 2), dtype=np.uint64)
    out[0, 0] = ONE
    out[0, 1] = ZERO
    size = 1
    for k in range(start, stop):
        r0 = point[k, 0]
        r1 = point[k, 1]
        for i in range(size - 1, -1, -1):  # downwards: entry i is read before it is written
            t0 = out[i, 0]
            t1 = out[i, 1]
            h0, h1 = xmul(t0, t1, r0, r1)
            out[2 * i + 1, 0] = h0
            out[2 * i + 1, 1] = h1
            out[2 * i, 0], out[2 * i, 1] = xsub(t0, t1, h0, h1)
        size *= 2
    return out


@_njit
def _split(point, j):
    """Round ``j``'s two eq tables: over the high and the low half of ``point[j+1:]``."""
    n = point.shape[0]
    mid = n - (n - j) // 2  # the low half gets the odd variable
    return _eq_table(point, j + 1, mid), _eq_table(point, mid, n)


@_njit
def _eval_block(p, q, off, s, start, eq_lo, lam0, lam1, with_one, g):
    """Sums over pairs ``i`` in ``[start, start + len(eq_lo))`` (rows ``i`` and ``i + s/2``):
    ``g[0:2] = sum eq_lo F(lo)``, ``g[2:4] = sum eq_lo F(hi - lo)``, ``g[4:6] = sum eq_lo F(hi)``
    (``with_one``).

    ``p, q`` are the tables' flat words (row ``i`` at ``2 i, 2 i + 1``); indices are unsigned
    so that Numba emits no negative-index fix-ups.
    """
    half = np.uint64(s)  # s / 2 rows, in words
    lam7 = x7(lam0, lam1)[1]
    roff = np.uint64(2 * off)
    base = np.uint64(2 * start)
    # unreduced sums (see xmac) of eq_lo F(lo), eq_lo F(hi - lo), eq_lo F(hi)
    x0 = x1 = x2 = x3 = x4 = x5 = ZERO
    y0 = y1 = y2 = y3 = y4 = y5 = ZERO
    z0 = z1 = z2 = z3 = z4 = z5 = ZERO
    for t in range(eq_lo.shape[0]):
        e0 = eq_lo[t, 0]
        e1 = eq_lo[t, 1]
        i = base + np.uint64(2 * t)
        k = i + half
        u = roff + i
        v = u + half
        a0, a1, b0, b1 = p[i], p[i + ONE], p[u], p[u + ONE]
        c0, c1, d0, d1 = q[i], q[i + ONE], q[u], q[u + ONE]
        ha0, ha1, hb0, hb1 = p[k], p[k + ONE], p[v], p[v + ONE]
        hc0, hc1, hd0, hd1 = q[k], q[k + ONE], q[v], q[v + ONE]
        f0, f1 = _xf(a0, a1, b0, b1, c0, c1, d0, d1, lam0, lam1, lam7)
        x0, x1, x2, x3, x4, x5 = xmac(x0, x1, x2, x3, x4, x5, e0, e1, f0, f1)
        da0, da1 = xsub(ha0, ha1, a0, a1)
        db0, db1 = xsub(hb0, hb1, b0, b1)
        dc0, dc1 = xsub(hc0, hc1, c0, c1)
        dd0, dd1 = xsub(hd0, hd1, d0, d1)
        f0, f1 = _xf(da0, da1, db0, db1, dc0, dc1, dd0, dd1, lam0, lam1, lam7)
        y0, y1, y2, y3, y4, y5 = xmac(y0, y1, y2, y3, y4, y5, e0, e1, f0, f1)
        if with_one:
            f0, f1 = _xf(ha0, ha1, hb0, hb1, hc0, hc1, hd0, hd1, lam0, lam1, lam7)
            z0, z1, z2, z3, z4, z5 = xmac(z0, z1, z2, z3, z4, z5, e0, e1, f0, f1)
    g[0], g[1] = xacc(x0, x1, x2, x3, x4, x5)
    g[2], g[3] = xacc(y0, y1, y2, y3, y4, y5)
    g[4], g[5] = xacc(z0, z1, z2, z3, z4, z5)


@_njit
def _first_block(p, q, off, s, pp, pq, start, eq_lo, lam0, lam1, g):
    """Round 0's block sums from the layer itself and its parent (the layer above, whose row
    ``i`` is ``F``'s numerator and denominator parts: ``F(row i) = pp[i] + lambda pq[i]``):
    ``g[0:2] = sum eq_lo F(lo)`` from the parent, ``g[2:4] = sum eq_lo F(hi - lo)``. Flat words,
    unsigned indices (see :func:`_eval_block`)."""
    half = np.uint64(s)  # s / 2 rows, in words
    lam7 = x7(lam0, lam1)[1]
    roff = np.uint64(2 * off)
    base = np.uint64(2 * start)
    # unreduced sums (see xmac) of eq_lo pp, eq_lo pq, eq_lo F(hi - lo)
    x0 = x1 = x2 = x3 = x4 = x5 = ZERO
    w0 = w1 = w2 = w3 = w4 = w5 = ZERO
    y0 = y1 = y2 = y3 = y4 = y5 = ZERO
    for t in range(eq_lo.shape[0]):
        e0 = eq_lo[t, 0]
        e1 = eq_lo[t, 1]
        i = base + np.uint64(2 * t)
        k = i + half
        u = roff + i
        v = u + half
        x0, x1, x2, x3, x4, x5 = xmac(x0, x1, x2, x3, x4, x5, e0, e1, pp[i], pp[i + ONE])
        w0, w1, w2, w3, w4, w5 = xmac(w0, w1, w2, w3, w4, w5, e0, e1, pq[i], pq[i + ONE])
        da0, da1 = xsub(p[k], p[k + ONE], p[i], p[i + ONE])
        db0, db1 = xsub(p[v], p[v + ONE], p[u], p[u + ONE])
        dc0, dc1 = xsub(q[k], q[k + ONE], q[i], q[i + ONE])
        dd0, dd1 = xsub(q[v], q[v + ONE], q[u], q[u + ONE])
        f0, f1 = _xf(da0, da1, db0, db1, dc0, dc1, dd0, dd1, lam0, lam1, lam7)
        y0, y1, y2, y3, y4, y5 = xmac(y0, y1, y2, y3, y4, y5, e0, e1, f0, f1)
    n0, n1 = xacc(x0, x1, x2, x3, x4, x5)
    d0, d1 = xacc(w0, w1, w2, w3, w4, w5)
    g[0], g[1] = xdot2(ONE, ZERO, n0, n1, lam0, lam1, d0, d1)
    g[2], g[3] = xacc(y0, y1, y2, y3, y4, y5)


@_inline
def _fold_row(t, w, half, r0, r1, r7):
    """Row ``w`` folded with row ``w + s/2`` (flat words; ``half`` = ``s / 2`` rows in words)."""
    return xfold(t[w], t[w + ONE], t[w + half], t[w + half + ONE], r0, r1, r7)


@_njit
def _fold_eval_block(sp, sq, soff, s, dp, dq, doff, r0, r1, start, eq_lo, lam0, lam1, g):
    """Fold the half-tables (``s`` live rows) at ``r`` into ``dp, dq`` (``s / 2`` live rows) for
    the next round's pairs ``i`` in ``[start, start + len(eq_lo))``, and return that round's
    block sums ``g[0:2] = sum eq_lo F(lo)``, ``g[2:4] = sum eq_lo F(hi - lo)``.

    Pair ``i`` of the next round is rows ``i`` (folded from ``i, i + s/2``) and ``i + s/4``
    (from ``i + s/4, i + 3s/4``): the four rows read and the two written belong to ``i`` alone,
    and all are read before any is written, so ``dp is sp`` (in place) is safe, threaded too.
    Arrays are flat words, indices unsigned (see :func:`_eval_block`).
    """
    half = np.uint64(s)  # s / 2 rows, in words
    lam7 = x7(lam0, lam1)[1]
    r7 = x7(r0, r1)[1]
    quarter = np.uint64(s // 2)
    sroff = np.uint64(2 * soff)
    droff = np.uint64(2 * doff)
    base = np.uint64(2 * start)
    # unreduced sums (see xmac) of eq_lo F(lo), eq_lo F(hi - lo)
    x0 = x1 = x2 = x3 = x4 = x5 = ZERO
    y0 = y1 = y2 = y3 = y4 = y5 = ZERO
    for t in range(eq_lo.shape[0]):
        e0 = eq_lo[t, 0]
        e1 = eq_lo[t, 1]
        i = base + np.uint64(2 * t)
        j = i + quarter
        a0, a1 = _fold_row(sp, i, half, r0, r1, r7)
        ha0, ha1 = _fold_row(sp, j, half, r0, r1, r7)
        b0, b1 = _fold_row(sp, sroff + i, half, r0, r1, r7)
        hb0, hb1 = _fold_row(sp, sroff + j, half, r0, r1, r7)
        c0, c1 = _fold_row(sq, i, half, r0, r1, r7)
        hc0, hc1 = _fold_row(sq, j, half, r0, r1, r7)
        d0, d1 = _fold_row(sq, sroff + i, half, r0, r1, r7)
        hd0, hd1 = _fold_row(sq, sroff + j, half, r0, r1, r7)
        u = droff + i
        v = droff + j
        dp[i], dp[i + ONE], dp[j], dp[j + ONE] = a0, a1, ha0, ha1
        dp[u], dp[u + ONE], dp[v], dp[v + ONE] = b0, b1, hb0, hb1
        dq[i], dq[i + ONE], dq[j], dq[j + ONE] = c0, c1, hc0, hc1
        dq[u], dq[u + ONE], dq[v], dq[v + ONE] = d0, d1, hd0, hd1
        f0, f1 = _xf(a0, a1, b0, b1, c0, c1, d0, d1, lam0, lam1, lam7)
        x0, x1, x2, x3, x4, x5 = xmac(x0, x1, x2, x3, x4, x5, e0, e1, f0, f1)
        da0, da1 = xsub(ha0, ha1, a0, a1)
        db0, db1 = xsub(hb0, hb1, b0, b1)
        dc0, dc1 = xsub(hc0, hc1, c0, c1)
        dd0, dd1 = xsub(hd0, hd1, d0, d1)
        f0, f1 = _xf(da0, da1, db0, db1, dc0, dc1, dd0, dd1, lam0, lam1, lam7)
        y0, y1, y2, y3, y4, y5 = xmac(y0, y1, y2, y3, y4, y5, e0, e1, f0, f1)
    g[0], g[1] = xacc(x0, x1, x2, x3, x4, x5)
    g[2], g[3] = xacc(y0, y1, y2, y3, y4, y5)


@_njit
def _scale_into(out, b, e0, e1, g):
    """``out[b, v] = e g[v]``: a block's sums times its high eq entry."""
    for v in range(out.shape[1]):
        out[b, v, 0], out[b, v, 1] = xmul(e0, e1, g[2 * v], g[2 * v + 1])


@_njit
def _total(out):
    """``sum_b out[b]``, shape ``out.shape[1:]``."""
    acc = np.zeros(out.shape[1:], dtype=np.uint64)
    for b in range(out.shape[0]):
        for v in range(out.shape[1]):
            acc[v, 0], acc[v, 1] = xadd(acc[v, 0], acc[v, 1], out[b, v, 0], out[b, v, 1])
    return acc


@_pnjit
def layer_eval(p, q, off, s, point, j, lam0, lam1, with_one):
    """Round ``j`` on tables as they are (``s`` live rows each, ``s / 2`` pairs).

    Returns ``[G(0), G(inf)]``, with ``with_one`` ``[G(0), G(inf), G(1)]`` (``(V, 2)``).
    """
    eq_hi, eq_lo = _split(point, j)
    width = eq_lo.shape[0]
    fp, fq = p.reshape(-1), q.reshape(-1)
    out = np.empty((eq_hi.shape[0], 3 if with_one else 2, 2), dtype=np.uint64)
    for b in numba.prange(eq_hi.shape[0]):
        g = np.empty(6, dtype=np.uint64)
        _eval_block(fp, fq, off, s, b * width, eq_lo, lam0, lam1, with_one, g)
        _scale_into(out, b, eq_hi[b, 0], eq_hi[b, 1], g)
    return _total(out)


@_njit
def layer_eval_serial(p, q, off, s, point, j, lam0, lam1, with_one):
    """:func:`layer_eval` on one thread."""
    eq_hi, eq_lo = _split(point, j)
    width = eq_lo.shape[0]
    fp, fq = p.reshape(-1), q.reshape(-1)
    out = np.empty((eq_hi.shape[0], 3 if with_one else 2, 2), dtype=np.uint64)
    g = np.empty(6, dtype=np.uint64)
    for b in range(eq_hi.shape[0]):
        _eval_block(fp, fq, off, s, b * width, eq_lo, lam0, lam1, with_one, g)
        _scale_into(out, b, eq_hi[b, 0], eq_hi[b, 1], g)
    return _total(out)


@_pnjit
def layer_first(p, q, off, s, pp, pq, point, lam0, lam1):
    """Round 0 (``s`` live rows each, ``s / 2`` pairs) with the parent layer ``pp, pq`` (``s``
    rows: ``pp = pL qR + pR qL``, ``pq = qL qR``): returns ``[G(0), G(inf)]`` (``(2, 2)``)."""
    eq_hi, eq_lo = _split(point, 0)
    width = eq_lo.shape[0]
    fp, fq, fpp, fpq = p.reshape(-1), q.reshape(-1), pp.reshape(-1), pq.reshape(-1)
    out = np.empty((eq_hi.shape[0], 2, 2), dtype=np.uint64)
    for b in numba.prange(eq_hi.shape[0]):
        g = np.empty(4, dtype=np.uint64)
        _first_block(fp, fq, off, s, fpp, fpq, b * width, eq_lo, lam0, lam1, g)
        _scale_into(out, b, eq_hi[b, 0], eq_hi[b, 1], g)
    return _total(out)


@_njit
def layer_first_serial(p, q, off, s, pp, pq, point, lam0, lam1):
    """:func:`layer_first` on one thread."""
    eq_hi, eq_lo = _split(point, 0)
    width = eq_lo.shape[0]
    fp, fq, fpp, fpq = p.reshape(-1), q.reshape(-1), pp.reshape(-1), pq.reshape(-1)
    out = np.empty((eq_hi.shape[0], 2, 2), dtype=np.uint64)
    g = np.empty(4, dtype=np.uint64)
    for b in range(eq_hi.shape[0]):
        _first_block(fp, fq, off, s, fpp, fpq, b * width, eq_lo, lam0, lam1, g)
        _scale_into(out, b, eq_hi[b, 0], eq_hi[b, 1], g)
    return _total(out)


@_pnjit
def layer_fold_eval(sp, sq, soff, s, dp, dq, doff, r0, r1, point, j, lam0, lam1):
    """Fold by the previous round's challenge ``r`` (``s`` -> ``s / 2`` live rows, into
    ``dp, dq``: pass ``sp, sq, soff`` again to fold in place) and return round ``j``'s
    ``[G(0), G(inf)]`` (``(2, 2)``), in one pass."""
    eq_hi, eq_lo = _split(point, j)
    width = eq_lo.shape[0]
    fsp, fsq, fdp, fdq = sp.reshape(-1), sq.reshape(-1), dp.reshape(-1), dq.reshape(-1)
    out = np.empty((eq_hi.shape[0], 2, 2), dtype=np.uint64)
    for b in numba.prange(eq_hi.shape[0]):
        g = np.empty(4, dtype=np.uint64)
        _fold_eval_block(fsp, fsq, soff, s, fdp, fdq, doff, r0, r1, b * width, eq_lo, lam0, lam1,
                         g)
        _scale_into(out, b, eq_hi[b, 0], eq_hi[b, 1], g)
    return _total(out)


@_njit
def layer_fold_eval_serial(sp, sq, soff, s, dp, dq, doff, r0, r1, point, j, lam0, lam1):
    """:func:`layer_fold_eval` on one thread."""
    eq_hi, eq_lo = _split(point, j)
    width = eq_lo.shape[0]
    fsp, fsq, fdp, fdq = sp.reshape(-1), sq.reshape(-1), dp.reshape(-1), dq.reshape(-1)
    out = np.empty((eq_hi.shape[0], 2, 2), dtype=np.uint64)
    g = np.empty(4, dtype=np.uint64)
    for b in range(eq_hi.shape[0]):
        _fold_eval_block(fsp, fsq, soff, s, fdp, fdq, doff, r0, r1, b * width, eq_lo, lam0, lam1,
                         g)
        _scale_into(out, b, eq_hi[b, 0], eq_hi[b, 1], g)
    return _total(out)


# ---- the range look-up's leaves


@_pnjit
def block_leaves(p, q, vals, first, reps, table, alpha0, alpha1):
    """Write one block's leaves into the fraction tree ``(p, q)`` (extension arrays).

    Block entry ``i`` is leaf ``(first + i) reps + k`` for each challenge ``k < reps`` (two
    challenges interleave): a column's entry ``f`` gives ``(1, alpha_k - f - w X)``, a table's
    row ``j`` with multiplicity ``m`` gives ``(-m, alpha_k - j - w X)``; ``alpha0[k]`` is
    ``alpha_k``'s first coefficient and ``alpha1[k]`` its second minus the width ``w``
    (canonical, as ``vals``).
    """
    n = vals.shape[0]
    for i in numba.prange(n):
        v = vals[i]
        if table:
            num = fsub(ZERO, v)
            sub0 = np.uint64(i)
        else:
            num = ONE
            sub0 = v
        base = (first + i) * reps
        for k in range(reps):
            row = base + k
            p[row, 0] = num
            p[row, 1] = ZERO
            q[row, 0] = fsub(alpha0[k], sub0)
            q[row, 1] = alpha1[k]
