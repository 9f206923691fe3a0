"""Reduce many evaluation claims on one multilinear to a single claim at one point.

Claims ``F(p_k) = v_k`` (``k < K``, ``F`` with ``n`` variables): the verifier draws ``gamma``; the
prover shows

    sum_x W(x) F(x) = sum_k gamma^k v_k,   W(x) = sum_k gamma^k eq(p_k, x)

by a degree-2 sumcheck. It ends at ``r*`` with ``F(r*)`` (one opening, returned as a claim) and
``W(r*) = sum_k gamma^k eq(p_k, r*)``, which the verifier computes itself in ``O(K n)``.

Soundness error: ``(K - 1) / p^2`` for the random combination plus ``2 n / p^2``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from zkinfer.errors import VerificationError
from zkinfer.field import extension as ext
from zkinfer.poly.multilinear import eq_eval
from zkinfer.protocol.claims import Claim
from zkinfer.sumcheck.common import Expression, SumcheckProof
from zkinfer.transcript import Transcript

__all__ = ["BatchProof", "prove_batch", "verify_batch"]

U64 = npt.NDArray[np.uint64]
_EXPR = Expression.product(2)  # W * F
_LABEL_CLAIMS = b"batch/claims"
_LABEL_GAMMA = b"batch/gamma"
_LABEL_EVAL = b"batch/eval"


@dataclass(frozen=True, eq=False)
class BatchProof:
    """The sumcheck and ``F(r*)``."""

    sumcheck: SumcheckProof
    value: U64


def _begin(transcript: Transcript, claims: Sequence[Claim]) -> tuple[U64, U64]:
    """Absorb the claims, draw ``gamma``; return ``(gamma powers, combined value)``."""
    n = claims[0].point.shape[0]
    for c in claims:
        if c.point.shape != (n, 2):
            raise ValueError("batched claims must share the number of variables")
        transcript.append_ext(_LABEL_CLAIMS, np.concatenate([c.point, c.value[None]]))
    gamma = transcript.challenge_ext(_LABEL_GAMMA)
    powers = [ext.ones(())]
    for _ in range(len(claims) - 1):
        powers.append(ext.mul(powers[-1], gamma))
    g = np.stack(powers)
    total = ext.sum(ext.mul(g, np.stack([c.value for c in claims])), axis=0)
    return g, total


def prove_batch(
    table: npt.ArrayLike, claims: Sequence[Claim], transcript: Transcript
) -> tuple[BatchProof, Claim]:
    """Prove all ``claims`` on ``table`` (base ``(N,)`` or extension ``(N, 2)``) at once.

    Returns:
        The proof and the single remaining claim ``F(r*)``.
    """
    from zkinfer.poly import fast
    from zkinfer.sumcheck.prover import prove

    g, _ = _begin(transcript, claims)
    w = np.zeros((1 << claims[0].point.shape[0], 2), dtype=np.uint64)
    for gk, c in zip(g, claims):
        # W += gamma^k eq(p_k, .)
        w = ext.add(w, ext.mul(fast.eq_table(c.point), gk))
    out = prove([w, table], _EXPR, transcript)
    value = out.evaluations[1]
    transcript.append_ext(_LABEL_EVAL, value)
    return BatchProof(out.proof, value.copy()), Claim(claims[0].poly, out.point, value.copy())


def verify_batch(
    claims: Sequence[Claim], proof: BatchProof, transcript: Transcript, check: str = "batch"
) -> Claim:
    """Verify the reduction; returns the claim ``F(r*) = proof.value`` to open.

    Raises:
        VerificationError: a round fails, or ``W(r*) F(r*)`` does not match the last round.
    """
    from zkinfer.sumcheck.verifier import verify

    g, total = _begin(transcript, claims)
    n = claims[0].point.shape[0]
    point, final = verify(total, n, _EXPR, proof.sumcheck, transcript, check=check)
    # W(r*) = sum_k gamma^k eq(p_k, r*)
    w = ext.zeros(())
    for gk, c in zip(g, claims):
        w = ext.add(w, ext.mul(gk, eq_eval(c.point, point)))
    value = ext.as_ext(proof.value, "value")
    got = ext.mul(w, value)
    if not np.array_equal(got, final):
        raise VerificationError(check, "final evaluation W(r*) F(r*) does not match",
                                expected=tuple(map(int, final)), got=tuple(map(int, got)))
    transcript.append_ext(_LABEL_EVAL, value)
    return Claim(claims[0].poly, point, value)
