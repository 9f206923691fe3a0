"""A small strict binary codec for proofs, commitments and keys (numpy only, verifier-safe).

Every zkinfer object that crosses a trust boundary (a commitment, an opening proof, the whole
:class:`~zkinfer.proof.Proof` and the verifying key) is written with :class:`Writer` and read back with
:class:`Reader`. The rules that make an encoding *canonical* (one object, one byte string) and
decoding *safe* (no allocation an attacker can inflate, no silent acceptance) live here once:

- **Fixed-width little-endian integers** (``u8``, ``u16``, ``u32``, ``u64``): there is exactly one
  encoding of each value; a ``bool`` is a ``u8`` that must be ``0`` or ``1``.
- **Headers**: 4 magic bytes, then a ``u16`` format version; the reader accepts only the versions
  it knows.
- **Counts before data**: variable-length items (byte strings, field vectors, lists) are preceded
  by a ``u32`` count. The reader checks the count against a caller-supplied maximum *and* against
  the bytes that remain **before** allocating anything, so a forged count of ``2^32 - 1`` costs
  nothing.
- **Field elements**: 8 bytes little-endian per ``F_p`` element, ``c0`` then ``c1`` per ``F_p2``
  element; words ``>= p`` are rejected (non-canonical).
- **Sections**: :meth:`Writer.section` / :meth:`Reader.section` frame a nested encoding with a
  ``u32`` byte length, and the nested reader must consume its section exactly.
- **No trailing bytes**: :meth:`Reader.finish` rejects anything left over.

Every decoding failure raises :class:`~zkinfer.errors.ProofFormatError` and nothing else.

Example:
    >>> w = Writer()
    >>> w.header(b"DEMO", 1)
    >>> w.u32(7)
    >>> data = w.finish()
    >>> r = Reader(data, "demo")
    >>> r.header(b"DEMO", (1,))
    1
    >>> r.u32()
    7
    >>> r.finish()
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from zkinfer.errors import ProofFormatError
from zkinfer.field import goldilocks as gl

__all__ = ["MAX_COUNT", "MAGIC_BYTES", "Writer", "Reader"]

MAX_COUNT = 2**32 - 1
"""The largest count a ``u32`` prefix can carry (readers always pass a much smaller bound)."""

MAGIC_BYTES = 4
"""Length of the magic tag that opens every top-level encoding."""

_U8 = struct.Struct("<B")
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")


class Writer:
    """Accumulates a canonical encoding; :meth:`finish` returns the bytes.

    The writer trusts its caller (the prover side): it validates field elements (so a bug never
    produces an undecodable encoding) and integer ranges, and raises ``ValueError`` otherwise.
    """

    __slots__ = ("_parts",)

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    # ---- scalars

    def header(self, magic: bytes, version: int) -> None:
        """Write the 4 magic bytes and the ``u16`` format version."""
        if len(magic) != MAGIC_BYTES:
            raise ValueError(f"magic must be {MAGIC_BYTES} bytes")
        self._parts.append(bytes(magic))
        self.u16(version)

    def u8(self, value: int) -> None:
        """Write an integer in ``[0, 2^8)``."""
        self._parts.append(_pack(_U8, value, "u8"))

    def u16(self, value: int) -> None:
        """Write an integer in ``[0, 2^16)``."""
        self._parts.append(_pack(_U16, value, "u16"))

    def u32(self, value: int) -> None:
        """Write an integer in ``[0, 2^32)``."""
        self._parts.append(_pack(_U32, value, "u32"))

    def u64(self, value: int) -> None:
        """Write an integer in ``[0, 2^64)``."""
        self._parts.append(_pack(_U64, value, "u64"))

    def boolean(self, value: bool) -> None:
        """Write ``0`` or ``1`` as a ``u8``."""
        self.u8(1 if value else 0)

    # ---- byte strings

    def raw(self, data: bytes) -> None:
        """Write bytes whose length the reader knows in advance (a digest, a magic)."""
        self._parts.append(bytes(data))

    def bytes(self, data: bytes) -> None:
        """Write a ``u32`` length, then the bytes."""
        self.u32(len(data))
        self._parts.append(bytes(data))

    def u32s(self, values: Iterable[int]) -> None:
        """Write a ``u32`` count, then each value as a ``u32``."""
        vals = [int(v) for v in values]
        self.u32(len(vals))
        arr = np.array(vals, dtype=np.int64)
        if arr.size and (int(arr.min()) < 0 or int(arr.max()) > MAX_COUNT):
            raise ValueError("u32s: value out of range")
        self._parts.append(arr.astype("<u4").tobytes())

    def section(self, data: bytes) -> None:
        """Write a nested encoding framed by its ``u32`` byte length (same as :meth:`bytes`)."""
        self.bytes(data)

    # ---- field elements

    def base(self, values: npt.ArrayLike) -> None:
        """Write base-field elements with no count (the reader knows how many), C order."""
        self._parts.append(gl.to_bytes(values))

    def base_vec(self, values: npt.ArrayLike) -> None:
        """Write a ``u32`` count, then the elements of a 1-D base-field vector."""
        arr = gl.as_field(values, "base_vec")
        if arr.ndim != 1:
            raise ValueError("base_vec: expected a 1-D array")
        self.u32(arr.shape[0])
        self._parts.append(gl.to_bytes(arr))

    def ext(self, values: npt.ArrayLike) -> None:
        """Write extension elements (shape ``(..., 2)``) with no count, C order."""
        arr = gl.as_field(values, "ext")
        if arr.ndim == 0 or arr.shape[-1] != 2:
            raise ValueError("ext: expected a last axis of length 2")
        self._parts.append(gl.to_bytes(arr))

    def ext_vec(self, values: npt.ArrayLike) -> None:
        """Write a ``u32`` count, then the elements of an extension vector (shape ``(n, 2)``)."""
        arr = gl.as_field(values, "ext_vec")
        if arr.ndim != 2 or arr.shape[1] != 2:
            raise ValueError("ext_vec: expected shape (n, 2)")
        self.u32(arr.shape[0])
        self._parts.append(gl.to_bytes(arr))

    # ---- result

    def finish(self) -> bytes:
        """The encoding written so far."""
        return b"".join(self._parts)


def _pack(fmt: struct.Struct, value: int, name: str) -> bytes:
    try:
        return fmt.pack(int(value))
    except struct.error as exc:
        raise ValueError(f"{name}: {value} out of range") from exc


class Reader:
    """Strict decoder over a byte string.

    Arguments:
        data: the encoding.
        what: how error messages name the object (``"ligero opening proof"``).

    Every method raises :class:`ProofFormatError` on truncated input, out-of-range values,
    counts above the caller's bound, non-canonical field elements, or (in :meth:`finish`)
    trailing bytes.
    """

    __slots__ = ("_data", "_pos", "_what")

    def __init__(self, data: bytes, what: str = "encoding") -> None:
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise ProofFormatError(f"{what}: expected bytes, got {type(data).__name__}")
        self._data = bytes(data)
        self._pos = 0
        self._what = what

    @property
    def remaining(self) -> int:
        """Bytes not yet consumed."""
        return len(self._data) - self._pos

    def _fail(self, message: str) -> ProofFormatError:
        return ProofFormatError(f"{self._what}: {message} (at byte {self._pos})")

    def _take(self, n: int) -> bytes:
        if n < 0 or n > self.remaining:
            raise self._fail(f"truncated: need {n} bytes, {self.remaining} left")
        out = self._data[self._pos : self._pos + n]
        self._pos += n
        return out

    # ---- scalars

    def header(self, magic: bytes, versions: Iterable[int]) -> int:
        """Read and check the magic bytes and the version; returns the version.

        Arguments:
            magic: the expected 4 bytes.
            versions: the versions this reader understands.
        """
        got = self._take(MAGIC_BYTES)
        if got != magic:
            raise self._fail(f"bad magic {got!r}, expected {magic!r}")
        version = self.u16()
        if version not in tuple(versions):
            raise self._fail(f"unsupported version {version}")
        return version

    def u8(self, max_value: int = 2**8 - 1) -> int:
        """Read a ``u8`` and check it is at most ``max_value``."""
        return self._bounded(_U8, max_value, "u8")

    def u16(self, max_value: int = 2**16 - 1) -> int:
        """Read a ``u16`` and check it is at most ``max_value``."""
        return self._bounded(_U16, max_value, "u16")

    def u32(self, max_value: int = 2**32 - 1) -> int:
        """Read a ``u32`` and check it is at most ``max_value``."""
        return self._bounded(_U32, max_value, "u32")

    def u64(self, max_value: int = 2**64 - 1) -> int:
        """Read a ``u64`` and check it is at most ``max_value``."""
        return self._bounded(_U64, max_value, "u64")

    def _bounded(self, fmt: struct.Struct, max_value: int, name: str) -> int:
        (value,) = fmt.unpack(self._take(fmt.size))
        if value > max_value:
            raise self._fail(f"{name} value {value} exceeds the bound {max_value}")
        return value

    def boolean(self) -> bool:
        """Read a ``u8`` that must be ``0`` or ``1``."""
        return bool(self.u8(1))

    def count(self, max_count: int, item_bytes: int) -> int:
        """Read a ``u32`` count of items of ``item_bytes`` bytes each, bounded before use.

        Raises:
            ProofFormatError: the count exceeds ``max_count`` or the items cannot fit in the
                remaining bytes (checked before the caller allocates anything).
        """
        n = self.u32(max_count)
        if n * item_bytes > self.remaining:
            raise self._fail(f"count {n} x {item_bytes} bytes exceeds the {self.remaining} left")
        return n

    # ---- byte strings

    def raw(self, n: int) -> bytes:
        """Read exactly ``n`` bytes (a length the format fixes)."""
        return self._take(n)

    def bytes(self, max_len: int) -> bytes:
        """Read a ``u32`` length (at most ``max_len``), then that many bytes."""
        return self._take(self.count(max_len, 1))

    def u32s(self, max_count: int, max_value: int = 2**32 - 1) -> list[int]:
        """Read a ``u32`` count (at most ``max_count``) of ``u32`` values, each ``<= max_value``."""
        n = self.count(max_count, 4)
        arr = np.frombuffer(self._take(4 * n), dtype="<u4").astype(np.int64)
        if arr.size and int(arr.max()) > max_value:
            raise self._fail(f"u32 value {int(arr.max())} exceeds the bound {max_value}")
        return [int(v) for v in arr]

    def section(self, max_len: int, what: str | None = None) -> Reader:
        """Read a length-framed nested encoding and return a reader over exactly its bytes.

        The caller must call :meth:`finish` on the returned reader.
        """
        return Reader(self.bytes(max_len), what or self._what)

    # ---- field elements

    def base(self, count: int) -> npt.NDArray[np.uint64]:
        """Read exactly ``count`` canonical base-field elements (the format fixes ``count``)."""
        if count < 0 or 8 * count > self.remaining:
            raise self._fail(f"truncated: need {count} field elements, {self.remaining} bytes left")
        try:
            return gl.from_bytes(self._take(8 * count), count)
        except ProofFormatError as exc:
            raise self._fail(str(exc)) from None

    def base_vec(self, max_count: int) -> npt.NDArray[np.uint64]:
        """Read a ``u32`` count (at most ``max_count``), then that many base elements."""
        return self.base(self.count(max_count, 8))

    def ext(self, count: int) -> npt.NDArray[np.uint64]:
        """Read exactly ``count`` canonical extension elements; shape ``(count, 2)``."""
        return self.base(2 * count).reshape(count, 2)

    def ext_vec(self, max_count: int) -> npt.NDArray[np.uint64]:
        """Read a ``u32`` count (at most ``max_count``), then that many extension elements."""
        return self.ext(self.count(max_count, 16))

    # ---- end

    def finish(self) -> None:
        """Require that every byte was consumed.

        Raises:
            ProofFormatError: trailing bytes remain.
        """
        if self.remaining:
            raise self._fail(f"{self.remaining} trailing bytes")
