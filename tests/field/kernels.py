"""Vector wrappers of the field's scalar Numba kernels, for tests only (the package's own
kernels inline the scalar functions where they need them)."""

from __future__ import annotations

import numba

from zkinfer.field._kernels import ONE, ZERO, add, ext_inv, ext_mul, neg, power, sub

_njit = numba.njit(cache=False)


@_njit
def add_vec(a, b, out):
    for i in range(a.shape[0]):
        out[i] = add(a[i], b[i])


@_njit
def sub_vec(a, b, out):
    for i in range(a.shape[0]):
        out[i] = sub(a[i], b[i])


@_njit
def neg_vec(a, out):
    for i in range(a.shape[0]):
        out[i] = neg(a[i])


@_njit
def pow_vec(a, e, out):
    for i in range(a.shape[0]):
        out[i] = power(a[i], e)


@_njit
def ext_mul_vec(a, b, out):
    """``a, b, out`` of shape ``(n, 2)``."""
    for i in range(a.shape[0]):
        c0, c1 = ext_mul(a[i, 0], a[i, 1], b[i, 0], b[i, 1])
        out[i, 0] = c0
        out[i, 1] = c1


@_njit
def ext_batch_inv(a, out):
    """Montgomery's trick in ``F_p2``; ``a, out`` of shape ``(n, 2)``; zeros stay zero."""
    n = a.shape[0]
    acc0 = ONE
    acc1 = ZERO
    for i in range(n):
        out[i, 0] = acc0
        out[i, 1] = acc1
        if a[i, 0] != ZERO or a[i, 1] != ZERO:
            acc0, acc1 = ext_mul(acc0, acc1, a[i, 0], a[i, 1])
    acc0, acc1 = ext_inv(acc0, acc1)
    for i in range(n - 1, -1, -1):
        if a[i, 0] != ZERO or a[i, 1] != ZERO:
            t0, t1 = ext_mul(acc0, acc1, out[i, 0], out[i, 1])
            acc0, acc1 = ext_mul(acc0, acc1, a[i, 0], a[i, 1])
            out[i, 0] = t0
            out[i, 1] = t1
        else:
            out[i, 0] = ZERO
            out[i, 1] = ZERO
