"""Numba kernels for polynomials over Goldilocks: NTT, eq tables, multilinear folding.

Private (prover side). Conventions:

- Multilinear tables: index bit order is big-endian in the variables: variable 1 is the most
  significant bit of the index, so binding variable 1 to ``r`` folds the two halves,
  ``v'[i] = v[i] + r * (v[i + N/2] - v[i])``.
- Extension arrays have shape ``(n, 2)`` (see :mod:`zkinfer.field.extension`).
- NTT twiddles for size ``n`` are one array ``tw`` of length ``n`` with ``tw[m + j] = w_{2m}^j``
  for every stage half-size ``m`` (a power of two) and ``j < m``, where ``w_{2m}`` is a primitive
  ``2m``-th root of unity; each stage reads a contiguous slice.

Pure-Python twins live in :mod:`zkinfer.poly.reference`.
"""

from __future__ import annotations

import numpy as np

from zkinfer._jit import numba  # the prover extra: a clear error when it is missing
from zkinfer.field._kernels import (
    ONE,
    ZERO,
    add,
    ext_mul,
    mul,
    power,
    sub,
)

_njit = numba.njit(cache=True, nogil=True)
_pnjit = numba.njit(cache=True, nogil=True, parallel=True)


@_njit
def powers(x, out):
    """``out[i] = x^i``."""
    acc = ONE
    for i in range(out.shape[0]):
        out[i] = acc
        acc = mul(acc, x)


@_njit
def twiddle_table(root, n, out):
    """Fill ``out`` (length ``n``) with ``out[m + j] = root_{2m}^j``, ``root`` of order ``n``.

    ``root_{2m} = root^(n / 2m)``.
    """
    if n == 1:
        out[0] = ONE
        return
    out[0] = ZERO  # unused slot
    m = n // 2
    w = root
    # walk the stages from the largest (m = n/2, root of order n) down, squaring the root
    while m >= 1:
        acc = ONE
        for j in range(m):
            out[m + j] = acc
            acc = mul(acc, w)
        w = mul(w, w)
        m //= 2


@_pnjit
def scale_columns(a, factors):
    """``a[r, i] *= factors[i]`` for every row (coset shifts and ``1/n`` scaling)."""
    for r in numba.prange(a.shape[0]):
        for i in range(a.shape[1]):
            a[r, i] = mul(a[r, i], factors[i])


# ---- multilinear


@_njit
def eq_table(r, out):
    """``out[x] = eq(r, x)`` for ``x`` in ``{0,1}^n``, ``r`` of shape ``(n, 2)`` (extension).

    Built variable by variable: after ``k`` variables, entry ``i`` (``k`` bits, ``x_1`` most
    significant) splits into ``2i -> t[i] (1 - r_k)`` and ``2i + 1 -> t[i] r_k``. Cost: ``2N``
    extension products (one product and one subtraction per new entry).
    """
    n = r.shape[0]
    out[0, 0] = ONE
    out[0, 1] = ZERO
    size = 1
    for k in range(n):
        r0 = r[k, 0]
        r1 = r[k, 1]
        # walk down so entries are not overwritten before they are read
        for i in range(size - 1, -1, -1):
            t0 = out[i, 0]
            t1 = out[i, 1]
            h0, h1 = ext_mul(t0, t1, r0, r1)  # t * r_k
            out[2 * i + 1, 0] = h0
            out[2 * i + 1, 1] = h1
            out[2 * i, 0] = sub(t0, h0)  # t * (1 - r_k) = t - t * r_k
            out[2 * i, 1] = sub(t1, h1)
        size *= 2


@_njit
def eq_table_base(r, out):
    """Like :func:`eq_table` for a base-field point ``r`` (shape ``(n,)``); ``out`` is 1-D."""
    n = r.shape[0]
    out[0] = ONE
    size = 1
    for k in range(n):
        rk = r[k]
        for i in range(size - 1, -1, -1):
            t = out[i]
            h = mul(t, rk)
            out[2 * i + 1] = h
            out[2 * i] = sub(t, h)
        size *= 2


@_njit
def fold_base(v, r0, r1, out):
    """Bind the first variable of the base table ``v`` (length ``N``) to ``r = r0 + r1 X``.

    ``out[i] = v[i] + r (v[i + N/2] - v[i])``, ``out`` of shape ``(N/2, 2)``.
    """
    half = v.shape[0] // 2
    for i in range(half):
        d = sub(v[i + half], v[i])
        out[i, 0] = add(v[i], mul(r0, d))
        out[i, 1] = mul(r1, d)


@_njit
def fold_ext(v, r0, r1, out):
    """Bind the first variable of the extension table ``v`` (shape ``(N, 2)``) to ``r``.

    ``out`` may alias ``v[:N/2]`` (in-place folding).
    """
    half = v.shape[0] // 2
    for i in range(half):
        d0 = sub(v[i + half, 0], v[i, 0])
        d1 = sub(v[i + half, 1], v[i, 1])
        e0, e1 = ext_mul(r0, r1, d0, d1)
        out[i, 0] = add(v[i, 0], e0)
        out[i, 1] = add(v[i, 1], e1)


@_njit
def inner_ext_base(a, v):
    """``sum_i a[i] * v[i]`` with ``a`` extension ``(N, 2)`` and ``v`` base ``(N,)``."""
    s0 = ZERO
    s1 = ZERO
    for i in range(v.shape[0]):
        s0 = add(s0, mul(a[i, 0], v[i]))
        s1 = add(s1, mul(a[i, 1], v[i]))
    return s0, s1


@_njit
def inner_ext_ext(a, v):
    """``sum_i a[i] * v[i]`` for two extension arrays of shape ``(N, 2)``."""
    s0 = ZERO
    s1 = ZERO
    for i in range(v.shape[0]):
        p0, p1 = ext_mul(a[i, 0], a[i, 1], v[i, 0], v[i, 1])
        s0 = add(s0, p0)
        s1 = add(s1, p1)
    return s0, s1


@_njit
def horner_ext(coeffs, x0, x1):
    """``sum_i coeffs[i] x^i`` for base coefficients and an extension point ``x``."""
    a0 = ZERO
    a1 = ZERO
    for i in range(coeffs.shape[0] - 1, -1, -1):
        a0, a1 = ext_mul(a0, a1, x0, x1)
        a0 = add(a0, coeffs[i])
    return a0, a1


__all__ = [
    "powers",
    "twiddle_table",
    "ntt_bitrev_rows",
    "gather_rows",
    "scale_columns",
    "eq_table",
    "eq_table_base",
    "fold_base",
    "fold_ext",
    "inner_ext_base",
    "inner_ext_ext",
    "horner_ext",
    "power",
]


NTT_BLOCK_LOG = 12
""":func:`ntt_bitrev_rows` does the stages within ``2^12``-entry blocks block by block."""

_NTT_COLUMNS = 8


@_pnjit
def _stages_in_blocks(a, tw, bl):
    """Stages of half-size ``1 .. 2^bl / 2`` of a decimation-in-time NTT of every row of ``a``
    (input in bit-reversed order), each ``2^bl``-entry block through all of them while in
    cache; (row, block) pairs in parallel."""
    size = 1 << bl
    per = a.shape[1] >> bl
    for t in numba.prange(a.shape[0] * per):
        r = t // per
        base = (t % per) << bl
        m = 1
        while m < size:
            for start in range(base, base + size, 2 * m):
                for j in range(m):
                    u = a[r, start + j]
                    v = mul(a[r, start + j + m], tw[m + j])
                    a[r, start + j] = add(u, v)
                    a[r, start + j + m] = sub(u, v)
            m *= 2


@_pnjit
def _stages_across_blocks(a, tw, bl):
    """The remaining stages (half-size ``2^bl .. n / 2``) of every row: a butterfly pairs
    entries at the same offset ``o`` of two blocks, so each group of 8 adjacent offsets (one
    cache line per block) is gathered into a scratch, taken through every remaining stage
    there, and written back; (row, group) pairs in parallel."""
    size = 1 << bl
    count = a.shape[1] >> bl
    width = _NTT_COLUMNS if size >= _NTT_COLUMNS else size
    groups = size // width
    for t in numba.prange(a.shape[0] * groups):
        r = t // groups
        o0 = (t % groups) * width
        s = np.empty((count, width), dtype=np.uint64)
        for q in range(count):
            for w in range(width):
                s[q, w] = a[r, o0 + w + q * size]
        # the twiddle of offset o + jq 2^bl at half-size m = mq 2^bl is
        # w_2m^o w_2mq^jq = tw[m + o] tw[mq + jq]: a line of the large table per stage and the
        # small table, instead of one line of the large table per butterfly row; a stage's
        # mq x width twiddles are made once (count x width products over all stages, against
        # count / 2 x width butterflies per stage)
        head = np.empty(width, dtype=np.uint64)
        tws = np.empty((max(count // 2, 1), width), dtype=np.uint64)
        mq = 1
        while mq < count:
            m = mq * size
            for w in range(width):
                head[w] = tw[m + o0 + w]
            for jq in range(mq):
                small = tw[mq + jq]
                for w in range(width):
                    tws[jq, w] = mul(head[w], small)
            for start in range(0, count, 2 * mq):
                for jq in range(mq):
                    for w in range(width):
                        u = s[start + jq, w]
                        v = mul(s[start + jq + mq, w], tws[jq, w])
                        s[start + jq, w] = add(u, v)
                        s[start + jq + mq, w] = sub(u, v)
            mq *= 2
        for q in range(count):
            for w in range(width):
                a[r, o0 + w + q * size] = s[q, w]


@_pnjit
def gather_rows(src, perm, out):
    """``out[r, i] = src[r, perm[i]]`` (chunks of 4096 entries of every row in parallel)."""
    n = out.shape[1]
    chunks = (n + 4095) // 4096
    for t in numba.prange(out.shape[0] * chunks):
        r = t // chunks
        i0 = (t % chunks) * 4096
        for i in range(i0, min(i0 + 4096, n)):
            out[r, i] = src[r, perm[i]]


def ntt_bitrev_rows(a, tw, log_n):
    """In-place forward NTT of every row of ``a`` (``(rows, 2^log_n)``) whose coefficients are
    given in bit-reversed order (the output in natural order): the radix-2 decimation-in-time
    stages without their bit reversal, in two cache-friendly passes
    (:func:`_stages_in_blocks`, :func:`_stages_across_blocks`)."""
    bl = min(NTT_BLOCK_LOG, log_n)
    _stages_in_blocks(a, tw, bl)
    if log_n > bl:
        _stages_across_blocks(a, tw, bl)
