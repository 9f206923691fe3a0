"""Numba kernel of the float model's matrix products (private; loaded on first use).

The quantizer's activation scales come from the float forward, so its matrix products must give
the same bits on every machine and at every thread count: BLAS does not (OpenBLAS picks its
kernel by CPU and splits products across threads; with 2 threads it changes MiniLM's calibrated
activations, hence its integer model and its verifying key). This kernel is serial and adds the
products ``a[i, p] * b[p, j]`` for ``p = 0, 1, ...`` in that order, each product and each sum
rounded once (no ``fastmath``: LLVM neither reassociates the sums nor fuses them into FMAs), so
the result is the same IEEE-754 float64 on every machine. Vectorizing over ``j`` keeps that
order per element.
"""

from __future__ import annotations

import numpy as np

from zkinfer._jit import numba  # the prover extra: a clear error when it is missing

__all__ = ["matmul_into", "gram_add", "reverse_cholesky_inverse", "gptq_round"]


@numba.njit(cache=True, nogil=True)
def matmul_into(a, b, out):
    """``out = a @ b`` for C-contiguous float64 ``a (n, k)``, ``b (k, m)``, ``out (n, m)``.

    ``out[i, j] = (...((a[i,0] b[0,j]) + a[i,1] b[1,j]) + ...) + a[i,k-1] b[k-1,j]``.
    """
    n, k = a.shape
    m = b.shape[1]
    for i in range(n):
        for j in range(m):
            out[i, j] = 0.0
    # p outermost: row p of b is read once and stays in cache while every row of out is updated
    for p in range(k):
        for i in range(n):
            x = a[i, p]
            for j in range(m):
                out[i, j] += x * b[p, j]


@numba.njit(cache=True, nogil=True)
def gram_add(x, out):
    """``out += x.T @ x`` for C-contiguous float64 ``x (n, d)``, upper triangle then mirrored.

    Rows of ``x`` are added in order ``t = 0, 1, ...``; each product and sum rounded once.
    """
    n, d = x.shape
    for t in range(n):
        for i in range(d):
            xi = x[t, i]
            if xi != 0.0:
                for j in range(i, d):
                    out[i, j] += xi * x[t, j]
    for i in range(d):
        for j in range(i):
            out[i, j] = out[j, i]


@numba.njit(cache=True, nogil=True)
def reverse_cholesky_inverse(h):
    """``U`` upper triangular with ``U^T U = h^-1`` for a symmetric positive definite ``h``.

    ``h = R R^T`` with ``R`` upper triangular (a Cholesky factorisation taken from the last row
    to the first), then ``U = R^-1``; fixed operation order throughout.
    """
    d = h.shape[0]
    r = np.zeros((d, d))
    for j in range(d - 1, -1, -1):
        s = h[j, j]
        for k in range(j + 1, d):
            s -= r[j, k] * r[j, k]
        if s <= 0.0:
            s = 1e-300
        r[j, j] = np.sqrt(s)
        for i in range(j - 1, -1, -1):
            s = h[i, j]
            for k in range(j + 1, d):
                s -= r[i, k] * r[j, k]
            r[i, j] = s / r[j, j]
    u = np.zeros((d, d))
    for i in range(d - 1, -1, -1):
        u[i, i] = 1.0 / r[i, i]
        for j in range(i + 1, d):
            s = 0.0
            for k in range(i + 1, j + 1):
                s += r[i, k] * u[k, j]
            u[i, j] = -s / r[i, i]
    return u


@numba.njit(cache=True, nogil=True)
def gptq_round(w, s_w, u, qmax):
    """Round ``w (d_in, d_out)`` to integers ``q`` (``|q| <= qmax``) one input row at a time,
    pushing each row's rounding error onto the rows not yet rounded (GPTQ, OBS updates with
    ``u``, the upper Cholesky factor of the inverse second-moment matrix). ``w`` is overwritten.
    """
    d_in, d_out = w.shape
    q = np.empty((d_in, d_out), dtype=np.int64)
    err = np.empty(d_out)
    for i in range(d_in):
        dii = u[i, i]
        for j in range(d_out):
            v = w[i, j] / s_w[j]
            r = np.floor(abs(v) + 0.5)
            if r > qmax:
                r = qmax
            if v < 0.0:
                r = -r
            q[i, j] = np.int64(r)
            err[j] = (w[i, j] - r * s_w[j]) / dii
        for k in range(i + 1, d_in):
            uk = u[i, k]
            if uk != 0.0:
                for j in range(d_out):
                    w[k, j] -= uk * err[j]
    return q
