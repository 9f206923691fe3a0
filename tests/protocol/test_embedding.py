"""Embedding look-up bound to the public token ids."""

from __future__ import annotations

import numpy as np
import pytest

from zkinfer.errors import FieldRangeError, VerificationError
from zkinfer.field import extension as ext
from zkinfer.field import goldilocks as gl
from zkinfer.poly import multilinear as ml
from zkinfer.protocol.embedding import onehot, onehot_eval, prove_embedding, verify_embedding
from zkinfer.transcript import Transcript

D = b"tests/embedding"
ROWS, VOCAB, WIDTH = 8, 32, 4


def instance(seed, n=5):
    rng = np.random.default_rng(seed)
    table = rng.integers(-128, 128, (VOCAB, WIDTH))
    ids = rng.integers(0, VOCAB, n)
    x = np.zeros((ROWS, WIDTH), dtype=np.int64)
    x[:n] = table[ids]
    point = ext.random(3 + 2, rng)
    return ids, gl.encode_signed(table), gl.encode_signed(x), point


def test_onehot_eval_matches_dense():
    rng = np.random.default_rng(0)
    ids = np.array([3, 0, 31, 3])
    r = ext.random(3 + 5, rng)
    assert np.array_equal(onehot_eval(ids, ROWS, VOCAB, r),
                          ml.evaluate(onehot(ids, ROWS, VOCAB).reshape(-1), r))


def test_completeness():
    ids, table, x, point = instance(1)
    value = ml.evaluate(x.reshape(-1), point)
    proof, claim = prove_embedding(ids, table, ROWS, point, Transcript(D))
    got = verify_embedding(ids, (ROWS, VOCAB, WIDTH), point, value, proof, Transcript(D))
    assert np.array_equal(ml.evaluate(table.reshape(-1), got.point), got.value)
    assert got == claim


def test_token_id_changed_rejected():
    ids, table, x, point = instance(2)
    value = ml.evaluate(x.reshape(-1), point)
    proof, _ = prove_embedding(ids, table, ROWS, point, Transcript(D))
    other = ids.copy()
    other[1] = (other[1] + 1) % VOCAB
    with pytest.raises(VerificationError) as info:
        verify_embedding(other, (ROWS, VOCAB, WIDTH), point, value, proof, Transcript(D))
    assert "token ids" in str(info.value)


def test_prover_using_other_ids_rejected():
    ids, table, x, point = instance(3)
    value = ml.evaluate(x.reshape(-1), point)
    other = ids.copy()
    other[0] = (other[0] + 5) % VOCAB
    proof, _ = prove_embedding(other, table, ROWS, point, Transcript(D))
    with pytest.raises(VerificationError):
        verify_embedding(ids, (ROWS, VOCAB, WIDTH), point, value, proof, Transcript(D))


def test_bad_ids_raise():
    with pytest.raises(FieldRangeError):
        onehot([VOCAB], ROWS, VOCAB)
    with pytest.raises(FieldRangeError):
        onehot(np.zeros(ROWS + 1, dtype=np.int64), ROWS, VOCAB)
