"""The Goldilocks field ``F_p``, ``p = 2^64 - 2^32 + 1``, on ``uint64`` numpy arrays.

These are the numpy-only implementations: the verifier uses them, and they import no numba.
The prover's hot loops use the Numba twins in :mod:`zkinfer.field._kernels`; tests check that
both agree with each other, with :mod:`zkinfer.field.reference` (Python integers) and with
``galois.GF(p)``.

Every function takes array-likes of canonical elements (integers in ``[0, p)``) and returns
canonical ``uint64`` arrays of the broadcast shape. Out-of-range inputs raise
:class:`~zkinfer.errors.FieldRangeError`, never wrap silently.

Signed integers enter the field in the centred encoding: ``x`` maps to ``x mod p``, so
``-1`` is ``p - 1``; :func:`decode_signed` maps an element back to the integer in
``(-p/2, p/2)`` and checks that it fits the requested width.
"""

from __future__ import annotations

import builtins

import numpy as np
import numpy.typing as npt

from zkinfer.errors import FieldRangeError, ProofFormatError

__all__ = [
    "P",
    "ELEMENT_BYTES",
    "TWO_ADICITY",
    "MULTIPLICATIVE_GENERATOR",
    "as_field",
    "add_unchecked",
    "sub_unchecked",
    "neg_unchecked",
    "mul_unchecked",
    "add",
    "sub",
    "neg",
    "mul",
    "pow",
    "inv",
    "batch_inv",
    "sum",
    "inner",
    "random",
    "encode_signed",
    "decode_signed",
    "to_bytes",
    "from_bytes",
    "root_of_unity",
]

P: int = 2**64 - 2**32 + 1
"""The Goldilocks prime."""

ELEMENT_BYTES = 8
"""Bytes of one canonical encoded element (little-endian)."""

TWO_ADICITY = 32
"""``p - 1 = 2^32 * (2^32 - 1)``: subgroups of order up to ``2^32`` exist."""

MULTIPLICATIVE_GENERATOR = 7
"""A generator of ``F_p^*`` (checked at import)."""

_P = np.uint64(P)
_EPS = np.uint64(2**32 - 1)
_LOW32 = np.uint64(0xFFFFFFFF)
_S32 = np.uint64(32)

ArrayLike = npt.ArrayLike
U64 = npt.NDArray[np.uint64]


def as_field(a: ArrayLike, name: str = "value") -> U64:
    """Validate ``a`` as canonical field elements and return it as a ``uint64`` array.

    Arguments:
        a: integers in ``[0, p)``: an unsigned or signed integer array, a Python int or a
            nested list of them.
        name: how the error message refers to ``a``.

    Returns:
        ``a`` as a ``uint64`` array (no copy when it already is one).

    Raises:
        FieldRangeError: an entry is negative, ``>= p``, or not an integer.
    """
    if isinstance(a, np.ndarray) and a.dtype == np.uint64:
        arr = a
    else:
        # Python ints and lists go through object arrays: numpy would turn a list holding
        # values above 2^63 into float64 and round them.
        arr = a if isinstance(a, np.ndarray) else np.array(a, dtype=object)
        if arr.dtype == object:
            ints = list(arr.reshape(-1))
            if not all(isinstance(v, (int, np.integer)) for v in ints):
                raise FieldRangeError(f"{name}: entries must be integers")
            ints = [int(v) for v in ints]
            if any(v < 0 or v >= P for v in ints):
                raise FieldRangeError(f"{name}: entries must lie in [0, p)")
            return np.array(ints, dtype=np.uint64).reshape(arr.shape)
        if arr.dtype.kind not in "iub":
            raise FieldRangeError(f"{name}: integer entries required, got {arr.dtype}")
        if arr.dtype.kind == "i" and arr.size and int(arr.min()) < 0:
            raise FieldRangeError(f"{name}: negative entry {int(arr.min())}; use encode_signed")
        arr = arr.astype(np.uint64)
    if arr.size and bool((arr >= _P).any()):
        raise FieldRangeError(f"{name}: entry >= p is not a canonical field element")
    return arr


def _reduce128(lo: U64, hi: U64) -> U64:
    """``(hi * 2^64 + lo) mod p`` elementwise (see :func:`zkinfer.field._kernels.reduce128`)."""
    h1 = hi >> _S32
    h0 = hi & _LOW32
    t = lo - h1
    t = np.where(lo < h1, t - _EPS, t)  # a borrow is +2^64 = +EPS (mod p): undo it
    u = h0 * _EPS
    s = t + u
    s = np.where(s < u, s + _EPS, s)  # an overflow is -2^64 = -EPS (mod p): undo it
    return np.where(s >= _P, s - _P, s)


def _mul_wide(a: U64, b: U64) -> tuple[U64, U64]:
    """Exact 128-bit products ``(lo, hi)`` from 32-bit limbs."""
    a0, a1 = a & _LOW32, a >> _S32
    b0, b1 = b & _LOW32, b >> _S32
    ll = a0 * b0
    hh = a1 * b1
    mid = a0 * b1
    mid2 = a1 * b0
    mid = mid + mid2
    carry_mid = (mid < mid2).astype(np.uint64)  # mid overflowed: +2^64 * 2^32 to the product
    lo = ll + (mid << _S32)
    carry_lo = (lo < ll).astype(np.uint64)
    hi = hh + (mid >> _S32) + (carry_mid << _S32) + carry_lo
    return lo, hi


def mul_unchecked(a: U64, b: U64) -> U64:
    """``a * b mod p`` on canonical ``uint64`` arrays, without validation.

    The ``*_unchecked`` operations are the kernels of the checked ones: the caller guarantees
    canonical ``uint64`` inputs (e.g. results of other field operations); a non-canonical input
    gives a wrong result, not an error. Word overflow is intended (under numpy scalars, wrap the
    call in ``np.errstate(over="ignore")``).
    """
    a, b = np.broadcast_arrays(a, b)
    lo, hi = _mul_wide(a, b)
    return _reduce128(lo, hi)


def add_unchecked(a: U64, b: U64) -> U64:
    """``a + b mod p`` without validation (the contract of :func:`mul_unchecked`)."""
    s = a + b
    return np.where((s < a) | (s >= _P), s - _P, s)


def sub_unchecked(a: U64, b: U64) -> U64:
    """``a - b mod p`` without validation (the contract of :func:`mul_unchecked`)."""
    d = a - b
    return np.where(a < b, d + _P, d)


def times7_unchecked(a: U64) -> U64:
    """``7 a mod p`` as ``8 a - a`` (three doublings; the extensions' non-residue ``W = 7``),
    without validation (the contract of :func:`mul_unchecked`)."""
    a2 = add_unchecked(a, a)
    a4 = add_unchecked(a2, a2)
    return sub_unchecked(add_unchecked(a4, a4), a)


def by_row_chunks(kernel, a: U64, b: U64, width: int, chunk: int) -> U64:
    """``kernel(a, b)`` on broadcast ``(..., width)`` arrays, ``chunk`` rows at a time.

    The extensions' products build ``width x width`` temporaries per row; chunks keep them in
    cache on long arrays and leave short ones to one call (numpy's per-call cost dominates
    there)."""
    a, b = np.broadcast_arrays(a, b)
    shape = a.shape
    x, y = a.reshape(-1, width), b.reshape(-1, width)
    n = x.shape[0]
    if n <= chunk:
        return kernel(x, y).reshape(shape)
    out = np.empty((n, width), dtype=np.uint64)
    for s in range(0, n, chunk):
        out[s:s + chunk] = kernel(x[s:s + chunk], y[s:s + chunk])
    return out.reshape(shape)


def neg_unchecked(a: U64) -> U64:
    """``-a mod p`` without validation (the contract of :func:`mul_unchecked`)."""
    return np.where(a == 0, a, _P - a)


def _square_multiply(one: U64, a: U64, e: int, mul) -> U64:
    """``a^e`` by square-and-multiply with the field's ``mul`` (shared by F_p and F_p2)."""
    result = one
    base = a.copy()
    while e:
        if e & 1:
            result = mul(result, base)
        e >>= 1
        if e:
            base = mul(base, base)
    return result


def _pow(a: U64, e: int) -> U64:
    return _square_multiply(np.ones_like(a), a, e, mul_unchecked)


def add(a: ArrayLike, b: ArrayLike) -> U64:
    """``a + b mod p`` elementwise."""
    with np.errstate(over="ignore"):
        return add_unchecked(*np.broadcast_arrays(as_field(a, "a"), as_field(b, "b")))


def sub(a: ArrayLike, b: ArrayLike) -> U64:
    """``a - b mod p`` elementwise."""
    with np.errstate(over="ignore"):
        return sub_unchecked(*np.broadcast_arrays(as_field(a, "a"), as_field(b, "b")))


def neg(a: ArrayLike) -> U64:
    """``-a mod p`` elementwise."""
    return neg_unchecked(as_field(a, "a"))


def mul(a: ArrayLike, b: ArrayLike) -> U64:
    """``a * b mod p`` elementwise."""
    with np.errstate(over="ignore"):
        return mul_unchecked(as_field(a, "a"), as_field(b, "b"))


def pow(a: ArrayLike, e: int) -> U64:  # noqa: A001 - the field operation's natural name
    """``a^e mod p`` elementwise for an integer exponent ``e >= 0``.

    Raises:
        FieldRangeError: ``e`` is negative (use :func:`inv` first).
    """
    e = int(e)
    if e < 0:
        raise FieldRangeError("pow: negative exponent; invert first")
    with np.errstate(over="ignore"):
        return _pow(np.asarray(as_field(a, "a")), e)


def inv(a: ArrayLike) -> U64:
    """``a^-1 mod p`` elementwise.

    Raises:
        ZeroDivisionError: an entry is zero.
    """
    arr = np.asarray(as_field(a, "a"))
    if arr.size and bool((arr == 0).any()):
        raise ZeroDivisionError("inverse of zero in F_p")
    with np.errstate(over="ignore"):
        return _pow(arr, P - 2)


def batch_inv(a: ArrayLike) -> U64:
    """Inverses of a whole array (same contract as :func:`inv`).

    Large arrays use Montgomery's trick in the Numba kernel (prover side); this numpy version
    raises every entry to ``p - 2`` and is meant for the verifier's small arrays.
    """
    return inv(a)


def sum(a: ArrayLike, axis: int | None = None) -> U64:  # noqa: A001
    """Sum of field elements along ``axis`` (all of them when ``None``), reduced mod p.

    Exact: each element is split into 32-bit halves, summed in ``uint64`` without overflow for
    up to ``2^31`` terms, then reduced.
    """
    arr = np.asarray(as_field(a, "a"))
    if arr.ndim and arr.shape[axis if axis is not None else 0] >= 2**31:
        raise FieldRangeError("sum: at most 2^31 terms per reduction")
    lo = (arr & _LOW32).sum(axis=axis, dtype=np.uint64)
    hi = (arr >> _S32).sum(axis=axis, dtype=np.uint64)
    # lo + hi * 2^32 = lo + (hi >> 32) * 2^64 + (hi & low) * 2^32
    with np.errstate(over="ignore"):
        wide_lo = lo + ((hi & _LOW32) << _S32)
        carry = (wide_lo < lo).astype(np.uint64)
        wide_hi = (hi >> _S32) + carry
        return _reduce128(np.asarray(wide_lo), np.asarray(wide_hi))


def inner(a: ArrayLike, b: ArrayLike, axis: int = -1) -> U64:
    """``sum_i a_i b_i mod p`` along ``axis`` (broadcasting like ``a * b``)."""
    return sum(mul(a, b), axis=axis)


def random(shape: int | tuple[int, ...], rng: np.random.Generator) -> U64:
    """Uniform field elements (rejection sampling of 64-bit words, no modulo bias).

    Arguments:
        shape: output shape.
        rng: a numpy ``Generator``; tests pass seeded ones. Not for secrets: challenges come
            from :class:`zkinfer.transcript.Transcript`.
    """
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    n = int(np.prod(shape, dtype=np.int64))
    out = np.empty(n, dtype=np.uint64)
    filled = 0
    while filled < n:
        draw = rng.integers(0, 2**64, size=n - filled, dtype=np.uint64, endpoint=False)
        draw = draw[draw < _P]
        out[filled : filled + draw.size] = draw
        filled += draw.size
    return out.reshape(shape)


def _width_bounds(bits: int | None) -> tuple[int, int]:
    if bits is None:
        # the centred representatives: x and x - p are the same element, so only
        # |x| <= (p - 1) / 2 = 2^63 - 2^31 round-trips
        return -(P // 2), P // 2
    if not 1 <= int(bits) <= 63:
        raise FieldRangeError(f"bits must be in [1, 63], got {bits}")
    return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


def encode_signed(x: ArrayLike, bits: int | None = None) -> U64:
    """Centred encoding: the signed integer ``x`` becomes ``x mod p``.

    Arguments:
        x: a signed (or unsigned) integer array: int8 ... int64, or Python ints.
        bits: if given, every ``x`` must lie in ``[-2^(bits-1), 2^(bits-1))``; otherwise in
            ``[-(p-1)/2, (p-1)/2]`` (slightly narrower than int64: ``2^63 - 2^31`` at most).

    Returns:
        ``uint64`` array of canonical elements.

    Raises:
        FieldRangeError: non-integer input, or a value outside the declared width / int64.
    """
    lo, hi = _width_bounds(bits)
    arr = np.asarray(x)
    if arr.dtype == object:
        try:
            arr = np.array([int(v) for v in arr.reshape(-1)], dtype=np.int64).reshape(arr.shape)
        except (TypeError, ValueError, OverflowError) as exc:
            raise FieldRangeError("encode_signed: values must be integers fitting int64") from exc
    if arr.dtype.kind == "u":
        if arr.size and int(arr.max()) > hi:
            raise FieldRangeError(f"encode_signed: value {int(arr.max())} exceeds {hi}")
        arr = arr.astype(np.int64)
    elif arr.dtype.kind not in "ib":
        raise FieldRangeError(f"encode_signed: integer input required, got {arr.dtype}")
    arr = arr.astype(np.int64)
    if arr.size and (int(arr.min()) < lo or int(arr.max()) > hi):
        raise FieldRangeError(
            f"encode_signed: values in [{int(arr.min())}, {int(arr.max())}] leave [{lo}, {hi}]"
        )
    u = arr.astype(np.uint64)  # two's complement: negative x becomes 2^64 + x
    with np.errstate(over="ignore"):
        # 2^64 + x = p + x + EPS (mod 2^64), so subtract EPS from the negative ones
        return np.where(arr < 0, u - _EPS, u)


def decode_signed(a: ArrayLike, bits: int | None = None) -> npt.NDArray[np.int64]:
    """Inverse of :func:`encode_signed`: the centred representative as ``int64``.

    Raises:
        FieldRangeError: the representative leaves ``[-2^(bits-1), 2^(bits-1))``, i.e. the
            element is not the encoding of such an integer (never raised when ``bits`` is None:
            every element has a centred representative in ``[-(p-1)/2, (p-1)/2]``).
    """
    lo, hi = _width_bounds(bits)
    arr = np.asarray(as_field(a, "a"))
    half = _P >> np.uint64(1)
    negative = arr > half
    with np.errstate(over="ignore"):
        magnitude = np.where(negative, _P - arr, arr)  # |x| <= (p-1)/2
    if arr.size:
        bad = np.where(negative, magnitude > np.uint64(-lo), magnitude > np.uint64(hi))
        if bool(bad.any()):
            raise FieldRangeError(f"decode_signed: element does not encode an integer in [{lo}, {hi}]")
    mag = magnitude.astype(np.int64)
    return np.where(negative, -mag, mag)


def to_bytes(a: ArrayLike) -> bytes:
    """Canonical little-endian encoding, 8 bytes per element, in C order."""
    return np.ascontiguousarray(as_field(a, "a"), dtype="<u8").tobytes()


def from_bytes(data: bytes, count: int | None = None) -> U64:
    """Decode :func:`to_bytes` output strictly.

    Arguments:
        data: the bytes.
        count: the number of elements expected; ``None`` accepts any multiple of 8.

    Raises:
        ProofFormatError: wrong length, or a word ``>= p`` (non-canonical).
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ProofFormatError(f"expected bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) % ELEMENT_BYTES:
        raise ProofFormatError(f"{len(data)} bytes is not a whole number of 8-byte elements")
    if count is not None and len(data) != count * ELEMENT_BYTES:
        raise ProofFormatError(f"expected {count} elements ({count * 8} bytes), got {len(data)}")
    arr = np.frombuffer(data, dtype="<u8").astype(np.uint64)
    if arr.size and bool((arr >= _P).any()):
        raise ProofFormatError("non-canonical field element (>= p)")
    return arr


def root_of_unity(log_n: int) -> int:
    """A primitive ``2^log_n``-th root of unity: ``g^((p-1) / 2^log_n)`` for the generator ``g``.

    Raises:
        FieldRangeError: ``log_n`` outside ``[0, 32]``.
    """
    if not 0 <= log_n <= TWO_ADICITY:
        raise FieldRangeError(f"no 2^{log_n}-th roots of unity in F_p (2-adicity is 32)")
    return int(builtins.pow(MULTIPLICATIVE_GENERATOR, (P - 1) >> log_n, P))


def _self_check() -> None:
    # p - 1 = 2^32 * 3 * 5 * 17 * 257 * 65537; g generates F_p^* iff g^((p-1)/q) != 1 for each q.
    for q in (2, 3, 5, 17, 257, 65537):
        if builtins.pow(MULTIPLICATIVE_GENERATOR, (P - 1) // q, P) == 1:
            raise RuntimeError("MULTIPLICATIVE_GENERATOR is not a generator")  # pragma: no cover
    if (P - 1) != 2**32 * 3 * 5 * 17 * 257 * 65537:
        raise RuntimeError("factorisation of p - 1 is wrong")  # pragma: no cover


_self_check()
