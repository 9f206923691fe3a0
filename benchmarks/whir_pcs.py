"""WHIR against Ligero: commit, open and verify time and proof bytes on the same vector.

Run: ``python benchmarks/whir_pcs.py`` (m = 16 and 20), ``python benchmarks/whir_pcs.py --big``
(also m = 22) or ``python benchmarks/whir_pcs.py --sizes 20 24 27`` (about 20 GB at 2^27;
``--schemes whir-pcs ligero`` leaves the core out). One evaluation claim at a random point of ``F_p2^m``:

- ``whir-core``: the standalone core (``WhirParams(m)``: k = 4, rate 1/4, unique decoding,
  100 bits round-by-round, no grinding);
- ``whir-pcs``: :class:`~zkinfer.commit.WhirPCS` with its defaults (the same core with a few
  more queries: >= 100 bits under the union bound of every term, for every size up to 2^22);
- ``ligero``: ``LigeroPCS()``'s defaults (104 bits).

``--parts S`` also commits the vector as ``S`` parts of ``2^m / S`` entries (``commit_parts``)
and opens one claim on every part at one common point. Times are one run each after a warm-up
of the Numba kernels.

``--memory M [M ...]``: for each ``M``, a fresh process commits one part of ``2^M`` entries
(``commit_part`` with ``spill`` given, as the prover's engine does, then ``join``), opens one
claim on it and verifies; it reports the peak resident set (``ru_maxrss``) above the resident
set once the vector exists, per committed entry, after commit and after open.

``--tradeoff M S``: the estimated bytes of one opening of ``S`` parts of ``2^M`` entries for
folding factors 3..6 and rates 1/2..1/16 at the default target (no proving).
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

from zkinfer.commit import LigeroPCS, Parts, WhirPCS, whir
from zkinfer.commit import OpeningClaim as Claim
from zkinfer.commit.whir import WhirParams
from zkinfer.field import extension as ext
from zkinfer.field import goldilocks as gl
from zkinfer.transcript import Transcript

_DOMAIN = b"zkinfer/bench/whir"


def _whir(m: int, v: np.ndarray, r: np.ndarray) -> dict:
    params = WhirParams(m)
    t0 = time.perf_counter()
    com, data = whir.commit(params, v)
    t1 = time.perf_counter()
    value, proof = whir.open_proof(data, r, Transcript(_DOMAIN))
    t2 = time.perf_counter()
    data_bytes = proof.to_bytes()
    whir.verify(params, com.to_bytes(), r, value, data_bytes, Transcript(_DOMAIN))
    t3 = time.perf_counter()
    return dict(commit=t1 - t0, open=t2 - t1, verify=t3 - t2, bytes=len(data_bytes),
                bits=params.soundness_bits(), note=f"rbr; union {params.interactive_bits():.1f}")


def _pcs(pcs, m: int, v: np.ndarray, r: np.ndarray) -> dict:
    t0 = time.perf_counter()
    com, data = pcs.commit([v])
    t1 = time.perf_counter()
    value = data.evaluate(0, r)
    proof = pcs.open(data, [Claim(0, r, value)], Transcript(_DOMAIN))
    t2 = time.perf_counter()
    pcs.verify(com, [Claim(0, r, value)], proof, Transcript(_DOMAIN))
    t3 = time.perf_counter()
    return dict(commit=t1 - t0, open=t2 - t1, verify=t3 - t2, bytes=len(proof.to_bytes()),
                bits=pcs.security_bits, note="union")


def _parts(pcs, m: int, count: int, v: np.ndarray, r: np.ndarray) -> dict:
    parts = Parts(m - (count - 1).bit_length(), (len(v) // count,) * count)
    size = parts.used[0]
    point = r[m - parts.num_vars:]
    t0 = time.perf_counter()
    com, data = pcs.commit_parts(parts, lambda s: v[s * size:(s + 1) * size])
    t1 = time.perf_counter()
    claims = [Claim(s, point, data.evaluate(s, point)) for s in range(count)]
    proof = pcs.open(data, claims, Transcript(_DOMAIN))
    t2 = time.perf_counter()
    pcs.verify(com, claims, proof, Transcript(_DOMAIN))
    t3 = time.perf_counter()
    return dict(commit=t1 - t0, open=t2 - t1, verify=t3 - t2, bytes=len(proof.to_bytes()),
                bits=pcs.security_bits, note=f"union; {count} parts")


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


def _memory_child(m: int) -> None:
    """One part of ``2^m`` entries: commit, join, open, verify; prints the peaks."""
    pcs = WhirPCS()
    warm = Parts(10, (1 << 10,))
    data = pcs.join(warm, [pcs.commit_part(warm, 0, gl.random(1 << 10, np.random.default_rng(1)))])
    pcs.open(data[1], [Claim(0, ext.random(10, np.random.default_rng(2)), None)],
             Transcript(_DOMAIN))
    del data
    rng = np.random.default_rng(m)
    parts = Parts(m, (1 << m,))
    v = gl.random(1 << m, rng)
    r = ext.random(m, rng)
    base = _rss()
    t0 = time.perf_counter()
    piece = pcs.commit_part(parts, 0, v, spill=tempfile.gettempdir())
    com, data = pcs.join(parts, [piece])
    t1 = time.perf_counter()
    after_commit = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    claims = [Claim(0, r, data.evaluate(0, r))]
    proof = pcs.open(data, claims, Transcript(_DOMAIN))
    t2 = time.perf_counter()
    after_open = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    pcs.verify(com, claims, proof, Transcript(_DOMAIN))
    n = 1 << m
    print(f"{m:>3} {(after_commit - base) / n:>12.1f} {(after_open - base) / n:>10.1f} "
          f"{after_open / 2**30:>9.2f} {t1 - t0:>9.2f} {t2 - t1:>8.2f} "
          f"{len(proof.to_bytes()):>12,}", flush=True)


def _estimate(pcs: WhirPCS, m: int, parts: int, rng: np.random.Generator) -> tuple[int, int]:
    """Bytes of one opening of ``parts`` parts of ``2^m`` entries at one point, from the
    schedule (sumcheck messages, roots, OOD answers, leaves, a simulated Merkle multi-proof of
    the drawn indices, the final polynomial; ``F_p4`` elements are 32 bytes) and the number of
    opened leaf elements (a proxy of the verifier's hashing and folding work)."""
    core = pcs.params.core(m)
    total, opened = 16 * parts, 0
    for i, k_i in enumerate(core.folds()):
        total += k_i * 3 * 32 + (64 if i < core.rounds - 1 else 0) + 8
        count = core.num_leaves(i)
        idx = set(rng.integers(0, count, core.queries(i)).tolist())
        width = (1 << k_i) * (8 * parts if i == 0 else 32)
        total += len(idx) * width
        opened += len(idx) * (1 << k_i) * (parts if i == 0 else 1)
        level, siblings = idx, 0
        while count > 1:
            siblings += len({x ^ 1 for x in level} - level)
            level = {x >> 1 for x in level}
            count >>= 1
        total += 32 * siblings
    return total + 32 * (1 << core.final_vars), opened


def _tradeoff(m: int, parts: int) -> None:
    print(f"one opening of {parts} part(s) of 2^{m}, default target (interactive bits):")
    print(f"{'k':>3} {'r':>3} {'bits':>7} {'queries per round':<34} {'bytes':>10} {'opened':>8}")
    rng = np.random.default_rng(0)
    for k in (3, 4, 5, 6):
        for r in (1, 2, 3, 4):
            pcs = WhirPCS(folding=k, log_inv_rate=r)
            core = pcs.params.core(m)
            size, opened = _estimate(pcs, m, parts, rng)
            qs = ",".join(str(core.queries(i)) for i in range(core.rounds))
            print(f"{k:>3} {r:>3} {pcs.security_bits:>7.1f} {qs:<34} {size:>10,} {opened:>8,}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big", action="store_true", help="also m = 22")
    parser.add_argument("--sizes", type=int, nargs="+", metavar="M",
                        help="the sizes 2^M to compare (default 16 20, with --big also 22)")
    parser.add_argument("--schemes", nargs="+", choices=("whir-core", "whir-pcs", "ligero"),
                        help="the schemes to run (default all three)")
    parser.add_argument("--parts", type=int, default=0, help="also S parts (a power of two)")
    parser.add_argument("--memory", type=int, nargs="*", help="peak memory of one part of 2^M")
    parser.add_argument("--tradeoff", type=int, nargs=2, metavar=("M", "PARTS"),
                        help="estimated opening bytes for k in 3..6, r in 1..4")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        _memory_child(args.child)
        return
    if args.tradeoff:
        _tradeoff(*args.tradeoff)
        return
    if args.memory:
        print(f"{'m':>3} {'commit B/el':>12} {'open B/el':>10} {'peak GiB':>9} {'commit s':>9} "
              f"{'open s':>8} {'proof bytes':>12}  (bytes per entry above the vector's process)")
        for m in args.memory:
            subprocess.run([sys.executable, __file__, "--child", str(m)], check=True)
        return
    sizes = args.sizes or [16, 20] + ([22] if args.big else [])
    rng = np.random.default_rng(0)
    whir_pcs, ligero = WhirPCS(), LigeroPCS()
    runs = [("whir-core", _whir), ("whir-pcs", lambda m, v, r: _pcs(whir_pcs, m, v, r)),
            ("ligero", lambda m, v, r: _pcs(ligero, m, v, r))]
    if args.schemes:
        runs = [(name, run) for name, run in runs if name in args.schemes]
    if args.parts:
        runs += [(f"{name}-parts", lambda m, v, r, pcs=pcs: _parts(pcs, m, args.parts, v, r))
                 for name, pcs in (("whir", whir_pcs), ("ligero", ligero))]
    warm, point = gl.random(1 << 10, rng), ext.random(10, rng)
    for _, run in runs:
        run(10, warm, point)
    print(f"{'m':>3} {'scheme':<12} {'commit s':>9} {'open s':>8} {'verify s':>9} "
          f"{'proof bytes':>12} {'bits':>7}")
    for m in sizes:
        v = gl.random(1 << m, rng)
        r = ext.random(m, rng)
        for name, run in runs:
            res = run(m, v, r)
            print(f"{m:>3} {name:<12} {res['commit']:>9.2f} {res['open']:>8.2f} "
                  f"{res['verify']:>9.3f} {res['bytes']:>12,} {res['bits']:>7.1f} {res['note']}",
                  flush=True)


if __name__ == "__main__":
    main()
