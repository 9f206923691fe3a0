"""Ligero prover: commit (encode rows, Merkle tree over columns) and open (Numba).

Importing this module imports numba; the verifier never does.

Commit, for a batch laid out as ``F`` (``2^n`` entries, :class:`~zkinfer.commit.base.Layout`):

1. ``M = F`` viewed as an ``R x C`` matrix (row-major), shape from
   :meth:`~zkinfer.commit.ligero.params.LigeroParams.shape`;
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

from zkinfer.commit.base import Claim, Layout, ProverData, prover_claims
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

__all__ = ["LigeroProverData", "commit", "open_claims"]

U64 = npt.NDArray[np.uint64]


@dataclass(eq=False)
class LigeroProverData(ProverData):
    """Prover-only state of a commitment (never serialized).

    Attributes:
        layout: the batch layout.
        vector: the concatenated vector ``F`` (length ``R C``).
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
        """``M``: the vector as an ``R x C`` matrix (a view)."""
        c = self.commitment
        return self.vector.reshape(1 << c.log_rows, 1 << c.log_cols)

    def evaluate(self, poly: int | None, point: npt.ArrayLike) -> U64:
        """``poly(point)``, shape ``(2,)``.

        A block of at least ``C`` entries is whole rows of ``M``, so its value is
        ``eq(r_row)^T (M_block eq(r_col))`` without a table of ``eq`` over the whole block.
        """
        block = self.layout.block(self.vector, poly)
        log_cols = self.commitment.log_cols
        pt = ext.as_ext(np.asarray(point, dtype=np.uint64).reshape(-1, 2), "point")
        if block.shape[0] < (1 << log_cols) or pt.shape[0] != block.shape[0].bit_length() - 1:
            return fast.evaluate(block, pt)
        rows = block.reshape(-1, 1 << log_cols)
        split = pt.shape[0] - log_cols
        # y = M_block eq(r_col); f(r) = <eq(r_row), y>
        y = np.empty((1, rows.shape[0], 2), dtype=np.uint64)
        K.rows_times_ext(rows, np.ascontiguousarray(fast.eq_table(pt[split:])[None]), y)
        return np.array(PK.inner_ext_ext(fast.eq_table(pt[:split]), y[0]), dtype=np.uint64)


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


def encode(rows: U64, log_blowup: int) -> U64:
    """Encode every row of ``rows`` (``(R, C)``); returns the ``(L, R)`` transposed codewords."""
    num_rows, c = rows.shape
    tw, shifts = _code_tables(c.bit_length() - 1, log_blowup)
    out = np.empty((c << log_blowup, num_rows), dtype=np.uint64)
    K.encode_rows_transposed(np.ascontiguousarray(rows), shifts, tw, out)
    return out


def commit(params: LigeroParams, polys: Sequence[npt.ArrayLike]
           ) -> tuple[LigeroCommitment, LigeroProverData]:
    """Commit a batch (see :meth:`zkinfer.commit.base.PCS.commit`)."""
    layout, tables = Layout.of(polys)
    vector = layout.concatenate(tables)
    log_rows, log_cols = params.shape(layout.total_vars)
    rows = vector.reshape(1 << log_rows, 1 << log_cols)
    # E[j] = column j of Enc(M): Enc applied to each row
    encoded = encode(rows, params.log_blowup)
    # leaf_j = H(0x00 || E[j]); root of the tree over the leaves
    levels = merkle.build(merkle.hash_columns(encoded))
    commitment = LigeroCommitment(layout, params.log_blowup, log_rows, log_cols,
                                  levels[-1][0].tobytes())
    return commitment, LigeroProverData(layout, vector, commitment, encoded, levels)


def open_claims(params: LigeroParams, data: LigeroProverData, claims: Sequence[Claim],
                transcript: Transcript) -> LigeroProof:
    """Prove ``claims`` (see :meth:`zkinfer.commit.base.PCS.open`)."""
    com = data.commitment
    if com.log_blowup != params.log_blowup:
        raise ValueError("prover data was committed with another rate")
    checked = prover_claims(data, claims)
    groups = schedule.group_claims(data.layout, checked, com.log_cols)
    rows = data.rows
    # rho, gamma <- transcript (after commitment and claims)
    rho, gamma = schedule.begin(transcript, com.to_bytes(), checked, rows.shape[0])
    coeffs = np.concatenate([schedule.row_coefficients(groups, rho), gamma[None]], axis=0)
    # u_g = A_g^T M for each group, w = gamma^T M
    combined = np.empty((coeffs.shape[0], rows.shape[1], 2), dtype=np.uint64)
    K.combine_rows(rows, np.ascontiguousarray(coeffs), combined)
    u_rows, w_row = combined[:-1], combined[-1]
    # s = <w, b_0>; beta <- transcript
    s_value = np.array(PK.inner_ext_ext(w_row, fast.eq_table(groups.col_points[0])), dtype=np.uint64)
    beta = schedule.absorb_proximity_value(transcript, s_value)
    # u_0 <- u_0 + beta w = (A_0 + beta gamma)^T M
    with np.errstate(over="ignore"):
        u_rows[0] = gl._add(u_rows[0], ext._mul(w_row, np.broadcast_to(beta, w_row.shape)))
    schedule.absorb_rows(transcript, u_rows)
    # t column queries; open the distinct ones with a Merkle multi-proof
    indices = schedule.draw_queries(transcript, 1 << com.log_length, params.queries)
    columns = data.encoded[indices]
    siblings = tuple(merkle.open_siblings(data.levels, indices))
    schedule.absorb_opened(transcript, columns, siblings)
    return LigeroProof(com.log_rows, com.log_cols, s_value, np.ascontiguousarray(u_rows),
                       tuple(indices), columns, siblings)
