"""The quadratic extension ``F_p2 = F_p[X] / (X^2 - 7)`` on numpy arrays.

Layout: an element ``c0 + c1*X`` is the pair ``[c0, c1]`` of canonical ``uint64`` words, and an
array of extension elements has shape ``(..., 2)`` (the last axis holds the two coefficients,
so ``a[..., 0]`` is the base-field part). A single element has shape ``(2,)``.

``X^2 - 7`` is irreducible because 7 is not a square mod p (checked at import), so
``|F_p2| = p^2 ~ 2^128``: every verifier challenge lives here.

numpy only (the verifier imports this module); the prover's Numba twins are the ``ext_*``
kernels in :mod:`zkinfer.field._kernels`.
"""

from __future__ import annotations

import builtins

import numpy as np
import numpy.typing as npt

from zkinfer.errors import FieldRangeError, ProofFormatError
from zkinfer.field import goldilocks as gl
from zkinfer.field import reference as ref

__all__ = [
    "W",
    "ELEMENT_BYTES",
    "as_ext",
    "from_base",
    "zeros",
    "ones",
    "add",
    "sub",
    "neg",
    "mul",
    "mul_base",
    "mul_unchecked",
    "pow",
    "inv",
    "batch_inv",
    "sum",
    "inner",
    "random",
    "to_bytes",
    "from_bytes",
]

W = 7
"""The non-residue: ``X^2 = W``."""

ELEMENT_BYTES = 16
"""Bytes of one encoded extension element: ``c0`` then ``c1``, 8 bytes little-endian each."""

U64 = npt.NDArray[np.uint64]
_W = np.uint64(W)


def as_ext(a: npt.ArrayLike, name: str = "value") -> U64:
    """Validate ``a`` as extension elements: last axis of length 2, canonical coefficients.

    Raises:
        FieldRangeError: wrong last axis or a non-canonical coefficient.
    """
    arr = gl.as_field(a, name)
    if arr.ndim == 0 or arr.shape[-1] != 2:
        raise FieldRangeError(f"{name}: extension elements need a last axis of length 2, "
                              f"got shape {arr.shape}")
    return arr


def from_base(a: npt.ArrayLike) -> U64:
    """Embed base elements ``a`` (any shape) as ``a + 0*X`` (shape ``a.shape + (2,)``)."""
    arr = gl.as_field(a, "a")
    out = np.zeros(arr.shape + (2,), dtype=np.uint64)
    out[..., 0] = arr
    return out


def zeros(shape: int | tuple[int, ...] = ()) -> U64:
    """Extension zeros of the given shape (the trailing 2 is added)."""
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    return np.zeros(shape + (2,), dtype=np.uint64)


def ones(shape: int | tuple[int, ...] = ()) -> U64:
    """Extension ones of the given shape (the trailing 2 is added)."""
    out = zeros(shape)
    out[..., 0] = 1
    return out


def mul_unchecked(a: U64, b: U64) -> U64:
    """``a * b`` in ``F_p2`` on canonical ``(..., 2)`` arrays of one shape, without validation
    (the contract of :func:`zkinfer.field.goldilocks.mul_unchecked`). Sums and differences of
    extension arrays are coefficientwise: ``goldilocks.add_unchecked`` / ``sub_unchecked``."""
    return gl.by_row_chunks(_mul_rows, a, b, 2, _CHUNK)


_CHUNK = 4096


def _mul_rows(a: U64, b: U64) -> U64:
    # (a0 + a1 X)(b0 + b1 X) = (a0 b0 + W a1 b1) + (a0 b1 + a1 b0) X: the row a times the
    # matrix [[b0, b1], [W b1, b0]], its four products in one base multiplication
    b0, b1 = b[:, 0], b[:, 1]
    mat = np.stack([b, np.stack([gl.times7_unchecked(b1), b0], axis=-1)], axis=1)
    prod = gl.mul_unchecked(a[:, :, None], mat)
    return gl.add_unchecked(prod[:, 0], prod[:, 1])


def _pow(a: U64, e: int) -> U64:
    one = np.zeros_like(a)
    one[..., 0] = 1
    return gl._square_multiply(one, a, e, mul_unchecked)


def _inv(a: U64) -> U64:
    # 1 / (a0 + a1 X) = (a0 - a1 X) / (a0^2 - W a1^2); the norm is in F_p and non-zero iff a is.
    a0, a1 = a[..., 0], a[..., 1]
    mul = gl.mul_unchecked
    norm = gl.sub_unchecked(mul(a0, a0), mul(mul(a1, a1), _W))
    n_inv = gl._pow(norm, gl.P - 2)
    return np.stack([mul(a0, n_inv), mul(gl.neg_unchecked(a1), n_inv)], axis=-1)


def add(a: npt.ArrayLike, b: npt.ArrayLike) -> U64:
    """``a + b`` in ``F_p2`` elementwise."""
    with np.errstate(over="ignore"):
        return gl.add_unchecked(*np.broadcast_arrays(as_ext(a, "a"), as_ext(b, "b")))


def sub(a: npt.ArrayLike, b: npt.ArrayLike) -> U64:
    """``a - b`` in ``F_p2`` elementwise."""
    with np.errstate(over="ignore"):
        return gl.sub_unchecked(*np.broadcast_arrays(as_ext(a, "a"), as_ext(b, "b")))


def neg(a: npt.ArrayLike) -> U64:
    """``-a`` in ``F_p2`` elementwise."""
    return gl.neg_unchecked(as_ext(a, "a"))


_SMALL = 16  # up to this many products, Python integers beat numpy's per-call overhead


def _mul_small(x: U64, y: U64) -> U64:
    """Elementwise product on Python ints (same result as :func:`mul_unchecked`)."""
    out = [ref.ext_mul((a0, a1), (b0, b1))
           for (a0, a1), (b0, b1) in zip(x.reshape(-1, 2).tolist(), y.reshape(-1, 2).tolist())]
    return np.array(out, dtype=np.uint64).reshape(x.shape)


def mul(a: npt.ArrayLike, b: npt.ArrayLike) -> U64:
    """``a * b`` in ``F_p2`` elementwise (broadcasting over the leading axes)."""
    with np.errstate(over="ignore"):
        x, y = np.broadcast_arrays(as_ext(a, "a"), as_ext(b, "b"))
        if x.size <= 2 * _SMALL:
            return _mul_small(x, y)
        return mul_unchecked(x, y)


def mul_base(a: npt.ArrayLike, b: npt.ArrayLike) -> U64:
    """``a * b`` with ``a`` in ``F_p2`` (shape ``(..., 2)``) and ``b`` in ``F_p`` (shape ``(...)``)."""
    x = as_ext(a, "a")
    y = gl.as_field(b, "b")
    with np.errstate(over="ignore"):
        return gl.mul_unchecked(x, y[..., None])


def pow(a: npt.ArrayLike, e: int) -> U64:  # noqa: A001
    """``a^e`` in ``F_p2`` for an integer ``e >= 0``."""
    e = int(e)
    if e < 0:
        raise FieldRangeError("pow: negative exponent; invert first")
    with np.errstate(over="ignore"):
        return _pow(np.asarray(as_ext(a, "a")), e)


def inv(a: npt.ArrayLike) -> U64:
    """``a^-1`` in ``F_p2`` elementwise.

    Raises:
        ZeroDivisionError: an entry is zero.
    """
    arr = as_ext(a, "a")
    if arr.size and bool(((arr[..., 0] == 0) & (arr[..., 1] == 0)).any()):
        raise ZeroDivisionError("inverse of zero in F_p2")
    with np.errstate(over="ignore"):
        return _inv(arr)


def batch_inv(a: npt.ArrayLike) -> U64:
    """Inverses of a whole array (same contract as :func:`inv`)."""
    return inv(a)


def sum(a: npt.ArrayLike, axis: int | None = None) -> U64:  # noqa: A001
    """Sum of extension elements over ``axis`` of the leading axes (all of them when ``None``)."""
    arr = as_ext(a, "a")
    if axis is None:
        arr = arr.reshape(-1, 2)
        axis = 0
    elif axis < 0:
        axis -= 1  # count from the end of the leading axes, skipping the coefficient axis
    return gl.sum(arr, axis=axis)


def inner(a: npt.ArrayLike, b: npt.ArrayLike) -> U64:
    """``sum_i a_i b_i`` over the last leading axis; ``b`` may be extension or base (no axis 2)."""
    x = as_ext(a, "a")
    y = np.asarray(b)
    prod = mul(x, y) if y.ndim == x.ndim else mul_base(x, y)
    return sum(prod, axis=-1)


def random(shape: int | tuple[int, ...], rng: np.random.Generator) -> U64:
    """Uniform extension elements of the given shape (the trailing 2 is added)."""
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    return gl.random(shape + (2,), rng)


def to_bytes(a: npt.ArrayLike) -> bytes:
    """Canonical encoding: ``c0`` then ``c1`` of each element, 8 bytes little-endian each."""
    return gl.to_bytes(as_ext(a, "a"))


def from_bytes(data: bytes, count: int | None = None) -> U64:
    """Strict inverse of :func:`to_bytes`; returns shape ``(count, 2)``.

    Raises:
        ProofFormatError: wrong length or a non-canonical coefficient.
    """
    if isinstance(data, (bytes, bytearray, memoryview)) and len(data) % ELEMENT_BYTES:
        raise ProofFormatError(f"{len(data)} bytes is not a whole number of 16-byte elements")
    words = gl.from_bytes(data, None if count is None else 2 * count)
    return words.reshape(-1, 2)


def _self_check() -> None:
    # Euler's criterion: 7 is a non-square iff 7^((p-1)/2) = -1, so X^2 - 7 is irreducible.
    if builtins.pow(W, (gl.P - 1) // 2, gl.P) != gl.P - 1:
        raise RuntimeError("X^2 - 7 is reducible over F_p")  # pragma: no cover


_self_check()
