"""Numba kernels of the WHIR prover (never imported by the verifier)."""

from __future__ import annotations

import numpy as np

from zkinfer._jit import numba  # the prover extra: a clear error when it is missing
from zkinfer.field import _llvm as L
from zkinfer.field._kernels import ONE, ZERO, add, mul, power, sub

_pnjit = numba.njit(cache=True, nogil=True, parallel=True)

MOEBIUS_BLOCK = 12
"""The Moebius transform does the low variables of ``2^12``-row blocks in one cache-sized pass."""


@_pnjit
def moebius_low(a, bits):
    """For each variable of stride ``2^v < 2^bits`` rows: ``a[j] -= a[j - 2^v]`` where bit
    ``v`` of ``j`` is 1, within each block of ``2^bits`` rows of ``a`` ``(N, c)`` (blocks in
    parallel; ``N`` a multiple of ``2^bits``)."""
    size = 1 << bits
    comps = a.shape[1]
    for blk in numba.prange(a.shape[0] >> bits):
        base = blk << bits
        h = 1
        while h < size:
            for s in range(base, base + size, 2 * h):
                for j in range(s + h, s + 2 * h):
                    for t in range(comps):
                        a[j, t] = sub(a[j, t], a[j - h, t])
            h *= 2


@_pnjit
def moebius_step(a, log_h):
    """The variable of stride ``h = 2^log_h`` rows: ``a[j] -= a[j - h]`` where bit ``log_h`` of
    ``j`` is 1 (pairs in parallel)."""
    h = np.int64(1) << log_h
    comps = a.shape[1]
    for i in numba.prange(a.shape[0] // 2):
        j = ((i >> log_h) << (log_h + 1)) + (i & (h - 1)) + h
        for t in range(comps):
            a[j, t] = sub(a[j, t], a[j - h, t])


@_pnjit
def row_inner_many(values, lows, out):
    """``out[h, j] = sum_l values[h B + l] lows[j, l]`` (``B = lows.shape[1]``; extension
    ``lows`` ``(J, B, 2)``; base ``values``, zero beyond their length): every row of ``B``
    entries against ``J`` tables at once, rows in parallel (a row stays in cache for all ``J``)."""
    width = lows.shape[1]
    n = values.shape[0]
    for h in numba.prange(out.shape[0]):
        start = h * width
        stop = min(start + width, n)
        for j in range(lows.shape[0]):
            s0 = ZERO
            s1 = ZERO
            for i in range(start, stop):
                v = values[i]
                s0 = add(s0, mul(v, lows[j, i - start, 0]))
                s1 = add(s1, mul(v, lows[j, i - start, 1]))
            out[h, j, 0] = s0
            out[h, j, 1] = s1


@_pnjit
def coset_rows_bitrev(src, lows, highs, out):
    """``out[g C + c, h B + l] = src[c, h B + l] lows[g, l] highs[g, h]`` (``B`` the width of
    ``lows``): the ``C`` coefficient rows ``src`` scaled by ``shift_g^(bitrev(i))`` for each
    coset ``g`` (the two tables: :func:`zkinfer.commit.whir.prover._bitrev_powers`); (coset,
    row of ``B``) pairs in parallel."""
    comps = src.shape[0]
    width = lows.shape[1]
    count = highs.shape[1]
    for t in numba.prange(lows.shape[0] * count):
        g = t // count
        h = t % count
        f = highs[g, h]
        base = h * width
        for lo in range(width):
            x = mul(lows[g, lo], f)
            for c in range(comps):
                out[g * comps + c, base + lo] = mul(src[c, base + lo], x)


_LEAF_BLOCK = 64


@_pnjit
def leaves_of_cosets(vals, width, out):
    """``out[g, u, j, c] = vals[g C + c, j P + u]`` (``C = out.shape[3]`` components,
    ``P = out.shape[1]`` leaves per coset): each coset's evaluations (one row per component)
    into leaves of ``width`` points ``P`` apart, by blocks of 64 leaves (reads of 64
    consecutive words per point of a leaf, writes within a few KiB); blocks in parallel."""
    comps = out.shape[3]
    per = out.shape[1]
    blocks = (per + _LEAF_BLOCK - 1) // _LEAF_BLOCK
    for t in numba.prange(out.shape[0] * blocks):
        g = t // blocks
        u0 = (t % blocks) * _LEAF_BLOCK
        u1 = min(u0 + _LEAF_BLOCK, per)
        for c in range(comps):
            r = g * comps + c
            for j in range(width):
                base = j * per
                for u in range(u0, u1):
                    out[g, u, j, c] = vals[r, base + u]


_EXPAND_CHUNK = 4096


@_pnjit
def expand_zero_tail(small, shifts, omega, zero_vars, out):
    """``out[g C + c, e] = P(x) small[g C + c, e mod d']`` with ``x = shifts[g] omega^e`` and
    ``P(X) = prod_(i < zero_vars) (1 - X^(2^i))`` (``C = out.shape[0] / len(shifts)``
    components, ``d' = small.shape[1]``): a coset's evaluations of ``f^ = P(X) g^(X^(2^t))``
    from those of ``g^`` on the coset's ``2^t``-th power; chunks of points in parallel."""
    d = out.shape[1]
    dd = small.shape[1]
    comps = out.shape[0] // shifts.shape[0]
    chunks = (d + _EXPAND_CHUNK - 1) // _EXPAND_CHUNK
    for t in numba.prange(shifts.shape[0] * chunks):
        g = t // chunks
        e0 = (t % chunks) * _EXPAND_CHUNK
        e1 = min(e0 + _EXPAND_CHUNK, d)
        x = mul(shifts[g], power(omega, np.uint64(e0)))
        for e in range(e0, e1):
            p = ONE
            y = x
            for _ in range(zero_vars):
                p = mul(p, sub(ONE, y))
                y = mul(y, y)
            for c in range(comps):
                out[g * comps + c, e] = mul(p, small[g * comps + c, e & (dd - 1)])
            x = mul(x, omega)


def _ir_mac4(b, *args):
    # four i192 sums (three words each, least significant first) += x y_c, c = 0..3
    acc, x, ys = args[:12], args[12], args[13:]
    out = ()
    for c in range(4):
        s = b.add(L.ir_join(b, *acc[3 * c:3 * c + 3]), L.ir_prod(b, ys[c], x))
        out += L.ir_words(b, s)
    return out


def _ir_acc4(b, *acc):
    return tuple(L.ir_reduce_wide(b, L.ir_join(b, *acc[3 * c:3 * c + 3])) for c in range(4))


@L.intrinsic
def _mac4(typingctx, a0, a1, a2, b0, b1, b2, c0, c1, c2, d0, d1, d2, x, y0, y1, y2, y3):
    """Four unreduced sums ``+= x y_c`` (a product is below ``2^128``)."""
    return L.intrinsic_of(17, 12, _ir_mac4)


@L.intrinsic
def _acc4(typingctx, a0, a1, a2, b0, b1, b2, c0, c1, c2, d0, d1, d2):
    """The four sums of :func:`_mac4` mod ``p`` (exact below ``2^160``: ``2^32`` products)."""
    return L.intrinsic_of(12, 4, _ir_acc4)


@_pnjit
def add_outer_sums(acc, highs, lows):
    """``acc[h L + l] += sum_j highs[h, j] lows[l, j]``: ``acc`` ``F_p4`` ``(H L, 4)``,
    ``highs`` ``F_p4`` ``(H, J, 4)``, ``lows`` base ``(L, J)``, ``J < 2^32``. Each entry's ``J``
    products are summed exactly in 192 bits per component and reduced once; rows ``h`` in
    parallel (one row of ``highs`` meets every row of ``lows``)."""
    width = lows.shape[0]
    count = lows.shape[1]
    for h in numba.prange(highs.shape[0]):
        for lo in range(width):
            s = (ZERO, ZERO, ZERO, ZERO, ZERO, ZERO, ZERO, ZERO, ZERO, ZERO, ZERO, ZERO)
            for j in range(count):
                s = _mac4(*s, lows[lo, j], highs[h, j, 0], highs[h, j, 1], highs[h, j, 2],
                          highs[h, j, 3])
            r0, r1, r2, r3 = _acc4(*s)
            row = h * width + lo
            acc[row, 0] = add(acc[row, 0], r0)
            acc[row, 1] = add(acc[row, 1], r1)
            acc[row, 2] = add(acc[row, 2], r2)
            acc[row, 3] = add(acc[row, 3], r3)
