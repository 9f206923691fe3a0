"""Matrix products by sumcheck (Thaler): ``C = A B`` proven in ``O(|A| + |B|)``, not ``O(MACs)``.

Statement: ``A`` is ``m x k``, ``B`` is ``k x n`` (all powers of two; pad with zeros), and the
verifier already holds a point ``(r_i, r_j)`` and the value ``c = C~(r_i, r_j)`` (drawn after ``C``
was fixed: committed, public, or claimed by a later relation). Then

    c = sum_{y in {0,1}^(log k)} A~(r_i, y) B~(y, r_j)

is a degree-2 sumcheck over ``log k`` variables on the tables ``a[y] = A~(r_i, y)`` (``m k``
products with ``eq(r_i)``) and ``b[y] = B~(y, r_j)`` (``k n`` products). It ends at ``r_y`` with the
two evaluations ``A~(r_i, r_y)`` and ``B~(r_y, r_j)``, which the prover sends and the verifier
returns as :class:`~zkinfer.protocol.claims.Claim` objects for the caller to prove.

Matrices are row-major tables: ``A[i, y]`` is entry ``i k + y``, so the row variables come first
in a point (``(r_i, r_y)``).

Integer soundness: if the entries of ``A`` and ``B`` are range-checked integers with
``k max|A| max|B| < p / 2``, the field identity implies the integer one.

Soundness error: ``2 log k / p^2`` (the sumcheck).

The relation :class:`MatmulRel` of a circuit, ``out = left @ right + Ind_rows (x) bias``: the
verifier draws ``(r_i, r_j)`` for ``out`` and the prover sends ``out~(r_i, r_j)``; the bias term
``Ind_rows~(r_i) bias~(r_j)`` (``Ind_rows`` the indicator of the real rows; a public vector) is
computed by the verifier and subtracted, and the rest is the product above. Soundness:
``log(rows cols) / p^2`` for the point (a wrong ``out`` agrees with the right one there with at
most this probability) plus the sumcheck's ``2 log k / p^2``. Its step (:class:`ProductStep`)
is the value and the :class:`MatmulProof`; it leaves three claims (``out``, ``left``, ``right``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from zkinfer.codec import Reader, Writer
from zkinfer.errors import FieldRangeError, VerificationError
from zkinfer.field import extension as ext
from zkinfer.field import goldilocks as gl
from zkinfer.poly.multilinear import eq_prefix_sum, evaluate, num_vars
from zkinfer.protocol.claims import Claim
from zkinfer.protocol.relation import (
    ProverContext,
    Relation,
    Step,
    Terms,
    VerifierContext,
    expect,
    log2,
)
from zkinfer.sumcheck.common import Expression, SumcheckProof
from zkinfer.transcript import Transcript

__all__ = ["MatmulProof", "ProductStep", "MatmulRel", "prove_matmul", "verify_matmul"]

U64 = npt.NDArray[np.uint64]
_EXPR = Expression.product(2)
_LABEL_DIMS = b"matmul/dims"
_LABEL_EVALS = b"matmul/evals"


@dataclass(frozen=True, eq=False)
class MatmulProof:
    """The sumcheck over ``y`` and the two end evaluations ``A~(r_i, r_y)``, ``B~(r_y, r_j)``."""

    sumcheck: SumcheckProof
    a_eval: U64
    b_eval: U64


@dataclass(frozen=True, eq=False)
class ProductStep(Step, tag=1, kind="product"):
    """A product relation's step: the output's value at the random point, and the proof of the
    product (a matrix product, an embedding, a contraction)."""

    value: U64
    proof: MatmulProof

    def write(self, w: Writer) -> None:
        w.ext(self.value)
        self.proof.sumcheck.write(w)
        w.ext(self.proof.a_eval)
        w.ext(self.proof.b_eval)

    @classmethod
    def read(cls, r: Reader) -> ProductStep:
        value = r.ext(1)[0]
        sc = SumcheckProof.read(r)
        a, b = r.ext(1)[0], r.ext(1)[0]
        return cls(value, MatmulProof(sc, a, b))

    def sumchecks(self) -> list[SumcheckProof]:
        return [self.proof.sumcheck]


def _dims(m: int, k: int, n: int) -> tuple[int, int, int]:
    return num_vars(m), num_vars(k), num_vars(n)


def _begin(transcript: Transcript, m: int, k: int, n: int) -> None:
    transcript.append_bytes(_LABEL_DIMS, b"".join(int(d).to_bytes(8, "little") for d in (m, k, n)))


def prove_matmul(
    a: npt.ArrayLike,
    b: npt.ArrayLike,
    point: npt.ArrayLike,
    transcript: Transcript,
    names: tuple[str, str] = ("A", "B"),
) -> tuple[MatmulProof, list[Claim]]:
    """Prove ``C~(r_i, r_j) = sum_y A~(r_i, y) B~(y, r_j)``.

    Arguments:
        a: ``(m, k)`` field matrix (signed integers encoded with ``encode_signed``).
        b: ``(k, n)`` field matrix.
        point: ``(r_i, r_j)``, shape ``(log m + log n, 2)``.
        transcript: shared transcript (the caller has absorbed ``C``'s commitment or value).
        names: names of ``A`` and ``B`` in the returned claims.

    Returns:
        The proof and the claims ``[A~(r_i, r_y), B~(r_y, r_j)]``.

    Raises:
        FieldRangeError: shapes that are not powers of two or do not chain.
    """
    from zkinfer.poly import fast
    from zkinfer.protocol import _kernels as K
    from zkinfer.sumcheck.prover import prove

    A = np.ascontiguousarray(gl.as_field(a, "a"))
    B = np.ascontiguousarray(gl.as_field(b, "b"))
    if A.ndim != 2 or B.ndim != 2 or A.shape[1] != B.shape[0]:
        raise FieldRangeError(f"matmul: shapes {A.shape} and {B.shape} do not chain")
    m, k = A.shape
    n = B.shape[1]
    lm, _, ln = _dims(m, k, n)
    pt = ext.as_ext(point, "point")
    if pt.shape != (lm + ln, 2):
        raise FieldRangeError(f"matmul: point has {pt.shape[0]} variables, expected {lm + ln}")
    r_i, r_j = np.ascontiguousarray(pt[:lm]), np.ascontiguousarray(pt[lm:])
    a_tab = np.empty((k, 2), dtype=np.uint64)
    b_tab = np.empty((k, 2), dtype=np.uint64)
    K.combine_rows(A, fast.eq_table(r_i), a_tab)  # a[y] = sum_i eq(r_i, i) A[i, y]
    K.combine_cols(B, fast.eq_table(r_j), b_tab)  # b[y] = sum_j B[y, j] eq(r_j, j)
    _begin(transcript, m, k, n)
    out = prove([a_tab, b_tab], _EXPR, transcript)
    a_eval, b_eval = out.evaluations
    transcript.append_ext(_LABEL_EVALS, out.evaluations)
    proof = MatmulProof(out.proof, a_eval.copy(), b_eval.copy())
    return proof, _claims(names, r_i, r_j, out.point, a_eval, b_eval)


def verify_matmul(
    shape: tuple[int, int, int],
    point: npt.ArrayLike,
    value: npt.ArrayLike,
    proof: MatmulProof,
    transcript: Transcript,
    names: tuple[str, str] = ("A", "B"),
    check: str = "matmul",
) -> list[Claim]:
    """Check the sumcheck of ``value = C~(r_i, r_j) = sum_y A~(r_i, y) B~(y, r_j)``.

    Arguments:
        shape: ``(m, k, n)`` from the statement (never from the proof).
        point: ``(r_i, r_j)``; value: ``C~(r_i, r_j)``.
        proof: the prover's :class:`MatmulProof`.

    Returns:
        The claims ``[A~(r_i, r_y), B~(r_y, r_j)]``; the caller must prove both.

    Raises:
        VerificationError: a round fails, or ``A~ B~ != s_last(r_last)``.
    """
    from zkinfer.sumcheck.verifier import check_final, verify

    m, k, n = shape
    lm, lk, ln = _dims(m, k, n)
    pt = ext.as_ext(point, "point")
    if pt.shape != (lm + ln, 2):
        raise VerificationError(check, "point has the wrong number of variables",
                                expected=lm + ln, got=pt.shape[0])
    _begin(transcript, m, k, n)
    r_y, final = verify(value, lk, _EXPR, proof.sumcheck, transcript, check=check)
    evals = np.stack([ext.as_ext(proof.a_eval, "a_eval"), ext.as_ext(proof.b_eval, "b_eval")])
    # s_last(r_last) == A~(r_i, r_y) * B~(r_y, r_j)
    check_final(_EXPR, final, evals, check=check)
    transcript.append_ext(_LABEL_EVALS, evals)
    return _claims(names, pt[:lm], pt[lm:], r_y, evals[0], evals[1])


def _claims(names, r_i, r_j, r_y, a_eval, b_eval) -> list[Claim]:
    return [
        Claim(names[0], np.concatenate([r_i, r_y]), np.asarray(a_eval)),
        Claim(names[1], np.concatenate([r_y, r_j]), np.asarray(b_eval)),
    ]


@dataclass(frozen=True)
class MatmulRel(Relation):
    """``out = left @ right (+ Ind_rows (x) bias)`` (module docstring).

    ``left`` is ``(m, k)`` and ``right`` ``(k, n)`` (padded), trace or weight columns; ``bias``
    names a public vector of the circuit.
    """

    out: str
    left: str
    right: str
    bias: str | None = None

    Step = ProductStep

    def _bias(self, circuit, r: U64) -> U64:
        """``Ind_rows~(r_i) bias~(r_j)`` at the output point ``r = (r_i, r_j)``."""
        if self.bias is None:
            return ext.zeros(())
        out = circuit.trace[self.out]
        r_i, r_j = r[: out.bits[0]], r[out.bits[0]:]
        return ext.mul(eq_prefix_sum(r_i, out.shape[0]), evaluate(circuit.vectors[self.bias], r_j))

    def prove(self, ctx: ProverContext) -> ProductStep:
        out = ctx.output_claim(self.out)
        proof, claims = prove_matmul(ctx.matrix(self.left), ctx.matrix(self.right), out.point,
                                     ctx.transcript, names=(self.left, self.right))
        ctx.claims += claims
        return ProductStep(out.value, proof)

    def verify(self, ctx: VerifierContext, step: ProductStep) -> None:
        check = f"matmul {self.out}"
        expect(step, ProductStep, self.out, "a product proof")
        out = ctx.output_claim(self.out, step.value)
        left, right = ctx.circuit.col(self.left), ctx.circuit.col(self.right)
        shape = (left.padded_shape[0], left.padded_shape[1], right.padded_shape[1])
        product = ext.sub(out.value, self._bias(ctx.circuit, out.point))
        ctx.claims += verify_matmul(shape, out.point, product, step.proof, ctx.transcript,
                                    names=(self.left, self.right), check=check)

    def terms(self, circuit) -> Terms:
        # the point on out; the sum over the inner dimension, degree 2
        return Terms(points=circuit.trace[self.out].num_vars,
                     sumchecks=2 * log2(circuit.col(self.left).padded_shape[1]), claims=3)
