"""The built-in tiny transformer end to end: prover time (the benchmark), verifier time, proof
bytes, peak RSS and the ratio to the plain integer forward of the same input, in one run.

Run: ``python -m pytest benchmarks/bench_tiny.py --benchmark-columns=min,mean,rounds``.
"""

from __future__ import annotations

import resource
import time

import numpy as np
import pytest

import zkinfer
from zkinfer.model.forward import forward
from zkinfer.models import tiny


@pytest.fixture(scope="module")
def keys():
    return zkinfer.setup(tiny())


@pytest.mark.parametrize("tokens", [8, 16, 32])
def test_tiny_prove(benchmark, keys, tokens):
    vk, pk = keys
    ids = np.arange(tokens, dtype=np.int64) * 37 % 256
    zkinfer.prove(pk, ids[:2])  # warm the kernels
    forward(pk.model, ids)
    t0 = time.perf_counter()
    for _ in range(20):
        forward(pk.model, ids)
    t_forward = (time.perf_counter() - t0) / 20
    proof = benchmark.pedantic(zkinfer.prove, args=(pk, ids), rounds=3, iterations=1)
    data = proof.to_bytes()
    t0 = time.perf_counter()
    assert zkinfer.verify(vk.to_bytes(), ids, proof.output, data)
    benchmark.extra_info.update({
        "verify_s": time.perf_counter() - t0,
        "proof_bytes": len(data),
        "forward_s": t_forward,
        "prove_over_forward": benchmark.stats.stats.min / t_forward,
        "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6,
    })
