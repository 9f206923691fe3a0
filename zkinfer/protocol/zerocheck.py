"""Zero-checks: ``E(f_1(x), ..., f_k(x)) = 0`` for every ``x`` in the cube.

The verifier draws ``tau`` in ``F_p2^n``; the prover shows ``sum_x eq(tau, x) E(f(x)) = 0`` by a
sumcheck of degree ``1 + deg E`` (a non-zero ``E`` on the cube makes this sum a non-zero
multilinear polynomial in ``tau``, zero with probability ``<= n / p^2``). The sumcheck ends at
``r`` with claims ``f_j(r)`` for the caller; the verifier computes ``eq(tau, r)`` itself.

Many identities of one group are combined with powers of one random ``lambda`` by the caller
before calling this (one sumcheck per group).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from zkinfer.errors import VerificationError
from zkinfer.field import extension as ext
from zkinfer.poly.multilinear import eq_eval
from zkinfer.sumcheck.common import Expression, SumcheckProof
from zkinfer.transcript import Transcript

__all__ = ["ZerocheckProof", "prove_zerocheck", "verify_zerocheck", "with_eq"]

U64 = npt.NDArray[np.uint64]
_LABEL_TAU = b"zerocheck/tau"
_LABEL_EVALS = b"zerocheck/evals"


@dataclass(frozen=True, eq=False)
class ZerocheckProof:
    """The sumcheck and the end evaluations ``f_j(r)`` (shape ``(k, 2)``)."""

    sumcheck: SumcheckProof
    evaluations: U64


def with_eq(expr: Expression) -> Expression:
    """``eq * E``: table 0 becomes the eq table, the expression's tables shift up by one."""
    terms = tuple((0,) + tuple(j + 1 for j in t) for t in expr.terms)
    return Expression(expr.num_tables + 1, terms, expr.coeffs)


def prove_zerocheck(
    tables: Sequence[npt.ArrayLike], expr: Expression, transcript: Transcript
) -> tuple[ZerocheckProof, U64]:
    """Prove ``expr(tables[.](x)) == 0`` on the whole cube.

    Returns:
        The proof and the end point ``r`` (shape ``(n, 2)``); the claims are
        ``tables[j](r) == proof.evaluations[j]``.
    """
    from zkinfer.poly import fast
    from zkinfer.sumcheck.prover import prove

    n = int(np.asarray(tables[0]).shape[0]).bit_length() - 1
    tau = transcript.challenge_exts(_LABEL_TAU, n)
    out = prove([fast.eq_table(tau), *tables], with_eq(expr), transcript)
    evals = np.ascontiguousarray(out.evaluations[1:])
    transcript.append_ext(_LABEL_EVALS, evals)
    return ZerocheckProof(out.proof, evals), out.point


def verify_zerocheck(
    num_vars: int,
    expr: Expression,
    proof: ZerocheckProof,
    transcript: Transcript,
    check: str = "zerocheck",
) -> U64:
    """Verify; returns the point ``r`` at which ``proof.evaluations`` are claimed.

    Raises:
        VerificationError: a sumcheck round fails or ``eq(tau, r) E(f(r)) != s_last(r_last)``.
    """
    from zkinfer.sumcheck.verifier import verify

    tau = transcript.challenge_exts(_LABEL_TAU, num_vars)
    full = with_eq(expr)
    point, final = verify(ext.zeros(()), num_vars, full, proof.sumcheck, transcript, check=check)
    evals = ext.as_ext(proof.evaluations, "evaluations")
    if evals.shape != (expr.num_tables, 2):
        raise VerificationError(check, "wrong number of evaluations", expected=expr.num_tables,
                                got=evals.shape[0])
    # s_last(r_last) == eq(tau, r) * E(f(r))
    got = ext.mul(eq_eval(tau, point), expr.evaluate(evals))
    if not np.array_equal(got, final):
        raise VerificationError(check, "final evaluation eq(tau, r) E(f(r)) does not match",
                                expected=tuple(map(int, final)), got=tuple(map(int, got)))
    transcript.append_ext(_LABEL_EVALS, evals)
    return point
