"""Ligero verifier (numpy + hashlib only; imports no numba, directly or indirectly).

Checks, in order (each failure raises :class:`~zkinfer.errors.VerificationError` naming it):

1. ``shape``: the commitment's ``R`` fits its layout (``ceil(used / C)``; for parts,
   ``sum_s ceil(used[s] / C)``), and the proof's ``(R, C)``, number of rows ``u_g`` and column
   lengths match the commitment and claims;
2. ``grinding``: the nonce meets the difficulty ``g`` of the parameters (one hash of the
   transcript state after the rows and the nonce, see :mod:`zkinfer.commit.ligero.schedule`);
   it is then absorbed before the queries are drawn;
3. ``queries``: the opened column indices are exactly the distinct transcript queries;
4. ``evaluation`` (per group ``g``): ``<u_g, eq(col point_g)> == V_g + [g = 0] beta s`` with
   ``V_g = sum_{k in g} rho_k v_k``;
5. ``merkle``: the opened columns and the multi-proof hash to the committed root (for parts:
   each column split into the parts' slices of ``R_s`` elements, each slice hashed, the digests
   combined into the leaf, :func:`~zkinfer.commit.ligero.merkle.combine_part_leaves`);
6. ``proximity and consistency`` (per group and opened column ``j``):
   ``Enc(u_g)[j] == c_g^T col_j`` with ``c_0 = A_0 + beta gamma`` (the proximity test folded
   into the first row) and ``c_g = A_g``, all of ``R`` entries: ``A_g`` are the ``eq`` tables of
   the row points truncated to the ``R`` committed rows (for parts: gathered at the committed
   rows of each part), exact because ``F`` is zero elsewhere (see
   :mod:`zkinfer.commit.ligero.schedule`).

Cost (``t`` queries, ``R x C`` matrix, ``G`` groups): ``O(t (R + C) G)`` multiply-adds, done as
exact float64 matrix products (:mod:`zkinfer.field.blas`), plus ``O(t log L)`` hashes.
The re-encoding ``Enc(u_g)`` at the ``t`` queried positions (:func:`code.evaluate_at
<zkinfer.commit.ligero.code.evaluate_at>`, ``~9 t C G`` float64 multiply-adds) dominates; the
rest is vectorized over claims and groups (``O(log)`` numpy calls for the ``eq`` tables).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

import numpy as np
import numpy.typing as npt

from zkinfer.commit.base import OpeningClaim, verifier_claims
from zkinfer.commit.ligero import code, merkle, schedule
from zkinfer.commit.ligero.params import LigeroParams
from zkinfer.commit.ligero.proof import LigeroCommitment, LigeroProof
from zkinfer.errors import VerificationError
from zkinfer.field import blas
from zkinfer.field import extension as ext
from zkinfer.field import goldilocks as gl
from zkinfer.field.scalar import Fp2
from zkinfer.transcript import Transcript

__all__ = ["replay_opening", "verify_opening"]

U64 = npt.NDArray[np.uint64]

_CHECK = "ligero pcs"


def _ext_to_base_rows(x: U64) -> U64:
    """``(G, n, 2)`` extension rows -> ``(2G, n)`` base rows: ``[g0.c0, g0.c1, g1.c0, ...]``."""
    return np.ascontiguousarray(x.transpose(0, 2, 1).reshape(-1, x.shape[1]))


def _ext_eval(u: U64, points: U64) -> U64:
    """``<u_g, eq(point_g)>`` for extension tables ``u`` ``(G, 2^m, 2)`` and points ``(G, m, 2)``:
    shape ``(G, 2)``.

    Tensor form: with ``point = (p1, p2)`` (high and low halves), ``<u, eq(p)> =
    eq(p1)^T U eq(p2)`` for ``U`` the table as a ``(2^|p1|, 2^|p2|)`` matrix; ``U eq(p2)`` is an
    exact matrix product (batched over the groups), so only ``O(G sqrt(C))`` numpy field
    multiplications remain.
    """
    e1, e2 = schedule.eq_halves(points)  # (G, rows, 2), (G, cols, 2)
    num, rows, cols = u.shape[0], e1.shape[1], e2.shape[1]
    # U = U0 + U1 X: stack U0, U1 as (2 rows, cols) and e2 = e20 + e21 X as (cols, 2)
    u_stack = np.concatenate([u[..., 0].reshape(num, rows, cols),
                              u[..., 1].reshape(num, rows, cols)], axis=1)
    prod = blas.matmul(u_stack, e2)  # [U0; U1] @ [e20, e21]: (G, 2 rows, 2)
    p00, p01 = prod[:, :rows, 0], prod[:, :rows, 1]
    p10, p11 = prod[:, rows:, 0], prod[:, rows:, 1]
    with np.errstate(over="ignore"):
        # (U0 + U1 X)(e20 + e21 X) = (U0 e20 + 7 U1 e21) + (U0 e21 + U1 e20) X
        y0 = gl.add_unchecked(p00, gl.mul_unchecked(p11, np.uint64(7)))
        y1 = gl.add_unchecked(p01, p10)
        y = np.stack([y0, y1], axis=-1)
        # eq(p1)^T (U eq(p2))
        return ext.sum(ext.mul_unchecked(y, e1), axis=1)


def verify_opening(
    params: LigeroParams,
    commitment: LigeroCommitment,
    claims: Sequence[OpeningClaim],
    proof: LigeroProof,
    transcript: Transcript,
) -> None:
    """Verify an opening proof (see :meth:`zkinfer.commit.base.PCS.verify`):
    :func:`replay_opening`, then the checks it returns.

    Raises:
        VerificationError: any check fails (``check`` is ``"ligero pcs"``, the message names
            the step, ``round`` the group or column index where there is one).
    """
    replay_opening(params, commitment, claims, proof, transcript)()


def replay_opening(
    params: LigeroParams,
    commitment: LigeroCommitment,
    claims: Sequence[OpeningClaim],
    proof: LigeroProof,
    transcript: Transcript,
) -> Callable[[], None]:
    """The opening's transcript part: the shape checks, every absorbed message and drawn
    challenge, the grinding and the queried indices (raising as :func:`verify_opening` does).
    Returns the checks that read no transcript (evaluation, Merkle paths, proximity and
    consistency), in that order, as one call that raises the first failure: they may run
    later, in another process (:meth:`zkinfer.commit.base.PCS.replay`)."""
    com = commitment
    if com.log_blowup != params.log_blowup:
        raise VerificationError(_CHECK, "commitment uses another code rate",
                                expected=params.log_blowup, got=com.log_blowup)
    # (decoded commitments satisfy this; a commitment object built by hand might not)
    problem = com.shape_error()
    if problem is not None:
        raise VerificationError(_CHECK, "shape: commitment matrix shape does not fit its layout"
                                f" ({problem})", got=(com.rows, com.log_cols))
    checked = verifier_claims(com.layout, claims, _CHECK)
    groups = schedule.group_claims(com.layout, checked, com.log_cols)
    rows, cols = com.rows, 1 << com.log_cols
    # shape: (R, log C, G) of the proof == those of the commitment and claims
    if (proof.rows, proof.log_cols) != (com.rows, com.log_cols):
        raise VerificationError(_CHECK, "shape: proof matrix shape differs from the commitment",
                                expected=(com.rows, com.log_cols),
                                got=(proof.rows, proof.log_cols))
    if proof.u_rows.shape[0] != len(groups.members):
        raise VerificationError(_CHECK, "shape: wrong number of evaluation rows",
                                expected=len(groups.members), got=proof.u_rows.shape[0])
    # (decoded proofs have these shapes; a proof object built by hand might not)
    if (proof.u_rows.shape[1:] != (cols, 2)
            or proof.columns.shape != (len(proof.indices), rows)
            or np.shape(proof.proximity_value) != (2,)):
        raise VerificationError(_CHECK, "shape: rows or columns of the wrong size")
    # rho, gamma <- transcript; absorb s; beta <- transcript; absorb u_g
    rho, gamma = schedule.begin(transcript, com.to_bytes(), checked, rows)
    beta = schedule.absorb_proximity_value(transcript, proof.proximity_value)
    schedule.absorb_rows(transcript, proof.u_rows)
    # grinding: PoW(state || g, nonce) < 2^(64 - g); absorb the nonce; queries <- transcript
    nonce = proof.nonce
    seed = schedule.grinding_seed(transcript, params.grinding_bits)
    if (isinstance(nonce, bool) or not isinstance(nonce, (int, np.integer))
            or not schedule.meets_difficulty(seed, int(nonce), params.grinding_bits)):
        raise VerificationError(_CHECK, f"grinding: the nonce does not meet the difficulty of "
                                f"{params.grinding_bits} bits", got=nonce)
    schedule.absorb_nonce(transcript, int(nonce))
    indices = schedule.draw_queries(transcript, 1 << com.log_length, params.queries)
    # queries: the opened columns are exactly the distinct queried ones
    if list(proof.indices) != indices:
        raise VerificationError(_CHECK, "queries: opened columns differ from the queried ones")
    schedule.absorb_opened(transcript, proof.columns, proof.siblings)
    return partial(_checks, com, checked, groups, proof, indices, rho, gamma, beta)


def _checks(com: LigeroCommitment, checked, groups, proof: LigeroProof, indices: list[int],
            rho, gamma, beta) -> None:
    """The checks after the transcript (see :func:`replay_opening`)."""
    # evaluation: <u_g, eq(col_g)> == V_g (+ beta s for g = 0), V_g = sum rho_k v_k
    values = schedule.group_values(groups, checked, rho)
    values[0] = (Fp2.from_array(values[0])
                 + Fp2.from_array(beta) * Fp2.from_array(proof.proximity_value)).to_array()
    evals = _ext_eval(proof.u_rows, np.stack(groups.col_points))  # all groups at once
    for g, got in enumerate(evals):
        if not np.array_equal(got, values[g]):
            raise VerificationError(_CHECK, "evaluation: <u, eq(r_col)> != combined claim",
                                    round=g, expected=values[g].tolist(), got=got.tolist())

    # merkle: root(leaf_j, siblings) == committed root, leaf_j = H(0x00 || col_j) (plain) or
    # H(0x02 || H(0x00 || slice_0j) || ... || H(0x00 || slice_(S-1)j)) (parts)
    part_rows = com.part_rows
    if part_rows is None:
        leaves = merkle.hash_columns(proof.columns, threads=1)
    else:
        bounds = np.cumsum((0,) + part_rows)
        leaves = merkle.combine_part_leaves(
            [merkle.hash_columns(proof.columns[:, lo:hi], threads=1)
             for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)])
    root = merkle.root_from_multiproof(com.log_length, indices, leaves, proof.siblings)
    if root != com.root:
        raise VerificationError(_CHECK, "merkle: opened columns do not hash to the root")

    # proximity and consistency: Enc(u_g)[j] == c_g^T col_j, c_0 = A_0 + beta gamma, c_g = A_g
    coeffs = schedule.check_coefficients(groups, rho, gamma, beta, com.row_layout)
    encoded = code.evaluate_at(_ext_to_base_rows(proof.u_rows), indices, com.log_blowup)
    combos = blas.matmul(proof.columns, _ext_to_base_rows(coeffs).T.copy())  # (count, 2G)
    mismatch = encoded.T != combos
    if mismatch.any():
        j, col = (int(x) for x in np.argwhere(mismatch)[0])
        step = "proximity and consistency" if col < 2 else "consistency"
        raise VerificationError(_CHECK, f"{step}: Enc(u) disagrees with the opened column",
                                round=indices[j], expected=int(combos[j, col]),
                                got=int(encoded[col, j]))
