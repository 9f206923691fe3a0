"""Embedding look-up with public token ids, as a product with a public one-hot matrix.

``X[t, :] = E[ids_t, :]`` for the ``n`` real tokens (rows ``t >= n`` of ``X`` are zero) is
``X = A E`` with ``A[t, v] = [t < n and ids_t = v]`` (``N x V``, both padded to powers of two).
The matmul sumcheck (:mod:`zkinfer.protocol.matmul`) leaves the claims ``A~(r_t, r_v)`` and
``E~(r_v, r_c)``; the verifier evaluates the first itself from the public ids in
``O(n log V)`` (:func:`onehot_eval`), so ``A`` is never committed, and the second is proven
against the committed embedding table.

The prover's cost is the matmul's: ``O(N V + V D)`` for building the two sumcheck tables.

The relation :class:`OneHotRel` of a circuit: ``out[t] = table[ids[t]]`` with ``ids`` the public
token ids (or the positions ``0..n-1``, for learned position embeddings). The verifier draws the
point of ``out``, the prover sends ``out~`` there, and the product above proves it. Soundness:
``log(N D) / p^2`` for the point plus the sumcheck's ``2 log V / p^2``; it leaves two claims
(``out`` and the table).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from zkinfer.errors import FieldRangeError, InvalidArgumentError, VerificationError
from zkinfer.field import extension as ext
from zkinfer.poly.multilinear import eq_table, num_vars
from zkinfer.protocol.claims import Claim
from zkinfer.protocol.matmul import MatmulProof, ProductStep, prove_matmul, verify_matmul
from zkinfer.protocol.relation import (
    ProverContext,
    Relation,
    Terms,
    VerifierContext,
    expect,
    log2,
)
from zkinfer.statement import token_ids
from zkinfer.transcript import Transcript

__all__ = ["OneHotRel", "onehot", "onehot_eval", "prove_embedding", "verify_embedding"]

U64 = npt.NDArray[np.uint64]


def _check_ids(ids: npt.ArrayLike, rows: int, vocab: int) -> npt.NDArray[np.int64]:
    """The ids (:func:`zkinfer.statement.token_ids`) fit ``rows`` rows and ``vocab`` table rows.

    Raises:
        FieldRangeError: they do not.
    """
    try:
        arr = token_ids(ids, vocab)
    except InvalidArgumentError as exc:
        raise FieldRangeError(f"one-hot matrix of {rows} x {vocab}: {exc}") from None
    if arr.shape[0] > rows:
        raise FieldRangeError(f"one-hot matrix of {rows} x {vocab}: {arr.shape[0]} ids")
    return arr


def onehot(ids: npt.ArrayLike, rows: int, vocab: int) -> U64:
    """The ``rows x vocab`` matrix ``A[t, v] = [t < n and ids_t = v]`` (prover side)."""
    arr = _check_ids(ids, rows, vocab)
    a = np.zeros((rows, vocab), dtype=np.uint64)
    a[np.arange(arr.shape[0]), arr] = 1
    return a


def onehot_eval(ids: npt.ArrayLike, rows: int, vocab: int, point: npt.ArrayLike) -> U64:
    """``A~(r_t, r_v) = sum_{t < n} eq(r_t, t) eq(r_v, ids_t)`` in ``O(rows + n log vocab)``."""
    arr = _check_ids(ids, rows, vocab)
    lt, lv = num_vars(rows), num_vars(vocab)
    pt = ext.as_ext(point, "point")
    r_t, r_v = pt[:lt], pt[lt:]
    if r_v.shape[0] != lv:
        raise FieldRangeError("point does not match the one-hot matrix's shape")
    row_weights = eq_table(r_t)[: arr.shape[0]]  # eq(r_t, t) for t < n
    # eq(r_v, ids_t) = prod_k (r_k if bit_k(ids_t) else 1 - r_k), bit 1 most significant
    bits = (arr[:, None] >> np.arange(lv - 1, -1, -1)[None, :]) & 1
    one_minus = ext.sub(ext.ones(lv), r_v)
    factors = np.where(bits[..., None] == 1, r_v[None], one_minus[None])
    col_weights = ext.ones(arr.shape[0])
    for k in range(lv):
        col_weights = ext.mul(col_weights, factors[:, k])
    return ext.sum(ext.mul(row_weights, col_weights), axis=0) if arr.size else ext.zeros(())


def prove_embedding(
    ids: npt.ArrayLike, table: npt.ArrayLike, rows: int, point: npt.ArrayLike,
    transcript: Transcript, name: str = "embedding",
) -> tuple[MatmulProof, Claim]:
    """Prove ``X~(r_t, r_c) = sum_v A~(r_t, v) E~(v, r_c)``; returns the claim on ``E``."""
    e = np.asarray(table)
    proof, claims = prove_matmul(onehot(ids, rows, e.shape[0]), e, point, transcript,
                                 names=("onehot", name))
    return proof, claims[1]


def verify_embedding(
    ids: npt.ArrayLike, shape: tuple[int, int, int], point: npt.ArrayLike, value: npt.ArrayLike,
    proof: MatmulProof, transcript: Transcript, name: str = "embedding",
    check: str = "embedding",
) -> Claim:
    """Verify; ``shape = (rows, vocab, width)``. Returns the claim on the embedding table.

    Raises:
        VerificationError: the sumcheck fails or the one-hot claim disagrees with the ids.
    """
    claims = verify_matmul(shape, point, value, proof, transcript, names=("onehot", name),
                           check=check)
    want = onehot_eval(ids, shape[0], shape[1], claims[0].point)
    if not np.array_equal(want, claims[0].value):
        raise VerificationError(check, "the looked-up rows are not the public token ids",
                                expected=tuple(map(int, want)),
                                got=tuple(map(int, claims[0].value)))
    return claims[1]


@dataclass(frozen=True)
class OneHotRel(Relation):
    """``out[t] = table[ids[t]]`` for ``t < len(ids)``, zero rows after (``table`` a weight).

    ``ids_name``: ``"input"`` (the public token ids) or ``"positions"`` (``0..n-1``).
    """

    out: str
    table: str
    ids_name: str

    Step = ProductStep

    def _ids(self, ids: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        return ids if self.ids_name == "input" else np.arange(ids.shape[0], dtype=np.int64)

    def _shape(self, circuit) -> tuple[int, int, int]:
        table = circuit.weights[self.table]
        return (circuit.trace[self.out].padded_shape[0],) + table.padded_shape

    def prove(self, ctx: ProverContext) -> ProductStep:
        out = ctx.output_claim(self.out)
        proof, claim = prove_embedding(self._ids(ctx.ids), ctx.matrix(self.table),
                                       self._shape(ctx.circuit)[0], out.point, ctx.transcript,
                                       name=self.table)
        ctx.claims.append(claim)
        return ProductStep(out.value, proof)

    def verify(self, ctx: VerifierContext, step: ProductStep) -> None:
        expect(step, ProductStep, self.out, "a product proof")
        out = ctx.output_claim(self.out, step.value)
        ctx.claims.append(verify_embedding(self._ids(ctx.ids), self._shape(ctx.circuit),
                                           out.point, out.value, step.proof, ctx.transcript,
                                           name=self.table, check=f"embedding {self.out}"))

    def terms(self, circuit) -> Terms:
        return Terms(points=circuit.trace[self.out].num_vars,
                     sumchecks=2 * log2(circuit.weights[self.table].padded_shape[0]), claims=2)
