"""Claims on a commitment made of parts, one opening (``prove_part_openings``): completeness,
each verifier check by name, and the two-step form the engine uses (begin, then prove)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import written
from zkinfer.commit import LigeroPCS
from zkinfer.commit.base import Parts
from zkinfer.commit.trivial import TrivialPCS
from zkinfer.errors import VerificationError
from zkinfer.field import extension as ext
from zkinfer.field import goldilocks as gl
from zkinfer.poly import multilinear as ml
from zkinfer.protocol.openings import (
    JointOpeningsProof,
    PartClaim,
    begin_part_openings,
    prove_part_openings,
    verify_part_openings,
)
from zkinfer.transcript import Transcript

D = b"tests/openings"
PCSES = {"trivial": TrivialPCS, "ligero": lambda: LigeroPCS(log_blowup=1, target_bits=40)}


def _block(vector: np.ndarray, offset: int, n: int) -> np.ndarray:
    out = np.zeros(1 << n, dtype=np.uint64)
    have = vector[offset: offset + (1 << n)]
    out[: have.shape[0]] = have
    return out


def instance(seed: int, pcs_name: str = "trivial", used=(200, 37, 256), zeros: bool = False):
    """Three parts of 2^8 entries (one short, one tiny), claims of one to three terms, some
    spanning two parts, some sharing a point; with ``zeros``, parts 0 and 2 have zero runs."""
    rng = np.random.default_rng(seed)
    parts = Parts(8, used)
    vectors = [gl.random(u, rng) for u in used]
    if zeros:
        vectors[0][:40] = 0
        vectors[0][128:170] = 0
        vectors[2][8:120] = 0
        vectors[2][200:] = 0
    pcs = PCSES[pcs_name]()
    com, data = pcs.commit_parts(parts, vectors)
    shared = ext.random(4, rng)
    claims = []
    for terms in ([(0, 16, 4)], [(1, 0, 5), (2, 64, 5)], [(2, 0, 8)], [(0, 32, 4), (0, 48, 4)],
                  [(1, 32, 0)], [(2, 128, 4), (0, 0, 4), (1, 16, 4)]):
        value, built = ext.zeros(()), []
        for part, offset, n in terms:
            point = shared if n == 4 else ext.random(n, rng)
            coeff = ext.random((), rng)
            value = ext.add(value, ext.mul(coeff, ml.evaluate(_block(vectors[part], offset, n),
                                                               point)))
            built.append((part, offset, point, coeff))
        claims.append(PartClaim(tuple(built), value))
    return pcs, com, data, claims


def _prove(pcs, com, data, claims):
    return prove_part_openings(pcs, com, data, claims, Transcript(D))


@pytest.mark.parametrize("pcs_name", ["trivial", "ligero"])
def test_completeness(pcs_name):
    pcs, com, data, claims = instance(0, pcs_name)
    proof = _prove(pcs, com, data, claims)
    verify_part_openings(pcs, com, claims, proof, Transcript(D))
    assert len(proof.parts) == 3


def test_begun_first_is_the_same_proof():
    """Beginning (absorb and draw gamma) before proving, as the engine does, changes nothing
    when nothing is absorbed in between."""
    pcs, com, data, claims = instance(1, "ligero")
    t = Transcript(D)
    begun = begin_part_openings(com, claims, t)
    proof = prove_part_openings(pcs, com, data, claims, t, begun=begun)
    direct = _prove(pcs, com, data, claims)
    assert proof.totals.tobytes() == direct.totals.tobytes()
    assert proof.values.tobytes() == direct.values.tobytes()
    v = Transcript(D)
    verify_part_openings(pcs, com, claims, proof, v, begun=begin_part_openings(com, claims, v))


def test_one_false_claim_rejected_by_the_part_sums():
    pcs, com, data, claims = instance(2)
    proof = _prove(pcs, com, data, claims)
    bad = list(claims)
    bad[1] = PartClaim(claims[1].terms, ext.add(claims[1].value, ext.ones(())))
    with pytest.raises(VerificationError, match="the parts' sums do not add up to the claims") \
            as err:
        verify_part_openings(pcs, com, bad, proof, Transcript(D))
    assert err.value.check == "openings"


def test_a_false_claim_proven_as_sent_is_rejected():
    """The prover proves the false claim as it is (its part sums add up to it): a part's sum
    is then false, and its sumcheck or the final check fails."""
    pcs, com, data, claims = instance(3)
    bad = list(claims)
    bad[0] = PartClaim(claims[0].terms, ext.add(claims[0].value, ext.ones(())))
    proof = _prove(pcs, com, data, bad)
    with pytest.raises(VerificationError) as err:
        verify_part_openings(pcs, com, bad, proof, Transcript(D))
    assert err.value.check.startswith("openings")


def test_claim_moved_to_another_part_rejected():
    pcs, com, data, claims = instance(4)
    proof = _prove(pcs, com, data, claims)
    part, offset, point, coeff = claims[2].terms[0]
    moved = list(claims)
    moved[2] = PartClaim(((0, offset, point, coeff),), claims[2].value)
    with pytest.raises(VerificationError):
        verify_part_openings(pcs, com, moved, proof, Transcript(D))


def test_forged_opened_value_rejected_by_the_final_check():
    pcs, com, data, claims = instance(5)
    proof = _prove(pcs, com, data, claims)
    values = proof.values.copy()
    values[1] = ext.add(values[1], ext.ones(()))
    forged = JointOpeningsProof(proof.totals, proof.parts, proof.joint, values, proof.opening)
    with pytest.raises(VerificationError,
                       match=r"final evaluation sum_s alpha\^s W_s F_s does not match"):
        verify_part_openings(pcs, com, claims, forged, Transcript(D))


def test_shifted_part_sums_rejected_by_a_part_sumcheck():
    """Part sums that still add up (one raised, another lowered by the same amount): both
    parts' sumchecks start from false claims, which reach the final weighted sum."""
    pcs, com, data, claims = instance(6)
    proof = _prove(pcs, com, data, claims)
    totals = proof.totals.copy()
    totals[0] = ext.add(totals[0], ext.ones(()))
    totals[2] = ext.sub(totals[2], ext.ones(()))
    forged = JointOpeningsProof(totals, proof.parts, proof.joint, proof.values, proof.opening)
    with pytest.raises(VerificationError, match="final evaluation sum_s alpha") as err:
        verify_part_openings(pcs, com, claims, forged, Transcript(D))
    assert err.value.check == "openings"


def test_wrong_number_of_parts_rejected():
    pcs, com, data, claims = instance(7)
    proof = _prove(pcs, com, data, claims)
    short = JointOpeningsProof(proof.totals[:2], proof.parts[:2], proof.joint, proof.values[:2],
                               proof.opening)
    with pytest.raises(VerificationError, match="wrong number of parts"):
        verify_part_openings(pcs, com, claims, short, Transcript(D))


@pytest.mark.parametrize(("term", "why"), [
    ((3, 0, 4), "a part that does not exist"),
    ((1, 64, 4), "past the part's summed entries (37 used: 2^6)"),
    ((0, 8, 4), "an offset that is not a multiple of the block"),
    ((2, 0, 9), "a block larger than the part"),
])
def test_malformed_claim_rejected(term, why):
    pcs, com, data, claims = instance(8)
    proof = _prove(pcs, com, data, claims)
    part, offset, n = term
    bad = [*claims, PartClaim(((part, offset, ext.zeros(n), ext.ones(())),), ext.zeros(()))]
    with pytest.raises(VerificationError, match="malformed claim: a block outside its part"):
        verify_part_openings(pcs, com, bad, proof, Transcript(D))


def test_a_plain_commitment_is_refused():
    pcs = TrivialPCS()
    com, _ = pcs.commit([gl.random(16, np.random.default_rng(9))])
    with pytest.raises(VerificationError, match="not a commitment made of parts"):
        begin_part_openings(com, [], Transcript(D))


@pytest.mark.parametrize("seed", range(6))
def test_the_verifiers_vectorized_part_weights_match_the_dense_tables(seed):
    # W_s = sum over the terms on part s of gamma^i c eq(P_t, .), built as a dense table and
    # evaluated at r_s, against _weights_at (every part at once, one padded pass)
    from zkinfer.protocol.openings import _weights_at

    rng = np.random.default_rng(seed)
    sizes = [int(v) for v in rng.choice([0, 1, 3, 6, 7], size=4)]
    claims = []
    for _ in range(int(rng.integers(1, 9))):
        terms = []
        for _ in range(int(rng.integers(1, 4))):
            s = int(rng.integers(0, 4))
            n = int(rng.integers(0, sizes[s] + 1))
            offset = int(rng.integers(0, 1 << (sizes[s] - n))) << n
            terms.append((s, offset, ext.random(n, rng), ext.random((), rng)))
        claims.append(PartClaim(tuple(terms), ext.zeros(())))
    g = ext.random(len(claims), rng)
    points = [ext.random(m, rng) for m in sizes]
    dense = [ext.zeros((1 << m,)) for m in sizes]
    for i, c in enumerate(claims):
        for s, offset, point, coeff in c.terms:
            n = point.shape[0]
            block = ext.mul(ext.mul(g[i], coeff), ml.eq_table(point) if n else ext.ones((1,)))
            dense[s][offset: offset + (1 << n)] = ext.add(dense[s][offset: offset + (1 << n)],
                                                          block)
    want = np.stack([ml.evaluate(dense[s], points[s]) if sizes[s] else dense[s][0]
                     for s in range(4)])
    assert np.array_equal(_weights_at(claims, g, sizes, points), want)
    assert np.array_equal(_weights_at([], g[:0], sizes, points), ext.zeros((4,)))


def test_zero_chunk_skipping_sends_the_dense_proof(monkeypatch):
    """Parts with zero runs (as a trace's padding): the part sumchecks skip the pairs whose
    ``F`` entries are all zero, by chunks of two pairs here, and send the bytes of the dense
    sumchecks."""
    from zkinfer.protocol import openings
    from zkinfer.sumcheck import _kernels as SK

    pcs, com, data, claims = instance(5, "ligero", zeros=True)
    made, real = [], SK.live_pairs
    monkeypatch.setattr(openings, "_LIVE_SHIFT", 1)
    monkeypatch.setattr(SK, "live_pairs", lambda *a: made.append(real(*a)) or made[-1])
    skipped = _prove(pcs, com, data, claims)
    assert sum(any(m.min() == 0 for m in masks) for masks in made) == 2  # parts 0 and 2
    monkeypatch.setattr(SK, "live_pairs", lambda f, size, shift: [])
    dense = _prove(pcs, com, data, claims)
    assert written(skipped) == written(dense)
    verify_part_openings(pcs, com, claims, skipped, Transcript(D))
