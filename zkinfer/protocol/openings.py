"""Prove any number of evaluation claims on one batch commitment with one PCS opening.

Claims ``F_k(p_k) = v_k`` on polynomials of one commitment (each a block of the concatenated
vector ``F``, :class:`zkinfer.commit.base.Layout`) become claims on ``F`` at the global points
``g_k = (prefix bits of block k, p_k)``. The verifier draws ``gamma``; a degree-2 sumcheck shows

    sum_x W(x) F(x) = sum_k gamma^k v_k,    W(x) = sum_k gamma^k eq(g_k, x),

and ends at ``r*`` with one opening ``F(r*)`` (the PCS) and ``W(r*)``, which the verifier computes
in ``O(K n)``. ``W`` is zero outside the claimed blocks; the prover builds it block by block,
one eq table per distinct point.

Soundness error: ``K / p^2`` (the combination) + ``2 n / p^2`` (the sumcheck) + the PCS's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from zkinfer.commit.base import PCS, Claim, Commitment, OpeningProof, ProverData, absorb_claims
from zkinfer.errors import VerificationError
from zkinfer.field import extension as ext
from zkinfer.poly.multilinear import eq_eval
from zkinfer.sumcheck.common import Expression, SumcheckProof
from zkinfer.transcript import Transcript

__all__ = ["OpeningsProof", "prove_openings", "verify_openings"]

U64 = npt.NDArray[np.uint64]
_EXPR = Expression.product(2)
_LABEL_GAMMA = b"openings/gamma"
_LABEL_VALUE = b"openings/value"


@dataclass(frozen=True, eq=False)
class OpeningsProof:
    """The batching sumcheck, ``F(r*)``, and the PCS opening at ``r*``."""

    sumcheck: SumcheckProof
    value: U64
    opening: OpeningProof


def _normalize(claims: Sequence[Claim]) -> list[tuple[int | None, U64, U64]]:
    out = []
    for c in claims:
        point = ext.as_ext(np.asarray(c.point, dtype=np.uint64).reshape(-1, 2), "claim point")
        value = ext.as_ext(np.asarray(c.value, dtype=np.uint64).reshape(2), "claim value")
        out.append((None if c.poly is None else int(c.poly), point, value))
    return out


def _gamma_powers(transcript: Transcript, count: int) -> U64:
    gamma = transcript.challenge_ext(_LABEL_GAMMA)
    powers = [ext.ones(())]
    for _ in range(count - 1):
        powers.append(ext.mul(powers[-1], gamma))
    return np.stack(powers)


def prove_openings(
    pcs: PCS,
    commitment: Commitment,
    data: ProverData,
    claims: Sequence[Claim],
    transcript: Transcript,
) -> OpeningsProof:
    """Prove every claim (all values given) on the committed batch with one opening."""
    from zkinfer.poly import fast
    from zkinfer.protocol import _kernels as K
    from zkinfer.sumcheck.prover import prove

    layout = data.layout
    items = _normalize(claims)
    absorb_claims(transcript, commitment.to_bytes(), items)
    g = _gamma_powers(transcript, len(items))
    w = np.zeros((layout.size, 2), dtype=np.uint64)
    eq_cache: dict[bytes, U64] = {}
    for gk, (poly, point, _) in zip(g, items):
        key = point.tobytes()
        if key not in eq_cache:
            eq_cache[key] = fast.eq_table(point)
        start = 0 if poly is None else layout.offsets[poly]
        block = slice(start, start + (1 << point.shape[0]))
        # W += gamma^k eq(p_k, .) on block k
        K.ext_axpy(w[block], gk[0], gk[1], eq_cache[key])
    out = prove([w, data.vector], _EXPR, transcript)
    value = out.evaluations[1].copy()
    transcript.append_ext(_LABEL_VALUE, value)
    opening = pcs.open(data, [Claim(None, out.point, value)], transcript)
    return OpeningsProof(out.proof, value, opening)


def verify_openings(
    pcs: PCS,
    commitment: Commitment,
    claims: Sequence[Claim],
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
    global_points = []
    for poly, point, _ in items:
        try:
            global_points.append(layout.global_point(poly, point))
        except ValueError as exc:
            raise VerificationError(check, f"malformed claim: {exc}") from None
    absorb_claims(transcript, commitment.to_bytes(), items)
    g = _gamma_powers(transcript, len(items))
    total = ext.sum(ext.mul(g, np.stack([v for _, _, v in items])), axis=0)
    r, final = verify(total, layout.total_vars, _EXPR, proof.sumcheck, transcript, check=check)
    # W(r*) = sum_k gamma^k eq(g_k, r*)
    w = ext.zeros(())
    for gk, gp in zip(g, global_points):
        w = ext.add(w, ext.mul(gk, eq_eval(gp, r)))
    value = ext.as_ext(proof.value, "opened value")
    got = ext.mul(w, value)
    if not np.array_equal(got, final):
        raise VerificationError(check, "final evaluation W(r*) F(r*) does not match",
                                expected=tuple(map(int, final)), got=tuple(map(int, got)))
    transcript.append_ext(_LABEL_VALUE, value)
    pcs.verify(commitment, [Claim(None, r, value)], proof.opening, transcript)
