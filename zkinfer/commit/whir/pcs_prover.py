"""Prover side of :class:`~zkinfer.commit.whir.scheme.WhirPCS`: commit, commit a part, join,
open (Numba kernels; the verifier never imports this module).

See :mod:`zkinfer.commit.whir.scheme` for the protocol. A plain batch is committed by the core
(:func:`zkinfer.commit.whir.prover.commit`) on ``F`` padded to ``2^max(n, 1)``; a part is
encoded and its leaves hashed alone (:func:`commit_part`), and :func:`join` builds the tree of
``H(0x02 || d_(0,j) || ... || d_(S-1,j))``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from zkinfer.commit.base import (
    Layout,
    OpeningClaim,
    PartData,
    Parts,
    ProverData,
    check_pieces,
    part_vector,
    prover_claims,
)
from zkinfer.commit.ligero import merkle
from zkinfer.commit.whir import prover as P
from zkinfer.commit.whir import scheme as S
from zkinfer.commit.whir.pcs_params import WhirPCSParams
from zkinfer.field import extension as ext
from zkinfer.poly import fast
from zkinfer.transcript import Transcript

__all__ = ["WhirBatchData", "WhirPartData", "WhirPartsData", "commit", "commit_part", "join",
           "open_claims"]

U64 = npt.NDArray[np.uint64]


def _check_size(params: WhirPCSParams, n: int, what: str) -> int:
    m = max(n, 1)
    if m > params.max_vars:
        raise ValueError(f"{what} of 2^{n} entries: these WHIR parameters commit functions of "
                         f"at most {params.max_vars} variables (max_vars)")
    return m


class WhirBatchData(ProverData):
    """Prover-only state of a plain batch: the layout, ``F``, the core's data, the commitment."""

    def __init__(self, params: WhirPCSParams, layout: Layout, vector: U64, core: P.WhirProverData,
                 commitment: S.WhirPCSCommitment) -> None:
        self.params = params
        self.layout = layout
        self.vector = vector
        self.core = core
        self.commitment = commitment

    def evaluate(self, poly: int | None, point: npt.ArrayLike) -> U64:
        """``poly(point)``, shape ``(2,)``."""
        pt = ext.as_ext(np.asarray(point, dtype=np.uint64).reshape(-1, 2), "point")
        self.layout.check_claim_shape(poly, pt)
        return fast.evaluate(self.layout.block(self.vector, poly), pt)


class WhirPartData(PartData):
    """One part committed alone: its vector, its codeword's leaves ``(N, 2^k)`` (a
    :class:`~zkinfer.commit.whir.prover.LeafStore`, in memory or in a file) and their digests
    ``(N, 32)``."""

    def __init__(self, params: WhirPCSParams, parts: Parts, index: int, values: U64, leaves: U64,
                 digests: npt.NDArray[np.uint8]) -> None:
        self.params = params
        self.parts = parts
        self.index = index
        self.values = values
        self.leaves = leaves
        self.digests = digests

    @property
    def vector(self) -> U64:
        """The part's ``used[index]`` entries (read-only)."""
        return self.values

    def close(self) -> None:
        """Mark the part closed and drop its leaves (and their file)."""
        super().close()
        self.leaves.close()


class WhirPartsData(ProverData):
    """Prover-only state of a commitment made of parts: the parts, the joint tree, the
    commitment."""

    def __init__(self, params: WhirPCSParams, parts: Parts, pieces: Sequence[WhirPartData],
                 levels: list, commitment: S.WhirPCSCommitment) -> None:
        self.params = params
        self.parts = parts
        self.pieces = list(pieces)
        self.levels = levels
        self.commitment = commitment

    def close(self) -> None:
        """Close every part."""
        for piece in self.pieces:
            piece.close()

    @property
    def layout(self) -> Layout:
        """``parts.layout``."""
        return self.parts.layout

    @property
    def vector(self) -> U64:
        """``F``, the zero-padded parts concatenated (a copy, built on each access)."""
        return self.parts.concatenate([piece.values for piece in self.pieces])

    def part(self, index: int) -> U64:
        """Part ``index``'s vector: ``used[index]`` entries, read-only, no copy."""
        return self.pieces[self.parts.index(index)].values

    def evaluate(self, poly: int | None, point: npt.ArrayLike) -> U64:
        """``poly(point)``, shape ``(2,)``."""
        pt = ext.as_ext(np.asarray(point, dtype=np.uint64).reshape(-1, 2), "point")
        self.layout.check_claim_shape(poly, pt)
        if poly is None:
            return fast.evaluate(self.vector, pt)
        return P.evaluate_ext(self.part(poly), pt)


def commit(params: WhirPCSParams, polys: Sequence[npt.ArrayLike], progress=None
           ) -> tuple[S.WhirPCSCommitment, WhirBatchData]:
    """Commit a batch: ``F`` padded to ``2^max(n, 1)`` entries, by the WHIR core.

    Raises:
        FieldRangeError: a malformed table.
        ValueError: an empty batch, or more than ``max_vars`` variables.
    """
    layout, tables = Layout.of(polys)
    m = _check_size(params, layout.total_vars, "a batch")
    vector = layout.concatenate(tables)
    table = vector if layout.total_vars == m else np.concatenate(
        [vector, np.zeros((1 << m) - vector.shape[0], dtype=np.uint64)])
    core = params.core(m)
    if progress is not None:
        progress("WHIR commit", 0, 1)
    core_com, core_data = P.commit(core, table)
    if progress is not None:
        progress("WHIR commit", 1, 1)
    com = S.WhirPCSCommitment(layout, params.folding, params.log_inv_rate, core_com.root)
    return com, WhirBatchData(params, layout, vector, core_data, com)


def commit_part(params: WhirPCSParams, parts: Parts, index: int, vector: npt.ArrayLike,
                spill: str | None = None) -> WhirPartData:
    """Encode part ``index`` (its ``m``-variable function) and hash its leaves, one coset at a
    time (:func:`zkinfer.commit.whir.prover.encode_leaves`); ``spill``: a directory where the
    leaves go to a temporary file (removed when the part is closed or collected), else memory.

    Raises:
        ValueError: ``index`` out of range or a part of more than ``max_vars`` variables;
            ``FieldRangeError``: a malformed vector.
    """
    values = part_vector(parts, index, vector).copy()
    values.setflags(write=False)
    m = _check_size(params, parts.num_vars, "a part")
    core = params.core(m)
    table = np.zeros(1 << m, dtype=np.uint64)
    table[: values.shape[0]] = values
    leaves, digests = P.encode_leaves(core, 0, table, spill, inplace=True, used=values.shape[0])
    del table
    return WhirPartData(params, parts, int(index), values, leaves, digests)


def join(params: WhirPCSParams, parts: Parts, pieces: Sequence[WhirPartData]
         ) -> tuple[S.WhirPCSCommitment, WhirPartsData]:
    """One Merkle tree whose leaf ``j`` is ``H(0x02 || d_(0,j) || ... || d_(S-1,j))``.

    Raises:
        ValueError: pieces that do not fit (:func:`~zkinfer.commit.base.check_pieces`), or made
            with other parameters.
    """
    pieces = check_pieces(parts, pieces, WhirPartData, "whir")
    for s, piece in enumerate(pieces):
        if piece.params != params:
            raise ValueError(f"piece {s} was committed with other WHIR parameters")
    if any(p.digests is None for p in pieces):
        raise ValueError("a piece was joined already (join keeps no second copy of its digests)")
    levels = merkle.build(merkle.combine_part_leaves([p.digests for p in pieces]))
    for p in pieces:
        # the joint tree's leaves replace the parts' digests (32 bytes per leaf of each part:
        # 8 bytes per committed entry at rate 1/4, k = 4), which nothing reads after the join
        p.digests = None
    com = S.WhirPCSCommitment(parts.layout, params.folding, params.log_inv_rate,
                              levels[-1][0].tobytes(), parts)
    return com, WhirPartsData(params, parts, pieces, levels, com)


def _weight(m: int, terms: list[tuple[U64, int, U64]]) -> U64:
    """``W = sum_t c_t eq(p_t, .)`` on ``2^m`` entries (``F_p4``), each term given as ``(c_t,
    offset, z_t)`` (``c_t`` in ``F_p4``, ``z_t`` in ``F_p2``): ``eq(p_t, .)`` is ``eq(z_t, .)``
    on the block of ``2^len(z_t)`` entries at ``offset`` and zero elsewhere."""
    w = np.zeros((1 << m, 4), dtype=np.uint64)
    for coef, offset, z in terms:
        size = 1 << z.shape[0]
        P.add_eq(w[offset: offset + size], coef, z)
    return w


def open_claims(params: WhirPCSParams, data, claims: Sequence[OpeningClaim],
                transcript: Transcript, tamper: P.Tamper | None = None) -> S.WhirPCSProof:
    """Prove ``claims`` on a plain batch or a commitment made of parts.

    ``tamper`` is for tests only (:meth:`WhirPCS.open <zkinfer.commit.whir.scheme.WhirPCS.open>`
    never passes it): ``tamper(kind, round, value)`` may replace a message before it is
    absorbed, kind ``"values"`` (the parts' values ``(J, S, 2)``) or one of the core's
    (:func:`zkinfer.commit.whir.prover.open_proof`), so that the rest of the proof is computed
    honestly from the forged message.

    Raises:
        TypeError: ``data`` is not this scheme's prover data.
        ValueError: malformed claims, other parameters, or closed parts.
    """
    if not isinstance(data, (WhirBatchData, WhirPartsData)):
        raise TypeError("open needs the prover data returned by WhirPCS.commit or join")
    if data.params != params:
        raise ValueError("prover data committed with other WHIR parameters")
    if isinstance(data, WhirPartsData) and any(p.closed for p in data.pieces):
        raise ValueError("prover data whose parts are closed")
    checked = prover_claims(data, claims)
    com = data.commitment
    core = params.core(com.num_vars)
    m = core.m
    S.absorb_claims_and_start(transcript, com, checked, core)
    if isinstance(data, WhirBatchData):
        layout = data.layout
        coefs = S.claim_coefficients(transcript, len(checked))
        terms = []
        for c, (poly, point, _) in zip(coefs, checked, strict=True):
            offset = 0 if poly is None else layout.offsets[poly]
            terms.append((c, offset, point))
        f = data.core.evals
        tree = data.core.tree

        def open_first(indices: list[int]):
            return tree.leaves[indices], tuple(merkle.open_siblings(tree.levels, indices))

        stack, values = 0, np.zeros((0, 0, 2), dtype=np.uint64)
    else:
        parts = data.parts
        points, _ = S.part_points(parts, checked)
        padded = S.padded_points(points, m)
        # per part, one pass over its used entries: f_s(h, z_j[k_0:]) for every prefix h of
        # round 0's k_0 variables (round 0's sumcheck needs nothing else of the parts), and
        # from them e_(j,s) = f_s(z_j)
        k0 = core.folds()[0]
        prefixes = np.stack([P.prefix_tables(piece.values, padded, k0)
                             for piece in data.pieces], axis=1)  # (J, S, 2^k0, 2)
        values = np.stack([P.at_prefix(prefixes[:, s], padded) for s in range(parts.count)],
                          axis=1)
        if tamper is not None:
            values = tamper("values", 0, values)
        beta = S.absorb_values(transcript, values, parts.count)
        coefs = S.claim_coefficients(transcript, points.shape[0])
        # round 0 of f = sum_s beta_s f_s against W = sum_j c_j eq(z_j, .), streamed from the
        # parts' own vectors: no table of 2^m F_p4 entries
        first = P.StreamedRound0(m, [piece.values for piece in data.pieces], beta, coefs,
                                 padded, prefixes)
        levels = data.levels

        def open_first(indices: list[int]):
            leaves = np.stack([piece.leaves[indices] for piece in data.pieces], axis=1)
            return leaves, tuple(merkle.open_siblings(levels, indices))

        stack = parts.count
    if isinstance(data, WhirBatchData):
        proof = P.prove_rounds(core, f, _weight(m, terms), open_first, transcript, tamper)
    else:
        proof = P.prove_rounds(core, None, None, open_first, transcript, tamper, first)
    return S.WhirPCSProof(stack, values, proof)
