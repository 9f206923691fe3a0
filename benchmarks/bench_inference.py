"""Proofs of inference end to end: setup, prove and verify time, proof bytes, peak memory.

Run: ``python -m pytest benchmarks/bench_inference.py --benchmark-columns=min,mean,rounds``.
``python benchmarks/bench_inference.py`` prints the summary table instead (best of three runs).

Models: residual MLPs (``block="mlp"``, 2 blocks, ``d_ff = 4 d_model``, vocabulary 256, up to
32 tokens, seed 0) with ``d_model`` 64, 128 and 256, on 16 and 32 tokens, with the default
``LigeroPCS``. Every Numba kernel is compiled (or loaded from the cache) before timing. Each
prove result carries, in ``extra_info``, the plain integer forward time (Numba, full trace) of the
same model and input measured in the same run, and ``prove_over_forward``, the ratio of the two;
verify results carry the proof size; the memory benchmark runs setup + prove in a fresh process
and reports its peak resident set (``VmHWM``, reset just before setup) next to the same
process's resident set before setup, and the peak of Python/numpy allocations of one prove
(``tracemalloc``; Numba-internal allocations are not traced).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from functools import partial

import numpy as np
import pytest

import zkinfer
from zkinfer.model.config import TransformerConfig
from zkinfer.model.forward import forward
from zkinfer.models import random_transformer

WIDTHS = [64, 128, 256]
TOKENS = [16, 32]
CASES = [(d, n) for d in WIDTHS for n in TOKENS]
SEED = 0


def config(d_model: int) -> TransformerConfig:
    return TransformerConfig(n_layers=2, d_model=d_model, n_heads=1, d_ff=4 * d_model,
                             max_seq_len=32, vocab_size=256, block="mlp")


def inputs(n: int) -> np.ndarray:
    return np.random.default_rng(1000 + n).integers(0, 256, n, dtype=np.int64)


_MODELS: dict[int, object] = {}
_KEYS: dict[int, tuple] = {}
_PROOFS: dict[tuple[int, int], object] = {}


def model(d: int):
    if d not in _MODELS:
        _MODELS[d] = random_transformer(config(d), SEED)
    return _MODELS[d]


def keys(d: int):
    if d not in _KEYS:
        _KEYS[d] = zkinfer.setup(model(d))
    return _KEYS[d]


def proof(d: int, n: int):
    if (d, n) not in _PROOFS:
        _PROOFS[(d, n)] = zkinfer.prove(keys(d)[1], inputs(n))
    return _PROOFS[(d, n)]


_WARM = False


def warm() -> None:
    """Compile (or load) every kernel the prover and the forward use, on a small model."""
    global _WARM
    if not _WARM:
        small = random_transformer(
            TransformerConfig(n_layers=1, d_model=8, n_heads=1, d_ff=32, max_seq_len=32,
                              vocab_size=256, block="mlp"), SEED)  # fmt: skip
        vk, pk = zkinfer.setup(small)
        ids = inputs(16)
        p = zkinfer.prove(pk, ids)
        zkinfer.verify(vk, ids, p.output, p)
        _WARM = True


def best_of(fn, repeat: int) -> float:
    """Minimum wall time of ``repeat`` calls (seconds)."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def forward_time(d: int, n: int) -> float:
    """Plain integer inference (Numba forward with its full trace), best of 20."""
    m, ids = model(d), inputs(n)
    forward(m, ids)
    return best_of(lambda: forward(m, ids), 20)


# ---------------------------------------------------------------------------------------------
# pytest-benchmark


@pytest.mark.parametrize("d, n", [(d, 16) for d in WIDTHS])
def test_setup(benchmark, d, n):
    warm()
    m = model(d)
    benchmark.group = f"setup d={d}"
    vk, _ = benchmark.pedantic(zkinfer.setup, (m,), rounds=3, iterations=1)
    benchmark.extra_info["vk_bytes"] = len(vk.to_bytes())
    benchmark.extra_info["weights"] = int(sum(np.size(x) for x in (m.tok_emb, m.pos_emb))
                                          + sum(L.ffn.up.w.size + L.ffn.down.w.size for L in m.layers))


@pytest.mark.parametrize("d, n", CASES)
def test_prove(benchmark, d, n):
    warm()
    _, pk = keys(d)
    ids = inputs(n)
    benchmark.group = f"inference d={d} n={n}"
    p = benchmark.pedantic(zkinfer.prove, (pk, ids), rounds=3, iterations=1)
    fwd = forward_time(d, n)
    prove_s = benchmark.stats.stats.min
    benchmark.extra_info["forward_s"] = fwd
    benchmark.extra_info["prove_over_forward"] = prove_s / fwd
    benchmark.extra_info["proof_bytes"] = len(p.to_bytes())
    benchmark.extra_info["trace_elements"] = forward(model(d), ids).n_elements()


@pytest.mark.parametrize("d, n", CASES)
def test_verify(benchmark, d, n):
    warm()
    vk, _ = keys(d)
    p = proof(d, n)
    vk_bytes, proof_bytes = vk.to_bytes(), p.to_bytes()
    benchmark.group = f"inference d={d} n={n}"
    ok = benchmark.pedantic(zkinfer.verify, (vk_bytes, inputs(n), p.output, proof_bytes),
                            rounds=3, iterations=1)
    assert ok
    benchmark.extra_info["proof_bytes"] = len(proof_bytes)


_MEMORY_SCRIPT = """
import json, resource, sys, tracemalloc
sys.path.insert(0, {here!r})
import bench_inference as b
import zkinfer

def status(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

b.warm()
m = b.model({d})
ids = b.inputs({n})
try:  # reset the high-water mark (Linux), so the peak is that of setup + prove
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
except OSError:
    pass
before = status("VmRSS:")
vk, pk = zkinfer.setup(m)
p = zkinfer.prove(pk, ids)
peak = status("VmHWM:")
tracemalloc.start()
zkinfer.prove(pk, ids)
traced = tracemalloc.get_traced_memory()[1] / 2**20
print(json.dumps({{"before_MB": before, "peak_MB": peak, "prove_traced_peak_MB": traced}}))
"""


def peak_memory(d: int, n: int) -> dict:
    """Peak RSS of setup + prove in a fresh process (after warming the kernels there)."""
    import os

    here = os.path.dirname(os.path.abspath(__file__))
    code = _MEMORY_SCRIPT.format(here=here, d=d, n=n)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("d, n", CASES)
def test_prove_peak_memory(benchmark, d, n):
    benchmark.group = f"peak memory d={d} n={n}"
    mem = benchmark.pedantic(peak_memory, (d, n), rounds=1, iterations=1)
    benchmark.extra_info.update(mem)
    benchmark.extra_info["prove_delta_MB"] = mem["peak_MB"] - mem["before_MB"]


# ---------------------------------------------------------------------------------------------
# table


def main(cases=CASES) -> None:
    warm()
    print("| d_model | d_ff | tokens | setup s | prove s | verify s | proof KB | forward ms "
          "| prove/forward | peak RSS MB (before setup) | prove traced peak MB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for d, n in cases:
        m, ids = model(d), inputs(n)
        setup_s = best_of(partial(zkinfer.setup, m), 3)
        vk, pk = keys(d)
        prove_s = best_of(partial(zkinfer.prove, pk, ids), 3)
        p = proof(d, n)
        vb, pb = vk.to_bytes(), p.to_bytes()
        verify_s = best_of(partial(zkinfer.verify, vb, ids, p.output, pb), 3)
        fwd = forward_time(d, n)
        mem = peak_memory(d, n)
        print(f"| {d} | {4 * d} | {n} | {setup_s:.3f} | {prove_s:.3f} | {verify_s:.3f} "
              f"| {len(pb) / 1024:.0f} | {fwd * 1e3:.2f} | {prove_s / fwd:.0f} "
              f"| {mem['peak_MB']:.0f} ({mem['before_MB']:.0f}) | {mem['prove_traced_peak_MB']:.0f} |",
              flush=True)


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]]
    main([(d, n) for d, n in CASES if d in args] if args else CASES)
