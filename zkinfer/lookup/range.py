"""Range checks of many columns of several widths by one tagged LogUp.

Every entry of every column of width ``w`` (``1 <= w <= 16``) must lie in ``[0, 2^w)``.
:mod:`zkinfer.protocol.range` splits wide values into such limb columns and names the claims.

Tagged look-ups
---------------
All columns of all widths share one LogUp. An entry ``f`` of a column of width ``w`` is
looked up as the extension element ``f + w X`` (``X`` the generator of
``F_p2 = F_p[X] / (X^2 - 7)``: the pair ``[f, w]``) in the union of the tagged tables
``{j + w X : 0 <= j < 2^w}`` of the widths present. The committed columns are over ``F_p`` and
``{1, X}`` is a basis of ``F_p2`` over ``F_p``, so ``f + w X = j + w' X`` iff ``f = j`` and
``w = w'``: an entry is in the union iff it is in its own table. The tag needs no challenge.
(A tag inside ``F_p`` such as ``f + w 2^16`` would be unsound: ``f`` is any field element, e.g.
``f = 2^17 + 3`` in a 2-bit column gives ``3 + 4 * 2^16``, an entry of the 4-bit table.) Each
table has its multiplicity column ``m_w`` (committed by the caller, :func:`range_multiplicities`
counts exactly the columns' entries), and with ``alpha`` drawn after the commitments

    sum_cols sum_i 1 / (alpha - f_i - w X)  -  sum_w sum_j m_w[j] / (alpha - j - w X)  =  0.

Leaves and trees
----------------
The *blocks* are each column (``p = 1``, ``q = alpha - f - w X``) and each table (``p = -m_w``,
``q = alpha - j - w X``), in the canonical order (widths ascending; per width its table, then its
columns), then sorted by size, largest first (stable) and laid end to end, so each block sits at
an offset that is a multiple of its size (as in :class:`zkinfer.commit.base.Layout`). This
sequence is cut into fraction trees (:func:`tree_plan`): each tree is a power of two of at most
``2^MAX_TREE_VARS`` leaves (or the largest block, if larger), holds whole blocks, and only its
end is padding, ``(p, q) = (0, 1)``, which adds ``0 / 1``. A tree of at least ``2^16`` leaves
that would be more than 1/8 padding is halved and the rest goes to the next trees. On the
MiniLM sizes at 128 tokens (62.7 M values, 16 tables) that is trees of ``2^24, 2^24, 2^24,
2^23, 2^22`` leaves, 62.9 M in all, where one LogUp per width padded to 159 M. The trees are
proven together (one sumcheck per layer for all of them: the verifier replays the rounds of the
largest tree only), so the prover holds every tree's ``p, q`` and GKR layers at once, 64 bytes
per leaf.

Protocol
--------
1. Both sides absorb the layout (widths, column sizes, ``MAX_TREE_VARS``); ``alpha`` is drawn.
2. One fraction-sum GKR for all trees together (:mod:`zkinfer.lookup.gkr`, "Several trees at
   once": one sumcheck per layer, the trees aligned at their roots) proves every tree's root
   ``(P_j, Q_j)`` down to claims ``p(r), q(r)`` at the tree's leaf point ``r`` of ``c_j``
   variables. Then, tree by tree, the prover sends for each block ``b`` in the tree (``n_b``
   variables, local offset ``o_b``) ``v_b = col_b(r_low)`` or ``m_w(r_low)`` with ``r_low`` the
   last ``n_b`` coordinates of ``r``; they are absorbed tree by tree.
3. The verifier checks every ``Q_j != 0`` and ``sum_j P_j / Q_j = 0`` (as
   ``sum_j P_j prod_{i != j} Q_i = 0``), and for each tree, with ``e_b = eq(prefix_b, r_high)``
   (``prefix_b``: the top ``c_j - n_b`` bits of ``o_b``, as 0/1 coordinates),

       p(r) = sum_cols e_b  -  sum_tables e_b v_b,
       q(r) = sum_cols e_b (alpha - v_b - w_b X) + sum_tables e_b (alpha - t_w(r_low) - w X)
              + (1 - sum_b e_b),

   where ``t_w(r_low) = sum_k 2^(w-1-k) r_low[k]`` is the public table and the last term is the
   padding, ``sum_{x in padding} eq(r, x) = 1 - sum_b e_b`` (as ``sum_x eq(r, x) = 1``). This
   costs ``O(blocks * c_j)`` field operations.
4. Both sides return, per block, the point ``r_low`` and the value ``v_b``: the claims
   ``m_w(r_low) = v_b`` and ``col(r_low) = v_b`` for the caller to prove by openings.

Soundness
---------
Suppose an entry ``f`` of a column of width ``w`` is not in ``[0, 2^w)``.

(a) LogUp lemma: over a field of characteristic ``p``, ``sum_i 1 / (x - a_i) = sum_j m_j /
(x - b_j)`` as rational functions, with fewer than ``p`` terms on the left and distinct
``b_j``, forces every ``a_i`` to be some ``b_j`` (the pole at ``a`` has residue
``#{i : a_i = a} != 0 mod p``). Here ``f + w X`` is no tagged table entry, so the rational
function ``R(x) = sum_leaves p / (x - v)`` is not zero; its numerator over the common
denominator has degree below the number ``L`` of non-padding leaves, and ``alpha`` (drawn after
the columns and multiplicities are committed) is a root with probability at most
``L / p^2 <= (total leaves) / |F_p2|``.

(b) If ``R(alpha) != 0`` and the roots pass step 3, some tree's claimed root is not its true
root (true roots with non-zero ``Q_j`` add up to ``R(alpha)``). The GKR then ends in a false
leaf claim on some tree except with probability ``sum_{k < C} (3 k + 2 J_k) / p^2`` (``C`` the
most layers, ``J_k`` the trees with more than ``k`` layers). With the true block
values the formula of step 3 is exactly the leaves' multilinear extension at ``r`` (the tagged
column's extension is ``col(r_low) + w X``: a constant's extension is the constant), so some
sent ``v_b`` differs from the committed polynomial's value and the claim returned on it is
false, for the opening to reject (the PCS's own error).

Total: ``(total leaves + 3 C (C - 1) / 2 + 2 sum_j c_j) / p^2`` plus the openings' error; at
the MiniLM sizes about ``2^26 / 2^128``. Wrong multiplicities are caught the same way (a table
entry's residue does not cancel).

Two challenges
--------------
The term ``L / p^2`` of (a) grows with the leaves: a 30-block decoder over a hundred positions
has ``L ~ 2^29`` limb entries in all, ``2^-99`` alone, below a 100-bit budget. With
``repetitions = 2`` the LogUp runs at two independent challenges ``alpha, alpha'`` (drawn
together after the commitments) and must cancel at both, so (a) fails with probability at most
``(L / p^2)^2``. The two instances share everything but ``alpha``, so each tree interleaves them:
``c_j + 1`` leaf variables, the last (lowest) one choosing the instance (``alpha`` for 0,
``alpha'`` for 1), one GKR over both. The GKR pairs the halves of the top variable first, so the
root's two children are the sums over the even and the odd leaves: the sums at ``alpha`` and
``alpha'`` are the first layer's end values ``(pL, qL)`` and ``(pR, qR)``, bound to the tree
like every layer's (the ``mu`` step). Step 3 checks both sums, and the leaf claim at
``(r, r_c)`` is step 3's formula at ``r`` with ``alpha + r_c (alpha' - alpha)`` in place of
``alpha`` (the leaves are linear in the challenge). The block values are still
one per block, at the tree's point, so the openings do not grow; the prover's fraction-tree
work doubles (trees hold at most ``2^(MAX_TREE_VARS - 1)`` blocks' leaves so that interleaved
trees keep the size bound). Error: ``(L / p^2)^2`` plus the GKR's terms above with ``c_j + 1``
layers per tree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from zkinfer.codec import Reader, Writer
from zkinfer.errors import FieldRangeError, VerificationError
from zkinfer.field import extension as ext
from zkinfer.field import goldilocks as gl
from zkinfer.field.scalar import Fp2
from zkinfer.lookup.gkr import FractionBatchProof, prove_fraction_sums, verify_fraction_sums
from zkinfer.lookup.logup import range_table_scalar
from zkinfer.sumcheck.common import SumcheckProof
from zkinfer.transcript import Transcript

__all__ = [
    "TABLE_BITS",
    "MAX_TREE_VARS",
    "MAX_TREES",
    "LABEL_BLOCK_EVALS",
    "range_multiplicities",
    "Block",
    "Tree",
    "block_list",
    "tree_plan",
    "plan",
    "REPETITIONS",
    "RangeProof",
    "BlockClaim",
    "prove_range_lookup",
    "verify_range_lookup",
]

U64 = npt.NDArray[np.uint64]

TABLE_BITS = 16
"""Widest range table: ``2^16`` rows."""

MAX_TREE_VARS = 24
"""Leaves of one fraction tree: at most ``2^24`` (unless one block is larger). Trees keep the
padding at the end of each (blocks are powers of two, laid largest first); the trees of a range
check are proven together, so the verifier's rounds follow the deepest tree, and the prover holds
all of them (about 64 bytes per leaf)."""

MAX_TREES = 1 << 12
"""Most fraction trees in one range proof (a decoding bound)."""

REPETITIONS = (1, 2)
"""The LogUp is run at one challenge ``alpha`` or at two independent ones (``alpha, alpha'``,
both instances of a tree interleaved in one GKR): see "Two challenges" in the module docstring."""

_MAX_BLOCK_EVALS = 1 << 20  # a decoding bound on the block evaluations of one range proof
_SPLIT_FROM_VARS = 16  # trees from 2^16 leaves on are halved rather than padded by over 1/8
_LABEL_LAYOUT = b"range/layout"
_LABEL_ALPHA = b"range/alpha"
_LABEL_ALPHA2 = b"range/alpha-2"
LABEL_BLOCK_EVALS = b"range/block-evals"
"""The label under which each tree's block values are absorbed."""


def _check_width(width: int) -> int:
    if not isinstance(width, (int, np.integer)) or not 1 <= int(width) <= TABLE_BITS:
        raise FieldRangeError(f"range tables are 1..{TABLE_BITS} bits wide, got {width!r}")
    return int(width)


def range_multiplicities(columns: Sequence[npt.ArrayLike], width: int, strict: bool = True) -> U64:
    """How often each value of the table ``[0, 2^width)`` occurs among the entries of
    ``columns`` (exactly their entries: the fraction trees' padding is not looked up).

    Arguments:
        strict: raise on a value outside the table (the default); with ``False`` such values
            are left uncounted (a cheating prover's witness, for tests: the verifier rejects it).

    Raises:
        FieldRangeError: ``width`` outside ``1..16``, a non-canonical entry, or (``strict``) a
            value outside ``[0, 2^width)``.
    """
    size = 1 << _check_width(width)
    counts = np.zeros(size, dtype=np.int64)
    for k, col in enumerate(columns):
        v = gl.as_field(col, f"column {k}").reshape(-1)
        if v.size and int(v.max()) >= size:
            if strict:
                raise FieldRangeError(f"value {int(v.max())} outside [0, 2^{width})")
            v = v[v < size]
        counts += np.bincount(v.astype(np.int64), minlength=size)
    return counts.astype(np.uint64)


@dataclass(frozen=True, eq=False)
class RangeProof:
    """The fraction-sum proof of all trees together, and every block's value at its part of its
    tree's leaf point, in the canonical block order (widths ascending; per width ``m_w``, then
    the columns)."""

    fractions: FractionBatchProof
    evals: U64  # (num_blocks, 2)

    KIND: ClassVar[str] = "range"  # its name in proof-size reports

    def write(self, w: Writer) -> None:
        """The trees' fraction-sum proof, then the block evaluations (a u32 count and the
        elements)."""
        self.fractions.write(w)
        w.ext_vec(self.evals)

    @classmethod
    def read(cls, r: Reader) -> RangeProof:
        """Strict decoding (the inverse of :meth:`write`).

        Raises:
            ProofFormatError: a malformed fraction-sum proof (:meth:`FractionBatchProof.read`),
                more than ``2^20`` block evaluations, truncation.
        """
        return cls(FractionBatchProof.read(r), r.ext_vec(_MAX_BLOCK_EVALS))

    def sumchecks(self) -> list[SumcheckProof]:
        """The layers' sumcheck proofs, top layer first."""
        return self.fractions.sumchecks()


@dataclass(frozen=True)
class Block:
    """A column (``column >= 0``, its index among the width's columns) or a width's table
    (``column == -1``, its multiplicities ``m_w``) of ``2^num_vars`` leaves."""

    width: int
    column: int
    num_vars: int


@dataclass(frozen=True)
class Tree:
    """A fraction tree of ``2^num_vars`` leaves: its blocks (indices into the canonical block
    list, in layout order), each block's first leaf, and ``fill`` leaves holding blocks (the
    rest is padding)."""

    num_vars: int
    blocks: tuple[int, ...]
    offsets: tuple[int, ...]
    fill: int


@dataclass(frozen=True, eq=False)
class BlockClaim:
    """``block(point) = value`` for one block of the canonical list: ``m_w`` for a table, the
    column for a column; the caller proves it by an opening."""

    block: Block
    point: U64
    value: U64


def block_list(sizes: Mapping[int, Sequence[int]]) -> list[Block]:
    """The canonical block list for the columns' lengths per width: per width (ascending) its
    table, then its columns.

    Raises:
        FieldRangeError: a width outside ``1..16`` or a length that is not a power of two.
    """
    out = []
    for w in sorted(_check_width(w) for w in sizes):
        out.append(Block(w, -1, w))
        for k, s in enumerate(sizes[w]):
            s = int(s)
            if s < 1 or s & (s - 1):
                raise FieldRangeError(f"{w}-bit column {k}: length {s} is not a power of two")
            out.append(Block(w, k, s.bit_length() - 1))
    return out


def tree_plan(blocks: Sequence[Block], max_tree_vars: int) -> list[Tree]:
    """Cut the blocks (largest first) into fraction trees; see the module docstring."""
    order = sorted(range(len(blocks)), key=lambda b: -blocks[b].num_vars)
    if not order:
        return []
    cap = max(int(max_tree_vars), blocks[order[0]].num_vars)
    remaining = sum(1 << b.num_vars for b in blocks)
    trees, i = [], 0
    while i < len(order):
        c = (remaining - 1).bit_length()  # the smallest tree that holds the rest
        if c > cap:
            c = cap
        elif c >= _SPLIT_FROM_VARS and ((1 << c) - remaining) * 8 > 1 << c:
            c -= 1  # more than 1/8 padding: fill a half-size tree, the rest goes on
        members, offsets, fill = [], [], 0
        # sizes are powers of two, largest first: fill stays a multiple of the next block's size,
        # so the tree fills up exactly unless the blocks run out
        while i < len(order) and fill + (1 << blocks[order[i]].num_vars) <= 1 << c:
            members.append(order[i])
            offsets.append(fill)
            fill += 1 << blocks[order[i]].num_vars
            i += 1
        trees.append(Tree(c, tuple(members), tuple(offsets), fill))
        remaining -= fill
    return trees


def _check_repetitions(repetitions: object) -> int:
    if isinstance(repetitions, bool) or repetitions not in REPETITIONS:
        raise FieldRangeError(f"range look-ups run at 1 or 2 challenges, got {repetitions!r}")
    return int(repetitions)


def plan(blocks: Sequence[Block], max_tree_vars: int, repetitions: int = 1) -> list[Tree]:
    """The fraction trees of one range proof: :func:`tree_plan` with trees of at most
    ``2^(max_tree_vars - repetitions + 1)`` leaves, so that an interleaved tree (two challenges:
    twice the leaves) stays within ``2^max_tree_vars``."""
    return tree_plan(blocks, max_tree_vars - _check_repetitions(repetitions) + 1)


def _begin(transcript: Transcript, blocks: Sequence[Block], max_tree_vars: int,
           repetitions: int) -> list[U64]:
    data = bytearray(len(blocks).to_bytes(4, "little"))
    data.append(int(max_tree_vars))
    for b in blocks:
        data += bytes((b.width, b.column < 0, b.num_vars))
    transcript.append_bytes(_LABEL_LAYOUT, bytes(data))
    alphas = [transcript.challenge_ext(_LABEL_ALPHA)]
    if repetitions == 2:
        alphas.append(transcript.challenge_ext(_LABEL_ALPHA2))
    return alphas


def _tree_leaves(tree: Tree, blocks: Sequence[Block], data: Sequence[U64],
                    alphas: Sequence[U64]) -> tuple[U64, U64]:
    """The leaves the GKR proves: columns ``(1, alpha - f - w X)``, tables
    ``(-m, alpha - j - w X)``, padding ``(0, 1)``; with two challenges those at ``alpha'``
    interleaved with them (the lowest leaf variable chooses the challenge: 0
    ``alpha``, 1 ``alpha'``; the numerators are the same, the blocks' denominators use their
    own challenge, the padding is ``(0, 1)`` in both). Written by a Numba kernel."""
    from zkinfer.lookup import _kernels as K

    reps = len(alphas)
    size = reps << tree.num_vars
    p = np.zeros((size, 2), dtype=np.uint64)
    q = np.zeros((size, 2), dtype=np.uint64)
    q[reps * tree.fill:, 0] = 1
    a0 = np.array([a[0] for a in alphas], dtype=np.uint64)
    for b, off in zip(tree.blocks, tree.offsets):
        blk = blocks[b]
        a1 = np.array([(int(a[1]) - blk.width) % gl.P for a in alphas], dtype=np.uint64)
        K.block_leaves(p, q, np.ascontiguousarray(data[b], dtype=np.uint64), off, reps,
                       blk.column < 0, a0, a1)
    return p, q


def _sums(fractions: FractionBatchProof, tree: int, repetitions: int) -> list[tuple[Fp2, Fp2]]:
    """Tree ``tree``'s fraction sum per challenge: its root ``(P, Q)``, or with two challenges
    the sums over the even and the odd leaves, ``(pL, qL)`` (at ``alpha``) and ``(pR, qR)`` (at
    ``alpha'``): the tree's end values of the first layer (the GKR pairs the halves of the top
    variable first, so the root's two children split the leaves by the lowest variable), bound
    to the tree by the GKR's ``mu`` step. (Every interleaved tree has a first layer, so its end
    values are the ``tree``-th four.)"""
    if repetitions == 1:
        return [tuple(Fp2.vector(fractions.roots[tree]))]
    pl, pr, ql, qr = Fp2.vector(fractions.layers[0][1][4 * tree: 4 * tree + 4])
    return [(pl, ql), (pr, qr)]


def _leaf_claims(tree: Tree, blocks: Sequence[Block], evals: Sequence[Fp2], alpha: Fp2,
                 r: Sequence[Fp2]) -> tuple[Fp2, Fp2]:
    """``p(r), q(r)`` of the tree's leaves from the block values (module docstring, step 3).
    For an interleaved tree (two challenges) pass ``r`` without its last coordinate ``r_c`` and
    ``alpha + r_c (alpha' - alpha)``: the two instances differ only in ``alpha``, linearly.

    Pairs of ints throughout; the prefix factors ``e_b`` are built once per distinct prefix
    (blocks of one size at neighbouring offsets share all but their last bits), so a tree of
    ``B`` blocks costs ``O(B)`` products rather than ``O(B c)``."""
    c = tree.num_vars
    w, mod = ext.W, gl.P
    rr = [(int(x[0]), int(x[1])) for x in r]
    one_minus = [((1 - x0) % mod, -x1 % mod) for x0, x1 in rr]
    # e(l, bits) = eq(bits, r[:l]) for the top-l-bit prefix ``bits``; grown from (0, 0)
    memo: dict[tuple[int, int], tuple[int, int]] = {(0, 0): (1, 0)}

    def prefix(length: int, bits: int) -> tuple[int, int]:
        got = memo.get((length, bits))
        if got is None:
            a0, a1 = prefix(length - 1, bits >> 1)
            f0, f1 = rr[length - 1] if bits & 1 else one_minus[length - 1]
            got = memo[(length, bits)] = ((a0 * f0 + w * a1 * f1) % mod, (a0 * f1 + a1 * f0) % mod)
        return got

    al0, al1 = int(alpha[0]), int(alpha[1])
    p0 = p1 = q0 = q1 = cov0 = cov1 = 0
    for b, off in zip(tree.blocks, tree.offsets):
        blk = blocks[b]
        low = c - blk.num_vars  # prefix coordinates of the block
        e0, e1 = prefix(low, off >> blk.num_vars)  # e_b = eq(prefix_b, r_high)
        cov0, cov1 = cov0 + e0, cov1 + e1
        if blk.column < 0:
            v0, v1 = int(evals[b][0]), int(evals[b][1])
            p0, p1 = p0 - (e0 * v0 + w * e1 * v1), p1 - (e0 * v1 + e1 * v0)
            t = range_table_scalar(r[low:])  # the public table's extension
            d0, d1 = al0 - int(t[0]), al1 - int(t[1]) - blk.width
        else:
            p0, p1 = p0 + e0, p1 + e1
            d0, d1 = al0 - int(evals[b][0]), al1 - int(evals[b][1]) - blk.width
        q0, q1 = q0 + e0 * d0 + w * e1 * d1, q1 + e0 * d1 + e1 * d0
    # the padding: 1 - sum_b e_b
    return Fp2(p0, p1), Fp2(q0 + 1 - cov0, q1 - cov1)


def _data(groups: Mapping[int, Sequence[npt.ArrayLike]], multiplicities: Mapping[int, npt.ArrayLike],
          blocks: Sequence[Block]) -> list[U64]:
    widths = sorted(_check_width(w) for w in groups)
    if sorted(_check_width(w) for w in multiplicities) != widths:
        raise FieldRangeError("one multiplicity column per width expected")
    data: list[U64] = []
    for blk in blocks:
        if blk.column < 0:
            arr = gl.as_field(multiplicities[blk.width], f"{blk.width}-bit multiplicities")
            if arr.shape != (1 << blk.width,):
                raise FieldRangeError(f"{blk.width}-bit multiplicities: {1 << blk.width} "
                                      f"entries expected, got shape {arr.shape}")
        else:
            arr = gl.as_field(groups[blk.width][blk.column],
                              f"{blk.width}-bit column {blk.column}")
        data.append(np.ascontiguousarray(arr))
    return data


def _claims(blocks: Sequence[Block], points: Sequence[U64], evals: U64) -> list[BlockClaim]:
    return [BlockClaim(blk, points[b], evals[b].copy()) for b, blk in enumerate(blocks)]


def prove_range_lookup(
    groups: Mapping[int, Sequence[npt.ArrayLike]],
    multiplicities: Mapping[int, npt.ArrayLike],
    transcript: Transcript,
    *,
    max_tree_vars: int = MAX_TREE_VARS,
    repetitions: int = 1,
) -> tuple[RangeProof, list[BlockClaim]]:
    """Prove every entry of every column of ``groups[w]`` lies in ``[0, 2^w)``, for all ``w``.

    Arguments:
        groups: per width ``w`` (1..16), its columns as base-field tables of power-of-two
            lengths (committed by the caller).
        multiplicities: per width, from :func:`range_multiplicities` (committed by the caller).
        max_tree_vars: the tree size bound (:data:`MAX_TREE_VARS`; the verifier must use the
            same).
        repetitions: 1 or 2 challenges (see "Two challenges" in the module docstring; the
            verifier must use the same).

    Returns:
        The proof and one claim per block of :func:`block_list` (per width ascending: ``m_w``,
        then the columns).

    Raises:
        FieldRangeError: a width outside 1..16, malformed columns or multiplicities, or
            ``repetitions`` not 1 or 2.
    """
    from zkinfer.poly import _kernels as PK
    from zkinfer.poly import fast

    blocks = block_list({_check_width(w): [np.shape(c)[0] if np.ndim(c) == 1 else -1
                                           for c in cols] for w, cols in groups.items()})
    data = _data(groups, multiplicities, blocks)
    trees_plan = plan(blocks, max_tree_vars, repetitions)
    alphas = _begin(transcript, blocks, max_tree_vars, repetitions)
    evals = np.zeros((len(blocks), 2), dtype=np.uint64)
    points: list[U64] = [np.zeros((0, 2), dtype=np.uint64)] * len(blocks)
    leaves = [_tree_leaves(tree, blocks, data, alphas) for tree in trees_plan]
    fractions, _, rs = prove_fraction_sums(leaves, transcript)
    del leaves
    for tree, r in zip(trees_plan, rs):
        eqs: dict[int, U64] = {}
        end = tree.num_vars  # r[end:] is the challenge's coordinate, if any
        for b in tree.blocks:
            n = blocks[b].num_vars
            low = np.ascontiguousarray(r[end - n:end])
            if n not in eqs:
                eqs[n] = fast.eq_table(low)
            evals[b] = PK.inner_ext_base(eqs[n], data[b])
            points[b] = low
        transcript.append_ext(LABEL_BLOCK_EVALS, evals[list(tree.blocks)])
    return RangeProof(fractions, evals), _claims(blocks, points, evals)


def _ext_or_reject(value, shape: tuple[int, ...], check: str, what: str) -> U64:
    try:
        arr = ext.as_ext(value, what)
    except (FieldRangeError, ValueError, TypeError) as exc:
        raise VerificationError(check, f"{what}: {exc}") from None
    if arr.shape != shape:
        raise VerificationError(check, f"{what} of shape {arr.shape}, expected {shape}")
    return arr


def verify_range_lookup(
    sizes: Mapping[int, Sequence[int]],
    proof: RangeProof,
    transcript: Transcript,
    check: str = "range",
    *,
    max_tree_vars: int = MAX_TREE_VARS,
    repetitions: int = 1,
) -> list[BlockClaim]:
    """Verify; returns one claim per block of :func:`block_list` (the same as
    :func:`prove_range_lookup`), which the caller must prove.

    Arguments:
        sizes: per width, the columns' lengths (powers of two), from the statement.
        repetitions: 1 or 2 challenges, as the prover used (from the statement, never from the
            proof).

    Raises:
        VerificationError: the fractions do not cancel (a value outside its table, or wrong
            multiplicities), a zero denominator, a failed GKR layer, or block values that do not
            explain a tree's leaf claims (the check names the tree).
        FieldRangeError: ``repetitions`` not 1 or 2 (a caller's error).
    """
    blocks = block_list(sizes)
    trees_plan = plan(blocks, max_tree_vars, repetitions)
    stack = repetitions - 1  # the interleaved trees' extra (lowest) variable
    if not isinstance(proof, RangeProof) or not isinstance(proof.fractions, FractionBatchProof):
        raise VerificationError(check, "expected a range proof")
    fractions = proof.fractions
    _ext_or_reject(fractions.roots, (len(trees_plan), 2, 2), check,
                   "one root (P, Q) per fraction tree")
    depths = [tree.num_vars + stack for tree in trees_plan]
    if len(fractions.layers) != max(depths, default=0):
        raise VerificationError(check, "wrong number of layers", expected=max(depths, default=0),
                                got=len(fractions.layers))
    if stack and trees_plan:
        _ext_or_reject(fractions.layers[0][1], (4 * len(trees_plan), 2), f"{check} layer 0",
                       "the trees' halves' sums")
    evals = _ext_or_reject(proof.evals, (len(blocks), 2), check,
                           "one value per table and per column")
    alphas = [Fp2.from_array(a) for a in _begin(transcript, blocks, max_tree_vars, repetitions)]
    # per challenge: sum_j P_j / Q_j == 0 with every Q_j != 0: sum_j P_j prod_{i != j} Q_i == 0
    # (with two challenges the sums are the first layer's end values, which the GKR's first
    # step binds to the roots: checked as the trees are replayed below)
    sums = [_sums(fractions, j, repetitions) for j in range(len(trees_plan))]
    for a in range(repetitions):
        acc_p, acc_q = Fp2.ZERO, Fp2.ONE
        for j, tree_sums in enumerate(sums):
            p_j, q_j = tree_sums[a]
            if q_j == 0:
                raise VerificationError(f"{check} tree {j}", "fraction-sum denominator is zero")
            acc_p, acc_q = acc_p * q_j + p_j * acc_q, acc_q * q_j
        if acc_p != 0:
            raise VerificationError(check, "look-up fractions do not cancel (a value is not in "
                                    "its table, or the multiplicities are wrong)"
                                    + (f" at challenge {a + 1} of 2" if stack else ""))
    values = Fp2.vector(evals)
    points: list[U64] = [np.zeros((0, 2), dtype=np.uint64)] * len(blocks)
    replayed = verify_fraction_sums(depths, fractions, transcript, check=check)
    for j, (tree, (_, r, leaf)) in enumerate(zip(trees_plan, replayed)):
        rs = Fp2.vector(r)
        end = tree.num_vars  # rs[end] chooses the challenge, with two
        alpha = alphas[0] if not stack else alphas[0] + rs[end] * (alphas[1] - alphas[0])
        p, q = _leaf_claims(tree, blocks, values, alpha, rs[:end])
        if (p, q) != tuple(Fp2.vector(leaf)):
            raise VerificationError(f"{check} tree {j}", "table and column values do not "
                                    "explain the leaf claims")
        transcript.append_ext(LABEL_BLOCK_EVALS, evals[list(tree.blocks)])
        for b in tree.blocks:
            points[b] = np.ascontiguousarray(r[end - blocks[b].num_vars:end])
    return _claims(blocks, points, evals)
