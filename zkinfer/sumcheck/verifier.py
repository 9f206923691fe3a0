"""Sumcheck verifier (numpy only: no numba, no prover code).

For each round ``j``: reject a round message with other than ``d`` values (``s_j(0), s_j(2),
..., s_j(d)``); take ``s_j(1) = claim - s_j(0)``; absorb the message; draw ``r_j``; set
``claim = s_j(r_j)``. At the end
the caller holds ``claim`` and the point ``r`` and must check ``claim == P(f_1(r), ..., f_k(r))``
against evaluations it trusts (PCS openings or a later relation): :func:`check_final` does this
for given evaluations.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from zkinfer.errors import VerificationError
from zkinfer.field import extension as ext
from zkinfer.field.goldilocks import P
from zkinfer.field.scalar import Fp2
from zkinfer.poly.univariate import interpolate_low_pair, interpolate_scalar
from zkinfer.sumcheck.common import Expression, SumcheckProof, begin, round_challenge_scalar, round_encodings
from zkinfer.transcript import Transcript

__all__ = ["verify", "check_final"]

U64 = npt.NDArray[np.uint64]


def _as_int_pair(a: npt.ArrayLike) -> tuple[int, int]:
    arr = np.asarray(a)
    return int(arr[0]), int(arr[1])


def verify(
    claim: npt.ArrayLike,
    num_vars: int,
    expr: Expression,
    proof: SumcheckProof,
    transcript: Transcript,
    *,
    check: str = "sumcheck",
) -> tuple[U64, U64]:
    """Replay the sumcheck of ``claim = sum_x P(f(x))`` over ``num_vars`` variables.

    Arguments:
        claim: the claimed sum ``S`` (extension, ``(2,)``).
        num_vars: ``n``, fixed by the statement (never taken from the proof).
        expr: ``P``; its degree bounds every round polynomial.
        proof: the prover's round messages.
        transcript: the verifier's copy of the transcript, in the same state as the prover's.
        check: the name errors carry (e.g. ``"matmul layer 2"``).

    Returns:
        ``(point, final_claim)``: ``r`` of shape ``(n, 2)`` and the value ``P(f(r))`` must equal.

    Raises:
        VerificationError: wrong number of rounds or a round message of the wrong degree (a
            false claim or round polynomial is caught where the caller checks the final claim).
    """
    current = ext.as_ext(np.asarray(claim, dtype=np.uint64), "claim").reshape(2)
    point, _, cur = verify_scalar(Fp2.from_array(current), num_vars, expr, proof, transcript,
                                  check=check)
    return point, cur.to_array()


def verify_scalar(
    claim: Fp2,
    num_vars: int,
    expr: Expression,
    proof: SumcheckProof,
    transcript: Transcript,
    *,
    check: str = "sumcheck",
) -> tuple[U64, list[tuple[int, int]], Fp2]:
    """:func:`verify` for callers that work on scalars (a GKR's layers): the claim an
    :class:`Fp2`; returns the point both as an array and as pairs of ints, and ``P(f(r))`` as
    an :class:`Fp2`. The same checks, errors and transcript calls.
    """
    msgs = proof.messages
    if msgs.ndim != 3 or msgs.shape[0] != num_vars:
        raise VerificationError(check, "wrong number of rounds",
                                expected=num_vars, got=int(msgs.shape[0]) if msgs.ndim else None)
    if msgs.shape[1] != expr.degree or msgs.shape[2] != 2:
        raise VerificationError(check, "round polynomial has the wrong degree", round=0,
                                expected=expr.degree, got=int(msgs.shape[1]))
    begin(transcript, num_vars, expr, claim.to_array())
    msgs = ext.as_ext(msgs, "round messages")  # validated once, absorbed round by round
    values = msgs.tolist()  # s_j(0), s_j(2), ..., s_j(d) as pairs of canonical ints
    encoded = round_encodings(msgs)
    challenges: list[tuple[int, int]] = []
    # the claim as a pair of ints; degrees 2 and 3 (every GKR layer's) interpolate in line
    cur = (claim[0], claim[1])
    low = expr.degree in (2, 3)
    for j in range(num_vars):
        s = values[j]
        s0 = s[0]
        # s_j(1) = claim - s_j(0): the check s_j(0) + s_j(1) = claim, true by construction
        s = [s0, ((cur[0] - s0[0]) % P, (cur[1] - s0[1]) % P), *s[1:]]
        r = round_challenge_scalar(transcript, encoded[j])  # two canonical ints
        challenges.append(r)
        # s_j(r_j)
        cur = interpolate_low_pair(s, r[0], r[1]) if low else tuple(interpolate_scalar(s, r))
    point = np.array(challenges, dtype=np.uint64).reshape(num_vars, 2)
    return point, challenges, Fp2(*cur)


def check_final(
    expr: Expression,
    final_claim: npt.ArrayLike,
    evaluations: npt.ArrayLike,
    *,
    check: str = "sumcheck",
) -> None:
    """Check ``final_claim == P(evaluations)``.

    Raises:
        VerificationError: the evaluations do not explain the final claim.
    """
    got = expr.evaluate(evaluations)
    want = np.asarray(final_claim, dtype=np.uint64)
    if not np.array_equal(got, want):
        raise VerificationError(check, "final evaluation P(f(r)) does not match",
                                expected=_as_int_pair(want), got=_as_int_pair(got))
