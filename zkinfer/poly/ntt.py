"""Fast radix-2 NTT over Goldilocks (Numba; prover side).

``ntt(a)[.., i] = sum_k a[.., k] * (shift * w^i)^k`` along the last axis, ``w`` a primitive
``n``-th root of unity (``zkinfer.field.goldilocks.root_of_unity``), for ``n = 2^k <= 2^32``
(tested up to ``2^24``). Two-dimensional inputs transform every row. One kernel does every
transform (:func:`zkinfer.poly._kernels.ntt_bitrev_rows`): the radix-2 decimation-in-time
stages on coefficients in bit-reversed order, in two cache-friendly passes in parallel; a
natural-order input is gathered into that order first (:func:`ntt_bitrev_inplace` takes it
already so).

Importing this module imports numba: the verifier never does.
"""

from __future__ import annotations

import functools

import numpy as np
import numpy.typing as npt

from zkinfer.errors import FieldRangeError
from zkinfer.field import goldilocks as gl
from zkinfer.poly import _kernels as K
from zkinfer.poly.univariate import _log2, bit_reversal

__all__ = ["ntt", "intt", "ntt_bitrev_inplace", "low_degree_extend"]

U64 = npt.NDArray[np.uint64]


@functools.lru_cache(maxsize=64)
def _twiddles(log_n: int, inverse: bool) -> U64:
    root = gl.root_of_unity(log_n)
    if inverse:
        root = pow(root, gl.P - 2, gl.P)
    out = np.empty(1 << log_n, dtype=np.uint64)
    K.twiddle_table(np.uint64(root), 1 << log_n, out)
    out.setflags(write=False)
    return out


@functools.lru_cache(maxsize=64)
def _shift_powers(shift: int, n: int, scale: int, reversed_order: bool = False) -> U64:
    """``scale * shift^i`` for ``i < n`` (``reversed_order``: entry ``i`` holds
    ``scale * shift^bitrev(i)``, the factors of coefficients gathered into bit-reversed order)."""
    out = np.empty(n, dtype=np.uint64)
    K.powers(np.uint64(shift % gl.P), out)
    if scale != 1:
        K.scale_columns(out.reshape(1, n), np.full(n, scale, dtype=np.uint64))
    if reversed_order:
        out = out[bit_reversal(n.bit_length() - 1)]
    out.setflags(write=False)
    return out


def _transform(a: U64, log_n: int, inverse: bool, factors: U64 | None = None) -> U64:
    """The (inverse) DFT of every row of ``a`` (``(rows, 2^log_n)``, left alone) into a new
    array, the coefficients first gathered into bit-reversed order and multiplied by
    ``factors`` (given in that order), if any."""
    out = np.empty(a.shape, dtype=np.uint64)
    K.gather_rows(a, bit_reversal(log_n), out)
    if factors is not None:
        K.scale_columns(out, factors)
    K.ntt_bitrev_rows(out, _twiddles(log_n, inverse), log_n)
    return out


def _prepare(a: npt.ArrayLike, name: str) -> tuple[U64, bool]:
    """The input as canonical ``(rows, n)`` words (no copy when it already is) and whether it
    was one row given as 1-D."""
    arr = gl.as_field(a, name)
    if arr.ndim not in (1, 2):
        raise FieldRangeError(f"{name}: expected a 1-D or 2-D array, got shape {arr.shape}")
    one_d = arr.ndim == 1
    return np.ascontiguousarray(arr.reshape(1, -1) if one_d else arr, dtype=np.uint64), one_d


def ntt(coeffs: npt.ArrayLike, shift: int = 1) -> U64:
    """Evaluate polynomials (coefficients along the last axis) on ``shift * <w>``.

    Arguments:
        coeffs: shape ``(n,)`` or ``(rows, n)``, ``n`` a power of two.
        shift: coset shift (``1`` for the subgroup itself); must be non-zero.

    Returns:
        A new array of evaluations with the same shape.

    Raises:
        FieldRangeError: ``n`` not a power of two, non-canonical input, or ``shift == 0``.
    """
    a, one_d = _prepare(coeffs, "coeffs")
    n = a.shape[1]
    log_n = _log2(n)
    if shift % gl.P == 0:
        raise FieldRangeError("coset shift must be non-zero")
    factors = _shift_powers(shift % gl.P, n, 1, True) if shift % gl.P != 1 else None
    a = _transform(a, log_n, False, factors)
    return a[0] if one_d else a


def ntt_bitrev_inplace(a: U64) -> U64:
    """:func:`ntt` (no shift) of every row of the writable ``(rows, 2^k)`` array ``a`` whose
    coefficients are stored in bit-reversed order (entry ``i`` holds coefficient
    ``bitrev(i)``), in place; returns ``a``. The decimation-in-time stages run without their
    bit-reversal pass, blocked for the cache (:func:`zkinfer.poly._kernels.ntt_bitrev_rows`):
    about 0.9 s for one row of ``2^24`` on two cores; :func:`ntt` gathers its input into this
    order first."""
    log_n = _log2(a.shape[1])
    K.ntt_bitrev_rows(a, _twiddles(log_n, False), log_n)
    return a


def intt(evals: npt.ArrayLike, shift: int = 1) -> U64:
    """Inverse of :func:`ntt` with the same ``shift``: evaluations -> coefficients."""
    a, one_d = _prepare(evals, "evals")
    n = a.shape[1]
    log_n = _log2(n)
    if shift % gl.P == 0:
        raise FieldRangeError("coset shift must be non-zero")
    a = _transform(a, log_n, True)
    # coefficient k gets the factor n^-1 * shift^-k
    shift_inv = pow(shift % gl.P, gl.P - 2, gl.P)
    K.scale_columns(a, _shift_powers(shift_inv, n, pow(n, gl.P - 2, gl.P)))
    return a[0] if one_d else a


def low_degree_extend(coeffs: npt.ArrayLike, blowup: int, shift: int = 1) -> U64:
    """Reed-Solomon encode: evaluate polynomials of ``n`` coefficients on a domain of size
    ``n * blowup`` (``shift`` times the subgroup of that order).

    Arguments:
        coeffs: shape ``(n,)`` or ``(rows, n)``.
        blowup: a power of two >= 1 (the inverse code rate).
    """
    arr = gl.as_field(coeffs, "coeffs")
    if blowup < 1 or blowup & (blowup - 1):
        raise FieldRangeError("blowup must be a power of two")
    padded = np.zeros(arr.shape[:-1] + (arr.shape[-1] * blowup,), dtype=np.uint64)
    padded[..., : arr.shape[-1]] = arr
    return ntt(padded, shift)
