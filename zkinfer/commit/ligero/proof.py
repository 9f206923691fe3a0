"""Ligero commitment and opening proof: dataclasses and canonical encodings (numpy only).

Commitment (``"ZKLC"``, version 2)::

    u8 log_blowup | u32 R | u8 log_cols | layout | 32-byte Merkle root

with ``log_cols <= layout.total_vars`` and ``R = ceil(layout.used / C)``
(:func:`~zkinfer.commit.ligero.params.num_rows`): only the rows of the concatenated vector that
hold data are committed. The committed ``R x C`` matrix *is* the definition of the vector ``F``
the claims are about: ``F[i C + j] = M[i, j]`` for ``i < R`` and ``F = 0`` from ``R C`` to
``2^n``. (Version 1 stored ``u8 log_rows`` with ``R = 2^(n - log C)``, committing the zero
padding too; it is no longer accepted.)

Opening proof (``"ZKLO"``, version 3)::

    u32 R | u8 log_cols
    1 extension element                       s = <gamma^T M, b_0>
    u32 G | G x C extension elements          rows u_0 = (A_0 + beta gamma)^T M, u_g = A_g^T M
    u64 nonce                                 the grinding nonce (0 when grinding is off)
    u32 count | count x u32                   opened column indices, strictly increasing
    count x R base elements                   the opened columns
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
from zkinfer.commit.base import Commitment, Layout, OpeningProof, read_layout, write_layout
from zkinfer.commit.ligero.merkle import DIGEST_BYTES
from zkinfer.commit.ligero.params import (
    LOG_BLOWUPS,
    MAX_GROUPS,
    MAX_LOG_COLS,
    MAX_LOG_ROWS,
    MAX_QUERIES,
    num_rows,
)
from zkinfer.errors import ProofFormatError

__all__ = ["MAX_GROUPS", "LigeroCommitment", "LigeroProof"]

U64 = npt.NDArray[np.uint64]

_COMMITMENT_MAGIC = b"ZKLC"
_PROOF_MAGIC = b"ZKLO"
_VERSION = 2  # the commitment's
_PROOF_VERSION = 3  # the opening proof's (3: the grinding nonce)


@dataclass(frozen=True)
class LigeroCommitment(Commitment):
    """Public commitment: the batch layout, the matrix shape, the code rate and the root.

    Attributes:
        layout: where each polynomial sits in the concatenated vector.
        log_blowup: ``log2(1 / rate)``.
        rows: ``R = ceil(layout.used / C)``, the committed rows.
        log_cols: ``log2 C``.
        root: Merkle root over the ``L = C 2^log_blowup`` encoded columns (each ``R`` elements).
    """

    layout: Layout
    log_blowup: int
    rows: int
    log_cols: int
    root: bytes

    @property
    def log_length(self) -> int:
        """``log2 L``: the Merkle tree depth."""
        return self.log_cols + self.log_blowup

    @property
    def log_rows(self) -> int:
        """``n - log C``: the row coordinates of a point on ``F`` (``= ceil(log2 R)``).

        Row points select among ``2^log_rows`` rows of the zero-padded ``F``; only the first
        ``R <= 2^log_rows`` are committed, the others are zero.
        """
        return self.layout.total_vars - self.log_cols

    def to_bytes(self) -> bytes:
        """Canonical encoding (see the module docstring)."""
        w = Writer()
        w.header(_COMMITMENT_MAGIC, _VERSION)
        w.u8(self.log_blowup)
        w.u32(self.rows)
        w.u8(self.log_cols)
        write_layout(w, self.layout)
        w.raw(self.root)
        return w.finish()

    @classmethod
    def from_bytes(cls, data: bytes) -> LigeroCommitment:
        """Strict inverse of :meth:`to_bytes`.

        Raises:
            ProofFormatError: malformed, out-of-bounds or inconsistent fields.
        """
        r = Reader(data, "ligero commitment")
        r.header(_COMMITMENT_MAGIC, (_VERSION,))
        log_blowup = r.u8(max(LOG_BLOWUPS))
        if log_blowup not in LOG_BLOWUPS:
            raise ProofFormatError(f"ligero commitment: unsupported blowup 2^{log_blowup}")
        rows = r.u32(1 << MAX_LOG_ROWS)
        log_cols = r.u8(MAX_LOG_COLS)
        layout = read_layout(r)
        root = r.raw(DIGEST_BYTES)
        r.finish()
        if log_cols > layout.total_vars:
            raise ProofFormatError("ligero commitment: matrix shape does not fit the layout: "
                                   f"2^{log_cols} columns for 2^{layout.total_vars} entries")
        expected = num_rows(layout.used, log_cols)
        if rows != expected:
            raise ProofFormatError("ligero commitment: row count does not fit the layout: "
                                   f"{rows} rows, expected ceil({layout.used} / 2^{log_cols}) "
                                   f"= {expected}")
        return cls(layout, log_blowup, rows, log_cols, root)


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
