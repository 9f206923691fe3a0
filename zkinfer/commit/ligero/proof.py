"""Ligero commitment and opening proof: dataclasses and canonical encodings (numpy only).

Commitment (``"ZKLC"``, version 3)::

    u8 log_blowup | u32 R | u8 log_cols | layout | mode | 32-byte Merkle root
    mode = u8 0                                 plain (a batch committed by ``commit``)
         | u8 1 | u32 S | S x u64 used[s]        made of parts (``Parts(m, used)``, ``join``)

*Plain*: ``log_cols <= layout.total_vars`` and ``R = ceil(layout.used / C)``
(:func:`~zkinfer.commit.ligero.params.num_rows`): only the rows of the concatenated vector that
hold data are committed. The committed ``R x C`` matrix *is* the definition of the vector ``F``
the claims are about: ``F[i C + j] = M[i, j]`` for ``i < R`` and ``F = 0`` from ``R C`` to
``2^n``.

*Parts*: the layout is ``S`` polynomials of ``m`` variables each (:attr:`Parts.layout
<zkinfer.commit.base.Parts.layout>`), ``S`` equals the layout's count, ``1 <= used[s] <= 2^m``,
``log_cols <= m`` and ``R = sum_s ceil(used[s] / C)``
(:func:`~zkinfer.commit.ligero.params.part_rows`). The matrix is the stack of the parts' rows:
part ``s``'s ``R_s`` rows are the first rows of part ``s`` of ``F``, and every other row of ``F``
(the rest of each part, the parts past ``S``) is zero by definition. The Merkle leaf of column
``j`` is ``H(0x02 || d_0j || ... || d_(S-1)j)`` with ``d_sj = H(0x00 || column j of part s)``
(:func:`~zkinfer.commit.ligero.merkle.combine_part_leaves`).

Decoding is strict: an unknown mode, a count other than the layout's, polynomials of different
sizes, a ``used[s]`` out of range, a matrix wider than a part (or than the layout) and a row
count other than the one above are :class:`~zkinfer.errors.ProofFormatError`. Version 2 (no
mode: plain) is still read, as a plain commitment that encodes back to its version-2 bytes, so
commitments and keys written before version 3 keep verifying; new commitments are version 3.
(Version 1 stored ``u8 log_rows`` with ``R = 2^(n - log C)``, committing the zero padding too;
it is no longer accepted.)

Opening proof (``"ZKLO"``, version 3), the same for both modes::

    u32 R | u8 log_cols
    1 extension element                       s = <gamma^T M, b_0>
    u32 G | G x C extension elements          rows u_0 = (A_0 + beta gamma)^T M, u_g = A_g^T M
    u64 nonce                                 the grinding nonce (0 when grinding is off)
    u32 count | count x u32                   opened column indices, strictly increasing
    count x R base elements                   the opened columns (parts: each column is the
                                              parts' slices of R_s elements, in part order)
    u32 S | S x 32 bytes                      Merkle multi-proof siblings

Every count is bounded (``1 <= R <= 2^MAX_LOG_ROWS``, :data:`MAX_GROUPS`,
:data:`~zkinfer.commit.ligero.params.MAX_QUERIES`, the tree depth) and checked against the
remaining bytes before anything is allocated; decoding rejects non-canonical field elements,
unsorted or repeated indices and trailing bytes with :class:`~zkinfer.errors.ProofFormatError`.
That the sizes (``R``, ``log_cols``, ``G``) match the commitment and the claims, and that the
nonce meets the difficulty, is the verifier's job (:class:`~zkinfer.errors.VerificationError`,
checks ``shape`` and ``grinding``). Version 2 (no nonce: no grinding) is no longer accepted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from zkinfer.codec import Reader, Writer
from zkinfer.commit.base import (
    Commitment,
    Layout,
    OpeningProof,
    Parts,
    read_layout,
    read_parts,
    write_layout,
    write_parts,
)
from zkinfer.commit.ligero.merkle import DIGEST_BYTES
from zkinfer.commit.ligero.params import (
    LOG_BLOWUPS,
    MAX_GROUPS,
    MAX_LOG_COLS,
    MAX_LOG_ROWS,
    MAX_QUERIES,
    num_rows,
    part_rows,
)
from zkinfer.errors import ProofFormatError

__all__ = ["MAX_GROUPS", "LigeroCommitment", "LigeroProof"]

U64 = npt.NDArray[np.uint64]

_COMMITMENT_MAGIC = b"ZKLC"
_PROOF_MAGIC = b"ZKLO"
_VERSION = 3  # the commitment's (3: the mode, plain or parts)
_LEGACY_VERSION = 2  # still read: plain, no mode byte
_PROOF_VERSION = 3  # the opening proof's (3: the grinding nonce)


@dataclass(frozen=True)
class LigeroCommitment(Commitment):
    """Public commitment: the batch layout, the matrix shape, the code rate and the root.

    Attributes:
        layout: where each polynomial sits in the concatenated vector (for parts:
            ``parts.layout``).
        log_blowup: ``log2(1 / rate)``.
        rows: ``R``, the committed rows: ``ceil(layout.used / C)`` (plain) or
            ``sum_s ceil(used[s] / C)`` (parts).
        log_cols: ``log2 C``.
        root: Merkle root over the ``L = C 2^log_blowup`` encoded columns (each ``R`` elements).
        parts: the :class:`~zkinfer.commit.base.Parts` of a commitment made of parts, ``None``
            for a plain batch.
        version: the encoding's version: 3, or 2 for a plain commitment decoded from version-2
            bytes (it encodes back to them; see the module docstring).
    """

    layout: Layout
    log_blowup: int
    rows: int
    log_cols: int
    root: bytes
    parts: Parts | None = None
    version: int = _VERSION

    @property
    def log_length(self) -> int:
        """``log2 L``: the Merkle tree depth."""
        return self.log_cols + self.log_blowup

    @property
    def log_rows(self) -> int:
        """``n - log C``: the row coordinates of a point on ``F`` (``= ceil(log2 R)`` for a
        plain commitment).

        Row points select among ``2^log_rows`` rows of the zero-padded ``F``; only ``R`` of them
        are committed (plain: the first ``R``; parts: the first ``R_s`` of each part), the
        others are zero.
        """
        return self.layout.total_vars - self.log_cols

    @property
    def part_rows(self) -> tuple[int, ...] | None:
        """``(R_0, ..., R_{S-1})``, the rows each part commits; ``None`` for a plain batch."""
        return None if self.parts is None else part_rows(self.parts.used, self.log_cols)

    @property
    def row_layout(self) -> int | tuple[int, ...]:
        """Which rows of ``F`` are committed, as :mod:`~zkinfer.commit.ligero.schedule` takes
        it: ``R`` (plain: the first ``R`` rows) or :attr:`part_rows` (parts: gathered)."""
        return self.rows if self.parts is None else self.part_rows

    def shape_error(self) -> str | None:
        """Why the matrix shape does not fit the layout and parts, or ``None`` if it does.

        Decoded commitments always fit; the verifier asks objects built by hand.
        """
        if not 0 <= self.log_cols <= min(MAX_LOG_COLS, self.layout.total_vars):
            return (f"matrix shape does not fit the layout: 2^{self.log_cols} columns for "
                    f"2^{self.layout.total_vars} entries")
        if self.parts is None:
            expected = num_rows(self.layout.used, self.log_cols)
            if self.rows != expected:
                return (f"row count does not fit the layout: {self.rows} rows, expected "
                        f"ceil({self.layout.used} / 2^{self.log_cols}) = {expected}")
            return None
        if not isinstance(self.parts, Parts) or self.parts.layout != self.layout:
            return "the layout is not that of the parts"
        if self.version < _VERSION:
            return f"a commitment made of parts needs version {_VERSION}"
        m = self.parts.num_vars
        if self.log_cols > m:
            return (f"matrix shape does not fit the parts: 2^{self.log_cols} columns for parts "
                    f"of 2^{m} entries")
        expected = sum(part_rows(self.parts.used, self.log_cols))
        if self.rows != expected:
            return (f"row count does not fit the parts: {self.rows} rows, expected "
                    f"sum of ceil(used[s] / 2^{self.log_cols}) = {expected}")
        return None

    def to_bytes(self) -> bytes:
        """Canonical encoding (see the module docstring).

        Raises:
            ValueError: a version-2 object made of parts (version 2 has no mode).
        """
        w = Writer()
        w.header(_COMMITMENT_MAGIC, self.version)
        w.u8(self.log_blowup)
        w.u32(self.rows)
        w.u8(self.log_cols)
        write_layout(w, self.layout)
        if self.version >= _VERSION:
            write_parts(w, self.parts)
        elif self.parts is not None:
            raise ValueError(f"a commitment made of parts needs version {_VERSION}")
        w.raw(self.root)
        return w.finish()

    @classmethod
    def from_bytes(cls, data: bytes) -> LigeroCommitment:
        """Strict inverse of :meth:`to_bytes`.

        Raises:
            ProofFormatError: malformed, out-of-bounds or inconsistent fields.
        """
        what = "ligero commitment"
        r = Reader(data, what)
        version = r.header(_COMMITMENT_MAGIC, (_LEGACY_VERSION, _VERSION))
        log_blowup = r.u8(max(LOG_BLOWUPS))
        if log_blowup not in LOG_BLOWUPS:
            raise ProofFormatError(f"{what}: unsupported blowup 2^{log_blowup}")
        rows = r.u32(1 << MAX_LOG_ROWS)
        log_cols = r.u8(MAX_LOG_COLS)
        layout = read_layout(r)
        parts = read_parts(r, layout, what) if version >= _VERSION else None
        root = r.raw(DIGEST_BYTES)
        r.finish()
        com = cls(layout, log_blowup, rows, log_cols, root, parts, version)
        problem = com.shape_error()
        if problem is not None:
            raise ProofFormatError(f"{what}: {problem}")
        return com


@dataclass(frozen=True, eq=False)
class LigeroProof(OpeningProof):
    """An opening proof (see the module docstring for the fields' meaning)."""

    rows: int  # R
    log_cols: int
    proximity_value: U64  # (2,): s
    u_rows: U64  # (G, C, 2)
    nonce: int  # the grinding nonce, in [0, 2^64)
    indices: tuple[int, ...]
    columns: U64  # (count, R)
    siblings: tuple[bytes, ...]

    def to_bytes(self) -> bytes:
        """Canonical encoding (see the module docstring)."""
        w = Writer()
        w.header(_PROOF_MAGIC, _PROOF_VERSION)
        w.u32(self.rows)
        w.u8(self.log_cols)
        w.ext(self.proximity_value)
        w.u32(self.u_rows.shape[0])
        w.ext(self.u_rows)
        w.u64(self.nonce)
        w.u32s(self.indices)
        w.base(self.columns)
        w.u32(len(self.siblings))
        for s in self.siblings:
            w.raw(s)
        return w.finish()

    @classmethod
    def from_bytes(cls, data: bytes) -> LigeroProof:
        """Strict inverse of :meth:`to_bytes`.

        Raises:
            ProofFormatError: truncated, out-of-bounds counts, non-canonical elements,
                indices not strictly increasing, or trailing bytes.
        """
        r = Reader(data, "ligero opening proof")
        r.header(_PROOF_MAGIC, (_PROOF_VERSION,))
        rows = r.u32(1 << MAX_LOG_ROWS)
        if rows == 0:
            raise ProofFormatError("ligero opening proof: no committed rows")
        log_cols = r.u8(MAX_LOG_COLS)
        cols = 1 << log_cols
        proximity_value = r.ext(1)[0]
        groups = r.count(MAX_GROUPS, 16 * cols)
        if groups == 0:
            raise ProofFormatError("ligero opening proof: no rows")
        u_rows = r.ext(groups * cols).reshape(groups, cols, 2)
        nonce = r.u64()
        indices = r.u32s(MAX_QUERIES, (1 << (MAX_LOG_COLS + max(LOG_BLOWUPS))) - 1)
        if any(b <= a for a, b in zip(indices, indices[1:], strict=False)):
            raise ProofFormatError("ligero opening proof: column indices not strictly increasing")
        if len(indices) * rows * 8 > r.remaining:
            raise ProofFormatError("ligero opening proof: truncated columns")
        columns = r.base(len(indices) * rows).reshape(len(indices), rows)
        max_siblings = len(indices) * (MAX_LOG_COLS + max(LOG_BLOWUPS))
        count = r.count(max_siblings, DIGEST_BYTES)
        siblings = tuple(r.raw(DIGEST_BYTES) for _ in range(count))
        r.finish()
        return cls(rows, log_cols, proximity_value, u_rows, nonce, tuple(indices), columns,
                   siblings)

    @property
    def num_bytes(self) -> int:
        """Size of the encoding."""
        return len(self.to_bytes())
