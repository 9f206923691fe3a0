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

Prover (:func:`prove_fraction_sum`): each layer sumcheck has its own prover (:func:`_prove_layer`,
kernels in :mod:`zkinfer.lookup._kernels`) that sends exactly the messages of the generic
:func:`zkinfer.sumcheck.prover.prove` (the tests compare the two) without an ``eq`` table: it splits
``eq(r, x) = eq(r_1, x_1) eq(r_rest, x_rest)``, sums the degree-2 remainder from two
square-root-size ``eq`` tables and multiplies by the linear factor. Round 0 takes ``G(0)`` from the
layer above, which holds ``F``'s two parts; the first fold writes a scratch half the layer's size,
folded in place afterwards (one pass per round, fold and sums fused), and each layer is dropped once
its sumcheck no longer needs it. Memory beyond the leaves: the layers above them (as large as the
leaves; the peak, while the tree is built), later at most the last layers and their scratch; the
leaves are only read.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from zkinfer.codec import Reader, Writer
from zkinfer.errors import FieldRangeError, VerificationError
from zkinfer.field import extension as ext
from zkinfer.field import reference as _r
from zkinfer.field.scalar import Fp2
from zkinfer.poly.multilinear import num_vars
from zkinfer.sumcheck.common import Expression, SumcheckProof, begin, round_challenge
from zkinfer.transcript import Transcript

__all__ = ["MAX_LAYERS", "FractionProof", "prove_fraction_sum", "verify_fraction_sum"]

U64 = npt.NDArray[np.uint64]
_Ext = tuple[int, int]

MAX_LAYERS = 64
"""Most layers of one fraction tree (a decoding bound: a layer per leaf variable)."""

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

    def write(self, w: Writer) -> None:
        """The root (two extension elements), the layer count (u32), then each layer's
        sumcheck and its four evaluations."""
        w.ext(self.root)
        w.u32(len(self.layers))
        for sc, evals in self.layers:
            sc.write(w)
            w.ext(evals)

    @classmethod
    def read(cls, r: Reader) -> FractionProof:
        """Strict decoding (the inverse of :meth:`write`).

        Raises:
            ProofFormatError: more than :data:`MAX_LAYERS` layers, truncation, or a malformed
                sumcheck or element.
        """
        root = r.ext(2)
        n = r.u32(MAX_LAYERS)
        return cls(root, tuple((SumcheckProof.read(r), r.ext(4)) for _ in range(n)))

    def sumchecks(self) -> list[SumcheckProof]:
        """The layers' sumcheck proofs, top layer first."""
        return [sc for sc, _ in self.layers]


def _build_layers(layers_p: list, layers_q: list) -> None:
    """Append the fraction tree's layers above the leaves ``layers_p[0], layers_q[0]``."""
    from zkinfer.lookup import _kernels as K

    while layers_p[-1].shape[0] > 1:
        h = layers_p[-1].shape[0] // 2
        op, oq = np.empty((h, 2), dtype=np.uint64), np.empty((h, 2), dtype=np.uint64)
        build = K.fraction_layer if K.use_parallel(h) else K.fraction_layer_serial
        build(layers_p[-1], layers_q[-1], op, oq)
        layers_p.append(op)
        layers_q.append(oq)


def prove_fraction_sum(p: U64, q: U64, transcript: Transcript) -> tuple[FractionProof, U64, U64]:
    """Prove the root of the fraction tree of the leaves ``(p, q)`` (extension ``(2^c, 2)``).

    Builds the tree (the layers above the leaves: as many entries as the leaves), then proves
    the layers top-down with :func:`_prove_layer`. A layer's sumcheck reads it and its parent
    (the layer above, for the first round), folds it into a scratch of half its size and drops
    the parent; no layer is written, the leaves included.

    Returns:
        ``(proof, root, point)``: the root ``[P, Q]`` and the leaf point ``r`` (``(c, 2)``) at
        which the caller must prove ``p(r)`` and ``q(r)``. The verifier learns both leaf claims
        from :func:`verify_fraction_sum`.

    Raises:
        FieldRangeError: ``p, q`` not two extension arrays of one power-of-two length, or with
            non-canonical entries.
    """

    p = np.ascontiguousarray(ext.as_ext(p, "p"))
    q = np.ascontiguousarray(ext.as_ext(q, "q"))
    if p.ndim != 2 or p.shape != q.shape:
        raise FieldRangeError(f"leaves must be two (2^c, 2) arrays, got {p.shape} and {q.shape}")
    c = num_vars(p.shape[0])
    layers_p: list[U64 | None] = [p]
    layers_q: list[U64 | None] = [q]
    _build_layers(layers_p, layers_q)
    root = np.stack([layers_p[-1][0], layers_q[-1][0]])
    transcript.append_int(_LABEL_LEAVES, c)
    transcript.append_ext(_LABEL_ROOT, root)
    point = np.zeros((0, 2), dtype=np.uint64)
    out_layers = []
    claim_p = claim_q = (0, 0)  # the claims p_k(r), q_k(r) on the layer being proven
    for k in range(c):
        at = c - k - 1
        # the child (2^(k+1) entries) is only read, and is the next layer's parent; the parent
        # (2^k entries) is handed over and freed after the first round
        child_p, child_q = layers_p[at], layers_q[at]
        parent = [layers_p[at + 1], layers_q[at + 1]]
        layers_p[at + 1] = layers_q[at + 1] = None
        lam = transcript.challenge_ext(_LABEL_LAMBDA)
        if k == 0:
            evals = np.ascontiguousarray(np.concatenate([child_p, child_q]))
            expr = _layer_expression(lam)
            begin(transcript, 0, expr, expr.evaluate(np.concatenate([ext.ones((1,)), evals])))
            sc = SumcheckProof(np.zeros((0, 4, 2), dtype=np.uint64))
            challenges = np.zeros((0, 2), dtype=np.uint64)
            parent.clear()
        else:
            # the sum is p_k(r) + lambda q_k(r), the claims carried down from the layer above
            claim = _add(claim_p, _mul(_t(lam), claim_q))
            sc, evals, challenges = _prove_layer(child_p, child_q, parent, point, lam, claim,
                                                 transcript)
        del child_p, child_q
        transcript.append_ext(_LABEL_EVALS, evals)
        mu = transcript.challenge_ext(_LABEL_MU)
        out_layers.append((sc, evals))
        # claims on layer k + 1 at (mu, s), in Python integers
        m = _t(mu)
        pl, pr, ql, qr = (_t(e) for e in evals)
        claim_p = _add(pl, _mul(m, _sub(pr, pl)))
        claim_q = _add(ql, _mul(m, _sub(qr, ql)))
        point = np.concatenate([mu[None], challenges])
    return FractionProof(root, tuple(out_layers)), root, point


# ---- the layer prover

_P = _r.P
_mul = _r.ext_mul


def _direct_g1(l1: _Ext) -> bool:
    """Whether ``G(1)`` needs a pass over the tables: ``C eq(r_j, 1) = 0`` (probability about
    ``n / p^2``), so ``G(1)`` cannot be recovered from the round's claim."""
    return l1 == (0, 0)


def _t(a: U64) -> _Ext:
    return int(a[0]), int(a[1])


def _add(a: _Ext, b: _Ext) -> _Ext:
    return (a[0] + b[0]) % _P, (a[1] + b[1]) % _P


def _sub(a: _Ext, b: _Ext) -> _Ext:
    return (a[0] - b[0]) % _P, (a[1] - b[1]) % _P


def _inv(a: _Ext) -> _Ext:
    """``1 / a`` for ``a != 0`` (:func:`zkinfer.field.reference.ext_inv`, base inverse by
    Euclid)."""
    n_inv = pow((a[0] * a[0] - ext.W * a[1] * a[1]) % _P, -1, _P)
    return a[0] * n_inv % _P, -a[1] * n_inv % _P


def _prove_layer(p: U64, q: U64, parent: list, point: U64, lam: U64, claim: _Ext,
                 transcript: Transcript) -> tuple[SumcheckProof, U64, U64]:
    """The layer sumcheck ``claim = sum_x eq(r, x) [pL qR + pR qL + lambda qL qR](x)``.

    ``p, q`` hold the ``L`` and ``R`` halves (``2^n`` rows each) and ``r = point`` has
    ``n >= 1`` variables; ``parent = [p_k, q_k]`` is the layer above (``2^n`` rows, equal to
    ``pL qR + pR qL`` and ``qL qR``), emptied here and dropped after the first round. The
    messages are those of :func:`zkinfer.sumcheck.prover.prove` on the tables
    ``[eq(r), pL, pR, qL, qR]`` with :func:`_layer_expression` (the same values at ``X = 0..3``,
    the same transcript calls), computed as ``s_j(X) = C_j eq(r_j, X) G_j(X)`` (see
    :mod:`zkinfer.lookup._kernels`): the kernels return ``G_j(0)`` (in round 0 from the parent:
    ``F = p_k + lambda q_k`` on the rows) and the leading coefficient ``G_j(inf)`` of the
    quadratic ``G_j``, and ``s_j(0) + s_j(1) = claim_j`` gives
    ``G_j(1) = (claim_j - s_j(0)) / (C_j r_j)`` (a pass over the tables instead when
    ``C_j r_j = 0``). Exact arithmetic: these equal the generic prover's values bit for bit.

    ``p, q`` are only read: the first fold goes to a scratch pair of half their size, folded
    in place from then on.

    Returns:
        ``(proof, [pL(s), pR(s), qL(s), qR(s)], s)``.
    """
    from zkinfer.lookup import _kernels as K

    n = point.shape[0]
    off = p.shape[0] // 2
    begin(transcript, n, _layer_expression(lam), np.array(claim, dtype=np.uint64))
    lam0, lam1 = lam[0], lam[1]
    rounds = np.empty((n, 4, 2), dtype=np.uint64)
    challenges = np.empty((n, 2), dtype=np.uint64)
    cur = claim  # claim_j = s_{j-1}(r'_{j-1})
    coef = (1, 0)  # C_j = prod_{i<j} eq(r_i, r'_i)
    s = off  # live rows of each half-table in round j
    ch = np.zeros(2, dtype=np.uint64)
    for j in range(n):
        threaded = K.use_parallel(s // 2)
        if j == 0:
            first = K.layer_first if threaded else K.layer_first_serial
            g = first(p, q, off, s, parent[0], parent[1], point, lam0, lam1)
            parent.clear()
        else:
            if j == 1:  # fold out of the layer, into a scratch pair
                dp, dq, doff = np.empty((2 * s, 2), np.uint64), np.empty((2 * s, 2), np.uint64), s
            else:
                dp, dq, doff = p, q, off
            fold = K.layer_fold_eval if threaded else K.layer_fold_eval_serial
            g = fold(p, q, off, 2 * s, dp, dq, doff, ch[0], ch[1], point, j, lam0, lam1)
            p, q, off = dp, dq, doff
        g0, ginf = _t(g[0]), _t(g[1])
        rj = _t(point[j])
        l1 = _mul(coef, rj)  # C eq(r_j, 1)
        l0 = _sub(coef, l1)  # C eq(r_j, 0) = C (1 - r_j)
        s0 = _mul(l0, g0)
        s1 = _sub(cur, s0)
        if _direct_g1(l1):
            evaluate = K.layer_eval if threaded else K.layer_eval_serial
            g1 = _t(evaluate(p, q, off, s, point, j, lam0, lam1, True)[2])
        else:
            g1 = _mul(s1, _inv(l1))
        # G quadratic: G(2) = 2 G(1) - G(0) + 2 G(inf), G(3) = 3 G(1) - 2 G(0) + 6 G(inf);
        # C eq(r_j, X) linear: l(2) = 2 l1 - l0, l(3) = 3 l1 - 2 l0
        g2 = tuple((2 * a - b + 2 * c) % _P for a, b, c in zip(g1, g0, ginf))
        g3 = tuple((3 * a - 2 * b + 6 * c) % _P for a, b, c in zip(g1, g0, ginf))
        l2 = tuple((2 * a - b) % _P for a, b in zip(l1, l0))
        l3 = tuple((3 * a - 2 * b) % _P for a, b in zip(l1, l0))
        values = np.array([s0, s1, _mul(l2, g2), _mul(l3, g3)], dtype=np.uint64)
        rounds[j] = values
        ch = round_challenge(transcript, values)
        challenges[j] = ch
        x = _t(ch)
        # claim_{j+1} = s_j(x) = C_{j+1} G(x), C_{j+1} = C_j eq(r_j, x), eq = 1 - r - x + 2 r x
        lin = tuple((a - b - c) % _P for a, b, c in zip(g1, g0, ginf))
        gx = _add(g0, _mul(x, _add(lin, _mul(x, ginf))))
        rx = _mul(rj, x)
        coef = _mul(coef, ((1 - rj[0] - x[0] + 2 * rx[0]) % _P, (-rj[1] - x[1] + 2 * rx[1]) % _P))
        cur = _mul(coef, gx)
        s //= 2
    # the last fold (two live rows -> one): the four end values
    x = _t(ch)
    evals = np.array([_add(lo, _mul(x, _sub(hi, lo))) for lo, hi in (
        (_t(arr[base]), _t(arr[base + 1])) for arr, base in ((p, 0), (p, off), (q, 0), (q, off))
    )], dtype=np.uint64)
    return SumcheckProof(rounds), evals, challenges


def verify_fraction_sum(
    num_leaf_vars: int, proof: FractionProof, transcript: Transcript, check: str = "logup"
) -> tuple[U64, U64, U64]:
    """Replay the layers; returns ``(root, point, [p(r), q(r)])`` for the caller to check.

    Raises:
        VerificationError: wrong layer count, a failed sumcheck round, or four end values that
            do not explain the last round (the error names the layer).
    """
    from zkinfer.sumcheck.verifier import verify_scalar

    root = ext.as_ext(proof.root, "root")
    if root.shape != (2, 2):
        raise VerificationError(check, "root must be (P, Q)")
    if len(proof.layers) != num_leaf_vars:
        raise VerificationError(check, "wrong number of layers", expected=num_leaf_vars,
                                got=len(proof.layers))
    transcript.append_int(_LABEL_LEAVES, num_leaf_vars)
    transcript.append_ext(_LABEL_ROOT, root)
    point: list[tuple[int, int]] = []  # the claims' point on the current layer
    claim_p, claim_q = Fp2.vector(root)
    for k, (sc, evals) in enumerate(proof.layers):
        lam_pair = transcript.challenge_pair(_LABEL_LAMBDA)
        lam = Fp2(*lam_pair)
        expr = _layer_expression(lam_pair)
        # p_k(r) + lambda q_k(r) = sum_x eq(r, x) [pL qR + pR qL + lambda qL qR](x)
        _, s, final = verify_scalar(claim_p + lam * claim_q, k, expr, sc, transcript,
                                    check=f"{check} layer {k}")
        ev = ext.as_ext(evals, "layer evaluations")
        if ev.shape != (4, 2):
            raise VerificationError(f"{check} layer {k}", "expected four end values")
        pl, pr, ql, qr = Fp2.vector(ev)
        got = _eq_pairs(point, s) * (pl * qr + pr * ql + lam * ql * qr)
        if got != final:
            raise VerificationError(f"{check} layer {k}", "end values do not match the last round",
                                    expected=tuple(final), got=tuple(got))
        transcript.append_ext(_LABEL_EVALS, ev)
        m = Fp2(*transcript.challenge_pair(_LABEL_MU))
        # claims on layer k + 1 at (mu, s)
        claim_p, claim_q = pl + m * (pr - pl), ql + m * (qr - ql)
        point = [(m[0], m[1])] + s
    return root, np.array(point, dtype=np.uint64).reshape(len(point), 2), \
        Fp2.stack([claim_p, claim_q])


def _eq_pairs(r: list[tuple[int, int]], x: list[tuple[int, int]]) -> Fp2:
    """``eq(r, x)`` for two points given as pairs of canonical ints (equal lengths)."""
    acc0, acc1 = 1, 0
    w = ext.W
    for (r0, r1), (x0, x1) in zip(r, x):
        # t = 2 r x - r - x + 1
        p0 = (r0 * x0 + w * r1 * x1) % _P
        p1 = (r0 * x1 + r1 * x0) % _P
        t0, t1 = (2 * p0 - r0 - x0 + 1) % _P, (2 * p1 - r1 - x1) % _P
        acc0, acc1 = (acc0 * t0 + w * acc1 * t1) % _P, (acc0 * t1 + acc1 * t0) % _P
    return Fp2(acc0, acc1)
