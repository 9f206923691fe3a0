"""Numba kernels of the sumcheck prover.

Tables are stacked: ``tables[j, i]`` is entry ``i`` of multilinear ``j``; base tables have shape
``(k, N)``, extension tables ``(k, N, 2)``. Only the first ``size`` entries of each row are live
(folding halves ``size`` every round, in place).

An expression is a sum of products of tables: ``term_idx[t, :term_len[t]]`` lists the tables of
term ``t``. The kernels return per-term sums (``acc[t, x] = sum_i prod_{j in t} f_j(.., x, i)``
for ``x = 0..d``); the caller applies the term coefficients, so no coefficient product is paid
per entry.

Each round kernel splits the ``i`` range into chunks processed in parallel (``prange``) with one
accumulator per chunk, then adds the chunk sums.
"""

from __future__ import annotations

import numba
import numpy as np

from zkinfer.field._kernels import ONE, ZERO, add, ext_mul, mul, sub

_pnjit = numba.njit(cache=True, nogil=True, parallel=True)

_CHUNKS = 16  # enough to balance two to eight threads; small tables use one chunk


def _n_chunks(half: int) -> int:
    return 1 if half < 4096 else _CHUNKS


@_pnjit
def round_base(tables, size, term_idx, term_len, degree, n_chunks):
    """Per-term sums of one round over base tables; returns ``acc`` of shape ``(T, d+1)``.

    ``f_j(x, i) = lo + x (hi - lo)`` with ``lo = tables[j, i]``, ``hi = tables[j, i + size/2]``.
    """
    k = tables.shape[0]
    n_terms = term_idx.shape[0]
    half = size // 2
    partial = np.zeros((n_chunks, n_terms, degree + 1), dtype=np.uint64)
    step = (half + n_chunks - 1) // n_chunks
    for c in numba.prange(n_chunks):
        vals = np.empty((k, degree + 1), dtype=np.uint64)
        start = c * step
        stop = min(half, start + step)
        for i in range(start, stop):
            for j in range(k):
                lo = tables[j, i]
                hi = tables[j, i + half]
                diff = sub(hi, lo)
                vals[j, 0] = lo
                for x in range(1, degree + 1):
                    vals[j, x] = add(vals[j, x - 1], diff)
            for t in range(n_terms):
                for x in range(degree + 1):
                    prod = vals[term_idx[t, 0], x]
                    for m in range(1, term_len[t]):
                        prod = mul(prod, vals[term_idx[t, m], x])
                    partial[c, t, x] = add(partial[c, t, x], prod)
    acc = np.zeros((n_terms, degree + 1), dtype=np.uint64)
    for c in range(n_chunks):
        for t in range(n_terms):
            for x in range(degree + 1):
                acc[t, x] = add(acc[t, x], partial[c, t, x])
    return acc


@_pnjit
def round_ext(tables, size, term_idx, term_len, degree, n_chunks):
    """Per-term sums of one round over extension tables; returns ``(T, d+1, 2)``."""
    k = tables.shape[0]
    n_terms = term_idx.shape[0]
    half = size // 2
    partial = np.zeros((n_chunks, n_terms, degree + 1, 2), dtype=np.uint64)
    step = (half + n_chunks - 1) // n_chunks
    for c in numba.prange(n_chunks):
        vals = np.empty((k, degree + 1, 2), dtype=np.uint64)
        start = c * step
        stop = min(half, start + step)
        for i in range(start, stop):
            for j in range(k):
                lo0 = tables[j, i, 0]
                lo1 = tables[j, i, 1]
                d0 = sub(tables[j, i + half, 0], lo0)
                d1 = sub(tables[j, i + half, 1], lo1)
                vals[j, 0, 0] = lo0
                vals[j, 0, 1] = lo1
                for x in range(1, degree + 1):
                    vals[j, x, 0] = add(vals[j, x - 1, 0], d0)
                    vals[j, x, 1] = add(vals[j, x - 1, 1], d1)
            for t in range(n_terms):
                for x in range(degree + 1):
                    j0 = term_idx[t, 0]
                    p0 = vals[j0, x, 0]
                    p1 = vals[j0, x, 1]
                    for m in range(1, term_len[t]):
                        jm = term_idx[t, m]
                        p0, p1 = ext_mul(p0, p1, vals[jm, x, 0], vals[jm, x, 1])
                    partial[c, t, x, 0] = add(partial[c, t, x, 0], p0)
                    partial[c, t, x, 1] = add(partial[c, t, x, 1], p1)
    acc = np.zeros((n_terms, degree + 1, 2), dtype=np.uint64)
    for c in range(n_chunks):
        for t in range(n_terms):
            for x in range(degree + 1):
                acc[t, x, 0] = add(acc[t, x, 0], partial[c, t, x, 0])
                acc[t, x, 1] = add(acc[t, x, 1], partial[c, t, x, 1])
    return acc


@_pnjit
def fold_base_into(tables, size, r0, r1, out):
    """``out[j, i] = t[j, i] + r (t[j, i + size/2] - t[j, i])`` from base into extension."""
    half = size // 2
    for j in range(tables.shape[0]):
        for i in numba.prange(half):
            lo = tables[j, i]
            d = sub(tables[j, i + half], lo)
            out[j, i, 0] = add(lo, mul(r0, d))
            out[j, i, 1] = mul(r1, d)


@_pnjit
def fold_ext_inplace(tables, size, r0, r1):
    """Fold every extension table in place: entries ``[0, size/2)`` get the folded values."""
    half = size // 2
    for j in range(tables.shape[0]):
        for i in numba.prange(half):
            lo0 = tables[j, i, 0]
            lo1 = tables[j, i, 1]
            d0 = sub(tables[j, i + half, 0], lo0)
            d1 = sub(tables[j, i + half, 1], lo1)
            e0, e1 = ext_mul(r0, r1, d0, d1)
            tables[j, i, 0] = add(lo0, e0)
            tables[j, i, 1] = add(lo1, e1)


@_pnjit
def embed_base(tables, out):
    """``out[j, i] = (tables[j, i], 0)``: base tables as extension tables."""
    for j in range(tables.shape[0]):
        for i in numba.prange(tables.shape[1]):
            out[j, i, 0] = tables[j, i]
            out[j, i, 1] = ZERO


__all__ = [
    "ONE",
    "round_base",
    "round_ext",
    "fold_base_into",
    "fold_ext_inplace",
    "embed_base",
]
