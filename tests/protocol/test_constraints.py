"""Identities over columns: requantization with per-channel multipliers, padded tensors."""

from __future__ import annotations

import re

import numpy as np
import pytest

from zkinfer.errors import FieldRangeError, VerificationError
from zkinfer.field import extension as ext
from zkinfer.field import goldilocks as gl
from zkinfer.poly import multilinear as ml
from zkinfer.protocol.constraints import (
    Broadcast,
    Identity,
    Indicator,
    _order,
    debug_check,
    prove_identities,
    verify_identities,
)
from zkinfer.protocol.zerocheck import ZerocheckProof
from zkinfer.transcript import Transcript

D = b"tests/constraints"
FINAL = "final evaluation eq(tau, r) E(f(r)) does not match"
FINAL = "final evaluation eq(tau, r) E(f(r)) does not match"
S = 6  # shift


def requant_instance(seed, rows=8, cols=4, corrupt=False):
    """acc * m[c] + 2^(s-1) = q 2^s + rem (per-channel m), on a (rows, cols) tensor."""
    rng = np.random.default_rng(seed)
    acc = rng.integers(-(2**20), 2**20, (rows, cols))
    m = rng.integers(1, 2**10, cols)
    pre = acc * m + (1 << (S - 1))
    q, rem = pre >> S, pre & ((1 << S) - 1)
    if corrupt == "quotient":
        q[2, 1] += 1  # the identity breaks
    elif corrupt == "rounding":
        q[2, 1] += 1  # rounded the other way: the identity still holds, rem leaves [0, 2^s)
        rem[2, 1] -= 1 << S
    cols_ = {name: gl.encode_signed(v.reshape(-1)) for name, v in
             (("acc", acc), ("q", q), ("rem", rem))}
    publics = {"m": Broadcast(gl.encode_signed(m))}
    ident = Identity.of("requant", (1, ["acc", "m"]), (1 << (S - 1), []), (-(1 << S), ["q"]),
                        (-1, ["rem"]))
    return [ident], cols_, publics, int(np.log2(rows * cols))


def test_requantization_completeness_and_claims():
    idents, cols, publics, n = requant_instance(0)
    assert debug_check(idents, cols, publics, n) == []
    proof, claims = prove_identities(idents, cols, publics, n, Transcript(D))
    got = verify_identities(idents, publics, n, proof, Transcript(D))
    assert [c.poly for c in got] == ["acc", "q", "rem"]
    for c in got:
        assert np.array_equal(ml.evaluate(cols[c.poly], c.point), c.value)


def test_requantization_wrong_quotient_rejected():
    idents, cols, publics, n = requant_instance(1, corrupt="quotient")
    assert debug_check(idents, cols, publics, n) == [("requant", 2 * 4 + 1)]
    proof, _ = prove_identities(idents, cols, publics, n, Transcript(D))
    with pytest.raises(VerificationError, match=re.escape(FINAL)) as info:
        verify_identities(idents, publics, n, proof, Transcript(D))
    assert info.value.check == "identities"


def test_wrong_public_column_value_rejected():
    """The prover sends a false evaluation of the public multipliers and compensates it in a
    committed column's evaluation, so the zero-check's final check still holds: the verifier's
    own evaluation of the public column rejects it (and nothing before it does)."""
    idents, cols, publics, n = requant_instance(2)
    proof, claims = prove_identities(idents, cols, publics, n, Transcript(D))
    committed, public = _order(idents, publics)  # the order of the evaluations
    assert committed == [c.poly for c in claims] == ["acc", "q", "rem"]
    acc, rem, m = 0, 2, len(committed) + public.index("m")
    evals = proof.evaluations.copy()
    evals[m] = ext.add(evals[m], ext.ones(()))  # E = acc m + 2^(s-1) - 2^s q - rem grows by acc(r)
    evals[rem] = ext.add(evals[rem], evals[acc])  # ... and shrinks by as much
    forged = ZerocheckProof(proof.sumcheck, evals)
    with pytest.raises(VerificationError, match="public column 'm' evaluation is wrong") as info:
        verify_identities(idents, publics, n, forged, Transcript(D))
    assert info.value.check == "identities"
    # without the compensation the zero-check's final evaluation fails first
    evals[rem] = proof.evaluations[rem]
    with pytest.raises(VerificationError, match=re.escape(FINAL)):
        verify_identities(idents, publics, n, ZerocheckProof(proof.sumcheck, evals), Transcript(D))


def test_verifier_uses_its_own_multipliers():
    # the prover proves with other multipliers than the statement's: rejected
    idents, cols, publics, n = requant_instance(3)
    other = {"m": Broadcast(gl.add(publics["m"].vector, 1))}
    proof, _ = prove_identities(idents, cols, publics, n, Transcript(D))
    with pytest.raises(VerificationError, match="public column 'm' evaluation is wrong") as info:
        verify_identities(idents, other, n, proof, Transcript(D))
    assert info.value.check == "identities"


def test_indicator_and_broadcast_evaluations():
    rng = np.random.default_rng(4)
    ind = Indicator((3, 5), (2, 3))
    table = ind.table(5)
    assert table.reshape(4, 8)[:3, :5].all() and table.sum() == 15
    r = ext.random(5, rng)
    assert np.array_equal(ind.evaluate(r), ml.evaluate(table, r))
    b = Broadcast(gl.random(8, rng))
    assert np.array_equal(b.evaluate(r), ml.evaluate(b.table(5), r))


def test_public_columns_evaluated_together_match_each_alone():
    # Broadcasts of one length share an eq table and a matrix product; other columns (and a
    # length that is not a power of two, which fails as alone) take their own path
    from zkinfer.protocol.constraints import Grid, Ones, evaluate_publics

    rng = np.random.default_rng(6)
    r = ext.random(7, rng)
    cols = [Broadcast(gl.random(8, rng)), Ones(), Broadcast(gl.random(32, rng)),
            Indicator((3, 5), (4, 3)), Broadcast(gl.random(8, rng)),
            Broadcast(np.full(8, gl.P - 1, dtype=np.uint64)), Grid(gl.random(4, rng), (1, 5)),
            Broadcast(gl.random(128, rng)), Broadcast(gl.random(1, rng))]
    got = evaluate_publics(cols, r)
    assert len(got) == len(cols)
    for col, value in zip(cols, got):
        assert np.array_equal(value, col.evaluate(r))
        assert np.array_equal(value, ml.evaluate(col.table(7), r))
    with pytest.raises(FieldRangeError):
        evaluate_publics([Broadcast(gl.random(6, rng))], r)


def test_identity_gated_by_indicator_ignores_padding():
    # y = 2 x on the real 3 x 5 block only; the padding holds garbage
    rng = np.random.default_rng(5)
    x = rng.integers(0, 100, (4, 8))
    y = 2 * x
    y[3, :] = 7
    y[:, 6] = 9
    cols = {"x": gl.encode_signed(x.reshape(-1)), "y": gl.encode_signed(y.reshape(-1))}
    publics = {"real": Indicator((3, 5), (2, 3))}
    idents = [Identity.of("double", (2, ["real", "x"]), (-1, ["real", "y"]))]
    assert debug_check(idents, cols, publics, 5) == []
    proof, _ = prove_identities(idents, cols, publics, 5, Transcript(D))
    verify_identities(idents, publics, 5, proof, Transcript(D))


def test_requantization_rounded_the_other_way_caught_by_remainder_range():
    from zkinfer.lookup.range import range_multiplicities
    from zkinfer.protocol.range import prove_ranges, verify_ranges

    idents, cols, publics, n = requant_instance(6, corrupt="rounding")
    assert debug_check(idents, cols, publics, n) == []  # the identity alone cannot see it
    rem = cols["rem"]
    honest_m = range_multiplicities([np.where(rem >= np.uint64(1 << S), 0, rem).astype(np.uint64)], S)
    proof, _ = prove_ranges({S: [rem]}, {S: honest_m}, Transcript(D))
    with pytest.raises(VerificationError, match="look-up fractions do not cancel"):
        verify_ranges({S: [rem.shape[0]]}, proof, Transcript(D))
