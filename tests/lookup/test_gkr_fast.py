"""The dedicated GKR layer prover against the generic-sumcheck reference: same bytes, same
transcript, accepted by the verifier; its layer formula against the field kernels."""

from __future__ import annotations

import numba
import numpy as np
import pytest

from tests.conftest import written
from tests.field.test_llvm import operands
from tests.lookup.oracles import prove_fraction_sum_reference, prove_fraction_sums_reference
from zkinfer.errors import FieldRangeError, VerificationError
from zkinfer.field import _kernels as F
from zkinfer.field import _llvm as L
from zkinfer.field import extension as ext
from zkinfer.field import goldilocks as gl
from zkinfer.lookup import _kernels as K
from zkinfer.lookup import gkr, logup
from zkinfer.lookup.gkr import (
    FractionBatchProof,
    prove_fraction_sum,
    prove_fraction_sums,
    verify_fraction_sum,
    verify_fraction_sums,
)
from zkinfer.lookup.logup import multiplicities, prove_lookup, verify_lookup
from zkinfer.poly import multilinear as ml
from zkinfer.transcript import Transcript

D = b"tests/gkr-fast"
P = int(gl.P)


def assert_same_as_reference(p, q):
    """Fast and reference provers: equal proof bytes, root, point and transcript state; the
    verifier accepts and its leaf claims are ``p(r), q(r)``. Returns the fast proof."""
    p_before, q_before = p.copy(), q.copy()
    t_fast, t_ref = Transcript(D), Transcript(D)
    proof, root, point = prove_fraction_sum(p, q, t_fast)
    ref_proof, ref_root, ref_point = prove_fraction_sum_reference(p, q, t_ref)
    # the caller's leaves are read, never written
    assert np.array_equal(p, p_before) and np.array_equal(q, q_before)
    assert written(proof) == written(ref_proof)
    assert np.array_equal(root, ref_root)
    assert np.array_equal(point, ref_point)
    c = p.shape[0].bit_length() - 1
    t_ver = Transcript(D)
    root2, point2, leaf = verify_fraction_sum(c, proof, t_ver)
    assert np.array_equal(root2, root) and np.array_equal(point2, point)
    assert np.array_equal(leaf[0], ml.evaluate(p, point))
    assert np.array_equal(leaf[1], ml.evaluate(q, point))
    # all three transcripts end in one state
    after = t_fast.challenge_ext(b"after")
    assert np.array_equal(after, t_ref.challenge_ext(b"after"))
    assert np.array_equal(after, t_ver.challenge_ext(b"after"))
    return proof


@pytest.mark.parametrize("c", range(17))
def test_random_trees_match_reference(c):
    rng = np.random.default_rng(100 + c)
    assert_same_as_reference(ext.random(1 << c, rng), ext.random(1 << c, rng))


@pytest.mark.parametrize("c", [1, 2, 5, 11, 14])
@pytest.mark.parametrize("kind", ["ones", "zeros", "base", "logup"])
def test_structured_trees_match_reference(c, kind):
    rng = np.random.default_rng(c)
    n = 1 << c
    q = ext.random(n, rng)
    if kind == "ones":  # all-one numerators
        p = ext.ones(n)
    elif kind == "zeros":  # zero numerators: the root is 0 / Q
        p = ext.zeros(n)
    elif kind == "base":  # base-field leaves, small values
        p = ext.from_base(rng.integers(0, 5, n).astype(np.uint64))
        q = ext.from_base(rng.integers(1, 5, n).astype(np.uint64))
    else:  # a look-up: 1 / (alpha - f) against -m / (alpha - t), sums to zero
        t = np.arange(n // 2, dtype=np.uint64)
        f = rng.integers(0, n // 2, n // 2).astype(np.uint64)
        alpha = ext.random((), rng)
        p = np.concatenate([ext.ones(n // 2), ext.neg(ext.from_base(multiplicities(f, t)))])
        q = ext.sub(alpha, ext.from_base(np.concatenate([f, t])))
    proof = assert_same_as_reference(p, q)
    if kind == "zeros" or kind == "logup":
        assert np.array_equal(proof.root[0], ext.zeros(()))


def test_constant_tables_match_reference():
    # every leaf equal: all four half-tables constant, G(inf) = 0 in every round
    n = 1 << 9
    assert_same_as_reference(ext.ones(n), ext.ones(n))
    assert_same_as_reference(ext.zeros(n), ext.ones(n))


@pytest.mark.parametrize("threshold", [1, 1 << 40])
def test_threaded_and_serial_kernels_agree(monkeypatch, threshold):
    monkeypatch.setattr(K, "_PARALLEL_FROM", threshold)
    rng = np.random.default_rng(7)
    for c in (3, 10, 13):
        assert_same_as_reference(ext.random(1 << c, rng), ext.random(1 << c, rng))


def test_direct_g1_fallback_matches_reference(monkeypatch):
    # the branch taken when C_j r_j = 0 (probability ~ n / p^2): G(1) from the tables
    monkeypatch.setattr(gkr, "_direct_g1", lambda l1: True)
    rng = np.random.default_rng(8)
    for c in (2, 6, 13):
        assert_same_as_reference(ext.random(1 << c, rng), ext.random(1 << c, rng))


def test_strided_leaves():
    # a strided view of the leaves is copied, proven, and the view left untouched
    rng = np.random.default_rng(9)
    big_p, big_q = ext.random(1 << 9, rng), ext.random(1 << 9, rng)
    p, q = big_p[::2], big_q[::2]
    assert not p.flags.c_contiguous
    assert_same_as_reference(p, q)


def test_bad_leaves_rejected():
    rng = np.random.default_rng(10)
    with pytest.raises(FieldRangeError):
        prove_fraction_sum(ext.random(6, rng), ext.random(6, rng), Transcript(D))
    with pytest.raises(FieldRangeError):
        prove_fraction_sum(ext.random(8, rng), ext.random(4, rng), Transcript(D))
    bad = ext.random(8, rng)
    bad[3, 1] = gl.P
    with pytest.raises(FieldRangeError):
        prove_fraction_sum(ext.random(8, rng), bad, Transcript(D))


@pytest.mark.parametrize("where", [0, 5, 17, 40])
def test_tampered_leaf_denominator_rejected_by_logup(monkeypatch, where):
    # an honest look-up whose prover changes one leaf q before proving the fraction sum
    rng = np.random.default_rng(11)
    t = np.arange(16, dtype=np.uint64)
    f = rng.integers(0, 16, 32).astype(np.uint64)
    m = multiplicities(f, t)
    proof, _ = prove_lookup(f, t, m, Transcript(D))
    verify_lookup(32, 16, proof, Transcript(D))

    real = logup.prove_fraction_sum

    def tampered(p, q, transcript):
        q = q.copy()
        q[where] = ext.add(q[where], ext.ones(()))
        return real(p, q, transcript)

    monkeypatch.setattr(logup, "prove_fraction_sum", tampered)
    bad, _ = prove_lookup(f, t, m, Transcript(D))
    with pytest.raises(VerificationError):
        verify_lookup(32, 16, bad, Transcript(D))


# ---- several trees at once


def assert_batch_same_as_reference(leaves):
    """Fast and reference batch provers: equal proof bytes, roots, points and transcript state;
    the verifier accepts, each tree's leaf claims are its ``p(r), q(r)``. Returns the proof."""
    t_fast, t_ref, t_ver = Transcript(D), Transcript(D), Transcript(D)
    proof, roots, points = prove_fraction_sums(leaves, t_fast)
    ref, ref_roots, ref_points = prove_fraction_sums_reference(leaves, t_ref)
    assert written(proof) == written(ref)
    assert np.array_equal(roots, ref_roots)
    assert all(np.array_equal(a, b) for a, b in zip(points, ref_points))
    cs = [p.shape[0].bit_length() - 1 for p, _ in leaves]
    out = verify_fraction_sums(cs, proof, t_ver)
    for (p, q), c, pt, (_root, point, leaf) in zip(leaves, cs, points, out):
        assert point.shape == (c, 2) and np.array_equal(point, pt)
        assert np.array_equal(leaf[0], ml.evaluate(p, point))
        assert np.array_equal(leaf[1], ml.evaluate(q, point))
    assert np.array_equal(np.array([root for root, _, _ in out]).reshape(-1, 2, 2), roots)
    after = t_fast.challenge_ext(b"after")
    assert np.array_equal(after, t_ref.challenge_ext(b"after"))
    assert np.array_equal(after, t_ver.challenge_ext(b"after"))
    return proof


@pytest.mark.parametrize("cs", [(3,), (5, 5), (6, 4, 4, 1), (2, 7, 0, 3), (0,), (), (12, 11, 11)])
def test_batched_trees_match_reference(cs):
    rng = np.random.default_rng(sum(cs) + len(cs))
    leaves = [(ext.random(1 << c, rng), ext.random(1 << c, rng)) for c in cs]
    proof = assert_batch_same_as_reference(leaves)
    # one sumcheck per layer of the deepest tree: sum_{k < C} k rounds in all
    deepest = max(cs, default=0)
    assert [sc.num_rounds for sc in proof.sumchecks()] == list(range(deepest))
    assert [ev.shape[0] for _, ev in proof.layers] == [4 * sum(c > k for c in cs)
                                                       for k in range(deepest)]


@pytest.mark.parametrize("threshold", [1, 1 << 40])
def test_batched_threaded_serial_and_direct_g1_agree(monkeypatch, threshold):
    monkeypatch.setattr(K, "_PARALLEL_FROM", threshold)
    monkeypatch.setattr(gkr, "_direct_g1", lambda l1: threshold == 1)
    rng = np.random.default_rng(12)
    assert_batch_same_as_reference([(ext.random(1 << c, rng), ext.random(1 << c, rng))
                                    for c in (13, 9, 13)])


def test_one_tree_batch_is_the_single_tree_protocol():
    # the same transcript and messages: a single tree's proof is the batch of one
    rng = np.random.default_rng(13)
    p, q = ext.random(1 << 6, rng), ext.random(1 << 6, rng)
    t1, t2 = Transcript(D), Transcript(D)
    single, root, point = prove_fraction_sum(p, q, t1)
    batch, roots, points = prove_fraction_sums([(p, q)], t2)
    assert np.array_equal(roots[0], root) and np.array_equal(points[0], point)
    assert [(sc, ev.tolist()) for sc, ev in single.layers] == [
        (sc, ev.tolist()) for sc, ev in batch.layers]
    assert np.array_equal(t1.challenge_ext(b"x"), t2.challenge_ext(b"x"))


def _batch(rng, cs=(5, 3, 5)):
    leaves = [(ext.random(1 << c, rng), ext.random(1 << c, rng)) for c in cs]
    proof, _, _ = prove_fraction_sums(leaves, Transcript(D))
    return list(cs), proof


def _batch_rejected(cs, proof) -> VerificationError:
    with pytest.raises(VerificationError) as err:
        verify_fraction_sums(cs, proof, Transcript(D), check="batch")
    return err.value


@pytest.mark.parametrize("tree", [0, 1, 2])
@pytest.mark.parametrize("k", [0, 2, 4])
def test_batched_end_values_of_one_tree_tampered_rejected(tree, k):
    # any tree's end values in any layer it reaches: that layer's final check fails
    cs, proof = _batch(np.random.default_rng(14))
    if cs[tree] <= k:  # the short tree has no end values in that layer
        k = cs[tree] - 1
    active = [j for j, c in enumerate(cs) if c > k]
    sc, ev = proof.layers[k]
    ev = ev.copy()
    i = 4 * active.index(tree) + 2
    ev[i] = ext.add(ev[i], ext.ones(()))
    layers = list(proof.layers)
    layers[k] = (sc, ev)
    err = _batch_rejected(cs, FractionBatchProof(proof.roots, tuple(layers)))
    assert err.check == f"batch layer {k}" and "end values do not match" in str(err)


def test_batched_roots_swapped_rejected():
    # two trees of one depth with their roots exchanged: each tree's weight in the batch
    # differs, so the first layer's combination no longer matches
    cs, proof = _batch(np.random.default_rng(15), (4, 4))
    err = _batch_rejected(cs, FractionBatchProof(proof.roots[::-1].copy(), proof.layers))
    assert err.check == "batch layer 0" and "end values do not match" in str(err)


def test_batched_structure_must_match_the_depths():
    cs, proof = _batch(np.random.default_rng(16))
    err = _batch_rejected(cs[:2], proof)  # a root more than trees
    assert err.check == "batch" and "one root (P, Q) per tree" in str(err)
    # the depths are absorbed: another depth changes every challenge, and the first layer
    # with rounds ends on end values its last claim does not match
    err = _batch_rejected([5, 3, 4], proof)
    assert err.check == "batch layer 1" and "end values do not match the last round" in str(err)
    err = _batch_rejected([6, 3, 5], proof)
    assert err.check == "batch" and "wrong number of layers" in str(err)
    sc, ev = proof.layers[1]
    layers = list(proof.layers)
    layers[1] = (sc, ev[:-4])  # a tree's end values dropped
    err = _batch_rejected(cs, FractionBatchProof(proof.roots, tuple(layers)))
    assert err.check == "batch layer 1" and "four end values per tree" in str(err)


def test_batched_codec_round_trip_and_bounds():
    from zkinfer.codec import Reader
    from zkinfer.errors import ProofFormatError

    cs, proof = _batch(np.random.default_rng(17))
    data = written(proof)
    r = Reader(data)
    back = FractionBatchProof.read(r)
    r.finish()
    assert written(back) == data
    verify_fraction_sums(cs, back, Transcript(D))
    with pytest.raises(ProofFormatError, match="exceeds the bound"):
        FractionBatchProof.read(Reader((gkr.MAX_TREES + 1).to_bytes(4, "little") + data[4:]))
    with pytest.raises(ProofFormatError, match="left"):
        FractionBatchProof.read(Reader(gkr.MAX_TREES.to_bytes(4, "little") + data[4:]))
    for cut in (0, 3, 60, len(data) - 1):
        with pytest.raises(ProofFormatError):
            FractionBatchProof.read(Reader(data[:cut]))


def test_batched_bad_leaves_rejected():
    rng = np.random.default_rng(18)
    with pytest.raises(FieldRangeError, match="tree 1"):
        prove_fraction_sums([(ext.random(8, rng), ext.random(8, rng)),
                             (ext.random(6, rng), ext.random(6, rng))], Transcript(D))


# ---- the layer's fused formula F against the field kernels (the field's own intrinsics are
# tested in tests/field/test_llvm.py)


@numba.njit(cache=False)
def _f_fast(a, b, out):
    for i in range(a.shape[0]):
        lam7 = L.x7(b[i, 0], a[i, 1])[1]
        out[i, 0], out[i, 1] = K._xf(a[i, 0], a[i, 1], b[i, 0], b[i, 1], a[i, 1], b[i, 0],
                                     b[i, 1], a[i, 0], b[i, 0], a[i, 1], lam7)


@numba.njit(cache=False)
def _f_ref(a, b, out):
    for i in range(a.shape[0]):
        a0, a1, b0, b1 = a[i, 0], a[i, 1], b[i, 0], b[i, 1]
        # F(pL, pR, qL, qR) = pL qR + qL (pR + lambda qR) at pL = a, pR = b, qL = (a1, b0),
        # qR = (b1, a0), lambda = (b0, a1)
        u0, u1 = F.ext_mul(a0, a1, b1, a0)
        v0, v1 = F.ext_mul(b0, a1, b1, a0)
        s0, s1 = F.ext_mul(a1, b0, F.add(b0, v0), F.add(b1, v1))
        out[i, 0], out[i, 1] = F.add(u0, s0), F.add(u1, s1)


def test_layer_formula_matches_field_kernels():
    a, b = operands()
    got, want = np.empty_like(a), np.empty_like(a)
    _f_fast(a, b, got)
    _f_ref(a, b, want)
    assert np.array_equal(got, want)
