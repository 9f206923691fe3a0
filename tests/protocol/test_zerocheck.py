"""Zero-check: a * b - c = 0 on the cube; one wrong entry is caught."""

from __future__ import annotations

import re

import numpy as np
import pytest

from zkinfer.errors import VerificationError
from zkinfer.field import extension as ext
from zkinfer.field import goldilocks as gl
from zkinfer.poly import multilinear as ml
from zkinfer.protocol.zerocheck import ZerocheckProof, prove_zerocheck, verify_zerocheck
from zkinfer.sumcheck import Expression
from zkinfer.transcript import Transcript

D = b"tests/zerocheck"
PRODUCT = Expression.sum_of_products(3, [(0, 1), (2,)], [1, gl.P - 1])  # a b - c


def tables(n, seed, corrupt=None):
    rng = np.random.default_rng(seed)
    a, b = gl.random(1 << n, rng), gl.random(1 << n, rng)
    c = gl.mul(a, b)
    if corrupt is not None:
        c[corrupt] = gl.add(c[corrupt], 1)
    return [a, b, c]


@pytest.mark.parametrize("n", [1, 4, 13])
def test_completeness(n):
    ts = tables(n, n)
    proof, point = prove_zerocheck(ts, PRODUCT, Transcript(D))
    got = verify_zerocheck(n, PRODUCT, proof, Transcript(D))
    assert np.array_equal(got, point)
    for t, v in zip(ts, proof.evaluations):
        assert np.array_equal(ml.evaluate(t, point), v)


@pytest.mark.parametrize("where", [0, 5, 15])
def test_one_wrong_entry_rejected(where):
    ts = tables(4, 1, corrupt=where)
    proof, _ = prove_zerocheck(ts, PRODUCT, Transcript(D))
    # the prover's own sum is non-zero: the derived s_j(1) carry it to the final check
    with pytest.raises(VerificationError, match=re.escape("final evaluation eq(tau, r) E(f(r)) "
                                                          "does not match")):
        verify_zerocheck(4, PRODUCT, proof, Transcript(D))


def test_tampered_evaluations_rejected():
    ts = tables(4, 2)
    proof, _ = prove_zerocheck(ts, PRODUCT, Transcript(D))
    evals = proof.evaluations.copy()
    evals[2] = ext.add(evals[2], ext.ones(()))
    with pytest.raises(VerificationError) as info:
        verify_zerocheck(4, PRODUCT, ZerocheckProof(proof.sumcheck, evals), Transcript(D))
    assert "final evaluation" in str(info.value)
