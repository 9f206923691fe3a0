"""Kernels of the foundations: field products, NTT, eq table, sumcheck.

Run: ``python -m pytest benchmarks/bench_foundations.py --benchmark-columns=min,mean,rounds``.
Throughput (elements per second) is stored in each result's ``extra_info``.
"""

from __future__ import annotations

import numpy as np
import pytest

from zkinfer.field import _kernels as fk
from zkinfer.field import extension as ext
from zkinfer.field import goldilocks as gl
from zkinfer.poly import fast, ntt
from zkinfer.sumcheck import Expression
from zkinfer.sumcheck.prover import prove
from zkinfer.transcript import Transcript


def _warm(fn, *args):
    fn(*args)  # compile or load from the Numba cache before timing


@pytest.mark.parametrize("log_n", [20, 22, 24])
def test_base_mul(benchmark, rng, log_n):
    a, b = gl.random(1 << log_n, rng), gl.random(1 << log_n, rng)
    out = np.empty_like(a)
    _warm(fk.mul_vec, a[:8], b[:8], out[:8])
    benchmark.group = "base mul"
    benchmark(fk.mul_vec, a, b, out)
    benchmark.extra_info["Mmul_per_s"] = (1 << log_n) / benchmark.stats.stats.min / 1e6


@pytest.mark.parametrize("log_n", [20, 22, 24])
def test_ext_mul(benchmark, rng, log_n):
    a, b = ext.random(1 << log_n, rng), ext.random(1 << log_n, rng)
    out = np.empty_like(a)
    _warm(fk.ext_mul_vec, a[:8], b[:8], out[:8])
    benchmark.group = "ext mul"
    benchmark(fk.ext_mul_vec, a, b, out)
    benchmark.extra_info["Mmul_per_s"] = (1 << log_n) / benchmark.stats.stats.min / 1e6


@pytest.mark.parametrize("log_n", [16, 18, 20, 22])
def test_ntt(benchmark, rng, log_n):
    c = gl.random(1 << log_n, rng)
    _warm(ntt.ntt, c[:16])
    benchmark.group = "ntt"
    benchmark(ntt.ntt, c)


def test_eq_table_2_20(benchmark, rng):
    r = ext.random(20, rng)
    _warm(fast.eq_table, r[:3])
    benchmark.group = "eq table"
    benchmark(fast.eq_table, r)


@pytest.mark.parametrize("log_n", [18, 20, 22])
def test_sumcheck_degree2(benchmark, rng, log_n):
    a, b = gl.random(1 << log_n, rng), gl.random(1 << log_n, rng)
    expr = Expression.product(2)
    _warm(prove, [a[:1 << 14], b[:1 << 14]], expr, Transcript(b"warm"))
    benchmark.group = "sumcheck degree 2"
    benchmark.pedantic(prove, args=([a, b], expr, Transcript(b"bench")), rounds=3, iterations=1)
