"""Numba kernels of the float model's matrix products and of GPTQ rounding (private; loaded on
first use).

The quantizer's activation scales come from the float forward, so its matrix products must give
the same bits on every machine and at every thread count: BLAS does not (OpenBLAS picks its
kernel by CPU and splits products across threads; with 2 threads it changes MiniLM's calibrated
activations, hence its integer model and its verifying key). Every output element is accumulated
in one fixed order, each product and each sum rounded once (no
``fastmath``: LLVM neither reassociates the sums nor fuses them into FMAs), so the result is the
same IEEE-754 float64 on every machine. The loops are ordered so that the innermost one runs
over independent output elements (LLVM vectorizes it without changing any element's order) and
blocked so that the updated elements stay in cache; the order of the terms of each single sum is
the one documented per kernel (the straightforward scalar loop's), whatever the blocking.
The kernels are serial except :func:`matmul_into_parallel`, which hands whole blocks of output
rows to Numba's threads: each element is still summed by one thread in the documented order, so
its bits do not depend on the number of threads.
"""

from __future__ import annotations

import numpy as np

from zkinfer._jit import numba  # the prover extra: a clear error when it is missing

__all__ = ["matmul_into", "matmul_into_parallel", "gram_add", "reverse_cholesky_inverse", "gptq_round"]

# Block sizes (cache tiles; they do not change any result). Rows x columns of out kept hot.
_MM_ROWS = 32
_MM_COLS = 256
_GRAM_ROWS = 32
_GRAM_COLS = 256
_GPTQ_ROWS = 32


@numba.njit(cache=True, nogil=True)
def _matmul_tile(a, b, out, i0, i1, j0, j1):
    """``out[i, j] += sum_p a[i, p] b[p, j]`` for ``i0 <= i < i1``, ``j0 <= j < j1``, the terms
    added one at a time for ``p = 0, 1, ...`` (four per pass over the tile: the parenthesised
    sum is the same sequence of roundings, with a quarter of the loads and stores of ``out``)."""
    k = a.shape[1]
    k4 = k - k % 4
    w = j1 - j0
    for p in range(0, k4, 4):
        b0 = b[p, j0:j1]
        b1 = b[p + 1, j0:j1]
        b2 = b[p + 2, j0:j1]
        b3 = b[p + 3, j0:j1]
        for i in range(i0, i1):
            x0 = a[i, p]
            x1 = a[i, p + 1]
            x2 = a[i, p + 2]
            x3 = a[i, p + 3]
            orow = out[i, j0:j1]
            for j in range(w):
                orow[j] = (((orow[j] + x0 * b0[j]) + x1 * b1[j]) + x2 * b2[j]) + x3 * b3[j]
    for p in range(k4, k):
        brow = b[p, j0:j1]
        for i in range(i0, i1):
            x = a[i, p]
            orow = out[i, j0:j1]
            for j in range(w):
                orow[j] += x * brow[j]


@numba.njit(cache=True, nogil=True)
def matmul_into(a, b, out):
    """``out = a @ b`` for C-contiguous float64 ``a (n, k)``, ``b (k, m)``, ``out (n, m)``.

    ``out[i, j] = (...((a[i,0] b[0,j]) + a[i,1] b[1,j]) + ...) + a[i,k-1] b[k-1,j]``.
    """
    n = a.shape[0]
    m = b.shape[1]
    for i in range(n):
        for j in range(m):
            out[i, j] = 0.0
    # tiles of out (rows i0.., columns j0..) stay in cache while p runs over the whole sum
    # (1-D row slices: loops from 0 over contiguous rows are the ones LLVM vectorizes)
    for j0 in range(0, m, _MM_COLS):
        for i0 in range(0, n, _MM_ROWS):
            _matmul_tile(a, b, out, i0, min(n, i0 + _MM_ROWS), j0, min(m, j0 + _MM_COLS))


@numba.njit(cache=True, nogil=True, parallel=True)
def matmul_into_parallel(a, b, out):
    """:func:`matmul_into` (the same bits) with blocks of ``_MM_ROWS`` rows of ``out`` spread
    over Numba's threads; each block is summed by one thread exactly as the serial kernel does."""
    n = a.shape[0]
    m = b.shape[1]
    for blk in numba.prange((n + _MM_ROWS - 1) // _MM_ROWS):
        i0 = blk * _MM_ROWS
        i1 = min(n, i0 + _MM_ROWS)
        for i in range(i0, i1):
            for j in range(m):
                out[i, j] = 0.0
        for j0 in range(0, m, _MM_COLS):
            _matmul_tile(a, b, out, i0, i1, j0, min(m, j0 + _MM_COLS))


@numba.njit(cache=True, nogil=True)
def gram_add(x, out):
    """``out += x.T @ x`` for C-contiguous float64 ``x (n, d)``, upper triangle then mirrored.

    ``out[i, j]`` (``i <= j``) gets ``x[t, i] * x[t, j]`` added for ``t = 0, 1, ...`` in order
    (terms with ``x[t, i] == 0`` skipped), each product and sum rounded once; so one call on
    the rows of several inputs stacked in order equals one call per input in that order.
    """
    n, d = x.shape
    for i0 in range(0, d, _GRAM_ROWS):
        i1 = min(d, i0 + _GRAM_ROWS)
        for j0 in range(i0, d, _GRAM_COLS):
            j1 = min(d, j0 + _GRAM_COLS)
            for t in range(n):
                for i in range(i0, i1):
                    xi = x[t, i]
                    if xi != 0.0:
                        lo = max(i, j0)
                        orow = out[i, lo:j1]
                        xrow = x[t, lo:j1]
                        for j in range(j1 - lo):
                            orow[j] += xi * xrow[j]
    for i in range(d):
        for j in range(i):
            out[i, j] = out[j, i]


@numba.njit(cache=True, nogil=True)
def reverse_cholesky_inverse(h):
    """``U`` upper triangular with ``U^T U = h^-1`` for a symmetric positive definite ``h``.

    ``h = R R^T`` with ``R`` upper triangular (a Cholesky factorisation taken from the last row
    to the first), then ``U = R^-1``. Fixed order: ``R[i, j] = (h[i, j] - R[i, j+1] R[j, j+1]
    - ... - R[i, d-1] R[j, d-1]) / R[j, j]`` (subtracted left to right; a non-positive pivot
    becomes ``1e-300``), ``U[i, j] = -(R[i, i+1] U[i+1, j] + ... + R[i, j] U[j, j]) / R[i, i]``
    (added left to right).
    """
    d = h.shape[0]
    # rt = R^T (rt[k, i] = R[i, k]) so that column j of R is computed over contiguous rows
    rt = np.zeros((d, d))
    s = np.empty(d)
    for j in range(d - 1, -1, -1):
        for i in range(j + 1):
            s[i] = h[j, i]  # h is symmetric: h[j, i] == h[i, j]
        for k in range(j + 1, d):
            c = rt[k, j]
            for i in range(j + 1):
                s[i] -= rt[k, i] * c
        if s[j] <= 0.0:
            s[j] = 1e-300
        rjj = np.sqrt(s[j])
        rt[j, j] = rjj
        for i in range(j):
            rt[j, i] = s[i] / rjj
    u = np.zeros((d, d))
    for i in range(d - 1, -1, -1):
        rii = rt[i, i]
        u[i, i] = 1.0 / rii
        for j in range(i + 1, d):
            s[j] = 0.0
        for k in range(i + 1, d):
            c = rt[k, i]
            urow = u[k, k:]
            srow = s[k:]
            for j in range(d - k):
                srow[j] += c * urow[j]
        for j in range(i + 1, d):
            u[i, j] = -s[j] / rii
    return u


@numba.njit(cache=True, nogil=True)
def gptq_round(w, s_w, u, qmax):
    """Round ``w (d_in, d_out)`` to integers ``q`` (``|q| <= qmax``) one input row at a time,
    pushing each row's rounding error onto the rows not yet rounded (GPTQ, OBS updates with
    ``u``, the upper Cholesky factor of the inverse second-moment matrix). ``w`` is overwritten.

    Row ``k`` gets ``u[i, k] * err_i`` subtracted for ``i = 0, 1, ..., k-1`` in order (terms
    with ``u[i, k] == 0`` skipped), ``err_i = (w[i] - q[i] s_w) / u[i, i]``; rows are updated
    in blocks (a block's errors reach the later rows together), which keeps that order.
    """
    d_in, d_out = w.shape
    q = np.empty((d_in, d_out), dtype=np.int64)
    err = np.empty((_GPTQ_ROWS, d_out))
    for b0 in range(0, d_in, _GPTQ_ROWS):
        b1 = min(d_in, b0 + _GPTQ_ROWS)
        for i in range(b0, b1):
            e = err[i - b0]
            dii = u[i, i]
            for j in range(d_out):
                v = w[i, j] / s_w[j]
                r = np.floor(abs(v) + 0.5)
                if r > qmax:
                    r = qmax
                if v < 0.0:
                    r = -r
                q[i, j] = np.int64(r)
                e[j] = (w[i, j] - r * s_w[j]) / dii
            for k in range(i + 1, b1):
                uk = u[i, k]
                if uk != 0.0:
                    for j in range(d_out):
                        w[k, j] -= uk * e[j]
        for k in range(b1, d_in):
            for i in range(b0, b1):
                uk = u[i, k]
                if uk != 0.0:
                    e = err[i - b0]
                    for j in range(d_out):
                        w[k, j] -= uk * e[j]
    return q
