"""``WhirPCS`` (``zkinfer/commit/whir/scheme.py``): the default parameters and their figures, the
parameter bytes, completeness at the default parameters, and one attack per check through the
PCS interface, each rejected by exactly the check named.

Two kinds of attack, as in ``test_whir.py``: *edited* proofs (a message changed after the fact;
the check that guards it, or the first one that depends on the challenges it changes) and
*consistent forgeries* (the prover's test-only ``tamper`` hook of
:func:`zkinfer.commit.whir.pcs_prover.open_claims` changes one message before it is absorbed
and computes the rest honestly from it). The shared suites (``test_conformance.py``,
``test_parts_conformance.py``) also run on :data:`~tests.commit.helpers.WHIR_TEST`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from zkinfer.commit import OpeningClaim, Parts, WhirPCS, pcs_from_params
from zkinfer.commit.base import params_writer
from zkinfer.commit.whir import _common as C
from zkinfer.commit.whir import pcs_prover
from zkinfer.commit.whir.params import FIELD_BITS
from zkinfer.commit.whir.pcs_params import DEFAULT_MAX_VARS, WhirPCSParams
from zkinfer.commit.whir.scheme import WhirPCSProof
from zkinfer.errors import ProofFormatError, VerificationError
from zkinfer.field import extension as ext
from zkinfer.field import goldilocks as gl

from .helpers import WHIR_TEST, honest, random_batch, transcript

PCS = WHIR_TEST
GRINDING = WhirPCS(target_bits=32, max_vars=20, grinding_bits=6)


def _bump(a: np.ndarray, index) -> np.ndarray:
    """A copy of ``a`` with one base element at ``index`` increased by 1 (mod p)."""
    out = np.array(a, dtype=np.uint64, copy=True)
    out[index] = (int(out[index]) + 1) % gl.P
    return out


def _with_round(proof: WhirPCSProof, i: int, **changes) -> WhirPCSProof:
    rounds = list(proof.core.rounds)
    rounds[i] = dataclasses.replace(rounds[i], **changes)
    return dataclasses.replace(proof, core=dataclasses.replace(proof.core, rounds=tuple(rounds)))


def _rejected(pcs, com, claims, proof, check: str, round_: int | None = None, *,
              objects: bool = False) -> VerificationError:
    """Verify (from bytes, or the objects themselves for proofs that do not encode) and return
    the error, asserting its check (and round)."""
    with pytest.raises(VerificationError) as err:
        if objects:
            pcs.verify(com, claims, proof, transcript())
        else:
            pcs.verify(com.to_bytes(), claims, proof.to_bytes(), transcript())
    assert err.value.check == check, err.value
    if round_ is not None:
        assert err.value.round == round_, err.value
    return err.value


def _plain(pcs=PCS, tamper=None, seed: int = 31):
    """Two polynomials (2^10, 2^7), a claim on each and one on the whole vector."""
    rng = np.random.default_rng(seed)
    polys = random_batch(rng, [10, 7])
    com, data = pcs.commit(polys)
    points = [(0, ext.random(10, rng)), (1, ext.random(7, rng)), (None, ext.random(11, rng))]
    claims = [OpeningClaim(k, p, data.evaluate(k, p)) for k, p in points]
    proof = pcs_prover.open_claims(pcs.params, data, claims, transcript(), tamper)
    return com, claims, proof


def _parts(pcs=PCS, tamper=None, seed: int = 32):
    """Three parts of 2^9 entries; claims on parts 0 and 2 at one point, on part 1 at another,
    and one on the whole vector (part 1 is not claimed at the first point)."""
    rng = np.random.default_rng(seed)
    parts = Parts(9, (512, 300, 77))
    vectors = [gl.random(u, rng) for u in parts.used]
    com, data = pcs.commit_parts(parts, vectors)
    r, q = ext.random(9, rng), ext.random(9, rng)
    points = [(0, r), (2, r), (1, q), (None, ext.random(11, rng))]
    claims = [OpeningClaim(k, p, data.evaluate(k, p)) for k, p in points]
    proof = pcs_prover.open_claims(pcs.params, data, claims, transcript(), tamper)
    return com, claims, proof


@pytest.fixture(scope="module")
def plain():
    com, claims, proof = _plain()
    PCS.verify(com.to_bytes(), claims, proof.to_bytes(), transcript())
    return com, claims, proof


@pytest.fixture(scope="module")
def parts():
    com, claims, proof = _parts()
    PCS.verify(com.to_bytes(), claims, proof.to_bytes(), transcript())
    return com, claims, proof


def _tamper_nth(kind: str, n: int, change):
    """A tamper hook changing the ``n``-th message of ``kind`` (1-based)."""
    seen = [0]

    def tamper(k, i, v):
        if k == kind:
            seen[0] += 1
            if seen[0] == n:
                return change(v)
        return v

    return tamper


# ---- parameters and figures


def test_default_parameters_reach_105_bits_up_to_max_vars():
    pcs = WhirPCS()
    p = pcs.params
    assert (p.folding, p.log_inv_rate, p.target_bits, p.grinding_bits, p.max_vars) == (
        4, 2, 105, 0, DEFAULT_MAX_VARS) and DEFAULT_MAX_VARS == 28
    assert pcs.security_bits >= 105.0
    s = pcs.opening_soundness()
    assert s.proven and not s.insecure and s.bound == "unique-decoding" and s.grinding_bits == 0
    assert -math.log2(s.field_error + s.query_error) == pytest.approx(pcs.security_bits)
    # the figure is the worst size: every size up to max_vars stays within it
    for m in range(1, p.max_vars + 1):
        terms = p.terms(m)
        field = sum(2.0**e for _, e, q in terms if not q)
        query = sum(2.0**e for _, e, q in terms if q)
        assert field <= s.field_error * (1 + 1e-12) and query <= s.query_error * (1 + 1e-12)
        assert -math.log2(field + query) >= 105.0
        assert field < 2.0**-200  # F_p4: the field terms are negligible at every size


def test_the_terms_are_the_documented_ones():
    p = WhirPCS().params
    core = p.core(12)
    terms = dict((name, e) for name, e, _ in p.terms(12))
    assert terms["claims"] == -FIELD_BITS
    assert terms["parts"] == pytest.approx(math.log2(2**14 + 1) - FIELD_BITS)
    assert terms["fold 0.0"] == pytest.approx(math.log2(3 + 2**14) - FIELD_BITS)
    # round 1's domain is 2^k times smaller (the default shrink e = k): 2^(12 + 2 - 4)
    assert terms["fold 1.3"] == pytest.approx(math.log2(3 + 2**10) - FIELD_BITS)
    assert terms["ood 0"] == pytest.approx(core.num_vars(1) - 1 - FIELD_BITS)
    t0 = core.queries(0)
    assert terms["combination 0"] == pytest.approx(math.log2(t0 + 1) - FIELD_BITS)
    assert terms["queries 0"] == pytest.approx(t0 * math.log2(0.5 + 0.5 / 4))
    # ... at the same rate 1/4: as many queries, the same figure
    assert core.log_rate(1) == core.log_rate(0) == -2 and core.queries(1) == t0
    assert terms["queries 1"] == pytest.approx(t0 * math.log2(0.5 + 0.5 / 4))
    # every round's query phase meets 2^-query_bits without grinding
    for i in range(core.rounds):
        assert terms[f"queries {i}"] <= -p.query_bits


def test_query_counts_do_not_depend_on_grinding():
    off, on = WhirPCSParams(grinding_bits=0), WhirPCSParams(grinding_bits=8)
    assert off.query_bits == on.query_bits
    assert on.core(20).pow_bits == 8
    assert [on.core(20).queries(i) for i in range(4)] >= [off.core(20).queries(i)
                                                          for i in range(4)]
    assert on.hashing_bits > on.security_bits


def test_targets_and_out_of_range_parameters():
    # F_p4 lifts the F_p2 ceiling (~95 bits at 2^28 entries, rate 1/4): the queries alone set
    # the figure, up to the largest target at the largest domain
    assert WhirPCS(target_bits=100, max_vars=28).security_bits >= 100
    assert WhirPCS(target_bits=160, log_inv_rate=4, max_vars=28).security_bits >= 160
    for bad in (dict(folding=0), dict(log_inv_rate=5), dict(grinding_bits=17),
                dict(max_vars=29), dict(bound="conjectured"), dict(target_bits=True),
                dict(target_bits=161)):
        with pytest.raises(ValueError):
            WhirPCS(**bad)


def test_johnson_bound_is_labelled_not_proven_and_smaller():
    """The labelled heuristic: not proven (so the verifier's floor refuses it by default),
    domains shrinking by 2^(k // 2), the list sizes in the field terms, the documented queries,
    and an opening of MiniLM's sizes (7 parts of 2^24 and of 2^25) well under unique
    decoding's."""
    unique, johnson = WhirPCS().params, WhirPCS(bound="johnson").params
    assert unique.proven and not johnson.proven and johnson.security_bits >= 105
    s = WhirPCS(bound="johnson").opening_soundness()
    assert not s.proven and s.bound == "johnson"
    assert "bound='johnson'" in repr(WhirPCS(bound="johnson"))
    core = johnson.core(20)
    assert core.bound == "johnson" and core.shrink == 2 and unique.core(20).shrink == 4
    terms = dict((name, e) for name, e, _ in johnson.terms(20))
    ell0, ell1 = core.list_size(0), core.list_size(1)
    assert ell0 == pytest.approx(40) and ell1 == pytest.approx(160)  # 10 / rho: 1/4, then 1/16
    assert terms["parts"] == pytest.approx(math.log2(ell0 * (2**22 + 1)) - FIELD_BITS)
    assert terms["fold 1.0"] == pytest.approx(math.log2(3 * ell1 + ell1 * 2**20) - FIELD_BITS)
    assert terms["ood 0"] == pytest.approx(math.log2(ell1**2 / 2) + 16 - FIELD_BITS)
    for i in range(core.rounds):
        t = core.queries(i)
        delta = 1 - 1.05 * math.sqrt(2.0 ** core.log_rate(i))
        assert terms[f"queries {i}"] == pytest.approx(t * math.log2(1 - delta))
        assert terms[f"queries {i}"] <= -johnson.query_bits
    # later rounds at lower rates: far fewer queries than unique decoding's 160 per round
    assert [core.queries(i) for i in range(core.rounds)] < [unique.core(20).queries(0)] * 5
    assert sum(core.queries(i) for i in range(core.rounds)) < 3 * unique.core(20).queries(0)


def test_parameters_round_trip_and_are_strict():
    for pcs in (WhirPCS(), PCS, GRINDING, WhirPCS(folding=2, log_inv_rate=1, max_vars=16),
                WhirPCS(bound="johnson", max_vars=20)):
        again = pcs_from_params(pcs.params_bytes())
        assert isinstance(again, WhirPCS) and again.params == pcs.params
    raw = bytearray(WhirPCS().params_bytes())
    raw[-1] ^= 1  # query_bits that do not follow from the others
    with pytest.raises(ProofFormatError, match="query_bits"):
        WhirPCS.from_params(bytes(raw))
    w = params_writer("whir")
    for v in (4, 2, 200, 0, 0, 28, 203):  # a target above 160 bits
        w.u8(v)
    with pytest.raises(ProofFormatError, match="target_bits"):
        WhirPCS.from_params(w.finish())


# ---- completeness at the default parameters


@pytest.mark.parametrize("sizes", [[1], [9, 3, 0], [14]], ids=["1", "9+3+0", "14"])
def test_default_parameters_complete(sizes):
    pcs = WhirPCS()
    rng = np.random.default_rng(len(sizes))
    polys = random_batch(rng, sizes)
    points = [(k, ext.random(n, rng)) for k, n in enumerate(sizes)]
    com, proof, claims = honest(pcs, polys, points)
    pcs.verify(com.to_bytes(), claims, proof.to_bytes(), transcript())


@pytest.mark.parametrize("bound", ["unique-decoding", "johnson"])
def test_default_parameters_complete_on_parts(bound):
    pcs = WhirPCS(bound=bound)
    rng = np.random.default_rng(3)
    parts = Parts(8, (256, 100, 7))
    vectors = [gl.random(u, rng) for u in parts.used]
    com, data = pcs.commit_parts(parts, vectors)
    points = [(0, ext.random(8, rng)), (2, ext.random(8, rng)), (None, ext.random(10, rng))]
    claims = [OpeningClaim(k, p, data.evaluate(k, p)) for k, p in points]
    proof = pcs.open(data, [OpeningClaim(k, p) for k, p in points], transcript())
    pcs.verify(com.to_bytes(), claims, proof.to_bytes(), transcript())


def test_one_proof_for_many_claims_costs_about_one_claim():
    rng = np.random.default_rng(4)
    polys = random_batch(rng, [10] * 4)
    one = honest(PCS, polys, [(0, ext.random(10, rng))])[1].to_bytes()
    many = honest(PCS, polys, [(k, ext.random(10, rng)) for k in range(4)] * 3)[1].to_bytes()
    assert abs(len(many) - len(one)) < len(one) // 10


def test_commit_refuses_more_than_max_vars():
    small = WhirPCS(target_bits=32, max_vars=6)
    with pytest.raises(ValueError, match="max_vars"):
        small.commit([np.zeros(128, dtype=np.uint64)])
    with pytest.raises(ValueError, match="max_vars"):
        small.commit_part(Parts(7, (3,)), 0, np.zeros(3, dtype=np.uint64))
    com, proof, claims = honest(PCS, random_batch(np.random.default_rng(5), [7]),
                                [(0, ext.random(7, np.random.default_rng(6)))])
    _rejected(small, com, claims, proof, "whir pcs")  # verified against a smaller max_vars


# ---- attacks on a plain batch


def test_claim_value_rejected_by_the_first_sumcheck(plain):
    com, claims, proof = plain
    bad = list(claims)
    bad[1] = OpeningClaim(1, claims[1].point, _bump(claims[1].value, 1))
    # c_1 (v_1 + 1 - v_1) moves the claimed sum: h(0) + h(1) of the first fold misses it
    _rejected(PCS, com, bad, proof, "sumcheck", 0)


def test_sumcheck_message_consistent_prover():
    """h(2) of round 1's second fold forged: the next fold's honest h(0) + h(1) misses it."""
    folds = PCS.params.core(11).folds()
    com, claims, proof = _plain(tamper=_tamper_nth("sumcheck", folds[0] + 2,
                                                   lambda v: _bump(v, (2, 0))))
    _rejected(PCS, com, claims, proof, "sumcheck", 1)


def test_sumcheck_message_edited(plain):
    com, claims, proof = plain
    h = proof.core.rounds[1].sumcheck
    _rejected(PCS, com, claims, _with_round(proof, 1, sumcheck=_bump(h, (0, 0, 0))),
              "sumcheck", 1)


def test_ood_answer_consistent_prover():
    com, claims, proof = _plain(tamper=lambda k, i, v: _bump(v, 0) if k == "ood" else v)
    # gamma (forged - true answer) remains in the claim of round 1's sumcheck
    _rejected(PCS, com, claims, proof, "sumcheck", 1)


def test_final_polynomial_consistent_prover():
    com, claims, proof = _plain(tamper=lambda k, i, v: _bump(v, (0, 0)) if k == "final" else v)
    last = PCS.params.core(11).rounds - 1
    # the folds of the last function's leaves are the true polynomial's values
    _rejected(PCS, com, claims, proof, "final polynomial", last)


@pytest.mark.parametrize("i", [0, 1])
def test_query_answer_rejected_by_the_merkle_path(plain, i):
    com, claims, proof = plain
    leaves = proof.core.rounds[i].leaves
    index = (1, 2) if i == 0 else (1, 2, 0)
    _rejected(PCS, com, claims, _with_round(proof, i, leaves=_bump(leaves, index)), "merkle", i)


def test_query_answer_dropped(plain):
    com, claims, proof = plain
    leaves = proof.core.rounds[0].leaves
    _rejected(PCS, com, claims, _with_round(proof, 0, leaves=leaves[:-1]), "queries", 0)


@pytest.mark.parametrize("i", [0, 1])
def test_merkle_path_changed(plain, i):
    com, claims, proof = plain
    sib = list(proof.core.rounds[i].siblings)
    sib[0] = bytes([sib[0][0] ^ 1]) + sib[0][1:]
    _rejected(PCS, com, claims, _with_round(proof, i, siblings=tuple(sib)), "merkle", i)


def test_plain_proof_with_part_values_rejected(plain):
    com, claims, proof = plain
    bad = dataclasses.replace(proof, values=np.zeros((1, 1, 2), dtype=np.uint64), stack=0)
    with pytest.raises(ProofFormatError, match="part values without parts"):
        PCS.decode_proof(bad.to_bytes())
    _rejected(PCS, com, claims, bad, "whir pcs", objects=True)


def test_commitment_with_other_parameters_rejected(plain):
    com, claims, proof = plain
    _rejected(PCS, dataclasses.replace(com, folding=2), claims, proof, "whir pcs")
    _rejected(WhirPCS(target_bits=32, max_vars=20, log_inv_rate=1), com, claims, proof,
              "whir pcs")


@pytest.mark.parametrize("kind", ["poly out of range", "point of the wrong length",
                                  "value missing", "value not canonical"])
def test_malformed_claim_rejected(plain, kind):
    com, claims, proof = plain
    c = claims[1]
    bad = {
        "poly out of range": OpeningClaim(2, c.point, c.value),
        "point of the wrong length": OpeningClaim(1, np.asarray(c.point)[:-1], c.value),
        "value missing": OpeningClaim(1, c.point, None),
        "value not canonical": OpeningClaim(1, c.point, np.array([gl.P, 0], dtype=np.uint64)),
    }[kind]
    _rejected(PCS, com, [claims[0], bad, claims[2]], proof, "whir pcs")


# ---- grinding


def test_grinding_nonce(monkeypatch):
    com, claims, proof = _plain(GRINDING)
    # the verifier's proof-of-work seeds, one per round (the transcript state before the nonce)
    seeds: list[bytes] = []
    original = C.grinding_seed

    def spy(t):
        seeds.append(original(t))
        return seeds[-1]

    monkeypatch.setattr(C, "grinding_seed", spy)
    GRINDING.verify(com.to_bytes(), claims, proof.to_bytes(), transcript())
    monkeypatch.undo()
    nonce = proof.core.rounds[1].nonce
    assert C.pow_digest_ok(seeds[1], nonce, 6)
    bad = next(n for n in range(nonce + 1, nonce + 10_000) if not C.pow_digest_ok(seeds[1], n, 6))
    _rejected(GRINDING, com, claims, _with_round(proof, 1, nonce=bad), "grinding", 1)
    # grinding off: a non-zero nonce
    com0, claims0, proof0 = _plain()
    _rejected(PCS, com0, claims0, _with_round(proof0, 0, nonce=1), "grinding", 0)


# ---- attacks on a commitment made of parts


def test_part_claim_value_rejected_by_the_part_values(parts):
    com, claims, proof = parts
    bad = list(claims)
    bad[1] = OpeningClaim(2, claims[1].point, _bump(claims[1].value, 0))
    err = _rejected(PCS, com, bad, proof, "part values")
    assert "claim 1" in str(err)


def test_whole_vector_claim_value_rejected_by_the_part_values(parts):
    com, claims, proof = parts
    bad = list(claims)
    bad[3] = OpeningClaim(None, claims[3].point, _bump(claims[3].value, 1))
    err = _rejected(PCS, com, bad, proof, "part values")
    assert "claim 3" in str(err)


def test_part_value_edited(parts):
    """A claimed part's value changed in the proof: its claim no longer matches."""
    com, claims, proof = parts
    bad = dataclasses.replace(proof, values=_bump(proof.values, (0, 2, 0)))
    _rejected(PCS, com, claims, bad, "part values")


def test_unclaimed_part_value_consistent_prover():
    """f_1 at the first point is claimed by no claim (only through beta): the prover lies about
    it, absorbs the lie, and proves honestly on f = sum beta_s f_s: the combined claim at that
    point is off by beta_1, which the first sumcheck misses."""
    com, claims, proof = _parts(tamper=lambda k, i, v: _bump(v, (0, 1, 0)) if k == "values"
                                else v)
    _rejected(PCS, com, claims, proof, "sumcheck", 0)


def test_parts_query_answer_of_one_part_rejected_by_the_joint_path(parts):
    com, claims, proof = parts
    leaves = proof.core.rounds[0].leaves
    assert leaves.shape[1] == 3  # leaf j of every part
    _rejected(PCS, com, claims, _with_round(proof, 0, leaves=_bump(leaves, (0, 1, 3))),
              "merkle", 0)


def test_parts_leaves_of_one_part_dropped(parts):
    com, claims, proof = parts
    leaves = proof.core.rounds[0].leaves
    _rejected(PCS, com, claims, _with_round(proof, 0, leaves=leaves[:, :2]), "queries", 0,
              objects=True)


def test_parts_values_of_the_wrong_shape(parts):
    com, claims, proof = parts
    _rejected(PCS, com, claims, dataclasses.replace(proof, values=proof.values[:1]), "whir pcs")
    _rejected(PCS, com, claims[:2], proof, "whir pcs")  # one point fewer than the proof's


def test_parts_proof_bytes_carry_the_stack():
    com, claims, proof = _parts()
    raw = bytearray(proof.to_bytes())
    assert int.from_bytes(raw[6:10], "little") == 3
    raw[6] = 2  # two parts: the core proof no longer decodes to the same sizes
    with pytest.raises((ProofFormatError, VerificationError)):
        PCS.verify(com.to_bytes(), claims, bytes(raw), transcript())


# ---- the verifier imports no numba


_CHILD = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    from zkinfer.commit import OpeningClaim, pcs_from_params
    from zkinfer.errors import ProofFormatError, VerificationError
    from zkinfer.transcript import Transcript

    for params, com, proof, claims in json.load(sys.stdin):
        pcs = pcs_from_params(bytes.fromhex(params))
        claims = [OpeningClaim(k, np.array(p, dtype=np.uint64), np.array(v, dtype=np.uint64))
                  for k, p, v in claims]
        for flip in (False, True):
            raw = bytearray(bytes.fromhex(proof))
            raw[-1] ^= flip
            t = Transcript(b"zkinfer/tests/commit")
            t.append_bytes(b"test/prior", b"earlier protocol messages")
            try:
                pcs.verify(bytes.fromhex(com), claims, bytes(raw), t)
            except (VerificationError, ProofFormatError):
                assert flip, "honest proof rejected"
            else:
                assert not flip, "tampered proof accepted"
    banned = [m for m in sys.modules if m == "numba" or m.startswith("numba.")
              or m.endswith("._kernels") or m in ("zkinfer.poly.fast", "zkinfer.poly.ntt",
                                                   "zkinfer.commit.whir.prover",
                                                   "zkinfer.commit.whir.pcs_prover")]
    assert not banned, f"verifier imported {banned}"
    print("ok")
    """
)


def test_verifier_runs_without_numba(plain, parts):
    cases = []
    for com, claims, proof in (plain, parts):
        cases.append((PCS.params_bytes().hex(), com.to_bytes().hex(), proof.to_bytes().hex(),
                      [(c.poly, np.asarray(c.point).tolist(), np.asarray(c.value).tolist())
                       for c in claims]))
    out = subprocess.run([sys.executable, "-c", _CHILD], input=json.dumps(cases).encode(),
                         capture_output=True, timeout=120)
    assert out.returncode == 0, out.stderr.decode() + out.stdout.decode()
    assert out.stdout.decode().strip() == "ok"


def test_values_match_the_reference(parts):
    """The honest parts' values are the parts' evaluations (the reference evaluator)."""
    com, claims, proof = parts
    # claims 0 and 1 share a point: the proof has J = 3 points (r, q, the whole claim's tail)
    assert proof.values.shape == (3, 3, 2)
    assert np.array_equal(proof.values[0, 0], claims[0].value)
    assert np.array_equal(proof.values[0, 2], claims[1].value)
    assert np.array_equal(proof.values[1, 1], claims[2].value)
