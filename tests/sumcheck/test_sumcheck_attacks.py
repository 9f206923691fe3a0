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


# ---- the round check compares both coordinates of F_p2


@pytest.mark.parametrize("c", [1, gl.P - 1, 2**40])
def test_claim_off_by_a_multiple_of_x_rejected_at_round_0(tables, c):
    """S + c X with honest rounds: s_0(0) + s_0(1) = S agrees with the claim in the first
    coordinate, so a check of the first coordinate only would accept (the rest is honest and
    the final check holds)."""
    true = cheat.sumcheck_prove(tables, EXPR, _t()).claim
    false = ext.add(true, cheat.x_multiple(c))
    run = cheat.sumcheck_prove(tables, EXPR, _t(), claim=false)
    err = _rejected(false, run.proof, "s\\(0\\) \\+ s\\(1\\) does not match the claim")
    assert err.round == 0
    assert err.expected[0] == err.got[0] and err.expected[1] != err.got[1]
    # under the false claim's challenges the proof is an honest one for S: every later round
    # and the final check pass, so only the second coordinate of round 0 rejects it
    point, final = verify(true, N, EXPR, run.proof, cheat.AbsorbAs(DOMAIN, b"sumcheck/claim", false))
    check_final(EXPR, final, _evals(tables, point))


@pytest.mark.parametrize("c", [1, gl.P - 1])
def test_claim_off_by_a_base_constant_rejected_at_round_0(tables, c):
    """S + c: only the first coordinate differs (a check of the second coordinate only would
    accept)."""
    true = cheat.sumcheck_prove(tables, EXPR, _t()).claim
    false = ext.add(true, ext.from_base(np.uint64(c)))
    run = cheat.sumcheck_prove(tables, EXPR, _t(), claim=false)
    err = _rejected(false, run.proof, "s\\(0\\) \\+ s\\(1\\) does not match the claim")
    assert err.round == 0
    assert err.expected[1] == err.got[1] and err.expected[0] != err.got[0]
    point, final = verify(true, N, EXPR, run.proof, cheat.AbsorbAs(DOMAIN, b"sumcheck/claim", false))
    check_final(EXPR, final, _evals(tables, point))


@pytest.mark.parametrize("j", [1, 3, N - 1])
def test_round_off_by_a_multiple_of_x_rejected_at_that_round(tables, j):
    """s_j(0) moved by X after round j - 1 was honest: round j's sum is off in the second
    coordinate only."""

    def tamper(k, values):
        if k == j:
            values[0] = ext.add(values[0], cheat.x_multiple(1))
        return values

    run = cheat.sumcheck_prove(tables, EXPR, _t(), tamper=tamper)
    err = _rejected(run.claim, run.proof, "s\\(0\\) \\+ s\\(1\\) does not match the claim")
    assert err.round == j
    assert err.expected[0] == err.got[0] and err.expected[1] != err.got[1]


def test_round_values_moved_in_opposite_directions_pass_their_round_and_fail_the_next(tables):
    """s_1(0) + X and s_1(1) - X: round 1 checks, s_1(r_1) is wrong, round 2 rejects."""

    def tamper(k, values):
        if k == 1:
            values[0] = ext.add(values[0], cheat.x_multiple(1))
            values[1] = ext.sub(values[1], cheat.x_multiple(1))
        return values

    run = cheat.sumcheck_prove(tables, EXPR, _t(), tamper=tamper)
    assert _rejected(run.claim, run.proof, "does not match the claim").round == 2


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
    assert np.array_equal(run.proof.round_polys[:N], prove(tables, EXPR, _t()).proof.round_polys)
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
    err = _rejected(run.claim, SumcheckProof(run.proof.round_polys[:-1]), "wrong number of rounds")
    assert (err.expected, err.got) == (N, N - 1)


@pytest.mark.parametrize("shape", [(N, 8), (N * 4 * 2,)], ids=["2-d", "1-d"])
def test_round_polynomials_not_a_3d_array_rejected(tables, shape):
    run = cheat.sumcheck_prove(tables, EXPR, _t())
    _rejected(run.claim, SumcheckProof(run.proof.round_polys.reshape(shape)), "wrong number of rounds")


# ---- the degree of the round polynomials


@pytest.mark.parametrize("width", [EXPR.degree, EXPR.degree + 2], ids=["lower", "higher"])
def test_round_polynomials_of_another_degree_rejected(tables, width):
    run = cheat.sumcheck_prove(tables, EXPR, _t())
    polys = run.proof.round_polys
    other = np.zeros((N, width, 2), dtype=np.uint64)
    other[:, : min(width, polys.shape[1])] = polys[:, : min(width, polys.shape[1])]
    err = _rejected(run.claim, SumcheckProof(other), "round polynomial has the wrong degree")
    assert (err.expected, err.got) == (EXPR.degree, width - 1)


def test_round_polynomials_with_a_third_coordinate_rejected(tables):
    run = cheat.sumcheck_prove(tables, EXPR, _t())
    polys = run.proof.round_polys
    wide = np.concatenate([polys, np.zeros(polys.shape[:2] + (1,), dtype=np.uint64)], axis=2)
    _rejected(run.claim, SumcheckProof(wide), "round polynomial has the wrong degree")


def test_empty_round_polynomials_rejected_at_decoding():
    w = Writer()
    w.u32(3)
    w.u32(0)
    with pytest.raises(ProofFormatError, match="sumcheck proof: empty round polynomials"):
        SumcheckProof.read(Reader(w.finish(), "sumcheck proof"))
