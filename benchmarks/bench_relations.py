"""Each relation of the proof on its own: prover time at several sizes (verifier time and proof
bytes in ``extra_info``).

Run: ``python -m pytest benchmarks/bench_relations.py --benchmark-columns=min,mean,rounds``.
Sizes are ``2^n`` entries of the committed tensor; kernels are warmed before timing.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from zkinfer.codec import Writer
from zkinfer.field import goldilocks as gl
from zkinfer.lookup.logup import multiplicities
from zkinfer.lookup.range import range_multiplicities
from zkinfer.protocol.constraints import Broadcast, Identity, prove_identities, verify_identities
from zkinfer.protocol.matmul import prove_matmul, verify_matmul
from zkinfer.protocol.range import prove_ranges, verify_ranges
from zkinfer.transcript import Transcript

D = b"bench/relations"


def _timed(fn, *args):
    t0 = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t0


@pytest.mark.parametrize("log_m", [6, 8, 10])
def test_matmul(benchmark, rng, log_m):
    """``C = A B`` with ``A: 2^m x 512``, ``B: 512 x 512`` (int8 entries)."""
    from zkinfer.field import extension as ext

    m, k, n = 1 << log_m, 512, 512
    a = gl.encode_signed(rng.integers(-128, 128, (m, k)))
    b = gl.encode_signed(rng.integers(-128, 128, (k, n)))
    point = ext.random(log_m + 9, rng)
    prove_matmul(a[:2, :4], b[:4, :2], point[:2], Transcript(D))  # warm
    benchmark.group = "matmul sumcheck"
    # a fresh transcript per round: the transcript is state, reusing it would change the proof
    proof, _ = benchmark(lambda: prove_matmul(a, b, point, Transcript(D)))
    from zkinfer.poly import multilinear as ml

    c = gl.encode_signed(gl.decode_signed(a).astype(object).dot(gl.decode_signed(b)).astype(np.int64))
    value = ml.evaluate(c.reshape(-1), point)
    _, t_verify = _timed(verify_matmul, (m, k, n), point, value, proof, Transcript(D))
    w = Writer()
    proof.sumcheck.write(w)
    benchmark.extra_info.update({"verify_s": t_verify, "proof_bytes": len(w.finish()) + 32})


@pytest.mark.parametrize("log_n", [14, 16, 18])
def test_requant_zerocheck(benchmark, rng, log_n):
    """The four requantization identities over ``2^n`` entries (one zero-check)."""
    n = 1 << log_n
    acc = rng.integers(-(2**20), 2**20, (n // 64, 64))
    m = rng.integers(1, 2**14, 64)
    pre = acc * m + (1 << 11)
    q = pre >> 12
    out = np.clip(q, -128, 127)
    cols = {"acc": acc, "q": q, "rem": pre - (q << 12), "out": out,
            "below": np.maximum(out - q, 0), "above": np.maximum(q - out, 0)}
    cols = {k: gl.encode_signed(v.reshape(-1)) for k, v in cols.items()}
    publics = {"m": Broadcast(gl.encode_signed(m))}
    idents = [
        Identity.of("rounding", (1, ["acc", "m"]), (1 << 11, []), (-(1 << 12), ["q"]), (-1, ["rem"])),
        Identity.of("clamp", (1, ["out"]), (-1, ["q"]), (-1, ["below"]), (1, ["above"])),
        Identity.of("low", (1, ["below", "out"]), (128, ["below"])),
        Identity.of("high", (127, ["above"]), (-1, ["above", "out"])),
    ]
    prove_identities(idents, {k: v[:64] for k, v in cols.items()}, publics, 6, Transcript(D))
    benchmark.group = "zero-check (requantization)"
    proof, _ = benchmark(lambda: prove_identities(idents, cols, publics, log_n, Transcript(D)))
    _, t_verify = _timed(verify_identities, idents, publics, log_n, proof, Transcript(D))
    benchmark.extra_info["verify_s"] = t_verify


def _range_proof_bytes(proof) -> int:
    from zkinfer.proof import _write_step

    w = Writer()
    _write_step(w, proof)
    return len(w.finish())


@pytest.mark.parametrize("log_n", [16, 18, 20])
def test_range_check_16bit(benchmark, rng, log_n):
    """One tagged LogUp of ``2^n`` values into the 16-bit range table."""
    col = rng.integers(0, 1 << 16, 1 << log_n).astype(np.uint64)
    groups, mults = {16: [col]}, {16: range_multiplicities([col], 16)}
    small = col[:1024] & np.uint64(0xFF)
    prove_ranges({8: [small]}, {8: range_multiplicities([small], 8)}, Transcript(D))
    benchmark.group = "range check (LogUp-GKR)"
    proof, _ = benchmark.pedantic(lambda: prove_ranges(groups, mults, Transcript(D)),
                                  rounds=3, iterations=1)
    _, t_verify = _timed(verify_ranges, {16: [col.shape[0]]}, proof, Transcript(D))
    benchmark.extra_info.update({"verify_s": t_verify, "proof_bytes": _range_proof_bytes(proof)})


@pytest.mark.parametrize("log_n", [16, 20])
def test_range_check_all_widths(benchmark, rng, log_n):
    """All 16 widths at once (one LogUp): per width ``w``, columns of ``2^(n-4)`` and
    ``2^(n-6)`` values, so about ``2^n`` values in all."""
    sizes = {w: [1 << (log_n - 4), 1 << (log_n - 6)] for w in range(1, 17)}
    groups = {w: [rng.integers(0, 1 << w, s).astype(np.uint64) for s in ss]
              for w, ss in sizes.items()}
    mults = {w: range_multiplicities(cols, w) for w, cols in groups.items()}
    benchmark.group = "range check (LogUp-GKR)"
    proof, _ = benchmark.pedantic(lambda: prove_ranges(groups, mults, Transcript(D)),
                                  rounds=3, iterations=1)
    _, t_verify = _timed(verify_ranges, sizes, proof, Transcript(D))
    benchmark.extra_info.update({"verify_s": t_verify, "proof_bytes": _range_proof_bytes(proof)})


def test_multiplicities_2_20(benchmark, rng):
    """Counting table rows (prover-side witness work) for a 2^20 column in a 2^12 table."""
    t = np.arange(1 << 12, dtype=np.uint64)
    f = rng.integers(0, 1 << 12, 1 << 20).astype(np.uint64)
    benchmark.group = "look-up witness"
    benchmark(multiplicities, f, t)


@pytest.mark.parametrize("log_n", [20, 22])
def test_fraction_sum_gkr(benchmark, rng, log_n):
    """The LogUp-GKR fraction tree alone: ``prove_fraction_sum`` over ``2^n`` random leaves."""
    from zkinfer.field import extension as ext
    from zkinfer.lookup.gkr import prove_fraction_sum, verify_fraction_sum

    p, q = ext.random(1 << log_n, rng), ext.random(1 << log_n, rng)
    prove_fraction_sum(p[: 1 << 14], q[: 1 << 14], Transcript(D))  # warm, threaded kernels too
    benchmark.group = "fraction sum (LogUp-GKR)"
    proof, _, _ = benchmark.pedantic(lambda: prove_fraction_sum(p, q, Transcript(D)),
                                     rounds=3, iterations=1)
    _, t_verify = _timed(verify_fraction_sum, log_n, proof, Transcript(D))
    benchmark.extra_info.update({"verify_s": t_verify, "ns_per_leaf": benchmark.stats["min"]
                                 / (1 << log_n) * 1e9})
