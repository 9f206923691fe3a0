"""Polynomial commitments: commit, open and verify time and proof size (LigeroPCS).

Run: ``python -m pytest benchmarks/bench_pcs.py --benchmark-columns=min,mean,rounds``
(add ``-k "not 24"`` to skip the 2^24 cases). Proof bytes, matrix shape and security bits are in
each result's ``extra_info``. ``python benchmarks/bench_pcs.py [log_n ...]`` prints the summary
table (best of three runs, one run at 2^24) instead.

Targets on the 2-core reference machine at 2^24 elements, >= 100 bits: commit <= 4 s,
open <= 2 s, verify <= 0.2 s, proof <= 2 MB.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pytest

from zkinfer.commit import LigeroPCS
from zkinfer.commit import OpeningClaim as Claim
from zkinfer.field import extension as ext
from zkinfer.field import goldilocks as gl
from zkinfer.transcript import Transcript

SIZES = [16, 18, 20, 22, 24]
RATES = {"rate1/2": 1, "rate1/4": 2}
_DOMAIN = b"zkinfer/bench/pcs"


def _warm(pcs: LigeroPCS) -> None:
    """Compile (or load from the Numba cache) every prover kernel before timing."""
    rng = np.random.default_rng(0)
    com, data = pcs.commit([gl.random(1 << 12, rng)])
    r = ext.random(12, rng)
    proof = pcs.open(data, [Claim(0, r)], Transcript(_DOMAIN))
    pcs.verify(com, [Claim(0, r, data.evaluate(0, r))], proof, Transcript(_DOMAIN))


def _rounds(log_n: int) -> int:
    return 1 if log_n >= 24 else 3


_COMMITTED: dict[tuple[int, int], tuple] = {}


def _committed(log_blowup: int, log_n: int):
    """One commitment per (rate, size), shared by the open and verify benchmarks."""
    key = (log_blowup, log_n)
    if key not in _COMMITTED:
        _COMMITTED.clear()  # keep one 2^24 matrix in memory at a time
        pcs = LigeroPCS(log_blowup=log_blowup)
        rng = np.random.default_rng(log_n)
        v = gl.random(1 << log_n, rng)
        com, data = pcs.commit([v])
        r = ext.random(log_n, rng)
        value = data.evaluate(0, r)
        proof = pcs.open(data, [Claim(0, r, value)], Transcript(_DOMAIN))
        _COMMITTED[key] = (pcs, com, data, r, value, proof)
    return _COMMITTED[key]


def _info(benchmark, pcs: LigeroPCS, com, proof) -> None:
    benchmark.extra_info["proof_bytes"] = len(proof.to_bytes())
    benchmark.extra_info["shape"] = f"2^{com.log_rows} x 2^{com.log_cols}"
    benchmark.extra_info["queries"] = pcs.queries
    benchmark.extra_info["security_bits"] = round(pcs.security_bits, 2)


@pytest.mark.parametrize("log_n", SIZES)
@pytest.mark.parametrize("rate", list(RATES))
def test_commit(benchmark, rate, log_n):
    pcs = LigeroPCS(log_blowup=RATES[rate])
    _warm(pcs)
    v = gl.random(1 << log_n, np.random.default_rng(log_n))
    benchmark.group = f"pcs commit {rate}"
    com, _ = benchmark.pedantic(pcs.commit, args=([v],), rounds=_rounds(log_n), iterations=1)
    benchmark.extra_info["shape"] = f"2^{com.log_rows} x 2^{com.log_cols}"


@pytest.mark.parametrize("log_n", SIZES)
@pytest.mark.parametrize("rate", list(RATES))
def test_open(benchmark, rate, log_n):
    pcs, com, data, r, value, proof = _committed(RATES[rate], log_n)
    _warm(pcs)
    benchmark.group = f"pcs open {rate}"
    benchmark.pedantic(
        lambda t: pcs.open(data, [Claim(0, r, value)], t),
        setup=lambda: ((Transcript(_DOMAIN),), {}),
        rounds=_rounds(log_n),
        iterations=1,
    )
    _info(benchmark, pcs, com, proof)


@pytest.mark.parametrize("log_n", SIZES)
@pytest.mark.parametrize("rate", list(RATES))
def test_verify(benchmark, rate, log_n):
    pcs, com, data, r, value, proof = _committed(RATES[rate], log_n)
    com_bytes, proof_bytes = com.to_bytes(), proof.to_bytes()
    pcs.verify(com_bytes, [Claim(0, r, value)], proof_bytes, Transcript(_DOMAIN))  # warm caches
    benchmark.group = f"pcs verify {rate}"
    benchmark.pedantic(
        lambda t: pcs.verify(com_bytes, [Claim(0, r, value)], proof_bytes, t),
        setup=lambda: ((Transcript(_DOMAIN),), {}),
        rounds=5,
        iterations=1,
    )
    _info(benchmark, pcs, com, proof)


# a batch: 16 polynomials each of 2^12, 2^14 and 2^16 entries (~2^20.4 in total)
_BATCH_SIZES = [12] * 16 + [14] * 16 + [16] * 16


@pytest.mark.parametrize("claims", ["per-size-point", "one-reduced-point"])
@pytest.mark.parametrize("rate", list(RATES))
def test_batch(benchmark, rate, claims):
    """Commit 48 polynomials at once, open them: either every polynomial at its size's shared
    point, or one claim on the whole vector (what :mod:`zkinfer.protocol.openings` reduces claims to)."""
    pcs = LigeroPCS(log_blowup=RATES[rate])
    _warm(pcs)
    rng = np.random.default_rng(7)
    polys = [gl.random(1 << n, rng) for n in _BATCH_SIZES]
    com, data = pcs.commit(polys)
    if claims == "per-size-point":
        points = {n: ext.random(n, rng) for n in set(_BATCH_SIZES)}
        todo = [Claim(k, points[n]) for k, n in enumerate(_BATCH_SIZES)]
    else:
        todo = [Claim(None, ext.random(data.layout.total_vars, rng))]
    benchmark.group = f"pcs batch {rate}"

    def run():
        t0 = time.perf_counter()
        c, d = pcs.commit(polys)
        t1 = time.perf_counter()
        proof = pcs.open(d, todo, Transcript(_DOMAIN))
        t2 = time.perf_counter()
        valued = [Claim(c_.poly, c_.point, d.evaluate(c_.poly, c_.point)) for c_ in todo]
        t3 = time.perf_counter()
        pcs.verify(c, valued, proof, Transcript(_DOMAIN))
        t4 = time.perf_counter()
        return proof, (t1 - t0, t2 - t1, t4 - t3)

    proof, (tc, to, tv) = benchmark.pedantic(run, rounds=3, iterations=1)
    _info(benchmark, pcs, com, proof)
    benchmark.extra_info.update(commit_s=round(tc, 4), open_s=round(to, 4),
                                verify_s=round(tv, 4), groups=int(proof.u_rows.shape[0]))


def _table(sizes: list[int]) -> None:
    """Print the summary table (best of three; one run at 2^24)."""
    print("| rate | log2 N | shape R x C | commit s | open s | verify s | proof bytes | bits |")
    print("|---|---|---|---|---|---|---|---|")
    for name, lb in RATES.items():
        pcs = LigeroPCS(log_blowup=lb)
        _warm(pcs)
        for log_n in sizes:
            rng = np.random.default_rng(log_n)
            v = gl.random(1 << log_n, rng)
            r = ext.random(log_n, rng)
            best = [float("inf")] * 3
            for _ in range(_rounds(log_n)):
                t0 = time.perf_counter()
                com, data = pcs.commit([v])
                t1 = time.perf_counter()
                proof = pcs.open(data, [Claim(0, r)], Transcript(_DOMAIN))
                t2 = time.perf_counter()
                value = data.evaluate(0, r)
                raw = proof.to_bytes()
                com_raw = com.to_bytes()
                tv = []
                for _ in range(3):
                    t3 = time.perf_counter()
                    pcs.verify(com_raw, [Claim(0, r, value)], raw, Transcript(_DOMAIN))
                    tv.append(time.perf_counter() - t3)
                best = [min(best[0], t1 - t0), min(best[1], t2 - t1), min(best[2], min(tv))]
                del data
            print(f"| {name} | {log_n} | 2^{com.log_rows} x 2^{com.log_cols} | {best[0]:.3f} "
                  f"| {best[1]:.3f} | {best[2]:.3f} | {len(raw)} | {pcs.security_bits:.1f} |",
                  flush=True)


if __name__ == "__main__":
    _table([int(x) for x in sys.argv[1:]] or SIZES)
