"""Attacks on the sumcheck verifier (``sumcheck/verifier.py``, ``common.py``), one per check.

The forged proofs come from the reference prover of :mod:`tests.cheating.pcs`
(:func:`~tests.cheating.pcs.sumcheck_prove`), which absorbs the claim it is given and lets a test
doctor any round; each passes every earlier check and is rejected by exactly the one it is
named for (``check``, ``round`` and message asserted).
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.cheating import pcs as cheat
from zkinfer.codec import Reader, Writer
from zkinfer.errors import ProofFormatError, VerificationError
from zkinfer.field import extension as ext
from zkinfer.field import goldilocks as gl
from zkinfer.poly import multilinear as ml
from zkinfer.sumcheck import Expression, SumcheckProof
from zkinfer.sumcheck.prover import prove
from zkinfer.sumcheck.verifier import check_final, verify
from zkinfer.transcript import Transcript

DOMAIN = b"tests/sumcheck-attacks"
N = 5
# eq * (a * b - c) with an extension coefficient: degree 3, both coordinates in play
EXPR = Expression.sum_of_products(4, [(0, 1, 2), (0, 3)], [(3, 5), gl.P - 1])
CHECK = "matmul layer 2"  # a caller's name: the errors carry it


def _t() -> Transcript:
    """A fresh transcript of this file's domain."""
    return Transcript(DOMAIN)


@pytest.fixture(scope="module")
def tables():
    """Four tables of 2^5 entries (one extension, three base)."""
    rng = np.random.default_rng(41)
    return [ext.random(1 << N, rng)] + [gl.random(1 << N, rng) for _ in range(3)]


def _evals(tables, point):
    """``f_j(point)`` of every table."""
    return np.stack([ml.evaluate(t, point) for t in tables])


def _rejected(claim, proof, match: str, num_vars: int = N, expr: Expression = EXPR):
    """Verify ``proof`` for ``claim``; return the error (after checking its ``check``)."""
    with pytest.raises(VerificationError, match=match) as err:
        verify(claim, num_vars, expr, proof, _t(), check=CHECK)
    assert err.value.check == CHECK
    return err.value


def test_reference_prover_is_the_real_prover(tables):
    run = cheat.sumcheck_prove(tables, EXPR, _t())
    out = prove(tables, EXPR, _t())
    assert run.proof == out.proof and np.array_equal(run.claim, out.claim)
    assert np.array_equal(run.point, out.point) and np.array_equal(run.evaluations, out.evaluations)
    point, final = verify(run.claim, N, EXPR, run.proof, _t(), check=CHECK)
    check_final(EXPR, final, _evals(tables, point), check=CHECK)


# ---- s_j(1) is derived from both coordinates of the running claim


def _final_rejected(claim, proof, tables):
    """Every round passes (``s_j(1)`` is derived, not checked); the final check rejects."""
    point, final = verify(claim, N, EXPR, proof, _t(), check=CHECK)
    with pytest.raises(VerificationError, match="final evaluation P\\(f\\(r\\)\\) does not match") as err:
        check_final(EXPR, final, _evals(tables, point), check=CHECK)
    assert err.value.check == CHECK
    return err.value


@pytest.mark.parametrize("c", [1, gl.P - 1, 2**40])
def test_claim_off_by_a_multiple_of_x_rejected(tables, c):
    """S + c X with the honest rounds for S: the derived s_0(1) moves in the second coordinate
    only, which a verifier that used only the first coordinate would miss; under the true
    claim the same messages verify (so only the claim differs)."""
    true = cheat.sumcheck_prove(tables, EXPR, _t()).claim
    false = ext.add(true, cheat.x_multiple(c))
    run = cheat.sumcheck_prove(tables, EXPR, _t(), claim=false)
    _final_rejected(false, run.proof, tables)
    point, final = verify(true, N, EXPR, run.proof, cheat.AbsorbAs(DOMAIN, b"sumcheck/claim", false))
    check_final(EXPR, final, _evals(tables, point))


@pytest.mark.parametrize("c", [1, gl.P - 1])
def test_claim_off_by_a_base_constant_rejected(tables, c):
    """S + c: only the first coordinate differs."""
    true = cheat.sumcheck_prove(tables, EXPR, _t()).claim
    false = ext.add(true, ext.from_base(np.uint64(c)))
    run = cheat.sumcheck_prove(tables, EXPR, _t(), claim=false)
    _final_rejected(false, run.proof, tables)
    point, final = verify(true, N, EXPR, run.proof, cheat.AbsorbAs(DOMAIN, b"sumcheck/claim", false))
    check_final(EXPR, final, _evals(tables, point))


@pytest.mark.parametrize("j", [1, 3, N - 1])
@pytest.mark.parametrize("k", [0, 2, 3], ids=["s(0)", "s(2)", "s(3)"])
def test_round_value_off_by_a_multiple_of_x_rejected(tables, j, k):
    """s_j(k) moved by X after round j - 1 was honest: s_j(r_j) is wrong from there on."""

    def tamper(i, values):
        if i == j:
            values[k] = ext.add(values[k], cheat.x_multiple(1))
        return values

    run = cheat.sumcheck_prove(tables, EXPR, _t(), tamper=tamper)
    _final_rejected(run.claim, run.proof, tables)


def test_s1_is_not_sent(tables):
    """A changed s_j(1) is not in the proof at all: the message is s_j(0), s_j(2), s_j(3)."""

    def tamper(i, values):
        if i == 1:
            values[1] = ext.add(values[1], cheat.x_multiple(1))
        return values

    honest = cheat.sumcheck_prove(tables, EXPR, _t())
    run = cheat.sumcheck_prove(tables, EXPR, _t(), tamper=tamper)
    assert run.proof == honest.proof and run.proof.messages.shape == (N, EXPR.degree, 2)


# ---- the final check


@pytest.mark.parametrize("offset", [ext.ones(()), cheat.x_multiple(1)], ids=["one", "X"])
def test_false_claim_with_every_round_consistent_rejected_by_the_final_check(tables, offset):
    true = cheat.sumcheck_prove(tables, EXPR, _t()).claim
    false = ext.add(true, offset)
    run = cheat.sumcheck_prove(tables, EXPR, _t(), claim=false, adapt=True)
    point, final = verify(false, N, EXPR, run.proof, _t(), check=CHECK)  # every round passes
    with pytest.raises(VerificationError, match="final evaluation P\\(f\\(r\\)\\) does not match") as err:
        check_final(EXPR, final, _evals(tables, point), check=CHECK)
    assert err.value.check == CHECK


def test_true_claim_with_a_false_evaluation_rejected_by_the_final_check(tables):
    run = cheat.sumcheck_prove(tables, EXPR, _t())
    point, final = verify(run.claim, N, EXPR, run.proof, _t(), check=CHECK)
    evals = _evals(tables, point)
    evals[3] = ext.add(evals[3], cheat.x_multiple(1))
    with pytest.raises(VerificationError, match="final evaluation") as err:
        check_final(EXPR, final, evals, check=CHECK)
    assert err.value.check == CHECK


# ---- the exact number of rounds


@pytest.mark.parametrize("extra", [1, 2])
def test_appended_rounds_rejected(tables, extra):
    """Malleability: the honest proof with rounds appended (each consistent with the running
    claim) must not be a second valid proof of the same statement."""
    run = cheat.sumcheck_prove(tables, EXPR, _t(), extra_rounds=extra)
    assert np.array_equal(run.proof.messages[:N], prove(tables, EXPR, _t()).proof.messages)
    err = _rejected(run.claim, run.proof, "wrong number of rounds")
    assert (err.expected, err.got) == (N, N + extra)


def test_appended_round_rejected_after_decoding(tables):
    run = cheat.sumcheck_prove(tables, EXPR, _t(), extra_rounds=1)
    decoded = SumcheckProof.from_bytes(run.proof.to_bytes())
    assert decoded.num_rounds == N + 1
    _rejected(run.claim, decoded, "wrong number of rounds")


def test_round_appended_to_a_zero_variable_sumcheck_rejected():
    expr = Expression.product(2)
    tables = [np.array([3], dtype=np.uint64), np.array([5], dtype=np.uint64)]
    run = cheat.sumcheck_prove(tables, expr, _t(), extra_rounds=1)
    assert run.proof.num_rounds == 1 and np.array_equal(run.claim, ext.from_base(np.uint64(15)))
    err = _rejected(run.claim, run.proof, "wrong number of rounds", num_vars=0, expr=expr)
    assert (err.expected, err.got) == (0, 1)


def test_last_round_dropped_rejected(tables):
    run = cheat.sumcheck_prove(tables, EXPR, _t())
    err = _rejected(run.claim, SumcheckProof(run.proof.messages[:-1]), "wrong number of rounds")
    assert (err.expected, err.got) == (N, N - 1)


@pytest.mark.parametrize("shape", [(N, 6), (N * 3 * 2,)], ids=["2-d", "1-d"])
def test_round_polynomials_not_a_3d_array_rejected(tables, shape):
    run = cheat.sumcheck_prove(tables, EXPR, _t())
    _rejected(run.claim, SumcheckProof(run.proof.messages.reshape(shape)), "wrong number of rounds")


# ---- the degree of the round polynomials


@pytest.mark.parametrize("width", [EXPR.degree - 1, EXPR.degree + 1], ids=["lower", "higher"])
def test_round_polynomials_of_another_degree_rejected(tables, width):
    run = cheat.sumcheck_prove(tables, EXPR, _t())
    polys = run.proof.messages
    other = np.zeros((N, width, 2), dtype=np.uint64)
    other[:, : min(width, polys.shape[1])] = polys[:, : min(width, polys.shape[1])]
    err = _rejected(run.claim, SumcheckProof(other), "round polynomial has the wrong degree")
    assert (err.expected, err.got) == (EXPR.degree, width)


def test_round_polynomials_with_a_third_coordinate_rejected(tables):
    run = cheat.sumcheck_prove(tables, EXPR, _t())
    polys = run.proof.messages
    wide = np.concatenate([polys, np.zeros(polys.shape[:2] + (1,), dtype=np.uint64)], axis=2)
    _rejected(run.claim, SumcheckProof(wide), "round polynomial has the wrong degree")


def test_empty_round_polynomials_rejected_at_decoding():
    w = Writer()
    w.u32(3)
    w.u32(0)
    with pytest.raises(ProofFormatError, match="sumcheck proof: empty round messages"):
        SumcheckProof.read(Reader(w.finish(), "sumcheck proof"))
