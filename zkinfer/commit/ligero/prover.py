"""Ligero prover: commit (encode rows, Merkle tree over columns) and open (Numba).

Importing this module imports numba; the verifier never does.

Commit, for a batch laid out as ``F`` (``2^n`` entries, :class:`~zkinfer.commit.base.Layout`),
of which the first ``used`` hold the polynomials and the rest is zero padding:

1. ``M = F[:R C]`` viewed as an ``R x C`` matrix (row-major), ``R = ceil(used / C)`` and ``log C``
   from :meth:`~zkinfer.commit.ligero.params.LigeroParams.shape`: the all-zero rows of the
   padding are not committed (claims still treat ``F`` as ``2^n`` entries: see
   :mod:`zkinfer.commit.ligero.schedule` for why truncating the row coefficients is exact);
2. every row Reed-Solomon encoded to ``L = C / rate`` positions
   (:mod:`zkinfer.commit.ligero.code`), stored transposed (``L x R``) so each column is contiguous;
3. leaf ``j`` = ``H(0x00 || column j)``, one hash call per column; root of the Merkle tree.

Open: see :mod:`zkinfer.commit.ligero.schedule` for the transcript steps.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from zkinfer.commit.base import Layout, OpeningClaim, ProverData, prover_claims
from zkinfer.commit.ligero import _kernels as K
from zkinfer.commit.ligero import merkle, schedule
from zkinfer.commit.ligero.code import bitrev
from zkinfer.commit.ligero.params import LigeroParams
from zkinfer.commit.ligero.proof import LigeroCommitment, LigeroProof
from zkinfer.field import extension as ext
from zkinfer.field import goldilocks as gl
from zkinfer.poly import _kernels as PK
from zkinfer.poly import fast
from zkinfer.transcript import Transcript

__all__ = ["LigeroProverData", "commit", "open_claims", "encode", "hash_leaves"]

U64 = npt.NDArray[np.uint64]


@dataclass(eq=False)
class LigeroProverData(ProverData):
    """Prover-only state of a commitment (never serialized).

    Attributes:
        layout: the batch layout.
        vector: the concatenated vector ``F``, all ``2^n`` entries (zero from ``used`` on);
            only its first ``R C`` entries are committed.
        commitment: the public commitment.
        encoded: ``(L, R)``: ``encoded[j]`` is column ``j`` of the encoded matrix.
        levels: the Merkle tree, leaves first.
    """

    layout: Layout
    vector: U64
    commitment: LigeroCommitment
    encoded: U64
    levels: list[npt.NDArray[np.uint8]]

    @property
    def rows(self) -> U64:
        """``M``: the first ``R C`` entries of the vector as an ``R x C`` matrix (a view)."""
        c = self.commitment
        return self.vector[: c.rows << c.log_cols].reshape(c.rows, 1 << c.log_cols)

    def evaluate(self, poly: int | None, point: npt.ArrayLike) -> U64:
        """``poly(point)``, shape ``(2,)``.

        A block of at least ``C`` entries is whole rows of ``F`` (its offset is a multiple of
        its size), so its value is ``eq(r_row)^T (M_block eq(r_col))`` without a table of
        ``eq`` over the whole block. For ``F`` itself (``poly=None``) only the ``R`` committed
        rows are read: the rows from ``R`` on are zero, so ``eq(r_row)`` is truncated to ``R``.
        """
        log_cols = self.commitment.log_cols
        pt = ext.as_ext(np.asarray(point, dtype=np.uint64).reshape(-1, 2), "point")
        self.layout.check_claim_shape(poly, pt)
        block = self.layout.block(self.vector, poly)
        if block.shape[0] < (1 << log_cols):
            return fast.evaluate(block, pt)
        # M_block: the block's rows of F; for F itself, its R committed rows
        rows = self.rows if poly is None else block.reshape(-1, 1 << log_cols)
        split = pt.shape[0] - log_cols
        # y = M_block eq(r_col); f(r) = <eq(r_row)[:rows], y>
        y = np.empty((1, rows.shape[0], 2), dtype=np.uint64)
        K.rows_times_ext(rows, np.ascontiguousarray(fast.eq_table(pt[split:])[None]), y)
        row_eq = np.ascontiguousarray(fast.eq_table(pt[:split])[: rows.shape[0]])
        return np.array(PK.inner_ext_ext(row_eq, y[0]), dtype=np.uint64)


@functools.lru_cache(maxsize=32)
def _code_tables(log_cols: int, log_blowup: int) -> tuple[U64, U64]:
    """DIF twiddles for size ``C`` and the block shifts ``s_k^i`` (see ``_kernels``)."""
    c = 1 << log_cols
    blowup = 1 << log_blowup
    tw = np.empty(c, dtype=np.uint64)
    PK.twiddle_table(np.uint64(gl.root_of_unity(log_cols)), c, tw)
    w = gl.root_of_unity(log_cols + log_blowup)
    shifts = np.empty((blowup, c), dtype=np.uint64)
    for k, e in enumerate(bitrev(np.arange(blowup), log_blowup)):
        # s_k = w^bitrev_B(k)
        PK.powers(np.uint64(pow(w, int(e), gl.P)), shifts[k])
    tw.setflags(write=False)
    shifts.setflags(write=False)
    return tw, shifts


def encode(rows: U64, log_blowup: int, progress=None) -> U64:
    """Encode every row of ``rows`` (``(R, C)``); returns the ``(L, R)`` transposed codewords.

    ``progress(step, done, total)``, if given, is called as ``("encoding rows", rows encoded,
    R)`` between slices of rows (the result does not depend on it).
    """
    num_rows, c = rows.shape
    tw, shifts = _code_tables(c.bit_length() - 1, log_blowup)
    out = np.empty((c << log_blowup, num_rows), dtype=np.uint64)
    if progress is None:
        K.encode_rows_transposed(np.ascontiguousarray(rows), shifts, tw, out)
        return out
    rows = np.ascontiguousarray(rows)
    step = _slice_rows(num_rows)
    progress("encoding rows", 0, num_rows)
    for r0 in range(0, num_rows, step):
        r1 = min(num_rows, r0 + step)
        K.encode_row_range(rows, r0, r1, shifts, tw, out)
        progress("encoding rows", r1, num_rows)
    return out


def _slice_rows(num_rows: int) -> int:
    """Rows per kernel call when reporting progress: about 24 calls, each a multiple of
    ``ROW_CHUNK`` rows and at least two chunks per thread (so no call runs on one core)."""
    from zkinfer._jit import numba

    least = 2 * K.ROW_CHUNK * max(1, numba.get_num_threads())
    per = -(-num_rows // 24)
    return max(least, -(-per // K.ROW_CHUNK) * K.ROW_CHUNK)


def hash_leaves(encoded: U64, progress=None) -> npt.NDArray[np.uint8]:
    """The Merkle leaves ``H(0x00 || column j)`` of the ``(L, R)`` encoded matrix, in slices of
    columns with ``progress("hashing columns", columns hashed, L)`` between them if given."""
    if progress is None:
        return merkle.hash_columns(encoded)
    length = encoded.shape[0]
    leaves = np.empty((length, merkle.DIGEST_BYTES), dtype=np.uint8)
    step = max(1024, -(-length // 16))
    progress("hashing columns", 0, length)
    for lo in range(0, length, step):
        hi = min(length, lo + step)
        leaves[lo:hi] = merkle.hash_columns(encoded[lo:hi])
        progress("hashing columns", hi, length)
    return leaves


def commit(params: LigeroParams, polys: Sequence[npt.ArrayLike], progress=None
           ) -> tuple[LigeroCommitment, LigeroProverData]:
    """Commit a batch (see :meth:`zkinfer.commit.base.PCS.commit`).

    ``progress(step, done, total)``, if given, reports ``"encoding rows"`` (rows),
    ``"hashing columns"`` (columns) and ``"Merkle tree"`` (layers); the commitment does not
    depend on it.
    """
    layout, tables = Layout.of(polys)
    vector = layout.concatenate(tables)
    num_rows, log_cols = params.shape(layout.used, layout.total_vars)
    # M = the first R C entries of F: rows R.. of the zero padding are not committed
    rows = vector[: num_rows << log_cols].reshape(num_rows, 1 << log_cols)
    # E[j] = column j of Enc(M): Enc applied to each row
    encoded = encode(rows, params.log_blowup, progress)
    # leaf_j = H(0x00 || E[j]); root of the tree over the leaves
    levels = merkle.build(hash_leaves(encoded, progress), progress)
    commitment = LigeroCommitment(layout, params.log_blowup, num_rows, log_cols,
                                  levels[-1][0].tobytes())
    return commitment, LigeroProverData(layout, vector, commitment, encoded, levels)


def open_claims(params: LigeroParams, data: LigeroProverData, claims: Sequence[OpeningClaim],
                transcript: Transcript, progress=None) -> LigeroProof:
    """Prove ``claims`` (see :meth:`zkinfer.commit.base.PCS.open`).

    ``progress(step, done, total)``, if given, reports ``"combining rows"`` (columns of the
    row combinations done) and ``"opening columns"`` (grinding, then the opened columns); the
    proof does not depend on it. ``data`` may hold read-only arrays (nothing is written to it).
    """
    com = data.commitment
    if com.log_blowup != params.log_blowup:
        raise ValueError("prover data was committed with another rate")
    checked = prover_claims(data, claims)
    groups = schedule.group_claims(data.layout, checked, com.log_cols)
    rows = data.rows
    # rho, gamma <- transcript (after commitment and claims)
    rho, gamma = schedule.begin(transcript, com.to_bytes(), checked, rows.shape[0])
    coeffs = np.concatenate([schedule.row_coefficients(groups, rho, rows.shape[0]), gamma[None]],
                            axis=0)
    # u_g = A_g^T M for each group, w = gamma^T M
    combined = np.empty((coeffs.shape[0], rows.shape[1], 2), dtype=np.uint64)
    if progress is None:
        K.combine_rows(rows, np.ascontiguousarray(coeffs), combined)
    else:
        coeffs = np.ascontiguousarray(coeffs)
        cols = rows.shape[1]
        step = max(512, -(-cols // 16))
        progress("combining rows", 0, cols)
        for c0 in range(0, cols, step):
            c1 = min(cols, c0 + step)
            K.combine_rows_range(rows, coeffs, c0, c1, combined)
            progress("combining rows", c1, cols)
    u_rows, w_row = combined[:-1], combined[-1]
    # s = <w, b_0>; beta <- transcript
    s_value = np.array(PK.inner_ext_ext(w_row, fast.eq_table(groups.col_points[0])), dtype=np.uint64)
    beta = schedule.absorb_proximity_value(transcript, s_value)
    # u_0 <- u_0 + beta w = (A_0 + beta gamma)^T M
    with np.errstate(over="ignore"):
        u_rows[0] = gl.add_unchecked(u_rows[0], ext.mul_unchecked(w_row, np.broadcast_to(beta, w_row.shape)))
    schedule.absorb_rows(transcript, u_rows)
    if progress is not None:
        progress("opening columns", 0, 2)
    # grinding: the smallest nonce with PoW(state || g, nonce) < 2^(64 - g); absorb it
    nonce = schedule.find_nonce(schedule.grinding_seed(transcript, params.grinding_bits),
                                params.grinding_bits)
    schedule.absorb_nonce(transcript, nonce)
    if progress is not None:
        progress("opening columns", 1, 2)
    # t column queries; open the distinct ones with a Merkle multi-proof
    indices = schedule.draw_queries(transcript, 1 << com.log_length, params.queries)
    columns = data.encoded[indices]
    siblings = tuple(merkle.open_siblings(data.levels, indices))
    schedule.absorb_opened(transcript, columns, siblings)
    if progress is not None:
        progress("opening columns", 2, 2)
    return LigeroProof(com.rows, com.log_cols, s_value, np.ascontiguousarray(u_rows), nonce,
                       tuple(indices), columns, siblings)
