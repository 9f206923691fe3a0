"""Single elements of ``F_p2 = F_p[X] / (X^2 - 7)`` with operators, for the verifiers' formulas.

The arrays of :mod:`zkinfer.field.extension` are the right tool for tables; a verifier's
round checks are a few dozen scalar operations, and on single elements one numpy call costs
more than the arithmetic. :class:`Fp2` holds the two coefficients as Python ints (measured
about 10x faster than :func:`zkinfer.field.extension.mul` on ``(2,)`` arrays) and lets a
formula read like the maths::

    from zkinfer.field.scalar import Fp2

    r, a, b = Fp2.from_array(r_arr), Fp2.from_array(a_arr), Fp2.from_array(b_arr)
    eq = (1 - r) * (1 - b) + r * b          # ints are base-field constants
    ok = a + r * (b - a) == claim            # claim: an Fp2, or a (2,) array via from_array
    out = (a / b).to_array()                 # back to the (2,) uint64 layout

API
---
Construction
    ``Fp2(c0=0, c1=0)``: the element ``c0 + c1 X``; Python or numpy ints, reduced mod ``p`` (so
    ``Fp2(-1)`` is ``p - 1``). ``Fp2.from_array(a)``: from one canonical ``(2,)`` ``uint64``
    array (the layout of :mod:`~zkinfer.field.extension`); ``Fp2.vector(a)``: a list of
    elements from an ``(n, 2)`` array. ``Fp2.ZERO``, ``Fp2.ONE``, ``Fp2.X``: constants.
Arithmetic
    ``x + y``, ``x - y``, ``x * y``, ``x / y``, ``-x``, ``x ** e`` (``e`` an int, negative
    inverts) where either operand may be a Python or numpy int (a base-field element);
    ``x.inverse()``. Division or inversion of zero raises :class:`ZeroDivisionError`.
    ``sum(xs)`` works (it starts from the int 0). numpy arrays are not operands: convert them
    explicitly (an ``ndarray`` operand raises :class:`TypeError`).
Comparison
    ``x == y`` against an :class:`Fp2` or an int (``Fp2(3) == 3``); ``bool(x)`` is ``x != 0``;
    elements are hashable.
Conversion
    ``x.c0``, ``x.c1``: the coefficients (ints in ``[0, p)``); ``x.to_array()``: a ``(2,)``
    ``uint64`` array; ``Fp2.stack(xs)``: an ``(n, 2)`` array; ``x.to_bytes()``: the 16-byte
    encoding of :func:`zkinfer.field.extension.to_bytes`.

Elements are immutable (a ``tuple`` subclass ``(c0, c1)``, always canonical). numpy only: the
verifier imports this module.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
import numpy.typing as npt

from zkinfer.errors import FieldRangeError
from zkinfer.field.goldilocks import P

__all__ = ["Fp2"]

_W = 7  # X^2 = 7
_new = tuple.__new__


def _coerce(other: object) -> tuple[int, int] | None:
    """``other`` as a coefficient pair, or ``None`` when it is not an operand."""
    t = type(other)
    if t is Fp2:
        return other  # type: ignore[return-value]
    if t is int:
        return other % P, 0  # type: ignore[operator]
    if isinstance(other, Integral):
        return int(other) % P, 0
    return None


class Fp2(tuple):
    """An element ``c0 + c1 X`` of ``F_p2``, immutable, with field operators (module docstring)."""

    __slots__ = ()
    __array_ufunc__ = None  # numpy defers to the reflected operators, which reject arrays

    ZERO: Fp2
    ONE: Fp2
    X: Fp2

    def __new__(cls, c0: int = 0, c1: int = 0) -> Fp2:
        return _new(cls, (int(c0) % P, int(c1) % P))

    def __reduce__(self) -> tuple:
        # pickling (e.g. to a cluster's workers) rebuilds from the two coefficients
        return (Fp2, (self[0], self[1]))

    # conversion --------------------------------------------------------------------------

    @classmethod
    def from_array(cls, a: npt.ArrayLike) -> Fp2:
        """The element of a canonical ``(2,)`` array ``[c0, c1]``.

        Raises:
            FieldRangeError: another shape, or a coefficient outside ``[0, p)``.
        """
        arr = np.asarray(a)
        if arr.shape != (2,):
            raise FieldRangeError(f"an F_p2 element has shape (2,), got {arr.shape}")
        c0, c1 = int(arr[0]), int(arr[1])
        if not (0 <= c0 < P and 0 <= c1 < P):
            raise FieldRangeError("extension coefficients must lie in [0, p)")
        return _new(cls, (c0, c1))

    @classmethod
    def vector(cls, a: npt.ArrayLike) -> list[Fp2]:
        """The elements of a canonical ``(n, 2)`` array, in order.

        Raises:
            FieldRangeError: another shape, or a coefficient outside ``[0, p)``.
        """
        arr = np.asarray(a)
        if arr.ndim != 2 or arr.shape[1] != 2:
            raise FieldRangeError(f"F_p2 vectors have shape (n, 2), got {arr.shape}")
        pairs = arr.tolist()
        if any(not (0 <= c0 < P and 0 <= c1 < P) for c0, c1 in pairs):
            raise FieldRangeError("extension coefficients must lie in [0, p)")
        return [_new(cls, (c0, c1)) for c0, c1 in pairs]

    @staticmethod
    def stack(xs: list[Fp2] | tuple[Fp2, ...]) -> npt.NDArray[np.uint64]:
        """The ``(n, 2)`` ``uint64`` array of the elements ``xs``."""
        return np.array(xs, dtype=np.uint64).reshape(len(xs), 2)

    def to_array(self) -> npt.NDArray[np.uint64]:
        """The ``(2,)`` ``uint64`` array ``[c0, c1]``."""
        return np.array(self, dtype=np.uint64)

    def to_bytes(self) -> bytes:
        """``c0`` then ``c1``, 8 bytes little-endian each."""
        return self[0].to_bytes(8, "little") + self[1].to_bytes(8, "little")

    @property
    def c0(self) -> int:
        """The base-field coefficient."""
        return self[0]

    @property
    def c1(self) -> int:
        """The coefficient of ``X``."""
        return self[1]

    # arithmetic --------------------------------------------------------------------------

    def __add__(self, other: object) -> Fp2:
        a0, a1 = self
        if type(other) is Fp2:
            b0, b1 = other
            return _new(Fp2, ((a0 + b0) % P, (a1 + b1) % P))
        if type(other) is int or isinstance(other, Integral):
            return _new(Fp2, ((a0 + int(other)) % P, a1))
        return NotImplemented

    __radd__ = __add__

    def __sub__(self, other: object) -> Fp2:
        a0, a1 = self
        if type(other) is Fp2:
            b0, b1 = other
            return _new(Fp2, ((a0 - b0) % P, (a1 - b1) % P))
        if type(other) is int or isinstance(other, Integral):
            return _new(Fp2, ((a0 - int(other)) % P, a1))
        return NotImplemented

    def __rsub__(self, other: object) -> Fp2:
        if type(other) is int or isinstance(other, Integral):
            a0, a1 = self
            return _new(Fp2, ((int(other) - a0) % P, -a1 % P))
        return NotImplemented

    def __neg__(self) -> Fp2:
        return _new(Fp2, (-self[0] % P, -self[1] % P))

    def __mul__(self, other: object) -> Fp2:
        if type(other) is Fp2:
            a0, a1 = self
            b0, b1 = other
            return _new(Fp2, ((a0 * b0 + _W * a1 * b1) % P, (a0 * b1 + a1 * b0) % P))
        if type(other) is int or isinstance(other, Integral):
            b = int(other)
            return _new(Fp2, (self[0] * b % P, self[1] * b % P))
        return NotImplemented

    __rmul__ = __mul__

    def inverse(self) -> Fp2:
        """``1 / self``: ``(c0 - c1 X) / (c0^2 - 7 c1^2)`` (the norm is in ``F_p``).

        Raises:
            ZeroDivisionError: ``self`` is zero.
        """
        a0, a1 = self
        norm = (a0 * a0 - _W * a1 * a1) % P
        if norm == 0:
            raise ZeroDivisionError("inverse of zero in F_p2")
        n_inv = pow(norm, -1, P)
        return _new(Fp2, (a0 * n_inv % P, -a1 * n_inv % P))

    def __truediv__(self, other: object) -> Fp2:
        o = _coerce(other)
        if o is None:
            return NotImplemented
        return self * _new(Fp2, o).inverse()

    def __rtruediv__(self, other: object) -> Fp2:
        o = _coerce(other)
        if o is None:
            return NotImplemented
        return _new(Fp2, o) * self.inverse()

    def __pow__(self, e: int) -> Fp2:
        if not isinstance(e, Integral):
            return NotImplemented
        e = int(e)
        base = self.inverse() if e < 0 else self
        e = abs(e)
        out = Fp2.ONE
        while e:
            if e & 1:
                out = out * base
            e >>= 1
            if e:
                base = base * base
        return out

    # comparison --------------------------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        o = _coerce(other)
        if o is None:
            return NotImplemented
        return self[0] == o[0] and self[1] == o[1]

    def __ne__(self, other: object) -> bool:
        o = _coerce(other)
        if o is None:
            return NotImplemented
        return self[0] != o[0] or self[1] != o[1]

    __hash__ = tuple.__hash__

    def __lt__(self, other: object) -> bool:
        raise TypeError("F_p2 is not ordered")

    __le__ = __gt__ = __ge__ = __lt__

    def __bool__(self) -> bool:
        return bool(self[0] or self[1])

    def __repr__(self) -> str:
        return f"Fp2({self[0]}, {self[1]})"


Fp2.ZERO = Fp2(0)
Fp2.ONE = Fp2(1)
Fp2.X = Fp2(0, 1)
