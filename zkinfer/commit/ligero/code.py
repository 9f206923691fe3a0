"""The row code: Reed-Solomon on the order-``L`` subgroup, bit-reversed order (numpy only).

A message ``m`` of ``C = 2^c`` elements (base or extension) is the coefficient vector of
``m(X) = sum_{i<C} m_i X^i`` and its codeword of length ``L = 2^b C`` is

    ``Enc(m)[j] = m(w^bitrev_L(j))``,  ``w = root_of_unity(log L)``,

(``bitrev_L`` reverses the ``log L`` bits of ``j``). The prover computes whole codewords with a
DIF NTT (:mod:`zkinfer.commit.ligero._kernels`); the verifier needs ``Enc(m)`` only at the ``t``
queried positions and uses :func:`evaluate_at`, which costs about ``t C`` multiply-adds done by
float64 BLAS (:mod:`zkinfer.commit.ligero.linalg`) instead of numpy field multiplications.
"""

from __future__ import annotations

import functools

import numpy as np
import numpy.typing as npt

from zkinfer.commit.ligero import linalg
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
    w = gl.root_of_unity(log_len)
    table = np.ones(1, dtype=np.uint64)
    step = w  # w^(len(table))
    with np.errstate(over="ignore"):
        while table.shape[0] < (1 << log_len):
            # w^(i + n) = w^i * w^n for the next n entries
            table = np.concatenate([table, gl._mul(table, np.uint64(step))])
            step = step * step % gl.P
    table.setflags(write=False)
    return table


@functools.lru_cache(maxsize=8)
def _power_limbs(log_len: int, bits: int) -> npt.NDArray[np.float64]:
    """:func:`power_table` split into ``bits``-bit limbs, limbs last: ``(L, nl)``."""
    out = linalg.split_limbs(power_table(log_len), bits, limbs_last=True)
    out.setflags(write=False)
    return out


def evaluate_at(messages: U64, positions: npt.ArrayLike, log_blowup: int) -> U64:
    """``Enc(m)[j]`` for each base message ``m`` (rows of ``messages``) and position ``j``.

    Arguments:
        messages: ``(V, C)`` base elements, ``C`` a power of two (extension messages are two
            base messages, one per coefficient, since the code is linear and ``w`` is in ``F_p``).
        positions: ``t`` codeword positions in ``[0, L)``.
        log_blowup: ``log2(L / C)``.

    Returns:
        ``(V, t)`` base elements.

    Method: write ``i = a + S b`` (``a < S``). Then
    ``m(x) = sum_{a<S} x^a * M_a(x^S)`` with ``M_a(y) = sum_b m_{a+Sb} y^b``; all ``M_a(y_j)`` are
    one exact matrix product ``(V S, C/S) x (C/S, t)`` whose right factor is gathered from a
    table of powers of ``w`` (``y_j^b = w^(S b e_j mod L)``), then ``V S t`` field products finish.
    """
    msg = np.ascontiguousarray(messages, dtype=np.uint64)
    num_msgs, c = msg.shape
    pos = np.asarray(positions, dtype=np.int64)
    log_c = c.bit_length() - 1
    log_len = log_c + log_blowup
    mask = (1 << log_len) - 1
    e = bitrev(pos, log_len)  # x_j = w^e_j
    s = 1 << min(log_c, 3)  # the split S: small, so the final V S t products stay cheap
    k = c // s
    ba, bb = linalg.limb_widths(k)
    # A[(v, a), b] = m_v[a + S b]
    a_mat = msg.reshape(num_msgs, k, s).transpose(0, 2, 1).reshape(num_msgs * s, k)
    # Y[b, j] = y_j^b = w^(S b e_j mod L), gathered directly as limbs
    exps = (np.arange(k, dtype=np.int64)[:, None] * (s * e)[None, :]) & mask
    y_limbs = _power_limbs(log_len, bb)[exps]  # (k, t, nb)
    inner = linalg.matmul_split(linalg.split_limbs(a_mat, ba), ba, y_limbs, bb)  # (V S, t)
    inner = inner.reshape(num_msgs, s, pos.shape[0])
    # m(x_j) = sum_a x_j^a M_a(y_j)
    x_pow = power_table(log_len)[(np.arange(s, dtype=np.int64)[:, None] * e[None, :]) & mask]
    with np.errstate(over="ignore"):
        prods = gl._mul(inner, x_pow[None, :, :])
    return gl.sum(prods, axis=1)
