"""Numba kernels of the sumcheck prover.

Tables are stacked: ``tables[j, i]`` is entry ``i`` of multilinear ``j``; base tables have shape
``(k, N)``, extension tables ``(k, N, 2)``. Only the first ``size`` entries of each row are live
(folding halves ``size`` every round, in place).

An expression is a sum of products of tables: ``term_idx[t, :term_len[t]]`` lists the tables of
term ``t``. The kernels return per-term sums (``acc[t, x] = sum_i prod_{j in t} f_j(.., x, i)``
for ``x = 0..d``); the caller applies the term coefficients, so no coefficient product is paid
per entry.

Each kernel has a parallel driver (``prange`` over chunks, one accumulator per chunk) and a
serial one: starting threads costs more than a whole round on small tables, so
:func:`use_parallel` picks the driver by size.
"""

from __future__ import annotations

import numpy as np

from zkinfer._jit import numba  # the prover extra: a clear error when it is missing
from zkinfer.field._kernels import ONE, ZERO, add, ext_mul, mul, sub

_njit = numba.njit(cache=True, nogil=True)
_pnjit = numba.njit(cache=True, nogil=True, parallel=True)
_inline = numba.njit(cache=True, inline="always")

_CHUNKS = 16  # enough to balance two to eight threads
_PARALLEL_FROM = 1 << 13  # live entries per table from which threads pay off


def use_parallel(half: int, k: int = 1) -> bool:
    """Whether a round over ``k`` tables of ``2 half`` live entries should run threaded."""
    return half * k >= _PARALLEL_FROM


@_njit
def _chunk_base(tables, half, term_idx, term_len, degree, start, stop, out):
    k = tables.shape[0]
    vals = np.empty((k, degree + 1), dtype=np.uint64)
    for i in range(start, stop):
        for j in range(k):
            lo = tables[j, i]
            diff = sub(tables[j, i + half], lo)
            vals[j, 0] = lo
            for x in range(1, degree + 1):
                vals[j, x] = add(vals[j, x - 1], diff)
        for t in range(term_idx.shape[0]):
            for x in range(degree + 1):
                prod = vals[term_idx[t, 0], x]
                for m in range(1, term_len[t]):
                    prod = mul(prod, vals[term_idx[t, m], x])
                out[t, x] = add(out[t, x], prod)


@_njit
def _chunk_ext(tables, half, term_idx, term_len, degree, start, stop, out):
    k = tables.shape[0]
    vals = np.empty((k, degree + 1, 2), dtype=np.uint64)
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
        for t in range(term_idx.shape[0]):
            for x in range(degree + 1):
                j0 = term_idx[t, 0]
                p0 = vals[j0, x, 0]
                p1 = vals[j0, x, 1]
                for m in range(1, term_len[t]):
                    jm = term_idx[t, m]
                    p0, p1 = ext_mul(p0, p1, vals[jm, x, 0], vals[jm, x, 1])
                out[t, x, 0] = add(out[t, x, 0], p0)
                out[t, x, 1] = add(out[t, x, 1], p1)


@_inline
def _sum_chunks(partial):
    acc = np.zeros(partial.shape[1:], dtype=np.uint64)
    flat = acc.reshape(-1)
    for c in range(partial.shape[0]):
        part = partial[c].reshape(-1)
        for t in range(flat.shape[0]):
            flat[t] = add(flat[t], part[t])
    return acc


@_pnjit
def round_base(tables, size, term_idx, term_len, degree):
    """Per-term sums of one round over base tables (threaded); returns ``(T, d+1)``.

    ``f_j(x, i) = lo + x (hi - lo)`` with ``lo = tables[j, i]``, ``hi = tables[j, i + size/2]``.
    """
    half = size // 2
    partial = np.zeros((_CHUNKS, term_idx.shape[0], degree + 1), dtype=np.uint64)
    step = (half + _CHUNKS - 1) // _CHUNKS
    for c in numba.prange(_CHUNKS):
        _chunk_base(tables, half, term_idx, term_len, degree, c * step,
                    min(half, (c + 1) * step), partial[c])
    return _sum_chunks(partial)


@_njit
def round_base_serial(tables, size, term_idx, term_len, degree):
    """:func:`round_base` on one thread."""
    out = np.zeros((term_idx.shape[0], degree + 1), dtype=np.uint64)
    _chunk_base(tables, size // 2, term_idx, term_len, degree, 0, size // 2, out)
    return out


@_pnjit
def round_ext(tables, size, term_idx, term_len, degree):
    """Per-term sums of one round over extension tables (threaded); returns ``(T, d+1, 2)``."""
    half = size // 2
    partial = np.zeros((_CHUNKS, term_idx.shape[0], degree + 1, 2), dtype=np.uint64)
    step = (half + _CHUNKS - 1) // _CHUNKS
    for c in numba.prange(_CHUNKS):
        _chunk_ext(tables, half, term_idx, term_len, degree, c * step,
                   min(half, (c + 1) * step), partial[c])
    return _sum_chunks(partial)


@_njit
def round_ext_serial(tables, size, term_idx, term_len, degree):
    """:func:`round_ext` on one thread."""
    out = np.zeros((term_idx.shape[0], degree + 1, 2), dtype=np.uint64)
    _chunk_ext(tables, size // 2, term_idx, term_len, degree, 0, size // 2, out)
    return out


@_inline
def _fold_base_one(tables, half, r0, r1, out, t):
    j = t // half
    i = t - j * half
    lo = tables[j, i]
    d = sub(tables[j, i + half], lo)
    if d == ZERO:  # equal ends (zero padding): the fold is lo, no product
        out[j, i, 0] = lo
        out[j, i, 1] = ZERO
        return
    out[j, i, 0] = add(lo, mul(r0, d))
    out[j, i, 1] = mul(r1, d)


@_inline
def _fold_ext_one(tables, half, r0, r1, t):
    j = t // half
    i = t - j * half
    lo0 = tables[j, i, 0]
    lo1 = tables[j, i, 1]
    d0 = sub(tables[j, i + half, 0], lo0)
    d1 = sub(tables[j, i + half, 1], lo1)
    if (d0 | d1) == ZERO:  # equal ends: the entry stays lo
        return
    e0, e1 = ext_mul(r0, r1, d0, d1)
    tables[j, i, 0] = add(lo0, e0)
    tables[j, i, 1] = add(lo1, e1)


@_pnjit
def fold_base_into(tables, size, r0, r1, out):
    """``out[j, i] = t[j, i] + r (t[j, i + size/2] - t[j, i])`` from base into extension.

    One parallel loop over every ``(j, i)``.
    """
    half = size // 2
    for t in numba.prange(tables.shape[0] * half):
        _fold_base_one(tables, half, r0, r1, out, t)


@_njit
def fold_base_into_serial(tables, size, r0, r1, out):
    """:func:`fold_base_into` on one thread."""
    half = size // 2
    for t in range(tables.shape[0] * half):
        _fold_base_one(tables, half, r0, r1, out, t)


@_pnjit
def fold_ext_inplace(tables, size, r0, r1):
    """Fold every extension table in place: entries ``[0, size/2)`` get the folded values."""
    half = size // 2
    for t in numba.prange(tables.shape[0] * half):
        _fold_ext_one(tables, half, r0, r1, t)


@_njit
def fold_ext_inplace_serial(tables, size, r0, r1):
    """:func:`fold_ext_inplace` on one thread."""
    half = size // 2
    for t in range(tables.shape[0] * half):
        _fold_ext_one(tables, half, r0, r1, t)


@_njit
def embed_base(tables, out):
    """``out[j, i] = (tables[j, i], 0)``: base tables as extension tables."""
    for j in range(tables.shape[0]):
        for i in range(tables.shape[1]):
            out[j, i, 0] = tables[j, i]
            out[j, i, 1] = ZERO


__all__ = [
    "ONE",
    "use_parallel",
    "round_base",
    "round_base_serial",
    "round_ext",
    "round_ext_serial",
    "round_prod2",
    "round_prod2_mixed",
    "fold_prod2_mixed_into",
    "fold_round_prod2",
    "live_pairs",
    "ALL_LIVE",
    "DENSE_SHIFT",
    "fold_base_into",
    "fold_base_into_serial",
    "fold_ext_inplace",
    "fold_ext_inplace_serial",
    "embed_base",
]


@_inline
def _fold_pair(tables, t, i, half, r0, r1):
    """``tables[t, i] + r (tables[t, i + half] - tables[t, i])``."""
    lo0 = tables[t, i, 0]
    lo1 = tables[t, i, 1]
    e0, e1 = ext_mul(r0, r1, sub(tables[t, i + half, 0], lo0), sub(tables[t, i + half, 1], lo1))
    return add(lo0, e0), add(lo1, e1)


@_njit
def _chunk_prod2(tables, half, start, stop, out, live, shift, fold=False, r0=ZERO, r1=ZERO):
    # pairs (i, i + half) of both tables; with ``fold``, ``tables`` holds twice as many live
    # entries: entries i and i + half are folded by r first (from i, i + 2 half and
    # i + half, i + 3 half) and written back in place. ``live[i >> shift] == 0`` says table 1
    # is zero at i and i + half (and, with ``fold``, at the four entries folded into them): the
    # pair adds nothing and table 1 stays zero, so only table 0 is folded
    s00 = ZERO
    s01 = ZERO
    s10 = ZERO
    s11 = ZERO
    s20 = ZERO
    s21 = ZERO
    for i in range(start, stop):
        if live[i >> shift] == 0:
            if fold:
                a0, a1 = _fold_pair(tables, 0, i, 2 * half, r0, r1)
                c0, c1 = _fold_pair(tables, 0, i + half, 2 * half, r0, r1)
                tables[0, i, 0] = a0
                tables[0, i, 1] = a1
                tables[0, i + half, 0] = c0
                tables[0, i + half, 1] = c1
            continue
        if fold:
            a0, a1 = _fold_pair(tables, 0, i, 2 * half, r0, r1)
            b0, b1 = _fold_pair(tables, 1, i, 2 * half, r0, r1)
            c0, c1 = _fold_pair(tables, 0, i + half, 2 * half, r0, r1)
            d0, d1 = _fold_pair(tables, 1, i + half, 2 * half, r0, r1)
            tables[0, i, 0] = a0
            tables[0, i, 1] = a1
            tables[1, i, 0] = b0
            tables[1, i, 1] = b1
            tables[0, i + half, 0] = c0
            tables[0, i + half, 1] = c1
            tables[1, i + half, 0] = d0
            tables[1, i + half, 1] = d1
        else:
            a0 = tables[0, i, 0]
            a1 = tables[0, i, 1]
            b0 = tables[1, i, 0]
            b1 = tables[1, i, 1]
            c0 = tables[0, i + half, 0]
            c1 = tables[0, i + half, 1]
            d0 = tables[1, i + half, 0]
            d1 = tables[1, i + half, 1]
        # s(0) += a b;  s(1) += c d;  s(2) += (2c - a)(2d - b)
        p0, p1 = ext_mul(a0, a1, b0, b1)
        s00 = add(s00, p0)
        s01 = add(s01, p1)
        p0, p1 = ext_mul(c0, c1, d0, d1)
        s10 = add(s10, p0)
        s11 = add(s11, p1)
        p0, p1 = ext_mul(sub(add(c0, c0), a0), sub(add(c1, c1), a1),
                         sub(add(d0, d0), b0), sub(add(d1, d1), b1))
        s20 = add(s20, p0)
        s21 = add(s21, p1)
    out[0, 0, 0] = s00
    out[0, 0, 1] = s01
    out[0, 1, 0] = s10
    out[0, 1, 1] = s11
    out[0, 2, 0] = s20
    out[0, 2, 1] = s21


ALL_LIVE = np.ones(1, dtype=np.uint8)
"""The ``live`` mask of a dense table (with ``shift`` :data:`DENSE_SHIFT`: every index maps to
its one entry)."""
DENSE_SHIFT = 62


@_pnjit
def round_prod2(tables, size, live=ALL_LIVE, shift=DENSE_SHIFT):
    """:func:`round_ext` for the single term ``f_0 f_1`` (degree 2): the matmul and opening
    sumchecks; three products per pair and no scratch array. Returns ``(1, 3, 2)``.

    ``live[i >> shift] == 0`` promises that ``f_1`` is zero at ``i`` and ``i + size/2`` (such
    pairs are skipped; :func:`live_pairs` makes the masks)."""
    half = size // 2
    partial = np.zeros((_CHUNKS, 1, 3, 2), dtype=np.uint64)
    step = (half + _CHUNKS - 1) // _CHUNKS
    for c in numba.prange(_CHUNKS):
        _chunk_prod2(tables, half, c * step, min(half, (c + 1) * step), partial[c], live, shift)
    return _sum_chunks(partial)


@_njit
def _chunk_prod2_mixed(e, b, half, start, stop, out, live, shift):
    # tables shorter than 2 half are zero beyond their length; pairs with live[i >> shift] == 0
    # have b zero at both ends and add nothing
    le = e.shape[0]
    lb = b.shape[0]
    s00 = ZERO
    s01 = ZERO
    s10 = ZERO
    s11 = ZERO
    s20 = ZERO
    s21 = ZERO
    for i in range(start, stop):
        if live[i >> shift] == 0:
            continue
        a0 = e[i, 0] if i < le else ZERO
        a1 = e[i, 1] if i < le else ZERO
        c0 = e[i + half, 0] if i + half < le else ZERO
        c1 = e[i + half, 1] if i + half < le else ZERO
        x = b[i] if i < lb else ZERO
        y = b[i + half] if i + half < lb else ZERO
        # s(0) += a x;  s(1) += c y;  s(2) += (2c - a)(2y - x): extension times base
        s00 = add(s00, mul(a0, x))
        s01 = add(s01, mul(a1, x))
        s10 = add(s10, mul(c0, y))
        s11 = add(s11, mul(c1, y))
        z = sub(add(y, y), x)
        s20 = add(s20, mul(sub(add(c0, c0), a0), z))
        s21 = add(s21, mul(sub(add(c1, c1), a1), z))
    out[0, 0, 0] = s00
    out[0, 0, 1] = s01
    out[0, 1, 0] = s10
    out[0, 1, 1] = s11
    out[0, 2, 0] = s20
    out[0, 2, 1] = s21


@_pnjit
def round_prod2_mixed(e, b, size, live=ALL_LIVE, shift=DENSE_SHIFT):
    """:func:`round_prod2` for ``f_0 f_1`` with ``f_0`` extension ``(N_0, 2)`` and ``f_1`` base
    ``(N_1,)``, ``N_0, N_1 <= size``, each zero beyond its length: the base table is never
    embedded and the zero tails never stored. Returns ``(1, 3, 2)``. ``live``, ``shift``: as
    :func:`round_prod2`'s."""
    half = size // 2
    partial = np.zeros((_CHUNKS, 1, 3, 2), dtype=np.uint64)
    step = (half + _CHUNKS - 1) // _CHUNKS
    for c in numba.prange(_CHUNKS):
        _chunk_prod2_mixed(e, b, half, c * step, min(half, (c + 1) * step), partial[c], live,
                           shift)
    return _sum_chunks(partial)


@_pnjit
def fold_prod2_mixed_into(e, b, size, r0, r1, out, live=ALL_LIVE, shift=DENSE_SHIFT):
    """``out[0] = fold(e)``, ``out[1] = fold(b)`` by ``r``: the first fold of
    :func:`round_prod2_mixed`'s tables (zero beyond their lengths) into one stacked extension
    array ``(2, size/2, 2)`` (where ``live`` says ``b`` is zero at both ends, its fold is
    written as zero without a product)."""
    half = size // 2
    le = e.shape[0]
    lb = b.shape[0]
    for i in numba.prange(half):
        lo0 = e[i, 0] if i < le else ZERO
        lo1 = e[i, 1] if i < le else ZERO
        hi0 = e[i + half, 0] if i + half < le else ZERO
        hi1 = e[i + half, 1] if i + half < le else ZERO
        e0, e1 = ext_mul(r0, r1, sub(hi0, lo0), sub(hi1, lo1))
        out[0, i, 0] = add(lo0, e0)
        out[0, i, 1] = add(lo1, e1)
        if live[i >> shift] == 0:
            out[1, i, 0] = ZERO
            out[1, i, 1] = ZERO
            continue
        lo = b[i] if i < lb else ZERO
        d = sub(b[i + half] if i + half < lb else ZERO, lo)
        out[1, i, 0] = add(lo, mul(r0, d))
        out[1, i, 1] = mul(r1, d)


# ---- rounds weighted by an eq table over the remaining variables (zero-checks)
#
# ``sum_i eq[i] prod_{j in t} f_j(x, i)`` for ``x = 0..d``: the eq factor is not a table of the
# expression (it would raise every round's degree by one and, in the first round, force the base
# tables into the extension); ``eq`` holds ``eq(tau_rest, i)`` over the variables after the
# round's, ``half`` entries.


@_njit
def _dead_term(t, term_idx, term_len, live):
    """Whether a table of term ``t`` is zero at both ends of the pair (the term is then the zero
    polynomial in ``x``)."""
    for m in range(term_len[t]):
        if live[term_idx[t, m]] == 0:
            return True
    return False


@_njit
def _chunk_eq_base(tables, half, eq, term_idx, term_len, degree, start, stop, out):
    # a term with a table zero at both ends of the pair adds nothing to it (zero padding, zero
    # witness columns); a pair where every table is zero is skipped after its entries are read
    k = tables.shape[0]
    vals = np.empty((k, degree + 1), dtype=np.uint64)
    live = np.empty(k, dtype=np.uint8)
    for i in range(start, stop):
        nonzero = ZERO
        for j in range(k):
            lo = tables[j, i]
            hi = tables[j, i + half]
            nonzero |= lo | hi
            live[j] = (lo | hi) != ZERO
            diff = sub(hi, lo)
            vals[j, 0] = lo
            for x in range(1, degree + 1):
                vals[j, x] = add(vals[j, x - 1], diff)
        if nonzero == ZERO:
            continue
        e0 = eq[i, 0]
        e1 = eq[i, 1]
        for t in range(term_idx.shape[0]):
            if _dead_term(t, term_idx, term_len, live):
                continue
            for x in range(degree + 1):
                prod = vals[term_idx[t, 0], x]
                for m in range(1, term_len[t]):
                    prod = mul(prod, vals[term_idx[t, m], x])
                out[t, x, 0] = add(out[t, x, 0], mul(e0, prod))
                out[t, x, 1] = add(out[t, x, 1], mul(e1, prod))


@_njit
def _chunk_eq_ext(tables, half, eq, term_idx, term_len, degree, start, stop, out):
    # as _chunk_eq_base: zero terms and all-zero pairs are skipped
    k = tables.shape[0]
    vals = np.empty((k, degree + 1, 2), dtype=np.uint64)
    live = np.empty(k, dtype=np.uint8)
    for i in range(start, stop):
        nonzero = ZERO
        for j in range(k):
            lo0 = tables[j, i, 0]
            lo1 = tables[j, i, 1]
            hi0 = tables[j, i + half, 0]
            hi1 = tables[j, i + half, 1]
            either = lo0 | lo1 | hi0 | hi1
            nonzero |= either
            live[j] = either != ZERO
            d0 = sub(hi0, lo0)
            d1 = sub(hi1, lo1)
            vals[j, 0, 0] = lo0
            vals[j, 0, 1] = lo1
            for x in range(1, degree + 1):
                vals[j, x, 0] = add(vals[j, x - 1, 0], d0)
                vals[j, x, 1] = add(vals[j, x - 1, 1], d1)
        if nonzero == ZERO:
            continue
        e0 = eq[i, 0]
        e1 = eq[i, 1]
        for t in range(term_idx.shape[0]):
            if _dead_term(t, term_idx, term_len, live):
                continue
            for x in range(degree + 1):
                j0 = term_idx[t, 0]
                p0 = vals[j0, x, 0]
                p1 = vals[j0, x, 1]
                for m in range(1, term_len[t]):
                    jm = term_idx[t, m]
                    p0, p1 = ext_mul(p0, p1, vals[jm, x, 0], vals[jm, x, 1])
                p0, p1 = ext_mul(p0, p1, e0, e1)
                out[t, x, 0] = add(out[t, x, 0], p0)
                out[t, x, 1] = add(out[t, x, 1], p1)


@_pnjit
def round_eq_base(tables, size, eq, term_idx, term_len, degree):
    """Per-term sums ``sum_i eq[i] prod_t f_j(x, i)`` over base tables (threaded); returns
    ``(T, d+1, 2)``."""
    half = size // 2
    partial = np.zeros((_CHUNKS, term_idx.shape[0], degree + 1, 2), dtype=np.uint64)
    step = (half + _CHUNKS - 1) // _CHUNKS
    for c in numba.prange(_CHUNKS):
        _chunk_eq_base(tables, half, eq, term_idx, term_len, degree, c * step,
                       min(half, (c + 1) * step), partial[c])
    return _sum_chunks(partial)


@_njit
def round_eq_base_serial(tables, size, eq, term_idx, term_len, degree):
    """:func:`round_eq_base` on one thread."""
    out = np.zeros((term_idx.shape[0], degree + 1, 2), dtype=np.uint64)
    _chunk_eq_base(tables, size // 2, eq, term_idx, term_len, degree, 0, size // 2, out)
    return out


@_pnjit
def round_eq_ext(tables, size, eq, term_idx, term_len, degree):
    """:func:`round_eq_base` over extension tables (threaded)."""
    half = size // 2
    partial = np.zeros((_CHUNKS, term_idx.shape[0], degree + 1, 2), dtype=np.uint64)
    step = (half + _CHUNKS - 1) // _CHUNKS
    for c in numba.prange(_CHUNKS):
        _chunk_eq_ext(tables, half, eq, term_idx, term_len, degree, c * step,
                      min(half, (c + 1) * step), partial[c])
    return _sum_chunks(partial)


@_njit
def round_eq_ext_serial(tables, size, eq, term_idx, term_len, degree):
    """:func:`round_eq_ext` on one thread."""
    out = np.zeros((term_idx.shape[0], degree + 1, 2), dtype=np.uint64)
    _chunk_eq_ext(tables, size // 2, eq, term_idx, term_len, degree, 0, size // 2, out)
    return out


@_njit
def eq_drop_top(eq, half):
    """``eq[i] += eq[i + half]`` for ``i < half``: the eq table of the variables after the
    top one (``sum_x eq(tau_1, x) = 1``)."""
    for i in range(half):
        eq[i, 0] = add(eq[i, 0], eq[i + half, 0])
        eq[i, 1] = add(eq[i, 1], eq[i + half, 1])


@_pnjit
def fold_round_prod2(tables, size, r0, r1, live=ALL_LIVE, shift=DENSE_SHIFT):
    """:func:`fold_ext_inplace` of the two tables of ``f_0 f_1`` (``size`` live entries, at
    least 4) fused with the next round's :func:`round_prod2` on the ``size / 2`` folded ones:
    one pass instead of two. Returns that round's ``(1, 3, 2)``. ``live``, ``shift``: the next
    round's mask (:func:`round_prod2`); its dead pairs fold ``f_0`` only."""
    half = size // 2
    q = half // 2
    partial = np.zeros((_CHUNKS, 1, 3, 2), dtype=np.uint64)
    step = (q + _CHUNKS - 1) // _CHUNKS
    for c in numba.prange(_CHUNKS):
        _chunk_prod2(tables, q, c * step, min(q, (c + 1) * step), partial[c], live, shift, True,
                     r0, r1)
    return _sum_chunks(partial)


def live_pairs(f, size: int, shift: int) -> list:
    """The ``live`` masks of a sumcheck of ``W f`` over ``size`` entries (``f`` a base vector,
    zero beyond its length), folding the first variable each round, at chunks of ``2^shift``
    pairs: mask ``j`` (round ``j``, pairs ``(i, i + size / 2^(j+1))``) is ``1`` where ``f`` may
    be non-zero at some entry that folds into the pair, ``0`` where every such entry is zero.
    Masks stop when a round has fewer pairs than a chunk."""
    chunk = 1 << shift
    vals = f
    n = size // chunk
    if n < 2:
        return []
    nonzero = np.zeros(n, dtype=bool)
    full = min(vals.shape[0] // chunk, n)
    nonzero[:full] = vals[: full * chunk].reshape(full, chunk).any(axis=1)
    if full < n and vals.shape[0] > full * chunk:
        nonzero[full] = bool(np.any(vals[full * chunk:]))
    masks = []
    while nonzero.shape[0] >= 2:
        h = nonzero.shape[0] // 2
        nonzero = nonzero[:h] | nonzero[h:]
        masks.append(nonzero.astype(np.uint8))
    return masks
