"""Numba kernels for ``F_p4 = F_p2[Y] / (Y^2 - X)`` (:mod:`zkinfer.field.quartic`).

Private: prover-side code imports this module; the verifier never does. An element is four
consecutive ``uint64`` words ``[c0, c1, c2, c3]`` = ``(c0 + c1 X) + (c2 + c3 X) Y``; arrays
have shape ``(..., 4)``. The scalar helpers are ``inline='always'`` building blocks; the other
kernels work on whole tables of the multilinear prover (variable 1 is the most significant
index bit, as in :mod:`zkinfer.poly.fast`): folds (in place where the caller allows it), the
three sums of a degree-2 sumcheck round, ``eq`` tables and scaled accumulations. The tests
compare them with the numpy functions of :mod:`zkinfer.field.quartic` and with ``galois``.
"""

from __future__ import annotations

import numpy as np

from zkinfer._jit import numba  # the prover extra: a clear error when it is missing
from zkinfer.field._kernels import ONE, ZERO, add, ext_mul, mul, mul7, sub

__all__ = ["q_mul", "q_mul_ext", "mul_vec", "fold_base", "fold_quartic", "fold_ext",
           "fold_base_ext", "combine_rows", "round_sums_base", "round_sums_quartic", "eq_table",
           "eq_table_base", "axpy_ext", "axpy_quartic"]

_njit = numba.njit(cache=True, nogil=True)
_inline = numba.njit(cache=True, inline="always")


@_inline
def q_mul(a0, a1, a2, a3, b0, b1, b2, b3):
    """Product in ``F_p4``: Karatsuba over ``F_p2`` (three ``F_p2`` products and ``X v1``)."""
    v00, v01 = ext_mul(a0, a1, b0, b1)
    v10, v11 = ext_mul(a2, a3, b2, b3)
    s0, s1 = ext_mul(add(a0, a2), add(a1, a3), add(b0, b2), add(b1, b3))
    # low = v0 + X v1 = (v00 + 7 v11) + (v01 + v10) X; high = s - v0 - v1
    c0 = add(v00, mul7(v11))
    c1 = add(v01, v10)
    c2 = sub(sub(s0, v00), v10)
    c3 = sub(sub(s1, v01), v11)
    return c0, c1, c2, c3


@_inline
def q_mul_ext(a0, a1, a2, a3, b0, b1):
    """``a * b`` for ``a`` in ``F_p4`` and ``b = b0 + b1 X`` in ``F_p2``."""
    c0, c1 = ext_mul(a0, a1, b0, b1)
    c2, c3 = ext_mul(a2, a3, b0, b1)
    return c0, c1, c2, c3


@_njit
def mul_vec(a, b, out):
    """``out[i] = a[i] * b[i]`` for ``(N, 4)`` arrays."""
    for i in range(a.shape[0]):
        out[i, 0], out[i, 1], out[i, 2], out[i, 3] = q_mul(
            a[i, 0], a[i, 1], a[i, 2], a[i, 3], b[i, 0], b[i, 1], b[i, 2], b[i, 3])


# ---- folds: f(alpha, rest) = f0 + alpha (f1 - f0), f0 / f1 the halves


@_njit
def fold_base(table, a0, a1, a2, a3, out):
    """Bind variable 1 of a base table ``(2n,)`` to ``alpha``; ``out`` is ``(n, 4)``."""
    n = table.shape[0] // 2
    for i in range(n):
        f0 = table[i]
        d = sub(table[i + n], f0)
        out[i, 0] = add(f0, mul(a0, d))
        out[i, 1] = mul(a1, d)
        out[i, 2] = mul(a2, d)
        out[i, 3] = mul(a3, d)


@_njit
def fold_quartic(table, a0, a1, a2, a3, out):
    """Bind variable 1 of an ``F_p4`` table ``(2n, 4)``; ``out`` ``(n, 4)`` may be
    ``table[:n]`` (each entry is read before it is written)."""
    n = table.shape[0] // 2
    for i in range(n):
        x0, x1, x2, x3 = table[i, 0], table[i, 1], table[i, 2], table[i, 3]
        d0 = sub(table[i + n, 0], x0)
        d1 = sub(table[i + n, 1], x1)
        d2 = sub(table[i + n, 2], x2)
        d3 = sub(table[i + n, 3], x3)
        p0, p1, p2, p3 = q_mul(a0, a1, a2, a3, d0, d1, d2, d3)
        out[i, 0] = add(x0, p0)
        out[i, 1] = add(x1, p1)
        out[i, 2] = add(x2, p2)
        out[i, 3] = add(x3, p3)


@_njit
def fold_ext(table, b0, b1, out):
    """Bind variable 1 of an ``F_p2`` table ``(2n, 2)`` to ``b0 + b1 X``; ``out`` ``(n, 2)``
    may be ``table[:n]``."""
    n = table.shape[0] // 2
    for i in range(n):
        x0, x1 = table[i, 0], table[i, 1]
        p0, p1 = ext_mul(b0, b1, sub(table[i + n, 0], x0), sub(table[i + n, 1], x1))
        out[i, 0] = add(x0, p0)
        out[i, 1] = add(x1, p1)


@_njit
def fold_base_ext(table, n, b0, b1, out):
    """Bind variable 1 of the base table of ``2n`` entries whose first ``len(table)`` are
    ``table`` (the rest zero) to ``b0 + b1 X``; ``out`` ``(n, 2)``."""
    size = table.shape[0]
    for i in range(n):
        f0 = table[i] if i < size else ZERO
        f1 = table[i + n] if i + n < size else ZERO
        d = sub(f1, f0)
        out[i, 0] = add(f0, mul(b0, d))
        out[i, 1] = mul(b1, d)


@_njit
def combine_rows(table, coef, stride, start, count, acc):
    """``acc[i] += sum_b coef[b] * table[b * stride + start + i]`` for ``i < count``: the
    ``F_p4`` combination of ``len(coef)`` slices of a base table (entries past its end are
    zero). With ``coef = beta eq(alpha, .)`` this is ``beta f(alpha, x)`` at
    ``x = start + i`` for the table's leading variables bound to ``alpha``."""
    size = table.shape[0]
    for b in range(coef.shape[0]):
        c0, c1, c2, c3 = coef[b, 0], coef[b, 1], coef[b, 2], coef[b, 3]
        base = b * stride + start
        stop = min(count, size - base)
        for i in range(stop):
            t = table[base + i]
            acc[i, 0] = add(acc[i, 0], mul(c0, t))
            acc[i, 1] = add(acc[i, 1], mul(c1, t))
            acc[i, 2] = add(acc[i, 2], mul(c2, t))
            acc[i, 3] = add(acc[i, 3], mul(c3, t))


# ---- the sumcheck round h(X) = sum_rest f(X, rest) w(X, rest): h(0), h(1), h(2)


@_njit
def round_sums_base(f, w, out):
    """``out`` ``(3, 4)``: ``h(0), h(1), h(2)`` for a base ``f`` ``(2n,)`` and an ``F_p4``
    weight ``w`` ``(2n, 4)`` (``f(2) = 2 f(1) - f(0)``, the same for ``w``)."""
    n = f.shape[0] // 2
    h = np.zeros((3, 4), dtype=np.uint64)
    for i in range(n):
        f0 = f[i]
        f1 = f[i + n]
        f2 = sub(add(f1, f1), f0)
        for c in range(4):
            w0 = w[i, c]
            w1 = w[i + n, c]
            w2 = sub(add(w1, w1), w0)
            h[0, c] = add(h[0, c], mul(f0, w0))
            h[1, c] = add(h[1, c], mul(f1, w1))
            h[2, c] = add(h[2, c], mul(f2, w2))
    out[:, :] = h


@_njit
def round_sums_quartic(f, w, out):
    """:func:`round_sums_base` for an ``F_p4`` ``f`` ``(2n, 4)``."""
    n = f.shape[0] // 2
    h = np.zeros((3, 4), dtype=np.uint64)
    for i in range(n):
        a0, a1, a2, a3 = f[i, 0], f[i, 1], f[i, 2], f[i, 3]
        b0, b1, b2, b3 = f[i + n, 0], f[i + n, 1], f[i + n, 2], f[i + n, 3]
        u0, u1, u2, u3 = w[i, 0], w[i, 1], w[i, 2], w[i, 3]
        v0, v1, v2, v3 = w[i + n, 0], w[i + n, 1], w[i + n, 2], w[i + n, 3]
        p0, p1, p2, p3 = q_mul(a0, a1, a2, a3, u0, u1, u2, u3)
        h[0, 0] = add(h[0, 0], p0)
        h[0, 1] = add(h[0, 1], p1)
        h[0, 2] = add(h[0, 2], p2)
        h[0, 3] = add(h[0, 3], p3)
        p0, p1, p2, p3 = q_mul(b0, b1, b2, b3, v0, v1, v2, v3)
        h[1, 0] = add(h[1, 0], p0)
        h[1, 1] = add(h[1, 1], p1)
        h[1, 2] = add(h[1, 2], p2)
        h[1, 3] = add(h[1, 3], p3)
        p0, p1, p2, p3 = q_mul(sub(add(b0, b0), a0), sub(add(b1, b1), a1),
                               sub(add(b2, b2), a2), sub(add(b3, b3), a3),
                               sub(add(v0, v0), u0), sub(add(v1, v1), u1),
                               sub(add(v2, v2), u2), sub(add(v3, v3), u3))
        h[2, 0] = add(h[2, 0], p0)
        h[2, 1] = add(h[2, 1], p1)
        h[2, 2] = add(h[2, 2], p2)
        h[2, 3] = add(h[2, 3], p3)
    out[:, :] = h


# ---- eq tables and accumulations


@_njit
def eq_table(point, out):
    """``eq(point, x)`` for every ``x`` of ``{0,1}^m`` (``point`` ``(m, 4)``, ``out``
    ``(2^m, 4)``), variable 1 the most significant bit."""
    out[0, 0] = ONE
    out[0, 1] = ZERO
    out[0, 2] = ZERO
    out[0, 3] = ZERO
    size = 1
    for v in range(point.shape[0]):
        z0, z1, z2, z3 = point[v, 0], point[v, 1], point[v, 2], point[v, 3]
        for j in range(size - 1, -1, -1):
            t0, t1, t2, t3 = out[j, 0], out[j, 1], out[j, 2], out[j, 3]
            h0, h1, h2, h3 = q_mul(t0, t1, t2, t3, z0, z1, z2, z3)
            out[2 * j + 1, 0] = h0
            out[2 * j + 1, 1] = h1
            out[2 * j + 1, 2] = h2
            out[2 * j + 1, 3] = h3
            out[2 * j, 0] = sub(t0, h0)
            out[2 * j, 1] = sub(t1, h1)
            out[2 * j, 2] = sub(t2, h2)
            out[2 * j, 3] = sub(t3, h3)
        size *= 2


@_njit
def eq_table_base(point, out):
    """``eq(point, x)`` for a base point ``(m,)``; ``out`` ``(2^m,)``."""
    out[0] = ONE
    size = 1
    for v in range(point.shape[0]):
        z = point[v]
        for j in range(size - 1, -1, -1):
            t = out[j]
            h = mul(t, z)
            out[2 * j + 1] = h
            out[2 * j] = sub(t, h)
        size *= 2


@_njit
def axpy_ext(acc, c0, c1, c2, c3, table):
    """``acc[i] += c * table[i]`` for an ``F_p2`` ``table`` ``(N, 2)``, in place."""
    for i in range(table.shape[0]):
        h0, h1, h2, h3 = q_mul_ext(c0, c1, c2, c3, table[i, 0], table[i, 1])
        acc[i, 0] = add(acc[i, 0], h0)
        acc[i, 1] = add(acc[i, 1], h1)
        acc[i, 2] = add(acc[i, 2], h2)
        acc[i, 3] = add(acc[i, 3], h3)


@_njit
def axpy_quartic(acc, c0, c1, c2, c3, table):
    """``acc[i] += c * table[i]`` for an ``F_p4`` ``table`` ``(N, 4)``, in place."""
    for i in range(table.shape[0]):
        h0, h1, h2, h3 = q_mul(c0, c1, c2, c3, table[i, 0], table[i, 1], table[i, 2],
                               table[i, 3])
        acc[i, 0] = add(acc[i, 0], h0)
        acc[i, 1] = add(acc[i, 1], h1)
        acc[i, 2] = add(acc[i, 2], h2)
        acc[i, 3] = add(acc[i, 3], h3)
