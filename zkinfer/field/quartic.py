"""The quartic extension ``F_p4 = F_p2[Y] / (Y^2 - X)`` on numpy arrays and Python integers.

``F_p2 = F_p[X] / (X^2 - 7)`` is the project's quadratic extension
(:mod:`zkinfer.field.extension`). ``X`` is not a square in ``F_p2``: an element ``a`` of
``F_p2`` is a square iff its norm ``N(a) = a * a^p`` is a square of ``F_p``, and
``N(X) = X * (-X) = -7``, a non-square of ``F_p`` (``-1`` is a square since ``p = 1 mod 4``,
``7`` is not). So ``Y^2 - X`` is irreducible over ``F_p2`` and ``|F_p4| = p^4 ~ 2^256``; both
facts are checked at import (Euler's criterion on ``-7`` and on ``7``). Equivalently
``F_p4 = F_p[Y] / (Y^4 - 7)`` with ``X = Y^2`` (the tests compare with ``galois.GF(p^4)``
built on that modulus).

Layout: an element ``(c0 + c1 X) + (c2 + c3 X) Y`` is the four canonical ``uint64`` words
``[c0, c1, c2, c3]``; an array of elements has shape ``(..., 4)``, whose halves ``[..., :2]``
and ``[..., 2:]`` are ``F_p2`` elements in :mod:`zkinfer.field.extension`'s layout. ``F_p2``
embeds as ``[c0, c1, 0, 0]`` and ``F_p`` as ``[c, 0, 0, 0]``. Product::

    (A0 + A1 Y)(B0 + B1 Y) = (A0 B0 + X A1 B1) + (A0 B1 + A1 B0) Y,  X (u0 + u1 X) = 7 u1 + u0 X

numpy only (the verifier imports this module); the prover's Numba twins are in
:mod:`zkinfer.field._quartic_kernels`. :class:`Fp4` is a scalar on Python integers for the
verifier's bookkeeping.
"""

from __future__ import annotations

import builtins

import numpy as np
import numpy.typing as npt

from zkinfer.errors import FieldRangeError, ProofFormatError
from zkinfer.field import extension as ext
from zkinfer.field import goldilocks as gl

__all__ = [
    "ELEMENT_BYTES",
    "Fp4",
    "as_quartic",
    "from_base",
    "from_ext",
    "zeros",
    "ones",
    "add",
    "sub",
    "neg",
    "mul",
    "mul_unchecked",
    "pow",
    "inv",
    "sum",
    "random",
    "to_bytes",
    "from_bytes",
    "ref_mul",
    "ref_inv",
]

ELEMENT_BYTES = 32
"""Bytes of one encoded element: ``c0, c1, c2, c3``, 8 bytes little-endian each."""

P = gl.P
U64 = npt.NDArray[np.uint64]
_W = 7  # X^2 = 7

Quad = tuple[int, int, int, int]


# ---- Python-integer reference (also the small-size path of the numpy functions)


def _e2mul(a0: int, a1: int, b0: int, b1: int) -> tuple[int, int]:
    return (a0 * b0 + _W * a1 * b1) % P, (a0 * b1 + a1 * b0) % P


def ref_mul(a: Quad, b: Quad) -> Quad:
    """The product of two elements given as 4-tuples of canonical integers."""
    v0 = _e2mul(a[0], a[1], b[0], b[1])
    v1 = _e2mul(a[2], a[3], b[2], b[3])
    m0 = _e2mul(a[0], a[1], b[2], b[3])
    m1 = _e2mul(a[2], a[3], b[0], b[1])
    # X v1 = 7 v1[1] + v1[0] X
    return ((v0[0] + _W * v1[1]) % P, (v0[1] + v1[0]) % P, (m0[0] + m1[0]) % P,
            (m0[1] + m1[1]) % P)


def ref_inv(a: Quad) -> Quad:
    """The inverse of a non-zero element: ``(A0 - A1 Y) / (A0^2 - X A1^2)`` (the norm to
    ``F_p2``), then ``F_p2``'s ``(n0 - n1 X) / (n0^2 - 7 n1^2)``.

    Raises:
        ZeroDivisionError: ``a`` is zero.
    """
    if not any(a):
        raise ZeroDivisionError("inverse of zero in F_p4")
    s0 = _e2mul(a[0], a[1], a[0], a[1])
    s1 = _e2mul(a[2], a[3], a[2], a[3])
    n0, n1 = (s0[0] - _W * s1[1]) % P, (s0[1] - s1[0]) % P  # A0^2 - X A1^2
    d = builtins.pow((n0 * n0 - _W * n1 * n1) % P, P - 2, P)
    i0, i1 = n0 * d % P, (P - n1) * d % P
    c0 = _e2mul(a[0], a[1], i0, i1)
    c1 = _e2mul((P - a[2]) % P, (P - a[3]) % P, i0, i1)
    return c0[0], c0[1], c1[0], c1[1]


class Fp4(tuple):
    """An element of ``F_p4`` as four canonical Python integers, with field operators.

    ``Fp4(c0, c1, c2, c3)`` reduces its arguments mod ``p``; integers on the other side of an
    operator are base elements.
    """

    __slots__ = ()
    __array_ufunc__ = None

    ZERO: Fp4
    ONE: Fp4

    def __new__(cls, c0: int = 0, c1: int = 0, c2: int = 0, c3: int = 0) -> Fp4:
        return tuple.__new__(cls, (int(c0) % P, int(c1) % P, int(c2) % P, int(c3) % P))

    def __reduce__(self) -> tuple:
        # pickling rebuilds from the four coefficients (as Fp2 does)
        return (Fp4, tuple(self))

    @classmethod
    def from_array(cls, a: npt.ArrayLike) -> Fp4:
        """The element of a canonical ``(4,)`` array (or of an ``F_p2`` ``(2,)`` array).

        Raises:
            FieldRangeError: another shape, or a coefficient outside ``[0, p)``.
        """
        arr = np.asarray(a)
        if arr.shape not in ((4,), (2,)):
            raise FieldRangeError(f"an F_p4 element has shape (4,), got {arr.shape}")
        vals = [int(v) for v in arr]
        if not all(0 <= v < P for v in vals):
            raise FieldRangeError("F_p4 coefficients must lie in [0, p)")
        return tuple.__new__(cls, tuple(vals) + (0,) * (4 - len(vals)))

    def to_array(self) -> U64:
        """The canonical ``(4,)`` array."""
        return np.array(self, dtype=np.uint64)

    @staticmethod
    def _lift(other) -> Fp4 | None:
        if isinstance(other, Fp4):
            return other
        if isinstance(other, int):
            return Fp4(other)
        return None

    def __add__(self, other):
        o = self._lift(other)
        if o is None:
            return NotImplemented
        return tuple.__new__(Fp4, tuple((x + y) % P for x, y in zip(self, o)))

    __radd__ = __add__

    def __sub__(self, other):
        o = self._lift(other)
        if o is None:
            return NotImplemented
        return tuple.__new__(Fp4, tuple((x - y) % P for x, y in zip(self, o)))

    def __rsub__(self, other):
        o = self._lift(other)
        if o is None:
            return NotImplemented
        return o - self

    def __neg__(self):
        return tuple.__new__(Fp4, tuple((-x) % P for x in self))

    def __mul__(self, other):
        o = self._lift(other)
        if o is None:
            return NotImplemented
        return tuple.__new__(Fp4, ref_mul(self, o))

    __rmul__ = __mul__

    def inverse(self) -> Fp4:
        """``1 / self``.

        Raises:
            ZeroDivisionError: ``self`` is zero.
        """
        return tuple.__new__(Fp4, ref_inv(self))

    def __eq__(self, other) -> bool:
        o = self._lift(other)
        return o is not None and tuple.__eq__(self, o)

    def __ne__(self, other) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return tuple.__hash__(self)

    def __repr__(self) -> str:
        return f"Fp4({self[0]}, {self[1]}, {self[2]}, {self[3]})"


Fp4.ZERO = Fp4()
Fp4.ONE = Fp4(1)


# ---- numpy arrays


def as_quartic(a: npt.ArrayLike, name: str = "value") -> U64:
    """Validate ``a`` as ``F_p4`` elements: last axis of length 4, canonical coefficients.

    Raises:
        FieldRangeError: wrong last axis or a non-canonical coefficient.
    """
    arr = gl.as_field(a, name)
    if arr.ndim == 0 or arr.shape[-1] != 4:
        raise FieldRangeError(f"{name}: F_p4 elements need a last axis of length 4, "
                              f"got shape {arr.shape}")
    return arr


def from_base(a: npt.ArrayLike) -> U64:
    """Embed base elements ``a`` (any shape) as ``[a, 0, 0, 0]`` (shape ``a.shape + (4,)``)."""
    arr = gl.as_field(a, "a")
    out = np.zeros(arr.shape + (4,), dtype=np.uint64)
    out[..., 0] = arr
    return out


def from_ext(a: npt.ArrayLike) -> U64:
    """Embed ``F_p2`` elements ``(..., 2)`` as ``[c0, c1, 0, 0]`` (shape ``(..., 4)``)."""
    arr = ext.as_ext(a, "a")
    out = np.zeros(arr.shape[:-1] + (4,), dtype=np.uint64)
    out[..., :2] = arr
    return out


def zeros(shape: int | tuple[int, ...] = ()) -> U64:
    """Zeros of the given shape (the trailing 4 is added)."""
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    return np.zeros(shape + (4,), dtype=np.uint64)


def ones(shape: int | tuple[int, ...] = ()) -> U64:
    """Ones of the given shape (the trailing 4 is added)."""
    out = zeros(shape)
    out[..., 0] = 1
    return out


# F_p4 = F_p[Y] / (Y^4 - 7): the words [c0, c1, c2, c3] are the coefficients of 1, Y^2, Y, Y^3
_Y_ORDER = np.array([0, 2, 1, 3])
# the product's Y-coefficient k is sum_i a_i b'_(i,k) with b'_(i,k) = b_(k-i) for k >= i and
# 7 b_(k-i+4) for k < i (Y^4 = 7): entry (i, k) of this table indexes [b, 7 b] (Y order)
_CIRCULANT = np.array([[k - i if k >= i else k - i + 8 for k in range(4)] for i in range(4)])
_CHUNK = 1024


def mul_unchecked(a: U64, b: U64) -> U64:
    """``a * b`` on canonical ``(..., 4)`` arrays of one shape, without validation (the
    contract of :func:`zkinfer.field.goldilocks.mul_unchecked`; sums and differences are
    coefficientwise: ``goldilocks.add_unchecked`` / ``sub_unchecked``)."""
    return gl.by_row_chunks(_mul_rows, a, b, 4, _CHUNK)


def _mul_rows(a: U64, b: U64) -> U64:
    # the row of a (Y order) times the 4 x 4 matrix b' (above): 16 products in one call
    ay, by = a[:, _Y_ORDER], b[:, _Y_ORDER]
    mat = np.concatenate([by, gl.times7_unchecked(by)], axis=1)[:, _CIRCULANT]
    prod = gl.mul_unchecked(ay[:, :, None], mat)
    add = gl.add_unchecked
    out = add(add(prod[:, 0], prod[:, 1]), add(prod[:, 2], prod[:, 3]))
    return out[:, _Y_ORDER]


_SMALL = 16  # up to this many products, Python integers beat numpy's per-call overhead


def _mul_small(x: U64, y: U64) -> U64:
    out = [ref_mul(a, b) for a, b in zip(x.reshape(-1, 4).tolist(), y.reshape(-1, 4).tolist())]
    return np.array(out, dtype=np.uint64).reshape(x.shape)


def mul(a: npt.ArrayLike, b: npt.ArrayLike) -> U64:
    """``a * b`` elementwise (broadcasting over the leading axes)."""
    with np.errstate(over="ignore"):
        x, y = np.broadcast_arrays(as_quartic(a, "a"), as_quartic(b, "b"))
        if x.size <= 4 * _SMALL:
            return _mul_small(x, y)
        return mul_unchecked(np.ascontiguousarray(x), np.ascontiguousarray(y))


def add(a: npt.ArrayLike, b: npt.ArrayLike) -> U64:
    """``a + b`` elementwise."""
    with np.errstate(over="ignore"):
        return gl.add_unchecked(*np.broadcast_arrays(as_quartic(a, "a"), as_quartic(b, "b")))


def sub(a: npt.ArrayLike, b: npt.ArrayLike) -> U64:
    """``a - b`` elementwise."""
    with np.errstate(over="ignore"):
        return gl.sub_unchecked(*np.broadcast_arrays(as_quartic(a, "a"), as_quartic(b, "b")))


def neg(a: npt.ArrayLike) -> U64:
    """``-a`` elementwise."""
    return gl.neg_unchecked(as_quartic(a, "a"))


def pow(a: npt.ArrayLike, e: int) -> U64:  # noqa: A001
    """``a^e`` elementwise for an integer ``e >= 0``.

    Raises:
        FieldRangeError: a negative exponent.
    """
    e = int(e)
    if e < 0:
        raise FieldRangeError("pow: negative exponent; invert first")
    arr = np.asarray(as_quartic(a, "a"))
    out = ones(arr.shape[:-1])
    base = arr.copy()
    while e:
        if e & 1:
            out = mul(out, base)
        base = mul(base, base)
        e >>= 1
    return out


def inv(a: npt.ArrayLike) -> U64:
    """``a^-1`` elementwise.

    Raises:
        ZeroDivisionError: an entry is zero.
    """
    arr = as_quartic(a, "a")
    flat = [ref_inv(tuple(v)) for v in arr.reshape(-1, 4).tolist()]
    return np.array(flat, dtype=np.uint64).reshape(arr.shape)


def sum(a: npt.ArrayLike, axis: int | None = None) -> U64:  # noqa: A001
    """Sum over ``axis`` of the leading axes (all of them when ``None``)."""
    arr = as_quartic(a, "a")
    if axis is None:
        arr = arr.reshape(-1, 4)
        axis = 0
    elif axis < 0:
        axis -= 1
    return gl.sum(arr, axis=axis)


def random(shape: int | tuple[int, ...], rng: np.random.Generator) -> U64:
    """Uniform elements of the given shape (the trailing 4 is added)."""
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    return gl.random(shape + (4,), rng)


def to_bytes(a: npt.ArrayLike) -> bytes:
    """Canonical encoding: ``c0, c1, c2, c3`` of each element, 8 bytes little-endian each."""
    return gl.to_bytes(as_quartic(a, "a"))


def from_bytes(data: bytes, count: int | None = None) -> U64:
    """Strict inverse of :func:`to_bytes`; returns shape ``(count, 4)``.

    Raises:
        ProofFormatError: wrong length or a non-canonical coefficient.
    """
    if isinstance(data, (bytes, bytearray, memoryview)) and len(data) % ELEMENT_BYTES:
        raise ProofFormatError(f"{len(data)} bytes is not a whole number of 32-byte elements")
    words = gl.from_bytes(data, None if count is None else 4 * count)
    return words.reshape(-1, 4)


def _self_check() -> None:
    # Euler's criterion: 7 is a non-square of F_p (X^2 - 7 irreducible) and so is -7 = N(X):
    # X is a non-square of F_p2, so Y^2 - X is irreducible over F_p2.
    minus_one = P - 1
    if builtins.pow(_W, (P - 1) // 2, P) != minus_one:
        raise RuntimeError("X^2 - 7 is reducible over F_p")  # pragma: no cover
    if builtins.pow(P - _W, (P - 1) // 2, P) != minus_one:
        raise RuntimeError("Y^2 - X is reducible over F_p2")  # pragma: no cover


_self_check()
