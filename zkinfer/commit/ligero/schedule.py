"""The Ligero opening's transcript schedule and claim bookkeeping, shared by prover and verifier.

Numpy only. Both sides call exactly these functions in this order, so they cannot drift apart:

1. :func:`begin`: absorb the commitment and the claims (:func:`zkinfer.commit.base.absorb_claims`),
   then draw ``rho_k`` (one per claim) and ``gamma`` (one per committed row), all in ``E = F_p2``.
2. :func:`absorb_rows`: absorb the prover's rows ``u_g = A_g^T M`` (one per claim group) and
   ``w = gamma^T M``.
3. :func:`draw_queries`: draw ``t`` uniform column indices in ``[0, L)``; the proof opens the
   distinct ones, in increasing order.
4. :func:`absorb_opened`: absorb a digest of the opened columns and Merkle siblings, so that a
   protocol step after the opening depends on everything the prover sent.

Claims (see :mod:`zkinfer.commit.base` for the layout): claim ``k`` becomes a point ``z_k`` on the
concatenated vector ``F``, split into a row part (first ``log R`` coordinates) and a column part
(last ``log C``): ``F(z_k) = a_k^T M b_k`` with ``a_k = eq(row part)``, ``b_k = eq(column part)``.
Claims with identical column parts form a *group* ``g`` (in order of first appearance) sharing
``b_g``; the group's row vector is ``A_g = sum_{k in g} rho_k a_k`` and its claimed value
``V_g = sum_{k in g} rho_k v_k``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from zkinfer.commit.base import Layout, absorb_claims
from zkinfer.field import extension as ext
from zkinfer.field import goldilocks as gl
from zkinfer.transcript import Transcript

__all__ = [
    "Groups",
    "group_claims",
    "begin",
    "row_coefficients",
    "group_values",
    "absorb_rows",
    "draw_queries",
    "absorb_opened",
]

U64 = npt.NDArray[np.uint64]

_LABEL_RHO = b"ligero/claim-coefficients"
_LABEL_GAMMA = b"ligero/proximity-coefficients"
_LABEL_U = b"ligero/evaluation-rows"
_LABEL_W = b"ligero/proximity-row"
_LABEL_QUERIES = b"ligero/column-queries"
_LABEL_OPENED = b"ligero/opened-columns"


@dataclass(frozen=True, eq=False)
class Groups:
    """Claims split into row and column parts, grouped by column part.

    Attributes:
        row_points: per claim, the first ``log R`` coordinates of its global point.
        col_points: per group, the shared last ``log C`` coordinates.
        members: per group, the indices of its claims.
    """

    row_points: tuple[U64, ...]
    col_points: tuple[U64, ...]
    members: tuple[tuple[int, ...], ...]


def group_claims(
    layout: Layout, claims: Sequence[tuple[int | None, U64, U64]], log_cols: int
) -> Groups:
    """Translate claims to global points and group them by column part."""
    log_rows = layout.total_vars - log_cols
    row_points = []
    keys: dict[bytes, int] = {}
    col_points: list[U64] = []
    members: list[list[int]] = []
    for k, (poly, point, _) in enumerate(claims):
        z = layout.global_point(poly, point)
        row_points.append(np.ascontiguousarray(z[:log_rows]))
        col = np.ascontiguousarray(z[log_rows:])
        key = col.tobytes()
        if key not in keys:
            keys[key] = len(col_points)
            col_points.append(col)
            members.append([])
        members[keys[key]].append(k)
    return Groups(tuple(row_points), tuple(col_points), tuple(tuple(m) for m in members))


def begin(
    transcript: Transcript,
    commitment_bytes: bytes,
    claims: Sequence[tuple[int | None, U64, U64]],
    num_rows: int,
) -> tuple[U64, U64]:
    """Step 1: absorb commitment and claims; draw ``rho`` ``(K, 2)`` and ``gamma`` ``(R, 2)``."""
    absorb_claims(transcript, commitment_bytes, claims)
    rho = transcript.challenge_exts(_LABEL_RHO, len(claims))
    gamma = transcript.challenge_exts(_LABEL_GAMMA, num_rows)
    return rho, gamma


def row_coefficients(groups: Groups, rho: U64) -> U64:
    """``A_g = sum_{k in g} rho_k eq(row point of k)`` for every group: shape ``(G, R, 2)``."""
    points = np.stack(groups.row_points)  # (K, log R, 2)
    num_claims, log_rows = points.shape[0], points.shape[1]
    group_of = np.empty(num_claims, dtype=np.int64)
    for g, members in enumerate(groups.members):
        group_of[list(members)] = g
    out = np.zeros((len(groups.members), 1 << log_rows, 2), dtype=np.uint64)
    chunk = max(1, (1 << 20) >> log_rows)  # bound the temporary tables to ~16 MB
    with np.errstate(over="ignore"):
        for start in range(0, num_claims, chunk):
            stop = min(num_claims, start + chunk)
            # rho_k eq(row_k, .) for a chunk of claims at once: start from rho_k, then split
            # one variable per step (new variable = lowest index bit, as in eq_table)
            table = np.ascontiguousarray(rho[start:stop, None, :])  # (k, 1, 2)
            for i in range(log_rows):
                hi = ext._mul(table, points[start:stop, i][:, None, :])  # t * r_i
                lo = gl._sub(table, hi)  # t * (1 - r_i)
                table = np.stack([lo, hi], axis=2).reshape(stop - start, -1, 2)
            # A_g += rho_k eq(row_k, .) for the claims k of group g
            for k in range(start, stop):
                out[group_of[k]] = gl._add(out[group_of[k]], table[k - start])
    return out


def group_values(groups: Groups, claims: Sequence[tuple[int | None, U64, U64]],
                 rho: U64) -> U64:
    """``V_g = sum_{k in g} rho_k v_k`` for every group: shape ``(G, 2)``."""
    out = np.zeros((len(groups.members), 2), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for g, members in enumerate(groups.members):
            for k in members:
                out[g] = gl._add(out[g], ext._mul(rho[k], claims[k][2]))
    return out


def absorb_rows(transcript: Transcript, u_rows: U64, w_row: U64) -> None:
    """Step 2: absorb ``u_g`` (``(G, C, 2)``) and ``w`` (``(C, 2)``)."""
    transcript.append_ext(_LABEL_U, u_rows)
    transcript.append_ext(_LABEL_W, w_row)


def draw_queries(transcript: Transcript, length: int, queries: int) -> list[int]:
    """Step 3: ``queries`` uniform indices in ``[0, length)``; returns the distinct ones, sorted."""
    return sorted(set(transcript.challenge_indices(_LABEL_QUERIES, length, queries)))


def absorb_opened(transcript: Transcript, columns: U64, siblings: Sequence[bytes]) -> None:
    """Step 4: absorb ``SHA-256(columns || siblings)``."""
    h = hashlib.sha256(np.ascontiguousarray(columns, dtype="<u8").tobytes())
    for s in siblings:
        h.update(s)
    transcript.append_bytes(_LABEL_OPENED, h.digest())
