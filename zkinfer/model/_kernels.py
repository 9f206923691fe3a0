"""Numba kernels of the integer forward pass (private; prover side only).

Each kernel computes one op of :mod:`zkinfer.model.reference` and writes every trace column of
that op into preallocated ``int64`` arrays; :mod:`zkinfer.model.forward` allocates them and each
op's home (:mod:`zkinfer.model.ops`) calls its kernel, in the order of
:func:`zkinfer.model.intmodel.ops`. Tests compare every column with
the numpy reference (hypothesis, random models and inputs).

All arithmetic is ``int64`` (``uint64`` mixed with ``int64`` would promote to ``float64`` in
Numba). ``//`` and ``>>`` on signed integers are floor division and arithmetic shift, as in numpy.
Declared widths (checked after each kernel by the caller) keep every product below ``2^62``.

The kernels are serial: on the 2-core machines measured here, ``parallel=True`` (OpenMP layer)
added about 8 ms of overhead per call and was not faster on MiniLM-sized matrices. ``nogil``
lets callers run several sequences in threads.
"""

from __future__ import annotations

import numpy as np

from zkinfer._jit import numba  # the prover extra: a clear error when it is missing

_njit = numba.njit(cache=True, nogil=True)
_inline = numba.njit(cache=True, inline="always")


@_inline
def _requant(pre, shift, lo, hi):
    """``t = pre + 2^(s-1)``; ``q = t >> s``; ``rem = t - q*2^s``; ``out = clamp(q, lo, hi)``."""
    t = pre + (np.int64(1) << (shift - 1))
    q = t >> shift
    rem = t - (q << shift)
    out = q
    if out < lo:
        out = lo
    elif out > hi:
        out = hi
    return q, rem, out


@_inline
def _isqrt(a):
    """``floor(sqrt(a))`` for ``a >= 0`` by integer Newton iteration."""
    if a < 2:
        return a
    x = np.int64(1) << ((64 - _clz(a) + 1) // 2)  # x >= sqrt(a)
    while True:
        y = (x + a // x) >> 1
        if y >= x:
            return x
        x = y


@_inline
def _clz(a):
    """Leading zeros of a positive int64 viewed as 64 bits."""
    n = 0
    b = np.int64(1) << 62
    while n < 63 and a < b:
        b >>= 1
        n += 1
    return n + 1


@_njit
def embed(ids, tok_table, pos_table, tok, pos, x):
    """``tok = TOK[ids]``, ``pos = POS[0:n]``, ``x = tok + pos``."""
    n, d = tok.shape
    for i in range(n):
        t = ids[i]
        for c in range(d):
            tok[i, c] = tok_table[t, c]
            pos[i, c] = pos_table[i, c]
            x[i, c] = tok[i, c] + pos[i, c]


@_njit
def linear(x, w, b, m, res, res_m, has_res, shift, lo, hi, acc, q, rem, out):
    """``acc = x @ w + b``; ``pre = acc*m[c] (+ res*res_m[c])``; requantize into q, rem, out."""
    n, d_in = x.shape
    d_out = w.shape[1]
    for i in range(n):
        row = acc[i]
        for j in range(d_out):
            row[j] = b[j]
        for kk in range(d_in):
            xv = x[i, kk]
            if xv != 0:
                wr = w[kk]
                for j in range(d_out):
                    row[j] += xv * wr[j]
        for j in range(d_out):
            pre = row[j] * m[j]
            if has_res:
                pre += res[i, j] * res_m[j]
            q[i, j], rem[i, j], out[i, j] = _requant(pre, shift, lo, hi)


@_njit
def layernorm(x, g, beta, eps, k, shift, lo, hi,
              s_, mean, mean_rem, c, var, rsqrt, rsqrt_lo, rsqrt_hi, z, q, rem, out):  # fmt: skip
    """Integer LayerNorm of each row of ``x`` (see the reference for the identities)."""
    n, d = x.shape
    two_k = np.int64(1) << k
    for i in range(n):
        s = np.int64(0)
        for j in range(d):
            s += x[i, j]
        mu = s // d  # floor
        s_[i] = s
        mean[i] = mu
        mean_rem[i] = s - mu * d
        v = np.int64(eps)
        for j in range(d):
            cj = x[i, j] - mu
            c[i, j] = cj
            v += cj * cj
        var[i] = v
        # rsqrt = floor(sqrt(2^k / v)) = isqrt(floor(2^k / v))
        y = _isqrt(two_k // v)
        rsqrt[i] = y
        rsqrt_lo[i] = two_k - y * y * v
        rsqrt_hi[i] = (y + 1) * (y + 1) * v - two_k - 1
        for j in range(d):
            zj = c[i, j] * y
            z[i, j] = zj
            q[i, j], rem[i, j], out[i, j] = _requant(zj * g[j] + beta[j], shift, lo, hi)


@_njit
def attention(qm, km, vm, n_heads, table, prob_bits, ctx_m, shift, lo, hi,
              scores, mx, argmax, diff, idx, e, ssum, p, rem,
              cacc, cq, crem, cout):  # fmt: skip
    """Scores, integer softmax and context for all heads (see the reference)."""
    n, d = qm.shape
    dh = d // n_heads
    last = table.shape[0] - 1
    for h in range(n_heads):
        base = h * dh
        for i in range(n):
            # scores[h, i, j] = q_i . k_j over the head's channels; row max and first argmax
            best = np.int64(0)
            arg = 0
            for j in range(n):
                acc = np.int64(0)
                for t in range(dh):
                    acc += qm[i, base + t] * km[j, base + t]
                scores[h, i, j] = acc
                if j == 0 or acc > best:
                    best = acc
                    arg = j
            mx[h, i] = best
            argmax[h, i] = arg
            total = np.int64(0)
            for j in range(n):
                dj = best - scores[h, i, j]
                diff[h, i, j] = dj
                ij = dj if dj < last else last
                idx[h, i, j] = ij
                ej = table[ij]
                e[h, i, j] = ej
                total += ej
            ssum[h, i] = total
            for j in range(n):
                num = e[h, i, j] << prob_bits
                pj = num // total
                p[h, i, j] = pj
                rem[h, i, j] = num - pj * total
            # context: acc[i, base+t] = sum_j p[h, i, j] * v[j, base+t]
            for t in range(dh):
                cacc[i, base + t] = 0
            for j in range(n):
                pj = p[h, i, j]
                if pj != 0:
                    for t in range(dh):
                        cacc[i, base + t] += pj * vm[j, base + t]
            for t in range(dh):
                c = base + t
                cq[i, c], crem[i, c], cout[i, c] = _requant(cacc[i, c] * ctx_m[c], shift, lo, hi)


@_njit
def count(values, size, mult):
    """``mult[t] = #{v in values: v == t}`` (LogUp multiplicities); values in ``[0, size)``."""
    for t in range(size):
        mult[t] = 0
    flat = values.ravel()
    for i in range(flat.shape[0]):
        mult[flat[i]] += 1


@_njit
def table_lookup(u, table, half, out, mult):
    """``out = T[u + half]`` and the multiplicities of the rows; returns False if out of domain."""
    n, d = u.shape
    size = table.shape[0]
    for t in range(size):
        mult[t] = 0
    for i in range(n):
        for j in range(d):
            r = u[i, j] + half
            if r < 0 or r >= size:
                return False
            out[i, j] = table[r]
            mult[r] += 1
    return True


@_njit
def pool(h, shift, s, mean, rem):
    """``s = sum_i h[i]``; ``s*2^P = mean*n + rem``, ``0 <= rem < n``."""
    n, d = h.shape
    for c in range(d):
        acc = np.int64(0)
        for i in range(n):
            acc += h[i, c]
        s[c] = acc
        num = acc << shift
        mu = num // n
        mean[c] = mu
        rem[c] = num - mu * n
