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

Several trees at once
---------------------
:func:`prove_fraction_sums` proves ``J`` trees (``c_j`` leaf variables each) with one sumcheck per
layer instead of one per tree and layer. The trees are aligned at their roots: layer ``k`` of
every tree has ``2^k`` entries, so the trees with more than ``k`` layers (the *active* ones, in
index order) share the layer's point ``r``, its sumcheck and its ``mu``. With one ``lambda`` per
layer, the ``i``-th active tree is weighted ``lambda^(2 i)``:

    sum_i lambda^(2 i) (p_{i,k}(r) + lambda q_{i,k}(r))
        = sum_x eq(r, x) sum_i lambda^(2 i) [pL_i qR_i + pR_i qL_i + lambda qL_i qR_i](x),

and the prover sends the four end values of every active tree. A tree's leaf point is the point
after its last layer. Rounds: ``sum_{k < max c_j} k`` in all, where separate trees take
``sum_j sum_{k < c_j} k`` (three trees of 24 layers: 276 rounds instead of 828). One tree is
exactly the protocol above (weight ``1``, the same transcript).

Soundness: at layer ``k`` with ``J_k`` active trees, a false claim on some tree makes the
combined claim a non-zero polynomial of degree at most ``2 J_k - 1`` in ``lambda`` (it vanishes
with probability ``(2 J_k - 1) / p^2``), then the sumcheck (``3 k / p^2``), then at least one
tree's end values are wrong and its claim at ``(mu, s)`` is false except with probability
``1 / p^2``. Total: ``sum_{k < max c_j} (3 k + 2 J_k) / p^2 = (3 C (C - 1) / 2 + 2 sum_j c_j)
/ p^2`` with ``C = max c_j``.

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

__all__ = [
    "MAX_LAYERS",
    "MAX_TREES",
    "FractionProof",
    "FractionBatchProof",
    "prove_fraction_sum",
    "prove_fraction_sums",
    "verify_fraction_sum",
    "verify_fraction_sums",
]

U64 = npt.NDArray[np.uint64]
_Ext = tuple[int, int]

MAX_LAYERS = 64
"""Most layers of one fraction tree (a decoding bound: a layer per leaf variable)."""

MAX_TREES = 1 << 12
"""Most fraction trees proven together (a decoding bound)."""

_LABEL_LEAVES = b"gkr/leaf-vars"
_LABEL_ROOT = b"gkr/root"
_LABEL_LAMBDA = b"gkr/lambda"
_LABEL_EVALS = b"gkr/layer-evals"
_LABEL_MU = b"gkr/mu"


def _layer_expression(lam, trees: int = 1) -> Expression:
    """Table 0 is ``eq``; tree ``i`` has tables ``4 i + 1 .. 4 i + 4``: ``pL, pR, qL, qR``; the
    expression is ``sum_i lambda^(2 i) eq (pL qR + pR qL + lambda qL qR)``."""
    lam = (int(lam[0]), int(lam[1]))
    terms, coeffs, w = [], [], (1, 0)
    for i in range(trees):
        a = 4 * i
        terms += [(0, a + 1, a + 4), (0, a + 2, a + 3), (0, a + 3, a + 4)]
        coeffs += [w, w, _mul(w, lam)]
        w = _mul(w, _mul(lam, lam))
    return Expression(1 + 4 * trees, tuple(terms), tuple(coeffs))


def _weights(lam: _Ext, count: int) -> list[_Ext]:
    """``lambda^(2 i)`` for ``i < count``."""
    out, w, sq = [], (1, 0), _mul(lam, lam)
    for _ in range(count):
        out.append(w)
        w = _mul(w, sq)
    return out


class _Layers:
    """What the two fraction proofs share: ``layers``, per layer (top first) a sumcheck and its
    end values."""

    layers: tuple[tuple[SumcheckProof, U64], ...]

    def sumchecks(self) -> list[SumcheckProof]:
        """The layers' sumcheck proofs, top layer first."""
        return [sc for sc, _ in self.layers]


@dataclass(frozen=True, eq=False)
class FractionProof(_Layers):
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


@dataclass(frozen=True, eq=False)
class FractionBatchProof(_Layers):
    """Trees proven together: every tree's root ``(P, Q)`` and, per layer (top first), one
    sumcheck and the four end values ``[pL(s), pR(s), qL(s), qR(s)]`` of every tree with more
    layers, in tree order."""

    roots: U64  # (J, 2, 2)
    layers: tuple[tuple[SumcheckProof, U64], ...]  # end values (4 J_k, 2)

    def write(self, w: Writer) -> None:
        """The tree count (u32), the roots, the layer count (u32), then each layer's sumcheck
        and its end values (a u32 count and the elements)."""
        w.u32(self.roots.shape[0])
        w.ext(self.roots.reshape(-1, 2))
        w.u32(len(self.layers))
        for sc, evals in self.layers:
            sc.write(w)
            w.ext_vec(evals)

    @classmethod
    def read(cls, r: Reader) -> FractionBatchProof:
        """Strict decoding (the inverse of :meth:`write`).

        Raises:
            ProofFormatError: more than :data:`MAX_TREES` trees or :data:`MAX_LAYERS` layers,
                more end values than ``4`` per tree, truncation, or a malformed sumcheck or
                element.
        """
        j = r.count(MAX_TREES, 32)  # a root is two extension elements
        roots = r.ext(2 * j).reshape(j, 2, 2)
        n = r.u32(MAX_LAYERS)
        return cls(roots, tuple((SumcheckProof.read(r), r.ext_vec(4 * j)) for _ in range(n)))


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


def _leaves(p, q, what: str) -> tuple[U64, U64, int]:
    p = np.ascontiguousarray(ext.as_ext(p, f"{what} p"))
    q = np.ascontiguousarray(ext.as_ext(q, f"{what} q"))
    if p.ndim != 2 or p.shape != q.shape:
        raise FieldRangeError(f"{what}: leaves must be two (2^c, 2) arrays, got {p.shape} and "
                              f"{q.shape}")
    try:
        return p, q, num_vars(p.shape[0])
    except FieldRangeError as exc:
        raise FieldRangeError(f"{what}: {exc}") from None


def prove_fraction_sum(p: U64, q: U64, transcript: Transcript) -> tuple[FractionProof, U64, U64]:
    """Prove the root of the fraction tree of the leaves ``(p, q)`` (extension ``(2^c, 2)``):
    :func:`prove_fraction_sums` of one tree.

    Returns:
        ``(proof, root, point)``: the root ``[P, Q]`` and the leaf point ``r`` (``(c, 2)``) at
        which the caller must prove ``p(r)`` and ``q(r)``. The verifier learns both leaf claims
        from :func:`verify_fraction_sum`.

    Raises:
        FieldRangeError: ``p, q`` not two extension arrays of one power-of-two length, or with
            non-canonical entries.
    """
    batch, roots, points = prove_fraction_sums([(p, q)], transcript)
    return FractionProof(roots[0], batch.layers), roots[0], points[0]


def prove_fraction_sums(leaves, transcript: Transcript) -> tuple[FractionBatchProof, U64, list[U64]]:
    """Prove the roots of several fraction trees together (see "Several trees at once").

    Builds every tree (the layers above its leaves: as many entries as the leaves), then proves
    the layers top-down, one sumcheck per layer for all trees that reach it
    (:func:`_prove_layer`). A layer's sumcheck reads it and its parent (the layer above, for the
    first round), folds it into a scratch of half its size and drops the parent; no layer is
    written, the leaves included. Memory: all trees at once (about twice their leaves).

    Arguments:
        leaves: a sequence of ``(p, q)``, each two extension arrays of shape ``(2^c_j, 2)``.

    Returns:
        ``(proof, roots, points)``: the roots ``(J, 2, 2)`` and, per tree, the leaf point
        (``(c_j, 2)``) at which the caller must prove its ``p`` and ``q``.

    Raises:
        FieldRangeError: more than :data:`MAX_TREES` trees, or leaves that are not two
            extension arrays of one power-of-two length, or with non-canonical entries.
    """
    trees = [_leaves(p, q, f"tree {j}") for j, (p, q) in enumerate(leaves)]
    if len(trees) > MAX_TREES:
        raise FieldRangeError(f"at most {MAX_TREES} fraction trees, got {len(trees)}")
    cs = [c for _, _, c in trees]
    layers_p: list[list[U64 | None]] = []
    layers_q: list[list[U64 | None]] = []
    for p, q, _ in trees:
        lp, lq = [p], [q]
        _build_layers(lp, lq)
        layers_p.append(lp)
        layers_q.append(lq)
    del trees
    roots = np.array([[lp[-1][0], lq[-1][0]] for lp, lq in zip(layers_p, layers_q)],
                     dtype=np.uint64).reshape(len(cs), 2, 2)
    for c, root in zip(cs, roots):
        transcript.append_int(_LABEL_LEAVES, c)
        transcript.append_ext(_LABEL_ROOT, root)
    point = np.zeros((0, 2), dtype=np.uint64)
    points = [point] * len(cs)
    out_layers = []
    claims = [(_t(root[0]), _t(root[1])) for root in roots]  # p_k(r), q_k(r) per tree
    for k in range(max(cs, default=0)):
        active = [j for j, c in enumerate(cs) if c > k]
        # each tree's child (2^(k+1) entries) is only read, and is the next layer's parent; its
        # parent (2^k entries) is handed over and freed after the first round
        children, parents = [], []
        for j in active:
            at = cs[j] - k - 1
            children.append((layers_p[j][at], layers_q[j][at]))
            parents.append([layers_p[j][at + 1], layers_q[j][at + 1]])
            layers_p[j][at + 1] = layers_q[j][at + 1] = None
        lam = transcript.challenge_ext(_LABEL_LAMBDA)
        weights = _weights(_t(lam), len(active))
        if k == 0:
            evals = np.concatenate([np.concatenate([cp, cq]) for cp, cq in children])
            expr = _layer_expression(lam, len(active))
            begin(transcript, 0, expr, expr.evaluate(np.concatenate([ext.ones((1,)), evals])))
            sc = SumcheckProof(np.zeros((0, 3, 2), dtype=np.uint64))
            challenges = np.zeros((0, 2), dtype=np.uint64)
            parents.clear()
        else:
            # the sum: sum_i w_i (p_k(r) + lambda q_k(r)), the claims carried down from above
            claim = (0, 0)
            for w, j in zip(weights, active):
                claim = _add(claim, _mul(w, _add(claims[j][0], _mul(_t(lam), claims[j][1]))))
            sc, evals, challenges = _prove_layer(children, parents, point, lam, weights, claim,
                                                 transcript)
        children.clear()
        transcript.append_ext(_LABEL_EVALS, evals)
        mu = transcript.challenge_ext(_LABEL_MU)
        out_layers.append((sc, evals))
        # claims on layer k + 1 at (mu, s), in Python integers
        m = _t(mu)
        for i, j in enumerate(active):
            pl, pr, ql, qr = (_t(e) for e in evals[4 * i: 4 * i + 4])
            claims[j] = (_add(pl, _mul(m, _sub(pr, pl))), _add(ql, _mul(m, _sub(qr, ql))))
        point = np.concatenate([mu[None], challenges])
        for j in active:
            if cs[j] == k + 1:
                points[j] = point
    return FractionBatchProof(roots, tuple(out_layers)), roots, points


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


def _prove_layer(children: list, parents: list, point: U64, lam: U64, weights: list[_Ext],
                 claim: _Ext, transcript: Transcript) -> tuple[SumcheckProof, U64, U64]:
    """The layer sumcheck ``claim = sum_x eq(r, x) sum_i w_i [pL qR + pR qL + lambda qL qR]_i(x)``
    over the active trees ``i`` (weights ``w_i = lambda^(2 i)``).

    ``children[i] = (p, q)`` holds tree ``i``'s ``L`` and ``R`` halves (``2^n`` rows each) and
    ``r = point`` has ``n >= 1`` variables; ``parents[i] = [p_k, q_k]`` is the layer above
    (``2^n`` rows, equal to ``pL qR + pR qL`` and ``qL qR``), emptied here and dropped after
    the first round. The messages are those of :func:`zkinfer.sumcheck.prover.prove` on the
    tables ``[eq(r), pL_0, pR_0, qL_0, qR_0, pL_1, ...]`` with :func:`_layer_expression` (the
    same values at ``X = 0..3``, the same transcript calls), computed as
    ``s_j(X) = C_j eq(r_j, X) G_j(X)`` (see :mod:`zkinfer.lookup._kernels`): the kernels return
    each tree's ``G_j(0)`` (in round 0 from the parent: ``F = p_k + lambda q_k`` on the rows)
    and the leading coefficient ``G_j(inf)`` of the quadratic ``G_j``, the weighted sums give
    the layer's, and ``s_j(0) + s_j(1) = claim_j`` gives ``G_j(1) = (claim_j - s_j(0)) /
    (C_j r_j)`` (a pass over the tables instead when ``C_j r_j = 0``). Exact arithmetic: these
    equal the generic prover's values bit for bit.

    The children are only read: the first fold goes to a scratch pair of half their size,
    folded in place from then on.

    Returns:
        ``(proof, end values (4 J, 2): [pL(s), pR(s), qL(s), qR(s)] per tree, s)``.
    """
    from zkinfer.lookup import _kernels as K

    n = point.shape[0]
    tabs = [(p, q, p.shape[0] // 2) for p, q in children]  # per tree (p, q, off)
    begin(transcript, n, _layer_expression(lam, len(tabs)), np.array(claim, dtype=np.uint64))
    lam0, lam1 = lam[0], lam[1]
    rounds = np.empty((n, 4, 2), dtype=np.uint64)
    challenges = np.empty((n, 2), dtype=np.uint64)
    cur = claim  # claim_j = s_{j-1}(r'_{j-1})
    coef = (1, 0)  # C_j = prod_{i<j} eq(r_i, r'_i)
    s = tabs[0][2]  # live rows of each half-table in round j
    ch = np.zeros(2, dtype=np.uint64)
    for j in range(n):
        threaded = K.use_parallel(s // 2)
        g0 = ginf = (0, 0)
        for i, (p, q, off) in enumerate(tabs):
            if j == 0:
                first = K.layer_first if threaded else K.layer_first_serial
                g = first(p, q, off, s, parents[i][0], parents[i][1], point, lam0, lam1)
                parents[i].clear()
            else:
                if j == 1:  # fold out of the layer, into a scratch pair
                    dp, dq, doff = np.empty((2 * s, 2), np.uint64), np.empty((2 * s, 2), np.uint64), s
                else:
                    dp, dq, doff = p, q, off
                fold = K.layer_fold_eval if threaded else K.layer_fold_eval_serial
                g = fold(p, q, off, 2 * s, dp, dq, doff, ch[0], ch[1], point, j, lam0, lam1)
                tabs[i] = (dp, dq, doff)
            g0 = _add(g0, _mul(weights[i], _t(g[0])))
            ginf = _add(ginf, _mul(weights[i], _t(g[1])))
        rj = _t(point[j])
        l1 = _mul(coef, rj)  # C eq(r_j, 1)
        l0 = _sub(coef, l1)  # C eq(r_j, 0) = C (1 - r_j)
        s0 = _mul(l0, g0)
        s1 = _sub(cur, s0)
        if _direct_g1(l1):
            evaluate = K.layer_eval if threaded else K.layer_eval_serial
            g1 = (0, 0)
            for w, (p, q, off) in zip(weights, tabs):
                g1 = _add(g1, _mul(w, _t(evaluate(p, q, off, s, point, j, lam0, lam1, True)[2])))
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
    # the last fold (two live rows -> one): the four end values of each tree
    x = _t(ch)
    evals = np.array([_add(lo, _mul(x, _sub(hi, lo))) for p, q, off in tabs for lo, hi in (
        (_t(arr[base]), _t(arr[base + 1])) for arr, base in ((p, 0), (p, off), (q, 0), (q, off))
    )], dtype=np.uint64)
    return SumcheckProof.from_rounds(rounds), evals, challenges


def verify_fraction_sum(
    num_leaf_vars: int, proof: FractionProof, transcript: Transcript, check: str = "logup"
) -> tuple[U64, U64, U64]:
    """Replay the layers; returns ``(root, point, [p(r), q(r)])`` for the caller to check
    (:func:`verify_fraction_sums` of one tree).

    Raises:
        VerificationError: a malformed root, wrong layer count, a failed sumcheck round, or four
            end values that do not explain the last round (the error names the layer).
    """
    root = ext.as_ext(proof.root, "root")
    if root.shape != (2, 2):
        raise VerificationError(check, "root must be (P, Q)")
    ((_, point, leaf),) = verify_fraction_sums(
        [num_leaf_vars], FractionBatchProof(root[None], proof.layers), transcript, check)
    return root, point, leaf


def verify_fraction_sums(
    num_leaf_vars, proof: FractionBatchProof, transcript: Transcript, check: str = "logup"
) -> list[tuple[U64, U64, U64]]:
    """Replay trees proven together (:func:`prove_fraction_sums`; ``num_leaf_vars[j]`` layers
    for tree ``j``, from the statement). Returns per tree ``(root, point, [p(r), q(r)])`` for
    the caller to check.

    Raises:
        VerificationError: roots of another count or shape, wrong layer count, end values of
            another count than four per tree reaching the layer, a failed sumcheck round, or
            end values that do not explain the last round (the error names the layer).
    """
    from zkinfer.sumcheck.verifier import verify_scalar

    cs = [int(c) for c in num_leaf_vars]
    roots = ext.as_ext(proof.roots, "roots")
    if roots.shape != (len(cs), 2, 2):
        raise VerificationError(check, "one root (P, Q) per tree expected", expected=len(cs),
                                got=roots.shape[0] if roots.ndim == 3 else None)
    if len(proof.layers) != max(cs, default=0):
        raise VerificationError(check, "wrong number of layers", expected=max(cs, default=0),
                                got=len(proof.layers))
    for c, root in zip(cs, roots):
        transcript.append_int(_LABEL_LEAVES, c)
        transcript.append_ext(_LABEL_ROOT, root)
    point: list[tuple[int, int]] = []  # the claims' point on the current layer
    claims = [tuple(Fp2.vector(root)) for root in roots]  # p_k(r), q_k(r) per tree
    points: list[list[tuple[int, int]]] = [[] for _ in cs]
    for k, (sc, evals) in enumerate(proof.layers):
        active = [j for j, c in enumerate(cs) if c > k]
        lam_pair = transcript.challenge_pair(_LABEL_LAMBDA)
        lam = Fp2(*lam_pair)
        weights = [Fp2(*w) for w in _weights(lam_pair, len(active))]
        expr = _layer_expression(lam_pair, len(active))
        # sum_i w_i (p_k(r) + lambda q_k(r)) = sum_x eq(r, x) sum_i w_i [pL qR + pR qL
        #     + lambda qL qR]_i(x)
        claim = Fp2.ZERO
        for w, j in zip(weights, active):
            claim += w * (claims[j][0] + lam * claims[j][1])
        _, s, final = verify_scalar(claim, k, expr, sc, transcript, check=f"{check} layer {k}")
        ev = ext.as_ext(evals, "layer evaluations")
        if ev.shape != (4 * len(active), 2):
            raise VerificationError(f"{check} layer {k}", "expected four end values per tree",
                                    expected=4 * len(active), got=ev.shape[0] if ev.ndim else None)
        ends = Fp2.vector(ev)
        acc = Fp2.ZERO
        for i, w in enumerate(weights):
            pl, pr, ql, qr = ends[4 * i: 4 * i + 4]
            acc += w * (pl * qr + pr * ql + lam * ql * qr)
        got = _eq_pairs(point, s) * acc
        if got != final:
            raise VerificationError(f"{check} layer {k}", "end values do not match the last round",
                                    expected=tuple(final), got=tuple(got))
        transcript.append_ext(_LABEL_EVALS, ev)
        m = Fp2(*transcript.challenge_pair(_LABEL_MU))
        # claims on layer k + 1 at (mu, s)
        for i, j in enumerate(active):
            pl, pr, ql, qr = ends[4 * i: 4 * i + 4]
            claims[j] = (pl + m * (pr - pl), ql + m * (qr - ql))
        point = [(m[0], m[1])] + s
        for j in active:
            if cs[j] == k + 1:
                points[j] = point
    return [(root, np.array(pt, dtype=np.uint64).reshape(len(pt), 2), Fp2.stack(list(claim)))
            for root, pt, claim in zip(roots, points, claims)]


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
