"""Attacks on the LogUp verifier (``lookup/logup.py``) and its fraction-sum GKR
(``lookup/gkr.py``), one per check: each forged proof passes every earlier check and is
rejected by exactly the one it is named for.

The forgeries run the real provers on doctored inputs (:func:`tests.cheating.pcs.lookup_prove`
replaces the columns after ``alpha`` is drawn) or edit a proof's later messages only.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.cheating import pcs as cheat
from zkinfer.errors import VerificationError
from zkinfer.field import extension as ext
from zkinfer.lookup import logup
from zkinfer.lookup.gkr import FractionProof, verify_fraction_sum
from zkinfer.lookup.logup import LookupProof, multiplicities, prove_lookup, verify_lookup
from zkinfer.poly import multilinear as ml
from zkinfer.sumcheck import SumcheckProof
from zkinfer.transcript import Transcript

D = b"tests/logup-attacks"
M_SIZE, T_SIZE = 16, 8
CHECK = "activation table"  # a caller's name: the errors carry it


def _t() -> Transcript:
    """A fresh transcript of this file's domain."""
    return Transcript(D)


@pytest.fixture(scope="module")
def columns():
    """An honest look-up of 16 values into the table 0..7 (extension columns)."""
    rng = np.random.default_rng(51)
    t = np.arange(T_SIZE, dtype=np.uint64)
    f = rng.integers(0, T_SIZE, M_SIZE).astype(np.uint64)
    return f, t, multiplicities(f, t)


@pytest.fixture(scope="module")
def honest(columns):
    """The honest proof of :func:`columns`."""
    return prove_lookup(*columns, _t())[0]


def _rejected(proof: LookupProof, match: str, check: str = CHECK) -> VerificationError:
    """Verify ``proof`` (sizes 16 and 8); return the error after checking its ``check``."""
    with pytest.raises(VerificationError, match=match) as err:
        verify_lookup(M_SIZE, T_SIZE, proof, _t(), check=CHECK)
    assert err.value.check == check
    return err.value


def _with_layer(proof: LookupProof, k: int, sumcheck=None, evals=None) -> LookupProof:
    """``proof`` with layer ``k``'s sumcheck or end values replaced."""
    layers = list(proof.fractions.layers)
    sc, ev = layers[k]
    layers[k] = (sc if sumcheck is None else sumcheck, ev if evals is None else evals)
    return LookupProof(FractionProof(proof.fractions.root, tuple(layers)), proof.column_evals)


def test_toolkit_prover_without_doctor_is_the_real_prover(columns, honest):
    proof, _ = cheat.lookup_prove(*columns, _t())
    assert np.array_equal(proof.column_evals, honest.column_evals)
    assert np.array_equal(proof.fractions.root, honest.fractions.root)
    verify_lookup(M_SIZE, T_SIZE, proof, _t(), check=CHECK)


# ---- the root: numerator zero, denominator not


@pytest.mark.parametrize("side", ["lookup", "table"])
def test_root_with_zero_denominator_rejected(side):
    """Values outside the table (100..115), and after alpha is drawn two looked-up values (or
    a table row of multiplicity 0) set to alpha: a leaf denominator vanishes, the root is
    (0, 0) and "cancels" whatever the other values are. Every GKR layer and the leaf claims are
    those of the doctored columns, so only the denominator check rejects it."""
    f = np.arange(100, 100 + M_SIZE, dtype=np.uint64)
    t = np.arange(T_SIZE, dtype=np.uint64)
    m = np.zeros(T_SIZE, dtype=np.uint64)
    proof, (fe, te, me) = cheat.lookup_prove(f, t, m, _t(), doctor=cheat.zero_denominator_columns(side))
    assert not proof.fractions.root.any()
    _rejected(proof, "fraction-sum denominator is zero")
    # the checks after it would pass: the column evaluations explain the leaf claims
    tr = _t()
    alpha = logup._begin(tr, M_SIZE, T_SIZE)
    _, r, leaf = verify_fraction_sum(5, proof.fractions, tr, check=CHECK)
    p, q = logup._leaf_values(alpha, r, M_SIZE, T_SIZE, *proof.column_evals)
    assert np.array_equal(p, leaf[0]) and np.array_equal(q, leaf[1])
    assert np.array_equal(proof.column_evals[0], ml.evaluate(fe, r[1:]))
    assert np.array_equal(proof.column_evals[2], ml.evaluate(te, r[2:]))


def test_wrong_multiplicities_rejected_by_the_cancellation(columns):
    f, t, m = columns
    m = m.copy()
    m[0] += 1  # one more look-up of t_0 than f makes
    proof, _ = prove_lookup(f, t, m, _t())
    err = _rejected(proof, "look-up fractions do not cancel")
    assert err.expected == (0, 0)


def test_value_outside_the_table_rejected_by_the_cancellation(columns):
    f, t, m = columns
    f = f.copy()
    f[3] = 9  # with the multiplicities of the original f
    proof, _ = prove_lookup(f, t, m, _t())
    _rejected(proof, "look-up fractions do not cancel")


# ---- the column evaluations


@pytest.mark.parametrize("count", [2, 4])
def test_column_evaluations_of_another_count_rejected(honest, count):
    evals = np.resize(honest.column_evals, (count, 2))
    _rejected(LookupProof(honest.fractions, evals), "expected three column evaluations")


@pytest.mark.parametrize("which", [0, 1, 2], ids=["f", "m", "t"])
@pytest.mark.parametrize("offset", [ext.ones(()), cheat.x_multiple(1)], ids=["one", "X"])
def test_column_evaluation_that_does_not_explain_the_leaves_rejected(honest, which, offset):
    evals = honest.column_evals.copy()
    evals[which] = ext.add(evals[which], offset)
    _rejected(LookupProof(honest.fractions, evals), "column evaluations do not match the leaf claims")


# ---- the fraction-sum GKR


@pytest.mark.parametrize("shape", [(1, 2), (3, 2)])
def test_root_of_another_shape_rejected(honest, shape):
    root = np.resize(honest.fractions.root, shape)
    bad = LookupProof(FractionProof(root, honest.fractions.layers), honest.column_evals)
    _rejected(bad, "root must be \\(P, Q\\)")


@pytest.mark.parametrize("change", ["drop last", "append"])
def test_layer_count_other_than_the_leaf_variables_rejected(honest, change):
    layers = honest.fractions.layers
    layers = layers[:-1] if change == "drop last" else layers + layers[-1:]
    bad = LookupProof(FractionProof(honest.fractions.root, layers), honest.column_evals)
    err = _rejected(bad, "wrong number of layers")
    assert (err.expected, err.got) == (5, len(layers))


@pytest.mark.parametrize("k", [0, 1, 4])
def test_layer_with_three_end_values_rejected(honest, k):
    evals = honest.fractions.layers[k][1][:3]
    _rejected(_with_layer(honest, k, evals=evals), "expected four end values", check=f"{CHECK} layer {k}")


@pytest.mark.parametrize("k", [0, 2, 4])
@pytest.mark.parametrize("which", [0, 3])
def test_layer_end_values_that_do_not_explain_its_last_round_rejected(honest, k, which):
    evals = honest.fractions.layers[k][1].copy()
    evals[which] = ext.add(evals[which], cheat.x_multiple(1))
    _rejected(_with_layer(honest, k, evals=evals), "end values do not match the last round",
              check=f"{CHECK} layer {k}")


def test_layer_sumcheck_with_an_appended_round_rejected(honest):
    sc = honest.fractions.layers[2][0].messages
    longer = SumcheckProof(np.concatenate([sc, sc[-1:]]))
    err = _rejected(_with_layer(honest, 2, sumcheck=longer), "wrong number of rounds",
                    check=f"{CHECK} layer 2")
    assert (err.expected, err.got) == (2, 3)
