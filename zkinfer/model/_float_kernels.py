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

from zkinfer._jit import numba  # the prover extra: a clear error when it is missing

__all__ = ["matmul_into"]


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
