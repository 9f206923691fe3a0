"""Numba kernels of the WHIR prover (never imported by the verifier)."""

from __future__ import annotations

from zkinfer._jit import numba  # the prover extra: a clear error when it is missing
from zkinfer.field._kernels import add, mul

_njit = numba.njit(cache=True, nogil=True)


@_njit
def axpy_base(acc, c0, c1, table):
    """``acc[i] += (c0 + c1 X) * table[i]`` for an extension ``acc`` ``(N, 2)`` and a base
    ``table`` ``(N,)``, in place."""
    for i in range(table.shape[0]):
        acc[i, 0] = add(acc[i, 0], mul(c0, table[i]))
        acc[i, 1] = add(acc[i, 1], mul(c1, table[i]))
