"""Exact matrix products over Goldilocks with float64 BLAS (numpy only, verifier-safe).

numpy's elementwise field multiply runs at ~17 M/s; the verifier's inner products (opened
columns against ``a`` and ``gamma``, the re-encoding of ``u`` and ``w``) are matrix products,
which BLAS computes at tens of GFLOP/s. Split every entry into limbs small enough that

    ``sum_{i<k} a_limb[i] * b_limb[i] < k * 2^(ba + bb) <= 2^53``

so each limb product is an *exact* float64 matrix product (integers below ``2^53`` are exact
doubles and every partial sum stays below that). Then recombine mod p:

    ``A B = sum_{i,j} 2^(ba*i + bb*j) * (A_i B_j)  (mod p)``.

Layouts: ``a`` limbs are *limbs first* ``(na, m, k)``, ``b`` limbs *limbs last* ``(k, n, nb)``, so
both reshape into 2-D BLAS operands without a copy.
"""

from __future__ import annotations

import functools

import numpy as np
import numpy.typing as npt

from zkinfer.field import goldilocks as gl

__all__ = ["limb_widths", "split_limbs", "matmul", "matmul_split"]

U64 = npt.NDArray[np.uint64]
F64 = npt.NDArray[np.float64]

_EXACT_BITS = 53


@functools.lru_cache(maxsize=64)
def limb_widths(k: int) -> tuple[int, int]:
    """Limb widths ``(ba, bb)`` for an inner dimension ``k``: ``ba + bb + log2(k) <= 53``,
    minimizing the number of limb products ``ceil(64/ba) * ceil(64/bb)`` (ties: fewer ``b`` limbs).

    Raises:
        ValueError: ``k`` too large (``> 2^40``) for an exact product.
    """
    budget = _EXACT_BITS - max(0, (int(k) - 1).bit_length())
    if budget < 8:
        raise ValueError(f"inner dimension {k} too large for exact float64 products")
    # key: (number of limb products, number of b limbs, -ba)
    _, _, neg_ba = min(
        (-(-64 // ba) * -(-64 // (budget - ba)), -(-64 // (budget - ba)), -ba)
        for ba in range(1, budget)
    )
    return -neg_ba, budget + neg_ba


def split_limbs(x: U64, bits: int, limbs_last: bool = False) -> F64:
    """Split ``uint64`` entries into ``ceil(64 / bits)`` limbs of ``bits`` bits, as float64.

    Returns:
        shape ``(nl,) + x.shape`` (or ``x.shape + (nl,)`` with ``limbs_last``), limb ``i``
        holding bits ``[bits*i, bits*(i+1))``.
    """
    count = -(-64 // bits)
    mask = np.uint64((1 << bits) - 1)
    out = np.empty((count,) + x.shape if not limbs_last else x.shape + (count,), dtype=np.float64)
    for i in range(count):
        limb = (x >> np.uint64(bits * i)) & mask
        if limbs_last:
            out[..., i] = limb
        else:
            out[i] = limb
    return out


@functools.lru_cache(maxsize=256)
def _pow2_mod_p(s: int) -> np.uint64:
    return np.uint64(pow(2, s, gl.P))


def matmul_split(a_limbs: F64, ba: int, b_limbs: F64, bb: int) -> U64:
    """``A B mod p`` from pre-split operands.

    Arguments:
        a_limbs: ``(na, m, k)`` limbs of ``A`` (``ba`` bits each), from :func:`split_limbs`.
        ba: bits per ``A`` limb.
        b_limbs: ``(k, n, nb)`` limbs of ``B`` (``bb`` bits each, limbs last).
        bb: bits per ``B`` limb.

    Returns:
        ``(m, n)`` canonical field elements.

    The caller guarantees ``ba + bb + log2(k) <= 53`` (see :func:`limb_widths`).
    """
    na, m, k = a_limbs.shape
    k2, n, nb = b_limbs.shape
    if k != k2:
        raise ValueError(f"inner dimensions differ: {k} and {k2}")
    if m == 0 or n == 0:
        return np.zeros((m, n), dtype=np.uint64)
    if k == 0:
        return np.zeros((m, n), dtype=np.uint64)
    # (na m, k) @ (k, n nb): every entry an exact integer < 2^53
    prod = a_limbs.reshape(na * m, k) @ b_limbs.reshape(k, n * nb)
    parts = prod.reshape(na, m, n, nb).astype(np.uint64)  # each < 2^53 < p: canonical
    acc = np.zeros((m, n), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for i in range(na):
            for j in range(nb):
                # acc += 2^(ba i + bb j) * (A_i B_j)  (mod p)
                term = parts[i, :, :, j]
                s = ba * i + bb * j
                if s:
                    term = gl._mul(term, _pow2_mod_p(s))
                acc = gl._add(acc, term)
    return acc


def matmul(a: U64, b: U64) -> U64:
    """``A B mod p`` for canonical ``uint64`` matrices ``(m, k)`` and ``(k, n)`` (exact)."""
    a = np.asarray(a, dtype=np.uint64)
    b = np.asarray(b, dtype=np.uint64)
    ba, bb = limb_widths(a.shape[1])
    return matmul_split(split_limbs(a, ba), ba, split_limbs(b, bb, limbs_last=True), bb)
