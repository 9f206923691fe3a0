"""The LLVM-IR intrinsics of :mod:`zkinfer.field._llvm` against the field kernels: edge values
(all combinations) and random ones, and the unreduced accumulation at its worst case."""

from __future__ import annotations

import numba
import numpy as np
import pytest

from zkinfer.field import _kernels as F
from zkinfer.field import _llvm as L
from zkinfer.field import extension as ext
from zkinfer.field import goldilocks as gl

P = int(gl.P)
EDGE = [0, 1, 2, 7, P - 1, P - 2, P - 7, 2**32 - 1, 2**32, 2**32 + 1, 2**63, 2**64 - 2**33,
        P // 2, P // 7]


def operands(seed: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """Pairs ``(a, b)`` of extension elements: every combination of edge coordinates, then
    random ones."""
    edge = np.array(EDGE, dtype=np.uint64)
    grid = np.array(np.meshgrid(edge, edge, edge, edge)).reshape(4, -1).T
    rand = np.random.default_rng(seed).integers(0, P, (1 << 14, 4), dtype=np.uint64)
    x = np.concatenate([grid, rand])
    return np.ascontiguousarray(x[:, :2]), np.ascontiguousarray(x[:, 2:])


@numba.njit(cache=False)
def _ops_fast(a, b, out):
    for i in range(a.shape[0]):
        out[i, 0], out[i, 1] = L.xmul(a[i, 0], a[i, 1], b[i, 0], b[i, 1])
        out[i, 2], out[i, 3] = L.xadd(a[i, 0], a[i, 1], b[i, 0], b[i, 1])
        out[i, 4], out[i, 5] = L.xsub(a[i, 0], a[i, 1], b[i, 0], b[i, 1])
        r7 = L.x7(b[i, 1], a[i, 0])[1]
        out[i, 6], out[i, 7] = L.xfold(a[i, 0], a[i, 1], b[i, 0], b[i, 1], b[i, 1], a[i, 0], r7)
        out[i, 8], out[i, 9] = L.x7(a[i, 0], b[i, 1])
        out[i, 10], out[i, 11] = L.xdot2(a[i, 0], a[i, 1], b[i, 0], b[i, 1],
                                         b[i, 1], a[i, 0], a[i, 1], b[i, 1])


@numba.njit(cache=False)
def _ops_ref(a, b, out):
    for i in range(a.shape[0]):
        a0, a1, b0, b1 = a[i, 0], a[i, 1], b[i, 0], b[i, 1]
        out[i, 0], out[i, 1] = F.ext_mul(a0, a1, b0, b1)
        out[i, 2], out[i, 3] = F.add(a0, b0), F.add(a1, b1)
        out[i, 4], out[i, 5] = F.sub(a0, b0), F.sub(a1, b1)
        # lo = a, hi = b, r = (b1, a0): lo + r (hi - lo)
        e0, e1 = F.ext_mul(b1, a0, F.sub(b0, a0), F.sub(b1, a1))
        out[i, 6], out[i, 7] = F.add(a0, e0), F.add(a1, e1)
        out[i, 8], out[i, 9] = F.mul(np.uint64(7), a0), F.mul(np.uint64(7), b1)
        # a b + (b1, a0) (a1, b1)
        u0, u1 = F.ext_mul(a0, a1, b0, b1)
        v0, v1 = F.ext_mul(b1, a0, a1, b1)
        out[i, 10], out[i, 11] = F.add(u0, v0), F.add(u1, v1)


def test_intrinsics_match_field_kernels():
    a, b = operands()
    got, want = np.empty((a.shape[0], 12), np.uint64), np.empty((a.shape[0], 12), np.uint64)
    _ops_fast(a, b, got)
    _ops_ref(a, b, want)
    assert np.array_equal(got, want)


@numba.njit(cache=False)
def _mac_fast(e, f):
    w0 = w1 = w2 = w3 = w4 = w5 = np.uint64(0)
    for i in range(e.shape[0]):
        w0, w1, w2, w3, w4, w5 = L.xmac(w0, w1, w2, w3, w4, w5, e[i, 0], e[i, 1], f[i, 0], f[i, 1])
    return L.xacc(w0, w1, w2, w3, w4, w5)


@numba.njit(cache=False)
def _mac_ref(e, f):
    s0 = s1 = np.uint64(0)
    for i in range(e.shape[0]):
        t0, t1 = F.ext_mul(e[i, 0], e[i, 1], f[i, 0], f[i, 1])
        s0, s1 = F.add(s0, t0), F.add(s1, t1)
    return s0, s1


@pytest.mark.parametrize("count", [1, 3, 1 << 12, 1 << 16])
def test_unreduced_accumulation_matches_field_kernels(count):
    # the worst case for the i192 sums: every coefficient p - 1; then random values
    rng = np.random.default_rng(count)
    top = np.full((count, 2), P - 1, dtype=np.uint64)
    assert _mac_fast(top, top) == _mac_ref(top, top)
    e, f = ext.random(count, rng), ext.random(count, rng)
    assert _mac_fast(e, f) == _mac_ref(e, f)
