"""The row code: Reed-Solomon on the order-``L`` subgroup, bit-reversed order (numpy only).

A message ``m`` of ``C = 2^c`` elements (base or extension) is the coefficient vector of
``m(X) = sum_{i<C} m_i X^i`` and its codeword of length ``L = 2^b C`` is

    ``Enc(m)[j] = m(w^bitrev_L(j))``,  ``w = root_of_unity(log L)``,

(``bitrev_L`` reverses the ``log L`` bits of ``j``). The prover computes whole codewords with a
DIF NTT (:mod:`zkinfer.commit.ligero._kernels`); the verifier needs ``Enc(m)`` only at the ``t``
queried positions and uses :func:`evaluate_at`, which costs about ``9 t C`` float64
multiply-adds per base message (``3 x 3`` limb products), done by BLAS
(:mod:`zkinfer.field.blas`) instead of numpy field multiplications.
"""

from __future__ import annotations

import functools

import numpy as np
import numpy.typing as npt

from zkinfer.field import blas
from zkinfer.field import goldilocks as gl

__all__ = ["bitrev", "power_table", "evaluate_at"]

U64 = npt.NDArray[np.uint64]


def bitrev(indices: npt.ArrayLike, bits: int) -> npt.NDArray[np.int64]:
    """Reverse the low ``bits`` bits of each index (vectorized)."""
    idx = np.asarray(indices, dtype=np.int64)
    out = np.zeros_like(idx)
    for b in range(bits):
        out |= ((idx >> b) & 1) << (bits - 1 - b)
    return out


@functools.lru_cache(maxsize=8)
def power_table(log_len: int) -> U64:
    """``[w^0, w^1, ..., w^(L-1)]`` for ``w = root_of_unity(log_len)`` (read-only, cached)."""
    return _powers(gl.root_of_unity(log_len), 1 << log_len)


def _split_size(log_c: int, num_msgs: int) -> int:
    """``log2 S`` for :func:`evaluate_at`.

    ``C / S <= 2^11`` gets ``3 x 3`` limb products instead of ``4 x 3`` in the exact matrix
    product (:func:`zkinfer.field.blas.limb_widths`); beyond that, ``S ~ sqrt(C / V)``
    balances the gathered powers (``C / S`` by ``t``) against the ``V S t`` numpy field
    products of the last step. (Measured on ``V = 2..8``, ``C = 2^10..2^17``, ``t = 241``.)
    """
    log_v = max(0, num_msgs.bit_length() - 1)
    return max(0, min(log_c, max(log_c - 11, (log_c - log_v) // 2 - 2)))


@functools.lru_cache(maxsize=8)
def _power_halves(log_len: int) -> tuple[U64, U64, int]:
    """``(w^i for i < 2^h, w^(2^h j) for j < 2^(log_len - h), h)``, ``h = ceil(log_len / 2)``:
    two square-root-size tables that give any power of ``w`` in one product."""
    h = (log_len + 1) // 2
    low = _powers(gl.root_of_unity(log_len), 1 << h)
    high = _powers(pow(gl.root_of_unity(log_len), 1 << h, gl.P), 1 << (log_len - h))
    return low, high, h


def _powers(base: int, count: int) -> U64:
    """``[base^0, ..., base^(count-1)]`` (read-only), by doubling: ``base^(i + n) = base^i
    base^n`` for the next ``n`` entries."""
    table = np.ones(1, dtype=np.uint64)
    step = base  # base^(len(table))
    with np.errstate(over="ignore"):
        while table.shape[0] < count:
            table = np.concatenate([table, gl.mul_unchecked(table, np.uint64(step))])
            step = step * step % gl.P
    table = table[:count]
    table.setflags(write=False)
    return table


def powers_at(log_len: int, exponents: npt.NDArray) -> U64:
    """``w^e`` for each exponent ``e`` in ``[0, 2^log_len)`` (any shape), ``w =
    root_of_unity(log_len)``: the entries of :func:`power_table` without building it (a fresh
    verifier needs a few thousand powers of a table of up to ``2^21``)."""
    low, high, h = _power_halves(log_len)
    e = np.asarray(exponents).astype(np.int64, copy=False)
    with np.errstate(over="ignore"):
        return gl.mul_unchecked(low[e & ((1 << h) - 1)], high[e >> h])


_CHUNK_BYTES = 1 << 22
"""Gathered power limbs per chunk of positions in :func:`evaluate_at` (4 MB): bounds the
temporaries (fewer fresh pages to fault in per call) at little cost in matrix-product size;
measured ~15-30% faster than one chunk for ``C = 2^16..2^17``."""


def evaluate_at(messages: U64, positions: npt.ArrayLike, log_blowup: int) -> U64:
    """``Enc(m)[j]`` for each base message ``m`` (rows of ``messages``) and position ``j``.

    Arguments:
        messages: ``(V, C)`` base elements, ``C`` a power of two (extension messages are two
            base messages, one per coefficient, since the code is linear and ``w`` is in ``F_p``).
        positions: ``t`` codeword positions in ``[0, L)``.
        log_blowup: ``log2(L / C)``.

    Returns:
        ``(V, t)`` base elements.

    Method: write ``i = a + S b`` (``a < S``, :func:`_split_size`). Then
    ``m(x) = sum_{a<S} x^a * M_a(x^S)`` with ``M_a(y) = sum_b m_{a+Sb} y^b``; all ``M_a(y_j)`` are
    one exact matrix product ``(V S, C/S) x (C/S, t)`` (:mod:`zkinfer.field.blas`)
    whose right factor is gathered, already split into limbs, from the table of powers of ``w``
    (``y_j^b = w^(S b e_j mod L)``), then ``V S t`` field products finish. The positions are
    processed in chunks (a few MB of temporaries each); the left factor is split once.
    """
    msg = np.ascontiguousarray(messages, dtype=np.uint64)
    num_msgs, c = msg.shape
    pos = np.asarray(positions, dtype=np.int64).reshape(-1)
    log_c = c.bit_length() - 1
    log_len = log_c + log_blowup
    if log_len > 32:
        raise ValueError(f"codeword length 2^{log_len} above 2^32")
    mask = np.uint32((1 << log_len) - 1)
    e = bitrev(pos, log_len)  # x_j = w^e_j
    s = 1 << _split_size(log_c, num_msgs)
    k = c // s
    ba, bb = blas.limb_widths(k)
    nb = blas.limb_count(bb)
    # A[(v, a), b] = m_v[a + S b], split into limbs once
    a_mat = msg.reshape(num_msgs, k, s).transpose(0, 2, 1).reshape(num_msgs * s, k)
    a_limbs = blas.split_limbs(a_mat, ba)
    a_sums = blas.limb_sums(a_limbs)
    # y_j = w^f_j, f_j = S e_j mod L; exponents of y_j^b mod L in uint32 (L divides 2^32)
    f = ((s * e) & int(mask)).astype(np.uint32)
    b_idx = np.arange(k, dtype=np.uint32)
    a_idx = np.arange(s, dtype=np.int64)
    out = np.empty((num_msgs, pos.shape[0]), dtype=np.uint64)
    chunk = max(8, _CHUNK_BYTES // (8 * k * nb))
    for lo in range(0, pos.shape[0], chunk):
        hi = min(pos.shape[0], lo + chunk)
        exps = np.multiply.outer(b_idx, f[lo:hi])  # b f_j mod 2^32
        exps &= mask
        # Y[b, j] = y_j^b, as limbs: (k, nb, chunk)
        y_limbs = blas.split_limbs(powers_at(log_len, exps), bb, axis=1)
        inner = blas.matmul_split(a_limbs, ba, y_limbs, bb, a_sums=a_sums)  # (V S, chunk)
        if s == 1:
            out[:, lo:hi] = inner
            continue
        # m(x_j) = sum_a x_j^a M_a(y_j)
        x_pow = powers_at(log_len, np.multiply.outer(a_idx, e[lo:hi]) & int(mask))  # (S, chunk)
        with np.errstate(over="ignore"):
            prods = gl.mul_unchecked(inner.reshape(num_msgs, s, hi - lo), x_pow[None, :, :])
        out[:, lo:hi] = gl.sum(prods, axis=1)
    return out
