"""A GKR argument for sums of fractions: ``sum_i p_i / q_i`` without committing any helper.

The leaves are two multilinears ``p, q`` with ``c`` variables. Layer ``k`` (``2^k`` entries) is
built from layer ``k + 1`` by pairing its halves ``L`` (top variable 0) and ``R`` (top variable 1):

    p_k(x) = p_{k+1}(0, x) q_{k+1}(1, x) + p_{k+1}(1, x) q_{k+1}(0, x)
    q_k(x) = q_{k+1}(0, x) q_{k+1}(1, x)

so the root ``(P, Q)`` satisfies ``P / Q = sum_i p_i / q_i`` (when no ``q_i`` is zero).

Going down, the verifier holds claims ``p_k(r), q_k(r)``; it draws ``lambda`` and checks by a
degree-3 sumcheck over ``k`` variables

    p_k(r) + lambda q_k(r) = sum_x eq(r, x) [pL qR + pR qL + lambda qL qR](x),

which ends at ``s`` with the four values ``pL(s), pR(s), qL(s), qR(s)`` (sent by the prover, checked
against the last round). It then draws ``mu`` and moves to the point ``(mu, s)`` of layer ``k + 1``:
``p_{k+1}(mu, s) = pL(s) + mu (pR(s) - pL(s))``, the same for ``q``. After ``c`` layers the caller
holds claims on the leaves at one point, to prove from the committed columns.

Soundness error: at most ``sum_k (3 k + 2) / p^2 <= (3 c^2 / 2 + 2 c) / p^2`` (sumchecks, the
``lambda`` and ``mu`` combinations).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from zkinfer.errors import VerificationError
from zkinfer.field import extension as ext
from zkinfer.poly.multilinear import eq_eval
from zkinfer.sumcheck.common import Expression, SumcheckProof
from zkinfer.transcript import Transcript

__all__ = ["FractionProof", "prove_fraction_sum", "verify_fraction_sum"]

U64 = npt.NDArray[np.uint64]

_LABEL_LEAVES = b"gkr/leaf-vars"
_LABEL_ROOT = b"gkr/root"
_LABEL_LAMBDA = b"gkr/lambda"
_LABEL_EVALS = b"gkr/layer-evals"
_LABEL_MU = b"gkr/mu"


def _layer_expression(lam: U64) -> Expression:
    # tables: 0 eq, 1 pL, 2 pR, 3 qL, 4 qR;  eq (pL qR + pR qL + lambda qL qR)
    return Expression(
        5,
        ((0, 1, 4), (0, 2, 3), (0, 3, 4)),
        ((1, 0), (1, 0), (int(lam[0]), int(lam[1]))),
    )


@dataclass(frozen=True, eq=False)
class FractionProof:
    """Root ``(P, Q)`` and, per layer, a sumcheck and ``[pL(s), pR(s), qL(s), qR(s)]``."""

    root: U64  # (2, 2): P then Q
    layers: tuple[tuple[SumcheckProof, U64], ...]


def _down(evals: U64, mu: U64) -> tuple[U64, U64]:
    """Claims on layer ``k + 1`` at ``(mu, s)`` from ``[pL, pR, qL, qR](s)``."""
    pl, pr, ql, qr = evals
    p = ext.add(pl, ext.mul(mu, ext.sub(pr, pl)))
    q = ext.add(ql, ext.mul(mu, ext.sub(qr, ql)))
    return p, q


def prove_fraction_sum(p: U64, q: U64, transcript: Transcript) -> tuple[FractionProof, U64, U64]:
    """Prove the root of the fraction tree of the leaves ``(p, q)`` (extension ``(2^c, 2)``).

    Returns:
        ``(proof, root, point)``: the root ``[P, Q]`` and the leaf point ``r`` (``(c, 2)``) at
        which the caller must prove ``p(r)`` and ``q(r)``. The verifier learns both leaf claims
        from :func:`verify_fraction_sum`.
    """
    from zkinfer.lookup import _kernels as K
    from zkinfer.poly import fast
    from zkinfer.sumcheck.prover import prove

    c = int(p.shape[0]).bit_length() - 1
    layers_p = [np.ascontiguousarray(p)]
    layers_q = [np.ascontiguousarray(q)]
    while layers_p[-1].shape[0] > 1:
        h = layers_p[-1].shape[0] // 2
        op, oq = np.empty((h, 2), dtype=np.uint64), np.empty((h, 2), dtype=np.uint64)
        K.fraction_layer(layers_p[-1], layers_q[-1], op, oq)
        layers_p.append(op)
        layers_q.append(oq)
    root = np.stack([layers_p[-1][0], layers_q[-1][0]])
    transcript.append_int(_LABEL_LEAVES, c)
    transcript.append_ext(_LABEL_ROOT, root)
    point = np.zeros((0, 2), dtype=np.uint64)
    out_layers = []
    for k in range(c):
        child_p, child_q = layers_p[c - k - 1], layers_q[c - k - 1]  # 2^(k+1) entries
        h = child_p.shape[0] // 2
        lam = transcript.challenge_ext(_LABEL_LAMBDA)
        tables = [fast.eq_table(point), child_p[:h], child_p[h:], child_q[:h], child_q[h:]]
        out = prove(tables, _layer_expression(lam), transcript)
        evals = np.ascontiguousarray(out.evaluations[1:])
        transcript.append_ext(_LABEL_EVALS, evals)
        mu = transcript.challenge_ext(_LABEL_MU)
        out_layers.append((out.proof, evals))
        point = np.concatenate([mu[None], out.point])
    return FractionProof(root, tuple(out_layers)), root, point


def verify_fraction_sum(
    num_leaf_vars: int, proof: FractionProof, transcript: Transcript, check: str = "logup"
) -> tuple[U64, U64, U64]:
    """Replay the layers; returns ``(root, point, [p(r), q(r)])`` for the caller to check.

    Raises:
        VerificationError: wrong layer count, a failed sumcheck round, or four end values that
            do not explain the last round (the error names the layer).
    """
    from zkinfer.sumcheck.verifier import verify

    root = ext.as_ext(proof.root, "root")
    if root.shape != (2, 2):
        raise VerificationError(check, "root must be (P, Q)")
    if len(proof.layers) != num_leaf_vars:
        raise VerificationError(check, "wrong number of layers", expected=num_leaf_vars,
                                got=len(proof.layers))
    transcript.append_int(_LABEL_LEAVES, num_leaf_vars)
    transcript.append_ext(_LABEL_ROOT, root)
    point = np.zeros((0, 2), dtype=np.uint64)
    claim_p, claim_q = root[0], root[1]
    for k, (sc, evals) in enumerate(proof.layers):
        lam = transcript.challenge_ext(_LABEL_LAMBDA)
        expr = _layer_expression(lam)
        # p_k(r) + lambda q_k(r) = sum_x eq(r, x) [pL qR + pR qL + lambda qL qR](x)
        claim = ext.add(claim_p, ext.mul(lam, claim_q))
        s, final = verify(claim, k, expr, sc, transcript, check=f"{check} layer {k}")
        ev = ext.as_ext(evals, "layer evaluations")
        if ev.shape != (4, 2):
            raise VerificationError(f"{check} layer {k}", "expected four end values")
        got = expr.evaluate(np.concatenate([eq_eval(point, s)[None], ev]))
        if not np.array_equal(got, final):
            raise VerificationError(f"{check} layer {k}", "end values do not match the last round",
                                    expected=tuple(map(int, final)), got=tuple(map(int, got)))
        transcript.append_ext(_LABEL_EVALS, ev)
        mu = transcript.challenge_ext(_LABEL_MU)
        claim_p, claim_q = _down(ev, mu)
        point = np.concatenate([mu[None], s])
    return root, point, np.stack([claim_p, claim_q])
