"""Exact matrix products over Goldilocks with float64 BLAS (numpy only, verifier-safe).

numpy's elementwise field multiply runs at ~17 M/s; inner products over many rows are matrix
products, which BLAS computes at tens of GFLOP/s (the Ligero verifier's: opened columns against
``a`` and ``gamma``, the re-encoding of ``u`` and ``w``, :mod:`zkinfer.commit.ligero.verify`).

Split every entry into ``b``-bit limbs and *center* them:
``a = sum_i 2^(b i) (a'_i + 2^(b-1))`` with ``a'_i`` in ``[-2^(b-1), 2^(b-1))``. For an inner
dimension ``k`` with

    ``|sum_{x<k} a'_i[x] * b'_j[x]| <= k * 2^(ba-1) * 2^(bb-1) <= 2^53``,

i.e. ``ba + bb + ceil(log2 k) <= 55``, each centered limb product is an *exact* float64 matrix
product (integers up to ``2^53`` are exact doubles, and every partial sum is bounded the same
way), two bits more than unsigned limbs allow (``3 x 3`` limb products instead of ``3 x 4`` for
``k <= 2^11``). The offsets come back as exact rank-one corrections (in ``int64``, every term
below ``2^57``):

    ``A_i B_j = A'_i B'_j + 2^(bb-1) rowsum(A'_i) + 2^(ba-1) colsum(B'_j) + k 2^(ba+bb-2)``,

then ``A B = sum_{i,j} 2^(ba*i + bb*j) * (A_i B_j)  (mod p)``.

Layouts: ``a`` limbs are ``(na, m, k)``, ``b`` limbs ``(k, nb, n)``, so both reshape into 2-D
BLAS operands without a copy and one BLAS call computes every limb product (leading batch axes,
if any, go to ``np.matmul``).
"""

from __future__ import annotations

import functools

import numpy as np
import numpy.typing as npt

from zkinfer.field import goldilocks as gl

__all__ = ["limb_widths", "limb_count", "split_limbs", "limb_sums", "matmul", "matmul_split"]

U64 = npt.NDArray[np.uint64]
F64 = npt.NDArray[np.float64]

_EXACT_BITS = 53
_CENTERED_BITS = _EXACT_BITS + 2  # centered limbs: |a'| <= 2^(ba-1), |b'| <= 2^(bb-1)


def limb_count(bits: int) -> int:
    """Limbs of ``bits`` bits that hold a 64-bit word: ``ceil(64 / bits)``."""
    return -(-64 // bits)


@functools.lru_cache(maxsize=64)
def limb_widths(k: int) -> tuple[int, int]:
    """Limb widths ``(ba, bb)`` for an inner dimension ``k``: ``ba + bb + ceil(log2 k) <= 55``,
    minimizing the number of limb products ``ceil(64/ba) * ceil(64/bb)`` (ties: fewer ``b``
    limbs, then wider ``a`` limbs).

    Raises:
        ValueError: ``k`` too large (``> 2^45``) for an exact product.
    """
    budget = _CENTERED_BITS - max(0, (int(k) - 1).bit_length())
    if budget < 10:
        raise ValueError(f"inner dimension {k} too large for exact float64 products")
    # key: (number of limb products, number of b limbs, -ba)
    _, _, neg_ba = min(
        (limb_count(ba) * limb_count(budget - ba), limb_count(budget - ba), -ba)
        for ba in range(1, min(budget, 64))
    )
    return -neg_ba, budget + neg_ba


def split_limbs(x: U64, bits: int, axis: int = 0) -> F64:
    """Split ``uint64`` entries into ``limb_count(bits)`` centered limbs, as float64.

    Limb ``i`` is ``((x >> bits*i) mod 2^bits) - 2^(bits-1)``, in ``[-2^(bits-1), 2^(bits-1))``.

    Returns:
        shape ``x.shape[:axis] + (nl,) + x.shape[axis:]`` (the limbs inserted at ``axis``).
    """
    count = limb_count(bits)
    mask = np.uint64((1 << bits) - 1)
    half = float(1 << (bits - 1))
    x = np.asarray(x, dtype=np.uint64)
    out = np.empty(x.shape[:axis] + (count,) + x.shape[axis:], dtype=np.float64)
    index: list[slice | int] = [slice(None)] * out.ndim
    for i in range(count):
        index[axis] = i
        limb = x >> np.uint64(bits * i) if i else x
        if i < count - 1:
            limb = limb & mask
        np.subtract(limb, half, out=out[tuple(index)])
    return out


def limb_sums(a_limbs: F64) -> F64:
    """Row sums of ``A``'s limbs over the inner dimension, ``(..., na, m)`` (exact), to pass to
    :func:`matmul_split` when one ``A`` is multiplied by several ``B``."""
    return a_limbs.sum(axis=-1)


def matmul_split(a_limbs: F64, ba: int, b_limbs: F64, bb: int,
                 a_sums: F64 | None = None) -> U64:
    """``A B mod p`` from pre-split operands (optionally batched over leading axes).

    Arguments:
        a_limbs: ``(..., na, m, k)`` centered limbs of ``A`` (``ba`` bits each), from
            ``split_limbs(A, ba, axis=A.ndim - 2)``.
        ba: bits per ``A`` limb.
        b_limbs: ``(..., k, nb, n)`` centered limbs of ``B`` (``bb`` bits each), from
            ``split_limbs(B, bb, axis=B.ndim - 1)``.
        bb: bits per ``B`` limb.
        a_sums: :func:`limb_sums` of ``a_limbs``, if already computed.

    Returns:
        ``(..., m, n)`` canonical field elements (leading axes broadcast as in ``np.matmul``).

    The caller guarantees ``ba + bb + ceil(log2 k) <= 55`` (see :func:`limb_widths`).
    """
    *batch_a, na, m, k = a_limbs.shape
    *batch_b, k2, nb, n = b_limbs.shape
    if k != k2:
        raise ValueError(f"inner dimensions differ: {k} and {k2}")
    batch = np.broadcast_shapes(tuple(batch_a), tuple(batch_b))
    if m == 0 or n == 0 or k == 0:
        return np.zeros(batch + (m, n), dtype=np.uint64)
    # (na m, k) @ (k, nb n): every entry an exact integer of absolute value <= 2^53
    prod = np.matmul(a_limbs.reshape(*batch_a, na * m, k), b_limbs.reshape(*batch_b, k, nb * n))
    prod = prod.reshape(batch + (na, m, nb, n))
    # undo the centering: A_i B_j = A'_i B'_j + hb rowsum(A'_i) + ha colsum(B'_j) + k ha hb,
    # a non-negative integer below k 2^(ba + bb) <= 2^55 (exact in int64, canonical mod p)
    ha, hb = 1 << (ba - 1), 1 << (bb - 1)
    if a_sums is None:
        a_sums = limb_sums(a_limbs)
    row = (a_sums * hb).astype(np.int64) + k * ha * hb  # (..., na, m), exact
    col = (b_limbs.sum(axis=-3) * ha).astype(np.int64)  # (..., nb, n), exact
    parts = prod.astype(np.int64)
    parts += row[..., :, :, None, None]
    parts += col[..., None, None, :, :]
    # A B = sum_{i,j} 2^(ba i + bb j) (A_i B_j)  (mod p): one weighted product, two exact sums
    with np.errstate(over="ignore"):
        weighted = gl.mul_unchecked(parts.view(np.uint64), _shift_weights(na, ba, nb, bb)[:, None, :, None])
    return gl.sum(gl.sum(weighted, axis=-2), axis=-3)


@functools.lru_cache(maxsize=64)
def _shift_weights(na: int, ba: int, nb: int, bb: int) -> U64:
    """``W[i, j] = 2^(ba i + bb j) mod p``, shape ``(na, nb)`` (read-only)."""
    out = np.array([[pow(2, ba * i + bb * j, gl.P) for j in range(nb)] for i in range(na)],
                   dtype=np.uint64)
    out.setflags(write=False)
    return out


def matmul(a: U64, b: U64) -> U64:
    """``A B mod p`` for canonical ``uint64`` matrices ``(..., m, k)`` and ``(..., k, n)``
    (exact; leading axes broadcast as in ``np.matmul``)."""
    a = np.asarray(a, dtype=np.uint64)
    b = np.asarray(b, dtype=np.uint64)
    ba, bb = limb_widths(a.shape[-1])
    return matmul_split(split_limbs(a, ba, axis=a.ndim - 2), ba,
                        split_limbs(b, bb, axis=b.ndim - 1), bb)
