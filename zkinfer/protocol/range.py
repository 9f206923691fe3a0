"""Range checks of many committed columns by one LogUp over all limb widths.

Limbs
-----
A column of declared width ``b`` (signed: ``[-2^(b-1), 2^(b-1))``, unsigned: ``[0, 2^b)``) is
shifted to ``u = v + 2^(b-1)`` (signed) or ``u = v`` and split into limbs of 16 bits, least
significant first, the last limb ``b mod 16`` bits wide (:func:`limb_widths`). Each limb column
is committed and must lie in the table ``[0, 2^w)`` of its width ``w <= 16``; the recomposition
``u = sum_k 2^(16 k) limb_k`` is linear, so it is checked on evaluation claims at one random
point (:func:`recompose`). With every limb in range, ``0 <= u < 2^b`` holds as integers since
``2^b < p``.

Tagged look-ups
---------------
All limb columns of all widths share one LogUp. An entry ``f`` of a column of width ``w`` is
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
sequence is cut into fraction trees (:func:`_plan`): each tree is a power of two of at most
``2^MAX_TREE_VARS`` leaves (or the largest block, if larger), holds whole blocks, and only its
end is padding, ``(p, q) = (0, 1)``, which adds ``0 / 1``. A tree of at least ``2^16`` leaves
that would be more than 1/8 padding is halved and the rest goes to the next trees. On the
MiniLM sizes at 128 tokens (62.7 M values, 16 tables) that is trees of ``2^24, 2^24, 2^24,
2^23, 2^22`` leaves, 62.9 M in all, where one LogUp per width padded to 159 M. The prover builds
and proves one tree at a time (its ``p, q`` and GKR layers are 64 bytes per leaf).

Protocol
--------
1. Both sides absorb the layout (widths, column sizes, ``MAX_TREE_VARS``); ``alpha`` is drawn.
2. Per tree ``j``, the fraction-sum GKR (:mod:`zkinfer.lookup.gkr`) proves its root
   ``(P_j, Q_j)`` down to claims ``p(r), q(r)`` at a leaf point ``r`` of ``c_j`` variables. The
   prover sends, for each block ``b`` in the tree (``n_b`` variables, local offset ``o_b``),
   ``v_b = col_b(r_low)`` or ``m_w(r_low)`` with ``r_low`` the last ``n_b`` coordinates of
   ``r``; they are absorbed before the next tree.
3. The verifier checks every ``Q_j != 0`` and ``sum_j P_j / Q_j = 0`` (as
   ``sum_j P_j prod_{i != j} Q_i = 0``), and for each tree, with ``e_b = eq(prefix_b, r_high)``
   (``prefix_b``: the top ``c_j - n_b`` bits of ``o_b``, as 0/1 coordinates),

       p(r) = sum_cols e_b  -  sum_tables e_b v_b,
       q(r) = sum_cols e_b (alpha - v_b - w_b X) + sum_tables e_b (alpha - t_w(r_low) - w X)
              + (1 - sum_b e_b),

   where ``t_w(r_low) = sum_k 2^(w-1-k) r_low[k]`` is the public table and the last term is the
   padding, ``sum_{x in padding} eq(r, x) = 1 - sum_b e_b`` (as ``sum_x eq(r, x) = 1``). This
   costs ``O(blocks * c_j)`` field operations.
4. Both sides return the claims ``m_w(r_low) = v`` and ``col(r_low) = v`` for the caller to
   prove by openings.

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
root (true roots with non-zero ``Q_j`` add up to ``R(alpha)``). Its GKR then ends in a false
leaf claim except with probability ``sum_{k < c_j} (3 k + 2) / p^2``. With the true block
values the formula of step 3 is exactly the leaves' multilinear extension at ``r`` (the tagged
column's extension is ``col(r_low) + w X``: a constant's extension is the constant), so some
sent ``v_b`` differs from the committed polynomial's value and the claim returned on it is
false, for the opening to reject (the PCS's own error).

Total: ``(total leaves + sum_j sum_{k < c_j} (3 k + 2)) / p^2`` plus the openings' error; at the
MiniLM sizes about ``2^26 / 2^128``. Wrong multiplicities are caught the same way (a table
entry's residue does not cancel).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from zkinfer.errors import FieldRangeError, VerificationError
from zkinfer.field import extension as ext
from zkinfer.field import goldilocks as gl
from zkinfer.lookup.gkr import FractionProof, prove_fraction_sum, verify_fraction_sum
from zkinfer.lookup.logup import range_table_eval
from zkinfer.protocol.claims import Claim
from zkinfer.transcript import Transcript

__all__ = [
    "LIMB_BITS",
    "MAX_TREE_VARS",
    "limb_widths",
    "split_limbs",
    "recompose",
    "range_multiplicities",
    "RangeProof",
    "prove_ranges",
    "verify_ranges",
]

U64 = npt.NDArray[np.uint64]
LIMB_BITS = 16
"""Widest range table: ``2^16`` rows."""

MAX_TREE_VARS = 24
"""Leaves of one fraction tree: at most ``2^24`` (unless one block is larger). The GKR keeps
about 64 bytes per leaf, so this bounds the prover's memory at about 1.5 GB."""

MAX_TREES = 1 << 12
"""Most fraction trees in one range proof (a decoding bound)."""

_SPLIT_FROM_VARS = 16  # trees from 2^16 leaves on are halved rather than padded by over 1/8
_LABEL_LAYOUT = b"range/layout"
_LABEL_ALPHA = b"range/alpha"
_LABEL_BLOCK_EVALS = b"range/block-evals"


def limb_widths(bits: int) -> tuple[int, ...]:
    """Widths of the limbs of a ``bits``-wide value, least significant first.

    Raises:
        FieldRangeError: ``bits`` outside ``[1, 62]`` (wider values would not fit ``p / 2``).
    """
    if not 1 <= bits <= 62:
        raise FieldRangeError(f"range checks support widths 1..62 bits, got {bits}")
    full, rest = divmod(bits, LIMB_BITS)
    return (LIMB_BITS,) * full + ((rest,) if rest else ())


def split_limbs(values: npt.ArrayLike, bits: int, signed: bool) -> list[npt.NDArray[np.int64]]:
    """The limbs of ``u = v + 2^(bits-1)`` (signed) or ``u = v``, least significant first.

    Raises:
        FieldRangeError: a value outside the declared range (the prover's own sanity check).
    """
    v = np.asarray(values, dtype=np.int64)
    u = v + (1 << (bits - 1)) if signed else v
    if u.size and (int(u.min()) < 0 or int(u.max()) >= 1 << bits):
        kind = "signed" if signed else "unsigned"
        raise FieldRangeError(f"value outside its declared {bits}-bit {kind} range")
    out = []
    shift = 0
    for w in limb_widths(bits):
        out.append((u >> shift) & ((1 << w) - 1))
        shift += w
    return out


def recompose(limb_values: npt.ArrayLike, bits: int, signed: bool) -> U64:
    """``sum_k 2^(16 k) limb_k - offset`` on extension values (e.g. claims at one point):
    equals ``v(r)`` exactly when the limbs recompose ``v``."""
    vals = ext.as_ext(limb_values, "limb values")
    widths = limb_widths(bits)
    if vals.shape[0] != len(widths):
        raise FieldRangeError(f"{bits}-bit values have {len(widths)} limbs, got {vals.shape[0]}")
    weights = ext.from_base(np.array([1 << (LIMB_BITS * k) for k in range(len(widths))],
                                     dtype=np.uint64))
    total = ext.sum(ext.mul(vals, weights), axis=0)
    if signed:
        total = ext.sub(total, ext.from_base(np.uint64(1 << (bits - 1))))
    return total


def _check_width(width: int) -> int:
    if not isinstance(width, (int, np.integer)) or not 1 <= int(width) <= LIMB_BITS:
        raise FieldRangeError(f"range tables are 1..{LIMB_BITS} bits wide, got {width!r}")
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
    """One fraction-sum proof per tree, and every block's value at its part of its tree's leaf
    point, in the canonical block order (widths ascending; per width ``m_w``, then the
    columns)."""

    trees: tuple[FractionProof, ...]
    evals: U64  # (num_blocks, 2)


@dataclass(frozen=True)
class _Block:
    width: int
    column: int  # index among the width's columns; -1 for the table (multiplicities m_w)
    num_vars: int


@dataclass(frozen=True)
class _Tree:
    num_vars: int
    blocks: tuple[int, ...]  # indices into the canonical block list, in layout order
    offsets: tuple[int, ...]  # each block's first leaf in the tree
    fill: int  # leaves holding blocks; the rest (up to 2^num_vars) is padding


def _blocks(sizes: Mapping[int, Sequence[int]]) -> list[_Block]:
    """The canonical block list: per width (ascending) its table, then its columns."""
    out = []
    for w in sorted(_check_width(w) for w in sizes):
        out.append(_Block(w, -1, w))
        for k, s in enumerate(sizes[w]):
            s = int(s)
            if s < 1 or s & (s - 1):
                raise FieldRangeError(f"{w}-bit column {k}: length {s} is not a power of two")
            out.append(_Block(w, k, s.bit_length() - 1))
    return out


def _plan(blocks: Sequence[_Block], max_tree_vars: int) -> list[_Tree]:
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
        trees.append(_Tree(c, tuple(members), tuple(offsets), fill))
        remaining -= fill
    return trees


def _begin(transcript: Transcript, blocks: Sequence[_Block], max_tree_vars: int) -> U64:
    data = bytearray(len(blocks).to_bytes(4, "little"))
    data.append(int(max_tree_vars))
    for b in blocks:
        data += bytes((b.width, b.column < 0, b.num_vars))
    transcript.append_bytes(_LABEL_LAYOUT, bytes(data))
    return transcript.challenge_ext(_LABEL_ALPHA)


def _leaves(tree: _Tree, blocks: Sequence[_Block], data: Sequence[U64], alpha: U64
            ) -> tuple[U64, U64]:
    """The tree's leaves ``(p, q)``: columns ``(1, alpha - f - w X)``, tables
    ``(-m, alpha - j - w X)``, padding ``(0, 1)``."""
    size = 1 << tree.num_vars
    p = np.zeros((size, 2), dtype=np.uint64)
    q = np.zeros((size, 2), dtype=np.uint64)
    q[tree.fill:, 0] = 1
    a0 = alpha[:1]
    for b, off in zip(tree.blocks, tree.offsets):
        blk = blocks[b]
        rows = slice(off, off + (1 << blk.num_vars))
        if blk.column < 0:
            p[rows, 0] = gl.neg(data[b])
            q[rows, 0] = gl.sub(a0, np.arange(1 << blk.num_vars, dtype=np.uint64))
        else:
            p[rows, 0] = 1
            q[rows, 0] = gl.sub(a0, data[b])
        q[rows, 1] = gl.sub(alpha[1:], np.uint64(blk.width))[0]
    return p, q


def _leaf_claims(tree: _Tree, blocks: Sequence[_Block], evals: U64, alpha: U64, r: U64
                 ) -> tuple[U64, U64]:
    """``p(r), q(r)`` of the tree's leaves from the block values (module docstring, step 3)."""
    c = tree.num_vars
    idx = list(tree.blocks)
    nv = np.array([blocks[b].num_vars for b in idx], dtype=np.int64)
    off = np.array(tree.offsets, dtype=np.int64)
    one = ext.ones(())
    # e_b = eq(prefix_b, r_high): one factor per prefix coordinate, 1 beyond the prefix
    e = ext.ones(len(idx))
    for i in range(c):
        active = (i < c - nv)[:, None]
        bit = (((off >> (c - 1 - i)) & 1) == 1)[:, None]
        factor = np.where(active, np.where(bit, r[i], ext.sub(one, r[i])), one)
        e = ext.mul(e, factor)
    is_table = np.array([blocks[b].column < 0 for b in idx])
    vals = evals[idx]
    inner = vals.copy()  # what q subtracts from alpha, before the tag
    for k in np.flatnonzero(is_table):
        inner[k] = range_table_eval(r[c - nv[k]:])
    tags = np.zeros((len(idx), 2), dtype=np.uint64)
    tags[:, 1] = [blocks[b].width for b in idx]
    qb = ext.sub(ext.sub(alpha, inner), tags)
    pb = np.where(is_table[:, None], ext.neg(vals), one)
    p = ext.sum(ext.mul(e, pb), axis=0)
    q = ext.add(ext.sum(ext.mul(e, qb), axis=0), ext.sub(one, ext.sum(e, axis=0)))
    return p, q


def _claims(blocks: Sequence[_Block], points: Sequence[U64], evals: U64,
            names: Mapping[int, Sequence[str]], mult_names: Mapping[int, str]) -> list[Claim]:
    out = []
    for b, blk in enumerate(blocks):
        name = mult_names[blk.width] if blk.column < 0 else names[blk.width][blk.column]
        out.append(Claim(name, points[b], evals[b].copy()))
    return out


def _default_names(counts: Mapping[int, int], names, mult_names
                   ) -> tuple[dict[int, list[str]], dict[int, str]]:
    cols = {w: (list(names[w]) if names is not None else [f"range{w}.col{k}" for k in range(n)])
            for w, n in counts.items()}
    for w, n in counts.items():
        if len(cols[w]) != n:
            raise FieldRangeError(f"{w}-bit columns: {n} columns, {len(cols[w])} names")
    mults = {w: (mult_names[w] if mult_names is not None else f"range{w}.mult") for w in counts}
    return cols, mults


def prove_ranges(
    groups: Mapping[int, Sequence[npt.ArrayLike]],
    multiplicities: Mapping[int, npt.ArrayLike],
    transcript: Transcript,
    names: Mapping[int, Sequence[str]] | None = None,
    mult_names: Mapping[int, str] | None = None,
    *,
    max_tree_vars: int = MAX_TREE_VARS,
) -> tuple[RangeProof, list[Claim]]:
    """Prove every entry of every column of ``groups[w]`` lies in ``[0, 2^w)``, for all ``w``.

    Arguments:
        groups: per width ``w`` (1..16), its limb columns as base-field tables of power-of-two
            lengths (committed by the caller).
        multiplicities: per width, from :func:`range_multiplicities` (committed by the caller).
        names, mult_names: the claims' names per width (default ``range{w}.col{k}``,
            ``range{w}.mult``).
        max_tree_vars: the tree size bound (:data:`MAX_TREE_VARS`; the verifier must use the
            same).

    Returns:
        The proof and the claims, per width ascending: ``m_w(point)``, then one per column.

    The legacy single-width form ``prove_ranges(columns, width, multiplicities, transcript[,
    names])`` (positional only) is still accepted: claims ``multiplicities``, ``col0``, ...

    Raises:
        FieldRangeError: a width outside 1..16, malformed columns or multiplicities.
    """
    from zkinfer.poly import _kernels as PK
    from zkinfer.poly import fast

    if not isinstance(groups, Mapping):
        # legacy, positional: (columns, width, multiplicities, transcript[, names])
        columns, width, mult, real_transcript, col_names = (groups, multiplicities, transcript,
                                                            names, mult_names)
        w = _check_width(width)
        if col_names is None:
            col_names = [f"col{k}" for k in range(len(columns))]
        return prove_ranges({w: columns}, {w: mult}, real_transcript, {w: col_names},
                            {w: "multiplicities"}, max_tree_vars=max_tree_vars)
    widths = sorted(_check_width(w) for w in groups)
    if sorted(_check_width(w) for w in multiplicities) != widths:
        raise FieldRangeError("one multiplicity column per width expected")
    cols, mults = _default_names({w: len(groups[w]) for w in widths}, names, mult_names)
    blocks = _blocks({w: [np.shape(c)[0] if np.ndim(c) == 1 else -1 for c in groups[w]]
                      for w in widths})
    data: list[U64] = []
    for blk in blocks:
        if blk.column < 0:
            arr = gl.as_field(multiplicities[blk.width], f"{blk.width}-bit multiplicities")
            if arr.shape != (1 << blk.width,):
                raise FieldRangeError(f"{blk.width}-bit multiplicities: {1 << blk.width} "
                                      f"entries expected, got shape {arr.shape}")
        else:
            arr = gl.as_field(groups[blk.width][blk.column], f"{cols[blk.width][blk.column]}")
        data.append(np.ascontiguousarray(arr))
    plan = _plan(blocks, max_tree_vars)
    alpha = _begin(transcript, blocks, max_tree_vars)
    evals = np.zeros((len(blocks), 2), dtype=np.uint64)
    points: list[U64] = [np.zeros((0, 2), dtype=np.uint64)] * len(blocks)
    trees = []
    for tree in plan:
        p, q = _leaves(tree, blocks, data, alpha)
        frac, _, r = prove_fraction_sum(p, q, transcript)
        del p, q
        eqs: dict[int, U64] = {}
        for b in tree.blocks:
            n = blocks[b].num_vars
            low = np.ascontiguousarray(r[tree.num_vars - n:])
            if n not in eqs:
                eqs[n] = fast.eq_table(low)
            evals[b] = PK.inner_ext_base(eqs[n], data[b])
            points[b] = low
        transcript.append_ext(_LABEL_BLOCK_EVALS, evals[list(tree.blocks)])
        trees.append(frac)
    proof = RangeProof(tuple(trees), evals)
    return proof, _claims(blocks, points, evals, cols, mults)


def _ext_or_reject(value, shape: tuple[int, ...], check: str, what: str) -> U64:
    try:
        arr = ext.as_ext(value, what)
    except (FieldRangeError, ValueError, TypeError) as exc:
        raise VerificationError(check, f"{what}: {exc}") from None
    if arr.shape != shape:
        raise VerificationError(check, f"{what} of shape {arr.shape}, expected {shape}")
    return arr


def verify_ranges(
    sizes: Mapping[int, Sequence[int]],
    proof: RangeProof,
    transcript: Transcript,
    names: Mapping[int, Sequence[str]] | None = None,
    mult_names: Mapping[int, str] | None = None,
    check: str = "range",
    *,
    max_tree_vars: int = MAX_TREE_VARS,
) -> list[Claim]:
    """Verify; returns the claims ``m_w(point)``, then one per column, per width ascending
    (the same as :func:`prove_ranges`), which the caller must prove.

    Arguments:
        sizes: per width, the columns' lengths (powers of two), from the statement.

    The legacy single-width form ``verify_ranges(sizes, width, proof, transcript[, names])``
    (positional only; ``check`` by keyword) is still accepted.

    Raises:
        VerificationError: the fractions do not cancel (a value outside its table, or wrong
            multiplicities), a zero denominator, a failed GKR layer, or block values that do not
            explain a tree's leaf claims (the check names the tree).
    """
    if not isinstance(sizes, Mapping):
        # legacy, positional: (sizes, width, proof, transcript[, names[, check]])
        width, real_proof, real_transcript, col_names = proof, transcript, names, mult_names
        w = _check_width(width)
        if col_names is None:
            col_names = [f"col{k}" for k in range(len(sizes))]
        return verify_ranges({w: sizes}, real_proof, real_transcript, {w: col_names},
                             {w: "multiplicities"}, check, max_tree_vars=max_tree_vars)
    widths = sorted(_check_width(w) for w in sizes)
    cols, mults = _default_names({w: len(sizes[w]) for w in widths}, names, mult_names)
    blocks = _blocks(sizes)
    plan = _plan(blocks, max_tree_vars)
    if not isinstance(proof, RangeProof):
        raise VerificationError(check, "expected a range proof")
    if len(proof.trees) != len(plan):
        raise VerificationError(check, "wrong number of fraction trees", expected=len(plan),
                                got=len(proof.trees))
    evals = _ext_or_reject(proof.evals, (len(blocks), 2), check,
                           "one value per table and per column")
    roots = [_ext_or_reject(t.root, (2, 2), f"{check} tree {j}", "root")
             for j, t in enumerate(proof.trees)]
    alpha = _begin(transcript, blocks, max_tree_vars)
    # sum_j P_j / Q_j == 0 with every Q_j != 0: sum_j P_j prod_{i != j} Q_i == 0
    zero = ext.zeros(())
    acc_p, acc_q = zero, ext.ones(())
    for j, (p_j, q_j) in enumerate(roots):
        if np.array_equal(q_j, zero):
            raise VerificationError(f"{check} tree {j}", "fraction-sum denominator is zero")
        acc_p = ext.add(ext.mul(acc_p, q_j), ext.mul(p_j, acc_q))
        acc_q = ext.mul(acc_q, q_j)
    if not np.array_equal(acc_p, zero):
        raise VerificationError(check, "look-up fractions do not cancel (a value is not in its "
                                "table, or the multiplicities are wrong)")
    points: list[U64] = [np.zeros((0, 2), dtype=np.uint64)] * len(blocks)
    for j, (tree, frac) in enumerate(zip(plan, proof.trees)):
        tree_check = f"{check} tree {j}"
        _, r, leaf = verify_fraction_sum(tree.num_vars, frac, transcript, check=tree_check)
        p, q = _leaf_claims(tree, blocks, evals, alpha, r)
        if not (np.array_equal(p, leaf[0]) and np.array_equal(q, leaf[1])):
            raise VerificationError(tree_check, "table and column values do not explain the "
                                    "leaf claims")
        transcript.append_ext(_LABEL_BLOCK_EVALS, evals[list(tree.blocks)])
        for b in tree.blocks:
            points[b] = np.ascontiguousarray(r[tree.num_vars - blocks[b].num_vars:])
    return _claims(blocks, points, evals, cols, mults)
