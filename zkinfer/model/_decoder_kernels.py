"""Numba kernels of the decoder ops (private; prover side only).

Each kernel computes the row-wise and elementwise part of one decoder op of
:mod:`zkinfer.model.ops` (token embedding, RMSNorm, RoPE, causal softmax, SwiGLU, argmax) and
writes its trace columns into preallocated ``int64`` arrays, bit for bit as the op's numpy
``reference()`` (the spec; tests compare every column). The op homes call them from their
``kernel()`` methods; the matrix products (scores, ``p @ v``, the LM head) stay in the exact
float64 BLAS products the references use when every partial sum is below ``2^53``.

Conventions as in :mod:`zkinfer.model._kernels` (whose ``_requant`` and ``_isqrt`` these reuse):
all arithmetic is ``int64``; ``//`` and ``>>`` on signed integers floor, as in numpy; the
declared widths (checked by the caller after the forward) keep every product below ``2^62``.
Integer division by zero raises as in Python. The kernels are serial, for the reason
:mod:`zkinfer.model._kernels` gives (``parallel=True`` costs more than it saves on these
sizes on 2-core machines); ``nogil`` lets callers run several sequences in threads.

Kernels that index a table with data (embedding rows, SiLU rows) check the index first and
return ``False`` on a value outside the table, writing nothing further; the caller raises.
"""

from __future__ import annotations

import numpy as np

from zkinfer._jit import numba  # the prover extra: a clear error when it is missing
from zkinfer.model._kernels import _isqrt, _requant

_njit = numba.njit(cache=True, nogil=True)


@_njit
def requant_channels(a, m, shift, lo, hi, q, rem, out):
    """``pre = a[i, c] m[c]``; ``q, rem, out`` its requantization
    (:func:`zkinfer.model.ops.requant.requantize`)."""
    n, d = a.shape
    for i in range(n):
        for c in range(d):
            q[i, c], rem[i, c], out[i, c] = _requant(a[i, c] * m[c], shift, lo, hi)


@_njit
def tokens(ids, table, m, shift, lo, hi, e, q, rem, out):
    """``e = TOK[ids]`` (row copy), ``out = rq(e m[c])``; ``False`` if an id is outside the
    table (nothing written from that row on)."""
    n, d = e.shape
    vocab = table.shape[0]
    for i in range(n):
        t = ids[i]
        if t < 0 or t >= vocab:
            return False
        for c in range(d):
            ev = table[t, c]
            e[i, c] = ev
            q[i, c], rem[i, c], out[i, c] = _requant(ev * m[c], shift, lo, hi)
    return True


@_njit
def rmsnorm(x, eps, k, g, shift, lo, hi, ms, rsqrt, rsqrt_lo, rsqrt_hi, z, q, rem, out):
    """Per row: ``ms = sum_c x^2 + eps``, ``rsqrt = floor(sqrt(2^k / ms))``
    (``= isqrt(floor(2^k / ms))``), the slacks ``rsqrt_lo = 2^k - rsqrt^2 ms`` and
    ``rsqrt_hi = (rsqrt + 1)^2 ms - 2^k - 1``, ``z = x rsqrt``, ``out = rq(z g[c])``."""
    n, d = x.shape
    two_k = np.int64(1) << k
    for i in range(n):
        s = np.int64(eps)
        for c in range(d):
            s += x[i, c] * x[i, c]
        ms[i] = s
        y = _isqrt(two_k // s)
        rsqrt[i] = y
        rsqrt_lo[i] = two_k - y * y * s
        rsqrt_hi[i] = (y + 1) * (y + 1) * s - two_k - 1
        for c in range(d):
            zc = x[i, c] * y
            z[i, c] = zc
            q[i, c], rem[i, c], out[i, c] = _requant(zc * g[c], shift, lo, hi)


@_njit
def rope(x, cos, sin, heads, head_dim, bits, lo, hi, q, rem, out):
    """Row ``t`` at position ``t``; per head and ``i < dh/2`` with ``a = x[t, h dh + i]``,
    ``b = x[t, h dh + i + dh/2]``: ``pre = [a C[t, i] - b S[t, i], b C[t, i] + a S[t, i]]``,
    requantized with the multiplier 1 and the shift ``bits``."""
    n = x.shape[0]
    half = head_dim // 2
    for t in range(n):
        for h in range(heads):
            base = h * head_dim
            for i in range(half):
                a = x[t, base + i]
                b = x[t, base + half + i]
                C = cos[t, i]
                S = sin[t, i]
                j0 = base + i
                j1 = base + half + i
                q[t, j0], rem[t, j0], out[t, j0] = _requant(a * C - b * S, bits, lo, hi)
                q[t, j1], rem[t, j1], out[t, j1] = _requant(b * C + a * S, bits, lo, hi)


@_njit
def causal_softmax(scores, table, score_shift, prob_bits,
                   mx, argmax, diff, idx_q, idx_rem, idx, e, ssum, p, rem, mult):  # fmt: skip
    """The masked integer softmax of ``scores`` ``(H, n, n)`` (row ``i`` sees ``j <= i``).

    ``max`` and the first ``argmax`` over the visible keys; ``diff = max - scores`` there and
    ``0`` on the masked entries; ``idx_q = (diff + 2^(s-1)) >> s`` with remainder ``idx_rem``
    on every entry (``s = 0``: ``diff`` and ``0``); ``idx = min(idx_q, T - 1)`` (visible) or
    ``T - 1`` (masked); ``exp = EXP[idx]``; ``sum = sum_j exp``; ``exp 2^K = p sum + rem``;
    ``mult[t] = #{idx == t}``.
    """
    H, n, _ = scores.shape
    T = table.shape[0]
    last = T - 1
    s = score_shift
    half = (np.int64(1) << (s - 1)) if s > 0 else np.int64(0)
    for t in range(T):
        mult[t] = 0
    for h in range(H):
        for i in range(n):
            best = scores[h, i, 0]
            arg = 0
            for j in range(1, i + 1):
                v = scores[h, i, j]
                if v > best:
                    best = v
                    arg = j
            mx[h, i] = best
            argmax[h, i] = arg
            total = np.int64(0)
            for j in range(n):
                dj = best - scores[h, i, j] if j <= i else np.int64(0)
                diff[h, i, j] = dj
                if s > 0:
                    tj = dj + half
                    qj = tj >> s
                    idx_q[h, i, j] = qj
                    idx_rem[h, i, j] = tj - (qj << s)
                else:
                    qj = dj
                    idx_q[h, i, j] = dj
                    idx_rem[h, i, j] = 0
                ij = last
                if j <= i and qj < last:
                    ij = qj
                idx[h, i, j] = ij
                mult[ij] += 1
                ej = table[ij]
                e[h, i, j] = ej
                total += ej
            ssum[h, i] = total
            for j in range(n):
                num = e[h, i, j] << prob_bits
                pj = num // total
                p[h, i, j] = pj
                rem[h, i, j] = num - pj * total


@_njit
def swiglu(gate, up, table, half, m, shift, lo, hi, silu, mult, prod, q, rem, out):
    """``silu = SILU[gate + half]``, ``mult[t] = #{gate + half == t}``, ``prod = silu up``,
    ``out = rq(prod m[c])``; ``False`` (before writing anything) if a gate value is outside
    the table's domain."""
    n, f = gate.shape
    T = table.shape[0]
    for i in range(n):
        for c in range(f):
            r = gate[i, c] + half
            if r < 0 or r >= T:
                return False
    for t in range(T):
        mult[t] = 0
    for i in range(n):
        for c in range(f):
            r = gate[i, c] + half
            mult[r] += 1
            sv = table[r]
            silu[i, c] = sv
            pv = sv * up[i, c]
            prod[i, c] = pv
            q[i, c], rem[i, c], out[i, c] = _requant(pv * m[c], shift, lo, hi)
    return True


@_njit
def argmax_rows(logits, best, ids, gap):
    """Per row: ``best = max_v logits``, ``ids`` the lowest ``v`` attaining it,
    ``gap[i, v] = best - logits[i, v] - [v < ids]``."""
    n, V = logits.shape
    for i in range(n):
        b = logits[i, 0]
        a = 0
        for v in range(1, V):
            x = logits[i, v]
            if x > b:
                b = x
                a = v
        best[i] = b
        ids[i] = a
        for v in range(V):
            gap[i, v] = b - logits[i, v] - (1 if v < a else 0)
