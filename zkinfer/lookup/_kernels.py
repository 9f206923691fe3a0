"""Numba kernels of the look-up provers (prover side only)."""

from __future__ import annotations

import numba

from zkinfer.field._kernels import add, ext_mul

_pnjit = numba.njit(cache=True, nogil=True, parallel=True)


@_pnjit
def fraction_layer(p, q, out_p, out_q):
    """One layer up the fraction tree: halves ``L = [:h]``, ``R = [h:]`` of ``(p, q)``:

    ``out_p = pL qR + pR qL``, ``out_q = qL qR`` (all extension arrays ``(., 2)``).
    """
    h = p.shape[0] // 2
    for i in numba.prange(h):
        a0, a1 = ext_mul(p[i, 0], p[i, 1], q[i + h, 0], q[i + h, 1])
        b0, b1 = ext_mul(p[i + h, 0], p[i + h, 1], q[i, 0], q[i, 1])
        out_p[i, 0] = add(a0, b0)
        out_p[i, 1] = add(a1, b1)
        c0, c1 = ext_mul(q[i, 0], q[i, 1], q[i + h, 0], q[i + h, 1])
        out_q[i, 0] = c0
        out_q[i, 1] = c1
