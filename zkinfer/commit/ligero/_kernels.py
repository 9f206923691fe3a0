"""Numba kernels of the Ligero prover: row encoding and row combinations.

Private (prover side); the verifier never imports this module. Pure-Python twins of each kernel
are in ``tests/commit/test_ligero_kernels.py``.

Row code: a row ``m`` of ``C = 2^c`` base elements is the coefficient vector of
``m(X) = sum_i m_i X^i``; its codeword of length ``L = B C`` (``B = 2^b`` the blowup) is

    ``Enc(m)[j] = m(w^bitrev_L(j))``, ``w`` a primitive ``L``-th root of unity,

i.e. the evaluations on the order-``L`` subgroup in bit-reversed order. That order is what a
decimation-in-frequency NTT produces without a bit-reversal pass, and it splits into ``B`` blocks
of ``C`` positions, block ``k`` being the size-``C`` DIF NTT of ``m_i s_k^i`` with
``s_k = w^bitrev_B(k)`` (the zero-padded top of the length-``L`` input makes the first ``b``
stages of the long transform trivial).
"""

from __future__ import annotations

import numpy as np

from zkinfer._jit import numba  # the prover extra: a clear error when it is missing
from zkinfer.field._kernels import EPS, ZERO, P, add, mul

_njit = numba.njit(cache=True, nogil=True)
_pnjit = numba.njit(cache=True, nogil=True, parallel=True)
_inline = numba.njit(cache=True, inline="always")


@_inline
def _add_nb(a, b):
    """``a + b mod p`` without data-dependent branches (NTT butterflies: random carries
    mispredict half the time)."""
    s = a + b
    s += EPS * np.uint64(s < a)  # a wrap past 2^64 is -2^64 = -EPS (mod p): add EPS back
    return s - P * np.uint64(s >= P)


@_inline
def _sub_nb(a, b):
    """``a - b mod p`` without data-dependent branches."""
    return (a - b) + P * np.uint64(a < b)

ROW_CHUNK = 8
"""Rows encoded together: one 64-byte cache line per column when writing the transpose."""


@_njit
def _dif_ntt(a, tw, n):
    """In-place decimation-in-frequency NTT of ``a[:n]``: natural order in, bit-reversed out.

    ``tw[m + j] = w_{2m}^j`` (the layout of :func:`zkinfer.poly._kernels.twiddle_table`).
    """
    m = n // 2
    while m >= 1:
        if m == 1:
            for s in range(0, n, 2):
                u = a[s]
                v = a[s + 1]
                a[s] = _add_nb(u, v)
                a[s + 1] = _sub_nb(u, v)
        else:
            for s in range(0, n, 2 * m):
                for j in range(m):
                    # (u, v) -> (u + v, (u - v) w_{2m}^j)
                    u = a[s + j]
                    v = a[s + j + m]
                    a[s + j] = _add_nb(u, v)
                    a[s + j + m] = mul(_sub_nb(u, v), tw[m + j])
        m //= 2


def encode_rows_transposed(rows, shifts, tw, out):
    """Reed-Solomon encode every row of ``rows`` and write the codewords as columns of ``out``:
    :func:`encode_row_range` over all rows (one compiled kernel serves both).

    Arguments:
        rows: ``(R, C)`` base elements (row ``r`` is a message).
        shifts: ``(B, C)``: ``shifts[k, i] = s_k^i`` (see the module docstring).
        tw: DIF twiddles for size ``C``.
        out: ``(B C, R)``: ``out[j, r] = Enc(rows[r])[j]``.
    """
    encode_row_range(rows, 0, rows.shape[0], shifts, tw, out)


@_pnjit
def encode_row_range(rows, r0, r1, shifts, tw, out):
    """Encode rows ``r0 .. r1`` of ``rows`` (``r0`` a multiple of :data:`ROW_CHUNK`): writes
    ``out[:, r0:r1]`` only, so a caller can encode a large matrix in slices and report progress
    between them; ``rows`` and ``out`` are the whole matrices (see
    :func:`encode_rows_transposed` for the other arguments)."""
    c = rows.shape[1]
    blowup = shifts.shape[0]
    length = blowup * c
    num_chunks = (r1 - r0 + ROW_CHUNK - 1) // ROW_CHUNK
    for chunk in numba.prange(num_chunks):
        a = r0 + chunk * ROW_CHUNK
        b = min(r1, a + ROW_CHUNK)
        buf = np.empty((b - a, length), dtype=np.uint64)
        for r in range(a, b):
            nonzero = False
            for i in range(c):
                if rows[r, i] != ZERO:
                    nonzero = True
                    break
            if not nonzero:  # Enc(0) = 0: a trace's zero padding fills whole rows
                for j in range(length):
                    buf[r - a, j] = ZERO
                continue
            for k in range(blowup):
                base = k * c
                for i in range(c):
                    buf[r - a, base + i] = mul(rows[r, i], shifts[k, i])
                _dif_ntt(buf[r - a, base : base + c], tw, c)
        for j in range(length):
            for r in range(a, b):
                out[j, r] = buf[r - a, j]


def combine_rows(rows, coeffs, out):
    """``out[v] = sum_r coeffs[v, r] * rows[r]``: extension combinations of base rows;
    :func:`combine_rows_range` over all columns (one compiled kernel serves both).

    Arguments:
        rows: ``(R, C)`` base.
        coeffs: ``(V, R, 2)`` extension coefficients.
        out: ``(V, C, 2)``.
    """
    combine_rows_range(rows, coeffs, 0, rows.shape[1], out)


@_pnjit
def rows_times_ext(rows, vecs, out):
    """``out[v, r] = sum_i rows[r, i] * vecs[v, i]``: each row against extension vectors.

    Arguments:
        rows: ``(R, C)`` base.
        vecs: ``(V, C, 2)`` extension.
        out: ``(V, R, 2)``.
    """
    num_rows, c = rows.shape
    nv = vecs.shape[0]
    for r in numba.prange(num_rows):
        for v in range(nv):
            s0 = ZERO
            s1 = ZERO
            for i in range(c):
                x = rows[r, i]
                s0 = add(s0, mul(vecs[v, i, 0], x))
                s1 = add(s1, mul(vecs[v, i, 1], x))
            out[v, r, 0] = s0
            out[v, r, 1] = s1


@_pnjit
def combine_rows_range(rows, coeffs, c0, c1, out):
    """:func:`combine_rows` on the columns ``c0 .. c1`` only (writes ``out[:, c0:c1]``), so a
    caller can combine a large matrix in slices and report progress between them; ``rows`` and
    ``out`` are the whole matrices."""
    num_rows = rows.shape[0]
    nv = coeffs.shape[0]
    block = 512
    num_blocks = (c1 - c0 + block - 1) // block
    for bi in numba.prange(num_blocks):
        lo = c0 + bi * block
        hi = min(c1, lo + block)
        for v in range(nv):
            for i in range(lo, hi):
                out[v, i, 0] = ZERO
                out[v, i, 1] = ZERO
            for r in range(num_rows):
                nonzero = False
                for i in range(lo, hi):
                    if rows[r, i] != ZERO:
                        nonzero = True
                        break
                if not nonzero:  # zero padding and zero witness runs add nothing
                    continue
                k0 = coeffs[v, r, 0]
                k1 = coeffs[v, r, 1]
                for i in range(lo, hi):
                    x = rows[r, i]
                    out[v, i, 0] = add(out[v, i, 0], mul(k0, x))
                    out[v, i, 1] = add(out[v, i, 1], mul(k1, x))
