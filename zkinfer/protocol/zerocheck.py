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

from zkinfer.codec import Reader, Writer
from zkinfer.errors import VerificationError
from zkinfer.field import extension as ext
from zkinfer.poly.multilinear import eq_eval
from zkinfer.protocol.relation import Step
from zkinfer.sumcheck.common import Expression, SumcheckProof, with_eq
from zkinfer.transcript import Transcript

__all__ = ["ZerocheckProof", "prove_zerocheck", "verify_zerocheck", "with_eq"]

U64 = npt.NDArray[np.uint64]
_LABEL_TAU = b"zerocheck/tau"
_LABEL_EVALS = b"zerocheck/evals"
#: A decoded zero-check carries at most this many end evaluations (columns of one group).
MAX_EVALUATIONS = 1 << 16


@dataclass(frozen=True, eq=False)
class ZerocheckProof(Step, kind="zero-check"):
    """The sumcheck and the end evaluations ``f_j(r)`` (shape ``(k, 2)``)."""

    sumcheck: SumcheckProof
    evaluations: U64

    def write(self, w: Writer) -> None:
        self.sumcheck.write(w)
        w.ext_vec(self.evaluations)

    @classmethod
    def read(cls, r: Reader) -> ZerocheckProof:
        sc = SumcheckProof.read(r)
        return cls(sc, r.ext_vec(MAX_EVALUATIONS))

    def sumchecks(self) -> list[SumcheckProof]:
        return [self.sumcheck]


def prove_zerocheck(
    tables: Sequence[npt.ArrayLike], expr: Expression, transcript: Transcript
) -> tuple[ZerocheckProof, U64]:
    """Prove ``expr(tables[.](x)) == 0`` on the whole cube.

    Returns:
        The proof and the end point ``r`` (shape ``(n, 2)``); the claims are
        ``tables[j](r) == proof.evaluations[j]``.
    """
    from zkinfer.poly import fast
    from zkinfer.sumcheck.prover import prove_eq

    n = int(np.asarray(tables[0]).shape[0]).bit_length() - 1
    tau = transcript.challenge_exts(_LABEL_TAU, n)
    full = with_eq(expr)
    merged = _merge_linear(tables, expr)
    # the messages of the sumcheck of eq(tau, .) E over [eq table, tables], without the eq table
    if merged is None:
        out = prove_eq(tau, tables, expr, transcript, statement=full)
        evals = np.ascontiguousarray(out.evaluations)
    else:
        work, rewritten, kept = merged
        out = prove_eq(tau, work, rewritten, transcript, statement=full)
        # the verifier wants every table at the end point: the kept ones come from the
        # sumcheck, the others (only in merged linear terms) are evaluated directly
        evals = np.empty((len(tables), 2), dtype=np.uint64)
        for j in range(len(tables)):
            evals[j] = out.evaluations[1 + kept.index(j)] if j in kept else \
                fast.evaluate(tables[j], out.point)
    transcript.append_ext(_LABEL_EVALS, evals)
    return ZerocheckProof(out.proof, evals), out.point


def _merge_linear(tables, expr: Expression):
    """Prover speed-up: fold all single-table terms ``c_t f_j`` into one table
    ``M = sum c_t f_j`` so each sumcheck round evaluates one table instead of many terms.

    Returns ``(tables, expression, kept)`` over ``[M, kept tables...]`` or ``None``.
    """
    from zkinfer.protocol import _kernels as K

    linear = [(c, t[0]) for c, t in zip(expr.coeffs, expr.terms) if len(t) == 1]
    if len(linear) < 2 or any(np.asarray(t).ndim != 1 for t in tables):
        return None
    rest = [(c, t) for c, t in zip(expr.coeffs, expr.terms) if len(t) > 1]
    kept = sorted({j for _, t in rest for j in t})
    rows = np.ascontiguousarray(np.stack([np.asarray(tables[j], dtype=np.uint64)
                                          for _, j in linear]))
    weights = np.array([c for c, _ in linear], dtype=np.uint64).reshape(-1, 2)
    m = np.empty((rows.shape[1], 2), dtype=np.uint64)
    K.combine_rows(rows, weights, m)  # M[x] = sum_t c_t f_t[x]
    terms = [(0,)] + [tuple(1 + kept.index(j) for j in t) for _, t in rest]
    coeffs = [(1, 0)] + [c for c, _ in rest]
    rewritten = Expression(1 + len(kept), tuple(terms), tuple(coeffs))
    if rewritten.degree != expr.degree:
        return None  # every term was linear except none of higher degree: keep it simple
    return [m, *[tables[j] for j in kept]], rewritten, kept


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
