"""Range checks over limbs: one tagged LogUp over all widths; honest columns verify,
out-of-range values (also in range for another width's table), wrong multiplicities and
tampered messages are rejected."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from zkinfer.codec import Reader, Writer
from zkinfer.errors import FieldRangeError, ProofFormatError, VerificationError
from zkinfer.field import extension as ext
from zkinfer.field import goldilocks as gl
from zkinfer.lookup import range as rng_mod
from zkinfer.lookup.range import RangeProof, range_multiplicities
from zkinfer.poly import multilinear as ml
from zkinfer.protocol.range import limb_widths, prove_ranges, verify_ranges
from zkinfer.transcript import Transcript

D = b"tests/range"


def test_limb_widths():
    assert limb_widths(8) == (8,)
    assert limb_widths(16) == (16,)
    assert limb_widths(20) == (16, 4)
    assert limb_widths(48) == (16, 16, 16)
    with pytest.raises(FieldRangeError):
        limb_widths(63)


# ---------------------------------------------------------------------------------------------
# instances

# widths with columns of different sizes; the 9-bit table (512 rows) is larger than its columns
SIZES = {1: [4], 3: [16, 8, 2], 5: [64, 1], 9: [8, 8]}
# tree size bounds: one tree for everything, or several (the 512-row table fills the first)
TREE_VARS = [rng_mod.MAX_TREE_VARS, 2]


def instance(seed: int, sizes=SIZES):
    rng = np.random.default_rng(seed)
    groups = {w: [rng.integers(0, 1 << w, s).astype(np.uint64) for s in ss]
              for w, ss in sizes.items()}
    return groups, {w: range_multiplicities(cols, w) for w, cols in groups.items()}


def names_of(sizes):
    return ({w: [f"w{w}.c{k}" for k in range(len(ss))] for w, ss in sizes.items()},
            {w: f"w{w}.m" for w in sizes})


def prove(groups, mults, tree_vars=rng_mod.MAX_TREE_VARS, reps=1, transcript=None):
    names, mnames = names_of(groups)
    return prove_ranges(groups, mults, transcript or Transcript(D), names, mnames,
                        max_tree_vars=tree_vars, repetitions=reps)


def verify(sizes, proof, tree_vars=rng_mod.MAX_TREE_VARS, reps=1, transcript=None):
    names, mnames = names_of(sizes)
    return verify_ranges(sizes, proof, transcript or Transcript(D), names, mnames,
                         max_tree_vars=tree_vars, repetitions=reps)


def rejected(sizes, proof, tree_vars=rng_mod.MAX_TREE_VARS, reps=1, transcript=None
             ) -> VerificationError:
    with pytest.raises(VerificationError) as info:
        verify(sizes, proof, tree_vars, reps, transcript)
    return info.value


REPS = pytest.mark.parametrize("reps", rng_mod.REPETITIONS)


# ---------------------------------------------------------------------------------------------
# completeness


@REPS
@pytest.mark.parametrize("tree_vars", TREE_VARS)
def test_completeness_over_several_widths(tree_vars, reps):
    groups, mults = instance(1)
    proof, claims = prove(groups, mults, tree_vars, reps)
    # tree_vars 2: the 512-row table alone (larger than the bound), then the rest
    plan = rng_mod.plan(rng_mod.block_list(SIZES), tree_vars, reps)
    assert proof.fractions.roots.shape[0] == len(plan) == (
        1 if tree_vars == rng_mod.MAX_TREE_VARS else 2)
    # the trees share their layers: as many as the largest tree's, four end values per tree
    # that reaches the layer
    depths = [t.num_vars + reps - 1 for t in plan]
    assert len(proof.fractions.layers) == max(depths)
    assert [ev.shape[0] for _, ev in proof.fractions.layers] == [
        4 * sum(d > k for d in depths) for k in range(max(depths))]
    got = verify(SIZES, proof, tree_vars, reps)
    assert got == claims
    # per width ascending: the multiplicities, then each column, each claim true
    expected = []
    for w in sorted(SIZES):
        expected.append((f"w{w}.m", mults[w]))
        expected += [(f"w{w}.c{k}", col) for k, col in enumerate(groups[w])]
    assert [c.poly for c in got] == [name for name, _ in expected]
    for claim, (_, table) in zip(got, expected):
        assert np.array_equal(ml.evaluate(table, claim.point), claim.value)


def test_completeness_one_width_and_no_widths():
    groups, mults = instance(2, {16: [1024, 256]})
    proof, claims = prove(groups, mults)
    assert verify({16: [1024, 256]}, proof) == claims
    proof, claims = prove({}, {})
    assert claims == [] and proof.fractions.roots.shape == (0, 2, 2)
    assert proof.fractions.layers == ()
    assert verify({}, proof) == []


def test_multiplicities_count_exactly_the_entries():
    cols = [np.array([0, 3, 3, 1], dtype=np.uint64), np.array([3, 2], dtype=np.uint64)]
    assert range_multiplicities(cols, 2).tolist() == [1, 1, 1, 3]
    with pytest.raises(FieldRangeError):
        range_multiplicities([np.array([300], dtype=np.uint64)], 8)
    # not strict: values outside the table (here 4 and p - 1) are not counted
    cheat = [np.array([0, 4, gl.P - 1, 3], dtype=np.uint64)]
    assert range_multiplicities(cheat, 2, strict=False).tolist() == [1, 0, 0, 1]
    with pytest.raises(FieldRangeError):
        range_multiplicities(cols, 17)


@given(st.lists(st.tuples(st.integers(1, 16), st.lists(st.integers(0, 20), max_size=6)),
                max_size=8, unique_by=lambda t: t[0]),
       st.integers(0, 26))
def test_plan_covers_every_block_once(spec, tree_vars):
    blocks = rng_mod.block_list({w: [1 << n for n in ns] for w, ns in spec})
    plan = rng_mod.tree_plan(blocks, tree_vars)
    seen = []
    largest = max((b.num_vars for b in blocks), default=0)
    for k, tree in enumerate(plan):
        assert tree.num_vars <= max(tree_vars, largest)
        end = 0
        for b, off in zip(tree.blocks, tree.offsets):
            size = 1 << blocks[b].num_vars
            assert off % size == 0 and off == end  # aligned, end to end
            end += size
        assert end == tree.fill <= 1 << tree.num_vars
        if k < len(plan) - 1:
            assert tree.fill == 1 << tree.num_vars  # only the last tree is padded
        seen += tree.blocks
    assert sorted(seen) == list(range(len(blocks)))


def test_plan_of_the_minilm_sizes():
    # the limb columns of all-MiniLM-L6 at 128 tokens (per width: count x 2^vars)
    counts = {1: {7: 1, 9: 1, 16: 30, 18: 3}, 2: {16: 14, 18: 16}, 3: {7: 25, 11: 6, 16: 2, 18: 1},
              4: {7: 60, 16: 12}, 5: {11: 6, 16: 6, 18: 18}, 6: {7: 2, 16: 35, 18: 6},
              7: {7: 13, 16: 12}, 8: {9: 2, 16: 46}, 9: {7: 50}, 10: {7: 5},
              11: {7: 26, 16: 6, 18: 12}, 12: {7: 13, 16: 8, 18: 12}, 13: {7: 1, 16: 61},
              14: {7: 13, 16: 3, 18: 2}, 15: {7: 12, 16: 14, 18: 10},
              16: {7: 336, 9: 1, 11: 12, 16: 170, 18: 54}}
    sizes = {w: [1 << n for n, c in cs.items() for _ in range(c)] for w, cs in counts.items()}
    blocks = rng_mod.block_list(sizes)
    plan = rng_mod.tree_plan(blocks, rng_mod.MAX_TREE_VARS)
    assert [t.num_vars for t in plan] == [24, 24, 24, 23, 22]
    values = sum(sum(s) for s in sizes.values()) + sum(1 << w for w in sizes)
    assert 0 <= sum(1 << t.num_vars for t in plan) - values < 1 << 17  # 0.1% padding


# ---------------------------------------------------------------------------------------------
# soundness


@REPS
@pytest.mark.parametrize("tree_vars", TREE_VARS)
def test_value_out_of_range_rejected(tree_vars, reps):
    groups, _ = instance(4)
    groups[3][1][5] = np.uint64(8)  # a 4-bit value in a 3-bit column
    mults = {w: range_multiplicities(c, w, strict=False) for w, c in groups.items()}
    proof, _ = prove(groups, mults, tree_vars, reps)
    err = rejected(SIZES, proof, tree_vars, reps)
    assert err.check == "range" and "do not cancel" in str(err)


def test_negative_value_rejected():
    groups, _ = instance(5)
    groups[5][0][0] = gl.encode_signed(np.array([-1]))[0]  # p - 1: in no table
    mults = {w: range_multiplicities(c, w, strict=False) for w, c in groups.items()}
    proof, _ = prove(groups, mults)
    err = rejected(SIZES, proof)
    assert err.check == "range" and "do not cancel" in str(err)


@pytest.mark.parametrize("tree_vars", TREE_VARS)
def test_value_of_a_wider_table_rejected(tree_vars):
    # the tagging attack: 5 is in the 3- and 5-bit tables but not in [0, 2), and the prover
    # counts it in the 3-bit table's multiplicities
    groups, _ = instance(6)
    groups[1][0][2] = np.uint64(5)
    mults = {w: range_multiplicities(c, w, strict=False) for w, c in groups.items()}
    mults[3][5] += np.uint64(1)
    proof, _ = prove(groups, mults, tree_vars)
    err = rejected(SIZES, proof, tree_vars)
    assert err.check == "range" and "do not cancel" in str(err)


def test_integer_tagged_value_rejected():
    # f = 2^(16+1) + 3 in a 1-bit column: f + 1 * 2^16 would be 3 + 3 * 2^16, an entry of the
    # 3-bit table under an integer tag w 2^16; under the tag w X it is in no table
    groups, _ = instance(7)
    groups[1][0][0] = np.uint64((2 << 16) + 3)
    mults = {w: range_multiplicities(c, w, strict=False) for w, c in groups.items()}
    mults[3][3] += np.uint64(1)
    proof, _ = prove(groups, mults)
    err = rejected(SIZES, proof)
    assert err.check == "range" and "do not cancel" in str(err)


@REPS
@pytest.mark.parametrize("tree_vars", TREE_VARS)
def test_wrong_multiplicity_rejected(tree_vars, reps):
    groups, mults = instance(8)
    mults[9][100] += np.uint64(1)  # a table row counted once too often
    proof, _ = prove(groups, mults, tree_vars, reps)
    err = rejected(SIZES, proof, tree_vars, reps)
    assert err.check == "range" and "do not cancel" in str(err)


@REPS
@pytest.mark.parametrize("tree_vars", TREE_VARS)
@pytest.mark.parametrize("block", [0, 2, 9])  # 1-bit table, a 3-bit column, a 9-bit column
def test_tampered_values_rejected(tree_vars, block, reps):
    groups, mults = instance(9)
    proof, _ = prove(groups, mults, tree_vars, reps)
    evals = proof.evals.copy()
    evals[block] = ext.add(evals[block], ext.ones(()))
    err = rejected(SIZES, RangeProof(proof.fractions, evals), tree_vars, reps)
    plan = rng_mod.plan(rng_mod.block_list(SIZES), tree_vars, reps)
    tree = next(j for j, t in enumerate(plan) if block in t.blocks)
    assert err.check == f"range tree {tree}" and "do not explain the leaf claims" in str(err)


def _with_root(proof: RangeProof, j: int, root) -> RangeProof:
    roots = proof.fractions.roots.copy()
    roots[j] = np.asarray(root, dtype=np.uint64)
    return RangeProof(dataclasses.replace(proof.fractions, roots=roots), proof.evals)


@pytest.mark.parametrize("tree_vars", TREE_VARS)
def test_tampered_root_rejected(tree_vars):
    groups, mults = instance(10)
    proof, _ = prove(groups, mults, tree_vars)
    j = proof.fractions.roots.shape[0] - 1
    root = proof.fractions.roots[j]
    # P/Q kept (both scaled): the sum still cancels, the trees' first layer does not
    two = ext.from_base(np.uint64(2))
    err = rejected(SIZES, _with_root(proof, j, ext.mul(root, two)), tree_vars)
    assert err.check == "range layer 0" and "end values do not match" in str(err)
    # P changed: the fractions no longer cancel
    err = rejected(SIZES, _with_root(proof, j, [ext.add(root[0], ext.ones(())), root[1]]),
                   tree_vars)
    assert err.check == "range" and "do not cancel" in str(err)
    # Q zero
    err = rejected(SIZES, _with_root(proof, j, [root[0], ext.zeros(())]), tree_vars)
    assert err.check == f"range tree {j}" and "denominator is zero" in str(err)


@REPS
@pytest.mark.parametrize("tree_vars", TREE_VARS)
def test_leaves_kernel_matches_the_definition(tree_vars, reps):
    # columns (1, alpha_k - f - w X), tables (-m, alpha_k - j - w X), padding (0, 1); with two
    # challenges leaf 2 i + k is entry i at alpha_k
    groups, mults = instance(14)
    blocks = rng_mod.block_list(SIZES)
    data = rng_mod._data(groups, mults, blocks)
    alphas = [np.array([5 + k, 11 + k], dtype=np.uint64) for k in range(reps)]
    for tree in rng_mod.plan(blocks, tree_vars, reps):
        p, q = rng_mod._tree_leaves(tree, blocks, data, alphas)
        want_p = [(0, 0)] * (reps << tree.num_vars)
        want_q = [(1, 0)] * (reps << tree.num_vars)
        for b, off in zip(tree.blocks, tree.offsets):
            blk = blocks[b]
            for i, v in enumerate(data[b].tolist()):
                for k, a in enumerate(alphas):
                    leaf = (off + i) * reps + k
                    sub = i if blk.column < 0 else v
                    want_p[leaf] = ((-v) % gl.P, 0) if blk.column < 0 else (1, 0)
                    want_q[leaf] = ((int(a[0]) - sub) % gl.P, (int(a[1]) - blk.width) % gl.P)
        assert p.tolist() == [list(x) for x in want_p]
        assert q.tolist() == [list(x) for x in want_q]


class _LuckyAlpha(Transcript):
    """A transcript whose first range challenge ``alpha`` is forced (a cheating prover's lucky
    draw); every other challenge is the transcript's."""

    def __init__(self, alpha):
        super().__init__(D)
        self._alpha = np.asarray(alpha, dtype=np.uint64)

    def challenge_ext(self, label):
        out = super().challenge_ext(label)
        return self._alpha.copy() if label == rng_mod._LABEL_ALPHA else out


def _lucky_instance():
    """A 1-bit column ``[0, 0, 6, 10/7]`` claimed in ``{0, 1}`` with multiplicities ``[3, 1]``,
    and the challenge ``alpha = 2 + X`` at which its fractions cancel: with ``a = alpha - X``,
    ``1/(a - 6) + 1/(a - 10/7) = 1/a + 1/(a - 1)`` reduces to ``(s - 1) a^2 - 2 t a + t = 0``
    (``s, t`` the sum and product of the two bad values), which ``a = 2`` solves."""
    bad = gl.mul(np.uint64(10), gl.inv(np.uint64(7)))
    col = np.array([0, 0, 6, int(bad)], dtype=np.uint64)
    return {1: [col]}, {1: np.array([3, 1], dtype=np.uint64)}, np.array([2, 1], dtype=np.uint64)


def test_a_lucky_first_challenge_passes_one_repetition_but_not_two():
    # the event the single challenge's error term bounds, made to happen: the out-of-range
    # entries 6 and 10/7 pass a one-challenge LogUp at alpha = 2 + X, and the second,
    # independent challenge catches them
    groups, mults, alpha = _lucky_instance()
    sizes = {1: [4]}
    proof, _ = prove(groups, mults, reps=1, transcript=_LuckyAlpha(alpha))
    verify(sizes, proof, reps=1, transcript=_LuckyAlpha(alpha))  # accepted: the bad event
    proof, _ = prove(groups, mults, reps=2, transcript=_LuckyAlpha(alpha))
    err = rejected(sizes, proof, reps=2, transcript=_LuckyAlpha(alpha))
    assert err.check == "range" and "do not cancel" in str(err) and "challenge 2 of 2" in str(err)


def test_two_challenges_tampered_halves_rejected():
    groups, mults = instance(13)
    proof, _ = prove(groups, mults, reps=2)
    frac = proof.fractions
    sc, ev = frac.layers[0]
    # the two halves' sums swapped: the sums still cancel, the root's layer does not
    swapped = ev[[1, 0, 3, 2]]
    forged = dataclasses.replace(frac, layers=((sc, swapped),) + frac.layers[1:])
    err = rejected(SIZES, RangeProof(forged, proof.evals), reps=2)
    assert err.check == "range layer 1"
    # a one-challenge proof where two are expected, and the other way round
    one, _ = prove(groups, mults, reps=1)
    err = rejected(SIZES, one, reps=2)
    assert err.check == "range" and "number of layers" in str(err)
    err = rejected(SIZES, proof, reps=1)
    assert err.check == "range" and "number of layers" in str(err)
    with pytest.raises(FieldRangeError, match="1 or 2 challenges"):
        verify(SIZES, proof, reps=3)


def test_tree_structure_must_match_the_sizes():
    groups, mults = instance(11)
    proof, _ = prove(groups, mults, 2)  # two trees, the verifier expects one
    err = rejected(SIZES, proof)
    assert err.check == "range" and "one root (P, Q) per fraction tree" in str(err)
    proof, _ = prove(groups, mults)
    err = rejected(SIZES, RangeProof(proof.fractions, proof.evals[:-1]))
    assert err.check == "range" and "one value per table and per column" in str(err)
    # the same columns claimed as another width
    err = rejected({1: [4], 3: [16, 8, 2], 5: [64, 1], 10: [8, 8]}, proof)
    assert err.check.startswith("range")


# ---------------------------------------------------------------------------------------------
# encoding


def range_layout(proof: RangeProof) -> bytes:
    """The range proof's layout written out field by field: u32 tree count, the roots (2 ext
    each), u32 layer count and layers (sumcheck, u32 count and 4 ext per tree reaching the
    layer), then the block evaluations as an extension vector (u32 count, elements)."""
    w = Writer()
    frac = proof.fractions
    w.u32(frac.roots.shape[0])
    w.ext(frac.roots.reshape(-1, 2))
    w.u32(len(frac.layers))
    for sc, evals in frac.layers:
        sc.write(w)
        w.u32(evals.shape[0])
        w.ext(evals)
    w.u32(proof.evals.shape[0])
    w.ext(proof.evals)
    return w.finish()


def test_codec_round_trip_and_bounds():
    groups, mults = instance(12)
    proof, _ = prove(groups, mults, 2)
    w = Writer()
    proof.write(w)
    data = w.finish()
    assert data == range_layout(proof)
    r = Reader(data)
    back = RangeProof.read(r)
    r.finish()
    assert isinstance(back, RangeProof)
    assert np.array_equal(back.fractions.roots, proof.fractions.roots)
    assert back.fractions.roots.shape[0] == 2
    assert np.array_equal(back.evals, proof.evals)
    assert len(back.sumchecks()) == len(proof.fractions.layers)
    assert [sc.messages.tolist() for sc in back.sumchecks()] == [
        sc.messages.tolist() for sc, _ in proof.fractions.layers]
    verify(SIZES, back, 2)
    # a huge tree count is refused before anything is allocated: by the bound, or by the bytes
    # left (32 per root)
    forged = (2**31).to_bytes(4, "little") + data[4:]
    with pytest.raises(ProofFormatError, match="exceeds the bound"):
        RangeProof.read(Reader(forged))
    forged = rng_mod.MAX_TREES.to_bytes(4, "little") + data[4:]
    with pytest.raises(ProofFormatError, match="exceeds the .* left"):
        RangeProof.read(Reader(forged))
    # a huge evaluation count likewise
    at = len(data) - 4 - 16 * proof.evals.shape[0]
    forged = data[:at] + (2**21).to_bytes(4, "little") + data[at + 4:]
    with pytest.raises(ProofFormatError, match="exceeds the bound"):
        RangeProof.read(Reader(forged))
    with pytest.raises(ProofFormatError, match="exceeds the 191 left"):
        RangeProof.read(Reader(data[:-1]))
    for cut in (0, 3, 40, len(data) // 2):
        with pytest.raises(ProofFormatError):
            RangeProof.read(Reader(data[:cut]))
