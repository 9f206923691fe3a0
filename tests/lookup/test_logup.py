"""LogUp via fraction-sum GKR: honest look-ups verify; each cheat is rejected."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import examples
from tests.field.strategies import elements
from zkinfer.errors import FieldRangeError, VerificationError
from zkinfer.field import extension as ext
from zkinfer.lookup.gkr import prove_fraction_sum, verify_fraction_sum
from zkinfer.lookup.logup import (
    LookupProof,
    multiplicities,
    prove_lookup,
    range_table_eval,
    verify_lookup,
)
from zkinfer.poly import multilinear as ml
from zkinfer.transcript import Transcript

D = b"tests/logup"


@pytest.mark.parametrize("c", [0, 1, 3, 9])
def test_fraction_sum_root_and_leaf_claims(c):
    rng = np.random.default_rng(c)
    p, q = ext.random(1 << c, rng), ext.random(1 << c, rng)
    proof, root, point = prove_fraction_sum(p, q, Transcript(D))
    total = ext.zeros(())
    for i in range(1 << c):
        total = ext.add(total, ext.mul(p[i], ext.inv(q[i])))
    assert np.array_equal(ext.mul(root[0], ext.inv(root[1])), total)
    root2, point2, leaf = verify_fraction_sum(c, proof, Transcript(D))
    assert np.array_equal(point2, point)
    assert np.array_equal(leaf[0], ml.evaluate(p, point))
    assert np.array_equal(leaf[1], ml.evaluate(q, point))


def check_claims(claims, f, t, m):
    assert np.array_equal(ml.evaluate(f, claims.f_point), claims.f_value)
    assert np.array_equal(ml.evaluate(m, claims.t_point), claims.m_value)
    assert np.array_equal(ml.evaluate(t, claims.t_point), claims.t_value)


@pytest.mark.parametrize("m_vars,t_vars", [(0, 0), (4, 4), (6, 3), (3, 8)])
def test_range_check_completeness(m_vars, t_vars):
    rng = np.random.default_rng(m_vars * 16 + t_vars)
    t = np.arange(1 << t_vars, dtype=np.uint64)
    f = rng.integers(0, 1 << t_vars, 1 << m_vars).astype(np.uint64)
    m = multiplicities(f, t)
    proof, claims = prove_lookup(f, t, m, Transcript(D))
    got = verify_lookup(1 << m_vars, 1 << t_vars, proof, Transcript(D))
    check_claims(got, f, t, m)
    # the verifier evaluates the public range table itself
    assert np.array_equal(range_table_eval(got.t_point), got.t_value)


def test_pair_lookup_with_extension_values():
    # y = T(x) as one look-up of x + beta y into j + beta T(j)
    rng = np.random.default_rng(3)
    table_in = np.arange(16, dtype=np.uint64)
    table_out = (table_in * table_in) % np.uint64(7)
    x = rng.integers(0, 16, 32).astype(np.uint64)
    y = table_out[x]
    beta = ext.random((), rng)
    f = ext.add(ext.from_base(x), ext.mul_base(np.broadcast_to(beta, (32, 2)), y))
    t = ext.add(ext.from_base(table_in), ext.mul_base(np.broadcast_to(beta, (16, 2)), table_out))
    m = multiplicities(x, table_in)
    proof, claims = prove_lookup(f, t, m, Transcript(D))
    got = verify_lookup(32, 16, proof, Transcript(D))
    # the verifier's claims are the prover's, and true of the extension columns
    for name in ("f_point", "f_value", "t_point", "t_value", "m_value"):
        assert np.array_equal(getattr(got, name), getattr(claims, name)), name
    check_claims(got, f, t, m)


def test_value_outside_table_rejected():
    t = np.arange(16, dtype=np.uint64)
    f = np.array([1, 2, 3, 16, 0, 0, 0, 0], dtype=np.uint64)  # 16 is out of range
    m = multiplicities(f[f < 16], t)
    m[0] += 1  # the cheating prover claims 16 was a 0
    proof, _ = prove_lookup(f, t, m, Transcript(D))
    with pytest.raises(VerificationError, match="look-up fractions do not cancel") as info:
        verify_lookup(8, 16, proof, Transcript(D))
    assert info.value.check == "logup"


def test_wrong_multiplicities_rejected():
    t = np.arange(8, dtype=np.uint64)
    f = np.array([1, 1, 2, 3], dtype=np.uint64)
    m = multiplicities(f, t)
    m[1], m[2] = m[1] - np.uint64(1), m[2] + np.uint64(1)
    proof, _ = prove_lookup(f, t, m, Transcript(D))
    with pytest.raises(VerificationError, match="look-up fractions do not cancel") as info:
        verify_lookup(4, 8, proof, Transcript(D))
    assert info.value.check == "logup"


def test_tampered_column_evaluation_rejected():
    t = np.arange(8, dtype=np.uint64)
    f = np.array([1, 5, 2, 3], dtype=np.uint64)
    proof, _ = prove_lookup(f, t, multiplicities(f, t), Transcript(D))
    evals = proof.column_evals.copy()
    evals[1] = ext.add(evals[1], ext.ones(()))
    with pytest.raises(VerificationError, match="column evaluations do not match the leaf claims") as info:
        verify_lookup(4, 8, LookupProof(proof.fractions, evals), Transcript(D))
    assert info.value.check == "logup"


def test_tampered_layer_rejected():
    t = np.arange(8, dtype=np.uint64)
    f = np.array([1, 5, 2, 3], dtype=np.uint64)
    proof, _ = prove_lookup(f, t, multiplicities(f, t), Transcript(D))
    sc, ev = proof.fractions.layers[2]
    ev = ev.copy()
    ev[0] = ext.add(ev[0], ext.ones(()))
    layers = list(proof.fractions.layers)
    layers[2] = (sc, ev)
    from zkinfer.lookup.gkr import FractionProof

    bad = LookupProof(FractionProof(proof.fractions.root, tuple(layers)), proof.column_evals)
    with pytest.raises(VerificationError) as info:
        verify_lookup(4, 8, bad, Transcript(D))
    assert info.value.check == "logup layer 2"


def test_multiplicities_helper_errors():
    with pytest.raises(FieldRangeError):
        multiplicities([9], np.arange(8))
    with pytest.raises(FieldRangeError):
        multiplicities([1], [1, 1])
    assert list(multiplicities([0, 0, 7], np.arange(8))) == [2, 0, 0, 0, 0, 0, 0, 1]


def test_range_table_eval_on_cube():
    r = ext.from_base([1, 0, 1, 1])  # index 0b1011
    assert int(range_table_eval(r)[0]) == 11
    rr = ext.random(5, np.random.default_rng(0))
    assert np.array_equal(range_table_eval(rr), ml.evaluate(np.arange(32, dtype=np.uint64), rr))


# ---- properties: any look-up into any table verifies with true claims; a value outside the
# table is rejected whatever multiplicities the prover claims


@st.composite
def lookups(draw):
    """A table of ``2^t_vars`` distinct base elements (any values, not only a range) and
    ``2^m_vars`` looked-up entries drawn from it."""
    m_vars, t_vars = draw(st.integers(0, 6)), draw(st.integers(0, 5))
    t = draw(st.lists(elements, min_size=1 << t_vars, max_size=1 << t_vars, unique=True))
    picks = draw(st.lists(st.integers(0, (1 << t_vars) - 1), min_size=1 << m_vars, max_size=1 << m_vars))
    table = np.array(t, dtype=np.uint64)
    return table, table[picks]


@settings(max_examples=examples(60, 200))
@given(lookups())
def test_lookup_completeness_and_claims(case):
    t, f = case
    m = multiplicities(f, t)
    proof, claims = prove_lookup(f, t, m, Transcript(D))
    got = verify_lookup(f.shape[0], t.shape[0], proof, Transcript(D))
    check_claims(got, f, t, m)


@settings(max_examples=examples(60, 200))
@given(lookups(), st.data())
def test_lookup_of_a_value_outside_the_table_rejected(case, data):
    t, f = case
    f = f.copy()
    i = data.draw(st.integers(0, f.shape[0] - 1), label="entry")
    outside = data.draw(elements.filter(lambda v: v not in set(t.tolist())), label="value")
    f[i] = outside
    # the cheating prover's multiplicities: the honest ones of the other entries, and the
    # outside entry counted against a table row of its choice (or not at all)
    rest = np.delete(f, i)
    m = multiplicities(rest, t) if rest.size else np.zeros(t.shape[0], dtype=np.uint64)
    row = data.draw(st.integers(-1, t.shape[0] - 1), label="row")
    if row >= 0:
        m[row] += np.uint64(1)
    proof, _ = prove_lookup(f, t, m, Transcript(D))
    with pytest.raises(VerificationError, match="look-up fractions do not cancel") as info:
        verify_lookup(f.shape[0], t.shape[0], proof, Transcript(D))
    assert info.value.check == "logup"
