"""Reference provers the tests compare the fast ones with."""

from __future__ import annotations

import numpy as np

from zkinfer.lookup.gkr import (
    _LABEL_EVALS,
    _LABEL_LAMBDA,
    _LABEL_LEAVES,
    _LABEL_MU,
    _LABEL_ROOT,
    U64,
    FractionBatchProof,
    FractionProof,
    _build_layers,
    _layer_expression,
)
from zkinfer.transcript import Transcript


def prove_fraction_sum_reference(
    p: U64, q: U64, transcript: Transcript
) -> tuple[FractionProof, U64, U64]:
    """:func:`~zkinfer.lookup.gkr.prove_fraction_sum` through the generic sumcheck prover: the
    batch reference (:func:`prove_fraction_sums_reference`) of one tree.

    Materializes ``eq(r, .)`` and copies the four half-tables per layer; same proof, same
    transcript, several times slower and larger than :func:`prove_fraction_sum`.
    """
    batch, roots, points = prove_fraction_sums_reference([(p, q)], transcript)
    return FractionProof(roots[0], batch.layers), roots[0], points[0]


def prove_fraction_sums_reference(leaves, transcript: Transcript) -> tuple[FractionBatchProof, U64, list]:
    """:func:`~zkinfer.lookup.gkr.prove_fraction_sums` through the generic sumcheck prover: per
    layer the tables ``[eq(r), pL_0, pR_0, qL_0, qR_0, pL_1, ...]`` of the trees that reach it
    and the weighted expression; same proof, same transcript."""
    from zkinfer.poly import fast
    from zkinfer.sumcheck.prover import prove

    cs, layers_p, layers_q = [], [], []
    for p, q in leaves:
        cs.append(int(p.shape[0]).bit_length() - 1)
        layers_p.append([np.ascontiguousarray(p)])
        layers_q.append([np.ascontiguousarray(q)])
        _build_layers(layers_p[-1], layers_q[-1])
    roots = np.array([[lp[-1][0], lq[-1][0]] for lp, lq in zip(layers_p, layers_q)],
                     dtype=np.uint64).reshape(len(cs), 2, 2)
    for c, root in zip(cs, roots):
        transcript.append_int(_LABEL_LEAVES, c)
        transcript.append_ext(_LABEL_ROOT, root)
    point = np.zeros((0, 2), dtype=np.uint64)
    points = [point] * len(cs)
    out_layers = []
    for k in range(max(cs, default=0)):
        active = [j for j, c in enumerate(cs) if c > k]
        tables = [fast.eq_table(point)]
        for j in active:
            child_p, child_q = layers_p[j][cs[j] - k - 1], layers_q[j][cs[j] - k - 1]
            h = child_p.shape[0] // 2
            tables += [child_p[:h], child_p[h:], child_q[:h], child_q[h:]]
        lam = transcript.challenge_ext(_LABEL_LAMBDA)
        out = prove(tables, _layer_expression(lam, len(active)), transcript)
        evals = np.ascontiguousarray(out.evaluations[1:])
        transcript.append_ext(_LABEL_EVALS, evals)
        mu = transcript.challenge_ext(_LABEL_MU)
        out_layers.append((out.proof, evals))
        point = np.concatenate([mu[None], out.point])
        for j in active:
            if cs[j] == k + 1:
                points[j] = point
    return FractionBatchProof(roots, tuple(out_layers)), roots, points
