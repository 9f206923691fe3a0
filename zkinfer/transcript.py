"""The Fiat-Shamir transcript shared by prover and verifier.

One :class:`Transcript` object carries the whole interaction: the prover appends every message it
sends and draws every challenge from it, and the verifier replays exactly the same calls on its
own copy. Protocol code calls the same function for both sides (see :mod:`zkinfer.sumcheck`), so
the two schedules cannot drift apart.

Construction (hash: BLAKE2b with a 32-byte digest, from :mod:`hashlib`):

- ``state_0 = H("zkinfer-transcript/v1" || len(domain) || domain)``
- append ``(label, data)``: ``state <- H(state || 0x01 || len(label) || label || len(data) || data)``
- challenge ``label``: ``state <- H(state || 0x02 || len(label) || label)``; output words are
  ``H(state || 0x03 || counter)`` for ``counter = 0, 1, ...``, read as little-endian ``uint64``.
  Field elements are sampled by rejecting words ``>= p`` and indices in ``[0, n)`` by rejecting
  words ``>= n * floor(2^64 / n)``, so neither has modulo bias.

Lengths are 8-byte little-endian, so no two different call sequences hash the same bytes.
Every absorbed element must be canonical: appending a non-canonical field element raises.
"""

from __future__ import annotations

import hashlib
import struct

import numpy as np
import numpy.typing as npt

from zkinfer.errors import FieldRangeError
from zkinfer.field import extension as ext
from zkinfer.field import goldilocks as gl

__all__ = ["PROTOCOL_VERSION", "Transcript"]

PROTOCOL_VERSION = b"zkinfer-transcript/v1"
"""The version label every transcript starts from; bump it when the construction changes."""

_APPEND = b"\x01"
_CHALLENGE = b"\x02"
_OUTPUT = b"\x03"


def _hash(*parts: bytes) -> bytes:
    return hashlib.blake2b(b"".join(parts), digest_size=32).digest()


def _framed(data: bytes) -> bytes:
    return struct.pack("<Q", len(data)) + data


_LABELS: dict[bytes, bytes] = {}


def _framed_label(label: bytes) -> bytes:
    """:func:`_framed` of a label, memoized (a proof uses a few hundred distinct labels and
    absorbs them hundreds of thousands of times)."""
    framed = _LABELS.get(label)
    if framed is None:
        if len(_LABELS) < 4096:
            framed = _LABELS[label] = _framed(label)
        else:  # pragma: no cover - labels are constants; never grow without bound
            framed = _framed(label)
    return framed


_UNPACK4 = struct.Struct("<4Q").unpack
_COUNTER = [struct.pack("<Q", c) for c in range(4)]


class Transcript:
    """A Fiat-Shamir transcript (sponge-like hash chain).

    Arguments:
        domain: the protocol instance's domain separator, e.g. ``b"zkinfer/sumcheck-selfcheck"``.
            Include what fixes the statement's shape (sizes, version) so that transcripts of
            different statements never coincide.

    Example:
        >>> t = Transcript(b"example")
        >>> t.append_bytes(b"msg", b"hello")
        >>> r = t.challenge_ext(b"r")   # shape (2,), uniform in F_p2
    """

    __slots__ = ("_state",)

    def __init__(self, domain: bytes) -> None:
        if not isinstance(domain, bytes):
            raise TypeError("domain must be bytes")
        self._state = _hash(PROTOCOL_VERSION, _framed(domain))

    # ---- absorbing

    def append_bytes(self, label: bytes, data: bytes) -> None:
        """Absorb raw bytes under ``label``."""
        if not isinstance(label, bytes) or not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError("label and data must be bytes")
        self._state = _hash(self._state, _APPEND, _framed_label(label), _framed(bytes(data)))

    def append_base(self, label: bytes, values: npt.ArrayLike) -> None:
        """Absorb base-field elements (any shape; their canonical bytes, C order).

        Raises:
            FieldRangeError: a value is not a canonical element.
        """
        arr = gl.as_field(values, "transcript value")
        self.append_bytes(label, array_header(arr.shape) + gl.to_bytes(arr))

    def append_ext(self, label: bytes, values: npt.ArrayLike) -> None:
        """Absorb extension-field elements (shape ``(..., 2)``).

        Raises:
            FieldRangeError: a value is not a canonical element.
        """
        arr = ext.as_ext(values, "transcript value")
        self._append_array(label, arr)

    def _append_array(self, label: bytes, arr: npt.NDArray[np.uint64]) -> None:
        """Absorb a ``uint64`` array of canonical elements already validated by the caller
        (:meth:`append_base`'s and :meth:`append_ext`'s encoding: ``ndim``, shape, then the
        elements' little-endian bytes in C order)."""
        self.append_bytes(label, array_header(arr.shape)
                          + np.ascontiguousarray(arr, dtype="<u8").tobytes())

    def append_int(self, label: bytes, value: int) -> None:
        """Absorb a non-negative integer below ``2^64`` (a size, a count, an index)."""
        value = int(value)
        if not 0 <= value < 2**64:
            raise FieldRangeError("append_int: value must be in [0, 2^64)")
        self.append_bytes(label, struct.pack("<Q", value))

    # ---- squeezing

    def _words(self, label: bytes):
        """Advance the state for one challenge and yield its pseudo-random ``uint64`` words."""
        if not isinstance(label, bytes):
            raise TypeError("label must be bytes")
        self._state = _hash(self._state, _CHALLENGE, _framed_label(label))
        counter = 0
        while True:
            block = _hash(self._state, _OUTPUT, _COUNTER[counter] if counter < 4
                          else struct.pack("<Q", counter))
            counter += 1
            yield from _UNPACK4(block)

    def challenge_bases(self, label: bytes, count: int) -> npt.NDArray[np.uint64]:
        """``count`` uniform base-field elements."""
        out = []
        for w in self._words(label):
            if len(out) == count:
                break
            if w < gl.P:
                out.append(w)
        return np.array(out, dtype=np.uint64)

    def challenge_base(self, label: bytes) -> int:
        """One uniform base-field element, as a Python int."""
        return int(self.challenge_bases(label, 1)[0])

    def challenge_exts(self, label: bytes, count: int) -> npt.NDArray[np.uint64]:
        """``count`` uniform extension elements, shape ``(count, 2)``."""
        return self.challenge_bases(label, 2 * count).reshape(count, 2)

    def challenge_ext(self, label: bytes) -> npt.NDArray[np.uint64]:
        """One uniform extension element, shape ``(2,)``."""
        return np.array(self.challenge_pair(label), dtype=np.uint64)

    def challenge_pair(self, label: bytes) -> tuple[int, int]:
        """:meth:`challenge_ext` as two Python ints (the same draw)."""
        if isinstance(label, bytes):  # the first output block, which almost always suffices
            state = _hash(self._state, _CHALLENGE, _framed_label(label))
            a, b, _, _ = _UNPACK4(_hash(state, _OUTPUT, _COUNTER[0]))
            if a < gl.P and b < gl.P:
                self._state = state
                return a, b
        out: list[int] = []
        for w in self._words(label):
            if w < gl.P:
                out.append(w)
                if len(out) == 2:
                    return out[0], out[1]
        raise AssertionError("unreachable")  # pragma: no cover - _words never ends

    def challenge_indices(self, label: bytes, bound: int, count: int) -> list[int]:
        """``count`` independent uniform integers in ``[0, bound)`` (with repetition).

        Raises:
            ValueError: ``bound`` outside ``[1, 2^64]``.
        """
        if not 1 <= bound <= 2**64:
            raise ValueError("bound must be in [1, 2^64]")
        limit = (2**64 // bound) * bound  # accept w < limit: each residue equally often
        out: list[int] = []
        for w in self._words(label):
            if len(out) == count:
                break
            if w < limit:
                out.append(w % bound)
        return out

    def challenge_index(self, label: bytes, bound: int) -> int:
        """One uniform integer in ``[0, bound)``."""
        return self.challenge_indices(label, bound, 1)[0]

    # ---- inspection

    def digest(self) -> bytes:
        """The current 32-byte state (for tests and for binding a proof to its transcript)."""
        return self._state

    def fork(self) -> Transcript:
        """An independent copy with the same state."""
        t = Transcript.__new__(Transcript)
        t._state = self._state
        return t


def array_header(shape: tuple[int, ...]) -> bytes:
    """The prefix of an absorbed array's encoding: ``ndim``, then each dimension (``u64``
    little-endian); the elements' bytes follow."""
    return struct.pack("<Q", len(shape)) + b"".join(struct.pack("<Q", d) for d in shape)
