"""The self-check: exercise field, NTT and sumcheck end to end and report what happened.

Run with ``zkinfer selfcheck`` (or ``python -m zkinfer selfcheck``). Each step compares the fast
(Numba) path with an independent slow computation, so a broken build fails loudly here instead
of producing proofs that do not verify.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

__all__ = ["run"]


def _step(name: str, fn: Callable[[], str], say: Callable[[str], None]) -> float:
    t0 = time.perf_counter()
    detail = fn()
    dt = time.perf_counter() - t0
    say(f"  ok  {name:<34} {dt * 1e3:9.1f} ms  {detail}")
    return dt


def run(log_n: int = 16, seed: int = 0, say: Callable[[str], None] = print) -> bool:
    """Run every check; returns True when all pass, raises on the first failure.

    Arguments:
        log_n: size of the NTT and sumcheck instances (``2^log_n`` entries).
        seed: seed of the random inputs.
        say: where progress lines go.

    Raises:
        RuntimeError: a check failed (the message says which).
    """
    from zkinfer.field import _kernels as fk
    from zkinfer.field import extension as ext
    from zkinfer.field import goldilocks as gl
    from zkinfer.poly import multilinear as ml
    from zkinfer.poly import ntt
    from zkinfer.poly import univariate as uni
    from zkinfer.sumcheck import Expression, SumcheckProof, soundness_error_bits
    from zkinfer.sumcheck.prover import prove
    from zkinfer.sumcheck.verifier import check_final, verify
    from zkinfer.transcript import Transcript

    rng = np.random.default_rng(seed)
    n = 1 << log_n
    say(f"zkinfer self-check: Goldilocks p = 2^64 - 2^32 + 1, F_p2 = F_p[X]/(X^2 - 7), N = 2^{log_n}")

    def fail(what: str) -> None:
        raise RuntimeError(f"self-check failed: {what}")

    def field() -> str:
        a, b = gl.random(n, rng), gl.random(n, rng)
        out = np.empty_like(a)
        fk.mul_vec(a, b, out)
        if not np.array_equal(out, gl.mul(a, b)):
            fail("Numba and numpy base multiplication disagree")
        for i in range(0, n, max(1, n // 64)):
            if int(out[i]) != int(a[i]) * int(b[i]) % gl.P:
                fail("base multiplication disagrees with Python integers")
        x = ext.random(256, rng)
        if not np.array_equal(ext.mul(x, ext.inv(x)), ext.ones(256)):
            fail("x * x^-1 != 1 in F_p2")
        return f"{n} base products match Python ints; 256 F_p2 inverses"

    def transform() -> str:
        c = gl.random(n, rng)
        e = ntt.ntt(c, shift=7)
        if not np.array_equal(ntt.intt(e, shift=7), c):
            fail("coset NTT round trip")
        small = c[: min(n, 1024)]
        if not np.array_equal(ntt.ntt(small, shift=7), uni.ntt(small, shift=7)):
            fail("Numba NTT disagrees with the numpy NTT")
        pts = uni.domain(small.shape[0], 7)[:4]
        if not np.array_equal(uni.evaluate(small, ext.from_base(pts))[:, 0], uni.ntt(small, 7)[:4]):
            fail("NTT disagrees with Horner evaluation")
        return f"coset NTT round trip; numpy twin and Horner agree at {small.shape[0]} points"

    def sumcheck() -> str:
        tables = [gl.random(n, rng) for _ in range(3)]
        expr = Expression.product(3)
        out = prove(tables, expr, Transcript(b"zkinfer/selfcheck"))
        proof = SumcheckProof.from_bytes(out.proof.to_bytes())
        point, final = verify(out.claim, log_n, expr, proof, Transcript(b"zkinfer/selfcheck"))
        evals = np.stack([ml.evaluate(t, point) for t in tables])
        check_final(expr, final, evals)
        bits = soundness_error_bits(log_n, 3)
        return (f"degree 3, {log_n} rounds, proof {len(proof.to_bytes())} B, "
                f"{bits:.0f}-bit soundness, final claim checked")

    def hashing() -> str:
        import hashlib

        from zkinfer.commit.ligero import merkle

        cols = gl.random((max(n >> 3, merkle.BATCHED_FROM_ROWS), 5), rng)
        leaves = merkle.hash_columns(cols)
        for j in range(cols.shape[0]):
            if leaves[j].tobytes() != hashlib.sha256(b"\x00" + cols[j].astype("<u8").tobytes()).digest():
                fail(f"column {j}'s leaf hash differs from hashlib's SHA-256")
        how = "batched through OpenSSL" if merkle._batched() is not None else "hashlib"
        return f"{cols.shape[0]} leaves hashed ({how}), each equal to hashlib's SHA-256"

    t0 = time.perf_counter()
    _step("field arithmetic (F_p, F_p2)", field, say)
    _step("NTT (coset, inverse)", transform, say)
    _step("sumcheck prove + verify", sumcheck, say)
    _step("Merkle leaf hashing (SHA-256)", hashing, say)
    say(f"all checks passed in {time.perf_counter() - t0:.2f} s "
        "(the first run compiles the Numba kernels; later runs load them from the cache)")
    return True
