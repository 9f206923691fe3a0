"""The Ligero opening's transcript schedule and claim bookkeeping, shared by prover and verifier.

Numpy only. Both sides call exactly these functions in this order, so they cannot drift apart:

1. :func:`begin`: absorb the commitment and the claims (:func:`zkinfer.commit.base.absorb_claims`),
   then draw ``rho_k`` (one per claim) and ``gamma`` (one per committed row: ``R`` of them), all in
   ``E = F_p2``.
2. :func:`absorb_proximity_value`: absorb ``s = <w, b_0>`` for the proximity row
   ``w = gamma^T M`` (``w`` itself is never sent), then draw ``beta`` in ``E``.
3. :func:`absorb_rows`: absorb the prover's rows: ``u_0 = (A_0 + beta gamma)^T M`` (the first
   group's evaluation row with the proximity row folded in) and ``u_g = A_g^T M`` for ``g >= 1``.
4. grinding: :func:`grinding_seed` fixes the puzzle (the transcript state after step 3 and the
   difficulty ``g``); the prover finds a nonce with :func:`find_nonce`, the verifier checks it
   with :func:`meets_difficulty` (one hash, :func:`proof_of_work`); both :func:`absorb_nonce`.
5. :func:`draw_queries`: draw ``t`` uniform column indices in ``[0, L)``; the proof opens the
   distinct ones, in increasing order.
6. :func:`absorb_opened`: absorb a digest of the opened columns and Merkle siblings, so that a
   protocol step after the opening depends on everything the prover sent.

Grinding: ``PoW(seed, n) = BLAKE2b-64(seed || u64le(n))`` with personalization
``"zkinfer-lig-pow1"`` (no transcript hash uses one, so the two never collide), read as a
big-endian 64-bit integer; ``n`` meets difficulty ``g`` iff ``PoW < 2^(64 - g)`` (``g`` leading
zero bits). ``seed = state || u8(g)``. ``g = 0`` accepts every nonce (the prover sends 0). See
:mod:`zkinfer.commit.ligero.params` for what it buys.

Why one row suffices for proximity and evaluation of group 0 (see also
:mod:`zkinfer.commit.ligero.params`): ``c = A_0 + beta gamma`` is uniform in ``E^R`` when
``gamma`` is (and ``beta != 0``), so the column checks on ``u_0`` are the usual random-combination
proximity test; and ``<u_0, b_0> = V_0 + beta s`` with ``s`` fixed before ``beta`` pins ``V_0``
except with probability ``1 / |E|``.

Claims (see :mod:`zkinfer.commit.base` for the layout): claim ``k`` becomes a point ``z_k`` on the
concatenated vector ``F`` (``2^n`` entries), split into a row part (first ``n - log C``
coordinates) and a column part (last ``log C``). The committed matrix ``M`` has only
``R = ceil(used / C)`` rows, ``M_i = F[i C : (i + 1) C]`` for ``i < R``, where ``R`` may be
smaller than ``2^(n - log C)`` and is not a power of two in general (see
:mod:`zkinfer.commit.ligero.params`). Then

    ``F(z_k) = sum_{i < 2^(n - log C)} eq(row part, i) <F_i, b_k> = a_k^T M b_k``

with ``b_k = eq(column part)`` and ``a_k = eq(row part)[:R]``, the ``eq`` table of the row part
*truncated* to its first ``R`` entries: the terms ``i >= R`` vanish because ``F`` is zero beyond
row ``R``. That is not an assumption about the prover: the committed matrix is the definition of
``F``, whose entries from ``R C`` on are zero by definition, so every claim the verifier checks is
a claim about the committed vector padded with zeros, and the identity above is exact. All
soundness arguments then apply to the ``R``-row matrix unchanged. (The tail ``[used, R C)`` of
the last row is committed like any other entry: zero for an honest prover and, like the whole
padding ``[used, 2^n)`` when every row was committed, not otherwise constrained by the PCS;
claims on blocks never involve it, and a claim on ``F`` is about the committed vector.)

Commitments made of parts (:class:`zkinfer.commit.base.Parts`, ``S`` parts of ``2^m``
entries): view ``F`` again as a matrix of ``2^(n - log C)`` rows and ``C <= 2^m`` columns. Part
``s`` occupies rows ``[s 2^m / C, (s + 1) 2^m / C)``, and it commits the first ``R_s`` of them,
the global rows ``I_s = [s 2^m / C, s 2^m / C + R_s)``; every other row of ``F`` (the rest of each
part, and the parts ``S .. 2^(n - m) - 1`` of the padding) is zero by definition. The committed
matrix ``M`` stacks the rows of ``I_0, I_1, ...`` in that order (``R = sum R_s`` rows; its row
``k`` is the global row ``idx[k]``). The identity above becomes

    ``F(z_k) = sum_i eq(row part, i) <F_i, b_k> = sum_{r < R} eq(row part, idx[r]) <M_r, b_k>
    = a_k^T M b_k``

with ``a_k = eq(row part)`` *gathered* at ``idx`` (``a_k[r] = eq(row part, idx[r])``): the rows
outside ``idx`` are zero, so their terms vanish. The plain case is ``idx = [0, R)``, the
truncation above; as there, this is exact by the definition of ``F`` from the committed
matrix, and everything else (``gamma`` of ``R`` entries, the proximity test, the column checks)
is the opening of the ``R x C`` matrix ``M`` unchanged. Splitting the row part as ``(p, q)``,
``p`` its first ``n - m`` coordinates (which part) and ``q`` the other ``m - log C`` (which row
of the part), ``eq(row part, s 2^m / C + i) = eq(p, s) eq(q, i)``: :func:`row_coefficients`
builds ``a_k`` from ``eq(p)`` truncated to ``S`` entries and ``eq(q)`` truncated to
``max R_s``, without the ``2^(n - log C)``-entry table.

Claims with identical column parts form a *group* ``g`` (in order of first appearance) sharing
``b_g``; the group's row vector is ``A_g = sum_{k in g} rho_k a_k`` (``R`` entries) and its
claimed value ``V_g = sum_{k in g} rho_k v_k``.
"""

from __future__ import annotations

import hashlib
import struct
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
    "eq_tables",
    "eq_halves",
    "eq_truncated",
    "row_coefficients",
    "group_values",
    "absorb_proximity_value",
    "check_coefficients",
    "absorb_rows",
    "grinding_seed",
    "proof_of_work",
    "meets_difficulty",
    "find_nonce",
    "absorb_nonce",
    "draw_queries",
    "absorb_opened",
]

U64 = npt.NDArray[np.uint64]

_LABEL_RHO = b"ligero/claim-coefficients"
_LABEL_GAMMA = b"ligero/proximity-coefficients"
_LABEL_S = b"ligero/proximity-value"
_LABEL_BETA = b"ligero/proximity-weight"
_LABEL_U = b"ligero/rows"
_LABEL_NONCE = b"ligero/grinding-nonce"
_LABEL_QUERIES = b"ligero/column-queries"
_POW_PERSON = b"zkinfer-lig-pow1"
_POW_BYTES = 8
_NONCE = struct.Struct("<Q")
_LABEL_OPENED = b"ligero/opened-columns"


@dataclass(frozen=True, eq=False)
class Groups:
    """Claims split into row and column parts, grouped by column part.

    Attributes:
        row_points: per claim, the first ``n - log C`` coordinates of its global point.
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


def eq_halves(points: U64) -> tuple[U64, U64]:
    """``eq`` tables of the high and low halves of each point: ``(K, 2^h, 2)``, ``(K, 2^l, 2)``.

    ``points`` is ``(K, m, 2)``, ``h = m - l``, ``l = floor(m / 2)``; then
    ``eq(p)[i 2^l + j] = eq(p[:h])[i] eq(p[h:])[j]``. Both halves are built by one
    :func:`eq_tables` call on ``2K`` points of ``h`` coordinates: an odd ``m`` gives the low half
    a leading coordinate ``0``, whose table is ``[eq(p[h:]), 0]``.
    """
    num, m = points.shape[0], points.shape[1]
    h = m - m // 2
    low = np.zeros((num, h, 2), dtype=np.uint64)
    low[:, h - m // 2 :] = points[:, h:]
    tables = eq_tables(np.concatenate([points[:, :h], low]))  # (2K, 2^h, 2)
    return tables[:num], tables[num:, : 1 << (m // 2)]


def eq_tables(points: U64) -> U64:
    """``eq(p_k, x)`` for all ``x`` in ``{0,1}^m``, for each of ``K`` points: ``(K, 2^m, 2)``.

    Same order as :func:`zkinfer.poly.multilinear.eq_table` (first coordinate = most significant
    index bit). Vectorized over the points, and ``O(log m)`` numpy steps instead of ``m``: the
    table is the tensor product of the two halves' tables (:func:`eq_halves`), recursively.
    """
    num, m = points.shape[0], points.shape[1]
    if m <= 1:
        table = ext.ones((num, 1))
        with np.errstate(over="ignore"):
            for i in range(m):
                hi = ext.mul_unchecked(table, points[:, i][:, None, :])  # t * r_i
                lo = gl.sub_unchecked(table, hi)  # t * (1 - r_i)
                table = np.stack([lo, hi], axis=2).reshape(num, -1, 2)
        return table
    high, low = eq_halves(points)
    with np.errstate(over="ignore"):
        return ext.mul_unchecked(high[:, :, None, :], low[:, None, :, :]).reshape(num, -1, 2)


def eq_truncated(points: U64, count: int) -> U64:
    """``eq(p_k)[:count]`` for each of ``K`` points ``(K, m, 2)``: shape ``(K, count, 2)``.

    Only the entries below ``count`` are built: the high half's table is cut to the entries
    that reach one (:func:`eq_halves`), then multiplied out.
    """
    num, m = points.shape[0], points.shape[1]
    if not 1 <= count <= 1 << m:
        raise ValueError(f"{count} entries of an eq table of {m} coordinates")
    log_low = m // 2
    keep = -(-count >> log_low)
    high, low = eq_halves(points)
    with np.errstate(over="ignore"):
        table = ext.mul_unchecked(high[:, :keep, None, :], low[:, None, :, :])
    return table.reshape(num, -1, 2)[:, :count]


def _group_runs(groups: Groups, num_claims: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The claims sorted by group (stable) and where each group's run starts in that order."""
    group_of = np.empty(num_claims, dtype=np.int64)
    for g, members in enumerate(groups.members):
        group_of[list(members)] = g
    order = np.argsort(group_of, kind="stable")
    bounds = np.searchsorted(group_of[order], np.arange(len(groups.members) + 1))
    return order, bounds


def _add_runs(out: U64, table: U64, bounds: npt.NDArray[np.int64], start: int) -> None:
    """``out[g] += sum`` of the rows of ``table`` (claims ``start ..`` in group order) in group
    ``g``'s run."""
    runs = np.clip(bounds - start, 0, table.shape[0])
    for g in np.flatnonzero(runs[1:] > runs[:-1]):
        out[g] = gl.add_unchecked(out[g], gl.sum(table[runs[g] : runs[g + 1]], axis=0))


def row_coefficients(groups: Groups, rho: U64, rows: int | Sequence[int]) -> U64:
    """``A_g = sum_{k in g} rho_k a_k`` for every group: ``(G, R, 2)``.

    Arguments:
        groups: the claims grouped by column point.
        rho: the claim coefficients, ``(K, 2)``.
        rows: which rows of ``F`` are committed (:attr:`LigeroCommitment.row_layout
            <zkinfer.commit.ligero.proof.LigeroCommitment.row_layout>`): ``R`` for a plain
            commitment (``a_k = eq(row point)[:R]``, the table truncated), or the rows
            ``(R_0, ..., R_{S-1})`` of each part of a commitment made of parts (``a_k`` the
            table gathered at the committed rows, ``R = sum R_s``); see the module docstring.

    Vectorized over claims: a tensor product of half-size tables, then one exact sum per group.
    """
    if not isinstance(rows, (int, np.integer)):
        return _gathered_row_coefficients(groups, rho, tuple(int(r) for r in rows))
    num_rows = int(rows)
    points = np.stack(groups.row_points)  # (K, m, 2)
    num_claims, m = points.shape[0], points.shape[1]
    if not 1 <= num_rows <= 1 << m:
        raise ValueError(f"{num_rows} rows for {m} row coordinates")
    log_low = m // 2
    keep = -(-num_rows >> log_low)  # high-half entries that reach a row < R
    order, bounds = _group_runs(groups, num_claims)
    out = np.zeros((len(groups.members), num_rows, 2), dtype=np.uint64)
    chunk = max(1, (1 << 20) // (keep << log_low))  # bound the temporary tables to ~16 MB
    with np.errstate(over="ignore"):
        for start in range(0, num_claims, chunk):
            idx = order[start : start + chunk]
            high, low = eq_halves(points[idx])
            # rho_k eq(high_k)[:keep] (x) eq(low_k), truncated to R rows
            high = ext.mul_unchecked(high[:, :keep], rho[idx][:, None, :])
            table = ext.mul_unchecked(high[:, :, None, :], low[:, None, :, :])
            table = table.reshape(len(idx), -1, 2)[:, :num_rows]
            # claims of one group are consecutive in ``order``: sum each run exactly
            _add_runs(out, table, bounds, start)
    return out


def _gathered_row_coefficients(groups: Groups, rho: U64, part_rows: tuple[int, ...]) -> U64:
    """:func:`row_coefficients` of a commitment made of parts: ``a_k[r] = eq(p_k)[part of r]
    eq(q_k)[row of r in its part]`` (see the module docstring)."""
    points = np.stack(groups.row_points)  # (K, h, 2)
    num_claims, h = points.shape[0], points.shape[1]
    num_parts = len(part_rows)
    sel = (num_parts - 1).bit_length()  # n - m: the coordinates that select the part
    local = h - sel  # m - log C: a row within the part
    if not part_rows or local < 0 or any(not 1 <= r <= 1 << local for r in part_rows):
        raise ValueError(f"part rows {part_rows} for {h} row coordinates")
    total = sum(part_rows)
    part_of = np.repeat(np.arange(num_parts), part_rows)  # (R,): the part of each committed row
    starts = np.cumsum((0,) + part_rows[:-1])
    row_in_part = np.arange(total) - np.repeat(starts, part_rows)  # (R,): its row in the part
    order, bounds = _group_runs(groups, num_claims)
    out = np.zeros((len(groups.members), total, 2), dtype=np.uint64)
    chunk = max(1, (1 << 20) // max(total, max(part_rows), num_parts))  # ~16 MB temporaries
    with np.errstate(over="ignore"):
        for start in range(0, num_claims, chunk):
            idx = order[start : start + chunk]
            # rho_k eq(p_k)[s] for s < S, and eq(q_k)[i] for i < max R_s
            which = ext.mul_unchecked(eq_truncated(points[idx, :sel], num_parts),
                                      rho[idx][:, None, :])
            within = eq_truncated(points[idx, sel:], max(part_rows))
            table = ext.mul_unchecked(which[:, part_of], within[:, row_in_part])  # (k, R, 2)
            _add_runs(out, table, bounds, start)
    return out


def group_values(groups: Groups, claims: Sequence[tuple[int | None, U64, U64]],
                 rho: U64) -> U64:
    """``V_g = sum_{k in g} rho_k v_k`` for every group: shape ``(G, 2)``."""
    values = np.stack([np.asarray(c[2], dtype=np.uint64).reshape(2) for c in claims])
    out = np.empty((len(groups.members), 2), dtype=np.uint64)
    with np.errstate(over="ignore"):
        prods = ext.mul_unchecked(rho[: len(claims)], values)  # rho_k v_k, all claims at once
        for g, members in enumerate(groups.members):
            out[g] = gl.sum(prods[list(members)], axis=0)
    return out


def absorb_proximity_value(transcript: Transcript, value: U64) -> U64:
    """Step 2: absorb ``s = <gamma^T M, b_0>`` (shape ``(2,)``); draw and return ``beta``."""
    transcript.append_ext(_LABEL_S, value)
    return transcript.challenge_ext(_LABEL_BETA)


def check_coefficients(groups: Groups, rho: U64, gamma: U64, beta: U64,
                       rows: int | Sequence[int] | None = None) -> U64:
    """The row combinations the sent rows must equal: ``(G, R, 2)`` (``R = len(gamma)``), row 0
    being ``A_0 + beta gamma`` and row ``g >= 1`` being ``A_g``; ``rows`` as for
    :func:`row_coefficients` (default ``R``: a plain commitment)."""
    coeffs = row_coefficients(groups, rho, gamma.shape[0] if rows is None else rows)
    if coeffs.shape[1] != gamma.shape[0]:
        raise ValueError(f"{coeffs.shape[1]} committed rows, {gamma.shape[0]} coefficients")
    with np.errstate(over="ignore"):
        # c_0 = A_0 + beta gamma
        coeffs[0] = gl.add_unchecked(coeffs[0], ext.mul_unchecked(gamma, np.broadcast_to(beta, gamma.shape)))
    return coeffs


def absorb_rows(transcript: Transcript, u_rows: U64) -> None:
    """Step 3: absorb the rows ``u_g`` (``(G, C, 2)``)."""
    transcript.append_ext(_LABEL_U, u_rows)


def grinding_seed(transcript: Transcript, bits: int) -> bytes:
    """Step 4: the puzzle, ``state || u8(bits)``, from the transcript state after the rows.

    Arguments:
        transcript: in the state after :func:`absorb_rows` (it is not changed).
        bits: the difficulty ``g`` (``0..MAX_GRINDING_BITS``, checked by the parameters).

    Returns:
        The seed bytes both sides hash with the nonce.
    """
    return transcript.digest() + bytes((bits,))


def proof_of_work(seed: bytes, nonce: int) -> int:
    """``PoW(seed, nonce)``: BLAKE2b-64 (personalized) of ``seed || u64le(nonce)``, big-endian.

    Arguments:
        seed: from :func:`grinding_seed`.
        nonce: in ``[0, 2^64)``.

    Returns:
        The 64-bit value; ``g`` leading zero bits means ``value < 2^(64 - g)``.
    """
    h = hashlib.blake2b(seed, digest_size=_POW_BYTES, person=_POW_PERSON)
    h.update(_NONCE.pack(nonce))
    return int.from_bytes(h.digest(), "big")


def meets_difficulty(seed: bytes, nonce: int, bits: int) -> bool:
    """Whether ``nonce`` solves the puzzle: ``PoW(seed, nonce) < 2^(64 - bits)`` (one hash).

    Arguments:
        seed: from :func:`grinding_seed`.
        nonce: the prover's nonce, in ``[0, 2^64)``.
        bits: the difficulty ``g``.

    Returns:
        ``True`` when the first ``bits`` bits of the hash are zero (always for ``bits = 0``).
    """
    if not 0 <= nonce < 1 << 64:
        return False
    return bits == 0 or proof_of_work(seed, nonce) >> (64 - bits) == 0


def find_nonce(seed: bytes, bits: int) -> int:
    """The prover's search: the smallest nonce that :func:`meets_difficulty` (deterministic).

    ``2^bits`` attempts on average, one ``hashlib`` call per attempt (a copy of the hash state
    that has absorbed the seed, then the nonce): about 0.5 microseconds each.

    Arguments:
        seed: from :func:`grinding_seed`.
        bits: the difficulty ``g``.

    Returns:
        The nonce.

    Raises:
        RuntimeError: no nonce below ``2^64`` (probability ``(1 - 2^-g)^(2^64)``: never).
    """
    if bits == 0:
        return 0
    # PoW < 2^(64 - g)  <=>  its 8 big-endian bytes < those of 2^(64 - g) (same length)
    bound = (1 << (64 - bits)).to_bytes(_POW_BYTES, "big")
    copy = hashlib.blake2b(seed, digest_size=_POW_BYTES, person=_POW_PERSON).copy
    pack = _NONCE.pack
    for nonce in range(1 << 64):
        h = copy()
        h.update(pack(nonce))
        if h.digest() < bound:
            return nonce
    raise RuntimeError("no grinding nonce found")  # pragma: no cover


def absorb_nonce(transcript: Transcript, nonce: int) -> None:
    """Step 4, last: absorb the nonce (``u64``) before the queries are drawn."""
    transcript.append_int(_LABEL_NONCE, nonce)


def draw_queries(transcript: Transcript, length: int, queries: int) -> list[int]:
    """Step 5: ``queries`` uniform indices in ``[0, length)``; returns the distinct ones, sorted."""
    return sorted(set(transcript.challenge_indices(_LABEL_QUERIES, length, queries)))


def absorb_opened(transcript: Transcript, columns: U64, siblings: Sequence[bytes]) -> None:
    """Step 6: absorb ``SHA-256(columns || siblings)``."""
    h = hashlib.sha256(np.ascontiguousarray(columns, dtype="<u8").tobytes())
    for s in siblings:
        h.update(s)
    transcript.append_bytes(_LABEL_OPENED, h.digest())
