"""Numba kernels of the relation provers (prover side only)."""

from __future__ import annotations

import numpy as np

from zkinfer._jit import numba  # the prover extra: a clear error when it is missing
from zkinfer.field._kernels import ZERO, add, ext_mul, mul

_pnjit = numba.njit(cache=True, nogil=True, parallel=True)


@_pnjit
def combine_rows(a, w, out):
    """``out[y] = sum_i w[i] a[i, y]``: base matrix ``a`` ``(m, k)``, extension weights ``(m, 2)``.

    Parallel over column blocks; ``O(m k)`` base-by-extension products.
    """
    m, k = a.shape
    n_blocks = 16 if k >= 64 else 1
    step = (k + n_blocks - 1) // n_blocks
    for blk in numba.prange(n_blocks):
        lo = blk * step
        hi = min(k, lo + step)
        for y in range(lo, hi):
            out[y, 0] = ZERO
            out[y, 1] = ZERO
        for i in range(m):
            w0 = w[i, 0]
            w1 = w[i, 1]
            for y in range(lo, hi):
                v = a[i, y]
                out[y, 0] = add(out[y, 0], mul(w0, v))
                out[y, 1] = add(out[y, 1], mul(w1, v))


@_pnjit
def combine_cols(b, w, out):
    """``out[y] = sum_j b[y, j] w[j]``: base matrix ``b`` ``(k, n)``, extension weights ``(n, 2)``."""
    k, n = b.shape
    for y in numba.prange(k):
        s0 = ZERO
        s1 = ZERO
        for j in range(n):
            v = b[y, j]
            s0 = add(s0, mul(w[j, 0], v))
            s1 = add(s1, mul(w[j, 1], v))
        out[y, 0] = s0
        out[y, 1] = s1


__all__ = ["combine_rows", "combine_cols", "ext_axpy", "base_axpy", "eq_axpy", "np"]


@_pnjit
def base_axpy(out, a, x):
    """``out[i] += a x[i]`` in the base field (canonical ``a`` and arrays)."""
    for i in numba.prange(x.shape[0]):
        out[i] = add(out[i], mul(a, x[i]))


@_pnjit
def ext_axpy(out, a0, a1, x):
    """``out[i] += a x[i]`` for an extension scalar ``a`` and extension arrays ``(n, 2)``."""
    for i in numba.prange(x.shape[0]):
        p0, p1 = ext_mul(a0, a1, x[i, 0], x[i, 1])
        out[i, 0] = add(out[i, 0], p0)
        out[i, 1] = add(out[i, 1], p1)


@_pnjit
def pair_column(src, out, real, off, b0, b1, pad0, pad1, res):
    """Look-up values of a table relation: ``res[i] = (src[i] + off) + beta out[i]`` on real
    entries, ``pad`` (the value of the row ``off``) on the padding. ``off`` is canonical."""
    for i in numba.prange(src.shape[0]):
        if real[i]:
            p0, p1 = ext_mul(b0, b1, out[i], ZERO)
            res[i, 0] = add(add(src[i], off), p0)
            res[i, 1] = p1
        else:
            res[i, 0] = pad0
            res[i, 1] = pad1


@_pnjit
def eq_axpy(out, scales, lo):
    """``out[h * L + l] += scales[h] lo[l]`` for ``h < H``, ``l < L`` (extension arrays:
    ``out`` ``(H L, 2)``, ``scales`` ``(H, 2)``, ``lo`` ``(L, 2)``): ``a eq(r, .)`` added to a
    block without its ``2^n``-entry eq table, from ``eq(r, (h, l)) = eq(r_hi, h) eq(r_lo, l)``
    and ``scales = a eq(r_hi, .)``."""
    n_lo = lo.shape[0]
    for h in numba.prange(scales.shape[0]):
        s0 = scales[h, 0]
        s1 = scales[h, 1]
        base = h * n_lo
        for x in range(n_lo):
            p0, p1 = ext_mul(s0, s1, lo[x, 0], lo[x, 1])
            out[base + x, 0] = add(out[base + x, 0], p0)
            out[base + x, 1] = add(out[base + x, 1], p1)
