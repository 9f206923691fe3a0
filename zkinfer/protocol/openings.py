"""Prove any number of evaluation claims on one batch commitment with one PCS opening.

A claim is a linear combination ``sum_j c_j F_{k_j}(p_j) = v`` of evaluations of polynomials of
one commitment (:class:`Combination`; a plain :class:`~zkinfer.commit.base.OpeningClaim` is one term
with ``c = 1``). Each polynomial is a block of the concatenated vector ``F``
(:class:`zkinfer.commit.base.Layout`), so a term is ``c_j F(g_j)`` at the global point
``g_j = (prefix bits of block k_j, p_j)``. The verifier draws ``gamma``; a degree-2 sumcheck shows

    sum_x W(x) F(x) = sum_i gamma^i v_i,    W(x) = sum_i gamma^i sum_{j in claim i} c_j eq(g_j, x),

and ends at ``r*`` with one opening ``F(r*)`` (the PCS) and ``W(r*)``, which the verifier computes
in ``O(J n)`` for ``J`` terms (vectorized over the terms). ``W`` is zero outside the claimed
blocks; the prover builds it block by block, one eq table per distinct point.

Soundness error: ``K / p^2`` for ``K`` claims (the combination) + ``2 n / p^2`` (the sumcheck)
+ the PCS's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from zkinfer.codec import Reader, Writer
from zkinfer.commit.base import PCS, Commitment, OpeningClaim, OpeningProof, ProverData
from zkinfer.errors import VerificationError
from zkinfer.field import extension as ext
from zkinfer.protocol.relation import Step
from zkinfer.sumcheck.common import Expression, SumcheckProof
from zkinfer.transcript import Transcript

__all__ = ["Combination", "OpeningsProof", "prove_openings", "verify_openings"]

U64 = npt.NDArray[np.uint64]
_EXPR = Expression.product(2)
_LABEL_GAMMA = b"openings/gamma"
_LABEL_COMMITMENT = b"openings/commitment"
_LABEL_CLAIMS = b"openings/claims"
_LABEL_VALUE = b"openings/value"
#: A decoded PCS opening is at most this many bytes.
MAX_OPENING_BYTES = 1 << 31


def _eq_many(points: U64, r: U64) -> U64:
    """``eq(points[j], r)`` for every ``j`` (``points`` ``(J, n, 2)``, ``r`` ``(n, 2)``)."""
    acc = ext.ones((points.shape[0],))
    one = ext.ones(())
    for k in range(points.shape[1]):
        x = points[:, k]
        rk = np.broadcast_to(r[k], x.shape)
        # x r + (1 - x)(1 - r)
        term = ext.add(ext.mul(x, rk), ext.mul(ext.sub(one, x), ext.sub(one, rk)))
        acc = ext.mul(acc, term)
    return acc


@dataclass(frozen=True, eq=False)
class OpeningsProof(Step, kind="opening"):
    """The batching sumcheck, ``F(r*)``, and the PCS opening at ``r*``."""

    sumcheck: SumcheckProof
    value: U64
    opening: OpeningProof

    def write(self, w: Writer) -> None:
        self.sumcheck.write(w)
        w.ext(self.value)
        opening = self.opening
        w.bytes(opening if isinstance(opening, bytes) else opening.to_bytes())

    @classmethod
    def read(cls, r: Reader) -> OpeningsProof:
        """The PCS opening stays bytes: the verifier's PCS decodes it (strictly) when it
        verifies it."""
        sc = SumcheckProof.read(r)
        value = r.ext(1)[0]
        return cls(sc, value, r.bytes(MAX_OPENING_BYTES))

    def sumchecks(self) -> list[SumcheckProof]:
        return [self.sumcheck]


@dataclass(frozen=True, eq=False)
class Combination:
    """``sum_j coeff_j poly_j(point_j) == value`` on one commitment.

    Attributes:
        terms: ``(poly, point, coeff)``: polynomial index (``None``: all of ``F``), extension
            point ``(n_poly, 2)`` and extension coefficient ``(2,)``.
        value: extension element ``(2,)``.
    """

    terms: tuple[tuple[int | None, U64, U64], ...]
    value: U64


_Item = tuple[list[tuple[int | None, U64, U64]], U64]


def _normalize(claims: Sequence[OpeningClaim | Combination]) -> list[_Item]:
    out = []
    for c in claims:
        if isinstance(c, Combination):
            terms = [(None if poly is None else int(poly),
                      ext.as_ext(np.asarray(pt, dtype=np.uint64).reshape(-1, 2), "claim point"),
                      ext.as_ext(np.asarray(co, dtype=np.uint64).reshape(2), "coefficient"))
                     for poly, pt, co in c.terms]
            value = c.value
        else:
            point = ext.as_ext(np.asarray(c.point, dtype=np.uint64).reshape(-1, 2), "claim point")
            terms = [(None if c.poly is None else int(c.poly), point, ext.ones(()))]
            value = c.value
        out.append((terms, ext.as_ext(np.asarray(value, dtype=np.uint64).reshape(2),
                                      "claim value")))
    return out


def _absorb(transcript: Transcript, commitment_bytes: bytes, items: list[_Item]) -> None:
    """Absorb the commitment and every claim (term counts, polynomial indices, points,
    coefficients, values) as one framed message."""
    counts = np.array([len(t) for t, _ in items], dtype="<u4")
    polys = np.array([0 if p is None else p + 1 for t, _ in items for p, _, _ in t], dtype="<u4")
    dims = np.array([pt.shape[0] for t, _ in items for _, pt, _ in t], dtype="<u4")
    points = [pt.reshape(-1) for t, _ in items for _, pt, _ in t]
    coeffs = [co for t, _ in items for _, _, co in t]
    values = [v for _, v in items]
    blob = b"".join([
        len(items).to_bytes(4, "little"), counts.tobytes(), polys.tobytes(), dims.tobytes(),
        np.concatenate(points).astype("<u8").tobytes() if points else b"",
        np.stack(coeffs).astype("<u8").tobytes() if coeffs else b"",
        np.stack(values).astype("<u8").tobytes() if values else b"",
    ])
    transcript.append_bytes(_LABEL_COMMITMENT, commitment_bytes)
    transcript.append_bytes(_LABEL_CLAIMS, blob)


def _gamma_powers(transcript: Transcript, count: int) -> U64:
    """``gamma^0 .. gamma^(count-1)`` by repeated doubling of a vectorized product."""
    gamma = transcript.challenge_ext(_LABEL_GAMMA)
    powers = ext.ones((1,))
    step = gamma
    while powers.shape[0] < count:
        powers = np.concatenate([powers, ext.mul(powers, np.broadcast_to(step, powers.shape))])
        step = ext.mul(step, step)
    return np.ascontiguousarray(powers[:count])


def prove_openings(
    pcs: PCS,
    commitment: Commitment,
    data: ProverData,
    claims: Sequence[OpeningClaim],
    transcript: Transcript,
    progress=None,
) -> OpeningsProof:
    """Prove every claim (all values given) on the committed batch with one opening.

    ``progress(step, done, total)``, if given, reports ``"batching claims"`` (entries of the
    ``eq`` tables built and added to ``W``, point by point), ``"batching sumcheck"`` (percent of
    the sumcheck's work, counted from the rounds absorbed by a
    :class:`~zkinfer.progress.Listenable` transcript) and then the PCS opening's own steps if
    its ``open`` takes ``progress``. The proof does not depend on it.
    """
    from zkinfer.poly import fast
    from zkinfer.progress import listening
    from zkinfer.protocol import _kernels as K
    from zkinfer.sumcheck.prover import prove

    layout = data.layout
    items = _normalize(claims)
    _absorb(transcript, commitment.to_bytes(), items)
    g = _gamma_powers(transcript, len(items))
    # W and F are zero from the end of the last block on: both are passed at that length
    w = np.zeros((layout.used, 2), dtype=np.uint64)
    # terms grouped by point: one eq table per distinct point, alive only while it is used
    by_point: dict[bytes, tuple[U64, list]] = {}
    for gk, (terms, _) in zip(g, items):
        for poly, point, coeff in terms:
            start = 0 if poly is None else layout.offsets[poly]
            entry = by_point.setdefault(point.tobytes(), (point, []))
            entry[1].append((start, ext.mul(gk, coeff)))
    # progress in entries of W written (an eq table of 2^n entries per point, once per use)
    work = sum((1 << point.shape[0]) * (1 + len(uses)) for point, uses in by_point.values())
    done = 0
    if progress is not None:
        progress("batching claims", 0, work)
    for point, uses in by_point.values():
        table = fast.eq_table(point)
        for start, a in uses:
            # W += gamma^i c_j eq(p_j, .) on block k_j
            K.ext_axpy(w[start: start + table.shape[0]], a[0], a[1], table)
        del table
        step = (1 << point.shape[0]) * (1 + len(uses))
        # report every 1/128 of the work or so (thousands of small points would flood it)
        if progress is not None and ((done + step) * 128 // work > done * 128 // work
                                     or done + step == work):
            progress("batching claims", done + step, work)
        done += step
    with listening(transcript, _round_counter(progress, layout.total_vars)):
        out = prove([w, data.vector[: layout.used]], _EXPR, transcript,
                    num_vars=layout.total_vars)
    value = out.evaluations[1].copy()
    transcript.append_ext(_LABEL_VALUE, value)
    final = [OpeningClaim(None, out.point, value)]
    opening = pcs.open(data, final, transcript, progress=progress)
    return OpeningsProof(out.proof, value, opening)


def _round_counter(progress, num_vars: int):
    """A transcript listener reporting ``("batching sumcheck", percent, 100)`` as round ``j``
    of ``n`` is absorbed. The percentages follow the measured cost (MiniLM's openings): the
    first round reads ``F`` in the base field without embedding it (about 11%); the first fold
    then writes both tables in the extension and the second round reads them (about 60%);
    from there each round halves the tables, so round ``j >= 2`` leaves ``29% / 2^(j-2)``."""
    if progress is None:
        return None
    from zkinfer.sumcheck.common import _LABEL_ROUND

    rounds = [0]
    progress("batching sumcheck", 0, 100)

    def listen(label: bytes) -> None:
        if label == _LABEL_ROUND:
            rounds[0] += 1
            j = rounds[0]
            pct = 11 if j == 1 else int(100 - 29 * 0.5 ** (j - 2))
            progress("batching sumcheck", 100 if j >= num_vars else pct, 100)

    return listen


def verify_openings(
    pcs: PCS,
    commitment: Commitment,
    claims: Sequence[OpeningClaim],
    proof: OpeningsProof,
    transcript: Transcript,
    check: str = "openings",
) -> None:
    """Verify all claims on ``commitment``.

    Raises:
        VerificationError: a claim is malformed, the batching sumcheck fails, ``W(r*) F(r*)``
            does not match its last round, or the PCS opening is rejected.
    """
    from zkinfer.sumcheck.verifier import verify

    layout = commitment.layout
    items = _normalize(claims)
    global_points, owners, coeffs = [], [], []
    for i, (terms, _) in enumerate(items):
        for poly, point, coeff in terms:
            try:
                global_points.append(layout.global_point(poly, point))
            except ValueError as exc:
                raise VerificationError(check, f"malformed claim: {exc}") from None
            owners.append(i)
            coeffs.append(coeff)
    _absorb(transcript, commitment.to_bytes(), items)
    g = _gamma_powers(transcript, len(items))
    total = ext.sum(ext.mul(g, np.stack([v for _, v in items])), axis=0) if items \
        else ext.zeros(())
    r, final = verify(total, layout.total_vars, _EXPR, proof.sumcheck, transcript, check=check)
    # W(r*) = sum_i gamma^i sum_j c_j eq(g_j, r*), all terms at once
    if global_points:
        e = _eq_many(np.stack(global_points), r)
        weights = ext.mul(g[np.array(owners)], np.stack(coeffs))
        w = ext.sum(ext.mul(weights, e), axis=0)
    else:
        w = ext.zeros(())
    value = ext.as_ext(proof.value, "opened value")
    got = ext.mul(w, value)
    if not np.array_equal(got, final):
        raise VerificationError(check, "final evaluation W(r*) F(r*) does not match",
                                expected=tuple(map(int, final)), got=tuple(map(int, got)))
    transcript.append_ext(_LABEL_VALUE, value)
    pcs.verify(commitment, [OpeningClaim(None, r, value)], proof.opening, transcript)
