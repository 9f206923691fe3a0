"""Multilinear polynomials as evaluation tables, numpy only (verifier-safe).

A vector ``v`` of length ``N = 2^n`` is the multilinear ``f`` with ``f(x) = v[x]`` on the cube
``{0,1}^n``. Bit order (the whole project uses it): **variable 1 is the most significant bit of
the index**, so ``x = (x_1, ..., x_n)`` is the index ``sum_k x_k 2^(n-k)``, and binding variable
1 to ``r`` folds the two halves: ``v'[i] = v[i] + r (v[i + N/2] - v[i])``.

``eq(r, x) = prod_k (r_k x_k + (1 - r_k)(1 - x_k))`` and ``f(r) = sum_x eq(r, x) v[x]``.

Points are extension elements of shape ``(n, 2)``; tables are base ``(N,)`` or extension
``(N, 2)``. The prover's Numba versions of the same functions are in :mod:`zkinfer.poly.fast`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from zkinfer.errors import FieldRangeError
from zkinfer.field import blas
from zkinfer.field import extension as ext
from zkinfer.field import goldilocks as gl
from zkinfer.field.scalar import Fp2

__all__ = ["num_vars", "eq_eval", "eq_scalar", "eq_prefix_sum", "eq_table", "fold", "evaluate"]

U64 = npt.NDArray[np.uint64]


def num_vars(length: int) -> int:
    """``n`` with ``2^n == length``.

    Raises:
        FieldRangeError: ``length`` is not a power of two.
    """
    if length < 1 or length & (length - 1):
        raise FieldRangeError(f"table length {length} is not a power of two")
    return length.bit_length() - 1


def eq_eval(r: npt.ArrayLike, x: npt.ArrayLike) -> U64:
    """``eq(r, x) = prod_k (r_k x_k + (1 - r_k)(1 - x_k))`` for two extension points.

    Both of shape ``(n, 2)``; returns shape ``(2,)``. ``O(n)``.
    """
    a = ext.as_ext(r, "r")
    b = ext.as_ext(x, "x")
    if a.shape != b.shape or a.ndim != 2:
        raise FieldRangeError(f"eq_eval: points of shapes {a.shape} and {b.shape}")
    return eq_scalar(Fp2.vector(a), Fp2.vector(b)).to_array()


def eq_scalar(r: Sequence[Fp2], x: Sequence[Fp2]) -> Fp2:
    """:func:`eq_eval` on scalars (points of equal length, not checked)."""
    acc = Fp2.ONE
    for rk, xk in zip(r, x):
        acc *= 2 * rk * xk - rk - xk + 1  # r x + (1 - r)(1 - x)
    return acc


def eq_prefix_sum(r: npt.ArrayLike, count: int) -> U64:
    """``sum_{i < count} eq(r, i)`` (the indicator of the first ``count`` indices) in ``O(n)``.

    With ``r_1`` the top bit: the indices below ``count`` are those with top bit 0 and, when
    ``count > 2^(n-1)``, also those with top bit 1 below ``count - 2^(n-1)``; a sum over a whole
    half-cube of ``eq`` is 1. Scalar work on Python ints (verifier-side).
    """
    a = ext.as_ext(r, "r")
    n = a.shape[0]
    if not 0 <= count <= 1 << n:
        raise FieldRangeError(f"eq_prefix_sum: count {count} outside [0, 2^{n}]")
    pts = Fp2.vector(a)

    def rec(k: int, c: int) -> Fp2:
        if c == 0:
            return Fp2.ZERO
        if c == 1 << (n - k):
            return Fp2.ONE
        half = 1 << (n - k - 1)
        if c <= half:
            return (1 - pts[k]) * rec(k + 1, c)
        return (1 - pts[k]) + pts[k] * rec(k + 1, c - half)

    return rec(0, int(count)).to_array()


def eq_table(r: npt.ArrayLike) -> U64:
    """The table ``eq(r, x)`` for all ``x`` in ``{0,1}^n``: shape ``(2^n, 2)``.

    ``r`` may be an extension point ``(n, 2)`` or a base point ``(n,)`` (embedded).
    """
    point = np.asarray(r)
    point = ext.as_ext(point if point.ndim == 2 else ext.from_base(point), "r")
    return _eq_table(point)


_SMALL_EQ_VARS = 6
#: From this many variables a base table's evaluation sums by an exact BLAS product (4x faster
#: at 2^16; below 2^12 numpy's per-call costs dominate either way).
_BLAS_EVAL_VARS = 12


def _eq_table(point: U64) -> U64:
    n = point.shape[0]
    if n <= _SMALL_EQ_VARS:
        # scalars: cheaper than numpy calls for tiny tables
        table = [Fp2.ONE]
        for rk in Fp2.vector(point):
            nxt = []
            for t in table:
                hi = t * rk
                # new index = 2 i + x_k: the new variable is the lowest bit
                nxt += [t - hi, hi]
            table = nxt
        return Fp2.stack(table)
    # eq(r, (x_hi, x_lo)) = eq(r_hi, x_hi) eq(r_lo, x_lo): one vectorized product
    a = n // 2
    hi, lo = _eq_table(point[:a]), _eq_table(point[a:])
    with np.errstate(over="ignore"):
        out = ext.mul_unchecked(hi[:, None, :], lo[None, :, :])
    return np.ascontiguousarray(out.reshape(-1, 2))


def fold(v: npt.ArrayLike, r: npt.ArrayLike) -> U64:
    """Bind the first (most significant) variable of ``v`` to the extension element ``r``.

    ``fold(v, r)[i] = v[i] + r (v[i + N/2] - v[i])``; returns an extension table ``(N/2, 2)``.
    """
    table = _as_table(v)
    rr = ext.as_ext(r, "r")
    if table.shape[0] < 2:
        raise FieldRangeError("fold: a table of length 1 has no variable left")
    half = table.shape[0] // 2
    with np.errstate(over="ignore"):
        d = gl.sub_unchecked(table[half:], table[:half])
        return gl.add_unchecked(table[:half], ext.mul_unchecked(d, np.broadcast_to(rr, d.shape)))


def evaluate(v: npt.ArrayLike, r: npt.ArrayLike) -> U64:
    """``f(r) = sum_x eq(r, x) v[x]`` for a base or extension table ``v``; shape ``(2,)``.

    Raises:
        FieldRangeError: ``len(v) != 2^len(r)``.
    """
    arr = np.asarray(v)
    base = arr.ndim == 1
    table = gl.as_field(arr, "v") if base else _as_table(arr)
    point = ext.as_ext(r, "r")
    n = point.shape[0]
    if table.shape[0] != 1 << n:
        raise FieldRangeError(
            f"evaluate: table of length {table.shape[0]} at a point with {n} variables"
        )
    if n <= _SMALL_EQ_VARS:
        full = _eq_table(point)
        return ext.sum(ext.mul_base(full, table) if base else ext.mul(full, table), axis=0)
    # sum_(h, l) eq(r_hi, h) eq(r_lo, l) v[h, l] = sum_h eq(r_hi, h) (sum_l eq(r_lo, l) v[h, l]):
    # two half-size eq tables, one product per entry (base times extension for a base table)
    a = n // 2
    hi, lo = _eq_table(point[:a]), _eq_table(point[a:])
    rows = table.reshape((1 << a, 1 << (n - a)) + (() if base else (2,)))
    with np.errstate(over="ignore"):
        if base and n >= _BLAS_EVAL_VARS:
            # the inner sums are one exact matrix product: rows (2^a, 2^b) times the eq table's
            # two coefficient columns (2^b, 2), in float64 limbs (zkinfer.field.blas)
            return ext.sum(ext.mul_unchecked(hi, blas.matmul(rows, lo)), axis=0)
        if base:
            prod = gl.mul_unchecked(lo[None, :, :], rows[:, :, None])
        else:
            prod = ext.mul_unchecked(*np.broadcast_arrays(lo[None, :, :], rows))
        inner = gl.sum(prod, axis=1)
        return ext.sum(ext.mul_unchecked(hi, inner), axis=0)


def _as_table(v: npt.ArrayLike) -> U64:
    arr = np.asarray(v)
    arr = ext.from_base(arr) if arr.ndim == 1 else ext.as_ext(arr, "v")
    if arr.ndim != 2:
        raise FieldRangeError(f"a table must be (N,) or (N, 2), got {arr.shape}")
    num_vars(arr.shape[0])
    return arr
