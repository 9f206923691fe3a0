"""WHIR verifier (numpy + hashlib only; imports no numba).

:func:`verify` replays the transcript of :func:`zkinfer.commit.whir.prover.open_proof` and runs
the checks of the package docstring, raising :class:`~zkinfer.errors.VerificationError` with
``check`` one of ``"params"``, ``"shape"``, ``"sumcheck"``, ``"grinding"``, ``"queries"`` (the
number of opened leaves is not the number of distinct drawn indices), ``"merkle"``,
``"final polynomial"``, ``"final sumcheck"``. The statement is in ``F_p2``; every value the
verifier derives from a challenge is an ``F_p4`` element (:class:`~zkinfer.field.quartic.Fp4`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from zkinfer.commit.ligero import merkle
from zkinfer.commit.whir import _common as C
from zkinfer.commit.whir.params import WhirParams
from zkinfer.commit.whir.proof import WhirCommitment, WhirProof
from zkinfer.errors import FieldRangeError, VerificationError
from zkinfer.field import extension as ext
from zkinfer.field import quartic as q
from zkinfer.field.quartic import Fp4
from zkinfer.transcript import Transcript

__all__ = ["verify", "verify_rounds"]

U64 = npt.NDArray[np.uint64]


_INV2 = Fp4(2).inverse()


def _interp2(h: U64, a: Fp4) -> Fp4:
    """``h(a)`` for the degree-2 polynomial with ``h(0), h(1), h(2)`` = rows of ``h``."""
    h0, h1, h2 = (Fp4.from_array(h[0]), Fp4.from_array(h[1]), Fp4.from_array(h[2]))
    inv2 = _INV2
    return (h0 * (a - 1) * (a - 2) * inv2 - h1 * a * (a - 2) + h2 * a * (a - 1) * inv2)


def verify(params: WhirParams, commitment: WhirCommitment, point: npt.ArrayLike,
           value: npt.ArrayLike, proof: WhirProof | bytes, transcript: Transcript) -> None:
    """Check a proof that the committed multilinear takes ``value`` at ``point``.

    Arguments:
        params: the public parameters (they fix the schedule and the query counts).
        commitment: the commitment (a :class:`WhirCommitment` or its bytes).
        point: ``(m, 2)`` extension point ``z``.
        value: ``(2,)`` extension element ``y``.
        proof: a :class:`WhirProof` or its bytes.
        transcript: the caller's transcript, in the state the prover's was.

    Raises:
        ProofFormatError: ``proof`` or ``commitment`` bytes do not decode.
        VerificationError: a check failed (``check`` names it, ``round`` the WHIR round).
    """
    if isinstance(commitment, (bytes, bytearray, memoryview)):
        commitment = WhirCommitment.from_bytes(bytes(commitment))
    if isinstance(proof, (bytes, bytearray, memoryview)):
        proof = WhirProof.from_bytes(bytes(proof))
    if (commitment.m, commitment.k, commitment.log_inv_rate) != (
            params.m, params.k, params.log_inv_rate):
        raise VerificationError("params", "commitment made with other parameters")
    try:
        z = ext.as_ext(point, "point")
        y = ext.as_ext(value, "value").reshape(2)
    except (FieldRangeError, ValueError) as exc:
        raise VerificationError("shape", f"statement: {exc}") from None
    if z.shape != (params.m, 2):
        raise VerificationError("shape", f"point of shape {z.shape}, expected ({params.m}, 2)")
    C.absorb_statement(transcript, params, commitment, z, y)
    root = commitment.root

    def open_first(indices: list[int], leaves: U64) -> U64:
        return _open_leaves(params, 0, indices, leaves, list(proof.rounds[0].siblings), root)

    verify_rounds(params, Fp4.from_array(y), [(q.ones(1), q.from_ext(z)[None], 0)], proof,
                  open_first, transcript)


def _open_leaves(params: WhirParams, i: int, indices: list[int], leaves: U64,
                 siblings: list[bytes], root: bytes) -> U64:
    """Check round ``i``'s opened leaves against ``root`` (``"queries"``, ``"merkle"``);
    returns them as ``F_p4`` elements ``(Q, 2^(k_i), 4)``."""
    width = 1 << params.folds()[i]
    if leaves.shape[:2] != (len(indices), width) or leaves.ndim != (2 if i == 0 else 3):
        raise VerificationError("queries", "opened leaves against the drawn indices", round=i,
                                expected=(len(indices), width), got=leaves.shape[:2])
    flat = leaves.reshape(len(indices), -1)
    depth = params.num_leaves(i).bit_length() - 1
    got_root = merkle.root_from_multiproof(depth, indices, merkle.hash_columns(flat, 1), siblings)
    if got_root != root:
        raise VerificationError("merkle", "opened leaves do not open the root", round=i)
    return leaves if i else q.from_base(leaves)


def verify_rounds(params: WhirParams, sigma: Fp4, groups: list[tuple[U64, U64, int]],
                  proof: WhirProof, open_first: Callable[[list[int], U64], U64],
                  transcript: Transcript) -> None:
    """Check the rounds of a proof of ``sum_b w(b) f(b) = sigma`` once the statement is absorbed.

    Arguments:
        params: the parameters.
        sigma: the claimed weighted sum (``F_p4``).
        groups: the initial weight ``w = sum_t coefs[t] eq(points[t], .)`` as one group
            ``(coefs (T, 4), points (T, m, 4), 0)`` (``F_p4``).
        proof: the proof (its sizes are checked against the schedule: ``"shape"``).
        open_first: ``open_first(indices, leaves)`` checks round 0's opened leaves against the
            caller's commitment and returns the values of ``g_0`` they stand for, ``F_p4``
            ``(Q, 2^(k_0), 4)`` (raising ``"queries"`` or ``"merkle"``).
        transcript: in the state after the statement.

    Raises:
        VerificationError: a check failed (module docstring).
    """
    folds = params.folds()
    m_final = params.final_vars
    if len(proof.rounds) != len(folds):
        raise VerificationError("shape", "number of rounds", expected=len(folds),
                                got=len(proof.rounds))
    if proof.final.shape != (1 << m_final, 4):
        raise VerificationError("shape", "final polynomial size", expected=1 << m_final,
                                got=proof.final.shape[0])
    groups = list(groups)
    alphas: list[U64] = []
    root = b""
    for i, (k_i, rd) in enumerate(zip(folds, proof.rounds)):
        last = i == len(folds) - 1
        if rd.sumcheck.shape != (k_i, 3, 4):
            raise VerificationError("shape", "sumcheck messages", round=i, expected=(k_i, 3, 4),
                                    got=rd.sumcheck.shape)
        if last != (rd.root is None) or last != (rd.ood_answer is None) or not last and (
                len(rd.root) != 32 or np.shape(rd.ood_answer) != (4,)):
            raise VerificationError("shape", "next root and OOD answer", round=i)
        alpha_i = np.empty((k_i, 4), dtype=np.uint64)
        for j in range(k_i):
            h = rd.sumcheck[j]
            total = Fp4.from_array(h[0]) + Fp4.from_array(h[1])
            if total != sigma:
                raise VerificationError("sumcheck", f"h(0) + h(1) of fold {j}", round=i,
                                        expected=sigma, got=total)
            alpha_i[j] = C.absorb_sumcheck(transcript, h)
            sigma = _interp2(h, Fp4.from_array(alpha_i[j]))
        alphas.append(alpha_i)
        if not last:
            z_ood = C.absorb_root(transcript, rd.root)
            C.absorb_ood(transcript, rd.ood_answer)
        else:
            C.absorb_final(transcript, proof.final)
        if params.pow_bits:
            if not C.pow_digest_ok(C.grinding_seed(transcript), rd.nonce, params.pow_bits):
                raise VerificationError("grinding", "nonce misses the difficulty", round=i)
            C.absorb_nonce(transcript, rd.nonce)
        elif rd.nonce != 0:
            raise VerificationError("grinding", "non-zero nonce without grinding", round=i)
        indices = C.query_indices(transcript, params.queries(i), params.num_leaves(i))
        if i == 0:
            leaves = open_first(indices, rd.leaves)
        else:
            leaves = _open_leaves(params, i, indices, rd.leaves, list(rd.siblings), root)
        x0, ys = C.query_points(params, i, indices)
        folded = C.fold_leaves(leaves, x0, alpha_i)  # claimed f^_(i+1)(y_q)
        m_next = params.num_vars(i + 1)
        y_points = q.from_base(C.base_pow_point(ys, m_next))
        if not last:
            coefs = C.combination_powers(C.absorb_combination(transcript), len(indices))
            answers = np.concatenate([rd.ood_answer[None], folded])
            sigma = sigma + Fp4.from_array(q.sum(q.mul(coefs, answers)))
            pts = np.concatenate([C.pow_point(z_ood, m_next)[None], y_points])
            groups.append((coefs, pts, i + 1))
            root = rd.root
        else:
            expected = C.eval_coeffs(proof.final, y_points)
            bad = np.nonzero(np.any(expected != folded, axis=1))[0]
            if bad.size:
                b = int(bad[0])
                raise VerificationError("final polynomial", f"fold of leaf {indices[b]}",
                                        round=i, expected=Fp4.from_array(expected[b]),
                                        got=Fp4.from_array(folded[b]))
    # sum_b f_R(b) w_R(b) with every weight term split into its bound head and free tail
    total = Fp4.ZERO
    for coefs, pts, s in groups:
        bound = np.concatenate(alphas[s:]) if s < len(alphas) else np.zeros((0, 4), np.uint64)
        nb = bound.shape[0]
        eqs = C.eq_rows(pts[:, :nb], bound)
        tails = C.eval_coeffs(proof.final, np.ascontiguousarray(pts[:, nb:]))
        total = total + Fp4.from_array(q.sum(q.mul(q.mul(coefs, eqs), tails)))
    if total != sigma:
        raise VerificationError("final sumcheck", "sum of f_R times the weights", expected=total,
                                got=sigma)
